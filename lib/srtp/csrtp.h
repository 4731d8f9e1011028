/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * csrtp.h - the SRTP/SRTCP engine on intel-ipsec-mb: AES-GCM (RFC 7714) and
 * AES-CM with HMAC-SHA1 (RFC 3711, profiles of RFC 4568 / RFC 5764).
 *
 * The engine works on plain buffers (no DPDK) so that it can be unit-tested,
 * fuzzed and benchmarked alone; the DPDK dataplane hands it mbuf data.
 *
 * Objects:
 *   struct csrtp_engine  one per worker lcore: owns the IMB_MGR (architecture
 *                       chosen once, at create) and the per-batch scratch.
 *   struct csrtp_key     session keys and salts expanded from one master key
 *                       (RFC 3711 section 4.3 KDF, GCM key schedule done once).
 *   struct csrtp_stream  per-SSRC, per-direction state: the highest packet index
 *                       (which is ROC || s_l of RFC 3711 section 3.3.1), the
 *                       replay windows, the next SRTCP index, the key in use,
 *                       the previous key with the index the current one applies
 *                       from, and (receiver) up to two pending keys that apply
 *                       from the first packet that authenticates under one.
 *   struct csrtp_pkt     one packet of a batch: (data, len, cap), its stream, and
 *                       the status the engine leaves in it.
 *
 * Burst calls protect or unprotect n packets in place and return how many
 * succeeded; each packet gets its own status. Up to CSRTP_BURST_MAX packets are
 * classified and prepared first, then their AES-GCM runs as one batch (see
 * enum csrtp_api) and their AES-CM + HMAC-SHA1 as one batch of jobs, then
 * results are checked. A batch is never abandoned halfway.
 *
 * Threading: an engine and the streams it touches belong to one thread.
 * A key may be shared read-only by many engines once initialised.
 */
#ifndef CALLSEAL_CSRTP_H
#define CALLSEAL_CSRTP_H

#include <stddef.h>
#include <stdint.h>

#include <intel-ipsec-mb.h>

#define CSRTP_TAG_LEN          16  /* RFC 7714 section 14.2: 16-octet tag (the
				      * longest tag of any profile) */
#define CSRTP_CM_SALT_LEN      14  /* AES-CM master and session salt: 112 bits
				      * (RFC 3711 s. 8.2; RFC 4568 s. 6.2.1) */
#define CSRTP_CM_AUTH_KEY_LEN  20  /* HMAC-SHA1 session key (RFC 3711 s. 8.2) */
#define CSRTP_CM_RTCP_TAG_LEN  10  /* SRTCP: always 80 bits (RFC 3711 s. 5.2) */
#define CSRTP_MAX_SALT_LEN     CSRTP_CM_SALT_LEN
#define CSRTP_IV_LEN           12  /* RFC 7714 sections 8.1, 9.1 */
#define CSRTP_SALT_LEN         12  /* session salt and master salt, RFC 7714 s. 11 */
#define CSRTP_MAX_KEY_LEN      32
#define CSRTP_RTP_HDR_LEN      12  /* fixed RTP header, RFC 3550 section 5.1 */
#define CSRTP_RTCP_HDR_LEN          8  /* RTCP header + sender SSRC */
#define CSRTP_RTCP_TRAILER_LEN      4  /* E flag || 31-bit SRTCP index */
#define CSRTP_OVERHEAD         CSRTP_TAG_LEN
#define CSRTP_RTCP_OVERHEAD        (CSRTP_TAG_LEN + CSRTP_RTCP_TRAILER_LEN)

#define CSRTP_BURST_MAX        64  /* packets per intel-ipsec-mb batch */

#define CSRTP_REPLAY_WINDOW_DEFAULT  128
#define CSRTP_REPLAY_WINDOW_MAX     1024
#define CSRTP_INDEX_MAX   ((UINT64_C(1) << 48) - 1)   /* RFC 3711 s. 3.2.1 */
#define CSRTP_RTCP_INDEX_MAX  UINT32_C(0x7fffffff)        /* RFC 3711 s. 3.4 */
#define CSRTP_MKI_MAX          4   /* MKI octets on the wire (RFC 3711 s. 3.1;
				      * RFC 4568 s. 6.1 allows 1-128, we take 1-4) */
/* Default key lifetimes (csrtp_key_set_lifetime 0): the profiles' maximum,
 * 2^48 SRTP and 2^31 SRTCP packets (RFC 3711 s. 9.2). */
#define CSRTP_LIFETIME_RTP_MAX   (UINT64_C(1) << 48)
#define CSRTP_LIFETIME_RTCP_MAX  (UINT32_C(1) << 31)

/* Profiles carry their DTLS-SRTP protection profile numbers (RFC 5764 s. 4.1.2,
 * RFC 7714 s. 14.2, the IANA registry). */
enum csrtp_profile {
	CSRTP_PROFILE_NONE             = 0,
	/* AES-CM + HMAC-SHA1 (RFC 3711): SRTP tag 80 or 32 bits, SRTCP 80 */
	CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80 = 0x0001,
	CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_32 = 0x0002,
	CSRTP_PROFILE_AEAD_AES_128_GCM = 0x0007,
	CSRTP_PROFILE_AEAD_AES_256_GCM = 0x0008,
};

/* Per-packet result of a burst call. */
enum csrtp_status {
	CSRTP_OK = 0,
	CSRTP_ERR_AUTH,          /* tag did not verify */
	CSRTP_ERR_REPLAY,        /* index already seen, or older than the window */
	CSRTP_ERR_MALFORMED,     /* bad version, CSRC/extension beyond the packet */
	CSRTP_ERR_TOO_SHORT,     /* shorter than header (+ tag, + trailer) */
	CSRTP_ERR_NO_ROOM,       /* buffer has no room for the tag (and trailer) */
	CSRTP_ERR_KEY_EXHAUSTED, /* SRTP/SRTCP index limit reached: rekey */
	CSRTP_ERR_NO_KEY,        /* stream has no key */
	CSRTP_ERR_INDEX_REUSE,   /* sender: this index was already protected
				    under the stream's key (an application that
				    started over with lower sequence numbers):
				    a new key (csrtp_stream_sender_rekey) recovers */
	CSRTP_ERR_BAD_MKI,       /* receiver: the packet's MKI names none of the
				    stream's keys (RFC 3711 s. 3.1) */
	CSRTP_ERR_KEY_EXPIRED,   /* the key's lifetime in packets is used up on
				    this stream (csrtp_key_set_lifetime): rekey */
	CSRTP_STATUS_MAX
};

/* Stream options (csrtp_stream_init flags). */
#define CSRTP_F_RTP_AUTH_ONLY   (1u << 0) /* SRTP tag only, payload in clear (RFC 7714 s. 14.1 "unencrypted SRTP") */
#define CSRTP_F_RTCP_AUTH_ONLY  (1u << 1) /* send SRTCP with E=0 (RFC 7714 s. 9.3) */

/* ---- engine ------------------------------------------------------------- */

struct csrtp_engine;

/*
 * Create an engine. arch is IMB_ARCH_NONE to pick the best architecture the
 * CPU supports (once, here), or a specific IMB_ARCH_SSE/AVX/AVX2/AVX512 (for
 * cross-architecture tests). Returns NULL if the architecture is unsupported
 * or memory is short.
 */
struct csrtp_engine *csrtp_engine_create(IMB_ARCH arch);
void csrtp_engine_destroy(struct csrtp_engine *e);
/* "avx512", "avx2", "avx", "sse" */
const char *csrtp_engine_arch_name(const struct csrtp_engine *e);
IMB_MGR *csrtp_engine_mgr(struct csrtp_engine *e);
/* The bytes at the start of a key that an SRTP packet reads with this
 * engine, a multiple of 64: line 0 (salts), the SRTP session key's AES
 * round keys and the GHASH key powers its architecture's GCM code uses (SSE
 * and AVX: 8 powers and their Karatsuba halves; AVX2: 8 powers; AVX512: all
 * 48, the VAES layout), or an AES-CM key's SRTP keys, whichever is more. */
unsigned csrtp_engine_key_hot(const struct csrtp_engine *e);

/*
 * How the prepared batch is handed to intel-ipsec-mb, chosen per engine:
 * back-to-back direct IMB_AESxxx_GCM_ENC/DEC calls (the default: measured
 * 10-20% cheaper per packet on AVX-512 with 1.3, see docs/benchmarks.md),
 * or one burst of GCM jobs through IMB_SUBMIT_BURST_NOCHECK. Both give
 * identical bytes; the tests run both and scripts/bench measures both.
 */
enum csrtp_api {
	CSRTP_API_DIRECT = 0,
	CSRTP_API_BURST,
};
void csrtp_engine_set_api(struct csrtp_engine *e, enum csrtp_api api);

/* ---- keys --------------------------------------------------------------- */

/* AES-CM + HMAC-SHA1 session keys, expanded once (RFC 3711 s. 4.1.1, 4.2.1). */
struct csrtp_cm_keys {
	/* SRTP's first: what an RTP packet reads in the fewest lines
	 * (csrtp_engine_key_hot) */
	uint8_t rtp_enc[16 * 11] __attribute__((aligned(16)));  /* AES-128 round keys */
	/* SHA-1 states after one block of (auth key XOR ipad / opad): HMAC
	 * precomputed per key, as intel-ipsec-mb's HMAC jobs take it */
	uint8_t rtp_ipad[32] __attribute__((aligned(16)));
	uint8_t rtp_opad[32] __attribute__((aligned(16)));
	uint8_t rtp_salt[CSRTP_CM_SALT_LEN];
	uint8_t rtp_tag_len;           /* 10 or 4; SRTCP always 10 */
	uint8_t rtcp_enc[16 * 11] __attribute__((aligned(16)));
	uint8_t rtcp_ipad[32] __attribute__((aligned(16)));
	uint8_t rtcp_opad[32] __attribute__((aligned(16)));
	uint8_t rtcp_salt[CSRTP_CM_SALT_LEN];
};

struct csrtp_key {
	/* line 0: what every packet reads besides the key schedule */
	uint8_t rtp_salt[CSRTP_SALT_LEN];  /* GCM */
	uint8_t rtcp_salt[CSRTP_SALT_LEN]; /* GCM */
	uint16_t profile;              /* enum csrtp_profile */
	uint8_t key_len;               /* 16 or 32 */
	uint8_t cm;                    /* AES-CM + HMAC-SHA1: the cm member holds
					* the keys, salts and tag length */
	uint8_t mki_len;               /* 0 (no MKI) .. CSRTP_MKI_MAX */
	uint8_t mki[CSRTP_MKI_MAX];    /* RFC 3711 s. 3.1 MKI of this master key */
	uint8_t rtp_trailer;           /* SRTP octets after the payload: tag and
					* MKI (16-20 GCM, 10-14 and 4-8 AES-CM:
					* one value per packet layout) */
	uint32_t rtcp_life;            /* SRTCP packets per stream (lifetime) */
	uint64_t rtp_life;             /* SRTP packets per stream (lifetime) */
	union {
		/* AES-GCM: expanded SRTP and SRTCP session keys; the header
		 * aligns gcm_key_data only when LINUX is defined, so align
		 * them here */
		struct {
			struct gcm_key_data rtp_key __attribute__((aligned(64)));
			struct gcm_key_data rtcp_key __attribute__((aligned(64)));
		};
		struct csrtp_cm_keys cm_keys __attribute__((aligned(64)));
	};
} __attribute__((aligned(64)));

/* Warm the cache lines an SRTP packet reads from k (salt, round keys, GHASH
 * key powers): a batch over many streams prefetches all its keys before its
 * AES-GCM, so that the cache misses overlap instead of queueing. */
static inline void csrtp_key_prefetch(const struct csrtp_key *k)
{
	const char *p = (const char *)k;
	for (size_t off = 0; off < offsetof(struct csrtp_key, rtcp_key); off += 64)
		__builtin_prefetch(p + off);
}

/* The same, only the first hot bytes (csrtp_engine_key_hot(): what this
 * engine's SRTP actually reads of a key); the rest of the SRTP key data is
 * the GHASH key powers that this engine's code does not use. */
static inline void csrtp_key_prefetch_hot(const struct csrtp_key *k, unsigned hot)
{
	const char *p = (const char *)k;
	for (unsigned off = 0; off < hot; off += 64)
		__builtin_prefetch(p + off);
}

/* Key length for a profile, 0 if the profile is unknown. */
size_t csrtp_profile_key_len(enum csrtp_profile p);
/* Master salt length for a profile: 12 (GCM), 14 (AES-CM); 0 if unknown. */
size_t csrtp_profile_salt_len(enum csrtp_profile p);
/* SRTP auth tag length on the wire: 16 (GCM), 10 or 4 (HMAC-SHA1); 0 if unknown. */
size_t csrtp_profile_tag_len(enum csrtp_profile p);
/* "AEAD_AES_128_GCM" ...; NULL if unknown. */
const char *csrtp_profile_name(enum csrtp_profile p);
/* Parse a profile name; CSRTP_PROFILE_NONE if unknown. */
enum csrtp_profile csrtp_profile_from_name(const char *name);

/*
 * Derive and expand session keys from a master key and 12-octet master salt
 * (RFC 3711 s. 4.3 with the AES-CM PRF, key derivation rate 0; RFC 7714 s. 11).
 * The GCM profiles' form: an AES-CM profile (14-octet salt) is refused here.
 * Returns 0, or -EINVAL for an unknown profile or wrong key length.
 */
__attribute__((warn_unused_result))
int csrtp_key_init(struct csrtp_engine *e, struct csrtp_key *k, enum csrtp_profile p,
		  const uint8_t *master_key, size_t master_key_len,
		  const uint8_t master_salt[CSRTP_SALT_LEN]);

/*
 * The same for any profile, with the master salt's length:
 * csrtp_profile_salt_len(p), i.e. 12 octets for GCM, 14 for AES-CM (whose
 * derivation also gives the HMAC-SHA1 keys, labels 0x01 and 0x04, and whose
 * HMAC ipad/opad hashes are computed here, once). Returns 0, or -EINVAL for
 * an unknown profile or a wrong key or salt length.
 */
__attribute__((warn_unused_result))
int csrtp_key_init_salt(struct csrtp_engine *e, struct csrtp_key *k, enum csrtp_profile p,
		       const uint8_t *master_key, size_t master_key_len,
		       const uint8_t *master_salt, size_t master_salt_len);

/* Install session keys directly (RFC 7714's vectors give session keys).
 * GCM profiles only (-EINVAL for AES-CM). */
__attribute__((warn_unused_result))
int csrtp_key_init_session(struct csrtp_engine *e, struct csrtp_key *k,
			  enum csrtp_profile p,
			  const uint8_t *rtp_key, const uint8_t rtp_salt[CSRTP_SALT_LEN],
			  const uint8_t *rtcp_key, const uint8_t rtcp_salt[CSRTP_SALT_LEN],
			  size_t key_len);

/*
 * The master key's MKI (RFC 3711 s. 3.1): mki_len octets (0: none, up to
 * CSRTP_MKI_MAX) sent with every SRTP and SRTCP packet protected under k,
 * and matched on receive to pick the key among the stream's (current,
 * previous, pending). Call after csrtp_key_init* (which clear it), before
 * the key is used. Returns 0, or -EINVAL (length, NULL mki with a length,
 * key not initialised).
 */
int csrtp_key_set_mki(struct csrtp_key *k, const uint8_t *mki, size_t mki_len);

/*
 * The master key's lifetime in packets (RFC 4568 s. 6.1, RFC 3711 s. 9.2):
 * 0 is the profile's maximum (CSRTP_LIFETIME_RTP_MAX, _RTCP_MAX); a larger
 * value caps SRTCP at 2^31. Counted per stream (one SSRC, one direction)
 * and per key the stream holds, SRTP and SRTCP apart: past it a packet is
 * refused with CSRTP_ERR_KEY_EXPIRED. A key's count follows it while the
 * stream holds it (pending, current, previous); a key new to the stream
 * starts at 0. Weaker than RFC 3711 s. 9.2's count per master key where
 * several streams (SSRCs) share one key: each counts alone. Not saved by
 * csrtp_stream_save: a restored stream counts from 0. Call after
 * csrtp_key_init*. Returns 0, or -EINVAL (packets > 2^48, key not
 * initialised).
 */
int csrtp_key_set_lifetime(struct csrtp_key *k, uint64_t packets);

/* Wipe all key material. */
void csrtp_key_wipe(struct csrtp_key *k);

/* ---- streams ------------------------------------------------------------ */

/* Sliding replay window over packet indices (RFC 3711 s. 3.3.2); csrtp_window.h. */
struct csrtp_window {
	uint64_t top;          /* highest index accepted; valid when started */
	uint16_t size;         /* window size in packets, multiple of 64 */
	uint8_t started;
	uint64_t bits[CSRTP_REPLAY_WINDOW_MAX / 64]; /* bit i: index top - i seen */
};

#define CSRTP_PENDING_MAX 2   /* pending keys per stream (two rekeys in flight) */
/* the keys a stream holds, by place: current, previous, pending[0..1] */
#define CSRTP_KEY_PLACES  (2 + CSRTP_PENDING_MAX)

struct csrtp_stream {
	const struct csrtp_key *key;      /* key for SRTP index >= key_from */
	const struct csrtp_key *prev_key; /* key for index < key_from; NULL when none */
	/* receiver: keys not seen in use yet, oldest first (NULL: none). A packet
	 * that fails authentication under key is tried under them; the first
	 * that verifies makes its key current From that packet's index. */
	const struct csrtp_key *pending[CSRTP_PENDING_MAX];
	uint64_t key_from;               /* RFC 3711 <From,To>: first index of key */
	uint32_t flags;                  /* CSRTP_F_* */
	uint32_t roc_init;               /* ROC assumed before the first packet */
	uint32_t srtcp_next;             /* sender: next SRTCP index */
	uint32_t pass;                   /* receiver, before its first accepted
					  * packet: the engine pass that holds
					  * its one packet under test */
	uint8_t resume;                  /* resume_top is valid */
	uint8_t floored;                 /* receiver, restored: floor is valid */
	uint8_t skipped;                 /* receiver: pending[0] is an older key
					  * (one the sender went through to a
					  * newer one, or the one before
					  * prev_key): held for index < key_from
					  * like prev_key, never made current */
	/* key lifetime (csrtp_key_set_lifetime): packets protected (sender)
	 * or accepted (receiver) on this stream under each key it holds, by
	 * place: [0] key, [1] prev_key, [2 + i] pending[i]. A count moves
	 * with its key from place to place (a pending key that becomes
	 * current keeps what it was used for while pending); a place that
	 * is released or takes a key the stream did not hold starts at 0 */
	uint64_t rtp_used[CSRTP_KEY_PLACES];
	struct csrtp_window rtp;          /* SRTP indices seen (both directions) */
	/* past the SRTP window's first words: what a packet seldom reads (the
	 * dataplane prefetches a stream's first lines, flows.c STREAM_HOT_LINES) */
	uint32_t rtcp_used[CSRTP_KEY_PLACES];
	uint64_t floor;                  /* receiver restored (csrtp_stream_restore):
					  * no SRTP index at or below it is accepted
					  * again, under any key (the keys the dead
					  * process had switched to are not known) */
	uint64_t resume_top;             /* sender after csrtp_stream_sender_rekey():
					  * the index the fresh window estimates
					  * its first packet from */
	struct csrtp_window rtcp;         /* receiver: SRTCP indices seen */
};

/*
 * Initialise a stream (one SSRC, one direction) with a key. window is the
 * replay window size in packets (0 = CSRTP_REPLAY_WINDOW_DEFAULT), rounded up
 * to a multiple of 64, at most CSRTP_REPLAY_WINDOW_MAX. The sender uses the
 * window to refuse protecting one index twice (GCM must never reuse an IV).
 * Returns 0 or -EINVAL.
 */
int csrtp_stream_init(struct csrtp_stream *s, const struct csrtp_key *k,
		     unsigned window, uint32_t flags);

/*
 * Set the stream's keys at once: current key, previous key (<From,To>) and
 * the pending keys a and b, for a caller that follows a table of keys
 * (dataplane/flows.c). Each key's lifetime counts go with it to its new
 * place; a key the stream did not hold, and an empty place, start at 0. The
 * caller keeps one MKI length per stream (csrtp_stream_pending checks it).
 */
void csrtp_stream_set_keys(struct csrtp_stream *s, const struct csrtp_key *key,
			   const struct csrtp_key *prev, const struct csrtp_key *a,
			   const struct csrtp_key *b);

/*
 * Change keys at a known index (RFC 3711 <From,To>): packets with SRTP index
 * >= from use next, older ones keep the current key. SRTCP switches once the
 * stream's SRTP has reached from (at once on a stream that has sent no RTP);
 * while both keys are held, a received SRTCP packet that fails under one is
 * tried under the other. The old key is released (prev_key = NULL) once the
 * highest index is a full replay window past from; until then the caller must
 * keep it alive. Returns 0, -EBUSY while an earlier change still holds its old
 * key, or -EINVAL for from > CSRTP_INDEX_MAX, a NULL key, or a key whose MKI
 * length differs from the stream's key's (a stream's keys share one packet
 * layout; the MKI then says which key a packet is under). next starts a
 * fresh lifetime count unless the stream holds it already (pending); the old
 * key's count goes on for index < from.
 */
int csrtp_stream_rekey(struct csrtp_stream *s, const struct csrtp_key *next,
		      uint64_t from);

/*
 * Sender: k is the key from the stream's next packet on (the switch point is
 * where the index is known: here). The index goes on from the highest one
 * protected (ROC kept, across a 2^16 wrap too); the replay window starts
 * afresh under k, since an index protected under the old key may be protected
 * once under k (a restarted application that reuses its SSRC with lower
 * sequence numbers, refused with CSRTP_ERR_INDEX_REUSE before, gets through).
 * The previous, pending and scheduled keys are dropped. SRTCP keeps counting.
 * k may have another MKI (or MKI length): the sender writes each packet's.
 * k starts a fresh lifetime count.
 */
void csrtp_stream_sender_rekey(struct csrtp_stream *s, const struct csrtp_key *k);

/*
 * Receiver: a and b (either may be NULL; a older than b) become the stream's
 * pending keys, replacing any it had. A packet that fails authentication
 * under the key its index selects is tried under a, then b, in the same
 * burst call (GCM's CTR is its own inverse: the failed decryption is undone
 * first; only failing packets pay). The first packet that verifies under a
 * pending key switches the stream: that key is current From the packet's
 * index (lowered by a later packet with a smaller index that verifies under
 * it only), the old one is kept for index < From until the highest index is
 * a replay window past From, then strictly RFC 3711 <From,To>. The replay
 * window is the stream's, not the key's, so nothing is accepted twice. A
 * packet older than the window (a sender that started over under its new
 * key) is tried under the pending keys only, and one that verifies starts a
 * fresh window there (the old key is dropped). Keys the caller passes must
 * stay alive while the stream may hold them (key, prev_key, pending).
 * With an MKI the packet's MKI picks the key (no key is tried in vain); an
 * MKI that names none of the stream's keys is refused (CSRTP_ERR_BAD_MKI).
 * Where it names several (keys that share an MKI value, as SDES peers that
 * give every key MKI 1), those are tried as keys without an MKI are, in the
 * same order.
 * Returns 0, or -EINVAL (the stream left as it was) if a or b has another
 * MKI length than the stream's key.
 */
int csrtp_stream_pending(struct csrtp_stream *s, const struct csrtp_key *a,
			const struct csrtp_key *b);

/*
 * A stream's indexes, kept outside its process so that a restarted process
 * goes on where the dead one stopped (the dataplane stores them before a
 * packet leaves: docs/dataplane.md "Restarts"). No key material.
 *  - CSRTP_RESUME_RTP: rtp is the highest SRTP index protected (sender) or
 *    accepted (receiver); restored, everything up to it counts as seen: the
 *    sender never protects an index at or below it again under the stream's
 *    key and goes on with its ROC; the receiver refuses each as a replay,
 *    under any key, also a pending one (the stream's floor: which key the dead
 *    process had switched to is not saved, so a pending key's "sender started
 *    over" switch must not reopen indexes at or below it).
 *  - CSRTP_RESUME_REKEYED (sender): rtp is resume_top, the index the window
 *    that is fresh under a new key estimates its first packet from.
 *  - CSRTP_RESUME_RTCP_RX: rtcp is the highest SRTCP index accepted (all at or
 *    below it refused); CSRTP_RESUME_RTCP_TX: rtcp is the next SRTCP index.
 */
#define CSRTP_RESUME_RTP      1u
#define CSRTP_RESUME_REKEYED  2u
#define CSRTP_RESUME_RTCP_RX  4u
#define CSRTP_RESUME_RTCP_TX  8u
struct csrtp_resume {
	uint64_t rtp;
	uint32_t rtcp;
	uint32_t flags;        /* CSRTP_RESUME_* */
};

/* What s has used so far (flags 0: nothing). */
void csrtp_stream_save(const struct csrtp_stream *s, struct csrtp_resume *r);
/* Put a freshly initialised stream (csrtp_stream_init, keys set) where r
 * says its earlier incarnation stopped. -EINVAL for an index out of range
 * (the stream is left as it was). */
int csrtp_stream_restore(struct csrtp_stream *s, const struct csrtp_resume *r);

/* ROC for the stream (the high 32 bits of the highest index). */
uint32_t csrtp_stream_roc(const struct csrtp_stream *s);

/* ---- packets and bursts ------------------------------------------------- */

struct csrtp_pkt {
	uint8_t *data;               /* packet, processed in place */
	uint32_t len;                /* in: packet length; out: new length */
	uint32_t cap;                /* bytes available from data */
	struct csrtp_stream *stream;
	uint64_t index;              /* out: SRTP packet index / SRTCP index */
	uint8_t status;              /* out: enum csrtp_status */
};

/*
 * Protect: RTP -> SRTP (appends the 16-octet tag, RFC 7714 s. 8.2; AES-CM:
 * the 10- or 4-octet tag, RFC 3711 s. 3.1, with 4 octets of room at least
 * for the ROC the MAC covers). Unprotect: SRTP -> RTP (removes it). SRTCP
 * likewise (GCM: tag then E||index word, RFC 7714 s. 9; AES-CM: E||index
 * word then 10-octet tag, RFC 3711 s. 3.4). A burst may mix profiles.
 * Returns the number of packets with status CSRTP_OK.
 * On any failure the packet's bytes are unspecified and it must be dropped.
 */
unsigned csrtp_protect_burst(struct csrtp_engine *e, struct csrtp_pkt *p, unsigned n);
unsigned csrtp_unprotect_burst(struct csrtp_engine *e, struct csrtp_pkt *p, unsigned n);
unsigned csrtp_rtcp_protect_burst(struct csrtp_engine *e, struct csrtp_pkt *p, unsigned n);
unsigned csrtp_rtcp_unprotect_burst(struct csrtp_engine *e, struct csrtp_pkt *p, unsigned n);

/* "ok", "auth failed", "replayed", "malformed", "too short", "no room for tag", ... */
const char *csrtp_status_str(enum csrtp_status st);

/* ---- known-answer self-test (csrtp_selftest.c) ---------------------------- */

/*
 * Run RFC 7714 and RFC 3711 known-answer vectors through the engine.
 * Returns 0, or -EIO naming the failing vector in *failed.
 */
int csrtp_selftest(struct csrtp_engine *e, const char **failed);

#endif /* CALLSEAL_CSRTP_H */
