/*
 * Synthetic call records (gen.h). Every choice comes from one seeded
 * xoshiro256** stream, so a seed and a record count give the same records
 * in every run, on every machine.
 */
#include "gen.h"

#include <math.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define MINUTE_MS     60000ULL
#define LOCAL_TRUNKS  8
#define TG_NAME_MAX   48
#define PEER_ZIPF_S   1.1 /* a few big partners carry most of the traffic */
#define CAMPAIGN_NUMS 500 /* heavy callers: robocall campaigns, call centres */

/* Relative traffic per local hour: night trough, business-day plateau. */
static const double hourly[24] = {0.20, 0.12, 0.08, 0.06, 0.06, 0.08, 0.18, 0.40,
				  0.70, 0.90, 1.00, 1.00, 0.95, 0.95, 1.00, 0.98,
				  0.92, 0.85, 0.70, 0.60, 0.50, 0.42, 0.35, 0.28};

struct tg_ent {
	char name[TG_NAME_MAX];
	int peer; /* -1: a trunk facing our own customers; -2: empty slot */
};

struct bench_gen {
	bench_gen_opts o;
	bench_rng rng;
	uint64_t i; /* records produced */

	/* Time: cumulative weight per bin of bin_ms over the span. */
	double *cdf;
	size_t n_bins, cursor;
	uint64_t bin_ms;

	/* Peers: provider IDs, trunk groups, skewed choice per direction. */
	char (*peer)[HT_PROVIDER_ID_MAX + 1];
	unsigned *n_tg;
	double *peer_cdf;
	unsigned *up_perm, *down_perm;
	struct tg_ent *tg;
	size_t tg_cap;

	/* Number pools: callers, called numbers, customers. */
	uint64_t caller_pool, called_pool, customer_pool;
};

/* ---- PRNG ---- */

static uint64_t splitmix64(uint64_t *x)
{
	uint64_t z = (*x += 0x9e3779b97f4a7c15ULL);
	z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
	z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
	return z ^ (z >> 31);
}

static uint64_t mix64(uint64_t x)
{
	return splitmix64(&x);
}

void bench_rng_seed(bench_rng *r, uint64_t seed)
{
	for (int i = 0; i < 4; i++)
		r->s[i] = splitmix64(&seed);
}

static uint64_t rotl(uint64_t x, int k)
{
	return (x << k) | (x >> (64 - k));
}

uint64_t bench_rng_next(bench_rng *r)
{
	uint64_t *s = r->s;
	uint64_t out = rotl(s[1] * 5, 7) * 9, t = s[1] << 17;
	s[2] ^= s[0];
	s[3] ^= s[1];
	s[1] ^= s[2];
	s[0] ^= s[3];
	s[2] ^= t;
	s[3] = rotl(s[3], 45);
	return out;
}

double bench_rng_unit(bench_rng *r)
{
	return (double)(bench_rng_next(r) >> 11) * 0x1.0p-53;
}

/* ---- skewed choices ---- */

/*
 * A rank in [0, n) with P(k) roughly proportional to (k + 1)^-s: the
 * inverse of the continuous power law on [1, n + 1], good enough for large
 * pools where a table would not fit.
 */
static uint64_t zipf_big(bench_rng *r, uint64_t n, double s)
{
	double u = bench_rng_unit(r), x;
	if (fabs(s - 1.0) < 1e-9) {
		x = pow((double)n + 1.0, u);
	} else {
		double a = 1.0 - s;
		x = pow(u * (pow((double)n + 1.0, a) - 1.0) + 1.0, 1.0 / a);
	}
	uint64_t k = (uint64_t)x;
	k = k ? k - 1 : 0;
	return k < n ? k : n - 1;
}

/* Index of the first cdf[] entry above u * cdf[n - 1]. */
static size_t pick_cdf(const double *cdf, size_t n, double u)
{
	double x = u * cdf[n - 1];
	size_t lo = 0, hi = n - 1;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		if (cdf[mid] > x)
			hi = mid;
		else
			lo = mid + 1;
	}
	return lo;
}

/* A NANP number (1 NPA NXX XXXX, NPA and NXX from 200 to 999) for `id`. */
static void nanp(uint64_t id, char out[16])
{
	uint64_t h = mix64(id);
	unsigned npa = 200 + (unsigned)(h % 800);
	h /= 800;
	unsigned nxx = 200 + (unsigned)(h % 800);
	h /= 800;
	unsigned line = (unsigned)(h % 10000);
	snprintf(out, 16, "1%03u%03u%04u", npa, nxx, line);
}

/* ---- set-up ---- */

void bench_gen_defaults(bench_gen_opts *o, uint64_t n)
{
	memset(o, 0, sizeof(*o));
	o->seed = 1;
	o->n = n;
	o->start_ms = 1795842000000ULL; /* 2026-11-28T05:00:00Z, midnight US Eastern */
	o->span_ms = 86400000ULL;
	o->utc_offset_min = -300;
	o->n_peers = 300;
	o->originated = 0.30;
	o->terminated = 0.20;
}

static double profile(const bench_gen_opts *o, uint64_t t_ms)
{
	int64_t local = (int64_t)(t_ms % 86400000ULL) + (int64_t)o->utc_offset_min * 60000;
	local = ((local % 86400000) + 86400000) % 86400000;
	double h = (double)local / 3600000.0 - 0.5; /* weights sit at the middle of the hour */
	if (h < 0)
		h += 24.0;
	unsigned a = (unsigned)h % 24, b = (a + 1) % 24;
	double f = h - floor(h);
	return hourly[a] * (1.0 - f) + hourly[b] * f;
}

static uint64_t fnv1a(const char *s, size_t len)
{
	uint64_t h = 0xcbf29ce484222325ULL;
	for (size_t i = 0; i < len; i++)
		h = (h ^ (uint8_t)s[i]) * 0x100000001b3ULL;
	return h;
}

static void tg_add(bench_gen *g, const char *name, int peer)
{
	size_t m = g->tg_cap - 1, i = (size_t)fnv1a(name, strlen(name)) & m;
	while (g->tg[i].peer != -2)
		i = (i + 1) & m;
	snprintf(g->tg[i].name, TG_NAME_MAX, "%s", name);
	g->tg[i].peer = peer;
}

static void shuffle(bench_rng *r, unsigned *a, unsigned n)
{
	for (unsigned i = 0; i < n; i++)
		a[i] = i;
	for (unsigned i = n; i > 1; i--) {
		unsigned j = (unsigned)(bench_rng_next(r) % i);
		unsigned t = a[i - 1];
		a[i - 1] = a[j];
		a[j] = t;
	}
}

bench_gen *bench_gen_new(const bench_gen_opts *o)
{
	if (o->n == 0 || o->span_ms == 0 || o->n_peers == 0 || o->n_peers > 60000)
		return NULL;
	bench_gen *g = calloc(1, sizeof(*g));
	if (!g)
		return NULL;
	g->o = *o;
	bench_rng_seed(&g->rng, o->seed);

	g->bin_ms = MINUTE_MS;
	if (o->span_ms / g->bin_ms > 4000000)
		g->bin_ms = o->span_ms / 4000000;
	g->n_bins = (size_t)((o->span_ms + g->bin_ms - 1) / g->bin_ms);
	g->cdf = malloc(g->n_bins * sizeof(double));

	unsigned np = o->n_peers;
	g->peer = calloc(np, sizeof(*g->peer));
	g->n_tg = calloc(np, sizeof(unsigned));
	g->peer_cdf = malloc(np * sizeof(double));
	g->up_perm = malloc(np * sizeof(unsigned));
	g->down_perm = malloc(np * sizeof(unsigned));
	g->tg_cap = 64;
	while (g->tg_cap < 4 * ((size_t)np * 3 + LOCAL_TRUNKS))
		g->tg_cap *= 2;
	g->tg = malloc(g->tg_cap * sizeof(*g->tg));
	if (!g->cdf || !g->peer || !g->n_tg || !g->peer_cdf || !g->up_perm || !g->down_perm ||
	    !g->tg) {
		bench_gen_free(g);
		return NULL;
	}

	double acc = 0;
	for (size_t b = 0; b < g->n_bins; b++) {
		uint64_t len = b + 1 < g->n_bins ? g->bin_ms : o->span_ms - b * g->bin_ms;
		acc += profile(o, o->start_ms + b * g->bin_ms + len / 2) * (double)len;
		g->cdf[b] = acc;
	}

	/* Peers: names, 1 to 3 trunk groups each, Zipf-like traffic. */
	for (size_t i = 0; i < g->tg_cap; i++)
		g->tg[i].peer = -2;
	acc = 0;
	for (unsigned i = 0; i < np; i++) {
		snprintf(g->peer[i], sizeof(g->peer[i]), "CARRIER-%04u", i);
		g->n_tg[i] = 1 + (unsigned)(mix64(o->seed ^ (i * 7919ULL)) % 3);
		for (unsigned k = 1; k <= g->n_tg[i]; k++) {
			char name[TG_NAME_MAX];
			snprintf(name, sizeof(name), "%s-TG%u", g->peer[i], k);
			tg_add(g, name, (int)i);
		}
		acc += pow((double)i + 1.0, -PEER_ZIPF_S);
		g->peer_cdf[i] = acc;
	}
	for (unsigned k = 1; k <= LOCAL_TRUNKS; k++) {
		char name[TG_NAME_MAX];
		snprintf(name, sizeof(name), "SBC-CUST-%u", k);
		tg_add(g, name, -1);
	}
	shuffle(&g->rng, g->up_perm, np);
	shuffle(&g->rng, g->down_perm, np);

	g->caller_pool = o->n / 4 > 1000 ? o->n / 4 : 1000;
	g->called_pool = o->n > 1000 ? o->n : 1000;
	g->customer_pool = 20000 + o->n / 1000;
	return g;
}

void bench_gen_free(bench_gen *g)
{
	if (!g)
		return;
	free(g->cdf);
	free(g->peer);
	free(g->n_tg);
	free(g->peer_cdf);
	free(g->up_perm);
	free(g->down_perm);
	free(g->tg);
	free(g);
}

const char *bench_gen_peer(const bench_gen *g, unsigned i)
{
	return g->peer[i];
}

/* ---- records ---- */

static uint64_t next_time(bench_gen *g)
{
	/* The i-th of n points of the profile's quantiles, jittered within its slot:
	 * non-decreasing by construction. */
	double total = g->cdf[g->n_bins - 1];
	double x = ((double)g->i + bench_rng_unit(&g->rng)) / (double)g->o.n * total;
	while (g->cursor + 1 < g->n_bins && g->cdf[g->cursor] <= x)
		g->cursor++;
	double lo = g->cursor ? g->cdf[g->cursor - 1] : 0.0;
	double w = g->cdf[g->cursor] - lo;
	uint64_t len = g->cursor + 1 < g->n_bins ? g->bin_ms : g->o.span_ms - g->cursor * g->bin_ms;
	double f = w > 0 ? (x - lo) / w : 0.0;
	if (f < 0)
		f = 0;
	uint64_t off = (uint64_t)(f * (double)len);
	if (off >= len)
		off = len - 1;
	return g->o.start_ms + g->cursor * g->bin_ms + off;
}

static void make_record(bench_gen *g, ht_cdr *r)
{
	bench_rng *rng = &g->rng;
	memset(r, 0, sizeof(*r));
	r->time_ms = next_time(g);
	bool here_in = bench_rng_unit(rng) < g->o.originated;
	bool here_out = bench_rng_unit(rng) < g->o.terminated;
	unsigned np = g->o.n_peers;
	if (!here_in) {
		size_t k = pick_cdf(g->peer_cdf, np, bench_rng_unit(rng));
		memcpy(r->upstream, g->peer[g->up_perm[k]], sizeof(r->upstream));
	}
	if (!here_out) {
		size_t k = pick_cdf(g->peer_cdf, np, bench_rng_unit(rng));
		memcpy(r->downstream, g->peer[g->down_perm[k]], sizeof(r->downstream));
	}

	/* Callers: campaigns (few numbers, very many calls), spoofed random
	 * numbers, and subscribers with a mild skew. */
	double u = bench_rng_unit(rng);
	if (u < 0.10)
		nanp(0x1000000000000000ULL | zipf_big(rng, CAMPAIGN_NUMS, 1.0), r->calling);
	else if (u < 0.16)
		nanp(bench_rng_next(rng), r->calling);
	else
		nanp(0x2000000000000000ULL | zipf_big(rng, g->caller_pool, 0.6), r->calling);
	/* Called: campaigns dial at random; the rest favour popular numbers. */
	if (bench_rng_unit(rng) < 0.15)
		nanp(bench_rng_next(rng), r->called);
	else
		nanp(0x3000000000000000ULL | zipf_big(rng, g->called_pool, 0.7), r->called);

	u = bench_rng_unit(rng);
	if (here_in) {
		snprintf(r->customer_ref, sizeof(r->customer_ref), "A%07u",
			 (unsigned)zipf_big(rng, g->customer_pool, 0.9) % 10000000u);
		r->attestation = u < 0.80 ? 'A' : u < 0.95 ? 'B' : 'C';
	} else {
		r->attestation = u < 0.50 ? 'A' : u < 0.62 ? 'B' : u < 0.80 ? 'C' : 0;
	}
	if (g->o.origid_frac > 0 && bench_rng_unit(rng) < g->o.origid_frac) {
		uint64_t a = bench_rng_next(rng), b = bench_rng_next(rng);
		for (int i = 0; i < 8; i++) {
			r->origid[i] = (uint8_t)(a >> (8 * i));
			r->origid[8 + i] = (uint8_t)(b >> (8 * i));
		}
		r->origid[6] = (uint8_t)((r->origid[6] & 0x0f) | 0x40);
		r->origid[8] = (uint8_t)((r->origid[8] & 0x3f) | 0x80);
		r->has_origid = true;
	}
	if (g->o.call_id_frac > 0 && bench_rng_unit(rng) < g->o.call_id_frac) {
		uint64_t a = bench_rng_next(rng);
		snprintf(r->call_id, sizeof(r->call_id), "%016llx-%08x@sbc%u.example.net",
			 (unsigned long long)a, (unsigned)(a >> 17), (unsigned)(a % 16));
	}
}

size_t bench_gen_next(bench_gen *g, ht_cdr *out, size_t max)
{
	size_t k = 0;
	while (k < max && g->i < g->o.n) {
		make_record(g, &out[k++]);
		g->i++;
	}
	return k;
}

/* ---- CSV ---- */

const char *bench_gen_csv_header(void)
{
	return "time,calling,called,in_trunk,out_trunk,customer_ref,attestation,origid,call_id\n";
}

static void civil(uint64_t days, unsigned *y, unsigned *m, unsigned *d)
{
	uint64_t z = days + 719468, era = z / 146097;
	unsigned doe = (unsigned)(z - era * 146097);
	unsigned yoe = (doe - doe / 1460 + doe / 36524 - doe / 146096) / 365;
	unsigned doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
	unsigned mp = (5 * doy + 2) / 153;
	*d = doy - (153 * mp + 2) / 5 + 1;
	*m = mp < 10 ? mp + 3 : mp - 9;
	*y = (unsigned)(yoe + era * 400) + (*m <= 2);
}

/* The trunk group a record's call came in or went out on. */
static void trunk_name(const bench_gen *g, const char *provider, uint64_t h, char *out)
{
	if (!provider[0]) {
		snprintf(out, TG_NAME_MAX, "SBC-CUST-%u", (unsigned)(h % LOCAL_TRUNKS) + 1);
		return;
	}
	unsigned idx = (unsigned)strtoul(provider + 8, NULL, 10); /* "CARRIER-%04u" */
	unsigned n = idx < g->o.n_peers ? g->n_tg[idx] : 1;
	snprintf(out, TG_NAME_MAX, "%s-TG%u", provider, (unsigned)(h % n) + 1);
}

size_t bench_gen_csv(const bench_gen *g, const ht_cdr *recs, size_t n, char *buf, size_t cap)
{
	size_t o = 0;
	for (size_t i = 0; i < n; i++) {
		const ht_cdr *r = &recs[i];
		if (cap - o < BENCH_GEN_CSV_ROW_MAX)
			return 0;
		char *p = buf + o;
		size_t room = cap - o;
		int w;
		uint64_t h = mix64(r->time_ms ^ fnv1a(r->calling, strlen(r->calling)) ^
				   fnv1a(r->called, strlen(r->called)) << 1);
		if (g->o.csv_epoch_ms) {
			w = snprintf(p, room, "%llu,", (unsigned long long)r->time_ms);
		} else {
			unsigned y, m, d;
			uint64_t s = r->time_ms / 1000;
			civil(s / 86400, &y, &m, &d);
			w = snprintf(p, room, "%04u-%02u-%02uT%02u:%02u:%02u.%03uZ,", y, m, d,
				     (unsigned)(s % 86400 / 3600), (unsigned)(s % 3600 / 60),
				     (unsigned)(s % 60), (unsigned)(r->time_ms % 1000));
		}
		p += w;
		room -= (size_t)w;
		/* Half as +1NPANXXXXXX, half national (the parser's default_cc is 1). */
		const char *calling = (h & 1) ? r->calling : r->calling + 1;
		const char *called = (h & 2) ? r->called : r->called + 1;
		char in_tg[TG_NAME_MAX], out_tg[TG_NAME_MAX], uuid[37] = "";
		trunk_name(g, r->upstream, h >> 8, in_tg);
		trunk_name(g, r->downstream, h >> 24, out_tg);
		if (r->has_origid)
			ht_uuid_format(r->origid, uuid);
		char att[2] = {r->attestation, 0};
		w = snprintf(p, room, "%s%s,%s%s,%s,%s,%s,%s,%s,%s\n", (h & 1) ? "+" : "", calling,
			     (h & 2) ? "+" : "", called, in_tg, out_tg, r->customer_ref, att, uuid,
			     r->call_id);
		if (w < 0 || (size_t)w >= room)
			return 0;
		o = (size_t)(p + w - buf);
	}
	return o;
}

ht_trunk_kind bench_gen_trunk_map(void *ud, const char *name, size_t len,
				  char provider[HT_PROVIDER_ID_MAX + 1])
{
	const bench_gen *g = ud;
	if (len >= TG_NAME_MAX)
		return HT_TRUNK_UNKNOWN;
	size_t m = g->tg_cap - 1, i = (size_t)fnv1a(name, len) & m;
	for (; g->tg[i].peer != -2; i = (i + 1) & m) {
		if (strncmp(g->tg[i].name, name, len) == 0 && g->tg[i].name[len] == 0) {
			if (g->tg[i].peer < 0)
				return HT_TRUNK_LOCAL;
			memcpy(provider, g->peer[g->tg[i].peer], HT_PROVIDER_ID_MAX + 1);
			return HT_TRUNK_PEER;
		}
	}
	return HT_TRUNK_UNKNOWN;
}
