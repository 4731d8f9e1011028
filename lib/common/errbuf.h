/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * errbuf.h - the one way callseal code fills a caller's error buffer: a
 * formatted human line into (err, errlen), silently nothing when err is NULL
 * or errlen is 0. Library and control functions return 0 or a negative errno
 * and leave the reason here; no message ever contains key bytes.
 */
#ifndef CALLSEAL_ERRBUF_H
#define CALLSEAL_ERRBUF_H
#include <stddef.h>

void errbuf_set(char *err, size_t errlen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

#endif /* CALLSEAL_ERRBUF_H */
