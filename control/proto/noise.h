/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * noise.h - the Noise Protocol Framework (revision 34) core used by the call
 * key agreement: Noise_XX_25519_ChaChaPoly_BLAKE2b and
 * Noise_IK_25519_ChaChaPoly_BLAKE2b, plus the psk modifiers XXpsk3, IKpsk1 and
 * IKpsk2, on libsodium 1.0.18.
 *
 * Objects:
 *   struct noise_handshake    opaque HandshakeState (with its SymmetricState
 *                             and CipherState). Lives in secmem's pool
 *                             (secmem.h: mlock'd chunks with guard pages,
 *                             excluded from core dumps where the kernel
 *                             allows, a canary per block); freeing wipes it.
 *   struct noise_cipherstate  a CipherState (k, n) for transport messages,
 *                             filled by noise_handshake_split(). The caller
 *                             decides where it lives (sodium_malloc it for a
 *                             long-lived session) and wipes it with
 *                             noise_cipherstate_wipe().
 *   struct noise_keypair      an X25519 key pair; same rule as the cipher state.
 *
 * Conventions (see docs/noise.md):
 *   ENCRYPT(k, n, ad, p)  ChaCha20-Poly1305 (RFC 8439 / libsodium "ietf"),
 *                         96-bit nonce = 4 zero octets || n as 64-bit little
 *                         endian. n = 2^64-1 is reserved: an encrypt or decrypt
 *                         at that value fails with -EOVERFLOW.
 *   HASH                  BLAKE2b-512 (unkeyed), HASHLEN 64, BLOCKLEN 128.
 *   HMAC-HASH             RFC 2104 over BLAKE2b (not BLAKE2b's keyed mode).
 *   HKDF                  Noise section 4.3 (2 or 3 outputs of HASHLEN).
 *   DH                    X25519; an all-zero result (low-order peer key) is
 *                         refused with -EKEYREJECTED.
 *
 * Errors: every function returns 0 or a negative errno:
 *   -EINVAL        bad argument, or a configuration the pattern cannot use
 *   -EPROTO        out of turn: not this side's turn to write/read, the
 *                  handshake is not complete yet, or split was already done
 *   -ECANCELED     the handshake failed earlier and is unusable
 *   -EMSGSIZE      a message would be, or is, longer than NOISE_MAX_MESSAGE_LEN
 *   -ENOBUFS       the output buffer is too small
 *   -EBADMSG       a message is too short, or fails authentication
 *   -EKEYREJECTED  a peer public key is of low order (all-zero DH output)
 *   -ENOKEY        a cipher state without a key, or no remote static known
 *   -EOVERFLOW     the cipher state's nonce is exhausted
 *   -ENOMEM        secmem_alloc failed
 *   -EIO           libsodium could not be initialised
 *
 * A failed noise_handshake_read_message() is final: the handshake wipes its
 * secrets and every later call on it returns -ECANCELED (no retry from a
 * half-updated state). noise_handshake_write_message() fails without changing
 * anything for argument, turn and buffer-size errors (-EINVAL, -EPROTO,
 * -EMSGSIZE, -ENOBUFS); any later failure (a DH refusal) is final as well.
 *
 * Threading: a handshake or cipher state belongs to one thread at a time.
 */
#ifndef CALLSEAL_NOISE_H
#define CALLSEAL_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define NOISE_PUBLIC_KEY_LEN     32     /* X25519 (DHLEN) */
#define NOISE_PRIVATE_KEY_LEN    32
#define NOISE_DH_LEN             32
#define NOISE_SYMMETRIC_KEY_LEN  32     /* ChaChaPoly key */
#define NOISE_NONCE_LEN          12     /* 4 zero octets || LE64(n) */
#define NOISE_AUTHTAG_LEN        16     /* Poly1305 tag */
#define NOISE_HASH_LEN           64     /* BLAKE2b HASHLEN */
#define NOISE_BLOCK_LEN         128     /* BLAKE2b BLOCKLEN */
#define NOISE_PSK_LEN            32
#define NOISE_MAX_MESSAGE_LEN 65535     /* Noise section 3: any message */
/* Largest transport payload: a message is payload || tag. */
#define NOISE_MAX_PAYLOAD_LEN (NOISE_MAX_MESSAGE_LEN - NOISE_AUTHTAG_LEN)
/* Reserved nonce value (Noise section 5.1). */
#define NOISE_NONCE_MAX       UINT64_MAX

#if defined(__GNUC__)
#define NOISE_MUST_CHECK __attribute__((warn_unused_result))
#else
#define NOISE_MUST_CHECK
#endif

/* Handshake patterns (Noise sections 7.5 and 9.4). */
enum noise_pattern {
	NOISE_PATTERN_XX = 0,   /* Noise_XX_25519_ChaChaPoly_BLAKE2b */
	NOISE_PATTERN_XXPSK3,   /* Noise_XXpsk3_25519_ChaChaPoly_BLAKE2b */
	NOISE_PATTERN_IK,       /* Noise_IK_25519_ChaChaPoly_BLAKE2b */
	NOISE_PATTERN_IKPSK1,   /* Noise_IKpsk1_25519_ChaChaPoly_BLAKE2b */
	NOISE_PATTERN_IKPSK2,   /* Noise_IKpsk2_25519_ChaChaPoly_BLAKE2b */
	NOISE_PATTERN_MAX
};

enum noise_role {
	NOISE_ROLE_INITIATOR = 0,
	NOISE_ROLE_RESPONDER,
};

/* What a handshake expects next (noise_handshake_status). */
enum noise_hs_status {
	NOISE_HS_WRITE = 0,     /* call noise_handshake_write_message() */
	NOISE_HS_READ,          /* call noise_handshake_read_message() */
	NOISE_HS_COMPLETE,      /* all messages done: hash, remote static, split */
	NOISE_HS_SPLIT,         /* split done: only hash and remote static remain */
	NOISE_HS_FAILED,        /* unusable: destroy it */
};

struct noise_keypair {
	uint8_t private_key[NOISE_PRIVATE_KEY_LEN];
	uint8_t public_key[NOISE_PUBLIC_KEY_LEN];
};

/* CipherState (Noise section 5.1). has_key false = "k is empty". */
struct noise_cipherstate {
	uint8_t k[NOISE_SYMMETRIC_KEY_LEN];
	uint64_t n;
	bool has_key;
};

struct noise_handshake_config {
	enum noise_pattern pattern;
	enum noise_role role;
	const uint8_t *prologue;                /* may be NULL when prologue_len is 0 */
	size_t prologue_len;
	/* Our static private key (s): required by every pattern above. Copied. */
	const uint8_t *local_static_private;    /* [NOISE_PRIVATE_KEY_LEN] */
	/* Its public key, when the caller has it stored (optional): saves the
	 * fixed-base X25519 that derives it. It is trusted, not checked; a key
	 * that does not belong to local_static_private makes the peer's first
	 * decryption under es/se fail. NULL = derive it. */
	const uint8_t *local_static_public;     /* [NOISE_PUBLIC_KEY_LEN] */
	/* The responder's static public key (rs): required for an IK initiator,
	 * refused otherwise. A low-order key is refused (-EKEYREJECTED). */
	const uint8_t *remote_static_public;    /* [NOISE_PUBLIC_KEY_LEN] */
	/* Pre-shared key: required for the psk patterns, refused otherwise. */
	const uint8_t *psk;                     /* [NOISE_PSK_LEN] */
	/* TESTS ONLY: a fixed ephemeral private key (for known-answer vectors).
	 * NULL (always, in production) = a fresh random one. */
	const uint8_t *ephemeral_private;       /* [NOISE_PRIVATE_KEY_LEN] */
};

struct noise_handshake;

/* Initialise libsodium (idempotent; the functions below call it as needed). */
NOISE_MUST_CHECK int noise_init(void);

/* Protocol name of a pattern, e.g. "Noise_XX_25519_ChaChaPoly_BLAKE2b";
 * NULL for an unknown pattern. */
const char *noise_pattern_name(enum noise_pattern pattern);
/* Pattern by protocol name: 0 and *pattern set, or -EINVAL. */
NOISE_MUST_CHECK int noise_pattern_from_name(const char *name,
					     enum noise_pattern *pattern);

/* ---- keys --------------------------------------------------------------- */

NOISE_MUST_CHECK int noise_keypair_generate(struct noise_keypair *kp);
NOISE_MUST_CHECK int noise_keypair_from_private(struct noise_keypair *kp,
		const uint8_t private_key[NOISE_PRIVATE_KEY_LEN]);
void noise_keypair_wipe(struct noise_keypair *kp);

/* ---- handshake ---------------------------------------------------------- */

/* Initialize(): a new HandshakeState in secmem_alloc'd memory. */
NOISE_MUST_CHECK int noise_handshake_create(struct noise_handshake **hsp,
		const struct noise_handshake_config *cfg);
/* Wipes and frees; NULL is allowed. */
void noise_handshake_destroy(struct noise_handshake *hs);

enum noise_hs_status noise_handshake_status(const struct noise_handshake *hs);

/* WriteMessage(): the next handshake message, carrying payload, into
 * out[0..out_cap); *out_len gets its length. payload may be NULL when
 * payload_len is 0; payload and out must not overlap. */
NOISE_MUST_CHECK int noise_handshake_write_message(struct noise_handshake *hs,
		const uint8_t *payload, size_t payload_len,
		uint8_t *out, size_t out_cap, size_t *out_len);

/* ReadMessage(): consume the peer's next handshake message; its decrypted
 * payload goes to payload[0..payload_cap), its length to *payload_len.
 * Any failure is final (see above). msg and payload must not overlap. */
NOISE_MUST_CHECK int noise_handshake_read_message(struct noise_handshake *hs,
		const uint8_t *msg, size_t msg_len,
		uint8_t *payload, size_t payload_cap, size_t *payload_len);

/* Split(): the transport cipher states, by direction: for the initiator
 * send = c1 and recv = c2, for the responder the other way round. Once only,
 * after the last handshake message; then the handshake's ck, keys, psk and
 * ephemeral/static private keys are wiped (hash and remote static remain). */
NOISE_MUST_CHECK int noise_handshake_split(struct noise_handshake *hs,
		struct noise_cipherstate *send, struct noise_cipherstate *recv);

/* GetHandshakeHash(): h after the last handshake message (the channel
 * binding the security code is derived from). Only once the handshake is
 * complete; -EPROTO before. */
NOISE_MUST_CHECK int noise_handshake_hash(const struct noise_handshake *hs,
		uint8_t h[NOISE_HASH_LEN]);

/* Key export from the final chaining key: out = the first out_len octets
 * (1..NOISE_HASH_LEN) of output1 of HKDF(ck, label, 2), section 4.3, with a
 * label of at least one octet (the empty label is Split()'s own input).
 * Only once the handshake is complete and before noise_handshake_split(),
 * which wipes ck: -EPROTO before completion and after split, -ECANCELED after
 * a failure. Different labels give independent keys; Split()'s are
 * independent of every export. See docs/noise.md, "Key export". */
NOISE_MUST_CHECK int noise_handshake_export(const struct noise_handshake *hs,
		const uint8_t *label, size_t label_len,
		uint8_t *out, size_t out_len);

/* The peer's static public key (rs), once known: from the configuration (IK
 * initiator) or from the peer's "s" token. -ENOKEY before. Authenticated only
 * when the handshake is complete. */
NOISE_MUST_CHECK int noise_handshake_remote_static(const struct noise_handshake *hs,
		uint8_t pub[NOISE_PUBLIC_KEY_LEN]);

/* ---- transport (CipherState) ---------------------------------------------- */

/* EncryptWithAd(): out = ENCRYPT(k, n++, ad, plain) = ciphertext || tag;
 * plain_len <= NOISE_MAX_PAYLOAD_LEN, out_cap >= plain_len + tag.
 * out may equal plain (in place); no other overlap. A state without a key
 * is refused (-ENOKEY), never passed through in clear. */
NOISE_MUST_CHECK int noise_cipher_encrypt(struct noise_cipherstate *cs,
		const uint8_t *ad, size_t ad_len,
		const uint8_t *plain, size_t plain_len,
		uint8_t *out, size_t out_cap, size_t *out_len);

/* DecryptWithAd(): n is incremented only on success. out may equal in. */
NOISE_MUST_CHECK int noise_cipher_decrypt(struct noise_cipherstate *cs,
		const uint8_t *ad, size_t ad_len,
		const uint8_t *in, size_t in_len,
		uint8_t *out, size_t out_cap, size_t *out_len);

/* SetNonce() (Noise section 5.1), e.g. for an out-of-band counter. */
void noise_cipher_set_nonce(struct noise_cipherstate *cs, uint64_t n);

/* Rekey(): k = first 32 octets of ENCRYPT(k, 2^64-1, empty, 32 zero octets)
 * (Noise section 4.2); n is unchanged. */
NOISE_MUST_CHECK int noise_cipher_rekey(struct noise_cipherstate *cs);

void noise_cipherstate_wipe(struct noise_cipherstate *cs);

#endif /* CALLSEAL_NOISE_H */
