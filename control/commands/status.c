/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * commands.c - the admin commands of callseal-control, one row each (words,
 * handler, whether it changes state, synopsis): the dispatch table, status and
 * help.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"

int cmd_status(struct ctl *c, int argc, const char *const argv[], char *msg,
		      size_t msglen)
{
	struct keytable_info info;
	char tb[KEYSPEC_TIME_STR];

	(void)argv;
	if (argc != 0) {
		snprintf(msg, msglen, "status takes no options");
		return -EINVAL;
	}
	keytable_info(c->table, &info);
	admin_out_printf(&c->out,
			 "table callseal.%s: %u entries (%u wildcard), capacity %u, %u slots, "
			 "%" PRIu64 " bytes, created %s\n"
			 "writer pid %u (epoch %u), generation %" PRIu64 ", changes %" PRIu64
			 ", recoveries %" PRIu64 "\n"
			 "admin socket %s, protocol version %u\n",
			 c->table_name, info.count, info.wild_count, info.capacity, info.slots,
			 info.table_bytes, keyspec_format_time(info.created_ns, tb),
			 info.writer_pid, info.writer_epoch, info.generation, info.changes,
			 info.recoveries, c->admin_path, ADMIN_PROTO_VERSION);
	msg[0] = '\0';
	return 0;
}

int cmd_help(struct ctl *c, int argc, const char *const argv[], char *msg,
		    size_t msglen);

static const struct command commands[] = {
	{ "key", "add", cmd_key_add, true,
	  "key add --local ADDR:PORT --direction in|out --profile PROFILE --inline BASE64 "
	  "[--mode e2ee|standard] [--call-id TEXT]" },
	{ "key", "rekey", cmd_key_rekey, true,
	  "key rekey --local ADDR:PORT --direction in|out --inline BASE64 [--profile PROFILE] "
	  "[--from-index N]" },
	{ "key", "del", cmd_key_del, true, "key del --local ADDR:PORT --direction in|out" },
	{ "key", "list", cmd_key_list, false, "key list [--json]" },
	{ "group", "add", cmd_group_add, true, "group add GROUP" },
	{ "group", "del", cmd_group_del, true, "group del GROUP" },
	{ "group", "list", cmd_group_list, false, "group list [--json]" },
	{ "user", "add", cmd_user_add, true, "user add USER [--group GROUP]..." },
	{ "user", "list", cmd_user_list, false, "user list [--json]" },
	{ "user", "show", cmd_user_show, false, "user show USER [--json]" },
	{ "user", "set", cmd_user_set, true, "user set USER --e2ee on|off" },
	{ "user", "del", cmd_user_del, true, "user del USER" },
	{ "policy", "add", cmd_policy_add, true,
	  "policy add NAME --e2ee disabled|users-can-turn-on" },
	{ "policy", "set", cmd_policy_set, true,
	  "policy set NAME --e2ee disabled|users-can-turn-on" },
	{ "policy", "del", cmd_policy_del, true, "policy del NAME" },
	{ "policy", "list", cmd_policy_list, false, "policy list [--json]" },
	{ "policy", "assign", cmd_policy_assign, true,
	  "policy assign NAME --tenant|--group GROUP|--user USER" },
	{ "policy", "unassign", cmd_policy_unassign, true,
	  "policy unassign --tenant|--group GROUP|--user USER" },
	{ "peer", "add", cmd_peer_add, true,
	  "peer add USER@TENANT [--key BASE64] --addr HOST:PORT" },
	{ "peer", "set", cmd_peer_set, true,
	  "peer set USER@TENANT [--key BASE64] [--addr HOST:PORT]" },
	{ "peer", "del", cmd_peer_del, true, "peer del USER@TENANT" },
	{ "peer", "list", cmd_peer_list, false, "peer list [--json]" },
	{ "call", "dial", cmd_call_dial, true,
	  "call dial --from USER --to USER@TENANT [--local-media ADDR:PORT] "
	  "[--remote-media ADDR:PORT]" },
	{ "call", "list", cmd_call_list, false, "call list [--json]" },
	{ "call", "show", cmd_call_show, false, "call show ID [--json]" },
	{ "call", "end", cmd_call_end, true, "call end ID" },
	{ "call", "rekey", cmd_call_rekey, true, "call rekey ID" },
	{ "call", "record", cmd_call_feature, true, "call record ID" },
	{ "call", "transcribe", cmd_call_feature, true, "call transcribe ID" },
	{ "call", "transfer", cmd_call_feature, true, "call transfer ID" },
	{ "call", "park", cmd_call_feature, true, "call park ID" },
	{ "call", "merge", cmd_call_feature, true, "call merge ID" },
	{ "call", "add-participant", cmd_call_feature, true, "call add-participant ID" },
	{ "call", "keys", cmd_call_feature, true, "call keys ID" },
	{ "status", NULL, cmd_status, false, "status" },
	{ "help", NULL, cmd_help, false, "help" },
};
#define N_COMMANDS (sizeof(commands) / sizeof(commands[0]))

int cmd_help(struct ctl *c, int argc, const char *const argv[], char *msg,
		    size_t msglen)
{
	size_t i;

	(void)argc;
	(void)argv;
	admin_out_printf(&c->out, "commands (admin protocol version %u):\n",
			 ADMIN_PROTO_VERSION);
	for (i = 0; i < N_COMMANDS; i++)
		admin_out_printf(&c->out, "  %s\n", commands[i].synopsis);
	msg[0] = '\0';
	(void)msglen;
	return 0;
}

/* A command word for a message: lower-case letters, digits and '-' only. */
static const char *word_shown(const char *w, char buf[24])
{
	size_t i;

	for (i = 0; w[i] != '\0' && i < 20; i++) {
		if (!((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= '0' && w[i] <= '9') ||
		      w[i] == '-'))
			return "?";
		buf[i] = w[i];
	}
	if (w[i] != '\0')
		return "?";
	buf[i] = '\0';
	return buf;
}

/* Find the command for argv; *skip gets the number of words that named it. */
const struct command *command_find(int argc, char *const argv[], int *skip,
					  char *msg, size_t msglen)
{
	char b0[24], b1[24];
	bool group = false;
	size_t i;

	for (i = 0; i < N_COMMANDS; i++) {
		if (strcmp(argv[0], commands[i].group) != 0)
			continue;
		group = true;
		if (commands[i].name == NULL) {
			*skip = 1;
			return &commands[i];
		}
		if (argc >= 2 && strcmp(argv[1], commands[i].name) == 0) {
			*skip = 2;
			return &commands[i];
		}
	}
	if (group && strcmp(argv[0], "key") == 0)
		snprintf(msg, msglen, "unknown command '%s %s' (key commands: add, rekey, "
			 "del, list)", word_shown(argv[0], b0),
			 argc >= 2 ? word_shown(argv[1], b1) : "");
	else if (group && strcmp(argv[0], "call") == 0)
		snprintf(msg, msglen, "unknown command 'call %s' (call commands: "
			 DIRSPEC_CALL_VERBS ")", argc >= 2 ? word_shown(argv[1], b1) : "");
	else if (group)
		snprintf(msg, msglen, "unknown command '%s %s' (%s commands: %s)",
			 word_shown(argv[0], b0), argc >= 2 ? word_shown(argv[1], b1) : "",
			 word_shown(argv[0], b0), dirspec_group_verbs(argv[0]));
	else
		snprintf(msg, msglen, "unknown command '%s' (commands: key, group, user, "
			 "policy, peer, call, status, help)", word_shown(argv[0], b0));
	return NULL;
}
