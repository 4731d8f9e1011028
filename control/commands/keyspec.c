/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * keyspec.c - parsing and formatting of static-key commands (see keyspec.h).
 * No I/O. Anything that held key bytes is wiped with sodium_memzero() before
 * the function returns, on every path.
 */
#include "callid.h"
#include "commands.h"
#include "errbuf.h"
#include "keyspec.h"
#include "sdes.h"

#include <arpa/inet.h>
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>
#include <time.h>

#include <sodium.h>

/* Copy at most 40 printable characters of s for an error message. */
static const char *shown(const char *s, char buf[48])
{
	size_t i;

	for (i = 0; s[i] != '\0' && i < 40; i++)
		buf[i] = (s[i] >= 0x20 && s[i] < 0x7f) ? s[i] : '?';
	if (s[i] != '\0' && i >= 3) {
		buf[i - 3] = buf[i - 2] = buf[i - 1] = '.';
	}
	buf[i] = '\0';
	return buf;
}

/* ---- single fields ------------------------------------------------------- */

int keyspec_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		       const char *what, char *err, size_t errlen)
{
	uint64_t v = 0;
	bool overflow = false;
	char sb[48];
	size_t i;

	if (s == NULL || s[0] == '\0') {
		errbuf_set(err, errlen, "%s: a number is missing", what);
		return -EINVAL;
	}
	for (i = 0; s[i] != '\0'; i++) {
		unsigned int d;

		if (s[i] < '0' || s[i] > '9') {
			errbuf_set(err, errlen, "%s: '%s' is not a decimal number", what,
			       shown(s, sb));
			return -EINVAL;
		}
		d = (unsigned int)(s[i] - '0');
		if (v > (UINT64_MAX - d) / 10)
			overflow = true;   /* keep checking the digits */
		else
			v = v * 10 + d;
	}
	if (overflow || v < min || v > max) {
		errbuf_set(err, errlen, "%s: %s is out of range (%llu..%llu)", what, shown(s, sb),
		       (unsigned long long)min, (unsigned long long)max);
		return -EINVAL;
	}
	*out = v;
	return 0;
}

int keyspec_parse_port(const char *s, uint16_t *port, char *err, size_t errlen)
{
	uint64_t v;
	int rc;

	rc = keyspec_parse_uint(s, 1, 65535, &v, "port", err, errlen);
	if (rc == 0)
		*port = (uint16_t)v;
	return rc;
}

int keyspec_parse_direction(const char *s, unsigned int *dir, char *err, size_t errlen)
{
	char sb[48];

	if (s != NULL && strcmp(s, "in") == 0) {
		*dir = KEYTABLE_DIR_IN;
		return 0;
	}
	if (s != NULL && strcmp(s, "out") == 0) {
		*dir = KEYTABLE_DIR_OUT;
		return 0;
	}
	errbuf_set(err, errlen, "--direction: '%s' is not a direction (use in or out)",
	       s ? shown(s, sb) : "");
	return -EINVAL;
}

int keyspec_parse_local(const char *s, unsigned int dir, struct keytable_key *k,
			char *err, size_t errlen)
{
	static const uint8_t v4mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	static const uint8_t zero[16];
	char host[INET6_ADDRSTRLEN + 2], sb[48], pb[KEYSPEC_ERR_MAX];
	const char *colon, *port_s;
	uint8_t a[16];
	uint16_t port;
	size_t n;
	int rc = -EINVAL;

	memset(k, 0, sizeof(*k));
	if (s == NULL || s[0] == '\0') {
		errbuf_set(err, errlen, "--local: an address:port is missing");
		goto out;
	}
	if (s[0] == '[') {
		const char *close = strchr(s, ']');

		if (close == NULL || close[1] != ':') {
			errbuf_set(err, errlen, "--local: '%s' is not [IPv6]:PORT", shown(s, sb));
			goto out;
		}
		n = (size_t)(close - (s + 1));
		port_s = close + 2;
		if (n == 0 || n >= sizeof(host)) {
			errbuf_set(err, errlen, "--local: '%s' has no valid IPv6 address",
			       shown(s, sb));
			goto out;
		}
		memcpy(host, s + 1, n);
		host[n] = '\0';
		if (strchr(host, '%') != NULL) {
			errbuf_set(err, errlen, "--local: '%s': zone ids are not supported",
			       shown(s, sb));
			goto out;
		}
		if (inet_pton(AF_INET6, host, a) != 1) {
			errbuf_set(err, errlen, "--local: '%s' is not an IPv6 address",
			       shown(host, sb));
			goto out;
		}
		if (memcmp(a, zero, 16) == 0) {
			errbuf_set(err, errlen, "--local: [::] is the unspecified address: use "
			       "*:PORT for any local address");
			goto out;
		}
		if (memcmp(a, v4mapped, 12) == 0) {
			errbuf_set(err, errlen, "--local: '%s' is an IPv4-mapped IPv6 address: "
			       "write it as IPv4 (A.B.C.D:PORT)", shown(host, sb));
			goto out;
		}
		rc = keyspec_parse_port(port_s, &port, pb, sizeof(pb));
		if (rc < 0) {
			errbuf_set(err, errlen, "--local: %s", pb);
			goto out;
		}
		keytable_key_ipv6(k, a, port, dir);
		goto dir;
	}
	colon = strrchr(s, ':');
	if (colon == NULL) {
		errbuf_set(err, errlen, "--local: '%s' has no :PORT (write ADDR:PORT, *:PORT "
		       "or [IPv6]:PORT)", shown(s, sb));
		goto out;
	}
	n = (size_t)(colon - s);
	port_s = colon + 1;
	if (n == 0 || n >= sizeof(host)) {
		errbuf_set(err, errlen, "--local: '%s' has no valid address", shown(s, sb));
		goto out;
	}
	memcpy(host, s, n);
	host[n] = '\0';
	if (strchr(host, ':') != NULL) {
		errbuf_set(err, errlen, "--local: '%s': write IPv6 addresses in brackets, "
		       "[2001:db8::1]:5004", shown(s, sb));
		goto out;
	}
	rc = keyspec_parse_port(port_s, &port, pb, sizeof(pb));
	if (rc < 0) {
		errbuf_set(err, errlen, "--local: %s", pb);
		goto out;
	}
	rc = -EINVAL;
	if (strcmp(host, "*") == 0) {
		keytable_key_any(k, port, dir);
		goto dir;
	}
	if (inet_pton(AF_INET, host, a) != 1) {
		errbuf_set(err, errlen, "--local: '%s' is not an IPv4 address (nor *)",
		       shown(host, sb));
		goto out;
	}
	if (memcmp(a, zero, 4) == 0) {
		errbuf_set(err, errlen, "--local: 0.0.0.0 is the unspecified address: use "
		       "*:PORT for any local address");
		goto out;
	}
	keytable_key_ipv4(k, a, port, dir);
dir:
	if (dir != KEYTABLE_DIR_IN && dir != KEYTABLE_DIR_OUT) {
		memset(k, 0, sizeof(*k));
		errbuf_set(err, errlen, "--direction: bad direction %u", dir);
		rc = -EINVAL;
		goto out;
	}
	rc = 0;
out:
	return rc;
}

int keyspec_parse_selector(const char *local, const char *dir, struct keytable_key *k,
			   char *err, size_t errlen)
{
	unsigned int d;
	int rc;

	memset(k, 0, sizeof(*k));
	rc = keyspec_parse_direction(dir, &d, err, errlen);
	if (rc == 0)
		rc = keyspec_parse_local(local, d, k, err, errlen);
	return rc;
}

/* The profiles control knows, by name: the one table (key lengths come from
 * the key table's, keytable_master_key_len/salt_len). With --profile absent,
 * a key's length picks the first entry of that length. */
static const struct {
	const char *name;
	unsigned int profile;
	size_t inline_len;
} profiles[] = {
	{ .name = "AEAD_AES_128_GCM", .profile = KEYTABLE_PROFILE_AEAD_AES_128_GCM,
	  .inline_len = KEYSPEC_INLINE_128 },
	{ .name = "AEAD_AES_256_GCM", .profile = KEYTABLE_PROFILE_AEAD_AES_256_GCM,
	  .inline_len = KEYSPEC_INLINE_256 },
	{ .name = "AES_CM_128_HMAC_SHA1_80", .profile = KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_80,
	  .inline_len = KEYSPEC_INLINE_CM },
	{ .name = "AES_CM_128_HMAC_SHA1_32", .profile = KEYTABLE_PROFILE_AES_CM_128_HMAC_SHA1_32,
	  .inline_len = KEYSPEC_INLINE_CM },
};

int keyspec_parse_profile(const char *s, unsigned int *profile, char *err, size_t errlen)
{
	char sb[48];
	size_t i;

	for (i = 0; s != NULL && i < sizeof(profiles) / sizeof(profiles[0]); i++) {
		if (strcasecmp(s, profiles[i].name) == 0) {
			*profile = profiles[i].profile;
			return 0;
		}
	}
	errbuf_set(err, errlen, "--profile: '%s' is not supported (use AEAD_AES_128_GCM, "
	       "AEAD_AES_256_GCM, AES_CM_128_HMAC_SHA1_80 or AES_CM_128_HMAC_SHA1_32)",
	       s ? shown(s, sb) : "");
	return -EINVAL;
}

const char *keyspec_profile_name(unsigned int profile)
{
	size_t i;

	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (profiles[i].profile == profile)
			return profiles[i].name;
	return "?";
}

size_t keyspec_profile_inline_len(unsigned int profile)
{
	size_t i;

	for (i = 0; i < sizeof(profiles) / sizeof(profiles[0]); i++)
		if (profiles[i].profile == profile)
			return profiles[i].inline_len;
	return 0;
}

int keyspec_parse_mode(const char *s, unsigned int *mode, char *err, size_t errlen)
{
	char sb[48];

	if (s != NULL && strcmp(s, "e2ee") == 0) {
		*mode = KEYTABLE_MODE_E2EE;
		return 0;
	}
	if (s != NULL && strcmp(s, "standard") == 0) {
		*mode = KEYTABLE_MODE_STANDARD;
		return 0;
	}
	errbuf_set(err, errlen, "--mode: '%s' is not a mode (use e2ee or standard)",
	       s ? shown(s, sb) : "");
	return -EINVAL;
}

const char *keyspec_mode_name(unsigned int mode)
{
	return mode == KEYTABLE_MODE_E2EE ? "e2ee" :
	       mode == KEYTABLE_MODE_STANDARD ? "standard" : "?";
}

const char *keyspec_direction_name(unsigned int dir)
{
	return dir == KEYTABLE_DIR_IN ? "in" : dir == KEYTABLE_DIR_OUT ? "out" : "?";
}

int keyspec_parse_inline(const char *b64, unsigned int profile,
			 uint8_t out[KEYSPEC_INLINE_MAX], size_t *len, unsigned int *found,
			 char *err, size_t errlen)
{
	static const uint8_t zero[KEYTABLE_MASTER_KEY_MAX];
	/* room for more than any accepted length, so a long key is measured */
	uint8_t bin[KEYSPEC_B64_MAX];
	size_t n, bin_len = 0, want, i;
	unsigned int prof = 0;
	int variant, rc = -EINVAL;

	*len = 0;
	if (b64 == NULL || b64[0] == '\0') {
		errbuf_set(err, errlen, "--inline: the key is missing");
		goto out;
	}
	if (strncmp(b64, "inline:", 7) == 0)
		b64 += 7;
	n = strlen(b64);
	if (strchr(b64, '|') != NULL) {
		errbuf_set(err, errlen, "--inline: lifetime and MKI ('|...') are not supported: "
		       "give the base64 key only");
		goto out;
	}
	if (n == 0 || n > KEYSPEC_B64_MAX) {
		errbuf_set(err, errlen, "--inline: %zu characters; a base64 master key and "
		       "salt is 38..60", n);
		goto out;
	}
	/* RFC 4568 uses base64 with padding; accept it without padding too */
	variant = memchr(b64, '=', n) != NULL ? sodium_base64_VARIANT_ORIGINAL :
						sodium_base64_VARIANT_ORIGINAL_NO_PADDING;
	if (sodium_base642bin(bin, sizeof(bin), b64, n, NULL, &bin_len, NULL, variant) != 0) {
		errbuf_set(err, errlen, "--inline: not valid base64 (RFC 4648 alphabet A-Z a-z "
		       "0-9 + /, '=' padding, no spaces)");
		goto out;
	}
	if (profile == 0) {
		for (i = 0; prof == 0 && i < sizeof(profiles) / sizeof(profiles[0]); i++)
			if (profiles[i].inline_len == bin_len)
				prof = profiles[i].profile;
		if (prof == 0) {
			errbuf_set(err, errlen, "--inline: decodes to %zu bytes; a master key and "
			       "salt is %u (AEAD_AES_128_GCM), %u (AEAD_AES_256_GCM) or %u "
			       "(AES_CM_128_HMAC_SHA1_80/_32)", bin_len, KEYSPEC_INLINE_128,
			       KEYSPEC_INLINE_256, KEYSPEC_INLINE_CM);
			goto out;
		}
	} else {
		want = keyspec_profile_inline_len(profile);
		if (want == 0) {
			errbuf_set(err, errlen, "--profile: unknown profile %u", profile);
			goto out;
		}
		if (bin_len != want) {
			errbuf_set(err, errlen, "--inline: decodes to %zu bytes; %s needs %zu "
			       "(%u-byte master key + %u-byte master salt)", bin_len,
			       keyspec_profile_name(profile), want,
			       keytable_master_key_len(profile), keytable_master_salt_len(profile));
			goto out;
		}
		prof = profile;
	}
	if (sodium_memcmp(bin, zero, keytable_master_key_len(prof)) == 0) {
		errbuf_set(err, errlen, "--inline: the master key is all zeros");
		goto out;
	}
	memcpy(out, bin, bin_len);
	*len = bin_len;
	if (found != NULL)
		*found = prof;
	rc = 0;
out:
	sodium_memzero(bin, sizeof(bin));
	if (rc < 0)
		sodium_memzero(out, KEYSPEC_INLINE_MAX);
	return rc;
}

int keyspec_parse_call_id(const char *s, uint8_t id[KEYTABLE_CALL_ID_BYTES],
			  char *err, size_t errlen)
{
	size_t i, n;

	memset(id, 0, KEYTABLE_CALL_ID_BYTES);
	n = s ? strlen(s) : 0;
	if (n == 0 || n > KEYTABLE_CALL_ID_BYTES) {
		errbuf_set(err, errlen, "--call-id: %zu characters; a call id is 1..%u",
		       n, KEYTABLE_CALL_ID_BYTES);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!callid_char_ok(s[i])) {
			errbuf_set(err, errlen, "--call-id: character %zu is not one of "
			       CALLID_ALPHABET, i + 1);
			return -EINVAL;
		}
	}
	memcpy(id, s, n);
	return 0;
}

/* ---- formatting ------------------------------------------------------------ */

const char *keyspec_format_local(const struct keytable_key *k, char buf[KEYSPEC_LOCAL_STR])
{
	char a[INET6_ADDRSTRLEN] = "?";

	if (k->family == KEYTABLE_FAMILY_IPV4) {
		inet_ntop(AF_INET, k->addr, a, sizeof(a));
		snprintf(buf, KEYSPEC_LOCAL_STR, "%s:%u", a, k->port);
	} else if (k->family == KEYTABLE_FAMILY_IPV6) {
		inet_ntop(AF_INET6, k->addr, a, sizeof(a));
		snprintf(buf, KEYSPEC_LOCAL_STR, "[%s]:%u", a, k->port);
	} else if (k->family == KEYTABLE_FAMILY_ANY) {
		snprintf(buf, KEYSPEC_LOCAL_STR, "*:%u", k->port);
	} else {
		snprintf(buf, KEYSPEC_LOCAL_STR, "?:%u", k->port);
	}
	return buf;
}

const char *keyspec_format_key(const struct keytable_key *k, char buf[KEYSPEC_KEY_STR])
{
	char l[KEYSPEC_LOCAL_STR];

	snprintf(buf, KEYSPEC_KEY_STR, "%s/%s", keyspec_format_local(k, l),
		 keyspec_direction_name(k->dir));
	return buf;
}

const char *keyspec_format_call_id(const uint8_t id[KEYTABLE_CALL_ID_BYTES],
				   char buf[KEYSPEC_CALL_ID_STR])
{
	size_t i;

	for (i = 0; i < KEYTABLE_CALL_ID_BYTES && id[i] != 0; i++)
		buf[i] = callid_char_ok((char)id[i]) ? (char)id[i] : '?';
	buf[i] = '\0';
	return buf;
}

const char *keyspec_format_time(uint64_t ns, char buf[KEYSPEC_TIME_STR])
{
	time_t sec = (time_t)(ns / 1000000000u);
	struct tm tm;
	size_t n;

	if (gmtime_r(&sec, &tm) == NULL) {
		snprintf(buf, KEYSPEC_TIME_STR, "?");
		return buf;
	}
	n = strftime(buf, KEYSPEC_TIME_STR - 6, "%Y-%m-%dT%H:%M:%S", &tm);
	if (n == 0) {
		snprintf(buf, KEYSPEC_TIME_STR, "?");
		return buf;
	}
	snprintf(buf + n, KEYSPEC_TIME_STR - n, ".%03uZ",
		 (unsigned int)(ns % 1000000000u / 1000000u) % 1000u);
	return buf;
}

/* ---- whole commands --------------------------------------------------------- */

/* The key commands are rows CMD_KEY_ADD.. of the command table (commands.c):
 * its words name them and its option spec is what they take. */
static enum command_id op_id(enum keyspec_op op)
{
	return (enum command_id)(CMD_KEY_ADD + (op - KEYSPEC_OP_ADD));
}

enum keyspec_op keyspec_op_from_name(const char *name)
{
	enum keyspec_op op;

	for (op = KEYSPEC_OP_ADD; name != NULL && op <= KEYSPEC_OP_LIST; op++)
		if (strcmp(name, keyspec_op_name(op)) == 0)
			return op;
	return 0;
}

const char *keyspec_op_name(enum keyspec_op op)
{
	return (op >= KEYSPEC_OP_ADD && op <= KEYSPEC_OP_LIST) ?
	       commands_name(op_id(op)) + strlen("key ") : "?";
}

/* --sdes LINE: the profile, key, MKI, lifetime and tag of an a=crypto line. */
static int sdes_take(const char *line, struct keyspec_cmd *cmd, char *err, size_t errlen)
{
	struct sdes_crypto c;
	char sb[KEYSPEC_ERR_MAX];
	int rc;

	rc = sdes_parse(line, &c, sb, sizeof(sb));
	if (rc < 0) {
		errbuf_set(err, errlen, "--sdes: %s", sb);
		goto out;
	}
	cmd->has_sdes = true;
	cmd->sdes_tag = c.tag;
	cmd->profile = c.profile;
	memcpy(cmd->secret, c.key, c.key_len);
	memcpy(cmd->secret + c.key_len, c.salt, c.salt_len);
	cmd->secret_len = c.key_len + c.salt_len;
	cmd->mki_len = c.mki_len;
	memcpy(cmd->mki, c.mki, sizeof(cmd->mki));
	cmd->lifetime = c.lifetime;
out:
	sdes_wipe(&c);
	return rc;
}

int keyspec_parse_cmd(enum keyspec_op op, int argc, const char *const argv[],
		      struct keyspec_cmd *cmd, char *err, size_t errlen)
{
	struct opts_parsed p;
	const char *v;
	int rc = -EINVAL;

	memset(cmd, 0, sizeof(*cmd));
	if (op < KEYSPEC_OP_ADD || op > KEYSPEC_OP_LIST) {
		errbuf_set(err, errlen, "unknown key command");
		goto out;
	}
	cmd->op = op;
	if (commands_opts(op_id(op), argc, argv, &p, err, errlen) < 0)
		goto out;

	/* values, in the order an operator reads them */
	if ((v = opts_get(&p, "local")) != NULL) {
		rc = keyspec_parse_selector(v, opts_get(&p, "direction"), &cmd->key, err,
					    errlen);
		if (rc < 0)
			goto out;
	}
	rc = -EINVAL;
	if ((v = opts_get(&p, "profile")) != NULL &&
	    keyspec_parse_profile(v, &cmd->profile, err, errlen) < 0)
		goto out;
	cmd->mode = KEYTABLE_MODE_STANDARD;   /* static keys are not end-to-end */
	if ((v = opts_get(&p, "mode")) != NULL &&
	    keyspec_parse_mode(v, &cmd->mode, err, errlen) < 0)
		goto out;
	if ((v = opts_get(&p, "call-id")) != NULL) {
		if (keyspec_parse_call_id(v, cmd->call_id, err, errlen) < 0)
			goto out;
		cmd->has_call_id = true;
	}
	if ((v = opts_get(&p, "from-index")) != NULL) {
		if (keyspec_parse_uint(v, 0, KEYTABLE_INDEX_MAX, &cmd->from_index,
				       "--from-index", err, errlen) < 0)
			goto out;
		cmd->has_from_index = true;
	}
	cmd->json = opts_has(&p, "json");
	cmd->print_sdes = opts_has(&p, "print-sdes");
	if ((v = opts_get(&p, "sdes")) != NULL) {
		if (opts_has(&p, "profile") || opts_has(&p, "inline")) {
			errbuf_set(err, errlen, "%s: --sdes carries the suite and the key: give "
				   "it instead of --profile and --inline, not with them",
				   commands_name(op_id(op)));
			goto out;
		}
		rc = sdes_take(v, cmd, err, errlen);
		if (rc < 0)
			goto out;
		rc = -EINVAL;
	} else if (op == KEYSPEC_OP_ADD || op == KEYSPEC_OP_REKEY) {
		/* the command table requires neither: one of the two forms */
		if (op == KEYSPEC_OP_ADD && !opts_has(&p, "profile")) {
			errbuf_set(err, errlen, "%s: --profile is required (or --sdes)",
				   commands_name(op_id(op)));
			goto out;
		}
		if (!opts_has(&p, "inline")) {
			errbuf_set(err, errlen, "%s: --inline is required (or --sdes)",
				   commands_name(op_id(op)));
			goto out;
		}
		if (cmd->print_sdes && cmd->profile == 0) {
			errbuf_set(err, errlen, "%s: --print-sdes names the suite: give "
				   "--profile with --inline (or --sdes)", commands_name(op_id(op)));
			goto out;
		}
	}
	if ((v = opts_get(&p, "inline")) != NULL) {
		rc = keyspec_parse_inline(v, cmd->profile, cmd->secret, &cmd->secret_len,
					  NULL, err, errlen);
		if (rc < 0)
			goto out;
	}
	rc = 0;
out:
	if (rc < 0)
		keyspec_cmd_wipe(cmd);
	return rc;
}

int keyspec_cmd_master(const struct keyspec_cmd *cmd, unsigned int profile,
		       struct keytable_master *m, char *err, size_t errlen)
{
	size_t want = keyspec_profile_inline_len(profile);
	size_t klen = keytable_master_key_len(profile);
	size_t slen = keytable_master_salt_len(profile);
	int rc;

	memset(m, 0, sizeof(*m));
	if (want == 0 || klen + slen != want || cmd->secret_len != want) {
		errbuf_set(err, errlen, "--inline: the key is %zu bytes; %s needs %zu (%zu-byte "
		       "master key + %zu-byte master salt)", cmd->secret_len,
		       keyspec_profile_name(profile), want, klen, slen);
		return -EINVAL;
	}
	rc = keytable_master_set_salt(m, profile, cmd->secret, klen, cmd->secret + klen, slen);
	/* RFC 4568 section 6.1: the MKI and lifetime of --sdes (0: none) */
	if (rc == 0)
		rc = keytable_master_set_mki(m, cmd->mki, cmd->mki_len);
	if (rc == 0)
		rc = keytable_master_set_lifetime(m, cmd->lifetime);
	if (rc < 0) {
		sodium_memzero(m, sizeof(*m));
		errbuf_set(err, errlen, "--inline: not a valid %s master key",
		       keyspec_profile_name(profile));
	}
	return rc;
}

int keyspec_cmd_sdes(const struct keyspec_cmd *cmd, char *buf, size_t len, char *err,
		     size_t errlen)
{
	struct keytable_master m;
	int rc;

	if (len > 0)
		buf[0] = '\0';
	if (cmd->profile == 0) {
		errbuf_set(err, errlen, "--print-sdes: the suite is not known: give --profile "
			   "or --sdes");
		return -EINVAL;
	}
	rc = keyspec_cmd_master(cmd, cmd->profile, &m, err, errlen);
	if (rc == 0 && (rc = sdes_format(&m, cmd->has_sdes ? cmd->sdes_tag : 1, buf, len)) < 0)
		errbuf_set(err, errlen, "--print-sdes: the line does not fit in %zu bytes", len);
	sodium_memzero(&m, sizeof(m));
	return rc;
}

void keyspec_cmd_wipe(struct keyspec_cmd *cmd)
{
	sodium_memzero(cmd, sizeof(*cmd));
}
