/*
 * hostport.h - "host:port" as users write it on command lines and in
 * pipeline files ("127.0.0.1:9092", "broker1:9092", "[::1]:9092").
 */
#ifndef BECK_BASE_HOSTPORT_H
#define BECK_BASE_HOSTPORT_H

#include <stddef.h>

/* Splits s at its last ':' into host (copied into host[hn], brackets of an
 * IPv6 literal removed) and a port 0-65535. Returns 0, or -1 when there is
 * no port, the port is not a number in range, or the host is empty or does
 * not fit. */
int beck_split_hostport(const char *s, char *host, size_t hn, int *port);

#endif
