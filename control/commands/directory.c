/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * directory.c - the directory commands of callseal-control: the tenant's groups,
 * users, E2EE policies and their assignments, and peers, in the store
 * (control/store; docs/operations.md, docs/policy.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"

/* Each directory change handler has the same shape: parse, the store's
 * change, dir_done() (log line, then the message or its JSON). The changes
 * that take only a name, and those that set an E2EE value, are rows of a
 * table below (cmd_dir_name, cmd_dir_e2ee). */

/* json_change for a directory command: "group add" and its name under
 * "group" (the command's first word), as dirspec parsed it. */
static void dir_json(struct ctl *c, const struct dirspec_cmd *d, const char *name, char *msg)
{
	const char *command = commands_name(d->op);
	char key[16];

	snprintf(key, sizeof(key), "%.*s", (int)strcspn(command, " "), command);
	json_change(c, command, key, name, msg);
}

/* Parse the directory command being served (the daemon has a store:
 * admin_server.c checks). */
static int dir_parse(struct ctl *c, int argc, const char *const argv[],
		     struct dirspec_cmd *d, char *msg, size_t msglen)
{
	return dirspec_parse_cmd(c->cmd, argc, argv, d, msg, msglen);
}

/*
 * Every directory change ends here, once the store has done it: one log line
 * (what changed, with the client's uid and pid), then the reply: msg, or with
 * --json the change object that carries it.
 */
static int dir_done(struct ctl *c, const struct dirspec_cmd *d, const char *name,
		    const char *logtext, char *msg)
{
	log_change(c, logtext);
	if (d->json)
		dir_json(c, d, name, msg);
	return 0;
}

static int push_user(const struct store_user *u, void *arg) { return rows_push(arg, u); }
static int push_group(const struct store_group *g, void *arg) { return rows_push(arg, g); }
static int push_policy(const struct store_policy *p, void *arg) { return rows_push(arg, p); }
static int push_peer(const struct store_peer *p, void *arg) { return rows_push(arg, p); }
static int push_assignment(const struct store_assignment *a, void *arg)
{
	return rows_push(arg, a);
}

static int push_name(const char *name, void *arg)
{
	char n[STORE_NAME_MAX + 1];

	snprintf(n, sizeof(n), "%s", name);
	return rows_push(arg, n);
}

/* calls_list callback: a call of user arg (any state the manager holds) */
static int call_of_user(const struct calls_info *in, void *arg)
{
	return strcmp(in->local_user, arg) == 0 ? 1 : 0;
}

/* The changes that take only a name: the store's change, the words of the
 * reply ("deleted group NAME" and what went with it). */
static const struct {
	enum command_id id;
	int (*change)(struct store *st, const char *name, char *err, size_t errlen);
	const char *done, *after;
} name_changes[] = {
	{ CMD_GROUP_ADD, store_group_add, "added group", "" },
	{ CMD_GROUP_DEL, store_group_del, "deleted group",
	  " (its members stay; its assignment is gone)" },
	{ CMD_USER_DEL, store_user_del, "deleted user",
	  " with their identity key, setting and memberships" },
	{ CMD_POLICY_DEL, store_policy_del, "deleted policy", "" },
	{ CMD_PEER_DEL, store_peer_del, "deleted peer", "" },
};

/* group add, group del, user del, policy del, peer del */
int cmd_dir_name(struct ctl *c, int argc, const char *const argv[], char *msg, size_t msglen)
{
	char lg[ADMIN_MSG_MAX];
	struct dirspec_cmd d;
	size_t i;
	int rc;

	for (i = 0; name_changes[i].id != c->cmd; i++)
		;
	rc = dir_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	/* the store knows a callee's call only once it is active: ask the
	 * manager too, so that a call being answered keeps its user */
	if (c->cmd == CMD_USER_DEL && c->calls != NULL &&
	    calls_list(c->calls, call_of_user, (void *)d.name) == 1) {
		snprintf(msg, msglen, "user %s has a call in set-up or active (call list); "
			 "end it first", d.name);
		return -EBUSY;
	}
	rc = name_changes[i].change(c->store, d.name, msg, msglen);
	if (rc < 0)
		return rc;
	snprintf(lg, sizeof(lg), "%s %s", commands_name(c->cmd), d.name);
	snprintf(msg, msglen, "%s %s%s", name_changes[i].done, d.name, name_changes[i].after);
	return dir_done(c, &d, d.name, lg, msg);
}

/* The changes that set an E2EE value: the reply's words around the name
 * and the value ("policy NAME: e2ee VALUE"). */
static const struct {
	enum command_id id;
	const char *before, *between, *after;
} e2ee_changes[] = {
	{ CMD_USER_SET, "user ", ": end-to-end encryption turned ", "" },
	{ CMD_POLICY_ADD, "added policy ", " (e2ee ", ")" },
	{ CMD_POLICY_SET, "policy ", ": e2ee ", "" },
};

/* user set --compliance-recording on|off: the reply says what it does to the
 * user's end-to-end encryption. */
static int user_set_compliance(struct ctl *c, struct dirspec_cmd *d, char *msg,
			       size_t msglen)
{
	char lg[ADMIN_MSG_MAX];
	struct store_effective e;
	int rc;

	rc = store_user_set_compliance(c->store, d->name, d->compliance_on, msg, msglen);
	if (rc < 0)
		return rc;
	if ((rc = store_user_effective_policy(c->store, d->name, &e, msg, msglen)) < 0)
		return rc;
	snprintf(lg, sizeof(lg), "user set %s compliance-recording %s", d->name,
		 d->compliance_on ? "on" : "off");
	if (d->compliance_on)
		snprintf(msg, msglen, "user %s: compliance recording turned on; end-to-end "
			 "encryption is off for them while it applies%s", d->name,
			 e.user_on ? " (their own setting on is kept, without effect)" : "");
	else
		snprintf(msg, msglen, "user %s: compliance recording turned off; e2ee: %s",
			 d->name, e.intent.reason);
	return dir_done(c, d, d->name, lg, msg);
}

/* user set, policy add, policy set */
int cmd_dir_e2ee(struct ctl *c, int argc, const char *const argv[], char *msg, size_t msglen)
{
	char lg[ADMIN_MSG_MAX];
	struct dirspec_cmd d;
	const char *value;
	size_t i;
	int rc;

	for (i = 0; e2ee_changes[i].id != c->cmd; i++)
		;
	rc = dir_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	if (c->cmd == CMD_USER_SET && d.compliance)
		return user_set_compliance(c, &d, msg, msglen);
	if (c->cmd == CMD_USER_SET)
		rc = store_user_set_e2ee(c->store, d.name, d.on, msg, msglen);
	else if (c->cmd == CMD_POLICY_ADD)
		rc = store_policy_add(c->store, d.name, d.setting, msg, msglen);
	else
		rc = store_policy_set(c->store, d.name, d.setting, msg, msglen);
	if (rc < 0)
		return rc;
	value = c->cmd == CMD_USER_SET ? (d.on ? "on" : "off") : policy_setting_name(d.setting);
	snprintf(lg, sizeof(lg), "%s %s e2ee %s", commands_name(c->cmd), d.name, value);
	snprintf(msg, msglen, "%s%s%s%s%s", e2ee_changes[i].before, d.name,
		 e2ee_changes[i].between, value, e2ee_changes[i].after);
	return dir_done(c, &d, d.name, lg, msg);
}

int cmd_group_list(struct ctl *c, int argc, const char *const argv[], char *msg,
		   size_t msglen)
{
	struct rows r = { .size = sizeof(struct store_group) };
	struct dirspec_cmd d;
	char tb[KEYSPEC_TIME_STR];
	size_t i;
	int rc;

	rc = dir_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_group_list(c->store, push_group, &r, msg, msglen);
	if (rc < 0)
		goto out;
	if (d.json)
		admin_out_printf(&c->out, "[");
	else
		admin_out_printf(&c->out, "%-24s %7s %s\n", "GROUP", "MEMBERS", "CREATED");
	for (i = 0; i < r.n; i++) {
		const struct store_group *g = (const struct store_group *)r.v + i;

		unix_time(g->created, tb);
		if (!d.json) {
			admin_out_printf(&c->out, "%-24s %7u %s\n", g->name, g->members, tb);
			continue;
		}
		admin_out_printf(&c->out, "%s\n  {\"name\": ", i ? "," : "");
		json_str(&c->out, g->name);
		admin_out_printf(&c->out, ", \"members\": %u, \"created\": \"%s\"}",
				 g->members, tb);
	}
	list_end(c, d.json, r.n);
	msg[0] = '\0';
out:
	free(r.v);
	return list_failed(rc, "groups", msg, msglen);
}

int cmd_user_add(struct ctl *c, int argc, const char *const argv[], char *msg,
		 size_t msglen)
{
	char lg[ADMIN_MSG_MAX];
	struct dirspec_cmd d;
	struct store_group g;
	struct store_user u;
	char fb[FINGERPRINT_STR], err[STORE_ERR_MAX];
	size_t i, n;
	int rc;

	rc = dir_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	/* every group first: a refusal changes nothing */
	for (i = 0; i < d.n_groups; i++) {
		rc = store_group_show(c->store, d.groups[i], &g, msg, msglen);
		if (rc < 0)
			return rc;
	}
	rc = store_user_add(c->store, d.name, msg, msglen);
	if (rc < 0)
		return rc;
	for (i = 0; i < d.n_groups; i++) {
		rc = store_group_member_add(c->store, d.groups[i], d.name, msg, msglen);
		if (rc < 0) {
			/* undo the user (and any membership so far) */
			if (store_user_del(c->store, d.name, err, sizeof(err)) < 0)
				logline("user add %s: cannot undo after a failed membership: %s",
					d.name, err);
			return rc;
		}
	}
	rc = store_user_show(c->store, d.name, &u, msg, msglen);
	if (rc < 0)
		return rc;
	fingerprint(u.public_key, fb);
	n = (size_t)snprintf(lg, sizeof(lg), "user add %s", d.name);
	for (i = 0; i < d.n_groups && n < sizeof(lg); i++)
		n += (size_t)snprintf(lg + n, sizeof(lg) - n, " group %s", d.groups[i]);
	if (n < sizeof(lg))
		snprintf(lg + n, sizeof(lg) - n, " fingerprint %s", fb);
	snprintf(msg, msglen, "added user %s (identity key fingerprint %s)", d.name, fb);
	return dir_done(c, &d, d.name, lg, msg);
}

/* Where an effective policy came from, in words. */
static void source_text(const struct policy_effective *e, char *buf, size_t len)
{
	switch (e->source) {
	case POLICY_SRC_USER:
		snprintf(buf, len, "policy '%s' assigned to the user", e->policy);
		break;
	case POLICY_SRC_GROUP:
		snprintf(buf, len, "policy '%s' assigned to group '%s'", e->policy, e->group);
		break;
	case POLICY_SRC_TENANT:
		snprintf(buf, len, "policy '%s' assigned to the tenant", e->policy);
		break;
	default:
		snprintf(buf, len, "no policy assigned: the default");
		break;
	}
}

static void json_effective(struct admin_out *o, const struct store_effective *e)
{
	const struct policy_effective *p = &e->policy;

	admin_out_printf(o, "{\"e2ee\": \"%s\", \"source\": \"%s\", \"name\": ",
			 policy_setting_name(p->setting), policy_source_name(p->source));
	if (p->source == POLICY_SRC_NONE)
		admin_out_printf(o, "null");
	else
		json_str(o, p->policy);
	admin_out_printf(o, ", \"group\": ");
	if (p->source == POLICY_SRC_GROUP)
		json_str(o, p->group);
	else
		admin_out_printf(o, "null");
	admin_out_printf(o, ", \"group_conflict\": %s}", p->group_conflict ? "true" : "false");
}

int cmd_user_list(struct ctl *c, int argc, const char *const argv[], char *msg,
		  size_t msglen)
{
	struct rows r = { .size = sizeof(struct store_user) };
	struct store_effective e;
	struct dirspec_cmd d;
	char fb[FINGERPRINT_STR], kb[KEY_B64_STR], tb[KEYSPEC_TIME_STR];
	size_t i;
	int rc, wu = 24;

	rc = dir_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_user_list(c->store, push_user, &r, msg, msglen);
	if (rc < 0)
		goto out;
	for (i = 0; i < r.n; i++) {     /* the column as wide as the longest name */
		int w = (int)strlen(((const struct store_user *)r.v)[i].name);

		wu = w > wu ? w : wu;
	}
	if (d.json)
		admin_out_printf(&c->out, "[");
	else
		admin_out_printf(&c->out, "%-*s %-17s %-6s %-24s %-4s %s\n", wu, "USER",
				 "POLICY-E2EE", "SOURCE", "POLICY", "OWN", "FINGERPRINT");
	for (i = 0; i < r.n; i++) {
		const struct store_user *u = (const struct store_user *)r.v + i;

		rc = store_user_effective_policy(c->store, u->name, &e, msg, msglen);
		if (rc < 0)
			goto out;
		fingerprint(u->public_key, fb);
		if (!d.json) {
			admin_out_printf(&c->out, "%-*s %-17s %-6s %-24s %-4s %s\n", wu, u->name,
					 policy_setting_name(e.policy.setting),
					 policy_source_name(e.policy.source),
					 e.policy.source ? e.policy.policy : "-",
					 u->e2ee_on ? "on" : "off", fb);
			continue;
		}
		admin_out_printf(&c->out, "%s\n  {\"name\": ", i ? "," : "");
		json_str(&c->out, u->name);
		admin_out_printf(&c->out, ", \"created\": \"%s\", \"policy\": ",
				 unix_time(u->created, tb));
		json_effective(&c->out, &e);
		admin_out_printf(&c->out, ", \"e2ee_setting\": \"%s\", "
				 "\"compliance_recording\": %s, \"allowed\": %s, "
				 "\"on\": %s, \"public_key\": \"%s\", \"fingerprint\": \"%s\"}",
				 u->e2ee_on ? "on" : "off",
				 u->compliance_recording ? "true" : "false",
				 e.intent.allowed ? "true" : "false",
				 e.intent.on ? "true" : "false", key_b64(u->public_key, kb), fb);
	}
	list_end(c, d.json, r.n);
	msg[0] = '\0';
out:
	free(r.v);
	return list_failed(rc, "users", msg, msglen);
}

int cmd_user_show(struct ctl *c, int argc, const char *const argv[], char *msg,
		  size_t msglen)
{
	struct rows groups = { .size = STORE_NAME_MAX + 1 };
	struct store_effective e;
	struct store_user u;
	struct dirspec_cmd d;
	char fb[FINGERPRINT_STR], kb[KEY_B64_STR], tb[KEYSPEC_TIME_STR], src[256];
	size_t i;
	int rc;

	rc = dir_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_user_show(c->store, d.name, &u, msg, msglen);
	if (rc < 0)
		goto out;
	rc = store_user_groups(c->store, d.name, push_name, &groups, msg, msglen);
	if (rc < 0)
		goto out;
	rc = store_user_effective_policy(c->store, d.name, &e, msg, msglen);
	if (rc < 0)
		goto out;
	fingerprint(u.public_key, fb);
	key_b64(u.public_key, kb);
	unix_time(u.created, tb);
	if (d.json) {
		admin_out_printf(&c->out, "{\"name\": ");
		json_str(&c->out, u.name);
		admin_out_printf(&c->out, ", \"tenant\": ");
		json_str(&c->out, store_tenant(c->store));
		admin_out_printf(&c->out, ", \"created\": \"%s\", \"groups\": [", tb);
		for (i = 0; i < groups.n; i++) {
			admin_out_printf(&c->out, "%s", i ? ", " : "");
			json_str(&c->out, (const char *)groups.v + i * groups.size);
		}
		admin_out_printf(&c->out, "], \"policy\": ");
		json_effective(&c->out, &e);
		admin_out_printf(&c->out, ", \"e2ee_setting\": \"%s\", "
				 "\"compliance_recording\": %s, \"allowed\": %s, "
				 "\"on\": %s, \"reason\": ", u.e2ee_on ? "on" : "off",
				 u.compliance_recording ? "true" : "false",
				 e.intent.allowed ? "true" : "false",
				 e.intent.on ? "true" : "false");
		json_str(&c->out, e.intent.reason);
		admin_out_printf(&c->out, ", \"public_key\": \"%s\", \"fingerprint\": \"%s\"}\n",
				 kb, fb);
		msg[0] = '\0';
		goto out;
	}
	source_text(&e.policy, src, sizeof(src));
	admin_out_printf(&c->out, "user         %s@%s\ncreated      %s\ngroups       ",
			 u.name, store_tenant(c->store), tb);
	for (i = 0; i < groups.n; i++)
		admin_out_printf(&c->out, "%s%s", i ? ", " : "",
				 (const char *)groups.v + i * groups.size);
	admin_out_printf(&c->out, "%s\npolicy       %s (%s)\n", groups.n ? "" : "-",
			 policy_setting_name(e.policy.setting), src);
	if (e.policy.group_conflict)
		admin_out_printf(&c->out, "             note: the user's groups carry "
				 "different policies (disabled wins between groups)\n");
	admin_out_printf(&c->out, "own setting  %s%s\ncompliance   %s\ne2ee         %s\n"
			 "public key   %s\nfingerprint  %s\n", u.e2ee_on ? "on" : "off",
			 !u.e2ee_on || e.intent.allowed ? "" : e.compliance ?
			 " (no effect: compliance recording applies)" :
			 " (no effect: the policy is disabled)",
			 u.compliance_recording ? "recording on (no end-to-end encryption)" :
			 "off", e.intent.reason, kb, fb);
	msg[0] = '\0';
out:
	free(groups.v);
	return list_failed(rc, "the user's groups", msg, msglen);
}

static void json_target(struct admin_out *o, const struct store_assignment *a)
{
	admin_out_printf(o, "{\"target\": \"%s\"", store_target_name(a->target));
	if (a->target != STORE_TARGET_TENANT) {
		admin_out_printf(o, ", \"name\": ");
		json_str(o, a->name);
	}
	admin_out_printf(o, "}");
}

int cmd_policy_list(struct ctl *c, int argc, const char *const argv[], char *msg,
		    size_t msglen)
{
	struct rows r = { .size = sizeof(struct store_policy) };
	struct rows as = { .size = sizeof(struct store_assignment) };
	struct dirspec_cmd d;
	char tb[KEYSPEC_TIME_STR];
	size_t i, j, k;
	int rc;

	rc = dir_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_policy_list(c->store, push_policy, &r, msg, msglen);
	if (rc == 0)
		rc = store_assignment_list(c->store, push_assignment, &as, msg, msglen);
	if (rc < 0)
		goto out;
	if (d.json)
		admin_out_printf(&c->out, "[");
	else
		admin_out_printf(&c->out, "%-24s %-17s %s\n", "POLICY", "E2EE", "ASSIGNED-TO");
	for (i = 0; i < r.n; i++) {
		const struct store_policy *p = (const struct store_policy *)r.v + i;

		if (d.json) {
			admin_out_printf(&c->out, "%s\n  {\"name\": ", i ? "," : "");
			json_str(&c->out, p->name);
			admin_out_printf(&c->out, ", \"e2ee\": \"%s\", \"created\": \"%s\", "
					 "\"assigned_to\": [", policy_setting_name(p->e2ee),
					 unix_time(p->created, tb));
		} else {
			admin_out_printf(&c->out, "%-24s %-17s ", p->name,
					 policy_setting_name(p->e2ee));
		}
		for (j = 0, k = 0; j < as.n; j++) {
			const struct store_assignment *a =
				(const struct store_assignment *)as.v + j;

			if (strcmp(a->policy, p->name) != 0)
				continue;
			if (d.json) {
				admin_out_printf(&c->out, "%s", k ? ", " : "");
				json_target(&c->out, a);
			} else if (a->target == STORE_TARGET_TENANT) {
				admin_out_printf(&c->out, "%stenant", k ? ", " : "");
			} else {
				admin_out_printf(&c->out, "%s%s %s", k ? ", " : "",
						 store_target_name(a->target), a->name);
			}
			k++;
		}
		if (d.json)
			admin_out_printf(&c->out, "]}");
		else
			admin_out_printf(&c->out, "%s\n", k ? "" : "-");
	}
	list_end(c, d.json, r.n);
	msg[0] = '\0';
out:
	free(r.v);
	free(as.v);
	return list_failed(rc, "policies", msg, msglen);
}

/* "the tenant", "group 'sales'", "user 'alice'" */
static const char *target_text(enum store_target t, const char *name, char *buf, size_t len)
{
	if (t == STORE_TARGET_TENANT)
		snprintf(buf, len, "the tenant");
	else
		snprintf(buf, len, "%s '%s'", store_target_name(t), name);
	return buf;
}

int cmd_policy_assign(struct ctl *c, int argc, const char *const argv[], char *msg,
		      size_t msglen)
{
	char lg[ADMIN_MSG_MAX];
	char tb[STORE_NAME_MAX + 16], prev[STORE_NAME_MAX + 1], err[STORE_ERR_MAX];
	struct dirspec_cmd d;
	bool had;
	int rc;

	rc = dir_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	had = store_assignment_get(c->store, d.target, d.target_name, prev, err,
				   sizeof(err)) == 0;
	if (had && strcmp(prev, d.name) == 0) {
		target_text(d.target, d.target_name, tb, sizeof(tb));
		snprintf(msg, msglen, "policy %s is already assigned to %s (nothing changed)",
			 d.name, tb);
		if (d.json)
			dir_json(c, &d, d.name, msg);
		return 0;
	}
	rc = store_assign(c->store, d.target, d.target_name, d.name, msg, msglen);
	if (rc < 0)
		return rc;
	target_text(d.target, d.target_name, tb, sizeof(tb));
	snprintf(lg, sizeof(lg), "policy assign %s to %s%s%s", d.name, tb,
		 had ? " replacing " : "", had ? prev : "");
	snprintf(msg, msglen, "assigned policy %s to %s%s%s", d.name, tb,
		 had ? " (it replaces policy " : "", had ? prev : "");
	if (had)
		strncat(msg, ")", msglen - strlen(msg) - 1);
	return dir_done(c, &d, d.name, lg, msg);
}

int cmd_policy_unassign(struct ctl *c, int argc, const char *const argv[], char *msg,
			size_t msglen)
{
	char lg[ADMIN_MSG_MAX];
	char tb[STORE_NAME_MAX + 16], prev[STORE_NAME_MAX + 1];
	struct dirspec_cmd d;
	int rc;

	rc = dir_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_assignment_get(c->store, d.target, d.target_name, prev, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_unassign(c->store, d.target, d.target_name, msg, msglen);
	if (rc < 0)
		return rc;
	target_text(d.target, d.target_name, tb, sizeof(tb));
	snprintf(lg, sizeof(lg), "policy unassign %s from %s", prev, tb);
	snprintf(msg, msglen, "unassigned policy %s from %s", prev, tb);
	return dir_done(c, &d, prev, lg, msg);
}

int cmd_peer_add(struct ctl *c, int argc, const char *const argv[], char *msg,
		 size_t msglen)
{
	char lg[ADMIN_MSG_MAX];
	char fb[FINGERPRINT_STR];
	struct store_peer p;
	struct dirspec_cmd d;
	int rc;

	rc = dir_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	/* an existing peer first: that, not a missing --key, is what is wrong */
	rc = store_peer_show(c->store, d.name, &p, msg, msglen);
	if (rc == 0) {
		snprintf(msg, msglen, STORE_PEER_EXISTS_FMT, d.name);
		return -EEXIST;
	}
	if (rc != -ENOENT)
		return rc;
	/* a key an administrator gives is pinned; without one it is learnt on
	 * first use, which only a --trust-on-first-use daemon does */
	if (!d.has_key && !c->tofu) {
		snprintf(msg, msglen, "peer add: --key is required: this daemon does not "
			 "trust on first use (--trust-on-first-use), so a peer without a key "
			 "could never be called");
		return -EINVAL;
	}
	rc = store_peer_add(c->store, d.name, d.has_key ? d.key : NULL, d.addr, d.has_key,
			    msg, msglen);
	if (rc < 0)
		return rc;
	if (d.has_key)
		fingerprint(d.key, fb);
	snprintf(lg, sizeof(lg), "peer add %s addr %s %s%s", d.name, d.addr,
		 d.has_key ? "pinned key fingerprint " : "key learnt on first use",
		 d.has_key ? fb : "");
	snprintf(msg, msglen, "added peer %s at %s (%s%s)", d.name, d.addr,
		 d.has_key ? "pinned key, fingerprint " : "key learnt on first use",
		 d.has_key ? fb : "");
	return dir_done(c, &d, d.name, lg, msg);
}

/* Where a peer's key on record came from: "given" (an administrator's
 * --key) or "first-use" (learnt, trust on first use); "none" yet. */
static const char *peer_key_source(const struct store_peer *p)
{
	return !p->has_key ? "none" : p->pinned ? "given" : "first-use";
}

/* peer set: an administrator corrects an address or (re)pins a key. */
int cmd_peer_set(struct ctl *c, int argc, const char *const argv[], char *msg,
		 size_t msglen)
{
	char lg[ADMIN_MSG_MAX];
	char fb[FINGERPRINT_STR];
	struct store_peer p;
	struct dirspec_cmd d;
	int rc;

	rc = dir_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	if ((rc = store_peer_show(c->store, d.name, &p, msg, msglen)) < 0)
		return rc;
	/* a key given here is the administrator's: pinned; otherwise as it was */
	rc = store_peer_set(c->store, d.name, d.has_key ? d.key : NULL, d.addr,
			    d.has_key || p.pinned, msg, msglen);
	if (rc < 0)
		return rc;
	if (d.has_key)
		fingerprint(d.key, fb);
	snprintf(lg, sizeof(lg), "peer set %s%s%s%s%s", d.name, d.addr ? " addr " : "",
		 d.addr ? d.addr : "", d.has_key ? " pinned key fingerprint " : "",
		 d.has_key ? fb : "");
	snprintf(msg, msglen, "peer %s:%s%s%s%s", d.name, d.addr ? " address " : "",
		 d.addr ? d.addr : "", d.has_key ? " key pinned, fingerprint " : "",
		 d.has_key ? fb : "");
	return dir_done(c, &d, d.name, lg, msg);
}

int cmd_peer_list(struct ctl *c, int argc, const char *const argv[], char *msg,
		  size_t msglen)
{
	struct rows r = { .size = sizeof(struct store_peer) };
	char fb[FINGERPRINT_STR], kb[KEY_B64_STR], tb[KEYSPEC_TIME_STR], ub[KEYSPEC_TIME_STR];
	struct dirspec_cmd d;
	size_t i;
	int rc;

	rc = dir_parse(c, argc, argv, &d, msg, msglen);
	if (rc < 0)
		return rc;
	rc = store_peer_list(c->store, push_peer, &r, msg, msglen);
	if (rc < 0)
		goto out;
	if (d.json)
		admin_out_printf(&c->out, "[");
	else
		admin_out_printf(&c->out, "%-32s %-39s %-10s %s\n", "PEER", "FINGERPRINT",
				 "KEY", "ADDRESS");
	for (i = 0; i < r.n; i++) {
		const struct store_peer *p = (const struct store_peer *)r.v + i;

		if (p->has_key)
			fingerprint(p->public_key, fb);
		if (!d.json) {
			admin_out_printf(&c->out, "%-32s %-39s %-10s %s\n", p->id,
					 p->has_key ? fb : "(none yet)", peer_key_source(p),
					 p->address);
			continue;
		}
		admin_out_printf(&c->out, "%s\n  {\"id\": ", i ? "," : "");
		json_str(&c->out, p->id);
		admin_out_printf(&c->out, ", \"address\": ");
		json_str(&c->out, p->address);
		if (p->has_key)
			admin_out_printf(&c->out, ", \"public_key\": \"%s\", \"fingerprint\": "
					 "\"%s\"", key_b64(p->public_key, kb), fb);
		else
			admin_out_printf(&c->out, ", \"public_key\": null, \"fingerprint\": null");
		/* pinned: a key is on record and every call must match it, whether
		 * an administrator gave it or it was learnt on first use */
		admin_out_printf(&c->out, ", \"pinned\": %s, \"key_source\": ",
				 p->has_key ? "true" : "false");
		if (p->has_key)
			admin_out_printf(&c->out, "\"%s\"", peer_key_source(p));
		else
			admin_out_printf(&c->out, "null");
		admin_out_printf(&c->out, ", \"created\": \"%s\", \"updated\": \"%s\"}",
				 unix_time(p->created, tb), unix_time(p->updated, ub));
	}
	list_end(c, d.json, r.n);
	msg[0] = '\0';
out:
	free(r.v);
	return list_failed(rc, "peers", msg, msglen);
}
