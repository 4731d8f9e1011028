/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * status.c - the status and help commands of callseal-control: the table's
 * state and the call manager's bounds, and every row of the command table
 * (commands.c).
 */
#include <errno.h>
#include <inttypes.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "handler.h"

int cmd_status(struct ctl *c, int argc, const char *const argv[], char *msg,
	       size_t msglen)
{
	struct keytable_info info;
	struct opts_parsed p;
	char tb[KEYSPEC_TIME_STR];
	int rc;

	/* takes nothing: checked again here (the socket is not trusted) */
	if ((rc = commands_opts(c->cmd, argc, argv, &p, msg, msglen)) < 0)
		return rc;
	keytable_info(c->table, &info);
	admin_out_printf(&c->out,
			 "table callseal.%s: %u entries (%u wildcard), capacity %u, %u slots, "
			 "%" PRIu64 " bytes, created %s\n"
			 "writer pid %u (epoch %u), generation %" PRIu64 ", changes %" PRIu64
			 ", recoveries %" PRIu64 "\n"
			 "admin socket %s, protocol version %u\n",
			 c->table_name, info.count, info.wild_count, info.capacity, info.slots,
			 info.table_bytes, keyspec_format_time(info.created_ns, tb),
			 info.writer_pid, info.writer_epoch, info.generation, info.changes,
			 info.recoveries, c->admin_path, ADMIN_PROTO_VERSION);
	/* this request's own client is one of those connected */
	admin_out_printf(&c->out,
			 "admin clients: %u connected (%u dials), at most %u at once besides "
			 "dials; accepted %" PRIu64 ", refused %" PRIu64 " at the bound and %"
			 PRIu64 " of another uid, timed out %" PRIu64 ", bad requests %" PRIu64
			 ", left before their answer %" PRIu64 "\n",
			 c->admin_stats.clients, c->admin_stats.dials, ADMIN_CLIENTS_MAX,
			 c->admin_stats.accepted, c->admin_stats.refused_full,
			 c->admin_stats.refused_uid, c->admin_stats.timed_out,
			 c->admin_stats.bad_request, c->admin_stats.left);
	if (c->metrics_addr != NULL)
		admin_out_printf(&c->out,
				 "metrics %s: %u connected, at most %u at once; accepted %" PRIu64
				 ", answered %" PRIu64 ", refused %" PRIu64 " at the bound, timed "
				 "out %" PRIu64 ", errors %" PRIu64 ", left before their answer %"
				 PRIu64 "\n", c->metrics_url, c->metrics_stats.clients, METRICS_CLIENTS_MAX,
				 c->metrics_stats.accepted, c->metrics_stats.answered,
				 c->metrics_stats.refused_full, c->metrics_stats.timed_out,
				 c->metrics_stats.bad_request, c->metrics_stats.left);
	if (c->calls != NULL) {
		struct calls_stats st;

		/* the handshake bounds (docs/calls.md, "Bounds") */
		calls_stats(c->calls, &st);
		admin_out_printf(&c->out,
				 "calls: handshakes in %u (peak %u, limit %u, %u per source, idle %u ms), "
				 "dials %u (limit %u); refused: per source %" PRIu64 ", full %"
				 PRIu64 ", other %" PRIu64 ", dials %" PRIu64 "; evicted idle %"
				 PRIu64 ", idle closed %" PRIu64 "\n",
				 st.incoming, st.incoming_peak, st.max_incoming, st.max_per_source, st.idle_ms,
				 st.dials, st.max_dials, st.refused_source, st.refused_full,
				 st.refused_other, st.refused_dials, st.evicted_idle,
				 st.idle_closed);
	}
	msg[0] = '\0';
	return 0;
}

int cmd_help(struct ctl *c, int argc, const char *const argv[], char *msg,
	     size_t msglen);

int cmd_help(struct ctl *c, int argc, const char *const argv[], char *msg, size_t msglen)
{
	struct opts_parsed p;
	char line[512];
	size_t i;
	int rc;

	if ((rc = commands_opts(c->cmd, argc, argv, &p, msg, msglen)) < 0)
		return rc;
	admin_out_printf(&c->out, "commands (admin protocol version %u):\n",
			 ADMIN_PROTO_VERSION);
	for (i = 0; i < CMD_COUNT; i++)
		admin_out_printf(&c->out, "  %s\n",
				 commands_synopsis_line((enum command_id)i, line, sizeof(line)));
	msg[0] = '\0';
	return 0;
}
