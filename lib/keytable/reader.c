/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * reader.c - the read side: look-ups of one key, of a batch of keys (whole
 * entries or refs), reads by ref, iteration, the change counter and info.
 * Readers never store to the table (their mapping is PROT_READ); every copy
 * is a seqlock read section (keytable_internal.h) and a "not found" is
 * checked against move_seq.
 */
#include "keytable_internal.h"

#include <errno.h>
#include <string.h>

#ifdef KEYTABLE_TEST_HOOKS
void (*keytable_probe_hook)(void);
#endif

/* Probe results of read_head(). */
enum { PR_OTHER, PR_MATCH, PR_EMPTY, PR_BUSY };

#define HEAD_WORDS 8        /* line 0: seq, key, state/mode/flags, generation,
			       created_ns, next_from_index */

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
 * set), KEYTABLE_NOT_FOUND or KEYTABLE_BUSY. A probe visits at most
 * capacity + 1 slots: a table never holds more than capacity LIVE slots, so
 * a probe that finds neither kw nor an EMPTY slot in that many, with no shift
 * around it, proves the table damaged: KEYTABLE_BUSY (no usable answer).
 * Without deletes LIVE slots only become more, so a probe overlapping adds
 * cannot count more than capacity either; one overlapping a delete restarts.
 * At most ATTEMPTS_MAX * (capacity + 1) slot reads and SPIN_MAX spins. */
static unsigned int probe(const struct keytable *t, const uint64_t kw[3], uint32_t home,
			  void *out, uint64_t *seq, uint32_t *slot)
{
	unsigned int attempt;

	for (attempt = 0; attempt < ATTEMPTS_MAX; attempt++) {
		/* acquire: pairs with the release store that made move_seq
		 * even after the last shift: its slot writes are visible */
		uint64_t m0 = ld_acq(&t->hdr->move_seq), m1;
		uint32_t s = home, n;

		for (n = 0; n <= t->capacity; n++, s = (s + 1) & t->mask) {
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
		 * and even: no shift overlapped the probe, "not found" holds
		 * (or, past capacity + 1 slots, "damaged") */
		m1 = ld_rlx(&t->hdr->move_seq);
		if (m1 == m0 && !(m0 & 1))
			return n <= t->capacity ? KEYTABLE_NOT_FOUND : KEYTABLE_BUSY;
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

	/* lines 1 to 3: cur, next, call id (ABI 4: four lines per slot) */
	for (unsigned int l = 1; l < KEYTABLE_ENTRY_SIZE / KEYTABLE_CACHE_LINE; l++)
		__builtin_prefetch(p + l * KEYTABLE_CACHE_LINE, 0, 3);
}

/*
 * The batched probe shared by both bulk look-ups. Pass 1 hashes every key
 * and prefetches the head line of its home slot, so the batch's misses
 * overlap; pass 2 probes (head lines only) and, if tails is set, prefetches
 * the other lines of each slot found; pass 3 does the same for the
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

int keytable_ref_current_bulk(const struct keytable *t, const struct keytable_ref refs[],
			      unsigned int n, uint8_t current[])
{
	unsigned int i, cur = 0;

	if (n > KEYTABLE_BULK_MAX)
		return -EINVAL;
	for (i = 0; i < n; i++)
		if (refs[i].slot <= t->mask)
			prefetch_head(t, refs[i].slot);
	for (i = 0; i < n; i++) {
		current[i] = keytable_ref_current(t, &refs[i]);
		cur += current[i];
	}
	return (int)cur;
}

void keytable_prefetch_home(const struct keytable *t, uint64_t hash)
{
	prefetch_head(t, (uint32_t)hash & t->mask);
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
