/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * keytable_dump.c - callseal-keytable-dump: a test tool that attaches to a key
 * table read-only, independently of callseal-control, and prints one line per
 * entry:
 *
 *   LOCAL/DIR profile=P mode=M gen=G call_id=C key_sha256=H next_from=N next_sha256=H2
 *     mki=M lifetime=L next_mki=M2 next_lifetime=L2          (one line)
 *
 * H is the SHA-256 (hex) of master key || master salt, i.e. of the bytes an
 * RFC 4568 inline key decodes to, so a test can compare against the key it
 * installed without the key ever being printed. next_from and next_sha256
 * are "-" unless a next key is scheduled. M is the key's MKI (RFC 3711 s. 3.1)
 * in hex, its length implied ("-": none); L its lifetime in packets (0: the
 * profile's maximum); next_mki and next_lifetime those of the next key ("-"
 * unless one is scheduled). Lines are sorted (table order is
 * hash order). A first line "# count=N capacity=C writer_pid=P" precedes
 * them. Exit status 0, or 1 with a message if the table cannot be read.
 *
 * --show-keys (tests only: tests/integration/key_hygiene.sh looks for these
 * bytes in the processes' memory once a call has ended) also prints, after
 * each entry's line, the secrets of its current key and of its next key if
 * one is scheduled, one per line:
 *
 *   secret LOCAL/DIR cur|next NAME HEX
 *
 * NAME: master_key, master_salt, and the SRTP session keys derived from them
 * (RFC 3711 s. 4.3 KDF, RFC 7714 s. 11 labels): srtp_key, srtp_salt,
 * srtcp_key, srtcp_salt, and for the AES-CM profiles srtp_auth and srtcp_auth
 * too (RFC 3711 s. 4.3.2, 160-bit HMAC-SHA1 keys). Salts are the profile's
 * length: 12 bytes (GCM) or 14 (AES-CM). callsealctl has no such option: no program of the
 * product prints key bytes.
 *
 * usage: callseal-keytable-dump [--show-keys] NAME
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "callseal_version.h"
#include "csrtp.h"
#include "csrtp_kdf.h"
#include "keyspec.h"
#include "callseal/keytable.h"

#define LINE_MAX_BYTES 512

static void hash_master(const struct keytable_master *m, char hex[2 * crypto_hash_sha256_BYTES + 1])
{
	uint8_t buf[KEYTABLE_MASTER_KEY_MAX + KEYTABLE_MASTER_SALT_MAX];
	uint8_t h[crypto_hash_sha256_BYTES];
	size_t n = m->key_len <= KEYTABLE_MASTER_KEY_MAX ? m->key_len : KEYTABLE_MASTER_KEY_MAX;
	size_t sl = m->salt_len <= KEYTABLE_MASTER_SALT_MAX ? m->salt_len : KEYTABLE_MASTER_SALT_MAX;

	memcpy(buf, m->key, n);
	memcpy(buf + n, m->salt, sl);
	crypto_hash_sha256(h, buf, n + sl);
	sodium_bin2hex(hex, 2 * crypto_hash_sha256_BYTES + 1, h, sizeof(h));
	sodium_memzero(buf, sizeof(buf));
}

static int add_line(char ***lines, size_t *n, size_t *cap, char *line)
{
	if (*n == *cap) {
		char **nl = realloc(*lines, (*cap ? *cap * 2 : 64) * sizeof(**lines));

		if (nl == NULL) {
			free(line);
			return -1;
		}
		*lines = nl;
		*cap = *cap ? *cap * 2 : 64;
	}
	(*lines)[(*n)++] = line;
	return 0;
}

/* "secret LOCAL/DIR which NAME HEX" lines for master m and its session keys. */
static int add_secrets(IMB_MGR *mgr, const char *where, const char *which,
		       const struct keytable_master *m, char ***lines, size_t *n, size_t *cap)
{
	enum { KEY, SALT, AUTH };   /* what a derived key's length is */
	static const struct { const char *name; int label; int kind; } d[] = {
		{ "srtp_key", CSRTP_KDF_RTP_ENCRYPTION, KEY },
		{ "srtp_salt", CSRTP_KDF_RTP_SALT, SALT },
		{ "srtcp_key", CSRTP_KDF_RTCP_ENCRYPTION, KEY },
		{ "srtcp_salt", CSRTP_KDF_RTCP_SALT, SALT },
		{ "srtp_auth", CSRTP_KDF_RTP_AUTH, AUTH },    /* AES-CM only */
		{ "srtcp_auth", CSRTP_KDF_RTCP_AUTH, AUTH },
	};
	enum { AUTH_KEY_LEN = 20 };  /* RFC 3711 s. 8.2: n_a = 160 bits */
	uint8_t salt[CSRTP_KDF_SALT_LEN] = { 0 }, out[KEYTABLE_MASTER_KEY_MAX];
	char hex[2 * KEYTABLE_MASTER_KEY_MAX + 1];
	size_t klen = m->key_len <= KEYTABLE_MASTER_KEY_MAX ? m->key_len : 0;
	/* the profile's salt: 12 bytes (GCM, padded to 14 for the PRF) or 14 */
	size_t slen = m->salt_len <= CSRTP_KDF_SALT_LEN ? m->salt_len : 0;
	bool cm = slen == KEYTABLE_MASTER_SALT_CM;
	int last = cm ? 6 : 4;
	int rc = 0;

	memcpy(salt, m->salt, slen);
	for (int i = -2; i < last && rc == 0; i++) {
		const char *name = i == -2 ? "master_key" : i == -1 ? "master_salt" : d[i].name;
		size_t len = i == -2 ? klen : i == -1 ? slen : d[i].kind == SALT ? slen :
			     d[i].kind == AUTH ? AUTH_KEY_LEN : klen;
		char *line = malloc(LINE_MAX_BYTES);

		if (i == -2)
			memcpy(out, m->key, len);
		else if (i == -1)
			memcpy(out, m->salt, len);
		else if (csrtp_kdf_derive(mgr, m->key, klen, salt, (uint8_t)d[i].label, out,
					  len) != 0)
			rc = -1;
		if (line == NULL || rc != 0) {
			free(line);
			rc = -1;
			break;
		}
		sodium_bin2hex(hex, sizeof(hex), out, len);
		snprintf(line, LINE_MAX_BYTES, "secret %s %s %s %s", where, which, name, hex);
		rc = add_line(lines, n, cap, line);
	}
	sodium_memzero(out, sizeof(out));
	sodium_memzero(salt, sizeof(salt));
	sodium_memzero(hex, sizeof(hex));
	return rc;
}

/* "mki=HEX lifetime=N" fields of m; "-" for no MKI. */
static void fmt_mki_life(const struct keytable_master *m, const char *prefix, char *buf,
			 size_t len)
{
	char hex[2 * KEYTABLE_MKI_MAX + 1] = "-";

	if (m->mki_len > 0 && m->mki_len <= KEYTABLE_MKI_MAX)
		sodium_bin2hex(hex, sizeof(hex), m->mki, m->mki_len);
	snprintf(buf, len, "%smki=%s %slifetime=%" PRIu64, prefix, hex, prefix, m->lifetime);
}

static int cmp_lines(const void *a, const void *b)
{
	return strcmp(*(const char *const *)a, *(const char *const *)b);
}

int main(int argc, char **argv)
{
	char err[KEYTABLE_ERR_MAX], kb[KEYSPEC_KEY_STR], cb[KEYSPEC_CALL_ID_STR];
	char cur[2 * crypto_hash_sha256_BYTES + 1], nxt[2 * crypto_hash_sha256_BYTES + 1];
	char from[24], ml[64], nml[64];
	struct keytable *t = NULL;
	struct keytable_entry e;
	struct keytable_info info;
	char **lines = NULL;
	size_t n = 0, cap = 0, i;
	uint32_t cursor = 0;
	struct csrtp_engine *eng = NULL;
	bool show = argc == 3 && strcmp(argv[1], "--show-keys") == 0;
	int rc, status = 1;

	if (callseal_version_arg(argc, argv, "callseal-keytable-dump"))
		return 0;

	if (show) {
		argv++;
		argc--;
	}
	if (argc != 2 || strcmp(argv[1], "--help") == 0) {
		fprintf(argc == 2 ? stdout : stderr, "usage: callseal-keytable-dump "
			"[--show-keys] NAME\n"
			"Print each entry of /dev/shm/callseal.NAME (attached read-only) with\n"
			"a SHA-256 of its master key || salt instead of the key.\n"
			"--show-keys (tests only): also the key bytes, master and session.\n");
		return argc == 2 ? 0 : 2;
	}
	if (sodium_init() < 0)
		return 1;
	if (show && (eng = csrtp_engine_create(IMB_ARCH_NONE)) == NULL) {
		fprintf(stderr, "callseal-keytable-dump: no AES-NI: cannot derive session keys\n");
		return 1;
	}
	if (keytable_attach_reader(&t, argv[1], err, sizeof(err)) < 0) {
		fprintf(stderr, "callseal-keytable-dump: %s\n", err);
		return 1;
	}
	while ((rc = keytable_next(t, &cursor, &e)) == 1) {
		char *line;

		hash_master(&e.cur, cur);
		fmt_mki_life(&e.cur, "", ml, sizeof(ml));
		if (e.flags & KEYTABLE_F_NEXT) {
			hash_master(&e.next, nxt);
			fmt_mki_life(&e.next, "next_", nml, sizeof(nml));
			if (e.flags & KEYTABLE_F_NEXT_ON_AUTH)
				snprintf(from, sizeof(from), "on_auth%s",
					 e.flags & KEYTABLE_F_PREV ? "+prev" : "");
			else
				snprintf(from, sizeof(from), "%" PRIu64, e.next_from_index);
		} else {
			snprintf(nxt, sizeof(nxt), "-");
			snprintf(from, sizeof(from), "-");
			snprintf(nml, sizeof(nml), "next_mki=- next_lifetime=-");
		}
		keyspec_format_call_id(e.call_id, cb);
		line = malloc(LINE_MAX_BYTES);
		if (line == NULL)
			goto out;
		snprintf(line, LINE_MAX_BYTES, "%s profile=%s mode=%s gen=%" PRIu64
			 " call_id=%s key_sha256=%s next_from=%s next_sha256=%s %s %s",
			 keyspec_format_key(&e.key, kb), keyspec_profile_name(e.cur.profile),
			 keyspec_mode_name(e.mode), e.generation, cb[0] ? cb : "-", cur, from,
			 nxt, ml, nml);
		if (add_line(&lines, &n, &cap, line) < 0 ||
		    (show && (add_secrets(csrtp_engine_mgr(eng), kb, "cur", &e.cur, &lines, &n,
					  &cap) < 0 ||
			      ((e.flags & KEYTABLE_F_NEXT) &&
			       add_secrets(csrtp_engine_mgr(eng), kb, "next", &e.next, &lines,
					   &n, &cap) < 0)))) {
			keytable_wipe(&e, sizeof(e));
			goto out;
		}
		keytable_wipe(&e, sizeof(e));
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
	for (i = 0; i < n; i++) {
		sodium_memzero(lines[i], LINE_MAX_BYTES);
		free(lines[i]);
	}
	free(lines);
	csrtp_engine_destroy(eng);
	keytable_detach(t);
	return status;
}
