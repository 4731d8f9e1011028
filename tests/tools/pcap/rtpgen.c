/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callseal-rtpgen - write a pcap of a media scenario for the dataplane's
 * integration tests (fed to DPDK's net_pcap vdev).
 *
 *   --direction out: plaintext RTP/RTCP from local to remote, as the local
 *     media application sends it into the inside port.
 *   --direction in: RTP/RTCP from remote to local, as the far end sends it
 *     into the outside port; with --profile and --inline it is SRTP/SRTCP
 *     protected by libsrtp2 (RFC 7714 AES-GCM, 16-octet tag, or RFC 3711
 *     AES-CM with HMAC-SHA1, 10- or 4-octet tag), and --plain-out
 *     writes the same frames unprotected: what the inside port should emit.
 *
 * --inline-next/--from-index: a master key change (RFC 3711 <From, To>):
 * SRTP from that index on, and SRTCP once such an SRTP packet was sent, use
 * the next key; libsrtp2's srtp_update_stream keeps each stream's ROC.
 * --mki/--mki-next: each key's MKI goes into its packets (RFC 3711 s. 3.1,
 * libsrtp2's srtp_protect_mki).
 *
 * The scenario is reproducible from --seed. Every frame has correct IPv4
 * header and UDP checksums (IPv6: UDP checksum always present).
 */
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>
#include <sodium.h>
#include <srtp2/srtp.h>

#include "callseal_version.h"
#include "ptool.h"

#define MAX_SSRCS          64
#define MAX_PAYLOAD        1200     /* keeps every frame under 1518 bytes */
#define REPLAY_RING        4        /* replay the media frame 3 before */
#define REPLAY_BACK        3
#define TS_BASE_SEC        1700000000u
#define FRAME_GAP_USEC     1000u    /* pcap timestamps: 1 ms apart */
#define CNAME              "rtpgen@callseal.test"

/* Fixed MACs: the local (inside) application and the remote side. */
static const uint8_t mac_local[6] = { 0x02, 0x00, 0x00, 0xc5, 0x00, 0x01 };
static const uint8_t mac_remote[6] = { 0x02, 0x00, 0x00, 0xc5, 0x00, 0x02 };
static const uint8_t mac_bcast[6] = { 0xff, 0xff, 0xff, 0xff, 0xff, 0xff };
/* ARP in an IPv6 scenario uses these (RFC 5737 documentation addresses). */
static const uint8_t arp_v4_local[4] = { 192, 0, 2, 1 };
static const uint8_t arp_v4_remote[4] = { 192, 0, 2, 2 };

/* --mix intervals, in media frames (genuine RTP + RTCP) */
#define MIX_STUN_EVERY     10
#define MIX_DTLS_EVERY     25
#define MIX_OTHER_EVERY    50       /* ICMP echo, ARP, non-media UDP */
#define OTHER_PORT_DEFAULT 53

struct stream {
	uint32_t ssrc;
	uint16_t seq;
	uint32_t ts;
	uint8_t pt;
	uint32_t sent, octets;
	unsigned rtcp_sent;
	uint64_t index;                /* SRTP index of the next RTP packet */
	int rekeyed;                   /* protected with --inline-next now */
};

struct gen {
	/* options */
	const char *out_path, *plain_path;
	struct ptool_endpoint local, remote;
	int dir_in;
	enum ptool_profile profile;
	uint8_t keysalt[PTOOL_KEYSALT_MAX];
	int have_key;
	uint8_t next_keysalt[PTOOL_KEYSALT_MAX];  /* --inline-next */
	int have_next;
	struct ptool_mki mki, next_mki;  /* --mki, --mki-next (len 0: none) */
	uint64_t from_index;           /* --from-index */
	int vlan;                      /* -1: none */
	unsigned nssrc, packets, rtcp_every, tamper_every, replay_every;
	uint16_t seq_start;
	int csrcs, ext, padding, mix;
	uint32_t pay_min, pay_max;
	uint64_t seed;
	uint16_t other_port;

	/* state */
	struct ptool_rng rng;          /* the scenario */
	struct ptool_rng trng;         /* tampering: leaves the scenario as it is */
	pcap_t *dead;
	pcap_dumper_t *out, *plain;
	srtp_t srtp;
	int srtp_ok;
	int crossed;                   /* an SRTP packet at or past --from-index was sent */
	uint64_t frame_no;
	uint16_t ip_id, icmp_seq, dns_id;
	uint64_t dtls_seq;
	uint32_t remote_report_ssrc;
	struct stream st[MAX_SSRCS];
	unsigned media;                /* genuine media frames so far */
	uint8_t ring[REPLAY_RING][PTOOL_FRAME_MAX];
	uint32_t ring_len[REPLAY_RING];
	unsigned ring_n;

	/* counts */
	unsigned long n_rtp, n_rtcp, n_stun, n_dtls, n_other, n_tampered,
		      n_replayed, n_frames, n_old_key, n_new_key;
};

static void put16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static void put32(uint8_t *p, uint32_t v)
{
	p[0] = (uint8_t)(v >> 24);
	p[1] = (uint8_t)(v >> 16);
	p[2] = (uint8_t)(v >> 8);
	p[3] = (uint8_t)v;
}

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("callseal-rtpgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	exit(1);
}

/* ---- frame building ----------------------------------------------------- */

/* Sender and receiver for this direction. */
static const struct ptool_endpoint *src_ep(const struct gen *g)
{
	return g->dir_in ? &g->remote : &g->local;
}

static const struct ptool_endpoint *dst_ep(const struct gen *g)
{
	return g->dir_in ? &g->local : &g->remote;
}

/* Ethernet (+ 802.1Q) header; returns its length. */
static uint32_t l2(const struct gen *g, uint8_t *f, const uint8_t *dmac,
		   uint16_t ethertype)
{
	uint32_t n = 0;
	memcpy(f, dmac, 6);
	memcpy(f + 6, g->dir_in ? mac_remote : mac_local, 6);
	n = 12;
	if (g->vlan >= 0) {
		put16(f + n, PTOOL_ETHERTYPE_VLAN);
		put16(f + n + 2, (uint16_t)g->vlan);   /* PCP 0, DEI 0 */
		n += 4;
	}
	put16(f + n, ethertype);
	return n + 2;
}

static uint32_t dmac_len(const struct gen *g, uint8_t *f, uint16_t ethertype)
{
	return l2(g, f, g->dir_in ? mac_local : mac_remote, ethertype);
}

/* IP header for an l4len-byte transport payload; returns the L4 offset. */
static uint32_t l3(struct gen *g, uint8_t *f, uint32_t off, uint8_t proto,
		   uint32_t l4len)
{
	const struct ptool_endpoint *s = src_ep(g), *d = dst_ep(g);
	uint8_t *ip = f + off;

	if (s->v6) {
		memset(ip, 0, 40);
		ip[0] = 0x60;                           /* version 6, TC 0, flow 0 */
		put16(ip + 4, (uint16_t)l4len);
		ip[6] = proto;
		ip[7] = 64;                             /* hop limit */
		memcpy(ip + 8, s->addr, 16);
		memcpy(ip + 24, d->addr, 16);
		return off + 40;
	}
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, (uint16_t)(20 + l4len));
	put16(ip + 4, g->ip_id++);
	put16(ip + 6, 0x4000);                          /* DF */
	ip[8] = 64;
	ip[9] = proto;
	memcpy(ip + 12, s->addr, 4);
	memcpy(ip + 16, d->addr, 4);
	put16(ip + 10, ptool_csum_fold(ptool_csum_add(0, ip, 20)));
	return off + 20;
}

/* A whole Ethernet/IP/UDP frame around payload; returns the frame length. */
static uint32_t udp_frame(struct gen *g, uint8_t *f, uint16_t sport,
			  uint16_t dport, const uint8_t *pl, uint32_t plen)
{
	const struct ptool_endpoint *s = src_ep(g), *d = dst_ep(g);
	uint32_t off = dmac_len(g, f, s->v6 ? PTOOL_ETHERTYPE_IPV6 : PTOOL_ETHERTYPE_IPV4);
	uint32_t u = l3(g, f, off, PTOOL_IPPROTO_UDP, 8 + plen);

	put16(f + u, sport);
	put16(f + u + 2, dport);
	put16(f + u + 4, (uint16_t)(8 + plen));
	put16(f + u + 6, 0);
	memcpy(f + u + 8, pl, plen);
	put16(f + u + 6, ptool_l4_csum(s->v6, s->addr, d->addr, PTOOL_IPPROTO_UDP,
				       f + u, 8 + plen));
	return u + 8 + plen;
}

static uint32_t media_frame(struct gen *g, uint8_t *f, const uint8_t *pl,
			    uint32_t plen)
{
	return udp_frame(g, f, src_ep(g)->port, dst_ep(g)->port, pl, plen);
}

/* ---- output -------------------------------------------------------------- */

static void write_frame(struct gen *g, pcap_dumper_t *d, const uint8_t *f,
			uint32_t len)
{
	struct pcap_pkthdr h;
	uint64_t us = g->frame_no * FRAME_GAP_USEC;

	h.ts.tv_sec = (time_t)(TS_BASE_SEC + us / 1000000u);
	h.ts.tv_usec = (suseconds_t)(us % 1000000u);
	h.caplen = h.len = len;
	pcap_dump((u_char *)d, &h, f);
}

/* f (if any) to --out; plain (if any) to --plain-out. */
static void emit(struct gen *g, const uint8_t *f, uint32_t len,
		 const uint8_t *plain, uint32_t plain_len)
{
	if (f) {
		write_frame(g, g->out, f, len);
		g->n_frames++;
	}
	if (plain && g->plain)
		write_frame(g, g->plain, plain, plain_len);
	/* Tampered and replayed frames (no plain form) share the time of the
	 * frame before, so --plain-out does not depend on them. */
	if (plain)
		g->frame_no++;
}

/* ---- non-media frames (--mix) ------------------------------------------- */

static void emit_same(struct gen *g, const uint8_t *f, uint32_t len)
{
	emit(g, f, len, f, len);
}

/* RFC 8489 Binding request, no attributes: passes through unchanged. */
static void mix_stun(struct gen *g)
{
	uint8_t pl[20], f[PTOOL_FRAME_MAX];
	put16(pl, 0x0001);
	put16(pl + 2, 0);
	put32(pl + 4, 0x2112a442);                      /* magic cookie */
	for (int i = 8; i < 20; i++)
		pl[i] = (uint8_t)ptool_rng_u32(&g->rng);
	emit_same(g, f, media_frame(g, f, pl, sizeof(pl)));
	g->n_stun++;
}

/* A DTLS 1.2 application_data record (epoch 1): opaque to everyone. */
static void mix_dtls(struct gen *g)
{
	uint8_t pl[13 + 120], f[PTOOL_FRAME_MAX];
	uint32_t body = 40 + ptool_rng_below(&g->rng, 81);
	pl[0] = 23;                                     /* RFC 7983: 20-63 */
	pl[1] = 0xfe;
	pl[2] = 0xfd;                                   /* DTLS 1.2 */
	put16(pl + 3, 1);                               /* epoch */
	uint64_t s = g->dtls_seq++;
	put16(pl + 5, (uint16_t)(s >> 32));
	put32(pl + 7, (uint32_t)s);
	put16(pl + 11, (uint16_t)body);
	for (uint32_t i = 0; i < body; i++)
		pl[13 + i] = (uint8_t)ptool_rng_u32(&g->rng);
	emit_same(g, f, media_frame(g, f, pl, 13 + body));
	g->n_dtls++;
}

/* ICMP / ICMPv6 echo request from the sender to the receiver. */
static void mix_icmp(struct gen *g)
{
	const struct ptool_endpoint *s = src_ep(g), *d = dst_ep(g);
	uint8_t f[PTOOL_FRAME_MAX];
	uint8_t proto = s->v6 ? PTOOL_IPPROTO_ICMPV6 : PTOOL_IPPROTO_ICMP;
	uint32_t len = 8 + 32;
	uint32_t off = dmac_len(g, f, s->v6 ? PTOOL_ETHERTYPE_IPV6 : PTOOL_ETHERTYPE_IPV4);
	uint32_t l4 = l3(g, f, off, proto, len);
	uint8_t *ic = f + l4;

	ic[0] = s->v6 ? 128 : 8;                        /* echo request */
	ic[1] = 0;
	put16(ic + 2, 0);
	put16(ic + 4, 0x4353);                          /* identifier */
	put16(ic + 6, g->icmp_seq++);
	for (uint32_t i = 8; i < len; i++)
		ic[i] = (uint8_t)('a' + i % 23);
	uint16_t c = s->v6 ? ptool_l4_csum(1, s->addr, d->addr, proto, ic, len)
			   : ptool_csum_fold(ptool_csum_add(0, ic, len));
	put16(ic + 2, c);
	emit_same(g, f, l4 + len);
	g->n_other++;
}

/* ARP request, sender asks for the receiver (IPv4 documentation addresses
 * in an IPv6 scenario). */
static void mix_arp(struct gen *g)
{
	const struct ptool_endpoint *s = src_ep(g), *d = dst_ep(g);
	uint8_t f[PTOOL_FRAME_MAX];
	uint32_t off = l2(g, f, mac_bcast, PTOOL_ETHERTYPE_ARP);
	uint8_t *a = f + off;
	const uint8_t *spa = s->v6 ? (g->dir_in ? arp_v4_remote : arp_v4_local) : s->addr;
	const uint8_t *tpa = d->v6 ? (g->dir_in ? arp_v4_local : arp_v4_remote) : d->addr;

	put16(a, 1);                                    /* Ethernet */
	put16(a + 2, PTOOL_ETHERTYPE_IPV4);
	a[4] = 6;
	a[5] = 4;
	put16(a + 6, 1);                                /* request */
	memcpy(a + 8, g->dir_in ? mac_remote : mac_local, 6);
	memcpy(a + 14, spa, 4);
	memset(a + 18, 0, 6);
	memcpy(a + 24, tpa, 4);
	emit_same(g, f, off + 28);
	g->n_other++;
}

/* A DNS query between the two addresses on a port outside the media range
 * (--other-port, both ends). Its first byte (0x12) is no RFC 7983 kind. */
static void mix_other_udp(struct gen *g)
{
	static const uint8_t qname[] = "\x07" "example" "\x04" "test";
	uint8_t pl[64], f[PTOOL_FRAME_MAX];
	uint32_t n = 0;

	pl[n++] = 0x12;
	pl[n++] = (uint8_t)g->dns_id++;
	put16(pl + n, 0x0100);                          /* RD */
	n += 2;
	put16(pl + n, 1);                               /* QDCOUNT */
	n += 2;
	memset(pl + n, 0, 6);
	n += 6;
	memcpy(pl + n, qname, sizeof(qname));           /* with the root 0 */
	n += sizeof(qname);
	put16(pl + n, 1);                               /* A */
	put16(pl + n + 2, 1);                           /* IN */
	n += 4;
	emit_same(g, f, udp_frame(g, f, g->other_port, g->other_port, pl, n));
	g->n_other++;
}

static void mix_after_media(struct gen *g)
{
	if (!g->mix)
		return;
	if (g->media % MIX_STUN_EVERY == 0)
		mix_stun(g);
	if (g->media % MIX_DTLS_EVERY == 0)
		mix_dtls(g);
	if (g->media % MIX_OTHER_EVERY == 0) {
		mix_icmp(g);
		mix_arp(g);
		mix_other_udp(g);
	}
}

/* ---- media --------------------------------------------------------------- */

/*
 * --inline-next: from now on protect stream s (RTP and RTCP) with the next
 * master key. libsrtp2 replaces the SSRC's stream and keeps its ROC and
 * SRTCP index (srtp_update_stream), so any --from-index works; a stream not
 * yet in the session gets a stream of its own with the next key.
 */
static void rekey(struct gen *g, struct stream *s)
{
	int in_session = s->sent > 0 || s->rtcp_sent > 0;
	srtp_err_status_t e = ptool_srtp_stream(g->srtp, g->profile, g->next_keysalt,
						&g->next_mki, s->ssrc, 0, 1024,
						in_session);
	if (e != srtp_err_status_ok)
		die("libsrtp2 %s failed for ssrc 0x%08x: error %d",
		    in_session ? "srtp_update_stream" : "srtp_add_stream", s->ssrc, (int)e);
	s->rekeyed = 1;
}

/*
 * Emit one media packet (RTP if !rtcp) of stream s. hdr_len: where the
 * encrypted part starts (for --tamper-every). Protects it if a key is set
 * (the next key from --from-index on); may add a tampered copy before it and
 * a replayed older frame after it.
 */
static void emit_media(struct gen *g, struct stream *s, const uint8_t *pkt,
		       uint32_t len, uint32_t hdr_len, int rtcp)
{
	uint8_t plain[PTOOL_FRAME_MAX], prot[PTOOL_FRAME_MAX], buf[PTOOL_FRAME_MAX];
	uint16_t ip_id = g->ip_id;
	uint32_t plain_len = media_frame(g, plain, pkt, len);

	g->media++;
	if (rtcp)
		g->n_rtcp++;
	else
		g->n_rtp++;
	if (!g->have_key) {
		emit(g, plain, plain_len, plain, plain_len);
		mix_after_media(g);
		return;
	}

	/* RFC 3711 <From, To>: SRTP from index --from-index on; SRTCP once an
	 * SRTP packet at or past it has been sent */
	if (g->have_next && !s->rekeyed) {
		if (!rtcp && s->index >= g->from_index) {
			rekey(g, s);
			g->crossed = 1;
		} else if (rtcp && g->crossed) {
			rekey(g, s);
		}
	}
	if (s->rekeyed)
		g->n_new_key++;
	else
		g->n_old_key++;
	int plen = (int)len;
	memcpy(buf, pkt, len);
	srtp_err_status_t e = ptool_srtp_protect(g->srtp, buf, &plen, rtcp,
						 s->rekeyed ? &g->next_mki : &g->mki);
	if (e != srtp_err_status_ok)
		die("libsrtp2 %s failed: error %d", rtcp ? "srtp_protect_rtcp" : "srtp_protect", (int)e);
	g->ip_id = ip_id;          /* the same IPv4 ID as the plain frame */
	uint32_t prot_len = media_frame(g, prot, buf, (uint32_t)plen);

	if (g->tamper_every && g->media % g->tamper_every == 0) {
		/* A copy with one byte of ciphertext or tag changed, sent first:
		 * the dataplane must reject it on its tag (it has not seen the
		 * index yet, so it is not a replay) and still accept the
		 * genuine packet that follows. Its checksums are correct, its IPv4
		 * ID is the genuine one's: --plain-out does not depend on it. */
		uint8_t t[PTOOL_FRAME_MAX];
		uint32_t end = (uint32_t)plen - (rtcp ? 4 : 0);  /* SRTCP: not E||index */
		uint32_t at = hdr_len + ptool_rng_below(&g->trng, end - hdr_len);
		/* AES-CM SRTCP is body || E||index || tag: step over E||index
		 * (a changed index could read as a replay, not a forgery) */
		if (rtcp && ptool_profile_is_cm(g->profile) &&
		    at >= (uint32_t)plen - 4 - ptool_profile_tag_len(g->profile, 1))
			at += 4;
		buf[at] ^= (uint8_t)(1 + ptool_rng_below(&g->trng, 255));
		uint16_t next_id = g->ip_id;
		g->ip_id = ip_id;
		uint32_t tl = media_frame(g, t, buf, (uint32_t)plen);
		g->ip_id = next_id;
		emit(g, t, tl, NULL, 0);
		g->n_tampered++;
	}
	emit(g, prot, prot_len, plain, plain_len);

	unsigned slot = g->ring_n % REPLAY_RING;
	memcpy(g->ring[slot], prot, prot_len);
	g->ring_len[slot] = prot_len;
	g->ring_n++;
	if (g->replay_every && g->media % g->replay_every == 0) {
		/* The same bytes again, a little later: a replay. */
		unsigned back = g->ring_n > REPLAY_BACK ? REPLAY_BACK : g->ring_n - 1;
		unsigned r = (g->ring_n - 1 - back) % REPLAY_RING;
		emit(g, g->ring[r], g->ring_len[r], NULL, 0);
		g->n_replayed++;
	}
	mix_after_media(g);
}

/* RFC 3550 s. 5.1 RTP packet with optional CSRCs, RFC 8285 one-byte header
 * extension and padding. */
static void gen_rtp(struct gen *g, struct stream *s)
{
	uint8_t p[PTOOL_FRAME_MAX];
	uint32_t n = 0;
	unsigned cc = g->csrcs ? ptool_rng_below(&g->rng, 16) : 0;
	int ext = g->ext && ptool_rng_below(&g->rng, 3) == 0;
	int pad = g->padding && ptool_rng_below(&g->rng, 4) == 0;
	int marker = s->sent == 0 || ptool_rng_below(&g->rng, 50) == 0;
	uint32_t plen = g->pay_min + ptool_rng_below(&g->rng, g->pay_max - g->pay_min + 1);

	p[n++] = (uint8_t)(0x80 | (pad ? 0x20 : 0) | (ext ? 0x10 : 0) | cc);
	p[n++] = (uint8_t)((marker ? 0x80 : 0) | s->pt);
	put16(p + n, s->seq);
	n += 2;
	put32(p + n, s->ts);
	n += 4;
	put32(p + n, s->ssrc);
	n += 4;
	for (unsigned i = 0; i < cc; i++, n += 4)
		put32(p + n, ptool_rng_u32(&g->rng) | 1);
	if (ext) {
		uint32_t start = n, e = n + 4;
		unsigned nel = 1 + ptool_rng_below(&g->rng, 4);
		put16(p + n, 0xbede);
		for (unsigned i = 0; i < nel; i++) {
			unsigned id = 1 + ptool_rng_below(&g->rng, 14);
			unsigned l = 1 + ptool_rng_below(&g->rng, 16);
			p[e++] = (uint8_t)(id << 4 | (l - 1));
			for (unsigned k = 0; k < l; k++)
				p[e++] = (uint8_t)ptool_rng_u32(&g->rng);
		}
		while ((e - start) % 4)
			p[e++] = 0;                     /* padding elements */
		put16(p + start + 2, (uint16_t)((e - start - 4) / 4));
		n = e;
	}
	uint32_t hdr = n;
	for (uint32_t i = 0; i < plen; i++)
		p[n++] = (uint8_t)ptool_rng_u32(&g->rng);
	if (pad) {
		unsigned padlen = 1 + ptool_rng_below(&g->rng, 16);
		for (unsigned i = 1; i < padlen; i++)
			p[n++] = 0;
		p[n++] = (uint8_t)padlen;               /* RFC 3550 s. 5.1 P */
	}
	emit_media(g, s, p, n, hdr, 0);
	s->sent++;
	s->octets += plen;
	s->seq++;
	s->index++;
	s->ts += 160;
}

/* An RFC 3550 compound packet: SR or RR (alternately), then SDES CNAME. */
static void gen_rtcp(struct gen *g, struct stream *s)
{
	uint8_t p[256];
	uint32_t n = 0;
	int sr = s->rtcp_sent % 2 == 0;
	uint64_t us = g->frame_no * FRAME_GAP_USEC;

	p[n++] = 0x81;                                  /* V=2, RC=1 */
	p[n++] = sr ? 200 : 201;
	put16(p + n, sr ? 12 : 7);                      /* length - 1, in words */
	n += 2;
	put32(p + n, s->ssrc);
	n += 4;
	if (sr) {
		put32(p + n, (uint32_t)(TS_BASE_SEC + 2208988800u + us / 1000000u));
		put32(p + n + 4, (uint32_t)(((us % 1000000u) << 32) / 1000000u));
		put32(p + n + 8, s->ts);
		put32(p + n + 12, s->sent);
		put32(p + n + 16, s->octets);
		n += 20;
	}
	/* one report block about the other side's stream */
	put32(p + n, g->remote_report_ssrc);
	p[n + 4] = 0;                                   /* fraction lost */
	p[n + 5] = p[n + 6] = p[n + 7] = 0;             /* cumulative lost */
	put32(p + n + 8, 0x00010000u | ptool_rng_below(&g->rng, 65536));
	put32(p + n + 12, ptool_rng_below(&g->rng, 1000));  /* jitter */
	put32(p + n + 16, ptool_rng_u32(&g->rng));      /* LSR */
	put32(p + n + 20, ptool_rng_below(&g->rng, 65536)); /* DLSR */
	n += 24;

	uint32_t sdes = n, clen = sizeof(CNAME) - 1;
	p[n++] = 0x81;                                  /* SC=1 */
	p[n++] = 202;
	n += 2;
	put32(p + n, s->ssrc);
	n += 4;
	p[n++] = 1;                                     /* CNAME */
	p[n++] = (uint8_t)clen;
	memcpy(p + n, CNAME, clen);
	n += clen;
	p[n++] = 0;                                     /* END */
	while ((n - sdes) % 4)
		p[n++] = 0;
	put16(p + sdes + 2, (uint16_t)((n - sdes) / 4 - 1));

	emit_media(g, s, p, n, 8, 1);
	s->rtcp_sent++;
}

/* ---- options ------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: callseal-rtpgen --out FILE --local ADDR:PORT --remote ADDR:PORT [options]\n"
"\n"
"Writes a pcap (Ethernet) of RTP/RTCP media between local and remote, for the\n"
"dataplane's integration tests, and prints one JSON line of counts.\n"
"\n"
"  --out FILE            the frames (protected if a key is given)\n"
"  --local ADDR:PORT     the local media application (192.0.2.1:5004, [2001:db8::1]:5004)\n"
"  --remote ADDR:PORT    the far end\n"
"  --direction out|in    out (default): local -> remote, plaintext, for the inside port;\n"
"                        in: remote -> local, for the outside port\n"
"  --profile P           AEAD_AES_128_GCM, AEAD_AES_256_GCM, AES_CM_128_HMAC_SHA1_80\n"
"                        or AES_CM_128_HMAC_SHA1_32 (with --direction in)\n"
"  --inline BASE64       RFC 4568 inline key: base64(master key || 12-byte salt);\n"
"                        with --profile, the frames are SRTP/SRTCP (libsrtp2)\n"
"  --inline-next BASE64\n"
"                        the next master key (same profile): SRTP packets whose index\n"
"                        (ROC << 16 | SEQ, ROC 0 at --seq-start) is at least\n"
"                        --from-index are protected with it (RFC 3711 <From,To>), and\n"
"                        SRTCP packets once such an SRTP packet has been sent\n"
"  --from-index N        with --inline-next: the first index of the next key\n"
"                        (0 to 2^48-1; the ROC carries over, any N works)\n"
"  --mki VALUE:LEN       the --inline key's MKI (RFC 3711 s. 3.1, as RFC 4568 writes\n"
"                        it): VALUE decimal or 0x-hex in LEN (1-4) bytes, carried in\n"
"                        every SRTP/SRTCP packet before the tag\n"
"  --mki-next VALUE:LEN  with --mki: the --inline-next key's MKI\n"
"  --plain-out FILE      also write the frames unprotected, without the tampered and\n"
"                        replayed ones: what the dataplane should emit\n"
"  --vlan ID             802.1Q tag (0-4095) on every frame\n"
"  --ssrcs N             streams (default 1, at most %d), interleaved\n"
"  --packets N           RTP packets per SSRC (default 100)\n"
"  --seq-start S         first sequence number (e.g. 65500 to cross 65535 -> 0)\n"
"  --rtcp-every K        a compound RTCP SR/RR + SDES every K RTP packets per SSRC\n"
"  --csrcs               0-15 random CSRCs per packet\n"
"  --ext                 RFC 8285 one-byte header extensions on about 1 packet in 3\n"
"  --padding             RTP padding on about 1 packet in 4\n"
"  --payload MIN-MAX     payload bytes (default 160-160, at most %d)\n"
"  --seed N              random seed (default 1); the same seed gives the same file\n"
"  --mix                 add STUN binding requests, DTLS records, ICMP echo, ARP and\n"
"                        non-media UDP (port --other-port, default %d) at fixed intervals\n"
"  --other-port P        the port of --mix's non-media UDP (both ends)\n"
"  --tamper-every K      before every K-th protected media packet, a copy with one\n"
"                        byte of ciphertext or tag flipped (not in --plain-out;\n"
"                        with --mki the byte may be one of the MKI's)\n"
"  --replay-every K      after every K-th protected media packet, a replay of an\n"
"                        earlier one (not in --plain-out)\n"
"  -h, --help\n"
"\n"
"Frames: MACs local 02:00:00:c5:00:01, remote 02:00:00:c5:00:02 (ARP to\n"
"ff:ff:ff:ff:ff:ff); IPv4 TTL 64, DF, checksums set; IPv6 hop limit 64, UDP checksum\n"
"always set. Pcap timestamps 1 ms apart. Output (stdout):\n"
"  {\"rtp\":N,\"rtcp\":N,\"stun\":N,\"dtls\":N,\"other\":N,\"tampered\":N,\"replayed\":N,\"frames\":N,\n"
"   \"old_key\":N,\"new_key\":N}\n"
"rtp/rtcp count genuine packets; frames counts what --out holds; old_key/new_key the\n"
"genuine media packets protected with --inline / --inline-next. Exit 0, or 2 for a\n"
"usage error, 1 for a run-time error.\n"
"\n"
"Examples:\n"
"  callseal-rtpgen --out in.pcap --local 192.0.2.1:5004 --remote 198.51.100.7:40000 \\\n"
"      --ssrcs 2 --packets 500 --rtcp-every 50 --mix\n"
"  callseal-rtpgen --direction in --profile AEAD_AES_128_GCM \\\n"
"      --inline AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHA== --out srtp.pcap --plain-out rtp.pcap \\\n"
"      --local '[2001:db8::1]:5004' --remote '[2001:db8::2]:6000' --vlan 100 \\\n"
"      --seq-start 65500 --csrcs --ext --padding --payload 20-1200 --tamper-every 7\n"
"  callseal-rtpgen --direction in --profile AEAD_AES_128_GCM --inline KEY \\\n"
"      --inline-next KEY2 --from-index 65600 --seq-start 65480 --packets 200 \\\n"
"      --local 192.0.2.1:5004 --remote 198.51.100.7:40000 --out srtp.pcap --plain-out rtp.pcap\n",
		MAX_SSRCS, MAX_PAYLOAD, OTHER_PORT_DEFAULT);
}

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("callseal-rtpgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (try --help)\n", stderr);
	va_end(ap);
	exit(2);
}

static unsigned long num(const char *opt, const char *s, unsigned long lo,
			 unsigned long hi)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 0);
	if (errno || !*s || *end || *s == '-' || v < lo || v > hi)
		bad("%s: '%s' is not a number in %lu-%lu", opt, s, lo, hi);
	return v;
}

enum {
	O_OUT = 256, O_LOCAL, O_REMOTE, O_DIR, O_PROFILE, O_INLINE, O_PLAIN,
	O_VLAN, O_SSRCS, O_PACKETS, O_SEQ, O_RTCP, O_CSRCS, O_EXT, O_PADDING,
	O_PAYLOAD, O_SEED, O_MIX, O_OTHER_PORT, O_TAMPER, O_REPLAY,
	O_INLINE_NEXT, O_FROM_INDEX, O_MKI, O_MKI_NEXT,
};

static const struct option longopts[] = {
	{ "out", required_argument, NULL, O_OUT },
	{ "local", required_argument, NULL, O_LOCAL },
	{ "remote", required_argument, NULL, O_REMOTE },
	{ "direction", required_argument, NULL, O_DIR },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "inline", required_argument, NULL, O_INLINE },
	{ "inline-next", required_argument, NULL, O_INLINE_NEXT },
	{ "mki", required_argument, NULL, O_MKI },
	{ "mki-next", required_argument, NULL, O_MKI_NEXT },
	{ "from-index", required_argument, NULL, O_FROM_INDEX },
	{ "plain-out", required_argument, NULL, O_PLAIN },
	{ "vlan", required_argument, NULL, O_VLAN },
	{ "ssrcs", required_argument, NULL, O_SSRCS },
	{ "packets", required_argument, NULL, O_PACKETS },
	{ "seq-start", required_argument, NULL, O_SEQ },
	{ "rtcp-every", required_argument, NULL, O_RTCP },
	{ "csrcs", no_argument, NULL, O_CSRCS },
	{ "ext", no_argument, NULL, O_EXT },
	{ "padding", no_argument, NULL, O_PADDING },
	{ "payload", required_argument, NULL, O_PAYLOAD },
	{ "seed", required_argument, NULL, O_SEED },
	{ "mix", no_argument, NULL, O_MIX },
	{ "other-port", required_argument, NULL, O_OTHER_PORT },
	{ "tamper-every", required_argument, NULL, O_TAMPER },
	{ "replay-every", required_argument, NULL, O_REPLAY },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void parse_args(struct gen *g, int argc, char **argv)
{
	const char *inline_key = NULL, *next_key = NULL, *mki = NULL, *mki_next = NULL;
	int have_local = 0, have_remote = 0, have_from = 0, c;

	g->vlan = -1;
	g->nssrc = 1;
	g->packets = 100;
	g->pay_min = g->pay_max = 160;
	g->seed = 1;
	g->other_port = OTHER_PORT_DEFAULT;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case O_OUT: g->out_path = optarg; break;
		case O_PLAIN: g->plain_path = optarg; break;
		case O_LOCAL:
			if (ptool_parse_endpoint(optarg, &g->local))
				bad("--local: '%s' is not ADDR:PORT or [ADDR]:PORT", optarg);
			have_local = 1;
			break;
		case O_REMOTE:
			if (ptool_parse_endpoint(optarg, &g->remote))
				bad("--remote: '%s' is not ADDR:PORT or [ADDR]:PORT", optarg);
			have_remote = 1;
			break;
		case O_DIR:
			if (strcmp(optarg, "in") == 0)
				g->dir_in = 1;
			else if (strcmp(optarg, "out") == 0)
				g->dir_in = 0;
			else
				bad("--direction: 'in' or 'out', not '%s'", optarg);
			break;
		case O_PROFILE:
			if (ptool_parse_profile(optarg, &g->profile))
				bad("--profile: AEAD_AES_128_GCM, AEAD_AES_256_GCM, "
				    "AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32, not '%s'", optarg);
			break;
		case O_INLINE: inline_key = optarg; break;
		case O_INLINE_NEXT: next_key = optarg; break;
		case O_MKI: mki = optarg; break;
		case O_MKI_NEXT: mki_next = optarg; break;
		case O_FROM_INDEX: {
			char *end;
			errno = 0;
			unsigned long long v = strtoull(optarg, &end, 0);
			if (errno || !*optarg || *end || *optarg == '-' || v > 0xffffffffffffull)
				bad("--from-index: '%s' is not an SRTP index in 0-%llu", optarg,
				    0xffffffffffffull);
			g->from_index = v;
			have_from = 1;
			break;
		}
		case O_VLAN: g->vlan = (int)num("--vlan", optarg, 0, 4095); break;
		case O_SSRCS: g->nssrc = (unsigned)num("--ssrcs", optarg, 1, MAX_SSRCS); break;
		case O_PACKETS: g->packets = (unsigned)num("--packets", optarg, 0, 10000000); break;
		case O_SEQ: g->seq_start = (uint16_t)num("--seq-start", optarg, 0, 65535); break;
		case O_RTCP: g->rtcp_every = (unsigned)num("--rtcp-every", optarg, 1, 1000000); break;
		case O_CSRCS: g->csrcs = 1; break;
		case O_EXT: g->ext = 1; break;
		case O_PADDING: g->padding = 1; break;
		case O_PAYLOAD: {
			char lo[32];
			const char *dash = strchr(optarg, '-');
			size_t l = dash ? (size_t)(dash - optarg) : strlen(optarg);
			if (l == 0 || l >= sizeof(lo))
				bad("--payload: MIN-MAX, not '%s'", optarg);
			memcpy(lo, optarg, l);
			lo[l] = 0;
			g->pay_min = (uint32_t)num("--payload", lo, 0, MAX_PAYLOAD);
			g->pay_max = dash ? (uint32_t)num("--payload", dash + 1, 0, MAX_PAYLOAD)
					  : g->pay_min;
			if (g->pay_max < g->pay_min)
				bad("--payload: MAX is below MIN in '%s'", optarg);
			break;
		}
		case O_SEED: {
			char *end;
			errno = 0;
			g->seed = strtoull(optarg, &end, 0);
			if (errno || !*optarg || *end)
				bad("--seed: '%s' is not a number", optarg);
			break;
		}
		case O_MIX: g->mix = 1; break;
		case O_OTHER_PORT: g->other_port = (uint16_t)num("--other-port", optarg, 1, 65535); break;
		case O_TAMPER: g->tamper_every = (unsigned)num("--tamper-every", optarg, 1, 1000000); break;
		case O_REPLAY: g->replay_every = (unsigned)num("--replay-every", optarg, 1, 1000000); break;
		case 'h': usage(stdout); exit(0);
		default: bad("unknown option");
		}
	}
	if (optind < argc)
		bad("unexpected argument '%s'", argv[optind]);
	if (!g->out_path)
		bad("--out FILE is required");
	if (!have_local || !have_remote)
		bad("--local and --remote are required");
	if (g->local.v6 != g->remote.v6)
		bad("--local and --remote must both be IPv4 or both IPv6");
	if ((g->profile != PTOOL_PROFILE_NONE) != (inline_key != NULL))
		bad("--profile and --inline go together");
	if (g->profile != PTOOL_PROFILE_NONE && !g->dir_in)
		bad("--profile/--inline need --direction in (out is plaintext for the inside port)");
	if ((next_key != NULL) != have_from)
		bad("--inline-next and --from-index go together");
	if (next_key && !inline_key)
		bad("--inline-next needs --profile and --inline");
	if ((g->tamper_every || g->replay_every) && g->profile == PTOOL_PROFILE_NONE)
		bad("--tamper-every and --replay-every need --profile and --inline");
	if (inline_key) {
		char err[160];
		if (ptool_parse_inline(inline_key, g->profile, g->keysalt, err, sizeof(err)))
			bad("--inline: %s", err);
		g->have_key = 1;
	}
	if (next_key) {
		char err[160];
		if (ptool_parse_inline(next_key, g->profile, g->next_keysalt, err, sizeof(err)))
			bad("--inline-next: %s", err);
		g->have_next = 1;
	}
	char err[160];
	if (ptool_mki_opts(mki, mki_next, inline_key != NULL, next_key != NULL,
			   &g->mki, &g->next_mki, err, sizeof(err)))
		bad("%s", err);
}

/* ---- main ---------------------------------------------------------------- */

static pcap_dumper_t *open_dump(pcap_t *dead, const char *path)
{
	pcap_dumper_t *d = pcap_dump_open(dead, path);
	if (!d)
		die("%s: %s", path, pcap_geterr(dead));
	return d;
}

static void close_dump(pcap_dumper_t *d, const char *path)
{
	if (!d)
		return;
	if (pcap_dump_flush(d) != 0 || ferror(pcap_dump_file(d)))
		die("%s: write error", path);
	pcap_dump_close(d);
}

int main(int argc, char **argv)
{
	if (callseal_version_arg(argc, argv, "callseal-rtpgen"))
		return 0;

	struct gen *g = calloc(1, sizeof(*g));
	if (!g)
		die("out of memory");
	parse_args(g, argc, argv);
	if (sodium_init() < 0)
		die("libsodium failed to initialise");
	ptool_rng_seed(&g->rng, g->seed);
	ptool_rng_seed(&g->trng, g->seed ^ 0x7a6d7065725f5f5full);

	if (g->have_key) {
		if (srtp_init() != srtp_err_status_ok)
			die("srtp_init failed");
		srtp_err_status_t e = ptool_srtp_create(&g->srtp, g->profile, g->keysalt, &g->mki,
							0, 1024);
		if (e != srtp_err_status_ok)
			die("libsrtp2 srtp_create failed: error %d", (int)e);
		g->srtp_ok = 1;
	}
	g->dead = pcap_open_dead(DLT_EN10MB, 65535);
	if (!g->dead)
		die("pcap_open_dead failed");
	g->out = open_dump(g->dead, g->out_path);
	if (g->plain_path)
		g->plain = open_dump(g->dead, g->plain_path);

	static const uint8_t pts[] = { 0, 8, 96, 111 };
	for (unsigned i = 0; i < g->nssrc; i++) {
		struct stream *s = &g->st[i];
		uint32_t v;
		int dup;
		do {                                    /* distinct, non-zero */
			v = ptool_rng_u32(&g->rng);
			dup = v == 0;
			for (unsigned k = 0; k < i; k++)
				dup |= g->st[k].ssrc == v;
		} while (dup);
		s->ssrc = v;
		s->seq = g->seq_start;
		s->index = g->seq_start;        /* ROC 0 */
		s->ts = ptool_rng_u32(&g->rng);
		s->pt = pts[ptool_rng_below(&g->rng, sizeof(pts))];
	}
	g->remote_report_ssrc = ptool_rng_u32(&g->rng) | 1;
	g->ip_id = (uint16_t)ptool_rng_u32(&g->rng);

	if (g->mix) {                           /* ICE and DTLS come first */
		mix_stun(g);
		mix_dtls(g);
	}
	for (unsigned r = 0; r < g->packets; r++) {
		for (unsigned i = 0; i < g->nssrc; i++) {
			gen_rtp(g, &g->st[i]);
			if (g->rtcp_every && (r + 1) % g->rtcp_every == 0)
				gen_rtcp(g, &g->st[i]);
		}
	}

	close_dump(g->out, g->out_path);
	close_dump(g->plain, g->plain_path);
	pcap_close(g->dead);
	if (g->srtp_ok) {
		srtp_dealloc(g->srtp);
		srtp_shutdown();
	}
	printf("{\"rtp\":%lu,\"rtcp\":%lu,\"stun\":%lu,\"dtls\":%lu,\"other\":%lu,"
	       "\"tampered\":%lu,\"replayed\":%lu,\"frames\":%lu,"
	       "\"old_key\":%lu,\"new_key\":%lu}\n",
	       g->n_rtp, g->n_rtcp, g->n_stun, g->n_dtls, g->n_other,
	       g->n_tampered, g->n_replayed, g->n_frames, g->n_old_key, g->n_new_key);
	sodium_memzero(g->keysalt, sizeof(g->keysalt));
	sodium_memzero(g->next_keysalt, sizeof(g->next_keysalt));
	free(g);
	return 0;
}
