/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callproto against a second implementation of the wire format and key
 * schedule, written here from docs/handshake.md on the Noise core directly:
 * malicious payloads from either side (reference caller, reference callee).
 */
#include "test_callproto.h"

/* ---- a second implementation, from docs/handshake.md --------------------------------------- */

size_t ref_hello(uint8_t *body, const uint8_t call_id[16], const char *caller,
		 const char *callee, uint8_t version)
{
	size_t off = 0;

	body[off++] = 0x01;
	body[off++] = version;
	memcpy(body + off, call_id, 16);
	off += 16;
	body[off++] = (uint8_t)strlen(caller);
	memcpy(body + off, caller, strlen(caller));
	off += strlen(caller);
	body[off++] = (uint8_t)strlen(callee);
	memcpy(body + off, callee, strlen(callee));
	off += strlen(callee);
	return off;
}

size_t ref_frame(uint8_t *f, uint8_t type, const uint8_t *msg, size_t len)
{
	f[0] = (uint8_t)((len + 1) >> 8);
	f[1] = (uint8_t)(len + 1);
	f[2] = type;
	memcpy(f + 3, msg, len);
	return len + 3;
}

static struct noise_handshake *ref_handshake(enum noise_role role,
		const uint8_t *hello_body, size_t hello_len, const struct noise_keypair *kp)
{
	uint8_t prologue[600];
	struct noise_handshake *hs;
	struct noise_handshake_config hc = {
		.pattern = NOISE_PATTERN_XX, .role = role,
		.prologue = prologue, .prologue_len = 11 + hello_len - 1,
		.local_static_private = kp->private_key,
	};

	memcpy(prologue, "callseal/1\0", 11);
	memcpy(prologue + 11, hello_body + 1, hello_len - 1);
	assert_int_equal(noise_handshake_create(&hs, &hc), 0);
	return hs;
}

/* BLAKE2b-512 keyed with key[64] over label || ctx */
static void ref_kdf(uint8_t out[64], const uint8_t key[64], const char *label,
		    const uint8_t *ctx, size_t ctx_len)
{
	crypto_generichash_blake2b_state s;

	crypto_generichash_blake2b_init(&s, key, 64, 64);
	crypto_generichash_blake2b_update(&s, (const uint8_t *)label, strlen(label));
	crypto_generichash_blake2b_update(&s, ctx, ctx_len);
	crypto_generichash_blake2b_final(&s, out, 64);
}

/* The documented key schedule, computed here independently. */
static void ref_keys(struct noise_handshake *hs, uint16_t profile, uint32_t gen,
		     uint8_t ir[64], uint8_t ri[64], char code[24])
{
	uint8_t h[64], x[64], chain[64], ctx[6], d[64];
	uint32_t g;
	int i, j;

	assert_int_equal(noise_handshake_hash(hs, h), 0);
	assert_int_equal(noise_handshake_export(hs, (const uint8_t *)"callseal/1 key schedule",
						23, x, 64), 0);
	ref_kdf(chain, x, "callseal/1 chain", h, 64);
	for (g = 0; g < gen; g++) {
		uint8_t c4[4] = { (uint8_t)((g + 1) >> 24), (uint8_t)((g + 1) >> 16),
				  (uint8_t)((g + 1) >> 8), (uint8_t)(g + 1) };

		ref_kdf(chain, chain, "callseal/1 rekey", c4, 4);
	}
	ctx[0] = (uint8_t)(gen >> 24);
	ctx[1] = (uint8_t)(gen >> 16);
	ctx[2] = (uint8_t)(gen >> 8);
	ctx[3] = (uint8_t)gen;
	ctx[4] = (uint8_t)(profile >> 8);
	ctx[5] = (uint8_t)profile;
	ref_kdf(ir, chain, "callseal/1 srtp i->r", ctx, 6);
	ref_kdf(ri, chain, "callseal/1 srtp r->i", ctx, 6);
	/* security code */
	crypto_generichash_blake2b_state s;
	crypto_generichash_blake2b_init(&s, NULL, 0, 64);
	crypto_generichash_blake2b_update(&s, (const uint8_t *)"callseal/1 security code", 24);
	crypto_generichash_blake2b_update(&s, h, 64);
	crypto_generichash_blake2b_final(&s, d, 64);
	for (i = 0; i < 4; i++) {
		uint64_t v = 0;

		for (j = 0; j < 5; j++)
			v = v << 8 | d[5 * i + j];
		snprintf(code + 6 * i, 7, i < 3 ? "%05u " : "%05u", (unsigned int)(v % 100000));
	}
}

/* Standard payload pieces. */
static const uint8_t TLV_INTENT_ON[] = { 0x01, 0x00, 0x02, 0x03, 0x00 };
static const uint8_t TLV_PROFILES_BOTH[] = { 0x02, 0x00, 0x04, 0x00, 0x08, 0x00, 0x07 };
static const uint8_t TLV_CHOSEN_256[] = { 0x03, 0x00, 0x02, 0x00, 0x08 };
static const uint8_t TLV_MEDIA_V6[] = { 0x04, 0x00, 0x13, 0x06,
	0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 1, 0x9c, 0x40 };

struct piece { const uint8_t *p; size_t n; };

static size_t cat(uint8_t *out, const struct piece *pieces, size_t n)
{
	size_t off = 0, i;

	for (i = 0; i < n; i++) {
		memcpy(out + off, pieces[i].p, pieces[i].n);
		off += pieces[i].n;
	}
	return off;
}

/*
 * A caller written from the document drives the real responder (Bob) and
 * sends payload as NOISE3's. Returns the CONFIRM code the responder sent (or
 * -1 if it sent an ABORT / nothing); checks the keys on acceptance.
 */
static int ref_caller_offer(const uint16_t *bob_prof, size_t n_bob, const uint8_t *payload,
			    size_t plen, char *resp_reason, size_t cap)
{
	static const uint8_t call_id[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct side_cfg cb = { BOB, &kp_bob, true, true, bob_prof, n_bob, 20, 50000 };
	bool yes = true;
	struct callproto_config cfg = { .local = make_local(&cb), .identity_cb = cb_accept,
					.identity_ctx = &yes };
	struct callproto *bob;
	struct noise_handshake *hs;
	struct noise_cipherstate send, recv;
	uint8_t hello[600], f[CALLPROTO_OUT_MAX], msg[CALLPROTO_OUT_MAX], pl[256];
	size_t hl, fl, ml, pll;
	int code = -1;

	assert_int_equal(callproto_responder_create(&bob, &cfg), 0);
	hl = ref_hello(hello, call_id, ALICE, BOB, 1);
	fl = ref_frame(f, 0x01, hello + 1, hl - 1);
	assert_int_equal(callproto_consume(bob, f, fl), 0);
	hs = ref_handshake(NOISE_ROLE_INITIATOR, hello, hl, &kp_alice);
	assert_int_equal(noise_handshake_write_message(hs, NULL, 0, msg, sizeof(msg), &ml), 0);
	assert_int_equal(ml, 32);
	fl = ref_frame(f, 0x02, msg, ml);
	assert_int_equal(callproto_consume(bob, f, fl), 0);
	/* NOISE2 and its payload, byte for byte */
	assert_int_equal(callproto_next_out(bob, f, sizeof(f), &fl), 0);
	assert_int_equal((f[0] << 8 | f[1]), fl - 2);
	assert_int_equal(f[2], 0x03);
	assert_int_equal(noise_handshake_read_message(hs, f + 3, fl - 3, pl, sizeof(pl), &pll), 0);
	{
		static const uint8_t intent[] = { 0x01, 0x00, 0x02, 0x03, 0x00 };
		static const uint8_t media[] = { 0x04, 0x00, 0x07, 0x04, 192, 0, 2, 20, 0xc3, 0x50 };
		uint8_t want[64];
		size_t wl = 0, i;

		memcpy(want, intent, sizeof(intent));                   /* INTENT */
		wl += sizeof(intent);
		want[wl++] = 0x02;                                      /* PROFILES, as offered */
		want[wl++] = 0;
		want[wl++] = (uint8_t)(2 * n_bob);
		for (i = 0; i < n_bob; i++) {
			want[wl++] = (uint8_t)(bob_prof[i] >> 8);
			want[wl++] = (uint8_t)bob_prof[i];
		}
		memcpy(want + wl, media, sizeof(media));                /* MEDIA */
		wl += sizeof(media);
		assert_int_equal(pll, wl);
		assert_memory_equal(pl, want, wl);
	}
	assert_int_equal(noise_handshake_write_message(hs, payload, plen, msg, sizeof(msg), &ml), 0);
	fl = ref_frame(f, 0x04, msg, ml);
	if (callproto_consume(bob, f, fl) != 0)
		assert_int_equal(callproto_status(bob, NULL), CALLPROTO_FAILED);
	{
		const char *why;

		callproto_status(bob, &why);
		snprintf(resp_reason, cap, "%s", why);  /* bob is destroyed below */
	}
	if (callproto_status(bob, NULL) == CALLPROTO_DONE) {
		struct callproto_result r;
		uint8_t ir[64], ri[64];
		char ref_code[24];

		assert_int_equal(callproto_result(bob, &r), 0);
		ref_keys(hs, r.profile, 0, ir, ri, ref_code);
		/* the documented lengths: key 16 | 32, salt 12 (GCM) | 14 (AES-CM) */
		assert_int_equal(r.keys.rx.key_len, r.profile == 0x0008 ? 32 : 16);
		assert_int_equal(r.keys.rx.salt_len, r.profile <= 0x0002 ? 14 : 12);
		assert_int_equal(r.keys.tx.salt_len, r.keys.rx.salt_len);
		assert_memory_equal(r.keys.rx.key, ir, r.keys.rx.key_len);
		assert_memory_equal(r.keys.rx.salt, ir + 32, r.keys.rx.salt_len);
		assert_memory_equal(r.keys.tx.key, ri, r.keys.tx.key_len);
		assert_memory_equal(r.keys.tx.salt, ri + 32, r.keys.tx.salt_len);
		assert_string_equal(r.security_code, ref_code);
		{
			struct callproto_keys k;

			assert_int_equal(callproto_rekey(bob, 2, &k), 0);
			ref_keys(hs, r.profile, 2, ir, ri, ref_code);
			assert_memory_equal(k.rx.key, ir, k.rx.key_len);
			assert_memory_equal(k.tx.salt, ri + 32, k.tx.salt_len);
		}
		callproto_result_wipe(&r);
	}
	assert_int_equal(callproto_next_out(bob, f, sizeof(f), &fl), 0);
	if (fl && f[2] == 0x05) {
		assert_int_equal(fl, 3 + 4 + 16);
		assert_int_equal(noise_handshake_split(hs, &send, &recv), 0);
		assert_int_equal(noise_cipher_decrypt(&recv, NULL, 0, f + 3, fl - 3, pl,
						      sizeof(pl), &pll), 0);
		assert_int_equal(pll, 4);
		code = pl[0];
		if (code == 0) {
			assert_int_equal(pl[1], CALLPROTO_MODE_E2EE);
		} else {
			assert_int_equal(pl[1], 0);
			assert_int_equal(pl[2] << 8 | pl[3], 0);
		}
	}
	noise_handshake_destroy(hs);
	callproto_destroy(bob);
	return code;
}

static int ref_caller(const uint8_t *payload, size_t plen, char *resp_reason, size_t cap)
{
	return ref_caller_offer(prof_both, 2, payload, plen, resp_reason, cap);
}

void test_reference_caller(void **state)
{
	static const uint8_t tlv_chosen_128[] = { 0x03, 0x00, 0x02, 0x00, 0x07 };
	static const uint8_t tlv_chosen_bad_len[] = { 0x03, 0x00, 0x03, 0x00, 0x08, 0x00 };
	static const uint8_t tlv_unknown[] = { 0x09, 0x00, 0x00 };
	static const uint8_t tlv_prof_dup[] = { 0x02, 0x00, 0x04, 0x00, 0x08, 0x00, 0x08 };
	static const uint8_t tlv_prof_unknown[] = { 0x02, 0x00, 0x06, 0x12, 0x34, 0x00, 0x08,
						    0x00, 0x07 };
	static const uint8_t tlv_prof_zero[] = { 0x02, 0x00, 0x02, 0x00, 0x00 };
	static const uint8_t tlv_prof_odd[] = { 0x02, 0x00, 0x03, 0x00, 0x08, 0x00 };
	static const uint8_t tlv_intent_bad[] = { 0x01, 0x00, 0x02, 0x03, 0x02 };
	static const uint8_t tlv_intent_flags[] = { 0x01, 0x00, 0x02, 0x07, 0x00 };
	static const uint8_t tlv_media_bad[] = { 0x04, 0x00, 0x07, 0x06, 1, 2, 3, 4, 0, 80 };
	static const uint8_t tlv_media_port0[] = { 0x04, 0x00, 0x07, 0x04, 1, 2, 3, 4, 0, 0 };
	static const uint8_t tlv_overrun[] = { 0x04, 0x00, 0x30, 0x04 };
	static const uint8_t tlv_short_hdr[] = { 0x04, 0x00 };
	const struct piece I = { TLV_INTENT_ON, sizeof(TLV_INTENT_ON) };
	const struct piece P = { TLV_PROFILES_BOTH, sizeof(TLV_PROFILES_BOTH) };
	const struct piece C = { TLV_CHOSEN_256, sizeof(TLV_CHOSEN_256) };
	const struct piece M = { TLV_MEDIA_V6, sizeof(TLV_MEDIA_V6) };
	struct {
		const char *what;
		struct piece p[5];
		size_t n;
		int want_code;
		const char *want_reason;
	} cases[] = {
		{ "valid", { I, P, C, M }, 4, 0, "end-to-end encrypted" },
		{ "unknown profile ignored", { I, { tlv_prof_unknown, sizeof(tlv_prof_unknown) },
			C, M }, 4, 0, NULL },
		{ "downgrade to 128", { I, P, { tlv_chosen_128, 5 }, M }, 4,
			CALLPROTO_CODE_BAD_PROFILE_CHOICE, "downgrade attempt" },
		{ "chosen missing", { I, P, M }, 3, CALLPROTO_CODE_PROTOCOL, "required TLV" },
		{ "intent missing", { P, C, M }, 3, CALLPROTO_CODE_PROTOCOL, "required TLV" },
		{ "media missing", { I, P, C }, 3, CALLPROTO_CODE_PROTOCOL, "required TLV" },
		{ "duplicate", { I, I, P, C, M }, 5, CALLPROTO_CODE_PROTOCOL, "twice" },
		{ "out of order", { P, I, C, M }, 4, CALLPROTO_CODE_PROTOCOL, "out of order" },
		{ "unknown type", { I, P, C, M, { tlv_unknown, 3 } }, 5,
			CALLPROTO_CODE_PROTOCOL, "unknown TLV" },
		{ "chosen length", { I, P, { tlv_chosen_bad_len, 6 }, M }, 4,
			CALLPROTO_CODE_PROTOCOL, "CHOSEN: length" },
		{ "profile twice", { I, { tlv_prof_dup, 7 }, C, M }, 4,
			CALLPROTO_CODE_PROTOCOL, "offered twice" },
		{ "profile zero", { I, { tlv_prof_zero, 5 }, C, M }, 4,
			CALLPROTO_CODE_PROTOCOL, "profile 0" },
		{ "profile odd length", { I, { tlv_prof_odd, 6 }, C, M }, 4,
			CALLPROTO_CODE_PROTOCOL, "PROFILES: length" },
		{ "intent reason", { { tlv_intent_bad, 5 }, P, C, M }, 4,
			CALLPROTO_CODE_PROTOCOL, "INTENT" },
		{ "intent flags", { { tlv_intent_flags, 5 }, P, C, M }, 4,
			CALLPROTO_CODE_PROTOCOL, "INTENT" },
		{ "media family/length", { I, P, C, { tlv_media_bad, 10 } }, 4,
			CALLPROTO_CODE_PROTOCOL, "MEDIA" },
		{ "media port 0", { I, P, C, { tlv_media_port0, 10 } }, 4,
			CALLPROTO_CODE_PROTOCOL, "port 0" },
		{ "length overrun", { I, P, C, { tlv_overrun, 4 } }, 4,
			CALLPROTO_CODE_PROTOCOL, "runs past" },
		{ "short header", { I, P, C, M, { tlv_short_hdr, 2 } }, 5,
			CALLPROTO_CODE_PROTOCOL, "truncated TLV" },
		{ "empty", { { NULL, 0 } }, 0, CALLPROTO_CODE_PROTOCOL, "required TLV" },
	};
	size_t c;

	(void)state;
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		uint8_t payload[256];
		size_t plen = cat(payload, cases[c].p, cases[c].n);
		char why[CALLPROTO_REASON_MAX];
		int code = ref_caller(payload, plen, why, sizeof(why));

		if (code != cases[c].want_code)
			fail_msg("%s: code %d, want %d (%s)", cases[c].what, code,
				 cases[c].want_code, why);
		if (cases[c].want_reason && !strstr(why, cases[c].want_reason))
			fail_msg("%s: reason \"%s\"", cases[c].what, why);
	}
}

/*
 * A callee written from the document answers the real caller (Alice) with
 * payload in NOISE2. Returns the caller's status; *why its reason.
 */
static enum callproto_status ref_callee_offer(const uint16_t *alice_prof, size_t n_alice,
					      const uint8_t *payload, size_t plen,
					      const char **why, struct callproto **alice_out,
					      struct noise_handshake **hs_out)
{
	struct side_cfg ca = { ALICE, &kp_alice, true, true, alice_prof, n_alice, 10, 40000 };
	bool yes = true;
	struct callproto_config cfg = { .local = make_local(&ca), .peer_user = BOB,
					.identity_cb = cb_accept, .identity_ctx = &yes };
	struct callproto *alice;
	struct noise_handshake *hs;
	uint8_t hello[600], f[CALLPROTO_OUT_MAX], msg[CALLPROTO_OUT_MAX], pl[256];
	size_t hl, fl, ml, pll;

	cfg.identity_ctx = NULL;
	cfg.identity_cb = NULL;
	assert_int_equal(callproto_initiator_create(&alice, &cfg), 0);
	/* HELLO byte for byte */
	assert_int_equal(callproto_next_out(alice, f, sizeof(f), &fl), 0);
	{
		struct callproto_hello h;

		assert_int_equal(callproto_hello(alice, &h), 0);
		hl = ref_hello(hello, h.call_id, ALICE, BOB, 1);
		assert_int_equal(fl, hl + 2);
		assert_memory_equal(f + 2, hello, hl);
	}
	hs = ref_handshake(NOISE_ROLE_RESPONDER, hello, hl, &kp_bob);
	assert_int_equal(callproto_next_out(alice, f, sizeof(f), &fl), 0);
	assert_int_equal(fl, 3 + 32);
	assert_int_equal(noise_handshake_read_message(hs, f + 3, fl - 3, pl, sizeof(pl), &pll), 0);
	assert_int_equal(pll, 0);
	assert_int_equal(noise_handshake_write_message(hs, payload, plen, msg, sizeof(msg), &ml), 0);
	fl = ref_frame(f, 0x03, msg, ml);
	if (callproto_consume(alice, f, fl) != 0)
		assert_int_equal(callproto_status(alice, NULL), CALLPROTO_FAILED);
	if (callproto_status(alice, NULL) == CALLPROTO_NEED_IDENTITY)
		assert_int_equal(callproto_identity_decide(alice, true), 0);
	*alice_out = alice;
	*hs_out = hs;
	return callproto_status(alice, why);
}

static enum callproto_status ref_callee(const uint8_t *payload, size_t plen,
					const char **why, struct callproto **alice_out,
					struct noise_handshake **hs_out)
{
	return ref_callee_offer(prof_both, 2, payload, plen, why, alice_out, hs_out);
}

void test_reference_callee(void **state)
{
	static const uint8_t tlv_only_128[] = { 0x02, 0x00, 0x02, 0x00, 0x07 };
	static const uint8_t tlv_only_unknown[] = { 0x02, 0x00, 0x02, 0x00, 0x09 };
	static const uint8_t tlv_intent_off[] = { 0x01, 0x00, 0x02, 0x01, 0x03 };
	const struct piece I = { TLV_INTENT_ON, sizeof(TLV_INTENT_ON) };
	const struct piece P = { TLV_PROFILES_BOTH, sizeof(TLV_PROFILES_BOTH) };
	const struct piece C = { TLV_CHOSEN_256, sizeof(TLV_CHOSEN_256) };
	const struct piece M = { TLV_MEDIA_V6, sizeof(TLV_MEDIA_V6) };
	struct callproto *alice;
	struct noise_handshake *hs;
	struct noise_cipherstate send, recv;
	uint8_t payload[256], f[CALLPROTO_OUT_MAX], pl[256], ct[64];
	size_t plen, fl, pll, cl;
	const char *why;

	(void)state;
	/* CHOSEN in NOISE2 is refused; so is anything malformed */
	plen = cat(payload, (struct piece[]){ I, P, C, M }, 4);
	assert_int_equal(ref_callee(payload, plen, &why, &alice, &hs), CALLPROTO_FAILED);
	assert_non_null(strstr(why, "CHOSEN is only allowed in NOISE3"));
	assert_nothing_derived(alice);
	callproto_destroy(alice);
	noise_handshake_destroy(hs);

	plen = cat(payload, (struct piece[]){ I, { tlv_only_unknown, 5 }, M }, 3);
	assert_int_equal(ref_callee(payload, plen, &why, &alice, &hs), CALLPROTO_FAILED);
	assert_non_null(strstr(why, "no SRTP profile in common"));
	assert_non_null(strstr(why, "offers none that this side knows"));
	callproto_destroy(alice);
	noise_handshake_destroy(hs);

	/* valid, 128 only, callee not turned on: NOISE3 checked byte for byte,
	 * then CONFIRM accept from the reference completes the caller */
	plen = cat(payload, (struct piece[]){ { tlv_intent_off, 5 }, { tlv_only_128, 5 }, M }, 3);
	assert_int_equal(ref_callee(payload, plen, &why, &alice, &hs), CALLPROTO_RUNNING);
	assert_int_equal(callproto_next_out(alice, f, sizeof(f), &fl), 0);
	assert_int_equal(f[2], 0x04);
	assert_int_equal(noise_handshake_read_message(hs, f + 3, fl - 3, pl, sizeof(pl), &pll), 0);
	{
		static const uint8_t want[] = {
			0x01, 0x00, 0x02, 0x03, 0x00,
			0x02, 0x00, 0x04, 0x00, 0x07, 0x00, 0x08,
			0x03, 0x00, 0x02, 0x00, 0x07,
			0x04, 0x00, 0x07, 0x04, 192, 0, 2, 10, 0x9c, 0x40,
		};

		assert_int_equal(pll, sizeof(want));
		assert_memory_equal(pl, want, sizeof(want));
	}
	{
		uint8_t ir[64], ri[64], plain[4] = { 0, CALLPROTO_MODE_STANDARD, 0x00, 0x07 };
		char code[24];
		struct callproto_result r;

		ref_keys(hs, CALLPROTO_PROFILE_AEAD_AES_128_GCM, 0, ir, ri, code);
		assert_int_equal(noise_handshake_split(hs, &send, &recv), 0);
		/* a CONFIRM with the wrong mode is refused... */
		{
			struct callproto *a2;
			struct noise_handshake *hs2;
			struct noise_cipherstate s2, r2;
			uint8_t bad[4] = { 0, CALLPROTO_MODE_E2EE, 0x00, 0x07 };

			assert_int_equal(ref_callee(payload, plen, &why, &a2, &hs2),
					 CALLPROTO_RUNNING);
			assert_int_equal(callproto_next_out(a2, f, sizeof(f), &fl), 0);
			assert_int_equal(noise_handshake_read_message(hs2, f + 3, fl - 3, pl,
								      sizeof(pl), &pll), 0);
			assert_int_equal(noise_handshake_split(hs2, &s2, &r2), 0);
			assert_int_equal(noise_cipher_encrypt(&s2, NULL, 0, bad, 4, ct,
							      sizeof(ct), &cl), 0);
			fl = ref_frame(f, 0x05, ct, cl);
			assert_int_equal(callproto_consume(a2, f, fl), -EBADMSG);
			assert_nothing_derived(a2);
			callproto_destroy(a2);
			noise_handshake_destroy(hs2);
		}
		/* ...the right one completes */
		assert_int_equal(noise_cipher_encrypt(&send, NULL, 0, plain, 4, ct, sizeof(ct), &cl), 0);
		fl = ref_frame(f, 0x05, ct, cl);
		assert_int_equal(callproto_consume(alice, f, fl), 0);
		assert_int_equal(callproto_result(alice, &r), 0);
		assert_int_equal(r.mode, CALLPROTO_MODE_STANDARD);
		assert_string_equal(r.reason, BOB " has not turned on end-to-end encryption");
		assert_int_equal(r.profile, CALLPROTO_PROFILE_AEAD_AES_128_GCM);
		assert_memory_equal(r.keys.tx.key, ir, 16);
		assert_memory_equal(r.keys.tx.salt, ir + 32, 12);
		assert_memory_equal(r.keys.rx.key, ri, 16);
		assert_memory_equal(r.keys.rx.salt, ri + 32, 12);
		assert_string_equal(r.security_code, code);
		assert_int_equal(r.peer_media.family, 6);
		assert_int_equal(r.peer_media.port, 40000);
		assert_int_equal(r.peer_media.addr[15], 1);
		callproto_result_wipe(&r);
	}
	callproto_destroy(alice);
	noise_handshake_destroy(hs);
}

/*
 * The AES-CM profiles (0x0001, 0x0002) against the reference: the choice
 * rule (GCM first, AES-CM only without GCM in common), a choice the rule
 * does not give or this side did not offer refused as BAD_PROFILE_CHOICE,
 * and the documented 14-octet master salt KM[32 .. 46) on either side.
 */
void test_reference_aes_cm(void **state)
{
	static const uint16_t bob_cm[] = { 0x0001, 0x0002 }, bob_cm80[] = { 0x0001 },
		bob_all[] = { 0x0008, 0x0007, 0x0001, 0x0002 };
	static const uint8_t tlv_prof_cm[] = { 0x02, 0x00, 0x04, 0x00, 0x01, 0x00, 0x02 };
	static const uint8_t tlv_prof_gcm_cm[] = { 0x02, 0x00, 0x04, 0x00, 0x08, 0x00, 0x01 };
	static const uint8_t tlv_prof_128[] = { 0x02, 0x00, 0x02, 0x00, 0x07 };
	static const uint8_t tlv_chosen_cm80[] = { 0x03, 0x00, 0x02, 0x00, 0x01 };
	static const uint8_t tlv_chosen_cm32[] = { 0x03, 0x00, 0x02, 0x00, 0x02 };
	static const uint8_t tlv_chosen_128[] = { 0x03, 0x00, 0x02, 0x00, 0x07 };
	const struct piece I = { TLV_INTENT_ON, sizeof(TLV_INTENT_ON) };
	const struct piece M = { TLV_MEDIA_V6, sizeof(TLV_MEDIA_V6) };
	const struct piece PCM = { tlv_prof_cm, sizeof(tlv_prof_cm) };
	const struct piece C80 = { tlv_chosen_cm80, 5 }, C32 = { tlv_chosen_cm32, 5 };
	struct {
		const char *what;
		const uint16_t *bob; size_t nb;
		struct piece p[4];
		int want_code;
		const char *want_reason;
	} cases[] = {
		{ "AES-CM only, 80 chosen", bob_cm, 2, { I, PCM, C80, M }, 0, "end-to-end" },
		{ "AES-CM, callee offers all", bob_all, 4, { I, PCM, C80, M }, 0, NULL },
		{ "32 where the rule gives 80", bob_cm, 2, { I, PCM, C32, M },
			CALLPROTO_CODE_BAD_PROFILE_CHOICE, "downgrade attempt" },
		{ "32, which the callee did not offer", bob_cm80, 1, { I, PCM, C32, M },
			CALLPROTO_CODE_BAD_PROFILE_CHOICE, "AES_CM_128_HMAC_SHA1_80" },
		{ "AES-CM where GCM is in common", bob_all, 4,
			{ I, { tlv_prof_gcm_cm, 7 }, C80, M },
			CALLPROTO_CODE_BAD_PROFILE_CHOICE, "AEAD_AES_256_GCM" },
		{ "GCM only against AES-CM only", bob_cm80, 1,
			{ I, { tlv_prof_128, 5 }, { tlv_chosen_128, 5 }, M },
			CALLPROTO_CODE_NO_COMMON_PROFILE, "no SRTP profile in common" },
	};
	static const uint8_t tlv_only_cm32[] = { 0x02, 0x00, 0x02, 0x00, 0x02 };
	struct callproto *alice;
	struct noise_handshake *hs;
	struct noise_cipherstate send, recv;
	uint8_t payload[256], f[CALLPROTO_OUT_MAX], pl[256], ct[64];
	size_t c, plen, fl, pll, cl;
	const char *why;

	(void)state;
	/* the real callee, a reference caller */
	for (c = 0; c < sizeof(cases) / sizeof(cases[0]); c++) {
		char reason[CALLPROTO_REASON_MAX];
		int code;

		plen = cat(payload, cases[c].p, 4);
		code = ref_caller_offer(cases[c].bob, cases[c].nb, payload, plen, reason,
					sizeof(reason));
		if (code != cases[c].want_code)
			fail_msg("%s: code %d, want %d (%s)", cases[c].what, code,
				 cases[c].want_code, reason);
		if (cases[c].want_reason && !strstr(reason, cases[c].want_reason))
			fail_msg("%s: reason \"%s\"", cases[c].what, reason);
	}

	/* the real caller offering everything, a reference callee offering only
	 * AES_CM_128_HMAC_SHA1_32: NOISE3 chooses it; the keys are the document's */
	plen = cat(payload, (struct piece[]){ I, { tlv_only_cm32, 5 }, M }, 3);
	assert_int_equal(ref_callee_offer(bob_all, 4, payload, plen, &why, &alice, &hs),
			 CALLPROTO_RUNNING);
	assert_int_equal(callproto_next_out(alice, f, sizeof(f), &fl), 0);
	assert_int_equal(f[2], 0x04);
	assert_int_equal(noise_handshake_read_message(hs, f + 3, fl - 3, pl, sizeof(pl), &pll), 0);
	{
		static const uint8_t want[] = {
			0x01, 0x00, 0x02, 0x03, 0x00,
			0x02, 0x00, 0x08, 0x00, 0x08, 0x00, 0x07, 0x00, 0x01, 0x00, 0x02,
			0x03, 0x00, 0x02, 0x00, 0x02,
			0x04, 0x00, 0x07, 0x04, 192, 0, 2, 10, 0x9c, 0x40,
		};

		assert_int_equal(pll, sizeof(want));
		assert_memory_equal(pl, want, sizeof(want));
	}
	{
		uint8_t ir[64], ri[64], ir1[64], ri1[64];
		uint8_t plain[4] = { 0, CALLPROTO_MODE_E2EE, 0x00, 0x02 };
		char code[24], code1[24];
		struct callproto_result r;
		struct callproto_keys k;

		ref_keys(hs, CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_32, 0, ir, ri, code);
		ref_keys(hs, CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_32, 1, ir1, ri1, code1);
		assert_int_equal(noise_handshake_split(hs, &send, &recv), 0);
		assert_int_equal(noise_cipher_encrypt(&send, NULL, 0, plain, 4, ct, sizeof(ct),
						      &cl), 0);
		fl = ref_frame(f, 0x05, ct, cl);
		assert_int_equal(callproto_consume(alice, f, fl), 0);
		assert_int_equal(callproto_result(alice, &r), 0);
		assert_int_equal(r.profile, CALLPROTO_PROFILE_AES_CM_128_HMAC_SHA1_32);
		assert_int_equal(r.keys.tx.key_len, 16);
		assert_int_equal(r.keys.tx.salt_len, 14);
		assert_int_equal(r.keys.rx.salt_len, 14);
		assert_memory_equal(r.keys.tx.key, ir, 16);
		assert_memory_equal(r.keys.tx.salt, ir + 32, 14);
		assert_memory_equal(r.keys.rx.key, ri, 16);
		assert_memory_equal(r.keys.rx.salt, ri + 32, 14);
		assert_string_equal(r.security_code, code);
		/* the rekey chain gives the profile's lengths too */
		assert_int_equal(callproto_rekey(alice, 1, &k), 0);
		assert_int_equal(k.tx.salt_len, 14);
		assert_memory_equal(k.tx.key, ir1, 16);
		assert_memory_equal(k.tx.salt, ir1 + 32, 14);
		assert_memory_equal(k.rx.salt, ri1 + 32, 14);
		callproto_keys_wipe(&k);
		callproto_result_wipe(&r);
	}
	callproto_destroy(alice);
	noise_handshake_destroy(hs);

	/* a CONFIRM naming the other AES-CM profile is refused, nothing derived */
	assert_int_equal(ref_callee_offer(bob_all, 4, payload, plen, &why, &alice, &hs),
			 CALLPROTO_RUNNING);
	assert_int_equal(callproto_next_out(alice, f, sizeof(f), &fl), 0);
	assert_int_equal(noise_handshake_read_message(hs, f + 3, fl - 3, pl, sizeof(pl), &pll), 0);
	{
		uint8_t bad[4] = { 0, CALLPROTO_MODE_E2EE, 0x00, 0x01 };

		assert_int_equal(noise_handshake_split(hs, &send, &recv), 0);
		assert_int_equal(noise_cipher_encrypt(&send, NULL, 0, bad, 4, ct, sizeof(ct),
						      &cl), 0);
		fl = ref_frame(f, 0x05, ct, cl);
		assert_int_equal(callproto_consume(alice, f, fl), -EBADMSG);
		assert_nothing_derived(alice);
	}
	callproto_destroy(alice);
	noise_handshake_destroy(hs);
}
