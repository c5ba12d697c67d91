/*
 * Call records (CDRs) and the CSV import parser (docs/cdr-csv.md). The
 * parser is pure: bytes in, records and per-row errors out through a
 * callback, no file I/O, bounded memory whatever the input. The daemon's
 * store (daemon/store.c) keeps the records.
 */
#ifndef HOPTRACE_CDR_H
#define HOPTRACE_CDR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/cert.h"
#include "hoptrace/e164.h"
#include "hoptrace/err.h"

#define HT_CDR_CUSTOMER_REF_MAX 64
#define HT_CDR_CALL_ID_MAX      128

/* One call as this carrier saw it. Strings are NUL-terminated. */
typedef struct ht_cdr {
	uint64_t time_ms;                               /* call time, ms since the epoch, UTC */
	char calling[16], called[16];                   /* E.164 digits (spec/numbers.md) */
	char upstream[HT_PROVIDER_ID_MAX + 1];          /* peer, or "" = originated here */
	char downstream[HT_PROVIDER_ID_MAX + 1];        /* peer, or "" = terminated here */
	char customer_ref[HT_CDR_CUSTOMER_REF_MAX + 1]; /* set when originated here; may be "" */
	char attestation;                               /* 'A', 'B', 'C' or 0 */
	bool has_origid;
	uint8_t origid[16];
	char call_id[HT_CDR_CALL_ID_MAX + 1]; /* may be "" */
} ht_cdr;

/* The columns of the CSV format, in the order docs/cdr-csv.md lists them. */
typedef enum ht_csv_column {
	HT_CSV_COL_TIME = 0,
	HT_CSV_COL_CALLING,
	HT_CSV_COL_CALLED,
	HT_CSV_COL_IN_TRUNK,
	HT_CSV_COL_OUT_TRUNK,
	HT_CSV_COL_CUSTOMER_REF,
	HT_CSV_COL_ATTESTATION,
	HT_CSV_COL_ORIGID,
	HT_CSV_COL_CALL_ID,
	HT_CSV_NCOLS
} ht_csv_column;

/* The column's header name ("time"...), or "?" for a number out of range. */
const char *ht_csv_column_name(int col);

/* Why a row was refused. Every refused row has exactly one reason: its first fault. */
typedef enum ht_csv_reason {
	HT_CSV_OK = 0,
	HT_CSV_BAD_HEADER,         /* the header row is unusable; the import stops */
	HT_CSV_MISSING_FIELD,      /* fewer fields than the header has columns */
	HT_CSV_EXTRA_FIELD,        /* more fields than the header has columns */
	HT_CSV_FIELD_TOO_LONG,     /* a field over the parser's or the column's bound */
	HT_CSV_NUL,                /* a NUL byte */
	HT_CSV_BAD_QUOTE,          /* '"' inside an unquoted field, or text after a closing '"' */
	HT_CSV_UNTERMINATED_QUOTE, /* the input ends inside a quoted field */
	HT_CSV_BARE_CR,            /* a carriage return not followed by a line feed */
	HT_CSV_BAD_TIME,           /* not RFC 3339 nor 13-digit epoch milliseconds */
	HT_CSV_BAD_NUMBER,         /* calling or called does not normalise */
	HT_CSV_UNKNOWN_TRUNK,      /* a trunk group the trunk map does not know */
	HT_CSV_BAD_ATTESTATION,    /* not A, B, C or empty */
	HT_CSV_BAD_UUID,           /* origid is not a UUID */
	HT_CSV_BAD_TEXT, /* a control character (customer_ref, call_id) or a space (call_id) */
} ht_csv_reason;

/* A short stable token for `r` ("bad_time"...), for logs and JSON. */
const char *ht_csv_reason_name(ht_csv_reason r);

/* What a trunk group is, as the trunk map says. */
typedef enum ht_trunk_kind {
	HT_TRUNK_UNKNOWN = 0, /* not in the map: the row is refused */
	HT_TRUNK_PEER,        /* a trunk to another carrier, whose provider ID is filled in */
	HT_TRUNK_LOCAL,       /* this carrier's own customers: originated/terminated here */
} ht_trunk_kind;

/*
 * The caller's trunk map: says what the trunk group `name` (`len` bytes, also
 * NUL-terminated; never empty) is. For HT_TRUNK_PEER it writes the carrier's
 * provider ID, NUL-terminated, into `provider`. HT_TRUNK_LOCAL must be used
 * only for trunks that face this carrier's own customers: a call in on such a
 * trunk is "originated here", and a traceback answer then names a customer.
 */
typedef ht_trunk_kind (*ht_csv_trunk_fn)(void *ud, const char *name, size_t len,
					 char provider[HT_PROVIDER_ID_MAX + 1]);

#define HT_CSV_DEFAULT_MAX_FIELD   256
#define HT_CSV_DEFAULT_MAX_COLUMNS 32

typedef struct ht_csv_options {
	ht_csv_trunk_fn trunk_map; /* required */
	void *trunk_ud;            /* passed to trunk_map */
	const char *default_cc;    /* for national numbers: "1", or NULL/"" (none) */
	size_t max_field;          /* bytes per field; 0 = 256; 128 to 4096 */
	size_t max_columns;        /* fields per row; 0 = 32; 9 to 256 */
} ht_csv_options;

/* One data row's outcome, or the header's failure. Valid during the callback only. */
typedef struct ht_csv_row {
	uint64_t line;        /* the physical line (1-based) on which the row starts */
	const ht_cdr *cdr;    /* the record, or NULL when the row is refused */
	ht_csv_reason reason; /* HT_CSV_OK with a record */
	int column;           /* the ht_csv_column at fault, or -1 */
	const char *message;  /* for people, naming the column; "" with a record */
	uint64_t last_line;   /* the physical line on which it ends (> line: quoted line ends) */
} ht_csv_row;

/*
 * Called once per data row, in input order, with a record or a refusal, and
 * once with HT_CSV_BAD_HEADER if the header is unusable. Returning non-zero
 * stops the parser: ht_csv_feed or ht_csv_finish returns that value.
 */
typedef int (*ht_csv_row_fn)(void *ud, const ht_csv_row *row);

typedef struct ht_csv_parser ht_csv_parser;

/*
 * Creates a parser for one CSV stream with `opt` (copied; default_cc must
 * outlive the parser). HT_E_INVAL for a missing trunk map, an unsupported
 * default country code (ht_e164_cc_valid) or bounds out of range.
 */
int ht_csv_parser_new(const ht_csv_options *opt, ht_csv_parser **out) HT_WUR;

/* Frees the parser. NULL is allowed. */
void ht_csv_parser_free(ht_csv_parser *p);

/*
 * Parses the next `len` bytes of the stream, in chunks of any size, calling
 * `on_row` for each row that ends in them. Returns HT_OK; HT_E_MALFORMED once
 * the header has been refused (and from then on); or the callback's non-zero
 * value, after which the parser only returns that value again.
 */
int ht_csv_feed(ht_csv_parser *p, const uint8_t *data, size_t len, ht_csv_row_fn on_row,
		void *ud) HT_WUR;

/*
 * Ends the stream: reports the last row if it has no line end, or an
 * unterminated quote. HT_E_MALFORMED if the header was refused or there was
 * no header at all (reported to `on_row` as HT_CSV_BAD_HEADER). Feeding after
 * finishing is HT_E_INVAL.
 */
int ht_csv_finish(ht_csv_parser *p, ht_csv_row_fn on_row, void *ud) HT_WUR;

typedef struct ht_csv_stats {
	uint64_t bytes;       /* fed so far */
	uint64_t lines;       /* line feeds so far */
	uint64_t records;     /* rows reported with a record */
	uint64_t refused;     /* data rows reported as refused */
	uint64_t blank_lines; /* empty lines skipped (no row, no report) */
} ht_csv_stats;

/* Counters so far, for progress and summaries. */
void ht_csv_get_stats(const ht_csv_parser *p, ht_csv_stats *st);

/*
 * Parses an origid: a UUID as 8-4-4-4-12 hex digits (either case) into 16
 * bytes in the order written. HT_E_MALFORMED otherwise.
 */
int ht_uuid_parse(const char *s, size_t len, uint8_t out[16]) HT_WUR;

/* Formats 16 bytes as a lowercase 8-4-4-4-12 UUID and a NUL. */
void ht_uuid_format(const uint8_t in[16], char out[37]);

#endif
