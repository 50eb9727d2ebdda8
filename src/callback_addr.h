/* The callback's address policy (SSRF): which resolved addresses an
 * outbound callback may reach. Internal to callback.c and its tests. */
#ifndef RUNNEL_CALLBACK_ADDR_H
#define RUNNEL_CALLBACK_ADDR_H

#include <stddef.h>
#include <sys/socket.h>

/* Whether allow entry (an IP, a CIDR or a host name) admits addr reached
 * through host (the URL's host as written, without brackets). */
int rn_callback_allowed(const char *entry, const char *host, const struct sockaddr *addr);

/* 0 when addr may be reached, else -EACCES with why "callback refused: <ip>
 * is a private address" (loopback, unspecified, link-local, private,
 * shared, multicast, broadcast, reserved, or one of the server's own). */
int rn_callback_addr_check(const struct sockaddr *addr, char *why, size_t whylen);

#endif
