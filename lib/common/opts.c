/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * opts.c - the one parser of a command's options (opts.h): the family's
 * names, the command's allowed and required bits, the words of argv.
 */
#include <ctype.h>
#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "errbuf.h"
#include "opts.h"

const char *opts_word_shown(const char *s, size_t n, char buf[40])
{
	size_t i;

	if (n == 0 || n > 32)
		return "?";
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= 'A' && s[i] <= 'Z') ||
		      (s[i] >= '0' && s[i] <= '9') || s[i] == '-' || s[i] == '_'))
			return "?";
		buf[i] = s[i];
	}
	buf[n] = '\0';
	return buf;
}

/* Edits (insert, delete, replace, swap two neighbours) from a to b, case
 * aside; more than OPTS_NAME_SHOWN_MAX characters count as far. */
static size_t distance(const char *a, size_t n, const char *b)
{
	size_t m = strlen(b), d[3][OPTS_NAME_SHOWN_MAX + 1], i, j;

	if (n > OPTS_NAME_SHOWN_MAX || m > OPTS_NAME_SHOWN_MAX)
		return (size_t)-1;
	for (j = 0; j <= m; j++)
		d[0][j] = j;
	for (i = 1; i <= n; i++) {
		size_t *cur = d[i % 3], *prev = d[(i - 1) % 3], *prev2 = d[(i + 1) % 3];

		cur[0] = i;
		for (j = 1; j <= m; j++) {
			size_t cost = tolower((unsigned char)a[i - 1]) !=
				      tolower((unsigned char)b[j - 1]);
			size_t v = prev[j - 1] + cost;

			if (prev[j] + 1 < v)
				v = prev[j] + 1;
			if (cur[j - 1] + 1 < v)
				v = cur[j - 1] + 1;
			if (i > 1 && j > 1 && cost &&
			    tolower((unsigned char)a[i - 1]) == tolower((unsigned char)b[j - 2]) &&
			    tolower((unsigned char)a[i - 2]) == tolower((unsigned char)b[j - 1]) &&
			    prev2[j - 2] + 1 < v)
				v = prev2[j - 2] + 1;
			cur[j] = v;
		}
	}
	return d[n % 3][m];
}

const char *opts_closest(const char *typed, size_t n, const char *const names[],
			 size_t count)
{
	size_t i, best = 3, d;
	const char *found = NULL;

	for (i = 0; i < count; i++) {
		if (names[i] == NULL)
			continue;
		d = distance(typed, n, names[i]);
		/* "--compliance" for "--compliance-recording": the start of one */
		if (d > 2 && n >= 4 && n < strlen(names[i]) &&
		    strncasecmp(typed, names[i], n) == 0)
			d = 2;
		if (d < best) {
			best = d;
			found = names[i];
		}
	}
	return found;
}

const char *opts_closest_getopt(const char *typed, size_t n, const struct option *longopts)
{
	const char *names[64];
	size_t k = 0;

	while (k < 64 && longopts[k].name != NULL) {
		names[k] = longopts[k].name;
		k++;
	}
	return opts_closest(typed, n, names, k);
}

const char *opts_unknown_getopt(const char *word, const struct option *longopts,
				char *buf, size_t len)
{
	int dashes = word[0] != '-' ? 0 : word[1] == '-' ? 2 : 1;
	size_t n = strcspn(word + dashes, "=");
	const char *close = opts_closest_getopt(word + dashes, n, longopts);
	char sb[40];

	snprintf(buf, len, "unknown option %.*s%s%s%s%s", dashes, word,
		 opts_word_shown(word + dashes, n, sb), close ? " (did you mean --" : "",
		 close ? close : "", close ? "?)" : "");
	return buf;
}

static int find(const struct opts_spec *family, const char *name, size_t n)
{
	int i;

	for (i = 0; family[i].name != NULL && i < (int)OPTS_MAX; i++)
		if (strlen(family[i].name) == n && strncmp(family[i].name, name, n) == 0)
			return i;
	return -1;
}

uint32_t opts_bit(const struct opts_spec *family, const char *name)
{
	int i = find(family, name, strlen(name));

	return i < 0 ? 0 : 1u << i;
}

/* " (did you mean --e2ee?)" when typed (n > 0) is close to an option cmd
 * takes, else " (it takes --e2ee, --json)" or " (it takes no options)". */
static const char *takes_hint(const struct opts_cmd *cmd, const char *typed, size_t n,
			      char *buf, size_t len)
{
	const char *names[OPTS_MAX] = { NULL }, *close;
	size_t k = 0, used;
	int o;

	for (o = 0; cmd->family[o].name != NULL && o < (int)OPTS_MAX; o++)
		if (cmd->allowed & (1u << o))
			names[k++] = cmd->family[o].name;
	close = n > 0 ? opts_closest(typed, n, names, k) : NULL;
	if (close != NULL) {
		snprintf(buf, len, " (did you mean --%s?)", close);
		return buf;
	}
	if (k == 0)
		return " (it takes no options)";
	used = (size_t)snprintf(buf, len, " (it takes");
	for (o = 0; (size_t)o < k && used < len; o++)
		used += (size_t)snprintf(buf + used, len - used, "%s --%s", o ? "," : "",
					 names[o]);
	if (used < len)
		snprintf(buf + used, len - used, ")");
	return buf;
}

int opts_parse(const struct opts_cmd *cmd, int argc, const char *const argv[],
	       struct opts_parsed *p, const char *what, char *err, size_t errlen)
{
	const struct opts_spec *fam = cmd->family;
	char sb[40];
	int i, o;

	memset(p, 0, sizeof(*p));
	p->family = fam;
	for (i = 0; i < argc; i++) {
		const char *a = argv[i], *eq, *v;
		size_t nlen;

		if (a == NULL)
			goto unexpected;
		if (strncmp(a, "--", 2) != 0 || a[2] == '\0') {
			/* never echo a word that is not an option: it may be a key */
			if (p->n_pos >= cmd->max_pos || p->n_pos >= OPTS_POS_MAX)
				goto unexpected;
			p->pos[p->n_pos++] = a;
			continue;
		}
		eq = strchr(a + 2, '=');
		nlen = eq ? (size_t)(eq - (a + 2)) : strlen(a + 2);
		o = find(fam, a + 2, nlen);
		if (o < 0 || !(cmd->allowed & (1u << o))) {
			char hint[160];

			errbuf_set(err, errlen, "%s: %s option --%s%s", what,
				   o < 0 ? "unknown" : "does not take the",
				   opts_word_shown(a + 2, nlen, sb),
				   takes_hint(cmd, a + 2, o < 0 ? nlen : 0, hint, sizeof(hint)));
			goto fail;
		}
		if ((p->seen & (1u << o)) && !(cmd->repeat & (1u << o))) {
			errbuf_set(err, errlen, "%s: --%s given twice", what, fam[o].name);
			goto fail;
		}
		p->seen |= 1u << o;
		if (!(fam[o].flags & OPTS_VALUE)) {
			if (eq != NULL) {
				errbuf_set(err, errlen, "%s: --%s takes no value", what,
					   fam[o].name);
				goto fail;
			}
			p->val[o] = "";
			continue;
		}
		v = eq != NULL ? eq + 1 : i + 1 < argc ? argv[++i] : NULL;
		if (v == NULL || v[0] == '\0') {
			errbuf_set(err, errlen, "%s: --%s needs a value", what, fam[o].name);
			goto fail;
		}
		p->val[o] = v;
		if (cmd->repeat & (1u << o)) {
			if (p->n_rep == OPTS_REPEAT_MAX) {
				errbuf_set(err, errlen, "%s: at most %u --%s options", what,
					   OPTS_REPEAT_MAX, fam[o].name);
				goto fail;
			}
			p->rep[p->n_rep++] = v;
		}
	}
	for (o = 0; fam[o].name != NULL; o++) {
		if ((cmd->required & (1u << o)) && !(p->seen & (1u << o))) {
			errbuf_set(err, errlen, "%s: --%s is required", what, fam[o].name);
			goto fail;
		}
	}
	return 0;
unexpected:
	errbuf_set(err, errlen, "%s: unexpected argument %d (see --help)", what, i + 1);
fail:
	memset(p, 0, sizeof(*p));
	return -EINVAL;
}

const char *opts_get(const struct opts_parsed *p, const char *name)
{
	int o = p->family != NULL ? find(p->family, name, strlen(name)) : -1;

	return o < 0 ? NULL : p->val[o];
}

bool opts_has(const struct opts_parsed *p, const char *name)
{
	return opts_get(p, name) != NULL;
}
