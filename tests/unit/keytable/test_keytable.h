/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * Private to the key table unit tests (test_keytable.c, test_keytable_ops.c,
 * test_keytable_attach.c, test_keytable_damage.c: one executable; not the crash and stress tests):
 * the fixture, the key and file helpers, and the test cases that main() in
 * test_keytable.c runs.
 */
#ifndef CALLSEAL_TEST_KEYTABLE_H
#define CALLSEAL_TEST_KEYTABLE_H

#include <errno.h>
#include <fcntl.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "callseal/keytable.h"

struct fx {
	char name[64];
	char path[80];
	char err[KEYTABLE_ERR_MAX];
};

/* test_keytable.c: the fixture (struct fx) and helpers */
void master(struct keytable_master *m, unsigned int profile, uint8_t seed);
void key4(struct keytable_key *k, uint8_t last, uint16_t port, unsigned int dir);
void key6(struct keytable_key *k, uint8_t last, uint16_t port, unsigned int dir);
extern const uint8_t call_id[KEYTABLE_CALL_ID_BYTES];
bool file_has(const struct fx *f, const void *needle, size_t n);
int shm_fd(const struct fx *f);
struct keytable *make(struct fx *f, uint32_t cap);

/* test_keytable_ops.c: operations */
void test_add_get_ipv4_ipv6(void **state);
void test_add_refusals(void **state);
void test_key_tail_zeroed(void **state);
void test_key_builders_bytes(void **state);
void test_replace(void **state);
void test_schedule(void **state);
void test_delete_wipes(void **state);
void test_wildcard(void **state);
void test_bulk_32(void **state);
void test_bulk_ref_read_ref(void **state);
void test_full_table(void **state);
void test_list(void **state);
void test_model(void **state);
void test_ref_after_shift(void **state);
void test_mki_lifetime(void **state);

/* test_keytable_attach.c: roles, lock, persistence, refusals at attach, recovery */
void test_reader_read_only(void **state);
void test_second_writer(void **state);
void test_survives_writer_death(void **state);
void test_bad_magic(void **state);
void test_wrong_abi(void **state);
void test_wrong_sizes(void **state);
void test_short_file(void **state);
void test_wrong_permissions(void **state);
void test_wrong_owner(void **state);
void test_unlink(void **state);
void test_recover_replace(void **state);
void test_recover_odd_and_corrupt(void **state);

/* test_keytable_damage.c: damaged tables never hang or crash (issue 14) */
void test_damage_full_pending_delete(void **state);
void test_damage_journal_fields(void **state);
void test_damage_undo_mismatch(void **state);
void test_damage_geometry(void **state);
void test_damage_seq_odd(void **state);
void test_damage_counters(void **state);
void test_damage_writer_ops(void **state);

#endif
