/*
 * Peer sessions (hoptrace/session.h): the input is the byte stream a peer
 * sends after its preamble. A frame reader (ht_frame_reader_push, fed in two
 * chunks) cuts it into frames; each goes to ht_session_recv, and after each
 * the session may answer (ht_session_pending). With fixed keys, certificates
 * from the fixed anchor, a revocation list and fixed ephemeral keys, the
 * stream is read by:
 *
 *   1. a fresh responder: it must answer a message 1 it takes with message 2
 *      (the genuine one when it got the genuine message 1), and be
 *      established exactly when it takes message 3;
 *   2. an initiator that has sent message 1: it must answer a message 2 it
 *      takes with message 3 and be established.
 *
 * Any error must leave the session dead for good. An established session
 * must have authenticated the one genuine peer certificate (signatures cannot
 * be forged), carry transport messages, send, and re-verify its peer.
 *
 * The seeds are the frames of fixed runs: the genuine handshake with
 * transport messages, handshakes by peers that must be refused (revoked,
 * expired, untrusted, key mismatch, not a peer, wrong peer) and damaged
 * variants. This file built with -DFUZZ_SESSION_SEEDS (the fuzz_session_seeds
 * target) writes them and checks each reaches its intended outcome.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <stdlib.h>
#include <string.h>

#include "hoptrace/cert.h"
#include "hoptrace/crl.h"
#include "hoptrace/peermsg.h"
#include "hoptrace/session.h"
#include "hoptrace/trust.h"

#define NOT_BEFORE   1700000000u
#define NOT_AFTER    2000000000u
#define NOW          1800000000u
#define INITIATOR_ID "fuzz-initiator"
#define RESPONDER_ID "fuzz-responder"

static void pattern(uint8_t out[32], uint8_t start)
{
	for (size_t i = 0; i < 32; i++)
		out[i] = (uint8_t)(start + i);
}

static void provider_keys(ht_keys *k, uint8_t sign_start, uint8_t noise_start)
{
	uint8_t seed[HT_SIGN_SEED_LEN], noise[HT_NOISE_KEY_LEN];
	pattern(seed, sign_start);
	pattern(noise, noise_start);
	if (ht_keys_from_seeds(k, HT_KEYS_PROVIDER, seed, noise) != HT_OK)
		fuzz_fail("fuzz_session: ht_keys_from_seeds failed");
}

/* A certificate for `subject`'s keys, signed by `signer`. */
static uint8_t *issue(const ht_keys *subject, const char *id, uint64_t serial, uint64_t not_before,
		      uint64_t not_after, uint32_t roles, const ht_keys *signer, size_t *len)
{
	ht_cert_info info;
	memset(&info, 0, sizeof(info));
	strcpy(info.provider_id, id);
	memcpy(info.sign_key, subject->sign_pk, HT_SIGN_PK_LEN);
	memcpy(info.noise_key, subject->noise_pk, HT_NOISE_KEY_LEN);
	info.not_before = not_before;
	info.not_after = not_after;
	info.serial = serial;
	info.roles = roles;
	uint8_t *out;
	if (ht_cert_issue(&info, signer, &out, len) != HT_OK)
		fuzz_fail("fuzz_session: ht_cert_issue failed");
	return out;
}

/* The fixture, built once: identities, trust store, the genuine handshake. */
static struct {
	bool ready;
	ht_keys anchor, init_keys, resp_keys;
	uint8_t *init_cert, *resp_cert;
	size_t init_cert_len, resp_cert_len;
	ht_trust *trust;
	uint8_t init_e[32], resp_e[32];
	uint8_t *m[3]; /* the genuine handshake's frames, length prefix included */
	size_t m_len[3];
} fx;

/* The responder's configured peers: only the initiator. */
static int allowed(void *ud, const char *provider_id)
{
	(void)ud;
	return strcmp(provider_id, INITIATOR_ID) == 0 ? HT_OK : HT_E_NOT_A_PEER;
}

static ht_session *new_session(bool initiator, const ht_keys *keys, const uint8_t *cert,
			       size_t cert_len)
{
	ht_session_config cfg = {
		.initiator = initiator,
		.keys = keys,
		.cert = cert,
		.cert_len = cert_len,
		.trust = fx.trust,
		.now = NOW,
		.expected_peer = RESPONDER_ID,
		.allowed = allowed,
		.ephemeral_sk = initiator ? fx.init_e : fx.resp_e,
	};
	ht_session *s;
	if (ht_session_new(&s, &cfg) != HT_OK)
		fuzz_fail("fuzz_session: ht_session_new failed");
	return s;
}

static ht_session *harness_initiator(void)
{
	return new_session(true, &fx.init_keys, fx.init_cert, fx.init_cert_len);
}

static ht_session *harness_responder(void)
{
	return new_session(false, &fx.resp_keys, fx.resp_cert, fx.resp_cert_len);
}

/* The next frame `s` must send; fails unless there is one. */
static uint8_t *must_pending(ht_session *s, size_t *len)
{
	uint8_t *frame;
	if (ht_session_pending(s, &frame, len) != HT_OK || !frame)
		fuzz_fail("fuzz_session: no frame to send in a fixed run");
	return frame;
}

/* Delivers a whole frame to `s`; fails unless it is taken. Returns the event. */
static ht_session_event must_recv(ht_session *s, const uint8_t *frame, size_t len)
{
	ht_session_event ev;
	const uint8_t *pt;
	size_t plen;
	if (len < 2 || ht_session_recv(s, frame + 2, len - 2, &ev, &pt, &plen) != HT_OK)
		fuzz_fail("fuzz_session: a fixed run's frame was refused");
	return ev;
}

static void setup(void)
{
	if (fx.ready)
		return;
	fuzz_init();
	fuzz_anchor_keys(&fx.anchor);
	fuzz_provider_keys(&fx.init_keys);
	provider_keys(&fx.resp_keys, 0x60, 0x80);
	fx.init_cert = issue(&fx.init_keys, INITIATOR_ID, 1, NOT_BEFORE, NOT_AFTER,
			     HT_ROLE_INITIATOR, &fx.anchor, &fx.init_cert_len);
	fx.resp_cert = issue(&fx.resp_keys, RESPONDER_ID, 2, NOT_BEFORE, NOT_AFTER, 0, &fx.anchor,
			     &fx.resp_cert_len);
	pattern(fx.init_e, 0x77);
	pattern(fx.resp_e, 0xaa);

	const uint64_t revoked[] = {FUZZ_REVOKED_SERIAL_1, FUZZ_REVOKED_SERIAL_2};
	uint8_t *buf;
	size_t len;
	ht_crl *crl;
	if (ht_trust_new(&fx.trust) != HT_OK ||
	    ht_trust_add_anchor(fx.trust, fx.anchor.sign_pk) != HT_OK ||
	    ht_crl_issue(&fx.anchor, 1, NOT_BEFORE, revoked, 2, &buf, &len) != HT_OK)
		fuzz_fail("fuzz_session: trust store setup failed");
	if (ht_crl_parse(buf, len, &crl) != HT_OK || ht_trust_add_crl(fx.trust, crl) != HT_OK)
		fuzz_fail("fuzz_session: revocation list setup failed");
	free(buf);

	/* The genuine handshake. */
	ht_session *i = harness_initiator(), *r = harness_responder();
	fx.m[0] = must_pending(i, &fx.m_len[0]);
	if (must_recv(r, fx.m[0], fx.m_len[0]) != HT_SESSION_NONE)
		fuzz_fail("fuzz_session: fixed run: event after message 1");
	fx.m[1] = must_pending(r, &fx.m_len[1]);
	if (must_recv(i, fx.m[1], fx.m_len[1]) != HT_SESSION_NONE)
		fuzz_fail("fuzz_session: fixed run: event after message 2");
	fx.m[2] = must_pending(i, &fx.m_len[2]);
	if (must_recv(r, fx.m[2], fx.m_len[2]) != HT_SESSION_ESTABLISHED ||
	    !ht_session_established(i) || !ht_session_established(r))
		fuzz_fail("fuzz_session: fixed run not established");
	ht_session_free(i);
	ht_session_free(r);
	/* All of `fx` lives for the whole process; LeakSanitizer sees it reachable. */
	fx.ready = true;
}

/* What reading the input did to one session; the seed writer checks it. */
struct outcome {
	int rc;              /* the first error, or HT_OK */
	bool established;    /* at the end */
	size_t transport_in; /* transport messages taken */
};

struct side {
	ht_session *s;
	bool initiator;
	size_t taken; /* frames taken */
	bool took_genuine_first;
	struct outcome out;
};

static ht_frame_reader reader;
static struct outcome last_outcome[2]; /* [0] responder, [1] initiator */

static bool is_frame(const uint8_t *frame, size_t flen, int genuine)
{
	return flen == fx.m_len[genuine] && memcmp(frame, fx.m[genuine], flen) == 0;
}

static bool is_message(const uint8_t *msg, size_t len, int genuine)
{
	return len + 2 == fx.m_len[genuine] && memcmp(msg, fx.m[genuine] + 2, len) == 0;
}

/* Every error ht_session_recv and ht_session_pending document, or may pass on. */
static bool is_session_error(int rc)
{
	switch (rc) {
	case HT_E_NOMEM:
	case HT_E_MALFORMED:
	case HT_E_TOO_LARGE:
	case HT_E_DECRYPT:
	case HT_E_WEAK_KEY:
	case HT_E_WRONG_KIND:
	case HT_E_BAD_PROVIDER_ID:
	case HT_E_UNSUPPORTED_CRITICAL:
	case HT_E_UNKNOWN_ANCHOR:
	case HT_E_BAD_SIGNATURE:
	case HT_E_NOT_YET_VALID:
	case HT_E_EXPIRED:
	case HT_E_REVOKED:
	case HT_E_KEY_MISMATCH:
	case HT_E_NOT_A_PEER:
	case HT_E_WRONG_PEER:
		return true;
	default:
		return false;
	}
}

/* A dead session refuses everything from now on. */
static void check_dead(ht_session *s)
{
	uint8_t *frame;
	size_t flen;
	ht_session_event ev;
	const uint8_t *pt;
	size_t plen;
	FUZZ_CHECK(!ht_session_established(s));
	FUZZ_CHECK(ht_session_pending(s, &frame, &flen) == HT_E_INVAL && frame == NULL);
	FUZZ_CHECK(ht_session_recv(s, fx.m[1] + 2, fx.m_len[1] - 2, &ev, &pt, &plen) == HT_E_INVAL);
	FUZZ_CHECK(ev == HT_SESSION_NONE);
	FUZZ_CHECK(ht_session_send(s, (const uint8_t *)"x", 1, &frame, &flen) == HT_E_INVAL);
}

/* Only the genuine peer authenticates; the session then works both ways. */
static void check_established(const struct side *x)
{
	const ht_keys *peer_keys = x->initiator ? &fx.resp_keys : &fx.init_keys;
	const ht_cert_info *peer = ht_session_peer(x->s);
	FUZZ_CHECK(peer != NULL);
	FUZZ_CHECK(strcmp(peer->provider_id, x->initiator ? RESPONDER_ID : INITIATOR_ID) == 0);
	FUZZ_CHECK(memcmp(peer->sign_key, peer_keys->sign_pk, HT_SIGN_PK_LEN) == 0);
	FUZZ_CHECK(memcmp(peer->noise_key, peer_keys->noise_pk, HT_NOISE_KEY_LEN) == 0);
	FUZZ_CHECK(ht_session_handshake_hash(x->s) != NULL);
	FUZZ_CHECK(ht_session_recheck(x->s, fx.trust, NOW) == HT_OK);
	FUZZ_CHECK(ht_session_recheck(x->s, fx.trust, NOT_AFTER) == HT_E_EXPIRED);

	ht_pmsg ping = {.type = HT_PMSG_PING, .nonce = 1};
	uint8_t *payload, *frame;
	size_t plen, flen;
	FUZZ_CHECK(ht_pmsg_encode(&ping, &payload, &plen) == HT_OK);
	int rc = ht_session_send(x->s, payload, plen, &frame, &flen);
	free(payload);
	FUZZ_CHECK(rc == HT_OK || rc == HT_E_NOMEM);
	if (rc == HT_OK) {
		FUZZ_CHECK(flen == 2 + plen + 16 && (size_t)(frame[0] << 8 | frame[1]) == flen - 2);
		free(frame);
	}
}

/* A decrypted transport payload is a PeerMessage, or bytes that do not parse. */
static void check_payload(const uint8_t *pt, size_t len)
{
	ht_pmsg m;
	int rc = ht_pmsg_decode(pt, len, &m);
	FUZZ_CHECK(rc == HT_OK || rc == HT_E_MALFORMED);
}

/* Gives one frame's Noise message to the session. Returns false once it is dead. */
static bool deliver(struct side *x, const uint8_t *msg, size_t len)
{
	bool was_established = ht_session_established(x->s);
	ht_session_event ev;
	const uint8_t *pt = NULL;
	size_t plen = 0;
	int rc = ht_session_recv(x->s, msg, len, &ev, &pt, &plen);
	if (rc != HT_OK) {
		FUZZ_CHECK(is_session_error(rc));
		FUZZ_CHECK(ev == HT_SESSION_NONE);
		/* Message 1 is not authenticated: only its form can be wrong. */
		FUZZ_CHECK(x->initiator || x->taken > 0 || rc == HT_E_MALFORMED);
		x->out.rc = rc;
		check_dead(x->s);
		return false;
	}
	x->taken++;
	if (was_established) {
		FUZZ_CHECK(ev == HT_SESSION_MESSAGE);
		FUZZ_CHECK(pt != NULL && len >= 16 && plen == len - 16);
		check_payload(pt, plen);
		x->out.transport_in++;
		return true;
	}
	/* The responder is established by message 3; the initiator by sending it. */
	bool now_established = ht_session_established(x->s);
	FUZZ_CHECK(now_established == (!x->initiator && x->taken == 2));
	FUZZ_CHECK(ev == (now_established ? HT_SESSION_ESTABLISHED : HT_SESSION_NONE));
	if (x->taken == 1)
		x->took_genuine_first = is_message(msg, len, x->initiator ? 1 : 0);

	uint8_t *frame;
	size_t flen;
	rc = ht_session_pending(x->s, &frame, &flen);
	if (rc != HT_OK) {
		/* Only the responder's DH with a small-order ephemeral can fail here. */
		FUZZ_CHECK(frame == NULL && !x->initiator && x->taken == 1);
		FUZZ_CHECK(rc == HT_E_WEAK_KEY || rc == HT_E_NOMEM);
		x->out.rc = rc;
		check_dead(x->s);
		return false;
	}
	if (now_established) {
		FUZZ_CHECK(frame == NULL);
		check_established(x);
		return true;
	}
	/* Message 2 after message 1, message 3 after message 2. */
	FUZZ_CHECK(frame != NULL && x->taken == 1);
	FUZZ_CHECK(flen > 2 && (size_t)(frame[0] << 8 | frame[1]) == flen - 2);
	if (x->took_genuine_first)
		FUZZ_CHECK(is_frame(frame, flen, x->initiator ? 2 : 1));
	free(frame);
	if (x->initiator) {
		FUZZ_CHECK(ht_session_established(x->s));
		check_established(x);
	} else {
		FUZZ_CHECK(!ht_session_established(x->s));
	}
	return true;
}

/* Feeds one chunk of the stream. Returns false once the stream or session is dead. */
static bool feed(struct side *x, const uint8_t *p, size_t n)
{
	while (n > 0) {
		size_t used = 0, mlen = 0;
		const uint8_t *msg = NULL;
		int rc = ht_frame_reader_push(&reader, p, n, &used, &msg, &mlen);
		FUZZ_CHECK(used > 0 && used <= n);
		p += used;
		n -= used;
		if (rc == HT_E_MALFORMED) {
			/* A zero-length frame: the connection is closed. */
			x->out.rc = rc;
			return false;
		}
		FUZZ_CHECK(rc == 0 || rc == 1);
		if (rc == 0) {
			FUZZ_CHECK(n == 0);
			return true;
		}
		FUZZ_CHECK(msg != NULL && mlen >= 1 && mlen <= HT_FRAME_MAX);
		if (!deliver(x, msg, mlen))
			return false;
	}
	return true;
}

static struct outcome read_stream(ht_session *s, bool initiator, const uint8_t *data, size_t size)
{
	struct side x = {.s = s, .initiator = initiator};
	/* Where the stream is cut in two depends on its last octet. */
	size_t split = size ? (size / 2 + data[size - 1]) % (size + 1) : 0;
	reader.have = 0;
	if (feed(&x, data, split))
		feed(&x, data + split, size - split);
	/* A session error was checked to kill the session; a zero-length frame does not. */
	x.out.established = ht_session_established(s);
	ht_session_free(s);
	return x.out;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	setup();

	ht_session *r = harness_responder();
	uint8_t *frame;
	size_t flen;
	FUZZ_CHECK(ht_session_pending(r, &frame, &flen) == HT_OK && frame == NULL);
	last_outcome[0] = read_stream(r, false, data, size);

	/* Message 1 depends only on the fixed ephemeral key. */
	ht_session *i = harness_initiator();
	FUZZ_CHECK(ht_session_pending(i, &frame, &flen) == HT_OK && frame != NULL);
	FUZZ_CHECK(is_frame(frame, flen, 0));
	free(frame);
	last_outcome[1] = read_stream(i, true, data, size);
	return 0;
}

#ifdef FUZZ_SESSION_SEEDS
/*
 * The seed writer: `fuzz_session_seeds fuzz/corpus/fuzz_session` from the
 * repository root. Deterministic; overwrites its own files only.
 */
#include <stdio.h>

static const char *outdir;
static int nwritten;

/*
 * Writes a seed, replays it, and checks what the session at `path` (0
 * responder, 1 initiator) made of it.
 */
static void put(const char *name, const uint8_t *data, size_t len, int path, int rc,
		bool established, size_t transport_in)
{
	char fn[4096];
	snprintf(fn, sizeof(fn), "%s/%s", outdir, name);
	FILE *f = fopen(fn, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
		perror(fn);
		exit(1);
	}
	nwritten++;
	uint8_t *copy = malloc(len ? len : 1);
	if (!copy)
		fuzz_fail("fuzz_session_seeds: out of memory");
	memcpy(copy, data, len);
	LLVMFuzzerTestOneInput(copy, len);
	free(copy);
	const struct outcome *o = &last_outcome[path];
	printf("%-40s %s: %s%s, %zu transport messages\n", name, path ? "initiator" : "responder",
	       ht_errname(o->rc), o->established ? ", established" : "", o->transport_in);
	if (o->rc != rc || o->established != established || o->transport_in != transport_in) {
		fprintf(stderr, "fuzz_session_seeds: %s: not the intended outcome\n", name);
		exit(1);
	}
}

/* Concatenates frames into a stream. */
struct stream {
	uint8_t b[8192];
	size_t len;
};

static void add(struct stream *st, const uint8_t *p, size_t n)
{
	if (st->len + n > sizeof(st->b))
		fuzz_fail("fuzz_session_seeds: stream too long");
	memcpy(st->b + st->len, p, n);
	st->len += n;
}

static uint8_t *send_pmsg(ht_session *s, const ht_pmsg *m, size_t *flen)
{
	uint8_t *payload, *frame;
	size_t plen;
	if (ht_pmsg_encode(m, &payload, &plen) != HT_OK ||
	    ht_session_send(s, payload, plen, &frame, flen) != HT_OK)
		fuzz_fail("fuzz_session_seeds: send failed");
	free(payload);
	return frame;
}

static uint8_t *send_raw(ht_session *s, const char *payload, size_t len, size_t *flen)
{
	uint8_t *frame;
	if (ht_session_send(s, (const uint8_t *)payload, len, &frame, flen) != HT_OK)
		fuzz_fail("fuzz_session_seeds: send failed");
	return frame;
}

/*
 * An initiator with `keys` and `cert` runs the handshake with the harness's
 * responder, up to message 3: its messages 1 and 3 are the stream.
 */
static void bad_initiator(const char *name, const ht_keys *keys, const uint8_t *cert,
			  size_t cert_len, int rc)
{
	ht_session *i = new_session(true, keys, cert, cert_len), *r = harness_responder();
	struct stream st = {.len = 0};
	size_t n;
	uint8_t *m1 = must_pending(i, &n);
	add(&st, m1, n);
	must_recv(r, m1, n);
	uint8_t *m2 = must_pending(r, &n);
	must_recv(i, m2, n);
	uint8_t *m3 = must_pending(i, &n);
	add(&st, m3, n);
	put(name, st.b, st.len, 0, rc, false, 0);
	free(m1);
	free(m2);
	free(m3);
	ht_session_free(i);
	ht_session_free(r);
}

/* A responder with `keys` and `cert` answers the genuine message 1: its message 2. */
static void bad_responder(const char *name, const ht_keys *keys, const uint8_t *cert,
			  size_t cert_len, int rc)
{
	ht_session *r = new_session(false, keys, cert, cert_len);
	size_t n;
	must_recv(r, fx.m[0], fx.m_len[0]);
	uint8_t *m2 = must_pending(r, &n);
	put(name, m2, n, 1, rc, false, 0);
	free(m2);
	ht_session_free(r);
}

/* One bit flipped at `at`. */
static void put_flipped(const char *name, const struct stream *st, size_t at, int path, int rc,
			bool established, size_t transport_in)
{
	struct stream d = *st;
	d.b[at] ^= 0x01;
	put(name, d.b, d.len, path, rc, established, transport_in);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR (fuzz/corpus/fuzz_session)\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	setup();

	/* The genuine run again, with transport messages both ways. */
	ht_session *i = harness_initiator(), *r = harness_responder();
	size_t n;
	uint8_t *f;
	f = must_pending(i, &n);
	must_recv(r, f, n);
	free(f);
	f = must_pending(r, &n);
	must_recv(i, f, n);
	free(f);
	f = must_pending(i, &n);
	must_recv(r, f, n);
	free(f);
	ht_pmsg ping = {.type = HT_PMSG_PING, .nonce = 7};
	ht_pmsg pong = {.type = HT_PMSG_PONG, .nonce = 7};
	ht_pmsg error = {.type = HT_PMSG_ERROR, .reason = 3};
	strcpy(error.detail, "fuzz: an error about the session");
	static const char unknown[] = "\x22\x03"
				      "abc";          /* sealed_answer: an unknown type here */
	static const char garbage[] = "\xff\xff\xff"; /* not a PeerMessage */

	struct stream from_i = {.len = 0}, from_r = {.len = 0};
	add(&from_i, fx.m[0], fx.m_len[0]);
	add(&from_i, fx.m[2], fx.m_len[2]);
	size_t handshake_i = from_i.len;
	f = send_pmsg(i, &ping, &n);
	add(&from_i, f, n);
	free(f);
	f = send_pmsg(i, &error, &n);
	add(&from_i, f, n);
	free(f);
	f = send_raw(i, garbage, strlen(garbage), &n);
	add(&from_i, f, n);
	free(f);
	add(&from_r, fx.m[1], fx.m_len[1]);
	f = send_pmsg(r, &pong, &n);
	add(&from_r, f, n);
	free(f);
	f = send_raw(r, unknown, sizeof(unknown) - 1, &n);
	add(&from_r, f, n);
	free(f);
	ht_session_free(i);
	ht_session_free(r);

	/* Read by the responder: the initiator's messages 1 and 3, then transport. */
	put("initiator_handshake", from_i.b, handshake_i, 0, HT_OK, true, 0);
	put("initiator_stream", from_i.b, from_i.len, 0, HT_OK, true, 3);
	put("initiator_m1", fx.m[0], fx.m_len[0], 0, HT_OK, false, 0);
	put("initiator_m1_truncated", fx.m[0], fx.m_len[0] - 1, 0, HT_OK, false, 0);
	put("initiator_stream_truncated", from_i.b, from_i.len / 2, 0, HT_OK, false, 0);
	put_flipped("initiator_stream_flipped_m1", &from_i, 10, 0, HT_E_DECRYPT, false, 0);
	put_flipped("initiator_stream_flipped_m3", &from_i, fx.m_len[0] + 40, 0, HT_E_DECRYPT,
		    false, 0);
	put_flipped("initiator_stream_flipped_last", &from_i, from_i.len - 1, 0, HT_E_DECRYPT,
		    false, 2);
	{
		uint8_t b[2 + 33];
		memcpy(b, fx.m[0], fx.m_len[0]);
		b[1] = 33;
		b[2 + 32] = 'x';
		put("initiator_m1_payload", b, sizeof(b), 0, HT_E_MALFORMED, false, 0);
		memset(b, 0, sizeof(b));
		b[1] = 32;
		put("initiator_m1_zero_ephemeral", b, 2 + 32, 0, HT_E_WEAK_KEY, false, 0);
		b[1] = 31;
		put("initiator_m1_short", b, 2 + 31, 0, HT_E_MALFORMED, false, 0);
	}

	/* Handshakes the responder must refuse. */
	ht_keys other_anchor, stranger;
	fuzz_other_anchor_keys(&other_anchor);
	provider_keys(&stranger, 0xc0, 0xe0);
	uint8_t *c;
	size_t cl;
	c = issue(&fx.init_keys, INITIATOR_ID, FUZZ_REVOKED_SERIAL_1, NOT_BEFORE, NOT_AFTER,
		  HT_ROLE_INITIATOR, &fx.anchor, &cl);
	bad_initiator("initiator_revoked", &fx.init_keys, c, cl, HT_E_REVOKED);
	free(c);
	c = issue(&fx.init_keys, INITIATOR_ID, 3, NOT_BEFORE, NOW, HT_ROLE_INITIATOR, &fx.anchor,
		  &cl);
	bad_initiator("initiator_expired", &fx.init_keys, c, cl, HT_E_EXPIRED);
	free(c);
	c = issue(&fx.init_keys, INITIATOR_ID, 4, NOW + 1, NOT_AFTER, HT_ROLE_INITIATOR, &fx.anchor,
		  &cl);
	bad_initiator("initiator_not_yet_valid", &fx.init_keys, c, cl, HT_E_NOT_YET_VALID);
	free(c);
	c = issue(&fx.init_keys, INITIATOR_ID, 1, NOT_BEFORE, NOT_AFTER, HT_ROLE_INITIATOR,
		  &other_anchor, &cl);
	bad_initiator("initiator_untrusted_anchor", &fx.init_keys, c, cl, HT_E_UNKNOWN_ANCHOR);
	free(c);
	bad_initiator("initiator_key_mismatch", &stranger, fx.init_cert, fx.init_cert_len,
		      HT_E_KEY_MISMATCH);
	c = issue(&stranger, "fuzz-stranger", 5, NOT_BEFORE, NOT_AFTER, HT_ROLE_INITIATOR,
		  &fx.anchor, &cl);
	bad_initiator("initiator_not_a_peer", &stranger, c, cl, HT_E_NOT_A_PEER);
	free(c);

	/* Read by the initiator: the responder's message 2, then transport. */
	put("responder_handshake", fx.m[1], fx.m_len[1], 1, HT_OK, true, 0);
	put("responder_stream", from_r.b, from_r.len, 1, HT_OK, true, 2);
	put("responder_stream_truncated", from_r.b, from_r.len / 2, 1, HT_OK, false, 0);
	put_flipped("responder_stream_flipped_e", &from_r, 2, 1, HT_E_DECRYPT, false, 0);
	put_flipped("responder_stream_flipped_cert", &from_r, fx.m_len[1] - 40, 1, HT_E_DECRYPT,
		    false, 0);
	put_flipped("responder_stream_flipped_last", &from_r, from_r.len - 1, 1, HT_E_DECRYPT,
		    false, 1);
	{
		struct stream d = from_r;
		d.b[0] = 0;
		d.b[1] = 95; /* one octet short of e, s and the tag */
		put("responder_m2_short", d.b, 2 + 95, 1, HT_E_MALFORMED, false, 0);
	}
	c = issue(&stranger, "fuzz-other", 6, NOT_BEFORE, NOT_AFTER, 0, &fx.anchor, &cl);
	bad_responder("responder_wrong_peer", &stranger, c, cl, HT_E_WRONG_PEER);
	free(c);
	c = issue(&fx.resp_keys, RESPONDER_ID, FUZZ_REVOKED_SERIAL_2, NOT_BEFORE, NOT_AFTER, 0,
		  &fx.anchor, &cl);
	bad_responder("responder_revoked", &fx.resp_keys, c, cl, HT_E_REVOKED);
	free(c);
	c = issue(&fx.resp_keys, RESPONDER_ID, 2, NOT_BEFORE, NOT_AFTER, 0, &other_anchor, &cl);
	bad_responder("responder_untrusted_anchor", &fx.resp_keys, c, cl, HT_E_UNKNOWN_ANCHOR);
	free(c);
	bad_responder("responder_key_mismatch", &stranger, fx.resp_cert, fx.resp_cert_len,
		      HT_E_KEY_MISMATCH);

	/* Framing. */
	static const uint8_t zero[] = {0, 0}, huge[] = {0xff, 0xff, 1, 2, 3};
	put("empty", zero, 0, 0, HT_OK, false, 0);
	put("zero_length_frame", zero, sizeof(zero), 0, HT_E_MALFORMED, false, 0);
	{
		struct stream d = {.len = 0};
		add(&d, fx.m[0], fx.m_len[0]);
		add(&d, zero, sizeof(zero));
		put("initiator_m1_then_zero_length_frame", d.b, d.len, 0, HT_E_MALFORMED, false, 0);
	}
	{
		struct stream d = {.len = 0};
		add(&d, fx.m[1], fx.m_len[1]);
		add(&d, zero, sizeof(zero));
		put("responder_m2_then_zero_length_frame", d.b, d.len, 1, HT_E_MALFORMED, true, 0);
	}
	put("longest_frame_incomplete", huge, sizeof(huge), 0, HT_OK, false, 0);

	ht_keys_wipe(&stranger);
	ht_keys_wipe(&other_anchor);
	printf("fuzz_session_seeds: wrote %d files under %s\n", nwritten, outdir);
	return 0;
}
#endif
