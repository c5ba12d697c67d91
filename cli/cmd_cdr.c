/*
 * Call-record commands: cdr import, cdr stats, cdr lookup (spec/control.md,
 * sections 6.4 to 6.6), through the client in ctl_client.c.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "cli.h"
#include "hoptrace/control.h"
#include "hoptrace/timefmt.h"

/* --- shared option parsing ------------------------------------------------- */

/* A provider ID for output: "(here)" for the empty one. */
static const char *here(const char *id)
{
	return id[0] ? id : "(here)";
}

static void json_id(struct out *o, const char *key, const char *id)
{
	if (id[0])
		out_str(o, key, id);
	else
		out_null(o, key);
}

/* A time in ms as RFC 3339 and its _ms twin. */
static void json_time(struct out *o, const char *key, uint64_t ms)
{
	char buf[TIME_MS_STR_MAX], k2[48];
	human_time_ms(ms, buf);
	snprintf(k2, sizeof(k2), "%s_ms", key);
	out_str(o, key, buf);
	out_u64(o, k2, ms);
}

/* --- cdr import ------------------------------------------------------------- */

/* Bad rows kept for --json; beyond this they are only counted. */
#define JSON_ERRORS_MAX 100000
/* Progress line updates, at most this often. */
#define PROGRESS_EVERY_MS 250
/*
 * Import chunks sent and not yet answered, at most: 4 MiB, ~48,000 rows of
 * typical CDRs, so that the daemon has rows ready for the store's next
 * commit while it syncs one (docs/store.md; hoptraced reads up to 32).
 */
#define IMPORT_IN_FLIGHT 16

struct import {
	const char *name; /* for messages: the path, or "<stdin>" */
	bool json, quiet, tty;
	uint64_t total;   /* size of a regular file; 0 = unknown */
	uint64_t sent;    /* octets sent */
	uint64_t started; /* CLOCK_MONOTONIC ms */
	uint64_t last_progress;
	bool progress_shown;
	ht_ctl_import_progress last; /* counters of the last reply (no errors) */
	uint64_t errors_omitted;     /* by the daemon, over the whole import */
	ht_ctl_row_error *errors;    /* for --json */
	size_t n_errors, cap_errors;
	uint64_t errors_dropped; /* over JSON_ERRORS_MAX */
};

static void progress_clear(struct import *im)
{
	if (im->progress_shown) {
		fputs("\r\033[K", stderr);
		im->progress_shown = false;
	}
}

static void progress_show(struct import *im, bool force)
{
	uint64_t now = clock_ms(CLOCK_MONOTONIC);
	if (!im->tty || im->quiet || (!force && now - im->last_progress < PROGRESS_EVERY_MS))
		return;
	im->last_progress = now;
	uint64_t rows = im->last.rows_imported + im->last.rows_rejected + im->last.rows_duplicate;
	double secs = (double)(now - im->started) / 1000;
	double rate = secs > 0 ? (double)rows / secs : 0;
	char line[200];
	int n = snprintf(line, sizeof(line), "%llu rows, %.0f rows/s", (unsigned long long)rows,
			 rate);
	if (im->total > 0 && im->last.bytes_acked <= im->total) {
		double done = (double)im->last.bytes_acked / (double)im->total;
		n += snprintf(line + n, sizeof(line) - (size_t)n, ", %.0f%%", done * 100);
		if (done > 0 && secs > 0) {
			uint64_t eta = (uint64_t)(secs / done - secs + 0.5);
			snprintf(line + n, sizeof(line) - (size_t)n, ", ETA %llu:%02llu:%02llu",
				 (unsigned long long)(eta / 3600),
				 (unsigned long long)(eta / 60 % 60),
				 (unsigned long long)(eta % 60));
		}
	}
	fprintf(stderr, "\r\033[K%s", line);
	fflush(stderr);
	im->progress_shown = true;
}

static void keep_error(struct import *im, const ht_ctl_row_error *e)
{
	if (im->n_errors >= JSON_ERRORS_MAX) {
		im->errors_dropped++;
		return;
	}
	if (im->n_errors == im->cap_errors) {
		size_t nc = im->cap_errors ? im->cap_errors * 2 : 64;
		ht_ctl_row_error *n = realloc(im->errors, nc * sizeof(*n));
		if (!n)
			abort();
		im->errors = n;
		im->cap_errors = nc;
	}
	im->errors[im->n_errors++] = *e;
}

/* Reports the bad rows of one reply and keeps its counters. */
static void take_reply(struct import *im, const ht_ctl_import_progress *p)
{
	bool say = !im->quiet;
	if (say && (p->n_errors > 0 || p->errors_omitted > 0))
		progress_clear(im);
	for (size_t i = 0; i < p->n_errors; i++) {
		const ht_ctl_row_error *e = &p->errors[i];
		if (say)
			fprintf(stderr, "%s:%llu: %s: %s\n", im->name, (unsigned long long)e->line,
				e->reason, e->message);
		if (im->json)
			keep_error(im, e);
	}
	if (p->errors_omitted > 0 && say)
		fprintf(stderr, "%s: %llu more bad row%s in this part of the file, not listed\n",
			im->name, (unsigned long long)p->errors_omitted,
			p->errors_omitted == 1 ? "" : "s");
	im->errors_omitted += p->errors_omitted;
	im->last = *p;
	im->last.errors = NULL;
	im->last.n_errors = 0;
}

/* Fills `buf` from `fd` until it is full or the input ends. */
static ssize_t read_full(int fd, uint8_t *buf, size_t size)
{
	size_t got = 0;
	while (got < size) {
		ssize_t n = read(fd, buf + got, size - got);
		if (n < 0 && errno == EINTR)
			continue;
		if (n < 0)
			return -1;
		if (n == 0)
			break;
		got += (size_t)n;
	}
	return (ssize_t)got;
}

static int import_summary(const struct import *im)
{
	uint64_t elapsed = clock_ms(CLOCK_MONOTONIC) - im->started;
	uint64_t rows = im->last.rows_imported + im->last.rows_rejected + im->last.rows_duplicate;
	double secs = (double)elapsed / 1000;
	uint64_t rate = (uint64_t)((double)rows * 1000 / (double)(elapsed ? elapsed : 1));
	struct out *o = out_new(im->json);
	if (im->json) {
		out_str(o, "file", im->name);
		out_u64(o, "imported", im->last.rows_imported);
		out_u64(o, "rejected", im->last.rows_rejected);
		out_u64(o, "duplicates", im->last.rows_duplicate);
		out_u64(o, "bytes", im->last.bytes_acked);
		out_u64(o, "elapsed_ms", elapsed);
		out_u64(o, "rows_per_s", rate);
		out_array(o, "errors");
		for (size_t i = 0; i < im->n_errors; i++) {
			struct out *e = out_append(o, "errors");
			out_u64(e, "line", im->errors[i].line);
			out_str(e, "reason", im->errors[i].reason);
			out_str(e, "message", im->errors[i].message);
		}
		out_u64(o, "errors_not_listed", im->errors_omitted + im->errors_dropped);
	} else {
		char line[64];
		out_u64(o, "imported", im->last.rows_imported);
		out_u64(o, "rejected", im->last.rows_rejected);
		out_u64(o, "duplicates", im->last.rows_duplicate);
		human_bytes(im->last.bytes_acked, line, sizeof(line));
		out_str(o, "bytes", line);
		snprintf(line, sizeof(line), "%.1fs", secs);
		out_str(o, "elapsed", line);
		snprintf(line, sizeof(line), "%llu rows/s", (unsigned long long)rate);
		out_str(o, "rate", line);
	}
	int ret = out_finish(o);
	if (ret != EXIT_OK)
		return ret;
	return im->last.rows_rejected > 0 ? EXIT_REJECTED : EXIT_OK;
}

/*
 * Streams the open file `fd` to the daemon, chunk by chunk, with up to
 * IMPORT_IN_FLIGHT chunks sent before their replies (spec/control.md,
 * section 6.4): the daemon parses the next chunks while the store syncs
 * one, instead of waiting for this client after every reply.
 */
static int import_stream(struct import *im, struct ctl_client *c, int fd)
{
	uint8_t *buf = malloc(HT_CTL_IMPORT_CHUNK_MAX);
	if (!buf)
		return fail(EXIT_ERROR, "out of memory");
	int ret = EXIT_OK;
	bool last_sent = false, lasts[IMPORT_IN_FLIGHT];
	size_t sent = 0, answered = 0;
	while (ret == EXIT_OK && (!last_sent || answered < sent)) {
		/* Replies are read as soon as they come, so that they never pile
		 * up in the daemon (it drops a client that does not read). */
		if (!last_sent && sent - answered < IMPORT_IN_FLIGHT &&
		    (answered == sent || !ctl_client_readable(c))) {
			ssize_t n = read_full(fd, buf, HT_CTL_IMPORT_CHUNK_MAX);
			if (n < 0) {
				progress_clear(im);
				ret = fail(EXIT_ERROR, "%s: %s", im->name, strerror(errno));
				break;
			}
			bool last = (size_t)n < HT_CTL_IMPORT_CHUNK_MAX;
			ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_CDR_IMPORT};
			req.import.data = buf;
			req.import.len = (size_t)n;
			req.import.last = last;
			req.import.total_bytes = im->total;
			if ((ret = ctl_client_send(c, &req, CTL_CHUNK_TIMEOUT_MS)) != EXIT_OK)
				break;
			im->sent += (uint64_t)n;
			lasts[sent++ % IMPORT_IN_FLIGHT] = last;
			last_sent = last;
			continue;
		}
		/* Replies come in order: this one answers chunk number `answered`. */
		bool last = lasts[answered++ % IMPORT_IN_FLIGHT];
		ht_ctl_response resp;
		ret = ctl_client_recv(c, HT_CTL_CDR_IMPORT, CTL_CHUNK_TIMEOUT_MS, &resp);
		if (ret != EXIT_OK)
			break;
		take_reply(im, &resp.progress);
		bool done = resp.progress.done;
		ht_ctl_response_clear(&resp);
		if (done != last) {
			progress_clear(im);
			ret = fail(EXIT_ERROR, "%s: hoptraced %s", ctl_client_path(c),
				   last ? "did not end the import after the last chunk"
					: "ended the import before the last chunk");
			break;
		}
		progress_show(im, false);
	}
	free(buf);
	return ret;
}

int cmd_cdr_import(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"quiet", no_argument, NULL, 'q'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = NULL;
	struct import im;
	int opt;
	memset(&im, 0, sizeof(im));
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":s:q", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			im.json = true;
			break;
		case 'q':
			im.quiet = true;
			break;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return usage_error("which file? (FILE, or - for standard input)");
	if (optind + 1 != argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	const char *path = argv[optind];
	sock = ctl_socket_path(sock);
	if (!*sock)
		return usage_error("the socket path is empty");

	int fd = 0;
	im.name = strcmp(path, "-") ? path : "<stdin>";
	if (strcmp(path, "-") != 0 && (fd = open(path, O_RDONLY | O_CLOEXEC)) < 0)
		return fail(EXIT_ERROR, "%s: %s", path, strerror(errno));
	struct stat st;
	if (fstat(fd, &st) == 0 && S_ISREG(st.st_mode))
		im.total = (uint64_t)st.st_size;
	else if (fstat(fd, &st) == 0 && S_ISDIR(st.st_mode)) {
		close(fd);
		return fail(EXIT_ERROR, "%s: is a directory", path);
	}
	im.tty = isatty(2);

	struct ctl_client *c;
	int ret = ctl_client_open(sock, &c);
	if (ret == EXIT_OK) {
		im.started = im.last_progress = clock_ms(CLOCK_MONOTONIC);
		ret = import_stream(&im, c, fd);
		progress_clear(&im);
		ctl_client_close(c);
		if (ret != EXIT_OK && im.sent > 0)
			fail(ret,
			     "%s: the import stopped after %llu bytes; the rows acknowledged so "
			     "far (%llu imported) are stored, and importing the file again is "
			     "safe",
			     im.name, (unsigned long long)im.last.bytes_acked,
			     (unsigned long long)im.last.rows_imported);
		else if (ret == EXIT_OK)
			ret = import_summary(&im);
	}
	if (fd != 0)
		close(fd);
	free(im.errors);
	return ret;
}

/* --- cdr stats ----------------------------------------------------------------- */

static int print_stats(const ht_ctl_cdr_stats *s, bool json)
{
	bool empty = s->first_ms == 0 && s->last_ms == 0;
	struct out *o = out_new(json);
	if (json) {
		out_u64(o, "records", s->records);
		out_u64(o, "partitions", s->partitions);
		if (empty) {
			out_null(o, "first");
			out_null(o, "first_ms");
			out_null(o, "last");
			out_null(o, "last_ms");
		} else {
			json_time(o, "first", s->first_ms);
			json_time(o, "last", s->last_ms);
		}
		out_u64(o, "bytes_on_disk", s->bytes_on_disk);
		out_array(o, "peers");
		for (size_t i = 0; i < s->n_peers; i++) {
			struct out *p = out_append(o, "peers");
			json_id(p, "provider_id", s->peers[i].provider_id);
			out_u64(p, "as_upstream", s->peers[i].as_upstream);
			out_u64(p, "as_downstream", s->peers[i].as_downstream);
		}
		out_bool(o, "peers_truncated", s->peers_truncated);
		return out_finish(o);
	}

	char line[2 * HT_TIME_STR_MAX + 8];
	out_u64(o, "records", s->records);
	out_u64(o, "partitions", s->partitions);
	if (empty) {
		out_str(o, "span", "-");
	} else {
		char a[HT_TIME_STR_MAX], b[HT_TIME_STR_MAX];
		ht_time_format(s->first_ms / 1000, a);
		ht_time_format(s->last_ms / 1000, b);
		snprintf(line, sizeof(line), "%s .. %s", a, b);
		out_str(o, "span", line);
	}
	human_bytes(s->bytes_on_disk, line, sizeof(line));
	out_str(o, "disk", line);
	int ret = out_finish(o);
	if (ret != EXIT_OK)
		return ret;
	printf("\n");
	static const char *const headers[] = {"PROVIDER", "AS-UPSTREAM", "AS-DOWNSTREAM"};
	struct table *t = table_new(headers, 3);
	for (size_t i = 0; i < s->n_peers; i++) {
		char up[24], down[24];
		snprintf(up, sizeof(up), "%llu", (unsigned long long)s->peers[i].as_upstream);
		snprintf(down, sizeof(down), "%llu", (unsigned long long)s->peers[i].as_downstream);
		const char *cells[] = {here(s->peers[i].provider_id), up, down};
		table_row(t, cells);
	}
	ret = table_finish(t);
	if (s->peers_truncated)
		fprintf(stderr, "hoptrace: more providers than one answer can list; %zu shown\n",
			s->n_peers);
	return ret;
}

int cmd_cdr_stats(int argc, char **argv)
{
	const char *sock;
	bool json;
	int ret = ctl_simple_opts(argc, argv, &sock, &json);
	if (ret != EXIT_OK)
		return ret;
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_CDR_STATS};
	ht_ctl_response resp;
	if ((ret = ctl_one_call(sock, &req, &resp)) != EXIT_OK)
		return ret;
	ret = print_stats(&resp.cdr_stats, json);
	ht_ctl_response_clear(&resp);
	return ret;
}

/* --- cdr lookup ------------------------------------------------------------------ */

static int print_records(const ht_ctl_cdr_records *l, bool json)
{
	if (json) {
		struct out *o = out_new(true);
		out_array(o, "records");
		for (size_t i = 0; i < l->n; i++) {
			const ht_cdr *r = &l->records[i];
			struct out *e = out_append(o, "records");
			char att[2] = {r->attestation, 0};
			json_time(e, "time", r->time_ms);
			out_str(e, "calling", r->calling);
			out_str(e, "called", r->called);
			json_id(e, "upstream", r->upstream);
			json_id(e, "downstream", r->downstream);
			out_str(e, "customer_ref", r->customer_ref);
			if (r->attestation)
				out_str(e, "attestation", att);
			else
				out_null(e, "attestation");
			if (r->has_origid) {
				char u[37];
				ht_uuid_format(r->origid, u);
				out_str(e, "origid", u);
			} else {
				out_null(e, "origid");
			}
			out_str(e, "call_id", r->call_id);
		}
		out_bool(o, "truncated", l->truncated);
		return out_finish(o);
	}
	static const char *const headers[] = {
		"TIME",   "CALLING", "CALLED",       "UPSTREAM", "DOWNSTREAM",
		"ATTEST", "ORIGID",  "CUSTOMER-REF", "CALL-ID",
	};
	struct table *t = table_new(headers, 9);
	for (size_t i = 0; i < l->n; i++) {
		const ht_cdr *r = &l->records[i];
		char when[TIME_MS_STR_MAX], att[2] = {r->attestation ? r->attestation : '-', 0};
		char u[37] = "-";
		human_time_ms(r->time_ms, when);
		if (r->has_origid)
			ht_uuid_format(r->origid, u);
		const char *cells[] = {
			when,
			r->calling,
			r->called,
			here(r->upstream),
			here(r->downstream),
			att,
			u,
			r->customer_ref[0] ? r->customer_ref : "-",
			r->call_id[0] ? r->call_id : "-",
		};
		table_row(t, cells);
	}
	return table_finish(t);
}

int cmd_cdr_lookup(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"calling", required_argument, NULL, 'a'},
		{"called", required_argument, NULL, 'b'},
		{"time", required_argument, NULL, 't'},
		{"tolerance", required_argument, NULL, 'T'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = NULL, *calling = NULL, *called = NULL, *when = NULL;
	bool json = false;
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_CDR_LOOKUP};
	int opt;
	req.lookup.tolerance_ms = 5000;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":s:", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'a':
			calling = optarg;
			break;
		case 'b':
			called = optarg;
			break;
		case 't':
			when = optarg;
			break;
		case 'T':
			if (!parse_seconds_ms(optarg, UINT32_MAX, &req.lookup.tolerance_ms))
				return usage_error("--tolerance: '%s' is not a number of seconds "
						   "(at most 4294967, to the ms)",
						   optarg);
			break;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (!calling || !called || !when)
		return usage_error("--calling, --called and --time are required");
	const char *num[2] = {calling, called};
	char *dst[2] = {req.lookup.calling, req.lookup.called};
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(num[i]);
		if (n == 0 || n > HT_CTL_NUMBER_MAX || !ht_ctl_text_valid(num[i], n))
			return usage_error("--%s: not a phone number (at most %d characters)",
					   i ? "called" : "calling", HT_CTL_NUMBER_MAX);
		memcpy(dst[i], num[i], n + 1);
	}
	if (!parse_time_ms(when, &req.lookup.time_ms))
		return usage_error("--time: '%s' is not RFC 3339, epoch seconds or epoch ms", when);
	sock = ctl_socket_path(sock);
	if (!*sock)
		return usage_error("the socket path is empty");

	ht_ctl_response resp;
	int ret = ctl_one_call(sock, &req, &resp);
	if (ret != EXIT_OK)
		return ret;
	if (json || resp.lookup.n > 0)
		ret = print_records(&resp.lookup, json);
	if (ret == EXIT_OK && resp.lookup.truncated)
		fprintf(stderr, "hoptrace: more records match; the first %zu are shown\n",
			resp.lookup.n);
	if (ret == EXIT_OK && resp.lookup.n == 0) {
		if (!json)
			fprintf(stderr, "hoptrace: no matching record\n");
		ret = EXIT_REJECTED;
	}
	ht_ctl_response_clear(&resp);
	return ret;
}
