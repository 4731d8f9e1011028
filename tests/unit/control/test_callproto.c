/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for control/proto/callproto.c (the call key agreement,
 * docs/handshake.md) and noise_handshake_export(): two state machines pass
 * frames through memory. Agreement (call id, mode, profile, keys crosswise,
 * security code), the policy-intent matrix, profile negotiation, every bit
 * flip of every message, truncations, garbage, order, replay across attempts,
 * refused identities, a man in the middle, rekeying; and, with a second
 * implementation of the wire format and key schedule written here from the
 * document (on the Noise core directly), malicious payloads from either side.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include <sodium.h>

#include "callproto.h"
#include "noise.h"

#define ALICE "alice@contoso"
#define BOB   "bob@fabrikam"
#define MAX_FRAMES 16

static struct noise_keypair kp_alice, kp_bob, kp_mallory;

static const uint16_t prof_both[] = { CALLPROTO_PROFILE_AEAD_AES_128_GCM,
				      CALLPROTO_PROFILE_AEAD_AES_256_GCM };
static const uint16_t prof_128[] = { CALLPROTO_PROFILE_AEAD_AES_128_GCM };
static const uint16_t prof_256[] = { CALLPROTO_PROFILE_AEAD_AES_256_GCM };

static int group_setup(void **state)
{
	(void)state;
	if (noise_init() != 0)
		return -1;
	if (noise_keypair_generate(&kp_alice) || noise_keypair_generate(&kp_bob) ||
	    noise_keypair_generate(&kp_mallory))
		return -1;
	return 0;
}

/* ---- the simulation ------------------------------------------------------------ */

struct side_cfg {
	const char *user;
	const struct noise_keypair *kp;
	bool allowed, on;
	const uint16_t *profiles;
	size_t n_profiles;
	uint8_t ip_last;
	uint16_t port;
};

/* Called for every frame in transit: may change it (len too) or drop it
 * (return false). idx counts frames in the order they were sent. */
typedef bool (*tamper_fn)(void *ctx, unsigned int idx, bool from_initiator,
			  uint8_t *frame, size_t *len);

struct sim {
	struct side_cfg a, b;           /* initiator (caller), responder (callee) */
	const uint8_t *call_id;
	bool responder_late_local;      /* NEED_CALLEE path */
	bool use_callbacks;             /* else NEED_IDENTITY steps */
	bool a_accepts, b_accepts;
	tamper_fn tamper;
	void *tamper_ctx;
	/* outputs */
	struct callproto *i, *r;
	unsigned int n_frames;
	uint8_t frames[MAX_FRAMES][CALLPROTO_OUT_MAX + 8];
	size_t frame_len[MAX_FRAMES];
	bool frame_from_i[MAX_FRAMES];
	int i_ret, r_ret;               /* first error of consume on each side */
	uint8_t i_seen_peer[NOISE_PUBLIC_KEY_LEN], r_seen_peer[NOISE_PUBLIC_KEY_LEN];
};

static bool cb_accept(void *ctx, const char *user, const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	bool *accept = ctx;

	(void)user;
	(void)pub;
	return *accept;
}

static struct callproto_local make_local(const struct side_cfg *c)
{
	struct callproto_local l = {
		.user = c->user,
		.static_private = c->kp->private_key,
		.e2ee_allowed = c->allowed,
		.e2ee_on = c->on,
		.profiles = c->profiles,
		.n_profiles = c->n_profiles,
		.media = { .family = 4, .addr = { 192, 0, 2, c->ip_last }, .port = c->port },
	};
	return l;
}

static void sim_defaults(struct sim *s)
{
	memset(s, 0, sizeof(*s));
	s->a = (struct side_cfg){ ALICE, &kp_alice, true, true, prof_both, 2, 10, 40000 };
	s->b = (struct side_cfg){ BOB, &kp_bob, true, true, prof_both, 2, 20, 50000 };
	s->a_accepts = s->b_accepts = true;
	s->use_callbacks = true;
}

static void sim_create(struct sim *s)
{
	struct callproto_config ci = {
		.local = make_local(&s->a),
		.peer_user = s->b.user,
		.call_id = s->call_id,
	}, cr = { .local = make_local(&s->b) };

	if (s->use_callbacks) {
		ci.identity_cb = cb_accept;
		ci.identity_ctx = &s->a_accepts;
		cr.identity_cb = cb_accept;
		cr.identity_ctx = &s->b_accepts;
	}
	if (s->responder_late_local)
		cr.local = (struct callproto_local){ 0 };
	assert_int_equal(callproto_initiator_create(&s->i, &ci), 0);
	assert_int_equal(callproto_responder_create(&s->r, &cr), 0);
}

/* One side's local decisions (when not by callback). */
static bool sim_decide(struct sim *s, struct callproto *st, bool initiator)
{
	const char *why;
	enum callproto_status status = callproto_status(st, &why);

	if (status == CALLPROTO_NEED_CALLEE) {
		struct callproto_local l = make_local(&s->b);
		struct callproto_hello h;

		assert_int_equal(callproto_hello(st, &h), 0);
		assert_string_equal(h.callee, s->b.user);
		assert_int_equal(callproto_responder_set_local(st, &l), 0);
		return true;
	}
	if (status == CALLPROTO_NEED_IDENTITY) {
		uint8_t pub[NOISE_PUBLIC_KEY_LEN];
		struct callproto_result res;
		struct callproto_keys k;

		assert_int_equal(callproto_peer_static(st, pub), 0);
		memcpy(initiator ? s->i_seen_peer : s->r_seen_peer, pub, sizeof(pub));
		/* nothing derived before the decision */
		assert_int_equal(callproto_result(st, &res), -EAGAIN);
		assert_int_equal(callproto_rekey(st, 1, &k), -EAGAIN);
		int rc = callproto_identity_decide(st, initiator ? s->a_accepts : s->b_accepts);

		(void)rc;
		return true;
	}
	return false;
}

/* Move frames until neither side has anything more to say. */
static void sim_pump(struct sim *s)
{
	bool moved = true;

	while (moved) {
		int k;

		moved = false;
		for (k = 0; k < 2; k++) {
			struct callproto *from = k == 0 ? s->i : s->r;
			struct callproto *to = k == 0 ? s->r : s->i;
			uint8_t buf[CALLPROTO_OUT_MAX + 8];
			size_t len = 0;
			int ret;

			moved |= sim_decide(s, from, k == 0);
			assert_int_equal(callproto_next_out(from, buf, CALLPROTO_OUT_MAX, &len), 0);
			if (len == 0)
				continue;
			moved = true;
			if (s->n_frames < MAX_FRAMES) {
				memcpy(s->frames[s->n_frames], buf, len);
				s->frame_len[s->n_frames] = len;
				s->frame_from_i[s->n_frames] = k == 0;
			}
			if (s->tamper && !s->tamper(s->tamper_ctx, s->n_frames, k == 0, buf, &len)) {
				s->n_frames++;
				continue;
			}
			s->n_frames++;
			ret = callproto_consume(to, buf, len);
			if (ret && k == 0 && !s->r_ret)
				s->r_ret = ret;
			if (ret && k == 1 && !s->i_ret)
				s->i_ret = ret;
		}
	}
}

static void sim_run(struct sim *s)
{
	sim_create(s);
	sim_pump(s);
}

static void sim_destroy(struct sim *s)
{
	callproto_destroy(s->i);
	callproto_destroy(s->r);
	s->i = s->r = NULL;
}

/* A failed side: nothing reachable. */
static void assert_nothing_derived(struct callproto *st)
{
	struct callproto_result res;
	struct callproto_keys k;
	uint8_t pub[NOISE_PUBLIC_KEY_LEN];

	assert_int_equal(callproto_status(st, NULL), CALLPROTO_FAILED);
	assert_int_equal(callproto_result(st, &res), -ECANCELED);
	assert_int_equal(callproto_rekey(st, 1, &k), -ECANCELED);
	assert_int_equal(callproto_peer_static(st, pub), -ECANCELED);
}

static void assert_keys_equal(const struct callproto_srtp_key *x,
			      const struct callproto_srtp_key *y)
{
	assert_int_equal(x->profile, y->profile);
	assert_int_equal(x->key_len, y->key_len);
	assert_memory_equal(x->key, y->key, sizeof(x->key));
	assert_memory_equal(x->salt, y->salt, sizeof(x->salt));
}

static void assert_keys_differ(const struct callproto_srtp_key *x,
			       const struct callproto_srtp_key *y)
{
	assert_memory_not_equal(x->key, y->key, x->key_len);
	assert_memory_not_equal(x->salt, y->salt, sizeof(x->salt));
}

/* Both sides done and in agreement; results in ri, rr. */
static void assert_agree(struct sim *s, struct callproto_result *ri,
			 struct callproto_result *rr)
{
	const char *why_i, *why_r;

	assert_int_equal(callproto_status(s->i, &why_i), CALLPROTO_DONE);
	assert_int_equal(callproto_status(s->r, &why_r), CALLPROTO_DONE);
	assert_string_equal(why_i, why_r);
	assert_int_equal(callproto_result(s->i, ri), 0);
	assert_int_equal(callproto_result(s->r, rr), 0);
	assert_memory_equal(ri->call_id, rr->call_id, CALLPROTO_CALL_ID_LEN);
	assert_int_equal(ri->role, CALLPROTO_ROLE_INITIATOR);
	assert_int_equal(rr->role, CALLPROTO_ROLE_RESPONDER);
	assert_int_equal(ri->mode, rr->mode);
	assert_string_equal(ri->reason, rr->reason);
	assert_int_equal(ri->profile, rr->profile);
	assert_int_equal(ri->keys.generation, 0);
	assert_keys_equal(&ri->keys.tx, &rr->keys.rx);         /* i->r */
	assert_keys_equal(&ri->keys.rx, &rr->keys.tx);         /* r->i */
	assert_keys_differ(&ri->keys.tx, &ri->keys.rx);
	assert_int_equal(ri->keys.tx.key_len, callproto_profile_key_len(ri->profile));
	assert_string_equal(ri->security_code, rr->security_code);
	assert_memory_equal(ri->handshake_hash, rr->handshake_hash, NOISE_HASH_LEN);
	assert_string_equal(ri->local_user, rr->peer_user);
	assert_string_equal(ri->peer_user, rr->local_user);
	assert_memory_equal(&ri->peer_media, &rr->local_media, sizeof(ri->peer_media));
	assert_memory_equal(&rr->peer_media, &ri->local_media, sizeof(rr->peer_media));
}

/* "ddddd ddddd ddddd ddddd" */
static void assert_code_format(const char *c)
{
	size_t i;

	assert_int_equal(strlen(c), CALLPROTO_SECURITY_CODE_LEN);
	for (i = 0; i < CALLPROTO_SECURITY_CODE_LEN; i++) {
		if (i % 6 == 5)
			assert_int_equal(c[i], ' ');
		else
			assert_true(c[i] >= '0' && c[i] <= '9');
	}
}

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

/* ---- corruption ----------------------------------------------------------------- */

struct flip_ctx {
	unsigned int idx;       /* which frame */
	size_t bit;             /* which bit of it */
	bool hit;
};

static bool tamper_flip(void *ctx, unsigned int idx, bool from_i, uint8_t *f, size_t *len)
{
	struct flip_ctx *c = ctx;

	(void)from_i;
	if (idx == c->idx && c->bit / 8 < *len) {
		f[c->bit / 8] ^= (uint8_t)(1u << (c->bit % 8));
		c->hit = true;
	}
	return true;
}

/* After a corrupted run: nobody done with keys the other lacks, every failed
 * side empty, and at least one side failed. */
static void assert_corrupt_outcome(struct sim *s, unsigned int idx)
{
	enum callproto_status si = callproto_status(s->i, NULL);
	enum callproto_status sr = callproto_status(s->r, NULL);

	assert_true(si == CALLPROTO_FAILED || sr == CALLPROTO_FAILED);
	if (si == CALLPROTO_FAILED)
		assert_nothing_derived(s->i);
	if (sr == CALLPROTO_FAILED)
		assert_nothing_derived(s->r);
	/* The initiator never completes on a corrupted attempt; only a corrupted
	 * CONFIRM (the last message) leaves the responder, its sender, done. */
	assert_int_equal(si, CALLPROTO_FAILED);
	if (idx < 4)
		assert_int_equal(sr, CALLPROTO_FAILED);
}

static void test_bitflips(void **state)
{
	size_t lens[5], cases = 0;
	unsigned int idx;
	struct sim s;

	(void)state;
	sim_defaults(&s);
	sim_run(&s);
	for (idx = 0; idx < 5; idx++)
		lens[idx] = s.frame_len[idx];
	sim_destroy(&s);

	for (idx = 0; idx < 5; idx++) {
		size_t bit;

		for (bit = 0; bit < 8 * lens[idx]; bit++) {
			struct flip_ctx c = { .idx = idx, .bit = bit };

			sim_defaults(&s);
			s.tamper = tamper_flip;
			s.tamper_ctx = &c;
			sim_run(&s);
			assert_true(c.hit);
			assert_corrupt_outcome(&s, idx);
			sim_destroy(&s);
			cases++;
		}
	}
	print_message("# %zu single-bit flips (HELLO %zu, NOISE1 %zu, NOISE2 %zu, "
		      "NOISE3 %zu, CONFIRM %zu octets)\n", cases, lens[0], lens[1],
		      lens[2], lens[3], lens[4]);
}

struct trunc_ctx {
	unsigned int idx;
	size_t new_len;
	bool fix_length;        /* rewrite the length field to match */
	bool extend;            /* append a byte instead */
};

static bool tamper_trunc(void *ctx, unsigned int idx, bool from_i, uint8_t *f, size_t *len)
{
	struct trunc_ctx *c = ctx;

	(void)from_i;
	if (idx != c->idx)
		return true;
	if (c->extend) {
		f[*len] = 0xa5;
		*len += 1;
	} else {
		*len = c->new_len;
	}
	if (c->fix_length && *len >= 2) {
		f[0] = (uint8_t)((*len - 2) >> 8);
		f[1] = (uint8_t)(*len - 2);
	}
	return true;
}

static void test_truncations(void **state)
{
	size_t lens[5], cases = 0;
	unsigned int idx;
	struct sim s;

	(void)state;
	sim_defaults(&s);
	sim_run(&s);
	for (idx = 0; idx < 5; idx++)
		lens[idx] = s.frame_len[idx];
	sim_destroy(&s);

	for (idx = 0; idx < 5; idx++) {
		size_t n;
		int fix;

		for (fix = 0; fix < 2; fix++) {
			for (n = 0; n <= lens[idx]; n++) {
				struct trunc_ctx c = { .idx = idx, .new_len = n, .fix_length = fix,
						       .extend = n == lens[idx] };

				sim_defaults(&s);
				s.tamper = tamper_trunc;
				s.tamper_ctx = &c;
				sim_run(&s);
				assert_corrupt_outcome(&s, idx);
				sim_destroy(&s);
				cases++;
			}
		}
	}
	print_message("# %zu truncated or extended frames\n", cases);
}

struct garbage_ctx {
	unsigned int idx;
	unsigned int mode;      /* 0 random, 1 valid length field, 2 + right type */
	uint8_t right_type;
};

static bool tamper_garbage(void *ctx, unsigned int idx, bool from_i, uint8_t *f, size_t *len)
{
	struct garbage_ctx *c = ctx;
	size_t n;

	(void)from_i;
	if (idx != c->idx)
		return true;
	c->right_type = f[2];
	n = 1 + randombytes_uniform(CALLPROTO_OUT_MAX);
	randombytes_buf(f, n);
	if (c->mode >= 1 && n >= 3) {
		f[0] = (uint8_t)((n - 2) >> 8);
		f[1] = (uint8_t)(n - 2);
	}
	if (c->mode == 2 && n >= 3)
		f[2] = c->right_type;
	*len = n;
	return true;
}

static void test_garbage(void **state)
{
	unsigned int idx, round, mode;

	(void)state;
	for (idx = 0; idx < 5; idx++) {
		for (mode = 0; mode < 3; mode++) {
			for (round = 0; round < 40; round++) {
				struct garbage_ctx c = { .idx = idx, .mode = mode };
				struct sim s;

				sim_defaults(&s);
				s.tamper = tamper_garbage;
				s.tamper_ctx = &c;
				sim_run(&s);
				assert_corrupt_outcome(&s, idx);
				sim_destroy(&s);
			}
		}
	}
	/* garbage straight into fresh states, and empty/short frames */
	{
		struct sim s;
		uint8_t junk[64];
		const uint8_t zero_len[] = { 0, 0 }, one[] = { 0 };

		sim_defaults(&s);
		sim_create(&s);
		randombytes_buf(junk, sizeof(junk));
		assert_true(callproto_consume(s.r, junk, sizeof(junk)) < 0);
		assert_nothing_derived(s.r);
		assert_true(callproto_consume(s.i, zero_len, 2) < 0);
		assert_nothing_derived(s.i);
		assert_int_equal(callproto_consume(s.i, one, 1), -ECANCELED);
		sim_destroy(&s);
	}
}

/* ---- order and replay -------------------------------------------------------------- */

static void record_run(struct sim *rec)
{
	sim_defaults(rec);
	sim_run(rec);
	assert_int_equal(rec->n_frames, 5);
}

static void test_out_of_order(void **state)
{
	struct sim rec, s;
	const char *why;
	uint8_t buf[CALLPROTO_OUT_MAX];
	size_t len;
	unsigned int k;

	(void)state;
	record_run(&rec);

	/* the responder gets anything but HELLO first */
	for (k = 1; k < 5; k++) {
		sim_defaults(&s);
		sim_create(&s);
		assert_true(callproto_consume(s.r, rec.frames[k], rec.frame_len[k]) < 0);
		assert_nothing_derived(s.r);
		if (k == 1 || k == 3) {
			assert_int_equal(callproto_status(s.r, &why), CALLPROTO_FAILED);
			assert_non_null(strstr(why, "expected HELLO"));
		}
		/* it tells the peer */
		assert_int_equal(callproto_next_out(s.r, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 4);
		assert_int_equal(buf[2], 0x7f);
		assert_int_equal(callproto_next_out(s.r, buf, sizeof(buf), &len), 0);
		assert_int_equal(len, 0);
		sim_destroy(&s);
	}
	/* the initiator gets anything but NOISE2 first (its own messages too) */
	for (k = 0; k < 5; k++) {
		if (k == 2)
			continue;
		sim_defaults(&s);
		sim_create(&s);
		assert_true(callproto_consume(s.i, rec.frames[k], rec.frame_len[k]) < 0);
		assert_nothing_derived(s.i);
		sim_destroy(&s);
	}
	/* a message delivered twice (replay within the attempt), or skipped */
	for (k = 0; k < 4; k++) {
		unsigned int j;

		sim_defaults(&s);
		sim_create(&s);
		/* deliver frames 0..k properly, then frame k again */
		for (j = 0; j <= k; j++) {
			struct callproto *from = rec.frame_from_i[j] ? s.i : s.r;
			struct callproto *to = rec.frame_from_i[j] ? s.r : s.i;

			assert_int_equal(callproto_next_out(from, buf, sizeof(buf), &len), 0);
			assert_int_equal(callproto_consume(to, buf, len), 0);
			if (j != k)
				continue;
			if (k == 3) {
				/* the responder is done: later frames are not its business */
				assert_int_equal(callproto_status(to, NULL), CALLPROTO_DONE);
				assert_int_equal(callproto_consume(to, buf, len), -EALREADY);
				assert_int_equal(callproto_status(to, NULL), CALLPROTO_DONE);
				continue;
			}
			assert_true(callproto_consume(to, buf, len) < 0);
			assert_nothing_derived(to);
			assert_int_equal(callproto_status(to, &why), CALLPROTO_FAILED);
			assert_true(strstr(why, "unexpected") || strstr(why, "twice") ||
				    strstr(why, "pending"));
		}
		sim_destroy(&s);
	}
	/* NOISE3 of another attempt where NOISE1 is due */
	sim_defaults(&s);
	sim_create(&s);
	assert_int_equal(callproto_next_out(s.i, buf, sizeof(buf), &len), 0);
	assert_int_equal(callproto_consume(s.r, buf, len), 0);
	assert_int_equal(callproto_consume(s.r, rec.frames[3], rec.frame_len[3]), -EPROTO);
	assert_int_equal(callproto_status(s.r, &why), CALLPROTO_FAILED);
	assert_string_equal(why, "unexpected NOISE3 (expected NOISE1): out of order or replayed");
	sim_destroy(&s);
	sim_destroy(&rec);
}

struct replay_ctx {
	const struct sim *old;
	unsigned int idx;
};

static bool tamper_replay(void *ctx, unsigned int idx, bool from_i, uint8_t *f, size_t *len)
{
	struct replay_ctx *c = ctx;

	(void)from_i;
	if (idx == c->idx) {
		memcpy(f, c->old->frames[idx], c->old->frame_len[idx]);
		*len = c->old->frame_len[idx];
	}
	return true;
}

static void test_replay_old_attempt(void **state)
{
	struct sim rec, s;
	unsigned int k;

	(void)state;
	record_run(&rec);
	/* one message of the new attempt swapped for the old attempt's */
	for (k = 0; k < 5; k++) {
		struct replay_ctx c = { .old = &rec, .idx = k };

		sim_defaults(&s);
		s.tamper = tamper_replay;
		s.tamper_ctx = &c;
		sim_run(&s);
		assert_corrupt_outcome(&s, k);
		sim_destroy(&s);
	}
	/* the old caller's whole side replayed to a fresh responder */
	{
		uint8_t buf[CALLPROTO_OUT_MAX];
		size_t len;
		const char *why;

		sim_defaults(&s);
		sim_create(&s);
		assert_int_equal(callproto_consume(s.r, rec.frames[0], rec.frame_len[0]), 0);
		assert_int_equal(callproto_consume(s.r, rec.frames[1], rec.frame_len[1]), 0);
		assert_int_equal(callproto_next_out(s.r, buf, sizeof(buf), &len), 0);
		assert_true(len > 0);           /* a fresh NOISE2 */
		assert_int_equal(callproto_consume(s.r, rec.frames[3], rec.frame_len[3]),
				 -EBADMSG);
		assert_int_equal(callproto_status(s.r, &why), CALLPROTO_FAILED);
		assert_non_null(strstr(why, "failed authentication"));
		assert_nothing_derived(s.r);
		sim_destroy(&s);
	}
	sim_destroy(&rec);
}

/* ---- identity ------------------------------------------------------------------------ */

static void test_identity_refused(void **state)
{
	const char *why;
	int cb;

	(void)state;
	for (cb = 0; cb < 2; cb++) {
		struct sim s;

		/* the caller refuses the callee's key: it never sends NOISE3 */
		sim_defaults(&s);
		s.use_callbacks = cb;
		s.a_accepts = false;
		sim_run(&s);
		assert_int_equal(callproto_status(s.i, &why), CALLPROTO_FAILED);
		assert_string_equal(why, "the identity key presented for " BOB " was refused");
		assert_nothing_derived(s.i);
		assert_int_equal(callproto_status(s.r, &why), CALLPROTO_FAILED);
		assert_non_null(strstr(why, "identity key refused"));
		assert_nothing_derived(s.r);
		assert_int_equal(s.n_frames, 4);          /* ... NOISE2 ABORT */
		assert_int_equal(s.frames[3][2], 0x7f);
		sim_destroy(&s);

		/* the callee refuses the caller's key: authenticated rejection */
		sim_defaults(&s);
		s.use_callbacks = cb;
		s.b_accepts = false;
		sim_run(&s);
		assert_int_equal(callproto_status(s.r, &why), CALLPROTO_FAILED);
		assert_string_equal(why, "the identity key presented for " ALICE " was refused");
		assert_nothing_derived(s.r);
		assert_int_equal(callproto_status(s.i, &why), CALLPROTO_FAILED);
		assert_string_equal(why, BOB "'s side rejected the call: identity key refused");
		assert_int_equal(s.i_ret, -ECONNREFUSED);
		assert_nothing_derived(s.i);
		assert_int_equal(s.n_frames, 5);          /* ... NOISE3 CONFIRM(reject) */
		assert_int_equal(s.frames[4][2], 0x05);
		sim_destroy(&s);
	}
	/* decisions only when asked */
	{
		struct sim s;

		sim_defaults(&s);
		s.use_callbacks = false;
		sim_create(&s);
		assert_int_equal(callproto_identity_decide(s.i, true), -EPROTO);
		assert_int_equal(callproto_status(s.i, NULL), CALLPROTO_RUNNING);
		sim_destroy(&s);
	}
}

/* ---- man in the middle ------------------------------------------------------------------ */

static void test_mitm(void **state)
{
	struct callproto *alice, *m_resp, *m_init, *bob;
	struct callproto_result ra, rma, rmb, rb;
	struct callproto_hello hello;
	bool yes = true;
	uint8_t buf[CALLPROTO_OUT_MAX];
	size_t len;
	int moved;

	(void)state;
	struct side_cfg ca = { ALICE, &kp_alice, true, true, prof_both, 2, 10, 40000 };
	struct side_cfg cm_as_bob = { BOB, &kp_mallory, true, true, prof_both, 2, 66, 6666 };
	struct side_cfg cm_as_alice = { ALICE, &kp_mallory, true, true, prof_both, 2, 66, 6667 };
	struct side_cfg cb = { BOB, &kp_bob, true, true, prof_both, 2, 20, 50000 };
	struct callproto_config cfg_a = { .local = make_local(&ca), .peer_user = BOB,
					  .identity_cb = cb_accept, .identity_ctx = &yes };
	struct callproto_config cfg_mr = { .local = make_local(&cm_as_bob),
					   .identity_cb = cb_accept, .identity_ctx = &yes };
	struct callproto_config cfg_b = { .local = make_local(&cb),
					  .identity_cb = cb_accept, .identity_ctx = &yes };

	assert_int_equal(callproto_initiator_create(&alice, &cfg_a), 0);
	assert_int_equal(callproto_responder_create(&m_resp, &cfg_mr), 0);
	assert_int_equal(callproto_responder_create(&bob, &cfg_b), 0);
	/* Alice's hello reaches Mallory, who calls Bob with the same call id */
	assert_int_equal(callproto_next_out(alice, buf, sizeof(buf), &len), 0);
	assert_int_equal(callproto_consume(m_resp, buf, len), 0);
	assert_int_equal(callproto_hello(m_resp, &hello), 0);
	{
		struct callproto_config cfg_mi = { .local = make_local(&cm_as_alice),
						   .peer_user = BOB, .call_id = hello.call_id,
						   .identity_cb = cb_accept, .identity_ctx = &yes };

		assert_int_equal(callproto_initiator_create(&m_init, &cfg_mi), 0);
	}
	do {
		struct callproto *pairs[4][2] = { { alice, m_resp }, { m_resp, alice },
						  { m_init, bob }, { bob, m_init } };
		int p;

		moved = 0;
		for (p = 0; p < 4; p++) {
			assert_int_equal(callproto_next_out(pairs[p][0], buf, sizeof(buf), &len), 0);
			if (len) {
				moved = 1;
				assert_int_equal(callproto_consume(pairs[p][1], buf, len), 0);
			}
		}
	} while (moved);
	assert_int_equal(callproto_result(alice, &ra), 0);
	assert_int_equal(callproto_result(m_resp, &rma), 0);
	assert_int_equal(callproto_result(m_init, &rmb), 0);
	assert_int_equal(callproto_result(bob, &rb), 0);
	/* both legs are "end-to-end", same call id, same users... */
	assert_memory_equal(ra.call_id, rb.call_id, CALLPROTO_CALL_ID_LEN);
	assert_int_equal(ra.mode, CALLPROTO_MODE_E2EE);
	assert_int_equal(rb.mode, CALLPROTO_MODE_E2EE);
	/* ...each leg agrees with Mallory... */
	assert_string_equal(ra.security_code, rma.security_code);
	assert_string_equal(rb.security_code, rmb.security_code);
	/* ...but Alice and Bob read different codes, see the wrong keys... */
	assert_string_not_equal(ra.security_code, rb.security_code);
	assert_memory_not_equal(ra.handshake_hash, rb.handshake_hash, NOISE_HASH_LEN);
	assert_memory_equal(ra.peer_static, kp_mallory.public_key, NOISE_PUBLIC_KEY_LEN);
	assert_memory_equal(rb.peer_static, kp_mallory.public_key, NOISE_PUBLIC_KEY_LEN);
	/* ...and their media keys do not match end to end */
	assert_keys_differ(&ra.keys.tx, &rb.keys.rx);
	callproto_destroy(alice);
	callproto_destroy(m_resp);
	callproto_destroy(m_init);
	callproto_destroy(bob);
}

/* ---- rekey -------------------------------------------------------------------------------- */

static void test_rekey(void **state)
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
	assert_memory_not_equal(k.tx.salt, ki[3].tx.salt, CALLPROTO_MASTER_SALT_LEN);
	callproto_keys_wipe(&k);
	sim_destroy(&s);
	sim_destroy(&s2);
}

/* ---- a second implementation, from docs/handshake.md --------------------------------------- */

static size_t ref_hello(uint8_t *body, const uint8_t call_id[16], const char *caller,
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

static size_t ref_frame(uint8_t *f, uint8_t type, const uint8_t *msg, size_t len)
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
static int ref_caller(const uint8_t *payload, size_t plen, char *resp_reason, size_t cap)
{
	static const uint8_t call_id[16] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	struct side_cfg cb = { BOB, &kp_bob, true, true, prof_both, 2, 20, 50000 };
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
		static const uint8_t want[] = {
			0x01, 0x00, 0x02, 0x03, 0x00,                           /* INTENT */
			0x02, 0x00, 0x04, 0x00, 0x07, 0x00, 0x08,               /* PROFILES */
			0x04, 0x00, 0x07, 0x04, 192, 0, 2, 20, 0xc3, 0x50,      /* MEDIA */
		};

		assert_int_equal(pll, sizeof(want));
		assert_memory_equal(pl, want, sizeof(want));
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
		assert_memory_equal(r.keys.rx.key, ir, r.keys.rx.key_len);
		assert_memory_equal(r.keys.rx.salt, ir + 32, 12);
		assert_memory_equal(r.keys.tx.key, ri, r.keys.tx.key_len);
		assert_memory_equal(r.keys.tx.salt, ri + 32, 12);
		assert_string_equal(r.security_code, ref_code);
		{
			struct callproto_keys k;

			assert_int_equal(callproto_rekey(bob, 2, &k), 0);
			ref_keys(hs, r.profile, 2, ir, ri, ref_code);
			assert_memory_equal(k.rx.key, ir, k.rx.key_len);
			assert_memory_equal(k.tx.salt, ri + 32, 12);
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

static void test_reference_caller(void **state)
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
static enum callproto_status ref_callee(const uint8_t *payload, size_t plen,
					const char **why, struct callproto **alice_out,
					struct noise_handshake **hs_out)
{
	struct side_cfg ca = { ALICE, &kp_alice, true, true, prof_both, 2, 10, 40000 };
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

static void test_reference_callee(void **state)
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

/* ---- hello, callee step, framing, configuration ------------------------------------------- */

static void test_hello_and_callee(void **state)
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

static void test_framing_and_api(void **state)
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
		static const uint16_t dup[] = { 7, 7 }, unk[] = { 1 };
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

static void test_security_code(void **state)
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

static void test_noise_export(void **state)
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
