/*
 * Phone numbers as HopTrace compares and commits to them: E.164 digits, with
 * no '+', made from what carriers record ("+1 (202) 555-0143", "2025550143",
 * "011 44 20 7946 0958", "tel:+1-202-555-0143"...). spec/numbers.md is
 * normative; the traceback commitment hashes these digits, so every
 * implementation must make the same digits from the same text.
 */
#ifndef HOPTRACE_E164_H
#define HOPTRACE_E164_H

#include <stdbool.h>
#include <stddef.h>

#include "hoptrace/err.h"

/* An E.164 number has at most 15 digits; HopTrace refuses fewer than 7. */
#define HT_E164_MAX_DIGITS 15
#define HT_E164_MIN_DIGITS 7
/* Size of a buffer for the digits and their NUL. */
#define HT_E164_BUF 16

/*
 * Why a number was refused (spec/numbers.md, "Errors"). The names are
 * informative: other implementations must refuse the same inputs, not
 * necessarily for the same stated reason.
 */
typedef enum ht_e164_reason {
	HT_E164_OK = 0,
	HT_E164_EMPTY,        /* no digits at all */
	HT_E164_BAD_CHAR,     /* a letter or other character, or a misplaced '+' */
	HT_E164_TRUNK_ZERO,   /* "(0)", a national trunk prefix inside an international number */
	HT_E164_BAD_URI,      /* a sip:/sips: URI without '@' */
	HT_E164_URI_LOCAL,    /* a tel:/sip: URI whose number does not start with '+' */
	HT_E164_NO_COUNTRY,   /* a national number, and no default country code */
	HT_E164_NATIONAL,     /* not a national number of the default country's plan */
	HT_E164_TOO_SHORT,    /* fewer than 7 digits */
	HT_E164_TOO_LONG,     /* more than 15 digits */
	HT_E164_LEADING_ZERO, /* the country code would start with 0 */
} ht_e164_reason;

/*
 * True when `default_cc` is a default country code this version supports:
 * NULL or "" (none: only international forms are accepted) or "1" (the North
 * American Numbering Plan). Other plans are not specified yet
 * (spec/numbers.md, "Other numbering plans").
 */
bool ht_e164_cc_valid(const char *default_cc);

/*
 * Normalises the `len` bytes of `in` (no NUL needed) to E.164 digits by the
 * rule of spec/numbers.md, with `default_cc` for national numbers. On success
 * `out` holds 7 to 15 ASCII digits, the first not 0, and a NUL. Returns
 * HT_OK, HT_E_MALFORMED for a number the rule refuses (`out` is then ""), or
 * HT_E_INVAL for an unsupported `default_cc` (see ht_e164_cc_valid).
 */
int ht_e164_normalize(const char *in, size_t len, const char *default_cc,
		      char out[HT_E164_BUF]) HT_WUR;

/*
 * ht_e164_normalize, also saying why a number was refused: *why is
 * HT_E164_OK on success and the reason on HT_E_MALFORMED. `why` may be NULL.
 */
int ht_e164_normalize_why(const char *in, size_t len, const char *default_cc, char out[HT_E164_BUF],
			  ht_e164_reason *why) HT_WUR;

/* A short stable token for `why` ("too_long"...), as spec/numbers.md names it. */
const char *ht_e164_reason_name(ht_e164_reason why);

/* A sentence describing `why`, for people. Never NULL. */
const char *ht_e164_reason_text(ht_e164_reason why);

/*
 * True when the `len` bytes of `digits` are a normalised number: 7 to 15
 * ASCII digits, the first not 0. What ht_e164_normalize produces, and what a
 * stored record or a commitment opening must hold.
 */
bool ht_e164_digits_valid(const char *digits, size_t len);

#endif
