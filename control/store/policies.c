/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * policies.c - policies, their assignments to the tenant, groups and users,
 * and a user's effective policy: gathered here, resolved by policy.c, and
 * checked when the user turns their own end-to-end setting on.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "errbuf.h"
#include "policy.h"
#include "store.h"
#include "store_internal.h"

#define SQL_POLICY_EXISTS "SELECT count(*) FROM policies WHERE name = ?1"

static int need_policy(struct store *st, const char *name, char *err, size_t errlen)
{
	int rc = store_check_name("policy", name, err, errlen);

	if (rc == 0)
		rc = store_exists(st, SQL_POLICY_EXISTS, name, err, errlen);
	if (rc == 0) {
		errbuf_set(err, errlen, "no policy '%s'", name);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

/* ---- effective policy --------------------------------------------------- */

/* One assignment row (policy name, setting) into a. */
static int assignment_row(sqlite3_stmt *s, int col, struct policy_assignment *a)
{
	store_col_text(s, col, a->policy, sizeof(a->policy));
	return policy_setting_parse((const char *)sqlite3_column_text(s, col + 1), &a->setting,
				    NULL, 0) < 0 ? -EIO : 0;
}

#define SQL_ASSIGNED \
	"SELECT a.policy, p.e2ee FROM assignments a JOIN policies p ON p.name = a.policy " \
	"WHERE a.kind = ?1 AND a.target = ?2"

/* 1 found, 0 none, -errno. */
static int get_assigned(struct store *st, const char *kind, const char *target,
			struct policy_assignment *a, char *err, size_t errlen)
{
	sqlite3_stmt *s;
	int rc;

	memset(a, 0, sizeof(*a));
	if ((rc = store_qprep(st, &s, err, errlen, SQL_ASSIGNED, "ss", kind, target)) < 0)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		rc = assignment_row(s, 0, a) < 0 ? -EIO : 1;
		if (rc < 0)
			errbuf_set(err, errlen, "policy '%s': stored setting is damaged", a->policy);
	} else {
		rc = rc == SQLITE_DONE ? 0 : store_dberr(st, rc, "assignment", err, errlen);
	}
	store_release(st, s);
	return rc;
}

/* Inside a transaction: gather, resolve, and build the intent. */
static int effective(struct store *st, const char *name, struct store_effective *out,
		     char *err, size_t errlen)
{
	struct policy_assignment ua, ta, *groups = NULL, *g;
	struct policy_inputs in = { 0 };
	char who[POLICY_WHO_MAX + 1];
	size_t cap = 0;
	sqlite3_stmt *s = NULL;
	int64_t on, comp;
	int rc;

	memset(out, 0, sizeof(*out));
	if ((rc = store_need_user(st, name, err, errlen)) < 0)
		return rc;
	if ((rc = get_assigned(st, "user", name, &ua, err, errlen)) < 0)
		return rc;
	if (rc)
		in.user = &ua;
	if ((rc = get_assigned(st, "tenant", "", &ta, err, errlen)) < 0)
		return rc;
	if (rc)
		in.tenant = &ta;

	rc = store_qprep(st, &s, err, errlen,
			 "SELECT m.grp, a.policy, p.e2ee FROM memberships m "
			 "JOIN assignments a ON a.kind = 'group' AND a.target = m.grp "
			 "JOIN policies p ON p.name = a.policy WHERE m.user = ?1 ORDER BY m.grp",
			 "s", name);
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		if (in.n_groups == cap) {
			size_t ncap = cap ? 2 * cap : 8;

			g = realloc(groups, ncap * sizeof(*groups));
			if (!g) {
				errbuf_set(err, errlen, "store: out of memory");
				rc = -ENOMEM;
				goto out;
			}
			groups = g;
			cap = ncap;
		}
		g = &groups[in.n_groups];
		memset(g, 0, sizeof(*g));
		store_col_text(s, 0, g->group, sizeof(g->group));
		if (assignment_row(s, 1, g) < 0) {
			errbuf_set(err, errlen, "policy '%s': stored setting is damaged", g->policy);
			rc = -EIO;
			goto out;
		}
		in.n_groups++;
	}
	if (rc != SQLITE_DONE) {
		rc = store_dberr(st, rc, "group assignments", err, errlen);
		goto out;
	}
	in.groups = groups;

	on = store_qint(st, err, errlen, "SELECT coalesce((SELECT e2ee FROM user_settings WHERE "
			"user = ?1), 0)", "s", name);
	if (on < 0) {
		rc = (int)on;
		goto out;
	}
	out->user_on = on != 0;
	if (policy_resolve(&in, &out->policy) < 0) {
		errbuf_set(err, errlen, "policy: cannot resolve");
		rc = -EIO;
		goto out;
	}
	comp = store_qint(st, err, errlen, "SELECT count(*) FROM compliance_recording WHERE "
			  "user = ?1", "s", name);
	if (comp < 0) {
		rc = (int)comp;
		goto out;
	}
	out->compliance = comp != 0;
	snprintf(who, sizeof(who), "%s@%s", name, st->tenant);
	/* compliance recording overrides the policy and the own setting */
	rc = out->compliance ? policy_intent_compliance(who, &out->intent) :
	     policy_intent(&out->policy, out->user_on, who, &out->intent);
out:
	store_release(st, s);
	free(groups);
	return rc;
}

int store_user_effective_policy(struct store *st, const char *name,
				struct store_effective *out, char *err, size_t errlen)
{
	int rc;

	if (!st || !out || !name)
		return -EINVAL;
	if (store_cache_get(st, STORE_CACHE_EFFECTIVE, name, out))
		return 0;                        /* no change since it was read */
	/* A read transaction: one consistent snapshot over the queries. */
	if ((rc = store_begin_read(st, err, errlen)) < 0)
		return rc;
	rc = effective(st, name, out, err, errlen);
	rc = store_finish(st, rc, err, errlen);
	if (rc == 0)
		store_cache_put(st, STORE_CACHE_EFFECTIVE, name, out);
	return rc;
}

int store_user_set_e2ee(struct store *st, const char *name, bool on, char *err, size_t errlen)
{
	struct store_effective eff;
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_check_name("user", name, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	if ((rc = effective(st, name, &eff, err, errlen)) < 0)
		goto out;
	if (on && eff.compliance) {
		errbuf_set(err, errlen, "%s: end-to-end encryption cannot be turned on while it "
			   "does (user set %s --compliance-recording off first)",
			   eff.intent.reason, name);
		rc = -EPERM;
		goto out;
	}
	if (on && !eff.intent.allowed) {
		const struct policy_effective *p = &eff.policy;

		errbuf_set(err, errlen, "%s: ", eff.intent.reason);
		if (p->source == POLICY_SRC_NONE)
			store_adderr(err, errlen, "no policy is assigned, and it is off by default");
		else if (p->source == POLICY_SRC_TENANT)
			store_adderr(err, errlen, "policy '%s' (disabled) is assigned to the tenant",
				     p->policy);
		else if (p->source == POLICY_SRC_GROUP)
			store_adderr(err, errlen, "policy '%s' (disabled) is assigned to group '%s'",
				     p->policy, p->group);
		else
			store_adderr(err, errlen, "policy '%s' (disabled) is assigned to the user",
				     p->policy);
		rc = -EPERM;
		goto out;
	}
	rc = store_run(st, err, errlen, "INSERT INTO user_settings (user, e2ee, updated) "
		       "VALUES (?1, ?2, ?3) ON CONFLICT (user) DO UPDATE SET e2ee = excluded.e2ee, "
		       "updated = excluded.updated", "sii", name, (int64_t)(on ? 1 : 0), store_now());
out:
	return store_finish(st, rc, err, errlen);
}

int store_user_set_compliance(struct store *st, const char *name, bool on, char *err,
			      size_t errlen)
{
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_check_name("user", name, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	if ((rc = store_need_user(st, name, err, errlen)) < 0)
		goto out;
	if (on)
		rc = store_run(st, err, errlen, "INSERT INTO compliance_recording (user, updated) "
			       "VALUES (?1, ?2) ON CONFLICT (user) DO UPDATE SET "
			       "updated = excluded.updated", "si", name, store_now());
	else
		rc = store_run(st, err, errlen, "DELETE FROM compliance_recording WHERE user = ?1",
			       "s", name);
out:
	return store_finish(st, rc, err, errlen);
}

/* ---- policies -------------------------------------------------------------- */

static int check_setting(enum policy_setting e2ee, char *err, size_t errlen)
{
	if (!policy_setting_name(e2ee)) {
		errbuf_set(err, errlen, "e2ee setting: not one of disabled, users-can-turn-on");
		return -EINVAL;
	}
	return 0;
}

int store_policy_add(struct store *st, const char *name, enum policy_setting e2ee,
		     char *err, size_t errlen)
{
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_check_new_name("policy", name, err, errlen)) < 0 ||
	    (rc = check_setting(e2ee, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	rc = store_exists(st, SQL_POLICY_EXISTS, name, err, errlen);
	if (rc > 0) {
		errbuf_set(err, errlen, "policy '%s' already exists", name);
		rc = -EEXIST;
	}
	if (rc >= 0)
		rc = store_run(st, err, errlen, "INSERT INTO policies (name, e2ee, created) VALUES "
			       "(?1, ?2, ?3)", "ssi", name, policy_setting_name(e2ee), store_now());
	return store_finish(st, rc, err, errlen);
}

int store_policy_set(struct store *st, const char *name, enum policy_setting e2ee,
		     char *err, size_t errlen)
{
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_check_name("policy", name, err, errlen)) < 0 ||
	    (rc = check_setting(e2ee, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	rc = need_policy(st, name, err, errlen);
	if (rc >= 0)
		rc = store_run(st, err, errlen, "UPDATE policies SET e2ee = ?2 WHERE name = ?1", "ss",
			       name, policy_setting_name(e2ee));
	return store_finish(st, rc, err, errlen);
}

int store_policy_del(struct store *st, const char *name, char *err, size_t errlen)
{
	char target[STORE_NAME_MAX + 1], kind[8];
	sqlite3_stmt *s = NULL;
	int n = 0, rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_check_name("policy", name, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	if ((rc = need_policy(st, name, err, errlen)) < 0)
		goto out;
	/*
	 * Refused while assigned: removing a policy that targets rely on would
	 * silently change their effective setting. Name where it is assigned.
	 */
	rc = store_qprep(st, &s, err, errlen, "SELECT kind, target FROM assignments WHERE policy = ?1 "
			 "ORDER BY CASE kind WHEN 'tenant' THEN 0 WHEN 'group' THEN 1 ELSE 2 END, target",
			 "s", name);
	if (rc < 0)
		goto out;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		store_col_text(s, 0, kind, sizeof(kind));
		store_col_text(s, 1, target, sizeof(target));
		if (n == 0)
			errbuf_set(err, errlen, "policy '%s' is assigned to ", name);
		if (n < 4) {
			if (strcmp(kind, "tenant") == 0)
				store_adderr(err, errlen, "%sthe tenant", n ? ", " : "");
			else
				store_adderr(err, errlen, "%s%s '%s'", n ? ", " : "", kind, target);
		}
		n++;
	}
	if (rc != SQLITE_DONE) {
		rc = store_dberr(st, rc, "policy assignments", err, errlen);
		goto out;
	}
	if (n > 0) {
		if (n > 4)
			store_adderr(err, errlen, " and %d more", n - 4);
		store_adderr(err, errlen, ": unassign it first");
		rc = -EBUSY;
		goto out;
	}
	rc = store_run(st, err, errlen, "DELETE FROM policies WHERE name = ?1", "s", name);
out:
	store_release(st, s);
	return store_finish(st, rc, err, errlen);
}

#define SQL_POLICY_ROW \
	"SELECT p.name, p.created, p.e2ee, " \
	"(SELECT count(*) FROM assignments a WHERE a.policy = p.name) FROM policies p"

static int policy_row(sqlite3_stmt *s, void *rec)
{
	struct store_policy *p = rec;

	memset(p, 0, sizeof(*p));
	store_col_text(s, 0, p->name, sizeof(p->name));
	p->created = sqlite3_column_int64(s, 1);
	p->assignments = (unsigned int)sqlite3_column_int64(s, 3);
	return policy_setting_parse((const char *)sqlite3_column_text(s, 2), &p->e2ee,
				    NULL, 0) < 0 ? -EIO : 0;
}

static const struct rec_kind policy_kind = {
	.type = REC_POLICY, .what = "policy", .damaged = "stored setting is damaged",
	.by_key = SQL_POLICY_ROW " WHERE p.name = ?1", .all = SQL_POLICY_ROW " ORDER BY p.name",
	.decode = policy_row, .name_off = offsetof(struct store_policy, name),
};

int store_policy_show(struct store *st, const char *name, struct store_policy *out,
		      char *err, size_t errlen)
{
	int rc;

	if (!st || !out)
		return -EINVAL;
	if ((rc = store_check_name("policy", name, err, errlen)) < 0)
		return rc;
	return store_show_rec(st, &policy_kind, name, out, err, errlen);
}

int store_policy_list(struct store *st, store_policy_fn fn, void *arg, char *err, size_t errlen)
{
	struct store_policy p;

	if (!st || !fn)
		return -EINVAL;
	return store_list_all(st, &policy_kind, &p, (union rec_fn){ .policy = fn }, arg, err, errlen);
}

/* ---- assignments ---------------------------------------------------------- */

static int target_from_name(const char *s, enum store_target *t)
{
	static const enum store_target all[] = { STORE_TARGET_TENANT, STORE_TARGET_GROUP,
						 STORE_TARGET_USER };
	size_t i;

	for (i = 0; s && i < sizeof(all) / sizeof(all[0]); i++)
		if (strcmp(s, store_target_name(all[i])) == 0) {
			*t = all[i];
			return 0;
		}
	return -EIO;
}

/* Check a target and give its stored form (kind text, target text). */
static int check_target(struct store *st, enum store_target target, const char *name,
			bool must_exist, const char **kind, const char **key,
			char *err, size_t errlen)
{
	*kind = store_target_name(target);
	if (!*kind) {
		errbuf_set(err, errlen, "assignment target: not one of tenant, group, user");
		return -EINVAL;
	}
	if (target == STORE_TARGET_TENANT) {
		if (name && *name && strcmp(name, st->tenant) != 0) {
			errbuf_set(err, errlen, "assignment target: this store is tenant '%s'",
			       st->tenant);
			return -EINVAL;
		}
		*key = "";
		return 0;
	}
	*key = name;
	if (target == STORE_TARGET_GROUP)
		return must_exist ? store_need_group(st, name, err, errlen)
				  : store_check_name("group", name, err, errlen);
	return must_exist ? store_need_user(st, name, err, errlen)
			  : store_check_name("user", name, err, errlen);
}

int store_assign(struct store *st, enum store_target target, const char *name,
		 const char *policy, char *err, size_t errlen)
{
	const char *kind, *key;
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_check_name("policy", policy, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	if ((rc = check_target(st, target, name, true, &kind, &key, err, errlen)) < 0 ||
	    (rc = need_policy(st, policy, err, errlen)) < 0)
		goto out;
	/* At most one policy per target: a new assignment replaces the old. */
	rc = store_run(st, err, errlen, "INSERT INTO assignments (kind, target, policy, created) "
		       "VALUES (?1, ?2, ?3, ?4) ON CONFLICT (kind, target) DO UPDATE SET "
		       "policy = excluded.policy, created = excluded.created",
		       "sssi", kind, key, policy, store_now());
out:
	return store_finish(st, rc, err, errlen);
}

int store_unassign(struct store *st, enum store_target target, const char *name,
		   char *err, size_t errlen)
{
	const char *kind, *key;
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	if ((rc = check_target(st, target, name, true, &kind, &key, err, errlen)) < 0)
		goto out;
	rc = store_run(st, err, errlen, "DELETE FROM assignments WHERE kind = ?1 AND target = ?2",
		       "ss", kind, key);
	if (rc == 0) {
		if (target == STORE_TARGET_TENANT)
			errbuf_set(err, errlen, "no policy is assigned to the tenant");
		else
			errbuf_set(err, errlen, "no policy is assigned to %s '%s'", kind, key);
		rc = -ENOENT;
	}
out:
	return store_finish(st, rc, err, errlen);
}

int store_assignment_get(struct store *st, enum store_target target, const char *name,
			 char policy[STORE_NAME_MAX + 1], char *err, size_t errlen)
{
	struct policy_assignment a;
	const char *kind, *key;
	int rc;

	if (!st || !policy)
		return -EINVAL;
	policy[0] = '\0';
	if ((rc = check_target(st, target, name, false, &kind, &key, err, errlen)) < 0)
		return rc;
	rc = get_assigned(st, kind, key, &a, err, errlen);
	if (rc == 0) {
		if (target == STORE_TARGET_TENANT)
			errbuf_set(err, errlen, "no policy is assigned to the tenant");
		else
			errbuf_set(err, errlen, "no policy is assigned to %s '%s'", kind, key);
		return -ENOENT;
	}
	if (rc < 0)
		return rc;
	memcpy(policy, a.policy, sizeof(a.policy));
	return 0;
}

int store_assignment_list(struct store *st, store_assignment_fn fn, void *arg,
			  char *err, size_t errlen)
{
	struct store_assignment a;
	char kind[8];
	sqlite3_stmt *s;
	int rc;

	if (!st || !fn)
		return -EINVAL;
	rc = store_qprep(st, &s, err, errlen, "SELECT kind, target, policy FROM assignments ORDER BY "
			 "CASE kind WHEN 'tenant' THEN 0 WHEN 'group' THEN 1 ELSE 2 END, target", "");
	if (rc < 0)
		return rc;
	while ((rc = sqlite3_step(s)) == SQLITE_ROW) {
		memset(&a, 0, sizeof(a));
		store_col_text(s, 0, kind, sizeof(kind));
		if (target_from_name(kind, &a.target) < 0) {
			errbuf_set(err, errlen, "assignments: stored target kind is damaged");
			rc = -EIO;
			goto out;
		}
		store_col_text(s, 1, a.name, sizeof(a.name));
		store_col_text(s, 2, a.policy, sizeof(a.policy));
		if ((rc = fn(&a, arg)) != 0)
			goto out;
	}
	rc = rc == SQLITE_DONE ? 0 : store_dberr(st, rc, "assignment list", err, errlen);
out:
	store_release(st, s);
	return rc;
}
