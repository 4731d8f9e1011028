/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control.c - callseal-control: the control daemon. The single writer of the
 * shared-memory key table, serving static keying over the admin socket, and,
 * with --tenant, the tenant's users (X25519 identities), groups, E2EE policies
 * and peers, kept in the store (store.c) in the state directory
 * (docs/operations.md, docs/policy.md), and, with --listen, calls: the call
 * manager (calls.c, docs/calls.md) runs in the same poll loop. Each admin
 * command is one row of commands[].
 *
 * One request at a time, from a poll loop; every read and write on a client
 * is bounded by ADMIN_TIMEOUT_MS, so a slow or silent client cannot wedge the
 * daemon. A call dial keeps its client's connection and is answered from the
 * call event when the attempt is over (dial_answer()), so the daemon serves
 * other requests and calls meanwhile. Key bytes live only in sodium_malloc'd (locked, guarded) scratch
 * that is wiped after every request, and never reach a log line or a reply.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "admin.h"
#include "calls.h"
#include "dirspec.h"
#include "keyspec.h"
#include "callseal/keytable.h"
#include "store.h"

#define PROG             "callseal-control"
#define DEFAULT_CAPACITY 262144u   /* 2^19 slots x 192 B = 96 MiB of /dev/shm */
#define DEFAULT_MEDIA_POOL "127.0.0.1:20000-29999"
#define POLL_FDS_MIN     64u        /* the poll array's first size; it grows */
#define DIALS_MAX        64u        /* call dials waiting for an answer at once */
#define DIAL_PENDING     (-EINPROGRESS) /* a command's "the answer comes later" */

/* Everything that may hold key bytes while a request is served: one
 * sodium_malloc'd block (mlocked, guard pages, not in core dumps), wiped
 * after every request and freed (wiped again) at exit. */
struct scratch {
	struct admin_request req;
	struct keyspec_cmd cmd;
	struct keytable_master m;
	struct keytable_entry e;
};

struct ctl {
	const char *table_name;
	const char *admin_path;
	const char *tenant;       /* --tenant: NULL when no store is open */
	struct store *store;      /* users, groups, policies, peers (store.c) */
	struct keytable *table;
	struct scratch *s;
	struct admin_out out;     /* reply buffer (never holds key bytes) */
	ino_t admin_ino;
	int listen_fd;
	int sig_fd;
	/* calls (--listen): the manager, its options, the dial being waited for */
	struct calls *calls;
	const char *call_listen;
	const char *media_pool;
	unsigned int handshake_timeout_ms;
	bool tofu;
	bool end_calls_on_exit;
	bool has_recorder;
	uint8_t recorder[CALLS_RECORDER_KEY_LEN];   /* public: crypto_box_seal */
	/* call dials waiting for their result: the admin connection stays open
	 * and is answered from the call event, while other requests are served */
	struct pending_dial {
		int fd;                      /* -1 = free */
		bool json;                   /* answer as a JSON object */
		char id[CALLS_ID_LEN + 1];
	} dials[DIALS_MAX];
	struct admin_out dial_out;       /* the reply of a finished dial */
	/* signal fd, admin socket, then the call manager's descriptors (one per
	 * call with a control channel, plus its listen socket): grown as needed */
	struct pollfd *fds;
	size_t fds_cap;
	/* the client of the request being served */
	pid_t peer_pid;
	uid_t peer_uid;
};

/* A handler: argv holds the words after the command's name. Output goes to
 * out; msg gets the reply's one-line message. 0 or a negative errno. */
typedef int (*command_fn)(struct ctl *c, int argc, const char *const argv[],
			  char *msg, size_t msglen);

struct command {
	const char *group;      /* first word ("key") */
	const char *name;       /* second word ("add"), or NULL for one-word commands */
	command_fn fn;
	bool changes;           /* changes state: refusals are logged too */
	const char *synopsis;
};

__attribute__((format(printf, 1, 2)))
static void logline(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", line);
}

/* ---- key commands ------------------------------------------------------------ */

static const char *call_id_text(const struct keyspec_cmd *cmd, char buf[KEYSPEC_CALL_ID_STR])
{
	if (!cmd->has_call_id)
		return "-";
	return keyspec_format_call_id(cmd->call_id, buf);
}

static int cmd_key_add(struct ctl *c, int argc, const char *const argv[], char *msg,
		       size_t msglen)
{
	struct scratch *s = c->s;
	char kb[KEYSPEC_KEY_STR], cb[KEYSPEC_CALL_ID_STR];
	uint64_t gen = 0;
	int rc;

	rc = keyspec_parse_cmd(KEYSPEC_OP_ADD, argc, argv, &s->cmd, msg, msglen);
	if (rc < 0)
		goto out;
	rc = keyspec_cmd_master(&s->cmd, s->cmd.profile, &s->m, msg, msglen);
	if (rc < 0)
		goto out;
	keyspec_format_key(&s->cmd.key, kb);
	rc = keytable_add(c->table, &s->cmd.key, s->cmd.mode, &s->m, s->cmd.call_id, &gen);
	if (rc == -EEXIST) {
		snprintf(msg, msglen, "stream %s is already in table callseal.%s (key rekey "
			 "changes its key, key del removes it)", kb, c->table_name);
		goto out;
	} else if (rc < 0) {
		snprintf(msg, msglen, "%s", keytable_last_error(c->table));
		goto out;
	}
	snprintf(msg, msglen, "added %s (%s, %s, generation %" PRIu64 ")", kb,
		 keyspec_profile_name(s->cmd.profile), keyspec_mode_name(s->cmd.mode), gen);
	logline("key add %s profile %s mode %s call-id %s generation %" PRIu64
		" (by uid %u pid %d)", kb, keyspec_profile_name(s->cmd.profile),
		keyspec_mode_name(s->cmd.mode), call_id_text(&s->cmd, cb), gen,
		(unsigned int)c->peer_uid, (int)c->peer_pid);
out:
	keyspec_cmd_wipe(&s->cmd);
	keytable_wipe(&s->m, sizeof(s->m));
	return rc;
}

static int cmd_key_rekey(struct ctl *c, int argc, const char *const argv[], char *msg,
			 size_t msglen)
{
	struct scratch *s = c->s;
	char kb[KEYSPEC_KEY_STR];
	unsigned int profile;
	uint64_t gen = 0;
	int rc;

	rc = keyspec_parse_cmd(KEYSPEC_OP_REKEY, argc, argv, &s->cmd, msg, msglen);
	if (rc < 0)
		goto out;
	keyspec_format_key(&s->cmd.key, kb);
	rc = keytable_get(c->table, &s->cmd.key, &s->e, NULL);
	if (rc < 0) {
		snprintf(msg, msglen, rc == -ENOENT ? "no stream %s in table callseal.%s "
			 "(key add it first)" : "stream %s in table callseal.%s is busy",
			 kb, c->table_name);
		goto out;
	}
	/* without --profile the stream keeps its profile */
	profile = s->cmd.profile != 0 ? s->cmd.profile : s->e.cur.profile;
	keytable_wipe(&s->e, sizeof(s->e));
	rc = keyspec_cmd_master(&s->cmd, profile, &s->m, msg, msglen);
	if (rc < 0) {
		if (s->cmd.profile == 0) {
			size_t n = strlen(msg);

			snprintf(msg + n, msglen - n, " (the stream's profile; --profile "
				 "changes it)");
		}
		goto out;
	}
	if (s->cmd.has_from_index)
		rc = keytable_schedule(c->table, &s->cmd.key, &s->m, s->cmd.from_index, &gen);
	else
		rc = keytable_replace(c->table, &s->cmd.key, &s->m, &gen);
	if (rc < 0) {
		snprintf(msg, msglen, "%s", keytable_last_error(c->table));
		goto out;
	}
	if (s->cmd.has_from_index) {
		snprintf(msg, msglen, "scheduled a new %s key for %s from packet index %"
			 PRIu64 " (generation %" PRIu64 ")", keyspec_profile_name(profile),
			 kb, s->cmd.from_index, gen);
		logline("key rekey %s profile %s from-index %" PRIu64 " generation %" PRIu64
			" (by uid %u pid %d)", kb, keyspec_profile_name(profile),
			s->cmd.from_index, gen, (unsigned int)c->peer_uid, (int)c->peer_pid);
	} else {
		snprintf(msg, msglen, "rekeyed %s (%s, generation %" PRIu64 ")", kb,
			 keyspec_profile_name(profile), gen);
		logline("key rekey %s profile %s now generation %" PRIu64 " (by uid %u pid %d)",
			kb, keyspec_profile_name(profile), gen, (unsigned int)c->peer_uid,
			(int)c->peer_pid);
	}
out:
	keyspec_cmd_wipe(&s->cmd);
	keytable_wipe(&s->m, sizeof(s->m));
	keytable_wipe(&s->e, sizeof(s->e));
	return rc;
}

static int cmd_key_del(struct ctl *c, int argc, const char *const argv[], char *msg,
		       size_t msglen)
{
	struct scratch *s = c->s;
	char kb[KEYSPEC_KEY_STR];
	int rc;

	rc = keyspec_parse_cmd(KEYSPEC_OP_DEL, argc, argv, &s->cmd, msg, msglen);
	if (rc < 0)
		goto out;
	keyspec_format_key(&s->cmd.key, kb);
	rc = keytable_delete(c->table, &s->cmd.key);
	if (rc < 0) {
		if (rc == -ENOENT)
			snprintf(msg, msglen, "no stream %s in table callseal.%s", kb,
				 c->table_name);
		else
			snprintf(msg, msglen, "%s", keytable_last_error(c->table));
		goto out;
	}
	snprintf(msg, msglen, "deleted %s", kb);
	logline("key del %s (by uid %u pid %d)", kb, (unsigned int)c->peer_uid,
		(int)c->peer_pid);
out:
	keyspec_cmd_wipe(&s->cmd);
	return rc;
}

static void list_entry(struct admin_out *o, const struct keytable_entry *e, bool json,
		       bool first)
{
	char lb[KEYSPEC_LOCAL_STR], cb[KEYSPEC_CALL_ID_STR], tb[KEYSPEC_TIME_STR];
	char ub[KEYSPEC_TIME_STR], nb[24];
	bool next = (e->flags & KEYTABLE_F_NEXT) != 0;

	keyspec_format_local(&e->key, lb);
	keyspec_format_call_id(e->call_id, cb);
	keyspec_format_time(e->created_ns, tb);
	keyspec_format_time(e->updated_ns, ub);
	if (!json) {
		snprintf(nb, sizeof(nb), next ? "%" PRIu64 : "-", e->next_from_index);
		admin_out_printf(o, "%-24s %-4s %-17s %-9s %6" PRIu64 " %-16s %-16s %s\n",
				 lb, keyspec_direction_name(e->key.dir),
				 keyspec_profile_name(e->cur.profile),
				 keyspec_mode_name(e->mode), e->generation, nb,
				 cb[0] ? cb : "-", tb);
		return;
	}
	/* every string here is from a fixed alphabet: nothing to escape */
	admin_out_printf(o, "%s\n  {\"local\": \"%s\", \"direction\": \"%s\", "
			 "\"profile\": \"%s\", \"mode\": \"%s\", \"generation\": %" PRIu64
			 ", ", first ? "" : ",", lb, keyspec_direction_name(e->key.dir),
			 keyspec_profile_name(e->cur.profile), keyspec_mode_name(e->mode),
			 e->generation);
	if (next)
		admin_out_printf(o, "\"next\": {\"from_index\": %" PRIu64 ", \"profile\": "
				 "\"%s\"}, ", e->next_from_index,
				 keyspec_profile_name(e->next.profile));
	else
		admin_out_printf(o, "\"next\": null, ");
	if (cb[0])
		admin_out_printf(o, "\"call_id\": \"%s\", ", cb);
	else
		admin_out_printf(o, "\"call_id\": null, ");
	admin_out_printf(o, "\"created\": \"%s\", \"updated\": \"%s\"}", tb, ub);
}

static int cmd_key_list(struct ctl *c, int argc, const char *const argv[], char *msg,
			size_t msglen)
{
	struct scratch *s = c->s;
	uint32_t cursor = 0, n = 0;
	bool json;
	int rc;

	rc = keyspec_parse_cmd(KEYSPEC_OP_LIST, argc, argv, &s->cmd, msg, msglen);
	if (rc < 0)
		goto out;
	json = s->cmd.json;
	if (json)
		admin_out_printf(&c->out, "[");
	else
		admin_out_printf(&c->out, "%-24s %-4s %-17s %-9s %6s %-16s %-16s %s\n",
				 "LOCAL", "DIR", "PROFILE", "MODE", "GEN", "NEXT-FROM-INDEX",
				 "CALL-ID", "CREATED");
	/* the writer's own listing is exact; each copy holds key bytes: wiped */
	while ((rc = keytable_next(c->table, &cursor, &s->e)) == 1) {
		list_entry(&c->out, &s->e, json, n == 0);
		keytable_wipe(&s->e, sizeof(s->e));
		n++;
		if (c->out.error != 0)
			break;      /* the client went away */
	}
	if (rc < 0) {
		snprintf(msg, msglen, "listing table callseal.%s: %s", c->table_name,
			 strerror(-rc));
		goto out;
	}
	if (json)
		admin_out_printf(&c->out, "%s]\n", n ? "\n" : "");
	msg[0] = '\0';
	rc = 0;
out:
	keytable_wipe(&s->e, sizeof(s->e));
	keyspec_cmd_wipe(&s->cmd);
	return rc;
}

/* ---- directory commands: groups, users, policies, peers (store.c) -------------- */

#define FINGERPRINT_STR 40u   /* 8 groups of 4 hex digits, ':' between, NUL */
#define KEY_B64_STR     sodium_base64_ENCODED_LEN(STORE_PUBLIC_KEY_BYTES, \
						  sodium_base64_VARIANT_ORIGINAL)

/* A public key's fingerprint: the first 16 bytes of its BLAKE2b-256 hash, in
 * hex groups of 2 bytes ("3f9a:01bc:..."). */
static const char *fingerprint(const uint8_t pk[STORE_PUBLIC_KEY_BYTES],
			       char buf[FINGERPRINT_STR])
{
	uint8_t h[32];
	size_t i, n = 0;

	crypto_generichash(h, sizeof(h), pk, STORE_PUBLIC_KEY_BYTES, NULL, 0);
	for (i = 0; i < 16; i++) {
		n += (size_t)snprintf(buf + n, FINGERPRINT_STR - n, "%02x", h[i]);
		if (i % 2 == 1 && i != 15)
			buf[n++] = ':';
	}
	buf[n] = '\0';
	return buf;
}

static const char *key_b64(const uint8_t pk[STORE_PUBLIC_KEY_BYTES], char buf[KEY_B64_STR])
{
	return sodium_bin2base64(buf, KEY_B64_STR, pk, STORE_PUBLIC_KEY_BYTES,
				 sodium_base64_VARIANT_ORIGINAL);
}

static const char *unix_time(int64_t s, char buf[KEYSPEC_TIME_STR])
{
	return keyspec_format_time(s > 0 ? (uint64_t)s * 1000000000u : 0, buf);
}

/* A JSON string; everything outside printable ASCII, '"' and '\\' escaped. */
static void json_str(struct admin_out *o, const char *s)
{
	admin_out_printf(o, "\"");
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			admin_out_printf(o, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			admin_out_printf(o, "\\u%04x", ch);
		else
			admin_out_printf(o, "%c", ch);
	}
	admin_out_printf(o, "\"");
}

/*
 * A change command's --json answer, instead of its line of text:
 * {"command": "group add", "<key>": "<value>", "message": "<the line>"}.
 * msg is then emptied (the line is in the object).
 */
static void json_change(struct ctl *c, const char *command, const char *key,
			const char *value, char *msg)
{
	admin_out_printf(&c->out, "{\"command\": \"%s\", \"%s\": ", command, key);
	json_str(&c->out, value);
	admin_out_printf(&c->out, ", \"message\": ");
	json_str(&c->out, msg);
	admin_out_printf(&c->out, "}\n");
	msg[0] = '\0';
}

/* json_change for a directory command: "group add" and its name under
 * "group" (the command's first word), as dirspec parsed it. */
static void dir_json(struct ctl *c, const struct dirspec_cmd *d, const char *name, char *msg)
{
	const char *command = dirspec_op_name(d->op);
	char key[16];

	snprintf(key, sizeof(key), "%.*s", (int)strcspn(command, " "), command);
	json_change(c, command, key, name, msg);
}

static void log_change(struct ctl *c, const char *msg)
{
	logline("%s (by uid %u pid %d)", msg, (unsigned int)c->peer_uid, (int)c->peer_pid);
}

/* Parse a directory command; refused when the daemon has no store. */
static int dir_parse(struct ctl *c, enum dirspec_op op, int argc, const char *const argv[],
		     struct dirspec_cmd *d, char *msg, size_t msglen)
{
	if (c->store == NULL) {
		snprintf(msg, msglen, "%s: this daemon manages no users or policies: start "
			 PROG " with --tenant NAME", dirspec_op_name(op));
		return -ENOTSUP;
	}
	return dirspec_parse_cmd(op, argc, argv, d, msg, msglen);
}

/* A growable array of list rows (public data only). */
struct rows {
	void *v;
	size_t n, cap, size;
};

static int rows_push(struct rows *r, const void *row)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		void *v = realloc(r->v, cap * r->size);

		if (v == NULL)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	memcpy((char *)r->v + r->n * r->size, row, r->size);
	r->n++;
	return 0;
}

static int push_user(const struct store_user *u, void *arg) { return rows_push(arg, u); }
static int push_group(const struct store_group *g, void *arg) { return rows_push(arg, g); }
static int push_policy(const struct store_policy *p, void *arg) { return rows_push(arg, p); }
static int push_peer(const struct store_peer *p, void *arg) { return rows_push(arg, p); }
static int push_assignment(const struct store_assignment *a, void *arg)
{
	return rows_push(arg, a);
}
static int push_name(const char *name, void *arg)
{
	char n[STORE_NAME_MAX + 1];

	snprintf(n, sizeof(n), "%s", name);
	return rows_push(arg, n);
}

static int list_failed(int rc, const char *what, char *msg, size_t msglen)
{
	if (rc == -ENOMEM)
		snprintf(msg, msglen, "listing %s: out of memory", what);
	return rc;
}

static int cmd_group_add(struct ctl *c, int argc, const char *const argv[], char *msg,
			 size_t msglen)
{
	struct dirspec_cmd d;
	int rc;

	rc = dir_parse(c, DIRSPEC_GROUP_ADD, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_group_add(c->store, d.name, msg, msglen);
	if (rc < 0)
		return rc;
	snprintf(msg, msglen, "group add %s", d.name);
	log_change(c, msg);
	snprintf(msg, msglen, "added group %s", d.name);
	if (d.json)
		dir_json(c, &d, d.name, msg);
	return 0;
}

static int cmd_group_list(struct ctl *c, int argc, const char *const argv[], char *msg,
			  size_t msglen)
{
	struct rows r = { .size = sizeof(struct store_group) };
	struct dirspec_cmd d;
	char tb[KEYSPEC_TIME_STR];
	size_t i;
	int rc;

	rc = dir_parse(c, DIRSPEC_GROUP_LIST, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_group_list(c->store, push_group, &r, msg, msglen);
	if (rc < 0)
		goto out;
	if (d.json)
		admin_out_printf(&c->out, "[");
	else
		admin_out_printf(&c->out, "%-24s %7s %s\n", "GROUP", "MEMBERS", "CREATED");
	for (i = 0; i < r.n; i++) {
		const struct store_group *g = (const struct store_group *)r.v + i;

		unix_time(g->created, tb);
		if (!d.json) {
			admin_out_printf(&c->out, "%-24s %7u %s\n", g->name, g->members, tb);
			continue;
		}
		admin_out_printf(&c->out, "%s\n  {\"name\": ", i ? "," : "");
		json_str(&c->out, g->name);
		admin_out_printf(&c->out, ", \"members\": %u, \"created\": \"%s\"}",
				 g->members, tb);
	}
	if (d.json)
		admin_out_printf(&c->out, "%s]\n", r.n ? "\n" : "");
	msg[0] = '\0';
out:
	free(r.v);
	return list_failed(rc, "groups", msg, msglen);
}

static int cmd_user_add(struct ctl *c, int argc, const char *const argv[], char *msg,
			size_t msglen)
{
	struct dirspec_cmd d;
	struct store_group g;
	struct store_user u;
	char fb[FINGERPRINT_STR], err[STORE_ERR_MAX];
	size_t i, n;
	int rc;

	rc = dir_parse(c, DIRSPEC_USER_ADD, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	/* every group first: a refusal changes nothing */
	for (i = 0; i < d.n_groups; i++) {
		rc = store_group_show(c->store, d.groups[i], &g, msg, msglen);
		if (rc < 0)
			return rc;
	}
	rc = store_user_add(c->store, d.name, msg, msglen);
	if (rc < 0)
		return rc;
	for (i = 0; i < d.n_groups; i++) {
		rc = store_group_member_add(c->store, d.groups[i], d.name, msg, msglen);
		if (rc < 0) {
			/* undo the user (and any membership so far) */
			if (store_user_del(c->store, d.name, err, sizeof(err)) < 0)
				logline("user add %s: cannot undo after a failed membership: %s",
					d.name, err);
			return rc;
		}
	}
	rc = store_user_show(c->store, d.name, &u, msg, msglen);
	if (rc < 0)
		return rc;
	fingerprint(u.public_key, fb);
	n = (size_t)snprintf(msg, msglen, "user add %s", d.name);
	for (i = 0; i < d.n_groups && n < msglen; i++)
		n += (size_t)snprintf(msg + n, msglen - n, " group %s", d.groups[i]);
	if (n < msglen)
		snprintf(msg + n, msglen - n, " fingerprint %s", fb);
	log_change(c, msg);
	snprintf(msg, msglen, "added user %s (identity key fingerprint %s)", d.name, fb);
	if (d.json)
		dir_json(c, &d, d.name, msg);
	return 0;
}

/* Where an effective policy came from, in words. */
static void source_text(const struct policy_effective *e, char *buf, size_t len)
{
	switch (e->source) {
	case POLICY_SRC_USER:
		snprintf(buf, len, "policy '%s' assigned to the user", e->policy);
		break;
	case POLICY_SRC_GROUP:
		snprintf(buf, len, "policy '%s' assigned to group '%s'", e->policy, e->group);
		break;
	case POLICY_SRC_TENANT:
		snprintf(buf, len, "policy '%s' assigned to the tenant", e->policy);
		break;
	default:
		snprintf(buf, len, "no policy assigned: the default");
		break;
	}
}

static void json_effective(struct admin_out *o, const struct store_effective *e)
{
	const struct policy_effective *p = &e->policy;

	admin_out_printf(o, "{\"e2ee\": \"%s\", \"source\": \"%s\", \"name\": ",
			 policy_setting_name(p->setting), policy_source_name(p->source));
	if (p->source == POLICY_SRC_NONE)
		admin_out_printf(o, "null");
	else
		json_str(o, p->policy);
	admin_out_printf(o, ", \"group\": ");
	if (p->source == POLICY_SRC_GROUP)
		json_str(o, p->group);
	else
		admin_out_printf(o, "null");
	admin_out_printf(o, ", \"group_conflict\": %s}", p->group_conflict ? "true" : "false");
}

static int cmd_user_list(struct ctl *c, int argc, const char *const argv[], char *msg,
			 size_t msglen)
{
	struct rows r = { .size = sizeof(struct store_user) };
	struct store_effective e;
	struct dirspec_cmd d;
	char fb[FINGERPRINT_STR], kb[KEY_B64_STR], tb[KEYSPEC_TIME_STR];
	size_t i;
	int rc, wu = 24;

	rc = dir_parse(c, DIRSPEC_USER_LIST, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_user_list(c->store, push_user, &r, msg, msglen);
	if (rc < 0)
		goto out;
	for (i = 0; i < r.n; i++) {     /* the column as wide as the longest name */
		int w = (int)strlen(((const struct store_user *)r.v)[i].name);

		wu = w > wu ? w : wu;
	}
	if (d.json)
		admin_out_printf(&c->out, "[");
	else
		admin_out_printf(&c->out, "%-*s %-17s %-6s %-24s %-4s %s\n", wu, "USER",
				 "POLICY-E2EE", "SOURCE", "POLICY", "OWN", "FINGERPRINT");
	for (i = 0; i < r.n; i++) {
		const struct store_user *u = (const struct store_user *)r.v + i;

		rc = store_user_effective_policy(c->store, u->name, &e, msg, msglen);
		if (rc < 0)
			goto out;
		fingerprint(u->public_key, fb);
		if (!d.json) {
			admin_out_printf(&c->out, "%-*s %-17s %-6s %-24s %-4s %s\n", wu, u->name,
					 policy_setting_name(e.policy.setting),
					 policy_source_name(e.policy.source),
					 e.policy.source ? e.policy.policy : "-",
					 u->e2ee_on ? "on" : "off", fb);
			continue;
		}
		admin_out_printf(&c->out, "%s\n  {\"name\": ", i ? "," : "");
		json_str(&c->out, u->name);
		admin_out_printf(&c->out, ", \"created\": \"%s\", \"policy\": ",
				 unix_time(u->created, tb));
		json_effective(&c->out, &e);
		admin_out_printf(&c->out, ", \"e2ee_setting\": \"%s\", \"allowed\": %s, "
				 "\"on\": %s, \"public_key\": \"%s\", \"fingerprint\": \"%s\"}",
				 u->e2ee_on ? "on" : "off", e.intent.allowed ? "true" : "false",
				 e.intent.on ? "true" : "false", key_b64(u->public_key, kb), fb);
	}
	if (d.json)
		admin_out_printf(&c->out, "%s]\n", r.n ? "\n" : "");
	msg[0] = '\0';
out:
	free(r.v);
	return list_failed(rc, "users", msg, msglen);
}

static int cmd_user_show(struct ctl *c, int argc, const char *const argv[], char *msg,
			 size_t msglen)
{
	struct rows groups = { .size = STORE_NAME_MAX + 1 };
	struct store_effective e;
	struct store_user u;
	struct dirspec_cmd d;
	char fb[FINGERPRINT_STR], kb[KEY_B64_STR], tb[KEYSPEC_TIME_STR], src[256];
	size_t i;
	int rc;

	rc = dir_parse(c, DIRSPEC_USER_SHOW, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_user_show(c->store, d.name, &u, msg, msglen);
	if (rc < 0)
		goto out;
	rc = store_user_groups(c->store, d.name, push_name, &groups, msg, msglen);
	if (rc < 0)
		goto out;
	rc = store_user_effective_policy(c->store, d.name, &e, msg, msglen);
	if (rc < 0)
		goto out;
	fingerprint(u.public_key, fb);
	key_b64(u.public_key, kb);
	unix_time(u.created, tb);
	if (d.json) {
		admin_out_printf(&c->out, "{\"name\": ");
		json_str(&c->out, u.name);
		admin_out_printf(&c->out, ", \"tenant\": ");
		json_str(&c->out, store_tenant(c->store));
		admin_out_printf(&c->out, ", \"created\": \"%s\", \"groups\": [", tb);
		for (i = 0; i < groups.n; i++) {
			admin_out_printf(&c->out, "%s", i ? ", " : "");
			json_str(&c->out, (const char *)groups.v + i * groups.size);
		}
		admin_out_printf(&c->out, "], \"policy\": ");
		json_effective(&c->out, &e);
		admin_out_printf(&c->out, ", \"e2ee_setting\": \"%s\", \"allowed\": %s, "
				 "\"on\": %s, \"reason\": ", u.e2ee_on ? "on" : "off",
				 e.intent.allowed ? "true" : "false",
				 e.intent.on ? "true" : "false");
		json_str(&c->out, e.intent.reason);
		admin_out_printf(&c->out, ", \"public_key\": \"%s\", \"fingerprint\": \"%s\"}\n",
				 kb, fb);
		msg[0] = '\0';
		goto out;
	}
	source_text(&e.policy, src, sizeof(src));
	admin_out_printf(&c->out, "user         %s@%s\ncreated      %s\ngroups       ",
			 u.name, store_tenant(c->store), tb);
	for (i = 0; i < groups.n; i++)
		admin_out_printf(&c->out, "%s%s", i ? ", " : "",
				 (const char *)groups.v + i * groups.size);
	admin_out_printf(&c->out, "%s\npolicy       %s (%s)\n", groups.n ? "" : "-",
			 policy_setting_name(e.policy.setting), src);
	if (e.policy.group_conflict)
		admin_out_printf(&c->out, "             note: the user's groups carry "
				 "different policies (disabled wins between groups)\n");
	admin_out_printf(&c->out, "own setting  %s%s\ne2ee         %s\n"
			 "public key   %s\nfingerprint  %s\n", u.e2ee_on ? "on" : "off",
			 u.e2ee_on && !e.intent.allowed ? " (no effect: the policy is "
			 "disabled)" : "", e.intent.reason, kb, fb);
	msg[0] = '\0';
out:
	free(groups.v);
	return list_failed(rc, "the user's groups", msg, msglen);
}

static int cmd_user_set(struct ctl *c, int argc, const char *const argv[], char *msg,
			size_t msglen)
{
	struct dirspec_cmd d;
	int rc;

	rc = dir_parse(c, DIRSPEC_USER_SET, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_user_set_e2ee(c->store, d.name, d.on, msg, msglen);
	if (rc < 0)
		return rc;
	snprintf(msg, msglen, "user set %s e2ee %s", d.name, d.on ? "on" : "off");
	log_change(c, msg);
	snprintf(msg, msglen, "user %s: end-to-end encryption turned %s", d.name,
		 d.on ? "on" : "off");
	if (d.json)
		dir_json(c, &d, d.name, msg);
	return 0;
}

static int cmd_policy_add(struct ctl *c, int argc, const char *const argv[], char *msg,
			  size_t msglen)
{
	struct dirspec_cmd d;
	int rc;

	rc = dir_parse(c, DIRSPEC_POLICY_ADD, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_policy_add(c->store, d.name, d.setting, msg, msglen);
	if (rc < 0)
		return rc;
	snprintf(msg, msglen, "policy add %s e2ee %s", d.name, policy_setting_name(d.setting));
	log_change(c, msg);
	snprintf(msg, msglen, "added policy %s (e2ee %s)", d.name,
		 policy_setting_name(d.setting));
	if (d.json)
		dir_json(c, &d, d.name, msg);
	return 0;
}

static int cmd_policy_set(struct ctl *c, int argc, const char *const argv[], char *msg,
			  size_t msglen)
{
	struct dirspec_cmd d;
	int rc;

	rc = dir_parse(c, DIRSPEC_POLICY_SET, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_policy_set(c->store, d.name, d.setting, msg, msglen);
	if (rc < 0)
		return rc;
	snprintf(msg, msglen, "policy set %s e2ee %s", d.name, policy_setting_name(d.setting));
	log_change(c, msg);
	snprintf(msg, msglen, "policy %s: e2ee %s", d.name, policy_setting_name(d.setting));
	if (d.json)
		dir_json(c, &d, d.name, msg);
	return 0;
}

static int cmd_policy_del(struct ctl *c, int argc, const char *const argv[], char *msg,
			  size_t msglen)
{
	struct dirspec_cmd d;
	int rc;

	rc = dir_parse(c, DIRSPEC_POLICY_DEL, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_policy_del(c->store, d.name, msg, msglen);
	if (rc < 0)
		return rc;
	snprintf(msg, msglen, "policy del %s", d.name);
	log_change(c, msg);
	snprintf(msg, msglen, "deleted policy %s", d.name);
	if (d.json)
		dir_json(c, &d, d.name, msg);
	return 0;
}

static void json_target(struct admin_out *o, const struct store_assignment *a)
{
	admin_out_printf(o, "{\"target\": \"%s\"", store_target_name(a->target));
	if (a->target != STORE_TARGET_TENANT) {
		admin_out_printf(o, ", \"name\": ");
		json_str(o, a->name);
	}
	admin_out_printf(o, "}");
}

static int cmd_policy_list(struct ctl *c, int argc, const char *const argv[], char *msg,
			   size_t msglen)
{
	struct rows r = { .size = sizeof(struct store_policy) };
	struct rows as = { .size = sizeof(struct store_assignment) };
	struct dirspec_cmd d;
	char tb[KEYSPEC_TIME_STR];
	size_t i, j, k;
	int rc;

	rc = dir_parse(c, DIRSPEC_POLICY_LIST, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_policy_list(c->store, push_policy, &r, msg, msglen);
	if (rc == 0)
		rc = store_assignment_list(c->store, push_assignment, &as, msg, msglen);
	if (rc < 0)
		goto out;
	if (d.json)
		admin_out_printf(&c->out, "[");
	else
		admin_out_printf(&c->out, "%-24s %-17s %s\n", "POLICY", "E2EE", "ASSIGNED-TO");
	for (i = 0; i < r.n; i++) {
		const struct store_policy *p = (const struct store_policy *)r.v + i;

		if (d.json) {
			admin_out_printf(&c->out, "%s\n  {\"name\": ", i ? "," : "");
			json_str(&c->out, p->name);
			admin_out_printf(&c->out, ", \"e2ee\": \"%s\", \"created\": \"%s\", "
					 "\"assigned_to\": [", policy_setting_name(p->e2ee),
					 unix_time(p->created, tb));
		} else {
			admin_out_printf(&c->out, "%-24s %-17s ", p->name,
					 policy_setting_name(p->e2ee));
		}
		for (j = 0, k = 0; j < as.n; j++) {
			const struct store_assignment *a =
				(const struct store_assignment *)as.v + j;

			if (strcmp(a->policy, p->name) != 0)
				continue;
			if (d.json) {
				admin_out_printf(&c->out, "%s", k ? ", " : "");
				json_target(&c->out, a);
			} else if (a->target == STORE_TARGET_TENANT) {
				admin_out_printf(&c->out, "%stenant", k ? ", " : "");
			} else {
				admin_out_printf(&c->out, "%s%s %s", k ? ", " : "",
						 store_target_name(a->target), a->name);
			}
			k++;
		}
		if (d.json)
			admin_out_printf(&c->out, "]}");
		else
			admin_out_printf(&c->out, "%s\n", k ? "" : "-");
	}
	if (d.json)
		admin_out_printf(&c->out, "%s]\n", r.n ? "\n" : "");
	msg[0] = '\0';
out:
	free(r.v);
	free(as.v);
	return list_failed(rc, "policies", msg, msglen);
}

/* "the tenant", "group 'sales'", "user 'alice'" */
static const char *target_text(enum store_target t, const char *name, char *buf, size_t len)
{
	if (t == STORE_TARGET_TENANT)
		snprintf(buf, len, "the tenant");
	else
		snprintf(buf, len, "%s '%s'", store_target_name(t), name);
	return buf;
}

static int cmd_policy_assign(struct ctl *c, int argc, const char *const argv[], char *msg,
			     size_t msglen)
{
	char tb[STORE_NAME_MAX + 16], prev[STORE_NAME_MAX + 1], err[STORE_ERR_MAX];
	struct dirspec_cmd d;
	bool had;
	int rc;

	rc = dir_parse(c, DIRSPEC_POLICY_ASSIGN, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	had = store_assignment_get(c->store, d.target, d.target_name, prev, err,
				   sizeof(err)) == 0;
	if (had && strcmp(prev, d.name) == 0) {
		target_text(d.target, d.target_name, tb, sizeof(tb));
		snprintf(msg, msglen, "policy %s is already assigned to %s (nothing changed)",
			 d.name, tb);
		if (d.json)
			dir_json(c, &d, d.name, msg);
		return 0;
	}
	rc = store_assign(c->store, d.target, d.target_name, d.name, msg, msglen);
	if (rc < 0)
		return rc;
	target_text(d.target, d.target_name, tb, sizeof(tb));
	snprintf(msg, msglen, "policy assign %s to %s%s%s", d.name, tb,
		 had ? " replacing " : "", had ? prev : "");
	log_change(c, msg);
	snprintf(msg, msglen, "assigned policy %s to %s%s%s", d.name, tb,
		 had ? " (it replaces policy " : "", had ? prev : "");
	if (had)
		strncat(msg, ")", msglen - strlen(msg) - 1);
	if (d.json)
		dir_json(c, &d, d.name, msg);
	return 0;
}

static int cmd_policy_unassign(struct ctl *c, int argc, const char *const argv[], char *msg,
			       size_t msglen)
{
	char tb[STORE_NAME_MAX + 16], prev[STORE_NAME_MAX + 1];
	struct dirspec_cmd d;
	int rc;

	rc = dir_parse(c, DIRSPEC_POLICY_UNASSIGN, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_assignment_get(c->store, d.target, d.target_name, prev, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_unassign(c->store, d.target, d.target_name, msg, msglen);
	if (rc < 0)
		return rc;
	target_text(d.target, d.target_name, tb, sizeof(tb));
	snprintf(msg, msglen, "policy unassign %s from %s", prev, tb);
	log_change(c, msg);
	snprintf(msg, msglen, "unassigned policy %s from %s", prev, tb);
	if (d.json)
		dir_json(c, &d, prev, msg);
	return 0;
}

static int cmd_peer_add(struct ctl *c, int argc, const char *const argv[], char *msg,
			size_t msglen)
{
	char fb[FINGERPRINT_STR];
	struct dirspec_cmd d;
	int rc;

	rc = dir_parse(c, DIRSPEC_PEER_ADD, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	/* a key an administrator gives is pinned; without one it is learnt on
	 * first use, which only a --trust-on-first-use daemon does */
	if (!d.has_key && !c->tofu) {
		snprintf(msg, msglen, "peer add: --key is required: this daemon does not "
			 "trust on first use (--trust-on-first-use), so a peer without a key "
			 "could never be called");
		return -EINVAL;
	}
	rc = store_peer_add(c->store, d.name, d.has_key ? d.key : NULL, d.addr, d.has_key,
			    msg, msglen);
	if (rc < 0)
		return rc;
	if (d.has_key)
		fingerprint(d.key, fb);
	snprintf(msg, msglen, "peer add %s addr %s %s%s", d.name, d.addr,
		 d.has_key ? "pinned key fingerprint " : "key learnt on first use",
		 d.has_key ? fb : "");
	log_change(c, msg);
	snprintf(msg, msglen, "added peer %s at %s (%s%s)", d.name, d.addr,
		 d.has_key ? "pinned key, fingerprint " : "key learnt on first use",
		 d.has_key ? fb : "");
	if (d.json)
		dir_json(c, &d, d.name, msg);
	return 0;
}

/* Where a peer's key on record came from: "given" (an administrator's
 * --key) or "first-use" (learnt, trust on first use); "none" yet. */
static const char *peer_key_source(const struct store_peer *p)
{
	return !p->has_key ? "none" : p->pinned ? "given" : "first-use";
}

/* calls_list callback: a call of user arg (any state the manager holds) */
static int call_of_user(const struct calls_info *in, void *arg)
{
	return strcmp(in->local_user, arg) == 0 ? 1 : 0;
}

/* group del, user del, peer del: the name, the store's delete, the words */
static int cmd_dir_del(struct ctl *c, enum dirspec_op op, int argc, const char *const argv[],
		       char *msg, size_t msglen)
{
	static const struct {
		enum dirspec_op op;
		int (*del)(struct store *st, const char *name, char *err, size_t errlen);
		const char *key, *what;        /* what went with it */
	} dels[] = {
		{ DIRSPEC_GROUP_DEL, store_group_del, "group",
		  " (its members stay; its assignment is gone)" },
		{ DIRSPEC_USER_DEL, store_user_del, "user",
		  " with their identity key, setting and memberships" },
		{ DIRSPEC_PEER_DEL, store_peer_del, "peer", "" },
	};
	struct dirspec_cmd d;
	size_t i;
	int rc;

	for (i = 0; dels[i].op != op; i++)
		;
	rc = dir_parse(c, op, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	/* the store knows a callee's call only once it is active: ask the
	 * manager too, so that a call being answered keeps its user */
	if (op == DIRSPEC_USER_DEL && c->calls != NULL &&
	    calls_list(c->calls, call_of_user, (void *)d.name) == 1) {
		snprintf(msg, msglen, "user %s has a call in set-up or active (call list); "
			 "end it first", d.name);
		return -EBUSY;
	}
	rc = dels[i].del(c->store, d.name, msg, msglen);
	if (rc < 0)
		return rc;
	snprintf(msg, msglen, "%s %s", dirspec_op_name(op), d.name);
	log_change(c, msg);
	snprintf(msg, msglen, "deleted %s %s%s", dels[i].key, d.name, dels[i].what);
	if (d.json)
		dir_json(c, &d, d.name, msg);
	return 0;
}

static int cmd_group_del(struct ctl *c, int argc, const char *const argv[], char *msg,
			 size_t msglen)
{
	return cmd_dir_del(c, DIRSPEC_GROUP_DEL, argc, argv, msg, msglen);
}

static int cmd_user_del(struct ctl *c, int argc, const char *const argv[], char *msg,
			size_t msglen)
{
	return cmd_dir_del(c, DIRSPEC_USER_DEL, argc, argv, msg, msglen);
}

static int cmd_peer_del(struct ctl *c, int argc, const char *const argv[], char *msg,
			size_t msglen)
{
	return cmd_dir_del(c, DIRSPEC_PEER_DEL, argc, argv, msg, msglen);
}

/* peer set: an administrator corrects an address or (re)pins a key. */
static int cmd_peer_set(struct ctl *c, int argc, const char *const argv[], char *msg,
			size_t msglen)
{
	char fb[FINGERPRINT_STR];
	struct store_peer p;
	struct dirspec_cmd d;
	int rc;

	rc = dir_parse(c, DIRSPEC_PEER_SET, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	if ((rc = store_peer_show(c->store, d.name, &p, msg, msglen)) < 0)
		return rc;
	/* a key given here is the administrator's: pinned; otherwise as it was */
	rc = store_peer_set(c->store, d.name, d.has_key ? d.key : NULL, d.addr,
			    d.has_key || p.pinned, msg, msglen);
	if (rc < 0)
		return rc;
	if (d.has_key)
		fingerprint(d.key, fb);
	snprintf(msg, msglen, "peer set %s%s%s%s%s", d.name, d.addr ? " addr " : "",
		 d.addr ? d.addr : "", d.has_key ? " pinned key fingerprint " : "",
		 d.has_key ? fb : "");
	log_change(c, msg);
	snprintf(msg, msglen, "peer %s:%s%s%s%s", d.name, d.addr ? " address " : "",
		 d.addr ? d.addr : "", d.has_key ? " key pinned, fingerprint " : "",
		 d.has_key ? fb : "");
	if (d.json)
		dir_json(c, &d, d.name, msg);
	return 0;
}

static int cmd_peer_list(struct ctl *c, int argc, const char *const argv[], char *msg,
			 size_t msglen)
{
	struct rows r = { .size = sizeof(struct store_peer) };
	char fb[FINGERPRINT_STR], kb[KEY_B64_STR], tb[KEYSPEC_TIME_STR], ub[KEYSPEC_TIME_STR];
	struct dirspec_cmd d;
	size_t i;
	int rc;

	rc = dir_parse(c, DIRSPEC_PEER_LIST, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_peer_list(c->store, push_peer, &r, msg, msglen);
	if (rc < 0)
		goto out;
	if (d.json)
		admin_out_printf(&c->out, "[");
	else
		admin_out_printf(&c->out, "%-32s %-39s %-10s %s\n", "PEER", "FINGERPRINT",
				 "KEY", "ADDRESS");
	for (i = 0; i < r.n; i++) {
		const struct store_peer *p = (const struct store_peer *)r.v + i;

		if (p->has_key)
			fingerprint(p->public_key, fb);
		if (!d.json) {
			admin_out_printf(&c->out, "%-32s %-39s %-10s %s\n", p->id,
					 p->has_key ? fb : "(none yet)", peer_key_source(p),
					 p->address);
			continue;
		}
		admin_out_printf(&c->out, "%s\n  {\"id\": ", i ? "," : "");
		json_str(&c->out, p->id);
		admin_out_printf(&c->out, ", \"address\": ");
		json_str(&c->out, p->address);
		if (p->has_key)
			admin_out_printf(&c->out, ", \"public_key\": \"%s\", \"fingerprint\": "
					 "\"%s\"", key_b64(p->public_key, kb), fb);
		else
			admin_out_printf(&c->out, ", \"public_key\": null, \"fingerprint\": null");
		/* pinned: a key is on record and every call must match it, whether
		 * an administrator gave it or it was learnt on first use */
		admin_out_printf(&c->out, ", \"pinned\": %s, \"key_source\": ",
				 p->has_key ? "true" : "false");
		if (p->has_key)
			admin_out_printf(&c->out, "\"%s\"", peer_key_source(p));
		else
			admin_out_printf(&c->out, "null");
		admin_out_printf(&c->out, ", \"created\": \"%s\", \"updated\": \"%s\"}",
				 unix_time(p->created, tb), unix_time(p->updated, ub));
	}
	if (d.json)
		admin_out_printf(&c->out, "%s]\n", r.n ? "\n" : "");
	msg[0] = '\0';
out:
	free(r.v);
	return list_failed(rc, "peers", msg, msglen);
}

/* ---- call commands (control/calls/calls.c; docs/calls.md) ------------------------------ */

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

/* A waiting dial's attempt is over: its client gets the answer, the
 * connection is closed. */
static void dial_answer(struct ctl *c, const struct calls_info *in)
{
	struct admin_out *o = &c->dial_out;
	char msg[ADMIN_MSG_MAX];
	unsigned int i;
	int status = 0;

	for (i = 0; i < DIALS_MAX; i++)
		if (c->dials[i].fd >= 0 && strcmp(c->dials[i].id, in->id) == 0)
			break;
	if (i == DIALS_MAX)
		return;
	admin_out_init(o, c->dials[i].fd, ADMIN_TIMEOUT_MS);
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
	(void)admin_out_end(o, status, msg);
	admin_server_close(c->dials[i].fd);
	c->dials[i].fd = -1;
}

/* The manager's event: logged (never keys); a waiting dial is answered. */
static void call_event(void *ctx, const struct calls_info *in)
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

static int call_parse(struct ctl *c, int argc, const char *const argv[],
		      struct dirspec_call *d, char *msg, size_t msglen)
{
	if (c->calls == NULL) {
		snprintf(msg, msglen, "call: this daemon makes no calls: start " PROG
			 " with --tenant NAME and --listen ADDR:PORT");
		return -ENOTSUP;
	}
	/* argv[-1] is the verb (the command's second word): the parser wants it */
	return dirspec_parse_call(argc + 1, argv - 1, d, msg, msglen);
}

static void call_print(struct admin_out *o, const struct calls_info *in, bool json,
		       bool first)
{
	if (!json) {
		admin_out_printf(o, "%-16s %-10s %-9s %-16s %-32s %-9s %-23s %s\n",
				 in->id[0] ? in->id : "-",
				 in->role == CALLPROTO_ROLE_INITIATOR ? "caller" : "callee",
				 call_state_name(in->state),
				 in->local_user[0] ? in->local_user : "-",
				 in->peer[0] ? in->peer : "-", call_mode_name(in->mode),
				 in->security_code[0] ? in->security_code : "-",
				 in->reason[0] ? in->reason : "-");
		return;
	}
	admin_out_printf(o, "%s{\"id\": ", first ? "" : ",\n  ");
	json_str(o, in->id);
	admin_out_printf(o, ", \"role\": \"%s\", \"state\": \"%s\", \"local_user\": ",
			 in->role == CALLPROTO_ROLE_INITIATOR ? "caller" : "callee",
			 call_state_name(in->state));
	json_str(o, in->local_user);
	admin_out_printf(o, ", \"peer\": ");
	json_str(o, in->peer);
	admin_out_printf(o, ", \"mode\": \"%s\", \"reason\": ", call_mode_name(in->mode));
	json_str(o, in->reason);
	admin_out_printf(o, ", \"profile\": ");
	json_str(o, in->profile);
	admin_out_printf(o, ", \"security_code\": ");
	json_str(o, in->security_code);
	admin_out_printf(o, ", \"local_media\": ");
	json_str(o, in->local_media);
	admin_out_printf(o, ", \"remote_media\": ");
	json_str(o, in->remote_media);
	admin_out_printf(o, ", \"generation\": %" PRIu32 ", \"next_from_index\": %" PRIu64
			 ", \"control_channel\": ", in->generation, in->next_from_index);
	json_str(o, control_channel(in));
	admin_out_printf(o, "}");
}

static int cmd_call_dial(struct ctl *c, int argc, const char *const argv[], char *msg,
			 size_t msglen)
{
	struct dirspec_call d;
	char id[CALLS_ID_LEN + 1];
	unsigned int i;
	int rc;

	rc = call_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	for (i = 0; i < DIALS_MAX && c->dials[i].fd >= 0; i++)
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
	c->dials[i].fd = c->out.fd;
	c->dials[i].json = d.json;
	memcpy(c->dials[i].id, id, sizeof(id));
	return DIAL_PENDING;
}

struct call_rows {
	struct calls_info *v;
	size_t n, cap;
};

static int push_call(const struct calls_info *in, void *arg)
{
	struct call_rows *r = arg;

	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		struct calls_info *v = realloc(r->v, cap * sizeof(*v));

		if (v == NULL)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	r->v[r->n++] = *in;
	return 0;
}

static void call_header(struct admin_out *o)
{
	admin_out_printf(o, "%-16s %-10s %-9s %-16s %-32s %-9s %-23s %s\n", "CALL-ID", "ROLE",
			 "STATE", "USER", "PEER", "MODE", "SECURITY-CODE", "REASON");
}

static int cmd_call_list(struct ctl *c, int argc, const char *const argv[], char *msg,
			 size_t msglen)
{
	struct call_rows r = { 0 };
	struct dirspec_call d;
	size_t i;
	int rc;

	rc = call_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
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
		call_print(&c->out, &r.v[i], d.json, i == 0);
	if (d.json)
		admin_out_printf(&c->out, "%s]\n", r.n ? "\n" : "");
	free(r.v);
	msg[0] = '\0';
	return 0;
}

static int cmd_call_show(struct ctl *c, int argc, const char *const argv[], char *msg,
			 size_t msglen)
{
	struct dirspec_call d;
	struct calls_info in;
	int rc;

	rc = call_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = calls_show(c->calls, d.id, &in);
	if (rc < 0) {
		snprintf(msg, msglen, "no call %s (call list shows the calls)", d.id);
		return rc;
	}
	if (d.json) {
		call_print(&c->out, &in, true, true);
		admin_out_printf(&c->out, "\n");
	} else {
		admin_out_printf(&c->out,
				 "call id: %s\nrole: %s\nstate: %s\nuser: %s\npeer: %s\n"
				 "mode: %s\nreason: %s\nprofile: %s\nsecurity code: %s\n"
				 "local media: %s\nremote media: %s\ngeneration: %" PRIu32 "\n"
				 "control channel: %s\n",
				 in.id, in.role == CALLPROTO_ROLE_INITIATOR ? "caller" : "callee",
				 call_state_name(in.state), in.local_user, in.peer,
				 call_mode_name(in.mode), in.reason[0] ? in.reason : "-",
				 in.profile[0] ? in.profile : "-",
				 in.security_code[0] ? in.security_code : "-",
				 in.local_media[0] ? in.local_media : "-",
				 in.remote_media[0] ? in.remote_media : "-", in.generation,
				 control_channel(&in));
	}
	msg[0] = '\0';
	return 0;
}

static int cmd_call_end(struct ctl *c, int argc, const char *const argv[], char *msg,
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

static int cmd_call_rekey(struct ctl *c, int argc, const char *const argv[], char *msg,
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
	snprintf(msg, msglen, "call rekey %s generation %" PRIu32 " from-index %" PRIu64,
		 d.id, in.generation, in.next_from_index);
	log_change(c, msg);
	snprintf(msg, msglen, "call %s: generation %" PRIu32 " scheduled from packet index %"
		 PRIu64, d.id, in.generation, in.next_from_index);
	if (d.json)
		json_change(c, "call rekey", "call_id", d.id, msg);
	return 0;
}

static int cmd_call_feature(struct ctl *c, int argc, const char *const argv[], char *msg,
			    size_t msglen)
{
	uint8_t sealed[CALLS_KEYS_SEALED];
	char b64[sodium_base64_ENCODED_LEN(CALLS_KEYS_SEALED, sodium_base64_VARIANT_ORIGINAL)];
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
	snprintf(msg, msglen, "call %s: %s accepted (standard call)", d.id, d.verb);
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

/* ---- other commands ---------------------------------------------------------- */

static int cmd_status(struct ctl *c, int argc, const char *const argv[], char *msg,
		      size_t msglen)
{
	struct keytable_info info;
	char tb[KEYSPEC_TIME_STR];

	(void)argv;
	if (argc != 0) {
		snprintf(msg, msglen, "status takes no options");
		return -EINVAL;
	}
	keytable_info(c->table, &info);
	admin_out_printf(&c->out,
			 "table callseal.%s: %u entries (%u wildcard), capacity %u, %u slots, "
			 "%" PRIu64 " bytes, created %s\n"
			 "writer pid %u (epoch %u), generation %" PRIu64 ", changes %" PRIu64
			 ", recoveries %" PRIu64 "\n"
			 "admin socket %s, protocol version %u\n",
			 c->table_name, info.count, info.wild_count, info.capacity, info.slots,
			 info.table_bytes, keyspec_format_time(info.created_ns, tb),
			 info.writer_pid, info.writer_epoch, info.generation, info.changes,
			 info.recoveries, c->admin_path, ADMIN_PROTO_VERSION);
	msg[0] = '\0';
	return 0;
}

static int cmd_help(struct ctl *c, int argc, const char *const argv[], char *msg,
		    size_t msglen);

static const struct command commands[] = {
	{ "key", "add", cmd_key_add, true,
	  "key add --local ADDR:PORT --direction in|out --profile PROFILE --inline BASE64 "
	  "[--mode e2ee|standard] [--call-id TEXT]" },
	{ "key", "rekey", cmd_key_rekey, true,
	  "key rekey --local ADDR:PORT --direction in|out --inline BASE64 [--profile PROFILE] "
	  "[--from-index N]" },
	{ "key", "del", cmd_key_del, true, "key del --local ADDR:PORT --direction in|out" },
	{ "key", "list", cmd_key_list, false, "key list [--json]" },
	{ "group", "add", cmd_group_add, true, "group add GROUP" },
	{ "group", "del", cmd_group_del, true, "group del GROUP" },
	{ "group", "list", cmd_group_list, false, "group list [--json]" },
	{ "user", "add", cmd_user_add, true, "user add USER [--group GROUP]..." },
	{ "user", "list", cmd_user_list, false, "user list [--json]" },
	{ "user", "show", cmd_user_show, false, "user show USER [--json]" },
	{ "user", "set", cmd_user_set, true, "user set USER --e2ee on|off" },
	{ "user", "del", cmd_user_del, true, "user del USER" },
	{ "policy", "add", cmd_policy_add, true,
	  "policy add NAME --e2ee disabled|users-can-turn-on" },
	{ "policy", "set", cmd_policy_set, true,
	  "policy set NAME --e2ee disabled|users-can-turn-on" },
	{ "policy", "del", cmd_policy_del, true, "policy del NAME" },
	{ "policy", "list", cmd_policy_list, false, "policy list [--json]" },
	{ "policy", "assign", cmd_policy_assign, true,
	  "policy assign NAME --tenant|--group GROUP|--user USER" },
	{ "policy", "unassign", cmd_policy_unassign, true,
	  "policy unassign --tenant|--group GROUP|--user USER" },
	{ "peer", "add", cmd_peer_add, true,
	  "peer add USER@TENANT [--key BASE64] --addr HOST:PORT" },
	{ "peer", "set", cmd_peer_set, true,
	  "peer set USER@TENANT [--key BASE64] [--addr HOST:PORT]" },
	{ "peer", "del", cmd_peer_del, true, "peer del USER@TENANT" },
	{ "peer", "list", cmd_peer_list, false, "peer list [--json]" },
	{ "call", "dial", cmd_call_dial, true,
	  "call dial --from USER --to USER@TENANT [--local-media ADDR:PORT] "
	  "[--remote-media ADDR:PORT]" },
	{ "call", "list", cmd_call_list, false, "call list [--json]" },
	{ "call", "show", cmd_call_show, false, "call show ID [--json]" },
	{ "call", "end", cmd_call_end, true, "call end ID" },
	{ "call", "rekey", cmd_call_rekey, true, "call rekey ID" },
	{ "call", "record", cmd_call_feature, true, "call record ID" },
	{ "call", "transcribe", cmd_call_feature, true, "call transcribe ID" },
	{ "call", "transfer", cmd_call_feature, true, "call transfer ID" },
	{ "call", "park", cmd_call_feature, true, "call park ID" },
	{ "call", "merge", cmd_call_feature, true, "call merge ID" },
	{ "call", "add-participant", cmd_call_feature, true, "call add-participant ID" },
	{ "call", "keys", cmd_call_feature, true, "call keys ID" },
	{ "status", NULL, cmd_status, false, "status" },
	{ "help", NULL, cmd_help, false, "help" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

static int cmd_help(struct ctl *c, int argc, const char *const argv[], char *msg,
		    size_t msglen)
{
	size_t i;

	(void)argc;
	(void)argv;
	admin_out_printf(&c->out, "commands (admin protocol version %u):\n",
			 ADMIN_PROTO_VERSION);
	for (i = 0; i < N_COMMANDS; i++)
		admin_out_printf(&c->out, "  %s\n", commands[i].synopsis);
	msg[0] = '\0';
	(void)msglen;
	return 0;
}

/* A command word for a message: lower-case letters, digits and '-' only. */
static const char *word_shown(const char *w, char buf[24])
{
	size_t i;

	for (i = 0; w[i] != '\0' && i < 20; i++) {
		if (!((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= '0' && w[i] <= '9') ||
		      w[i] == '-'))
			return "?";
		buf[i] = w[i];
	}
	if (w[i] != '\0')
		return "?";
	buf[i] = '\0';
	return buf;
}

/* Find the command for argv; *skip gets the number of words that named it. */
static const struct command *find_command(int argc, char *const argv[], int *skip,
					  char *msg, size_t msglen)
{
	char b0[24], b1[24];
	bool group = false;
	size_t i;

	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[0], commands[i].group) != 0)
			continue;
		group = true;
		if (commands[i].name == NULL) {
			*skip = 1;
			return &commands[i];
		}
		if (argc >= 2 && strcmp(argv[1], commands[i].name) == 0) {
			*skip = 2;
			return &commands[i];
		}
	}
	if (group && strcmp(argv[0], "key") == 0)
		snprintf(msg, msglen, "unknown command '%s %s' (key commands: add, rekey, "
			 "del, list)", word_shown(argv[0], b0),
			 argc >= 2 ? word_shown(argv[1], b1) : "");
	else if (group && strcmp(argv[0], "call") == 0)
		snprintf(msg, msglen, "unknown command 'call %s' (call commands: "
			 DIRSPEC_CALL_VERBS ")", argc >= 2 ? word_shown(argv[1], b1) : "");
	else if (group)
		snprintf(msg, msglen, "unknown command '%s %s' (%s commands: %s)",
			 word_shown(argv[0], b0), argc >= 2 ? word_shown(argv[1], b1) : "",
			 word_shown(argv[0], b0), dirspec_group_verbs(argv[0]));
	else
		snprintf(msg, msglen, "unknown command '%s' (commands: key, group, user, "
			 "policy, peer, call, status, help)", word_shown(argv[0], b0));
	return NULL;
}

/* ---- serving one client ----------------------------------------------------- */

/* Returns true when the request keeps fd (a call dial answered later). */
static bool serve(struct ctl *c, int fd)
{
	const struct command *cmd = NULL;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	char msg[ADMIN_MSG_MAX], err[ADMIN_ERR_MAX];
	int rc, skip = 0;

	admin_out_init(&c->out, fd, ADMIN_TIMEOUT_MS);
	memset(&cred, 0, sizeof(cred));
	msg[0] = '\0';
	if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
		logline("admin: cannot identify a client: %s", strerror(errno));
		return false;
	}
	c->peer_pid = cred.pid;
	c->peer_uid = cred.uid;
	/* the socket is 0600 in a directory of the operator's choosing: check
	 * the peer anyway */
	if (cred.uid != geteuid() && cred.uid != 0) {
		logline("admin: refused a client with uid %u pid %d (only uid %u or root)",
			(unsigned int)cred.uid, (int)cred.pid, (unsigned int)geteuid());
		admin_out_end(&c->out, EACCES, "permission denied");
		return false;
	}
	rc = admin_recv_request(fd, &c->s->req, admin_now_ms() + ADMIN_TIMEOUT_MS, err,
				sizeof(err));
	if (rc < 0) {
		if (rc != -ECONNRESET)
			logline("admin: bad request from pid %d: %s", (int)cred.pid, err);
		/* say why, if the client still listens (bounded) */
		c->out.timeout_ms = 500;
		if (rc != -ECONNRESET && rc != -ETIMEDOUT)
			admin_out_end(&c->out, -rc, err);
		return false;
	}
	cmd = find_command(c->s->req.argc, c->s->req.argv, &skip, msg, sizeof(msg));
	if (cmd == NULL) {
		rc = -EINVAL;
		logline("admin: refused a request from pid %d: %s", (int)cred.pid, msg);
	} else {
		rc = cmd->fn(c, c->s->req.argc - skip,
			     (const char *const *)c->s->req.argv + skip, msg, sizeof(msg));
		if (rc < 0 && rc != DIAL_PENDING && cmd->changes)
			logline("refused %s %s from pid %d: %s", cmd->group,
				cmd->name ? cmd->name : "", (int)cred.pid, msg);
	}
	admin_request_wipe(&c->s->req);
	if (rc == DIAL_PENDING)
		return true;
	if (admin_out_end(&c->out, rc < 0 ? -rc : 0, msg) < 0 && rc == 0 && cmd != NULL &&
	    cmd->changes)
		logline("admin: pid %d left before its answer (the change stands)",
			(int)cred.pid);
	return false;
}

/* ---- start-up ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --table NAME --state DIR --admin SOCKET [--tenant NAME]\n"
"                        [--capacity N] [--listen ADDR:PORT [--media-pool IP:LO-HI]\n"
"                        [--handshake-timeout MS] [--trust-on-first-use]\n"
"                        [--recorder-key BASE64] [--end-calls-on-exit]]\n"
"\n"
"The callseal control daemon. It is the single writer of the shared-memory key\n"
"table /dev/shm/callseal.NAME that callseal-dataplane reads, and serves the\n"
"admin commands of callsealctl on a Unix socket.\n"
"\n"
"  --table NAME     key table /dev/shm/callseal.NAME (A-Z a-z 0-9 . _ -, at most\n"
"                   64). Created if absent; otherwise attached as its only\n"
"                   writer (recovering an operation a killed writer left half\n"
"                   done). A table that another daemon writes is refused.\n"
"  --state DIR      state directory (created mode 0700 if absent; an existing one\n"
"                   must be a directory of this user that group and others\n"
"                   cannot access). With --tenant it holds the store\n"
"                   (DIR/callseal.db, 0600): users and their identity keys,\n"
"                   groups, policies, assignments, peers.\n"
"  --admin SOCKET   admin socket path (created mode 0600). A stale socket is\n"
"                   replaced; one another daemon listens on is refused.\n"
"  --tenant NAME    the tenant whose users and policies this daemon manages\n"
"                   (A-Z a-z 0-9 . _ -, at most 64). Needed for the group,\n"
"                   user, policy and peer commands. The store is created on\n"
"                   the first run and records the tenant; a store of another\n"
"                   tenant is refused. Without it, only static keying.\n"
"  --capacity N     entries the table holds when this daemon creates it\n"
"                   (1..%u, default %u = 96 MiB of /dev/shm). The table takes\n"
"                   4096 + 192 x 2^k bytes, 2^k >= 2 x N; it is reserved at\n"
"                   creation. Ignored when the table exists.\n"
"  --listen ADDR:PORT  accept calls for the tenant's users on this TCP address\n"
"                   and make calls (call commands; needs --tenant;\n"
"                   docs/calls.md). Without it, no calls.\n"
"  --media-pool IP:LO-HI  media addresses this side receives calls on (and\n"
"                   dials from without --local-media); default " DEFAULT_MEDIA_POOL "\n"
"  --handshake-timeout MS  per call attempt, start to keys (default 10000)\n"
"  --trust-on-first-use  accept and record an unknown peer key (else refused)\n"
"  --recorder-key BASE64  X25519 public key of the authorised compliance\n"
"                   recorder: `call keys ID` of a standard call prints the\n"
"                   call's keys sealed to it (crypto_box_seal; docs/calls.md).\n"
"                   Without it `call keys` is refused in every call.\n"
"  --end-calls-on-exit  on SIGINT/SIGTERM end every call (END to the peers,\n"
"                   keys deleted). Default: active calls go on (keys stay in\n"
"                   the table) and the next run takes them over, detached.\n"
"  --help           this text\n"
"\n"
"Logs go to stderr: start-up, one line per admin change (never key bytes).\n"
"SIGINT or SIGTERM: stop serving, remove the socket, detach from the table; the\n"
"table and its keys stay (the dataplane keeps forwarding; a restarted daemon\n"
"finds them, takes over the active calls, and removes entries of calls that\n"
"ended or failed meanwhile). Exit status 0 after a signal, 1 if it cannot start, 2 on bad\n"
"options.\n"
"\n"
"example:\n"
"  " PROG " --table main --state /var/lib/callseal --admin /run/callseal/admin.sock \\\n"
"      --tenant contoso\n"
"  callsealctl --admin /run/callseal/admin.sock key list\n",
		KEYTABLE_CAPACITY_MAX, DEFAULT_CAPACITY);
}

__attribute__((format(printf, 1, 2), noreturn))
static void bad_usage(const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s (see --help)\n", line);
	exit(2);
}

/* mkdir -p with mode 0700; the last component must end up private. */
static int state_dir(const char *dir, char *err, size_t errlen)
{
	char path[4096];
	struct stat st;
	size_t i, n = strlen(dir);

	if (n == 0 || n >= sizeof(path)) {
		snprintf(err, errlen, "--state: bad directory path");
		return -EINVAL;
	}
	memcpy(path, dir, n + 1);
	for (i = 1; i <= n; i++) {
		if (path[i] != '/' && path[i] != '\0')
			continue;
		path[i] = '\0';
		if (mkdir(path, 0700) < 0 && errno != EEXIST) {
			snprintf(err, errlen, "cannot create state directory %s: %s", path,
				 strerror(errno));
			return -errno;
		}
		path[i] = i < n ? '/' : '\0';
	}
	if (stat(dir, &st) < 0) {
		snprintf(err, errlen, "state directory %s: %s", dir, strerror(errno));
		return -errno;
	}
	if (!S_ISDIR(st.st_mode)) {
		snprintf(err, errlen, "state directory %s is not a directory", dir);
		return -ENOTDIR;
	}
	if (st.st_uid != geteuid()) {
		snprintf(err, errlen, "state directory %s belongs to uid %u, not to this "
			 "user (uid %u)", dir, (unsigned int)st.st_uid, (unsigned int)geteuid());
		return -EPERM;
	}
	if (st.st_mode & 077) {
		snprintf(err, errlen, "state directory %s has mode 0%03o: group and others "
			 "must have no access (chmod 700 %s)", dir,
			 (unsigned int)(st.st_mode & 0777), dir);
		return -EPERM;
	}
	return 0;
}

static void report_recovery(const char *name, const struct keytable_recovery *rec)
{
	static const char *const ops[] = { "none", "add", "replace", "schedule", "delete" };
	const char *op = rec->journal_op < 5 ? ops[rec->journal_op] : "unknown operation";

	if (rec->journal_op != KEYTABLE_JOP_NONE)
		logline("recovered table callseal.%s: writer pid %u died in the middle of a "
			"key %s; %s", name, rec->prev_writer_pid, op,
			rec->rolled_back ? "rolled it back (the old entry stands)" :
			rec->completed ? "completed it" : "nothing was left to do");
	if (rec->wiped != 0)
		logline("recovered table callseal.%s: wiped %u damaged slot(s) that were "
			"left half written", name, rec->wiped);
}

/* Attach as the writer, or create the table: 0 or -errno (message logged). */
static int open_table(struct ctl *c, uint32_t capacity, bool capacity_given, bool *created)
{
	struct keytable_recovery rec;
	struct keytable_info info;
	char err[KEYTABLE_ERR_MAX];
	int rc, tries;

	*created = false;
	for (tries = 0; tries < 2; tries++) {
		rc = keytable_attach_writer(&c->table, c->table_name, &rec, err, sizeof(err));
		if (rc != -ENOENT)
			break;
		rc = keytable_create(&c->table, c->table_name, capacity, err, sizeof(err));
		if (rc != -EEXIST) {    /* -EEXIST: someone created it meanwhile */
			*created = rc == 0;
			break;
		}
	}
	if (rc == -EBUSY) {
		logline("%s: another callseal-control writes it (stop that one first)", err);
		return rc;
	} else if (rc < 0) {
		logline("%s", err);
		return rc;
	}
	keytable_info(c->table, &info);
	if (*created) {
		logline("created table callseal.%s: capacity %u, %u slots, %" PRIu64
			" bytes (/dev/shm/callseal.%s)", c->table_name, info.capacity,
			info.slots, info.table_bytes, c->table_name);
		return 0;
	}
	report_recovery(c->table_name, &rec);
	logline("attached to table callseal.%s as its writer: %u entries, capacity %u, "
		"writer epoch %u (previous writer pid %u)", c->table_name, info.count,
		info.capacity, info.writer_epoch, rec.prev_writer_pid);
	if (capacity_given && capacity != info.capacity)
		logline("note: --capacity %u ignored: the table exists with capacity %u",
			capacity, info.capacity);
	return 0;
}

/* The call manager's descriptors after the daemon's two: the array grows
 * (doubling) until they fit. The number, or -ENOMEM (then none are polled
 * this round, and the growth is tried again on the next). */
static int fill_call_fds(struct ctl *c)
{
	int n;

	while ((n = calls_pollfds(c->calls, c->fds + 2, c->fds_cap - 2)) == -ENOBUFS) {
		struct pollfd *g = realloc(c->fds, 2 * c->fds_cap * sizeof(*g));

		if (g == NULL)
			return -ENOMEM;
		c->fds = g;
		c->fds_cap *= 2;
	}
	return n;
}

static int run(struct ctl *c)
{
	struct signalfd_siginfo si;
	uint64_t admin_paused_until = 0;   /* admin accept failed: retry then */
	bool oom_said = false;
	int rc = 0;

	c->fds_cap = POLL_FDS_MIN;
	c->fds = calloc(c->fds_cap, sizeof(*c->fds));
	if (c->fds == NULL) {
		logline("out of memory");
		return -ENOMEM;
	}
	for (;;) {
		struct pollfd *p;
		int fd, n = 0, timeout = -1;

		if (c->calls != NULL) {
			n = fill_call_fds(c);
			if (n < 0) {
				if (!oom_said)
					logline("calls: out of memory for %zu descriptors; "
						"retrying every 100 ms", 2 * c->fds_cap);
				oom_said = true;
				n = 0;
				timeout = 100;
			} else {
				oom_said = false;
				timeout = calls_timeout_ms(c->calls);
			}
		}
		p = c->fds;
		p[0] = (struct pollfd){ .fd = c->sig_fd, .events = POLLIN };
		/* after a failed admin accept (no descriptor) the admin socket rests
		 * 100 ms; calls go on being served meanwhile */
		p[1] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
		if (admin_paused_until) {
			uint64_t t = admin_now_ms();

			if (t >= admin_paused_until) {
				admin_paused_until = 0;
			} else {
				int left = (int)(admin_paused_until - t);

				p[1].fd = -1;
				if (timeout < 0 || timeout > left)
					timeout = left;
			}
		}
		if (poll(p, (nfds_t)(2 + n), timeout) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			logline("poll: %s", strerror(errno));
			break;
		}
		if (c->calls != NULL)
			calls_handle(c->calls, p + 2, (size_t)n);
		if (p[0].revents & POLLIN) {
			if (read(c->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				logline("stopping on %s", si.ssi_signo == SIGINT ? "SIGINT" :
					si.ssi_signo == SIGTERM ? "SIGTERM" : "a signal");
				break;
			}
		}
		if (!(p[1].revents & POLLIN))
			continue;
		fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			    errno == ENOBUFS) {
				logline("admin accept: %s", strerror(errno));
				admin_paused_until = admin_now_ms() + 100;   /* do not spin */
			}
			continue;
		}
		if (!serve(c, fd))
			admin_server_close(fd);
	}
	return rc;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "table", required_argument, NULL, 't' },
		{ "state", required_argument, NULL, 's' },
		{ "admin", required_argument, NULL, 'a' },
		{ "capacity", required_argument, NULL, 'c' },
		{ "tenant", required_argument, NULL, 'n' },
		{ "listen", required_argument, NULL, 'l' },
		{ "media-pool", required_argument, NULL, 'm' },
		{ "handshake-timeout", required_argument, NULL, 'T' },
		{ "trust-on-first-use", no_argument, NULL, 'u' },
		{ "recorder-key", required_argument, NULL, 'r' },
		{ "end-calls-on-exit", no_argument, NULL, 'E' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct ctl ctl;
	struct ctl *c = &ctl;
	const char *state = NULL;
	char err[KEYSPEC_ERR_MAX];
	struct rlimit nocore = { 0, 0 }, nofile;
	uint64_t cap = DEFAULT_CAPACITY;
	bool cap_given = false, created = false, stale = false;
	sigset_t sigs;
	size_t rlen = 0;
	int opt, rc, status = 1;

	c->listen_fd = -1;
	c->sig_fd = -1;
	for (unsigned int i = 0; i < DIALS_MAX; i++)
		c->dials[i].fd = -1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			c->table_name = optarg;
			break;
		case 's':
			state = optarg;
			break;
		case 'a':
			c->admin_path = optarg;
			break;
		case 'c':
			if (keyspec_parse_uint(optarg, 1, KEYTABLE_CAPACITY_MAX, &cap,
					       "--capacity", err, sizeof(err)) < 0)
				bad_usage("%s", err);
			cap_given = true;
			break;
		case 'n':
			if (!store_name_valid(optarg))
				bad_usage("--tenant: a name is 1 to 64 characters of A-Z a-z "
					  "0-9 . _ -");
			c->tenant = optarg;
			break;
		case 'l':
			c->call_listen = optarg;
			if (calls_addresses_check(optarg, NULL, err, sizeof(err)) < 0)
				bad_usage("%s", err);
			break;
		case 'm':
			c->media_pool = optarg;
			if (calls_addresses_check(NULL, optarg, err, sizeof(err)) < 0)
				bad_usage("%s", err);
			break;
		case 'T': {
			uint64_t ms;

			if (keyspec_parse_uint(optarg, 100, 600000, &ms, "--handshake-timeout",
					       err, sizeof(err)) < 0)
				bad_usage("%s", err);
			c->handshake_timeout_ms = (unsigned int)ms;
			break;
		}
		case 'u':
			c->tofu = true;
			break;
		case 'r':
			if (sodium_base642bin(c->recorder, sizeof(c->recorder), optarg,
					      strlen(optarg), NULL, &rlen, NULL,
					      sodium_base64_VARIANT_ORIGINAL) != 0 ||
			    rlen != sizeof(c->recorder))
				bad_usage("--recorder-key: the recorder's X25519 public key, "
					  "32 octets in base64");
			c->has_recorder = true;
			break;
		case 'E':
			c->end_calls_on_exit = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case ':':
			bad_usage("%s needs a value", argv[optind - 1]);
		default:
			bad_usage("unknown option %s", argv[optind - 1]);
		}
	}
	if (optind < argc)
		bad_usage("unexpected argument '%s'", argv[optind]);
	if (c->table_name == NULL)
		bad_usage("--table NAME is required");
	if (state == NULL)
		bad_usage("--state DIR is required");
	if (c->admin_path == NULL)
		bad_usage("--admin SOCKET is required");
	if (c->call_listen != NULL && c->tenant == NULL)
		bad_usage("--listen needs --tenant NAME (calls are between the tenant's users)");
	if (c->media_pool == NULL)
		c->media_pool = DEFAULT_MEDIA_POOL;
	if (c->handshake_timeout_ms == 0)
		c->handshake_timeout_ms = CALLS_DEFAULT_TIMEOUT_MS;

	/* keys must not end up in a core file */
	setrlimit(RLIMIT_CORE, &nocore);
	/* every call with a control channel holds a descriptor: take what the
	 * hard limit allows (often 1,024 soft against 524,288 hard) */
	if (getrlimit(RLIMIT_NOFILE, &nofile) == 0 && nofile.rlim_cur < nofile.rlim_max) {
		nofile.rlim_cur = nofile.rlim_max;
		(void)setrlimit(RLIMIT_NOFILE, &nofile);
	}
	if (sodium_init() < 0) {
		logline("libsodium failed to initialise");
		return 1;
	}
	c->s = sodium_malloc(sizeof(*c->s));
	if (c->s == NULL) {
		logline("cannot allocate locked memory for key scratch (%zu bytes)",
			sizeof(*c->s));
		return 1;
	}
	memset(c->s, 0, sizeof(*c->s));

	/* signals: handled in the poll loop, after the request in progress */
	sigemptyset(&sigs);
	sigaddset(&sigs, SIGINT);
	sigaddset(&sigs, SIGTERM);
	if (sigprocmask(SIG_BLOCK, &sigs, NULL) < 0 ||
	    (c->sig_fd = signalfd(-1, &sigs, SFD_CLOEXEC | SFD_NONBLOCK)) < 0) {
		logline("signalfd: %s", strerror(errno));
		goto out;
	}
	signal(SIGPIPE, SIG_IGN);

	rc = state_dir(state, err, sizeof(err));
	if (rc < 0) {
		logline("%s", err);
		goto out;
	}
	if (c->tenant != NULL) {
		char serr[STORE_ERR_MAX];

		rc = store_open(state, c->tenant, STORE_OPEN_CREATE, &c->store, serr,
				sizeof(serr));
		if (rc < 0) {
			logline("store in %s: %s", state, serr);
			goto out;
		}
		logline("store %s/" STORE_DB_NAME " open for tenant %s", state,
			store_tenant(c->store));
	}
	/* the table first: a second daemon on it is told which pid holds it */
	rc = open_table(c, (uint32_t)cap, cap_given, &created);
	if (rc < 0)
		goto out;
	rc = admin_listen(c->admin_path, &c->admin_ino, &stale, err, sizeof(err));
	if (rc < 0) {
		logline("%s", err);
		goto out;
	}
	c->listen_fd = rc;
	if (c->call_listen != NULL) {
		struct calls_config cc = {
			.table = c->table, .store = c->store, .tenant = store_tenant(c->store),
			.listen = c->call_listen, .timeout_ms = c->handshake_timeout_ms,
			.media_pool = c->media_pool, .tofu = c->tofu,
			.recorder_public_key = c->has_recorder ? c->recorder : NULL,
			.event = call_event, .event_ctx = c,
		};
		struct calls_resume_report rr;
		char cerr[CALLS_ERR_MAX];

		rc = calls_create(&c->calls, &cc, cerr, sizeof(cerr));
		if (rc < 0) {
			logline("calls: %s", cerr);
			goto out;
		}
		/* the calls of a previous run: active ones go on, leftovers go */
		rc = calls_resume(c->calls, &rr, cerr, sizeof(cerr));
		if (rc < 0) {
			logline("calls: %s", cerr);
			goto out;
		}
		if (rr.resumed || rr.failed || rr.removed)
			logline("calls of the previous run: %u active taken over (detached), "
				"%u marked failed, %u key table entries of ended calls removed",
				rr.resumed, rr.failed, rr.removed);
		if (getrlimit(RLIMIT_NOFILE, &nofile) != 0)
			nofile.rlim_cur = 0;
		logline("calls: listening on %s (port %u), media pool %s, handshake timeout "
			"%u ms, trust on first use %s, descriptor limit %llu (one per call)",
			c->call_listen, (unsigned int)calls_listen_port(c->calls), c->media_pool,
			c->handshake_timeout_ms, c->tofu ? "on" : "off",
			(unsigned long long)nofile.rlim_cur);
	}
	if (stale)
		logline("replaced a stale admin socket at %s", c->admin_path);
	logline("pid %d serving admin socket %s (protocol %u) for table callseal.%s",
		(int)getpid(), c->admin_path, ADMIN_PROTO_VERSION, c->table_name);

	status = run(c) < 0 ? 1 : 0;
out:
	if (c->calls != NULL && c->end_calls_on_exit)
		calls_destroy(c->calls);   /* ends every call: entries deleted */
	else if (c->calls != NULL)
		calls_release(c->calls);   /* active calls go on; the next run resumes them */
	if (c->listen_fd >= 0) {
		close(c->listen_fd);
		admin_unlink_own(c->admin_path, c->admin_ino);
	}
	if (c->table != NULL) {
		struct keytable_info info;

		keytable_info(c->table, &info);
		keytable_detach(c->table);
		if (status != 0 && created && info.count == 0) {
			/* a table this run made and never used: do not leave it */
			keytable_unlink(c->table_name, NULL, 0);
		} else if (status == 0) {
			logline("stopped; table callseal.%s kept (entries: %u)",
				c->table_name, info.count);
		}
	}
	if (c->store != NULL)
		store_close(c->store);
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	free(c->fds);
	sodium_free(c->s);    /* wipes */
	return status;
}
