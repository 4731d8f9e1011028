/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * users.c - users: adding one with a fresh X25519 identity key pair,
 * removing, showing and listing them, their groups, and the one reader of a
 * private key (store_user_private_key).
 */
#include <errno.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "errbuf.h"
#include "store.h"
#include "store_internal.h"

/* ---- users ----------------------------------------------------------------- */

#define SQL_USER_EXISTS   "SELECT count(*) FROM users WHERE name = ?1"

int store_need_user(struct store *st, const char *name, char *err, size_t errlen)
{
	int rc = store_check_name("user", name, err, errlen);

	if (rc == 0)
		rc = store_exists(st, SQL_USER_EXISTS, name, err, errlen);
	if (rc == 0) {
		errbuf_set(err, errlen, "no user '%s' in tenant '%s'", name, st->tenant);
		return -ENOENT;
	}
	return rc < 0 ? rc : 0;
}

int store_user_add(struct store *st, const char *name, char *err, size_t errlen)
{
	uint8_t pk[crypto_box_PUBLICKEYBYTES];
	uint8_t sk[crypto_box_SECRETKEYBYTES];
	int64_t t = store_now();
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_check_new_name("user", name, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	rc = store_exists(st, SQL_USER_EXISTS, name, err, errlen);
	if (rc > 0) {
		errbuf_set(err, errlen, "user '%s' already exists", name);
		rc = -EEXIST;
	}
	if (rc < 0)
		goto out;
	/* The user's static X25519 identity key (the Noise "s"). */
	if (crypto_box_keypair(pk, sk) != 0) {
		errbuf_set(err, errlen, "cannot generate an identity key");
		rc = -EIO;
		goto out;
	}
	rc = store_run(st, err, errlen, "INSERT INTO users (name, created) VALUES (?1, ?2)", "si",
		       name, t);
	if (rc >= 0)
		rc = store_run(st, err, errlen, "INSERT INTO user_keys (user, public_key, private_key, "
			       "created) VALUES (?1, ?2, ?3, ?4)", "skki", name, pk, sk, t);
out:
	sodium_memzero(sk, sizeof(sk));
	return store_finish(st, rc, err, errlen);
}

int store_user_del(struct store *st, const char *name, char *err, size_t errlen)
{
	int64_t live;
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_check_name("user", name, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	if ((rc = store_need_user(st, name, err, errlen)) < 0)
		goto out;
	live = store_qint(st, err, errlen, "SELECT count(*) FROM calls WHERE local_user = ?1 AND "
			  "state IN ('setup', 'active')", "s", name);
	if (live != 0) {
		if (live > 0)
			errbuf_set(err, errlen, "user '%s' has %lld call(s) in progress: end them first",
			       name, (long long)live);
		rc = live > 0 ? -EBUSY : (int)live;
		goto out;
	}
	/* Keys, settings and memberships cascade; the assignment goes by trigger. */
	rc = store_run(st, err, errlen, "DELETE FROM users WHERE name = ?1", "s", name);
out:
	rc = store_finish(st, rc, err, errlen);
	/* secure_delete overwrote the key's page, in the WAL: the older frames
	 * that hold the key go when the WAL is copied back and emptied */
	return rc < 0 ? rc : store_wal_truncate(st, err, errlen);
}

#define SQL_USER_ROW \
	"SELECT u.name, u.created, k.public_key, " \
	"coalesce((SELECT e2ee FROM user_settings s WHERE s.user = u.name), 0), " \
	"EXISTS (SELECT 1 FROM compliance_recording r WHERE r.user = u.name) " \
	"FROM users u JOIN user_keys k ON k.user = u.name"

static int user_row(sqlite3_stmt *s, void *rec)
{
	struct store_user *u = rec;
	const void *pk;

	memset(u, 0, sizeof(*u));
	store_col_text(s, 0, u->name, sizeof(u->name));
	u->created = sqlite3_column_int64(s, 1);
	pk = sqlite3_column_blob(s, 2);
	if (!pk || sqlite3_column_bytes(s, 2) != STORE_PUBLIC_KEY_BYTES)
		return -EIO;
	memcpy(u->public_key, pk, STORE_PUBLIC_KEY_BYTES);
	u->e2ee_on = sqlite3_column_int(s, 3) != 0;
	u->compliance_recording = sqlite3_column_int(s, 4) != 0;
	return 0;
}

static const struct rec_kind user_kind = {
	.type = REC_USER, .what = "user", .damaged = "stored key is damaged",
	.by_key = SQL_USER_ROW " WHERE u.name = ?1", .all = SQL_USER_ROW " ORDER BY u.name",
	.in_tenant = true, .decode = user_row, .name_off = offsetof(struct store_user, name),
};

int store_user_show(struct store *st, const char *name, struct store_user *out,
		    char *err, size_t errlen)
{
	int rc;

	if (!st || !out)
		return -EINVAL;
	if ((rc = store_check_name("user", name, err, errlen)) < 0)
		return rc;
	return store_show_rec(st, &user_kind, name, out, err, errlen);
}

int store_user_list(struct store *st, store_user_fn fn, void *arg, char *err, size_t errlen)
{
	struct store_user u;

	if (!st || !fn)
		return -EINVAL;
	return store_list_all(st, &user_kind, &u, (union rec_fn){ .user = fn }, arg, err, errlen);
}

int store_user_groups(struct store *st, const char *name, store_name_fn fn, void *arg,
		      char *err, size_t errlen)
{
	int rc;

	if (!st || !fn)
		return -EINVAL;
	if ((rc = store_need_user(st, name, err, errlen)) < 0)
		return rc;
	return store_walk_names(st, fn, arg, "SELECT grp FROM memberships WHERE user = ?1 "
				"ORDER BY grp", name, err, errlen);
}

int store_user_private_key(struct store *st, const char *name,
			   uint8_t priv[STORE_PRIVATE_KEY_BYTES],
			   uint8_t pub[STORE_PUBLIC_KEY_BYTES], char *err, size_t errlen)
{
	sqlite3_stmt *s;
	const void *b, *p;
	int rc;

	if (!st || !priv)
		return -EINVAL;
	sodium_memzero(priv, STORE_PRIVATE_KEY_BYTES);
	if ((rc = store_check_name("user", name, err, errlen)) < 0)
		return rc;
	rc = store_qprep(st, &s, err, errlen,
			 "SELECT private_key, public_key FROM user_keys WHERE user = ?1", "s", name);
	if (rc < 0)
		return rc;
	rc = sqlite3_step(s);
	if (rc == SQLITE_ROW) {
		b = sqlite3_column_blob(s, 0);
		p = sqlite3_column_blob(s, 1);
		if (b && sqlite3_column_bytes(s, 0) == STORE_PRIVATE_KEY_BYTES &&
		    p && sqlite3_column_bytes(s, 1) == STORE_PUBLIC_KEY_BYTES) {
			memcpy(priv, b, STORE_PRIVATE_KEY_BYTES);
			if (pub)
				memcpy(pub, p, STORE_PUBLIC_KEY_BYTES);
			rc = 0;
		} else {
			errbuf_set(err, errlen, "user '%s': stored key is damaged", name);
			rc = -EIO;
		}
	} else if (rc == SQLITE_DONE) {
		errbuf_set(err, errlen, "no user '%s' in tenant '%s'", name, st->tenant);
		rc = -ENOENT;
	} else {
		rc = store_dberr(st, rc, "private key", err, errlen);
	}
	store_release(st, s);
	return rc;
}
