/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * fuzz_classify.c - libFuzzer harness for dataplane/classify.c.
 *
 * Input: media_lo (2 octets, big-endian) || media_hi (2) || an Ethernet
 * frame. The frame is classified in both directions, from a copy of exactly
 * its length (ASan sees any read past it), and every offset the result gives
 * is checked to lie inside the frame.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "classify.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static void check(const struct classify_cfg *cfg, const struct classify_result *r,
		  uint32_t len)
{
	if (r->kind >= CLASSIFY_KIND_MAX)
		abort();
	if (r->kind != CLASSIFY_RTP && r->kind != CLASSIFY_RTCP &&
	    r->kind != CLASSIFY_STUN && r->kind != CLASSIFY_DTLS)
		return;
	if (r->local_port < cfg->media_lo || r->local_port > cfg->media_hi)
		abort();
	/* a media result names the IP and UDP headers and a payload in the frame */
	if (r->l3_off >= r->l4_off || (uint32_t)r->l4_off + 8 != r->payload_off ||
	    (uint32_t)r->payload_off + r->payload_len > len)
		abort();
	if ((uint32_t)r->local_addr_off + (r->ipv6 ? 16u : 4u) > r->l4_off)
		abort();
	if (r->payload_len == 0)
		abort();
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct classify_cfg cfg;
	struct classify_result r;
	uint8_t *frame;
	uint32_t len;
	int dir;

	if (size < 4 || size - 4 > UINT32_MAX)
		return 0;
	cfg.media_lo = (uint16_t)(data[0] << 8 | data[1]);
	cfg.media_hi = (uint16_t)(data[2] << 8 | data[3]);
	len = (uint32_t)(size - 4);
	/* exactly len octets on the heap: a read past them is an ASan report */
	frame = malloc(len ? len : 1);
	if (frame == NULL)
		return 0;
	memcpy(frame, data + 4, len);
	for (dir = CLASSIFY_OUTBOUND; dir <= CLASSIFY_INBOUND; dir++) {
		int kind = classify_frame(&cfg, (enum classify_dir)dir, frame, len, &r);

		if (kind != r.kind)
			abort();
		check(&cfg, &r, len);
		if (classify_kind_str((enum classify_kind)kind) == NULL)
			abort();
	}
	free(frame);
	return 0;
}
