/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * dirspec.c - parsing of the group, user, policy and peer admin commands
 * (dirspec.h). Shared by callsealctl (checks before sending) and
 * callseal-control (checks again after receiving).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include <sodium.h>

#include "errbuf.h"
#include "dirspec.h"

#define O_JSON    0x01u
#define O_GROUP   0x02u
#define O_E2EE    0x04u
#define O_TENANT  0x08u
#define O_USER    0x10u
#define O_KEY     0x20u
#define O_ADDR    0x40u
#define O_TARGETS (O_TENANT | O_GROUP | O_USER)

static const struct {
	const char *name;
	unsigned int bit;
	bool flag;            /* takes no value */
} options[] = {
	{ "json", O_JSON, true },
	{ "group", O_GROUP, false },
	{ "e2ee", O_E2EE, false },
	{ "tenant", O_TENANT, true },
	{ "user", O_USER, false },
	{ "key", O_KEY, false },
	{ "addr", O_ADDR, false },
};
#define N_OPTIONS (sizeof(options) / sizeof(options[0]))

/* what: the positional argument ("a group name"), NULL when there is none */
static const struct {
	const char *group, *name;
	const char *what;
	unsigned int allowed, required;
} specs[] = {
/* every command takes --json: lists and shows print their rows, changes an
 * object with what was done */
	[DIRSPEC_GROUP_ADD] = { "group", "add", "a group name", O_JSON, 0 },
	[DIRSPEC_GROUP_LIST] = { "group", "list", NULL, O_JSON, 0 },
	[DIRSPEC_USER_ADD] = { "user", "add", "a user name", O_JSON | O_GROUP, 0 },
	[DIRSPEC_USER_LIST] = { "user", "list", NULL, O_JSON, 0 },
	[DIRSPEC_USER_SHOW] = { "user", "show", "a user name", O_JSON, 0 },
	[DIRSPEC_USER_SET] = { "user", "set", "a user name", O_JSON | O_E2EE, O_E2EE },
	[DIRSPEC_POLICY_ADD] = { "policy", "add", "a policy name", O_JSON | O_E2EE, O_E2EE },
	[DIRSPEC_POLICY_SET] = { "policy", "set", "a policy name", O_JSON | O_E2EE, O_E2EE },
	[DIRSPEC_POLICY_DEL] = { "policy", "del", "a policy name", O_JSON, 0 },
	[DIRSPEC_POLICY_LIST] = { "policy", "list", NULL, O_JSON, 0 },
	[DIRSPEC_POLICY_ASSIGN] = { "policy", "assign", "a policy name", O_JSON | O_TARGETS, 0 },
	[DIRSPEC_POLICY_UNASSIGN] = { "policy", "unassign", NULL, O_JSON | O_TARGETS, 0 },
	[DIRSPEC_PEER_ADD] = { "peer", "add", "a peer (user@tenant)",
			       O_JSON | O_KEY | O_ADDR, O_ADDR },
	[DIRSPEC_PEER_LIST] = { "peer", "list", NULL, O_JSON, 0 },
	[DIRSPEC_GROUP_DEL] = { "group", "del", "a group name", O_JSON, 0 },
	[DIRSPEC_USER_DEL] = { "user", "del", "a user name", O_JSON, 0 },
	[DIRSPEC_PEER_SET] = { "peer", "set", "a peer (user@tenant)", O_JSON | O_KEY | O_ADDR, 0 },
	[DIRSPEC_PEER_DEL] = { "peer", "del", "a peer (user@tenant)", O_JSON, 0 },
};
#define N_SPECS (sizeof(specs) / sizeof(specs[0]))

/* An option name for a message: lower-case letters and '-' only. */
static const char *shown(const char *a, size_t n, char buf[40])
{
	size_t i;

	if (n == 0 || n > 32)
		return "?";
	for (i = 0; i < n; i++) {
		if (!((a[i] >= 'a' && a[i] <= 'z') || a[i] == '-'))
			return "?";
		buf[i] = a[i];
	}
	buf[n] = '\0';
	return buf;
}

bool dirspec_is_command(const char *word)
{
	return word != NULL && (strcmp(word, "group") == 0 || strcmp(word, "user") == 0 ||
				strcmp(word, "policy") == 0 || strcmp(word, "peer") == 0);
}

enum dirspec_op dirspec_op_find(const char *group, const char *name)
{
	size_t i;

	if (group == NULL || name == NULL)
		return 0;
	for (i = 1; i < N_SPECS; i++)
		if (strcmp(specs[i].group, group) == 0 && strcmp(specs[i].name, name) == 0)
			return (enum dirspec_op)i;
	return 0;
}

const char *dirspec_op_name(enum dirspec_op op)
{
	static const char *const names[] = {
		[DIRSPEC_GROUP_ADD] = "group add", [DIRSPEC_GROUP_LIST] = "group list",
		[DIRSPEC_USER_ADD] = "user add", [DIRSPEC_USER_LIST] = "user list",
		[DIRSPEC_USER_SHOW] = "user show", [DIRSPEC_USER_SET] = "user set",
		[DIRSPEC_POLICY_ADD] = "policy add", [DIRSPEC_POLICY_SET] = "policy set",
		[DIRSPEC_POLICY_DEL] = "policy del", [DIRSPEC_POLICY_LIST] = "policy list",
		[DIRSPEC_POLICY_ASSIGN] = "policy assign",
		[DIRSPEC_POLICY_UNASSIGN] = "policy unassign",
		[DIRSPEC_PEER_ADD] = "peer add", [DIRSPEC_PEER_LIST] = "peer list",
		[DIRSPEC_GROUP_DEL] = "group del", [DIRSPEC_USER_DEL] = "user del",
		[DIRSPEC_PEER_SET] = "peer set", [DIRSPEC_PEER_DEL] = "peer del",
	};

	if ((size_t)op == 0 || (size_t)op >= N_SPECS)
		return "?";
	return names[op];
}

const char *dirspec_group_verbs(const char *group)
{
	if (group == NULL)
		return "";
	if (strcmp(group, "group") == 0)
		return "add, del, list";
	if (strcmp(group, "user") == 0)
		return "add, del, list, show, set";
	if (strcmp(group, "policy") == 0)
		return "add, set, del, list, assign, unassign";
	if (strcmp(group, "peer") == 0)
		return "add, set, del, list";
	return "";
}

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

int dirspec_parse_cmd(enum dirspec_op op, int argc, const char *const argv[],
		      struct dirspec_cmd *cmd, char *err, size_t errlen)
{
	const char *val[N_OPTIONS], *on;
	unsigned int seen = 0, t;
	char sb[40];
	size_t o, k;
	int i, rc = -EINVAL;

	memset(cmd, 0, sizeof(*cmd));
	memset(val, 0, sizeof(val));
	if ((size_t)op == 0 || (size_t)op >= N_SPECS) {
		errbuf_set(err, errlen, "unknown command");
		return -EINVAL;
	}
	on = dirspec_op_name(op);
	cmd->op = op;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, *v = NULL;
		size_t nlen;

		if (a == NULL)
			goto bad_arg;
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			if (specs[op].what == NULL || cmd->name != NULL)
				goto bad_arg;
			cmd->name = a;
			continue;
		}
		eq = strchr(a + 2, '=');
		nlen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
		for (o = 0; o < N_OPTIONS; o++)
			if (strlen(options[o].name) == nlen &&
			    strncmp(options[o].name, a + 2, nlen) == 0)
				break;
		if (o == N_OPTIONS || !(specs[op].allowed & options[o].bit)) {
			errbuf_set(err, errlen, "%s: %s option --%s", on,
			       o == N_OPTIONS ? "unknown" : "does not take the",
			       shown(a + 2, nlen, sb));
			goto out;
		}
		if ((seen & options[o].bit) &&
		    !(op == DIRSPEC_USER_ADD && options[o].bit == O_GROUP)) {
			errbuf_set(err, errlen, "%s: --%s given twice", on, options[o].name);
			goto out;
		}
		seen |= options[o].bit;
		if (options[o].flag) {
			if (eq != NULL) {
				errbuf_set(err, errlen, "%s: --%s takes no value", on,
				       options[o].name);
				goto out;
			}
			val[o] = "";
			continue;
		}
		if (eq != NULL) {
			v = eq + 1;
		} else if (i + 1 < argc && argv[i + 1] != NULL) {
			v = argv[++i];
		} else {
			errbuf_set(err, errlen, "%s: --%s needs a value", on, options[o].name);
			goto out;
		}
		if (op == DIRSPEC_USER_ADD && options[o].bit == O_GROUP) {
			if (check_name(on, "--group", v, err, errlen) < 0)
				goto out;
			for (k = 0; k < cmd->n_groups; k++) {
				if (strcmp(cmd->groups[k], v) == 0) {
					errbuf_set(err, errlen, "%s: --group: the same group "
					       "given twice", on);
					goto out;
				}
			}
			if (cmd->n_groups == DIRSPEC_GROUPS_MAX) {
				errbuf_set(err, errlen, "%s: at most %u --group options", on,
				       DIRSPEC_GROUPS_MAX);
				goto out;
			}
			cmd->groups[cmd->n_groups++] = v;
			continue;
		}
		val[o] = v;
	}
	if (specs[op].what != NULL && cmd->name == NULL) {
		errbuf_set(err, errlen, "%s: %s is required", on, specs[op].what);
		goto out;
	}
	for (o = 0; o < N_OPTIONS; o++) {
		if ((specs[op].required & options[o].bit) && !(seen & options[o].bit)) {
			errbuf_set(err, errlen, "%s: --%s is required", on, options[o].name);
			goto out;
		}
	}
	/* the values */
	if (cmd->name != NULL) {
		if (op == DIRSPEC_PEER_ADD || op == DIRSPEC_PEER_SET || op == DIRSPEC_PEER_DEL) {
			if (store_peer_id_parse(cmd->name, NULL, NULL, NULL, 0) < 0) {
				errbuf_set(err, errlen, "%s: the peer must be user@tenant, each "
				       "1 to 64 characters of A-Z a-z 0-9 . _ -", on);
				goto out;
			}
		} else if (check_name(on, specs[op].what + 2, cmd->name, err, errlen) < 0) {
			goto out;
		}
		/* a name added from now on starts with a letter or digit */
		if (op == DIRSPEC_GROUP_ADD || op == DIRSPEC_USER_ADD ||
		    op == DIRSPEC_POLICY_ADD || op == DIRSPEC_PEER_ADD) {
			char pu[STORE_NAME_MAX + 1], pt[STORE_NAME_MAX + 1];
			bool ok = op != DIRSPEC_PEER_ADD ? store_name_new_valid(cmd->name) :
				  store_peer_id_parse(cmd->name, pu, pt, NULL, 0) == 0 &&
				  store_name_new_valid(pu) && store_name_new_valid(pt);

			if (!ok) {
				errbuf_set(err, errlen, "%s: a new name starts with a letter or digit",
				       on);
				goto out;
			}
		}
	}
	cmd->json = (seen & O_JSON) != 0;
	if (op == DIRSPEC_PEER_SET && !(seen & (O_KEY | O_ADDR))) {
		errbuf_set(err, errlen, "%s: give --key BASE64, --addr HOST:PORT or both", on);
		goto out;
	}
	if (seen & O_E2EE) {
		const char *v = val[2];

		if (op == DIRSPEC_USER_SET) {
			if (strcmp(v, "on") == 0) {
				cmd->on = true;
			} else if (strcmp(v, "off") == 0) {
				cmd->on = false;
			} else {
				errbuf_set(err, errlen, "%s: --e2ee must be on or off", on);
				goto out;
			}
		} else if (policy_setting_parse(v, &cmd->setting, NULL, 0) < 0) {
			errbuf_set(err, errlen, "%s: --e2ee must be disabled or users-can-turn-on "
			       "(DisabledUserOverride)", on);
			goto out;
		}
	}
	t = seen & O_TARGETS;
	if (op == DIRSPEC_POLICY_ASSIGN || op == DIRSPEC_POLICY_UNASSIGN) {
		if (t == 0 || (t & (t - 1)) != 0) {
			errbuf_set(err, errlen, "%s: give exactly one of --tenant, --group G, "
			       "--user U", on);
			goto out;
		}
		if (t == O_TENANT) {
			cmd->target = STORE_TARGET_TENANT;
			cmd->target_name = "";
		} else if (t == O_GROUP) {
			cmd->target = STORE_TARGET_GROUP;
			cmd->target_name = val[1];
			if (check_name(on, "--group", val[1], err, errlen) < 0)
				goto out;
		} else {
			cmd->target = STORE_TARGET_USER;
			cmd->target_name = val[4];
			if (check_name(on, "--user", val[4], err, errlen) < 0)
				goto out;
		}
	}
	if (seen & O_KEY) {
		if (parse_key(val[5], cmd->key, err, errlen) < 0)
			goto out;
		cmd->has_key = true;
	}
	if (seen & O_ADDR) {
		if (store_address_check(val[6], NULL, 0) < 0) {
			errbuf_set(err, errlen, "%s: --addr must be HOST:PORT (a DNS name, dotted "
			       "IPv4 or [IPv6]; port 1-65535)", on);
			goto out;
		}
		cmd->addr = val[6];
	}
	return 0;
bad_arg:
	/* never echo a word that is not an option */
	errbuf_set(err, errlen, "%s: unexpected argument %d (see --help)", on, i + 1);
out:
	memset(cmd, 0, sizeof(*cmd));
	return rc;
}

/* ---- call commands ------------------------------------------------------------- */

static const char *const call_features[] = {
	"record", "transcribe", "transfer", "park", "merge", "add-participant", "keys",
};

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

/* A word fit to repeat in a message: [a-z0-9-], at most 20 characters. */
static bool call_word_ok(const char *w)
{
	size_t i;

	for (i = 0; w[i] != '\0'; i++)
		if (i >= 20 || !((w[i] >= 'a' && w[i] <= 'z') || (w[i] >= '0' && w[i] <= '9') ||
				 w[i] == '-'))
			return false;
	return i > 0;
}

/* "--name VALUE" or "--name=VALUE": the value, *i advanced; NULL if not this option. */
static const char *call_opt(int argc, const char *const argv[], int *i, const char *name,
			    bool *missing)
{
	size_t n = strlen(name);

	*missing = false;
	if (strncmp(argv[*i], name, n) != 0)
		return NULL;
	if (argv[*i][n] == '=')
		return argv[*i] + n + 1;
	if (argv[*i][n] != '\0')
		return NULL;
	if (*i + 1 >= argc) {
		*missing = true;
		return NULL;
	}
	(*i)++;
	return argv[*i];
}

int dirspec_parse_call(int argc, const char *const argv[], struct dirspec_call *cmd,
		       char *err, size_t errlen)
{
	bool dial, takes_id, takes_json, missing;
	const char **slot;
	const char *v;
	size_t k;
	int i;

	memset(cmd, 0, sizeof(*cmd));
	if (argc < 1) {
		snprintf(err, errlen, "call: which one? " DIRSPEC_CALL_VERBS);
		return -EINVAL;
	}
	cmd->verb = argv[0];
	for (k = 0; k < sizeof(call_features) / sizeof(call_features[0]); k++)
		if (strcmp(argv[0], call_features[k]) == 0)
			cmd->feature = true;
	dial = strcmp(argv[0], "dial") == 0;
	takes_id = cmd->feature || strcmp(argv[0], "show") == 0 ||
		   strcmp(argv[0], "end") == 0 || strcmp(argv[0], "rekey") == 0;
	takes_json = dial || takes_id || strcmp(argv[0], "list") == 0;
	if (!takes_json) {
		snprintf(err, errlen, "unknown command 'call %s' (call commands: "
			 DIRSPEC_CALL_VERBS ")", call_word_ok(argv[0]) ? argv[0] : "?");
		return -EINVAL;
	}
	for (i = 1; i < argc; i++) {
		const char *a = argv[i];

		slot = NULL;
		v = NULL;
		missing = false;
		if (takes_json && strcmp(a, "--json") == 0) {
			if (cmd->json) {
				snprintf(err, errlen, "call %s: --json given twice", cmd->verb);
				return -EINVAL;
			}
			cmd->json = true;
			continue;
		}
		if (dial) {
			static const char *const names[] = { "--from", "--to", "--local-media",
							     "--remote-media" };
			const char **slots[] = { &cmd->from, &cmd->to, &cmd->local_media,
						 &cmd->remote_media };

			for (k = 0; k < 4 && v == NULL && !missing; k++) {
				v = call_opt(argc, argv, &i, names[k], &missing);
				if (v != NULL || missing)
					slot = slots[k];
			}
			if (missing || (v != NULL && v[0] == '\0')) {
				snprintf(err, errlen, "call dial: %s needs a value",
					 names[k - 1]);
				return -EINVAL;
			}
			if (v != NULL) {
				if (*slot != NULL) {
					snprintf(err, errlen, "call dial: %s given twice",
						 names[k - 1]);
					return -EINVAL;
				}
				*slot = v;
				continue;
			}
		} else if (takes_id && a[0] != '-' && cmd->id == NULL) {
			cmd->id = a;
			continue;
		}
		if (a[0] == '-')
			snprintf(err, errlen, "call %s: unknown option %s (see --help)", cmd->verb,
				 call_word_ok(a + strspn(a, "-")) && strlen(a) <= 22 ? a : "?");
		else
			snprintf(err, errlen, "call %s: unexpected argument (see --help)",
				 cmd->verb);
		return -EINVAL;
	}
	if (dial && (cmd->from == NULL || cmd->to == NULL)) {
		snprintf(err, errlen, "call dial: --from USER and --to USER@TENANT are required");
		return -EINVAL;
	}
	if (takes_id && cmd->id == NULL) {
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
