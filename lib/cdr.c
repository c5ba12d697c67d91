/*
 * The CSV call-record parser (docs/cdr-csv.md): a byte-at-a-time RFC 4180
 * state machine that keeps at most max_columns fields of max_field bytes,
 * then turns each complete row into an ht_cdr or a refusal. Plain lines
 * (no quote, CR or NUL but a final CRLF, the header's number of fields,
 * none too long) take a fast path that splits them at once: the state
 * machine would do the same to them, byte by byte.
 */
#include "hoptrace/cdr.h"

#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoptrace/timefmt.h"

#define MSG_MAX 256
/* Longest value quoted in a message, in input bytes. */
#define QUOTE_MAX 40

static const char *const colnames[HT_CSV_NCOLS] = {
	[HT_CSV_COL_TIME] = "time",
	[HT_CSV_COL_CALLING] = "calling",
	[HT_CSV_COL_CALLED] = "called",
	[HT_CSV_COL_IN_TRUNK] = "in_trunk",
	[HT_CSV_COL_OUT_TRUNK] = "out_trunk",
	[HT_CSV_COL_CUSTOMER_REF] = "customer_ref",
	[HT_CSV_COL_ATTESTATION] = "attestation",
	[HT_CSV_COL_ORIGID] = "origid",
	[HT_CSV_COL_CALL_ID] = "call_id",
};

/* The columns every header must name. */
#define NREQUIRED 5

static const char *const reasons[] = {
	[HT_CSV_OK] = "ok",
	[HT_CSV_BAD_HEADER] = "bad_header",
	[HT_CSV_MISSING_FIELD] = "missing_field",
	[HT_CSV_EXTRA_FIELD] = "extra_field",
	[HT_CSV_FIELD_TOO_LONG] = "field_too_long",
	[HT_CSV_NUL] = "nul_byte",
	[HT_CSV_BAD_QUOTE] = "bad_quote",
	[HT_CSV_UNTERMINATED_QUOTE] = "unterminated_quote",
	[HT_CSV_BARE_CR] = "bare_cr",
	[HT_CSV_BAD_TIME] = "bad_time",
	[HT_CSV_BAD_NUMBER] = "bad_number",
	[HT_CSV_UNKNOWN_TRUNK] = "unknown_trunk",
	[HT_CSV_BAD_ATTESTATION] = "bad_attestation",
	[HT_CSV_BAD_UUID] = "bad_uuid",
	[HT_CSV_BAD_TEXT] = "bad_text",
};

const char *ht_csv_column_name(int col)
{
	return col >= 0 && col < HT_CSV_NCOLS ? colnames[col] : "?";
}

const char *ht_csv_reason_name(ht_csv_reason r)
{
	return (unsigned)r < sizeof(reasons) / sizeof(reasons[0]) ? reasons[r] : "unknown";
}

enum state {
	ST_FIELD_START, /* at the start of a field */
	ST_UNQUOTED,    /* inside an unquoted field */
	ST_QUOTED,      /* inside a quoted field */
	ST_QUOTE,       /* a '"' inside a quoted field: a doubled quote or the closing one */
	ST_CR,          /* a '\r' outside quotes: a line feed must follow */
	ST_SKIP,        /* after a row error that loses the field structure: to the next '\n' */
};

struct ht_csv_parser {
	ht_csv_options opt;
	char *fields; /* max_columns slots of max_field + 1 bytes */
	size_t *flen; /* their lengths */
	int *colmap;  /* header position -> ht_csv_column */
	size_t ncols; /* columns in the header, once read */
	bool have_header;
	bool finished;
	int dead; /* non-zero: what every call returns from now on */

	uint8_t bom_got; /* bytes of a leading UTF-8 BOM seen so far */
	bool bom_done;

	enum state st, cr_prev;
	uint64_t line;     /* physical line of the next byte, 1-based */
	uint64_t row_line; /* the line the current row started on */
	uint64_t quote_line;
	bool after_lf; /* the last byte was a '\n' */
	bool row_data; /* the row has content: it is not a blank line */
	size_t nfields;
	size_t cur_len;

	ht_csv_reason err; /* the row's first fault */
	int err_col;
	char msg[MSG_MAX];

	ht_csv_stats stats;
	ht_cdr cdr;

	/* The last RFC 3339 time of the exact form YYYY-MM-DDTHH:MM:SS.mmmZ:
	 * its text up to the minute and that minute's epoch ms (times come in
	 * order, so most rows share it). */
	char tprefix[17];
	bool have_tprefix;
	uint64_t tprefix_ms;
};

int ht_csv_parser_new(const ht_csv_options *opt, ht_csv_parser **out)
{
	*out = NULL;
	if (!opt || !opt->trunk_map || !ht_e164_cc_valid(opt->default_cc))
		return HT_E_INVAL;
	ht_csv_options o = *opt;
	if (o.max_field == 0)
		o.max_field = HT_CSV_DEFAULT_MAX_FIELD;
	if (o.max_columns == 0)
		o.max_columns = HT_CSV_DEFAULT_MAX_COLUMNS;
	if (o.max_field < HT_CDR_CALL_ID_MAX || o.max_field > 4096 ||
	    o.max_columns < HT_CSV_NCOLS || o.max_columns > 256)
		return HT_E_INVAL;
	ht_csv_parser *p = calloc(1, sizeof(*p));
	if (!p)
		return HT_E_NOMEM;
	p->opt = o;
	p->fields = malloc(o.max_columns * (o.max_field + 1));
	p->flen = calloc(o.max_columns, sizeof(*p->flen));
	p->colmap = calloc(o.max_columns, sizeof(*p->colmap));
	if (!p->fields || !p->flen || !p->colmap) {
		ht_csv_parser_free(p);
		return HT_E_NOMEM;
	}
	p->st = ST_FIELD_START;
	p->line = 1;
	p->row_line = 1;
	*out = p;
	return HT_OK;
}

void ht_csv_parser_free(ht_csv_parser *p)
{
	if (!p)
		return;
	free(p->fields);
	free(p->flen);
	free(p->colmap);
	free(p);
}

void ht_csv_get_stats(const ht_csv_parser *p, ht_csv_stats *st)
{
	*st = p->stats;
}

static char *field(const ht_csv_parser *p, size_t i)
{
	return p->fields + i * (p->opt.max_field + 1);
}

/* The column of the field being read, or -1 (header row, or past the header's columns). */
static int cur_col(const ht_csv_parser *p)
{
	return p->have_header && p->nfields < p->ncols ? p->colmap[p->nfields] : -1;
}

/* "name: " for a column's messages, or "" when there is none. */
static const char *col_prefix(int col, char buf[32])
{
	if (col < 0)
		return "";
	snprintf(buf, 32, "%s: ", colnames[col]);
	return buf;
}

/* Writes `s` (len bytes) for a message: printable ASCII as is, other bytes as \xHH. */
static void quote_value(char *buf, size_t cap, const char *s, size_t len)
{
	size_t o = 0;
	buf[o++] = '\'';
	for (size_t i = 0; i < len && i < QUOTE_MAX && o + 5 < cap; i++) {
		unsigned char c = (unsigned char)s[i];
		if (c >= 0x20 && c < 0x7f && c != '\\' && c != '\'')
			buf[o++] = (char)c;
		else
			o += (size_t)snprintf(buf + o, cap - o, "\\x%02x", c);
	}
	if (len > QUOTE_MAX && o + 4 < cap) {
		memcpy(buf + o, "...", 3);
		o += 3;
	}
	buf[o++] = '\'';
	buf[o] = '\0';
}

/* Records the row's first fault; later ones are ignored. */
static void fault(ht_csv_parser *p, ht_csv_reason r, int col, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static void fault(ht_csv_parser *p, ht_csv_reason r, int col, const char *fmt, ...)
{
	p->row_data = true;
	if (p->err != HT_CSV_OK)
		return;
	p->err = r;
	p->err_col = col;
	char pre[32];
	int n = snprintf(p->msg, sizeof(p->msg), "%s", col_prefix(col, pre));
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->msg + n, sizeof(p->msg) - (size_t)n, fmt, ap);
	va_end(ap);
}

/* The line of the byte being read, or after the input, of the last one: where the row ends. */
static uint64_t last_line(const ht_csv_parser *p)
{
	return p->after_lf && p->line > p->row_line ? p->line - 1 : p->line;
}

static int emit(ht_csv_parser *p, ht_csv_row_fn on_row, void *ud, const ht_csv_row *row)
{
	int rc = on_row(ud, row);
	if (rc != 0)
		p->dead = rc;
	return rc;
}

/* Reports the row's fault: a refused data row, or the header's failure. */
static int emit_fault(ht_csv_parser *p, ht_csv_row_fn on_row, void *ud)
{
	ht_csv_row row = {.line = p->row_line,
			  .cdr = NULL,
			  .reason = p->err,
			  .column = p->err_col,
			  .message = p->msg,
			  .last_line = last_line(p)};
	if (!p->have_header) {
		static const char pre[] = "header: ";
		size_t n = strnlen(p->msg, MSG_MAX - sizeof(pre));
		memmove(p->msg + sizeof(pre) - 1, p->msg, n);
		memcpy(p->msg, pre, sizeof(pre) - 1);
		p->msg[sizeof(pre) - 1 + n] = '\0';
		row.reason = HT_CSV_BAD_HEADER;
		row.column = -1;
		int rc = emit(p, on_row, ud, &row);
		p->dead = rc ? rc : HT_E_MALFORMED;
		return p->dead;
	}
	p->stats.refused++;
	return emit(p, on_row, ud, &row);
}

/* Starts a new row on the line after the current one (the current byte is its '\n'). */
static void next_row(ht_csv_parser *p)
{
	p->st = ST_FIELD_START;
	p->nfields = 0;
	p->cur_len = 0;
	p->row_data = false;
	p->err = HT_CSV_OK;
	p->err_col = -1;
	p->msg[0] = '\0';
	p->row_line = p->line + 1;
}

/*
 * A fault after which the row's field structure is lost (an overlong field,
 * too many fields): the row is reported now and the rest of its line skipped.
 */
static int hard_fault(ht_csv_parser *p, ht_csv_row_fn on_row, void *ud)
{
	p->st = ST_SKIP;
	return emit_fault(p, on_row, ud);
}

static int end_field(ht_csv_parser *p, bool more, ht_csv_row_fn on_row, void *ud)
{
	p->flen[p->nfields] = p->cur_len;
	field(p, p->nfields)[p->cur_len] = '\0';
	p->nfields++;
	p->cur_len = 0;
	if (!more)
		return 0;
	if (p->nfields >= p->opt.max_columns) {
		fault(p, HT_CSV_EXTRA_FIELD, -1, "more than %zu fields", p->opt.max_columns);
		return hard_fault(p, on_row, ud);
	}
	if (p->have_header && p->nfields == p->ncols)
		fault(p, HT_CSV_EXTRA_FIELD, -1, "more fields than the header's %zu columns",
		      p->ncols);
	return 0;
}

static int add_byte(ht_csv_parser *p, uint8_t c, ht_csv_row_fn on_row, void *ud)
{
	p->row_data = true;
	if (c == 0) {
		fault(p, HT_CSV_NUL, cur_col(p), "NUL byte in field %zu", p->nfields + 1);
		return 0;
	}
	if (p->cur_len >= p->opt.max_field) {
		if (p->st == ST_QUOTED && p->quote_line != p->line)
			fault(p, HT_CSV_FIELD_TOO_LONG, cur_col(p),
			      "field %zu longer than %zu bytes (a quoted field from line %llu: "
			      "unterminated quote?)",
			      p->nfields + 1, p->opt.max_field, (unsigned long long)p->quote_line);
		else
			fault(p, HT_CSV_FIELD_TOO_LONG, cur_col(p),
			      "field %zu longer than %zu bytes", p->nfields + 1, p->opt.max_field);
		return hard_fault(p, on_row, ud);
	}
	field(p, p->nfields)[p->cur_len++] = (char)c;
	return 0;
}

/* ---- header and records ---- */

static bool name_is(const char *s, size_t len, const char *name)
{
	if (strlen(name) != len)
		return false;
	for (size_t i = 0; i < len; i++) {
		char c = s[i];
		if (c >= 'A' && c <= 'Z')
			c = (char)(c - 'A' + 'a');
		if (c != name[i])
			return false;
	}
	return true;
}

static void parse_header(ht_csv_parser *p)
{
	bool seen[HT_CSV_NCOLS] = {false};
	char q[QUOTE_MAX * 4 + 8];
	for (size_t i = 0; i < p->nfields; i++) {
		const char *f = field(p, i);
		int col = -1;
		for (int c = 0; c < HT_CSV_NCOLS; c++)
			if (name_is(f, p->flen[i], colnames[c]))
				col = c;
		quote_value(q, sizeof(q), f, p->flen[i]);
		if (col < 0) {
			fault(p, HT_CSV_BAD_HEADER, -1,
			      "unknown column %s in position %zu (the columns are time, calling, "
			      "called, in_trunk, out_trunk, customer_ref, attestation, origid, "
			      "call_id)",
			      q, i + 1);
			return;
		}
		if (seen[col]) {
			fault(p, HT_CSV_BAD_HEADER, -1, "column %s appears twice", q);
			return;
		}
		seen[col] = true;
		p->colmap[i] = col;
	}
	for (int c = 0; c < NREQUIRED; c++) {
		if (!seen[c]) {
			fault(p, HT_CSV_BAD_HEADER, -1,
			      "no '%s' column (required: time, calling, called, in_trunk, "
			      "out_trunk)",
			      colnames[c]);
			return;
		}
	}
	p->ncols = p->nfields;
	p->have_header = true;
}

static bool digit(char c)
{
	return c >= '0' && c <= '9';
}

static bool parse_time(ht_csv_parser *p, const char *f, size_t len, uint64_t *ms)
{
	char q[QUOTE_MAX * 4 + 8];
	if (len == 0) {
		fault(p, HT_CSV_BAD_TIME, HT_CSV_COL_TIME, "empty");
		return false;
	}
	if (strspn(f, "0123456789") == len) {
		if (len != 13 || f[0] == '0') {
			fault(p, HT_CSV_BAD_TIME, HT_CSV_COL_TIME,
			      "%zu digits: epoch milliseconds have 13 digits, the first not 0%s",
			      len, len == 10 ? " (seconds? multiply by 1000)" : "");
			return false;
		}
		uint64_t v = 0;
		for (size_t i = 0; i < len; i++)
			v = v * 10 + (uint64_t)(f[i] - '0');
		*ms = v;
		return true;
	}
	/* The same minute as the last time: only the seconds and milliseconds
	 * are new. ht_time_parse_rfc3339 accepted the minute, and SS.mmm below
	 * 60 s gives the value it would. */
	bool exact = len == 24 && f[19] == '.' && f[23] == 'Z' && f[17] >= '0' && f[17] <= '5' &&
		     digit(f[18]) && digit(f[20]) && digit(f[21]) && digit(f[22]);
	if (exact && p->have_tprefix && memcmp(f, p->tprefix, sizeof(p->tprefix)) == 0) {
		*ms = p->tprefix_ms + (uint64_t)((f[17] - '0') * 10 + (f[18] - '0')) * 1000 +
		      (uint64_t)((f[20] - '0') * 100 + (f[21] - '0') * 10 + (f[22] - '0'));
		return true;
	}
	if (ht_time_parse_rfc3339(f, len, ms) != HT_OK) {
		quote_value(q, sizeof(q), f, len);
		fault(p, HT_CSV_BAD_TIME, HT_CSV_COL_TIME,
		      "%s is neither RFC 3339 with Z or an offset nor epoch milliseconds", q);
		return false;
	}
	if (exact) {
		memcpy(p->tprefix, f, sizeof(p->tprefix));
		p->tprefix_ms = *ms - (*ms % 60000);
		p->have_tprefix = true;
	}
	return true;
}

/* True when f[0..n) are all digits. */
static bool all_digits(const char *f, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (!digit(f[i]))
			return false;
	return true;
}

static bool parse_number(ht_csv_parser *p, int col, const char *f, size_t len, char out[16])
{
	/* The common forms, which ht_e164_normalize_why passes through as they
	 * are (+ and 7-15 digits, no leading 0; with NANP as the default
	 * country, 1 and 10 digits) or with a 1 in front (10 digits, the first
	 * 2-9). Anything else takes the full rule. */
	bool nanp = p->opt.default_cc && p->opt.default_cc[0];
	if (len >= 8 && len <= 16 && f[0] == '+' && f[1] != '0' && all_digits(f + 1, len - 1)) {
		memcpy(out, f + 1, len - 1);
		out[len - 1] = '\0';
		return true;
	}
	if (nanp && len == 11 && f[0] == '1' && all_digits(f, len)) {
		memcpy(out, f, len);
		out[len] = '\0';
		return true;
	}
	if (nanp && len == 10 && f[0] >= '2' && f[0] <= '9' && all_digits(f, len)) {
		out[0] = '1';
		memcpy(out + 1, f, len);
		out[len + 1] = '\0';
		return true;
	}
	ht_e164_reason why;
	if (ht_e164_normalize_why(f, len, p->opt.default_cc, out, &why) != HT_OK) {
		/* Numbers are not quoted: import messages end up in logs. */
		fault(p, HT_CSV_BAD_NUMBER, col, "not a phone number (%s): %s",
		      ht_e164_reason_name(why), ht_e164_reason_text(why));
		return false;
	}
	return true;
}

static bool parse_trunk(ht_csv_parser *p, int col, const char *f, size_t len,
			char out[HT_PROVIDER_ID_MAX + 1])
{
	char q[QUOTE_MAX * 4 + 8];
	char prov[HT_PROVIDER_ID_MAX + 1];
	out[0] = '\0';
	if (len == 0)
		return true;
	memset(prov, 0, sizeof(prov));
	ht_trunk_kind k = p->opt.trunk_map(p->opt.trunk_ud, f, len, prov);
	if (k == HT_TRUNK_LOCAL)
		return true;
	if (k != HT_TRUNK_PEER) {
		quote_value(q, sizeof(q), f, len);
		fault(p, HT_CSV_UNKNOWN_TRUNK, col, "unknown trunk group %s", q);
		return false;
	}
	size_t n = strnlen(prov, sizeof(prov));
	if (n == sizeof(prov) || !ht_provider_id_valid(prov, n)) {
		quote_value(q, sizeof(q), f, len);
		fault(p, HT_CSV_UNKNOWN_TRUNK, col,
		      "the trunk map gives an invalid provider ID for trunk group %s", q);
		return false;
	}
	memcpy(out, prov, n + 1);
	return true;
}

/* Bytes allowed in customer_ref (no control characters) and call_id (also no spaces). */
static bool text_ok(const char *f, size_t len, bool allow_space)
{
	for (size_t i = 0; i < len; i++) {
		unsigned char c = (unsigned char)f[i];
		if (c < 0x20 || c == 0x7f || (c == ' ' && !allow_space))
			return false;
		if (!allow_space && c > 0x7e)
			return false;
	}
	return true;
}

static bool parse_field(ht_csv_parser *p, int col, const char *f, size_t len, ht_cdr *r)
{
	char q[QUOTE_MAX * 4 + 8];
	switch (col) {
	case HT_CSV_COL_TIME:
		return parse_time(p, f, len, &r->time_ms);
	case HT_CSV_COL_CALLING:
		return parse_number(p, col, f, len, r->calling);
	case HT_CSV_COL_CALLED:
		return parse_number(p, col, f, len, r->called);
	case HT_CSV_COL_IN_TRUNK:
		return parse_trunk(p, col, f, len, r->upstream);
	case HT_CSV_COL_OUT_TRUNK:
		return parse_trunk(p, col, f, len, r->downstream);
	case HT_CSV_COL_CUSTOMER_REF:
		if (len > HT_CDR_CUSTOMER_REF_MAX) {
			fault(p, HT_CSV_FIELD_TOO_LONG, col, "%zu bytes, more than %d", len,
			      HT_CDR_CUSTOMER_REF_MAX);
			return false;
		}
		if (!text_ok(f, len, true)) {
			fault(p, HT_CSV_BAD_TEXT, col, "a control character");
			return false;
		}
		memcpy(r->customer_ref, f, len + 1);
		return true;
	case HT_CSV_COL_ATTESTATION:
		if (len == 0)
			return true;
		if (len == 1 && ((f[0] >= 'A' && f[0] <= 'C') || (f[0] >= 'a' && f[0] <= 'c'))) {
			r->attestation = (char)(f[0] & ~0x20);
			return true;
		}
		quote_value(q, sizeof(q), f, len);
		fault(p, HT_CSV_BAD_ATTESTATION, col, "%s is not A, B, C or empty", q);
		return false;
	case HT_CSV_COL_ORIGID:
		if (len == 0)
			return true;
		if (ht_uuid_parse(f, len, r->origid) != HT_OK) {
			quote_value(q, sizeof(q), f, len);
			fault(p, HT_CSV_BAD_UUID, col, "%s is not a UUID (8-4-4-4-12 hex digits)",
			      q);
			return false;
		}
		r->has_origid = true;
		return true;
	case HT_CSV_COL_CALL_ID:
		if (len > HT_CDR_CALL_ID_MAX) {
			fault(p, HT_CSV_FIELD_TOO_LONG, col, "%zu bytes, more than %d", len,
			      HT_CDR_CALL_ID_MAX);
			return false;
		}
		if (!text_ok(f, len, false)) {
			fault(p, HT_CSV_BAD_TEXT, col,
			      "a space, control character or non-ASCII byte (a SIP Call-ID has "
			      "none)");
			return false;
		}
		memcpy(r->call_id, f, len + 1);
		return true;
	default:
		fault(p, HT_CSV_BAD_HEADER, -1, "internal: no such column");
		return false;
	}
}

static int emit_record(ht_csv_parser *p, ht_csv_row_fn on_row, void *ud)
{
	if (p->nfields < p->ncols) {
		fault(p, HT_CSV_MISSING_FIELD, p->colmap[p->nfields],
		      "missing: %zu fields, the header has %zu", p->nfields, p->ncols);
		return emit_fault(p, on_row, ud);
	}
	ht_cdr *r = &p->cdr;
	memset(r, 0, sizeof(*r));
	for (size_t i = 0; i < p->ncols; i++)
		if (!parse_field(p, p->colmap[i], field(p, i), p->flen[i], r))
			return emit_fault(p, on_row, ud);
	/* A customer is only named for calls that start here (docs/cdr-csv.md). */
	if (r->upstream[0] != '\0')
		r->customer_ref[0] = '\0';
	ht_csv_row row = {.line = p->row_line,
			  .cdr = r,
			  .reason = HT_CSV_OK,
			  .column = -1,
			  .message = "",
			  .last_line = last_line(p)};
	p->stats.records++;
	return emit(p, on_row, ud, &row);
}

/* The row ends (at its '\n', or at the end of the input). */
static int end_row(ht_csv_parser *p, ht_csv_row_fn on_row, void *ud)
{
	if (p->err == HT_CSV_OK && !p->have_header) {
		parse_header(p);
		if (p->have_header)
			return 0;
	}
	if (p->err != HT_CSV_OK)
		return emit_fault(p, on_row, ud);
	return emit_record(p, on_row, ud);
}

/* A '\n' outside quotes (or after a row's CR): the row or a blank line ends. */
static int line_end(ht_csv_parser *p, ht_csv_row_fn on_row, void *ud)
{
	int rc = 0;
	if (!p->row_data && p->nfields == 0) {
		p->stats.blank_lines++;
	} else {
		if ((rc = end_field(p, false, on_row, ud)) == 0)
			rc = end_row(p, on_row, ud);
	}
	next_row(p);
	return rc;
}

static int step(ht_csv_parser *p, uint8_t c, ht_csv_row_fn on_row, void *ud)
{
	int rc = 0;
	p->after_lf = false; /* this byte is on p->line */
again:
	switch (p->st) {
	case ST_SKIP:
		if (c == '\n')
			next_row(p);
		break;
	case ST_CR:
		p->st = p->cr_prev;
		if (c != '\n')
			fault(p, HT_CSV_BARE_CR, cur_col(p),
			      "carriage return not followed by a line feed in field %zu",
			      p->nfields + 1);
		goto again;
	case ST_FIELD_START:
		if (c == '"') {
			p->row_data = true;
			p->quote_line = p->line;
			p->st = ST_QUOTED;
		} else if (c == ',') {
			p->row_data = true;
			rc = end_field(p, true, on_row, ud);
		} else if (c == '\n') {
			rc = line_end(p, on_row, ud);
		} else if (c == '\r') {
			p->cr_prev = ST_FIELD_START;
			p->st = ST_CR;
		} else {
			p->st = ST_UNQUOTED;
			rc = add_byte(p, c, on_row, ud);
		}
		break;
	case ST_UNQUOTED:
		if (c == ',') {
			p->st = ST_FIELD_START;
			rc = end_field(p, true, on_row, ud);
		} else if (c == '\n') {
			rc = line_end(p, on_row, ud);
		} else if (c == '\r') {
			p->cr_prev = ST_UNQUOTED;
			p->st = ST_CR;
		} else {
			if (c == '"')
				fault(p, HT_CSV_BAD_QUOTE, cur_col(p),
				      "'\"' inside unquoted field %zu (quote the whole field and "
				      "double the quote)",
				      p->nfields + 1);
			rc = add_byte(p, c, on_row, ud);
		}
		break;
	case ST_QUOTED:
		if (c == '"') {
			p->st = ST_QUOTE;
		} else {
			rc = add_byte(p, c, on_row, ud);
			if (rc == 0 && p->st == ST_SKIP && c == '\n')
				next_row(p); /* the skipped line was this one */
		}
		break;
	case ST_QUOTE:
		if (c == '"') {
			p->st = ST_QUOTED;
			rc = add_byte(p, c, on_row, ud);
		} else if (c == ',') {
			p->st = ST_FIELD_START;
			rc = end_field(p, true, on_row, ud);
		} else if (c == '\n') {
			rc = line_end(p, on_row, ud);
		} else if (c == '\r') {
			p->cr_prev = ST_QUOTE;
			p->st = ST_CR;
		} else {
			fault(p, HT_CSV_BAD_QUOTE, cur_col(p),
			      "text after the closing quote of field %zu", p->nfields + 1);
			p->st = ST_UNQUOTED;
			rc = add_byte(p, c, on_row, ud);
		}
		break;
	}
	if (c == '\n') {
		p->line++;
		p->stats.lines++;
	}
	p->after_lf = c == '\n';
	return rc;
}

static const uint8_t bom[3] = {0xef, 0xbb, 0xbf};

/* Passes on the start of a BOM that turned out not to be one. */
static int flush_bom(ht_csv_parser *p, ht_csv_row_fn on_row, void *ud)
{
	p->bom_done = true;
	for (uint8_t i = 0; i < p->bom_got; i++) {
		int rc = step(p, bom[i], on_row, ud);
		if (rc)
			return rc;
	}
	return 0;
}

/*
 * At the start of a data row: if the line in s[0..avail) is complete and
 * plain (no quote, NUL or CR but a final CR of CRLF, exactly the header's
 * number of fields, none longer than max_field), splits and reports it as
 * the state machine would, and returns the bytes it took (line end
 * included; *rc is the row callback's result). Otherwise returns 0 and the
 * state machine reads the line. memchr does the scanning.
 */
static size_t fast_line(ht_csv_parser *p, const uint8_t *s, size_t avail, ht_csv_row_fn on_row,
			void *ud, int *rc)
{
	const uint8_t *nl = memchr(s, '\n', avail);
	if (!nl)
		return 0;
	size_t used = (size_t)(nl - s) + 1, len = used - 1;
	if (len && s[len - 1] == '\r')
		len--; /* CRLF: the CR is part of the line end */
	if (len == 0)
		return 0; /* a blank line */
	if (memchr(s, '"', len) || memchr(s, '\0', len) || memchr(s, '\r', len))
		return 0;
	size_t nf = 0, f0 = 0, maxf = p->opt.max_field;
	for (;;) {
		const uint8_t *c = memchr(s + f0, ',', len - f0);
		if (!c)
			break;
		size_t i = (size_t)(c - s);
		if (nf + 1 >= p->ncols || i - f0 > maxf)
			return 0;
		char *f = field(p, nf);
		memcpy(f, s + f0, i - f0);
		f[i - f0] = '\0';
		p->flen[nf++] = i - f0;
		f0 = i + 1;
	}
	if (nf + 1 != p->ncols || len - f0 > maxf)
		return 0;
	char *f = field(p, nf);
	memcpy(f, s + f0, len - f0);
	f[len - f0] = '\0';
	p->flen[nf++] = len - f0;
	/* What the state machine leaves at the '\n' of a row. */
	p->stats.bytes += used;
	p->nfields = nf;
	p->cur_len = 0;
	p->row_data = true;
	p->after_lf = false;
	*rc = end_row(p, on_row, ud);
	next_row(p);
	p->line++;
	p->stats.lines++;
	p->after_lf = true;
	return used;
}

int ht_csv_feed(ht_csv_parser *p, const uint8_t *data, size_t len, ht_csv_row_fn on_row, void *ud)
{
	if (p->dead)
		return p->dead;
	if (p->finished)
		return HT_E_INVAL;
	for (size_t i = 0; i < len; i++) {
		if (p->have_header && p->st == ST_FIELD_START && p->nfields == 0 && !p->row_data &&
		    p->bom_done) {
			int rc = 0;
			size_t used = fast_line(p, data + i, len - i, on_row, ud, &rc);
			if (rc)
				return rc;
			if (used) {
				i += used - 1;
				continue;
			}
		}
		uint8_t c = data[i];
		p->stats.bytes++;
		if (!p->bom_done) {
			if (c == bom[p->bom_got]) {
				if (++p->bom_got == sizeof(bom)) {
					p->bom_done = true;
					p->bom_got = 0;
				}
				continue;
			}
			int rc = flush_bom(p, on_row, ud);
			if (rc)
				return rc;
		}
		int rc = step(p, c, on_row, ud);
		if (rc)
			return rc;
	}
	return HT_OK;
}

int ht_csv_finish(ht_csv_parser *p, ht_csv_row_fn on_row, void *ud)
{
	if (p->dead)
		return p->dead;
	if (p->finished)
		return HT_E_INVAL;
	p->finished = true;
	int rc = 0;
	if (!p->bom_done && (rc = flush_bom(p, on_row, ud)) != 0)
		return rc;
	switch (p->st) {
	case ST_SKIP:
		break;
	case ST_QUOTED:
		fault(p, HT_CSV_UNTERMINATED_QUOTE, cur_col(p),
		      "the quoted field %zu opened on line %llu is not closed at the end of the "
		      "input: lines %llu-%llu are refused",
		      p->nfields + 1, (unsigned long long)p->quote_line,
		      (unsigned long long)p->row_line, (unsigned long long)last_line(p));
		rc = emit_fault(p, on_row, ud);
		break;
	case ST_CR:
		p->st = p->cr_prev;
		fault(p, HT_CSV_BARE_CR, cur_col(p),
		      "carriage return not followed by a line feed in field %zu", p->nfields + 1);
		/* fall through */
	default:
		if (p->row_data || p->nfields > 0)
			if ((rc = end_field(p, false, on_row, ud)) == 0)
				rc = end_row(p, on_row, ud);
		break;
	}
	if (rc)
		return rc;
	if (!p->have_header) {
		snprintf(p->msg, sizeof(p->msg), "no header row (the input is empty)");
		p->err = HT_CSV_BAD_HEADER;
		p->err_col = -1;
		p->row_line = p->line;
		return emit_fault(p, on_row, ud);
	}
	return HT_OK;
}

static int hexval(char c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

int ht_uuid_parse(const char *s, size_t len, uint8_t out[16])
{
	if (len != 36)
		return HT_E_MALFORMED;
	uint8_t b[16];
	size_t o = 0;
	for (size_t i = 0; i < 36;) {
		if (i == 8 || i == 13 || i == 18 || i == 23) {
			if (s[i] != '-')
				return HT_E_MALFORMED;
			i++;
			continue;
		}
		int hi = hexval(s[i]), lo = hexval(s[i + 1]);
		if (hi < 0 || lo < 0)
			return HT_E_MALFORMED;
		b[o++] = (uint8_t)(hi << 4 | lo);
		i += 2;
	}
	memcpy(out, b, 16);
	return HT_OK;
}

void ht_uuid_format(const uint8_t in[16], char out[37])
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;
	for (size_t i = 0; i < 16; i++) {
		if (i == 4 || i == 6 || i == 8 || i == 10)
			out[o++] = '-';
		out[o++] = hex[in[i] >> 4];
		out[o++] = hex[in[i] & 15];
	}
	out[o] = '\0';
}
