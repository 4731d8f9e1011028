/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * keyspec.h - parse and format what an operator types about static SRTP keys:
 * stream selectors (local address:port + direction), SRTP profiles, modes,
 * RFC 4568 inline keys, call ids, packet indexes, and the options of the
 * `key add|rekey|del|list` commands.
 *
 * Pure functions (no I/O, no globals): callsealctl checks a command with them
 * before sending it, and callseal-control checks it again after receiving it
 * (it never trusts the admin socket).
 *
 * Errors: 0 or a negative errno (-EINVAL), and one human line in err that
 * names the option at fault. No message ever contains key bytes or the text
 * of an --inline value.
 */
#ifndef CALLSEAL_KEYSPEC_H
#define CALLSEAL_KEYSPEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "callseal/keytable.h"

#define KEYSPEC_ERR_MAX      256u
/* master key || master salt: 16+12 (AES-128-GCM), 32+12 (AES-256-GCM) or
 * 16+14 (AES-CM, as in SDES a=crypto lines) */
#define KEYSPEC_INLINE_128   (16u + KEYTABLE_MASTER_SALT_BYTES)  /* 28 */
#define KEYSPEC_INLINE_256   (32u + KEYTABLE_MASTER_SALT_BYTES)  /* 44 */
#define KEYSPEC_INLINE_CM    (16u + KEYTABLE_MASTER_SALT_CM)     /* 30 */
#define KEYSPEC_INLINE_MAX   (KEYTABLE_MASTER_KEY_MAX + KEYTABLE_MASTER_SALT_MAX)
#define KEYSPEC_B64_MAX      128u   /* longest base64 text accepted */
#define KEYSPEC_LOCAL_STR    56u    /* "[ffff:...:ffff]:65535" + NUL */
#define KEYSPEC_KEY_STR      64u    /* local + "/out" + NUL */
#define KEYSPEC_CALL_ID_STR  (KEYTABLE_CALL_ID_BYTES + 1u)
#define KEYSPEC_TIME_STR     32u    /* "2026-01-02T03:04:05.678Z" + NUL */

/* The key commands (the words after "key"). */
enum keyspec_op {
	KEYSPEC_OP_ADD = 1,
	KEYSPEC_OP_REKEY,
	KEYSPEC_OP_DEL,
	KEYSPEC_OP_LIST,
};

/*
 * One parsed key command. Holds key bytes (secret, secret_len): wipe it with
 * keyspec_cmd_wipe() on every path once done.
 */
struct keyspec_cmd {
	enum keyspec_op op;
	struct keytable_key key;     /* ADD, REKEY, DEL */
	unsigned int profile;        /* KEYTABLE_PROFILE_*; 0 = not given (REKEY) */
	unsigned int mode;           /* ADD: KEYTABLE_MODE_*, default standard */
	bool has_from_index;         /* REKEY: --from-index given (schedule) */
	uint64_t from_index;         /* REKEY: RFC 3711 <From> packet index */
	bool has_call_id;
	uint8_t call_id[KEYTABLE_CALL_ID_BYTES]; /* NUL-padded text */
	bool json;                   /* LIST */
	size_t secret_len;           /* 28, 30 or 44 after ADD/REKEY, else 0 */
	uint8_t secret[KEYSPEC_INLINE_MAX]; /* master key || master salt */
	/* ADD, REKEY: --sdes (an RFC 4568 a=crypto line, sdes.h) gave profile
	 * and secret, and these; with --inline they are 0 (no MKI, the maximum
	 * lifetime) and the tag for --print-sdes is 1 */
	bool has_sdes;
	unsigned int sdes_tag;
	uint8_t mki_len;
	uint8_t mki[KEYTABLE_MKI_MAX];
	uint64_t lifetime;
	bool print_sdes;             /* ADD, REKEY: --print-sdes */
};

/* -- single fields -- */

/* "5004": decimal 1..65535. */
int keyspec_parse_port(const char *s, uint16_t *port, char *err, size_t errlen);
/* "in" | "out" -> KEYTABLE_DIR_*. */
int keyspec_parse_direction(const char *s, unsigned int *dir, char *err, size_t errlen);
/*
 * ADDR:PORT with ADDR "*" (any local address: keytable_key_any), a dotted
 * IPv4 address, or an IPv6 address in brackets ("[2001:db8::1]:5004").
 * Refused: the unspecified address (use "*"), IPv4-mapped IPv6 (use the IPv4
 * form: the dataplane sees those packets as IPv4), zone ids, port 0.
 * Builds k with dir (KEYTABLE_DIR_*).
 */
int keyspec_parse_local(const char *s, unsigned int dir, struct keytable_key *k,
			char *err, size_t errlen);
/* Both halves of a selector: --local and --direction. */
int keyspec_parse_selector(const char *local, const char *dir, struct keytable_key *k,
			   char *err, size_t errlen);
/* "AES_CM_128_HMAC_SHA1_80" | "AES_CM_128_HMAC_SHA1_32" | "AEAD_AES_128_GCM" |
 * "AEAD_AES_256_GCM" (any case) -> KEYTABLE_PROFILE_*. */
int keyspec_parse_profile(const char *s, unsigned int *profile, char *err, size_t errlen);
/* "e2ee" | "standard" -> KEYTABLE_MODE_*. */
int keyspec_parse_mode(const char *s, unsigned int *mode, char *err, size_t errlen);
/*
 * RFC 4568 inline key (SDP a=crypto "inline:" key-params, the prefix
 * optional): base64 of master key || master salt (the profile's lengths:
 * 16+14 AES-CM, 16+12 AES-128-GCM, 32+12 AES-256-GCM), with or without
 * '=' padding, no whitespace, no "|lifetime|MKI" suffix. profile 0 accepts
 * any of these lengths and reports in *found (may be NULL) the profile it
 * implies (28: AEAD_AES_128_GCM, 44: AEAD_AES_256_GCM, 30: either AES-CM
 * profile, reported as AES_CM_128_HMAC_SHA1_80); otherwise the length must
 * be profile's. An all-zero master key is
 * refused. out gets the bytes and *len their count; on error out is wiped.
 */
int keyspec_parse_inline(const char *b64, unsigned int profile,
			 uint8_t out[KEYSPEC_INLINE_MAX], size_t *len, unsigned int *found,
			 char *err, size_t errlen);
/* Call id: 1..16 characters of A-Z a-z 0-9 . _ : @ + - (stored NUL-padded). */
int keyspec_parse_call_id(const char *s, uint8_t id[KEYTABLE_CALL_ID_BYTES],
			  char *err, size_t errlen);
/* Decimal min..max (no sign, no spaces); what names the option in errors. */
int keyspec_parse_uint(const char *s, uint64_t min, uint64_t max, uint64_t *out,
		       const char *what, char *err, size_t errlen);

/* -- formatting (never key bytes) -- */

const char *keyspec_profile_name(unsigned int profile);   /* "?" if unknown */
size_t keyspec_profile_inline_len(unsigned int profile);  /* 28, 44 or 0 */
const char *keyspec_mode_name(unsigned int mode);         /* "?" if unknown */
const char *keyspec_direction_name(unsigned int dir);     /* "?" if unknown */
/* "192.0.2.1:5004", "[2001:db8::1]:5004", "*:5004" */
const char *keyspec_format_local(const struct keytable_key *k, char buf[KEYSPEC_LOCAL_STR]);
/* local + "/in" or "/out" */
const char *keyspec_format_key(const struct keytable_key *k, char buf[KEYSPEC_KEY_STR]);
/* The call id's text up to its first NUL; other bytes outside the call-id
 * alphabet print as '?'. "" for none. */
const char *keyspec_format_call_id(const uint8_t id[KEYTABLE_CALL_ID_BYTES],
				   char buf[KEYSPEC_CALL_ID_STR]);
/* CLOCK_REALTIME nanoseconds as UTC "YYYY-MM-DDTHH:MM:SS.mmmZ". */
const char *keyspec_format_time(uint64_t ns, char buf[KEYSPEC_TIME_STR]);

/* -- whole commands -- */

/* "add" | "rekey" | "del" | "list" -> KEYSPEC_OP_*; 0 if unknown. */
enum keyspec_op keyspec_op_from_name(const char *name);
const char *keyspec_op_name(enum keyspec_op op);

/*
 * Parse the options of one key command (rows CMD_KEY_* of the command table,
 * commands.c, whose option spec lib/common/opts.c applies; argv holds the
 * options only, e.g.
 * {"--local", "*:5004", "--direction", "in", ...}); "--name VALUE" and
 * "--name=VALUE" both work, each option at most once.
 *   add:   --local --direction (--profile --inline | --sdes) [--mode] [--call-id]
 *          [--print-sdes]
 *   rekey: --local --direction (--inline [--profile] | --sdes) [--from-index]
 *          [--print-sdes]
 *   del:   --local --direction
 *   list:  [--json]
 * On error cmd is wiped. Always wipe cmd with keyspec_cmd_wipe() when done.
 */
int keyspec_parse_cmd(enum keyspec_op op, int argc, const char *const argv[],
		      struct keyspec_cmd *cmd, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/*
 * The master key of a parsed add/rekey for profile (cmd->profile, or for a
 * rekey without --profile the entry's current one), with the MKI and
 * lifetime of --sdes: -EINVAL if the inline key's length does not fit
 * profile. Wipe m with keytable_wipe() when done.
 */
int keyspec_cmd_master(const struct keyspec_cmd *cmd, unsigned int profile,
		       struct keytable_master *m, char *err, size_t errlen)
	__attribute__((warn_unused_result));
/*
 * --print-sdes: the key of a parsed add/rekey as an a=crypto line (sdes.h,
 * sdes_format: the --sdes line's tag, else 1) into buf (SDES_LINE_MAX bytes
 * is enough). The line holds the key: wipe buf when done. 0 or -EINVAL
 * (a rekey by --inline without --profile: the suite is not known here).
 */
int keyspec_cmd_sdes(const struct keyspec_cmd *cmd, char *buf, size_t len, char *err,
		     size_t errlen) __attribute__((warn_unused_result));
void keyspec_cmd_wipe(struct keyspec_cmd *cmd);

#endif /* CALLSEAL_KEYSPEC_H */
