/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * admin_server.c - callseal-control's admin server (admin_server.h): every
 * accepted client is identified (SO_PEERCRED), gets a slot, and is served from
 * the daemon's poll loop as its bytes come: its request read as far as it has
 * sent it (a partial frame waits in the slot, bounded), dispatched to its
 * command's handler when complete, the reply queued and sent as the socket
 * takes it. Nothing here waits for a client: a stalled one costs its slot
 * until its deadline, and the others (and the calls) are served meanwhile. A
 * call dial's answer comes later (call.c queues it into the slot's reply).
 */
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"

#include <sys/socket.h>
#include <unistd.h>

#include "admin.h"

#include "admin_server.h"
#include "slot_table.h"

/* Each row of the command table (commands.c) and its handler. */
static const command_fn handlers[] = {
	[CMD_KEY_ADD] = cmd_key_add, [CMD_KEY_REKEY] = cmd_key_rekey,
	[CMD_KEY_DEL] = cmd_key_del, [CMD_KEY_LIST] = cmd_key_list,
	[CMD_GROUP_ADD] = cmd_dir_name, [CMD_GROUP_DEL] = cmd_dir_name,
	[CMD_GROUP_LIST] = cmd_group_list,
	[CMD_USER_ADD] = cmd_user_add, [CMD_USER_LIST] = cmd_user_list,
	[CMD_USER_SHOW] = cmd_user_show, [CMD_USER_SET] = cmd_dir_e2ee,
	[CMD_USER_DEL] = cmd_dir_name,
	[CMD_POLICY_ADD] = cmd_dir_e2ee, [CMD_POLICY_SET] = cmd_dir_e2ee,
	[CMD_POLICY_DEL] = cmd_dir_name, [CMD_POLICY_LIST] = cmd_policy_list,
	[CMD_POLICY_ASSIGN] = cmd_policy_assign, [CMD_POLICY_UNASSIGN] = cmd_policy_unassign,
	[CMD_PEER_ADD] = cmd_peer_add, [CMD_PEER_SET] = cmd_peer_set,
	[CMD_PEER_DEL] = cmd_dir_name, [CMD_PEER_LIST] = cmd_peer_list,
	[CMD_CALL_DIAL] = cmd_call_dial, [CMD_CALL_LIST] = cmd_call_list,
	[CMD_CALL_SHOW] = cmd_call_show, [CMD_CALL_END] = cmd_call_end,
	[CMD_CALL_REKEY] = cmd_call_rekey,
	/* the media features (policy.h's list) */
#define FEATURE_HANDLER(id, verb, name, standard) [CMD_CALL_##id] = cmd_call_feature,
	POLICY_MEDIA_FEATURES(FEATURE_HANDLER)
#undef FEATURE_HANDLER
	[CMD_STATUS] = cmd_status, [CMD_STATS] = cmd_stats, [CMD_HELP] = cmd_help,
};
/* a row added at the table's end without a handler fails here; one added
 * in the middle is found by admin_server_complete() at start-up */
_Static_assert(sizeof(handlers) / sizeof(handlers[0]) == CMD_COUNT,
	       "every command of the table has a handler");

const char *admin_server_complete(void)
{
	size_t i;

	for (i = 0; i < CMD_COUNT; i++)
		if (handlers[i] == NULL)
			return commands_name((enum command_id)i);
	return NULL;
}

/* Run the command's handler, or say what the daemon lacks for it. */
static int dispatch(struct ctl *c, enum command_id id, int argc, const char *const argv[],
		    char *msg, size_t msglen)
{
	unsigned int flags = commands_table[id].flags;

	if ((flags & COMMAND_F_CALLS) && c->calls == NULL) {
		snprintf(msg, msglen, "call: this daemon makes no calls: start " PROG
			 " with --tenant NAME and --listen ADDR:PORT");
		return -ENOTSUP;
	}
	if ((flags & COMMAND_F_STORE) && c->store == NULL) {
		snprintf(msg, msglen, "%s: this daemon manages no users or policies: start "
			 PROG " with --tenant NAME", commands_name(id));
		return -ENOTSUP;
	}
	if (handlers[id] == NULL) {
		snprintf(msg, msglen, "%s: not served by this daemon", commands_name(id));
		return -ENOSYS;
	}
	c->cmd = id;
	return handlers[id](c, argc, argv, msg, msglen);
}

enum client_state {
	CL_FREE,
	CL_READ,       /* the request is coming: poll for input */
	CL_DIAL,       /* a call dial waits for its answer (call.c): poll for hang-up */
	CL_WRITE,      /* the reply is queued: poll for room */
};

/* One connected admin client. */
struct client {
	int fd;
	enum client_state state;
	bool dial;               /* a dial (counted in admin_stats.dials, not in
				  * the ADMIN_CLIENTS_MAX bound) */
	bool changed;            /* its command changed state */
	pid_t pid;
	uid_t uid;
	int64_t deadline;        /* admin_now_ms(): closed (or, a dial, answered) then */
	int64_t reply_end;       /* the whole reply's limit */
	struct admin_reader rd;  /* the request as far as it came */
	struct admin_queue q;    /* the reply not yet taken */
};

#define SLOTS (ADMIN_CLIENTS_MAX + DIALS_MAX)
_Static_assert(ADMIN_POLL_MAX == 1 + SLOTS, "a poll entry for every slot");
_Static_assert(SLOTS <= SLOT_TABLE_MAX, "the slot table holds every client");

struct admin_clients {
	struct client cl[SLOTS];
	struct slot_table slots;         /* which of cl[] are in use */
	/* the slot of each poll entry admin_server_pollfds() filled (entry 0
	 * is the listening socket) */
	unsigned int poll_slot[ADMIN_POLL_MAX];
	struct admin_budget budget;      /* all the replies queued together */
	int64_t paused_until;            /* accept failed (no descriptor): rest until */
	int64_t refused_logged;          /* refusals at the bound: logged at most */
	uint64_t refused_unlogged;       /* once a second, with their count */
};

int admin_server_create(struct ctl *c)
{
	struct admin_clients *a = calloc(1, sizeof(*a));
	unsigned int i;

	if (a == NULL)
		return -ENOMEM;
	for (i = 0; i < SLOTS; i++) {
		a->cl[i].fd = -1;
		admin_queue_init(&a->cl[i].q, &a->budget);
	}
	slot_table_init(&a->slots, SLOTS);
	a->budget.max = ADMIN_REPLY_TOTAL_MAX;
	a->refused_logged = INT64_MIN / 2;
	c->clients = a;
	return 0;
}

/* Close cl and give its slot back; a dial it waited for is forgotten (the
 * call goes on). */
static void client_close(struct ctl *c, struct client *cl)
{
	struct admin_clients *a = c->clients;
	unsigned int i, slot = (unsigned int)(cl - a->cl);

	if (cl->state == CL_DIAL)
		for (i = 0; i < DIALS_MAX; i++)
			if (c->dials[i].q == &cl->q)
				c->dials[i].q = NULL;
	admin_server_close(cl->fd);
	admin_reader_wipe(&cl->rd);
	admin_queue_free(&cl->q);
	if (cl->dial)
		c->admin_stats.dials--;
	c->admin_stats.clients--;
	slot_table_give(&a->slots, slot);
	cl->fd = -1;
	cl->state = CL_FREE;
}

void admin_server_destroy(struct ctl *c)
{
	struct admin_clients *a = c->clients;

	if (a == NULL)
		return;
	while (a->slots.n_live > 0)
		client_close(c, &a->cl[a->slots.live[0]]);
	free(a);
	c->clients = NULL;
}

/* Send what the socket takes of cl's reply; close cl when it is all sent, or
 * when the client is gone. */
static void write_some(struct ctl *c, struct client *cl, int64_t now)
{
	long r = admin_queue_send(&cl->q, cl->fd);

	if (r < 0) {
		c->admin_stats.left++;
		if (cl->changed)
			logline("admin: pid %d left before its answer (the change stands)",
				(int)cl->pid);
		client_close(c, cl);
		return;
	}
	if (!admin_queue_pending(&cl->q) && cl->q.ended) {
		client_close(c, cl);
		return;
	}
	/* each bit of progress buys ADMIN_TIMEOUT_MS more, up to reply_end */
	if (r > 0)
		cl->deadline = now + ADMIN_TIMEOUT_MS < cl->reply_end ?
			       now + ADMIN_TIMEOUT_MS : cl->reply_end;
}

/* The reply is queued: send it, within ms (the first frames) and
 * ADMIN_REPLY_TIMEOUT_MS (all of it). */
static void start_reply(struct ctl *c, struct client *cl, int64_t now, int ms)
{
	cl->state = CL_WRITE;
	cl->reply_end = now + ADMIN_REPLY_TIMEOUT_MS;
	cl->deadline = now + ms;
	write_some(c, cl, now);
}

/* Queue END (status >= 0, msg) after what c->out holds for cl (a handler's
 * output, or nothing), and send. */
static void reply(struct ctl *c, struct client *cl, int status, const char *msg,
		  int64_t now, int ms)
{
	if (admin_out_end(&c->out, status, msg) < 0) {
		logline("admin: out of memory for the answer to pid %d: closed", (int)cl->pid);
		client_close(c, cl);
		return;
	}
	start_reply(c, cl, now, ms);
}

/* cl's request is complete in c->s->req: run it. */
static void serve(struct ctl *c, struct client *cl, int64_t now)
{
	char msg[ADMIN_MSG_MAX];
	int id, rc, skip = 0;

	c->peer_pid = cl->pid;
	c->peer_uid = cl->uid;
	admin_out_init(&c->out, &cl->q);
	msg[0] = '\0';
	id = commands_find(c->s->req.argc, (const char *const *)c->s->req.argv, &skip, msg,
			   sizeof(msg));
	if (id < 0) {
		rc = -EINVAL;
		logline("admin: refused a request from pid %d: %s", (int)cl->pid, msg);
	} else {
		rc = dispatch(c, (enum command_id)id, c->s->req.argc - skip,
			      (const char *const *)c->s->req.argv + skip, msg, sizeof(msg));
		if (rc < 0 && rc != DIAL_PENDING && (commands_table[id].flags & COMMAND_F_CHANGES))
			logline("refused %s from pid %d: %s", commands_name((enum command_id)id),
				(int)cl->pid, msg);
	}
	admin_request_wipe(&c->s->req);
	if (rc == DIAL_PENDING) {
		/* answered from the call event (call.c) by --handshake-timeout; the
		 * deadline is a backstop */
		cl->state = CL_DIAL;
		cl->dial = true;
		c->admin_stats.dials++;
		cl->deadline = now + (int64_t)c->handshake_timeout_ms + ADMIN_TIMEOUT_MS;
		return;
	}
	cl->changed = rc == 0 && id >= 0 && (commands_table[id].flags & COMMAND_F_CHANGES);
	reply(c, cl, rc < 0 ? -rc : 0, msg, now, ADMIN_TIMEOUT_MS);
}

/* Take what cl has sent of its request; serve it once complete. */
static void read_request(struct ctl *c, struct client *cl, int64_t now)
{
	char err[ADMIN_ERR_MAX];
	int rc;

	rc = admin_reader_recv(&cl->rd, cl->fd, &c->s->req, err, sizeof(err));
	if (rc == -EAGAIN)
		return;
	if (rc == -ECONNRESET) {          /* gone (e.g. another daemon's probe) */
		client_close(c, cl);
		return;
	}
	if (rc < 0) {
		c->admin_stats.bad_request++;
		logline("admin: bad request from pid %d: %s", (int)cl->pid, err);
		/* say why, if the client still listens (briefly) */
		admin_out_init(&c->out, &cl->q);
		reply(c, cl, -rc, err, now, 500);
		return;
	}
	serve(c, cl, now);
}

/* cl's deadline has passed. */
static void expire(struct ctl *c, struct client *cl, int64_t now)
{
	char msg[ADMIN_MSG_MAX];
	unsigned int i;

	c->admin_stats.timed_out++;
	switch (cl->state) {
	case CL_READ:
		logline("admin: closed pid %d: no complete request within %d ms (%zu bytes "
			"of it came; %" PRIu64 " clients timed out so far)", (int)cl->pid,
			ADMIN_TIMEOUT_MS, cl->rd.got, c->admin_stats.timed_out);
		snprintf(msg, sizeof(msg), "no complete request within %d ms", ADMIN_TIMEOUT_MS);
		(void)admin_send_end_now(cl->fd, ETIMEDOUT, msg);
		break;
	case CL_DIAL:
		/* the call manager answers by --handshake-timeout: not reached */
		for (i = 0; i < DIALS_MAX; i++)
			if (c->dials[i].q == &cl->q)
				break;
		snprintf(msg, sizeof(msg), "call %s: no answer within %u ms",
			 i < DIALS_MAX ? c->dials[i].id : "?",
			 c->handshake_timeout_ms + ADMIN_TIMEOUT_MS);
		logline("admin: pid %d: %s", (int)cl->pid, msg);
		if (i < DIALS_MAX)
			c->dials[i].q = NULL;
		cl->state = CL_READ;      /* no dial entry to forget */
		admin_out_init(&c->out, &cl->q);
		reply(c, cl, ETIMEDOUT, msg, now, ADMIN_TIMEOUT_MS);
		return;
	case CL_WRITE:
		logline("admin: closed pid %d: it did not take its answer in time (%zu bytes "
			"left)%s", (int)cl->pid, cl->q.len - cl->q.off,
			cl->changed ? " (the change stands)" : "");
		break;
	case CL_FREE:
		return;
	}
	client_close(c, cl);
}

/* A refusal at the bound: counted; logged at most once a second. */
static void log_refused(struct ctl *c, int64_t now, bool one_more)
{
	struct admin_clients *a = c->clients;

	if (one_more)
		a->refused_unlogged++;
	if (a->refused_unlogged == 0 || now - a->refused_logged < 1000)
		return;
	logline("admin: refused %" PRIu64 " client(s): %u are being served (at most %u at "
		"once; %" PRIu64 " refused so far)", a->refused_unlogged,
		c->admin_stats.clients - c->admin_stats.dials, ADMIN_CLIENTS_MAX,
		c->admin_stats.refused_full);
	a->refused_unlogged = 0;
	a->refused_logged = now;
}

/* Take the clients waiting on the listening socket (at most a slot's worth
 * per round): each is identified and given a slot, or refused at once. */
static void accept_clients(struct ctl *c, int64_t now)
{
	struct admin_clients *a = c->clients;
	struct ucred cred;
	socklen_t clen;
	struct client *cl;
	unsigned int k, slot;
	int fd;

	for (k = 0; k < SLOTS; k++) {
		fd = accept4(c->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			    errno == ENOBUFS) {
				logline("admin accept: %s", strerror(errno));
				a->paused_until = now + 100;   /* do not spin */
			}
			return;
		}
		memset(&cred, 0, sizeof(cred));
		clen = sizeof(cred);
		if (getsockopt(fd, SOL_SOCKET, SO_PEERCRED, &cred, &clen) < 0) {
			logline("admin: cannot identify a client: %s", strerror(errno));
			admin_server_close(fd);
			continue;
		}
		/* the socket is 0600 in a directory of the operator's choosing:
		 * check the peer anyway (a chmod, or a descriptor passed on) */
		if (cred.uid != geteuid() && cred.uid != 0) {
			c->admin_stats.refused_uid++;
			logline("admin: refused a client with uid %u pid %d (only uid %u or root)",
				(unsigned int)cred.uid, (int)cred.pid, (unsigned int)geteuid());
			(void)admin_send_end_now(fd, EACCES, "permission denied");
			admin_server_close(fd);
			continue;
		}
		if (c->admin_stats.clients - c->admin_stats.dials >= ADMIN_CLIENTS_MAX ||
		    a->slots.n_free == 0) {
			char msg[128];

			c->admin_stats.refused_full++;
			log_refused(c, now, true);
			snprintf(msg, sizeof(msg), "busy: the daemon serves %u admin clients, "
				 "its most at once; try again", ADMIN_CLIENTS_MAX);
			(void)admin_send_end_now(fd, EBUSY, msg);
			admin_server_close(fd);
			continue;
		}
		slot = slot_table_take(&a->slots);
		cl = &a->cl[slot];
		cl->fd = fd;
		cl->state = CL_READ;
		cl->dial = false;
		cl->changed = false;
		cl->pid = cred.pid;
		cl->uid = cred.uid;
		cl->deadline = now + ADMIN_TIMEOUT_MS;
		c->admin_stats.clients++;
		c->admin_stats.accepted++;
	}
}

size_t admin_server_pollfds(struct ctl *c, struct pollfd *fds, int *timeout_ms)
{
	struct admin_clients *a = c->clients;
	int64_t now = admin_now_ms(), next = INT64_MAX;
	struct client *cl;
	unsigned int i;
	size_t n = 1;

	/* after a failed accept (no descriptor) the listening socket rests */
	fds[0] = (struct pollfd){ .fd = c->listen_fd, .events = POLLIN };
	if (a->paused_until > now) {
		fds[0].fd = -1;
		next = a->paused_until;
	}
	log_refused(c, now, false);
	for (i = 0; i < a->slots.n_live;) {
		cl = &a->cl[a->slots.live[i]];
		if (cl->state == CL_DIAL && cl->q.ended)   /* answered (call.c) */
			start_reply(c, cl, now, ADMIN_TIMEOUT_MS);
		else if (cl->deadline <= now)
			expire(c, cl, now);
		if (cl->state == CL_FREE)
			continue;                 /* live[i] is another client now */
		fds[n] = (struct pollfd){ .fd = cl->fd, .events = cl->state == CL_READ ? POLLIN :
					  cl->state == CL_WRITE ? POLLOUT : 0 };
		a->poll_slot[n++] = a->slots.live[i];
		if (cl->deadline < next)
			next = cl->deadline;
		i++;
	}
	if (next != INT64_MAX) {
		int64_t left = next > now ? next - now : 0;

		if (*timeout_ms < 0 || *timeout_ms > left)
			*timeout_ms = (int)left;
	}
	return n;
}

void admin_server_handle(struct ctl *c, const struct pollfd *fds, size_t n)
{
	struct admin_clients *a = c->clients;
	int64_t now = admin_now_ms();
	struct client *cl;
	size_t i;

	for (i = 1; i < n; i++) {
		if (fds[i].revents == 0)
			continue;
		cl = &a->cl[a->poll_slot[i]];
		if (cl->fd != fds[i].fd)
			continue;            /* closed meanwhile */
		switch (cl->state) {
		case CL_READ:
			read_request(c, cl, now);
			break;
		case CL_WRITE:
			write_some(c, cl, now);
			break;
		case CL_DIAL:
			if (fds[i].revents & (POLLHUP | POLLERR)) {
				c->admin_stats.left++;
				logline("admin: pid %d left before its dial's answer (the call goes "
					"on)", (int)cl->pid);
				client_close(c, cl);
			}
			break;
		case CL_FREE:
			break;
		}
	}
	/* last: a slot freed above may be taken again */
	if (n > 0 && (fds[0].revents & POLLIN))
		accept_clients(c, now);
}
