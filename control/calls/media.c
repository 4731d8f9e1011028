/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * media.c - where a call receives media: a given address checked against
 * the calls and the key table, or the next free port of the media pool
 * ("--media-pool IP:LO-HI").
 * A pool port is taken in O(1) from the pool map (below).
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

/* The call (either role, detached ones too) that receives media on a, or
 * NULL. A walk of the calls: only for an address given to calls_dial (an
 * admin command, once per dial); pool ports are found in the pool map. */
const struct conn *media_user(const struct calls *cm, const struct callproto_addr *a)
{
	for (const struct conn *c = cm->conns; c; c = c->next)
		if (addr_eq(&c->local_media, a))
			return c;
	return NULL;
}

/*
 * Whether the key table already has a stream on a (a static key, say), in
 * either direction: its exact key, not a wildcard for the port. Found by
 * reference only (keytable_lookup_bulk_ref): no key is copied to decide. The
 * bulk look-up falls back to the port's wildcard, so each exact key is asked
 * next to its wildcard: the exact key is there unless what was found is the
 * wildcard's own slot. A busy slot counts as taken.
 */
bool media_in_table(const struct calls *cm, const struct callproto_addr *a)
{
	struct keytable_key k[4];
	struct keytable_ref ref[4];
	uint8_t st[4];

	for (unsigned int d = 0; d < 2; d++) {
		unsigned int dir = d == 0 ? KEYTABLE_DIR_IN : KEYTABLE_DIR_OUT;

		addr_table_key(a, dir, &k[d]);
		keytable_key_any(&k[2 + d], a->port, dir);
	}
	if (keytable_lookup_bulk_ref(cm->cfg.table, k, 4, ref, st) < 0)
		return true;
	for (unsigned int d = 0; d < 2; d++) {
		if (st[d] == KEYTABLE_BUSY)
			return true;
		if (st[d] == KEYTABLE_FOUND &&
		    !(st[2 + d] == KEYTABLE_FOUND && ref[2 + d].slot == ref[d].slot))
			return true;
	}
	return false;
}

/* ---- the pool map ------------------------------------------------------------------
 *
 * Taking a pool port is O(1): a two-level bitmap of the available ports (a
 * bit per port in avail, a bit per non-zero avail word in summary: 65536
 * ports make 16 summary words) gives the lowest available one, as the pool
 * always handed out. Each port has a state (POOL_USED: a connection of ours
 * receives media there, given by the pool or as --local-media; POOL_BLOCKED:
 * it came up with a table stream of its own, a static key on a pool address).
 * Available = neither. A blocked port is set aside on the blocked list and
 * looked at again only when no other port is left, so each costs one table
 * look-up per pass, and a look-up copies no key (media_in_table). */

static uint32_t pool_index(const struct calls *cm, const struct callproto_addr *a)
{
	if (!cm->has_pool || a->family != cm->pool_addr.family ||
	    memcmp(a->addr, cm->pool_addr.addr, sizeof(a->addr)) != 0 ||
	    a->port < cm->pool_lo || a->port > cm->pool_hi)
		return UINT32_MAX;
	return (uint32_t)(a->port - cm->pool_lo);
}

static void avail_set(struct calls *cm, uint32_t i)
{
	cm->pool_avail[i / 64] |= 1ull << (i % 64);
	cm->pool_summary[i / 4096] |= 1ull << ((i / 64) % 64);
}

static void avail_clear(struct calls *cm, uint32_t i)
{
	cm->pool_avail[i / 64] &= ~(1ull << (i % 64));
	if (!cm->pool_avail[i / 64])
		cm->pool_summary[i / 4096] &= ~(1ull << ((i / 64) % 64));
}

/* The lowest available port's index, or UINT32_MAX. */
static uint32_t avail_first(const struct calls *cm)
{
	uint32_t nsum = ((uint32_t)(cm->pool_hi - cm->pool_lo) + 1u + 4095u) / 4096u;

	for (uint32_t s = 0; s < nsum; s++) {
		if (cm->pool_summary[s]) {
			uint32_t w = s * 64u + (uint32_t)__builtin_ctzll(cm->pool_summary[s]);

			return w * 64u + (uint32_t)__builtin_ctzll(cm->pool_avail[w]);
		}
	}
	return UINT32_MAX;
}

/* Every pool port available. 0 or -ENOMEM. */
int media_pool_init(struct calls *cm)
{
	uint32_t n = (uint32_t)(cm->pool_hi - cm->pool_lo) + 1u;

	cm->pool_state = calloc(n, sizeof(*cm->pool_state));
	cm->pool_blocked = calloc(n, sizeof(*cm->pool_blocked));
	cm->pool_avail = calloc((n + 63u) / 64u, sizeof(*cm->pool_avail));
	cm->pool_summary = calloc((n + 4095u) / 4096u, sizeof(*cm->pool_summary));
	if (!cm->pool_state || !cm->pool_blocked || !cm->pool_avail || !cm->pool_summary) {
		media_pool_free(cm);
		return -ENOMEM;
	}
	for (uint32_t i = 0; i < n; i++)
		avail_set(cm, i);
	return 0;
}

void media_pool_free(struct calls *cm)
{
	free(cm->pool_state);
	free(cm->pool_blocked);
	free(cm->pool_avail);
	free(cm->pool_summary);
	cm->pool_state = NULL;
	cm->pool_blocked = NULL;
	cm->pool_avail = cm->pool_summary = NULL;
	cm->n_blocked = 0;
}

/* c receives media on its local_media: a pool port is marked used. */
void media_hold(struct calls *cm, struct conn *c)
{
	uint32_t i = pool_index(cm, &c->local_media);

	if (i == UINT32_MAX || c->pool_port)
		return;
	cm->pool_state[i] |= POOL_USED;
	avail_clear(cm, i);
	c->pool_port = true;
}

/* c no longer receives media: its pool port is available again. */
void media_release(struct calls *cm, struct conn *c)
{
	uint32_t i;

	if (!c->pool_port)
		return;
	c->pool_port = false;
	i = pool_index(cm, &c->local_media);
	cm->pool_state[i] &= (uint8_t)~POOL_USED;
	if (!(cm->pool_state[i] & POOL_BLOCKED))
		avail_set(cm, i);
}

/* The lowest free pool port for c (its local_media, held): 0, or -EBUSY
 * when the pool is exhausted. */
int media_pool_take(struct calls *cm, struct conn *c)
{
	struct callproto_addr cand = cm->pool_addr;

	for (int pass = 0; pass < 2; pass++) {
		uint32_t i;

		while ((i = avail_first(cm)) != UINT32_MAX) {
			cand.port = (uint16_t)(cm->pool_lo + i);
			if (media_in_table(cm, &cand)) {
				cm->pool_state[i] |= POOL_BLOCKED;
				avail_clear(cm, i);
				cm->pool_blocked[cm->n_blocked++] = (uint16_t)i;
				continue;
			}
			c->local_media = cand;
			media_hold(cm, c);
			return 0;
		}
		if (pass == 1 || !cm->n_blocked)
			break;
		/* none left: a static key may have gone since; each blocked port
		 * once more */
		while (cm->n_blocked) {
			i = cm->pool_blocked[--cm->n_blocked];
			cm->pool_state[i] &= (uint8_t)~POOL_BLOCKED;
			if (!(cm->pool_state[i] & POOL_USED))
				avail_set(cm, i);
		}
	}
	return -EBUSY;
}
