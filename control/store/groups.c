/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * groups.c - groups and their memberships.
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "errbuf.h"
#include "store.h"
#include "store_internal.h"

/* ---- groups -------------------------------------------------------------- */

#define SQL_GROUP_EXISTS  "SELECT count(*) FROM usergroups WHERE name = ?1"

int store_need_group(struct store *st, const char *name, char *err, size_t errlen)
{
	int rc = store_check_name("group", name, err, errlen);

	if (rc == 0)
		rc = store_exists(st, SQL_GROUP_EXISTS, name, err, errlen);
	if (rc == 0) {
		errbuf_set(err, errlen, "no group '%s'", name);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

int store_group_add(struct store *st, const char *name, char *err, size_t errlen)
{
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_check_new_name("group", name, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	rc = store_exists(st, SQL_GROUP_EXISTS, name, err, errlen);
	if (rc > 0) {
		errbuf_set(err, errlen, "group '%s' already exists", name);
		rc = -EEXIST;
	}
	if (rc >= 0)
		rc = store_run(st, err, errlen, "INSERT INTO usergroups (name, created) VALUES (?1, ?2)",
			       "si", name, store_now());
	return store_finish(st, rc, err, errlen);
}

int store_group_del(struct store *st, const char *name, char *err, size_t errlen)
{
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_check_name("group", name, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	rc = store_need_group(st, name, err, errlen);
	/* Memberships cascade; the assignment goes by trigger. */
	if (rc >= 0)
		rc = store_run(st, err, errlen, "DELETE FROM usergroups WHERE name = ?1", "s", name);
	return store_finish(st, rc, err, errlen);
}

#define SQL_GROUP_ROW \
	"SELECT g.name, g.created, " \
	"(SELECT count(*) FROM memberships m WHERE m.grp = g.name) FROM usergroups g"

static int group_row(sqlite3_stmt *s, void *rec)
{
	struct store_group *g = rec;

	memset(g, 0, sizeof(*g));
	store_col_text(s, 0, g->name, sizeof(g->name));
	g->created = sqlite3_column_int64(s, 1);
	g->members = (unsigned int)sqlite3_column_int64(s, 2);
	return 0;
}

static const struct rec_kind group_kind = {
	.type = REC_GROUP, .what = "group", .damaged = "stored row is damaged",
	.by_key = SQL_GROUP_ROW " WHERE g.name = ?1", .all = SQL_GROUP_ROW " ORDER BY g.name",
	.decode = group_row, .name_off = offsetof(struct store_group, name),
};

int store_group_show(struct store *st, const char *name, struct store_group *out,
		     char *err, size_t errlen)
{
	int rc;

	if (!st || !out)
		return -EINVAL;
	if ((rc = store_check_name("group", name, err, errlen)) < 0)
		return rc;
	return store_show_rec(st, &group_kind, name, out, err, errlen);
}

int store_group_list(struct store *st, store_group_fn fn, void *arg, char *err, size_t errlen)
{
	struct store_group g;

	if (!st || !fn)
		return -EINVAL;
	return store_list_all(st, &group_kind, &g, (union rec_fn){ .group = fn }, arg, err, errlen);
}

/* Both names checked, a transaction begun, and both the group and the user
 * there: 0 inside the transaction, or -errno with none open. */
static int membership_begin(struct store *st, const char *group, const char *user,
			    char *err, size_t errlen)
{
	int rc;

	if ((rc = store_check_name("group", group, err, errlen)) < 0 ||
	    (rc = store_check_name("user", user, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	if ((rc = store_need_group(st, group, err, errlen)) < 0 ||
	    (rc = store_need_user(st, user, err, errlen)) < 0)
		return store_finish(st, rc, err, errlen);
	return 0;
}

int store_group_member_add(struct store *st, const char *group, const char *user,
			   char *err, size_t errlen)
{
	int64_t n;
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = membership_begin(st, group, user, err, errlen)) < 0)
		return rc;
	n = store_qint(st, err, errlen, "SELECT count(*) FROM memberships WHERE grp = ?1 AND user = ?2",
		       "ss", group, user);
	if (n != 0) {
		if (n > 0)
			errbuf_set(err, errlen, "user '%s' is already in group '%s'", user, group);
		rc = n > 0 ? -EEXIST : (int)n;
		goto out;
	}
	rc = store_run(st, err, errlen, "INSERT INTO memberships (grp, user, created) VALUES "
		       "(?1, ?2, ?3)", "ssi", group, user, store_now());
out:
	return store_finish(st, rc, err, errlen);
}

int store_group_member_del(struct store *st, const char *group, const char *user,
			   char *err, size_t errlen)
{
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = membership_begin(st, group, user, err, errlen)) < 0)
		return rc;
	rc = store_run(st, err, errlen, "DELETE FROM memberships WHERE grp = ?1 AND user = ?2", "ss",
		       group, user);
	if (rc == 0) {
		errbuf_set(err, errlen, "user '%s' is not in group '%s'", user, group);
		rc = -ENOENT;
	}
	return store_finish(st, rc, err, errlen);
}

int store_group_members(struct store *st, const char *group, store_name_fn fn, void *arg,
			char *err, size_t errlen)
{
	int rc;

	if (!st || !fn)
		return -EINVAL;
	if ((rc = store_need_group(st, group, err, errlen)) < 0)
		return rc;
	return store_walk_names(st, fn, arg, "SELECT user FROM memberships WHERE grp = ?1 "
				"ORDER BY user", group, err, errlen);
}
