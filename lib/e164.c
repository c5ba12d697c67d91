/*
 * E.164 normalisation, exactly as spec/numbers.md ("The rule") states it,
 * step by step.
 */
#include "hoptrace/e164.h"

#include <string.h>

/* Digits kept while scanning: 15 plus the longest international prefix (011). */
#define MAX_SCAN 18

bool ht_e164_cc_valid(const char *default_cc)
{
	return default_cc == NULL || default_cc[0] == '\0' || strcmp(default_cc, "1") == 0;
}

bool ht_e164_digits_valid(const char *digits, size_t len)
{
	if (len < HT_E164_MIN_DIGITS || len > HT_E164_MAX_DIGITS || digits[0] == '0')
		return false;
	for (size_t i = 0; i < len; i++)
		if (digits[i] < '0' || digits[i] > '9')
			return false;
	return true;
}

/* True when `in` (len bytes) starts with the lowercase ASCII `prefix`, in any case. */
static bool prefix_ci(const char *in, size_t len, const char *prefix)
{
	size_t n = strlen(prefix);
	if (len < n)
		return false;
	for (size_t i = 0; i < n; i++) {
		char c = in[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != prefix[i])
			return false;
	}
	return true;
}

static size_t find(const char *s, size_t from, size_t to, char c)
{
	for (size_t i = from; i < to; i++)
		if (s[i] == c)
			return i;
	return to;
}

static bool separator(char c)
{
	return c == ' ' || c == '-' || c == '.' || c == '(' || c == ')';
}

/* Step 1: a tel:, sip: or sips: URI gives its global number; [*start, *end) is the text to scan. */
static ht_e164_reason strip_uri(const char *in, size_t len, size_t *start, size_t *end)
{
	size_t i = 0, e = len;
	if (prefix_ci(in, len, "tel:")) {
		i = 4;
		e = find(in, i, len, ';');
	} else if (prefix_ci(in, len, "sip:") || prefix_ci(in, len, "sips:")) {
		i = in[3] == ':' ? 4 : 5;
		size_t at = find(in, i, len, '@');
		if (at == len)
			return HT_E164_BAD_URI;
		e = find(in, i, at, ';');
	} else {
		*start = 0;
		*end = len;
		return HT_E164_OK;
	}
	if (i == e || in[i] != '+')
		return HT_E164_URI_LOCAL;
	*start = i;
	*end = e;
	return HT_E164_OK;
}

static ht_e164_reason normalize(const char *in, size_t len, bool nanp, bool have_cc,
				char out[HT_E164_BUF])
{
	size_t start, end;
	ht_e164_reason r = strip_uri(in, len, &start, &end);
	if (r != HT_E164_OK)
		return r;

	/* Step 2: no "(0)"; digits, separators, one '+' before the first digit. */
	for (size_t i = start; i + 3 <= end; i++)
		if (in[i] == '(' && in[i + 1] == '0' && in[i + 2] == ')')
			return HT_E164_TRUNK_ZERO;
	char d[MAX_SCAN];
	size_t nd = 0;
	bool plus = false;
	for (size_t i = start; i < end; i++) {
		char c = in[i];
		if (c >= '0' && c <= '9') {
			if (nd < MAX_SCAN)
				d[nd] = c;
			if (nd <= MAX_SCAN)
				nd++; /* MAX_SCAN + 1 stands for "more": always too long */
		} else if (c == '+' && !plus && nd == 0) {
			plus = true;
		} else if (!separator(c)) {
			return HT_E164_BAD_CHAR;
		}
	}
	if (nd == 0)
		return HT_E164_EMPTY;

	/* Step 3: the international number N = prefix || d[skip..]. */
	const char *prefix = "";
	size_t skip = 0;
	if (plus) {
		skip = 0;
	} else if (nd >= 2 && d[0] == '0' && d[1] == '0') {
		skip = 2;
	} else if (nanp && nd >= 3 && d[0] == '0' && d[1] == '1' && d[2] == '1') {
		skip = 3;
	} else if (!have_cc) {
		return HT_E164_NO_COUNTRY;
	} else if (nd == 10 && d[0] >= '2' && d[0] <= '9') {
		prefix = "1"; /* NANP: the only national plan so far (ht_e164_cc_valid) */
	} else if (nd == 11 && d[0] == '1') {
		skip = 0;
	} else {
		return HT_E164_NATIONAL;
	}

	/* Step 4: length and country code. */
	size_t plen = strlen(prefix), n = plen + (nd - skip);
	if (n < HT_E164_MIN_DIGITS)
		return HT_E164_TOO_SHORT;
	if (n > HT_E164_MAX_DIGITS)
		return HT_E164_TOO_LONG;
	memcpy(out, prefix, plen);
	memcpy(out + plen, d + skip, nd - skip);
	out[n] = '\0';
	if (out[0] == '0') {
		out[0] = '\0';
		return HT_E164_LEADING_ZERO;
	}
	return HT_E164_OK;
}

int ht_e164_normalize_why(const char *in, size_t len, const char *default_cc, char out[HT_E164_BUF],
			  ht_e164_reason *why)
{
	out[0] = '\0';
	if (why)
		*why = HT_E164_OK;
	if (!ht_e164_cc_valid(default_cc))
		return HT_E_INVAL;
	bool have_cc = default_cc && default_cc[0];
	ht_e164_reason r = normalize(in, len, have_cc, have_cc, out);
	if (why)
		*why = r;
	if (r != HT_E164_OK) {
		out[0] = '\0';
		return HT_E_MALFORMED;
	}
	return HT_OK;
}

int ht_e164_normalize(const char *in, size_t len, const char *default_cc, char out[HT_E164_BUF])
{
	return ht_e164_normalize_why(in, len, default_cc, out, NULL);
}

static const struct {
	const char *name, *text;
} reasons[] = {
	[HT_E164_OK] = {"ok", "a valid number"},
	[HT_E164_EMPTY] = {"empty", "no digits"},
	[HT_E164_BAD_CHAR] = {"bad_char",
			      "a character other than digits, spaces, - . ( ) and one leading +"},
	[HT_E164_TRUNK_ZERO] = {"trunk_zero",
				"a \"(0)\" trunk prefix: write the number without it"},
	[HT_E164_BAD_URI] = {"bad_uri", "a sip: URI without '@'"},
	[HT_E164_URI_LOCAL] = {"uri_local",
			       "a tel: or sip: URI whose number does not start with +"},
	[HT_E164_NO_COUNTRY] = {"no_country",
				"a national number (no + or 00), and no default country code"},
	[HT_E164_NATIONAL] = {"national", "not a national number of the default country "
					  "(NANP: 10 digits, the first 2-9, or 1 and 10 digits)"},
	[HT_E164_TOO_SHORT] = {"too_short", "fewer than 7 digits"},
	[HT_E164_TOO_LONG] = {"too_long", "more than 15 digits"},
	[HT_E164_LEADING_ZERO] = {"leading_zero", "the country code starts with 0"},
};

const char *ht_e164_reason_name(ht_e164_reason why)
{
	if ((unsigned)why >= sizeof(reasons) / sizeof(reasons[0]))
		return "unknown";
	return reasons[why].name;
}

const char *ht_e164_reason_text(ht_e164_reason why)
{
	if ((unsigned)why >= sizeof(reasons) / sizeof(reasons[0]))
		return "unknown reason";
	return reasons[why].text;
}
