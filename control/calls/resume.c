/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * resume.c - start-up after a restart (calls_resume(), docs/calls.md,
 * "Restarts"): the previous run's active calls whose key-table entries are
 * still there become detached calls; set-ups and calls that lost their
 * entries are marked failed; entries left by a crash are deleted.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "calls_internal.h"
#include "errbuf.h"

struct live_calls {
	struct store_call *v;
	size_t n, cap;
};

static int push_live(const struct store_call *sc, void *arg)
{
	struct live_calls *l = arg;

	if (l->n == l->cap) {
		size_t cap = l->cap ? 2 * l->cap : 16;
		struct store_call *v = realloc(l->v, cap * sizeof(*v));

		if (!v)
			return -ENOMEM;
		l->v = v;
		l->cap = cap;
	}
	l->v[l->n++] = *sc;
	return 0;
}

/* The table entry at local media a, direction dir, belongs to call id. */
static bool entry_of(const struct calls *cm, const struct callproto_addr *a, unsigned int dir,
		     const char *id)
{
	struct keytable_entry e;
	struct keytable_key k;
	bool ok;

	addr_table_key(a, dir, &k);
	ok = keytable_get(cm->cfg.table, &k, &e, NULL) == 0 &&
	     memcmp(e.call_id, id, CALLS_ID_LEN) == 0;
	keytable_wipe(&e, sizeof(e));
	return ok;
}

/* One active store call becomes a detached call of cm: 0, or -ENOENT when its
 * entries are not both in the table, -ENOMEM. */
static int resume_one(struct calls *cm, const struct store_call *sc)
{
	struct conn *c;

	c = calloc(1, sizeof(*c));
	if (!c)
		return -ENOMEM;
	c->fd = -1;
	if (strlen(sc->id) != CALLS_ID_LEN || addr_parse(sc->local_media, &c->local_media,
							  false) < 0 ||
	    !entry_of(cm, &c->local_media, KEYTABLE_DIR_OUT, sc->id) ||
	    !entry_of(cm, &c->local_media, KEYTABLE_DIR_IN, sc->id)) {
		free(c);
		return -ENOENT;
	}
	c->active = c->confirmed = c->stored = c->installed_out = c->installed_in = true;
	copy_text(c->info.id, sizeof(c->info.id), sc->id);
	copy_text(c->info.local_user, sizeof(c->info.local_user), sc->local_user);
	copy_text(c->info.peer, sizeof(c->info.peer), sc->remote);
	c->info.role = sc->role == STORE_ROLE_INITIATOR ? CALLPROTO_ROLE_INITIATOR
							 : CALLPROTO_ROLE_RESPONDER;
	c->info.state = CALLS_ACTIVE;
	c->info.mode = sc->mode == STORE_MODE_E2EE ? CALLPROTO_MODE_E2EE
						    : CALLPROTO_MODE_STANDARD;
	copy_text(c->info.reason, sizeof(c->info.reason), sc->reason);
	copy_text(c->info.profile, sizeof(c->info.profile), sc->profile);
	calls_code_groups(sc->security_code, c->info.security_code);
	copy_text(c->info.local_media, sizeof(c->info.local_media), sc->local_media);
	copy_text(c->info.remote_media, sizeof(c->info.remote_media), sc->remote_media);
	c->info.detached = true;
	copy_text(c->info.detached_why, sizeof(c->info.detached_why),
		  "callseal-control restarted");
	media_hold(cm, c);
	return conn_link(cm, c);   /* no descriptor: cannot fail */
}

/* A resumed leg of call id owns the table entry keyed k (both legs of a call
 * within the tenant share the id, each on its own media address). */
static bool entry_owned(const struct calls *cm, const char *id, const struct keytable_key *k)
{
	struct keytable_key mine;

	for (const struct conn *c = cm->conns; c; c = c->next) {
		if (strcmp(c->info.id, id) != 0)
			continue;
		addr_table_key(&c->local_media, k->dir, &mine);
		if (memcmp(&mine, k, sizeof(mine)) == 0)
			return true;
	}
	return false;
}

int calls_resume(struct calls *cm, struct calls_resume_report *rep, char *err, size_t errlen)
{
	static const struct store_call_final by_daemon = { .ended_by = STORE_ENDER_DAEMON };
	struct live_calls l = { 0 };
	struct keytable_key *drop = NULL;
	struct keytable_entry e;
	struct store_call sc;
	struct keytable_info ti;
	char serr[STORE_ERR_MAX], id[CALLS_ID_LEN + 1];
	size_t i, nd = 0;
	uint32_t cur = 0;
	int rc;

	if (!cm || !rep)
		return -EINVAL;
	memset(rep, 0, sizeof(*rep));
	if ((rc = store_call_list(cm->cfg.store, true, push_live, &l, serr, sizeof(serr))) < 0) {
		errbuf_set(err, errlen, "listing the calls of the previous run: %s", serr);
		goto out;
	}
	for (i = 0; i < l.n; i++) {
		const char *why = "callseal-control restarted during the set-up";

		if (l.v[i].state == STORE_CALL_ACTIVE) {
			if ((rc = resume_one(cm, &l.v[i])) == 0) {
				rep->resumed++;
				continue;
			}
			if (rc != -ENOENT)
				goto out;
			why = "its key table entries were gone after a restart";
		}
		(void)store_call_finish_leg(cm->cfg.store, l.v[i].id, l.v[i].role,
					    STORE_CALL_FAILED, why, &by_daemon, serr, sizeof(serr));
		rep->failed++;
	}
	/* entries naming a call the store knows and no call here has: left by a
	 * daemon that stopped between the table and the store */
	keytable_info(cm->cfg.table, &ti);
	drop = calloc(ti.count ? ti.count : 1, sizeof(*drop));
	if (!drop) {
		rc = -ENOMEM;
		goto out;
	}
	while (nd < ti.count && keytable_next(cm->cfg.table, &cur, &e) == 1) {
		memcpy(id, e.call_id, CALLS_ID_LEN);
		id[CALLS_ID_LEN] = '\0';
		if (store_call_id16_ok((const char *)e.call_id) && !entry_owned(cm, id, &e.key) &&
		    store_call_get(cm->cfg.store, id, &sc, serr, sizeof(serr)) == 0)
			drop[nd++] = e.key;
		keytable_wipe(&e, sizeof(e));
	}
	for (i = 0; i < nd; i++)
		if (keytable_delete(cm->cfg.table, &drop[i]) == 0)
			rep->removed++;
	rc = 0;
out:
	free(drop);
	free(l.v);
	return rc;
}
