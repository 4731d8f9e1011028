/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * csrtp_selftest.c - known-answer self-test, run at start-up by the dataplane
 * and by callseal-srtp-selftest: a few RFC 7714 section 16/17 packets in both
 * directions, the RFC 3711 B.3 key derivation, and one AES_CM_128_HMAC_SHA1_80
 * SRTP packet from its master key (libsrtp's srtp_validate). (The full vector
 * sets run in tests/.)
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "csrtp.h"
#include "csrtp_kdf.h"

struct kat {
	const char *name;
	int rtcp;
	uint32_t flags;
	uint32_t srtcp_index;
	const char *key;         /* session key; salt is "Quid pro quo" */
	const char *plain;
	const char *prot;
};

#define SALT "517569642070726f2071756f"
#define RTP_PLAIN "8040f17b8041f8d35501a0b247616c6c696120657374206f6d6e697320646976" \
		  "69736120696e207061727465732074726573"
#define RTCP_PLAIN "81c8000d4d6172734e5450314e545032525450200000042a0000e9304c756e61" \
		   "deadbeefdeadbeefdeadbeefdeadbeefdeadbeef"

static const struct kat kats[] = {
	{ "RFC 7714 16.1.1", 0, 0, 0, "000102030405060708090a0b0c0d0e0f", RTP_PLAIN,
	  "8040f17b8041f8d35501a0b2f24de3a3fb34de6cacba861c9d7e4bcabe633bd50d294e6f"
	  "42a5f47a51c7d19b36de3adf8833899d7f27beb16a9152cf765ee4390cce" },
	{ "RFC 7714 16.2.1", 0, 0, 0,
	  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", RTP_PLAIN,
	  "8040f17b8041f8d35501a0b232b1de78a822fe12ef9f78fa332e33aab18012389a58e2f3"
	  "b50b2a0276ffae0f1ba63799b87b7aa3db36dfffd6b0f9bb7878d7a76c13" },
	{ "RFC 7714 17.1", 1, 0, 0x5d4, "000102030405060708090a0b0c0d0e0f", RTCP_PLAIN,
	  "81c8000d4d61727363e94885dcdab67ca727d7662f6b7e997ff5c0f76c06f32dc676a5f1"
	  "730d6fda4ce09b4686303ded0bb9275bc84aa45896cf4d2fc5abf87245d9eade800005d4" },
	{ "RFC 7714 17.4", 1, CSRTP_F_RTCP_AUTH_ONLY, 0x5d4,
	  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f", RTCP_PLAIN,
	  RTCP_PLAIN "91db4afbfeee5a978fab4393ed2615fe000005d4" },
};

static size_t unhex(const char *s, uint8_t *out, size_t cap)
{
	size_t n = strlen(s) / 2;
	if (n > cap)
		return 0;
	for (size_t i = 0; i < n; i++) {
		char b[3] = { s[2 * i], s[2 * i + 1], 0 };
		out[i] = (uint8_t)strtoul(b, NULL, 16);
	}
	return n;
}

/* Under k: protect plain and expect prot; unprotect prot and expect plain. */
static int round_trip(struct csrtp_engine *e, const struct csrtp_key *k, int rtcp,
		      uint32_t flags, uint32_t srtcp_index, const char *plain_hex,
		      const char *prot_hex)
{
	uint8_t plain[128], prot[160], buf[160];
	struct csrtp_stream tx, rx;

	size_t pl = unhex(plain_hex, plain, sizeof(plain));
	size_t cl = unhex(prot_hex, prot, sizeof(prot));
	if (csrtp_stream_init(&tx, k, 0, flags) != 0 || csrtp_stream_init(&rx, k, 0, flags) != 0)
		return -EIO;
	tx.srtcp_next = srtcp_index;

	memcpy(buf, plain, pl);
	struct csrtp_pkt p = { .data = buf, .len = (uint32_t)pl, .cap = sizeof(buf),
			      .stream = &tx };
	unsigned ok = rtcp ? csrtp_rtcp_protect_burst(e, &p, 1) : csrtp_protect_burst(e, &p, 1);
	if (ok != 1 || p.len != cl || memcmp(buf, prot, cl) != 0)
		return -EIO;

	p = (struct csrtp_pkt){ .data = buf, .len = (uint32_t)cl, .cap = sizeof(buf),
			       .stream = &rx };
	ok = rtcp ? csrtp_rtcp_unprotect_burst(e, &p, 1) : csrtp_unprotect_burst(e, &p, 1);
	if (ok != 1 || p.len != pl || memcmp(buf, plain, pl) != 0)
		return -EIO;
	return 0;
}

/* An RFC 7714 vector: session keys given. */
static int run_kat(struct csrtp_engine *e, const struct kat *t)
{
	uint8_t key[CSRTP_MAX_KEY_LEN], salt[CSRTP_SALT_LEN];
	struct csrtp_key k;
	int ret = -EIO;

	size_t kl = unhex(t->key, key, sizeof(key));
	unhex(SALT, salt, sizeof(salt));
	enum csrtp_profile prof = kl == 16 ? CSRTP_PROFILE_AEAD_AES_128_GCM :
					    CSRTP_PROFILE_AEAD_AES_256_GCM;
	if (csrtp_key_init_session(e, &k, prof, key, salt, key, salt, kl) == 0)
		ret = round_trip(e, &k, t->rtcp, t->flags, t->srtcp_index, t->plain, t->prot);
	csrtp_key_wipe(&k);
	explicit_bzero(key, sizeof(key));
	return ret;
}

/* libsrtp test/srtp_driver.c srtp_validate(): master key and salt of RFC 3711
 * B.3, one RTP packet, AES_CM_128_HMAC_SHA1_80 (HMAC over packet || ROC). */
#define CM_KEY   "e1f97a0d3e018be0d64fa32c06de4139"
#define CM_SALT  "0ec675ad498afeebb6960b3aabe6"
#define CM_PLAIN "800f1234decafbadcafebabeabababababababababababababababab"
#define CM_PROT  "800f1234decafbadcafebabe4e55dc4ce79978d88ca4d215949d2402b78d6acc" \
		 "99ea179b8dbb"

static int run_cm_kat(struct csrtp_engine *e)
{
	uint8_t key[16], salt[CSRTP_CM_SALT_LEN];
	struct csrtp_key k;
	int ret = -EIO;

	unhex(CM_KEY, key, sizeof(key));
	unhex(CM_SALT, salt, sizeof(salt));
	if (csrtp_key_init_salt(e, &k, CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80, key, sizeof(key),
			       salt, sizeof(salt)) == 0)
		ret = round_trip(e, &k, 0, 0, 0, CM_PLAIN, CM_PROT);
	csrtp_key_wipe(&k);
	explicit_bzero(key, sizeof(key));
	return ret;
}

int csrtp_selftest(struct csrtp_engine *e, const char **failed)
{
	/* RFC 3711 appendix B.3: the cipher key derived from the master key. */
	uint8_t mk[16], ms[CSRTP_KDF_SALT_LEN], want[16], got[16];
	unhex("e1f97a0d3e018be0d64fa32c06de4139", mk, sizeof(mk));
	unhex("0ec675ad498afeebb6960b3aabe6", ms, sizeof(ms));
	unhex("c61e7a93744f39ee10734afe3ff7a087", want, sizeof(want));
	if (csrtp_kdf_derive(csrtp_engine_mgr(e), mk, 16, ms, CSRTP_KDF_RTP_ENCRYPTION,
			    got, sizeof(got)) != 0 || memcmp(got, want, 16) != 0) {
		*failed = "RFC 3711 B.3";
		return -EIO;
	}
	for (size_t i = 0; i < sizeof(kats) / sizeof(kats[0]); i++) {
		if (run_kat(e, &kats[i]) != 0) {
			*failed = kats[i].name;
			return -EIO;
		}
	}
	if (run_cm_kat(e) != 0) {
		*failed = "libsrtp srtp_validate AES_CM_128_HMAC_SHA1_80";
		return -EIO;
	}
	*failed = NULL;
	return 0;
}
