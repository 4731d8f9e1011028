/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * handler.h - what callseal-control's command handlers share with the daemon:
 * the daemon's state (struct ctl), the locked scratch a request's key bytes
 * live in, the handler signature, and the reply helpers (reply.c) every
 * handler uses to write text rows and JSON.
 */
#ifndef CALLSEAL_HANDLER_H
#define CALLSEAL_HANDLER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include <poll.h>
#include <sodium.h>

#include "admin.h"
#include "calls.h"
#include "commands.h"
#include "dirspec.h"
#include "keyspec.h"
#include "callseal/keytable.h"
#include "store.h"

#define PROG             "callseal-control"
#define DIALS_MAX        64u        /* call dials waiting for an answer at once */
#define DIAL_PENDING     (-EINPROGRESS) /* a command's "the answer comes later" */
#define ADMIN_CLIENTS_MAX 64u       /* admin clients being read or answered at
				     * once (waiting dials apart): one more is
				     * refused at accept */
#define METRICS_CLIENTS_MAX 16u     /* --metrics: HTTP clients served at once
				     * (metrics.c): one more gets 503 at accept */

/* What the admin server counts (admin_server.c; `status` prints it). */
struct admin_stats {
	uint64_t accepted;       /* clients taken in */
	uint64_t refused_full;   /* refused at accept: ADMIN_CLIENTS_MAX already */
	uint64_t refused_uid;    /* refused: neither this uid nor root (SO_PEERCRED) */
	uint64_t timed_out;      /* closed at a deadline: request, reply or dial */
	uint64_t bad_request;    /* answered an error: a malformed request */
	uint64_t left;           /* went away before their answer was taken */
	unsigned int clients;    /* connected now, dials included */
	unsigned int dials;      /* dials waiting, or their answer being sent */
};
/* What the --metrics HTTP server counts (metrics.c; `status` prints it). */
struct metrics_stats {
	uint64_t accepted;       /* clients taken in */
	uint64_t answered;       /* 200 answers (/metrics and /) */
	uint64_t refused_full;   /* answered 503 at accept: METRICS_CLIENTS_MAX already */
	uint64_t timed_out;      /* closed at their deadline */
	uint64_t bad_request;    /* answered 400, 404, 405 or 500 */
	uint64_t left;           /* went away before their answer was sent */
	unsigned int clients;    /* connected now */
};
struct admin_clients;            /* admin_server.c */
struct metrics;                  /* metrics.c */
struct ctl_stats;                /* stats.c */

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
	struct admin_out out;     /* the reply of the request being served,
				   * queued for its client (never key bytes) */
	struct admin_clients *clients;   /* admin_server.c: each connected client */
	struct admin_stats admin_stats;
	struct ctl_stats *stats;  /* stats.c: the dataplane's statistics area */
	/* --metrics: the HTTP server of the statistics (metrics.c); NULL: none */
	const char *metrics_addr;
	struct metrics *metrics;
	struct metrics_stats metrics_stats;
	char metrics_url[80];     /* "http://[v6]:port/metrics" */
	ino_t admin_ino;
	int listen_fd;
	int sig_fd;
	/* calls (--listen): the manager, its options, the dial being waited for */
	struct calls *calls;
	const char *call_listen;
	const char *media_pool;
	unsigned int handshake_timeout_ms;
	unsigned int max_handshakes, max_per_source, handshake_idle_ms; /* 0: defaults */
	bool tofu;
	bool end_calls_on_exit;
	bool has_recorder;
	uint8_t recorder[CALLS_RECORDER_KEY_LEN];   /* public: crypto_box_seal */
	/* call dials waiting for their result: the admin connection stays open
	 * and is answered from the call event, while other requests are served;
	 * the answer goes into the client's reply queue, which the admin server
	 * then sends (and drops, with this entry, if the client leaves first) */
	struct pending_dial {
		struct admin_queue *q;       /* NULL = free */
		bool json;                   /* answer as a JSON object */
		char id[CALLS_ID_LEN + 1];
	} dials[DIALS_MAX];
	struct admin_out dial_out;       /* the reply of a finished dial */
	/* signal fd, admin socket, the admin clients (admin_server_pollfds()),
	 * then the call manager's descriptors (one per call with a control
	 * channel, plus its listen socket): grown as needed */
	struct pollfd *fds;
	size_t fds_cap;
	/* the request being served: its command and client */
	enum command_id cmd;
	pid_t peer_pid;
	uid_t peer_uid;
};

/* A handler: argv holds the words after the command's name. Output goes to
 * out; msg gets the reply's one-line message. 0 or a negative errno. */
typedef int (*command_fn)(struct ctl *c, int argc, const char *const argv[],
			  char *msg, size_t msglen);

__attribute__((format(printf, 1, 2)))
void logline(const char *fmt, ...);

/* ---- reply.c: text and JSON helpers ---- */
#define FINGERPRINT_STR 40u   /* 8 groups of 4 hex digits, ':' between, NUL */
#define KEY_B64_STR     sodium_base64_ENCODED_LEN(STORE_PUBLIC_KEY_BYTES, \
						  sodium_base64_VARIANT_ORIGINAL)
const char *fingerprint(const uint8_t pk[STORE_PUBLIC_KEY_BYTES], char buf[FINGERPRINT_STR]);
const char *key_b64(const uint8_t pk[STORE_PUBLIC_KEY_BYTES], char buf[KEY_B64_STR]);
const char *unix_time(int64_t s, char buf[KEYSPEC_TIME_STR]);
void json_str(struct admin_out *o, const char *s);
const char *age_ms(uint64_t then_ns, char *buf, size_t n);
void json_change(struct ctl *c, const char *command, const char *key, const char *value,
		 char *msg);
void log_change(struct ctl *c, const char *msg);

/* A growable array of list rows (public data only). */
struct rows {
	void *v;
	size_t n, cap, size;
};
int rows_push(struct rows *r, const void *row);
int list_failed(int rc, const char *what, char *msg, size_t msglen);
void list_end(struct ctl *c, bool json, size_t n);

/* ---- the handlers (key.c, directory.c, call.c, status.c), one per row of
 * the command table: control/daemon/admin_server.c maps them ---- */
#define HANDLER(name) int name(struct ctl *c, int argc, const char *const argv[], \
			       char *msg, size_t msglen)
HANDLER(cmd_key_add); HANDLER(cmd_key_rekey); HANDLER(cmd_key_del); HANDLER(cmd_key_list);
/* directory.c: group add/del, user del, policy del, peer del (a name only) */
HANDLER(cmd_dir_name);
/* directory.c: user set, policy add, policy set (an E2EE value) */
HANDLER(cmd_dir_e2ee);
HANDLER(cmd_group_list); HANDLER(cmd_user_add); HANDLER(cmd_user_list);
HANDLER(cmd_user_show); HANDLER(cmd_policy_list); HANDLER(cmd_policy_assign);
HANDLER(cmd_policy_unassign); HANDLER(cmd_peer_add); HANDLER(cmd_peer_set);
HANDLER(cmd_peer_list);
HANDLER(cmd_call_dial); HANDLER(cmd_call_list); HANDLER(cmd_call_show);
HANDLER(cmd_call_end); HANDLER(cmd_call_rekey); HANDLER(cmd_call_feature);
HANDLER(cmd_status); HANDLER(cmd_stats); HANDLER(cmd_help);

/* ---- stats.c: the dataplane's statistics area of the daemon's table ---- */
/* Follow the area of c->table_name (none yet is fine). 0, -EINVAL, -ENOMEM. */
int stats_create(struct ctl *c, char *err, size_t errlen);
void stats_destroy(struct ctl *c);
/* Where stats output goes: write(ctx, s, n) for each piece of text. */
struct stats_emit {
	void (*write)(void *ctx, const char *s, size_t n);
	void *ctx;
};
/* The Prometheus text format 0.0.4 of the area, read now (a reading for the
 * rates too): `stats --prometheus` and --metrics (metrics.c). Always an
 * answer (callseal_dataplane_up 0 alone without an area): 0, or -ENOMEM
 * with nothing written. Never waits. */
int stats_prometheus(struct ctl *c, const struct stats_emit *e);

/* The call manager's event (call.c): logged; a waiting dial is answered. */
void call_event(void *ctx, const struct calls_info *in);
/* What the call manager does by itself (call.c): logged. */
void call_log(void *ctx, const char *line);

#endif /* CALLSEAL_HANDLER_H */
