/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for control/proto/noise.c: the runner (main), the shared message
 * buffers and helpers, the cacophony vectors (XX, XXpsk3, IK, IKpsk1, IKpsk2
 * with 25519/ChaChaPoly/BLAKE2b: handshake messages byte for byte, handshake
 * hash, transport messages both ways) and rejection of corrupted and
 * truncated handshake messages. Wrong turns and sessions, nonce exhaustion
 * and low-order keys are in test_noise_sessions.c; agreement, size limits and
 * configuration in test_noise_agreement.c.
 */
#include "test_noise.h"
#include "noise_vectors.h"

/* Test buffers big enough for any message (too big for the stack). */
uint8_t *msgbuf, *msgbuf2, *plainbuf;

static int group_setup(void **state)
{
	(void)state;
	if (noise_init() != 0)
		return -1;
	msgbuf = malloc(MSG_CAP);
	msgbuf2 = malloc(MSG_CAP);
	plainbuf = malloc(MSG_CAP);
	return msgbuf && msgbuf2 && plainbuf ? 0 : -1;
}

static int group_teardown(void **state)
{
	(void)state;
	free(msgbuf);
	free(msgbuf2);
	free(plainbuf);
	return 0;
}

/* Handshake messages per pattern (Noise sections 7.5, 9.4), stated here
 * independently of the library's tables. */
size_t hs_messages(enum noise_pattern p)
{
	return (p == NOISE_PATTERN_XX || p == NOISE_PATTERN_XXPSK3) ? 3 : 2;
}

/* The one message of these patterns that carries no tag at all: XX's first
 * ("-> e" with no key yet). A change to it cannot be seen when it is read, only
 * at the next message, whose AEAD covers h. */
bool untagged(enum noise_pattern p, size_t k)
{
	return p == NOISE_PATTERN_XX && k == 0;
}

static enum noise_pattern vec_pattern(const struct noise_vec *v)
{
	enum noise_pattern p = NOISE_PATTERN_MAX;

	assert_int_equal(noise_pattern_from_name(v->protocol_name, &p), 0);
	return p;
}

/* test_vectors' second pass: each side's static public key given, as the
 * daemon passes the stored one, instead of derived ([0] initiator) */
static bool vec_give_public;
static uint8_t vec_public[2][NOISE_PUBLIC_KEY_LEN];

static void vec_config(const struct noise_vec *v, enum noise_role role,
		       struct noise_handshake_config *cfg)
{
	bool init = role == NOISE_ROLE_INITIATOR;

	memset(cfg, 0, sizeof(*cfg));
	cfg->pattern = vec_pattern(v);
	cfg->role = role;
	cfg->prologue = init ? v->init_prologue.p : v->resp_prologue.p;
	cfg->prologue_len = init ? v->init_prologue.n : v->resp_prologue.n;
	cfg->local_static_private = init ? v->init_static.p : v->resp_static.p;
	cfg->remote_static_public = init ? v->init_remote_static.p : v->resp_remote_static.p;
	cfg->psk = init ? v->init_psk.p : v->resp_psk.p;
	cfg->ephemeral_private = init ? v->init_ephemeral.p : v->resp_ephemeral.p;
	if (vec_give_public) {
		assert_int_equal(crypto_scalarmult_curve25519_base(vec_public[!init],
								    cfg->local_static_private), 0);
		cfg->local_static_public = vec_public[!init];
	}
	if (cfg->psk)
		assert_int_equal(init ? v->init_psk.n : v->resp_psk.n, NOISE_PSK_LEN);
}

static void vec_pair(const struct noise_vec *v, struct noise_handshake **i,
		     struct noise_handshake **r)
{
	struct noise_handshake_config cfg;

	vec_config(v, NOISE_ROLE_INITIATOR, &cfg);
	assert_int_equal(noise_handshake_create(i, &cfg), 0);
	vec_config(v, NOISE_ROLE_RESPONDER, &cfg);
	assert_int_equal(noise_handshake_create(r, &cfg), 0);
}

/* Message k goes from sender to receiver: write it into buf. */
size_t write_msg(struct noise_handshake *from, const uint8_t *payload,
		 size_t payload_len, uint8_t *buf)
{
	size_t len = 0;

	assert_int_equal(noise_handshake_status(from), NOISE_HS_WRITE);
	assert_int_equal(noise_handshake_write_message(from, payload, payload_len,
						       buf, MSG_CAP, &len), 0);
	return len;
}

int read_msg(struct noise_handshake *to, const uint8_t *msg, size_t len)
{
	size_t plen = 0;

	return noise_handshake_read_message(to, msg, len, plainbuf, MSG_CAP, &plen);
}

/* Run handshake messages 0..upto-1 of a vector, all of which must succeed. */
static void vec_advance(const struct noise_vec *v, struct noise_handshake *i,
			struct noise_handshake *r, size_t upto)
{
	for (size_t k = 0; k < upto; k++) {
		struct noise_handshake *from = k % 2 ? r : i, *to = k % 2 ? i : r;
		size_t len = write_msg(from, v->messages[k].payload.p,
				       v->messages[k].payload.n, msgbuf);

		assert_int_equal(read_msg(to, msgbuf, len), 0);
	}
}

/* ---- the vectors ------------------------------------------------------- */

static void test_vectors(void **state)
{
	(void)state;
	assert_int_equal(N_NOISE_VECS, 5);
	for (size_t pass = 0; pass < 2 * N_NOISE_VECS; pass++) {
		size_t n = pass % N_NOISE_VECS;
		const struct noise_vec *v = &noise_vecs[n];
		enum noise_pattern p = vec_pattern(v);
		size_t nhs = hs_messages(p);
		struct noise_handshake *i, *r;
		struct noise_cipherstate isend, irecv, rsend, rrecv;
		struct noise_keypair kp;
		uint8_t h[NOISE_HASH_LEN], pub[NOISE_PUBLIC_KEY_LEN];

		assert_true(v->n_messages > nhs);
		vec_give_public = pass >= N_NOISE_VECS;
		vec_pair(v, &i, &r);
		vec_give_public = false;
		for (size_t k = 0; k < nhs; k++) {
			const struct noise_vec_msg *m = &v->messages[k];
			struct noise_handshake *from = k % 2 ? r : i, *to = k % 2 ? i : r;
			size_t len, plen = 0;

			assert_int_equal(noise_handshake_status(to), NOISE_HS_READ);
			assert_int_equal(noise_handshake_hash(from, h), -EPROTO);
			len = write_msg(from, m->payload.p, m->payload.n, msgbuf);
			assert_int_equal(len, m->ciphertext.n);
			assert_memory_equal(msgbuf, m->ciphertext.p, len);
			assert_int_equal(noise_handshake_read_message(to, msgbuf, len, plainbuf,
								      MSG_CAP, &plen), 0);
			assert_int_equal(plen, m->payload.n);
			assert_memory_equal(plainbuf, m->payload.p, plen);
		}
		assert_int_equal(noise_handshake_status(i), NOISE_HS_COMPLETE);
		assert_int_equal(noise_handshake_status(r), NOISE_HS_COMPLETE);

		/* handshake hash, both sides */
		assert_int_equal(v->handshake_hash.n, NOISE_HASH_LEN);
		assert_int_equal(noise_handshake_hash(i, h), 0);
		assert_memory_equal(h, v->handshake_hash.p, NOISE_HASH_LEN);
		assert_int_equal(noise_handshake_hash(r, h), 0);
		assert_memory_equal(h, v->handshake_hash.p, NOISE_HASH_LEN);

		/* remote statics: each side learnt the other's */
		assert_int_equal(noise_keypair_from_private(&kp, v->resp_static.p), 0);
		assert_int_equal(noise_handshake_remote_static(i, pub), 0);
		assert_memory_equal(pub, kp.public_key, NOISE_PUBLIC_KEY_LEN);
		assert_int_equal(noise_keypair_from_private(&kp, v->init_static.p), 0);
		assert_int_equal(noise_handshake_remote_static(r, pub), 0);
		assert_memory_equal(pub, kp.public_key, NOISE_PUBLIC_KEY_LEN);
		noise_keypair_wipe(&kp);

		/* transport messages: c1 initiator -> responder, c2 back */
		assert_int_equal(noise_handshake_split(i, &isend, &irecv), 0);
		assert_int_equal(noise_handshake_split(r, &rsend, &rrecv), 0);
		assert_int_equal(noise_handshake_status(i), NOISE_HS_SPLIT);
		for (size_t k = nhs; k < v->n_messages; k++) {
			const struct noise_vec_msg *m = &v->messages[k];
			struct noise_cipherstate *tx = k % 2 ? &rsend : &isend;
			struct noise_cipherstate *rx = k % 2 ? &irecv : &rrecv;
			size_t len = 0, plen = 0;

			assert_int_equal(noise_cipher_encrypt(tx, NULL, 0, m->payload.p,
							      m->payload.n, msgbuf, MSG_CAP,
							      &len), 0);
			assert_int_equal(len, m->ciphertext.n);
			assert_memory_equal(msgbuf, m->ciphertext.p, len);
			assert_int_equal(noise_cipher_decrypt(rx, NULL, 0, msgbuf, len,
							      plainbuf, MSG_CAP, &plen), 0);
			assert_int_equal(plen, m->payload.n);
			assert_memory_equal(plainbuf, m->payload.p, plen);
		}
		/* the hash survives the split; a second split does not happen */
		assert_int_equal(noise_handshake_hash(i, h), 0);
		assert_memory_equal(h, v->handshake_hash.p, NOISE_HASH_LEN);
		assert_int_equal(noise_handshake_split(i, &isend, &irecv), -EPROTO);

		noise_cipherstate_wipe(&isend);
		noise_cipherstate_wipe(&irecv);
		noise_cipherstate_wipe(&rsend);
		noise_cipherstate_wipe(&rrecv);
		noise_handshake_destroy(i);
		noise_handshake_destroy(r);
	}
}

/* ---- rejection of corrupted handshake messages ------------------------------ */

/*
 * Deliver a modified message k and expect the handshake to fail: at that read,
 * or, for the one untagged message, at the original sender's next read.
 */
static void expect_failure(const struct noise_vec *v, enum noise_pattern p, size_t k,
			   struct noise_handshake *i, struct noise_handshake *r,
			   const uint8_t *msg, size_t len)
{
	struct noise_handshake *from = k % 2 ? r : i, *to = k % 2 ? i : r;
	size_t len2;
	int ret = read_msg(to, msg, len);

	if (ret != 0) {
		assert_int_equal(noise_handshake_status(to), NOISE_HS_FAILED);
		return;
	}
	assert_true(untagged(p, k));
	/* the receiver answers; the sender must then refuse the answer */
	ret = noise_handshake_write_message(to, v->messages[k + 1].payload.p,
					    v->messages[k + 1].payload.n,
					    msgbuf2, MSG_CAP, &len2);
	if (ret != 0)                   /* e.g. a low-order e after a flip */
		return;
	assert_int_not_equal(read_msg(from, msgbuf2, len2), 0);
	assert_int_equal(noise_handshake_status(from), NOISE_HS_FAILED);
}

static void test_bit_flips(void **state)
{
	size_t flips = 0, late = 0;

	(void)state;
	for (size_t n = 0; n < N_NOISE_VECS; n++) {
		const struct noise_vec *v = &noise_vecs[n];
		enum noise_pattern p = vec_pattern(v);

		for (size_t k = 0; k < hs_messages(p); k++) {
			size_t len = v->messages[k].ciphertext.n;

			for (size_t bit = 0; bit < len * 8; bit++) {
				struct noise_handshake *i, *r;
				size_t l;

				vec_pair(v, &i, &r);
				vec_advance(v, i, r, k);
				l = write_msg(k % 2 ? r : i, v->messages[k].payload.p,
					      v->messages[k].payload.n, msgbuf);
				assert_int_equal(l, len);
				msgbuf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				expect_failure(v, p, k, i, r, msgbuf, l);
				late += untagged(p, k);
				flips++;
				noise_handshake_destroy(i);
				noise_handshake_destroy(r);
			}
		}
	}
	print_message("# %zu single-bit flips refused (%zu of them at the next message)\n",
		      flips, late);
}

static void test_truncated_and_extended(void **state)
{
	size_t cases = 0;

	(void)state;
	for (size_t n = 0; n < N_NOISE_VECS; n++) {
		const struct noise_vec *v = &noise_vecs[n];
		enum noise_pattern p = vec_pattern(v);

		for (size_t k = 0; k < hs_messages(p); k++) {
			size_t len = v->messages[k].ciphertext.n;

			/* every shorter length, and one byte more */
			for (size_t cut = 0; cut <= len + 1; cut++) {
				struct noise_handshake *i, *r;
				size_t l;

				if (cut == len)
					continue;
				vec_pair(v, &i, &r);
				vec_advance(v, i, r, k);
				l = write_msg(k % 2 ? r : i, v->messages[k].payload.p,
					      v->messages[k].payload.n, msgbuf);
				msgbuf[l] = 0x5a;
				if (cut < NOISE_PUBLIC_KEY_LEN || !untagged(p, k)) {
					/* refused at this very read */
					assert_int_not_equal(read_msg(k % 2 ? i : r, msgbuf, cut), 0);
				} else {
					expect_failure(v, p, k, i, r, msgbuf, cut);
				}
				cases++;
				noise_handshake_destroy(i);
				noise_handshake_destroy(r);
			}
		}
	}
	print_message("# %zu truncated/extended handshake messages refused\n", cases);
}

/* A failed read is final: the right message afterwards is refused too. */
static void test_failure_is_final(void **state)
{
	const struct noise_vec *v = &noise_vecs[2];      /* IK */
	struct noise_handshake *i, *r;
	struct noise_cipherstate a, b;
	uint8_t h[NOISE_HASH_LEN], pub[NOISE_PUBLIC_KEY_LEN];
	size_t l, l2;

	(void)state;
	assert_int_equal(vec_pattern(v), NOISE_PATTERN_IK);
	vec_pair(v, &i, &r);
	l = write_msg(i, v->messages[0].payload.p, v->messages[0].payload.n, msgbuf);
	msgbuf[l - 1] ^= 1;
	assert_int_equal(read_msg(r, msgbuf, l), -EBADMSG);
	msgbuf[l - 1] ^= 1;
	assert_int_equal(noise_handshake_status(r), NOISE_HS_FAILED);
	assert_int_equal(read_msg(r, msgbuf, l), -ECANCELED);
	assert_int_equal(noise_handshake_write_message(r, NULL, 0, msgbuf2, MSG_CAP, &l2),
			 -ECANCELED);
	assert_int_equal(noise_handshake_hash(r, h), -ECANCELED);
	assert_int_equal(noise_handshake_remote_static(r, pub), -ECANCELED);
	assert_int_equal(noise_handshake_split(r, &a, &b), -ECANCELED);
	noise_handshake_destroy(i);
	noise_handshake_destroy(r);

	/* and a read out of turn is also final */
	vec_pair(v, &i, &r);
	assert_int_equal(read_msg(i, msgbuf, l), -EPROTO);
	assert_int_equal(noise_handshake_status(i), NOISE_HS_FAILED);
	noise_handshake_destroy(i);
	noise_handshake_destroy(r);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_bit_flips),
		cmocka_unit_test(test_truncated_and_extended),
		cmocka_unit_test(test_failure_is_final),
		cmocka_unit_test(test_wrong_turn_and_role),
		cmocka_unit_test(test_transport_rejections),
		cmocka_unit_test(test_nonce_exhaustion),
		cmocka_unit_test(test_low_order_keys),
		cmocka_unit_test(test_low_order_static_in_s_token),
		cmocka_unit_test(test_random_handshakes_agree),
		cmocka_unit_test(test_mismatched_parameters),
		cmocka_unit_test(test_sizes),
		cmocka_unit_test(test_garbage),
		cmocka_unit_test(test_config_errors),
	};

	return cmocka_run_group_tests_name("noise", tests, group_setup, group_teardown);
}
