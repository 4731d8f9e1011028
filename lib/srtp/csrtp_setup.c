/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * csrtp_setup.c - everything the burst path (csrtp.c) uses, set up once: the
 * engine (intel-ipsec-mb manager, ISA chosen at creation), SRTP profiles, keys
 * expanded from a master key by the RFC 3711 KDF (csrtp_kdf.c), and streams
 * with their key changes (RFC 3711 <From,To>: csrtp_stream_rekey, the sender's
 * switch at its next packet, a receiver's pending keys), status names.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "csrtp_internal.h"
#include "csrtp_kdf.h"
#include "csrtp_window.h"

/* ---- engine, keys, streams ---------------------------------------------- */

/* csrtp_engine_key_hot() for arch. intel-ipsec-mb's gcm_key_data: 15 round
 * keys (240 bytes), then the GHASH key powers in the layout of the
 * architecture's code (intel-ipsec-mb.h): SSE and AVX read HashKey^1..8 and
 * their Karatsuba halves (256 bytes), AVX2 HashKey^1..8 (128 bytes); AVX512
 * (VAES) keeps up to 48 powers: all of them. A wrong guess costs a miss,
 * never a wrong result. */
static unsigned key_hot(IMB_ARCH arch)
{
	size_t ghash = arch == IMB_ARCH_SSE || arch == IMB_ARCH_AVX ? 256 :
		       arch == IMB_ARCH_AVX2 ? 128 :
		       sizeof(struct gcm_key_data) - 240;
	size_t gcm = offsetof(struct csrtp_key, rtp_key) + 240 + ghash;
	size_t cm = offsetof(struct csrtp_key, cm_keys) + offsetof(struct csrtp_cm_keys, rtcp_enc);
	size_t hot = gcm > cm ? gcm : cm;

	return (unsigned)((hot + 63) & ~(size_t)63);
}

unsigned csrtp_engine_key_hot(const struct csrtp_engine *e)
{
	return e->key_hot;
}

struct csrtp_engine *csrtp_engine_create(IMB_ARCH arch)
{
	struct csrtp_engine *e = aligned_alloc(64, sizeof(*e));
	if (e == NULL)
		return NULL;
	memset(e, 0, sizeof(*e));

	e->mgr = alloc_mb_mgr(0);
	if (e->mgr == NULL)
		goto fail;

	if (arch == IMB_ARCH_NONE) {
		init_mb_mgr_auto(e->mgr, &e->arch);
	} else {
		/* a specific architecture, if this CPU has what it needs */
		static const struct {
			IMB_ARCH arch;
			uint64_t needs;
			void (*init)(IMB_MGR *);
		} isas[] = {
			{ IMB_ARCH_SSE,    IMB_CPUFLAGS_SSE,    init_mb_mgr_sse },
			{ IMB_ARCH_AVX,    IMB_CPUFLAGS_AVX,    init_mb_mgr_avx },
			{ IMB_ARCH_AVX2,   IMB_CPUFLAGS_AVX2,   init_mb_mgr_avx2 },
			{ IMB_ARCH_AVX512, IMB_CPUFLAGS_AVX512, init_mb_mgr_avx512 },
		};
		size_t i = 0;
		while (i < sizeof(isas) / sizeof(isas[0]) && isas[i].arch != arch)
			i++;
		if (i == sizeof(isas) / sizeof(isas[0]) ||
		    (e->mgr->features & isas[i].needs) != isas[i].needs)
			goto fail;
		isas[i].init(e->mgr);
		e->arch = arch;
	}
	if (imb_get_errno(e->mgr) != 0 || e->arch == IMB_ARCH_NONE ||
	    e->arch == IMB_ARCH_NOAESNI)
		goto fail;
	e->key_hot = key_hot(e->arch);
	return e;
fail:
	csrtp_engine_destroy(e);
	return NULL;
}

void csrtp_engine_destroy(struct csrtp_engine *e)
{
	if (e == NULL)
		return;
	if (e->mgr != NULL)
		free_mb_mgr(e->mgr);
	explicit_bzero(e, sizeof(*e));   /* scratch held IVs and tags */
	free(e);
}

const char *csrtp_engine_arch_name(const struct csrtp_engine *e)
{
	switch (e->arch) {
	case IMB_ARCH_SSE:    return "sse";
	case IMB_ARCH_AVX:    return "avx";
	case IMB_ARCH_AVX2:   return "avx2";
	case IMB_ARCH_AVX512: return "avx512";
	default:              return "none";
	}
}

IMB_MGR *csrtp_engine_mgr(struct csrtp_engine *e)
{
	return e->mgr;
}

void csrtp_engine_set_api(struct csrtp_engine *e, enum csrtp_api api)
{
	e->api = api;
}

static const struct {
	enum csrtp_profile id;
	const char *name;
	size_t key_len;
	size_t salt_len;
	size_t tag_len;               /* SRTP */
} profiles[] = {
	{ .id = CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80, .name = "AES_CM_128_HMAC_SHA1_80",
	  .key_len = 16, .salt_len = CSRTP_CM_SALT_LEN, .tag_len = 10 },
	{ .id = CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_32, .name = "AES_CM_128_HMAC_SHA1_32",
	  .key_len = 16, .salt_len = CSRTP_CM_SALT_LEN, .tag_len = 4 },
	{ .id = CSRTP_PROFILE_AEAD_AES_128_GCM, .name = "AEAD_AES_128_GCM", .key_len = 16,
	  .salt_len = CSRTP_SALT_LEN, .tag_len = CSRTP_TAG_LEN },
	{ .id = CSRTP_PROFILE_AEAD_AES_256_GCM, .name = "AEAD_AES_256_GCM", .key_len = 32,
	  .salt_len = CSRTP_SALT_LEN, .tag_len = CSRTP_TAG_LEN },
};
#define NPROFILES (sizeof(profiles) / sizeof(profiles[0]))

static size_t profile_index(enum csrtp_profile p)
{
	size_t i = 0;
	while (i < NPROFILES && profiles[i].id != p)
		i++;
	return i;
}

size_t csrtp_profile_key_len(enum csrtp_profile p)
{
	size_t i = profile_index(p);
	return i < NPROFILES ? profiles[i].key_len : 0;
}

size_t csrtp_profile_salt_len(enum csrtp_profile p)
{
	size_t i = profile_index(p);
	return i < NPROFILES ? profiles[i].salt_len : 0;
}

size_t csrtp_profile_tag_len(enum csrtp_profile p)
{
	size_t i = profile_index(p);
	return i < NPROFILES ? profiles[i].tag_len : 0;
}

const char *csrtp_profile_name(enum csrtp_profile p)
{
	size_t i = profile_index(p);
	return i < NPROFILES ? profiles[i].name : NULL;
}

enum csrtp_profile csrtp_profile_from_name(const char *name)
{
	for (size_t i = 0; i < NPROFILES; i++)
		if (strcmp(profiles[i].name, name) == 0)
			return profiles[i].id;
	return CSRTP_PROFILE_NONE;
}

static bool profile_is_cm(enum csrtp_profile p)
{
	return p == CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_80 ||
	       p == CSRTP_PROFILE_AES_CM_128_HMAC_SHA1_32;
}

/* RFC 2104: the SHA-1 states after the first block of K XOR ipad and of
 * K XOR opad, which intel-ipsec-mb's HMAC jobs start from. */
static void hmac_sha1_pads(IMB_MGR *mgr, const uint8_t key[CSRTP_CM_AUTH_KEY_LEN],
			   uint8_t ipad[32], uint8_t opad[32])
{
	uint8_t blk[64];

	memset(blk, 0x36, sizeof(blk));
	for (size_t i = 0; i < CSRTP_CM_AUTH_KEY_LEN; i++)
		blk[i] ^= key[i];
	IMB_SHA1_ONE_BLOCK(mgr, blk, ipad);
	memset(blk, 0x5c, sizeof(blk));
	for (size_t i = 0; i < CSRTP_CM_AUTH_KEY_LEN; i++)
		blk[i] ^= key[i];
	IMB_SHA1_ONE_BLOCK(mgr, blk, opad);
	explicit_bzero(blk, sizeof(blk));
}

/* RFC 3711 s. 4.3: one half's three AES-CM session values from the master key
 * (labels first, first + 1, first + 2: cipher key, auth key, salt), expanded. */
static int cm_derive(IMB_MGR *mgr, const uint8_t *mk, size_t kl,
		     const uint8_t salt[CSRTP_KDF_SALT_LEN], uint8_t first, uint8_t *enc,
		     uint8_t *ipad, uint8_t *opad, uint8_t session_salt[CSRTP_CM_SALT_LEN])
{
	uint8_t ck[16], ak[CSRTP_CM_AUTH_KEY_LEN], dec[16 * 11] __attribute__((aligned(16)));
	int ret;

	if ((ret = csrtp_kdf_derive(mgr, mk, kl, salt, first, ck, kl)) == 0 &&
	    (ret = csrtp_kdf_derive(mgr, mk, kl, salt, (uint8_t)(first + 1), ak,
				    sizeof(ak))) == 0 &&
	    (ret = csrtp_kdf_derive(mgr, mk, kl, salt, (uint8_t)(first + 2), session_salt,
				    CSRTP_CM_SALT_LEN)) == 0) {
		IMB_AES_KEYEXP_128(mgr, ck, enc, dec);
		hmac_sha1_pads(mgr, ak, ipad, opad);
	}
	explicit_bzero(ck, sizeof(ck));
	explicit_bzero(ak, sizeof(ak));
	explicit_bzero(dec, sizeof(dec));
	return ret;
}

/* What a key starts with besides its session keys: no MKI, the profile's
 * maximum lifetime (csrtp_key_set_mki, csrtp_key_set_lifetime change them). */
static void key_defaults(struct csrtp_key *k)
{
	k->mki_len = 0;
	k->rtp_trailer = (uint8_t)csrtp_profile_tag_len((enum csrtp_profile)k->profile);
	k->rtp_life = CSRTP_LIFETIME_RTP_MAX;
	k->rtcp_life = CSRTP_LIFETIME_RTCP_MAX;
}

/* The AES-CM key: SRTP (labels 0x00-0x02) and SRTCP (0x03-0x05) halves. */
static int cm_key_init(struct csrtp_engine *e, struct csrtp_key *k, enum csrtp_profile p,
		       const uint8_t *mk, size_t kl, const uint8_t salt[CSRTP_KDF_SALT_LEN])
{
	struct csrtp_cm_keys *c = &k->cm_keys;
	int ret;

	memset(k, 0, sizeof(*k));
	if ((ret = cm_derive(e->mgr, mk, kl, salt, CSRTP_KDF_RTP_ENCRYPTION, c->rtp_enc,
			     c->rtp_ipad, c->rtp_opad, c->rtp_salt)) ||
	    (ret = cm_derive(e->mgr, mk, kl, salt, CSRTP_KDF_RTCP_ENCRYPTION, c->rtcp_enc,
			     c->rtcp_ipad, c->rtcp_opad, c->rtcp_salt))) {
		explicit_bzero(k, sizeof(*k));
		return ret;
	}
	c->rtp_tag_len = (uint8_t)csrtp_profile_tag_len(p);
	k->profile = (uint16_t)p;
	k->key_len = (uint8_t)kl;
	k->cm = 1;
	key_defaults(k);
	return 0;
}

int csrtp_key_init_session(struct csrtp_engine *e, struct csrtp_key *k,
			  enum csrtp_profile p,
			  const uint8_t *rtp_key, const uint8_t rtp_salt[CSRTP_SALT_LEN],
			  const uint8_t *rtcp_key, const uint8_t rtcp_salt[CSRTP_SALT_LEN],
			  size_t key_len)
{
	if (key_len == 0 || csrtp_profile_key_len(p) != key_len || profile_is_cm(p))
		return -EINVAL;

	memset(k, 0, sizeof(*k));
	/* GCM key schedule and GHASH powers, once per key. */
	if (key_len == 16) {
		IMB_AES128_GCM_PRE(e->mgr, rtp_key, &k->rtp_key);
		IMB_AES128_GCM_PRE(e->mgr, rtcp_key, &k->rtcp_key);
	} else {
		IMB_AES256_GCM_PRE(e->mgr, rtp_key, &k->rtp_key);
		IMB_AES256_GCM_PRE(e->mgr, rtcp_key, &k->rtcp_key);
	}
	memcpy(k->rtp_salt, rtp_salt, CSRTP_SALT_LEN);
	memcpy(k->rtcp_salt, rtcp_salt, CSRTP_SALT_LEN);
	k->profile = (uint16_t)p;
	k->key_len = (uint8_t)key_len;
	key_defaults(k);
	return 0;
}

int csrtp_key_init(struct csrtp_engine *e, struct csrtp_key *k, enum csrtp_profile p,
		  const uint8_t *master_key, size_t master_key_len,
		  const uint8_t master_salt[CSRTP_SALT_LEN])
{
	return csrtp_key_init_salt(e, k, p, master_key, master_key_len, master_salt,
				  CSRTP_SALT_LEN);
}

int csrtp_key_init_salt(struct csrtp_engine *e, struct csrtp_key *k, enum csrtp_profile p,
		       const uint8_t *master_key, size_t master_key_len,
		       const uint8_t *master_salt, size_t master_salt_len)
{
	uint8_t salt[CSRTP_KDF_SALT_LEN] = { 0 };
	uint8_t rtp_k[CSRTP_MAX_KEY_LEN], rtcp_k[CSRTP_MAX_KEY_LEN];
	uint8_t rtp_s[CSRTP_SALT_LEN], rtcp_s[CSRTP_SALT_LEN];
	int ret = -EINVAL;

	if (master_key_len == 0 || csrtp_profile_key_len(p) != master_key_len ||
	    csrtp_profile_salt_len(p) != master_salt_len)
		goto out;

	/* RFC 7714 s. 11: 96-bit master salt, used as the leftmost 96 bits of
	 * the 112-bit PRF input (two zero octets follow); RFC 3711: 112 bits. */
	memcpy(salt, master_salt, master_salt_len);
	if (profile_is_cm(p)) {
		ret = cm_key_init(e, k, p, master_key, master_key_len, salt);
		goto out;
	}
	IMB_MGR *mgr = e->mgr;
	if ((ret = csrtp_kdf_derive(mgr, master_key, master_key_len, salt,
				   CSRTP_KDF_RTP_ENCRYPTION, rtp_k, master_key_len)) ||
	    (ret = csrtp_kdf_derive(mgr, master_key, master_key_len, salt,
				   CSRTP_KDF_RTP_SALT, rtp_s, CSRTP_SALT_LEN)) ||
	    (ret = csrtp_kdf_derive(mgr, master_key, master_key_len, salt,
				   CSRTP_KDF_RTCP_ENCRYPTION, rtcp_k, master_key_len)) ||
	    (ret = csrtp_kdf_derive(mgr, master_key, master_key_len, salt,
				   CSRTP_KDF_RTCP_SALT, rtcp_s, CSRTP_SALT_LEN)))
		goto out;
	ret = csrtp_key_init_session(e, k, p, rtp_k, rtp_s, rtcp_k, rtcp_s, master_key_len);
out:
	explicit_bzero(salt, sizeof(salt));
	explicit_bzero(rtp_k, sizeof(rtp_k));
	explicit_bzero(rtcp_k, sizeof(rtcp_k));
	explicit_bzero(rtp_s, sizeof(rtp_s));
	explicit_bzero(rtcp_s, sizeof(rtcp_s));
	return ret;
}

/* A key made by csrtp_key_init* (and not wiped since). */
static bool key_initialised(const struct csrtp_key *k)
{
	return k != NULL && csrtp_profile_key_len((enum csrtp_profile)k->profile) != 0 &&
	       k->key_len == csrtp_profile_key_len((enum csrtp_profile)k->profile);
}

int csrtp_key_set_mki(struct csrtp_key *k, const uint8_t *mki, size_t mki_len)
{
	if (!key_initialised(k) || mki_len > CSRTP_MKI_MAX || (mki == NULL && mki_len > 0))
		return -EINVAL;
	memset(k->mki, 0, sizeof(k->mki));
	if (mki_len > 0)
		memcpy(k->mki, mki, mki_len);
	k->mki_len = (uint8_t)mki_len;
	k->rtp_trailer = (uint8_t)(csrtp_profile_tag_len((enum csrtp_profile)k->profile) + mki_len);
	return 0;
}

int csrtp_key_set_lifetime(struct csrtp_key *k, uint64_t packets)
{
	if (!key_initialised(k) || packets > CSRTP_LIFETIME_RTP_MAX)
		return -EINVAL;
	/* 0: the profile's maximum; SRTCP's index space is smaller */
	k->rtp_life = packets != 0 ? packets : CSRTP_LIFETIME_RTP_MAX;
	k->rtcp_life = packets != 0 && packets < CSRTP_LIFETIME_RTCP_MAX ?
		       (uint32_t)packets : CSRTP_LIFETIME_RTCP_MAX;
	return 0;
}

void csrtp_key_wipe(struct csrtp_key *k)
{
	explicit_bzero(k, sizeof(*k));
}

int csrtp_stream_init(struct csrtp_stream *s, const struct csrtp_key *k,
		     unsigned window, uint32_t flags)
{
	memset(s, 0, sizeof(*s));
	if (csrtp_window_init(&s->rtp, window) || csrtp_window_init(&s->rtcp, window))
		return -EINVAL;
	s->key = k;
	s->flags = flags;
	return 0;
}

/* A stream's keys share one MKI length: the packet layout, and what the
 * receiver reads the MKI by (a NULL key, or a stream without one, fits). */
static bool mki_fits(const struct csrtp_stream *s, const struct csrtp_key *k)
{
	return k == NULL || s->key == NULL || k->mki_len == s->key->mki_len;
}

void csrtp_stream_set_keys(struct csrtp_stream *s, const struct csrtp_key *key,
			   const struct csrtp_key *prev, const struct csrtp_key *a,
			   const struct csrtp_key *b)
{
	const struct csrtp_key *to[CSRTP_KEY_PLACES] = { key, prev, a, b };
	uint64_t rtp[CSRTP_KEY_PLACES] = { 0 };
	uint32_t rtcp[CSRTP_KEY_PLACES] = { 0 };

	_Static_assert(CSRTP_KEY_PLACES == 4, "places: key, prev_key, pending[0..1]");
	for (unsigned i = 0; i < CSRTP_KEY_PLACES; i++)
		for (unsigned j = 0; to[i] != NULL && j < CSRTP_KEY_PLACES; j++)
			if (csrtp_stream_key_at(s, j) == to[i]) {
				rtp[i] = s->rtp_used[j];
				rtcp[i] = s->rtcp_used[j];
				break;
			}
	memcpy(s->rtp_used, rtp, sizeof(rtp));
	memcpy(s->rtcp_used, rtcp, sizeof(rtcp));
	s->key = key;
	s->prev_key = prev;
	s->pending[0] = a;
	s->pending[1] = b;
}

int csrtp_stream_rekey(struct csrtp_stream *s, const struct csrtp_key *next, uint64_t from)
{
	if (next == NULL || from > CSRTP_INDEX_MAX || !mki_fits(s, next))
		return -EINVAL;
	if (s->prev_key != NULL)
		return -EBUSY;
	csrtp_stream_set_keys(s, next, s->key, s->pending[0], s->pending[1]);
	s->key_from = from;
	return 0;
}

void csrtp_stream_sender_rekey(struct csrtp_stream *s, const struct csrtp_key *k)
{
	if (s->rtp.started) {
		s->resume_top = s->rtp.top;
		s->resume = 1;
	}
	/* a fresh window under k: every index may be protected once more */
	memset(s->rtp.bits, 0, sizeof(s->rtp.bits));
	s->rtp.started = 0;
	csrtp_stream_set_keys(s, k, NULL, NULL, NULL);
	/* a fresh count under k, even where k is the key it had */
	memset(s->rtp_used, 0, sizeof(s->rtp_used));
	memset(s->rtcp_used, 0, sizeof(s->rtcp_used));
	s->skipped = 0;
	s->key_from = 0;
}

void csrtp_stream_save(const struct csrtp_stream *s, struct csrtp_resume *r)
{
	memset(r, 0, sizeof(*r));
	if (s->rtp.started) {
		r->rtp = s->rtp.top;
		r->flags |= CSRTP_RESUME_RTP;
	} else if (s->resume) {
		r->rtp = s->resume_top;
		r->flags |= CSRTP_RESUME_REKEYED;
	}
	if (s->rtcp.started) {
		r->rtcp = (uint32_t)s->rtcp.top;
		r->flags |= CSRTP_RESUME_RTCP_RX;
	} else if (s->srtcp_next != 0) {
		r->rtcp = s->srtcp_next;
		r->flags |= CSRTP_RESUME_RTCP_TX;
	}
}

/* Every index up to top seen (RFC 3711 s. 3.3.2: refused as replays). */
static void window_fill(struct csrtp_window *w, uint64_t top)
{
	w->top = top;
	w->started = 1;
	memset(w->bits, 0xff, (size_t)(w->size >> 6) * sizeof(w->bits[0]));
}

int csrtp_stream_restore(struct csrtp_stream *s, const struct csrtp_resume *r)
{
	if (((r->flags & (CSRTP_RESUME_RTP | CSRTP_RESUME_REKEYED)) && r->rtp > CSRTP_INDEX_MAX) ||
	    ((r->flags & (CSRTP_RESUME_RTCP_RX | CSRTP_RESUME_RTCP_TX)) &&
	     r->rtcp > CSRTP_RTCP_INDEX_MAX + (uint64_t)!!(r->flags & CSRTP_RESUME_RTCP_TX)))
		return -EINVAL;
	if (r->flags & CSRTP_RESUME_RTP) {
		window_fill(&s->rtp, r->rtp);
		s->floor = r->rtp;
		s->floored = 1;
	} else if (r->flags & CSRTP_RESUME_REKEYED) {
		s->resume_top = r->rtp;
		s->resume = 1;
	}
	if (r->flags & CSRTP_RESUME_RTCP_RX)
		window_fill(&s->rtcp, r->rtcp);
	else if (r->flags & CSRTP_RESUME_RTCP_TX)
		s->srtcp_next = r->rtcp;
	return 0;
}

int csrtp_stream_pending(struct csrtp_stream *s, const struct csrtp_key *a,
			const struct csrtp_key *b)
{
	if (!mki_fits(s, a) || !mki_fits(s, b))
		return -EINVAL;
	if (a == NULL) {
		a = b;
		b = NULL;
	}
	csrtp_stream_set_keys(s, s->key, s->prev_key, a, b);
	s->skipped = 0;
	return 0;
}

uint32_t csrtp_stream_roc(const struct csrtp_stream *s)
{
	return s->rtp.started ? (uint32_t)(s->rtp.top >> 16) : s->roc_init;
}

const char *csrtp_status_str(enum csrtp_status st)
{
	static const char *const names[CSRTP_STATUS_MAX] = {
		[CSRTP_OK]                = "ok",
		[CSRTP_ERR_AUTH]          = "auth failed",
		[CSRTP_ERR_REPLAY]        = "replayed",
		[CSRTP_ERR_MALFORMED]     = "malformed",
		[CSRTP_ERR_TOO_SHORT]     = "too short",
		[CSRTP_ERR_NO_ROOM]       = "no room for tag",
		[CSRTP_ERR_KEY_EXHAUSTED] = "key exhausted",
		[CSRTP_ERR_NO_KEY]        = "no key",
		[CSRTP_ERR_INDEX_REUSE]   = "index reused under one key",
		[CSRTP_ERR_BAD_MKI]       = "unknown MKI",
		[CSRTP_ERR_KEY_EXPIRED]   = "key lifetime reached",
	};
	return (unsigned)st < CSRTP_STATUS_MAX ? names[st] : "unknown";
}
