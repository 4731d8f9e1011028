/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * main.c - callseal-control, the control daemon: start-up, options and the
 * poll loop. Its one job is to bring the daemon up and keep it turning: the
 * single writer of the shared-memory key table, serving static keying over
 * the admin socket, and, with --tenant, the tenant's users, groups, E2EE
 * policies and peers in the store (docs/operations.md, docs/policy.md), and,
 * with --listen, calls: the call manager (calls.c, docs/calls.md) runs in the
 * same poll loop. admin_server.c serves the admin clients; each admin
 * command is a row of control/commands/commands.c with its handler in
 * control/commands/ (key.c, directory.c, call.c, status.c).
 *
 * Nothing in the loop waits for a client: the admin clients (up to
 * ADMIN_CLIENTS_MAX at once, each with its deadline) are polled with the
 * calls' descriptors, a request is read as its bytes come and its reply sent
 * as the socket takes it, so a slow or silent client costs its own slot and
 * nothing else. A call dial keeps its client's connection and is answered from
 * the call event when the attempt is over (call.c). Key bytes live only in
 * sodium_malloc'd (locked, guarded) buffers that are wiped after every
 * request, and never reach a log line or a reply.
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <malloc.h>
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
#include <sqlite3.h>

#include "admin.h"
#include "callseal_version.h"
#include "calls.h"
#include "dirspec.h"
#include "hygiene.h"
#include "keyspec.h"
#include "opts.h"
#include "callseal/dpstats.h"
#include "callseal/keytable.h"
#include "sdnotify.h"
#include "store.h"

#include "admin_server.h"
#include "handler.h"
#include "metrics.h"

/* The heap is kept instead of given back at each free (mallopt). It was
 * found with SQLite's temporary b-trees (a ~170 KiB page cache for each
 * IN (...) list of the calls table's CHECKs, on every call record: with
 * glibc's defaults, trim above 128 KiB, each was a brk up and down and ~40
 * fresh zeroed pages faulted in). Schema 5 removed those lists; the setting
 * stays for any per-call block of that size (docs/benchmarks.md, "Call
 * set-ups end to end"), at the cost of up to 16 MiB of free heap kept. */
#define HEAP_MMAP_THRESHOLD (1u << 20)   /* blocks under 1 MiB from the heap */
#define HEAP_TRIM_THRESHOLD (16u << 20)  /* give back free heap over 16 MiB */

#define DEFAULT_CAPACITY 262144u   /* 2^19 slots x 256 B = 128 MiB of /dev/shm */
#define DEFAULT_MEDIA_POOL "127.0.0.1:20000-29999"
/* the poll array's first size (signals, the admin server's entries, the
 * metrics server's, then room for calls); it grows */
#define POLL_FDS_MIN     (1u + ADMIN_POLL_MAX + METRICS_POLL_MAX + 64u)

/* ---- start-up ---------------------------------------------------------------- */

/* --rekey-interval: seconds without a new key generation before an active
 * call is rekeyed (docs/calls.md, "Key limits"); 0 = never. */
#define REKEY_INTERVAL_DEFAULT 3600u
static unsigned int rekey_interval_s = REKEY_INTERVAL_DEFAULT;
/* --call-history: seconds ended calls stay in the store (docs/calls.md,
 * "Call history"); 0 = keep none. At most ten years. */
#define CALL_HISTORY_MAX 315360000u
static unsigned int call_history_s = CALLS_DEFAULT_HISTORY_S;
static bool call_history_given;
/* --srtp-profiles: the SRTP profiles offered in every call (docs/calls.md,
 * "SRTP profiles"); none given = callproto's default offer (GCM, then AES-CM). */
static uint16_t srtp_offer[CALLPROTO_MAX_PROFILES];
static size_t n_srtp_offer;

static void usage(FILE *f)
{
	fprintf(f,
"usage: " PROG " --table NAME --state DIR --admin SOCKET [--tenant NAME]\n"
"                        [--capacity N] [--listen ADDR:PORT [--media-pool IP:LO-HI]\n"
"                        [--handshake-timeout MS] [--rekey-interval S]\n"
"                        [--max-handshakes N] [--max-handshakes-per-source N]\n"
"                        [--handshake-idle MS] [--call-history S]\n"
"                        [--trust-on-first-use] [--srtp-profiles LIST]\n"
"                        [--recorder-key BASE64] [--end-calls-on-exit]]\n"
"                        [--metrics ADDR:PORT] [--dumpable]\n"
"\n"
"The callseal control daemon. It is the single writer of the shared-memory key\n"
"table /dev/shm/callseal.NAME that callseal-dataplane reads, and serves the\n"
"admin commands of callsealctl on a Unix socket.\n"
"\n"
"  --table NAME     key table /dev/shm/callseal.NAME (A-Z a-z 0-9 . _ -, at most\n"
"                   64). Created if absent; otherwise attached as its only\n"
"                   writer (recovering an operation a killed writer left half\n"
"                   done). A table that another daemon writes is refused.\n"
"                   `callsealctl stats` reads the counters of the table's\n"
"                   callseal-dataplane (/dev/shm/callseal.NAME.stats).\n"
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
"                   (1..%u, default %u = 128 MiB of /dev/shm). The table takes\n"
"                   4096 + 256 x 2^k bytes, 2^k >= 2 x N; it is reserved at\n"
"                   creation. Ignored when the table exists.\n"
"  --listen ADDR:PORT  accept calls for the tenant's users on this TCP address\n"
"                   and make calls (call commands; needs --tenant;\n"
"                   docs/calls.md). Without it, no calls.\n"
"  --media-pool IP:LO-HI  media addresses this side receives calls on (and\n"
"                   dials from without --local-media); default " DEFAULT_MEDIA_POOL "\n"
"  --handshake-timeout MS  per call attempt, start to keys (default 10000)\n"
"  --max-handshakes N  incoming handshakes not yet authenticated held at once,\n"
"                   and (a second budget) this side's dials in progress\n"
"                   (1..4096, default %u)\n"
"  --max-handshakes-per-source N  of those, from one source address (1..4096,\n"
"                   at most --max-handshakes, default %u): raise it for a\n"
"                   peer site that dials many calls at once\n"
"  --handshake-idle MS  an incoming connection silent this long is closed\n"
"                   (100..600000, at most --handshake-timeout, default %u)\n"
"  --rekey-interval S  rekey an active call after S seconds without a new key\n"
"                   (either side's); 0 = never (default 3600, at most 604800)\n"
"  --call-history S  keep ended and failed calls (call list --ended, call show:\n"
"                   start, end, who ended it and why, final counters; never\n"
"                   keys) in the store for S seconds, then forget them; 0 =\n"
"                   keep none (default %u = 7 days, at most %u)\n"
"  --trust-on-first-use  accept and record an unknown peer key (else refused)\n"
"  --srtp-profiles LIST  the SRTP profiles offered in every call, comma-separated:\n"
"                   AEAD_AES_256_GCM, AEAD_AES_128_GCM, AES_CM_128_HMAC_SHA1_80,\n"
"                   AES_CM_128_HMAC_SHA1_32 (default: all four). The call takes\n"
"                   the first of that order both sides offer (GCM first, whatever\n"
"                   the order given); leave GCM out only for a site whose media\n"
"                   must be AES-CM\n"
"  --recorder-key BASE64  X25519 public key of the authorised compliance\n"
"                   recorder: `call keys ID` of a standard call prints the\n"
"                   call's keys sealed to it (crypto_box_seal; docs/calls.md).\n"
"                   Without it `call keys` is refused in every call.\n"
"  --end-calls-on-exit  on SIGINT/SIGTERM end every call (END to the peers,\n"
"                   keys deleted). Default: active calls go on (keys stay in\n"
"                   the table) and the next run takes them over, detached.\n"
"  --metrics ADDR:PORT  serve the dataplane's statistics over HTTP for a\n"
"                   Prometheus scrape: GET http://ADDR:PORT/metrics answers what\n"
"                   `callsealctl stats --prometheus` prints (numeric IPv4 or\n"
"                   [IPv6]; port 0 picks a free one, the log names it). The\n"
"                   statistics only: no calls, no keys. At most %u clients at\n"
"                   once (one more: 503), %d ms for each exchange. Without it,\n"
"                   no HTTP.\n"
"  --dumpable       stay dumpable (debugging: core files, ptrace by the same\n"
"                   user). Default: non-dumpable (PR_SET_DUMPABLE 0), no core.\n"
"  --help           this text\n"
"  --version        one line: the version, the ABIs of the key table, the\n"
"                   statistics area it reads and the admin protocol, libsodium\n"
"                   and SQLite\n"
"\n"
"Logs go to stderr: start-up, one line per admin change (never key bytes).\n"
"SIGINT or SIGTERM: stop serving, remove the socket, detach from the table; the\n"
"table and its keys stay (the dataplane keeps forwarding; a restarted daemon\n"
"finds them, takes over the active calls, and removes entries of calls that\n"
"ended or failed meanwhile). Exit status 0 after a signal, 1 if it cannot start, 2 on bad\n"
"options.\n"
"Started by systemd (Type=notify), it reports READY=1 once the socket accepts\n"
"connections, i.e. once the table exists (scripts/systemd/).\n"
"\n"
"example:\n"
"  " PROG " --table main --state /var/lib/callseal --admin /run/callseal/admin.sock \\\n"
"      --tenant contoso\n"
"  callsealctl --admin /run/callseal/admin.sock key list\n",
		KEYTABLE_CAPACITY_MAX, DEFAULT_CAPACITY, CALLS_DEFAULT_MAX_ATTEMPTS,
		CALLS_DEFAULT_MAX_PER_SOURCE, CALLS_DEFAULT_IDLE_MS, CALLS_DEFAULT_HISTORY_S,
		CALL_HISTORY_MAX, METRICS_CLIENTS_MAX, METRICS_TIMEOUT_MS);
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

/* What this run created, removed again if it does not start: the state
 * directory's components (mkdir -p) at made[] (the length of each, in the
 * order made) and the store's files. Nothing that was there before. */
#define MADE_MAX 64u
static struct {
	size_t made[MADE_MAX];
	unsigned int n_made;
	bool db, lock;           /* the store's files did not exist before */
} undo;

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
		if (mkdir(path, 0700) == 0) {
			if (undo.n_made < MADE_MAX)
				undo.made[undo.n_made++] = i;
		} else if (errno != EEXIST) {
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

/* Whether DIR/name exists (as anything). */
static bool state_has(const char *dir, const char *name)
{
	char path[4096];
	struct stat st;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	return lstat(path, &st) == 0;
}

/* A start that failed: remove the store's files and the directories this run
 * created (a directory someone else put something in meanwhile stays). */
static void state_undo(const char *dir)
{
	char path[4096];
	unsigned int k;
	int top = -1;      /* the outermost directory removed */

	if (undo.db) {
		snprintf(path, sizeof(path), "%s/" STORE_DB_NAME, dir);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/" STORE_DB_NAME "-journal", dir);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/" STORE_DB_NAME "-wal", dir);
		(void)unlink(path);
		snprintf(path, sizeof(path), "%s/" STORE_DB_NAME "-shm", dir);
		(void)unlink(path);
	}
	if (undo.lock) {
		snprintf(path, sizeof(path), "%s/" STORE_LOCK_NAME, dir);
		(void)unlink(path);
	}
	for (k = undo.n_made; k-- > 0; top = (int)k) {
		snprintf(path, sizeof(path), "%.*s", (int)undo.made[k], dir);
		if (rmdir(path) < 0)
			break;
	}
	if (top >= 0)
		logline("did not start: removed %.*s again (this run created it)",
			(int)undo.made[top], dir);
	else if (undo.db)
		logline("did not start: removed the store this run created in %s", dir);
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

/* The call manager's descriptors from entry off: the array grows (doubling)
 * until they fit. The number, or -ENOMEM (then none are polled this round,
 * and the growth is tried again on the next). */
static int fill_call_fds(struct ctl *c, size_t off)
{
	int n;

	while ((n = calls_pollfds(c->calls, c->fds + off, c->fds_cap - off)) == -ENOBUFS) {
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
	char serr[STORE_ERR_MAX];
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
		size_t na, nm;
		int n = 0, timeout = -1, admin_timeout = -1, batch_timeout;

		/* [0] signals, [1, 1 + na) the admin socket and its clients,
		 * [1 + na, 1 + na + nm) the metrics socket and its clients, then
		 * the calls (the array may move when it grows: its content stays) */
		na = admin_server_pollfds(c, c->fds + 1, &admin_timeout);
		nm = metrics_pollfds(c, c->fds + 1 + na, &admin_timeout);
		if (c->calls != NULL) {
			n = fill_call_fds(c, 1 + na + nm);
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
		if (admin_timeout >= 0 && (timeout < 0 || timeout > admin_timeout))
			timeout = admin_timeout;
		/* the call records' batch, when it is due (store.h "Durability") */
		batch_timeout = store_batch_due_ms(c->store);
		if (batch_timeout >= 0 && (timeout < 0 || timeout > batch_timeout))
			timeout = batch_timeout;
		p = c->fds;
		p[0] = (struct pollfd){ .fd = c->sig_fd, .events = POLLIN };
		if (poll(p, (nfds_t)(1 + na + nm + (size_t)n), timeout) < 0) {
			if (errno == EINTR)
				continue;
			rc = -errno;
			logline("poll: %s", strerror(errno));
			break;
		}
		if (c->calls != NULL)
			calls_handle(c->calls, p + 1 + na + nm, (size_t)n);
		if (p[0].revents & POLLIN) {
			if (read(c->sig_fd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
				logline("stopping on %s", si.ssi_signo == SIGINT ? "SIGINT" :
					si.ssi_signo == SIGTERM ? "SIGTERM" : "a signal");
				break;
			}
		}
		admin_server_handle(c, p + 1, na);
		metrics_handle(c, p + 1 + na, nm);
		/* the call records of the last STORE_BATCH_WAIT_MS: one commit,
		 * no sync (store.h "Durability") */
		if (store_batch_due_ms(c->store) == 0 &&
		    store_batch_flush(c->store, serr, sizeof(serr)) < 0)
			logline("store: committing call records: %s", serr);
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
		{ "rekey-interval", required_argument, NULL, 'R' },
		{ "call-history", required_argument, NULL, 'Y' },
		{ "max-handshakes", required_argument, NULL, 'H' },
		{ "max-handshakes-per-source", required_argument, NULL, 'P' },
		{ "handshake-idle", required_argument, NULL, 'I' },
		{ "trust-on-first-use", no_argument, NULL, 'u' },
		{ "srtp-profiles", required_argument, NULL, 'S' },
		{ "recorder-key", required_argument, NULL, 'r' },
		{ "end-calls-on-exit", no_argument, NULL, 'E' },
		{ "metrics", required_argument, NULL, 'M' },
		{ "dumpable", no_argument, NULL, 'D' },
		{ "help", no_argument, NULL, 'h' },
		{ "version", no_argument, NULL, 'V' },
		{ NULL, 0, NULL, 0 },
	};
	static struct ctl ctl;
	struct ctl *c = &ctl;
	const char *state = NULL;
	char err[KEYSPEC_ERR_MAX];
	struct rlimit nocore = { 0, 0 }, nofile;
	uint64_t cap = DEFAULT_CAPACITY;
	bool cap_given = false, created = false, stale = false, dumpable = false;
	bool started = false;
	sigset_t sigs;
	size_t rlen = 0;
	int opt, rc, status = 1;

	(void)mallopt(M_MMAP_THRESHOLD, HEAP_MMAP_THRESHOLD);
	(void)mallopt(M_TRIM_THRESHOLD, HEAP_TRIM_THRESHOLD);
	c->listen_fd = -1;
	c->sig_fd = -1;
	opterr = 0;
	while ((opt = getopt_long(argc, argv, ":", longopts, NULL)) != -1) {
		switch (opt) {
		case 't':
			if (keytable_name_check(optarg, err, sizeof(err)) < 0)
				bad_usage("--table: %s", err);
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
		case 'R': {
			uint64_t s;

			if (keyspec_parse_uint(optarg, 0, 604800, &s, "--rekey-interval",
					       err, sizeof(err)) < 0)
				bad_usage("%s", err);
			rekey_interval_s = (unsigned int)s;
			break;
		}
		case 'Y': {
			uint64_t s;

			if (keyspec_parse_uint(optarg, 0, CALL_HISTORY_MAX, &s, "--call-history",
					       err, sizeof(err)) < 0)
				bad_usage("%s", err);
			call_history_s = (unsigned int)s;
			call_history_given = true;
			break;
		}
		case 'H':
		case 'P':
		case 'I': {
			const char *name = opt == 'H' ? "--max-handshakes" :
					   opt == 'P' ? "--max-handshakes-per-source" :
							"--handshake-idle";
			uint64_t v;

			if (keyspec_parse_uint(optarg, opt == 'I' ? 100 : 1,
					       opt == 'I' ? 600000 : 4096, &v, name, err,
					       sizeof(err)) < 0)
				bad_usage("%s", err);
			*(opt == 'H' ? &c->max_handshakes : opt == 'P' ? &c->max_per_source :
				       &c->handshake_idle_ms) = (unsigned int)v;
			break;
		}
		case 'u':
			c->tofu = true;
			break;
		case 'S':
			if (callproto_profiles_parse(optarg, srtp_offer, &n_srtp_offer,
						     "--srtp-profiles", err, sizeof(err)) < 0)
				bad_usage("%s", err);
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
		case 'M':
			if (metrics_check(optarg, err, sizeof(err)) < 0)
				bad_usage("%s", err);
			c->metrics_addr = optarg;
			break;
		case 'D':
			dumpable = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		case 'V': {
			char extra[160];

			snprintf(extra, sizeof(extra), "key-table ABI %u, statistics ABI %u, "
				 "admin protocol %u, libsodium %s, SQLite %s",
				 (unsigned int)KEYTABLE_ABI_VERSION,
				 (unsigned int)DPSTATS_ABI_VERSION, (unsigned int)ADMIN_PROTO_VERSION,
				 sodium_version_string(), sqlite3_libversion());
			callseal_version_print(stdout, PROG, extra);
			return 0;
		}
		case ':':
			bad_usage("%s needs a value", argv[optind - 1]);
		default:
			bad_usage("%s", opts_unknown_getopt(argv[optind - 1], longopts, err,
							    sizeof(err)));
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
	if ((c->max_handshakes || c->max_per_source || c->handshake_idle_ms) &&
	    c->call_listen == NULL)
		bad_usage("--max-handshakes, --max-handshakes-per-source and --handshake-idle "
			  "need --listen");
	if (call_history_given && c->call_listen == NULL)
		bad_usage("--call-history needs --listen (the history is of calls)");
	if (n_srtp_offer && c->call_listen == NULL)
		bad_usage("--srtp-profiles needs --listen (the profiles are offered in calls)");
	if (c->max_per_source > (c->max_handshakes ? c->max_handshakes
						   : CALLS_DEFAULT_MAX_ATTEMPTS))
		bad_usage("--max-handshakes-per-source %u is more than --max-handshakes %u",
			  c->max_per_source, c->max_handshakes ? c->max_handshakes
							       : CALLS_DEFAULT_MAX_ATTEMPTS);
	if (c->handshake_idle_ms > c->handshake_timeout_ms)
		bad_usage("--handshake-idle %u is longer than --handshake-timeout %u",
			  c->handshake_idle_ms, c->handshake_timeout_ms);

	if (admin_server_complete() != NULL) {
		logline("command '%s' has no handler in this build", admin_server_complete());
		return 1;
	}
	/* keys must not end up in a core file, nor be read by ptrace */
	if (!dumpable)
		setrlimit(RLIMIT_CORE, &nocore);
	if ((rc = hygiene_dumpable(dumpable)) < 0) {
		logline("prctl(PR_SET_DUMPABLE): %s", strerror(-rc));
		return 1;
	}
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

		undo.db = !state_has(state, STORE_DB_NAME);
		undo.lock = !state_has(state, STORE_LOCK_NAME);
		rc = store_open(state, c->tenant, STORE_OPEN_CREATE, &c->store, serr,
				sizeof(serr));
		if (rc == -EBUSY) {
			/* "in use by pid N": another daemon, which made the lock file */
			undo.lock = undo.db = false;
			logline("store in %s: %s: another callseal-control uses it (stop that "
				"one first)", state, serr);
			goto out;
		} else if (rc < 0) {
			logline("store in %s: %s", state, serr);
			goto out;
		}
		{
			struct store_stats ss;

			store_stats(c->store, &ss);
			logline("store %s/" STORE_DB_NAME " open for tenant %s (journal %s: admin "
				"changes synced, call records batched; docs/operations.md "
				"\"Durability of the store\")", state, store_tenant(c->store),
				ss.wal ? "WAL" : "rollback, WAL not supported here");
		}
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
	rc = admin_server_create(c);
	if (rc < 0) {
		logline("out of memory for the admin clients");
		goto out;
	}
	rc = stats_create(c, err, sizeof(err));
	if (rc < 0) {
		logline("%s", rc == -ENOMEM ? "out of memory for the statistics" : err);
		goto out;
	}
	if (c->metrics_addr != NULL) {
		rc = metrics_create(c, err, sizeof(err));
		if (rc < 0) {
			logline("%s", err);
			goto out;
		}
		logline("metrics: serving %s (the dataplane's statistics; at most %u clients "
			"at once)", c->metrics_url, METRICS_CLIENTS_MAX);
	}
	if (c->call_listen != NULL) {
		struct calls_config cc = {
			.table = c->table, .store = c->store, .tenant = store_tenant(c->store),
			.listen = c->call_listen, .timeout_ms = c->handshake_timeout_ms,
			.max_attempts = c->max_handshakes, .max_per_source = c->max_per_source,
			.idle_ms = c->handshake_idle_ms,
			.media_pool = c->media_pool, .tofu = c->tofu,
			.recorder_public_key = c->has_recorder ? c->recorder : NULL,
			.rekey_interval_s = rekey_interval_s,
			.history_s = call_history_s ? call_history_s : CALLS_HISTORY_NONE,
			.stats_table = c->table_name, .log = call_log,   /* index reuse */
			.event = call_event, .event_ctx = c,
			.profiles = n_srtp_offer ? srtp_offer : NULL, .n_profiles = n_srtp_offer,
		};
		struct calls_resume_report rr;
		char cerr[CALLS_ERR_MAX], offer[160] = "";
		uint16_t shown[CALLPROTO_MAX_PROFILES];
		size_t n_shown = n_srtp_offer;

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
		if (n_shown)
			memcpy(shown, srtp_offer, n_shown * sizeof(shown[0]));
		else
			n_shown = callproto_profiles_default(shown);
		for (size_t i = 0, off = 0; i < n_shown && off < sizeof(offer); i++)
			off += (size_t)snprintf(offer + off, sizeof(offer) - off, "%s%s",
						i ? "," : "", callproto_profile_name(shown[i]));
		logline("calls: listening on %s (port %u), media pool %s, handshake timeout "
			"%u ms, rekey interval %u s, call history %u s, trust on first use %s, "
			"SRTP profiles offered %s, descriptor limit %llu (one per call)",
			c->call_listen, (unsigned int)calls_listen_port(c->calls), c->media_pool,
			c->handshake_timeout_ms, rekey_interval_s, call_history_s,
			c->tofu ? "on" : "off", offer,
			(unsigned long long)nofile.rlim_cur);
	}
	if (stale)
		logline("replaced a stale admin socket at %s", c->admin_path);
	logline("pid %d serving admin socket %s (protocol %u, at most %u clients at once) "
		"for table callseal.%s", (int)getpid(), c->admin_path, ADMIN_PROTO_VERSION,
		ADMIN_CLIENTS_MAX, c->table_name);
	/* systemd (Type=notify): ready now, the table made and the socket
	 * accepting; units ordered after this one may start */
	if ((rc = sdnotify("READY=1")) < 0)
		logline("cannot notify the service manager ($NOTIFY_SOCKET): %s", strerror(-rc));

	started = true;
	status = run(c) < 0 ? 1 : 0;
	(void)sdnotify("STOPPING=1");
out:
	if (c->calls != NULL && c->end_calls_on_exit)
		calls_destroy(c->calls);   /* ends every call: entries deleted */
	else if (c->calls != NULL)
		calls_release(c->calls);   /* active calls go on; the next run resumes them */
	admin_server_destroy(c);
	metrics_destroy(c);
	stats_destroy(c);
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
	/* a failed start leaves nothing it created: the files go while the
	 * store's lock is still held */
	if (!started && status != 0 && state != NULL)
		state_undo(state);
	if (c->store != NULL && started) {
		struct store_stats ss;

		(void)store_batch_flush(c->store, NULL, 0);
		store_stats(c->store, &ss);
		logline("store: %" PRIu64 " statements prepared (%u kept), %" PRIu64 " changes "
			"committed with a sync, %" PRIu64 " call records in %" PRIu64 " batches",
			ss.prepares, ss.cached, ss.full_commits, ss.records, ss.batches);
	}
	if (c->store != NULL)
		store_close(c->store);
	if (c->sig_fd >= 0)
		close(c->sig_fd);
	free(c->fds);
	sodium_free(c->s);    /* wipes */
	return status;
}
