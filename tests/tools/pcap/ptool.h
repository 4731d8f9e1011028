/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * ptool.h - what callseal-rtpgen and callseal-srtpcheck share: a reproducible
 * random generator, address and key parsing, a libsrtp2 session set-up, an
 * Ethernet/VLAN/IPv4/IPv6/UDP parser and the Internet checksums.
 *
 * These are test tools. They deliberately do not use the dataplane's own
 * classifier or SRTP engine: they are the independent reference the
 * dataplane is checked against (libsrtp2 does the SRTP).
 */
#ifndef CALLSEAL_PTOOL_H
#define CALLSEAL_PTOOL_H

#include <stddef.h>
#include <stdint.h>

#include <srtp2/srtp.h>

#define PTOOL_FRAME_MAX       2048    /* largest frame either tool handles */
#define PTOOL_ETH_HLEN        14
#define PTOOL_VLAN_HLEN       4
#define PTOOL_ETHERTYPE_IPV4  0x0800
#define PTOOL_ETHERTYPE_ARP   0x0806
#define PTOOL_ETHERTYPE_VLAN  0x8100
#define PTOOL_ETHERTYPE_IPV6  0x86dd
#define PTOOL_IPPROTO_ICMP    1
#define PTOOL_IPPROTO_UDP     17
#define PTOOL_IPPROTO_ICMPV6  58
#define PTOOL_SALT_LEN        12      /* RFC 7714 s. 11: 96-bit master salt */
#define PTOOL_CM_SALT_LEN     14      /* RFC 3711 s. 8.2: 112-bit master salt */
#define PTOOL_KEYSALT_MAX     (32 + PTOOL_CM_SALT_LEN)
#define PTOOL_SRTP_TAG_LEN    16      /* RFC 7714: 16-octet tag */

/* ---- reproducible randomness (xorshift64*) ---------------------------- */
struct ptool_rng {
	uint64_t s;
};

void ptool_rng_seed(struct ptool_rng *r, uint64_t seed);
uint32_t ptool_rng_u32(struct ptool_rng *r);
/* Uniform enough in [0, n); n > 0. */
uint32_t ptool_rng_below(struct ptool_rng *r, uint32_t n);

/* ---- addresses --------------------------------------------------------- */
struct ptool_endpoint {
	int v6;                /* 0: IPv4 (addr[0..3]), 1: IPv6 */
	uint8_t addr[16];
	uint16_t port;         /* host order */
};

/* "192.0.2.1:5004" or "[2001:db8::1]:5004". 0 or -1. */
int ptool_parse_endpoint(const char *s, struct ptool_endpoint *ep);
/* The address as text (inet_ntop). */
const char *ptool_addr_str(int v6, const uint8_t *addr, char *buf, size_t n);

/* ---- SRTP profiles and keys ------------------------------------------- */
enum ptool_profile {
	PTOOL_PROFILE_NONE = 0,
	PTOOL_PROFILE_AEAD_AES_128_GCM,
	PTOOL_PROFILE_AEAD_AES_256_GCM,
	PTOOL_PROFILE_AES_CM_128_HMAC_SHA1_80,
	PTOOL_PROFILE_AES_CM_128_HMAC_SHA1_32,
};

/* "AEAD_AES_128_GCM" / "AEAD_AES_256_GCM" / "AES_CM_128_HMAC_SHA1_80" /
 * "AES_CM_128_HMAC_SHA1_32". 0 or -1. */
int ptool_parse_profile(const char *s, enum ptool_profile *p);
const char *ptool_profile_name(enum ptool_profile p);
size_t ptool_profile_key_len(enum ptool_profile p);
/* 12 (GCM) or 14 (AES-CM). */
size_t ptool_profile_salt_len(enum ptool_profile p);
/* SRTP tag octets: 16 (GCM), 10 or 4 (AES-CM); SRTCP's is 16 or 10. */
size_t ptool_profile_tag_len(enum ptool_profile p, int rtcp);
/* 1 for the AES-CM profiles: SRTCP is body || E||index || tag, not
 * body || tag || E||index as with GCM (RFC 3711 s. 3.4, RFC 7714 s. 9). */
int ptool_profile_is_cm(enum ptool_profile p);

/*
 * RFC 4568 inline key: base64 of master key || master salt (12 bytes GCM,
 * 14 AES-CM), optionally with an "inline:" prefix and a "|lifetime" suffix
 * (an MKI is refused: --mki gives it). Writes key_len(p) + salt_len(p) bytes. 0, or -1 with
 * a message in err.
 */
int ptool_parse_inline(const char *s, enum ptool_profile p,
		       uint8_t keysalt[PTOOL_KEYSALT_MAX], char *err, size_t errlen);

/*
 * RFC 3711 s. 3.1 MKI, as RFC 4568 writes it: "VALUE:LEN", VALUE decimal or
 * 0x-hex, LEN 1 to 4 bytes, VALUE fitting them; carried big-endian in LEN
 * bytes between the encrypted part and the tag. len 0: no MKI.
 */
#define PTOOL_MKI_MAX         4
struct ptool_mki {
	uint8_t id[PTOOL_MKI_MAX];
	unsigned len;
};

/* 0, or -1 with a message in err. */
int ptool_parse_mki(const char *s, struct ptool_mki *m, char *err, size_t errlen);

/* Both tools' --mki / --mki-next (NULL: not given), checked against whether
 * --inline / --inline-next were: 0, or -1 with a message in err. */
int ptool_mki_opts(const char *mki, const char *mki_next, int have_inline,
		   int have_next, struct ptool_mki *m, struct ptool_mki *m_next,
		   char *err, size_t errlen);

/* One libsrtp2 session for any SSRC, outbound or inbound. srtp_init() first.
 * mki: NULL or len 0 for none, else the master key's MKI (libsrtp2's
 * srtp_policy_t.keys; protect and unprotect through ptool_srtp_protect /
 * ptool_srtp_unprotect then). */
srtp_err_status_t ptool_srtp_create(srtp_t *ctx, enum ptool_profile p,
				    uint8_t *keysalt, const struct ptool_mki *mki,
				    int inbound, unsigned long window);

/*
 * Give one SSRC (host order) of a session its own stream with this key:
 * update = 0 adds it (the SSRC must have no stream yet: its ROC starts at 0);
 * update = 1 replaces the SSRC's existing stream (srtp_update_stream), which
 * keeps its RTP index (ROC and sequence number) and its SRTCP index/replay
 * state: a master key change in the middle of a stream (RFC 3711 s. 8.1).
 */
srtp_err_status_t ptool_srtp_stream(srtp_t ctx, enum ptool_profile p,
				    uint8_t *keysalt, const struct ptool_mki *mki,
				    uint32_t ssrc, int inbound, unsigned long window,
				    int update);

/* srtp_protect(_rtcp) / srtp_unprotect(_rtcp) of one packet in place, the
 * _mki variants (MKI of the session's one master key) when mki->len > 0. */
srtp_err_status_t ptool_srtp_protect(srtp_t ctx, void *pkt, int *len, int rtcp,
				     const struct ptool_mki *mki);
srtp_err_status_t ptool_srtp_unprotect(srtp_t ctx, void *pkt, int *len, int rtcp,
				       const struct ptool_mki *mki);

/* ---- frames ------------------------------------------------------------ */
enum ptool_kind {
	PTOOL_K_NONIP = 0,     /* ARP and anything not IPv4/IPv6 */
	PTOOL_K_IP,            /* IP but not UDP (ICMP, ...), or a fragment */
	PTOOL_K_UDP,           /* UDP that is not RTP/RTCP on a media port */
	PTOOL_K_RTP,           /* RTP or SRTP (RFC 7983 first byte 128-191) */
	PTOOL_K_RTCP,          /* RTCP or SRTCP (RFC 5761: second byte 192-223) */
	PTOOL_K_MALFORMED,     /* lengths do not add up, or truncated */
};

struct ptool_parsed {
	int kind;              /* enum ptool_kind */
	int v6;
	int has_vlan;
	uint16_t vlan_tci;
	uint16_t ethertype;    /* inner ethertype (after any VLAN tag) */
	uint8_t proto;         /* IP protocol / final next header */
	int fragment;
	uint32_t l3;           /* IP header */
	uint32_t l4;           /* transport header */
	uint32_t ip_end;       /* end of the IP packet (frame may have padding) */
	uint32_t payload;      /* UDP payload */
	uint32_t payload_len;  /* from the UDP length field */
	uint16_t sport, dport;
	uint32_t ssrc;         /* RTP/RTCP sender SSRC (plaintext in SRTP too) */
};

/*
 * Parse a frame. UDP whose payload starts with a byte in 128-191 is media
 * (RTP, or RTCP by RFC 5761) when either port is in [media_lo, media_hi] and
 * the payload is long enough to carry an SSRC. Returns p->kind.
 */
int ptool_parse(const uint8_t *d, uint32_t len, uint16_t media_lo,
		uint16_t media_hi, struct ptool_parsed *p);

/* ---- checksums (RFC 1071) ---------------------------------------------- */
uint32_t ptool_csum_add(uint32_t sum, const uint8_t *p, size_t n);
uint16_t ptool_csum_fold(uint32_t sum);    /* ~(folded sum) */
/* Transport checksum with the pseudo-header (RFC 768 / RFC 8200 s. 8.1),
 * over l4len bytes at l4 (whose checksum field must be zero). */
uint16_t ptool_l4_csum(int v6, const uint8_t *src, const uint8_t *dst,
		       uint8_t proto, const uint8_t *l4, uint32_t l4len);

/*
 * After the UDP payload of a parsed IP/UDP frame changed to payload_len
 * bytes: set the IP and UDP lengths, the IPv4 header checksum and the UDP
 * checksum. Returns the new frame length (the IP end).
 */
uint32_t ptool_fix_udp(uint8_t *d, const struct ptool_parsed *p,
		       uint32_t payload_len);

/*
 * Check a parsed IP frame: the IPv4 header checksum; for UDP (not a
 * fragment), the UDP length equal to the IP payload and the UDP checksum
 * valid (0 allowed for IPv4 only, RFC 8200 s. 8.1). 0 if good, 1 if not an
 * IP frame (nothing to check), else -1 with the reason in why.
 */
int ptool_check_ip(const uint8_t *d, const struct ptool_parsed *p,
		   char *why, size_t n);

#endif /* CALLSEAL_PTOOL_H */
