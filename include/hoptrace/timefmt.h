/*
 * Times as HopTrace shows and accepts them: RFC 3339 in UTC, or integers
 * since the Unix epoch. No dependence on the process's time zone.
 */
#ifndef HOPTRACE_TIMEFMT_H
#define HOPTRACE_TIMEFMT_H

#include <stddef.h>
#include <stdint.h>

#include "hoptrace/err.h"

#define HT_TIME_STR_MAX 32

/*
 * Parses an RFC 3339 date-time ("2026-11-29T05:23:38Z", optional fraction of
 * a second, "Z" or a +hh:mm/-hh:mm offset, 'T' or ' ' between date and time)
 * into milliseconds since the epoch. Digits past milliseconds are truncated.
 * Dates before 1970 are refused.
 */
int ht_time_parse_rfc3339(const char *s, size_t len, uint64_t *ms_out) HT_WUR;

/*
 * Parses what an operator may type for a time: an RFC 3339 date-time or a
 * non-negative integer of seconds since the epoch. Returns seconds.
 */
int ht_time_parse_arg(const char *s, uint64_t *secs_out) HT_WUR;

/* Formats `secs` as "YYYY-MM-DDTHH:MM:SSZ" into `buf`. */
void ht_time_format(uint64_t secs, char buf[HT_TIME_STR_MAX]);

/* The current time in seconds since the epoch. */
uint64_t ht_time_now(void);

#endif
