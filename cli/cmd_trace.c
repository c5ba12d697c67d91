/*
 * Traceback commands: trace start (with --watch), trace show, trace list,
 * trace export (spec/control.md, sections 6.8 to 6.11), through the client
 * in ctl_client.c. The tree that show and watch print is rebuilt from the
 * answers' own claims: an answer at hop h+1 hangs under the FOUND answer at
 * hop h of the provider that asked it; a dead end hangs under the FOUND
 * answer of the provider that states it.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <time.h>

#include <sodium.h>

#include "cli.h"
#include "hoptrace/cert.h"
#include "hoptrace/control.h"

/* --watch asks the daemon this often. */
#define WATCH_POLL_MS 80
/* --watch gives up this long after the trace should have ended. */
#define WATCH_SLACK_MS 10000

#define HEX_ID (2 * HT_CTL_TRACE_ID_LEN + 1)

static void hex_id(const uint8_t *id, char out[HEX_ID])
{
	sodium_bin2hex(out, HEX_ID, id, HT_CTL_TRACE_ID_LEN);
}

static bool parse_id(const char *s, uint8_t out[HT_CTL_TRACE_ID_LEN])
{
	size_t n = 0;
	const char *end;
	return strlen(s) == 2 * HT_CTL_TRACE_ID_LEN &&
	       sodium_hex2bin(out, HT_CTL_TRACE_ID_LEN, s, strlen(s), NULL, &n, &end) == 0 &&
	       n == HT_CTL_TRACE_ID_LEN && *end == 0;
}

/* --- the tree of answers ------------------------------------------------------ */

/* A whole trace as the daemon showed it, all answers gathered. */
struct shown {
	ht_ctl_trace t; /* t.answers: every answer, t.n_answers == what was fetched */
	ssize_t *parent;
	bool *done; /* printed (watch: as it came; tree: visited) */
};

static bool ok(const ht_ctl_hop *h)
{
	return strcmp(h->verdict, "ok") == 0;
}

static bool lists_upstream(const ht_ctl_hop *h, const char *id)
{
	for (size_t i = 0; i < h->n_calls; i++)
		if (strcmp(h->calls[i].upstream, id) == 0)
			return true;
	return false;
}

static bool has_origin(const ht_ctl_hop *h)
{
	if (strcmp(h->status, "found") != 0)
		return false;
	for (size_t i = 0; i < h->n_calls; i++)
		if (h->calls[i].originated_here)
			return true;
	return false;
}

/* The answer `i` hangs under: the asker's FOUND answer one hop down, or -1. */
static ssize_t find_parent(const ht_ctl_trace *t, size_t i)
{
	const ht_ctl_hop *h = &t->answers[i];
	/* A rejected answer proves nothing: it hangs nowhere and leaves its
	 * branch open (spec/control.md, trace_show). */
	if (!h->provider_id[0] || !ok(h))
		return -1;
	for (size_t j = 0; j < t->n_answers; j++) {
		const ht_ctl_hop *p = &t->answers[j];
		if (j == i || strcmp(p->status, "found") != 0 || !ok(p))
			continue;
		if (!strcmp(h->status, "dead_end")) {
			if (p->hop == h->hop && !strcmp(p->provider_id, h->provider_id) &&
			    !strcmp(p->asked_by, h->asked_by) && lists_upstream(p, h->upstream))
				return (ssize_t)j;
		} else if (h->hop > 0 && p->hop + 1 == h->hop &&
			   !strcmp(p->provider_id, h->asked_by) &&
			   lists_upstream(p, h->provider_id)) {
			return (ssize_t)j;
		}
	}
	return -1;
}

static void link_tree(struct shown *s)
{
	for (size_t i = 0; i < s->t.n_answers; i++)
		s->parent[i] = find_parent(&s->t, i);
}

/* One answer on one line: "hop 2  carrier-c  found  <- carrier-d  (12.3 ms)". */
static void print_hop(const ht_ctl_trace *t, const ht_ctl_hop *h, int depth)
{
	char detail[1024] = "";
	size_t n = 0;
	if (!strcmp(h->status, "found")) {
		for (size_t i = 0; i < h->n_calls && n < sizeof(detail) - 100; i++) {
			const ht_ctl_hop_call *c = &h->calls[i];
			if (c->originated_here)
				n += (size_t)snprintf(detail + n, sizeof(detail) - n,
						      "%sorigin (customer %s)", i ? "; " : "",
						      c->customer_ref[0] ? c->customer_ref : "-");
			else
				n += (size_t)snprintf(detail + n, sizeof(detail) - n, "%s<- %s",
						      i ? "; " : "", c->upstream);
		}
	} else if (!strcmp(h->status, "dead_end")) {
		snprintf(detail, sizeof(detail), "at %s: %s", h->upstream[0] ? h->upstream : "?",
			 h->reason[0] ? h->reason : "-");
	} else if (h->reason[0]) {
		snprintf(detail, sizeof(detail), "%s", h->reason);
	}
	double took =
		h->received_ms >= t->started_ms ? (double)(h->received_ms - t->started_ms) : 0;
	char hop[16] = "?";
	if (h->provider_id[0])
		snprintf(hop, sizeof(hop), "%u", h->hop);
	printf("%*shop %s  %s  %s%s%s  (%.1f ms)", 2 * depth, "", hop,
	       h->provider_id[0] ? h->provider_id : "?", h->status[0] ? h->status : "unreadable",
	       detail[0] ? "  " : "", detail, took);
	if (!ok(h))
		printf("  REJECTED: %s", h->verdict);
	printf("\n");
}

static void print_subtree(struct shown *s, size_t i, int depth)
{
	s->done[i] = true;
	print_hop(&s->t, &s->t.answers[i], depth);
	for (size_t j = 0; j < s->t.n_answers; j++)
		if (!s->done[j] && s->parent[j] == (ssize_t)i)
			print_subtree(s, j, depth + 1);
}

/* The path from the first verified origin down to hop 0, or -1 for none. */
static ssize_t origin_answer(const struct shown *s)
{
	for (size_t i = 0; i < s->t.n_answers; i++)
		if (ok(&s->t.answers[i]) && has_origin(&s->t.answers[i]))
			return (ssize_t)i;
	return -1;
}

/* What is missing below a FOUND answer: upstreams with no answer and no dead end. */
static size_t open_branches(const struct shown *s, bool print)
{
	size_t open = 0;
	for (size_t i = 0; i < s->t.n_answers; i++) {
		const ht_ctl_hop *p = &s->t.answers[i];
		if (strcmp(p->status, "found") != 0 || !ok(p))
			continue;
		for (size_t c = 0; c < p->n_calls; c++) {
			const char *u = p->calls[c].upstream;
			bool seen = !u[0];
			for (size_t j = 0; j < s->t.n_answers && !seen; j++) {
				const ht_ctl_hop *h = &s->t.answers[j];
				seen = s->parent[j] == (ssize_t)i &&
				       (!strcmp(h->provider_id, u) ||
					(!strcmp(h->status, "dead_end") &&
					 !strcmp(h->upstream, u)));
			}
			for (size_t k = 0; k < c && !seen; k++)
				seen = !strcmp(p->calls[k].upstream, u);
			if (!seen) {
				open++;
				if (print)
					printf("  open: %s (hop %u) named %s, which has not "
					       "answered\n",
					       p->provider_id, p->hop, u);
			}
		}
	}
	return open;
}

/* The closing lines of show and watch; true when an origin was reached. */
static bool print_result(struct shown *s)
{
	ssize_t o = origin_answer(s);
	size_t rejected = 0, dead = 0;
	for (size_t i = 0; i < s->t.n_answers; i++) {
		rejected += !ok(&s->t.answers[i]);
		dead += ok(&s->t.answers[i]) && !strcmp(s->t.answers[i].status, "dead_end");
	}
	printf("\nresult: %s", s->t.status);
	if (o >= 0) {
		const ht_ctl_hop *h = &s->t.answers[o];
		printf(", origin %s", h->provider_id);
		for (size_t i = 0; i < h->n_calls; i++)
			if (h->calls[i].originated_here && h->calls[i].customer_ref[0]) {
				printf(" (customer %s)", h->calls[i].customer_ref);
				break;
			}
		printf("\npath: ");
		size_t guard = 0;
		for (ssize_t i = o; i >= 0 && guard++ <= s->t.n_answers; i = s->parent[i])
			printf("%s%s", i == o ? "" : " -> ", s->t.answers[i].provider_id);
		printf("\n");
	} else {
		printf(", no origin found\n");
	}
	if (dead)
		for (size_t i = 0; i < s->t.n_answers; i++) {
			const ht_ctl_hop *h = &s->t.answers[i];
			if (ok(h) && !strcmp(h->status, "dead_end"))
				printf("  dead end: %s (hop %u) at %s: %s\n", h->provider_id,
				       h->hop, h->upstream, h->reason);
		}
	open_branches(s, true);
	if (rejected)
		printf("  %zu answer%s rejected (not evidence)\n", rejected,
		       rejected == 1 ? "" : "s");
	if (s->t.answers_dropped)
		printf("  %u answers over the limit were not kept\n", s->t.answers_dropped);
	return o >= 0;
}

static void print_header(const ht_ctl_trace *t)
{
	char id[HEX_ID], when[TIME_MS_STR_MAX], created[TIME_MS_STR_MAX];
	hex_id(t->trace_id, id);
	human_time_ms(t->call_time_ms, when);
	human_time_ms(t->created_ms, created);
	printf("trace %s  %s\n", id, t->status);
	printf("call %s -> %s at %s +/- %.3f s\n", t->calling, t->called, when,
	       (double)t->tolerance_ms / 1000);
	printf("started %s by %s%s%s, hop limit %u%s%s\n", created, t->initiator,
	       t->to[0] ? " via " : "", t->to, t->hop_limit, t->label[0] ? ", label: " : "",
	       t->label);
}

/* --- JSON ------------------------------------------------------------------------- */

static void json_id(struct out *o, const char *key, const char *id)
{
	if (id[0])
		out_str(o, key, id);
	else
		out_null(o, key);
}

static void json_time(struct out *o, const char *key, uint64_t ms)
{
	char buf[TIME_MS_STR_MAX], k2[48];
	snprintf(k2, sizeof(k2), "%s_ms", key);
	if (ms == 0) {
		out_null(o, key);
		out_null(o, k2);
		return;
	}
	human_time_ms(ms, buf);
	out_str(o, key, buf);
	out_u64(o, k2, ms);
}

static void json_hop(struct out *e, const struct shown *s, size_t i)
{
	const ht_ctl_hop *h = &s->t.answers[i];
	out_u64(e, "index", s->t.from + i);
	json_id(e, "provider_id", h->provider_id);
	out_u64(e, "hop", h->hop);
	json_id(e, "asked_by", h->asked_by);
	json_id(e, "status", h->status);
	json_id(e, "reason", h->reason);
	json_id(e, "upstream", h->upstream);
	out_array(e, "calls");
	for (size_t c = 0; c < h->n_calls; c++) {
		const ht_ctl_hop_call *k = &h->calls[c];
		struct out *x = out_append(e, "calls");
		char att[2] = {k->attestation, 0};
		json_id(x, "upstream", k->upstream);
		out_bool(x, "originated_here", k->originated_here);
		out_str(x, "customer_ref", k->customer_ref);
		json_time(x, "record_time", k->record_time_ms);
		json_id(x, "attestation", att);
		if (k->has_origid) {
			char u[37];
			ht_uuid_format(k->origid, u);
			out_str(x, "origid", u);
		} else {
			out_null(x, "origid");
		}
	}
	json_time(e, "answered", h->answered_ms);
	json_time(e, "window_time", h->window_time_ms);
	json_time(e, "received", h->received_ms);
	out_u64(e, "elapsed_ms",
		h->received_ms >= s->t.started_ms ? h->received_ms - s->t.started_ms : 0);
	out_str(e, "verdict", h->verdict);
	if (s->parent[i] >= 0)
		out_u64(e, "parent", (uint64_t)s->parent[i]);
	else
		out_null(e, "parent");
}

static int print_json(struct shown *s)
{
	const ht_ctl_trace *t = &s->t;
	char id[HEX_ID];
	struct out *o = out_new(true);
	hex_id(t->trace_id, id);
	out_str(o, "trace_id", id);
	out_str(o, "status", t->status);
	json_id(o, "initiator", t->initiator);
	out_str(o, "calling", t->calling);
	out_str(o, "called", t->called);
	json_time(o, "call_time", t->call_time_ms);
	out_u64(o, "tolerance_ms", t->tolerance_ms);
	out_u64(o, "hop_limit", t->hop_limit);
	out_str(o, "label", t->label);
	json_id(o, "to", t->to);
	json_time(o, "created", t->created_ms);
	json_time(o, "expires", t->expires_ms);
	json_time(o, "started", t->started_ms);
	json_time(o, "finished", t->finished_ms);
	out_array(o, "answers");
	for (size_t i = 0; i < t->n_answers; i++)
		json_hop(out_append(o, "answers"), s, i);
	out_u64(o, "answers_dropped", t->answers_dropped);
	ssize_t org = origin_answer(s);
	if (org >= 0) {
		json_id(o, "origin", t->answers[org].provider_id);
		const char *path[HT_CTL_TRACE_ANSWERS_MAX + 1];
		size_t n = 0;
		for (ssize_t i = org; i >= 0 && n < t->n_answers; i = s->parent[i])
			path[n++] = t->answers[i].provider_id;
		out_list(o, "path", path, n);
	} else {
		out_null(o, "origin");
		out_list(o, "path", NULL, 0);
	}
	out_u64(o, "open_branches", open_branches(s, false));
	return out_finish(o);
}

/* --- talking to the daemon ----------------------------------------------------------- */

static void shown_free(struct shown *s)
{
	free(s->t.answers);
	free(s->parent);
	free(s->done);
	memset(s, 0, sizeof(*s));
}

/*
 * Asks for the answers of trace `id` from s->t.n_answers on, pages until
 * the daemon has listed all it holds, and appends them to `s` (the summary
 * fields are refreshed).
 */
static int fetch(struct ctl_client *c, const uint8_t *id, struct shown *s)
{
	for (;;) {
		ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_TRACE_SHOW};
		ht_ctl_response resp;
		memcpy(req.trace.trace_id, id, HT_CTL_TRACE_ID_LEN);
		req.trace.from = (uint32_t)s->t.n_answers;
		int ret = ctl_client_call(c, &req, CTL_REPLY_TIMEOUT_MS, &resp);
		if (ret != EXIT_OK)
			return ret;
		ht_ctl_trace *t = &resp.trace;
		if (t->from != s->t.n_answers || memcmp(t->trace_id, id, HT_CTL_TRACE_ID_LEN)) {
			ht_ctl_response_clear(&resp);
			return fail(EXIT_ERROR, "%s: hoptraced answered about other answers",
				    ctl_client_path(c));
		}
		size_t have = s->t.n_answers, n = have + t->n_answers;
		ht_ctl_hop *all = s->t.answers;
		if (t->n_answers) {
			all = realloc(s->t.answers, n * sizeof(*all));
			ssize_t *par = realloc(s->parent, n * sizeof(*par));
			bool *done = realloc(s->done, n * sizeof(*done));
			if (!all || !par || !done)
				abort();
			memcpy(all + have, t->answers, t->n_answers * sizeof(*all));
			memset(done + have, 0, t->n_answers * sizeof(*done));
			s->parent = par;
			s->done = done;
		}
		bool more = t->from + t->n_answers < t->answers_total && t->n_answers > 0;
		free(t->answers);
		s->t = *t;
		s->t.answers = all;
		s->t.n_answers = n;
		s->t.from = 0;
		if (!more)
			return EXIT_OK;
	}
}

static int show_trace(const char *sock, const uint8_t *id, bool json)
{
	struct ctl_client *c;
	struct shown s;
	memset(&s, 0, sizeof(s));
	int ret = ctl_client_open(sock, &c);
	if (ret == EXIT_OK)
		ret = fetch(c, id, &s);
	ctl_client_close(c);
	if (ret != EXIT_OK) {
		shown_free(&s);
		return ret;
	}
	link_tree(&s);
	if (json) {
		ret = print_json(&s);
	} else {
		print_header(&s.t);
		printf("\n");
		for (size_t i = 0; i < s.t.n_answers; i++)
			if (s.parent[i] < 0)
				print_subtree(&s, i, 0);
		for (size_t i = 0; i < s.t.n_answers; i++) /* what a cycle of claims hid */
			if (!s.done[i])
				print_subtree(&s, i, 0);
		if (s.t.n_answers == 0)
			printf("(no answers yet)\n");
		print_result(&s);
		ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
	}
	shown_free(&s);
	return ret;
}

/* Polls until the trace ends, printing each answer as it comes. */
static int watch(struct ctl_client *c, const uint8_t *id, bool json)
{
	struct shown s;
	memset(&s, 0, sizeof(s));
	uint64_t start = clock_ms(CLOCK_MONOTONIC), deadline = 0;
	int ret;
	for (;;) {
		size_t printed = s.t.n_answers;
		if ((ret = fetch(c, id, &s)) != EXIT_OK)
			break;
		if (!deadline)
			deadline = start + (s.t.expires_ms - s.t.created_ms) + WATCH_SLACK_MS;
		if (!json) {
			link_tree(&s);
			for (size_t i = printed; i < s.t.n_answers; i++) {
				int depth = 0;
				for (ssize_t p = s.parent[i]; p >= 0 && depth < 64; p = s.parent[p])
					depth++;
				print_hop(&s.t, &s.t.answers[i], depth);
			}
			fflush(stdout);
		}
		if (strcmp(s.t.status, HT_CTL_TRACE_RUNNING) != 0)
			break;
		if (clock_ms(CLOCK_MONOTONIC) > deadline) {
			ret = fail(EXIT_ERROR, "the trace is still running long after its expiry; "
					       "see 'hoptrace trace show'");
			break;
		}
		struct timespec ts = {0, WATCH_POLL_MS * 1000000L};
		while (nanosleep(&ts, &ts) != 0 && errno == EINTR)
			;
	}
	if (ret == EXIT_OK) {
		link_tree(&s);
		bool origin;
		if (json) {
			origin = origin_answer(&s) >= 0;
			ret = print_json(&s);
		} else {
			origin = print_result(&s);
			ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
		}
		if (ret == EXIT_OK && !(origin && !strcmp(s.t.status, HT_CTL_TRACE_COMPLETE)))
			ret = EXIT_REJECTED;
	}
	shown_free(&s);
	return ret;
}

/* --- commands ------------------------------------------------------------------------ */

int cmd_trace_start(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"calling", required_argument, NULL, 'a'},
		{"called", required_argument, NULL, 'b'},
		{"time", required_argument, NULL, 't'},
		{"tolerance", required_argument, NULL, 'T'},
		{"to", required_argument, NULL, 'p'},
		{"label", required_argument, NULL, 'l'},
		{"watch", no_argument, NULL, 'w'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = NULL, *calling = NULL, *called = NULL, *when = NULL;
	bool json = false, do_watch = false;
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_TRACE_START};
	ht_ctl_trace_start *q = &req.trace_start;
	int opt;
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
			if (!parse_seconds_ms(optarg, HT_CTL_TOLERANCE_MAX_MS, &q->tolerance_ms) ||
			    q->tolerance_ms == 0)
				return usage_error("--tolerance: '%s' is not a number of seconds "
						   "from 0.001 to %u (to the ms)",
						   optarg, HT_CTL_TOLERANCE_MAX_MS / 1000);
			break;
		case 'p':
			if (strlen(optarg) > HT_PROVIDER_ID_MAX ||
			    !ht_provider_id_valid(optarg, strlen(optarg)))
				return usage_error("--to: '%s' is not a provider ID", optarg);
			memcpy(q->to, optarg, strlen(optarg) + 1);
			break;
		case 'l':
			if (strlen(optarg) > HT_CTL_LABEL_MAX ||
			    !ht_ctl_text_valid(optarg, strlen(optarg)))
				return usage_error("--label: at most %d bytes of text, without "
						   "control characters",
						   HT_CTL_LABEL_MAX);
			memcpy(q->label, optarg, strlen(optarg) + 1);
			break;
		case 'w':
			do_watch = true;
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
	char *dst[2] = {q->calling, q->called};
	for (int i = 0; i < 2; i++) {
		size_t n = strlen(num[i]);
		if (n == 0 || n > HT_CTL_NUMBER_MAX || !ht_ctl_text_valid(num[i], n))
			return usage_error("--%s: not a phone number (at most %d characters)",
					   i ? "called" : "calling", HT_CTL_NUMBER_MAX);
		memcpy(dst[i], num[i], n + 1);
	}
	if (!parse_time_ms(when, &q->time_ms) || q->time_ms == 0)
		return usage_error("--time: '%s' is not RFC 3339, epoch seconds or epoch ms", when);
	sock = ctl_socket_path(sock);
	if (!*sock)
		return usage_error("the socket path is empty");

	struct ctl_client *c;
	ht_ctl_response resp;
	int ret = ctl_client_open(sock, &c);
	if (ret == EXIT_OK)
		ret = ctl_client_call(c, &req, CTL_REPLY_TIMEOUT_MS, &resp);
	if (ret != EXIT_OK) {
		ctl_client_close(c);
		return ret;
	}
	uint8_t id[HT_CTL_TRACE_ID_LEN];
	char hex[HEX_ID];
	memcpy(id, resp.started, sizeof(id));
	ht_ctl_response_clear(&resp);
	hex_id(id, hex);
	if (do_watch) {
		if (!json) {
			printf("trace %s\n", hex);
			fflush(stdout);
		}
		ret = watch(c, id, json);
	} else if (json) {
		struct out *o = out_new(true);
		out_str(o, "trace_id", hex);
		ret = out_finish(o);
	} else {
		printf("%s\n", hex);
		ret = fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
	}
	ctl_client_close(c);
	return ret;
}

/* [-s SOCKET] [--json] ID, for show. */
static int id_opts(int argc, char **argv, const char **sock, bool *json, uint8_t *id)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{NULL, 0, NULL, 0},
	};
	int opt;
	*sock = NULL;
	*json = false;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":s:", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			*sock = optarg;
			break;
		case 'j':
			*json = true;
			break;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return usage_error("which trace? (its ID: 32 hex digits)");
	if (optind + 1 != argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (!parse_id(argv[optind], id))
		return usage_error("'%s' is not a trace ID (32 hex digits)", argv[optind]);
	*sock = ctl_socket_path(*sock);
	if (!**sock)
		return usage_error("the socket path is empty");
	return EXIT_OK;
}

int cmd_trace_show(int argc, char **argv)
{
	const char *sock;
	bool json;
	uint8_t id[HT_CTL_TRACE_ID_LEN];
	int ret = id_opts(argc, argv, &sock, &json, id);
	return ret == EXIT_OK ? show_trace(sock, id, json) : ret;
}

static int print_list(const ht_ctl_trace_list *l, bool json)
{
	if (json) {
		struct out *o = out_new(true);
		out_array(o, "traces");
		for (size_t i = 0; i < l->n; i++) {
			const ht_ctl_trace_entry *e = &l->entries[i];
			struct out *x = out_append(o, "traces");
			char id[HEX_ID];
			hex_id(e->trace_id, id);
			out_str(x, "trace_id", id);
			json_time(x, "created", e->created_ms);
			json_time(x, "call_time", e->call_time_ms);
			out_str(x, "status", e->status);
			out_u64(x, "answers", e->answers);
			json_id(x, "origin", e->origin);
			out_str(x, "label", e->label);
		}
		out_bool(o, "truncated", l->truncated);
		return out_finish(o);
	}
	static const char *const headers[] = {"TRACE-ID", "CREATED", "STATUS",
					      "ANSWERS",  "ORIGIN",  "LABEL"};
	struct table *t = table_new(headers, 6);
	for (size_t i = 0; i < l->n; i++) {
		const ht_ctl_trace_entry *e = &l->entries[i];
		char id[HEX_ID], when[TIME_MS_STR_MAX], n[16];
		hex_id(e->trace_id, id);
		human_time_ms(e->created_ms, when);
		snprintf(n, sizeof(n), "%u", e->answers);
		const char *cells[] = {id,
				       when,
				       e->status,
				       n,
				       e->origin[0] ? e->origin : "-",
				       e->label[0] ? e->label : "-"};
		table_row(t, cells);
	}
	return table_finish(t);
}

int cmd_trace_list(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"limit", required_argument, NULL, 'n'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = NULL;
	bool json = false;
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_TRACE_LIST};
	uint64_t v;
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":s:", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'n':
			if (!parse_u64(optarg, &v) || v < 1 || v > HT_CTL_TRACE_LIST_MAX)
				return usage_error("--limit: a number from 1 to %d",
						   HT_CTL_TRACE_LIST_MAX);
			req.trace.limit = (uint32_t)v;
			break;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	sock = ctl_socket_path(sock);
	if (!*sock)
		return usage_error("the socket path is empty");
	ht_ctl_response resp;
	int ret = ctl_one_call(sock, &req, &resp);
	if (ret != EXIT_OK)
		return ret;
	ret = print_list(&resp.traces, json);
	if (ret == EXIT_OK && resp.traces.truncated)
		fprintf(stderr,
			"hoptrace: older traces exist; the newest %zu are shown (see "
			"--limit)\n",
			resp.traces.n);
	ht_ctl_response_clear(&resp);
	return ret;
}

/* Fetches the bundle piece by piece; false with *ret set when it changed meanwhile. */
static bool fetch_bundle(struct ctl_client *c, const uint8_t *id, uint8_t **out, size_t *out_len,
			 uint32_t *answers, int *ret)
{
	uint8_t digest[HT_CTL_DIGEST_LEN], *buf = NULL;
	uint64_t total = 0, off = 0;
	do {
		ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_TRACE_EXPORT};
		ht_ctl_response resp;
		memcpy(req.trace.trace_id, id, HT_CTL_TRACE_ID_LEN);
		req.trace.offset = off;
		if ((*ret = ctl_client_call(c, &req, CTL_REPLY_TIMEOUT_MS, &resp)) != EXIT_OK) {
			free(buf);
			return true;
		}
		const ht_ctl_trace_export *e = &resp.bundle;
		if (off == 0) {
			total = e->total;
			memcpy(digest, e->digest, sizeof(digest));
			*answers = e->answers;
			if (!(buf = malloc(total ? total : 1)))
				abort();
		}
		bool same = e->total == total && !memcmp(e->digest, digest, sizeof(digest));
		if (same && (e->offset != off || (e->len == 0 && off < total))) {
			ht_ctl_response_clear(&resp);
			free(buf);
			*ret = fail(EXIT_ERROR, "%s: hoptraced sent the wrong piece of the bundle",
				    ctl_client_path(c));
			return true;
		}
		if (!same) { /* an answer arrived between two pieces */
			ht_ctl_response_clear(&resp);
			free(buf);
			return false;
		}
		memcpy(buf + off, e->data, e->len);
		off += e->len;
		ht_ctl_response_clear(&resp);
	} while (off < total);
	uint8_t check[HT_CTL_DIGEST_LEN];
	crypto_generichash(check, sizeof(check), buf, total, NULL, 0);
	if (sodium_memcmp(check, digest, sizeof(digest)) != 0) {
		free(buf);
		*ret = fail(EXIT_ERROR, "%s: the bundle does not match its digest",
			    ctl_client_path(c));
		return true;
	}
	*out = buf;
	*out_len = total;
	*ret = EXIT_OK;
	return true;
}

int cmd_trace_export(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'},
		{"json", no_argument, NULL, 'j'},
		{"output", required_argument, NULL, 'o'},
		{"force", no_argument, NULL, 'f'},
		{NULL, 0, NULL, 0},
	};
	const char *sock = NULL, *path = NULL;
	bool json = false, force = false;
	uint8_t id[HT_CTL_TRACE_ID_LEN];
	int opt;
	optind = 1;
	while ((opt = getopt_long(argc, argv, ":s:o:", opts, NULL)) != -1) {
		switch (opt) {
		case 's':
			sock = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'o':
			path = optarg;
			break;
		case 'f':
			force = true;
			break;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind == argc)
		return usage_error("which trace? (its ID: 32 hex digits)");
	if (optind + 1 != argc)
		return usage_error("unexpected argument '%s'", argv[optind + 1]);
	if (!parse_id(argv[optind], id))
		return usage_error("'%s' is not a trace ID (32 hex digits)", argv[optind]);
	if (!path || !*path)
		return usage_error("-o FILE is required");
	sock = ctl_socket_path(sock);
	if (!*sock)
		return usage_error("the socket path is empty");

	struct ctl_client *c;
	int ret = ctl_client_open(sock, &c);
	if (ret != EXIT_OK)
		return ret;
	/* The status first: a running trace's bundle holds only the answers so far. */
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_TRACE_SHOW};
	ht_ctl_response resp;
	char status[HT_CTL_TRACE_STATUS_MAX + 1] = "";
	memcpy(req.trace.trace_id, id, sizeof(id));
	req.trace.from = UINT32_MAX; /* no answers */
	if ((ret = ctl_client_call(c, &req, CTL_REPLY_TIMEOUT_MS, &resp)) == EXIT_OK) {
		memcpy(status, resp.trace.status, sizeof(status));
		ht_ctl_response_clear(&resp);
	}
	uint8_t *bundle = NULL;
	size_t len = 0;
	uint32_t answers = 0;
	bool done = ret != EXIT_OK;
	for (int tries = 0; !done && tries < 5; tries++)
		done = fetch_bundle(c, id, &bundle, &len, &answers, &ret);
	ctl_client_close(c);
	if (!done)
		return fail(EXIT_ERROR, "the trace kept changing while it was exported; try again");
	if (ret != EXIT_OK)
		return ret;
	ret = write_output(path, bundle, len, force);
	free(bundle);
	if (ret != EXIT_OK)
		return ret;
	char hex[HEX_ID];
	hex_id(id, hex);
	if (!strcmp(status, HT_CTL_TRACE_RUNNING))
		fprintf(stderr,
			"hoptrace: trace %s is still running; the bundle holds the "
			"answers received so far\n",
			hex);
	struct out *o = out_new(json);
	out_str(o, "trace_id", hex);
	out_str(o, "file", path);
	out_u64(o, "bytes", len);
	out_u64(o, "answers", answers);
	out_str(o, "status", status);
	return out_finish(o);
}
