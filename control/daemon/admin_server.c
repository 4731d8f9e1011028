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

/* Returns true when the request keeps fd (a call dial answered later). */
bool admin_server_serve(struct ctl *c, int fd)
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
	cmd = command_find(c->s->req.argc, c->s->req.argv, &skip, msg, sizeof(msg));
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
