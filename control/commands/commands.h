/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * commands.h - the one table of admin commands: for each, its words, its
 * synopsis and help text, the options it takes, what it needs of the daemon,
 * and the parser that checks it. Pure (no I/O): callsealctl finds, checks and
 * documents a command with it before sending; callseal-control finds it
 * again, maps its id to a handler (control/daemon/admin_server.c) and lists
 * the table as its `help`. docs/operations.md's synopsis is checked against
 * it (tests/unit/control/test_commands.c).
 */
#ifndef CALLSEAL_COMMANDS_H
#define CALLSEAL_COMMANDS_H

#include <stdbool.h>
#include <stddef.h>

#include "opts.h"
#include "policy.h"

#define COMMANDS_ERR_MAX 256u

/* One per row of the table, in its order (the order of every help). */
enum command_id {
	CMD_KEY_ADD, CMD_KEY_REKEY, CMD_KEY_DEL, CMD_KEY_LIST,
	CMD_GROUP_ADD, CMD_GROUP_DEL, CMD_GROUP_LIST,
	CMD_USER_ADD, CMD_USER_LIST, CMD_USER_SHOW, CMD_USER_SET, CMD_USER_DEL,
	CMD_POLICY_ADD, CMD_POLICY_SET, CMD_POLICY_DEL, CMD_POLICY_LIST,
	CMD_POLICY_ASSIGN, CMD_POLICY_UNASSIGN,
	CMD_PEER_ADD, CMD_PEER_SET, CMD_PEER_DEL, CMD_PEER_LIST,
	CMD_CALL_DIAL, CMD_CALL_LIST, CMD_CALL_SHOW, CMD_CALL_END, CMD_CALL_REKEY,
	/* the media features, one per row of policy.h's list: CMD_CALL_RECORD,
	 * ..., CMD_CALL_KEYS */
#define COMMANDS_FEATURE_ID_(id, verb, name, standard) CMD_CALL_##id,
	POLICY_MEDIA_FEATURES(COMMANDS_FEATURE_ID_)
#undef COMMANDS_FEATURE_ID_
	CMD_STATUS, CMD_STATS, CMD_HELP,
	CMD_COUNT
};

enum {
	COMMAND_F_CHANGES = 1u << 0,  /* changes state: refusals are logged too */
	COMMAND_F_STORE   = 1u << 1,  /* needs the daemon's --tenant (the store) */
	COMMAND_F_CALLS   = 1u << 2,  /* needs the daemon's --listen (calls) */
	COMMAND_F_FEATURE = 1u << 3,  /* a media feature of a call (policy.h's list):
				       * refused while the call is e2ee; one help text */
};

struct command_row {
	const char *words;      /* "key add", "status" */
	const char *synopsis;   /* '\n' where callsealctl's help breaks the line */
	const char *text;       /* what it does (NULL: a feature after the first) */
	struct opts_cmd opts;   /* the options it takes */
	const char *what;       /* its positional argument, for messages; NULL: none */
	unsigned int flags;     /* COMMAND_F_* */
	/* parse argv (the words after the command's name) and forget the result:
	 * callsealctl's check before sending */
	int (*check)(enum command_id id, int argc, const char *const argv[], char *err,
		     size_t errlen);
};

extern const struct command_row commands_table[CMD_COUNT];

/*
 * The command argv starts with, and in *skip how many words named it; -1 with
 * a line in err ("unknown command 'key frob' (key commands: add, ...)") if
 * none. Words are shown only when they are [a-z0-9-], else as "?".
 */
int commands_find(int argc, const char *const argv[], int *skip, char *err, size_t errlen);
/* "user add": the command's words. */
const char *commands_name(enum command_id id);
/* Parse argv against the command's options ("key add: ..." in messages). */
int commands_opts(enum command_id id, int argc, const char *const argv[],
		  struct opts_parsed *p, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* The synopsis on one line (line breaks as spaces) into buf. */
const char *commands_synopsis_line(enum command_id id, char *buf, size_t len);
/* Whether the command takes --json. */
bool commands_takes_json(enum command_id id);

#endif /* CALLSEAL_COMMANDS_H */
