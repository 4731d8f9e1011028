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

#define CM80 CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_80
#define CM32 CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_32
#define G128 CALLPROTO_PROFILE_AEAD_AES_128_GCM
#define G256 CALLPROTO_PROFILE_AEAD_AES_256_GCM

static void test_profiles(void **state)
{
	static const uint16_t prof_256_128[] = { CALLPROTO_PROFILE_AEAD_AES_256_GCM,
						 CALLPROTO_PROFILE_AEAD_AES_128_GCM };
	/* the AES-CM profiles: GCM stays the choice wherever both offer it,
	 * whatever the order of an offer */
	static const uint16_t all[] = { G256, G128, CM80, CM32 }, cm[] = { CM80, CM32 },
		cm32_80[] = { CM32, CM80 }, cm80[] = { CM80 }, cm32[] = { CM32 },
		cm80_128[] = { CM80, G128 }, g128_cm32[] = { G128, CM32 },
		cm32_256[] = { CM32, G256 };
	struct {
		const uint16_t *a; size_t na; const uint16_t *b; size_t nb; uint16_t want;
	} cases[] = {
		{ all, 4, all, 4, G256 },
		{ cm80_128, 2, all, 4, G128 },
		{ all, 4, cm80_128, 2, G128 },
		{ cm80_128, 2, g128_cm32, 2, G128 },
		{ cm32_256, 2, all, 4, G256 },
		{ cm, 2, all, 4, CM80 },
		{ all, 4, cm, 2, CM80 },
		{ cm32_80, 2, cm, 2, CM80 },
		{ cm32, 1, all, 4, CM32 },
		{ all, 4, cm32, 1, CM32 },
		{ cm80, 1, cm80_128, 2, CM80 },
		{ g128_cm32, 2, cm32_80, 2, CM32 },
		{ cm80, 1, cm32, 1, 0 },
		{ cm, 2, prof_both, 2, 0 },
		{ prof_128, 1, cm, 2, 0 },
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
			assert_int_equal(ri.keys.tx.salt_len,
					 cases[c].want == CM80 || cases[c].want == CM32 ? 14 : 12);
			/* bytes past key_len and salt_len are zero */
			if (ri.keys.tx.key_len == 16) {
				static const uint8_t zero[16];

				assert_memory_equal(ri.keys.tx.key + 16, zero, 16);
			}
			if (ri.keys.tx.salt_len == 12) {
				static const uint8_t zero[2];

				assert_memory_equal(ri.keys.tx.salt + 12, zero, 2);
				assert_memory_equal(rr.keys.tx.salt + 12, zero, 2);
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

/* The offer's table: the default list, names in, names out, refusals. */
static void test_profile_names(void **state)
{
	uint16_t p[CALLPROTO_MAX_PROFILES];
	char err[512];
	size_t n = 99;

	(void)state;
	/* the default offer: every profile, GCM first */
	assert_int_equal(callproto_profiles_default(p), 4);
	assert_int_equal(p[0], G256);
	assert_int_equal(p[1], G128);
	assert_int_equal(p[2], CM80);
	assert_int_equal(p[3], CM32);
	assert_int_equal(callproto_profile_key_len(CM80), 16);
	assert_int_equal(callproto_profile_salt_len(CM32), 14);
	assert_int_equal(callproto_profile_salt_len(G256), 12);
	assert_int_equal(callproto_profile_salt_len(0x0003), 0);
	assert_string_equal(callproto_profile_name(CM32), "AES_CM_128_HMAC_SHA1_32");

	/* in the order given, any case */
	assert_int_equal(callproto_profiles_parse("aes_cm_128_hmac_sha1_32,AEAD_AES_128_GCM",
						  p, &n, "--srtp-profiles", err, sizeof(err)), 0);
	assert_int_equal(n, 2);
	assert_int_equal(p[0], CM32);
	assert_int_equal(p[1], G128);
	assert_int_equal(callproto_profiles_parse("AES_CM_128_HMAC_SHA1_80", p, &n, "--x",
						  err, sizeof(err)), 0);
	assert_int_equal(n, 1);
	assert_int_equal(p[0], CM80);
#define BAD(list, text) do { \
		n = 99; \
		assert_int_equal(callproto_profiles_parse(list, p, &n, "--srtp-profiles", \
							  err, sizeof(err)), -EINVAL); \
		assert_int_equal(n, 0); \
		if (!strstr(err, text) || !strstr(err, "--srtp-profiles")) \
			fail_msg("%s: \"%s\"", list ? list : "NULL", err); \
	} while (0)
	BAD(NULL, "empty");
	BAD("", "empty");
	BAD("AES_CM_128_HMAC_SHA1_80,", "an empty item");
	BAD(",AEAD_AES_128_GCM", "an empty item");
	BAD("AEAD_AES_128_GCM,,AES_CM_128_HMAC_SHA1_80", "an empty item");
	BAD("AES_CM_128_HMAC_SHA1_80,aes_cm_128_hmac_sha1_80", "listed twice");
	BAD("SRTP_NULL_HMAC_SHA1_80", "'SRTP_NULL_HMAC_SHA1_80' is not an SRTP profile");
	BAD("AES_CM_128_HMAC_SHA1_80 ", "'?' is not");
	/* the refusal names what is accepted, and never echoes a word that is
	 * not a plain name (it might be key material pasted by mistake) */
	BAD("AES_CM_128_HMAC_SHA1_32,AEAD_AES_128_GCM,", "AES_CM_128_HMAC_SHA1_80");
	BAD("SRTP_NULL_HMAC_SHA1_80", "name one or more of AEAD_AES_256_GCM, ");
	BAD("AES_CM_128_HMAC_SHA1_8", "(did you mean AES_CM_128_HMAC_SHA1_80?)");
	BAD("AEAD_AES_256_GMC", "(did you mean AEAD_AES_256_GCM?)");
	BAD("YWJjZGVmZ2hpamtsbW5vcHFyc3R1dnd4eXo=", "'?'");
	assert_null(strstr(err, "YWJj"));
#undef BAD
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_agree),
		cmocka_unit_test(test_policy_matrix),
		cmocka_unit_test(test_profiles),
		cmocka_unit_test(test_profile_names),
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
		cmocka_unit_test(test_reference_aes_cm),
		cmocka_unit_test(test_hello_and_callee),
		cmocka_unit_test(test_framing_and_api),
		cmocka_unit_test(test_security_code),
		cmocka_unit_test(test_noise_export),
	};

	return cmocka_run_group_tests(tests, group_setup, NULL);
}
