/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * conn.c - the manager's TCP connections (one struct conn each): accept,
 * poll integration, whole-frame reads and buffered writes, attempt
 * deadlines, and the end of a connection (finished, failed, detached).
 *
 * Frames are callseal/1 frames (docs/handshake.md, "Framing"): while the
 * handshake runs they go to callproto (handshake.c decides on them), after
 * set-up to the control channel (channel.c).
 *
 * Known cost, left for a later issue: calls_handle() finds each ready
 * descriptor's connection by walking the list (by_fd), O(fds x calls).
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "errbuf.h"
#include "calls_internal.h"
#include "secmem.h"

/* ---- buffers ------------------------------------------------------------------- */

/* The call's leg in role, or NULL. */
struct conn *conn_find_leg(const struct calls *cm, const char *id, enum callproto_role role)
{
	for (struct conn *c = cm->conns; c; c = c->next)
		if (c->info.id[0] && c->info.role == role && strcmp(c->info.id, id) == 0)
			return c;
	return NULL;
}

/* The call id's caller leg if this manager holds it, else its callee leg: a
 * call between two users of this manager has both (docs/calls.md). */
struct conn *conn_find(const struct calls *cm, const char *id)
{
	struct conn *c = conn_find_leg(cm, id, CALLPROTO_ROLE_INITIATOR);

	return c ? c : conn_find_leg(cm, id, CALLPROTO_ROLE_RESPONDER);
}

void conn_unlink(struct calls *cm, struct conn *c)
{
	for (struct conn **pp = &cm->conns; *pp; pp = &(*pp)->next)
		if (*pp == c) {
			*pp = c->next;
			return;
		}
}

void conn_queue(struct conn *c, const uint8_t *p, size_t n, bool *overflow)
{
	if (c->wlen + n > sizeof(c->wbuf)) {
		*overflow = true;
		return;
	}
	memcpy(c->wbuf + c->wlen, p, n);
	c->wlen += n;
}

/* Move what callproto has to send into wbuf. */
void conn_pump(struct conn *c, bool *overflow)
{
	uint8_t f[CALLPROTO_OUT_MAX];
	size_t n;

	while (c->cp && callproto_next_out(c->cp, f, sizeof(f), &n) == 0 && n)
		conn_queue(c, f, n, overflow);
}

/* Non-blocking write of wbuf. 0, or -errno on a broken connection. */
int conn_flush(struct conn *c)
{
	while (c->wlen && !c->connecting) {
		ssize_t w = send(c->fd, c->wbuf, c->wlen, MSG_NOSIGNAL | MSG_DONTWAIT);

		if (w < 0)
			return (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) ? 0 : -errno;
		memmove(c->wbuf, c->wbuf + w, c->wlen - (size_t)w);
		c->wlen -= (size_t)w;
	}
	return 0;
}

/* ---- the end of a connection ---------------------------------------------------- */

static void delete_entries(struct calls *cm, struct conn *c)
{
	struct keytable_key k;

	if (c->installed_out) {
		addr_table_key(&c->local_media, KEYTABLE_DIR_OUT, &k);
		(void)keytable_delete(cm->cfg.table, &k);
		c->installed_out = false;
	}
	if (c->installed_in) {
		addr_table_key(&c->local_media, KEYTABLE_DIR_IN, &k);
		(void)keytable_delete(cm->cfg.table, &k);
		c->installed_in = false;
	}
}

/* Final: wipe everything, tell the store and the daemon, close, free. */
void conn_finish(struct calls *cm, struct conn *c, enum calls_state state, const char *reason)
{
	char err[STORE_ERR_MAX];
	bool ovf = false;

	conn_pump(c, &ovf);                /* a last ABORT / CONFIRM reject, if any */
	(void)conn_flush(c);
	delete_entries(cm, c);
	callproto_destroy(c->cp);
	c->cp = NULL;
	if (c->ctl) {
		secmem_free(c->ctl);  /* wipes */
		c->ctl = NULL;
	}
	if (!c->active && cm->attempts)
		cm->attempts--;
	copy_text(c->info.reason, sizeof(c->info.reason), reason);
	c->info.state = state;
	if (c->stored)
		(void)store_call_end_leg(cm->cfg.store, c->info.id, conn_store_role(c),
					 state == CALLS_ENDED ? STORE_CALL_ENDED : STORE_CALL_FAILED,
					 c->info.reason, err, sizeof(err));
	if (cm->cfg.event)
		cm->cfg.event(cm->cfg.event_ctx, &c->info);
	if (c->fd >= 0)
		close(c->fd);
	conn_unlink(cm, c);
	sodium_memzero(c, sizeof(*c));
	free(c);
}

/* The attempt fails: our reason if we set one, else callproto's. */
void conn_fail(struct calls *cm, struct conn *c, enum callproto_code code, const char *fmt, ...)
{
	char why[CALLS_REASON_MAX];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(why, sizeof(why), fmt, ap);
	va_end(ap);
	if (c->cp)
		(void)callproto_abort(c->cp, code);
	conn_finish(cm, c, CALLS_FAILED, why);
}

/*
 * An active call lost its control connection (the peer's daemon restarted or
 * the connection broke): media goes on with the keys in the table; without a
 * channel END and REKEY cannot reach the peer, so the call can only be ended
 * on this side (docs/calls.md, "Restarts"). Never frees c.
 */
static void detach(struct calls *cm, struct conn *c, const char *why)
{
	callproto_destroy(c->cp);
	c->cp = NULL;
	if (c->ctl) {
		secmem_free(c->ctl);   /* wipes */
		c->ctl = NULL;
	}
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
	c->rlen = c->wlen = 0;
	sodium_memzero(c->rbuf, sizeof(c->rbuf));
	c->info.detached = true;
	copy_text(c->info.detached_why, sizeof(c->info.detached_why), why);
	if (cm->cfg.event)
		cm->cfg.event(cm->cfg.event_ctx, &c->info);
}

/* An active call's connection is gone: detached once both ends were active;
 * a callee that never heard the caller's READY ends instead (the caller may
 * have refused CONFIRM and its ABORT been lost: docs/handshake.md). */
void conn_lost(struct calls *cm, struct conn *c, const char *why)
{
	char r[CALLS_REASON_MAX];

	if (c->confirmed) {
		detach(cm, c, why);
		return;
	}
	errbuf_set(r, sizeof(r), "%s before the caller confirmed the call; call ended", why);
	conn_finish(cm, c, CALLS_ENDED, r);
}

/* ---- I/O ------------------------------------------------------------------------- */

/* Readable: take whole frames. Returns false when c was freed. */
static bool readable(struct calls *cm, struct conn *c)
{
	for (;;) {
		ssize_t r = recv(c->fd, c->rbuf + c->rlen, sizeof(c->rbuf) - c->rlen, MSG_DONTWAIT);
		size_t need;

		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return true;
			if (c->active)
				conn_lost(cm, c, "the control connection broke");
			else
				conn_fail(cm, c, CALLPROTO_CODE_INTERNAL, "connection broke: %s",
					  strerror(errno));
			return false;
		}
		if (r == 0) {
			if (c->active)
				conn_lost(cm, c, "the peer closed the control connection");
			else
				conn_fail(cm, c, CALLPROTO_CODE_PROTOCOL, "the peer closed the connection "
					  "in the middle of the handshake%s",
					  c->rlen ? " (truncated message)" : "");
			return false;
		}
		c->rlen += (size_t)r;
		while (c->rlen >= CALLPROTO_FRAME_HDR) {
			need = callproto_frame_need(c->rbuf, c->rlen);
			if (need == 0 || need > CALLPROTO_OUT_MAX) {
				const char *why = need == 0 ? "a zero-length frame"
					: "an oversized frame";

				if (c->active)
					channel_bye(c, "malformed control message");
				if (c->active)
					conn_finish(cm, c, CALLS_ENDED, need == 0
						    ? "control channel: zero-length frame; call ended"
						    : "control channel: oversized frame; call ended");
				else
					conn_fail(cm, c, CALLPROTO_CODE_PROTOCOL, "the peer sent %s "
						  "(%zu octets, limit %u)", why, need, CALLPROTO_OUT_MAX);
				return false;
			}
			if (c->rlen < need)
				break;
			if (c->active) {
				uint8_t f[CALLPROTO_OUT_MAX];
				bool alive;

				memcpy(f, c->rbuf, need);
				memmove(c->rbuf, c->rbuf + need, c->rlen - need);
				c->rlen -= need;
				alive = channel_frame(cm, c, f, need);
				sodium_memzero(f, sizeof(f));
				if (!alive || !handshake_progress(cm, c))
					return false;
				continue;
			}
			if (callproto_consume(c->cp, c->rbuf, need) < 0) {
				/* the status is FAILED now: handshake_progress() reports it */
			}
			memmove(c->rbuf, c->rbuf + need, c->rlen - need);
			c->rlen -= need;
			if (!handshake_progress(cm, c))
				return false;
		}
	}
}

static void accept_one(struct calls *cm)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct callproto_addr a;
	struct conn *c;
	int fd;

	if (cm->spare_fd < 0)           /* given up earlier and not got back */
		cm->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
	fd = accept4(cm->lfd, (struct sockaddr *)&ss, &sl, SOCK_NONBLOCK | SOCK_CLOEXEC);
	if (fd < 0) {
		if ((errno == EMFILE || errno == ENFILE) && cm->spare_fd >= 0) {
			/* out of descriptors: the pending connection would keep the
			 * listen socket readable and poll spinning. Give back the spare
			 * descriptor, take the connection and close it (the caller
			 * sees it closed), keep the spare again. */
			close(cm->spare_fd);
			fd = accept(cm->lfd, NULL, NULL);
			if (fd >= 0)
				close(fd);
			cm->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
		return;
	}
	if (cm->attempts >= cm->cfg.max_attempts) {
		close(fd);   /* bounded: the caller sees the connection closed */
		return;
	}
	c = calloc(1, sizeof(*c));
	if (!c || callproto_responder_create(&c->cp, NULL) < 0) {
		free(c);
		close(fd);
		return;
	}
	memset(&a, 0, sizeof(a));
	if (ss.ss_family == AF_INET6) {
		a.family = 6;
		memcpy(a.addr, &((struct sockaddr_in6 *)&ss)->sin6_addr, 16);
		a.port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
	} else {
		a.family = 4;
		memcpy(a.addr, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		a.port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
	}
	addr_format(&a, c->src, sizeof(c->src));
	c->fd = fd;
	c->info.role = CALLPROTO_ROLE_RESPONDER;
	c->info.state = CALLS_HANDSHAKE;
	c->deadline = now_ms() + cm->cfg.timeout_ms;
	c->next = cm->conns;
	cm->conns = c;
	cm->attempts++;
}

int calls_pollfds(const struct calls *cm, struct pollfd *fds, size_t cap)
{
	size_t n = 0;

	if (cm->lfd >= 0) {
		if (n == cap)
			return -ENOBUFS;
		fds[n++] = (struct pollfd){ .fd = cm->lfd, .events = POLLIN };
	}
	for (const struct conn *c = cm->conns; c; c = c->next) {
		if (c->fd < 0)
			continue;   /* detached */
		if (n == cap)
			return -ENOBUFS;
		fds[n++] = (struct pollfd){ .fd = c->fd,
			.events = (short)(POLLIN | ((c->connecting || c->wlen) ? POLLOUT : 0)) };
	}
	return (int)n;
}

/* The automatic rekey (calls_config.rekey_interval_s) applies to c. */
static bool auto_rekey_due(const struct calls *cm, const struct conn *c)
{
	return cm->cfg.rekey_interval_s != 0 && c->active && c->confirmed && c->auto_ms != 0 &&
	       !c->info.detached && c->fd >= 0;
}

static uint64_t auto_rekey_at(const struct calls *cm, const struct conn *c)
{
	return c->auto_ms + (uint64_t)cm->cfg.rekey_interval_s * 1000u;
}

int calls_timeout_ms(const struct calls *cm)
{
	uint64_t t = now_ms(), best = UINT64_MAX;

	for (const struct conn *c = cm->conns; c; c = c->next) {
		if ((!c->active || !c->confirmed) && c->deadline < best)
			best = c->deadline;
		else if (auto_rekey_due(cm, c) && auto_rekey_at(cm, c) < best)
			best = auto_rekey_at(cm, c);
	}
	best = legstats_wake(cm, best);   /* the statistics poll (legstats.c) */
	if (best == UINT64_MAX)
		return -1;
	return best <= t ? 0 : (int)(best - t > 60000 ? 60000 : best - t);
}

static struct conn *by_fd(struct calls *cm, int fd)
{
	for (struct conn *c = cm->conns; c; c = c->next)
		if (c->fd == fd && fd >= 0)
			return c;
	return NULL;
}

int calls_handle(struct calls *cm, const struct pollfd *fds, size_t n)
{
	struct conn *c, *nx;
	uint64_t t;

	for (size_t i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		if (fds[i].fd == cm->lfd && cm->lfd >= 0) {
			for (int k = 0; k < 16; k++)
				accept_one(cm);
			continue;
		}
		if (!(c = by_fd(cm, fds[i].fd)))
			continue;
		if (c->connecting) {
			int e = 0;
			socklen_t el = sizeof(e);

			if (!(fds[i].revents & (POLLOUT | POLLERR | POLLHUP)))
				continue;
			if (getsockopt(c->fd, SOL_SOCKET, SO_ERROR, &e, &el) < 0)
				e = errno;
			if (e) {
				conn_fail(cm, c, CALLPROTO_CODE_INTERNAL, "cannot connect to %s: %s",
					  c->info.peer, strerror(e));
				continue;
			}
			c->connecting = false;
			c->info.state = CALLS_HANDSHAKE;
			if (!handshake_progress(cm, c))
				continue;
		}
		if (fds[i].revents & (POLLIN | POLLERR | POLLHUP)) {
			if (!readable(cm, c))
				continue;
		}
		if (fds[i].revents & POLLOUT)
			(void)handshake_progress(cm, c);
	}
	t = now_ms();
	for (c = cm->conns; c; c = nx) {
		nx = c->next;
		if (!c->active && t >= c->deadline)
			conn_fail(cm, c, CALLPROTO_CODE_TIMEOUT, "timed out after %u ms (%s)",
				  cm->cfg.timeout_ms, c->connecting ? "connecting"
				  : "the peer did not complete the handshake");
		else if (c->active && !c->confirmed && t >= c->deadline) {
			channel_bye(c, "the caller did not confirm the call in time");
			conn_finish(cm, c, CALLS_ENDED, "the caller did not confirm the call in time; "
				    "call ended");
		} else if (c->active && c->confirmed && c->auto_ms == 0) {
			c->auto_ms = t;
		} else if (auto_rekey_due(cm, c) && t >= auto_rekey_at(cm, c)) {
			/* docs/calls.md "Key limits": rotated on a timer. Refused
			 * while two rekeys are in flight: try again in a second. A
			 * failure ends the call there (fail closed). */
			char err[CALLS_ERR_MAX];
			char id[CALLS_ID_LEN + 1];

			memcpy(id, c->info.id, sizeof(id));
			if (calls_rekey(cm, id, 0, err, sizeof(err)) == -EBUSY)
				c->auto_ms += CALLS_REKEY_GAP_MS;
		}
	}
	legstats_poll(cm);   /* the dataplane's counters: index reuse (legstats.c) */
	return 0;
}
