/* SPDX-License-Identifier: BSD-3-Clause */
/* csrtp_window.c - replay window (RFC 3711 s. 3.3.2). */
#include <errno.h>
#include <string.h>

#include "csrtp_window.h"

int csrtp_window_init(struct csrtp_window *w, unsigned size)
{
	if (size == 0)
		size = CSRTP_REPLAY_WINDOW_DEFAULT;
	if (size > CSRTP_REPLAY_WINDOW_MAX)
		return -EINVAL;
	size = (size + 63) & ~63u;
	memset(w, 0, sizeof(*w));
	w->size = (uint16_t)size;
	return 0;
}

/* Slide the window forward by delta packets: bit i moves to bit i + delta. */
static void shift(struct csrtp_window *w, uint64_t delta)
{
	unsigned words = w->size >> 6;

	if (delta >= w->size) {
		memset(w->bits, 0, words * sizeof(w->bits[0]));
		return;
	}
	if (delta < 64) {
		/* the common case: a few packets forward */
		unsigned d = (unsigned)delta;
		if (d == 0)
			return;
		for (unsigned j = words - 1; j > 0; j--)
			w->bits[j] = w->bits[j] << d | w->bits[j - 1] >> (64 - d);
		w->bits[0] <<= d;
		return;
	}
	unsigned ws = (unsigned)(delta >> 6), bs = (unsigned)(delta & 63);
	for (int j = (int)words - 1; j >= 0; j--) {
		int src = j - (int)ws;
		uint64_t v = 0;
		if (src >= 0) {
			v = w->bits[src] << bs;
			if (bs && src >= 1)
				v |= w->bits[src - 1] >> (64 - bs);
		}
		w->bits[j] = v;
	}
}

void csrtp_window_update_slow(struct csrtp_window *w, uint64_t index)
{
	if (!w->started) {
		memset(w->bits, 0, sizeof(w->bits));
		w->started = 1;
		w->top = index;
	} else if (index > w->top) {
		shift(w, index - w->top);
		w->top = index;
	}
	uint64_t delta = w->top - index;
	if (delta < w->size)
		w->bits[delta >> 6] |= UINT64_C(1) << (delta & 63);
}
