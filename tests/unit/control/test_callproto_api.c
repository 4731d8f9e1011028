/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callproto's API surface: rekeying, the HELLO and the callee step, framing
 * and configuration checks, the security code, noise_handshake_export().
 */
#include "test_callproto.h"

/* ---- rekey -------------------------------------------------------------------------------- */

void test_rekey(void **state)
{
	struct callproto_keys ki[4], kr[4], k;
	struct callproto_result ri, rr;
	struct sim s, s2;
	uint32_t g;

	(void)state;
	sim_defaults(&s);
	sim_run(&s);
	assert_agree(&s, &ri, &rr);
	ki[0] = ri.keys;
	kr[0] = rr.keys;
	for (g = 1; g < 4; g++) {
		assert_int_equal(callproto_rekey(s.i, g, &ki[g]), 0);
		assert_int_equal(callproto_rekey(s.r, g, &kr[g]), 0);
		assert_int_equal(ki[g].generation, g);
		assert_keys_equal(&ki[g].tx, &kr[g].rx);
		assert_keys_equal(&ki[g].rx, &kr[g].tx);
		assert_keys_differ(&ki[g].tx, &ki[g].rx);
		for (uint32_t h = 0; h < g; h++) {
			assert_keys_differ(&ki[g].tx, &ki[h].tx);
			assert_keys_differ(&ki[g].rx, &ki[h].rx);
		}
	}
	/* the same generation again: same keys; older: gone */
	assert_int_equal(callproto_rekey(s.i, 3, &k), 0);
	assert_keys_equal(&k.tx, &ki[3].tx);
	assert_int_equal(callproto_rekey(s.i, 2, &k), -ESTALE);
	assert_int_equal(callproto_rekey(s.i, 3 + CALLPROTO_REKEY_MAX_SKIP + 1, &k), -ERANGE);
	/* the result's generation-0 keys are unchanged by rekeying */
	assert_int_equal(callproto_result(s.i, &ri), 0);
	assert_keys_equal(&ri.keys.tx, &ki[0].tx);

	/* skipping ahead gives what stepping gives */
	sim_defaults(&s2);
	s2.a.profiles = prof_128;
	s2.a.n_profiles = 1;
	sim_run(&s2);
	assert_int_equal(callproto_rekey(s2.i, 3, &ki[3]), 0);
	for (g = 1; g < 4; g++)
		assert_int_equal(callproto_rekey(s2.r, g, &kr[g]), 0);
	assert_keys_equal(&ki[3].tx, &kr[3].rx);
	assert_int_equal(ki[3].tx.key_len, 16);
	/* another call's chain has nothing in common */
	assert_int_equal(callproto_rekey(s.i, 3, &k), 0);
	assert_memory_not_equal(k.tx.salt, ki[3].tx.salt, k.tx.salt_len);
	callproto_keys_wipe(&k);
	sim_destroy(&s);
	sim_destroy(&s2);
}

/* ---- hello, callee step, framing, configuration ------------------------------------------- */

void test_hello_and_callee(void **state)
{
	static const uint8_t call_id[16] = { 0xca, 0x11 };
	uint8_t hello[600], f[CALLPROTO_OUT_MAX], buf[CALLPROTO_OUT_MAX];
	struct callproto *r;
	const char *why;
	size_t hl, fl, len;
	struct sim s;

	(void)state;
	/* version 2: refused, and the caller is told why */
	sim_defaults(&s);
	sim_create(&s);
	assert_int_equal(callproto_next_out(s.i, buf, sizeof(buf), &len), 0);
	buf[3] = 2;
	assert_int_equal(callproto_consume(s.r, buf, len), -EPROTONOSUPPORT);
	assert_int_equal(callproto_next_out(s.r, buf, sizeof(buf), &len), 0);
	assert_int_equal(callproto_consume(s.i, buf, len), -ECONNABORTED);
	assert_int_equal(callproto_status(s.i, &why), CALLPROTO_FAILED);
	assert_string_equal(why, BOB " ended the attempt: unsupported protocol version "
			    "(code 3; unauthenticated)");
	sim_destroy(&s);

	/* bad user ids in the hello */
	{
		const char *bad[] = { "alice", "@contoso", "alice@", "al ice@contoso",
				      "a@b@c", "al\x01" "ce@x", "" };
		size_t k;

		for (k = 0; k < sizeof(bad) / sizeof(bad[0]); k++) {
			assert_int_equal(callproto_responder_create(&r, NULL), 0);
			hl = ref_hello(hello, call_id, bad[k], BOB, 1);
			fl = ref_frame(f, 0x01, hello + 1, hl - 1);
			assert_true(callproto_consume(r, f, fl) < 0);
			assert_int_equal(callproto_status(r, &why), CALLPROTO_FAILED);
			assert_non_null(strstr(why, "HELLO"));
			callproto_destroy(r);
		}
		/* a NUL inside a user id */
		assert_int_equal(callproto_responder_create(&r, NULL), 0);
		hl = ref_hello(hello, call_id, ALICE, BOB, 1);
		hello[19 + 3] = 0;
		fl = ref_frame(f, 0x01, hello + 1, hl - 1);
		assert_int_equal(callproto_consume(r, f, fl), -EBADMSG);
		callproto_destroy(r);
	}

	/* NEED_CALLEE: NOISE1 may arrive first; a wrong local user is refused */
	{
		struct side_cfg cb = { BOB, &kp_bob, true, true, prof_both, 2, 20, 50000 };
		struct side_cfg wrong = { "carol@fabrikam", &kp_bob, true, true, prof_both, 2, 20,
					  50000 };
		struct callproto_local l = make_local(&cb), lw = make_local(&wrong);
		struct callproto_hello h;

		sim_defaults(&s);
		s.responder_late_local = true;
		sim_create(&s);
		assert_int_equal(callproto_hello(s.r, &h), -EAGAIN);
		for (int k = 0; k < 2; k++) {
			assert_int_equal(callproto_next_out(s.i, buf, sizeof(buf), &len), 0);
			assert_int_equal(callproto_consume(s.r, buf, len), 0);
		}
		assert_int_equal(callproto_status(s.r, &why), CALLPROTO_NEED_CALLEE);
		assert_int_equal(callproto_hello(s.r, &h), 0);
		assert_string_equal(h.caller, ALICE);
		assert_string_equal(h.callee, BOB);
		assert_int_equal(callproto_responder_set_local(s.r, &lw), -EINVAL);
		assert_int_equal(callproto_status(s.r, NULL), CALLPROTO_NEED_CALLEE);
		assert_int_equal(callproto_responder_set_local(s.r, &l), 0);
		assert_int_equal(callproto_responder_set_local(s.r, &l), -EPROTO);
		sim_pump(&s);
		assert_int_equal(callproto_status(s.i, NULL), CALLPROTO_DONE);
		assert_int_equal(callproto_status(s.r, NULL), CALLPROTO_DONE);
		sim_destroy(&s);

		/* unknown callee: the daemon aborts */
		sim_defaults(&s);
		s.responder_late_local = true;
		sim_create(&s);
		assert_int_equal(callproto_next_out(s.i, buf, sizeof(buf), &len), 0);
		assert_int_equal(callproto_consume(s.r, buf, len), 0);
		assert_int_equal(callproto_abort(s.r, CALLPROTO_CODE_UNKNOWN_CALLEE), 0);
		assert_int_equal(callproto_abort(s.r, CALLPROTO_CODE_UNKNOWN_CALLEE), -EALREADY);
		sim_pump(&s);
		assert_int_equal(callproto_status(s.i, &why), CALLPROTO_FAILED);
		assert_non_null(strstr(why, "unknown callee"));
		sim_destroy(&s);

		/* a responder configured for Bob refuses a hello for Carol */
		sim_defaults(&s);
		s.b.user = "carol@fabrikam";
		sim_create(&s);
		callproto_destroy(s.r);
		{
			struct callproto_config cr = { .local = make_local(&cb) };

			assert_int_equal(callproto_responder_create(&s.r, &cr), 0);
		}
		sim_pump(&s);
		assert_int_equal(callproto_status(s.r, &why), CALLPROTO_FAILED);
		assert_string_equal(why, "HELLO: callee is not " BOB);
		assert_int_equal(callproto_status(s.i, &why), CALLPROTO_FAILED);
		assert_non_null(strstr(why, "unknown callee"));
		sim_destroy(&s);
	}
}

void test_framing_and_api(void **state)
{
	uint8_t buf[CALLPROTO_OUT_MAX];
	size_t len, first;
	struct sim s;
	char err[128];

	(void)state;
	assert_int_equal(callproto_frame_need(NULL, 0), 2);
	assert_int_equal(callproto_frame_need((const uint8_t[]){ 0x01 }, 1), 2);
	assert_int_equal(callproto_frame_need((const uint8_t[]){ 0x01, 0x02 }, 2), 2 + 258);
	assert_int_equal(callproto_frame_need((const uint8_t[]){ 0, 0 }, 2), 0);

	sim_defaults(&s);
	sim_create(&s);
	/* a buffer too small takes nothing */
	assert_int_equal(callproto_next_out(s.i, buf, 3, &len), -ENOBUFS);
	assert_int_equal(callproto_next_out(s.i, buf, sizeof(buf), &first), 0);
	assert_true(first > 3);
	assert_int_equal(buf[2], 0x01);
	assert_int_equal(callproto_frame_need(buf, first), first);
	assert_true(callproto_idle_ms(s.i) < 5000);
	assert_int_equal(callproto_role(s.r), CALLPROTO_ROLE_RESPONDER);
	/* the caller's timeout */
	assert_int_equal(callproto_abort(s.i, CALLPROTO_CODE_TIMEOUT), 0);
	assert_nothing_derived(s.i);
	assert_int_equal(callproto_next_out(s.i, buf, sizeof(buf), &len), 0);
	assert_int_equal(len, 4);
	assert_memory_equal(buf, ((const uint8_t[]){ 0, 2, 0x7f, CALLPROTO_CODE_TIMEOUT }), 4);
	assert_int_equal(callproto_abort(s.i, CALLPROTO_CODE_ACCEPT), -EINVAL);
	sim_destroy(&s);

	/* configuration errors */
	{
		struct side_cfg ca = { ALICE, &kp_alice, true, true, prof_both, 2, 10, 40000 };
		static const uint16_t dup[] = { 7, 7 }, unk[] = { 3 };   /* SRTP_NULL_HMAC_SHA1_80 */
		struct callproto_config cfg = { .local = make_local(&ca), .peer_user = BOB };
		struct callproto *st;
		char long_user[300];

		assert_int_equal(callproto_config_check(&cfg, CALLPROTO_ROLE_INITIATOR, err,
							sizeof(err)), 0);
#define BAD(mutate, text) do { \
		struct callproto_config c2 = cfg; \
		mutate; \
		assert_int_equal(callproto_config_check(&c2, CALLPROTO_ROLE_INITIATOR, err, \
							sizeof(err)), -EINVAL); \
		assert_non_null(strstr(err, text)); \
		assert_int_equal(callproto_initiator_create(&st, &c2), -EINVAL); \
		assert_null(st); \
	} while (0)
		BAD(c2.peer_user = "bob", "callee");
		BAD(c2.local.user = "alice@", "local user");
		BAD(c2.local.static_private = NULL, "private key");
		BAD(c2.local.n_profiles = 0, "profiles");
		BAD(c2.local.n_profiles = 17, "profiles");
		BAD(c2.local.profiles = dup, "twice");
		BAD((c2.local.profiles = unk, c2.local.n_profiles = 1), "unknown");
		BAD(c2.local.media.port = 0, "media");
		BAD(c2.local.media.family = 5, "media");
		BAD(c2.local.media.addr[7] = 1, "media");
		BAD(c2.local.e2ee_reason = CALLPROTO_INTENT_NOT_TURNED_ON, "e2ee_reason");
		memset(long_user, 'a', 256);
		memcpy(long_user + 100, "@x", 2);
		long_user[256] = '\0';
		BAD(c2.peer_user = long_user, "callee");
		long_user[255] = '\0';
		assert_true(callproto_user_valid(long_user));
#undef BAD
		assert_int_equal(callproto_initiator_create(NULL, &cfg), -EINVAL);
		assert_int_equal(callproto_initiator_create(&st, NULL), -EINVAL);
	}
	assert_string_equal(callproto_profile_name(8), "AEAD_AES_256_GCM");
	assert_string_equal(callproto_profile_name(3), "unknown");
	assert_string_equal(callproto_code_text(99), "unknown code");
	callproto_destroy(NULL);
}

void test_security_code(void **state)
{
	uint8_t h[NOISE_HASH_LEN], d[64];
	char code[CALLPROTO_SECURITY_CODE_LEN + 1], want[32];
	int i, j, round;

	(void)state;
	for (round = 0; round < 64; round++) {
		crypto_generichash_blake2b_state s;

		if (round == 0)
			memset(h, 0, sizeof(h));
		else
			randombytes_buf(h, sizeof(h));
		assert_int_equal(callproto_security_code(h, code), 0);
		assert_code_format(code);
		crypto_generichash_blake2b_init(&s, NULL, 0, 64);
		crypto_generichash_blake2b_update(&s, (const uint8_t *)"callseal/1 security code", 24);
		crypto_generichash_blake2b_update(&s, h, 64);
		crypto_generichash_blake2b_final(&s, d, 64);
		for (i = 0; i < 4; i++) {
			unsigned long long v = 0;

			for (j = 0; j < 5; j++)
				v = v * 256 + d[5 * i + j];
			snprintf(want + 6 * i, 7, i < 3 ? "%05llu " : "%05llu", v % 100000);
		}
		assert_string_equal(code, want);
	}
}

/* ---- noise_handshake_export ---------------------------------------------------------------- */

void test_noise_export(void **state)
{
	struct noise_handshake_config ci = { .pattern = NOISE_PATTERN_XX,
		.role = NOISE_ROLE_INITIATOR, .local_static_private = kp_alice.private_key };
	struct noise_handshake_config cr = { .pattern = NOISE_PATTERN_XX,
		.role = NOISE_ROLE_RESPONDER, .local_static_private = kp_bob.private_key };
	struct noise_handshake *i, *r;
	struct noise_cipherstate is, ir, rs, rr;
	uint8_t msg[256], pl[64], a[64], b[64], c[64];
	size_t n, pn;
	const uint8_t *L = (const uint8_t *)"label";

	(void)state;
	assert_int_equal(noise_handshake_create(&i, &ci), 0);
	assert_int_equal(noise_handshake_create(&r, &cr), 0);
	assert_int_equal(noise_handshake_export(i, L, 5, a, 64), -EPROTO);
	assert_int_equal(noise_handshake_write_message(i, NULL, 0, msg, sizeof(msg), &n), 0);
	assert_int_equal(noise_handshake_read_message(r, msg, n, pl, sizeof(pl), &pn), 0);
	assert_int_equal(noise_handshake_write_message(r, NULL, 0, msg, sizeof(msg), &n), 0);
	assert_int_equal(noise_handshake_read_message(i, msg, n, pl, sizeof(pl), &pn), 0);
	assert_int_equal(noise_handshake_export(r, L, 5, a, 64), -EPROTO);
	assert_int_equal(noise_handshake_write_message(i, NULL, 0, msg, sizeof(msg), &n), 0);
	assert_int_equal(noise_handshake_read_message(r, msg, n, pl, sizeof(pl), &pn), 0);

	/* same label, same secret on both sides */
	assert_int_equal(noise_handshake_export(i, L, 5, a, 64), 0);
	assert_int_equal(noise_handshake_export(r, L, 5, b, 64), 0);
	assert_memory_equal(a, b, 64);
	/* a shorter output is a prefix; another label is another key */
	assert_int_equal(noise_handshake_export(i, L, 5, c, 16), 0);
	assert_memory_equal(a, c, 16);
	assert_int_equal(noise_handshake_export(i, L, 4, c, 64), 0);
	assert_memory_not_equal(a, c, 64);
	/* arguments */
	assert_int_equal(noise_handshake_export(i, L, 0, c, 64), -EINVAL);
	assert_int_equal(noise_handshake_export(i, NULL, 5, c, 64), -EINVAL);
	assert_int_equal(noise_handshake_export(i, L, 5, c, 0), -EINVAL);
	assert_int_equal(noise_handshake_export(i, L, 5, c, 65), -EINVAL);
	assert_int_equal(noise_handshake_export(NULL, L, 5, c, 64), -EINVAL);
	/* independent of Split()'s keys; gone after split */
	assert_int_equal(noise_handshake_split(i, &is, &ir), 0);
	assert_int_equal(noise_handshake_split(r, &rs, &rr), 0);
	assert_memory_not_equal(a, is.k, 32);
	assert_memory_not_equal(a, ir.k, 32);
	assert_memory_equal(is.k, rr.k, 32);
	assert_int_equal(noise_handshake_export(i, L, 5, c, 64), -EPROTO);
	noise_handshake_destroy(i);
	noise_handshake_destroy(r);

	/* a failed handshake exports nothing */
	assert_int_equal(noise_handshake_create(&r, &cr), 0);
	memset(msg, 0, 8);
	assert_true(noise_handshake_read_message(r, msg, 8, pl, sizeof(pl), &pn) < 0);
	assert_int_equal(noise_handshake_export(r, L, 5, c, 64), -ECANCELED);
	noise_handshake_destroy(r);
}
