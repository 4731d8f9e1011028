/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * peers.c - remote peers (user@tenant at host:port) and their keys: added or
 * replaced by an administrator, or learnt on first use after a handshake.
 */
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <sodium.h>
#include <sqlite3.h>

#include "errbuf.h"
#include "store.h"
#include "store_internal.h"

/* ---- peers ------------------------------------------------------------------ */

#define SQL_PEER_EXISTS   "SELECT count(*) FROM peers WHERE id = ?1"

static bool key_nonzero(const uint8_t k[STORE_PUBLIC_KEY_BYTES])
{
	uint8_t acc = 0;
	size_t i;

	for (i = 0; i < STORE_PUBLIC_KEY_BYTES; i++)
		acc |= k[i];
	return acc != 0;
}

static int check_peer_key(const uint8_t *pk, char *err, size_t errlen)
{
	if (pk && !key_nonzero(pk)) {
		errbuf_set(err, errlen, "peer key: all zero");
		return -EINVAL;
	}
	return 0;
}

int store_peer_add(struct store *st, const char *id, const uint8_t *public_key,
		   const char *address, bool pinned, char *err, size_t errlen)
{
	char u[STORE_NAME_MAX + 1], t[STORE_NAME_MAX + 1];
	int64_t when = store_now();
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_peer_id_parse(id, u, t, err, errlen)) < 0 ||
	    (rc = store_check_new_name("peer user", u, err, errlen)) < 0 ||
	    (rc = store_check_new_name("peer tenant", t, err, errlen)) < 0 ||
	    (rc = check_peer_key(public_key, err, errlen)) < 0 ||
	    (rc = store_address_check(address, err, errlen)) < 0)
		return rc;
	if (pinned && !public_key) {
		errbuf_set(err, errlen, "peer '%s': only a known key can be pinned", id);
		return -EINVAL;
	}
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	rc = store_exists(st, SQL_PEER_EXISTS, id, err, errlen);
	if (rc > 0) {
		errbuf_set(err, errlen, STORE_PEER_EXISTS_FMT, id);
		rc = -EEXIST;
	}
	if (rc >= 0)
		rc = store_run(st, err, errlen, "INSERT INTO peers (id, public_key, address, pinned, "
			       "created, updated) VALUES (?1, ?2, ?3, ?4, ?5, ?5)", "sksii", id,
			       public_key, address, (int64_t)(pinned ? 1 : 0), when);
	return store_finish(st, rc, err, errlen);
}

static int peer_row(sqlite3_stmt *s, void *rec)
{
	struct store_peer *p = rec;
	const void *k;

	memset(p, 0, sizeof(*p));
	store_col_text(s, 0, p->id, sizeof(p->id));
	if (sqlite3_column_type(s, 1) != SQLITE_NULL) {
		k = sqlite3_column_blob(s, 1);
		if (!k || sqlite3_column_bytes(s, 1) != STORE_PUBLIC_KEY_BYTES)
			return -EIO;
		memcpy(p->public_key, k, STORE_PUBLIC_KEY_BYTES);
		p->has_key = true;
	}
	store_col_text(s, 2, p->address, sizeof(p->address));
	p->pinned = sqlite3_column_int(s, 3) != 0;
	p->created = sqlite3_column_int64(s, 4);
	p->updated = sqlite3_column_int64(s, 5);
	return 0;
}

#define SQL_PEER_ROW "SELECT id, public_key, address, pinned, created, updated FROM peers"

static const struct rec_kind peer_kind = {
	.type = REC_PEER, .what = "peer", .damaged = "stored key is damaged",
	.by_key = SQL_PEER_ROW " WHERE id = ?1", .all = SQL_PEER_ROW " ORDER BY id",
	.decode = peer_row, .name_off = offsetof(struct store_peer, id),
};

int store_peer_set(struct store *st, const char *id, const uint8_t *public_key,
		   const char *address, bool pinned, char *err, size_t errlen)
{
	struct store_peer p;
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_peer_id_parse(id, NULL, NULL, err, errlen)) < 0 ||
	    (rc = check_peer_key(public_key, err, errlen)) < 0 ||
	    (address && (rc = store_address_check(address, err, errlen)) < 0))
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	if ((rc = store_show_rec(st, &peer_kind, id, &p, err, errlen)) < 0)
		goto out;
	if (pinned && !public_key && !p.has_key) {
		errbuf_set(err, errlen, "peer '%s': only a known key can be pinned", id);
		rc = -EINVAL;
		goto out;
	}
	rc = store_run(st, err, errlen, "UPDATE peers SET public_key = coalesce(?2, public_key), "
		       "address = coalesce(?3, address), pinned = ?4, updated = ?5 WHERE id = ?1",
		       "sksii", id, public_key, address, (int64_t)(pinned ? 1 : 0), store_now());
out:
	return store_finish(st, rc, err, errlen);
}

int store_peer_learn_key(struct store *st, const char *id,
			 const uint8_t public_key[STORE_PUBLIC_KEY_BYTES], char *err, size_t errlen)
{
	struct store_peer p;
	int rc;

	if (!st || !public_key)
		return -EINVAL;
	if ((rc = store_peer_id_parse(id, NULL, NULL, err, errlen)) < 0 ||
	    (rc = check_peer_key(public_key, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	if ((rc = store_show_rec(st, &peer_kind, id, &p, err, errlen)) < 0)
		goto out;
	if (p.has_key) {
		if (sodium_memcmp(p.public_key, public_key, STORE_PUBLIC_KEY_BYTES) == 0) {
			rc = 0;
			goto out;
		}
		errbuf_set(err, errlen, "peer '%s' presented a key that differs from the %s one on "
		       "record: possibly a man in the middle; if its key really changed, an "
		       "administrator must replace it", id,
		       p.pinned ? "pinned" : "first-use");
		rc = -EKEYREJECTED;
		goto out;
	}
	/* Trust on first use: record the key the peer proved it holds. */
	rc = store_run(st, err, errlen, "UPDATE peers SET public_key = ?2, updated = ?3 WHERE id = ?1 "
		       "AND public_key IS NULL", "ski", id, public_key, store_now());
	if (rc == 1)
		rc = 0;
	else if (rc >= 0)
		rc = -EIO;
out:
	return store_finish(st, rc, err, errlen);
}

int store_peer_del(struct store *st, const char *id, char *err, size_t errlen)
{
	int rc;

	if (!st)
		return -EINVAL;
	if ((rc = store_peer_id_parse(id, NULL, NULL, err, errlen)) < 0)
		return rc;
	if ((rc = store_begin(st, err, errlen)) < 0)
		return rc;
	rc = store_run(st, err, errlen, "DELETE FROM peers WHERE id = ?1", "s", id);
	if (rc == 0) {
		errbuf_set(err, errlen, "no peer '%s'", id);
		rc = -ENOENT;
	}
	return store_finish(st, rc, err, errlen);
}

int store_peer_show(struct store *st, const char *id, struct store_peer *out,
		    char *err, size_t errlen)
{
	int rc;

	if (!st || !out)
		return -EINVAL;
	if ((rc = store_peer_id_parse(id, NULL, NULL, err, errlen)) < 0)
		return rc;
	if (store_cache_get(st, STORE_CACHE_PEER, id, out))
		return 0;                        /* no change since it was read */
	rc = store_show_rec(st, &peer_kind, id, out, err, errlen);
	if (rc == 0)
		store_cache_put(st, STORE_CACHE_PEER, id, out);
	return rc;
}

int store_peer_list(struct store *st, store_peer_fn fn, void *arg, char *err, size_t errlen)
{
	struct store_peer p;

	if (!st || !fn)
		return -EINVAL;
	return store_list_all(st, &peer_kind, &p, (union rec_fn){ .peer = fn }, arg, err, errlen);
}
