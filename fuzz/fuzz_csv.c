/*
 * The CSV call-record parser (ht_csv_feed, ht_csv_finish) and E.164
 * normalisation (ht_e164_normalize). The input is fed in two chunks, split
 * where its first byte says, again all at once, and one byte at a time
 * (which leaves the parser's fast path for plain lines no whole line to
 * take: the state machine alone): all runs must report the same rows. Every data row is a record or
 * a refusal with a line number after the header's; rows come in line order; records hold valid
 * E.164 digits, valid provider IDs and bounded fields. The input is also normalised as one phone
 * number: a result must be valid digits and a fixed point ("+" || digits gives the digits again).
 */
#include "fuzz.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/cdr.h"
#include "hoptrace/e164.h"

/* Trunk groups: A and B are peers, L faces customers, "P-<id>" maps to <id> unchecked. */
static ht_trunk_kind trunk_map(void *ud, const char *name, size_t len,
			       char provider[HT_PROVIDER_ID_MAX + 1])
{
	(void)ud;
	FUZZ_CHECK(len > 0 && strlen(name) == len);
	if (strcmp(name, "A") == 0 || strcmp(name, "B") == 0) {
		memcpy(provider, name[0] == 'A' ? "CARRIER-A" : "CARRIER-B", 10);
		return HT_TRUNK_PEER;
	}
	if (strcmp(name, "L") == 0)
		return HT_TRUNK_LOCAL;
	if (len > 2 && name[0] == 'P' && name[1] == '-') {
		/* Whatever the input says, even without a NUL: the parser must check it. */
		size_t n = len - 2 < HT_PROVIDER_ID_MAX + 1 ? len - 2 : HT_PROVIDER_ID_MAX + 1;
		memcpy(provider, name + 2, n);
		return HT_TRUNK_PEER;
	}
	return HT_TRUNK_UNKNOWN;
}

struct run {
	uint8_t *log; /* every row, serialised, to compare two runs */
	size_t len, cap;
	uint64_t rows, records, refused;
	uint64_t last_line; /* where the previous row ended */
	bool header_failed;
};

static void append(struct run *r, const void *p, size_t n)
{
	if (r->len + n > r->cap) {
		size_t cap = r->cap ? r->cap : 4096;
		while (cap < r->len + n)
			cap *= 2;
		uint8_t *b = realloc(r->log, cap);
		if (!b)
			fuzz_fail("out of memory");
		r->log = b;
		r->cap = cap;
	}
	memcpy(r->log + r->len, p, n);
	r->len += n;
}

static bool id_ok(const char *id)
{
	size_t n = strnlen(id, HT_PROVIDER_ID_MAX + 1);
	return n == 0 || (n <= HT_PROVIDER_ID_MAX && ht_provider_id_valid(id, n));
}

static void check_number(const char *digits)
{
	size_t n = strnlen(digits, HT_E164_BUF);
	FUZZ_CHECK(n < HT_E164_BUF && ht_e164_digits_valid(digits, n));
	char plus[HT_E164_BUF + 1], out[HT_E164_BUF];
	plus[0] = '+';
	memcpy(plus + 1, digits, n);
	FUZZ_CHECK(ht_e164_normalize(plus, n + 1, NULL, out) == HT_OK);
	FUZZ_CHECK(strcmp(out, digits) == 0);
}

static void check_record(const ht_cdr *c)
{
	check_number(c->calling);
	check_number(c->called);
	FUZZ_CHECK(id_ok(c->upstream));
	FUZZ_CHECK(id_ok(c->downstream));
	/* A customer is named only for calls that start here. */
	FUZZ_CHECK(c->upstream[0] == '\0' || c->customer_ref[0] == '\0');
	size_t n = strnlen(c->customer_ref, sizeof(c->customer_ref));
	FUZZ_CHECK(n < sizeof(c->customer_ref));
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK((unsigned char)c->customer_ref[i] >= 0x20 && c->customer_ref[i] != 0x7f);
	n = strnlen(c->call_id, sizeof(c->call_id));
	FUZZ_CHECK(n < sizeof(c->call_id));
	for (size_t i = 0; i < n; i++)
		FUZZ_CHECK(c->call_id[i] > 0x20 && c->call_id[i] < 0x7f);
	FUZZ_CHECK(c->attestation == 0 || c->attestation == 'A' || c->attestation == 'B' ||
		   c->attestation == 'C');
	FUZZ_CHECK(c->time_ms <= 253402300799999ULL); /* 9999-12-31T23:59:59.999Z */
	if (!c->has_origid) {
		static const uint8_t zero[16];
		FUZZ_CHECK(memcmp(c->origid, zero, 16) == 0);
	}
}

static int on_row(void *ud, const ht_csv_row *row)
{
	struct run *r = ud;
	FUZZ_CHECK(!r->header_failed); /* nothing after a refused header */
	FUZZ_CHECK(row->message != NULL);
	FUZZ_CHECK(row->last_line >= row->line);
	FUZZ_CHECK(row->column >= -1 && row->column < HT_CSV_NCOLS);
	if (row->reason == HT_CSV_BAD_HEADER) {
		FUZZ_CHECK(row->cdr == NULL && r->rows == 0);
		FUZZ_CHECK(strncmp(row->message, "header: ", 8) == 0);
		r->header_failed = true;
	} else {
		/* A data row: after the header's line and after the previous row. */
		FUZZ_CHECK(row->line > 1 && row->line > r->last_line);
		if (row->cdr) {
			FUZZ_CHECK(row->reason == HT_CSV_OK && row->column == -1);
			FUZZ_CHECK(row->message[0] == '\0');
			check_record(row->cdr);
			r->records++;
		} else {
			FUZZ_CHECK(row->reason != HT_CSV_OK && row->message[0] != '\0');
			FUZZ_CHECK(strcmp(ht_csv_reason_name(row->reason), "unknown") != 0);
			r->refused++;
		}
		r->rows++;
	}
	r->last_line = row->last_line;
	append(r, &row->line, sizeof(row->line));
	append(r, &row->last_line, sizeof(row->last_line));
	append(r, &row->reason, sizeof(row->reason));
	append(r, &row->column, sizeof(row->column));
	append(r, row->message, strlen(row->message) + 1);
	if (row->cdr)
		append(r, row->cdr, sizeof(*row->cdr));
	return 0;
}

/*
 * Parses data[0..size) fed as [0, split) and [split, size), or one byte at
 * a time if split is SIZE_MAX; returns the final code.
 */
static int parse(const uint8_t *data, size_t size, size_t split, const char *cc, struct run *r)
{
	ht_csv_options o = {.trunk_map = trunk_map, .default_cc = cc};
	ht_csv_parser *p;
	if (ht_csv_parser_new(&o, &p) != HT_OK)
		fuzz_fail("ht_csv_parser_new");
	int rc = HT_OK;
	if (split == SIZE_MAX) {
		for (size_t i = 0; i < size && rc == HT_OK; i++)
			rc = ht_csv_feed(p, data + i, 1, on_row, r);
	} else {
		rc = ht_csv_feed(p, data, split, on_row, r);
		if (rc == HT_OK)
			rc = ht_csv_feed(p, data + split, size - split, on_row, r);
	}
	if (rc == HT_OK)
		rc = ht_csv_finish(p, on_row, r);
	FUZZ_CHECK(rc == HT_OK || rc == HT_E_MALFORMED);
	FUZZ_CHECK((rc == HT_E_MALFORMED) == r->header_failed);
	ht_csv_stats st;
	ht_csv_get_stats(p, &st);
	FUZZ_CHECK(st.records == r->records && st.refused == r->refused);
	FUZZ_CHECK(rc != HT_OK || st.bytes == size);
	ht_csv_parser_free(p);
	return rc;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_init();

	/* The whole input as one phone number, both ways. */
	const char *ccs[2] = {"1", NULL};
	for (int i = 0; i < 2; i++) {
		char out[HT_E164_BUF];
		int rc = ht_e164_normalize((const char *)data, size, ccs[i], out);
		FUZZ_CHECK(rc == HT_OK || rc == HT_E_MALFORMED);
		if (rc == HT_OK)
			check_number(out);
		else
			FUZZ_CHECK(out[0] == '\0');
	}

	/* The input as a CSV file; odd sizes without a default country. */
	const char *cc = size % 2 ? NULL : "1";
	size_t split = size ? (size_t)data[0] * size / 256 : 0;
	struct run a = {0}, b = {0}, c = {0};
	int rc1 = parse(data, size, split, cc, &a);
	int rc2 = parse(data, size, size, cc, &b);
	int rc3 = parse(data, size, SIZE_MAX, cc, &c);
	FUZZ_CHECK(rc1 == rc2 && rc2 == rc3);
	FUZZ_CHECK(a.len == b.len && (a.len == 0 || memcmp(a.log, b.log, a.len) == 0));
	FUZZ_CHECK(c.len == b.len && (c.len == 0 || memcmp(c.log, b.log, c.len) == 0));
	free(a.log);
	free(b.log);
	free(c.log);
	return 0;
}
