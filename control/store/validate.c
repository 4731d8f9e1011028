/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * validate.c - the store's input rules (store.h, "validation"): names, peer
 * ids, host:port addresses and numeric IP:port, call ids, and the names the
 * enums are stored under. Pure checks: no database here.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "callid.h"
#include "errbuf.h"
#include "store.h"
#include "store_internal.h"

/* ---- validation ------------------------------------------------------------ */

static bool name_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == '-';
}

/* The first character of a name added from now on: a letter or digit, so it
 * never looks like an option ("-x", "--") or a path ("." ".."). Names a
 * store already holds are looked up, shown and deleted by the older rule. */
static bool name_first_char(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9');
}

bool store_name_valid(const char *s)
{
	size_t i, n;

	if (!s)
		return false;
	n = strnlen(s, STORE_NAME_MAX + 1);
	if (n == 0 || n > STORE_NAME_MAX)
		return false;
	for (i = 0; i < n; i++)
		if (!name_char(s[i]))
			return false;
	return true;
}

bool store_name_new_valid(const char *s)
{
	return store_name_valid(s) && name_first_char(s[0]);
}

int store_ip_port_parse(const char *s, uint8_t *family, uint8_t addr[16], uint16_t *port)
{
	char host[INET6_ADDRSTRLEN + 2];
	const char *colon, *h;
	char *end;
	unsigned long p;
	size_t hl;

	memset(addr, 0, 16);
	if (!s || !(colon = strrchr(s, ':')))
		return -EINVAL;
	h = s;
	hl = (size_t)(colon - s);
	if (hl >= 2 && s[0] == '[' && s[hl - 1] == ']') {
		h = s + 1;
		hl -= 2;
	}
	if (hl == 0 || hl >= sizeof(host) || colon[1] < '0' || colon[1] > '9')
		return -EINVAL;
	memcpy(host, h, hl);
	host[hl] = '\0';
	errno = 0;
	p = strtoul(colon + 1, &end, 10);
	if (errno || *end || p > 65535)
		return -EINVAL;
	*port = (uint16_t)p;
	/* IPv6 only in brackets: "2001:db8::1:5004" would be ambiguous */
	if (h == s && inet_pton(AF_INET, host, addr) == 1)
		*family = 4;
	else if (h != s && inet_pton(AF_INET6, host, addr) == 1)
		*family = 6;
	else
		return -EINVAL;
	return 0;
}

bool store_ip_unspecified(uint8_t family, const uint8_t addr[16])
{
	static const uint8_t mapped[12] = { 0, 0, 0, 0, 0, 0, 0, 0, 0, 0, 0xff, 0xff };
	uint8_t acc = 0;
	size_t i, from = 0;

	if (family == 6 && memcmp(addr, mapped, sizeof(mapped)) == 0)
		from = 12;              /* ::ffff:0.0.0.0 is 0.0.0.0 */
	for (i = from; i < (family == 6 ? 16u : 4u); i++)
		acc |= addr[i];
	return acc == 0;
}

/* Says what is wrong with a name without echoing it (it may hold anything). */
int store_check_name(const char *what, const char *s, char *err, size_t errlen)
{
	size_t i, n;

	if (!s) {
		errbuf_set(err, errlen, "%s name: missing", what);
		return -EINVAL;
	}
	n = strnlen(s, STORE_NAME_MAX + 1);
	if (n == 0 || n > STORE_NAME_MAX) {
		errbuf_set(err, errlen, "%s name: %s%zu characters; a name is 1..%u characters of "
		       "A-Z a-z 0-9 . _ -", what, n > STORE_NAME_MAX ? "over " : "",
		       n > STORE_NAME_MAX ? (size_t)STORE_NAME_MAX : n, STORE_NAME_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!name_char(s[i])) {
			errbuf_set(err, errlen, "%s name: character %zu is not one of A-Z a-z 0-9 . _ -",
			       what, i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

/* check_name, and the first-character rule of names added from now on. */
int store_check_new_name(const char *what, const char *s, char *err, size_t errlen)
{
	int rc = store_check_name(what, s, err, errlen);

	if (rc == 0 && !name_first_char(s[0])) {
		errbuf_set(err, errlen, "%s name: the first character must be a letter or digit",
		       what);
		rc = -EINVAL;
	}
	return rc;
}

int store_peer_id_parse(const char *s, char user[STORE_NAME_MAX + 1],
			char tenant[STORE_NAME_MAX + 1], char *err, size_t errlen)
{
	char u[STORE_NAME_MAX + 1], t[STORE_NAME_MAX + 1];
	const char *at;
	size_t ul, tl;

	if (!s || !(at = strchr(s, '@'))) {
		errbuf_set(err, errlen, "peer: expected user@tenant");
		return -EINVAL;
	}
	ul = (size_t)(at - s);
	tl = strnlen(at + 1, STORE_NAME_MAX + 1);
	if (ul == 0 || ul > STORE_NAME_MAX || tl == 0 || tl > STORE_NAME_MAX) {
		errbuf_set(err, errlen, "peer: expected user@tenant, each 1..%u characters of "
		       "A-Z a-z 0-9 . _ -", STORE_NAME_MAX);
		return -EINVAL;
	}
	memcpy(u, s, ul);
	u[ul] = '\0';
	memcpy(t, at + 1, tl);
	t[tl] = '\0';
	if (store_check_name("peer user", u, err, errlen) < 0 ||
	    store_check_name("peer tenant", t, err, errlen) < 0)
		return -EINVAL;
	if (user)
		memcpy(user, u, ul + 1);
	if (tenant)
		memcpy(tenant, t, tl + 1);
	return 0;
}

static bool dns_name_valid(const char *h, size_t n)
{
	size_t i, label = 0;

	if (n == 0 || n > 253)
		return false;
	for (i = 0; i < n; i++) {
		char c = h[i];

		if (c == '.') {
			if (label == 0 || h[i - 1] == '-')
				return false;
			label = 0;
			continue;
		}
		if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
		      (c >= '0' && c <= '9') || c == '-'))
			return false;
		if (c == '-' && label == 0)
			return false;
		if (++label > 63)
			return false;
	}
	return label > 0 && h[n - 1] != '-';
}

int store_address_check(const char *s, char *err, size_t errlen)
{
	char host[STORE_ADDR_MAX];
	const char *colon, *p;
	unsigned long port = 0;
	size_t n, hl;
	unsigned char buf[sizeof(struct in6_addr)];

	n = s ? strnlen(s, STORE_ADDR_MAX) : 0;
	if (n == 0 || n >= STORE_ADDR_MAX) {
		errbuf_set(err, errlen, "address: expected host:port (at most %u characters)",
		       STORE_ADDR_MAX - 1);
		return -EINVAL;
	}
	colon = strrchr(s, ':');
	if (!colon || colon == s) {
		errbuf_set(err, errlen, "address: expected host:port");
		return -EINVAL;
	}
	for (p = colon + 1; *p; p++) {
		if (*p < '0' || *p > '9' || port > 65535) {
			port = 0;
			break;
		}
		port = port * 10 + (unsigned long)(*p - '0');
	}
	if (colon[1] == '\0' || colon[1] == '0' || port == 0 || port > 65535) {
		errbuf_set(err, errlen, "address: the port must be 1..65535");
		return -EINVAL;
	}
	hl = (size_t)(colon - s);
	if (s[0] == '[') {
		if (hl < 3 || s[hl - 1] != ']') {
			errbuf_set(err, errlen, "address: an IPv6 address goes in brackets: [2001:db8::1]:5060");
			return -EINVAL;
		}
		memcpy(host, s + 1, hl - 2);
		host[hl - 2] = '\0';
		if (inet_pton(AF_INET6, host, buf) != 1) {
			errbuf_set(err, errlen, "address: not an IPv6 address inside the brackets");
			return -EINVAL;
		}
		return 0;
	}
	memcpy(host, s, hl);
	host[hl] = '\0';
	if (strchr(host, ':')) {
		errbuf_set(err, errlen, "address: an IPv6 address goes in brackets: [2001:db8::1]:5060");
		return -EINVAL;
	}
	if (inet_pton(AF_INET, host, buf) == 1)
		return 0;
	/* numeric only: a name would be resolved at dial time, and the daemon
	 * never waits for DNS in its loop */
	if (strspn(host, "0123456789.") == hl)
		errbuf_set(err, errlen, "address: not an IPv4 address (four numbers 0-255, "
			   "e.g. 192.0.2.1:7443)");
	else if (dns_name_valid(host, hl))
		errbuf_set(err, errlen, "address: a host name; numeric addresses only (callseal "
			   "resolves no names): e.g. 192.0.2.1:7443 or [2001:db8::1]:7443");
	else
		errbuf_set(err, errlen, "address: expected a numeric IP address, e.g. "
			   "192.0.2.1:7443 or [2001:db8::1]:7443");
	return -EINVAL;
}

bool store_call_id16_ok(const char *s)
{
	if (!s || s[0] == '-')
		return false;
	for (size_t i = 0; i < STORE_CALL_ID_MAX; i++)
		if (!callid_char_ok(s[i]))
			return false;
	return true;
}

int store_check_call_id(const char *s, char *err, size_t errlen)
{
	size_t i, n = s ? strnlen(s, STORE_CALL_ID_MAX + 1) : 0;

	if (n == 0 || n > STORE_CALL_ID_MAX) {
		errbuf_set(err, errlen, "call id: a call id is 1..%u characters", STORE_CALL_ID_MAX);
		return -EINVAL;
	}
	for (i = 0; i < n; i++) {
		if (!callid_char_ok(s[i])) {
			errbuf_set(err, errlen, "call id: character %zu is not one of "
			       CALLID_ALPHABET, i + 1);
			return -EINVAL;
		}
	}
	return 0;
}

/* ---- enum names (stored as text: readable with the sqlite3 shell) ---------- */

const char *store_target_name(enum store_target t)
{
	switch (t) {
	case STORE_TARGET_TENANT: return "tenant";
	case STORE_TARGET_GROUP:  return "group";
	case STORE_TARGET_USER:   return "user";
	}
	return NULL;
}

const char *store_call_role_name(enum store_call_role r)
{
	switch (r) {
	case STORE_ROLE_INITIATOR: return "initiator";
	case STORE_ROLE_RESPONDER: return "responder";
	}
	return NULL;
}

const char *store_call_mode_name(enum store_call_mode m)
{
	switch (m) {
	case STORE_MODE_PENDING:  return "pending";
	case STORE_MODE_E2EE:     return "e2ee";
	case STORE_MODE_STANDARD: return "standard";
	}
	return NULL;
}

const char *store_call_state_name(enum store_call_state s)
{
	switch (s) {
	case STORE_CALL_SETUP:  return "setup";
	case STORE_CALL_ACTIVE: return "active";
	case STORE_CALL_ENDED:  return "ended";
	case STORE_CALL_FAILED: return "failed";
	}
	return NULL;
}

const char *store_call_ender_name(enum store_call_ender e)
{
	switch (e) {
	case STORE_ENDER_NONE:   return "";
	case STORE_ENDER_LOCAL:  return "local";
	case STORE_ENDER_PEER:   return "peer";
	case STORE_ENDER_DAEMON: return "daemon";
	}
	return NULL;
}
