/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control/store/store.c, the directory: every operation and refusal on users
 * (and their identity keys), groups, memberships, policies, assignments and
 * the users' own e2ee setting; the effective policy; that no list or show
 * ever returns a private key, and that a deleted user's key does not stay in
 * the database file.
 */
#include "test_store.h"

static char err[STORE_ERR_MAX];

/* ---- users and keys -------------------------------------------------------------- */

void test_users(void **state)
{
	struct fixture *f = *state;
	struct store_user u, v;
	struct names l = { 0 };
	uint8_t priv[STORE_PRIVATE_KEY_BYTES], pub[STORE_PUBLIC_KEY_BYTES];
	int calls = 0;

	bad_names_refused(store_user_add, f->st);   /* adds a 64-char user */
	add_user(f, "carol");
	add_user(f, "alice");
	add_user(f, "bob");
	assert_int_equal(store_user_add(f->st, "alice", err, sizeof(err)), -EEXIST);
	assert_non_null(strstr(err, "already exists"));
	/* names are case-sensitive */
	add_user(f, "Alice");

	assert_int_equal(store_user_list(f->st, collect_user, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "Alice,alice,"
			    "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb,"
			    "bob,carol");
	/* a callback's non-zero return stops the walk and is returned */
	assert_int_equal(store_user_list(f->st, stop_user, &calls, err, sizeof(err)), 7);
	assert_int_equal(calls, 1);

	assert_int_equal(store_user_show(f->st, "alice", &u, err, sizeof(err)), 0);
	assert_string_equal(u.name, "alice");
	assert_false(u.e2ee_on);
	assert_true(u.created > 0);
	assert_int_equal(store_user_show(f->st, "nobody", &u, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no user 'nobody'"));
	assert_int_equal(store_user_show(f->st, "a b", &u, err, sizeof(err)), -EINVAL);

	/* the identity key: a real X25519 pair, one per user */
	assert_int_equal(store_user_private_key(f->st, "alice", priv, NULL, err, sizeof(err)), 0);
	assert_int_equal(crypto_scalarmult_base(pub, priv), 0);
	assert_memory_equal(pub, u.public_key, sizeof(pub));
	/* with the stored public key: the same row, the pair the agreement uses */
	memset(pub, 0, sizeof(pub));
	assert_int_equal(store_user_private_key(f->st, "alice", priv, pub, err, sizeof(err)), 0);
	assert_memory_equal(pub, u.public_key, sizeof(pub));
	assert_int_equal(store_user_show(f->st, "bob", &v, err, sizeof(err)), 0);
	assert_memory_not_equal(u.public_key, v.public_key, sizeof(pub));
	assert_int_equal(store_user_private_key(f->st, "bob", priv, pub, err, sizeof(err)), 0);
	assert_memory_equal(pub, v.public_key, sizeof(pub));
	{
		uint8_t d[sizeof(pub)];

		assert_int_equal(crypto_scalarmult_base(d, priv), 0);
		assert_memory_equal(d, pub, sizeof(d));
	}
	sodium_memzero(priv, sizeof(priv));
	assert_int_equal(store_user_private_key(f->st, "nobody", priv, NULL, err, sizeof(err)),
			 -ENOENT);
	assert_true(sodium_is_zero(priv, sizeof(priv)));
	assert_int_equal(store_user_private_key(f->st, "", priv, NULL, err, sizeof(err)), -EINVAL);

	/* delete */
	assert_int_equal(store_user_del(f->st, "carol", err, sizeof(err)), 0);
	assert_int_equal(store_user_del(f->st, "carol", err, sizeof(err)), -ENOENT);
	assert_int_equal(store_user_del(f->st, "bad/name", err, sizeof(err)), -EINVAL);
	assert_int_equal(store_user_show(f->st, "carol", &u, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_user_private_key(f->st, "carol", priv, NULL, err, sizeof(err)),
			 -ENOENT);
	/* added again: a new key */
	add_user(f, "carol");

	/* NULL arguments */
	assert_int_equal(store_user_add(NULL, "x", err, sizeof(err)), -EINVAL);
	assert_int_equal(store_user_show(f->st, "alice", NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(store_user_list(f->st, NULL, NULL, err, sizeof(err)), -EINVAL);
	/* err may be NULL */
	assert_int_equal(store_user_add(f->st, "alice", NULL, 0), -EEXIST);
}

/* The private key is in no list or show output, and in no message. */
struct keyscan {
	uint8_t priv[STORE_PRIVATE_KEY_BYTES];
	int hits, rows;
};

static int scan_user(const struct store_user *u, void *arg)
{
	struct keyscan *k = arg;

	k->rows++;
	if (memmem(u, sizeof(*u), k->priv, sizeof(k->priv)))
		k->hits++;
	return 0;
}

void test_private_key_not_listed(void **state)
{
	struct fixture *f = *state;
	struct store_effective eff;
	struct store_user u;
	struct store_call c;
	struct keyscan k = { 0 };

	add_user(f, "alice");
	add_group(f, "sales");
	member(f, "sales", "alice");
	make_call(&c, "call-1", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_user_private_key(f->st, "alice", k.priv, NULL, err, sizeof(err)), 0);
	assert_false(sodium_is_zero(k.priv, sizeof(k.priv)));

	assert_int_equal(store_user_list(f->st, scan_user, &k, err, sizeof(err)), 0);
	assert_int_equal(k.rows, 1);
	assert_int_equal(store_user_show(f->st, "alice", &u, err, sizeof(err)), 0);
	scan_user(&u, &k);
	assert_int_equal(store_user_effective_policy(f->st, "alice", &eff, err, sizeof(err)), 0);
	assert_null(memmem(&eff, sizeof(eff), k.priv, sizeof(k.priv)));
	assert_int_equal(store_call_get(f->st, "call-1", &c, err, sizeof(err)), 0);
	assert_null(memmem(&c, sizeof(c), k.priv, sizeof(k.priv)));
	assert_null(memmem(err, sizeof(err), k.priv, sizeof(k.priv)));
	assert_int_equal(k.hits, 0);
	/* and no struct has room for it */
	assert_int_equal(sizeof(u.public_key), STORE_PUBLIC_KEY_BYTES);
	sodium_memzero(k.priv, sizeof(k.priv));
}

/* The database file and its WAL (callseal.db-wal, empty or absent when
 * checkpointed), read into buf one after the other: the bytes read. */
static size_t read_db_files(const char *dir, uint8_t *buf, size_t cap)
{
	static const char *const names[] = { STORE_DB_NAME, STORE_DB_NAME "-wal" };
	char path[PATH_MAX];
	size_t got = 0;

	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		ssize_t n;
		int fd;

		snprintf(path, sizeof(path), "%s/%s", dir, names[i]);
		fd = open(path, O_RDONLY);
		if (fd < 0)
			continue;
		while (got < cap && (n = read(fd, buf + got, cap - got)) > 0)
			got += (size_t)n;
		close(fd);
	}
	return got;
}

/* Deleting a user overwrites their private key in the database file and
 * leaves no copy in its WAL. */
void test_deleted_key_not_in_file(void **state)
{
	struct fixture *f = *state;
	uint8_t priv[STORE_PRIVATE_KEY_BYTES];
	static uint8_t buf[4 << 20];
	size_t n;

	add_user(f, "alice");
	add_user(f, "bob");
	assert_int_equal(store_user_private_key(f->st, "alice", priv, NULL, err, sizeof(err)), 0);
	n = read_db_files(f->dir, buf, sizeof(buf));
	assert_true(n > 0 && n < sizeof(buf));
	assert_non_null(memmem(buf, n, priv, sizeof(priv)));  /* where it lives */

	assert_int_equal(store_user_del(f->st, "alice", err, sizeof(err)), 0);
	n = read_db_files(f->dir, buf, sizeof(buf));
	assert_true(n > 0 && n < sizeof(buf));
	assert_null(memmem(buf, n, priv, sizeof(priv)));
	sodium_memzero(priv, sizeof(priv));
}

/* ---- groups ------------------------------------------------------------------------ */

void test_groups(void **state)
{
	struct fixture *f = *state;
	struct store_group g;
	struct names l = { 0 }, m = { 0 }, ug = { 0 };
	int calls = 0;

	bad_names_refused(store_group_add, f->st);
	add_group(f, "sales");
	add_group(f, "eng");
	assert_int_equal(store_group_add(f->st, "sales", err, sizeof(err)), -EEXIST);
	add_user(f, "alice");
	add_user(f, "bob");

	/* memberships; a user may be in several groups */
	member(f, "sales", "alice");
	member(f, "eng", "alice");
	member(f, "sales", "bob");
	assert_int_equal(store_group_member_add(f->st, "sales", "alice", err, sizeof(err)),
			 -EEXIST);
	assert_non_null(strstr(err, "already in group"));
	assert_int_equal(store_group_member_add(f->st, "nogroup", "alice", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "no group 'nogroup'"));
	assert_int_equal(store_group_member_add(f->st, "sales", "nobody", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "no user 'nobody'"));
	assert_int_equal(store_group_member_add(f->st, "sa les", "alice", err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(store_group_member_add(f->st, "sales", "al ice", err, sizeof(err)),
			 -EINVAL);

	assert_int_equal(store_group_members(f->st, "sales", collect_name, &m, err,
					     sizeof(err)), 0);
	assert_string_equal(m.buf, "alice,bob");
	assert_int_equal(store_group_members(f->st, "sales", stop_at_first, &calls, err,
					     sizeof(err)), 42);
	assert_int_equal(store_group_members(f->st, "nogroup", collect_name, &m, err,
					     sizeof(err)), -ENOENT);
	assert_int_equal(store_user_groups(f->st, "alice", collect_name, &ug, err,
					   sizeof(err)), 0);
	assert_string_equal(ug.buf, "eng,sales");
	assert_int_equal(store_user_groups(f->st, "nobody", collect_name, &ug, err,
					   sizeof(err)), -ENOENT);

	assert_int_equal(store_group_show(f->st, "sales", &g, err, sizeof(err)), 0);
	assert_string_equal(g.name, "sales");
	assert_int_equal(g.members, 2);
	assert_int_equal(store_group_show(f->st, "nogroup", &g, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_group_list(f->st, collect_group, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb:0,"
			    "eng:1,sales:2");

	/* leave */
	assert_int_equal(store_group_member_del(f->st, "sales", "bob", err, sizeof(err)), 0);
	assert_int_equal(store_group_member_del(f->st, "sales", "bob", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "not in group"));
	assert_int_equal(store_group_member_del(f->st, "nogroup", "bob", err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(store_group_member_del(f->st, "sales", "nobody", err, sizeof(err)),
			 -ENOENT);

	/* deleting a group removes its memberships, not its users */
	assert_int_equal(store_group_del(f->st, "eng", err, sizeof(err)), 0);
	assert_int_equal(store_group_del(f->st, "eng", err, sizeof(err)), -ENOENT);
	assert_int_equal(store_group_del(f->st, "e ng", err, sizeof(err)), -EINVAL);
	memset(&ug, 0, sizeof(ug));
	assert_int_equal(store_user_groups(f->st, "alice", collect_name, &ug, err,
					   sizeof(err)), 0);
	assert_string_equal(ug.buf, "sales");
	/* deleting a user removes their memberships */
	assert_int_equal(store_user_del(f->st, "alice", err, sizeof(err)), 0);
	assert_int_equal(store_group_show(f->st, "sales", &g, err, sizeof(err)), 0);
	assert_int_equal(g.members, 0);
}

/* ---- policies and assignments ---------------------------------------------------- */

static int add_policy_on(struct store *st, const char *name, char *e, size_t n)
{
	return store_policy_add(st, name, POLICY_E2EE_USERS_CAN_TURN_ON, e, n);
}

void test_policies(void **state)
{
	struct fixture *f = *state;
	struct store_policy p;
	struct names l = { 0 };

	bad_names_refused(add_policy_on, f->st);
	add_policy(f, "strict", POLICY_E2EE_DISABLED);
	add_policy(f, "open", POLICY_E2EE_USERS_CAN_TURN_ON);
	assert_int_equal(store_policy_add(f->st, "open", POLICY_E2EE_DISABLED, err, sizeof(err)),
			 -EEXIST);
	assert_int_equal(store_policy_add(f->st, "odd", (enum policy_setting)9, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "users-can-turn-on"));

	assert_int_equal(store_policy_show(f->st, "strict", &p, err, sizeof(err)), 0);
	assert_string_equal(p.name, "strict");
	assert_int_equal(p.e2ee, POLICY_E2EE_DISABLED);
	assert_int_equal(p.assignments, 0);
	assert_int_equal(store_policy_show(f->st, "nopolicy", &p, err, sizeof(err)), -ENOENT);

	/* change a setting */
	assert_int_equal(store_policy_set(f->st, "strict", POLICY_E2EE_USERS_CAN_TURN_ON, err,
					  sizeof(err)), 0);
	assert_int_equal(store_policy_show(f->st, "strict", &p, err, sizeof(err)), 0);
	assert_int_equal(p.e2ee, POLICY_E2EE_USERS_CAN_TURN_ON);
	assert_int_equal(store_policy_set(f->st, "strict", POLICY_E2EE_DISABLED, err,
					  sizeof(err)), 0);
	assert_int_equal(store_policy_set(f->st, "nopolicy", POLICY_E2EE_DISABLED, err,
					  sizeof(err)), -ENOENT);
	assert_int_equal(store_policy_set(f->st, "strict", (enum policy_setting)3, err,
					  sizeof(err)), -EINVAL);

	/* deleting an assigned policy is refused, naming where it is assigned */
	add_user(f, "alice");
	add_group(f, "sales");
	assign(f, STORE_TARGET_TENANT, NULL, "strict");
	assign(f, STORE_TARGET_GROUP, "sales", "strict");
	assign(f, STORE_TARGET_USER, "alice", "strict");
	assert_int_equal(store_policy_del(f->st, "strict", err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "policy 'strict' is assigned to the tenant, group 'sales', "
			    "user 'alice': unassign it first");
	assert_int_equal(store_policy_show(f->st, "strict", &p, err, sizeof(err)), 0);
	assert_int_equal(p.assignments, 3);
	assert_int_equal(store_policy_list(f->st, collect_policy, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb:"
			    "users-can-turn-on:0,open:users-can-turn-on:0,strict:disabled:3");
	assert_int_equal(store_unassign(f->st, STORE_TARGET_TENANT, NULL, err, sizeof(err)), 0);
	assert_int_equal(store_unassign(f->st, STORE_TARGET_GROUP, "sales", err, sizeof(err)), 0);
	assert_int_equal(store_policy_del(f->st, "strict", err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "policy 'strict' is assigned to user 'alice': unassign it first");
	assert_int_equal(store_unassign(f->st, STORE_TARGET_USER, "alice", err, sizeof(err)), 0);
	assert_int_equal(store_policy_del(f->st, "strict", err, sizeof(err)), 0);
	assert_int_equal(store_policy_del(f->st, "strict", err, sizeof(err)), -ENOENT);
	assert_int_equal(store_policy_del(f->st, "st rict", err, sizeof(err)), -EINVAL);
}

void test_policy_del_many_targets(void **state)
{
	struct fixture *f = *state;
	char name[16];
	int i;

	add_policy(f, "p", POLICY_E2EE_DISABLED);
	for (i = 0; i < 7; i++) {
		snprintf(name, sizeof(name), "u%d", i);
		add_user(f, name);
		assign(f, STORE_TARGET_USER, name, "p");
	}
	assert_int_equal(store_policy_del(f->st, "p", err, sizeof(err)), -EBUSY);
	assert_string_equal(err, "policy 'p' is assigned to user 'u0', user 'u1', user 'u2', "
			    "user 'u3' and 3 more: unassign it first");
}

void test_assignments(void **state)
{
	struct fixture *f = *state;
	char policy[STORE_NAME_MAX + 1];
	struct names l = { 0 };

	add_policy(f, "strict", POLICY_E2EE_DISABLED);
	add_policy(f, "open", POLICY_E2EE_USERS_CAN_TURN_ON);
	add_user(f, "alice");
	add_group(f, "sales");

	/* tenant: NULL, "", or the tenant's own name */
	assign(f, STORE_TARGET_TENANT, NULL, "strict");
	assign(f, STORE_TARGET_TENANT, "", "strict");
	assign(f, STORE_TARGET_TENANT, TENANT, "open");   /* replaces */
	assert_int_equal(store_assign(f->st, STORE_TARGET_TENANT, "fabrikam", "open", err,
				      sizeof(err)), -EINVAL);
	assert_int_equal(store_assignment_get(f->st, STORE_TARGET_TENANT, NULL, policy, err,
					      sizeof(err)), 0);
	assert_string_equal(policy, "open");

	/* refusals */
	assert_int_equal(store_assign(f->st, STORE_TARGET_GROUP, "nogroup", "open", err,
				      sizeof(err)), -ENOENT);
	assert_int_equal(store_assign(f->st, STORE_TARGET_USER, "nobody", "open", err,
				      sizeof(err)), -ENOENT);
	assert_int_equal(store_assign(f->st, STORE_TARGET_USER, "alice", "nopolicy", err,
				      sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "no policy 'nopolicy'"));
	assert_int_equal(store_assign(f->st, (enum store_target)0, "alice", "open", err,
				      sizeof(err)), -EINVAL);
	assert_int_equal(store_assign(f->st, STORE_TARGET_USER, "al ice", "open", err,
				      sizeof(err)), -EINVAL);
	assert_int_equal(store_assign(f->st, STORE_TARGET_USER, NULL, "open", err,
				      sizeof(err)), -EINVAL);
	assert_int_equal(store_assign(f->st, STORE_TARGET_USER, "alice", "o pen", err,
				      sizeof(err)), -EINVAL);

	/* at most one per target: a second assignment replaces the first */
	assign(f, STORE_TARGET_GROUP, "sales", "strict");
	assign(f, STORE_TARGET_GROUP, "sales", "open");
	assign(f, STORE_TARGET_USER, "alice", "strict");
	assert_int_equal(store_assignment_list(f->st, collect_assignment, &l, err, sizeof(err)),
			 0);
	assert_string_equal(l.buf, "tenant/=open,group/sales=open,user/alice=strict");
	assert_int_equal(store_assignment_get(f->st, STORE_TARGET_GROUP, "sales", policy, err,
					      sizeof(err)), 0);
	assert_string_equal(policy, "open");
	assert_int_equal(store_assignment_get(f->st, STORE_TARGET_USER, "alice", policy, err,
					      sizeof(err)), 0);
	assert_string_equal(policy, "strict");
	assert_int_equal(store_assignment_get(f->st, STORE_TARGET_USER, "bob", policy, err,
					      sizeof(err)), -ENOENT);
	assert_string_equal(policy, "");

	/* unassign */
	assert_int_equal(store_unassign(f->st, STORE_TARGET_USER, "alice", err, sizeof(err)), 0);
	assert_int_equal(store_unassign(f->st, STORE_TARGET_USER, "alice", err, sizeof(err)),
			 -ENOENT);
	assert_non_null(strstr(err, "no policy is assigned to user 'alice'"));
	assert_int_equal(store_unassign(f->st, STORE_TARGET_USER, "nobody", err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(store_unassign(f->st, STORE_TARGET_TENANT, NULL, err, sizeof(err)), 0);
	assert_int_equal(store_unassign(f->st, STORE_TARGET_TENANT, NULL, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(store_assignment_get(f->st, STORE_TARGET_TENANT, NULL, policy, err,
					      sizeof(err)), -ENOENT);

	/* a deleted target's assignment goes with it */
	assign(f, STORE_TARGET_USER, "alice", "strict");
	assert_int_equal(store_user_del(f->st, "alice", err, sizeof(err)), 0);
	assert_int_equal(store_group_del(f->st, "sales", err, sizeof(err)), 0);
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_assignment_list(f->st, collect_assignment, &l, err, sizeof(err)),
			 0);
	assert_string_equal(l.buf, "");
	assert_int_equal(store_policy_del(f->st, "strict", err, sizeof(err)), 0);
	assert_int_equal(store_policy_del(f->st, "open", err, sizeof(err)), 0);
}

/* ---- effective policy and the user's setting ----------------------------------- */

static void expect_effective(struct fixture *f, const char *user, enum policy_setting s,
			     enum policy_source src, const char *policy, const char *group)
{
	struct store_effective e;

	assert_int_equal(store_user_effective_policy(f->st, user, &e, err, sizeof(err)), 0);
	assert_int_equal(e.policy.setting, s);
	assert_int_equal(e.policy.source, src);
	assert_string_equal(e.policy.policy, policy);
	assert_string_equal(e.policy.group, group);
	assert_int_equal(e.intent.allowed, s == POLICY_E2EE_USERS_CAN_TURN_ON);
}

void test_effective_policy(void **state)
{
	struct fixture *f = *state;
	struct store_effective e;

	add_user(f, "alice");
	add_policy(f, "strict", POLICY_E2EE_DISABLED);
	add_policy(f, "open", POLICY_E2EE_USERS_CAN_TURN_ON);
	add_policy(f, "open2", POLICY_E2EE_USERS_CAN_TURN_ON);
	add_group(f, "a-team");
	add_group(f, "z-team");
	member(f, "a-team", "alice");
	member(f, "z-team", "alice");

	/* none: off by default */
	expect_effective(f, "alice", POLICY_E2EE_DISABLED, POLICY_SRC_NONE, "", "");
	assert_int_equal(store_user_effective_policy(f->st, "alice", &e, err, sizeof(err)), 0);
	assert_false(e.user_on);
	assert_false(e.intent.on);
	assert_string_equal(e.intent.reason, "alice@contoso's policy does not allow end-to-end "
			    "encryption");
	/* tenant */
	assign(f, STORE_TARGET_TENANT, NULL, "open");
	expect_effective(f, "alice", POLICY_E2EE_USERS_CAN_TURN_ON, POLICY_SRC_TENANT, "open", "");
	assert_int_equal(store_user_effective_policy(f->st, "alice", &e, err, sizeof(err)), 0);
	assert_string_equal(e.intent.reason, "alice@contoso has not turned on end-to-end "
			    "encryption");
	/* group over tenant */
	assign(f, STORE_TARGET_GROUP, "z-team", "strict");
	expect_effective(f, "alice", POLICY_E2EE_DISABLED, POLICY_SRC_GROUP, "strict", "z-team");
	/* conflicting groups: disabled wins, whichever sorts first */
	assign(f, STORE_TARGET_GROUP, "a-team", "open2");
	expect_effective(f, "alice", POLICY_E2EE_DISABLED, POLICY_SRC_GROUP, "strict", "z-team");
	assert_int_equal(store_user_effective_policy(f->st, "alice", &e, err, sizeof(err)), 0);
	assert_true(e.policy.group_conflict);
	assert_int_equal(e.policy.n_groups, 2);
	/* both allow: the first group by name */
	assign(f, STORE_TARGET_GROUP, "z-team", "open");
	expect_effective(f, "alice", POLICY_E2EE_USERS_CAN_TURN_ON, POLICY_SRC_GROUP, "open2",
			 "a-team");
	/* user over group */
	assign(f, STORE_TARGET_USER, "alice", "strict");
	expect_effective(f, "alice", POLICY_E2EE_DISABLED, POLICY_SRC_USER, "strict", "");
	/* leaving a group changes the outcome */
	assert_int_equal(store_unassign(f->st, STORE_TARGET_USER, "alice", err, sizeof(err)), 0);
	assign(f, STORE_TARGET_GROUP, "z-team", "strict");
	assert_int_equal(store_group_member_del(f->st, "z-team", "alice", err, sizeof(err)), 0);
	expect_effective(f, "alice", POLICY_E2EE_USERS_CAN_TURN_ON, POLICY_SRC_GROUP, "open2",
			 "a-team");
	/* changing a policy's setting applies at once */
	assert_int_equal(store_policy_set(f->st, "open2", POLICY_E2EE_DISABLED, err,
					  sizeof(err)), 0);
	expect_effective(f, "alice", POLICY_E2EE_DISABLED, POLICY_SRC_GROUP, "open2", "a-team");

	assert_int_equal(store_user_effective_policy(f->st, "nobody", &e, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(store_user_effective_policy(f->st, "a b", &e, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(store_user_effective_policy(f->st, "alice", NULL, err, sizeof(err)),
			 -EINVAL);
}

void test_user_setting(void **state)
{
	struct fixture *f = *state;
	struct store_effective e;
	struct store_user u;

	add_user(f, "alice");
	add_policy(f, "strict", POLICY_E2EE_DISABLED);
	add_policy(f, "open", POLICY_E2EE_USERS_CAN_TURN_ON);
	add_group(f, "sales");
	member(f, "sales", "alice");

	/* no policy: refused, and says why */
	assert_int_equal(store_user_set_e2ee(f->st, "alice", true, err, sizeof(err)), -EPERM);
	assert_string_equal(err, "alice@contoso's policy does not allow end-to-end encryption: "
			    "no policy is assigned, and it is off by default");
	/* disabled at the tenant / group / user */
	assign(f, STORE_TARGET_TENANT, NULL, "strict");
	assert_int_equal(store_user_set_e2ee(f->st, "alice", true, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "policy 'strict' (disabled) is assigned to the tenant"));
	assign(f, STORE_TARGET_GROUP, "sales", "strict");
	assert_int_equal(store_user_set_e2ee(f->st, "alice", true, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "assigned to group 'sales'"));
	assign(f, STORE_TARGET_USER, "alice", "strict");
	assert_int_equal(store_user_set_e2ee(f->st, "alice", true, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "assigned to the user"));
	assert_int_equal(store_user_show(f->st, "alice", &u, err, sizeof(err)), 0);
	assert_false(u.e2ee_on);
	/* off is always accepted */
	assert_int_equal(store_user_set_e2ee(f->st, "alice", false, err, sizeof(err)), 0);

	/* allowed: on, then off, then on */
	assign(f, STORE_TARGET_USER, "alice", "open");
	assert_int_equal(store_user_set_e2ee(f->st, "alice", true, err, sizeof(err)), 0);
	assert_int_equal(store_user_show(f->st, "alice", &u, err, sizeof(err)), 0);
	assert_true(u.e2ee_on);
	assert_int_equal(store_user_effective_policy(f->st, "alice", &e, err, sizeof(err)), 0);
	assert_true(e.user_on);
	assert_true(e.intent.allowed);
	assert_true(e.intent.on);
	assert_string_equal(e.intent.reason, "alice@contoso has turned on end-to-end encryption");
	assert_int_equal(store_user_set_e2ee(f->st, "alice", false, err, sizeof(err)), 0);
	assert_int_equal(store_user_effective_policy(f->st, "alice", &e, err, sizeof(err)), 0);
	assert_false(e.intent.on);
	assert_int_equal(store_user_set_e2ee(f->st, "alice", true, err, sizeof(err)), 0);

	/* the policy tightened later: the setting stays, but is moot */
	assert_int_equal(store_policy_set(f->st, "open", POLICY_E2EE_DISABLED, err, sizeof(err)),
			 0);
	assert_int_equal(store_user_effective_policy(f->st, "alice", &e, err, sizeof(err)), 0);
	assert_true(e.user_on);
	assert_false(e.intent.allowed);
	assert_false(e.intent.on);

	assert_int_equal(store_user_set_e2ee(f->st, "nobody", false, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_user_set_e2ee(f->st, "", false, err, sizeof(err)), -EINVAL);
}

/* Compliance recording (docs/policy.md rule 7): no e2ee while it applies. */
void test_compliance_recording(void **state)
{
	struct fixture *f = *state;
	struct store_effective e;
	struct store_user u;

	add_user(f, "alice");
	add_policy(f, "open", POLICY_E2EE_USERS_CAN_TURN_ON);
	assign(f, STORE_TARGET_TENANT, NULL, "open");
	assert_int_equal(store_user_set_compliance(f->st, "alice", true, err, sizeof(err)), 0);
	assert_int_equal(store_user_set_compliance(f->st, "alice", true, err, sizeof(err)), 0);
	assert_int_equal(store_user_show(f->st, "alice", &u, err, sizeof(err)), 0);
	assert_true(u.compliance_recording);
	/* e2ee on refused, with the reason and the way out */
	assert_int_equal(store_user_set_e2ee(f->st, "alice", true, err, sizeof(err)), -EPERM);
	assert_string_equal(err, "compliance recording applies to alice@contoso: end-to-end "
			    "encryption cannot be turned on while it does (user set alice "
			    "--compliance-recording off first)");
	assert_int_equal(store_user_set_e2ee(f->st, "alice", false, err, sizeof(err)), 0);
	assert_int_equal(store_user_effective_policy(f->st, "alice", &e, err, sizeof(err)), 0);
	assert_true(e.compliance);
	assert_true(e.intent.compliance);
	assert_false(e.intent.allowed);
	assert_string_equal(e.intent.reason, "compliance recording applies to alice@contoso");
	/* off: the policy decides again; on while e2ee is on: effectively off,
	 * the own setting kept */
	assert_int_equal(store_user_set_compliance(f->st, "alice", false, err, sizeof(err)), 0);
	assert_int_equal(store_user_set_e2ee(f->st, "alice", true, err, sizeof(err)), 0);
	assert_int_equal(store_user_effective_policy(f->st, "alice", &e, err, sizeof(err)), 0);
	assert_true(e.intent.on);
	assert_false(e.compliance);
	assert_int_equal(store_user_set_compliance(f->st, "alice", true, err, sizeof(err)), 0);
	assert_int_equal(store_user_effective_policy(f->st, "alice", &e, err, sizeof(err)), 0);
	assert_true(e.user_on);
	assert_false(e.intent.on);
	assert_string_equal(e.intent.reason, "compliance recording applies to alice@contoso");
	/* it goes with the user */
	assert_int_equal(store_user_set_compliance(f->st, "bob", true, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_user_del(f->st, "alice", err, sizeof(err)), 0);
	add_user(f, "alice");
	assert_int_equal(store_user_show(f->st, "alice", &u, err, sizeof(err)), 0);
	assert_false(u.compliance_recording);
	assert_int_equal(store_user_set_compliance(NULL, "alice", true, err, sizeof(err)), -EINVAL);
}
