/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * keys.c - stream keys and master keys: building and checking them, the hash
 * that places a stream key in the table, and the one format for naming a
 * stream in messages (never key bytes).
 */
#include "keytable_internal.h"
#include "errbuf.h"

#include <arpa/inet.h>
#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>

/* ---- stream keys and the hash ---------------------------------------------- */

/* "10.0.0.1:5004/out", "[2001:db8::1]:5004/in", "*:5004/in": no secrets. */
const char *keytable_fmt_key(const struct keytable_key *k, char buf[80])
{
	char a[INET6_ADDRSTRLEN] = "?";
	const char *dir = k->dir == KEYTABLE_DIR_IN ? "in" :
			  k->dir == KEYTABLE_DIR_OUT ? "out" : "dir?";

	if (k->family == KEYTABLE_FAMILY_IPV4) {
		inet_ntop(AF_INET, k->addr, a, sizeof(a));
		snprintf(buf, 80, "%s:%u/%s", a, k->port, dir);
	} else if (k->family == KEYTABLE_FAMILY_IPV6) {
		inet_ntop(AF_INET6, k->addr, a, sizeof(a));
		snprintf(buf, 80, "[%s]:%u/%s", a, k->port, dir);
	} else {
		snprintf(buf, 80, "*:%u/%s", k->port, dir);
	}
	return buf;
}

uint64_t keytable_hash(const struct keytable_key *k)
{
	uint64_t w[3];

	memcpy(w, k, sizeof(w));
	return hash_words(w);
}

int keytable_check_key(const struct keytable_key *k, char *err, size_t errlen)
{
	static const uint8_t zero[KEYTABLE_ADDR_BYTES];
	char kb[80];

	if (k->dir != KEYTABLE_DIR_IN && k->dir != KEYTABLE_DIR_OUT)
		goto bad;
	if (k->port == 0 || k->reserved != 0)
		goto bad;
	switch (k->family) {
	case KEYTABLE_FAMILY_ANY:
		if (memcmp(k->addr, zero, KEYTABLE_ADDR_BYTES) != 0)
			goto bad;
		return 0;
	case KEYTABLE_FAMILY_IPV4:
		if (memcmp(k->addr + 4, zero, KEYTABLE_ADDR_BYTES - 4) != 0)
			goto bad;
		return 0;
	case KEYTABLE_FAMILY_IPV6:
		return 0;
	default:
		break;
	}
bad:
	errbuf_set(err, errlen, "bad stream key %s (family %u): build keys with "
	       "keytable_key_ipv4/ipv6/any, port != 0, direction in or out",
	       keytable_fmt_key(k, kb), k->family);
	return -EINVAL;
}

/* ---- master keys ----------------------------------------------------------- */

/* The profiles' key and salt lengths: one table for the library. */
static const struct {
	unsigned int profile, key_len, salt_len;
} profiles[] = {
	{ KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80, 16, KEYTABLE_MASTER_SALT_CM },
	{ KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32, 16, KEYTABLE_MASTER_SALT_CM },
	{ KEYTABLE_PROFILE_AEAD_AES_128_GCM,        16, KEYTABLE_MASTER_SALT_BYTES },
	{ KEYTABLE_PROFILE_AEAD_AES_256_GCM,        32, KEYTABLE_MASTER_SALT_BYTES },
};

unsigned int keytable_master_key_len(unsigned int profile)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (profiles[i].profile == profile)
			return profiles[i].key_len;
	return 0;
}

unsigned int keytable_master_salt_len(unsigned int profile)
{
	for (size_t i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (profiles[i].profile == profile)
			return profiles[i].salt_len;
	return 0;
}

int keytable_master_set_salt(struct keytable_master *m, unsigned int profile,
			     const uint8_t *key, size_t key_len,
			     const uint8_t *salt, size_t salt_len)
{
	unsigned int want = keytable_master_key_len(profile);

	memset(m, 0, sizeof(*m));
	if (want == 0 || key_len != want || key == NULL || salt == NULL ||
	    salt_len != keytable_master_salt_len(profile))
		return -EINVAL;
	m->profile = (uint16_t)profile;
	m->key_len = (uint8_t)key_len;
	m->salt_len = (uint8_t)salt_len;
	memcpy(m->key, key, key_len);
	memcpy(m->salt, salt, salt_len);
	return 0;
}

int keytable_master_set_mki(struct keytable_master *m, const uint8_t *mki,
			    size_t mki_len)
{
	if (m == NULL || mki_len > KEYTABLE_MKI_MAX || (mki == NULL && mki_len != 0))
		return -EINVAL;
	memset(m->mki, 0, sizeof(m->mki));
	if (mki_len != 0)
		memcpy(m->mki, mki, mki_len);
	m->mki_len = (uint8_t)mki_len;
	return 0;
}

int keytable_master_set_lifetime(struct keytable_master *m, uint64_t packets)
{
	if (m == NULL || packets > KEYTABLE_LIFETIME_MAX)
		return -EINVAL;
	m->lifetime = packets;
	return 0;
}

int keytable_master_set(struct keytable_master *m, unsigned int profile,
			const uint8_t *key, size_t key_len,
			const uint8_t salt[KEYTABLE_MASTER_SALT_BYTES])
{
	return keytable_master_set_salt(m, profile, key, key_len, salt,
					KEYTABLE_MASTER_SALT_BYTES);
}

void keytable_wipe(void *p, size_t len)
{
	explicit_bzero(p, len);
}

/* Copy src into dst normalised (reserved and key bytes past key_len zero). */
int keytable_take_master(struct keytable_master *dst, const struct keytable_master *src,
			 const char *what, char *err, size_t errlen)
{
	unsigned int want = src ? keytable_master_key_len(src->profile) : 0;
	unsigned int salt = src ? keytable_master_salt_len(src->profile) : 0;

	if (src == NULL || want == 0 || src->key_len != want || src->salt_len != salt) {
		errbuf_set(err, errlen, "%s master key: profile 0x%04x with a %u-byte key "
		       "and a %u-byte salt; use AES_CM_128_HMAC_SHA1_80/_32 (0x0001/0x0002, "
		       "16 and 14 bytes), AEAD_AES_128_GCM (0x0007, 16 and 12 bytes) or "
		       "AEAD_AES_256_GCM (0x0008, 32 and 12 bytes)", what,
		       src ? src->profile : 0u, src ? src->key_len : 0u,
		       src ? src->salt_len : 0u);
		return -EINVAL;
	}
	if (src->mki_len > KEYTABLE_MKI_MAX || src->lifetime > KEYTABLE_LIFETIME_MAX) {
		errbuf_set(err, errlen, "%s master key: a %u-byte MKI (at most %u) and a "
		       "lifetime of %" PRIu64 " packets (at most 2^48; 0 = the maximum): "
		       "set them with keytable_master_set_mki/_lifetime", what,
		       src->mki_len, KEYTABLE_MKI_MAX, src->lifetime);
		return -EINVAL;
	}
	memset(dst, 0, sizeof(*dst));
	dst->profile = src->profile;
	dst->key_len = src->key_len;
	dst->salt_len = src->salt_len;
	memcpy(dst->key, src->key, want);
	memcpy(dst->salt, src->salt, salt);
	dst->mki_len = src->mki_len;
	memcpy(dst->mki, src->mki, src->mki_len);
	dst->lifetime = src->lifetime;
	return 0;
}
