/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_store.c - control/store/store.c: every operation and every refusal on users
 * (and their identity keys), groups, memberships, policies, assignments, the
 * users' own e2ee setting, peers and calls; persistence across close and
 * reopen; file ownership and modes; the tenant check; schema versions; that
 * no list or show ever returns a private key, and that a deleted user's key
 * does not stay in the database file.
 *
 * Each test gets a fresh store in its own temporary directory.
 */
#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <limits.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <cmocka.h>
#include <sodium.h>
#include <sqlite3.h>

#include "store.h"

#define TENANT "contoso"

struct fixture {
	char root[64];            /* mkdtemp */
	char dir[96];             /* root/state: the store's state dir */
	struct store *st;
};

static char err[STORE_ERR_MAX];

static int rm_entry(const char *path, const struct stat *sb, int flag, struct FTW *ftw)
{
	(void)sb;
	(void)flag;
	(void)ftw;
	return remove(path);
}

static int setup(void **state)
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

static int teardown(void **state)
{
	struct fixture *f = *state;

	store_close(f->st);
	nftw(f->root, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
	free(f);
	return 0;
}

static void reopen(struct fixture *f, const char *tenant)
{
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->dir, tenant, 0, &f->st, err, sizeof(err)), 0);
}

/* ---- list collectors ---------------------------------------------------- */

struct names {
	char buf[2048];
	int n;
};

static void add_name(struct names *l, const char *s)
{
	size_t n = strlen(l->buf);

	snprintf(l->buf + n, sizeof(l->buf) - n, "%s%s", l->n++ ? "," : "", s);
}

static int collect_name(const char *name, void *arg)
{
	add_name(arg, name);
	return 0;
}

static int collect_user(const struct store_user *u, void *arg)
{
	add_name(arg, u->name);
	return 0;
}

static int collect_group(const struct store_group *g, void *arg)
{
	char s[96];

	snprintf(s, sizeof(s), "%s:%u", g->name, g->members);
	add_name(arg, s);
	return 0;
}

static int collect_policy(const struct store_policy *p, void *arg)
{
	char s[128];

	snprintf(s, sizeof(s), "%s:%s:%u", p->name, policy_setting_name(p->e2ee),
		 p->assignments);
	add_name(arg, s);
	return 0;
}

static int collect_assignment(const struct store_assignment *a, void *arg)
{
	char s[160];

	snprintf(s, sizeof(s), "%s/%s=%s", store_target_name(a->target), a->name, a->policy);
	add_name(arg, s);
	return 0;
}

static int collect_peer(const struct store_peer *p, void *arg)
{
	char s[STORE_PEER_MAX + STORE_ADDR_MAX + 16];

	snprintf(s, sizeof(s), "%s:%s:%d:%d", p->id, p->address, p->has_key, p->pinned);
	add_name(arg, s);
	return 0;
}

static int collect_call(const struct store_call *c, void *arg)
{
	char s[64];

	snprintf(s, sizeof(s), "%s:%s", c->id, store_call_state_name(c->state));
	add_name(arg, s);
	return 0;
}

static int stop_at_first(const char *name, void *arg)
{
	(void)name;
	(*(int *)arg)++;
	return 42;
}

static int stop_user(const struct store_user *u, void *arg)
{
	(void)u;
	(*(int *)arg)++;
	return 7;
}

/* ---- helpers ---------------------------------------------------------------- */

static void add_user(struct fixture *f, const char *name)
{
	assert_int_equal(store_user_add(f->st, name, err, sizeof(err)), 0);
}

static void add_group(struct fixture *f, const char *name)
{
	assert_int_equal(store_group_add(f->st, name, err, sizeof(err)), 0);
}

static void add_policy(struct fixture *f, const char *name, enum policy_setting s)
{
	assert_int_equal(store_policy_add(f->st, name, s, err, sizeof(err)), 0);
}

static void member(struct fixture *f, const char *group, const char *user)
{
	assert_int_equal(store_group_member_add(f->st, group, user, err, sizeof(err)), 0);
}

static void assign(struct fixture *f, enum store_target t, const char *name, const char *p)
{
	assert_int_equal(store_assign(f->st, t, name, p, err, sizeof(err)), 0);
}

static void make_call(struct store_call *c, const char *id, const char *user)
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

static void bad_names_refused(int (*fn)(struct store *, const char *, char *, size_t),
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

/* ---- names and addresses ---------------------------------------------------- */

static void test_validation(void **state)
{
	char u[STORE_NAME_MAX + 1], t[STORE_NAME_MAX + 1];
	static const char *const good_addr[] = { "192.0.2.1:5060", "[2001:db8::1]:443",
		"sip.example.com:5061", "localhost:1", "a-b.c:65535", "[::1]:9" };
	static const char *const bad_addr[] = { "", "192.0.2.1", "192.0.2.1:0",
		"192.0.2.1:65536", "2001:db8::1:443", "[2001:db8::1]", "[nothost]:5",
		":5060", "host:", "host:-1", "host:5x", "-host:5", "host-:5", "a..b:5",
		"ho st:5", "[2001:db8::1:5", "host:05" };
	size_t i;

	(void)state;
	assert_true(store_name_valid("alice"));
	assert_true(store_name_valid("A.b_c-9"));
	assert_false(store_name_valid(""));
	assert_false(store_name_valid(NULL));
	assert_false(store_name_valid("a b"));
	/* a name added from now on starts with a letter or digit: no "-x",
	 * "--", ".", ".."; names a store already holds stay usable */
	assert_false(store_name_new_valid("-x"));
	assert_false(store_name_new_valid("--"));
	assert_false(store_name_new_valid("."));
	assert_false(store_name_new_valid(".."));
	assert_false(store_name_new_valid("_a"));
	assert_true(store_name_new_valid("9a.-_"));
	assert_true(store_name_valid("_a"));
	assert_true(store_name_valid("-x"));
	/* the call manager's call ids: 16 of the alphabet, not starting with '-' */
	assert_true(store_call_id16_ok("0123456789abcdef"));
	assert_true(store_call_id16_ok("a.b_c:d@e+f-GHIJ"));
	assert_false(store_call_id16_ok("-123456789abcdef"));
	assert_false(store_call_id16_ok("0123456789abcde"));      /* 15 */
	assert_false(store_call_id16_ok("0123456789abcd f"));
	assert_false(store_call_id16_ok(NULL));
	{       /* numeric IP:port, for media and listen addresses */
		uint8_t fam = 0, addr[16];
		uint16_t port = 0;

		assert_int_equal(store_ip_port_parse("192.0.2.1:5004", &fam, addr, &port), 0);
		assert_true(fam == 4 && port == 5004 && addr[0] == 192 && addr[3] == 1);
		assert_false(store_ip_unspecified(fam, addr));
		assert_int_equal(store_ip_port_parse("[2001:db8::1]:0", &fam, addr, &port), 0);
		assert_true(fam == 6 && port == 0 && addr[0] == 0x20 && addr[15] == 1);
		assert_int_equal(store_ip_port_parse("0.0.0.0:1", &fam, addr, &port), 0);
		assert_true(store_ip_unspecified(fam, addr));
		assert_int_equal(store_ip_port_parse("[::]:1", &fam, addr, &port), 0);
		assert_true(store_ip_unspecified(fam, addr));
		assert_int_equal(store_ip_port_parse("[::ffff:0.0.0.0]:1", &fam, addr, &port), 0);
		assert_true(store_ip_unspecified(fam, addr));
		assert_int_equal(store_ip_port_parse("[::ffff:192.0.2.1]:1", &fam, addr, &port), 0);
		assert_false(store_ip_unspecified(fam, addr));
		/* bare IPv6 with a port is ambiguous: refused */
		assert_int_equal(store_ip_port_parse("2001:db8::1:5004", &fam, addr, &port), -EINVAL);
		assert_int_equal(store_ip_port_parse("host:5", &fam, addr, &port), -EINVAL);
		assert_int_equal(store_ip_port_parse("192.0.2.1:65536", &fam, addr, &port), -EINVAL);
		assert_int_equal(store_ip_port_parse("192.0.2.1:", &fam, addr, &port), -EINVAL);
		assert_int_equal(store_ip_port_parse("192.0.2.1:-5", &fam, addr, &port), -EINVAL);
		assert_int_equal(store_ip_port_parse("192.0.2.1", &fam, addr, &port), -EINVAL);
		assert_int_equal(store_ip_port_parse(NULL, &fam, addr, &port), -EINVAL);
	}
	for (i = 0; i < sizeof(good_addr) / sizeof(good_addr[0]); i++)
		assert_int_equal(store_address_check(good_addr[i], err, sizeof(err)), 0);
	for (i = 0; i < sizeof(bad_addr) / sizeof(bad_addr[0]); i++) {
		if (store_address_check(bad_addr[i], err, sizeof(err)) != -EINVAL)
			fail_msg("address '%s' accepted", bad_addr[i]);
	}
	assert_int_equal(store_address_check(NULL, err, sizeof(err)), -EINVAL);

	assert_int_equal(store_peer_id_parse("bob@fabrikam", u, t, err, sizeof(err)), 0);
	assert_string_equal(u, "bob");
	assert_string_equal(t, "fabrikam");
	assert_int_equal(store_peer_id_parse("bob", u, t, err, sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_id_parse("@fabrikam", u, t, err, sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_id_parse("bob@", u, t, err, sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_id_parse("a@b@c", u, t, err, sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_id_parse("b b@c", u, t, err, sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_id_parse(NULL, u, t, err, sizeof(err)), -EINVAL);

	assert_string_equal(store_target_name(STORE_TARGET_TENANT), "tenant");
	assert_string_equal(store_target_name(STORE_TARGET_GROUP), "group");
	assert_string_equal(store_target_name(STORE_TARGET_USER), "user");
	assert_null(store_target_name((enum store_target)0));
	assert_string_equal(store_call_role_name(STORE_ROLE_RESPONDER), "responder");
	assert_string_equal(store_call_mode_name(STORE_MODE_E2EE), "e2ee");
	assert_string_equal(store_call_state_name(STORE_CALL_FAILED), "failed");
	assert_null(store_call_state_name((enum store_call_state)0));
}

/* ---- open: files, modes, tenant, schema ---------------------------------------- */

static void test_open_files_and_modes(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	struct stat sb;

	assert_string_equal(store_tenant(f->st), TENANT);
	assert_int_equal(stat(f->dir, &sb), 0);
	assert_true(S_ISDIR(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0700);
	snprintf(path, sizeof(path), "%s/%s", f->dir, STORE_DB_NAME);
	assert_int_equal(lstat(path, &sb), 0);
	assert_true(S_ISREG(sb.st_mode));
	assert_int_equal(sb.st_mode & 07777, 0600);
	assert_int_equal(sb.st_uid, geteuid());

	/* a second process (here: a second open) is kept off */
	{
		struct store *st2 = NULL;

		assert_int_equal(store_open(f->dir, TENANT, 0, &st2, err, sizeof(err)), -EBUSY);
		assert_null(st2);
		assert_non_null(strstr(err, "in use"));
	}
	/* reopen: same tenant, or the recorded one */
	reopen(f, TENANT);
	reopen(f, NULL);
	assert_string_equal(store_tenant(f->st), TENANT);
	/* create on an existing store just opens it */
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(store_open(f->dir, TENANT, STORE_OPEN_CREATE, &f->st, err,
				    sizeof(err)), 0);
}

static void test_open_refusals(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], other[PATH_MAX];
	struct store *st = NULL;

	store_close(f->st);
	f->st = NULL;
	snprintf(path, sizeof(path), "%s/%s", f->dir, STORE_DB_NAME);

	/* arguments */
	assert_int_equal(store_open(NULL, TENANT, 0, &st, err, sizeof(err)), -EINVAL);
	assert_int_equal(store_open("", TENANT, 0, &st, err, sizeof(err)), -EINVAL);
	assert_int_equal(store_open(f->dir, TENANT, 0, NULL, err, sizeof(err)), -EINVAL);
	assert_int_equal(store_open(f->dir, TENANT, 0x80, &st, err, sizeof(err)), -EINVAL);
	assert_int_equal(store_open(f->dir, "bad tenant", 0, &st, err, sizeof(err)), -EINVAL);
	snprintf(other, sizeof(other), "%s/new", f->root);
	assert_int_equal(store_open(other, NULL, STORE_OPEN_CREATE, &st, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "tenant"));
	/* missing without CREATE */
	assert_int_equal(store_open(other, TENANT, 0, &st, err, sizeof(err)), -ENOENT);
	assert_non_null(strstr(err, "create the store first"));
	assert_null(st);

	/* another tenant's store */
	assert_int_equal(store_open(f->dir, "fabrikam", 0, &st, err, sizeof(err)), -ESRCH);
	assert_non_null(strstr(err, "belongs to tenant 'contoso', not 'fabrikam'"));
	assert_int_equal(store_open(f->dir, "fabrikam", STORE_OPEN_CREATE, &st, err,
				    sizeof(err)), -ESRCH);

	/* a state dir open to group or other */
	assert_int_equal(chmod(f->dir, 0750), 0);
	assert_int_equal(store_open(f->dir, TENANT, 0, &st, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "chmod 700"));
	assert_int_equal(chmod(f->dir, 0701), 0);
	assert_int_equal(store_open(f->dir, TENANT, 0, &st, err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(f->dir, 0700), 0);

	/* a database open to group or other */
	assert_int_equal(chmod(path, 0640), 0);
	assert_int_equal(store_open(f->dir, TENANT, 0, &st, err, sizeof(err)), -EPERM);
	assert_non_null(strstr(err, "chmod 600"));
	assert_int_equal(chmod(path, 0604), 0);
	assert_int_equal(store_open(f->dir, TENANT, 0, &st, err, sizeof(err)), -EPERM);
	assert_int_equal(chmod(path, 0600), 0);

	/* owned by someone else (only root can arrange that) */
	if (geteuid() == 0) {
		assert_int_equal(chown(path, 4321, 4321), 0);
		assert_int_equal(store_open(f->dir, TENANT, 0, &st, err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "owned by uid 4321"));
		assert_int_equal(chown(path, 0, 0), 0);
		assert_int_equal(chown(f->dir, 4321, 4321), 0);
		assert_int_equal(store_open(f->dir, TENANT, 0, &st, err, sizeof(err)), -EPERM);
		assert_non_null(strstr(err, "owned by uid 4321"));
		assert_int_equal(chown(f->dir, 0, 0), 0);
	}

	/* the database a symbolic link */
	snprintf(other, sizeof(other), "%s/real.db", f->dir);
	assert_int_equal(rename(path, other), 0);
	assert_int_equal(symlink(other, path), 0);
	assert_int_equal(store_open(f->dir, TENANT, 0, &st, err, sizeof(err)), -ELOOP);
	assert_int_equal(unlink(path), 0);
	assert_int_equal(rename(other, path), 0);

	/* all well again */
	assert_int_equal(store_open(f->dir, TENANT, 0, &f->st, err, sizeof(err)), 0);
}

static void test_schema_versions(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX], dir2[128];
	struct store *st = NULL;
	sqlite3 *db;
	int fd;

	add_user(f, "alice");
	store_close(f->st);
	f->st = NULL;
	snprintf(path, sizeof(path), "%s/%s", f->dir, STORE_DB_NAME);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "SELECT version FROM schema_version", NULL, NULL,
				      NULL), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "UPDATE schema_version SET version = 2", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->dir, TENANT, 0, &st, err, sizeof(err)),
			 -EPROTONOSUPPORT);
	assert_non_null(strstr(err, "newer"));
	assert_int_equal(store_open(f->dir, TENANT, STORE_OPEN_CREATE, &st, err, sizeof(err)),
			 -EPROTONOSUPPORT);
	assert_null(st);

	/* version 0 or none: damaged */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DELETE FROM schema_version", NULL, NULL, NULL),
			 SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->dir, TENANT, 0, &st, err, sizeof(err)), -EPROTO);

	/* back to 1: opens, data intact */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO schema_version VALUES (1)", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->dir, TENANT, 0, &f->st, err, sizeof(err)), 0);
	{
		struct store_user u;

		assert_int_equal(store_user_show(f->st, "alice", &u, err, sizeof(err)), 0);
	}

	/* a database that is not a callseal store */
	snprintf(dir2, sizeof(dir2), "%s/foreign", f->root);
	assert_int_equal(mkdir(dir2, 0700), 0);
	snprintf(path, sizeof(path), "%s/%s", dir2, STORE_DB_NAME);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "CREATE TABLE t (x)", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(dir2, TENANT, STORE_OPEN_CREATE, &st, err, sizeof(err)),
			 -EPROTO);
	/* an empty database file: not initialised (CREATE initialises it) */
	assert_int_equal(unlink(path), 0);
	fd = open(path, O_CREAT | O_WRONLY, 0600);
	assert_true(fd >= 0);
	close(fd);
	assert_int_equal(store_open(dir2, TENANT, 0, &st, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_open(dir2, TENANT, STORE_OPEN_CREATE, &st, err, sizeof(err)), 0);
	store_close(st);
}

/* ---- users and keys -------------------------------------------------------------- */

static void test_users(void **state)
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

static void test_private_key_not_listed(void **state)
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

/* Deleting a user overwrites their private key in the database file. */
static void test_deleted_key_not_in_file(void **state)
{
	struct fixture *f = *state;
	uint8_t priv[STORE_PRIVATE_KEY_BYTES];
	char path[PATH_MAX];
	static uint8_t buf[1 << 20];
	ssize_t n;
	int fd;

	add_user(f, "alice");
	add_user(f, "bob");
	assert_int_equal(store_user_private_key(f->st, "alice", priv, NULL, err, sizeof(err)), 0);
	snprintf(path, sizeof(path), "%s/%s", f->dir, STORE_DB_NAME);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_true(n > 0);
	assert_non_null(memmem(buf, (size_t)n, priv, sizeof(priv)));  /* where it lives */

	assert_int_equal(store_user_del(f->st, "alice", err, sizeof(err)), 0);
	fd = open(path, O_RDONLY);
	assert_true(fd >= 0);
	n = read(fd, buf, sizeof(buf));
	close(fd);
	assert_true(n > 0);
	assert_null(memmem(buf, (size_t)n, priv, sizeof(priv)));
	sodium_memzero(priv, sizeof(priv));
}

/* ---- groups ------------------------------------------------------------------------ */

static void test_groups(void **state)
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

static void test_policies(void **state)
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

static void test_policy_del_many_targets(void **state)
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

static void test_assignments(void **state)
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

static void test_effective_policy(void **state)
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

static void test_user_setting(void **state)
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

/* ---- peers -------------------------------------------------------------------------- */

static void test_peers(void **state)
{
	struct fixture *f = *state;
	uint8_t k1[STORE_PUBLIC_KEY_BYTES], k2[STORE_PUBLIC_KEY_BYTES], zero[32] = { 0 };
	struct store_peer p;
	struct names l = { 0 };

	randombytes_buf(k1, sizeof(k1));
	randombytes_buf(k2, sizeof(k2));

	assert_int_equal(store_peer_add(f->st, "bob@fabrikam", k1, "peer.fabrikam.com:7000",
					true, err, sizeof(err)), 0);
	assert_int_equal(store_peer_add(f->st, "dave@fabrikam", NULL, "198.51.100.7:7000",
					false, err, sizeof(err)), 0);
	assert_int_equal(store_peer_add(f->st, "bob@fabrikam", k2, "x.example:1", false, err,
					sizeof(err)), -EEXIST);
	/* refusals */
	assert_int_equal(store_peer_add(f->st, "bob", k1, "h:1", false, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(store_peer_add(f->st, "b b@fabrikam", k1, "h:1", false, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_add(f->st, "eve@fabrikam", k1, "h", false, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_add(f->st, "eve@fabrikam", k1, NULL, false, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_add(f->st, "eve@fabrikam", zero, "h:1", false, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_add(f->st, "eve@fabrikam", NULL, "h:1", true, err,
					sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "only a known key can be pinned"));

	assert_int_equal(store_peer_show(f->st, "bob@fabrikam", &p, err, sizeof(err)), 0);
	assert_true(p.has_key);
	assert_true(p.pinned);
	assert_memory_equal(p.public_key, k1, sizeof(k1));
	assert_string_equal(p.address, "peer.fabrikam.com:7000");
	assert_int_equal(store_peer_show(f->st, "dave@fabrikam", &p, err, sizeof(err)), 0);
	assert_false(p.has_key);
	assert_false(p.pinned);
	assert_int_equal(store_peer_show(f->st, "eve@fabrikam", &p, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_peer_show(f->st, "eve", &p, err, sizeof(err)), -EINVAL);

	/* trust on first use */
	assert_int_equal(store_peer_learn_key(f->st, "dave@fabrikam", k2, err, sizeof(err)), 0);
	assert_int_equal(store_peer_show(f->st, "dave@fabrikam", &p, err, sizeof(err)), 0);
	assert_true(p.has_key);
	assert_false(p.pinned);
	assert_memory_equal(p.public_key, k2, sizeof(k2));
	assert_int_equal(store_peer_learn_key(f->st, "dave@fabrikam", k2, err, sizeof(err)), 0);
	/* a different key afterwards: refused, pinned or not */
	assert_int_equal(store_peer_learn_key(f->st, "dave@fabrikam", k1, err, sizeof(err)),
			 -EKEYREJECTED);
	assert_non_null(strstr(err, "man in the middle"));
	assert_int_equal(store_peer_learn_key(f->st, "bob@fabrikam", k2, err, sizeof(err)),
			 -EKEYREJECTED);
	assert_non_null(strstr(err, "pinned"));
	assert_int_equal(store_peer_learn_key(f->st, "bob@fabrikam", k1, err, sizeof(err)), 0);
	assert_int_equal(store_peer_learn_key(f->st, "eve@fabrikam", k1, err, sizeof(err)),
			 -ENOENT);
	assert_int_equal(store_peer_learn_key(f->st, "dave@fabrikam", zero, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(store_peer_learn_key(f->st, "dave@fabrikam", NULL, err, sizeof(err)),
			 -EINVAL);

	/* administrator update: key, address, pin */
	assert_int_equal(store_peer_set(f->st, "dave@fabrikam", k1, NULL, true, err,
					sizeof(err)), 0);
	assert_int_equal(store_peer_show(f->st, "dave@fabrikam", &p, err, sizeof(err)), 0);
	assert_memory_equal(p.public_key, k1, sizeof(k1));
	assert_true(p.pinned);
	assert_string_equal(p.address, "198.51.100.7:7000");
	assert_int_equal(store_peer_set(f->st, "dave@fabrikam", NULL, "[2001:db8::7]:7001",
					false, err, sizeof(err)), 0);
	assert_int_equal(store_peer_show(f->st, "dave@fabrikam", &p, err, sizeof(err)), 0);
	assert_memory_equal(p.public_key, k1, sizeof(k1));
	assert_false(p.pinned);
	assert_string_equal(p.address, "[2001:db8::7]:7001");
	assert_int_equal(store_peer_set(f->st, "eve@fabrikam", NULL, NULL, false, err,
					sizeof(err)), -ENOENT);
	assert_int_equal(store_peer_set(f->st, "dave@fabrikam", NULL, "bad", false, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(store_peer_add(f->st, "erin@northwind", NULL, "h.example:9", false,
					err, sizeof(err)), 0);
	assert_int_equal(store_peer_set(f->st, "erin@northwind", NULL, NULL, true, err,
					sizeof(err)), -EINVAL);

	assert_int_equal(store_peer_list(f->st, collect_peer, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "bob@fabrikam:peer.fabrikam.com:7000:1:1,"
			    "dave@fabrikam:[2001:db8::7]:7001:1:0,erin@northwind:h.example:9:0:0");

	assert_int_equal(store_peer_del(f->st, "erin@northwind", err, sizeof(err)), 0);
	assert_int_equal(store_peer_del(f->st, "erin@northwind", err, sizeof(err)), -ENOENT);
	assert_int_equal(store_peer_del(f->st, "erin", err, sizeof(err)), -EINVAL);
}

/* ---- calls ---------------------------------------------------------------------------- */

static void test_calls(void **state)
{
	struct fixture *f = *state;
	struct store_call c, g;
	struct names l = { 0 };

	add_user(f, "alice");
	make_call(&c, "call-1", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EEXIST);
	assert_int_equal(store_call_get(f->st, "call-1", &g, err, sizeof(err)), 0);
	assert_string_equal(g.local_user, "alice");
	assert_string_equal(g.remote, "bob@fabrikam");
	assert_int_equal(g.role, STORE_ROLE_INITIATOR);
	assert_int_equal(g.mode, STORE_MODE_PENDING);
	assert_int_equal(g.state, STORE_CALL_SETUP);
	assert_string_equal(g.local_media, "192.0.2.1:40000");
	assert_string_equal(g.remote_media, "");
	assert_true(g.created > 0);
	assert_int_equal(g.ended, 0);

	/* refusals on add */
	make_call(&c, "call-2", "nobody");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -ENOENT);
	make_call(&c, "x", "alice");
	memset(c.id, 'x', sizeof(c.id));   /* 17 characters, no room for a NUL */
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	assert_int_equal(store_call_get(f->st, "this-id-is-too-long", &g, err, sizeof(err)),
			 -EINVAL);
	make_call(&c, "call 2", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	snprintf(c.remote, sizeof(c.remote), "bob");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	c.role = (enum store_call_role)9;
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	c.mode = (enum store_call_mode)9;
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	c.state = STORE_CALL_ENDED;
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	snprintf(c.security_code, sizeof(c.security_code), "1234567890123456789");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	snprintf(c.security_code, sizeof(c.security_code), "1234567890123456789x");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	c.mode = STORE_MODE_E2EE;     /* without its security code */
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	c.state = STORE_CALL_ACTIVE;  /* without mode and profile */
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	snprintf(c.remote_media, sizeof(c.remote_media), "nowhere");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "(remote media)"));
	make_call(&c, "call-2", "alice");
	snprintf(c.profile, sizeof(c.profile), "AES GCM");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);
	make_call(&c, "call-2", "alice");
	snprintf(c.reason, sizeof(c.reason), "line\nbreak");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), -EINVAL);

	/* the handshake done: active, e2ee */
	make_call(&c, "call-1", "alice");
	c.mode = STORE_MODE_E2EE;
	c.state = STORE_CALL_ACTIVE;
	snprintf(c.profile, sizeof(c.profile), "AEAD_AES_256_GCM");
	snprintf(c.security_code, sizeof(c.security_code), "01234567890123456789");
	snprintf(c.reason, sizeof(c.reason), "both parties have turned on end-to-end encryption");
	snprintf(c.remote_media, sizeof(c.remote_media), "[2001:db8::2]:50000");
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_call_get(f->st, "call-1", &g, err, sizeof(err)), 0);
	assert_int_equal(g.mode, STORE_MODE_E2EE);
	assert_int_equal(g.state, STORE_CALL_ACTIVE);
	assert_string_equal(g.security_code, "01234567890123456789");
	assert_string_equal(g.profile, "AEAD_AES_256_GCM");
	assert_string_equal(g.remote_media, "[2001:db8::2]:50000");
	assert_int_equal(g.ended, 0);
	/* no going back to setup */
	c.state = STORE_CALL_SETUP;
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), -EINVAL);
	c.state = STORE_CALL_ACTIVE;
	snprintf(c.id, sizeof(c.id), "nocall");
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), -ENOENT);

	/* a second, standard call; the user cannot be deleted while they are live */
	make_call(&c, "call-2", "alice");
	c.role = STORE_ROLE_RESPONDER;
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_call_list(f->st, true, collect_call, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "call-1:active,call-2:setup");
	assert_int_equal(store_user_del(f->st, "alice", err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "2 call(s) in progress"));
	assert_int_equal(store_call_del(f->st, "call-1", err, sizeof(err)), -EBUSY);

	/* end */
	assert_int_equal(store_call_end(f->st, "call-1", STORE_CALL_ENDED, "hung up", err,
					sizeof(err)), 0);
	assert_int_equal(store_call_end(f->st, "call-1", STORE_CALL_ENDED, NULL, err,
					sizeof(err)), -EALREADY);
	assert_int_equal(store_call_end(f->st, "call-2", STORE_CALL_ACTIVE, NULL, err,
					sizeof(err)), -EINVAL);
	assert_int_equal(store_call_end(f->st, "nocall", STORE_CALL_FAILED, NULL, err,
					sizeof(err)), -ENOENT);
	c.state = STORE_CALL_FAILED;
	snprintf(c.reason, sizeof(c.reason), "handshake failed");
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_call_update(f->st, &c, err, sizeof(err)), -EALREADY);
	assert_int_equal(store_call_get(f->st, "call-1", &g, err, sizeof(err)), 0);
	assert_int_equal(g.state, STORE_CALL_ENDED);
	assert_string_equal(g.reason, "hung up");
	assert_true(g.ended >= g.created);
	assert_string_equal(g.security_code, "01234567890123456789");  /* kept */
	assert_int_equal(store_call_get(f->st, "call-2", &g, err, sizeof(err)), 0);
	assert_int_equal(g.state, STORE_CALL_FAILED);
	assert_int_equal(g.role, STORE_ROLE_RESPONDER);
	assert_string_equal(g.reason, "handshake failed");

	memset(&l, 0, sizeof(l));
	assert_int_equal(store_call_list(f->st, true, collect_call, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "");
	assert_int_equal(store_call_list(f->st, false, collect_call, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "call-1:ended,call-2:failed");

	/* the user can go now; the history stays */
	assert_int_equal(store_user_del(f->st, "alice", err, sizeof(err)), 0);
	assert_int_equal(store_call_get(f->st, "call-1", &g, err, sizeof(err)), 0);
	assert_int_equal(store_call_del(f->st, "call-1", err, sizeof(err)), 0);
	assert_int_equal(store_call_del(f->st, "call-1", err, sizeof(err)), -ENOENT);
	assert_int_equal(store_call_get(f->st, "call-1", &g, err, sizeof(err)), -ENOENT);
	assert_int_equal(store_call_get(f->st, "", &g, err, sizeof(err)), -EINVAL);
}

/* ---- persistence ------------------------------------------------------------------------- */

static void test_persistence(void **state)
{
	struct fixture *f = *state;
	uint8_t priv[STORE_PRIVATE_KEY_BYTES], priv2[STORE_PRIVATE_KEY_BYTES];
	uint8_t pk[STORE_PUBLIC_KEY_BYTES];
	struct store_user u1, u2;
	struct store_effective e;
	struct store_peer p;
	struct store_call c;
	struct names l = { 0 };
	char policy[STORE_NAME_MAX + 1];

	add_user(f, "alice");
	add_user(f, "bob");
	add_group(f, "sales");
	add_group(f, "eng");
	member(f, "sales", "alice");
	member(f, "eng", "alice");
	add_policy(f, "open", POLICY_E2EE_USERS_CAN_TURN_ON);
	add_policy(f, "strict", POLICY_E2EE_DISABLED);
	assign(f, STORE_TARGET_TENANT, NULL, "strict");
	assign(f, STORE_TARGET_GROUP, "sales", "open");
	assert_int_equal(store_user_set_e2ee(f->st, "alice", true, err, sizeof(err)), 0);
	randombytes_buf(pk, sizeof(pk));
	assert_int_equal(store_peer_add(f->st, "bob@fabrikam", pk, "peer.example:7000", true,
					err, sizeof(err)), 0);
	make_call(&c, "call-9", "alice");
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	assert_int_equal(store_user_show(f->st, "alice", &u1, err, sizeof(err)), 0);
	assert_int_equal(store_user_private_key(f->st, "alice", priv, NULL, err, sizeof(err)), 0);

	reopen(f, TENANT);

	assert_int_equal(store_user_list(f->st, collect_user, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "alice,bob");
	assert_int_equal(store_user_show(f->st, "alice", &u2, err, sizeof(err)), 0);
	assert_memory_equal(u1.public_key, u2.public_key, sizeof(u1.public_key));
	assert_int_equal(u1.created, u2.created);
	assert_true(u2.e2ee_on);
	assert_int_equal(store_user_private_key(f->st, "alice", priv2, NULL, err, sizeof(err)), 0);
	assert_memory_equal(priv, priv2, sizeof(priv));
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_user_groups(f->st, "alice", collect_name, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "eng,sales");
	memset(&l, 0, sizeof(l));
	assert_int_equal(store_policy_list(f->st, collect_policy, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "open:users-can-turn-on:1,strict:disabled:1");
	assert_int_equal(store_assignment_get(f->st, STORE_TARGET_TENANT, NULL, policy, err,
					      sizeof(err)), 0);
	assert_string_equal(policy, "strict");
	assert_int_equal(store_assignment_get(f->st, STORE_TARGET_GROUP, "sales", policy, err,
					      sizeof(err)), 0);
	assert_string_equal(policy, "open");
	assert_int_equal(store_user_effective_policy(f->st, "alice", &e, err, sizeof(err)), 0);
	assert_true(e.intent.on);
	assert_int_equal(e.policy.source, POLICY_SRC_GROUP);
	assert_int_equal(store_user_effective_policy(f->st, "bob", &e, err, sizeof(err)), 0);
	assert_false(e.intent.allowed);
	assert_int_equal(e.policy.source, POLICY_SRC_TENANT);
	assert_int_equal(store_peer_show(f->st, "bob@fabrikam", &p, err, sizeof(err)), 0);
	assert_memory_equal(p.public_key, pk, sizeof(pk));
	assert_true(p.pinned);
	assert_string_equal(p.address, "peer.example:7000");
	assert_int_equal(store_call_get(f->st, "call-9", &c, err, sizeof(err)), 0);
	assert_int_equal(c.state, STORE_CALL_SETUP);
	assert_string_equal(c.local_media, "192.0.2.1:40000");

	/* opened by the recorded tenant too */
	reopen(f, NULL);
	assert_int_equal(store_user_show(f->st, "bob", &u2, err, sizeof(err)), 0);
	sodium_memzero(priv, sizeof(priv));
	sodium_memzero(priv2, sizeof(priv2));
}

/* A refused write changes nothing (one transaction). */
static void test_refusal_changes_nothing(void **state)
{
	struct fixture *f = *state;
	struct store_policy p;
	struct store_user u;

	add_user(f, "alice");
	add_policy(f, "strict", POLICY_E2EE_DISABLED);
	assign(f, STORE_TARGET_USER, "alice", "strict");
	assert_int_equal(store_policy_del(f->st, "strict", err, sizeof(err)), -EBUSY);
	assert_int_equal(store_policy_show(f->st, "strict", &p, err, sizeof(err)), 0);
	assert_int_equal(p.assignments, 1);
	assert_int_equal(store_user_set_e2ee(f->st, "alice", true, err, sizeof(err)), -EPERM);
	assert_int_equal(store_user_show(f->st, "alice", &u, err, sizeof(err)), 0);
	assert_false(u.e2ee_on);
	/* and the store still takes writes afterwards (no transaction left open) */
	add_user(f, "bob");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_validation, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_files_and_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_open_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_versions, setup, teardown),
		cmocka_unit_test_setup_teardown(test_users, setup, teardown),
		cmocka_unit_test_setup_teardown(test_private_key_not_listed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_deleted_key_not_in_file, setup, teardown),
		cmocka_unit_test_setup_teardown(test_groups, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policies, setup, teardown),
		cmocka_unit_test_setup_teardown(test_policy_del_many_targets, setup, teardown),
		cmocka_unit_test_setup_teardown(test_assignments, setup, teardown),
		cmocka_unit_test_setup_teardown(test_effective_policy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_user_setting, setup, teardown),
		cmocka_unit_test_setup_teardown(test_peers, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calls, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_changes_nothing, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
