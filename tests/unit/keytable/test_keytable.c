/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_keytable.c - unit tests for the shared-memory key table (keytable.h):
 * the runner (main), the fixture and helpers, and the life cycle (create,
 * info, refusals, attaching to nothing). Operations are in
 * test_keytable_ops.c; roles, the lock, persistence, refusals at attach and
 * recovery in test_keytable_attach.c. Tables are
 * /dev/shm/callseal.kt-<pid>-<n> and are removed by each test's teardown.
 */
#include "test_keytable.h"

static int setup(void **state)
{
	static unsigned int n;
	struct fx *f = calloc(1, sizeof(*f));

	if (f == NULL)
		return -1;
	snprintf(f->name, sizeof(f->name), "kt-%d-%u", (int)getpid(), n++);
	snprintf(f->path, sizeof(f->path), "/callseal.%s", f->name);
	shm_unlink(f->path);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	shm_unlink(f->path);
	free(f);
	return 0;
}

/* A recognisable key: bytes seed, seed+1, ... (never all zero). */
void master(struct keytable_master *m, unsigned int profile, uint8_t seed)
{
	uint8_t key[32], salt[12];
	unsigned int i, len = profile == KEYTABLE_PROFILE_AEAD_AES_256_GCM ? 32 : 16;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(seed + 7 * i + 1);
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(seed ^ (0xA5 + i));
	assert_int_equal(keytable_master_set(m, profile, key, len, salt), 0);
}

void key4(struct keytable_key *k, uint8_t last, uint16_t port, unsigned int dir)
{
	const uint8_t a[4] = { 10, 0, 0, last };

	keytable_key_ipv4(k, a, port, dir);
}

void key6(struct keytable_key *k, uint8_t last, uint16_t port, unsigned int dir)
{
	uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	a[15] = last;
	keytable_key_ipv6(k, a, port, dir);
}

const uint8_t call_id[KEYTABLE_CALL_ID_BYTES] = "call-0123456789";

/* The whole shared-memory file, for "are the key bytes gone?" checks. */
static uint8_t *read_file(const struct fx *f, size_t *len)
{
	char p[128];
	struct stat st;
	uint8_t *buf;
	int fd;

	snprintf(p, sizeof(p), "/dev/shm/callseal.%s", f->name);
	fd = open(p, O_RDONLY);
	assert_true(fd >= 0);
	assert_int_equal(fstat(fd, &st), 0);
	buf = malloc((size_t)st.st_size);
	assert_non_null(buf);
	assert_int_equal(pread(fd, buf, (size_t)st.st_size, 0), st.st_size);
	close(fd);
	*len = (size_t)st.st_size;
	return buf;
}

bool file_has(const struct fx *f, const void *needle, size_t n)
{
	size_t len;
	uint8_t *buf = read_file(f, &len);
	bool found = memmem(buf, len, needle, n) != NULL;

	free(buf);
	return found;
}

int shm_fd(const struct fx *f)
{
	int fd = shm_open(f->path, O_RDWR, 0);

	assert_true(fd >= 0);
	return fd;
}

struct keytable *make(struct fx *f, uint32_t cap)
{
	struct keytable *t = NULL;

	assert_int_equal(keytable_create(&t, f->name, cap, f->err, sizeof(f->err)), 0);
	assert_non_null(t);
	return t;
}

/* ---- life cycle ------------------------------------------------------------ */

static void test_create_info(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 1000), *t2 = NULL;
	struct keytable_info in;
	struct stat st;
	int fd = shm_fd(f);

	keytable_info(t, &in);
	assert_int_equal(in.abi_version, KEYTABLE_ABI_VERSION);
	assert_int_equal(in.capacity, 1000);
	assert_int_equal(in.slots, 2048);
	assert_int_equal(in.count, 0);
	assert_int_equal(in.writer_pid, getpid());
	assert_true(in.writable);
	assert_int_equal(in.table_bytes, KEYTABLE_HEADER_SIZE + 2048 * KEYTABLE_ENTRY_SIZE);
	assert_int_equal(fstat(fd, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	assert_int_equal((uint64_t)st.st_size, in.table_bytes);
	close(fd);

	/* exists already */
	assert_int_equal(keytable_create(&t2, f->name, 10, f->err, sizeof(f->err)), -EEXIST);
	assert_null(t2);
	assert_non_null(strstr(f->err, "already exists"));
	keytable_detach(t);
	keytable_detach(NULL);
}

static void test_create_refusals(void **state)
{
	struct fx *f = *state;
	struct keytable *t = NULL;
	char longname[100];

	assert_int_equal(keytable_create(&t, f->name, 0, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "capacity 0"));
	assert_int_equal(keytable_create(&t, f->name, KEYTABLE_CAPACITY_MAX + 1, f->err,
					 sizeof(f->err)), -EINVAL);
	assert_int_equal(keytable_create(&t, "a/b", 10, f->err, sizeof(f->err)), -EINVAL);
	assert_non_null(strstr(f->err, "A-Z"));
	assert_int_equal(keytable_create(&t, "", 10, f->err, sizeof(f->err)), -EINVAL);
	assert_int_equal(keytable_create(&t, "..", 10, f->err, sizeof(f->err)), -EINVAL);
	memset(longname, 'x', sizeof(longname) - 1);
	longname[sizeof(longname) - 1] = '\0';
	assert_int_equal(keytable_create(&t, longname, 10, f->err, sizeof(f->err)), -EINVAL);
	assert_null(t);
	/* NULL / zero-length error buffers are fine */
	assert_int_equal(keytable_create(&t, "a/b", 10, NULL, 0), -EINVAL);
}

static void test_attach_missing(void **state)
{
	struct fx *f = *state;
	struct keytable *t = NULL;

	assert_int_equal(keytable_attach_reader(&t, f->name, f->err, sizeof(f->err)), -ENOENT);
	assert_non_null(strstr(f->err, "does not exist"));
	assert_int_equal(keytable_attach_writer(&t, f->name, NULL, f->err, sizeof(f->err)),
			 -ENOENT);
	assert_int_equal(keytable_unlink(f->name, f->err, sizeof(f->err)), -ENOENT);
	assert_null(t);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
		T(test_create_info),
		T(test_create_refusals),
		T(test_attach_missing),
		T(test_add_get_ipv4_ipv6),
		T(test_add_refusals),
		T(test_key_tail_zeroed),
		T(test_key_builders_bytes),
		T(test_replace),
		T(test_schedule),
		T(test_delete_wipes),
		T(test_wildcard),
		T(test_bulk_32),
		T(test_bulk_ref_read_ref),
		T(test_full_table),
		T(test_list),
		T(test_model),
		T(test_ref_after_shift),
		T(test_mki_lifetime),
		T(test_reader_read_only),
		T(test_second_writer),
		T(test_survives_writer_death),
		T(test_bad_magic),
		T(test_wrong_abi),
		T(test_wrong_sizes),
		T(test_short_file),
		T(test_wrong_permissions),
		T(test_wrong_owner),
		T(test_unlink),
		T(test_recover_replace),
		T(test_recover_odd_and_corrupt),
		T(test_damage_full_pending_delete),
		T(test_damage_journal_fields),
		T(test_damage_undo_mismatch),
		T(test_damage_geometry),
		T(test_damage_seq_odd),
		T(test_damage_counters),
		T(test_damage_writer_ops),
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
