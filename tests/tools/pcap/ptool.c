/* SPDX-License-Identifier: BSD-3-Clause */
/* ptool.c - shared helpers of the pcap test tools (see ptool.h). */
#include "byteorder.h"
#include "ptool.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

static inline void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

/* ---- randomness --------------------------------------------------------- */

void ptool_rng_seed(struct ptool_rng *r, uint64_t seed)
{
	/* splitmix64 of the seed, so that 0, 1, 2 ... give unrelated streams */
	uint64_t z = seed + 0x9e3779b97f4a7c15ull;
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ull;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebull;
	z ^= z >> 31;
	r->s = z ? z : 0x9e3779b97f4a7c15ull;
}

uint32_t ptool_rng_u32(struct ptool_rng *r)
{
	r->s ^= r->s >> 12;
	r->s ^= r->s << 25;
	r->s ^= r->s >> 27;
	return (uint32_t)((r->s * 0x2545f4914f6cdd1dull) >> 32);
}

uint32_t ptool_rng_below(struct ptool_rng *r, uint32_t n)
{
	return (uint32_t)(((uint64_t)ptool_rng_u32(r) * n) >> 32);
}

/* ---- addresses ---------------------------------------------------------- */

int ptool_parse_endpoint(const char *s, struct ptool_endpoint *ep)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *port;
	size_t hl;

	memset(ep, 0, sizeof(*ep));
	if (s[0] == '[') {
		const char *close = strchr(s, ']');
		if (!close || close[1] != ':')
			return -1;
		hl = (size_t)(close - s - 1);
		if (hl == 0 || hl >= sizeof(host))
			return -1;
		memcpy(host, s + 1, hl);
		host[hl] = 0;
		port = close + 2;
		ep->v6 = 1;
		if (inet_pton(AF_INET6, host, ep->addr) != 1)
			return -1;
	} else {
		const char *colon = strrchr(s, ':');
		if (!colon)
			return -1;
		hl = (size_t)(colon - s);
		if (hl == 0 || hl >= sizeof(host))
			return -1;
		memcpy(host, s, hl);
		host[hl] = 0;
		port = colon + 1;
		if (inet_pton(AF_INET, host, ep->addr) != 1)
			return -1;
	}
	char *end;
	unsigned long v = strtoul(port, &end, 10);
	if (!*port || *end || v == 0 || v > 65535)
		return -1;
	ep->port = (uint16_t)v;
	return 0;
}

const char *ptool_addr_str(int v6, const uint8_t *addr, char *buf, size_t n)
{
	if (!inet_ntop(v6 ? AF_INET6 : AF_INET, addr, buf, (socklen_t)n))
		snprintf(buf, n, "?");
	return buf;
}

/* ---- profiles and keys -------------------------------------------------- */

static const struct {
	const char *name;
	size_t key_len, salt_len, tag_len;
} profiles[] = {
	[PTOOL_PROFILE_NONE] = { "none", 0, 0, 0 },
	[PTOOL_PROFILE_AEAD_AES_128_GCM] = { "AEAD_AES_128_GCM", 16, PTOOL_SALT_LEN, 16 },
	[PTOOL_PROFILE_AEAD_AES_256_GCM] = { "AEAD_AES_256_GCM", 32, PTOOL_SALT_LEN, 16 },
	[PTOOL_PROFILE_AES_CM_128_HMAC_SHA1_80] = { "AES_CM_128_HMAC_SHA1_80", 16,
						    PTOOL_CM_SALT_LEN, 10 },
	[PTOOL_PROFILE_AES_CM_128_HMAC_SHA1_32] = { "AES_CM_128_HMAC_SHA1_32", 16,
						    PTOOL_CM_SALT_LEN, 4 },
};

int ptool_parse_profile(const char *s, enum ptool_profile *p)
{
	for (int i = PTOOL_PROFILE_AEAD_AES_128_GCM;
	     i <= PTOOL_PROFILE_AES_CM_128_HMAC_SHA1_32; i++) {
		if (strcmp(s, profiles[i].name) == 0) {
			*p = (enum ptool_profile)i;
			return 0;
		}
	}
	return -1;
}

const char *ptool_profile_name(enum ptool_profile p)
{
	return profiles[p].name;
}

size_t ptool_profile_key_len(enum ptool_profile p)
{
	return profiles[p].key_len;
}

size_t ptool_profile_salt_len(enum ptool_profile p)
{
	return profiles[p].salt_len;
}

int ptool_profile_is_cm(enum ptool_profile p)
{
	return p == PTOOL_PROFILE_AES_CM_128_HMAC_SHA1_80 ||
	       p == PTOOL_PROFILE_AES_CM_128_HMAC_SHA1_32;
}

size_t ptool_profile_tag_len(enum ptool_profile p, int rtcp)
{
	/* SRTCP's tag is always 80 bits with AES-CM (RFC 3711 s. 5.2) */
	return rtcp && ptool_profile_is_cm(p) ? 10 : profiles[p].tag_len;
}

int ptool_parse_inline(const char *s, enum ptool_profile p,
		       uint8_t keysalt[PTOOL_KEYSALT_MAX], char *err, size_t errlen)
{
	size_t want = ptool_profile_key_len(p) + ptool_profile_salt_len(p), got = 0;
	uint8_t buf[PTOOL_KEYSALT_MAX + 8];
	const char *end;
	int rc = -1;

	if (p == PTOOL_PROFILE_NONE) {
		snprintf(err, errlen, "--inline needs --profile");
		return -1;
	}
	if (strncmp(s, "inline:", 7) == 0)
		s += 7;
	/* RFC 4568 s. 6.1: key||salt ["|" lifetime] ["|" MKI ":" length] */
	const char *bar = strchr(s, '|');
	size_t b64len = bar ? (size_t)(bar - s) : strlen(s);
	if (bar && strchr(bar + 1, ':')) {
		snprintf(err, errlen, "an MKI in the inline key is not supported (use --mki)");
		return -1;
	}
	if (sodium_base642bin(buf, sizeof(buf), s, b64len, NULL, &got, &end,
			      sodium_base64_VARIANT_ORIGINAL) != 0 ||
	    end != s + b64len) {
		snprintf(err, errlen, "the inline key is not valid base64");
		goto out;
	}
	if (got != want) {
		snprintf(err, errlen,
			 "the inline key is %zu bytes; %s needs %zu (key %zu + salt %zu)",
			 got, ptool_profile_name(p), want,
			 ptool_profile_key_len(p), ptool_profile_salt_len(p));
		goto out;
	}
	memcpy(keysalt, buf, want);
	rc = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	return rc;
}

int ptool_parse_mki(const char *s, struct ptool_mki *m, char *err, size_t errlen)
{
	const char *colon = strrchr(s, ':');
	char vbuf[32], *end;
	unsigned long long v;
	unsigned long len;

	memset(m, 0, sizeof(*m));
	if (colon == NULL || colon == s || (size_t)(colon - s) >= sizeof(vbuf)) {
		snprintf(err, errlen, "'%s' is not VALUE:LEN", s);
		return -1;
	}
	memcpy(vbuf, s, (size_t)(colon - s));
	vbuf[colon - s] = 0;
	errno = 0;
	len = strtoul(colon + 1, &end, 10);
	if (errno || colon[1] == 0 || *end || len < 1 || len > PTOOL_MKI_MAX) {
		snprintf(err, errlen, "the MKI length in '%s' is not 1 to %d bytes", s,
			 PTOOL_MKI_MAX);
		return -1;
	}
	errno = 0;
	v = strtoull(vbuf, &end, 0);
	if (errno || vbuf[0] == 0 || vbuf[0] == '-' || *end ||
	    (len < 8 && v >> (8 * len) != 0)) {
		snprintf(err, errlen, "the MKI value in '%s' is not a number fitting %lu byte%s",
			 s, len, len == 1 ? "" : "s");
		return -1;
	}
	m->len = (unsigned)len;
	for (unsigned i = 0; i < m->len; i++)        /* RFC 4568 s. 6.1: big-endian */
		m->id[i] = (uint8_t)(v >> (8 * (m->len - 1 - i)));
	return 0;
}

int ptool_mki_opts(const char *mki, const char *mki_next, int have_inline,
		   int have_next, struct ptool_mki *m, struct ptool_mki *m_next,
		   char *err, size_t errlen)
{
	char e[120];

	memset(m, 0, sizeof(*m));
	memset(m_next, 0, sizeof(*m_next));
	if (mki && !have_inline) {
		snprintf(err, errlen, "--mki needs --profile and --inline");
		return -1;
	}
	if (mki_next && (!have_next || !mki)) {
		snprintf(err, errlen, "--mki-next needs --inline-next and --mki "
			 "(every key of a stream has an MKI, or none)");
		return -1;
	}
	if (mki && ptool_parse_mki(mki, m, e, sizeof(e))) {
		snprintf(err, errlen, "--mki: %s", e);
		return -1;
	}
	if (mki_next && ptool_parse_mki(mki_next, m_next, e, sizeof(e))) {
		snprintf(err, errlen, "--mki-next: %s", e);
		return -1;
	}
	return 0;
}

/* A policy and the storage its one MKI master key points into (libsrtp2
 * copies both at srtp_create / srtp_add_stream). */
struct policy {
	srtp_policy_t pol;
	srtp_master_key_t mk;
	srtp_master_key_t *mkp[1];
	uint8_t mki[PTOOL_MKI_MAX];
};

static void srtp_policy(struct policy *pp, enum ptool_profile p,
			uint8_t *keysalt, const struct ptool_mki *mki,
			int inbound, unsigned long window)
{
	srtp_policy_t *pol = &pp->pol;

	memset(pp, 0, sizeof(*pp));
	if (p == PTOOL_PROFILE_AEAD_AES_128_GCM) {
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_128_16_auth(&pol->rtcp);
	} else if (p == PTOOL_PROFILE_AES_CM_128_HMAC_SHA1_80) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_80(&pol->rtp);
		srtp_crypto_policy_set_rtcp_default(&pol->rtcp);  /* SRTCP: 80-bit tag */
	} else if (p == PTOOL_PROFILE_AES_CM_128_HMAC_SHA1_32) {
		srtp_crypto_policy_set_aes_cm_128_hmac_sha1_32(&pol->rtp);
		srtp_crypto_policy_set_rtcp_default(&pol->rtcp);  /* RFC 4568 s. 6.2.1 */
	} else {
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol->rtp);
		srtp_crypto_policy_set_aes_gcm_256_16_auth(&pol->rtcp);
	}
	pol->ssrc.type = inbound ? ssrc_any_inbound : ssrc_any_outbound;
	if (mki != NULL && mki->len > 0) {
		/* RFC 3711 s. 3.1: the MKI names the master key */
		memcpy(pp->mki, mki->id, mki->len);
		pp->mk.key = keysalt;
		pp->mk.mki_id = pp->mki;
		pp->mk.mki_size = mki->len;
		pp->mkp[0] = &pp->mk;
		pol->keys = pp->mkp;
		pol->num_master_keys = 1;
	} else {
		pol->key = keysalt;
	}
	pol->window_size = window;
	pol->allow_repeat_tx = 0;
	pol->next = NULL;
}

srtp_err_status_t ptool_srtp_create(srtp_t *ctx, enum ptool_profile p,
				    uint8_t *keysalt, const struct ptool_mki *mki,
				    int inbound, unsigned long window)
{
	struct policy pp;

	srtp_policy(&pp, p, keysalt, mki, inbound, window);
	return srtp_create(ctx, &pp.pol);
}

srtp_err_status_t ptool_srtp_stream(srtp_t ctx, enum ptool_profile p,
				    uint8_t *keysalt, const struct ptool_mki *mki,
				    uint32_t ssrc, int inbound, unsigned long window,
				    int update)
{
	struct policy pp;

	srtp_policy(&pp, p, keysalt, mki, inbound, window);
	pp.pol.ssrc.type = ssrc_specific;
	pp.pol.ssrc.value = ssrc;
	return update ? srtp_update_stream(ctx, &pp.pol) : srtp_add_stream(ctx, &pp.pol);
}

srtp_err_status_t ptool_srtp_protect(srtp_t ctx, void *pkt, int *len, int rtcp,
				     const struct ptool_mki *mki)
{
	unsigned use_mki = mki != NULL && mki->len > 0;

	return rtcp ? srtp_protect_rtcp_mki(ctx, pkt, len, use_mki, 0)
		    : srtp_protect_mki(ctx, pkt, len, use_mki, 0);
}

srtp_err_status_t ptool_srtp_unprotect(srtp_t ctx, void *pkt, int *len, int rtcp,
				       const struct ptool_mki *mki)
{
	unsigned use_mki = mki != NULL && mki->len > 0;

	return rtcp ? srtp_unprotect_rtcp_mki(ctx, pkt, len, use_mki)
		    : srtp_unprotect_mki(ctx, pkt, len, use_mki);
}

/* ---- parsing ------------------------------------------------------------ */

int ptool_parse(const uint8_t *d, uint32_t len, uint16_t media_lo,
		uint16_t media_hi, struct ptool_parsed *p)
{
	uint32_t l3 = PTOOL_ETH_HLEN;

	memset(p, 0, sizeof(*p));
	p->kind = PTOOL_K_MALFORMED;
	if (len < PTOOL_ETH_HLEN)
		return p->kind;
	p->ethertype = get_be16(d + 12);
	if (p->ethertype == PTOOL_ETHERTYPE_VLAN) {
		if (len < PTOOL_ETH_HLEN + PTOOL_VLAN_HLEN)
			return p->kind;
		p->has_vlan = 1;
		p->vlan_tci = get_be16(d + 14);
		p->ethertype = get_be16(d + 16);
		l3 += PTOOL_VLAN_HLEN;
	}
	p->l3 = l3;

	if (p->ethertype == PTOOL_ETHERTYPE_IPV4) {
		if (len < l3 + 20 || (d[l3] >> 4) != 4)
			return p->kind;
		uint32_t ihl = 4u * (d[l3] & 0x0f), tot = get_be16(d + l3 + 2);
		if (ihl < 20 || tot < ihl || l3 + tot > len)
			return p->kind;
		p->ip_end = l3 + tot;
		p->l4 = l3 + ihl;
		p->proto = d[l3 + 9];
		p->fragment = (get_be16(d + l3 + 6) & 0x3fff) != 0;
	} else if (p->ethertype == PTOOL_ETHERTYPE_IPV6) {
		if (len < l3 + 40 || (d[l3] >> 4) != 6)
			return p->kind;
		p->v6 = 1;
		p->ip_end = l3 + 40 + get_be16(d + l3 + 4);
		if (p->ip_end > len)
			return p->kind;
		uint8_t nh = d[l3 + 6];
		uint32_t off = l3 + 40;
		/* hop-by-hop, routing, fragment, destination options */
		for (int i = 0; i < 8 && (nh == 0 || nh == 43 || nh == 44 || nh == 60); i++) {
			if (off + 8 > p->ip_end)
				return p->kind;
			if (nh == 44)
				p->fragment = 1;
			uint32_t elen = nh == 44 ? 8 : 8u * (d[off + 1] + 1u);
			nh = d[off];
			off += elen;
		}
		if (off > p->ip_end)
			return p->kind;
		p->l4 = off;
		p->proto = nh;
	} else {
		p->kind = PTOOL_K_NONIP;
		return p->kind;
	}

	p->kind = PTOOL_K_IP;
	if (p->proto != PTOOL_IPPROTO_UDP || p->fragment)
		return p->kind;
	p->kind = PTOOL_K_MALFORMED;
	if (p->l4 + 8 > p->ip_end)
		return p->kind;
	uint32_t ulen = get_be16(d + p->l4 + 4);
	if (ulen < 8 || p->l4 + ulen > p->ip_end)
		return p->kind;
	p->sport = get_be16(d + p->l4);
	p->dport = get_be16(d + p->l4 + 2);
	p->payload = p->l4 + 8;
	p->payload_len = ulen - 8;
	p->kind = PTOOL_K_UDP;

	int media_port = (p->sport >= media_lo && p->sport <= media_hi) ||
			 (p->dport >= media_lo && p->dport <= media_hi);
	const uint8_t *u = d + p->payload;
	if (!media_port || p->payload_len < 8 || u[0] < 128 || u[0] > 191)
		return p->kind;
	if (u[1] >= 192 && u[1] <= 223) {                /* RFC 5761 s. 4 */
		p->kind = PTOOL_K_RTCP;
		p->ssrc = get_be32(u + 4);
	} else if (p->payload_len >= 12) {
		p->kind = PTOOL_K_RTP;
		p->ssrc = get_be32(u + 8);
	}
	return p->kind;
}

/* ---- checksums ---------------------------------------------------------- */

uint32_t ptool_csum_add(uint32_t sum, const uint8_t *p, size_t n)
{
	size_t i;
	for (i = 0; i + 1 < n; i += 2)
		sum += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (i < n)
		sum += (uint32_t)p[i] << 8;
	/* keep it from overflowing on long inputs */
	while (sum > 0xffffu * 2)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

uint16_t ptool_csum_fold(uint32_t sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return (uint16_t)~sum;
}

static uint32_t pseudo_sum(int v6, const uint8_t *src, const uint8_t *dst,
			   uint8_t proto, uint32_t l4len)
{
	uint8_t tail[8] = { 0 };
	uint32_t sum = 0;

	sum = ptool_csum_add(sum, src, v6 ? 16 : 4);
	sum = ptool_csum_add(sum, dst, v6 ? 16 : 4);
	if (v6) {
		/* RFC 8200 s. 8.1: length (32 bits), 3 zero bytes, next header */
		tail[0] = (uint8_t)(l4len >> 24);
		tail[1] = (uint8_t)(l4len >> 16);
		tail[2] = (uint8_t)(l4len >> 8);
		tail[3] = (uint8_t)l4len;
		tail[7] = proto;
		return ptool_csum_add(sum, tail, 8);
	}
	/* RFC 768: zero, protocol, UDP length */
	tail[1] = proto;
	tail[2] = (uint8_t)(l4len >> 8);
	tail[3] = (uint8_t)l4len;
	return ptool_csum_add(sum, tail, 4);
}

uint16_t ptool_l4_csum(int v6, const uint8_t *src, const uint8_t *dst,
		       uint8_t proto, const uint8_t *l4, uint32_t l4len)
{
	uint32_t sum = pseudo_sum(v6, src, dst, proto, l4len);
	uint16_t c = ptool_csum_fold(ptool_csum_add(sum, l4, l4len));
	/* RFC 768: a computed 0 is sent as all ones (0 means "none") */
	return (proto == PTOOL_IPPROTO_UDP && c == 0) ? 0xffff : c;
}

static const uint8_t *ip_src(const uint8_t *d, const struct ptool_parsed *p)
{
	return d + p->l3 + (p->v6 ? 8 : 12);
}

static const uint8_t *ip_dst(const uint8_t *d, const struct ptool_parsed *p)
{
	return d + p->l3 + (p->v6 ? 24 : 16);
}

uint32_t ptool_fix_udp(uint8_t *d, const struct ptool_parsed *p,
		       uint32_t payload_len)
{
	uint32_t ulen = 8 + payload_len, end = p->l4 + ulen;

	if (p->v6) {
		put16(d + p->l3 + 4, (uint16_t)(end - p->l3 - 40));
	} else {
		put16(d + p->l3 + 2, (uint16_t)(end - p->l3));
		put16(d + p->l3 + 10, 0);
		uint32_t ihl = 4u * (d[p->l3] & 0x0f);
		put16(d + p->l3 + 10, ptool_csum_fold(ptool_csum_add(0, d + p->l3, ihl)));
	}
	put16(d + p->l4 + 4, (uint16_t)ulen);
	put16(d + p->l4 + 6, 0);
	put16(d + p->l4 + 6, ptool_l4_csum(p->v6, ip_src(d, p), ip_dst(d, p),
					   PTOOL_IPPROTO_UDP, d + p->l4, ulen));
	return end;
}

int ptool_check_ip(const uint8_t *d, const struct ptool_parsed *p,
		   char *why, size_t n)
{
	if (p->kind == PTOOL_K_NONIP)
		return 1;
	if (p->kind == PTOOL_K_MALFORMED) {
		snprintf(why, n, "malformed or truncated IP/UDP headers");
		return -1;
	}
	if (!p->v6) {
		uint32_t ihl = 4u * (d[p->l3] & 0x0f);
		if (ptool_csum_fold(ptool_csum_add(0, d + p->l3, ihl)) != 0) {
			snprintf(why, n, "bad IPv4 header checksum 0x%04x",
				 get_be16(d + p->l3 + 10));
			return -1;
		}
	}
	if (p->proto != PTOOL_IPPROTO_UDP || p->fragment)
		return 0;
	uint32_t ulen = get_be16(d + p->l4 + 4);
	if (ulen != p->ip_end - p->l4) {
		snprintf(why, n, "UDP length %u but IP payload %u", ulen,
			 p->ip_end - p->l4);
		return -1;
	}
	uint16_t c = get_be16(d + p->l4 + 6);
	if (c == 0) {
		if (!p->v6)
			return 0;
		snprintf(why, n, "IPv6 UDP checksum is zero");
		return -1;
	}
	uint32_t sum = pseudo_sum(p->v6, ip_src(d, p), ip_dst(d, p),
				  PTOOL_IPPROTO_UDP, ulen);
	if (ptool_csum_fold(ptool_csum_add(sum, d + p->l4, ulen)) != 0) {
		snprintf(why, n, "bad UDP checksum 0x%04x", c);
		return -1;
	}
	return 0;
}
