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
	/* IPv6: these extension headers in this order (overrides v6_ext and
	 * frag); IPv4: an Authentication Header (ext = { 51 }) */
	uint8_t ext[12];
	int n_ext;
};

/* One extension header of type t (its next header nh) at f: returns its length. */
static uint32_t put_ext(uint8_t *f, uint8_t t, uint8_t nh)
{
	uint32_t len = t == 51 ? 24 : (t == 43 ? 24 : 8);  /* AH: 96-bit ICV */
	memset(f, 0, len);
	f[0] = nh;
	if (t == 51)
		f[1] = (uint8_t)(len / 4 - 2);          /* RFC 4302: 4-byte units - 2 */
	else if (t == 44)
		f[3] = 1;                               /* offset 0, M: a first fragment */
	else
		f[1] = (uint8_t)(len / 8 - 1);          /* RFC 8200: 8-byte units - 1 */
	if (t == 60 || t == 0) {
		f[2] = 1; f[3] = 4;                     /* PadN */
	}
	return len;
}

static uint32_t build(uint8_t *f, const struct fopt *o)
{
	uint32_t n = 0;
	uint8_t ext[12];
	int n_ext = o->n_ext;
	memcpy(ext, o->ext, sizeof(ext));
	if (o->ipv6 && n_ext == 0) {                   /* the older flags */
		if (o->v6_ext)
			ext[n_ext++] = 60;
		if (o->frag)
			ext[n_ext++] = 44;
	}
	uint8_t ebuf[12 * 24];
	uint32_t elen = 0;
	for (int i = 0; i < n_ext; i++)
		elen += put_ext(ebuf + elen, ext[i], i + 1 < n_ext ? ext[i + 1] : 17);
	uint8_t first = n_ext ? ext[0] : 17;

	memset(f, 0, 12);                 /* MACs */
	n = 12;
	if (o->vlan) {
		f[n++] = 0x81; f[n++] = 0x00; f[n++] = 0x00; f[n++] = 0x07;
	}
	uint32_t udp_len = 8 + o->plen;
	if (!o->ipv6) {
		f[n++] = 0x08; f[n++] = 0x00;
		uint32_t ihl = 5 + (uint32_t)o->ip_opts_words;
		uint32_t tot = ihl * 4 + elen + udp_len;
		f[n++] = (uint8_t)(0x40 | ihl); f[n++] = 0;
		f[n++] = (uint8_t)(tot >> 8); f[n++] = (uint8_t)tot;
		f[n++] = 0; f[n++] = 1;
		f[n++] = o->frag ? 0x20 : 0x40; f[n++] = 0;     /* MF or DF */
		f[n++] = 64; f[n++] = first; f[n++] = 0; f[n++] = 0;
		uint8_t src[4] = { 10, 0, 0, 1 }, dst[4] = { 10, 0, 0, 2 };
		memcpy(f + n, src, 4); n += 4;
		memcpy(f + n, dst, 4); n += 4;
		for (int i = 0; i < 4 * o->ip_opts_words; i++)
			f[n++] = 1;                           /* NOP options */
	} else {
		f[n++] = 0x86; f[n++] = 0xdd;
		uint32_t pl = udp_len + elen;
		f[n++] = 0x60; f[n++] = 0; f[n++] = 0; f[n++] = 0;
		f[n++] = (uint8_t)(pl >> 8); f[n++] = (uint8_t)pl;
		f[n++] = first; f[n++] = 64;
		for (int i = 0; i < 16; i++) f[n++] = (uint8_t)(0x20 + i);   /* src */
		for (int i = 0; i < 16; i++) f[n++] = (uint8_t)(0x40 + i);   /* dst */
	}
	memcpy(f + n, ebuf, elen);
	n += elen;
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

/* An RTP frame with local port `local` seen in direction dir (the remote
 * port is 40000, off the media ports). */
static struct fopt rtp_opt(int v6, int dir, uint16_t local)
{
	return (struct fopt){ .ipv6 = v6, .sport = dir ? 40000 : local,
			      .dport = dir ? local : 40000, .payload = rtp, .plen = sizeof(rtp) };
}

/* The frame set of the truncation and encapsulation tests: each accepted
 * encapsulation (docs/dataplane.md), with and without a VLAN tag. */
static const struct { int ipv6, opts; uint8_t ext[12]; int n_ext; const char *name; } encaps[] = {
	{ 0, 0, { 0 }, 0, "IPv4" },
	{ 0, 1, { 0 }, 0, "IPv4 + 4 bytes of options" },
	{ 0, 10, { 0 }, 0, "IPv4 + 40 bytes of options (IHL 15)" },
	{ 1, 0, { 0 }, 0, "IPv6" },
	{ 1, 0, { 0 }, 1, "IPv6 + hop-by-hop" },
	{ 1, 0, { 43 }, 1, "IPv6 + routing" },
	{ 1, 0, { 60 }, 1, "IPv6 + destination options" },
	{ 1, 0, { 135 }, 1, "IPv6 + mobility" },
	{ 1, 0, { 139 }, 1, "IPv6 + HIP" },
	{ 1, 0, { 140 }, 1, "IPv6 + shim6" },
	{ 1, 0, { 253 }, 1, "IPv6 + experimental 253" },
	{ 1, 0, { 254 }, 1, "IPv6 + experimental 254" },
	{ 1, 0, { 0, 60, 43, 60 }, 4, "IPv6 + hop-by-hop, dest, routing, dest" },
	{ 1, 0, { 0, 60, 43, 60, 135, 139, 140, 60 }, 8, "IPv6 + 8 headers (the limit)" },
};
#define NENCAPS (sizeof(encaps) / sizeof(encaps[0]))

static uint32_t build_encap(uint8_t *f, size_t e, int vlan, enum classify_dir dir,
			    uint16_t local, const uint8_t *pl, uint32_t plen)
{
	struct fopt o = { .ipv6 = encaps[e].ipv6, .vlan = vlan,
			  .ip_opts_words = encaps[e].opts, .n_ext = encaps[e].n_ext,
			  .sport = dir == CLASSIFY_OUTBOUND ? local : 40000,
			  .dport = dir == CLASSIFY_OUTBOUND ? 40000 : local,
			  .payload = pl, .plen = plen };
	memcpy(o.ext, encaps[e].ext, sizeof(o.ext));
	return build(f, &o);
}

/* Every accepted encapsulation, tagged and not, both ways: RTP and RTCP are
 * media, the offsets and the local address and port are right. */
static void test_accepted_encapsulations(void **state)
{
	(void)state;
	uint8_t f[512];
	struct classify_result r;
	for (size_t e = 0; e < NENCAPS; e++)
	for (int vlan = 0; vlan <= 1; vlan++)
	for (int dir = 0; dir <= 1; dir++)
	for (int rtcp = 0; rtcp <= 1; rtcp++) {
		const uint8_t *pl = rtcp ? rtcp_sr : rtp;
		uint32_t plen = rtcp ? sizeof(rtcp_sr) : sizeof(rtp);
		uint32_t n = build_encap(f, e, vlan, (enum classify_dir)dir, 12345, pl, plen);
		int k = classify_copy(f, n, (enum classify_dir)dir, &r);
		if (k != (rtcp ? CLASSIFY_RTCP : CLASSIFY_RTP))
			fail_msg("%s vlan %d dir %d: %s", encaps[e].name, vlan, dir,
				 classify_kind_str((enum classify_kind)k));
		assert_int_equal(r.ipv6, encaps[e].ipv6);
		assert_int_equal(r.l3_off, 14 + 4 * vlan);
		assert_int_equal(r.l4_off, n - plen - 8);
		assert_int_equal(r.payload_off, n - plen);
		assert_int_equal(r.payload_len, plen);
		assert_int_equal(r.local_port, 12345);
		/* outbound: local = source (10.0.0.1, 2020..); inbound: destination */
		if (encaps[e].ipv6)
			assert_int_equal(f[r.local_addr_off + 15], dir ? 0x4f : 0x2f);
		else
			assert_int_equal(f[r.local_addr_off + 3], dir ? 2 : 1);
		/* and off the media ports the same frame is other traffic */
		n = build_encap(f, e, vlan, (enum classify_dir)dir, 9000, pl, plen);
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r), CLASSIFY_OTHER);
	}
}

/* Every prefix of every accepted frame, both as cut off (the IP length
 * claims more than the frame holds) and with the IP length made to fit the
 * cut (UDP header or payload missing from the IP packet): MALFORMED, in range
 * and out of it, both ways. Exact-size copies: no read past the end. */
static void test_every_truncation(void **state)
{
	(void)state;
	uint8_t f[512];
	struct classify_result r;
	for (size_t e = 0; e < NENCAPS; e++)
	for (int vlan = 0; vlan <= 1; vlan++)
	for (int dir = 0; dir <= 1; dir++)
	for (int port = 0; port <= 1; port++) {
		uint16_t local = port ? 15000 : 9000;
		uint32_t n = build_encap(f, e, vlan, (enum classify_dir)dir, local, rtp, sizeof(rtp));
		uint32_t l3 = 14 + 4 * (uint32_t)vlan;
		for (uint32_t len = 0; len < n; len++) {
			for (int fit = 0; fit <= 1; fit++) {
				uint8_t g[512];
				memcpy(g, f, n);
				uint32_t hdr = encaps[e].ipv6 ? 40 : 20 + 4u * (uint32_t)encaps[e].opts;
				if (fit && len >= l3 + hdr) {
					uint32_t v = encaps[e].ipv6 ? len - l3 - 40 : len - l3;
					g[l3 + (encaps[e].ipv6 ? 4 : 2)] = (uint8_t)(v >> 8);
					g[l3 + (encaps[e].ipv6 ? 5 : 3)] = (uint8_t)v;
				}
				int k = classify_copy(g, len, (enum classify_dir)dir, &r);
				if (k != CLASSIFY_MALFORMED)
					fail_msg("%s vlan %d dir %d port %u: %u of %u bytes%s: %s",
						 encaps[e].name, vlan, dir, local, len, n,
						 fit ? " (IP length fitted)" : "",
						 classify_kind_str((enum classify_kind)k));
			}
		}
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r),
				 port ? CLASSIFY_RTP : CLASSIFY_OTHER);
	}
}

/* An IPv6 chain the classifier cannot walk to its end: one header more than
 * it walks (the frame that leaked before issue 14), a header that runs past
 * the payload, a payload length of 0 (jumbogram): MALFORMED, whatever the port. */
static void test_ipv6_chains_not_walked(void **state)
{
	(void)state;
	uint8_t f[512];
	struct classify_result r;
	for (int dir = 0; dir <= 1; dir++)
	for (int port = 0; port <= 1; port++) {
		struct fopt o = rtp_opt(1, dir, port ? 15000 : 9000);
		o.n_ext = 9;
		memset(o.ext, 60, 9);                          /* destination options */
		uint32_t n = build(f, &o);
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r), CLASSIFY_MALFORMED);
		o.n_ext = 12;
		memset(o.ext, 0, sizeof(o.ext));                /* 12 hop-by-hop */
		n = build(f, &o);
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r), CLASSIFY_MALFORMED);
		o.n_ext = 8;                                    /* 8: walked */
		n = build(f, &o);
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r),
				 port ? CLASSIFY_RTP : CLASSIFY_OTHER);
		o.n_ext = 2;
		o.ext[0] = 60; o.ext[1] = 43;
		n = build(f, &o);
		f[54 + 8 + 1] = 3;                              /* routing: 32 bytes, not 24 */
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r), CLASSIFY_MALFORMED);
		f[54 + 8 + 1] = 2;
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r),
				 port ? CLASSIFY_RTP : CLASSIFY_OTHER);
		f[54 + 8 + 1] = 1;            /* shorter: the UDP header is not where it says */
		assert_int_not_equal(classify_copy(f, n, (enum classify_dir)dir, &r), CLASSIFY_RTP);
		f[18] = 0; f[19] = 0;                           /* payload length 0 */
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r), CLASSIFY_MALFORMED);
	}
}

/* What reaches a definite verdict without UDP is other traffic. */
static void test_definitely_not_media(void **state)
{
	(void)state;
	uint8_t f[512];
	struct classify_result r;
	struct fopt o = { .sport = 15000, .dport = 15000, .payload = rtp, .plen = sizeof(rtp) };
	static const uint8_t v4_protos[] = { 1, 6, 50, 132, 4, 41, 47 };  /* ICMP TCP ESP SCTP IPIP 6in4 GRE */
	static const uint8_t v6_protos[] = { 58, 6, 50, 59, 132 };        /* ICMPv6 TCP ESP none SCTP */
	uint32_t n;
	for (size_t i = 0; i < sizeof(v4_protos); i++) {
		o.ipv6 = 0;
		n = build(f, &o);
		f[14 + 9] = v4_protos[i];
		assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_OTHER);
	}
	for (size_t i = 0; i < sizeof(v6_protos); i++)
		for (int ext = 0; ext <= 1; ext++) {
			o.ipv6 = 1;
			o.v6_ext = ext;
			n = build(f, &o);
			f[ext ? 54 : 20] = v6_protos[i];
			assert_int_equal(classify_copy(f, n, CLASSIFY_INBOUND, &r), CLASSIFY_OTHER);
		}
	/* non-IP: ARP, LLDP, an 802.3/LLC frame (STP), SNAP of something not IP */
	static const uint16_t types[] = { 0x0806, 0x88cc, 0x0026, 0x0030 };
	for (size_t i = 0; i < sizeof(types) / sizeof(types[0]); i++)
		for (int vlan = 0; vlan <= 1; vlan++) {
			o.ipv6 = 0;
			o.v6_ext = 0;
			o.vlan = vlan;
			n = build(f, &o);
			uint32_t t = 12 + 4 * (uint32_t)vlan;
			f[t] = (uint8_t)(types[i] >> 8);
			f[t + 1] = (uint8_t)types[i];
			if (types[i] == 0x0026) {
				f[t + 2] = 0x42; f[t + 3] = 0x42; f[t + 4] = 0x03;   /* STP */
			} else if (types[i] == 0x0030) {
				static const uint8_t snap[] = { 0xaa, 0xaa, 0x03, 0, 0, 0, 0x80, 0x9b };
				memcpy(f + t + 2, snap, sizeof(snap));                 /* AppleTalk */
			}
			assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_OTHER);
		}
}

/* IP that the classifier does not open (a second tag, S-tags, MPLS, PPPoE,
 * LLC/SNAP) and IP that is not the IP its ethertype says: MALFORMED. */
static void test_encapsulations_not_opened(void **state)
{
	(void)state;
	uint8_t f[512], g[520];
	struct classify_result r;
	static const uint16_t outer[] = { 0x8100, 0x88a8, 0x9100, 0x9200, 0x8847, 0x8848, 0x8864 };
	for (int v6 = 0; v6 <= 1; v6++)
	for (int vlan = 0; vlan <= 1; vlan++)
	for (int port = 0; port <= 1; port++)
	for (size_t i = 0; i < sizeof(outer) / sizeof(outer[0]); i++) {
		struct fopt o = { .ipv6 = v6, .vlan = vlan, .sport = port ? 15000 : 9000,
				  .dport = 40000, .payload = rtp, .plen = sizeof(rtp) };
		uint32_t n = build(f, &o);
		uint32_t t = 12 + 4 * (uint32_t)vlan;          /* the ethertype */
		/* insert 4 bytes (a tag, an MPLS label, half a PPPoE header);
		 * 0x8100 untagged is the one tag that is opened */
		memcpy(g, f, t);
		g[t] = (uint8_t)(outer[i] >> 8); g[t + 1] = (uint8_t)outer[i];
		g[t + 2] = 0; g[t + 3] = 0x05;
		memcpy(g + t + 4, f + t, n - t);
		assert_int_equal(classify_copy(g, n + 4, CLASSIFY_OUTBOUND, &r),
				 outer[i] == 0x8100 && !vlan ? (port ? CLASSIFY_RTP : CLASSIFY_OTHER)
							     : CLASSIFY_MALFORMED);
		/* IP in LLC/SNAP (RFC 1042) */
		static const uint8_t snap[] = { 0xaa, 0xaa, 0x03, 0, 0, 0 };
		memcpy(g, f, t);
		g[t] = 0; g[t + 1] = (uint8_t)(n - t - 2 + 6);
		memcpy(g + t + 2, snap, 6);
		memcpy(g + t + 8, f + t, n - t);
		assert_int_equal(classify_copy(g, n + 8, CLASSIFY_OUTBOUND, &r), CLASSIFY_MALFORMED);
		/* the other IP version under this ethertype */
		memcpy(g, f, n);
		g[t + 2] = (uint8_t)((v6 ? 0x40 : 0x60) | (g[t + 2] & 0x0f));
		assert_int_equal(classify_copy(g, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_MALFORMED);
	}
}

/* Lengths: UDP shorter than the IP payload is MALFORMED on a media port (the
 * lengths fixed after the crypto step would claim bytes the frame no longer
 * holds) and other traffic elsewhere; the rest is MALFORMED everywhere. */
static void test_udp_length_rules(void **state)
{
	(void)state;
	uint8_t f[512];
	struct classify_result r;
	for (int v6 = 0; v6 <= 1; v6++)
	for (int dir = 0; dir <= 1; dir++)
	for (int port = 0; port <= 1; port++) {
		struct fopt o = rtp_opt(v6, dir, port ? 15000 : 9000);
		uint32_t n = build(f, &o);
		uint32_t l4 = v6 ? 54 : 34;
		int ok = port ? CLASSIFY_RTP : CLASSIFY_OTHER;
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r), ok);
		f[l4 + 5] -= 1;                                   /* UDP 1 short of IP */
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r),
				 port ? CLASSIFY_MALFORMED : CLASSIFY_OTHER);
		f[l4 + 5] += 2;                                   /* UDP 1 beyond IP */
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r), CLASSIFY_MALFORMED);
		for (uint8_t u = 0; u < 8; u++) {                 /* UDP length < 8 */
			f[l4 + 4] = 0; f[l4 + 5] = u;
			assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r),
					 CLASSIFY_MALFORMED);
		}
		n = build(f, &o);
		memset(f + n, 0xee, 20);                          /* Ethernet pad: ignored */
		assert_int_equal(classify_copy(f, n + 20, (enum classify_dir)dir, &r), ok);
		if (port)
			assert_int_equal(r.payload_len, sizeof(rtp));
		f[v6 ? 19 : 17] += 1;                             /* IP beyond the frame... */
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r), CLASSIFY_MALFORMED);
		/* ...but within the pad: the UDP length no longer fills the IP payload */
		assert_int_equal(classify_copy(f, n + 20, (enum classify_dir)dir, &r),
				 port ? CLASSIFY_MALFORMED : CLASSIFY_OTHER);
	}
}

/* UDP after an Authentication Header (IPv4 and IPv6): walked, but media under
 * AH cannot be changed without breaking its ICV: MALFORMED; other traffic
 * passes. */
static void test_ah(void **state)
{
	(void)state;
	uint8_t f[512];
	struct classify_result r;
	for (int v6 = 0; v6 <= 1; v6++)
	for (int port = 0; port <= 1; port++) {
		struct fopt o = rtp_opt(v6, CLASSIFY_OUTBOUND, port ? 15000 : 9000);
		o.n_ext = v6 ? 2 : 1;                           /* IPv6: dest opts, AH */
		o.ext[0] = v6 ? 60 : 51;
		o.ext[1] = 51;
		uint32_t n = build(f, &o);
		assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r),
				 port ? CLASSIFY_MALFORMED : CLASSIFY_OTHER);
		/* every cut with the IP length fitted to it: MALFORMED (and, in
		 * the sanitizer build, no read past the AH's minimum length) */
		uint32_t ah = v6 ? 62 : 34;
		for (uint32_t len = ah; len < n; len++) {
			uint8_t g[512];
			memcpy(g, f, len);
			uint32_t v = v6 ? len - 54 : len - 14;
			g[v6 ? 18 : 16] = (uint8_t)(v >> 8);
			g[v6 ? 19 : 17] = (uint8_t)v;
			assert_int_equal(classify_copy(g, len, CLASSIFY_OUTBOUND, &r),
					 CLASSIFY_MALFORMED);
		}
		/* an AH whose length runs past the packet */
		f[ah + 1] = 40;
		assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_MALFORMED);
	}
}

/* Fragments: first fragments of media-range UDP are marked (always dropped);
 * a first fragment too short for the UDP ports is MALFORMED (RFC 1858). */
static void test_first_fragments(void **state)
{
	(void)state;
	uint8_t f[512];
	struct classify_result r;
	for (int v6 = 0; v6 <= 1; v6++)
	for (int dir = 0; dir <= 1; dir++)
	for (int port = 0; port <= 1; port++) {
		struct fopt o = rtp_opt(v6, dir, port ? 15000 : 9000);
		o.frag = 1;
		uint32_t n = build(f, &o);
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r), CLASSIFY_FRAGMENT);
		assert_int_equal(r.media_frag, port);
		/* a first fragment with 4 bytes of UDP */
		uint32_t l4 = v6 ? 62 : 34, cut = l4 + 4;
		if (v6) {
			f[18] = 0; f[19] = (uint8_t)(cut - 54);
		} else {
			f[16] = 0; f[17] = (uint8_t)(cut - 14);
		}
		assert_int_equal(classify_copy(f, cut, (enum classify_dir)dir, &r), CLASSIFY_MALFORMED);
		/* a later fragment: no port to look at */
		n = build(f, &o);
		if (v6)
			f[54 + 3] = 0x09;                       /* offset 8 bytes, M */
		else
			f[14 + 7] = 0x01;
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r), CLASSIFY_FRAGMENT);
		assert_int_equal(r.media_frag, 0);
		/* a first fragment of something that is not UDP */
		n = build(f, &o);
		f[v6 ? 54 : 23] = 6;
		assert_int_equal(classify_copy(f, n, (enum classify_dir)dir, &r), CLASSIFY_FRAGMENT);
		assert_int_equal(r.media_frag, 0);
	}
}

/* An ICMP (v6: ICMPv6) message of type at f, quoting qlen bytes of q (an IP
 * datagram, as a host quotes the one that caused an error). */
static uint32_t icmp_frame(uint8_t *f, int v6, uint8_t type, const uint8_t *q, uint32_t qlen)
{
	uint32_t n = 12, pl = 8 + qlen;

	memset(f, 0, 12);
	if (!v6) {
		f[n++] = 0x08; f[n++] = 0x00;
		f[n++] = 0x45; f[n++] = 0;
		f[n++] = (uint8_t)((20 + pl) >> 8); f[n++] = (uint8_t)(20 + pl);
		f[n++] = 0; f[n++] = 1; f[n++] = 0; f[n++] = 0;
		f[n++] = 64; f[n++] = 1; f[n++] = 0; f[n++] = 0;   /* ICMP */
		for (int i = 0; i < 8; i++) f[n++] = (uint8_t)(10 + i);
	} else {
		f[n++] = 0x86; f[n++] = 0xdd;
		f[n++] = 0x60; f[n++] = 0; f[n++] = 0; f[n++] = 0;
		f[n++] = (uint8_t)(pl >> 8); f[n++] = (uint8_t)pl;
		f[n++] = 58; f[n++] = 64;                           /* ICMPv6 */
		for (int i = 0; i < 32; i++) f[n++] = (uint8_t)(0x20 + i);
	}
	f[n++] = type; f[n++] = v6 ? 4 : 3;                         /* code: port unreachable */
	memset(f + n, 0, 6); n += 6;
	memcpy(f + n, q, qlen);
	return n + qlen;
}

/* An error from the inside quoting a datagram of a media port carries the
 * datagram's bytes - plaintext the dataplane decrypted: dropped, whatever
 * the rest of the quote; from the outside (it quotes SRTP) and for other
 * ports or messages, other traffic. */
static void test_icmp_quoting_media(void **state)
{
	(void)state;
	uint8_t in[256], f[512];
	struct classify_result r;

	for (int v6 = 0; v6 <= 1; v6++) {
		/* the datagram a phone did not take: to its media port 15000 */
		struct fopt o = { .ipv6 = v6, .sport = 40000, .dport = 15000,
				  .payload = rtp, .plen = sizeof(rtp) };
		uint32_t qn = build(in, &o) - 14;           /* without Ethernet */
		const uint8_t *q = in + 14;
		uint8_t err = v6 ? 1 : 3, echo = v6 ? 128 : 8;
		uint32_t hdr = v6 ? 40u : 20u;

		uint32_t n = icmp_frame(f, v6, err, q, qn);
		assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_ICMP_MEDIA);
		assert_int_equal(classify_copy(f, n, CLASSIFY_INBOUND, &r), CLASSIFY_OTHER);
		/* the quote cut right after the ports: still the port's */
		n = icmp_frame(f, v6, err, q, hdr + 4);
		assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_ICMP_MEDIA);
		/* too short for the ports: no payload quoted */
		n = icmp_frame(f, v6, err, q, hdr + 2);
		assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_OTHER);
		/* every error type quotes; an echo does not */
		const uint8_t v4_errs[] = { 3, 4, 5, 11, 12 }, v6_errs[] = { 1, 2, 3, 4 };
		for (unsigned i = 0; i < (v6 ? sizeof(v6_errs) : sizeof(v4_errs)); i++) {
			n = icmp_frame(f, v6, v6 ? v6_errs[i] : v4_errs[i], q, qn);
			assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r),
					 CLASSIFY_ICMP_MEDIA);
		}
		n = icmp_frame(f, v6, echo, q, qn);
		assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_OTHER);
		/* the source port counts too (a datagram the host sent) */
		o.sport = 15000;
		o.dport = 53;
		qn = build(in, &o) - 14;
		n = icmp_frame(f, v6, err, q, qn);
		assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_ICMP_MEDIA);
		/* neither port a media port: other */
		o.sport = 53;
		qn = build(in, &o) - 14;
		n = icmp_frame(f, v6, err, q, qn);
		assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_OTHER);
		/* a quote whose IP version is wrong cannot be read: fail closed */
		o.sport = 40000;
		o.dport = 15000;
		qn = build(in, &o) - 14;
		in[14] = (uint8_t)((in[14] & 0x0f) | (v6 ? 0x40 : 0x60));
		n = icmp_frame(f, v6, err, q, qn);
		assert_int_equal(classify_copy(f, n, CLASSIFY_OUTBOUND, &r), CLASSIFY_ICMP_MEDIA);
	}
	assert_string_equal(classify_kind_str(CLASSIFY_ICMP_MEDIA), "icmp_media");
}

/* The two results agree in every field (compared one by one: padding). */
static void assert_same_result(const struct classify_result *a, const struct classify_result *b,
			       unsigned trial)
{
	if (a->kind != b->kind || a->ipv6 != b->ipv6 || a->l3_off != b->l3_off ||
	    a->l4_off != b->l4_off || a->payload_off != b->payload_off ||
	    a->payload_len != b->payload_len || a->local_port != b->local_port ||
	    a->local_addr_off != b->local_addr_off || a->media_frag != b->media_frag)
		fail_msg("trial %u: classify_burst kind %d (payload %u+%u, port %u, addr %u) != "
			 "classify_frame kind %d (payload %u+%u, port %u, addr %u)", trial,
			 a->kind, a->payload_off, a->payload_len, a->local_port,
			 a->local_addr_off, b->kind, b->payload_off, b->payload_len,
			 b->local_port, b->local_addr_off);
}

/* classify_burst (its fast path for untagged IPv4 media, the full parse for
 * the rest) says of every frame exactly what classify_frame says: frames of
 * every encapsulation with up to three random bytes changed in their
 * headers (lengths, version/IHL, ethertype, fragment bits, protocol, ports)
 * and random lengths (each in an exact-size heap copy), bursts of random
 * size, both directions. */
static void test_burst_same_as_frame(void **state)
{
	(void)state;
	enum { BURST = 32, FRAME = 256 };
	static const struct fopt base[] = {
		{ .sport = 15000, .dport = 40000, .payload = rtp, .plen = sizeof(rtp) },
		{ .sport = 40000, .dport = 15000, .payload = rtcp_sr, .plen = sizeof(rtcp_sr) },
		{ .sport = 15000, .dport = 15000, .payload = stun, .plen = sizeof(stun) },
		{ .sport = 9000, .dport = 9000, .payload = rtp, .plen = sizeof(rtp) },
		{ .vlan = 1, .sport = 15000, .dport = 40000, .payload = rtp, .plen = sizeof(rtp) },
		{ .ip_opts_words = 2, .sport = 15000, .dport = 15000, .payload = rtp,
		  .plen = sizeof(rtp) },
		{ .frag = 1, .sport = 15000, .dport = 40000, .payload = rtp, .plen = sizeof(rtp) },
		{ .ipv6 = 1, .sport = 15000, .dport = 15000, .payload = rtp, .plen = sizeof(rtp) },
		{ .sport = 15000, .dport = 15000, .payload = rtp, .plen = 0 },
		{ .sport = 15000, .dport = 15000, .payload = rtp, .plen = 1 },
	};
	const size_t nbase = sizeof(base) / sizeof(base[0]);
	uint8_t frames[BURST][FRAME];
	const uint8_t *data[BURST];
	uint32_t len[BURST];
	struct classify_result rb[BURST], rf;
	unsigned fast_media = 0;

	srand(7);
	for (unsigned trial = 0; trial < 4000; trial++) {
		unsigned n = (unsigned)rand() % (BURST + 1), media = 0;
		enum classify_dir dir = trial & 1 ? CLASSIFY_INBOUND : CLASSIFY_OUTBOUND;
		for (unsigned i = 0; i < n; i++) {
			uint32_t fl = build(frames[i], &base[(unsigned)rand() % nbase]);
			/* a third unchanged; the rest: bytes in the first 48 changed */
			for (int c = rand() % 3 ? 1 + rand() % 3 : 0; c > 0; c--)
				frames[i][rand() % 48] = (uint8_t)rand();
			if (rand() % 8 == 0)
				fl = (uint32_t)rand() % (fl + 8);       /* cut or padded */
			/* an exact-size heap copy: the sanitizer build
			 * catches a read past the end */
			uint8_t *copy = malloc(fl ? fl : 1);
			assert_non_null(copy);
			memcpy(copy, frames[i], fl);
			data[i] = copy;
			len[i] = fl;
		}
		unsigned got = classify_burst(&cfg, dir, data, len, n, rb);
		for (unsigned i = 0; i < n; i++) {
			int k = classify_frame(&cfg, dir, data[i], len[i], &rf);
			assert_same_result(&rb[i], &rf, trial);
			media += k == CLASSIFY_RTP || k == CLASSIFY_RTCP;
			fast_media += (k == CLASSIFY_RTP || k == CLASSIFY_RTCP) && !rf.ipv6 &&
				      rf.l3_off == 14 && rf.l4_off == 34;
		}
		assert_int_equal(got, media);
		for (unsigned i = 0; i < n; i++)
			free((void *)data[i]);
	}
	assert_true(fast_media > 1000);        /* the fast path was exercised */
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
		cmocka_unit_test(test_accepted_encapsulations),
		cmocka_unit_test(test_every_truncation),
		cmocka_unit_test(test_ipv6_chains_not_walked),
		cmocka_unit_test(test_definitely_not_media),
		cmocka_unit_test(test_encapsulations_not_opened),
		cmocka_unit_test(test_udp_length_rules),
		cmocka_unit_test(test_ah),
		cmocka_unit_test(test_first_fragments),
		cmocka_unit_test(test_icmp_quoting_media),
		cmocka_unit_test(test_burst_same_as_frame),
		cmocka_unit_test(test_kind_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
