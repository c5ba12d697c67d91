/* The hoptrace CLI: command table, exit codes and output helpers. */
#ifndef HT_CLI_H
#define HT_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <time.h>

/* Exit codes, stable for scripts (README "CLI"). */
enum {
	EXIT_OK = 0,
	EXIT_REJECTED = 1, /* the thing checked failed verification */
	EXIT_USAGE = 2,    /* bad command line */
	EXIT_ERROR = 3,    /* anything else: I/O, unreadable or insecure key files... */
};

struct cmd {
	const char *name; /* "ca sign": words the user types */
	int (*fn)(int argc, char **argv);
	const char *usage;
	const char *help;
};

/* Prints "hoptrace: " and the message to stderr; returns `code`. */
int fail(int code, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Prints the usage line of the running command and returns EXIT_USAGE. */
int usage_error(const char *fmt, ...) __attribute__((format(printf, 1, 2)));

/* Reads a whole file (at most `max` bytes) or fails with a message. */
int read_input(const char *path, size_t max, uint8_t **buf, size_t *len);

/*
 * Writes a public file (mode 0644) atomically, refusing to replace one
 * unless `force`, or fails with a message.
 */
int write_output(const char *path, const uint8_t *data, size_t len, bool force);

/* Parses a decimal uint64 option value; false on anything else. */
bool parse_u64(const char *s, uint64_t *out);

/*
 * Record output with a human and a JSON backend: the same calls print
 * aligned "key  value" lines, or one JSON object made by jansson.
 */
struct out;
struct out *out_new(bool json);
void out_str(struct out *o, const char *key, const char *val);
void out_u64(struct out *o, const char *key, uint64_t val);
void out_bool(struct out *o, const char *key, bool val);
void out_hex(struct out *o, const char *key, const uint8_t *b, size_t len);
/* A time in seconds since the epoch: RFC 3339 for people, both in JSON. */
void out_time(struct out *o, const char *key, uint64_t secs);
/* A list of strings (JSON array; comma-separated for people). */
void out_list(struct out *o, const char *key, const char *const *vals, size_t n);
/* A list of integers. */
void out_u64_list(struct out *o, const char *key, const uint64_t *vals, size_t n);
/* JSON null; "-" for people. */
void out_null(struct out *o, const char *key);
/*
 * Lists of records, JSON only (people get a table): out_append adds a new
 * object to the array `key` and returns it, to be filled with the out_*
 * calls; it is printed and freed with `o`. out_array makes the array even
 * when no object is added.
 */
void out_array(struct out *o, const char *key);
struct out *out_append(struct out *o, const char *key);
/* Prints and frees. Returns EXIT_OK, or EXIT_ERROR if printing failed. */
int out_finish(struct out *o);

/*
 * Tables for people: a header line, then one line per row, every column but
 * the last padded to its widest cell. Cells are copied.
 */
struct table;
struct table *table_new(const char *const *headers, size_t ncols);
void table_row(struct table *t, const char *const *cells);
/* Prints to stdout and frees. Returns EXIT_OK, or EXIT_ERROR if printing failed. */
int table_finish(struct table *t);

/* "512B", "1.5K", "20.0M": powers of 1024. */
void human_bytes(uint64_t b, char *buf, size_t n);
/* A time in ms since the epoch as RFC 3339 with milliseconds ("...T12:00:00.123Z"). */
#define TIME_MS_STR_MAX 40
void human_time_ms(uint64_t ms, char buf[TIME_MS_STR_MAX]);
/*
 * Parses a time option into ms since the epoch: RFC 3339 (fractions of a
 * second kept to the ms), seconds since the epoch (up to 12 digits), or
 * milliseconds since the epoch (exactly 13 digits). False on anything else.
 */
bool parse_time_ms(const char *s, uint64_t *ms);

/* `cert verify` and `verify`: an --anchor public key file, a --crl file, added
 * to `trust`; EXIT_OK, or the exit code after printing why. */
struct ht_trust;
int trust_add_anchor_file(struct ht_trust *trust, const char *path);
int trust_add_crl_file(struct ht_trust *trust, const char *path);

/* Seconds with up to 3 decimals ("5", "0.25") as milliseconds, at most `max`. */
bool parse_seconds_ms(const char *s, uint32_t max, uint32_t *ms);

/*
 * The control-socket client of the cdr and audit commands (cmd_ctl.c keeps
 * its own for status and peers). Blocking POSIX socket I/O, each wait
 * bounded; every failure is reported on stderr (spec/control.md, section 10).
 */
/* Milliseconds on `id` (CLOCK_MONOTONIC for deadlines). */
uint64_t clock_ms(clockid_t id);

#define CTL_CONNECT_TIMEOUT_MS 5000  /* connecting and the hello exchange */
#define CTL_REPLY_TIMEOUT_MS   30000 /* one reply to stats, lookup, audit */
#define CTL_CHUNK_TIMEOUT_MS   60000 /* one reply to an import chunk */

struct ctl_client;
struct ht_ctl_request;
struct ht_ctl_response;
/* The socket: `opt` (-s) if set, else $HOPTRACE_SOCKET if not empty, else the default. */
const char *ctl_socket_path(const char *opt);
/* Connects to `path` and says hello. EXIT_OK, or EXIT_ERROR after a message. */
int ctl_client_open(const char *path, struct ctl_client **out);
/*
 * Sends `req` and reads its response into `resp` (cleared by the caller with
 * ht_ctl_response_clear), waiting at most `timeout_ms`. EXIT_OK only for a
 * successful response of the request's type; EXIT_ERROR after a message.
 */
int ctl_client_call(struct ctl_client *c, const struct ht_ctl_request *req, int timeout_ms,
		    struct ht_ctl_response *resp);
/*
 * The two halves of ctl_client_call, for pipelining (spec/control.md,
 * section 4.1: responses come in request order): send a request, and read
 * the next response, which answers a request of type `type`.
 */
int ctl_client_send(struct ctl_client *c, const struct ht_ctl_request *req, int timeout_ms);
int ctl_client_recv(struct ctl_client *c, int type, int timeout_ms, struct ht_ctl_response *resp);
/* Whether a response has begun to arrive (ctl_client_recv would not wait long). */
bool ctl_client_readable(struct ctl_client *c);
/* Closes the connection. NULL is allowed. */
void ctl_client_close(struct ctl_client *c);

/*
 * Parses [-s SOCKET] [--json] and no arguments, for the commands that only
 * ask the daemon: *sock is the socket to use (ctl_socket_path).
 */
int ctl_simple_opts(int argc, char **argv, const char **sock, bool *json);

/*
 * Connects to `sock`, says hello, makes the one request `req`: the whole
 * conversation of a command that asks a single question. On EXIT_OK the
 * caller clears `resp`.
 */
int ctl_one_call(const char *sock, const struct ht_ctl_request *req, struct ht_ctl_response *resp);

/* The socket path `c` is connected to, for messages. */
const char *ctl_client_path(const struct ctl_client *c);

/* Commands. */
int cmd_keygen(int argc, char **argv);
int cmd_ca_init(int argc, char **argv);
int cmd_ca_sign(int argc, char **argv);
int cmd_ca_revoke(int argc, char **argv);
int cmd_cert_show(int argc, char **argv);
int cmd_cert_verify(int argc, char **argv);
int cmd_crl_show(int argc, char **argv);
int cmd_status(int argc, char **argv);
int cmd_peers(int argc, char **argv);
int cmd_cdr_import(int argc, char **argv);
int cmd_cdr_stats(int argc, char **argv);
int cmd_cdr_lookup(int argc, char **argv);
int cmd_audit(int argc, char **argv);
int cmd_trace_start(int argc, char **argv);
int cmd_trace_show(int argc, char **argv);
int cmd_trace_list(int argc, char **argv);
int cmd_trace_export(int argc, char **argv);
int cmd_verify(int argc, char **argv);

#endif
