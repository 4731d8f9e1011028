/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_store.c - control/store/store.c: the runner (main) and the store as a
 * file: names and addresses, file ownership and modes, the tenant check,
 * schema versions, persistence across close and reopen, and that a refusal
 * changes nothing. The directory (users and their identity keys, groups,
 * memberships, policies, assignments, the users' own e2ee setting) is in
 * test_store_directory.c, peers and calls in test_store_peers_calls.c.
 *
 * Each test gets a fresh store in its own temporary directory.
 */
#include "test_store.h"

static char err[STORE_ERR_MAX];

/* ---- names and addresses ---------------------------------------------------- */

static void test_validation(void **state)
{
	char u[STORE_NAME_MAX + 1], t[STORE_NAME_MAX + 1];
	static const char *const good_addr[] = { "192.0.2.1:5060", "[2001:db8::1]:443",
		"[::1]:9", "255.255.255.255:65535" };
	/* numeric only (issue 15): a host name, or digits that are no IPv4 address */
	static const char *const bad_addr[] = { "sip.example.com:5061", "localhost:1",
		"a-b.c:65535", "300.1.1.1:7102", "1.2.3:5", "1.2.3.4.5:5", "", "192.0.2.1", "192.0.2.1:0",
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
		/* one message, the holder's pid (issue 15; the daemon says where) */
		snprintf(path, sizeof(path), "in use by pid %ld", (long)getpid());
		assert_string_equal(err, path);
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
	{
		char sql[64];

		snprintf(sql, sizeof(sql), "UPDATE schema_version SET version = %d",
			 STORE_SCHEMA_VERSION + 1);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
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

	/* a version 1 store (no compliance_recording table): opens, migrated to
	 * the current version (schema.c migrations[]), data intact, compliance
	 * recording works */
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "DROP TABLE compliance_recording; "
				      "INSERT INTO schema_version VALUES (1)", NULL, NULL,
				      NULL), SQLITE_OK);
	sqlite3_close(db);
	assert_int_equal(store_open(f->dir, TENANT, 0, &f->st, err, sizeof(err)), 0);
	{
		struct store_user u;

		assert_int_equal(store_user_show(f->st, "alice", &u, err, sizeof(err)), 0);
		assert_false(u.compliance_recording);
		assert_int_equal(store_user_set_compliance(f->st, "alice", true, err,
							   sizeof(err)), 0);
		assert_int_equal(store_user_show(f->st, "alice", &u, err, sizeof(err)), 0);
		assert_true(u.compliance_recording);
	}
	store_close(f->st);
	f->st = NULL;
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	{
		sqlite3_stmt *q;

		assert_int_equal(sqlite3_prepare_v2(db, "SELECT version FROM schema_version",
						    -1, &q, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(q), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(q, 0), STORE_SCHEMA_VERSION);
		assert_int_equal(sqlite3_step(q), SQLITE_DONE);
		sqlite3_finalize(q);
	}
	sqlite3_close(db);
	assert_int_equal(store_open(f->dir, TENANT, 0, &f->st, err, sizeof(err)), 0);

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

/* ---- persistence ------------------------------------------------------------------------- */

/* A store made by schema version 1 (calls keyed by id alone) opens, is
 * migrated to the current version with its rows, and takes both legs of a
 * call then (issue 13). */
static void test_schema_migrate_v1(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	struct store_call c;
	sqlite3 *db;
	sqlite3_stmt *s;

	add_user(f, "alice");
	store_close(f->st);
	f->st = NULL;
	snprintf(path, sizeof(path), "%s/%s", f->dir, STORE_DB_NAME);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	/* back to version 1: its calls table, with one call in it, and no later
	 * table */
	assert_int_equal(sqlite3_exec(db,
		"DROP TABLE compliance_recording;"
		"DROP TABLE calls;"
		"CREATE TABLE calls (id TEXT PRIMARY KEY, local_user TEXT NOT NULL,"
		" remote TEXT NOT NULL,"
		" role TEXT NOT NULL CHECK (role IN ('initiator', 'responder')),"
		" mode TEXT NOT NULL CHECK (mode IN ('pending', 'e2ee', 'standard')),"
		" reason TEXT NOT NULL, profile TEXT NOT NULL, security_code TEXT NOT NULL,"
		" local_media TEXT NOT NULL, remote_media TEXT NOT NULL,"
		" state TEXT NOT NULL CHECK (state IN ('setup', 'active', 'ended', 'failed')),"
		" created INTEGER NOT NULL, ended INTEGER NOT NULL);"
		"CREATE INDEX calls_state ON calls(state);"
		"CREATE INDEX calls_user ON calls(local_user);"
		"INSERT INTO calls VALUES ('0123456789abcdef', 'alice', 'bob@fabrikam',"
		" 'initiator', 'standard', 'r', 'AEAD_AES_256_GCM', '', '192.0.2.1:40000',"
		" '192.0.2.2:40000', 'ended', 1, 2);"
		"UPDATE schema_version SET version = 1;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(f->dir, TENANT, 0, &f->st, err, sizeof(err)), 0);
	assert_int_equal(store_call_get(f->st, "0123456789abcdef", &c, err, sizeof(err)), 0);
	assert_string_equal(c.remote, "bob@fabrikam");
	assert_int_equal(c.state, STORE_CALL_ENDED);
	assert_int_equal(c.ended, 2);
	make_call(&c, "0123456789abcdef", "alice");
	c.role = STORE_ROLE_RESPONDER;
	assert_int_equal(store_call_add(f->st, &c, err, sizeof(err)), 0);
	store_close(f->st);
	f->st = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT version FROM schema_version", -1, &s,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), STORE_SCHEMA_VERSION);
	sqlite3_finalize(s);
	assert_int_equal(sqlite3_prepare_v2(db, "SELECT count(*) FROM sqlite_master WHERE "
					    "name IN ('calls_state', 'calls_user')", -1, &s,
					    NULL), SQLITE_OK);
	assert_int_equal(sqlite3_step(s), SQLITE_ROW);
	assert_int_equal(sqlite3_column_int(s, 0), 2);
	sqlite3_finalize(s);
	sqlite3_close(db);
	assert_int_equal(store_open(f->dir, TENANT, 0, &f->st, err, sizeof(err)), 0);
}

/* A store of schema version 3 (issue 15: before the call history) opens and
 * is migrated: an ended leg's reason becomes its end reason too, its times
 * in ms come from its seconds, no counters; a live leg stays live; the
 * history's index is made and the prune works on the old rows. */
static void test_schema_migrate_v3(void **state)
{
	struct fixture *f = *state;
	char path[PATH_MAX];
	struct store_call c;
	struct names l = { 0 };
	int64_t next = -1;
	sqlite3 *db;

	add_user(f, "alice");
	store_close(f->st);
	f->st = NULL;
	snprintf(path, sizeof(path), "%s/%s", f->dir, STORE_DB_NAME);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	/* back to version 3: its calls table (as version 2 made it), two legs */
	assert_int_equal(sqlite3_exec(db,
		"DROP TABLE calls;"
		"CREATE TABLE calls (id TEXT NOT NULL, local_user TEXT NOT NULL,"
		" remote TEXT NOT NULL,"
		" role TEXT NOT NULL CHECK (role IN ('initiator', 'responder')),"
		" mode TEXT NOT NULL CHECK (mode IN ('pending', 'e2ee', 'standard')),"
		" reason TEXT NOT NULL, profile TEXT NOT NULL, security_code TEXT NOT NULL,"
		" local_media TEXT NOT NULL, remote_media TEXT NOT NULL,"
		" state TEXT NOT NULL CHECK (state IN ('setup', 'active', 'ended', 'failed')),"
		" created INTEGER NOT NULL, ended INTEGER NOT NULL, PRIMARY KEY (id, role));"
		"CREATE INDEX calls_state ON calls(state);"
		"CREATE INDEX calls_user ON calls(local_user);"
		"INSERT INTO calls VALUES ('0123456789abcdef', 'alice', 'bob@fabrikam',"
		" 'initiator', 'e2ee', 'ended locally', 'AEAD_AES_256_GCM',"
		" '01234567890123456789', '192.0.2.1:40000', '192.0.2.2:40000', 'ended', 10, 70);"
		"INSERT INTO calls VALUES ('fedcba9876543210', 'alice', 'bob@fabrikam',"
		" 'responder', 'standard', 'r', 'AEAD_AES_256_GCM', '', '192.0.2.1:40002',"
		" '192.0.2.2:40002', 'active', 20, 0);"
		"UPDATE schema_version SET version = 3;", NULL, NULL, NULL), SQLITE_OK);
	sqlite3_close(db);

	assert_int_equal(store_open(f->dir, TENANT, 0, &f->st, err, sizeof(err)), 0);
	assert_int_equal(store_call_get(f->st, "0123456789abcdef", &c, err, sizeof(err)), 0);
	assert_int_equal(c.state, STORE_CALL_ENDED);
	assert_string_equal(c.end_reason, "ended locally");
	assert_string_equal(c.security_code, "01234567890123456789");
	assert_int_equal(c.ended_by, STORE_ENDER_NONE);
	assert_int_equal(c.media, STORE_MEDIA_UNKNOWN);
	assert_int_equal(c.active_ms, 10000);
	assert_int_equal(c.ended_ms, 70000);
	assert_false(c.out.seen || c.in.seen);
	assert_int_equal(store_call_get(f->st, "fedcba9876543210", &c, err, sizeof(err)), 0);
	assert_int_equal(c.state, STORE_CALL_ACTIVE);
	assert_int_equal(c.ended_ms, 0);
	assert_string_equal(c.end_reason, "");
	assert_int_equal(store_call_list_final(f->st, 10, collect_call, &l, err, sizeof(err)), 0);
	assert_string_equal(l.buf, "0123456789abcdef:ended");
	/* the live leg ends now, with counters; the old one is pruned first */
	assert_int_equal(store_call_end(f->st, "fedcba9876543210", STORE_CALL_ENDED, "hung up",
					err, sizeof(err)), 0);
	assert_int_equal(store_call_prune(f->st, 70000, 64, &next, err, sizeof(err)), 1);
	assert_true(next > 70000);
	assert_int_equal(store_call_get(f->st, "0123456789abcdef", &c, err, sizeof(err)), -ENOENT);
	store_close(f->st);
	f->st = NULL;

	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	{
		sqlite3_stmt *s;

		assert_int_equal(sqlite3_prepare_v2(db, "SELECT (SELECT version FROM "
						    "schema_version), (SELECT count(*) FROM "
						    "sqlite_master WHERE name = 'calls_final')",
						    -1, &s, NULL), SQLITE_OK);
		assert_int_equal(sqlite3_step(s), SQLITE_ROW);
		assert_int_equal(sqlite3_column_int(s, 0), STORE_SCHEMA_VERSION);
		assert_int_equal(sqlite3_column_int(s, 1), 1);
		sqlite3_finalize(s);
	}
	sqlite3_close(db);
	assert_int_equal(store_open(f->dir, TENANT, 0, &f->st, err, sizeof(err)), 0);
}

/* Schema version 5: the calls table's CHECKs refuse what they refused
 * before (a name outside each list) and take every name of each list, and
 * writing a record builds no temporary b-tree for them (no OpenEphemeral in
 * the INSERT's program: an IN list of three or more names would add one per
 * list at every run). */
static void test_calls_checks(void **state)
{
	static const char *const bad[] = { "mode = 'secret'", "state = 'gone'",
					   "ended_by = 'nobody'", "media = 'some'" };
	static const char *const good[] = { "mode = 'pending'", "mode = 'standard'",
					    "state = 'setup'", "state = 'failed'",
					    "ended_by = 'daemon'", "ended_by = ''",
					    "media = 'none'", "media = 'read'" };
	struct fixture *f = *state;
	char path[PATH_MAX], sql[256];
	sqlite3_stmt *s;
	int ephemeral = 0;
	sqlite3 *db;

	store_close(f->st);
	f->st = NULL;
	snprintf(path, sizeof(path), "%s/%s", f->dir, STORE_DB_NAME);
	assert_int_equal(sqlite3_open(path, &db), SQLITE_OK);
	assert_int_equal(sqlite3_exec(db, "INSERT INTO calls (id, local_user, remote, role, "
		"mode, reason, profile, security_code, local_media, remote_media, state, "
		"created, ended) VALUES ('0123456789abcdef', 'alice', 'bob@fabrikam', "
		"'initiator', 'e2ee', '', '', '', '', '', 'active', 1, 0)", NULL, NULL, NULL),
		SQLITE_OK);
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		snprintf(sql, sizeof(sql), "UPDATE calls SET %s", bad[i]);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_CONSTRAINT);
	}
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++) {
		snprintf(sql, sizeof(sql), "UPDATE calls SET %s", good[i]);
		assert_int_equal(sqlite3_exec(db, sql, NULL, NULL, NULL), SQLITE_OK);
	}
	assert_int_equal(sqlite3_prepare_v2(db, "EXPLAIN INSERT INTO calls (id, local_user, "
		"remote, role, mode, reason, profile, security_code, local_media, remote_media, "
		"state, created, ended, ended_by, media) VALUES (?1, ?2, ?3, ?4, ?5, ?6, ?7, ?8, "
		"?9, ?10, ?11, ?12, ?13, ?14, ?15)", -1, &s, NULL), SQLITE_OK);
	while (sqlite3_step(s) == SQLITE_ROW)
		ephemeral += strcmp((const char *)sqlite3_column_text(s, 1), "OpenEphemeral") == 0;
	sqlite3_finalize(s);
	assert_int_equal(ephemeral, 0);
	sqlite3_close(db);
	assert_int_equal(store_open(f->dir, TENANT, 0, &f->st, err, sizeof(err)), 0);
}

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
	assert_int_equal(store_peer_add(f->st, "bob@fabrikam", pk, "203.0.113.7:7000", true,
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
	assert_string_equal(p.address, "203.0.113.7:7000");
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
		cmocka_unit_test_setup_teardown(test_compliance_recording, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_migrate_v1, setup, teardown),
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
		cmocka_unit_test_setup_teardown(test_call_legs, setup, teardown),
		cmocka_unit_test_setup_teardown(test_call_history, setup, teardown),
		cmocka_unit_test_setup_teardown(test_schema_migrate_v3, setup, teardown),
		cmocka_unit_test_setup_teardown(test_calls_checks, setup, teardown),
		cmocka_unit_test_setup_teardown(test_persistence, setup, teardown),
		cmocka_unit_test_setup_teardown(test_refusal_changes_nothing, setup, teardown),
		cmocka_unit_test_setup_teardown(test_statements_prepared_once, setup, teardown),
		cmocka_unit_test_setup_teardown(test_wal_mode, setup, teardown),
		cmocka_unit_test_setup_teardown(test_admin_change_synced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_flushed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_crash_keeps_admin_changes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_record_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_batch_due, setup, teardown),
		cmocka_unit_test_setup_teardown(test_read_cache, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
