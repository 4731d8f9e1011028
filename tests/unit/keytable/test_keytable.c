/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_keytable.c - unit tests for the shared-memory key table (keytable.h):
 * every operation and every refusal. Tables are /dev/shm/callseal.kt-<pid>-<n>
 * and are removed by each test's teardown.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "callseal/keytable.h"

struct fx {
	char name[64];
	char path[80];
	char err[KEYTABLE_ERR_MAX];
};

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
static void master(struct keytable_master *m, unsigned int profile, uint8_t seed)
{
	uint8_t key[32], salt[12];
	unsigned int i, len = profile == KEYTABLE_PROFILE_AEAD_AES_256_GCM ? 32 : 16;

	for (i = 0; i < sizeof(key); i++)
		key[i] = (uint8_t)(seed + 7 * i + 1);
	for (i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(seed ^ (0xA5 + i));
	assert_int_equal(keytable_master_set(m, profile, key, len, salt), 0);
}

static void key4(struct keytable_key *k, uint8_t last, uint16_t port, unsigned int dir)
{
	const uint8_t a[4] = { 10, 0, 0, last };

	keytable_key_ipv4(k, a, port, dir);
}

static void key6(struct keytable_key *k, uint8_t last, uint16_t port, unsigned int dir)
{
	uint8_t a[16] = { 0x20, 0x01, 0x0d, 0xb8 };

	a[15] = last;
	keytable_key_ipv6(k, a, port, dir);
}

static const uint8_t call_id[KEYTABLE_CALL_ID_BYTES] = "call-0123456789";

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

static bool file_has(const struct fx *f, const void *needle, size_t n)
{
	size_t len;
	uint8_t *buf = read_file(f, &len);
	bool found = memmem(buf, len, needle, n) != NULL;

	free(buf);
	return found;
}

static int shm_fd(const struct fx *f)
{
	int fd = shm_open(f->path, O_RDWR, 0);

	assert_true(fd >= 0);
	return fd;
}

static struct keytable *make(struct fx *f, uint32_t cap)
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

/* ---- operations ---------------------------------------------------------- */

static void test_add_get_ipv4_ipv6(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 100);
	struct keytable_master m4, m6;
	struct keytable_key k4, k6, k6b;
	struct keytable_entry e;
	struct keytable_ref ref;
	uint64_t g4 = 0, g6 = 0;

	master(&m4, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 1);
	master(&m6, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 2);
	key4(&k4, 1, 5004, KEYTABLE_DIR_OUT);
	key6(&k6, 1, 5004, KEYTABLE_DIR_OUT);
	/* IPv6 address whose first 4 bytes equal the IPv4 one: distinct key */
	{
		uint8_t a[16] = { 10, 0, 0, 1 };

		keytable_key_ipv6(&k6b, a, 5004, KEYTABLE_DIR_OUT);
	}
	assert_int_equal(keytable_add(t, &k4, KEYTABLE_MODE_E2EE, &m4, call_id, &g4), 0);
	assert_int_equal(keytable_add(t, &k6, KEYTABLE_MODE_STANDARD, &m6, call_id, &g6), 0);
	assert_true(g4 > 0 && g6 > g4);
	assert_int_equal(keytable_get(t, &k6b, &e, NULL), -ENOENT);

	assert_int_equal(keytable_get(t, &k4, &e, &ref), 0);
	assert_memory_equal(&e.key, &k4, sizeof(k4));
	assert_int_equal(e.state, KEYTABLE_STATE_LIVE);
	assert_int_equal(e.mode, KEYTABLE_MODE_E2EE);
	assert_int_equal(e.cur.profile, KEYTABLE_PROFILE_AEAD_AES_128_GCM);
	assert_int_equal(e.cur.key_len, 16);
	assert_memory_equal(e.cur.key, m4.key, 16);
	assert_memory_equal(e.cur.salt, m4.salt, 12);
	assert_int_equal(e.generation, g4);
	assert_int_equal(e.flags, 0);
	assert_memory_equal(e.call_id, call_id, sizeof(call_id));
	assert_true(e.created_ns > 0 && e.updated_ns == e.created_ns);
	assert_int_equal(e.seq % 2, 0);
	assert_int_equal(ref.generation, g4);
	assert_true(keytable_ref_current(t, &ref));

	assert_int_equal(keytable_get(t, &k6, &e, NULL), 0);
	assert_int_equal(e.cur.key_len, 32);
	assert_memory_equal(e.cur.key, m6.key, 32);
	assert_int_equal(e.mode, KEYTABLE_MODE_STANDARD);

	/* the other direction and another port are other streams */
	key4(&k4, 1, 5004, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_get(t, &k4, &e, NULL), -ENOENT);
	key4(&k4, 1, 5006, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_get(t, &k4, &e, NULL), -ENOENT);

	/* adding it again is refused */
	key4(&k4, 1, 5004, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(t, &k4, KEYTABLE_MODE_E2EE, &m4, call_id, NULL), -EEXIST);
	assert_non_null(strstr(keytable_last_error(t), "10.0.0.1:5004/out"));
	assert_non_null(strstr(keytable_last_error(t), "already has"));
	keytable_detach(t);
}

static void test_add_refusals(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10);
	struct keytable_master m, bad;
	struct keytable_key k;
	uint8_t key[32] = { 1 }, salt[12] = { 2 };

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 3);
	key4(&k, 1, 0, KEYTABLE_DIR_IN);                 /* port 0 */
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), -EINVAL);
	assert_non_null(strstr(keytable_last_error(t), "bad stream key"));
	key4(&k, 1, 5004, 3);                            /* direction */
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), -EINVAL);
	key4(&k, 1, 5004, KEYTABLE_DIR_IN);
	k.addr[9] = 1;                                   /* junk in IPv4 key */
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), -EINVAL);
	keytable_key_any(&k, 5004, KEYTABLE_DIR_IN);
	k.addr[0] = 1;                                   /* junk in wildcard */
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), -EINVAL);
	key4(&k, 1, 5004, KEYTABLE_DIR_IN);
	k.family = 5;
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), -EINVAL);
	key4(&k, 1, 5004, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &k, 0, &m, call_id, NULL), -EINVAL);   /* mode */
	assert_non_null(strstr(keytable_last_error(t), "bad mode"));
	/* profiles and key lengths */
	assert_int_equal(keytable_master_set(&bad, 0x0001, key, 16, salt), -EINVAL);
	assert_int_equal(keytable_master_set(&bad, KEYTABLE_PROFILE_AEAD_AES_128_GCM, key, 32,
					     salt), -EINVAL);
	assert_int_equal(keytable_master_set(&bad, KEYTABLE_PROFILE_AEAD_AES_256_GCM, key, 16,
					     salt), -EINVAL);
	bad = m;
	bad.key_len = 32;                                /* 128-bit profile, 32 bytes */
	assert_int_equal(keytable_add(t, &k, 1, &bad, call_id, NULL), -EINVAL);
	assert_non_null(strstr(keytable_last_error(t), "0x0007"));
	bad = m;
	bad.profile = 0x0001;
	assert_int_equal(keytable_add(t, &k, 1, &bad, call_id, NULL), -EINVAL);
	assert_int_equal(keytable_add(t, &k, 1, NULL, call_id, NULL), -EINVAL);
	/* nothing was added, and no message carries key bytes */
	{
		struct keytable_info in;

		keytable_info(t, &in);
		assert_int_equal(in.count, 0);
	}
	keytable_detach(t);
}

static void test_key_tail_zeroed(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10);
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_entry e;
	static const uint8_t zero[16];

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 9);
	memset(m.key + 16, 0xEE, 16);        /* junk past key_len is not stored */
	key4(&k, 9, 9000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_memory_equal(e.cur.key + 16, zero, 16);
	keytable_wipe(&e, sizeof(e));
	keytable_detach(t);
}

static void test_replace(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10);
	struct keytable_master m1, m2, n;
	struct keytable_key k, other;
	struct keytable_entry e0, e1;
	struct keytable_ref ref;
	uint64_t g1 = 0, g2 = 0, c0;

	master(&m1, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 40);
	master(&m2, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 80);
	master(&n, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 120);
	key4(&k, 2, 6000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &k, KEYTABLE_MODE_E2EE, &m1, call_id, &g1), 0);
	assert_int_equal(keytable_schedule(t, &k, &n, 5000, NULL), 0);
	assert_int_equal(keytable_get(t, &k, &e0, &ref), 0);
	assert_true(file_has(f, m1.key, 32));
	assert_true(file_has(f, n.key, 32));

	c0 = keytable_changes(t);
	usleep(1000);
	assert_int_equal(keytable_replace(t, &k, &m2, &g2), 0);
	assert_true(g2 > e0.generation && e0.generation > g1);
	assert_true(keytable_changes(t) > c0);
	assert_false(keytable_ref_current(t, &ref));
	assert_int_equal(keytable_get(t, &k, &e1, &ref), 0);
	assert_true(keytable_ref_current(t, &ref));
	assert_int_equal(e1.generation, g2);
	assert_int_equal(e1.cur.profile, KEYTABLE_PROFILE_AEAD_AES_128_GCM);
	assert_memory_equal(e1.cur.key, m2.key, 16);
	assert_memory_equal(e1.cur.salt, m2.salt, 12);
	/* the scheduled key is dropped; the rest is kept */
	assert_int_equal(e1.flags & KEYTABLE_F_NEXT, 0);
	assert_int_equal(e1.next.profile, 0);
	assert_int_equal(e1.next_from_index, 0);
	assert_int_equal(e1.mode, KEYTABLE_MODE_E2EE);
	assert_int_equal(e1.created_ns, e0.created_ns);
	assert_true(e1.updated_ns > e0.updated_ns);
	assert_memory_equal(e1.call_id, call_id, sizeof(call_id));
	/* old and scheduled key bytes are gone from the table (and journal) */
	assert_false(file_has(f, m1.key, 32));
	assert_false(file_has(f, m1.key + 16, 16));
	assert_false(file_has(f, n.key, 32));
	assert_true(file_has(f, m2.key, 16));

	key4(&other, 3, 6000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_replace(t, &other, &m2, NULL), -ENOENT);
	assert_non_null(strstr(keytable_last_error(t), "no stream 10.0.0.3:6000/in"));
	assert_int_equal(keytable_replace(t, &k, NULL, NULL), -EINVAL);
	keytable_detach(t);
}

static void test_schedule(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10);
	struct keytable_master m, n;
	struct keytable_key k, other;
	struct keytable_entry e;
	uint64_t g0 = 0, g1 = 0, g2 = 0;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 11);
	master(&n, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 77);
	key6(&k, 7, 7000, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(t, &k, KEYTABLE_MODE_E2EE, &m, call_id, &g0), 0);
	assert_int_equal(keytable_schedule(t, &k, &n, (UINT64_C(3) << 16) | 65000, &g1), 0);
	assert_true(g1 > g0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_int_equal(e.generation, g1);
	assert_int_equal(e.flags & KEYTABLE_F_NEXT, KEYTABLE_F_NEXT);
	assert_int_equal(e.next_from_index, (UINT64_C(3) << 16) | 65000);
	assert_int_equal(e.next.profile, KEYTABLE_PROFILE_AEAD_AES_256_GCM);
	assert_memory_equal(e.next.key, n.key, 32);
	assert_memory_equal(e.next.salt, n.salt, 12);
	assert_memory_equal(e.cur.key, m.key, 16);       /* current key unchanged */

	/* the last 48-bit index is fine, one past it is not */
	assert_int_equal(keytable_schedule(t, &k, &n, KEYTABLE_INDEX_MAX, NULL), 0);
	assert_int_equal(keytable_schedule(t, &k, &n, KEYTABLE_INDEX_MAX + 1, NULL), -EINVAL);
	assert_non_null(strstr(keytable_last_error(t), "48-bit"));

	/* cancel: the next key's bytes are wiped */
	assert_true(file_has(f, n.key, 32));
	assert_int_equal(keytable_schedule(t, &k, NULL, 0, &g2), 0);
	assert_true(g2 > g1);
	assert_int_equal(keytable_get(t, &k, &e, NULL), 0);
	assert_int_equal(e.flags & KEYTABLE_F_NEXT, 0);
	assert_int_equal(e.next.profile, 0);
	assert_false(file_has(f, n.key, 32));
	assert_true(file_has(f, m.key, 16));

	key6(&other, 8, 7000, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_schedule(t, &other, &n, 1, NULL), -ENOENT);
	keytable_detach(t);
}

static void test_delete_wipes(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 10);
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_entry e;
	struct keytable_info in;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 200);
	key4(&k, 5, 5000, KEYTABLE_DIR_OUT);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	assert_true(file_has(f, m.key, 32));
	assert_true(file_has(f, m.salt, 12));
	assert_int_equal(keytable_delete(t, &k), 0);
	assert_int_equal(keytable_get(t, &k, &e, NULL), -ENOENT);
	assert_false(file_has(f, m.key, 32));
	assert_false(file_has(f, m.key, 8));
	assert_false(file_has(f, m.salt, 12));
	keytable_info(t, &in);
	assert_int_equal(in.count, 0);
	/* unknown key */
	assert_int_equal(keytable_delete(t, &k), -ENOENT);
	assert_non_null(strstr(keytable_last_error(t), "no stream 10.0.0.5:5000/out"));
	/* and it can come back, under a new generation */
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	keytable_detach(t);
}

static void test_wildcard(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 100);
	struct keytable_master mw, mx;
	struct keytable_key kw, kx, q[6];
	struct keytable_entry out[6];
	struct keytable_ref refs[6];
	struct keytable_info in;
	uint8_t st[6];

	master(&mw, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 50);
	master(&mx, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 60);
	keytable_key_any(&kw, 5004, KEYTABLE_DIR_IN);
	key4(&kx, 1, 5004, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &kw, 1, &mw, call_id, NULL), 0);
	assert_int_equal(keytable_add(t, &kx, 1, &mx, call_id, NULL), 0);
	keytable_info(t, &in);
	assert_int_equal(in.wild_count, 1);

	key4(&q[0], 1, 5004, KEYTABLE_DIR_IN);     /* exact wins */
	key4(&q[1], 2, 5004, KEYTABLE_DIR_IN);     /* wildcard */
	key6(&q[2], 2, 5004, KEYTABLE_DIR_IN);     /* wildcard, IPv6 */
	key4(&q[3], 2, 5004, KEYTABLE_DIR_OUT);    /* other direction: none */
	key4(&q[4], 2, 5006, KEYTABLE_DIR_IN);     /* other port: none */
	keytable_key_any(&q[5], 5004, KEYTABLE_DIR_IN); /* the wildcard itself */
	assert_int_equal(keytable_lookup_bulk(t, q, 6, out, st, refs), 4);
	assert_int_equal(st[0], KEYTABLE_FOUND);
	assert_memory_equal(out[0].cur.key, mx.key, 16);
	assert_int_equal(out[0].key.family, KEYTABLE_FAMILY_IPV4);
	assert_int_equal(st[1], KEYTABLE_FOUND);
	assert_memory_equal(out[1].cur.key, mw.key, 16);
	assert_int_equal(out[1].key.family, KEYTABLE_FAMILY_ANY);
	assert_int_equal(st[2], KEYTABLE_FOUND);
	assert_memory_equal(out[2].cur.key, mw.key, 16);
	assert_int_equal(st[3], KEYTABLE_NOT_FOUND);
	assert_int_equal(st[4], KEYTABLE_NOT_FOUND);
	assert_int_equal(out[4].state, KEYTABLE_STATE_EMPTY);
	assert_int_equal(st[5], KEYTABLE_FOUND);
	assert_int_equal(refs[1].generation, out[1].generation);
	assert_int_equal(refs[1].slot, refs[2].slot);
	assert_int_equal(refs[3].generation, 0);

	/* get() is exact: no fallback */
	assert_int_equal(keytable_get(t, &q[1], &out[0], NULL), -ENOENT);

	/* without the wildcard entry the fallback finds nothing */
	assert_int_equal(keytable_delete(t, &kw), 0);
	keytable_info(t, &in);
	assert_int_equal(in.wild_count, 0);
	assert_int_equal(keytable_lookup_bulk(t, q, 6, out, st, NULL), 1);
	assert_int_equal(st[0], KEYTABLE_FOUND);
	assert_int_equal(st[1], KEYTABLE_NOT_FOUND);
	keytable_detach(t);
}

static void test_bulk_32(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 64);
	struct keytable_master m;
	struct keytable_key q[KEYTABLE_BULK_MAX + 1];
	struct keytable_entry out[KEYTABLE_BULK_MAX + 1];
	uint8_t st[KEYTABLE_BULK_MAX + 1];
	unsigned int i;

	for (i = 0; i < KEYTABLE_BULK_MAX; i++) {
		key4(&q[i], (uint8_t)i, (uint16_t)(10000 + i), KEYTABLE_DIR_OUT);
		if (i % 2 == 0) {
			master(&m, KEYTABLE_PROFILE_AEAD_AES_256_GCM, (uint8_t)i);
			assert_int_equal(keytable_add(t, &q[i], 1, &m, call_id, NULL), 0);
		}
	}
	assert_int_equal(keytable_lookup_bulk(t, q, KEYTABLE_BULK_MAX, out, st, NULL), 16);
	for (i = 0; i < KEYTABLE_BULK_MAX; i++) {
		if (i % 2 == 0) {
			master(&m, KEYTABLE_PROFILE_AEAD_AES_256_GCM, (uint8_t)i);
			assert_int_equal(st[i], KEYTABLE_FOUND);
			assert_memory_equal(out[i].cur.key, m.key, 32);
			assert_memory_equal(&out[i].key, &q[i], sizeof(q[i]));
		} else {
			assert_int_equal(st[i], KEYTABLE_NOT_FOUND);
		}
	}
	assert_int_equal(keytable_lookup_bulk(t, q, 0, out, st, NULL), 0);
	assert_int_equal(keytable_lookup_bulk(t, q, KEYTABLE_BULK_MAX + 1, out, st, NULL),
			 -EINVAL);
	keytable_detach(t);
}

static void test_bulk_ref_read_ref(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 64);
	struct keytable_master m, m2;
	struct keytable_key q[4];
	struct keytable_ref refs[KEYTABLE_BULK_MAX + 1];
	struct keytable_entry e;
	uint8_t st[KEYTABLE_BULK_MAX + 1];
	uint64_t g0 = 0, g1 = 0;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_256_GCM, 90);
	master(&m2, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 91);
	key4(&q[0], 1, 5004, KEYTABLE_DIR_IN);
	key6(&q[1], 1, 5004, KEYTABLE_DIR_IN);        /* absent: no wildcard yet */
	keytable_key_any(&q[2], 5004, KEYTABLE_DIR_IN);
	key4(&q[3], 3, 5006, KEYTABLE_DIR_IN);        /* absent */
	assert_int_equal(keytable_add(t, &q[0], 1, &m, call_id, &g0), 0);
	assert_int_equal(keytable_lookup_bulk_ref(t, q, 4, refs, st), 1);
	assert_int_equal(st[0], KEYTABLE_FOUND);
	assert_int_equal(refs[0].generation, g0);
	assert_int_equal(st[1], KEYTABLE_NOT_FOUND);
	assert_int_equal(refs[1].generation, 0);
	assert_int_equal(st[2], KEYTABLE_NOT_FOUND);
	assert_int_equal(st[3], KEYTABLE_NOT_FOUND);
	/* the full copy behind a ref */
	assert_int_equal(keytable_read_ref(t, &refs[0], &e), 0);
	assert_int_equal(e.generation, g0);
	assert_memory_equal(e.cur.key, m.key, 32);
	assert_memory_equal(&e.key, &q[0], sizeof(q[0]));
	assert_true(keytable_ref_current(t, &refs[0]));

	/* a wildcard answers the IPv6 stream on the same port/direction */
	assert_int_equal(keytable_add(t, &q[2], 1, &m2, call_id, NULL), 0);
	assert_int_equal(keytable_lookup_bulk_ref(t, q, 4, refs, st), 3);
	assert_int_equal(st[1], KEYTABLE_FOUND);
	assert_int_equal(refs[1].slot, refs[2].slot);
	assert_int_equal(keytable_read_ref(t, &refs[1], &e), 0);
	assert_int_equal(e.key.family, KEYTABLE_FAMILY_ANY);

	/* after a rekey the old ref is stale; a new look-up gives the new one */
	assert_int_equal(keytable_replace(t, &q[0], &m2, &g1), 0);
	assert_int_equal(keytable_read_ref(t, &refs[0], &e), -ESTALE);
	assert_int_equal(e.state, KEYTABLE_STATE_EMPTY);   /* wiped */
	assert_false(keytable_ref_current(t, &refs[0]));
	assert_int_equal(keytable_lookup_bulk_ref(t, q, 1, refs, st), 1);
	assert_int_equal(refs[0].generation, g1);
	assert_int_equal(keytable_read_ref(t, &refs[0], &e), 0);
	assert_memory_equal(e.cur.key, m2.key, 16);
	/* deleted: stale too; nonsense refs are stale, not a crash */
	assert_int_equal(keytable_delete(t, &q[0]), 0);
	assert_int_equal(keytable_read_ref(t, &refs[0], &e), -ESTALE);
	refs[0].slot = 1u << 31;
	assert_int_equal(keytable_read_ref(t, &refs[0], &e), -ESTALE);
	refs[0].slot = 0;
	refs[0].generation = 0;
	assert_int_equal(keytable_read_ref(t, &refs[0], &e), -ESTALE);
	assert_int_equal(keytable_lookup_bulk_ref(t, q, KEYTABLE_BULK_MAX + 1, refs, st),
			 -EINVAL);
	keytable_detach(t);
}

static void test_full_table(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 8);
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_info in;
	unsigned int i;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 1);
	for (i = 0; i < 8; i++) {
		key4(&k, (uint8_t)i, 4000, KEYTABLE_DIR_IN);
		assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	}
	key4(&k, 8, 4000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), -ENOSPC);
	assert_non_null(strstr(keytable_last_error(t), "is full (8 entries"));
	keytable_info(t, &in);
	assert_int_equal(in.count, 8);
	key4(&k, 3, 4000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_delete(t, &k), 0);
	key4(&k, 8, 4000, KEYTABLE_DIR_IN);
	assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	keytable_detach(t);
}

static void test_list(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 300), *r = NULL;
	struct keytable_master m;
	struct keytable_key k;
	struct keytable_entry e;
	uint8_t seen[256];
	uint32_t cur = 0;
	unsigned int i, n = 0;
	int rc;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 1);
	for (i = 0; i < 256; i++) {
		key4(&k, (uint8_t)i, 3000, KEYTABLE_DIR_IN);
		assert_int_equal(keytable_add(t, &k, 1, &m, call_id, NULL), 0);
	}
	for (i = 0; i < 256; i += 3) {
		key4(&k, (uint8_t)i, 3000, KEYTABLE_DIR_IN);
		assert_int_equal(keytable_delete(t, &k), 0);
	}
	assert_int_equal(keytable_attach_reader(&r, f->name, f->err, sizeof(f->err)), 0);
	memset(seen, 0, sizeof(seen));
	while ((rc = keytable_next(r, &cur, &e)) == 1) {
		assert_int_equal(e.state, KEYTABLE_STATE_LIVE);
		assert_int_equal(seen[e.key.addr[3]], 0);
		seen[e.key.addr[3]] = 1;
		n++;
	}
	assert_int_equal(rc, 0);
	assert_int_equal(n, 256 - 86);
	for (i = 0; i < 256; i++)
		assert_int_equal(seen[i], i % 3 != 0);
	assert_int_equal(keytable_next(r, &cur, &e), 0);   /* stays at the end */
	keytable_detach(r);
	keytable_detach(t);
}

/* Random add/replace/delete on a small, crowded table against a model, with
 * every entry checked after every delete: backward-shift deletion must keep
 * every remaining entry reachable. */
static void test_model(void **state)
{
	struct fx *f = *state;
	enum { N = 48 };
	struct keytable *t = make(f, N);    /* 128 slots, long clusters */
	struct keytable_key k[N + 16];
	uint64_t gen[N + 16];
	bool live[N + 16];
	struct keytable_master m;
	struct keytable_entry e;
	struct keytable_info in;
	unsigned int i, op, nlive = 0;
	uint32_t rnd = 12345;

	for (i = 0; i < N + 16; i++) {
		/* half the keys share a port; some are wildcards */
		if (i % 7 == 0)
			keytable_key_any(&k[i], (uint16_t)(2000 + i), KEYTABLE_DIR_IN);
		else
			key4(&k[i], (uint8_t)i, (uint16_t)(i % 2 ? 2000 : 2000 + i),
			     KEYTABLE_DIR_IN);
		live[i] = false;
		gen[i] = 0;
	}
	for (op = 0; op < 30000; op++) {
		rnd = rnd * 1103515245u + 12345u;
		i = (rnd >> 8) % (N + 16);
		master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, (uint8_t)(i + op));
		if (!live[i]) {
			int rc = keytable_add(t, &k[i], 1, &m, call_id, &gen[i]);

			if (nlive < N) {
				assert_int_equal(rc, 0);
				live[i] = true;
				nlive++;
			} else {
				assert_int_equal(rc, -ENOSPC);
			}
		} else if ((rnd >> 4) % 3 == 0) {
			assert_int_equal(keytable_replace(t, &k[i], &m, &gen[i]), 0);
		} else {
			unsigned int j;

			assert_int_equal(keytable_delete(t, &k[i]), 0);
			live[i] = false;
			nlive--;
			for (j = 0; j < N + 16; j++) {
				int rc = keytable_get(t, &k[j], &e, NULL);

				if (live[j]) {
					assert_int_equal(rc, 0);
					assert_int_equal(e.generation, gen[j]);
				} else {
					assert_int_equal(rc, -ENOENT);
				}
			}
		}
	}
	keytable_info(t, &in);
	assert_int_equal(in.count, nlive);
	keytable_detach(t);
}

static void test_ref_after_shift(void **state)
{
	struct fx *f = *state;
	struct keytable *t = make(f, 8);        /* 16 slots */
	struct keytable_master m;
	struct keytable_key k[12];
	struct keytable_entry e;
	struct keytable_ref ref[12], r2;
	unsigned int i, moved = 0;

	master(&m, KEYTABLE_PROFILE_AEAD_AES_128_GCM, 1);
	for (i = 0; i < 8; i++) {
		key4(&k[i], (uint8_t)i, 1234, KEYTABLE_DIR_OUT);
		assert_int_equal(keytable_add(t, &k[i], 1, &m, call_id, NULL), 0);
		assert_int_equal(keytable_get(t, &k[i], &e, &ref[i]), 0);
	}
	/* delete each in turn: refs of moved entries go stale, a fresh look-up
	 * finds the same generation (cached expanded keys stay valid) */
	for (i = 0; i < 8; i++) {
		unsigned int j;

		assert_int_equal(keytable_delete(t, &k[i]), 0);
		assert_false(keytable_ref_current(t, &ref[i]));
		for (j = i + 1; j < 8; j++) {
			assert_int_equal(keytable_get(t, &k[j], &e, &r2), 0);
			assert_int_equal(r2.generation, ref[j].generation);
			if (r2.slot != ref[j].slot) {
				moved++;
				assert_false(keytable_ref_current(t, &ref[j]));
				ref[j] = r2;
			}
			assert_true(keytable_ref_current(t, &ref[j]));
		}
	}
	(void)moved;
	r2.slot = 1u << 30;
	assert_false(keytable_ref_current(t, &r2));
	keytable_detach(t);
}

/* ---- roles, lock, persistence -------------------------------------------- */

static void test_reader_read_only(void **state)
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

static void test_second_writer(void **state)
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

static void test_survives_writer_death(void **state)
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

static void test_bad_magic(void **state)
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

static void test_wrong_abi(void **state)
{
	struct fx *f = *state;
	char want[128];

	keytable_detach(make(f, 10));
	pwrite32(f, offsetof(struct keytable_header, abi_version), 2);
	snprintf(want, sizeof(want), "table callseal.%s was made by ABI 2, this build reads "
		 "ABI %u", f->name, KEYTABLE_ABI_VERSION);
	expect_refused(f, -EPROTO, want);
	pwrite32(f, offsetof(struct keytable_header, abi_version), KEYTABLE_ABI_VERSION + 1);
	expect_refused(f, -EPROTO, "this build reads");
}

static void test_wrong_sizes(void **state)
{
	struct fx *f = *state;

	keytable_detach(make(f, 10));
	pwrite32(f, offsetof(struct keytable_header, entry_size), 256);
	expect_refused(f, -EPROTO, "256-byte entries");
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

static void test_short_file(void **state)
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

static void test_wrong_permissions(void **state)
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

static void test_wrong_owner(void **state)
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

static void test_unlink(void **state)
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

static void test_recover_replace(void **state)
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

static void test_recover_odd_and_corrupt(void **state)
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
#undef T
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
