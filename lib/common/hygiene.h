/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * hygiene.h - process-wide key hygiene shared by both daemons
 * (docs/security.md, "Key hygiene"):
 *
 *   - hygiene_dumpable(false) makes the process non-dumpable
 *     (prctl PR_SET_DUMPABLE 0): no core file, and /proc/PID/mem, ptrace and
 *     the like are refused to anyone but root (CAP_SYS_PTRACE); --dumpable
 *     (debugging) leaves it dumpable;
 *   - hygiene_lock() locks the pages of a region holding keys as they are
 *     touched (mlock2 MLOCK_ONFAULT: a large table stays lazily allocated),
 *     so they never reach swap. A refusal (RLIMIT_MEMLOCK for an
 *     unprivileged user) is counted, not fatal: the caller warns once.
 */
#ifndef CALLSEAL_HYGIENE_H
#define CALLSEAL_HYGIENE_H

#include <stdbool.h>
#include <stddef.h>

/* 0, or -errno from prctl. */
int hygiene_dumpable(bool dumpable) __attribute__((warn_unused_result));

/* Whether the process is dumpable now: 1, 0, or -errno. */
int hygiene_is_dumpable(void);

/* Lock [p, p + len) as its pages are faulted in: 0, or -errno (also
 * counted: hygiene_lock_refused()). Unlocked by munmap. */
int hygiene_lock(void *p, size_t len);

/* How many hygiene_lock() calls were refused so far, and the last errno. */
unsigned hygiene_lock_refused(int *last_errno);

#endif /* CALLSEAL_HYGIENE_H */
