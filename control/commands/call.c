/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * call.c - the call commands of callseal-control (call dial, list, show, end,
 * rekey and the media features) and the call manager's event, which answers
 * a waiting dial (control/calls; docs/calls.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"

static const char *call_state_name(enum calls_state s)
{
	switch (s) {
	case CALLS_CONNECTING: return "connecting";
	case CALLS_HANDSHAKE: return "handshake";
	case CALLS_ACTIVE: return "active";
	case CALLS_ENDED: return "ended";
	case CALLS_FAILED: return "failed";
	}
	return "?";
}

static const char *call_mode_name(enum callproto_mode m)
{
	return m == CALLPROTO_MODE_E2EE ? "e2ee" : m == CALLPROTO_MODE_STANDARD ? "standard" :
	       "pending";
}

/* A waiting dial's attempt is over: its answer is queued for its client
 * (the admin server sends it, then closes the connection). */
static void dial_answer(struct ctl *c, const struct calls_info *in)
{
	struct admin_out *o = &c->dial_out;
	char msg[ADMIN_MSG_MAX];
	unsigned int i;
	int status = 0;

	/* the dial's own leg: a call between two users of this daemon has a
	 * callee leg with the same id here too */
	if (in->role != CALLPROTO_ROLE_INITIATOR)
		return;
	for (i = 0; i < DIALS_MAX; i++)
		if (c->dials[i].q != NULL && strcmp(c->dials[i].id, in->id) == 0)
			break;
	if (i == DIALS_MAX)
		return;
	admin_out_init(o, c->dials[i].q);
	if (in->state != CALLS_ACTIVE) {
		snprintf(msg, sizeof(msg), "call %s failed: %s", in->id, in->reason);
		status = ECONNREFUSED;
	} else if (c->dials[i].json) {
		bool e2ee = in->mode == CALLPROTO_MODE_E2EE;

		admin_out_printf(o, "{\"call_id\": \"%s\", \"mode\": \"%s\", \"reason\": ",
				 in->id, e2ee ? "e2ee" : "standard");
		json_str(o, in->reason);
		admin_out_printf(o, ", \"security_code\": ");
		if (e2ee)
			json_str(o, in->security_code);
		else
			admin_out_printf(o, "null");
		admin_out_printf(o, ", \"profile\": \"%s\", \"local_media\": ", in->profile);
		json_str(o, in->local_media);
		admin_out_printf(o, ", \"remote_media\": ");
		json_str(o, in->remote_media);
		admin_out_printf(o, "}\n");
		msg[0] = '\0';
	} else {
		admin_out_printf(o, "call id: %s\n", in->id);
		if (in->mode == CALLPROTO_MODE_E2EE)
			admin_out_printf(o, "mode: e2ee\nsecurity code: %s\n", in->security_code);
		else
			admin_out_printf(o, "mode: standard (%s)\n", in->reason);
		admin_out_printf(o, "profile: %s\nlocal media: %s\nremote media: %s\n",
				 in->profile, in->local_media, in->remote_media);
		snprintf(msg, sizeof(msg), "call %s active", in->id);
	}
	(void)admin_out_end(o, status, msg);   /* else closed without an answer */
	c->dials[i].q = NULL;
}

/* The manager's event: logged (never keys); a waiting dial is answered. */
void call_event(void *ctx, const struct calls_info *in)
{
	struct ctl *c = ctx;

	if (in->state == CALLS_ACTIVE && in->detached)
		logline("call %s %s %s %s: control channel lost (%s); media goes on with the "
			"installed keys, the call can be ended here", in->id, in->local_user,
			in->role == CALLPROTO_ROLE_INITIATOR ? "->" : "<-", in->peer,
			in->detached_why);
	else if (in->state == CALLS_ACTIVE)
		logline("call %s %s %s %s: active, %s (%s), profile %s, local media %s, "
			"remote media %s", in->id[0] ? in->id : "-",
			in->local_user[0] ? in->local_user : "-",
			in->role == CALLPROTO_ROLE_INITIATOR ? "->" : "<-", in->peer,
			call_mode_name(in->mode), in->reason, in->profile, in->local_media,
			in->remote_media);
	else
		logline("call %s %s %s %s: %s: %s", in->id[0] ? in->id : "-",
			in->local_user[0] ? in->local_user : "-",
			in->role == CALLPROTO_ROLE_INITIATOR ? "->" : "<-",
			in->peer[0] ? in->peer : "-", call_state_name(in->state), in->reason);
	if (in->state != CALLS_CONNECTING && in->state != CALLS_HANDSHAKE && !in->detached)
		dial_answer(c, in);
}

/* What the manager did by itself (an automatic recovery from index reuse,
 * the dataplane's statistics appearing or going): logged. */
void call_log(void *ctx, const char *line)
{
	(void)ctx;
	logline("%s", line);
}

/* The STATE column of call list: a call whose control channel is lost is
 * "active (detached)". */
static const char *list_state(const struct calls_info *in)
{
	return in->state == CALLS_ACTIVE && in->detached ? "active (detached)"
							 : call_state_name(in->state);
}

/* A key table generation as JSON: null for no entry. */
static const char *gen_json(uint64_t g, char *buf, size_t n)
{
	if (g == 0)
		snprintf(buf, n, "null");
	else
		snprintf(buf, n, "%" PRIu64, g);
	return buf;
}

/* "up", "lost (why)", or "-" before the call is active. */
static const char *control_channel(const struct calls_info *in)
{
	static char buf[CALLS_REASON_MAX + 16];

	if (in->state != CALLS_ACTIVE)
		return "-";
	if (!in->detached)
		return "up";
	snprintf(buf, sizeof(buf), "lost (%s)", in->detached_why);
	return buf;
}

/* Parse a call command (the daemon makes calls: admin_server.c checks). */
static int call_parse(struct ctl *c, int argc, const char *const argv[],
		      struct dirspec_call *d, char *msg, size_t msglen)
{
	return dirspec_parse_call(c->cmd, argc, argv, d, msg, msglen);
}

/* The "no dataplane statistics" note of a leg without an area. */
static const char *no_stats(const struct calls_leg_stats *st, char *buf, size_t n)
{
	snprintf(buf, n, "no dataplane statistics (is callseal-dataplane running on table "
		 "%.*s?)", (int)sizeof(st->table) - 1, st->table[0] ? st->table : "?");
	return buf;
}

/* One direction's counters as a JSON object, or null before its first packet. */
static void dir_json(struct admin_out *o, const struct calls_dir_stats *d, bool out)
{
	char age[24];

	if (!d->seen) {
		admin_out_printf(o, "null");
		return;
	}
	admin_out_printf(o, "{\"packets\": %" PRIu64 ", \"bytes\": %" PRIu64, d->packets,
			 d->bytes);
	if (out)
		admin_out_printf(o, ", \"index_reuse\": %" PRIu64, d->index_reuse);
	else
		admin_out_printf(o, ", \"auth\": %" PRIu64 ", \"replay\": %" PRIu64, d->auth,
				 d->replay);
	admin_out_printf(o, ", \"key_exhausted\": %" PRIu64 ", \"other_drops\": %" PRIu64
			 ", \"last_packet_age_ms\": %s}", d->key_exhausted, d->other_drops,
			 age_ms(d->last_ns, age, sizeof(age)));
}

/* call show --json: "media" (the dataplane's counters of the leg; null when
 * there are none, "media_note" says why) and "auto_rekeys". */
static void stats_json(struct admin_out *o, const struct calls_info *in,
		       const struct calls_leg_stats *st)
{
	char note[160];

	admin_out_printf(o, ", \"media\": ");
	if (in->state == CALLS_ACTIVE && st->dataplane) {
		admin_out_printf(o, "{\"out\": ");
		dir_json(o, &st->out, true);
		admin_out_printf(o, ", \"in\": ");
		dir_json(o, &st->in, false);
		admin_out_printf(o, "}");
	} else if (in->state == CALLS_ACTIVE) {
		admin_out_printf(o, "null, \"media_note\": ");
		json_str(o, no_stats(st, note, sizeof(note)));
	} else {
		admin_out_printf(o, "null");
	}
	admin_out_printf(o, ", \"auto_rekeys\": %" PRIu32, st->auto_rekeys);
}

/* The keys a live leg and an ended one share, in call show --json's order. */
struct row_view {
	const char *id, *role, *state, *local_user, *peer, *mode, *reason, *profile,
		   *security_code, *local_media, *remote_media;
};

static void row_json(struct admin_out *o, bool first, const struct row_view *v)
{
	const char *const keys[] = { "local_user", "peer", NULL, "reason", "profile",
				     "security_code", "local_media", "remote_media" };
	const char *const vals[] = { v->local_user, v->peer, NULL, v->reason, v->profile,
				     v->security_code, v->local_media, v->remote_media };

	admin_out_printf(o, "%s{\"id\": ", first ? "" : ",\n  ");
	json_str(o, v->id);
	admin_out_printf(o, ", \"role\": \"%s\", \"state\": \"%s\"", v->role, v->state);
	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		if (!keys[i]) {
			admin_out_printf(o, ", \"mode\": \"%s\"", v->mode);
			continue;
		}
		admin_out_printf(o, ", \"%s\": ", keys[i]);
		json_str(o, vals[i]);
	}
}

/* One row of call list, or call show --json's object (st: its counters;
 * NULL in call list). */
static void call_print(struct admin_out *o, const struct calls_info *in, bool json,
		       bool first, const struct calls_leg_stats *st)
{
	char go[24], gi[24];

	if (!json) {
		admin_out_printf(o, "%-16s %-10s %-17s %-16s %-32s %-9s %-23s %s\n",
				 in->id[0] ? in->id : "-",
				 in->role == CALLPROTO_ROLE_INITIATOR ? "caller" : "callee",
				 list_state(in),
				 in->local_user[0] ? in->local_user : "-",
				 in->peer[0] ? in->peer : "-", call_mode_name(in->mode),
				 in->security_code[0] ? in->security_code : "-",
				 in->reason[0] ? in->reason : "-");
		return;
	}
	row_json(o, first, &(const struct row_view){ in->id,
		 in->role == CALLPROTO_ROLE_INITIATOR ? "caller" : "callee",
		 call_state_name(in->state), in->local_user, in->peer, call_mode_name(in->mode),
		 in->reason, in->profile, in->security_code, in->local_media, in->remote_media });
	/* generation: the key table's, of the leg's two entries, as key list
	 * shows them; rekeys: the call's. A call's next keys never wait for a
	 * from-index: each sender uses them from its next packet, each receiver
	 * from the first packet that authenticates under them (docs/calls.md) */
	admin_out_printf(o, ", \"generation\": {\"out\": %s, \"in\": %s}, \"rekeys\": %" PRIu32
			 ", \"next_from_index\": null, \"next_on_auth\": true, \"detached\": %s"
			 ", \"control_channel\": ", gen_json(in->generation_out, go, sizeof(go)),
			 gen_json(in->generation_in, gi, sizeof(gi)), in->rekeys,
			 in->state == CALLS_ACTIVE && in->detached ? "true" : "false");
	json_str(o, control_channel(in));
	if (st)
		stats_json(o, in, st);
	admin_out_printf(o, "}");
}

/* ---- the call history (docs/calls.md "Call history"): ended and failed legs
 * from the store ---- */

#define CALL_HISTORY_LIST_MAX 1000u   /* call list --ended: the latest legs */

static const char *store_role(enum store_call_role r)
{
	return r == STORE_ROLE_INITIATOR ? "caller" : "callee";
}

/* Who ended it, as call show and list say it. */
static const char *ender_text(enum store_call_ender e)
{
	switch (e) {
	case STORE_ENDER_LOCAL: return "local (call end)";
	case STORE_ENDER_PEER: return "peer";
	case STORE_ENDER_DAEMON: return "daemon";
	case STORE_ENDER_NONE: break;
	}
	return "-";
}

/* unix ms as the time call show prints, "-" for 0. */
static const char *ms_time(int64_t ms, char buf[KEYSPEC_TIME_STR])
{
	if (ms <= 0) {
		snprintf(buf, KEYSPEC_TIME_STR, "-");
		return buf;
	}
	return keyspec_format_time((uint64_t)ms * 1000000u, buf);
}

/* The call's duration in ms, from its keys to its end; -1: it never had keys. */
static int64_t duration_ms(const struct store_call *h)
{
	if (h->active_ms <= 0 || h->ended_ms <= 0)
		return -1;
	return h->ended_ms > h->active_ms ? h->ended_ms - h->active_ms : 0;
}

static const char *duration_text(const struct store_call *h, char *buf, size_t n)
{
	int64_t d = duration_ms(h);

	if (d < 0)
		snprintf(buf, n, "-");
	else
		snprintf(buf, n, "%" PRId64 ".%03ds", d / 1000, (int)(d % 1000));
	return buf;
}

static void code_groups(const struct store_call *h, char out[CALLPROTO_SECURITY_CODE_LEN + 1])
{
	calls_code_groups(h->security_code, out);
}

static void hist_dir_json(struct admin_out *o, const struct store_call_dir *d, bool out)
{
	if (!d->seen) {
		admin_out_printf(o, "null");
		return;
	}
	admin_out_printf(o, "{\"packets\": %" PRId64 ", \"bytes\": %" PRId64, d->packets, d->bytes);
	if (out)
		admin_out_printf(o, ", \"index_reuse\": %" PRId64, d->index_reuse);
	else
		admin_out_printf(o, ", \"auth\": %" PRId64 ", \"replay\": %" PRId64, d->auth,
				 d->replay);
	admin_out_printf(o, ", \"key_exhausted\": %" PRId64 ", \"other_drops\": %" PRId64 "}",
			 d->key_exhausted, d->other_drops);
}

/* Why a history record has no counters. */
static const char *hist_media_note(const struct store_call *h)
{
	return h->media == STORE_MEDIA_NONE ? "no dataplane statistics when the call ended"
	       : h->active_ms <= 0 ? "the call never had keys"
	       : "not recorded (ended before this version)";
}

/* One ended or failed leg as JSON (call list --ended, call show). Never key
 * material: the store holds none. */
static void hist_json(struct admin_out *o, const struct store_call *h, bool first)
{
	char code[CALLPROTO_SECURITY_CODE_LEN + 1], t1[KEYSPEC_TIME_STR], t2[KEYSPEC_TIME_STR];
	int64_t d = duration_ms(h);

	code_groups(h, code);
	row_json(o, first, &(const struct row_view){ h->id, store_role(h->role),
		 store_call_state_name(h->state), h->local_user, h->remote,
		 store_call_mode_name(h->mode), h->reason, h->profile, code, h->local_media,
		 h->remote_media });
	admin_out_printf(o, ", \"created\": ");
	json_str(o, unix_time(h->created, t1));
	admin_out_printf(o, ", \"start\": ");
	if (h->active_ms > 0)
		json_str(o, ms_time(h->active_ms, t1));
	else
		admin_out_printf(o, "null");
	admin_out_printf(o, ", \"end\": ");
	json_str(o, ms_time(h->ended_ms, t2));
	admin_out_printf(o, ", \"start_ms\": %" PRId64 ", \"end_ms\": %" PRId64 ", \"duration_ms\": ",
			 h->active_ms, h->ended_ms);
	if (d < 0)
		admin_out_printf(o, "null");
	else
		admin_out_printf(o, "%" PRId64, d);
	admin_out_printf(o, ", \"ended_by\": ");
	if (h->ended_by == STORE_ENDER_NONE)
		admin_out_printf(o, "null");
	else
		json_str(o, store_call_ender_name(h->ended_by));
	admin_out_printf(o, ", \"end_reason\": ");
	json_str(o, h->end_reason);
	admin_out_printf(o, ", \"media\": ");
	if (h->media == STORE_MEDIA_READ) {
		admin_out_printf(o, "{\"out\": ");
		hist_dir_json(o, &h->out, true);
		admin_out_printf(o, ", \"in\": ");
		hist_dir_json(o, &h->in, false);
		admin_out_printf(o, "}");
	} else {
		admin_out_printf(o, "null, \"media_note\": ");
		json_str(o, hist_media_note(h));
	}
	admin_out_printf(o, "}");
}

static void hist_dir_text(struct admin_out *o, const char *name, const struct store_call_dir *d,
			  bool out)
{
	if (!d->seen) {
		admin_out_printf(o, "media %s: no packets\n", name);
		return;
	}
	admin_out_printf(o, "media %s: %" PRId64 " packets, %" PRId64 " bytes; dropped: ", name,
			 d->packets, d->bytes);
	if (out)
		admin_out_printf(o, "index_reuse %" PRId64, d->index_reuse);
	else
		admin_out_printf(o, "auth %" PRId64 ", replay %" PRId64, d->auth, d->replay);
	admin_out_printf(o, ", key_exhausted %" PRId64 ", other %" PRId64 "\n", d->key_exhausted,
			 d->other_drops);
}

/* `call show` of an ended or failed leg. */
static void hist_text(struct admin_out *o, const struct store_call *h)
{
	char code[CALLPROTO_SECURITY_CODE_LEN + 1], t1[KEYSPEC_TIME_STR], t2[KEYSPEC_TIME_STR];
	char dur[32];

	code_groups(h, code);
	admin_out_printf(o,
			 "call id: %s\nrole: %s\nstate: %s\nuser: %s\npeer: %s\n"
			 "mode: %s\nreason: %s\nprofile: %s\nsecurity code: %s\n"
			 "local media: %s\nremote media: %s\nstart: %s\nend: %s\nduration: %s\n"
			 "ended by: %s\nend reason: %s\n",
			 h->id, store_role(h->role), store_call_state_name(h->state), h->local_user,
			 h->remote, store_call_mode_name(h->mode), h->reason[0] ? h->reason : "-",
			 h->profile[0] ? h->profile : "-", code[0] ? code : "-",
			 h->local_media[0] ? h->local_media : "-",
			 h->remote_media[0] ? h->remote_media : "-", ms_time(h->active_ms, t1),
			 ms_time(h->ended_ms, t2), duration_text(h, dur, sizeof(dur)),
			 ender_text(h->ended_by), h->end_reason[0] ? h->end_reason : "-");
	if (h->media == STORE_MEDIA_READ) {
		hist_dir_text(o, "out", &h->out, true);
		hist_dir_text(o, "in", &h->in, false);
	} else {
		admin_out_printf(o, "media: %s\n", hist_media_note(h));
	}
}

static int push_hist(const struct store_call *h, void *arg)
{
	return rows_push(arg, h);
}

/* call list --ended: the latest ended and failed legs. */
static int list_ended(struct ctl *c, bool json, char *msg, size_t msglen)
{
	struct rows r = { .size = sizeof(struct store_call) };
	char t[KEYSPEC_TIME_STR], dur[32];
	size_t i;
	int rc;

	rc = store_call_list_final(c->store, CALL_HISTORY_LIST_MAX, push_hist, &r, msg, msglen);
	if (rc < 0) {
		free(r.v);
		return list_failed(rc, "the call history", msg, msglen);
	}
	if (json)
		admin_out_printf(&c->out, "[%s", r.n ? "\n  " : "");
	else
		admin_out_printf(&c->out, "%-16s %-6s %-6s %-16s %-32s %-8s %-24s %-12s %-16s %s\n",
				 "CALL-ID", "ROLE", "STATE", "USER", "PEER", "MODE", "END",
				 "DURATION", "ENDED-BY", "END-REASON");
	for (i = 0; i < r.n; i++) {
		const struct store_call *h = (const struct store_call *)r.v + i;

		if (json)
			hist_json(&c->out, h, i == 0);
		else
			admin_out_printf(&c->out, "%-16s %-6s %-6s %-16s %-32s %-8s %-24s %-12s "
					 "%-16s %s\n", h->id, store_role(h->role),
					 store_call_state_name(h->state), h->local_user, h->remote,
					 store_call_mode_name(h->mode), ms_time(h->ended_ms, t),
					 duration_text(h, dur, sizeof(dur)),
					 h->ended_by ? store_call_ender_name(h->ended_by) : "-",
					 h->end_reason[0] ? h->end_reason : "-");
	}
	list_end(c, json, r.n);
	if (r.n == CALL_HISTORY_LIST_MAX)
		snprintf(msg, msglen, "the %u latest ended calls shown", CALL_HISTORY_LIST_MAX);
	else
		msg[0] = '\0';
	free(r.v);
	return 0;
}

/* call show of a call that is not live here: its legs in the history. */
static int show_ended(struct ctl *c, const struct dirspec_call *d, char *msg, size_t msglen)
{
	struct store_call h[2];
	char serr[STORE_ERR_MAX];
	int n = 0, k;

	if (store_call_get_leg(c->store, d->id, STORE_ROLE_INITIATOR, &h[n], serr,
			       sizeof(serr)) == 0)
		n++;
	if (store_call_get_leg(c->store, d->id, STORE_ROLE_RESPONDER, &h[n], serr,
			       sizeof(serr)) == 0)
		n++;
	if (n == 0) {
		snprintf(msg, msglen, "no call %s (call list shows the calls, call list --ended "
			 "the history)", d->id);
		return -ENOENT;
	}
	if (n == 2 && d->json)
		admin_out_printf(&c->out, "[");
	for (k = 0; k < n; k++) {
		if (k)
			admin_out_printf(&c->out, d->json ? ", " : "\n");
		if (d->json)
			hist_json(&c->out, &h[k], true);
		else
			hist_text(&c->out, &h[k]);
	}
	if (d->json)
		admin_out_printf(&c->out, n == 2 ? "]\n" : "\n");
	msg[0] = '\0';
	return 0;
}

int cmd_call_dial(struct ctl *c, int argc, const char *const argv[], char *msg,
		  size_t msglen)
{
	struct dirspec_call d;
	char id[CALLS_ID_LEN + 1];
	unsigned int i;
	int rc;

	rc = call_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	for (i = 0; i < DIALS_MAX && c->dials[i].q != NULL; i++)
		;
	if (i == DIALS_MAX) {
		snprintf(msg, msglen, "%u call dials are already waiting for an answer", DIALS_MAX);
		return -EBUSY;
	}
	rc = calls_dial(c->calls, d.from, d.to, d.local_media, d.remote_media, id, msg, msglen);
	if (rc < 0)
		return rc;
	logline("call %s: dial from %s to %s, local media %s (by uid %u pid %d)", id, d.from,
		d.to, d.local_media ? d.local_media : "from the pool", (unsigned int)c->peer_uid,
		(int)c->peer_pid);
	/* answered by dial_answer() when the attempt is over (at the latest at
	 * --handshake-timeout); meanwhile the daemon serves other requests */
	c->dials[i].q = c->out.q;
	c->dials[i].json = d.json;
	memcpy(c->dials[i].id, id, sizeof(id));
	return DIAL_PENDING;
}

static int push_call(const struct calls_info *in, void *arg)
{
	return rows_push(arg, in);
}

static void call_header(struct admin_out *o)
{
	admin_out_printf(o, "%-16s %-10s %-17s %-16s %-32s %-9s %-23s %s\n", "CALL-ID", "ROLE",
			 "STATE", "USER", "PEER", "MODE", "SECURITY-CODE", "REASON");
}

int cmd_call_list(struct ctl *c, int argc, const char *const argv[], char *msg,
		  size_t msglen)
{
	struct rows r = { .size = sizeof(struct calls_info) };
	struct dirspec_call d;
	size_t i;
	int rc;

	rc = call_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	if (d.ended)
		return list_ended(c, d.json, msg, msglen);
	rc = calls_list(c->calls, push_call, &r);
	if (rc < 0) {
		free(r.v);
		snprintf(msg, msglen, "listing calls: %s", strerror(-rc));
		return rc;
	}
	if (d.json)
		admin_out_printf(&c->out, "[%s", r.n ? "\n  " : "");
	else
		call_header(&c->out);
	for (i = 0; i < r.n; i++)
		call_print(&c->out, (const struct calls_info *)r.v + i, d.json, i == 0, NULL);
	list_end(c, d.json, r.n);
	free(r.v);
	msg[0] = '\0';
	return 0;
}

static const char *gen_text(uint64_t g, char *buf, size_t n)
{
	snprintf(buf, n, "%" PRIu64, g);
	return buf;
}

/* `call show` text form of one leg. */
static void show_text(struct admin_out *o, const struct calls_info *in)
{
	char go[24], gi[24];

	admin_out_printf(o,
			 "call id: %s\nrole: %s\nstate: %s\nuser: %s\npeer: %s\n"
			 "mode: %s\nreason: %s\nprofile: %s\nsecurity code: %s\n"
			 "local media: %s\nremote media: %s\n"
			 "generation: out %s, in %s (the key table's, as key list shows them)\n"
			 "rekeys: %" PRIu32 "\ncontrol channel: %s\n",
			 in->id, in->role == CALLPROTO_ROLE_INITIATOR ? "caller" : "callee",
			 call_state_name(in->state), in->local_user, in->peer,
			 call_mode_name(in->mode), in->reason[0] ? in->reason : "-",
			 in->profile[0] ? in->profile : "-",
			 in->security_code[0] ? in->security_code : "-",
			 in->local_media[0] ? in->local_media : "-",
			 in->remote_media[0] ? in->remote_media : "-",
			 in->generation_out ? gen_text(in->generation_out, go, sizeof(go)) : "-",
			 in->generation_in ? gen_text(in->generation_in, gi, sizeof(gi)) : "-",
			 in->rekeys, control_channel(in));
}

/* `call show` text: one direction's counters. */
static void dir_text(struct admin_out *o, const char *name, const struct calls_dir_stats *d,
		     bool out)
{
	char age[24];

	if (!d->seen) {
		admin_out_printf(o, "media %s: no packets yet\n", name);
		return;
	}
	admin_out_printf(o, "media %s: %" PRIu64 " packets, %" PRIu64 " bytes, ", name,
			 d->packets, d->bytes);
	if (d->last_ns)
		admin_out_printf(o, "last packet %s ms ago; dropped: ",
				 age_ms(d->last_ns, age, sizeof(age)));
	else
		admin_out_printf(o, "none sent on yet; dropped: ");
	if (out)
		admin_out_printf(o, "index_reuse %" PRIu64, d->index_reuse);
	else
		admin_out_printf(o, "auth %" PRIu64 ", replay %" PRIu64, d->auth, d->replay);
	admin_out_printf(o, ", key_exhausted %" PRIu64 ", other %" PRIu64 "\n",
			 d->key_exhausted, d->other_drops);
}

/* `call show` text: the leg's live counters and its automatic rekeys. */
static void stats_text(struct admin_out *o, const struct calls_info *in,
		       const struct calls_leg_stats *st)
{
	char note[160];

	if (in->state != CALLS_ACTIVE) {
		admin_out_printf(o, "media: -\n");
	} else if (!st->dataplane) {
		admin_out_printf(o, "media: %s\n", no_stats(st, note, sizeof(note)));
	} else {
		dir_text(o, "out", &st->out, true);
		dir_text(o, "in", &st->in, false);
	}
	admin_out_printf(o, "auto rekeys: %" PRIu32 " (index reuse recovered)\n",
			 st->auto_rekeys);
}

int cmd_call_show(struct ctl *c, int argc, const char *const argv[], char *msg,
		  size_t msglen)
{
	struct dirspec_call d;
	struct calls_info legs[2];
	struct calls_leg_stats st[2];
	int rc, n = 0, k;

	rc = call_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	/* a call between two users of this daemon has both legs here: both are
	 * shown, the caller's first (docs/calls.md, "Calls within a tenant") */
	if (calls_show_leg(c->calls, d.id, CALLPROTO_ROLE_INITIATOR, &legs[n]) == 0)
		n++;
	if (calls_show_leg(c->calls, d.id, CALLPROTO_ROLE_RESPONDER, &legs[n]) == 0)
		n++;
	if (n == 0)
		return show_ended(c, &d, msg, msglen);   /* ended or failed: the history */
	for (k = 0; k < n; k++)
		if (calls_leg_stats(c->calls, d.id, legs[k].role, &st[k]) < 0)
			memset(&st[k], 0, sizeof(st[k]));
	if (d.json) {
		/* one leg: the object; both: an array of the two */
		if (n == 2)
			admin_out_printf(&c->out, "[");
		for (k = 0; k < n; k++) {
			if (k)
				admin_out_printf(&c->out, ", ");
			call_print(&c->out, &legs[k], true, true, &st[k]);
		}
		admin_out_printf(&c->out, n == 2 ? "]\n" : "\n");
	} else {
		for (k = 0; k < n; k++) {
			if (k)
				admin_out_printf(&c->out, "\n");
			show_text(&c->out, &legs[k]);
			stats_text(&c->out, &legs[k], &st[k]);
		}
	}
	msg[0] = '\0';
	return 0;
}

int cmd_call_end(struct ctl *c, int argc, const char *const argv[], char *msg,
		 size_t msglen)
{
	struct dirspec_call d;
	int rc;

	struct calls_info in;
	bool here_only;

	rc = call_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	here_only = calls_show(c->calls, d.id, &in) == 0 && in.detached;
	rc = calls_end(c->calls, d.id, msg, msglen);
	if (rc < 0)
		return rc;
	snprintf(msg, msglen, "call end %s%s", d.id, here_only ? " (this side only)" : "");
	log_change(c, msg);
	if (here_only)
		snprintf(msg, msglen, "ended call %s on this side only: its control channel "
			 "was lost, so %s keeps its keys until the call is ended there", d.id,
			 in.peer);
	else
		snprintf(msg, msglen, "ended call %s", d.id);
	if (d.json)
		json_change(c, "call end", "call_id", d.id, msg);
	return 0;
}

int cmd_call_rekey(struct ctl *c, int argc, const char *const argv[], char *msg,
		   size_t msglen)
{
	struct dirspec_call d;
	struct calls_info in;
	int rc;

	rc = call_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	/* the control plane does not see packets: current index 0 */
	rc = calls_rekey(c->calls, d.id, 0, msg, msglen);
	if (rc < 0)
		return rc;
	if (calls_show(c->calls, d.id, &in) < 0)
		memset(&in, 0, sizeof(in));
	snprintf(msg, msglen, "call rekey %s (rekey %" PRIu32 ", new keys on auth)",
		 d.id, in.rekeys);
	log_change(c, msg);
	snprintf(msg, msglen, "call %s: rekeyed (rekey %" PRIu32 " of the call): new keys "
		 "from each sender's next packet once the peer holds them, the old keys "
		 "kept for late packets", d.id, in.rekeys);
	if (d.json)
		json_change(c, "call rekey", "call_id", d.id, msg);
	return 0;
}

int cmd_call_feature(struct ctl *c, int argc, const char *const argv[], char *msg,
		     size_t msglen)
{
	const struct policy_feature *f;
	uint8_t sealed[CALLS_KEYS_SEALED_MAX];
	char b64[sodium_base64_ENCODED_LEN(CALLS_KEYS_SEALED_MAX, sodium_base64_VARIANT_ORIGINAL)];
	struct dirspec_call d;
	size_t n = 0;
	int rc;

	rc = call_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = calls_feature(c->calls, d.id, d.verb, sealed, sizeof(sealed), &n, msg, msglen);
	if (rc < 0)
		return rc;
	if (n > 0)
		sodium_bin2base64(b64, sizeof(b64), sealed, n, sodium_base64_VARIANT_ORIGINAL);
	snprintf(msg, msglen, "call %s %s", d.verb, d.id);
	log_change(c, msg);
	/* honest: allowed, and what callseal does with it (policy.h's list) */
	f = policy_feature_find(d.verb);
	snprintf(msg, msglen, "call %s: %s: %s", d.id, d.verb, f ? f->standard : "allowed");
	if (d.json) {
		admin_out_printf(&c->out, "{\"command\": \"call %s\", \"call_id\": \"%s\", ",
				 d.verb, d.id);
		if (n > 0)
			admin_out_printf(&c->out, "\"sealed_keys\": \"%s\", ", b64);
		admin_out_printf(&c->out, "\"message\": ");
		json_str(&c->out, msg);
		admin_out_printf(&c->out, "}\n");
		msg[0] = '\0';
	} else if (n > 0) {
		/* the sealed keys alone: one base64 line for the recorder */
		admin_out_printf(&c->out, "%s\n", b64);
		msg[0] = '\0';
	}
	return 0;
}
