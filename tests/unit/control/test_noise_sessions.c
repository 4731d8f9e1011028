/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * control/proto/noise.c with random keys: handshakes in the wrong turn, role
 * or session, transport rejections, nonce exhaustion and rekey, low-order
 * public keys (as ephemeral and as static in the s token).
 */
#include "test_noise.h"

/* ---- wrong role, wrong order, wrong session ----------------------------------- */

void rand_config(enum noise_pattern p, enum noise_role role, const struct rkeys *k,
		 struct noise_handshake_config *cfg)
{
	bool init = role == NOISE_ROLE_INITIATOR;
	bool ik = p == NOISE_PATTERN_IK || p == NOISE_PATTERN_IKPSK1 || p == NOISE_PATTERN_IKPSK2;
	bool psk = p == NOISE_PATTERN_XXPSK3 || p == NOISE_PATTERN_IKPSK1 ||
		   p == NOISE_PATTERN_IKPSK2;

	memset(cfg, 0, sizeof(*cfg));
	cfg->pattern = p;
	cfg->role = role;
	cfg->prologue = k->prologue;
	cfg->prologue_len = sizeof(k->prologue);
	cfg->local_static_private = init ? k->si.private_key : k->sr.private_key;
	cfg->remote_static_public = (ik && init) ? k->sr.public_key : NULL;
	cfg->psk = psk ? k->psk : NULL;
}

void rand_keys(struct rkeys *k)
{
	assert_int_equal(noise_keypair_generate(&k->si), 0);
	assert_int_equal(noise_keypair_generate(&k->sr), 0);
	randombytes_buf(k->psk, sizeof(k->psk));
	randombytes_buf(k->prologue, sizeof(k->prologue));
}

void rand_pair(enum noise_pattern p, const struct rkeys *k,
	       struct noise_handshake **i, struct noise_handshake **r)
{
	struct noise_handshake_config cfg;

	rand_config(p, NOISE_ROLE_INITIATOR, k, &cfg);
	assert_int_equal(noise_handshake_create(i, &cfg), 0);
	rand_config(p, NOISE_ROLE_RESPONDER, k, &cfg);
	assert_int_equal(noise_handshake_create(r, &cfg), 0);
}

/* Run a whole handshake with random payloads; returns after split. */
void rand_handshake(enum noise_pattern p, struct noise_handshake *i,
		    struct noise_handshake *r,
		    struct noise_cipherstate cs[4] /* isend irecv rsend rrecv */)
{
	for (size_t k = 0; k < hs_messages(p); k++) {
		struct noise_handshake *from = k % 2 ? r : i, *to = k % 2 ? i : r;
		uint8_t payload[200];
		size_t plen = randombytes_uniform(sizeof(payload) + 1), len, got = 0;

		randombytes_buf(payload, plen);
		len = write_msg(from, payload, plen, msgbuf);
		assert_int_equal(noise_handshake_read_message(to, msgbuf, len, plainbuf,
							      MSG_CAP, &got), 0);
		assert_int_equal(got, plen);
		assert_memory_equal(plainbuf, payload, plen);
	}
	assert_int_equal(noise_handshake_split(i, &cs[0], &cs[1]), 0);
	assert_int_equal(noise_handshake_split(r, &cs[2], &cs[3]), 0);
}

void test_wrong_turn_and_role(void **state)
{
	(void)state;
	for (enum noise_pattern p = 0; p < NOISE_PATTERN_MAX; p++) {
		struct rkeys k;
		struct noise_handshake *i, *r;
		size_t l0, l1, len;

		rand_keys(&k);

		/* writing out of turn is refused and changes nothing */
		rand_pair(p, &k, &i, &r);
		assert_int_equal(noise_handshake_status(r), NOISE_HS_READ);
		assert_int_equal(noise_handshake_write_message(r, NULL, 0, msgbuf, MSG_CAP, &len),
				 -EPROTO);
		assert_int_equal(noise_handshake_status(r), NOISE_HS_READ);

		/* a message reflected back to its own sender is refused */
		l0 = write_msg(i, (const uint8_t *)"hi", 2, msgbuf);
		assert_int_not_equal(read_msg(i, msgbuf, l0), 0);
		noise_handshake_destroy(i);
		noise_handshake_destroy(r);

		/* the responder, after answering, gets back message 0 or its own
		 * message 1 instead of message 2 (XX) - refused */
		if (hs_messages(p) == 3) {
			for (int which = 0; which < 2; which++) {
				rand_pair(p, &k, &i, &r);
				l0 = write_msg(i, NULL, 0, msgbuf);
				assert_int_equal(read_msg(r, msgbuf, l0), 0);
				l1 = write_msg(r, NULL, 0, msgbuf2);
				assert_int_not_equal(read_msg(r, which ? msgbuf2 : msgbuf,
							      which ? l1 : l0), 0);
				noise_handshake_destroy(i);
				noise_handshake_destroy(r);
			}
		}

		/* a message of another session (same keys, fresh ephemerals) is
		 * refused wherever a tag covers the transcript */
		{
			struct noise_handshake *i2, *r2;

			rand_pair(p, &k, &i, &r);
			rand_pair(p, &k, &i2, &r2);
			l0 = write_msg(i, NULL, 0, msgbuf);
			assert_int_equal(read_msg(r, msgbuf, l0), 0);
			l0 = write_msg(i2, NULL, 0, msgbuf);
			assert_int_equal(read_msg(r2, msgbuf, l0), 0);
			l1 = write_msg(r2, NULL, 0, msgbuf2);
			assert_int_not_equal(read_msg(i, msgbuf2, l1), 0);
			noise_handshake_destroy(i);
			noise_handshake_destroy(r);
			noise_handshake_destroy(i2);
			noise_handshake_destroy(r2);
		}
	}
}

/* Transport: wrong direction, replay, reordering, corruption. */
void test_transport_rejections(void **state)
{
	struct rkeys k;
	struct noise_handshake *i, *r;
	struct noise_cipherstate cs[4];
	size_t l1, l2, len, plen;

	(void)state;
	rand_keys(&k);
	rand_pair(NOISE_PATTERN_XX, &k, &i, &r);
	rand_handshake(NOISE_PATTERN_XX, i, r, cs);

	assert_int_equal(noise_cipher_encrypt(&cs[0], NULL, 0, (const uint8_t *)"one", 3,
					      msgbuf, MSG_CAP, &l1), 0);
	assert_int_equal(noise_cipher_encrypt(&cs[0], NULL, 0, (const uint8_t *)"two", 3,
					      msgbuf2, MSG_CAP, &l2), 0);
	/* wrong direction: the initiator's own message to its receive state */
	assert_int_equal(noise_cipher_decrypt(&cs[1], NULL, 0, msgbuf, l1, plainbuf,
					      MSG_CAP, &plen), -EBADMSG);
	/* out of order: message 2 first */
	assert_int_equal(noise_cipher_decrypt(&cs[3], NULL, 0, msgbuf2, l2, plainbuf,
					      MSG_CAP, &plen), -EBADMSG);
	/* every bit flip of message 1 (n unchanged by the failures) */
	for (size_t bit = 0; bit < l1 * 8; bit++) {
		msgbuf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
		assert_int_equal(noise_cipher_decrypt(&cs[3], NULL, 0, msgbuf, l1, plainbuf,
						      MSG_CAP, &plen), -EBADMSG);
		msgbuf[bit / 8] ^= (uint8_t)(1u << (bit % 8));
	}
	/* every truncation, and wrong associated data */
	for (size_t cut = 0; cut < l1; cut++)
		assert_int_not_equal(noise_cipher_decrypt(&cs[3], NULL, 0, msgbuf, cut,
							  plainbuf, MSG_CAP, &plen), 0);
	assert_int_equal(noise_cipher_decrypt(&cs[3], (const uint8_t *)"x", 1, msgbuf, l1,
					      plainbuf, MSG_CAP, &plen), -EBADMSG);
	/* in order it works; a replay does not */
	assert_int_equal(noise_cipher_decrypt(&cs[3], NULL, 0, msgbuf, l1, plainbuf,
					      MSG_CAP, &plen), 0);
	assert_int_equal(plen, 3);
	assert_memory_equal(plainbuf, "one", 3);
	assert_int_equal(noise_cipher_decrypt(&cs[3], NULL, 0, msgbuf, l1, plainbuf,
					      MSG_CAP, &plen), -EBADMSG);
	/* in place */
	assert_int_equal(noise_cipher_decrypt(&cs[3], NULL, 0, msgbuf2, l2, msgbuf2,
					      MSG_CAP, &plen), 0);
	assert_memory_equal(msgbuf2, "two", 3);
	/* a key-less state refuses to work (never passes plaintext) */
	{
		struct noise_cipherstate empty = { .has_key = false };

		assert_int_equal(noise_cipher_encrypt(&empty, NULL, 0, (const uint8_t *)"a", 1,
						      msgbuf, MSG_CAP, &len), -ENOKEY);
		assert_int_equal(noise_cipher_decrypt(&empty, NULL, 0, msgbuf, l1, plainbuf,
						      MSG_CAP, &len), -ENOKEY);
		assert_int_equal(noise_cipher_rekey(&empty), -ENOKEY);
	}
	for (int c = 0; c < 4; c++)
		noise_cipherstate_wipe(&cs[c]);
	noise_handshake_destroy(i);
	noise_handshake_destroy(r);
}

/* ---- nonce exhaustion, rekey -------------------------------------------------------- */

void test_nonce_exhaustion(void **state)
{
	struct rkeys k;
	struct noise_handshake *i, *r;
	struct noise_cipherstate cs[4];
	size_t len, plen;

	(void)state;
	rand_keys(&k);
	rand_pair(NOISE_PATTERN_IK, &k, &i, &r);
	rand_handshake(NOISE_PATTERN_IK, i, r, cs);

	/* 2^64-2 is the last usable nonce */
	noise_cipher_set_nonce(&cs[0], NOISE_NONCE_MAX - 1);
	noise_cipher_set_nonce(&cs[3], NOISE_NONCE_MAX - 1);
	assert_int_equal(noise_cipher_encrypt(&cs[0], NULL, 0, (const uint8_t *)"last", 4,
					      msgbuf, MSG_CAP, &len), 0);
	assert_int_equal(cs[0].n, NOISE_NONCE_MAX);
	assert_int_equal(noise_cipher_decrypt(&cs[3], NULL, 0, msgbuf, len, plainbuf,
					      MSG_CAP, &plen), 0);
	assert_memory_equal(plainbuf, "last", 4);
	/* 2^64-1 is reserved: both directions refuse, and stay refused */
	for (int t = 0; t < 2; t++) {
		assert_int_equal(noise_cipher_encrypt(&cs[0], NULL, 0, (const uint8_t *)"x", 1,
						      msgbuf2, MSG_CAP, &len), -EOVERFLOW);
		assert_int_equal(len, 0);
		assert_int_equal(noise_cipher_decrypt(&cs[3], NULL, 0, msgbuf, 20, plainbuf,
						      MSG_CAP, &plen), -EOVERFLOW);
	}
	assert_int_equal(cs[0].n, NOISE_NONCE_MAX);

	/* rekey: both sides together keep working; one side alone does not */
	assert_int_equal(noise_cipher_rekey(&cs[2]), 0);
	assert_int_equal(noise_cipher_rekey(&cs[1]), 0);
	assert_int_equal(noise_cipher_encrypt(&cs[2], NULL, 0, (const uint8_t *)"rk", 2,
					      msgbuf, MSG_CAP, &len), 0);
	assert_int_equal(noise_cipher_decrypt(&cs[1], NULL, 0, msgbuf, len, plainbuf,
					      MSG_CAP, &plen), 0);
	assert_int_equal(noise_cipher_rekey(&cs[2]), 0);
	assert_int_equal(noise_cipher_encrypt(&cs[2], NULL, 0, (const uint8_t *)"rk", 2,
					      msgbuf, MSG_CAP, &len), 0);
	assert_int_equal(noise_cipher_decrypt(&cs[1], NULL, 0, msgbuf, len, plainbuf,
					      MSG_CAP, &plen), -EBADMSG);
	for (int c = 0; c < 4; c++)
		noise_cipherstate_wipe(&cs[c]);
	noise_handshake_destroy(i);
	noise_handshake_destroy(r);
}

/* ---- low-order public keys -------------------------------------------------------- */

/* X25519 points of small order (and non-canonical encodings of them). */
static const uint8_t low_order[][NOISE_PUBLIC_KEY_LEN] = {
	{ 0 },                                          /* 0 */
	{ 1 },                                          /* 1 */
	{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f,
	  0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16,
	  0x5f, 0x49, 0xb8, 0x00 },                     /* order 8 */
	{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c, 0x83,
	  0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22, 0x4e, 0xdd,
	  0xd0, 0x9f, 0x11, 0x57 },                     /* order 8 */
	{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0x7f },                     /* p - 1 */
	{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0x7f },                     /* p (= 0) */
	{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0x7f },                     /* p + 1 (= 1) */
	{ [31] = 0x80 },                                /* 0 with the top bit set */
	{ 1, [31] = 0x80 },                             /* 1 with the top bit set */
	{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1, 0x9f,
	  0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62, 0x05, 0x16,
	  0x5f, 0x49, 0xb8, 0x80 },                     /* order 8, top bit set */
	{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
	  0xff, 0xff, 0xff, 0xff },                     /* p + 1, top bit set */
};
#define N_LOW_ORDER (sizeof(low_order) / sizeof(low_order[0]))

void test_low_order_keys(void **state)
{
	(void)state;
	/* the list is what it says: libsodium's X25519 refuses each point, for
	 * any scalar, and accepts a random key (so the refusals below are not
	 * the handshake failing for another reason) */
	for (size_t j = 0; j < N_LOW_ORDER; j++) {
		uint8_t sk[32], out[32];

		randombytes_buf(sk, sizeof(sk));
		assert_int_not_equal(crypto_scalarmult_curve25519(out, sk, low_order[j]), 0);
	}
	{
		uint8_t sk[32], pk[32], out[32];

		randombytes_buf(sk, sizeof(sk));
		crypto_scalarmult_curve25519_base(pk, sk);
		assert_int_equal(crypto_scalarmult_curve25519(out, sk, pk), 0);
	}
	for (size_t j = 0; j < N_LOW_ORDER; j++) {
		struct rkeys k;
		struct noise_handshake_config cfg;
		struct noise_handshake *i, *r, *bad = NULL;
		size_t l;

		rand_keys(&k);
		/* an IK initiator told to talk to a low-order responder key */
		rand_config(NOISE_PATTERN_IK, NOISE_ROLE_INITIATOR, &k, &cfg);
		cfg.remote_static_public = low_order[j];
		assert_int_equal(noise_handshake_create(&bad, &cfg), -EKEYREJECTED);
		assert_null(bad);

		for (enum noise_pattern p = 0; p < NOISE_PATTERN_MAX; p++) {
			/* responder gets a low-order e in message 0 */
			rand_pair(p, &k, &i, &r);
			l = write_msg(i, NULL, 0, msgbuf);
			memcpy(msgbuf, low_order[j], NOISE_PUBLIC_KEY_LEN);
			assert_int_equal(read_msg(r, msgbuf, l), -EKEYREJECTED);
			noise_handshake_destroy(i);
			noise_handshake_destroy(r);

			/* initiator gets a low-order e in message 1 */
			rand_pair(p, &k, &i, &r);
			l = write_msg(i, NULL, 0, msgbuf);
			assert_int_equal(read_msg(r, msgbuf, l), 0);
			l = write_msg(r, NULL, 0, msgbuf);
			memcpy(msgbuf, low_order[j], NOISE_PUBLIC_KEY_LEN);
			assert_int_equal(read_msg(i, msgbuf, l), -EKEYREJECTED);
			noise_handshake_destroy(i);
			noise_handshake_destroy(r);
		}
	}

}

/*
 * A malicious IK initiator that sends a low-order static key inside its
 * (validly encrypted) "s" token. The library cannot play that peer, so message
 * 0 is built here by hand with an independent HMAC/HKDF (RFC 2104, Noise 4.3):
 * the responder must get as far as decrypting s (so -EKEYREJECTED, not
 * -EBADMSG, which also shows both HKDFs agree) and then refuse the key.
 */
static void t_hmac(uint8_t out[64], const uint8_t key[64], const uint8_t *d, size_t n)
{
	uint8_t ipad[128], opad[128], inner[64];
	crypto_generichash_blake2b_state st;

	for (int j = 0; j < 128; j++) {
		ipad[j] = (uint8_t)((j < 64 ? key[j] : 0) ^ 0x36);
		opad[j] = (uint8_t)((j < 64 ? key[j] : 0) ^ 0x5c);
	}
	crypto_generichash_blake2b_init(&st, NULL, 0, 64);
	crypto_generichash_blake2b_update(&st, ipad, 128);
	crypto_generichash_blake2b_update(&st, d, n);
	crypto_generichash_blake2b_final(&st, inner, 64);
	crypto_generichash_blake2b_init(&st, NULL, 0, 64);
	crypto_generichash_blake2b_update(&st, opad, 128);
	crypto_generichash_blake2b_update(&st, inner, 64);
	crypto_generichash_blake2b_final(&st, out, 64);
}

static void t_mix_hash(uint8_t h[64], const uint8_t *d, size_t n)
{
	crypto_generichash_blake2b_state st;

	crypto_generichash_blake2b_init(&st, NULL, 0, 64);
	crypto_generichash_blake2b_update(&st, h, 64);
	crypto_generichash_blake2b_update(&st, d, n);
	crypto_generichash_blake2b_final(&st, h, 64);
}

void test_low_order_static_in_s_token(void **state)
{
	(void)state;
	for (size_t j = 0; j < N_LOW_ORDER; j++) {
		struct rkeys k;
		struct noise_handshake_config cfg;
		struct noise_handshake *r;
		struct noise_keypair e;
		const char *name = noise_pattern_name(NOISE_PATTERN_IK);
		uint8_t h[64] = { 0 }, ck[64], temp[64], o1[64], o2[64], buf[65];
		uint8_t shared[32], nonce[12] = { 0 }, msg[32 + 48 + 16];
		unsigned long long clen;

		rand_keys(&k);
		rand_config(NOISE_PATTERN_IK, NOISE_ROLE_RESPONDER, &k, &cfg);
		assert_int_equal(noise_handshake_create(&r, &cfg), 0);

		memcpy(h, name, strlen(name));          /* InitializeSymmetric */
		memcpy(ck, h, 64);
		t_mix_hash(h, k.prologue, sizeof(k.prologue));
		t_mix_hash(h, k.sr.public_key, 32);     /* <- s */
		assert_int_equal(noise_keypair_generate(&e), 0);
		memcpy(msg, e.public_key, 32);          /* -> e */
		t_mix_hash(h, e.public_key, 32);
		/* es: ck, k = HKDF(ck, DH(e, rs)) */
		assert_int_equal(crypto_scalarmult(shared, e.private_key, k.sr.public_key), 0);
		t_hmac(temp, ck, shared, 32);
		t_hmac(o1, temp, (const uint8_t *)"\x01", 1);
		memcpy(buf, o1, 64);
		buf[64] = 0x02;
		t_hmac(o2, temp, buf, 65);
		/* s: the low-order key, encrypted under k = o2[:32], n = 0, ad = h */
		crypto_aead_chacha20poly1305_ietf_encrypt(msg + 32, &clen, low_order[j], 32,
							  h, 64, NULL, nonce, o2);
		assert_int_equal(clen, 48);
		memset(msg + 80, 0, 16);                /* (ss, payload: never reached) */

		assert_int_equal(read_msg(r, msg, sizeof(msg)), -EKEYREJECTED);
		assert_int_equal(noise_handshake_status(r), NOISE_HS_FAILED);
		noise_handshake_destroy(r);
	}
}
