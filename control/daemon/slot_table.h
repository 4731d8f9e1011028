/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * slot_table.h - the client slots of a server on the daemon's poll loop
 * (admin_server.c, metrics.c): a fixed number of slots, the ones in use listed
 * in live[] (in no order: the poll entries are made from it) and the free ones
 * on a stack, each taken and given back in O(1), nothing allocated.
 */
#ifndef CALLSEAL_SLOT_TABLE_H
#define CALLSEAL_SLOT_TABLE_H

#define SLOT_TABLE_MAX 128u    /* slots of one table, at most */

struct slot_table {
	unsigned int live[SLOT_TABLE_MAX];       /* slots in use, in no order */
	unsigned int pos[SLOT_TABLE_MAX];        /* a slot in use: its index in live[] */
	unsigned int free_slot[SLOT_TABLE_MAX];  /* a stack of the others */
	unsigned int n_live, n_free;
};

/* n slots (at most SLOT_TABLE_MAX), all free; slot 0 is taken first. */
static inline void slot_table_init(struct slot_table *t, unsigned int n)
{
	for (unsigned int i = 0; i < n; i++)
		t->free_slot[i] = n - 1 - i;
	t->n_free = n;
	t->n_live = 0;
}

/* A free slot, now in use (the caller checked n_free > 0). */
static inline unsigned int slot_table_take(struct slot_table *t)
{
	unsigned int slot = t->free_slot[--t->n_free];

	t->pos[slot] = t->n_live;
	t->live[t->n_live++] = slot;
	return slot;
}

/* A slot in use, free again: the last of live[] takes its place there. */
static inline void slot_table_give(struct slot_table *t, unsigned int slot)
{
	unsigned int last = t->live[--t->n_live];

	t->live[t->pos[slot]] = last;
	t->pos[last] = t->pos[slot];
	t->free_slot[t->n_free++] = slot;
}

#endif /* CALLSEAL_SLOT_TABLE_H */
