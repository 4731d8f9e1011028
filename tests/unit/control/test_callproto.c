/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for control/proto/callproto.c (the call key agreement,
 * docs/handshake.md) and noise_handshake_export(): the runner (main) and the
 * agreement cases: call id, mode, profile, keys crosswise, security code; the
 * policy-intent matrix; profile negotiation. The other cases are in
 * test_callproto_attacks.c, test_callproto_reference.c and
 * test_callproto_api.c; the simulation in test_callproto_sim.c.
 */
#include "test_callproto.h"

/* ---- agreement ------------------------------------------------------------------ */

static void test_agree(void **state)
{
	struct callproto_result ri, rr;
	struct callproto_hello h;
	struct sim s;
	int variant;

	(void)state;
	for (variant = 0; variant < 4; variant++) {
		sim_defaults(&s);
		s.use_callbacks = variant & 1;
		s.responder_late_local = variant & 2;
		sim_run(&s);
		assert_agree(&s, &ri, &rr);
		assert_int_equal(ri.mode, CALLPROTO_MODE_E2EE);
		assert_string_equal(ri.reason, "end-to-end encrypted");
		assert_int_equal(ri.profile, CALLPROTO_PROFILE_AEAD_AES_256_GCM);
		assert_int_equal(ri.keys.tx.key_len, 32);
		assert_code_format(ri.security_code);
		assert_memory_equal(ri.peer_static, kp_bob.public_key, NOISE_PUBLIC_KEY_LEN);
		assert_memory_equal(rr.peer_static, kp_alice.public_key, NOISE_PUBLIC_KEY_LEN);
		assert_string_equal(ri.local_user, ALICE);
		assert_string_equal(ri.peer_user, BOB);
		assert_int_equal(ri.peer_media.port, 50000);
		assert_int_equal(rr.peer_media.port, 40000);
		assert_int_equal(rr.peer_media.addr[3], 10);
		assert_true(rr.peer_e2ee_allowed && rr.peer_e2ee_on);
		assert_int_equal(callproto_hello(s.r, &h), 0);
		assert_memory_equal(h.call_id, ri.call_id, CALLPROTO_CALL_ID_LEN);
		assert_string_equal(h.caller, ALICE);
		if (!s.use_callbacks) {
			assert_memory_equal(s.i_seen_peer, kp_bob.public_key, 32);
			assert_memory_equal(s.r_seen_peer, kp_alice.public_key, 32);
		}
		/* 5 frames: HELLO NOISE1 NOISE2 NOISE3 CONFIRM */
		assert_int_equal(s.n_frames, 5);
		/* after done: anything more is the caller's; an ABORT is reported */
		{
			const uint8_t abort_frame[] = { 0, 2, 0x7f, 9 };

			assert_int_equal(callproto_consume(s.i, s.frames[2], s.frame_len[2]),
					 -EALREADY);
			assert_int_equal(callproto_consume(s.r, abort_frame, 4), -ECONNABORTED);
			assert_int_equal(callproto_status(s.r, NULL), CALLPROTO_DONE);
		}
		callproto_result_wipe(&ri);
		callproto_result_wipe(&rr);
		sim_destroy(&s);
	}

	/* two attempts between the same users: fresh call id, keys and code */
	{
		struct callproto_result r2i, r2r;
		struct sim s2;

		sim_defaults(&s);
		sim_run(&s);
		assert_agree(&s, &ri, &rr);
		sim_defaults(&s2);
		sim_run(&s2);
		assert_agree(&s2, &r2i, &r2r);
		assert_memory_not_equal(ri.call_id, r2i.call_id, CALLPROTO_CALL_ID_LEN);
		assert_keys_differ(&ri.keys.tx, &r2i.keys.tx);
		assert_string_not_equal(ri.security_code, r2i.security_code);
		sim_destroy(&s);
		sim_destroy(&s2);
	}
}

/* ---- policy matrix ------------------------------------------------------------- */

static void expected_reason(char *buf, size_t cap, bool aa, bool ao, bool ba, bool bo)
{
	size_t off = 0;

	buf[0] = '\0';
	if (aa && ao && ba && bo) {
		snprintf(buf, cap, "end-to-end encrypted");
		return;
	}
	if (!aa)
		off += (size_t)snprintf(buf + off, cap - off,
			ALICE "'s policy does not allow end-to-end encryption");
	else if (!ao)
		off += (size_t)snprintf(buf + off, cap - off,
			ALICE " has not turned on end-to-end encryption");
	if (!ba)
		snprintf(buf + off, cap - off, "%s" BOB "'s policy does not allow "
			 "end-to-end encryption", off ? "; " : "");
	else if (!bo)
		snprintf(buf + off, cap - off, "%s" BOB " has not turned on end-to-end "
			 "encryption", off ? "; " : "");
}

static void test_policy_matrix(void **state)
{
	struct callproto_result ri, rr;
	char want[CALLPROTO_REASON_MAX];
	unsigned int m;

	(void)state;
	for (m = 0; m < 16; m++) {
		bool aa = m & 1, ao = m & 2, ba = m & 4, bo = m & 8;
		struct sim s;

		sim_defaults(&s);
		s.a.allowed = aa;
		s.a.on = ao;
		s.b.allowed = ba;
		s.b.on = bo;
		sim_run(&s);
		assert_agree(&s, &ri, &rr);
		assert_int_equal(ri.mode, (aa && ao && ba && bo) ? CALLPROTO_MODE_E2EE
								 : CALLPROTO_MODE_STANDARD);
		expected_reason(want, sizeof(want), aa, ao, ba, bo);
		assert_string_equal(ri.reason, want);
		assert_int_equal(rr.peer_e2ee_allowed, aa);
		assert_int_equal(rr.peer_e2ee_on, ao);
		assert_int_equal(ri.peer_e2ee_allowed, ba);
		assert_int_equal(ri.peer_e2ee_on, bo);
		sim_destroy(&s);
	}
	/* the examples of the brief */
	expected_reason(want, sizeof(want), true, true, true, false);
	assert_string_equal(want, "bob@fabrikam has not turned on end-to-end encryption");
	expected_reason(want, sizeof(want), false, true, true, true);
	assert_string_equal(want, "alice@contoso's policy does not allow end-to-end encryption");

	/* an explicit reason: no policy assigned */
	{
		struct callproto_config ci = { 0 };
		struct sim s;

		sim_defaults(&s);
		s.a.allowed = false;
		sim_create(&s);
		callproto_destroy(s.i);
		ci.local = make_local(&s.a);
		ci.local.e2ee_reason = CALLPROTO_INTENT_NO_POLICY;
		ci.peer_user = BOB;
		ci.identity_cb = cb_accept;
		ci.identity_ctx = &s.a_accepts;
		assert_int_equal(callproto_initiator_create(&s.i, &ci), 0);
		sim_pump(&s);
		assert_agree(&s, &ri, &rr);
		assert_int_equal(ri.mode, CALLPROTO_MODE_STANDARD);
		assert_string_equal(ri.reason, ALICE "'s policy does not allow end-to-end "
				    "encryption (no policy assigned)");
		assert_int_equal(rr.peer_e2ee_reason, CALLPROTO_INTENT_NO_POLICY);
		sim_destroy(&s);
	}
	/* compliance recording (reason 4) on the callee: the same text both sides;
	 * it needs allowed clear */
	{
		struct callproto_config cr = { 0 };
		struct callproto *bad = NULL;
		struct sim s;

		sim_defaults(&s);
		s.b.allowed = false;
		s.b.on = false;
		sim_create(&s);
		callproto_destroy(s.r);
		cr.local = make_local(&s.b);
		cr.local.e2ee_reason = CALLPROTO_INTENT_COMPLIANCE_RECORDING;
		cr.identity_cb = cb_accept;
		cr.identity_ctx = &s.b_accepts;
		assert_int_equal(callproto_responder_create(&s.r, &cr), 0);
		sim_pump(&s);
		assert_agree(&s, &ri, &rr);
		assert_int_equal(ri.mode, CALLPROTO_MODE_STANDARD);
		assert_string_equal(ri.reason, "compliance recording applies to " BOB);
		assert_string_equal(rr.reason, ri.reason);
		assert_int_equal(ri.peer_e2ee_reason, CALLPROTO_INTENT_COMPLIANCE_RECORDING);
		cr.local.e2ee_allowed = true;
		assert_int_equal(callproto_responder_create(&bad, &cr), -EINVAL);
		assert_null(bad);
		sim_destroy(&s);
	}
}

/* ---- profiles ------------------------------------------------------------------- */

static void test_profiles(void **state)
{
	static const uint16_t prof_256_128[] = { CALLPROTO_PROFILE_AEAD_AES_256_GCM,
						 CALLPROTO_PROFILE_AEAD_AES_128_GCM };
	struct {
		const uint16_t *a; size_t na; const uint16_t *b; size_t nb; uint16_t want;
	} cases[] = {
		{ prof_both, 2, prof_both, 2, CALLPROTO_PROFILE_AEAD_AES_256_GCM },
		{ prof_256_128, 2, prof_both, 2, CALLPROTO_PROFILE_AEAD_AES_256_GCM },
		{ prof_128, 1, prof_both, 2, CALLPROTO_PROFILE_AEAD_AES_128_GCM },
		{ prof_both, 2, prof_128, 1, CALLPROTO_PROFILE_AEAD_AES_128_GCM },
		{ prof_256, 1, prof_256_128, 2, CALLPROTO_PROFILE_AEAD_AES_256_GCM },
		{ prof_128, 1, prof_128, 1, CALLPROTO_PROFILE_AEAD_AES_128_GCM },
		{ prof_128, 1, prof_256, 1, 0 },
		{ prof_256, 1, prof_128, 1, 0 },
	};
	struct callproto_result ri, rr;
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		const char *why;
		struct sim s;

		sim_defaults(&s);
		s.a.profiles = cases[c].a;
		s.a.n_profiles = cases[c].na;
		s.b.profiles = cases[c].b;
		s.b.n_profiles = cases[c].nb;
		sim_run(&s);
		if (cases[c].want) {
			assert_agree(&s, &ri, &rr);
			assert_int_equal(ri.profile, cases[c].want);
			assert_int_equal(ri.keys.tx.key_len,
					 callproto_profile_key_len(cases[c].want));
			assert_int_equal(ri.keys.rx.key_len, ri.keys.tx.key_len);
			/* bytes past key_len are zero */
			if (ri.keys.tx.key_len == 16) {
				static const uint8_t zero[16];

				assert_memory_equal(ri.keys.tx.key + 16, zero, 16);
			}
		} else {
			assert_int_equal(callproto_status(s.i, &why), CALLPROTO_FAILED);
			assert_non_null(strstr(why, "no SRTP profile in common"));
			assert_nothing_derived(s.i);
			/* the responder learns why from the ABORT */
			assert_int_equal(callproto_status(s.r, &why), CALLPROTO_FAILED);
			assert_non_null(strstr(why, "no SRTP profile in common"));
			assert_int_equal(s.r_ret, -ECONNABORTED);
			assert_nothing_derived(s.r);
			assert_int_equal(s.n_frames, 4);  /* HELLO NOISE1 NOISE2 ABORT */
		}
		sim_destroy(&s);
	}
}


int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agree),
		cmocka_unit_test(test_policy_matrix),
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_bitflips),
		cmocka_unit_test(test_truncations),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_out_of_order),
		cmocka_unit_test(test_replay_old_attempt),
		cmocka_unit_test(test_identity_refused),
		cmocka_unit_test(test_mitm),
		cmocka_unit_test(test_rekey),
		cmocka_unit_test(test_reference_caller),
		cmocka_unit_test(test_reference_callee),
		cmocka_unit_test(test_hello_and_callee),
		cmocka_unit_test(test_framing_and_api),
		cmocka_unit_test(test_security_code),
		cmocka_unit_test(test_noise_export),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
