/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * keytable.c - the shared-memory key table (keytable.h is the ABI;
 * docs/keytable.md is the full description).
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
 * Crash safety: the writer announces each operation in the header's journal
 * before touching a slot, and rewrites one slot at a time. A new writer rolls
 * an interrupted add/replace/schedule back (to the journal's undo image) and
 * finishes an interrupted delete (resuming the shift at the journal's hole).
 * Process death keeps every store the writer executed (a program-order
 * prefix), so only compiler order matters for the journal: release stores and
 * compiler barriers below provide it.
 */
#include "callseal/keytable.h"
#include "errbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <signal.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#if defined(__x86_64__) || defined(__i386__)
#include <immintrin.h>
#define cpu_relax() _mm_pause()
#else
#define cpu_relax() atomic_signal_fence(memory_order_seq_cst)
#endif

_Static_assert(__BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__,
	       "the key table layout is little-endian (word 4's low byte is state)");

#define WORDS        (KEYTABLE_ENTRY_SIZE / 8)  /* 24 64-bit words per slot */
#define W_SEQ        0
#define W_KEY        1                          /* words 1..3: the key */
#define W_STATE      4                          /* low byte: state */
#define W_GEN        5
#define SPIN_MAX     1024   /* spins on one odd slot before KEYTABLE_BUSY */
#define ATTEMPTS_MAX 64     /* probe restarts around a shift before BUSY */
#define SLOT_BITS_MIN 4
#define NAME_PREFIX  "/callseal."

_Static_assert(offsetof(struct keytable_entry, key) == W_KEY * 8, "key words");
_Static_assert(offsetof(struct keytable_entry, state) == W_STATE * 8, "state word");
_Static_assert(offsetof(struct keytable_entry, generation) == W_GEN * 8, "gen word");

/* Probe results of read_slot(). */
enum { PR_OTHER, PR_MATCH, PR_EMPTY, PR_BUSY };

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

/* A slot image in local memory: fields, or the 24 words the table stores. */
union image {
	struct keytable_entry e;
	uint64_t w[WORDS];
};

#ifdef KEYTABLE_TEST_HOOKS
long keytable_crash_countdown;
void (*keytable_probe_hook)(void);
static void crash_point(void)
{
	if (keytable_crash_countdown > 0 && --keytable_crash_countdown == 0)
		raise(SIGKILL);
}
static void probe_hook(void)
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

/* ---- errors and names ---------------------------------------------------- */

static int check_name(const char *name, char *err, size_t errlen)
{
	size_t n;

	if (name == NULL || name[0] == '\0' || name[0] == '.') {
		errbuf_set(err, errlen, "table name is empty or starts with '.'");
		return -EINVAL;
	}
	for (n = 0; name[n] != '\0'; n++) {
		char c = name[n];

		if (n >= KEYTABLE_NAME_MAX) {
			errbuf_set(err, errlen, "table name is longer than %u characters",
			       KEYTABLE_NAME_MAX);
			return -EINVAL;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '.' || c == '_' || c == '-')) {
			errbuf_set(err, errlen, "table name may use only A-Z a-z 0-9 . _ -");
			return -EINVAL;
		}
	}
	return 0;
}

/* "10.0.0.1:5004/out", "[2001:db8::1]:5004/in", "*:5004/in": no secrets. */
static const char *fmt_key(const struct keytable_key *k, char buf[80])
{
	char a[INET6_ADDRSTRLEN] = "?";
	const char *dir = k->dir == KEYTABLE_DIR_IN ? "in" :
			  k->dir == KEYTABLE_DIR_OUT ? "out" : "dir?";

	if (k->family == KEYTABLE_FAMILY_IPV4) {
		inet_ntop(AF_INET, k->addr, a, sizeof(a));
		snprintf(buf, 80, "%s:%u/%s", a, k->port, dir);
	} else if (k->family == KEYTABLE_FAMILY_IPV6) {
		inet_ntop(AF_INET6, k->addr, a, sizeof(a));
		snprintf(buf, 80, "[%s]:%u/%s", a, k->port, dir);
	} else {
		snprintf(buf, 80, "*:%u/%s", k->port, dir);
	}
	return buf;
}

static uint64_t now_ns(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

/* ---- keys and the hash --------------------------------------------------- */

void keytable_key_ipv4(struct keytable_key *k, const uint8_t addr[4],
		       uint16_t port, unsigned int dir)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, addr, 4);
	k->port = port;
	k->family = KEYTABLE_FAMILY_IPV4;
	k->dir = (uint8_t)dir;
}

void keytable_key_ipv6(struct keytable_key *k, const uint8_t addr[KEYTABLE_ADDR_BYTES],
		       uint16_t port, unsigned int dir)
{
	memset(k, 0, sizeof(*k));
	memcpy(k->addr, addr, KEYTABLE_ADDR_BYTES);
	k->port = port;
	k->family = KEYTABLE_FAMILY_IPV6;
	k->dir = (uint8_t)dir;
}

void keytable_key_any(struct keytable_key *k, uint16_t port, unsigned int dir)
{
	memset(k, 0, sizeof(*k));
	k->port = port;
	k->family = KEYTABLE_FAMILY_ANY;
	k->dir = (uint8_t)dir;
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

uint64_t keytable_hash(const struct keytable_key *k)
{
	uint64_t w[3];

	memcpy(w, k, sizeof(w));
	return hash_words(w);
}

static int check_key(const struct keytable_key *k, char *err, size_t errlen)
{
	static const uint8_t zero[KEYTABLE_ADDR_BYTES];
	char kb[80];

	if (k->dir != KEYTABLE_DIR_IN && k->dir != KEYTABLE_DIR_OUT)
		goto bad;
	if (k->port == 0 || k->reserved != 0)
		goto bad;
	switch (k->family) {
	case KEYTABLE_FAMILY_ANY:
		if (memcmp(k->addr, zero, KEYTABLE_ADDR_BYTES) != 0)
			goto bad;
		return 0;
	case KEYTABLE_FAMILY_IPV4:
		if (memcmp(k->addr + 4, zero, KEYTABLE_ADDR_BYTES - 4) != 0)
			goto bad;
		return 0;
	case KEYTABLE_FAMILY_IPV6:
		return 0;
	default:
		break;
	}
bad:
	errbuf_set(err, errlen, "bad stream key %s (family %u): build keys with "
	       "keytable_key_ipv4/ipv6/any, port != 0, direction in or out",
	       fmt_key(k, kb), k->family);
	return -EINVAL;
}

static unsigned int profile_key_len(unsigned int profile)
{
	switch (profile) {
	case KEYTABLE_PROFILE_AEAD_AES_128_GCM:
		return 16;
	case KEYTABLE_PROFILE_AEAD_AES_256_GCM:
		return 32;
	default:
		return 0;
	}
}

int keytable_master_set(struct keytable_master *m, unsigned int profile,
			const uint8_t *key, size_t key_len,
			const uint8_t salt[KEYTABLE_MASTER_SALT_BYTES])
{
	unsigned int want = profile_key_len(profile);

	memset(m, 0, sizeof(*m));
	if (want == 0 || key_len != want || key == NULL || salt == NULL)
		return -EINVAL;
	m->profile = (uint16_t)profile;
	m->key_len = (uint8_t)key_len;
	memcpy(m->key, key, key_len);
	memcpy(m->salt, salt, KEYTABLE_MASTER_SALT_BYTES);
	return 0;
}

void keytable_wipe(void *p, size_t len)
{
	explicit_bzero(p, len);
}

/* Copy src into dst normalised (reserved and key bytes past key_len zero). */
static int take_master(struct keytable_master *dst, const struct keytable_master *src,
		       const char *what, char *err, size_t errlen)
{
	unsigned int want = src ? profile_key_len(src->profile) : 0;

	if (src == NULL || want == 0 || src->key_len != want) {
		errbuf_set(err, errlen, "%s master key: profile 0x%04x with a %u-byte key; "
		       "use AEAD_AES_128_GCM (0x0007, 16 bytes) or AEAD_AES_256_GCM "
		       "(0x0008, 32 bytes)", what, src ? src->profile : 0u,
		       src ? src->key_len : 0u);
		return -EINVAL;
	}
	memset(dst, 0, sizeof(*dst));
	dst->profile = src->profile;
	dst->key_len = src->key_len;
	memcpy(dst->key, src->key, want);
	memcpy(dst->salt, src->salt, KEYTABLE_MASTER_SALT_BYTES);
	return 0;
}

/* ---- the read side (seqlock readers) --------------------------------------- */

#define HEAD_WORDS 8        /* line 0: seq, key, state/mode/flags, generation,
			       created_ns, next_from_index */

static inline bool key_eq(uint64_t a0, uint64_t a1, uint64_t a2, const uint64_t kw[3])
{
	return ((a0 ^ kw[0]) | (a1 ^ kw[1]) | (a2 ^ kw[2])) == 0;
}

/*
 * Read the head (cache line 0) of slot sw. If the slot is LIVE with key kw
 * (any LIVE slot if kw == NULL), store its 8 head words at out (the first 64
 * bytes of a struct keytable_entry; *seq = out's seq = the even value the
 * read began at) and return PR_MATCH; otherwise PR_EMPTY or PR_OTHER, each
 * consistent with one version of the slot; PR_BUSY if the slot stayed odd for
 * SPIN_MAX spins. Words are stored with memcpy (no type punning) and never
 * read back wider than written (no store-forwarding stalls).
 *
 * For PR_MATCH the seqlock read section is still open: a caller that wants
 * the rest of the entry reads it with read_tail(), which closes it.
 */
static inline int read_head(const uint64_t *sw, const uint64_t kw[3], void *out,
			    uint64_t *seq)
{
	char *o = out;
	unsigned int spin, i;

	for (spin = 0; spin < SPIN_MAX; spin++) {
		uint64_t q0, k0, k1, k2, st, q1;
		int r;

		/* acquire: pairs with the release store of the even seq that
		 * ended the last write; its words are visible below */
		q0 = ld_acq(&sw[W_SEQ]);
		if (q0 & 1) {
			cpu_relax();
			continue;
		}
		/* acquire on each word: a word from a newer write makes that
		 * write's odd seq visible to the relaxed re-load below */
		k0 = ld_acq(&sw[W_KEY]);
		k1 = ld_acq(&sw[W_KEY + 1]);
		k2 = ld_acq(&sw[W_KEY + 2]);
		st = ld_acq(&sw[W_STATE]);
		if ((uint8_t)st != KEYTABLE_STATE_LIVE) {
			r = PR_EMPTY;
		} else if (kw == NULL || key_eq(k0, k1, k2, kw)) {
			memcpy(o + W_SEQ * 8, &q0, 8);
			memcpy(o + W_KEY * 8, &k0, 8);
			memcpy(o + (W_KEY + 1) * 8, &k1, 8);
			memcpy(o + (W_KEY + 2) * 8, &k2, 8);
			memcpy(o + W_STATE * 8, &st, 8);
			for (i = W_GEN; i < HEAD_WORDS; i++) {
				uint64_t v = ld_acq(&sw[i]);

				memcpy(o + i * 8, &v, 8);
			}
			*seq = q0;
			r = PR_MATCH;
		} else {
			r = PR_OTHER;
		}
		/* relaxed: ordered after the acquire loads above */
		q1 = ld_rlx(&sw[W_SEQ]);
		if (q1 == q0)
			return r;
	}
	return PR_BUSY;
}

/*
 * Finish a read that read_head() began at seq: copy the remaining words
 * (cache lines 1 and 2) to out. The copy is consistent iff seq is unchanged
 * after the last word (same pairing as read_head(): one read section from
 * the first seq load to this re-load).
 */
static inline bool read_tail(const uint64_t *sw, uint64_t seq, struct keytable_entry *out)
{
	char *o = (char *)out;
	unsigned int i;

	for (i = HEAD_WORDS; i < WORDS; i++) {
		uint64_t v = ld_acq(&sw[i]);

		memcpy(o + i * 8, &v, 8);
	}
	return ld_rlx(&sw[W_SEQ]) == seq;
}

/* Probe from home for key kw: KEYTABLE_FOUND (out's head, *seq and *slot
 * set), KEYTABLE_NOT_FOUND or KEYTABLE_BUSY. */
static unsigned int probe(const struct keytable *t, const uint64_t kw[3], uint32_t home,
			  void *out, uint64_t *seq, uint32_t *slot)
{
	unsigned int attempt;

	for (attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
		/* acquire: pairs with the release store that made move_seq
		 * even after the last shift: its slot writes are visible */
		uint64_t m0 = ld_acq(&t->hdr->move_seq), m1;
		uint32_t s = home, n;

		for (n = 0; n <= t->mask; n++, s = (s + 1) & t->mask) {
			int r = read_head(slot_words(t, s), kw, out, seq);

			if (r == PR_MATCH) {
				*slot = s;
				return KEYTABLE_FOUND;
			}
			if (r == PR_BUSY)
				return KEYTABLE_BUSY;
			if (r == PR_EMPTY)
				break;
			probe_hook();
		}
		/* relaxed: ordered after read_head's acquire loads. Unchanged
		 * and even: no shift overlapped the probe, "not found" holds */
		m1 = ld_rlx(&t->hdr->move_seq);
		if (m1 == m0 && !(m0 & 1))
			return KEYTABLE_NOT_FOUND;
		cpu_relax();
	}
	return KEYTABLE_BUSY;
}

/* Probe and copy the whole entry; a copy torn by a write is retried. */
static unsigned int probe_full(const struct keytable *t, const uint64_t kw[3], uint32_t home,
			       struct keytable_entry *out, uint32_t *slot)
{
	uint64_t seq = 0;
	unsigned int attempt, st = KEYTABLE_BUSY;

	for (attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
		st = probe(t, kw, home, out, &seq, slot);
		if (st != KEYTABLE_FOUND || read_tail(slot_words(t, *slot), seq, out))
			return st;
	}
	return KEYTABLE_BUSY;
}

static inline void prefetch_head(const struct keytable *t, uint32_t s)
{
	__builtin_prefetch(&t->slots[s], 0, 3);
}

static inline void prefetch_tail(const struct keytable *t, uint32_t s)
{
	const char *p = (const char *)&t->slots[s];

	__builtin_prefetch(p + 64, 0, 3);
	__builtin_prefetch(p + 128, 0, 3);
}

/*
 * The batched probe shared by both bulk look-ups. Pass 1 hashes every key
 * and prefetches the head line of its home slot, so the batch's misses
 * overlap; pass 2 probes (head lines only) and, if tails is set, prefetches
 * the other two lines of each slot found; pass 3 does the same for the
 * wildcard key of each exact miss, if the table holds any wildcard entry.
 * Only the head line of each slot is prefetched up front because this CPU
 * drops software prefetches beyond its miss buffers (docs/keytable.md).
 */
static void probe_batch(const struct keytable *t, const struct keytable_key keys[],
			unsigned int n, uint64_t kw[][3], char *heads, size_t stride,
			uint64_t seq[], uint32_t slot[], uint8_t status[], bool tails)
{
	uint32_t home[KEYTABLE_BULK_MAX], wild_mask = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		memcpy(kw[i], &keys[i], sizeof(kw[i]));
		home[i] = (uint32_t)hash_words(kw[i]) & t->mask;
		prefetch_head(t, home[i]);
	}
	for (i = 0; i < n; i++) {
		status[i] = (uint8_t)probe(t, kw[i], home[i], heads + i * stride, &seq[i],
					   &slot[i]);
		if (status[i] == KEYTABLE_FOUND) {
			if (tails)
				prefetch_tail(t, slot[i]);
		} else if (status[i] == KEYTABLE_NOT_FOUND &&
			   keys[i].family != KEYTABLE_FAMILY_ANY) {
			wild_mask |= UINT32_C(1) << i;
		}
	}
	/* acquire: the count is raised before a wildcard entry is made
	 * visible, so 0 means no wildcard entry could have been found */
	if (wild_mask == 0 || ld32_acq(&t->hdr->wild_count) == 0)
		return;
	for (i = 0; i < n; i++) {
		if (!(wild_mask & (UINT32_C(1) << i)))
			continue;
		kw[i][0] = 0;
		kw[i][1] = 0;
		kw[i][2] &= ~(UINT64_C(0xff) << 16);   /* family := ANY */
		home[i] = (uint32_t)hash_words(kw[i]) & t->mask;
		prefetch_head(t, home[i]);
	}
	for (i = 0; i < n; i++) {
		if (!(wild_mask & (UINT32_C(1) << i)))
			continue;
		status[i] = (uint8_t)probe(t, kw[i], home[i], heads + i * stride, &seq[i],
					   &slot[i]);
		if (status[i] == KEYTABLE_FOUND && tails)
			prefetch_tail(t, slot[i]);
	}
}

int keytable_lookup_bulk(const struct keytable *t, const struct keytable_key keys[],
			 unsigned int n, struct keytable_entry out[], uint8_t status[],
			 struct keytable_ref refs[])
{
	uint64_t kw[KEYTABLE_BULK_MAX][3], seq[KEYTABLE_BULK_MAX];
	uint32_t slot[KEYTABLE_BULK_MAX];
	unsigned int i, found = 0;

	if (n > KEYTABLE_BULK_MAX)
		return -EINVAL;
	probe_batch(t, keys, n, kw, (char *)out, sizeof(out[0]), seq, slot, status, true);

	/* Copy the tails (their lines were prefetched in pass 2), closing each
	 * read section; a copy torn by a concurrent write is probed again. */
	for (i = 0; i < n; i++) {
		if (status[i] == KEYTABLE_FOUND &&
		    !read_tail(slot_words(t, slot[i]), seq[i], &out[i]))
			status[i] = (uint8_t)probe_full(t, kw[i],
							(uint32_t)hash_words(kw[i]) & t->mask,
							&out[i], &slot[i]);
		if (status[i] == KEYTABLE_FOUND) {
			found++;
			if (refs != NULL) {
				refs[i].slot = slot[i];
				refs[i].reserved = 0;
				refs[i].generation = out[i].generation;
			}
		} else {
			/* a torn copy may have been left behind: wipe it */
			explicit_bzero(&out[i], sizeof(out[i]));
			if (refs != NULL)
				memset(&refs[i], 0, sizeof(refs[i]));
		}
	}
	return (int)found;
}

int keytable_lookup_bulk_ref(const struct keytable *t, const struct keytable_key keys[],
			     unsigned int n, struct keytable_ref refs[], uint8_t status[])
{
	uint64_t kw[KEYTABLE_BULK_MAX][3], seq[KEYTABLE_BULK_MAX];
	uint64_t head[KEYTABLE_BULK_MAX][HEAD_WORDS];
	uint32_t slot[KEYTABLE_BULK_MAX];
	unsigned int i, found = 0;

	if (n > KEYTABLE_BULK_MAX)
		return -EINVAL;
	probe_batch(t, keys, n, kw, (char *)head, sizeof(head[0]), seq, slot, status, false);
	for (i = 0; i < n; i++) {
		refs[i].reserved = 0;
		if (status[i] == KEYTABLE_FOUND) {
			found++;
			refs[i].slot = slot[i];
			memcpy(&refs[i].generation, (char *)head[i] + W_GEN * 8, 8);
		} else {
			refs[i].slot = 0;
			refs[i].generation = 0;
		}
	}
	return (int)found;
}

int keytable_read_ref(const struct keytable *t, const struct keytable_ref *ref,
		      struct keytable_entry *out)
{
	uint64_t seq = 0;
	unsigned int attempt;

	if (ref->slot > t->mask || ref->generation == 0)
		goto stale;
	for (attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
		const uint64_t *sw = slot_words(t, ref->slot);
		int r = read_head(sw, NULL, out, &seq);

		if (r == PR_BUSY)
			break;
		if (r != PR_MATCH || out->generation != ref->generation)
			goto stale;
		if (read_tail(sw, seq, out))
			return 0;
	}
	explicit_bzero(out, sizeof(*out));
	return -EBUSY;
stale:
	explicit_bzero(out, sizeof(*out));
	return -ESTALE;
}

int keytable_get(const struct keytable *t, const struct keytable_key *k,
		 struct keytable_entry *out, struct keytable_ref *ref)
{
	uint64_t kw[3];
	uint32_t s = 0;
	unsigned int st;

	memcpy(kw, k, sizeof(kw));
	st = probe_full(t, kw, (uint32_t)hash_words(kw) & t->mask, out, &s);
	if (st != KEYTABLE_FOUND) {
		explicit_bzero(out, sizeof(*out));
		return st == KEYTABLE_BUSY ? -EBUSY : -ENOENT;
	}
	if (ref != NULL) {
		ref->slot = s;
		ref->reserved = 0;
		ref->generation = out->generation;
	}
	return 0;
}

bool keytable_ref_current(const struct keytable *t, const struct keytable_ref *ref)
{
	const uint64_t *sw;
	uint64_t q0, g, st, q1;

	if (ref->slot > t->mask || ref->generation == 0)
		return false;
	sw = slot_words(t, ref->slot);
	q0 = ld_acq(&sw[W_SEQ]);            /* acquire, as in read_head() */
	st = ld_acq(&sw[W_STATE]);
	g = ld_acq(&sw[W_GEN]);
	q1 = ld_rlx(&sw[W_SEQ]);
	return !(q0 & 1) && q1 == q0 && (uint8_t)st == KEYTABLE_STATE_LIVE &&
	       g == ref->generation;
}

uint64_t keytable_changes(const struct keytable *t)
{
	/* acquire: pairs with the writer's release increment after a commit */
	return ld_acq(&t->hdr->changes);
}

int keytable_next(const struct keytable *t, uint32_t *cursor, struct keytable_entry *out)
{
	uint64_t seq = 0, s;

	for (s = *cursor; s <= t->mask; s++) {
		const uint64_t *sw = slot_words(t, (uint32_t)s);
		unsigned int attempt;
		int r = PR_BUSY;

		for (attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
			r = read_head(sw, NULL, out, &seq);
			if (r != PR_MATCH || read_tail(sw, seq, out))
				break;
			r = PR_BUSY;
		}
		if (r == PR_BUSY) {
			*cursor = (uint32_t)s;
			explicit_bzero(out, sizeof(*out));
			return -EBUSY;
		}
		if (r == PR_MATCH) {
			*cursor = (uint32_t)s + 1;
			return 1;
		}
	}
	*cursor = t->mask + 1;
	return 0;
}

void keytable_info(const struct keytable *t, struct keytable_info *info)
{
	const struct keytable_header *h = t->hdr;

	memset(info, 0, sizeof(*info));
	info->abi_version = h->abi_version;
	info->capacity = h->capacity;
	info->slots = t->mask + 1;
	info->count = ld32_acq(&h->count);
	info->wild_count = ld32_acq(&h->wild_count);
	info->writer_pid = ld32_acq(&h->writer_pid);
	info->writer_epoch = ld32_acq(&h->writer_epoch);
	info->changes = ld_acq(&h->changes);
	info->generation = ld_acq(&h->generation);
	info->recoveries = ld_acq(&h->recoveries);
	info->table_bytes = h->table_bytes;
	info->created_ns = h->created_ns;
	info->writable = t->writer;
}

const char *keytable_last_error(const struct keytable *t)
{
	return t->err;
}

/* ---- the write side (single writer) ---------------------------------------- */

/* The writer is the only thread that stores to slots, so its own loads need
 * no seqlock; they are relaxed atomics because readers load the same words. */
static void load_image(const struct keytable *t, uint32_t s, union image *img)
{
	const uint64_t *sw = slot_words(t, s);
	unsigned int i;

	for (i = 0; i < WORDS; i++)
		img->w[i] = ld_rlx(&sw[i]);
}

static inline uint32_t slot_home(const struct keytable *t, const uint64_t *sw)
{
	uint64_t kw[3] = { ld_rlx(&sw[W_KEY]), ld_rlx(&sw[W_KEY + 1]), ld_rlx(&sw[W_KEY + 2]) };

	return (uint32_t)hash_words(kw) & t->mask;
}

static inline bool slot_live(const uint64_t *sw)
{
	return (uint8_t)ld_rlx(&sw[W_STATE]) == KEYTABLE_STATE_LIVE;
}

/*
 * Writer's probe: the slot holding kw (returns true), or else in *slot the
 * first empty slot of its probe sequence (the table is never full: at most
 * half the slots are live).
 */
static bool find_slot(const struct keytable *t, const uint64_t kw[3], uint32_t *slot)
{
	uint32_t s = (uint32_t)hash_words(kw) & t->mask, n;

	for (n = 0; n <= t->mask; n++, s = (s + 1) & t->mask) {
		const uint64_t *sw = slot_words(t, s);

		if (!slot_live(sw))
			break;
		if (key_eq(ld_rlx(&sw[W_KEY]), ld_rlx(&sw[W_KEY + 1]),
			   ld_rlx(&sw[W_KEY + 2]), kw)) {
			*slot = s;
			return true;
		}
	}
	*slot = s;
	return false;
}

/*
 * Rewrite slot s with img (img->w[W_SEQ] is ignored): the seqlock write side.
 * If seq is already odd (a writer died here), it stays odd until the end.
 */
static void slot_write(struct keytable *t, uint32_t s, const union image *img)
{
	uint64_t *sw = slot_words_rw(t, s);
	uint64_t q = ld_rlx(&sw[W_SEQ]) | 1;
	unsigned int i;

	/* relaxed: each release store below orders this one before itself */
	st_rlx(&sw[W_SEQ], q);
	crash_point();
	for (i = 1; i < WORDS; i++) {
		/* release: a reader that sees this word also sees seq >= q */
		st_rel(&sw[i], img->w[i]);
		if (i == WORDS / 2)
			crash_point();
	}
	crash_point();
	/* release: a reader that acquires q + 1 sees all the words above */
	st_rel(&sw[W_SEQ], q + 1);
	crash_point();
}

/* Overwrite slot s with zeros (state EMPTY): how key bytes are wiped in the
 * table. These are atomic stores, which the compiler may not elide. */
static void slot_wipe(struct keytable *t, uint32_t s)
{
	static const union image zero;

	slot_write(t, s, &zero);
}

static void journal_set(uint32_t *field, uint32_t v)
{
	/* release: everything stored before (undo image, slot writes) is in
	 * program order before it, and so survives a crash before it */
	st32_rel(field, v);
	compiler_barrier();
	crash_point();
}

static void journal_clear(struct keytable *t)
{
	struct keytable_journal *j = &t->hdr->journal;

	journal_set(&j->op, KEYTABLE_JOP_NONE);
	/* the undo image may hold the old key; the barrier keeps the wipe after
	 * op = NONE, so a crash never leaves an op with a wiped undo image */
	explicit_bzero(&j->undo, sizeof(j->undo));
	compiler_barrier();
}

static void bump64(uint64_t *p, uint64_t d)
{
	st_rel(p, ld_rlx(p) + d);   /* release: after the slot writes it counts */
}

static void bump32(uint32_t *p, int32_t d)
{
	st32_rel(p, __atomic_load_n(p, __ATOMIC_RELAXED) + (uint32_t)d);
}

/*
 * Backward-shift deletion from hole (Knuth 6.4 Algorithm R): move each later
 * entry of the cluster whose home is not cyclically in (hole, j] into the
 * hole, then empty the last hole. The journal's hole follows each move, so a
 * crash at any point resumes here with the same result. Caller holds move_seq
 * odd.
 */
static void shift_from(struct keytable *t, uint32_t hole)
{
	union image img;
	uint32_t j = (hole + 1) & t->mask;

	for (;;) {
		const uint64_t *sw = slot_words(t, j);

		if (!slot_live(sw))
			break;
		if (((j - slot_home(t, sw)) & t->mask) >= ((j - hole) & t->mask)) {
			load_image(t, j, &img);
			slot_write(t, hole, &img);
			/* j now duplicates the hole's new content and is the
			 * hole; a crash before this store redoes the copy */
			journal_set(&t->hdr->journal.hole, j);
			hole = j;
		}
		j = (j + 1) & t->mask;
	}
	slot_wipe(t, hole);
	explicit_bzero(&img, sizeof(img));
}

static int writer_only(struct keytable *t)
{
	if (t == NULL)
		return -EINVAL;
	t->err[0] = '\0';
	if (!t->writer) {
		errbuf_set(t->err, sizeof(t->err), "table callseal.%s: this handle is a "
		       "read-only reader; attach as the writer to change it", t->name);
		return -EPERM;
	}
	return 0;
}

/* Announce an in-place rewrite of a LIVE slot: copy its image to the undo
 * area, then the slot number, then the op (which arms the journal). */
static void journal_undo(struct keytable *t, uint32_t op, uint32_t s, const union image *old)
{
	struct keytable_journal *j = &t->hdr->journal;

	memcpy(&j->undo, &old->e, sizeof(j->undo));
	journal_set(&j->slot, s);
	journal_set(&j->op, op);
}

int keytable_add(struct keytable *t, const struct keytable_key *k, unsigned int mode,
		 const struct keytable_master *cur,
		 const uint8_t call_id[KEYTABLE_CALL_ID_BYTES], uint64_t *generation)
{
	union image img;
	uint64_t kw[3], gen, now;
	uint32_t s;
	char kb[80];
	int rc;

	memset(&img, 0, sizeof(img));
	rc = writer_only(t);
	if (rc < 0)
		goto out;
	rc = check_key(k, t->err, sizeof(t->err));
	if (rc < 0)
		goto out;
	if (mode != KEYTABLE_MODE_E2EE && mode != KEYTABLE_MODE_STANDARD) {
		errbuf_set(t->err, sizeof(t->err), "bad mode %u for %s: use e2ee (1) or "
		       "standard (2)", mode, fmt_key(k, kb));
		rc = -EINVAL;
		goto out;
	}
	rc = take_master(&img.e.cur, cur, "current", t->err, sizeof(t->err));
	if (rc < 0)
		goto out;
	memcpy(kw, k, sizeof(kw));
	if (find_slot(t, kw, &s)) {
		errbuf_set(t->err, sizeof(t->err), "table callseal.%s already has stream %s "
		       "(use replace to rekey it)", t->name, fmt_key(k, kb));
		rc = -EEXIST;
		goto out;
	}
	if (t->hdr->count >= t->capacity) {
		errbuf_set(t->err, sizeof(t->err), "table callseal.%s is full (%u entries, "
		       "its capacity): cannot add %s", t->name, t->capacity, fmt_key(k, kb));
		rc = -ENOSPC;
		goto out;
	}

	gen = t->hdr->generation + 1;
	now = now_ns();
	img.e.key = *k;
	img.e.state = KEYTABLE_STATE_LIVE;
	img.e.mode = (uint8_t)mode;
	img.e.generation = gen;
	img.e.created_ns = now;
	img.e.updated_ns = now;
	if (call_id != NULL)            /* NULL: no call id (all zero) */
		memcpy(img.e.call_id, call_id, KEYTABLE_CALL_ID_BYTES);

	/* the generation is consumed first, so it is never handed out twice */
	bump64(&t->hdr->generation, 1);
	journal_set(&t->hdr->journal.slot, s);
	journal_set(&t->hdr->journal.op, KEYTABLE_JOP_ADD);
	if (k->family == KEYTABLE_FAMILY_ANY)
		bump32(&t->hdr->wild_count, 1);   /* before it becomes visible */
	slot_write(t, s, &img);
	bump32(&t->hdr->count, 1);
	bump64(&t->hdr->changes, 1);
	journal_clear(t);
	if (generation != NULL)
		*generation = gen;
	rc = 0;
out:
	explicit_bzero(&img, sizeof(img));
	return rc;
}

/* Replace (next == NULL, cur set) or schedule/cancel (cur == NULL). */
static int rewrite(struct keytable *t, const struct keytable_key *k,
		   const struct keytable_master *cur, const struct keytable_master *next,
		   uint64_t from_index, bool cancel, uint64_t *generation)
{
	union image old, img;
	uint64_t kw[3], gen;
	uint32_t s, op;
	char kb[80];
	int rc;

	memset(&img, 0, sizeof(img));
	memset(&old, 0, sizeof(old));
	rc = writer_only(t);
	if (rc < 0)
		goto out;
	rc = check_key(k, t->err, sizeof(t->err));
	if (rc < 0)
		goto out;
	if (cur != NULL) {
		rc = take_master(&img.e.cur, cur, "current", t->err, sizeof(t->err));
		op = KEYTABLE_JOP_REPLACE;
	} else {
		if (!cancel) {
			rc = take_master(&img.e.next, next, "next", t->err, sizeof(t->err));
			if (rc == 0 && from_index > KEYTABLE_INDEX_MAX) {
				errbuf_set(t->err, sizeof(t->err), "from-index %" PRIu64 " for %s "
				       "is not a 48-bit SRTP packet index", from_index,
				       fmt_key(k, kb));
				rc = -EINVAL;
			}
		}
		op = KEYTABLE_JOP_SCHEDULE;
	}
	if (rc < 0)
		goto out;
	memcpy(kw, k, sizeof(kw));
	if (!find_slot(t, kw, &s)) {
		errbuf_set(t->err, sizeof(t->err), "table callseal.%s has no stream %s",
		       t->name, fmt_key(k, kb));
		rc = -ENOENT;
		goto out;
	}

	load_image(t, s, &old);
	gen = t->hdr->generation + 1;
	if (cur != NULL) {
		/* rekey: the new key is current, any scheduled one is dropped */
		struct keytable_master m = img.e.cur;

		img = old;
		img.e.cur = m;
		memset(&img.e.next, 0, sizeof(img.e.next));
		img.e.next_from_index = 0;
		img.e.flags &= (uint8_t)~KEYTABLE_F_NEXT;
		explicit_bzero(&m, sizeof(m));
	} else {
		struct keytable_master m = img.e.next;

		img = old;
		img.e.next = m;
		if (cancel) {
			img.e.next_from_index = 0;
			img.e.flags &= (uint8_t)~KEYTABLE_F_NEXT;
		} else {
			/* RFC 3711 <From,To>: next applies From from_index on */
			img.e.next_from_index = from_index;
			img.e.flags |= KEYTABLE_F_NEXT;
		}
		explicit_bzero(&m, sizeof(m));
	}
	img.e.generation = gen;
	img.e.updated_ns = now_ns();

	bump64(&t->hdr->generation, 1);
	journal_undo(t, op, s, &old);
	slot_write(t, s, &img);         /* old key bytes overwritten in place */
	bump64(&t->hdr->changes, 1);
	journal_clear(t);
	if (generation != NULL)
		*generation = gen;
	rc = 0;
out:
	explicit_bzero(&img, sizeof(img));
	explicit_bzero(&old, sizeof(old));
	return rc;
}

int keytable_replace(struct keytable *t, const struct keytable_key *k,
		     const struct keytable_master *cur, uint64_t *generation)
{
	static const struct keytable_master none;

	/* cur == NULL must not mean "schedule": pass an invalid master instead */
	return rewrite(t, k, cur ? cur : &none, NULL, 0, false, generation);
}

int keytable_schedule(struct keytable *t, const struct keytable_key *k,
		      const struct keytable_master *next, uint64_t from_index,
		      uint64_t *generation)
{
	return rewrite(t, k, NULL, next, from_index, next == NULL, generation);
}

static void delete_slot(struct keytable *t, uint32_t s, bool wild)
{
	struct keytable_header *h = t->hdr;

	journal_set(&h->journal.hole, s);
	journal_set(&h->journal.op, KEYTABLE_JOP_DELETE);
	/* odd for the whole shift; relaxed is enough here because every slot
	 * store of the shift is a release store that orders it first */
	st_rlx(&h->move_seq, ld_rlx(&h->move_seq) + 1);
	crash_point();
	shift_from(t, s);
	/* release: a reader that acquires the even value sees the whole shift */
	st_rel(&h->move_seq, ld_rlx(&h->move_seq) + 1);
	crash_point();
	bump32(&h->count, -1);
	if (wild)
		bump32(&h->wild_count, -1);   /* after it is gone */
	bump64(&h->changes, 1);
	journal_clear(t);
}

int keytable_delete(struct keytable *t, const struct keytable_key *k)
{
	uint64_t kw[3];
	uint32_t s;
	char kb[80];
	int rc;

	rc = writer_only(t);
	if (rc < 0)
		goto out;
	rc = check_key(k, t->err, sizeof(t->err));
	if (rc < 0)
		goto out;
	memcpy(kw, k, sizeof(kw));
	if (!find_slot(t, kw, &s)) {
		errbuf_set(t->err, sizeof(t->err), "table callseal.%s has no stream %s",
		       t->name, fmt_key(k, kb));
		rc = -ENOENT;
		goto out;
	}
	delete_slot(t, s, k->family == KEYTABLE_FAMILY_ANY);
	rc = 0;
out:
	return rc;
}

/* ---- recovery (a new writer after one that died) --------------------------- */

/*
 * Called with the lock held and the table mapped read-write, readers possibly
 * active. Every step is idempotent, so a writer that dies while recovering
 * leaves a journal the next one recovers from in the same way.
 */
static int recover(struct keytable *t, struct keytable_recovery *rec,
		   char *err, size_t errlen)
{
	struct keytable_header *h = t->hdr;
	struct keytable_journal *j = &h->journal;
	uint32_t op = j->op, s, count = 0, wild = 0;
	union image undo;
	int rc = 0;

	rec->journal_op = op;
	switch (op) {
	case KEYTABLE_JOP_NONE:
		break;
	case KEYTABLE_JOP_ADD:
		/* the slot was empty before: empty it again */
		if (j->slot > t->mask)
			goto corrupt;
		slot_wipe(t, j->slot);
		rec->rolled_back = 1;
		break;
	case KEYTABLE_JOP_REPLACE:
	case KEYTABLE_JOP_SCHEDULE:
		/* put the previous image back (its key never moved: in-place) */
		memcpy(&undo.e, &j->undo, sizeof(undo.e));
		if (j->slot > t->mask || undo.e.state != KEYTABLE_STATE_LIVE ||
		    check_key(&undo.e.key, NULL, 0) < 0) {
			explicit_bzero(&undo, sizeof(undo));
			goto corrupt;
		}
		slot_write(t, j->slot, &undo);
		explicit_bzero(&undo, sizeof(undo));
		rec->rolled_back = 1;
		break;
	case KEYTABLE_JOP_DELETE:
		/* finish the shift from where it stopped */
		if (j->hole > t->mask)
			goto corrupt;
		if (!(ld_rlx(&h->move_seq) & 1))
			st_rlx(&h->move_seq, ld_rlx(&h->move_seq) + 1);
		shift_from(t, j->hole);
		st_rel(&h->move_seq, ld_rlx(&h->move_seq) + 1);
		rec->completed = 1;
		break;
	default:
		goto corrupt;
	}

	if (op != KEYTABLE_JOP_NONE || (ld_rlx(&h->move_seq) & 1)) {
		/* Recount, and wipe any slot left odd outside the journal
		 * (never expected: only damage can leave one). */
		for (s = 0; s <= t->mask; s++) {
			const uint64_t *sw = slot_words(t, s);

			if (ld_rlx(&sw[W_SEQ]) & 1) {
				if (!(ld_rlx(&h->move_seq) & 1))
					st_rlx(&h->move_seq, ld_rlx(&h->move_seq) + 1);
				journal_set(&j->hole, s);
				journal_set(&j->op, KEYTABLE_JOP_DELETE);
				shift_from(t, s);
				rec->wiped++;
				s = UINT32_MAX; /* entries moved: scan again */
			}
		}
		if (ld_rlx(&h->move_seq) & 1)
			st_rel(&h->move_seq, ld_rlx(&h->move_seq) + 1);
		for (s = 0; s <= t->mask; s++) {
			const uint64_t *sw = slot_words(t, s);

			if (slot_live(sw)) {
				count++;
				if (((ld_rlx(&sw[W_KEY + 2]) >> 16) & 0xff) == KEYTABLE_FAMILY_ANY)
					wild++;
			}
		}
		if (count > t->capacity) {
			errbuf_set(err, errlen, "table callseal.%s holds %u entries, more than "
			       "its capacity %u: cannot recover; remove it and re-create it",
			       t->name, count, t->capacity);
			rc = -EUCLEAN;
			goto out;
		}
		st32_rel(&h->count, count);
		st32_rel(&h->wild_count, wild);
		bump64(&h->recoveries, 1);
		bump64(&h->changes, 1);
	}
	journal_clear(t);
	goto out;
corrupt:
	errbuf_set(err, errlen, "table callseal.%s: its journal is damaged (op %u, slot %u, "
	       "hole %u): cannot recover; remove the table and re-create it",
	       t->name, op, j->slot, j->hole);
	rc = -EUCLEAN;
out:
	return rc;
}

/* ---- create / attach / detach ---------------------------------------------- */

static int table_path(const char *name, char path[sizeof(NAME_PREFIX) + KEYTABLE_NAME_MAX],
		      char *err, size_t errlen)
{
	int rc = check_name(name, err, errlen);

	if (rc == 0)
		snprintf(path, sizeof(NAME_PREFIX) + KEYTABLE_NAME_MAX, NAME_PREFIX "%s", name);
	return rc;
}

/* Owner and permission bits (0600 only), regular file. */
static int check_stat(const char *name, const struct stat *st, char *err, size_t errlen)
{
	if (!S_ISREG(st->st_mode)) {
		errbuf_set(err, errlen, "table callseal.%s is not a regular file", name);
		return -EINVAL;
	}
	if (st->st_uid != geteuid()) {
		errbuf_set(err, errlen, "table callseal.%s is owned by uid %u, not by this "
		       "user (uid %u): refusing it", name, (unsigned int)st->st_uid,
		       (unsigned int)geteuid());
		return -EPERM;
	}
	if ((st->st_mode & 0777) != 0600) {
		errbuf_set(err, errlen, "table callseal.%s has mode 0%03o: it must be 0600 "
		       "(owner only), refusing it", name, (unsigned int)(st->st_mode & 0777));
		return -EACCES;
	}
	return 0;
}

/* Check a header (read with pread, before any mmap) against the file size. */
static int check_header(const char *name, const struct keytable_header *h, off_t size,
			char *err, size_t errlen)
{
	uint64_t bytes;

	if (size < (off_t)KEYTABLE_HEADER_SIZE) {
		errbuf_set(err, errlen, "table callseal.%s is too short (%lld bytes; the header "
		       "alone is %u): not a key table, or its creator died", name,
		       (long long)size, KEYTABLE_HEADER_SIZE);
		return -EPROTO;
	}
	if (h->magic != KEYTABLE_MAGIC) {
		errbuf_set(err, errlen, "table callseal.%s is not a callseal key table (bad magic "
		       "0x%016" PRIx64 "%s)", name, h->magic,
		       h->magic == 0 ? ": its creator died before finishing it" : "");
		return -EPROTO;
	}
	if (h->abi_version != KEYTABLE_ABI_VERSION) {
		errbuf_set(err, errlen, "table callseal.%s was made by ABI %u, this build "
		       "reads ABI %u", name, h->abi_version, KEYTABLE_ABI_VERSION);
		return -EPROTO;
	}
	if (h->header_size != KEYTABLE_HEADER_SIZE || h->entry_size != KEYTABLE_ENTRY_SIZE) {
		errbuf_set(err, errlen, "table callseal.%s has a %u-byte header and %u-byte "
		       "entries; ABI %u has %u and %u", name, h->header_size,
		       h->entry_size, KEYTABLE_ABI_VERSION, KEYTABLE_HEADER_SIZE,
		       KEYTABLE_ENTRY_SIZE);
		return -EPROTO;
	}
	if (h->slot_bits < SLOT_BITS_MIN || h->slot_bits > 31 || h->capacity == 0 ||
	    h->capacity > (UINT32_C(1) << (h->slot_bits - 1))) {
		errbuf_set(err, errlen, "table callseal.%s has a bad geometry (capacity %u, "
		       "2^%u slots)", name, h->capacity, h->slot_bits);
		return -EPROTO;
	}
	bytes = KEYTABLE_HEADER_SIZE + ((uint64_t)KEYTABLE_ENTRY_SIZE << h->slot_bits);
	if (h->table_bytes != bytes || (uint64_t)size != bytes) {
		errbuf_set(err, errlen, "table callseal.%s is %lld bytes but its header says "
		       "%" PRIu64 " (2^%u slots need %" PRIu64 "): truncated or damaged",
		       name, (long long)size, h->table_bytes, h->slot_bits, bytes);
		return -EPROTO;
	}
	return 0;
}

/* The exclusive writer lock: an OFD lock on byte 0, released when the last
 * descriptor of this open file description closes (process exit included),
 * and not released by closing some other descriptor of the same file. */
static int take_lock(int fd)
{
	struct flock fl = {
		.l_type = F_WRLCK,
		.l_whence = SEEK_SET,
		.l_start = 0,
		.l_len = 1,
	};

	return fcntl(fd, F_OFD_SETLK, &fl) == 0 ? 0 : -errno;
}

static int busy_error(int fd, const char *name, char *err, size_t errlen)
{
	struct keytable_header h;

	/* OFD locks do not report their holder (F_OFD_GETLK gives pid -1):
	 * every writer stores its pid in the header right after locking */
	memset(&h, 0, sizeof(h));
	if (pread(fd, &h, sizeof(h), 0) >= (ssize_t)offsetof(struct keytable_header,
							     writer_epoch) && h.writer_pid != 0)
		errbuf_set(err, errlen, "table callseal.%s is held by writer pid %u",
		       name, h.writer_pid);
	else
		errbuf_set(err, errlen, "table callseal.%s is held by another writer", name);
	return -EBUSY;
}

/* Keys stay out of core dumps (a file-backed shared mapping is not dumped
 * with the default coredump_filter either; this makes it explicit). */
static void no_dump(void *base, size_t bytes)
{
	(void)madvise(base, bytes, MADV_DONTDUMP);
}

static struct keytable *handle_new(const char *name)
{
	struct keytable *t = calloc(1, sizeof(*t));

	if (t != NULL) {
		t->fd = -1;
		snprintf(t->name, sizeof(t->name), "%s", name);
	}
	return t;
}

static void handle_free(struct keytable *t)
{
	if (t == NULL)
		return;
	if (t->hdr != NULL)
		munmap(t->hdr, t->map_bytes);
	if (t->fd >= 0)
		close(t->fd);
	free(t);
}

static void handle_map(struct keytable *t, void *base, const struct keytable_header *h)
{
	t->hdr = base;
	t->slots = (struct keytable_entry *)(void *)((char *)base + KEYTABLE_HEADER_SIZE);
	t->mask = (UINT32_C(1) << h->slot_bits) - 1;
	t->capacity = h->capacity;
}

int keytable_create(struct keytable **out, const char *name, uint32_t capacity,
		    char *err, size_t errlen)
{
	char path[sizeof(NAME_PREFIX) + KEYTABLE_NAME_MAX];
	struct keytable *t = NULL;
	struct keytable_header *h;
	uint32_t bits = SLOT_BITS_MIN;
	uint64_t bytes;
	bool created = false;
	void *base;
	int rc;

	*out = NULL;
	rc = table_path(name, path, err, errlen);
	if (rc < 0)
		goto out;
	if (capacity == 0 || capacity > KEYTABLE_CAPACITY_MAX) {
		errbuf_set(err, errlen, "capacity %u for table callseal.%s is out of range "
		       "(1..%u)", capacity, name, KEYTABLE_CAPACITY_MAX);
		rc = -EINVAL;
		goto out;
	}
	while ((UINT64_C(1) << bits) < 2 * (uint64_t)capacity)
		bits++;
	bytes = KEYTABLE_HEADER_SIZE + ((uint64_t)KEYTABLE_ENTRY_SIZE << bits);

	t = handle_new(name);
	if (t == NULL) {
		rc = -ENOMEM;
		errbuf_set(err, errlen, "out of memory");
		goto out;
	}
	t->fd = shm_open(path, O_RDWR | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (t->fd < 0) {
		rc = -errno;
		if (rc == -EEXIST)
			errbuf_set(err, errlen, "table callseal.%s already exists: attach to it, "
			       "or remove it first", name);
		else
			errbuf_set(err, errlen, "cannot create table callseal.%s: %s", name,
			       strerror(-rc));
		goto out;
	}
	created = true;
	/* exactly 0600 whatever the umask */
	if (fchmod(t->fd, 0600) < 0 || (rc = take_lock(t->fd)) < 0) {
		rc = rc < 0 ? rc : -errno;
		errbuf_set(err, errlen, "cannot set up table callseal.%s: %s", name, strerror(-rc));
		goto out;
	}
	/* fallocate reserves the pages now: a full /dev/shm is a clean
	 * ENOSPC here, never a SIGBUS on first touch later */
	if (fallocate(t->fd, 0, 0, (off_t)bytes) < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot make table callseal.%s %" PRIu64 " bytes "
		       "(capacity %u) in /dev/shm: %s", name, bytes, capacity, strerror(-rc));
		goto out;
	}
	base = mmap(NULL, bytes, PROT_READ | PROT_WRITE, MAP_SHARED | MAP_POPULATE, t->fd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot map table callseal.%s: %s", name, strerror(-rc));
		goto out;
	}
	t->map_bytes = bytes;
	no_dump(base, bytes);
	h = base;
	/* the pid first, so that a second writer can name us even now */
	h->writer_pid = (uint32_t)getpid();
	h->writer_epoch = 1;
	h->abi_version = KEYTABLE_ABI_VERSION;
	h->header_size = KEYTABLE_HEADER_SIZE;
	h->entry_size = KEYTABLE_ENTRY_SIZE;
	h->capacity = capacity;
	h->slot_bits = bits;
	h->table_bytes = bytes;
	h->created_ns = now_ns();
	/* release: the magic is stored last; whoever reads it sees the rest */
	st_rel(&h->magic, KEYTABLE_MAGIC);
	handle_map(t, base, h);
	t->writer = true;
	*out = t;
	t = NULL;
	rc = 0;
out:
	if (t != NULL) {
		if (created)
			shm_unlink(path);
		handle_free(t);
	}
	return rc;
}

/* Open, check owner/mode/header, map; the writer also locks and recovers. */
static int attach(struct keytable **out, const char *name, bool writer,
		  struct keytable_recovery *rec, char *err, size_t errlen)
{
	char path[sizeof(NAME_PREFIX) + KEYTABLE_NAME_MAX];
	struct keytable_recovery rec0;
	struct keytable_header h;
	struct keytable *t = NULL;
	struct stat st;
	ssize_t got;
	void *base;
	int rc;

	*out = NULL;
	memset(&rec0, 0, sizeof(rec0));
	rc = table_path(name, path, err, errlen);
	if (rc < 0)
		goto out;
	t = handle_new(name);
	if (t == NULL) {
		rc = -ENOMEM;
		errbuf_set(err, errlen, "out of memory");
		goto out;
	}
	t->fd = shm_open(path, (writer ? O_RDWR : O_RDONLY) | O_CLOEXEC, 0);
	if (t->fd < 0) {
		rc = -errno;
		if (rc == -ENOENT)
			errbuf_set(err, errlen, "table callseal.%s does not exist "
			       "(/dev/shm/callseal.%s)", name, name);
		else
			errbuf_set(err, errlen, "cannot open table callseal.%s: %s", name,
			       strerror(-rc));
		goto out;
	}
	if (fstat(t->fd, &st) < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot stat table callseal.%s: %s", name, strerror(-rc));
		goto out;
	}
	rc = check_stat(name, &st, err, errlen);
	if (rc < 0)
		goto out;
	if (writer) {
		rc = take_lock(t->fd);
		if (rc == -EAGAIN || rc == -EACCES) {
			rc = busy_error(t->fd, name, err, errlen);
			goto out;
		} else if (rc < 0) {
			errbuf_set(err, errlen, "cannot lock table callseal.%s: %s", name,
			       strerror(-rc));
			goto out;
		}
		/* re-read the size under the lock (a creator may have finished) */
		if (fstat(t->fd, &st) < 0) {
			rc = -errno;
			goto out;
		}
	}
	/* never mmap before the size and header are known good: a short or
	 * foreign file is an error, not a SIGBUS */
	memset(&h, 0, sizeof(h));
	if (st.st_size >= (off_t)sizeof(h)) {
		got = pread(t->fd, &h, sizeof(h), 0);
		if (got != (ssize_t)sizeof(h)) {
			rc = got < 0 ? -errno : -EPROTO;
			errbuf_set(err, errlen, "cannot read the header of table callseal.%s: %s",
			       name, got < 0 ? strerror(-rc) : "short read");
			goto out;
		}
	}
	rc = check_header(name, &h, st.st_size, err, errlen);
	if (rc < 0)
		goto out;
	base = mmap(NULL, h.table_bytes, writer ? PROT_READ | PROT_WRITE : PROT_READ,
		    MAP_SHARED | MAP_POPULATE, t->fd, 0);
	if (base == MAP_FAILED) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot map table callseal.%s: %s", name, strerror(-rc));
		goto out;
	}
	t->map_bytes = h.table_bytes;
	no_dump(base, h.table_bytes);
	handle_map(t, base, &h);
	if (writer) {
		t->writer = true;
		rec0.prev_writer_pid = t->hdr->writer_pid;
		rc = recover(t, &rec0, err, errlen);
		if (rc < 0)
			goto out;
		st32_rel(&t->hdr->writer_pid, (uint32_t)getpid());
		st32_rel(&t->hdr->writer_epoch, t->hdr->writer_epoch + 1);
	} else {
		/* a reader needs no descriptor: the mapping is enough */
		close(t->fd);
		t->fd = -1;
	}
	*out = t;
	t = NULL;
	rc = 0;
out:
	if (rec != NULL)
		*rec = rec0;
	handle_free(t);
	return rc;
}

int keytable_attach_writer(struct keytable **out, const char *name,
			   struct keytable_recovery *rec, char *err, size_t errlen)
{
	return attach(out, name, true, rec, err, errlen);
}

int keytable_attach_reader(struct keytable **out, const char *name,
			   char *err, size_t errlen)
{
	return attach(out, name, false, NULL, err, errlen);
}

void keytable_detach(struct keytable *t)
{
	handle_free(t);
}

int keytable_unlink(const char *name, char *err, size_t errlen)
{
	char path[sizeof(NAME_PREFIX) + KEYTABLE_NAME_MAX];
	struct stat st;
	int fd = -1, rc;

	rc = table_path(name, path, err, errlen);
	if (rc < 0)
		goto out;
	fd = shm_open(path, O_RDWR | O_CLOEXEC, 0);
	if (fd < 0) {
		rc = -errno;
		errbuf_set(err, errlen, rc == -ENOENT ? "table callseal.%s does not exist" :
		       "cannot open table callseal.%s", name);
		goto out;
	}
	if (fstat(fd, &st) < 0) {
		rc = -errno;
		goto out;
	}
	if (st.st_uid != geteuid()) {
		rc = check_stat(name, &st, err, errlen);
		goto out;
	}
	rc = take_lock(fd);
	if (rc == -EAGAIN || rc == -EACCES) {
		rc = busy_error(fd, name, err, errlen);
		goto out;
	}
	if (shm_unlink(path) < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot remove table callseal.%s: %s", name, strerror(-rc));
		goto out;
	}
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}
