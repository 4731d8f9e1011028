/* SPDX-License-Identifier: BSD-3-Clause */
/* test_csrtp_rekey.h - the key-change tests (test_csrtp_rekey.c), run by
 * test_csrtp.c's main under each GCM API, and under the AES-CM profiles. */
#ifndef TEST_CSRTP_REKEY_H
#define TEST_CSRTP_REKEY_H

#include <stdbool.h>
#include <stddef.h>

#include "csrtp.h"

struct CMUnitTest;
extern const struct CMUnitTest csrtp_rekey_tests[];
extern const size_t csrtp_rekey_ntests;
/* the profile of every key the tests make (AEAD_AES_128_GCM unless set) */
extern enum csrtp_profile csrtp_rekey_profile;
/* the MKI length of every key the tests make (0: none) */
extern unsigned csrtp_rekey_mki_len;
/* every key the tests make has the same MKI (false: one per key) */
extern bool csrtp_rekey_mki_same;

#endif
