/*
 * The initiator (daemon/initiator.c): its durable store of traces, alone
 * (written, reopened, an unfinished trace marked interrupted, a finished
 * one keeping its answers), and the whole module in one process with a real
 * event loop, store, audit log, engine, keys and certificates: a trace
 * started, answered and completed, shown, listed and exported as evidence
 * that verifies; answers a misbehaving relay could send (altered, swapped,
 * forged, replayed, out of the chain, sealed to another key) caught and kept
 * out of the evidence; a trace interrupted by a stop. Every write of the
 * module is on the thread pool: the tests hold the pool's one thread
 * (UV_THREADPOOL_SIZE=1) to show that a trace is on disk before the engine
 * has it, and that a stop with a write in flight loses nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <sodium.h>

#include "hoptrace/trace.h"
#include "hoptraced.h"
#include "initiator.h"
#include "testutil.h"
#include "trace.h"

#define T0 1767225600000ULL

/* ---- the store alone ---- */

static void rec_init(hd_trace_rec *r, uint8_t idb, uint64_t created, const char *req)
{
	memset(r, 0, sizeof(*r));
	memset(r->id, idb, sizeof(r->id));
	r->status = HD_TS_RUNNING;
	r->created_ms = created;
	r->call_time_ms = T0 - 1000;
	r->started_ms = created + 1;
	r->has_sk = true;
	memset(r->answer_pk, 0xa0 + idb, sizeof(r->answer_pk));
	memset(r->answer_sk, 0xb0 + idb, sizeof(r->answer_sk));
	strcpy(r->calling, "12025550143");
	strcpy(r->called, "13035550199");
	strcpy(r->label, "IRS campaign \xe2\x80\x94 week 3");
	r->request = (uint8_t *)req;
	r->request_len = strlen(req);
}

static hd_trace_answer answer(uint64_t received, bool sealed, const char *verdict, const char *data)
{
	hd_trace_answer a;
	memset(&a, 0, sizeof(a));
	a.received_ms = received;
	a.sealed = sealed;
	snprintf(a.verdict, sizeof(a.verdict), "%s", verdict);
	a.data = (const uint8_t *)data;
	a.len = strlen(data);
	return a;
}

struct seen_answers {
	uint32_t index[8];
	hd_trace_answer a[8];
	char data[8][32];
	size_t n;
};

static int keep_answer(void *ud, uint32_t index, const hd_trace_answer *a)
{
	struct seen_answers *s = ud;
	assert_true(s->n < 8);
	s->index[s->n] = index;
	s->a[s->n] = *a;
	assert_true(a->len < sizeof(s->data[0]));
	memcpy(s->data[s->n], a->data, a->len);
	s->data[s->n][a->len] = 0;
	s->a[s->n].data = NULL;
	s->n++;
	return 0;
}

static void answers_of(hd_traces *t, uint8_t idb, uint32_t from, struct seen_answers *s)
{
	uint8_t id[HT_TRACE_ID_LEN];
	memset(id, idb, sizeof(id));
	memset(s, 0, sizeof(*s));
	assert_int_equal(hd_traces_answers(t, id, from, keep_answer, s), HT_OK);
}

static void get(hd_traces *t, uint8_t idb, hd_trace_rec *r)
{
	uint8_t id[HT_TRACE_ID_LEN];
	bool found;
	memset(id, idb, sizeof(id));
	assert_int_equal(hd_traces_get(t, id, r, &found), HT_OK);
	assert_true(found);
}

struct listed {
	uint8_t first[8];
	int status[8];
	char origin[8][HT_PROVIDER_ID_MAX + 1];
	size_t n;
};

static void keep_listed(void *ud, const hd_trace_rec *r)
{
	struct listed *l = ud;
	assert_true(l->n < 8);
	assert_null(r->request); /* lists do not load requests */
	l->first[l->n] = r->id[0];
	l->status[l->n] = r->status;
	strcpy(l->origin[l->n], r->origin);
	l->n++;
}

static void test_store_survives_restart(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	hd_traces *t;
	size_t interrupted = 99;
	assert_int_equal(hd_traces_open(&t, dir, T0, &interrupted), HT_OK);
	assert_int_equal(interrupted, 0);
	char *path = tu_path(dir, "traces.mdb");
	assert_int_equal(tu_file_mode(path), 0600); /* it holds answer secret keys */
	free(path);

	/* Trace 1 runs and gets two answers; trace 2 finishes; trace 3 runs, no answers. */
	hd_trace_rec r;
	rec_init(&r, 1, T0 + 10, "request one");
	assert_int_equal(hd_traces_create(t, &r), HT_OK);
	assert_int_equal(hd_traces_create(t, &r), HT_E_EXISTS);
	rec_init(&r, 2, T0 + 20, "request two");
	assert_int_equal(hd_traces_create(t, &r), HT_OK);
	rec_init(&r, 3, T0 + 30, "request three");
	assert_int_equal(hd_traces_create(t, &r), HT_OK);
	uint8_t id1[16], id2[16], id9[16];
	memset(id1, 1, 16);
	memset(id2, 2, 16);
	memset(id9, 9, 16);
	hd_trace_answer a1[2] = {answer(T0 + 11, false, "ok", "envelope A"),
				 answer(T0 + 12, true, "decrypt_failed", "sealed box")};
	const char *o1[2] = {"", ""};
	assert_int_equal(hd_traces_add_answers(t, id1, a1, o1, 2), HT_OK);
	hd_trace_answer a2[3] = {answer(T0 + 21, false, "ok", "hop 0"),
				 answer(T0 + 22, false, "bad_signature", "forged"),
				 answer(T0 + 23, false, "ok", "hop 1 origin")};
	const char *o2[3] = {"", "CARRIER-F", "CARRIER-G"};
	assert_int_equal(hd_traces_add_answers(t, id2, a2, o2, 3), HT_OK);
	assert_int_equal(hd_traces_finish(t, id2, HD_TS_COMPLETE, T0 + 25), HT_OK);
	/* Unknown traces and statuses are refused. */
	assert_int_equal(hd_traces_add_answers(t, id9, a1, o1, 1), HT_E_INVAL);
	assert_int_equal(hd_traces_finish(t, id9, HD_TS_COMPLETE, T0), HT_E_INVAL);
	assert_int_equal(hd_traces_finish(t, id1, HD_TS_RUNNING, T0), HT_E_INVAL);

	/* The finished trace lost its key at once; the running ones keep theirs. */
	get(t, 2, &r);
	assert_int_equal(r.status, HD_TS_COMPLETE);
	assert_false(r.has_sk);
	static const uint8_t zero[32];
	assert_memory_equal(r.answer_sk, zero, 32);
	hd_trace_rec_clear(&r);
	get(t, 1, &r);
	assert_true(r.has_sk);
	hd_trace_rec_clear(&r);
	hd_traces_close(t);

	/* A restart: what was running is interrupted, with its answers. */
	assert_int_equal(hd_traces_open(&t, dir, T0 + 1000, &interrupted), HT_OK);
	assert_int_equal(interrupted, 2);
	get(t, 1, &r);
	assert_int_equal(r.status, HD_TS_INTERRUPTED);
	assert_int_equal(r.finished_ms, T0 + 1000);
	assert_false(r.has_sk);
	assert_memory_equal(r.answer_sk, zero, 32);
	assert_int_equal(r.n_answers, 2);
	assert_int_equal(r.request_len, strlen("request one"));
	assert_memory_equal(r.request, "request one", r.request_len);
	assert_string_equal(r.calling, "12025550143");
	assert_string_equal(r.label, "IRS campaign \xe2\x80\x94 week 3");
	uint8_t pk[32];
	memset(pk, 0xa1, 32);
	assert_memory_equal(r.answer_pk, pk, 32);
	hd_trace_rec_clear(&r);
	struct seen_answers s;
	answers_of(t, 1, 0, &s);
	assert_int_equal(s.n, 2);
	assert_string_equal(s.data[0], "envelope A");
	assert_false(s.a[0].sealed);
	assert_int_equal(s.a[0].received_ms, T0 + 11);
	assert_string_equal(s.data[1], "sealed box");
	assert_true(s.a[1].sealed);
	assert_string_equal(s.a[1].verdict, "decrypt_failed");
	get(t, 3, &r);
	assert_int_equal(r.status, HD_TS_INTERRUPTED);
	assert_int_equal(r.n_answers, 0);
	hd_trace_rec_clear(&r);

	/* The finished one is left as it was, with its answers and first origin. */
	get(t, 2, &r);
	assert_int_equal(r.status, HD_TS_COMPLETE);
	assert_int_equal(r.finished_ms, T0 + 25);
	assert_int_equal(r.n_answers, 3);
	assert_string_equal(r.origin, "CARRIER-F");
	hd_trace_rec_clear(&r);
	answers_of(t, 2, 1, &s); /* from the second on */
	assert_int_equal(s.n, 2);
	assert_int_equal(s.index[0], 1);
	assert_string_equal(s.data[0], "forged");
	assert_string_equal(s.a[0].verdict, "bad_signature");
	assert_string_equal(s.data[1], "hop 1 origin");
	answers_of(t, 2, 3, &s);
	assert_int_equal(s.n, 0);

	/* Newest first; a limit says older ones exist. */
	struct listed l = {0};
	bool truncated;
	assert_int_equal(hd_traces_list(t, 10, keep_listed, &l, &truncated), HT_OK);
	assert_false(truncated);
	assert_int_equal(l.n, 3);
	assert_int_equal(l.first[0], 3);
	assert_int_equal(l.first[1], 2);
	assert_int_equal(l.first[2], 1);
	assert_int_equal(l.status[1], HD_TS_COMPLETE);
	assert_string_equal(l.origin[1], "CARRIER-F");
	memset(&l, 0, sizeof(l));
	assert_int_equal(hd_traces_list(t, 2, keep_listed, &l, &truncated), HT_OK);
	assert_true(truncated);
	assert_int_equal(l.n, 2);
	hd_traces_close(t);

	/* Opening again interrupts nothing more. */
	assert_int_equal(hd_traces_open(&t, dir, T0 + 2000, &interrupted), HT_OK);
	assert_int_equal(interrupted, 0);
	hd_traces_close(t);
	tu_rmtree(dir);
	free(dir);
}

static void test_store_answer_limit(void **state)
{
	(void)state;
	char *dir = tu_mkdtemp();
	hd_traces *t;
	assert_int_equal(hd_traces_open(&t, dir, T0, NULL), HT_OK);
	hd_trace_rec r;
	rec_init(&r, 5, T0, "req");
	assert_int_equal(hd_traces_create(t, &r), HT_OK);
	size_t n = HT_CTL_TRACE_ANSWERS_MAX + 3;
	hd_trace_answer *as = calloc(n, sizeof(*as));
	assert_non_null(as);
	for (size_t i = 0; i < n; i++)
		as[i] = answer(T0 + i, false, "ok", "x");
	assert_int_equal(hd_traces_add_answers(t, r.id, as, NULL, n), HT_OK);
	free(as);
	get(t, 5, &r);
	assert_int_equal(r.n_answers, HT_CTL_TRACE_ANSWERS_MAX);
	assert_int_equal(r.n_dropped, 3);
	hd_trace_rec_clear(&r);
	hd_traces_close(t);
	tu_rmtree(dir);
	free(dir);
}

/* ---- the module in a daemon ---- */

#define CALL_T 1767225600000ULL

struct fx {
	char *dir;
	uv_loop_t loop;
	struct hd_daemon d;
	ht_keys anchor, other_anchor, b_keys;
	uint8_t *b_cert, *rogue_cert;
	size_t b_cert_len, rogue_cert_len;
};

static uint8_t *issue_now(const ht_keys *anchor, const ht_keys *k, const char *id, uint32_t roles,
			  size_t *len)
{
	uint64_t now_s = hd_now_ms() / 1000;
	ht_cert_info ci;
	uint8_t *c;
	tu_cert_info(&ci, k, id, 7, roles);
	ci.not_before = now_s - 86400;
	ci.not_after = now_s + 30 * 86400;
	assert_int_equal(ht_cert_issue(&ci, anchor, &c, len), HT_OK);
	return c;
}

static struct fx *fixture(uint32_t roles)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	struct hd_daemon *d = &fx->d;
	d->loop = &fx->loop;
	char text[1024], err[256];
	snprintf(text, sizeof(text),
		 "[identity]\nprovider_id = TERM-CO\nkey = k\ncertificate = c\n"
		 "[trust]\nanchor = a\n[state]\ndirectory = %s\n[store]\ncountry_code = 1\n"
		 "[peer CARRIER-B]\naddress = 127.0.0.1:9\n",
		 fx->dir);
	assert_int_equal(
		hd_config_parse("/x/h.conf", text, strlen(text), &d->cfg, err, sizeof(err)), 0);
	tu_anchor_keys(&fx->anchor, 1);
	tu_anchor_keys(&fx->other_anchor, 9);
	tu_provider_keys(&d->keys, 2);
	tu_provider_keys(&fx->b_keys, 3);
	d->cert = issue_now(&fx->anchor, &d->keys, "TERM-CO", roles, &d->cert_len);
	assert_int_equal(ht_cert_parse(d->cert, d->cert_len, &d->my_cert), HT_OK);
	fx->b_cert = issue_now(&fx->anchor, &fx->b_keys, "CARRIER-B", 0, &fx->b_cert_len);
	fx->rogue_cert =
		issue_now(&fx->other_anchor, &fx->b_keys, "CARRIER-B", 0, &fx->rogue_cert_len);
	assert_int_equal(ht_trust_new(&d->trust), HT_OK);
	assert_int_equal(ht_trust_add_anchor(d->trust, fx->anchor.sign_pk), HT_OK);
	char *cdr = tu_path(fx->dir, "cdr");
	hd_store_opts so = {.dir = cdr, .retention_days = 36500, .no_sync = true};
	assert_int_equal(hd_store_open(&d->store, &so), HT_OK);
	free(cdr);
	assert_int_equal(hd_audit_open(&d->audit, fx->dir, true), HT_OK);
	assert_int_equal(hd_trace_init(d), HT_OK);
	assert_int_equal(hd_initiator_init(d), HT_OK);

	/* Call 1 originated here by our own customer; call 2 came from CARRIER-X. */
	ht_cdr recs[2];
	memset(recs, 0, sizeof(recs));
	for (int i = 0; i < 2; i++) {
		recs[i].time_ms = CALL_T + 100 * (uint64_t)i;
		snprintf(recs[i].calling, sizeof(recs[i].calling), "1202555000%d", i + 1);
		snprintf(recs[i].called, sizeof(recs[i].called), "1303555000%d", i + 1);
	}
	strcpy(recs[0].customer_ref, "cust-1");
	strcpy(recs[1].upstream, "CARRIER-X");
	size_t ins, dup;
	assert_int_equal(hd_store_insert(d->store, recs, 2, &ins, &dup), HT_OK);
	return fx;
}

static void fixture_free(struct fx *fx)
{
	struct hd_daemon *d = &fx->d;
	hd_initiator_fini(d);
	hd_trace_fini(d);
	assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	hd_store_close(d->store);
	hd_audit_close(d->audit);
	ht_trust_free(d->trust);
	ht_cert_free(d->my_cert);
	free(d->cert);
	free(fx->b_cert);
	free(fx->rogue_cert);
	hd_config_free(&d->cfg);
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
}

static void run(struct fx *fx)
{
	assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
}

/* What hd_initiator_start's callback said. */
struct started {
	int calls, rc;
	uint8_t id[16];
	char why[256];
};

static void on_started(void *ud, int rc, const uint8_t id[16], const char *why)
{
	struct started *s = ud;
	s->calls++;
	s->rc = rc;
	memcpy(s->id, id, 16);
	snprintf(s->why, sizeof(s->why), "%s", why);
}

static int start_async(struct fx *fx, const char *calling, const char *called, const char *to,
		       struct started *s, char *why)
{
	ht_ctl_trace_start q;
	memset(&q, 0, sizeof(q));
	memset(s, 0, sizeof(*s));
	snprintf(q.calling, sizeof(q.calling), "%s", calling);
	snprintf(q.called, sizeof(q.called), "%s", called);
	snprintf(q.to, sizeof(q.to), "%s", to);
	snprintf(q.label, sizeof(q.label), "test");
	q.time_ms = CALL_T + 50;
	return hd_initiator_start(&fx->d, &q, on_started, s, why, 256);
}

/* Turns the loop until `*flag` is set. */
static void run_until(struct fx *fx, const int *flag)
{
	for (int i = 0; i < 100000 && !*flag; i++)
		uv_run(&fx->loop, UV_RUN_ONCE);
	assert_true(*flag);
}

/* A trace start as the control socket makes it: answered once stored and started. */
static int start(struct fx *fx, const char *calling, const char *called, const char *to,
		 uint8_t id[16], char *why)
{
	struct started s;
	int rc = start_async(fx, calling, called, to, &s, why);
	if (rc != HT_OK)
		return rc;
	assert_int_equal(s.calls, 0); /* never from within the call */
	run_until(fx, &s.calls);
	assert_int_equal(s.calls, 1);
	memcpy(id, s.id, 16);
	snprintf(why, 256, "%s", s.why);
	return s.rc;
}

static void on_synced(void *ud)
{
	(*(int *)ud)++;
}

/* Waits until what the initiator holds is committed, as the control socket does before a read. */
static void sync_all(struct fx *fx)
{
	int synced = 0;
	bool later;
	assert_int_equal(hd_initiator_sync(&fx->d, on_synced, &synced, &later), HT_OK);
	if (later)
		run_until(fx, &synced);
	assert_int_equal(synced, later ? 1 : 0);
}

/* Holds the thread pool's one thread (UV_THREADPOOL_SIZE=1) until released. */
struct blocker {
	uv_work_t w;
	uv_sem_t sem;
	int done;
};

static void block_work(uv_work_t *w)
{
	struct blocker *b = w->data;
	uv_sem_wait(&b->sem);
}

static void block_done(uv_work_t *w, int status)
{
	struct blocker *b = w->data;
	assert_int_equal(status, 0);
	b->done = 1;
}

static void pool_block(struct fx *fx, struct blocker *b)
{
	memset(b, 0, sizeof(*b));
	assert_int_equal(uv_sem_init(&b->sem, 0), 0);
	b->w.data = b;
	assert_int_equal(uv_queue_work(&fx->loop, &b->w, block_work, block_done), 0);
}

static void pool_release(struct fx *fx, struct blocker *b)
{
	uv_sem_post(&b->sem);
	run_until(fx, &b->done);
	uv_sem_destroy(&b->sem);
}

static void show(struct fx *fx, const uint8_t id[16], ht_ctl_trace *t)
{
	char why[256];
	assert_int_equal(hd_initiator_show(&fx->d, id, 0, t, why, sizeof(why)), HT_OK);
	assert_int_equal(t->n_answers, t->answers_total);
}

/* The whole evidence bundle of trace `id`, checked offline. */
static void export_verify(struct fx *fx, const uint8_t id[16], const char *calling,
			  size_t want_answers, bool want_origin)
{
	char why[256];
	ht_ctl_trace_export e;
	assert_int_equal(hd_initiator_export(&fx->d, id, 0, &e, why, sizeof(why)), HT_OK);
	assert_int_equal(e.offset, 0);
	assert_int_equal(e.len, e.total);
	assert_int_equal(e.answers, want_answers);
	uint8_t digest[32];
	crypto_generichash(digest, 32, e.data, e.len, NULL, 0);
	assert_memory_equal(digest, e.digest, 32);
	ht_bundle_report rep;
	int rc = ht_bundle_verify(e.data, e.len, fx->d.trust, &rep);
	if (rc != HT_OK)
		fail_msg("bundle does not verify: %s", rep.why);
	assert_int_equal(rep.n_nodes, want_answers);
	assert_int_equal(rep.origin_found, want_origin);
	assert_string_equal(rep.calling, calling); /* the opening */
	ht_bundle_report_free(&rep);

	/* The same octets every time; a piece from the middle; nothing past the end. */
	ht_ctl_trace_export e2;
	assert_int_equal(hd_initiator_export(&fx->d, id, e.total - 5, &e2, why, sizeof(why)),
			 HT_OK);
	assert_int_equal(e2.len, 5);
	assert_memory_equal(e2.data, e.data + e.total - 5, 5);
	assert_memory_equal(e2.digest, e.digest, 32);
	free(e2.data);
	assert_int_equal(hd_initiator_export(&fx->d, id, e.total + 1, &e2, why, sizeof(why)),
			 HT_E_INVAL);
	assert_non_null(strstr(why, "past the end"));
	free(e.data);
}

static void test_trace_to_origin(void **state)
{
	(void)state;
	struct fx *fx = fixture(HT_ROLE_INITIATOR);
	uint8_t id[16];
	char why[256];
	/* As an operator types them: national numbers, country code 1. */
	assert_int_equal(start(fx, "(202) 555-0001", "+1 303 555 0001", "", id, why), HT_OK);

	/* Stored and running before the engine says anything. */
	ht_ctl_trace t;
	show(fx, id, &t);
	assert_string_equal(t.status, HT_CTL_TRACE_RUNNING);
	assert_int_equal(t.answers_total, 0);
	assert_string_equal(t.initiator, "TERM-CO");
	assert_string_equal(t.calling, "12025550001");
	assert_string_equal(t.called, "13035550001");
	assert_int_equal(t.call_time_ms, CALL_T + 50);
	assert_int_equal(t.tolerance_ms, 5000); /* [trace] defaults */
	assert_int_equal(t.hop_limit, 16);
	assert_int_equal(t.expires_ms - t.created_ms, 60000);
	assert_string_equal(t.label, "test");
	assert_int_equal(t.finished_ms, 0);
	free(t.answers);

	run(fx);
	show(fx, id, &t);
	assert_string_equal(t.status, HT_CTL_TRACE_COMPLETE);
	assert_true(t.finished_ms >= t.started_ms);
	assert_int_equal(t.answers_total, 1);
	const ht_ctl_hop *h = &t.answers[0];
	assert_string_equal(h->verdict, "ok");
	assert_string_equal(h->provider_id, "TERM-CO");
	assert_string_equal(h->asked_by, "TERM-CO");
	assert_string_equal(h->status, "found");
	assert_int_equal(h->n_calls, 1);
	assert_true(h->calls[0].originated_here);
	assert_int_equal(h->calls[0].record_time_ms, CALL_T);
	assert_true(h->received_ms >= t.started_ms);
	free(t.answers);

	ht_ctl_trace_list l;
	assert_int_equal(hd_initiator_list(&fx->d, 10, &l, why, sizeof(why)), HT_OK);
	assert_int_equal(l.n, 1);
	assert_memory_equal(l.entries[0].trace_id, id, 16);
	assert_string_equal(l.entries[0].origin, "TERM-CO");
	assert_string_equal(l.entries[0].status, HT_CTL_TRACE_COMPLETE);
	assert_int_equal(l.entries[0].answers, 1);
	free(l.entries);

	export_verify(fx, id, "12025550001", 1, true);

	/* The finished trace's secret key is gone from the store. */
	hd_trace_rec r;
	bool found;
	assert_int_equal(hd_traces_get(hd_initiator_traces(&fx->d), id, &r, &found), HT_OK);
	assert_true(found);
	assert_false(r.has_sk);
	hd_trace_rec_clear(&r);

	/* Unknown traces. */
	uint8_t other[16] = {1};
	assert_int_equal(hd_initiator_show(&fx->d, other, 0, &t, why, sizeof(why)), HT_E_INVAL);
	assert_non_null(strstr(why, "no trace 01000000"));
	fixture_free(fx);
}

/* What a hop signs; sealed to `pk` (or to a fresh key: not for us). */
static uint8_t *hop_answer(const ht_answer_info *a, const ht_keys *k, const uint8_t *cert,
			   size_t cert_len, const uint8_t *pk, bool flip, size_t *len)
{
	uint8_t *env, *box;
	size_t env_len;
	assert_int_equal(ht_answer_sign(a, k, cert, cert_len, &env, &env_len), HT_OK);
	if (flip)
		env[env_len - 1] ^= 1; /* the signature's last octet */
	uint8_t other_pk[32], other_sk[32];
	crypto_box_keypair(other_pk, other_sk);
	assert_int_equal(ht_seal(env, env_len, pk ? pk : other_pk, NULL, &box, len), HT_OK);
	free(env);
	return box;
}

static void info_init(ht_answer_info *a, const uint8_t *request_id, const char *provider,
		      const char *asked_by, uint32_t hop, uint32_t status)
{
	memset(a, 0, sizeof(*a));
	memcpy(a->request_hash, request_id, HT_MSG_ID_LEN);
	snprintf(a->provider_id, sizeof(a->provider_id), "%s", provider);
	snprintf(a->asked_by, sizeof(a->asked_by), "%s", asked_by);
	a->hop = hop;
	a->status = status;
	a->answered_ms = hd_now_ms();
}

static void deliver(struct fx *fx, const uint8_t id[16], uint8_t *box, size_t len)
{
	hd_initiator_on_event(fx->d.initiator, id, HD_TRACE_EV_ANSWER, box, len);
	free(box);
}

static void test_relay_tampering_caught(void **state)
{
	(void)state;
	struct fx *fx = fixture(HT_ROLE_INITIATOR);
	struct hd_daemon *d = &fx->d;
	uint8_t id[16];
	char why[256];
	/* A call this carrier has no record of: its own answer is not_found. */
	assert_int_equal(start(fx, "12025550009", "13035550009", "", id, why), HT_OK);
	hd_trace_rec r;
	bool found;
	assert_int_equal(hd_traces_get(hd_initiator_traces(d), id, &r, &found), HT_OK);
	ht_request *req;
	assert_int_equal(ht_request_parse(r.request, r.request_len, &req), HT_OK);
	uint8_t rid[HT_MSG_ID_LEN], pk[32];
	memcpy(rid, ht_request_id(req), sizeof(rid));
	memcpy(pk, r.answer_pk, 32);
	ht_request_free(req);
	hd_trace_rec_clear(&r);

	/* Before the engine's own answer: a chain as relays would pass it on. */
	ht_answer_info a0, b1, x;
	size_t len;
	uint8_t *box;
	info_init(&a0, rid, "TERM-CO", "TERM-CO", 0, HT_ANSWER_FOUND);
	a0.n_calls = 1;
	strcpy(a0.calls[0].upstream, "CARRIER-B");
	a0.calls[0].record_time_ms = CALL_T + 7;
	box = hop_answer(&a0, &d->keys, d->cert, d->cert_len, pk, false, &len);
	deliver(fx, id, box, len);
	info_init(&b1, rid, "CARRIER-B", "TERM-CO", 1, HT_ANSWER_FOUND);
	b1.window_time_ms = CALL_T + 7;
	b1.n_calls = 1;
	b1.calls[0].originated_here = true;
	strcpy(b1.calls[0].customer_ref, "9f86d081884c7d65");
	uint8_t *b1_box = hop_answer(&b1, &fx->b_keys, fx->b_cert, fx->b_cert_len, pk, false, &len);
	size_t b1_len = len;
	deliver(fx, id, tu_dup(b1_box, b1_len), b1_len);
	/* 2: replayed. */
	deliver(fx, id, b1_box, b1_len);
	/* 3: altered (one bit of the signature). */
	x = b1;
	x.status = HT_ANSWER_NOT_FOUND;
	x.n_calls = 0;
	box = hop_answer(&x, &fx->b_keys, fx->b_cert, fx->b_cert_len, pk, true, &len);
	deliver(fx, id, box, len);
	/* 4: swapped in from another trace. */
	x = b1;
	memset(x.request_hash, 0x77, sizeof(x.request_hash));
	x.status = HT_ANSWER_NOT_FOUND;
	x.n_calls = 0;
	box = hop_answer(&x, &fx->b_keys, fx->b_cert, fx->b_cert_len, pk, false, &len);
	deliver(fx, id, box, len);
	/* 5: forged, with a certificate from an anchor we do not trust. */
	x = b1;
	x.status = HT_ANSWER_NOT_FOUND;
	x.n_calls = 0;
	box = hop_answer(&x, &fx->b_keys, fx->rogue_cert, fx->rogue_cert_len, pk, false, &len);
	deliver(fx, id, box, len);
	/* 6: not sealed to this trace. */
	box = hop_answer(&b1, &fx->b_keys, fx->b_cert, fx->b_cert_len, NULL, false, &len);
	deliver(fx, id, box, len);
	/* 7: signed properly but hanging nowhere: B never named CARRIER-C. */
	info_init(&x, rid, "CARRIER-B", "CARRIER-C", 2, HT_ANSWER_NOT_FOUND);
	box = hop_answer(&x, &fx->b_keys, fx->b_cert, fx->b_cert_len, pk, false, &len);
	deliver(fx, id, box, len);
	/* 8: signed an hour from now. */
	info_init(&x, rid, "CARRIER-B", "TERM-CO", 1, HT_ANSWER_REFUSED);
	x.reason = HT_REASON_POLICY_REFUSED;
	x.answered_ms += 3600 * 1000;
	box = hop_answer(&x, &fx->b_keys, fx->b_cert, fx->b_cert_len, pk, false, &len);
	deliver(fx, id, box, len);
	/* 9: garbage, sealed to us. */
	uint8_t junk[40];
	memset(junk, 0x42, sizeof(junk));
	assert_int_equal(ht_seal(junk, sizeof(junk), pk, NULL, &box, &len), HT_OK);
	deliver(fx, id, box, len);

	/* A read shows what is committed: the answers once a sync has written them. */
	ht_ctl_trace t;
	show(fx, id, &t);
	assert_int_equal(t.answers_total, 0);
	free(t.answers);
	sync_all(fx);
	show(fx, id, &t);
	assert_true(t.answers_total >= 10);
	assert_string_equal(t.answers[9].verdict, "malformed");
	free(t.answers);

	run(fx); /* the engine: TERM-CO not_found, then complete */
	show(fx, id, &t);
	assert_string_equal(t.status, HT_CTL_TRACE_COMPLETE);
	static const char *const want[] = {
		"ok",
		"ok",
		"duplicate",
		"bad_signature",
		"wrong_request",
		"unknown_anchor",
		"decrypt_failed",
		"unlinked",
		"bad_time",
		"malformed",
		"ok",
	};
	assert_int_equal(t.answers_total, 11);
	for (size_t i = 0; i < 11; i++)
		if (strcmp(t.answers[i].verdict, want[i]) != 0)
			fail_msg("answer %zu: verdict %s, expected %s", i, t.answers[i].verdict,
				 want[i]);
	/* Shown with what they claim, so the operator sees who is blamed. */
	assert_string_equal(t.answers[3].provider_id, "CARRIER-B");
	assert_string_equal(t.answers[6].provider_id, ""); /* unreadable */
	assert_string_equal(t.answers[10].provider_id, "TERM-CO");
	assert_string_equal(t.answers[10].status, "not_found");
	assert_string_equal(t.answers[1].calls[0].customer_ref, "9f86d081884c7d65");
	free(t.answers);

	ht_ctl_trace_list l;
	assert_int_equal(hd_initiator_list(d, 0, &l, why, sizeof(why)), HT_OK);
	assert_int_equal(l.n, 1);
	assert_string_equal(l.entries[0].origin, "CARRIER-B");
	assert_int_equal(l.entries[0].answers, 11);
	free(l.entries);

	/* Only the three good answers are evidence, and they verify. */
	ht_ctl_trace_export e;
	assert_int_equal(hd_initiator_export(d, id, 0, &e, why, sizeof(why)), HT_OK);
	assert_int_equal(e.answers, 3);
	ht_bundle_report rep;
	int rc = ht_bundle_verify(e.data, e.len, d->trust, &rep);
	if (rc != HT_OK)
		fail_msg("bundle does not verify: %s", rep.why);
	assert_true(rep.origin_found);
	ht_bundle_report_free(&rep);
	free(e.data);
	fixture_free(fx);
}

static void test_stop_interrupts(void **state)
{
	(void)state;
	struct fx *fx = fixture(HT_ROLE_INITIATOR);
	uint8_t id[16];
	char why[256];
	assert_int_equal(start(fx, "12025550009", "13035550009", "", id, why), HT_OK);
	hd_trace_rec r;
	bool found;
	assert_int_equal(hd_traces_get(hd_initiator_traces(&fx->d), id, &r, &found), HT_OK);
	ht_request *req;
	assert_int_equal(ht_request_parse(r.request, r.request_len, &req), HT_OK);
	ht_answer_info a0;
	size_t len;
	uint8_t *box;
	info_init(&a0, ht_request_id(req), "TERM-CO", "TERM-CO", 0, HT_ANSWER_NOT_FOUND);
	ht_request_free(req);
	box = hop_answer(&a0, &fx->d.keys, fx->d.cert, fx->d.cert_len, r.answer_pk, false, &len);
	deliver(fx, id, box, len);
	hd_trace_rec_clear(&r);

	/* The daemon stops before the trace ends: it is interrupted, its answer kept. */
	char *dir = strdup(fx->dir);
	hd_initiator_fini(&fx->d);
	hd_trace_fini(&fx->d);
	run(fx);
	hd_traces *t;
	size_t interrupted;
	assert_int_equal(hd_traces_open(&t, dir, hd_now_ms(), &interrupted), HT_OK);
	assert_int_equal(interrupted, 0); /* already marked when it stopped */
	assert_int_equal(hd_traces_get(t, id, &r, &found), HT_OK);
	assert_true(found);
	assert_int_equal(r.status, HD_TS_INTERRUPTED);
	assert_int_equal(r.n_answers, 1);
	assert_false(r.has_sk);
	hd_trace_rec_clear(&r);
	hd_traces_close(t);
	free(dir);
	fixture_free(fx); /* fini twice is harmless */
}

/* The trace is committed before the engine, and so any peer, sees the request. */
static void test_stored_before_sent(void **state)
{
	(void)state;
	struct fx *fx = fixture(HT_ROLE_INITIATOR);
	hd_traces *db = hd_initiator_traces(&fx->d);
	struct blocker b;
	struct started s;
	char why[256];
	pool_block(fx, &b);
	assert_int_equal(start_async(fx, "(202) 555-0001", "13035550001", "", &s, why), HT_OK);
	/* The commit cannot run: the loop goes on, the request stays here. */
	for (int i = 0; i < 10; i++)
		uv_run(&fx->loop, UV_RUN_NOWAIT);
	assert_int_equal(s.calls, 0);
	assert_int_equal(hd_trace_active(&fx->d), 0);
	struct listed l = {0};
	bool truncated;
	assert_int_equal(hd_traces_list(db, 10, keep_listed, &l, &truncated), HT_OK);
	assert_int_equal(l.n, 0);

	/* Committed, then started: on disk (with its key) when the start is answered. */
	pool_release(fx, &b);
	run_until(fx, &s.calls);
	assert_int_equal(s.rc, HT_OK);
	assert_int_equal(hd_trace_active(&fx->d), 1);
	hd_trace_rec r;
	bool found;
	assert_int_equal(hd_traces_get(db, s.id, &r, &found), HT_OK);
	assert_true(found);
	assert_int_equal(r.status, HD_TS_RUNNING);
	assert_true(r.has_sk);
	assert_true(r.request_len > 0);
	assert_true(r.started_ms <= r.created_ms); /* the commit is part of the trace's time */
	hd_trace_rec_clear(&r);

	/* It runs to its end; finished_ms is when it completed, stored with its answer. */
	run(fx);
	assert_int_equal(s.calls, 1);
	assert_int_equal(hd_traces_get(db, s.id, &r, &found), HT_OK);
	assert_int_equal(r.status, HD_TS_COMPLETE);
	assert_int_equal(r.n_answers, 1);
	assert_true(r.finished_ms >= r.started_ms);
	assert_false(r.has_sk);
	hd_trace_rec_clear(&r);
	fixture_free(fx);
}

/* A stop while a batch is in flight: it is waited for, then the rest is written. */
static void test_stop_with_commit_in_flight(void **state)
{
	(void)state;
	struct fx *fx = fixture(HT_ROLE_INITIATOR);
	uint8_t id[16], pk[32];
	char why[256];
	assert_int_equal(start(fx, "12025550009", "13035550009", "", id, why), HT_OK);
	hd_trace_rec r;
	bool found;
	assert_int_equal(hd_traces_get(hd_initiator_traces(&fx->d), id, &r, &found), HT_OK);
	memcpy(pk, r.answer_pk, 32);
	hd_trace_rec_clear(&r);

	/* Two answers go into a batch that the held pool keeps in flight; a third waits. */
	struct blocker b;
	pool_block(fx, &b);
	uint8_t junk[20], *box; /* opens, but is no answer: "malformed" */
	size_t len;
	memset(junk, 0x42, sizeof(junk));
	for (int i = 0; i < 2; i++) {
		assert_int_equal(ht_seal(junk, sizeof(junk), pk, NULL, &box, &len), HT_OK);
		deliver(fx, id, box, len);
	}
	int synced = 0;
	bool later;
	assert_int_equal(hd_initiator_sync(&fx->d, on_synced, &synced, &later), HT_OK);
	assert_true(later);
	assert_int_equal(ht_seal(junk, sizeof(junk), pk, NULL, &box, &len), HT_OK);
	deliver(fx, id, box, len);
	/* A second trace, its record not written yet when the daemon stops. */
	struct started s2;
	assert_int_equal(start_async(fx, "12025550001", "13035550001", "", &s2, why), HT_OK);

	char *dir = strdup(fx->dir);
	hd_initiator_fini(&fx->d);
	hd_trace_fini(&fx->d);
	assert_null(fx->d.initiator);
	bool later2 = true;
	assert_int_equal(hd_initiator_sync(&fx->d, on_synced, &synced, &later2), HT_E_INVAL);
	assert_false(later2);
	pool_release(fx, &b);
	run(fx);
	assert_int_equal(synced, 1);
	assert_int_equal(s2.calls, 1); /* told, once, that it did not start */
	assert_int_not_equal(s2.rc, HT_OK);
	assert_non_null(strstr(s2.why, "stopping"));

	hd_traces *t;
	size_t interrupted;
	assert_int_equal(hd_traces_open(&t, dir, hd_now_ms(), &interrupted), HT_OK);
	assert_int_equal(interrupted, 0); /* all marked when it stopped */
	assert_int_equal(hd_traces_get(t, id, &r, &found), HT_OK);
	assert_true(found);
	assert_int_equal(r.status, HD_TS_INTERRUPTED);
	assert_int_equal(r.n_answers, 3);
	assert_false(r.has_sk);
	assert_true(r.finished_ms >= r.started_ms);
	hd_trace_rec_clear(&r);
	struct seen_answers sa;
	memset(&sa, 0, sizeof(sa));
	assert_int_equal(hd_traces_answers(t, id, 0, keep_answer, &sa), HT_OK);
	assert_int_equal(sa.n, 3);
	for (size_t i = 0; i < 3; i++)
		assert_string_equal(sa.a[i].verdict, "malformed");
	/* The one never started is stored as interrupted, with no key. */
	assert_int_equal(hd_traces_get(t, s2.id, &r, &found), HT_OK);
	assert_true(found);
	assert_int_equal(r.status, HD_TS_INTERRUPTED);
	assert_int_equal(r.n_answers, 0);
	assert_false(r.has_sk);
	hd_trace_rec_clear(&r);
	hd_traces_close(t);
	free(dir);
	fixture_free(fx);
}

static void test_start_refusals(void **state)
{
	(void)state;
	struct fx *fx = fixture(HT_ROLE_INITIATOR);
	uint8_t id[16];
	char why[256];
	assert_int_equal(start(fx, "555-0001", "13035550001", "", id, why), HT_E_INVAL);
	assert_non_null(strstr(why, "calling number '555-0001'"));
	assert_int_equal(start(fx, "12025550001", "1303555000x", "", id, why), HT_E_INVAL);
	assert_non_null(strstr(why, "called number"));
	assert_int_equal(start(fx, "12025550001", "13035550001", "CARRIER-Q", id, why),
			 HT_E_NOT_A_PEER);
	assert_non_null(strstr(why, "CARRIER-Q"));
	assert_int_equal(start(fx, "12025550001", "13035550001", "TERM-CO", id, why),
			 HT_E_NOT_A_PEER);
	ht_ctl_trace_list l;
	assert_int_equal(hd_initiator_list(&fx->d, 0, &l, why, sizeof(why)), HT_OK);
	assert_int_equal(l.n, 0); /* nothing was stored */
	free(l.entries);
	fixture_free(fx);

	/* Only a certified initiator starts traces. */
	fx = fixture(0);
	assert_int_equal(start(fx, "12025550001", "13035550001", "", id, why), HT_E_MISSING_ROLE);
	assert_non_null(strstr(why, "initiator role"));
	fixture_free(fx);
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_store_survives_restart),
		cmocka_unit_test(test_store_answer_limit),
		cmocka_unit_test(test_trace_to_origin),
		cmocka_unit_test(test_relay_tampering_caught),
		cmocka_unit_test(test_stop_interrupts),
		cmocka_unit_test(test_stored_before_sent),
		cmocka_unit_test(test_stop_with_commit_in_flight),
		cmocka_unit_test(test_start_refusals),
	};
	/* One pool thread, so that a test can hold it (struct blocker). */
	setenv("UV_THREADPOOL_SIZE", "1", 1);
	if (ht_init() != HT_OK)
		return 1;
	return cmocka_run_group_tests(tests, NULL, NULL);
}
