/*
 * The audit log: every traceback request this daemon answers or refuses,
 * recorded durably before the answer leaves (time, trace ID, asking peer,
 * initiator, status, what was disclosed), for the carrier's auditors.
 * An LMDB file, STATE_DIR/audit.mdb, keyed by time and a sequence number;
 * entries are never rewritten.
 */
#ifndef HD_AUDIT_H
#define HD_AUDIT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <uv.h>

#include "hoptrace/cert.h"
#include "hoptrace/err.h"

#define HD_AUDIT_STATUS_MAX    47 /* "dead_end:upstream_not_participant" is 33 */
#define HD_AUDIT_DISCLOSED_MAX 255
#define HD_AUDIT_BATCH_MAX     1024 /* entries per group commit */

typedef struct hd_audit_entry {
	uint64_t time_ms;
	uint8_t trace_id[16];
	char asking_peer[HT_PROVIDER_ID_MAX + 1];
	char initiator[HT_PROVIDER_ID_MAX + 1];
	char status[HD_AUDIT_STATUS_MAX + 1];       /* "found", "not_found", "refused:..." */
	char disclosed[HD_AUDIT_DISCLOSED_MAX + 1]; /* what the answer revealed, "" = nothing */
} hd_audit_entry;

typedef struct hd_audit hd_audit;

/* Opens (or creates) DIR/audit.mdb. */
int hd_audit_open(hd_audit **out, const char *dir, bool no_sync) HT_WUR;

/* Closes the log. NULL is allowed. */
void hd_audit_close(hd_audit *a);

/*
 * Appends `e` and returns once it is committed and synced. Blocks on the
 * sync: the event loop uses hd_audit_submit instead.
 */
int hd_audit_append(hd_audit *a, const hd_audit_entry *e) HT_WUR;

/* Runs on the loop thread once the entry is synced (rc HT_OK) or failed. */
typedef void (*hd_audit_done_fn)(void *ud, int rc);

/*
 * Queues `e` (copied) for a group commit: entries queued while a commit is
 * in flight on libuv's thread pool are written together in the next one,
 * one transaction and one sync for all of them. `fn` runs on `loop`'s
 * thread after the entry's commit is synced, in the order entries were
 * submitted; it may submit more. Call from the loop thread only. (Only if
 * libuv refuses the work does `fn` run, with HT_E_IO, before this returns.)
 * The loop
 * keeps running until every queued entry is committed; hd_audit_close
 * must come after that.
 */
int hd_audit_submit(hd_audit *a, uv_loop_t *loop, const hd_audit_entry *e, hd_audit_done_fn fn,
		    void *ud) HT_WUR;

/* Entries submitted whose callback has not run yet. */
size_t hd_audit_pending(const hd_audit *a);

/* Group commits made, and the entries they carried, since the log opened. */
void hd_audit_counts(const hd_audit *a, uint64_t *commits, uint64_t *entries);

typedef struct hd_audit_filter {
	uint64_t since_ms, until_ms; /* until 0 = no upper bound */
	const char *peer;            /* asking peer, NULL or "" = any */
	const uint8_t *trace_id;     /* 16 octets, or NULL = any */
	size_t limit;                /* 0 = no limit */
} hd_audit_filter;

/* Called per matching entry, oldest first. */
typedef void (*hd_audit_visit_fn)(void *ud, const hd_audit_entry *e);

/* Visits matching entries; *truncated says the limit cut the list. */
int hd_audit_list(hd_audit *a, const hd_audit_filter *f, hd_audit_visit_fn fn, void *ud,
		  bool *truncated) HT_WUR;

#endif
