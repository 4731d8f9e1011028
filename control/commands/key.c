/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * key.c - the key commands of callseal-control: key add, rekey, del and list
 * (static keying of the shared-memory key table; docs/operations.md).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"

static const char *call_id_text(const struct keyspec_cmd *cmd, char buf[KEYSPEC_CALL_ID_STR])
{
	if (!cmd->has_call_id)
		return "-";
	return keyspec_format_call_id(cmd->call_id, buf);
}

/* ", MKI 4 bytes, lifetime 1048576 packets" for a key from --sdes with them
 * (neither is secret), else "". */
static const char *mki_life_text(const struct keyspec_cmd *cmd, char buf[80])
{
	int n = 0;

	buf[0] = '\0';
	if (cmd->mki_len > 0)
		n = snprintf(buf, 80, ", MKI %u byte%s", cmd->mki_len, cmd->mki_len == 1 ? "" : "s");
	if (cmd->lifetime > 0)
		snprintf(buf + n, 80 - (size_t)n, ", lifetime %" PRIu64 " packets", cmd->lifetime);
	return buf;
}

int cmd_key_add(struct ctl *c, int argc, const char *const argv[], char *msg,
		size_t msglen)
{
	struct scratch *s = c->s;
	char kb[KEYSPEC_KEY_STR], cb[KEYSPEC_CALL_ID_STR], ml[80];
	uint64_t gen = 0;
	int rc;

	rc = keyspec_parse_cmd(KEYSPEC_OP_ADD, argc, argv, &s->cmd, msg, msglen);
	if (rc < 0)
		goto out;
	rc = keyspec_cmd_master(&s->cmd, s->cmd.profile, &s->m, msg, msglen);
	if (rc < 0)
		goto out;
	keyspec_format_key(&s->cmd.key, kb);
	rc = keytable_add(c->table, &s->cmd.key, s->cmd.mode, &s->m, s->cmd.call_id, &gen);
	if (rc == -EEXIST) {
		snprintf(msg, msglen, "stream %s is already in table callseal.%s (key rekey "
			 "changes its key, key del removes it)", kb, c->table_name);
		goto out;
	} else if (rc < 0) {
		snprintf(msg, msglen, "%s", keytable_last_error(c->table));
		goto out;
	}
	mki_life_text(&s->cmd, ml);
	snprintf(msg, msglen, "added %s (%s, %s, generation %" PRIu64 "%s)", kb,
		 keyspec_profile_name(s->cmd.profile), keyspec_mode_name(s->cmd.mode), gen, ml);
	logline("key add %s profile %s mode %s call-id %s generation %" PRIu64
		"%s (by uid %u pid %d)", kb, keyspec_profile_name(s->cmd.profile),
		keyspec_mode_name(s->cmd.mode), call_id_text(&s->cmd, cb), gen, ml,
		(unsigned int)c->peer_uid, (int)c->peer_pid);
out:
	keyspec_cmd_wipe(&s->cmd);
	keytable_wipe(&s->m, sizeof(s->m));
	return rc;
}

int cmd_key_rekey(struct ctl *c, int argc, const char *const argv[], char *msg,
		  size_t msglen)
{
	struct scratch *s = c->s;
	char kb[KEYSPEC_KEY_STR], ml[80];
	unsigned int profile;
	uint64_t gen = 0;
	int rc;

	rc = keyspec_parse_cmd(KEYSPEC_OP_REKEY, argc, argv, &s->cmd, msg, msglen);
	if (rc < 0)
		goto out;
	keyspec_format_key(&s->cmd.key, kb);
	rc = keytable_get(c->table, &s->cmd.key, &s->e, NULL);
	if (rc < 0) {
		snprintf(msg, msglen, rc == -ENOENT ? "no stream %s in table callseal.%s "
			 "(key add it first)" : "stream %s in table callseal.%s is busy",
			 kb, c->table_name);
		goto out;
	}
	/* without --profile the stream keeps its profile */
	profile = s->cmd.profile != 0 ? s->cmd.profile : s->e.cur.profile;
	keytable_wipe(&s->e, sizeof(s->e));
	rc = keyspec_cmd_master(&s->cmd, profile, &s->m, msg, msglen);
	if (rc < 0) {
		if (s->cmd.profile == 0) {
			size_t n = strlen(msg);

			snprintf(msg + n, msglen - n, " (the stream's profile; --profile "
				 "changes it)");
		}
		goto out;
	}
	if (s->cmd.has_from_index)
		rc = keytable_schedule(c->table, &s->cmd.key, &s->m, s->cmd.from_index, &gen);
	else
		rc = keytable_replace(c->table, &s->cmd.key, &s->m, &gen);
	if (rc < 0) {
		snprintf(msg, msglen, "%s", keytable_last_error(c->table));
		goto out;
	}
	mki_life_text(&s->cmd, ml);
	if (s->cmd.has_from_index) {
		snprintf(msg, msglen, "scheduled a new %s key for %s from packet index %"
			 PRIu64 " (generation %" PRIu64 "%s)", keyspec_profile_name(profile),
			 kb, s->cmd.from_index, gen, ml);
		logline("key rekey %s profile %s from-index %" PRIu64 " generation %" PRIu64
			"%s (by uid %u pid %d)", kb, keyspec_profile_name(profile),
			s->cmd.from_index, gen, ml, (unsigned int)c->peer_uid, (int)c->peer_pid);
	} else {
		snprintf(msg, msglen, "rekeyed %s (%s, generation %" PRIu64 "%s)", kb,
			 keyspec_profile_name(profile), gen, ml);
		logline("key rekey %s profile %s now generation %" PRIu64 "%s (by uid %u pid "
			"%d)", kb, keyspec_profile_name(profile), gen, ml,
			(unsigned int)c->peer_uid, (int)c->peer_pid);
	}
out:
	keyspec_cmd_wipe(&s->cmd);
	keytable_wipe(&s->m, sizeof(s->m));
	keytable_wipe(&s->e, sizeof(s->e));
	return rc;
}

int cmd_key_del(struct ctl *c, int argc, const char *const argv[], char *msg,
		size_t msglen)
{
	struct scratch *s = c->s;
	char kb[KEYSPEC_KEY_STR];
	int rc;

	rc = keyspec_parse_cmd(KEYSPEC_OP_DEL, argc, argv, &s->cmd, msg, msglen);
	if (rc < 0)
		goto out;
	keyspec_format_key(&s->cmd.key, kb);
	rc = keytable_delete(c->table, &s->cmd.key);
	if (rc < 0) {
		if (rc == -ENOENT)
			snprintf(msg, msglen, "no stream %s in table callseal.%s", kb,
				 c->table_name);
		else
			snprintf(msg, msglen, "%s", keytable_last_error(c->table));
		goto out;
	}
	snprintf(msg, msglen, "deleted %s", kb);
	logline("key del %s (by uid %u pid %d)", kb, (unsigned int)c->peer_uid,
		(int)c->peer_pid);
out:
	keyspec_cmd_wipe(&s->cmd);
	return rc;
}

static void list_entry(struct admin_out *o, const struct keytable_entry *e, bool json,
		       bool first)
{
	char lb[KEYSPEC_LOCAL_STR], cb[KEYSPEC_CALL_ID_STR], tb[KEYSPEC_TIME_STR];
	char ub[KEYSPEC_TIME_STR], nb[24], mb[2 * KEYTABLE_MKI_MAX + 1];
	bool next = (e->flags & KEYTABLE_F_NEXT) != 0;
	unsigned int i;

	keyspec_format_local(&e->key, lb);
	keyspec_format_call_id(e->call_id, cb);
	keyspec_format_time(e->created_ns, tb);
	keyspec_format_time(e->updated_ns, ub);
	if (!json) {
		if (!next)
			snprintf(nb, sizeof(nb), "-");
		else if (e->flags & KEYTABLE_F_NEXT_ON_AUTH)
			snprintf(nb, sizeof(nb), "on-auth");   /* the first verified packet */
		else
			snprintf(nb, sizeof(nb), "%" PRIu64, e->next_from_index);
		admin_out_printf(o, "%-24s %-4s %-23s %-9s %6" PRIu64 " %-16s %-16s %s\n",
				 lb, keyspec_direction_name(e->key.dir),
				 keyspec_profile_name(e->cur.profile),
				 keyspec_mode_name(e->mode), e->generation, nb,
				 cb[0] ? cb : "-", tb);
		return;
	}
	/* every string here is from a fixed alphabet: nothing to escape */
	admin_out_printf(o, "%s\n  {\"local\": \"%s\", \"direction\": \"%s\", "
			 "\"profile\": \"%s\", \"mode\": \"%s\", \"generation\": %" PRIu64
			 ", ", first ? "" : ",", lb, keyspec_direction_name(e->key.dir),
			 keyspec_profile_name(e->cur.profile), keyspec_mode_name(e->mode),
			 e->generation);
	/* the current key's MKI (hex, as on the wire) and lifetime (RFC 4568
	 * section 6.1; 0 = the maximum): not secrets */
	for (i = 0; i < e->cur.mki_len && i < KEYTABLE_MKI_MAX; i++)
		snprintf(mb + 2 * i, 3, "%02x", e->cur.mki[i]);
	if (i > 0)
		admin_out_printf(o, "\"mki\": \"%.*s\", ", (int)(2 * i), mb);
	else
		admin_out_printf(o, "\"mki\": null, ");
	admin_out_printf(o, "\"lifetime\": %" PRIu64 ", ", e->cur.lifetime);
	if (next && (e->flags & KEYTABLE_F_NEXT_ON_AUTH))
		admin_out_printf(o, "\"next\": {\"from_index\": null, \"on_auth\": true, "
				 "\"profile\": \"%s\"}, ",
				 keyspec_profile_name(e->next.profile));
	else if (next)
		admin_out_printf(o, "\"next\": {\"from_index\": %" PRIu64 ", \"on_auth\": "
				 "false, \"profile\": \"%s\"}, ", e->next_from_index,
				 keyspec_profile_name(e->next.profile));
	else
		admin_out_printf(o, "\"next\": null, ");
	if (cb[0])
		admin_out_printf(o, "\"call_id\": \"%s\", ", cb);
	else
		admin_out_printf(o, "\"call_id\": null, ");
	admin_out_printf(o, "\"created\": \"%s\", \"updated\": \"%s\"}", tb, ub);
}

int cmd_key_list(struct ctl *c, int argc, const char *const argv[], char *msg,
		 size_t msglen)
{
	struct scratch *s = c->s;
	uint32_t cursor = 0, n = 0;
	bool json;
	int rc;

	rc = keyspec_parse_cmd(KEYSPEC_OP_LIST, argc, argv, &s->cmd, msg, msglen);
	if (rc < 0)
		goto out;
	json = s->cmd.json;
	if (json)
		admin_out_printf(&c->out, "[");
	else
		admin_out_printf(&c->out, "%-24s %-4s %-23s %-9s %6s %-16s %-16s %s\n",
				 "LOCAL", "DIR", "PROFILE", "MODE", "GEN", "NEXT-FROM",
				 "CALL-ID", "CREATED");
	/* the writer's own listing is exact; each copy holds key bytes: wiped */
	while ((rc = keytable_next(c->table, &cursor, &s->e)) == 1) {
		list_entry(&c->out, &s->e, json, n == 0);
		keytable_wipe(&s->e, sizeof(s->e));
		n++;
		if (c->out.error != 0)
			break;      /* the client went away */
	}
	if (rc < 0) {
		snprintf(msg, msglen, "listing table callseal.%s: %s", c->table_name,
			 strerror(-rc));
		goto out;
	}
	list_end(c, json, n);
	msg[0] = '\0';
	rc = 0;
out:
	keytable_wipe(&s->e, sizeof(s->e));
	keyspec_cmd_wipe(&s->cmd);
	return rc;
}
