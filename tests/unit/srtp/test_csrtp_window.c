/* SPDX-License-Identifier: BSD-3-Clause */
/* Unit tests for csrtp_window.c: RFC 3711 index estimation and replay window. */
#include <errno.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <cmocka.h>

#include "csrtp_window.h"

static void accept_seq(struct csrtp_window *w, uint16_t seq, uint32_t roc_init,
		       uint64_t want)
{
	uint64_t idx = csrtp_window_estimate(w, seq, roc_init);
	assert_int_equal(idx, want);
	assert_true(csrtp_window_check(w, idx));
	csrtp_window_update(w, idx);
}

/* Before any packet the index is roc_init || seq. */
static void test_estimate_initial(void **state)
{
	(void)state;
	struct csrtp_window w;
	assert_int_equal(csrtp_window_init(&w, 0), 0);
	assert_int_equal(csrtp_window_estimate(&w, 0x1234, 0), 0x1234);
	assert_int_equal(csrtp_window_estimate(&w, 0x1234, 7), (UINT64_C(7) << 16) | 0x1234);
}

/* RFC 3711 s. 3.3.1: wrap forward, late packets of the previous ROC. */
static void test_estimate_rollover(void **state)
{
	(void)state;
	struct csrtp_window w;
	assert_int_equal(csrtp_window_init(&w, 0), 0);

	accept_seq(&w, 65530, 0, 65530);
	accept_seq(&w, 65535, 0, 65535);
	accept_seq(&w, 0, 0, 0x10000);          /* ROC 0 -> 1 */
	accept_seq(&w, 3, 0, 0x10003);
	accept_seq(&w, 65533, 0, 65533);        /* late, still ROC 0 */
	assert_int_equal(w.top >> 16, 1);
	/* s_l < 32768: a seq far above belongs to ROC - 1 */
	assert_int_equal(csrtp_window_estimate(&w, 40000, 0), 40000);
	/* ... and one within half the space is the same ROC */
	assert_int_equal(csrtp_window_estimate(&w, 30000, 0), 0x10000 + 30000);
	/* s_l >= 32768, reached in steps under half the space */
	accept_seq(&w, 30000, 0, 0x10000 + 30000);
	accept_seq(&w, 40000, 0, 0x10000 + 40000);
	assert_int_equal(csrtp_window_estimate(&w, 100, 0), 0x20000 + 100);
	assert_int_equal(csrtp_window_estimate(&w, 20000, 0), 0x10000 + 20000);
}

/* ROC 0 has no previous ROC: a seq far above s_l is a jump forward. */
static void test_estimate_roc0_no_underflow(void **state)
{
	(void)state;
	struct csrtp_window w;
	assert_int_equal(csrtp_window_init(&w, 0), 0);
	accept_seq(&w, 10, 0, 10);
	assert_int_equal(csrtp_window_estimate(&w, 50000, 0), 50000);
}

/* At ROC 2^32 - 1 a wrap exceeds the 48-bit index: key exhausted. */
static void test_estimate_exhaustion(void **state)
{
	(void)state;
	struct csrtp_window w;
	assert_int_equal(csrtp_window_init(&w, 0), 0);
	accept_seq(&w, 65535, UINT32_MAX, CSRTP_INDEX_MAX);
	assert_true(csrtp_window_estimate(&w, 0, UINT32_MAX) > CSRTP_INDEX_MAX);
}

static void test_window_sizes(void **state)
{
	(void)state;
	struct csrtp_window w;
	assert_int_equal(csrtp_window_init(&w, 0), 0);
	assert_int_equal(w.size, CSRTP_REPLAY_WINDOW_DEFAULT);
	assert_int_equal(csrtp_window_init(&w, 100), 0);
	assert_int_equal(w.size, 128);
	assert_int_equal(csrtp_window_init(&w, 1024), 0);
	assert_int_equal(w.size, 1024);
	assert_int_equal(csrtp_window_init(&w, 1025), -EINVAL);
	assert_int_equal(csrtp_window_init(&w, 4096), -EINVAL);
}

/* Replay and too-old, at window edges. */
static void test_window_edges(void **state)
{
	(void)state;
	struct csrtp_window w;
	assert_int_equal(csrtp_window_init(&w, 128), 0);

	csrtp_window_update(&w, 1000);
	assert_false(csrtp_window_check(&w, 1000));       /* replay */
	assert_true(csrtp_window_check(&w, 1001));
	assert_true(csrtp_window_check(&w, 1000 - 127));  /* oldest slot, unseen */
	assert_false(csrtp_window_check(&w, 1000 - 128)); /* older than window */
	csrtp_window_update(&w, 1000 - 127);
	assert_false(csrtp_window_check(&w, 1000 - 127));
	csrtp_window_update(&w, 1001);                    /* slides: 873 drops out */
	assert_false(csrtp_window_check(&w, 1000 - 127));
	assert_false(csrtp_window_check(&w, 1000));
	csrtp_window_update(&w, 1001 + 500);              /* big jump clears */
	assert_false(csrtp_window_check(&w, 1001));
	assert_true(csrtp_window_check(&w, 1501 - 1));
}

/* A 1024-packet window accepts what a 128-packet one refuses. */
static void test_window_1024(void **state)
{
	(void)state;
	struct csrtp_window small, big;
	assert_int_equal(csrtp_window_init(&small, 128), 0);
	assert_int_equal(csrtp_window_init(&big, 1024), 0);
	csrtp_window_update(&small, 5000);
	csrtp_window_update(&big, 5000);
	assert_false(csrtp_window_check(&small, 5000 - 900));
	assert_true(csrtp_window_check(&big, 5000 - 900));
	csrtp_window_update(&big, 5000 - 900);
	assert_false(csrtp_window_check(&big, 5000 - 900));
	assert_false(csrtp_window_check(&big, 5000 - 1024));
}

/* Randomised against a plain model: a set of seen indices and a top. */
static void test_window_model(void **state)
{
	(void)state;
	static const unsigned sizes[] = { 64, 128, 192, 512, 1024 };
	enum { SPAN = 6000 };
	static bool seen[SPAN];
	unsigned seed = 12345;

	for (size_t s = 0; s < sizeof(sizes) / sizeof(sizes[0]); s++) {
		struct csrtp_window w;
		uint64_t top = 0;
		bool started = false;

		memset(seen, 0, sizeof(seen));
		assert_int_equal(csrtp_window_init(&w, sizes[s]), 0);
		for (int i = 0; i < 200000; i++) {
			seed = seed * 1103515245u + 12345u;
			/* mostly forward, sometimes back, sometimes a jump */
			int64_t step = (int64_t)((seed >> 8) % 200) - 150;
			if ((seed >> 20) % 97 == 0)
				step = (int64_t)((seed >> 4) % 1500);
			int64_t cand = (int64_t)top + step;
			if (cand < 0 || cand >= SPAN)
				cand = (int64_t)((seed >> 3) % SPAN);
			uint64_t idx = (uint64_t)cand;

			bool want = !started || idx > top ||
				    (top - idx < sizes[s] && !seen[idx]);
			assert_int_equal(csrtp_window_check(&w, idx), want);
			if (want) {
				csrtp_window_update(&w, idx);
				seen[idx] = true;
				if (!started || idx > top)
					top = idx;
				started = true;
			}
			if (top > SPAN - 1600) {   /* restart the model and the window */
				memset(seen, 0, sizeof(seen));
				assert_int_equal(csrtp_window_init(&w, sizes[s]), 0);
				top = 0;
				started = false;
			}
		}
	}
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_estimate_initial),
		cmocka_unit_test(test_estimate_rollover),
		cmocka_unit_test(test_estimate_roc0_no_underflow),
		cmocka_unit_test(test_estimate_exhaustion),
		cmocka_unit_test(test_window_sizes),
		cmocka_unit_test(test_window_edges),
		cmocka_unit_test(test_window_1024),
		cmocka_unit_test(test_window_model),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
