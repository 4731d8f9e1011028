/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for classify.c: Ethernet/VLAN/IPv4/IPv6/UDP parsing and the
 * RFC 7983 / RFC 5761 demultiplexing, on hand-built frames. Every truncation of
 * every frame is classified from an exact-size heap copy, so the sanitizer
 * build catches any read past the end. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "classify.h"

static const struct classify_cfg cfg = { .media_lo = 10000, .media_hi = 20000 };

struct fopt {
	int ipv6, vlan, ip_opts_words, v6_ext, frag;
	uint16_t sport, dport;
	const uint8_t *payload;
	uint32_t plen;
};

static uint32_t build(uint8_t *f, const struct fopt *o)
{
	uint32_t n = 0;
	memset(f, 0, 12);                 /* MACs */
	n = 12;
	if (o->vlan) {
		f[n++] = 0x81; f[n++] = 0x00; f[n++] = 0x00; f[n++] = 0x07;
	}
	uint32_t l3 = n + 2;
	uint32_t udp_len = 8 + o->plen;
	if (!o->ipv6) {
		f[n++] = 0x08; f[n++] = 0x00;
		uint32_t ihl = 5 + (uint32_t)o->ip_opts_words;
		uint32_t tot = ihl * 4 + udp_len;
		f[n++] = (uint8_t)(0x40 | ihl); f[n++] = 0;
		f[n++] = (uint8_t)(tot >> 8); f[n++] = (uint8_t)tot;
		f[n++] = 0; f[n++] = 1;
		f[n++] = o->frag ? 0x20 : 0x40; f[n++] = 0;     /* MF or DF */
		f[n++] = 64; f[n++] = 17; f[n++] = 0; f[n++] = 0;
		uint8_t src[4] = { 10, 0, 0, 1 }, dst[4] = { 10, 0, 0, 2 };
		memcpy(f + n, src, 4); n += 4;
		memcpy(f + n, dst, 4); n += 4;
		for (int i = 0; i < 4 * o->ip_opts_words; i++)
			f[n++] = 1;                           /* NOP options */
	} else {
		f[n++] = 0x86; f[n++] = 0xdd;
		uint32_t ext = o->v6_ext ? 8 : 0;
		uint32_t pl = udp_len + ext + (o->frag ? 8 : 0);
		f[n++] = 0x60; f[n++] = 0; f[n++] = 0; f[n++] = 0;
		f[n++] = (uint8_t)(pl >> 8); f[n++] = (uint8_t)pl;
		f[n++] = o->v6_ext ? 60 : (o->frag ? 44 : 17); f[n++] = 64;
		for (int i = 0; i < 16; i++) f[n++] = (uint8_t)(0x20 + i);   /* src */
		for (int i = 0; i < 16; i++) f[n++] = (uint8_t)(0x40 + i);   /* dst */
		if (o->v6_ext) {                      /* destination options, 8 bytes */
			f[n++] = o->frag ? 44 : 17; f[n++] = 0;
			f[n++] = 1; f[n++] = 4; f[n++] = 0; f[n++] = 0; f[n++] = 0; f[n++] = 0;
		}
		if (o->frag) {
			f[n++] = 17; f[n++] = 0; f[n++] = 0; f[n++] = 1;
			f[n++] = 0; f[n++] = 0; f[n++] = 0; f[n++] = 9;
		}
	}
	(void)l3;
	f[n++] = (uint8_t)(o->sport >> 8); f[n++] = (uint8_t)o->sport;
	f[n++] = (uint8_t)(o->dport >> 8); f[n++] = (uint8_t)o->dport;
	f[n++] = (uint8_t)(udp_len >> 8); f[n++] = (uint8_t)udp_len;
	f[n++] = 0; f[n++] = 0;
	memcpy(f + n, o->payload, o->plen);
	return n + o->plen;
}

static int classify_copy(const uint8_t *f, uint32_t len, enum classify_dir dir,
			 struct classify_result *r)
{
	uint8_t *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, f, len);
	int k = classify_frame(&cfg, dir, copy, len, r);
	free(copy);
	return k;
}

static const uint8_t rtp[] = { 0x80, 0x60, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4, 0xaa, 0xbb };
static const uint8_t rtp_marker_pt127[] = { 0x80, 0xff, 0, 1, 0, 0, 0, 0, 1, 2, 3, 4 };
static const uint8_t rtcp_sr[] = { 0x80, 200, 0, 1, 1, 2, 3, 4 };
static const uint8_t rtcp_rr_padded[] = { 0xa0, 201, 0, 1, 1, 2, 3, 4 };
static const uint8_t stun[] = { 0x00, 0x01, 0x00, 0x00, 0x21, 0x12, 0xa4, 0x42 };
static const uint8_t dtls[] = { 22, 0xfe, 0xfd, 0, 0 };
static const uint8_t zrtp[] = { 16, 0, 0, 0 };
static const uint8_t turn_ch[] = { 0x40, 0x00, 0x00, 0x04 };

/* Every combination of layer options classifies each payload the same way,
 * and the offsets point where they should. */
static void test_kinds_all_encapsulations(void **state)
{
	(void)state;
	struct { const uint8_t *p; uint32_t n; int kind; } pl[] = {
		{ rtp, sizeof(rtp), CLASSIFY_RTP },
		{ rtp_marker_pt127, sizeof(rtp_marker_pt127), CLASSIFY_RTP },
		{ rtcp_sr, sizeof(rtcp_sr), CLASSIFY_RTCP },
		{ rtcp_rr_padded, sizeof(rtcp_rr_padded), CLASSIFY_RTCP },
		{ stun, sizeof(stun), CLASSIFY_STUN },
		{ dtls, sizeof(dtls), CLASSIFY_DTLS },
		{ zrtp, sizeof(zrtp), CLASSIFY_OTHER },
		{ turn_ch, sizeof(turn_ch), CLASSIFY_OTHER },
		{ rtp, 0, CLASSIFY_OTHER },
		{ rtp, 1, CLASSIFY_MALFORMED },
	};
	uint8_t f[256];
	struct classify_result r;

	for (int v6 = 0; v6 <= 1; v6++)
	for (int vlan = 0; vlan <= 1; vlan++)
	for (int opt = 0; opt <= 1; opt++)
	for (size_t i = 0; i < sizeof(pl) / sizeof(pl[0]); i++) {
		struct fopt o = { .ipv6 = v6, .vlan = vlan, .ip_opts_words = v6 ? 0 : 3 * opt,
				  .v6_ext = v6 && opt, .sport = 15000, .dport = 40000,
				  .payload = pl[i].p, .plen = pl[i].n };
		uint32_t n = build(f, &o);
		assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), pl[i].kind);
		if (pl[i].kind == CLASSIFY_MALFORMED)
			continue;
		assert_int_equal(r.ipv6, v6);
		assert_int_equal(r.payload_len, pl[i].n);
		assert_int_equal(r.payload_off, n - pl[i].n);
		assert_int_equal(r.local_port, 15000);
		assert_int_equal(r.l3_off, 14 + 4 * vlan);
		/* outbound: the local address is the source */
		assert_int_equal(f[r.local_addr_off], v6 ? 0x20 : 10);
		assert_int_equal(f[r.local_addr_off + (v6 ? 15 : 3)], v6 ? 0x2f : 1);
	}
}

/* Inbound: local is the destination; the media port range decides. */
static void test_direction_and_port_range(void **state)
{
	(void)state;
	uint8_t f[256];
	struct classify_result r;
	struct fopt o = { .sport = 40000, .dport = 12000, .payload = rtp, .plen = sizeof(rtp) };

	uint32_t n = build(f, &o);
	assert_int_equal(classify_copy(f, n, CLASSIFY_INBOUND, &r), CLASSIFY_RTP);
	assert_int_equal(r.local_port, 12000);
	assert_int_equal(f[r.local_addr_off + 3], 2);      /* 10.0.0.2 */
	/* the same frame seen outbound: local port 40000 is not a media port */
	assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_OTHER);
	o.dport = 10000;                                    /* range edges */
	n = build(f, &o);
	assert_int_equal(classify_copy(f, n, CLASSIFY_INBOUND, &r), CLASSIFY_RTP);
	o.dport = 20000;
	n = build(f, &o);
	assert_int_equal(classify_copy(f, n, CLASSIFY_INBOUND, &r), CLASSIFY_RTP);
	o.dport = 20001;
	n = build(f, &o);
	assert_int_equal(classify_copy(f, n, CLASSIFY_INBOUND, &r), CLASSIFY_OTHER);
	o.dport = 9999;
	n = build(f, &o);
	assert_int_equal(classify_copy(f, n, CLASSIFY_INBOUND, &r), CLASSIFY_OTHER);
	o.ipv6 = 1;
	o.dport = 12000;
	n = build(f, &o);
	assert_int_equal(classify_copy(f, n, CLASSIFY_INBOUND, &r), CLASSIFY_RTP);
	assert_int_equal(f[r.local_addr_off], 0x40);
}

static void test_fragments(void **state)
{
	(void)state;
	uint8_t f[256];
	struct classify_result r;
	for (int v6 = 0; v6 <= 1; v6++)
		for (int ext = 0; ext <= v6; ext++) {
			struct fopt o = { .ipv6 = v6, .v6_ext = ext, .frag = 1, .sport = 15000,
					  .dport = 15000, .payload = rtp, .plen = sizeof(rtp) };
			uint32_t n = build(f, &o);
			assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r),
					 CLASSIFY_FRAGMENT);
		}
	/* IPv4 fragment offset without MF (the last fragment) */
	struct fopt o = { .sport = 15000, .dport = 15000, .payload = rtp, .plen = sizeof(rtp) };
	uint32_t n = build(f, &o);
	f[14 + 6] = 0x00;
	f[14 + 7] = 0x10;
	assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_FRAGMENT);
}

static void test_not_udp(void **state)
{
	(void)state;
	uint8_t f[256];
	struct classify_result r;
	struct fopt o = { .sport = 15000, .dport = 15000, .payload = rtp, .plen = sizeof(rtp) };
	uint32_t n = build(f, &o);
	f[14 + 9] = 6;                                      /* TCP */
	assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_OTHER);
	n = build(f, &o);
	f[12] = 0x08; f[13] = 0x06;                         /* ARP */
	assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_OTHER);
	o.ipv6 = 1;
	n = build(f, &o);
	f[14 + 6] = 58;                                     /* ICMPv6 */
	assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_OTHER);
}

/* Lengths that do not add up are malformed, never read past the frame. */
static void test_malformed_lengths(void **state)
{
	(void)state;
	uint8_t f[256];
	struct classify_result r;
	struct fopt o = { .sport = 15000, .dport = 15000, .payload = rtp, .plen = sizeof(rtp) };

	uint32_t n = build(f, &o);
	f[14 + 3] += 1;                                     /* IP total > frame */
	assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_MALFORMED);
	n = build(f, &o);
	f[14] = 0x44;                                       /* IHL 16 bytes */
	assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_MALFORMED);
	n = build(f, &o);
	f[14] = 0x55;                                       /* version 5 */
	assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_MALFORMED);
	n = build(f, &o);
	f[34 + 5] += 1;                                     /* UDP length > IP */
	assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_MALFORMED);
	n = build(f, &o);
	f[34 + 4] = 0; f[34 + 5] = 7;                       /* UDP length < 8 */
	assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_MALFORMED);
	o.ipv6 = 1;
	o.v6_ext = 1;
	n = build(f, &o);
	f[54 + 1] = 200;                                    /* ext header too long */
	assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_MALFORMED);
	n = build(f, &o);
	f[14 + 5] += 3;                                     /* payload length > frame */
	assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_MALFORMED);

	/* an Ethernet pad after the IP packet is fine */
	o.ipv6 = 0;
	o.v6_ext = 0;
	n = build(f, &o);
	memset(f + n, 0, 10);
	assert_int_equal(classify_copy(f, n + 10, CLASSIFY_OUTBOUND, &r), CLASSIFY_RTP);
	assert_int_equal(r.payload_len, sizeof(rtp));
}

/* Every prefix of every kind of frame: no crash, no over-read, and a frame
 * cut inside its headers is never taken for media. */
static void test_every_truncation(void **state)
{
	(void)state;
	uint8_t f[256];
	struct classify_result r;
	for (int v6 = 0; v6 <= 1; v6++)
	for (int vlan = 0; vlan <= 1; vlan++)
	for (int ext = 0; ext <= 1; ext++) {
		struct fopt o = { .ipv6 = v6, .vlan = vlan, .ip_opts_words = v6 ? 0 : ext,
				  .v6_ext = v6 && ext, .sport = 15000, .dport = 15000,
				  .payload = rtp, .plen = sizeof(rtp) };
		uint32_t n = build(f, &o);
		for (uint32_t len = 0; len < n; len++) {
			int k = classify_copy(f, len, CLASSIFY_OUTBOUND, &r);
			assert_true(k == CLASSIFY_MALFORMED || (len < 14 + 4 * (uint32_t)vlan &&
				    k == CLASSIFY_OTHER));
		}
		assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_RTP);
	}
}

/* A deep chain of IPv6 extension headers is given up on, not walked forever. */
static void test_ipv6_ext_chain_limit(void **state)
{
	(void)state;
	uint8_t f[512];
	struct classify_result r;
	struct fopt o = { .ipv6 = 1, .sport = 15000, .dport = 15000, .payload = rtp,
			  .plen = sizeof(rtp) };
	uint32_t n = build(f, &o);
	/* rebuild with 12 destination-options headers before UDP */
	uint8_t udp[64];
	uint32_t udp_n = n - 54;
	memcpy(udp, f + 54, udp_n);
	f[14 + 6] = 60;
	uint32_t p = 54;
	for (int i = 0; i < 12; i++) {
		memset(f + p, 0, 8);
		f[p] = i == 11 ? 17 : 60;
		p += 8;
	}
	memcpy(f + p, udp, udp_n);
	uint32_t pl = 12 * 8 + udp_n;
	f[14 + 4] = (uint8_t)(pl >> 8);
	f[14 + 5] = (uint8_t)pl;
	assert_int_equal(classify_copy(f, p + udp_n, CLASSIFY_OUTBOUND, &r), CLASSIFY_OTHER);
}

static void test_kind_names(void **state)
{
	(void)state;
	assert_string_equal(classify_kind_str(CLASSIFY_RTCP), "rtcp");
	assert_string_equal(classify_kind_str(CLASSIFY_KIND_MAX), "unknown");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_kinds_all_encapsulations),
		cmocka_unit_test(test_direction_and_port_range),
		cmocka_unit_test(test_fragments),
		cmocka_unit_test(test_not_udp),
		cmocka_unit_test(test_malformed_lengths),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_ipv6_ext_chain_limit),
		cmocka_unit_test(test_kind_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
