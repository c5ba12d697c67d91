/*
 * Time parsing and formatting. Expected epoch values were computed with
 * Python's calendar.timegm, independently of this code.
 */
#include "testutil.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/timefmt.h"

/* Parses a NUL-terminated string; returns the code and the value. */
static int parse(const char *s, uint64_t *ms)
{
	*ms = 0xdeadbeef;
	return ht_time_parse_rfc3339(s, strlen(s), ms);
}

static void expect_ms(const char *s, uint64_t want)
{
	uint64_t ms;
	int rc = parse(s, &ms);
	if (rc != HT_OK)
		fail_msg("'%s': got %s, want %llu ms", s, ht_errname(rc), (unsigned long long)want);
	if (ms != want)
		fail_msg("'%s': got %llu ms, want %llu", s, (unsigned long long)ms,
			 (unsigned long long)want);
}

static void expect_bad(const char *s)
{
	uint64_t ms;
	int rc = parse(s, &ms);
	if (rc != HT_E_MALFORMED)
		fail_msg("'%s': got %s (%llu ms), want malformed", s, ht_errname(rc),
			 (unsigned long long)ms);
}

static void test_parse_utc(void **state)
{
	(void)state;
	expect_ms("2026-11-29T05:23:38Z", 1795929818000ULL);
	expect_ms("1970-01-01T00:00:00Z", 0);
	expect_ms("2001-09-09T01:46:40Z", 1000000000000ULL);
	expect_ms("2038-01-19T03:14:08Z", 2147483648000ULL);
	expect_ms("2106-02-07T06:28:16Z", 4294967296000ULL);
	expect_ms("9999-12-31T23:59:59Z", 253402300799000ULL);
	expect_ms("9999-12-31T23:59:59.999Z", 253402300799999ULL);
	/* RFC 3339 stops at year 9999, also when an offset would carry past it. */
	expect_ms("9999-12-31T23:59:59+00:01", 253402300739000ULL);
	expect_bad("9999-12-31T23:59:59-00:01");
	expect_bad("9999-12-31T23:30:00-01:00");
}

static void test_parse_fraction(void **state)
{
	(void)state;
	expect_ms("2026-11-29T05:23:38.5Z", 1795929818500ULL);
	expect_ms("2026-11-29T05:23:38.123Z", 1795929818123ULL);
	expect_ms("2026-11-29T05:23:38.007Z", 1795929818007ULL);
	/* Past milliseconds the digits are truncated, never rounded. */
	expect_ms("2026-11-29T05:23:38.123456Z", 1795929818123ULL);
	expect_ms("2026-11-29T05:23:38.999999999Z", 1795929818999ULL);
	expect_ms("2026-11-29T05:23:38.000Z", 1795929818000ULL);
	expect_bad("2026-11-29T05:23:38.Z");
	expect_bad("2026-11-29T05:23:38,5Z");
	expect_bad("2026-11-29T05:23:38.5");
}

static void test_parse_offsets(void **state)
{
	(void)state;
	/* Local time minus the offset is UTC. */
	expect_ms("2026-11-29T06:23:38+01:00", 1795929818000ULL);
	expect_ms("2026-11-28T23:53:38-05:30", 1795929818000ULL);
	expect_ms("2026-11-29T05:23:38+00:00", 1795929818000ULL);
	expect_ms("2026-11-29T05:23:38-00:00", 1795929818000ULL);
	expect_ms("2026-11-29T05:23:38.250+01:00", 1795929818250ULL - 3600000ULL);
	/* The offset can move the date across a day and a year. */
	expect_ms("1999-12-31T23:59:59-23:59", (946684799ULL + 86340) * 1000);
	expect_bad("2026-11-29T05:23:38+24:00");
	expect_bad("2026-11-29T05:23:38+01:60");
	expect_bad("2026-11-29T05:23:38+0100");
	expect_bad("2026-11-29T05:23:38+1:00");
	expect_bad("2026-11-29T05:23:38+01");
	expect_bad("2026-11-29T05:23:38+");
}

static void test_parse_separators(void **state)
{
	(void)state;
	expect_ms("2026-11-29t05:23:38z", 1795929818000ULL);
	expect_ms("2026-11-29 05:23:38Z", 1795929818000ULL);
	expect_ms("2026-11-29t05:23:38.1z", 1795929818100ULL);
	expect_bad("2026-11-29_05:23:38Z");
	expect_bad("2026-11-2905:23:38Z");
	expect_bad("2026/11/29T05:23:38Z");
	expect_bad("2026-11-29T05.23.38Z");
}

static void test_parse_leap_years(void **state)
{
	(void)state;
	expect_ms("2000-02-29T00:00:00Z", 951782400000ULL);
	expect_ms("2024-02-29T12:00:00Z", 1709208000000ULL);
	expect_bad("2023-02-29T00:00:00Z");
	expect_bad("2100-02-29T00:00:00Z"); /* divisible by 100, not by 400 */
	expect_bad("2024-02-30T00:00:00Z");
	expect_ms("2023-02-28T00:00:00Z", 1677542400000ULL);
}

static void test_parse_ranges(void **state)
{
	(void)state;
	expect_bad("2026-13-01T00:00:00Z");
	expect_bad("2026-00-01T00:00:00Z");
	expect_bad("2026-01-32T00:00:00Z");
	expect_bad("2026-01-00T00:00:00Z");
	expect_bad("2026-04-31T00:00:00Z");
	expect_bad("2026-01-01T24:00:00Z");
	expect_bad("2026-01-01T00:60:00Z");
	expect_bad("2026-01-01T00:00:61Z");
	expect_ms("2026-04-30T23:59:59Z", 1777593599000ULL);
}

static void test_parse_shape(void **state)
{
	(void)state;
	expect_bad("");
	expect_bad("2026-11-29T05:23:38");   /* missing zone */
	expect_bad("2026-11-29");            /* date only */
	expect_bad("2026-11-29T05:23Z");     /* no seconds */
	expect_bad("2026-11-29T05:23:38Z "); /* trailing junk */
	expect_bad("2026-11-29T05:23:38Zx");
	expect_bad("2026-11-29T05:23:38ZZ");
	expect_bad(" 2026-11-29T05:23:38Z");
	expect_bad("26-11-29T05:23:38Z");
	expect_bad("+2026-11-29T05:23:38Z");
	expect_bad("2026-1-29T05:23:38Z");
	expect_bad("2026-11-29T5:23:38Z");
	expect_bad("2026-11-29T05:23:38UTC");
}

static void test_parse_before_epoch(void **state)
{
	(void)state;
	expect_bad("1969-12-31T23:59:59Z");
	expect_bad("1900-01-01T00:00:00Z");
	expect_bad("0000-01-01T00:00:00Z");
	/* Before the epoch in UTC even though the local date is 1970. */
	expect_bad("1970-01-01T00:30:00+01:00");
	/* And the reverse: a 1969 local time that is after the epoch in UTC. */
	expect_ms("1969-12-31T23:30:00-01:00", 1800000ULL);
}

/* Only `len` bytes are read: no NUL needed, and what follows is ignored. */
static void test_parse_uses_len(void **state)
{
	(void)state;
	static const char s[] = "2000-02-29T00:00:00Zjunk";
	uint64_t ms = 0;
	assert_int_equal(ht_time_parse_rfc3339(s, 20, &ms), HT_OK);
	assert_int_equal(ms, 951782400000ULL);
	assert_int_equal(ht_time_parse_rfc3339(s, 19, &ms), HT_E_MALFORMED);
	assert_int_equal(ht_time_parse_rfc3339(s, 21, &ms), HT_E_MALFORMED);
	/* An exactly sized buffer, so ASan catches any read past `len`. */
	char *exact = (char *)tu_dup(s, 12);
	assert_int_equal(ht_time_parse_rfc3339(exact, 12, &ms), HT_E_MALFORMED);
	free(exact);
}

static void expect_format(uint64_t secs, const char *want)
{
	char buf[HT_TIME_STR_MAX];
	memset(buf, 'x', sizeof(buf));
	ht_time_format(secs, buf);
	assert_string_equal(buf, want);
}

static void test_format_known(void **state)
{
	(void)state;
	expect_format(0, "1970-01-01T00:00:00Z");
	expect_format(86399, "1970-01-01T23:59:59Z");
	expect_format(86400, "1970-01-02T00:00:00Z");
	expect_format(951782400, "2000-02-29T00:00:00Z");
	expect_format(946684799, "1999-12-31T23:59:59Z");
	expect_format(1000000000, "2001-09-09T01:46:40Z");
	expect_format(1709208000, "2024-02-29T12:00:00Z");
	expect_format(1795929818, "2026-11-29T05:23:38Z");
	expect_format(2147483648ULL, "2038-01-19T03:14:08Z");
	expect_format(4102444800ULL, "2100-01-01T00:00:00Z");
	expect_format(253402300799ULL, "9999-12-31T23:59:59Z");
}

/* Whatever the value, the output fits and is NUL-terminated. */
static void test_format_huge(void **state)
{
	(void)state;
	static const uint64_t v[] = {253402300800ULL, 1ULL << 40, UINT64_MAX};
	for (size_t i = 0; i < sizeof(v) / sizeof(v[0]); i++) {
		char buf[HT_TIME_STR_MAX];
		memset(buf, 'x', sizeof(buf));
		ht_time_format(v[i], buf);
		assert_non_null(memchr(buf, 0, sizeof(buf)));
		assert_true(strlen(buf) > 0);
	}
}

/* format then parse gives the same second, across the whole range. */
static void test_format_parse_roundtrip(void **state)
{
	(void)state;
	for (uint64_t t = 0; t < 253402300800ULL; t += 7777777ULL + (t % 86400)) {
		char buf[HT_TIME_STR_MAX];
		ht_time_format(t, buf);
		uint64_t ms;
		if (ht_time_parse_rfc3339(buf, strlen(buf), &ms) != HT_OK)
			fail_msg("%llu formatted as '%s' does not parse", (unsigned long long)t,
				 buf);
		if (ms != t * 1000)
			fail_msg("%llu -> '%s' -> %llu ms", (unsigned long long)t, buf,
				 (unsigned long long)ms);
	}
}

static void test_parse_arg(void **state)
{
	(void)state;
	uint64_t s;
	assert_int_equal(ht_time_parse_arg("0", &s), HT_OK);
	assert_int_equal(s, 0);
	assert_int_equal(ht_time_parse_arg("1795929818", &s), HT_OK);
	assert_int_equal(s, 1795929818);
	assert_int_equal(ht_time_parse_arg("000000000042", &s), HT_OK);
	assert_int_equal(s, 42);
	assert_int_equal(ht_time_parse_arg("999999999999", &s), HT_OK);
	assert_int_equal(s, 999999999999ULL);
	assert_int_equal(ht_time_parse_arg("2000-02-29T00:00:00Z", &s), HT_OK);
	assert_int_equal(s, 951782400);
	/* Fractions of a second are dropped. */
	assert_int_equal(ht_time_parse_arg("2026-11-29T05:23:38.999Z", &s), HT_OK);
	assert_int_equal(s, 1795929818);
	assert_int_equal(ht_time_parse_arg("2026-11-29T06:23:38+01:00", &s), HT_OK);
	assert_int_equal(s, 1795929818);

	static const char *const bad[] = {"",
					  "-5",
					  "12x",
					  "x12",
					  " 12",
					  "12 ",
					  "+5",
					  "1.5",
					  "0x10",
					  "1e9",
					  "1234567890123",
					  "2026-11-29",
					  "1969-12-31T23:59:59Z"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		s = 77;
		int rc = ht_time_parse_arg(bad[i], &s);
		if (rc != HT_E_MALFORMED)
			fail_msg("'%s': got %s (%llu)", bad[i], ht_errname(rc),
				 (unsigned long long)s);
	}
}

static void test_now(void **state)
{
	(void)state;
	uint64_t a = ht_time_now();
	assert_true(a > 1704067200ULL); /* after 2024-01-01 */
	assert_true(a < 4102444800ULL); /* before 2100-01-01 */
	uint64_t b = ht_time_now();
	assert_true(b >= a);
}

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_parse_utc),
		cmocka_unit_test(test_parse_fraction),
		cmocka_unit_test(test_parse_offsets),
		cmocka_unit_test(test_parse_separators),
		cmocka_unit_test(test_parse_leap_years),
		cmocka_unit_test(test_parse_ranges),
		cmocka_unit_test(test_parse_shape),
		cmocka_unit_test(test_parse_before_epoch),
		cmocka_unit_test(test_parse_uses_len),
		cmocka_unit_test(test_format_known),
		cmocka_unit_test(test_format_huge),
		cmocka_unit_test(test_format_parse_roundtrip),
		cmocka_unit_test(test_parse_arg),
		cmocka_unit_test(test_now),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
