/*
 * A generator of realistic synthetic call records for the store benchmark,
 * deterministic from a seed: calls in time order with a daily profile over a
 * span, hundreds of peers with skewed (Zipf-like) traffic, skewed number
 * popularity (heavy callers such as robocall campaigns, spoofed random
 * callers, many called numbers), NANP numbers, calls originated here with a
 * customer reference, calls terminated here, SHAKEN attestation, and
 * optionally origid and SIP Call-ID on a fraction. The same records come out
 * as ht_cdr structs or as CSV text in the import format (docs/cdr-csv.md),
 * with trunk-group names that bench_gen_trunk_map maps back to peers.
 */
#ifndef BENCH_GEN_H
#define BENCH_GEN_H

#include <stddef.h>
#include <stdint.h>

#include "hoptrace/cdr.h"

typedef struct bench_gen_opts {
	uint64_t seed;
	uint64_t n;          /* records in the whole stream */
	uint64_t start_ms;   /* first possible call time (UTC) */
	uint64_t span_ms;    /* the stream covers [start_ms, start_ms + span_ms) */
	int utc_offset_min;  /* local time of the daily profile: -300 = US Eastern */
	unsigned n_peers;    /* interconnect partners */
	double originated;   /* fraction of calls from our own customers */
	double terminated;   /* fraction of calls to our own customers */
	double origid_frac;  /* fraction with an origid */
	double call_id_frac; /* fraction with a SIP Call-ID */
	int csv_epoch_ms;    /* CSV times as epoch ms rather than RFC 3339 */
} bench_gen_opts;

/* The defaults: seed 1, one day from 2026-11-28T05:00Z, 300 peers... */
void bench_gen_defaults(bench_gen_opts *o, uint64_t n);

typedef struct bench_gen bench_gen;

/* NULL when out of memory or the options make no sense. */
bench_gen *bench_gen_new(const bench_gen_opts *o);
void bench_gen_free(bench_gen *g);

/* Fills up to `max` next records; returns how many (0 at the end). */
size_t bench_gen_next(bench_gen *g, ht_cdr *out, size_t max);

/* The CSV header row, with its line feed. */
const char *bench_gen_csv_header(void);

/*
 * Writes `n` records as CSV rows into `buf` (`cap` bytes); returns the bytes
 * written, or 0 if they do not fit (a row takes at most BENCH_GEN_CSV_ROW_MAX).
 * Numbers come in the forms switches write (+1..., national); trunk groups
 * are named per peer and map back through bench_gen_trunk_map.
 */
#define BENCH_GEN_CSV_ROW_MAX 512
size_t bench_gen_csv(const bench_gen *g, const ht_cdr *recs, size_t n, char *buf, size_t cap);

/* The trunk map for the parser; `ud` is the bench_gen. */
ht_trunk_kind bench_gen_trunk_map(void *ud, const char *name, size_t len,
				  char provider[HT_PROVIDER_ID_MAX + 1]);

/* Peer `i`'s provider ID (0 <= i < n_peers). */
const char *bench_gen_peer(const bench_gen *g, unsigned i);

/* A small fast PRNG (xoshiro256**), also for the benchmark's own choices. */
typedef struct bench_rng {
	uint64_t s[4];
} bench_rng;
void bench_rng_seed(bench_rng *r, uint64_t seed);
uint64_t bench_rng_next(bench_rng *r);
double bench_rng_unit(bench_rng *r); /* uniform in [0, 1) */

#endif
