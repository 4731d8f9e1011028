/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * recorder_open.c - callseal-recorder-open: the compliance recorder's side of
 * `call keys` (docs/calls.md), for tests and for checking a deployment.
 *
 *   callseal-recorder-open --keygen SECRET_FILE
 *       makes a recorder key pair: the secret key (base64) goes to SECRET_FILE
 *       (0600), the public key (base64, for callseal-control --recorder-key)
 *       to stdout.
 *   callseal-recorder-open SECRET_FILE < SEALED_BASE64
 *       opens what `call keys ID` printed (blob v1 or v2, docs/calls.md
 *       "Recorder blob") and prints, per direction, "call_id=ID DIR
 *       profile=P salt_len=S version=V key_sha256=H" where H is SHA-256 over
 *       key || salt (each at its length), the same digest
 *       callseal-keytable-dump prints, so a test compares keys without either
 *       tool printing key bytes.
 *   callseal-recorder-open --inline DIR SECRET_FILE < SEALED_BASE64
 *       what a recorder does with them: prints the base64 of key || salt of
 *       direction DIR (out or in) as the sealing side uses it, for libsrtp2
 *       (callseal-srtpcheck --inline) to decrypt recorded media
 *       (calls_tenant_media).
 * Exit status 0, 1 when the blob does not open or is malformed, 2 on usage.
 */
#include <fcntl.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "callseal_version.h"
#include "calls.h"
#include "callseal/keytable.h"

static int keygen(const char *path)
{
	uint8_t pk[crypto_box_PUBLICKEYBYTES], sk[crypto_box_SECRETKEYBYTES];
	char b64[sodium_base64_ENCODED_LEN(32, sodium_base64_VARIANT_ORIGINAL)];
	int fd, rc = 1;

	crypto_box_keypair(pk, sk);
	fd = open(path, O_WRONLY | O_CREAT | O_EXCL | O_CLOEXEC, 0600);
	if (fd < 0) {
		perror(path);
		goto out;
	}
	sodium_bin2base64(b64, sizeof(b64), sk, sizeof(sk), sodium_base64_VARIANT_ORIGINAL);
	if (dprintf(fd, "%s\n", b64) < 0 || close(fd) < 0) {
		perror(path);
		goto out;
	}
	sodium_bin2base64(b64, sizeof(b64), pk, sizeof(pk), sodium_base64_VARIANT_ORIGINAL);
	printf("%s\n", b64);
	rc = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(b64, sizeof(b64));
	return rc;
}

/* One line of base64 from f into out (at most cap octets, *got of them): 0 or -1. */
static int read_b64(FILE *f, uint8_t *out, size_t cap, size_t *got)
{
	char line[512];
	int rc;

	*got = 0;
	if (!fgets(line, sizeof(line), f))
		return -1;
	line[strcspn(line, "\r\n")] = '\0';
	rc = sodium_base642bin(out, cap, line, strlen(line), NULL, got, NULL,
			       sodium_base64_VARIANT_ORIGINAL) == 0 ? 0 : -1;
	sodium_memzero(line, sizeof(line));
	return rc;
}

static bool all_zero(const uint8_t *p, size_t n)
{
	uint8_t acc = 0;

	for (size_t i = 0; i < n; i++)
		acc |= p[i];
	return acc == 0;
}

/* One opened entry (docs/calls.md "Recorder blob"): key || salt at their lengths. */
struct rec_entry {
	unsigned int dir, profile, key_len, salt_len;
	uint8_t key_salt[KEYTABLE_MASTER_KEY_MAX + KEYTABLE_MASTER_SALT_MAX];
};

/* Entry i of a blob of version v at e into r: NULL, or why it is malformed.
 * Checked: the direction (out first, then in), a known profile with its key
 * and salt lengths (v1: GCM's 12-octet salt only), zero padding. */
static const char *entry_parse(const uint8_t *e, unsigned int v, size_t i,
			       struct rec_entry *r)
{
	size_t salt_field = v == 1 ? KEYTABLE_MASTER_SALT_BYTES : KEYTABLE_MASTER_SALT_MAX;
	const uint8_t *key = e + CALLS_KEYS_ENTRY_HDR, *salt = key + KEYTABLE_MASTER_KEY_MAX;

	r->dir = e[0];
	r->profile = (unsigned int)e[2] << 8 | e[3];
	r->key_len = e[4];
	r->salt_len = v == 1 ? KEYTABLE_MASTER_SALT_BYTES : e[5];
	if (r->dir != (i == 0 ? KEYTABLE_DIR_OUT : KEYTABLE_DIR_IN))
		return "direction (the out entry first, then the in entry)";
	if (!keytable_master_key_len(r->profile))
		return "unknown profile";
	if (r->key_len != keytable_master_key_len(r->profile))
		return "key length is not the profile's";
	if (r->salt_len != keytable_master_salt_len(r->profile))
		return v == 1 ? "a v1 blob carries 12-octet (GCM) salts only" :
		       "salt length is not the profile's";
	if (e[1] != 0 || (v == 1 && e[5] != 0) || e[6] != 0 || e[7] != 0 ||
	    !all_zero(key + r->key_len, KEYTABLE_MASTER_KEY_MAX - r->key_len) ||
	    !all_zero(salt + r->salt_len, salt_field - r->salt_len))
		return "non-zero padding";
	memcpy(r->key_salt, key, r->key_len);
	memcpy(r->key_salt + r->key_len, salt, r->salt_len);
	return NULL;
}

static int open_blob(const char *path, const char *want)
{
	char b64[sodium_base64_ENCODED_LEN(KEYTABLE_MASTER_KEY_MAX + KEYTABLE_MASTER_SALT_MAX,
					   sodium_base64_VARIANT_ORIGINAL)];
	uint8_t sk[crypto_box_SECRETKEYBYTES], pk[crypto_box_PUBLICKEYBYTES];
	uint8_t sealed[CALLS_KEYS_SEALED_MAX + 1], plain[CALLS_KEYS_PLAIN_V2];
	uint8_t h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1], id[CALLS_ID_LEN + 1];
	struct rec_entry r[2];
	const uint8_t *p;
	const char *why;
	FILE *f = fopen(path, "r");
	unsigned int v;
	size_t n = 0, i;
	int rc = 1;

	memset(r, 0, sizeof(r));
	if (!f || read_b64(f, sk, sizeof(sk), &n) < 0 || n != sizeof(sk)) {
		fprintf(stderr, "callseal-recorder-open: %s: no base64 secret key\n", path);
		if (f)
			fclose(f);
		sodium_memzero(sk, sizeof(sk));
		return 1;
	}
	fclose(f);
	crypto_scalarmult_base(pk, sk);
	/* the version by the sealed length: v1 (GCM calls) or v2 (any profile) */
	if (read_b64(stdin, sealed, sizeof(sealed), &n) < 0 ||
	    (n != CALLS_KEYS_SEALED_V1 && n != CALLS_KEYS_SEALED_V2)) {
		fprintf(stderr, "callseal-recorder-open: stdin: not a sealed blob: expected "
			"one base64 line of %u (v1) or %u (v2) octets (truncated or "
			"garbled?)\n", CALLS_KEYS_SEALED_V1, CALLS_KEYS_SEALED_V2);
		goto out;
	}
	v = n == CALLS_KEYS_SEALED_V1 ? 1 : CALLS_KEYS_V2;
	if (crypto_box_seal_open(plain, sealed, n, pk, sk) != 0) {
		fprintf(stderr, "callseal-recorder-open: the keys are not sealed to this "
			"recorder (or were modified)\n");
		goto out;
	}
	/* v1: call id || 2 x entry(52); v2: 2, 0, 0, 0 || call id || 2 x entry(54) */
	p = plain;
	if (v == CALLS_KEYS_V2) {
		if (p[0] != CALLS_KEYS_V2 || !all_zero(p + 1, CALLS_KEYS_V2_HDR - 1)) {
			fprintf(stderr, "callseal-recorder-open: malformed blob: version %u, "
				"expected %u\n", p[0], CALLS_KEYS_V2);
			goto out;
		}
		p += CALLS_KEYS_V2_HDR;
	}
	memcpy(id, p, CALLS_ID_LEN);
	id[CALLS_ID_LEN] = '\0';
	p += CALLS_ID_LEN;
	for (i = 0; i < 2; i++) {
		why = entry_parse(p, v, i, &r[i]);
		if (why) {
			fprintf(stderr, "callseal-recorder-open: malformed v%u blob: entry %zu: "
				"%s\n", v, i, why);
			goto out;
		}
		p += v == 1 ? CALLS_KEYS_ENTRY_V1 : CALLS_KEYS_ENTRY_V2;
	}
	for (i = 0; i < 2; i++) {
		size_t len = r[i].key_len + r[i].salt_len;
		const char *dir = r[i].dir == KEYTABLE_DIR_OUT ? "out" : "in";

		if (want) {
			if (strcmp(want, dir) == 0) {
				sodium_bin2base64(b64, sizeof(b64), r[i].key_salt, len,
						  sodium_base64_VARIANT_ORIGINAL);
				printf("%s\n", b64);
				sodium_memzero(b64, sizeof(b64));
			}
			continue;
		}
		crypto_hash_sha256(h, r[i].key_salt, len);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		printf("call_id=%s %s profile=%u salt_len=%u version=%u key_sha256=%s\n", id,
		       dir, r[i].profile, r[i].salt_len, v, hex);
	}
	rc = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(plain, sizeof(plain));
	sodium_memzero(r, sizeof(r));
	return rc;
}

int main(int argc, char **argv)
{
	if (callseal_version_arg(argc, argv, "callseal-recorder-open"))
		return 0;
	if (sodium_init() < 0)
		return 1;
	if (argc == 3 && strcmp(argv[1], "--keygen") == 0)
		return keygen(argv[2]);
	if (argc == 2 && argv[1][0] != '-')
		return open_blob(argv[1], NULL);
	if (argc == 4 && strcmp(argv[1], "--inline") == 0 &&
	    (strcmp(argv[2], "out") == 0 || strcmp(argv[2], "in") == 0) && argv[3][0] != '-')
		return open_blob(argv[3], argv[2]);
	fprintf(stderr, "usage: callseal-recorder-open --keygen SECRET_FILE\n"
		"       callseal-recorder-open SECRET_FILE < SEALED_BASE64\n"
		"       callseal-recorder-open --inline out|in SECRET_FILE < SEALED_BASE64\n");
	return 2;
}
