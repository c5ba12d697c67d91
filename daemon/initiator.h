/*
 * The initiator: traces this carrier starts (spec/control.md, trace start to
 * trace export). A trace is built and signed here, recorded durably in
 * STATE_DIR/traces.mdb before it is sent, and run through the hop engine
 * (trace.c) with this daemon as the asker of hop 0, or via a configured
 * peer. Each sealed answer the engine delivers is opened with the trace's
 * own answer key and verified against the daemon's trust before it may go
 * into the evidence; a rejected one is kept and shown with the reason.
 *
 * Durability, with no disk write on the event loop: every write goes to
 * the thread pool in batches, one in flight at a time (LMDB has one
 * writer), each one write transaction, committed and synced once. A new
 * trace (request, opening, answer secret key) is in the next batch, which
 * starts at once, and the engine gets the request only when that batch is
 * done; answers go at most HD_INITIATOR_FLUSH_MS after they arrive, a
 * trace's end (status, time, the secret key wiped) at once. The reads
 * (show, list, export) read what is committed; hd_initiator_sync lets a
 * reader wait, off the loop, until what has arrived is. A trace found
 * unfinished when the daemon starts is marked interrupted, with the
 * answers it had; a stopping daemon writes what it holds, then closes.
 */
#ifndef HD_INITIATOR_H
#define HD_INITIATOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/cert.h"
#include "hoptrace/control.h"
#include "hoptrace/e164.h"
#include "hoptrace/err.h"
#include "hoptrace/trace.h"
#include "trace.h"

struct hd_daemon;

/* Answers wait at most this long in memory before their batch starts. */
#define HD_INITIATOR_FLUSH_MS 50
/* A trace that has ended and whose writes failed this many times in a row is given up. */
#define HD_INITIATOR_RETRIES 3
/* After the request's expiry, the engine gets this long to deliver its own
 * dead ends and completion before the trace is given up as timed out. */
#define HD_INITIATOR_GRACE_MS 1000

/* ---- The daemon's side ---------------------------------------------------- */

/*
 * Opens STATE_DIR/traces.mdb (d->cfg.state_dir, created 0600: it holds the
 * answer secret keys of running traces), marks traces left unfinished by an
 * earlier run as interrupted, and sets d->initiator.
 */
int hd_initiator_init(struct hd_daemon *d) HT_WUR;

/*
 * The daemon is stopping: running traces are marked interrupted (with
 * their answers) and cancelled in the engine; what is still to write is
 * written (a batch in flight is waited for), and the module frees itself
 * and closes the database once that is done and its timers have closed, as
 * the loop runs on. Call it before hd_trace_fini. NULL d->initiator is
 * allowed.
 */
void hd_initiator_fini(struct hd_daemon *d);

/*
 * How a trace start ends: HT_OK and the trace's ID once it is stored
 * (synced) and started in the engine; else an error and a sentence for the
 * operator (`why`, valid during the call). A trace the engine refused is
 * stored with status failed.
 */
typedef void (*hd_initiator_started_fn)(void *ud, int rc, const uint8_t id[HT_TRACE_ID_LEN],
					const char *why);

/*
 * trace start: normalises the numbers, builds and signs the request and
 * queues its record for writing. HT_OK: `fn` is called later, exactly once
 * (also when the daemon stops first), never from within this call. Else
 * returns an error, writes a sentence for the operator into `why`, and `fn`
 * is not called.
 */
int hd_initiator_start(struct hd_daemon *d, const ht_ctl_trace_start *q, hd_initiator_started_fn fn,
		       void *ud, char *why, size_t whylen) HT_WUR;

/*
 * Waits, off the loop, until everything held now (new traces, answers,
 * ends) has been through a commit, so that a read that follows shows what
 * is on disk. *later true: fn(ud) is called then, exactly once (also when
 * the daemon stops first). *later false: nothing is waiting (or an error:
 * HT_E_INVAL when the daemon is stopping, HT_E_NOMEM) and fn is not called.
 */
typedef void (*hd_initiator_synced_fn)(void *ud);
int hd_initiator_sync(struct hd_daemon *d, hd_initiator_synced_fn fn, void *ud, bool *later) HT_WUR;

/* The three reads below show what is committed; hd_initiator_sync first for the rest. */

/*
 * trace show: the trace and its answers from index `from` into `out`
 * (out->answers malloc'd: the caller frees it). HT_E_INVAL with `why` when
 * there is no such trace.
 */
int hd_initiator_show(struct hd_daemon *d, const uint8_t id[HT_TRACE_ID_LEN], uint32_t from,
		      ht_ctl_trace *out, char *why, size_t whylen) HT_WUR;

/* trace list: at most `limit` traces, newest first (out->entries malloc'd). */
int hd_initiator_list(struct hd_daemon *d, uint32_t limit, ht_ctl_trace_list *out, char *why,
		      size_t whylen) HT_WUR;

/*
 * trace export: the piece of the trace's evidence bundle that starts at
 * `offset` (out->data malloc'd), with the bundle's size and digest. The
 * bundle holds the request, the opening and the answers with verdict "ok",
 * in arrival order; its exported_ms is the trace's finish (or its last
 * answer while it runs), so the same trace always gives the same octets.
 */
int hd_initiator_export(struct hd_daemon *d, const uint8_t id[HT_TRACE_ID_LEN], uint64_t offset,
			ht_ctl_trace_export *out, char *why, size_t whylen) HT_WUR;

/*
 * What the engine calls for a trace started here (hd_trace_local_fn, `ud`
 * being d->initiator): a sealed answer to judge and keep, or the end. Public
 * so that the tests can deliver what a misbehaving relay would.
 */
void hd_initiator_on_event(void *ud, const uint8_t trace_id[16], enum hd_trace_event ev,
			   const uint8_t *sealed, size_t len);

/* ---- The durable store, exposed for the unit tests ------------------------ */

enum hd_trace_status {
	HD_TS_RUNNING = 1,
	HD_TS_COMPLETE = 2,
	HD_TS_TIMED_OUT = 3,
	HD_TS_INTERRUPTED = 4,
	HD_TS_FAILED = 5, /* stored, but the engine would not start it */
};

/* The control protocol's token for a status ("running"...). */
const char *hd_trace_status_name(int status);

/* Verdicts of answers (TraceHop.verdict). */
#define HD_VERDICT_OK            "ok"
#define HD_VERDICT_UNDECRYPTABLE "decrypt_failed" /* does not open with the trace's key */
#define HD_VERDICT_DUPLICATE     "duplicate"      /* the same statement, already kept */
#define HD_VERDICT_UNLINKED      "unlinked"       /* hangs below no answer kept (the chain) */
#define HD_VERDICT_BAD_TIME      "bad_time"       /* dated outside the request's lifetime */
#define HD_VERDICT_MAX           31

typedef struct hd_trace_rec {
	uint8_t id[HT_TRACE_ID_LEN];
	int status; /* enum hd_trace_status */
	uint64_t created_ms, call_time_ms;
	uint64_t started_ms, finished_ms; /* finished 0 = not yet */
	uint32_t n_answers;               /* kept (at most HT_CTL_TRACE_ANSWERS_MAX) */
	uint32_t n_dropped;               /* received past that, not kept */
	bool has_sk;                      /* the answer secret key is still held */
	uint8_t answer_pk[HT_ANSWER_PK_LEN], answer_sk[HT_ANSWER_SK_LEN];
	char calling[HT_E164_BUF], called[HT_E164_BUF]; /* the opening */
	char to[HT_PROVIDER_ID_MAX + 1];                /* "" = hop 0 here */
	char origin[HT_PROVIDER_ID_MAX + 1];            /* first verified origin, or "" */
	char label[HT_LABEL_MAX + 1];
	uint8_t *request; /* the signed request envelope; malloc'd when read */
	size_t request_len;
} hd_trace_rec;

/* Frees the request and wipes the secret key. */
void hd_trace_rec_clear(hd_trace_rec *r);

typedef struct hd_trace_answer {
	uint64_t received_ms;
	bool sealed; /* data is the sealed box (it did not open), not the answer envelope */
	char verdict[HD_VERDICT_MAX + 1];
	const uint8_t *data;
	size_t len;
} hd_trace_answer;

typedef struct hd_traces hd_traces;

/*
 * Opens (creating) DIR/traces.mdb and marks every trace still running as
 * interrupted at `now_ms`, its secret key wiped; *interrupted counts them.
 */
int hd_traces_open(hd_traces **out, const char *dir, uint64_t now_ms, size_t *interrupted) HT_WUR;
void hd_traces_close(hd_traces *t);

/* Records a new trace; returns once it is synced. HT_E_EXISTS for a known ID. */
int hd_traces_create(hd_traces *t, const hd_trace_rec *r) HT_WUR;

/*
 * Appends answers to trace `id` in one synced commit; each updates the
 * trace's count (or its dropped count past HT_CTL_TRACE_ANSWERS_MAX) and,
 * when the trace has none yet, its origin (`origins[i]`, "" for none).
 */
int hd_traces_add_answers(hd_traces *t, const uint8_t id[HT_TRACE_ID_LEN], const hd_trace_answer *a,
			  const char *const *origins, size_t n) HT_WUR;

/* Sets a final status and time and wipes the secret key, synced. */
int hd_traces_finish(hd_traces *t, const uint8_t id[HT_TRACE_ID_LEN], int status,
		     uint64_t finished_ms) HT_WUR;

/* Reads trace `id` (its request malloc'd); *found false when there is none. */
int hd_traces_get(hd_traces *t, const uint8_t id[HT_TRACE_ID_LEN], hd_trace_rec *out,
		  bool *found) HT_WUR;

/* The daemon's store (d->initiator's), for the tests. */
hd_traces *hd_initiator_traces(struct hd_daemon *d);

/* Visits answers from index `from` in arrival order; a nonzero return stops. */
typedef int (*hd_trace_answer_fn)(void *ud, uint32_t index, const hd_trace_answer *a);
int hd_traces_answers(hd_traces *t, const uint8_t id[HT_TRACE_ID_LEN], uint32_t from,
		      hd_trace_answer_fn fn, void *ud) HT_WUR;

/*
 * Visits at most `limit` traces, newest first (without their requests);
 * *truncated says older ones exist.
 */
typedef void (*hd_trace_visit_fn)(void *ud, const hd_trace_rec *r);
int hd_traces_list(hd_traces *t, size_t limit, hd_trace_visit_fn fn, void *ud,
		   bool *truncated) HT_WUR;

#endif
