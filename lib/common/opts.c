/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * opts.c - the one parser of a command's options (opts.h): the family's
 * names, the command's allowed and required bits, the words of argv.
 */
#include <errno.h>
#include <string.h>

#include "errbuf.h"
#include "opts.h"

const char *opts_word_shown(const char *s, size_t n, char buf[40])
{
	size_t i;

	if (n == 0 || n > 32)
		return "?";
	for (i = 0; i < n; i++) {
		if (!((s[i] >= 'a' && s[i] <= 'z') || (s[i] >= '0' && s[i] <= '9') ||
		      s[i] == '-'))
			return "?";
		buf[i] = s[i];
	}
	buf[n] = '\0';
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
			errbuf_set(err, errlen, "%s: %s option --%s", what,
				   o < 0 ? "unknown" : "does not take the",
				   opts_word_shown(a + 2, nlen, sb));
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
