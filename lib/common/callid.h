/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * callid.h - the one rule for the characters of a call id, wherever one is
 * read: a static key's --call-id (keytable entries), the call manager's ids
 * (HELLO, the store, callsealctl). Lengths differ by use and are checked there.
 */
#ifndef CALLSEAL_CALLID_H
#define CALLSEAL_CALLID_H
#include <stdbool.h>

/* for messages: the characters callid_char_ok() accepts */
#define CALLID_ALPHABET "A-Z a-z 0-9 . _ : @ + -"

static inline bool callid_char_ok(char c)
{
	return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
	       c == '.' || c == '_' || c == ':' || c == '@' || c == '+' || c == '-';
}

#endif /* CALLSEAL_CALLID_H */
