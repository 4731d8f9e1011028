/* SPDX-License-Identifier: BSD-3-Clause */
/* test_csrtp_mki.h - the MKI and key lifetime tests (test_csrtp_mki.c), run
 * by test_csrtp.c's main under each GCM API. */
#ifndef TEST_CSRTP_MKI_H
#define TEST_CSRTP_MKI_H

#include <stddef.h>

struct CMUnitTest;
extern const struct CMUnitTest csrtp_mki_tests[];
extern const size_t csrtp_mki_ntests;

#endif
