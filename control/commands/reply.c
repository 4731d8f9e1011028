/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * reply.c - the reply helpers of callseal-control's handlers: key fingerprints,
 * base64, times, JSON strings and change objects, log lines of changes, list rows.
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <stdarg.h>

#include "handler.h"

__attribute__((format(printf, 1, 2)))
void logline(const char *fmt, ...)
{
	char line[1024];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(line, sizeof(line), fmt, ap);
	va_end(ap);
	fprintf(stderr, PROG ": %s\n", line);
}

/* A public key's fingerprint: the first 16 bytes of its BLAKE2b-256 hash, in
 * hex groups of 2 bytes ("3f9a:01bc:..."). */
const char *fingerprint(const uint8_t pk[STORE_PUBLIC_KEY_BYTES], char buf[FINGERPRINT_STR])
{
	uint8_t h[32];
	size_t i, n = 0;

	crypto_generichash(h, sizeof(h), pk, STORE_PUBLIC_KEY_BYTES, NULL, 0);
	for (i = 0; i < 16; i++) {
		n += (size_t)snprintf(buf + n, FINGERPRINT_STR - n, "%02x", h[i]);
		if (i % 2 == 1 && i != 15)
			buf[n++] = ':';
	}
	buf[n] = '\0';
	return buf;
}

const char *key_b64(const uint8_t pk[STORE_PUBLIC_KEY_BYTES], char buf[KEY_B64_STR])
{
	return sodium_bin2base64(buf, KEY_B64_STR, pk, STORE_PUBLIC_KEY_BYTES,
				 sodium_base64_VARIANT_ORIGINAL);
}

const char *unix_time(int64_t s, char buf[KEYSPEC_TIME_STR])
{
	return keyspec_format_time(s > 0 ? (uint64_t)s * 1000000000u : 0, buf);
}

/* Milliseconds from then_ns (CLOCK_REALTIME) to now as text, "0" for a
 * time ahead (clocks), "null" for 0 (never): a packet's age in call show. */
const char *age_ms(uint64_t then_ns, char *buf, size_t n)
{
	struct timespec ts;
	uint64_t now;

	if (then_ns == 0) {
		snprintf(buf, n, "null");
		return buf;
	}
	clock_gettime(CLOCK_REALTIME, &ts);
	now = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
	snprintf(buf, n, "%" PRIu64, now > then_ns ? (now - then_ns) / 1000000u : 0);
	return buf;
}

/* A JSON string; everything outside printable ASCII, '"' and '\\' escaped. */
void json_str(struct admin_out *o, const char *s)
{
	admin_out_printf(o, "\"");
	for (; *s != '\0'; s++) {
		unsigned char ch = (unsigned char)*s;

		if (ch == '"' || ch == '\\')
			admin_out_printf(o, "\\%c", ch);
		else if (ch < 0x20 || ch >= 0x7f)
			admin_out_printf(o, "\\u%04x", ch);
		else
			admin_out_printf(o, "%c", ch);
	}
	admin_out_printf(o, "\"");
}

/*
 * A change command's --json answer, instead of its line of text:
 * {"command": "group add", "<key>": "<value>", "message": "<the line>"}.
 * msg is then emptied (the line is in the object).
 */
void json_change(struct ctl *c, const char *command, const char *key,
		 const char *value, char *msg)
{
	admin_out_printf(&c->out, "{\"command\": \"%s\", \"%s\": ", command, key);
	json_str(&c->out, value);
	admin_out_printf(&c->out, ", \"message\": ");
	json_str(&c->out, msg);
	admin_out_printf(&c->out, "}\n");
	msg[0] = '\0';
}

void log_change(struct ctl *c, const char *msg)
{
	logline("%s (by uid %u pid %d)", msg, (unsigned int)c->peer_uid, (int)c->peer_pid);
}

int rows_push(struct rows *r, const void *row)
{
	if (r->n == r->cap) {
		size_t cap = r->cap ? 2 * r->cap : 16;
		void *v = realloc(r->v, cap * r->size);

		if (v == NULL)
			return -ENOMEM;
		r->v = v;
		r->cap = cap;
	}
	memcpy((char *)r->v + r->n * r->size, row, r->size);
	r->n++;
	return 0;
}

int list_failed(int rc, const char *what, char *msg, size_t msglen)
{
	if (rc == -ENOMEM)
		snprintf(msg, msglen, "listing %s: out of memory", what);
	return rc;
}

/* The end of a list: with --json the array's closing bracket (on its own
 * line after n > 0 rows). */
void list_end(struct ctl *c, bool json, size_t n)
{
	if (json)
		admin_out_printf(&c->out, "%s]\n", n ? "\n" : "");
}
