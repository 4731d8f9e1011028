/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * noise.c - Noise Protocol Framework revision 34: HandshakeState,
 * SymmetricState and CipherState for XX, IK, XXpsk3, IKpsk1 and IKpsk2 with
 * 25519 / ChaChaPoly / BLAKE2b, on libsodium 1.0.18.
 *
 * Section numbers below are those of the Noise specification, revision 34.
 * Where secrets live:
 *   - struct noise_handshake (s, e, psk, ck, k, the fixed test ephemeral) is
 *     secmem_alloc'd (secmem.h: mlock'd, MADV_DONTDUMP, guarded chunks); wiped
 *     by secmem_free, and wiped early when the handshake fails or is split;
 *   - stack temporaries (DH outputs, HMAC pads and states, HKDF outputs) are
 *     wiped with sodium_memzero at each function's single exit;
 *   - transport cipher states and key pairs live where the caller puts them.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "noise.h"
#include "secmem.h"

_Static_assert(NOISE_PUBLIC_KEY_LEN == crypto_scalarmult_curve25519_BYTES, "DHLEN");
_Static_assert(NOISE_PRIVATE_KEY_LEN == crypto_scalarmult_curve25519_SCALARBYTES, "DH key");
_Static_assert(NOISE_DH_LEN == crypto_scalarmult_curve25519_BYTES, "DH output");
_Static_assert(NOISE_SYMMETRIC_KEY_LEN == crypto_aead_chacha20poly1305_ietf_KEYBYTES, "key");
_Static_assert(NOISE_NONCE_LEN == crypto_aead_chacha20poly1305_ietf_NPUBBYTES, "nonce");
_Static_assert(NOISE_AUTHTAG_LEN == crypto_aead_chacha20poly1305_ietf_ABYTES, "tag");
_Static_assert(NOISE_HASH_LEN == crypto_generichash_blake2b_BYTES_MAX, "HASHLEN");
_Static_assert(NOISE_HASH_LEN >= NOISE_SYMMETRIC_KEY_LEN, "truncation of HKDF outputs");
_Static_assert(NOISE_PSK_LEN == 32, "Noise section 9: psk is 32 bytes");

/* ---- message patterns (sections 7.5, 9.4) -------------------------------- */

enum token {
	T_END = 0,      /* a zero ends a message's token list */
	T_E,
	T_S,
	T_EE,
	T_ES,
	T_SE,
	T_SS,
	T_PSK,
};

#define MAX_MESSAGES 3
#define MAX_TOKENS   6  /* 5 used at most (e, es, s, ss, psk), plus T_END */

struct pattern_def {
	const char *name;               /* full protocol name */
	bool psk;                       /* a psk modifier: "e" also does MixKey */
	bool pre_responder_s;           /* pre-message "<- s" */
	uint8_t n_messages;
	/* messages[i]: even i initiator -> responder, odd i responder -> initiator */
	uint8_t messages[MAX_MESSAGES][MAX_TOKENS];
};

static const struct pattern_def patterns[NOISE_PATTERN_MAX] = {
	[NOISE_PATTERN_XX] = {
		.name = "Noise_XX_25519_ChaChaPoly_BLAKE2b",
		.n_messages = 3,
		.messages = {
			{ T_E },                        /* -> e */
			{ T_E, T_EE, T_S, T_ES },       /* <- e, ee, s, es */
			{ T_S, T_SE },                  /* -> s, se */
		},
	},
	[NOISE_PATTERN_XXPSK3] = {
		.name = "Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b",
		.psk = true,
		.n_messages = 3,
		.messages = {
			{ T_E },                        /* -> e */
			{ T_E, T_EE, T_S, T_ES },       /* <- e, ee, s, es */
			{ T_S, T_SE, T_PSK },           /* -> s, se, psk */
		},
	},
	[NOISE_PATTERN_IK] = {
		.name = "Noise_IK_25519_ChaChaPoly_BLAKE2b",
		.pre_responder_s = true,                /* <- s ... */
		.n_messages = 2,
		.messages = {
			{ T_E, T_ES, T_S, T_SS },       /* -> e, es, s, ss */
			{ T_E, T_EE, T_SE },            /* <- e, ee, se */
		},
	},
	[NOISE_PATTERN_IKPSK1] = {
		.name = "Noise_IKpsk1_25519_ChaChaPoly_BLAKE2b",
		.psk = true,
		.pre_responder_s = true,
		.n_messages = 2,
		.messages = {
			{ T_E, T_ES, T_S, T_SS, T_PSK },/* -> e, es, s, ss, psk */
			{ T_E, T_EE, T_SE },            /* <- e, ee, se */
		},
	},
	[NOISE_PATTERN_IKPSK2] = {
		.name = "Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b",
		.psk = true,
		.pre_responder_s = true,
		.n_messages = 2,
		.messages = {
			{ T_E, T_ES, T_S, T_SS },       /* -> e, es, s, ss */
			{ T_E, T_EE, T_SE, T_PSK },     /* <- e, ee, se, psk */
		},
	},
};

/* ---- state ------------------------------------------------------------------ */

/* SymmetricState (section 5.2). */
struct symmetricstate {
	uint8_t ck[NOISE_HASH_LEN];
	uint8_t h[NOISE_HASH_LEN];
	struct noise_cipherstate cs;
};

/* HandshakeState (section 5.3). Always in secmem_alloc'd memory. */
struct noise_handshake {
	const struct pattern_def *pattern;
	enum noise_role role;
	unsigned int msg_index;         /* next message of pattern->messages */
	bool failed;                    /* unusable; secrets already wiped */
	bool split;                     /* Split() done; secrets already wiped */
	bool has_e, has_rs, has_re, has_fixed_e;
	struct symmetricstate ss;
	struct noise_keypair s;         /* local static */
	struct noise_keypair e;         /* local ephemeral */
	uint8_t rs[NOISE_PUBLIC_KEY_LEN];
	uint8_t re[NOISE_PUBLIC_KEY_LEN];
	uint8_t psk[NOISE_PSK_LEN];
	uint8_t fixed_e[NOISE_PRIVATE_KEY_LEN]; /* tests only */
};

/* ---- HASH, HMAC-HASH, HKDF (section 4.3) -------------------------------------- */

/* h = BLAKE2b-512(a || b) */
static NOISE_MUST_CHECK int hash2(uint8_t out[NOISE_HASH_LEN],
				  const uint8_t *a, size_t a_len,
				  const uint8_t *b, size_t b_len)
{
	crypto_generichash_blake2b_state st;
	int ret = 0;

	ret |= crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASH_LEN);
	ret |= crypto_generichash_blake2b_update(&st, a, a_len);
	ret |= crypto_generichash_blake2b_update(&st, b, b_len);
	ret |= crypto_generichash_blake2b_final(&st, out, NOISE_HASH_LEN);
	sodium_memzero(&st, sizeof(st));
	return ret == 0 ? 0 : -EINVAL;
}

/*
 * HMAC-HASH(key, d1 || d2) per RFC 2104 with H = BLAKE2b-512, B = BLOCKLEN:
 * H((K0 ^ opad) || H((K0 ^ ipad) || text)), K0 = key zero-padded to B octets
 * (a key longer than B would be hashed first; Noise only uses HASHLEN keys).
 */
static NOISE_MUST_CHECK int hmac_blake2b(uint8_t out[NOISE_HASH_LEN],
					 const uint8_t *key, size_t key_len,
					 const uint8_t *d1, size_t d1_len,
					 const uint8_t *d2, size_t d2_len)
{
	uint8_t k0[NOISE_BLOCK_LEN];
	uint8_t pad[NOISE_BLOCK_LEN];
	uint8_t inner[NOISE_HASH_LEN];
	crypto_generichash_blake2b_state st;
	int ret = 0;
	size_t i;

	memset(k0, 0, sizeof(k0));
	if (key_len > NOISE_BLOCK_LEN)
		ret |= crypto_generichash_blake2b(k0, NOISE_HASH_LEN, key, key_len, NULL, 0);
	else
		memcpy(k0, key, key_len);

	for (i = 0; i < NOISE_BLOCK_LEN; i++)
		pad[i] = k0[i] ^ 0x36;                  /* ipad */
	ret |= crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASH_LEN);
	ret |= crypto_generichash_blake2b_update(&st, pad, sizeof(pad));
	ret |= crypto_generichash_blake2b_update(&st, d1, d1_len);
	ret |= crypto_generichash_blake2b_update(&st, d2, d2_len);
	ret |= crypto_generichash_blake2b_final(&st, inner, sizeof(inner));

	for (i = 0; i < NOISE_BLOCK_LEN; i++)
		pad[i] = k0[i] ^ 0x5c;                  /* opad */
	ret |= crypto_generichash_blake2b_init(&st, NULL, 0, NOISE_HASH_LEN);
	ret |= crypto_generichash_blake2b_update(&st, pad, sizeof(pad));
	ret |= crypto_generichash_blake2b_update(&st, inner, sizeof(inner));
	ret |= crypto_generichash_blake2b_final(&st, out, NOISE_HASH_LEN);

	sodium_memzero(k0, sizeof(k0));
	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&st, sizeof(st));
	return ret == 0 ? 0 : -EINVAL;
}

/*
 * HKDF(chaining_key, input_key_material, num_outputs), section 4.3:
 *   temp_key = HMAC-HASH(chaining_key, input_key_material)
 *   output1  = HMAC-HASH(temp_key, byte(0x01))
 *   output2  = HMAC-HASH(temp_key, output1 || byte(0x02))
 *   output3  = HMAC-HASH(temp_key, output2 || byte(0x03))   (out3 != NULL)
 * The outputs may alias ck.
 */
static NOISE_MUST_CHECK int hkdf(const uint8_t ck[NOISE_HASH_LEN],
				 const uint8_t *ikm, size_t ikm_len,
				 uint8_t out1[NOISE_HASH_LEN],
				 uint8_t out2[NOISE_HASH_LEN],
				 uint8_t out3[NOISE_HASH_LEN])
{
	static const uint8_t one = 0x01, two = 0x02, three = 0x03;
	uint8_t temp_key[NOISE_HASH_LEN];
	uint8_t o1[NOISE_HASH_LEN], o2[NOISE_HASH_LEN], o3[NOISE_HASH_LEN];
	int ret;

	ret = hmac_blake2b(temp_key, ck, NOISE_HASH_LEN, ikm, ikm_len, NULL, 0);
	if (ret)
		goto out;
	ret = hmac_blake2b(o1, temp_key, sizeof(temp_key), &one, 1, NULL, 0);
	if (ret)
		goto out;
	ret = hmac_blake2b(o2, temp_key, sizeof(temp_key), o1, sizeof(o1), &two, 1);
	if (ret)
		goto out;
	if (out3) {
		ret = hmac_blake2b(o3, temp_key, sizeof(temp_key), o2, sizeof(o2), &three, 1);
		if (ret)
			goto out;
		memcpy(out3, o3, NOISE_HASH_LEN);
	}
	memcpy(out1, o1, NOISE_HASH_LEN);
	memcpy(out2, o2, NOISE_HASH_LEN);
out:
	sodium_memzero(temp_key, sizeof(temp_key));
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
	sodium_memzero(o3, sizeof(o3));
	return ret;
}

/* ---- DH (section 4.1, 12.1) ---------------------------------------------- */

/*
 * DH(priv, pub) = X25519. libsodium fails on a low-order point; the result is
 * checked for all zeros here as well: either way -EKEYREJECTED.
 */
static NOISE_MUST_CHECK int dh(uint8_t out[NOISE_DH_LEN],
			       const uint8_t priv[NOISE_PRIVATE_KEY_LEN],
			       const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	if (crypto_scalarmult_curve25519(out, priv, pub) != 0 ||
	    sodium_is_zero(out, NOISE_DH_LEN)) {
		sodium_memzero(out, NOISE_DH_LEN);
		return -EKEYREJECTED;
	}
	return 0;
}

/*
 * A received or configured public key of low order is refused at once rather
 * than at its first DH. The check compares with the encodings of the points of
 * small order (u = 0, 1, the two u of order 8, and p - 1, p, p + 1: the list
 * libsodium's own X25519 refuses, cr.yp.to/ecdh.html#validate), ignoring the
 * top bit as X25519 does (RFC 7748 section 5). No X25519 is spent on it: a set-up
 * checks four keys, and an X25519 each was a fifth of its cost
 * (docs/benchmarks.md). dh() still refuses an all-zero result.
 */
static NOISE_MUST_CHECK int check_public_key(const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	static const uint8_t small[7][NOISE_PUBLIC_KEY_LEN] = {
		{ 0 },
		{ 1 },
		{ 0xe0, 0xeb, 0x7a, 0x7c, 0x3b, 0x41, 0xb8, 0xae, 0x16, 0x56, 0xe3, 0xfa, 0xf1,
		  0x9f, 0xc4, 0x6a, 0xda, 0x09, 0x8d, 0xeb, 0x9c, 0x32, 0xb1, 0xfd, 0x86, 0x62,
		  0x05, 0x16, 0x5f, 0x49, 0xb8, 0x00 },
		{ 0x5f, 0x9c, 0x95, 0xbc, 0xa3, 0x50, 0x8c, 0x24, 0xb1, 0xd0, 0xb1, 0x55, 0x9c,
		  0x83, 0xef, 0x5b, 0x04, 0x44, 0x5c, 0xc4, 0x58, 0x1c, 0x8e, 0x86, 0xd8, 0x22,
		  0x4e, 0xdd, 0xd0, 0x9f, 0x11, 0x57 },
		{ 0xec, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
		{ 0xed, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
		{ 0xee, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
		  0xff, 0xff, 0xff, 0xff, 0xff, 0x7f },
	};
	unsigned int hit = 0;

	for (size_t i = 0; i < sizeof(small) / sizeof(small[0]); i++) {
		unsigned int d = (pub[31] & 0x7fu) ^ small[i][31];

		for (size_t j = 0; j < NOISE_PUBLIC_KEY_LEN - 1; j++)
			d |= (unsigned int)(pub[j] ^ small[i][j]);
		hit |= (d - 1u) >> 8 & 1u;   /* 1 when d == 0 */
	}
	return hit ? -EKEYREJECTED : 0;
}

/* ---- keys -------------------------------------------------------------------- */

int noise_init(void)
{
	return sodium_init() < 0 ? -EIO : 0;
}

int noise_keypair_from_private(struct noise_keypair *kp,
			       const uint8_t private_key[NOISE_PRIVATE_KEY_LEN])
{
	int ret;

	if (!kp || !private_key)
		return -EINVAL;
	ret = noise_init();
	if (ret)
		goto out;
	if (kp->private_key != private_key)
		memcpy(kp->private_key, private_key, NOISE_PRIVATE_KEY_LEN);
	if (crypto_scalarmult_curve25519_base(kp->public_key, kp->private_key) != 0)
		ret = -EINVAL;
out:
	if (ret)
		noise_keypair_wipe(kp);
	return ret;
}

int noise_keypair_generate(struct noise_keypair *kp)
{
	int ret;

	if (!kp)
		return -EINVAL;
	ret = noise_init();
	if (ret)
		return ret;
	randombytes_buf(kp->private_key, NOISE_PRIVATE_KEY_LEN);
	return noise_keypair_from_private(kp, kp->private_key);
}

void noise_keypair_wipe(struct noise_keypair *kp)
{
	if (kp)
		sodium_memzero(kp, sizeof(*kp));
}

/* ---- CipherState (section 5.1) ------------------------------------------ */

/* Nonce for ENCRYPT(k, n, ...): 4 zero octets || n, 64-bit little endian. */
static void make_nonce(uint8_t nonce[NOISE_NONCE_LEN], uint64_t n)
{
	memset(nonce, 0, 4);
	for (int i = 0; i < 8; i++)
		nonce[4 + i] = (uint8_t)(n >> (8 * i));
}

static void cs_init_key(struct noise_cipherstate *cs, const uint8_t *k)
{
	memcpy(cs->k, k, NOISE_SYMMETRIC_KEY_LEN);
	cs->n = 0;
	cs->has_key = true;
}

/* ENCRYPT(k, n++, ad, plain) -> out (plain_len + tag). Key required. */
static NOISE_MUST_CHECK int cs_encrypt(struct noise_cipherstate *cs,
				       const uint8_t *ad, size_t ad_len,
				       const uint8_t *plain, size_t plain_len,
				       uint8_t *out)
{
	uint8_t nonce[NOISE_NONCE_LEN];
	unsigned long long clen;

	if (cs->n == NOISE_NONCE_MAX)
		return -EOVERFLOW;
	make_nonce(nonce, cs->n);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, plain, plain_len,
						      ad, ad_len, NULL, nonce, cs->k) != 0)
		return -EINVAL;
	cs->n++;
	return 0;
}

/* DECRYPT(k, n, ad, in): n++ only on success. in_len >= tag checked by caller. */
static NOISE_MUST_CHECK int cs_decrypt(struct noise_cipherstate *cs,
				       const uint8_t *ad, size_t ad_len,
				       const uint8_t *in, size_t in_len,
				       uint8_t *out)
{
	uint8_t nonce[NOISE_NONCE_LEN];
	unsigned long long mlen;

	if (cs->n == NOISE_NONCE_MAX)
		return -EOVERFLOW;
	make_nonce(nonce, cs->n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, &mlen, NULL, in, in_len,
						      ad, ad_len, nonce, cs->k) != 0) {
		sodium_memzero(out, in_len - NOISE_AUTHTAG_LEN);
		return -EBADMSG;
	}
	cs->n++;
	return 0;
}

int noise_cipher_encrypt(struct noise_cipherstate *cs,
			 const uint8_t *ad, size_t ad_len,
			 const uint8_t *plain, size_t plain_len,
			 uint8_t *out, size_t out_cap, size_t *out_len)
{
	int ret;

	if (!cs || !out || !out_len || (!ad && ad_len) || (!plain && plain_len))
		return -EINVAL;
	*out_len = 0;
	if (!cs->has_key)
		return -ENOKEY;
	if (plain_len > NOISE_MAX_PAYLOAD_LEN)
		return -EMSGSIZE;
	if (out_cap < plain_len + NOISE_AUTHTAG_LEN)
		return -ENOBUFS;
	ret = cs_encrypt(cs, ad, ad_len, plain, plain_len, out);
	if (ret == 0)
		*out_len = plain_len + NOISE_AUTHTAG_LEN;
	return ret;
}

int noise_cipher_decrypt(struct noise_cipherstate *cs,
			 const uint8_t *ad, size_t ad_len,
			 const uint8_t *in, size_t in_len,
			 uint8_t *out, size_t out_cap, size_t *out_len)
{
	uint8_t none[1];
	int ret;

	if (!cs || !out_len || (!ad && ad_len) || (!in && in_len))
		return -EINVAL;
	*out_len = 0;
	if (!cs->has_key)
		return -ENOKEY;
	if (in_len > NOISE_MAX_MESSAGE_LEN)
		return -EMSGSIZE;
	if (in_len < NOISE_AUTHTAG_LEN)
		return -EBADMSG;
	if (out_cap < in_len - NOISE_AUTHTAG_LEN || (!out && in_len > NOISE_AUTHTAG_LEN))
		return -ENOBUFS;
	/* an empty plaintext may come with out == NULL: give libsodium a place */
	ret = cs_decrypt(cs, ad, ad_len, in, in_len, out ? out : none);
	if (ret == 0)
		*out_len = in_len - NOISE_AUTHTAG_LEN;
	return ret;
}

void noise_cipher_set_nonce(struct noise_cipherstate *cs, uint64_t n)
{
	if (cs)
		cs->n = n;
}

int noise_cipher_rekey(struct noise_cipherstate *cs)
{
	static const uint8_t zeros[NOISE_SYMMETRIC_KEY_LEN];
	uint8_t nonce[NOISE_NONCE_LEN];
	uint8_t out[NOISE_SYMMETRIC_KEY_LEN + NOISE_AUTHTAG_LEN];
	unsigned long long clen;
	int ret = 0;

	if (!cs)
		return -EINVAL;
	if (!cs->has_key)
		return -ENOKEY;
	/* REKEY(k) = ENCRYPT(k, maxnonce, zerolen, zeros), first 32 bytes */
	make_nonce(nonce, NOISE_NONCE_MAX);
	if (crypto_aead_chacha20poly1305_ietf_encrypt(out, &clen, zeros, sizeof(zeros),
						      NULL, 0, NULL, nonce, cs->k) != 0) {
		ret = -EINVAL;
		goto out;
	}
	memcpy(cs->k, out, NOISE_SYMMETRIC_KEY_LEN);
out:
	sodium_memzero(out, sizeof(out));
	return ret;
}

void noise_cipherstate_wipe(struct noise_cipherstate *cs)
{
	if (cs)
		sodium_memzero(cs, sizeof(*cs));
}

/* ---- SymmetricState (section 5.2) -------------------------------------------- */

/* MixHash(data): h = HASH(h || data) */
static NOISE_MUST_CHECK int mix_hash(struct symmetricstate *ss,
				     const uint8_t *data, size_t len)
{
	return hash2(ss->h, ss->h, NOISE_HASH_LEN, data, len);
}

/* MixKey(ikm): ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k[:32]) */
static NOISE_MUST_CHECK int mix_key(struct symmetricstate *ss,
				    const uint8_t *ikm, size_t ikm_len)
{
	uint8_t temp_k[NOISE_HASH_LEN];
	int ret;

	ret = hkdf(ss->ck, ikm, ikm_len, ss->ck, temp_k, NULL);
	if (ret == 0)
		cs_init_key(&ss->cs, temp_k);
	sodium_memzero(temp_k, sizeof(temp_k));
	return ret;
}

/* MixKeyAndHash(ikm): ck, temp_h, temp_k = HKDF(ck, ikm, 3); MixHash(temp_h);
 * InitializeKey(temp_k[:32]) */
static NOISE_MUST_CHECK int mix_key_and_hash(struct symmetricstate *ss,
					     const uint8_t *ikm, size_t ikm_len)
{
	uint8_t temp_h[NOISE_HASH_LEN];
	uint8_t temp_k[NOISE_HASH_LEN];
	int ret;

	ret = hkdf(ss->ck, ikm, ikm_len, ss->ck, temp_h, temp_k);
	if (ret)
		goto out;
	ret = mix_hash(ss, temp_h, sizeof(temp_h));
	if (ret)
		goto out;
	cs_init_key(&ss->cs, temp_k);
out:
	sodium_memzero(temp_h, sizeof(temp_h));
	sodium_memzero(temp_k, sizeof(temp_k));
	return ret;
}

/* EncryptAndHash(plain): out = EncryptWithAd(h, plain); MixHash(out).
 * Without a key the plaintext is sent as is (handshake only). */
static NOISE_MUST_CHECK int encrypt_and_hash(struct symmetricstate *ss,
					     const uint8_t *plain, size_t plain_len,
					     uint8_t *out, size_t *out_len)
{
	size_t n = plain_len;
	int ret;

	if (ss->cs.has_key) {
		ret = cs_encrypt(&ss->cs, ss->h, NOISE_HASH_LEN, plain, plain_len, out);
		if (ret)
			return ret;
		n += NOISE_AUTHTAG_LEN;
	} else if (plain_len) {
		memcpy(out, plain, plain_len);
	}
	*out_len = n;
	return mix_hash(ss, out, n);
}

/* DecryptAndHash(in): out = DecryptWithAd(h, in); MixHash(in).
 * in_len >= tag (with a key) is checked by the caller. */
static NOISE_MUST_CHECK int decrypt_and_hash(struct symmetricstate *ss,
					     const uint8_t *in, size_t in_len,
					     uint8_t *out, size_t *out_len)
{
	size_t n = in_len;
	int ret;

	if (ss->cs.has_key) {
		if (in_len < NOISE_AUTHTAG_LEN)
			return -EBADMSG;
		ret = cs_decrypt(&ss->cs, ss->h, NOISE_HASH_LEN, in, in_len, out);
		if (ret)
			return ret;
		n -= NOISE_AUTHTAG_LEN;
	} else if (in_len) {
		memcpy(out, in, in_len);
	}
	*out_len = n;
	return mix_hash(ss, in, in_len);
}

/* ---- HandshakeState (section 5.3) -------------------------------------------- */

const char *noise_pattern_name(enum noise_pattern pattern)
{
	if ((unsigned int)pattern >= NOISE_PATTERN_MAX)
		return NULL;
	return patterns[pattern].name;
}

int noise_pattern_from_name(const char *name, enum noise_pattern *pattern)
{
	if (!name || !pattern)
		return -EINVAL;
	for (unsigned int i = 0; i < NOISE_PATTERN_MAX; i++) {
		if (strcmp(name, patterns[i].name) == 0) {
			*pattern = (enum noise_pattern)i;
			return 0;
		}
	}
	return -EINVAL;
}

/* Wipe every secret and mark the handshake unusable. */
static void hs_fail(struct noise_handshake *hs)
{
	const struct pattern_def *pattern = hs->pattern;
	enum noise_role role = hs->role;

	sodium_memzero(hs, sizeof(*hs));
	hs->pattern = pattern;
	hs->role = role;
	hs->failed = true;
}

static bool hs_is_initiator(const struct noise_handshake *hs)
{
	return hs->role == NOISE_ROLE_INITIATOR;
}

enum noise_hs_status noise_handshake_status(const struct noise_handshake *hs)
{
	if (!hs || hs->failed)
		return NOISE_HS_FAILED;
	if (hs->split)
		return NOISE_HS_SPLIT;
	if (hs->msg_index >= hs->pattern->n_messages)
		return NOISE_HS_COMPLETE;
	/* even messages go initiator -> responder */
	return ((hs->msg_index % 2 == 0) == hs_is_initiator(hs)) ? NOISE_HS_WRITE
								  : NOISE_HS_READ;
}

/* 0 if the next step is `want`, else why not. */
static int hs_check_turn(const struct noise_handshake *hs, enum noise_hs_status want)
{
	enum noise_hs_status st = noise_handshake_status(hs);

	if (st == NOISE_HS_FAILED)
		return -ECANCELED;
	return st == want ? 0 : -EPROTO;
}

/*
 * Length of a message's fixed part (keys and tags, the payload's tag included)
 * for the current key state: what the message costs besides the payload.
 */
static size_t message_overhead(const struct noise_handshake *hs, const uint8_t *tok)
{
	bool has_key = hs->ss.cs.has_key;
	size_t len = 0;

	for (; *tok != T_END; tok++) {
		switch (*tok) {
		case T_E:
			len += NOISE_PUBLIC_KEY_LEN;
			if (hs->pattern->psk)
				has_key = true;
			break;
		case T_S:
			len += NOISE_PUBLIC_KEY_LEN + (has_key ? NOISE_AUTHTAG_LEN : 0);
			break;
		default:                /* ee, es, se, ss, psk: MixKey */
			has_key = true;
			break;
		}
	}
	return len + (has_key ? NOISE_AUTHTAG_LEN : 0);
}

/* MixKey(DH(priv, pub)) */
static NOISE_MUST_CHECK int mix_dh(struct noise_handshake *hs,
				   const uint8_t priv[NOISE_PRIVATE_KEY_LEN],
				   const uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	uint8_t shared[NOISE_DH_LEN];
	int ret;

	ret = dh(shared, priv, pub);
	if (ret)
		goto out;
	ret = mix_key(&hs->ss, shared, sizeof(shared));
out:
	sodium_memzero(shared, sizeof(shared));
	return ret;
}

/* The DH tokens, the same for writing and reading (section 5.3). */
static NOISE_MUST_CHECK int dh_token(struct noise_handshake *hs, uint8_t tok)
{
	bool init = hs_is_initiator(hs);

	switch (tok) {
	case T_EE:      /* ee: DH(e, re) */
		if (!hs->has_e || !hs->has_re)
			return -EPROTO;
		return mix_dh(hs, hs->e.private_key, hs->re);
	case T_ES:      /* es: initiator DH(e, rs), responder DH(s, re) */
		if (init ? !(hs->has_e && hs->has_rs) : !hs->has_re)
			return -EPROTO;
		return init ? mix_dh(hs, hs->e.private_key, hs->rs)
			    : mix_dh(hs, hs->s.private_key, hs->re);
	case T_SE:      /* se: initiator DH(s, re), responder DH(e, rs) */
		if (init ? !hs->has_re : !(hs->has_e && hs->has_rs))
			return -EPROTO;
		return init ? mix_dh(hs, hs->s.private_key, hs->re)
			    : mix_dh(hs, hs->e.private_key, hs->rs);
	case T_SS:      /* ss: DH(s, rs) */
		if (!hs->has_rs)
			return -EPROTO;
		return mix_dh(hs, hs->s.private_key, hs->rs);
	default:
		return -EPROTO;
	}
}

int noise_handshake_create(struct noise_handshake **hsp,
			   const struct noise_handshake_config *cfg)
{
	const struct pattern_def *pattern;
	struct noise_handshake *hs = NULL;
	bool initiator;
	size_t name_len;
	int ret;

	if (!hsp)
		return -EINVAL;
	*hsp = NULL;
	if (!cfg)
		return -EINVAL;
	if ((unsigned int)cfg->pattern >= NOISE_PATTERN_MAX ||
	    (cfg->role != NOISE_ROLE_INITIATOR && cfg->role != NOISE_ROLE_RESPONDER))
		return -EINVAL;
	pattern = &patterns[cfg->pattern];
	initiator = cfg->role == NOISE_ROLE_INITIATOR;
	if (!cfg->prologue && cfg->prologue_len)
		return -EINVAL;
	if (!cfg->local_static_private)         /* every pattern here has s */
		return -EINVAL;
	if (pattern->psk != (cfg->psk != NULL))
		return -EINVAL;
	if ((pattern->pre_responder_s && initiator) != (cfg->remote_static_public != NULL))
		return -EINVAL;
	ret = noise_init();
	if (ret)
		return ret;

	hs = secmem_alloc(sizeof(*hs));
	if (!hs)
		return -ENOMEM;
	sodium_memzero(hs, sizeof(*hs));
	hs->pattern = pattern;
	hs->role = cfg->role;

	if (cfg->local_static_public) {     /* stored with the private key */
		memcpy(hs->s.private_key, cfg->local_static_private, NOISE_PRIVATE_KEY_LEN);
		memcpy(hs->s.public_key, cfg->local_static_public, NOISE_PUBLIC_KEY_LEN);
	} else {
		ret = noise_keypair_from_private(&hs->s, cfg->local_static_private);
		if (ret)
			goto out;
	}
	if (cfg->remote_static_public) {
		ret = check_public_key(cfg->remote_static_public);
		if (ret)
			goto out;
		memcpy(hs->rs, cfg->remote_static_public, NOISE_PUBLIC_KEY_LEN);
		hs->has_rs = true;
	}
	if (cfg->psk)
		memcpy(hs->psk, cfg->psk, NOISE_PSK_LEN);
	if (cfg->ephemeral_private) {
		memcpy(hs->fixed_e, cfg->ephemeral_private, NOISE_PRIVATE_KEY_LEN);
		hs->has_fixed_e = true;
	}

	/* InitializeSymmetric(protocol_name): h = name padded with zeros to
	 * HASHLEN, or HASH(name) if longer; ck = h; k empty. */
	name_len = strlen(pattern->name);
	if (name_len <= NOISE_HASH_LEN) {
		memcpy(hs->ss.h, pattern->name, name_len);
	} else {
		ret = hash2(hs->ss.h, (const uint8_t *)pattern->name, name_len, NULL, 0);
		if (ret)
			goto out;
	}
	memcpy(hs->ss.ck, hs->ss.h, NOISE_HASH_LEN);

	/* MixHash(prologue) */
	ret = mix_hash(&hs->ss, cfg->prologue, cfg->prologue_len);
	if (ret)
		goto out;
	/* pre-message "<- s": MixHash(responder's static public key) */
	if (pattern->pre_responder_s) {
		ret = mix_hash(&hs->ss, initiator ? hs->rs : hs->s.public_key,
			       NOISE_PUBLIC_KEY_LEN);
		if (ret)
			goto out;
	}
	*hsp = hs;
out:
	if (ret)
		secmem_free(hs);                /* wipes */
	return ret;
}

void noise_handshake_destroy(struct noise_handshake *hs)
{
	if (hs)
		secmem_free(hs);                /* wipes */
}

int noise_handshake_write_message(struct noise_handshake *hs,
				  const uint8_t *payload, size_t payload_len,
				  uint8_t *out, size_t out_cap, size_t *out_len)
{
	const uint8_t *tok;
	size_t overhead = 0, off = 0, n = 0;
	int ret;

	if (!hs || !out || !out_len || (!payload && payload_len))
		return -EINVAL;
	*out_len = 0;
	ret = hs_check_turn(hs, NOISE_HS_WRITE);
	if (ret)
		return ret;
	tok = hs->pattern->messages[hs->msg_index];
	overhead = message_overhead(hs, tok);
	if (payload_len > NOISE_MAX_MESSAGE_LEN - overhead)
		return -EMSGSIZE;
	if (out_cap < overhead + payload_len)
		return -ENOBUFS;

	/* From here on a failure is final. */
	for (; *tok != T_END; tok++) {
		switch (*tok) {
		case T_E:       /* e */
			if (hs->has_fixed_e)
				ret = noise_keypair_from_private(&hs->e, hs->fixed_e);
			else
				ret = noise_keypair_generate(&hs->e);
			if (ret)
				goto out;
			hs->has_e = true;
			memcpy(out + off, hs->e.public_key, NOISE_PUBLIC_KEY_LEN);
			off += NOISE_PUBLIC_KEY_LEN;
			ret = mix_hash(&hs->ss, hs->e.public_key, NOISE_PUBLIC_KEY_LEN);
			if (ret == 0 && hs->pattern->psk)       /* section 9.2 */
				ret = mix_key(&hs->ss, hs->e.public_key, NOISE_PUBLIC_KEY_LEN);
			break;
		case T_S:       /* s */
			ret = encrypt_and_hash(&hs->ss, hs->s.public_key,
					       NOISE_PUBLIC_KEY_LEN, out + off, &n);
			off += n;
			break;
		case T_PSK:     /* psk */
			ret = mix_key_and_hash(&hs->ss, hs->psk, NOISE_PSK_LEN);
			break;
		default:        /* ee, es, se, ss */
			ret = dh_token(hs, *tok);
			break;
		}
		if (ret)
			goto out;
	}
	/* payload: EncryptAndHash(payload) */
	ret = encrypt_and_hash(&hs->ss, payload ? payload : (const uint8_t *)"",
			       payload_len, out + off, &n);
	if (ret)
		goto out;
	off += n;
	hs->msg_index++;
	*out_len = off;
out:
	if (ret) {
		hs_fail(hs);
		sodium_memzero(out, overhead + payload_len);
	}
	return ret;
}

int noise_handshake_read_message(struct noise_handshake *hs,
				 const uint8_t *msg, size_t msg_len,
				 uint8_t *payload, size_t payload_cap,
				 size_t *payload_len)
{
	const uint8_t *tok;
	size_t overhead, plain_len = 0, off = 0, n = 0;
	uint8_t none[1];        /* where an empty payload "goes" */
	int ret;

	if (!hs)
		return -EINVAL;
	if (!payload_len || (!msg && msg_len) || (!payload && payload_cap)) {
		ret = -EINVAL;
		goto out;
	}
	*payload_len = 0;
	ret = hs_check_turn(hs, NOISE_HS_READ);
	if (ret)
		goto out;
	if (msg_len > NOISE_MAX_MESSAGE_LEN) {
		ret = -EMSGSIZE;
		goto out;
	}
	tok = hs->pattern->messages[hs->msg_index];
	overhead = message_overhead(hs, tok);
	if (msg_len < overhead) {
		ret = -EBADMSG;
		goto out;
	}
	if (msg_len - overhead > payload_cap) {
		ret = -ENOBUFS;
		goto out;
	}
	plain_len = msg_len - overhead;         /* what payload may receive */

	/* Every offset below stays within the overhead checked above. */
	for (; *tok != T_END; tok++) {
		switch (*tok) {
		case T_E:       /* e */
			memcpy(hs->re, msg + off, NOISE_PUBLIC_KEY_LEN);
			off += NOISE_PUBLIC_KEY_LEN;
			hs->has_re = true;
			ret = check_public_key(hs->re);
			if (ret == 0)
				ret = mix_hash(&hs->ss, hs->re, NOISE_PUBLIC_KEY_LEN);
			if (ret == 0 && hs->pattern->psk)       /* section 9.2 */
				ret = mix_key(&hs->ss, hs->re, NOISE_PUBLIC_KEY_LEN);
			break;
		case T_S: {     /* s */
			size_t s_len = NOISE_PUBLIC_KEY_LEN +
				       (hs->ss.cs.has_key ? NOISE_AUTHTAG_LEN : 0);

			ret = decrypt_and_hash(&hs->ss, msg + off, s_len, hs->rs, &n);
			off += s_len;
			if (ret == 0) {
				hs->has_rs = true;
				ret = check_public_key(hs->rs);  /* a malicious peer's */
			}
			break;
		}
		case T_PSK:     /* psk */
			ret = mix_key_and_hash(&hs->ss, hs->psk, NOISE_PSK_LEN);
			break;
		default:        /* ee, es, se, ss */
			ret = dh_token(hs, *tok);
			break;
		}
		if (ret)
			goto out;
	}
	/* payload: DecryptAndHash(rest of the message) */
	ret = decrypt_and_hash(&hs->ss, msg + off, msg_len - off,
			       plain_len ? payload : none, &n);
	if (ret)
		goto out;
	hs->msg_index++;
	*payload_len = n;
out:
	if (ret) {
		hs_fail(hs);
		if (payload && plain_len)
			sodium_memzero(payload, plain_len);
	}
	return ret;
}

int noise_handshake_split(struct noise_handshake *hs,
			  struct noise_cipherstate *send, struct noise_cipherstate *recv)
{
	uint8_t k1[NOISE_HASH_LEN], k2[NOISE_HASH_LEN];
	struct noise_cipherstate *c1, *c2;
	int ret;

	if (!hs || !send || !recv || send == recv)
		return -EINVAL;
	ret = hs_check_turn(hs, NOISE_HS_COMPLETE);
	if (ret)
		return ret;
	/* temp_k1, temp_k2 = HKDF(ck, zerolen, 2); truncated to 32 bytes */
	ret = hkdf(hs->ss.ck, NULL, 0, k1, k2, NULL);
	if (ret)
		goto out;
	c1 = hs_is_initiator(hs) ? send : recv;         /* initiator -> responder */
	c2 = hs_is_initiator(hs) ? recv : send;         /* responder -> initiator */
	cs_init_key(c1, k1);
	cs_init_key(c2, k2);

	/* Only h and rs are needed from here on. */
	sodium_memzero(hs->ss.ck, sizeof(hs->ss.ck));
	sodium_memzero(&hs->ss.cs, sizeof(hs->ss.cs));
	sodium_memzero(&hs->s, sizeof(hs->s));
	sodium_memzero(&hs->e, sizeof(hs->e));
	sodium_memzero(hs->psk, sizeof(hs->psk));
	sodium_memzero(hs->fixed_e, sizeof(hs->fixed_e));
	hs->split = true;
out:
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));
	return ret;
}

int noise_handshake_hash(const struct noise_handshake *hs, uint8_t h[NOISE_HASH_LEN])
{
	enum noise_hs_status st;

	if (!hs || !h)
		return -EINVAL;
	st = noise_handshake_status(hs);
	if (st == NOISE_HS_FAILED)
		return -ECANCELED;
	if (st != NOISE_HS_COMPLETE && st != NOISE_HS_SPLIT)
		return -EPROTO;
	memcpy(h, hs->ss.h, NOISE_HASH_LEN);
	return 0;
}

int noise_handshake_export(const struct noise_handshake *hs,
			   const uint8_t *label, size_t label_len,
			   uint8_t *out, size_t out_len)
{
	uint8_t o1[NOISE_HASH_LEN], o2[NOISE_HASH_LEN];
	enum noise_hs_status st;
	int ret;

	if (!hs || !label || label_len == 0 || !out || out_len == 0 ||
	    out_len > NOISE_HASH_LEN)
		return -EINVAL;
	st = noise_handshake_status(hs);
	if (st == NOISE_HS_FAILED)
		return -ECANCELED;
	if (st != NOISE_HS_COMPLETE)
		return -EPROTO;         /* not finished yet, or ck wiped by split */
	/* o1, o2 = HKDF(ck, label, 2); out = o1[:out_len] */
	ret = hkdf(hs->ss.ck, label, label_len, o1, o2, NULL);
	if (ret == 0)
		memcpy(out, o1, out_len);
	sodium_memzero(o1, sizeof(o1));
	sodium_memzero(o2, sizeof(o2));
	return ret;
}

int noise_handshake_remote_static(const struct noise_handshake *hs,
				  uint8_t pub[NOISE_PUBLIC_KEY_LEN])
{
	if (!hs || !pub)
		return -EINVAL;
	if (hs->failed)
		return -ECANCELED;
	if (!hs->has_rs)
		return -ENOKEY;
	memcpy(pub, hs->rs, NOISE_PUBLIC_KEY_LEN);
	return 0;
}
