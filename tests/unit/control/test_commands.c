/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * test_commands.c - the one command table (control/commands/commands.c):
 * every row is whole, finding a command by its words, the messages for
 * unknown words, and docs/operations.md's synopsis against the table (every
 * row's synopsis is there, and the doc names no command the table lacks).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "commands.h"

/* Whitespace runs as one space, none at the ends. */
static void squeeze(const char *in, char *out, size_t len)
{
	size_t n = 0;

	for (; *in != '\0' && n + 1 < len; in++) {
		if (*in == ' ' || *in == '\n' || *in == '\t') {
			if (n > 0 && out[n - 1] != ' ')
				out[n++] = ' ';
		} else {
			out[n++] = *in;
		}
	}
	while (n > 0 && out[n - 1] == ' ')
		n--;
	out[n] = '\0';
}

static void rows_are_whole(void **state)
{
	char syn[512], opt[48];
	size_t i, j;

	(void)state;
	for (i = 0; i < CMD_COUNT; i++) {
		const struct command_row *r = &commands_table[i];

		assert_non_null(r->words);
		assert_non_null(r->synopsis);
		assert_non_null(r->check);
		assert_non_null(r->opts.family);
		/* the synopsis starts with the words, then a space or its end */
		assert_int_equal(strncmp(r->synopsis, r->words, strlen(r->words)), 0);
		assert_true(strchr(" ", r->synopsis[strlen(r->words)]) != NULL);
		/* a text, or a feature that shares the one before it */
		assert_true(r->text != NULL || (r->flags & COMMAND_F_FEATURE));
		/* every option it takes is in its synopsis, and it requires only
		 * what it takes */
		assert_int_equal(r->opts.required & ~r->opts.allowed, 0);
		commands_synopsis_line((enum command_id)i, syn, sizeof(syn));
		for (j = 0; r->opts.family[j].name != NULL; j++) {
			if (!(r->opts.allowed & (1u << j)))
				continue;
			snprintf(opt, sizeof(opt), "--%s", r->opts.family[j].name);
			if (strstr(syn, opt) == NULL)
				fail_msg("%s: the synopsis misses %s", r->words, opt);
		}
		/* no two rows with the same words */
		for (j = 0; j < i; j++)
			assert_string_not_equal(commands_table[j].words, r->words);
	}
}

static void find_by_words(void **state)
{
	char err[COMMANDS_ERR_MAX], words[64];
	const char *argv[3];
	size_t i;
	int skip;

	(void)state;
	for (i = 0; i < CMD_COUNT; i++) {
		char *sp;

		snprintf(words, sizeof(words), "%s", commands_table[i].words);
		sp = strchr(words, ' ');
		argv[0] = words;
		argv[1] = sp != NULL ? sp + 1 : "--json";
		argv[2] = "x";
		if (sp != NULL)
			*sp = '\0';
		assert_int_equal(commands_find(3, argv, &skip, err, sizeof(err)), (int)i);
		assert_int_equal(skip, sp != NULL ? 2 : 1);
	}
	argv[0] = "frob";
	assert_int_equal(commands_find(1, argv, &skip, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown command 'frob' (commands: key, group, user, policy, "
			    "peer, call, status, stats, help)");
	argv[0] = "key";
	argv[1] = "drop";
	assert_int_equal(commands_find(2, argv, &skip, err, sizeof(err)), -1);
	assert_string_equal(err, "unknown command 'key drop' (key commands: add, rekey, del, "
			    "list)");
	/* a word that is not [a-z0-9-] is never echoed */
	argv[1] = "Dr\x01p";
	assert_int_equal(commands_find(2, argv, &skip, err, sizeof(err)), -1);
	assert_non_null(strstr(err, "'key ?'"));
	assert_int_equal(commands_find(1, argv, &skip, err, sizeof(err)), -1);
	assert_string_equal(err, "key: which one? add, rekey, del, list (see --help)");
}

static void checks_parse(void **state)
{
	static const char *const ok[] = { "--json" };
	static const char *const bad[] = { "--colour" };
	char err[COMMANDS_ERR_MAX];

	(void)state;
	assert_int_equal(commands_table[CMD_USER_LIST].check(CMD_USER_LIST, 1, ok, err,
							     sizeof(err)), 0);
	assert_int_equal(commands_table[CMD_USER_LIST].check(CMD_USER_LIST, 1, bad, err,
							     sizeof(err)), -22);
	assert_string_equal(err, "user list: unknown option --colour (it takes --json)");
	assert_int_equal(commands_table[CMD_STATUS].check(CMD_STATUS, 1, ok, err,
							  sizeof(err)), -22);
	/* issue 15: the option as typed, and the one meant */
	{
		static const char *const e2e[] = { "alice", "--e2e", "on" };
		static const char *const upper[] = { "alice", "--E2EE=on" };
		static const char *const dial[] = { "--form", "alice", "--to", "bob@f" };

		assert_int_equal(commands_table[CMD_USER_SET].check(CMD_USER_SET, 3, e2e, err,
								    sizeof(err)), -22);
		assert_string_equal(err, "user set: unknown option --e2e (did you mean --e2ee?)");
		assert_int_equal(commands_table[CMD_USER_SET].check(CMD_USER_SET, 2, upper, err,
								    sizeof(err)), -22);
		assert_string_equal(err, "user set: unknown option --E2EE (did you mean --e2ee?)");
		assert_int_equal(commands_table[CMD_CALL_DIAL].check(CMD_CALL_DIAL, 4, dial, err,
								     sizeof(err)), -22);
		assert_string_equal(err, "call dial: unknown option --form (did you mean --from?)");
		assert_int_equal(commands_table[CMD_STATUS].check(CMD_STATUS, 1, ok, err,
								  sizeof(err)), -22);
		assert_string_equal(err, "status: unknown option --json (it takes no options)");
	}
	assert_true(commands_takes_json(CMD_CALL_END));
	assert_false(commands_takes_json(CMD_KEY_DEL));
	assert_false(commands_takes_json(CMD_STATUS));
}

/* The lines of docs/operations.md's first block after "## callsealctl": an
 * entry starts two spaces in, a deeper line continues it. */
static size_t doc_synopsis(char entries[][512], size_t max)
{
	const char *src = getenv("CALLSEAL_SRCDIR");
	char path[4096], line[1024], joined[2048];
	size_t n = 0;
	int where = 0;    /* 0 before the section, 1 before the block, 2 in it */
	FILE *f;

	snprintf(path, sizeof(path), "%s/docs/operations.md", src ? src : ".");
	f = fopen(path, "r");
	if (f == NULL)
		fail_msg("cannot open %s (set CALLSEAL_SRCDIR)", path);
	while (fgets(line, sizeof(line), f) != NULL) {
		if (where == 0 && strncmp(line, "## callsealctl", 14) == 0)
			where = 1;
		else if (where == 1 && strncmp(line, "```", 3) == 0)
			where = 2;
		else if (where == 2 && strncmp(line, "```", 3) == 0)
			break;
		else if (where == 2 && strncmp(line, "  ", 2) == 0 && line[2] != ' ' &&
			 n < max)
			squeeze(line, entries[n++], 512);
		else if (where == 2 && strncmp(line, "   ", 3) == 0 && n > 0) {
			snprintf(joined, sizeof(joined), "%s %s", entries[n - 1], line);
			squeeze(joined, entries[n - 1], 512);
		}
	}
	fclose(f);
	return n;
}

static void doc_matches_table(void **state)
{
	static char entries[128][512];
	char syn[512];
	size_t n, i, j;

	(void)state;
	n = doc_synopsis(entries, 128);
	assert_true(n > 0);
	/* every row's synopsis is in the doc, as the table has it */
	for (i = 0; i < CMD_COUNT; i++) {
		char want[512];

		squeeze(commands_synopsis_line((enum command_id)i, syn, sizeof(syn)), want,
			sizeof(want));
		for (j = 0; j < n && strcmp(entries[j], want) != 0; j++)
			;
		if (j == n)
			fail_msg("docs/operations.md's synopsis misses or misstates '%s'", want);
	}
	/* every command the doc names is a row */
	for (j = 0; j < n; j++) {
		for (i = 0; i < CMD_COUNT; i++) {
			size_t w = strlen(commands_table[i].words);

			if (strncmp(entries[j], commands_table[i].words, w) == 0 &&
			    (entries[j][w] == ' ' || entries[j][w] == '\0'))
				break;
		}
		if (i == CMD_COUNT)
			fail_msg("docs/operations.md names a command the table lacks: '%s'",
				 entries[j]);
	}
}

/* The command table's feature rows are policy.h's list, in its order: one
 * `call VERB ID [--json]` row each, found by its words, the first with the
 * one text; no other row is a feature. */
static void features_are_policy_list(void **state)
{
	char err[COMMANDS_ERR_MAX];
	const char *argv[3] = { "call", NULL, "x" };
	size_t i, rows = 0;
	int skip, id, prev = -1;

	(void)state;
	for (i = 0; i < POLICY_FEATURES_N; i++) {
		argv[1] = policy_features[i].verb;
		id = commands_find(3, argv, &skip, err, sizeof(err));
		assert_true(id >= 0);
		assert_true(id > prev);
		assert_true(commands_table[id].flags & COMMAND_F_FEATURE);
		assert_true(commands_table[id].flags & COMMAND_F_CALLS);
		assert_true((commands_table[id].text != NULL) == (i == 0));
		prev = id;
	}
	for (i = 0; i < CMD_COUNT; i++)
		rows += (commands_table[i].flags & COMMAND_F_FEATURE) != 0;
	assert_int_equal(rows, POLICY_FEATURES_N);
	assert_int_equal(CMD_CALL_RECORD, CMD_CALL_REKEY + 1);
	assert_int_equal(CMD_CALL_KEYS, CMD_CALL_RECORD + POLICY_FEATURES_N - 1);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(rows_are_whole),
		cmocka_unit_test(find_by_words),
		cmocka_unit_test(checks_parse),
		cmocka_unit_test(doc_matches_table),
		cmocka_unit_test(features_are_policy_list),
	};

	return cmocka_run_group_tests(tests, NULL, NULL);
}
