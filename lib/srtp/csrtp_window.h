/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * csrtp_window.h - packet index estimation (RFC 3711 s. 3.3.1, appendix A)
 * and the sliding replay window (RFC 3711 s. 3.3.2).
 *
 * The window's top is the highest index accepted so far, so ROC = top >> 16
 * and s_l = top & 0xffff: RFC 3711's receiver state is derived, not stored.
 */
#ifndef CALLSEAL_CSRTP_WINDOW_H
#define CALLSEAL_CSRTP_WINDOW_H

#include <stdbool.h>
#include <stdint.h>

#include "csrtp.h"

/* size in packets: 0 -> default; rounded up to 64; -EINVAL above the maximum. */
int csrtp_window_init(struct csrtp_window *w, unsigned size);

/*
 * Estimate the 48-bit SRTP index of sequence number seq (RFC 3711 appendix A)
 * relative to the reference index ref (ROC || s_l), or, in the second form,
 * relative to the highest index the window has accepted.
 * Before the first accepted packet the ROC is roc_init. The result exceeds
 * CSRTP_INDEX_MAX only when the ROC would pass 2^32 - 1 (key exhausted).
 */
static inline uint64_t csrtp_window_estimate_from(uint64_t ref, uint16_t seq)
{
	uint64_t roc = ref >> 16;
	uint16_t s_l = (uint16_t)ref;
	uint64_t v = roc;

	if (s_l < 32768) {
		/* seq far above s_l: it belongs to the previous ROC (if any) */
		if ((int)seq - (int)s_l > 32768 && roc > 0)
			v = roc - 1;
	} else {
		/* seq far below s_l: the sequence number has wrapped */
		if ((int)s_l - 32768 > (int)seq)
			v = roc + 1;
	}
	return (v << 16) | seq;
}

static inline uint64_t csrtp_window_estimate(const struct csrtp_window *w,
					     uint16_t seq, uint32_t roc_init)
{
	if (!w->started)
		return ((uint64_t)roc_init << 16) | seq;
	return csrtp_window_estimate_from(w->top, seq);
}

/* May index be accepted? true for new indices and unseen ones inside the window. */
static inline bool csrtp_window_check(const struct csrtp_window *w, uint64_t index)
{
	if (!w->started || index > w->top)
		return true;
	uint64_t delta = w->top - index;
	if (delta >= w->size)
		return false;                        /* older than the window */
	return !(w->bits[delta >> 6] & (UINT64_C(1) << (delta & 63)));
}

/* Record index as accepted (call only after its tag verified). */
void csrtp_window_update_slow(struct csrtp_window *w, uint64_t index);

static inline void csrtp_window_update(struct csrtp_window *w, uint64_t index)
{
	/* the common case: the next packet in order, window of 128 */
	if (w->started && index == w->top + 1 && w->size == 128) {
		w->bits[1] = w->bits[1] << 1 | w->bits[0] >> 63;
		w->bits[0] = w->bits[0] << 1 | 1;
		w->top = index;
		return;
	}
	csrtp_window_update_slow(w, index);
}

#endif /* CALLSEAL_CSRTP_WINDOW_H */
