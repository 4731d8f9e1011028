/* SPDX-License-Identifier: BSD-3-Clause */
/* bench_cm.h - the raw AES-CM job the benchmarks measure the engine against. */
#ifndef CALLSEAL_BENCH_CM_H
#define CALLSEAL_BENCH_CM_H

#include "csrtp.h"

/*
 * Fill j with one SRTP packet's AES_CM_128_HMAC_SHA1 work as intel-ipsec-mb
 * jobs take it: CTR over the payload after the 12-octet RTP header at rtp,
 * HMAC-SHA1 over header || payload || 4 octets (where the ROC goes, RFC 3711
 * s. 4.2), a 12-octet tag (intel-ipsec-mb refuses 10) into tag. iv and tag
 * must live until the job completes.
 */
static inline void bench_cm_job(IMB_JOB *j, const struct csrtp_cm_keys *c, uint8_t *rtp,
				uint32_t payload, int encrypt, const uint8_t *iv, uint8_t *tag)
{
	j->cipher_mode = IMB_CIPHER_CNTR;
	j->hash_alg = IMB_AUTH_HMAC_SHA_1;
	j->cipher_direction = encrypt ? IMB_DIR_ENCRYPT : IMB_DIR_DECRYPT;
	j->chain_order = encrypt ? IMB_ORDER_CIPHER_HASH : IMB_ORDER_HASH_CIPHER;
	j->key_len_in_bytes = 16;
	j->enc_keys = j->dec_keys = c->rtp_enc;
	j->src = rtp;
	j->dst = rtp + CSRTP_RTP_HDR_LEN;
	j->cipher_start_src_offset_in_bytes = CSRTP_RTP_HDR_LEN;
	j->msg_len_to_cipher_in_bytes = payload;
	j->hash_start_src_offset_in_bytes = 0;
	j->msg_len_to_hash_in_bytes = CSRTP_RTP_HDR_LEN + payload + 4;
	j->iv = iv;
	j->iv_len_in_bytes = 16;
	j->u.HMAC._hashed_auth_key_xor_ipad = c->rtp_ipad;
	j->u.HMAC._hashed_auth_key_xor_opad = c->rtp_opad;
	j->auth_tag_output = tag;
	j->auth_tag_output_len_in_bytes = 12;
}

#endif
