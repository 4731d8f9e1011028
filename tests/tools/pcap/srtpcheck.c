/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callseal-srtpcheck - compare what came out of the dataplane (--got) with
 * what should have (--expect), frame by frame.
 *
 *   --mode decrypt: media in got is SRTP/SRTCP the dataplane protected. Each
 *     is unprotected with libsrtp2 (one inbound session, any SSRC, replay
 *     window 1024) and the result, put back into its frame with the lengths
 *     fixed, must equal the expected plaintext frame.
 *   --mode plain: media in got must equal the expected frame.
 *
 * In both modes media is compared from the first byte of the frame to the end
 * of the IP packet, IPv4 header and UDP checksums left out (they are checked
 * on their own, below); everything that is not media must be identical,
 * byte for byte. Frames are matched in order within their queue: media per
 * (addresses, ports, RTP or RTCP, SSRC), other IP per (addresses, protocol,
 * ports), non-IP per (ethertype, VLAN). A got frame matches the first equal
 * expected frame at or after its queue's position and moves the position past
 * it: expected frames it skipped are missing (a dropped packet), and a frame
 * that arrives after a later one of its queue is unexpected (reordering).
 *
 * Every IP frame of got is also checked: IPv4 header checksum; UDP length
 * equal to the IP payload; UDP checksum valid, or 0 for IPv4 only.
 *
 * --inline-next: a second master key (a rekey); each SRTP/SRTCP packet may
 * use either, and with --from-index SRTP packets below that index must use
 * the old key and the others the new one. --mki/--mki-next: each key's MKI,
 * which its packets must carry (libsrtp2's srtp_unprotect_mki). NB libsrtp2
 * 2.5.0 cannot unprotect AES_CM_128_HMAC_SHA1_32 SRTCP with an MKI (it finds
 * the MKI by the SRTP tag length, 4, not SRTCP's 10). --media-only: only media is
 * compared, and of it only the UDP ports and payload; non-media frames and
 * L2/L3 headers are ignored (a Linux host's UDP socket sent the media).
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <pcap/pcap.h>
#include <sodium.h>
#include <srtp2/srtp.h>

#include "callseal_version.h"
#include "ptool.h"

#define LOOKAHEAD   100000   /* entries of a queue scanned per frame */

enum { EXIT_PASS = 0, EXIT_MISMATCH = 1, EXIT_USAGE = 2 };
enum { MODE_PLAIN, MODE_DECRYPT };

struct frame {
	uint8_t *d;
	uint32_t len;
	int truncated;         /* caplen < len in the pcap */
	int matched;
	struct ptool_parsed p;
};

struct flist {
	struct frame *f;
	size_t n, cap;
};

/* What frames are queued by; zero-filled before use so it hashes as bytes. */
struct qkey {
	uint8_t cls;           /* enum ptool_kind */
	uint8_t v6, proto, has_vlan;
	uint16_t vlan, ethertype, sport, dport;
	uint32_t ssrc;
	uint8_t src[16], dst[16];
};

struct queue {
	struct qkey k;
	uint32_t *idx;         /* expected frames, in file order */
	uint32_t n, cap, head; /* head: first one not matched yet */
};

struct qtable {
	struct queue *q;
	size_t nq, capq;
	uint32_t *slot;        /* 0 = empty, else queue index + 1 */
	size_t nslot;          /* power of two */
};

static struct {
	const char *expect_path, *got_path;
	int mode, tap, quiet;
	enum ptool_profile profile;
	uint8_t keysalt[PTOOL_KEYSALT_MAX];
	int have_key;
	uint8_t next_keysalt[PTOOL_KEYSALT_MAX];   /* --inline-next */
	int have_next;
	struct ptool_mki mki, next_mki;            /* --mki, --mki-next */
	uint64_t from_index;                       /* --from-index */
	int have_from;
	int media_only;                            /* --media-only */
	uint16_t media_lo, media_hi;
	unsigned max_report;
	unsigned reported;
} opt = { .media_lo = 1024, .media_hi = 65535, .max_report = 10, .mode = -1 };

static void *xalloc(size_t n)
{
	void *p = calloc(1, n ? n : 1);
	if (!p) {
		fprintf(stderr, "callseal-srtpcheck: out of memory\n");
		exit(EXIT_USAGE);
	}
	return p;
}

static void *xrealloc(void *p, size_t n)
{
	p = realloc(p, n);
	if (!p) {
		fprintf(stderr, "callseal-srtpcheck: out of memory\n");
		exit(EXIT_USAGE);
	}
	return p;
}

/* A problem with one frame: to stderr, or as a TAP comment with --tap; at
 * most --max-report of them. */
static void report(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static void report(const char *fmt, ...)
{
	FILE *f = opt.tap ? stdout : stderr;
	const char *lead = opt.tap ? "# " : "callseal-srtpcheck: ";
	va_list ap;

	if (opt.quiet || opt.reported++ > opt.max_report)
		return;
	if (opt.reported > opt.max_report) {
		fprintf(f, "%s(further problems not shown; --max-report N)\n", lead);
		return;
	}
	fputs(lead, f);
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fputc('\n', f);
}

/* ---- loading ------------------------------------------------------------- */

static int load(const char *path, struct flist *l)
{
	char err[PCAP_ERRBUF_SIZE];
	struct pcap_pkthdr *h;
	const u_char *data;
	int rc;
	pcap_t *pc = pcap_open_offline(path, err);

	if (!pc) {
		fprintf(stderr, "callseal-srtpcheck: %s: %s\n", path, err);
		return -1;
	}
	if (pcap_datalink(pc) != DLT_EN10MB) {
		fprintf(stderr, "callseal-srtpcheck: %s: link type %d, not Ethernet\n",
			path, pcap_datalink(pc));
		pcap_close(pc);
		return -1;
	}
	while ((rc = pcap_next_ex(pc, &h, &data)) == 1) {
		if (l->n == l->cap) {
			l->cap = l->cap ? 2 * l->cap : 1024;
			l->f = xrealloc(l->f, l->cap * sizeof(*l->f));
		}
		struct frame *f = &l->f[l->n++];
		memset(f, 0, sizeof(*f));
		f->len = h->caplen;
		f->truncated = h->caplen < h->len;
		f->d = xalloc(f->len);
		memcpy(f->d, data, f->len);
		ptool_parse(f->d, f->len, opt.media_lo, opt.media_hi, &f->p);
	}
	if (rc == -1) {
		fprintf(stderr, "callseal-srtpcheck: %s: %s\n", path, pcap_geterr(pc));
		pcap_close(pc);
		return -1;
	}
	pcap_close(pc);
	return 0;
}

static void free_list(struct flist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->f[i].d);
	free(l->f);
}

/* ---- queues -------------------------------------------------------------- */

static int is_media(const struct ptool_parsed *p)
{
	return p->kind == PTOOL_K_RTP || p->kind == PTOOL_K_RTCP;
}

static void make_key(const struct frame *f, struct qkey *k)
{
	const struct ptool_parsed *p = &f->p;
	memset(k, 0, sizeof(*k));
	k->cls = (uint8_t)p->kind;
	if (opt.media_only) {
		/* media only (only media is queued): ports, RTP/RTCP and SSRC */
		k->sport = p->sport;
		k->dport = p->dport;
		k->ssrc = p->ssrc;
		return;
	}
	k->has_vlan = (uint8_t)p->has_vlan;
	k->vlan = p->vlan_tci & 0x0fff;
	k->ethertype = p->ethertype;
	if (p->kind == PTOOL_K_NONIP || p->kind == PTOOL_K_MALFORMED)
		return;
	k->v6 = (uint8_t)p->v6;
	k->proto = p->proto;
	memcpy(k->src, f->d + p->l3 + (p->v6 ? 8 : 12), p->v6 ? 16 : 4);
	memcpy(k->dst, f->d + p->l3 + (p->v6 ? 24 : 16), p->v6 ? 16 : 4);
	k->sport = p->sport;
	k->dport = p->dport;
	k->ssrc = p->ssrc;
}

static size_t key_hash(const struct qkey *k)
{
	const uint8_t *b = (const uint8_t *)k;
	uint64_t h = 0xcbf29ce484222325ull;           /* FNV-1a */
	for (size_t i = 0; i < sizeof(*k); i++)
		h = (h ^ b[i]) * 0x100000001b3ull;
	return (size_t)(h ^ (h >> 29));
}

static struct queue *find_queue(struct qtable *t, const struct qkey *k, int create)
{
	size_t mask = t->nslot - 1, i = key_hash(k) & mask;
	for (; t->slot[i]; i = (i + 1) & mask) {
		struct queue *q = &t->q[t->slot[i] - 1];
		if (memcmp(&q->k, k, sizeof(*k)) == 0)
			return q;
	}
	if (!create)
		return NULL;
	if (t->nq == t->capq) {
		t->capq = t->capq ? 2 * t->capq : 64;
		t->q = xrealloc(t->q, t->capq * sizeof(*t->q));
	}
	struct queue *q = &t->q[t->nq++];
	memset(q, 0, sizeof(*q));
	q->k = *k;
	t->slot[i] = (uint32_t)t->nq;
	return q;
}

static void build_queues(struct qtable *t, const struct flist *exp)
{
	t->nslot = 64;
	while (t->nslot < 2 * exp->n + 64)
		t->nslot *= 2;
	t->slot = xalloc(t->nslot * sizeof(*t->slot));
	for (size_t i = 0; i < exp->n; i++) {
		struct qkey k;
		if (opt.media_only && !is_media(&exp->f[i].p))
			continue;               /* ignored */
		make_key(&exp->f[i], &k);
		struct queue *q = find_queue(t, &k, 1);
		if (q->n == q->cap) {
			q->cap = q->cap ? 2 * q->cap : 16;
			q->idx = xrealloc(q->idx, q->cap * sizeof(*q->idx));
		}
		q->idx[q->n++] = (uint32_t)i;
	}
}

static void free_queues(struct qtable *t)
{
	for (size_t i = 0; i < t->nq; i++)
		free(t->q[i].idx);
	free(t->q);
	free(t->slot);
}

/* ---- comparison ---------------------------------------------------------- */

/* Media: equal up to the IP end, checksum fields aside. Returns -1 if equal,
 * else the first differing offset. */
static long media_diff(const uint8_t *a, const struct ptool_parsed *ap,
		       const uint8_t *b, const struct ptool_parsed *bp)
{
	uint32_t n = ap->ip_end < bp->ip_end ? ap->ip_end : bp->ip_end;
	for (uint32_t i = 0; i < n; i++) {
		if (a[i] == b[i])
			continue;
		if (!ap->v6 && (i == ap->l3 + 10 || i == ap->l3 + 11))
			continue;                   /* IPv4 header checksum */
		if (i == ap->l4 + 6 || i == ap->l4 + 7)
			continue;                   /* UDP checksum */
		return i;
	}
	return ap->ip_end == bp->ip_end ? -1 : (long)n;
}

static long exact_diff(const uint8_t *a, uint32_t alen, const uint8_t *b, uint32_t blen)
{
	uint32_t n = alen < blen ? alen : blen;
	for (uint32_t i = 0; i < n; i++)
		if (a[i] != b[i])
			return i;
	return alen == blen ? -1 : (long)n;
}

/* --media-only: the UDP payloads (the ports are in the queue key). Returns
 * -1 if equal, else the first differing offset in the payload. */
static long payload_diff(const uint8_t *a, const struct ptool_parsed *ap,
			 const uint8_t *b, const struct ptool_parsed *bp)
{
	return exact_diff(a + ap->payload, ap->payload_len, b + bp->payload,
			  bp->payload_len);
}

static long frame_diff(const uint8_t *g, uint32_t glen, const struct ptool_parsed *gp,
		       const struct frame *e)
{
	if (opt.media_only)
		return payload_diff(g, gp, e->d, &e->p);
	if (is_media(gp))
		return media_diff(g, gp, e->d, &e->p);
	return exact_diff(g, glen, e->d, e->len);
}

static const char *kind_str(int k)
{
	static const char *const names[] = {
		[PTOOL_K_NONIP] = "non-IP", [PTOOL_K_IP] = "IP", [PTOOL_K_UDP] = "UDP",
		[PTOOL_K_RTP] = "RTP", [PTOOL_K_RTCP] = "RTCP",
		[PTOOL_K_MALFORMED] = "malformed",
	};
	return names[k];
}

/* "RTP 198.51.100.7:40000 -> 192.0.2.1:5004 ssrc 0x1234abcd seq 17" */
static const char *describe(const uint8_t *d, const struct ptool_parsed *p,
			    char *buf, size_t n)
{
	char s[INET6_ADDRSTRLEN], t[INET6_ADDRSTRLEN];
	if (p->kind == PTOOL_K_NONIP || p->kind == PTOOL_K_MALFORMED) {
		snprintf(buf, n, "%s ethertype 0x%04x", kind_str(p->kind), p->ethertype);
		return buf;
	}
	ptool_addr_str(p->v6, d + p->l3 + (p->v6 ? 8 : 12), s, sizeof(s));
	ptool_addr_str(p->v6, d + p->l3 + (p->v6 ? 24 : 16), t, sizeof(t));
	if (p->kind == PTOOL_K_IP) {
		snprintf(buf, n, "IP proto %u %s -> %s", p->proto, s, t);
	} else if (p->kind == PTOOL_K_UDP) {
		snprintf(buf, n, "UDP %s:%u -> %s:%u", s, p->sport, t, p->dport);
	} else if (p->kind == PTOOL_K_RTP) {
		const uint8_t *u = d + p->payload;
		snprintf(buf, n, "RTP %s:%u -> %s:%u ssrc 0x%08x seq %u", s, p->sport,
			 t, p->dport, p->ssrc, (unsigned)(u[2] << 8 | u[3]));
	} else {
		snprintf(buf, n, "RTCP %s:%u -> %s:%u ssrc 0x%08x pt %u", s, p->sport,
			 t, p->dport, p->ssrc, d[p->payload + 1]);
	}
	return buf;
}

static const char *srtp_err_str(srtp_err_status_t e)
{
	switch (e) {
	case srtp_err_status_auth_fail: return "authentication failed";
	case srtp_err_status_replay_fail: return "replayed";
	case srtp_err_status_bad_mki: return "MKI names no key";
	case srtp_err_status_replay_old: return "older than the replay window";
	case srtp_err_status_bad_param: return "bad parameter (malformed)";
	case srtp_err_status_parse_err: return "parse error";
	case srtp_err_status_cipher_fail: return "cipher failed";
	default: return "libsrtp2 error";
	}
}

/* ---- keys ---------------------------------------------------------------- */

/*
 * Decrypt mode: one libsrtp2 inbound session per master key (--inline, and
 * --inline-next), and what we know of each SSRC's SRTP index.
 *
 * libsrtp2 starts a stream's ROC at 0 with the first packet a session
 * accepts. The session of the next key sees its first packet of an SSRC only
 * at the key change, possibly past ROC 0; so before a session tries an SRTP
 * packet of an SSRC it has not accepted one of yet, while another session
 * has, it gets a stream of its own for the SSRC with the ROC we estimate
 * for the packet (srtp_set_stream_roc: libsrtp2 takes the index
 * ROC << 16 | SEQ for its first packet).
 */
struct ssrc_state {
	uint32_t ssrc;
	int have;              /* an SRTP packet of it was unprotected */
	uint64_t hi;           /* the highest SRTP index unprotected */
	uint8_t rtp_ok[2];     /* session k unprotected an SRTP packet of it */
	int last;              /* the key that last worked for it */
};

struct keyring {
	int n;                 /* sessions: 1, or 2 with --inline-next */
	srtp_t s[2];
	uint8_t *keysalt[2];
	const struct ptool_mki *mki[2];
	struct ssrc_state *st;
	size_t nst, capst;
};

static const char *const key_name[2] = { "old key", "new key" };

static struct ssrc_state *ssrc_state(struct keyring *kr, uint32_t ssrc)
{
	for (size_t i = 0; i < kr->nst; i++)
		if (kr->st[i].ssrc == ssrc)
			return &kr->st[i];
	if (kr->nst == kr->capst) {
		kr->capst = kr->capst ? 2 * kr->capst : 16;
		kr->st = xrealloc(kr->st, kr->capst * sizeof(*kr->st));
	}
	struct ssrc_state *st = &kr->st[kr->nst++];
	memset(st, 0, sizeof(*st));
	st->ssrc = ssrc;
	return st;
}

/* RFC 3711 s. 3.3.1 / appendix A: the index of sequence number seq. ROC 0
 * for the first packet of an SSRC, as libsrtp2. */
static uint64_t estimate_index(const struct ssrc_state *st, uint16_t seq)
{
	if (!st->have)
		return seq;
	uint64_t roc = st->hi >> 16;
	uint32_t sl = (uint32_t)(st->hi & 0xffff);
	if (sl < 32768) {
		if ((uint32_t)seq > sl + 32768 && roc > 0)
			roc--;
	} else if ((uint32_t)seq < sl - 32768) {
		roc++;
	}
	return roc << 16 | seq;
}

static srtp_err_status_t keyring_open(struct keyring *kr)
{
	srtp_err_status_t e;

	memset(kr, 0, sizeof(*kr));
	kr->keysalt[0] = opt.keysalt;
	kr->keysalt[1] = opt.next_keysalt;
	kr->mki[0] = &opt.mki;
	kr->mki[1] = &opt.next_mki;
	kr->n = opt.have_next ? 2 : 1;
	for (int k = 0; k < kr->n; k++) {
		e = ptool_srtp_create(&kr->s[k], opt.profile, kr->keysalt[k], kr->mki[k],
				      1, 1024);
		if (e != srtp_err_status_ok)
			return e;
	}
	return srtp_err_status_ok;
}

static void keyring_close(struct keyring *kr)
{
	for (int k = 0; k < kr->n; k++)
		if (kr->s[k])
			srtp_dealloc(kr->s[k]);
	free(kr->st);
}

/* Give session k a stream for st's SSRC at the ROC of index (see above). */
static srtp_err_status_t prime_roc(struct keyring *kr, int k,
				   const struct ssrc_state *st, uint64_t index)
{
	uint32_t roc;
	srtp_err_status_t e = srtp_get_stream_roc(kr->s[k], st->ssrc, &roc);
	if (e != srtp_err_status_ok) {
		e = ptool_srtp_stream(kr->s[k], opt.profile, kr->keysalt[k], kr->mki[k],
				      st->ssrc, 1, 1024, 0);
		if (e != srtp_err_status_ok)
			return e;
	}
	return srtp_set_stream_roc(kr->s[k], st->ssrc, (uint32_t)(index >> 16));
}

/* ---- the check ----------------------------------------------------------- */

struct counts {
	unsigned long matched, missing, unexpected, bad_checksum, decrypt_failed;
	unsigned long old_key, new_key;
	unsigned long ip_frames, got_frames, expect_frames, expect_checked;
};

/*
 * Unprotect the media packet of frame g into buf (the frame up to its
 * payload, then the plaintext), trying each key. Returns the plaintext
 * length, or -1 after counting and reporting a decrypt failure.
 */
static int unprotect(struct keyring *kr, size_t gi, const struct frame *g,
		     uint8_t *buf, size_t bufsize, struct counts *c)
{
	const struct ptool_parsed *p = &g->p;
	char d1[200], msg[200];
	srtp_err_status_t err[2] = { srtp_err_status_ok, srtp_err_status_ok };
	int rtcp = p->kind == PTOOL_K_RTCP, order[2], tried = 0, key = -1, len = -1;
	struct ssrc_state *st = ssrc_state(kr, p->ssrc);
	uint64_t index = 0;

	if (p->payload + p->payload_len > bufsize) {
		c->decrypt_failed++;
		report("got frame %zu (%s): %s", gi + 1, describe(g->d, p, d1, sizeof(d1)),
		       "too long");
		return -1;
	}
	order[0] = st->last;
	if (!rtcp) {
		const uint8_t *u = g->d + p->payload;
		index = estimate_index(st, (uint16_t)(u[2] << 8 | u[3]));
		if (opt.have_from)
			order[0] = index >= opt.from_index;
	}
	order[1] = !order[0];

	for (tried = 0; tried < kr->n && key < 0; tried++) {
		int k = order[tried];
		if (!rtcp && st->have && !st->rtp_ok[k]) {
			srtp_err_status_t e = prime_roc(kr, k, st, index);
			if (e != srtp_err_status_ok) {
				fprintf(stderr, "callseal-srtpcheck: libsrtp2: cannot set the ROC "
					"of ssrc 0x%08x: error %d\n", st->ssrc, (int)e);
				exit(EXIT_USAGE);
			}
		}
		memcpy(buf, g->d, p->payload + p->payload_len);
		len = (int)p->payload_len;
		err[k] = ptool_srtp_unprotect(kr->s[k], buf + p->payload, &len, rtcp,
					      kr->mki[k]);
		if (err[k] == srtp_err_status_ok)
			key = k;
	}
	if (key < 0) {
		c->decrypt_failed++;
		if (kr->n == 1)
			snprintf(msg, sizeof(msg), "%s", srtp_err_str(err[0]));
		else
			snprintf(msg, sizeof(msg), "old key: %s; new key: %s",
				 srtp_err_str(err[0]), srtp_err_str(err[1]));
		report("got frame %zu (%s): %s", gi + 1, describe(g->d, p, d1, sizeof(d1)), msg);
		return -1;
	}
	if (key)
		c->new_key++;
	else
		c->old_key++;
	st->last = key;
	if (!rtcp) {
		st->rtp_ok[key] = 1;
		if (!st->have || index > st->hi)
			st->hi = index;
		st->have = 1;
		if (opt.have_from && key != (index >= opt.from_index)) {
			c->decrypt_failed++;
			report("got frame %zu (%s): SRTP index %" PRIu64 " is protected with the "
			       "%s, but --from-index %" PRIu64 " wants the %s", gi + 1,
			       describe(g->d, p, d1, sizeof(d1)), index, key_name[key],
			       opt.from_index, key_name[!key]);
			return -1;
		}
	}
	return len;
}

static void check(struct flist *exp, struct flist *got, struct qtable *t,
		  struct keyring *kr, struct counts *c)
{
	static uint8_t buf[PTOOL_FRAME_MAX + 64];
	char d1[200], why[160];

	for (size_t gi = 0; gi < got->n; gi++) {
		struct frame *g = &got->f[gi];
		const uint8_t *cmp = g->d;
		uint32_t cmp_len = g->len;
		struct ptool_parsed cp = g->p;

		/* 1. headers and checksums */
		int r = ptool_check_ip(g->d, &g->p, why, sizeof(why));
		if (r == 0)
			c->ip_frames++;
		if (r < 0 || g->truncated) {
			c->bad_checksum++;
			report("got frame %zu (%s): %s", gi + 1,
			       describe(g->d, &g->p, d1, sizeof(d1)),
			       g->truncated ? "truncated in the pcap" : why);
		}

		/* --media-only: nothing else is compared */
		if (opt.media_only && !is_media(&g->p))
			continue;

		/* 2. unprotect media */
		if (opt.mode == MODE_DECRYPT && is_media(&g->p)) {
			int len = unprotect(kr, gi, g, buf, sizeof(buf), c);
			if (len < 0)
				continue;
			cmp_len = ptool_fix_udp(buf, &g->p, (uint32_t)len);
			cmp = buf;
			ptool_parse(buf, cmp_len, opt.media_lo, opt.media_hi, &cp);
		}

		/* 3. match it against its queue, in order */
		struct qkey k;
		struct frame tmp = { .d = (uint8_t *)cmp, .len = cmp_len, .p = cp };
		make_key(&tmp, &k);
		struct queue *q = find_queue(t, &k, 0);
		int found = 0;
		long first_diff = -2;
		uint32_t first_idx = 0;
		if (q) {
			/* In order: the first match from the head wins; the
			 * unmatched frames it skips can no longer match (they
			 * will be missing, and a late copy of one unexpected). */
			uint32_t end = q->n - q->head > LOOKAHEAD ? q->head + LOOKAHEAD : q->n;
			for (uint32_t i = q->head; i < end; i++) {
				struct frame *e = &exp->f[q->idx[i]];
				long dpos = frame_diff(cmp, cmp_len, &cp, e);
				if (dpos < 0) {
					e->matched = 1;
					found = 1;
					q->head = i + 1;
					break;
				}
				if (first_diff == -2) {
					first_diff = dpos;
					first_idx = q->idx[i];
				}
			}
		}
		if (found) {
			c->matched++;
			continue;
		}
		c->unexpected++;
		if (first_diff >= 0)
			report("got frame %zu (%s): unexpected; differs from expected frame %u "
			       "(the next of its flow) at %sbyte %ld", gi + 1,
			       describe(cmp, &cp, d1, sizeof(d1)), first_idx + 1,
			       opt.media_only ? "UDP payload " : "", first_diff);
		else
			report("got frame %zu (%s): unexpected; no expected frame left in its flow",
			       gi + 1, describe(cmp, &cp, d1, sizeof(d1)));
	}

	for (size_t i = 0; i < exp->n; i++) {
		if (opt.media_only && !is_media(&exp->f[i].p))
			continue;               /* ignored */
		c->expect_checked++;
		if (exp->f[i].matched)
			continue;
		c->missing++;
		report("expected frame %zu (%s): missing", i + 1,
		       describe(exp->f[i].d, &exp->f[i].p, d1, sizeof(d1)));
	}
}

/* ---- options ------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
"usage: callseal-srtpcheck --expect FILE --got FILE [--mode decrypt|plain]\n"
"                          [--profile P --inline BASE64 [--inline-next BASE64\n"
"                          [--from-index N]] [--mki V:L [--mki-next V:L]]]\n"
"                          [--media-only] [options]\n"
"\n"
"Compares the dataplane's output pcap with the frames expected, and checks the\n"
"IPv4/UDP checksums and lengths of every frame it emitted.\n"
"\n"
"  --expect FILE         plaintext frames as they should come out (after decryption)\n"
"  --got FILE            the dataplane's tx pcap\n"
"  --mode decrypt|plain  decrypt: media in got is SRTP/SRTCP; unprotect it with\n"
"                        libsrtp2 and compare the result (default with --inline);\n"
"                        plain: media in got must equal expected (default otherwise)\n"
"  --profile P           AEAD_AES_128_GCM, AEAD_AES_256_GCM, AES_CM_128_HMAC_SHA1_80\n"
"                        or AES_CM_128_HMAC_SHA1_32 (decrypt mode)\n"
"  --inline BASE64       RFC 4568 inline key: base64(master key || 12-byte salt)\n"
"  --inline-next BASE64  decrypt mode: a second master key (a rekey); media that\n"
"                        unprotects with either key is accepted, and counted in\n"
"                        old_key or new_key (SRTP and SRTCP)\n"
"  --from-index N        with --inline-next: SRTP packets whose index (ROC << 16 | SEQ,\n"
"                        ROC 0 at an SSRC's first packet) is below N must use the old\n"
"                        key, the others the new one; a wrong one is decrypt_failed\n"
"  --mki VALUE:LEN       the --inline key's MKI (RFC 3711 s. 3.1; VALUE decimal or\n"
"                        0x-hex in LEN (1-4) bytes): packets must carry it (a packet\n"
"                        with another MKI is decrypt_failed, \"MKI names no key\")\n"
"  --mki-next VALUE:LEN  with --mki: the --inline-next key's MKI\n"
"  --media-only          compare only media (RTP/RTCP): per (ports, RTP/RTCP, SSRC)\n"
"                        queue, the UDP ports and payload (decrypted in decrypt\n"
"                        mode); MACs, VLAN, IP headers and non-media frames are\n"
"                        ignored (checksums of every got frame are still checked)\n"
"  --media-ports LO-HI   UDP ports on which RTP/RTCP is media (default 1024-65535);\n"
"                        a frame is media if either port is in the range\n"
"  --tap                 also print TAP lines (ok/not ok, 4 of them, numbered 1-4)\n"
"  --max-report N        show at most N problems (default 10)\n"
"  -q, --quiet           show no problems, just the counts\n"
"  -h, --help\n"
"\n"
"Media (RTP/RTCP: UDP on a media port, first byte 128-191) is compared from the\n"
"first byte of the frame to the end of the IP packet, checksum fields aside (they\n"
"are checked separately); in decrypt mode after unprotecting, with the IP and UDP\n"
"lengths fixed. Everything else must be identical. Matching is in order per\n"
"queue: media per (addresses, ports, RTP/RTCP, SSRC), other frames per flow;\n"
"expected frames skipped over are missing, a frame that comes after a later one\n"
"of its queue is unexpected. Frames of different queues may be interleaved in\n"
"any order.\n"
"\n"
"Output (stdout, last line):\n"
"  {\"matched\":N,\"missing\":N,\"unexpected\":N,\"bad_checksum\":N,\"decrypt_failed\":N,\n"
"   \"old_key\":N,\"new_key\":N}\n"
"matched and missing count expected frames (only media ones with --media-only);\n"
"unexpected, bad_checksum and decrypt_failed count got frames; old_key and new_key\n"
"the got media frames libsrtp2 unprotected with --inline and --inline-next (a\n"
"packet on the wrong side of --from-index is counted there and in decrypt_failed). Exit 0 when every expected frame matched and\n"
"all the others are 0; 1 otherwise; 2 for a usage or file error.\n"
"\n"
"Examples:\n"
"  callseal-srtpcheck --mode decrypt --profile AEAD_AES_128_GCM --inline KEY \\\n"
"      --expect inside-in.pcap --got outside-tx.pcap --tap\n"
"  callseal-srtpcheck --mode plain --expect rtp.pcap --got inside-tx.pcap\n"
"  callseal-srtpcheck --mode decrypt --profile AEAD_AES_128_GCM --inline KEY \\\n"
"      --inline-next KEY2 --from-index 65600 --expect rtp.pcap --got srtp.pcap\n"
"  callseal-srtpcheck --mode plain --media-only --expect rtp.pcap --got tap-tx.pcap\n");
}

static void bad(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void bad(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("callseal-srtpcheck: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputs(" (try --help)\n", stderr);
	va_end(ap);
	exit(EXIT_USAGE);
}

static unsigned long num(const char *optname, const char *s, unsigned long lo,
			 unsigned long hi)
{
	char *end;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || !*s || *end || *s == '-' || v < lo || v > hi)
		bad("%s: '%s' is not a number in %lu-%lu", optname, s, lo, hi);
	return v;
}

enum {
	O_EXPECT = 256, O_GOT, O_MODE, O_PROFILE, O_INLINE, O_PORTS, O_TAP, O_MAX,
	O_INLINE_NEXT, O_FROM_INDEX, O_MEDIA_ONLY, O_MKI, O_MKI_NEXT,
};

static const struct option longopts[] = {
	{ "expect", required_argument, NULL, O_EXPECT },
	{ "got", required_argument, NULL, O_GOT },
	{ "mode", required_argument, NULL, O_MODE },
	{ "profile", required_argument, NULL, O_PROFILE },
	{ "inline", required_argument, NULL, O_INLINE },
	{ "inline-next", required_argument, NULL, O_INLINE_NEXT },
	{ "mki", required_argument, NULL, O_MKI },
	{ "mki-next", required_argument, NULL, O_MKI_NEXT },
	{ "from-index", required_argument, NULL, O_FROM_INDEX },
	{ "media-only", no_argument, NULL, O_MEDIA_ONLY },
	{ "media-ports", required_argument, NULL, O_PORTS },
	{ "tap", no_argument, NULL, O_TAP },
	{ "max-report", required_argument, NULL, O_MAX },
	{ "quiet", no_argument, NULL, 'q' },
	{ "help", no_argument, NULL, 'h' },
	{ NULL, 0, NULL, 0 },
};

static void parse_args(int argc, char **argv)
{
	const char *inline_key = NULL, *next_key = NULL, *mki = NULL, *mki_next = NULL;
	char err[160];
	int c;

	while ((c = getopt_long(argc, argv, "hq", longopts, NULL)) != -1) {
		switch (c) {
		case O_EXPECT: opt.expect_path = optarg; break;
		case O_GOT: opt.got_path = optarg; break;
		case O_MODE:
			if (strcmp(optarg, "decrypt") == 0)
				opt.mode = MODE_DECRYPT;
			else if (strcmp(optarg, "plain") == 0)
				opt.mode = MODE_PLAIN;
			else
				bad("--mode: 'decrypt' or 'plain', not '%s'", optarg);
			break;
		case O_PROFILE:
			if (ptool_parse_profile(optarg, &opt.profile))
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
			opt.from_index = v;
			opt.have_from = 1;
			break;
		}
		case O_MEDIA_ONLY: opt.media_only = 1; break;
		case O_PORTS: {
			char lo[16];
			const char *dash = strchr(optarg, '-');
			size_t l = dash ? (size_t)(dash - optarg) : 0;
			if (!dash || l == 0 || l >= sizeof(lo))
				bad("--media-ports: LO-HI, not '%s'", optarg);
			memcpy(lo, optarg, l);
			lo[l] = 0;
			opt.media_lo = (uint16_t)num("--media-ports", lo, 0, 65535);
			opt.media_hi = (uint16_t)num("--media-ports", dash + 1, 0, 65535);
			if (opt.media_hi < opt.media_lo)
				bad("--media-ports: HI is below LO in '%s'", optarg);
			break;
		}
		case O_TAP: opt.tap = 1; break;
		case O_MAX: opt.max_report = (unsigned)num("--max-report", optarg, 0, 1000000000); break;
		case 'q': opt.quiet = 1; break;
		case 'h': usage(stdout); exit(EXIT_PASS);
		default: bad("unknown option");
		}
	}
	if (optind < argc)
		bad("unexpected argument '%s'", argv[optind]);
	if (!opt.expect_path || !opt.got_path)
		bad("--expect FILE and --got FILE are required");
	if ((opt.profile != PTOOL_PROFILE_NONE) != (inline_key != NULL))
		bad("--profile and --inline go together");
	if (opt.mode < 0)
		opt.mode = inline_key ? MODE_DECRYPT : MODE_PLAIN;
	if (opt.mode == MODE_DECRYPT && !inline_key)
		bad("--mode decrypt needs --profile and --inline");
	if (next_key && opt.mode != MODE_DECRYPT)
		bad("--inline-next needs --mode decrypt (and --profile, --inline)");
	if (opt.have_from && !next_key)
		bad("--from-index needs --inline-next");
	if (ptool_mki_opts(mki, mki_next, inline_key != NULL, next_key != NULL,
			   &opt.mki, &opt.next_mki, err, sizeof(err)))
		bad("%s", err);
	if (inline_key) {
		if (ptool_parse_inline(inline_key, opt.profile, opt.keysalt, err, sizeof(err)))
			bad("--inline: %s", err);
		opt.have_key = 1;
	}
	if (next_key) {
		if (ptool_parse_inline(next_key, opt.profile, opt.next_keysalt, err, sizeof(err)))
			bad("--inline-next: %s", err);
		opt.have_next = 1;
	}
}

static void tap_line(int n, int pass, const char *fmt, ...) __attribute__((format(printf, 3, 4)));
static void tap_line(int n, int pass, const char *fmt, ...)
{
	va_list ap;
	printf("%sok %d - srtpcheck: ", pass ? "" : "not ", n);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
}

int main(int argc, char **argv)
{
	struct flist exp = { 0 }, got = { 0 };
	struct qtable t = { 0 };
	struct counts c = { 0 };
	struct keyring kr = { 0 };
	int srtp_up = 0;
	int rc = EXIT_USAGE;

	if (callseal_version_arg(argc, argv, "callseal-srtpcheck"))
		return 0;

	parse_args(argc, argv);
	if (sodium_init() < 0) {
		fprintf(stderr, "callseal-srtpcheck: libsodium failed to initialise\n");
		return EXIT_USAGE;
	}
	if (load(opt.expect_path, &exp) || load(opt.got_path, &got))
		goto out;
	if (opt.mode == MODE_DECRYPT) {
		srtp_err_status_t e = srtp_init();
		if (e == srtp_err_status_ok) {
			srtp_up = 1;
			e = keyring_open(&kr);
		}
		if (e != srtp_err_status_ok) {
			fprintf(stderr, "callseal-srtpcheck: libsrtp2 set-up failed: error %d\n", (int)e);
			goto out;
		}
	}
	c.expect_frames = exp.n;
	c.got_frames = got.n;
	build_queues(&t, &exp);
	check(&exp, &got, &t, &kr, &c);

	int pass = c.matched == c.expect_checked && !c.missing && !c.unexpected &&
		   !c.bad_checksum && !c.decrypt_failed;
	if (opt.tap) {
		const char *what = opt.media_only ? "expected media frames" : "expected frames";
		if (c.missing)
			tap_line(1, 0, "%lu of %lu %s missing", c.missing, c.expect_checked, what);
		else
			tap_line(1, 1, "all %lu %s matched", c.expect_checked, what);
		tap_line(2, !c.unexpected, "%lu unexpected frames in got (%zu frames)",
			 c.unexpected, got.n);
		if (opt.mode == MODE_DECRYPT)
			tap_line(3, !c.decrypt_failed, "%lu media frames failed to unprotect",
				 c.decrypt_failed);
		else
			tap_line(3, 1, "plain mode, nothing to unprotect");
		tap_line(4, !c.bad_checksum, "%lu frames with bad checksums or lengths "
			 "(of %lu IP frames checked)", c.bad_checksum,
			 c.ip_frames + c.bad_checksum);
	}
	printf("{\"matched\":%lu,\"missing\":%lu,\"unexpected\":%lu,"
	       "\"bad_checksum\":%lu,\"decrypt_failed\":%lu,"
	       "\"old_key\":%lu,\"new_key\":%lu}\n",
	       c.matched, c.missing, c.unexpected, c.bad_checksum, c.decrypt_failed,
	       c.old_key, c.new_key);
	rc = pass ? EXIT_PASS : EXIT_MISMATCH;
out:
	keyring_close(&kr);
	if (srtp_up)
		srtp_shutdown();
	sodium_memzero(opt.keysalt, sizeof(opt.keysalt));
	sodium_memzero(opt.next_keysalt, sizeof(opt.next_keysalt));
	free_queues(&t);
	free_list(&exp);
	free_list(&got);
	fflush(stdout);
	return rc;
}
