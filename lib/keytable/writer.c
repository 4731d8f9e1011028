/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * writer.c - the write side (one writer per table): add, replace, schedule
 * and delete, each rewriting one slot at a time under its seqlock
 * (keytable_internal.h), with backward-shift deletion under move_seq. Every
 * operation is announced in the journal first (journal.c).
 */
#include "keytable_internal.h"
#include "errbuf.h"

#include <errno.h>
#include <inttypes.h>
#include <string.h>

#ifdef KEYTABLE_TEST_HOOKS
long keytable_crash_countdown;
#endif

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

/*
 * Writer's probe: 1 with the slot holding kw in *slot, 0 with the first empty
 * slot of its probe sequence in *slot, or -EUCLEAN if capacity + 1 slots from
 * its home are all LIVE without kw (more than a table can hold: damage).
 */
static int find_slot(const struct keytable *t, const uint64_t kw[3], uint32_t *slot)
{
	uint32_t s = (uint32_t)hash_words(kw) & t->mask, n;

	for (n = 0; n <= t->capacity; n++, s = (s + 1) & t->mask) {
		const uint64_t *sw = slot_words(t, s);

		if (!slot_live(sw)) {
			*slot = s;
			return 0;
		}
		if (key_eq(ld_rlx(&sw[W_KEY]), ld_rlx(&sw[W_KEY + 1]),
			   ld_rlx(&sw[W_KEY + 2]), kw)) {
			*slot = s;
			return 1;
		}
	}
	return -EUCLEAN;
}

/* The message for find_slot()'s -EUCLEAN. */
static int damaged_probe(struct keytable *t, const struct keytable_key *k)
{
	char kb[80];

	errbuf_set(t->err, sizeof(t->err), "table callseal.%s is damaged: the %u slots from "
		   "the home of %s are all live, more than its capacity %u allows: remove "
		   "the table and re-create it", t->name, t->capacity + 1,
		   keytable_fmt_key(k, kb), t->capacity);
	return -EUCLEAN;
}

/*
 * Rewrite slot s with img (img->w[W_SEQ] is ignored): the seqlock write side.
 * If seq is already odd (a writer died here), it stays odd until the end.
 */
void keytable_slot_write(struct keytable *t, uint32_t s, const union image *img)
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
void keytable_slot_wipe(struct keytable *t, uint32_t s)
{
	static const union image zero;

	keytable_slot_write(t, s, &zero);
}

/*
 * Backward-shift deletion from hole (Knuth 6.4 Algorithm R): move each later
 * entry of the cluster whose home is not cyclically in (hole, j] into the
 * hole, then empty the last hole. The journal's hole follows each move, so a
 * crash at any point resumes here with the same result. Caller holds move_seq
 * odd.
 *
 * The cluster's end (its first slot that is not LIVE) is found first, among
 * the other slots - 1 slots: a table without one is damaged (a writer keeps
 * at most half the slots LIVE, but keytable_recover() and a table changed
 * behind the writer's back can offer any), and the shift is refused with
 * -EUCLEAN before anything moves. The shift then stops at that end: it only
 * writes to holes behind j, so the end stays EMPTY until j reaches it.
 */
int keytable_shift_from(struct keytable *t, uint32_t hole)
{
	union image img;
	uint32_t end = (hole + 1) & t->mask, j, n;

	for (n = 0; n < t->mask && slot_live(slot_words(t, end)); n++)
		end = (end + 1) & t->mask;
	if (n == t->mask)
		return -EUCLEAN;
	for (j = (hole + 1) & t->mask; j != end; j = (j + 1) & t->mask) {
		const uint64_t *sw = slot_words(t, j);

		if (((j - slot_home(t, sw)) & t->mask) >= ((j - hole) & t->mask)) {
			load_image(t, j, &img);
			keytable_slot_write(t, hole, &img);
			/* j now duplicates the hole's new content and is the
			 * hole; a crash before this store redoes the copy */
			keytable_journal_set(&t->hdr->journal.hole, j);
			hole = j;
		}
	}
	keytable_slot_wipe(t, hole);
	explicit_bzero(&img, sizeof(img));
	return 0;
}

/* What every change checks first: a writer's handle, and a well-formed key. */
static int writer_check(struct keytable *t, const struct keytable_key *k)
{
	if (t == NULL)
		return -EINVAL;
	t->err[0] = '\0';
	if (!t->writer) {
		errbuf_set(t->err, sizeof(t->err), "table callseal.%s: this handle is a "
		       "read-only reader; attach as the writer to change it", t->name);
		return -EPERM;
	}
	return keytable_check_key(k, t->err, sizeof(t->err));
}

/* The slot of stream k, which must be in the table (replace, schedule, delete). */
static int find_stream(struct keytable *t, const struct keytable_key *k, uint32_t *s)
{
	uint64_t kw[3];
	char kb[80];
	int rc;

	memcpy(kw, k, sizeof(kw));
	rc = find_slot(t, kw, s);
	if (rc == 1)
		return 0;
	if (rc < 0)
		return damaged_probe(t, k);
	errbuf_set(t->err, sizeof(t->err), "table callseal.%s has no stream %s",
	       t->name, keytable_fmt_key(k, kb));
	return -ENOENT;
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
	rc = writer_check(t, k);
	if (rc < 0)
		goto out;
	if (mode != KEYTABLE_MODE_E2EE && mode != KEYTABLE_MODE_STANDARD) {
		errbuf_set(t->err, sizeof(t->err), "bad mode %u for %s: use e2ee (1) or "
		       "standard (2)", mode, keytable_fmt_key(k, kb));
		rc = -EINVAL;
		goto out;
	}
	rc = keytable_take_master(&img.e.cur, cur, "current", t->err, sizeof(t->err));
	if (rc < 0)
		goto out;
	memcpy(kw, k, sizeof(kw));
	rc = find_slot(t, kw, &s);
	if (rc < 0) {
		rc = damaged_probe(t, k);
		goto out;
	}
	if (rc == 1) {
		errbuf_set(t->err, sizeof(t->err), "table callseal.%s already has stream %s "
		       "(use replace to rekey it)", t->name, keytable_fmt_key(k, kb));
		rc = -EEXIST;
		goto out;
	}
	if (t->hdr->count >= t->capacity) {
		errbuf_set(t->err, sizeof(t->err), "table callseal.%s is full (%u entries, "
		       "its capacity): cannot add %s", t->name, t->capacity,
		       keytable_fmt_key(k, kb));
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
	keytable_journal_set(&t->hdr->journal.slot, s);
	keytable_journal_set(&t->hdr->journal.op, KEYTABLE_JOP_ADD);
	if (k->family == KEYTABLE_FAMILY_ANY)
		bump32(&t->hdr->wild_count, 1);   /* before it becomes visible */
	keytable_slot_write(t, s, &img);
	bump32(&t->hdr->count, 1);
	bump64(&t->hdr->changes, 1);
	keytable_journal_clear(t);
	if (generation != NULL)
		*generation = gen;
	rc = 0;
out:
	explicit_bzero(&img, sizeof(img));
	return rc;
}

/* Replace (next == NULL, cur set), schedule/cancel (cur == NULL), or advance
 * (both set: cur is ignored, the scheduled next becomes current). */
static int rewrite(struct keytable *t, const struct keytable_key *k,
		   const struct keytable_master *cur, const struct keytable_master *next,
		   uint64_t from_index, bool cancel, uint64_t *generation)
{
	bool advance = cur != NULL && next != NULL;

	union image old, img;
	uint64_t gen;
	uint32_t s, op;
	char kb[80];
	int rc;

	memset(&img, 0, sizeof(img));
	memset(&old, 0, sizeof(old));
	rc = writer_check(t, k);
	if (rc < 0)
		goto out;
	if (advance) {
		rc = keytable_take_master(&img.e.next, next, "next", t->err, sizeof(t->err));
		op = KEYTABLE_JOP_REPLACE;
	} else if (cur != NULL) {
		rc = keytable_take_master(&img.e.cur, cur, "current", t->err, sizeof(t->err));
		op = KEYTABLE_JOP_REPLACE;
	} else {
		if (!cancel) {
			rc = keytable_take_master(&img.e.next, next, "next", t->err,
						  sizeof(t->err));
			if (rc == 0 && from_index > KEYTABLE_INDEX_MAX &&
			    from_index != KEYTABLE_FROM_ON_AUTH) {
				errbuf_set(t->err, sizeof(t->err), "from-index %" PRIu64 " for %s "
				       "is not a 48-bit SRTP packet index", from_index,
				       keytable_fmt_key(k, kb));
				rc = -EINVAL;
			}
		}
		op = KEYTABLE_JOP_SCHEDULE;
	}
	if (rc < 0)
		goto out;
	rc = find_stream(t, k, &s);
	if (rc < 0)
		goto out;

	load_image(t, s, &old);
	if (advance && !(old.e.flags & KEYTABLE_F_NEXT)) {
		errbuf_set(t->err, sizeof(t->err), "%s has no next key to advance to",
			   keytable_fmt_key(k, kb));
		rc = -EINVAL;
		goto out;
	}
	gen = t->hdr->generation + 1;
	if (advance) {
		/* two rekeys in flight: next is current, the old cur stays
		 * readable to the dataplane (F_PREV), the new next on auth */
		struct keytable_master m = img.e.next;

		img = old;
		img.e.cur = old.e.next;
		img.e.next = m;
		img.e.next_from_index = 0;
		img.e.flags |= KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH | KEYTABLE_F_PREV;
		explicit_bzero(&m, sizeof(m));
	} else if (cur != NULL) {
		/* rekey: the new key is current, any scheduled one is dropped */
		struct keytable_master m = img.e.cur;

		img = old;
		img.e.cur = m;
		memset(&img.e.next, 0, sizeof(img.e.next));
		img.e.next_from_index = 0;
		img.e.flags &= (uint8_t)~(KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH |
					  KEYTABLE_F_PREV);
		explicit_bzero(&m, sizeof(m));
	} else {
		struct keytable_master m = img.e.next;

		img = old;
		img.e.next = m;
		if (cancel) {
			img.e.next_from_index = 0;
			img.e.flags &= (uint8_t)~(KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH);
		} else if (from_index == KEYTABLE_FROM_ON_AUTH) {
			/* from the first packet that authenticates under it */
			img.e.next_from_index = 0;
			img.e.flags |= KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH;
		} else {
			/* RFC 3711 <From,To>: next applies From from_index on */
			img.e.next_from_index = from_index;
			img.e.flags |= KEYTABLE_F_NEXT;
			img.e.flags &= (uint8_t)~KEYTABLE_F_NEXT_ON_AUTH;
		}
		explicit_bzero(&m, sizeof(m));
	}
	img.e.generation = gen;
	img.e.updated_ns = now_ns();

	bump64(&t->hdr->generation, 1);
	keytable_journal_undo(t, op, s, &old);
	keytable_slot_write(t, s, &img);  /* old key bytes overwritten in place */
	bump64(&t->hdr->changes, 1);
	keytable_journal_clear(t);
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

int keytable_advance(struct keytable *t, const struct keytable_key *k,
		     const struct keytable_master *next, uint64_t *generation)
{
	static const struct keytable_master none;

	/* next == NULL must not mean "replace": pass an invalid master instead */
	return rewrite(t, k, &none, next ? next : &none, 0, false, generation);
}

static int delete_slot(struct keytable *t, uint32_t s, bool wild)
{
	struct keytable_header *h = t->hdr;
	int rc;

	keytable_journal_set(&h->journal.hole, s);
	keytable_journal_set(&h->journal.op, KEYTABLE_JOP_DELETE);
	/* odd for the whole shift; relaxed is enough here because every slot
	 * store of the shift is a release store that orders it first */
	st_rlx(&h->move_seq, ld_rlx(&h->move_seq) + 1);
	crash_point();
	rc = keytable_shift_from(t, s);
	/* release: a reader that acquires the even value sees the whole shift */
	st_rel(&h->move_seq, ld_rlx(&h->move_seq) + 1);
	crash_point();
	if (rc == 0) {
		bump32(&h->count, -1);
		if (wild)
			bump32(&h->wild_count, -1);   /* after it is gone */
		bump64(&h->changes, 1);
	}
	keytable_journal_clear(t);
	return rc;
}

int keytable_delete(struct keytable *t, const struct keytable_key *k)
{
	uint32_t s;
	int rc;

	rc = writer_check(t, k);
	if (rc < 0)
		goto out;
	rc = find_stream(t, k, &s);
	if (rc < 0)
		goto out;
	rc = delete_slot(t, s, k->family == KEYTABLE_FAMILY_ANY);
	if (rc < 0) {
		char kb[80];

		errbuf_set(t->err, sizeof(t->err), "table callseal.%s is damaged: no slot "
			   "after %s's is empty (all %u others are live): nothing was "
			   "deleted; remove the table and re-create it", t->name,
			   keytable_fmt_key(k, kb), t->mask);
	}
out:
	return rc;
}
