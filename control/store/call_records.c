/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * call_records.c - the call records: a call's parties, mode, profile,
 * security code, media addresses and state, from setup to its end, kept as
 * history. No keys. (The call manager itself is control/calls/calls.c.)
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "errbuf.h"
#include "store.h"
#include "store_internal.h"

/* ---- calls ------------------------------------------------------------------ */

/*
 * A record is one leg of a call, keyed by (id, role) (schema version 2): a
 * call between two users of this daemon has both legs under one id. The
 * record functions that name a leg take the key "ID/ROLE" internally
 * (leg_key); those that take only an id act on every leg of it, or read the
 * caller's leg first.
 */
#define SQL_LEG_ID   "substr(?1, 1, instr(?1, '/') - 1)"
#define SQL_LEG_ROLE "substr(?1, instr(?1, '/') + 1)"
#define SQL_CALL_EXISTS   "SELECT count(*) FROM calls WHERE id = " SQL_LEG_ID \
	" AND role = " SQL_LEG_ROLE
#define LEG_KEY_MAX  (STORE_CALL_ID_MAX + 16)

static void leg_key(char out[LEG_KEY_MAX], const char *id, enum store_call_role role)
{
	errbuf_set(out, LEG_KEY_MAX, "%s/%s", id, store_call_role_name(role));
}

static int role_from_name(const char *s, enum store_call_role *r)
{
	if (s && strcmp(s, "initiator") == 0)
		*r = STORE_ROLE_INITIATOR;
	else if (s && strcmp(s, "responder") == 0)
		*r = STORE_ROLE_RESPONDER;
	else
		return -EIO;
	return 0;
}

static int mode_from_name(const char *s, enum store_call_mode *m)
{
	if (s && strcmp(s, "pending") == 0)
		*m = STORE_MODE_PENDING;
	else if (s && strcmp(s, "e2ee") == 0)
		*m = STORE_MODE_E2EE;
	else if (s && strcmp(s, "standard") == 0)
		*m = STORE_MODE_STANDARD;
	else
		return -EIO;
	return 0;
}

static int state_from_name(const char *s, enum store_call_state *c)
{
	static const enum store_call_state all[] = { STORE_CALL_SETUP, STORE_CALL_ACTIVE,
						     STORE_CALL_ENDED, STORE_CALL_FAILED };
	size_t i;

	for (i = 0; s && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, store_call_state_name(all[i])) == 0) {
			*c = all[i];
			return 0;
		}
	return -EIO;
}

static int ender_from_name(const char *s, enum store_call_ender *e)
{
	static const enum store_call_ender all[] = { STORE_ENDER_NONE, STORE_ENDER_LOCAL,
						     STORE_ENDER_PEER, STORE_ENDER_DAEMON };

	for (size_t i = 0; s && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, store_call_ender_name(all[i])) == 0) {
			*e = all[i];
			return 0;
		}
	return -EIO;
}

/* The media column: "" (unknown), "none", "read". */
static const char *const media_names[] = {
	[STORE_MEDIA_UNKNOWN] = "", [STORE_MEDIA_NONE] = "none", [STORE_MEDIA_READ] = "read",
};

static int media_from_name(const char *s, enum store_call_media *m)
{
	for (size_t i = 0; s && i < sizeof(media_names) / sizeof(media_names[0]); i++)
		if (strcmp(s, media_names[i]) == 0) {
			*m = (enum store_call_media)i;
			return 0;
		}
	return -EIO;
}

static bool state_final(enum store_call_state s)
{
	return s == STORE_CALL_ENDED || s == STORE_CALL_FAILED;
}

static bool text_ok(const char *s, size_t cap)
{
	size_t i, n = strnlen(s, cap);

	if (n >= cap)
		return false;
	for (i = 0; i < n; i++)
		if ((unsigned char)s[i] < 0x20 || s[i] == 0x7f)
			return false;
	return true;
}

/* The mutable fields of a call, whatever the operation. */
static int check_call_fields(const struct store_call *c, char *err, size_t errlen)
{
	size_t i, n;

	if (!store_call_mode_name(c->mode)) {
		errbuf_set(err, errlen, "call mode: not one of pending, e2ee, standard");
		return -EINVAL;
	}
	if (!store_call_state_name(c->state)) {
		errbuf_set(err, errlen, "call state: not one of setup, active, ended, failed");
		return -EINVAL;
	}
	if (!text_ok(c->reason, sizeof(c->reason))) {
		errbuf_set(err, errlen, "call reason: too long, or holds control characters");
		return -EINVAL;
	}
	n = strnlen(c->profile, sizeof(c->profile));
	if (n >= sizeof(c->profile)) {
		errbuf_set(err, errlen, "call profile: too long");
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		char ch = c->profile[i];

		if (!((ch >= 'A' && ch <= 'Z') || (ch >= 'a' && ch <= 'z') ||
		      (ch >= '0' && ch <= '9') || ch == '_')) {
			errbuf_set(err, errlen, "call profile: character %zu is not one of "
			       "A-Z a-z 0-9 _", i + 1);
			return -EINVAL;
		}
	}
	n = strnlen(c->security_code, sizeof(c->security_code));
	if (n != 0 && n != STORE_SECURITY_CODE_LEN) {
		errbuf_set(err, errlen, "security code: %u digits, or none yet",
		       STORE_SECURITY_CODE_LEN);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (c->security_code[i] < '0' || c->security_code[i] > '9') {
			errbuf_set(err, errlen, "security code: %u digits, or none yet",
			       STORE_SECURITY_CODE_LEN);
			return -EINVAL;
		}
	}
	if (c->mode == STORE_MODE_E2EE && n == 0) {
		errbuf_set(err, errlen, "an end-to-end encrypted call needs its security code");
		return -EINVAL;
	}
	if (c->state == STORE_CALL_ACTIVE && (c->mode == STORE_MODE_PENDING || !c->profile[0])) {
		errbuf_set(err, errlen, "an active call needs its mode and SRTP profile");
		return -EINVAL;
	}
	if (strnlen(c->local_media, sizeof(c->local_media)) != 0 &&
	    store_address_check(c->local_media, err, errlen) < 0) {
		store_adderr(err, errlen, " (local media)");
		return -EINVAL;
	}
	if (strnlen(c->remote_media, sizeof(c->remote_media)) != 0 &&
	    store_address_check(c->remote_media, err, errlen) < 0) {
		store_adderr(err, errlen, " (remote media)");
		return -EINVAL;
	}
	return 0;
}

int store_call_add(struct store *st, const struct store_call *c, char *err, size_t errlen)
{
	char key[LEG_KEY_MAX];
	int rc;

	if (!st || !c)
		return -EINVAL;
	if ((rc = store_check_call_id(c->id, err, errlen)) < 0 ||
	    (rc = store_check_name("user", c->local_user, err, errlen)) < 0 ||
	    (rc = store_peer_id_parse(c->remote, NULL, NULL, err, errlen)) < 0 ||
	    (rc = check_call_fields(c, err, errlen)) < 0)
		return rc;
	if (!store_call_role_name(c->role)) {
		errbuf_set(err, errlen, "call role: not one of initiator, responder");
		return -EINVAL;
	}
	if (state_final(c->state)) {
		errbuf_set(err, errlen, "a new call is in setup or active");
		return -EINVAL;
	}
	if ((rc = store_begin_record(st, err, errlen)) < 0)
		return rc;
	if ((rc = store_need_user(st, c->local_user, err, errlen)) < 0)
		goto out;
	/* the primary key (id, role) refuses a second record of the leg */
	rc = store_run(st, err, errlen, "INSERT INTO calls (id, local_user, remote, role, mode, reason, "
		       "profile, security_code, local_media, remote_media, state, created, ended, "
		       "active_ms) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, ?9, ?10, ?11, ?12, 0, "
		       "CASE WHEN ?11 = 'active' THEN ?13 ELSE 0 END)",
		       "sssssssssssii", c->id, c->local_user, c->remote,
		       store_call_role_name(c->role), store_call_mode_name(c->mode), c->reason,
		       c->profile, c->security_code, c->local_media, c->remote_media,
		       store_call_state_name(c->state), store_now(), store_now_ms());
	if (rc < 0) {
		leg_key(key, c->id, c->role);
		if (store_exists(st, SQL_CALL_EXISTS, key, NULL, 0) > 0) {
			errbuf_set(err, errlen, "call '%s' already has its %s leg", c->id,
				   store_call_role_name(c->role));
			rc = -EEXIST;
		}
	}
out:
	return store_finish(st, rc, err, errlen);
}

#define SQL_CALL_ROW \
	"SELECT id, local_user, remote, role, mode, reason, profile, security_code, " \
	"local_media, remote_media, state, created, ended, end_reason, ended_by, active_ms, " \
	"ended_ms, media, out_packets, out_bytes, out_index_reuse, out_key_exhausted, " \
	"out_other_drops, in_packets, in_bytes, in_auth, in_replay, in_key_exhausted, " \
	"in_other_drops FROM calls"
#define COL_OUT 18   /* out_packets: the first counter */

/* A counter column: its value, and whether it is NULL (never counted). */
static int64_t col_count(sqlite3_stmt *s, int i, bool *null)
{
	*null = sqlite3_column_type(s, i) == SQLITE_NULL;
	return *null ? 0 : sqlite3_column_int64(s, i);
}

static void dir_row(sqlite3_stmt *s, int i, bool out, struct store_call_dir *d)
{
	bool null;

	d->packets = col_count(s, i, &null);
	d->seen = !null;
	d->bytes = col_count(s, i + 1, &null);
	if (out) {
		d->index_reuse = col_count(s, i + 2, &null);
	} else {
		d->auth = col_count(s, i + 2, &null);
		d->replay = col_count(s, i + 3, &null);
		i++;
	}
	d->key_exhausted = col_count(s, i + 3, &null);
	d->other_drops = col_count(s, i + 4, &null);
}

static int call_row(sqlite3_stmt *s, void *rec)
{
	struct store_call *c = rec;
	char t[16];

	memset(c, 0, sizeof(*c));
	store_col_text(s, 0, c->id, sizeof(c->id));
	store_col_text(s, 1, c->local_user, sizeof(c->local_user));
	store_col_text(s, 2, c->remote, sizeof(c->remote));
	store_col_text(s, 3, t, sizeof(t));
	if (role_from_name(t, &c->role) < 0)
		return -EIO;
	store_col_text(s, 4, t, sizeof(t));
	if (mode_from_name(t, &c->mode) < 0)
		return -EIO;
	store_col_text(s, 5, c->reason, sizeof(c->reason));
	store_col_text(s, 6, c->profile, sizeof(c->profile));
	store_col_text(s, 7, c->security_code, sizeof(c->security_code));
	store_col_text(s, 8, c->local_media, sizeof(c->local_media));
	store_col_text(s, 9, c->remote_media, sizeof(c->remote_media));
	store_col_text(s, 10, t, sizeof(t));
	if (state_from_name(t, &c->state) < 0)
		return -EIO;
	c->created = sqlite3_column_int64(s, 11);
	c->ended = sqlite3_column_int64(s, 12);
	store_col_text(s, 13, c->end_reason, sizeof(c->end_reason));
	store_col_text(s, 14, t, sizeof(t));
	if (ender_from_name(t, &c->ended_by) < 0)
		return -EIO;
	c->active_ms = sqlite3_column_int64(s, 15);
	c->ended_ms = sqlite3_column_int64(s, 16);
	store_col_text(s, 17, t, sizeof(t));
	if (media_from_name(t, &c->media) < 0)
		return -EIO;
	dir_row(s, COL_OUT, true, &c->out);
	dir_row(s, COL_OUT + 5, false, &c->in);
	return 0;
}

static const struct rec_kind call_kind = {
	.type = REC_CALL, .what = "call", .damaged = "stored record is damaged",
	/* the caller's leg first ('initiator' < 'responder') */
	.by_key = SQL_CALL_ROW " WHERE id = ?1 ORDER BY role LIMIT 1",
	.decode = call_row, .name_off = offsetof(struct store_call, id),
};

static const struct rec_kind leg_kind = {
	.type = REC_CALL, .what = "call leg", .damaged = "stored record is damaged",
	.by_key = SQL_CALL_ROW " WHERE id = " SQL_LEG_ID " AND role = " SQL_LEG_ROLE,
	.decode = call_row, .name_off = offsetof(struct store_call, id),
};

/* Leg role of call id (role 0: the caller's leg if there is one, else the
 * callee's): 0, -ENOENT or -errno. Inside or outside a transaction. */
static int show_leg(struct store *st, const char *id, enum store_call_role role,
		    struct store_call *out, char *err, size_t errlen)
{
	char key[LEG_KEY_MAX];

	if (!role)
		return store_show_rec(st, &call_kind, id, out, err, errlen);
	if (!store_call_role_name(role)) {
		errbuf_set(err, errlen, "call role: not one of initiator, responder");
		return -EINVAL;
	}
	leg_key(key, id, role);
	return store_show_rec(st, &leg_kind, key, out, err, errlen);
}

#define SQL_UPDATE_CALL "UPDATE calls SET mode = ?2, reason = ?3, profile = ?4, " \
	"security_code = ?5, local_media = ?6, remote_media = ?7, state = ?8, " \
	"ended = ?9, ended_ms = CASE WHEN ?9 <> 0 THEN ?11 ELSE 0 END, " \
	"end_reason = CASE WHEN ?9 <> 0 THEN ?3 ELSE '' END, active_ms = CASE WHEN " \
	"?8 = 'active' AND active_ms = 0 THEN ?11 ELSE active_ms END " \
	"WHERE id = ?1 AND role = ?10"
/* the same, only on a live leg that does not go back from active to setup */
#define SQL_LIVE_LEG SQL_UPDATE_CALL " AND state IN ('setup', 'active') AND " \
	"NOT (state = 'active' AND ?8 = 'setup')"

/* One of the two updates for leg role of c: rows changed (0 or 1), or -errno. */
static int run_update(struct store *st, const struct store_call *c, const char *role,
		      const char *sql, char *err, size_t errlen)
{
	return store_run(st, err, errlen, sql, "ssssssssisi", c->id,
			 store_call_mode_name(c->mode), c->reason, c->profile, c->security_code,
			 c->local_media, c->remote_media, store_call_state_name(c->state),
			 state_final(c->state) ? store_now() : (int64_t)0, role, store_now_ms());
}

int store_call_update(struct store *st, const struct store_call *c, char *err, size_t errlen)
{
	struct store_call old;
	int rc;

	if (!st || !c)
		return -EINVAL;
	if ((rc = store_check_call_id(c->id, err, errlen)) < 0 ||
	    (rc = check_call_fields(c, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin_record(st, err, errlen)) < 0)
		return rc;
	/* the call path (a role given): one UPDATE of the live leg, which may
	 * not go back from active to setup; why nothing changed is looked up
	 * only then */
	if (c->role && (rc = run_update(st, c, store_call_role_name(c->role), SQL_LIVE_LEG,
					err, errlen)) != 0)
		goto out;
	if ((rc = show_leg(st, c->id, c->role, &old, err, errlen)) < 0)
		goto out;
	if (state_final(old.state)) {
		errbuf_set(err, errlen, "call '%s' is already %s", c->id,
		       store_call_state_name(old.state));
		rc = -EALREADY;
		goto out;
	}
	if (old.state == STORE_CALL_ACTIVE && c->state == STORE_CALL_SETUP) {
		errbuf_set(err, errlen, "call '%s' is active: it cannot go back to setup", c->id);
		rc = -EINVAL;
		goto out;
	}
	rc = run_update(st, c, store_call_role_name(old.role), SQL_UPDATE_CALL, err, errlen);
out:
	return store_finish(st, rc, err, errlen);
}

/* A counter to bind: -1 (NULL in the row: nullif) when never counted. */
static int64_t dir_val(const struct store_call_final *f, bool out, int64_t v)
{
	return f && f->media == STORE_MEDIA_READ && (out ? f->out.seen : f->in.seen) ? v : -1;
}

#define SQL_FINISH "UPDATE calls SET state = ?2, end_reason = coalesce(?3, ''), ended = ?4, " \
	"ended_ms = ?5, ended_by = ?6, media = ?7, out_packets = nullif(?8, -1), " \
	"out_bytes = nullif(?9, -1), out_index_reuse = nullif(?10, -1), " \
	"out_key_exhausted = nullif(?11, -1), out_other_drops = nullif(?12, -1), " \
	"in_packets = nullif(?13, -1), in_bytes = nullif(?14, -1), in_auth = nullif(?15, -1), " \
	"in_replay = nullif(?16, -1), in_key_exhausted = nullif(?17, -1), " \
	"in_other_drops = nullif(?18, -1) WHERE id = ?1 AND (?19 IS NULL OR role = ?19) AND " \
	"state IN ('setup', 'active')"

int store_call_finish_leg(struct store *st, const char *id, enum store_call_role role,
			  enum store_call_state state, const char *reason,
			  const struct store_call_final *fin, char *err, size_t errlen)
{
	const struct store_call_dir *o = fin ? &fin->out : NULL, *i = fin ? &fin->in : NULL;
	struct store_call c;
	int rc;

	if (!st)
		return -EINVAL;
	if (!state_final(state)) {
		errbuf_set(err, errlen, "call end: the state is ended or failed");
		return -EINVAL;
	}
	if ((rc = store_check_call_id(id, err, errlen)) < 0)
		return rc;
	if (reason && !text_ok(reason, sizeof(c.reason))) {
		errbuf_set(err, errlen, "call reason: too long, or holds control characters");
		return -EINVAL;
	}
	if (fin && (!store_call_ender_name(fin->ended_by) ||
		    (unsigned int)fin->media >= sizeof(media_names) / sizeof(media_names[0]))) {
		errbuf_set(err, errlen, "call end: who ended it, or its media state, is unknown");
		return -EINVAL;
	}
	if (role && !store_call_role_name(role)) {
		errbuf_set(err, errlen, "call role: not one of initiator, responder");
		return -EINVAL;
	}
	if ((rc = store_begin_record(st, err, errlen)) < 0)
		return rc;
	/* the UPDATE moves only live legs; why it moved none is looked up only
	 * then (no such leg, or already final) */
	rc = store_run(st, err, errlen, SQL_FINISH, "sssiiss" "iiiii" "iiiiii" "s", id,
		       store_call_state_name(state), reason, store_now(), store_now_ms(),
		       store_call_ender_name(fin ? fin->ended_by : STORE_ENDER_NONE),
		       media_names[fin ? fin->media : STORE_MEDIA_UNKNOWN],
		       dir_val(fin, true, o ? o->packets : 0), dir_val(fin, true, o ? o->bytes : 0),
		       dir_val(fin, true, o ? o->index_reuse : 0),
		       dir_val(fin, true, o ? o->key_exhausted : 0),
		       dir_val(fin, true, o ? o->other_drops : 0),
		       dir_val(fin, false, i ? i->packets : 0), dir_val(fin, false, i ? i->bytes : 0),
		       dir_val(fin, false, i ? i->auth : 0), dir_val(fin, false, i ? i->replay : 0),
		       dir_val(fin, false, i ? i->key_exhausted : 0),
		       dir_val(fin, false, i ? i->other_drops : 0),
		       role ? store_call_role_name(role) : NULL);
	if (rc == 0 && (rc = show_leg(st, id, role, &c, err, errlen)) == 0) {
		errbuf_set(err, errlen, "call '%s' is already %s", id, store_call_state_name(c.state));
		rc = -EALREADY;
	}
	return store_finish(st, rc, err, errlen);
}

int store_call_end_leg(struct store *st, const char *id, enum store_call_role role,
		       enum store_call_state state, const char *reason, char *err, size_t errlen)
{
	return store_call_finish_leg(st, id, role, state, reason, NULL, err, errlen);
}

int store_call_end(struct store *st, const char *id, enum store_call_state state,
		   const char *reason, char *err, size_t errlen)
{
	return store_call_end_leg(st, id, 0, state, reason, err, errlen);
}

int store_call_get(struct store *st, const char *id, struct store_call *out,
		   char *err, size_t errlen)
{
	int rc;

	if (!st || !out)
		return -EINVAL;
	if ((rc = store_check_call_id(id, err, errlen)) < 0)
		return rc;
	return store_show_rec(st, &call_kind, id, out, err, errlen);
}

int store_call_get_leg(struct store *st, const char *id, enum store_call_role role,
		       struct store_call *out, char *err, size_t errlen)
{
	int rc;

	if (!st || !out)
		return -EINVAL;
	if ((rc = store_check_call_id(id, err, errlen)) < 0)
		return rc;
	return show_leg(st, id, role, out, err, errlen);
}

/* Every call row sql (SQL_CALL_ROW ..., one integer parameter v) selects, to fn. */
static int list_calls(struct store *st, const char *sql, int64_t v, store_call_fn fn,
		      void *arg, char *err, size_t errlen)
{
	struct store_call c;
	sqlite3_stmt *s;
	int rc;

	if (!st || !fn)
		return -EINVAL;
	rc = store_qprep(st, &s, err, errlen, sql, "i", v);
	if (rc < 0)
		return rc;
	return store_list_recs(st, s, &call_kind, &c, (union rec_fn){ .call = fn }, arg, err, errlen);
}

int store_call_list(struct store *st, bool live_only, store_call_fn fn, void *arg,
		    char *err, size_t errlen)
{
	return list_calls(st, SQL_CALL_ROW " WHERE ?1 = 0 OR state IN ('setup', 'active') "
			  "ORDER BY created, id, role", live_only ? 1 : 0, fn, arg, err, errlen);
}

int store_call_del(struct store *st, const char *id, char *err, size_t errlen)
{
	struct store_call c;
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_check_call_id(id, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	if ((rc = store_show_rec(st, &call_kind, id, &c, err, errlen)) < 0)
		goto out;
	/* every leg of it, all final */
	if ((rc = (int)store_qint(st, err, errlen, "SELECT count(*) FROM calls WHERE id = ?1 AND "
				  "state IN ('setup', 'active')", "s", id)) != 0) {
		if (rc > 0) {
			errbuf_set(err, errlen, "call '%s' is live: end it first", id);
			rc = -EBUSY;
		}
		goto out;
	}
	rc = store_run(st, err, errlen, "DELETE FROM calls WHERE id = ?1", "s", id);
out:
	return store_finish(st, rc, err, errlen);
}

int store_call_list_final(struct store *st, unsigned int max, store_call_fn fn, void *arg,
			  char *err, size_t errlen)
{
	/* calls_final (a partial index) read backwards: max rows, no sort */
	return list_calls(st, SQL_CALL_ROW " INDEXED BY calls_final WHERE state IN "
			  "('ended', 'failed') ORDER BY ended_ms DESC LIMIT ?1", max, fn, arg,
			  err, errlen);
}

int store_call_prune(struct store *st, int64_t before_ms, unsigned int max, int64_t *next_ms,
		     char *err, size_t errlen)
{
	int64_t next;
	int rc, n;

	if (!st)
		return -EINVAL;
	if ((rc = store_begin_record(st, err, errlen)) < 0)
		return rc;
	/* at most max rows, found on calls_final (oldest end first); INDEXED BY:
	 * a plan without the index is refused at prepare, never a table scan */
	rc = store_run(st, err, errlen, "DELETE FROM calls WHERE rowid IN (SELECT rowid FROM calls "
		       "INDEXED BY calls_final WHERE state IN ('ended', 'failed') AND ended_ms <= ?1 "
		       "ORDER BY ended_ms LIMIT ?2)", "ii", before_ms, (int64_t)max);
	n = rc;
	if (rc >= 0) {
		next = store_qint(st, err, errlen, "SELECT coalesce(min(ended_ms), 0) FROM calls "
				  "INDEXED BY calls_final WHERE state IN ('ended', 'failed')", "");
		if (next < 0)
			rc = (int)next;
		else if (next_ms)
			*next_ms = next;
	}
	rc = store_finish(st, rc, err, errlen);
	return rc < 0 ? rc : n;
}
