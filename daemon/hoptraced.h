/* hoptraced's shared state: the daemon, its peers and their connections. */
#ifndef HD_HOPTRACED_H
#define HD_HOPTRACED_H

#include <stdbool.h>
#include <stdint.h>

#include <uv.h>

#include "audit.h"
#include "config.h"
#include "store.h"
#include "hoptrace/cert.h"
#include "hoptrace/keys.h"
#include "hoptrace/peermsg.h"
#include "hoptrace/session.h"
#include "hoptrace/trust.h"

/* Inbound connections still handshaking, at most; more are refused. */
#define HD_MAX_PENDING_INBOUND 256

/* A peer connection's states (spec/protocol.md, "Transport"). */
enum hd_peer_state {
	HD_IDLE = 0,    /* nothing to do: no address to dial, waiting to be dialled */
	HD_CONNECTING,  /* TCP connect in progress */
	HD_HANDSHAKING, /* preamble and Noise handshake */
	HD_ESTABLISHED, /* authenticated session */
	HD_BACKOFF,     /* waiting before the next dial */
};

const char *hd_state_name(enum hd_peer_state s);

struct hd_daemon;
struct hd_peer;

/* One TCP connection, inbound or outbound, before and after authentication. */
struct hd_conn {
	uv_tcp_t tcp;
	uv_connect_t connect_req;
	uv_timer_t timer; /* handshake timeout */
	struct hd_daemon *d;
	struct hd_peer *peer; /* outbound: from the start; inbound: once authenticated */
	bool outbound;
	bool closing;
	bool established;
	bool reading_paused; /* not reading: send queue full, peer held, or frames kept back */
	bool sendq_full;     /* backpressure: the send queue is full, until half drained */
	uint8_t *stash;      /* frames read but not yet taken in while reading is paused */
	size_t stash_len;
	struct hd_backlog *bl_head, **bl_tail; /* messages waiting for room in the send queue */
	size_t bl_bytes;
	char remote[HD_ADDR_MAX];
	ht_session *sess;
	ht_frame_reader rd;
	uint8_t preamble[HT_PREAMBLE_LEN];
	size_t preamble_have;
	size_t queued; /* writes in flight */
	int handles_open;
	struct hd_conn *next; /* in the daemon's list of connections */
};

struct hd_peer {
	struct hd_peer_cfg cfg;
	struct hd_daemon *d;
	enum hd_peer_state state;
	struct hd_conn *conn; /* the established session, if any */
	struct hd_conn *dial; /* the outbound attempt, if any */
	uv_timer_t timer;     /* backoff, then keepalive */
	uint32_t backoff_ms;
	uint64_t since_ms, last_seen_ms, last_rx_ms;
	uint32_t rtt_us;
	uint64_t ping_nonce, ping_sent_us;
	uint64_t msgs_in, msgs_out, bytes_in, bytes_out;
	char last_error[128];
	bool removed; /* dropped by a reload; freed when its handles close */
	bool held;    /* too many of its requests in progress: its session is not read */
};

struct hd_counters {
	uint64_t msgs_in, msgs_out, bytes_in, bytes_out;
	uint64_t handshakes_ok, handshakes_failed, conns_refused;
};

struct hd_daemon {
	uv_loop_t *loop;
	struct hd_config cfg;
	ht_keys keys;
	uint8_t *cert;
	size_t cert_len;
	ht_cert *my_cert;
	ht_trust *trust;
	uv_tcp_t listeners[HD_MAX_LISTEN];
	size_t n_listeners;
	uv_signal_t sig_hup, sig_term, sig_int;
	struct hd_peer **peers;
	size_t n_peers;
	struct hd_conn *conns;
	struct hd_counters counters;
	uint64_t started_ms;
	void *ctl;       /* the control server (ctl.c) */
	void *trace;     /* the traceback engine (trace.c) */
	void *initiator; /* traces started here (initiator.c) */
	struct hd_store *store;
	struct hd_audit *audit;
	uv_timer_t expire_timer; /* retention and compaction, hourly */
	uv_work_t compact_work;  /* one partition compaction at a time */
	struct hd_store_compaction *compact_job;
	int compact_result;
	bool stopping;
};

/* Loads identity and trust from `cfg` into `d` (key, own certificate checked
 * against the anchors and matching the key, revocation list). */
int hd_identity_load(struct hd_daemon *d, const struct hd_config *cfg, char *err, size_t errlen);

/* peer.c */
int hd_net_start(struct hd_daemon *d);
void hd_net_apply_peers(struct hd_daemon *d);
void hd_net_recheck_sessions(struct hd_daemon *d);
void hd_net_stop(struct hd_daemon *d);
uint64_t hd_now_ms(void);
/* Whether configured peer `id` has an established session now. */
bool hd_peer_established(struct hd_daemon *d, const char *id);
/*
 * Sends `m` over peer `id`'s session, in order; when the send queue is full
 * it waits in the session's bounded backlog. -1 if there is no session (or
 * it is closing, e.g. because the backlog overflowed: the session ends).
 */
int hd_peer_send(struct hd_daemon *d, const char *id, const ht_pmsg *m);
/* Stops (hold) or resumes reading peer `id`'s session: TCP backpressure. */
void hd_peer_hold(struct hd_daemon *d, const char *id, bool hold);

/* ctl.c */
int hd_ctl_start(struct hd_daemon *d);
void hd_ctl_stop(struct hd_daemon *d);

#endif
