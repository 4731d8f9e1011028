/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The key table's operations, every one and every refusal: add and get
 * (IPv4, IPv6), replace, schedule, delete (and that it wipes), wildcards,
 * bulk reads, a full table, list, a model check, references after a shift.
 */
#include "test_keytable.h"

/* ---- operations ---------------------------------------------------------- */

void test_add_get_ipv4_ipv6(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 100);
	struct keytable_master m4, m6;
	struct keytable_key k4, k6, k6b;
	struct keytable_entry e;
	struct keytable_ref ref;
	uint64_t g4 = 0, g6 = 0;

	master(&m4, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 1);
	master(&m6, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 2);
	key4(&k4, 1, 5004, KEYTABLE_DIR_OUT);
	key6(&k6, 1, 5004, KEYTABLE_DIR_OUT);
	/* IPv6 address whose first 4 bytes equal the IPv4 one: distinct key */
	{
		uint8_t a[16] = { 10, 0, 0, 1 };

		keytable_key_ipv6(&k6b, a, 5004, KEYTABLE_DIR_OUT);
	}
	assert_int_equal(keytable_add(t, &k4, KEYTABLE_MODE_E2EE, &m4, call_id, &g4), 0);
	assert_int_equal(keytable_add(t, &k6, KEYTABLE_MODE_STANDARD, &m6, call_id, &g6), 0);
	assert_true(g4 > 0 && g6 > g4);
	assert_int_equal(keytable_get(t, &k6b, &e, NULL), -ENOENT);

	assert_int_equal(keytable_get(t, &k4, &e, &ref), 0);
	assert_memory_equal(&e.key, &k4, sizeof(k4));
	assert_int_equal(e.state, KEYTABLE_STATE_LIVE);
	assert_int_equal(e.mode, KEYTABLE_MODE_E2EE);
	assert_int_equal(e.cur.profile, KEYTABLE_PROFILE_AEAD_AES_128_GCM);
	assert_int_equal(e.cur.key_len, 16);
	assert_memory_equal(e.cur.key, m4.key, 16);
	assert_memory_equal(e.cur.salt, m4.salt, 12);
	assert_int_equal(e.generation, g4);
	assert_int_equal(e.flags, 0);
	assert_memory_equal(e.call_id, call_id, sizeof(call_id));
	assert_true(e.created_ns > 0 && e.updated_ns == e.created_ns);
	assert_int_equal(e.seq % 2, 0);
	assert_int_equal(ref.generation, g4);
	assert_true(keytable_ref_current(t, &ref));

	assert_int_equal(keytable_get(t, &k6, &e, NULL), 0);
	assert_int_equal(e.cur.key_len, 32);
	assert_memory_equal(e.cur.key, m6.key, 32);
	assert_int_equal(e.mode, KEYTABLE_MODE_STANDARD);

	/* AES-CM: a 16-byte key and the whole 14-byte salt, kept and read back */
	{
		uint8_t kc[16], sc[14];
		struct keytable_master mc;
		struct keytable_key kcm;

		for (unsigned int i = 0; i < sizeof(kc); i++)
			kc[i] = (uint8_t)(0x30 + i);
		for (unsigned int i = 0; i < sizeof(sc); i++)
			sc[i] = (uint8_t)(0x60 + i);
		assert_int_equal(keytable_master_set_salt(&mc, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32,
							  kc, 16, sc, 14), 0);
		key4(&kcm, 1, 5010, KEYTABLE_DIR_OUT);
		assert_int_equal(keytable_add(t, &kcm, KEYTABLE_MODE_STANDARD, &mc, call_id,
					      NULL), 0);
		assert_int_equal(keytable_get(t, &kcm, &e, NULL), 0);
		assert_int_equal(e.cur.profile, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32);
		assert_int_equal(e.cur.key_len, 16);
		assert_int_equal(e.cur.salt_len, 14);
		assert_memory_equal(e.cur.key, kc, 16);
		assert_memory_equal(e.cur.salt, sc, 14);
		assert_memory_equal(e.call_id, call_id, sizeof(call_id));
		assert_int_equal(keytable_delete(t, &kcm), 0);
		keytable_wipe(&mc, sizeof(mc));
	}

	/* the other direction and another port are other streams */
	key4(&k4, 1, 5004, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_get(t, &k4, &e, NULL), -ENOENT);
	key4(&k4, 1, 5006, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_get(t, &k4, &e, NULL), -ENOENT);

	/* adding it again is refused */
	key4(&k4, 1, 5004, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(t, &k4, KEYTABLE_MODE_E2EE, &m4, call_id, NULL), -EEXIST);
	assert_non_null(strstr(keytable_last_error(t), "10.0.0.1:5004/out"));
	assert_non_null(strstr(keytable_last_error(t), "already has"));
	keytable_detach(t);
}

void test_add_refusals(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10);
	struct keytable_master m, bad;
	struct keytable_key k;
	uint8_t key[32] = { 1 }, salt[12] = { 2 };

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 3);
	key4(&k, 1, 0, KEYTABLE_DIR_IN);                 /* port 0 */
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), -EINVAL);
	assert_non_null(strstr(keytable_last_error(t), "bad stream key"));
	key4(&k, 1, 5004, 3);                            /* direction */
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), -EINVAL);
	key4(&k, 1, 5004, KEYTABLE_DIR_IN);
	k.addr[9] = 1;                                   /* junk in IPv4 key */
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), -EINVAL);
	keytable_key_any(&k, 5004, KEYTABLE_DIR_IN);
	k.addr[0] = 1;                                   /* junk in wildcard */
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), -EINVAL);
	key4(&k, 1, 5004, KEYTABLE_DIR_IN);
	k.family = 5;
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), -EINVAL);
	key4(&k, 1, 5004, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &k, 0, &m, call_id, NULL), -EINVAL);   /* mode */
	assert_non_null(strstr(keytable_last_error(t), "bad mode"));
	/* profiles and key lengths; AES-CM needs a 14-byte salt */
	assert_int_equal(keytable_master_set(&bad, 0x0001, key, 16, salt), -EINVAL);
	assert_int_equal(keytable_master_set(&bad, 0x0003, key, 16, salt), -EINVAL);
	assert_int_equal(keytable_master_set_salt(&bad, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80,
						  key, 16, key, 12), -EINVAL);
	assert_int_equal(keytable_master_set_salt(&bad, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32,
						  key, 32, key, 14), -EINVAL);
	assert_int_equal(keytable_master_set_salt(&bad, KEYTABLE_PROFILE_AEAD_AES_128_GCM,
						  key, 16, key, 14), -EINVAL);
	assert_int_equal(keytable_master_key_len(KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32), 16);
	assert_int_equal(keytable_master_salt_len(KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32), 14);
	assert_int_equal(keytable_master_salt_len(KEYTABLE_PROFILE_AEAD_AES_256_GCM), 12);
	assert_int_equal(keytable_master_salt_len(0x0003), 0);
	assert_int_equal(keytable_master_set(&bad, KEYTABLE_PROFILE_AEAD_AES_128_GCM, key, 32,
					     salt), -EINVAL);
	assert_int_equal(keytable_master_set(&bad, KEYTABLE_PROFILE_AEAD_AES_256_GCM, key, 16,
					     salt), -EINVAL);
	bad = m;
	bad.key_len = 32;                                /* 128-bit profile, 32 bytes */
	assert_int_equal(keytable_add(t, &k, 1, &bad, call_id, NULL), -EINVAL);
	assert_non_null(strstr(keytable_last_error(t), "0x0007"));
	bad = m;
	bad.profile = 0x0001;                            /* AES-CM with a 12-byte salt */
	assert_int_equal(keytable_add(t, &k, 1, &bad, call_id, NULL), -EINVAL);
	assert_non_null(strstr(keytable_last_error(t), "12-byte salt"));
	bad.salt_len = 14;                               /* GCM with a 14-byte salt */
	bad.profile = KEYTABLE_PROFILE_AEAD_AES_128_GCM;
	assert_int_equal(keytable_add(t, &k, 1, &bad, call_id, NULL), -EINVAL);
	assert_int_equal(keytable_add(t, &k, 1, NULL, call_id, NULL), -EINVAL);
	/* nothing was added, and no message carries key bytes */
	{
		struct keytable_info in;

		keytable_info(t, &in);
		assert_int_equal(in.count, 0);
	}
	keytable_detach(t);
}

/* The builders write all 24 bytes, as memset-then-fields did: whatever was in
 * the key before, the same key bytes (the hash and memcmp read them all). */
void test_key_builders_bytes(void **state)
{
	(void)state;
	static const uint8_t a4[4] = { 192, 0, 2, 7 };
	static const uint8_t a6[16] = { 0x20, 0x01, 0x0d, 0xb8, [15] = 9 };
	uint8_t want[24];
	struct keytable_key k;

	for (int junk = 0; junk < 256; junk += 0x55) {
		memset(&k, junk, sizeof(k));
		keytable_key_ipv4(&k, a4, 0x1388, KEYTABLE_DIR_OUT);
		memset(want, 0, sizeof(want));
		memcpy(want, a4, 4);
		memcpy(want + 16, &(uint16_t){ 0x1388 }, 2);
		want[18] = KEYTABLE_FAMILY_IPV4;
		want[19] = KEYTABLE_DIR_OUT;
		assert_memory_equal(&k, want, sizeof(want));

		memset(&k, junk, sizeof(k));
		keytable_key_ipv6(&k, a6, 0x1388, KEYTABLE_DIR_IN);
		memcpy(want, a6, 16);
		want[18] = KEYTABLE_FAMILY_IPV6;
		want[19] = KEYTABLE_DIR_IN;
		assert_memory_equal(&k, want, sizeof(want));

		memset(&k, junk, sizeof(k));
		keytable_key_any(&k, 0x1388, KEYTABLE_DIR_IN);
		memset(want, 0, 16);
		want[18] = KEYTABLE_FAMILY_ANY;
		assert_memory_equal(&k, want, sizeof(want));
	}
}

void test_key_tail_zeroed(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10);
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_entry e;
	static const uint8_t zero[16];

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 9);
	memset(m.key + 16, 0xEE, 16);        /* junk past key_len is not stored */
	key4(&k, 9, 9000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_memory_equal(e.cur.key + 16, zero, 16);
	keytable_wipe(&e, sizeof(e));
	keytable_detach(t);
}

void test_replace(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10);
	struct keytable_master m1, m2, n;
	struct keytable_key k, other;
	struct keytable_entry e0, e1;
	struct keytable_ref ref;
	uint64_t g1 = 0, g2 = 0, c0;

	master(&m1, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 40);
	master(&m2, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 80);
	master(&n, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 120);
	key4(&k, 2, 6000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &k, KEYTABLE_MODE_E2EE, &m1, call_id, &g1), 0);
	assert_int_equal(keytable_schedule(t, &k, &n, 5000, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e0, &ref), 0);
	assert_true(file_has(f, m1.key, 32));
	assert_true(file_has(f, n.key, 32));

	c0 = keytable_changes(t);
	usleep(1000);
	assert_int_equal(keytable_replace(t, &k, &m2, &g2), 0);
	assert_true(g2 > e0.generation && e0.generation > g1);
	assert_true(keytable_changes(t) > c0);
	assert_false(keytable_ref_current(t, &ref));
	assert_int_equal(keytable_get(t, &k, &e1, &ref), 0);
	assert_true(keytable_ref_current(t, &ref));
	assert_int_equal(e1.generation, g2);
	assert_int_equal(e1.cur.profile, KEYTABLE_PROFILE_AEAD_AES_128_GCM);
	assert_memory_equal(e1.cur.key, m2.key, 16);
	assert_memory_equal(e1.cur.salt, m2.salt, 12);
	/* the scheduled key is dropped; the rest is kept */
	assert_int_equal(e1.flags & KEYTABLE_F_NEXT, 0);
	assert_int_equal(e1.next.profile, 0);
	assert_int_equal(e1.next_from_index, 0);
	assert_int_equal(e1.mode, KEYTABLE_MODE_E2EE);
	assert_int_equal(e1.created_ns, e0.created_ns);
	assert_true(e1.updated_ns > e0.updated_ns);
	assert_memory_equal(e1.call_id, call_id, sizeof(call_id));
	/* old and scheduled key bytes are gone from the table (and journal) */
	assert_false(file_has(f, m1.key, 32));
	assert_false(file_has(f, m1.key + 16, 16));
	assert_false(file_has(f, n.key, 32));
	assert_true(file_has(f, m2.key, 16));

	key4(&other, 3, 6000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_replace(t, &other, &m2, NULL), -ENOENT);
	assert_non_null(strstr(keytable_last_error(t), "no stream 10.0.0.3:6000/in"));
	assert_int_equal(keytable_replace(t, &k, NULL, NULL), -EINVAL);
	keytable_detach(t);
}

void test_schedule(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10);
	struct keytable_master m, n;
	struct keytable_key k, other;
	struct keytable_entry e;
	uint64_t g0 = 0, g1 = 0, g2 = 0;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 11);
	master(&n, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 77);
	key6(&k, 7, 7000, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(t, &k, KEYTABLE_MODE_E2EE, &m, call_id, &g0), 0);
	assert_int_equal(keytable_schedule(t, &k, &n, (UINT64_C(3) << 16) | 65000, &g1), 0);
	assert_true(g1 > g0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_int_equal(e.generation, g1);
	assert_int_equal(e.flags & KEYTABLE_F_NEXT, KEYTABLE_F_NEXT);
	assert_int_equal(e.next_from_index, (UINT64_C(3) << 16) | 65000);
	assert_int_equal(e.next.profile, KEYTABLE_PROFILE_AEAD_AES_256_GCM);
	assert_memory_equal(e.next.key, n.key, 32);
	assert_memory_equal(e.next.salt, n.salt, 12);
	assert_memory_equal(e.cur.key, m.key, 16);       /* current key unchanged */

	/* the last 48-bit index is fine, one past it is not */
	assert_int_equal(keytable_schedule(t, &k, &n, KEYTABLE_INDEX_MAX, NULL), 0);
	assert_int_equal(keytable_schedule(t, &k, &n, KEYTABLE_INDEX_MAX + 1, NULL), -EINVAL);
	assert_non_null(strstr(keytable_last_error(t), "48-bit"));

	/* cancel: the next key's bytes are wiped */
	assert_true(file_has(f, n.key, 32));
	assert_int_equal(keytable_schedule(t, &k, NULL, 0, &g2), 0);
	assert_true(g2 > g1);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_int_equal(e.flags & KEYTABLE_F_NEXT, 0);
	assert_int_equal(e.next.profile, 0);
	assert_false(file_has(f, n.key, 32));
	assert_true(file_has(f, m.key, 16));

	key6(&other, 8, 7000, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_schedule(t, &other, &n, 1, NULL), -ENOENT);

	/* ABI 2: on auth, then advance (two rekeys in flight), then replace */
	struct keytable_master x;
	master(&x, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 99);
	assert_int_equal(keytable_advance(t, &k, &x, NULL), -EINVAL);  /* nothing pending */
	assert_int_equal(keytable_schedule(t, &k, &n, KEYTABLE_FROM_ON_AUTH, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_int_equal(e.flags, KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH);
	assert_int_equal(e.next_from_index, 0);
	assert_int_equal(keytable_advance(t, &k, &x, &g2), 0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_int_equal(e.generation, g2);
	assert_int_equal(e.flags, KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH | KEYTABLE_F_PREV);
	assert_memory_equal(e.cur.key, n.key, 32);
	assert_memory_equal(e.next.key, x.key, 16);
	assert_false(file_has(f, m.key, 16));             /* the old cur is gone */
	assert_int_equal(keytable_schedule(t, &k, &m, 5, NULL), 0);   /* F_PREV kept */
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_int_equal(e.flags, KEYTABLE_F_NEXT | KEYTABLE_F_PREV);
	assert_int_equal(keytable_replace(t, &k, &x, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_int_equal(e.flags, 0);
	keytable_detach(t);
}

void test_delete_wipes(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10);
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_entry e;
	struct keytable_info in;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 200);
	key4(&k, 5, 5000, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	assert_true(file_has(f, m.key, 32));
	assert_true(file_has(f, m.salt, 12));
	assert_int_equal(keytable_delete(t, &k), 0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), -ENOENT);
	assert_false(file_has(f, m.key, 32));
	assert_false(file_has(f, m.key, 8));
	assert_false(file_has(f, m.salt, 12));
	keytable_info(t, &in);
	assert_int_equal(in.count, 0);
	/* unknown key */
	assert_int_equal(keytable_delete(t, &k), -ENOENT);
	assert_non_null(strstr(keytable_last_error(t), "no stream 10.0.0.5:5000/out"));
	/* and it can come back, under a new generation */
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	keytable_detach(t);
}

void test_wildcard(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 100);
	struct keytable_master mw, mx;
	struct keytable_key kw, kx, q[6];
	struct keytable_entry out[6];
	struct keytable_ref refs[6];
	struct keytable_info in;
	uint8_t st[6];

	master(&mw, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 50);
	master(&mx, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 60);
	keytable_key_any(&kw, 5004, KEYTABLE_DIR_IN);
	key4(&kx, 1, 5004, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &kw, 1, &mw, call_id, NULL), 0);
	assert_int_equal(keytable_add(t, &kx, 1, &mx, call_id, NULL), 0);
	keytable_info(t, &in);
	assert_int_equal(in.wild_count, 1);

	key4(&q[0], 1, 5004, KEYTABLE_DIR_IN);     /* exact wins */
	key4(&q[1], 2, 5004, KEYTABLE_DIR_IN);     /* wildcard */
	key6(&q[2], 2, 5004, KEYTABLE_DIR_IN);     /* wildcard, IPv6 */
	key4(&q[3], 2, 5004, KEYTABLE_DIR_OUT);    /* other direction: none */
	key4(&q[4], 2, 5006, KEYTABLE_DIR_IN);     /* other port: none */
	keytable_key_any(&q[5], 5004, KEYTABLE_DIR_IN); /* the wildcard itself */
	assert_int_equal(keytable_lookup_bulk(t, q, 6, out, st, refs), 4);
	assert_int_equal(st[0], KEYTABLE_FOUND);
	assert_memory_equal(out[0].cur.key, mx.key, 16);
	assert_int_equal(out[0].key.family, KEYTABLE_FAMILY_IPV4);
	assert_int_equal(st[1], KEYTABLE_FOUND);
	assert_memory_equal(out[1].cur.key, mw.key, 16);
	assert_int_equal(out[1].key.family, KEYTABLE_FAMILY_ANY);
	assert_int_equal(st[2], KEYTABLE_FOUND);
	assert_memory_equal(out[2].cur.key, mw.key, 16);
	assert_int_equal(st[3], KEYTABLE_NOT_FOUND);
	assert_int_equal(st[4], KEYTABLE_NOT_FOUND);
	assert_int_equal(out[4].state, KEYTABLE_STATE_EMPTY);
	assert_int_equal(st[5], KEYTABLE_FOUND);
	assert_int_equal(refs[1].generation, out[1].generation);
	assert_int_equal(refs[1].slot, refs[2].slot);
	assert_int_equal(refs[3].generation, 0);

	/* get() is exact: no fallback */
	assert_int_equal(keytable_get(t, &q[1], &out[0], NULL), -ENOENT);

	/* without the wildcard entry the fallback finds nothing */
	assert_int_equal(keytable_delete(t, &kw), 0);
	keytable_info(t, &in);
	assert_int_equal(in.wild_count, 0);
	assert_int_equal(keytable_lookup_bulk(t, q, 6, out, st, NULL), 1);
	assert_int_equal(st[0], KEYTABLE_FOUND);
	assert_int_equal(st[1], KEYTABLE_NOT_FOUND);
	keytable_detach(t);
}

void test_bulk_32(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 64);
	struct keytable_master m;
	struct keytable_key q[KEYTABLE_BULK_MAX + 1];
	struct keytable_entry out[KEYTABLE_BULK_MAX + 1];
	uint8_t st[KEYTABLE_BULK_MAX + 1];
	unsigned int i;

	for (i = 0; i < KEYTABLE_BULK_MAX; i++) {
		key4(&q[i], (uint8_t)i, (uint16_t)(10000 + i), KEYTABLE_DIR_OUT);
		if (i % 2 == 0) {
			master(&m, KEYTABLE_PROFILE_AEAD_AES_256_GCM, (uint8_t)i);
			assert_int_equal(keytable_add(t, &q[i], 1, &m, call_id, NULL), 0);
		}
	}
	assert_int_equal(keytable_lookup_bulk(t, q, KEYTABLE_BULK_MAX, out, st, NULL), 16);
	for (i = 0; i < KEYTABLE_BULK_MAX; i++) {
		if (i % 2 == 0) {
			master(&m, KEYTABLE_PROFILE_AEAD_AES_256_GCM, (uint8_t)i);
			assert_int_equal(st[i], KEYTABLE_FOUND);
			assert_memory_equal(out[i].cur.key, m.key, 32);
			assert_memory_equal(&out[i].key, &q[i], sizeof(q[i]));
		} else {
			assert_int_equal(st[i], KEYTABLE_NOT_FOUND);
		}
	}
	assert_int_equal(keytable_lookup_bulk(t, q, 0, out, st, NULL), 0);
	assert_int_equal(keytable_lookup_bulk(t, q, KEYTABLE_BULK_MAX + 1, out, st, NULL),
			 -EINVAL);
	keytable_detach(t);
}

void test_bulk_ref_read_ref(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 64);
	struct keytable_master m, m2;
	struct keytable_key q[4];
	struct keytable_ref refs[KEYTABLE_BULK_MAX + 1];
	struct keytable_entry e;
	uint8_t st[KEYTABLE_BULK_MAX + 1];
	uint64_t g0 = 0, g1 = 0;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 90);
	master(&m2, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 91);
	key4(&q[0], 1, 5004, KEYTABLE_DIR_IN);
	key6(&q[1], 1, 5004, KEYTABLE_DIR_IN);        /* absent: no wildcard yet */
	keytable_key_any(&q[2], 5004, KEYTABLE_DIR_IN);
	key4(&q[3], 3, 5006, KEYTABLE_DIR_IN);        /* absent */
	assert_int_equal(keytable_add(t, &q[0], 1, &m, call_id, &g0), 0);
	assert_int_equal(keytable_lookup_bulk_ref(t, q, 4, refs, st), 1);
	assert_int_equal(st[0], KEYTABLE_FOUND);
	assert_int_equal(refs[0].generation, g0);
	assert_int_equal(st[1], KEYTABLE_NOT_FOUND);
	assert_int_equal(refs[1].generation, 0);
	assert_int_equal(st[2], KEYTABLE_NOT_FOUND);
	assert_int_equal(st[3], KEYTABLE_NOT_FOUND);
	/* the full copy behind a ref */
	assert_int_equal(keytable_read_ref(t, &refs[0], &e), 0);
	assert_int_equal(e.generation, g0);
	assert_memory_equal(e.cur.key, m.key, 32);
	assert_memory_equal(&e.key, &q[0], sizeof(q[0]));
	assert_true(keytable_ref_current(t, &refs[0]));

	/* a wildcard answers the IPv6 stream on the same port/direction */
	assert_int_equal(keytable_add(t, &q[2], 1, &m2, call_id, NULL), 0);
	assert_int_equal(keytable_lookup_bulk_ref(t, q, 4, refs, st), 3);
	assert_int_equal(st[1], KEYTABLE_FOUND);
	assert_int_equal(refs[1].slot, refs[2].slot);
	assert_int_equal(keytable_read_ref(t, &refs[1], &e), 0);
	assert_int_equal(e.key.family, KEYTABLE_FAMILY_ANY);

	/* after a rekey the old ref is stale; a new look-up gives the new one */
	assert_int_equal(keytable_replace(t, &q[0], &m2, &g1), 0);
	assert_int_equal(keytable_read_ref(t, &refs[0], &e), -ESTALE);
	assert_int_equal(e.state, KEYTABLE_STATE_EMPTY);   /* wiped */
	assert_false(keytable_ref_current(t, &refs[0]));
	assert_int_equal(keytable_lookup_bulk_ref(t, q, 1, refs, st), 1);
	assert_int_equal(refs[0].generation, g1);
	assert_int_equal(keytable_read_ref(t, &refs[0], &e), 0);
	assert_memory_equal(e.cur.key, m2.key, 16);
	/* deleted: stale too; nonsense refs are stale, not a crash */
	assert_int_equal(keytable_delete(t, &q[0]), 0);
	assert_int_equal(keytable_read_ref(t, &refs[0], &e), -ESTALE);
	refs[0].slot = 1u << 31;
	assert_int_equal(keytable_read_ref(t, &refs[0], &e), -ESTALE);
	refs[0].slot = 0;
	refs[0].generation = 0;
	assert_int_equal(keytable_read_ref(t, &refs[0], &e), -ESTALE);
	assert_int_equal(keytable_lookup_bulk_ref(t, q, KEYTABLE_BULK_MAX + 1, refs, st),
			 -EINVAL);
	keytable_detach(t);
}

void test_full_table(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 8);
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_info in;
	unsigned int i;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 1);
	for (i = 0; i < 8; i++) {
		key4(&k, (uint8_t)i, 4000, KEYTABLE_DIR_IN);
		assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	}
	key4(&k, 8, 4000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), -ENOSPC);
	assert_non_null(strstr(keytable_last_error(t), "is full (8 entries"));
	keytable_info(t, &in);
	assert_int_equal(in.count, 8);
	key4(&k, 3, 4000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_delete(t, &k), 0);
	key4(&k, 8, 4000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	keytable_detach(t);
}

void test_list(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 300), *r = NULL;
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_entry e;
	uint8_t seen[256];
	uint32_t cur = 0;
	unsigned int i, n = 0;
	int rc;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 1);
	for (i = 0; i < 256; i++) {
		key4(&k, (uint8_t)i, 3000, KEYTABLE_DIR_IN);
		assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	}
	for (i = 0; i < 256; i += 3) {
		key4(&k, (uint8_t)i, 3000, KEYTABLE_DIR_IN);
		assert_int_equal(keytable_delete(t, &k), 0);
	}
	assert_int_equal(keytable_attach_reader(&r, f->name, f->err, sizeof(f->err)), 0);
	memset(seen, 0, sizeof(seen));
	while ((rc = keytable_next(r, &cur, &e)) == 1) {
		assert_int_equal(e.state, KEYTABLE_STATE_LIVE);
		assert_int_equal(seen[e.key.addr[3]], 0);
		seen[e.key.addr[3]] = 1;
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 256 - 86);
	for (i = 0; i < 256; i++)
		assert_int_equal(seen[i], i % 3 != 0);
	assert_int_equal(keytable_next(r, &cur, &e), 0);   /* stays at the end */
	keytable_detach(r);
	keytable_detach(t);
}

/* Random add/replace/delete on a small, crowded table against a model, with
 * every entry checked after every delete: backward-shift deletion must keep
 * every remaining entry reachable. */
void test_model(void **state)
{
	struct fx *f = *state;
	enum { N = 48 };
	struct keytable *t = make(f, N);    /* 128 slots, long clusters */
	struct keytable_key k[N + 16];
	uint64_t gen[N + 16];
	bool live[N + 16];
	struct keytable_master m;
	struct keytable_entry e;
	struct keytable_info in;
	unsigned int i, op, nlive = 0;
	uint32_t rnd = 12345;

	for (i = 0; i < N + 16; i++) {
		/* half the keys share a port; some are wildcards */
		if (i % 7 == 0)
			keytable_key_any(&k[i], (uint16_t)(2000 + i), KEYTABLE_DIR_IN);
		else
			key4(&k[i], (uint8_t)i, (uint16_t)(i % 2 ? 2000 : 2000 + i),
			     KEYTABLE_DIR_IN);
		live[i] = false;
		gen[i] = 0;
	}
	for (op = 0; op < 30000; op++) {
		rnd = rnd * 1103515245u + 12345u;
		i = (rnd >> 8) % (N + 16);
		master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, (uint8_t)(i + op));
		if (!live[i]) {
			int rc = keytable_add(t, &k[i], 1, &m, call_id, &gen[i]);

			if (nlive < N) {
				assert_int_equal(rc, 0);
				live[i] = true;
				nlive++;
			} else {
				assert_int_equal(rc, -ENOSPC);
			}
		} else if ((rnd >> 4) % 3 == 0) {
			assert_int_equal(keytable_replace(t, &k[i], &m, &gen[i]), 0);
		} else {
			unsigned int j;

			assert_int_equal(keytable_delete(t, &k[i]), 0);
			live[i] = false;
			nlive--;
			for (j = 0; j < N + 16; j++) {
				int rc = keytable_get(t, &k[j], &e, NULL);

				if (live[j]) {
					assert_int_equal(rc, 0);
					assert_int_equal(e.generation, gen[j]);
				} else {
					assert_int_equal(rc, -ENOENT);
				}
			}
		}
	}
	keytable_info(t, &in);
	assert_int_equal(in.count, nlive);
	keytable_detach(t);
}

void test_ref_after_shift(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 8);        /* 16 slots */
	struct keytable_master m;
	struct keytable_key k[12];
	struct keytable_entry e;
	struct keytable_ref ref[12], r2;
	unsigned int i, moved = 0;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 1);
	for (i = 0; i < 8; i++) {
		key4(&k[i], (uint8_t)i, 1234, KEYTABLE_DIR_OUT);
		assert_int_equal(keytable_add(t, &k[i], 1, &m, call_id, NULL), 0);
		assert_int_equal(keytable_get(t, &k[i], &e, &ref[i]), 0);
	}
	/* delete each in turn: refs of moved entries go stale, a fresh look-up
	 * finds the same generation (cached expanded keys stay valid) */
	for (i = 0; i < 8; i++) {
		unsigned int j;

		assert_int_equal(keytable_delete(t, &k[i]), 0);
		assert_false(keytable_ref_current(t, &ref[i]));
		for (j = i + 1; j < 8; j++) {
			assert_int_equal(keytable_get(t, &k[j], &e, &r2), 0);
			assert_int_equal(r2.generation, ref[j].generation);
			if (r2.slot != ref[j].slot) {
				moved++;
				assert_false(keytable_ref_current(t, &ref[j]));
				ref[j] = r2;
			}
			assert_true(keytable_ref_current(t, &ref[j]));
		}
	}
	(void)moved;
	r2.slot = 1u << 30;
	assert_false(keytable_ref_current(t, &r2));
	keytable_detach(t);
}

/* ABI 4: each master key's MKI (RFC 3711 3.1) and lifetime (RFC 4568 6.1)
 * are set, refused, stored in cur and next, carried by replace and schedule,
 * and wiped with the keys. */
void test_mki_lifetime(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10);
	struct keytable_master m, n, bad;
	struct keytable_key k;
	struct keytable_entry e;
	static const uint8_t mki[KEYTABLE_MKI_MAX + 1] = { 0xA1, 0xB2, 0xC3, 0xD4, 0xE5 };
	static const uint8_t zero[KEYTABLE_MKI_MAX];

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 21);
	assert_int_equal(m.mki_len, 0);
	assert_int_equal(m.lifetime, 0);
	/* setters: refusals change nothing */
	assert_int_equal(keytable_master_set_mki(&m, mki, 4), 0);
	assert_int_equal(keytable_master_set_mki(&m, mki, KEYTABLE_MKI_MAX + 1), -EINVAL);
	assert_int_equal(keytable_master_set_mki(&m, NULL, 2), -EINVAL);
	assert_int_equal(keytable_master_set_mki(NULL, mki, 2), -EINVAL);
	assert_int_equal(m.mki_len, 4);
	assert_memory_equal(m.mki, mki, 4);
	assert_int_equal(keytable_master_set_lifetime(&m, UINT64_C(1) << 31), 0);
	assert_int_equal(keytable_master_set_lifetime(&m, KEYTABLE_LIFETIME_MAX + 1), -EINVAL);
	assert_int_equal(keytable_master_set_lifetime(NULL, 5), -EINVAL);
	assert_int_equal(m.lifetime, UINT64_C(1) << 31);
	/* a shorter MKI clears the bytes past it */
	assert_int_equal(keytable_master_set_mki(&m, mki + 2, 2), 0);
	assert_memory_equal(m.mki, mki + 2, 2);
	assert_memory_equal(m.mki + 2, zero, 2);

	key4(&k, 4, 4000, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_int_equal(e.cur.mki_len, 2);
	assert_memory_equal(e.cur.mki, mki + 2, 2);
	assert_int_equal(e.cur.lifetime, UINT64_C(1) << 31);

	/* the next key keeps its own, and replace takes the new key's */
	{
		uint8_t key[16], salt[14];

		memset(key, 0x5A, sizeof(key));
		memset(salt, 0x3C, sizeof(salt));
		assert_int_equal(keytable_master_set_salt(&n, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80,
							  key, 16, salt, 14), 0);
	}
	assert_int_equal(keytable_master_set_mki(&n, mki, 1), 0);
	assert_int_equal(keytable_master_set_lifetime(&n, KEYTABLE_LIFETIME_MAX), 0);
	assert_int_equal(keytable_schedule(t, &k, &n, 100, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_int_equal(e.next.mki_len, 1);
	assert_int_equal(e.next.mki[0], 0xA1);
	assert_int_equal(e.next.lifetime, KEYTABLE_LIFETIME_MAX);
	assert_int_equal(e.cur.mki_len, 2);
	assert_int_equal(keytable_replace(t, &k, &n, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_int_equal(e.cur.mki_len, 1);
	assert_int_equal(e.cur.lifetime, KEYTABLE_LIFETIME_MAX);
	assert_int_equal(e.next.mki_len, 0);
	assert_int_equal(e.next.lifetime, 0);

	/* masters built by hand with bad fields are refused, naming them */
	bad = m;
	bad.mki_len = KEYTABLE_MKI_MAX + 1;
	assert_int_equal(keytable_replace(t, &k, &bad, NULL), -EINVAL);
	assert_non_null(strstr(keytable_last_error(t), "5-byte MKI"));
	bad = m;
	bad.lifetime = KEYTABLE_LIFETIME_MAX + 1;
	assert_int_equal(keytable_schedule(t, &k, &bad, 1, NULL), -EINVAL);
	assert_non_null(strstr(keytable_last_error(t), "lifetime"));
	/* junk past mki_len is not stored */
	bad = m;
	bad.mki_len = 1;
	assert_int_equal(keytable_replace(t, &k, &bad, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_int_equal(e.cur.mki_len, 1);
	assert_memory_equal(e.cur.mki + 1, zero, 3);
	assert_int_equal(e.cur.reserved, 0);

	/* delete wipes the whole slot, MKI and lifetime included */
	assert_int_equal(keytable_delete(t, &k), 0);
	{
		static const uint8_t needle[8] = { 0, 0, 0, 0x80, 0, 0, 0, 0 }; /* 2^31 */

		assert_false(file_has(f, m.key, 16));
		assert_false(file_has(f, needle, sizeof(needle)));
	}
	keytable_wipe(&e, sizeof(e));
	keytable_wipe(&m, sizeof(m));
	keytable_wipe(&n, sizeof(n));
	keytable_detach(t);
}
