/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dirspec.h - parse what an operator types about the tenant's directory:
 * groups, users, enhanced-encryption policies and their assignments, and
 * remote peers (the `group`, `user`, `policy` and `peer` admin commands),
 * and the `call` commands.
 *
 * Pure functions (no I/O, no store access): callsealctl checks a command with
 * them before sending it, and callseal-control checks it again after
 * receiving it. Names are checked with the store's own rules (store.h).
 *
 * Errors: 0 or -EINVAL with one human line in err that names the option or
 * argument at fault. A bad value is never echoed back (it may be anything).
 */
#ifndef CALLSEAL_DIRSPEC_H
#define CALLSEAL_DIRSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "commands.h"
#include "policy.h"
#include "store.h"

#define DIRSPEC_ERR_MAX     256u
#define DIRSPEC_GROUPS_MAX  OPTS_REPEAT_MAX   /* --group options of one `user add` */

/* One parsed command. The strings point into the argv it was parsed from. */
struct dirspec_cmd {
	enum command_id op;
	const char *name;        /* the positional word: group, user, policy, peer */
	const char *groups[DIRSPEC_GROUPS_MAX]; /* USER_ADD --group */
	size_t n_groups;
	bool json;               /* the list and show commands */
	bool on;                 /* USER_SET --e2ee on|off */
	bool compliance;         /* USER_SET: --compliance-recording given (not --e2ee) */
	bool compliance_on;      /* USER_SET --compliance-recording on|off */
	enum policy_setting setting;     /* POLICY_ADD, POLICY_SET --e2ee */
	enum store_target target;        /* POLICY_ASSIGN, POLICY_UNASSIGN */
	const char *target_name;         /* group or user; "" for the tenant */
	bool has_key;                    /* PEER_ADD, PEER_SET --key */
	uint8_t key[STORE_PUBLIC_KEY_BYTES];
	const char *addr;                /* PEER_ADD, PEER_SET --addr (NULL: keep) */
};

/*
 * Parse the words after the command's two words:
 *   group add G                 group list [--json]
 *   user add U [--group G]...   user list [--json]
 *   user show U [--json]        user set U --e2ee on|off
 *   user set U --compliance-recording on|off    (one of the two options)
 *   policy add NAME --e2ee SETTING     policy set NAME --e2ee SETTING
 *   policy del NAME             policy list [--json]
 *   policy assign NAME --tenant|--group G|--user U
 *   policy unassign --tenant|--group G|--user U
 *   peer add USER@TENANT [--key BASE64] --addr IP:PORT
 *   peer set USER@TENANT [--key BASE64] [--addr IP:PORT]  (at least one)
 *   peer del USER@TENANT        peer list [--json]
 *   group del G                 user del U
 * (every command also takes --json)
 * The options each takes are its row's in the command table (commands.c),
 * parsed by lib/common/opts.c:
 * "--name VALUE" and "--name=VALUE" both work; each option at most once
 * (except --group of user add).
 */
int dirspec_parse_cmd(enum command_id id, int argc, const char *const argv[],
		      struct dirspec_cmd *cmd, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/*
 * The call commands (the words after the command's two; docs/calls.md):
 *   call dial --from USER --to USER@TENANT [--local-media ADDR:PORT]
 *             [--remote-media ADDR:PORT]
 *   call list [--ended] [--json]   call show ID [--json]
 *   call end ID                 call rekey ID
 *   call record|transcribe|transfer|park|merge|add-participant|keys ID
 * Syntax only: names, addresses and ids are checked by the call manager.
 */
struct dirspec_call {
	const char *verb;          /* "dial", "list", ..., or a feature name */
	bool feature;              /* verb is one of the media-touching features */
	const char *id;            /* show, end, rekey, features */
	const char *from, *to;     /* dial */
	const char *local_media;   /* dial, NULL if not given */
	const char *remote_media;  /* dial, NULL if not given */
	bool json;                 /* list, show */
	bool ended;                /* list: the call history instead */
};

/* id: one of the call rows of the command table (CMD_CALL_*) */
int dirspec_parse_call(enum command_id id, int argc, const char *const argv[], struct dirspec_call *cmd,
		       char *err, size_t errlen)
	__attribute__((warn_unused_result));

#endif /* CALLSEAL_DIRSPEC_H */
