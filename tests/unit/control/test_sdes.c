/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_sdes.c - control/commands/sdes.c: SDES a=crypto lines (RFC 4568)
 * parsed (every suite, lifetime and MKI form, the session parameters),
 * refused (each with a message that says what is wrong, never the key, and
 * nothing left behind), turned into a key-table master key, and formatted
 * back into a line that parses to the same key.
 */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "keyspec.h"
#include "sdes.h"

/* RFC 4568 section 4's example key (30 bytes: AES-CM key || salt) */
#define RFC_KEY  "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"
#define RFC_LINE "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY "|2^20|1:4"

static char err[KEYSPEC_ERR_MAX];
static char k28[80], k44[80], kzero[80];  /* base64 of bytes 1..28, 1..44; zero key */
static uint8_t rfc_bin[30];

static int setup(void **state)
{
	uint8_t b[64];
	size_t i, n = 0;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i + 1);
	sodium_bin2base64(k28, sizeof(k28), b, 28, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(k44, sizeof(k44), b, 44, sodium_base64_VARIANT_ORIGINAL);
	memset(b, 0, 16);
	sodium_bin2base64(kzero, sizeof(kzero), b, 30, sodium_base64_VARIANT_ORIGINAL);
	if (sodium_base642bin(rfc_bin, sizeof(rfc_bin), RFC_KEY, strlen(RFC_KEY), NULL, &n,
			      NULL, sodium_base64_VARIANT_ORIGINAL) != 0 || n != 30)
		return -1;
	return 0;
}

static bool all_zero(const void *p, size_t n)
{
	return sodium_is_zero(p, n) == 1;
}

static int parse(struct sdes_crypto *c, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));
static int parse(struct sdes_crypto *c, const char *fmt, ...)
{
	char line[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	err[0] = '\0';
	return sdes_parse(line, c, err, sizeof(err));
}

/* ---- good lines ----------------------------------------------------------- */

static void test_rfc_example(void **state)
{
	struct sdes_crypto c;
	static const uint8_t mki[4] = { 0, 0, 0, 1 };

	(void)state;
	assert_int_equal(parse(&c, "%s", RFC_LINE), 0);
	assert_int_equal(c.tag, 1);
	assert_int_equal(c.profile, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(c.key_len, 16);
	assert_int_equal(c.salt_len, 14);
	assert_memory_equal(c.key, rfc_bin, 16);
	assert_memory_equal(c.salt, rfc_bin + 16, 14);
	assert_int_equal(c.lifetime, UINT64_C(1) << 20);
	assert_int_equal(c.mki_len, 4);
	assert_memory_equal(c.mki, mki, 4);
	assert_int_equal(c.wsh, 0);
	sdes_wipe(&c);
	assert_true(all_zero(&c, sizeof(c)));
}

static void test_good_lines(void **state)
{
	struct sdes_crypto c;

	(void)state;
	/* without "a=", with CR LF, tabs and extra blanks */
	assert_int_equal(parse(&c, "crypto:7 AES_CM_128_HMAC_SHA1_32 inline:%s\r\n", RFC_KEY), 0);
	assert_int_equal(c.tag, 7);
	assert_int_equal(c.profile, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32);
	assert_int_equal(c.lifetime, 0);
	assert_int_equal(c.mki_len, 0);
	assert_int_equal(parse(&c, "a=crypto:2\tAES_CM_128_HMAC_SHA1_80  inline:%s  ", RFC_KEY), 0);
	assert_int_equal(c.tag, 2);
	/* GCM suites (RFC 7714 section 14.2): 16+12 and 32+12 bytes */
	assert_int_equal(parse(&c, "a=crypto:3 AEAD_AES_128_GCM inline:%s", k28), 0);
	assert_int_equal(c.profile, KEYTABLE_PROFILE_AEAD_AES_128_GCM);
	assert_int_equal(c.key_len, 16);
	assert_int_equal(c.salt_len, 12);
	assert_int_equal(c.key[0], 1);
	assert_int_equal(c.salt[0], 17);
	assert_int_equal(parse(&c, "a=crypto:4 AEAD_AES_256_GCM inline:%s|2^31", k44), 0);
	assert_int_equal(c.profile, KEYTABLE_PROFILE_AEAD_AES_256_GCM);
	assert_int_equal(c.key_len, 32);
	assert_int_equal(c.salt[11], 44);
	assert_int_equal(c.lifetime, UINT64_C(1) << 31);
	/* lifetimes: decimal, 2^0, 2^48, the largest decimal */
	assert_int_equal(parse(&c, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s|1000", RFC_KEY), 0);
	assert_int_equal(c.lifetime, 1000);
	assert_int_equal(parse(&c, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^0", RFC_KEY), 0);
	assert_int_equal(c.lifetime, 1);
	assert_int_equal(parse(&c, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^48", RFC_KEY), 0);
	assert_int_equal(c.lifetime, KEYTABLE_LIFETIME_MAX);
	assert_int_equal(parse(&c, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s|281474976710656",
			       RFC_KEY), 0);
	assert_int_equal(c.lifetime, KEYTABLE_LIFETIME_MAX);
	/* MKI alone, of each length, big-endian */
	assert_int_equal(parse(&c, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s|255:1", RFC_KEY), 0);
	assert_int_equal(c.lifetime, 0);
	assert_int_equal(c.mki_len, 1);
	assert_int_equal(c.mki[0], 255);
	assert_int_equal(parse(&c, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s|258:2", RFC_KEY), 0);
	assert_int_equal(c.mki_len, 2);
	assert_int_equal(c.mki[0], 1);
	assert_int_equal(c.mki[1], 2);
	assert_int_equal(parse(&c, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s|2^10|4294967295:4",
			       RFC_KEY), 0);
	assert_int_equal(c.mki_len, 4);
	assert_int_equal(c.mki[0], 0xff);
	assert_int_equal(c.mki[3], 0xff);
	assert_int_equal(c.lifetime, 1024);
	/* tags 0 and the largest; suite names in any case (ABNF) */
	assert_int_equal(parse(&c, "a=crypto:0 aes_cm_128_hmac_sha1_80 inline:%s", RFC_KEY), 0);
	assert_int_equal(c.tag, 0);
	assert_int_equal(parse(&c, "a=crypto:999999999 AES_CM_128_HMAC_SHA1_80 INLINE:%s", RFC_KEY), 0);
	assert_int_equal(c.tag, 999999999u);
	/* session parameters callseal honours, and an optional unknown one */
	assert_int_equal(parse(&c, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s KDR=0 "
			       "FEC_ORDER=FEC_SRTP WSH=64 -X_VENDOR=7", RFC_KEY), 0);
	assert_int_equal(c.wsh, 64);
	assert_int_equal(parse(&c, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s WSH=%u", RFC_KEY,
			       SDES_WSH_MAX), 0);
	assert_int_equal(c.wsh, SDES_WSH_MAX);
	sdes_wipe(&c);
}

/* ---- refusals --------------------------------------------------------------- */

static void test_refused(void **state)
{
	static const char *const kp = "AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY;
	struct sdes_crypto c;
	char longline[400];

	(void)state;
#define BAD(why, ...) do { \
	memset(&c, 0x55, sizeof(c)); \
	assert_int_equal(parse(&c, __VA_ARGS__), -EINVAL); \
	if (strstr(err, why) == NULL) \
		fail_msg("line %d: message '%s' lacks '%s'", __LINE__, err, why); \
	if (strstr(err, RFC_KEY) != NULL || strstr(err, "PS1uQ") != NULL || \
	    strstr(err, "AQID") != NULL) \
		fail_msg("line %d: message '%s' shows the key", __LINE__, err); \
	assert_true(all_zero(&c, sizeof(c))); \
} while (0)
	/* the line's frame */
	BAD("missing", "%s", "");
	BAD("missing", "%s", " \r\n");
	BAD("not an a=crypto line", "a=fingerprint:sha-256 AB:CD");
	BAD("not an a=crypto line", "1 %s", kp);
	BAD("not an a=crypto line", "a=CRYPTO:1 %s", kp);
	BAD("the tag is missing", "a=crypto:");
	BAD("the crypto-suite is missing", "a=crypto:1");
	BAD("the key-params is missing", "a=crypto:1 AES_CM_128_HMAC_SHA1_80");
	memset(longline, 'A', sizeof(longline) - 1);
	longline[sizeof(longline) - 1] = '\0';
	BAD("at most 255", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s", longline);
	BAD("more than 13 session parameters", "a=crypto:1 %s KDR=0 KDR=0 KDR=0 KDR=0 KDR=0 "
	    "KDR=0 KDR=0 KDR=0 KDR=0 KDR=0 KDR=0 KDR=0 KDR=0 KDR=0", kp);
	/* tag */
	BAD("tag: not a decimal", "a=crypto:x %s", kp);
	BAD("tag: not a decimal", "a=crypto:-1 %s", kp);
	BAD("tag: not a decimal", "a=crypto:1234567890 %s", kp);
	/* suites */
	BAD("crypto-suite F8_128_HMAC_SHA1_80 is not supported", "a=crypto:1 F8_128_HMAC_SHA1_80 "
	    "inline:%s", RFC_KEY);
	BAD("crypto-suite AES_256_CM_HMAC_SHA1_80 is not supported", "a=crypto:1 "
	    "AES_256_CM_HMAC_SHA1_80 inline:%s", RFC_KEY);
	BAD("crypto-suite ? is not supported", "a=crypto:1 inline:%s inline:%s", RFC_KEY, RFC_KEY);
	/* key-params */
	BAD("more than one key-params", "a=crypto:1 %s|2^20|1:4;inline:%s|2^20|2:4", kp, RFC_KEY);
	BAD("key method is not inline:", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 uri:%s", RFC_KEY);
	BAD("inline key: decodes to 28 bytes; AES_CM_128_HMAC_SHA1_80 needs 30",
	    "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s", k28);
	BAD("inline key: decodes to 30 bytes; AEAD_AES_128_GCM needs 28",
	    "a=crypto:1 AEAD_AES_128_GCM inline:%s", RFC_KEY);
	BAD("inline key: decodes to 28 bytes; AEAD_AES_256_GCM needs 44",
	    "a=crypto:1 AEAD_AES_256_GCM inline:%s", k28);
	BAD("not valid base64", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s!", RFC_KEY);
	BAD("the key is missing", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:|2^20");
	BAD("all zeros", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:%s", kzero);
	BAD("more than key|lifetime|MKI", "a=crypto:1 %s|2^20|1:4|5", kp);
	BAD("the MKI comes last", "a=crypto:1 %s|1:4|2^20", kp);
	BAD("two lifetimes", "a=crypto:1 %s|2^20|2^21", kp);
	/* lifetimes */
	BAD("lifetime: not 1 to 2^48", "a=crypto:1 %s|0", kp);
	BAD("lifetime: not 1 to 2^48", "a=crypto:1 %s|2^49", kp);
	BAD("lifetime: not 1 to 2^48", "a=crypto:1 %s|281474976710657", kp);
	BAD("lifetime: not 1 to 2^48", "a=crypto:1 %s|2^", kp);
	BAD("lifetime: not 1 to 2^48", "a=crypto:1 %s|3^5", kp);
	BAD("lifetime: not 1 to 2^48", "a=crypto:1 %s|", kp);
	BAD("lifetime: not 1 to 2^48", "a=crypto:1 %s|-5", kp);
	/* MKIs */
	BAD("MKI: length 5 bytes; at most 4", "a=crypto:1 %s|1:5", kp);
	BAD("MKI: length 128 bytes; at most 4", "a=crypto:1 %s|1:128", kp);
	BAD("MKI: not VALUE:LENGTH", "a=crypto:1 %s|1:129", kp);
	BAD("MKI: not VALUE:LENGTH", "a=crypto:1 %s|1:0", kp);
	BAD("MKI: not VALUE:LENGTH", "a=crypto:1 %s|:4", kp);
	BAD("MKI: not VALUE:LENGTH", "a=crypto:1 %s|1:", kp);
	BAD("MKI: not VALUE:LENGTH", "a=crypto:1 %s|0x1:4", kp);
	BAD("MKI: value 256 does not fit in its length of 1 byte", "a=crypto:1 %s|256:1", kp);
	BAD("MKI: value 4294967296 does not fit in its length of 4 bytes",
	    "a=crypto:1 %s|2^20|4294967296:4", kp);
	/* session parameters (RFC 4568 section 6.3) */
	BAD("KDR=1 is refused", "a=crypto:1 %s KDR=1", kp);
	BAD("KDR=24 is refused", "a=crypto:1 %s KDR=24", kp);
	BAD("KDR: not 0 to 24", "a=crypto:1 %s KDR=25", kp);
	BAD("KDR needs =VALUE", "a=crypto:1 %s KDR", kp);
	BAD("KDR needs =VALUE", "a=crypto:1 %s KDR=", kp);
	BAD("UNENCRYPTED_SRTP is refused: the dataplane always encrypts SRTP",
	    "a=crypto:1 %s UNENCRYPTED_SRTP", kp);
	BAD("UNENCRYPTED_SRTCP is refused", "a=crypto:1 %s UNENCRYPTED_SRTCP", kp);
	BAD("UNAUTHENTICATED_SRTP is refused: the dataplane always authenticates",
	    "a=crypto:1 %s WSH=64 UNAUTHENTICATED_SRTP", kp);
	BAD("UNENCRYPTED_SRTP takes no value", "a=crypto:1 %s UNENCRYPTED_SRTP=1", kp);
	BAD("FEC_ORDER=SRTP_FEC is refused", "a=crypto:1 %s FEC_ORDER=SRTP_FEC", kp);
	BAD("FEC_ORDER=? is refused", "a=crypto:1 %s FEC_ORDER=X", kp);
	BAD("FEC_KEY is refused: the dataplane has no FEC", "a=crypto:1 %s FEC_KEY=inline:%s",
	    kp, RFC_KEY);
	BAD("WSH=129 is refused: the dataplane's replay window is 128", "a=crypto:1 %s WSH=129", kp);
	BAD("WSH: not a window of at least 64", "a=crypto:1 %s WSH=63", kp);
	BAD("WSH: not a window of at least 64", "a=crypto:1 %s WSH=abc", kp);
	BAD("session parameter FOO is unknown", "a=crypto:1 %s FOO=1", kp);
	/* an unknown parameter that is a key is not shown */
	BAD("session parameter ? is unknown", "a=crypto:1 %s %s", kp, RFC_KEY);
	/* nor key text that looks like a word: a padded fragment of base64
	 * without '+' or '/', as an unknown parameter or as the suite */
	BAD("session parameter ? is unknown", "a=crypto:1 %s YUJDREVGR0hJSktMTU5PUFFSU1RVVldY=",
	    kp);
	BAD("session parameter ? is unknown", "a=crypto:1 %s aBcD", kp);
	BAD("crypto-suite ? is not supported", "a=crypto:1 PS1uQCVeeCFCanVmcjkpPywjNWhcYD inline:%s",
	    RFC_KEY);
	BAD("inline: given twice", "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:inline:%s", RFC_KEY);
	BAD("two MKIs", "a=crypto:1 %s|1:1|2:1", kp);
#undef BAD
}

/* ---- master keys and formatting ---------------------------------------------- */

static void test_master_and_format(void **state)
{
	struct sdes_crypto c, d;
	struct keytable_master m;
	char line[SDES_LINE_MAX];

	(void)state;
	/* the RFC's line goes to a master key and back, unchanged */
	assert_int_equal(parse(&c, "%s", RFC_LINE), 0);
	assert_int_equal(sdes_master(&c, &m), 0);
	assert_int_equal(m.profile, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(m.key_len, 16);
	assert_int_equal(m.salt_len, 14);
	assert_memory_equal(m.key, rfc_bin, 16);
	assert_memory_equal(m.salt, rfc_bin + 16, 14);
	assert_int_equal(m.mki_len, 4);
	assert_int_equal(m.mki[3], 1);
	assert_int_equal(m.lifetime, 1u << 20);
	assert_int_equal(sdes_format(&m, c.tag, line, sizeof(line)), 0);
	assert_string_equal(line, RFC_LINE);
	/* lifetime and MKI only when set; a lifetime not a power of 2 in decimal */
	assert_int_equal(keytable_master_set_mki(&m, NULL, 0), 0);
	assert_int_equal(keytable_master_set_lifetime(&m, 0), 0);
	assert_int_equal(sdes_format(&m, 12, line, sizeof(line)), 0);
	assert_string_equal(line, "a=crypto:12 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY);
	assert_int_equal(keytable_master_set_lifetime(&m, 1000), 0);
	assert_int_equal(sdes_format(&m, 1, line, sizeof(line)), 0);
	assert_string_equal(line, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY "|1000");
	{
		static const uint8_t mki[2] = { 1, 2 };

		assert_int_equal(keytable_master_set_mki(&m, mki, 2), 0);
		assert_int_equal(keytable_master_set_lifetime(&m, 0), 0);
	}
	assert_int_equal(sdes_format(&m, 1, line, sizeof(line)), 0);
	assert_string_equal(line, "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" RFC_KEY "|258:2");
	/* GCM, with padding, parses back to the same key, MKI and lifetime */
	assert_int_equal(parse(&d, "a=crypto:9 AEAD_AES_256_GCM inline:%s|2^31|7:1", k44), 0);
	assert_int_equal(sdes_master(&d, &m), 0);
	assert_int_equal(sdes_format(&m, d.tag, line, sizeof(line)), 0);
	assert_int_equal(sdes_parse(line, &c, err, sizeof(err)), 0);
	assert_int_equal(c.tag, 9);
	assert_int_equal(c.profile, d.profile);
	assert_memory_equal(c.key, d.key, 32);
	assert_memory_equal(c.salt, d.salt, 12);
	assert_int_equal(c.lifetime, d.lifetime);
	assert_int_equal(c.mki_len, 1);
	assert_int_equal(c.mki[0], 7);
	/* refusals: too short a buffer, a tag too big, a master with no profile */
	memset(line, 'x', sizeof(line));
	assert_int_equal(sdes_format(&m, 1, line, 40), -ENOSPC);
	assert_true(all_zero(line, 40));
	assert_int_equal(sdes_format(&m, SDES_TAG_MAX + 1, line, sizeof(line)), -EINVAL);
	assert_string_equal(line, "");
	keytable_wipe(&m, sizeof(m));
	assert_int_equal(sdes_format(&m, 1, line, sizeof(line)), -EINVAL);
	sdes_wipe(&c);
	sdes_wipe(&d);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_rfc_example),
		cmocka_unit_test(test_good_lines),
		cmocka_unit_test(test_refused),
		cmocka_unit_test(test_master_and_format),
	};

	return cmocka_run_group_tests_name("sdes", tests, setup, NULL);
}
