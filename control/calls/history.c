/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * history.c - the retention of the call history (docs/calls.md, "Call
 * history"): ended and failed legs stay in the store for history_s seconds,
 * then are forgotten.
 *
 * The prune runs in calls_handle() only when it is due, which the manager
 * knows without asking the store each round: when the oldest final leg left
 * reaches the retention (the store says when that leg ended), or when a leg
 * that ends now does (history_ended). Each prune is one short transaction:
 * at most CALLS_PRUNE_BATCH legs found on an index (store_call_prune), so a
 * long backlog (a retention lowered on a busy store) goes in batches
 * CALLS_PRUNE_GAP_MS apart, between which the loop serves everything else.
 */
#include <errno.h>
#include <string.h>
#include <time.h>

#include "calls_internal.h"

void history_init(struct calls *cm, unsigned int history_s)
{
	if (history_s == 0)
		history_s = CALLS_DEFAULT_HISTORY_S;
	cm->keep_ms = history_s == CALLS_HISTORY_NONE ? 0 : (uint64_t)history_s * 1000u;
	cm->prune_ms = now_ms();        /* the first round learns the oldest leg */
	cm->prune_rc = 0;
}

void history_ended(struct calls *cm)
{
	uint64_t due = now_ms() + cm->keep_ms;

	if (due < cm->prune_ms)
		cm->prune_ms = due;
}

uint64_t history_wake(const struct calls *cm, uint64_t best)
{
	return cm->prune_ms < best ? cm->prune_ms : best;
}

static int64_t unix_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_REALTIME, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void history_prune(struct calls *cm)
{
	char err[STORE_ERR_MAX];
	int64_t wall = unix_ms(), next = 0;
	uint64_t t = now_ms();
	int n;

	if (t < cm->prune_ms)
		return;
	err[0] = '\0';
	n = store_call_prune(cm->cfg.store, wall - (int64_t)cm->keep_ms, CALLS_PRUNE_BATCH, &next,
			     err, sizeof(err));
	if (n < 0) {
		if (n != cm->prune_rc)
			legstats_say(cm, "call history: pruning the ended calls failed (%s); "
				     "trying again every %u s", err, CALLS_PRUNE_RETRY_MS / 1000u);
		cm->prune_rc = n;
		cm->prune_ms = t + CALLS_PRUNE_RETRY_MS;
		return;
	}
	if (cm->prune_rc < 0)
		legstats_say(cm, "call history: pruning works again");
	cm->prune_rc = 0;
	if (n == (int)CALLS_PRUNE_BATCH)
		cm->prune_ms = t + CALLS_PRUNE_GAP_MS;     /* more may be due: soon */
	else if (next == 0)
		cm->prune_ms = UINT64_MAX;                 /* none left: history_ended */
	else if (next + (int64_t)cm->keep_ms <= wall)
		cm->prune_ms = t + CALLS_PRUNE_GAP_MS;
	else
		cm->prune_ms = t + (uint64_t)(next + (int64_t)cm->keep_ms - wall);
}
