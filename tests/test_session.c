/*
 * Two session cores talking to each other in memory: the XX handshake with
 * certificates, then transport messages; and every refusal the handshake
 * must make (wrong anchor, expired, revoked, Noise key not the
 * certificate's, unconfigured provider, another provider than dialled),
 * plus framing and preamble checks.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "hoptrace/session.h"
#include "testutil.h"

#define NOW (TU_NOT_BEFORE + 100)

struct side {
	ht_keys keys;
	uint8_t *cert;
	size_t cert_len;
	ht_trust *trust;
	ht_session *s;
};

static int allow_all(void *ud, const char *id)
{
	(void)ud;
	(void)id;
	return HT_OK;
}

static int allow_none(void *ud, const char *id)
{
	(void)ud;
	(void)id;
	return HT_E_NOT_A_PEER;
}

/* A side with its own keys, certified by `anchor` as `id`. */
static void side_init(struct side *x, uint8_t seed, const char *id, const ht_keys *anchor,
		      const ht_keys *trusted)
{
	memset(x, 0, sizeof(*x));
	tu_provider_keys(&x->keys, seed);
	ht_cert_info ci;
	tu_cert_info(&ci, &x->keys, id, seed, 0);
	x->cert = tu_issue(&ci, anchor, &x->cert_len);
	assert_int_equal(ht_trust_new(&x->trust), HT_OK);
	assert_int_equal(ht_trust_add_anchor(x->trust, trusted->sign_pk), HT_OK);
}

static void side_free(struct side *x)
{
	ht_session_free(x->s);
	ht_trust_free(x->trust);
	free(x->cert);
}

static void start(struct side *x, bool initiator, const char *expect, ht_peer_allowed_fn allowed)
{
	ht_session_config c = {
		.initiator = initiator,
		.keys = &x->keys,
		.cert = x->cert,
		.cert_len = x->cert_len,
		.trust = x->trust,
		.now = NOW,
		.expected_peer = expect,
		.allowed = allowed,
	};
	assert_int_equal(ht_session_new(&x->s, &c), HT_OK);
}

/*
 * Runs the handshake, passing frames through a frame reader. Returns the
 * first error and which side saw it (0 initiator, 1 responder), or HT_OK.
 */
static int handshake(struct side *i, struct side *r, int *who)
{
	struct side *from = i, *to = r;
	for (int step = 0; step < 6; step++) {
		uint8_t *frame;
		size_t flen;
		assert_int_equal(ht_session_pending(from->s, &frame, &flen), HT_OK);
		if (frame) {
			ht_frame_reader rd = {0};
			size_t used;
			const uint8_t *msg;
			size_t mlen;
			assert_int_equal(ht_frame_reader_push(&rd, frame, flen, &used, &msg, &mlen),
					 1);
			assert_int_equal(used, flen);
			ht_session_event ev;
			const uint8_t *pt;
			size_t plen;
			int rc = ht_session_recv(to->s, msg, mlen, &ev, &pt, &plen);
			free(frame);
			if (rc != HT_OK) {
				*who = to == i ? 0 : 1;
				return rc;
			}
		}
		struct side *t = from;
		from = to;
		to = t;
		if (ht_session_established(i->s) && ht_session_established(r->s))
			return HT_OK;
	}
	fail_msg("handshake did not finish");
	return HT_E_INVAL;
}

static ht_keys anchor, other_anchor;

static int setup(void **state)
{
	(void)state;
	tu_anchor_keys(&anchor, 0x10);
	tu_anchor_keys(&other_anchor, 0x20);
	return 0;
}

static void test_handshake_and_messages(void **state)
{
	(void)state;
	struct side a, b;
	side_init(&a, 1, "CARRIER-A", &anchor, &anchor);
	side_init(&b, 2, "CARRIER-B", &anchor, &anchor);
	start(&a, true, "CARRIER-B", NULL);
	start(&b, false, NULL, allow_all);
	int who = -1;
	assert_int_equal(handshake(&a, &b, &who), HT_OK);
	assert_string_equal(ht_session_peer(a.s)->provider_id, "CARRIER-B");
	assert_string_equal(ht_session_peer(b.s)->provider_id, "CARRIER-A");
	assert_memory_equal(ht_session_handshake_hash(a.s), ht_session_handshake_hash(b.s), 64);

	/* Both directions, several messages, through the frame reader byte by byte. */
	for (int k = 0; k < 4; k++) {
		struct side *from = k % 2 ? &b : &a, *to = k % 2 ? &a : &b;
		char text[32];
		snprintf(text, sizeof(text), "message %d", k);
		uint8_t *frame;
		size_t flen;
		assert_int_equal(ht_session_send(from->s, (const uint8_t *)text, strlen(text),
						 &frame, &flen),
				 HT_OK);
		ht_frame_reader rd = {0};
		const uint8_t *msg = NULL;
		size_t mlen = 0, used;
		int got = 0;
		for (size_t off = 0; off < flen; off++) {
			got = ht_frame_reader_push(&rd, frame + off, 1, &used, &msg, &mlen);
			assert_int_equal(used, 1);
			assert_int_equal(got, off + 1 == flen ? 1 : 0);
		}
		ht_session_event ev;
		const uint8_t *pt;
		size_t plen;
		assert_int_equal(ht_session_recv(to->s, msg, mlen, &ev, &pt, &plen), HT_OK);
		assert_int_equal(ev, HT_SESSION_MESSAGE);
		assert_int_equal(plen, strlen(text));
		assert_memory_equal(pt, text, plen);
		/* Replaying the same frame must fail: the nonce moved on. */
		assert_int_not_equal(ht_session_recv(to->s, msg, mlen, &ev, &pt, &plen), HT_OK);
		assert_false(ht_session_established(to->s));
		free(frame);
		/* Restart a fresh pair for the next direction after the replay kill. */
		side_free(&a);
		side_free(&b);
		side_init(&a, 1, "CARRIER-A", &anchor, &anchor);
		side_init(&b, 2, "CARRIER-B", &anchor, &anchor);
		start(&a, true, "CARRIER-B", NULL);
		start(&b, false, NULL, allow_all);
		assert_int_equal(handshake(&a, &b, &who), HT_OK);
	}
	side_free(&a);
	side_free(&b);
}

/* Runs one refusal scenario and checks the error and the side that refused. */
static void refused(struct side *a, struct side *b, const char *expect, ht_peer_allowed_fn allow,
		    int want_rc, int want_who)
{
	start(a, true, expect, NULL);
	start(b, false, NULL, allow);
	int who = -1;
	assert_int_equal(handshake(a, b, &who), want_rc);
	assert_int_equal(who, want_who);
	side_free(a);
	side_free(b);
}

static void test_refuse_other_anchor(void **state)
{
	(void)state;
	struct side a, b;
	side_init(&a, 1, "CARRIER-A", &other_anchor, &anchor); /* A's cert: wrong anchor */
	side_init(&b, 2, "CARRIER-B", &anchor, &anchor);
	refused(&a, &b, "CARRIER-B", allow_all, HT_E_UNKNOWN_ANCHOR, 1);
	side_init(&a, 1, "CARRIER-A", &anchor, &anchor);
	side_init(&b, 2, "CARRIER-B", &other_anchor, &anchor); /* B's cert: wrong anchor */
	refused(&a, &b, "CARRIER-B", allow_all, HT_E_UNKNOWN_ANCHOR, 0);
}

static void test_refuse_expired_and_revoked(void **state)
{
	(void)state;
	struct side a, b;
	side_init(&a, 1, "CARRIER-A", &anchor, &anchor);
	side_init(&b, 2, "CARRIER-B", &anchor, &anchor);
	free(a.cert);
	ht_cert_info ci;
	tu_cert_info(&ci, &a.keys, "CARRIER-A", 1, 0);
	ci.not_after = NOW; /* expired at NOW (exclusive) */
	a.cert = tu_issue(&ci, &anchor, &a.cert_len);
	refused(&a, &b, "CARRIER-B", allow_all, HT_E_EXPIRED, 1);

	side_init(&a, 1, "CARRIER-A", &anchor, &anchor);
	side_init(&b, 2, "CARRIER-B", &anchor, &anchor);
	const uint64_t serial = 1; /* A's serial (side_init uses the seed) */
	assert_int_equal(ht_trust_add_crl(b.trust, tu_crl_parsed(&anchor, 1, &serial, 1)), HT_OK);
	refused(&a, &b, "CARRIER-B", allow_all, HT_E_REVOKED, 1);
}

static void test_refuse_key_mismatch(void **state)
{
	(void)state;
	struct side a, b;
	side_init(&a, 1, "CARRIER-A", &anchor, &anchor);
	side_init(&b, 2, "CARRIER-B", &anchor, &anchor);
	/* A presents its valid certificate but holds another Noise key. */
	ht_keys other;
	tu_provider_keys(&other, 9);
	memcpy(a.keys.noise_sk, other.noise_sk, 32);
	memcpy(a.keys.noise_pk, other.noise_pk, 32);
	refused(&a, &b, "CARRIER-B", allow_all, HT_E_KEY_MISMATCH, 1);
}

static void test_refuse_unconfigured_and_wrong_peer(void **state)
{
	(void)state;
	struct side a, b;
	side_init(&a, 1, "CARRIER-A", &anchor, &anchor);
	side_init(&b, 2, "CARRIER-B", &anchor, &anchor);
	refused(&a, &b, "CARRIER-B", allow_none, HT_E_NOT_A_PEER, 1);
	side_init(&a, 1, "CARRIER-A", &anchor, &anchor);
	side_init(&b, 2, "CARRIER-B", &anchor, &anchor);
	refused(&a, &b, "CARRIER-Z", allow_all, HT_E_WRONG_PEER, 0);
}

static void test_preamble(void **state)
{
	(void)state;
	uint8_t p[HT_PREAMBLE_LEN];
	uint16_t v = 0;
	ht_preamble(p);
	assert_int_equal(ht_preamble_check(p, &v), HT_OK);
	assert_int_equal(v, HT_PROTOCOL_VERSION);
	p[7] = 2;
	assert_int_equal(ht_preamble_check(p, &v), HT_E_UNSUPPORTED_VERSION);
	assert_int_equal(v, 2);
	p[0] = 'X';
	assert_int_equal(ht_preamble_check(p, &v), HT_E_MALFORMED);
}

static void test_frame_reader(void **state)
{
	(void)state;
	ht_frame_reader rd = {0};
	const uint8_t zero[2] = {0, 0};
	size_t used, mlen;
	const uint8_t *msg;
	assert_int_equal(ht_frame_reader_push(&rd, zero, 2, &used, &msg, &mlen), HT_E_MALFORMED);
	/* Two frames in one chunk come out one per call. */
	ht_frame_reader r2 = {0};
	const uint8_t two[] = {0, 1, 'x', 0, 2, 'y', 'z'};
	assert_int_equal(ht_frame_reader_push(&r2, two, sizeof(two), &used, &msg, &mlen), 1);
	assert_int_equal(used, 3);
	assert_int_equal(mlen, 1);
	assert_int_equal(msg[0], 'x');
	assert_int_equal(ht_frame_reader_push(&r2, two + 3, 4, &used, &msg, &mlen), 1);
	assert_int_equal(mlen, 2);
	assert_memory_equal(msg, "yz", 2);
}

static void test_garbage_handshake(void **state)
{
	(void)state;
	struct side b;
	side_init(&b, 2, "CARRIER-B", &anchor, &anchor);
	start(&b, false, NULL, allow_all);
	uint8_t junk[48];
	memset(junk, 0x5a, sizeof(junk));
	ht_session_event ev;
	const uint8_t *pt;
	size_t plen;
	/* 48 octets as message 1: an ephemeral key and a 16-octet payload: refused. */
	assert_int_not_equal(ht_session_recv(b.s, junk, sizeof(junk), &ev, &pt, &plen), HT_OK);
	/* Dead afterwards. */
	assert_int_not_equal(ht_session_recv(b.s, junk, 32, &ev, &pt, &plen), HT_OK);
	side_free(&b);
}

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_handshake_and_messages),
		cmocka_unit_test(test_refuse_other_anchor),
		cmocka_unit_test(test_refuse_expired_and_revoked),
		cmocka_unit_test(test_refuse_key_mismatch),
		cmocka_unit_test(test_refuse_unconfigured_and_wrong_peer),
		cmocka_unit_test(test_preamble),
		cmocka_unit_test(test_frame_reader),
		cmocka_unit_test(test_garbage_handshake),
	};
	return cmocka_run_group_tests(tests, setup, NULL);
}
