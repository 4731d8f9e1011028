/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for csrtp_kdf.c: RFC 3711 B.2/B.3 and the RFC 6188 AES-256 vectors. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csrtp.h"
#include "csrtp_kdf.h"
#include "vectors.h"

static int setup(void **state)
{
	*state = csrtp_engine_create(IMB_ARCH_NONE);
	return *state == NULL ? -1 : 0;
}

static int teardown(void **state)
{
	csrtp_engine_destroy(*state);
	return 0;
}

/* Every label of B.3 (and the AES-256 set) from master key and salt. */
static void test_kdf_vectors(void **state)
{
	IMB_MGR *mgr = csrtp_engine_mgr(*state);

	for (size_t i = 0; i < N_VEC_KDF; i++) {
		const struct vec_kdf *v = &vec_kdf[i];
		uint8_t out[128];

		assert_int_equal(v->master_salt.n, CSRTP_KDF_SALT_LEN);
		assert_int_equal(csrtp_kdf_derive(mgr, v->master_key.p, v->master_key.n,
						 v->master_salt.p, CSRTP_KDF_RTP_ENCRYPTION,
						 out, v->cipher_key.n), 0);
		assert_memory_equal(out, v->cipher_key.p, v->cipher_key.n);
		assert_int_equal(csrtp_kdf_derive(mgr, v->master_key.p, v->master_key.n,
						 v->master_salt.p, CSRTP_KDF_RTP_SALT,
						 out, v->cipher_salt.n), 0);
		assert_memory_equal(out, v->cipher_salt.p, v->cipher_salt.n);
		assert_int_equal(csrtp_kdf_derive(mgr, v->master_key.p, v->master_key.n,
						 v->master_salt.p, CSRTP_KDF_RTP_AUTH,
						 out, v->auth_key.n), 0);
		assert_memory_equal(out, v->auth_key.p, v->auth_key.n);
	}
}

/* B.2: the AES-CM keystream, including blocks 65279-65281 (a 1 MiB segment). */
static void test_keystream_vectors(void **state)
{
	IMB_MGR *mgr = csrtp_engine_mgr(*state);
	size_t cap = 65282 * 16;
	uint8_t *ks = malloc(cap);
	assert_non_null(ks);

	for (size_t i = 0; i < N_VEC_KS; i++) {
		const struct vec_ks *v = &vec_ks[i];
		size_t len = (size_t)v->block * 16 + v->keystream.n;
		assert_true(len <= cap);
		assert_int_equal(csrtp_kdf_keystream(mgr, v->key.p, v->key.n, v->iv.p, ks, len), 0);
		assert_memory_equal(ks + (size_t)v->block * 16, v->keystream.p, v->keystream.n);
	}
	free(ks);
}

/* Only 128- and 256-bit AES keys are accepted; the output is left alone. */
static void test_bad_key_length(void **state)
{
	IMB_MGR *mgr = csrtp_engine_mgr(*state);
	uint8_t key[32] = { 1 }, salt[CSRTP_KDF_SALT_LEN] = { 2 }, out[16];

	memset(out, 0xaa, sizeof(out));
	assert_int_equal(csrtp_kdf_derive(mgr, key, 24, salt, 0, out, sizeof(out)), -EINVAL);
	assert_int_equal(csrtp_kdf_derive(mgr, key, 0, salt, 0, out, sizeof(out)), -EINVAL);
	for (size_t i = 0; i < sizeof(out); i++)
		assert_int_equal(out[i], 0xaa);
}

/* Labels separate the derived keys: six labels, six different outputs. */
static void test_labels_differ(void **state)
{
	IMB_MGR *mgr = csrtp_engine_mgr(*state);
	uint8_t key[16] = { 7 }, salt[CSRTP_KDF_SALT_LEN] = { 9 }, out[6][16];

	for (int l = 0; l < 6; l++)
		assert_int_equal(csrtp_kdf_derive(mgr, key, 16, salt, (uint8_t)l, out[l], 16), 0);
	for (int a = 0; a < 6; a++)
		for (int b = a + 1; b < 6; b++)
			assert_memory_not_equal(out[a], out[b], 16);
}

/* csrtp_key_init on a master key gives the session key the KDF gives. */
static void test_key_init_uses_kdf(void **state)
{
	struct csrtp_engine *e = *state;
	const struct vec_kdf *v = &vec_kdf[0];     /* B.3, AES-128 */
	struct csrtp_key k;
	uint8_t salt12[CSRTP_SALT_LEN];

	memcpy(salt12, v->master_salt.p, CSRTP_SALT_LEN);
	assert_int_equal(csrtp_key_init(e, &k, CSRTP_PROFILE_AEAD_AES_128_GCM,
				       v->master_key.p, 16, salt12), 0);
	/* The 12-octet salt is the 14-octet one truncated, so the session salt
	 * (label 2, first 12 octets) is the same as B.3's when octets 12-13 of
	 * the master salt are zero; compute it with the KDF for comparison. */
	uint8_t s14[CSRTP_KDF_SALT_LEN] = { 0 }, want[CSRTP_SALT_LEN];
	memcpy(s14, salt12, CSRTP_SALT_LEN);
	assert_int_equal(csrtp_kdf_derive(csrtp_engine_mgr(e), v->master_key.p, 16, s14,
					 CSRTP_KDF_RTP_SALT, want, sizeof(want)), 0);
	assert_memory_equal(k.rtp_salt, want, CSRTP_SALT_LEN);
	assert_int_equal(csrtp_kdf_derive(csrtp_engine_mgr(e), v->master_key.p, 16, s14,
					 CSRTP_KDF_RTCP_SALT, want, sizeof(want)), 0);
	assert_memory_equal(k.rtcp_salt, want, CSRTP_SALT_LEN);
	assert_int_equal(k.key_len, 16);

	/* wrong master key length for the profile */
	assert_int_equal(csrtp_key_init(e, &k, CSRTP_PROFILE_AEAD_AES_256_GCM,
				       v->master_key.p, 16, salt12), -EINVAL);
	assert_int_equal(csrtp_key_init(e, &k, CSRTP_PROFILE_NONE,
				       v->master_key.p, 16, salt12), -EINVAL);
	csrtp_key_wipe(&k);
	const uint8_t *b = (const uint8_t *)&k;
	for (size_t i = 0; i < sizeof(k); i++)
		assert_int_equal(b[i], 0);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kdf_vectors),
		cmocka_unit_test(test_keystream_vectors),
		cmocka_unit_test(test_bad_key_length),
		cmocka_unit_test(test_labels_differ),
		cmocka_unit_test(test_key_init_uses_kdf),
	};
	return cmocka_run_group_tests(tests, setup, teardown);
}
