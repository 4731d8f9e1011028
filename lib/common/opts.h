/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * opts.h - the one parser of a command's options (the words after a
 * command's name, as callsealctl sends them and callseal-control receives
 * them). A family is a table of option names, each with or without a value;
 * a command takes some of them (allowed) and needs some (required), one bit
 * per row of the family. "--name VALUE" and "--name=VALUE" both work; each
 * option at most once unless the command marks it repeatable; a word that is not an
 * option is a positional argument (at most max_pos of them).
 *
 * Messages name the command ("key add: ...") and the option at fault, and
 * never echo a value or a word that is not a well-formed option name. An
 * unknown option gets "(did you mean --e2ee?)" when one the command takes is
 * close to it, else the list of those it takes.
 * Values are fetched by name: opts_get(&p, "call-id").
 */
#ifndef CALLSEAL_OPTS_H
#define CALLSEAL_OPTS_H

#include <getopt.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define OPTS_MAX        16u   /* rows of one family */
#define OPTS_REPEAT_MAX 16u   /* values of a repeatable option in one command */
#define OPTS_POS_MAX    2u

enum {
	OPTS_VALUE  = 1u << 0,   /* takes a value (else a flag) */
};

struct opts_spec {
	const char *name;        /* without "--"; NULL ends the family */
	unsigned int flags;
};

/* What one command takes: bit i is row i of family. */
struct opts_cmd {
	const struct opts_spec *family;
	uint32_t allowed, required;
	uint32_t repeat;         /* may be given up to OPTS_REPEAT_MAX times */
	unsigned int max_pos;    /* positional arguments allowed */
};

struct opts_parsed {
	const struct opts_spec *family;
	uint32_t seen;                        /* bit i: row i given */
	const char *val[OPTS_MAX];            /* last value; "" for a flag */
	const char *rep[OPTS_REPEAT_MAX];     /* every value of the repeatable option */
	size_t n_rep;
	const char *pos[OPTS_POS_MAX];        /* positional arguments, in order */
	unsigned int n_pos;
};

/* The bit of the option called name in family (0 if none). */
uint32_t opts_bit(const struct opts_spec *family, const char *name);

/*
 * Parse argv against cmd. what names the command in messages ("key add").
 * 0, or -EINVAL with one line in err; p is then cleared. The strings in p
 * point into argv.
 */
int opts_parse(const struct opts_cmd *cmd, int argc, const char *const argv[],
	       struct opts_parsed *p, const char *what, char *err, size_t errlen)
	__attribute__((warn_unused_result));

/* The value of option name ("" for a given flag), or NULL if not given. */
const char *opts_get(const struct opts_parsed *p, const char *name);
bool opts_has(const struct opts_parsed *p, const char *name);

#define OPTS_NAME_SHOWN_MAX 32u

/* A word fit for a message: 1 to 32 (OPTS_NAME_SHOWN_MAX) characters of
 * A-Z a-z 0-9 - _, else "?" (never a key: those are longer, or hold + / =). */
const char *opts_word_shown(const char *s, size_t n, char buf[40]);

/* Of names (count of them; NULL ones skipped), the one closest to typed (its
 * first n characters): at most 2 edits away, case aside, or starting with
 * typed (4 or more characters); NULL if none is. For "did you mean --e2ee?". */
const char *opts_closest(const char *typed, size_t n, const char *const names[],
			 size_t count);
/* The same over a getopt_long table (up to its first 64 rows). */
const char *opts_closest_getopt(const char *typed, size_t n, const struct option *longopts);
/* "unknown option --tabel (did you mean --table?)" into buf, for word (as
 * typed: "-x", "--name", "--name=value"; the value is never shown) that
 * getopt_long did not know. */
const char *opts_unknown_getopt(const char *word, const struct option *longopts,
				char *buf, size_t len);

#endif /* CALLSEAL_OPTS_H */
