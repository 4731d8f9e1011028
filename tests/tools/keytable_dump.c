/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * keytable_dump.c - callseal-keytable-dump: a test tool that attaches to a key
 * table read-only, independently of callseal-control, and prints one line per
 * entry:
 *
 *   LOCAL/DIR profile=P mode=M gen=G call_id=C key_sha256=H next_from=N next_sha256=H2
 *
 * H is the SHA-256 (hex) of master key || master salt, i.e. of the bytes an
 * RFC 4568 inline key decodes to, so a test can compare against the key it
 * installed without the key ever being printed. next_from and next_sha256
 * are "-" unless a next key is scheduled. Lines are sorted (table order is
 * hash order). A first line "# count=N capacity=C writer_pid=P" precedes
 * them. Exit status 0, or 1 with a message if the table cannot be read.
 *
 * usage: callseal-keytable-dump NAME
 */
#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "keyspec.h"
#include "callseal/keytable.h"

#define LINE_MAX_BYTES 512

static void hash_master(const struct keytable_master *m, char hex[2 * crypto_hash_sha256_BYTES + 1])
{
	uint8_t buf[KEYTABLE_MASTER_KEY_MAX + KEYTABLE_MASTER_SALT_BYTES];
	uint8_t h[crypto_hash_sha256_BYTES];
	size_t n = m->key_len <= KEYTABLE_MASTER_KEY_MAX ? m->key_len : KEYTABLE_MASTER_KEY_MAX;

	memcpy(buf, m->key, n);
	memcpy(buf + n, m->salt, KEYTABLE_MASTER_SALT_BYTES);
	crypto_hash_sha256(h, buf, n + KEYTABLE_MASTER_SALT_BYTES);
	sodium_bin2hex(hex, 2 * crypto_hash_sha256_BYTES + 1, h, sizeof(h));
	sodium_memzero(buf, sizeof(buf));
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv)
{
	char err[KEYTABLE_ERR_MAX], kb[KEYSPEC_KEY_STR], cb[KEYSPEC_CALL_ID_STR];
	char cur[2 * crypto_hash_sha256_BYTES + 1], nxt[2 * crypto_hash_sha256_BYTES + 1];
	char from[24];
	struct keytable *t = NULL;
	struct keytable_entry e;
	struct keytable_info info;
	char **lines = NULL;
	size_t n = 0, cap = 0, i;
	uint32_t cursor = 0;
	int rc, status = 1;

	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc == 2 ? stdout : stderr, "usage: callseal-keytable-dump NAME\n"
			"Print each entry of /dev/shm/callseal.NAME (attached read-only) with\n"
			"a SHA-256 of its master key || salt instead of the key.\n");
		return argc == 2 ? 0 : 2;
	}
	if (sodium_init() < 0)
		return 1;
	if (keytable_attach_reader(&t, argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "callseal-keytable-dump: %s\n", err);
		return 1;
	}
	while ((rc = keytable_next(t, &cursor, &e)) == 1) {
		char *line;

		hash_master(&e.cur, cur);
		if (e.flags & KEYTABLE_F_NEXT) {
			hash_master(&e.next, nxt);
			if (e.flags & KEYTABLE_F_NEXT_ON_AUTH)
				snprintf(from, sizeof(from), "on_auth%s",
					 e.flags & KEYTABLE_F_PREV ? "+prev" : "");
			else
				snprintf(from, sizeof(from), "%" PRIu64, e.next_from_index);
		} else {
			snprintf(nxt, sizeof(nxt), "-");
			snprintf(from, sizeof(from), "-");
		}
		keyspec_format_call_id(e.call_id, cb);
		line = malloc(LINE_MAX_BYTES);
		if (line == NULL)
			goto out;
		snprintf(line, LINE_MAX_BYTES, "%s profile=%s mode=%s gen=%" PRIu64
			 " call_id=%s key_sha256=%s next_from=%s next_sha256=%s",
			 keyspec_format_key(&e.key, kb), keyspec_profile_name(e.cur.profile),
			 keyspec_mode_name(e.mode), e.generation, cb[0] ? cb : "-", cur, from,
			 nxt);
		keytable_wipe(&e, sizeof(e));
		if (n == cap) {
			char **nl = realloc(lines, (cap ? cap * 2 : 64) * sizeof(*lines));

			if (nl == NULL) {
				free(line);
				goto out;
			}
			lines = nl;
			cap = cap ? cap * 2 : 64;
		}
		lines[n++] = line;
	}
	keytable_wipe(&e, sizeof(e));
	if (rc < 0) {
		fprintf(stderr, "callseal-keytable-dump: table callseal.%s: an entry stayed "
			"busy\n", argv[1]);
		goto out;
	}
	keytable_info(t, &info);
	if (n > 0)
		qsort(lines, n, sizeof(*lines), cmp_lines);
	printf("# count=%u capacity=%u writer_pid=%u\n", info.count, info.capacity,
	       info.writer_pid);
	for (i = 0; i < n; i++)
		printf("%s\n", lines[i]);
	status = 0;
out:
	for (i = 0; i < n; i++)
		free(lines[i]);
	free(lines);
	keytable_detach(t);
	return status;
}
