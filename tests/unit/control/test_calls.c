/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for control/calls/calls.c (the call manager, docs/calls.md): the
 * runner (main) and the calls themselves: an end-to-end encrypted call, the
 * standard modes and features (the recorder's keys), pinned / TOFU
 * identities, refused dials. Attacks are in test_calls_attacks.c, rekey and
 * the managers' life cycle in test_calls_lifecycle.c, the fixture in
 * test_calls_fixture.c.
 */
#include "test_calls.h"

static char err[CALLS_ERR_MAX];

/* ---- tests -------------------------------------------------------------------------- */

/* the product's full list (docs/policy.md "Features"), then callseal's keys */
static const char *const media_features[] = {
	"record", "transcribe", "captions", "transfer", "consult-transfer",
	"transfer-device", "park", "merge", "add-participant", "voicemail", "simulring",
	"keys",
};

static void test_e2ee_call(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	uint8_t sealed[CALLS_KEYS_SEALED_MAX];
	size_t n = 0;

	set_e2ee(&f->a, "alice", true, true);
	set_e2ee(&f->b, "bob", true, true);
	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_E2EE);
	assert_string_equal(last(&f->a)->reason, "end-to-end encrypted");
	for (size_t i = 0; i < sizeof(media_features) / sizeof(media_features[0]); i++) {
		err[0] = '\0';
		assert_int_equal(calls_feature(f->a.cm, id, media_features[i], sealed,
					       sizeof(sealed), &n, err, sizeof(err)), -EPERM);
		assert_string_equal(err, "not available while the call is end-to-end encrypted");
		assert_int_equal(calls_feature(f->b.cm, id, media_features[i], sealed,
					       sizeof(sealed), &n, err, sizeof(err)), -EPERM);
		assert_string_equal(err, CALLS_E2EE_REFUSAL);
	}
	assert_int_equal(calls_feature(f->a.cm, id, "fly", NULL, 0, NULL, err, sizeof(err)),
			 -EINVAL);
	end_call(f, id);
}

static void test_standard_modes(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];

	/* bob has no policy at all */
	set_e2ee(&f->a, "alice", true, true);
	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_STANDARD);
	assert_string_equal(last(&f->a)->reason, "bob@fabrikam's policy does not allow "
			    "end-to-end encryption (no policy assigned)");
	end_call(f, id);
	/* bob allowed but not turned on */
	set_e2ee(&f->b, "bob", true, false);
	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_STANDARD);
	assert_string_equal(last(&f->b)->reason,
			    "bob@fabrikam has not turned on end-to-end encryption");
	end_call(f, id);
	/* both on: e2ee; alice off: standard naming alice */
	set_e2ee(&f->b, "bob", true, true);
	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_E2EE);
	end_call(f, id);
	set_e2ee(&f->a, "alice", true, false);
	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_STANDARD);
	assert_string_equal(last(&f->a)->reason,
			    "alice@contoso has not turned on end-to-end encryption");
	end_call(f, id);
}

static void test_standard_features(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	uint8_t sealed[CALLS_KEYS_SEALED_MAX], plain[CALLS_KEYS_PLAIN_V1];
	struct keytable_entry out, in;
	size_t n = 0;

	call_ok(f, id);
	assert_int_equal(check_call(f, id), CALLPROTO_MODE_STANDARD);
	for (size_t i = 0; i + 1 < sizeof(media_features) / sizeof(media_features[0]); i++)
		assert_int_equal(calls_feature(f->a.cm, id, media_features[i], NULL, 0, NULL,
					       err, sizeof(err)), 0);
	assert_int_equal(calls_feature(f->b.cm, id, "keys", sealed, sizeof(sealed), &n,
				       err, sizeof(err)), 0);
	/* a GCM call: the v1 layout (no version octet), as recorders knew it */
	assert_int_equal(n, CALLS_KEYS_SEALED_V1);
	assert_int_equal(crypto_box_seal_open(plain, sealed, n, f->rec_pk, f->rec_sk), 0);
	assert_memory_equal(plain, id, 16);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_OUT, &out, 0);
	entry(&f->b, BOB_MEDIA, KEYTABLE_DIR_IN, &in, 0);
	assert_int_equal(plain[16], KEYTABLE_DIR_OUT);
	assert_int_equal(plain[16 + 4], 32);
	assert_memory_equal(plain + 16 + 8, out.cur.key, 32);
	assert_memory_equal(plain + 16 + 40, out.cur.salt, 12);
	assert_int_equal(plain[16 + 5], 0);
	assert_int_equal(plain[68], KEYTABLE_DIR_IN);
	assert_memory_equal(plain + 68 + 8, in.cur.key, 32);
	assert_memory_equal(plain + 68 + 40, in.cur.salt, 12);
	/* v1's exact size is enough for a GCM call */
	assert_int_equal(calls_feature(f->b.cm, id, "keys", sealed, CALLS_KEYS_SEALED_V1, &n,
				       err, sizeof(err)), 0);
	assert_int_equal(n, CALLS_KEYS_SEALED_V1);
	/* a wrong recorder key cannot open it */
	uint8_t pk2[32], sk2[32];

	crypto_box_keypair(pk2, sk2);
	assert_int_not_equal(crypto_box_seal_open(plain, sealed, n, pk2, sk2), 0);
	assert_int_equal(calls_feature(f->b.cm, id, "keys", sealed, 10, &n, err, sizeof(err)),
			 -ENOBUFS);
	end_call(f, id);
}

static void test_pinned_mismatch(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	uint8_t junk[32];
	struct store_call c;

	/* the callee has a different key pinned for alice */
	randombytes_buf(junk, sizeof(junk));
	assert_int_equal(store_peer_set(f->b.st, "alice@contoso", junk, NULL, true,
					err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, 1, 3000, NULL);
	drive(f, &f->b.n_ev, 1, 1000, NULL);
	check_failed_clean(f);
	assert_int_equal(last(&f->b)->state, CALLS_FAILED);
	assert_non_null(strstr(last(&f->b)->reason, "does not match the pinned key"));
	assert_int_equal(store_call_get(f->a.st, id, &c, err, sizeof(err)), 0);
	assert_int_equal(c.state, STORE_CALL_FAILED);
	/* the callee writes a record only for an authenticated caller */
	assert_int_equal(store_call_get(f->b.st, id, &c, err, sizeof(err)), -ENOENT);

	/* the caller has a different key pinned for bob */
	user_pub(&f->a, "alice", junk);
	assert_int_equal(store_peer_set(f->b.st, "alice@contoso", junk, NULL, true,
					err, sizeof(err)), 0);
	randombytes_buf(junk, sizeof(junk));
	assert_int_equal(store_peer_set(f->a.st, "bob@fabrikam", junk, NULL, true,
					err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, 2, 3000, NULL);
	drive(f, &f->b.n_ev, 2, 1000, NULL);
	check_failed_clean(f);
	assert_non_null(strstr(last(&f->a)->reason, "does not match the pinned key"));
	assert_int_equal(last(&f->b)->state, CALLS_FAILED);
	assert_int_equal(calls_show(f->a.cm, id, &(struct calls_info){0}), -ENOENT);
}

static void test_tofu(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];
	struct store_peer p;
	uint8_t pa[32], pb[32];

	/* the caller knows bob's address but not his key; the callee does not
	 * know alice at all */
	assert_int_equal(store_peer_del(f->a.st, "bob@fabrikam", err, sizeof(err)), 0);
	assert_int_equal(store_peer_add(f->a.st, "bob@fabrikam", NULL,
					addr_of(calls_listen_port(f->b.cm)), false,
					err, sizeof(err)), 0);
	assert_int_equal(store_peer_del(f->b.st, "alice@contoso", err, sizeof(err)), 0);
	call_ok(f, id);
	check_call(f, id);
	user_pub(&f->a, "alice", pa);
	user_pub(&f->b, "bob", pb);
	assert_int_equal(store_peer_show(f->a.st, "bob@fabrikam", &p, err, sizeof(err)), 0);
	assert_true(p.has_key);
	assert_memory_equal(p.public_key, pb, 32);
	assert_int_equal(store_peer_show(f->b.st, "alice@contoso", &p, err, sizeof(err)), 0);
	assert_true(p.has_key);
	assert_memory_equal(p.public_key, pa, 32);
	end_call(f, id);
	/* now learnt: a different key is refused */
	uint8_t junk[32];

	randombytes_buf(junk, sizeof(junk));
	assert_int_equal(store_peer_set(f->a.st, "bob@fabrikam", junk, NULL, false,
					err, sizeof(err)), 0);
	unsigned int a0 = f->a.n_ev;

	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, a0 + 1, 3000, NULL);
	check_failed_clean(f);
	assert_non_null(strstr(last(&f->a)->reason, "does not match"));
}

static void test_no_tofu_unknown(void **state)
{
	struct fixture *f = *state;
	char id[CALLS_ID_LEN + 1];

	/* without TOFU: the callee does not know alice -> refused */
	assert_int_equal(store_peer_del(f->b.st, "alice@contoso", err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, 1, 3000, NULL);
	drive(f, &f->b.n_ev, 1, 1000, NULL);
	check_failed_clean(f);
	assert_non_null(strstr(last(&f->b)->reason, "trust on first use is off"));
	/* the caller knows bob without a key -> refused at NOISE2 */
	uint8_t pa[32];

	user_pub(&f->a, "alice", pa);
	assert_int_equal(store_peer_add(f->b.st, "alice@contoso", pa,
					addr_of(calls_listen_port(f->a.cm)), true,
					err, sizeof(err)), 0);
	assert_int_equal(store_peer_del(f->a.st, "bob@fabrikam", err, sizeof(err)), 0);
	assert_int_equal(store_peer_add(f->a.st, "bob@fabrikam", NULL,
					addr_of(calls_listen_port(f->b.cm)), false,
					err, sizeof(err)), 0);
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), 0);
	drive(f, &f->a.n_ev, 2, 3000, NULL);
	check_failed_clean(f);
	assert_non_null(strstr(last(&f->a)->reason, "trust on first use is off"));
	/* unknown callee, unknown peer in dial */
	assert_int_equal(calls_dial(f->a.cm, "alice", "carol@nowhere", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), -ENOENT);
	assert_int_equal(calls_dial(f->a.cm, "nobody", "bob@fabrikam", ALICE_MEDIA, NULL, id,
				    err, sizeof(err)), -ENOENT);
	assert_int_equal(calls_dial(f->a.cm, "alice", "bob@fabrikam", "nonsense", NULL, id,
				    err, sizeof(err)), -EINVAL);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test_setup_teardown(test_e2ee_call, setup, teardown),
		cmocka_unit_test_setup_teardown(test_standard_modes, setup, teardown),
		cmocka_unit_test_setup_teardown(test_standard_features, setup, teardown),
		cmocka_unit_test_setup_teardown(test_pinned_mismatch, setup, teardown),
		cmocka_unit_test_setup_teardown(test_tofu, setup_tofu, teardown),
		cmocka_unit_test_setup_teardown(test_no_tofu_unknown, setup, teardown),
		cmocka_unit_test_setup_teardown(test_stall_timeout, setup_short, teardown),
		cmocka_unit_test_setup_teardown(test_bounded_attempts, setup_short, teardown),
		cmocka_unit_test_setup_teardown(test_per_source, setup_bounds, teardown),
		cmocka_unit_test_setup_teardown(test_dial_budget, setup_bounds, teardown),
		cmocka_unit_test_setup_teardown(test_many_calls, setup_many, teardown_many),
		cmocka_unit_test_setup_teardown(test_garbage, setup, teardown),
		cmocka_unit_test_setup_teardown(test_modified_bytes, setup_short, teardown),
		cmocka_unit_test_setup_teardown(test_rekey, setup, teardown),
		cmocka_unit_test_setup_teardown(test_auto_rekey, setup_auto_rekey, teardown),
		cmocka_unit_test_setup_teardown(test_list_and_destroy, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_restart_entries_gone, setup, teardown),
		cmocka_unit_test_setup_teardown(test_aes_cm_call, setup_aes_cm, teardown),
		cmocka_unit_test_setup_teardown(test_offer_config, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_call_e2ee, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_call_standard, setup, teardown),
		cmocka_unit_test_setup_teardown(test_self_call_resume, setup, teardown),
		cmocka_unit_test_setup_teardown(test_two_sites, setup_one_tenant, teardown),
		cmocka_unit_test_setup_teardown(test_two_sites_impostor, setup_one_tenant, teardown),
		cmocka_unit_test_setup_teardown(test_reuse_recovery, setup_stats, teardown),
		cmocka_unit_test_setup_teardown(test_leg_stats, setup_stats, teardown),
		cmocka_unit_test_setup_teardown(test_history_ends, setup_stats, teardown),
		cmocka_unit_test_setup_teardown(test_history_failed, setup, teardown),
		cmocka_unit_test_setup_teardown(test_history_retention, setup_history_short,
						teardown),
		cmocka_unit_test_setup_teardown(test_history_keep_none, setup_history_none,
						teardown),
		cmocka_unit_test_setup_teardown(test_generations, setup, teardown),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
