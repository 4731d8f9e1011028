/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * sdnotify.h - tell the service manager about start-up and stop, as
 * sd_notify(3) does, without linking libsystemd: one datagram to the
 * AF_UNIX socket named by $NOTIFY_SOCKET (a path, or "@name" for Linux's
 * abstract namespace). Without $NOTIFY_SOCKET (not started by systemd, or a
 * unit that is not Type=notify) it does nothing.
 *
 * callseal-control sends "READY=1" once its admin socket listens (the key
 * table exists by then), so that units ordered After= it start only then
 * (scripts/systemd/callseal-dataplane.service.in), and "STOPPING=1" when a
 * signal stops it.
 */
#ifndef CALLSEAL_SDNOTIFY_H
#define CALLSEAL_SDNOTIFY_H

/* Send state (e.g. "READY=1"): 1 if sent, 0 if $NOTIFY_SOCKET is not set,
 * -errno if it is set and the datagram could not be sent. */
int sdnotify(const char *state);

#endif
