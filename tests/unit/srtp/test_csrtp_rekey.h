/* SPDX-License-Identifier: BSD-3-Clause */
/* test_csrtp_rekey.h - the key-change tests (test_csrtp_rekey.c), run by
 * test_csrtp.c's main under each GCM API. */
#ifndef TEST_CSRTP_REKEY_H
#define TEST_CSRTP_REKEY_H

#include <stddef.h>

struct CMUnitTest;
extern const struct CMUnitTest csrtp_rekey_tests[];
extern const size_t csrtp_rekey_ntests;

#endif
