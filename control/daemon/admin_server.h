/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * admin_server.h - callseal-control's admin server: serve one accepted client.
 */
#ifndef CALLSEAL_ADMIN_SERVER_H
#define CALLSEAL_ADMIN_SERVER_H

#include <stdbool.h>

#include "handler.h"

/* Serve the request on fd; true when the request keeps fd (a call dial
 * answered later from call_event()), else the caller closes it. */
bool admin_server_serve(struct ctl *c, int fd);

/* NULL when every row of the command table has a handler, else the words of
 * the first that has none (the daemon then refuses to start). */
const char *admin_server_complete(void);

#endif /* CALLSEAL_ADMIN_SERVER_H */
