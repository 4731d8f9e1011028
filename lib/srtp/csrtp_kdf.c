/* SPDX-License-Identifier: BSD-3-Clause */
/* csrtp_kdf.c - RFC 3711 s. 4.3 key derivation with the AES-CM PRF. */
#include <errno.h>
#include <string.h>

#include "csrtp_kdf.h"

int csrtp_kdf_keystream(IMB_MGR *mgr, const uint8_t *key, size_t key_len,
		       const uint8_t iv[16], uint8_t *out, size_t len)
{
	/* Expanded AES round keys: 15 x 16 bytes covers AES-256. */
	uint8_t enc[16 * 15] __attribute__((aligned(16)));
	uint8_t dec[16 * 15] __attribute__((aligned(16)));
	int ret = 0;

	if (key_len == 16)
		IMB_AES_KEYEXP_128(mgr, key, enc, dec);
	else if (key_len == 32)
		IMB_AES_KEYEXP_256(mgr, key, enc, dec);
	else
		return -EINVAL;

	/* RFC 3711 s. 4.1.1: keystream = E(k, IV) || E(k, IV + 1) || ...,
	 * i.e. AES-CTR over zero bytes. */
	memset(out, 0, len);
	IMB_JOB *job = IMB_GET_NEXT_JOB(mgr);
	job->cipher_mode = IMB_CIPHER_CNTR;
	job->cipher_direction = IMB_DIR_ENCRYPT;
	job->chain_order = IMB_ORDER_CIPHER_HASH;
	job->hash_alg = IMB_AUTH_NULL;
	job->key_len_in_bytes = key_len;
	job->enc_keys = enc;
	job->dec_keys = enc;
	job->src = out;
	job->dst = out;
	job->cipher_start_src_offset_in_bytes = 0;
	job->msg_len_to_cipher_in_bytes = len;
	job->iv = iv;
	job->iv_len_in_bytes = 16;
	job->user_data = out;

	/* Submit, then flush until our job comes back (the queue is ours alone). */
	IMB_JOB *done = IMB_SUBMIT_JOB(mgr);
	while (done != job && (done = IMB_FLUSH_JOB(mgr)) != NULL)
		;
	if (job->status != IMB_STATUS_COMPLETED)
		ret = -EIO;

	explicit_bzero(enc, sizeof(enc));
	explicit_bzero(dec, sizeof(dec));
	return ret;
}

int csrtp_kdf_derive(IMB_MGR *mgr, const uint8_t *master_key, size_t key_len,
		    const uint8_t master_salt[CSRTP_KDF_SALT_LEN], uint8_t label,
		    uint8_t *out, size_t len)
{
	uint8_t iv[16];

	/* RFC 3711 s. 4.3.1: key_id = label || r with r = index DIV kdr = 0
	 * (kdr = 0), x = key_id XOR master_salt, both 112 bits, so the label
	 * lands in octet 7. s. 4.3.3: PRF input is x * 2^16. */
	memcpy(iv, master_salt, CSRTP_KDF_SALT_LEN);
	iv[7] ^= label;
	iv[14] = 0;
	iv[15] = 0;
	int ret = csrtp_kdf_keystream(mgr, master_key, key_len, iv, out, len);
	explicit_bzero(iv, sizeof(iv));
	return ret;
}
