/* SPDX-License-Identifier: BSD-3-Clause */
/* classify.c - frame parsing and media demultiplexing (RFC 7983, RFC 5761). */
#include "byteorder.h"
#include "classify.h"

#define ETH_HLEN        14
#define VLAN_HLEN       4
#define ETHERTYPE_IPV4  0x0800
#define ETHERTYPE_IPV6  0x86dd
#define ETHERTYPE_VLAN  0x8100
#define IPPROTO_UDP_    17
#define IPV6_HLEN       40
#define IPV6_MAX_EXT    8      /* extension headers walked before giving up */

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

int classify_frame(const struct classify_cfg *cfg, enum classify_dir dir,
		   const uint8_t *d, uint32_t len, struct classify_result *r)
{
	uint32_t l3, l4, ip_end;
	uint16_t type;

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
		if (len < l3 + 20 || (d[l3] >> 4) != 4)
			return r->kind;
		uint32_t ihl = 4u * (d[l3] & 0x0f);
		uint32_t tot = get_be16(d + l3 + 2);
		if (ihl < 20 || tot < ihl || l3 + tot > len)
			return r->kind;
		ip_end = l3 + tot;
		if (get_be16(d + l3 + 6) & 0x3fff) {     /* MF flag or fragment offset */
			r->kind = CLASSIFY_FRAGMENT;
			return r->kind;
		}
		if (d[l3 + 9] != IPPROTO_UDP_) {
			r->kind = CLASSIFY_OTHER;
			return r->kind;
		}
		l4 = l3 + ihl;
		r->local_addr_off = (uint16_t)(l3 + (dir == CLASSIFY_OUTBOUND ? 12 : 16));
	} else if (type == ETHERTYPE_IPV6) {
		if (len < l3 + IPV6_HLEN || (d[l3] >> 4) != 6)
			return r->kind;
		ip_end = l3 + IPV6_HLEN + get_be16(d + l3 + 4);
		if (ip_end > len)
			return r->kind;
		uint8_t nh = d[l3 + 6];
		l4 = l3 + IPV6_HLEN;
		for (int i = 0; nh != IPPROTO_UDP_; i++) {
			if (nh == 44) {                   /* Fragment header */
				r->kind = CLASSIFY_FRAGMENT;
				return r->kind;
			}
			if ((nh != 0 && nh != 43 && nh != 60) || i == IPV6_MAX_EXT) {
				r->kind = CLASSIFY_OTHER;     /* not UDP (or too deep) */
				return r->kind;
			}
			if (l4 + 8 > ip_end)
				return r->kind;
			nh = d[l4];
			l4 += 8u * (d[l4 + 1] + 1u);
		}
		r->ipv6 = 1;
		r->local_addr_off = (uint16_t)(l3 + (dir == CLASSIFY_OUTBOUND ? 8 : 24));
	} else {
		r->kind = CLASSIFY_OTHER;             /* ARP, LLDP, ... */
		return r->kind;
	}

	/* UDP (RFC 768): the length field must fit the IP payload. */
	if (l4 + 8 > ip_end)
		return r->kind;
	uint32_t ulen = get_be16(d + l4 + 4);
	if (ulen < 8 || l4 + ulen > ip_end)
		return r->kind;
	r->l3_off = (uint16_t)l3;
	r->l4_off = (uint16_t)l4;
	r->payload_off = (uint16_t)(l4 + 8);
	r->payload_len = (uint16_t)(ulen - 8);
	r->local_port = get_be16(d + l4 + (dir == CLASSIFY_OUTBOUND ? 0 : 2));
	if (r->local_port < cfg->media_lo || r->local_port > cfg->media_hi) {
		r->kind = CLASSIFY_OTHER;
		return r->kind;
	}
	r->kind = (uint8_t)demux_payload(d + r->payload_off, r->payload_len);
	return r->kind;
}

const char *classify_kind_str(enum classify_kind k)
{
	static const char *const names[CLASSIFY_KIND_MAX] = {
		[CLASSIFY_OTHER] = "other",       [CLASSIFY_RTP] = "rtp",
		[CLASSIFY_RTCP] = "rtcp",         [CLASSIFY_STUN] = "stun",
		[CLASSIFY_DTLS] = "dtls",         [CLASSIFY_FRAGMENT] = "fragment",
		[CLASSIFY_MALFORMED] = "malformed",
	};
	return (unsigned)k < CLASSIFY_KIND_MAX ? names[k] : "unknown";
}
