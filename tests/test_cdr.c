/*
 * The CSV call-record parser (docs/cdr-csv.md): bad rows of every kind,
 * each reported with its line and reason while the rows around it import;
 * CSV quoting, line ends, BOM and header variations; chunking; bounds.
 */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoptrace/cdr.h"
#include "hoptrace/timefmt.h"

#define HEADER "time,calling,called,in_trunk,out_trunk,customer_ref,attestation,origid,call_id\n"
#define GOOD                                                                                       \
	"2026-11-29T05:23:38Z,+1 202 555 0143,2025550144,PEER-A,PEER-B,,A,"                        \
	"8e2f3b52-7c1d-4a3e-9f00-0123456789ab,abc123@gw.example.net\n"
#define GOOD_MS 1795929818000ULL

/* ---- the trunk map and the row collector ---- */

static int map_calls;

static ht_trunk_kind trunk_map(void *ud, const char *name, size_t len,
			       char provider[HT_PROVIDER_ID_MAX + 1])
{
	(void)ud;
	map_calls++;
	assert_int_equal(strlen(name), len); /* NUL-terminated, no NUL inside */
	assert_true(len > 0);
	static const struct {
		const char *trunk, *id;
	} map[] = {
		{"PEER-A", "CARRIER-A"},
		{"PEER-B", "CARRIER-B"},
		{"TG 7, \"west\"", "CARRIER-W"},
		{"LONG", "C2345678901234567890123456789012"}, /* 32 characters */
		{"BADMAP", "not valid!"},
	};
	if (strcmp(name, "CUST") == 0)
		return HT_TRUNK_LOCAL;
	if (strcmp(name, "OVERRUN") == 0) {
		memset(provider, 'A', HT_PROVIDER_ID_MAX + 1); /* no NUL: refused */
		return HT_TRUNK_PEER;
	}
	for (size_t i = 0; i < sizeof(map) / sizeof(map[0]); i++) {
		if (strcmp(name, map[i].trunk) == 0) {
			strcpy(provider, map[i].id);
			return HT_TRUNK_PEER;
		}
	}
	return HT_TRUNK_UNKNOWN;
}

struct got {
	uint64_t line, last_line;
	ht_csv_reason reason;
	int column;
	char msg[300];
	bool has_cdr;
	ht_cdr cdr;
};

struct coll {
	struct got *v;
	size_t n, cap;
	size_t stop_at; /* return 42 when this many rows are in (0: never) */
};

static int collect(void *ud, const ht_csv_row *row)
{
	struct coll *c = ud;
	/* Every row is a record or a refusal, never both, never neither. */
	assert_true(row->line >= 1);
	assert_true(row->last_line >= row->line);
	assert_non_null(row->message);
	if (row->cdr) {
		assert_int_equal(row->reason, HT_CSV_OK);
		assert_string_equal(row->message, "");
		assert_int_equal(row->column, -1);
		assert_true(ht_e164_digits_valid(row->cdr->calling, strlen(row->cdr->calling)));
		assert_true(ht_e164_digits_valid(row->cdr->called, strlen(row->cdr->called)));
		const char *ids[2] = {row->cdr->upstream, row->cdr->downstream};
		for (int i = 0; i < 2; i++)
			assert_true(ids[i][0] == '\0' ||
				    ht_provider_id_valid(ids[i], strlen(ids[i])));
	} else {
		assert_int_not_equal(row->reason, HT_CSV_OK);
		assert_true(row->message[0] != '\0');
		assert_true(row->column >= -1 && row->column < HT_CSV_NCOLS);
	}
	if (c->n == c->cap) {
		c->cap = c->cap ? c->cap * 2 : 16;
		c->v = realloc(c->v, c->cap * sizeof(*c->v));
		assert_non_null(c->v);
	}
	struct got *g = &c->v[c->n++];
	memset(g, 0, sizeof(*g));
	g->line = row->line;
	g->last_line = row->last_line;
	g->reason = row->reason;
	g->column = row->column;
	snprintf(g->msg, sizeof(g->msg), "%s", row->message);
	if (row->cdr) {
		g->has_cdr = true;
		g->cdr = *row->cdr;
	}
	return c->stop_at && c->n == c->stop_at ? 42 : 0;
}

static ht_csv_parser *new_parser(const char *cc)
{
	ht_csv_options o = {.trunk_map = trunk_map, .default_cc = cc};
	ht_csv_parser *p;
	assert_int_equal(ht_csv_parser_new(&o, &p), HT_OK);
	return p;
}

/*
 * Parses `len` bytes in chunks of `chunk` (0: all at once) with default
 * country "1"; returns the first non-OK code of feed or finish.
 */
static int run_chunks(const char *csv, size_t len, size_t chunk, struct coll *c, ht_csv_stats *st)
{
	ht_csv_parser *p = new_parser("1");
	int rc = HT_OK;
	size_t step = chunk ? chunk : (len ? len : 1);
	for (size_t off = 0; off < len && rc == HT_OK; off += step) {
		size_t n = len - off < step ? len - off : step;
		/* An exact-size copy, so ASan sees any read past the chunk. */
		uint8_t *b = malloc(n);
		assert_non_null(b);
		memcpy(b, csv + off, n);
		rc = ht_csv_feed(p, b, n, collect, c);
		free(b);
	}
	if (rc == HT_OK)
		rc = ht_csv_finish(p, collect, c);
	if (st)
		ht_csv_get_stats(p, st);
	ht_csv_parser_free(p);
	return rc;
}

static int run(const char *csv, struct coll *c)
{
	return run_chunks(csv, strlen(csv), 0, c, NULL);
}

static void coll_free(struct coll *c)
{
	free(c->v);
	memset(c, 0, sizeof(*c));
}

static void expect_record(const struct coll *c, size_t i, uint64_t line)
{
	if (i >= c->n)
		fail_msg("row %zu: missing (only %zu rows)", i, c->n);
	if (!c->v[i].has_cdr || c->v[i].line != line)
		fail_msg("row %zu: want a record on line %llu, got line %llu %s: %s", i,
			 (unsigned long long)line, (unsigned long long)c->v[i].line,
			 ht_csv_reason_name(c->v[i].reason), c->v[i].msg);
}

static void expect_refused(const struct coll *c, size_t i, uint64_t line, ht_csv_reason r, int col,
			   const char *in_msg)
{
	if (i >= c->n)
		fail_msg("row %zu: missing (only %zu rows)", i, c->n);
	const struct got *g = &c->v[i];
	if (g->has_cdr || g->line != line || g->reason != r || g->column != col ||
	    (in_msg && !strstr(g->msg, in_msg)))
		fail_msg("row %zu: want line %llu %s column %s '%s'; got line %llu %s column %s: "
			 "'%s'",
			 i, (unsigned long long)line, ht_csv_reason_name(r),
			 ht_csv_column_name(col), in_msg ? in_msg : "", (unsigned long long)g->line,
			 ht_csv_reason_name(g->reason), ht_csv_column_name(g->column), g->msg);
}

/* ---- bad rows, one kind per entry, each between two good rows ---- */

struct bad_case {
	const char *name;
	const char *row; /* one data row, with its line end(s) */
	ht_csv_reason reason;
	int column;
	const char *in_msg; /* a substring of the message, or NULL */
	int lines;          /* physical lines the row takes (0 means 1) */
};

#define T  "2026-11-29T05:23:38Z"
#define C1 "+12025550143"
#define C2 "2025550144"
#define UU "8e2f3b52-7c1d-4a3e-9f00-0123456789ab"

static char long_field[512], long_call_id[512], long_ref[512], many_fields[200];

static const struct bad_case bad_cases[] = {
	{"missing column", T "," C1 "," C2 ",PEER-A\n", HT_CSV_MISSING_FIELD, HT_CSV_COL_OUT_TRUNK,
	 "4 fields, the header has 9", 0},
	{"missing several", T "\n", HT_CSV_MISSING_FIELD, HT_CSV_COL_CALLING, NULL, 0},
	{"extra column", T "," C1 "," C2 ",PEER-A,PEER-B,,A," UU ",x,extra\n", HT_CSV_EXTRA_FIELD,
	 -1, "more fields than the header's 9", 0},
	{"bad calling number", T ",202-555-CALL," C2 ",PEER-A,PEER-B,,,,\n", HT_CSV_BAD_NUMBER,
	 HT_CSV_COL_CALLING, "bad_char", 0},
	{"7-digit called number", T "," C1 ",555-0143,PEER-A,PEER-B,,,,\n", HT_CSV_BAD_NUMBER,
	 HT_CSV_COL_CALLED, "national", 0},
	{"16-digit number", T ",+1234567890123456," C2 ",PEER-A,PEER-B,,,,\n", HT_CSV_BAD_NUMBER,
	 HT_CSV_COL_CALLING, "too_long", 0},
	{"empty number", T ",," C2 ",PEER-A,PEER-B,,,,\n", HT_CSV_BAD_NUMBER, HT_CSV_COL_CALLING,
	 "empty", 0},
	{"bad time", "2026-13-01T00:00:00Z," C1 "," C2 ",PEER-A,PEER-B,,,,\n", HT_CSV_BAD_TIME,
	 HT_CSV_COL_TIME, "'2026-13-01T00:00:00Z' is neither", 0},
	{"time without offset", "2026-11-29T05:23:38," C1 "," C2 ",PEER-A,PEER-B,,,,\n",
	 HT_CSV_BAD_TIME, HT_CSV_COL_TIME, NULL, 0},
	{"time in seconds", "1795929818," C1 "," C2 ",PEER-A,PEER-B,,,,\n", HT_CSV_BAD_TIME,
	 HT_CSV_COL_TIME, "seconds?", 0},
	{"empty time", "," C1 "," C2 ",PEER-A,PEER-B,,,,\n", HT_CSV_BAD_TIME, HT_CSV_COL_TIME,
	 "empty", 0},
	{"unknown in trunk", T "," C1 "," C2 ",PEER-X,PEER-B,,,,\n", HT_CSV_UNKNOWN_TRUNK,
	 HT_CSV_COL_IN_TRUNK, "unknown trunk group 'PEER-X'", 0},
	{"unknown out trunk", T "," C1 "," C2 ",PEER-A,peer-b,,,,\n", HT_CSV_UNKNOWN_TRUNK,
	 HT_CSV_COL_OUT_TRUNK, "'peer-b'", 0},
	{"trunk map gives a bad ID", T "," C1 "," C2 ",BADMAP,PEER-B,,,,\n", HT_CSV_UNKNOWN_TRUNK,
	 HT_CSV_COL_IN_TRUNK, "invalid provider ID", 0},
	{"trunk map overruns", T "," C1 "," C2 ",PEER-A,OVERRUN,,,,\n", HT_CSV_UNKNOWN_TRUNK,
	 HT_CSV_COL_OUT_TRUNK, "invalid provider ID", 0},
	{"overlong field", long_field, HT_CSV_FIELD_TOO_LONG, HT_CSV_COL_CUSTOMER_REF,
	 "longer than 256 bytes", 0},
	{"embedded NUL", T "," C1 "," C2 ",PEER\0-A,PEER-B,,,,\n", HT_CSV_NUL, HT_CSV_COL_IN_TRUNK,
	 "NUL", 0},
	{"quote in unquoted field", T "," C1 ",20\"25550144,PEER-A,PEER-B,,,,\n", HT_CSV_BAD_QUOTE,
	 HT_CSV_COL_CALLED, NULL, 0},
	{"text after closing quote", T ",\"" C1 "\"x," C2 ",PEER-A,PEER-B,,,,\n", HT_CSV_BAD_QUOTE,
	 HT_CSV_COL_CALLING, "after the closing quote", 0},
	{"bad UUID", T "," C1 "," C2 ",PEER-A,PEER-B,,,8e2f3b52-7c1d-4a3e-9f00-0123456789a,\n",
	 HT_CSV_BAD_UUID, HT_CSV_COL_ORIGID, "not a UUID", 0},
	{"UUID without dashes",
	 T "," C1 "," C2 ",PEER-A,PEER-B,,,8e2f3b527c1d4a3e9f000123456789ab,\n", HT_CSV_BAD_UUID,
	 HT_CSV_COL_ORIGID, NULL, 0},
	{"bad attestation", T "," C1 "," C2 ",PEER-A,PEER-B,,D,,\n", HT_CSV_BAD_ATTESTATION,
	 HT_CSV_COL_ATTESTATION, "'D' is not A, B, C", 0},
	{"attestation word", T "," C1 "," C2 ",PEER-A,PEER-B,,AB,,\n", HT_CSV_BAD_ATTESTATION,
	 HT_CSV_COL_ATTESTATION, NULL, 0},
	{"bare CR", T "," C1 "," C2 ",PEER-A,PE\rER-B,,,,\n", HT_CSV_BARE_CR, HT_CSV_COL_OUT_TRUNK,
	 "carriage return", 0},
	{"call_id with a space", T "," C1 "," C2 ",PEER-A,PEER-B,,,,abc def\n", HT_CSV_BAD_TEXT,
	 HT_CSV_COL_CALL_ID, NULL, 0},
	{"call_id too long", long_call_id, HT_CSV_FIELD_TOO_LONG, HT_CSV_COL_CALL_ID,
	 "129 bytes, more than 128", 0},
	{"customer_ref too long", long_ref, HT_CSV_FIELD_TOO_LONG, HT_CSV_COL_CUSTOMER_REF,
	 "65 bytes, more than 64", 0},
	{"customer_ref with a newline", T "," C1 "," C2 ",,PEER-B,\"acme\ninc\",,,\n",
	 HT_CSV_BAD_TEXT, HT_CSV_COL_CUSTOMER_REF, "control character", 2},
	{"more fields than max_columns", many_fields, HT_CSV_EXTRA_FIELD, -1,
	 "more fields than the header", 0},
};

static void make_long_rows(void)
{
	char big[258], cid[130], ref[66];
	memset(big, 'r', 257);
	big[257] = '\0';
	memset(cid, 'c', 129);
	cid[129] = '\0';
	memset(ref, 'x', 65);
	ref[65] = '\0';
	snprintf(long_field, sizeof(long_field), T "," C1 "," C2 ",,PEER-B,%s,,,\n", big);
	snprintf(long_call_id, sizeof(long_call_id), T "," C1 "," C2 ",PEER-A,PEER-B,,,,%s\n", cid);
	snprintf(long_ref, sizeof(long_ref), T "," C1 "," C2 ",,PEER-B,%s,,,\n", ref);
	size_t o = 0;
	for (int i = 0; i < 40; i++) {
		many_fields[o++] = 'x';
		many_fields[o++] = ',';
	}
	many_fields[o++] = '\n';
	many_fields[o] = '\0';
}

/* Row bytes up to and including the last '\n' (rows may hold a NUL). */
static size_t row_len(const char *row)
{
	const char *nl = NULL;
	for (const char *p = row;; p++) {
		if (*p == '\n')
			nl = p;
		if (*p == '\0' && nl && p > nl)
			break;
	}
	return (size_t)(nl - row) + 1;
}

static void test_bad_rows(void **state)
{
	(void)state;
	make_long_rows();
	for (size_t k = 0; k < sizeof(bad_cases) / sizeof(bad_cases[0]); k++) {
		const struct bad_case *bc = &bad_cases[k];
		const char *row = bc->row;
		size_t rl = row_len(row);
		char *csv = malloc(strlen(HEADER) + strlen(GOOD) * 2 + rl + 1);
		assert_non_null(csv);
		size_t o = 0;
		memcpy(csv + o, HEADER, strlen(HEADER)), o += strlen(HEADER);
		memcpy(csv + o, GOOD, strlen(GOOD)), o += strlen(GOOD);
		memcpy(csv + o, row, rl), o += rl;
		memcpy(csv + o, GOOD, strlen(GOOD)), o += strlen(GOOD);
		struct coll c = {0};
		int rc = run_chunks(csv, o, 0, &c, NULL);
		if (rc != HT_OK)
			fail_msg("%s: %s", bc->name, ht_errname(rc));
		if (c.n != 3)
			fail_msg("%s: %zu rows, want 3", bc->name, c.n);
		expect_record(&c, 0, 2);
		expect_refused(&c, 1, 3, bc->reason, bc->column, bc->in_msg);
		assert_int_equal(c.v[1].last_line, 3 + (uint64_t)(bc->lines ? bc->lines - 1 : 0));
		expect_record(&c, 2, 4 + (uint64_t)(bc->lines ? bc->lines - 1 : 0));
		assert_int_equal(c.v[2].last_line, c.v[2].line);
		/* The same byte by byte. */
		struct coll c1 = {0};
		assert_int_equal(run_chunks(csv, o, 1, &c1, NULL), HT_OK);
		assert_int_equal(c1.n, 3);
		assert_int_equal(c1.v[1].reason, bc->reason);
		assert_string_equal(c1.v[1].msg, c.v[1].msg);
		coll_free(&c1);
		coll_free(&c);
		free(csv);
	}
}

/* ---- records ---- */

static void test_full_record(void **state)
{
	(void)state;
	struct coll c = {0};
	assert_int_equal(run(HEADER GOOD, &c), HT_OK);
	assert_int_equal(c.n, 1);
	expect_record(&c, 0, 2);
	const ht_cdr *r = &c.v[0].cdr;
	assert_int_equal(r->time_ms, GOOD_MS);
	assert_string_equal(r->calling, "12025550143");
	assert_string_equal(r->called, "12025550144");
	assert_string_equal(r->upstream, "CARRIER-A");
	assert_string_equal(r->downstream, "CARRIER-B");
	assert_string_equal(r->customer_ref, "");
	assert_int_equal(r->attestation, 'A');
	assert_true(r->has_origid);
	char u[37];
	ht_uuid_format(r->origid, u);
	assert_string_equal(u, UU);
	assert_int_equal(r->origid[0], 0x8e);
	assert_int_equal(r->origid[15], 0xab);
	assert_string_equal(r->call_id, "abc123@gw.example.net");
	coll_free(&c);
}

static void test_ends_of_the_path(void **state)
{
	(void)state;
	struct coll c = {0};
	/* Originated here (empty or customer trunk), terminated here, both (an on-net call). */
	assert_int_equal(run(HEADER T "," C1 "," C2 ",,PEER-B,cust-42,B,,\n"    /* 2 */
			     T "," C1 "," C2 ",CUST,PEER-B,\"acme, inc\",c,,\n" /* 3 */
			     T "," C1 "," C2 ",PEER-A,,cust-9,,,\n"             /* 4 */
			     T "," C1 "," C2 ",PEER-A,CUST,,,,\n"               /* 5 */
			     T "," C1 "," C2 ",,,cust-1,,,\n",                  /* 6 */
			     &c),
			 HT_OK);
	assert_int_equal(c.n, 5);
	for (size_t i = 0; i < 5; i++)
		expect_record(&c, i, 2 + i);
	assert_string_equal(c.v[0].cdr.upstream, "");
	assert_string_equal(c.v[0].cdr.customer_ref, "cust-42");
	assert_int_equal(c.v[0].cdr.attestation, 'B');
	assert_string_equal(c.v[1].cdr.upstream, "");
	assert_string_equal(c.v[1].cdr.customer_ref, "acme, inc");
	assert_int_equal(c.v[1].cdr.attestation, 'C');
	/* From a peer: the customer reference is not kept. */
	assert_string_equal(c.v[2].cdr.upstream, "CARRIER-A");
	assert_string_equal(c.v[2].cdr.customer_ref, "");
	assert_string_equal(c.v[2].cdr.downstream, "");
	assert_string_equal(c.v[3].cdr.downstream, "");
	assert_string_equal(c.v[4].cdr.upstream, "");
	assert_string_equal(c.v[4].cdr.downstream, "");
	assert_string_equal(c.v[4].cdr.customer_ref, "cust-1");
	assert_int_equal(c.v[4].cdr.attestation, 0);
	assert_false(c.v[4].cdr.has_origid);
	coll_free(&c);
}

static void test_times(void **state)
{
	(void)state;
	struct coll c = {0};
	assert_int_equal(run("time,calling,called,in_trunk,out_trunk\n"
			     "1795929818123," C1 "," C2 ",PEER-A,PEER-B\n"
			     "2026-11-29T06:23:38.5+01:00," C1 "," C2 ",PEER-A,PEER-B\n"
			     "2026-11-29 05:23:38Z," C1 "," C2 ",PEER-A,PEER-B\n"
			     "1000000000000," C1 "," C2 ",PEER-A,PEER-B\n"
			     "0795929818123," C1 "," C2 ",PEER-A,PEER-B\n"
			     "17959298181230," C1 "," C2 ",PEER-A,PEER-B\n"
			     "-1795929818123," C1 "," C2 ",PEER-A,PEER-B\n"
			     "1795929818.5," C1 "," C2 ",PEER-A,PEER-B\n",
			     &c),
			 HT_OK);
	assert_int_equal(c.n, 8);
	assert_int_equal(c.v[0].cdr.time_ms, 1795929818123ULL);
	assert_int_equal(c.v[1].cdr.time_ms, 1795929818500ULL);
	assert_int_equal(c.v[2].cdr.time_ms, 1795929818000ULL);
	assert_int_equal(c.v[3].cdr.time_ms, 1000000000000ULL);
	for (size_t i = 4; i < 8; i++)
		expect_refused(&c, i, 2 + i, HT_CSV_BAD_TIME, HT_CSV_COL_TIME, NULL);
	coll_free(&c);
}

/* ---- CSV syntax ---- */

static void test_crlf_and_quotes(void **state)
{
	(void)state;
	struct coll c = {0};
	assert_int_equal(run("\"time\",\"calling\",called,in_trunk,out_trunk,customer_ref\r\n"
			     "\"" T "\",\"+1 (202) 555-0143\",\"" C2 "\",\"TG 7, \"\"west\"\"\","
			     "PEER-B,\r\n" T ",\"\"\"\"," C2 ",PEER-A,PEER-B,\r\n" T "," C1 "," C2
			     ",,PEER-B,\"\"\r\n",
			     &c),
			 HT_OK);
	assert_int_equal(c.n, 3);
	expect_record(&c, 0, 2);
	assert_string_equal(c.v[0].cdr.calling, "12025550143");
	assert_string_equal(c.v[0].cdr.upstream, "CARRIER-W"); /* quoted comma and quotes */
	/* A field holding one '"' is a bad number, not broken CSV. */
	expect_refused(&c, 1, 3, HT_CSV_BAD_NUMBER, HT_CSV_COL_CALLING, NULL);
	expect_record(&c, 2, 4);
	coll_free(&c);
}

/* Line numbers count physical lines, also inside quoted fields. */
static void test_quoted_newlines_count_lines(void **state)
{
	(void)state;
	struct coll c = {0};
	assert_int_equal(run("time,calling,called,in_trunk,out_trunk\n"           /* 1 */
			     T "," C1 "," C2 ",\"PEER\nA\",PEER-B\n"              /* 2-3 */
			     T "," C1 "," C2 ",PEER-A,PEER-B\n"                   /* 4 */
			     T ",\"+1 202\r\n555 0143\"," C2 ",PEER-A,PEER-B\r\n" /* 5-6 */
			     T "," C1 "," C2 ",\"PEER-A\",\"\n\n\nX\"\n"          /* 7-10 */
			     T "," C1 "," C2 ",PEER-A,PEER-B",                    /* 11 */
			     &c),
			 HT_OK);
	assert_int_equal(c.n, 5);
	expect_refused(&c, 0, 2, HT_CSV_UNKNOWN_TRUNK, HT_CSV_COL_IN_TRUNK, "'PEER\\x0aA'");
	expect_record(&c, 1, 4);
	expect_refused(&c, 2, 5, HT_CSV_BAD_NUMBER, HT_CSV_COL_CALLING, NULL);
	expect_refused(&c, 3, 7, HT_CSV_UNKNOWN_TRUNK, HT_CSV_COL_OUT_TRUNK, NULL);
	expect_record(&c, 4, 11); /* no final line end */
	static const uint64_t last[] = {3, 4, 6, 10, 11};
	for (size_t i = 0; i < 5; i++)
		assert_int_equal(c.v[i].last_line, last[i]);
	coll_free(&c);
}

static void test_bom(void **state)
{
	(void)state;
	struct coll c = {0};
	assert_int_equal(run("\xef\xbb\xbf" HEADER GOOD, &c), HT_OK);
	assert_int_equal(c.n, 1);
	expect_record(&c, 0, 2);
	coll_free(&c);
	/* Byte by byte too (the BOM split across feeds). */
	const char *csv = "\xef\xbb\xbf" HEADER GOOD;
	assert_int_equal(run_chunks(csv, strlen(csv), 1, &c, NULL), HT_OK);
	assert_int_equal(c.n, 1);
	expect_record(&c, 0, 2);
	coll_free(&c);
	/* Only at the very start; half a BOM is part of the first column name. */
	assert_int_equal(run("\xef\xbbtime,calling,called,in_trunk,out_trunk\n", &c),
			 HT_E_MALFORMED);
	assert_int_equal(c.n, 1);
	expect_refused(&c, 0, 1, HT_CSV_BAD_HEADER, -1, "'\\xef\\xbbtime'");
	coll_free(&c);
	assert_int_equal(run("\n\xef\xbb\xbftime,calling,called,in_trunk,out_trunk\n", &c),
			 HT_E_MALFORMED);
	expect_refused(&c, 0, 2, HT_CSV_BAD_HEADER, -1, "unknown column");
	coll_free(&c);
	/* Input that is only part of a BOM. */
	assert_int_equal(run("\xef\xbb", &c), HT_E_MALFORMED);
	expect_refused(&c, 0, 1, HT_CSV_BAD_HEADER, -1, NULL);
	coll_free(&c);
}

/* ---- the header ---- */

static void test_header_variations(void **state)
{
	(void)state;
	struct coll c = {0};
	/* Any order, any case, quoted names, only the required columns, blank lines first. */
	assert_int_equal(run("\n\r\nOUT_TRUNK,\"Called\",time,In_Trunk,calling\n"
			     "PEER-B," C2 "," T ",PEER-A," C1 "\n",
			     &c),
			 HT_OK);
	assert_int_equal(c.n, 1);
	expect_record(&c, 0, 4);
	assert_string_equal(c.v[0].cdr.upstream, "CARRIER-A");
	assert_string_equal(c.v[0].cdr.downstream, "CARRIER-B");
	assert_string_equal(c.v[0].cdr.called, "12025550144");
	coll_free(&c);

	/* Header only, with or without a line end: no rows, no error. */
	assert_int_equal(run("time,calling,called,in_trunk,out_trunk\n", &c), HT_OK);
	assert_int_equal(c.n, 0);
	assert_int_equal(run("time,calling,called,in_trunk,out_trunk", &c), HT_OK);
	assert_int_equal(c.n, 0);
	coll_free(&c);
}

static void test_header_errors(void **state)
{
	(void)state;
#define S(x) x, sizeof(x) - 1
	static const struct {
		const char *csv;
		size_t len;
		const char *in_msg;
		uint64_t line;
	} cases[] = {
		{S("time,caling,called,in_trunk,out_trunk\n" GOOD), "unknown column 'caling'", 1},
		{S("time,calling,called,in_trunk,out_trunk,duration\n"),
		 "unknown column 'duration'", 1},
		{S("time,calling,called,in_trunk,out_trunk,\n"), "unknown column ''", 1},
		{S("time, calling,called,in_trunk,out_trunk\n"), "' calling'", 1},
		{S("time,calling,called,in_trunk,out_trunk,Time\n"), "appears twice", 1},
		{S("time,calling,called,in_trunk\n"), "no 'out_trunk' column", 1},
		{S("calling,called,in_trunk,out_trunk\n"), "no 'time' column", 1},
		{S("time,calling,called,in_trunk,out_trunk,\"call_id\n"), "not closed", 1},
		{S("\n\ntime,calling,called,\0in_trunk,out_trunk\n"), "NUL", 3},
		{S(""), "no header row", 1},
		{S("\n\n\n"), "no header row", 4},
		{S("ti\"me,calling,called,in_trunk,out_trunk\n"), "inside unquoted", 1},
	};
#undef S
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct coll c = {0};
		int rc = run_chunks(cases[i].csv, cases[i].len, 0, &c, NULL);
		if (rc != HT_E_MALFORMED || c.n != 1)
			fail_msg("case %zu: %s, %zu rows", i, ht_errname(rc), c.n);
		expect_refused(&c, 0, cases[i].line, HT_CSV_BAD_HEADER, -1, cases[i].in_msg);
		assert_true(strncmp(c.v[0].msg, "header: ", 8) == 0);
		coll_free(&c);
	}
}

/* After a refused header nothing more is reported, and every call says so. */
static void test_header_error_is_sticky(void **state)
{
	(void)state;
	ht_csv_parser *p = new_parser("1");
	struct coll c = {0};
	const char *bad = "time,calling\n" GOOD GOOD;
	assert_int_equal(ht_csv_feed(p, (const uint8_t *)bad, strlen(bad), collect, &c),
			 HT_E_MALFORMED);
	assert_int_equal(ht_csv_feed(p, (const uint8_t *)GOOD, strlen(GOOD), collect, &c),
			 HT_E_MALFORMED);
	assert_int_equal(ht_csv_finish(p, collect, &c), HT_E_MALFORMED);
	assert_int_equal(c.n, 1);
	ht_csv_parser_free(p);
	coll_free(&c);
}

/* ---- streaming and bounds ---- */

static void expect_same(const struct coll *a, const struct coll *b)
{
	assert_int_equal(a->n, b->n);
	for (size_t i = 0; i < a->n; i++) {
		assert_int_equal(a->v[i].line, b->v[i].line);
		assert_int_equal(a->v[i].reason, b->v[i].reason);
		assert_int_equal(a->v[i].column, b->v[i].column);
		assert_string_equal(a->v[i].msg, b->v[i].msg);
		assert_int_equal(a->v[i].has_cdr, b->v[i].has_cdr);
		assert_memory_equal(&a->v[i].cdr, &b->v[i].cdr, sizeof(ht_cdr));
	}
}

/* A file with every kind of row; built once for the chunking and 1% tests. */
static char *mixed_csv(size_t nrows, size_t *len, bool **bad_out)
{
	make_long_rows();
	size_t cap = 1 << 20, o = 0;
	char *s = malloc(cap);
	bool *bad = calloc(nrows + 3, sizeof(bool));
	assert_non_null(s);
	assert_non_null(bad);
	o += (size_t)sprintf(s, "\xef\xbb\xbf%s", HEADER);
	size_t nb = sizeof(bad_cases) / sizeof(bad_cases[0]);
	for (size_t i = 0; i < nrows; i++) {
		const char *row;
		size_t rl;
		char good[300];
		if (i % 100 == 37) {
			const struct bad_case *bc = &bad_cases[(i / 100) % nb];
			row = bc->row;
			rl = row_len(row);
			bad[i] = true;
		} else {
			/* Distinct good rows: the time and numbers vary. */
			rl = (size_t)snprintf(
				good, sizeof(good),
				"%llu,+1 202 555 %04zu,+1 301 555 %04zu,PEER-A,%s,,%s,,"
				"id-%zu\r\n",
				1795929818000ULL + i, i % 10000, (i * 7) % 10000,
				i % 3 ? "PEER-B" : "", i % 4 ? "B" : "", i);
			row = good;
		}
		while (o + rl + 1 > cap) {
			cap *= 2;
			s = realloc(s, cap);
			assert_non_null(s);
		}
		memcpy(s + o, row, rl);
		o += rl;
	}
	s[o] = '\0';
	*len = o;
	*bad_out = bad;
	return s;
}

static void test_chunking_equivalence(void **state)
{
	(void)state;
	size_t len;
	bool *bad;
	char *csv = mixed_csv(3000, &len, &bad);
	struct coll whole = {0}, bytes = {0}, odd = {0};
	ht_csv_stats s1, s2;
	assert_int_equal(run_chunks(csv, len, 0, &whole, &s1), HT_OK);
	assert_int_equal(run_chunks(csv, len, 1, &bytes, &s2), HT_OK);
	expect_same(&whole, &bytes);
	assert_memory_equal(&s1, &s2, sizeof(s1));
	static const size_t sizes[] = {2, 3, 7, 64, 255, 256, 257, 4096};
	for (size_t k = 0; k < sizeof(sizes) / sizeof(sizes[0]); k++) {
		assert_int_equal(run_chunks(csv, len, sizes[k], &odd, NULL), HT_OK);
		expect_same(&whole, &odd);
		coll_free(&odd);
	}
	assert_int_equal(s1.bytes, len);
	assert_int_equal(s1.records + s1.refused, whole.n);
	coll_free(&whole);
	coll_free(&bytes);
	free(csv);
	free(bad);
}

/* Acceptance 3: with 1% bad rows, every good row imports and every bad one is reported by line. */
static void test_one_percent_bad(void **state)
{
	(void)state;
	size_t len, nrows = 5000;
	bool *bad;
	char *csv = mixed_csv(nrows, &len, &bad);
	struct coll c = {0};
	ht_csv_stats st;
	assert_int_equal(run_chunks(csv, len, 8192, &c, &st), HT_OK);
	assert_int_equal(c.n, nrows);
	uint64_t line = 2;
	size_t nbad = 0;
	for (size_t i = 0; i < nrows; i++) {
		if (bad[i]) {
			const struct bad_case *bc =
				&bad_cases[(i / 100) % (sizeof(bad_cases) / sizeof(bad_cases[0]))];
			expect_refused(&c, i, line, bc->reason, bc->column, bc->in_msg);
			line += bc->lines ? (uint64_t)bc->lines : 1;
			nbad++;
		} else {
			expect_record(&c, i, line);
			assert_int_equal(c.v[i].cdr.time_ms, 1795929818000ULL + i);
			line++;
		}
	}
	assert_int_equal(nbad, 50);
	assert_int_equal(st.records, nrows - nbad);
	assert_int_equal(st.refused, nbad);
	coll_free(&c);
	free(csv);
	free(bad);
}

/* An overlong line without a line end, then good rows: bounded, one error, resynchronised. */
static void test_overlong_line_resyncs(void **state)
{
	(void)state;
	size_t big = 1 << 20;
	size_t cap = strlen(HEADER) + big + 3 * strlen(GOOD) + 128;
	char *csv = malloc(cap);
	assert_non_null(csv);
	size_t o = (size_t)sprintf(csv, "%s", HEADER);
	/* An unterminated quote that swallows the next lines, then a megabyte line. */
	o += (size_t)sprintf(csv + o, T ",\"" C1 "\n" GOOD);
	memset(csv + o, 'z', big);
	o += big;
	o += (size_t)sprintf(csv + o, "\n" GOOD GOOD);
	struct coll c = {0};
	ht_csv_stats st;
	assert_int_equal(run_chunks(csv, o, 4096, &c, &st), HT_OK);
	assert_int_equal(c.n, 3);
	/* The quoted field from line 2 overflows on line 4 (the 'z' line): the rest of it is
	 * skipped. */
	expect_refused(&c, 0, 2, HT_CSV_FIELD_TOO_LONG, HT_CSV_COL_CALLING,
		       "a quoted field from line 2");
	assert_int_equal(c.v[0].last_line, 4);
	/* The skip ends with line 4; lines 5 and 6 import. */
	expect_record(&c, 1, 5);
	expect_record(&c, 2, 6);
	assert_int_equal(st.lines, 6);
	coll_free(&c);
	free(csv);
}

static void test_unterminated_quote(void **state)
{
	(void)state;
	struct coll c = {0};
	assert_int_equal(run(HEADER GOOD T "," C1 ",\"" C2 ",PEER-A,\nPEER-B,,,,\n", &c), HT_OK);
	assert_int_equal(c.n, 2);
	expect_record(&c, 0, 2);
	expect_refused(
		&c, 1, 3, HT_CSV_UNTERMINATED_QUOTE, HT_CSV_COL_CALLED,
		"opened on line 3 is not closed at the end of the input: lines 3-4 are refused");
	assert_int_equal(c.v[1].last_line, 4);
	coll_free(&c);
}

static void test_blank_lines_and_last_row(void **state)
{
	(void)state;
	struct coll c = {0};
	ht_csv_stats st;
	const char *csv = HEADER "\n" GOOD "\r\n\n" GOOD "\n\n";
	assert_int_equal(run_chunks(csv, strlen(csv), 0, &c, &st), HT_OK);
	assert_int_equal(c.n, 2);
	expect_record(&c, 0, 3);
	expect_record(&c, 1, 6);
	assert_int_equal(st.blank_lines, 5);
	assert_int_equal(st.lines, 8);
	coll_free(&c);
	/* A line of spaces is not blank; a lone ',' is a row of two empty fields. */
	assert_int_equal(run(HEADER " \n,\n", &c), HT_OK);
	expect_refused(&c, 0, 2, HT_CSV_MISSING_FIELD, HT_CSV_COL_CALLING, NULL);
	expect_refused(&c, 1, 3, HT_CSV_MISSING_FIELD, HT_CSV_COL_CALLED, NULL);
	coll_free(&c);
	/* A bare CR at the very end. */
	assert_int_equal(run(HEADER T "," C1 "," C2 ",PEER-A,PEER-B,,,,\r", &c), HT_OK);
	expect_refused(&c, 0, 2, HT_CSV_BARE_CR, HT_CSV_COL_CALL_ID, NULL);
	coll_free(&c);
}

static void test_default_country(void **state)
{
	(void)state;
	ht_csv_options o = {.trunk_map = trunk_map};
	ht_csv_parser *p;
	assert_int_equal(ht_csv_parser_new(&o, &p), HT_OK);
	struct coll c = {0};
	const char *csv = HEADER GOOD T ",+12025550143,+1 202 555 0144,PEER-A,PEER-B,,,,\n";
	assert_int_equal(ht_csv_feed(p, (const uint8_t *)csv, strlen(csv), collect, &c), HT_OK);
	assert_int_equal(ht_csv_finish(p, collect, &c), HT_OK);
	ht_csv_parser_free(p);
	/* Without a country, "2025550144" is refused; the international forms are not. */
	expect_refused(&c, 0, 2, HT_CSV_BAD_NUMBER, HT_CSV_COL_CALLED, "no_country");
	expect_record(&c, 1, 3);
	coll_free(&c);
}

static void test_options(void **state)
{
	(void)state;
	ht_csv_parser *p = (ht_csv_parser *)1;
	ht_csv_options o = {.trunk_map = trunk_map, .default_cc = "1"};
	assert_int_equal(ht_csv_parser_new(NULL, &p), HT_E_INVAL);
	assert_null(p);
	ht_csv_options bad = o;
	bad.trunk_map = NULL;
	assert_int_equal(ht_csv_parser_new(&bad, &p), HT_E_INVAL);
	bad = o;
	bad.default_cc = "44";
	assert_int_equal(ht_csv_parser_new(&bad, &p), HT_E_INVAL);
	bad = o;
	bad.max_field = 127;
	assert_int_equal(ht_csv_parser_new(&bad, &p), HT_E_INVAL);
	bad = o;
	bad.max_field = 4097;
	assert_int_equal(ht_csv_parser_new(&bad, &p), HT_E_INVAL);
	bad = o;
	bad.max_columns = 8;
	assert_int_equal(ht_csv_parser_new(&bad, &p), HT_E_INVAL);
	bad = o;
	bad.max_columns = 257;
	assert_int_equal(ht_csv_parser_new(&bad, &p), HT_E_INVAL);
	ht_csv_parser_free(NULL);

	/* Smaller bounds apply: 9 columns, 128-byte fields. */
	o.max_columns = 9;
	o.max_field = 128;
	assert_int_equal(ht_csv_parser_new(&o, &p), HT_OK);
	struct coll c = {0};
	char csv[1024];
	char big[130];
	memset(big, 'q', 129);
	big[129] = '\0';
	snprintf(csv, sizeof(csv),
		 HEADER GOOD T "," C1 "," C2 ",,PEER-B,%s,,,\n" GOOD "x,x,x,x,x,x,x,x,x,x\n" GOOD,
		 big);
	assert_int_equal(ht_csv_feed(p, (const uint8_t *)csv, strlen(csv), collect, &c), HT_OK);
	assert_int_equal(ht_csv_finish(p, collect, &c), HT_OK);
	assert_int_equal(c.n, 5);
	expect_record(&c, 0, 2);
	expect_refused(&c, 1, 3, HT_CSV_FIELD_TOO_LONG, HT_CSV_COL_CUSTOMER_REF,
		       "longer than 128 bytes");
	expect_record(&c, 2, 4);
	expect_refused(&c, 3, 5, HT_CSV_EXTRA_FIELD, -1, "more than 9 fields");
	expect_record(&c, 4, 6);
	/* Feeding or finishing after the end is a caller error. */
	assert_int_equal(ht_csv_feed(p, (const uint8_t *)GOOD, 1, collect, &c), HT_E_INVAL);
	assert_int_equal(ht_csv_finish(p, collect, &c), HT_E_INVAL);
	ht_csv_parser_free(p);
	coll_free(&c);
}

/* A callback's non-zero return stops the parser, for good. */
static void test_callback_stops(void **state)
{
	(void)state;
	ht_csv_parser *p = new_parser("1");
	struct coll c = {.stop_at = 2};
	const char *csv = HEADER GOOD GOOD GOOD;
	assert_int_equal(ht_csv_feed(p, (const uint8_t *)csv, strlen(csv), collect, &c), 42);
	assert_int_equal(c.n, 2);
	assert_int_equal(ht_csv_feed(p, (const uint8_t *)GOOD, strlen(GOOD), collect, &c), 42);
	assert_int_equal(ht_csv_finish(p, collect, &c), 42);
	assert_int_equal(c.n, 2);
	ht_csv_parser_free(p);
	coll_free(&c);
	/* Also when the last row comes from finish. */
	p = new_parser("1");
	c = (struct coll){.stop_at = 1};
	csv = HEADER T "," C1 "," C2 ",PEER-A,PEER-B,,,,";
	assert_int_equal(ht_csv_feed(p, (const uint8_t *)csv, strlen(csv), collect, &c), HT_OK);
	assert_int_equal(ht_csv_finish(p, collect, &c), 42);
	ht_csv_parser_free(p);
	coll_free(&c);
}

/* The trunk map sees only non-empty names, and only for rows that get that far. */
static void test_trunk_map_calls(void **state)
{
	(void)state;
	struct coll c = {0};
	map_calls = 0;
	assert_int_equal(
		run(HEADER T "," C1 "," C2 ",,,,,,\n" T "," C1 "," C2 ",LONG,CUST,,,,\n", &c),
		HT_OK);
	assert_int_equal(map_calls, 2);
	assert_string_equal(c.v[1].cdr.upstream, "C2345678901234567890123456789012");
	assert_string_equal(c.v[1].cdr.downstream, "");
	coll_free(&c);
}

static void test_uuid_and_names(void **state)
{
	(void)state;
	uint8_t u[16];
	char s[37];
	assert_int_equal(ht_uuid_parse("8E2F3B52-7C1D-4A3E-9F00-0123456789AB", 36, u), HT_OK);
	ht_uuid_format(u, s);
	assert_string_equal(s, UU);
	assert_int_equal(ht_uuid_parse(UU, 35, u), HT_E_MALFORMED);
	assert_int_equal(ht_uuid_parse("8e2f3b52+7c1d-4a3e-9f00-0123456789ab", 36, u),
			 HT_E_MALFORMED);
	assert_int_equal(ht_uuid_parse("8e2f3b52-7c1d-4a3e-9f00-0123456789ag", 36, u),
			 HT_E_MALFORMED);
	assert_int_equal(ht_uuid_parse("{8e2f3b52-7c1d-4a3e-9f00-0123456789a}", 36, u),
			 HT_E_MALFORMED);
	for (int r = HT_CSV_OK; r <= HT_CSV_BAD_TEXT; r++)
		assert_string_not_equal(ht_csv_reason_name((ht_csv_reason)r), "unknown");
	assert_string_equal(ht_csv_reason_name((ht_csv_reason)99), "unknown");
	assert_string_equal(ht_csv_column_name(HT_CSV_COL_CALL_ID), "call_id");
	assert_string_equal(ht_csv_column_name(-1), "?");
	assert_string_equal(ht_csv_column_name(HT_CSV_NCOLS), "?");
}

/*
 * The parser's shortcuts give what the general rules give: a time in the
 * same minute as the row before, numbers in their usual forms, plain lines
 * (whole input) against the state machine alone (one byte at a time).
 */
static void test_shortcuts_agree(void **state)
{
	(void)state;
	static const char *const times[] = {
		"2026-11-29T05:23:00.000Z",
		"2026-11-29T05:23:59.999Z",
		"2026-11-29T05:23:60.000Z",
		"2026-11-29T05:23:07.5Z",
		"2026-11-29T05:23:07Z",
		"2026-11-29T05:23:07.123+01:00",
		"2026-11-29t05:23:07.123Z",
		"2026-11-29T05:23:7 .123Z",
		"2026-11-29T05:23:07.12xZ",
		"2026-11-29T05:23:07.123z",
		"2026-11-29T05:24:00.001Z",
		"2026-11-29T05:23:07.1234",
		"2026-02-29T05:23:07.123Z",
		"2024-02-29T23:59:59.999Z",
		"2024-02-29T23:59:09.009Z",
		"0000-01-01T00:00:01.000Z",
		"9999-12-31T23:59:59.999Z",
		"2026-11-29T05:23:0a.123Z",
		"1795929818000",
	};
	static const char *const numbers[] = {
		"+12025550143",
		"+02025550143",
		"+1202555014",
		"+123456",
		"+1234567",
		"+123456789012345",
		"+1234567890123456",
		"2025550143",
		"1025550143",
		"12025550143",
		"02025550143",
		"202555014",
		"+1 202 555 0143",
		"(202) 555-0143",
		"tel:+12025550143",
		"22025550143",
		"+",
		"12025550143 ",
	};
	const char *ccs[2] = {"1", NULL};
	size_t nt = sizeof(times) / sizeof(times[0]), nn = sizeof(numbers) / sizeof(numbers[0]);
	size_t cap = (nt + 1) * nn * 128 + sizeof(HEADER);
	char *csv = malloc(cap);
	assert_non_null(csv);
	size_t len = (size_t)snprintf(csv, cap, "%s", HEADER);
	/* Each time, then every number with it: most rows repeat the minute before. */
	for (size_t t = 0; t < nt; t++)
		for (size_t n = 0; n < nn; n++)
			len += (size_t)snprintf(csv + len, cap - len,
						"%s,%s,+12025550144,PEER-A,CUST,,,,%s", times[t],
						numbers[n], n % 2 ? "\r\n" : "\n");
	for (int k = 0; k < 2; k++) {
		struct coll whole = {0}, bytes = {0};
		ht_csv_options o = {.trunk_map = trunk_map, .default_cc = ccs[k]};
		ht_csv_parser *p;
		assert_int_equal(ht_csv_parser_new(&o, &p), HT_OK);
		assert_int_equal(ht_csv_feed(p, (const uint8_t *)csv, len, collect, &whole), HT_OK);
		assert_int_equal(ht_csv_finish(p, collect, &whole), HT_OK);
		ht_csv_parser_free(p);
		assert_int_equal(ht_csv_parser_new(&o, &p), HT_OK);
		for (size_t i = 0; i < len; i++)
			assert_int_equal(
				ht_csv_feed(p, (const uint8_t *)csv + i, 1, collect, &bytes),
				HT_OK);
		assert_int_equal(ht_csv_finish(p, collect, &bytes), HT_OK);
		ht_csv_parser_free(p);
		expect_same(&whole, &bytes);
		assert_int_equal(whole.n, nt * nn);
		for (size_t t = 0, row = 0; t < nt; t++) {
			uint64_t ms;
			bool time_ok =
				ht_time_parse_rfc3339(times[t], strlen(times[t]), &ms) == HT_OK;
			if (strcmp(times[t], "1795929818000") == 0) {
				time_ok = true;
				ms = 1795929818000ULL;
			}
			for (size_t n = 0; n < nn; n++, row++) {
				char want[HT_E164_BUF];
				bool num_ok = ht_e164_normalize(numbers[n], strlen(numbers[n]),
								ccs[k], want) == HT_OK;
				const struct got *g = &whole.v[row];
				assert_int_equal(g->line, row + 2);
				if (!time_ok) {
					assert_int_equal(g->reason, HT_CSV_BAD_TIME);
				} else if (!num_ok) {
					assert_int_equal(g->reason, HT_CSV_BAD_NUMBER);
				} else {
					if (!g->has_cdr)
						fail_msg("row %zu (%s, %s): %s", row, times[t],
							 numbers[n], g->msg);
					assert_int_equal(g->cdr.time_ms, ms);
					assert_string_equal(g->cdr.calling, want);
				}
			}
		}
		coll_free(&whole);
		coll_free(&bytes);
	}
	free(csv);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bad_rows),
		cmocka_unit_test(test_full_record),
		cmocka_unit_test(test_ends_of_the_path),
		cmocka_unit_test(test_times),
		cmocka_unit_test(test_crlf_and_quotes),
		cmocka_unit_test(test_quoted_newlines_count_lines),
		cmocka_unit_test(test_bom),
		cmocka_unit_test(test_header_variations),
		cmocka_unit_test(test_header_errors),
		cmocka_unit_test(test_header_error_is_sticky),
		cmocka_unit_test(test_chunking_equivalence),
		cmocka_unit_test(test_one_percent_bad),
		cmocka_unit_test(test_overlong_line_resyncs),
		cmocka_unit_test(test_unterminated_quote),
		cmocka_unit_test(test_blank_lines_and_last_row),
		cmocka_unit_test(test_default_country),
		cmocka_unit_test(test_options),
		cmocka_unit_test(test_callback_stops),
		cmocka_unit_test(test_trunk_map_calls),
		cmocka_unit_test(test_uuid_and_names),
		cmocka_unit_test(test_shortcuts_agree),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
