/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sdes.c - SDES a=crypto lines (RFC 4568) to and from master keys (see
 * sdes.h). No I/O. The copy of the line and every buffer that held key bytes
 * are wiped with sodium_memzero() before a function returns, on every path.
 * Messages name the field at fault and never show the key's text.
 */
#include "errbuf.h"
#include "keyspec.h"
#include "opts.h"
#include "sdes.h"

#include <errno.h>
#include <inttypes.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include <sodium.h>

#define TOKENS_MAX 16u   /* tag, suite, key-params and up to 13 session params */

/* RFC 4568 section 6.3: the session parameters, and what callseal does with
 * each. The one list: sdes_parse() reads it, docs/operations.md mirrors it. */
enum param_id { P_KDR, P_UNENCRYPTED_SRTP, P_UNENCRYPTED_SRTCP, P_UNAUTHENTICATED_SRTP,
		P_FEC_ORDER, P_FEC_KEY, P_WSH };
static const struct {
	const char *name;
	bool value;          /* NAME=VALUE (else a flag) */
	const char *refused; /* why it is always refused; NULL: its value is checked */
} params[] = {
	[P_KDR] = { "KDR", true, NULL },                       /* 6.3.1: only 0 */
	[P_UNENCRYPTED_SRTP] = { "UNENCRYPTED_SRTP", false,    /* 6.3.2 */
		"the dataplane always encrypts SRTP" },
	[P_UNENCRYPTED_SRTCP] = { "UNENCRYPTED_SRTCP", false,
		"the dataplane always encrypts SRTCP" },
	[P_UNAUTHENTICATED_SRTP] = { "UNAUTHENTICATED_SRTP", false,
		"the dataplane always authenticates SRTP" },
	[P_FEC_ORDER] = { "FEC_ORDER", true, NULL },            /* 6.3.5: FEC_SRTP only */
	[P_FEC_KEY] = { "FEC_KEY", true,                        /* 6.3.6 */
		"the dataplane has no FEC, so no separate FEC master key" },
	[P_WSH] = { "WSH", true, NULL },                        /* 6.3.7 */
};

/* Decimal digits only, 1..maxdig of them, value <= max. */
static int parse_dec(const char *s, size_t n, unsigned int maxdig, uint64_t max,
		     uint64_t *out)
{
	uint64_t v = 0;
	size_t i;

	if (n == 0 || n > maxdig)
		return -EINVAL;
	for (i = 0; i < n; i++) {
		if (s[i] < '0' || s[i] > '9')
			return -EINVAL;
		v = v * 10 + (uint64_t)(s[i] - '0');   /* maxdig <= 19: no overflow */
	}
	if (v > max)
		return -EINVAL;
	*out = v;
	return 0;
}

/* RFC 4568 section 6.1 lifetime: ["2^"] 1*(DIGIT), 1 to 2^48 packets. */
static int parse_lifetime(const char *s, size_t n, uint64_t *out, char *err, size_t errlen)
{
	uint64_t v;

	if (n >= 2 && s[0] == '2' && s[1] == '^') {
		if (parse_dec(s + 2, n - 2, 2, 48, &v) < 0)
			goto bad;
		*out = UINT64_C(1) << v;
		return 0;
	}
	if (parse_dec(s, n, 15, KEYTABLE_LIFETIME_MAX, &v) < 0 || v == 0)
		goto bad;
	*out = v;
	return 0;
bad:
	errbuf_set(err, errlen, "lifetime: not 1 to 2^48 packets as a decimal number or "
		   "2^N (RFC 4568 section 6.1, RFC 3711 section 9.2)");
	return -EINVAL;
}

/* RFC 4568 section 6.1 MKI: VALUE ":" LENGTH, LENGTH 1..4 bytes here. */
static int parse_mki(const char *s, size_t n, struct sdes_crypto *c, char *err,
		     size_t errlen)
{
	const char *colon = memchr(s, ':', n);
	uint64_t v, len;
	unsigned int i;

	if (colon == NULL || parse_dec(colon + 1, n - (size_t)(colon - s) - 1, 3, 128,
				       &len) < 0 || len == 0 ||
	    parse_dec(s, (size_t)(colon - s), 19, UINT64_MAX, &v) < 0) {
		errbuf_set(err, errlen, "MKI: not VALUE:LENGTH in decimal (RFC 4568 "
			   "section 6.1, LENGTH 1 to 128 bytes)");
		return -EINVAL;
	}
	if (len > KEYTABLE_MKI_MAX) {
		errbuf_set(err, errlen, "MKI: length %" PRIu64 " bytes; at most %u are "
			   "supported", len, KEYTABLE_MKI_MAX);
		return -EINVAL;
	}
	if (v >> (8 * len) != 0) {
		errbuf_set(err, errlen, "MKI: value %" PRIu64 " does not fit in its length of "
			   "%" PRIu64 " byte%s", v, len, len == 1 ? "" : "s");
		return -EINVAL;
	}
	c->mki_len = (uint8_t)len;
	for (i = 0; i < len; i++)   /* big-endian, as on the wire */
		c->mki[i] = (uint8_t)(v >> (8 * (len - 1 - i)));
	return 0;
}

/* key-params: "inline:" key-salt ["|" lifetime] ["|" MKI]; only one. */
static int parse_key_params(char *kp, struct sdes_crypto *c, char *err, size_t errlen)
{
	uint8_t bin[KEYSPEC_INLINE_MAX];
	char ib[KEYSPEC_ERR_MAX];
	char *fields[4], *bar;
	size_t nf = 0, bin_len = 0, i;
	bool have_life = false;
	int rc = -EINVAL;

	if (strchr(kp, ';') != NULL) {
		errbuf_set(err, errlen, "more than one key-params (';'): give one master key "
			   "per line");
		goto out;
	}
	if (strncasecmp(kp, "inline:", 7) != 0) {
		errbuf_set(err, errlen, "key-params: the key method is not inline: (the "
			   "only one RFC 4568 defines)");
		goto out;
	}
	kp += 7;
	if (strncasecmp(kp, "inline:", 7) == 0) {
		errbuf_set(err, errlen, "key-params: inline: given twice");
		goto out;
	}
	fields[nf++] = kp;
	while ((bar = strchr(kp, '|')) != NULL) {
		*bar = '\0';
		kp = bar + 1;
		if (nf == 3) {
			errbuf_set(err, errlen, "key-params: more than key|lifetime|MKI");
			goto out;
		}
		fields[nf++] = kp;
	}
	for (i = 1; i < nf; i++) {
		size_t n = strlen(fields[i]);

		if (strchr(fields[i], ':') != NULL) {
			if (i != nf - 1) {
				errbuf_set(err, errlen, strchr(fields[nf - 1], ':') != NULL ?
					   "key-params: two MKIs" :
					   "key-params: the MKI comes last (key|lifetime|MKI)");
				goto out;
			}
			if (parse_mki(fields[i], n, c, err, errlen) < 0)
				goto out;
		} else {
			if (have_life) {
				errbuf_set(err, errlen, "key-params: two lifetimes");
				goto out;
			}
			if (parse_lifetime(fields[i], n, &c->lifetime, err, errlen) < 0)
				goto out;
			have_life = true;
		}
	}
	/* the key-salt: base64, the suite's lengths, not all zero */
	if (keyspec_parse_inline(fields[0], c->profile, bin, &bin_len, NULL, ib,
				 sizeof(ib)) < 0) {
		const char *why = strncmp(ib, "--inline: ", 10) == 0 ? ib + 10 : ib;

		errbuf_set(err, errlen, "inline key: %s", why);
		goto out;
	}
	c->key_len = keytable_master_key_len(c->profile);
	c->salt_len = keytable_master_salt_len(c->profile);
	memcpy(c->key, bin, c->key_len);
	memcpy(c->salt, bin + c->key_len, c->salt_len);
	rc = 0;
out:
	sodium_memzero(bin, sizeof(bin));
	return rc;
}

/* A suite or parameter name the line gave, for a message: only a word that
 * looks like one (upper case, digits, '_', at most 24 characters), since a
 * mangled line may put key text where a name belongs; "?" otherwise. */
static const char *name_shown(const char *s, size_t n, char buf[40])
{
	size_t i;

	if (n == 0 || n > 24)
		return "?";
	for (i = 0; i < n; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '_'))
			return "?";
	return opts_word_shown(s, n, buf);
}

/* One session parameter (RFC 4568 section 6.3), by the table above. */
static int parse_param(const char *tok, struct sdes_crypto *c, char *err, size_t errlen)
{
	const char *eq = strchr(tok, '=');
	size_t nlen = eq ? (size_t)(eq - tok) : strlen(tok), i;
	const char *val = eq ? eq + 1 : NULL;
	char nb[40];
	uint64_t v;

	for (i = 0; i < sizeof(params) / sizeof(params[0]); i++)
		if (strlen(params[i].name) == nlen && strncmp(tok, params[i].name, nlen) == 0)
			break;
	if (i == sizeof(params) / sizeof(params[0])) {
		if (tok[0] == '-')   /* 6.3.8: an optional extension, may be ignored */
			return 0;
		errbuf_set(err, errlen, "session parameter %s is unknown (RFC 4568 section "
			   "6.3; a '-' prefix marks one that may be ignored)",
			   name_shown(tok, nlen, nb));
		return -EINVAL;
	}
	if (params[i].value != (val != NULL) || (val != NULL && val[0] == '\0')) {
		errbuf_set(err, errlen, "session parameter %s %s", params[i].name,
			   params[i].value ? "needs =VALUE" : "takes no value");
		return -EINVAL;
	}
	if (params[i].refused != NULL) {
		errbuf_set(err, errlen, "session parameter %s is refused: %s", params[i].name,
			   params[i].refused);
		return -EINVAL;
	}
	switch ((enum param_id)i) {
	case P_KDR:
		if (parse_dec(val, strlen(val), 2, 24, &v) < 0) {
			errbuf_set(err, errlen, "session parameter KDR: not 0 to 24");
			return -EINVAL;
		}
		if (v != 0) {
			errbuf_set(err, errlen, "session parameter KDR=%" PRIu64 " is refused: "
				   "the dataplane derives session keys once per master key "
				   "(RFC 3711 key derivation rate 0)", v);
			return -EINVAL;
		}
		return 0;
	case P_FEC_ORDER:
		if (strcmp(val, "FEC_SRTP") == 0)   /* the default order, no FEC here */
			return 0;
		errbuf_set(err, errlen, "session parameter FEC_ORDER=%s is refused: the "
			   "dataplane has no FEC (only FEC_SRTP, the default, is accepted)",
			   strcmp(val, "SRTP_FEC") == 0 ? "SRTP_FEC" : "?");
		return -EINVAL;
	case P_WSH:
		if (parse_dec(val, strlen(val), 10, UINT32_MAX, &v) < 0 || v < SDES_WSH_MIN) {
			errbuf_set(err, errlen, "session parameter WSH: not a window of at "
				   "least %u packets (RFC 4568 section 6.3.7)", SDES_WSH_MIN);
			return -EINVAL;
		}
		if (v > SDES_WSH_MAX) {
			errbuf_set(err, errlen, "session parameter WSH=%" PRIu64 " is refused: "
				   "the dataplane's replay window is %u packets by default "
				   "(--replay-window)", v, SDES_WSH_MAX);
			return -EINVAL;
		}
		c->wsh = (unsigned int)v;
		return 0;
	default:
		return -EINVAL;   /* refused above */
	}
}

int sdes_parse(const char *line, struct sdes_crypto *c, char *err, size_t errlen)
{
	char buf[SDES_LINE_MAX], sb[40];
	char *tok[TOKENS_MAX], *p, *save = NULL;
	size_t n, nt = 0, i;
	uint64_t v;
	int rc = -EINVAL;

	memset(c, 0, sizeof(*c));
	n = line ? strlen(line) : 0;
	while (n > 0 && (line[n - 1] == '\r' || line[n - 1] == '\n' || line[n - 1] == ' ' ||
			 line[n - 1] == '\t'))
		n--;
	if (n == 0) {
		errbuf_set(err, errlen, "the a=crypto line is missing");
		goto out;
	}
	if (n >= sizeof(buf)) {
		errbuf_set(err, errlen, "the line is %zu characters; an a=crypto line is at "
			   "most %u", n, SDES_LINE_MAX - 1);
		goto out;
	}
	memcpy(buf, line, n);
	buf[n] = '\0';
	p = buf;
	if (strncmp(p, "a=", 2) == 0)
		p += 2;
	if (strncmp(p, "crypto:", 7) != 0) {
		errbuf_set(err, errlen, "not an a=crypto line (it starts \"a=crypto:\" or "
			   "\"crypto:\", RFC 4568 section 9.1)");
		goto out;
	}
	p += 7;
	for (char *t = strtok_r(p, " \t", &save); t != NULL; t = strtok_r(NULL, " \t", &save)) {
		if (nt == TOKENS_MAX) {
			errbuf_set(err, errlen, "more than %u session parameters",
				   TOKENS_MAX - 3);
			goto out;
		}
		tok[nt++] = t;
	}
	if (nt < 3) {
		errbuf_set(err, errlen, "the %s is missing (a=crypto:TAG SUITE inline:KEY)",
			   nt == 0 ? "tag" : nt == 1 ? "crypto-suite" : "key-params");
		goto out;
	}
	/* tag: 1*9DIGIT (RFC 4568 section 9.1) */
	if (parse_dec(tok[0], strlen(tok[0]), 9, SDES_TAG_MAX, &v) < 0) {
		errbuf_set(err, errlen, "tag: not a decimal number of 1 to 9 digits");
		goto out;
	}
	c->tag = (unsigned int)v;
	/* crypto-suite: the profiles' names (keyspec.c's table; RFC 4568 section
	 * 6.2, RFC 7714 section 14.2) */
	{
		char pb[KEYSPEC_ERR_MAX];

		if (keyspec_parse_profile(tok[1], &c->profile, pb, sizeof(pb)) < 0) {
			errbuf_set(err, errlen, "crypto-suite %s is not supported (use "
				   "AES_CM_128_HMAC_SHA1_80, AES_CM_128_HMAC_SHA1_32, "
				   "AEAD_AES_128_GCM or AEAD_AES_256_GCM)",
				   name_shown(tok[1], strlen(tok[1]), sb));
			goto out;
		}
	}
	if (parse_key_params(tok[2], c, err, errlen) < 0)
		goto out;
	for (i = 3; i < nt; i++)
		if (parse_param(tok[i], c, err, errlen) < 0)
			goto out;
	rc = 0;
out:
	sodium_memzero(buf, sizeof(buf));
	if (rc < 0)
		sdes_wipe(c);
	return rc;
}

int sdes_master(const struct sdes_crypto *c, struct keytable_master *m)
{
	int rc;

	rc = keytable_master_set_salt(m, c->profile, c->key, c->key_len, c->salt,
				      c->salt_len);
	if (rc == 0)
		rc = keytable_master_set_mki(m, c->mki, c->mki_len);
	if (rc == 0)
		rc = keytable_master_set_lifetime(m, c->lifetime);
	if (rc < 0)
		keytable_wipe(m, sizeof(*m));
	return rc;
}

int sdes_format(const struct keytable_master *m, unsigned int tag, char *buf, size_t len)
{
	uint8_t bin[KEYSPEC_INLINE_MAX];
	char b64[KEYSPEC_B64_MAX + 1], life[32] = "", mki[32] = "";
	unsigned int klen = keytable_master_key_len(m->profile);
	unsigned int slen = keytable_master_salt_len(m->profile);
	uint64_t v = 0;
	int n, rc = -EINVAL;

	if (len > 0)
		buf[0] = '\0';
	if (klen == 0 || m->key_len != klen || m->salt_len != slen || tag > SDES_TAG_MAX ||
	    m->mki_len > KEYTABLE_MKI_MAX || m->lifetime > KEYTABLE_LIFETIME_MAX)
		goto out;
	memcpy(bin, m->key, klen);
	memcpy(bin + klen, m->salt, slen);
	sodium_bin2base64(b64, sizeof(b64), bin, klen + slen, sodium_base64_VARIANT_ORIGINAL);
	if (m->lifetime != 0) {
		/* RFC 4568 section 6.1: 2^n where it is one */
		if ((m->lifetime & (m->lifetime - 1)) == 0)
			snprintf(life, sizeof(life), "|2^%d", __builtin_ctzll(m->lifetime));
		else
			snprintf(life, sizeof(life), "|%" PRIu64, m->lifetime);
	}
	if (m->mki_len > 0) {
		for (unsigned int i = 0; i < m->mki_len; i++)
			v = v << 8 | m->mki[i];
		snprintf(mki, sizeof(mki), "|%" PRIu64 ":%u", v, m->mki_len);
	}
	n = snprintf(buf, len, "a=crypto:%u %s inline:%s%s%s", tag,
		     keyspec_profile_name(m->profile), b64, life, mki);
	if (n < 0 || (size_t)n >= len) {
		sodium_memzero(buf, len);
		rc = -ENOSPC;
		goto out;
	}
	rc = 0;
out:
	sodium_memzero(bin, sizeof(bin));
	sodium_memzero(b64, sizeof(b64));
	return rc;
}

void sdes_wipe(struct sdes_crypto *c)
{
	sodium_memzero(c, sizeof(*c));
}
