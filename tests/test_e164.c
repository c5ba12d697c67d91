/*
 * E.164 normalisation (spec/numbers.md). The vectors below are the spec's
 * section 7 table; test_spec_table_matches reads the spec and fails if the
 * two differ, so they cannot drift apart.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoptrace/e164.h"

struct vec {
	int n;
	const char *in;
	const char *cc;     /* "1" or NULL (none) */
	const char *out;    /* expected digits, or NULL */
	ht_e164_reason why; /* expected reason when out is NULL */
};

#define OK(n, in, cc, out)                                                                         \
	{                                                                                          \
		n, in, cc, out, HT_E164_OK                                                         \
	}
#define BAD(n, in, cc, why)                                                                        \
	{                                                                                          \
		n, in, cc, NULL, HT_E164_##why                                                     \
	}

/* spec/numbers.md, section 7, row for row. */
static const struct vec vecs[] = {
	OK(1, "+1 (202) 555-0143", "1", "12025550143"),
	OK(2, "+12025550143", "1", "12025550143"),
	OK(3, "12025550143", "1", "12025550143"),
	OK(4, "2025550143", "1", "12025550143"),
	OK(5, "(202) 555-0143", "1", "12025550143"),
	OK(6, "1-202-555-0143", "1", "12025550143"),
	OK(7, "202.555.0143", "1", "12025550143"),
	OK(8, "1 (202) 555 0143", "1", "12025550143"),
	OK(9, "011 44 20 7946 0958", "1", "442079460958"),
	OK(10, "00442079460958", "1", "442079460958"),
	OK(11, "+44 20 7946 0958", "1", "442079460958"),
	OK(12, "011 32 2 555 12 12", "1", "3225551212"),
	BAD(13, "+44 (0)20 7946 0958", "1", TRUNK_ZERO),
	OK(14, "tel:+1-202-555-0143", "1", "12025550143"),
	OK(15, "sip:+12025550143@gw.example.net;user=phone", "1", "12025550143"),
	OK(16, "sips:+12025550143;npdi@gw.example.net", "1", "12025550143"),
	OK(17, "TEL:+44-20-7946-0958;ext=12", "1", "442079460958"),
	BAD(18, "tel:2025550143;phone-context=+1", "1", URI_LOCAL),
	BAD(19, "sip:2025550143@gw.example.net", "1", URI_LOCAL),
	BAD(20, "sip:+12025550143", "1", BAD_URI),
	BAD(21, "", "1", EMPTY),
	BAD(22, "   ", "1", EMPTY),
	BAD(23, "+", "1", EMPTY),
	BAD(24, "202-555-CALL", "1", BAD_CHAR),
	BAD(25, "2025550143x12", "1", BAD_CHAR),
	BAD(26, "202/555/0143", "1", BAD_CHAR),
	BAD(27, "*67 202 555 0143", "1", BAD_CHAR),
	BAD(28, "1+2025550143", "1", BAD_CHAR),
	BAD(29, "++12025550143", "1", BAD_CHAR),
	BAD(30, " tel:+12025550143", "1", BAD_CHAR),
	BAD(31, "5550143", "1", NATIONAL),
	BAD(32, "911", "1", NATIONAL),
	BAD(33, "0202555014", "1", NATIONAL),
	BAD(34, "1202555014", "1", NATIONAL),
	BAD(35, "22025550143", "1", NATIONAL),
	BAD(36, "120255501430", "1", NATIONAL),
	OK(37, "+123456789012345", "1", "123456789012345"),
	BAD(38, "+1234567890123456", "1", TOO_LONG),
	OK(39, "011 123 456 789 012 345", "1", "123456789012345"),
	BAD(40, "00 1234 5678 9012 3456", "1", TOO_LONG),
	BAD(41, "+0 202 555 0143", "1", LEADING_ZERO),
	BAD(42, "000442079460958", "1", LEADING_ZERO),
	BAD(43, "0110442079460958", "1", LEADING_ZERO),
	OK(44, "+683 4002", "1", "6834002"),
	BAD(45, "+683 400", "1", TOO_SHORT),
	BAD(46, "00", "1", TOO_SHORT),
	BAD(47, "+1 911", "1", TOO_SHORT),
	OK(48, "+12025550143", NULL, "12025550143"),
	OK(49, "00442079460958", NULL, "442079460958"),
	OK(50, "tel:+1-202-555-0143", NULL, "12025550143"),
	BAD(51, "2025550143", NULL, NO_COUNTRY),
	BAD(52, "12025550143", NULL, NO_COUNTRY),
	BAD(53, "011 44 20 7946 0958", NULL, NO_COUNTRY),
	BAD(54, "02079460958", NULL, NO_COUNTRY),
	BAD(55, "0044 (0)20 7946 0958", NULL, TRUNK_ZERO),
	OK(56, " +12025550143", "1", "12025550143"),
	OK(57, "(+1) 202 555 0143", NULL, "12025550143"),
	BAD(58, "+(0)12025550143", "1", TRUNK_ZERO),
};
#define NVECS (sizeof(vecs) / sizeof(vecs[0]))

/* Normalises a NUL-terminated string from an exact-size heap copy (so ASan sees over-reads). */
static int norm(const char *s, const char *cc, char out[HT_E164_BUF], ht_e164_reason *why)
{
	size_t len = strlen(s);
	char *copy = malloc(len ? len : 1);
	assert_non_null(copy);
	memcpy(copy, s, len);
	memset(out, 'x', HT_E164_BUF);
	int rc = ht_e164_normalize_why(copy, len, cc, out, why);
	free(copy);
	return rc;
}

static void check_vec(const struct vec *v)
{
	char out[HT_E164_BUF];
	ht_e164_reason why;
	int rc = norm(v->in, v->cc, out, &why);
	if (v->out) {
		if (rc != HT_OK || strcmp(out, v->out) != 0)
			fail_msg("vector %d \"%s\": got %s (%s) '%s', want '%s'", v->n, v->in,
				 ht_errname(rc), ht_e164_reason_name(why), out, v->out);
		assert_int_equal(why, HT_E164_OK);
		assert_true(ht_e164_digits_valid(out, strlen(out)));
		/* The plain entry point agrees. */
		char out2[HT_E164_BUF];
		assert_int_equal(ht_e164_normalize(v->in, strlen(v->in), v->cc, out2), HT_OK);
		assert_string_equal(out2, out);
	} else {
		if (rc != HT_E_MALFORMED || why != v->why)
			fail_msg("vector %d \"%s\": got %s (%s) '%s', want %s", v->n, v->in,
				 ht_errname(rc), ht_e164_reason_name(why), rc == HT_OK ? out : "",
				 ht_e164_reason_name(v->why));
		assert_string_equal(out, "");
	}
}

static void test_vectors(void **state)
{
	(void)state;
	for (size_t i = 0; i < NVECS; i++) {
		assert_int_equal(vecs[i].n, (int)i + 1);
		check_vec(&vecs[i]);
	}
}

/* Trims spaces at both ends of [*s, *e). */
static void trim(const char **s, const char **e)
{
	while (*s < *e && **s == ' ')
		(*s)++;
	while (*e > *s && (*e)[-1] == ' ')
		(*e)--;
}

static bool cell_is(const char *s, const char *e, const char *want)
{
	return (size_t)(e - s) == strlen(want) && memcmp(s, want, (size_t)(e - s)) == 0;
}

/* One table row "| n | `"in"` | cc | `out` or error `name` |" against vecs[n-1]. */
static void check_spec_row(const char *line, int lineno)
{
	const char *cell[6];
	size_t nc = 0;
	for (const char *p = line; *p && *p != '\n'; p++)
		if (*p == '|' && nc < 6)
			cell[nc++] = p;
	if (nc != 5)
		fail_msg("spec/numbers.md:%d: not a 4-column row", lineno);

	const char *s = cell[0] + 1, *e = cell[1];
	trim(&s, &e);
	int n = atoi(s);
	if (n < 1 || (size_t)n > NVECS)
		fail_msg("spec/numbers.md:%d: row %d has no C vector", lineno, n);
	const struct vec *v = &vecs[n - 1];

	s = cell[1] + 1, e = cell[2];
	trim(&s, &e);
	if (e - s < 4 || memcmp(s, "`\"", 2) != 0 || memcmp(e - 2, "\"`", 2) != 0 ||
	    !cell_is(s + 2, e - 2, v->in))
		fail_msg("spec/numbers.md:%d: row %d input differs from \"%s\"", lineno, n, v->in);

	s = cell[2] + 1, e = cell[3];
	trim(&s, &e);
	if (!cell_is(s, e, v->cc ? v->cc : "none"))
		fail_msg("spec/numbers.md:%d: row %d country code differs", lineno, n);

	s = cell[3] + 1, e = cell[4];
	trim(&s, &e);
	char want[64];
	if (v->out)
		snprintf(want, sizeof(want), "`%s`", v->out);
	else
		snprintf(want, sizeof(want), "error `%s`", ht_e164_reason_name(v->why));
	if (!cell_is(s, e, want))
		fail_msg("spec/numbers.md:%d: row %d result differs from %s", lineno, n, want);
}

static void test_spec_table_matches(void **state)
{
	(void)state;
	size_t len;
	char *spec = (char *)tu_read_file(HT_SOURCE_DIR "/spec/numbers.md", &len);
	const char *sec = strstr(spec, "\n## 7. Test vectors");
	assert_non_null(sec);
	const char *end = strstr(sec + 1, "\n## ");
	assert_non_null(end);
	int lineno = 1, rows = 0;
	for (const char *p = spec; p < sec; p++)
		lineno += *p == '\n';
	for (const char *p = sec + 1; p < end; p = strchr(p, '\n') + 1) {
		lineno++;
		if (p[0] == '|' && p[1] == ' ' && p[2] >= '0' && p[2] <= '9') {
			check_spec_row(p, lineno);
			rows++;
			if (atoi(p + 2) != rows)
				fail_msg("spec/numbers.md:%d: rows out of order", lineno);
		}
	}
	assert_int_equal(rows, (int)NVECS);
	free(spec);
}

/* The forms the CDR import sees for one number all give the same digits. */
static void test_same_number_many_forms(void **state)
{
	(void)state;
	static const char *forms[] = {
		"+1 (202) 555-0143",   "+12025550143",       "12025550143",
		"2025550143",          "1.202.555.0143",     "(202)555-0143",
		"tel:+1-202-555-0143", "tel:+12025550143",   "sip:+12025550143@h;user=phone",
		"0012025550143",       "011 1 202 555 0143", "sips:+1-202-555-0143@10.0.0.1",
	};
	for (size_t i = 0; i < sizeof(forms) / sizeof(forms[0]); i++) {
		char out[HT_E164_BUF];
		ht_e164_reason why;
		if (norm(forms[i], "1", out, &why) != HT_OK)
			fail_msg("'%s': %s", forms[i], ht_e164_reason_name(why));
		assert_string_equal(out, "12025550143");
	}
}

/* "+" || result gives the result again, whatever the default country (spec section 2). */
static void test_fixed_point(void **state)
{
	(void)state;
	for (size_t i = 0; i < NVECS; i++) {
		if (!vecs[i].out)
			continue;
		char plus[32], out[HT_E164_BUF];
		snprintf(plus, sizeof(plus), "+%s", vecs[i].out);
		assert_int_equal(norm(plus, NULL, out, NULL), HT_OK);
		assert_string_equal(out, vecs[i].out);
		assert_int_equal(norm(plus, "1", out, NULL), HT_OK);
		assert_string_equal(out, vecs[i].out);
	}
}

static void test_default_cc(void **state)
{
	(void)state;
	char out[HT_E164_BUF];
	assert_true(ht_e164_cc_valid(NULL));
	assert_true(ht_e164_cc_valid(""));
	assert_true(ht_e164_cc_valid("1"));
	static const char *bad[] = {"44", "01", "0", "1 ", "+1", "11", "x"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_false(ht_e164_cc_valid(bad[i]));
		/* Refused as a configuration error, even for a number that needs no country. */
		assert_int_equal(norm("+12025550143", bad[i], out, NULL), HT_E_INVAL);
		assert_string_equal(out, "");
	}
	/* "" is none, like NULL. */
	ht_e164_reason why;
	assert_int_equal(norm("2025550143", "", out, &why), HT_E_MALFORMED);
	assert_int_equal(why, HT_E164_NO_COUNTRY);
}

/* Only `len` bytes are read; a NUL inside them is a bad character. */
static void test_len_and_nul(void **state)
{
	(void)state;
	char out[HT_E164_BUF];
	ht_e164_reason why;
	assert_int_equal(ht_e164_normalize_why("2025550143999", 10, "1", out, &why), HT_OK);
	assert_string_equal(out, "12025550143");
	assert_int_equal(ht_e164_normalize_why("+1202555\0"
					       "0143",
					       13, "1", out, &why),
			 HT_E_MALFORMED);
	assert_int_equal(why, HT_E164_BAD_CHAR);
	assert_int_equal(ht_e164_normalize_why("x", 0, "1", out, &why), HT_E_MALFORMED);
	assert_int_equal(why, HT_E164_EMPTY);
	/* A NULL `why` is allowed. */
	assert_int_equal(ht_e164_normalize_why("+12025550143", 12, NULL, out, NULL), HT_OK);
}

static void test_chars(void **state)
{
	(void)state;
	char out[HT_E164_BUF];
	ht_e164_reason why;
	/* Tabs, non-ASCII and other punctuation are not separators. */
	static const char *bad[] = {"202\t555 0143",  "202\302\2405550143", "202_555_0143",
				    "202,555,0143",   "+1 202 555 0143;",   "2025550143#",
				    "%2B12025550143", "202 555 0143 ext 5"};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		assert_int_equal(norm(bad[i], "1", out, &why), HT_E_MALFORMED);
		assert_int_equal(why, HT_E164_BAD_CHAR);
	}
	/* Separators anywhere and repeated; '+' after separators but before digits. */
	assert_int_equal(norm("--((202))..555  0143--", "1", out, NULL), HT_OK);
	assert_string_equal(out, "12025550143");
	assert_int_equal(norm("(+1) 202 555 0143", "1", out, NULL), HT_OK);
	assert_string_equal(out, "12025550143");
	assert_int_equal(norm(" + 44 20 7946 0958 ", NULL, out, NULL), HT_OK);
	assert_string_equal(out, "442079460958");
	/* "(0)" is refused only as exactly those three characters. */
	assert_int_equal(norm("+1 (020) 555 0143", "1", out, NULL), HT_OK);
	assert_string_equal(out, "10205550143");
}

static void test_uris(void **state)
{
	(void)state;
	char out[HT_E164_BUF];
	ht_e164_reason why;
	assert_int_equal(norm("Sip:+12025550143@h", "1", out, NULL), HT_OK);
	assert_string_equal(out, "12025550143");
	assert_int_equal(norm("tel:+12025550143;ext=99;isub=1", "1", out, NULL), HT_OK);
	assert_string_equal(out, "12025550143");
	/* rn= (a routing number) is a parameter, not the number. */
	assert_int_equal(norm("sip:+12025550143;rn=+13015550000@h", "1", out, NULL), HT_OK);
	assert_string_equal(out, "12025550143");
	static const struct {
		const char *in;
		ht_e164_reason why;
	} bad[] = {
		{"tel:", HT_E164_URI_LOCAL},
		{"tel:;x=1", HT_E164_URI_LOCAL},
		{"sip:@h", HT_E164_URI_LOCAL},
		{"sips:", HT_E164_BAD_URI},
		{"tel: +12025550143", HT_E164_URI_LOCAL},
		{"sip:alice@h", HT_E164_URI_LOCAL},
		{"sip:+alice@h", HT_E164_BAD_CHAR},
		{"tel:+", HT_E164_EMPTY},
		{"tel:+1202555014@h", HT_E164_BAD_CHAR},
		{"mailto:+12025550143", HT_E164_BAD_CHAR},
		{"tel:+44(0)2079460958", HT_E164_TRUNK_ZERO},
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		if (norm(bad[i].in, "1", out, &why) != HT_E_MALFORMED || why != bad[i].why)
			fail_msg("'%s': got %s, want %s", bad[i].in, ht_e164_reason_name(why),
				 ht_e164_reason_name(bad[i].why));
	}
}

/* Very long inputs: digits past the scan buffer are still counted. */
static void test_long_inputs(void **state)
{
	(void)state;
	char buf[200], out[HT_E164_BUF];
	ht_e164_reason why;
	memset(buf, '5', sizeof(buf) - 1);
	buf[sizeof(buf) - 1] = '\0';
	buf[0] = '+';
	assert_int_equal(norm(buf, "1", out, &why), HT_E_MALFORMED);
	assert_int_equal(why, HT_E164_TOO_LONG);
	buf[0] = '5';
	assert_int_equal(norm(buf, "1", out, &why), HT_E_MALFORMED);
	assert_int_equal(why, HT_E164_NATIONAL);
	memcpy(buf, "011", 3);
	assert_int_equal(norm(buf, "1", out, &why), HT_E_MALFORMED);
	assert_int_equal(why, HT_E164_TOO_LONG);
	/* 19 digits after "011" ... one too many. */
	assert_int_equal(norm("0111234567890123456", "1", out, &why), HT_E_MALFORMED);
	assert_int_equal(why, HT_E164_TOO_LONG);
	/* Many separators cost nothing. */
	memset(buf, ' ', sizeof(buf) - 1);
	memcpy(buf + 150, "+12025550143", 12);
	assert_int_equal(norm(buf, "1", out, NULL), HT_OK);
	assert_string_equal(out, "12025550143");
}

static void test_digits_valid(void **state)
{
	(void)state;
	assert_true(ht_e164_digits_valid("12025550143", 11));
	assert_true(ht_e164_digits_valid("6834002", 7));
	assert_true(ht_e164_digits_valid("123456789012345", 15));
	assert_false(ht_e164_digits_valid("683400", 6));
	assert_false(ht_e164_digits_valid("1234567890123456", 16));
	assert_false(ht_e164_digits_valid("02025550143", 11));
	assert_false(ht_e164_digits_valid("+12025550143", 12));
	assert_false(ht_e164_digits_valid("1202555014a", 11));
	assert_false(ht_e164_digits_valid("", 0));
}

static void test_reason_names(void **state)
{
	(void)state;
	for (int r = HT_E164_OK; r <= HT_E164_LEADING_ZERO; r++) {
		assert_string_not_equal(ht_e164_reason_name((ht_e164_reason)r), "unknown");
		assert_string_not_equal(ht_e164_reason_text((ht_e164_reason)r), "unknown reason");
		for (int s = HT_E164_OK; s < r; s++)
			assert_string_not_equal(ht_e164_reason_name((ht_e164_reason)r),
						ht_e164_reason_name((ht_e164_reason)s));
	}
	assert_string_equal(ht_e164_reason_name((ht_e164_reason)99), "unknown");
	assert_string_equal(ht_e164_reason_text((ht_e164_reason)99), "unknown reason");
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_vectors),
		cmocka_unit_test(test_spec_table_matches),
		cmocka_unit_test(test_same_number_many_forms),
		cmocka_unit_test(test_fixed_point),
		cmocka_unit_test(test_default_cc),
		cmocka_unit_test(test_len_and_nul),
		cmocka_unit_test(test_chars),
		cmocka_unit_test(test_uris),
		cmocka_unit_test(test_long_inputs),
		cmocka_unit_test(test_digits_valid),
		cmocka_unit_test(test_reason_names),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
