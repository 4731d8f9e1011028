/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callproto under attack, through the simulation: every bit flip of every
 * message, truncations, garbage, frames out of order, replay across attempts,
 * refused identities, a man in the middle.
 */
#include "test_callproto.h"

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

void test_bitflips(void **state)
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

void test_truncations(void **state)
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

void test_garbage(void **state)
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

void test_out_of_order(void **state)
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

void test_replay_old_attempt(void **state)
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

void test_identity_refused(void **state)
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

void test_mitm(void **state)
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
