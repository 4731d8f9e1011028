/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control.c - callseal-control: the control daemon. Today: the single writer
 * of the shared-memory key table, serving static keying over the admin
 * socket (docs/operations.md). Later: identities, users, policies, calls and
 * the Noise key agreement; each new admin command is one row of commands[].
 *
 * One request at a time, from a poll loop; every read and write on a client
 * is bounded by ADMIN_TIMEOUT_MS, so a slow or silent client cannot wedge the
 * daemon. Key bytes live only in sodium_malloc'd (locked, guarded) scratch
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
#include "keyspec.h"
#include "keytable.h"

#define PROG             "callseal-control"
#define DEFAULT_CAPACITY 262144u   /* 2^19 slots x 192 B = 96 MiB of /dev/shm */

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
	struct keytable *table;
	struct scratch *s;
	struct admin_out out;     /* reply buffer (never holds key bytes) */
	ino_t admin_ino;
	int listen_fd;
	int sig_fd;
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
	if (group)
		snprintf(msg, msglen, "unknown command '%s %s' (key commands: add, rekey, "
			 "del, list)", word_shown(argv[0], b0),
			 argc >= 2 ? word_shown(argv[1], b1) : "");
	else
		snprintf(msg, msglen, "unknown command '%s' (commands: key add|rekey|del|list, "
			 "status, help)", word_shown(argv[0], b0));
	return NULL;
}

/* ---- serving one client ----------------------------------------------------- */

static void serve(struct ctl *c, int fd)
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
		return;
	}
	c->peer_pid = cred.pid;
	c->peer_uid = cred.uid;
	/* the socket is 0600 in a directory of the operator's choosing: check
	 * the peer anyway */
	if (cred.uid != geteuid() && cred.uid != 0) {
		logline("admin: refused a client with uid %u pid %d (only uid %u or root)",
			(unsigned int)cred.uid, (int)cred.pid, (unsigned int)geteuid());
		admin_out_end(&c->out, EACCES, "permission denied");
		return;
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
		return;
	}
	cmd = find_command(c->s->req.argc, c->s->req.argv, &skip, msg, sizeof(msg));
	if (cmd == NULL) {
		rc = -EINVAL;
		logline("admin: refused a request from pid %d: %s", (int)cred.pid, msg);
	} else {
		rc = cmd->fn(c, c->s->req.argc - skip,
			     (const char *const *)c->s->req.argv + skip, msg, sizeof(msg));
		if (rc < 0 && cmd->changes)
			logline("refused %s %s from pid %d: %s", cmd->group,
				cmd->name ? cmd->name : "", (int)cred.pid, msg);
	}
	admin_request_wipe(&c->s->req);
	if (admin_out_end(&c->out, rc < 0 ? -rc : 0, msg) < 0 && rc == 0 && cmd != NULL &&
	    cmd->changes)
		logline("admin: pid %d left before its answer (the change stands)",
			(int)cred.pid);
}

/* ---- start-up ---------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --table NAME --state DIR --admin SOCKET [--capacity N]\n"
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
"                   cannot access). Reserved for identities, users and policies.\n"
"  --admin SOCKET   admin socket path (created mode 0600). A stale socket is\n"
"                   replaced; one another daemon listens on is refused.\n"
"  --capacity N     entries the table holds when this daemon creates it\n"
"                   (1..%u, default %u = 96 MiB of /dev/shm). The table takes\n"
"                   4096 + 192 x 2^k bytes, 2^k >= 2 x N; it is reserved at\n"
"                   creation. Ignored when the table exists.\n"
"  --help           this text\n"
"\n"
"Logs go to stderr: start-up, one line per admin change (never key bytes).\n"
"SIGINT or SIGTERM: stop serving, remove the socket, detach from the table; the\n"
"table and its keys stay (the dataplane keeps forwarding; a restarted daemon\n"
"finds them). Exit status 0 after a signal, 1 if it cannot start, 2 on bad\n"
"options.\n"
"\n"
"example:\n"
"  " PROG " --table main --state /var/lib/callseal --admin /run/callseal/admin.sock\n"
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

static int run(struct ctl *c)
{
	struct signalfd_siginfo si;
	int rc = 0;

	for (;;) {
		struct pollfd p[2] = {
			{ .fd = c->sig_fd, .events = POLLIN },
			{ .fd = c->listen_fd, .events = POLLIN },
		};
		int fd;

		if (poll(p, 2, -1) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			logline("poll: %s", strerror(errno));
			break;
		}
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
				logline("accept: %s", strerror(errno));
				usleep(100000);   /* do not spin */
			}
			continue;
		}
		serve(c, fd);
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
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	static struct ctl ctl;
	struct ctl *c = &ctl;
	const char *state = NULL;
	char err[KEYSPEC_ERR_MAX];
	struct rlimit nocore = { 0, 0 };
	uint64_t cap = DEFAULT_CAPACITY;
	bool cap_given = false, created = false, stale = false;
	sigset_t sigs;
	int opt, rc, status = 1;

	c->listen_fd = -1;
	c->sig_fd = -1;
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

	/* keys must not end up in a core file */
	setrlimit(RLIMIT_CORE, &nocore);
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
	if (stale)
		logline("replaced a stale admin socket at %s", c->admin_path);
	logline("pid %d serving admin socket %s (protocol %u) for table callseal.%s",
		(int)getpid(), c->admin_path, ADMIN_PROTO_VERSION, c->table_name);

	status = run(c) < 0 ? 1 : 0;
out:
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
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	sodium_free(c->s);    /* wipes */
	return status;
}
