/*
 * ht_netgen: the call records of a small carrier network, for the demo and
 * the multi-daemon tests (demo/README.md).
 *
 * It reads a network description (demo/demo.net: carriers, interconnects,
 * one robocall campaign) and writes into DIR:
 *   ID.csv        each HopTrace carrier's CDR export (docs/cdr-csv.md), as
 *                 messy as real ones: the carrier's own clock offset and
 *                 jitter, its own time and number forms and columns, a few
 *                 duplicate rows and broken lines, route advance;
 *   network.txt   carriers, links and trunk groups, which
 *                 tests/integration/tracenet.sh turns into identities and
 *                 hoptraced configurations (net_load);
 *   campaign.csv  every campaign call as the terminating carrier recorded it;
 *   expect.txt    what each import must report, the campaign call to trace
 *                 and what each HopTrace carrier on its path recorded of it
 *                 (an offnet carrier on the path has no line: a trace ends
 *                 in a dead end there); also on stdout.
 * The same description, seed and start time give the same files everywhere:
 * every choice comes from one seeded stream (bench/gen.h).
 *
 * Description lines (`#` starts a comment):
 *   carrier ID [FLAG...] [KEY=VALUE...]
 *     flags:  initiator (certificate role), offnet (no HopTrace: no daemon,
 *             no records), transit (may carry calls between two others),
 *             quote (quotes every field), crlf (CRLF line ends), bom
 *     npa=N,N       its subscribers' area codes; cc=N,N an offnet carrier's
 *                   international country codes
 *     calls=N       ordinary calls its customers make in the hour
 *     share=N       weight as a destination of other carriers' calls (100)
 *     clock=MS      its clock's offset from true time (default: from the
 *                   seed, within +-1500 ms)
 *     site=NAME     prefix of its trunk-group names
 *     time=z|local|epoch [tz=HOURS]  how its export writes times
 *     numbers=e164|n11|n10|sip|tel|paren|mixed  its usual number form
 *     local=named|empty  own customers' trunks named, or left empty
 *     columns=COL,COL    its export's columns, in order (default: all)
 *     bad=N dups=N  broken lines (default 4) and duplicate rows (default 3)
 *   link A B [trunks=N] [cost=N]
 *   campaign ID ID ... (origin first, terminating carrier last) [calls=N]
 *     [at=MINUTE] [minutes=N] [customer=REF] [attest=A|B|C]
 *     [advance=ID] [trace=INDEX] (the traced call route-advances at ID)
 */
#include <errno.h>
#include <getopt.h>
#include <inttypes.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>

#include "gen.h"
#include "hoptrace/cdr.h"
#include "hoptrace/cert.h"
#include "hoptrace/e164.h"
#include "hoptrace/timefmt.h"

#define EXIT_OK    0
#define EXIT_USAGE 2
#define EXIT_ERROR 3

#define MAX_CARRIERS 32
#define MAX_LINKS    128
#define MAX_LIST     8
#define MAX_TRUNKS   9
#define MAX_PATH     16
#define SUB_POOL     16384 /* subscribers per carrier; a power of 2 (campaign permutation) */
#define LOCAL_TGS    2
#define INF          (1u << 28)
#define SPAN_MS      3600000ULL
#define FIELD_MAX    160
#define ROW_MAX      1536
#define DEFAULT_BAD  4
#define DEFAULT_DUPS 3

enum tfmt { TF_Z, TF_LOCAL, TF_EPOCH };
enum nfmt { NF_E164, NF_N11, NF_N10, NF_SIP, NF_TEL, NF_PAREN, NF_MIXED };
static const char *const nfmt_name[] = {"e164", "n11", "n10", "sip", "tel", "paren", "mixed"};

enum col { C_TIME, C_CALLING, C_CALLED, C_IN, C_OUT, C_CUST, C_ATT, C_ORIGID, C_CALLID, NCOL };
static const char *const col_name[NCOL] = {"time",        "calling",   "called",
					   "in_trunk",    "out_trunk", "customer_ref",
					   "attestation", "origid",    "call_id"};

/* One call as one carrier recorded it. */
struct row {
	uint64_t t;      /* the carrier's recorded time, ms */
	uint32_t seq;    /* generation order: ties keep it */
	int8_t up, down; /* carrier index; -1: its own customer / subscriber */
	uint8_t in_tg, out_tg;
	char att; /* 'A'..'C' or 0 */
	bool has_origid;
	char calling[HT_E164_BUF], called[HT_E164_BUF];
	char cust[HT_CDR_CUSTOMER_REF_MAX + 1]; /* only when up == -1 */
	uint8_t origid[16];
	uint64_t callid;
};

struct carrier {
	char id[HT_PROVIDER_ID_MAX + 1];
	char site[12];
	bool initiator, offnet, transit, named_local, quote, crlf, bom, clock_set;
	int clock_ms, tz_min;
	unsigned npa[MAX_LIST], n_npa, cc[MAX_LIST], n_cc;
	unsigned calls, share, bad, dups;
	enum tfmt tf;
	enum nfmt nf;
	int cols[NCOL];
	unsigned n_cols;
	bool has_col[NCOL];
	uint8_t origid[16];
	uint64_t key; /* per-carrier salt of its number pools */
	struct row *rows;
	size_t n_rows, cap_rows;
	/* What its import must report. */
	uint64_t out_rows, imported, rejected, duplicates;
};

struct link {
	int a, b;
	unsigned trunks, cost;
};

struct hop {
	int carrier;
	uint64_t t;
	int up;        /* -1: originated here */
	unsigned legs; /* records the carrier holds of the call: 2 after a route advance */
};

struct net {
	const char *path; /* the description, for messages */
	struct carrier c[MAX_CARRIERS];
	unsigned n;
	struct link l[MAX_LINKS];
	unsigned n_links;
	int link_of[MAX_CARRIERS][MAX_CARRIERS];
	unsigned dist[MAX_CARRIERS][MAX_CARRIERS];
	bench_rng rng;
	uint64_t seed, start_ms;
	uint32_t seq;
	/* The campaign. */
	bool camp_set;
	int camp[MAX_PATH];
	unsigned camp_n, camp_calls, camp_at, camp_minutes, camp_trace;
	int camp_advance;
	char camp_customer[HT_CDR_CUSTOMER_REF_MAX + 1];
	char camp_att;
	/* Filled while generating: the traced call at each carrier of its path. */
	struct hop traced[MAX_PATH];
	unsigned n_traced;
	char traced_calling[HT_E164_BUF], traced_called[HT_E164_BUF];
	bool tracing;
	FILE *campaign_csv;
};

static int errorf(const char *fmt, ...) __attribute__((format(printf, 1, 2)));
static int errorf(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fputs("ht_netgen: ", stderr);
	vfprintf(stderr, fmt, ap);
	fputc('\n', stderr);
	va_end(ap);
	return EXIT_ERROR;
}

/* ---- randomness ---- */

static uint64_t rnd(struct net *n, uint64_t below)
{
	return below ? bench_rng_next(&n->rng) % below : 0;
}

static double unit(struct net *n)
{
	return bench_rng_unit(&n->rng);
}

/* A fixed hash of `x`, for number pools that must not depend on call order. */
static uint64_t hash64(uint64_t x)
{
	bench_rng r;
	bench_rng_seed(&r, x);
	return bench_rng_next(&r);
}

/* ---- the description ---- */

static int find_carrier(const struct net *n, const char *id)
{
	for (unsigned i = 0; i < n->n; i++)
		if (strcmp(n->c[i].id, id) == 0)
			return (int)i;
	return -1;
}

static bool parse_uint(const char *s, unsigned max, unsigned *out)
{
	char *end;
	if (*s < '0' || *s > '9')
		return false;
	errno = 0;
	unsigned long v = strtoul(s, &end, 10);
	if (errno || *end || v > max)
		return false;
	*out = (unsigned)v;
	return true;
}

static bool parse_int(const char *s, int min, int max, int *out)
{
	char *end;
	if (!*s)
		return false;
	errno = 0;
	long v = strtol(s, &end, 10);
	if (errno || *end || v < min || v > max)
		return false;
	*out = (int)v;
	return true;
}

/* "614,740": up to MAX_LIST numbers of lo..hi. */
static bool parse_list(const char *s, unsigned lo, unsigned hi, unsigned *out, unsigned *n_out)
{
	char buf[128];
	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	unsigned n = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		if (n == MAX_LIST || !parse_uint(t, hi, &out[n]) || out[n] < lo)
			return false;
		n++;
	}
	*n_out = n;
	return n > 0;
}

static bool parse_columns(struct carrier *c, const char *s)
{
	char buf[256];
	if (strlen(s) >= sizeof(buf))
		return false;
	strcpy(buf, s);
	memset(c->has_col, 0, sizeof(c->has_col));
	c->n_cols = 0;
	for (char *save = NULL, *t = strtok_r(buf, ",", &save); t; t = strtok_r(NULL, ",", &save)) {
		int k = -1;
		for (int i = 0; i < NCOL; i++)
			if (strcmp(t, col_name[i]) == 0)
				k = i;
		if (k < 0 || c->has_col[k])
			return false;
		c->has_col[k] = true;
		c->cols[c->n_cols++] = k;
	}
	for (int i = C_TIME; i <= C_OUT; i++)
		if (!c->has_col[i])
			return false;
	return true;
}

/* The site prefix of trunk-group names: letters and digits only. */
static bool site_ok(const char *s)
{
	size_t len = strlen(s);
	if (len == 0 || len >= sizeof(((struct carrier *)0)->site))
		return false;
	for (size_t i = 0; i < len; i++)
		if (!((s[i] >= 'A' && s[i] <= 'Z') || (s[i] >= '0' && s[i] <= '9')))
			return false;
	return true;
}

static int carrier_line(struct net *n, int line, char **tok, int ntok)
{
	if (ntok < 2)
		return errorf("%s:%d: carrier: which provider ID?", n->path, line);
	if (!ht_provider_id_valid(tok[1], strlen(tok[1])))
		return errorf("%s:%d: '%s' is not a provider ID", n->path, line, tok[1]);
	if (find_carrier(n, tok[1]) >= 0)
		return errorf("%s:%d: carrier %s given twice", n->path, line, tok[1]);
	if (n->n == MAX_CARRIERS)
		return errorf("%s:%d: more than %d carriers", n->path, line, MAX_CARRIERS);
	struct carrier *c = &n->c[n->n];
	memset(c, 0, sizeof(*c));
	strcpy(c->id, tok[1]);
	/* Site: the ID's letters and digits, cut short. */
	size_t k = 0;
	for (const char *p = c->id; *p && k < 6; p++)
		if ((*p >= 'A' && *p <= 'Z') || (*p >= '0' && *p <= '9'))
			c->site[k++] = *p;
	if (k == 0)
		strcpy(c->site, "SW");
	c->share = 100;
	c->tf = TF_Z;
	c->nf = NF_E164;
	c->named_local = true;
	c->bad = DEFAULT_BAD;
	c->dups = DEFAULT_DUPS;
	if (!parse_columns(c, "time,calling,called,in_trunk,out_trunk,customer_ref,attestation,"
			      "origid,call_id"))
		abort();
	for (int i = 2; i < ntok; i++) {
		char *t = tok[i], *v = strchr(t, '=');
		bool ok = true;
		if (!v) {
			if (!strcmp(t, "initiator"))
				c->initiator = true;
			else if (!strcmp(t, "offnet"))
				c->offnet = true;
			else if (!strcmp(t, "transit"))
				c->transit = true;
			else if (!strcmp(t, "quote"))
				c->quote = true;
			else if (!strcmp(t, "crlf"))
				c->crlf = true;
			else if (!strcmp(t, "bom"))
				c->bom = true;
			else
				return errorf("%s:%d: unknown carrier flag '%s'", n->path, line, t);
			continue;
		}
		*v++ = 0;
		if (!strcmp(t, "npa"))
			ok = parse_list(v, 200, 999, c->npa, &c->n_npa);
		else if (!strcmp(t, "cc"))
			ok = parse_list(v, 2, 999, c->cc, &c->n_cc);
		else if (!strcmp(t, "calls"))
			ok = parse_uint(v, 1000000, &c->calls);
		else if (!strcmp(t, "share"))
			ok = parse_uint(v, 100000, &c->share);
		else if (!strcmp(t, "bad"))
			ok = parse_uint(v, 1000, &c->bad);
		else if (!strcmp(t, "dups"))
			ok = parse_uint(v, 1000, &c->dups);
		else if (!strcmp(t, "clock"))
			ok = parse_int(v, -60000, 60000, &c->clock_ms) && (c->clock_set = true);
		else if (!strcmp(t, "tz"))
			ok = parse_int(v, -12, 14, &c->tz_min) && ((c->tz_min *= 60), true);
		else if (!strcmp(t, "site"))
			ok = site_ok(v) && (strcpy(c->site, v), true);
		else if (!strcmp(t, "columns"))
			ok = parse_columns(c, v);
		else if (!strcmp(t, "time")) {
			ok = true;
			if (!strcmp(v, "z"))
				c->tf = TF_Z;
			else if (!strcmp(v, "local"))
				c->tf = TF_LOCAL;
			else if (!strcmp(v, "epoch"))
				c->tf = TF_EPOCH;
			else
				ok = false;
		} else if (!strcmp(t, "numbers")) {
			ok = false;
			for (unsigned f = 0; f <= NF_MIXED; f++)
				if (!strcmp(v, nfmt_name[f])) {
					c->nf = (enum nfmt)f;
					ok = true;
				}
		} else if (!strcmp(t, "local")) {
			ok = !strcmp(v, "named") || !strcmp(v, "empty");
			c->named_local = !strcmp(v, "named");
		} else {
			return errorf("%s:%d: unknown carrier key '%s'", n->path, line, t);
		}
		if (!ok)
			return errorf("%s:%d: carrier %s: bad value '%s' for %s", n->path, line,
				      c->id, v, t);
	}
	if (c->offnet && (c->initiator || c->n_npa))
		return errorf("%s:%d: offnet carrier %s: no initiator role, no npa (use cc)",
			      n->path, line, c->id);
	if (!c->offnet && c->n_cc)
		return errorf("%s:%d: cc= is for offnet carriers", n->path, line);
	if (c->calls && !c->n_npa && !c->n_cc)
		return errorf("%s:%d: carrier %s makes calls but has no npa= (or cc=)", n->path,
			      line, c->id);
	n->n++;
	return EXIT_OK;
}

static int link_line(struct net *n, int line, char **tok, int ntok)
{
	if (ntok < 3)
		return errorf("%s:%d: link: which two carriers?", n->path, line);
	int a = find_carrier(n, tok[1]), b = find_carrier(n, tok[2]);
	if (a < 0 || b < 0)
		return errorf("%s:%d: link: unknown carrier %s", n->path, line,
			      a < 0 ? tok[1] : tok[2]);
	if (a == b || n->link_of[a][b] >= 0)
		return errorf("%s:%d: link %s %s: a carrier to itself, or given twice", n->path,
			      line, tok[1], tok[2]);
	if (n->n_links == MAX_LINKS)
		return errorf("%s:%d: more than %d links", n->path, line, MAX_LINKS);
	struct link *l = &n->l[n->n_links];
	*l = (struct link){.a = a, .b = b, .trunks = 1, .cost = 1};
	for (int i = 3; i < ntok; i++) {
		char *v = strchr(tok[i], '=');
		bool ok = false;
		if (v) {
			*v++ = 0;
			if (!strcmp(tok[i], "trunks"))
				ok = parse_uint(v, MAX_TRUNKS, &l->trunks) && l->trunks > 0;
			else if (!strcmp(tok[i], "cost"))
				ok = parse_uint(v, 1000, &l->cost) && l->cost > 0;
		}
		if (!ok)
			return errorf("%s:%d: link: bad option '%s'", n->path, line, tok[i]);
	}
	n->link_of[a][b] = n->link_of[b][a] = (int)n->n_links++;
	return EXIT_OK;
}

static int campaign_line(struct net *n, int line, char **tok, int ntok)
{
	if (n->camp_set)
		return errorf("%s:%d: one campaign only", n->path, line);
	n->camp_set = true;
	n->camp_calls = 1000;
	n->camp_at = 30;
	n->camp_minutes = 10;
	n->camp_advance = -1;
	n->camp_att = 'B';
	strcpy(n->camp_customer, "cust-4711");
	bool trace_set = false;
	for (int i = 1; i < ntok; i++) {
		char *t = tok[i], *v = strchr(t, '=');
		bool ok = false;
		if (!v) {
			int c = find_carrier(n, t);
			if (c < 0)
				return errorf("%s:%d: campaign: unknown carrier %s", n->path, line,
					      t);
			if (n->camp_n == MAX_PATH)
				return errorf("%s:%d: campaign: a path of more than %d carriers",
					      n->path, line, MAX_PATH);
			n->camp[n->camp_n++] = c;
			continue;
		}
		*v++ = 0;
		if (!strcmp(t, "calls"))
			ok = parse_uint(v, SUB_POOL, &n->camp_calls) && n->camp_calls > 0;
		else if (!strcmp(t, "at"))
			ok = parse_uint(v, 59, &n->camp_at);
		else if (!strcmp(t, "minutes"))
			ok = parse_uint(v, 60, &n->camp_minutes) && n->camp_minutes > 0;
		else if (!strcmp(t, "trace"))
			ok = parse_uint(v, SUB_POOL, &n->camp_trace) && (trace_set = true);
		else if (!strcmp(t, "customer"))
			ok = v[0] && strlen(v) <= HT_CDR_CUSTOMER_REF_MAX &&
			     (strcpy(n->camp_customer, v), true);
		else if (!strcmp(t, "attest"))
			ok = (v[0] == 'A' || v[0] == 'B' || v[0] == 'C') && !v[1] &&
			     ((n->camp_att = v[0]), true);
		else if (!strcmp(t, "advance"))
			ok = (n->camp_advance = find_carrier(n, v)) >= 0;
		if (!ok)
			return errorf("%s:%d: campaign: bad value '%s' for %s", n->path, line, v,
				      t);
	}
	if (n->camp_n < 2)
		return errorf("%s:%d: campaign: a path of at least two carriers", n->path, line);
	if (!trace_set)
		n->camp_trace = n->camp_calls / 2;
	if (n->camp_trace >= n->camp_calls)
		return errorf("%s:%d: campaign: trace=%u but only %u calls", n->path, line,
			      n->camp_trace, n->camp_calls);
	if (n->camp_at + n->camp_minutes > 60)
		return errorf("%s:%d: campaign: at + minutes past the hour", n->path, line);
	int origin = n->camp[0], term = n->camp[n->camp_n - 1];
	if (n->c[origin].offnet || n->c[term].offnet || !n->c[term].n_npa)
		return errorf("%s:%d: campaign: origin and terminating carrier must run HopTrace, "
			      "and the terminating carrier needs subscribers (npa=)",
			      n->path, line);
	for (unsigned i = 0; i + 1 < n->camp_n; i++) {
		if (n->link_of[n->camp[i]][n->camp[i + 1]] < 0)
			return errorf("%s:%d: campaign: %s and %s are not linked", n->path, line,
				      n->c[n->camp[i]].id, n->c[n->camp[i + 1]].id);
		for (unsigned j = 0; j < i; j++)
			if (n->camp[j] == n->camp[i])
				return errorf("%s:%d: campaign: %s twice on the path", n->path,
					      line, n->c[n->camp[i]].id);
	}
	if (n->camp_advance >= 0) {
		bool inner = false;
		for (unsigned i = 1; i + 1 < n->camp_n; i++)
			inner |= n->camp[i] == n->camp_advance;
		if (!inner)
			return errorf(
				"%s:%d: campaign: advance= must name a carrier inside the path",
				n->path, line);
	}
	return EXIT_OK;
}

static int parse_description(struct net *n, const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		return errorf("%s: %s", path, strerror(errno));
	n->path = path;
	memset(n->link_of, 0xff, sizeof(n->link_of));
	char buf[2048];
	int line = 0, ret = EXIT_OK;
	while (ret == EXIT_OK && fgets(buf, sizeof(buf), f)) {
		line++;
		size_t len = strlen(buf);
		if (len == sizeof(buf) - 1 && buf[len - 1] != '\n') {
			ret = errorf("%s:%d: line too long", path, line);
			break;
		}
		char *hash = strchr(buf, '#');
		if (hash)
			*hash = 0;
		char *tok[64];
		int ntok = 0;
		for (char *save = NULL, *t = strtok_r(buf, " \t\r\n", &save); t;
		     t = strtok_r(NULL, " \t\r\n", &save)) {
			if (ntok == 64) {
				ret = errorf("%s:%d: too many words", path, line);
				break;
			}
			tok[ntok++] = t;
		}
		if (ret != EXIT_OK || ntok == 0)
			continue;
		if (!strcmp(tok[0], "carrier"))
			ret = carrier_line(n, line, tok, ntok);
		else if (!strcmp(tok[0], "link"))
			ret = link_line(n, line, tok, ntok);
		else if (!strcmp(tok[0], "campaign"))
			ret = campaign_line(n, line, tok, ntok);
		else
			ret = errorf("%s:%d: unknown keyword '%s' (carrier, link, campaign)", path,
				     line, tok[0]);
	}
	if (ret == EXIT_OK && ferror(f))
		ret = errorf("%s: %s", path, strerror(errno));
	fclose(f);
	if (ret == EXIT_OK && n->n < 2)
		ret = errorf("%s: a network needs at least two carriers", path);
	return ret;
}

/* ---- routing ---- */

/*
 * Least-cost paths whose inner carriers are all transit carriers: Floyd-
 * Warshall with only transit carriers as intermediate nodes.
 */
static void routes(struct net *n)
{
	for (unsigned u = 0; u < n->n; u++)
		for (unsigned v = 0; v < n->n; v++)
			n->dist[u][v] = u == v                  ? 0
					: n->link_of[u][v] >= 0 ? n->l[n->link_of[u][v]].cost
								: INF;
	for (unsigned k = 0; k < n->n; k++) {
		if (!n->c[k].transit)
			continue;
		for (unsigned u = 0; u < n->n; u++)
			for (unsigned v = 0; v < n->n; v++)
				if (n->dist[u][k] + n->dist[k][v] < n->dist[u][v])
					n->dist[u][v] = n->dist[u][k] + n->dist[k][v];
	}
}

static unsigned cost(const struct net *n, int a, int b)
{
	return n->l[n->link_of[a][b]].cost;
}

/* One least-cost path from `from` to `to`, ties broken at random. */
static unsigned walk(struct net *n, int from, int to, int *path)
{
	unsigned len = 0;
	int u = from;
	path[len++] = u;
	while (u != to && len < MAX_PATH) {
		int cand[MAX_CARRIERS], nc = 0;
		for (unsigned w = 0; w < n->n; w++)
			if (n->link_of[u][w] >= 0 && ((int)w == to || n->c[w].transit) &&
			    cost(n, u, (int)w) + n->dist[w][to] == n->dist[u][to])
				cand[nc++] = (int)w;
		if (nc == 0)
			break;
		u = cand[rnd(n, (uint64_t)nc)];
		path[len++] = u;
	}
	return u == to ? len : 0;
}

/*
 * Where carrier `u` first tries a call bound for `to` before it route-
 * advances to `next`: another neighbour that could carry it, the cheapest.
 */
static int first_try(struct net *n, int u, int prev, int next, int to)
{
	int best = -1;
	unsigned best_cost = INF;
	for (unsigned w = 0; w < n->n; w++) {
		if ((int)w == prev || (int)w == next || n->link_of[u][w] < 0)
			continue;
		if ((int)w != to && !n->c[w].transit)
			continue;
		unsigned c = cost(n, u, (int)w) + n->dist[w][to];
		if (c < best_cost || (c == best_cost && rnd(n, 2)))
			best = (int)w, best_cost = c;
	}
	return best_cost < INF ? best : -1;
}

/* ---- numbers ---- */

/* Subscriber `i` of carrier `c`: 1 NPA NXX XXXX, NXX 200-999 but not N11. */
static void subscriber(const struct carrier *c, uint64_t i, char out[HT_E164_BUF])
{
	uint64_t h = hash64(c->key ^ (i * 0x9e3779b97f4a7c15ULL));
	unsigned npa = c->npa[h % c->n_npa];
	h /= MAX_LIST;
	unsigned nxx = 200 + (unsigned)(h % 800);
	if (nxx % 100 == 11)
		nxx++;
	h /= 800;
	snprintf(out, HT_E164_BUF, "1%03u%03u%04u", npa, nxx, (unsigned)(h % 10000));
}

/* An international number of offnet carrier `c`: CC and 9 or 10 more digits. */
static void international(const struct carrier *c, uint64_t i, char out[HT_E164_BUF])
{
	uint64_t h = hash64(c->key ^ (i * 0xbf58476d1ce4e5b9ULL) ^ 1);
	unsigned cc = c->cc[h % c->n_cc];
	h /= MAX_LIST;
	unsigned rest = cc == 33 ? 9 : 10; /* France: 9 digits after the country code */
	int k = snprintf(out, HT_E164_BUF, "%u%u", cc, 1 + (unsigned)(h % 9));
	h /= 9;
	for (unsigned d = 1; d < rest && k < HT_E164_BUF - 1; d++) {
		out[k++] = (char)('0' + h % 10);
		h = h / 10 ^ hash64(h + d);
	}
	out[k] = 0;
}

/* A number of carrier `c`'s pool, skewed: some numbers call or get called a lot. */
static void number_of(struct net *n, const struct carrier *c, char out[HT_E164_BUF])
{
	double u = unit(n);
	uint64_t i = (uint64_t)(u * u * SUB_POOL);
	if (c->offnet)
		international(c, i, out);
	else
		subscriber(c, i, out);
}

/* ---- records ---- */

static struct row *add_row(struct net *n, int ci)
{
	struct carrier *c = &n->c[ci];
	if (c->n_rows == c->cap_rows) {
		size_t cap = c->cap_rows ? c->cap_rows * 2 : 1024;
		struct row *r = realloc(c->rows, cap * sizeof(*r));
		if (!r) {
			errorf("out of memory");
			exit(EXIT_ERROR);
		}
		c->rows = r;
		c->cap_rows = cap;
	}
	struct row *r = &c->rows[c->n_rows++];
	memset(r, 0, sizeof(*r));
	r->seq = n->seq++;
	return r;
}

struct call {
	const char *calling, *called;
	const char *cust; /* the originating customer */
	char att;
	bool campaign;
	int advance_at;     /* carrier that must route-advance this call, or -1 */
	double advance_p;   /* chance that a transit carrier route-advances it */
	uint64_t t0;        /* true time at the first carrier */
	int path[MAX_PATH]; /* origin first */
	unsigned len;
};

/* `c`'s record of a leg from `up` to `down` (-1: its own customers). */
static void record(struct net *n, const struct call *call, int ci, int up, int down, uint64_t t,
		   unsigned in_tg, const uint8_t *origid)
{
	struct carrier *c = &n->c[ci];
	struct row *r = add_row(n, ci);
	int jitter = (int)rnd(n, 501) - 250;
	int64_t when = (int64_t)t + c->clock_ms + jitter;
	r->t = when > 0 ? (uint64_t)when : 0;
	r->up = (int8_t)up;
	r->down = (int8_t)down;
	r->in_tg = (uint8_t)in_tg;
	r->out_tg = (uint8_t)rnd(n, down >= 0 ? n->l[n->link_of[ci][down]].trunks : LOCAL_TGS);
	strcpy(r->calling, call->calling);
	strcpy(r->called, call->called);
	if (up < 0 && call->cust)
		snprintf(r->cust, sizeof(r->cust), "%s", call->cust);
	/* A call from a carrier without SHAKEN arrives unsigned; the gateway signs C. */
	r->att = up >= 0 && n->c[up].offnet ? 0 : call->att;
	if (origid) {
		memcpy(r->origid, origid, 16);
		r->has_origid = true;
	}
	r->callid = bench_rng_next(&n->rng);
	if (n->tracing) {
		struct hop *h = &n->traced[n->n_traced++];
		h->carrier = ci;
		h->t = r->t;
		h->up = up;
		h->legs = 1;
	}
}

/* Every record a call leaves along its path. */
static void place_call(struct net *n, const struct call *call)
{
	uint64_t t = call->t0;
	const uint8_t *origid = NULL;
	for (unsigned k = 0; k < call->len; k++) {
		int ci = call->path[k];
		struct carrier *c = &n->c[ci];
		int prev = k > 0 ? call->path[k - 1] : -1;
		int next = k + 1 < call->len ? call->path[k + 1] : -1;
		if (k > 0)
			t += 60 + rnd(n, 291); /* signalling through the previous switch */
		if (c->offnet)
			continue;
		if (!origid)
			origid = c->origid; /* the first HopTrace carrier signs */
		bool advance = next >= 0 && prev >= 0 && c->transit &&
			       (ci == call->advance_at || unit(n) < call->advance_p);
		int alt = advance ? first_try(n, ci, prev, next, call->path[call->len - 1]) : -1;
		/* Both legs of a route-advanced call came in on the same trunk group. */
		unsigned in_tg =
			(unsigned)rnd(n, prev >= 0 ? n->l[n->link_of[ci][prev]].trunks : LOCAL_TGS);
		if (alt >= 0) {
			/* The first leg fails (its carrier keeps no record); retried later. */
			bool tracing = n->tracing;
			n->tracing = false;
			record(n, call, ci, prev, alt, t, in_tg, origid);
			n->tracing = tracing;
			t += 600 + rnd(n, 2401);
		}
		record(n, call, ci, prev, next, t, in_tg, origid);
		if (alt >= 0 && n->tracing)
			n->traced[n->n_traced - 1].legs = 2;
	}
}

static void ordinary_traffic(struct net *n)
{
	for (unsigned o = 0; o < n->n; o++) {
		struct carrier *c = &n->c[o];
		if (!c->calls)
			continue;
		/* Destinations this carrier can reach, weighted by share. */
		unsigned weight[MAX_CARRIERS], total = 0;
		for (unsigned d = 0; d < n->n; d++) {
			bool subs = n->c[d].n_npa || n->c[d].n_cc;
			weight[d] = d != o && subs && n->dist[o][d] < INF ? n->c[d].share : 0;
			total += weight[d];
		}
		if (!total)
			continue;
		for (unsigned i = 0; i < c->calls; i++) {
			uint64_t x = rnd(n, total);
			unsigned d = 0;
			while (x >= weight[d])
				x -= weight[d++];
			char calling[HT_E164_BUF], called[HT_E164_BUF], cust[24];
			struct call call = {.calling = calling,
					    .called = called,
					    .advance_at = -1,
					    .advance_p = 0.01};
			number_of(n, c, calling);
			number_of(n, &n->c[d], called);
			snprintf(cust, sizeof(cust), "cust-%04u", 1000 + (unsigned)rnd(n, 3000));
			call.cust = c->offnet ? NULL : cust;
			double a = unit(n);
			call.att = c->offnet ? 'C' : a < 0.85 ? 'A' : a < 0.95 ? 'B' : 'C';
			call.t0 = n->start_ms + rnd(n, SPAN_MS);
			call.len = walk(n, (int)o, (int)d, call.path);
			if (call.len)
				place_call(n, &call);
		}
	}
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static void time_rfc3339(uint64_t ms, int tz_min, char *out, size_t cap);

static void campaign(struct net *n)
{
	if (!n->camp_set)
		return;
	int term = n->camp[n->camp_n - 1];
	const struct carrier *tc = &n->c[term];
	uint64_t *times = malloc(n->camp_calls * sizeof(*times));
	if (!times) {
		errorf("out of memory");
		exit(EXIT_ERROR);
	}
	uint64_t from = n->start_ms + n->camp_at * 60000ULL, len = n->camp_minutes * 60000ULL;
	for (unsigned i = 0; i < n->camp_calls; i++)
		times[i] = from + rnd(n, len);
	qsort(times, n->camp_calls, sizeof(*times), cmp_u64);
	/* Distinct victims: an odd multiplier permutes the power-of-2 pool. */
	uint64_t mul = rnd(n, SUB_POOL) | 1, add = rnd(n, SUB_POOL);
	for (unsigned i = 0; i < n->camp_calls; i++) {
		char calling[HT_E164_BUF], called[HT_E164_BUF];
		subscriber(tc, (i * mul + add) % SUB_POOL, called);
		/* Neighbour spoofing: the victim's own NPA-NXX, a made-up line. */
		memcpy(calling, called, 7);
		snprintf(calling + 7, HT_E164_BUF - 7, "%04u", (unsigned)rnd(n, 10000));
		if (!strcmp(calling, called))
			calling[10] = calling[10] == '9' ? '0' : (char)(calling[10] + 1);
		struct call call = {.calling = calling,
				    .called = called,
				    .cust = n->camp_customer,
				    .att = n->camp_att,
				    .campaign = true,
				    .advance_at = -1,
				    .advance_p = 0.08,
				    .t0 = times[i],
				    .len = n->camp_n};
		memcpy(call.path, n->camp, n->camp_n * sizeof(int));
		n->tracing = i == n->camp_trace;
		if (n->tracing) {
			call.advance_at = n->camp_advance;
			call.advance_p = 0;
			n->n_traced = 0;
			strcpy(n->traced_calling, calling);
			strcpy(n->traced_called, called);
		}
		place_call(n, &call);
		/* As the terminating carrier recorded it: its last record. */
		const struct row *r = &n->c[term].rows[n->c[term].n_rows - 1];
		char when[40];
		time_rfc3339(r->t, 0, when, sizeof(when));
		fprintf(n->campaign_csv, "+%s,+%s,%" PRIu64 ",%s\n", r->calling, r->called, r->t,
			when);
		n->tracing = false;
	}
	free(times);
}

/* ---- writing the exports ---- */

/* RFC 3339 with milliseconds: UTC with Z, or local time with its offset. */
static void time_rfc3339(uint64_t ms, int tz_min, char *out, size_t cap)
{
	int64_t local = (int64_t)ms + (int64_t)tz_min * 60000;
	time_t secs = (time_t)(local / 1000);
	struct tm tm;
	gmtime_r(&secs, &tm);
	int k = snprintf(out, cap, "%04d-%02d-%02d%c%02d:%02d:%02d.%03u", tm.tm_year + 1900,
			 tm.tm_mon + 1, tm.tm_mday, tz_min ? ' ' : 'T', tm.tm_hour, tm.tm_min,
			 tm.tm_sec, (unsigned)(local % 1000));
	if (tz_min)
		snprintf(out + k, cap - (size_t)k, "%c%02d:%02d", tz_min < 0 ? '-' : '+',
			 abs(tz_min) / 60, abs(tz_min) % 60);
	else
		snprintf(out + k, cap - (size_t)k, "Z");
}

static void put_time(const struct carrier *c, uint64_t ms, char *out, size_t cap)
{
	if (c->tf == TF_EPOCH)
		snprintf(out, cap, "%" PRIu64, ms);
	else
		time_rfc3339(ms, c->tf == TF_LOCAL ? c->tz_min : 0, out, cap);
}

/* `digits` in the form carrier `c` writes, checked against spec/numbers.md. */
static void put_number(struct net *n, const struct carrier *c, const char *digits, char *out,
		       size_t cap)
{
	enum nfmt f = c->nf;
	if (f == NF_MIXED || unit(n) < 0.15)
		f = (enum nfmt)rnd(n, 3); /* e164, n11 or n10 */
	bool nanp = digits[0] == '1';
	if (!nanp && (f == NF_N11 || f == NF_N10 || f == NF_PAREN))
		snprintf(out, cap, "011%s", digits);
	else if (f == NF_E164)
		snprintf(out, cap, "+%s", digits);
	else if (f == NF_N11)
		snprintf(out, cap, "%s", digits);
	else if (f == NF_N10)
		snprintf(out, cap, "%s", digits + 1);
	else if (f == NF_SIP)
		snprintf(out, cap, "sip:+%s@%s.example.net;user=phone", digits, c->site);
	else if (f == NF_TEL && nanp)
		snprintf(out, cap, "tel:+1-%.3s-%.3s-%s", digits + 1, digits + 4, digits + 7);
	else if (f == NF_TEL)
		snprintf(out, cap, "tel:+%s", digits);
	else
		snprintf(out, cap, "(%.3s) %.3s-%s", digits + 1, digits + 4, digits + 7);
	char check[HT_E164_BUF];
	if (ht_e164_normalize(out, strlen(out), "1", check) != HT_OK || strcmp(check, digits)) {
		errorf("internal error: '%s' does not normalise to %s", out, digits);
		exit(EXIT_ERROR);
	}
}

/* A trunk group's name on carrier `c`: toward `other`, or its own side (-1). */
static void trunk_name(const struct net *n, const struct carrier *c, int other, bool in, unsigned k,
		       char *out, size_t cap)
{
	if (other >= 0) {
		char tag[HT_PROVIDER_ID_MAX + 1];
		size_t j = 0;
		for (const char *p = n->c[other].id; *p && j < 10; p++)
			if (*p != '-' && *p != '.' && *p != '_')
				tag[j++] = *p;
		tag[j] = 0;
		snprintf(out, cap, "%s-%s-%02u", c->site, tag, k + 1);
	} else if (c->named_local) {
		snprintf(out, cap, "%s-%s-%02u", c->site, in ? "CUST" : "SUBS", k + 1);
	} else {
		out[0] = 0;
	}
}

/* Broken lines, as exports hold them: each is refused with a reason. */
enum bad_kind { BAD_TRUNCATED, BAD_TIME, BAD_TRUNK, BAD_CALLER, BAD_CALLED, BAD_KINDS };

struct field {
	char v[FIELD_MAX];
};

static void fields_of(struct net *n, const struct carrier *c, const struct row *r,
		      struct field f[NCOL])
{
	memset(f, 0, NCOL * sizeof(*f));
	put_time(c, r->t, f[C_TIME].v, FIELD_MAX);
	put_number(n, c, r->calling, f[C_CALLING].v, FIELD_MAX);
	put_number(n, c, r->called, f[C_CALLED].v, FIELD_MAX);
	trunk_name(n, c, r->up, true, r->in_tg, f[C_IN].v, FIELD_MAX);
	trunk_name(n, c, r->down, false, r->out_tg, f[C_OUT].v, FIELD_MAX);
	snprintf(f[C_CUST].v, FIELD_MAX, "%s", r->up < 0 ? r->cust : "");
	if (r->att)
		f[C_ATT].v[0] = r->att;
	if (r->has_origid)
		ht_uuid_format(r->origid, f[C_ORIGID].v);
	char lower[sizeof(c->site)];
	size_t j = 0;
	for (; c->site[j]; j++)
		lower[j] = (char)(c->site[j] >= 'A' && c->site[j] <= 'Z' ? c->site[j] + 32
									 : c->site[j]);
	lower[j] = 0;
	snprintf(f[C_CALLID].v, FIELD_MAX, "%016" PRIx64 "@sbc.%s.example.net", r->callid, lower);
}

/* Joins the first `upto` of the carrier's columns into one CSV line. */
static size_t join(const struct carrier *c, const struct field f[NCOL], unsigned upto, char *out)
{
	size_t k = 0;
	for (unsigned i = 0; i < upto; i++) {
		const char *v = f[c->cols[i]].v;
		k += (size_t)snprintf(out + k, ROW_MAX - k, "%s%s%s%s", i ? "," : "",
				      c->quote ? "\"" : "", v, c->quote ? "\"" : "");
	}
	k += (size_t)snprintf(out + k, ROW_MAX - k, "%s", c->crlf ? "\r\n" : "\n");
	return k;
}

static void bad_line(struct net *n, const struct carrier *c, const struct row *model,
		     enum bad_kind kind, char *out)
{
	struct field f[NCOL];
	fields_of(n, c, model, f);
	unsigned upto = c->n_cols;
	switch (kind) {
	case BAD_TRUNCATED: /* the export stopped mid-row */
		upto = 3;
		break;
	case BAD_TIME: /* local time without its offset, or seconds */
		if (c->tf == TF_EPOCH) {
			snprintf(f[C_TIME].v, FIELD_MAX, "%" PRIu64, model->t / 1000);
		} else {
			time_rfc3339(model->t, c->tz_min ? c->tz_min : -300, f[C_TIME].v,
				     FIELD_MAX);
			f[C_TIME].v[19] = 0; /* "YYYY-MM-DD HH:MM:SS" */
		}
		break;
	case BAD_TRUNK: /* a trunk group nobody put in the configuration */
		snprintf(f[C_IN].v, FIELD_MAX, "%s-TEST-99", c->site);
		break;
	case BAD_CALLER: /* robocalls often carry no usable caller ID */
		snprintf(f[C_CALLING].v, FIELD_MAX, "anonymous");
		break;
	default: /* seven digits: a local number without its area code */
		snprintf(f[C_CALLED].v, FIELD_MAX, "%.3s-%s", model->called + 4, model->called + 7);
		break;
	}
	join(c, f, upto, out);
}

static int cmp_row_time(const void *a, const void *b)
{
	const struct row *x = a, *y = b;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

/* What the store keeps of a row (docs/store.md): equal means a duplicate. */
static const struct carrier *key_carrier;
static int cmp_row_stored(const void *a, const void *b)
{
	const struct row *x = *(const struct row *const *)a, *y = *(const struct row *const *)b;
	const struct carrier *c = key_carrier;
	int d;
	if (x->t != y->t)
		return x->t < y->t ? -1 : 1;
	if ((d = strcmp(x->calling, y->calling)) || (d = strcmp(x->called, y->called)))
		return d;
	if (x->up != y->up || x->down != y->down)
		return x->up != y->up ? x->up - y->up : x->down - y->down;
	if (c->has_col[C_ATT] && x->att != y->att)
		return x->att - y->att;
	if (c->has_col[C_CUST] && x->up < 0 && (d = strcmp(x->cust, y->cust)))
		return d;
	if (c->has_col[C_ORIGID] && (d = memcmp(x->origid, y->origid, 16)))
		return d;
	if (c->has_col[C_CALLID] && x->callid != y->callid)
		return x->callid < y->callid ? -1 : 1;
	return 0;
}

static int write_export(struct net *n, unsigned ci, const char *dir)
{
	struct carrier *c = &n->c[ci];
	qsort(c->rows, c->n_rows, sizeof(*c->rows), cmp_row_time);
	/* Where the broken lines and the duplicates go. */
	size_t nr = c->n_rows;
	unsigned *bad_before = calloc(nr + 1, sizeof(unsigned)),
		 *copies = calloc(nr + 1, sizeof(unsigned));
	const struct row **stored = malloc((nr + c->dups + 1) * sizeof(*stored));
	if (!bad_before || !copies || !stored) {
		free(bad_before);
		free(copies);
		free(stored);
		return errorf("out of memory");
	}
	for (unsigned i = 0; i < c->bad && nr; i++)
		bad_before[1 + rnd(n, nr)]++; /* never before the first row */
	for (unsigned i = 0; i < c->dups && nr; i++)
		copies[rnd(n, nr)]++;

	char path[4096];
	snprintf(path, sizeof(path), "%s/%s.csv", dir, c->id);
	FILE *f = fopen(path, "w");
	if (!f) {
		free(bad_before);
		free(copies);
		free(stored);
		return errorf("%s: %s", path, strerror(errno));
	}
	if (c->bom)
		fputs("\xef\xbb\xbf", f);
	struct field hdr[NCOL];
	for (int i = 0; i < NCOL; i++)
		snprintf(hdr[i].v, FIELD_MAX, "%s", col_name[i]);
	char line[ROW_MAX];
	bool q = c->quote;
	c->quote = false; /* the header plain even where values are quoted */
	fwrite(line, 1, join(c, hdr, c->n_cols, line), f);
	c->quote = q;
	size_t n_stored = 0;
	unsigned kind = ci;
	for (size_t i = 0; i <= nr; i++) {
		for (unsigned b = 0; b < bad_before[i]; b++) {
			bad_line(n, c, &c->rows[i - 1], (enum bad_kind)(kind++ % BAD_KINDS), line);
			fputs(line, f);
			c->out_rows++;
			c->rejected++;
		}
		if (i == nr)
			break;
		struct field fl[NCOL];
		fields_of(n, c, &c->rows[i], fl);
		size_t len = join(c, fl, c->n_cols, line);
		for (unsigned k = 0; k <= copies[i]; k++) {
			fwrite(line, 1, len, f);
			stored[n_stored++] = &c->rows[i];
			c->out_rows++;
		}
	}
	int ret = EXIT_OK;
	if (fclose(f) != 0)
		ret = errorf("%s: %s", path, strerror(errno));
	/* The import stores each distinct record once; the rest are duplicates. */
	key_carrier = c;
	qsort(stored, n_stored, sizeof(*stored), cmp_row_stored);
	for (size_t i = 0; i < n_stored; i++) {
		if (i > 0 && cmp_row_stored(&stored[i - 1], &stored[i]) == 0)
			c->duplicates++;
		else
			c->imported++;
	}
	free(bad_before);
	free(copies);
	free(stored);
	return ret;
}

/* ---- the other outputs ---- */

static int write_network(const struct net *n, const char *dir, const char *desc)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/network.txt", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return errorf("%s: %s", path, strerror(errno));
	fprintf(f,
		"# made by ht_netgen from %s, seed %" PRIu64 "; read by tracenet.sh's net_load\n"
		"# carrier ID [initiator] [offnet]\n# link A B\n"
		"# trunk ID TRUNK-GROUP PROVIDER-ID|local\n",
		desc, n->seed);
	for (unsigned i = 0; i < n->n; i++)
		fprintf(f, "carrier %s%s%s\n", n->c[i].id, n->c[i].initiator ? " initiator" : "",
			n->c[i].offnet ? " offnet" : "");
	for (unsigned i = 0; i < n->n_links; i++)
		fprintf(f, "link %s %s\n", n->c[n->l[i].a].id, n->c[n->l[i].b].id);
	char tg[FIELD_MAX];
	for (unsigned i = 0; i < n->n; i++) {
		const struct carrier *c = &n->c[i];
		if (c->offnet)
			continue;
		for (unsigned k = 0; k < LOCAL_TGS && c->named_local; k++) {
			trunk_name(n, c, -1, true, k, tg, sizeof(tg));
			fprintf(f, "trunk %s %s local\n", c->id, tg);
			trunk_name(n, c, -1, false, k, tg, sizeof(tg));
			fprintf(f, "trunk %s %s local\n", c->id, tg);
		}
		for (unsigned o = 0; o < n->n; o++) {
			if (n->link_of[i][o] < 0)
				continue;
			for (unsigned k = 0; k < n->l[n->link_of[i][o]].trunks; k++) {
				trunk_name(n, c, (int)o, true, k, tg, sizeof(tg));
				fprintf(f, "trunk %s %s %s\n", c->id, tg, n->c[o].id);
			}
		}
	}
	if (fclose(f) != 0)
		return errorf("%s: %s", path, strerror(errno));
	return EXIT_OK;
}

static void expectations(const struct net *n, FILE *f)
{
	for (unsigned i = 0; i < n->n; i++) {
		const struct carrier *c = &n->c[i];
		if (c->offnet)
			continue;
		fprintf(f,
			"import %s file=%s.csv rows=%" PRIu64 " imported=%" PRIu64
			" rejected=%" PRIu64 " duplicates=%" PRIu64 "\n",
			c->id, c->id, c->out_rows, c->imported, c->rejected, c->duplicates);
	}
	if (!n->camp_set || n->n_traced == 0)
		return;
	/* Hop 0 is the terminating carrier: the path backwards. */
	const struct hop *term = &n->traced[n->n_traced - 1];
	char when[40];
	time_rfc3339(term->t, 0, when, sizeof(when));
	fprintf(f,
		"trace calling=+%s called=+%s time=%s time_ms=%" PRIu64
		" terminating=%s origin=%s customer=%s hops=%u\n",
		n->traced_calling, n->traced_called, when, term->t, n->c[term->carrier].id,
		n->c[n->camp[0]].id, n->camp_customer, n->n_traced);
	for (unsigned h = 0; h < n->n_traced; h++) {
		const struct hop *x = &n->traced[n->n_traced - 1 - h];
		time_rfc3339(x->t, 0, when, sizeof(when));
		if (x->up >= 0)
			fprintf(f, "hop %u %s time_ms=%" PRIu64 " time=%s legs=%u upstream=%s\n", h,
				n->c[x->carrier].id, x->t, when, x->legs, n->c[x->up].id);
		else
			fprintf(f,
				"hop %u %s time_ms=%" PRIu64
				" time=%s legs=%u origin customer=%s\n",
				h, n->c[x->carrier].id, x->t, when, x->legs, n->camp_customer);
	}
}

static void usage(FILE *f)
{
	fprintf(f, "usage: ht_netgen [--seed N] [--start TIME] -o DIR NETWORK\n\n"
		   "Writes each HopTrace carrier's CDR export (ID.csv), network.txt,\n"
		   "campaign.csv and expect.txt (also printed) into DIR, from the network\n"
		   "description NETWORK (demo/demo.net). TIME: RFC 3339 or seconds since the\n"
		   "epoch, the start of the hour of traffic (default 2026-11-29T06:00:00Z).\n");
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{"seed", required_argument, NULL, 'S'},
		{"start", required_argument, NULL, 't'},
		{"help", no_argument, NULL, 'h'},
		{NULL, 0, NULL, 0},
	};
	static struct net net;
	struct net *n = &net;
	const char *dir = NULL;
	uint64_t start_s = 1795932000; /* 2026-11-29T06:00:00Z */
	n->seed = 1;
	int opt;
	while ((opt = getopt_long(argc, argv, "o:h", opts, NULL)) != -1) {
		char *end;
		switch (opt) {
		case 'o':
			dir = optarg;
			break;
		case 'S':
			errno = 0;
			n->seed = strtoull(optarg, &end, 10);
			if (errno || *end || !*optarg || *optarg == '-') {
				fprintf(stderr, "ht_netgen: --seed: not a number: '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 't':
			if (ht_time_parse_arg(optarg, &start_s) != HT_OK) {
				fprintf(stderr, "ht_netgen: --start: not a time: '%s'\n", optarg);
				return EXIT_USAGE;
			}
			break;
		case 'h':
			usage(stdout);
			return EXIT_OK;
		default:
			usage(stderr);
			return EXIT_USAGE;
		}
	}
	if (!dir || optind + 1 != argc) {
		usage(stderr);
		return EXIT_USAGE;
	}
	int ret = parse_description(n, argv[optind]);
	if (ret != EXIT_OK)
		return ret;
	if (mkdir(dir, 0755) != 0 && errno != EEXIST)
		return errorf("%s: %s", dir, strerror(errno));
	n->start_ms = start_s * 1000;
	bench_rng_seed(&n->rng, n->seed);
	for (unsigned i = 0; i < n->n; i++) {
		struct carrier *c = &n->c[i];
		c->key = bench_rng_next(&n->rng);
		if (!c->clock_set)
			c->clock_ms = (int)rnd(n, 3001) - 1500;
		for (int k = 0; k < 16; k++)
			c->origid[k] = (uint8_t)rnd(n, 256);
		c->origid[6] = (uint8_t)((c->origid[6] & 0x0f) | 0x40); /* UUID version 4 */
		c->origid[8] = (uint8_t)((c->origid[8] & 0x3f) | 0x80);
	}
	routes(n);

	char path[4096];
	snprintf(path, sizeof(path), "%s/campaign.csv", dir);
	if (!(n->campaign_csv = fopen(path, "w")))
		return errorf("%s: %s", path, strerror(errno));
	fputs("calling,called,time_ms,time\n", n->campaign_csv);
	ordinary_traffic(n);
	campaign(n);
	if (fclose(n->campaign_csv) != 0)
		return errorf("%s: %s", path, strerror(errno));

	for (unsigned i = 0; i < n->n && ret == EXIT_OK; i++)
		if (!n->c[i].offnet)
			ret = write_export(n, i, dir);
	if (ret == EXIT_OK)
		ret = write_network(n, dir, argv[optind]);
	if (ret != EXIT_OK)
		return ret;
	snprintf(path, sizeof(path), "%s/expect.txt", dir);
	FILE *f = fopen(path, "w");
	if (!f)
		return errorf("%s: %s", path, strerror(errno));
	expectations(n, f);
	if (fclose(f) != 0)
		return errorf("%s: %s", path, strerror(errno));
	expectations(n, stdout);
	for (unsigned i = 0; i < n->n; i++)
		free(n->c[i].rows);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
}
