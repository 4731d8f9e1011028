/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * csrtp_internal.h - what the engine's two files share (private to lib/srtp):
 * the per-packet slot of a burst (AES-GCM or AES-CM + HMAC-SHA1) and the engine that owns the intel-ipsec-mb
 * manager and the slots. csrtp.c runs the bursts; csrtp_setup.c creates the
 * engine, keys and streams they use.
 */
#ifndef CALLSEAL_CSRTP_INTERNAL_H
#define CALLSEAL_CSRTP_INTERNAL_H
#include <stdbool.h>
#include <stdint.h>

#include "csrtp.h"

#define likely(x)   __builtin_expect(!!(x), 1)
#define unlikely(x) __builtin_expect(!!(x), 0)

/* One packet's crypto job, prepared in pass 1. */
struct slot {
	uint8_t iv[16];
	uint8_t aad[16];              /* SRTCP E=1: header(8) || E||index (4) */
	uint8_t tag[CSRTP_TAG_LEN];    /* tag computed by the job */
	uint8_t rtag[CSRTP_TAG_LEN];   /* received SRTCP tag, kept */
	struct csrtp_pkt *pkt;
	const struct csrtp_key *key;
	const struct csrtp_key *cand[3]; /* during a key change: keys still to try */
	uint8_t ncand, ci;            /* cand[ci..ncand) are left */
	uint8_t fresh;                /* SRTP: older than the window, pending keys only */
	uint8_t mkim;                 /* with an MKI: the places of the stream's
				       * keys that carry it (mki_match) */
	const uint8_t *aad_ptr;
	uint32_t aad_len;
	uint32_t off;                 /* cipher start */
	uint32_t clen;                /* cipher length */
	uint8_t *tag_out;             /* where the job writes its tag */
	uint32_t word;                /* SRTCP E||index */
	uint8_t rtcp;                 /* SRTCP: use the SRTCP session key */
	uint8_t failed;               /* the job did not complete */
	uint8_t ok;                   /* unprotect: the tag verified (checked once,
				       * after the job; retry_slots updates it) */
	/* AES-CM + HMAC-SHA1 (RFC 3711) */
	uint8_t cm;                   /* the key is AES-CM: an HMAC-SHA1 job */
	uint8_t tlen;                 /* tag length on the wire */
	uint8_t mkil;                 /* MKI length on the wire (RFC 3711 s. 3.1) */
	uint32_t hlen;                /* bytes the MAC covers from the start,
				       * the ROC / E||index word (sl->word) last */
	uint8_t *rtag_at;             /* SRTP unprotect: the packet's trailer
				       * (GCM: tag || MKI; AES-CM: MKI || tag,
				       * whose first 4 octets roc_was keeps:
				       * the ROC goes there for the MAC, they
				       * go back as the job comes back); NULL
				       * for what cm_done must not restore */
	uint32_t roc_was;             /* those 4 octets */
};

_Static_assert(CSRTP_CM_RTCP_TAG_LEN <= CSRTP_TAG_LEN, "an AES-CM SRTCP tag fits rtag");

struct csrtp_engine {
	IMB_MGR *mgr;
	IMB_ARCH arch;
	enum csrtp_api api;
	uint32_t pass;                    /* unprotect passes, for csrtp_stream.pass */
	unsigned key_hot;                 /* csrtp_engine_key_hot() */
	struct gcm_context_data gctx;     /* direct calls: per-call GCM state */
	IMB_JOB *jobs[CSRTP_BURST_MAX];
	struct slot slot[CSRTP_BURST_MAX] __attribute__((aligned(64)));
} __attribute__((aligned(64)));

/* The places of a stream's keys (csrtp_stream.rtp_used, .rtcp_used; bit j
 * of an MKI match is place j). */
enum {
	PLACE_CUR = 0,
	PLACE_PREV = 1,
	PLACE_PENDING = 2,      /* + i: pending[i] */
};
#define PLACES_ALL ((1u << CSRTP_KEY_PLACES) - 1)

/* The key at place j (NULL: none). */
static inline const struct csrtp_key *csrtp_stream_key_at(const struct csrtp_stream *s,
							  unsigned j)
{
	return j == PLACE_CUR ? s->key : j == PLACE_PREV ? s->prev_key :
	       s->pending[j - PLACE_PENDING];
}

#endif /* CALLSEAL_CSRTP_INTERNAL_H */
