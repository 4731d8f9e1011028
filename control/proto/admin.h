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
 * The client's I/O here is bounded by a deadline (poll on non-blocking
 * sockets). The server's never waits: a request is read as it comes
 * (admin_reader_recv(), one call per readable event) and a reply is built in
 * memory (admin_out into an admin_queue) and sent as the socket takes it
 * (admin_queue_send()); control/daemon/admin_server.c keeps the deadlines.
 * Request payloads may hold key bytes: buffers that held one are wiped
 * (sodium_memzero, sodium_free) here.
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
#define ADMIN_TIMEOUT_MS    5000     /* server: whole request; reply progress */
#define ADMIN_REPLY_MAX     (64u << 20) /* bytes of one reply held for its client */
#define ADMIN_REPLY_TOTAL_MAX (256u << 20) /* ... and of all replies together */

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

/* What all the queues of one server may hold together (ADMIN_REPLY_TOTAL_MAX). */
struct admin_budget {
	size_t used, max;
};

/*
 * A reply's frames waiting for the client to take them: bytes [off, len) of
 * buf are still to send. It grows (doubling) as the reply is built, up to
 * ADMIN_REPLY_MAX and within its budget; room for the END frame is always
 * found (ADMIN_QUEUE_END_ROOM past the limit). Never holds key bytes.
 */
struct admin_queue {
	uint8_t *buf;
	size_t off, len, cap;
	struct admin_budget *budget;   /* NULL: no shared bound */
	bool ended;                    /* the END frame is queued */
};
#define ADMIN_QUEUE_END_ROOM (ADMIN_HDR_BYTES + 4u + ADMIN_MSG_MAX)

/* Buffered DATA output of one reply: frames of up to ADMIN_FRAME_MAX bytes,
 * appended to q. */
struct admin_out {
	struct admin_queue *q;
	int error;           /* first error (-EFBIG: the reply outgrew its bound,
			      * -ENOMEM), then DATA is dropped and END says so */
	size_t len;
	char buf[ADMIN_FRAME_MAX];
};

/* A request being received by a non-blocking server: the header, then the
 * payload (secmem_alloc'd, locked, once the header says how long: it may
 * hold key bytes). */
struct admin_reader {
	uint8_t hdr[ADMIN_HDR_BYTES];
	size_t got;          /* header + payload bytes received */
	uint32_t len;        /* payload bytes, once the header is in */
	uint8_t *payload;    /* NULL until then */
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
 * Read what fd has of the REQUEST r is receiving, without waiting (never
 * past the frame's end: what follows stays in the socket). 0: the request
 * is complete, in req (r is reset); -EAGAIN: more is to come; else
 * -EPROTO (bad frame: err says why), -EPROTONOSUPPORT (version), -EMSGSIZE,
 * -E2BIG, -ECONNRESET (the client closed), -ENOMEM, -errno. On error r and
 * req are wiped.
 */
int admin_reader_recv(struct admin_reader *r, int fd, struct admin_request *req,
		      char *err, size_t errlen);
/* Wipe and free what r received (safe on a zeroed or reset reader). */
void admin_reader_wipe(struct admin_reader *r);
void admin_request_wipe(struct admin_request *req);

void admin_queue_init(struct admin_queue *q, struct admin_budget *budget);
/* Wipe and free the queue's buffer (back to init's state, same budget). */
void admin_queue_free(struct admin_queue *q);
static inline bool admin_queue_pending(const struct admin_queue *q)
{
	return q->off < q->len;
}
/* Send what the socket takes now (never waits): the bytes sent (0: it
 * took none, EAGAIN), or -errno (-EPIPE, -ECONNRESET: the client left). */
long admin_queue_send(struct admin_queue *q, int fd);
/* One END frame sent at once, not queued (for a client refused at accept:
 * a fresh socket's buffer takes it). 0 or -errno. */
int admin_send_end_now(int fd, int status, const char *msg);

void admin_out_init(struct admin_out *o, struct admin_queue *q);
/* Append text (queues a DATA frame when the buffer is full). */
__attribute__((format(printf, 2, 3)))
void admin_out_printf(struct admin_out *o, const char *fmt, ...);
void admin_out_write(struct admin_out *o, const char *s, size_t n);
/* Queue pending DATA, then END with status (>= 0) and msg (one line); if
 * DATA was dropped (the reply outgrew ADMIN_REPLY_MAX or the budget), END
 * says so instead, with status EFBIG. 0, or -ENOMEM when even END found no
 * room (the client is then closed without an answer). */
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
