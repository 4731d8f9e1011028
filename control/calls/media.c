/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * media.c - where a call receives media: a given address checked against
 * the calls and the key table, or the next free port of the media pool
 * ("--media-pool IP:LO-HI").
 *
 * Known cost, left for a later issue: media_pool_take() scans the pool port
 * by port, each a walk of the call list and two key-table look-ups, so a
 * nearly full pool costs O(ports x calls) per new call.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "errbuf.h"
#include "calls_internal.h"

/* A media address must be one a peer can send to: not 0.0.0.0 or ::. */
int media_parse(const char *s, struct callproto_addr *a)
{
	if (addr_parse(s, a, false) < 0)
		return -EINVAL;
	return store_ip_unspecified(a->family, a->addr) ? -EADDRNOTAVAIL : 0;
}

/* "IP:LO-HI": the address with port LO, and HI. */
int media_pool_parse(const char *s, struct callproto_addr *a, uint16_t *hi)
{
	char buf[STORE_ADDR_MAX + 8], *dash, *end;
	unsigned long h;

	if (!s || strlen(s) >= sizeof(buf))
		return -EINVAL;
	errbuf_set(buf, sizeof(buf), "%s", s);
	dash = strrchr(buf, '-');
	if (!dash || dash[1] < '0' || dash[1] > '9')
		return -EINVAL;
	*dash = '\0';
	errno = 0;
	h = strtoul(dash + 1, &end, 10);
	if (errno || *end || media_parse(buf, a) < 0 || h < a->port || h > 65535)
		return -EINVAL;
	*hi = (uint16_t)h;
	return 0;
}

/* The call (either role, detached ones too) that receives media on a, or NULL. */
const struct conn *media_user(const struct calls *cm, const struct callproto_addr *a)
{
	for (const struct conn *c = cm->conns; c; c = c->next)
		if (addr_eq(&c->local_media, a))
			return c;
	return NULL;
}

/* Whether the key table already has a stream on a (a static key, say). */
bool media_in_table(const struct calls *cm, const struct callproto_addr *a)
{
	struct keytable_entry e;
	struct keytable_key k;
	bool used = false;

	for (unsigned int d = KEYTABLE_DIR_IN; d <= KEYTABLE_DIR_OUT && !used; d++) {
		addr_table_key(a, d, &k);
		used = keytable_get(cm->cfg.table, &k, &e, NULL) == 0;
		keytable_wipe(&e, sizeof(e));
	}
	return used;
}

/* The next pool port no call and no table stream of this manager receives
 * media on: 0, or -EBUSY when the pool is exhausted. */
int media_pool_take(const struct calls *cm, struct callproto_addr *out)
{
	struct callproto_addr cand = cm->pool_addr;

	for (uint32_t p = cm->pool_lo; p <= cm->pool_hi; p++) {
		cand.port = (uint16_t)p;
		if (!media_user(cm, &cand) && !media_in_table(cm, &cand)) {
			*out = cand;
			return 0;
		}
	}
	return -EBUSY;
}
