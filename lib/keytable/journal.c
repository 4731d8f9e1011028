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

/*
 * Called with the lock held and the table mapped read-write, readers possibly
 * active. Every step is idempotent, so a writer that dies while recovering
 * leaves a journal the next one recovers from in the same way.
 */
int keytable_recover(struct keytable *t, struct keytable_recovery *rec,
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
		keytable_slot_wipe(t, j->slot);
		rec->rolled_back = 1;
		break;
	case KEYTABLE_JOP_REPLACE:
	case KEYTABLE_JOP_SCHEDULE:
		/* put the previous image back (its key never moved: in-place) */
		memcpy(&undo.e, &j->undo, sizeof(undo.e));
		if (j->slot > t->mask || undo.e.state != KEYTABLE_STATE_LIVE ||
		    keytable_check_key(&undo.e.key, NULL, 0) < 0) {
			explicit_bzero(&undo, sizeof(undo));
			goto corrupt;
		}
		keytable_slot_write(t, j->slot, &undo);
		explicit_bzero(&undo, sizeof(undo));
		rec->rolled_back = 1;
		break;
	case KEYTABLE_JOP_DELETE:
		/* finish the shift from where it stopped */
		if (j->hole > t->mask)
			goto corrupt;
		if (!(ld_rlx(&h->move_seq) & 1))
			st_rlx(&h->move_seq, ld_rlx(&h->move_seq) + 1);
		/* unbounded if every slot is LIVE (writer.c, keytable_shift_from) */
		keytable_shift_from(t, j->hole);
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
				keytable_journal_set(&j->hole, s);
				keytable_journal_set(&j->op, KEYTABLE_JOP_DELETE);
				keytable_shift_from(t, s);   /* unbounded too */
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
	keytable_journal_clear(t);
	goto out;
corrupt:
	errbuf_set(err, errlen, "table callseal.%s: its journal is damaged (op %u, slot %u, "
	       "hole %u): cannot recover; remove the table and re-create it",
	       t->name, op, j->slot, j->hole);
	rc = -EUCLEAN;
out:
	return rc;
}
