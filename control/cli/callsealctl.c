/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callsealctl.c - the operator's command line for callseal-control.
 *
 * It finds and checks a command with the daemon's own command table and
 * parsers (control/commands/commands.c) before
 * sending it, so a typo is reported without touching the daemon, then sends
 * the words over the admin socket (admin.h) and prints the answer. The daemon
 * checks everything again. Key bytes (an --inline value, from the command
 * line or stdin) are wiped from this process's memory before it exits.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <unistd.h>

#include <sodium.h>

#include "admin.h"
#include "callseal_version.h"
#include "commands.h"
#include "keyspec.h"
#include "sdes.h"

#define PROG "callsealctl"
#define REPLY_TIMEOUT_MS 15000   /* per reply frame: the daemon's own is 5 s */

/* exit statuses */
#define EXIT_REFUSED  1   /* the daemon refused the command */
#define EXIT_USAGE    2   /* bad command line: nothing was sent */
#define EXIT_CONNECT  3   /* no daemon, or the conversation failed */

/* The synopsis after lead (continuation lines at column 10), then the text
 * indented by indent. A feature of a call shares the first one's text:
 * with_text false prints its synopsis only. */
static void print_cmd_help(FILE *f, enum command_id id, const char *lead, int indent,
			   bool with_text)
{
	const struct command_row *r = &commands_table[id];
	const char *t, *nl;

	fprintf(f, "%s", lead);
	for (t = r->synopsis; (nl = strchr(t, '\n')) != NULL; t = nl + 1)
		fprintf(f, "%.*s\n          ", (int)(nl - t), t);
	fprintf(f, "%s\n", t);
	while (r->text == NULL && id > 0)
		r = &commands_table[--id];    /* a feature: the first one's text */
	for (t = r->text; with_text && *t; t = nl + 1) {
		nl = strchr(t, '\n');
		if (nl == NULL)
			nl = t + strlen(t);
		fprintf(f, "%*s%.*s\n", indent, "", (int)(nl - t), t);
		if (*nl == '\0')
			break;
	}
}

/* Each row's help in the table's order; noun (NULL: all) keeps those whose
 * first word it is. The features of a call: their synopses, then their one
 * text. The number of rows (f NULL: counted only). */
static size_t print_rows(FILE *f, const char *noun)
{
	size_t i, n = 0, len = noun ? strlen(noun) : 0;

	for (i = 0; i < CMD_COUNT; i++) {
		const char *w = commands_table[i].words;
		bool feature = commands_table[i].flags & COMMAND_F_FEATURE;
		bool next_feature = i + 1 < CMD_COUNT &&
				    (commands_table[i + 1].flags & COMMAND_F_FEATURE);

		if (noun != NULL && (strncmp(w, noun, len) != 0 ||
				     (w[len] != ' ' && w[len] != '\0')))
			continue;
		if (f != NULL)
			print_cmd_help(f, (enum command_id)i, "  ", 6,
				       !(feature && next_feature));
		n++;
	}
	return n;
}

static void usage(FILE *f)
{

	fputs("usage: " PROG " --admin SOCKET COMMAND [OPTIONS]\n"
	      "       " PROG " COMMAND --help      (that command only)\n"
	      "       " PROG " NOUN --help         (its commands: " PROG " call --help)\n"
	      "\nTalks to callseal-control over its admin socket. Commands (users,\n"
	      "policies and peers need the daemon's --tenant, calls its --listen;\n"
	      "docs/operations.md, docs/policy.md, docs/calls.md):\n\n", f);
	print_rows(f, NULL);
	fputs(
"\n"
"Options:\n"
"  --admin SOCKET      the daemon's admin socket (its --admin)\n"
"  --local ADDR:PORT   the stream's local address and UDP port: 192.0.2.1:5004,\n"
"                      [2001:db8::1]:5004, or *:5004 for any local address.\n"
"                      Outbound, local is the source; inbound, the destination.\n"
"  --direction in|out  in: SRTP arriving from the network is decrypted;\n"
"                      out: RTP from the local application is encrypted\n"
"  --profile PROFILE   AEAD_AES_128_GCM, AEAD_AES_256_GCM (RFC 7714),\n"
"                      AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32\n"
"                      (RFC 3711); a rekey without it keeps the stream's profile\n"
"  --inline BASE64     master key || master salt, base64, as in SDP\n"
"                      a=crypto inline: (RFC 4568): 28 bytes (40 characters) for\n"
"                      AEAD_AES_128_GCM, 44 bytes (60 characters) for\n"
"                      AEAD_AES_256_GCM, 30 bytes (40 characters) for the\n"
"                      AES-CM profiles (16-byte key, 14-byte salt).\n"
"                      '-' reads it from stdin instead, which\n"
"                      keeps it out of the process list and shell history.\n"
"  --sdes LINE         instead of --profile and --inline: an SDP SDES line\n"
"                      (RFC 4568), 'a=crypto:TAG SUITE inline:KEY|LIFETIME|MKI:LEN'\n"
"                      ('a=' optional; lifetime and MKI optional): suite, key,\n"
"                      lifetime and MKI (1-4 bytes). One key per line; KDR\n"
"                      other than 0, UNENCRYPTED_*, UNAUTHENTICATED_SRTP,\n"
"                      FEC_KEY and WSH over 128 are refused. '-' reads it\n"
"                      from stdin\n"
"  --print-sdes        key add/rekey: once installed, print the key as an\n"
"                      a=crypto line (the --sdes tag, else 1) for an SDP\n"
"                      answer. It holds the key: only where asked, on stdout\n"
"  --mode MODE         standard (default: a static key is known to whoever\n"
"                      configured it) or e2ee\n"
"  --call-id TEXT      up to 16 characters of A-Z a-z 0-9 . _ : @ + -\n"
"  --from-index N      SRTP packet index (ROC << 16 | SEQ), 0..2^48-1\n"
"  --json              output as JSON (group, user, policy, peer and call\n"
"                      commands, and key list): lists and shows their rows,\n"
"                      changes an object {\"command\", the name, \"message\"},\n"
"                      call dial the call (id, mode, reason, security code, media),\n"
"                      stats the dataplane's counters\n"
"  --prometheus        stats in the Prometheus text format (callseal_dataplane_*)\n"
"  --help              this text; after a command, that command's help only\n"
"  --version           one line: the version, the admin protocol, libsodium\n"
"\n"
"Exit status: 0 done; 1 the daemon refused (the message says why; nothing\n"
"changed); 2 bad command line (nothing was sent); 3 cannot reach the daemon.\n"
"\n"
"Examples:\n"
"  " PROG " --admin /run/callseal/admin.sock key add --local 192.0.2.1:5004 \\\n"
"      --direction out --profile AEAD_AES_128_GCM \\\n"
"      --inline qZfh7VfGXyLJPW/pQm1eyE+6WCwmvd4TNfDDzA== --call-id c42\n"
"  head -c 44 /dev/urandom | base64 | " PROG " --admin /run/callseal/admin.sock \\\n"
"      key rekey --local [2001:db8::1]:5004 --direction in --inline - \\\n"
"      --from-index 65536\n"
"  " PROG " --admin /run/callseal/admin.sock key add --local 192.0.2.1:5010 \\\n"
"      --direction in --sdes 'a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:KEY|2^20|1:4'\n"
"  " PROG " --admin /run/callseal/admin.sock key list --json\n"
"  " PROG " --admin /run/callseal/admin.sock stats\n"
"  " PROG " --admin /run/callseal/admin.sock policy add open \\\n"
"      --e2ee users-can-turn-on\n"
"  " PROG " --admin /run/callseal/admin.sock policy assign open --group sales\n"
"  " PROG " --admin /run/callseal/admin.sock user add alice --group sales\n"
"  " PROG " --admin /run/callseal/admin.sock user set alice --e2ee on\n", f);
}

__attribute__((format(printf, 2, 3), noreturn))
static void fail(int status, const char *fmt, ...);

/* The command's words, to find and wipe every --inline and --sdes value on
 * every path; the options that carry a key, each "-" reading it from stdin. */
static int cmd_argc;
static char **cmd_argv;
static const char *const secret_opts[] = { "--inline", "--sdes" };
static char *inline_stdin;        /* sodium_malloc'd copy read from stdin */
static char *sdes_out;            /* --print-sdes: the line, sodium_malloc'd */

/* The length of "--inline" if w is "--inline" or "--inline=..." (likewise
 * --sdes), else 0; *eq: it was the "=" form. */
static size_t secret_opt(const char *w, bool *eq)
{
	for (size_t k = 0; k < sizeof(secret_opts) / sizeof(secret_opts[0]); k++) {
		size_t n = strlen(secret_opts[k]);

		if (strncmp(w, secret_opts[k], n) == 0 && (w[n] == '\0' || w[n] == '=')) {
			*eq = w[n] == '=';
			return n;
		}
	}
	return 0;
}

/* Wipe the key values in the command's words and the copy from stdin. */
static void wipe_args(void)
{
	bool eq;
	size_t n;
	int i;

	for (i = 0; i < cmd_argc; i++) {
		if ((n = secret_opt(cmd_argv[i], &eq)) == 0)
			continue;
		if (eq)
			sodium_memzero(cmd_argv[i] + n + 1, strlen(cmd_argv[i] + n + 1));
		else if (i + 1 < cmd_argc)
			sodium_memzero(cmd_argv[i + 1], strlen(cmd_argv[i + 1]));
	}
	cmd_argc = 0;
	if (inline_stdin != NULL)
		sodium_free(inline_stdin);   /* wipes */
	inline_stdin = NULL;
}

static void wipe_secrets(void)
{
	wipe_args();
	if (sdes_out != NULL)
		sodium_free(sdes_out);       /* wipes */
	sdes_out = NULL;
}

static void fail(int status, const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", line);
	wipe_secrets();
	exit(status);
}

/* Read one line (a base64 key, an a=crypto line) from stdin into locked
 * memory for option opt; no echo of it ever. */
static char *read_stdin_key(const char *opt)
{
	size_t cap = SDES_LINE_MAX, n = 0;
	char *buf = sodium_malloc(cap + 1);
	ssize_t r;

	if (buf == NULL)
		fail(EXIT_USAGE, "out of memory");
	inline_stdin = buf;
	/* read(2) a byte at a time: no stdio buffer keeps a copy of the key */
	for (;;) {
		r = read(STDIN_FILENO, buf + n, 1);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0 || buf[n] == '\n')
			break;
		if (++n == cap)
			fail(EXIT_USAGE, "%s -: the line on stdin is longer than %zu "
			     "characters", opt, cap - 1);
	}
	if (r < 0)
		fail(EXIT_USAGE, "%s -: reading stdin: %s", opt, strerror(errno));
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return buf;
}

/* Rewrite "--inline -" or "--sdes -" to read stdin (once); remember the
 * words for wipe_secrets(). */
static void find_inline(int argc, char **argv)
{
	bool eq;
	size_t n;
	int i;

	for (i = 0; i < argc; i++) {
		if ((n = secret_opt(argv[i], &eq)) == 0)
			continue;
		if (eq && strcmp(argv[i] + n, "=-") == 0)
			fail(EXIT_USAGE, "%.*s=- is not supported: write %.*s -", (int)n, argv[i],
			     (int)n, argv[i]);
		if (!eq && i + 1 < argc && strcmp(argv[i + 1], "-") == 0 && inline_stdin == NULL)
			argv[i + 1] = read_stdin_key(argv[i]);
	}
}

/* key add/rekey --print-sdes: the a=crypto line of the key being installed,
 * made here from this command's own copy of the key (the daemon never sends
 * key bytes), printed once the daemon has installed it. */
static void prepare_sdes(int argc, char **argv)
{
	struct keyspec_cmd *cmd;
	char err[KEYSPEC_ERR_MAX];
	enum keyspec_op op;
	int rc;

	if (argc < 2 || strcmp(argv[0], "key") != 0)
		return;
	op = keyspec_op_from_name(argv[1]);
	if (op != KEYSPEC_OP_ADD && op != KEYSPEC_OP_REKEY)
		return;
	if ((cmd = sodium_malloc(sizeof(*cmd))) == NULL)
		fail(EXIT_USAGE, "out of memory");
	rc = keyspec_parse_cmd(op, argc - 2, (const char *const *)argv + 2, cmd, err,
			       sizeof(err));
	if (rc == 0 && cmd->print_sdes) {
		if ((sdes_out = sodium_malloc(SDES_LINE_MAX)) == NULL)
			rc = -ENOMEM;
		else
			rc = keyspec_cmd_sdes(cmd, sdes_out, SDES_LINE_MAX, err, sizeof(err));
	}
	keyspec_cmd_wipe(cmd);
	sodium_free(cmd);
	if (rc < 0)
		fail(EXIT_USAGE, "%s", rc == -ENOMEM ? "out of memory" : err);
}

/* Check the command locally with the daemon's own table and parser. */
static void check_command(int argc, char **argv)
{
	const char *const *words = (const char *const *)argv;
	char err[COMMANDS_ERR_MAX];
	int id, skip;

	id = commands_find(argc, words, &skip, err, sizeof(err));
	if (id < 0)
		fail(EXIT_USAGE, "%s", err);
	if (commands_table[id].check((enum command_id)id, argc - skip, words + skip, err,
				     sizeof(err)) < 0)
		fail(EXIT_USAGE, "%s", err);
}

int main(int argc, char **argv)
{
	const char *admin = NULL;
	char err[ADMIN_ERR_MAX], msg[ADMIN_MSG_MAX + 1];
	struct rlimit nocore = { 0, 0 };
	int i, fd, rc, status;

	setrlimit(RLIMIT_CORE, &nocore);
	for (i = 1; i < argc; i++) {
		if (strcmp(argv[i], "--help") == 0 || strcmp(argv[i], "-h") == 0) {
			int cmd = 1, id = -1, skip;

			/* after a command: that command's help */
			while (cmd < i && strncmp(argv[cmd], "--", 2) == 0)
				cmd += strncmp(argv[cmd], "--admin=", 8) == 0 ? 1 : 2;
			if (cmd < i)
				id = commands_find(i - cmd, (const char *const *)argv + cmd,
						   &skip, NULL, 0);
			if (id >= 0) {
				print_cmd_help(stdout, (enum command_id)id,
					       "usage: " PROG " --admin SOCKET ", 2, true);
				return 0;
			}
			/* after a noun ("call"): its commands */
			if (cmd < i && print_rows(NULL, argv[cmd]) > 0) {
				printf("usage: " PROG " --admin SOCKET %s COMMAND [OPTIONS]\n"
				       "       " PROG " %s COMMAND --help\n\n", argv[cmd],
				       argv[cmd]);
				print_rows(stdout, argv[cmd]);
				return 0;
			}
			if (cmd < i) {
				commands_find(1, (const char *const *)argv + cmd, &skip, err,
					      sizeof(err));
				fprintf(stderr, PROG ": %s\n", err);
				return EXIT_USAGE;
			}
			usage(stdout);
			return 0;
		}
	}
	if (sodium_init() < 0)
		fail(EXIT_USAGE, "libsodium failed to initialise");
	/* global options, then the command */
	for (i = 1; i < argc && strncmp(argv[i], "--", 2) == 0; i++) {
		if (strcmp(argv[i], "--admin") == 0 && i + 1 < argc) {
			admin = argv[++i];
		} else if (strncmp(argv[i], "--admin=", 8) == 0) {
			admin = argv[i] + 8;
		} else if (strcmp(argv[i], "--admin") == 0) {
			fail(EXIT_USAGE, "--admin needs a value (see --help)");
		} else if (strcmp(argv[i], "--version") == 0) {
			char extra[96];

			snprintf(extra, sizeof(extra), "admin protocol %u, libsodium %s",
				 (unsigned int)ADMIN_PROTO_VERSION, sodium_version_string());
			callseal_version_print(stdout, PROG, extra);
			return 0;
		} else {
			/* a command option before the command, or a typo */
			static const char *const global[] = { "admin", "help" };
			size_t n = strcspn(argv[i] + 2, "=");
			char sb[40];
			const char *close = opts_closest(argv[i] + 2, n, global, 2);

			fail(EXIT_USAGE, "unknown option --%s before the command%s%s%s (see --help)",
			     opts_word_shown(argv[i] + 2, n, sb),
			     close ? " (did you mean --" : ": command options go after the "
			     "command's words", close ? close : "", close ? "?)" : "");
		}
	}
	argc -= i;
	argv += i;
	if (argc == 0)
		fail(EXIT_USAGE, "no command given (see --help)");
	cmd_argc = argc;
	cmd_argv = argv;
	find_inline(argc, argv);
	check_command(argc, argv);
	prepare_sdes(argc, argv);
	if (admin == NULL || admin[0] == '\0')
		fail(EXIT_USAGE, "--admin SOCKET is required (see --help)");

	fd = admin_connect(admin, err, sizeof(err));
	if (fd < 0)
		fail(EXIT_CONNECT, "%s", err);
	rc = admin_send_request(fd, argc, (const char *const *)argv,
				admin_now_ms() + ADMIN_TIMEOUT_MS, err, sizeof(err));
	wipe_args();        /* sent: no longer needed here */
	if (rc < 0)
		fail(EXIT_CONNECT, "%s", err);
	fflush(stdout);
	/* call dial answers once the key agreement is over (--handshake-timeout,
	 * at most 600 s) */
	rc = admin_recv_reply(fd, STDOUT_FILENO,
			      argc >= 2 && strcmp(argv[0], "call") == 0 &&
			      strcmp(argv[1], "dial") == 0 ? 605000 : REPLY_TIMEOUT_MS, &status, msg, sizeof(msg),
			      err, sizeof(err));
	close(fd);
	if (rc < 0)
		fail(EXIT_CONNECT, "%s", err);
	if (status != 0)
		fail(EXIT_REFUSED, "%s", msg[0] ? msg : strerror(status));
	if (msg[0] != '\0')
		printf("%s\n", msg);
	if (sdes_out != NULL) {
		/* asked for: the key, on stdout only, unbuffered (no stdio copy) */
		fflush(stdout);
		if (write(STDOUT_FILENO, sdes_out, strlen(sdes_out)) < 0 ||
		    write(STDOUT_FILENO, "\n", 1) < 0)
			fail(EXIT_CONNECT, "writing the a=crypto line: %s", strerror(errno));
	}
	wipe_secrets();
	return 0;
}
