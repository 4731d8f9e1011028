/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * admin_server.c - callseal-control's admin server: one accepted client is
 * identified (SO_PEERCRED), its request read (bounded), dispatched to its
 * command's handler, and answered; a call dial's answer comes later.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"

#include <sys/socket.h>
#include <unistd.h>

#include "admin_server.h"

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
	[CMD_STATUS] = cmd_status, [CMD_HELP] = cmd_help,
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

/* Returns true when the request keeps fd (a call dial answered later). */
bool admin_server_serve(struct ctl *c, int fd)
{
	int id;
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
	id = commands_find(c->s->req.argc, (const char *const *)c->s->req.argv, &skip, msg,
			   sizeof(msg));
	if (id < 0) {
		rc = -EINVAL;
		logline("admin: refused a request from pid %d: %s", (int)cred.pid, msg);
	} else {
		rc = dispatch(c, (enum command_id)id, c->s->req.argc - skip,
			      (const char *const *)c->s->req.argv + skip, msg, sizeof(msg));
		if (rc < 0 && rc != DIAL_PENDING && (commands_table[id].flags & COMMAND_F_CHANGES))
			logline("refused %s from pid %d: %s", commands_name((enum command_id)id),
				(int)cred.pid, msg);
	}
	admin_request_wipe(&c->s->req);
	if (rc == DIAL_PENDING)
		return true;
	if (admin_out_end(&c->out, rc < 0 ? -rc : 0, msg) < 0 && rc == 0 && id >= 0 &&
	    (commands_table[id].flags & COMMAND_F_CHANGES))
		logline("admin: pid %d left before its answer (the change stands)",
			(int)cred.pid);
	return false;
}
