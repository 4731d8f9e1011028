/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * admin.c - admin protocol framing and socket helpers (see admin.h).
 */
#include "byteorder.h"
#include "errbuf.h"
#include "admin.h"
#include "secmem.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

int64_t admin_now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- bounded I/O ------------------------------------------------------------ */

/* Wait until fd is ready for ev or deadline passes: 0, -ETIMEDOUT, -errno. */
static int wait_fd(int fd, short ev, int64_t deadline)
{
	struct pollfd p = { .fd = fd, .events = ev };
	int64_t left;
	int n;

	for (;;) {
		left = deadline - admin_now_ms();
		if (left <= 0)
			return -ETIMEDOUT;
		n = poll(&p, 1, left > 60000 ? 60000 : (int)left);
		if (n > 0)
			return 0;     /* readable, writable, or an error to read */
		if (n < 0 && errno != EINTR)
			return -errno;
	}
}

/* Read exactly n bytes: 0, -ECONNRESET (EOF; *got says how many came),
 * -ETIMEDOUT, -errno. */
static int read_full(int fd, void *p, size_t n, int64_t deadline, size_t *got)
{
	size_t done = 0;
	ssize_t r;
	int rc = 0;

	while (done < n) {
		r = recv(fd, (char *)p + done, n - done, MSG_DONTWAIT);
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r == 0) {
			rc = -ECONNRESET;
			break;
		}
		if (errno == EINTR)
			continue;
		if (errno != EAGAIN && errno != EWOULDBLOCK) {
			rc = -errno;
			break;
		}
		rc = wait_fd(fd, POLLIN, deadline);
		if (rc < 0)
			break;
	}
	if (got != NULL)
		*got = done;
	return rc;
}

static int write_full(int fd, const void *p, size_t n, int64_t deadline)
{
	size_t done = 0;
	ssize_t r;
	int rc;

	while (done < n) {
		r = send(fd, (const char *)p + done, n - done, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			done += (size_t)r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && errno != EAGAIN && errno != EWOULDBLOCK)
			return -errno;
		rc = wait_fd(fd, POLLOUT, deadline);
		if (rc < 0)
			return rc;
	}
	return 0;
}

static void put_hdr(uint8_t h[ADMIN_HDR_BYTES], unsigned int type, uint32_t len)
{
	h[0] = ADMIN_PROTO_VERSION;
	h[1] = (uint8_t)type;
	h[2] = 0;
	h[3] = 0;
	h[4] = (uint8_t)(len >> 24);
	h[5] = (uint8_t)(len >> 16);
	h[6] = (uint8_t)(len >> 8);
	h[7] = (uint8_t)len;
}

/* Check a frame header: 0 or -EPROTONOSUPPORT / -EPROTO / -EMSGSIZE. */
static int check_hdr(const uint8_t h[ADMIN_HDR_BYTES], const char *peer, char *err,
		     size_t errlen)
{
	if (h[0] != ADMIN_PROTO_VERSION) {
		errbuf_set(err, errlen, "%s speaks admin protocol version %u; this build speaks "
		       "%u", peer, h[0], ADMIN_PROTO_VERSION);
		return -EPROTONOSUPPORT;
	}
	if (h[1] < ADMIN_T_REQUEST || h[1] > ADMIN_T_END || h[2] != 0 || h[3] != 0) {
		errbuf_set(err, errlen, "%s sent a malformed frame header (type %u)", peer, h[1]);
		return -EPROTO;
	}
	if (get_be32(h + 4) > ADMIN_FRAME_MAX) {
		errbuf_set(err, errlen, "%s sent a %u-byte frame (at most %u)", peer,
		       get_be32(h + 4), ADMIN_FRAME_MAX);
		return -EMSGSIZE;
	}
	return 0;
}

/* ---- server ------------------------------------------------------------------ */

static int fill_addr(const char *path, struct sockaddr_un *sa, char *err, size_t errlen)
{
	size_t n = strlen(path);

	memset(sa, 0, sizeof(*sa));
	sa->sun_family = AF_UNIX;
	if (n == 0 || n >= sizeof(sa->sun_path)) {
		errbuf_set(err, errlen, "admin socket path %s (%zu bytes; 1..%zu)",
		       n ? "is too long" : "is empty", n, sizeof(sa->sun_path) - 1);
		return -ENAMETOOLONG;
	}
	memcpy(sa->sun_path, path, n);
	return 0;
}

int admin_listen(const char *path, ino_t *ino, bool *stale, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	struct stat st;
	mode_t old_mask;
	int fd = -1, probe = -1, rc;

	*stale = false;
	if (path == NULL) {
		errbuf_set(err, errlen, "no admin socket path");
		rc = -EINVAL;
		goto out;
	}
	rc = fill_addr(path, &sa, err, errlen);
	if (rc < 0)
		goto out;
	if (lstat(path, &st) == 0) {
		if (!S_ISSOCK(st.st_mode)) {
			errbuf_set(err, errlen, "admin socket %s exists and is not a socket: "
			       "refusing to replace it", path);
			rc = -EEXIST;
			goto out;
		}
		probe = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
		if (probe < 0) {
			rc = -errno;
			errbuf_set(err, errlen, "socket: %s", strerror(-rc));
			goto out;
		}
		if (connect(probe, (struct sockaddr *)&sa, sizeof(sa)) == 0 ||
		    errno == EAGAIN) {
			errbuf_set(err, errlen, "admin socket %s is live: another callseal-control "
			       "serves it (stop that one, or choose another --admin)", path);
			rc = -EADDRINUSE;
			goto out;
		}
		if (errno != ECONNREFUSED) {
			rc = -errno;
			errbuf_set(err, errlen, "cannot probe existing admin socket %s: %s", path,
			       strerror(-rc));
			goto out;
		}
		if (unlink(path) < 0 && errno != ENOENT) {
			rc = -errno;
			errbuf_set(err, errlen, "cannot remove stale admin socket %s: %s", path,
			       strerror(-rc));
			goto out;
		}
		*stale = true;
	} else if (errno != ENOENT) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot stat admin socket %s: %s", path, strerror(-rc));
		goto out;
	}
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "socket: %s", strerror(-rc));
		goto out;
	}
	/* the umask covers the moment between bind and chmod */
	old_mask = umask(077);
	rc = bind(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0 ? 0 : -errno;
	umask(old_mask);
	if (rc < 0) {
		errbuf_set(err, errlen, "cannot bind admin socket %s: %s", path, strerror(-rc));
		goto out;
	}
	/* backlog: the daemon's bound on clients (ADMIN_CLIENTS_MAX) */
	if (chmod(path, 0600) < 0 || lstat(path, &st) < 0 || listen(fd, 64) < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "cannot set up admin socket %s: %s", path, strerror(-rc));
		unlink(path);
		goto out;
	}
	*ino = st.st_ino;
	rc = fd;
	fd = -1;
out:
	if (probe >= 0)
		close(probe);
	if (fd >= 0)
		close(fd);
	return rc;
}

void admin_unlink_own(const char *path, ino_t ino)
{
	struct stat st;

	if (lstat(path, &st) == 0 && S_ISSOCK(st.st_mode) && st.st_ino == ino)
		unlink(path);
}

void admin_request_wipe(struct admin_request *req)
{
	sodium_memzero(req->buf, req->len < sizeof(req->buf) ? req->len : sizeof(req->buf));
	memset(req->argv, 0, sizeof(req->argv));
	req->argc = 0;
	req->len = 0;
}

/* Split a complete payload into words: 0, -EPROTO, -E2BIG. */
static int split_words(struct admin_request *req, char *err, size_t errlen)
{
	size_t i, start;

	if (req->buf[req->len - 1] != 0) {
		errbuf_set(err, errlen, "request words must each end with a NUL byte");
		return -EPROTO;
	}
	for (i = 0, start = 0; i < req->len; i++) {
		if (req->buf[i] != 0)
			continue;
		if (req->argc == (int)ADMIN_ARGS_MAX) {
			errbuf_set(err, errlen, "request has more than %u words", ADMIN_ARGS_MAX);
			return -E2BIG;
		}
		req->argv[req->argc++] = (char *)req->buf + start;
		start = i + 1;
	}
	req->argv[req->argc] = NULL;
	return 0;
}

void admin_reader_wipe(struct admin_reader *r)
{
	if (r->payload != NULL)
		secmem_free(r->payload);    /* wipes */
	sodium_memzero(r, sizeof(*r));
}

int admin_reader_recv(struct admin_reader *r, int fd, struct admin_request *req,
		      char *err, size_t errlen)
{
	size_t want;
	uint8_t *to;
	ssize_t n;
	int rc;

	for (;;) {
		if (r->got < ADMIN_HDR_BYTES) {
			to = r->hdr + r->got;
			want = ADMIN_HDR_BYTES - r->got;
		} else {
			to = r->payload + (r->got - ADMIN_HDR_BYTES);
			want = ADMIN_HDR_BYTES + r->len - r->got;
		}
		n = recv(fd, to, want, MSG_DONTWAIT);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			return -EAGAIN;
		if (n < 0) {
			rc = -errno;
			errbuf_set(err, errlen, "reading the request: %s", strerror(-rc));
			goto fail;
		}
		if (n == 0) {
			rc = -ECONNRESET;
			errbuf_set(err, errlen, r->got == 0 ? "client closed the connection "
				   "without a request" : "client closed the connection after "
				   "%zu bytes of its request", r->got);
			goto fail;
		}
		r->got += (size_t)n;
		if (r->got == ADMIN_HDR_BYTES) {
			rc = check_hdr(r->hdr, "client", err, errlen);
			if (rc < 0)
				goto fail;
			r->len = get_be32(r->hdr + 4);
			if (r->hdr[1] != ADMIN_T_REQUEST || r->len == 0) {
				errbuf_set(err, errlen, "client sent a frame of type %u (%u bytes), "
					   "not a request", r->hdr[1], r->len);
				rc = -EPROTO;
				goto fail;
			}
			/* at most ADMIN_FRAME_MAX (check_hdr): locked, it may hold a
			 * key. From the secmem pool: a sodium_malloc per request was
			 * ~10 system calls (mmap, mprotect, mlock, madvise, munmap),
			 * two requests per call dialled (docs/benchmarks.md) */
			r->payload = secmem_alloc(r->len);
			if (r->payload == NULL) {
				errbuf_set(err, errlen, "out of memory for a %u-byte request", r->len);
				rc = -ENOMEM;
				goto fail;
			}
		}
		if (r->got == ADMIN_HDR_BYTES + (size_t)r->len && r->payload != NULL)
			break;
	}
	req->argc = 0;
	req->len = r->len;
	memcpy(req->buf, r->payload, r->len);
	admin_reader_wipe(r);
	rc = split_words(req, err, errlen);
	if (rc < 0)
		admin_request_wipe(req);
	return rc;
fail:
	admin_reader_wipe(r);
	return rc;
}

/* ---- reply queue -------------------------------------------------------------- */

void admin_queue_init(struct admin_queue *q, struct admin_budget *budget)
{
	memset(q, 0, sizeof(*q));
	q->budget = budget;
}

void admin_queue_free(struct admin_queue *q)
{
	struct admin_budget *b = q->budget;

	if (q->buf != NULL) {
		sodium_memzero(q->buf, q->len);
		free(q->buf);
		if (b != NULL)
			b->used -= q->cap;
	}
	admin_queue_init(q, b);
}

/* Room for n more bytes within limit, and within the budget unless force:
 * 0, -EFBIG, -ENOMEM. */
static int queue_room(struct admin_queue *q, size_t n, size_t limit, bool force)
{
	struct admin_budget *b = q->budget;
	size_t cap = q->cap ? q->cap : 4096;
	uint8_t *g;

	if (q->off == q->len)           /* all sent: start again at the front */
		q->off = q->len = 0;
	if (q->len + n > limit)
		return -EFBIG;
	if (q->len + n <= q->cap)
		return 0;
	while (cap < q->len + n)
		cap *= 2;
	if (cap > limit)
		cap = limit;
	if (b != NULL && !force && (b->used > b->max || cap - q->cap > b->max - b->used))
		return -EFBIG;
	g = realloc(q->buf, cap);
	if (g == NULL)
		return -ENOMEM;
	if (b != NULL)
		b->used += cap - q->cap;
	q->buf = g;
	q->cap = cap;
	return 0;
}

/* Queue one frame: 0 or queue_room()'s error (nothing queued). */
static int queue_frame(struct admin_queue *q, unsigned int type, const void *p, size_t n,
		       size_t limit, bool force)
{
	int rc = queue_room(q, ADMIN_HDR_BYTES + n, limit, force);

	if (rc < 0)
		return rc;
	put_hdr(q->buf + q->len, type, (uint32_t)n);
	if (n > 0)
		memcpy(q->buf + q->len + ADMIN_HDR_BYTES, p, n);
	q->len += ADMIN_HDR_BYTES + n;
	return 0;
}

long admin_queue_send(struct admin_queue *q, int fd)
{
	ssize_t r;
	long sent = 0;

	while (q->off < q->len) {
		r = send(fd, q->buf + q->off, q->len - q->off, MSG_DONTWAIT | MSG_NOSIGNAL);
		if (r > 0) {
			q->off += (size_t)r;
			sent += r;
			continue;
		}
		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
			break;
		return r < 0 ? -errno : -EIO;
	}
	return sent;
}

/* The END payload: status, then msg on one line. Returns its length. */
static size_t end_payload(uint8_t p[4 + ADMIN_MSG_MAX], int status, const char *msg)
{
	size_t n = 0;

	p[0] = (uint8_t)((uint32_t)status >> 24);
	p[1] = (uint8_t)((uint32_t)status >> 16);
	p[2] = (uint8_t)((uint32_t)status >> 8);
	p[3] = (uint8_t)status;
	for (; msg != NULL && msg[n] != '\0' && n < ADMIN_MSG_MAX; n++)
		p[4 + n] = (msg[n] == '\n' || msg[n] == '\r') ? ' ' : (uint8_t)msg[n];
	return 4 + n;
}

int admin_send_end_now(int fd, int status, const char *msg)
{
	uint8_t f[ADMIN_HDR_BYTES + 4 + ADMIN_MSG_MAX];
	size_t n = end_payload(f + ADMIN_HDR_BYTES, status, msg);
	ssize_t r;

	put_hdr(f, ADMIN_T_END, (uint32_t)n);
	do
		r = send(fd, f, ADMIN_HDR_BYTES + n, MSG_DONTWAIT | MSG_NOSIGNAL);
	while (r < 0 && errno == EINTR);
	if (r < 0)
		return -errno;
	return (size_t)r == ADMIN_HDR_BYTES + n ? 0 : -EAGAIN;
}

/* ---- reply output --------------------------------------------------------------- */

void admin_out_init(struct admin_out *o, struct admin_queue *q)
{
	o->q = q;
	o->error = 0;
	o->len = 0;
}

static void out_flush(struct admin_out *o)
{
	if (o->len > 0 && o->error == 0)
		o->error = queue_frame(o->q, ADMIN_T_DATA, o->buf, o->len, ADMIN_REPLY_MAX,
				       false);
	o->len = 0;
}

void admin_out_write(struct admin_out *o, const char *s, size_t n)
{
	while (n > 0 && o->error == 0) {
		size_t k = sizeof(o->buf) - o->len;

		if (k > n)
			k = n;
		memcpy(o->buf + o->len, s, k);
		o->len += k;
		s += k;
		n -= k;
		if (o->len == sizeof(o->buf))
			out_flush(o);
	}
}

void admin_out_printf(struct admin_out *o, const char *fmt, ...)
{
	char line[2048];
	va_list ap;
	int n;

	va_start(ap, fmt);
	n = vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	if (n < 0)
		return;
	admin_out_write(o, line, (size_t)n < sizeof(line) ? (size_t)n : sizeof(line) - 1);
}

int admin_out_end(struct admin_out *o, int status, const char *msg)
{
	uint8_t p[4 + ADMIN_MSG_MAX];
	char cut[ADMIN_MSG_MAX];
	size_t n;
	int rc;

	out_flush(o);
	if (o->error != 0) {
		snprintf(cut, sizeof(cut), "the reply was cut: %s (at most %u MiB per reply, "
			 "%u MiB for all clients at once)", o->error == -ENOMEM ? "out of memory" :
			 "it is too large", ADMIN_REPLY_MAX >> 20, ADMIN_REPLY_TOTAL_MAX >> 20);
		status = -o->error;
		msg = cut;
	}
	n = end_payload(p, status, msg);
	/* END is always given room, past the reply's bound and the budget's */
	rc = queue_frame(o->q, ADMIN_T_END, p, n, ADMIN_REPLY_MAX + ADMIN_QUEUE_END_ROOM, true);
	if (rc == 0)
		o->q->ended = true;
	return rc;
}

void admin_server_close(int fd)
{
	static uint8_t sink[4096];
	size_t total = 0;
	ssize_t r;

	shutdown(fd, SHUT_WR);
	while (total < ADMIN_FRAME_MAX) {
		r = recv(fd, sink, sizeof(sink), MSG_DONTWAIT);
		if (r <= 0 && !(r < 0 && errno == EINTR))
			break;
		if (r > 0)
			total += (size_t)r;
	}
	sodium_memzero(sink, sizeof(sink));   /* it may have held key bytes */
	close(fd);
}

/* ---- client ------------------------------------------------------------------ */

int admin_connect(const char *path, char *err, size_t errlen)
{
	struct sockaddr_un sa;
	int64_t deadline = admin_now_ms() + ADMIN_TIMEOUT_MS;
	int fd = -1, rc;

	if (path == NULL) {
		errbuf_set(err, errlen, "no admin socket path");
		rc = -EINVAL;
		goto out;
	}
	rc = fill_addr(path, &sa, err, errlen);
	if (rc < 0)
		goto out;
	fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC | SOCK_NONBLOCK, 0);
	if (fd < 0) {
		rc = -errno;
		errbuf_set(err, errlen, "socket: %s", strerror(-rc));
		goto out;
	}
	/* a full backlog answers EAGAIN on a non-blocking AF_UNIX connect */
	while (connect(fd, (struct sockaddr *)&sa, sizeof(sa)) < 0) {
		rc = -errno;
		if ((rc == -EAGAIN || rc == -EINTR) && admin_now_ms() < deadline) {
			usleep(10000);
			continue;
		}
		if (rc == -ENOENT)
			errbuf_set(err, errlen, "no admin socket at %s: is callseal-control "
			       "running (check its --admin)?", path);
		else if (rc == -ECONNREFUSED)
			errbuf_set(err, errlen, "nobody listens on %s: callseal-control is not "
			       "running (a stale socket)", path);
		else if (rc == -EACCES || rc == -EPERM)
			errbuf_set(err, errlen, "permission denied on %s: run as the user of "
			       "callseal-control", path);
		else
			errbuf_set(err, errlen, "cannot connect to %s: %s", path, strerror(-rc));
		goto out;
	}
	rc = fd;
	fd = -1;
out:
	if (fd >= 0)
		close(fd);
	return rc;
}

int admin_send_request(int fd, int argc, const char *const argv[], int64_t deadline_ms,
		       char *err, size_t errlen)
{
	static uint8_t frame[ADMIN_HDR_BYTES + ADMIN_FRAME_MAX];
	size_t len = 0, n;
	int i, rc;

	if (argc <= 0 || argc > (int)ADMIN_ARGS_MAX) {
		errbuf_set(err, errlen, "a request has 1..%u words, not %d", ADMIN_ARGS_MAX, argc);
		rc = -E2BIG;
		goto out;
	}
	for (i = 0; i < argc; i++) {
		n = strlen(argv[i]) + 1;
		if (n > ADMIN_FRAME_MAX - len) {
			errbuf_set(err, errlen, "the request is longer than %u bytes",
			       ADMIN_FRAME_MAX);
			rc = -EMSGSIZE;
			goto out;
		}
		memcpy(frame + ADMIN_HDR_BYTES + len, argv[i], n);
		len += n;
	}
	put_hdr(frame, ADMIN_T_REQUEST, (uint32_t)len);
	rc = write_full(fd, frame, ADMIN_HDR_BYTES + len, deadline_ms);
	if (rc < 0)
		errbuf_set(err, errlen, "sending the request: %s", rc == -ETIMEDOUT ?
		       "the daemon did not take it in time" : strerror(-rc));
out:
	/* the request may carry an inline key */
	sodium_memzero(frame, ADMIN_HDR_BYTES + len);
	return rc;
}

int admin_recv_reply(int fd, int out_fd, int timeout_ms, int *status, char *msg,
		     size_t msglen, char *err, size_t errlen)
{
	static uint8_t buf[ADMIN_FRAME_MAX];
	uint8_t h[ADMIN_HDR_BYTES];
	uint32_t len;
	size_t i, n;
	ssize_t w;
	int rc;

	*status = -1;
	if (msglen > 0)
		msg[0] = '\0';
	for (;;) {
		rc = read_full(fd, h, sizeof(h), admin_now_ms() + timeout_ms, NULL);
		if (rc < 0) {
			if (rc == -ECONNRESET)
				errbuf_set(err, errlen, "the daemon closed the connection without "
				       "a complete answer");
			else if (rc == -ETIMEDOUT)
				errbuf_set(err, errlen, "no answer from the daemon within %d ms",
				       timeout_ms);
			else
				errbuf_set(err, errlen, "reading the answer: %s", strerror(-rc));
			return rc;
		}
		rc = check_hdr(h, "the daemon", err, errlen);
		if (rc < 0)
			return rc;
		len = get_be32(h + 4);
		if (h[1] == ADMIN_T_REQUEST) {
			errbuf_set(err, errlen, "the daemon sent a request frame");
			return -EPROTO;
		}
		rc = read_full(fd, buf, len, admin_now_ms() + timeout_ms, NULL);
		if (rc < 0) {
			errbuf_set(err, errlen, "reading the answer: %s", rc == -ECONNRESET ?
			       "connection closed mid-frame" : strerror(-rc));
			return rc;
		}
		if (h[1] == ADMIN_T_END)
			break;
		for (i = 0; i < len; i += (size_t)w) {
			w = write(out_fd, buf + i, len - i);
			if (w < 0 && errno == EINTR) {
				w = 0;
				continue;
			}
			if (w <= 0) {
				rc = w < 0 ? -errno : -EIO;
				errbuf_set(err, errlen, "writing the output: %s", strerror(-rc));
				return rc;
			}
		}
	}
	if (len < 4) {
		errbuf_set(err, errlen, "the daemon sent a short end frame");
		return -EPROTO;
	}
	*status = (int)get_be32(buf);
	n = len - 4;
	if (msglen > 0) {
		if (n > msglen - 1)
			n = msglen - 1;
		for (i = 0; i < n; i++)
			msg[i] = (buf[4 + i] >= 0x20 && buf[4 + i] < 0x7f) ? (char)buf[4 + i] : '?';
		msg[n] = '\0';
	}
	return 0;
}
