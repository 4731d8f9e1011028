/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callsealctl.c - the operator's command line for callseal-control.
 *
 * It checks a command with the same parser the daemon uses (keyspec.c) before
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
#include "dirspec.h"
#include "keyspec.h"

#define PROG "callsealctl"
#define REPLY_TIMEOUT_MS 15000   /* per reply frame: the daemon's own is 5 s */

/* exit statuses */
#define EXIT_REFUSED  1   /* the daemon refused the command */
#define EXIT_USAGE    2   /* bad command line: nothing was sent */
#define EXIT_CONNECT  3   /* no daemon, or the conversation failed */

/* Every command: its words, its synopsis and what it does ("--help" after a
 * command prints its entry; the full --help prints them all). */
static const struct cmd_help {
	const char *words;      /* "key add": what the command line starts with */
	const char *synopsis;
	const char *text;
} cmd_help[] = {
	{ "key add", "key add --local ADDR:PORT --direction in|out --profile PROFILE "
	  "--inline BASE64\n          [--mode e2ee|standard] [--call-id TEXT]",
	  "Install a static SRTP master key for one stream." },
	{ "key rekey", "key rekey --local ADDR:PORT --direction in|out --inline BASE64\n"
	  "          [--profile PROFILE] [--from-index N]",
	  "Replace a stream's key now, or with --from-index from SRTP packet index N\n"
	  "on (RFC 3711 <From,To>: older packets keep the old key)." },
	{ "key del", "key del --local ADDR:PORT --direction in|out",
	  "Remove a stream; its key bytes are wiped from the table." },
	{ "key list", "key list [--json]",
	  "The table's streams: selector, profile, mode, generation, next key's\n"
	  "from-index, call id, created time. Never key bytes." },
	{ "group add", "group add GROUP [--json]", "Add a group of users." },
	{ "group del", "group del GROUP [--json]",
	  "Delete a group with its memberships and assignment; its users stay." },
	{ "group list", "group list [--json]", "The groups and how many members each has." },
	{ "user add", "user add USER [--group GROUP]... [--json]",
	  "Add a user with a fresh X25519 identity key (the private key never\n"
	  "leaves the daemon's store), in the given groups." },
	{ "user list", "user list [--json]",
	  "The users, their own E2EE setting and key fingerprint." },
	{ "user show", "user show USER [--json]",
	  "Groups, effective E2EE policy and the assignment it comes from, the\n"
	  "user's own setting, public key (base64) and its fingerprint." },
	{ "user set", "user set USER --e2ee on|off [--json]",
	  "The user's own setting; on is refused while their policy is disabled." },
	{ "user del", "user del USER [--json]",
	  "Delete a user with their identity key, setting, memberships and\n"
	  "assignment (refused while a call of theirs is live)." },
	{ "policy add", "policy add NAME --e2ee disabled|users-can-turn-on [--json]",
	  "Add an E2EE policy." },
	{ "policy set", "policy set NAME --e2ee disabled|users-can-turn-on [--json]",
	  "Change a policy's setting." },
	{ "policy del", "policy del NAME [--json]", "Delete a policy (refused while it is "
	  "assigned)." },
	{ "policy list", "policy list [--json]", "The policies and where each is assigned." },
	{ "policy assign", "policy assign NAME --tenant|--group GROUP|--user USER [--json]",
	  "The most specific assignment wins: user, then group, then tenant;\n"
	  "between groups that disagree, disabled wins. None: disabled." },
	{ "policy unassign", "policy unassign --tenant|--group GROUP|--user USER [--json]",
	  "Remove the policy assigned there." },
	{ "peer add", "peer add USER@TENANT [--key BASE64] --addr HOST:PORT [--json]",
	  "A remote party and its callseal-control's address; --key pins its\n"
	  "X25519 public key (base64, 44 characters, as its `user show` prints it).\n"
	  "Without --key (only on a --trust-on-first-use daemon) the first key\n"
	  "seen is learnt and pinned." },
	{ "peer set", "peer set USER@TENANT [--key BASE64] [--addr HOST:PORT] [--json]",
	  "Correct a peer's address, or pin a key (replacing the one on record:\n"
	  "after comparing fingerprints over a trusted channel)." },
	{ "peer del", "peer del USER@TENANT [--json]", "Forget a peer and its key." },
	{ "peer list", "peer list [--json]",
	  "The peers: key fingerprint, where the key came from (given, first-use,\n"
	  "none yet), address." },
	{ "call dial", "call dial --from USER --to USER@TENANT [--local-media ADDR:PORT]\n"
	  "          [--remote-media ADDR:PORT] [--json]",
	  "Call a peer and wait for the key agreement (up to the daemon's\n"
	  "--handshake-timeout): prints the call id, the mode (e2ee, or standard\n"
	  "and why) and, for e2ee, the security code both parties compare." },
	{ "call list", "call list [--json]", "The calls of this daemon, both roles." },
	{ "call show", "call show ID [--json]",
	  "One call: mode, security code, media, key generation, control channel." },
	{ "call end", "call end ID [--json]", "Hang up; both sides delete the call's keys." },
	{ "call rekey", "call rekey ID [--json]",
	  "Both sides move to the next key generation." },
	{ "call record", "call record|transcribe|transfer|park|merge|add-participant|keys ID "
	  "[--json]",
	  "Refused while the call is end-to-end encrypted; accepted in a standard\n"
	  "call. keys prints the call's keys sealed to the configured compliance\n"
	  "recorder (one base64 line)." },
	{ "status", "status", "The table's size, fill, writer and generation." },
	{ "help", "help", "The commands this daemon knows." },
};
#define N_CMD_HELP (sizeof(cmd_help) / sizeof(cmd_help[0]))

/* The synopsis after lead, then the text indented by indent. */
static void print_cmd_help(FILE *f, const struct cmd_help *h, const char *lead, int indent)
{
	const char *t = h->text, *nl;

	fprintf(f, "%s%s\n", lead, h->synopsis);
	for (; *t; t = nl + 1) {
		nl = strchr(t, '\n');
		if (nl == NULL)
			nl = t + strlen(t);
		fprintf(f, "%*s%.*s\n", indent, "", (int)(nl - t), t);
		if (*nl == '\0')
			break;
	}
}

static void usage(FILE *f)
{
	size_t i;

	fputs("usage: " PROG " --admin SOCKET COMMAND [OPTIONS]\n"
	      "       " PROG " COMMAND --help      (that command only)\n"
	      "\nTalks to callseal-control over its admin socket. Commands (users,\n"
	      "policies and peers need the daemon's --tenant, calls its --listen;\n"
	      "docs/operations.md, docs/policy.md, docs/calls.md):\n\n", f);
	for (i = 0; i < N_CMD_HELP; i++)
		print_cmd_help(f, &cmd_help[i], "  ", 6);
	fputs(
"\n"
"Options:\n"
"  --admin SOCKET      the daemon's admin socket (its --admin)\n"
"  --local ADDR:PORT   the stream's local address and UDP port: 192.0.2.1:5004,\n"
"                      [2001:db8::1]:5004, or *:5004 for any local address.\n"
"                      Outbound, local is the source; inbound, the destination.\n"
"  --direction in|out  in: SRTP arriving from the network is decrypted;\n"
"                      out: RTP from the local application is encrypted\n"
"  --profile PROFILE   AEAD_AES_128_GCM or AEAD_AES_256_GCM (RFC 7714); a rekey\n"
"                      without it keeps the stream's profile\n"
"  --inline BASE64     master key || 12-byte master salt, base64, as in SDP\n"
"                      a=crypto inline: (RFC 4568): 28 bytes (40 characters) for\n"
"                      AEAD_AES_128_GCM, 44 bytes (60 characters) for\n"
"                      AEAD_AES_256_GCM. '-' reads it from stdin instead, which\n"
"                      keeps it out of the process list and shell history.\n"
"  --mode MODE         standard (default: a static key is known to whoever\n"
"                      configured it) or e2ee\n"
"  --call-id TEXT      up to 16 characters of A-Z a-z 0-9 . _ : @ + -\n"
"  --from-index N      SRTP packet index (ROC << 16 | SEQ), 0..2^48-1\n"
"  --json              output as JSON (group, user, policy, peer and call\n"
"                      commands, and key list): lists and shows their rows,\n"
"                      changes an object {\"command\", the name, \"message\"},\n"
"                      call dial the call (id, mode, reason, security code, media)\n"
"  --help              this text; after a command, that command's help only\n"
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
"  " PROG " --admin /run/callseal/admin.sock key list --json\n"
"  " PROG " --admin /run/callseal/admin.sock policy add open \\\n"
"      --e2ee users-can-turn-on\n"
"  " PROG " --admin /run/callseal/admin.sock policy assign open --group sales\n"
"  " PROG " --admin /run/callseal/admin.sock user add alice --group sales\n"
"  " PROG " --admin /run/callseal/admin.sock user set alice --e2ee on\n", f);
}

/* The help of the command argv starts with, or NULL. */
static const struct cmd_help *find_cmd_help(int argc, char **argv)
{
	static const char *const features[] = { "transcribe", "transfer", "park", "merge",
						"add-participant", "keys" };
	char words[64];
	size_t i;

	if (argc < 1)
		return NULL;
	snprintf(words, sizeof(words), "%s%s%s", argv[0], argc > 1 ? " " : "",
		 argc > 1 ? argv[1] : "");
	if (argc > 1 && strcmp(argv[0], "call") == 0)
		for (i = 0; i < sizeof(features) / sizeof(features[0]); i++)
			if (strcmp(argv[1], features[i]) == 0)
				snprintf(words, sizeof(words), "call record");
	for (i = 0; i < N_CMD_HELP; i++)
		if (strcmp(cmd_help[i].words, words) == 0 ||
		    strcmp(cmd_help[i].words, argv[0]) == 0)
			return &cmd_help[i];
	return NULL;
}

__attribute__((format(printf, 2, 3), noreturn))
static void fail(int status, const char *fmt, ...);

/* The command's words, to find and wipe every --inline value on every path. */
static int cmd_argc;
static char **cmd_argv;
static char *inline_stdin;        /* sodium_malloc'd copy read from stdin */

static void wipe_secrets(void)
{
	int i;

	for (i = 0; i < cmd_argc; i++) {
		if (strcmp(cmd_argv[i], "--inline") == 0 && i + 1 < cmd_argc)
			sodium_memzero(cmd_argv[i + 1], strlen(cmd_argv[i + 1]));
		else if (strncmp(cmd_argv[i], "--inline=", 9) == 0)
			sodium_memzero(cmd_argv[i] + 9, strlen(cmd_argv[i] + 9));
	}
	cmd_argc = 0;
	if (inline_stdin != NULL)
		sodium_free(inline_stdin);   /* wipes */
	inline_stdin = NULL;
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

/* Read one base64 line from stdin into locked memory; no echo of it ever. */
static char *read_stdin_key(void)
{
	size_t cap = KEYSPEC_B64_MAX + 16, n = 0;
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
			fail(EXIT_USAGE, "--inline -: the line on stdin is longer than %zu "
			     "characters", cap - 1);
	}
	if (r < 0)
		fail(EXIT_USAGE, "--inline -: reading stdin: %s", strerror(errno));
	if (n > 0 && buf[n - 1] == '\r')
		n--;
	buf[n] = '\0';
	return buf;
}

/* Rewrite "--inline -" to read stdin; remember the words for wipe_secrets(). */
static void find_inline(int argc, char **argv)
{
	int i;

	for (i = 0; i < argc; i++) {
		if (strcmp(argv[i], "--inline=-") == 0)
			fail(EXIT_USAGE, "--inline=- is not supported: write --inline -");
		if (strcmp(argv[i], "--inline") == 0 && i + 1 < argc &&
		    strcmp(argv[i + 1], "-") == 0 && inline_stdin == NULL)
			argv[i + 1] = read_stdin_key();
	}
}

/* Check the command locally with the daemon's own parser. */
static void check_command(int argc, char **argv)
{
	char err[KEYSPEC_ERR_MAX];
	struct keyspec_cmd cmd;
	enum keyspec_op op;
	int rc;

	if (strcmp(argv[0], "status") == 0 || strcmp(argv[0], "help") == 0) {
		if (argc > 1)
			fail(EXIT_USAGE, "%s takes no options", argv[0]);
		return;
	}
	if (dirspec_is_command(argv[0])) {
		struct dirspec_cmd d;
		enum dirspec_op dop;

		if (argc < 2)
			fail(EXIT_USAGE, "%s: which one? %s (see --help)", argv[0],
			     dirspec_group_verbs(argv[0]));
		dop = dirspec_op_find(argv[0], argv[1]);
		if (dop == 0)
			fail(EXIT_USAGE, "unknown command '%s %.32s' (%s commands: %s)",
			     argv[0], argv[1], argv[0], dirspec_group_verbs(argv[0]));
		if (dirspec_parse_cmd(dop, argc - 2, (const char *const *)argv + 2, &d, err,
				      sizeof(err)) < 0)
			fail(EXIT_USAGE, "%s", err);
		return;
	}
	if (strcmp(argv[0], "call") == 0) {
		struct dirspec_call dc;

		if (dirspec_parse_call(argc - 1, (const char *const *)argv + 1, &dc, err,
				       sizeof(err)) < 0)
			fail(EXIT_USAGE, "%s", err);
		return;
	}
	if (strcmp(argv[0], "key") != 0)
		fail(EXIT_USAGE, "unknown command '%.32s' (commands: key, group, user, policy, "
		     "peer, call, status, help; see --help)", argv[0]);
	if (argc < 2)
		fail(EXIT_USAGE, "key: which one? add, rekey, del or list (see --help)");
	op = keyspec_op_from_name(argv[1]);
	if (op == 0)
		fail(EXIT_USAGE, "unknown command 'key %.32s' (key commands: add, rekey, "
		     "del, list)", argv[1]);
	rc = keyspec_parse_cmd(op, argc - 2, (const char *const *)argv + 2, &cmd, err,
			       sizeof(err));
	keyspec_cmd_wipe(&cmd);
	if (rc < 0)
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
			int cmd = 1;
			const struct cmd_help *h;

			/* after a command: that command's help */
			while (cmd < i && strncmp(argv[cmd], "--", 2) == 0)
				cmd += strncmp(argv[cmd], "--admin=", 8) == 0 ? 1 : 2;
			h = cmd < i ? find_cmd_help(i - cmd, argv + cmd) : NULL;
			if (h != NULL) {
				print_cmd_help(stdout, h, "usage: " PROG " --admin SOCKET ", 2);
				return 0;
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
		} else {
			/* a command option before the command, or a typo */
			fail(EXIT_USAGE, "unknown option '%.32s' before the command (see --help)",
			     argv[i]);
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
	if (admin == NULL || admin[0] == '\0')
		fail(EXIT_USAGE, "--admin SOCKET is required (see --help)");

	fd = admin_connect(admin, err, sizeof(err));
	if (fd < 0)
		fail(EXIT_CONNECT, "%s", err);
	rc = admin_send_request(fd, argc, (const char *const *)argv,
				admin_now_ms() + ADMIN_TIMEOUT_MS, err, sizeof(err));
	wipe_secrets();     /* sent: no longer needed here */
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
	return 0;
}
