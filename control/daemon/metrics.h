/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics.h - callseal-control --metrics ADDR:PORT: a minimal HTTP/1.0-1.1
 * server for Prometheus scrapes, served from the daemon's poll loop like the
 * admin clients (admin_server.h), none of them waited for.
 *
 * GET /metrics answers the Prometheus text of the dataplane's statistics
 * area (stats_prometheus(), the generator of `callsealctl stats
 * --prometheus`); GET / a line pointing there; any other path 404, another
 * method 405, a malformed request or one whose head outgrows
 * METRICS_REQUEST_MAX 400; then the connection is closed. It serves the
 * statistics only: no calls, no keys, no admin command.
 *
 * Each accepted client has a slot (non-blocking fd, the request as far as it
 * came, the response not yet sent, a deadline); entry i of the poll entries
 * is the client of slot poll_slot[i], as in admin_server.c. Bounds:
 * METRICS_CLIENTS_MAX (handler.h) clients at once (one more is answered 503 and closed at
 * accept), METRICS_TIMEOUT_MS for the whole exchange (then closed), a
 * response of at most METRICS_REPLY_MAX body bytes (else 500).
 */
#ifndef CALLSEAL_METRICS_H
#define CALLSEAL_METRICS_H

#include <poll.h>
#include <stddef.h>

#include "handler.h"

#define METRICS_TIMEOUT_MS  5000         /* accept to the response's last byte */
#define METRICS_REQUEST_MAX 8192u        /* bytes of a request's head */
#define METRICS_REPLY_MAX   (1u << 20)   /* body bytes of one response */
/* Poll entries metrics_pollfds() may fill: the listening socket and a slot
 * for every client. */
#define METRICS_POLL_MAX    (1u + METRICS_CLIENTS_MAX)

/* Whether spec is a --metrics value (numeric IPv4 "a.b.c.d:PORT" or IPv6
 * "[v6]:PORT", port 0..65535): 0, or -EINVAL with a message. Opens nothing. */
int metrics_check(const char *spec, char *err, size_t errlen);
/* Listen on c->metrics_addr (non-blocking; port 0: a free one) and make the
 * client table; c->metrics_url gets the URL scraped. 0, or -errno with a
 * message (bind: the address is in use, not this host's, ...). */
int metrics_create(struct ctl *c, char *err, size_t errlen);
/* Close every client and the listening socket (safe when never created). */
void metrics_destroy(struct ctl *c);

/*
 * Fill fds (room for METRICS_POLL_MAX) with the listening socket and the
 * clients' entries, closing first the clients whose deadline has passed. The
 * number of entries (0 without --metrics); *timeout_ms is lowered to the next
 * deadline (it stays -1 when there is none).
 */
size_t metrics_pollfds(struct ctl *c, struct pollfd *fds, int *timeout_ms);
/* Serve what poll() found on the n entries metrics_pollfds() filled. */
void metrics_handle(struct ctl *c, const struct pollfd *fds, size_t n);

#endif /* CALLSEAL_METRICS_H */
