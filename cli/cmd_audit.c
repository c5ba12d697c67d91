/*
 * hoptrace audit: lists the daemon's audit log of traceback requests
 * (spec/control.md, section 6.7), filtered by time, asking peer and trace ID.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "hoptrace/cert.h"
#include "hoptrace/control.h"

/* Parses 32 hex digits (either case) into 16 octets. */
static bool parse_trace_id(const char *s, uint8_t out[HT_CTL_TRACE_ID_LEN])
{
	if (strlen(s) != 2 * HT_CTL_TRACE_ID_LEN)
		return false;
	for (size_t i = 0; i < 2 * HT_CTL_TRACE_ID_LEN; i++) {
		char c = s[i];
		int v = c >= '0' && c <= '9'   ? c - '0'
			: c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10
					       : -1;
		if (v < 0)
			return false;
		if (i % 2 == 0)
			out[i / 2] = (uint8_t)(v << 4);
		else
			out[i / 2] |= (uint8_t)v;
	}
	return true;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	for (size_t i = 0; i < n; i++)
		sprintf(out + 2 * i, "%02x", b[i]);
	out[2 * n] = 0;
}

static int print_json(const ht_ctl_audit_list *a)
{
	struct out *o = out_new(true);
	out_array(o, "entries");
	for (size_t i = 0; i < a->n; i++) {
		const ht_ctl_audit_entry *e = &a->entries[i];
		struct out *r = out_append(o, "entries");
		char when[TIME_MS_STR_MAX];
		human_time_ms(e->time_ms, when);
		out_str(r, "time", when);
		out_u64(r, "time_ms", e->time_ms);
		if (e->has_trace_id)
			out_hex(r, "trace_id", e->trace_id, sizeof(e->trace_id));
		else
			out_null(r, "trace_id");
		if (e->asking_peer[0])
			out_str(r, "asking_peer", e->asking_peer);
		else
			out_null(r, "asking_peer");
		if (e->initiator[0])
			out_str(r, "initiator", e->initiator);
		else
			out_null(r, "initiator");
		out_str(r, "status", e->status);
		out_str(r, "disclosed", e->disclosed);
	}
	out_bool(o, "truncated", a->truncated);
	return out_finish(o);
}

static int print_table(const ht_ctl_audit_list *a)
{
	static const char *const headers[] = {
		"TIME", "TRACE-ID", "ASKING-PEER", "INITIATOR", "STATUS", "DISCLOSED",
	};
	struct table *t = table_new(headers, 6);
	for (size_t i = 0; i < a->n; i++) {
		const ht_ctl_audit_entry *e = &a->entries[i];
		char when[TIME_MS_STR_MAX], id[2 * HT_CTL_TRACE_ID_LEN + 1] = "-";
		human_time_ms(e->time_ms, when);
		if (e->has_trace_id)
			hex(e->trace_id, sizeof(e->trace_id), id);
		const char *cells[] = {
			when,
			id,
			e->asking_peer[0] ? e->asking_peer : "-",
			e->initiator[0] ? e->initiator : "-",
			e->status[0] ? e->status : "-",
			e->disclosed[0] ? e->disclosed : "-",
		};
		table_row(t, cells);
	}
	return table_finish(t);
}

int cmd_audit(int argc, char **argv)
{
	static const struct option opts[] = {
		{"socket", required_argument, NULL, 's'}, {"json", no_argument, NULL, 'j'},
		{"since", required_argument, NULL, 'S'},  {"until", required_argument, NULL, 'U'},
		{"peer", required_argument, NULL, 'p'},   {"trace", required_argument, NULL, 't'},
		{"limit", required_argument, NULL, 'n'},  {NULL, 0, NULL, 0},
	};
	const char *sock = NULL;
	bool json = false;
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = HT_CTL_AUDIT};
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
		case 'S':
		case 'U':
			if (!parse_time_ms(optarg, &v))
				return usage_error("--%s: '%s' is not RFC 3339, epoch seconds or "
						   "epoch ms",
						   opt == 'S' ? "since" : "until", optarg);
			if (opt == 'S')
				req.audit.since_ms = v;
			else
				req.audit.until_ms = v;
			break;
		case 'p':
			if (strlen(optarg) > HT_PROVIDER_ID_MAX ||
			    !ht_provider_id_valid(optarg, strlen(optarg)))
				return usage_error("--peer: '%s' is not a provider ID", optarg);
			memcpy(req.audit.peer, optarg, strlen(optarg) + 1);
			break;
		case 't':
			if (!parse_trace_id(optarg, req.audit.trace_id))
				return usage_error("--trace: a trace ID is 32 hex digits");
			req.audit.has_trace_id = true;
			break;
		case 'n':
			if (!parse_u64(optarg, &v) || v < 1 || v > HT_CTL_AUDIT_MAX)
				return usage_error("--limit: a number from 1 to %d",
						   HT_CTL_AUDIT_MAX);
			req.audit.limit = (uint32_t)v;
			break;
		case ':':
			return usage_error("option '%s' needs a value", argv[optind - 1]);
		default:
			return usage_error("bad option '%s'", argv[optind - 1]);
		}
	}
	if (optind != argc)
		return usage_error("unexpected argument '%s'", argv[optind]);
	if (req.audit.until_ms && req.audit.until_ms < req.audit.since_ms)
		return usage_error("--until is before --since");
	sock = ctl_socket_path(sock);
	if (!*sock)
		return usage_error("the socket path is empty");

	ht_ctl_response resp;
	int ret = ctl_one_call(sock, &req, &resp);
	if (ret != EXIT_OK)
		return ret;
	ret = json ? print_json(&resp.audit) : print_table(&resp.audit);
	if (ret == EXIT_OK && resp.audit.truncated)
		fprintf(stderr,
			"hoptrace: newer entries match too; the oldest %zu are shown (see --since, "
			"--limit)\n",
			resp.audit.n);
	ht_ctl_response_clear(&resp);
	return ret;
}
