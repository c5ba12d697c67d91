/*
 * The SQLite baseline the store is measured against: the schema a careful
 * engineer would write for the same access path, with the same API shape as
 * the store (batch insert in one durable transaction; look-up by downstream
 * peer, 16-bit hint and time window, records decoded into ht_cdr).
 *
 *   peers(id INTEGER PRIMARY KEY, name TEXT UNIQUE)      id 0 = "here"
 *   calls(time, calling, called, up, down, hint INTEGER, attest INTEGER,
 *         customer_ref TEXT, origid BLOB, call_id TEXT)  absent = NULL
 *   INDEX calls_key ON calls(down, hint, time)
 *
 * WAL journal, synchronous FULL (each commit fsynced, as the store does) or
 * NORMAL, 64 MiB page cache, reads through mmap (up to SQLite's 2 GiB cap).
 */
#ifndef BENCH_SQLITE_BASELINE_H
#define BENCH_SQLITE_BASELINE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "store.h"

typedef struct sqlb sqlb;

/* Creates a fresh database at `path`. Prints SQLite's error and returns -1 on failure. */
int sqlb_open(sqlb **out, const char *path, bool sync_full);
void sqlb_close(sqlb *b);

/* Inserts `n` records in one transaction, committed before it returns. */
int sqlb_insert(sqlb *b, const ht_cdr *recs, size_t n);

/* Visits the records handed to `downstream` ("" = here) with this 16-bit hint in [from, to]. */
int sqlb_lookup(sqlb *b, const char *downstream, uint16_t hint, uint64_t from_ms, uint64_t to_ms,
		hd_store_visit_fn fn, void *ud);

/* Rows in the calls table. */
int sqlb_count(sqlb *b, uint64_t *rows);

/* Rebuilds the database file (VACUUM): tables and index in order, pages full. */
int sqlb_vacuum(sqlb *b);

/* Checkpoints the WAL into the database (TRUNCATE), then the bytes of db + wal on disk. */
int sqlb_bytes(sqlb *b, uint64_t *bytes);

#endif
