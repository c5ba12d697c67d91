/*
 * The hop side of traceback (spec/protocol.md section 11): a TraceForward
 * from a peer is checked (rate limit, request, hop, duplicate, policy),
 * matched against the call-record store, answered with a signed HopAnswer
 * sealed to the initiator, audited before it leaves, and forwarded to the
 * upstreams of the matched calls; their answers are relayed back, and the
 * branch ends with TraceComplete once every upstream has completed or been
 * named in a signed dead end. The initiator module (initiator.c) runs its
 * own traces through the same engine with a local asker.
 */
#ifndef HD_TRACE_H
#define HD_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/err.h"
#include "hoptrace/peermsg.h"

struct hd_daemon;
struct hd_peer;

#define HD_TRACE_ACTIVE_MAX    4096  /* traces in progress; beyond: rate_limited */
#define HD_TRACE_SEEN_MAX      65536 /* trace IDs remembered until their expiry */
#define HD_TRACE_AUDIT_BACKLOG 8192  /* answers being signed or audited; beyond: Error */
#define HD_TRACE_RELAY_MAX     1024  /* answers relayed from one upstream for one trace */
#define HD_TRACE_MIN_BUDGET_MS 100   /* an upstream gets at least this, or a dead end */
#define HD_TRACE_BUDGET_MARGIN 50    /* ms kept back per hop for our own dead ends */
/* Requests of one peer in progress (received, not yet answered or refused);
 * at this many its session is not read until one is answered. */
#define HD_TRACE_PEER_MAX        256
#define HD_TRACE_CERT_CACHE      256   /* initiator certificates kept parsed and checked */
#define HD_TRACE_LOG_INTERVAL_MS 10000 /* floods are summed up in a line this often */

enum hd_trace_event { HD_TRACE_EV_ANSWER = 1, HD_TRACE_EV_COMPLETE = 2 };

/* Delivers, for a trace started here, each sealed answer (own hop-0 answer included) and finally
 * the completion. */
typedef void (*hd_trace_local_fn)(void *ud, const uint8_t trace_id[16], enum hd_trace_event ev,
				  const uint8_t *sealed, size_t len);

/* Starts the engine (d->trace); the store and the audit log must be open. */
int hd_trace_init(struct hd_daemon *d);

/*
 * Stops the engine: traces in progress are dropped without further
 * messages or callbacks. Called when the daemon stops; what is still in
 * flight (audit commits, timers closing) is released while the loop runs
 * down, so all is freed when uv_run returns.
 */
void hd_trace_fini(struct hd_daemon *d);

/* A TraceForward, TraceAnswer, TraceComplete or Error with a trace ID from `p`. */
void hd_trace_on_message(struct hd_peer *p, const ht_pmsg *m);

/* `p`'s session ended: its open branches become dead ends, traces it asked are dropped. */
void hd_trace_on_peer_down(struct hd_peer *p);

/*
 * Runs a request this daemon built and signed. via_peer NULL: act as hop 0
 * here (asked_by = own provider ID, match calls terminated here), then
 * forward as any hop does. via_peer set (a consortium-style initiator):
 * send TraceForward hop 0 to that peer; if it is not established, or does
 * not complete in time, issue the DEAD_END for it yourself (signed, sealed,
 * delivered like any answer).
 * Returns HT_OK, after which `fn` is called later (never from within this
 * call), or: the request's own parse/verify error (e.g. HT_E_MISSING_ROLE
 * when this daemon's certificate lacks the initiator role, HT_E_EXPIRED),
 * HT_E_EXISTS for a trace ID already seen, HT_E_TOO_LARGE when too many
 * traces are in progress, HT_E_INVAL when the engine is not running.
 */
int hd_trace_local_start(struct hd_daemon *d, const uint8_t *req, size_t len, const char *via_peer,
			 hd_trace_local_fn fn, void *ud) HT_WUR;

/* The initiator gives up on a trace (daemon stopping): no more callbacks for it. */
void hd_trace_local_cancel(struct hd_daemon *d, const uint8_t trace_id[16]);

/* Traces in progress here (for status). */
size_t hd_trace_active(const struct hd_daemon *d);

/* ---- parts, exposed for the unit tests ---- */

/* A token bucket: `rate` tokens a second, at most `burst`; starts full. */
struct hd_bucket {
	uint64_t millitokens;
	uint64_t last_ms;
	bool primed;
};

/* Takes one token at `now_ms`; false when the bucket is empty. */
bool hd_bucket_take(struct hd_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms);

/* Trace IDs seen, each until its request's expiry, at most `max` at once. */
typedef struct hd_seen hd_seen;

enum hd_seen_result { HD_SEEN_NEW = 0, HD_SEEN_DUPLICATE = 1, HD_SEEN_FULL = 2 };

int hd_seen_new(hd_seen **out, size_t max) HT_WUR;
void hd_seen_free(hd_seen *s);

/*
 * Records `id` until `expires_ms`: HD_SEEN_NEW, or HD_SEEN_DUPLICATE if it
 * is there and not expired at `now_ms`, or HD_SEEN_FULL when `max` IDs are
 * held and none has expired (nothing recorded).
 */
enum hd_seen_result hd_seen_add(hd_seen *s, const uint8_t id[16], uint64_t expires_ms,
				uint64_t now_ms);
size_t hd_seen_count(const hd_seen *s);

/*
 * The own deadline of a hop asked at `now_ms` with `budget_ms` (0: none
 * given) for a request expiring at `expires_ms`: never past the expiry.
 */
uint64_t hd_trace_deadline(uint64_t now_ms, uint32_t budget_ms, uint64_t expires_ms);

/*
 * The budget to give an upstream: (deadline - now) * 7/8 - 50 ms, or 0
 * when that is under HD_TRACE_MIN_BUDGET_MS (the branch is a dead end).
 */
uint32_t hd_trace_child_budget(uint64_t deadline_ms, uint64_t now_ms);

#endif
