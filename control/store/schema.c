/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * schema.c - the store's schema: creating it in an empty database, checking
 * the version of an existing one (newer is refused), and reading the tenant
 * it records. Migrations: a new store is made as version 1 and then goes
 * through every step of migrations[] up to STORE_SCHEMA_VERSION, exactly as
 * an existing store does when it is opened (one transaction with the check).
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sqlite3.h>

#include "errbuf.h"
#include "store.h"
#include "store_internal.h"

/* ---- schema ---------------------------------------------------------------- */

/* The calls table's columns after its id (versions 1 and 2; 4 adds more). */
#define CALLS_COLUMNS \
	" local_user TEXT NOT NULL," \
	" remote TEXT NOT NULL," \
	" role TEXT NOT NULL CHECK (role IN ('initiator', 'responder'))," \
	" mode TEXT NOT NULL CHECK (mode IN ('pending', 'e2ee', 'standard'))," \
	" reason TEXT NOT NULL," \
	" profile TEXT NOT NULL," \
	" security_code TEXT NOT NULL," \
	" local_media TEXT NOT NULL," \
	" remote_media TEXT NOT NULL," \
	" state TEXT NOT NULL CHECK (state IN ('setup', 'active', 'ended', 'failed'))," \
	" created INTEGER NOT NULL," \
	" ended INTEGER NOT NULL"

/*
 * Version 1. Names are TEXT compared byte for byte (case-sensitive). Enums are
 * stored as their names. Times are unix seconds.
 */
static const char *const schema_v1[] = {
	"CREATE TABLE schema_version (version INTEGER NOT NULL)",
	"CREATE TABLE meta (name TEXT PRIMARY KEY, value TEXT NOT NULL)",
	"CREATE TABLE users (name TEXT PRIMARY KEY, created INTEGER NOT NULL)",
	"CREATE TABLE user_keys ("
	" user TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,"
	" public_key BLOB NOT NULL CHECK (length(public_key) = 32),"
	" private_key BLOB NOT NULL CHECK (length(private_key) = 32),"
	" created INTEGER NOT NULL)",
	"CREATE TABLE user_settings ("
	" user TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,"
	" e2ee INTEGER NOT NULL CHECK (e2ee IN (0, 1)),"
	" updated INTEGER NOT NULL)",
	"CREATE TABLE usergroups (name TEXT PRIMARY KEY, created INTEGER NOT NULL)",
	"CREATE TABLE memberships ("
	" grp TEXT NOT NULL REFERENCES usergroups(name) ON DELETE CASCADE,"
	" user TEXT NOT NULL REFERENCES users(name) ON DELETE CASCADE,"
	" created INTEGER NOT NULL,"
	" PRIMARY KEY (grp, user))",
	"CREATE INDEX memberships_user ON memberships(user)",
	"CREATE TABLE policies ("
	" name TEXT PRIMARY KEY,"
	" e2ee TEXT NOT NULL CHECK (e2ee IN ('disabled', 'users-can-turn-on')),"
	" created INTEGER NOT NULL)",
	"CREATE TABLE assignments ("
	" kind TEXT NOT NULL CHECK (kind IN ('tenant', 'group', 'user')),"
	" target TEXT NOT NULL,"
	" policy TEXT NOT NULL REFERENCES policies(name) ON DELETE RESTRICT,"
	" created INTEGER NOT NULL,"
	" PRIMARY KEY (kind, target),"
	" CHECK ((kind = 'tenant') = (target = '')))",
	"CREATE INDEX assignments_policy ON assignments(policy)",
	/* A target's assignment goes with the target. */
	"CREATE TRIGGER users_del_assignment AFTER DELETE ON users BEGIN"
	" DELETE FROM assignments WHERE kind = 'user' AND target = old.name; END",
	"CREATE TRIGGER groups_del_assignment AFTER DELETE ON usergroups BEGIN"
	" DELETE FROM assignments WHERE kind = 'group' AND target = old.name; END",
	"CREATE TABLE peers ("
	" id TEXT PRIMARY KEY,"
	" public_key BLOB CHECK (public_key IS NULL OR length(public_key) = 32),"
	" address TEXT NOT NULL,"
	" pinned INTEGER NOT NULL CHECK (pinned IN (0, 1)),"
	" created INTEGER NOT NULL,"
	" updated INTEGER NOT NULL,"
	" CHECK (pinned = 0 OR public_key IS NOT NULL))",
	/* No keys here. local_user is not a foreign key: history outlives users. */
	"CREATE TABLE calls ("
	" id TEXT PRIMARY KEY," CALLS_COLUMNS ")",
	"CREATE INDEX calls_state ON calls(state)",
	"CREATE INDEX calls_user ON calls(local_user)",
};

/*
 * Version 2 (issue 13, calls within a tenant): a call record is one LEG, keyed
 * by (id, role). A call between two users of one daemon has both legs, the
 * caller's and the callee's, under one call id in one store. SQLite cannot
 * change a primary key in place: the table is rebuilt, its rows copied.
 */
static const char *const migrate_v2[] = {
	"CREATE TABLE calls_v2 ("
	" id TEXT NOT NULL," CALLS_COLUMNS ","
	" PRIMARY KEY (id, role))",
	"INSERT INTO calls_v2 (id, local_user, remote, role, mode, reason, profile, "
	"security_code, local_media, remote_media, state, created, ended) "
	"SELECT id, local_user, remote, role, mode, reason, profile, security_code, "
	"local_media, remote_media, state, created, ended FROM calls",
	"DROP TABLE calls",
	"ALTER TABLE calls_v2 RENAME TO calls",
	"CREATE INDEX calls_state ON calls(state)",
	"CREATE INDEX calls_user ON calls(local_user)",
	NULL,
};

/* migrations[i] takes a store from version i + 1 to i + 2. */
/*
 * Version 3 (issue 13, compliance recording, docs/policy.md rule 7): a user
 * listed here is under compliance recording and cannot have end-to-end
 * encryption; the row goes with the user.
 */
static const char *const migrate_v3[] = {
	"CREATE TABLE compliance_recording ("
	" user TEXT PRIMARY KEY REFERENCES users(name) ON DELETE CASCADE,"
	" updated INTEGER NOT NULL)",
	NULL,
};

/*
 * Version 4 (issue 15, call history): how a leg ended (end_reason, apart from
 * the mode's reason; ended_by), when its keys went in and when it ended, in
 * unix ms (its duration), and the dataplane's final counters of each
 * direction (NULL: never counted; media says whether they were read). The
 * retention prune walks calls_final by end time. Legs ended before: their
 * reason, which an end used to overwrite, is their end reason too; their
 * start is taken as their creation.
 */
#define CALLS_DIR_COLUMN(name) "ALTER TABLE calls ADD COLUMN " name " INTEGER"
static const char *const migrate_v4[] = {
	"ALTER TABLE calls ADD COLUMN end_reason TEXT NOT NULL DEFAULT ''",
	"ALTER TABLE calls ADD COLUMN ended_by TEXT NOT NULL DEFAULT '' CHECK (ended_by IN "
	"('', 'local', 'peer', 'daemon'))",
	"ALTER TABLE calls ADD COLUMN active_ms INTEGER NOT NULL DEFAULT 0",
	"ALTER TABLE calls ADD COLUMN ended_ms INTEGER NOT NULL DEFAULT 0",
	"ALTER TABLE calls ADD COLUMN media TEXT NOT NULL DEFAULT '' CHECK (media IN "
	"('', 'none', 'read'))",
	CALLS_DIR_COLUMN("out_packets"), CALLS_DIR_COLUMN("out_bytes"),
	CALLS_DIR_COLUMN("out_index_reuse"), CALLS_DIR_COLUMN("out_key_exhausted"),
	CALLS_DIR_COLUMN("out_other_drops"),
	CALLS_DIR_COLUMN("in_packets"), CALLS_DIR_COLUMN("in_bytes"),
	CALLS_DIR_COLUMN("in_auth"), CALLS_DIR_COLUMN("in_replay"),
	CALLS_DIR_COLUMN("in_key_exhausted"), CALLS_DIR_COLUMN("in_other_drops"),
	"UPDATE calls SET end_reason = reason, ended_ms = ended * 1000 WHERE state IN "
	"('ended', 'failed')",
	"UPDATE calls SET active_ms = created * 1000 WHERE mode <> 'pending'",
	"CREATE INDEX calls_final ON calls(ended_ms) WHERE state IN ('ended', 'failed')",
	NULL,
};
#undef CALLS_DIR_COLUMN

/*
 * Version 5 (issue 17, call set-ups per second): the calls table's CHECKs
 * say their lists of three or more names as x = 'a' OR x = 'b' ..., not
 * x IN ('a', 'b', ...). SQLite builds a temporary b-tree (its own pager and
 * page cache) for such an IN list at every run of a statement that checks
 * it: nine per call and side (the record added, made active, ended), ~30 us
 * of the ~100 us the store spent per call (docs/benchmarks.md). The values
 * allowed are the same. SQLite cannot change a CHECK in place: the table is
 * rebuilt, its rows and indexes kept.
 */
#define CALLS_V5_COUNTERS(dir) \
	" " dir "_packets INTEGER, " dir "_bytes INTEGER,"
static const char *const migrate_v5[] = {
	"CREATE TABLE calls_v5 ("
	" id TEXT NOT NULL,"
	" local_user TEXT NOT NULL,"
	" remote TEXT NOT NULL,"
	" role TEXT NOT NULL CHECK (role IN ('initiator', 'responder')),"
	" mode TEXT NOT NULL CHECK (mode = 'pending' OR mode = 'e2ee' OR mode = 'standard'),"
	" reason TEXT NOT NULL,"
	" profile TEXT NOT NULL,"
	" security_code TEXT NOT NULL,"
	" local_media TEXT NOT NULL,"
	" remote_media TEXT NOT NULL,"
	" state TEXT NOT NULL CHECK (state = 'setup' OR state = 'active' OR state = 'ended' OR"
	"  state = 'failed'),"
	" created INTEGER NOT NULL,"
	" ended INTEGER NOT NULL,"
	" end_reason TEXT NOT NULL DEFAULT '',"
	" ended_by TEXT NOT NULL DEFAULT '' CHECK (ended_by = '' OR ended_by = 'local' OR"
	"  ended_by = 'peer' OR ended_by = 'daemon'),"
	" active_ms INTEGER NOT NULL DEFAULT 0,"
	" ended_ms INTEGER NOT NULL DEFAULT 0,"
	" media TEXT NOT NULL DEFAULT '' CHECK (media = '' OR media = 'none' OR media = 'read'),"
	CALLS_V5_COUNTERS("out")
	" out_index_reuse INTEGER, out_key_exhausted INTEGER, out_other_drops INTEGER,"
	CALLS_V5_COUNTERS("in")
	" in_auth INTEGER, in_replay INTEGER, in_key_exhausted INTEGER, in_other_drops INTEGER,"
	" PRIMARY KEY (id, role))",
	"INSERT INTO calls_v5 SELECT id, local_user, remote, role, mode, reason, profile, "
	"security_code, local_media, remote_media, state, created, ended, end_reason, ended_by, "
	"active_ms, ended_ms, media, out_packets, out_bytes, out_index_reuse, out_key_exhausted, "
	"out_other_drops, in_packets, in_bytes, in_auth, in_replay, in_key_exhausted, "
	"in_other_drops FROM calls",
	"DROP TABLE calls",
	"ALTER TABLE calls_v5 RENAME TO calls",
	"CREATE INDEX calls_state ON calls(state)",
	"CREATE INDEX calls_user ON calls(local_user)",
	"CREATE INDEX calls_final ON calls(ended_ms) WHERE state IN ('ended', 'failed')",
	NULL,
};
#undef CALLS_V5_COUNTERS

static const char *const *const migrations[] = {
	migrate_v2,
	migrate_v3,
	migrate_v4,
	migrate_v5,
};

_Static_assert(sizeof(migrations) / sizeof(migrations[0]) == STORE_SCHEMA_VERSION - 1,
	       "one migration step per schema version after 1");

/* From version `from` up to STORE_SCHEMA_VERSION, inside the open's transaction. */
static int migrate(struct store *st, int64_t from, char *err, size_t errlen)
{
	int rc;

	for (int64_t v = from; v < STORE_SCHEMA_VERSION; v++) {
		for (const char *const *q = migrations[v - 1]; *q; q++)
			if ((rc = store_run(st, err, errlen, *q, "")) < 0) {
				store_adderr(err, errlen, " (migrating the schema from version "
					     "%lld)", (long long)v);
				return rc;
			}
		if ((rc = store_run(st, err, errlen, "UPDATE schema_version SET version = ?1", "i",
				    v + 1)) < 0)
			return rc;
	}
	return 0;
}

int store_schema_init(struct store *st, const char *tenant, bool create,
		      char *err, size_t errlen)
{
	int64_t have, version;
	size_t i;
	sqlite3_stmt *s;
	int rc;

	rc = store_begin(st, err, errlen);
	if (rc < 0)
		return rc;
	have = store_qint(st, err, errlen, "SELECT count(*) FROM sqlite_master WHERE type = 'table'"
			  " AND name = 'schema_version'", "");
	if (have < 0) {
		rc = (int)have;
		goto out;
	}
	if (have == 0) {
		int64_t other = store_qint(st, err, errlen, "SELECT count(*) FROM sqlite_master", "");

		if (other < 0) {
			rc = (int)other;
			goto out;
		}
		if (other > 0) {
			errbuf_set(err, errlen, "the database is not a callseal store (no schema_version "
			       "table)");
			rc = -EPROTO;
			goto out;
		}
		if (!create) {
			errbuf_set(err, errlen, "the store is empty: create it first");
			rc = -ENOENT;
			goto out;
		}
		for (i = 0; i < sizeof(schema_v1) / sizeof(schema_v1[0]); i++)
			if ((rc = store_run(st, err, errlen, schema_v1[i], "")) < 0)
				goto out;
		/* version 1, then the migrations: one path for new and old stores */
		rc = store_run(st, err, errlen, "INSERT INTO schema_version (version) VALUES (1)",
			       "");
		if (rc >= 0)
			rc = store_run(st, err, errlen, "INSERT INTO meta (name, value) VALUES "
				       "('tenant', ?1)", "s", tenant);
		if (rc >= 0)
			rc = store_run(st, err, errlen, "INSERT INTO meta (name, value) VALUES "
				       "('created', CAST(?1 AS TEXT))", "i", store_now());
		if (rc < 0)
			goto out;
	}
	version = store_qint(st, err, errlen, "SELECT coalesce(max(version), 0) FROM schema_version", "");
	if (version < 0) {
		rc = (int)version;
		goto out;
	}
	if (version > STORE_SCHEMA_VERSION) {
		errbuf_set(err, errlen, "the store's schema is version %lld, newer than this program "
		       "understands (%d): upgrade callseal", (long long)version,
		       STORE_SCHEMA_VERSION);
		rc = -EPROTONOSUPPORT;
		goto out;
	}
	if (version < 1) {
		errbuf_set(err, errlen, "the store's schema version is missing or invalid");
		rc = -EPROTO;
		goto out;
	}
	if (version < STORE_SCHEMA_VERSION && (rc = migrate(st, version, err, errlen)) < 0)
		goto out;
	rc = store_qprep(st, &s, err, errlen, "SELECT value FROM meta WHERE name = 'tenant'", "");
	if (rc < 0)
		goto out;
	if (sqlite3_step(s) == SQLITE_ROW)
		store_col_text(s, 0, st->tenant, sizeof(st->tenant));
	store_release(st, s);
	if (!store_name_valid(st->tenant)) {
		errbuf_set(err, errlen, "the store records no valid tenant name");
		rc = -EPROTO;
		goto out;
	}
	if (tenant && strcmp(tenant, st->tenant) != 0) {
		errbuf_set(err, errlen, "this store belongs to tenant '%s', not '%s'", st->tenant,
		       tenant);
		rc = -ESRCH;
		goto out;
	}
	rc = 0;
out:
	return store_finish(st, rc, err, errlen);
}
