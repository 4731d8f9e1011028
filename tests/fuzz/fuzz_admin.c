/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_admin.c - libFuzzer harness for the admin socket framing
 * (control/proto/admin.c) and every command parser a client's words reach
 * (control/commands/: the command table's look-up and each row's parser:
 * keyspec.c for key commands, dirspec.c for the directory and call ones,
 * lib/common/opts.c under them).
 *
 * Input: ctl (1 octet) || rest.
 *   ctl % 3 == 0  rest is the request's words, NUL-separated; the harness
 *                 frames them as a client does (admin_send_request's format)
 *   ctl % 3 == 1  rest is the raw byte stream a client sends the daemon
 *   ctl % 3 == 2  rest is the raw byte stream the daemon sends a client
 *                 (admin_recv_reply)
 * The bytes go through a socketpair, closed after them. A request the daemon
 * side takes is looked up and parsed as callseal-control and callsealctl do.
 */
#include <errno.h>
#include <fcntl.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#include <sodium.h>

#include "admin.h"
#include "commands.h"
#include "dirspec.h"
#include "keyspec.h"
#include "sdes.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define ERR_LEN 256

static struct admin_request req;
static uint8_t wire[ADMIN_HDR_BYTES + ADMIN_FRAME_MAX];

static void check_err(const char *err, size_t errlen)
{
	if (memchr(err, '\0', errlen) == NULL)
		abort();
}

/* Send len octets of p into a socketpair and close the writing end. */
static int pipe_in(const uint8_t *p, size_t len)
{
	int sv[2], sz = 4 * (int)sizeof(wire);

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) != 0)
		abort();
	(void)setsockopt(sv[0], SOL_SOCKET, SO_SNDBUF, &sz, sizeof(sz));
	(void)setsockopt(sv[1], SOL_SOCKET, SO_RCVBUF, &sz, sizeof(sz));
	while (len > 0) {
		ssize_t w = write(sv[0], p, len);

		if (w <= 0)
			abort();
		p += w;
		len -= (size_t)w;
	}
	close(sv[0]);
	return sv[1];
}

/* A key command whose suite is known formats as an a=crypto line that
 * parses back to the same key, MKI, lifetime and tag (sdes.c both ways). */
static void sdes_round_trip(const struct keyspec_cmd *cmd)
{
	char line[SDES_LINE_MAX], err[ERR_LEN];
	struct sdes_crypto c;

	if (cmd->profile == 0)
		return;
	if (keyspec_cmd_sdes(cmd, line, sizeof(line), err, sizeof(err)) != 0 ||
	    sdes_parse(line, &c, err, sizeof(err)) != 0)
		abort();
	if (c.profile != cmd->profile || c.key_len + c.salt_len != cmd->secret_len ||
	    memcmp(c.key, cmd->secret, c.key_len) != 0 ||
	    memcmp(c.salt, cmd->secret + c.key_len, c.salt_len) != 0 ||
	    c.mki_len != cmd->mki_len || memcmp(c.mki, cmd->mki, sizeof(c.mki)) != 0 ||
	    c.lifetime != cmd->lifetime || c.tag != (cmd->has_sdes ? cmd->sdes_tag : 1u))
		abort();
	sdes_wipe(&c);
	sodium_memzero(line, sizeof(line));
}

static void parse_key(enum command_id id, int argc, const char *const argv[])
{
	struct keyspec_cmd cmd;
	struct keytable_master m;
	char err[ERR_LEN], buf[KEYSPEC_KEY_STR], lbuf[KEYSPEC_LOCAL_STR];

	err[0] = '\0';
	if (keyspec_parse_cmd((enum keyspec_op)(id - CMD_KEY_ADD + KEYSPEC_OP_ADD), argc, argv,
			      &cmd, err, sizeof(err)) == 0) {
		if (cmd.op == KEYSPEC_OP_ADD || cmd.op == KEYSPEC_OP_REKEY) {
			if (cmd.secret_len > sizeof(cmd.secret))
				abort();
			if (keyspec_cmd_master(&cmd, cmd.profile ? cmd.profile :
					       KEYTABLE_PROFILE_AEAD_AES_128_GCM, &m,
					       err, sizeof(err)) == 0)
				keytable_wipe(&m, sizeof(m));
			sdes_round_trip(&cmd);
		}
		if (cmd.op != KEYSPEC_OP_LIST) {
			(void)keyspec_format_local(&cmd.key, lbuf);
			(void)keyspec_format_key(&cmd.key, buf);
			if (memchr(lbuf, '\0', sizeof(lbuf)) == NULL ||
			    memchr(buf, '\0', sizeof(buf)) == NULL)
				abort();
		}
	}
	check_err(err, sizeof(err));
	keyspec_cmd_wipe(&cmd);
}

/* The words of one request, as the daemon's dispatch and callsealctl's check. */
static void parse_words(int argc, const char *const argv[])
{
	char err[ERR_LEN], line[1024];
	int id, skip = -1, rc;

	err[0] = '\0';
	id = commands_find(argc, argv, &skip, err, sizeof(err));
	check_err(err, sizeof(err));
	if (id < 0)
		return;
	if (id >= CMD_COUNT || skip < 1 || skip > argc)
		abort();
	if (strcmp(commands_name((enum command_id)id), commands_table[id].words) != 0)
		abort();
	(void)commands_synopsis_line((enum command_id)id, line, sizeof(line));
	(void)commands_takes_json((enum command_id)id);
	argc -= skip;
	argv += skip;
	err[0] = '\0';
	rc = commands_table[id].check((enum command_id)id, argc, argv, err, sizeof(err));
	check_err(err, sizeof(err));
	if (rc != 0 && err[0] == '\0')
		abort();           /* every refusal says why */
	/* the daemon's handlers parse again, keeping the result */
	if (id <= CMD_KEY_LIST) {
		parse_key((enum command_id)id, argc, argv);
	} else if (id < CMD_CALL_DIAL) {
		struct dirspec_cmd d;

		err[0] = '\0';
		(void)dirspec_parse_cmd((enum command_id)id, argc, argv, &d, err, sizeof(err));
		check_err(err, sizeof(err));
	} else if (id < CMD_STATUS) {
		struct dirspec_call d;

		err[0] = '\0';
		(void)dirspec_parse_call((enum command_id)id, argc, argv, &d, err, sizeof(err));
		check_err(err, sizeof(err));
	}
}

static void request(int fd)
{
	char err[ERR_LEN];
	int rc, i;

	struct admin_reader r;
	unsigned int tries = 0;

	/* the daemon's non-blocking reader, as admin_server.c calls it when the
	 * socket is readable: the whole input is already in the socket and its
	 * other end closed, so every call makes progress or ends */
	memset(&r, 0, sizeof(r));
	err[0] = '\0';
	do
		rc = admin_reader_recv(&r, fd, &req, err, sizeof(err));
	while (rc == -EAGAIN && ++tries < 2 * ADMIN_FRAME_MAX);
	if (rc == -EAGAIN)
		abort();                /* no progress on a closed socket */
	admin_reader_wipe(&r);
	check_err(err, sizeof(err));
	if (rc == 0) {
		if (req.argc < 1 || req.argc > (int)ADMIN_ARGS_MAX || req.argv[req.argc] != NULL)
			abort();
		for (i = 0; i < req.argc; i++)
			if (req.argv[i] < (char *)req.buf ||
			    req.argv[i] + strlen(req.argv[i]) >= (char *)req.buf + req.len)
				abort();
		parse_words(req.argc, (const char *const *)req.argv);
	} else if (rc != -EPROTO && rc != -EPROTONOSUPPORT && rc != -EMSGSIZE &&
		   rc != -E2BIG && rc != -ECONNRESET) {
		abort();
	}
	admin_request_wipe(&req);
}

static void reply(int fd)
{
	char err[ERR_LEN], msg[ADMIN_MSG_MAX + 1];
	int out, status;

	out = open("/dev/null", O_WRONLY | O_CLOEXEC);
	if (out < 0)
		abort();
	err[0] = '\0';
	(void)admin_recv_reply(fd, out, 2000, &status, msg, sizeof(msg), err, sizeof(err));
	check_err(err, sizeof(err));
	check_err(msg, sizeof(msg));
	close(out);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	(void)argc;
	(void)argv;
	/* the daemon's reader keeps a request in sodium_malloc'd memory */
	if (sodium_init() < 0)
		abort();
	return 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	size_t len;
	int fd;

	if (size < 1 || size - 1 > ADMIN_FRAME_MAX)
		return 0;
	len = size - 1;
	switch (data[0] % 3) {
	case 0:
		/* a client's request: version, type, 0, 0, BE32 length, words;
		 * the last word's NUL is the harness's */
		if (len + 1 > ADMIN_FRAME_MAX)
			return 0;
		wire[0] = ADMIN_PROTO_VERSION;
		wire[1] = ADMIN_T_REQUEST;
		wire[2] = wire[3] = 0;
		wire[4] = (uint8_t)((len + 1) >> 24);
		wire[5] = (uint8_t)((len + 1) >> 16);
		wire[6] = (uint8_t)((len + 1) >> 8);
		wire[7] = (uint8_t)(len + 1);
		memcpy(wire + ADMIN_HDR_BYTES, data + 1, len);
		wire[ADMIN_HDR_BYTES + len] = 0;
		fd = pipe_in(wire, ADMIN_HDR_BYTES + len + 1);
		request(fd);
		break;
	case 1:
		fd = pipe_in(data + 1, len);
		request(fd);
		break;
	default:
		fd = pipe_in(data + 1, len);
		reply(fd);
		break;
	}
	close(fd);
	return 0;
}
