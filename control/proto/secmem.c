/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * secmem.c - the pool of locked memory for per-call secrets (secmem.h).
 *
 * Slot layout, in a chunk of one size class (slot = 16 + class + 16 octets):
 *
 *   [ header: magic, class, next-free ][ user block: class octets ][ canary ]
 *
 * Free slots are on their class's free list and are all zero in the user
 * block; the canary is written when the chunk is made and checked on every
 * free. Blocks over the largest class are sodium_malloc'd with a header of
 * their own in front (class LARGE), so secmem_free can tell them apart.
 */
#include <errno.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "secmem.h"

#define HDR_LEN         16
#define CANARY_LEN      16
#define MIN_SHIFT       6                       /* 64 octets */
#define MAX_SHIFT       14                      /* 16 KiB */
#define N_CLASSES       (MAX_SHIFT - MIN_SHIFT + 1)
#define CLASS_LARGE     0xffffu
#define CHUNK_TARGET    (64u * 1024)            /* octets of slots per chunk */
#define CHUNK_MIN_SLOTS 4

#define MAGIC_USED      0x5345434du             /* "SECM" */
#define MAGIC_FREE      0x66726565u             /* "free" */

struct slot_hdr {
	uint32_t magic;
	uint32_t cls;                   /* class index, or CLASS_LARGE */
	union {
		struct slot_hdr *next;  /* free: next free slot of the class */
		size_t large_len;       /* large: the user size */
	} u;
};
_Static_assert(sizeof(struct slot_hdr) <= HDR_LEN, "header fits");

struct chunk {
	struct chunk *next;             /* malloc'd list node; not secret */
	uint8_t *mem;                   /* sodium_malloc'd */
	size_t len;
	unsigned int cls;
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct slot_hdr *free_list[N_CLASSES];
static struct chunk *chunks;
static uint8_t canary[CANARY_LEN];
static bool canary_set;
static size_t in_use, n_chunks, chunk_bytes, n_large;

static size_t class_size(unsigned int cls)
{
	return (size_t)1 << (cls + MIN_SHIFT);
}

static size_t slot_size(unsigned int cls)
{
	return HDR_LEN + class_size(cls) + CANARY_LEN;
}

/* The smallest class that holds size, or N_CLASSES when none does. */
static unsigned int class_of(size_t size)
{
	unsigned int cls = 0;

	while (cls < N_CLASSES && class_size(cls) < size)
		cls++;
	return cls;
}

static uint8_t *user_of(struct slot_hdr *h)
{
	return (uint8_t *)h + HDR_LEN;
}

/* Whether h is the start of a slot of class cls in one of the chunks. */
static bool in_pool(const struct slot_hdr *h, unsigned int cls)
{
	const uint8_t *p = (const uint8_t *)h;

	for (const struct chunk *ch = chunks; ch; ch = ch->next)
		if (ch->cls == cls && p >= ch->mem && p < ch->mem + ch->len)
			return (size_t)(p - ch->mem) % slot_size(cls) == 0;
	return false;
}

/* All zero (not secret: a freed slot's contents are checked, not compared). */
static bool all_zero(const uint8_t *b, size_t n)
{
	uint64_t acc = 0, w;

	for (size_t i = 0; i < n; i += sizeof(w)) {
		memcpy(&w, b + i, sizeof(w));
		acc |= w;
	}
	return acc == 0;
}

/*
 * A slot about to be handed out must be exactly as secmem_free left it:
 * in a chunk of its class, marked free, canary intact, block all zero. An
 * overrun from the block before it, or a write through a stale pointer,
 * aborts here instead of handing out a damaged list or a non-zero block.
 * Under lock.
 */
static void check_free_slot(const struct slot_hdr *h, unsigned int cls)
{
	if (!in_pool(h, cls) || h->magic != MAGIC_FREE || h->cls != cls ||
	    sodium_memcmp(user_of((struct slot_hdr *)h) + class_size(cls), canary,
			  CANARY_LEN) != 0 ||
	    !all_zero(user_of((struct slot_hdr *)h), class_size(cls)))
		abort();
}

/* A new chunk for cls, its slots pushed on the free list. Under lock. */
static int grow(unsigned int cls)
{
	size_t ss = slot_size(cls), n = CHUNK_TARGET / class_size(cls);
	struct chunk *ch;
	uint8_t *mem;

	if (n < CHUNK_MIN_SLOTS)
		n = CHUNK_MIN_SLOTS;
	if (sodium_init() < 0)
		return -ENOMEM;
	if (!canary_set) {
		randombytes_buf(canary, sizeof(canary));
		canary_set = true;
	}
	ch = malloc(sizeof(*ch));
	if (!ch)
		return -ENOMEM;
	mem = sodium_malloc(n * ss);    /* guard pages, mlock, MADV_DONTDUMP */
	if (!mem) {
		free(ch);
		return -ENOMEM;
	}
	memset(mem, 0, n * ss);         /* sodium_malloc fills with 0xdb */
	for (size_t i = n; i-- > 0;) {
		struct slot_hdr *h = (struct slot_hdr *)(mem + i * ss);

		h->magic = MAGIC_FREE;
		h->cls = cls;
		h->u.next = free_list[cls];
		memcpy(user_of(h) + class_size(cls), canary, CANARY_LEN);
		free_list[cls] = h;
	}
	ch->mem = mem;
	ch->len = n * ss;
	ch->cls = cls;
	ch->next = chunks;
	chunks = ch;
	n_chunks++;
	chunk_bytes += ch->len;
	return 0;
}

static void *alloc_large(size_t size)
{
	struct slot_hdr *h;

	if (size > SIZE_MAX - HDR_LEN - 15 || sodium_init() < 0)
		return NULL;
	/* a multiple of 16 keeps sodium_malloc's block (page end - size) aligned */
	h = sodium_malloc((HDR_LEN + size + 15) & ~(size_t)15);
	if (!h)
		return NULL;
	memset(h, 0, HDR_LEN + size);
	h->magic = MAGIC_USED;
	h->cls = CLASS_LARGE;
	h->u.large_len = size;
	pthread_mutex_lock(&lock);
	n_large++;
	in_use++;
	pthread_mutex_unlock(&lock);
	return user_of(h);
}

void *secmem_alloc(size_t size)
{
	unsigned int cls = class_of(size);
	struct slot_hdr *h = NULL;

	if (size == 0) {
		errno = EINVAL;
		return NULL;
	}
	if (cls == N_CLASSES) {
		void *p = alloc_large(size);

		if (!p)
			errno = ENOMEM;
		return p;
	}
	pthread_mutex_lock(&lock);
	if (free_list[cls] || grow(cls) == 0) {
		h = free_list[cls];
		check_free_slot(h, cls);
		free_list[cls] = h->u.next;
		h->magic = MAGIC_USED;
		h->u.next = NULL;
		in_use++;
	}
	pthread_mutex_unlock(&lock);
	if (!h) {
		errno = ENOMEM;
		return NULL;
	}
	return user_of(h);              /* zero: wiped when it was given back */
}

void secmem_free(void *p)
{
	struct slot_hdr *h;

	if (!p)
		return;
	h = (struct slot_hdr *)((uint8_t *)p - HDR_LEN);
	/* checked and marked under the lock: two threads freeing one block
	 * cannot both pass */
	pthread_mutex_lock(&lock);
	if (h->magic != MAGIC_USED)
		abort();                /* double free, or not ours */
	if (h->cls == CLASS_LARGE) {
		n_large--;
		in_use--;
		h->magic = 0;
		pthread_mutex_unlock(&lock);
		sodium_free(h);         /* wipes, checks its own canary */
		return;
	}
	if (h->cls >= N_CLASSES || !in_pool(h, h->cls) ||
	    sodium_memcmp(user_of(h) + class_size(h->cls), canary, CANARY_LEN) != 0)
		abort();                /* overrun, or a pointer into a block */
	sodium_memzero(p, class_size(h->cls));
	h->magic = MAGIC_FREE;
	h->u.next = free_list[h->cls];
	free_list[h->cls] = h;
	in_use--;
	pthread_mutex_unlock(&lock);
}

void secmem_stats(struct secmem_stats *out)
{
	pthread_mutex_lock(&lock);
	out->in_use = in_use;
	out->chunks = n_chunks;
	out->chunk_bytes = chunk_bytes;
	out->large = n_large;
	pthread_mutex_unlock(&lock);
}

int secmem_release(void)
{
	int rc = 0;

	pthread_mutex_lock(&lock);
	if (in_use) {
		rc = -EBUSY;
		goto out;
	}
	while (chunks) {
		struct chunk *ch = chunks;

		chunks = ch->next;
		sodium_free(ch->mem);   /* wipes */
		free(ch);
	}
	memset(free_list, 0, sizeof(free_list));
	n_chunks = 0;
	chunk_bytes = 0;
out:
	pthread_mutex_unlock(&lock);
	return rc;
}
