/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * secmem.h - a pool of locked, guarded memory for per-call secrets.
 *
 * A call set-up needs several short-lived secret blocks (the callproto and
 * Noise handshake states, the static private key while it is read from the
 * store, the derived keys). sodium_malloc() gives each its own guard pages,
 * mprotect, mlock and madvise: several system calls, ~30k cycles, per block
 * and as much again to free it -- 28% of a set-up (docs/benchmarks.md).
 *
 * secmem keeps the protection at the level of a chunk instead of a block, as
 * OpenSSL's secure heap does: each chunk is one sodium_malloc'd region (guard
 * pages around it, mlock'd, MADV_DONTDUMP) cut into equal slots of one size
 * class (64 B .. 16 KiB, powers of two). Per slot:
 *
 *   - zeroed when handed out, wiped (sodium_memzero) when given back;
 *   - a 16-octet canary after it (random per process, checked on free: an
 *     overrun aborts, as sodium_free does);
 *   - a header before it that marks it in use or free (a double free or a
 *     pointer that secmem did not hand out aborts).
 *
 *   - a slot is checked again when handed out: in a chunk of its class,
 *     marked free, canary intact, all zero (an overrun into a free slot or
 *     a write through a freed pointer aborts there).
 *
 * What is traded: an overrun is caught at the next free or allocation of
 * the slots it reached, not at the faulting write as a guard page would
 * catch it; and a second free of a pointer whose slot was handed out again
 * frees the new owner's block (with one mapping per block it would fault).
 * Blocks over 16 KiB go to sodium_malloc itself.
 *
 * Chunks are kept once made (the pool grows to the most blocks in use at
 * once and stays there); secmem_release() gives them back when nothing is in
 * use. Thread-safe (one mutex); no allocation on the free path.
 *
 * Long-lived or rare secrets (the admin connection's scratch, callsealctl's
 * stdin copy) stay in sodium_malloc. An admin request's payload (admin.c)
 * comes from here: a call dial and its end are two requests.
 */
#ifndef CALLSEAL_SECMEM_H
#define CALLSEAL_SECMEM_H

#include <stddef.h>

/* A zeroed block of at least size octets, 16-octet aligned; NULL when out of
 * memory or size is 0 (errno ENOMEM / EINVAL). */
void *secmem_alloc(size_t size) __attribute__((malloc, warn_unused_result));

/* Wipes and gives back a block from secmem_alloc (NULL is a no-op). Aborts
 * on a pointer secmem did not hand out, a double free, or an overrun. */
void secmem_free(void *p);

struct secmem_stats {
	size_t in_use;          /* blocks handed out and not yet given back */
	size_t chunks;          /* sodium_malloc'd chunks held */
	size_t chunk_bytes;     /* their total size */
	size_t large;           /* blocks over the largest class, in use */
};

void secmem_stats(struct secmem_stats *out);

/* Frees every chunk: 0, or -EBUSY (and nothing freed) while a block is in use. */
int secmem_release(void);

#endif
