/*
 * The traceback engine (daemon/trace.c) in one process, with a real event
 * loop, store, audit log, keys and certificates, and no network: its parts
 * (token bucket, seen table, budgets), and traces started locally the way
 * the initiator module starts them: hop 0 here (found at the origin, found
 * from upstreams that are not participants or not reachable, not found),
 * sent through a consortium's peer, duplicates, cancelling, stopping.
 * Peer-to-peer traces run between real daemons in the integration tests.
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
#include "testutil.h"
#include "trace.h"

/* ---- parts ---- */

static void test_bucket(void **state)
{
	(void)state;
	struct hd_bucket b = {0};
	/* Starts full: a burst of 3 passes, the 4th does not. */
	for (int i = 0; i < 3; i++)
		assert_true(hd_bucket_take(&b, 2, 3, 1000));
	assert_false(hd_bucket_take(&b, 2, 3, 1000));
	/* 2 a second: one token every 500 ms. */
	assert_false(hd_bucket_take(&b, 2, 3, 1499));
	assert_true(hd_bucket_take(&b, 2, 3, 1500));
	assert_false(hd_bucket_take(&b, 2, 3, 1500));
	/* A long pause refills to the burst, never beyond. */
	for (int i = 0; i < 3; i++)
		assert_true(hd_bucket_take(&b, 2, 3, 100000));
	assert_false(hd_bucket_take(&b, 2, 3, 100000));
	/* A clock that steps back takes nothing away and adds nothing. */
	assert_false(hd_bucket_take(&b, 2, 3, 50));
	/* Huge rates and gaps do not overflow. */
	struct hd_bucket h = {0};
	assert_true(hd_bucket_take(&h, 1000000, 1000000, 0));
	for (int i = 0; i < 10; i++)
		assert_true(hd_bucket_take(&h, 1000000, 1000000, UINT64_MAX / 2));
	/* A burst lowered by a reload applies at once. */
	struct hd_bucket r = {0};
	assert_true(hd_bucket_take(&r, 1, 100, 0));
	assert_true(hd_bucket_take(&r, 1, 1, 0));
	assert_false(hd_bucket_take(&r, 1, 1, 0));
}

static void test_seen(void **state)
{
	(void)state;
	hd_seen *s;
	assert_int_equal(hd_seen_new(&s, 4), HT_OK);
	uint8_t id[5][16];
	for (int i = 0; i < 5; i++)
		memset(id[i], 'a' + i, 16);
	for (int i = 0; i < 4; i++)
		assert_int_equal(hd_seen_add(s, id[i], 100 * (uint64_t)(i + 1), 10), HD_SEEN_NEW);
	assert_int_equal(hd_seen_count(s), 4);
	/* Kept until its expiry, inclusive. */
	assert_int_equal(hd_seen_add(s, id[0], 999, 100), HD_SEEN_DUPLICATE);
	assert_int_equal(hd_seen_add(s, id[3], 999, 20), HD_SEEN_DUPLICATE);
	/* Full, nothing expired: refused, not recorded. */
	assert_int_equal(hd_seen_add(s, id[4], 500, 50), HD_SEEN_FULL);
	assert_int_equal(hd_seen_add(s, id[4], 500, 100), HD_SEEN_FULL);
	assert_int_equal(hd_seen_count(s), 4);
	/* Once one expired, it makes room. */
	assert_int_equal(hd_seen_add(s, id[4], 500, 101), HD_SEEN_NEW);
	assert_int_equal(hd_seen_count(s), 4);
	assert_int_equal(hd_seen_add(s, id[4], 500, 102), HD_SEEN_DUPLICATE);
	/* An expired ID is new again. */
	assert_int_equal(hd_seen_add(s, id[0], 900, 150), HD_SEEN_FULL); /* full, none expired */
	assert_int_equal(hd_seen_add(s, id[1], 900, 201), HD_SEEN_NEW);  /* its own slot, renewed */
	assert_int_equal(hd_seen_add(s, id[1], 900, 202), HD_SEEN_DUPLICATE);
	hd_seen_free(s);

	/* Many IDs: each found again, none confused with another. */
	assert_int_equal(hd_seen_new(&s, 5000), HT_OK);
	uint8_t x[16] = {0};
	for (uint32_t i = 0; i < 5000; i++) {
		memcpy(x, &i, sizeof(i));
		assert_int_equal(hd_seen_add(s, x, 1000, 0), HD_SEEN_NEW);
	}
	for (uint32_t i = 0; i < 5000; i++) {
		memcpy(x, &i, sizeof(i));
		assert_int_equal(hd_seen_add(s, x, 1000, 0), HD_SEEN_DUPLICATE);
	}
	hd_seen_free(s);
}

static void test_budgets(void **state)
{
	(void)state;
	/* No budget, or more than the request has left: until the expiry. */
	assert_int_equal(hd_trace_deadline(1000, 0, 61000), 61000);
	assert_int_equal(hd_trace_deadline(1000, 90000, 61000), 61000);
	assert_int_equal(hd_trace_deadline(1000, 500, 61000), 1500);
	assert_int_equal(hd_trace_deadline(70000, 500, 61000), 70000);
	/* 7/8 of what is left, less 50 ms; under 100 ms is a dead end. */
	assert_int_equal(hd_trace_child_budget(5000 + 1000, 5000), 825);
	assert_int_equal(hd_trace_child_budget(5000 + 172, 5000), 100);
	assert_int_equal(hd_trace_child_budget(5000 + 171, 5000), 0);
	assert_int_equal(hd_trace_child_budget(5000, 5000), 0);
	assert_int_equal(hd_trace_child_budget(4000, 5000), 0);
	assert_int_equal(hd_trace_child_budget(UINT64_MAX, 0), UINT32_MAX);
}

/* ---- the engine ---- */

#define CALL_T 1767225600000ULL

struct event {
	enum hd_trace_event ev;
	ht_answer_info info;
};

struct fx {
	char *dir;
	uv_loop_t loop;
	struct hd_daemon d;
	ht_keys anchor;
	uint8_t answer_pk[32], answer_sk[32];
	struct event ev[16];
	size_t n_ev;
	uint8_t trace_id[16];
	uint8_t request_id[HT_MSG_ID_LEN];
	int cancel_on_first; /* cancel from within the first callback */
};

static struct fx *fixture(const char *disclose)
{
	struct fx *fx = calloc(1, sizeof(*fx));
	assert_non_null(fx);
	fx->dir = tu_mkdtemp();
	assert_int_equal(uv_loop_init(&fx->loop), 0);
	struct hd_daemon *d = &fx->d;
	d->loop = &fx->loop;
	char text[512], err[256];
	snprintf(text, sizeof(text),
		 "[identity]\nprovider_id = TERM-CO\nkey = k\ncertificate = c\n"
		 "[trust]\nanchor = a\n[policy]\ndisclose_customer = %s\n"
		 "[peer CARRIER-B]\naddress = 127.0.0.1:9\n",
		 disclose);
	assert_int_equal(
		hd_config_parse("/x/h.conf", text, strlen(text), &d->cfg, err, sizeof(err)), 0);
	tu_anchor_keys(&fx->anchor, 1);
	tu_provider_keys(&d->keys, 2);
	/* Certificates valid around the real clock: the engine checks at now. */
	uint64_t now_s = hd_now_ms() / 1000;
	ht_cert_info ci;
	tu_cert_info(&ci, &d->keys, "TERM-CO", 7, HT_ROLE_INITIATOR);
	ci.not_before = now_s - 86400;
	ci.not_after = now_s + 30 * 86400;
	assert_int_equal(ht_cert_issue(&ci, &fx->anchor, &d->cert, &d->cert_len), HT_OK);
	assert_int_equal(ht_trust_new(&d->trust), HT_OK);
	assert_int_equal(ht_trust_add_anchor(d->trust, fx->anchor.sign_pk), HT_OK);
	char *cdr = tu_path(fx->dir, "cdr");
	hd_store_opts so = {.dir = cdr, .retention_days = 36500, .no_sync = true};
	assert_int_equal(hd_store_open(&d->store, &so), HT_OK);
	free(cdr);
	assert_int_equal(hd_audit_open(&d->audit, fx->dir, true), HT_OK);
	assert_int_equal(hd_trace_init(d), HT_OK);
	crypto_box_keypair(fx->answer_pk, fx->answer_sk);

	/* Calls terminated here (downstream ""), and one handed on to CARRIER-B. */
	ht_cdr recs[6];
	memset(recs, 0, sizeof(recs));
	const struct {
		const char *n, *up, *down, *ref;
		uint64_t dt;
	} r[] = {
		{"1", "", "", "cust-1", 0},               /* our own customer's */
		{"2", "CARRIER-X", "", "", 200},          /* from a non-participant */
		{"3", "CARRIER-B", "", "", 300},          /* from a peer not connected */
		{"4", "CARRIER-X", "", "", 400},          /* a fork: two upstreams */
		{"4", "CARRIER-B", "", "", 450},          /* (route advance) */
		{"5", "CARRIER-X", "CARRIER-B", "", 500}, /* handed on, not ended here */
	};
	for (size_t i = 0; i < 6; i++) {
		recs[i].time_ms = CALL_T + r[i].dt;
		snprintf(recs[i].calling, sizeof(recs[i].calling), "1202555000%s", r[i].n);
		snprintf(recs[i].called, sizeof(recs[i].called), "1303555000%s", r[i].n);
		strcpy(recs[i].upstream, r[i].up);
		strcpy(recs[i].downstream, r[i].down);
		strcpy(recs[i].customer_ref, r[i].ref);
		recs[i].attestation = 'B';
	}
	size_t ins, dup;
	assert_int_equal(hd_store_insert(d->store, recs, 6, &ins, &dup), HT_OK);
	assert_int_equal(ins, 6);
	return fx;
}

static void fixture_free(struct fx *fx)
{
	struct hd_daemon *d = &fx->d;
	hd_trace_fini(d);
	assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
	assert_int_equal(uv_loop_close(&fx->loop), 0);
	hd_store_close(d->store);
	hd_audit_close(d->audit);
	ht_trust_free(d->trust);
	free(d->cert);
	hd_config_free(&d->cfg);
	tu_rmtree(fx->dir);
	free(fx->dir);
	free(fx);
}

/* Builds a request for the call ending in digit `n`, signed by the daemon. */
static uint8_t *request(struct fx *fx, const char *n, uint32_t hop_limit, size_t *len)
{
	char calling[16], called[16];
	snprintf(calling, sizeof(calling), "1202555000%s", n);
	snprintf(called, sizeof(called), "1303555000%s", n);
	uint64_t now = hd_now_ms();
	ht_request_params p = {
		.calling = calling,
		.called = called,
		.created_ms = now,
		.expires_ms = now + 60000,
		.call_time_ms = CALL_T + 100,
		.tolerance_ms = 5000,
		.hop_limit = hop_limit,
		.hint_bits = 12,
		.answer_pk = fx->answer_pk,
	};
	uint8_t *out;
	assert_int_equal(ht_request_build(&p, &fx->d.keys, fx->d.cert, fx->d.cert_len, &out, len),
			 HT_OK);
	ht_request *r;
	assert_int_equal(ht_request_parse(out, *len, &r), HT_OK);
	memcpy(fx->trace_id, ht_request_get(r)->trace_id, 16);
	memcpy(fx->request_id, ht_request_id(r), HT_MSG_ID_LEN);
	ht_request_free(r);
	return out;
}

/* The initiator's side: opens and verifies each answer, records the events. */
static void on_event(void *ud, const uint8_t trace_id[16], enum hd_trace_event ev,
		     const uint8_t *sealed, size_t len)
{
	struct fx *fx = ud;
	assert_memory_equal(trace_id, fx->trace_id, 16);
	assert_true(fx->n_ev < 16);
	struct event *e = &fx->ev[fx->n_ev++];
	memset(e, 0, sizeof(*e));
	e->ev = ev;
	if (ev == HD_TRACE_EV_COMPLETE) {
		assert_null(sealed);
		return;
	}
	uint8_t *env;
	size_t env_len;
	assert_int_equal(ht_unseal(sealed, len, fx->answer_pk, fx->answer_sk, &env, &env_len),
			 HT_OK);
	ht_answer *a;
	assert_int_equal(ht_answer_parse(env, env_len, &a), HT_OK);
	e->info = *ht_answer_get(a);
	/* Signed by the daemon, bound to the request it ran. */
	assert_int_equal(ht_answer_verify(a, fx->d.trust, fx->request_id), HT_OK);
	ht_answer_free(a);
	free(env);
	if (fx->cancel_on_first) {
		fx->cancel_on_first = 0;
		hd_trace_local_cancel(&fx->d, fx->trace_id);
	}
}

struct audit_seen {
	hd_audit_entry e[8];
	size_t n;
};

static void keep_audit(void *ud, const hd_audit_entry *e)
{
	struct audit_seen *s = ud;
	if (s->n < 8)
		s->e[s->n] = *e;
	s->n++;
}

static void audit_of(struct fx *fx, struct audit_seen *s)
{
	memset(s, 0, sizeof(*s));
	bool trunc;
	hd_audit_filter f = {.trace_id = fx->trace_id};
	assert_int_equal(hd_audit_list(fx->d.audit, &f, keep_audit, s, &trunc), HT_OK);
}

static void run(struct fx *fx)
{
	assert_int_equal(uv_run(&fx->loop, UV_RUN_DEFAULT), 0);
}

static void test_local_found_origin(void **state)
{
	(void)state;
	const char *policies[] = {"opaque", "reference", "none"};
	char opaque[HT_CUSTOMER_REF_MAX + 1] = "";
	for (int k = 0; k < 3; k++) {
		struct fx *fx = fixture(policies[k]);
		size_t len;
		uint8_t *req = request(fx, "1", 16, &len);
		assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_OK);
		assert_int_equal(fx->n_ev, 0); /* never called back from within */
		assert_int_equal(hd_trace_active(&fx->d), 1);
		run(fx);
		assert_int_equal(fx->n_ev, 2);
		assert_int_equal(fx->ev[0].ev, HD_TRACE_EV_ANSWER);
		const ht_answer_info *a = &fx->ev[0].info;
		assert_int_equal(a->status, HT_ANSWER_FOUND);
		assert_string_equal(a->provider_id, "TERM-CO");
		assert_string_equal(a->asked_by, "TERM-CO"); /* hop 0: the initiator itself */
		assert_int_equal(a->hop, 0);
		assert_int_equal(a->window_time_ms, CALL_T + 100);
		assert_int_equal(a->n_calls, 1);
		assert_true(a->calls[0].originated_here);
		assert_int_equal(a->calls[0].record_time_ms, CALL_T);
		assert_int_equal(a->calls[0].attestation, 2);
		if (k == 0) {
			/* 16 octets of keyed hash, in hex: stable, not the reference. */
			assert_int_equal(strlen(a->calls[0].customer_ref), 32);
			strcpy(opaque, a->calls[0].customer_ref);
		} else if (k == 1) {
			assert_string_equal(a->calls[0].customer_ref, "cust-1");
		} else {
			assert_string_equal(a->calls[0].customer_ref, "");
		}
		assert_int_equal(fx->ev[1].ev, HD_TRACE_EV_COMPLETE);
		assert_int_equal(hd_trace_active(&fx->d), 0);
		/* Audited: who asked, what was said. */
		struct audit_seen s;
		audit_of(fx, &s);
		assert_int_equal(s.n, 1);
		assert_string_equal(s.e[0].asking_peer, "TERM-CO");
		assert_string_equal(s.e[0].initiator, "TERM-CO");
		assert_string_equal(s.e[0].status, "found");
		char want[80];
		snprintf(want, sizeof(want), k == 2 ? "origin" : "customer %s",
			 a->calls[0].customer_ref);
		assert_string_equal(s.e[0].disclosed, want);
		/* The same trace again is a duplicate; the request itself is unchanged. */
		assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx),
				 HT_E_EXISTS);
		free(req);
		fixture_free(fx);
	}
	/* The opaque reference is the same key's each time (same signing key). */
	struct fx *fx = fixture("opaque");
	size_t len;
	uint8_t *req = request(fx, "1", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_OK);
	run(fx);
	assert_string_equal(fx->ev[0].info.calls[0].customer_ref, opaque);
	free(req);
	fixture_free(fx);
}

static void test_local_dead_ends(void **state)
{
	(void)state;
	struct fx *fx = fixture("opaque");
	size_t len;
	/* Call 4 came twice: from a non-participant and from an unconnected peer. */
	uint8_t *req = request(fx, "4", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_OK);
	run(fx);
	assert_int_equal(fx->n_ev, 4);
	const ht_answer_info *a = &fx->ev[0].info;
	assert_int_equal(a->status, HT_ANSWER_FOUND);
	assert_int_equal(a->n_calls, 2);
	assert_string_equal(a->calls[0].upstream, "CARRIER-X");
	assert_string_equal(a->calls[1].upstream, "CARRIER-B");
	/* Each upstream named in our own signed dead end, in order; then complete. */
	const ht_answer_info *x = &fx->ev[1].info, *b = &fx->ev[2].info;
	assert_int_equal(x->status, HT_ANSWER_DEAD_END);
	assert_string_equal(x->upstream, "CARRIER-X");
	assert_int_equal(x->reason, HT_REASON_UPSTREAM_NOT_PARTICIPANT);
	assert_int_equal(x->hop, 0);
	assert_string_equal(x->asked_by, "TERM-CO");
	assert_int_equal(b->status, HT_ANSWER_DEAD_END);
	assert_string_equal(b->upstream, "CARRIER-B");
	assert_int_equal(b->reason, HT_REASON_UPSTREAM_UNREACHABLE);
	assert_int_equal(fx->ev[3].ev, HD_TRACE_EV_COMPLETE);
	struct audit_seen s;
	audit_of(fx, &s);
	assert_int_equal(s.n, 3);
	assert_string_equal(s.e[0].status, "found");
	assert_string_equal(s.e[0].disclosed, "upstream CARRIER-X; upstream CARRIER-B");
	assert_string_equal(s.e[1].status, "dead_end:upstream_not_participant");
	assert_string_equal(s.e[1].disclosed, "upstream CARRIER-X");
	assert_string_equal(s.e[2].status, "dead_end:upstream_unreachable");
	free(req);

	/* Hop limit 1: hop 0 answers, nothing may go further. */
	fx->n_ev = 0;
	req = request(fx, "2", 1, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_OK);
	run(fx);
	assert_int_equal(fx->n_ev, 3);
	assert_int_equal(fx->ev[0].info.status, HT_ANSWER_FOUND);
	/* Not a participant comes first: the chain ends there whatever the limit. */
	assert_int_equal(fx->ev[1].info.reason, HT_REASON_UPSTREAM_NOT_PARTICIPANT);
	free(req);
	fx->n_ev = 0;
	req = request(fx, "3", 1, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_OK);
	run(fx);
	assert_int_equal(fx->n_ev, 3);
	assert_int_equal(fx->ev[1].info.reason, HT_REASON_UPSTREAM_UNREACHABLE);
	free(req);
	fixture_free(fx);
}

static void test_local_not_found(void **state)
{
	(void)state;
	struct fx *fx = fixture("opaque");
	size_t len;
	/* Call 5 was handed on to CARRIER-B, not ended here: hop 0 knows nothing of it (P1). */
	uint8_t *req = request(fx, "5", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_OK);
	run(fx);
	assert_int_equal(fx->n_ev, 2);
	assert_int_equal(fx->ev[0].info.status, HT_ANSWER_NOT_FOUND);
	assert_int_equal(fx->ev[0].info.n_calls, 0);
	assert_int_equal(fx->ev[1].ev, HD_TRACE_EV_COMPLETE);
	struct audit_seen s;
	audit_of(fx, &s);
	assert_int_equal(s.n, 1);
	assert_string_equal(s.e[0].status, "not_found");
	assert_string_equal(s.e[0].disclosed, "");
	free(req);
	fixture_free(fx);
}

static void test_local_via_peer(void **state)
{
	(void)state;
	struct fx *fx = fixture("opaque");
	size_t len;
	/* A configured peer without a session: our own dead end for it. */
	uint8_t *req = request(fx, "1", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, "CARRIER-B", on_event, fx), HT_OK);
	assert_int_equal(fx->n_ev, 0);
	run(fx);
	assert_int_equal(fx->n_ev, 2);
	const ht_answer_info *a = &fx->ev[0].info;
	assert_int_equal(a->status, HT_ANSWER_DEAD_END);
	assert_int_equal(a->reason, HT_REASON_UPSTREAM_UNREACHABLE);
	assert_string_equal(a->upstream, "CARRIER-B");
	assert_int_equal(a->hop, 0);
	assert_int_equal(fx->ev[1].ev, HD_TRACE_EV_COMPLETE);
	free(req);
	/* Not a peer at all. */
	fx->n_ev = 0;
	req = request(fx, "1", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, "NOBODY", on_event, fx), HT_OK);
	run(fx);
	assert_int_equal(fx->n_ev, 2);
	assert_int_equal(fx->ev[0].info.reason, HT_REASON_UPSTREAM_NOT_PARTICIPANT);
	assert_string_equal(fx->ev[0].info.upstream, "NOBODY");
	free(req);
	fixture_free(fx);
}

static void test_local_refused_requests(void **state)
{
	(void)state;
	struct fx *fx = fixture("opaque");
	uint8_t junk[40] = {1, 2, 3};
	assert_int_not_equal(hd_trace_local_start(&fx->d, junk, sizeof(junk), NULL, on_event, fx),
			     HT_OK);
	size_t len;
	uint8_t *req = request(fx, "1", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, NULL, fx), HT_E_INVAL);
	/* One flipped bit in the signature: refused, nothing started. */
	req[len - 1] ^= 1;
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx),
			 HT_E_BAD_SIGNATURE);
	free(req);
	/* A certificate without the initiator role cannot start traces. */
	uint64_t now_s = hd_now_ms() / 1000;
	ht_cert_info ci;
	tu_cert_info(&ci, &fx->d.keys, "TERM-CO", 8, 0);
	ci.not_before = now_s - 86400;
	ci.not_after = now_s + 86400;
	free(fx->d.cert);
	assert_int_equal(ht_cert_issue(&ci, &fx->anchor, &fx->d.cert, &fx->d.cert_len), HT_OK);
	req = request(fx, "1", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx),
			 HT_E_MISSING_ROLE);
	free(req);
	assert_int_equal(hd_trace_active(&fx->d), 0);
	run(fx);
	assert_int_equal(fx->n_ev, 0);
	fixture_free(fx);
}

/*
 * The engine keeps initiator certificates parsed and checked between
 * requests: a reload that revokes the certificate, or no longer trusts its
 * anchor, still refuses the very next request.
 */
static void test_local_after_reload(void **state)
{
	(void)state;
	struct fx *fx = fixture("opaque");
	size_t len;
	uint8_t *req = request(fx, "1", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_OK);
	free(req);
	run(fx);
	assert_int_equal(fx->n_ev, 2); /* found, complete */
	assert_int_equal(fx->ev[0].info.status, HT_ANSWER_FOUND);

	/* As on SIGHUP: a new trust store, swapped in; its list revokes our serial (7). */
	ht_trust *nt;
	assert_int_equal(ht_trust_new(&nt), HT_OK);
	assert_int_equal(ht_trust_add_anchor(nt, fx->anchor.sign_pk), HT_OK);
	uint64_t ser = 7;
	assert_int_equal(ht_trust_add_crl(nt, tu_crl_parsed(&fx->anchor, 1, &ser, 1)), HT_OK);
	ht_trust_swap(fx->d.trust, nt);
	ht_trust_free(nt);
	req = request(fx, "1", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_E_REVOKED);
	free(req);

	/* Another anchor only: unknown anchor. */
	ht_keys other;
	tu_anchor_keys(&other, 9);
	assert_int_equal(ht_trust_new(&nt), HT_OK);
	assert_int_equal(ht_trust_add_anchor(nt, other.sign_pk), HT_OK);
	ht_trust_swap(fx->d.trust, nt);
	ht_trust_free(nt);
	req = request(fx, "1", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx),
			 HT_E_UNKNOWN_ANCHOR);
	free(req);

	/* Trusted again, unrevoked: answered again. */
	assert_int_equal(ht_trust_add_anchor(fx->d.trust, fx->anchor.sign_pk), HT_OK);
	fx->n_ev = 0;
	req = request(fx, "1", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_OK);
	free(req);
	run(fx);
	assert_int_equal(fx->n_ev, 2);
	assert_int_equal(fx->ev[0].info.status, HT_ANSWER_FOUND);
	fixture_free(fx);
}

static void test_cancel_and_stop(void **state)
{
	(void)state;
	struct fx *fx = fixture("opaque");
	size_t len;
	/* Cancelled before anything came back: no callback at all. */
	uint8_t *req = request(fx, "4", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_OK);
	hd_trace_local_cancel(&fx->d, fx->trace_id);
	assert_int_equal(hd_trace_active(&fx->d), 0);
	run(fx);
	assert_int_equal(fx->n_ev, 0);
	free(req);
	/* Cancelled from within its first callback: nothing more. */
	req = request(fx, "4", 16, &len);
	fx->cancel_on_first = 1;
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_OK);
	run(fx);
	assert_int_equal(fx->n_ev, 1);
	free(req);
	/* Stopping with traces in flight: no callbacks, all freed once the loop ends. */
	fx->n_ev = 0;
	req = request(fx, "4", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_OK);
	free(req);
	req = request(fx, "1", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, "CARRIER-B", on_event, fx), HT_OK);
	free(req);
	hd_trace_fini(&fx->d);
	assert_null(fx->d.trace);
	/* After stopping: refused, and cancel is harmless. */
	req = request(fx, "1", 16, &len);
	assert_int_equal(hd_trace_local_start(&fx->d, req, len, NULL, on_event, fx), HT_E_INVAL);
	hd_trace_local_cancel(&fx->d, fx->trace_id);
	free(req);
	run(fx);
	assert_int_equal(fx->n_ev, 0);
	fixture_free(fx);
}

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_bucket),
		cmocka_unit_test(test_seen),
		cmocka_unit_test(test_budgets),
		cmocka_unit_test(test_local_found_origin),
		cmocka_unit_test(test_local_dead_ends),
		cmocka_unit_test(test_local_not_found),
		cmocka_unit_test(test_local_via_peer),
		cmocka_unit_test(test_local_refused_requests),
		cmocka_unit_test(test_local_after_reload),
		cmocka_unit_test(test_cancel_and_stop),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
