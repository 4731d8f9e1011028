/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_secmem: the pool of locked memory for per-call secrets
 * (control/proto/secmem.c): zeroed blocks, wiped on free, distinct and aligned,
 * growth across chunks, blocks over the largest class, release, threads,
 * and the aborts on an overrun, a double free and a foreign pointer.
 */
#include <errno.h>
#include <pthread.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include <sodium.h>

#include "secmem.h"

#define MANY 3000       /* blocks of 100 octets: several 64 KiB chunks */

static size_t in_use(void)
{
	struct secmem_stats s;

	secmem_stats(&s);
	return s.in_use;
}

static void test_zeroed_distinct_aligned(void **state)
{
	static const size_t sizes[] = { 1, 15, 16, 64, 65, 100, 1000, 4096, 5000, 16384 };
	uint8_t *p[sizeof(sizes) / sizeof(sizes[0])];
	size_t n = sizeof(sizes) / sizeof(sizes[0]), i, j;

	(void)state;
	assert_int_equal(in_use(), 0);
	for (i = 0; i < n; i++) {
		p[i] = secmem_alloc(sizes[i]);
		assert_non_null(p[i]);
		assert_int_equal((uintptr_t)p[i] % 16, 0);
		assert_true(sodium_is_zero(p[i], sizes[i]));
		memset(p[i], 0xa5, sizes[i]);           /* every octet is usable */
	}
	assert_int_equal(in_use(), n);
	for (i = 0; i < n; i++)                         /* no two overlap */
		for (j = 0; j < n; j++)
			if (i != j)
				assert_true(p[i] + sizes[i] <= p[j] || p[j] + sizes[j] <= p[i]);
	for (i = 0; i < n; i++)
		secmem_free(p[i]);
	assert_int_equal(in_use(), 0);
	secmem_free(NULL);
	assert_null(secmem_alloc(0));
	assert_int_equal(errno, EINVAL);
}

/* A freed block comes back (same class, LIFO) wiped: no secret outlives it. */
static void test_wiped_on_free(void **state)
{
	uint8_t *a, *b;

	(void)state;
	a = secmem_alloc(200);
	assert_non_null(a);
	memset(a, 0x5c, 200);
	secmem_free(a);
	b = secmem_alloc(200);
	assert_ptr_equal(a, b);                         /* the same slot */
	assert_true(sodium_is_zero(b, 256));            /* the whole class, wiped */
	secmem_free(b);
}

static void test_growth_and_release(void **state)
{
	uint8_t **p = calloc(MANY, sizeof(*p));
	struct secmem_stats s0, s1, s2;
	size_t i;

	(void)state;
	assert_non_null(p);
	secmem_stats(&s0);
	for (i = 0; i < MANY; i++) {
		p[i] = secmem_alloc(100);
		assert_non_null(p[i]);
		assert_true(sodium_is_zero(p[i], 100));
		memset(p[i], (int)(i & 0xff), 100);
	}
	secmem_stats(&s1);
	assert_int_equal(s1.in_use, s0.in_use + MANY);
	assert_true(s1.chunks >= s0.chunks + MANY / (64 * 1024 / 128));
	for (i = 0; i < MANY; i++) {                    /* nothing overwrote another */
		uint8_t want[100];

		memset(want, (int)(i & 0xff), sizeof(want));
		assert_memory_equal(p[i], want, sizeof(want));
	}
	assert_int_equal(secmem_release(), -EBUSY);     /* blocks in use: kept */
	for (i = 0; i < MANY; i += 2)
		secmem_free(p[i]);
	assert_int_equal(secmem_release(), -EBUSY);
	for (i = 1; i < MANY; i += 2)
		secmem_free(p[i]);
	/* the pool keeps its chunks: the same number of blocks again needs none */
	for (i = 0; i < MANY; i++)
		assert_non_null(p[i] = secmem_alloc(100));
	secmem_stats(&s2);
	assert_int_equal(s2.chunks, s1.chunks);
	for (i = 0; i < MANY; i++)
		secmem_free(p[i]);
	assert_int_equal(secmem_release(), 0);
	secmem_stats(&s2);
	assert_int_equal(s2.chunks, 0);
	assert_int_equal(s2.chunk_bytes, 0);
	assert_int_equal(s2.in_use, 0);
	free(p);
}

/* Over the largest class: sodium_malloc'd on its own, freed the same way. */
static void test_large(void **state)
{
	struct secmem_stats s;
	uint8_t *p;

	(void)state;
	p = secmem_alloc(100000);
	assert_non_null(p);
	assert_int_equal((uintptr_t)p % 16, 0);
	assert_true(sodium_is_zero(p, 100000));
	memset(p, 0x77, 100000);
	secmem_stats(&s);
	assert_int_equal(s.large, 1);
	assert_int_equal(s.in_use, 1);
	assert_int_equal(secmem_release(), -EBUSY);
	secmem_free(p);
	secmem_stats(&s);
	assert_int_equal(s.large, 0);
	assert_int_equal(s.in_use, 0);
}

static void *churn(void *arg)
{
	uintptr_t seed = (uintptr_t)arg;
	uint8_t *p[8] = { 0 };

	for (unsigned int k = 0; k < 20000; k++) {
		unsigned int j = k % 8;
		size_t sz = 32 + (size_t)((k * 131 + seed) % 3000);

		if (p[j]) {
			if (p[j][0] != (uint8_t)seed)   /* another thread wrote here */
				return (void *)1;
			secmem_free(p[j]);
		}
		p[j] = secmem_alloc(sz);
		if (!p[j])
			return (void *)2;
		if (!sodium_is_zero(p[j], sz))
			return (void *)3;
		memset(p[j], (int)seed, sz);
	}
	for (unsigned int j = 0; j < 8; j++)
		secmem_free(p[j]);
	return NULL;
}

static void test_threads(void **state)
{
	pthread_t t[4];
	void *ret;

	(void)state;
	for (uintptr_t i = 0; i < 4; i++)
		assert_int_equal(pthread_create(&t[i], NULL, churn, (void *)(i + 1)), 0);
	for (int i = 0; i < 4; i++) {
		assert_int_equal(pthread_join(t[i], &ret), 0);
		assert_null(ret);
	}
	assert_int_equal(in_use(), 0);
}

/* What a child does to the pool: it must die of SIGABRT. */
enum misuse { OVERRUN, OVERRUN_LAST, DOUBLE_FREE, FOREIGN, INSIDE, FREE_HDR_SMASHED,
	      WRITE_AFTER_FREE };

static void expect_abort(enum misuse m)
{
	pid_t pid;
	int st;

	fflush(NULL);
	pid = fork();
	assert_true(pid >= 0);
	if (pid == 0) {
		uint8_t *p = secmem_alloc(64), *q;
		static uint8_t not_ours[64];

		signal(SIGABRT, SIG_DFL);
		if (!p)
			_exit(3);
		switch (m) {
		case OVERRUN:           /* one octet past the 64-octet class */
			p[64] = 1;
			break;
		case OVERRUN_LAST:      /* the canary's last octet */
			p[64 + 15] ^= 0x80;
			break;
		case DOUBLE_FREE:
			secmem_free(p);
			break;
		case FOREIGN:
			p = not_ours + 16;
			memset(not_ours, 0, sizeof(not_ours));
			break;
		case INSIDE:            /* a pointer into a block, not its start */
			q = secmem_alloc(64);
			if (!q)
				_exit(3);
			p = q + 16;
			break;
		case FREE_HDR_SMASHED:  /* an overrun reached a free slot's header: */
			secmem_free(p);         /* the next alloc must not follow it */
			memset(p - 16, 0x41, 16);
			q = secmem_alloc(64);
			_exit(q ? 0 : 4);
		case WRITE_AFTER_FREE:  /* the slot must not come back non-zero */
			secmem_free(p);
			p[5] = 0x41;
			q = secmem_alloc(64);
			_exit(q ? 0 : 4);
		}
		secmem_free(p);
		_exit(0);               /* not caught */
	}
	assert_int_equal(waitpid(pid, &st, 0), pid);
	assert_true(WIFSIGNALED(st));
	assert_int_equal(WTERMSIG(st), SIGABRT);
}

static void test_misuse_aborts(void **state)
{
	uint8_t *p;

	(void)state;
	expect_abort(OVERRUN);
	expect_abort(OVERRUN_LAST);
	expect_abort(DOUBLE_FREE);
	expect_abort(FOREIGN);
	expect_abort(INSIDE);
	expect_abort(FREE_HDR_SMASHED);
	expect_abort(WRITE_AFTER_FREE);
	/* and the full class is writable without tripping it */
	p = secmem_alloc(64);
	assert_non_null(p);
	memset(p, 0xff, 64);
	secmem_free(p);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_zeroed_distinct_aligned),
		cmocka_unit_test(test_wiped_on_free),
		cmocka_unit_test(test_growth_and_release),
		cmocka_unit_test(test_large),
		cmocka_unit_test(test_threads),
		cmocka_unit_test(test_misuse_aborts),
	};

	if (sodium_init() < 0)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
