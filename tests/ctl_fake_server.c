/*
 * A stand-in for hoptraced's control socket, so the CLI can be tested end
 * to end without the daemon (tests/ctl_cli_test.sh). It serves connections
 * one at a time with the library's codec and server checks (ht_ctl_admit)
 * and answers with fixed data.
 *
 * cdr import is served as a daemon would, across chunk boundaries, without a
 * real CSV parser: line 1 is the header; every later non-empty line is a row
 * that starts on that line; a row is complete at its line feed, or at the end
 * of the stream. Rows are good, except line 3, which is always refused
 * (bad_time), and rows containing "BAD" (bad_number) or "OMIT" (refused but
 * not listed, as if the reply were full). Rows containing "DUP" count as
 * duplicates. Each chunk is logged on stdout as
 * "chunk LEN last=0|1 total=TOTAL".
 *
 * Traces: trace 5c5c...5c is complete, with a path to an origin (hop 0
 * carrier-a <- carrier-b <- carrier-c, the origin), a dead end, an answer
 * rejected as unlinked and one that could not be opened; shown at most 4
 * answers a page. trace start answers with trace 7a7a...7a, whose answers
 * appear as it is asked again on the same connection (2, then 4 while it
 * runs, then all 6 and complete), or with 0e0e...0e (label "no origin"):
 * complete, not found at hop 0. Its evidence bundle (trace export) is
 * 600000 octets, sent in 2 pieces. Other trace IDs are unknown (ERROR).
 *
 *   usage: ctl_fake_server MODE SOCKET
 *
 * MODE is one of:
 *   ok       answer every command with the fixed data below
 *   empty    like ok, with no peers, no provider ID, an empty store and
 *            audit log
 *   slow     like ok, taking 150 ms to answer each import chunk (progress)
 *   version  behave as a server of control protocol version 2: refuse every
 *            client with UNSUPPORTED_VERSION, then close
 *   error    answer hello, then fail every other request with ERROR
 *   silent   accept and read, never answer (the client's timeout)
 *   garbage  answer with a length prefix over the limit
 *
 * Prints "ready" on stdout once it is listening; runs until killed.
 */
#include <errno.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "hoptrace/control.h"

static const char *mode;

/* 2026-01-01T00:00:00Z, in ms. */
#define T0 1767225600000ULL

static const ht_ctl_status fixed_status = {
	.daemon_version = "0.1.0-fake",
	.provider_id = "carrier-a",
	.uptime_s = 7380,
	.peers_up = 1,
	.peers_total = 3,
	.msgs_in = 1200,
	.msgs_out = 3400,
	.bytes_in = 1572864,
	.bytes_out = 2048,
	.handshakes_ok = 5,
	.handshakes_failed = 1,
	.conns_refused = 3,
};

static const ht_ctl_peer fixed_peers[] = {
	{
		.provider_id = "carrier-b",
		.address = "192.0.2.10:7443",
		.state = HT_CTL_STATE_ESTABLISHED,
		.since_ms = T0 + 123,
		.last_seen_ms = T0 + 60000,
		.rtt_us = 12345,
		.msgs_in = 100,
		.msgs_out = 200,
		.bytes_in = 4096,
		.bytes_out = 8192,
	},
	{
		.provider_id = "carrier-c",
		.address = "[2001:db8::1]:7443",
		.state = HT_CTL_STATE_BACKOFF,
		.since_ms = T0 + 3600000,
		.last_error = "connect: Connection refused \xe2\x80\x94 retrying",
	},
	{
		.address = "peer.example.net:7443",
		.state = HT_CTL_STATE_CONNECTING,
		.since_ms = T0,
	},
};

/* 2026-01-01T00:00:00.123Z, 2026-01-01T00:00:02.500Z: the records of one call. */
static const ht_cdr fixed_records[] = {
	{
		.time_ms = T0 + 123,
		.calling = "12025550143",
		.called = "12025550199",
		.upstream = "carrier-b",
		.downstream = "carrier-c",
		.attestation = 'A',
		.has_origid = true,
		.origid = {0x12, 0x3e, 0x45, 0x67, 0xe8, 0x9b, 0x12, 0xd3, 0xa4, 0x56, 0x42, 0x66,
			   0x14, 0x17, 0x40, 0x00},
		.call_id = "a84b4c76e66710@pc33.example.com",
	},
	{
		.time_ms = T0 + 2500,
		.calling = "12025550143",
		.called = "12025550199",
		.customer_ref = "acct-42 \xe2\x80\x94 Caf\xc3\xa9",
	},
};

static const ht_ctl_peer_count fixed_counts[] = {
	{.provider_id = "", .as_upstream = 1000, .as_downstream = 2000},
	{.provider_id = "carrier-b", .as_upstream = 5000, .as_downstream = 6000},
	{.provider_id = "carrier-c", .as_upstream = 0, .as_downstream = 7},
};

/* Oldest first, as the daemon lists them. */
static const ht_ctl_audit_entry fixed_audit[] = {
	{
		.time_ms = T0 + 1000,
		.has_trace_id = true,
		.trace_id = {0x00, 0x11, 0x22, 0x33, 0x44, 0x55, 0x66, 0x77, 0x88, 0x99, 0xaa, 0xbb,
			     0xcc, 0xdd, 0xee, 0xff},
		.asking_peer = "carrier-c",
		.initiator = "itg",
		.status = "answered",
		.disclosed = "upstream carrier-b",
	},
	{
		.time_ms = T0 + 60000,
		.has_trace_id = true,
		.trace_id = {0xde, 0xad, 0xbe, 0xef},
		.asking_peer = "carrier-b",
		.initiator = "itg",
		.status = "refused",
		.disclosed = "",
	},
	{
		.time_ms = T0 + 3600000,
		.asking_peer = "carrier-c",
		.status = "malformed",
	},
};

#define N(a) (sizeof(a) / sizeof((a)[0]))

/* The traces: started at T0 + 10 s, call at T0. */
#define TRACE_START (T0 + 10000)
#define BUNDLE_LEN  600000
static const uint8_t id_done = 0x5c, id_watched = 0x7a, id_none = 0x0e;

static ht_ctl_hop fixed_hops[6];

static void fixed_hops_init(void)
{
	ht_ctl_hop *h = fixed_hops;
	memset(fixed_hops, 0, sizeof(fixed_hops));
	static const struct {
		const char *p, *by, *status, *verdict;
		uint32_t hop, dt;
	} a[6] = {
		{"carrier-a", "carrier-a", "found", "ok", 0, 2},
		{"carrier-b", "carrier-a", "found", "ok", 1, 5},
		{"carrier-b", "carrier-a", "dead_end", "ok", 1, 6},
		{"carrier-c", "carrier-b", "found", "ok", 2, 9},
		{"carrier-d", "carrier-b", "not_found", "unlinked", 2, 10},
		{"", "", "", "decrypt_failed", 0, 11},
	};
	for (size_t i = 0; i < 6; i++) {
		strcpy(h[i].provider_id, a[i].p);
		strcpy(h[i].asked_by, a[i].by);
		strcpy(h[i].status, a[i].status);
		strcpy(h[i].verdict, a[i].verdict);
		h[i].hop = a[i].hop;
		h[i].received_ms = TRACE_START + a[i].dt;
		h[i].answered_ms = a[i].p[0] ? TRACE_START + a[i].dt - 1 : 0;
	}
	h[0].n_calls = 1;
	strcpy(h[0].calls[0].upstream, "carrier-b");
	h[0].calls[0].record_time_ms = T0 + 100;
	h[0].calls[0].attestation = 'B';
	h[1].window_time_ms = T0 + 100;
	h[1].n_calls = 2;
	strcpy(h[1].calls[0].upstream, "carrier-c");
	h[1].calls[0].record_time_ms = T0 + 90;
	strcpy(h[1].calls[1].upstream, "carrier-x");
	h[1].calls[1].record_time_ms = T0 + 95;
	strcpy(h[2].upstream, "carrier-x");
	strcpy(h[2].reason, "upstream_not_participant");
	h[3].window_time_ms = T0 + 90;
	h[3].n_calls = 1;
	h[3].calls[0].originated_here = true;
	h[3].calls[0].record_time_ms = T0 + 80;
	strcpy(h[3].calls[0].customer_ref, "3fa2c1d0e9b87a65");
	h[3].calls[0].attestation = 'A';
	h[3].calls[0].has_origid = true;
	memset(h[3].calls[0].origid, 0x11, 16);
	h[4].window_time_ms = T0 + 77;
}

static bool is_id(const uint8_t *id, uint8_t b)
{
	for (int i = 0; i < 16; i++)
		if (id[i] != b)
			return false;
	return true;
}

/* trace show: `shows` is how many times this connection asked so far. */
static void answer_show(const ht_ctl_request *req, ht_ctl_response *resp, unsigned shows)
{
	const uint8_t *id = req->trace.trace_id;
	ht_ctl_trace *t = &resp->trace;
	size_t visible = 6, page = 4;
	const char *status = HT_CTL_TRACE_COMPLETE;
	if (is_id(id, id_watched)) {
		page = 6;
		visible = shows <= 1 ? 2 : shows == 2 ? 4 : 6;
		status = visible < 6 ? HT_CTL_TRACE_RUNNING : HT_CTL_TRACE_COMPLETE;
	} else if (is_id(id, id_none)) {
		visible = 0;
	} else if (!is_id(id, id_done)) {
		char hex[33];
		sodium_bin2hex(hex, sizeof(hex), id, 16);
		char why[80];
		snprintf(why, sizeof(why), "no trace %s was started here", hex);
		ht_ctl_response_set(resp, HT_CTL_RESULT_ERROR, why);
		return;
	}
	memcpy(t->trace_id, id, 16);
	strcpy(t->initiator, "carrier-a");
	strcpy(t->calling, "12025550143");
	strcpy(t->called, "12025550199");
	t->call_time_ms = T0;
	t->tolerance_ms = 5000;
	t->hop_limit = 16;
	strcpy(t->label, is_id(id, id_none) ? "no origin" : "IRS campaign");
	t->created_ms = t->started_ms = TRACE_START;
	t->expires_ms = TRACE_START + 60000;
	strcpy(t->status, status);
	if (strcmp(status, HT_CTL_TRACE_RUNNING) != 0)
		t->finished_ms = TRACE_START + 12;
	static ht_ctl_hop none;
	if (is_id(id, id_none)) { /* one answer: not found at hop 0 */
		memset(&none, 0, sizeof(none));
		strcpy(none.provider_id, "carrier-a");
		strcpy(none.asked_by, "carrier-a");
		strcpy(none.status, "not_found");
		strcpy(none.verdict, "ok");
		none.received_ms = TRACE_START + 3;
		t->answers_total = 1;
		t->from = req->trace.from < 1 ? req->trace.from : 1;
		t->answers = &none;
		t->n_answers = 1 - t->from;
		return;
	}
	t->answers_total = (uint32_t)visible;
	t->from = req->trace.from < visible ? req->trace.from : (uint32_t)visible;
	t->answers = fixed_hops + t->from;
	t->n_answers = visible - t->from < page ? visible - t->from : page;
}

static void answer_trace(const ht_ctl_request *req, ht_ctl_response *resp, unsigned *shows,
			 uint8_t *bundle)
{
	switch (req->type) {
	case HT_CTL_TRACE_START: {
		const ht_ctl_trace_start *q = &req->trace_start;
		printf("start %s %s %llu %u to=%s label=%s\n", q->calling, q->called,
		       (unsigned long long)q->time_ms, q->tolerance_ms, q->to, q->label);
		fflush(stdout);
		memset(resp->started, strcmp(q->label, "no origin") ? id_watched : id_none, 16);
		*shows = 0;
		break;
	}
	case HT_CTL_TRACE_SHOW:
		(*shows)++;
		answer_show(req, resp, *shows);
		break;
	case HT_CTL_TRACE_LIST: {
		static ht_ctl_trace_entry es[3];
		memset(es, 0, sizeof(es));
		const uint8_t ids[3] = {id_watched, id_done, id_none};
		const char *st[3] = {HT_CTL_TRACE_RUNNING, HT_CTL_TRACE_COMPLETE,
				     HT_CTL_TRACE_INTERRUPTED};
		for (size_t i = 0; i < 3; i++) {
			memset(es[i].trace_id, ids[i], 16);
			es[i].created_ms = TRACE_START - 1000 * i;
			es[i].call_time_ms = T0;
			strcpy(es[i].status, st[i]);
			es[i].answers = (uint32_t)(2 * (3 - i));
		}
		strcpy(es[1].origin, "carrier-c");
		strcpy(es[1].label, "IRS campaign");
		if (strcmp(mode, "empty") != 0) {
			resp->traces.entries = es;
			resp->traces.n = req->trace.limit < 3 ? req->trace.limit : 3;
			resp->traces.truncated = req->trace.limit < 3;
		}
		break;
	}
	default: /* export */
		if (!is_id(req->trace.trace_id, id_done)) {
			ht_ctl_response_set(resp, HT_CTL_RESULT_ERROR, "no such trace");
			break;
		}
		if (req->trace.offset > BUNDLE_LEN) {
			ht_ctl_response_set(resp, HT_CTL_RESULT_ERROR, "offset past the end");
			break;
		}
		ht_ctl_trace_export *e = &resp->bundle;
		e->offset = req->trace.offset;
		e->total = BUNDLE_LEN;
		e->len = BUNDLE_LEN - e->offset < HT_CTL_EXPORT_CHUNK_MAX ? BUNDLE_LEN - e->offset
									  : HT_CTL_EXPORT_CHUNK_MAX;
		e->data = bundle + e->offset;
		e->answers = 4;
		crypto_generichash(e->digest, sizeof(e->digest), bundle, BUNDLE_LEN, NULL, 0);
		printf("export %llu\n", (unsigned long long)e->offset);
		fflush(stdout);
	}
}

/* The import of one connection. */
struct import {
	uint64_t bytes, line; /* line: the current line (1-based) */
	uint64_t imported, rejected, duplicate;
	char row[64]; /* the current row's start, enough for the markers */
	size_t row_len;
	uint64_t row_line; /* where the current row started; 0 = none */
	ht_ctl_row_error errors[64];
	size_t n_errors;
	uint64_t omitted;
	bool done; /* the last chunk was answered */
};

/* The row that started on im->row_line is complete. */
static void row_end(struct import *im)
{
	if (im->row_line <= 1) { /* the header, or nothing */
		im->row_line = 0;
		im->row_len = 0;
		return;
	}
	im->row[im->row_len] = 0;
	const char *reason = NULL, *msg = NULL;
	if (im->row_line == 3) {
		reason = "bad_time";
		msg = "time: \"yesterday\" is not RFC 3339 nor epoch ms";
	} else if (strstr(im->row, "BAD")) {
		reason = "bad_number";
		msg = "calling: not a phone number";
	}
	if (strstr(im->row, "OMIT")) {
		im->rejected++;
		im->omitted++;
	} else if (reason) {
		im->rejected++;
		if (im->n_errors < N(im->errors)) {
			ht_ctl_row_error *e = &im->errors[im->n_errors++];
			e->line = im->row_line;
			snprintf(e->reason, sizeof(e->reason), "%s", reason);
			snprintf(e->message, sizeof(e->message), "%s", msg);
		} else {
			im->omitted++;
		}
	} else if (strstr(im->row, "DUP")) {
		im->duplicate++;
	} else {
		im->imported++;
	}
	im->row_line = 0;
	im->row_len = 0;
}

static void import_feed(struct import *im, const uint8_t *p, size_t n)
{
	im->bytes += n;
	for (size_t i = 0; i < n; i++) {
		if (p[i] == '\n') {
			row_end(im);
			im->line++;
			continue;
		}
		if (im->row_line == 0)
			im->row_line = im->line;
		if (im->row_len < sizeof(im->row) - 1)
			im->row[im->row_len++] = (char)p[i];
	}
}

static void die(const char *what)
{
	fprintf(stderr, "ctl_fake_server: %s: %s\n", what, strerror(errno));
	exit(1);
}

static int send_response(int fd, const ht_ctl_response *resp)
{
	uint8_t *body, *frame;
	size_t body_len, frame_len;
	if (ht_ctl_encode_response(resp, &body, &body_len) != HT_OK)
		return -1;
	int rc = ht_ctl_frame(body, body_len, &frame, &frame_len);
	free(body);
	if (rc != HT_OK)
		return -1;
	const uint8_t *p = frame;
	while (frame_len > 0) {
		ssize_t w = send(fd, p, frame_len, MSG_NOSIGNAL);
		if (w < 0 && errno == EINTR)
			continue;
		if (w <= 0)
			break;
		p += w;
		frame_len -= (size_t)w;
	}
	free(frame);
	return frame_len == 0 ? 0 : -1;
}

static void answer_import(const ht_ctl_request *req, struct import *im, ht_ctl_response *resp)
{
	printf("chunk %zu last=%d total=%llu\n", req->import.len, req->import.last,
	       (unsigned long long)req->import.total_bytes);
	fflush(stdout);
	if (!strcmp(mode, "slow"))
		nanosleep(&(struct timespec){.tv_nsec = 150000000}, NULL);
	/* A new import starts with the first chunk after a finished one. */
	if (im->done)
		memset(im, 0, sizeof(*im));
	if (im->line == 0)
		im->line = 1;
	im->n_errors = 0;
	im->omitted = 0;
	import_feed(im, req->import.data, req->import.len);
	if (req->import.last)
		row_end(im);
	ht_ctl_import_progress *p = &resp->progress;
	p->rows_imported = im->imported;
	p->rows_rejected = im->rejected;
	p->rows_duplicate = im->duplicate;
	p->bytes_acked = im->bytes;
	p->errors = im->errors;
	p->n_errors = im->n_errors;
	p->errors_omitted = im->omitted;
	p->done = im->done = req->import.last;
}

/* True when the digits of `typed` end with `digits` (a stand-in for normalising). */
static bool ends_with_digits(const char *typed, const char *digits)
{
	char d[HT_CTL_NUMBER_MAX + 1];
	size_t n = 0, k = strlen(digits);
	for (; *typed; typed++)
		if (*typed >= '0' && *typed <= '9')
			d[n++] = *typed;
	return n >= k && memcmp(d + n - k, digits, k) == 0;
}

static void answer_lookup(const ht_ctl_request *req, ht_ctl_response *resp, ht_cdr *out)
{
	const ht_ctl_cdr_lookup *l = &req->lookup;
	if (!strcmp(mode, "empty") || !ends_with_digits(l->calling, "2025550143") ||
	    !ends_with_digits(l->called, "2025550199"))
		return;
	for (size_t i = 0; i < N(fixed_records); i++) {
		uint64_t t = fixed_records[i].time_ms;
		uint64_t d = t > l->time_ms ? t - l->time_ms : l->time_ms - t;
		if (d <= l->tolerance_ms)
			out[resp->lookup.n++] = fixed_records[i];
	}
	resp->lookup.records = out;
}

static void answer_audit(const ht_ctl_request *req, ht_ctl_response *resp, ht_ctl_audit_entry *out)
{
	const ht_ctl_audit_query *q = &req->audit;
	if (!strcmp(mode, "empty"))
		return;
	for (size_t i = 0; i < N(fixed_audit); i++) {
		const ht_ctl_audit_entry *e = &fixed_audit[i];
		if (e->time_ms < q->since_ms || (q->until_ms && e->time_ms > q->until_ms) ||
		    (q->peer[0] && strcmp(q->peer, e->asking_peer) != 0) ||
		    (q->has_trace_id &&
		     (!e->has_trace_id || memcmp(q->trace_id, e->trace_id, 16) != 0)))
			continue;
		out[resp->audit.n++] = *e;
	}
	/* The oldest `limit`. */
	if (resp->audit.n > q->limit) {
		resp->audit.n = q->limit;
		resp->audit.truncated = true;
	}
	resp->audit.entries = out;
}

/* Answers one request; returns -1 when the connection is to be closed. */
static int answer(int fd, const uint8_t *body, size_t len, bool *hello_done, struct import *im,
		  unsigned *shows)
{
	static uint8_t bundle[BUNDLE_LEN];
	static bool made;
	for (size_t i = 0; i < BUNDLE_LEN && !made; i++)
		bundle[i] = (uint8_t)(i * 7 % 251);
	made = true;
	ht_ctl_request req;
	ht_ctl_response resp;
	ht_cdr records[N(fixed_records)];
	ht_ctl_audit_entry entries[N(fixed_audit)];
	int32_t res;

	if (!strcmp(mode, "silent"))
		return 0;
	if (!strcmp(mode, "garbage")) {
		static const uint8_t big[] = {0x7f, 0xff, 0xff, 0xff, 0x00};
		(void)!send(fd, big, sizeof(big), MSG_NOSIGNAL);
		return -1;
	}
	if (!strcmp(mode, "version")) {
		ht_ctl_response_set(&resp, HT_CTL_RESULT_UNSUPPORTED_VERSION,
				    "unsupported control protocol version: the client speaks "
				    "version 1, this server speaks version 2");
		resp.version = 2;
		send_response(fd, &resp);
		return -1;
	}

	res = ht_ctl_admit(body, len, *hello_done, &req, &resp);

	if (res == HT_CTL_RESULT_OK && req.type == HT_CTL_HELLO) {
		*hello_done = true;
	} else if (res == HT_CTL_RESULT_OK && !strcmp(mode, "error")) {
		ht_ctl_response_set(&resp, HT_CTL_RESULT_ERROR, "the peer table is not ready");
	} else if (res == HT_CTL_RESULT_OK && req.type == HT_CTL_STATUS) {
		resp.status = fixed_status;
		if (!strcmp(mode, "empty")) {
			resp.status.provider_id[0] = 0;
			resp.status.peers_up = resp.status.peers_total = 0;
		}
	} else if (res == HT_CTL_RESULT_OK && req.type == HT_CTL_PEERS) {
		if (strcmp(mode, "empty") != 0) {
			resp.n_peers = sizeof(fixed_peers) / sizeof(fixed_peers[0]);
			resp.peers = (ht_ctl_peer *)fixed_peers;
		}
	} else if (res == HT_CTL_RESULT_OK && req.type == HT_CTL_CDR_IMPORT) {
		answer_import(&req, im, &resp);
	} else if (res == HT_CTL_RESULT_OK && req.type == HT_CTL_CDR_STATS) {
		if (strcmp(mode, "empty") != 0) {
			ht_ctl_cdr_stats *st = &resp.cdr_stats;
			st->records = 1234567;
			st->partitions = 90;
			st->first_ms = T0;
			st->last_ms = T0 + 89 * 86400000ULL + 86399999;
			st->bytes_on_disk = 3ULL << 29; /* 1.5G */
			st->peers = (ht_ctl_peer_count *)fixed_counts;
			st->n_peers = N(fixed_counts);
		}
	} else if (res == HT_CTL_RESULT_OK && req.type == HT_CTL_CDR_LOOKUP) {
		answer_lookup(&req, &resp, records);
	} else if (res == HT_CTL_RESULT_OK && req.type == HT_CTL_AUDIT) {
		answer_audit(&req, &resp, entries);
	} else if (res == HT_CTL_RESULT_OK &&
		   (req.type == HT_CTL_TRACE_START || req.type == HT_CTL_TRACE_SHOW ||
		    req.type == HT_CTL_TRACE_LIST || req.type == HT_CTL_TRACE_EXPORT)) {
		answer_trace(&req, &resp, shows, bundle);
	}
	ht_ctl_request_clear(&req);
	ht_ctl_response_fit(&resp);
	if (send_response(fd, &resp) != 0)
		return -1;
	return ht_ctl_result_closes(res) ? -1 : 0;
}

static void serve(int fd)
{
	ht_ctl_reader r;
	bool hello_done = false;
	unsigned shows = 0;
	struct import im;
	memset(&im, 0, sizeof(im));
	uint8_t buf[4096];
	ht_ctl_reader_init(&r);
	for (;;) {
		ssize_t n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0 && errno == EINTR)
			continue;
		if (n <= 0)
			break;
		const uint8_t *p = buf;
		size_t left = (size_t)n, used;
		while (left > 0) {
			const uint8_t *body;
			size_t body_len;
			if (ht_ctl_reader_feed(&r, p, left, &used) != HT_OK) {
				ht_ctl_response resp;
				ht_ctl_response_set(&resp, HT_CTL_RESULT_MALFORMED,
						    "frame length over the limit");
				send_response(fd, &resp);
				goto out;
			}
			p += used;
			left -= used;
			if (ht_ctl_reader_frame(&r, &body, &body_len) &&
			    answer(fd, body, body_len, &hello_done, &im, &shows) != 0)
				goto out;
		}
	}
out:
	ht_ctl_reader_free(&r);
	close(fd);
}

int main(int argc, char **argv)
{
	static const char *const modes[] = {"ok",    "empty",  "slow",   "version",
					    "error", "silent", "garbage"};
	bool known = false;
	if (argc == 3)
		for (size_t i = 0; i < sizeof(modes) / sizeof(modes[0]); i++)
			known |= !strcmp(argv[1], modes[i]);
	if (!known) {
		fprintf(stderr, "usage: ctl_fake_server ok|empty|slow|version|error|silent|garbage "
				"SOCKET\n");
		return 2;
	}
	mode = argv[1];
	signal(SIGPIPE, SIG_IGN);
	fixed_hops_init();

	struct sockaddr_un sa;
	memset(&sa, 0, sizeof(sa));
	sa.sun_family = AF_UNIX;
	if (strlen(argv[2]) >= sizeof(sa.sun_path)) {
		fprintf(stderr, "ctl_fake_server: socket path too long\n");
		return 1;
	}
	strcpy(sa.sun_path, argv[2]);
	int lfd = socket(AF_UNIX, SOCK_STREAM, 0);
	if (lfd < 0)
		die("socket");
	/* As the daemon does: never more open than HT_CTL_SOCKET_MODE. */
	mode_t old = umask(0777 & ~HT_CTL_SOCKET_MODE);
	if (bind(lfd, (struct sockaddr *)&sa, sizeof(sa)) != 0)
		die(argv[2]);
	umask(old);
	if (listen(lfd, 8) != 0)
		die("listen");
	printf("ready\n");
	fflush(stdout);
	for (;;) {
		int fd = accept(lfd, NULL, NULL);
		if (fd < 0 && errno == EINTR)
			continue;
		if (fd < 0)
			die("accept");
		serve(fd);
	}
}
