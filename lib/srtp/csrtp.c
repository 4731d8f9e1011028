/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * csrtp.c - SRTP/SRTCP with AEAD_AES_128_GCM and AEAD_AES_256_GCM (RFC 7714)
 * and AES_CM_128_HMAC_SHA1_80/_32 (RFC 3711), in batches on intel-ipsec-mb.
 *
 * Every burst call runs in three passes over at most CSRTP_BURST_MAX packets:
 *   1. prepare: parse and validate each packet, estimate its index, check the
 *      replay window, build IV and AAD into the engine's per-slot scratch;
 *   2. the AES-GCM of all slots back to back: direct intel-ipsec-mb GCM calls,
 *      or one IMB_SUBMIT_BURST_NOCHECK burst (enum csrtp_api); the AES-CM
 *      slots of the batch (a batch may mix profiles) as AES-CTR + HMAC-SHA1
 *      jobs, all submitted, then flushed, so that the HMACs share the
 *      multi-buffer SIMD lanes (run_slots_cm);
 *   3. finish: compare tags in constant time, move the replay window, fix
 *      lengths, leave a status in every packet. While a stream changes keys,
 *      the packets that failed under one key are tried under the others
 *      first (retry_slots), and a packet that verifies under a pending key
 *      switches its stream (switch_key).
 * Nothing is allocated; nothing is logged.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "byteorder.h"
#include "csrtp.h"
#include "csrtp_window.h"

#include "csrtp_internal.h"

/* ---- helpers ------------------------------------------------------------ */

/* Constant time: no early exit, no data-dependent branch. */
static inline int tag_equal(const uint8_t *a, const uint8_t *b)
{
	uint64_t a0, a1, b0, b1;

	memcpy(&a0, a, 8);
	memcpy(&a1, a + 8, 8);
	memcpy(&b0, b, 8);
	memcpy(&b1, b + 8, 8);
	return ((a0 ^ b0) | (a1 ^ b1)) == 0;
}

/* The same for the HMAC-SHA1 tags, 10 or 4 octets (n is public: the
 * profile's), in words: one 32-bit word, or a 64-bit and a 16-bit one. */
static inline int tag_equal_cm(const uint8_t *a, const uint8_t *b, unsigned n)
{
	uint64_t a0, b0;
	uint32_t a4, b4;
	uint16_t a1, b1;

	if (n == 4) {
		memcpy(&a4, a, 4);
		memcpy(&b4, b, 4);
		return (a4 ^ b4) == 0;
	}
	memcpy(&a0, a, 8);
	memcpy(&b0, b, 8);
	memcpy(&a1, a + 8, 2);
	memcpy(&b1, b + 8, 2);
	return ((a0 ^ b0) | (uint64_t)(uint16_t)(a1 ^ b1)) == 0;
}
_Static_assert(CSRTP_CM_RTCP_TAG_LEN == 10, "tag_equal_cm: 10 or 4 octets");

/*
 * RTP header length including CSRCs and extension (RFC 3550 s. 5.1, 5.3.1),
 * validated against len (the packet without any tag).
 */
static inline int rtp_header_len(const uint8_t *d, uint32_t len, uint32_t *hlen)
{
	if (unlikely(len < CSRTP_RTP_HDR_LEN))
		return CSRTP_ERR_TOO_SHORT;
	if (unlikely((d[0] >> 6) != 2))
		return CSRTP_ERR_MALFORMED;
	uint32_t h = CSRTP_RTP_HDR_LEN + 4u * (d[0] & 0x0f);
	if (d[0] & 0x10) {
		if (unlikely(h + 4 > len))
			return CSRTP_ERR_MALFORMED;
		h += 4 + 4u * get_be16(d + h + 2);
	}
	if (unlikely(h > len))
		return CSRTP_ERR_MALFORMED;
	*hlen = h;
	return CSRTP_OK;
}

/* RFC 7714 s. 8.1: IV = (00 00 || SSRC || ROC || SEQ) XOR salt. */
static inline void rtp_iv(uint8_t iv[CSRTP_IV_LEN], const uint8_t salt[CSRTP_SALT_LEN],
			   const uint8_t *ssrc, uint64_t index)
{
	/* as two little-endian words, built in registers (byte stores followed
	 * by a wide load would stall store-to-load forwarding):
	 * (00 00 || SSRC || ROC[0..1]) and (ROC[2..3] || SEQ) */
	uint32_t ssrc32, roc = (uint32_t)(index >> 16), d;
	uint64_t a, b;

	memcpy(&ssrc32, ssrc, 4);
	a = (uint64_t)ssrc32 << 16 |
	    (uint64_t)__builtin_bswap16((uint16_t)(roc >> 16)) << 48;
	uint32_t c = __builtin_bswap16((uint16_t)roc) |
		     (uint32_t)__builtin_bswap16((uint16_t)index) << 16;
	memcpy(&b, salt, 8);
	memcpy(&d, salt + 8, 4);
	a ^= b;
	c ^= d;
	memcpy(iv, &a, 8);
	memcpy(iv + 8, &c, 4);
}

/* RFC 7714 s. 9.1: IV = (00 00 || SSRC || 00 00 || 0 || SRTCP index) XOR salt. */
static inline void rtcp_iv(uint8_t iv[CSRTP_IV_LEN], const uint8_t salt[CSRTP_SALT_LEN],
			    const uint8_t *ssrc, uint32_t index)
{
	iv[0] = salt[0];
	iv[1] = salt[1];
	for (int i = 0; i < 4; i++)
		iv[2 + i] = salt[2 + i] ^ ssrc[i];
	iv[6] = salt[6];
	iv[7] = salt[7];
	iv[8] = salt[8] ^ (uint8_t)((index >> 24) & 0x7f);
	iv[9] = salt[9] ^ (uint8_t)(index >> 16);
	iv[10] = salt[10] ^ (uint8_t)(index >> 8);
	iv[11] = salt[11] ^ (uint8_t)index;
}

/*
 * RFC 3711 s. 4.1.1: IV = (k_s * 2^16) XOR (SSRC * 2^64) XOR (i * 2^16), a
 * 128-bit counter block: salt in octets 0-13, SSRC XORed into octets 4-7,
 * the 48-bit SRTP index (s. 3.3.1) or the SRTCP index (s. 3.4) into 8-13,
 * octets 14-15 the block counter, starting at 0.
 */
static inline void cm_iv(uint8_t iv[16], const uint8_t salt[CSRTP_CM_SALT_LEN],
			 const uint8_t *ssrc, uint64_t index)
{
	/* as two little-endian words built in registers (see rtp_iv): octets
	 * 0-7 (salt, SSRC in 4-7) and 8-15 (salt, index in 8-13, counter 0) */
	uint64_t a, b;
	uint32_t ssrc32, c;
	uint16_t d;

	memcpy(&a, salt, 8);
	memcpy(&ssrc32, ssrc, 4);
	memcpy(&c, salt + 8, 4);
	memcpy(&d, salt + 12, 2);
	a ^= (uint64_t)ssrc32 << 32;
	b = ((uint64_t)c | (uint64_t)d << 32) ^ __builtin_bswap64(index << 16);
	memcpy(iv, &a, 8);
	memcpy(iv + 8, &b, 8);
}

/* SRTCP: E||index word and tag after the packet, 20 (GCM) or 14 octets,
 * and the MKI. */
static inline unsigned key_rtcp_overhead(const struct csrtp_key *k)
{
	return (likely(!k->cm) ? CSRTP_RTCP_OVERHEAD :
		CSRTP_RTCP_TRAILER_LEN + CSRTP_CM_RTCP_TAG_LEN) + k->mki_len;
}

/* What an SRTP packet looks like on the wire under a key: its rtp_trailer
 * (tag + MKI length) tells every layout apart: GCM 16-20, AES-CM 10-14
 * (80-bit tag) and 4-8 (32-bit tag). A packet is only ever tried under keys
 * of its stream's layout (a key change keeps it). */
_Static_assert(CSRTP_TAG_LEN > 10 + CSRTP_MKI_MAX && 10 > 4 + CSRTP_MKI_MAX,
	       "one rtp_trailer per (profile, MKI length)");

/*
 * RFC 3711 s. 3.1: the places of the stream's keys (current, previous,
 * pending; a stream's keys share one MKI length: csrtp_stream_rekey,
 * csrtp_stream_pending) whose MKI the packet carries, bit j for place j; 0 if
 * none. Several where keys share an MKI value (SDES peers often give every
 * key MKI 1): the packet is then tried under each of them, in the order it
 * would be without an MKI (rtp_order, rtcp_mki_key).
 */
/* k's MKI is the packet's (v: its len octets, zero-padded to
 * CSRTP_MKI_MAX as csrtp_key_set_mki keeps a key's). */
static inline bool key_has_mki(const struct csrtp_key *k, uint32_t v, unsigned len)
{
	uint32_t m;

	if (k == NULL || k->mki_len != len)
		return false;
	memcpy(&m, k->mki, sizeof(m));
	return m == v;
}

static inline unsigned mki_match(const struct csrtp_stream *s, const uint8_t *mki, unsigned len)
{
	uint8_t b[CSRTP_MKI_MAX] = { 0 };
	uint32_t v;

	_Static_assert(CSRTP_MKI_MAX == sizeof(v), "an MKI compares as one word");
	for (unsigned i = 0; i < len; i++)
		b[i] = mki[i];
	memcpy(&v, b, sizeof(v));
	unsigned mm = key_has_mki(s->key, v, len);
	/* the common case: one key, no change under way */
	if (likely(s->prev_key == NULL && s->pending[0] == NULL && s->pending[1] == NULL))
		return mm;
	for (unsigned j = PLACE_PREV; j < CSRTP_KEY_PLACES; j++)
		if (key_has_mki(csrtp_stream_key_at(s, j), v, len))
			mm |= 1u << j;
	return mm;
}

/* The place of k among the stream's keys (the first, if it is held twice);
 * the current key's if none (never: a slot's key is one the stream holds). */
static inline unsigned key_place(const struct csrtp_stream *s, const struct csrtp_key *k)
{
	for (unsigned j = PLACE_PREV; j < CSRTP_KEY_PLACES; j++)
		if (csrtp_stream_key_at(s, j) == k)
			return j;
	return PLACE_CUR;
}

/* Key lifetime (RFC 3711 s. 9.2), per stream: the packets counted under k,
 * at its place; the current key's without a search. */
static inline uint64_t *rtp_used(struct csrtp_stream *s, const struct csrtp_key *k)
{
	return &s->rtp_used[likely(k == s->key) ? PLACE_CUR : key_place(s, k)];
}

static inline uint32_t *rtcp_used(struct csrtp_stream *s, const struct csrtp_key *k)
{
	return &s->rtcp_used[likely(k == s->key) ? PLACE_CUR : key_place(s, k)];
}

/* The key for SRTP index (RFC 3711 <From,To>). */
static inline const struct csrtp_key *key_for_index(const struct csrtp_stream *s,
						   uint64_t index)
{
	if (unlikely(s->prev_key != NULL) && index < s->key_from)
		return s->prev_key;
	return s->key;
}

/* The key SRTCP uses now: the new one once SRTP has reached key_from, or at
 * once on a stream that carries no SRTP (a receive-only party's reports). */
static inline const struct csrtp_key *rtcp_current_key(const struct csrtp_stream *s)
{
	if (unlikely(s->prev_key != NULL) && s->rtp.started && s->rtp.top < s->key_from)
		return s->prev_key;
	return s->key;
}

/* RFC 3711 s. 3.3.1: the index of seq. A sender that changed keys
 * (csrtp_stream_sender_rekey) estimates its first packet from where it was. */
static inline uint64_t stream_estimate(const struct csrtp_stream *s, uint16_t seq)
{
	if (unlikely(!s->rtp.started) && s->resume)
		return csrtp_window_estimate_from(s->resume_top, seq);
	return csrtp_window_estimate(&s->rtp, seq, s->roc_init);
}

/* A key that has been wiped (or never set) must never encrypt anything. */
static inline bool key_usable(const struct csrtp_key *k)
{
	return k != NULL && (k->key_len == 16 || k->key_len == 32);
}

/* After index was accepted: release the old key once a window past key_from. */
static inline void rtp_accept(struct csrtp_stream *s, uint64_t index)
{
	csrtp_window_update(&s->rtp, index);
	if (unlikely(s->prev_key != NULL) && s->rtp.top >= s->key_from + s->rtp.size) {
		/* their places (and lifetime counts) released */
		csrtp_stream_set_keys(s, s->key, NULL, s->skipped ? NULL : s->pending[0],
				      s->pending[1]);
		s->skipped = 0;
	}
}

/*
 * The keys an SRTP packet of index idx is tried under, in order, into o: those
 * at the places in mask (all without an MKI, those whose MKI it carries with
 * one) that hold a key. Older than the window (fresh): the pending keys (a
 * sender that started over under its new key). Below From: the old key, a
 * skipped pending one, then the current one, whose From it then lowers
 * (reordering around the switch). Else the current key, then the pending ones
 * (not a skipped one). Returns how many.
 */
static unsigned rtp_order(const struct csrtp_stream *s, uint64_t idx, bool fresh,
			  unsigned mask, const struct csrtp_key *o[CSRTP_KEY_PLACES])
{
	uint8_t pl[CSRTP_KEY_PLACES];
	unsigned np = 0, n = 0;

	if (fresh) {
		pl[np++] = PLACE_PENDING;
		pl[np++] = PLACE_PENDING + 1;
	} else if (s->prev_key != NULL && idx < s->key_from) {
		pl[np++] = PLACE_PREV;
		if (s->skipped)
			pl[np++] = PLACE_PENDING;
		pl[np++] = PLACE_CUR;
	} else {
		pl[np++] = PLACE_CUR;
		for (unsigned j = s->skipped; j < CSRTP_PENDING_MAX; j++)
			pl[np++] = (uint8_t)(PLACE_PENDING + j);
	}
	for (unsigned j = 0; j < np; j++)
		if ((mask >> pl[j]) & 1 && csrtp_stream_key_at(s, pl[j]) != NULL)
			o[n++] = csrtp_stream_key_at(s, pl[j]);
	return n;
}

/* With an MKI that names the keys at places mm: the key an SRTP packet is
 * tried under first, the first of rtp_order's; where none of them is in that
 * order (a previous key at or past From), the first named (refused later). */
static const struct csrtp_key *rtp_mki_key(const struct csrtp_stream *s, uint64_t idx,
					   bool fresh, unsigned mm)
{
	const struct csrtp_key *o[CSRTP_KEY_PLACES];

	if ((mm & (mm - 1)) != 0 && rtp_order(s, idx, fresh, mm, o) > 0)
		return o[0];
	return csrtp_stream_key_at(s, (unsigned)__builtin_ctz(mm));
}

/* ---- the batch ---------------------------------------------------------- */

/* Protect: encrypt, then authenticate the ciphertext; unprotect: the reverse. */
static inline void job_direction(IMB_JOB *job, int encrypt)
{
	if (encrypt) {
		job->cipher_direction = IMB_DIR_ENCRYPT;
		job->chain_order = IMB_ORDER_CIPHER_HASH;
	} else {
		job->cipher_direction = IMB_DIR_DECRYPT;
		job->chain_order = IMB_ORDER_HASH_CIPHER;
	}
}

static inline void fill_job(IMB_JOB *job, struct slot *sl, int encrypt)
{
	const struct csrtp_key *k = sl->key;
	struct csrtp_pkt *p = sl->pkt;

	job->cipher_mode = IMB_CIPHER_GCM;
	job->hash_alg = IMB_AUTH_AES_GMAC;
	job_direction(job, encrypt);
	job->key_len_in_bytes = k->key_len;
	job->enc_keys = sl->rtcp ? &k->rtcp_key : &k->rtp_key;
	job->dec_keys = job->enc_keys;
	job->src = p->data;
	job->dst = p->data + sl->off;
	job->cipher_start_src_offset_in_bytes = sl->off;
	job->msg_len_to_cipher_in_bytes = sl->clen;
	job->hash_start_src_offset_in_bytes = sl->off;
	job->msg_len_to_hash_in_bytes = sl->clen;
	job->iv = sl->iv;
	job->iv_len_in_bytes = CSRTP_IV_LEN;
	job->u.GCM.aad = sl->aad_ptr;
	job->u.GCM.aad_len_in_bytes = sl->aad_len;
	job->auth_tag_output = sl->tag_out;
	job->auth_tag_output_len_in_bytes = CSRTP_TAG_LEN;
	job->user_data = sl;
}

/* Run slots[0..m) through the direct GCM calls, one after the other. */
static void run_slots_direct(struct csrtp_engine *e, struct slot **slots, unsigned m,
			     int encrypt)
{
	IMB_MGR *mgr = e->mgr;

	for (unsigned i = 0; i < m; i++) {
		struct slot *sl = slots[i];
		const struct csrtp_key *k = sl->key;
		const struct gcm_key_data *kd = sl->rtcp ? &k->rtcp_key : &k->rtp_key;
		uint8_t *d = sl->pkt->data + sl->off;

		sl->failed = 0;
		if (k->key_len == 16) {
			if (encrypt)
				IMB_AES128_GCM_ENC(mgr, kd, &e->gctx, d, d, sl->clen, sl->iv,
						   sl->aad_ptr, sl->aad_len, sl->tag_out, CSRTP_TAG_LEN);
			else
				IMB_AES128_GCM_DEC(mgr, kd, &e->gctx, d, d, sl->clen, sl->iv,
						   sl->aad_ptr, sl->aad_len, sl->tag_out, CSRTP_TAG_LEN);
		} else {
			if (encrypt)
				IMB_AES256_GCM_ENC(mgr, kd, &e->gctx, d, d, sl->clen, sl->iv,
						   sl->aad_ptr, sl->aad_len, sl->tag_out, CSRTP_TAG_LEN);
			else
				IMB_AES256_GCM_DEC(mgr, kd, &e->gctx, d, d, sl->clen, sl->iv,
						   sl->aad_ptr, sl->aad_len, sl->tag_out, CSRTP_TAG_LEN);
		}
	}
}

/* A job came back: its slot succeeded if the job completed. */
static inline void mark_done(IMB_JOB *job)
{
	struct slot *sl = job->user_data;
	sl->failed = job->status != IMB_STATUS_COMPLETED;
}

/* Run GCM slots[0..m) as intel-ipsec-mb bursts, or direct calls; a slot whose
 * job did not complete stays marked failed. */
static void run_slots_gcm(struct csrtp_engine *e, struct slot **slots, unsigned m,
			  int encrypt)
{
	if (likely(e->api == CSRTP_API_DIRECT)) {
		run_slots_direct(e, slots, m, encrypt);
		return;
	}

	IMB_MGR *mgr = e->mgr;
	IMB_JOB *done_jobs[IMB_MAX_JOBS];
	unsigned i = 0;

	for (unsigned j = 0; j < m; j++)
		slots[j]->failed = 1;          /* until its job comes back completed */
	while (i < m) {
		unsigned got = IMB_GET_NEXT_BURST(mgr, m - i, e->jobs);
		if (unlikely(got == 0)) {
			/* the manager's queue is full (never, as we always drain
			 * it): drain it, then try again */
			if (IMB_FLUSH_BURST(mgr, IMB_MAX_JOBS, done_jobs) == 0)
				break;
			continue;
		}
		for (unsigned j = 0; j < got; j++)
			fill_job(e->jobs[j], slots[i + j], encrypt);
		unsigned done = IMB_SUBMIT_BURST_NOCHECK(mgr, got, e->jobs);
		for (unsigned j = 0; j < done; j++)
			mark_done(e->jobs[j]);
		/* the burst API completes GCM jobs synchronously; drain anyway so
		 * that no job is left pointing into a caller's packet */
		unsigned f;
		while (done < got && (f = IMB_FLUSH_BURST(mgr, IMB_MAX_JOBS, done_jobs)) > 0) {
			for (unsigned j = 0; j < f; j++)
				mark_done(done_jobs[j]);
			done += f;
		}
		i += got;
	}
}

/*
 * One AES-CM + HMAC-SHA1 job (RFC 3711 s. 3.3, 3.4, 4.1.1, 4.2). The MAC
 * covers the authenticated portion followed by a word that is not in the
 * packet there: the ROC (SRTP, s. 4.2) or, in its place on the wire, the
 * E||index word (SRTCP). It is written right after the authenticated
 * portion (the tailroom when protecting, where the received tag was when
 * unprotecting: cm_done puts the 4 octets it covered back) so that the
 * MAC runs over the packet buffer, without a copy. intel-ipsec-mb's HMAC-SHA1 gives 12 (or
 * 20) octets: 12 into the slot, of which the first 10 or 4 are the tag.
 */
static inline void fill_cm_job(IMB_JOB *job, struct slot *sl, int encrypt)
{
	const struct csrtp_cm_keys *c = &sl->key->cm_keys;
	uint8_t *d = sl->pkt->data;

	put_be32(d + sl->hlen - 4, sl->word);
	/* nothing to encrypt (SRTCP E=0, an empty payload): HMAC only */
	job->cipher_mode = sl->clen ? IMB_CIPHER_CNTR : IMB_CIPHER_NULL;
	job->hash_alg = IMB_AUTH_HMAC_SHA_1;
	job_direction(job, encrypt);
	job->key_len_in_bytes = 16;
	job->enc_keys = sl->rtcp ? c->rtcp_enc : c->rtp_enc;
	job->dec_keys = job->enc_keys;        /* CTR only ever encrypts */
	job->src = d;
	job->dst = d + sl->off;
	job->cipher_start_src_offset_in_bytes = sl->off;
	job->msg_len_to_cipher_in_bytes = sl->clen;
	job->iv = sl->iv;
	job->iv_len_in_bytes = 16;
	job->hash_start_src_offset_in_bytes = 0;
	job->msg_len_to_hash_in_bytes = sl->hlen;
	job->u.HMAC._hashed_auth_key_xor_ipad = sl->rtcp ? c->rtcp_ipad : c->rtp_ipad;
	job->u.HMAC._hashed_auth_key_xor_opad = sl->rtcp ? c->rtcp_opad : c->rtp_opad;
	job->auth_tag_output = sl->tag;
	job->auth_tag_output_len_in_bytes = 12;
	job->user_data = sl;
}

/* An AES-CM job came back (every submitted job does, completed or not): as
 * mark_done, and an SRTP packet being unprotected gets back the 4 octets of
 * its trailer (MKI || tag) that the ROC covered for the MAC. */
static inline void cm_done(IMB_JOB *job)
{
	struct slot *sl = job->user_data;

	sl->failed = job->status != IMB_STATUS_COMPLETED;
	if (sl->rtag_at != NULL)
		memcpy(sl->rtag_at, &sl->roc_was, sizeof(sl->roc_was));
}

/* Run AES-CM slots[0..m) through the job API: submit every job, then flush.
 * HMAC-SHA1 runs in multi-buffer lanes, so jobs come back as lanes fill
 * (SUBMIT may hand back an earlier job, or none); user_data names the slot.
 * NOCHECK: pass 1 validated every length, and a job with nothing to encrypt
 * is IMB_CIPHER_NULL (CTR refuses 0 bytes). The checked submit cost ~50
 * cycles per 160-byte packet (bench_csrtp: engine/raw jobs 1.31x -> 1.17x). */
static void run_slots_cm(struct csrtp_engine *e, struct slot **slots, unsigned m,
			 int encrypt)
{
	IMB_MGR *mgr = e->mgr;
	IMB_JOB *job;

	for (unsigned i = 0; i < m; i++) {
		slots[i]->failed = 1;          /* until its job comes back completed */
		fill_cm_job(IMB_GET_NEXT_JOB(mgr), slots[i], encrypt);
		if ((job = IMB_SUBMIT_JOB_NOCHECK(mgr)) != NULL)
			cm_done(job);
	}
	while ((job = IMB_FLUSH_JOB(mgr)) != NULL)
		cm_done(job);
}

/* Run slots[0..m), ncm of them AES-CM: classified by profile, each group as
 * one batch. A batch of GCM slots only (the common case) goes straight
 * through. */
static void run_slots_n(struct csrtp_engine *e, struct slot **slots, unsigned m, unsigned ncm,
			int encrypt)
{
	if (likely(ncm == 0)) {
		run_slots_gcm(e, slots, m, encrypt);
		return;
	}
	if (ncm == m) {
		run_slots_cm(e, slots, m, encrypt);
		return;
	}
	struct slot *gcm[CSRTP_BURST_MAX], *cm[CSRTP_BURST_MAX];
	unsigned ng = 0, nc = 0;
	for (unsigned i = 0; i < m; i++) {
		if (slots[i]->cm)
			cm[nc++] = slots[i];
		else
			gcm[ng++] = slots[i];
	}
	run_slots_gcm(e, gcm, ng, encrypt);
	run_slots_cm(e, cm, nc, encrypt);
}

static inline void run_slots(struct csrtp_engine *e, struct slot **slots, unsigned m,
			     int encrypt)
{
	unsigned ncm = 0;

	for (unsigned i = 0; i < m; i++)
		ncm += slots[i]->cm;
	run_slots_n(e, slots, m, ncm, encrypt);
}

/* The common case of slots[0..m): the ptrs array, and the AES-CM slots
 * counted on the way (no second walk through the slots). */
static inline void run_all(struct csrtp_engine *e, unsigned m, int encrypt,
			   struct slot **ptrs)
{
	unsigned ncm = 0;

	for (unsigned i = 0; i < m; i++) {
		ptrs[i] = &e->slot[i];
		ncm += e->slot[i].cm;
	}
	run_slots_n(e, ptrs, m, ncm, encrypt);
}

/* Pass 1 over one chunk of at most CSRTP_BURST_MAX packets: prepare each one
 * into the next free slot, leave its status; returns the slots filled. Inlined,
 * so that prep is a direct call. */
typedef int (*prepare_fn)(struct csrtp_pkt *p, struct slot *sl);

static inline __attribute__((always_inline)) unsigned
prepare_chunk(struct csrtp_engine *e, struct csrtp_pkt *pkts, unsigned cnt, prepare_fn prep)
{
	unsigned m = 0;

	for (unsigned i = 0; i < cnt; i++) {
		pkts[i].status = (uint8_t)prep(&pkts[i], &e->slot[m]);
		if (pkts[i].status == CSRTP_OK)
			m++;
	}
	return m;
}

static inline unsigned chunk_len(unsigned n, unsigned base)
{
	return n - base < CSRTP_BURST_MAX ? n - base : CSRTP_BURST_MAX;
}

/* ---- SRTP --------------------------------------------------------------- */

/* RFC 3711 s. 3.1, 4.2: an AES-CM SRTP slot over body (the packet without
 * tag) with header length h: the payload encrypted (none with
 * CSRTP_F_RTP_AUTH_ONLY), the MAC over body || ROC. */
static inline void cm_rtp_layout(struct slot *sl, uint32_t body, uint32_t h, uint32_t flags)
{
	const struct csrtp_key *k = sl->key;
	uint64_t idx = sl->pkt->index;

	sl->tlen = k->cm_keys.rtp_tag_len;
	sl->word = (uint32_t)(idx >> 16);              /* the ROC */
	sl->hlen = body + 4;
	if (flags & CSRTP_F_RTP_AUTH_ONLY) {
		sl->off = body;
		sl->clen = 0;
	} else {
		sl->off = h;
		sl->clen = body - h;
	}
	cm_iv(sl->iv, k->cm_keys.rtp_salt, sl->pkt->data + 8, idx);
}

static inline int prepare_rtp_protect(struct csrtp_pkt *p, struct slot *sl)
{
	struct csrtp_stream *s = p->stream;
	uint32_t h;
	int st;

	if (unlikely(s == NULL || s->key == NULL))
		return CSRTP_ERR_NO_KEY;
	if ((st = rtp_header_len(p->data, p->len, &h)) != CSRTP_OK)
		return st;
	unsigned tr = s->key->rtp_trailer;     /* AES-CM: >= 4, room for the ROC */
	if (unlikely(p->len > p->cap || p->cap - p->len < tr))
		return CSRTP_ERR_NO_ROOM;

	/* RFC 3711 s. 3.3.1: the sender's index, ROC incremented on wrap. */
	uint64_t idx = stream_estimate(s, get_be16(p->data + 2));
	if (unlikely(idx > CSRTP_INDEX_MAX))
		return CSRTP_ERR_KEY_EXHAUSTED;
	/* An index protected twice under one key would reuse a GCM IV: refuse it. */
	if (unlikely(!csrtp_window_check(&s->rtp, idx)))
		return CSRTP_ERR_INDEX_REUSE;
	const struct csrtp_key *k = key_for_index(s, idx);
	if (unlikely(!key_usable(k) || k->rtp_trailer != tr))
		return CSRTP_ERR_NO_KEY;
	/* RFC 3711 s. 9.2: no packet past the master key's lifetime */
	uint64_t *used = rtp_used(s, k);
	if (unlikely(*used >= k->rtp_life))
		return CSRTP_ERR_KEY_EXPIRED;
	rtp_accept(s, idx);
	++*used;

	p->index = idx;
	sl->pkt = p;
	sl->key = k;
	sl->rtcp = 0;
	sl->cm = k->cm;
	sl->mkil = k->mki_len;
	if (unlikely(k->cm)) {
		cm_rtp_layout(sl, p->len, h, s->flags);
		sl->rtag_at = NULL;
		return CSRTP_OK;
	}
	rtp_iv(sl->iv, k->rtp_salt, p->data + 8, idx);
	if (s->flags & CSRTP_F_RTP_AUTH_ONLY) {
		/* RFC 7714 s. 14.1 unencrypted SRTP: AAD = whole packet. */
		sl->aad_len = p->len;
		sl->off = p->len;
		sl->clen = 0;
	} else {
		/* RFC 7714 s. 8.2: AAD = the RTP header with CSRCs and extension. */
		sl->aad_len = h;
		sl->off = h;
		sl->clen = p->len - h;
	}
	sl->aad_ptr = p->data;
	sl->tag_out = p->data + p->len;    /* s. 8.2: tag follows the ciphertext */
	return CSRTP_OK;
}

unsigned csrtp_protect_burst(struct csrtp_engine *e, struct csrtp_pkt *pkts, unsigned n)
{
	struct slot *ptrs[CSRTP_BURST_MAX];
	unsigned ok = 0;

	for (unsigned base = 0; base < n; base += CSRTP_BURST_MAX) {
		unsigned m = prepare_chunk(e, pkts + base, chunk_len(n, base), prepare_rtp_protect);
		run_all(e, m, 1, ptrs);
		for (unsigned i = 0; i < m; i++) {
			struct slot *sl = &e->slot[i];
			if (unlikely(sl->failed)) {
				sl->pkt->status = CSRTP_ERR_MALFORMED;
				continue;
			}
			if (unlikely(sl->cm)) {
				/* RFC 3711 s. 3.1: MKI and tag over the ROC's place */
				uint8_t *t = sl->pkt->data + sl->pkt->len;
				if (unlikely(sl->mkil))
					memcpy(t, sl->key->mki, sl->mkil);
				memcpy(t + sl->mkil, sl->tag, sl->tlen);
			} else if (unlikely(sl->mkil)) {
				/* RFC 7714 s. 8 as libsrtp2 lays it out: the MKI
				 * after the tag */
				memcpy(sl->pkt->data + sl->pkt->len + CSRTP_TAG_LEN, sl->key->mki,
				       sl->mkil);
			}
			sl->pkt->len += sl->key->rtp_trailer;
			ok++;
		}
	}
	return ok;
}

static inline int prepare_rtp_unprotect(struct csrtp_pkt *p, struct slot *sl)
{
	struct csrtp_stream *s = p->stream;
	uint32_t h;
	int st;

	if (unlikely(s == NULL || s->key == NULL))
		return CSRTP_ERR_NO_KEY;
	unsigned tr = s->key->rtp_trailer, ml = s->key->mki_len;
	if (unlikely(p->len < CSRTP_RTP_HDR_LEN + tr))
		return CSRTP_ERR_TOO_SHORT;
	uint32_t body = p->len - tr;
	if ((st = rtp_header_len(p->data, body, &h)) != CSRTP_OK)
		return st;

	/* RFC 3711 s. 3.3.1 / appendix A: estimate ROC from s_l. A stream that
	 * has accepted nothing yet has no s_l: its packet is taken at roc_init,
	 * one per pass, so that a forged packet cannot set the reference for
	 * the genuine ones after it (csrtp_unprotect_burst). */
	uint64_t idx = stream_estimate(s, get_be16(p->data + 2));
	if (unlikely(idx > CSRTP_INDEX_MAX))
		return CSRTP_ERR_KEY_EXHAUSTED;
	p->index = idx;       /* the estimate, also when refused (see redo_rtp) */
	/* RFC 3711 s. 3.1: the MKI (before the tag; GCM: after it, as libsrtp2
	 * puts it) names the key; one that names none changes nothing. Without
	 * one, the index does (<From,To>). */
	const struct csrtp_key *k = key_for_index(s, idx);
	if (unlikely(ml != 0)) {
		unsigned mm = mki_match(s, p->data + body + (s->key->cm ? 0 : CSRTP_TAG_LEN), ml);
		if (mm == 0)
			return CSRTP_ERR_BAD_MKI;
		sl->mkim = (uint8_t)mm;
		k = likely(mm == 1u << PLACE_CUR) ? s->key :
		    rtp_mki_key(s, idx, !csrtp_window_check(&s->rtp, idx), mm);
	}
	/* s. 3.3.2: cheap replay check now; the window moves after the tag.
	 * Older than the window, or seen: a replay, unless a pending key
	 * verifies it (a sender that started over under its new key): the
	 * first one, or with an MKI the one it names. */
	sl->fresh = 0;
	if (unlikely(s->floored) && idx <= s->floor)
		return CSRTP_ERR_REPLAY;     /* accepted before a restart (restore) */
	if (unlikely(!csrtp_window_check(&s->rtp, idx))) {
		k = ml != 0 ? k : s->pending[0];
		if (likely(k == NULL) || (k != s->pending[0] && k != s->pending[1]) ||
		    !key_usable(k))
			return CSRTP_ERR_REPLAY;
		sl->fresh = 1;
	}
	if (unlikely(!key_usable(k) || k->rtp_trailer != tr))
		return CSRTP_ERR_NO_KEY;

	sl->pkt = p;
	sl->key = k;
	sl->rtcp = 0;
	sl->cm = k->cm;
	sl->tlen = (uint8_t)(tr - ml);
	sl->mkil = (uint8_t)ml;
	sl->rtag_at = p->data + body;
	if (unlikely(k->cm)) {
		/* the ROC goes over the first 4 octets of MKI || tag (tr >= 4)
		 * for the MAC: keep them (cm_done puts them back) */
		memcpy(&sl->roc_was, p->data + body, sizeof(sl->roc_was));
		cm_rtp_layout(sl, body, h, s->flags);
		return CSRTP_OK;
	}
	rtp_iv(sl->iv, k->rtp_salt, p->data + 8, idx);
	if (s->flags & CSRTP_F_RTP_AUTH_ONLY) {
		sl->aad_len = body;
		sl->off = body;
		sl->clen = 0;
	} else {
		sl->aad_len = h;
		sl->off = h;
		sl->clen = body - h;
	}
	sl->aad_ptr = p->data;
	sl->tag_out = sl->tag;
	return CSRTP_OK;
}

/*
 * The keys a failed SRTP packet is tried under next, into sl->cand: false (the
 * common case, no key change) if none. Those after sl->key in rtp_order; with
 * an MKI, only those it names (one: no other is tried).
 */
static inline bool rtp_candidates(struct slot *sl)
{
	const struct csrtp_stream *s = sl->pkt->stream;
	const struct csrtp_key *o[CSRTP_KEY_PLACES];
	unsigned no, j = 0;
	uint8_t n = 0;

	if (likely(s->pending[0] == NULL && s->prev_key == NULL))
		return false;
	no = rtp_order(s, sl->pkt->index, sl->fresh, sl->mkil != 0 ? sl->mkim : PLACES_ALL, o);
	while (j < no && o[j] != sl->key)
		j++;
	for (j++; j < no && n < sizeof(sl->cand) / sizeof(sl->cand[0]); j++) {
		if (!key_usable(o[j]) || o[j]->rtp_trailer != sl->key->rtp_trailer)
			break;
		sl->cand[n++] = o[j];
	}
	sl->ncand = n;
	sl->ci = 0;
	return n > 0;
}

/* Did the slot's packet verify? GCM: the tag at the end of the packet;
 * AES-CM: the received tag, compared in place (after the MKI) once cm_done
 * has put back the octets the ROC covered. */
static inline bool rtp_verified(const struct slot *sl)
{
	if (unlikely(sl->failed))
		return false;
	if (likely(!sl->cm))
		return tag_equal(sl->tag, sl->rtag_at);     /* tag || MKI */
	return tag_equal_cm(sl->tag, sl->rtag_at + sl->mkil, sl->tlen);    /* MKI || tag */
}

static inline bool rtcp_verified(const struct slot *sl)
{
	if (unlikely(sl->failed))
		return false;
	if (likely(!sl->cm))
		return tag_equal(sl->tag, sl->rtag);
	return tag_equal_cm(sl->tag, sl->rtag, CSRTP_CM_RTCP_TAG_LEN);
}

/* The IV of a slot for its (new) key. */
static inline void slot_iv(struct slot *sl)
{
	if (unlikely(sl->cm)) {
		if (sl->rtcp)
			cm_iv(sl->iv, sl->key->cm_keys.rtcp_salt, sl->pkt->data + 4,
			      sl->word & CSRTP_RTCP_INDEX_MAX);
		else
			cm_iv(sl->iv, sl->key->cm_keys.rtp_salt, sl->pkt->data + 8,
			      sl->pkt->index);
		return;
	}
	if (sl->rtcp)
		rtcp_iv(sl->iv, sl->key->rtcp_salt, sl->pkt->data + 4,
			sl->word & CSRTP_RTCP_INDEX_MAX);
	else
		rtp_iv(sl->iv, sl->key->rtp_salt, sl->pkt->data + 8, sl->pkt->index);
}

/*
 * The slots retry[0..r) failed under sl->key: undo their decryption (CTR is
 * its own inverse under the same key and IV), then decrypt under their next
 * candidate; again for those that still fail while candidates are left.
 * Runs only while a stream changes keys, and only for the failing packets.
 */
static void retry_slots(struct csrtp_engine *e, struct slot **retry, unsigned r, int rtcp)
{
	while (r > 0) {
		unsigned left = 0;

		run_slots(e, retry, r, 1);
		for (unsigned i = 0; i < r; i++) {
			retry[i]->key = retry[i]->cand[retry[i]->ci++];
			slot_iv(retry[i]);
		}
		run_slots(e, retry, r, 0);
		for (unsigned i = 0; i < r; i++) {
			struct slot *sl = retry[i];
			bool ok = rtcp ? rtcp_verified(sl) : rtp_verified(sl);
			sl->ok = ok;
			if (!ok && sl->ci < sl->ncand)
				retry[left++] = sl;
		}
		r = left;
	}
}

/*
 * A packet of index verified under sl->key, which is not the stream's current
 * key. Under a pending key: that key is current From index (the first packet
 * seen under it; a fresh window if the packet was older than the window, seen,
 * or at or below its top though unseen: a sender that goes on sends every
 * packet of a newer key above all of an older key's, so such a packet is one
 * that started over, and the indexes after it were seen under the old key).
 * Under the current key's predecessor: fine below From, refused at or past it
 * (RFC 3711 <From,To>). Under the current key below From (it was tried there
 * after failing under the old one): From moves down to it.
 * false: refuse the packet.
 */
static bool key_switch(struct csrtp_stream *s, const struct slot *sl, uint64_t index)
{
	const struct csrtp_key *k = sl->key;

	if (k == s->prev_key || (s->skipped && k == s->pending[0]))
		return index < s->key_from;
	if (k == s->pending[0] || k == s->pending[1]) {
		/* an older key kept below From besides prev_key: the one the
		 * sender went through to pending[1], or else the previous key
		 * while it is still held (two switches within a window) */
		const struct csrtp_key *older = NULL, *left;

		if (k == s->pending[1] && s->pending[0] != NULL)
			older = s->pending[0];
		else if (s->prev_key != NULL)
			older = s->prev_key;
		left = k == s->pending[0] ? s->pending[1] : NULL;
		const struct csrtp_key *prev = s->key;
		if (sl->fresh || (s->rtp.started && index <= s->rtp.top)) {
			/* the sender started over under k: a new window at index;
			 * the old keys cannot be told apart any more, drop them */
			s->rtp.started = 0;
			prev = NULL;
			older = NULL;
		}
		s->key_from = index;
		/* each key's lifetime count goes with it (k's SRTCP while
		 * pending included) */
		s->skipped = left == NULL && older != NULL;
		csrtp_stream_set_keys(s, k, prev, s->skipped ? older : left, NULL);
		return true;
	}
	return false;
}

/* The current key verified a packet below From (reordering around the switch):
 * From moves down to it. Called for every packet under the current key, so
 * it must stay cheap. */
static inline void key_from_lower(struct csrtp_stream *s, uint64_t index)
{
	if (unlikely(s->prev_key != NULL) && index < s->key_from)
		s->key_from = index;
}

/*
 * RFC 3711 s. 3.3.1 takes packets one at a time: each is estimated from the
 * highest index authenticated before it. A pass estimates all of its packets
 * from the stream as it was at the start of the pass, so a packet after a
 * jump of more than 2^15 in the same pass (the last packets before a
 * sequence number wrap and the first after it, following a long gap) was
 * estimated from the wrong side of the jump, and refused, where the sender
 * (which estimates one packet after the other) and a receiver given the
 * packets one per burst take it. A packet refused as forged or replayed whose
 * estimate is different now that the pass has moved its stream's top, or
 * that follows such a packet of its stream, is taken out (its decryption
 * undone: CTR is its own inverse under the same key and IV) and tried again
 * in the next pass, from the new estimate. Only authenticated packets move
 * the top, so a forged one never decides the estimate of another; *budget
 * bounds the passes. again[0..*na) are the streams with a packet taken out.
 */
static bool redo_rtp(struct csrtp_pkt *p, unsigned *budget,
		     const struct csrtp_stream **again, unsigned *na)
{
	struct csrtp_stream *s = p->stream;
	unsigned i;

	if (likely(p->status != CSRTP_ERR_AUTH && p->status != CSRTP_ERR_REPLAY) ||
	    s == NULL || !s->rtp.started || *budget == 0)
		return false;
	for (i = 0; i < *na && again[i] != s; i++)
		;
	if (i == *na) {
		if (stream_estimate(s, get_be16(p->data + 2)) == p->index)
			return false;
		again[(*na)++] = s;
	}
	--*budget;
	return true;
}

unsigned csrtp_unprotect_burst(struct csrtp_engine *e, struct csrtp_pkt *pkts, unsigned n)
{
	struct slot *ptrs[CSRTP_BURST_MAX], *retry[CSRTP_BURST_MAX];
	uint16_t todo[CSRTP_BURST_MAX], later[CSRTP_BURST_MAX], done[CSRTP_BURST_MAX];
	unsigned ok = 0;

	for (unsigned base = 0; base < n; base += CSRTP_BURST_MAX) {
		unsigned cnt = chunk_len(n, base), nt = cnt, budget = 2 * cnt;

		for (unsigned i = 0; i < cnt; i++)
			todo[i] = (uint16_t)i;
		/* Usually one pass. A stream that has accepted nothing yet gets one
		 * packet per pass: once that one verifies, the rest of its packets
		 * are estimated from it (RFC 3711 s. 3.3.1); if it fails, the next
		 * one is tried on its own. */
		while (nt > 0) {
			/* refused: packets of this pass refused as forged or
			 * replayed, the only ones redo_rtp may take again */
			unsigned m = 0, ncm = 0, nl = 0, nd = 0, refused = 0;
			uint32_t pass = ++e->pass;

			for (unsigned t = 0; t < nt; t++) {
				struct csrtp_pkt *p = &pkts[base + todo[t]];
				struct csrtp_stream *s = p->stream;
				if (unlikely(s != NULL && !s->rtp.started)) {
					if (s->pass == pass) {
						later[nl++] = todo[t];
						continue;
					}
					s->pass = pass;
				}
				/* the slot of done[j] is slot[j]: its place does not
				 * wait for the outcome of the packets before it */
				struct slot *sl = &e->slot[nd];
				p->status = (uint8_t)prepare_rtp_unprotect(p, sl);
				done[nd++] = todo[t];
				ptrs[m] = sl;
				if (p->status == CSRTP_OK) {
					m++;
					ncm += sl->cm;
				} else {
					sl->pkt = NULL;    /* no job (redo_rtp below) */
					refused += p->status == CSRTP_ERR_AUTH ||
						   p->status == CSRTP_ERR_REPLAY;
				}
			}
			run_slots_n(e, ptrs, m, ncm, 0);
			/* a key change in progress: failed packets try the other keys */
			unsigned r = 0;
			for (unsigned i = 0; i < m; i++) {
				struct slot *sl = ptrs[i];
				sl->ok = rtp_verified(sl);   /* once: retry_slots updates it */
				if (unlikely(!sl->ok) && rtp_candidates(sl))
					retry[r++] = sl;
			}
			if (unlikely(r > 0))
				retry_slots(e, retry, r, 0);
			for (unsigned i = 0; i < m; i++) {
				struct slot *sl = ptrs[i];
				struct csrtp_pkt *p = sl->pkt;
				struct csrtp_stream *s = p->stream;
				uint32_t body = (uint32_t)(sl->rtag_at - p->data);

				if (unlikely(!sl->ok)) {
					p->status = sl->fresh ? CSRTP_ERR_REPLAY : CSRTP_ERR_AUTH;
					refused++;
					continue;
				}
				if (unlikely(sl->key != s->key) && !key_switch(s, sl, p->index)) {
					p->status = CSRTP_ERR_AUTH;
					refused++;
					continue;
				}
				/* Same index twice in one burst: only the first counts
				 * (an index above the top cannot have been seen). */
				const struct csrtp_window *w = &s->rtp;
				if (unlikely(w->started && p->index <= w->top) &&
				    !csrtp_window_check(w, p->index)) {
					p->status = CSRTP_ERR_REPLAY;
					refused++;
					continue;
				}
				/* RFC 3711 s. 9.2: nothing past the key's lifetime */
				uint64_t *used = rtp_used(s, sl->key);
				if (unlikely(*used >= sl->key->rtp_life)) {
					p->status = CSRTP_ERR_KEY_EXPIRED;
					continue;
				}
				++*used;
				if (sl->key == s->key)
					key_from_lower(s, p->index);
				rtp_accept(s, p->index);
				p->len = body;
				ok++;
			}
			/* refused from an estimate this pass has changed: again
			 * (redo_rtp), in order, after the undoing of its decryption */
			const struct csrtp_stream *again[CSRTP_BURST_MAX];
			unsigned nu = 0, na = 0;
			for (unsigned j = 0; unlikely(refused > 0) && j < nd; j++) {
				struct csrtp_pkt *p = &pkts[base + done[j]];

				if (!redo_rtp(p, &budget, again, &na))
					continue;
				/* its decryption undone, if it had one: slot[j] */
				if (e->slot[j].pkt == p && !e->slot[j].failed)
					ptrs[nu++] = &e->slot[j];
				later[nl++] = done[j];
			}
			if (unlikely(nu > 0))
				run_slots(e, ptrs, nu, 1);
			memcpy(todo, later, nl * sizeof(todo[0]));
			nt = nl;
		}
	}
	return ok;
}

/* ---- SRTCP (RFC 7714 s. 9; RFC 3711 s. 3.4) -------------------------------- */

/*
 * Layout of the slot for one SRTCP packet of body length len (the RTCP packet)
 * whose E||index word is sl->word; the tag goes to tag_out.
 * E=1 (s. 9.2): AAD = header(8) || word, ciphertext = rest of the packet.
 * E=0 (s. 9.3): AAD = whole packet || word, nothing encrypted. The word is put
 * right after the packet so that the AAD is contiguous.
 */
static inline void rtcp_layout(struct slot *sl, uint8_t *d, uint32_t len)
{
	if (sl->word & 0x80000000u) {
		memcpy(sl->aad, d, CSRTP_RTCP_HDR_LEN);
		put_be32(sl->aad + CSRTP_RTCP_HDR_LEN, sl->word);
		sl->aad_ptr = sl->aad;
		sl->aad_len = CSRTP_RTCP_HDR_LEN + CSRTP_RTCP_TRAILER_LEN;
		sl->off = CSRTP_RTCP_HDR_LEN;
		sl->clen = len - CSRTP_RTCP_HDR_LEN;
	} else {
		put_be32(d + len, sl->word);
		sl->aad_ptr = d;
		sl->aad_len = len + CSRTP_RTCP_TRAILER_LEN;
		sl->off = len;
		sl->clen = 0;
	}
	rtcp_iv(sl->iv, sl->key->rtcp_salt, d + 4, sl->word & CSRTP_RTCP_INDEX_MAX);
}

/*
 * AES-CM (RFC 3711 s. 3.4): header(8) || encrypted part || E||index || tag;
 * the MAC covers everything before the tag, the IV takes the SRTCP index.
 * E=0: nothing encrypted. The word is written after the packet here (it is
 * there already when unprotecting).
 */
static inline void rtcp_layout_cm(struct slot *sl, uint8_t *d, uint32_t len)
{
	put_be32(d + len, sl->word);
	sl->hlen = len + CSRTP_RTCP_TRAILER_LEN;
	sl->tlen = CSRTP_CM_RTCP_TAG_LEN;
	sl->rtag_at = NULL;
	if (sl->word & 0x80000000u) {
		sl->off = CSRTP_RTCP_HDR_LEN;
		sl->clen = len - CSRTP_RTCP_HDR_LEN;
	} else {
		sl->off = len;
		sl->clen = 0;
	}
	cm_iv(sl->iv, sl->key->cm_keys.rtcp_salt, d + 4, sl->word & CSRTP_RTCP_INDEX_MAX);
}

static inline int rtcp_header_ok(const uint8_t *d, uint32_t len, uint32_t min)
{
	if (unlikely(len < min))
		return CSRTP_ERR_TOO_SHORT;
	if (unlikely((d[0] >> 6) != 2))
		return CSRTP_ERR_MALFORMED;
	return CSRTP_OK;
}

static inline int prepare_rtcp_protect(struct csrtp_pkt *p, struct slot *sl)
{
	struct csrtp_stream *s = p->stream;
	int st;

	if (unlikely(s == NULL || s->key == NULL))
		return CSRTP_ERR_NO_KEY;
	if ((st = rtcp_header_ok(p->data, p->len, CSRTP_RTCP_HDR_LEN)) != CSRTP_OK)
		return st;
	unsigned ov = key_rtcp_overhead(s->key);
	if (unlikely(p->len > p->cap || p->cap - p->len < ov))
		return CSRTP_ERR_NO_ROOM;
	/* RFC 3711 s. 3.4: the 31-bit SRTCP index never wraps under one key. */
	if (unlikely(s->srtcp_next > CSRTP_RTCP_INDEX_MAX))
		return CSRTP_ERR_KEY_EXHAUSTED;

	const struct csrtp_key *k = rtcp_current_key(s);
	if (unlikely(!key_usable(k) || key_rtcp_overhead(k) != ov))
		return CSRTP_ERR_NO_KEY;
	/* RFC 3711 s. 9.2: no packet past the master key's lifetime */
	uint32_t *used = rtcp_used(s, k);
	if (unlikely(*used >= k->rtcp_life))
		return CSRTP_ERR_KEY_EXPIRED;
	++*used;
	uint32_t idx = s->srtcp_next++;
	p->index = idx;
	sl->pkt = p;
	sl->key = k;
	sl->ncand = 0;
	sl->rtcp = 1;
	sl->cm = k->cm;
	sl->mkil = k->mki_len;
	sl->word = (s->flags & CSRTP_F_RTCP_AUTH_ONLY) ? idx : (0x80000000u | idx);
	if (unlikely(k->cm)) {
		rtcp_layout_cm(sl, p->data, p->len);
		return CSRTP_OK;
	}
	rtcp_layout(sl, p->data, p->len);
	sl->tag_out = sl->tag;
	return CSRTP_OK;
}

unsigned csrtp_rtcp_protect_burst(struct csrtp_engine *e, struct csrtp_pkt *pkts, unsigned n)
{
	struct slot *ptrs[CSRTP_BURST_MAX];
	unsigned ok = 0;

	for (unsigned base = 0; base < n; base += CSRTP_BURST_MAX) {
		unsigned m = prepare_chunk(e, pkts + base, chunk_len(n, base), prepare_rtcp_protect);
		run_all(e, m, 1, ptrs);
		for (unsigned i = 0; i < m; i++) {
			struct slot *sl = &e->slot[i];
			struct csrtp_pkt *p = sl->pkt;
			if (unlikely(sl->failed)) {
				p->status = CSRTP_ERR_MALFORMED;
				continue;
			}
			uint8_t *t = p->data + p->len;
			if (unlikely(sl->cm)) {
				/* RFC 3711 s. 3.4: ... || E||index (in place) || MKI || tag */
				t += CSRTP_RTCP_TRAILER_LEN;
				if (unlikely(sl->mkil))
					memcpy(t, sl->key->mki, sl->mkil);
				memcpy(t + sl->mkil, sl->tag, CSRTP_CM_RTCP_TAG_LEN);
				p->len += CSRTP_RTCP_TRAILER_LEN + CSRTP_CM_RTCP_TAG_LEN + sl->mkil;
				ok++;
				continue;
			}
			/* s. 9: ... || tag || E||index (|| MKI, as libsrtp2) */
			memcpy(t, sl->tag, CSRTP_TAG_LEN);
			put_be32(t + CSRTP_TAG_LEN, sl->word);
			if (unlikely(sl->mkil))
				memcpy(t + CSRTP_RTCP_OVERHEAD, sl->key->mki, sl->mkil);
			p->len += CSRTP_RTCP_OVERHEAD + sl->mkil;
			ok++;
		}
	}
	return ok;
}

/* The order SRTCP tries a key change's keys in: oldest first. */
static const uint8_t rtcp_places[CSRTP_KEY_PLACES] = {
	PLACE_PREV, PLACE_CUR, PLACE_PENDING, PLACE_PENDING + 1,
};

/* With an MKI that names the keys at places mm: the key an SRTCP packet is
 * tried under first: cur (rtcp_current_key) if named, else the oldest named. */
static const struct csrtp_key *rtcp_mki_key(const struct csrtp_stream *s,
					    const struct csrtp_key *cur, unsigned mm)
{
	if ((mm >> (cur == s->key ? PLACE_CUR : PLACE_PREV)) & 1)
		return cur;
	for (unsigned j = 0; j < CSRTP_KEY_PLACES; j++)
		if ((mm >> rtcp_places[j]) & 1)
			return csrtp_stream_key_at(s, rtcp_places[j]);
	return cur;
}

static inline int prepare_rtcp_unprotect(struct csrtp_pkt *p, struct slot *sl)
{
	struct csrtp_stream *s = p->stream;
	int st;

	if (unlikely(s == NULL || s->key == NULL))
		return CSRTP_ERR_NO_KEY;
	unsigned ov = key_rtcp_overhead(s->key), ml = s->key->mki_len;
	st = rtcp_header_ok(p->data, p->len, CSRTP_RTCP_HDR_LEN + ov);
	if (st != CSRTP_OK)
		return st;

	uint32_t body = p->len - ov;
	/* GCM: ... || tag || E||index || MKI; AES-CM: ... || E||index || MKI || tag */
	uint32_t word = get_be32(p->data + (likely(!s->key->cm) ?
					     p->len - ml - CSRTP_RTCP_TRAILER_LEN : body));
	uint32_t idx = word & CSRTP_RTCP_INDEX_MAX;
	/* RFC 3711 s. 3.4, 3.1: the MKI names the key; none: refused, no change.
	 * Keys that share its value are tried like keys without an MKI. */
	const struct csrtp_key *k = rtcp_current_key(s);
	unsigned mm = PLACES_ALL;
	if (unlikely(ml != 0)) {
		mm = mki_match(s, p->data + (likely(!s->key->cm) ? p->len - ml :
					     body + CSRTP_RTCP_TRAILER_LEN), ml);
		if (mm == 0)
			return CSRTP_ERR_BAD_MKI;
		k = rtcp_mki_key(s, k, mm);
	}
	if (unlikely(!csrtp_window_check(&s->rtcp, idx)))
		return CSRTP_ERR_REPLAY;

	if (unlikely(!key_usable(k) || key_rtcp_overhead(k) != ov))
		return CSRTP_ERR_NO_KEY;
	p->index = idx;
	sl->pkt = p;
	sl->key = k;
	sl->ncand = 0;
	sl->ci = 0;
	sl->mkil = (uint8_t)ml;
	if (unlikely(s->prev_key != NULL || s->pending[0] != NULL) && (mm & (mm - 1)) != 0) {
		/* a key change: the other keys held (with an MKI: those that
		 * carry it), newest last */
		for (unsigned j = 0; j < CSRTP_KEY_PLACES &&
				   sl->ncand < sizeof(sl->cand) / sizeof(sl->cand[0]); j++) {
			const struct csrtp_key *c = csrtp_stream_key_at(s, rtcp_places[j]);
			if ((mm >> rtcp_places[j]) & 1 && c != NULL && c != k && key_usable(c) &&
			    key_rtcp_overhead(c) == ov)
				sl->cand[sl->ncand++] = c;
		}
	}
	sl->rtcp = 1;
	sl->cm = k->cm;
	sl->word = word;
	if (unlikely(k->cm)) {
		memcpy(sl->rtag, p->data + body + CSRTP_RTCP_TRAILER_LEN + ml,
		       CSRTP_CM_RTCP_TAG_LEN);
		rtcp_layout_cm(sl, p->data, body);
		return CSRTP_OK;
	}
	/* Keep the received tag: for E=0 the word is written over its start. */
	memcpy(sl->rtag, p->data + body, CSRTP_TAG_LEN);
	rtcp_layout(sl, p->data, body);
	sl->tag_out = sl->tag;
	return CSRTP_OK;
}

unsigned csrtp_rtcp_unprotect_burst(struct csrtp_engine *e, struct csrtp_pkt *pkts, unsigned n)
{
	struct slot *ptrs[CSRTP_BURST_MAX];
	unsigned ok = 0;

	for (unsigned base = 0; base < n; base += CSRTP_BURST_MAX) {
		unsigned m = prepare_chunk(e, pkts + base, chunk_len(n, base), prepare_rtcp_unprotect);
		unsigned r = 0;
		run_all(e, m, 0, ptrs);

		for (unsigned i = 0; i < m; i++) {
			struct slot *sl = &e->slot[i];
			if (unlikely(sl->ncand > 0) && !rtcp_verified(sl))
				ptrs[r++] = sl;
		}
		if (unlikely(r > 0))
			retry_slots(e, ptrs, r, 1);

		for (unsigned i = 0; i < m; i++) {
			struct slot *sl = &e->slot[i];
			struct csrtp_pkt *p = sl->pkt;

			if (unlikely(!rtcp_verified(sl))) {
				p->status = CSRTP_ERR_AUTH;
				continue;
			}
			if (unlikely(!csrtp_window_check(&p->stream->rtcp, p->index))) {
				p->status = CSRTP_ERR_REPLAY;
				continue;
			}
			/* RFC 3711 s. 9.2: nothing past the key's lifetime */
			uint32_t *used = rtcp_used(p->stream, sl->key);
			if (unlikely(*used >= sl->key->rtcp_life)) {
				p->status = CSRTP_ERR_KEY_EXPIRED;
				continue;
			}
			++*used;
			csrtp_window_update(&p->stream->rtcp, p->index);
			p->len -= (sl->cm ? CSRTP_RTCP_TRAILER_LEN + CSRTP_CM_RTCP_TAG_LEN :
					    CSRTP_RTCP_OVERHEAD) + sl->mkil;
			ok++;
		}
	}
	return ok;
}
