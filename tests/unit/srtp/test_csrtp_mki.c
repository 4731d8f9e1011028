/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Unit tests for the MKI (RFC 3711 s. 3.1) and the key lifetime (RFC 3711
 * s. 9.2, RFC 4568 s. 6.1) in csrtp: for every profile, SRTP and SRTCP, MKI
 * lengths 1-4: where the MKI sits on the wire (the packet without it is the
 * packet protected without MKI, byte for byte: the MKI is not authenticated),
 * the MKI choosing between the stream's keys, an unknown MKI refused without
 * a change to the stream, every single-bit flip of the MKI refused, replays
 * refused; the lifetime reached on send and on receive, and a new key
 * starting a fresh count. Interoperation with libsrtp2's MKI is in
 * test_csrtp_interop.c. Run by test_csrtp.c's main (direct and burst APIs).
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <cmocka.h>

#include "csrtp.h"
#include "test_csrtp_mki.h"

#define BUF 256

static const enum csrtp_profile profs[] = {
	CSRTP_PROFILE_AEAD_AES_128_GCM, CSRTP_PROFILE_AEAD_AES_256_GCM,
	CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80, CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_32,
};
#define NPROFS (sizeof(profs) / sizeof(profs[0]))

static int is_cm(enum csrtp_profile p)
{
	return p == CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80 ||
	       p == CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_32;
}

/* A key of profile p from seed; with an MKI of ml octets from mki_seed. */
static void mkey(struct csrtp_engine *e, struct csrtp_key *k, enum csrtp_profile p,
		 unsigned seed, size_t ml, uint8_t mki_seed)
{
	uint8_t m[CSRTP_MAX_KEY_LEN], salt[CSRTP_MAX_SALT_LEN], mki[CSRTP_MKI_MAX];

	for (size_t i = 0; i < sizeof(m); i++)
		m[i] = (uint8_t)(seed * 7 + i);
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(seed * 13 + i);
	for (size_t i = 0; i < sizeof(mki); i++)
		mki[i] = (uint8_t)(mki_seed + 0x11 * i);
	assert_int_equal(csrtp_key_init_salt(e, k, p, m, csrtp_profile_key_len(p), salt,
					    csrtp_profile_salt_len(p)), 0);
	assert_int_equal(csrtp_key_set_mki(k, mki, ml), 0);
}

/* RTP (rtcp 0) with sequence number seq, or an RTCP sender report. */
static uint32_t plain(uint8_t *b, int rtcp, uint16_t seq)
{
	uint32_t n = rtcp ? 28 : 52;

	memset(b, 0, BUF);
	b[0] = 0x80;
	b[1] = rtcp ? 200 : 96;
	if (rtcp) {
		b[3] = (uint8_t)(n / 4 - 1);
		b[4] = 0xab;
		b[7] = 0x01;
	} else {
		b[2] = (uint8_t)(seq >> 8);
		b[3] = (uint8_t)seq;
		b[8] = 0xab;
		b[11] = 0x01;
	}
	for (uint32_t i = rtcp ? 8 : 12; i < n; i++)
		b[i] = (uint8_t)(seq + i);
	return n;
}

/* One packet through one burst call; its status, *len updated. */
static int xfer(struct csrtp_engine *e, struct csrtp_stream *s, int rtcp, int protect,
		uint8_t *b, uint32_t *len)
{
	struct csrtp_pkt p = { .data = b, .len = *len, .cap = BUF, .stream = s };
	unsigned ok;

	if (protect)
		ok = rtcp ? csrtp_rtcp_protect_burst(e, &p, 1) : csrtp_protect_burst(e, &p, 1);
	else
		ok = rtcp ? csrtp_rtcp_unprotect_burst(e, &p, 1) : csrtp_unprotect_burst(e, &p, 1);
	assert_int_equal(ok, p.status == CSRTP_OK);
	*len = p.len;
	return p.status;
}

/* Where the MKI sits in a protected packet of plaintext length n: RFC 3711
 * s. 3.1 / 3.4 (AES-CM: before the tag, SRTCP after E||index); GCM as
 * libsrtp2 lays it out (RFC 7714 s. 8, 9): after the tag, SRTCP last. */
static uint32_t mki_offset(enum csrtp_profile p, int rtcp, uint32_t n)
{
	if (is_cm(p))
		return rtcp ? n + CSRTP_RTCP_TRAILER_LEN : n;
	return n + CSRTP_TAG_LEN + (rtcp ? CSRTP_RTCP_TRAILER_LEN : 0);
}

static uint32_t overhead(enum csrtp_profile p, int rtcp)
{
	if (rtcp)
		return CSRTP_RTCP_TRAILER_LEN + (is_cm(p) ? CSRTP_CM_RTCP_TAG_LEN : CSRTP_TAG_LEN);
	return (uint32_t)csrtp_profile_tag_len(p);
}

/* fn for every profile, SRTP and SRTCP, every MKI length 1-4. */
typedef void case_fn(struct csrtp_engine *e, enum csrtp_profile prof, int rtcp, size_t ml);

static void every_case(struct csrtp_engine *e, case_fn *fn)
{
	for (size_t pi = 0; pi < NPROFS; pi++)
		for (int rtcp = 0; rtcp <= 1; rtcp++)
			for (size_t ml = 1; ml <= CSRTP_MKI_MAX; ml++)
				fn(e, profs[pi], rtcp, ml);
}

/* The API's limits; a stream's keys share one MKI length. */
static void test_mki_api(void **state)
{
	struct csrtp_engine *e = *state;
	struct csrtp_key k, k2, k3, zero;
	struct csrtp_stream s, before;
	const uint8_t mki[5] = { 1, 2, 3, 4, 5 };

	memset(&zero, 0, sizeof(zero));
	assert_int_equal(csrtp_key_set_mki(&zero, mki, 1), -EINVAL);    /* not made */
	assert_int_equal(csrtp_key_set_lifetime(&zero, 10), -EINVAL);
	assert_int_equal(csrtp_key_set_mki(NULL, mki, 1), -EINVAL);
	mkey(e, &k, profs[0], 1, 0, 0);
	assert_int_equal(k.rtp_life, CSRTP_LIFETIME_RTP_MAX);           /* defaults */
	assert_int_equal(k.rtcp_life, CSRTP_LIFETIME_RTCP_MAX);
	assert_int_equal(k.mki_len, 0);
	assert_int_equal(csrtp_key_set_mki(&k, mki, 5), -EINVAL);
	assert_int_equal(csrtp_key_set_mki(&k, NULL, 2), -EINVAL);
	assert_int_equal(k.mki_len, 0);                                  /* unchanged */
	for (size_t ml = 0; ml <= CSRTP_MKI_MAX; ml++) {
		assert_int_equal(csrtp_key_set_mki(&k, mki, ml), 0);
		assert_int_equal(k.mki_len, ml);
		assert_memory_equal(k.mki, mki, ml);
	}
	assert_int_equal(csrtp_key_set_mki(&k, NULL, 0), 0);
	assert_int_equal(k.mki_len, 0);

	assert_int_equal(csrtp_key_set_lifetime(&k, CSRTP_LIFETIME_RTP_MAX + 1), -EINVAL);
	assert_int_equal(csrtp_key_set_lifetime(&k, UINT64_C(1) << 40), 0);
	assert_int_equal(k.rtp_life, UINT64_C(1) << 40);
	assert_int_equal(k.rtcp_life, CSRTP_LIFETIME_RTCP_MAX);          /* capped */
	assert_int_equal(csrtp_key_set_lifetime(&k, 7), 0);
	assert_int_equal(k.rtp_life, 7);
	assert_int_equal(k.rtcp_life, 7);
	assert_int_equal(csrtp_key_set_lifetime(&k, 0), 0);
	assert_int_equal(k.rtp_life, CSRTP_LIFETIME_RTP_MAX);
	assert_int_equal(k.rtcp_life, CSRTP_LIFETIME_RTCP_MAX);
	csrtp_key_wipe(&k2);
	assert_int_equal(csrtp_key_set_mki(&k2, mki, 1), -EINVAL);      /* wiped */

	/* one MKI length per stream: another is refused, the stream unchanged */
	mkey(e, &k, profs[0], 1, 2, 0x10);
	mkey(e, &k2, profs[0], 2, 3, 0x20);
	mkey(e, &k3, profs[0], 3, 2, 0x30);
	assert_int_equal(csrtp_stream_init(&s, &k, 0, 0), 0);
	memcpy(&before, &s, sizeof(s));
	assert_int_equal(csrtp_stream_rekey(&s, &k2, 100), -EINVAL);
	assert_int_equal(csrtp_stream_pending(&s, &k2, NULL), -EINVAL);
	assert_int_equal(csrtp_stream_pending(&s, &k3, &k2), -EINVAL);
	assert_memory_equal(&s, &before, sizeof(s));
	assert_int_equal(csrtp_stream_pending(&s, &k3, NULL), 0);
	assert_ptr_equal(s.pending[0], &k3);
	assert_int_equal(csrtp_stream_pending(&s, NULL, NULL), 0);
	assert_int_equal(csrtp_stream_rekey(&s, &k3, 100), 0);
	/* a sender may move to another MKI length: it writes each packet's */
	csrtp_stream_sender_rekey(&s, &k2);
	assert_ptr_equal(s.key, &k2);

	assert_string_equal(csrtp_status_str(CSRTP_ERR_BAD_MKI), "unknown MKI");
	assert_string_equal(csrtp_status_str(CSRTP_ERR_KEY_EXPIRED), "key lifetime reached");
	csrtp_key_wipe(&k);
	csrtp_key_wipe(&k2);
	csrtp_key_wipe(&k3);
}

/*
 * Every profile, SRTP and SRTCP, MKI 1-4 octets: the MKI where RFC 3711 (and
 * libsrtp2 for GCM) puts it, the rest of the packet the bytes the same key
 * gives without an MKI (so the MKI is outside the tag), and back.
 */
static void layout_case(struct csrtp_engine *e, enum csrtp_profile prof, int rtcp, size_t ml)
{
	struct csrtp_key k, k0;
	struct csrtp_stream tx, tx0, rx;
	uint8_t b[BUF], b0[BUF], orig[BUF];
	uint32_t n = plain(orig, rtcp, 1000), len = n, len0 = n;

	mkey(e, &k, prof, 5, ml, 0xa0);
	mkey(e, &k0, prof, 5, 0, 0);
	assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&tx0, &k0, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
	memcpy(b, orig, n);
	memcpy(b0, orig, n);
	assert_int_equal(xfer(e, &tx, rtcp, 1, b, &len), CSRTP_OK);
	assert_int_equal(xfer(e, &tx0, rtcp, 1, b0, &len0), CSRTP_OK);
	assert_int_equal(len, n + overhead(prof, rtcp) + ml);
	assert_int_equal(len0, len - ml);
	uint32_t at = mki_offset(prof, rtcp, n);
	assert_memory_equal(b + at, k.mki, ml);
	assert_memory_equal(b, b0, at);
	assert_memory_equal(b + at + ml, b0 + at, len0 - at);

	assert_int_equal(xfer(e, &rx, rtcp, 0, b, &len), CSRTP_OK);
	assert_int_equal(len, n);
	assert_memory_equal(b, orig, n);
	csrtp_key_wipe(&k);
	csrtp_key_wipe(&k0);
}

static void test_mki_layout(void **state)
{
	every_case(*state, layout_case);
}

/*
 * The MKI picks the key: a receiver holding A (current) and B (pending)
 * takes a burst that mixes packets under both, SRTP and SRTCP; a packet
 * under B that carries A's MKI (the wrong key named) is refused, not tried
 * under B. Then <From,To> with MKIs: the previous key below From only.
 */
static void test_mki_selects_key(void **state)
{
	struct csrtp_engine *e = *state;

	for (size_t pi = 0; pi < NPROFS; pi++) {
		for (size_t ml = 1; ml <= CSRTP_MKI_MAX; ml++) {
			struct csrtp_key a, b;
			struct csrtp_stream txa, txb, rx;
			uint8_t buf[8][BUF], orig[8][BUF];
			uint32_t n[8];
			struct csrtp_pkt p[8];

			mkey(e, &a, profs[pi], 21, ml, 0x01);
			mkey(e, &b, profs[pi], 22, ml, 0x02);
			assert_int_equal(csrtp_stream_init(&txa, &a, 0, 0), 0);
			assert_int_equal(csrtp_stream_init(&txb, &b, 0, 0), 0);
			assert_int_equal(csrtp_stream_init(&rx, &a, 0, 0), 0);
			assert_int_equal(csrtp_stream_pending(&rx, &b, NULL), 0);
			/* SRTP 0-3 under A then 4-7 under B (sender switches at 4),
			 * received in one burst, B's first */
			for (int i = 0; i < 8; i++) {
				n[i] = plain(orig[i], 0, (uint16_t)(10 + i));
				memcpy(buf[i], orig[i], n[i]);
				if (i == 4)
					csrtp_stream_sender_rekey(&txa, &b);
				assert_int_equal(xfer(e, &txa, 0, 1, buf[i], &n[i]), CSRTP_OK);
			}
			for (int i = 0; i < 8; i++)
				p[i] = (struct csrtp_pkt){ .data = buf[(i + 4) % 8],
							  .len = n[(i + 4) % 8], .cap = BUF,
							  .stream = &rx };
			assert_int_equal(csrtp_unprotect_burst(e, p, 8), 8);
			for (int i = 0; i < 8; i++)
				assert_memory_equal(buf[i], orig[i], p[(i + 4) % 8].len);
			assert_ptr_equal(rx.key, &b);            /* switched by B's MKI */
			assert_ptr_equal(rx.prev_key, &a);
			assert_int_equal(rx.key_from, 14);

			/* SRTCP under either key (senders with indexes 0-3 under
			 * A, 100-103 under B), one burst: the MKI says which key;
			 * SRTCP switches no key */
			struct csrtp_stream ta, tb, rx2;
			assert_int_equal(csrtp_stream_init(&ta, &a, 0, 0), 0);
			assert_int_equal(csrtp_stream_init(&tb, &b, 0, 0), 0);
			assert_int_equal(csrtp_stream_init(&rx2, &a, 0, 0), 0);
			assert_int_equal(csrtp_stream_pending(&rx2, &b, NULL), 0);
			tb.srtcp_next = 100;
			for (int i = 0; i < 8; i++) {
				n[i] = plain(orig[i], 1, (uint16_t)i);
				memcpy(buf[i], orig[i], n[i]);
				assert_int_equal(xfer(e, i % 2 ? &tb : &ta, 1, 1, buf[i], &n[i]),
						 CSRTP_OK);
				p[i] = (struct csrtp_pkt){ .data = buf[i], .len = n[i], .cap = BUF,
							  .stream = &rx2 };
			}
			assert_int_equal(csrtp_rtcp_unprotect_burst(e, p, 8), 8);
			for (int i = 0; i < 8; i++) {
				assert_int_equal(p[i].len, 28);
				assert_memory_equal(buf[i], orig[i], 28);
			}
			assert_ptr_equal(rx2.key, &a);

			/* a packet under B naming A: refused (A fails), B not tried */
			struct csrtp_stream rx3;
			assert_int_equal(csrtp_stream_init(&rx3, &a, 0, 0), 0);
			assert_int_equal(csrtp_stream_pending(&rx3, &b, NULL), 0);
			n[0] = plain(orig[0], 0, 30);
			memcpy(buf[0], orig[0], n[0]);
			assert_int_equal(xfer(e, &txb, 0, 1, buf[0], &n[0]), CSRTP_OK);
			uint32_t at = mki_offset(profs[pi], 0, 52);
			memcpy(buf[0] + at, a.mki, ml);
			assert_int_equal(xfer(e, &rx3, 0, 0, buf[0], &n[0]), CSRTP_ERR_AUTH);
			assert_ptr_equal(rx3.key, &a);

			/* <From,To> (csrtp_stream_rekey) with MKIs: A below From,
			 * B from it; A's MKI at or past From is refused */
			struct csrtp_stream s1, r1;
			assert_int_equal(csrtp_stream_init(&s1, &a, 0, 0), 0);
			assert_int_equal(csrtp_stream_init(&r1, &a, 0, 0), 0);
			assert_int_equal(csrtp_stream_rekey(&s1, &b, 3), 0);
			assert_int_equal(csrtp_stream_rekey(&r1, &b, 3), 0);
			for (int i = 0; i < 6; i++) {
				n[i] = plain(orig[i], 0, (uint16_t)i);
				memcpy(buf[i], orig[i], n[i]);
				assert_int_equal(xfer(e, &s1, 0, 1, buf[i], &n[i]), CSRTP_OK);
				assert_memory_equal(buf[i] + mki_offset(profs[pi], 0, 52),
						    i < 3 ? a.mki : b.mki, ml);
			}
			for (int i = 5; i >= 0; i--)
				assert_int_equal(xfer(e, &r1, 0, 0, buf[i], &n[i]), CSRTP_OK);
			struct csrtp_stream s2;
			assert_int_equal(csrtp_stream_init(&s2, &a, 0, 0), 0);
			n[0] = plain(orig[0], 0, 6);
			assert_int_equal(xfer(e, &s2, 0, 1, orig[0], &n[0]), CSRTP_OK);
			assert_int_equal(xfer(e, &r1, 0, 0, orig[0], &n[0]), CSRTP_ERR_AUTH);
			csrtp_key_wipe(&a);
			csrtp_key_wipe(&b);
		}
	}
}

/*
 * An MKI that names none of the stream's keys: refused as CSRTP_ERR_BAD_MKI,
 * the stream exactly as it was; so is every single-bit flip of the MKI (a
 * flip that names another key of the stream fails under it); the genuine
 * packet is taken afterwards, once (its copy is a replay).
 */
static void unknown_case(struct csrtp_engine *e, enum csrtp_profile prof, int rtcp, size_t ml)
{
	struct csrtp_key a, b;
	struct csrtp_stream tx, rx, before;
	uint8_t w[BUF], t[BUF], orig[BUF];
	uint32_t n = plain(orig, rtcp, 500), len;

	mkey(e, &a, prof, 31, ml, 0x40);
	/* B's MKI is A's with its lowest bit flipped */
	mkey(e, &b, prof, 32, ml, 0x40);
	b.mki[ml - 1] ^= 1;
	assert_int_equal(csrtp_stream_init(&tx, &a, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &a, 0, 0), 0);
	assert_int_equal(csrtp_stream_pending(&rx, &b, NULL), 0);
	/* something accepted first: a started stream */
	len = plain(w, rtcp, 499);
	assert_int_equal(xfer(e, &tx, rtcp, 1, w, &len), CSRTP_OK);
	assert_int_equal(xfer(e, &rx, rtcp, 0, w, &len), CSRTP_OK);
	memcpy(w, orig, n);
	len = n;
	assert_int_equal(xfer(e, &tx, rtcp, 1, w, &len), CSRTP_OK);
	memcpy(&before, &rx, sizeof(rx));

	uint32_t at = mki_offset(prof, rtcp, n);
	uint32_t bad = 0, auth = 0;
	for (uint32_t bit = 0; bit < 8 * ml; bit++) {
		uint32_t l = len;
		memcpy(t, w, len);
		t[at + bit / 8] ^= (uint8_t)(1u << (bit % 8));
		int st = xfer(e, &rx, rtcp, 0, t, &l);
		if (st == CSRTP_ERR_BAD_MKI)
			bad++;
		else if (st == CSRTP_ERR_AUTH)
			auth++;
		else
			fail_msg("%s rtcp %d mki %zu bit %u: %s", csrtp_profile_name(prof), rtcp,
				 ml, bit, csrtp_status_str(st));
		assert_memory_equal(&rx, &before, sizeof(rx));
	}
	assert_int_equal(auth, 1);           /* the flip naming B */
	assert_int_equal(bad, 8 * ml - 1);
	/* no key's MKI at all */
	uint32_t l = len;
	memcpy(t, w, len);
	memset(t + at, 0xee, ml);
	assert_int_equal(xfer(e, &rx, rtcp, 0, t, &l), CSRTP_ERR_BAD_MKI);
	assert_memory_equal(&rx, &before, sizeof(rx));

	memcpy(t, w, len);
	l = len;
	assert_int_equal(xfer(e, &rx, rtcp, 0, w, &len), CSRTP_OK);
	assert_memory_equal(w, orig, n);
	assert_int_equal(xfer(e, &rx, rtcp, 0, t, &l), CSRTP_ERR_REPLAY);
	csrtp_key_wipe(&a);
	csrtp_key_wipe(&b);
}

static void test_mki_unknown_and_flips(void **state)
{
	every_case(*state, unknown_case);
}

/* Every single-bit flip anywhere in an MKI packet is refused (AES-CM's tag
 * does not cover the MKI: a flipped MKI must name no key). */
static void test_mki_every_bit_flip(void **state)
{
	struct csrtp_engine *e = *state;

	for (size_t pi = 0; pi < NPROFS; pi++) {
		for (int rtcp = 0; rtcp <= 1; rtcp++) {
			struct csrtp_key k;
			struct csrtp_stream tx, rx;
			uint8_t w[BUF], t[BUF];
			uint32_t len = plain(w, rtcp, 7);

			mkey(e, &k, profs[pi], 41, 3, 0x77);
			assert_int_equal(csrtp_stream_init(&tx, &k, 0, 0), 0);
			assert_int_equal(xfer(e, &tx, rtcp, 1, w, &len), CSRTP_OK);
			for (uint32_t bit = 0; bit < 8 * len; bit++) {
				uint32_t l = len;
				assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
				memcpy(t, w, len);
				t[bit / 8] ^= (uint8_t)(1u << (bit % 8));
				if (xfer(e, &rx, rtcp, 0, t, &l) == CSRTP_OK)
					fail_msg("profile %zu rtcp %d: bit %u flipped accepted",
						 pi, rtcp, bit);
			}
			assert_int_equal(csrtp_stream_init(&rx, &k, 0, 0), 0);
			assert_int_equal(xfer(e, &rx, rtcp, 0, w, &len), CSRTP_OK);
			csrtp_key_wipe(&k);
		}
	}
}

/*
 * Lifetime on send: with a lifetime of 5 packets, a burst of 8 gets 5
 * through and 3 refused as CSRTP_ERR_KEY_EXPIRED, untouched; a new key
 * (sender rekey) starts a fresh count and the index goes on. SRTP and SRTCP
 * are counted apart.
 */
static void test_lifetime_send(void **state)
{
	struct csrtp_engine *e = *state;

	for (size_t pi = 0; pi < NPROFS; pi++) {
		for (int rtcp = 0; rtcp <= 1; rtcp++) {
			struct csrtp_key a, b;
			struct csrtp_stream tx, rx;
			uint8_t buf[8][BUF], orig[8][BUF];
			struct csrtp_pkt p[8];

			mkey(e, &a, profs[pi], 51, 1, 0x51);
			mkey(e, &b, profs[pi], 52, 1, 0x52);
			assert_int_equal(csrtp_key_set_lifetime(&a, 5), 0);
			assert_int_equal(csrtp_key_set_lifetime(&b, 5), 0);
			assert_int_equal(csrtp_stream_init(&tx, &a, 0, 0), 0);
			assert_int_equal(csrtp_stream_init(&rx, &a, 0, 0), 0);
			assert_int_equal(csrtp_stream_pending(&rx, &b, NULL), 0);
			/* the other kind first: it does not count against this one */
			for (int i = 0; i < 5; i++) {
				uint32_t l = plain(buf[0], !rtcp, (uint16_t)(100 + i));
				assert_int_equal(xfer(e, &tx, !rtcp, 1, buf[0], &l), CSRTP_OK);
			}
			for (int i = 0; i < 8; i++) {
				uint32_t l = plain(orig[i], rtcp, (uint16_t)i);
				memcpy(buf[i], orig[i], l);
				p[i] = (struct csrtp_pkt){ .data = buf[i], .len = l, .cap = BUF,
							  .stream = &tx };
			}
			unsigned ok = rtcp ? csrtp_rtcp_protect_burst(e, p, 8) :
					     csrtp_protect_burst(e, p, 8);
			assert_int_equal(ok, 5);
			for (int i = 0; i < 8; i++) {
				assert_int_equal(p[i].status, i < 5 ? CSRTP_OK : CSRTP_ERR_KEY_EXPIRED);
				if (i >= 5) {
					assert_int_equal(p[i].len, rtcp ? 28 : 52);
					assert_memory_equal(buf[i], orig[i], p[i].len);
				}
			}
			/* a new key: 5 more, the index going on */
			csrtp_stream_sender_rekey(&tx, &b);
			for (int i = 5; i < 8; i++) {
				assert_int_equal(xfer(e, &tx, rtcp, 1, buf[i], &p[i].len), CSRTP_OK);
				if (!rtcp)
					assert_int_equal(tx.rtp.top, i);
			}
			for (int i = 0; i < 8; i++) {
				uint32_t l = p[i].len;
				assert_int_equal(xfer(e, &rx, rtcp, 0, buf[i], &l), CSRTP_OK);
				assert_memory_equal(buf[i], orig[i], l);
			}
			for (int i = 0; i < 2; i++) {
				uint32_t l = plain(buf[0], rtcp, (uint16_t)(8 + i));
				assert_int_equal(xfer(e, &tx, rtcp, 1, buf[0], &l), CSRTP_OK);
			}
			uint32_t l = plain(buf[0], rtcp, 10);
			assert_int_equal(xfer(e, &tx, rtcp, 1, buf[0], &l), CSRTP_ERR_KEY_EXPIRED);
			csrtp_key_wipe(&a);
			csrtp_key_wipe(&b);
		}
	}
}

/*
 * Lifetime on receive: the receiver's copy of the key allows 3 packets: a
 * burst of 5 gets 3 through and 2 refused, the window not moved by them;
 * the pending key the sender moves to is taken with a fresh count.
 * <From,To>: the new key counts afresh, the old one's count goes on below
 * From. Without MKI too (the lifetime does not need one).
 */
static void test_lifetime_receive(void **state)
{
	struct csrtp_engine *e = *state;

	for (size_t pi = 0; pi < NPROFS; pi++) {
		for (size_t ml = 0; ml <= 2; ml += 2) {
			for (int rtcp = 0; rtcp <= 1; rtcp++) {
				struct csrtp_key ta, tb, ra, rb;
				struct csrtp_stream tx, rx;
				uint8_t buf[8][BUF];
				struct csrtp_pkt p[8];

				mkey(e, &ta, profs[pi], 61, ml, 0x61);
				mkey(e, &tb, profs[pi], 62, ml, 0x62);
				mkey(e, &ra, profs[pi], 61, ml, 0x61);
				mkey(e, &rb, profs[pi], 62, ml, 0x62);
				assert_int_equal(csrtp_key_set_lifetime(&ra, 3), 0);
				assert_int_equal(csrtp_key_set_lifetime(&rb, 3), 0);
				assert_int_equal(csrtp_stream_init(&tx, &ta, 0, 0), 0);
				assert_int_equal(csrtp_stream_init(&rx, &ra, 0, 0), 0);
				for (int i = 0; i < 8; i++) {
					if (i == 5)
						csrtp_stream_sender_rekey(&tx, &tb);
					uint32_t l = plain(buf[i], rtcp, (uint16_t)i);
					assert_int_equal(xfer(e, &tx, rtcp, 1, buf[i], &l), CSRTP_OK);
					p[i] = (struct csrtp_pkt){ .data = buf[i], .len = l,
								  .cap = BUF, .stream = &rx };
				}
				unsigned ok = rtcp ? csrtp_rtcp_unprotect_burst(e, p, 5) :
						     csrtp_unprotect_burst(e, p, 5);
				assert_int_equal(ok, 3);
				for (int i = 0; i < 5; i++)
					assert_int_equal(p[i].status,
							 i < 3 ? CSRTP_OK : CSRTP_ERR_KEY_EXPIRED);
				struct csrtp_window *w = rtcp ? &rx.rtcp : &rx.rtp;
				assert_int_equal(w->top, 2);
				/* the sender's next key: a fresh count of 3 */
				assert_int_equal(csrtp_stream_pending(&rx, &rb, NULL), 0);
				if (rtcp) {
					/* SRTCP switches no key: the new key's
					 * packets count apart from the old one's */
					ok = csrtp_rtcp_unprotect_burst(e, p + 5, 3);
					assert_int_equal(ok, 3);
				} else {
					ok = csrtp_unprotect_burst(e, p + 5, 3);
					assert_int_equal(ok, 3);
					assert_ptr_equal(rx.key, &rb);
				}
				csrtp_key_wipe(&ta);
				csrtp_key_wipe(&tb);
				csrtp_key_wipe(&ra);
				csrtp_key_wipe(&rb);
			}
		}
	}
}

/* <From,To> on a sender: the new key counts from From, the old key's count
 * goes on for the packets below From. */
static void test_lifetime_rekey_from(void **state)
{
	struct csrtp_engine *e = *state;

	for (size_t pi = 0; pi < NPROFS; pi++) {
		struct csrtp_key a, b;
		struct csrtp_stream tx;
		uint8_t buf[BUF];

		mkey(e, &a, profs[pi], 71, 4, 0x71);
		mkey(e, &b, profs[pi], 72, 4, 0x72);
		assert_int_equal(csrtp_key_set_lifetime(&a, 4), 0);
		assert_int_equal(csrtp_key_set_lifetime(&b, 2), 0);
		assert_int_equal(csrtp_stream_init(&tx, &a, 0, 0), 0);
		for (int i = 0; i < 3; i++) {
			uint32_t l = plain(buf, 0, (uint16_t)i);
			assert_int_equal(xfer(e, &tx, 0, 1, buf, &l), CSRTP_OK);
		}
		assert_int_equal(csrtp_stream_rekey(&tx, &b, 10), 0);
		/* index 3: A's 4th packet; 4: A's 5th, past its lifetime */
		uint32_t l = plain(buf, 0, 3);
		assert_int_equal(xfer(e, &tx, 0, 1, buf, &l), CSRTP_OK);
		l = plain(buf, 0, 4);
		assert_int_equal(xfer(e, &tx, 0, 1, buf, &l), CSRTP_ERR_KEY_EXPIRED);
		/* from 10 on: B, 2 packets */
		for (int i = 10; i < 12; i++) {
			l = plain(buf, 0, (uint16_t)i);
			assert_int_equal(xfer(e, &tx, 0, 1, buf, &l), CSRTP_OK);
			assert_memory_equal(buf + mki_offset(profs[pi], 0, 52), b.mki, 4);
		}
		l = plain(buf, 0, 12);
		assert_int_equal(xfer(e, &tx, 0, 1, buf, &l), CSRTP_ERR_KEY_EXPIRED);
		csrtp_key_wipe(&a);
		csrtp_key_wipe(&b);
	}
}

/* Protect one packet (RTP seq or an RTCP report) on tx into b; its length. */
static uint32_t sent(struct csrtp_engine *e, struct csrtp_stream *tx, int rtcp, uint16_t seq,
		     uint8_t *b)
{
	uint32_t l = plain(b, rtcp, seq);

	assert_int_equal(xfer(e, tx, rtcp, 1, b, &l), CSRTP_OK);
	return l;
}

/* Receive a copy of b (length l) on rx: its status. */
static int recv_copy(struct csrtp_engine *e, struct csrtp_stream *rx, int rtcp,
		     const uint8_t *b, uint32_t l)
{
	uint8_t t[BUF];

	memcpy(t, b, l);
	return xfer(e, rx, rtcp, 0, t, &l);
}

/*
 * Two keys with one MKI value (SDES peers often give every new key MKI 1):
 * the packet's MKI names both, so both are tried, in the order without an
 * MKI. A pending B switches the stream at the first SRTP packet under it;
 * <From,To> with B next: A below From, B from it (received in reverse); SRTCP
 * under either key; replays refused under either; a third MKI value: BAD_MKI.
 */
static void shared_case(struct csrtp_engine *e, enum csrtp_profile prof, int rtcp, size_t ml)
{
	struct csrtp_key a, b;
	struct csrtp_stream tx, rx;
	uint8_t w[10][BUF];
	uint32_t l[10];

	mkey(e, &a, prof, 81, ml, 0x01);
	mkey(e, &b, prof, 82, ml, 0x01);
	assert_memory_equal(a.mki, b.mki, ml);
	/* pending: the sender moves from A to B at its 5th packet */
	assert_int_equal(csrtp_stream_init(&tx, &a, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&rx, &a, 0, 0), 0);
	assert_int_equal(csrtp_stream_pending(&rx, &b, NULL), 0);
	for (int i = 0; i < 10; i++) {
		if (i == 4)
			csrtp_stream_sender_rekey(&tx, &b);
		l[i] = sent(e, &tx, rtcp, (uint16_t)(200 + i), w[i]);
	}
	for (int i = 0; i < 10; i++) {
		int st = recv_copy(e, &rx, rtcp, w[i], l[i]);
		if (st != CSRTP_OK)
			fail_msg("%s rtcp %d mki %zu: packet %d: %s", csrtp_profile_name(prof),
				 rtcp, ml, i, csrtp_status_str(st));
	}
	if (!rtcp) {
		assert_ptr_equal(rx.key, &b);            /* switched */
		assert_int_equal(rx.key_from, 204);
	}
	for (int i = 0; i < 10; i++)                 /* replays, under A and B */
		assert_int_equal(recv_copy(e, &rx, rtcp, w[i], l[i]), CSRTP_ERR_REPLAY);
	/* an MKI naming neither */
	uint8_t t[BUF];
	memcpy(t, w[9], l[9]);
	t[mki_offset(prof, rtcp, rtcp ? 28 : 52)] ^= 0x80;      /* plain()'s lengths */
	uint32_t tl = l[9];
	assert_int_equal(xfer(e, &rx, rtcp, 0, t, &tl), CSRTP_ERR_BAD_MKI);

	/* <From,To>: B from index 3 on both sides, received newest first */
	struct csrtp_stream s1, r1;
	assert_int_equal(csrtp_stream_init(&s1, &a, 0, 0), 0);
	assert_int_equal(csrtp_stream_init(&r1, &a, 0, 0), 0);
	assert_int_equal(csrtp_stream_rekey(&s1, &b, 3), 0);
	assert_int_equal(csrtp_stream_rekey(&r1, &b, 3), 0);
	for (int i = 0; i < 6; i++)
		l[i] = sent(e, &s1, rtcp, (uint16_t)i, w[i]);
	for (int i = 5; i >= 0; i--)
		assert_int_equal(recv_copy(e, &r1, rtcp, w[i], l[i]), CSRTP_OK);
	for (int i = 0; i < 6; i++)
		assert_int_equal(recv_copy(e, &r1, rtcp, w[i], l[i]), CSRTP_ERR_REPLAY);
	if (!rtcp) {
		/* A at or past From: refused, though its MKI names a held key */
		struct csrtp_stream s2;
		assert_int_equal(csrtp_stream_init(&s2, &a, 0, 0), 0);
		l[0] = sent(e, &s2, 0, 6, w[0]);
		assert_int_equal(recv_copy(e, &r1, 0, w[0], l[0]), CSRTP_ERR_AUTH);
	}
	csrtp_key_wipe(&a);
	csrtp_key_wipe(&b);
}

static void test_mki_shared_value(void **state)
{
	every_case(*state, shared_case);
}

/*
 * The lifetime is counted per key, whatever the key's place in the stream
 * (current, previous, pending): (a) A used up by 3 SRTCP packets, then
 * <From,To> to B and C pending: C's count is its own (3 more); (b) B
 * pending takes 3 SRTCP packets, then SRTP switches the stream to B: B's
 * SRTCP count goes on (the 4th is refused), and the old key's place is
 * cleared when it is released; (c) a pending key replaced by another: the
 * new one counts from 0, the same one handed again keeps its count. With
 * and without MKI.
 */
static void test_lifetime_per_key(void **state)
{
	struct csrtp_engine *e = *state;

	for (size_t pi = 0; pi < NPROFS; pi++) {
		for (size_t ml = 0; ml <= 1; ml++) {
			struct csrtp_key a, b, c, sa, sb, sc;      /* receiver's, sender's */
			struct csrtp_stream ta, tb, tc, rx;
			uint8_t w[BUF];
			uint32_t l;

			mkey(e, &a, profs[pi], 91, ml, 0x91);
			mkey(e, &b, profs[pi], 92, ml, 0x92);
			mkey(e, &c, profs[pi], 93, ml, 0x93);
			mkey(e, &sa, profs[pi], 91, ml, 0x91);
			mkey(e, &sb, profs[pi], 92, ml, 0x92);
			mkey(e, &sc, profs[pi], 93, ml, 0x93);
			assert_int_equal(csrtp_key_set_lifetime(&a, 3), 0);
			assert_int_equal(csrtp_key_set_lifetime(&b, 3), 0);
			assert_int_equal(csrtp_key_set_lifetime(&c, 3), 0);
			assert_int_equal(csrtp_stream_init(&ta, &sa, 0, 0), 0);
			assert_int_equal(csrtp_stream_init(&tb, &sb, 0, 0), 0);
			assert_int_equal(csrtp_stream_init(&tc, &sc, 0, 0), 0);

			/* (a) */
			assert_int_equal(csrtp_stream_init(&rx, &a, 0, 0), 0);
			for (int i = 0; i < 3; i++) {
				l = sent(e, &ta, 1, 0, w);
				assert_int_equal(recv_copy(e, &rx, 1, w, l), CSRTP_OK);
			}
			assert_int_equal(csrtp_stream_rekey(&rx, &b, 1000), 0);
			assert_int_equal(csrtp_stream_pending(&rx, &c, NULL), 0);
			tc.srtcp_next = 10;
			for (int i = 0; i < 4; i++) {
				l = sent(e, &tc, 1, 0, w);
				assert_int_equal(recv_copy(e, &rx, 1, w, l),
						 i < 3 ? CSRTP_OK : CSRTP_ERR_KEY_EXPIRED);
			}

			/* (b) */
			assert_int_equal(csrtp_stream_init(&rx, &a, 0, 0), 0);
			assert_int_equal(csrtp_stream_pending(&rx, &b, NULL), 0);
			l = sent(e, &ta, 0, 50, w);
			assert_int_equal(recv_copy(e, &rx, 0, w, l), CSRTP_OK);
			tb.srtcp_next = 20;
			for (int i = 0; i < 3; i++) {
				l = sent(e, &tb, 1, 0, w);
				assert_int_equal(recv_copy(e, &rx, 1, w, l), CSRTP_OK);
			}
			l = sent(e, &tb, 0, 51, w);
			assert_int_equal(recv_copy(e, &rx, 0, w, l), CSRTP_OK);
			assert_ptr_equal(rx.key, &b);
			for (int i = 0; i < 3; i++) {
				l = sent(e, &tb, 1, 0, w);
				assert_int_equal(recv_copy(e, &rx, 1, w, l), CSRTP_ERR_KEY_EXPIRED);
			}
			/* B's SRTP count is its own: 2 more */
			for (int i = 0; i < 3; i++) {
				l = sent(e, &tb, 0, (uint16_t)(52 + i), w);
				assert_int_equal(recv_copy(e, &rx, 0, w, l),
						 i < 2 ? CSRTP_OK : CSRTP_ERR_KEY_EXPIRED);
			}
			/* A's place, released a window past From, is cleared */
			assert_ptr_equal(rx.prev_key, &a);
			assert_int_equal(rx.rtp_used[1], 1);
			l = sent(e, &tb, 0, (uint16_t)(51 + rx.rtp.size), w);
			assert_int_equal(recv_copy(e, &rx, 0, w, l), CSRTP_ERR_KEY_EXPIRED);
			assert_ptr_equal(rx.prev_key, &a);       /* refused: nothing moved */
			assert_int_equal(csrtp_key_set_lifetime(&b, 0), 0);
			assert_int_equal(recv_copy(e, &rx, 0, w, l), CSRTP_OK);
			assert_null(rx.prev_key);
			assert_int_equal(rx.rtp_used[1], 0);
			assert_int_equal(rx.rtcp_used[1], 0);

			/* (c) pending B takes 3 SRTCP packets, then C replaces
			 * it (the sender never used B): C's count is its own */
			assert_int_equal(csrtp_stream_init(&rx, &a, 0, 0), 0);
			assert_int_equal(csrtp_stream_pending(&rx, &b, NULL), 0);
			assert_int_equal(csrtp_key_set_lifetime(&b, 3), 0);
			tb.srtcp_next = 40;
			for (int i = 0; i < 3; i++) {
				l = sent(e, &tb, 1, 0, w);
				assert_int_equal(recv_copy(e, &rx, 1, w, l), CSRTP_OK);
			}
			assert_int_equal(csrtp_stream_pending(&rx, &c, NULL), 0);
			tc.srtcp_next = 60;
			for (int i = 0; i < 4; i++) {
				l = sent(e, &tc, 1, 0, w);
				assert_int_equal(recv_copy(e, &rx, 1, w, l),
						 i < 3 ? CSRTP_OK : CSRTP_ERR_KEY_EXPIRED);
			}
			/* handing the same pending key again keeps its count */
			assert_int_equal(csrtp_stream_pending(&rx, &c, NULL), 0);
			l = sent(e, &tc, 1, 0, w);
			assert_int_equal(recv_copy(e, &rx, 1, w, l), CSRTP_ERR_KEY_EXPIRED);
			csrtp_key_wipe(&a);
			csrtp_key_wipe(&b);
			csrtp_key_wipe(&c);
			csrtp_key_wipe(&sa);
			csrtp_key_wipe(&sb);
			csrtp_key_wipe(&sc);
		}
	}
}

const struct CMUnitTest csrtp_mki_tests[] = {
	cmocka_unit_test(test_mki_api),
	cmocka_unit_test(test_mki_layout),
	cmocka_unit_test(test_mki_selects_key),
	cmocka_unit_test(test_mki_unknown_and_flips),
	cmocka_unit_test(test_mki_every_bit_flip),
	cmocka_unit_test(test_lifetime_send),
	cmocka_unit_test(test_lifetime_receive),
	cmocka_unit_test(test_lifetime_rekey_from),
	cmocka_unit_test(test_mki_shared_value),
	cmocka_unit_test(test_lifetime_per_key),
};
const size_t csrtp_mki_ntests = sizeof(csrtp_mki_tests) / sizeof(csrtp_mki_tests[0]);
