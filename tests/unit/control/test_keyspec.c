/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_keyspec.c - control/commands/keyspec.c: every parse path and every refusal of
 * selectors, ports, directions, profiles, modes, inline keys, call ids and
 * whole key commands; formatting; and that no error message ever carries an
 * --inline value.
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

/* base64 of bytes 1..28 (AES-128 key || salt) and 1..44 (AES-256) */
#define K128     "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHA=="
#define K128_NP  "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHA"

static char err[KEYSPEC_ERR_MAX];
static char k256[80];   /* base64 of bytes 1..44, made in setup */
static char k30[80];    /* base64 of bytes 1..30 (AES-CM key || 14-byte salt) */
static char kzero[80];  /* base64 of a 28-byte key whose master key is zero */

static int setup(void **state)
{
	uint8_t b[64];
	size_t i;

	(void)state;
	if (sodium_init() < 0)
		return -1;
	for (i = 0; i < sizeof(b); i++)
		b[i] = (uint8_t)(i + 1);
	sodium_bin2base64(k256, sizeof(k256), b, 44, sodium_base64_VARIANT_ORIGINAL);
	sodium_bin2base64(k30, sizeof(k30), b, 30, sodium_base64_VARIANT_ORIGINAL);
	memset(b, 0, 16);
	sodium_bin2base64(kzero, sizeof(kzero), b, 28, sodium_base64_VARIANT_ORIGINAL);
	return 0;
}

static bool all_zero(const void *p, size_t n)
{
	const uint8_t *b = p;
	size_t i;

	for (i = 0; i < n; i++)
		if (b[i] != 0)
			return false;
	return true;
}

/* ---- numbers, ports, directions ------------------------------------------- */

static void test_uint(void **state)
{
	uint64_t v = 7;

	(void)state;
	assert_int_equal(keyspec_parse_uint("0", 0, 10, &v, "--x", err, sizeof(err)), 0);
	assert_int_equal(v, 0);
	assert_int_equal(keyspec_parse_uint("10", 0, 10, &v, "--x", err, sizeof(err)), 0);
	assert_int_equal(v, 10);
	assert_int_equal(keyspec_parse_uint("0010", 0, 10, &v, "--x", err, sizeof(err)), 0);
	assert_int_equal(keyspec_parse_uint("18446744073709551615", 0, UINT64_MAX, &v, "--x",
					    err, sizeof(err)), 0);
	assert_true(v == UINT64_MAX);
	v = 7;
	assert_int_equal(keyspec_parse_uint("11", 0, 10, &v, "--x", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "out of range"));
	assert_non_null(strstr(err, "--x"));
	assert_int_equal(keyspec_parse_uint("1", 2, 10, &v, "--x", err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_uint("99999999999999999999999", 0, UINT64_MAX, &v,
					    "--x", err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_uint("", 0, 10, &v, "--x", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "missing"));
	assert_int_equal(keyspec_parse_uint(NULL, 0, 10, &v, "--x", err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_uint("-1", 0, 10, &v, "--x", err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not a decimal"));
	assert_int_equal(keyspec_parse_uint("+1", 0, 10, &v, "--x", err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_uint(" 1", 0, 10, &v, "--x", err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_uint("1 ", 0, 10, &v, "--x", err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_uint("0x1", 0, 10, &v, "--x", err, sizeof(err)), -EINVAL);
	assert_int_equal(v, 7);    /* untouched by every refusal */
}

static void test_port(void **state)
{
	uint16_t p = 9;

	(void)state;
	assert_int_equal(keyspec_parse_port("1", &p, err, sizeof(err)), 0);
	assert_int_equal(p, 1);
	assert_int_equal(keyspec_parse_port("65535", &p, err, sizeof(err)), 0);
	assert_int_equal(p, 65535);
	assert_int_equal(keyspec_parse_port("0", &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_port("65536", &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_port("", &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_port("50a", &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_port("-5", &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(p, 65535);
}

static void test_direction(void **state)
{
	unsigned int d = 0;

	(void)state;
	assert_int_equal(keyspec_parse_direction("in", &d, err, sizeof(err)), 0);
	assert_int_equal(d, KEYTABLE_DIR_IN);
	assert_int_equal(keyspec_parse_direction("out", &d, err, sizeof(err)), 0);
	assert_int_equal(d, KEYTABLE_DIR_OUT);
	assert_int_equal(keyspec_parse_direction("IN", &d, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--direction"));
	assert_int_equal(keyspec_parse_direction("inbound", &d, err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_direction("", &d, err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_direction(NULL, &d, err, sizeof(err)), -EINVAL);
	assert_string_equal(keyspec_direction_name(KEYTABLE_DIR_IN), "in");
	assert_string_equal(keyspec_direction_name(KEYTABLE_DIR_OUT), "out");
	assert_string_equal(keyspec_direction_name(9), "?");
}

/* ---- addresses ------------------------------------------------------------- */

static void test_local_ok(void **state)
{
	static const uint8_t v4[4] = { 192, 0, 2, 1 };
	static const uint8_t v6[16] = { 0x20, 0x01, 0x0d, 0xb8, 0, 0, 0, 0,
					0, 0, 0, 0, 0, 0, 0, 1 };
	struct keytable_key k, want;
	char b[KEYSPEC_KEY_STR];

	(void)state;
	assert_int_equal(keyspec_parse_local("192.0.2.1:5004", KEYTABLE_DIR_OUT, &k, err,
					     sizeof(err)), 0);
	keytable_key_ipv4(&want, v4, 5004, KEYTABLE_DIR_OUT);
	assert_memory_equal(&k, &want, sizeof(k));
	assert_string_equal(keyspec_format_key(&k, b), "192.0.2.1:5004/out");

	assert_int_equal(keyspec_parse_local("[2001:db8::1]:5004", KEYTABLE_DIR_IN, &k, err,
					     sizeof(err)), 0);
	keytable_key_ipv6(&want, v6, 5004, KEYTABLE_DIR_IN);
	assert_memory_equal(&k, &want, sizeof(k));
	assert_string_equal(keyspec_format_key(&k, b), "[2001:db8::1]:5004/in");

	assert_int_equal(keyspec_parse_local("[2001:DB8:0:0::1]:1", KEYTABLE_DIR_IN, &k, err,
					     sizeof(err)), 0);
	keytable_key_ipv6(&want, v6, 1, KEYTABLE_DIR_IN);
	assert_memory_equal(&k, &want, sizeof(k));

	assert_int_equal(keyspec_parse_local("*:65535", KEYTABLE_DIR_IN, &k, err,
					     sizeof(err)), 0);
	keytable_key_any(&want, 65535, KEYTABLE_DIR_IN);
	assert_memory_equal(&k, &want, sizeof(k));
	assert_string_equal(keyspec_format_key(&k, b), "*:65535/in");

	assert_int_equal(keyspec_parse_selector("10.0.0.1:40000", "in", &k, err,
						sizeof(err)), 0);
	assert_int_equal(k.family, KEYTABLE_FAMILY_IPV4);
	assert_int_equal(k.dir, KEYTABLE_DIR_IN);
	assert_int_equal(k.port, 40000);
}

static void test_local_refused(void **state)
{
	static const struct {
		const char *s, *why;
	} bad[] = {
		{ "", "missing" },
		{ "192.0.2.1", "no :PORT" },
		{ "192.0.2.1:", "port" },
		{ "192.0.2.1:0", "out of range" },
		{ "192.0.2.1:65536", "out of range" },
		{ "192.0.2.1:50x", "not a decimal" },
		{ ":5004", "no valid address" },
		{ "256.0.0.1:5004", "not an IPv4" },
		{ "1.2.3:5004", "not an IPv4" },
		{ "host.example:5004", "not an IPv4" },
		{ "0.0.0.0:5004", "unspecified" },
		{ "2001:db8::1:5004", "brackets" },
		{ "[2001:db8::1]5004", "[IPv6]:PORT" },
		{ "[2001:db8::1:5004", "[IPv6]:PORT" },
		{ "[]:5004", "no valid IPv6" },
		{ "[2001:db8::g]:5004", "not an IPv6" },
		{ "[192.0.2.1]:5004", "not an IPv6" },
		{ "[fe80::1%eth0]:5004", "zone" },
		{ "[::]:5004", "unspecified" },
		{ "[::ffff:192.0.2.1]:5004", "IPv4-mapped" },
		{ "[2001:db8::1]:0", "out of range" },
		{ "*:", "port" },
		{ "*", "no :PORT" },
		{ "**:5004", "not an IPv4" },
		{ "[aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa:aaaa]:5004", "" },
		{ "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa:5", "" },
	};
	struct keytable_key k;
	size_t i;

	(void)state;
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(&k, 0xa5, sizeof(k));
		err[0] = '\0';
		if (keyspec_parse_local(bad[i].s, KEYTABLE_DIR_IN, &k, err, sizeof(err)) != -EINVAL)
			fail_msg("accepted '%s'", bad[i].s);
		if (strstr(err, bad[i].why) == NULL || strncmp(err, "--local", 7) != 0)
			fail_msg("'%s': message '%s' lacks '%s'", bad[i].s, err, bad[i].why);
		assert_true(all_zero(&k, sizeof(k)));
	}
	assert_int_equal(keyspec_parse_local(NULL, KEYTABLE_DIR_IN, &k, err, sizeof(err)),
			 -EINVAL);
	/* a bad direction number */
	assert_int_equal(keyspec_parse_local("192.0.2.1:5", 3, &k, err, sizeof(err)), -EINVAL);
	assert_true(all_zero(&k, sizeof(k)));
	/* selector: direction checked first */
	assert_int_equal(keyspec_parse_selector("192.0.2.1:5", "up", &k, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "--direction"));
	assert_int_equal(keyspec_parse_selector("192.0.2.1", "in", &k, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "--local"));
}

/* ---- profiles, modes ------------------------------------------------------- */

static void test_profile_mode(void **state)
{
	unsigned int p = 0, m = 0;

	(void)state;
	assert_int_equal(keyspec_parse_profile("AEAD_AES_128_GCM", &p, err, sizeof(err)), 0);
	assert_int_equal(p, KEYTABLE_PROFILE_AEAD_AES_128_GCM);
	assert_int_equal(keyspec_parse_profile("aead_aes_256_gcm", &p, err, sizeof(err)), 0);
	assert_int_equal(p, KEYTABLE_PROFILE_AEAD_AES_256_GCM);
	assert_int_equal(keyspec_parse_profile("AES_CM_128_HMAC_SHA1_80", &p, err,
					       sizeof(err)), 0);
	assert_int_equal(p, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(keyspec_parse_profile("aes_cm_128_hmac_sha1_32", &p, err,
					       sizeof(err)), 0);
	assert_int_equal(p, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32);
	assert_int_equal(keyspec_parse_profile("AES_CM_128_HMAC_SHA1_64", &p, err,
					       sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "not supported"));
	assert_non_null(strstr(err, "AES_CM_128_HMAC_SHA1_32"));
	assert_int_equal(keyspec_parse_profile("AEAD_AES_192_GCM", &p, err, sizeof(err)),
			 -EINVAL);
	assert_int_equal(keyspec_parse_profile("", &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_profile(NULL, &p, err, sizeof(err)), -EINVAL);
	assert_int_equal(p, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32);
	assert_string_equal(keyspec_profile_name(KEYTABLE_PROFILE_AEAD_AES_128_GCM),
			    "AEAD_AES_128_GCM");
	assert_string_equal(keyspec_profile_name(KEYTABLE_PROFILE_AEAD_AES_256_GCM),
			    "AEAD_AES_256_GCM");
	assert_string_equal(keyspec_profile_name(1), "AES_CM_128_HMAC_SHA1_80");
	assert_string_equal(keyspec_profile_name(2), "AES_CM_128_HMAC_SHA1_32");
	assert_string_equal(keyspec_profile_name(3), "?");
	assert_int_equal(keyspec_profile_inline_len(KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80), 30);
	assert_int_equal(keyspec_profile_inline_len(KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32), 30);
	assert_int_equal(keyspec_profile_inline_len(KEYTABLE_PROFILE_AEAD_AES_128_GCM), 28);
	assert_int_equal(keyspec_profile_inline_len(KEYTABLE_PROFILE_AEAD_AES_256_GCM), 44);
	assert_int_equal(keyspec_profile_inline_len(0), 0);

	assert_int_equal(keyspec_parse_mode("e2ee", &m, err, sizeof(err)), 0);
	assert_int_equal(m, KEYTABLE_MODE_E2EE);
	assert_int_equal(keyspec_parse_mode("standard", &m, err, sizeof(err)), 0);
	assert_int_equal(m, KEYTABLE_MODE_STANDARD);
	assert_int_equal(keyspec_parse_mode("E2EE", &m, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "--mode"));
	assert_int_equal(keyspec_parse_mode("", &m, err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_mode(NULL, &m, err, sizeof(err)), -EINVAL);
	assert_string_equal(keyspec_mode_name(KEYTABLE_MODE_E2EE), "e2ee");
	assert_string_equal(keyspec_mode_name(KEYTABLE_MODE_STANDARD), "standard");
	assert_string_equal(keyspec_mode_name(0), "?");
}

/* ---- inline keys ------------------------------------------------------------ */

static void test_inline_ok(void **state)
{
	uint8_t out[KEYSPEC_INLINE_MAX], want[KEYSPEC_INLINE_MAX];
	unsigned int found = 0;
	size_t len = 0, i;

	(void)state;
	for (i = 0; i < sizeof(want); i++)
		want[i] = (uint8_t)(i + 1);
	assert_int_equal(keyspec_parse_inline(K128, KEYTABLE_PROFILE_AEAD_AES_128_GCM, out,
					      &len, &found, err, sizeof(err)), 0);
	assert_int_equal(len, 28);
	assert_int_equal(found, KEYTABLE_PROFILE_AEAD_AES_128_GCM);
	assert_memory_equal(out, want, 28);
	/* without padding, with the SDP "inline:" prefix */
	assert_int_equal(keyspec_parse_inline(K128_NP, 0, out, &len, &found, err,
					      sizeof(err)), 0);
	assert_int_equal(len, 28);
	assert_int_equal(found, KEYTABLE_PROFILE_AEAD_AES_128_GCM);
	assert_int_equal(keyspec_parse_inline("inline:" K128, 0, out, &len, NULL, err,
					      sizeof(err)), 0);
	assert_memory_equal(out, want, 28);
	/* 44 bytes: AES-256 */
	assert_int_equal(keyspec_parse_inline(k256, 0, out, &len, &found, err, sizeof(err)), 0);
	assert_int_equal(len, 44);
	assert_int_equal(found, KEYTABLE_PROFILE_AEAD_AES_256_GCM);
	assert_memory_equal(out, want, 44);
	assert_int_equal(keyspec_parse_inline(k256, KEYTABLE_PROFILE_AEAD_AES_256_GCM, out,
					      &len, &found, err, sizeof(err)), 0);
	/* 30 bytes: AES-CM, 16-byte key || 14-byte salt (RFC 4568 inline) */
	assert_int_equal(keyspec_parse_inline(k30, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32, out,
					      &len, &found, err, sizeof(err)), 0);
	assert_int_equal(len, 30);
	assert_int_equal(found, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32);
	assert_memory_equal(out, want, 30);
	assert_int_equal(keyspec_parse_inline(k30, 0, out, &len, &found, err, sizeof(err)), 0);
	assert_int_equal(found, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80);
	sodium_memzero(out, sizeof(out));
}

static void test_inline_refused(void **state)
{
	char longkey[KEYSPEC_B64_MAX + 8];
	const struct {
		const char *s;
		unsigned int profile;
		const char *why;
	} bad[] = {
		{ "", 0, "missing" },
		{ "inline:", 0, "characters" },
		{ K128 "|2^20|1:4", 0, "lifetime and MKI" },
		{ "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRob HA==", 0, "not valid base64" },
		{ "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHA==\n", 0, "not valid base64" },
		{ "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHA=", 0, "not valid base64" },
		{ "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRobHA=A", 0, "not valid base64" },
		{ "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo*HA==", 0, "not valid base64" },
		{ "AQIDBAUGBwgJCgsMDQ4PEBESExQVFhcYGRo_HA==", 0, "not valid base64" },
		{ K128, KEYTABLE_PROFILE_AEAD_AES_256_GCM, "AEAD_AES_256_GCM needs 44" },
		{ k256, KEYTABLE_PROFILE_AEAD_AES_128_GCM, "AEAD_AES_128_GCM needs 28" },
		{ K128, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80,
		  "AES_CM_128_HMAC_SHA1_80 needs 30 (16-byte master key + 14-byte master salt)" },
		{ k256, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32, "AES_CM_128_HMAC_SHA1_32 needs 30" },
		{ k30, KEYTABLE_PROFILE_AEAD_AES_128_GCM, "decodes to 30 bytes" },
		{ "AAAA", 0, "decodes to 3 bytes" },
		{ kzero, 0, "all zeros" },
		{ K128, 5, "unknown profile" },
		{ longkey, 0, "characters" },
	};
	uint8_t out[KEYSPEC_INLINE_MAX];
	size_t len, i;

	(void)state;
	memset(longkey, 'A', sizeof(longkey) - 1);
	longkey[sizeof(longkey) - 1] = '\0';
	for (i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		memset(out, 0x5a, sizeof(out));
		len = 99;
		err[0] = '\0';
		if (keyspec_parse_inline(bad[i].s, bad[i].profile, out, &len, NULL, err,
					 sizeof(err)) != -EINVAL)
			fail_msg("accepted case %zu", i);
		if (strstr(err, bad[i].why) == NULL)
			fail_msg("case %zu: message '%s' lacks '%s'", i, err, bad[i].why);
		/* the message names the option and never carries the key text */
		assert_true(strncmp(err, "--inline", 8) == 0 || strncmp(err, "--profile", 9) == 0);
		if (strlen(bad[i].s) > 8)
			assert_null(strstr(err, bad[i].s));
		assert_null(strstr(err, "AQID"));
		assert_int_equal(len, 0);
		assert_true(all_zero(out, sizeof(out)));
	}
	assert_int_equal(keyspec_parse_inline(NULL, 0, out, &len, NULL, err, sizeof(err)),
			 -EINVAL);
}

/* ---- call ids, formatting ---------------------------------------------------- */

static void test_call_id(void **state)
{
	uint8_t id[KEYTABLE_CALL_ID_BYTES];
	char b[KEYSPEC_CALL_ID_STR];

	(void)state;
	assert_int_equal(keyspec_parse_call_id("c42", id, err, sizeof(err)), 0);
	assert_memory_equal(id, "c42\0\0\0\0\0\0\0\0\0\0\0\0\0", 16);
	assert_string_equal(keyspec_format_call_id(id, b), "c42");
	assert_int_equal(keyspec_parse_call_id("A-Z.a_z:0@9+xxxx", id, err, sizeof(err)), 0);
	assert_string_equal(keyspec_format_call_id(id, b), "A-Z.a_z:0@9+xxxx");
	assert_int_equal(keyspec_parse_call_id("0123456789abcdefg", id, err, sizeof(err)),
			 -EINVAL);
	assert_non_null(strstr(err, "17 characters"));
	assert_int_equal(keyspec_parse_call_id("", id, err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_call_id(NULL, id, err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_call_id("a b", id, err, sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "character 2"));
	assert_int_equal(keyspec_parse_call_id("a\"b", id, err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_call_id("a\\b", id, err, sizeof(err)), -EINVAL);
	assert_int_equal(keyspec_parse_call_id("caf\xc3\xa9", id, err, sizeof(err)), -EINVAL);
	assert_true(all_zero(id, sizeof(id)));
	/* bytes from a table that are outside the alphabet print as '?' */
	memcpy(id, "ab\"\n\xff" "cdefghijklm", 16);
	assert_string_equal(keyspec_format_call_id(id, b), "ab???cdefghijklm");
	memset(id, 0, sizeof(id));
	assert_string_equal(keyspec_format_call_id(id, b), "");
}

static void test_format(void **state)
{
	static const uint8_t v6[16] = { 0xfe, 0x80, [15] = 0x22 };
	struct keytable_key k;
	char l[KEYSPEC_LOCAL_STR], t[KEYSPEC_TIME_STR];

	(void)state;
	keytable_key_ipv6(&k, v6, 7, KEYTABLE_DIR_OUT);
	assert_string_equal(keyspec_format_local(&k, l), "[fe80::22]:7");
	keytable_key_any(&k, 9, KEYTABLE_DIR_OUT);
	assert_string_equal(keyspec_format_local(&k, l), "*:9");
	k.family = 77;
	assert_string_equal(keyspec_format_local(&k, l), "?:9");
	assert_string_equal(keyspec_format_time(0, t), "1970-01-01T00:00:00.000Z");
	assert_string_equal(keyspec_format_time(UINT64_C(1700000000123456789), t),
			    "2023-11-14T22:13:20.123Z");
}

/* ---- whole commands ------------------------------------------------------------ */

#define PARSE(op, ...) ({ \
	const char *const a_[] = { __VA_ARGS__ }; \
	keyspec_parse_cmd(op, (int)(sizeof(a_) / sizeof(a_[0])), a_, &cmd, err, sizeof(err)); })

static void test_cmd_add(void **state)
{
	struct keyspec_cmd cmd;
	struct keytable_master m;
	size_t i;

	(void)state;
	assert_int_equal(PARSE(KEYSPEC_OP_ADD, "--local", "192.0.2.1:5004", "--direction",
			       "out", "--profile", "AEAD_AES_128_GCM", "--inline", K128), 0);
	assert_int_equal(cmd.op, KEYSPEC_OP_ADD);
	assert_int_equal(cmd.key.family, KEYTABLE_FAMILY_IPV4);
	assert_int_equal(cmd.key.dir, KEYTABLE_DIR_OUT);
	assert_int_equal(cmd.profile, KEYTABLE_PROFILE_AEAD_AES_128_GCM);
	assert_int_equal(cmd.mode, KEYTABLE_MODE_STANDARD);   /* the default */
	assert_false(cmd.has_call_id);
	assert_false(cmd.has_from_index);
	assert_int_equal(cmd.secret_len, 28);
	assert_int_equal(keyspec_cmd_master(&cmd, cmd.profile, &m, err, sizeof(err)), 0);
	assert_int_equal(m.profile, KEYTABLE_PROFILE_AEAD_AES_128_GCM);
	assert_int_equal(m.key_len, 16);
	for (i = 0; i < 16; i++)
		assert_int_equal(m.key[i], i + 1);
	for (i = 0; i < 12; i++)
		assert_int_equal(m.salt[i], i + 17);
	assert_true(all_zero(m.key + 16, 16));
	/* the same key cannot make an AES-256 master */
	assert_int_equal(keyspec_cmd_master(&cmd, KEYTABLE_PROFILE_AEAD_AES_256_GCM, &m, err,
					    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "needs 44"));
	assert_true(all_zero(&m, sizeof(m)));
	assert_int_equal(keyspec_cmd_master(&cmd, 0, &m, err, sizeof(err)), -EINVAL);
	keyspec_cmd_wipe(&cmd);
	assert_true(all_zero(&cmd, sizeof(cmd)));

	/* AES-CM: 30 bytes split 16 (key) || 14 (salt) */
	assert_int_equal(PARSE(KEYSPEC_OP_ADD, "--local", "192.0.2.1:5004", "--direction",
			       "out", "--profile", "AES_CM_128_HMAC_SHA1_32", "--inline", k30), 0);
	assert_int_equal(cmd.profile, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32);
	assert_int_equal(cmd.secret_len, 30);
	assert_int_equal(keyspec_cmd_master(&cmd, cmd.profile, &m, err, sizeof(err)), 0);
	assert_int_equal(m.profile, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32);
	assert_int_equal(m.key_len, 16);
	assert_int_equal(m.salt_len, 14);
	for (i = 0; i < 16; i++)
		assert_int_equal(m.key[i], i + 1);
	for (i = 0; i < 14; i++)
		assert_int_equal(m.salt[i], i + 17);
	assert_int_equal(keyspec_cmd_master(&cmd, KEYTABLE_PROFILE_AEAD_AES_128_GCM, &m, err,
					    sizeof(err)), -EINVAL);
	assert_non_null(strstr(err, "needs 28"));
	keytable_wipe(&m, sizeof(m));
	keyspec_cmd_wipe(&cmd);

	/* every option, "--name=value" forms, any order */
	assert_int_equal(PARSE(KEYSPEC_OP_ADD, "--call-id=c-9", "--mode", "e2ee",
			       "--inline=inline:" K128_NP, "--profile=aead_aes_128_gcm",
			       "--direction=in", "--local=*:6000"), 0);
	assert_int_equal(cmd.mode, KEYTABLE_MODE_E2EE);
	assert_true(cmd.has_call_id);
	assert_memory_equal(cmd.call_id, "c-9", 4);
	assert_int_equal(cmd.key.family, KEYTABLE_FAMILY_ANY);
	assert_int_equal(cmd.key.port, 6000);
	keyspec_cmd_wipe(&cmd);

	assert_int_equal(PARSE(KEYSPEC_OP_ADD, "--local", "[2001:db8::1]:5004", "--direction",
			       "in", "--profile", "AEAD_AES_256_GCM", "--inline", k256), 0);
	assert_int_equal(cmd.secret_len, 44);
	assert_int_equal(keyspec_cmd_master(&cmd, cmd.profile, &m, err, sizeof(err)), 0);
	assert_int_equal(m.key_len, 32);
	keytable_wipe(&m, sizeof(m));
	keyspec_cmd_wipe(&cmd);
}

static void test_cmd_refused(void **state)
{
	struct keyspec_cmd cmd;
	const char *secret = K128;

	(void)state;
#define REFUSE(why, op, ...) do { \
	err[0] = '\0'; \
	memset(&cmd, 0x77, sizeof(cmd)); \
	assert_int_equal(PARSE(op, __VA_ARGS__), -EINVAL); \
	if (strstr(err, why) == NULL) \
		fail_msg("line %d: message '%s' lacks '%s'", __LINE__, err, why); \
	assert_null(strstr(err, secret)); \
	assert_null(strstr(err, "AQID")); \
	assert_true(all_zero(&cmd, sizeof(cmd))); \
} while (0)
	/* required options */
	REFUSE("--local is required", KEYSPEC_OP_ADD, "--direction", "in", "--profile",
	       "AEAD_AES_128_GCM", "--inline", K128);
	REFUSE("--direction is required", KEYSPEC_OP_ADD, "--local", "*:5", "--profile",
	       "AEAD_AES_128_GCM", "--inline", K128);
	REFUSE("--profile is required", KEYSPEC_OP_ADD, "--local", "*:5", "--direction", "in",
	       "--inline", K128);
	REFUSE("--inline is required", KEYSPEC_OP_ADD, "--local", "*:5", "--direction", "in",
	       "--profile", "AEAD_AES_128_GCM");
	REFUSE("--inline is required", KEYSPEC_OP_REKEY, "--local", "*:5", "--direction", "in");
	REFUSE("--local is required", KEYSPEC_OP_DEL, "--direction", "in");
	REFUSE("--direction is required", KEYSPEC_OP_DEL, "--local", "*:5");
	/* options: unknown, not this command's, twice, values */
	REFUSE("unknown option --inlin", KEYSPEC_OP_ADD, "--local", "*:5", "--direction", "in",
	       "--profile", "AEAD_AES_128_GCM", "--inlin", K128);
	REFUSE("does not take the option --from-index", KEYSPEC_OP_ADD, "--local", "*:5",
	       "--direction", "in", "--profile", "AEAD_AES_128_GCM", "--inline", K128,
	       "--from-index", "5");
	REFUSE("does not take the option --mode", KEYSPEC_OP_REKEY, "--local", "*:5",
	       "--direction", "in", "--inline", K128, "--mode", "e2ee");
	REFUSE("does not take the option --json", KEYSPEC_OP_DEL, "--local", "*:5",
	       "--direction", "in", "--json");
	REFUSE("does not take the option --local", KEYSPEC_OP_LIST, "--local", "*:5");
	REFUSE("--local given twice", KEYSPEC_OP_DEL, "--local", "*:5", "--direction", "in",
	       "--local", "*:6");
	REFUSE("--json takes no value", KEYSPEC_OP_LIST, "--json=yes");
	REFUSE("--json given twice", KEYSPEC_OP_LIST, "--json", "--json");
	REFUSE("--direction needs a value", KEYSPEC_OP_DEL, "--local", "*:5", "--direction");
	REFUSE("--direction needs a value", KEYSPEC_OP_DEL, "--local", "*:5", "--direction=");
	REFUSE("--local needs a value", KEYSPEC_OP_DEL, "--local", "", "--direction", "in");
	/* a stray word is never echoed: it may be a key */
	REFUSE("unexpected argument 7", KEYSPEC_OP_ADD, "--local", "*:5", "--direction", "in",
	       "--profile", "AEAD_AES_128_GCM", K128);
	REFUSE("unexpected argument 3", KEYSPEC_OP_DEL, "--local", "*:5", K128);
	REFUSE("unexpected argument 1", KEYSPEC_OP_LIST, "-j");
	REFUSE("unexpected argument 1", KEYSPEC_OP_LIST, "--");
	/* values */
	REFUSE("--local", KEYSPEC_OP_ADD, "--local", "192.0.2.1", "--direction", "in",
	       "--profile", "AEAD_AES_128_GCM", "--inline", K128);
	REFUSE("--direction", KEYSPEC_OP_ADD, "--local", "192.0.2.1:5", "--direction", "both",
	       "--profile", "AEAD_AES_128_GCM", "--inline", K128);
	REFUSE("--profile", KEYSPEC_OP_ADD, "--local", "192.0.2.1:5", "--direction", "in",
	       "--profile", "AES_CM_128_HMAC_SHA1_64", "--inline", K128);
	REFUSE("AES_CM_128_HMAC_SHA1_80 needs 30", KEYSPEC_OP_ADD, "--local", "192.0.2.1:5",
	       "--direction", "in", "--profile", "AES_CM_128_HMAC_SHA1_80", "--inline", K128);
	REFUSE("--mode", KEYSPEC_OP_ADD, "--local", "192.0.2.1:5", "--direction", "in",
	       "--profile", "AEAD_AES_128_GCM", "--inline", K128, "--mode", "none");
	REFUSE("--call-id", KEYSPEC_OP_ADD, "--local", "192.0.2.1:5", "--direction", "in",
	       "--profile", "AEAD_AES_128_GCM", "--inline", K128, "--call-id", "x y");
	REFUSE("AEAD_AES_256_GCM needs 44", KEYSPEC_OP_ADD, "--local", "192.0.2.1:5",
	       "--direction", "in", "--profile", "AEAD_AES_256_GCM", "--inline", K128);
	REFUSE("not valid base64", KEYSPEC_OP_ADD, "--local", "192.0.2.1:5", "--direction",
	       "in", "--profile", "AEAD_AES_128_GCM", "--inline", "-");
	REFUSE("--from-index", KEYSPEC_OP_REKEY, "--local", "192.0.2.1:5", "--direction",
	       "in", "--inline", K128, "--from-index", "281474976710656");
	REFUSE("--from-index", KEYSPEC_OP_REKEY, "--local", "192.0.2.1:5", "--direction",
	       "in", "--inline", K128, "--from-index", "-1");
	REFUSE("unknown key command", 0, "--json");
	REFUSE("unknown key command", 9, "--json");
}

static void test_cmd_rekey_del_list(void **state)
{
	struct keyspec_cmd cmd;

	(void)state;
	/* rekey without --profile: the daemon takes the stream's */
	assert_int_equal(PARSE(KEYSPEC_OP_REKEY, "--local", "*:5", "--direction", "out",
			       "--inline", k256), 0);
	assert_int_equal(cmd.profile, 0);
	assert_int_equal(cmd.secret_len, 44);
	assert_false(cmd.has_from_index);
	keyspec_cmd_wipe(&cmd);
	assert_int_equal(PARSE(KEYSPEC_OP_REKEY, "--local", "*:5", "--direction", "out",
			       "--inline", K128, "--profile", "AEAD_AES_128_GCM",
			       "--from-index", "281474976710655"), 0);
	assert_true(cmd.has_from_index);
	assert_true(cmd.from_index == KEYTABLE_INDEX_MAX);
	assert_int_equal(cmd.profile, KEYTABLE_PROFILE_AEAD_AES_128_GCM);
	keyspec_cmd_wipe(&cmd);
	assert_int_equal(PARSE(KEYSPEC_OP_REKEY, "--local", "*:5", "--direction", "out",
			       "--inline", K128, "--from-index", "0"), 0);
	assert_true(cmd.has_from_index);
	assert_true(cmd.from_index == 0);
	keyspec_cmd_wipe(&cmd);

	assert_int_equal(PARSE(KEYSPEC_OP_DEL, "--local", "[2001:db8::7]:9", "--direction",
			       "in"), 0);
	assert_int_equal(cmd.key.family, KEYTABLE_FAMILY_IPV6);
	assert_int_equal(cmd.secret_len, 0);
	keyspec_cmd_wipe(&cmd);

	assert_int_equal(keyspec_parse_cmd(KEYSPEC_OP_LIST, 0, NULL, &cmd, err, sizeof(err)), 0);
	assert_false(cmd.json);
	assert_int_equal(PARSE(KEYSPEC_OP_LIST, "--json"), 0);
	assert_true(cmd.json);
	keyspec_cmd_wipe(&cmd);
}

/* --sdes (an RFC 4568 a=crypto line) instead of --profile/--inline, and
 * --print-sdes: the key as such a line. */
#define SDES_KEY  "PS1uQCVeeCFCanVmcjkpPywjNWhcYD0mXXtxaVBR"   /* RFC 4568 section 4 */
#define SDES_LINE "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" SDES_KEY "|2^20|1:4"

static void test_cmd_sdes(void **state)
{
	struct keyspec_cmd cmd;
	struct keytable_master m;
	char line[SDES_LINE_MAX];

	(void)state;
	assert_int_equal(PARSE(KEYSPEC_OP_ADD, "--local", "192.0.2.1:5004", "--direction", "in",
			       "--sdes", SDES_LINE, "--print-sdes"), 0);
	assert_true(cmd.has_sdes);
	assert_true(cmd.print_sdes);
	assert_int_equal(cmd.sdes_tag, 1);
	assert_int_equal(cmd.profile, KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80);
	assert_int_equal(cmd.secret_len, 30);
	assert_int_equal(cmd.mki_len, 4);
	assert_int_equal(cmd.mki[3], 1);
	assert_int_equal(cmd.lifetime, 1u << 20);
	assert_int_equal(cmd.mode, KEYTABLE_MODE_STANDARD);
	assert_int_equal(keyspec_cmd_master(&cmd, cmd.profile, &m, err, sizeof(err)), 0);
	assert_int_equal(m.salt_len, 14);
	assert_int_equal(m.mki_len, 4);
	assert_int_equal(m.mki[3], 1);
	assert_int_equal(m.lifetime, 1u << 20);
	assert_int_equal(keyspec_cmd_sdes(&cmd, line, sizeof(line), err, sizeof(err)), 0);
	assert_string_equal(line, SDES_LINE);
	keytable_wipe(&m, sizeof(m));
	/* rekey: from an index, another tag, no prefix; the "=" form */
	assert_int_equal(PARSE(KEYSPEC_OP_REKEY, "--local", "*:5004", "--direction", "out",
			       "--sdes=crypto:5 AEAD_AES_128_GCM inline:" K128 "|1000",
			       "--from-index", "65536"), 0);
	assert_int_equal(cmd.profile, KEYTABLE_PROFILE_AEAD_AES_128_GCM);
	assert_int_equal(cmd.sdes_tag, 5);
	assert_int_equal(cmd.lifetime, 1000);
	assert_int_equal(cmd.mki_len, 0);
	assert_true(cmd.has_from_index);
	assert_int_equal(keyspec_cmd_sdes(&cmd, line, sizeof(line), err, sizeof(err)), 0);
	assert_string_equal(line, "a=crypto:5 AEAD_AES_128_GCM inline:" K128 "|1000");
	/* --print-sdes with --inline: tag 1, no lifetime or MKI */
	assert_int_equal(PARSE(KEYSPEC_OP_ADD, "--local", "*:5004", "--direction", "out",
			       "--profile", "AEAD_AES_128_GCM", "--inline", K128, "--print-sdes"), 0);
	assert_int_equal(cmd.mki_len, 0);
	assert_int_equal(cmd.lifetime, 0);
	assert_int_equal(keyspec_cmd_sdes(&cmd, line, sizeof(line), err, sizeof(err)), 0);
	assert_string_equal(line, "a=crypto:1 AEAD_AES_128_GCM inline:" K128);
	assert_int_equal(keyspec_cmd_master(&cmd, cmd.profile, &m, err, sizeof(err)), 0);
	assert_int_equal(m.mki_len, 0);
	assert_int_equal(m.lifetime, 0);
	keytable_wipe(&m, sizeof(m));
	sodium_memzero(line, sizeof(line));
	keyspec_cmd_wipe(&cmd);

	/* refusals: nothing kept, no key text in the message */
	{
		const char *secret = SDES_KEY;

		REFUSE("--sdes carries the suite and the key", KEYSPEC_OP_ADD, "--local", "*:5",
		       "--direction", "in", "--profile", "AES_CM_128_HMAC_SHA1_80", "--sdes",
		       SDES_LINE);
		REFUSE("not with them", KEYSPEC_OP_REKEY, "--local", "*:5", "--direction", "in",
		       "--inline", K128, "--sdes", SDES_LINE);
		REFUSE("key add: --profile is required (or --sdes)", KEYSPEC_OP_ADD, "--local",
		       "*:5", "--direction", "in", "--inline", K128);
		REFUSE("key add: --inline is required (or --sdes)", KEYSPEC_OP_ADD, "--local",
		       "*:5", "--direction", "in", "--profile", "AEAD_AES_128_GCM");
		REFUSE("key rekey: --inline is required (or --sdes)", KEYSPEC_OP_REKEY, "--local",
		       "*:5", "--direction", "in", "--print-sdes");
		REFUSE("--print-sdes names the suite: give --profile", KEYSPEC_OP_REKEY, "--local",
		       "*:5", "--direction", "in", "--inline", K128, "--print-sdes");
		REFUSE("--sdes: lifetime: not 1 to 2^48", KEYSPEC_OP_ADD, "--local", "*:5",
		       "--direction", "in", "--sdes",
		       "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" SDES_KEY "|2^49");
		REFUSE("--sdes: MKI: length 5 bytes", KEYSPEC_OP_REKEY, "--local", "*:5",
		       "--direction", "in", "--sdes",
		       "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" SDES_KEY "|1:5");
		REFUSE("--sdes: session parameter UNENCRYPTED_SRTP is refused", KEYSPEC_OP_ADD,
		       "--local", "*:5", "--direction", "in", "--sdes",
		       SDES_LINE " UNENCRYPTED_SRTP");
		REFUSE("--sdes: inline key: decodes to 28 bytes; AES_CM_128_HMAC_SHA1_80 needs 30",
		       KEYSPEC_OP_ADD, "--local", "*:5", "--direction", "in", "--sdes",
		       "a=crypto:1 AES_CM_128_HMAC_SHA1_80 inline:" K128);
		REFUSE("does not take the option --sdes", KEYSPEC_OP_DEL, "--local", "*:5",
		       "--direction", "in", "--sdes", SDES_LINE);
		REFUSE("does not take the option --print-sdes", KEYSPEC_OP_LIST, "--print-sdes");
		REFUSE("--sdes given twice", KEYSPEC_OP_ADD, "--local", "*:5", "--direction", "in",
		       "--sdes", SDES_LINE, "--sdes", SDES_LINE);
	}
}

static void test_op_names(void **state)
{
	(void)state;
	assert_int_equal(keyspec_op_from_name("add"), KEYSPEC_OP_ADD);
	assert_int_equal(keyspec_op_from_name("rekey"), KEYSPEC_OP_REKEY);
	assert_int_equal(keyspec_op_from_name("del"), KEYSPEC_OP_DEL);
	assert_int_equal(keyspec_op_from_name("list"), KEYSPEC_OP_LIST);
	assert_int_equal(keyspec_op_from_name("delete"), 0);
	assert_int_equal(keyspec_op_from_name(""), 0);
	assert_int_equal(keyspec_op_from_name(NULL), 0);
	assert_string_equal(keyspec_op_name(KEYSPEC_OP_REKEY), "rekey");
	assert_string_equal(keyspec_op_name(0), "?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_uint),
		cmocka_unit_test(test_port),
		cmocka_unit_test(test_direction),
		cmocka_unit_test(test_local_ok),
		cmocka_unit_test(test_local_refused),
		cmocka_unit_test(test_profile_mode),
		cmocka_unit_test(test_inline_ok),
		cmocka_unit_test(test_inline_refused),
		cmocka_unit_test(test_call_id),
		cmocka_unit_test(test_format),
		cmocka_unit_test(test_cmd_add),
		cmocka_unit_test(test_cmd_refused),
		cmocka_unit_test(test_cmd_rekey_del_list),
		cmocka_unit_test(test_cmd_sdes),
		cmocka_unit_test(test_op_names),
	};

	return cmocka_run_group_tests_name("keyspec", tests, setup, NULL);
}
