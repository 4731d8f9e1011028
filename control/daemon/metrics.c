/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * metrics.c - callseal-control's HTTP server for Prometheus scrapes
 * (metrics.h; docs/operations.md "Statistics"). Every accepted client gets a
 * slot and is served from the daemon's poll loop as its bytes come: the
 * request's head read into the slot as far as it has come (at most
 * METRICS_REQUEST_MAX bytes), answered once its blank line arrives, the
 * response built in memory (its body by stats_prometheus(), the one
 * generator of the Prometheus text) and sent as the socket takes it. Nothing
 * here waits for a client: a stalled one costs its slot until its deadline.
 *
 * HTTP (RFC 9112): "METHOD SP TARGET SP HTTP/1.x" then header lines "name:
 * value", a blank line ends the head (CRLF, or a bare LF, section 2.2). One
 * request per connection: the response says Connection: close and the
 * server closes once it is sent. A request body, if any, is not read.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <netinet/in.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include "admin.h"
#include "slot_table.h"
#include "handler.h"

#include "metrics.h"

#define HEAD_ROOM      256u   /* bytes before the body kept for the status line and headers */
#define ACCEPT_BURST   64u    /* accepts per round, at most */
#define PROM_TYPE      "text/plain; version=0.0.4; charset=utf-8"
#define TEXT_TYPE      "text/plain; charset=utf-8"
#define HTML_TYPE      "text/html; charset=utf-8"
#define BUSY_RESPONSE  "HTTP/1.1 503 Service Unavailable\r\nContent-Length: 0\r\n" \
		       "Connection: close\r\n\r\n"

enum client_state {
	MC_FREE,
	MC_READ,       /* the request's head is coming: poll for input */
	MC_WRITE,      /* the response is built: poll for room */
};

/* One connected HTTP client. */
struct client {
	int fd;
	enum client_state state;
	int64_t deadline;         /* admin_now_ms(): closed then */
	size_t got;               /* bytes of req */
	char req[METRICS_REQUEST_MAX];
	/* the response: bytes [off, len) of out are still to send; the body
	 * starts at HEAD_ROOM, the headers are put just before it */
	char *out;
	size_t off, len, cap;
	bool cut;                 /* the body outgrew METRICS_REPLY_MAX (or memory) */
};

_Static_assert(METRICS_CLIENTS_MAX <= SLOT_TABLE_MAX, "the slot table holds every client");

struct metrics {
	int listen_fd;
	struct client cl[METRICS_CLIENTS_MAX];
	struct slot_table slots;         /* which of cl[] are in use */
	/* the slot of each poll entry metrics_pollfds() filled (entry 0 is the
	 * listening socket) */
	unsigned int poll_slot[METRICS_POLL_MAX];
	int64_t paused_until;        /* accept failed (no descriptor): rest until */
	/* refusals and timeouts: logged at most once a second, with counts */
	int64_t logged;
	uint64_t refused_unlogged, timed_out_unlogged;
};

/* ---- the address ------------------------------------------------------------- */

/* spec -> a sockaddr: its length, or -EINVAL. */
static int parse_addr(const char *spec, struct sockaddr_storage *ss)
{
	uint8_t family, addr[16];
	uint16_t port;

	memset(ss, 0, sizeof(*ss));
	if (spec == NULL || store_ip_port_parse(spec, &family, addr, &port) < 0)
		return -EINVAL;
	if (family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(port);
		memcpy(&s6->sin6_addr, addr, 16);
		return (int)sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(port);
	memcpy(&s4->sin_addr, addr, 4);
	return (int)sizeof(*s4);
}

int metrics_check(const char *spec, char *err, size_t errlen)
{
	struct sockaddr_storage ss;

	if (parse_addr(spec, &ss) < 0) {
		snprintf(err, errlen, "--metrics '%.64s': want ADDR:PORT, a numeric IPv4 address "
			 "or an [IPv6] one and a port 0..65535 (0: a free one), e.g. "
			 "127.0.0.1:9464 or [::1]:9464", spec ? spec : "");
		return -EINVAL;
	}
	return 0;
}

/* "http://ADDR:PORT/metrics" of the bound socket (the port 0 picked). */
static void format_url(int fd, char *url, size_t n)
{
	struct sockaddr_storage ss;
	socklen_t len = sizeof(ss);
	char h[INET6_ADDRSTRLEN];

	if (getsockname(fd, (struct sockaddr *)&ss, &len) < 0) {
		snprintf(url, n, "http://?/metrics");
		return;
	}
	if (ss.ss_family == AF_INET6) {
		const struct sockaddr_in6 *s6 = (const struct sockaddr_in6 *)&ss;

		inet_ntop(AF_INET6, &s6->sin6_addr, h, sizeof(h));
		snprintf(url, n, "http://[%s]:%u/metrics", h, (unsigned int)ntohs(s6->sin6_port));
	} else {
		const struct sockaddr_in *s4 = (const struct sockaddr_in *)&ss;

		inet_ntop(AF_INET, &s4->sin_addr, h, sizeof(h));
		snprintf(url, n, "http://%s:%u/metrics", h, (unsigned int)ntohs(s4->sin_port));
	}
}

int metrics_create(struct ctl *c, char *err, size_t errlen)
{
	struct sockaddr_storage ss;
	struct metrics *m = NULL;
	int fd = -1, one = 1, len, rc;
	unsigned int i;

	len = parse_addr(c->metrics_addr, &ss);
	if (len < 0) {
		rc = metrics_check(c->metrics_addr, err, errlen);
		goto out;
	}
	m = calloc(1, sizeof(*m));
	if (m == NULL) {
		rc = -ENOMEM;
		snprintf(err, errlen, "metrics: out of memory for its clients");
		goto out;
	}
	fd = socket(ss.ss_family, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
	if (fd < 0 ||
	    setsockopt(fd, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) < 0 ||
	    (ss.ss_family == AF_INET6 &&   /* [::] is IPv6 only: say 0.0.0.0 for IPv4 */
	     setsockopt(fd, IPPROTO_IPV6, IPV6_V6ONLY, &one, sizeof(one)) < 0) ||
	    bind(fd, (struct sockaddr *)&ss, (socklen_t)len) < 0 ||
	    listen(fd, 64) < 0) {
		rc = -errno;
		snprintf(err, errlen, "metrics: cannot listen on %s: %s", c->metrics_addr,
			 strerror(errno));
		goto out;
	}
	for (i = 0; i < METRICS_CLIENTS_MAX; i++)
		m->cl[i].fd = -1;
	slot_table_init(&m->slots, METRICS_CLIENTS_MAX);
	m->listen_fd = fd;
	m->logged = INT64_MIN / 2;
	format_url(fd, c->metrics_url, sizeof(c->metrics_url));
	c->metrics = m;
	m = NULL;
	fd = -1;
	rc = 0;
out:
	if (fd >= 0)
		close(fd);
	free(m);
	return rc;
}

/* ---- clients ------------------------------------------------------------------ */

/* Close cl and give its slot back. */
static void client_close(struct ctl *c, struct client *cl)
{
	struct metrics *m = c->metrics;
	unsigned int slot = (unsigned int)(cl - m->cl);

	admin_server_close(cl->fd);   /* what it sent and we did not read goes */
	free(cl->out);
	cl->out = NULL;
	cl->off = cl->len = cl->cap = 0;
	c->metrics_stats.clients--;
	slot_table_give(&m->slots, slot);
	cl->fd = -1;
	cl->state = MC_FREE;
}

void metrics_destroy(struct ctl *c)
{
	struct metrics *m = c->metrics;

	if (m == NULL)
		return;
	while (m->slots.n_live > 0)
		client_close(c, &m->cl[m->slots.live[0]]);
	close(m->listen_fd);
	free(m);
	c->metrics = NULL;
}

/* The response's buffer holds n more bytes (within the body's bound): 0, or
 * -EFBIG, -ENOMEM (then cl->cut). */
static int room(struct client *cl, size_t n)
{
	size_t cap = cl->cap ? cl->cap : 4096;
	char *g;

	if (cl->cut)
		return -EFBIG;
	if (cl->len + n > HEAD_ROOM + METRICS_REPLY_MAX) {
		cl->cut = true;
		return -EFBIG;
	}
	if (cl->len + n <= cl->cap)
		return 0;
	while (cap < cl->len + n)
		cap *= 2;
	if (cap > HEAD_ROOM + METRICS_REPLY_MAX)
		cap = HEAD_ROOM + METRICS_REPLY_MAX;
	g = realloc(cl->out, cap);
	if (g == NULL) {
		cl->cut = true;
		return -ENOMEM;
	}
	cl->out = g;
	cl->cap = cap;
	return 0;
}

/* stats_emit's write: append to the body. */
static void body_write(void *ctx, const char *s, size_t n)
{
	struct client *cl = ctx;

	if (room(cl, n) == 0) {
		memcpy(cl->out + cl->len, s, n);
		cl->len += n;
	}
}

/* Send what the socket takes of cl's response; close cl once it is all sent,
 * or when the client is gone. */
static void write_some(struct ctl *c, struct client *cl)
{
	ssize_t r;

	while (cl->off < cl->len) {
		r = send(cl->fd, cl->out + cl->off, cl->len - cl->off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			cl->off += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		c->metrics_stats.left++;
		break;
	}
	client_close(c, cl);
}

static const char *reason(int code)
{
	switch (code) {
	case 200: return "OK";
	case 400: return "Bad Request";
	case 404: return "Not Found";
	case 405: return "Method Not Allowed";
	default:  return "Internal Server Error";
	}
}

/* The body is in place (from HEAD_ROOM): put the status line and headers
 * before it and send (head: the headers only, as HEAD asks). */
static void respond(struct ctl *c, struct client *cl, int code, const char *type, bool head)
{
	char h[HEAD_ROOM];
	int n;

	if (cl->cap < HEAD_ROOM) {      /* no memory even for the headers */
		client_close(c, cl);
		return;
	}
	n = snprintf(h, sizeof(h), "HTTP/1.1 %d %s\r\nContent-Type: %s\r\nContent-Length: %zu\r\n"
		     "%sConnection: close\r\n\r\n", code, reason(code), type,
		     cl->len - HEAD_ROOM, code == 405 ? "Allow: GET, HEAD\r\n" : "");
	if (n < 0 || (size_t)n >= sizeof(h)) {   /* cannot be: the texts are fixed */
		client_close(c, cl);
		return;
	}
	memcpy(cl->out + HEAD_ROOM - (size_t)n, h, (size_t)n);
	cl->off = HEAD_ROOM - (size_t)n;
	if (head)
		cl->len = HEAD_ROOM;
	if (code == 200)
		c->metrics_stats.answered++;
	else
		c->metrics_stats.bad_request++;
	cl->state = MC_WRITE;
	write_some(c, cl);
}

/* An error (or /'s pointer): the one-line body, then respond(). */
static void respond_text(struct ctl *c, struct client *cl, int code, const char *type,
			 const char *body, bool head)
{
	cl->len = HEAD_ROOM;
	cl->cut = false;
	body_write(cl, body, strlen(body));
	respond(c, cl, code, type, head);
}

/* An RFC 9110 token character (a method, a header's name). */
static bool tchar(char ch)
{
	return (ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') ||
	       (ch != '\0' && strchr("!#$%&'*+-.^_`|~", ch) != NULL);
}

/* What a request asks for. */
enum route { R_BAD, R_METHOD, R_METRICS, R_ROOT, R_NOT_FOUND };

/* The head req[0, n) (ending with its blank line): the route; *head for a
 * HEAD request. */
static enum route parse(const char *req, size_t n, bool *head)
{
	const char *p = req, *end = req + n, *eol, *sp1, *sp2, *q;
	size_t len;
	enum route r;
	bool get;

	*head = false;
	for (q = req; q < end; q++)   /* no control bytes but CR, LF, HT */
		if (((unsigned char)*q < 0x20 && *q != '\r' && *q != '\n' && *q != '\t') ||
		    *q == 0x7f)
			return R_BAD;
	/* the request line: METHOD SP TARGET SP HTTP/1.x */
	eol = memchr(p, '\n', n);
	len = (size_t)(eol - p) - (eol > p && eol[-1] == '\r');
	sp1 = memchr(p, ' ', len);
	if (sp1 == NULL || sp1 == p)
		return R_BAD;
	sp2 = memchr(sp1 + 1, ' ', len - (size_t)(sp1 + 1 - p));
	if (sp2 == NULL || sp2 == sp1 + 1 || sp1[1] != '/' ||
	    (size_t)(p + len - (sp2 + 1)) != 8 ||
	    (memcmp(sp2 + 1, "HTTP/1.0", 8) != 0 && memcmp(sp2 + 1, "HTTP/1.1", 8) != 0))
		return R_BAD;
	for (q = p; q < sp1; q++)
		if (!tchar(*q))
			return R_BAD;
	get = sp1 - p == 3 && memcmp(p, "GET", 3) == 0;
	*head = sp1 - p == 4 && memcmp(p, "HEAD", 4) == 0;
	/* the path, without a query */
	for (q = sp1 + 1; q < sp2 && *q != '?'; q++)
		;
	if (q - (sp1 + 1) == 8 && memcmp(sp1 + 1, "/metrics", 8) == 0)
		r = R_METRICS;
	else if (q - (sp1 + 1) == 1)
		r = R_ROOT;
	else
		r = R_NOT_FOUND;
	/* header lines "name: value" up to the blank one (no obs-fold) */
	for (p = eol + 1; p < end; p = eol + 1) {
		eol = memchr(p, '\n', (size_t)(end - p));
		len = (size_t)(eol - p) - (eol > p && eol[-1] == '\r');
		if (len == 0)
			break;
		for (q = p; q < p + len && *q != ':'; q++)
			if (!tchar(*q))
				return R_BAD;
		if (q == p || q == p + len)
			return R_BAD;
	}
	return get || *head ? r : R_METHOD;
}

/* cl's head is complete in req[0, n): answer it. */
static void serve(struct ctl *c, struct client *cl, size_t n)
{
	const struct stats_emit e = { body_write, cl };
	bool head;

	switch (parse(cl->req, n, &head)) {
	case R_METRICS:
		cl->len = HEAD_ROOM;
		cl->cut = false;
		if (room(cl, 0) < 0 || stats_prometheus(c, &e) < 0 || cl->cut) {
			logline("metrics: the statistics did not fit in %u bytes (or memory): "
				"answered 500", METRICS_REPLY_MAX);
			respond_text(c, cl, 500, TEXT_TYPE, "500 the statistics could not be "
				     "formatted (memory)\n", head);
			return;
		}
		respond(c, cl, 200, PROM_TYPE, head);
		return;
	case R_ROOT:
		respond_text(c, cl, 200, HTML_TYPE, "<html><body>callseal-control: the "
			     "dataplane's statistics are at <a href=\"/metrics\">/metrics</a>"
			     "</body></html>\n", head);
		return;
	case R_NOT_FOUND:
		respond_text(c, cl, 404, TEXT_TYPE, "404 not found: " PROG " serves /metrics\n",
			     head);
		return;
	case R_METHOD:
		respond_text(c, cl, 405, TEXT_TYPE, "405 method not allowed: GET or HEAD\n",
			     false);
		return;
	case R_BAD:
		break;
	}
	respond_text(c, cl, 400, TEXT_TYPE, "400 bad request\n", false);
}

/* The end of the head in b[0, n) (just past its blank line: CRLF CRLF or LF
 * LF, or the mixes), searched from from; 0: not there yet. */
static size_t head_end(const char *b, size_t from, size_t n)
{
	for (size_t i = from; i < n; i++) {
		if (b[i] != '\n')
			continue;
		if (i >= 1 && b[i - 1] == '\n')
			return i + 1;
		if (i >= 2 && b[i - 1] == '\r' && b[i - 2] == '\n')
			return i + 1;
	}
	return 0;
}

/* Take what cl has sent of its head; answer once it is complete. */
static void read_request(struct ctl *c, struct client *cl)
{
	size_t end;
	ssize_t r;

	for (;;) {
		if (cl->got == sizeof(cl->req)) {
			respond_text(c, cl, 400, TEXT_TYPE, "400 bad request: the head is over "
				     "8192 bytes\n", false);
			return;
		}
		r = recv(cl->fd, cl->req + cl->got, sizeof(cl->req) - cl->got, MSG_DONTWAIT);
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return;
		if (r <= 0) {             /* gone before its request was complete */
			c->metrics_stats.left++;
			client_close(c, cl);
			return;
		}
		/* the new bytes (a blank line's start may be in what came before) */
		end = head_end(cl->req, cl->got, cl->got + (size_t)r);
		cl->got += (size_t)r;
		if (end != 0) {
			serve(c, cl, end);
			return;
		}
	}
}

/* Refusals and timeouts: logged at most once a second, with their counts. */
static void log_trouble(struct ctl *c, int64_t now)
{
	struct metrics *m = c->metrics;

	if ((m->refused_unlogged == 0 && m->timed_out_unlogged == 0) || now - m->logged < 1000)
		return;
	if (m->refused_unlogged != 0)
		logline("metrics: refused %" PRIu64 " client(s) at the bound, %u at once (%"
			PRIu64 " so far)", m->refused_unlogged, METRICS_CLIENTS_MAX,
			c->metrics_stats.refused_full);
	if (m->timed_out_unlogged != 0)
		logline("metrics: closed %" PRIu64 " client(s) at their %d ms deadline (%"
			PRIu64 " so far)", m->timed_out_unlogged, METRICS_TIMEOUT_MS,
			c->metrics_stats.timed_out);
	m->refused_unlogged = m->timed_out_unlogged = 0;
	m->logged = now;
}

/* Take the clients waiting on the listening socket (at most ACCEPT_BURST a
 * round): each gets a slot, or 503 and is closed at once. */
static void accept_clients(struct ctl *c, int64_t now)
{
	struct metrics *m = c->metrics;
	struct client *cl;
	unsigned int k, slot;
	int fd;

	for (k = 0; k < ACCEPT_BURST; k++) {
		fd = accept4(m->listen_fd, NULL, NULL, SOCK_CLOEXEC | SOCK_NONBLOCK);
		if (fd < 0) {
			if (errno == EMFILE || errno == ENFILE || errno == ENOMEM ||
			    errno == ENOBUFS) {
				logline("metrics accept: %s", strerror(errno));
				m->paused_until = now + 100;   /* do not spin */
			}
			return;
		}
		if (m->slots.n_free == 0) {
			/* a fresh socket's buffer takes the short answer */
			(void)send(fd, BUSY_RESPONSE, sizeof(BUSY_RESPONSE) - 1,
				   MSG_DONTWAIT | MSG_NOSIGNAL);
			admin_server_close(fd);
			c->metrics_stats.refused_full++;
			m->refused_unlogged++;
			continue;
		}
		slot = slot_table_take(&m->slots);
		cl = &m->cl[slot];
		cl->fd = fd;
		cl->state = MC_READ;
		cl->got = 0;
		cl->deadline = now + METRICS_TIMEOUT_MS;
		c->metrics_stats.clients++;
		c->metrics_stats.accepted++;
	}
}

size_t metrics_pollfds(struct ctl *c, struct pollfd *fds, int *timeout_ms)
{
	struct metrics *m = c->metrics;
	int64_t now, next = INT64_MAX;
	struct client *cl;
	unsigned int i;
	size_t n = 1;

	if (m == NULL)
		return 0;
	now = admin_now_ms();
	fds[0] = (struct pollfd){ .fd = m->listen_fd, .events = POLLIN };
	if (m->paused_until > now) {
		fds[0].fd = -1;
		next = m->paused_until;
	}
	for (i = 0; i < m->slots.n_live;) {
		cl = &m->cl[m->slots.live[i]];
		if (cl->deadline <= now) {
			c->metrics_stats.timed_out++;
			m->timed_out_unlogged++;
			client_close(c, cl);
			continue;                 /* live[i] is another client now */
		}
		fds[n] = (struct pollfd){ .fd = cl->fd,
					  .events = cl->state == MC_READ ? POLLIN : POLLOUT };
		m->poll_slot[n++] = m->slots.live[i];
		if (cl->deadline < next)
			next = cl->deadline;
		i++;
	}
	log_trouble(c, now);
	if (m->refused_unlogged || m->timed_out_unlogged)   /* wake up to log them */
		next = next < m->logged + 1000 ? next : m->logged + 1000;
	if (next != INT64_MAX) {
		int64_t left = next > now ? next - now : 0;

		if (*timeout_ms < 0 || *timeout_ms > left)
			*timeout_ms = (int)left;
	}
	return n;
}

void metrics_handle(struct ctl *c, const struct pollfd *fds, size_t n)
{
	struct metrics *m = c->metrics;
	struct client *cl;
	size_t i;

	if (m == NULL || n == 0)
		return;
	for (i = 1; i < n; i++) {
		if (fds[i].revents == 0)
			continue;
		cl = &m->cl[m->poll_slot[i]];
		if (cl->fd != fds[i].fd)
			continue;            /* closed meanwhile */
		if (cl->state == MC_READ)
			read_request(c, cl);
		else if (cl->state == MC_WRITE)
			write_some(c, cl);
	}
	/* last: a slot freed above may be taken again */
	if (fds[0].revents & POLLIN)
		accept_clients(c, admin_now_ms());
}
