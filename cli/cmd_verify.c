/*
 * hoptrace verify: checks an evidence bundle offline (ht_bundle_verify) and
 * prints the trace as a tree, as JSON, or as a Graphviz picture.
 */
#include <errno.h>
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "hoptrace/crl.h"
#include "hoptrace/keys.h"
#include "hoptrace/trace.h"
#include "hoptrace/trust.h"

static const char *attestation_name(uint8_t a)
{
	static const char *const names[] = {"unknown", "A", "B", "C"};
	return a < 4 ? names[a] : "unknown";
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = 0;
}

/* Whether FOUND node `k`'s call `c` is the first from its upstream. */
static bool first_from(const ht_answer_info *a, size_t c)
{
	for (size_t e = 0; e < c; e++)
		if (!a->calls[e].originated_here &&
		    strcmp(a->calls[e].upstream, a->calls[c].upstream) == 0)
			return false;
	return true;
}

/*
 * The nodes hanging from node `k` for its upstream `u`: the answer of `u`
 * one hop up, and `k`'s dead end at `u`. Calls `fn` for each; returns how many.
 */
static size_t branch(const ht_bundle_report *rep, size_t k, const char *u,
		     void (*fn)(const ht_bundle_report *, size_t, void *), void *arg)
{
	size_t n = 0;
	const ht_answer_info *p = &rep->nodes[k].info;
	for (size_t j = 0; j < rep->n_nodes; j++) {
		const ht_answer_info *a = &rep->nodes[j].info;
		if (rep->nodes[j].parent != (ssize_t)k)
			continue;
		bool mine = a->status == HT_ANSWER_DEAD_END
				    ? strcmp(a->upstream, u) == 0
				    : a->hop == p->hop + 1 && strcmp(a->provider_id, u) == 0;
		if (mine) {
			if (fn)
				fn(rep, j, arg);
			n++;
		}
	}
	return n;
}

/* ---- People ------------------------------------------------------------- */

static void print_node(const ht_bundle_report *rep, size_t k, void *depth_arg);

static void print_call(const ht_matched_call *c, int ind)
{
	char t[TIME_MS_STR_MAX], origid[2 * HT_ORIGID_LEN + 1] = "";
	human_time_ms(c->record_time_ms, t);
	if (c->has_origid)
		hex(c->origid, HT_ORIGID_LEN, origid);
	printf("%*s  call recorded %s, attestation %s%s%s: ", ind, "", t,
	       attestation_name(c->attestation), c->has_origid ? ", origid " : "", origid);
	if (!c->originated_here)
		printf("handed over by %s\n", c->upstream);
	else if (c->customer_ref[0])
		printf("originated here (customer %s)\n", c->customer_ref);
	else
		printf("originated here (customer not disclosed)\n");
}

static void print_node(const ht_bundle_report *rep, size_t k, void *depth_arg)
{
	int depth = *(const int *)depth_arg, ind = 2 * depth;
	const ht_answer_info *a = &rep->nodes[k].info;
	char t[TIME_MS_STR_MAX];
	human_time_ms(a->answered_ms, t);
	if (a->status == HT_ANSWER_DEAD_END) {
		printf("%*sdead end at %s: %s (stated by %s at hop %u, %s)\n", ind, "", a->upstream,
		       ht_reason_name(a->reason), a->provider_id, a->hop, t);
		return;
	}
	printf("%*shop %u  %s  %s", ind, "", a->hop, a->provider_id,
	       ht_answer_status_name(a->status));
	if (a->status == HT_ANSWER_REFUSED)
		printf(": %s", ht_reason_name(a->reason));
	printf("  (asked by %s, answered %s)\n", a->asked_by, t);
	if (a->status != HT_ANSWER_FOUND)
		return;
	for (size_t c = 0; c < a->n_calls; c++)
		print_call(&a->calls[c], ind + 5);
	int next = depth + 1;
	for (size_t c = 0; c < a->n_calls; c++) {
		const ht_matched_call *mc = &a->calls[c];
		if (mc->originated_here || !first_from(a, c))
			continue;
		if (branch(rep, k, mc->upstream, print_node, &next) == 0)
			printf("%*shop %u  %s  no answer (branch open)\n", 2 * next, "", a->hop + 1,
			       mc->upstream);
	}
}

/* Distinct providers whose FOUND answers name an origin, comma-separated. */
static void origins(const ht_bundle_report *rep, char *buf, size_t n, size_t *count)
{
	buf[0] = 0;
	*count = 0;
	for (size_t k = 0; k < rep->n_nodes; k++) {
		const ht_answer_info *a = &rep->nodes[k].info;
		bool origin = false;
		for (size_t c = 0; c < a->n_calls && a->status == HT_ANSWER_FOUND; c++)
			origin |= a->calls[c].originated_here;
		if (!origin)
			continue;
		bool seen = false;
		for (size_t j = 0; j < k && !seen; j++)
			seen = strcmp(rep->nodes[j].info.provider_id, a->provider_id) == 0 &&
			       rep->nodes[j].info.status == HT_ANSWER_FOUND;
		if (seen)
			continue;
		size_t used = strlen(buf);
		snprintf(buf + used, n - used, "%s%s", *count ? ", " : "", a->provider_id);
		(*count)++;
	}
}

static int print_human(const ht_bundle_report *rep)
{
	const ht_request_info *r = &rep->request;
	char id[2 * HT_TRACE_ID_LEN + 1], t1[TIME_MS_STR_MAX], t2[TIME_MS_STR_MAX];
	hex(r->trace_id, HT_TRACE_ID_LEN, id);
	printf("trace       %s\n", id);
	printf("initiator   %s\n", r->initiator_id);
	if (r->label[0])
		printf("label       %s\n", r->label);
	human_time_ms(r->call_time_ms, t1);
	printf("call        %s -> %s at %s (+/- %u ms)\n", rep->calling, rep->called, t1,
	       r->tolerance_ms);
	human_time_ms(r->created_ms, t1);
	human_time_ms(r->expires_ms, t2);
	printf("requested   %s, expires %s, hop limit %u\n\n", t1, t2, r->hop_limit);

	int depth = 0;
	for (size_t k = 0; k < rep->n_nodes; k++)
		if (rep->nodes[k].parent < 0)
			print_node(rep, k, &depth);
	if (rep->n_nodes == 0)
		printf("(no answers)\n");

	char who[512];
	size_t n_origins;
	origins(rep, who, sizeof(who), &n_origins);
	printf("\nevidence verified: %zu answer%s, ", rep->n_nodes, rep->n_nodes == 1 ? "" : "s");
	if (n_origins)
		printf("origin%s %s reached", n_origins == 1 ? "" : "s", who);
	else
		printf("no origin reached");
	if (!n_origins || rep->n_open)
		printf(", %zu open branch%s", rep->n_open, rep->n_open == 1 ? "" : "es");
	printf("\n");
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
}

/* ---- JSON --------------------------------------------------------------- */

static json_t *jcheck(json_t *v)
{
	if (!v)
		abort(); /* jansson fails only on allocation */
	return v;
}

static void jset(json_t *o, const char *key, json_t *v)
{
	if (json_object_set_new(o, key, jcheck(v)) != 0)
		abort();
}

static void jappend(json_t *a, json_t *v)
{
	if (json_array_append_new(a, jcheck(v)) != 0)
		abort();
}

/* A time as RFC 3339 under `key` and as ms under `key`_ms. */
static void jtime(json_t *o, const char *key, uint64_t ms)
{
	char t[TIME_MS_STR_MAX], k2[64];
	human_time_ms(ms, t);
	jset(o, key, json_string(t));
	snprintf(k2, sizeof(k2), "%s_ms", key);
	jset(o, k2, json_integer((json_int_t)(ms > INT64_MAX ? INT64_MAX : ms)));
}

static json_t *json_node(const ht_bundle_report *rep, size_t k);

static void json_child(const ht_bundle_report *rep, size_t j, void *arr)
{
	jappend(arr, json_node(rep, j));
}

static json_t *json_node(const ht_bundle_report *rep, size_t k)
{
	const ht_answer_info *a = &rep->nodes[k].info;
	json_t *o = jcheck(json_object());
	jset(o, "answer", json_integer((json_int_t)rep->nodes[k].answer));
	jset(o, "hop", json_integer(a->hop));
	jset(o, "provider", json_string(a->provider_id));
	jset(o, "asked_by", json_string(a->asked_by));
	jset(o, "status", json_string(ht_answer_status_name(a->status)));
	jtime(o, "answered", a->answered_ms);
	jtime(o, "window_time", a->window_time_ms);
	if (a->status == HT_ANSWER_REFUSED || a->status == HT_ANSWER_DEAD_END)
		jset(o, "reason", json_string(ht_reason_name(a->reason)));
	if (a->status == HT_ANSWER_DEAD_END)
		jset(o, "upstream", json_string(a->upstream));
	if (a->status != HT_ANSWER_FOUND)
		return o;

	json_t *calls = jcheck(json_array()), *children = jcheck(json_array()),
	       *open = jcheck(json_array());
	for (size_t c = 0; c < a->n_calls; c++) {
		const ht_matched_call *mc = &a->calls[c];
		json_t *jc = jcheck(json_object());
		jset(jc, "upstream", mc->originated_here ? json_null() : json_string(mc->upstream));
		jset(jc, "originated_here", json_boolean(mc->originated_here));
		if (mc->originated_here)
			jset(jc, "customer_ref", json_string(mc->customer_ref));
		jtime(jc, "record_time", mc->record_time_ms);
		jset(jc, "attestation", json_string(attestation_name(mc->attestation)));
		if (mc->has_origid) {
			char h[2 * HT_ORIGID_LEN + 1];
			hex(mc->origid, HT_ORIGID_LEN, h);
			jset(jc, "origid", json_string(h));
		}
		jappend(calls, jc);
		if (!mc->originated_here && first_from(a, c) &&
		    branch(rep, k, mc->upstream, json_child, children) == 0)
			jappend(open, json_string(mc->upstream));
	}
	jset(o, "calls", calls);
	jset(o, "children", children);
	jset(o, "open", open);
	return o;
}

static int print_json(const ht_bundle_report *rep, const char *file)
{
	const ht_request_info *r = &rep->request;
	char id[2 * HT_TRACE_ID_LEN + 1];
	json_t *o = jcheck(json_object()), *req = jcheck(json_object());
	jset(o, "file", json_string(file));
	jset(o, "verified", json_true());
	hex(r->trace_id, HT_TRACE_ID_LEN, id);
	jset(req, "trace_id", json_string(id));
	jset(req, "initiator", json_string(r->initiator_id));
	jset(req, "label", json_string(r->label));
	jtime(req, "created", r->created_ms);
	jtime(req, "expires", r->expires_ms);
	jtime(req, "call_time", r->call_time_ms);
	jset(req, "tolerance_ms", json_integer(r->tolerance_ms));
	jset(req, "hop_limit", json_integer(r->hop_limit));
	jset(req, "hint_bits", json_integer(r->hint_bits));
	jset(o, "request", req);
	jset(o, "calling", json_string(rep->calling));
	jset(o, "called", json_string(rep->called));
	jset(o, "answers", json_integer((json_int_t)rep->n_nodes));
	jset(o, "origin_found", json_boolean(rep->origin_found));
	json_t *orig = jcheck(json_array());
	for (size_t k = 0; k < rep->n_nodes; k++) {
		const ht_answer_info *a = &rep->nodes[k].info;
		for (size_t c = 0; c < a->n_calls && a->status == HT_ANSWER_FOUND; c++)
			if (a->calls[c].originated_here) {
				json_t *e = jcheck(json_object());
				jset(e, "provider", json_string(a->provider_id));
				jset(e, "hop", json_integer(a->hop));
				jset(e, "customer_ref", json_string(a->calls[c].customer_ref));
				jappend(orig, e);
			}
	}
	jset(o, "origins", orig);
	jset(o, "open_branches", json_integer((json_int_t)rep->n_open));
	json_t *tree = jcheck(json_array());
	for (size_t k = 0; k < rep->n_nodes; k++)
		if (rep->nodes[k].parent < 0)
			jappend(tree, json_node(rep, k));
	jset(o, "tree", tree);
	int ret = json_dumpf(o, stdout, JSON_INDENT(2)) == 0 ? EXIT_OK : EXIT_ERROR;
	putchar('\n');
	json_decref(o);
	return fflush(stdout) == 0 ? ret : EXIT_ERROR;
}

static int print_json_rejected(const ht_bundle_report *rep, const char *file)
{
	json_t *o = jcheck(json_object());
	jset(o, "file", json_string(file));
	jset(o, "verified", json_false());
	jset(o, "error", json_string(ht_errname(rep->error)));
	jset(o, "failed_answer",
	     rep->failed_answer < 0 ? json_null() : json_integer((json_int_t)rep->failed_answer));
	jset(o, "reason", json_string(rep->why));
	json_dumpf(o, stdout, JSON_INDENT(2));
	putchar('\n');
	json_decref(o);
	fflush(stdout);
	return EXIT_REJECTED;
}

/* ---- Graphviz ------------------------------------------------------------ */

/* `s` inside a DOT double-quoted string: quotes and backslashes escaped. */
static void dot_str(FILE *f, const char *s)
{
	for (; *s; s++) {
		unsigned char c = (unsigned char)*s;
		if (c == '"' || c == '\\')
			fprintf(f, "\\%c", c);
		else if (c < 0x20 || c == 0x7f)
			fprintf(f, "\\\\x%02x", c);
		else
			fputc(c, f);
	}
}

static void dot_edge(FILE *f, const char *from, const char *to, const char *style,
		     const char *label)
{
	fputs("  \"", f);
	dot_str(f, from);
	fputs("\" -> \"", f);
	dot_str(f, to);
	fprintf(f, "\" [style=%s, label=\"", style);
	dot_str(f, label);
	fputs("\"];\n", f);
}

/* Whether node `k` is the first of its provider (one Graphviz node per carrier). */
static bool first_of_provider(const ht_bundle_report *rep, size_t k)
{
	for (size_t j = 0; j < k; j++)
		if (strcmp(rep->nodes[j].info.provider_id, rep->nodes[k].info.provider_id) == 0)
			return false;
	return true;
}

static void dot_carrier(FILE *f, const ht_bundle_report *rep, size_t k)
{
	const char *id = rep->nodes[k].info.provider_id;
	bool origin = false;
	fputs("  \"", f);
	dot_str(f, id);
	fputs("\" [label=\"", f);
	dot_str(f, id);
	for (size_t j = k; j < rep->n_nodes; j++) {
		const ht_answer_info *a = &rep->nodes[j].info;
		char line[160];
		if (strcmp(a->provider_id, id) != 0 || a->status == HT_ANSWER_DEAD_END)
			continue;
		snprintf(line, sizeof(line), "hop %u: %s%s%s", a->hop,
			 ht_answer_status_name(a->status),
			 a->status == HT_ANSWER_REFUSED ? " " : "",
			 a->status == HT_ANSWER_REFUSED ? ht_reason_name(a->reason) : "");
		fputs("\\n", f);
		dot_str(f, line);
		for (size_t c = 0; c < a->n_calls && a->status == HT_ANSWER_FOUND; c++) {
			if (!a->calls[c].originated_here)
				continue;
			origin = true;
			fputs("\\noriginated here (customer ", f);
			dot_str(f, a->calls[c].customer_ref[0] ? a->calls[c].customer_ref
							       : "not disclosed");
			fputs(")", f);
		}
	}
	fprintf(f, "\"%s];\n", origin ? ", peripheries=2, style=bold" : "");
}

/* branch() callback: keeps the dead end among a branch's nodes. */
static void find_dead_end(const ht_bundle_report *rep, size_t j, void *out)
{
	if (rep->nodes[j].info.status == HT_ANSWER_DEAD_END)
		*(const ht_answer_info **)out = &rep->nodes[j].info;
}

/* Declares an upstream that never answered, once: dashed (dead end) or dotted (open). */
static void dot_silent(FILE *f, const ht_bundle_report *rep, const char **done, size_t *n_done,
		       const char *id, const char *style, const char *what)
{
	for (size_t k = 0; k < rep->n_nodes; k++)
		if (rep->nodes[k].info.status != HT_ANSWER_DEAD_END &&
		    strcmp(rep->nodes[k].info.provider_id, id) == 0)
			return; /* it answered elsewhere: declared as a carrier */
	for (size_t k = 0; k < *n_done; k++)
		if (strcmp(done[k], id) == 0)
			return;
	done[(*n_done)++] = id;
	fputs("  \"", f);
	dot_str(f, id);
	fprintf(f, "\" [style=%s, label=\"", style);
	dot_str(f, id);
	fputs("\\n", f);
	dot_str(f, what);
	fputs("\"];\n", f);
}

static char *make_dot(const ht_bundle_report *rep, size_t *len)
{
	char *buf = NULL, id[2 * HT_TRACE_ID_LEN + 1], label[128];
	/* Each FOUND call names at most one upstream, each dead end one. */
	size_t cap = 1, n_done = 0;
	for (size_t k = 0; k < rep->n_nodes; k++)
		cap += rep->nodes[k].info.n_calls + 1;
	const char **done = calloc(cap, sizeof(*done));
	FILE *f = done ? open_memstream(&buf, len) : NULL;
	if (!f) {
		free(done);
		return NULL;
	}
	hex(rep->request.trace_id, HT_TRACE_ID_LEN, id);
	fputs("digraph hoptrace {\n  rankdir=LR;\n  node [shape=box];\n  label=\"trace ", f);
	dot_str(f, id);
	fputs(", initiator ", f);
	dot_str(f, rep->request.initiator_id);
	if (rep->request.label[0]) {
		fputs(": ", f);
		dot_str(f, rep->request.label);
	}
	fputs("\";\n", f);
	for (size_t k = 0; k < rep->n_nodes; k++)
		if (rep->nodes[k].info.status != HT_ANSWER_DEAD_END && first_of_provider(rep, k))
			dot_carrier(f, rep, k);
	for (size_t k = 0; k < rep->n_nodes; k++) {
		const ht_answer_info *a = &rep->nodes[k].info;
		if (a->status == HT_ANSWER_DEAD_END && rep->nodes[k].parent < 0) {
			/* The initiator's own: its terminating carrier was not reached. */
			snprintf(label, sizeof(label), "dead end: %s", ht_reason_name(a->reason));
			dot_silent(f, rep, done, &n_done, a->upstream, "dashed", "not reached");
			dot_edge(f, a->upstream, a->provider_id, "dashed", label);
		}
		if (a->status != HT_ANSWER_FOUND)
			continue;
		for (size_t c = 0; c < a->n_calls; c++) {
			const ht_matched_call *mc = &a->calls[c];
			if (mc->originated_here || !first_from(a, c))
				continue;
			const ht_answer_info *de = NULL;
			size_t n = branch(rep, k, mc->upstream, find_dead_end, &de);
			if (n > (de ? 1u : 0u)) {
				dot_edge(f, mc->upstream, a->provider_id, "solid",
					 "handed call to");
			} else if (de) {
				snprintf(label, sizeof(label), "handed call to (dead end: %s)",
					 ht_reason_name(de->reason));
				dot_silent(f, rep, done, &n_done, mc->upstream, "dashed",
					   "dead end");
				dot_edge(f, mc->upstream, a->provider_id, "dashed", label);
			} else {
				dot_silent(f, rep, done, &n_done, mc->upstream, "dotted",
					   "no answer");
				dot_edge(f, mc->upstream, a->provider_id, "dotted",
					 "handed call to (no answer)");
			}
		}
	}
	fputs("}\n", f);
	free(done);
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* ---- The command ---------------------------------------------------------- */

int cmd_verify(int argc, char **argv)
{
	static const struct option opts[] = {
		{"anchor", required_argument, NULL, 'a'},
		{"crl", required_argument, NULL, 'l'},
		{"json", no_argument, NULL, 'j'},
		{"dot", required_argument, NULL, 'd'},
		{NULL, 0, NULL, 0},
	};
	const char *crl_path = NULL, *dot_path = NULL;
	bool json = false;
	int c, rc, ret = EXIT_OK, anchors = 0;
	uint8_t *buf = NULL;
	size_t len;
	ht_trust *trust;
	ht_bundle_report rep;
	memset(&rep, 0, sizeof(rep));

	if (ht_trust_new(&trust) != HT_OK)
		return fail(EXIT_ERROR, "out of memory");
	optind = 1;
	while ((c = getopt_long(argc, argv, ":", opts, NULL)) != -1) {
		switch (c) {
		case 'a':
			if ((ret = trust_add_anchor_file(trust, optarg)) != EXIT_OK)
				goto out;
			anchors++;
			break;
		case 'l':
			crl_path = optarg;
			break;
		case 'j':
			json = true;
			break;
		case 'd':
			dot_path = optarg;
			break;
		case ':':
			ret = usage_error("option '%s' needs a value", argv[optind - 1]);
			goto out;
		default:
			ret = usage_error("bad option '%s'", argv[optind - 1]);
			goto out;
		}
	}
	if (argc - optind != 1 || anchors == 0) {
		ret = usage_error(anchors ? "exactly one FILE is required"
					  : "at least one --anchor is required");
		goto out;
	}
	const char *file = argv[optind];

	if (crl_path && (ret = trust_add_crl_file(trust, crl_path)) != EXIT_OK)
		goto out;
	if ((ret = read_input(file, HT_BUNDLE_MAX, &buf, &len)) != EXIT_OK)
		goto out;

	rc = ht_bundle_verify(buf, len, trust, &rep);
	if (rc != HT_OK) {
		if (json)
			print_json_rejected(&rep, file);
		ret = fail(EXIT_REJECTED, "%s: rejected: %s", file, rep.why);
		goto out;
	}
	if (dot_path) {
		size_t dl;
		char *dot = make_dot(&rep, &dl);
		if (!dot) {
			ret = fail(EXIT_ERROR, "out of memory");
			goto out;
		}
		ret = write_output(dot_path, (const uint8_t *)dot, dl, true);
		free(dot);
		if (ret != EXIT_OK)
			goto out;
	}
	ret = json ? print_json(&rep, file) : print_human(&rep);
out:
	ht_bundle_report_free(&rep);
	free(buf);
	ht_trust_free(trust);
	return ret;
}
