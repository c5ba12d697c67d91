/*
 * The traceback engine: one hop's part of a trace (see trace.h and
 * spec/protocol.md section 11).
 *
 * Everything runs on the loop thread but the signing and sealing of answers
 * (struct job), which runs on libuv's thread pool. An answer takes its place
 * in its trace's outgoing queue at once, is signed and sealed, then waits
 * until the audit log has synced it (group commit, also on the pool): the
 * queue sends in order, so the asker sees our own answer, then what
 * upstreams relay and our dead ends, and TraceComplete last. A trace's
 * memory is reference-counted (its timer handle and each answer being made
 * or audited hold a reference), so a trace can be dropped at any moment
 * without leaving a callback a dangling pointer. Each peer has at most
 * HD_TRACE_PEER_MAX requests in progress; at the bound its session is not
 * read (peer.c) until one is answered.
 * Peers are named by provider ID, never held by pointer: sessions come and
 * go while a trace runs.
 */
#include "trace.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hoptrace/trace.h"
#include "hoptraced.h"
#include "log.h"

/* ---- token bucket ---- */

bool hd_bucket_take(struct hd_bucket *b, uint32_t rate, uint32_t burst, uint64_t now_ms)
{
	uint64_t cap = (uint64_t)burst * 1000;
	if (!b->primed) {
		b->primed = true;
		b->millitokens = cap;
		b->last_ms = now_ms;
	}
	if (now_ms > b->last_ms) {
		/* rate tokens a second = rate millitokens a millisecond */
		uint64_t dt = now_ms - b->last_ms, add = dt * rate;
		b->millitokens =
			add / rate != dt || add > cap - b->millitokens ? cap : b->millitokens + add;
		b->last_ms = now_ms;
	}
	if (b->millitokens > cap)
		b->millitokens = cap; /* burst lowered by a reload */
	if (b->millitokens < 1000)
		return false;
	b->millitokens -= 1000;
	return true;
}

/* ---- seen table ---- */

struct seen_node {
	uint8_t id[HT_TRACE_ID_LEN];
	uint64_t expires_ms;
	struct seen_node *next;
};

struct hd_seen {
	struct seen_node **buckets;
	size_t mask, count, max;
	uint64_t earliest; /* no entry expires before this: sweeping sooner frees nothing */
	uint8_t key[crypto_shorthash_KEYBYTES];
};

/* Peers choose trace IDs: a keyed hash keeps them from aiming at one bucket. */
static size_t id_hash(const uint8_t key[crypto_shorthash_KEYBYTES], const uint8_t *id)
{
	uint8_t h[crypto_shorthash_BYTES];
	crypto_shorthash(h, id, HT_TRACE_ID_LEN, key);
	size_t v;
	memcpy(&v, h, sizeof(v));
	return v;
}

int hd_seen_new(hd_seen **out, size_t max)
{
	hd_seen *s = calloc(1, sizeof(*s));
	size_t n = 16;
	while (n < max)
		n <<= 1;
	if (s)
		s->buckets = calloc(n, sizeof(*s->buckets));
	if (!s || !s->buckets) {
		free(s);
		return HT_E_NOMEM;
	}
	s->mask = n - 1;
	s->max = max;
	s->earliest = UINT64_MAX;
	randombytes_buf(s->key, sizeof(s->key));
	*out = s;
	return HT_OK;
}

void hd_seen_free(hd_seen *s)
{
	if (!s)
		return;
	for (size_t i = 0; i <= s->mask; i++) {
		for (struct seen_node *n = s->buckets[i], *next; n; n = next) {
			next = n->next;
			free(n);
		}
	}
	free(s->buckets);
	free(s);
}

/* Drops every expired entry. */
static void seen_sweep(hd_seen *s, uint64_t now_ms)
{
	s->earliest = UINT64_MAX;
	for (size_t i = 0; i <= s->mask; i++) {
		for (struct seen_node **pp = &s->buckets[i]; *pp;) {
			struct seen_node *n = *pp;
			if (n->expires_ms < now_ms) {
				*pp = n->next;
				free(n);
				s->count--;
				continue;
			}
			if (n->expires_ms < s->earliest)
				s->earliest = n->expires_ms;
			pp = &n->next;
		}
	}
}

enum hd_seen_result hd_seen_add(hd_seen *s, const uint8_t id[16], uint64_t expires_ms,
				uint64_t now_ms)
{
	struct seen_node **b = &s->buckets[id_hash(s->key, id) & s->mask];
	for (struct seen_node *n = *b; n; n = n->next) {
		if (memcmp(n->id, id, HT_TRACE_ID_LEN) != 0)
			continue;
		if (n->expires_ms >= now_ms)
			return HD_SEEN_DUPLICATE;
		n->expires_ms = expires_ms; /* expired: this is a new sighting */
		if (expires_ms < s->earliest)
			s->earliest = expires_ms;
		return HD_SEEN_NEW;
	}
	if (s->count >= s->max) {
		if (now_ms <= s->earliest)
			return HD_SEEN_FULL;
		seen_sweep(s, now_ms);
		if (s->count >= s->max)
			return HD_SEEN_FULL;
	}
	struct seen_node *n = malloc(sizeof(*n));
	if (!n)
		return HD_SEEN_FULL;
	memcpy(n->id, id, HT_TRACE_ID_LEN);
	n->expires_ms = expires_ms;
	n->next = *b;
	*b = n;
	s->count++;
	if (expires_ms < s->earliest)
		s->earliest = expires_ms;
	return HD_SEEN_NEW;
}

size_t hd_seen_count(const hd_seen *s)
{
	return s->count;
}

/* ---- budgets ---- */

uint64_t hd_trace_deadline(uint64_t now_ms, uint32_t budget_ms, uint64_t expires_ms)
{
	uint64_t left = expires_ms > now_ms ? expires_ms - now_ms : 0;
	if (budget_ms == 0 || budget_ms > left)
		return now_ms + left;
	return now_ms + budget_ms;
}

uint32_t hd_trace_child_budget(uint64_t deadline_ms, uint64_t now_ms)
{
	uint64_t left = deadline_ms > now_ms ? deadline_ms - now_ms : 0;
	uint64_t b = left / 8 * 7 + left % 8 * 7 / 8;
	if (b < HD_TRACE_MIN_BUDGET_MS + HD_TRACE_BUDGET_MARGIN)
		return 0;
	b -= HD_TRACE_BUDGET_MARGIN;
	return b > UINT32_MAX ? UINT32_MAX : (uint32_t)b;
}

/* ---- the engine's state ---- */

#define TRACE_BUCKETS 8192 /* hash buckets for traces in progress (HD_TRACE_ACTIVE_MAX) */

enum branch_state { BR_NEW = 0, BR_OPEN, BR_COMPLETE, BR_DEAD };

/* An upstream we forwarded the trace to, or named in a dead end. */
struct branch {
	char upstream[HT_PROVIDER_ID_MAX + 1];
	enum branch_state state;
	uint64_t window_ms; /* record time of the first call it handed us */
	uint32_t gen;       /* its session generation when we forwarded */
	uint32_t relayed;
};

/* Something for the asker, in order: an answer (ours once audited, or relayed). */
struct out {
	struct out *next;
	struct trace *t;
	bool ready, failed;
	bool own;         /* our own answer: once it is handed over, the request is answered */
	unsigned waiting; /* ours: its seal and its audit entry, before it may go */
	uint8_t *data;
	size_t len;
};

struct engine;

struct trace {
	uint8_t id[HT_TRACE_ID_LEN];
	struct trace *hnext;
	struct engine *e;
	unsigned refs; /* the timer handle, audit commits in flight, callers on the stack */
	bool dead;     /* out of the table: no more messages or callbacks */
	/* Who asked: a peer (by ID and session generation), or a local initiator. */
	char asker[HT_PROVIDER_ID_MAX + 1];
	uint32_t asker_gen;
	bool counted; /* among the asker's requests in progress, until our answer leaves */
	bool local;
	bool via; /* local, sent to a consortium's terminating carrier: no hop of our own */
	hd_trace_local_fn fn;
	void *ud;
	ht_request *req;
	uint32_t hop;
	uint64_t window_ms, deadline_ms;
	uv_timer_t timer;
	bool own_done; /* our own answer is queued (or there is none to give) */
	struct branch br[HT_ANSWER_CALLS_MAX];
	size_t n_br, n_open, n_fwd, n_dead;
	struct out *out_head, **out_tail;
	size_t n_relayed;
	char outcome[96];
	uint64_t t0_ns;
};

/* Per peer: its request bucket, session generation and requests in progress. */
struct pstate {
	char id[HT_PROVIDER_ID_MAX + 1];
	struct hd_bucket bucket;
	uint32_t gen; /* bumped when its session ends */
	uint64_t quiet_until_ms;
	uint32_t suppressed;  /* refusals not logged since quiet_until_ms was set */
	uint32_t in_progress; /* received, not yet answered or refused */
	bool held;            /* at HD_TRACE_PEER_MAX: its session is not read */
	uint32_t holds;       /* times held since the last log line about it */
	uint64_t hold_log_ms; /* no log line about holding it before this */
};

struct engine {
	struct hd_daemon *d;
	unsigned refs; /* 1 while running, the sweep timer, each trace and reply */
	bool stopping;
	struct trace *table[TRACE_BUCKETS];
	uint8_t hkey[crypto_shorthash_KEYBYTES];
	size_t n_active;
	hd_seen *seen;
	struct pstate *ps;
	size_t n_ps;
	uint8_t cref_key[crypto_generichash_KEYBYTES];
	uv_timer_t sweep; /* peer-down handling, on the next loop turn */
	bool sweep_armed;
	size_t audit_pending;
	ht_cert_cache *certs; /* initiator certificates, parsed and with their verdicts */
	ht_cert *own_cert;    /* ours, parsed once: answers carry it */
	/* Answers and completions not sent because their asker's session had ended. */
	uint64_t unsent, unsent_log_ms;
	char unsent_last[HT_PROVIDER_ID_MAX + 1];
};

static void engine_unref(struct engine *e)
{
	if (--e->refs > 0)
		return;
	hd_seen_free(e->seen);
	ht_cert_cache_free(e->certs);
	ht_cert_free(e->own_cert);
	free(e->ps);
	sodium_memzero(e->cref_key, sizeof(e->cref_key));
	free(e);
}

static struct pstate *pstate(struct engine *e, const char *id)
{
	for (size_t i = 0; i < e->n_ps; i++)
		if (strcmp(e->ps[i].id, id) == 0)
			return &e->ps[i];
	struct pstate *n = realloc(e->ps, (e->n_ps + 1) * sizeof(*n));
	if (!n)
		abort();
	e->ps = n;
	memset(&n[e->n_ps], 0, sizeof(*n));
	snprintf(n[e->n_ps].id, sizeof(n->id), "%s", id);
	return &n[e->n_ps++];
}

/*
 * A request from `id` is in progress. At HD_TRACE_PEER_MAX of them its
 * session is no longer read (TCP backpressure) until one is answered, so
 * that one peer cannot fill the audit backlog or the send queues that all
 * peers share, and the loop keeps turning to the others.
 */
static void peer_acquire(struct engine *e, const char *id)
{
	struct pstate *ps = pstate(e, id);
	if (++ps->in_progress < HD_TRACE_PEER_MAX || ps->held)
		return;
	ps->held = true;
	ps->holds++;
	uint64_t now = hd_now_ms();
	if (now >= ps->hold_log_ms) {
		log_info("peer %s: %u requests in progress: not reading more from it until they "
			 "are answered (%u time%s since the last such line)",
			 id, ps->in_progress, ps->holds, ps->holds == 1 ? "" : "s");
		ps->holds = 0;
		ps->hold_log_ms = now + HD_TRACE_LOG_INTERVAL_MS;
	}
	hd_peer_hold(e->d, id, true);
}

/* One of `id`'s requests is answered (or will never be: its session ended). */
static void peer_release(struct engine *e, const char *id)
{
	struct pstate *ps = pstate(e, id);
	if (ps->in_progress)
		ps->in_progress--;
	if (ps->held && ps->in_progress < HD_TRACE_PEER_MAX) {
		ps->held = false;
		if (!e->stopping)
			hd_peer_hold(e->d, id, false);
	}
}

/*
 * Something for an asker whose session has ended is not sent (spec 11.11):
 * counted, and summed up in one line an interval, not one line each.
 */
static void note_unsent(struct engine *e, const char *asker)
{
	e->unsent++;
	snprintf(e->unsent_last, sizeof(e->unsent_last), "%s", asker);
	uint64_t now = hd_now_ms();
	if (now < e->unsent_log_ms)
		return;
	log_warn("%llu answer(s) or completion(s) not sent since the last such line: their "
		 "asker's session had ended (the last for %s)",
		 (unsigned long long)e->unsent, e->unsent_last);
	e->unsent = 0;
	e->unsent_log_ms = now + HD_TRACE_LOG_INTERVAL_MS;
}

static void hex8(const uint8_t *id, char out[9])
{
	sodium_bin2hex(out, 9, id, 4);
}

static struct trace **slot(struct engine *e, const uint8_t *id)
{
	return &e->table[id_hash(e->hkey, id) % TRACE_BUCKETS];
}

static struct trace *trace_find(struct engine *e, const uint8_t *id)
{
	for (struct trace *t = *slot(e, id); t; t = t->hnext)
		if (memcmp(t->id, id, HT_TRACE_ID_LEN) == 0)
			return t;
	return NULL;
}

static void trace_unref(struct trace *t)
{
	if (--t->refs > 0)
		return;
	for (struct out *o = t->out_head, *next; o; o = next) {
		next = o->next;
		free(o->data);
		free(o);
	}
	ht_request_free(t->req);
	struct engine *e = t->e;
	free(t);
	engine_unref(e);
}

static void on_timer_closed(uv_handle_t *h)
{
	trace_unref(h->data);
}

/* The trace's request no longer counts among its asker's in progress. */
static void trace_uncount(struct trace *t)
{
	if (t->counted) {
		t->counted = false;
		peer_release(t->e, t->asker);
	}
}

/* Takes the trace out of play; memory goes with the last reference. */
static void trace_kill(struct trace *t)
{
	if (t->dead)
		return;
	t->dead = true;
	trace_uncount(t);
	for (struct trace **pp = slot(t->e, t->id); *pp; pp = &(*pp)->hnext) {
		if (*pp == t) {
			*pp = t->hnext;
			break;
		}
	}
	t->e->n_active--;
	uv_close((uv_handle_t *)&t->timer, on_timer_closed);
}

static void log_trace(struct trace *t, const char *end)
{
	char hx[9];
	hex8(t->id, hx);
	double ms = (double)(uv_hrtime() - t->t0_ns) / 1e6;
	log_info("trace %s: %s asked at hop %u: %s; %zu upstream(s) asked, %zu dead end(s), %zu "
		 "answer(s) relayed; %s in %.1f ms",
		 hx, t->local ? "this daemon" : t->asker, t->hop, t->outcome[0] ? t->outcome : "-",
		 t->n_fwd, t->n_dead, t->n_relayed, end, ms);
}

/* ---- answers ---- */

/* Names `req` and this hop in `a`; false if `a` could not be signed. */
static bool answer_prepare(struct engine *e, const ht_request *req, ht_answer_info *a)
{
	memcpy(a->request_hash, ht_request_id(req), HT_MSG_ID_LEN);
	snprintf(a->provider_id, sizeof(a->provider_id), "%s", e->d->cfg.provider_id);
	return ht_answer_info_valid(a);
}

struct reply;

/*
 * An answer to sign and seal: the costly part of answering (a signature and
 * two X25519), done on libuv's thread pool while the loop goes on reading,
 * parsing and verifying the next requests. The work touches nothing that
 * the loop changes: its own copy of the answer and of the answer key, and
 * the hop's keys and parsed certificate, fixed while the engine lives (a
 * job holds the engine through its trace or reply). Its audit entry, which
 * says nothing the signature adds, is written meanwhile, in the order the
 * answers were made; the answer leaves once both are done.
 */
struct job {
	uv_work_t work;
	struct engine *e;
	ht_answer_info a;
	uint8_t pk[HT_ANSWER_PK_LEN];
	int rc;
	uint8_t *data;
	size_t len;
	struct out *o;   /* a trace's answer, or */
	struct reply *r; /* a refusal */
};

static void job_work(uv_work_t *w)
{
	struct job *j = w->data;
	uint8_t *env;
	size_t env_len;
	j->a.answered_ms = hd_now_ms();
	j->rc = ht_answer_sign_cert(&j->a, &j->e->d->keys, j->e->own_cert, &env, &env_len);
	if (j->rc == HT_OK) {
		j->rc = ht_seal(env, env_len, j->pk, NULL, &j->data, &j->len);
		free(env);
	}
}

static void job_done(uv_work_t *w, int status);

static void job_start(struct job *j)
{
	j->work.data = j;
	if (uv_queue_work(j->e->d->loop, &j->work, job_work, job_done) != 0) {
		job_work(&j->work); /* no pool: here and now */
		job_done(&j->work, 0);
	}
}

static void audit_entry(hd_audit_entry *ae, const uint8_t *id, const char *asker,
			const char *initiator, const char *status, const char *disclosed)
{
	memset(ae, 0, sizeof(*ae));
	ae->time_ms = hd_now_ms();
	memcpy(ae->trace_id, id, HT_TRACE_ID_LEN);
	snprintf(ae->asking_peer, sizeof(ae->asking_peer), "%s", asker);
	snprintf(ae->initiator, sizeof(ae->initiator), "%s", initiator);
	snprintf(ae->status, sizeof(ae->status), "%s", status);
	size_t n = strlen(disclosed);
	if (n > HD_AUDIT_DISCLOSED_MAX)
		snprintf(ae->disclosed, sizeof(ae->disclosed), "%.*s...",
			 HD_AUDIT_DISCLOSED_MAX - 3, disclosed);
	else
		memcpy(ae->disclosed, disclosed, n + 1);
}

/* "found", "not_found", "refused:<reason>", "dead_end:<reason>". */
static void status_text(const ht_answer_info *a, char *out, size_t n)
{
	if (a->status == HT_ANSWER_REFUSED || a->status == HT_ANSWER_DEAD_END)
		snprintf(out, n, "%s:%s", ht_answer_status_name(a->status),
			 ht_reason_name(a->reason));
	else
		snprintf(out, n, "%s", ht_answer_status_name(a->status));
}

/* What an answer tells: "upstream X; upstream Y; customer R", "" for nothing. */
static void disclosed_text(const ht_answer_info *a, char *out, size_t n)
{
	size_t at = 0;
	out[0] = 0;
	if (a->status == HT_ANSWER_DEAD_END) {
		snprintf(out, n, "upstream %s", a->upstream);
		return;
	}
	for (size_t i = 0; i < a->n_calls && at < n; i++) {
		const ht_matched_call *c = &a->calls[i];
		char item[HT_CUSTOMER_REF_MAX + 48];
		if (c->originated_here)
			snprintf(item, sizeof(item), c->customer_ref[0] ? "customer %s" : "origin",
				 c->customer_ref);
		else
			snprintf(item, sizeof(item), "upstream %s", c->upstream);
		if (strstr(out, item)) /* each fact once */
			continue;
		at += (size_t)snprintf(out + at, n - at, "%s%s", at ? "; " : "", item);
	}
}

static void flush(struct trace *t);

/* One of the two things our answer waits for is done; once both are, it may go. */
static void out_part_done(struct out *o)
{
	struct trace *t = o->t;
	struct engine *e = t->e;
	if (--o->waiting == 0) {
		e->audit_pending--;
		o->ready = true;
		if (!t->dead && !e->stopping)
			flush(t);
	}
	trace_unref(t);
}

static void on_audited(void *ud, int rc)
{
	struct out *o = ud;
	if (rc != HT_OK) {
		/* Nothing leaves that the audit log does not hold. */
		char hx[9];
		hex8(o->t->id, hx);
		log_error("trace %s: audit log failed (%s): answer withheld", hx, ht_strerror(rc));
		o->failed = true;
	}
	out_part_done(o);
}

static void answer_sealed(struct job *j)
{
	struct out *o = j->o;
	if (j->rc == HT_OK) {
		o->data = j->data;
		o->len = j->len;
	} else {
		char hx[9];
		hex8(o->t->id, hx);
		log_error("trace %s: cannot sign or seal an answer: %s: withheld", hx,
			  ht_strerror(j->rc));
		o->failed = true;
	}
	free(j);
	out_part_done(o);
}

/*
 * Queues an answer for the asker, in its place: signed and sealed on the
 * pool while its audit entry is written, and it leaves once both are done.
 * Returns HT_OK, or the error (logged) when it cannot be made, which the
 * caller learns at once.
 */
static int queue_answer(struct trace *t, ht_answer_info *a, bool own)
{
	struct engine *e = t->e;
	char hx[9];
	hex8(t->id, hx);
	snprintf(a->asked_by, sizeof(a->asked_by), "%s", t->asker);
	a->hop = t->hop;
	a->window_time_ms = t->window_ms;
	if (!answer_prepare(e, t->req, a)) {
		log_error("trace %s: cannot sign an answer: %s", hx, ht_strerror(HT_E_INVAL));
		return HT_E_INVAL;
	}
	struct out *o = calloc(1, sizeof(*o));
	struct job *j = calloc(1, sizeof(*j));
	if (!o || !j) {
		free(o);
		free(j);
		return HT_E_NOMEM;
	}
	j->e = e;
	j->a = *a;
	memcpy(j->pk, ht_request_get(t->req)->answer_pk, HT_ANSWER_PK_LEN);
	hd_audit_entry ae;
	char status[HD_AUDIT_STATUS_MAX + 1], disclosed[HD_AUDIT_DISCLOSED_MAX + 4];
	status_text(a, status, sizeof(status));
	disclosed_text(a, disclosed, sizeof(disclosed));
	audit_entry(&ae, t->id, t->asker, ht_request_get(t->req)->initiator_id, status, disclosed);
	o->t = t;
	o->own = own;
	o->waiting = 2;
	j->o = o;
	t->refs += 2; /* the seal and the audit entry, each until it is done */
	e->audit_pending++;
	*t->out_tail = o;
	t->out_tail = &o->next;
	int rc = hd_audit_submit(e->d->audit, e->d->loop, &ae, on_audited, o);
	if (rc != HT_OK) {
		log_error("trace %s: cannot queue the audit entry: %s: answer withheld", hx,
			  ht_strerror(rc));
		o->failed = true;
		o->waiting--;
		t->refs--;
	}
	job_start(j);
	return HT_OK;
}

/* Names `b` in our own signed dead end. */
static void dead_end(struct trace *t, struct branch *b, ht_reason why)
{
	if (b->state == BR_OPEN)
		t->n_open--;
	b->state = BR_DEAD;
	t->n_dead++;
	ht_answer_info *a = calloc(1, sizeof(*a));
	if (!a)
		return;
	a->status = HT_ANSWER_DEAD_END;
	a->reason = why;
	snprintf(a->upstream, sizeof(a->upstream), "%s", b->upstream);
	char hx[9];
	hex8(t->id, hx);
	log_debug("trace %s: dead end at %s: %s", hx, b->upstream, ht_reason_name(why));
	(void)queue_answer(t, a, false);
	free(a);
}

/* Hands one answer to the asker. */
static void deliver(struct trace *t, const uint8_t *data, size_t len)
{
	if (t->local) {
		if (t->fn)
			t->fn(t->ud, t->id, HD_TRACE_EV_ANSWER, data, len);
		return;
	}
	ht_pmsg m = {.type = HT_PMSG_TRACE_ANSWER, .has_trace_id = true};
	memcpy(m.trace_id, t->id, HT_TRACE_ID_LEN);
	m.data = (uint8_t *)data;
	m.data_len = len;
	/* Only over the session that asked: a new one knows nothing of the trace. */
	if (t->asker_gen != pstate(t->e, t->asker)->gen || hd_peer_send(t->e->d, t->asker, &m) != 0)
		note_unsent(t->e, t->asker);
}

/* Our part is over once our answer, every branch and every dead end has gone out. */
static void check_done(struct trace *t)
{
	if (t->dead || !t->own_done || t->n_open || t->out_head)
		return;
	uint8_t id[HT_TRACE_ID_LEN];
	memcpy(id, t->id, sizeof(id));
	log_trace(t, "complete");
	if (t->local) {
		hd_trace_local_fn fn = t->fn;
		void *ud = t->ud;
		trace_kill(t);
		if (fn)
			fn(ud, id, HD_TRACE_EV_COMPLETE, NULL, 0);
		return;
	}
	ht_pmsg m = {.type = HT_PMSG_TRACE_COMPLETE, .has_trace_id = true};
	memcpy(m.trace_id, id, sizeof(id));
	if (t->asker_gen != pstate(t->e, t->asker)->gen || hd_peer_send(t->e->d, t->asker, &m) != 0)
		note_unsent(t->e, t->asker);
	trace_kill(t);
}

/* Sends what is ready at the head of the queue, in order. */
static void flush(struct trace *t)
{
	t->refs++; /* a local callback may cancel the trace */
	while (!t->dead && !t->e->stopping && t->out_head && t->out_head->ready) {
		struct out *o = t->out_head;
		t->out_head = o->next;
		if (!t->out_head)
			t->out_tail = &t->out_head;
		if (!o->failed)
			deliver(t, o->data, o->len);
		if (o->own)
			trace_uncount(t);
		free(o->data);
		free(o);
	}
	if (!t->e->stopping)
		check_done(t);
	trace_unref(t);
}

/* ---- matching ---- */

struct match {
	struct engine *e;
	const ht_request *req;
	ht_answer_info *a;
	size_t candidates;
	bool truncated;
};

/* The reference a FOUND answer carries for our own customer, per policy. */
static void customer_ref(struct engine *e, const char *stored, char out[HT_CUSTOMER_REF_MAX + 1])
{
	out[0] = 0;
	if (!stored[0])
		return;
	switch (e->d->cfg.policy.disclose_customer) {
	case HD_DISCLOSE_REFERENCE:
		snprintf(out, HT_CUSTOMER_REF_MAX + 1, "%s", stored);
		break;
	case HD_DISCLOSE_OPAQUE: {
		uint8_t h[32];
		crypto_generichash(h, sizeof(h), (const uint8_t *)stored, strlen(stored),
				   e->cref_key, sizeof(e->cref_key));
		sodium_bin2hex(out, HT_CUSTOMER_REF_MAX + 1, h, 16);
		break;
	}
	case HD_DISCLOSE_NONE:
		break;
	}
}

static int on_candidate(void *ud, const ht_cdr *rec)
{
	struct match *m = ud;
	m->candidates++;
	if (!ht_request_matches(m->req, rec->calling, rec->called))
		return 0;
	if (m->a->n_calls == HT_ANSWER_CALLS_MAX) {
		m->truncated = true;
		return 1;
	}
	ht_matched_call *c = &m->a->calls[m->a->n_calls++];
	memset(c, 0, sizeof(*c));
	if (rec->upstream[0]) {
		snprintf(c->upstream, sizeof(c->upstream), "%s", rec->upstream);
	} else {
		c->originated_here = true;
		customer_ref(m->e, rec->customer_ref, c->customer_ref);
	}
	c->record_time_ms = rec->time_ms;
	c->attestation = rec->attestation >= 'A' && rec->attestation <= 'C'
				 ? (uint8_t)(rec->attestation - 'A' + 1)
				 : 0;
	c->has_origid = rec->has_origid;
	memcpy(c->origid, rec->origid, HT_ORIGID_LEN);
	return 0;
}

static void on_deadline(uv_timer_t *h);

/* Forwards to one upstream, or names it in a dead end. */
static void start_branch(struct trace *t, struct branch *b)
{
	struct engine *e = t->e;
	struct hd_daemon *d = e->d;
	const ht_request_info *ri = ht_request_get(t->req);
	if (!hd_config_peer(&d->cfg, b->upstream)) {
		dead_end(t, b, HT_REASON_UPSTREAM_NOT_PARTICIPANT);
		return;
	}
	if (!hd_peer_established(d, b->upstream)) {
		dead_end(t, b, HT_REASON_UPSTREAM_UNREACHABLE);
		return;
	}
	uint32_t next_hop = t->via ? 0 : t->hop + 1;
	if (next_hop >= ri->hop_limit) {
		dead_end(t, b, HT_REASON_HOP_LIMIT);
		return;
	}
	uint32_t budget = hd_trace_child_budget(t->deadline_ms, hd_now_ms());
	if (!budget) {
		dead_end(t, b, HT_REASON_UPSTREAM_TIMED_OUT);
		return;
	}
	size_t len;
	const uint8_t *req = ht_request_encoded(t->req, &len);
	ht_pmsg m = {
		.type = HT_PMSG_TRACE_FORWARD,
		.data = (uint8_t *)req,
		.data_len = len,
		.hop = next_hop,
		.window_time_ms = next_hop ? b->window_ms : 0,
		.budget_ms = budget,
	};
	if (hd_peer_send(d, b->upstream, &m) != 0) {
		dead_end(t, b, HT_REASON_UPSTREAM_UNREACHABLE);
		return;
	}
	b->state = BR_OPEN;
	b->gen = pstate(e, b->upstream)->gen;
	t->n_open++;
	t->n_fwd++;
}

/* Starts the deadline once something is waited for. */
static void arm_deadline(struct trace *t)
{
	if (!t->n_open)
		return;
	uint64_t now = hd_now_ms();
	uv_timer_start(&t->timer, on_deadline, t->deadline_ms > now ? t->deadline_ms - now : 0, 0);
}

/* Matches, answers, and forwards to each distinct upstream of the calls found. */
static void run_hop(struct trace *t)
{
	struct engine *e = t->e;
	const ht_request_info *ri = ht_request_get(t->req);
	ht_answer_info *a = calloc(1, sizeof(*a));
	if (!a) {
		t->own_done = true;
		snprintf(t->outcome, sizeof(t->outcome), "out of memory");
		return;
	}
	struct match mt = {.e = e, .req = t->req, .a = a};
	uint64_t w = t->window_ms, tol = ri->tolerance_ms;
	int rc = hd_store_lookup(e->d->store, t->hop == 0 ? "" : t->asker, ri->hint, ri->hint_bits,
				 w > tol ? w - tol : 0, w + tol, on_candidate, &mt);
	if (rc != HT_OK) {
		memset(a, 0, sizeof(*a));
		a->status = HT_ANSWER_REFUSED;
		a->reason = HT_REASON_INTERNAL;
		char hx[9];
		hex8(t->id, hx);
		log_error("trace %s: store lookup failed: %s", hx, ht_strerror(rc));
	} else {
		a->status = a->n_calls ? HT_ANSWER_FOUND : HT_ANSWER_NOT_FOUND;
	}
	rc = queue_answer(t, a, true);
	if (rc != HT_OK && a->status == HT_ANSWER_FOUND) {
		/* A FOUND we cannot sign (say, a stored reference the wire refuses):
		 * refuse rather than forward without an answer of our own. */
		a->n_calls = 0;
		a->status = HT_ANSWER_REFUSED;
		a->reason = HT_REASON_INTERNAL;
		rc = queue_answer(t, a, true);
	}
	if (rc != HT_OK)
		trace_uncount(t); /* no answer will leave: logged, and nothing to wait for */
	t->own_done = true;
	char st[HD_AUDIT_STATUS_MAX + 1];
	status_text(a, st, sizeof(st));
	snprintf(t->outcome, sizeof(t->outcome), "%s (%zu call%s%s)", st, a->n_calls,
		 a->n_calls == 1 ? "" : "s", mt.truncated ? ", more not listed" : "");
	if (a->status == HT_ANSWER_FOUND) {
		for (size_t i = 0; i < a->n_calls; i++) {
			const ht_matched_call *c = &a->calls[i];
			if (c->originated_here)
				continue;
			bool known = false;
			for (size_t k = 0; k < t->n_br && !known; k++)
				known = strcmp(t->br[k].upstream, c->upstream) == 0;
			if (known)
				continue;
			struct branch *b = &t->br[t->n_br++];
			memset(b, 0, sizeof(*b));
			snprintf(b->upstream, sizeof(b->upstream), "%s", c->upstream);
			b->window_ms = c->record_time_ms;
		}
		for (size_t k = 0; k < t->n_br; k++)
			start_branch(t, &t->br[k]);
	}
	free(a);
	arm_deadline(t);
}

static void on_deadline(uv_timer_t *h)
{
	struct trace *t = h->data;
	if (t->dead || t->e->stopping)
		return;
	for (size_t k = 0; k < t->n_br; k++)
		if (t->br[k].state == BR_OPEN)
			dead_end(t, &t->br[k], HT_REASON_UPSTREAM_TIMED_OUT);
	flush(t);
}

static struct trace *trace_new(struct engine *e, ht_request *req, const char *asker, uint32_t hop,
			       uint64_t window_ms, uint64_t deadline_ms)
{
	struct trace *t = calloc(1, sizeof(*t));
	if (!t)
		return NULL;
	memcpy(t->id, ht_request_get(req)->trace_id, HT_TRACE_ID_LEN);
	t->e = e;
	t->refs = 1; /* the timer */
	t->req = req;
	snprintf(t->asker, sizeof(t->asker), "%s", asker);
	t->hop = hop;
	t->window_ms = window_ms;
	t->deadline_ms = deadline_ms;
	t->out_tail = &t->out_head;
	t->t0_ns = uv_hrtime();
	uv_timer_init(e->d->loop, &t->timer);
	t->timer.data = t;
	struct trace **s = slot(e, t->id);
	t->hnext = *s;
	*s = t;
	e->n_active++;
	e->refs++;
	return t;
}

/* ---- refusals: an answer and a completion, no trace state ---- */

struct reply {
	struct engine *e;
	uint8_t id[HT_TRACE_ID_LEN];
	char asker[HT_PROVIDER_ID_MAX + 1];
	uint32_t asker_gen;
	uint32_t hop;
	ht_reason why;
	uint8_t *data;
	size_t len;
	uint64_t t0_ns;
	unsigned waiting; /* its seal and its audit entry */
	int seal_rc, audit_rc;
};

static void log_refusal(struct engine *e, const char *asker, const uint8_t *id, uint32_t hop,
			const char *what, uint64_t t0_ns)
{
	char hx[9] = "????????";
	if (id)
		hex8(id, hx);
	/* A flood is summed up, not logged line by line. */
	struct pstate *ps = pstate(e, asker);
	uint64_t now = hd_now_ms();
	if (now < ps->quiet_until_ms) {
		ps->suppressed++;
		return;
	}
	log_info("trace %s: %s asked at hop %u: %s in %.1f ms%s", hx, asker, hop, what,
		 (double)(uv_hrtime() - t0_ns) / 1e6, ps->suppressed ? " (and more refused)" : "");
	if (ps->suppressed)
		log_info("peer %s: %u refusals not logged in the last second", asker,
			 ps->suppressed);
	ps->suppressed = 0;
	if (strstr(what, "rate_limited") || strstr(what, "overloaded"))
		ps->quiet_until_ms = now + 1000;
}

static void refuse_unsigned(struct engine *e, const char *asker, const uint8_t *id, uint32_t hop,
			    ht_reason why, int rc, uint64_t t0_ns);

/* Sealed and audited, or failed: the refusal goes, or never will, and no longer counts. */
static void reply_part_done(struct reply *r)
{
	if (--r->waiting > 0)
		return;
	struct engine *e = r->e;
	if (e->stopping) {
		/* nothing more goes out */
	} else if (r->audit_rc != HT_OK) {
		/* Nothing leaves that the audit log does not hold. */
		log_error("trace: audit log failed (%s): refusal to %s withheld",
			  ht_strerror(r->audit_rc), r->asker);
	} else if (r->asker_gen != pstate(e, r->asker)->gen) {
		note_unsent(e, r->asker); /* the session that asked has ended */
	} else if (r->seal_rc != HT_OK) {
		/* Audited, but it could not be signed: say so unsigned. */
		refuse_unsigned(e, r->asker, r->id, r->hop, r->why, r->seal_rc, r->t0_ns);
	} else {
		ht_pmsg m = {.type = HT_PMSG_TRACE_ANSWER, .has_trace_id = true};
		memcpy(m.trace_id, r->id, HT_TRACE_ID_LEN);
		m.data = r->data;
		m.data_len = r->len;
		ht_pmsg c = {.type = HT_PMSG_TRACE_COMPLETE, .has_trace_id = true};
		memcpy(c.trace_id, r->id, HT_TRACE_ID_LEN);
		if (hd_peer_send(e->d, r->asker, &m) != 0 || hd_peer_send(e->d, r->asker, &c) != 0)
			note_unsent(e, r->asker);
		char what[64];
		snprintf(what, sizeof(what), "refused:%s", ht_reason_name(r->why));
		log_refusal(e, r->asker, r->id, r->hop, what, r->t0_ns);
	}
	e->audit_pending--;
	peer_release(e, r->asker);
	free(r->data);
	free(r);
	engine_unref(e);
}

static void on_reply_audited(void *ud, int rc)
{
	struct reply *r = ud;
	r->audit_rc = rc;
	reply_part_done(r);
}

static void send_error(struct engine *e, const char *peer, ht_reason why, const uint8_t *id,
		       const char *detail)
{
	ht_pmsg m = {.type = HT_PMSG_ERROR, .reason = why};
	snprintf(m.detail, sizeof(m.detail), "%s", detail);
	if (id) {
		m.has_trace_id = true;
		memcpy(m.trace_id, id, HT_TRACE_ID_LEN);
	}
	(void)hd_peer_send(e->d, peer, &m);
}

/* The refusal unsigned, when it cannot be signed. */
static void refuse_unsigned(struct engine *e, const char *asker, const uint8_t *id, uint32_t hop,
			    ht_reason why, int rc, uint64_t t0_ns)
{
	send_error(e, asker, why, id, ht_reason_name(why));
	char what[64];
	snprintf(what, sizeof(what), "refused:%s (unsigned: %s)", ht_reason_name(why),
		 ht_strerror(rc));
	log_refusal(e, asker, id, hop, what, t0_ns);
}

static void refusal_sealed(struct job *j)
{
	struct reply *r = j->r;
	r->seal_rc = j->rc;
	if (j->rc == HT_OK) {
		r->data = j->data;
		r->len = j->len;
	} else {
		log_error("trace: cannot sign or seal a refusal to %s: %s", r->asker,
			  ht_strerror(j->rc));
	}
	free(j);
	reply_part_done(r);
}

static void job_done(uv_work_t *w, int status)
{
	struct job *j = w->data;
	if (status != 0 && j->rc == HT_OK) {
		free(j->data); /* cancelled: nothing was made */
		j->data = NULL;
		j->rc = HT_E_IO;
	} else if (j->rc != HT_OK) {
		free(j->data);
		j->data = NULL;
	}
	if (j->o)
		answer_sealed(j);
	else
		refusal_sealed(j);
}

/* A signed REFUSED answer (made on the pool), audited, then TraceAnswer and TraceComplete. */
static void refuse(struct engine *e, const char *asker, const ht_request *req, uint32_t hop,
		   uint64_t window_ms, ht_reason why, uint64_t t0_ns)
{
	const ht_request_info *ri = ht_request_get(req);
	ht_answer_info a;
	memset(&a, 0, sizeof(a));
	a.status = HT_ANSWER_REFUSED;
	a.reason = why;
	a.hop = hop;
	a.window_time_ms = window_ms;
	snprintf(a.asked_by, sizeof(a.asked_by), "%s", asker);
	/* Say so unsigned when it cannot be signed (a hop index past the protocol's bound). */
	if (!answer_prepare(e, req, &a)) {
		refuse_unsigned(e, asker, ri->trace_id, hop, why, HT_E_INVAL, t0_ns);
		return;
	}
	struct reply *r = calloc(1, sizeof(*r));
	struct job *j = calloc(1, sizeof(*j));
	if (!r || !j) {
		free(r);
		free(j);
		refuse_unsigned(e, asker, ri->trace_id, hop, why, HT_E_NOMEM, t0_ns);
		return;
	}
	r->e = e;
	memcpy(r->id, ri->trace_id, HT_TRACE_ID_LEN);
	snprintf(r->asker, sizeof(r->asker), "%s", asker);
	r->asker_gen = pstate(e, asker)->gen;
	r->hop = hop;
	r->why = why;
	r->t0_ns = t0_ns;
	j->e = e;
	j->r = r;
	j->a = a;
	memcpy(j->pk, ri->answer_pk, HT_ANSWER_PK_LEN);
	hd_audit_entry ae;
	char status[HD_AUDIT_STATUS_MAX + 1];
	status_text(&a, status, sizeof(status));
	audit_entry(&ae, ri->trace_id, asker, ri->initiator_id, status, "");
	r->waiting = 2;
	e->refs++;
	e->audit_pending++;
	peer_acquire(e, asker);
	int rc = hd_audit_submit(e->d->audit, e->d->loop, &ae, on_reply_audited, r);
	if (rc != HT_OK) { /* withheld once sealed: nothing leaves that is not audited */
		r->audit_rc = rc;
		r->waiting--;
	}
	job_start(j);
}

/* ---- messages from peers ---- */

static void on_forward(struct engine *e, struct hd_peer *p, const ht_pmsg *m)
{
	struct hd_daemon *d = e->d;
	uint64_t t0 = uv_hrtime(), now = hd_now_ms();
	const char *asker = p->cfg.id;
	struct pstate *ps = pstate(e, asker);
	bool limited = !hd_bucket_take(&ps->bucket, d->cfg.policy.requests_per_second,
				       d->cfg.policy.burst, now);
	uint8_t peek[HT_TRACE_ID_LEN];
	if (e->audit_pending >= HD_TRACE_AUDIT_BACKLOG) {
		/* The audit log is behind: say so unsigned, keep no state. */
		bool has = ht_request_peek_trace_id(m->data, m->data_len, peek);
		send_error(e, asker, HT_REASON_RATE_LIMITED, has ? peek : NULL,
			   "overloaded: audit log behind");
		log_refusal(e, asker, has ? peek : NULL, m->hop, "overloaded (unsigned)", t0);
		return;
	}
	ht_request *req = NULL;
	int rc = ht_request_parse_cached(m->data, m->data_len, e->certs, &req);
	if (!req) {
		bool has = ht_request_peek_trace_id(m->data, m->data_len, peek);
		send_error(e, asker, ht_reason_from_err(rc), has ? peek : NULL, ht_strerror(rc));
		char what[96];
		snprintf(what, sizeof(what), "unparsable request (%s), error sent", ht_errname(rc));
		log_refusal(e, asker, has ? peek : NULL, m->hop, what, t0);
		return;
	}
	const ht_request_info *ri = ht_request_get(req);
	uint64_t w = m->hop > 0 && m->window_time_ms ? m->window_time_ms : ri->call_time_ms;
	ht_reason why = HT_REASON_UNSPECIFIED;
	if (limited)
		why = HT_REASON_RATE_LIMITED;
	else if (rc != HT_OK)
		why = ht_reason_from_err(rc);
	else if (ht_request_verify(req, d->trust, now, &why) != HT_OK)
		why = why ? why : HT_REASON_MALFORMED;
	else if (m->hop >= ri->hop_limit)
		why = HT_REASON_HOP_LIMIT;
	else if (m->hop == 0 && strcmp(asker, ri->initiator_id) != 0)
		why = HT_REASON_POLICY_REFUSED; /* only the initiator asks about calls ended here */
	else if (e->n_active >= HD_TRACE_ACTIVE_MAX)
		why = HT_REASON_RATE_LIMITED;
	else {
		switch (hd_seen_add(e->seen, ri->trace_id, ri->expires_ms, now)) {
		case HD_SEEN_DUPLICATE:
			why = HT_REASON_DUPLICATE;
			break;
		case HD_SEEN_FULL:
			why = HT_REASON_RATE_LIMITED;
			break;
		case HD_SEEN_NEW:
			if (!hd_config_initiator_allowed(&d->cfg, ri->initiator_id))
				why = HT_REASON_POLICY_REFUSED;
			break;
		}
	}
	if (why) {
		refuse(e, asker, req, m->hop, w, why, t0);
		ht_request_free(req);
		return;
	}
	struct trace *t = trace_new(e, req, asker, m->hop, w,
				    hd_trace_deadline(now, m->budget_ms, ri->expires_ms));
	if (!t) {
		refuse(e, asker, req, m->hop, w, HT_REASON_INTERNAL, t0);
		ht_request_free(req);
		return;
	}
	t->t0_ns = t0;
	t->asker_gen = pstate(e, asker)->gen; /* ps may have moved: the table grows */
	peer_acquire(e, asker);
	t->counted = true;
	t->refs++;
	run_hop(t);
	flush(t);
	trace_unref(t);
}

static struct branch *branch_of(struct trace *t, const char *peer)
{
	for (size_t k = 0; k < t->n_br; k++)
		if (strcmp(t->br[k].upstream, peer) == 0)
			return &t->br[k];
	return NULL;
}

/* The branch `p` may speak for: open, and forwarded over its current session. */
static struct branch *open_branch(struct engine *e, struct trace *t, struct hd_peer *p)
{
	struct branch *b = t ? branch_of(t, p->cfg.id) : NULL;
	if (!b || b->state != BR_OPEN || b->gen != pstate(e, p->cfg.id)->gen)
		return NULL;
	return b;
}

static void on_upstream(struct engine *e, struct hd_peer *p, const ht_pmsg *m)
{
	struct trace *t = trace_find(e, m->trace_id);
	struct branch *b = open_branch(e, t, p);
	char hx[9];
	hex8(m->trace_id, hx);
	if (!b) {
		/* Late (after a dead end), or from a peer we never asked: dropped. */
		log_info("trace %s: %s from %s dropped: no open branch to it", hx,
			 m->type == HT_PMSG_TRACE_ANSWER     ? "answer"
			 : m->type == HT_PMSG_TRACE_COMPLETE ? "completion"
							     : "error",
			 p->cfg.id);
		return;
	}
	t->refs++;
	switch (m->type) {
	case HT_PMSG_TRACE_ANSWER:
		if (b->relayed >= HD_TRACE_RELAY_MAX) {
			log_warn("trace %s: %s sent more than %d answers; the rest are dropped", hx,
				 p->cfg.id, HD_TRACE_RELAY_MAX);
			break;
		}
		{
			struct out *o = calloc(1, sizeof(*o));
			if (!o || !(o->data = malloc(m->data_len))) {
				free(o);
				break;
			}
			memcpy(o->data, m->data, m->data_len);
			o->len = m->data_len;
			o->ready = true;
			o->t = t;
			*t->out_tail = o;
			t->out_tail = &o->next;
			b->relayed++;
			t->n_relayed++;
		}
		break;
	case HT_PMSG_TRACE_COMPLETE:
		b->state = BR_COMPLETE;
		t->n_open--;
		break;
	default: /* an Error about the trace: the branch will not complete */
		log_warn("trace %s: %s reports %s: %.100s", hx, p->cfg.id,
			 ht_reason_name(m->reason), m->detail);
		dead_end(t, b, HT_REASON_UPSTREAM_UNREACHABLE);
		break;
	}
	flush(t);
	trace_unref(t);
}

void hd_trace_on_message(struct hd_peer *p, const ht_pmsg *m)
{
	struct engine *e = p->d->trace;
	if (!e || e->stopping)
		return;
	switch (m->type) {
	case HT_PMSG_TRACE_FORWARD:
		on_forward(e, p, m);
		break;
	case HT_PMSG_TRACE_ANSWER:
	case HT_PMSG_TRACE_COMPLETE:
	case HT_PMSG_ERROR:
		if (m->has_trace_id)
			on_upstream(e, p, m);
		break;
	default:
		break;
	}
}

/* ---- sessions ending ---- */

static void on_sweep(uv_timer_t *h)
{
	struct engine *e = h->data;
	e->sweep_armed = false;
	if (e->stopping || !e->n_active)
		return;
	/* Collect first: handling one trace may end others (local callbacks). */
	struct trace **all = malloc(e->n_active * sizeof(*all));
	if (!all)
		return;
	size_t n = 0;
	for (size_t i = 0; i < TRACE_BUCKETS; i++)
		for (struct trace *t = e->table[i]; t; t = t->hnext) {
			t->refs++;
			all[n++] = t;
		}
	for (size_t i = 0; i < n; i++) {
		struct trace *t = all[i];
		if (t->dead || e->stopping)
			goto next;
		if (!t->local && t->asker_gen != pstate(e, t->asker)->gen) {
			/* Nobody to answer to: the asker dead-ends us on its side. */
			log_trace(t, "dropped, the asker's session closed");
			trace_kill(t);
			goto next;
		}
		bool changed = false;
		for (size_t k = 0; k < t->n_br; k++) {
			struct branch *b = &t->br[k];
			if (b->state == BR_OPEN && b->gen != pstate(e, b->upstream)->gen) {
				dead_end(t, b, HT_REASON_UPSTREAM_UNREACHABLE);
				changed = true;
			}
		}
		if (changed)
			flush(t);
	next:
		trace_unref(t);
	}
	free(all);
}

void hd_trace_on_peer_down(struct hd_peer *p)
{
	struct engine *e = p->d->trace;
	if (!e || e->stopping)
		return;
	/* Only note it here: we may be inside a send of the engine's own. */
	pstate(e, p->cfg.id)->gen++;
	if (!e->sweep_armed) {
		e->sweep_armed = true;
		uv_timer_start(&e->sweep, on_sweep, 0, 0);
	}
}

/* ---- local traces ---- */

int hd_trace_local_start(struct hd_daemon *d, const uint8_t *reqb, size_t len, const char *via_peer,
			 hd_trace_local_fn fn, void *ud)
{
	struct engine *e = d->trace;
	if (!e || e->stopping || !fn || !reqb)
		return HT_E_INVAL;
	ht_request *req;
	int rc = ht_request_parse_cached(reqb, len, e->certs, &req);
	if (rc != HT_OK) {
		ht_request_free(req);
		return rc;
	}
	uint64_t now = hd_now_ms();
	const ht_request_info *ri = ht_request_get(req);
	if ((rc = ht_request_verify(req, d->trust, now, NULL)) != HT_OK ||
	    strcmp(ri->initiator_id, d->cfg.provider_id) != 0) {
		ht_request_free(req);
		return rc ? rc : HT_E_INVAL;
	}
	if (e->n_active >= HD_TRACE_ACTIVE_MAX) {
		ht_request_free(req);
		return HT_E_TOO_LARGE;
	}
	switch (hd_seen_add(e->seen, ri->trace_id, ri->expires_ms, now)) {
	case HD_SEEN_NEW:
		break;
	case HD_SEEN_DUPLICATE:
		ht_request_free(req);
		return HT_E_EXISTS;
	case HD_SEEN_FULL:
		ht_request_free(req);
		return HT_E_TOO_LARGE;
	}
	struct trace *t = trace_new(e, req, d->cfg.provider_id, 0, ri->call_time_ms,
				    hd_trace_deadline(now, 0, ri->expires_ms));
	if (!t) {
		ht_request_free(req);
		return HT_E_NOMEM;
	}
	t->local = true;
	t->fn = fn;
	t->ud = ud;
	if (!via_peer) {
		run_hop(t);
	} else {
		/* A consortium node: the terminating carrier is hop 0, asked by us. */
		t->via = true;
		struct branch *b = &t->br[t->n_br++];
		snprintf(b->upstream, sizeof(b->upstream), "%s", via_peer);
		snprintf(t->outcome, sizeof(t->outcome), "sent to %s", via_peer);
		start_branch(t, b);
		t->own_done = true;
		arm_deadline(t);
	}
	/* Callbacks come from the loop, never from in here: with nothing to wait
	 * for (an answer that could not be made), completion is one turn away. */
	if (!t->n_open)
		uv_timer_start(&t->timer, on_deadline, 0, 0);
	return HT_OK;
}

void hd_trace_local_cancel(struct hd_daemon *d, const uint8_t trace_id[16])
{
	struct engine *e = d->trace;
	if (!e)
		return;
	struct trace *t = trace_find(e, trace_id);
	if (!t || !t->local)
		return;
	t->fn = NULL;
	log_trace(t, "cancelled by the initiator");
	trace_kill(t);
}

size_t hd_trace_active(const struct hd_daemon *d)
{
	const struct engine *e = d->trace;
	return e ? e->n_active : 0;
}

/* ---- life cycle ---- */

/*
 * Replays after a restart: the seen table lives in memory, so it is refilled
 * from the audit log, which holds every request answered or refused. A
 * request answered at time t was created at most HT_CLOCK_SKEW_MS after t
 * and expires at most HT_LIFETIME_MAX_MS after its creation, so its ID is
 * kept until then (spec/protocol.md section 11, duplicates).
 */
struct reseed {
	struct engine *e;
	uint64_t now;
	size_t added, full;
};

static void reseed_one(void *ud, const hd_audit_entry *en)
{
	struct reseed *r = ud;
	static const uint8_t zero[HT_TRACE_ID_LEN];
	if (!memcmp(en->trace_id, zero, sizeof(zero)))
		return;
	uint64_t until = en->time_ms + HT_CLOCK_SKEW_MS + HT_LIFETIME_MAX_MS;
	switch (hd_seen_add(r->e->seen, en->trace_id, until, r->now)) {
	case HD_SEEN_NEW:
		r->added++;
		break;
	case HD_SEEN_FULL:
		r->full++;
		break;
	case HD_SEEN_DUPLICATE:
		break;
	}
}

static void reseed_from_audit(struct engine *e)
{
	struct hd_daemon *d = e->d;
	if (!d->audit)
		return;
	struct reseed r = {.e = e, .now = hd_now_ms()};
	hd_audit_filter f = {.since_ms = r.now - HT_CLOCK_SKEW_MS - HT_LIFETIME_MAX_MS};
	bool truncated = false;
	if (hd_audit_list(d->audit, &f, reseed_one, &r, &truncated) != HT_OK) {
		log_warn("trace IDs answered in the last hour not reloaded from the audit log: "
			 "replays of them are not refused until they expire");
		return;
	}
	if (r.added)
		log_info("%zu trace IDs answered in the last hour reloaded from the audit log",
			 r.added);
	if (r.full)
		log_warn("%zu recent trace IDs did not fit the seen table", r.full);
}

int hd_trace_init(struct hd_daemon *d)
{
	struct engine *e = calloc(1, sizeof(*e));
	if (!e)
		return HT_E_NOMEM;
	int rc = hd_seen_new(&e->seen, HD_TRACE_SEEN_MAX);
	if (rc == HT_OK)
		rc = ht_cert_cache_new(&e->certs, HD_TRACE_CERT_CACHE);
	/* Our own certificate, checked at load: parsed once here, for every answer. */
	if (rc == HT_OK)
		rc = ht_cert_parse(d->cert, d->cert_len, &e->own_cert);
	if (rc != HT_OK) {
		hd_seen_free(e->seen);
		ht_cert_cache_free(e->certs);
		free(e);
		return rc;
	}
	e->d = d;
	e->refs = 2; /* running, and the sweep timer */
	randombytes_buf(e->hkey, sizeof(e->hkey));
	/* Opaque customer references: keyed by a secret only this carrier can derive. */
	static const char dom[] = "hoptrace/v1 customer-ref";
	crypto_generichash(e->cref_key, sizeof(e->cref_key), (const uint8_t *)dom, sizeof(dom) - 1,
			   d->keys.sign_sk, HT_SIGN_SEED_LEN);
	uv_timer_init(d->loop, &e->sweep);
	e->sweep.data = e;
	d->trace = e;
	reseed_from_audit(e);
	return HT_OK;
}

static void on_sweep_closed(uv_handle_t *h)
{
	engine_unref(h->data);
}

void hd_trace_fini(struct hd_daemon *d)
{
	struct engine *e = d->trace;
	if (!e)
		return;
	d->trace = NULL;
	e->stopping = true;
	for (size_t i = 0; i < TRACE_BUCKETS; i++)
		while (e->table[i]) {
			struct trace *t = e->table[i];
			t->fn = NULL;
			log_trace(t, "dropped, the daemon is stopping");
			trace_kill(t);
		}
	uv_close((uv_handle_t *)&e->sweep, on_sweep_closed);
	engine_unref(e);
}
