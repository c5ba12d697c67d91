/*
 * Commands that ask the running daemon over its control socket: status,
 * peers (spec/control.md), through the client in ctl_client.c.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "cli.h"
#include "hoptrace/control.h"
#include "hoptrace/timefmt.h"

/*
 * Parses [-s SOCKET] [--json], connects, says hello and makes the request
 * of `type` (cli/ctl_client.c). On EXIT_OK the caller prints `resp` and
 * clears it.
 */
static int run(int argc, char **argv, ht_ctl_type type, bool *json, ht_ctl_response *resp)
{
	const char *sock;
	int ret = ctl_simple_opts(argc, argv, &sock, json);
	if (ret != EXIT_OK)
		return ret;

	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = type};
	return ctl_one_call(sock, &req, resp);
}

/* "45s", "5m 3s", "2h 3m", "3d 4h". */
static void fmt_duration(uint64_t s, char *buf, size_t n)
{
	unsigned long long v = s;
	if (v < 60)
		snprintf(buf, n, "%llus", v);
	else if (v < 3600)
		snprintf(buf, n, "%llum %llus", v / 60, v % 60);
	else if (v < 86400)
		snprintf(buf, n, "%lluh %llum", v / 3600, v % 3600 / 60);
	else
		snprintf(buf, n, "%llud %lluh", v / 86400, v % 86400 / 3600);
}

/* "512B", "1.5K", "20.0M": powers of 1024. */
static void fmt_bytes(uint64_t b, char *buf, size_t n)
{
	static const char units[] = "KMGTPE";
	if (b < 1024) {
		snprintf(buf, n, "%lluB", (unsigned long long)b);
		return;
	}
	double v = (double)b / 1024;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, "%.1f%c", v, units[u]);
}

/* "850us", "12.3ms", "1.25s"; "-" when unknown. */
static void fmt_rtt(uint64_t us, char *buf, size_t n)
{
	if (us == 0)
		snprintf(buf, n, "-");
	else if (us < 1000)
		snprintf(buf, n, "%lluus", (unsigned long long)us);
	else if (us < 1000000)
		snprintf(buf, n, "%.1fms", (double)us / 1000);
	else
		snprintf(buf, n, "%.2fs", (double)us / 1000000);
}

/* How long ago `ms` was, as a duration; clocks that disagree give "0s". */
static void fmt_ago(uint64_t ms, uint64_t now_ms, char *buf, size_t n)
{
	fmt_duration(now_ms > ms ? (now_ms - ms) / 1000 : 0, buf, n);
}

int cmd_status(int argc, char **argv)
{
	bool json;
	ht_ctl_response resp;
	int ret = run(argc, argv, HT_CTL_STATUS, &json, &resp);
	if (ret != EXIT_OK)
		return ret;
	const ht_ctl_status *s = &resp.status;
	struct out *o = out_new(json);
	if (json) {
		out_str(o, "daemon_version", s->daemon_version);
		if (s->provider_id[0])
			out_str(o, "provider_id", s->provider_id);
		else
			out_null(o, "provider_id");
		out_u64(o, "uptime_s", s->uptime_s);
		out_u64(o, "peers_up", s->peers_up);
		out_u64(o, "peers_total", s->peers_total);
		out_u64(o, "msgs_in", s->msgs_in);
		out_u64(o, "msgs_out", s->msgs_out);
		out_u64(o, "bytes_in", s->bytes_in);
		out_u64(o, "bytes_out", s->bytes_out);
		out_u64(o, "handshakes_ok", s->handshakes_ok);
		out_u64(o, "handshakes_failed", s->handshakes_failed);
		out_u64(o, "conns_refused", s->conns_refused);
	} else {
		char line[128], a[32], b[32];
		out_str(o, "version", s->daemon_version);
		out_str(o, "provider", s->provider_id[0] ? s->provider_id : "(none)");
		fmt_duration(s->uptime_s, line, sizeof(line));
		out_str(o, "uptime", line);
		snprintf(line, sizeof(line), "%lu up of %lu", (unsigned long)s->peers_up,
			 (unsigned long)s->peers_total);
		out_str(o, "peers", line);
		snprintf(line, sizeof(line), "in %llu, out %llu", (unsigned long long)s->msgs_in,
			 (unsigned long long)s->msgs_out);
		out_str(o, "messages", line);
		fmt_bytes(s->bytes_in, a, sizeof(a));
		fmt_bytes(s->bytes_out, b, sizeof(b));
		snprintf(line, sizeof(line), "in %s, out %s", a, b);
		out_str(o, "bytes", line);
		snprintf(line, sizeof(line), "ok %llu, failed %llu",
			 (unsigned long long)s->handshakes_ok,
			 (unsigned long long)s->handshakes_failed);
		out_str(o, "handshakes", line);
		snprintf(line, sizeof(line), "%llu connections",
			 (unsigned long long)s->conns_refused);
		out_str(o, "refused", line);
	}
	ht_ctl_response_clear(&resp);
	return out_finish(o);
}

/* A time in ms since the epoch as RFC 3339 and its _ms twin; null when 0. */
static void json_time_ms(struct out *o, const char *key, uint64_t ms)
{
	char k2[32];
	snprintf(k2, sizeof(k2), "%s_ms", key);
	if (ms == 0) {
		out_null(o, key);
		out_null(o, k2);
		return;
	}
	char buf[HT_TIME_STR_MAX];
	ht_time_format(ms / 1000, buf);
	out_str(o, key, buf);
	out_u64(o, k2, ms);
}

static int print_peers_json(const ht_ctl_response *resp)
{
	struct out *o = out_new(true);
	out_array(o, "peers");
	for (size_t i = 0; i < resp->n_peers; i++) {
		const ht_ctl_peer *p = &resp->peers[i];
		struct out *r = out_append(o, "peers");
		if (p->provider_id[0])
			out_str(r, "provider_id", p->provider_id);
		else
			out_null(r, "provider_id");
		out_str(r, "address", p->address);
		out_str(r, "state", p->state);
		json_time_ms(r, "since", p->since_ms);
		json_time_ms(r, "last_seen", p->last_seen_ms);
		if (p->rtt_us)
			out_u64(r, "rtt_us", p->rtt_us);
		else
			out_null(r, "rtt_us");
		out_u64(r, "msgs_in", p->msgs_in);
		out_u64(r, "msgs_out", p->msgs_out);
		out_u64(r, "bytes_in", p->bytes_in);
		out_u64(r, "bytes_out", p->bytes_out);
		out_str(r, "last_error", p->last_error);
	}
	return out_finish(o);
}

static int print_peers_table(const ht_ctl_response *resp)
{
	static const char *const headers[] = {
		"PROVIDER", "ADDRESS",     "STATE",        "SINCE",      "LAST-SEEN",
		"RTT",      "MSGS-IN/OUT", "BYTES-IN/OUT", "LAST-ERROR",
	};
	uint64_t now = clock_ms(CLOCK_REALTIME);
	struct table *t = table_new(headers, 9);
	for (size_t i = 0; i < resp->n_peers; i++) {
		const ht_ctl_peer *p = &resp->peers[i];
		char since[32], seen[40], rtt[32], msgs[48], bytes[48], a[16], b[16];
		if (p->since_ms)
			fmt_ago(p->since_ms, now, since, sizeof(since));
		else
			snprintf(since, sizeof(since), "-");
		if (p->last_seen_ms) {
			fmt_ago(p->last_seen_ms, now, seen, sizeof(seen) - 4);
			strcat(seen, " ago");
		} else {
			snprintf(seen, sizeof(seen), "never");
		}
		fmt_rtt(p->rtt_us, rtt, sizeof(rtt));
		snprintf(msgs, sizeof(msgs), "%llu/%llu", (unsigned long long)p->msgs_in,
			 (unsigned long long)p->msgs_out);
		fmt_bytes(p->bytes_in, a, sizeof(a));
		fmt_bytes(p->bytes_out, b, sizeof(b));
		snprintf(bytes, sizeof(bytes), "%s/%s", a, b);
		const char *cells[] = {
			p->provider_id[0] ? p->provider_id : "-",
			p->address[0] ? p->address : "-",
			p->state[0] ? p->state : "-",
			since,
			seen,
			rtt,
			msgs,
			bytes,
			p->last_error[0] ? p->last_error : "-",
		};
		table_row(t, cells);
	}
	return table_finish(t);
}

int cmd_peers(int argc, char **argv)
{
	bool json;
	ht_ctl_response resp;
	int ret = run(argc, argv, HT_CTL_PEERS, &json, &resp);
	if (ret != EXIT_OK)
		return ret;
	ret = json ? print_peers_json(&resp) : print_peers_table(&resp);
	ht_ctl_response_clear(&resp);
	return ret;
}
