/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * classify.c - frame parsing and media demultiplexing (RFC 7983, RFC 5761).
 *
 * Fail closed (docs/dataplane.md, "What the classifier accepts"): a frame is
 * OTHER only when the parse reached a definite non-media verdict (not IP, an
 * upper-layer protocol other than UDP, UDP off the media ports). Whatever
 * could still be media and cannot be parsed to its end is MALFORMED.
 */
#include "byteorder.h"
#include "classify.h"

#define ETH_HLEN        14
#define VLAN_HLEN       4
#define ETHERTYPE_IPV4  0x0800
#define ETHERTYPE_IPV6  0x86dd
#define ETHERTYPE_VLAN  0x8100
#define IPPROTO_UDP_    17
#define IPPROTO_FRAG_   44
#define IPPROTO_AH_     51
#define IPPROTO_ICMP_   1
#define IPPROTO_ICMPV6_ 58
#define ICMP_HLEN       8
#define IPV4_HLEN       20
#define IPV6_HLEN       40
#define UDP_HLEN        8
#define IPV6_MAX_EXT    8      /* extension headers walked; one more: MALFORMED */

/*
 * Ethertypes (after the one 802.1Q tag the classifier opens) that can carry
 * IP it does not parse: a second tag (QinQ), 802.1ad and pre-standard S-tags,
 * MPLS, PPPoE sessions, and IP in an 802.3 frame with LLC/SNAP (RFC 1042).
 */
static int carries_ip(const uint8_t *d, uint32_t len, uint32_t l3, uint16_t type)
{
	switch (type) {
	case 0x8100: case 0x88a8: case 0x9100: case 0x9200:
	case 0x8847: case 0x8848: case 0x8864:
		return 1;
	}
	if (type <= 1500 && len >= l3 + 8 && d[l3] == 0xaa && d[l3 + 1] == 0xaa &&
	    d[l3 + 2] == 0x03 && (d[l3 + 3] | d[l3 + 4] | d[l3 + 5]) == 0) {
		uint16_t t = get_be16(d + l3 + 6);
		return t == ETHERTYPE_IPV4 || t == ETHERTYPE_IPV6 || t == ETHERTYPE_VLAN;
	}
	return 0;
}

struct walk {
	uint8_t frag;          /* a fragment header (IPv6) or MF/offset (IPv4) */
	uint8_t first;         /* ...with offset 0 */
	uint8_t ah;            /* an Authentication Header on the way */
};

/*
 * Walk the headers between the IP header and the upper layer from *l4 (the
 * first is of type nh): IPv6 extension headers (RFC 8200 s. 4; the IANA
 * "IPv6 Extension Header Types": hop-by-hop 0, routing 43, fragment 44,
 * destination options 60, mobility 135, HIP 139, shim6 140, experimental 253
 * and 254) and AH (51, RFC 4302 s. 2.2; IPv4 too). Returns the upper-layer
 * protocol with *l4 at its header (ESP, 50, is one: it cannot be looked into),
 * or -1: a header that runs past ip_end, or more than IPV6_MAX_EXT of them.
 * A fragment other than the first stops the walk at its fragment header.
 */
static int walk_headers(const uint8_t *d, uint32_t *l4, uint32_t ip_end, uint8_t nh,
			int ipv6, struct walk *w)
{
	uint32_t p = *l4, hl;
	for (int i = 0;; i++) {
		if (nh == IPPROTO_AH_) {
			if (p + 12 > ip_end)            /* AH: 12 bytes at least */
				return -1;
			hl = 4u * (d[p + 1] + 2u);
			w->ah = 1;
		} else if (!ipv6) {
			break;
		} else if (nh == IPPROTO_FRAG_) {
			if (p + 8 > ip_end)
				return -1;
			w->frag = 1;
			w->first = (get_be16(d + p + 2) & 0xfff8) == 0;
			hl = 8;
		} else if (nh == 0 || nh == 43 || nh == 60 || nh == 135 || nh == 139 ||
			   nh == 140 || nh == 253 || nh == 254) {
			if (p + 8 > ip_end)
				return -1;
			hl = 8u * (d[p + 1] + 1u);
		} else {
			break;
		}
		if (i == IPV6_MAX_EXT || p + hl > ip_end)
			return -1;
		nh = d[p];
		p += hl;
		if (w->frag && !w->first)
			break;                          /* what follows is data */
	}
	*l4 = p;
	return nh;
}

/* RFC 7983 s. 7 on the first byte; RFC 5761 s. 4 on the second. */
static int demux_payload(const uint8_t *p, uint32_t len)
{
	if (len == 0)
		return CLASSIFY_OTHER;
	uint8_t b0 = p[0];
	if (b0 <= 3)
		return CLASSIFY_STUN;
	if (b0 >= 20 && b0 <= 63)
		return CLASSIFY_DTLS;
	if (b0 >= 128 && b0 <= 191) {
		if (len < 2)
			return CLASSIFY_MALFORMED;
		/* RTCP packet types 192-223 are RTP payload types 64-95 with
		 * the marker bit: RFC 5761 reserves that range for RTCP. */
		return (p[1] >= 192 && p[1] <= 223) ? CLASSIFY_RTCP : CLASSIFY_RTP;
	}
	return CLASSIFY_OTHER;    /* ZRTP, TURN channels, anything else */
}

static int media_port(const struct classify_cfg *cfg, uint16_t port)
{
	return port >= cfg->media_lo && port <= cfg->media_hi;
}

/*
 * An ICMP error (RFC 792: destination unreachable 3, source quench 4,
 * redirect 5, time exceeded 11, parameter problem 12) or ICMPv6 error (RFC
 * 4443: 1-4) quotes the datagram that caused it, as much as fits (RFC 1812
 * s. 4.3.2.3; Linux quotes up to 576 bytes). From the inside, that datagram
 * is one the dataplane decrypted for a local application - a port
 * unreachable from a phone not listening yet quotes plaintext RTP - so an
 * error quoting UDP to or from a media port is CLASSIFY_ICMP_MEDIA, and so is
 * a quote whose headers cannot be walked (fail closed). A quote too short to
 * hold the UDP ports holds no payload: OTHER.
 */
static int icmp_quote(const struct classify_cfg *cfg, const uint8_t *d, uint32_t l4,
		      uint32_t ip_end, int v6)
{
	uint32_t q = l4 + ICMP_HLEN, ql4;
	struct walk w = { 0, 1, 0 };
	int proto;

	if (l4 + ICMP_HLEN > ip_end)
		return CLASSIFY_OTHER;                  /* not even its header */
	uint8_t type = d[l4];
	if (v6 ? !(type >= 1 && type <= 4) :
		 !(type == 3 || type == 4 || type == 5 || type == 11 || type == 12))
		return CLASSIFY_OTHER;                  /* echo, ND, ...: no quote */
	if (!v6) {
		if (q + IPV4_HLEN > ip_end)
			return CLASSIFY_OTHER;
		if ((d[q] >> 4) != 4 || 4u * (d[q] & 0x0f) < IPV4_HLEN)
			return CLASSIFY_ICMP_MEDIA;
		if (get_be16(d + q + 6) & 0x1fff)
			return CLASSIFY_OTHER;          /* a later fragment: no ports */
		ql4 = q + 4u * (d[q] & 0x0f);
		proto = d[q + 9];
		if (proto == IPPROTO_AH_)
			proto = walk_headers(d, &ql4, ip_end, (uint8_t)proto, 0, &w);
	} else {
		if (q + IPV6_HLEN > ip_end)
			return CLASSIFY_OTHER;
		if ((d[q] >> 4) != 6)
			return CLASSIFY_ICMP_MEDIA;
		ql4 = q + IPV6_HLEN;
		proto = walk_headers(d, &ql4, ip_end, d[q + 6], 1, &w);
	}
	if (proto < 0 && ql4 + 4 <= ip_end)
		return CLASSIFY_ICMP_MEDIA;             /* a chain cut or too long */
	if (proto != IPPROTO_UDP_ || (w.frag && !w.first) || ql4 + 4 > ip_end)
		return CLASSIFY_OTHER;
	return media_port(cfg, get_be16(d + ql4)) || media_port(cfg, get_be16(d + ql4 + 2)) ?
	       CLASSIFY_ICMP_MEDIA : CLASSIFY_OTHER;
}

int classify_frame(const struct classify_cfg *cfg, enum classify_dir dir,
		   const uint8_t *d, uint32_t len, struct classify_result *r)
{
	uint32_t l3, l4, ip_end;
	uint16_t type;
	struct walk w = { 0, 1, 0 };
	int proto;

	*r = (struct classify_result){ .kind = CLASSIFY_MALFORMED };
	if (len < ETH_HLEN)
		return r->kind;
	type = get_be16(d + 12);
	l3 = ETH_HLEN;
	if (type == ETHERTYPE_VLAN) {
		if (len < ETH_HLEN + VLAN_HLEN)
			return r->kind;
		type = get_be16(d + 16);
		l3 += VLAN_HLEN;
	}

	if (type == ETHERTYPE_IPV4) {
		if (len < l3 + IPV4_HLEN || (d[l3] >> 4) != 4)
			return r->kind;
		uint32_t ihl = 4u * (d[l3] & 0x0f);
		uint32_t tot = get_be16(d + l3 + 2);
		if (ihl < IPV4_HLEN || tot < ihl || l3 + tot > len)
			return r->kind;
		ip_end = l3 + tot;
		uint16_t fo = get_be16(d + l3 + 6);
		if (fo & 0x3fff) {                   /* MF flag or fragment offset */
			w.frag = 1;
			w.first = (fo & 0x1fff) == 0;
		}
		l4 = l3 + ihl;
		proto = d[l3 + 9];
		if (proto == IPPROTO_AH_ && w.first)
			proto = walk_headers(d, &l4, ip_end, (uint8_t)proto, 0, &w);
		r->local_addr_off = (uint16_t)(l3 + (dir == CLASSIFY_OUTBOUND ? 12 : 16));
	} else if (type == ETHERTYPE_IPV6) {
		if (len < l3 + IPV6_HLEN || (d[l3] >> 4) != 6)
			return r->kind;
		ip_end = l3 + IPV6_HLEN + get_be16(d + l3 + 4);
		if (ip_end > len)
			return r->kind;
		l4 = l3 + IPV6_HLEN;
		proto = walk_headers(d, &l4, ip_end, d[l3 + 6], 1, &w);
		r->ipv6 = 1;
		r->local_addr_off = (uint16_t)(l3 + (dir == CLASSIFY_OUTBOUND ? 8 : 24));
	} else {
		/* ARP, LLDP, ...: OTHER; IP inside what is not opened: MALFORMED */
		r->kind = carries_ip(d, len, l3, type) ? CLASSIFY_MALFORMED : CLASSIFY_OTHER;
		return r->kind;
	}

	if (proto < 0)                               /* a chain not walked to its end */
		return r->kind;
	if (w.frag && (!w.first || proto != IPPROTO_UDP_)) {
		r->kind = CLASSIFY_FRAGMENT;
		return r->kind;
	}
	if (proto != IPPROTO_UDP_) {
		/* TCP, ICMP, ESP, ...; an outbound ICMP error quoting media: not */
		r->kind = CLASSIFY_OTHER;
		if (dir == CLASSIFY_OUTBOUND &&
		    proto == (r->ipv6 ? IPPROTO_ICMPV6_ : IPPROTO_ICMP_))
			r->kind = (uint8_t)icmp_quote(cfg, d, l4, ip_end, r->ipv6);
		return r->kind;
	}

	/* UDP (RFC 768). Without its ports nothing is known: MALFORMED (a first
	 * fragment too short for them too, RFC 1858). */
	if (l4 + UDP_HLEN > ip_end)
		return r->kind;
	uint32_t ulen = get_be16(d + l4 + 4);
	uint16_t port = get_be16(d + l4 + (dir == CLASSIFY_OUTBOUND ? 0 : 2));
	int media = media_port(cfg, port);
	if (w.frag) {
		r->kind = CLASSIFY_FRAGMENT;
		r->media_frag = (uint8_t)media;
		return r->kind;
	}
	/* The UDP length must be the IP payload on a media port (so that the
	 * lengths written after the crypto step hold); elsewhere no more than
	 * it, and never less than the UDP header. */
	if (ulen < UDP_HLEN || l4 + ulen > ip_end)
		return r->kind;
	if (!media) {
		r->kind = CLASSIFY_OTHER;
		return r->kind;
	}
	if (l4 + ulen != ip_end || w.ah)   /* AH: the crypto step would break its ICV */
		return r->kind;
	r->l3_off = (uint16_t)l3;
	r->l4_off = (uint16_t)l4;
	r->payload_off = (uint16_t)(l4 + UDP_HLEN);
	r->payload_len = (uint16_t)(ulen - UDP_HLEN);
	r->local_port = port;
	r->kind = (uint8_t)demux_payload(d + r->payload_off, r->payload_len);
	return r->kind;
}

/*
 * The common case of a media stream, decided in a few loads and branches:
 * untagged IPv4 without options (IHL 5), not a fragment, UDP whose length is
 * the IP payload, on a media port. Fills r exactly as classify_frame() would
 * and returns its kind, or -1: anything else (classify_frame() decides it).
 */
static inline int classify_fast(const struct classify_cfg *cfg, enum classify_dir dir,
				const uint8_t *d, uint32_t len, struct classify_result *r)
{
	const uint32_t l3 = ETH_HLEN, l4 = ETH_HLEN + IPV4_HLEN;

	if (len < l4 + UDP_HLEN || get_be16(d + 12) != ETHERTYPE_IPV4 || d[l3] != 0x45)
		return -1;
	uint32_t tot = get_be16(d + l3 + 2);
	uint32_t ulen = get_be16(d + l4 + 4);
	uint16_t port = get_be16(d + l4 + (dir == CLASSIFY_OUTBOUND ? 0 : 2));
	/* tot >= 28 follows from ulen >= 8 and ulen == tot - 20 */
	if (l3 + tot > len || (get_be16(d + l3 + 6) & 0x3fff) || d[l3 + 9] != IPPROTO_UDP_ ||
	    ulen < UDP_HLEN || ulen + IPV4_HLEN != tot || !media_port(cfg, port))
		return -1;
	*r = (struct classify_result){
		.l3_off = (uint16_t)l3,
		.l4_off = (uint16_t)l4,
		.payload_off = (uint16_t)(l4 + UDP_HLEN),
		.payload_len = (uint16_t)(ulen - UDP_HLEN),
		.local_port = port,
		.local_addr_off = (uint16_t)(l3 + (dir == CLASSIFY_OUTBOUND ? 12 : 16)),
	};
	r->kind = (uint8_t)demux_payload(d + l4 + UDP_HLEN, ulen - UDP_HLEN);
	return r->kind;
}

/* Frames this far ahead are prefetched while the current one is parsed. */
#define CLASSIFY_PREFETCH 4

unsigned classify_burst(const struct classify_cfg *cfg, enum classify_dir dir,
			const uint8_t *const data[], const uint32_t len[], unsigned n,
			struct classify_result r[])
{
	unsigned media = 0;

	for (unsigned i = 0; i < n && i < CLASSIFY_PREFETCH; i++)
		__builtin_prefetch(data[i]);
	for (unsigned i = 0; i < n; i++) {
		if (i + CLASSIFY_PREFETCH < n)
			__builtin_prefetch(data[i + CLASSIFY_PREFETCH]);
		int k = classify_fast(cfg, dir, data[i], len[i], &r[i]);
		if (k < 0)
			k = classify_frame(cfg, dir, data[i], len[i], &r[i]);
		media += k == CLASSIFY_RTP || k == CLASSIFY_RTCP;
	}
	return media;
}

const char *classify_kind_str(enum classify_kind k)
{
	static const char *const names[CLASSIFY_KIND_MAX] = {
		[CLASSIFY_OTHER] = "other",       [CLASSIFY_RTP] = "rtp",
		[CLASSIFY_RTCP] = "rtcp",         [CLASSIFY_STUN] = "stun",
		[CLASSIFY_DTLS] = "dtls",         [CLASSIFY_FRAGMENT] = "fragment",
		[CLASSIFY_MALFORMED] = "malformed", [CLASSIFY_ICMP_MEDIA] = "icmp_media",
	};
	return (unsigned)k < CLASSIFY_KIND_MAX ? names[k] : "unknown";
}
