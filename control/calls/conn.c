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
 * Costs per wake-up: a ready descriptor's connection is found in O(1)
 * (calls.fdmap, indexed by descriptor); a connection is linked and unlinked
 * in O(1); the deadline walk is O(calls). Accepting costs O(max_attempts) at
 * most (the per-source count walks the incoming handshakes, which are
 * bounded): docs/calls.md, "Bounds".
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

/* ---- lists and the descriptor map ------------------------------------------------ */

static void q_append(struct conn_queue *q, struct conn *c)
{
	c->in_next = NULL;
	c->in_prev = q->tail;
	if (q->tail)
		q->tail->in_next = c;
	else
		q->head = c;
	q->tail = c;
}

static void q_remove(struct conn_queue *q, struct conn *c)
{
	if (c->in_prev)
		c->in_prev->in_next = c->in_next;
	else
		q->head = c->in_next;
	if (c->in_next)
		c->in_next->in_prev = c->in_prev;
	else
		q->tail = c->in_prev;
	c->in_next = c->in_prev = NULL;
}

/* fdmap[fd] = c, the map grown to cover fd: 0 or -ENOMEM. */
static int fdmap_set(struct calls *cm, int fd, struct conn *c)
{
	if ((size_t)fd >= cm->fdmap_cap) {
		size_t cap = cm->fdmap_cap ? cm->fdmap_cap : 64;
		struct conn **m;

		while (cap <= (size_t)fd)
			cap *= 2;
		m = realloc(cm->fdmap, cap * sizeof(*m));
		if (!m)
			return -ENOMEM;
		memset(m + cm->fdmap_cap, 0, (cap - cm->fdmap_cap) * sizeof(*m));
		cm->fdmap = m;
		cm->fdmap_cap = cap;
	}
	cm->fdmap[fd] = c;
	return 0;
}

static void close_fd(struct calls *cm, struct conn *c)
{
	if (c->fd < 0)
		return;
	if ((size_t)c->fd < cm->fdmap_cap)
		cm->fdmap[c->fd] = NULL;
	close(c->fd);
	c->fd = -1;
}

/* c joins the manager's connections (and, with a descriptor, the map):
 * 0, or -ENOMEM and c is not linked. */
int conn_link(struct calls *cm, struct conn *c)
{
	if (c->fd >= 0 && fdmap_set(cm, c->fd, c) < 0)
		return -ENOMEM;
	c->prev = NULL;
	c->next = cm->conns;
	if (cm->conns)
		cm->conns->prev = c;
	cm->conns = c;
	return 0;
}

/* c no longer counts against a bound: its handshake is over (the keys are
 * in: the caller authenticated; or c ends). Idempotent. */
void conn_settled(struct calls *cm, struct conn *c)
{
	if (c->in_counted) {
		q_remove(&cm->inq, c);
		c->in_counted = false;
		c->idle = false;
		cm->incoming--;
	}
	if (c->on_selfq) {
		q_remove(&cm->selfq, c);
		c->on_selfq = false;
	}
	if (c->dial_counted) {
		c->dial_counted = false;
		cm->dials--;
	}
}

/* Everything c holds is given back (secrets wiped, pool port, bounds,
 * descriptor) and c is freed; no event, no store (conn_finish does those
 * first). The keys in the table are not touched. */
void conn_free(struct calls *cm, struct conn *c)
{
	callproto_destroy(c->cp);
	c->cp = NULL;
	if (c->ctl) {
		secmem_free(c->ctl);  /* wipes */
		c->ctl = NULL;
	}
	conn_settled(cm, c);
	media_release(cm, c);
	close_fd(cm, c);
	if (c->prev)
		c->prev->next = c->next;
	else if (cm->conns == c)
		cm->conns = c->next;
	if (c->next)
		c->next->prev = c->prev;
	sodium_memzero(c, sizeof(*c));
	free(c);
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
	struct store_call_final fin;
	bool ovf = false;

	conn_pump(c, &ovf);                /* a last ABORT / CONFIRM reject, if any */
	(void)conn_flush(c);
	/* the dataplane's last counters of the leg: its rows are found by the
	 * entries, read before they go (docs/calls.md, "Call history") */
	if (c->stored)
		legstats_final(cm, c, &fin);
	delete_entries(cm, c);
	callproto_destroy(c->cp);
	c->cp = NULL;
	if (c->ctl) {
		secmem_free(c->ctl);  /* wipes */
		c->ctl = NULL;
	}
	copy_text(c->info.reason, sizeof(c->info.reason), reason);
	c->info.state = state;
	if (c->stored) {
		fin.ended_by = c->ender ? c->ender : STORE_ENDER_DAEMON;
		if (store_call_finish_leg(cm->cfg.store, c->info.id, conn_store_role(c),
					  state == CALLS_ENDED ? STORE_CALL_ENDED : STORE_CALL_FAILED,
					  c->info.reason, &fin, err, sizeof(err)) == 0)
			history_ended(cm);
	}
	if (cm->cfg.event)
		cm->cfg.event(cm->cfg.event_ctx, &c->info);
	conn_free(cm, c);
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
	close_fd(cm, c);
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
	c->ender = STORE_ENDER_PEER;
	conn_finish(cm, c, CALLS_ENDED, r);
}

/* ---- I/O ------------------------------------------------------------------------- */

/* Readable: take whole frames. Returns false when c was freed. */
static bool readable(struct calls *cm, struct conn *c)
{
	for (;;) {
		size_t want = sizeof(c->rbuf) - c->rlen;
		ssize_t r = recv(c->fd, c->rbuf + c->rlen, want, MSG_DONTWAIT);
		size_t need;

		if (r < 0) {
			if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR)
				return true;
			c->ender = STORE_ENDER_PEER;   /* its connection, at least */
			if (c->active)
				conn_lost(cm, c, "the control connection broke");
			else
				conn_fail(cm, c, CALLPROTO_CODE_INTERNAL, "connection broke: %s",
					  strerror(errno));
			return false;
		}
		if (r == 0) {
			c->ender = STORE_ENDER_PEER;
			if (c->active)
				conn_lost(cm, c, "the peer closed the control connection");
			else
				conn_fail(cm, c, CALLPROTO_CODE_PROTOCOL, "the peer closed the connection "
					  "in the middle of the handshake%s",
					  c->rlen ? " (truncated message)" : "");
			return false;
		}
		c->rlen += (size_t)r;
		c->idle = false;   /* it spoke: no longer evictable or idle-closed */
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
			int crc = callproto_consume(c->cp, c->rbuf, need);

			/* the status is FAILED now: handshake_progress() reports it */
			if (crc == -ECONNABORTED || crc == -ECONNREFUSED)
				c->ender = STORE_ENDER_PEER;   /* its ABORT or reject */
			memmove(c->rbuf, c->rbuf + need, c->rlen - need);
			c->rlen -= need;
			if (!handshake_progress(cm, c))
				return false;
		}
		/* a short read took all there was: the poll loop (level-triggered)
		 * says when more comes, without one more recv that would only
		 * say EAGAIN (~3 per call and side) */
		if ((size_t)r < want)
			return true;
	}
}

static void addr_of_sockaddr(const struct sockaddr_storage *ss, struct callproto_addr *a)
{
	memset(a, 0, sizeof(*a));
	if (ss->ss_family == AF_INET6) {
		a->family = 6;
		memcpy(a->addr, &((const struct sockaddr_in6 *)ss)->sin6_addr, 16);
		a->port = ntohs(((const struct sockaddr_in6 *)ss)->sin6_port);
	} else {
		a->family = 4;
		memcpy(a->addr, &((const struct sockaddr_in *)ss)->sin_addr, 4);
		a->port = ntohs(((const struct sockaddr_in *)ss)->sin_port);
	}
}

/* The same source for the per-source bound: an IPv4 address (an IPv4-mapped
 * IPv6 address is one), an IPv6 /64 (what one host is given). */
static bool same_source(const struct callproto_addr *a, const struct callproto_addr *b)
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };

	if (a->family != b->family)
		return false;
	if (a->family == 4 || memcmp(a->addr, mapped, sizeof(mapped)) == 0)
		return memcmp(a->addr, b->addr, 16) == 0;
	return memcmp(a->addr, b->addr, 8) == 0;
}

/* Incoming handshakes from a's source now: a walk of the incoming queue,
 * which holds max_attempts at most. */
static unsigned int source_count(const struct calls *cm, const struct callproto_addr *a)
{
	unsigned int n = 0;

	for (const struct conn *x = cm->inq.head; x; x = x->in_next)
		n += same_source(&x->from, a);
	return n;
}

/* Our own dial to our own listener that the connection from a is (its
 * callee leg), or NULL: a walk of the self-dials, max_attempts at most. */
static struct conn *own_dial(const struct calls *cm, const struct callproto_addr *a)
{
	for (struct conn *x = cm->selfq.head; x; x = x->in_next)
		if (addr_eq(&x->from, a))
			return x;
	return NULL;
}

/* The oldest incoming connection that has sent nothing, or NULL. */
static struct conn *oldest_idle(const struct calls *cm)
{
	for (struct conn *x = cm->inq.head; x; x = x->in_next)
		if (x->idle)
			return x;
	return NULL;
}

/*
 * One connection from the accept queue, under the bounds (docs/calls.md,
 * "Bounds"): its source at max_per_source: closed at once; max_attempts
 * incoming handshakes: the oldest idle one is closed for it, or, none
 * idle, it is closed. The callee leg of our own dial is that dial's and
 * counts against neither. Returns false when the queue is empty.
 */
static bool accept_one(struct calls *cm)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);
	struct callproto_addr a;
	struct conn *c, *own, *old;
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
			if (fd >= 0) {
				close(fd);
				cm->stats.refused_other++;
			}
			cm->spare_fd = open("/dev/null", O_RDONLY | O_CLOEXEC);
		}
		return false;
	}
	addr_of_sockaddr(&ss, &a);
	own = own_dial(cm, &a);
	if (!own && source_count(cm, &a) >= cm->max_per_source) {
		cm->stats.refused_source++;
		close(fd);   /* the caller sees the connection closed */
		return true;
	}
	if (!own && cm->incoming >= cm->cfg.max_attempts) {
		if (!(old = oldest_idle(cm))) {
			cm->stats.refused_full++;
			close(fd);
			return true;
		}
		cm->stats.evicted_idle++;
		conn_free(cm, old);   /* sent nothing: no call id, nothing stored */
	}
	c = calloc(1, sizeof(*c));
	if (!c || callproto_responder_create(&c->cp, NULL) < 0) {
		free(c);
		close(fd);
		cm->stats.refused_other++;
		return true;
	}
	c->from = a;
	addr_format(&a, c->src, sizeof(c->src));
	c->fd = fd;
	c->info.role = CALLPROTO_ROLE_RESPONDER;
	c->info.state = CALLS_HANDSHAKE;
	c->deadline = now_ms() + cm->cfg.timeout_ms;
	if (conn_link(cm, c) < 0) {
		c->fd = -1;
		callproto_destroy(c->cp);
		free(c);
		close(fd);
		cm->stats.refused_other++;
		return true;
	}
	if (own) {
		/* our own dial's other leg: bounded by that dial */
		c->own_leg = true;
		q_remove(&cm->selfq, own);
		own->on_selfq = false;
		return true;
	}
	c->idle = true;
	c->idle_deadline = now_ms() + cm->idle_ms;
	c->in_counted = true;
	q_append(&cm->inq, c);
	if (++cm->incoming > cm->stats.incoming_peak)
		cm->stats.incoming_peak = cm->incoming;
	return true;
}

/* Our dial c (connect() issued) goes to our own listener: its source
 * address is noted so that the callee leg is recognised at accept. */
void conn_self_dial(struct calls *cm, struct conn *c)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getsockname(c->fd, (struct sockaddr *)&ss, &sl) < 0)
		return;   /* then the leg is an incoming handshake like another */
	addr_of_sockaddr(&ss, &c->from);
	c->on_selfq = true;
	q_append(&cm->selfq, c);
}

void calls_stats(const struct calls *cm, struct calls_stats *out)
{
	*out = cm->stats;
	out->incoming = cm->incoming;
	out->dials = cm->dials;
	out->max_incoming = cm->cfg.max_attempts;
	out->max_dials = cm->cfg.max_attempts;
	out->max_per_source = cm->max_per_source;
	out->idle_ms = cm->idle_ms;
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
		uint64_t d = c->idle ? c->idle_deadline : c->deadline;

		if ((!c->active || !c->confirmed) && d < best)
			best = d;
		else if (auto_rekey_due(cm, c) && auto_rekey_at(cm, c) < best)
			best = auto_rekey_at(cm, c);
	}
	best = legstats_wake(cm, best);   /* the statistics poll (legstats.c) */
	best = history_wake(cm, best);    /* the history's retention (history.c) */
	if (best == UINT64_MAX)
		return -1;
	return best <= t ? 0 : (int)(best - t > 60000 ? 60000 : best - t);
}

/* The connection on fd, or NULL (another's descriptor, or one closed in
 * this round: its revents are stale). */
static struct conn *by_fd(const struct calls *cm, int fd)
{
	return fd >= 0 && (size_t)fd < cm->fdmap_cap ? cm->fdmap[fd] : NULL;
}

int calls_handle(struct calls *cm, const struct pollfd *fds, size_t n)
{
	struct conn *c, *nx;
	bool listener = false;
	uint64_t t;

	for (size_t i = 0; i < n; i++) {
		if (!fds[i].revents)
			continue;
		if (fds[i].fd == cm->lfd && cm->lfd >= 0) {
			listener = true;   /* after the connections: see below */
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
	/* accepted last: a caller whose first octets came in this round has
	 * been read (it is no longer idle) before a new connection may evict
	 * an idle one; and no new descriptor takes a closed one's number while
	 * fds[] still names it */
	for (int k = 0; listener && k < 16 && accept_one(cm); k++)
		;
	t = now_ms();
	/* silent ones first: the queue is in accept order, so in deadline order.
	 * Each is an event and a log line like any failed attempt: at most
	 * max_attempts per idle_ms, as evictions make none */
	for (c = cm->inq.head; c && t >= c->idle_deadline; c = nx) {
		nx = c->in_next;
		if (c->idle) {
			cm->stats.idle_closed++;
			conn_fail(cm, c, CALLPROTO_CODE_TIMEOUT, "timed out after %u ms (the peer "
				  "sent nothing)", cm->idle_ms);
		}
	}
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
	history_prune(cm);   /* ended calls past the retention (history.c) */
	return 0;
}
