/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * admin.c - admin protocol framing and socket helpers (see admin.h).
 */
#include "byteorder.h"
#include "errbuf.h"
#include "admin.h"

#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
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

static int send_frame(int fd, unsigned int type, const void *payload, size_t len,
		      int64_t deadline)
{
	uint8_t h[ADMIN_HDR_BYTES];
	int rc;

	put_hdr(h, type, (uint32_t)len);
	rc = write_full(fd, h, sizeof(h), deadline);
	if (rc == 0 && len > 0)
		rc = write_full(fd, payload, len, deadline);
	return rc;
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
	if (chmod(path, 0600) < 0 || lstat(path, &st) < 0 || listen(fd, 16) < 0) {
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

int admin_recv_request(int fd, struct admin_request *req, int64_t deadline_ms,
		       char *err, size_t errlen)
{
	uint8_t h[ADMIN_HDR_BYTES];
	size_t i, start, got = 0;
	uint32_t len;
	int rc;

	req->argc = 0;
	req->len = 0;
	req->argv[0] = NULL;
	rc = read_full(fd, h, sizeof(h), deadline_ms, &got);
	if (rc < 0) {
		if (rc == -ECONNRESET && got == 0)
			errbuf_set(err, errlen, "client closed the connection without a request");
		else if (rc == -ETIMEDOUT)
			errbuf_set(err, errlen, "client sent no complete request within %d ms",
			       ADMIN_TIMEOUT_MS);
		else
			errbuf_set(err, errlen, "reading the request: %s", strerror(-rc));
		goto out;
	}
	rc = check_hdr(h, "client", err, errlen);
	if (rc < 0)
		goto out;
	len = get_be32(h + 4);
	if (h[1] != ADMIN_T_REQUEST || len == 0) {
		errbuf_set(err, errlen, "client sent a frame of type %u (%u bytes), not a request",
		       h[1], len);
		rc = -EPROTO;
		goto out;
	}
	req->len = len;
	rc = read_full(fd, req->buf, len, deadline_ms, NULL);
	if (rc < 0) {
		if (rc == -ETIMEDOUT)
			errbuf_set(err, errlen, "client sent no complete request within %d ms",
			       ADMIN_TIMEOUT_MS);
		else
			errbuf_set(err, errlen, "reading the request: %s", strerror(-rc));
		goto out;
	}
	if (req->buf[len - 1] != 0) {
		errbuf_set(err, errlen, "request words must each end with a NUL byte");
		rc = -EPROTO;
		goto out;
	}
	for (i = 0, start = 0; i < len; i++) {
		if (req->buf[i] != 0)
			continue;
		if (req->argc == (int)ADMIN_ARGS_MAX) {
			errbuf_set(err, errlen, "request has more than %u words", ADMIN_ARGS_MAX);
			rc = -E2BIG;
			goto out;
		}
		req->argv[req->argc++] = (char *)req->buf + start;
		start = i + 1;
	}
	req->argv[req->argc] = NULL;
	rc = 0;
out:
	if (rc < 0)
		admin_request_wipe(req);
	sodium_memzero(h, sizeof(h));
	return rc;
}

void admin_out_init(struct admin_out *o, int fd, int timeout_ms)
{
	o->fd = fd;
	o->timeout_ms = timeout_ms;
	o->error = 0;
	o->len = 0;
}

static void out_flush(struct admin_out *o)
{
	if (o->len > 0 && o->error == 0)
		o->error = send_frame(o->fd, ADMIN_T_DATA, o->buf, o->len,
				      admin_now_ms() + o->timeout_ms);
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
	size_t n = 0;

	out_flush(o);
	if (o->error != 0)
		return o->error;
	p[0] = (uint8_t)((uint32_t)status >> 24);
	p[1] = (uint8_t)((uint32_t)status >> 16);
	p[2] = (uint8_t)((uint32_t)status >> 8);
	p[3] = (uint8_t)status;
	for (; msg != NULL && msg[n] != '\0' && n < ADMIN_MSG_MAX; n++)
		p[4 + n] = (msg[n] == '\n' || msg[n] == '\r') ? ' ' : (uint8_t)msg[n];
	o->error = send_frame(o->fd, ADMIN_T_END, p, 4 + n, admin_now_ms() + o->timeout_ms);
	return o->error;
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
