/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sdes.h - SDP Security Descriptions (SDES, RFC 4568): one `a=crypto` line
 * parsed into a master key for the key table, and a master key written back
 * as such a line.
 *
 *   a=crypto:<tag> <suite> inline:<base64 key||salt>[|<lifetime>][|<MKI>:<length>]
 *            [<session param> ...]
 *
 * (RFC 4568 section 9.1; the "a=" prefix is optional, "crypto:" is not.)
 * Suites: AES_CM_128_HMAC_SHA1_80 and _32 (RFC 4568 section 6.2),
 * AEAD_AES_128_GCM and AEAD_AES_256_GCM (RFC 7714 section 14.2), each with
 * its key and salt lengths (16+14, 16+14, 16+12, 32+12 bytes). One master key
 * per line: several key-params (';') are refused. Lifetime: decimal or 2^n,
 * 1 to 2^48 packets (RFC 3711 section 9.2). MKI: VALUE:LENGTH, LENGTH 1 to 4
 * bytes (KEYTABLE_MKI_MAX), VALUE fitting LENGTH bytes (RFC 4568 section
 * 6.1; stored big-endian, as on the wire). Session parameters (RFC 4568
 * section 6.3): those the dataplane cannot honour are refused by name (see
 * sdes.c's table); "-" prefixed unknown ones are ignored (section 6.3.8).
 *
 * Pure (no I/O). Errors: 0 or -EINVAL with one line in err that says what is
 * wrong; it never holds key bytes or the text of the line's key.
 */
#ifndef CALLSEAL_SDES_H
#define CALLSEAL_SDES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callseal/keytable.h"

#define SDES_LINE_MAX   256u        /* longest line parsed or formatted, + NUL */
#define SDES_TAG_MAX    999999999u  /* RFC 4568 section 9.1: 1*9DIGIT */
#define SDES_WSH_MIN    64u         /* RFC 4568 section 6.3.7 */
/* The largest WSH accepted: the dataplane's default replay window
 * (callseal-dataplane --replay-window, CSRTP_REPLAY_WINDOW_DEFAULT). A larger
 * hint could not be honoured by a dataplane at its default. */
#define SDES_WSH_MAX    128u

/* One parsed a=crypto line. Holds key bytes: wipe with sdes_wipe(). */
struct sdes_crypto {
	unsigned int tag;             /* 0..SDES_TAG_MAX */
	unsigned int profile;         /* KEYTABLE_PROFILE_* */
	size_t key_len, salt_len;     /* the profile's */
	uint8_t key[KEYTABLE_MASTER_KEY_MAX];
	uint8_t salt[KEYTABLE_MASTER_SALT_MAX];
	uint64_t lifetime;            /* packets; 0 = not given (the maximum) */
	uint8_t mki_len;              /* 0 = no MKI */
	uint8_t mki[KEYTABLE_MKI_MAX];/* big-endian VALUE in mki_len bytes */
	unsigned int wsh;             /* WSH=n, 0 = not given */
};

/* Parse one line (trailing CR/LF and blanks allowed). On error c is wiped. */
int sdes_parse(const char *line, struct sdes_crypto *c, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/* The master key of c, its MKI and lifetime set (keytable_master_set_salt,
 * _set_mki, _set_lifetime). 0 or -EINVAL. Wipe m with keytable_wipe(). */
int sdes_master(const struct sdes_crypto *c, struct keytable_master *m)
	__attribute__((warn_unused_result));
/*
 * m as "a=crypto:<tag> <suite> inline:<base64>[|2^n or N][|VALUE:LENGTH]"
 * (lifetime only when set, MKI only when mki_len > 0) into buf (len bytes,
 * SDES_LINE_MAX is enough). The line holds the key: wipe buf when done.
 * 0, or -EINVAL (unknown profile, bad lengths, tag over SDES_TAG_MAX) or
 * -ENOSPC (buf too short); buf is then "".
 */
int sdes_format(const struct keytable_master *m, unsigned int tag, char *buf, size_t len)
	__attribute__((warn_unused_result));
void sdes_wipe(struct sdes_crypto *c);

#endif /* CALLSEAL_SDES_H */
