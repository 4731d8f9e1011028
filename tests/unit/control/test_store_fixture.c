/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The store tests' fixture and helpers: a fresh store in its own temporary
 * directory per test (setup, teardown, reopen), collectors for every list
 * callback, and shorthands that add users, groups, policies, memberships,
 * assignments and calls.
 */
#include "test_store.h"

static char err[STORE_ERR_MAX];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

int setup(void **state)
{
	struct fixture *f = calloc(1, sizeof(*f));

	if (!f || sodium_init() < 0)
		return -1;
	snprintf(f->root, sizeof(f->root), "/tmp/callseal-store-XXXXXX");
	if (!mkdtemp(f->root))
		return -1;
	snprintf(f->dir, sizeof(f->dir), "%s/state", f->root);
	if (store_open(f->dir, TENANT, STORE_OPEN_CREATE, &f->st, err, sizeof(err)) != 0) {
		fprintf(stderr, "store_open: %s\n", err);
		return -1;
	}
	*state = f;
	return 0;
}

int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

void reopen(struct fixture *f, const char *tenant)
{
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->dir, tenant, 0, &f->st, err, sizeof(err)), 0);
}

/* ---- list collectors ---------------------------------------------------- */

static void add_name(struct names *l, const char *s)
{
	size_t n = strlen(l->buf);

	snprintf(l->buf + n, sizeof(l->buf) - n, "%s%s", l->n++ ? "," : "", s);
}

int collect_name(const char *name, void *arg)
{
	add_name(arg, name);
	return 0;
}

int collect_user(const struct store_user *u, void *arg)
{
	add_name(arg, u->name);
	return 0;
}

int collect_group(const struct store_group *g, void *arg)
{
	char s[96];

	snprintf(s, sizeof(s), "%s:%u", g->name, g->members);
	add_name(arg, s);
	return 0;
}

int collect_policy(const struct store_policy *p, void *arg)
{
	char s[128];

	snprintf(s, sizeof(s), "%s:%s:%u", p->name, policy_setting_name(p->e2ee),
		 p->assignments);
	add_name(arg, s);
	return 0;
}

int collect_assignment(const struct store_assignment *a, void *arg)
{
	char s[160];

	snprintf(s, sizeof(s), "%s/%s=%s", store_target_name(a->target), a->name, a->policy);
	add_name(arg, s);
	return 0;
}

int collect_peer(const struct store_peer *p, void *arg)
{
	char s[STORE_PEER_MAX + STORE_ADDR_MAX + 16];

	snprintf(s, sizeof(s), "%s:%s:%d:%d", p->id, p->address, p->has_key, p->pinned);
	add_name(arg, s);
	return 0;
}

int collect_call(const struct store_call *c, void *arg)
{
	char s[64];

	snprintf(s, sizeof(s), "%s:%s", c->id, store_call_state_name(c->state));
	add_name(arg, s);
	return 0;
}

int stop_at_first(const char *name, void *arg)
{
	(void)name;
	(*(int *)arg)++;
	return 42;
}

int stop_user(const struct store_user *u, void *arg)
{
	(void)u;
	(*(int *)arg)++;
	return 7;
}

/* ---- helpers ---------------------------------------------------------------- */

void add_user(struct fixture *f, const char *name)
{
	assert_int_equal(store_user_add(f->st, name, err, sizeof(err)), 0);
}

void add_group(struct fixture *f, const char *name)
{
	assert_int_equal(store_group_add(f->st, name, err, sizeof(err)), 0);
}

void add_policy(struct fixture *f, const char *name, enum policy_setting s)
{
	assert_int_equal(store_policy_add(f->st, name, s, err, sizeof(err)), 0);
}

void member(struct fixture *f, const char *group, const char *user)
{
	assert_int_equal(store_group_member_add(f->st, group, user, err, sizeof(err)), 0);
}

void assign(struct fixture *f, enum store_target t, const char *name, const char *p)
{
	assert_int_equal(store_assign(f->st, t, name, p, err, sizeof(err)), 0);
}

void make_call(struct store_call *c, const char *id, const char *user)
{
	memset(c, 0, sizeof(*c));
	snprintf(c->id, sizeof(c->id), "%s", id);
	snprintf(c->local_user, sizeof(c->local_user), "%s", user);
	snprintf(c->remote, sizeof(c->remote), "bob@fabrikam");
	c->role = STORE_ROLE_INITIATOR;
	c->mode = STORE_MODE_PENDING;
	c->state = STORE_CALL_SETUP;
	snprintf(c->local_media, sizeof(c->local_media), "192.0.2.1:40000");
}

void bad_names_refused(int (*fn)(struct store *, const char *, char *, size_t),
		       struct store *st)
{
	char long65[66], long64[65];
	static const char *const bad[] = { "", "a b", "a/b", "a@b", "é", "a\nb", "x;DROP",
					   "'", "a:b", "a*" };
	size_t i;

	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_int_equal(fn(st, bad[i], err, sizeof(err)), -EINVAL);
	assert_int_equal(fn(st, NULL, err, sizeof(err)), -EINVAL);
	memset(long65, 'a', 65);
	long65[65] = '\0';
	assert_int_equal(fn(st, long65, err, sizeof(err)), -EINVAL);
	memset(long64, 'b', 64);
	long64[64] = '\0';
	assert_int_equal(fn(st, long64, err, sizeof(err)), 0);
}
