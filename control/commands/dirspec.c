/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dirspec.c - parsing of the group, user, policy, peer and call admin
 * commands (dirspec.h); their options are those of the command table
 * (commands.c), parsed by opts.c. Shared by callsealctl (checks before sending) and
 * callseal-control (checks again after receiving).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "commands.h"
#include "dirspec.h"
#include "errbuf.h"

/* A public key: standard base64 of 32 bytes, padding optional. */
static int parse_key(const char *s, uint8_t key[STORE_PUBLIC_KEY_BYTES], char *err,
		     size_t errlen)
{
	static const uint8_t zero[STORE_PUBLIC_KEY_BYTES];
	size_t n = 0;
	const char *end = NULL;
	int variant = strchr(s, '=') != NULL ? sodium_base64_VARIANT_ORIGINAL :
		      sodium_base64_VARIANT_ORIGINAL_NO_PADDING;

	if (sodium_base642bin(key, STORE_PUBLIC_KEY_BYTES, s, strlen(s), NULL, &n, &end,
			      variant) != 0 || end == NULL || *end != '\0' ||
	    n != STORE_PUBLIC_KEY_BYTES) {
		errbuf_set(err, errlen, "--key: not the base64 of a 32-byte X25519 public key "
		       "(44 characters)");
		return -EINVAL;
	}
	if (sodium_memcmp(key, zero, sizeof(zero)) == 0) {
		errbuf_set(err, errlen, "--key: an all-zero public key is refused");
		return -EINVAL;
	}
	return 0;
}

static int check_name(const char *op, const char *opt, const char *v, char *err,
		      size_t errlen)
{
	if (store_name_valid(v))
		return 0;
	errbuf_set(err, errlen, "%s: %s: a name is 1 to 64 characters of A-Z a-z 0-9 . _ -",
	       op, opt);
	return -EINVAL;
}

static bool is_peer(enum command_id id)
{
	return id == CMD_PEER_ADD || id == CMD_PEER_SET || id == CMD_PEER_DEL;
}

static bool is_new(enum command_id id)
{
	return id == CMD_GROUP_ADD || id == CMD_USER_ADD || id == CMD_POLICY_ADD ||
	       id == CMD_PEER_ADD;
}

int dirspec_parse_cmd(enum command_id id, int argc, const char *const argv[],
		      struct dirspec_cmd *cmd, char *err, size_t errlen)
{
	const char *on, *what, *v;
	struct opts_parsed p;
	unsigned int t;
	size_t k, j;

	memset(cmd, 0, sizeof(*cmd));
	if (id < CMD_GROUP_ADD || id > CMD_PEER_LIST) {
		errbuf_set(err, errlen, "unknown command");
		return -EINVAL;
	}
	on = commands_name(id);
	what = commands_table[id].what;
	cmd->op = id;
	if (commands_opts(id, argc, argv, &p, err, errlen) < 0)
		goto out;
	cmd->name = p.n_pos ? p.pos[0] : NULL;
	if (what != NULL && cmd->name == NULL) {
		errbuf_set(err, errlen, "%s: %s is required", on, what);
		goto out;
	}
	/* the values */
	if (cmd->name != NULL) {
		if (is_peer(id)) {
			if (store_peer_id_parse(cmd->name, NULL, NULL, NULL, 0) < 0) {
				errbuf_set(err, errlen, "%s: the peer must be user@tenant, each "
					   "1 to 64 characters of A-Z a-z 0-9 . _ -", on);
				goto out;
			}
		} else if (check_name(on, what + 2, cmd->name, err, errlen) < 0) {
			goto out;
		}
		/* a name added from now on starts with a letter or digit */
		if (is_new(id)) {
			char pu[STORE_NAME_MAX + 1], pt[STORE_NAME_MAX + 1];
			bool ok = id != CMD_PEER_ADD ? store_name_new_valid(cmd->name) :
				  store_peer_id_parse(cmd->name, pu, pt, NULL, 0) == 0 &&
				  store_name_new_valid(pu) && store_name_new_valid(pt);

			if (!ok) {
				errbuf_set(err, errlen, "%s: a new name starts with a letter or "
					   "digit", on);
				goto out;
			}
		}
	}
	cmd->json = opts_has(&p, "json");
	if (id == CMD_USER_ADD) {
		for (k = 0; k < p.n_rep; k++) {
			if (check_name(on, "--group", p.rep[k], err, errlen) < 0)
				goto out;
			for (j = 0; j < k; j++) {
				if (strcmp(p.rep[j], p.rep[k]) == 0) {
					errbuf_set(err, errlen, "%s: --group: the same group "
						   "given twice", on);
					goto out;
				}
			}
			cmd->groups[cmd->n_groups++] = p.rep[k];
		}
	}
	if (id == CMD_PEER_SET && !opts_has(&p, "key") && !opts_has(&p, "addr")) {
		errbuf_set(err, errlen, "%s: give --key BASE64, --addr IP:PORT or both", on);
		goto out;
	}
	if (id == CMD_USER_SET &&
	    opts_has(&p, "e2ee") + opts_has(&p, "compliance-recording") != 1) {
		errbuf_set(err, errlen, "%s: give one of --e2ee on|off, "
			   "--compliance-recording on|off", on);
		goto out;
	}
	if ((v = opts_get(&p, "compliance-recording")) != NULL) {
		cmd->compliance = true;
		if (strcmp(v, "on") == 0) {
			cmd->compliance_on = true;
		} else if (strcmp(v, "off") != 0) {
			errbuf_set(err, errlen, "%s: --compliance-recording must be on or off", on);
			goto out;
		}
	}
	if ((v = opts_get(&p, "e2ee")) != NULL) {
		if (id == CMD_USER_SET) {
			if (strcmp(v, "on") == 0) {
				cmd->on = true;
			} else if (strcmp(v, "off") == 0) {
				cmd->on = false;
			} else {
				errbuf_set(err, errlen, "%s: --e2ee must be on or off", on);
				goto out;
			}
		} else if (policy_setting_parse(v, &cmd->setting, NULL, 0) < 0) {
			errbuf_set(err, errlen, "%s: --e2ee must be disabled or "
				   "users-can-turn-on (DisabledUserOverride)", on);
			goto out;
		}
	}
	if (id == CMD_POLICY_ASSIGN || id == CMD_POLICY_UNASSIGN) {
		t = opts_has(&p, "tenant") + opts_has(&p, "group") + opts_has(&p, "user");
		if (t != 1) {
			errbuf_set(err, errlen, "%s: give exactly one of --tenant, --group G, "
				   "--user U", on);
			goto out;
		}
		if (opts_has(&p, "tenant")) {
			cmd->target = STORE_TARGET_TENANT;
			cmd->target_name = "";
		} else if ((v = opts_get(&p, "group")) != NULL) {
			cmd->target = STORE_TARGET_GROUP;
			cmd->target_name = v;
			if (check_name(on, "--group", v, err, errlen) < 0)
				goto out;
		} else {
			cmd->target = STORE_TARGET_USER;
			cmd->target_name = opts_get(&p, "user");
			if (check_name(on, "--user", cmd->target_name, err, errlen) < 0)
				goto out;
		}
	}
	if ((v = opts_get(&p, "key")) != NULL) {
		if (parse_key(v, cmd->key, err, errlen) < 0)
			goto out;
		cmd->has_key = true;
	}
	if ((v = opts_get(&p, "addr")) != NULL) {
		char why[STORE_ERR_MAX];

		if (store_address_check(v, why, sizeof(why)) < 0) {
			/* "address: a host name; ..." */
			errbuf_set(err, errlen, "%s: --addr: %s", on,
				   why + (strncmp(why, "address: ", 9) == 0 ? 9 : 0));
			goto out;
		}
		cmd->addr = v;
	}
	return 0;
out:
	memset(cmd, 0, sizeof(*cmd));
	return -EINVAL;
}

/* ---- call commands ------------------------------------------------------------- */

/* A media address: numeric IP:port, a real address (not 0.0.0.0 or ::). */
static int media_check(const char *opt, const char *v, char *err, size_t errlen)
{
	uint8_t addr[16];
	uint8_t family;
	uint16_t port;

	if (v == NULL)
		return 0;
	if (store_ip_port_parse(v, &family, addr, &port) < 0 || port == 0) {
		snprintf(err, errlen, "call dial: %s: expected IP:port, e.g. 192.0.2.1:5004 or "
			 "[2001:db8::1]:5004 (port 1-65535)", opt);
		return -EINVAL;
	}
	if (store_ip_unspecified(family, addr)) {
		snprintf(err, errlen, "call dial: %s: 0.0.0.0 and :: are not addresses media "
			 "can be sent to; give the interface's own address", opt);
		return -EINVAL;
	}
	return 0;
}

int dirspec_parse_call(enum command_id id, int argc, const char *const argv[],
		       struct dirspec_call *cmd, char *err, size_t errlen)
{
	struct opts_parsed p;
	bool dial = id == CMD_CALL_DIAL;

	memset(cmd, 0, sizeof(*cmd));
	if ((unsigned int)id >= CMD_COUNT || !(commands_table[id].flags & COMMAND_F_CALLS)) {
		errbuf_set(err, errlen, "unknown command");
		return -EINVAL;
	}
	cmd->verb = commands_name(id) + strlen("call ");
	cmd->feature = (commands_table[id].flags & COMMAND_F_FEATURE) != 0;
	if (commands_opts(id, argc, argv, &p, err, errlen) < 0)
		return -EINVAL;
	cmd->json = opts_has(&p, "json");
	cmd->ended = opts_has(&p, "ended");
	cmd->id = p.n_pos ? p.pos[0] : NULL;
	cmd->from = opts_get(&p, "from");
	cmd->to = opts_get(&p, "to");
	cmd->local_media = opts_get(&p, "local-media");
	cmd->remote_media = opts_get(&p, "remote-media");
	if (commands_table[id].what != NULL && cmd->id == NULL) {
		snprintf(err, errlen, "call %s: which call? give its ID (call list)", cmd->verb);
		return -EINVAL;
	}
	if (cmd->id != NULL && (strlen(cmd->id) != STORE_CALL_ID_MAX ||
				!store_call_id16_ok(cmd->id))) {
		snprintf(err, errlen, "call %s: a call id is 16 characters of A-Z a-z 0-9 "
			 ". _ : @ + - (call list shows them)", cmd->verb);
		return -EINVAL;
	}
	if (dial) {
		if (!store_name_valid(cmd->from)) {
			snprintf(err, errlen, "call dial: --from: a user name is 1 to 64 "
				 "characters of A-Z a-z 0-9 . _ - (starting with a letter or digit)");
			return -EINVAL;
		}
		if (store_peer_id_parse(cmd->to, NULL, NULL, NULL, 0) < 0) {
			snprintf(err, errlen, "call dial: --to must be user@tenant, each 1 to 64 "
				 "characters of A-Z a-z 0-9 . _ -");
			return -EINVAL;
		}
		if (media_check("--local-media", cmd->local_media, err, errlen) < 0 ||
		    media_check("--remote-media", cmd->remote_media, err, errlen) < 0)
			return -EINVAL;
	}
	return 0;
}
