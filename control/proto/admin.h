/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * admin.h - the admin protocol between callsealctl and callseal-control over
 * an AF_UNIX stream socket (docs/operations.md, "Admin protocol").
 *
 * Every message is a frame: an 8-byte header, then len payload bytes.
 *
 *   byte 0    version  ADMIN_PROTO_VERSION (1)
 *   byte 1    type     ADMIN_T_REQUEST | ADMIN_T_DATA | ADMIN_T_END
 *   bytes 2-3 zero
 *   bytes 4-7 len      payload length, big-endian, <= ADMIN_FRAME_MAX
 *
 * One connection carries one request: the client sends one REQUEST whose
 * payload is the command's argv, each word NUL-terminated (at most
 * ADMIN_ARGS_MAX words); the server answers with zero or more DATA frames
 * (output text, to be printed as is) and one END frame: a 4-byte big-endian
 * status (0 = done, else a positive errno) then a one-line message (at most
 * ADMIN_MSG_MAX bytes, no NUL). Then the server closes the connection.
 *
 * All I/O here is bounded by a deadline (poll on non-blocking sockets), so a
 * slow or silent peer costs at most that long. Request payloads may hold key
 * bytes: buffers that held one are wiped (sodium_memzero) here.
 */
#ifndef CALLSEAL_ADMIN_H
#define CALLSEAL_ADMIN_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#define ADMIN_PROTO_VERSION 1u
#define ADMIN_HDR_BYTES     8u
#define ADMIN_FRAME_MAX     65536u   /* payload bytes of one frame */
#define ADMIN_ARGS_MAX      64u      /* words in one request */
#define ADMIN_MSG_MAX       1024u    /* END message bytes */
#define ADMIN_ERR_MAX       256u
#define ADMIN_TIMEOUT_MS    5000     /* server: whole request; each reply frame */

#define ADMIN_T_REQUEST     1u
#define ADMIN_T_DATA        2u
#define ADMIN_T_END         3u

/* A received request: argv points into buf. Wipe with admin_request_wipe(). */
struct admin_request {
	int argc;
	char *argv[ADMIN_ARGS_MAX + 1];   /* NULL-terminated */
	size_t len;                       /* payload bytes in buf */
	uint8_t buf[ADMIN_FRAME_MAX];
};

/* Buffered DATA output of one reply: frames of up to ADMIN_FRAME_MAX bytes. */
struct admin_out {
	int fd;
	int timeout_ms;      /* per frame */
	int error;           /* first send error (negative errno), then 0 sends */
	size_t len;
	char buf[ADMIN_FRAME_MAX];
};

/* Milliseconds on CLOCK_MONOTONIC. */
int64_t admin_now_ms(void);

/* -- server -- */

/*
 * Bind and listen on path (mode 0600). An existing path is replaced only if
 * it is a socket nobody listens on (stale); a live socket (another daemon) or
 * a non-socket is refused with a message. Returns the listening fd
 * (non-blocking, close-on-exec) or -errno; *ino gets the socket's inode, for
 * admin_unlink_own(); *stale says whether a stale socket was replaced.
 */
int admin_listen(const char *path, ino_t *ino, bool *stale, char *err, size_t errlen);
/* Unlink path only if it is still the socket with inode ino (ours). */
void admin_unlink_own(const char *path, ino_t ino);
/*
 * Read one REQUEST from fd before deadline_ms (admin_now_ms() time).
 * 0, or -EPROTO (bad frame: err says why), -EPROTONOSUPPORT (version),
 * -EMSGSIZE, -ETIMEDOUT, -ECONNRESET, -errno. On error req is wiped.
 */
int admin_recv_request(int fd, struct admin_request *req, int64_t deadline_ms,
		       char *err, size_t errlen);
void admin_request_wipe(struct admin_request *req);

void admin_out_init(struct admin_out *o, int fd, int timeout_ms);
/* Append text (flushes a DATA frame when the buffer is full). */
__attribute__((format(printf, 2, 3)))
void admin_out_printf(struct admin_out *o, const char *fmt, ...);
void admin_out_write(struct admin_out *o, const char *s, size_t n);
/* Flush pending DATA, then send END with status (>= 0) and msg (one line).
 * Returns 0 or the first send error. */
int admin_out_end(struct admin_out *o, int status, const char *msg);

/* End a served connection: stop sending, discard what the client sent and
 * we did not read (at most ADMIN_FRAME_MAX more bytes, without waiting: so
 * the client reads our answer rather than a reset), close fd. */
void admin_server_close(int fd);

/* -- client -- */

/* Connect to the daemon's socket (non-blocking, close-on-exec): fd or -errno. */
int admin_connect(const char *path, char *err, size_t errlen);
/* Send argv as one REQUEST before deadline_ms. The frame buffer is wiped. */
int admin_send_request(int fd, int argc, const char *const argv[], int64_t deadline_ms,
		       char *err, size_t errlen);
/*
 * Read the reply: DATA payloads are written to out_fd as they come; the END
 * frame's status goes to *status and its message to msg. Each frame must
 * arrive within timeout_ms of the previous one. 0, or -errno with err set.
 */
int admin_recv_reply(int fd, int out_fd, int timeout_ms, int *status, char *msg,
		     size_t msglen, char *err, size_t errlen);

#endif /* CALLSEAL_ADMIN_H */
