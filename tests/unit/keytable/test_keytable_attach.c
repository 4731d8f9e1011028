/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The key table's roles, lock and persistence (read-only readers, a second
 * writer, a writer's death), its refusals at attach (magic, ABI, sizes, a
 * short file, permissions, owner, unlink), and recovery from a dead writer
 * forged through the documented layout.
 */
#include "test_keytable.h"

/* ---- roles, lock, persistence -------------------------------------------- */

void test_reader_read_only(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10), *r = NULL;
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_entry e;
	struct keytable_info in;
	char line[512], want[128];
	unsigned int maps = 0;
	FILE *fp;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 1);
	key4(&k, 1, 5004, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	keytable_detach(t);

	assert_int_equal(keytable_attach_reader(&r, f->name, f->err, sizeof(f->err)), 0);
	keytable_info(r, &in);
	assert_false(in.writable);
	assert_int_equal(keytable_get(r, &k, &e, NULL), 0);
	assert_int_equal(keytable_add(r, &k, 1, &m, call_id, NULL), -EPERM);
	assert_non_null(strstr(keytable_last_error(r), "read-only"));
	assert_int_equal(keytable_replace(r, &k, &m, NULL), -EPERM);
	assert_int_equal(keytable_schedule(r, &k, &m, 1, NULL), -EPERM);
	assert_int_equal(keytable_delete(r, &k), -EPERM);

	/* the mapping itself is PROT_READ ("r--s" in /proc/self/maps) */
	snprintf(want, sizeof(want), "/dev/shm/callseal.%s", f->name);
	fp = fopen("/proc/self/maps", "r");
	assert_non_null(fp);
	while (fgets(line, sizeof(line), fp) != NULL) {
		char *sp = strchr(line, ' ');

		if (strstr(line, want) == NULL || sp == NULL)
			continue;
		assert_memory_equal(sp + 1, "r--s", 4);
		maps++;
	}
	fclose(fp);
	assert_int_equal(maps, 1);
	keytable_detach(r);
}

void test_second_writer(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10), *t2 = NULL;
	char want[64];
	int p[2], st;
	pid_t pid;
	char c;

	/* another open of the same table, even in this process, is refused */
	assert_int_equal(keytable_attach_writer(&t2, f->name, NULL, f->err, sizeof(f->err)),
			 -EBUSY);
	snprintf(want, sizeof(want), "is held by writer pid %d", (int)getpid());
	assert_non_null(strstr(f->err, want));
	assert_int_equal(keytable_unlink(f->name, f->err, sizeof(f->err)), -EBUSY);
	/* a reader attaching and detaching does not drop the writer's lock */
	assert_int_equal(keytable_attach_reader(&t2, f->name, f->err, sizeof(f->err)), 0);
	keytable_detach(t2);
	t2 = NULL;
	assert_int_equal(keytable_attach_writer(&t2, f->name, NULL, f->err, sizeof(f->err)),
			 -EBUSY);
	keytable_detach(t);

	/* a writer in another process: named by its pid; its death frees it */
	assert_int_equal(pipe(p), 0);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct keytable *w = NULL;

		close(p[0]);
		if (keytable_attach_writer(&w, f->name, NULL, NULL, 0) != 0)
			_exit(1);
		if (write(p[1], "x", 1) != 1)
			_exit(2);
		pause();                      /* until killed: never detaches */
		_exit(0);
	}
	close(p[1]);
	assert_int_equal(read(p[0], &c, 1), 1);   /* the child holds the lock */
	close(p[0]);
	assert_int_equal(keytable_attach_writer(&t2, f->name, NULL, f->err, sizeof(f->err)),
			 -EBUSY);
	snprintf(want, sizeof(want), "is held by writer pid %d", (int)pid);
	assert_non_null(strstr(f->err, want));
	kill(pid, SIGKILL);
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_int_equal(keytable_attach_writer(&t2, f->name, NULL, f->err, sizeof(f->err)), 0);
	keytable_detach(t2);
}

void test_survives_writer_death(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 1000), *r = NULL;
	struct keytable_recovery rec;
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_entry e;
	struct keytable_info in;
	unsigned int i;
	int st;
	pid_t pid;

	keytable_detach(t);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		struct keytable *w = NULL;

		if (keytable_attach_writer(&w, f->name, NULL, NULL, 0) != 0)
			_exit(1);
		for (i = 0; i < 500; i++) {
			master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, (uint8_t)i);
			key4(&k, (uint8_t)i, (uint16_t)(1000 + i), KEYTABLE_DIR_IN);
			if (keytable_add(w, &k, 1, &m, call_id, NULL) != 0)
				_exit(2);
		}
		raise(SIGKILL);              /* no detach, no exit handlers */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL);

	assert_int_equal(keytable_attach_reader(&r, f->name, f->err, sizeof(f->err)), 0);
	for (i = 0; i < 500; i++) {
		master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, (uint8_t)i);
		key4(&k, (uint8_t)i, (uint16_t)(1000 + i), KEYTABLE_DIR_IN);
		assert_int_equal(keytable_get(r, &k, &e, NULL), 0);
		assert_memory_equal(e.cur.key, m.key, 16);
	}
	/* a new writer: a clean table needs no recovery */
	assert_int_equal(keytable_attach_writer(&t, f->name, &rec, f->err, sizeof(f->err)), 0);
	assert_int_equal(rec.journal_op, KEYTABLE_JOP_NONE);
	assert_int_equal(rec.rolled_back + rec.completed + rec.wiped, 0);
	assert_int_equal(rec.prev_writer_pid, pid);
	keytable_info(t, &in);
	assert_int_equal(in.count, 500);
	assert_int_equal(in.writer_pid, getpid());
	assert_int_equal(in.writer_epoch, 3);
	keytable_detach(t);
	keytable_detach(r);
}

/* ---- refusals at attach ---------------------------------------------------- */

static void expect_refused(struct fx *f, int want_rc, const char *want_msg)
{
	struct keytable *t = NULL;

	assert_int_equal(keytable_attach_reader(&t, f->name, f->err, sizeof(f->err)), want_rc);
	assert_null(t);
	if (strstr(f->err, want_msg) == NULL)
		fail_msg("reader: \"%s\" lacks \"%s\"", f->err, want_msg);
	assert_int_equal(keytable_attach_writer(&t, f->name, NULL, f->err, sizeof(f->err)),
			 want_rc);
	assert_null(t);
	if (strstr(f->err, want_msg) == NULL)
		fail_msg("writer: \"%s\" lacks \"%s\"", f->err, want_msg);
}

static void pwrite32(struct fx *f, size_t off, uint32_t v)
{
	int fd = shm_fd(f);

	assert_int_equal(pwrite(fd, &v, sizeof(v), (off_t)off), sizeof(v));
	close(fd);
}

void test_bad_magic(void **state)
{
	struct fx *f = *state;
	uint64_t junk = UINT64_C(0x1122334455667788);
	int fd;

	keytable_detach(make(f, 10));
	fd = shm_fd(f);
	assert_int_equal(pwrite(fd, &junk, 8, 0), 8);
	close(fd);
	expect_refused(f, -EPROTO, "is not a callseal key table (bad magic "
				   "0x1122334455667788)");
	junk = 0;
	fd = shm_fd(f);
	assert_int_equal(pwrite(fd, &junk, 8, 0), 8);
	close(fd);
	expect_refused(f, -EPROTO, "creator died");
}

void test_wrong_abi(void **state)
{
	struct fx *f = *state;
	char want[256];

	keytable_detach(make(f, 10));
	/* ABI 1 (before the on-auth rekey flags): refused, both ways */
	pwrite32(f, offsetof(struct keytable_header, abi_version), 1);
	snprintf(want, sizeof(want), "table callseal.%s was made by ABI 1, this build reads "
		 "ABI %u", f->name, KEYTABLE_ABI_VERSION);
	expect_refused(f, -EPROTO, want);
	/* ABI 2 (12-byte salts, before AES-CM): an older table, remove it */
	pwrite32(f, offsetof(struct keytable_header, abi_version), 2);
	snprintf(want, sizeof(want), "table callseal.%s was made by ABI 2, this build reads "
		 "ABI 4 (an older table: remove it", f->name);
	expect_refused(f, -EPROTO, want);
	/* ABI 3 (192-byte entries, no MKI or lifetime): the same, and what to do */
	pwrite32(f, offsetof(struct keytable_header, abi_version), 3);
	snprintf(want, sizeof(want), "table callseal.%s was made by ABI 3, this build reads "
		 "ABI 4 (an older table: remove it and let this version's control re-create "
		 "it)", f->name);
	expect_refused(f, -EPROTO, want);
	/* ABI 3 with its own entry size too: the ABI is what the message names */
	pwrite32(f, offsetof(struct keytable_header, entry_size), 192);
	expect_refused(f, -EPROTO, want);
	pwrite32(f, offsetof(struct keytable_header, entry_size), KEYTABLE_ENTRY_SIZE);
	pwrite32(f, offsetof(struct keytable_header, abi_version), KEYTABLE_ABI_VERSION + 1);
	expect_refused(f, -EPROTO, "this build reads");
}

void test_wrong_sizes(void **state)
{
	struct fx *f = *state;

	keytable_detach(make(f, 10));
	/* ABI 3's entry size under ABI 4's number */
	pwrite32(f, offsetof(struct keytable_header, entry_size), 192);
	expect_refused(f, -EPROTO, "192-byte entries; ABI 4 has 4096 and 256");
	pwrite32(f, offsetof(struct keytable_header, entry_size), KEYTABLE_ENTRY_SIZE);
	pwrite32(f, offsetof(struct keytable_header, header_size), 64);
	expect_refused(f, -EPROTO, "64-byte header");
	pwrite32(f, offsetof(struct keytable_header, header_size), KEYTABLE_HEADER_SIZE);
	pwrite32(f, offsetof(struct keytable_header, capacity), 100000);
	expect_refused(f, -EPROTO, "bad geometry");
	pwrite32(f, offsetof(struct keytable_header, capacity), 10);
	pwrite32(f, offsetof(struct keytable_header, slot_bits), 40);
	expect_refused(f, -EPROTO, "bad geometry");
}

void test_short_file(void **state)
{
	struct fx *f = *state;
	int fd;

	keytable_detach(make(f, 10));
	/* slots missing: the header is fine, the file is not */
	fd = shm_fd(f);
	assert_int_equal(ftruncate(fd, KEYTABLE_HEADER_SIZE + 100), 0);
	close(fd);
	expect_refused(f, -EPROTO, "truncated");
	/* shorter than a header */
	fd = shm_fd(f);
	assert_int_equal(ftruncate(fd, 100), 0);
	close(fd);
	expect_refused(f, -EPROTO, "is too short (100 bytes");
	/* empty: a creator that died at once */
	fd = shm_fd(f);
	assert_int_equal(ftruncate(fd, 0), 0);
	close(fd);
	expect_refused(f, -EPROTO, "is too short (0 bytes");
	/* removable all the same */
	assert_int_equal(keytable_unlink(f->name, f->err, sizeof(f->err)), 0);
	expect_refused(f, -ENOENT, "does not exist");
}

void test_wrong_permissions(void **state)
{
	struct fx *f = *state;
	int fd;

	keytable_detach(make(f, 10));
	fd = shm_fd(f);
	assert_int_equal(fchmod(fd, 0640), 0);
	close(fd);
	expect_refused(f, -EACCES, "has mode 0640: it must be 0600");
	fd = shm_fd(f);
	assert_int_equal(fchmod(fd, 0606), 0);
	close(fd);
	expect_refused(f, -EACCES, "has mode 0606");
	fd = shm_fd(f);
	assert_int_equal(fchmod(fd, 0600), 0);
	close(fd);
	{
		struct keytable *t = NULL;

		assert_int_equal(keytable_attach_reader(&t, f->name, f->err, sizeof(f->err)), 0);
		keytable_detach(t);
	}
}

void test_wrong_owner(void **state)
{
	struct fx *f = *state;
	char want[96];
	int fd;

	if (geteuid() != 0) {
		skip();  /* only root can give a file away */
		return;
	}
	keytable_detach(make(f, 10));
	fd = shm_fd(f);
	assert_int_equal(fchown(fd, 12345, 12345), 0);
	close(fd);
	snprintf(want, sizeof(want), "is owned by uid 12345, not by this user (uid %u)",
		 (unsigned int)geteuid());
	expect_refused(f, -EPERM, want);
	assert_int_equal(keytable_unlink(f->name, f->err, sizeof(f->err)), -EPERM);
}

void test_unlink(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10), *r = NULL;
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_entry e;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 1);
	key4(&k, 1, 1000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	assert_int_equal(keytable_attach_reader(&r, f->name, f->err, sizeof(f->err)), 0);
	keytable_detach(t);
	assert_int_equal(keytable_unlink(f->name, f->err, sizeof(f->err)), 0);
	/* an attached reader keeps its mapping */
	assert_int_equal(keytable_get(r, &k, &e, NULL), 0);
	keytable_detach(r);
	assert_int_equal(keytable_attach_reader(&r, f->name, f->err, sizeof(f->err)), -ENOENT);
}

/* ---- recovery from a forged dead writer ----------------------------------
 * These write the file directly through the documented layout (as a second
 * implementation would), to leave what a writer killed mid-operation leaves. */

static off_t slot_off(uint32_t slot)
{
	return (off_t)KEYTABLE_HEADER_SIZE + (off_t)slot * KEYTABLE_ENTRY_SIZE;
}

void test_recover_replace(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10), *r = NULL;
	struct keytable_recovery rec;
	struct keytable_master m, m2;
	struct keytable_key k, k2;
	struct keytable_entry img, e, out[2];
	struct keytable_ref ref;
	struct keytable_header h;
	struct keytable_info in;
	uint8_t st[2];
	uint32_t op = KEYTABLE_JOP_REPLACE;
	int fd;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 31);
	master(&m2, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 32);
	key4(&k, 1, 5004, KEYTABLE_DIR_OUT);
	key4(&k2, 2, 5004, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	assert_int_equal(keytable_add(t, &k2, 1, &m2, call_id, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e, &ref), 0);
	keytable_detach(t);

	/* a replace of k that died halfway: journal armed with the undo
	 * image, slot odd, half of the new key written */
	fd = shm_fd(f);
	assert_int_equal(pread(fd, &img, sizeof(img), slot_off(ref.slot)), sizeof(img));
	assert_int_equal(pwrite(fd, &img, sizeof(img), offsetof(struct keytable_header,
			 journal.undo)), sizeof(img));
	assert_int_equal(pwrite(fd, &ref.slot, 4, offsetof(struct keytable_header,
			 journal.slot)), 4);
	assert_int_equal(pwrite(fd, &op, 4, offsetof(struct keytable_header, journal.op)), 4);
	img.seq++;
	memset(img.cur.key, 0x5A, 16);
	assert_int_equal(pwrite(fd, &img, sizeof(img), slot_off(ref.slot)), sizeof(img));
	close(fd);

	/* a reader meanwhile: the torn key is busy (never returned), others fine */
	assert_int_equal(keytable_attach_reader(&r, f->name, f->err, sizeof(f->err)), 0);
	assert_int_equal(keytable_get(r, &k, &e, NULL), -EBUSY);
	out[0].state = 7;
	assert_int_equal(keytable_lookup_bulk(r, (struct keytable_key[]){ k, k2 }, 2, out, st,
					      NULL), 1);
	assert_int_equal(st[0], KEYTABLE_BUSY);
	assert_int_equal(out[0].state, 0);
	assert_int_equal(st[1], KEYTABLE_FOUND);

	/* the next writer rolls it back */
	assert_int_equal(keytable_attach_writer(&t, f->name, &rec, f->err, sizeof(f->err)), 0);
	assert_int_equal(rec.journal_op, KEYTABLE_JOP_REPLACE);
	assert_int_equal(rec.rolled_back, 1);
	assert_int_equal(rec.wiped, 0);
	assert_int_equal(keytable_get(r, &k, &e, NULL), 0);
	assert_int_equal(e.generation, ref.generation);
	assert_memory_equal(e.cur.key, m.key, 32);
	keytable_info(t, &in);
	assert_int_equal(in.count, 2);
	assert_int_equal(in.recoveries, 1);
	/* the journal is clean and holds no key bytes */
	fd = shm_fd(f);
	assert_int_equal(pread(fd, &h, sizeof(h), 0), sizeof(h));
	close(fd);
	assert_int_equal(h.journal.op, KEYTABLE_JOP_NONE);
	assert_int_equal(h.journal.undo.cur.key_len, 0);
	keytable_detach(t);
	keytable_detach(r);
}

void test_recover_odd_and_corrupt(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10);
	struct keytable_recovery rec;
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_entry img, e;
	struct keytable_ref ref;
	uint32_t op;
	int fd;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 1);
	key4(&k, 1, 5004, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e, &ref), 0);
	keytable_detach(t);

	/* an add that died with the slot half written (journal ADD) */
	fd = shm_fd(f);
	op = KEYTABLE_JOP_ADD;
	assert_int_equal(pread(fd, &img, sizeof(img), slot_off(ref.slot)), sizeof(img));
	img.seq++;
	assert_int_equal(pwrite(fd, &img, sizeof(img), slot_off(ref.slot)), sizeof(img));
	assert_int_equal(pwrite(fd, &ref.slot, 4, offsetof(struct keytable_header,
			 journal.slot)), 4);
	assert_int_equal(pwrite(fd, &op, 4, offsetof(struct keytable_header, journal.op)), 4);
	close(fd);
	assert_int_equal(keytable_attach_writer(&t, f->name, &rec, f->err, sizeof(f->err)), 0);
	assert_int_equal(rec.rolled_back, 1);
	assert_int_equal(keytable_get(t, &k, &e, NULL), -ENOENT);
	assert_false(file_has(f, m.key, 16));
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e, &ref), 0);
	keytable_detach(t);

	/* a damaged journal: refused, clearly */
	op = 99;
	pwrite32(f, offsetof(struct keytable_header, journal.op), op);
	assert_int_equal(keytable_attach_writer(&t, f->name, &rec, f->err, sizeof(f->err)),
			 -EUCLEAN);
	assert_non_null(strstr(f->err, "journal is damaged (op 99"));
	assert_non_null(strstr(f->err, "cannot recover"));
	/* readers still read it */
	{
		struct keytable *r = NULL;

		assert_int_equal(keytable_attach_reader(&r, f->name, f->err, sizeof(f->err)), 0);
		assert_int_equal(keytable_get(r, &k, &e, NULL), 0);
		keytable_detach(r);
	}
}
