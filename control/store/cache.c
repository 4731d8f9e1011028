/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * cache.c - what a call set-up reads from the store, kept in memory between
 * admin changes: a user's effective policy (store_user_effective_policy: six
 * statements and a savepoint) and a peer's record (store_peer_show; the
 * callee reads the caller's at HELLO and again for the identity check).
 *
 * Valid because the daemon is the store's only writer (locking_mode =
 * EXCLUSIVE, docs/operations.md "Durability of the store"): every change a
 * cached value could depend on is a write transaction of this handle, begun
 * with store_begin(), which bumps st->gen; a slot is used only while its gen
 * is the handle's. The call-record batch (store_begin_record) writes only
 * the calls table, which neither value reads. A rolled-back change bumps it
 * too (harmless: one more read).
 *
 * Only successful reads are kept (an unknown user or peer is read every
 * time), in a fixed table of STORE_CACHE_SLOTS slots indexed by a hash of
 * (kind, key): what a caller can make us read never grows it. Nothing
 * secret is kept (the private key is read from the store each time).
 */
#include <string.h>

#include "store_internal.h"

/* FNV-1a over the kind and the key. */
static struct store_cache_slot *slot_of(struct store *st, enum store_cache_kind kind,
					const char *key)
{
	uint32_t h = 2166136261u ^ (uint32_t)kind;

	h *= 16777619u;
	for (const unsigned char *p = (const unsigned char *)key; *p; p++) {
		h ^= *p;
		h *= 16777619u;
	}
	return &st->cache[h % STORE_CACHE_SLOTS];
}

static size_t value_len(enum store_cache_kind kind)
{
	return kind == STORE_CACHE_EFFECTIVE ? sizeof(struct store_effective)
					     : sizeof(struct store_peer);
}

bool store_cache_get(struct store *st, enum store_cache_kind kind, const char *key, void *out)
{
	const struct store_cache_slot *s = slot_of(st, kind, key);

	if (s->gen != st->gen || s->kind != kind || strcmp(s->key, key) != 0)
		return false;
	memcpy(out, &s->v, value_len(kind));
	st->stats.cache_hits++;
	return true;
}

void store_cache_put(struct store *st, enum store_cache_kind kind, const char *key,
		     const void *v)
{
	struct store_cache_slot *s = slot_of(st, kind, key);
	size_t n = strlen(key);

	if (n >= sizeof(s->key))
		return;
	s->gen = st->gen;
	s->kind = kind;
	memcpy(s->key, key, n + 1);
	memcpy(&s->v, v, value_len(kind));
}
