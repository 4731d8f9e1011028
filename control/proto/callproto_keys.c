/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callproto_keys.c - the key schedule (docs/handshake.md, "Key schedule"):
 * from the finished Noise handshake to chain_0 and the security code, each
 * generation's SRTP master keys per direction, and the rekey chain.
 *
 *   X       = HKDF(ck, "callseal/1 key schedule", 2).output1
 *   chain_0 = BLAKE2b(key = X, "callseal/1 chain" || h)
 *   KM      = BLAKE2b(key = chain_g, "callseal/1 srtp i->r" | "... r->i"
 *                     || BE32(g) || BE16(profile));
 *             key = KM[0 .. key_len), salt = KM[32 .. 32 + salt_len): the
 *             profile's lengths (GCM 12-octet salt, AES-CM 14-octet salt)
 *   chain_{g+1} = BLAKE2b(key = chain_g, "callseal/1 rekey" || BE32(g+1))
 *   code    = four groups of BE40(BLAKE2b-512("callseal/1 security code" || h)) mod 10^5
 *
 * Every intermediate (X, KM, the BLAKE2b state) is wiped before return.
 */
#include <errno.h>
#include <string.h>

#include <sodium.h>

#include "byteorder.h"
#include "callproto_internal.h"

#define LABEL_KEY_SCHEDULE  "callseal/1 key schedule"
#define LABEL_CHAIN         "callseal/1 chain"
#define LABEL_SRTP_I2R      "callseal/1 srtp i->r"
#define LABEL_SRTP_R2I      "callseal/1 srtp r->i"
#define LABEL_REKEY         "callseal/1 rekey"
#define LABEL_CODE          "callseal/1 security code"

_Static_assert(CALLPROTO_MASTER_KEY_MAX + CALLPROTO_MASTER_SALT_MAX <= NOISE_HASH_LEN,
	       "key and salt from one 64-octet output");

/* out = BLAKE2b-512(key = key[64], label || ctx) */
static int kdf(uint8_t out[NOISE_HASH_LEN], const uint8_t key[NOISE_HASH_LEN],
	       const char *label, const uint8_t *ctx, size_t ctx_len)
{
	crypto_generichash_blake2b_state s;
	int ret = 0;

	ret |= crypto_generichash_blake2b_init(&s, key, NOISE_HASH_LEN, NOISE_HASH_LEN);
	ret |= crypto_generichash_blake2b_update(&s, (const uint8_t *)label, strlen(label));
	if (ctx_len)
		ret |= crypto_generichash_blake2b_update(&s, ctx, ctx_len);
	ret |= crypto_generichash_blake2b_final(&s, out, NOISE_HASH_LEN);
	sodium_memzero(&s, sizeof(s));
	return ret ? -EIO : 0;
}

/* Handshake complete, before split: h, chain_0, security code. */
int keys_schedule_start(struct callproto *st)
{
	uint8_t x[NOISE_HASH_LEN];
	int ret;

	ret = noise_handshake_hash(st->hs, st->h);
	if (ret)
		goto out;
	/* X = HKDF(ck, "callseal/1 key schedule", 2).output1 */
	ret = noise_handshake_export(st->hs, (const uint8_t *)LABEL_KEY_SCHEDULE,
				     strlen(LABEL_KEY_SCHEDULE), x, sizeof(x));
	if (ret)
		goto out;
	/* chain_0 = BLAKE2b(key = X, "callseal/1 chain" || h) */
	ret = kdf(st->chain, x, LABEL_CHAIN, st->h, sizeof(st->h));
	if (ret)
		goto out;
	st->have_chain = true;
	st->chain_gen = 0;
	ret = callproto_security_code(st->h, st->code);
out:
	sodium_memzero(x, sizeof(x));
	return ret;
}

/* One direction's key of the current chain generation. */
static int derive_key(const struct callproto *st, const char *label,
		      struct callproto_srtp_key *k)
{
	uint8_t ctx[6], km[NOISE_HASH_LEN];
	size_t key_len = callproto_profile_key_len(st->profile);
	size_t salt_len = callproto_profile_salt_len(st->profile);
	int ret;

	if (key_len == 0 || salt_len == 0)
		return -EINVAL;         /* the choice only ever gives known profiles */
	put_be32(ctx, st->chain_gen);
	put_be16(ctx + 4, st->profile);
	/* KM = BLAKE2b(key = chain_g, label || BE32(g) || BE16(profile)); the
	 * profile in the context keeps a GCM and an AES-CM key apart even where
	 * their lengths agree (AEAD_AES_128_GCM, AES_CM_128_*) */
	ret = kdf(km, st->chain, label, ctx, sizeof(ctx));
	if (ret == 0) {
		memset(k, 0, sizeof(*k));
		k->profile = st->profile;
		k->key_len = (uint8_t)key_len;
		k->salt_len = (uint8_t)salt_len;
		memcpy(k->key, km, key_len);
		/* master salt: RFC 7714 section 11 (12 octets), RFC 3711 section 8.2 (14) */
		memcpy(k->salt, km + CALLPROTO_MASTER_KEY_MAX, salt_len);
	}
	sodium_memzero(km, sizeof(km));
	return ret;
}

int keys_derive(const struct callproto *st, struct callproto_keys *out)
{
	bool init = st->role == CALLPROTO_ROLE_INITIATOR;
	int ret;

	out->generation = st->chain_gen;
	ret = derive_key(st, LABEL_SRTP_I2R, init ? &out->tx : &out->rx);
	if (ret == 0)
		ret = derive_key(st, LABEL_SRTP_R2I, init ? &out->rx : &out->tx);
	if (ret)
		callproto_keys_wipe(out);
	return ret;
}

/* chain_{g+1} = BLAKE2b(key = chain_g, "callseal/1 rekey" || BE32(g+1)); chain_g wiped */
static int chain_advance(struct callproto *st)
{
	uint8_t ctx[4], next[NOISE_HASH_LEN];
	int ret;

	put_be32(ctx, st->chain_gen + 1);
	ret = kdf(next, st->chain, LABEL_REKEY, ctx, sizeof(ctx));
	if (ret == 0) {
		memcpy(st->chain, next, sizeof(next));
		st->chain_gen++;
	}
	sodium_memzero(next, sizeof(next));
	return ret;
}

int callproto_security_code(const uint8_t h[NOISE_HASH_LEN],
			    char out[CALLPROTO_SECURITY_CODE_LEN + 1])
{
	crypto_generichash_blake2b_state s;
	uint8_t d[NOISE_HASH_LEN];
	int ret = 0, i, j;

	if (!h || !out)
		return -EINVAL;
	/* D = BLAKE2b-512("callseal/1 security code" || h) */
	ret |= crypto_generichash_blake2b_init(&s, NULL, 0, sizeof(d));
	ret |= crypto_generichash_blake2b_update(&s, (const uint8_t *)LABEL_CODE,
						 strlen(LABEL_CODE));
	ret |= crypto_generichash_blake2b_update(&s, h, NOISE_HASH_LEN);
	ret |= crypto_generichash_blake2b_final(&s, d, sizeof(d));
	if (ret)
		return -EIO;
	/* group i = BE40(D[5i .. 5i+5)) mod 100000, five digits */
	for (i = 0; i < 4; i++) {
		uint64_t v = 0;

		for (j = 0; j < 5; j++)
			v = (v << 8) | d[5 * i + j];
		v %= 100000u;
		for (j = 4; j >= 0; j--) {
			out[6 * i + j] = (char)('0' + v % 10);
			v /= 10;
		}
		out[6 * i + 5] = i < 3 ? ' ' : '\0';
	}
	sodium_memzero(&s, sizeof(s));
	sodium_memzero(d, sizeof(d));
	return 0;
}

int callproto_rekey(struct callproto *st, uint32_t generation, struct callproto_keys *out)
{
	int ret = 0;

	if (!st || !out)
		return -EINVAL;
	if (st->step == S_FAILED)
		return -ECANCELED;
	if (st->step != S_DONE || !st->have_chain)
		return -EAGAIN;
	if (generation < st->chain_gen)
		return -ESTALE;
	if (generation - st->chain_gen > CALLPROTO_REKEY_MAX_SKIP)
		return -ERANGE;
	while (ret == 0 && st->chain_gen < generation)
		ret = chain_advance(st);
	if (ret == 0)
		ret = keys_derive(st, out);
	return ret;
}

void callproto_keys_wipe(struct callproto_keys *k)
{
	if (k)
		sodium_memzero(k, sizeof(*k));
}

void callproto_result_wipe(struct callproto_result *r)
{
	if (r)
		sodium_memzero(r, sizeof(*r));
}
