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
 *       opens what `call keys ID` printed and prints, per direction,
 *       "call_id=ID DIR profile=P key_sha256=H" where H is SHA-256 over
 *       key || salt, the same digest callseal-keytable-dump prints, so a
 *       test compares keys without either tool printing key bytes.
 *   callseal-recorder-open --inline DIR SECRET_FILE < SEALED_BASE64
 *       what a recorder does with them: prints the base64 of key || salt of
 *       direction DIR (out or in) as the sealing side uses it, for libsrtp2
 *       (callseal-srtpcheck --inline) to decrypt recorded media
 *       (calls_tenant_media).
 * Exit status 0, 1 when the blob does not open or is malformed, 2 on usage.
 */
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <sodium.h>

#include "callseal_version.h"
#include "calls.h"
#include "callseal/keytable.h"

#define ENTRY_LEN (8u + KEYTABLE_MASTER_KEY_MAX + KEYTABLE_MASTER_SALT_BYTES)

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

/* One line of base64 from f into out (exactly n octets): 0 or -1. */
static int read_b64(FILE *f, uint8_t *out, size_t n)
{
	char line[512];
	size_t got = 0;
	int rc;

	if (!fgets(line, sizeof(line), f))
		return -1;
	line[strcspn(line, "\r\n")] = '\0';
	rc = sodium_base642bin(out, n, line, strlen(line), NULL, &got, NULL,
			       sodium_base64_VARIANT_ORIGINAL) == 0 && got == n ? 0 : -1;
	sodium_memzero(line, sizeof(line));
	return rc;
}

static int open_blob(const char *path, const char *want)
{
	char b64[sodium_base64_ENCODED_LEN(KEYTABLE_MASTER_KEY_MAX + KEYTABLE_MASTER_SALT_BYTES,
					   sodium_base64_VARIANT_ORIGINAL)];
	uint8_t sk[crypto_box_SECRETKEYBYTES], pk[crypto_box_PUBLICKEYBYTES];
	uint8_t sealed[CALLS_KEYS_SEALED], plain[CALLS_KEYS_PLAIN], h[crypto_hash_sha256_BYTES];
	char hex[2 * crypto_hash_sha256_BYTES + 1], id[CALLS_ID_LEN + 1];
	FILE *f = fopen(path, "r");
	int rc = 1;

	if (!f || read_b64(f, sk, sizeof(sk)) < 0) {
		fprintf(stderr, "callseal-recorder-open: %s: no base64 secret key\n", path);
		if (f)
			fclose(f);
		return 1;
	}
	fclose(f);
	crypto_scalarmult_base(pk, sk);
	if (read_b64(stdin, sealed, sizeof(sealed)) < 0) {
		fprintf(stderr, "callseal-recorder-open: stdin: expected %u octets in base64\n",
			CALLS_KEYS_SEALED);
		goto out;
	}
	if (crypto_box_seal_open(plain, sealed, sizeof(sealed), pk, sk) != 0) {
		fprintf(stderr, "callseal-recorder-open: the keys are not sealed to this "
			"recorder (or were modified)\n");
		goto out;
	}
	memcpy(id, plain, CALLS_ID_LEN);
	id[CALLS_ID_LEN] = '\0';
	/* call id || 2 x (dir, 0, profile BE16, key_len, 0, 0, 0, key[32], salt[12]) */
	for (size_t i = 0; i < 2; i++) {
		const uint8_t *e = plain + CALLS_ID_LEN + i * ENTRY_LEN;
		size_t klen = e[4];

		if ((e[0] != KEYTABLE_DIR_OUT && e[0] != KEYTABLE_DIR_IN) ||
		    (klen != 16 && klen != 32)) {
			fprintf(stderr, "callseal-recorder-open: malformed entry %zu\n", i);
			goto out;
		}
		memmove((uint8_t *)e + 8 + klen, e + 8 + KEYTABLE_MASTER_KEY_MAX,
			KEYTABLE_MASTER_SALT_BYTES);
		if (want) {
			if (strcmp(want, e[0] == KEYTABLE_DIR_OUT ? "out" : "in") == 0) {
				sodium_bin2base64(b64, sizeof(b64), e + 8,
						  klen + KEYTABLE_MASTER_SALT_BYTES,
						  sodium_base64_VARIANT_ORIGINAL);
				printf("%s\n", b64);
				sodium_memzero(b64, sizeof(b64));
			}
			continue;
		}
		crypto_hash_sha256(h, e + 8, klen + KEYTABLE_MASTER_SALT_BYTES);
		sodium_bin2hex(hex, sizeof(hex), h, sizeof(h));
		printf("call_id=%s %s profile=%u key_sha256=%s\n", id,
		       e[0] == KEYTABLE_DIR_OUT ? "out" : "in", (unsigned int)(e[2] << 8 | e[3]),
		       hex);
	}
	rc = 0;
out:
	sodium_memzero(sk, sizeof(sk));
	sodium_memzero(plain, sizeof(plain));
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
