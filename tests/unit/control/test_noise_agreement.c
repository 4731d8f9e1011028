/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control/proto/noise.c: agreement of random-key handshakes, refusal of
 * mismatched parameters, size limits, garbage and configuration errors.
 */
#include "test_noise.h"

/* ---- agreement ----------------------------------------------------------------- */

void test_random_handshakes_agree(void **state)
{
	(void)state;
	for (enum noise_pattern p = 0; p < NOISE_PATTERN_MAX; p++) {
		uint8_t prev_h[NOISE_HASH_LEN] = { 0 };

		for (int it = 0; it < 20; it++) {
			struct rkeys k;
			struct noise_handshake *i, *r;
			struct noise_cipherstate cs[4];
			uint8_t hi[NOISE_HASH_LEN], hr[NOISE_HASH_LEN];
			uint8_t pub[NOISE_PUBLIC_KEY_LEN];

			rand_keys(&k);
			rand_pair(p, &k, &i, &r);
			rand_handshake(p, i, r, cs);
			assert_int_equal(noise_handshake_hash(i, hi), 0);
			assert_int_equal(noise_handshake_hash(r, hr), 0);
			assert_memory_equal(hi, hr, NOISE_HASH_LEN);
			assert_memory_not_equal(hi, prev_h, NOISE_HASH_LEN);
			memcpy(prev_h, hi, NOISE_HASH_LEN);
			/* initiator send = responder recv, and the other way */
			assert_true(cs[0].has_key && cs[1].has_key);
			assert_memory_equal(cs[0].k, cs[3].k, NOISE_SYMMETRIC_KEY_LEN);
			assert_memory_equal(cs[1].k, cs[2].k, NOISE_SYMMETRIC_KEY_LEN);
			assert_memory_not_equal(cs[0].k, cs[1].k, NOISE_SYMMETRIC_KEY_LEN);
			assert_int_equal(cs[0].n, 0);
			assert_int_equal(noise_handshake_remote_static(i, pub), 0);
			assert_memory_equal(pub, k.sr.public_key, NOISE_PUBLIC_KEY_LEN);
			assert_int_equal(noise_handshake_remote_static(r, pub), 0);
			assert_memory_equal(pub, k.si.public_key, NOISE_PUBLIC_KEY_LEN);

			/* a few transport messages each way, with AD */
			for (int t = 0; t < 4; t++) {
				struct noise_cipherstate *tx = &cs[t % 2 ? 2 : 0];
				struct noise_cipherstate *rx = &cs[t % 2 ? 1 : 3];
				uint8_t m[100];
				size_t ml = randombytes_uniform(sizeof(m) + 1), len, plen;

				randombytes_buf(m, ml);
				assert_int_equal(noise_cipher_encrypt(tx, hi, 8, m, ml, msgbuf,
								      MSG_CAP, &len), 0);
				assert_int_equal(noise_cipher_decrypt(rx, hi, 8, msgbuf, len,
								      plainbuf, MSG_CAP, &plen), 0);
				assert_int_equal(plen, ml);
				assert_memory_equal(plainbuf, m, ml);
			}
			for (int c = 0; c < 4; c++)
				noise_cipherstate_wipe(&cs[c]);
			noise_handshake_destroy(i);
			noise_handshake_destroy(r);
		}
	}
}

/* Run a handshake where the two configurations differ: every message before
 * fail_at is read, message fail_at is refused with -EBADMSG. */
static void expect_mismatch(enum noise_pattern p, const struct noise_handshake_config *ci,
			    const struct noise_handshake_config *cr, size_t fail_at)
{
	struct noise_handshake *i, *r;

	assert_true(fail_at <= hs_messages(p));         /* == : must complete */
	assert_int_equal(noise_handshake_create(&i, ci), 0);
	assert_int_equal(noise_handshake_create(&r, cr), 0);
	for (size_t k = 0; k <= fail_at && k < hs_messages(p); k++) {
		struct noise_handshake *from = k % 2 ? r : i, *to = k % 2 ? i : r;
		size_t l = write_msg(from, (const uint8_t *)"payload", 7, msgbuf);

		assert_int_equal(read_msg(to, msgbuf, l), k < fail_at ? 0 : -EBADMSG);
	}
	if (fail_at == hs_messages(p)) {
		assert_int_equal(noise_handshake_status(i), NOISE_HS_COMPLETE);
		assert_int_equal(noise_handshake_status(r), NOISE_HS_COMPLETE);
	}
	noise_handshake_destroy(i);
	noise_handshake_destroy(r);
}

void test_mismatched_parameters(void **state)
{
	(void)state;
	for (enum noise_pattern p = 0; p < NOISE_PATTERN_MAX; p++) {
		struct rkeys k, other;
		struct noise_handshake_config ci, cr;
		uint8_t prologue2[sizeof(k.prologue)];

		rand_keys(&k);
		rand_keys(&other);
		rand_config(p, NOISE_ROLE_INITIATOR, &k, &ci);
		rand_config(p, NOISE_ROLE_RESPONDER, &k, &cr);

		/* different prologue: one bit, and a shorter one */
		memcpy(prologue2, k.prologue, sizeof(prologue2));
		prologue2[5] ^= 0x10;
		cr.prologue = prologue2;
		/* the prologue is in h from the start: the first tag catches it */
		expect_mismatch(p, &ci, &cr, untagged(p, 0) ? 1 : 0);
		cr.prologue = k.prologue;
		cr.prologue_len = sizeof(k.prologue) - 1;
		expect_mismatch(p, &ci, &cr, untagged(p, 0) ? 1 : 0);
		cr.prologue_len = sizeof(k.prologue);

		/* different psk */
		if (ci.psk) {
			/* caught where the psk token is: XXpsk3 message 2,
			 * IKpsk1 message 0, IKpsk2 message 1 */
			cr.psk = other.psk;
			expect_mismatch(p, &ci, &cr, p == NOISE_PATTERN_XXPSK3 ? 2 :
						     p == NOISE_PATTERN_IKPSK1 ? 0 : 1);
			cr.psk = k.psk;
		}
		/* IK: the initiator expects another responder key */
		if (ci.remote_static_public) {
			ci.remote_static_public = other.sr.public_key;
			expect_mismatch(p, &ci, &cr, 0);
			ci.remote_static_public = k.sr.public_key;
		}

		/* a given static public key is trusted, not checked: one that is
		 * not the private key's own fails at the peer's first DH with it
		 * (the initiator's s: se in XX message 2, ss in IK message 0) */
		ci.local_static_public = other.si.public_key;
		expect_mismatch(p, &ci, &cr, ci.remote_static_public ? 0 : 2);
		ci.local_static_public = k.si.public_key;      /* the right one */
		expect_mismatch(p, &ci, &cr, hs_messages(p));
		ci.local_static_public = NULL;
		/* the responder's s: es in XX message 1; in IK the initiator
		 * already holds it (the pre-message mixes it into h) */
		cr.local_static_public = other.sr.public_key;
		expect_mismatch(p, &ci, &cr, ci.remote_static_public ? 0 : 1);
		cr.local_static_public = NULL;
	}
}

/* ---- sizes and configuration ------------------------------------------------------ */

void test_sizes(void **state)
{
	struct rkeys k;
	struct noise_handshake *i, *r;
	struct noise_cipherstate cs[4];
	size_t len = 1, plen;
	uint8_t small[40];

	(void)state;
	rand_keys(&k);
	rand_pair(NOISE_PATTERN_XX, &k, &i, &r);
	memset(plainbuf, 0xab, MSG_CAP);

	/* message 0 of XX is e || payload: payload up to 65535 - 32 */
	assert_int_equal(noise_handshake_write_message(i, plainbuf, NOISE_MAX_MESSAGE_LEN - 31,
						       msgbuf, MSG_CAP, &len), -EMSGSIZE);
	assert_int_equal(len, 0);
	assert_int_equal(noise_handshake_write_message(i, plainbuf, 10, small, sizeof(small),
						       &len), -ENOBUFS);
	assert_int_equal(noise_handshake_status(i), NOISE_HS_WRITE);   /* unchanged */
	assert_int_equal(noise_handshake_write_message(i, plainbuf, NOISE_MAX_MESSAGE_LEN - 32,
						       msgbuf, MSG_CAP, &len), 0);
	assert_int_equal(len, NOISE_MAX_MESSAGE_LEN);
	/* the receiver's payload buffer must hold the payload: -ENOBUFS, final */
	{
		struct noise_handshake *r2;
		struct noise_handshake_config cfg;

		rand_config(NOISE_PATTERN_XX, NOISE_ROLE_RESPONDER, &k, &cfg);
		assert_int_equal(noise_handshake_create(&r2, &cfg), 0);
		assert_int_equal(noise_handshake_read_message(r2, msgbuf, len, small,
							      sizeof(small), &plen), -ENOBUFS);
		assert_int_equal(noise_handshake_status(r2), NOISE_HS_FAILED);
		noise_handshake_destroy(r2);
		/* one byte over the limit is refused before anything else */
		assert_int_equal(noise_handshake_create(&r2, &cfg), 0);
		assert_int_equal(noise_handshake_read_message(r2, msgbuf, len + 1, plainbuf,
							      MSG_CAP, &plen), -EMSGSIZE);
		noise_handshake_destroy(r2);
	}
	assert_int_equal(noise_handshake_read_message(r, msgbuf, len, plainbuf, MSG_CAP,
						      &plen), 0);
	assert_int_equal(plen, NOISE_MAX_MESSAGE_LEN - 32);
	/* message 1 (e, ee, s, es + tag): 32 + 48 + 16 = 96 octets of overhead */
	assert_int_equal(noise_handshake_write_message(r, plainbuf, NOISE_MAX_MESSAGE_LEN - 95,
						       msgbuf, MSG_CAP, &len), -EMSGSIZE);
	len = write_msg(r, plainbuf, NOISE_MAX_MESSAGE_LEN - 96, msgbuf);
	assert_int_equal(len, NOISE_MAX_MESSAGE_LEN);
	assert_int_equal(read_msg(i, msgbuf, len), 0);
	len = write_msg(i, NULL, 0, msgbuf);
	assert_int_equal(len, 48 + 16);                 /* s + tag, empty payload tag */
	assert_int_equal(noise_handshake_read_message(r, msgbuf, len, NULL, 0, &plen), 0);
	assert_int_equal(plen, 0);
	/* complete: no more handshake messages either way */
	assert_int_equal(noise_handshake_write_message(i, NULL, 0, msgbuf, MSG_CAP, &len),
			 -EPROTO);
	assert_int_equal(noise_handshake_split(i, &cs[0], &cs[1]), 0);
	assert_int_equal(noise_handshake_split(r, &cs[2], &cs[3]), 0);

	/* transport: 65535 octets at most, tag included */
	assert_int_equal(noise_cipher_encrypt(&cs[0], NULL, 0, plainbuf, NOISE_MAX_PAYLOAD_LEN + 1,
					      msgbuf, MSG_CAP, &len), -EMSGSIZE);
	assert_int_equal(noise_cipher_encrypt(&cs[0], NULL, 0, plainbuf, 10, small, 25, &len),
			 -ENOBUFS);
	assert_int_equal(cs[0].n, 0);
	assert_int_equal(noise_cipher_encrypt(&cs[0], NULL, 0, plainbuf, NOISE_MAX_PAYLOAD_LEN,
					      msgbuf, MSG_CAP, &len), 0);
	assert_int_equal(len, NOISE_MAX_MESSAGE_LEN);
	assert_int_equal(noise_cipher_decrypt(&cs[3], NULL, 0, msgbuf, len + 1, plainbuf,
					      MSG_CAP, &plen), -EMSGSIZE);
	assert_int_equal(noise_cipher_decrypt(&cs[3], NULL, 0, msgbuf, len, small,
					      sizeof(small), &plen), -ENOBUFS);
	assert_int_equal(noise_cipher_decrypt(&cs[3], NULL, 0, msgbuf, len, plainbuf,
					      MSG_CAP, &plen), 0);
	assert_int_equal(plen, NOISE_MAX_PAYLOAD_LEN);
	/* empty payloads */
	assert_int_equal(noise_cipher_encrypt(&cs[2], NULL, 0, NULL, 0, msgbuf, MSG_CAP, &len), 0);
	assert_int_equal(len, NOISE_AUTHTAG_LEN);
	assert_int_equal(noise_cipher_decrypt(&cs[1], NULL, 0, msgbuf, len, NULL, 0, &plen), 0);
	assert_int_equal(plen, 0);

	for (int c = 0; c < 4; c++)
		noise_cipherstate_wipe(&cs[c]);
	noise_handshake_destroy(i);
	noise_handshake_destroy(r);
}

/* Garbage of every short length and random longer ones, at each read. */
void test_garbage(void **state)
{
	(void)state;
	for (enum noise_pattern p = 0; p < NOISE_PATTERN_MAX; p++) {
		for (int it = 0; it < 300; it++) {
			struct rkeys k;
			struct noise_handshake *i, *r;
			size_t len = it < 200 ? (size_t)it : randombytes_uniform(2000), l;

			rand_keys(&k);
			rand_pair(p, &k, &i, &r);
			randombytes_buf(msgbuf2, len);
			/* to the responder as message 0: only XX's untagged
			 * message 0 can be "read" (and then fails later) */
			if (untagged(p, 0) && len >= NOISE_PUBLIC_KEY_LEN) {
				int ret = read_msg(r, msgbuf2, len);

				if (ret == 0) {
					l = write_msg(r, NULL, 0, msgbuf);
					(void)l;
				}
			} else {
				assert_int_not_equal(read_msg(r, msgbuf2, len), 0);
			}
			/* to the initiator as message 1 */
			l = write_msg(i, NULL, 0, msgbuf);
			(void)l;
			assert_int_not_equal(read_msg(i, msgbuf2, len), 0);
			noise_handshake_destroy(i);
			noise_handshake_destroy(r);
		}
	}
}

void test_config_errors(void **state)
{
	struct rkeys k;
	struct noise_handshake_config cfg;
	struct noise_handshake *hs = (struct noise_handshake *)&cfg;
	uint8_t pub[NOISE_PUBLIC_KEY_LEN], h[NOISE_HASH_LEN];
	enum noise_pattern p;

	(void)state;
	rand_keys(&k);
	assert_int_equal(noise_handshake_create(NULL, &cfg), -EINVAL);
	assert_int_equal(noise_handshake_create(&hs, NULL), -EINVAL);
	assert_null(hs);

	rand_config(NOISE_PATTERN_XX, NOISE_ROLE_INITIATOR, &k, &cfg);
	cfg.pattern = NOISE_PATTERN_MAX;
	assert_int_equal(noise_handshake_create(&hs, &cfg), -EINVAL);
	cfg.pattern = NOISE_PATTERN_XX;
	cfg.role = (enum noise_role)7;
	assert_int_equal(noise_handshake_create(&hs, &cfg), -EINVAL);
	cfg.role = NOISE_ROLE_INITIATOR;
	cfg.local_static_private = NULL;
	assert_int_equal(noise_handshake_create(&hs, &cfg), -EINVAL);
	cfg.local_static_private = k.si.private_key;
	cfg.psk = k.psk;                                /* XX takes no psk */
	assert_int_equal(noise_handshake_create(&hs, &cfg), -EINVAL);
	cfg.psk = NULL;
	cfg.remote_static_public = k.sr.public_key;     /* nor an rs */
	assert_int_equal(noise_handshake_create(&hs, &cfg), -EINVAL);
	cfg.remote_static_public = NULL;
	cfg.prologue = NULL;                            /* length without bytes */
	assert_int_equal(noise_handshake_create(&hs, &cfg), -EINVAL);

	rand_config(NOISE_PATTERN_IKPSK2, NOISE_ROLE_INITIATOR, &k, &cfg);
	cfg.psk = NULL;                                 /* psk pattern without psk */
	assert_int_equal(noise_handshake_create(&hs, &cfg), -EINVAL);
	cfg.psk = k.psk;
	cfg.remote_static_public = NULL;                /* IK initiator without rs */
	assert_int_equal(noise_handshake_create(&hs, &cfg), -EINVAL);
	rand_config(NOISE_PATTERN_IK, NOISE_ROLE_RESPONDER, &k, &cfg);
	cfg.remote_static_public = k.si.public_key;     /* IK responder with rs */
	assert_int_equal(noise_handshake_create(&hs, &cfg), -EINVAL);
	assert_null(hs);

	/* before the peer's s: no remote static, no hash */
	rand_config(NOISE_PATTERN_XX, NOISE_ROLE_INITIATOR, &k, &cfg);
	assert_int_equal(noise_handshake_create(&hs, &cfg), 0);
	assert_int_equal(noise_handshake_remote_static(hs, pub), -ENOKEY);
	assert_int_equal(noise_handshake_hash(hs, h), -EPROTO);
	noise_handshake_destroy(hs);
	noise_handshake_destroy(NULL);
	assert_int_equal(noise_handshake_status(NULL), NOISE_HS_FAILED);

	/* names */
	for (p = 0; p < NOISE_PATTERN_MAX; p++) {
		enum noise_pattern q = NOISE_PATTERN_MAX;

		assert_non_null(noise_pattern_name(p));
		assert_int_equal(noise_pattern_from_name(noise_pattern_name(p), &q), 0);
		assert_int_equal(q, p);
	}
	assert_null(noise_pattern_name(NOISE_PATTERN_MAX));
	assert_int_equal(noise_pattern_from_name("Noise_NN_25519_ChaChaPoly_BLAKE2b", &p),
			 -EINVAL);
	assert_string_equal(noise_pattern_name(NOISE_PATTERN_XX),
			    "Noise_XX_25519_ChaChaPoly_BLAKE2b");
}
