/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_keytable_attach.c - libFuzzer harness: attach to a key table file with
 * arbitrary contents (issue 14: a damaged table never hangs or crashes).
 *
 * Each input is written, byte for byte, to /dev/shm/callseal.fuzz-ka-<pid>
 * (mode 0600), which is then attached as a reader and as the writer (which
 * runs recovery). Each handle that attaches does look-ups of every kind
 * (keys taken from the input's slots, so probes also match, plus a fixed and
 * a wildcard key), refs, a full keytable_next listing and keytable_info; the
 * writer also replaces, schedules, deletes and adds. Then it detaches and
 * the object is removed. A refusal (-EPROTO, -EUCLEAN, ...) is a fine
 * outcome; a crash, a sanitizer report or a hang (run with -timeout=N) is not.
 *
 * Build (self-contained; from the repository root; the library needs the
 * project's -D_GNU_SOURCE):
 *   clang -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
 *     -Iinclude -Ilib/common -Ilib/keytable tests/fuzz/fuzz_keytable_attach.c \
 *     lib/keytable/{keys,reader,writer,journal,attach}.c lib/common/errbuf.c \
 *     -o fuzz_keytable_attach
 *   ./fuzz_keytable_attach -timeout=10 tests/fuzz/corpus/keytable_attach
 * Seeds in tests/fuzz/corpus/keytable_attach/: small valid tables (capacity
 * 8 or 16: 7168 or 10240 bytes) and damaged ones, including the full table
 * with a pending delete that hung the writer before issue 14.
 */
#include <errno.h>
#include <fcntl.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include "callseal/keytable.h"

#define FUZZ_KEYS     8u          /* keys taken from the input's first slots */
#define FUZZ_LIST_MAX (1u << 28)  /* keytable_next: more than any table's slots */

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static char name[KEYTABLE_NAME_MAX];
static char path[KEYTABLE_NAME_MAX + 16];

static int write_table(const uint8_t *data, size_t size)
{
	size_t off = 0;
	int fd;

	fd = shm_open(path, O_RDWR | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	if (fd < 0)
		return -errno;
	if (fchmod(fd, 0600) < 0)
		goto fail;
	while (off < size) {
		ssize_t n = write(fd, data + off, size - off);

		if (n <= 0)
			goto fail;
		off += (size_t)n;
	}
	close(fd);
	return 0;
fail:
	close(fd);
	return -EIO;
}

/* Keys: those stored in the input's first slots, a fixed one, a wildcard. */
static unsigned int make_keys(const uint8_t *data, size_t size,
			      struct keytable_key keys[FUZZ_KEYS + 2])
{
	static const uint8_t a[4] = { 10, 0, 0, 1 };
	unsigned int n = 0, i;

	for (i = 0; i < FUZZ_KEYS; i++) {
		size_t off = KEYTABLE_HEADER_SIZE + (size_t)i * KEYTABLE_ENTRY_SIZE +
			     offsetof(struct keytable_entry, key);

		if (off + sizeof(keys[0]) > size)
			break;
		memcpy(&keys[n++], data + off, sizeof(keys[0]));
	}
	keytable_key_ipv4(&keys[n++], a, 5004, KEYTABLE_DIR_IN);
	keytable_key_any(&keys[n++], 5004, KEYTABLE_DIR_IN);
	return n;
}

static void read_all(const struct keytable *t, const struct keytable_key keys[],
		     unsigned int n)
{
	struct keytable_entry out[FUZZ_KEYS + 2], e;
	struct keytable_ref refs[FUZZ_KEYS + 2];
	struct keytable_info info;
	uint8_t st[FUZZ_KEYS + 2];
	uint32_t cursor = 0, listed = 0;
	unsigned int i;

	(void)keytable_lookup_bulk(t, keys, n, out, st, refs);
	(void)keytable_lookup_bulk(t, keys, n, out, st, NULL);
	(void)keytable_lookup_bulk_ref(t, keys, n, refs, st);
	for (i = 0; i < n; i++) {
		struct keytable_ref r;

		if (st[i] == KEYTABLE_FOUND) {
			(void)keytable_read_ref(t, &refs[i], &e);
			(void)keytable_ref_current(t, &refs[i]);
		}
		if (keytable_get(t, &keys[i], &e, &r) == 0)
			(void)keytable_read_ref(t, &r, &e);
	}
	/* refs that point anywhere */
	refs[0].slot = UINT32_MAX;
	refs[0].generation = 1;
	(void)keytable_read_ref(t, &refs[0], &e);
	(void)keytable_ref_current(t, &refs[0]);
	while (keytable_next(t, &cursor, &e) == 1 && ++listed < FUZZ_LIST_MAX)
		;
	keytable_info(t, &info);
	(void)keytable_changes(t);
	keytable_wipe(out, sizeof(out));
	keytable_wipe(&e, sizeof(e));
}

static void write_some(struct keytable *t, const struct keytable_key keys[], unsigned int n)
{
	static const uint8_t key[32] = { 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16 };
	static const uint8_t salt[KEYTABLE_MASTER_SALT_BYTES] = { 1 };
	struct keytable_master m;
	struct keytable_entry e;
	uint32_t cursor = 0;
	unsigned int i;

	if (keytable_master_set(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, key, 16, salt) != 0)
		return;
	for (i = 0; i < n; i++) {
		(void)keytable_replace(t, &keys[i], &m, NULL);
		(void)keytable_schedule(t, &keys[i], &m, KEYTABLE_FROM_ON_AUTH, NULL);
		(void)keytable_advance(t, &keys[i], &m, NULL);
		(void)keytable_schedule(t, &keys[i], NULL, 0, NULL);
	}
	/* delete what the listing finds first, then every key, then add them */
	if (keytable_next(t, &cursor, &e) == 1)
		(void)keytable_delete(t, &e.key);
	for (i = 0; i < n; i++)
		(void)keytable_delete(t, &keys[i]);
	for (i = 0; i < n; i++)
		(void)keytable_add(t, &keys[i], KEYTABLE_MODE_STANDARD, &m, NULL, NULL);
	keytable_wipe(&m, sizeof(m));
	keytable_wipe(&e, sizeof(e));
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct keytable_key keys[FUZZ_KEYS + 2];
	struct keytable_recovery rec;
	struct keytable *t = NULL;
	char err[KEYTABLE_ERR_MAX];
	unsigned int n;

	if (name[0] == '\0') {
		snprintf(name, sizeof(name), "fuzz-ka-%d", (int)getpid());
		snprintf(path, sizeof(path), "/callseal.%s", name);
	}
	if (write_table(data, size) < 0)
		return 0;
	n = make_keys(data, size, keys);

	if (keytable_attach_reader(&t, name, err, sizeof(err)) == 0) {
		read_all(t, keys, n);
		keytable_detach(t);
		t = NULL;
	}
	if (keytable_attach_writer(&t, name, &rec, err, sizeof(err)) == 0) {
		read_all(t, keys, n);
		write_some(t, keys, n);
		read_all(t, keys, n);
		keytable_detach(t);
		t = NULL;
		/* a table a writer recovered and used must attach again */
		if (keytable_attach_reader(&t, name, err, sizeof(err)) != 0 ||
		    (read_all(t, keys, n), keytable_detach(t), t = NULL,
		     keytable_attach_writer(&t, name, &rec, err, sizeof(err)) != 0)) {
			fprintf(stderr, "a recovered table does not attach again: %s\n", err);
			abort();
		}
		keytable_detach(t);
	}
	shm_unlink(path);
	return 0;
}
