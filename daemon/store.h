/*
 * The call-record store: the carrier's own CDRs, on disk, in one LMDB
 * environment per UTC day (a partition). Lookups take the records of calls
 * handed to one downstream peer (or terminated here) in a time window,
 * narrowed by a short digest of the number pair; retention drops whole
 * partitions. A batch acknowledged by hd_store_insert has been committed
 * and synced: it survives a crash of the process at any moment, and LMDB
 * needs no repair step after one. See docs/store.md.
 */
#ifndef HD_STORE_H
#define HD_STORE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/cdr.h"
#include "hoptrace/err.h"

#define HD_STORE_DAY_MS         86400000ULL
#define HD_STORE_MAX_PARTITIONS 4096
#define HD_STORE_MAX_PEERS      65535 /* distinct provider IDs per partition */

typedef struct hd_store hd_store;

typedef struct hd_store_opts {
	const char *dir;         /* created if missing (mode 0750) */
	uint32_t retention_days; /* partitions older than this are dropped */
	uint64_t map_size;       /* per partition; 0 = default (64 GiB, sparse) */
	bool no_sync;            /* benchmarks only: commits are not synced */
} hd_store_opts;

/* Opens (or creates) the store in opts->dir, opening every partition. */
int hd_store_open(hd_store **out, const hd_store_opts *opts) HT_WUR;

/* Closes the store. NULL is allowed. */
void hd_store_close(hd_store *s);

/*
 * Inserts `n` records in one transaction per partition they fall in, and
 * returns once each is committed and synced. A record identical to a stored
 * one (every field) is not stored again and is counted in *duplicates.
 * Records must be valid (E.164 digits, provider IDs); HT_E_INVAL otherwise,
 * with nothing of the batch stored in that partition.
 */
int hd_store_insert(hd_store *s, const ht_cdr *recs, size_t n, size_t *inserted,
		    size_t *duplicates) HT_WUR;

/*
 * Pipelined insert, for importers: hd_store_submit checks and prepares the
 * batch in the calling thread (the records are copied: `recs` may be
 * reused) and hands it to the store's writer thread, which commits and
 * syncs it as hd_store_insert does, while the caller goes on. Up to four
 * batches are with the writer (waiting batches of one partition may be
 * committed in one transaction: each is still all there or not at all).
 * A submit returns once the batches before the last three are committed
 * and synced, adding their counts to *inserted and *duplicates: those
 * records are acknowledged. hd_store_flush waits for every submitted batch and adds
 * their counts. A failed batch's error is returned by the call that
 * collects it; a batch submitted with or after a failure is not stored.
 * Every other function may be called in between (from the same thread);
 * hd_store_insert only after a flush. hd_store_close waits for submitted
 * batches but reports nothing: flush first.
 */
int hd_store_submit(hd_store *s, const ht_cdr *recs, size_t n, size_t *inserted,
		    size_t *duplicates) HT_WUR;
int hd_store_flush(hd_store *s, size_t *inserted, size_t *duplicates) HT_WUR;

/*
 * The same pipeline for an event loop, which must never wait for the disk.
 * hd_store_submit_async prepares the batch in the calling thread (the
 * records are copied) and hands it to the writer, but never waits: it may
 * only be called while hd_store_room() is above zero (HT_E_INVAL
 * otherwise). Once the batch is committed and synced, or has failed (or
 * was refused after an earlier failure: HT_E_IO), `done` is called once,
 * in the owner's thread, from the store call that collects the batch:
 * hd_store_poll, which collects the batches already done without waiting,
 * or any call that waits (hd_store_submit, hd_store_flush, hd_store_expire,
 * hd_store_close). `done` must not call the store. Its counts are not added
 * to those of hd_store_submit/hd_store_flush. If the batch cannot be
 * handed over (a record that is not valid, a partition that cannot be
 * opened), the call returns the error and `done` is never called.
 *
 * hd_store_set_notify registers `fn`, called from the writer thread
 * (under the store's lock) each time batches are done: it must only wake
 * the owner (uv_async_send), which then calls hd_store_poll. NULL stops
 * it; once hd_store_set_notify returns, the old `fn` is not called again.
 */
typedef void (*hd_store_done_fn)(void *ud, int rc, size_t inserted, size_t duplicates);
size_t hd_store_room(hd_store *s);
int hd_store_submit_async(hd_store *s, const ht_cdr *recs, size_t n, hd_store_done_fn done,
			  void *ud) HT_WUR;
void hd_store_poll(hd_store *s);
void hd_store_set_notify(hd_store *s, void (*fn)(void *ud), void *ud);

/*
 * The narrowing digest of a number pair: the first 16 bits of
 * BLAKE2b-256("hoptrace/v1 number-hint" || 0x00 || calling || 0x00 || called).
 * Unsalted: whoever learns it can test guesses of the pair (docs/store.md).
 */
uint16_t hd_store_hint(const char *calling, const char *called);

/* Called for each candidate record; return non-zero to stop the lookup. */
typedef int (*hd_store_visit_fn)(void *ud, const ht_cdr *rec);

/*
 * Visits the records of calls handed to `downstream` ("" = terminated here)
 * with time in [from_ms, to_ms] whose hint's top `hint_bits` bits (0..16)
 * equal those of `hint`. Records come in hint, then time order per
 * partition. Readers never block writers, retention or each other.
 */
int hd_store_lookup(hd_store *s, const char *downstream, uint16_t hint, unsigned hint_bits,
		    uint64_t from_ms, uint64_t to_ms, hd_store_visit_fn fn, void *ud) HT_WUR;

/*
 * Visits the stored calls from `calling` to `called` (E.164 digits) with
 * time in [from_ms, to_ms], whatever peer they went to: the operator's
 * check (hoptrace cdr lookup), one hinted look-up per downstream peer.
 */
int hd_store_find_call(hd_store *s, const char *calling, const char *called, uint64_t from_ms,
		       uint64_t to_ms, hd_store_visit_fn fn, void *ud) HT_WUR;

/*
 * Drops every partition whose whole day is older than the retention period
 * at `now_ms`: its file is removed, not its rows. *dropped counts them.
 */
int hd_store_expire(hd_store *s, uint64_t now_ms, size_t *dropped) HT_WUR;

/*
 * Compaction: a day's partition, written while the day was current, has
 * half-full pages; once the day is over it can be rewritten in key order
 * with full pages (roughly halving its size). Three steps so the copy can
 * run on a worker thread while the owner keeps using the store:
 * hd_store_compact_begin (owner's thread: picks the partition and keeps
 * retention off it), hd_store_compact_run (any thread: reads the partition
 * and writes DIR/cdr-YYYYMMDD.mdb.tmp), hd_store_compact_finish (owner's
 * thread: renames the copy over the partition, unless a write landed on the
 * partition meanwhile, in which case the copy is discarded: HT_E_STALE).
 * A crash at any point leaves the old file or the new one, never a mix;
 * leftover .tmp files are removed when the store opens.
 */
typedef struct hd_store_compaction hd_store_compaction;

/* The days (since the epoch) of partitions before `before_day` that are not
 * compacted yet; malloc'd in *days. */
int hd_store_compactable(hd_store *s, uint32_t before_day, uint32_t **days, size_t *n) HT_WUR;

int hd_store_compact_begin(hd_store *s, uint32_t day, hd_store_compaction **job) HT_WUR;
int hd_store_compact_run(hd_store_compaction *job) HT_WUR;
/* Installs (or discards) the copy and frees `job`; pass run's result. */
int hd_store_compact_finish(hd_store *s, hd_store_compaction *job, int run_result) HT_WUR;

/* All three steps at once, in the calling thread. */
int hd_store_compact(hd_store *s, uint32_t day) HT_WUR;

typedef struct hd_store_peer_count {
	char provider_id[HT_PROVIDER_ID_MAX + 1]; /* "" = here */
	uint64_t as_upstream;                     /* calls it handed us */
	uint64_t as_downstream;                   /* calls we handed it */
} hd_store_peer_count;

typedef struct hd_store_stats {
	uint64_t records;
	size_t partitions;
	uint64_t first_ms, last_ms; /* span of record times; 0 when empty */
	uint64_t bytes_on_disk;
	size_t n_peers;
	hd_store_peer_count *peers; /* malloc'd; free with hd_store_stats_free */
} hd_store_stats;

int hd_store_stats_get(hd_store *s, hd_store_stats *st) HT_WUR;
void hd_store_stats_free(hd_store_stats *st);

#endif
