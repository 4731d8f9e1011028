/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_opts.c - lib/common/opts.c: the one parser of a command's options.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "opts.h"

static const struct opts_spec family[] = {
	{ "name", OPTS_VALUE }, { "json", 0 }, { "group", OPTS_VALUE }, { "other", OPTS_VALUE },
	{ NULL, 0 },
};
/* takes name (required), json, group (repeatable); not other */
static const struct opts_cmd cmd = { family, 0x7, 0x1, 0x4, 1 };

#define ARGV(...) ((const char *const[]){ __VA_ARGS__ })
#define N(...) ((int)(sizeof(ARGV(__VA_ARGS__)) / sizeof(const char *)))

#define REFUSE(why, ...) do { \
	struct opts_parsed p_; \
	char e_[256] = ""; \
	assert_int_equal(opts_parse(&cmd, N(__VA_ARGS__), ARGV(__VA_ARGS__), &p_, "x y", \
				    e_, sizeof(e_)), -22); \
	assert_string_equal(e_, why); \
	assert_int_equal(p_.seen, 0); \
} while (0)

static void values_by_name(void **state)
{
	struct opts_parsed p;
	char err[256];

	(void)state;
	assert_int_equal(opts_parse(&cmd, 7, ARGV("--name", "a", "pos", "--group=g1", "--json",
						  "--group", "g2"), &p, "x y", err,
				    sizeof(err)), 0);
	assert_string_equal(opts_get(&p, "name"), "a");
	assert_string_equal(opts_get(&p, "json"), "");
	assert_true(opts_has(&p, "json"));
	assert_false(opts_has(&p, "other"));
	assert_null(opts_get(&p, "nonesuch"));
	assert_int_equal(p.n_rep, 2);
	assert_string_equal(p.rep[0], "g1");
	assert_string_equal(p.rep[1], "g2");
	assert_int_equal(p.n_pos, 1);
	assert_string_equal(p.pos[0], "pos");
	assert_int_equal(opts_bit(family, "group"), 0x4);
	assert_int_equal(opts_bit(family, "nope"), 0);
}

static void refusals(void **state)
{
	(void)state;
	REFUSE("x y: --name is required", "--json");
	REFUSE("x y: unknown option --colour (it takes --name, --json, --group)", "--name", "a",
	       "--colour=red");
	/* the option as typed (issue 15: "--?" helped nobody), never a value */
	REFUSE("x y: unknown option --Secret (it takes --name, --json, --group)", "--name", "a",
	       "--Secret=k3y");
	/* a word that cannot be an option name is still not echoed */
	REFUSE("x y: unknown option --? (it takes --name, --json, --group)", "--name", "a",
	       "--AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA");
	REFUSE("x y: unknown option --? (it takes --name, --json, --group)", "--name", "a",
	       "--k+y/");
	/* close to one the command takes: that one is suggested */
	REFUSE("x y: unknown option --nmae (did you mean --name?)", "--nmae", "a");
	REFUSE("x y: unknown option --JSON (did you mean --json?)", "--name", "a", "--JSON");
	REFUSE("x y: unknown option --grp (did you mean --group?)", "--name", "a", "--grp=g");
	/* never one it does not take */
	REFUSE("x y: unknown option --othr (it takes --name, --json, --group)", "--name", "a",
	       "--othr", "b");
	REFUSE("x y: does not take the option --other (it takes --name, --json, --group)",
	       "--name", "a", "--other", "b");
	REFUSE("x y: --name given twice", "--name", "a", "--name=b");
	REFUSE("x y: --json takes no value", "--name", "a", "--json=yes");
	REFUSE("x y: --name needs a value", "--name");
	REFUSE("x y: --name needs a value", "--name=");
	REFUSE("x y: unexpected argument 4 (see --help)", "--name", "a", "p1", "p2");
	REFUSE("x y: unexpected argument 1 (see --help)", NULL);
}

static void closest(void **state)
{
	static const char *const names[] = { "e2ee", "compliance-recording", NULL, "json" };

	(void)state;
	assert_string_equal(opts_closest("e2e", 3, names, 4), "e2ee");
	assert_string_equal(opts_closest("E2EE", 4, names, 4), "e2ee");
	assert_string_equal(opts_closest("jsno", 4, names, 4), "json");
	assert_string_equal(opts_closest("compliance", 10, names, 4), "compliance-recording");
	assert_string_equal(opts_closest("e2ee=on", 4, names, 4), "e2ee");
	assert_null(opts_closest("colour", 6, names, 4));
	assert_null(opts_closest("x", 1, names, 4));
	assert_null(opts_closest("e2e", 3, names, 0));
}

/* callseal-control's and callseal-dataplane's own options (getopt_long) */
static void unknown_getopt(void **state)
{
	static const struct option longopts[] = {
		{ "table", required_argument, NULL, 't' }, { "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	char buf[128];

	(void)state;
	assert_string_equal(opts_unknown_getopt("--tabel", longopts, buf, sizeof(buf)),
			    "unknown option --tabel (did you mean --table?)");
	assert_string_equal(opts_unknown_getopt("--tabel=s3cret", longopts, buf, sizeof(buf)),
			    "unknown option --tabel (did you mean --table?)");
	assert_string_equal(opts_unknown_getopt("--bogus", longopts, buf, sizeof(buf)),
			    "unknown option --bogus");
	assert_string_equal(opts_unknown_getopt("-x", longopts, buf, sizeof(buf)),
			    "unknown option -x");
	assert_string_equal(opts_unknown_getopt("--k+y/", longopts, buf, sizeof(buf)),
			    "unknown option --?");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(values_by_name),
		cmocka_unit_test(refusals),
		cmocka_unit_test(closest),
		cmocka_unit_test(unknown_getopt),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
