/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * classify.h - parse a frame and say what it is, for the dataplane's
 * "classify, then batch" step. No DPDK: works on (data, len).
 *
 * Ethernet with at most one 802.1Q tag, IPv4 (with options, AH) or IPv6
 * (walking up to 8 extension headers), UDP; then the UDP payload is
 * demultiplexed by its first byte (RFC 7983) and RTP is told from RTCP by the
 * second (RFC 5761 s. 4). It fails closed: what could be media and cannot be
 * parsed to its end is MALFORMED, never OTHER (docs/dataplane.md lists what is
 * accepted and what is not).
 */
#ifndef CALLSEAL_CLASSIFY_H
#define CALLSEAL_CLASSIFY_H

#include <stdint.h>

enum classify_kind {
	CLASSIFY_OTHER = 0,    /* not IP, not UDP, or UDP off the media ports: pass */
	CLASSIFY_RTP,          /* RTP or SRTP on a media port */
	CLASSIFY_RTCP,         /* RTCP or SRTCP on a media port */
	CLASSIFY_STUN,         /* RFC 7983: first byte 0-3 */
	CLASSIFY_DTLS,         /* RFC 7983: first byte 20-63 */
	CLASSIFY_FRAGMENT,     /* an IPv4 or IPv6 fragment (see media_frag) */
	CLASSIFY_MALFORMED,    /* could be media, cannot be parsed to its end:
				  lengths or headers that do not add up, an
				  IPv6 chain not walked, IP in an encapsulation
				  not opened (QinQ, MPLS, PPPoE, LLC/SNAP) */
	CLASSIFY_ICMP_MEDIA,   /* outbound ICMP/ICMPv6 error quoting UDP of a media
				  port: it carries media bytes (dropped) */
	CLASSIFY_KIND_MAX
};

/* Which side the frame arrived on: sets which address and port are local. */
enum classify_dir {
	CLASSIFY_OUTBOUND = 0, /* from the inside port: local = source */
	CLASSIFY_INBOUND = 1,  /* from the outside port: local = destination */
};

struct classify_cfg {
	uint16_t media_lo, media_hi;   /* local UDP ports that carry media */
};

struct classify_result {
	uint8_t kind;          /* enum classify_kind */
	uint8_t ipv6;          /* 0: IPv4, 1: IPv6 */
	uint16_t l3_off;       /* IP header */
	uint16_t l4_off;       /* UDP header */
	uint16_t payload_off;  /* UDP payload: the RTP/RTCP packet */
	uint16_t payload_len;  /* from the UDP length field */
	uint16_t local_port;   /* host order */
	uint16_t local_addr_off; /* the local address (4 or 16 bytes) in the frame */
	uint8_t media_frag;    /* FRAGMENT: the first fragment of UDP on a media
				  port (dropped even with --fragments pass) */
};

/*
 * Classify one frame of len bytes that arrived in direction dir.
 * Never reads past data + len. Returns r->kind.
 */
int classify_frame(const struct classify_cfg *cfg, enum classify_dir dir,
		   const uint8_t *data, uint32_t len, struct classify_result *r);

/*
 * Classify a burst: frame i of len[i] bytes at data[i] into r[i], exactly as
 * classify_frame() would, in one pass that prefetches the frames ahead and
 * decides the common case of media (untagged IPv4 without options, UDP on a
 * media port) without the full parse. Returns how many are RTP or RTCP.
 */
unsigned classify_burst(const struct classify_cfg *cfg, enum classify_dir dir,
			const uint8_t *const data[], const uint32_t len[], unsigned n,
			struct classify_result r[]);

/* "other", "rtp", "rtcp", "stun", "dtls", "fragment", "malformed" */
const char *classify_kind_str(enum classify_kind k);

#endif /* CALLSEAL_CLASSIFY_H */
