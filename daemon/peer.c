/*
 * Peer connections: listening, dialling with backoff, the preamble and the
 * session handshake, keepalives and dead-peer detection, and the rule that
 * turns a simultaneous open into one session.
 */
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hoptrace/peermsg.h"
#include "hoptrace/timefmt.h"
#include "hoptraced.h"
#include "log.h"
#include "trace.h"

static const char *const state_names[] = {"idle", "connecting", "handshaking", "established",
					  "backoff"};

const char *hd_state_name(enum hd_peer_state s)
{
	return state_names[s];
}

uint64_t hd_now_ms(void)
{
	uv_timeval64_t tv;
	if (uv_gettimeofday(&tv) != 0)
		return 0;
	return (uint64_t)tv.tv_sec * 1000 + (uint64_t)tv.tv_usec / 1000;
}

static void peer_set_state(struct hd_peer *p, enum hd_peer_state s)
{
	if (p->state != s) {
		p->state = s;
		p->since_ms = hd_now_ms();
	}
}

static void peer_schedule_dial(struct hd_peer *p);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);
static void peer_dial(struct hd_peer *p);
static void conn_close(struct hd_conn *c, const char *why);
static void conn_reading_update(struct hd_conn *c);
static void backlog_drain(struct hd_conn *c);

/*
 * Plaintext messages of an established session that wait for room in its
 * send queue: once sent they are encrypted frames, which cannot be dropped
 * (spec/protocol.md section 8.7.6), so what does not fit waits here,
 * unencrypted and in order, up to HD_SEND_BACKLOG_BYTES; past that the
 * session ends, which its peer notices (section 11.14).
 */
#define HD_SEND_BACKLOG_BYTES (4u << 20)

struct hd_backlog {
	struct hd_backlog *next;
	uint8_t *pt;
	size_t len;
};

/* ---- writing ---- */

struct write_req {
	uv_write_t req;
	struct hd_conn *c;
	uint8_t *buf;
};

static void on_write(uv_write_t *req, int status)
{
	struct write_req *w = (struct write_req *)req;
	struct hd_conn *c = w->c;
	c->queued--;
	if (status < 0 && !c->closing)
		conn_close(c, uv_strerror(status));
	free(w->buf);
	free(w);
	if (c->closing)
		return;
	backlog_drain(c);
	/* Backpressure released: read again once half the queue has drained. */
	if (c->sendq_full && !c->bl_head && c->queued <= c->d->cfg.policy.send_queue_max / 2) {
		c->sendq_full = false;
		conn_reading_update(c);
	}
}

/* Queues `buf` (taken over) on the connection; refuses past the bound. */
static int conn_write(struct hd_conn *c, uint8_t *buf, size_t len)
{
	if (c->closing) {
		free(buf);
		return -1;
	}
	struct write_req *w = malloc(sizeof(*w));
	if (!w) {
		free(buf);
		return -1;
	}
	w->c = c;
	w->buf = buf;
	uv_buf_t b = uv_buf_init((char *)buf, (unsigned)len);
	int rc = uv_write(&w->req, (uv_stream_t *)&c->tcp, &b, 1, on_write);
	if (rc < 0) {
		free(buf);
		free(w);
		conn_close(c, uv_strerror(rc));
		return -1;
	}
	/*
	 * Backpressure: a peer that does not read what we send stops being
	 * read, so its requests cannot pile up replies in our memory.
	 */
	if (++c->queued >= c->d->cfg.policy.send_queue_max && !c->sendq_full) {
		c->sendq_full = true;
		conn_reading_update(c);
	}
	c->d->counters.bytes_out += len;
	if (c->peer && c->established)
		c->peer->bytes_out += len;
	return 0;
}

/* Encrypts plaintext `pt` (freed here) as the session's next frame and queues it. */
static int conn_send_plain(struct hd_conn *c, uint8_t *pt, size_t plen)
{
	uint8_t *frame;
	size_t flen;
	int rc = ht_session_send(c->sess, pt, plen, &frame, &flen);
	free(pt);
	if (rc != HT_OK) {
		conn_close(c, "cannot encrypt a message");
		return -1;
	}
	if (conn_write(c, frame, flen) != 0)
		return -1;
	c->d->counters.msgs_out++;
	if (c->peer)
		c->peer->msgs_out++;
	return 0;
}

/* Sends what waits in the backlog, in order, while the send queue has room. */
static void backlog_drain(struct hd_conn *c)
{
	size_t max = c->d->cfg.policy.send_queue_max;
	while (c->bl_head && c->queued < max && !c->closing) {
		struct hd_backlog *b = c->bl_head;
		c->bl_head = b->next;
		if (!c->bl_head)
			c->bl_tail = &c->bl_head;
		c->bl_bytes -= b->len;
		uint8_t *pt = b->pt;
		size_t len = b->len;
		free(b);
		(void)conn_send_plain(c, pt, len);
	}
}

static void backlog_free(struct hd_conn *c)
{
	for (struct hd_backlog *b = c->bl_head, *next; b; b = next) {
		next = b->next;
		free(b->pt);
		free(b);
	}
	c->bl_head = NULL;
	c->bl_tail = &c->bl_head;
	c->bl_bytes = 0;
}

static int conn_send_pmsg(struct hd_conn *c, const ht_pmsg *m)
{
	uint8_t *pt;
	size_t plen;
	if (c->closing)
		return -1;
	if (ht_pmsg_encode(m, &pt, &plen) != HT_OK)
		return -1;
	if (!c->bl_head && c->queued < c->d->cfg.policy.send_queue_max)
		return conn_send_plain(c, pt, plen);
	/*
	 * The queue is full: wait, unencrypted, behind what already waits. A
	 * peer that reads nothing while its backlog grows past the bound loses
	 * the session rather than messages from the middle of it.
	 */
	if (c->bl_bytes + plen > HD_SEND_BACKLOG_BYTES) {
		free(pt);
		char why[128];
		snprintf(why, sizeof(why),
			 "peer does not read what we send: %zu octets waiting, send backlog full",
			 c->bl_bytes);
		conn_close(c, why);
		return -1;
	}
	struct hd_backlog *b = malloc(sizeof(*b));
	if (!b) {
		free(pt);
		conn_close(c, "out of memory");
		return -1;
	}
	b->next = NULL;
	b->pt = pt;
	b->len = plen;
	*c->bl_tail = b;
	c->bl_tail = &b->next;
	c->bl_bytes += plen;
	if (!c->sendq_full) {
		c->sendq_full = true;
		conn_reading_update(c);
	}
	return 0;
}

/* ---- reading, and when not to ---- */

static bool conn_held(const struct hd_conn *c)
{
	return c->established && c->peer && c->peer->held;
}

/* Whether frames from `c` may be taken in now. */
static bool conn_may_take(const struct hd_conn *c)
{
	return !c->closing && !c->sendq_full && !conn_held(c);
}

static void on_resume(uv_timer_t *t);

/*
 * Reads while frames may be taken in, and not otherwise: what the peer
 * sends meanwhile waits in its socket and then in the peer's own (TCP
 * flow control). Frames read but kept back are taken in first, from the
 * loop, never from inside whoever released the connection.
 */
static void conn_reading_update(struct hd_conn *c)
{
	if (c->closing)
		return;
	bool want = conn_may_take(c);
	if (want && c->stash) {
		/* After the handshake the connection's timer is free: it resumes. */
		uv_timer_start(&c->timer, on_resume, 0, 0);
		return;
	}
	if (want && c->reading_paused) {
		c->reading_paused = false;
		int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
		if (rc < 0)
			conn_close(c, uv_strerror(rc));
	} else if (!want && !c->reading_paused) {
		c->reading_paused = true;
		uv_read_stop((uv_stream_t *)&c->tcp);
	}
}

void hd_peer_hold(struct hd_daemon *d, const char *id, bool hold)
{
	for (size_t i = 0; i < d->n_peers; i++) {
		struct hd_peer *p = d->peers[i];
		if (strcmp(p->cfg.id, id) != 0)
			continue;
		p->held = hold;
		if (p->conn)
			conn_reading_update(p->conn);
	}
}

/* ---- closing ---- */

static void on_conn_handle_closed(uv_handle_t *h)
{
	struct hd_conn *c = h->data;
	if (--c->handles_open > 0)
		return;
	struct hd_daemon *d = c->d;
	for (struct hd_conn **pp = &d->conns; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	ht_session_free(c->sess);
	backlog_free(c);
	free(c->stash);
	free(c);
}

static void conn_close(struct hd_conn *c, const char *why)
{
	if (c->closing)
		return;
	c->closing = true;
	struct hd_peer *p = c->peer;
	const char *who = p ? p->cfg.id : c->remote;
	if (c->established)
		log_info("peer %s: session closed: %s", who, why);
	else
		log_warn("%s%s: connection closed: %s", p ? "peer " : "", who, why);
	if (p) {
		snprintf(p->last_error, sizeof(p->last_error), "%s", why);
		if (p->conn == c && c->established)
			hd_trace_on_peer_down(p); /* its traces learn it later, not in here */
		bool was_current = p->conn == c || p->dial == c;
		if (p->conn == c)
			p->conn = NULL;
		if (p->dial == c)
			p->dial = NULL;
		if (was_current && !p->conn && !p->removed && !c->d->stopping) {
			if (p->dial)
				peer_set_state(p, HD_HANDSHAKING);
			else if (p->cfg.address[0])
				peer_schedule_dial(p);
			else {
				uv_timer_stop(&p->timer); /* no keepalives without a session */
				peer_set_state(p, HD_IDLE);
			}
		}
	}
	uv_close((uv_handle_t *)&c->timer, on_conn_handle_closed);
	uv_close((uv_handle_t *)&c->tcp, on_conn_handle_closed);
}

/* ---- handshake and messages ---- */

static int peer_allowed(void *ud, const char *id)
{
	struct hd_daemon *d = ud;
	for (size_t i = 0; i < d->n_peers; i++)
		if (!d->peers[i]->removed && strcmp(d->peers[i]->cfg.id, id) == 0)
			return HT_OK;
	return HT_E_NOT_A_PEER;
}

static struct hd_peer *peer_find(struct hd_daemon *d, const char *id)
{
	for (size_t i = 0; i < d->n_peers; i++)
		if (!d->peers[i]->removed && strcmp(d->peers[i]->cfg.id, id) == 0)
			return d->peers[i];
	return NULL;
}

/* The provider ID of whoever dialled connection `c`. */
static const char *initiator_of(const struct hd_conn *c)
{
	return c->outbound ? c->d->cfg.provider_id : c->peer->cfg.id;
}

/*
 * Simultaneous open: both sides may dial. The session that survives is the
 * one dialled by the provider whose ID sorts first (strcmp), so both sides
 * keep the same connection without talking about it.
 */
static bool preferred(const struct hd_conn *c)
{
	const char *me = c->d->cfg.provider_id, *them = c->peer->cfg.id;
	const char *first = strcmp(me, them) < 0 ? me : them;
	return strcmp(initiator_of(c), first) == 0;
}

static void keepalive_tick(uv_timer_t *t);

static void on_established(struct hd_conn *c)
{
	struct hd_daemon *d = c->d;
	const ht_cert_info *ci = ht_session_peer(c->sess);
	struct hd_peer *p = c->outbound ? c->peer : peer_find(d, ci->provider_id);
	if (!p) { /* removed by a reload during the handshake */
		conn_close(c, "peer no longer configured");
		return;
	}
	c->peer = p;
	c->established = true;
	uv_timer_stop(&c->timer);
	d->counters.handshakes_ok++;

	struct hd_conn *other = p->conn;
	if (other && other != c) {
		/*
		 * Dialled by the same side, the newer one wins: the older is a
		 * session the dialler has already given up on (it restarted).
		 */
		bool same = strcmp(initiator_of(c), initiator_of(other)) == 0;
		struct hd_conn *loser = same || preferred(c) ? other : c;
		if (loser == c) {
			conn_close(c, "duplicate session (simultaneous open), keeping the other");
			return;
		}
		p->conn = c;
		if (other->established)
			hd_trace_on_peer_down(p); /* what went over it is lost with it */
		conn_close(other, "duplicate session (simultaneous open), keeping the other");
	}
	if (p->dial == c)
		p->dial = NULL;
	p->conn = c;
	p->backoff_ms = 0;
	p->last_error[0] = 0;
	p->last_rx_ms = p->last_seen_ms = hd_now_ms();
	peer_set_state(p, HD_ESTABLISHED);
	conn_reading_update(c); /* a peer still held from its last session stays held */
	log_info("peer %s: session established (%s, %s)", p->cfg.id,
		 c->outbound ? "outbound" : "inbound", c->remote);
	uv_timer_stop(&p->timer);
	uv_timer_start(&p->timer, keepalive_tick, d->cfg.policy.keepalive_ms,
		       d->cfg.policy.keepalive_ms);
}

static void on_peer_message(struct hd_conn *c, const uint8_t *pt, size_t len)
{
	struct hd_peer *p = c->peer;
	ht_pmsg m;
	c->d->counters.msgs_in++;
	p->msgs_in++;
	p->last_rx_ms = p->last_seen_ms = hd_now_ms();
	if (ht_pmsg_decode(pt, len, &m) != HT_OK) {
		log_warn("peer %s: malformed message (%zu bytes), ignored", p->cfg.id, len);
		return;
	}
	switch (m.type) {
	case HT_PMSG_PING: {
		ht_pmsg pong = {.type = HT_PMSG_PONG, .nonce = m.nonce};
		conn_send_pmsg(c, &pong);
		break;
	}
	case HT_PMSG_PONG:
		if (p->ping_nonce && m.nonce == p->ping_nonce) {
			p->rtt_us = (uint32_t)(uv_hrtime() / 1000 - p->ping_sent_us);
			p->ping_nonce = 0;
		}
		break;
	case HT_PMSG_ERROR:
		log_warn("peer %s: reports error %u: %.200s", p->cfg.id, m.reason, m.detail);
		if (m.has_trace_id)
			hd_trace_on_message(p, &m);
		break;
	case HT_PMSG_TRACE_FORWARD:
	case HT_PMSG_TRACE_ANSWER:
	case HT_PMSG_TRACE_COMPLETE:
		hd_trace_on_message(p, &m);
		break;
	default:
		log_debug("peer %s: message of unknown type ignored", p->cfg.id);
	}
	ht_pmsg_clear(&m);
}

bool hd_peer_established(struct hd_daemon *d, const char *id)
{
	struct hd_peer *p = peer_find(d, id);
	return p && p->conn && p->conn->established && !p->conn->closing;
}

int hd_peer_send(struct hd_daemon *d, const char *id, const ht_pmsg *m)
{
	struct hd_peer *p = peer_find(d, id);
	if (!p || !p->conn || !p->conn->established)
		return -1;
	return conn_send_pmsg(p->conn, m);
}

/* Sends whatever the handshake wants to send now. */
static int flush_handshake(struct hd_conn *c)
{
	uint8_t *frame;
	size_t len;
	int rc = ht_session_pending(c->sess, &frame, &len);
	if (rc != HT_OK)
		return rc;
	if (frame && conn_write(c, frame, len) != 0)
		return HT_E_IO;
	if (ht_session_established(c->sess) && !c->established)
		on_established(c);
	return HT_OK;
}

static void on_frame(struct hd_conn *c, const uint8_t *msg, size_t len)
{
	ht_session_event ev;
	const uint8_t *pt;
	size_t plen;
	bool was_established = c->established;
	int rc = ht_session_recv(c->sess, msg, len, &ev, &pt, &plen);
	if (rc != HT_OK) {
		char why[160];
		if (!was_established)
			c->d->counters.handshakes_failed++;
		snprintf(why, sizeof(why), "%s: %s",
			 was_established ? "bad frame" : "handshake refused", ht_strerror(rc));
		conn_close(c, why);
		return;
	}
	if (ev == HT_SESSION_MESSAGE) {
		on_peer_message(c, pt, plen);
		return;
	}
	if (ev == HT_SESSION_ESTABLISHED) {
		on_established(c);
		return;
	}
	if ((rc = flush_handshake(c)) != HT_OK) {
		c->d->counters.handshakes_failed++;
		conn_close(c, ht_strerror(rc));
	}
}

/*
 * Takes in the frames of `data`, one at a time, until an established
 * session may take no more (its peer held, its send queue full): so a
 * peer's requests in progress stay within the bound the engine sets, not
 * one read beyond it. Returns the octets consumed.
 */
static size_t conn_take(struct hd_conn *c, const uint8_t *data, size_t len)
{
	size_t at = 0;
	while (at < len && !c->closing && (!c->established || conn_may_take(c))) {
		size_t used;
		const uint8_t *msg;
		size_t mlen;
		int rc = ht_frame_reader_push(&c->rd, data + at, len - at, &used, &msg, &mlen);
		at += used;
		if (rc < 0) {
			conn_close(c, "malformed frame");
			return len;
		}
		if (rc == 1)
			on_frame(c, msg, mlen);
	}
	return at;
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	static char slab[65536]; /* one loop thread; consumed before the next read */
	*buf = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct hd_conn *c = s->data;
	if (n < 0) {
		conn_close(c, n == UV_EOF ? "peer closed the connection" : uv_strerror((int)n));
		return;
	}
	const uint8_t *data = (const uint8_t *)buf->base;
	size_t len = (size_t)n;
	c->d->counters.bytes_in += len;
	if (c->peer && c->established)
		c->peer->bytes_in += len;

	if (c->preamble_have < HT_PREAMBLE_LEN) {
		size_t take = HT_PREAMBLE_LEN - c->preamble_have;
		if (take > len)
			take = len;
		memcpy(c->preamble + c->preamble_have, data, take);
		c->preamble_have += take;
		data += take;
		len -= take;
		if (c->preamble_have < HT_PREAMBLE_LEN)
			return;
		uint16_t v = 0;
		int rc = ht_preamble_check(c->preamble, &v);
		if (rc == HT_E_UNSUPPORTED_VERSION) {
			char why[96];
			snprintf(why, sizeof(why), "peer speaks protocol version %u, we speak %u",
				 v, HT_PROTOCOL_VERSION);
			c->d->counters.handshakes_failed++;
			conn_close(c, why);
			return;
		}
		if (rc != HT_OK) {
			c->d->counters.handshakes_failed++;
			conn_close(c, "not a HopTrace peer (bad preamble)");
			return;
		}
		if ((rc = flush_handshake(c)) != HT_OK) {
			conn_close(c, ht_strerror(rc));
			return;
		}
	}
	size_t used = conn_take(c, data, len);
	if (used < len && !c->closing) {
		/* Stopped mid-read: keep the rest (at most one read) for later. */
		c->stash = malloc(len - used);
		if (!c->stash) {
			conn_close(c, "out of memory");
			return;
		}
		memcpy(c->stash, data + used, len - used);
		c->stash_len = len - used;
		conn_reading_update(c);
	}
}

static void on_resume(uv_timer_t *t)
{
	struct hd_conn *c = t->data;
	if (c->closing || !c->stash || !conn_may_take(c))
		return; /* held again: the next release comes back here */
	uint8_t *s = c->stash;
	size_t n = c->stash_len, used;
	c->stash = NULL;
	c->stash_len = 0;
	used = conn_take(c, s, n);
	if (used < n && !c->closing) {
		memmove(s, s + used, n - used);
		c->stash = s;
		c->stash_len = n - used;
	} else {
		free(s);
	}
	conn_reading_update(c);
}

static void on_handshake_timeout(uv_timer_t *t)
{
	struct hd_conn *c = t->data;
	if (!c->established) {
		c->d->counters.handshakes_failed++;
		conn_close(c, "handshake timed out");
	}
}

static struct hd_conn *conn_new(struct hd_daemon *d, bool outbound)
{
	struct hd_conn *c = calloc(1, sizeof(*c));
	if (!c)
		return NULL;
	c->d = d;
	c->outbound = outbound;
	uv_tcp_init(d->loop, &c->tcp);
	uv_timer_init(d->loop, &c->timer);
	c->tcp.data = c->timer.data = c;
	c->bl_tail = &c->bl_head;
	c->handles_open = 2;
	c->next = d->conns;
	d->conns = c;
	return c;
}

/* After TCP is up: preamble, session, timers, reading. */
static void conn_begin(struct hd_conn *c)
{
	struct hd_daemon *d = c->d;
	ht_session_config sc = {
		.initiator = c->outbound,
		.keys = &d->keys,
		.cert = d->cert,
		.cert_len = d->cert_len,
		.trust = d->trust,
		.now = ht_time_now(),
		.expected_peer = c->outbound ? c->peer->cfg.id : NULL,
		.allowed = peer_allowed,
		.allowed_ud = d,
	};
	if (ht_session_new(&c->sess, &sc) != HT_OK) {
		conn_close(c, "cannot create session");
		return;
	}
	uv_tcp_nodelay(&c->tcp, 1);
	uv_timer_start(&c->timer, on_handshake_timeout, d->cfg.policy.handshake_timeout_ms, 0);
	uint8_t *pre = malloc(HT_PREAMBLE_LEN);
	if (!pre) {
		conn_close(c, "out of memory");
		return;
	}
	ht_preamble(pre);
	if (conn_write(c, pre, HT_PREAMBLE_LEN) != 0)
		return;
	int rc = uv_read_start((uv_stream_t *)&c->tcp, on_alloc, on_read);
	if (rc < 0)
		conn_close(c, uv_strerror(rc));
}

/* ---- dialling ---- */

static void on_connect(uv_connect_t *req, int status)
{
	struct hd_conn *c = req->data;
	if (c->closing)
		return;
	if (status < 0) {
		conn_close(c, uv_strerror(status));
		return;
	}
	if (c->peer && c->peer->dial == c && c->peer->state == HD_CONNECTING)
		peer_set_state(c->peer, HD_HANDSHAKING);
	conn_begin(c);
}

static int resolve(const char *addr, struct sockaddr_storage *ss)
{
	char host[HD_ADDR_MAX];
	uint16_t port;
	if (hd_addr_split(addr, host, &port) != 0)
		return -1;
	if (uv_ip4_addr(host, port, (struct sockaddr_in *)ss) == 0)
		return 0;
	if (uv_ip6_addr(host, port, (struct sockaddr_in6 *)ss) == 0)
		return 0;
	return -1;
}

static void peer_dial(struct hd_peer *p)
{
	struct hd_daemon *d = p->d;
	if (p->conn || p->dial || p->removed || d->stopping || !p->cfg.address[0])
		return;
	struct sockaddr_storage ss;
	if (resolve(p->cfg.address, &ss) != 0) {
		snprintf(p->last_error, sizeof(p->last_error), "cannot resolve %s", p->cfg.address);
		peer_schedule_dial(p);
		return;
	}
	struct hd_conn *c = conn_new(d, true);
	if (!c)
		return;
	c->peer = p;
	snprintf(c->remote, sizeof(c->remote), "%s", p->cfg.address);
	p->dial = c;
	peer_set_state(p, HD_CONNECTING);
	c->connect_req.data = c;
	log_debug("peer %s: dialling %s", p->cfg.id, p->cfg.address);
	int rc = uv_tcp_connect(&c->connect_req, &c->tcp, (struct sockaddr *)&ss, on_connect);
	if (rc < 0)
		conn_close(c, uv_strerror(rc));
	else /* bound the connect too: a black-holed address must not hang */
		uv_timer_start(&c->timer, on_handshake_timeout, d->cfg.policy.handshake_timeout_ms,
			       0);
}

static void on_backoff_done(uv_timer_t *t)
{
	peer_dial(t->data);
}

static void peer_schedule_dial(struct hd_peer *p)
{
	const struct hd_policy *pol = &p->d->cfg.policy;
	uint32_t b = p->backoff_ms ? p->backoff_ms * 2 : pol->backoff_min_ms;
	if (b > pol->backoff_max_ms)
		b = pol->backoff_max_ms;
	p->backoff_ms = b;
	/* Jitter: wait between half and all of the backoff, so peers desynchronise. */
	uint32_t wait = b / 2 + randombytes_uniform(b / 2 + 1);
	peer_set_state(p, HD_BACKOFF);
	uv_timer_stop(&p->timer);
	uv_timer_start(&p->timer, on_backoff_done, wait, 0);
}

static void keepalive_tick(uv_timer_t *t)
{
	struct hd_peer *p = t->data;
	struct hd_conn *c = p->conn;
	if (!c)
		return;
	uint64_t now = hd_now_ms();
	/* Not reading it by our own choice (held) says nothing about the peer. */
	if (p->held)
		p->last_rx_ms = now;
	if (now - p->last_rx_ms >= p->d->cfg.policy.dead_peer_ms) {
		char why[96];
		snprintf(why, sizeof(why), "dead peer: nothing received for %llu ms",
			 (unsigned long long)(now - p->last_rx_ms));
		conn_close(c, why);
		return;
	}
	/* A session ends with its peer's certificate (expiry during a session). */
	int rc = ht_session_recheck(c->sess, p->d->trust, ht_time_now());
	if (rc != HT_OK) {
		char why[128];
		snprintf(why, sizeof(why), "certificate no longer valid: %s", ht_strerror(rc));
		conn_close(c, why);
		return;
	}
	randombytes_buf(&p->ping_nonce, sizeof(p->ping_nonce));
	p->ping_nonce |= 1; /* 0 means "none outstanding" */
	p->ping_sent_us = uv_hrtime() / 1000;
	ht_pmsg ping = {.type = HT_PMSG_PING, .nonce = p->ping_nonce};
	conn_send_pmsg(c, &ping);
}

/* ---- listening ---- */

static void on_incoming(uv_stream_t *server, int status)
{
	struct hd_daemon *d = server->data;
	if (status < 0) {
		log_warn("accept: %s", uv_strerror(status));
		return;
	}
	struct hd_conn *c = conn_new(d, false);
	if (!c)
		return;
	if (uv_accept(server, (uv_stream_t *)&c->tcp) != 0) {
		conn_close(c, "accept failed");
		return;
	}
	/* Each unauthenticated connection holds a frame buffer: bound them. */
	size_t pending = 0;
	for (struct hd_conn *o = d->conns; o; o = o->next)
		pending += !o->outbound && !o->established && !o->closing;
	if (pending > HD_MAX_PENDING_INBOUND) {
		d->counters.conns_refused++;
		conn_close(c, "too many unauthenticated connections");
		return;
	}
	struct sockaddr_storage ss;
	int sl = sizeof(ss);
	char host[INET6_ADDRSTRLEN] = "?";
	uint16_t port = 0;
	if (uv_tcp_getpeername(&c->tcp, (struct sockaddr *)&ss, &sl) == 0) {
		if (ss.ss_family == AF_INET) {
			uv_ip4_name((struct sockaddr_in *)&ss, host, sizeof(host));
			port = ntohs(((struct sockaddr_in *)&ss)->sin_port);
		} else {
			uv_ip6_name((struct sockaddr_in6 *)&ss, host, sizeof(host));
			port = ntohs(((struct sockaddr_in6 *)&ss)->sin6_port);
		}
	}
	snprintf(c->remote, sizeof(c->remote), ss.ss_family == AF_INET6 ? "[%s]:%u" : "%s:%u", host,
		 port);
	log_debug("%s: incoming connection", c->remote);
	conn_begin(c);
}

static struct hd_peer *peer_new(struct hd_daemon *d, const struct hd_peer_cfg *cfg)
{
	struct hd_peer *p = calloc(1, sizeof(*p));
	if (!p)
		abort();
	p->cfg = *cfg;
	p->d = d;
	p->since_ms = hd_now_ms();
	uv_timer_init(d->loop, &p->timer);
	p->timer.data = p;
	struct hd_peer **np = realloc(d->peers, (d->n_peers + 1) * sizeof(*np));
	if (!np)
		abort();
	d->peers = np;
	d->peers[d->n_peers++] = p;
	return p;
}

static void on_peer_timer_closed(uv_handle_t *h)
{
	free(h->data);
}

/* Drops peers no longer configured, adds new ones, updates addresses. */
void hd_net_apply_peers(struct hd_daemon *d)
{
	size_t keep = 0;
	for (size_t i = 0; i < d->n_peers; i++) {
		struct hd_peer *p = d->peers[i];
		const struct hd_peer_cfg *pc = hd_config_peer(&d->cfg, p->cfg.id);
		if (pc && !p->removed) {
			if (strcmp(pc->address, p->cfg.address) != 0) {
				log_info("peer %s: address now '%s'", p->cfg.id, pc->address);
				p->cfg = *pc;
			}
			d->peers[keep++] = p;
			continue;
		}
		log_info("peer %s: removed from the configuration", p->cfg.id);
		p->removed = true;
		if (p->conn)
			conn_close(p->conn, "peer removed from the configuration");
		if (p->dial)
			conn_close(p->dial, "peer removed from the configuration");
		for (struct hd_conn *c = d->conns; c; c = c->next)
			if (c->peer == p)
				c->peer = NULL;
		uv_close((uv_handle_t *)&p->timer, on_peer_timer_closed);
	}
	d->n_peers = keep;
	for (size_t i = 0; i < d->cfg.n_peers; i++) {
		if (peer_find(d, d->cfg.peers[i].id))
			continue;
		struct hd_peer *p = peer_new(d, &d->cfg.peers[i]);
		log_info("peer %s: added (%s)", p->cfg.id,
			 p->cfg.address[0] ? p->cfg.address : "waits to be dialled");
		peer_dial(p);
	}
}

/* After trust changes: sessions whose certificate no longer verifies end. */
void hd_net_recheck_sessions(struct hd_daemon *d)
{
	uint64_t now = ht_time_now();
	for (struct hd_conn *c = d->conns; c; c = c->next) {
		if (!c->established || c->closing)
			continue;
		int rc = ht_session_recheck(c->sess, d->trust, now);
		if (rc != HT_OK) {
			char why[128];
			snprintf(why, sizeof(why), "certificate no longer valid: %s",
				 ht_strerror(rc));
			conn_close(c, why);
		}
	}
}

int hd_net_start(struct hd_daemon *d)
{
	for (size_t i = 0; i < d->cfg.n_listen; i++) {
		struct sockaddr_storage ss;
		if (resolve(d->cfg.listen[i], &ss) != 0) {
			log_error("listen %s: not a numeric address", d->cfg.listen[i]);
			return -1;
		}
		uv_tcp_t *l = &d->listeners[d->n_listeners];
		uv_tcp_init(d->loop, l);
		l->data = d;
		d->n_listeners++;
		int rc = uv_tcp_bind(l, (struct sockaddr *)&ss, 0);
		if (rc == 0)
			rc = uv_listen((uv_stream_t *)l, 128, on_incoming);
		if (rc < 0) {
			log_error("listen %s: %s", d->cfg.listen[i], uv_strerror(rc));
			return -1;
		}
		log_info("listening on %s", d->cfg.listen[i]);
	}
	hd_net_apply_peers(d);
	return 0;
}

void hd_net_stop(struct hd_daemon *d)
{
	for (size_t i = 0; i < d->n_listeners; i++)
		uv_close((uv_handle_t *)&d->listeners[i], NULL);
	for (struct hd_conn *c = d->conns; c; c = c->next)
		conn_close(c, "daemon stopping");
	for (size_t i = 0; i < d->n_peers; i++)
		uv_close((uv_handle_t *)&d->peers[i]->timer, on_peer_timer_closed);
	free(d->peers);
	d->peers = NULL;
	d->n_peers = 0;
}
