/*
 * The control socket server (spec/control.md): a Unix stream socket, mode
 * 0660, speaking the length-prefixed protobuf codec of lib/control.c. A slow
 * or stuck client is bounded by an idle timer and a cap on queued output, so
 * it can never stall the daemon.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hoptrace/control.h"
#include "hoptrace/e164.h"
#include "import.h"
#include "hoptraced.h"
#include "initiator.h"
#include "log.h"

#define CTL_MAX_CLIENTS 64
#define CTL_IDLE_MS     30000
#define CTL_MAX_QUEUED  (4u << 20)

struct ctl_server {
	uv_pipe_t pipe;
	uv_async_t wake; /* the store's writer has committed: imports go on */
	struct hd_daemon *d;
	size_t n_clients;
	struct ctl_client *clients;
	bool bound, pipe_closed, wake_closed;
};

struct ctl_client {
	uv_pipe_t pipe;
	uv_timer_t idle;
	struct ctl_server *srv;
	ht_ctl_reader rd;
	bool hello_done, closing, close_after_write;
	size_t queued;
	int handles_open;
	struct ctl_client *next;
	hd_import *import;       /* a CDR import in progress on this connection */
	struct ctl_defer *defer; /* a trace command waiting for the initiator: reading stops */
	uint8_t *parked;         /* a request waiting for the import's replies before it */
	size_t parked_len;
	ht_ctl_type parked_type;
	uint8_t *held; /* what was read after it, handled once it is answered */
	size_t held_len;
	bool paused; /* not reading */
	bool yield;  /* an import chunk was handled this turn: the rest waits for the next */
};

/* A trace command answered once the initiator has written what it must (initiator.h). */
struct ctl_defer {
	struct ctl_client *c; /* NULL once the client has gone */
	struct hd_daemon *d;
	ht_ctl_request req;
	ht_ctl_response resp;
};

/* The server lives until its pipe and every client have closed. */
static void server_maybe_free(struct ctl_server *srv)
{
	if (srv->pipe_closed && srv->wake_closed && srv->n_clients == 0)
		free(srv);
}

static void on_client_closed(uv_handle_t *h)
{
	struct ctl_client *c = h->data;
	if (--c->handles_open > 0)
		return;
	struct ctl_server *srv = c->srv;
	for (struct ctl_client **pp = &srv->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	srv->n_clients--;
	ht_ctl_reader_free(&c->rd);
	hd_import_free(c->import); /* a dropped import promises nothing unacknowledged */
	if (c->defer)
		c->defer->c = NULL;
	free(c->parked);
	free(c->held);
	free(c);
	server_maybe_free(srv);
}

static void client_close(struct ctl_client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->idle, on_client_closed);
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

struct ctl_write {
	uv_write_t req;
	struct ctl_client *c;
	uint8_t *buf;
	size_t len;
};

static void on_write(uv_write_t *req, int status)
{
	struct ctl_write *w = (struct ctl_write *)req;
	struct ctl_client *c = w->c;
	c->queued -= w->len;
	free(w->buf);
	free(w);
	if (status < 0 || (c->close_after_write && c->queued == 0))
		client_close(c);
}

static void client_send(struct ctl_client *c, const ht_ctl_response *resp)
{
	uint8_t *body, *frame;
	size_t blen, flen;
	if (ht_ctl_encode_response(resp, &body, &blen) != HT_OK) {
		log_error("control: cannot encode a response");
		client_close(c);
		return;
	}
	int rc = ht_ctl_frame(body, blen, &frame, &flen);
	free(body);
	if (rc != HT_OK || c->queued + flen > CTL_MAX_QUEUED) {
		if (rc == HT_OK)
			log_warn("control: client is not reading its responses; dropping it");
		free(rc == HT_OK ? frame : NULL);
		client_close(c);
		return;
	}
	struct ctl_write *w = malloc(sizeof(*w));
	if (!w) {
		free(frame);
		client_close(c);
		return;
	}
	w->c = c;
	w->buf = frame;
	w->len = flen;
	uv_buf_t b = uv_buf_init((char *)frame, (unsigned)flen);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write) < 0) {
		free(frame);
		free(w);
		client_close(c);
		return;
	}
	c->queued += flen;
}

static void fill_status(struct hd_daemon *d, ht_ctl_status *s)
{
	snprintf(s->daemon_version, sizeof(s->daemon_version), "%s", ht_version());
	snprintf(s->provider_id, sizeof(s->provider_id), "%s", d->cfg.provider_id);
	s->uptime_s = (hd_now_ms() - d->started_ms) / 1000;
	s->peers_total = (uint32_t)d->n_peers;
	for (size_t i = 0; i < d->n_peers; i++)
		if (d->peers[i]->state == HD_ESTABLISHED)
			s->peers_up++;
	s->msgs_in = d->counters.msgs_in;
	s->msgs_out = d->counters.msgs_out;
	s->bytes_in = d->counters.bytes_in;
	s->bytes_out = d->counters.bytes_out;
	s->handshakes_ok = d->counters.handshakes_ok;
	s->handshakes_failed = d->counters.handshakes_failed;
	s->conns_refused = d->counters.conns_refused;
}

static ht_ctl_peer *fill_peers(struct hd_daemon *d, size_t *n)
{
	ht_ctl_peer *ps = calloc(d->n_peers ? d->n_peers : 1, sizeof(*ps));
	if (!ps)
		return NULL;
	for (size_t i = 0; i < d->n_peers; i++) {
		const struct hd_peer *p = d->peers[i];
		ht_ctl_peer *o = &ps[i];
		snprintf(o->provider_id, sizeof(o->provider_id), "%s", p->cfg.id);
		snprintf(o->address, sizeof(o->address), "%s", p->cfg.address);
		snprintf(o->state, sizeof(o->state), "%s", hd_state_name(p->state));
		o->since_ms = p->since_ms;
		o->last_seen_ms = p->last_seen_ms;
		o->rtt_us = p->rtt_us;
		o->msgs_in = p->msgs_in;
		o->msgs_out = p->msgs_out;
		o->bytes_in = p->bytes_in;
		o->bytes_out = p->bytes_out;
		ht_ctl_text_clean(o->last_error, sizeof(o->last_error), p->last_error,
				  strlen(p->last_error));
	}
	*n = d->n_peers;
	return ps;
}

static void reply(struct ctl_client *c, ht_ctl_response *resp);
static void client_pause(struct ctl_client *c);

/*
 * A chunk's acknowledgement, in order (import.c): the reply says what is
 * stored durably. It comes once the store's writer has synced the chunk's
 * rows, while the loop goes on; later chunks are parsed meanwhile.
 */
static void import_ack(void *ud, int rc, const hd_import_result *r)
{
	struct ctl_client *c = ud;
	ht_ctl_response resp;
	ht_ctl_response_set(&resp, HT_CTL_RESULT_OK, NULL);
	resp.type = HT_CTL_CDR_IMPORT;
	ht_ctl_import_progress *pg = &resp.progress;
	pg->rows_imported = r->imported;
	pg->rows_rejected = r->rejected;
	pg->rows_duplicate = r->duplicates;
	pg->bytes_acked = r->bytes;
	pg->done = r->done;
	if (r->n_errors) {
		pg->errors = calloc(r->n_errors, sizeof(*pg->errors));
		if (pg->errors) {
			pg->n_errors = r->n_errors;
			for (size_t i = 0; i < r->n_errors; i++) {
				pg->errors[i].line = r->errors[i].line;
				snprintf(pg->errors[i].reason, sizeof(pg->errors[i].reason), "%s",
					 r->errors[i].reason);
				ht_ctl_text_clean(
					pg->errors[i].message, sizeof(pg->errors[i].message),
					r->errors[i].message, strlen(r->errors[i].message));
			}
		} else {
			pg->errors_omitted = r->n_errors;
		}
	}
	if (rc == HT_OK)
		log_debug("import: acknowledged %llu rows (imported %llu, duplicate %llu, "
			  "rejected %llu)",
			  (unsigned long long)(r->imported + r->duplicates + r->rejected),
			  (unsigned long long)r->imported, (unsigned long long)r->duplicates,
			  (unsigned long long)r->rejected);
	if (rc != HT_OK) {
		char why[160];
		const char *what =
			rc == HT_E_MALFORMED ? "the header row is unusable" : ht_strerror(rc);
		if (r->earlier)
			snprintf(why, sizeof(why),
				 "import stopped at an earlier chunk (%s): chunk not read", what);
		else
			snprintf(why, sizeof(why), "import stopped: %s", what);
		ht_ctl_import_progress keep = *pg;
		ht_ctl_response_set(&resp, HT_CTL_RESULT_ERROR, why);
		resp.type = HT_CTL_CDR_IMPORT; /* still say what was stored */
		resp.progress = keep;
	}
	if ((rc != HT_OK && !r->earlier) || (rc == HT_OK && r->done))
		log_info("import %s: %llu imported, %llu duplicate, %llu rejected",
			 rc == HT_OK ? "done" : "stopped", (unsigned long long)r->imported,
			 (unsigned long long)r->duplicates, (unsigned long long)r->rejected);
	if (c->closing) {
		free(resp.progress.errors);
		return;
	}
	uv_timer_again(&c->idle); /* the client waits for us, not idle */
	reply(c, &resp);
}

/* After the import has moved: a finished one goes, a busy one stops reading. */
static void import_settle(struct ctl_client *c)
{
	if (c->import && hd_import_over(c->import)) {
		hd_import_free(c->import);
		c->import = NULL;
	}
	if (c->import && hd_import_full(c->import))
		client_pause(c);
}

/*
 * One chunk of a CDR import: parsed now, its rows handed to the store's
 * writer; the reply comes later, from import_ack.
 */
static void cdr_import(struct ctl_client *c, const ht_ctl_request *req)
{
	struct hd_daemon *d = c->srv->d;
	if (!c->import && hd_import_new(d, import_ack, c, &c->import) != HT_OK) {
		c->import = NULL;
		ht_ctl_response resp;
		ht_ctl_response_set(&resp, HT_CTL_RESULT_ERROR, "cannot start an import");
		reply(c, &resp);
		return;
	}
	if (hd_import_feed(c->import, req->import.data, req->import.len, req->import.last) !=
	    HT_OK) {
		log_error("control: out of memory in an import; dropping the client");
		client_close(c);
		return;
	}
	import_settle(c);
	/* One chunk per turn of the loop: peers and other clients go in between. */
	c->yield = true;
	client_pause(c);
	uv_async_send(&c->srv->wake);
}

static void cdr_stats(struct hd_daemon *d, ht_ctl_response *resp)
{
	hd_store_stats st;
	if (hd_store_stats_get(d->store, &st) != HT_OK) {
		ht_ctl_response_set(resp, HT_CTL_RESULT_ERROR, "cannot read the store");
		return;
	}
	ht_ctl_cdr_stats *o = &resp->cdr_stats;
	o->records = st.records;
	o->partitions = st.partitions;
	o->first_ms = st.first_ms;
	o->last_ms = st.last_ms;
	o->bytes_on_disk = st.bytes_on_disk;
	if (st.n_peers && (o->peers = calloc(st.n_peers, sizeof(*o->peers)))) {
		o->n_peers = st.n_peers;
		for (size_t i = 0; i < st.n_peers; i++) {
			snprintf(o->peers[i].provider_id, sizeof(o->peers[i].provider_id), "%s",
				 st.peers[i].provider_id);
			o->peers[i].as_upstream = st.peers[i].as_upstream;
			o->peers[i].as_downstream = st.peers[i].as_downstream;
		}
	}
	hd_store_stats_free(&st);
}

static int add_record(void *ud, const ht_cdr *r)
{
	ht_ctl_cdr_records *l = ud;
	if (l->n == HT_CTL_LOOKUP_MAX) {
		l->truncated = true;
		return 1;
	}
	ht_cdr *rec = &l->records[l->n++];
	*rec = *r;
	/* Stored text may be any bytes; the control protocol carries clean text. */
	ht_ctl_text_clean(rec->customer_ref, sizeof(rec->customer_ref), r->customer_ref,
			  strlen(r->customer_ref));
	ht_ctl_text_clean(rec->call_id, sizeof(rec->call_id), r->call_id, strlen(r->call_id));
	return 0;
}

static void cdr_lookup(struct hd_daemon *d, const ht_ctl_cdr_lookup *q, ht_ctl_response *resp)
{
	char calling[16], called[16], why[160];
	const char *cc = d->cfg.country_code;
	if (ht_e164_normalize(q->calling, strlen(q->calling), cc, calling) != HT_OK ||
	    ht_e164_normalize(q->called, strlen(q->called), cc, called) != HT_OK) {
		snprintf(
			why, sizeof(why),
			"a number does not normalise to E.164 (country code '%s'; spec/numbers.md)",
			cc);
		ht_ctl_response_set(resp, HT_CTL_RESULT_ERROR, why);
		return;
	}
	ht_ctl_cdr_records *l = &resp->lookup;
	l->records = calloc(HT_CTL_LOOKUP_MAX, sizeof(*l->records));
	if (!l->records) {
		ht_ctl_response_set(resp, HT_CTL_RESULT_ERROR, "out of memory");
		return;
	}
	uint64_t from = q->time_ms > q->tolerance_ms ? q->time_ms - q->tolerance_ms : 0;
	if (hd_store_find_call(d->store, calling, called, from, q->time_ms + q->tolerance_ms,
			       add_record, l) != HT_OK)
		ht_ctl_response_set(resp, HT_CTL_RESULT_ERROR, "cannot read the store");
}

struct audit_out {
	ht_ctl_audit_list *l;
	size_t cap;
};

static void add_audit(void *ud, const hd_audit_entry *e)
{
	struct audit_out *o = ud;
	if (o->l->n == o->cap)
		return;
	ht_ctl_audit_entry *x = &o->l->entries[o->l->n++];
	x->time_ms = e->time_ms;
	x->has_trace_id = true;
	memcpy(x->trace_id, e->trace_id, 16);
	snprintf(x->asking_peer, sizeof(x->asking_peer), "%s", e->asking_peer);
	snprintf(x->initiator, sizeof(x->initiator), "%s", e->initiator);
	ht_ctl_text_clean(x->status, sizeof(x->status), e->status, strlen(e->status));
	ht_ctl_text_clean(x->disclosed, sizeof(x->disclosed), e->disclosed, strlen(e->disclosed));
}

static void audit_list(struct hd_daemon *d, const ht_ctl_audit_query *q, ht_ctl_response *resp)
{
	size_t limit = q->limit ? q->limit : HT_CTL_AUDIT_DEFAULT;
	ht_ctl_audit_list *l = &resp->audit;
	l->entries = calloc(limit, sizeof(*l->entries));
	if (!l->entries) {
		ht_ctl_response_set(resp, HT_CTL_RESULT_ERROR, "out of memory");
		return;
	}
	struct audit_out o = {l, limit};
	hd_audit_filter f = {
		.since_ms = q->since_ms,
		.until_ms = q->until_ms,
		.peer = q->peer,
		.trace_id = q->has_trace_id ? q->trace_id : NULL,
		.limit = limit,
	};
	if (hd_audit_list(d->audit, &f, add_audit, &o, &l->truncated) != HT_OK)
		ht_ctl_response_set(resp, HT_CTL_RESULT_ERROR, "cannot read the audit log");
}

/* The trace commands (initiator.c); a failure says why in the detail. */
static void trace_cmd(struct hd_daemon *d, const ht_ctl_request *req, ht_ctl_response *resp)
{
	char why[HT_CTL_DETAIL_MAX + 1] = "";
	const ht_ctl_trace_query *q = &req->trace;
	int rc;
	switch (req->type) {
	case HT_CTL_TRACE_SHOW:
		rc = hd_initiator_show(d, q->trace_id, q->from, &resp->trace, why, sizeof(why));
		break;
	case HT_CTL_TRACE_LIST:
		rc = hd_initiator_list(d, q->limit, &resp->traces, why, sizeof(why));
		break;
	default:
		rc = hd_initiator_export(d, q->trace_id, q->offset, &resp->bundle, why,
					 sizeof(why));
		break;
	}
	if (rc != HT_OK)
		ht_ctl_response_set(resp, HT_CTL_RESULT_ERROR, why[0] ? why : ht_strerror(rc));
}

/* Frees what the handlers allocated into a response. */
static void response_free(ht_ctl_response *resp)
{
	free(resp->peers);
	free(resp->progress.errors);
	free(resp->cdr_stats.peers);
	free(resp->lookup.records);
	free(resp->audit.entries);
	free(resp->trace.answers);
	free(resp->traces.entries);
	free(resp->bundle.data);
}

static void reply(struct ctl_client *c, ht_ctl_response *resp)
{
	if (ht_ctl_result_closes(resp->result))
		c->close_after_write = true;
	ht_ctl_response_fit(resp);
	client_send(c, resp);
	response_free(resp);
}

static void feed(struct ctl_client *c, const uint8_t *p, size_t len);
static void handle(struct ctl_client *c, const uint8_t *body, size_t len);
static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf);
static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf);

static void client_pause(struct ctl_client *c)
{
	if (!c->paused && !c->closing)
		uv_read_stop((uv_stream_t *)&c->pipe);
	c->paused = true;
}

/*
 * Replies go in request order (spec/control.md, section 4). Held back:
 * everything after a deferred trace command, and a request behind import
 * chunks not yet acknowledged (another command, or the next import's first
 * chunk). Nothing more is read from a client (client_held) while its
 * import has enough waiting, or until the next turn of the loop after an
 * import chunk. (Not while its replies wait to be sent: a client blocked
 * in sending to us would never read them. It must read them as it sends;
 * over CTL_MAX_QUEUED it is dropped.)
 */
static bool must_wait(const struct ctl_client *c, ht_ctl_type type)
{
	if (!c->import)
		return false;
	if (type == HT_CTL_CDR_IMPORT)
		return hd_import_ending(c->import);
	return hd_import_unacked(c->import) > 0;
}

static bool client_held(const struct ctl_client *c)
{
	return c->defer || c->parked || c->yield || (c->import && hd_import_full(c->import));
}

/* Goes on with what the client sent while it was held, then reads again. */
static void client_resume(struct ctl_client *c)
{
	import_settle(c);
	if (c->closing || c->close_after_write || c->defer)
		return;
	if (c->parked) {
		if (must_wait(c, c->parked_type))
			return;
		uint8_t *p = c->parked;
		size_t n = c->parked_len;
		c->parked = NULL;
		c->parked_len = 0;
		handle(c, p, n);
		free(p);
	}
	if (client_held(c) || c->closing || c->close_after_write)
		return;
	uint8_t *held = c->held;
	size_t held_len = c->held_len;
	c->held = NULL;
	c->held_len = 0;
	if (held)
		feed(c, held, held_len);
	free(held);
	if (c->paused && !client_held(c) && !c->closing && !c->close_after_write) {
		c->paused = false;
		uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
	}
}

static void defer_reply(struct ctl_defer *df)
{
	struct ctl_client *c = df->c;
	if (c)
		c->defer = NULL;
	if (c && !c->closing)
		reply(c, &df->resp);
	else
		response_free(&df->resp);
	ht_ctl_request_clear(&df->req);
	free(df);
	if (!c || c->closing)
		return;
	client_resume(c); /* what the client sent meanwhile, then read again */
}

static void on_trace_started(void *ud, int rc, const uint8_t id[HT_TRACE_ID_LEN], const char *why)
{
	struct ctl_defer *df = ud;
	if (rc == HT_OK)
		memcpy(df->resp.started, id, HT_TRACE_ID_LEN);
	else
		ht_ctl_response_set(&df->resp, HT_CTL_RESULT_ERROR, why[0] ? why : ht_strerror(rc));
	defer_reply(df);
}

static void on_trace_synced(void *ud)
{
	struct ctl_defer *df = ud;
	trace_cmd(df->d, &df->req, &df->resp);
	defer_reply(df);
}

/*
 * A trace command: a start is answered once its trace is stored and
 * started; a read once what the initiator holds is committed (so what a
 * client is shown is on disk). True when the answer comes later.
 */
static bool trace_defer(struct ctl_client *c, ht_ctl_request *req, ht_ctl_response *resp)
{
	struct hd_daemon *d = c->srv->d;
	char why[HT_CTL_DETAIL_MAX + 1] = "";
	bool later = false;
	struct ctl_defer *df = calloc(1, sizeof(*df));
	int rc = df ? HT_OK : HT_E_NOMEM;
	if (df) {
		df->c = c;
		df->d = d;
		df->req = *req;
		df->resp = *resp;
		if (req->type == HT_CTL_TRACE_START) {
			rc = hd_initiator_start(d, &df->req.trace_start, on_trace_started, df, why,
						sizeof(why));
			later = rc == HT_OK;
		} else {
			rc = hd_initiator_sync(d, on_trace_synced, df, &later);
		}
	}
	if (later) {
		memset(req, 0, sizeof(*req)); /* df has it */
		c->defer = df;
		client_pause(c);
		return true;
	}
	free(df);
	if (req->type == HT_CTL_TRACE_START)
		ht_ctl_response_set(resp, HT_CTL_RESULT_ERROR, why[0] ? why : ht_strerror(rc));
	else
		trace_cmd(d, req, resp); /* nothing to wait for (or cannot wait): as on disk */
	return false;
}

static void handle(struct ctl_client *c, const uint8_t *body, size_t len)
{
	struct hd_daemon *d = c->srv->d;
	ht_ctl_request req;
	ht_ctl_response resp;
	int32_t r = ht_ctl_admit(body, len, c->hello_done, &req, &resp);
	ht_ctl_type type = r == HT_CTL_RESULT_OK ? req.type : HT_CTL_NONE;
	if (must_wait(c, type)) {
		/* Answered after the import's replies: keep it, read no further. */
		ht_ctl_request_clear(&req);
		if (!(c->parked = malloc(len ? len : 1))) {
			client_close(c);
			return;
		}
		memcpy(c->parked, body, len);
		c->parked_len = len;
		c->parked_type = type;
		client_pause(c);
		return;
	}
	if (r == HT_CTL_RESULT_OK) {
		switch (req.type) {
		case HT_CTL_HELLO:
			c->hello_done = true;
			break;
		case HT_CTL_STATUS:
			fill_status(d, &resp.status);
			break;
		case HT_CTL_PEERS:
			if (d->n_peers > HT_CTL_MAX_PEERS)
				ht_ctl_response_set(&resp, HT_CTL_RESULT_ERROR,
						    "more peers than one response can carry");
			else if (!(resp.peers = fill_peers(d, &resp.n_peers)))
				ht_ctl_response_set(&resp, HT_CTL_RESULT_ERROR, "out of memory");
			break;
		case HT_CTL_CDR_IMPORT:
			cdr_import(c, &req);
			ht_ctl_request_clear(&req);
			return; /* answered by import_ack */
		case HT_CTL_CDR_STATS:
			cdr_stats(d, &resp);
			break;
		case HT_CTL_CDR_LOOKUP:
			cdr_lookup(d, &req.lookup, &resp);
			break;
		case HT_CTL_AUDIT:
			audit_list(d, &req.audit, &resp);
			break;
		case HT_CTL_TRACE_START:
		case HT_CTL_TRACE_SHOW:
		case HT_CTL_TRACE_LIST:
		case HT_CTL_TRACE_EXPORT:
			if (trace_defer(c, &req, &resp))
				return; /* answered by defer_reply */
			break;
		default:
			break;
		}
	} else {
		log_warn("control: request refused: %s%s%s", ht_ctl_result_name(r),
			 resp.detail[0] ? ": " : "", resp.detail);
	}
	ht_ctl_request_clear(&req);
	reply(c, &resp);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	static char slab[16384];
	*buf = uv_buf_init(slab, sizeof(slab));
}

/* Handles the frames in `p`; what follows one that holds the client back is held. */
static void feed(struct ctl_client *c, const uint8_t *p, size_t len)
{
	while (len > 0 && !c->closing && !c->close_after_write) {
		if (client_held(c)) {
			uint8_t *h = realloc(c->held, c->held_len + len);
			if (!h) {
				client_close(c);
				return;
			}
			memcpy(h + c->held_len, p, len);
			c->held = h;
			c->held_len += len;
			client_pause(c);
			return;
		}
		size_t used;
		if (ht_ctl_reader_feed(&c->rd, p, len, &used) != HT_OK) {
			log_warn("control: oversized or broken frame; dropping the client");
			client_close(c);
			return;
		}
		p += used;
		len -= used;
		const uint8_t *body;
		size_t blen;
		if (ht_ctl_reader_frame(&c->rd, &body, &blen))
			handle(c, body, blen);
	}
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct ctl_client *c = s->data;
	if (n < 0) {
		client_close(c);
		return;
	}
	uv_timer_again(&c->idle);
	feed(c, (const uint8_t *)buf->base, (size_t)n);
}

static void on_idle(uv_timer_t *t)
{
	client_close(t->data);
}

/* The store's writer thread: batches are done (hd_store_set_notify). */
static void wake_up(void *ud)
{
	uv_async_send(ud);
}

/*
 * The loop: the store reports the batches done to their imports, which
 * reply and hand it more; and the clients that had their turn go on. A
 * turn prepares at most one batch and parses at most one chunk per
 * client; if more is ready, another turn follows, after the loop's other
 * events.
 */
static void on_wake(uv_async_t *a)
{
	struct ctl_server *srv = a->data;
	bool again = false;
	hd_store_poll(srv->d->store);
	for (struct ctl_client *c = srv->clients; c; c = c->next) {
		if (c->closing || (!c->import && !c->yield))
			continue;
		if (c->import)
			again |= hd_import_pump(c->import);
		c->yield = false;
		client_resume(c);
	}
	if (again)
		uv_async_send(a);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct ctl_server *srv = server->data;
	if (status < 0)
		return;
	struct ctl_client *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = srv;
	srv->n_clients++;
	c->next = srv->clients;
	srv->clients = c;
	uv_pipe_init(srv->d->loop, &c->pipe, 0);
	uv_timer_init(srv->d->loop, &c->idle);
	c->pipe.data = c->idle.data = c;
	c->handles_open = 2;
	ht_ctl_reader_init(&c->rd);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 || srv->n_clients > CTL_MAX_CLIENTS) {
		if (srv->n_clients > CTL_MAX_CLIENTS)
			log_warn("control: more than %d clients; refusing one", CTL_MAX_CLIENTS);
		client_close(c);
		return;
	}
	uv_timer_start(&c->idle, on_idle, CTL_IDLE_MS, CTL_IDLE_MS);
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

/* A socket file left by a daemon that died: remove it, unless one answers. */
static int clear_stale(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("control socket %s exists and is not a socket", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	if (live) {
		log_error("control socket %s is in use: is another hoptraced running?", path);
		return -1;
	}
	return unlink(path);
}

int hd_ctl_start(struct hd_daemon *d)
{
	struct ctl_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -1;
	srv->d = d;
	d->ctl = srv;
	uv_pipe_init(d->loop, &srv->pipe, 0);
	srv->pipe.data = srv;
	uv_async_init(d->loop, &srv->wake, on_wake);
	srv->wake.data = srv;
	hd_store_set_notify(d->store, wake_up, &srv->wake);
	const char *path = d->cfg.control_socket;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_error("control socket path too long: %s", path);
		return -1;
	}
	if (clear_stale(path) != 0)
		return -1;
	/* Never more open than 0660, not even between bind and chmod. */
	mode_t old = umask(0117);
	int rc = uv_pipe_bind(&srv->pipe, path);
	umask(old);
	if (rc == 0) {
		srv->bound = true;
		if (chmod(path, HT_CTL_SOCKET_MODE) != 0)
			rc = -errno;
	}
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv->pipe, 16, on_connection);
	if (rc < 0) {
		log_error("control socket %s: %s", path, uv_strerror(rc));
		return -1;
	}
	log_info("control socket %s", path);
	return 0;
}

static void on_server_closed(uv_handle_t *h)
{
	struct ctl_server *srv = h->data;
	srv->pipe_closed = true;
	server_maybe_free(srv);
}

static void on_wake_closed(uv_handle_t *h)
{
	struct ctl_server *srv = h->data;
	srv->wake_closed = true;
	server_maybe_free(srv);
}

void hd_ctl_stop(struct hd_daemon *d)
{
	struct ctl_server *srv = d->ctl;
	if (!srv)
		return;
	d->ctl = NULL;
	if (srv->bound)
		unlink(d->cfg.control_socket);
	hd_store_set_notify(d->store, NULL, NULL);
	for (struct ctl_client *c = srv->clients; c; c = c->next)
		client_close(c);
	uv_close((uv_handle_t *)&srv->pipe, on_server_closed);
	uv_close((uv_handle_t *)&srv->wake, on_wake_closed);
}
