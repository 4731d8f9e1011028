/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * keytable_internal.h - what the key table library's files share, and nothing
 * else: the handle, the slot word layout, the atomics on the shared mapping,
 * the test hooks, and the prototypes of the helpers one file gives another.
 * Not installed; include/callseal/keytable.h is the ABI and the API.
 *
 * Files (docs/keytable.md, "Files"):
 *   keys.c     stream keys, master keys, the hash, key validation and format
 *   reader.c   look-ups (single, bulk, by ref), iteration, info
 *   writer.c   add / replace / schedule / delete under the slot seqlock
 *   journal.c  the recovery journal and recovery of a dead writer's operation
 *   attach.c   create, attach (writer or reader), checks, detach, unlink
 *
 * Seqlock (per slot), in C11 terms, with no fences:
 *
 *   writer (single)                        reader
 *   ---------------                        ------
 *   q = seq | 1                            q0 = load_acquire(seq); odd: retry
 *   store_relaxed(seq, q)                  w[i] = load_acquire(word i)  (each)
 *   store_release(word i, v_i)  (each)     q1 = load_relaxed(seq)
 *   store_release(seq, q + 1)              accept iff q1 == q0
 *
 * If a reader's acquire load of any word returns a value stored by a newer
 * write, that release store synchronises with the load, so the newer write's
 * odd seq store happens-before the reader's later seq load, which therefore
 * cannot return q0 (coherence). If every word comes from writes up to the one
 * that stored q0 (even), the copy is exactly that version. Every shared word
 * is accessed atomically, so there is no data race for ThreadSanitizer to see,
 * and no standalone fence (which TSan does not model) is needed. On x86-64
 * these acquire loads and release stores are plain MOVs: the orders constrain
 * only the compiler.
 *
 * Deletion shifts entries backwards (no tombstones). A shift moves an entry by
 * copying it into the hole, then reusing its old slot as the next hole, so for
 * a moment a reader could pass the hole before the copy and reach the old slot
 * after it was overwritten: a false "not found". The header's move_seq is odd
 * for the whole delete; a reader accepts "not found" only if move_seq was even
 * and unchanged around its probe (same acquire/relaxed pairing as above).
 * "Found" is always safe: the copy was consistent and its key matched.
 *
 * Bounds: every loop over slots is bounded whatever the table holds, so a
 * damaged or hostile table never hangs a reader or the writer. A writer never
 * has more than capacity LIVE slots (count <= capacity, and a crash leaves at
 * most that), so a probe passes at most capacity LIVE slots before an EMPTY
 * one: probes stop after capacity + 1 slots, and a longer one proves damage
 * (a reader reports KEYTABLE_BUSY, the writer -EUCLEAN). A shift looks for
 * the end of its cluster among the other slots - 1 slots before it moves
 * anything. docs/keytable.md, section 8, lists the bounds.
 *
 * Crash safety is described in journal.c.
 */
#ifndef CALLSEAL_KEYTABLE_INTERNAL_H
#define CALLSEAL_KEYTABLE_INTERNAL_H

#include "callseal/keytable.h"

#include <stdatomic.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() atomic_signal_fence(memory_order_seq_cst)
#endif

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the key table layout is little-endian (word 4's low byte is state)");

#define WORDS        (KEYTABLE_ENTRY_SIZE / 8)  /* 32 64-bit words per slot */
#define W_SEQ        0
#define W_KEY        1                          /* words 1..3: the key */
#define W_STATE      4                          /* low byte: state */
#define W_GEN        5
#define SPIN_MAX     1024   /* spins on one odd slot before KEYTABLE_BUSY */
#define ATTEMPTS_MAX 64     /* probe restarts around a shift before BUSY */
#define ODD_WIPE_MAX 16     /* slots stuck odd that a recovery wipes; more is
			       damage it refuses (docs/keytable.md, 8) */
#define SLOT_BITS_MIN 4
#define NAME_PREFIX  "/callseal."

_Static_assert(offsetof(struct keytable_entry, key) == W_KEY * 8, "key words");
_Static_assert(offsetof(struct keytable_entry, state) == W_STATE * 8, "state word");
_Static_assert(offsetof(struct keytable_entry, generation) == W_GEN * 8, "gen word");

struct keytable {
	struct keytable_header *hdr;   /* writer: read-write; reader: PROT_READ */
	struct keytable_entry *slots;  /* 1 << slot_bits slots after the header */
	uint32_t mask;                 /* slots - 1 */
	uint32_t capacity;
	size_t map_bytes;
	int fd;                        /* writer: holds the OFD lock; reader: -1 */
	bool writer;
	char name[KEYTABLE_NAME_MAX + 1];
	char err[KEYTABLE_ERR_MAX];
};

/* A slot image in local memory: fields, or the 32 words the table stores. */
union image {
	struct keytable_entry e;
	uint64_t w[WORDS];
};

/* ---- test hooks (KEYTABLE_TEST_HOOKS: see keytable.h) --------------------- */

#ifdef KEYTABLE_TEST_HOOKS
#include <signal.h>

/* keytable_crash_countdown is defined in writer.c, keytable_probe_hook in
 * reader.c. */
static inline void crash_point(void)
{
	if (keytable_crash_countdown > 0 && --keytable_crash_countdown == 0)
		raise(SIGKILL);
}
static inline void probe_hook(void)
{
	if (keytable_probe_hook != NULL)
		keytable_probe_hook();
}
#else
static inline void crash_point(void)
{
}
static inline void probe_hook(void)
{
}
#endif

/* ---- atomics on the shared mapping ---------------------------------------- */

static inline uint64_t ld_acq(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline uint64_t ld_rlx(const uint64_t *p)
{
	return __atomic_load_n(p, __ATOMIC_RELAXED);
}

static inline void st_rlx(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELAXED);
}

static inline void st_rel(uint64_t *p, uint64_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

static inline uint32_t ld32_acq(const uint32_t *p)
{
	return __atomic_load_n(p, __ATOMIC_ACQUIRE);
}

static inline void st32_rel(uint32_t *p, uint32_t v)
{
	__atomic_store_n(p, v, __ATOMIC_RELEASE);
}

/* Compiler-only barrier: the journal must reach memory in program order
 * (process death keeps a program-order prefix of the stores). */
static inline void compiler_barrier(void)
{
	atomic_signal_fence(memory_order_seq_cst);
}

static inline const uint64_t *slot_words(const struct keytable *t, uint32_t s)
{
	return (const uint64_t *)(const void *)&t->slots[s];
}

static inline uint64_t *slot_words_rw(struct keytable *t, uint32_t s)
{
	return (uint64_t *)(void *)&t->slots[s];
}

static inline bool key_eq(uint64_t a0, uint64_t a1, uint64_t a2, const uint64_t kw[3])
{
	return ((a0 ^ kw[0]) | (a1 ^ kw[1]) | (a2 ^ kw[2])) == 0;
}

/* Multiply-xorshift over the key's three words (docs/keytable.md, "Hash"). */
static inline uint64_t hash_words(const uint64_t w[3])
{
	uint64_t h;

	h = w[0] * UINT64_C(0x9E3779B97F4A7C15);
	h ^= w[1] * UINT64_C(0xC2B2AE3D27D4EB4F);
	h = (h << 31) | (h >> 33);
	h ^= w[2] * UINT64_C(0x165667B19E3779F9);
	h ^= h >> 32;
	h *= UINT64_C(0xD6E8FEB86659FD93);
	h ^= h >> 32;
	return h;
}

static inline uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- the writer's own view of the slots (writer.c, journal.c) ------------- */

/* The writer is the only thread that stores to slots, so its own loads need
 * no seqlock; they are relaxed atomics because readers load the same words. */
static inline bool slot_live(const uint64_t *sw)
{
	return (uint8_t)ld_rlx(&sw[W_STATE]) == KEYTABLE_STATE_LIVE;
}

static inline void bump64(uint64_t *p, uint64_t d)
{
	st_rel(p, ld_rlx(p) + d);   /* release: after the slot writes it counts */
}

static inline void bump32(uint32_t *p, int32_t d)
{
	st32_rel(p, __atomic_load_n(p, __ATOMIC_RELAXED) + (uint32_t)d);
}

/* ---- helpers one file gives another --------------------------------------- */

/* keys.c */
int keytable_check_key(const struct keytable_key *k, char *err, size_t errlen);
const char *keytable_fmt_key(const struct keytable_key *k, char buf[80]);
int keytable_take_master(struct keytable_master *dst, const struct keytable_master *src,
			 const char *what, char *err, size_t errlen);

/* writer.c */
void keytable_slot_write(struct keytable *t, uint32_t s, const union image *img);
void keytable_slot_wipe(struct keytable *t, uint32_t s);
int keytable_shift_from(struct keytable *t, uint32_t hole);

/* journal.c */
void keytable_journal_set(uint32_t *field, uint32_t v);
void keytable_journal_clear(struct keytable *t);
void keytable_journal_undo(struct keytable *t, uint32_t op, uint32_t s,
			   const union image *old);
int keytable_recover(struct keytable *t, struct keytable_recovery *rec,
		     char *err, size_t errlen);

#endif /* CALLSEAL_KEYTABLE_INTERNAL_H */
