/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * csrtp_kdf.h - the SRTP key derivation function (RFC 3711 s. 4.3) with the
 * AES-CM PRF (RFC 3711 s. 4.3.3; AES-256 per RFC 6188), on intel-ipsec-mb.
 */
#ifndef CALLSEAL_CSRTP_KDF_H
#define CALLSEAL_CSRTP_KDF_H

#include <stddef.h>
#include <stdint.h>

#include <intel-ipsec-mb.h>

#define CSRTP_KDF_SALT_LEN 14   /* the PRF input is 112 bits */

/* RFC 3711 s. 4.3.2 labels (RFC 7714 uses 0x00, 0x02, 0x03, 0x05). */
enum csrtp_kdf_label {
	CSRTP_KDF_RTP_ENCRYPTION  = 0x00,
	CSRTP_KDF_RTP_AUTH        = 0x01,
	CSRTP_KDF_RTP_SALT        = 0x02,
	CSRTP_KDF_RTCP_ENCRYPTION = 0x03,
	CSRTP_KDF_RTCP_AUTH       = 0x04,
	CSRTP_KDF_RTCP_SALT       = 0x05,
};

/*
 * AES-CM keystream (RFC 3711 s. 4.1.1): len bytes of AES-CTR under key
 * (16 or 32 bytes) starting at the 128-bit counter block iv.
 * Returns 0, -EINVAL (key length) or -EIO (intel-ipsec-mb error).
 */
__attribute__((warn_unused_result))
int csrtp_kdf_keystream(IMB_MGR *mgr, const uint8_t *key, size_t key_len,
		       const uint8_t iv[16], uint8_t *out, size_t len);

/*
 * One derivation with key derivation rate 0 (r = 0): x = (label || 0^48) XOR
 * master_salt, out = first len bytes of the keystream from x * 2^16.
 * A 96-bit master salt (RFC 7714) is passed padded with two zero octets.
 */
__attribute__((warn_unused_result))
int csrtp_kdf_derive(IMB_MGR *mgr, const uint8_t *master_key, size_t key_len,
		    const uint8_t master_salt[CSRTP_KDF_SALT_LEN], uint8_t label,
		    uint8_t *out, size_t len);

#endif /* CALLSEAL_CSRTP_KDF_H */
