/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * The dataplane's statistics area (lib/dpstats, include/callseal/dpstats.h):
 * one writer per table (the lock), a dead writer's area replaced and seen as
 * stale by its readers, refusals at attach (magic, ABI, geometry, mode), and
 * the flow rows found by the flows' probe, per entry instance, summed over
 * workers.
 */
#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cmocka.h>

#include "callseal/dpstats.h"
#include "dpstats_place.h"

struct fx {
	char table[48];
	char path[128];
	char err[256];
};

static int setup(void **state)
{
	static unsigned int n;
	struct fx *f = calloc(1, sizeof(*f));

	snprintf(f->table, sizeof(f->table), "t-dpstats-%d-%u", (int)getpid(), n++);
	snprintf(f->path, sizeof(f->path), "/dev/shm/callseal.%s.stats", f->table);
	*state = f;
	return 0;
}

static int teardown(void **state)
{
	struct fx *f = *state;

	unlink(f->path);
	free(f);
	return 0;
}

static void key4(struct keytable_key *k, uint8_t last, uint16_t port, unsigned int dir)
{
	const uint8_t a[4] = { 10, 0, 0, last };

	keytable_key_ipv4(k, a, port, dir);
}

static void test_names(void **state)
{
	(void)state;
	assert_string_equal(dpstats_drop_name(DPSTATS_DROP_AUTH), "auth");
	assert_string_equal(dpstats_drop_name(DPSTATS_DROP_INDEX_REUSE), "index_reuse");
	assert_string_equal(dpstats_drop_name(DPSTATS_DROP_COUNT), "unknown");
	for (unsigned int d = 0; d < DPSTATS_DROP_COUNT; d++) {
		assert_non_null(strchr(dpstats_drop_help(d), ' '));
		for (unsigned int e = 0; e < d; e++)
			assert_string_not_equal(dpstats_drop_name(d), dpstats_drop_name(e));
	}
}

static void test_create_attach_totals(void **state)
{
	struct fx *f = *state;
	struct dpstats *w = NULL, *r = NULL;
	struct dpstats_worker wk;
	struct stat st;

	assert_int_equal(dpstats_create(&w, f->table, 2, 64, f->err, sizeof(f->err)), 0);
	assert_int_equal(stat(f->path, &st), 0);
	assert_int_equal(st.st_mode & 0777, 0600);
	dpstats_worker(w, 1)->rx[DPSTATS_OUTSIDE] = 7;
	dpstats_worker(w, 1)->drop[DPSTATS_DROP_REPLAY] = 3;

	assert_int_equal(dpstats_attach(&r, f->table, f->err, sizeof(f->err)), 0);
	assert_int_equal(dpstats_header(r)->workers, 2);
	assert_int_equal(dpstats_header(r)->rows, 64);
	assert_int_equal(dpstats_header(r)->pid, (uint32_t)getpid());
	assert_int_equal(dpstats_header(r)->drop_count, DPSTATS_DROP_COUNT);
	assert_int_equal(dpstats_read_worker(r, 1, &wk), 0);
	assert_int_equal(wk.rx[DPSTATS_OUTSIDE], 7);
	assert_int_equal(wk.drop[DPSTATS_DROP_REPLAY], 3);
	assert_int_equal(wk.rows, 64);
	assert_int_equal(dpstats_read_worker(r, 2, &wk), -EINVAL);
	assert_false(dpstats_stale(r));

	/* the writer removes it at exit: its readers see it stale */
	dpstats_destroy(w);
	assert_int_equal(access(f->path, F_OK), -1);
	assert_true(dpstats_stale(r));
	dpstats_detach(r);
	assert_int_equal(dpstats_attach(&r, f->table, f->err, sizeof(f->err)), -ENOENT);
	assert_non_null(strstr(f->err, "no callseal-dataplane serves it"));
}

static void test_one_writer(void **state)
{
	struct fx *f = *state;
	struct dpstats *w = NULL, *w2 = NULL;
	char want[64];

	assert_int_equal(dpstats_create(&w, f->table, 1, 16, f->err, sizeof(f->err)), 0);
	assert_int_equal(dpstats_create(&w2, f->table, 1, 16, f->err, sizeof(f->err)), -EBUSY);
	assert_null(w2);
	snprintf(want, sizeof(want), "pid %d", (int)getpid());
	assert_non_null(strstr(f->err, want));
	dpstats_destroy(w);
	assert_int_equal(dpstats_create(&w2, f->table, 1, 16, f->err, sizeof(f->err)), 0);
	dpstats_destroy(w2);
	assert_int_equal(dpstats_create(&w2, f->table, 3, 12, f->err, sizeof(f->err)), -EINVAL);
	assert_int_equal(dpstats_create(&w2, f->table, 0, 16, f->err, sizeof(f->err)), -EINVAL);
	assert_int_equal(dpstats_create(&w2, "../x", 1, 16, f->err, sizeof(f->err)), -EINVAL);
}

/* A writer killed without cleaning up: the next one replaces its area, and a
 * reader of the old one sees it stale. */
static void test_dead_writer_replaced(void **state)
{
	struct fx *f = *state;
	struct dpstats *w = NULL, *r = NULL, *r2 = NULL;
	struct dpstats_worker wk;
	int status;
	pid_t pid = fork();

	assert_true(pid >= 0);
	if (pid == 0) {
		struct dpstats *c = NULL;

		if (dpstats_create(&c, f->table, 1, 16, NULL, 0) != 0)
			_exit(1);
		dpstats_worker(c, 0)->encrypted = 99;
		raise(SIGKILL);
	}
	assert_int_equal(waitpid(pid, &status, 0), pid);
	assert_true(WIFSIGNALED(status));
	assert_int_equal(dpstats_attach(&r, f->table, f->err, sizeof(f->err)), 0);
	assert_int_equal(dpstats_header(r)->pid, (uint32_t)pid);
	assert_false(dpstats_stale(r));

	assert_int_equal(dpstats_create(&w, f->table, 1, 16, f->err, sizeof(f->err)), 0);
	assert_true(dpstats_stale(r));
	assert_int_equal(dpstats_read_worker(r, 0, &wk), 0);
	assert_int_equal(wk.encrypted, 99);           /* the old mapping still reads */
	assert_int_equal(dpstats_attach(&r2, f->table, f->err, sizeof(f->err)), 0);
	assert_int_equal(dpstats_read_worker(r2, 0, &wk), 0);
	assert_int_equal(wk.encrypted, 0);            /* the new area starts at zero */
	assert_int_equal(dpstats_header(r2)->pid, (uint32_t)getpid());
	dpstats_detach(r);
	dpstats_detach(r2);
	dpstats_destroy(w);
}

/* Write a header field into the file and expect attach to refuse it. */
static void refused(struct fx *f, size_t off, const void *val, size_t len, const char *why)
{
	struct dpstats *w = NULL, *r = NULL;
	int fd;

	assert_int_equal(dpstats_create(&w, f->table, 1, 16, f->err, sizeof(f->err)), 0);
	fd = open(f->path, O_RDWR);
	assert_true(fd >= 0);
	assert_int_equal(pwrite(fd, val, len, (off_t)off), (ssize_t)len);
	close(fd);
	assert_int_equal(dpstats_attach(&r, f->table, f->err, sizeof(f->err)), -EPROTO);
	assert_null(r);
	assert_non_null(strstr(f->err, why));
	dpstats_destroy(w);
}

static void test_attach_refusals(void **state)
{
	struct fx *f = *state;
	uint64_t zero = 0;
	uint32_t abi = DPSTATS_ABI_VERSION + 1, rows = 32, workers = 1000;
	struct dpstats *w = NULL, *r = NULL;

	refused(f, offsetof(struct dpstats_header, magic), &zero, 8, "bad magic");
	refused(f, offsetof(struct dpstats_header, abi_version), &abi, 4, "ABI");
	refused(f, offsetof(struct dpstats_header, rows), &rows, 4, "geometry");
	refused(f, offsetof(struct dpstats_header, workers), &workers, 4, "geometry");

	/* truncated */
	assert_int_equal(dpstats_create(&w, f->table, 1, 16, f->err, sizeof(f->err)), 0);
	assert_int_equal(truncate(f->path, DPSTATS_HEADER_SIZE + 100), 0);
	assert_int_equal(dpstats_attach(&r, f->table, f->err, sizeof(f->err)), -EPROTO);
	/* another mode */
	assert_int_equal(chmod(f->path, 0644), 0);
	assert_int_equal(dpstats_attach(&r, f->table, f->err, sizeof(f->err)), -EACCES);
	assert_non_null(strstr(f->err, "0600"));
	dpstats_destroy(w);
}

static void test_flow_rows(void **state)
{
	struct fx *f = *state;
	struct dpstats *w = NULL, *r = NULL;
	struct dpstats_flow out, *a0, *a1, *b0;
	struct keytable_key a, b, c;

	assert_int_equal(dpstats_create(&w, f->table, 2, 16, f->err, sizeof(f->err)), 0);
	assert_int_equal(dpstats_attach(&r, f->table, f->err, sizeof(f->err)), 0);
	key4(&a, 1, 5004, KEYTABLE_DIR_OUT);
	key4(&b, 1, 5004, KEYTABLE_DIR_IN);
	key4(&c, 2, 5006, KEYTABLE_DIR_IN);
	assert_int_equal(dpstats_read_flow(r, &a, 0, &out), -ENOENT);

	/* the same entry on both workers: summed */
	a0 = dpstats_place(w, 0, &a);
	dpstats_flow_assign(a0, &a, 1000, 5000);
	a0->packets = 10; a0->bytes = 1720; a0->index_reuse = 2; a0->last_ns = 7000;
	a0->generation = 3;
	a1 = dpstats_place(w, 1, &a);
	dpstats_flow_assign(a1, &a, 1000, 4000);
	a1->packets = 5; a1->auth = 1; a1->last_ns = 6000; a1->generation = 4;
	b0 = dpstats_place(w, 0, &b);
	dpstats_flow_assign(b0, &b, 1000, 5000);
	b0->packets = 1;

	assert_int_equal(dpstats_read_flow(r, &a, 0, &out), 0);
	assert_int_equal(out.seq, 2);
	assert_int_equal(out.packets, 15);
	assert_int_equal(out.bytes, 1720);
	assert_int_equal(out.auth, 1);
	assert_int_equal(out.index_reuse, 2);
	assert_int_equal(out.since_ns, 4000);
	assert_int_equal(out.last_ns, 7000);
	assert_int_equal(out.generation, 4);
	assert_memory_equal(&out.key, &a, sizeof(a));
	assert_int_equal(dpstats_read_flow(r, &a, 1000, &out), 0);
	assert_int_equal(dpstats_read_flow(r, &b, 0, &out), 0);
	assert_int_equal(out.packets, 1);
	assert_int_equal(dpstats_read_flow(r, &c, 0, &out), -ENOENT);

	/* another instance of the key (deleted and added again): not these */
	assert_int_equal(dpstats_read_flow(r, &a, 2000, &out), -ENOENT);
	/* reassigned to the new instance: counters start over */
	dpstats_flow_assign(a0, &a, 2000, 9000);
	assert_int_equal(dpstats_read_flow(r, &a, 2000, &out), 0);
	assert_int_equal(out.seq, 1);
	assert_int_equal(out.packets, 0);
	assert_int_equal(out.since_ns, 9000);
	dpstats_detach(r);
	dpstats_destroy(w);
}

/* Keys that collide: each found past the others on the probe; a full probe
 * of rows that all hold other keys ends. */
static void test_probe(void **state)
{
	struct fx *f = *state;
	struct dpstats *w = NULL, *r = NULL;
	struct keytable_key k[16], miss;
	struct dpstats_flow out;

	assert_int_equal(dpstats_create(&w, f->table, 1, 16, f->err, sizeof(f->err)), 0);
	assert_int_equal(dpstats_attach(&r, f->table, f->err, sizeof(f->err)), 0);
	for (unsigned int i = 0; i < 16; i++) {
		key4(&k[i], (uint8_t)i, 6000, KEYTABLE_DIR_IN);
		struct dpstats_flow *row = dpstats_place(w, 0, &k[i]);
		dpstats_flow_assign(row, &k[i], 1, 1);
		row->packets = 100 + i;
	}
	for (unsigned int i = 0; i < 16; i++) {
		assert_int_equal(dpstats_read_flow(r, &k[i], 1, &out), 0);
		assert_int_equal(out.packets, 100 + i);
	}
	key4(&miss, 200, 6000, KEYTABLE_DIR_IN);      /* every row used: probe ends */
	assert_int_equal(dpstats_read_flow(r, &miss, 0, &out), -ENOENT);
	dpstats_detach(r);
	dpstats_destroy(w);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_names),
		cmocka_unit_test_setup_teardown(test_create_attach_totals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_one_writer, setup, teardown),
		cmocka_unit_test_setup_teardown(test_dead_writer_replaced, setup, teardown),
		cmocka_unit_test_setup_teardown(test_attach_refusals, setup, teardown),
		cmocka_unit_test_setup_teardown(test_flow_rows, setup, teardown),
		cmocka_unit_test_setup_teardown(test_probe, setup, teardown),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
