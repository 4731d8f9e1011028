/* SPDX-License-Identifier: BSD-3-Clause */
/* hygiene.c - non-dumpable processes and locked key memory (hygiene.h). */
#include <errno.h>
#include <sys/mman.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "hygiene.h"

#ifndef MLOCK_ONFAULT
#define MLOCK_ONFAULT 0x01
#endif

static unsigned lock_refused;
static int lock_errno;

int hygiene_dumpable(bool dumpable)
{
	int rc = 0;

	if (prctl(PR_SET_DUMPABLE, dumpable ? 1 : 0, 0, 0, 0) != 0)
		rc = -errno;
	return rc;
}

int hygiene_is_dumpable(void)
{
	int rc = prctl(PR_GET_DUMPABLE, 0, 0, 0, 0);

	return rc < 0 ? -errno : rc != 0;
}

int hygiene_lock(void *p, size_t len)
{
	int rc = 0;

	if (p == NULL || len == 0)
		goto out;
	/* mlock2() has no glibc wrapper before 2.27 on every target: the
	 * system call; ONFAULT keeps a mostly unused table unpopulated */
	if (syscall(SYS_mlock2, p, len, MLOCK_ONFAULT) != 0) {
		rc = -errno;
		__atomic_add_fetch(&lock_refused, 1, __ATOMIC_RELAXED);
		__atomic_store_n(&lock_errno, errno, __ATOMIC_RELAXED);
	}
out:
	return rc;
}

unsigned hygiene_lock_refused(int *last_errno)
{
	if (last_errno != NULL)
		*last_errno = __atomic_load_n(&lock_errno, __ATOMIC_RELAXED);
	return __atomic_load_n(&lock_refused, __ATOMIC_RELAXED);
}
