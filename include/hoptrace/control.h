/*
 * The control protocol between hoptraced and local tools such as the
 * hoptrace CLI (spec/control.md): length-prefixed frames on a Unix stream
 * socket, each one ControlRequest or ControlResponse. This module is shared
 * by the daemon and the CLI so that the two cannot disagree. It does no I/O:
 * bytes in, plain C structs out, and the reverse. No generated protobuf type
 * appears here.
 */
#ifndef HOPTRACE_CONTROL_H
#define HOPTRACE_CONTROL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/cdr.h"
#include "hoptrace/cert.h"
#include "hoptrace/err.h"

/* The control protocol version this code speaks (not the software version). */
#define HT_CTL_VERSION 1

/* Octets of the big-endian length in front of every frame body. */
#define HT_CTL_PREFIX_LEN 4
/* Largest frame body, in octets; a larger length prefix is refused. */
#define HT_CTL_MAX_FRAME (1024u * 1024u)
/* Most peers in one PeersResponse; any such response fits HT_CTL_MAX_FRAME. */
#define HT_CTL_MAX_PEERS 2048

/* Longest text fields, in octets (without the terminating NUL). */
#define HT_CTL_DAEMON_VERSION_MAX 63
#define HT_CTL_ADDRESS_MAX        63
#define HT_CTL_STATE_MAX          15
#define HT_CTL_DETAIL_MAX         255 /* also PeerInfo.last_error */
#define HT_CTL_NUMBER_MAX         32  /* CdrLookupRequest numbers, as typed */
#define HT_CTL_REASON_MAX         31  /* RowError.reason, a token ("bad_time") */
#define HT_CTL_ROW_MESSAGE_MAX    255 /* RowError.message */
#define HT_CTL_AUDIT_STATUS_MAX   47  /* AuditEntry.status ("dead_end:...") */
#define HT_CTL_DISCLOSED_MAX      255 /* AuditEntry.disclosed */
#define HT_CTL_LABEL_MAX          128 /* a trace's label */
#define HT_CTL_TRACE_STATUS_MAX   15  /* "running", "timed_out"... */
#define HT_CTL_ANSWER_STATUS_MAX  15  /* TraceHop.status: "found"... */
#define HT_CTL_VERDICT_MAX        31  /* TraceHop.verdict: "ok", "bad_signature"... */
#define HT_CTL_CUSTOMER_REF_MAX   64  /* TraceHopCall.customer_ref */

/* Octets of a trace ID (AuditEntry, AuditRequest) and of an origid. */
#define HT_CTL_TRACE_ID_LEN 16
#define HT_CTL_ORIGID_LEN   16

/* Most CSV octets in one CdrImportChunk. */
#define HT_CTL_IMPORT_CHUNK_MAX (256u * 1024u)
/* Most entries in one list of a response; more is refused both ways. */
#define HT_CTL_MAX_ROW_ERRORS     4096  /* CdrImportProgress.errors */
#define HT_CTL_MAX_STATS_PEERS    16384 /* CdrStatsResponse.peers */
#define HT_CTL_LOOKUP_MAX         1000  /* CdrLookupResponse.records */
#define HT_CTL_AUDIT_MAX          10000 /* AuditRequest.limit, AuditResponse.entries */
#define HT_CTL_AUDIT_DEFAULT      1000  /* AuditRequest.limit 0 */
#define HT_CTL_HOP_CALLS_MAX      16    /* TraceHop.calls */
#define HT_CTL_TRACE_ANSWERS_MAX  1024  /* answers a trace keeps; TraceShowResponse.answers */
#define HT_CTL_TRACE_LIST_MAX     1000  /* TraceListRequest.limit, TraceListResponse.traces */
#define HT_CTL_TRACE_LIST_DEFAULT 100   /* TraceListRequest.limit 0 */

/* TraceStartRequest.tolerance_ms: at most this (spec/protocol.md, section 11). */
#define HT_CTL_TOLERANCE_MAX_MS 300000u
/* Largest evidence bundle, and the most of it one TraceExportResponse carries. */
#define HT_CTL_EXPORT_MAX       (4u << 20)
#define HT_CTL_EXPORT_CHUNK_MAX (512u * 1024u)
#define HT_CTL_DIGEST_LEN       32 /* TraceExportResponse.digest: BLAKE2b-256 */

/* The trace states a version-1 server reports (TraceShowResponse.status). */
#define HT_CTL_TRACE_RUNNING     "running"
#define HT_CTL_TRACE_COMPLETE    "complete"
#define HT_CTL_TRACE_TIMED_OUT   "timed_out"
#define HT_CTL_TRACE_INTERRUPTED "interrupted"
#define HT_CTL_TRACE_FAILED      "failed"

/* Where the socket is unless configured otherwise, and its mode. */
#define HT_CTL_SOCKET_DEFAULT "/run/hoptrace/hoptraced.sock"
#define HT_CTL_SOCKET_ENV     "HOPTRACE_SOCKET"
#define HT_CTL_SOCKET_MODE    0660

/* The peer states a version-1 server reports (PeerInfo.state). */
#define HT_CTL_STATE_IDLE        "idle"
#define HT_CTL_STATE_CONNECTING  "connecting"
#define HT_CTL_STATE_HANDSHAKING "handshaking"
#define HT_CTL_STATE_ESTABLISHED "established"
#define HT_CTL_STATE_BACKOFF     "backoff"

/* Commands; each value is the command's field number in the oneofs. */
typedef enum ht_ctl_type {
	HT_CTL_NONE = 0, /* no command, or one this version does not know */
	HT_CTL_HELLO = 8,
	HT_CTL_STATUS = 9,
	HT_CTL_PEERS = 10,
	HT_CTL_CDR_IMPORT = 11, /* streamed: one request per chunk */
	HT_CTL_CDR_STATS = 12,
	HT_CTL_CDR_LOOKUP = 13,
	HT_CTL_AUDIT = 14,
	HT_CTL_TRACE_START = 15,
	HT_CTL_TRACE_SHOW = 16,
	HT_CTL_TRACE_LIST = 17,
	HT_CTL_TRACE_EXPORT = 18, /* in pieces: one request per piece */
} ht_ctl_type;

/* ControlResult codes (spec/control.md, section 7). Numbers are the wire's. */
typedef enum ht_ctl_result {
	HT_CTL_RESULT_OK = 0,
	HT_CTL_RESULT_ERROR = 1,
	HT_CTL_RESULT_UNSUPPORTED_VERSION = 2,
	HT_CTL_RESULT_UNKNOWN_REQUEST = 3,
	HT_CTL_RESULT_MALFORMED = 4,
	HT_CTL_RESULT_HELLO_REQUIRED = 5,
} ht_ctl_result;

/*
 * CdrImportChunk: the next octets of one CSV stream (spec/control.md,
 * section 6.4). The server parses across chunk boundaries.
 */
typedef struct ht_ctl_cdr_import {
	uint8_t *data;        /* decoded: malloc'd (ht_ctl_request_clear); encoding: the caller's */
	size_t len;           /* at most HT_CTL_IMPORT_CHUNK_MAX; may be 0 */
	bool last;            /* the stream ends after this chunk */
	uint64_t total_bytes; /* size of the whole stream, 0 = unknown; for logs only */
} ht_ctl_cdr_import;

/* CdrLookupRequest: an operator's local check, numbers in clear. */
typedef struct ht_ctl_cdr_lookup {
	char calling[HT_CTL_NUMBER_MAX + 1]; /* as typed (text); the server normalises */
	char called[HT_CTL_NUMBER_MAX + 1];
	uint64_t time_ms;      /* call time, ms since the epoch */
	uint32_t tolerance_ms; /* the window is [time_ms - tol, time_ms + tol] */
} ht_ctl_cdr_lookup;

/* AuditRequest: which audit entries to list. */
typedef struct ht_ctl_audit_query {
	uint64_t since_ms;                 /* entries with time_ms >= since_ms */
	uint64_t until_ms;                 /* and time_ms <= until_ms; 0 = open */
	char peer[HT_PROVIDER_ID_MAX + 1]; /* asking peer; "" = all */
	bool has_trace_id;                 /* filter on trace_id */
	uint8_t trace_id[HT_CTL_TRACE_ID_LEN];
	uint32_t limit; /* decoded: 1 to HT_CTL_AUDIT_MAX (0 reads as the default, more as
			   the maximum); encoded as is */
} ht_ctl_audit_query;

/* TraceStartRequest: a traceback this daemon starts as the initiator. */
typedef struct ht_ctl_trace_start {
	char calling[HT_CTL_NUMBER_MAX + 1]; /* as typed (text); the server normalises */
	char called[HT_CTL_NUMBER_MAX + 1];
	uint64_t time_ms;                 /* the call time, ms since the epoch */
	uint32_t tolerance_ms;            /* 0 = the server's default; at most
					     HT_CTL_TOLERANCE_MAX_MS */
	char to[HT_PROVIDER_ID_MAX + 1];  /* "" = hop 0 here; else a configured peer */
	char label[HT_CTL_LABEL_MAX + 1]; /* text; may be "" */
} ht_ctl_trace_start;

/* TraceShowRequest, TraceListRequest, TraceExportRequest. */
typedef struct ht_ctl_trace_query {
	uint8_t trace_id[HT_CTL_TRACE_ID_LEN]; /* show, export */
	uint32_t from;                         /* show: the first answer wanted (0-based) */
	uint64_t offset;                       /* export: the first octet wanted */
	uint32_t limit; /* list: decoded as 1 to HT_CTL_TRACE_LIST_MAX (0 reads as the
			   default, more as the maximum); encoded as is */
} ht_ctl_trace_query;

/*
 * A request. Only the body of `type` is used (and set by the decoder); the
 * others stay zero. Release a decoded request with ht_ctl_request_clear.
 */
typedef struct ht_ctl_request {
	uint32_t version; /* HT_CTL_VERSION when sent by this code */
	ht_ctl_type type;
	ht_ctl_cdr_import import;       /* type == HT_CTL_CDR_IMPORT */
	ht_ctl_cdr_lookup lookup;       /* type == HT_CTL_CDR_LOOKUP */
	ht_ctl_audit_query audit;       /* type == HT_CTL_AUDIT */
	ht_ctl_trace_start trace_start; /* type == HT_CTL_TRACE_START */
	ht_ctl_trace_query trace;       /* HT_CTL_TRACE_SHOW, _LIST, _EXPORT */
} ht_ctl_request;

typedef struct ht_ctl_status {
	char daemon_version[HT_CTL_DAEMON_VERSION_MAX + 1];
	char provider_id[HT_PROVIDER_ID_MAX + 1]; /* empty or a valid provider ID */
	uint64_t uptime_s;
	uint32_t peers_up;
	uint32_t peers_total;
	uint64_t msgs_in, msgs_out;
	uint64_t bytes_in, bytes_out;
	uint64_t handshakes_ok, handshakes_failed;
	uint64_t conns_refused;
} ht_ctl_status;

typedef struct ht_ctl_peer {
	char provider_id[HT_PROVIDER_ID_MAX + 1]; /* empty or a valid provider ID */
	char address[HT_CTL_ADDRESS_MAX + 1];
	char state[HT_CTL_STATE_MAX + 1]; /* an HT_CTL_STATE_*, or a newer server's */
	uint64_t since_ms;                /* ms since the epoch of the last state change */
	uint64_t last_seen_ms;            /* ms since the epoch; 0 = never */
	uint64_t rtt_us;                  /* 0 = unknown */
	uint64_t msgs_in, msgs_out;
	uint64_t bytes_in, bytes_out;
	char last_error[HT_CTL_DETAIL_MAX + 1]; /* may be empty */
} ht_ctl_peer;

/* RowError: one refused CSV row. */
typedef struct ht_ctl_row_error {
	uint64_t line;                            /* physical line (1-based) where the row starts */
	char reason[HT_CTL_REASON_MAX + 1];       /* token: ht_csv_reason_name() */
	char message[HT_CTL_ROW_MESSAGE_MAX + 1]; /* for people */
} ht_ctl_row_error;

/* CdrImportProgress: the reply to each chunk. Counters are cumulative. */
typedef struct ht_ctl_import_progress {
	uint64_t rows_imported;   /* stored (new records), this import so far */
	uint64_t rows_rejected;   /* refused rows, this import so far */
	uint64_t rows_duplicate;  /* good rows already stored, not stored again */
	uint64_t bytes_acked;     /* chunk octets received and processed, this import */
	size_t n_errors;          /* the bad rows completed in this chunk, in line order */
	ht_ctl_row_error *errors; /* malloc'd by the decoder; the caller's when encoding */
	uint64_t errors_omitted;  /* bad rows of this chunk not in `errors` (frame limit) */
	bool done;                /* the reply to the chunk with `last`: the import ended */
} ht_ctl_import_progress;

/* PeerCount: the records that name one provider. */
typedef struct ht_ctl_peer_count {
	char provider_id[HT_PROVIDER_ID_MAX + 1]; /* "" = here (originated/terminated) */
	uint64_t as_upstream;                     /* calls it handed us */
	uint64_t as_downstream;                   /* calls we handed it */
} ht_ctl_peer_count;

/* CdrStatsResponse. */
typedef struct ht_ctl_cdr_stats {
	uint64_t records;
	uint64_t partitions;
	uint64_t first_ms, last_ms; /* span of call times; both 0 when empty */
	uint64_t bytes_on_disk;
	size_t n_peers;
	ht_ctl_peer_count *peers; /* malloc'd by the decoder; the caller's when encoding */
	bool peers_truncated;     /* more providers than listed */
} ht_ctl_cdr_stats;

/* CdrLookupResponse. Records are ht_cdr (hoptrace/cdr.h) as the store has them. */
typedef struct ht_ctl_cdr_records {
	size_t n;        /* at most HT_CTL_LOOKUP_MAX */
	ht_cdr *records; /* malloc'd by the decoder; the caller's when encoding */
	bool truncated;  /* more records matched than listed */
} ht_ctl_cdr_records;

/* AuditEntry: one traceback request the daemon answered or refused. */
typedef struct ht_ctl_audit_entry {
	uint64_t time_ms;
	bool has_trace_id;
	uint8_t trace_id[HT_CTL_TRACE_ID_LEN];
	char asking_peer[HT_PROVIDER_ID_MAX + 1]; /* empty or a valid provider ID */
	char initiator[HT_PROVIDER_ID_MAX + 1];   /* empty or a valid provider ID */
	char status[HT_CTL_AUDIT_STATUS_MAX +
		    1]; /* a token ("found", "not_found", "refused:...") */
	char disclosed[HT_CTL_DISCLOSED_MAX + 1]; /* what the answer revealed; may be "" */
} ht_ctl_audit_entry;

/* AuditResponse. */
typedef struct ht_ctl_audit_list {
	size_t n;                    /* at most HT_CTL_AUDIT_MAX */
	ht_ctl_audit_entry *entries; /* the oldest matches, in time order; malloc'd by the
					decoder, the caller's when encoding */
	bool truncated;              /* newer matching entries exist, not listed */
} ht_ctl_audit_list;

/* TraceHopCall: one call a hop matched. */
typedef struct ht_ctl_hop_call {
	char upstream[HT_PROVIDER_ID_MAX + 1]; /* "" or a provider ID */
	bool originated_here;
	char customer_ref[HT_CTL_CUSTOMER_REF_MAX + 1];
	uint64_t record_time_ms;
	char attestation; /* 0 (unknown), 'A', 'B' or 'C' */
	bool has_origid;
	uint8_t origid[HT_CTL_ORIGID_LEN];
} ht_ctl_hop_call;

/* TraceHop: one answer as the initiator received it, and its verdict. */
typedef struct ht_ctl_hop {
	char provider_id[HT_PROVIDER_ID_MAX + 1]; /* "" when the answer could not be read */
	uint32_t hop;
	char asked_by[HT_PROVIDER_ID_MAX + 1];
	char status[HT_CTL_ANSWER_STATUS_MAX + 1]; /* ht_answer_status_name(), or "" */
	char reason[HT_CTL_REASON_MAX + 1];        /* ht_reason_name(), or "" */
	size_t n_calls;                            /* at most HT_CTL_HOP_CALLS_MAX */
	ht_ctl_hop_call calls[HT_CTL_HOP_CALLS_MAX];
	char upstream[HT_PROVIDER_ID_MAX + 1]; /* dead_end */
	uint64_t answered_ms, window_time_ms;
	uint64_t received_ms;
	char verdict[HT_CTL_VERDICT_MAX + 1]; /* "ok" or why it was rejected */
} ht_ctl_hop;

/* TraceShowResponse. */
typedef struct ht_ctl_trace {
	uint8_t trace_id[HT_CTL_TRACE_ID_LEN];
	char initiator[HT_PROVIDER_ID_MAX + 1];
	char calling[HT_E164_BUF], called[HT_E164_BUF]; /* E.164 digits, or both "" */
	uint64_t call_time_ms;
	uint32_t tolerance_ms, hop_limit;
	char label[HT_CTL_LABEL_MAX + 1];
	uint64_t created_ms, expires_ms;
	char to[HT_PROVIDER_ID_MAX + 1];
	char status[HT_CTL_TRACE_STATUS_MAX + 1]; /* an HT_CTL_TRACE_*, or a newer server's */
	uint64_t started_ms, finished_ms;         /* finished 0 = not yet */
	uint32_t answers_total;                   /* at most HT_CTL_TRACE_ANSWERS_MAX */
	uint32_t answers_dropped;                 /* received over the limit, not kept */
	uint32_t from; /* index of answers[0]; from + n_answers <= answers_total */
	size_t n_answers;
	ht_ctl_hop *answers; /* malloc'd by the decoder; the caller's when encoding */
} ht_ctl_trace;

/* TraceListEntry. */
typedef struct ht_ctl_trace_entry {
	uint8_t trace_id[HT_CTL_TRACE_ID_LEN];
	uint64_t created_ms;
	char status[HT_CTL_TRACE_STATUS_MAX + 1];
	uint32_t answers;
	char origin[HT_PROVIDER_ID_MAX + 1]; /* "" = no origin found */
	char label[HT_CTL_LABEL_MAX + 1];
	uint64_t call_time_ms;
} ht_ctl_trace_entry;

/* TraceListResponse. */
typedef struct ht_ctl_trace_list {
	size_t n;                    /* at most HT_CTL_TRACE_LIST_MAX */
	ht_ctl_trace_entry *entries; /* newest first; malloc'd by the decoder, the
					caller's when encoding */
	bool truncated;              /* older traces exist, not listed */
} ht_ctl_trace_list;

/* TraceExportResponse: one piece of an evidence bundle. */
typedef struct ht_ctl_trace_export {
	uint8_t *data; /* malloc'd by the decoder; the caller's when encoding */
	size_t len;    /* at most HT_CTL_EXPORT_CHUNK_MAX; offset + len <= total */
	uint64_t offset;
	uint64_t total; /* at most HT_CTL_EXPORT_MAX */
	uint8_t digest[HT_CTL_DIGEST_LEN];
	uint32_t answers;
} ht_ctl_trace_export;

typedef struct ht_ctl_response {
	uint32_t version; /* the server's control protocol version */
	int32_t result;   /* an ht_ctl_result, or a newer server's code (a failure) */
	char detail[HT_CTL_DETAIL_MAX + 1];
	ht_ctl_type type;                /* which body is set (HT_CTL_NONE: none) */
	ht_ctl_status status;            /* type == HT_CTL_STATUS */
	size_t n_peers;                  /* type == HT_CTL_PEERS */
	ht_ctl_peer *peers;              /* malloc'd by the decoder; the caller's when encoding */
	ht_ctl_import_progress progress; /* type == HT_CTL_CDR_IMPORT */
	ht_ctl_cdr_stats cdr_stats;      /* type == HT_CTL_CDR_STATS */
	ht_ctl_cdr_records lookup;       /* type == HT_CTL_CDR_LOOKUP */
	ht_ctl_audit_list audit;         /* type == HT_CTL_AUDIT */
	uint8_t started[HT_CTL_TRACE_ID_LEN]; /* type == HT_CTL_TRACE_START: the trace ID */
	ht_ctl_trace trace;                   /* type == HT_CTL_TRACE_SHOW */
	ht_ctl_trace_list traces;             /* type == HT_CTL_TRACE_LIST */
	ht_ctl_trace_export bundle;           /* type == HT_CTL_TRACE_EXPORT */
} ht_ctl_response;

/*
 * True when `len` octets at `s` are control-protocol text: valid UTF-8 with
 * no code point below U+0020 and none from U+007F to U+009F, so that text
 * from the daemon can reach a terminal or a JSON document unchanged.
 */
bool ht_ctl_text_valid(const char *s, size_t len);

/*
 * Copies `len` octets at `src` into `dst` (`size` >= 1 octets) as valid
 * text: each octet that does not start a valid, allowed character becomes
 * '?', and the copy stops at the last whole character that fits before the
 * terminating NUL. For the daemon, to store error strings that may come from
 * peers or the system before they are sent as detail or last_error.
 */
void ht_ctl_text_clean(char *dst, size_t size, const char *src, size_t len);

/* A short name for a result code ("ok", "unsupported version"...); never NULL. */
const char *ht_ctl_result_name(int32_t result);

/*
 * True when a server closes the connection after sending a response with
 * this result (UNSUPPORTED_VERSION, MALFORMED, HELLO_REQUIRED).
 */
bool ht_ctl_result_closes(int32_t result);

/* The command's name ("hello", "cdr import"...), or "unknown"; never NULL. */
const char *ht_ctl_type_name(ht_ctl_type type);

/*
 * Encodes `req` as a ControlRequest body (no length prefix) into a malloc'd
 * buffer, with the body of its type. HT_E_INVAL for a type that is not an
 * ht_ctl_type value, an import chunk over HT_CTL_IMPORT_CHUNK_MAX (or with
 * data NULL and len > 0), or lookup or trace-start numbers that are not
 * NUL-terminated text of at most HT_CTL_NUMBER_MAX octets, an audit peer or a
 * trace-start `to` that is neither empty nor a valid provider ID, a label
 * that is not text of at most HT_CTL_LABEL_MAX octets, or a tolerance over
 * HT_CTL_TOLERANCE_MAX_MS. Audit and trace-list limits are encoded as they are.
 */
int ht_ctl_encode_request(const ht_ctl_request *req, uint8_t **out, size_t *out_len) HT_WUR;

/*
 * Decodes a ControlRequest body of at most HT_CTL_MAX_FRAME octets
 * (HT_E_TOO_LARGE) that parses (HT_E_MALFORMED). Any version decodes:
 * checking it is the server's job (ht_ctl_admit). A command this version
 * does not know, or none, decodes as HT_CTL_NONE. A body that breaks the
 * rules of its command is HT_E_MALFORMED: import data over
 * HT_CTL_IMPORT_CHUNK_MAX, numbers that are not text or over
 * HT_CTL_NUMBER_MAX, an audit peer or trace-start `to` that is not empty nor
 * a provider ID, an audit trace ID neither empty nor 16 octets, a trace ID of
 * show or export that is not 16 octets, a label that is not text or over
 * HT_CTL_LABEL_MAX, a tolerance over HT_CTL_TOLERANCE_MAX_MS. An audit limit
 * of 0 decodes as HT_CTL_AUDIT_DEFAULT and one over HT_CTL_AUDIT_MAX as
 * HT_CTL_AUDIT_MAX; a trace-list limit likewise with HT_CTL_TRACE_LIST_DEFAULT
 * and HT_CTL_TRACE_LIST_MAX.
 * The caller releases `out` with ht_ctl_request_clear (import data is
 * malloc'd); on failure `out` is left cleared and owns nothing.
 */
int ht_ctl_decode_request(const uint8_t *buf, size_t len, ht_ctl_request *out) HT_WUR;

/* Frees what `r` owns (a decoded import chunk's data) and zeroes it. NULL is allowed. */
void ht_ctl_request_clear(ht_ctl_request *r);

/*
 * Encodes `resp` as a ControlResponse body (no length prefix) into a malloc'd
 * buffer. Every text field must be NUL-terminated within its array, be valid
 * text (ht_ctl_text_valid) and within its limit, and provider IDs must be
 * empty or valid (HT_E_INVAL). Records (lookup) must have valid E.164 digits
 * (ht_e164_digits_valid), attestation 0, 'A', 'B' or 'C', and customer_ref
 * and call_id that are text: a server cleans stored text first
 * (ht_ctl_text_clean). Trace answers and calls keep the same rules (their
 * calls at most HT_CTL_HOP_CALLS_MAX, and from + n_answers <= answers_total
 * <= HT_CTL_TRACE_ANSWERS_MAX); an export piece has data unless empty, and
 * offset + len <= total <= HT_CTL_EXPORT_MAX. A list of `n` > 0 entries with
 * a NULL array is HT_E_INVAL. A list over its limit (HT_CTL_MAX_PEERS,
 * HT_CTL_MAX_ROW_ERRORS, HT_CTL_MAX_STATS_PEERS, HT_CTL_LOOKUP_MAX,
 * HT_CTL_AUDIT_MAX, HT_CTL_TRACE_ANSWERS_MAX, HT_CTL_TRACE_LIST_MAX,
 * HT_CTL_EXPORT_CHUNK_MAX), or a body over HT_CTL_MAX_FRAME, is
 * HT_E_TOO_LARGE (see ht_ctl_response_fit). The
 * body for `type` is encoded whatever the result; servers set type
 * HT_CTL_NONE on failures.
 */
int ht_ctl_encode_response(const ht_ctl_response *resp, uint8_t **out, size_t *out_len) HT_WUR;

/*
 * Decodes a ControlResponse body into `out`, which the caller later releases
 * with ht_ctl_response_clear. Refuses a body over HT_CTL_MAX_FRAME or a list
 * over its limit (HT_E_TOO_LARGE), bytes that do not parse, and fields that
 * break the rules ht_ctl_encode_response checks: text too long or not valid
 * text, provider IDs neither empty nor valid, record numbers that are not
 * E.164 digits, an attestation other than "A", "B", "C" or empty, an origid
 * or trace ID neither empty nor 16 octets (where a trace ID is required: not
 * 16 octets), answers beyond answers_total, an export piece past its total or
 * a digest not 32 octets (HT_E_MALFORMED). Unknown result codes, peer
 * states, audit statuses, trace states and verdicts decode as they are; an unknown
 * command decodes as HT_CTL_NONE. On failure `out` is left cleared and owns
 * nothing.
 */
int ht_ctl_decode_response(const uint8_t *buf, size_t len, ht_ctl_response *out) HT_WUR;

/*
 * Frees what `r` owns (the decoder's lists: peers, progress.errors,
 * cdr_stats.peers, lookup.records, audit.entries, trace.answers,
 * traces.entries, bundle.data) and zeroes it. NULL is allowed. Do not call
 * it on a response whose lists are the caller's.
 */
void ht_ctl_response_clear(ht_ctl_response *r);

/*
 * For servers, before encoding: shortens the list of `resp`'s type (row
 * errors, stats peers, lookup records, audit entries, trace answers, trace
 * list entries) until it is within its limit and the encoded response fits
 * in HT_CTL_MAX_FRAME, and says so in the response: progress.errors_omitted
 * grows by the number of row errors dropped; cdr_stats.peers_truncated,
 * lookup.truncated, audit.truncated or traces.truncated is set; trace
 * answers left out show as from + n_answers < answers_total, and the client
 * asks for the rest. Entries go from the end of the list; the array stays
 * the caller's.
 * Returns how many entries were dropped (0 for other types).
 */
size_t ht_ctl_response_fit(ht_ctl_response *resp);

/*
 * Zeroes `r` and makes it a response of this version with `result` and
 * `detail` (cleaned and truncated with ht_ctl_text_clean; NULL for none),
 * type HT_CTL_NONE. Frees nothing: clear a decoded response first.
 */
void ht_ctl_response_set(ht_ctl_response *r, int32_t result, const char *detail);

/*
 * The server's checks on one received frame body, in this order
 * (spec/control.md, section 4.2): it decodes (MALFORMED), its version is
 * HT_CTL_VERSION (UNSUPPORTED_VERSION, with a detail naming both versions),
 * the connection's first request is a hello (HELLO_REQUIRED; `hello_done`
 * says one was accepted already), the command is known (UNKNOWN_REQUEST).
 * Fills `req` (zeroed if it did not decode; release it with
 * ht_ctl_request_clear whatever the result) and sets `resp` with
 * ht_ctl_response_set; returns resp->result. On HT_CTL_RESULT_OK `resp` has
 * the request's type; a hello response is then complete, and for the other
 * commands the caller fills the body of that type (resp->status,
 * resp->peers, resp->progress, resp->cdr_stats, resp->lookup, resp->audit,
 * resp->started, resp->trace, resp->traces, resp->bundle).
 * If the result closes (ht_ctl_result_closes) the server sends `resp` and
 * then closes.
 */
int32_t ht_ctl_admit(const uint8_t *body, size_t len, bool hello_done, ht_ctl_request *req,
		     ht_ctl_response *resp);

/*
 * Frames `body`: a malloc'd buffer holding the 4-octet big-endian length and
 * then the body. HT_E_TOO_LARGE if `len` is over HT_CTL_MAX_FRAME.
 */
int ht_ctl_frame(const uint8_t *body, size_t len, uint8_t **out, size_t *out_len) HT_WUR;

/*
 * A streaming frame reader: feed it the bytes of a stream in chunks of any
 * size and it yields each complete frame body. It allocates at most the
 * announced body length, and only once the prefix has shown it to be within
 * HT_CTL_MAX_FRAME. Fields are private.
 */
typedef struct ht_ctl_reader {
	uint8_t prefix[HT_CTL_PREFIX_LEN];
	size_t got;      /* octets of the current frame so far, prefix included */
	size_t body_len; /* known once got >= HT_CTL_PREFIX_LEN */
	uint8_t *buf;
	size_t cap;
	int err;
} ht_ctl_reader;

/* Prepares `r` for a new stream. */
void ht_ctl_reader_init(ht_ctl_reader *r);

/* Frees the buffer. `r` may be initialised again. */
void ht_ctl_reader_free(ht_ctl_reader *r);

/*
 * Consumes octets from `data` (`len` of them) until one frame is complete or
 * the input runs out, and says in *used how many it took. If a frame was
 * complete before the call it is dropped first. Returns HT_OK, or
 * HT_E_TOO_LARGE when a length prefix is over HT_CTL_MAX_FRAME (or
 * HT_E_NOMEM); errors are sticky: the stream cannot be resynchronised and
 * should be closed. Typical use:
 *
 *	while (n > 0) {
 *		if (ht_ctl_reader_feed(&r, p, n, &used) != HT_OK)
 *			close the connection;
 *		p += used, n -= used;
 *		if (ht_ctl_reader_frame(&r, &body, &body_len))
 *			handle(body, body_len);
 *	}
 */
int ht_ctl_reader_feed(ht_ctl_reader *r, const uint8_t *data, size_t len, size_t *used) HT_WUR;

/*
 * True when a whole frame has been read: *body and *len give its body
 * (non-NULL even when empty), valid until the next feed or free.
 */
bool ht_ctl_reader_frame(const ht_ctl_reader *r, const uint8_t **body, size_t *len);

/*
 * True when part of a frame has been read but not all of it: the stream
 * ending now would cut a frame short.
 */
bool ht_ctl_reader_partial(const ht_ctl_reader *r);

#endif
