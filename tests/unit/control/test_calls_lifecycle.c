/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The call manager's life cycle: rekey, list and destroy, a restart that
 * resumes the calls (or leaves no key table entries behind), two managers of
 * one tenant.
 */
#include "test_calls.h"

static char err[CALLS_ERR_MAX];

/* Drive both managers until a's and b's OUT entries carry generation g's
 * keys (a changed current key on both) and both show generation g. */
static void rekey_settle(struct fixture *f, const char *id, uint32_t g,
			 const struct keytable_entry *ao_before,
			 const struct keytable_entry *bo_before)
{
	struct calls_info ia, ib;
	struct keytable_entry ao, bo;

	for (int i = 0; i < 300; i++) {
		drive(f, NULL, 0, 10, NULL);
		assert_int_equal(calls_show(f->a.cm, id, &ia), 0);
		assert_int_equal(calls_show(f->b.cm, id, &ib), 0);
		entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao, 0);
		entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &bo, 0);
		bool done = chain_gen(&ia) == g && chain_gen(&ib) == g &&
			    !master_eq(&ao.cur, &ao_before->cur) &&
			    !master_eq(&bo.cur, &bo_before->cur);
		keytable_wipe(&ao, sizeof(ao));
		keytable_wipe(&bo, sizeof(bo));
		if (done)
			return;
	}
	fail_msg("generation %u not installed on both sides", g);
}

/* Issue 13: no from-index is decided by the control. Each IN entry gets the
 * peer's next key on auth (advanced while one is pending: two rekeys in
 * flight); each OUT entry is replaced once the peer's IN entry holds it. */
void test_rekey(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	struct keytable_entry ao0, ai0, bo0, bi0, ao, ai, bo, bi, ao3, ai3, bo3, bi3;

	set_e2ee(&f->a, "alice", true, true);
	set_e2ee(&f->b, "bob", true, true);
	call_ok(f, id);
	check_call(f, id);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao0, 0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_IN, &ai0, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &bo0, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &bi0, 0);
	assert_int_equal(ao0.flags & KEYTABLE_F_NEXT, 0);

	/* alice rekeys: generation 2 */
	assert_int_equal(calls_rekey(f->a.cm, id, 1000, err, sizeof(err)), 0);
	rekey_settle(f, id, 2, &ao0, &bo0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao, 0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_IN, &ai, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &bo, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &bi, 0);
	assert_int_equal(ao.flags, 0);                 /* senders: at once */
	assert_int_equal(bo.flags, 0);
	assert_int_equal(ai.flags, KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH);
	assert_int_equal(bi.flags, KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH);
	assert_int_equal(ai.next_from_index, 0);
	assert_true(master_eq(&ai.cur, &ai0.cur));     /* receivers: old key kept */
	assert_true(master_eq(&bi.cur, &bi0.cur));
	assert_true(master_eq(&bi.next, &ao.cur));     /* ... and the new one pending */
	assert_true(master_eq(&ai.next, &bo.cur));
	assert_false(master_eq(&ao.cur, &ao0.cur));
	assert_false(master_eq(&ao.cur, &bo.cur));
	assert_int_equal(ao.mode, KEYTABLE_MODE_E2EE);

	/* bob rekeys before anything was sent: advanced, three keys */
	assert_int_equal(calls_rekey(f->b.cm, id, 0, err, sizeof(err)), 0);
	rekey_settle(f, id, 3, &ao, &bo);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao3, 0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_IN, &ai3, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &bo3, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &bi3, 0);
	assert_int_equal(ai3.flags, KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH | KEYTABLE_F_PREV);
	assert_int_equal(bi3.flags, KEYTABLE_F_NEXT | KEYTABLE_F_NEXT_ON_AUTH | KEYTABLE_F_PREV);
	assert_true(master_eq(&ai3.cur, &bo.cur));
	assert_true(master_eq(&bi3.cur, &ao.cur));
	assert_true(master_eq(&ai3.next, &bo3.cur));
	assert_true(master_eq(&bi3.next, &ao3.cur));

	/* a third within CALLS_REKEY_GAP_MS: refused, nothing changed */
	assert_int_equal(calls_rekey(f->a.cm, id, 0, err, sizeof(err)), -EBUSY);
	assert_non_null(strstr(err, "two rekeys are already in flight"));

	/* both at once, a while later: the same generation crosses */
	usleep(1000 * (CALLS_REKEY_GAP_MS + 50));
	assert_int_equal(calls_rekey(f->a.cm, id, 0, err, sizeof(err)), 0);
	assert_int_equal(calls_rekey(f->b.cm, id, 0, err, sizeof(err)), 0);
	rekey_settle(f, id, 4, &ao3, &bo3);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao, 0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_IN, &ai, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &bo, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &bi, 0);
	assert_true(master_eq(&bi.next, &ao.cur));
	assert_true(master_eq(&ai.next, &bo.cur));
	assert_true(master_eq(&bi.cur, &ao3.cur));

	assert_int_equal(calls_rekey(f->a.cm, "nosuchcall", 0, err, sizeof(err)), -ENOENT);
	end_call(f, id);
	struct keytable_entry *all[] = { &ao0, &ai0, &bo0, &bi0, &ao, &ai, &bo, &bi,
					 &ao3, &ai3, &bo3, &bi3 };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		keytable_wipe(all[i], sizeof(*all[i]));
}

/* calls_config.rekey_interval_s: an active call is rekeyed by itself. */
void test_auto_rekey(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	struct keytable_entry ao0, bo0;
	struct calls_info ia;

	call_ok(f, id);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao0, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &bo0, 0);
	assert_int_equal(calls_show(f->a.cm, id, &ia), 0);
	assert_int_equal(chain_gen(&ia), 0);
	rekey_settle(f, id, 2, &ao0, &bo0);          /* within 3 s, nothing asked */
	end_call(f, id);
	keytable_wipe(&ao0, sizeof(ao0));
	keytable_wipe(&bo0, sizeof(bo0));
}

void test_list_and_destroy(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	unsigned int n = 0;
	struct store_call c;

	call_ok(f, id);
	assert_int_equal(calls_list(f->a.cm, count_fn, &n), 0);
	assert_int_equal(n, 1);
	/* shutting alice's manager down ends the call at bob's */
	calls_destroy(f->a.cm);
	f->a.cm = NULL;
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(store_call_get(f->a.st, id, &c, err, sizeof(err)), 0);
	assert_int_equal(c.state, STORE_CALL_ENDED);
	struct pollfd fds[8];

	for (int i = 0; i < 200 && f->b.n_ev < 2; i++) {
		int nb = calls_pollfds(f->b.cm, fds, 8);

		poll(fds, (nfds_t)nb, 10);
		calls_handle(f->b.cm, fds, (size_t)nb);
	}
	assert_int_equal(last(&f->b)->state, CALLS_ENDED);
	assert_int_equal(table_count(&f->b), 0);
}

/* A control restart: release keeps the call (entries, store), the peer
 * detaches; the next manager on the same table and store resumes it
 * detached, shows the same call, ends it (entries gone); entries a crashed
 * manager left for a failed call are removed, static ones are not. */
void test_restart_resume(void **state)
{
	struct fixture *f = *state;
	struct calls_resume_report rr;
	struct keytable_master m;
	struct keytable_key k;
	struct store_call sc;
	struct calls_info in, before;
	char id[CALLS_ID_LEN + 1];
	static const uint8_t ip[4] = { 127, 0, 0, 1 };
	uint8_t key[32] = { 1 }, salt[12] = { 2 };
	unsigned int b0;

	call_ok(f, id);
	assert_int_equal(calls_show(f->a.cm, id, &before), 0);
	b0 = f->b.n_ev;
	calls_release(f->a.cm);
	f->a.cm = NULL;
	assert_int_equal(table_count(&f->a), 2);
	assert_int_equal(store_call_get(f->a.st, id, &sc, err, sizeof(err)), 0);
	assert_int_equal(sc.state, STORE_CALL_ACTIVE);
	/* bob's side: detached, keys kept */
	f->a.cm = NULL;
	{
		struct pollfd fds[8];
		uint64_t end = ms_now() + 3000;

		while (f->b.n_ev == b0 && ms_now() < end) {
			int nb = calls_pollfds(f->b.cm, fds, 8);

			poll(fds, (nfds_t)nb, 5);
			calls_handle(f->b.cm, fds, (size_t)nb);
		}
	}
	assert_int_equal(last(&f->b)->state, CALLS_ACTIVE);
	assert_true(last(&f->b)->detached);
	assert_int_equal(table_count(&f->b), 2);

	/* a crashed run's leftovers: a failed call's entry, and a static entry */
	assert_int_equal(keytable_master_set(&m, KEYTABLE_PROFILE_AEAD_AES_256_GCM, key, 32,
					     salt), 0);
	keytable_key_ipv4(&k, ip, 41000, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(f->a.kt, &k, KEYTABLE_MODE_E2EE, &m,
				      (const uint8_t *)"00000000deadbeef", NULL), 0);
	memset(&sc, 0, sizeof(sc));
	snprintf(sc.id, sizeof(sc.id), "00000000deadbeef");
	snprintf(sc.local_user, sizeof(sc.local_user), "alice");
	snprintf(sc.remote, sizeof(sc.remote), "bob@fabrikam");
	sc.role = STORE_ROLE_INITIATOR;
	sc.mode = STORE_MODE_PENDING;
	sc.state = STORE_CALL_SETUP;
	snprintf(sc.local_media, sizeof(sc.local_media), "127.0.0.1:41000");
	assert_int_equal(store_call_add(f->a.st, &sc, err, sizeof(err)), 0);
	keytable_key_ipv4(&k, ip, 41001, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(f->a.kt, &k, KEYTABLE_MODE_STANDARD, &m,
				      (const uint8_t *)"static-key-0001\0", NULL), 0);
	keytable_wipe(&m, sizeof(m));
	assert_int_equal(table_count(&f->a), 4);

	assert_int_equal(side_start(f, &f->a, false, 3000, 0), 0);
	assert_int_equal(calls_resume(f->a.cm, &rr, err, sizeof(err)), 0);
	assert_int_equal(rr.resumed, 1);
	assert_int_equal(rr.failed, 1);
	assert_int_equal(rr.removed, 1);
	assert_int_equal(table_count(&f->a), 3);
	assert_int_equal(store_call_get(f->a.st, "00000000deadbeef", &sc, err, sizeof(err)), 0);
	assert_int_equal(sc.state, STORE_CALL_FAILED);
	assert_int_equal(calls_show(f->a.cm, id, &in), 0);
	assert_true(in.detached);
	assert_int_equal(in.state, CALLS_ACTIVE);
	assert_int_equal(in.mode, before.mode);
	assert_string_equal(in.security_code, before.security_code);
	assert_string_equal(in.peer, before.peer);
	assert_string_equal(in.local_media, before.local_media);
	assert_int_equal(calls_rekey(f->a.cm, id, 0, err, sizeof(err)), -ENOTCONN);
	/* the pool does not hand out a resumed call's media port */
	assert_int_equal(calls_end(f->a.cm, id, err, sizeof(err)), 0);
	assert_int_equal(table_count(&f->a), 1);   /* the static entry */
	assert_int_equal(store_call_get(f->a.st, id, &sc, err, sizeof(err)), 0);
	assert_int_equal(sc.state, STORE_CALL_ENDED);
	assert_int_equal(calls_end(f->b.cm, id, err, sizeof(err)), 0);
	assert_int_equal(table_count(&f->b), 0);
	/* a second resume finds nothing to do */
	assert_int_equal(calls_resume(f->a.cm, &rr, err, sizeof(err)), 0);
	assert_int_equal(rr.resumed + rr.failed + rr.removed, 0);
}

/* An active call whose entries are gone at restart is marked failed. */
void test_restart_entries_gone(void **state)
{
	struct fixture *f = *state;
	struct calls_resume_report rr;
	struct store_call sc;
	struct keytable_key k;
	static const uint8_t ip[4] = { 127, 0, 0, 1 };
	char id[CALLS_ID_LEN + 1];

	call_ok(f, id);
	calls_release(f->a.cm);
	f->a.cm = NULL;
	keytable_key_ipv4(&k, ip, 40000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_delete(f->a.kt, &k), 0);
	assert_int_equal(side_start(f, &f->a, false, 3000, 0), 0);
	assert_int_equal(calls_resume(f->a.cm, &rr, err, sizeof(err)), 0);
	assert_int_equal(rr.resumed, 0);
	assert_int_equal(rr.failed, 1);
	assert_int_equal(rr.removed, 1);   /* the out entry that was left */
	assert_int_equal(table_count(&f->a), 0);
	assert_int_equal(store_call_get(f->a.st, id, &sc, err, sizeof(err)), 0);
	assert_int_equal(sc.state, STORE_CALL_FAILED);
	assert_int_equal(calls_show(f->a.cm, id, &(struct calls_info){ 0 }), -ENOENT);
}

/*
 * Issue 16: bob's manager offers only AES_CM_128_HMAC_SHA1_80, alice's
 * everything (GCM first): the call runs on AES-CM, its table entries hold
 * the 16-octet key and the 14-octet salt crosswise, a rekey keeps the
 * profile and its lengths, and the recorder gets the current keys in the
 * v2 blob (profile, lengths, the whole 14-octet salt).
 */
void test_aes_cm_call(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	struct calls_info ia, ib;
	struct keytable_entry ao0, bo0, ao, ai, bo, bi;
	struct store_call ca;
	uint8_t sealed[CALLS_KEYS_SEALED_MAX], plain[CALLS_KEYS_PLAIN_V2];
	size_t n = 0;

	call_ok(f, id);         /* standard: neither turned it on */
	assert_int_equal(calls_show(f->a.cm, id, &ia), 0);
	assert_int_equal(calls_show(f->b.cm, id, &ib), 0);
	assert_string_equal(ia.profile, "AES_CM_128_HMAC_SHA1_80");
	assert_string_equal(ib.profile, "AES_CM_128_HMAC_SHA1_80");
	assert_int_equal(store_call_get(f->a.st, id, &ca, err, sizeof(err)), 0);
	assert_string_equal(ca.profile, "AES_CM_128_HMAC_SHA1_80");
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao0, 0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_IN, &ai, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &bo0, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &bi, 0);
	assert_int_equal(ao0.cur.profile, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(ao0.cur.key_len, 16);
	assert_int_equal(ao0.cur.salt_len, 14);
	assert_int_equal(bi.cur.salt_len, 14);
	assert_int_equal(ai.cur.salt_len, 14);
	assert_true(master_eq(&ao0.cur, &bi.cur));
	assert_true(master_eq(&ai.cur, &bo0.cur));
	assert_false(master_eq(&ao0.cur, &ai.cur));
	assert_int_equal(ao0.mode, KEYTABLE_MODE_STANDARD);

	/* a rekey: the next keys are AES-CM's too, crosswise */
	assert_int_equal(calls_rekey(f->a.cm, id, 0, err, sizeof(err)), 0);
	rekey_settle(f, id, 2, &ao0, &bo0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &bo, 0);
	keytable_wipe(&bi, sizeof(bi));
	keytable_wipe(&ai, sizeof(ai));
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &bi, 0);
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_IN, &ai, 0);
	assert_int_equal(ao.cur.salt_len, 14);
	assert_int_equal(bi.next.profile, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(bi.next.salt_len, 14);
	assert_true(master_eq(&bi.next, &ao.cur));
	assert_true(master_eq(&ai.next, &bo.cur));
	assert_false(master_eq(&ao.cur, &ao0.cur));

	/* the recorder's v2 blob (docs/calls.md "Recorder blob"): version 2,
	 * call id, then bob's current out and in keys with the whole salt; a
	 * buffer of v1's size is too small for it */
	assert_int_equal(calls_feature(f->b.cm, id, "keys", sealed, CALLS_KEYS_SEALED_V1, &n,
				       err, sizeof(err)), -ENOBUFS);
	assert_non_null(strstr(err, "176 octets needed"));
	assert_int_equal(calls_feature(f->b.cm, id, "keys", sealed, sizeof(sealed), &n,
				       err, sizeof(err)), 0);
	assert_int_equal(n, CALLS_KEYS_SEALED_V2);
	assert_int_equal(crypto_box_seal_open(plain, sealed, n, f->rec_pk, f->rec_sk), 0);
	assert_int_equal(plain[0], CALLS_KEYS_V2);
	assert_int_equal(plain[1] | plain[2] | plain[3], 0);
	assert_memory_equal(plain + 4, id, CALLS_ID_LEN);
	for (size_t i = 0; i < 2; i++) {
		const uint8_t *e = plain + 4 + CALLS_ID_LEN + i * CALLS_KEYS_ENTRY_V2;
		const struct keytable_master *m = i == 0 ? &bo.cur : &bi.cur;

		assert_int_equal(e[0], i == 0 ? KEYTABLE_DIR_OUT : KEYTABLE_DIR_IN);
		assert_int_equal(e[2] << 8 | e[3], KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80);
		assert_int_equal(e[4], 16);
		assert_int_equal(e[5], 14);
		assert_memory_equal(e + 8, m->key, 32);        /* 16 octets, then zeros */
		assert_memory_equal(e + 40, m->salt, 14);
	}
	sodium_memzero(plain, sizeof(plain));
	end_call(f, id);
	struct keytable_entry *all[] = { &ao0, &bo0, &ao, &ai, &bo, &bi };
	for (size_t i = 0; i < sizeof(all) / sizeof(all[0]); i++)
		keytable_wipe(all[i], sizeof(*all[i]));
}

/* calls_config.profiles: checked at calls_create; an offer without anything
 * in common with the peer's fails the call on both sides, nothing installed. */
void test_offer_config(void **state)
{
	static const uint16_t unknown[] = { 0x0003 }, twice[] = { 0x0001, 0x0001 },
		cm32[] = { CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_32 },
		many[CALLPROTO_MAX_PROFILES + 1] = { 0x0001 };
	struct fixture *f = *state;
	struct calls_config cfg = {
		.table = f->a.kt, .store = f->a.st, .tenant = "contoso",
	};
	struct calls *cm = NULL;
	char id[CALLS_ID_LEN + 1];
	struct calls_info ib;
	struct keytable_entry ao, bi;

#define REFUSED(p, n, text) do { \
		cfg.profiles = p; \
		cfg.n_profiles = n; \
		assert_int_equal(calls_create(&cm, &cfg, err, sizeof(err)), -EINVAL); \
		assert_null(cm); \
		if (!strstr(err, text)) \
			fail_msg("\"%s\"", err); \
	} while (0)
	REFUSED(unknown, 1, "0x0003 is not one this side can key");
	REFUSED(twice, 2, "AES_CM_128_HMAC_SHA1_80 is offered twice");
	REFUSED(cm32, 0, "offer 1..16");
	REFUSED(many, CALLPROTO_MAX_PROFILES + 1, "offer 1..16");
#undef REFUSED

	/* alice's manager offers only AES_CM_128_HMAC_SHA1_32, bob's the default
	 * (GCM first, then AES-CM): the call takes the one in common */
	calls_destroy(f->a.cm);
	f->a.cm = NULL;
	fixture_offer_a = cm32;
	fixture_n_offer_a = 1;
	assert_int_equal(side_start(f, &f->a, false, 3000, 0), 0);
	fixture_offer_a = NULL;
	fixture_n_offer_a = 0;
	call_ok(f, id);
	assert_int_equal(calls_show(f->b.cm, id, &ib), 0);
	assert_string_equal(ib.profile, "AES_CM_128_HMAC_SHA1_32");
	entry(&f->a, ALICE_MEDIA, KEYTABLE_DIR_OUT, &ao, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &bi, 0);
	assert_int_equal(ao.cur.profile, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32);
	assert_int_equal(ao.cur.salt_len, 14);
	assert_true(master_eq(&ao.cur, &bi.cur));
	keytable_wipe(&ao, sizeof(ao));
	keytable_wipe(&bi, sizeof(bi));
	end_call(f, id);
}
