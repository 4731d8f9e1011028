/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * admin_server.h - callseal-control's admin server: every connected admin
 * client served from the daemon's poll loop, none of them waited for.
 *
 * Each accepted client has a slot (non-blocking fd, the request being read,
 * the reply being sent, a deadline). The loop asks for the clients' poll
 * entries (admin_server_pollfds()), polls them with everything else, and
 * hands the results back (admin_server_handle()); entry i is the client of
 * slot poll_slot[i], so no look-up walks the table. Bounds: ADMIN_CLIENTS_MAX
 * clients being read or answered (one more is refused at accept), DIALS_MAX
 * dials waiting (call.c), ADMIN_TIMEOUT_MS to send a whole request, reply
 * progress every ADMIN_TIMEOUT_MS (ADMIN_REPLY_TIMEOUT_MS in all), a dial's
 * answer within --handshake-timeout + ADMIN_TIMEOUT_MS.
 */
#ifndef CALLSEAL_ADMIN_SERVER_H
#define CALLSEAL_ADMIN_SERVER_H

#include <poll.h>
#include <stdbool.h>
#include <stddef.h>

#include "handler.h"

#define ADMIN_REPLY_TIMEOUT_MS 60000   /* a whole reply, however it progresses */
/* Poll entries the admin server may ask for: the listening socket and a
 * slot for every client (ADMIN_CLIENTS_MAX and DIALS_MAX). */
#define ADMIN_POLL_MAX        (1u + ADMIN_CLIENTS_MAX + DIALS_MAX)

/* The client table (c->clients) for c->listen_fd: 0 or -ENOMEM. */
int admin_server_create(struct ctl *c);
/* Close every client (a dial waiting is not answered) and free the table. */
void admin_server_destroy(struct ctl *c);

/*
 * Fill fds (room for ADMIN_POLL_MAX) with the listening socket and the
 * clients' entries; close the clients whose deadline has passed first.
 * Returns the number of entries; *timeout_ms is lowered to the next deadline
 * (it stays -1, "none", when there is none).
 */
size_t admin_server_pollfds(struct ctl *c, struct pollfd *fds, int *timeout_ms);
/* Serve what poll() found on the n entries that admin_server_pollfds() filled. */
void admin_server_handle(struct ctl *c, const struct pollfd *fds, size_t n);

/* NULL when every row of the command table has a handler, else the words of
 * the first that has none (the daemon then refuses to start). */
const char *admin_server_complete(void);

#endif /* CALLSEAL_ADMIN_SERVER_H */
