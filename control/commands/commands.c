/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * commands.c - the one table of admin commands (commands.h): words,
 * synopsis, help text, options, needs, parser. Everything that lists or
 * finds a command reads it: callsealctl's checks and help, the daemon's
 * dispatch and `help`, the check of docs/operations.md.
 */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include "commands.h"
#include "dirspec.h"
#include "errbuf.h"
#include "keyspec.h"

/* ---- the option families (one bit per row) ------------------------------ */

static const struct opts_spec key_opts[] = {
	{ "local", OPTS_VALUE }, { "direction", OPTS_VALUE }, { "profile", OPTS_VALUE },
	{ "inline", OPTS_VALUE }, { "mode", OPTS_VALUE }, { "call-id", OPTS_VALUE },
	{ "from-index", OPTS_VALUE }, { "json", 0 }, { "sdes", OPTS_VALUE },
	{ "print-sdes", 0 }, { NULL, 0 },
};
enum { K_LOCAL = 1u << 0, K_DIR = 1u << 1, K_PROFILE = 1u << 2, K_INLINE = 1u << 3,
       K_MODE = 1u << 4, K_CALL_ID = 1u << 5, K_FROM = 1u << 6, K_JSON = 1u << 7,
       K_SDES = 1u << 8, K_PRINT_SDES = 1u << 9 };

static const struct opts_spec dir_opts[] = {
	{ "json", 0 }, { "group", OPTS_VALUE }, { "e2ee", OPTS_VALUE }, { "tenant", 0 },
	{ "user", OPTS_VALUE }, { "key", OPTS_VALUE }, { "addr", OPTS_VALUE },
	{ "compliance-recording", OPTS_VALUE }, { NULL, 0 },
};
enum { D_JSON = 1u << 0, D_GROUP = 1u << 1, D_E2EE = 1u << 2, D_TENANT = 1u << 3,
       D_USER = 1u << 4, D_KEY = 1u << 5, D_ADDR = 1u << 6, D_COMPLIANCE = 1u << 7 };
#define D_TARGETS (D_TENANT | D_GROUP | D_USER)

static const struct opts_spec call_opts[] = {
	{ "json", 0 }, { "from", OPTS_VALUE }, { "to", OPTS_VALUE },
	{ "local-media", OPTS_VALUE }, { "remote-media", OPTS_VALUE }, { "ended", 0 },
	{ NULL, 0 },
};
enum { C_JSON = 1u << 0, C_FROM = 1u << 1, C_TO = 1u << 2, C_LOCAL = 1u << 3,
       C_REMOTE = 1u << 4, C_ENDED = 1u << 5 };

static const struct opts_spec no_opts[] = { { NULL, 0 } };

static const struct opts_spec stats_opts[] = {
	{ "json", 0 }, { "prometheus", 0 }, { NULL, 0 },
};
enum { S_JSON = 1u << 0, S_PROMETHEUS = 1u << 1 };

/* ---- the parsers, as callsealctl's check -------------------------------- */

static int check_key(enum command_id id, int argc, const char *const argv[], char *err,
		     size_t errlen)
{
	struct keyspec_cmd cmd;
	int rc;

	rc = keyspec_parse_cmd((enum keyspec_op)(id - CMD_KEY_ADD + KEYSPEC_OP_ADD), argc,
			       argv, &cmd, err, errlen);
	keyspec_cmd_wipe(&cmd);
	return rc;
}

static int check_dir(enum command_id id, int argc, const char *const argv[], char *err,
		     size_t errlen)
{
	struct dirspec_cmd d;

	return dirspec_parse_cmd(id, argc, argv, &d, err, errlen);
}

static int check_call(enum command_id id, int argc, const char *const argv[], char *err,
		      size_t errlen)
{
	struct dirspec_call d;

	return dirspec_parse_call(id, argc, argv, &d, err, errlen);
}

static int check_none(enum command_id id, int argc, const char *const argv[], char *err,
		      size_t errlen)
{
	struct opts_parsed p;

	return commands_opts(id, argc, argv, &p, err, errlen);
}

/* stats: --json or --prometheus, not both */
static int check_stats(enum command_id id, int argc, const char *const argv[], char *err,
		       size_t errlen)
{
	struct opts_parsed p;
	int rc;

	if ((rc = commands_opts(id, argc, argv, &p, err, errlen)) < 0)
		return rc;
	if ((p.seen & (S_JSON | S_PROMETHEUS)) == (S_JSON | S_PROMETHEUS)) {
		errbuf_set(err, errlen, "%s: --json or --prometheus, not both", commands_name(id));
		return -EINVAL;
	}
	return 0;
}

/* ---- the table ----------------------------------------------------------- */

#define KEY(a, r)        .opts = { key_opts, (a), (r), 0, 0 }, .check = check_key
#define DIR(a, r, w)     .opts = { dir_opts, D_JSON | (a), (r), 0, (w) ? 1 : 0 }, \
			 .what = (w), .check = check_dir
#define CALL(a, r, pos)  .opts = { call_opts, C_JSON | (a), (r), 0, (pos) }, \
			 .check = check_call
/* The text of the first feature row, shared by those after it. */
#define FEATURES_TEXT \
	"Media features (the product's recording, transcription, live captions,\n" \
	"transfer, consult then transfer, transfer to another device, park, merge,\n" \
	"adding a participant, forwarding to voicemail, simultaneous ringing):\n" \
	"each is refused while the call is end-to-end encrypted. On a standard\n" \
	"call each says that it is allowed and what callseal does: none is\n" \
	"performed here. keys prints the call's keys sealed to the configured\n" \
	"compliance recorder (one base64 line): that is how a standard call\n" \
	"is recorded."
#define FEATURE(i, w)    { .words = "call " w, .synopsis = "call " w " ID [--json]", \
			   .text = (i) == CMD_CALL_REKEY + 1 ? FEATURES_TEXT : NULL, \
			   CALL(0, 0, 1), .what = "ID", \
			   .flags = COMMAND_F_CALLS | COMMAND_F_CHANGES | COMMAND_F_FEATURE }
#define CHANGES          COMMAND_F_CHANGES
#define STORE            COMMAND_F_STORE

const struct command_row commands_table[CMD_COUNT] = {
	/* add and rekey take the key as --profile/--inline or as --sdes (one
	 * SDES a=crypto line): keyspec_parse_cmd() requires one of the two */
	[CMD_KEY_ADD] = { "key add", "key add --local ADDR:PORT --direction in|out\n"
	  "--profile PROFILE --inline BASE64|--sdes LINE\n"
	  "[--mode e2ee|standard] [--call-id TEXT] [--print-sdes]",
	  "Install a static SRTP master key for one stream. --sdes takes the suite,\n"
	  "key, lifetime and MKI from an SDP a=crypto line (RFC 4568); --print-sdes\n"
	  "prints the installed key as such a line, for an SDP answer.",
	  KEY(K_LOCAL | K_DIR | K_PROFILE | K_INLINE | K_MODE | K_CALL_ID | K_SDES |
	      K_PRINT_SDES, K_LOCAL | K_DIR), .flags = CHANGES },
	[CMD_KEY_REKEY] = { "key rekey", "key rekey --local ADDR:PORT --direction in|out\n"
	  "--inline BASE64 [--profile PROFILE]|--sdes LINE\n"
	  "[--from-index N] [--print-sdes]",
	  "Replace a stream's key now, or with --from-index from SRTP packet index N\n"
	  "on (RFC 3711 <From,To>: older packets keep the old key).",
	  KEY(K_LOCAL | K_DIR | K_PROFILE | K_INLINE | K_FROM | K_SDES | K_PRINT_SDES,
	      K_LOCAL | K_DIR), .flags = CHANGES },
	[CMD_KEY_DEL] = { "key del", "key del --local ADDR:PORT --direction in|out",
	  "Remove a stream; its key bytes are wiped from the table.",
	  KEY(K_LOCAL | K_DIR, K_LOCAL | K_DIR), .flags = CHANGES },
	[CMD_KEY_LIST] = { "key list", "key list [--json]",
	  "The table's streams: selector, profile, mode, generation, when a next key\n"
	  "applies (its from-index, or on-auth: from the first packet that verifies\n"
	  "under it), call id, created time. Never key bytes.", KEY(K_JSON, 0) },

	[CMD_GROUP_ADD] = { "group add", "group add GROUP [--json]", "Add a group of users.",
	  DIR(0, 0, "a group name"), .flags = STORE | CHANGES },
	[CMD_GROUP_DEL] = { "group del", "group del GROUP [--json]",
	  "Delete a group with its memberships and assignment; its users stay.",
	  DIR(0, 0, "a group name"), .flags = STORE | CHANGES },
	[CMD_GROUP_LIST] = { "group list", "group list [--json]",
	  "The groups and how many members each has.", DIR(0, 0, NULL), .flags = STORE },
	[CMD_USER_ADD] = { "user add", "user add USER [--group GROUP]... [--json]",
	  "Add a user with a fresh X25519 identity key (the private key never\n"
	  "leaves the daemon's store), in the given groups.",
	  .opts = { dir_opts, D_JSON | D_GROUP, 0, D_GROUP, 1 }, .what = "a user name",
	  .check = check_dir, .flags = STORE | CHANGES },
	[CMD_USER_LIST] = { "user list", "user list [--json]",
	  "The users, their own E2EE setting and key fingerprint.", DIR(0, 0, NULL),
	  .flags = STORE },
	[CMD_USER_SHOW] = { "user show", "user show USER [--json]",
	  "Groups, effective E2EE policy and the assignment it comes from, the\n"
	  "user's own setting, public key (base64) and its fingerprint.",
	  DIR(0, 0, "a user name"), .flags = STORE },
	[CMD_USER_SET] = { "user set", "user set USER --e2ee on|off|--compliance-recording on|off\n"
	  "[--json]",
	  "--e2ee: the user's own setting; on is refused while their policy is\n"
	  "disabled or compliance recording applies to them. --compliance-recording\n"
	  "on: the user cannot have end-to-end encryption (their calls are standard,\n"
	  "the reason naming them; their own setting is kept without effect).\n"
	  "One of the two at a time.",
	  DIR(D_E2EE | D_COMPLIANCE, 0, "a user name"), .flags = STORE | CHANGES },
	[CMD_USER_DEL] = { "user del", "user del USER [--json]",
	  "Delete a user with their identity key, setting, memberships and\n"
	  "assignment (refused while a call of theirs is live).",
	  DIR(0, 0, "a user name"), .flags = STORE | CHANGES },
	[CMD_POLICY_ADD] = { "policy add",
	  "policy add NAME --e2ee disabled|users-can-turn-on [--json]",
	  "Add an E2EE policy.", DIR(D_E2EE, D_E2EE, "a policy name"),
	  .flags = STORE | CHANGES },
	[CMD_POLICY_SET] = { "policy set",
	  "policy set NAME --e2ee disabled|users-can-turn-on [--json]",
	  "Change a policy's setting.", DIR(D_E2EE, D_E2EE, "a policy name"),
	  .flags = STORE | CHANGES },
	[CMD_POLICY_DEL] = { "policy del", "policy del NAME [--json]",
	  "Delete a policy (refused while it is assigned).", DIR(0, 0, "a policy name"),
	  .flags = STORE | CHANGES },
	[CMD_POLICY_LIST] = { "policy list", "policy list [--json]",
	  "The policies and where each is assigned.", DIR(0, 0, NULL), .flags = STORE },
	[CMD_POLICY_ASSIGN] = { "policy assign",
	  "policy assign NAME --tenant|--group GROUP|--user USER [--json]",
	  "The most specific assignment wins: user, then group, then tenant;\n"
	  "between groups that disagree, disabled wins. None: disabled.",
	  DIR(D_TARGETS, 0, "a policy name"), .flags = STORE | CHANGES },
	[CMD_POLICY_UNASSIGN] = { "policy unassign",
	  "policy unassign --tenant|--group GROUP|--user USER [--json]",
	  "Remove the policy assigned there.", DIR(D_TARGETS, 0, NULL),
	  .flags = STORE | CHANGES },
	[CMD_PEER_ADD] = { "peer add",
	  "peer add USER@TENANT [--key BASE64] --addr IP:PORT [--json]",
	  "A remote party and its callseal-control's address; --key pins its\n"
	  "X25519 public key (base64, 44 characters, as its `user show` prints it).\n"
	  "Without --key (only on a --trust-on-first-use daemon) the first key\n"
	  "seen is learnt and pinned.",
	  DIR(D_KEY | D_ADDR, D_ADDR, "a peer (user@tenant)"), .flags = STORE | CHANGES },
	[CMD_PEER_SET] = { "peer set",
	  "peer set USER@TENANT [--key BASE64] [--addr IP:PORT] [--json]",
	  "Correct a peer's address, or pin a key (replacing the one on record:\n"
	  "after comparing fingerprints over a trusted channel).",
	  DIR(D_KEY | D_ADDR, 0, "a peer (user@tenant)"), .flags = STORE | CHANGES },
	[CMD_PEER_DEL] = { "peer del", "peer del USER@TENANT [--json]",
	  "Forget a peer and its key.", DIR(0, 0, "a peer (user@tenant)"),
	  .flags = STORE | CHANGES },
	[CMD_PEER_LIST] = { "peer list", "peer list [--json]",
	  "The peers: key fingerprint, where the key came from (given, first-use,\n"
	  "none yet), address.", DIR(0, 0, NULL), .flags = STORE },

	[CMD_CALL_DIAL] = { "call dial", "call dial --from USER --to USER@TENANT "
	  "[--local-media ADDR:PORT]\n[--remote-media ADDR:PORT] [--json]",
	  "Call a peer and wait for the key agreement (up to the daemon's\n"
	  "--handshake-timeout): prints the call id, the mode (e2ee, or standard\n"
	  "and why) and, for e2ee, the security code both parties compare.",
	  CALL(C_FROM | C_TO | C_LOCAL | C_REMOTE, C_FROM | C_TO, 0),
	  .flags = COMMAND_F_CALLS | CHANGES },
	[CMD_CALL_LIST] = { "call list", "call list [--ended] [--json]",
	  "The calls of this daemon, both roles; a call whose control channel is\n"
	  "lost is `active (detached)`. --ended: the call history instead (ended\n"
	  "and failed calls kept for the daemon's --call-history), latest first:\n"
	  "start, duration, who ended it and why.",
	  CALL(C_ENDED, 0, 0), .flags = COMMAND_F_CALLS },
	[CMD_CALL_SHOW] = { "call show", "call show ID [--json]",
	  "One call: mode, security code, media, the key table generations of its\n"
	  "entries, rekeys, control channel, the dataplane's counters. An ended or\n"
	  "failed call (from the history): start, end, duration, who ended it and\n"
	  "why, and its final counters.",
	  CALL(0, 0, 1), .what = "ID", .flags = COMMAND_F_CALLS },
	[CMD_CALL_END] = { "call end", "call end ID [--json]",
	  "Hang up; both sides delete the call's keys.", CALL(0, 0, 1), .what = "ID",
	  .flags = COMMAND_F_CALLS | CHANGES },
	[CMD_CALL_REKEY] = { "call rekey", "call rekey ID [--json]",
	  "Both sides move to the next key generation: each sender from its next\n"
	  "packet, each receiver from the first packet that verifies under the new\n"
	  "key (no from-index); the old keys are kept for late packets.",
	  CALL(0, 0, 1), .what = "ID",
	  .flags = COMMAND_F_CALLS | CHANGES },
	/* the media features: policy.h's list, the first row with their one text */
#define FEATURE_ROW(id, verb, name, standard) [CMD_CALL_##id] = FEATURE(CMD_CALL_##id, verb),
	POLICY_MEDIA_FEATURES(FEATURE_ROW)
#undef FEATURE_ROW

	[CMD_STATUS] = { "status", "status", "The table's size, fill, writer and generation.",
	  .opts = { no_opts, 0, 0, 0, 0 }, .check = check_none },
	[CMD_STATS] = { "stats", "stats [--json|--prometheus]",
	  "The dataplane's live counters, from the statistics area of the daemon's\n"
	  "table: packets by port role, encrypted, decrypted, passed, drops by\n"
	  "reason, flows and streams in use, in total and per worker, and the rates\n"
	  "since the reading before (at least 1 s before). --prometheus: the\n"
	  "Prometheus text format (callseal_dataplane_up 0 when no dataplane runs).\n"
	  "Refused when the table has no running callseal-dataplane.",
	  .opts = { stats_opts, S_JSON | S_PROMETHEUS, 0, 0, 0 }, .check = check_stats },
	[CMD_HELP] = { "help", "help", "The commands this daemon knows.",
	  .opts = { no_opts, 0, 0, 0, 0 }, .check = check_none },
};

/* ---- finding a command --------------------------------------------------- */

const char *commands_name(enum command_id id)
{
	return (unsigned int)id < CMD_COUNT ? commands_table[id].words : "?";
}

/* The length of the first word of words. */
static size_t first_len(const char *words)
{
	return strcspn(words, " ");
}

/* "add, rekey, del, list": the second words of group's commands. */
static const char *verbs(const char *group, char *buf, size_t len)
{
	size_t i, n = 0, g = strlen(group);

	buf[0] = '\0';
	for (i = 0; i < CMD_COUNT && n < len; i++) {
		const char *w = commands_table[i].words;

		if (first_len(w) == g && strncmp(w, group, g) == 0 && w[g] == ' ')
			n += (size_t)snprintf(buf + n, len - n, "%s%s", n ? ", " : "", w + g + 1);
	}
	return buf;
}

/* "key, group, ...": the first words, each once. */
static const char *groups(char *buf, size_t len)
{
	size_t i, j, n = 0;

	buf[0] = '\0';
	for (i = 0; i < CMD_COUNT && n < len; i++) {
		const char *w = commands_table[i].words;

		for (j = 0; j < i; j++)
			if (first_len(commands_table[j].words) == first_len(w) &&
			    strncmp(commands_table[j].words, w, first_len(w)) == 0)
				break;
		if (j == i)
			n += (size_t)snprintf(buf + n, len - n, "%s%.*s", n ? ", " : "",
					      (int)first_len(w), w);
	}
	return buf;
}

int commands_find(int argc, const char *const argv[], int *skip, char *err, size_t errlen)
{
	char b0[40], b1[40], list[256];
	bool group = false;
	size_t i, g;

	if (argc < 1 || argv[0] == NULL) {
		errbuf_set(err, errlen, "no command given (see --help)");
		return -1;
	}
	g = strlen(argv[0]);
	for (i = 0; i < CMD_COUNT; i++) {
		const char *w = commands_table[i].words;

		if (first_len(w) != g || strncmp(w, argv[0], g) != 0)
			continue;
		group = true;
		if (w[g] == '\0') {
			*skip = 1;
			return (int)i;
		}
		if (argc >= 2 && argv[1] != NULL && strcmp(argv[1], w + g + 1) == 0) {
			*skip = 2;
			return (int)i;
		}
	}
	opts_word_shown(argv[0], g, b0);
	if (!group)
		errbuf_set(err, errlen, "unknown command '%s' (commands: %s)",
			   opts_word_shown(argv[0], g, b0), groups(list, sizeof(list)));
	else if (argc < 2)
		errbuf_set(err, errlen, "%s: which one? %s (see --help)", argv[0],
			   verbs(argv[0], list, sizeof(list)));
	else
		errbuf_set(err, errlen, "unknown command '%s %s' (%s commands: %s)", argv[0],
			   opts_word_shown(argv[1], strlen(argv[1]), b1), argv[0],
			   verbs(argv[0], list, sizeof(list)));
	return -1;
}

int commands_opts(enum command_id id, int argc, const char *const argv[],
		  struct opts_parsed *p, char *err, size_t errlen)
{
	if ((unsigned int)id >= CMD_COUNT) {
		memset(p, 0, sizeof(*p));
		errbuf_set(err, errlen, "unknown command");
		return -EINVAL;
	}
	return opts_parse(&commands_table[id].opts, argc, argv, p, commands_name(id), err,
			  errlen);
}

const char *commands_synopsis_line(enum command_id id, char *buf, size_t len)
{
	size_t i;

	snprintf(buf, len, "%s", commands_table[id].synopsis);
	for (i = 0; buf[i] != '\0'; i++)
		if (buf[i] == '\n')
			buf[i] = ' ';
	return buf;
}

bool commands_takes_json(enum command_id id)
{
	const struct opts_cmd *o = &commands_table[id].opts;

	return (o->allowed & opts_bit(o->family, "json")) != 0;
}
