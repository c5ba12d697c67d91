#include "hoptrace/timefmt.h"

#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

/* Days from 1970-01-01 to y-m-d in the proleptic Gregorian calendar. */
static int64_t days_from_civil(int64_t y, unsigned m, unsigned d)
{
	y -= m <= 2;
	int64_t era = (y >= 0 ? y : y - 399) / 400;
	unsigned yoe = (unsigned)(y - era * 400);
	unsigned doy = (153 * (m + (m > 2 ? -3 : 9)) + 2) / 5 + d - 1;
	unsigned doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
	return era * 146097 + (int64_t)doe - 719468;
}

static void civil_from_days(int64_t z, int64_t *y, unsigned *m, unsigned *d)
{
	z += 719468;
	int64_t era = (z >= 0 ? z : z - 146096) / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (int64_t)yoe + era * 400 + (*m <= 2);
}

static bool leap(int64_t y)
{
	return (y % 4 == 0 && y % 100 != 0) || y % 400 == 0;
}

/* Reads exactly n digits at s[*i]. */
static bool digits(const char *s, size_t len, size_t *i, int n, unsigned *out)
{
	unsigned v = 0;
	for (int k = 0; k < n; k++) {
		if (*i >= len || s[*i] < '0' || s[*i] > '9')
			return false;
		v = v * 10 + (unsigned)(s[(*i)++] - '0');
	}
	*out = v;
	return true;
}

static bool lit(const char *s, size_t len, size_t *i, char c)
{
	if (*i >= len || s[*i] != c)
		return false;
	(*i)++;
	return true;
}

int ht_time_parse_rfc3339(const char *s, size_t len, uint64_t *ms_out)
{
	static const unsigned mdays[12] = {31, 28, 31, 30, 31, 30, 31, 31, 30, 31, 30, 31};
	size_t i = 0;
	unsigned Y, M, D, h, m, sec, ms = 0;
	if (!digits(s, len, &i, 4, &Y) || !lit(s, len, &i, '-') || !digits(s, len, &i, 2, &M) ||
	    !lit(s, len, &i, '-') || !digits(s, len, &i, 2, &D))
		return HT_E_MALFORMED;
	if (i >= len || (s[i] != 'T' && s[i] != 't' && s[i] != ' '))
		return HT_E_MALFORMED;
	i++;
	if (!digits(s, len, &i, 2, &h) || !lit(s, len, &i, ':') || !digits(s, len, &i, 2, &m) ||
	    !lit(s, len, &i, ':') || !digits(s, len, &i, 2, &sec))
		return HT_E_MALFORMED;
	if (i < len && s[i] == '.') {
		i++;
		int n = 0;
		while (i < len && s[i] >= '0' && s[i] <= '9') {
			if (n < 3)
				ms = ms * 10 + (unsigned)(s[i] - '0');
			n++;
			i++;
		}
		if (n == 0)
			return HT_E_MALFORMED;
		for (; n < 3; n++)
			ms *= 10;
	}
	int64_t offset = 0;
	if (i < len && (s[i] == 'Z' || s[i] == 'z')) {
		i++;
	} else if (i < len && (s[i] == '+' || s[i] == '-')) {
		int sign = s[i] == '+' ? 1 : -1;
		unsigned oh, om;
		i++;
		if (!digits(s, len, &i, 2, &oh) || !lit(s, len, &i, ':') ||
		    !digits(s, len, &i, 2, &om) || oh > 23 || om > 59)
			return HT_E_MALFORMED;
		offset = sign * (int64_t)(oh * 3600 + om * 60);
	} else {
		return HT_E_MALFORMED;
	}
	if (i != len)
		return HT_E_MALFORMED;
	if (M < 1 || M > 12 || D < 1 || h > 23 || m > 59 || sec > 60)
		return HT_E_MALFORMED;
	unsigned dim = mdays[M - 1] + (M == 2 && leap(Y));
	if (D > dim)
		return HT_E_MALFORMED;
	if (sec == 60) /* a leap second: the last instant of that minute */
		sec = 59, ms = 999;
	int64_t t = days_from_civil(Y, M, D) * 86400 + h * 3600 + m * 60 + sec - offset;
	/* RFC 3339 ends at 9999-12-31T23:59:59Z; an offset must not carry past it. */
	if (t < 0 || t > 253402300799)
		return HT_E_MALFORMED;
	*ms_out = (uint64_t)t * 1000 + ms;
	return HT_OK;
}

int ht_time_parse_arg(const char *s, uint64_t *secs_out)
{
	size_t len = strlen(s);
	if (len == 0)
		return HT_E_MALFORMED;
	bool all_digits = true;
	for (size_t i = 0; i < len; i++)
		if (s[i] < '0' || s[i] > '9')
			all_digits = false;
	if (all_digits) {
		if (len > 12) /* beyond year 33658: a typo, not a date */
			return HT_E_MALFORMED;
		uint64_t v = 0;
		for (size_t i = 0; i < len; i++)
			v = v * 10 + (uint64_t)(s[i] - '0');
		*secs_out = v;
		return HT_OK;
	}
	uint64_t ms;
	int rc = ht_time_parse_rfc3339(s, len, &ms);
	if (rc == HT_OK)
		*secs_out = ms / 1000;
	return rc;
}

void ht_time_format(uint64_t secs, char buf[HT_TIME_STR_MAX])
{
	int64_t y;
	unsigned mo, d;
	uint64_t days = secs / 86400, rem = secs % 86400;
	if (days > 100000000) { /* far beyond any real date; keep the output bounded */
		snprintf(buf, HT_TIME_STR_MAX, "@%llu", (unsigned long long)secs);
		return;
	}
	civil_from_days((int64_t)days, &y, &mo, &d);
	snprintf(buf, HT_TIME_STR_MAX, "%04lld-%02u-%02uT%02u:%02u:%02uZ", (long long)y, mo, d,
		 (unsigned)(rem / 3600), (unsigned)(rem / 60 % 60), (unsigned)(rem % 60));
}

uint64_t ht_time_now(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return ts.tv_sec < 0 ? 0 : (uint64_t)ts.tv_sec;
}
