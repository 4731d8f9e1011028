/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * legstats.c - each call's live counters from the dataplane's statistics
 * area (include/callseal/dpstats.h), and the automatic recovery from index
 * reuse (docs/calls.md, "Index reuse").
 *
 * The area /dev/shm/callseal.<table>.stats is followed with lib/dpstats'
 * dpstats_follow(): attached read-only when it appears (tried again at every
 * poll while it is absent; logged once when it appears, is replaced or goes)
 * and attached again when dpstats_stale() says its dataplane has gone or
 * been replaced. A leg's row is found by its
 * key-table entry: the entry's key and its created_ns (the instance this
 * call installed; a replace keeps it, so a row counts across rekeys).
 *
 * Every stats_poll_ms while a call is active (calls_timeout_ms() wakes the
 * daemon's loop for it, calls_handle() runs it), each active leg's OUT row
 * is read: O(active calls), memory reads and one stat(2) of the area, no
 * blocking I/O. If its index_reuse rose since the last reading, the sending
 * application reused indexes (it restarted with the same SSRC and lower
 * sequence numbers) and its packets are being refused: the call is rekeyed
 * as `call rekey` does (calls_rekey); the new OUT key starts each stream
 * with a fresh window. A reading is compared only with one of the same area,
 * the same entry instance and a counter that did not go down; anything else
 * (the first reading, a restarted dataplane, a row reassigned) is a new
 * baseline, never an increase. The storm guard: at most one recovery per
 * call within guard_ms; a rise within it (typically the packets refused
 * until the peer's acknowledgement replaced our OUT entry) is taken into the
 * baseline, and a rise after it (the application still reusing) recovers
 * again. -EBUSY (two rekeys in flight) leaves the baseline: the next poll
 * tries again.
 *
 * No key bytes are kept: every key-table entry copy is wiped at once.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "callseal/dpstats.h"
#include "errbuf.h"
#include "calls_internal.h"

void legstats_say(const struct calls *cm, const char *fmt, ...)
{
	char line[CALLS_ERR_MAX];
	va_list ap;

	if (!cm->cfg.log)
		return;
	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	cm->cfg.log(cm->cfg.event_ctx, line);
}

int legstats_init(struct calls *cm, const struct calls_config *cfg, char *err, size_t errlen)
{
	struct legstats *ls = &cm->ls;

	ls->poll_ms = cfg->stats_poll_ms ? cfg->stats_poll_ms : CALLS_STATS_POLL_MS;
	ls->guard_ms = cfg->reuse_guard_ms ? cfg->reuse_guard_ms : CALLS_REUSE_GUARD_MS;
	return dpstats_follow_init(&ls->f, cfg->stats_table, err, errlen);
}

void legstats_fini(struct calls *cm)
{
	dpstats_follow_fini(&cm->ls.f);
}

/* The area attached and current, if the dataplane has one (dpstats_follow);
 * what changed is logged. */
static void refresh(struct calls *cm)
{
	struct dpstats_follow *f = &cm->ls.f;
	char err[CALLS_ERR_MAX];

	enum dpstats_follow_event ev = dpstats_follow(f, err, sizeof(err));

	switch (ev) {
	case DPSTATS_FOLLOW_ATTACHED:
	case DPSTATS_FOLLOW_REPLACED: {
		bool replaced = ev == DPSTATS_FOLLOW_REPLACED;

		legstats_say(cm, "dataplane statistics of table %s %s (callseal-dataplane pid %u)%s",
		    f->table, replaced ? "replaced" : "attached", dpstats_header(f->area)->pid,
		    replaced ? ": its counters start again from zero" : "");
		break;
	}
	case DPSTATS_FOLLOW_GONE:
		legstats_say(cm, "dataplane statistics of table %s gone (callseal-dataplane stopped?): "
		    "no per-call counters and no recovery from index reuse until it is back",
		    f->table);
		break;
	case DPSTATS_FOLLOW_FAILED:
		legstats_say(cm, "dataplane statistics of table %s: %s", f->table, err);
		break;
	case DPSTATS_FOLLOW_QUIET:
		break;
	}
}

/* The entry instance (key, created_ns) of a leg's direction: 0, -ENOENT or
 * -EBUSY. The copy's key bytes are wiped at once. */
static int entry_instance(const struct calls *cm, const struct conn *c, unsigned int dir,
			  struct keytable_key *k, uint64_t *created_ns)
{
	struct keytable_entry e;
	int rc;

	addr_table_key(&c->local_media, dir, k);
	rc = keytable_get(cm->cfg.table, k, &e, NULL);
	*created_ns = rc == 0 ? e.created_ns : 0;
	keytable_wipe(&e, sizeof(e));
	return rc;
}

static void dir_read(const struct calls *cm, const struct conn *c, unsigned int dir,
		     struct calls_dir_stats *out)
{
	struct keytable_key k;
	struct dpstats_flow f;
	uint64_t created;

	memset(out, 0, sizeof(*out));
	if (entry_instance(cm, c, dir, &k, &created) < 0 ||
	    dpstats_read_flow(cm->ls.f.area, &k, created, &f) < 0)
		return;                                  /* no packets yet */
	out->seen = true;
	out->packets = f.packets;
	out->bytes = f.bytes;
	out->auth = f.auth;
	out->replay = f.replay;
	out->index_reuse = f.index_reuse;
	out->key_exhausted = f.key_exhausted;
	out->other_drops = f.other_drops;
	out->last_ns = f.last_ns;
}

static void dir_final(const struct calls_dir_stats *d, struct store_call_dir *o)
{
	o->seen = d->seen;
	o->packets = (int64_t)d->packets;
	o->bytes = (int64_t)d->bytes;
	o->auth = (int64_t)d->auth;
	o->replay = (int64_t)d->replay;
	o->index_reuse = (int64_t)d->index_reuse;
	o->key_exhausted = (int64_t)d->key_exhausted;
	o->other_drops = (int64_t)d->other_drops;
}

void legstats_final(struct calls *cm, const struct conn *c, struct store_call_final *fin)
{
	struct calls_dir_stats d;

	memset(fin, 0, sizeof(*fin));
	if (!c->installed_out && !c->installed_in)
		return;                                  /* never had keys */
	refresh(cm);
	if (!cm->ls.f.area) {
		fin->media = STORE_MEDIA_NONE;
		return;
	}
	fin->media = STORE_MEDIA_READ;
	if (c->installed_out) {
		dir_read(cm, c, KEYTABLE_DIR_OUT, &d);
		dir_final(&d, &fin->out);
	}
	if (c->installed_in) {
		dir_read(cm, c, KEYTABLE_DIR_IN, &d);
		dir_final(&d, &fin->in);
	}
}

int calls_leg_stats(struct calls *cm, const char *id, enum callproto_role role,
		    struct calls_leg_stats *out)
{
	const struct conn *c;

	memset(out, 0, sizeof(*out));
	if (!cm || !id || !(c = conn_find_leg(cm, id, role)))
		return -ENOENT;
	memcpy(out->table, cm->ls.f.table, sizeof(out->table));
	out->auto_rekeys = c->ls.auto_rekeys;
	refresh(cm);
	out->dataplane = cm->ls.f.area != NULL;
	if (out->dataplane && c->active) {
		dir_read(cm, c, KEYTABLE_DIR_OUT, &out->out);
		dir_read(cm, c, KEYTABLE_DIR_IN, &out->in);
	}
	return 0;
}

static bool any_active(const struct calls *cm)
{
	for (const struct conn *c = cm->conns; c; c = c->next)
		if (c->active)
			return true;
	return false;
}

uint64_t legstats_wake(const struct calls *cm, uint64_t best)
{
	if (cm->ls.f.table[0] == '\0' || cm->ls.next_ms >= best || !any_active(cm))
		return best;
	return cm->ls.next_ms;
}

/* Read c's OUT row: a rise of index_reuse since the last reading marks the
 * call due for a recovery rekey (unless the storm guard holds). */
static void look(struct calls *cm, struct conn *c, uint64_t t)
{
	struct legstats_leg *l = &c->ls;
	struct keytable_key k;
	struct dpstats_flow f;
	uint64_t created, reuse;
	int rc;

	rc = entry_instance(cm, c, KEYTABLE_DIR_OUT, &k, &created);
	if (rc == -EBUSY)
		return;                        /* being written: the next poll */
	if (rc < 0) {
		l->base_ok = false;
		return;
	}
	reuse = dpstats_read_flow(cm->ls.f.area, &k, created, &f) == 0 ? f.index_reuse : 0;
	if (!l->base_ok || l->base_epoch != cm->ls.f.epoch || l->base_created_ns != created ||
	    reuse < l->base_reuse) {
		/* the first reading, a new area (a restarted dataplane), another
		 * entry instance, or a counter that went down: a reset, a new
		 * baseline, never an increase */
		l->base_ok = true;
		l->base_epoch = cm->ls.f.epoch;
		l->base_created_ns = created;
		l->base_reuse = reuse;
		return;
	}
	if (reuse == l->base_reuse)
		return;
	if (l->recover_ms != 0 && t - l->recover_ms < cm->ls.guard_ms) {
		l->base_reuse = reuse;         /* the storm guard: taken, not acted on */
		return;
	}
	if (c->info.detached || !c->confirmed || c->fd < 0) {
		if (!l->said_detached)
			legstats_say(cm, "call %s: the application reused RTP/RTCP indexes on its outbound "
			    "stream (%" PRIu64 " packets refused as index_reuse), but the call "
			    "has no control channel to rekey over: end it and dial again",
			    c->info.id, reuse - l->base_reuse);
		l->said_detached = true;
		l->base_reuse = reuse;
		return;
	}
	l->due = true;
	l->now_reuse = reuse;
}

/* Rekey c's call as `call rekey` does. May free c (a failed rekey ends the
 * call) and, for a call with both legs here, its other leg. */
static void recover(struct calls *cm, struct conn *c, uint64_t t)
{
	char id[CALLS_ID_LEN + 1], err[CALLS_ERR_MAX];
	enum callproto_role role = c->info.role;
	uint64_t reuse = c->ls.now_reuse, rise = reuse - c->ls.base_reuse;
	struct conn *o;
	int rc;

	memcpy(id, c->info.id, sizeof(id));
	legstats_say(cm, "call %s: the application reused RTP/RTCP indexes on its outbound stream "
	    "(%" PRIu64 " packets refused as index_reuse): rekeying", id, rise);
	err[0] = '\0';
	rc = calls_rekey(cm, id, 0, err, sizeof(err));
	if (rc == -EBUSY) {
		/* the baseline stays: the next poll sees the rise and tries again */
		legstats_say(cm, "call %s: two rekeys are already in flight: the recovery is tried "
		    "again at the next poll", id);
		return;
	}
	if (!(c = conn_find_leg(cm, id, role)))
		return;                        /* the failed rekey ended the call (logged) */
	c->ls.base_reuse = reuse;
	if (rc < 0) {
		legstats_say(cm, "call %s: the automatic rekey failed: %s", id, err);
		return;
	}
	c->ls.recover_ms = t;
	c->ls.auto_rekeys++;
	/* the rekey moved the whole call: a call with both legs here guards both */
	o = conn_find_leg(cm, id, role == CALLPROTO_ROLE_INITIATOR ? CALLPROTO_ROLE_RESPONDER
								   : CALLPROTO_ROLE_INITIATOR);
	if (o) {
		o->ls.recover_ms = t;
		if (o->ls.due) {                   /* recovered by this rekey too */
			o->ls.due = false;
			o->ls.base_reuse = o->ls.now_reuse;
		}
	}
	legstats_say(cm, "call %s: rekeyed by itself for index reuse (rekey %" PRIu32 " of the "
		     "call, %" PRIu32 " automatic rekey%s of this leg)", id,
		     conn_rekeys(c),
		     c->ls.auto_rekeys, c->ls.auto_rekeys == 1 ? "" : "s");
}

void legstats_poll(struct calls *cm)
{
	struct legstats *ls = &cm->ls;
	uint64_t t = now_ms();
	struct conn *c;

	if (ls->f.table[0] == '\0' || t < ls->next_ms || !any_active(cm))
		return;
	ls->next_ms = t + ls->poll_ms;
	refresh(cm);
	if (!ls->f.area)
		return;
	for (c = cm->conns; c; c = c->next)
		if (c->active)
			look(cm, c, t);
	/* rekeys last: one may end a call and free legs; the list is walked
	 * again from its head after each (due is cleared first: this ends) */
	for (c = cm->conns; c;) {
		if (!c->ls.due) {
			c = c->next;
			continue;
		}
		c->ls.due = false;
		recover(cm, c, t);
		c = cm->conns;
	}
}
