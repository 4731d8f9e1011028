/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * journal.c - the recovery journal in the table's header, and recovery of
 * the operation a dead writer left in it (keytable_recover(), run by a new
 * writer at attach).
 *
 * Crash safety: the writer announces each operation in the header's journal
 * before touching a slot, and rewrites one slot at a time. A new writer rolls
 * an interrupted add/replace/schedule back (to the journal's undo image) and
 * finishes an interrupted delete (resuming the shift at the journal's hole).
 * Process death keeps every store the writer executed (a program-order
 * prefix), so only compiler order matters for the journal: release stores and
 * compiler barriers here and in writer.c provide it.
 */
#include "keytable_internal.h"
#include "errbuf.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>

/* ---- the journal ----------------------------------------------------------- */

void keytable_journal_set(uint32_t *field, uint32_t v)
{
	/* release: everything stored before (undo image, slot writes) is in
	 * program order before it, and so survives a crash before it */
	st32_rel(field, v);
	compiler_barrier();
	crash_point();
}

void keytable_journal_clear(struct keytable *t)
{
	struct keytable_journal *j = &t->hdr->journal;

	keytable_journal_set(&j->op, KEYTABLE_JOP_NONE);
	/* the undo image may hold the old key; the barrier keeps the wipe after
	 * op = NONE, so a crash never leaves an op with a wiped undo image */
	explicit_bzero(&j->undo, sizeof(j->undo));
	compiler_barrier();
}

/* Announce an in-place rewrite of a LIVE slot: copy its image to the undo
 * area, then the slot number, then the op (which arms the journal). */
void keytable_journal_undo(struct keytable *t, uint32_t op, uint32_t s,
			   const union image *old)
{
	struct keytable_journal *j = &t->hdr->journal;

	memcpy(&j->undo, &old->e, sizeof(j->undo));
	keytable_journal_set(&j->slot, s);
	keytable_journal_set(&j->op, op);
}

/* ---- recovery (a new writer after one that died) --------------------------- */

/* What one read-only pass over every slot finds. */
struct slot_scan {
	uint32_t live;      /* LIVE slots */
	uint32_t wild;      /* LIVE wildcard slots */
	uint32_t odd;       /* slots whose seq is odd (mid-write) */
};

static void scan_slots(const struct keytable *t, struct slot_scan *sc)
{
	uint32_t s;

	memset(sc, 0, sizeof(*sc));
	for (s = 0; s <= t->mask; s++) {
		const uint64_t *sw = slot_words(t, s);

		if (ld_rlx(&sw[W_SEQ]) & 1)
			sc->odd++;
		if (slot_live(sw)) {
			sc->live++;
			if (((ld_rlx(&sw[W_KEY + 2]) >> 16) & 0xff) == KEYTABLE_FAMILY_ANY)
				sc->wild++;
		}
	}
}

/* Is the key in slot s the key of image img? (A replace rewrites in place:
 * its slot holds the undo image's key at every crash point.) */
static bool same_key(const struct keytable *t, uint32_t s, const union image *img)
{
	const uint64_t *sw = slot_words(t, s);

	return key_eq(ld_rlx(&sw[W_KEY]), ld_rlx(&sw[W_KEY + 1]), ld_rlx(&sw[W_KEY + 2]),
		      &img->w[W_KEY]);
}

/*
 * Called with the lock held and the table mapped read-write, readers possibly
 * active. Every step is idempotent, so a writer that dies while recovering
 * leaves a journal the next one recovers from in the same way.
 *
 * Bounded whatever the table holds: one read-only pass over the slots refuses
 * (-EUCLEAN, nothing changed) a table with more LIVE slots than its capacity
 * (a writer never leaves that, even dying) or more than ODD_WIPE_MAX slots
 * mid-write; the journal's fields are range-checked; then at most
 * 1 + ODD_WIPE_MAX shifts (each at most slots - 1 slots, keytable_shift_from)
 * and two more passes. Recovery runs if the journal holds an operation, if
 * move_seq is odd, if a slot is odd, or if count or wild_count disagree with
 * the slots; otherwise the pass is all it costs.
 */
int keytable_recover(struct keytable *t, struct keytable_recovery *rec,
		     char *err, size_t errlen)
{
	struct keytable_header *h = t->hdr;
	struct keytable_journal *j = &h->journal;
	uint32_t op = j->op, slot = j->slot, hole = j->hole, s;
	struct slot_scan sc;
	union image undo;
	char why[96];
	bool needed;
	int rc = 0;

	rec->journal_op = op;
	scan_slots(t, &sc);
	if (sc.live > t->capacity) {
		errbuf_set(err, errlen, "table callseal.%s is damaged: %u of its %u slots are "
		       "live, more than its capacity %u (journal op %u): cannot recover; "
		       "remove the table and re-create it", t->name, sc.live, t->mask + 1,
		       t->capacity, op);
		rc = -EUCLEAN;
		goto out;
	}
	if (sc.odd > ODD_WIPE_MAX) {
		errbuf_set(err, errlen, "table callseal.%s is damaged: %u of its %u slots are "
		       "stuck mid-write (a dead writer leaves 1): cannot recover; remove the "
		       "table and re-create it", t->name, sc.odd, t->mask + 1);
		rc = -EUCLEAN;
		goto out;
	}
	needed = op != KEYTABLE_JOP_NONE || (ld_rlx(&h->move_seq) & 1) || sc.odd != 0 ||
		 sc.live != h->count || sc.wild != h->wild_count;

	switch (op) {
	case KEYTABLE_JOP_NONE:
		break;
	case KEYTABLE_JOP_ADD:
		/* the slot was empty before: empty it again */
		if (slot > t->mask)
			goto slot_range;
		keytable_slot_wipe(t, slot);
		rec->rolled_back = 1;
		break;
	case KEYTABLE_JOP_REPLACE:
	case KEYTABLE_JOP_SCHEDULE:
		/* put the previous image back (its key never moved: in-place) */
		if (slot > t->mask)
			goto slot_range;
		memcpy(&undo.e, &j->undo, sizeof(undo.e));
		if (undo.e.state != KEYTABLE_STATE_LIVE ||
		    keytable_check_key(&undo.e.key, NULL, 0) < 0) {
			snprintf(why, sizeof(why), "its undo image is not a valid live entry");
		} else if (!same_key(t, slot, &undo)) {
			snprintf(why, sizeof(why), "its undo image is not the stream slot %u "
				 "holds", slot);
		} else {
			keytable_slot_write(t, slot, &undo);
			explicit_bzero(&undo, sizeof(undo));
			rec->rolled_back = 1;
			break;
		}
		explicit_bzero(&undo, sizeof(undo));
		goto corrupt;
	case KEYTABLE_JOP_DELETE:
		/* finish the shift from where it stopped */
		if (hole > t->mask) {
			snprintf(why, sizeof(why), "hole %u is out of range, the table has %u "
				 "slots", hole, t->mask + 1);
			goto corrupt;
		}
		if (!(ld_rlx(&h->move_seq) & 1))
			st_rlx(&h->move_seq, ld_rlx(&h->move_seq) + 1);
		if (keytable_shift_from(t, hole) < 0)
			goto no_end;
		st_rel(&h->move_seq, ld_rlx(&h->move_seq) + 1);
		rec->completed = 1;
		break;
	default:
		snprintf(why, sizeof(why), "unknown op");
		goto corrupt;
	}

	if (needed) {
		/* Wipe any slot left odd outside the journal (never expected:
		 * only damage leaves one), one pass: a shift from s writes only
		 * holes, which it leaves even, so no slot becomes odd behind s. */
		for (s = 0; s <= t->mask; s++) {
			if (!(ld_rlx(&slot_words(t, s)[W_SEQ]) & 1))
				continue;
			if (!(ld_rlx(&h->move_seq) & 1))
				st_rlx(&h->move_seq, ld_rlx(&h->move_seq) + 1);
			keytable_journal_set(&j->hole, s);
			keytable_journal_set(&j->op, KEYTABLE_JOP_DELETE);
			if (keytable_shift_from(t, s) < 0)
				goto no_end;
			rec->wiped++;
		}
		if (ld_rlx(&h->move_seq) & 1)
			st_rel(&h->move_seq, ld_rlx(&h->move_seq) + 1);
		scan_slots(t, &sc);
		if (sc.live > t->capacity) {
			errbuf_set(err, errlen, "table callseal.%s holds %u entries, more than "
			       "its capacity %u: cannot recover; remove it and re-create it",
			       t->name, sc.live, t->capacity);
			rc = -EUCLEAN;
			goto out;
		}
		st32_rel(&h->count, sc.live);
		st32_rel(&h->wild_count, sc.wild);
		bump64(&h->recoveries, 1);
		bump64(&h->changes, 1);
	}
	keytable_journal_clear(t);
	goto out;
slot_range:
	snprintf(why, sizeof(why), "slot %u is out of range, the table has %u slots", slot,
		 t->mask + 1);
	goto corrupt;
no_end:
	/* not expected after the scan: at most capacity <= slots / 2 are LIVE */
	snprintf(why, sizeof(why), "no empty slot to end a shift");
corrupt:
	errbuf_set(err, errlen, "table callseal.%s: its journal is damaged (op %u, slot %u, "
	       "hole %u: %s): cannot recover; remove the table and re-create it",
	       t->name, op, slot, hole, why);
	rc = -EUCLEAN;
out:
	return rc;
}
