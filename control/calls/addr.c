/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * addr.c - addresses: the IP:port forms the manager takes ("--listen",
 * "--local-media", the peers directory) parsed into struct callproto_addr,
 * printed back, turned into a sockaddr or a key-table key.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "errbuf.h"
#include "calls_internal.h"

/* "a.b.c.d:port" or "[v6]:port" -> addr (port may be 0 when allow0). */
int addr_parse(const char *s, struct callproto_addr *a, bool allow0)
{
	memset(a, 0, sizeof(*a));
	if (store_ip_port_parse(s, &a->family, a->addr, &a->port) < 0 ||
	    (!allow0 && a->port == 0))
		return -EINVAL;
	return 0;
}

void addr_format(const struct callproto_addr *a, char *out, size_t cap)
{
	char h[INET6_ADDRSTRLEN];

	if (!inet_ntop(a->family == 6 ? AF_INET6 : AF_INET, a->addr, h, sizeof(h))) {
		errbuf_set(out, cap, "?");
		return;
	}
	if (a->family == 6)
		errbuf_set(out, cap, "[%s]:%u", h, a->port);
	else
		errbuf_set(out, cap, "%s:%u", h, a->port);
}

socklen_t addr_sockaddr(const struct callproto_addr *a, struct sockaddr_storage *ss)
{
	memset(ss, 0, sizeof(*ss));
	if (a->family == 6) {
		struct sockaddr_in6 *s6 = (struct sockaddr_in6 *)ss;

		s6->sin6_family = AF_INET6;
		s6->sin6_port = htons(a->port);
		memcpy(&s6->sin6_addr, a->addr, 16);
		return sizeof(*s6);
	}
	struct sockaddr_in *s4 = (struct sockaddr_in *)ss;

	s4->sin_family = AF_INET;
	s4->sin_port = htons(a->port);
	memcpy(&s4->sin_addr, a->addr, 4);
	return sizeof(*s4);
}

bool addr_eq(const struct callproto_addr *a, const struct callproto_addr *b)
{
	return a->family == b->family && a->port == b->port &&
	       memcmp(a->addr, b->addr, 16) == 0;
}

void addr_table_key(const struct callproto_addr *a, unsigned int dir, struct keytable_key *k)
{
	if (a->family == 6)
		keytable_key_ipv6(k, a->addr, a->port, dir);
	else
		keytable_key_ipv4(k, a->addr, a->port, dir);
}
