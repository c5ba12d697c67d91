/*
 * Writes the deterministic test vectors in spec/vectors/ (spec/protocol.md,
 * "Test vectors"): fixed seeds in, exact bytes out. The ctest
 * "vectors_regenerate" runs this into a scratch folder and requires the
 * result to equal the committed files byte for byte.
 *
 * usage: gen_vectors OUTDIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>
#include <sodium.h>

#include "hoptrace/cert.h"
#include "hoptrace/crl.h"
#include "hoptrace/envelope.h"
#include "hoptrace/keys.h"
#include "hoptrace/noise.h"
#include "hoptrace/peermsg.h"
#include "hoptrace/session.h"
#include "hoptrace/timefmt.h"
#include "hoptrace/trace.h"
#include "hoptrace/v1/cert.pb-c.h"
#include "hoptrace/v1/envelope.pb-c.h"
#include "hoptrace/v1/peer.pb-c.h"
#include "hoptrace/v1/trace.pb-c.h"

#include "../lib/wire.h" /* ht__unpack: the reference decoder, for decoding.json */

/* 2026-01-01T00:00:00Z and 2027-01-01T00:00:00Z. */
#define T0          1767225600ULL
#define T1          1798761600ULL
#define CERT_SERIAL 1001
#define B_SERIAL    1002         /* CARRIER-B's certificate (handshake.json) */
#define CHECK_TIME  (T0 + 86400) /* when the vectors are checked */

static void die(const char *what)
{
	fprintf(stderr, "gen_vectors: %s\n", what);
	exit(1);
}

static void ok(int rc, const char *what)
{
	if (rc != HT_OK) {
		fprintf(stderr, "gen_vectors: %s: %s\n", what, ht_strerror(rc));
		exit(1);
	}
}

/* 32 bytes start, start+1, ... */
static void ramp(uint8_t *out, size_t n, uint8_t start)
{
	for (size_t i = 0; i < n; i++)
		out[i] = (uint8_t)(start + i);
}

static json_t *hex(const uint8_t *b, size_t n)
{
	char *s = malloc(2 * n + 1);
	if (!s)
		die("out of memory");
	sodium_bin2hex(s, 2 * n + 1, b, n);
	json_t *j = json_string(s);
	free(s);
	return j;
}

static void set(json_t *o, const char *k, json_t *v)
{
	if (!v || json_object_set_new(o, k, v) != 0)
		die("json");
}

static void write_json(const char *dir, const char *name, json_t *j)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", dir, name);
	FILE *f = fopen(path, "w");
	if (!f)
		die(path);
	if (json_dumpf(j, f, JSON_INDENT(2)) != 0 || fputc('\n', f) == EOF || fclose(f) != 0)
		die(path);
	json_decref(j);
}

/* The signed parts every envelope vector shows. */
static void signed_parts(json_t *o, const uint8_t *env, size_t env_len)
{
	ht_envelope *e;
	ok(ht_envelope_parse(env, env_len, &e), "parse envelope");
	size_t body_len;
	const uint8_t *body = ht_envelope_body(e, &body_len);
	const char *domain = ht_kind_domain((ht_kind)ht_envelope_kind(e));
	size_t dl = strlen(domain);
	uint8_t *si = malloc(dl + 1 + body_len);
	if (!si)
		die("out of memory");
	memcpy(si, domain, dl);
	si[dl] = 0;
	memcpy(si + dl + 1, body, body_len);
	uint8_t id[HT_MSG_ID_LEN];
	ok(ht_envelope_id(e, id), "message id");

	set(o, "kind", json_integer(ht_envelope_kind(e)));
	set(o, "domain", json_string(domain));
	set(o, "body_hex", hex(body, body_len));
	set(o, "signing_input_hex", hex(si, dl + 1 + body_len));
	set(o, "signature_hex", hex(ht_envelope_signature(e), HT_SIG_LEN));
	set(o, "envelope_hex", hex(env, env_len));
	set(o, "message_id_hex", hex(id, sizeof(id)));
	free(si);
	ht_envelope_free(e);
}

static json_t *key_json(const ht_keys *k, const uint8_t *sign_seed, const uint8_t *noise_sk)
{
	json_t *o = json_object();
	char *sec, *pub;
	set(o, "sign_seed_hex", hex(sign_seed, HT_SIGN_SEED_LEN));
	set(o, "sign_key_hex", hex(k->sign_pk, HT_SIGN_PK_LEN));
	if (noise_sk) {
		set(o, "noise_secret_hex", hex(noise_sk, HT_NOISE_KEY_LEN));
		set(o, "noise_key_hex", hex(k->noise_pk, HT_NOISE_KEY_LEN));
	}
	ok(ht_keys_format(k, true, &sec), "format secret");
	ok(ht_keys_format(k, false, &pub), "format public");
	set(o, "secret_file", json_string(sec));
	set(o, "public_file", json_string(pub));
	free(sec);
	free(pub);
	return o;
}

/* Signs a hand-built Certificate body, for vectors the library refuses to issue. */
static void sign_cert_body(const Hoptrace__V1__Certificate *c, const ht_keys *anchor, uint8_t **out,
			   size_t *out_len)
{
	size_t n = protobuf_c_message_get_packed_size(&c->base);
	uint8_t *body = malloc(n);
	if (!body)
		die("out of memory");
	protobuf_c_message_pack(&c->base, body);
	ok(ht_envelope_sign(HT_KIND_CERTIFICATE, body, n, anchor->sign_sk, out, out_len),
	   "sign cert body");
	free(body);
}

static void add_rejection(json_t *list, const char *name, const char *what, const uint8_t *env,
			  size_t len, bool with_crl, uint64_t at, uint32_t roles, const char *error)
{
	json_t *o = json_object();
	set(o, "name", json_string(name));
	set(o, "description", json_string(what));
	set(o, "certificate_hex", hex(env, len));
	set(o, "with_revocation_list", json_boolean(with_crl));
	set(o, "check_time", json_integer((json_int_t)at));
	json_t *r = json_array();
	if (roles & HT_ROLE_INITIATOR)
		json_array_append_new(r, json_string("initiator"));
	set(o, "required_roles", r);
	set(o, "expected_error", json_string(error));
	if (json_array_append_new(list, o) != 0)
		die("json");
}

/* ---- handshake.json ---- */

/* Encoded HandshakePayload {certificate}: what messages 2 and 3 carry. */
static void handshake_payload(const uint8_t *cert, size_t cert_len, uint8_t **out, size_t *len)
{
	Hoptrace__V1__HandshakePayload hp = HOPTRACE__V1__HANDSHAKE_PAYLOAD__INIT;
	hp.certificate = (ProtobufCBinaryData){cert_len, (uint8_t *)cert};
	*len = protobuf_c_message_get_packed_size(&hp.base);
	*out = malloc(*len);
	if (!*out)
		die("out of memory");
	protobuf_c_message_pack(&hp.base, *out);
}

static int allow_carrier_a(void *ud, const char *id)
{
	(void)ud;
	return strcmp(id, "CARRIER-A") == 0 ? HT_OK : HT_E_NOT_A_PEER;
}

/* The next handshake frame `s` must send; dies if there is none. */
static uint8_t *next_frame(ht_session *s, size_t *len)
{
	uint8_t *f;
	ok(ht_session_pending(s, &f, len), "session pending");
	if (!f)
		die("session: no frame to send");
	return f;
}

/* Hands a whole frame to `s`; returns the event. */
static ht_session_event deliver(ht_session *s, const uint8_t *frame, size_t len, const uint8_t **pt,
				size_t *pt_len)
{
	ht_frame_reader *rd = calloc(1, sizeof(*rd));
	if (!rd)
		die("out of memory");
	size_t used, mlen;
	const uint8_t *msg;
	if (ht_frame_reader_push(rd, frame, len, &used, &msg, &mlen) != 1 || used != len)
		die("frame reader");
	ht_session_event ev;
	ok(ht_session_recv(s, msg, mlen, &ev, pt, pt_len), "session recv");
	free(rd);
	return ev;
}

/*
 * One handshake failure of spec 8.4.5: new sessions replay the recorded
 * handshake up to message `m` (1 to 3), whose reader gets `msg` instead;
 * the first failure, as it reads it or writes the next message, must be
 * `want`.
 */
static void hs_failure(json_t *list, const char *name, const char *what,
		       const ht_session_config *ca, const ht_session_config *cb,
		       uint8_t *const frames[3], const size_t flen[3], int m, const uint8_t *msg,
		       size_t len, int want)
{
	ht_session *s[2];
	ok(ht_session_new(&s[0], ca), "session A");
	ok(ht_session_new(&s[1], cb), "session B");
	int rc = HT_OK;
	for (int k = 1; k <= m && rc == HT_OK; k++) {
		ht_session *from = s[(k - 1) % 2], *to = s[k % 2];
		size_t fl;
		free(next_frame(from, &fl)); /* the writer's own state moves on */
		ht_session_event ev;
		const uint8_t *pt;
		size_t ptl;
		if (k < m)
			rc = ht_session_recv(to, frames[k - 1] + 2, flen[k - 1] - 2, &ev, &pt,
					     &ptl);
		else
			rc = ht_session_recv(to, msg, len, &ev, &pt, &ptl);
		if (rc == HT_OK && k == m && m < 3) { /* the reader writes the next message */
			uint8_t *nf = NULL;
			size_t nl;
			rc = ht_session_pending(to, &nf, &nl);
			if (rc == HT_OK && !nf)
				die("handshake failure vector: no next message");
			free(nf);
		}
	}
	if (rc != want) {
		fprintf(stderr,
			"gen_vectors: handshake failure %s: library gives %s, spec says %s\n", name,
			ht_errname(rc), ht_errname(want));
		exit(1);
	}
	ht_session_free(s[0]);
	ht_session_free(s[1]);
	json_t *o = json_object();
	set(o, "name", json_string(name));
	set(o, "description", json_string(what));
	set(o, "message", json_integer(m));
	set(o, "reader", json_string(m == 2 ? "initiator" : "responder"));
	set(o, "message_hex", hex(msg, len));
	set(o, "expected_error", json_string(ht_errname(want)));
	if (json_array_append_new(list, o) != 0)
		die("json");
}

/*
 * The same handshake again with the Noise core alone, from the seeds and the
 * payloads: every message must equal the session's frame. Hands back the
 * split keys (initiator to responder, then the reverse).
 */
static void noise_replay(const uint8_t *a_noise, const uint8_t *a_eph, const uint8_t *b_noise,
			 const uint8_t *b_eph, const uint8_t *pa, size_t pa_len, const uint8_t *pb,
			 size_t pb_len, uint8_t *const frames[3], const size_t frame_len[3],
			 uint8_t k_ab[32], uint8_t k_ba[32])
{
	static uint8_t msg[HT_NOISE_MAX_MSG], pl[HT_NOISE_MAX_MSG];
	const uint8_t *pro = (const uint8_t *)HT_SESSION_PROLOGUE;
	size_t prl = strlen(HT_SESSION_PROLOGUE), n, m;
	ht_noise_hs i, r;
	ok(ht_noise_init(&i, HT_NOISE_XX, true, pro, prl, a_noise, NULL), "noise init i");
	ok(ht_noise_init(&r, HT_NOISE_XX, false, pro, prl, b_noise, NULL), "noise init r");
	ok(ht_noise_set_ephemeral(&i, a_eph), "noise eph i");
	ok(ht_noise_set_ephemeral(&r, b_eph), "noise eph r");
	struct {
		ht_noise_hs *from, *to;
		const uint8_t *p;
		size_t len;
	} steps[3] = {{&i, &r, NULL, 0}, {&r, &i, pb, pb_len}, {&i, &r, pa, pa_len}};
	for (int k = 0; k < 3; k++) {
		ok(ht_noise_write_message(steps[k].from, steps[k].p, steps[k].len, msg, sizeof(msg),
					  &n),
		   "noise write");
		if (n + 2 != frame_len[k] || frames[k][0] != (uint8_t)(n >> 8) ||
		    frames[k][1] != (uint8_t)n || memcmp(frames[k] + 2, msg, n) != 0)
			die("the Noise core and the session disagree on a handshake message");
		ok(ht_noise_read_message(steps[k].to, msg, n, pl, sizeof(pl), &m), "noise read");
		if (m != steps[k].len || (m && memcmp(pl, steps[k].p, m) != 0))
			die("handshake payload differs after decryption");
	}
	ht_noise_cipher is, ir, rs, rr;
	ok(ht_noise_split(&i, &is, &ir), "split i");
	ok(ht_noise_split(&r, &rs, &rr), "split r");
	if (memcmp(is.k, rr.k, 32) != 0 || memcmp(ir.k, rs.k, 32) != 0)
		die("split keys differ");
	memcpy(k_ab, is.k, 32);
	memcpy(k_ba, rs.k, 32);
}

/*
 * One XX handshake between CARRIER-A (initiator, the provider of keys.json)
 * and CARRIER-B (responder), both certified by the vector anchor, with fixed
 * ephemeral keys; then a Ping from A and B's Pong.
 */
static void handshake_vector(const char *dir, const ht_keys *anchor, const ht_keys *a,
			     const uint8_t *a_seed, const uint8_t *a_noise, const uint8_t *a_cert,
			     size_t a_cert_len)
{
	uint8_t b_seed[32], b_noise[32], a_eph[32], b_eph[32], a_epk[32], b_epk[32];
	ramp(b_seed, 32, 0x80);
	ramp(b_noise, 32, 0xa0);
	ramp(a_eph, 32, 0xc0);
	ramp(b_eph, 32, 0xf0); /* f0 ... ff 00 ... 0f */
	if (crypto_scalarmult_base(a_epk, a_eph) != 0 || crypto_scalarmult_base(b_epk, b_eph) != 0)
		die("x25519");
	ht_keys b;
	ok(ht_keys_from_seeds(&b, HT_KEYS_PROVIDER, b_seed, b_noise), "CARRIER-B keys");

	ht_cert_info bi = {0};
	strcpy(bi.provider_id, "CARRIER-B");
	memcpy(bi.sign_key, b.sign_pk, 32);
	memcpy(bi.noise_key, b.noise_pk, 32);
	bi.not_before = T0;
	bi.not_after = T1;
	bi.serial = B_SERIAL;
	bi.roles = 0; /* a session requires no role */
	uint8_t *b_cert;
	size_t b_cert_len;
	ok(ht_cert_issue(&bi, anchor, &b_cert, &b_cert_len), "issue CARRIER-B cert");

	/* Both sides trust the vector anchor and hold no revocation list. */
	ht_trust *ta, *tb;
	ok(ht_trust_new(&ta), "trust");
	ok(ht_trust_new(&tb), "trust");
	ok(ht_trust_add_anchor(ta, anchor->sign_pk), "anchor");
	ok(ht_trust_add_anchor(tb, anchor->sign_pk), "anchor");
	ht_session_config ca = {
		.initiator = true,
		.keys = a,
		.cert = a_cert,
		.cert_len = a_cert_len,
		.trust = ta,
		.now = CHECK_TIME,
		.expected_peer = "CARRIER-B",
		.ephemeral_sk = a_eph,
	};
	ht_session_config cb = {
		.initiator = false,
		.keys = &b,
		.cert = b_cert,
		.cert_len = b_cert_len,
		.trust = tb,
		.now = CHECK_TIME,
		.allowed = allow_carrier_a,
		.ephemeral_sk = b_eph,
	};
	ht_session *sa, *sb;
	ok(ht_session_new(&sa, &ca), "session A");
	ok(ht_session_new(&sb, &cb), "session B");

	/* The handshake: A, B, A. */
	uint8_t *frames[3];
	size_t flen[3];
	const uint8_t *pt;
	size_t ptl;
	frames[0] = next_frame(sa, &flen[0]);
	if (deliver(sb, frames[0], flen[0], &pt, &ptl) != HT_SESSION_NONE)
		die("message 1");
	frames[1] = next_frame(sb, &flen[1]);
	if (deliver(sa, frames[1], flen[1], &pt, &ptl) != HT_SESSION_NONE)
		die("message 2");
	frames[2] = next_frame(sa, &flen[2]);
	if (!ht_session_established(sa))
		die("initiator not established after message 3");
	if (deliver(sb, frames[2], flen[2], &pt, &ptl) != HT_SESSION_ESTABLISHED)
		die("responder not established after message 3");
	if (!ht_session_established(sb) ||
	    strcmp(ht_session_peer(sa)->provider_id, "CARRIER-B") != 0 ||
	    strcmp(ht_session_peer(sb)->provider_id, "CARRIER-A") != 0 ||
	    memcmp(ht_session_handshake_hash(sa), ht_session_handshake_hash(sb),
		   HT_NOISE_HASH_LEN) != 0)
		die("the two sides do not agree");

	uint8_t *pa, *pb;
	size_t pa_len, pb_len;
	handshake_payload(a_cert, a_cert_len, &pa, &pa_len);
	handshake_payload(b_cert, b_cert_len, &pb, &pb_len);
	uint8_t k_ab[32], k_ba[32];
	noise_replay(a_noise, a_eph, b_noise, b_eph, pa, pa_len, pb, pb_len, frames, flen, k_ab,
		     k_ba);

	/* Transport: A pings with nonce 1, B answers. */
	ht_pmsg ping = {.type = HT_PMSG_PING, .nonce = 1},
		pong = {.type = HT_PMSG_PONG, .nonce = 1};
	uint8_t *ping_pt, *pong_pt, *ping_f, *pong_f;
	size_t ping_ptl, pong_ptl, ping_fl, pong_fl;
	ok(ht_pmsg_encode(&ping, &ping_pt, &ping_ptl), "encode ping");
	ok(ht_pmsg_encode(&pong, &pong_pt, &pong_ptl), "encode pong");
	ok(ht_session_send(sa, ping_pt, ping_ptl, &ping_f, &ping_fl), "send ping");
	if (deliver(sb, ping_f, ping_fl, &pt, &ptl) != HT_SESSION_MESSAGE || ptl != ping_ptl ||
	    memcmp(pt, ping_pt, ptl) != 0)
		die("ping");
	ok(ht_session_send(sb, pong_pt, pong_ptl, &pong_f, &pong_fl), "send pong");
	if (deliver(sa, pong_f, pong_fl, &pt, &ptl) != HT_SESSION_MESSAGE || ptl != pong_ptl ||
	    memcmp(pt, pong_pt, ptl) != 0)
		die("pong");

	uint8_t preamble[HT_PREAMBLE_LEN];
	ht_preamble(preamble);
	const uint8_t *hash = ht_session_handshake_hash(sa);

	json_t *o = json_object();
	set(o, "description",
	    json_string("One peer-session handshake (Noise_XX_25519_ChaChaPoly_BLAKE2b) between "
			"CARRIER-A (initiator: it dialled) and CARRIER-B (responder), both "
			"certified by the anchor of keys.json, with fixed ephemeral keys; then a "
			"Ping from A and B's Pong. Both sides verify at check_time, trust only "
			"anchor_sign_key_hex and hold no revocation list. frame_hex is the whole "
			"frame: 2-octet big-endian length, then the Noise message."));
	set(o, "protocol_name", json_string("Noise_XX_25519_ChaChaPoly_BLAKE2b"));
	set(o, "prologue", json_string(HT_SESSION_PROLOGUE));
	set(o, "prologue_hex",
	    hex((const uint8_t *)HT_SESSION_PROLOGUE, strlen(HT_SESSION_PROLOGUE)));
	set(o, "check_time", json_integer(CHECK_TIME));
	set(o, "anchor_sign_key_hex", hex(anchor->sign_pk, 32));

	struct {
		const char *role, *id;
		const ht_keys *k;
		const uint8_t *seed, *noise, *eph, *epk, *cert, *payload;
		size_t cert_len, payload_len;
		const char *cert_note;
	} party[2] = {
		{"initiator", "CARRIER-A", a, a_seed, a_noise, a_eph, a_epk, a_cert, pa, a_cert_len,
		 pa_len, "envelope_hex of certificate.json"},
		{"responder", "CARRIER-B", &b, b_seed, b_noise, b_eph, b_epk, b_cert, pb,
		 b_cert_len, pb_len,
		 "issued by the vector anchor with the serial, roles and validity above"},
	};
	for (int k = 0; k < 2; k++) {
		json_t *p = json_object();
		set(p, "provider_id", json_string(party[k].id));
		set(p, "sign_seed_hex", hex(party[k].seed, 32));
		set(p, "sign_key_hex", hex(party[k].k->sign_pk, 32));
		set(p, "noise_secret_hex", hex(party[k].noise, 32));
		set(p, "noise_key_hex", hex(party[k].k->noise_pk, 32));
		set(p, "ephemeral_secret_hex", hex(party[k].eph, 32));
		set(p, "ephemeral_key_hex", hex(party[k].epk, 32));
		set(p, "serial", json_integer(k == 0 ? CERT_SERIAL : B_SERIAL));
		set(p, "roles", k == 0 ? json_pack("[s]", "initiator") : json_array());
		set(p, "not_before", json_integer((json_int_t)T0));
		set(p, "not_after", json_integer((json_int_t)T1));
		set(p, "certificate", json_string(party[k].cert_note));
		set(p, "certificate_hex", hex(party[k].cert, party[k].cert_len));
		set(p, "handshake_payload_hex", hex(party[k].payload, party[k].payload_len));
		set(p, "preamble_hex", hex(preamble, sizeof(preamble)));
		set(p, "handshake_hash_hex", hex(hash, HT_NOISE_HASH_LEN));
		set(o, party[k].role, p);
	}

	json_t *hs = json_array();
	static const char *const senders[3] = {"initiator", "responder", "initiator"};
	static const char *const tokens[3] = {"-> e", "<- e, ee, s, es", "-> s, se"};
	static const char *const payloads[3] = {"empty", "responder.handshake_payload_hex",
						"initiator.handshake_payload_hex"};
	for (int k = 0; k < 3; k++) {
		json_t *m = json_object();
		set(m, "message", json_integer(k + 1));
		set(m, "sender", json_string(senders[k]));
		set(m, "tokens", json_string(tokens[k]));
		set(m, "payload", json_string(payloads[k]));
		set(m, "length", json_integer((json_int_t)flen[k] - 2));
		set(m, "frame_hex", hex(frames[k], flen[k]));
		if (json_array_append_new(hs, m) != 0)
			die("json");
	}
	set(o, "handshake", hs);

	json_t *keys = json_object();
	set(keys, "initiator_to_responder_hex", hex(k_ab, 32));
	set(keys, "responder_to_initiator_hex", hex(k_ba, 32));
	set(o, "transport_keys", keys);

	json_t *tr = json_array();
	json_t *m = json_object();
	set(m, "sender", json_string("initiator"));
	set(m, "cipher_nonce", json_integer(0));
	set(m, "message", json_pack("{s{sI}}", "ping", "nonce", (json_int_t)1));
	set(m, "plaintext_hex", hex(ping_pt, ping_ptl));
	set(m, "frame_hex", hex(ping_f, ping_fl));
	json_array_append_new(tr, m);
	m = json_object();
	set(m, "sender", json_string("responder"));
	set(m, "cipher_nonce", json_integer(0));
	set(m, "message", json_pack("{s{sI}}", "pong", "nonce", (json_int_t)1));
	set(m, "plaintext_hex", hex(pong_pt, pong_ptl));
	set(m, "frame_hex", hex(pong_f, pong_fl));
	json_array_append_new(tr, m);
	set(o, "transport", tr);

	/* Handshake failures (spec 8.4.5), each from the recorded messages. */
	json_t *fl = json_array();
	{
		uint8_t bad[512];
		const uint8_t *m1 = frames[0] + 2, *m2 = frames[1] + 2, *m3 = frames[2] + 2;
		size_t l2 = flen[1] - 2, l3 = flen[2] - 2;
		if (flen[0] != 34 || l2 > sizeof(bad) || l3 > sizeof(bad))
			die("handshake lengths");
		memcpy(bad, m1, 32);
		bad[32] = 0;
		hs_failure(fl, "message_1_33_octets",
			   "Message 1 with one octet more than e: a payload, which message 1 must "
			   "not have.",
			   &ca, &cb, frames, flen, 1, bad, 33, HT_E_MALFORMED);
		hs_failure(fl, "message_1_31_octets", "Message 1 cut to 31 octets.", &ca, &cb,
			   frames, flen, 1, m1, 31, HT_E_MALFORMED);
		memset(bad, 0, 32);
		hs_failure(
			fl, "message_1_small_order_e",
			"Message 1 whose e is 32 zero octets, of small order: the responder "
			"finds the all-zero DH at ee, as it writes message 2, and sends nothing.",
			&ca, &cb, frames, flen, 1, bad, 32, HT_E_WEAK_KEY);
		hs_failure(fl, "message_2_95_octets", "Message 2 cut to 95 octets.", &ca, &cb,
			   frames, flen, 2, m2, 95, HT_E_MALFORMED);
		memcpy(bad, m2, l2);
		memset(bad, 0, 32);
		hs_failure(fl, "message_2_small_order_e",
			   "Message 2 whose e is 32 zero octets: an all-zero DH at ee, the "
			   "first token that uses it.",
			   &ca, &cb, frames, flen, 2, bad, l2, HT_E_WEAK_KEY);
		memcpy(bad, m2, l2);
		bad[32] ^= 0x01;
		hs_failure(fl, "message_2_static_altered",
			   "Message 2 with the first octet of its encrypted s XOR 0x01.", &ca, &cb,
			   frames, flen, 2, bad, l2, HT_E_DECRYPT);
		memcpy(bad, m2, l2);
		bad[l2 - 1] ^= 0x01;
		hs_failure(fl, "message_2_payload_altered",
			   "Message 2 with its last octet (the payload's tag) XOR 0x01.", &ca, &cb,
			   frames, flen, 2, bad, l2, HT_E_DECRYPT);
		hs_failure(fl, "message_3_63_octets", "Message 3 cut to 63 octets.", &ca, &cb,
			   frames, flen, 3, m3, 63, HT_E_MALFORMED);
		memcpy(bad, m3, l3);
		bad[0] ^= 0x01;
		hs_failure(fl, "message_3_static_altered",
			   "Message 3 with the first octet of its encrypted s XOR 0x01.", &ca, &cb,
			   frames, flen, 3, bad, l3, HT_E_DECRYPT);
		memcpy(bad, m3, l3);
		bad[l3 - 1] ^= 0x01;
		hs_failure(fl, "message_3_payload_altered",
			   "Message 3 with its last octet (the payload's tag) XOR 0x01.", &ca, &cb,
			   frames, flen, 3, bad, l3, HT_E_DECRYPT);
	}
	set(o, "failures", fl);
	write_json(dir, "handshake.json", o);

	for (int k = 0; k < 3; k++)
		free(frames[k]);
	free(pa);
	free(pb);
	free(ping_pt);
	free(pong_pt);
	free(ping_f);
	free(pong_f);
	free(b_cert);
	ht_session_free(sa);
	ht_session_free(sb);
	ht_trust_free(ta);
	ht_trust_free(tb);
	ht_keys_wipe(&b);
}

/* ---- Traceback: trace.json, trace-rejections.json, evidence-bundle.json ---- */

/* The traced call and the request (spec section 12, "Fixed inputs"). */
#define TR_CALL_MS  (T0 * 1000 + 6600000ULL) /* 2026-01-01T01:50:00Z */
#define TR_CREATED  (TR_CALL_MS + 600000)    /* 02:00:00Z */
#define TR_EXPIRES  (TR_CREATED + 60000)
#define TR_CALLING  "12025550143"
#define TR_CALLED   "14155550199"
#define TR_TOL      5000
#define TR_HOPS     16
#define TR_HINTBITS 12
#define TR_LABEL    "campaign 2026-01: IRS impersonation"
#define TR_CHECK    (TR_CREATED + 1000) /* when hops check the request */

/* A provider of the trace vectors: keys, certificate. */
struct party {
	const char *id;
	uint8_t seed[32], noise[32];
	ht_keys k;
	uint8_t *cert;
	size_t cert_len;
	uint64_t serial;
	uint32_t roles;
};

static void party_init(struct party *p, const char *id, const uint8_t *seed, const uint8_t *noise,
		       uint64_t serial, uint32_t roles, const ht_keys *anchor)
{
	p->id = id;
	memcpy(p->seed, seed, 32);
	memcpy(p->noise, noise, 32);
	p->serial = serial;
	p->roles = roles;
	ok(ht_keys_from_seeds(&p->k, HT_KEYS_PROVIDER, seed, noise), "party keys");
	ht_cert_info ci = {0};
	snprintf(ci.provider_id, sizeof(ci.provider_id), "%s", id);
	memcpy(ci.sign_key, p->k.sign_pk, 32);
	memcpy(ci.noise_key, p->k.noise_pk, 32);
	ci.not_before = T0;
	ci.not_after = T1;
	ci.serial = serial;
	ci.roles = roles;
	ok(ht_cert_issue(&ci, anchor, &p->cert, &p->cert_len), "issue party cert");
}

static json_t *party_json(const struct party *p, const char *note)
{
	json_t *o = json_object();
	set(o, "provider_id", json_string(p->id));
	set(o, "sign_seed_hex", hex(p->seed, 32));
	set(o, "sign_key_hex", hex(p->k.sign_pk, 32));
	set(o, "noise_secret_hex", hex(p->noise, 32));
	set(o, "noise_key_hex", hex(p->k.noise_pk, 32));
	set(o, "serial", json_integer((json_int_t)p->serial));
	set(o, "roles", p->roles ? json_pack("[s]", "initiator") : json_array());
	set(o, "not_before", json_integer((json_int_t)T0));
	set(o, "not_after", json_integer((json_int_t)T1));
	set(o, "certificate", json_string(note));
	set(o, "certificate_hex", hex(p->cert, p->cert_len));
	return o;
}

static void fill(uint8_t *out, size_t n, uint8_t v)
{
	memset(out, v, n);
}

static void append(json_t *list, json_t *o)
{
	if (json_array_append_new(list, o) != 0)
		die("json");
}

static uint8_t *dup_bytes(const uint8_t *b, size_t n)
{
	uint8_t *c = malloc(n ? n : 1);
	if (!c)
		die("out of memory");
	memcpy(c, b, n);
	return c;
}

/* -- TraceRequest bodies built field by field (for vectors the library refuses) -- */

struct reqb {
	Hoptrace__V1__TraceRequest q;
	uint8_t tid[16], salt[32], com[32], apk[32];
	uint32_t crit[1];
	char label[200];
};

/* The valid request of trace.json, as protobuf-c fields. */
static void reqb_init(struct reqb *r, const struct party *init, const uint8_t apk[32])
{
	Hoptrace__V1__TraceRequest q = HOPTRACE__V1__TRACE_REQUEST__INIT;
	r->q = q;
	ramp(r->tid, 16, 0xd0);
	ramp(r->salt, 32, 0x50);
	memcpy(r->apk, apk, 32);
	ok(ht_call_commitment(r->salt, TR_CALLING, TR_CALLED, r->com), "commitment");
	snprintf(r->label, sizeof(r->label), "%s", TR_LABEL);
	r->q.trace_id = (ProtobufCBinaryData){16, r->tid};
	r->q.initiator_id = (ProtobufCBinaryData){strlen(init->id), (uint8_t *)init->id};
	r->q.initiator_cert = (ProtobufCBinaryData){init->cert_len, init->cert};
	r->q.created_ms = TR_CREATED;
	r->q.expires_ms = TR_EXPIRES;
	r->q.call_time_ms = TR_CALL_MS;
	r->q.tolerance_ms = TR_TOL;
	r->q.hop_limit = TR_HOPS;
	r->q.salt = (ProtobufCBinaryData){32, r->salt};
	r->q.call_commitment = (ProtobufCBinaryData){32, r->com};
	r->q.answer_key = (ProtobufCBinaryData){32, r->apk};
	r->q.hint = ht_call_hint(TR_CALLING, TR_CALLED) & (0xffffu << (16 - TR_HINTBITS)) & 0xffffu;
	r->q.hint_bits = TR_HINTBITS;
	r->q.label = (ProtobufCBinaryData){strlen(r->label), (uint8_t *)r->label};
}

static void pack_sign(const ProtobufCMessage *m, ht_kind kind, const uint8_t *sign_sk,
		      uint8_t **out, size_t *out_len)
{
	size_t n = protobuf_c_message_get_packed_size(m);
	uint8_t *body = malloc(n ? n : 1);
	if (!body)
		die("out of memory");
	protobuf_c_message_pack(m, body);
	ok(ht_envelope_sign(kind, body, n, sign_sk, out, out_len), "sign body");
	free(body);
}

/* -- HopAnswer bodies built field by field -- */

struct ansb {
	Hoptrace__V1__HopAnswer h;
	Hoptrace__V1__MatchedCall calls[HT_ANSWER_CALLS_MAX + 1];
	Hoptrace__V1__MatchedCall *callp[HT_ANSWER_CALLS_MAX + 1];
	uint32_t crit[1];
};

/* The fields of `a` as the library would encode them; `a` must outlive `b`. */
static void ansb_fill(struct ansb *b, const ht_answer_info *a, const uint8_t *cert, size_t cert_len)
{
	Hoptrace__V1__HopAnswer h = HOPTRACE__V1__HOP_ANSWER__INIT;
	b->h = h;
	for (size_t k = 0; k < a->n_calls; k++) {
		const ht_matched_call *s = &a->calls[k];
		Hoptrace__V1__MatchedCall *d = &b->calls[k];
		hoptrace__v1__matched_call__init(d);
		d->upstream = (ProtobufCBinaryData){strlen(s->upstream), (uint8_t *)s->upstream};
		d->originated_here = s->originated_here;
		d->customer_ref =
			(ProtobufCBinaryData){strlen(s->customer_ref), (uint8_t *)s->customer_ref};
		d->record_time_ms = s->record_time_ms;
		d->attestation = (Hoptrace__V1__Attestation)s->attestation;
		if (s->has_origid)
			d->origid = (ProtobufCBinaryData){HT_ORIGID_LEN, (uint8_t *)s->origid};
		b->callp[k] = d;
	}
	b->h.request_hash = (ProtobufCBinaryData){HT_MSG_ID_LEN, (uint8_t *)a->request_hash};
	b->h.provider_id = (ProtobufCBinaryData){strlen(a->provider_id), (uint8_t *)a->provider_id};
	b->h.asked_by = (ProtobufCBinaryData){strlen(a->asked_by), (uint8_t *)a->asked_by};
	b->h.status = (Hoptrace__V1__AnswerStatus)a->status;
	b->h.reason = (Hoptrace__V1__Reason)a->reason;
	b->h.answered_ms = a->answered_ms;
	b->h.hop = a->hop;
	b->h.n_calls = a->n_calls;
	b->h.calls = b->callp;
	b->h.upstream = (ProtobufCBinaryData){strlen(a->upstream), (uint8_t *)a->upstream};
	b->h.certificate = (ProtobufCBinaryData){cert_len, (uint8_t *)cert};
	b->h.window_time_ms = a->window_time_ms;
}

static ht_answer_info answer_base(const uint8_t *req_id, const char *provider, const char *asked_by,
				  uint32_t status, uint32_t hop, uint64_t window, uint64_t answered)
{
	ht_answer_info a;
	memset(&a, 0, sizeof(a));
	memcpy(a.request_hash, req_id, HT_MSG_ID_LEN);
	snprintf(a.provider_id, sizeof(a.provider_id), "%s", provider);
	snprintf(a.asked_by, sizeof(a.asked_by), "%s", asked_by);
	a.status = status;
	a.hop = hop;
	a.window_time_ms = window;
	a.answered_ms = answered;
	return a;
}

static ht_matched_call *add_call(ht_answer_info *a, const char *upstream, uint64_t t,
				 uint8_t attestation, const uint8_t *origid)
{
	ht_matched_call *c = &a->calls[a->n_calls++];
	memset(c, 0, sizeof(*c));
	snprintf(c->upstream, sizeof(c->upstream), "%s", upstream);
	c->originated_here = upstream[0] == 0;
	c->record_time_ms = t;
	c->attestation = attestation;
	if (origid) {
		c->has_origid = true;
		memcpy(c->origid, origid, HT_ORIGID_LEN);
	}
	return c;
}

static json_t *answer_fields(const ht_answer_info *a, const char *cert_note)
{
	json_t *o = json_object();
	set(o, "request_hash_hex", hex(a->request_hash, HT_MSG_ID_LEN));
	set(o, "provider_id", json_string(a->provider_id));
	set(o, "asked_by", json_string(a->asked_by));
	set(o, "status", json_integer(a->status));
	set(o, "status_name", json_string(ht_answer_status_name(a->status)));
	set(o, "reason", json_integer(a->reason));
	set(o, "answered_ms", json_integer((json_int_t)a->answered_ms));
	set(o, "hop", json_integer(a->hop));
	json_t *calls = json_array();
	for (size_t k = 0; k < a->n_calls; k++) {
		const ht_matched_call *c = &a->calls[k];
		json_t *j = json_object();
		set(j, "upstream", json_string(c->upstream));
		set(j, "originated_here", json_boolean(c->originated_here));
		set(j, "customer_ref", json_string(c->customer_ref));
		set(j, "record_time_ms", json_integer((json_int_t)c->record_time_ms));
		set(j, "attestation", json_integer(c->attestation));
		set(j, "origid_hex",
		    c->has_origid ? hex(c->origid, HT_ORIGID_LEN) : json_string(""));
		append(calls, j);
	}
	set(o, "calls", calls);
	set(o, "upstream", json_string(a->upstream));
	set(o, "certificate", json_string(cert_note));
	set(o, "window_time_ms", json_integer((json_int_t)a->window_time_ms));
	return o;
}

/* One signed answer of trace.json, sealed with a fixed ephemeral key. */
struct answer_vec {
	const char *name;
	ht_answer_info info;
	const struct party *signer;
	uint8_t eph[32];
	uint8_t *env, *sealed;
	size_t env_len, sealed_len;
};

static void answer_make(struct answer_vec *v, const uint8_t apk[32])
{
	ok(ht_answer_sign(&v->info, &v->signer->k, v->signer->cert, v->signer->cert_len, &v->env,
			  &v->env_len),
	   v->name);
	/* The library's encoding is the canonical one built field by field. */
	struct ansb b;
	ansb_fill(&b, &v->info, v->signer->cert, v->signer->cert_len);
	uint8_t *e;
	size_t el;
	pack_sign(&b.h.base, HT_KIND_HOP_ANSWER, v->signer->k.sign_sk, &e, &el);
	if (el != v->env_len || memcmp(e, v->env, el) != 0)
		die("ht_answer_sign is not the canonical encoding");
	free(e);
	ok(ht_seal(v->env, v->env_len, apk, v->eph, &v->sealed, &v->sealed_len), "seal");
}

static json_t *answer_json(const struct answer_vec *v, const char *what, const uint8_t apk[32])
{
	json_t *o = json_object();
	set(o, "name", json_string(v->name));
	set(o, "description", json_string(what));
	set(o, "signer", json_string(v->signer->id));
	char note[64];
	snprintf(note, sizeof(note), "certificate_hex of parties.%s", v->signer->id);
	set(o, "fields", answer_fields(&v->info, note));
	signed_parts(o, v->env, v->env_len);
	uint8_t epk[32], nonce[24];
	if (crypto_scalarmult_base(epk, v->eph) != 0)
		die("x25519");
	crypto_generichash_state st;
	crypto_generichash_init(&st, NULL, 0, sizeof(nonce));
	crypto_generichash_update(&st, epk, 32);
	crypto_generichash_update(&st, apk, 32);
	crypto_generichash_final(&st, nonce, sizeof(nonce));
	json_t *s = json_object();
	set(s, "ephemeral_secret_hex", hex(v->eph, 32));
	set(s, "ephemeral_key_hex", hex(epk, 32));
	set(s, "nonce_hex", hex(nonce, sizeof(nonce)));
	set(s, "sealed_hex", hex(v->sealed, v->sealed_len));
	set(o, "seal", s);
	return o;
}

/* Parses and verifies an answer as a receiver would; returns the error. */
/* trace.json's request, which the answer vectors answer (step 15 of spec 11.7.4). */
static ht_request_info trace_req;

static int answer_check(const uint8_t *env, size_t len, const ht_trust *t, const uint8_t *req_id)
{
	ht_answer *a;
	int rc = ht_answer_parse(env, len, &a);
	if (rc != HT_OK)
		return rc;
	rc = ht_answer_verify(a, t, req_id);
	if (rc == HT_OK)
		rc = ht_answer_check_time(ht_answer_get(a), &trace_req);
	ht_answer_free(a);
	return rc;
}

/* A request vector: parse, then verify at `at`; the reason a hop sends. */
static ht_reason request_reason(const uint8_t *env, size_t len, const ht_trust *t, uint64_t at,
				bool *usable)
{
	ht_request *r;
	int rc = ht_request_parse(env, len, &r);
	*usable = r != NULL;
	ht_reason why = ht_reason_from_err(rc);
	if (rc == HT_OK && ht_request_verify(r, t, at, &why) == HT_OK)
		why = HT_REASON_UNSPECIFIED;
	ht_request_free(r);
	return why;
}

static const char *reason_enum(uint32_t r)
{
	static char buf[64];
	const char *n = ht_reason_name(r);
	size_t k = snprintf(buf, sizeof(buf), "REASON_");
	for (; *n && k + 1 < sizeof(buf); n++)
		buf[k++] = (char)(*n >= 'a' && *n <= 'z' ? *n - 32 : *n);
	buf[k] = 0;
	return buf;
}

struct tctx {
	const ht_keys *anchor;
	const struct party *A, *B, *C;
	ht_trust *trust, *trust_crl;
	json_t *list;
};

static void add_req_rej(struct tctx *x, const char *name, const char *what, const uint8_t *env,
			size_t len, uint64_t at, bool with_crl, bool usable, ht_reason want)
{
	bool got_usable;
	ht_reason got =
		request_reason(env, len, with_crl ? x->trust_crl : x->trust, at, &got_usable);
	if (got != want || got_usable != usable) {
		fprintf(stderr,
			"gen_vectors: request vector %s: library gives %s (answer key %s), "
			"spec says %s (%s)\n",
			name, ht_reason_name(got), got_usable ? "usable" : "unusable",
			ht_reason_name(want), usable ? "usable" : "unusable");
		exit(1);
	}
	json_t *o = json_object();
	set(o, "name", json_string(name));
	set(o, "description", json_string(what));
	set(o, "request_hex", hex(env, len));
	set(o, "check_time_ms", json_integer((json_int_t)at));
	set(o, "with_revocation_list", json_boolean(with_crl));
	set(o, "answer_key_usable", json_boolean(usable));
	set(o, "expected_reason", json_integer(want));
	set(o, "expected_reason_name", json_string(reason_enum(want)));
	append(x->list, o);
}

/* A request body tweaked by `tweak`, signed by `signer`, as a rejection vector. */
static void req_variant(struct tctx *x, const uint8_t apk[32], const char *name, const char *what,
			void (*tweak)(struct reqb *), const struct party *signer, uint64_t at,
			bool with_crl, bool usable, ht_reason want)
{
	struct reqb r;
	reqb_init(&r, x->A, apk);
	if (tweak)
		tweak(&r);
	uint8_t *e;
	size_t el;
	pack_sign(&r.q.base, HT_KIND_TRACE_REQUEST, signer->k.sign_sk, &e, &el);
	add_req_rej(x, name, what, e, el, at, with_crl, usable, want);
	free(e);
}

static void tw_trace_id_15(struct reqb *r)
{
	r->q.trace_id.len = 15;
}
static void tw_bad_initiator_id(struct reqb *r)
{
	r->q.initiator_id = (ProtobufCBinaryData){10, (uint8_t *)"CARRIER A!"};
}
static void tw_other_initiator_id(struct reqb *r)
{
	r->q.initiator_id = (ProtobufCBinaryData){9, (uint8_t *)"CARRIER-B"};
}
static void tw_cert_garbage(struct reqb *r)
{
	r->q.initiator_cert = (ProtobufCBinaryData){3, (uint8_t *)"\x08\x01\x12"};
}
static void tw_expires_eq_created(struct reqb *r)
{
	r->q.expires_ms = r->q.created_ms;
}
static void tw_lifetime_over(struct reqb *r)
{
	r->q.expires_ms = r->q.created_ms + HT_LIFETIME_MAX_MS + 1;
}
static void tw_tolerance_over(struct reqb *r)
{
	r->q.tolerance_ms = HT_TOLERANCE_MAX_MS + 1;
}
static void tw_hop_limit_0(struct reqb *r)
{
	r->q.hop_limit = 0;
}
static void tw_hop_limit_33(struct reqb *r)
{
	r->q.hop_limit = HT_HOP_LIMIT_MAX + 1;
}
static void tw_salt_31(struct reqb *r)
{
	r->q.salt.len = 31;
}
static void tw_commitment_31(struct reqb *r)
{
	r->q.call_commitment.len = 31;
}
static void tw_answer_key_31(struct reqb *r)
{
	r->q.answer_key.len = 31;
}
static void tw_answer_key_zero(struct reqb *r)
{
	memset(r->apk, 0, 32);
}
static void tw_hint_bits_17(struct reqb *r)
{
	r->q.hint_bits = 17;
}
static void tw_hint_low_bit(struct reqb *r)
{
	r->q.hint |= 1;
}
static void tw_hint_big(struct reqb *r)
{
	r->q.hint = 0x10000;
	r->q.hint_bits = 16;
}
static void tw_label_129(struct reqb *r)
{
	memset(r->label, 'x', 129);
	r->q.label.len = 129;
}
static void tw_label_utf8(struct reqb *r)
{
	memcpy(r->label, "campaign \xc3\x28", 11);
	r->q.label.len = 11;
}
static void tw_label_ctrl(struct reqb *r)
{
	memcpy(r->label, "campaign\n7", 10);
	r->q.label.len = 10;
}
static void tw_critical_99(struct reqb *r)
{
	r->crit[0] = 99;
	r->q.critical = r->crit;
	r->q.n_critical = 1;
}
static void tw_max_bounds(struct reqb *r)
{
	r->q.expires_ms = r->q.created_ms + HT_LIFETIME_MAX_MS;
	r->q.tolerance_ms = HT_TOLERANCE_MAX_MS;
	r->q.hop_limit = HT_HOP_LIMIT_MAX;
	r->q.hint = ht_call_hint(TR_CALLING, TR_CALLED);
	r->q.hint_bits = 16;
	/* 128 octets of text: "é" is two octets. */
	for (int i = 0; i < 64; i++)
		memcpy(r->label + 2 * i, "\xc3\xa9", 2);
	r->q.label.len = 128;
}
static void tw_min_bounds(struct reqb *r)
{
	r->q.expires_ms = r->q.created_ms + 1;
	r->q.tolerance_ms = 0;
	r->q.hop_limit = 1;
	r->q.hint = 0;
	r->q.hint_bits = 0;
	r->q.label.len = 0;
}

/* -- Evidence bundles built field by field -- */

static void pack_bundle(uint32_t version, const uint8_t *req, size_t req_len, const char *calling,
			const char *called, uint8_t *const *answers, const size_t *lens, size_t n,
			uint64_t exported, uint32_t crit, uint8_t **out, size_t *out_len)
{
	Hoptrace__V1__EvidenceBundle b = HOPTRACE__V1__EVIDENCE_BUNDLE__INIT;
	ProtobufCBinaryData *ans = calloc(n ? n : 1, sizeof(*ans));
	if (!ans)
		die("out of memory");
	for (size_t i = 0; i < n; i++)
		ans[i] = (ProtobufCBinaryData){lens[i], answers[i]};
	b.version = version;
	b.request = (ProtobufCBinaryData){req_len, (uint8_t *)req};
	b.calling = (ProtobufCBinaryData){strlen(calling), (uint8_t *)calling};
	b.called = (ProtobufCBinaryData){strlen(called), (uint8_t *)called};
	b.n_answers = n;
	b.answers = ans;
	b.exported_ms = exported;
	if (crit) {
		b.n_critical = 1;
		b.critical = &crit;
	}
	*out_len = protobuf_c_message_get_packed_size(&b.base);
	*out = malloc(*out_len);
	if (!*out)
		die("out of memory");
	protobuf_c_message_pack(&b.base, *out);
	free(ans);
}

/* A bundle that must fail with `want` at answer `at` (-1: request or bundle). */
static void add_bundle_rej(json_t *list, const ht_trust *t, const char *name, const char *what,
			   const uint8_t *b, size_t len, int want, ssize_t at)
{
	ht_bundle_report rep;
	int rc = ht_bundle_verify(b, len, t, &rep);
	if (rc != want || rep.failed_answer != at) {
		fprintf(stderr,
			"gen_vectors: bundle vector %s: library gives %s at answer %zd (%s), spec "
			"says %s at %zd\n",
			name, ht_errname(rc), rep.failed_answer, rep.why, ht_errname(want), at);
		exit(1);
	}
	ht_bundle_report_free(&rep);
	json_t *o = json_object();
	set(o, "name", json_string(name));
	set(o, "description", json_string(what));
	set(o, "bundle_hex", hex(b, len));
	set(o, "expected_error", json_string(ht_errname(want)));
	set(o, "failed_answer", json_integer(at));
	append(list, o);
}

/* Signs a variant of `a` (already tweaked by the caller) as `signer`. */
static void sign_variant(const ht_answer_info *a, const struct party *signer, uint8_t **out,
			 size_t *len)
{
	struct ansb b;
	ansb_fill(&b, a, signer->cert, signer->cert_len);
	pack_sign(&b.h.base, HT_KIND_HOP_ANSWER, signer->k.sign_sk, out, len);
}

static void add_answer_rej(json_t *list, const ht_trust *t, const uint8_t *req_id, const char *name,
			   const char *what, const uint8_t *env, size_t len, int want)
{
	int rc = answer_check(env, len, t, req_id);
	if (rc != want) {
		fprintf(stderr, "gen_vectors: answer vector %s: library gives %s, spec says %s\n",
			name, ht_errname(rc), ht_errname(want));
		exit(1);
	}
	json_t *o = json_object();
	set(o, "name", json_string(name));
	set(o, "description", json_string(what));
	set(o, "answer_hex", hex(env, len));
	set(o, "expected_error", json_string(ht_errname(want)));
	append(list, o);
}

/* An answer variant: `a` tweaked, then signed by `signer` and checked. */
static void answer_variant(json_t *list, const ht_trust *t, const uint8_t *req_id, const char *name,
			   const char *what, const ht_answer_info *a, const struct party *signer,
			   int want)
{
	uint8_t *e;
	size_t el;
	sign_variant(a, signer, &e, &el);
	add_answer_rej(list, t, req_id, name, what, e, el, want);
	free(e);
}

/* A hop's checks of a TraceForward after the request verified (spec 11.5, steps 6-11). */
static json_t *hop_check(const char *name, const char *what, uint32_t hop, const char *asker,
			 bool seen, const char *policy, uint64_t at, ht_reason want)
{
	json_t *o = json_object();
	set(o, "name", json_string(name));
	set(o, "description", json_string(what));
	set(o, "hop", json_integer(hop));
	set(o, "asking_peer", json_string(asker));
	set(o, "trace_id_seen_before", json_boolean(seen));
	set(o, "initiators_policy", policy ? json_pack("[s]", policy) : json_array());
	set(o, "check_time_ms", json_integer((json_int_t)at));
	set(o, "expected_reason", json_integer(want));
	set(o, "expected_reason_name", json_string(reason_enum(want)));
	return o;
}

static void trace_vectors(const char *dir, const ht_keys *anchor, const ht_keys *prov,
			  const uint8_t *prov_seed, const uint8_t *prov_noise, const uint8_t *cert,
			  size_t cert_len, const uint8_t *crl, size_t crl_len,
			  const uint8_t *draft_req, size_t draft_req_len)
{
	/* The three providers: CARRIER-A (keys.json, certificate.json), B, C. */
	struct party A = {.id = "CARRIER-A"}, B, C, A_other;
	memcpy(A.seed, prov_seed, 32);
	memcpy(A.noise, prov_noise, 32);
	A.k = *prov;
	A.cert = dup_bytes(cert, cert_len);
	A.cert_len = cert_len;
	A.serial = CERT_SERIAL;
	A.roles = HT_ROLE_INITIATOR;
	uint8_t s[32], n[32];
	ramp(s, 32, 0x80);
	ramp(n, 32, 0xa0);
	party_init(&B, "CARRIER-B", s, n, B_SERIAL, 0, anchor);
	fill(s, 32, 0x0c);
	fill(n, 32, 0x1c);
	party_init(&C, "CARRIER-C", s, n, 1003, 0, anchor);
	/* CARRIER-A certified by the untrusted anchor of rejections.json. */
	uint8_t other_seed[32];
	ramp(other_seed, 32, 0xe0);
	ht_keys other;
	ok(ht_keys_from_seeds(&other, HT_KEYS_ANCHOR, other_seed, NULL), "other anchor");
	party_init(&A_other, "CARRIER-A", prov_seed, prov_noise, CERT_SERIAL, HT_ROLE_INITIATOR,
		   &other);

	ht_trust *trust, *trust_crl;
	ok(ht_trust_new(&trust), "trust");
	ok(ht_trust_add_anchor(trust, anchor->sign_pk), "anchor");
	ok(ht_trust_new(&trust_crl), "trust");
	ok(ht_trust_add_anchor(trust_crl, anchor->sign_pk), "anchor");
	ht_crl *l;
	ok(ht_crl_parse(crl, crl_len, &l), "crl");
	ok(ht_trust_add_crl(trust_crl, l), "add crl");

	/* ---- The blinded call ---- */
	uint8_t salt[32], tid[16], ask[32], apk[32], com[32];
	ramp(salt, 32, 0x50);
	ramp(tid, 16, 0xd0);
	ramp(ask, 32, 0x70);
	if (crypto_scalarmult_base(apk, ask) != 0)
		die("x25519");
	ok(ht_call_commitment(salt, TR_CALLING, TR_CALLED, com), "commitment");
	static const char cdom[] = "hoptrace/v1 call", hdom[] = "hoptrace/v1 number-hint";
	uint8_t cin[128], hin[128], hd[32];
	size_t cl = 0, hl = 0;
	const char *parts[2] = {TR_CALLING, TR_CALLED};
	memcpy(cin, cdom, strlen(cdom));
	cl = strlen(cdom);
	memcpy(hin, hdom, strlen(hdom));
	hl = strlen(hdom);
	for (int k = 0; k < 2; k++) {
		cin[cl++] = 0;
		hin[hl++] = 0;
		memcpy(cin + cl, parts[k], strlen(parts[k]));
		cl += strlen(parts[k]);
		memcpy(hin + hl, parts[k], strlen(parts[k]));
		hl += strlen(parts[k]);
	}
	uint8_t check[32];
	crypto_generichash(check, 32, cin, cl, salt, 32);
	if (memcmp(check, com, 32) != 0)
		die("commitment differs from its definition");
	crypto_generichash(hd, 32, hin, hl, NULL, 0);
	uint16_t hint16 = (uint16_t)(hd[0] << 8 | hd[1]);
	if (hint16 != ht_call_hint(TR_CALLING, TR_CALLED))
		die("hint differs from its definition");
	uint16_t hint = hint16 & (uint16_t)(0xffffu << (16 - TR_HINTBITS));

	json_t *tj = json_object();
	set(tj, "description",
	    json_string("Traceback (spec section 11): one request from CARRIER-A with a real "
			"commitment and hint, the hop answers of a three-hop trace and three "
			"single examples, each signed and sealed to the request's answer key with "
			"a fixed ephemeral key, the sealed box step by step, and the traceback "
			"peer messages. Providers are certified by the anchor of keys.json."));
	set(tj, "anchor_sign_key_hex", hex(anchor->sign_pk, 32));
	json_t *pj = json_object();
	set(pj, "CARRIER-A",
	    party_json(&A, "envelope_hex of certificate.json (keys.json provider)"));
	set(pj, "CARRIER-B",
	    party_json(&B, "responder.certificate_hex of handshake.json: serial 1002, no roles"));
	set(pj, "CARRIER-C",
	    party_json(&C, "issued by the vector anchor with the serial, roles and validity "
			   "above"));
	set(tj, "parties", pj);

	json_t *bc = json_object();
	set(bc, "calling", json_string(TR_CALLING));
	set(bc, "called", json_string(TR_CALLED));
	set(bc, "salt_hex", hex(salt, 32));
	set(bc, "commitment_input_hex", hex(cin, cl));
	set(bc, "commitment_hex", hex(com, 32));
	set(bc, "hint_input_hex", hex(hin, hl));
	set(bc, "hint_digest_hex", hex(hd, 32));
	set(bc, "hint_16", json_integer(hint16));
	set(bc, "hint_bits", json_integer(TR_HINTBITS));
	set(bc, "hint", json_integer(hint));
	set(tj, "blinded_call", bc);

	/* ---- The request ---- */
	ht_request_params rp = {
		.calling = TR_CALLING,
		.called = TR_CALLED,
		.created_ms = TR_CREATED,
		.expires_ms = TR_EXPIRES,
		.call_time_ms = TR_CALL_MS,
		.tolerance_ms = TR_TOL,
		.hop_limit = TR_HOPS,
		.hint_bits = TR_HINTBITS,
		.label = TR_LABEL,
		.answer_pk = apk,
		.trace_id = tid,
		.salt = salt,
	};
	uint8_t *req;
	size_t req_len;
	ok(ht_request_build(&rp, &A.k, A.cert, A.cert_len, &req, &req_len), "build request");
	{
		struct reqb r;
		reqb_init(&r, &A, apk);
		uint8_t *e;
		size_t el;
		pack_sign(&r.q.base, HT_KIND_TRACE_REQUEST, A.k.sign_sk, &e, &el);
		if (el != req_len || memcmp(e, req, el) != 0)
			die("ht_request_build is not the canonical encoding");
		free(e);
	}
	ht_request *rq;
	ok(ht_request_parse(req, req_len, &rq), "parse request");
	ht_reason why;
	ok(ht_request_verify(rq, trust, TR_CHECK, &why), "verify request");
	uint8_t req_id[HT_MSG_ID_LEN];
	memcpy(req_id, ht_request_id(rq), HT_MSG_ID_LEN);
	trace_req = *ht_request_get(rq);
	if (!ht_request_matches(rq, TR_CALLING, TR_CALLED))
		die("request does not match its own numbers");
	ht_request_free(rq);

	json_t *rj = json_object();
	json_t *f = json_object();
	set(f, "trace_id_hex", hex(tid, 16));
	set(f, "initiator_id", json_string("CARRIER-A"));
	set(f, "initiator_cert", json_string("envelope_hex of certificate.json"));
	set(f, "created_ms", json_integer((json_int_t)TR_CREATED));
	set(f, "expires_ms", json_integer((json_int_t)TR_EXPIRES));
	set(f, "call_time_ms", json_integer((json_int_t)TR_CALL_MS));
	set(f, "tolerance_ms", json_integer(TR_TOL));
	set(f, "hop_limit", json_integer(TR_HOPS));
	set(f, "salt_hex", hex(salt, 32));
	set(f, "call_commitment_hex", hex(com, 32));
	set(f, "answer_key_hex", hex(apk, 32));
	set(f, "hint", json_integer(hint));
	set(f, "hint_bits", json_integer(TR_HINTBITS));
	set(f, "label", json_string(TR_LABEL));
	set(rj, "fields", f);
	set(rj, "answer_secret_hex", hex(ask, 32));
	set(rj, "signer", json_string("CARRIER-A"));
	signed_parts(rj, req, req_len);
	set(rj, "check_time_ms", json_integer((json_int_t)TR_CHECK));
	set(tj, "request", rj);

	/* ---- The answers ---- */
	/* SHAKEN origid of the call, the same at every hop that recorded it. */
	static const uint8_t origid[16] = {0x5f, 0x0c, 0x2a, 0x9e, 0x71, 0x3b, 0x4d, 0x8a,
					   0x9c, 0x61, 0x0e, 0x7f, 0x2d, 0x44, 0xb3, 0x18};
	const uint64_t tA = TR_CALL_MS; /* A's record of the call from B */
	const uint64_t tB = tA - 3000;  /* B's clock is 3 s behind A's */
	const uint64_t tBx = tB - 400;  /* the first leg, from CARRIER-X */
	const uint64_t tC = tB - 3500;  /* C's clock 3.5 s behind B's */
	struct answer_vec av[6];
	memset(av, 0, sizeof(av));
	const char *what[6];

	av[0].name = "a_found";
	av[0].signer = &A;
	av[0].info = answer_base(req_id, "CARRIER-A", "CARRIER-A", HT_ANSWER_FOUND, 0, TR_CALL_MS,
				 TR_CREATED + 4);
	add_call(&av[0].info, "CARRIER-B", tA, 1, origid);
	what[0] = "Hop 0: CARRIER-A, the initiator and terminating carrier, asked by itself, "
		  "matched one call that it terminated, handed over by CARRIER-B.";

	av[1].name = "b_found";
	av[1].signer = &B;
	av[1].info = answer_base(req_id, "CARRIER-B", "CARRIER-A", HT_ANSWER_FOUND, 1, tA,
				 TR_CREATED + 9);
	add_call(&av[1].info, "CARRIER-C", tB, 1, origid);
	add_call(&av[1].info, "CARRIER-X", tBx, 0, NULL);
	what[1] = "Hop 1: CARRIER-B, asked by CARRIER-A around A's record time, matched two "
		  "legs of the call that it handed to CARRIER-A: one from CARRIER-C and an "
		  "earlier one from CARRIER-X.";

	av[2].name = "b_dead_end";
	av[2].signer = &B;
	av[2].info = answer_base(req_id, "CARRIER-B", "CARRIER-A", HT_ANSWER_DEAD_END, 1, tA,
				 TR_CREATED + 10);
	snprintf(av[2].info.upstream, sizeof(av[2].info.upstream), "CARRIER-X");
	av[2].info.reason = HT_REASON_UPSTREAM_NOT_PARTICIPANT;
	what[2] = "Hop 1: CARRIER-B's own statement that the branch to CARRIER-X ends there: "
		  "CARRIER-X is not a HopTrace peer of B.";

	av[3].name = "c_found_origin";
	av[3].signer = &C;
	av[3].info = answer_base(req_id, "CARRIER-C", "CARRIER-B", HT_ANSWER_FOUND, 2, tB,
				 TR_CREATED + 17);
	ht_matched_call *oc = add_call(&av[3].info, "", tC, 1, origid);
	/* The opaque reference of the reference implementation (spec 11.7.3). */
	static const char cref_dom[] = "hoptrace/v1 customer-ref",
			  stored_ref[] = "ACCT-0042-ROBODIAL";
	uint8_t cref_key[32], cref[32];
	crypto_generichash(cref_key, 32, (const uint8_t *)cref_dom, strlen(cref_dom), C.seed, 32);
	crypto_generichash(cref, 32, (const uint8_t *)stored_ref, strlen(stored_ref), cref_key, 32);
	sodium_bin2hex(oc->customer_ref, sizeof(oc->customer_ref), cref, 16);
	what[3] = "Hop 2: CARRIER-C, asked by CARRIER-B around B's record time, matched a "
		  "call that its own customer placed; the customer reference is opaque. C's "
		  "record time is 6.5 s before A's, more than the tolerance: each hop matches "
		  "around its neighbour's time, so drift does not add up.";

	av[4].name = "c_not_found";
	av[4].signer = &C;
	av[4].info = answer_base(req_id, "CARRIER-C", "CARRIER-A", HT_ANSWER_NOT_FOUND, 1, tA,
				 TR_CREATED + 12);
	what[4] = "Hop 1 (not part of the trace above): CARRIER-C, asked by CARRIER-A, found "
		  "no matching call that it handed to CARRIER-A.";

	av[5].name = "b_refused";
	av[5].signer = &B;
	av[5].info = answer_base(req_id, "CARRIER-B", "CARRIER-A", HT_ANSWER_REFUSED, 1, tA,
				 TR_CREATED + 6);
	av[5].info.reason = HT_REASON_POLICY_REFUSED;
	what[5] = "Hop 1 (not part of the trace above): CARRIER-B refuses by policy: it "
		  "answers only the initiators it lists.";

	json_t *aj = json_array();
	for (int k = 0; k < 6; k++) {
		fill(av[k].eph, 32, (uint8_t)(0xe1 + k));
		answer_make(&av[k], apk);
		ht_answer *pa;
		ok(ht_answer_parse(av[k].env, av[k].env_len, &pa), av[k].name);
		ok(ht_answer_verify(pa, trust, req_id), av[k].name);
		ht_answer_free(pa);
		json_t *o = answer_json(&av[k], what[k], apk);
		if (k == 3) {
			json_t *cr = json_object();
			set(cr, "stored_reference", json_string(stored_ref));
			set(cr, "domain", json_string(cref_dom));
			set(cr, "key_hex", hex(cref_key, 32));
			set(cr, "digest_hex", hex(cref, 32));
			set(cr, "customer_ref", json_string(oc->customer_ref));
			set(o, "opaque_customer_ref", cr);
		}
		append(aj, o);
	}
	set(tj, "answers", aj);

	/* The sealed box of c_found_origin, step by step. */
	{
		const struct answer_vec *v = &av[3];
		uint8_t epk[32], shared[32], boxkey[32], nonce[24];
		if (crypto_scalarmult_base(epk, v->eph) != 0 ||
		    crypto_scalarmult(shared, v->eph, apk) != 0 ||
		    crypto_box_beforenm(boxkey, apk, v->eph) != 0)
			die("x25519");
		uint8_t nin[64];
		memcpy(nin, epk, 32);
		memcpy(nin + 32, apk, 32);
		crypto_generichash(nonce, 24, nin, 64, NULL, 0);
		json_t *sb = json_object();
		set(sb, "answer", json_string(v->name));
		set(sb, "plaintext_hex", hex(v->env, v->env_len));
		set(sb, "recipient_key_hex", hex(apk, 32));
		set(sb, "recipient_secret_hex", hex(ask, 32));
		set(sb, "ephemeral_secret_hex", hex(v->eph, 32));
		set(sb, "ephemeral_key_hex", hex(epk, 32));
		set(sb, "nonce_input_hex", hex(nin, 64));
		set(sb, "nonce_hex", hex(nonce, 24));
		set(sb, "shared_secret_hex", hex(shared, 32));
		set(sb, "box_key_hex", hex(boxkey, 32));
		set(sb, "tag_hex", hex(v->sealed + 32, 16));
		set(sb, "ciphertext_hex", hex(v->sealed + 48, v->sealed_len - 48));
		set(sb, "sealed_hex", hex(v->sealed, v->sealed_len));
		set(tj, "sealed_box", sb);
	}

	/* ---- Peer messages ---- */
	json_t *mj = json_array();
	{
		/* A (hop 0, run locally) forwards to B at created + 5 ms: its own
		 * deadline is the request's expiry. */
		uint64_t now = TR_CREATED + 5;
		uint64_t remaining = TR_EXPIRES - now;
		uint32_t budget = (uint32_t)(remaining * 7 / 8 - 50);
		ht_pmsg msgs[4] = {
			{.type = HT_PMSG_TRACE_FORWARD,
			 .data = req,
			 .data_len = req_len,
			 .hop = 1,
			 .window_time_ms = tA,
			 .budget_ms = budget},
			{.type = HT_PMSG_TRACE_ANSWER,
			 .has_trace_id = true,
			 .data = av[3].sealed,
			 .data_len = av[3].sealed_len},
			{.type = HT_PMSG_TRACE_COMPLETE, .has_trace_id = true},
			{.type = HT_PMSG_ERROR,
			 .reason = HT_REASON_MALFORMED,
			 .has_trace_id = true},
		};
		snprintf(msgs[3].detail, sizeof(msgs[3].detail), "request does not parse");
		static const char *const names[4] = {"trace_forward", "trace_answer",
						     "trace_complete", "error"};
		static const char *const notes[4] = {
			("CARRIER-A to CARRIER-B: the request envelope unchanged "
			 "(request.envelope_hex), "
			 "hop 1, window_time_ms = A's record time of the call from B, budget_ms = "
			 "floor((expires_ms - now) * 7 / 8) - 50 with now = created_ms + 5."),
			("CARRIER-B to CARRIER-A, relaying CARRIER-C's sealed answer "
			 "(answers[3].seal.sealed_hex) unchanged."),
			"CARRIER-B to CARRIER-A: B's branch is complete.",
			"An Error about one trace: the reason, a detail for logs, the trace ID.",
		};
		for (int k = 0; k < 4; k++) {
			memcpy(msgs[k].trace_id, tid, 16);
			uint8_t *pt;
			size_t ptl;
			ok(ht_pmsg_encode(&msgs[k], &pt, &ptl), names[k]);
			ht_pmsg back;
			ok(ht_pmsg_decode(pt, ptl, &back), names[k]);
			if (back.type != msgs[k].type)
				die("peer message does not decode to itself");
			ht_pmsg_clear(&back);
			json_t *o = json_object();
			json_t *m = json_object();
			set(o, "name", json_string(names[k]));
			set(o, "description", json_string(notes[k]));
			switch (k) {
			case 0:
				set(m, "request_hex", hex(req, req_len));
				set(m, "hop", json_integer(1));
				set(m, "window_time_ms", json_integer((json_int_t)tA));
				set(m, "budget_ms", json_integer(budget));
				break;
			case 1:
				set(m, "trace_id_hex", hex(tid, 16));
				set(m, "sealed_answer_hex", hex(av[3].sealed, av[3].sealed_len));
				break;
			case 2:
				set(m, "trace_id_hex", hex(tid, 16));
				break;
			default:
				set(m, "reason", json_integer(HT_REASON_MALFORMED));
				set(m, "detail", json_string(msgs[3].detail));
				set(m, "trace_id_hex", hex(tid, 16));
			}
			set(o, "message", m);
			set(o, "plaintext_hex", hex(pt, ptl));
			append(mj, o);
			free(pt);
		}
	}
	set(tj, "peer_messages", mj);
	write_json(dir, "trace.json", tj);

	/* ---- Rejections ---- */
	struct tctx x = {anchor, &A, &B, &C, trust, trust_crl, json_array()};
	json_t *rej = json_object();
	set(rej, "description",
	    json_string("Traceback rejections (spec section 11). requests: parse the request "
			"(11.3.2), then verify it at check_time_ms (11.3.3) trusting only "
			"anchor_sign_key_hex, with revocation-list.json when with_revocation_list; "
			"expected_reason is the reason code the hop sends (0: accepted), and "
			"answer_key_usable says whether the refusal can be a sealed, signed "
			"HopAnswer (else a PeerMessage Error). hop_checks: the checks of section "
			"11.5 that follow (6 to 11), for the request of trace.json. answers: parse "
			"and verify a HopAnswer (11.7.4) bound to request_id_hex; sealed: open a "
			"sealed answer (11.8) with the answer secret key of trace.json. "
			"expected_error is an error token of section 10.1."));
	set(rej, "anchor_sign_key_hex", hex(anchor->sign_pk, 32));

	add_req_rej(&x, "valid", "The request of trace.json.", req, req_len, TR_CHECK, false, true,
		    HT_REASON_UNSPECIFIED);
	req_variant(&x, apk, "bounds_max",
		    "Every bound at its largest: lifetime 3,600,000 ms, tolerance 300,000 ms, hop "
		    "limit 32, 16 hint bits, a label of 128 octets (64 times U+00E9).",
		    tw_max_bounds, &A, TR_CHECK, false, true, HT_REASON_UNSPECIFIED);
	req_variant(&x, apk, "bounds_min",
		    "Every bound at its smallest: lifetime 1 ms, tolerance 0, hop limit 1, no "
		    "hint, no label; checked at created_ms.",
		    tw_min_bounds, &A, TR_CREATED, false, true, HT_REASON_UNSPECIFIED);
	add_req_rej(&x, "at_expiry", "Checked at exactly expires_ms: still valid.", req, req_len,
		    TR_EXPIRES, false, true, HT_REASON_UNSPECIFIED);
	add_req_rej(&x, "skew_edge",
		    "Checked 300,000 ms before created_ms: the largest clock skew allowed.", req,
		    req_len, TR_CREATED - HT_CLOCK_SKEW_MS, false, true, HT_REASON_UNSPECIFIED);
	add_req_rej(&x, "truncated", "The envelope without its last octet.", req, req_len - 1,
		    TR_CHECK, false, false, HT_REASON_MALFORMED);
	add_req_rej(&x, "wrong_kind", "A HopAnswer envelope (answers[0]) offered as a request.",
		    av[0].env, av[0].env_len, TR_CHECK, false, false, HT_REASON_MALFORMED);
	req_variant(&x, apk, "answer_key_short", "answer_key of 31 octets.", tw_answer_key_31, &A,
		    TR_CHECK, false, false, HT_REASON_MALFORMED);
	req_variant(&x, apk, "answer_key_small_order",
		    "answer_key is 32 zero octets, an X25519 point of small order.",
		    tw_answer_key_zero, &A, TR_CHECK, false, false, HT_REASON_MALFORMED);
	req_variant(&x, apk, "unknown_critical", "critical lists field 99.", tw_critical_99, &A,
		    TR_CHECK, false, true, HT_REASON_UNSUPPORTED_CRITICAL);
	req_variant(&x, apk, "trace_id_short", "trace_id of 15 octets.", tw_trace_id_15, &A,
		    TR_CHECK, false, true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "bad_initiator_id", "initiator_id \"CARRIER A!\".",
		    tw_bad_initiator_id, &A, TR_CHECK, false, true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "initiator_id_not_cert",
		    "initiator_id CARRIER-B, but the certificate is CARRIER-A's.",
		    tw_other_initiator_id, &A, TR_CHECK, false, true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "initiator_cert_garbage", "initiator_cert is 3 octets: 08 01 12.",
		    tw_cert_garbage, &A, TR_CHECK, false, true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "expires_not_after_created", "expires_ms equal to created_ms.",
		    tw_expires_eq_created, &A, TR_CHECK, false, true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "lifetime_too_long", "expires_ms = created_ms + 3,600,001.",
		    tw_lifetime_over, &A, TR_CHECK, false, true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "tolerance_too_large", "tolerance_ms 300,001.", tw_tolerance_over, &A,
		    TR_CHECK, false, true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "hop_limit_zero", "hop_limit 0.", tw_hop_limit_0, &A, TR_CHECK, false,
		    true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "hop_limit_33", "hop_limit 33.", tw_hop_limit_33, &A, TR_CHECK, false,
		    true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "salt_short", "salt of 31 octets.", tw_salt_31, &A, TR_CHECK, false,
		    true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "commitment_short", "call_commitment of 31 octets.", tw_commitment_31,
		    &A, TR_CHECK, false, true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "hint_bits_17", "hint_bits 17.", tw_hint_bits_17, &A, TR_CHECK, false,
		    true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "hint_low_bit", "hint with its lowest bit set, below hint_bits 12.",
		    tw_hint_low_bit, &A, TR_CHECK, false, true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "hint_too_large", "hint 65,536 with hint_bits 16.", tw_hint_big, &A,
		    TR_CHECK, false, true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "label_too_long", "A label of 129 octets.", tw_label_129, &A, TR_CHECK,
		    false, true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "label_bad_utf8", "A label with the invalid UTF-8 sequence c3 28.",
		    tw_label_utf8, &A, TR_CHECK, false, true, HT_REASON_MALFORMED);
	req_variant(&x, apk, "label_control", "A label with a line feed (0x0a).", tw_label_ctrl, &A,
		    TR_CHECK, false, true, HT_REASON_MALFORMED);
	{
		uint8_t *b = dup_bytes(req, req_len);
		b[req_len - 1] ^= 0x01;
		add_req_rej(&x, "signature_flipped", "Last signature octet XOR 0x01.", b, req_len,
			    TR_CHECK, false, true, HT_REASON_BAD_SIGNATURE);
		free(b);
	}
	{
		/* Sign with B's key: the body names A's certificate. */
		req_variant(&x, apk, "signed_by_other_key",
			    "The request body of trace.json signed with CARRIER-B's key.", NULL, &B,
			    TR_CHECK, false, true, HT_REASON_BAD_SIGNATURE);
	}
	{
		struct reqb r;
		reqb_init(&r, &A_other, apk);
		uint8_t *e;
		size_t el;
		pack_sign(&r.q.base, HT_KIND_TRACE_REQUEST, A.k.sign_sk, &e, &el);
		add_req_rej(&x, "cert_unknown_anchor",
			    "CARRIER-A's certificate issued by the untrusted anchor (seed e0..ff).",
			    e, el, TR_CHECK, false, true, HT_REASON_UNKNOWN_ANCHOR);
		free(e);
	}
	add_req_rej(&x, "cert_not_yet_valid",
		    "Checked at 1767225599999 ms, before the certificate's not_before; the "
		    "certificate is checked before the request's own times.",
		    req, req_len, T0 * 1000 - 1, false, true, HT_REASON_CERT_NOT_YET_VALID);
	add_req_rej(&x, "cert_expired",
		    "Checked at the certificate's not_after (1798761600000 ms).", req, req_len,
		    T1 * 1000, false, true, HT_REASON_CERT_EXPIRED);
	add_req_rej(&x, "cert_revoked", "With revocation-list.json, which revokes serial 1001.",
		    req, req_len, TR_CHECK, true, true, HT_REASON_CERT_REVOKED);
	{
		struct reqb r;
		reqb_init(&r, &B, apk);
		uint8_t *e;
		size_t el;
		pack_sign(&r.q.base, HT_KIND_TRACE_REQUEST, B.k.sign_sk, &e, &el);
		add_req_rej(&x, "not_an_initiator",
			    "The same request from CARRIER-B, whose certificate has no roles.", e,
			    el, TR_CHECK, false, true, HT_REASON_MISSING_ROLE);
		free(e);
	}
	add_req_rej(&x, "expired", "Checked 1 ms after expires_ms.", req, req_len, TR_EXPIRES + 1,
		    false, true, HT_REASON_EXPIRED);
	add_req_rej(&x, "created_in_future",
		    "Checked 300,001 ms before created_ms: beyond the clock skew allowed.", req,
		    req_len, TR_CREATED - HT_CLOCK_SKEW_MS - 1, false, true, HT_REASON_EXPIRED);
	set(rej, "requests", x.list);

	json_t *hc = json_array();
	append(hc,
	       hop_check("hop0_from_initiator", "Hop 0, asked by the initiator itself: answered.",
			 0, "CARRIER-A", false, NULL, TR_CHECK, HT_REASON_UNSPECIFIED));
	append(hc, hop_check("hop1", "Hop 1, asked by a peer: answered.", 1, "CARRIER-B", false,
			     NULL, TR_CHECK, HT_REASON_UNSPECIFIED));
	append(hc, hop_check("last_hop", "Hop 15 with hop_limit 16: answered.", 15, "CARRIER-B",
			     false, NULL, TR_CHECK, HT_REASON_UNSPECIFIED));
	append(hc, hop_check("hop_limit", "Hop 16 with hop_limit 16.", 16, "CARRIER-B", false, NULL,
			     TR_CHECK, HT_REASON_HOP_LIMIT));
	append(hc, hop_check("hop0_not_initiator", "Hop 0 asked by CARRIER-B, not the initiator.",
			     0, "CARRIER-B", false, NULL, TR_CHECK, HT_REASON_POLICY_REFUSED));
	append(hc, hop_check("duplicate", "The trace ID was seen before: a replay or a loop.", 1,
			     "CARRIER-B", true, NULL, TR_CHECK, HT_REASON_DUPLICATE));
	append(hc, hop_check("hop_limit_before_duplicate",
			     "Hop 16 and seen before: the hop limit is checked first.", 16,
			     "CARRIER-B", true, NULL, TR_CHECK, HT_REASON_HOP_LIMIT));
	append(hc, hop_check("expired_before_hop_limit",
			     "Hop 16, checked after expiry: the request is verified first.", 16,
			     "CARRIER-B", false, NULL, TR_EXPIRES + 1, HT_REASON_EXPIRED));
	append(hc, hop_check("policy_initiators",
			     "The hop answers only CARRIER-Z's traces ([policy] initiators).", 1,
			     "CARRIER-B", false, "CARRIER-Z", TR_CHECK, HT_REASON_POLICY_REFUSED));
	append(hc, hop_check("duplicate_before_policy",
			     "Seen before and refused by policy: the duplicate check is first.", 1,
			     "CARRIER-B", true, "CARRIER-Z", TR_CHECK, HT_REASON_DUPLICATE));
	set(rej, "hop_checks", hc);

	/* Answers. */
	json_t *al = json_array();
	set(rej, "request_id_hex", hex(req_id, HT_MSG_ID_LEN));
	add_answer_rej(al, trust, req_id, "valid", "answers[1] of trace.json.", av[1].env,
		       av[1].env_len, HT_OK);
	{
		uint8_t *b = dup_bytes(av[1].env, av[1].env_len);
		b[av[1].env_len - 1] ^= 0x01;
		add_answer_rej(al, trust, req_id, "signature_flipped",
			       "answers[1] with its last signature octet XOR 0x01.", b,
			       av[1].env_len, HT_E_BAD_SIGNATURE);
		free(b);
	}
	{
		/* Bound to the request of trace-request.json. */
		ht_envelope *de;
		uint8_t other_id[HT_MSG_ID_LEN];
		ok(ht_envelope_parse(draft_req, draft_req_len, &de), "draft request");
		ok(ht_envelope_id(de, other_id), "draft id");
		ht_envelope_free(de);
		ht_answer_info a = av[1].info;
		memcpy(a.request_hash, other_id, HT_MSG_ID_LEN);
		answer_variant(al, trust, req_id, "wrong_request",
			       "answers[1] re-signed with request_hash = the message ID of "
			       "trace-request.json: bound to another request.",
			       &a, &B, HT_E_WRONG_REQUEST);
	}
	{
		ht_answer_info a = av[1].info;
		snprintf(a.provider_id, sizeof(a.provider_id), "CARRIER-C");
		answer_variant(al, trust, req_id, "provider_not_cert",
			       "provider_id CARRIER-C with CARRIER-B's certificate (signed by B).",
			       &a, &B, HT_E_MALFORMED);
	}
	{
		struct party B_other;
		uint8_t bs[32], bn[32];
		ramp(bs, 32, 0x80);
		ramp(bn, 32, 0xa0);
		party_init(&B_other, "CARRIER-B", bs, bn, B_SERIAL, 0, &other);
		answer_variant(al, trust, req_id, "cert_unknown_anchor",
			       "answers[1] with a CARRIER-B certificate from the untrusted anchor.",
			       &av[1].info, &B_other, HT_E_UNKNOWN_ANCHOR);
		free(B_other.cert);
		ht_keys_wipe(&B_other.k);
	}
	{
		ht_answer_info a = av[1].info;
		a.answered_ms = T1 * 1000;
		answer_variant(al, trust, req_id, "cert_expired_when_answered",
			       "answered_ms at the certificate's not_after: certificates are "
			       "checked at answered_ms.",
			       &a, &B, HT_E_EXPIRED);
		a = av[1].info;
		a.answered_ms = TR_CREATED - HT_CLOCK_SKEW_MS;
		answer_variant(al, trust, req_id, "answered_at_skew_edge",
			       "answered_ms = created_ms - 300,000: the earliest time allowed.", &a,
			       &B, HT_OK);
		a.answered_ms = TR_CREATED - HT_CLOCK_SKEW_MS - 1;
		answer_variant(al, trust, req_id, "answered_before_request",
			       "answered_ms = created_ms - 300,001: dated before the request "
			       "existed (its certificate is valid then).",
			       &a, &B, HT_E_BAD_TIME);
		a.answered_ms = TR_EXPIRES + HT_CLOCK_SKEW_MS;
		answer_variant(al, trust, req_id, "answered_at_late_edge",
			       "answered_ms = expires_ms + 300,000: the latest time allowed.", &a,
			       &B, HT_OK);
		a.answered_ms = TR_EXPIRES + HT_CLOCK_SKEW_MS + 1;
		answer_variant(al, trust, req_id, "answered_after_expiry",
			       "answered_ms = expires_ms + 300,001: dated after the request ended.",
			       &a, &B, HT_E_BAD_TIME);
	}
	{
		ht_answer_info a = av[1].info;
		a.status = 0;
		answer_variant(al, trust, req_id, "status_unspecified", "status 0.", &a, &B,
			       HT_E_MALFORMED);
		a = av[1].info;
		a.status = 5;
		answer_variant(al, trust, req_id, "status_unknown", "status 5.", &a, &B,
			       HT_E_MALFORMED);
		a = av[4].info;
		a.status = HT_ANSWER_FOUND;
		answer_variant(al, trust, req_id, "found_without_calls", "FOUND with no calls.", &a,
			       &C, HT_E_MALFORMED);
		a = av[1].info;
		a.reason = HT_REASON_POLICY_REFUSED;
		answer_variant(al, trust, req_id, "found_with_reason", "FOUND with a reason.", &a,
			       &B, HT_E_MALFORMED);
		a = av[1].info;
		a.status = HT_ANSWER_NOT_FOUND;
		answer_variant(al, trust, req_id, "not_found_with_calls", "NOT_FOUND with calls.",
			       &a, &B, HT_E_MALFORMED);
		a = av[5].info;
		a.reason = 0;
		answer_variant(al, trust, req_id, "refused_without_reason",
			       "REFUSED with reason 0.", &a, &B, HT_E_MALFORMED);
		a = av[5].info;
		a.reason = 99;
		answer_variant(al, trust, req_id, "refused_unknown_reason",
			       "REFUSED with reason 99, which this version does not define: "
			       "accepted (section 9.4).",
			       &a, &B, HT_OK);
		a = av[2].info;
		a.upstream[0] = 0;
		answer_variant(al, trust, req_id, "dead_end_without_upstream",
			       "DEAD_END with no upstream.", &a, &B, HT_E_MALFORMED);
		a = av[2].info;
		snprintf(a.upstream, sizeof(a.upstream), "CARRIER X");
		answer_variant(al, trust, req_id, "dead_end_bad_upstream",
			       "DEAD_END naming \"CARRIER X\", not a provider ID.", &a, &B,
			       HT_E_MALFORMED);
		a = av[5].info;
		snprintf(a.upstream, sizeof(a.upstream), "CARRIER-X");
		answer_variant(al, trust, req_id, "refused_with_upstream",
			       "REFUSED naming an upstream.", &a, &B, HT_E_MALFORMED);
		a = av[1].info;
		a.hop = HT_HOP_LIMIT_MAX;
		answer_variant(al, trust, req_id, "hop_32", "hop 32.", &a, &B, HT_E_MALFORMED);
		a = av[1].info;
		snprintf(a.asked_by, sizeof(a.asked_by), "-A");
		answer_variant(al, trust, req_id, "bad_asked_by", "asked_by \"-A\".", &a, &B,
			       HT_E_MALFORMED);
		a = av[1].info;
		a.calls[0].originated_here = true;
		answer_variant(al, trust, req_id, "call_upstream_and_origin",
			       "A call with both an upstream and originated_here.", &a, &B,
			       HT_E_MALFORMED);
		a = av[3].info;
		a.calls[0].originated_here = false;
		answer_variant(al, trust, req_id, "call_neither",
			       "A call with neither an upstream nor originated_here.", &a, &C,
			       HT_E_MALFORMED);
		a = av[1].info;
		snprintf(a.calls[0].customer_ref, sizeof(a.calls[0].customer_ref), "ACME");
		answer_variant(al, trust, req_id, "customer_ref_with_upstream",
			       "A customer reference on a call from an upstream.", &a, &B,
			       HT_E_MALFORMED);
		a = av[3].info;
		memset(a.calls[0].customer_ref, 'r', HT_CUSTOMER_REF_MAX);
		a.calls[0].customer_ref[HT_CUSTOMER_REF_MAX] = 0;
		answer_variant(al, trust, req_id, "customer_ref_64",
			       "A customer reference of 64 octets: the largest.", &a, &C, HT_OK);
	}
	{
		/* Beyond what ht_answer_info holds: built on the protobuf fields. */
		struct ansb b;
		uint8_t *e;
		size_t el;
		char ref[HT_CUSTOMER_REF_MAX + 2];
		memset(ref, 'r', sizeof(ref));
		ansb_fill(&b, &av[3].info, C.cert, C.cert_len);
		b.calls[0].customer_ref =
			(ProtobufCBinaryData){HT_CUSTOMER_REF_MAX + 1, (uint8_t *)ref};
		pack_sign(&b.h.base, HT_KIND_HOP_ANSWER, C.k.sign_sk, &e, &el);
		add_answer_rej(al, trust, req_id, "customer_ref_65",
			       "A customer reference of 65 octets.", e, el, HT_E_MALFORMED);
		free(e);

		ansb_fill(&b, &av[3].info, C.cert, C.cert_len);
		b.calls[0].customer_ref = (ProtobufCBinaryData){5, (uint8_t *)"AC\tME"};
		pack_sign(&b.h.base, HT_KIND_HOP_ANSWER, C.k.sign_sk, &e, &el);
		add_answer_rej(al, trust, req_id, "customer_ref_control",
			       "A customer reference with a tab (0x09).", e, el, HT_E_MALFORMED);
		free(e);

		ansb_fill(&b, &av[3].info, C.cert, C.cert_len);
		b.calls[0].origid.len = 15;
		pack_sign(&b.h.base, HT_KIND_HOP_ANSWER, C.k.sign_sk, &e, &el);
		add_answer_rej(al, trust, req_id, "origid_15", "An origid of 15 octets.", e, el,
			       HT_E_MALFORMED);
		free(e);

		ansb_fill(&b, &av[3].info, C.cert, C.cert_len);
		b.calls[0].attestation = (Hoptrace__V1__Attestation)4;
		pack_sign(&b.h.base, HT_KIND_HOP_ANSWER, C.k.sign_sk, &e, &el);
		add_answer_rej(al, trust, req_id, "attestation_4", "Attestation 4.", e, el,
			       HT_E_MALFORMED);
		free(e);

		ansb_fill(&b, &av[1].info, B.cert, B.cert_len);
		for (size_t k = 2; k <= HT_ANSWER_CALLS_MAX; k++) {
			b.calls[k] = b.calls[0];
			b.callp[k] = &b.calls[k];
		}
		b.h.n_calls = HT_ANSWER_CALLS_MAX + 1;
		pack_sign(&b.h.base, HT_KIND_HOP_ANSWER, B.k.sign_sk, &e, &el);
		add_answer_rej(al, trust, req_id, "calls_17", "FOUND with 17 calls.", e, el,
			       HT_E_MALFORMED);
		free(e);

		ansb_fill(&b, &av[1].info, B.cert, B.cert_len);
		b.h.request_hash.len = 31;
		pack_sign(&b.h.base, HT_KIND_HOP_ANSWER, B.k.sign_sk, &e, &el);
		add_answer_rej(al, trust, req_id, "request_hash_31", "request_hash of 31 octets.",
			       e, el, HT_E_MALFORMED);
		free(e);

		ansb_fill(&b, &av[1].info, B.cert, B.cert_len);
		b.crit[0] = 99;
		b.h.critical = b.crit;
		b.h.n_critical = 1;
		pack_sign(&b.h.base, HT_KIND_HOP_ANSWER, B.k.sign_sk, &e, &el);
		add_answer_rej(al, trust, req_id, "unknown_critical", "critical lists field 99.", e,
			       el, HT_E_UNSUPPORTED_CRITICAL);
		free(e);

		ansb_fill(&b, &av[1].info, B.cert, B.cert_len);
		b.crit[0] = 6;
		b.h.critical = b.crit;
		b.h.n_critical = 1;
		pack_sign(&b.h.base, HT_KIND_HOP_ANSWER, B.k.sign_sk, &e, &el);
		add_answer_rej(al, trust, req_id, "critical_reserved",
			       "critical lists field 6, which is reserved (never defined).", e, el,
			       HT_E_UNSUPPORTED_CRITICAL);
		free(e);

		ansb_fill(&b, &av[1].info, B.cert, B.cert_len);
		b.h.certificate = (ProtobufCBinaryData){3, (uint8_t *)"\x08\x01\x12"};
		pack_sign(&b.h.base, HT_KIND_HOP_ANSWER, B.k.sign_sk, &e, &el);
		add_answer_rej(al, trust, req_id, "certificate_garbage",
			       "certificate is 3 octets: 08 01 12.", e, el, HT_E_MALFORMED);
		free(e);
	}
	add_answer_rej(al, trust, req_id, "wrong_kind",
		       "The request envelope offered as an answer.", req, req_len, HT_E_WRONG_KIND);
	set(rej, "answers", al);

	/* Sealed answers. */
	json_t *sl = json_array();
	struct {
		const char *name, *what;
		uint8_t *box;
		size_t len;
		int want;
	} sv[4];
	sv[0].box = dup_bytes(av[1].sealed, av[1].sealed_len);
	sv[0].len = av[1].sealed_len;
	sv[0].name = "valid";
	sv[0].what = "answers[1].seal.sealed_hex.";
	sv[0].want = HT_OK;
	sv[1].box = dup_bytes(av[1].sealed, av[1].sealed_len);
	sv[1].len = av[1].sealed_len;
	sv[1].box[sv[1].len - 1] ^= 0x01;
	sv[1].name = "tampered";
	sv[1].what = "answers[1].seal.sealed_hex with its last octet XOR 0x01.";
	sv[1].want = HT_E_DECRYPT;
	sv[2].box = dup_bytes(av[1].sealed, 47);
	sv[2].len = 47;
	sv[2].name = "short";
	sv[2].what = "47 octets: shorter than the 48 octets of overhead.";
	sv[2].want = HT_E_DECRYPT;
	{
		/* Sealed to the answer key of trace-request.json instead. */
		uint8_t dsk[32], dpk[32];
		ramp(dsk, 32, 0xb0);
		if (crypto_scalarmult_base(dpk, dsk) != 0)
			die("x25519");
		ok(ht_seal(av[1].env, av[1].env_len, dpk, av[1].eph, &sv[3].box, &sv[3].len),
		   "seal other");
	}
	sv[3].name = "other_key";
	sv[3].what = "answers[1] sealed to the answer key of trace-request.json.";
	sv[3].want = HT_E_DECRYPT;
	for (int k = 0; k < 4; k++) {
		uint8_t *m;
		size_t ml;
		int rc = ht_unseal(sv[k].box, sv[k].len, apk, ask, &m, &ml);
		if (rc != sv[k].want)
			die("sealed vector: the library disagrees");
		if (rc == HT_OK) {
			if (ml != av[1].env_len || memcmp(m, av[1].env, ml) != 0)
				die("unseal");
			free(m);
		}
		json_t *o = json_object();
		set(o, "name", json_string(sv[k].name));
		set(o, "description", json_string(sv[k].what));
		set(o, "sealed_hex", hex(sv[k].box, sv[k].len));
		set(o, "expected_error", json_string(ht_errname(sv[k].want)));
		append(sl, o);
		free(sv[k].box);
	}
	set(rej, "sealed", sl);
	write_json(dir, "trace-rejections.json", rej);

	/* ---- Evidence bundles ---- */
	json_t *bj = json_object();
	set(bj, "description",
	    json_string("Evidence bundles (spec section 11.16) of the trace of trace.json, "
			"verified with the anchor of keys.json as the only anchor and no "
			"revocation list. bundles must verify, with the tree given in expected "
			"(nodes by hop, then bundle order; parent is an index into nodes, -1 for "
			"none). rejections must fail with expected_error at failed_answer (the "
			"index in the bundle's answers; -1: the bundle, the request or the "
			"opening)."));
	set(bj, "anchor_sign_key_hex", hex(anchor->sign_pk, 32));
	json_t *bl = json_array();
	const uint64_t exported = TR_CREATED + 2000;
	struct {
		const char *name, *what;
		int idx[4];
		size_t n;
		size_t open;
	} bv[2] = {
		{"chain",
		 "A three-hop chain to the origin: CARRIER-A (hop 0), CARRIER-B (hop 1) with its "
		 "dead end at CARRIER-X, CARRIER-C (hop 2), where the call originated.",
		 {0, 1, 2, 3},
		 4,
		 0},
		{"open_branch",
		 "The same without CARRIER-B's dead end: the branch to CARRIER-X is open.",
		 {0, 1, 3, -1},
		 3,
		 1},
	};
	uint8_t *chain = NULL;
	size_t chain_len = 0;
	for (int k = 0; k < 2; k++) {
		const uint8_t *ap[4];
		size_t al2[4];
		for (size_t i = 0; i < bv[k].n; i++) {
			ap[i] = av[bv[k].idx[i]].env;
			al2[i] = av[bv[k].idx[i]].env_len;
		}
		uint8_t *b;
		size_t blen;
		ok(ht_bundle_encode(req, req_len, TR_CALLING, TR_CALLED, ap, al2, bv[k].n, exported,
				    &b, &blen),
		   "bundle");
		ht_bundle_report rep;
		ok(ht_bundle_verify(b, blen, trust, &rep), bv[k].name);
		if (rep.n_open != bv[k].open || !rep.origin_found || rep.n_nodes != bv[k].n)
			die("bundle report differs from the spec's");
		json_t *o = json_object();
		set(o, "name", json_string(bv[k].name));
		set(o, "description", json_string(bv[k].what));
		json_t *fj = json_object();
		set(fj, "version", json_integer(1));
		set(fj, "request_hex", hex(req, req_len));
		set(fj, "calling", json_string(TR_CALLING));
		set(fj, "called", json_string(TR_CALLED));
		/* Indexes into trace.json's answers: the bundle holds their envelope_hex. */
		json_t *idx = json_array(), *names = json_array();
		for (size_t i = 0; i < bv[k].n; i++) {
			append(idx, json_integer(bv[k].idx[i]));
			append(names, json_string(av[bv[k].idx[i]].name));
		}
		set(fj, "answer_indexes", idx);
		set(fj, "answer_names", names);
		set(fj, "exported_ms", json_integer((json_int_t)exported));
		set(o, "fields", fj);
		set(o, "bundle_hex", hex(b, blen));
		json_t *ex = json_object();
		set(ex, "error", json_string("ok"));
		set(ex, "origin_found", json_boolean(rep.origin_found));
		set(ex, "open_branches", json_integer((json_int_t)rep.n_open));
		json_t *nodes = json_array();
		for (size_t i = 0; i < rep.n_nodes; i++) {
			const ht_bundle_node *nd = &rep.nodes[i];
			json_t *nj = json_object();
			set(nj, "answer", json_integer((json_int_t)nd->answer));
			set(nj, "provider_id", json_string(nd->info.provider_id));
			set(nj, "hop", json_integer(nd->info.hop));
			set(nj, "status", json_string(ht_answer_status_name(nd->info.status)));
			set(nj, "parent", json_integer((json_int_t)nd->parent));
			append(nodes, nj);
		}
		set(ex, "nodes", nodes);
		set(o, "expected", ex);
		append(bl, o);
		ht_bundle_report_free(&rep);
		if (k == 0) {
			chain = b;
			chain_len = blen;
		} else {
			free(b);
		}
	}
	set(bj, "bundles", bl);

	/* Rejections: the chain bundle, broken one way at a time. */
	json_t *br = json_array();
	uint8_t *ans[5];
	size_t lens[5];
	for (int i = 0; i < 4; i++) {
		ans[i] = av[i].env;
		lens[i] = av[i].env_len;
	}
	uint8_t *b;
	size_t blen;
	{
		pack_bundle(1, req, req_len, TR_CALLING, TR_CALLED, ans, lens, 4, exported, 0, &b,
			    &blen);
		if (blen != chain_len || memcmp(b, chain, blen) != 0)
			die("ht_bundle_encode is not the canonical encoding");
		free(b);
	}
	add_bundle_rej(br, trust, "truncated", "The chain bundle without its last octet.", chain,
		       chain_len - 1, HT_E_MALFORMED, -1);
	pack_bundle(2, req, req_len, TR_CALLING, TR_CALLED, ans, lens, 4, exported, 0, &b, &blen);
	add_bundle_rej(br, trust, "version_2", "version 2.", b, blen, HT_E_UNSUPPORTED_VERSION, -1);
	free(b);
	pack_bundle(1, req, req_len, TR_CALLING, TR_CALLED, ans, lens, 4, exported, 99, &b, &blen);
	add_bundle_rej(br, trust, "unknown_critical", "critical lists field 99.", b, blen,
		       HT_E_UNSUPPORTED_CRITICAL, -1);
	free(b);
	{
		uint8_t one = 0, *many[HT_BUNDLE_ANSWERS_MAX + 1];
		size_t ml[HT_BUNDLE_ANSWERS_MAX + 1];
		for (size_t i = 0; i <= HT_BUNDLE_ANSWERS_MAX; i++) {
			many[i] = &one;
			ml[i] = 0;
		}
		pack_bundle(1, req, req_len, TR_CALLING, TR_CALLED, many, ml,
			    HT_BUNDLE_ANSWERS_MAX + 1, exported, 0, &b, &blen);
		add_bundle_rej(br, trust, "answers_1025", "1,025 answers, each empty.", b, blen,
			       HT_E_TOO_LARGE, -1);
		free(b);
	}
	{
		uint8_t *r2 = dup_bytes(req, req_len);
		r2[req_len - 1] ^= 0x01;
		pack_bundle(1, r2, req_len, TR_CALLING, TR_CALLED, ans, lens, 4, exported, 0, &b,
			    &blen);
		add_bundle_rej(br, trust, "request_signature",
			       "The request's last signature octet XOR 0x01.", b, blen,
			       HT_E_BAD_SIGNATURE, -1);
		free(b);
		free(r2);
	}
	{
		struct reqb r;
		reqb_init(&r, &B, apk);
		uint8_t *e;
		size_t el;
		pack_sign(&r.q.base, HT_KIND_TRACE_REQUEST, B.k.sign_sk, &e, &el);
		pack_bundle(1, e, el, TR_CALLING, TR_CALLED, NULL, NULL, 0, exported, 0, &b, &blen);
		add_bundle_rej(br, trust, "initiator_missing_role",
			       "The request from CARRIER-B, which lacks the initiator role (no "
			       "answers).",
			       b, blen, HT_E_MISSING_ROLE, -1);
		free(b);
		free(e);
	}
	pack_bundle(1, req, req_len, "12025550144", TR_CALLED, ans, lens, 4, exported, 0, &b,
		    &blen);
	add_bundle_rej(br, trust, "opening_wrong_number",
		       "The opening names calling 12025550144: not the committed call.", b, blen,
		       HT_E_BAD_SIGNATURE, -1);
	free(b);
	pack_bundle(1, req, req_len, "+12025550143", TR_CALLED, ans, lens, 4, exported, 0, &b,
		    &blen);
	add_bundle_rej(br, trust, "opening_not_digits",
		       "The opening's calling number is \"+12025550143\", not E.164 digits.", b,
		       blen, HT_E_MALFORMED, -1);
	free(b);
	{
		struct reqb r;
		reqb_init(&r, &A, apk);
		r.q.hint ^= 0x8000;
		uint8_t *e;
		size_t el;
		pack_sign(&r.q.base, HT_KIND_TRACE_REQUEST, A.k.sign_sk, &e, &el);
		pack_bundle(1, e, el, TR_CALLING, TR_CALLED, NULL, NULL, 0, exported, 0, &b, &blen);
		add_bundle_rej(br, trust, "opening_wrong_hint",
			       "A request whose commitment matches the opening but whose hint "
			       "has its top bit flipped (no answers).",
			       b, blen, HT_E_BAD_SIGNATURE, -1);
		free(b);
		free(e);
	}
	{
		uint8_t *saved = ans[1];
		ans[1] = dup_bytes(saved, lens[1]);
		ans[1][lens[1] - 1] ^= 0x01;
		pack_bundle(1, req, req_len, TR_CALLING, TR_CALLED, ans, lens, 4, exported, 0, &b,
			    &blen);
		add_bundle_rej(br, trust, "answer_signature",
			       "Answer 1 (CARRIER-B) with its last signature octet XOR 0x01.", b,
			       blen, HT_E_BAD_SIGNATURE, 1);
		free(b);
		free(ans[1]);
		ans[1] = saved;
	}
	/* Answers re-signed with one field changed, put in the chain's place. */
	struct {
		const char *name, *what;
		int slot;
		int want;
		ssize_t at;
	} ch[] = {
		{"answer_wrong_request",
		 "Answer 3 (CARRIER-C) bound to the request of trace-request.json.", 3,
		 HT_E_WRONG_REQUEST, 3},
		{"hop0_not_asked_by_initiator",
		 "Answer 0 (CARRIER-A, hop 0) says asked_by CARRIER-B.", 0, HT_E_MALFORMED, 0},
		{"no_parent",
		 "Answer 3 (CARRIER-C, hop 2) says asked_by CARRIER-A, which has no "
		 "FOUND answer at hop 1.",
		 3, HT_E_MALFORMED, 3},
		{"parent_does_not_name",
		 "Answer 1 (CARRIER-B) lists CARRIER-D instead of CARRIER-C: "
		 "answer 3 hangs from nothing.",
		 1, HT_E_MALFORMED, 3},
		{"window_mismatch",
		 "Answer 3 (CARRIER-C): window_time_ms 1 ms off B's record time of the call.", 3,
		 HT_E_MALFORMED, 3},
		{"dead_end_orphan",
		 "Answer 2 (CARRIER-B's dead end) names CARRIER-Y, which B's FOUND answer does not "
		 "list.",
		 2, HT_E_MALFORMED, 2},
		{"wrong_hop", "Answer 3 (CARRIER-C) says hop 3.", 3, HT_E_MALFORMED, 3},
	};
	for (size_t k = 0; k < sizeof(ch) / sizeof(ch[0]); k++) {
		int slot = ch[k].slot;
		ht_answer_info a = av[slot].info;
		switch (k) {
		case 0: {
			ht_envelope *de;
			ok(ht_envelope_parse(draft_req, draft_req_len, &de), "draft request");
			ok(ht_envelope_id(de, a.request_hash), "draft id");
			ht_envelope_free(de);
			break;
		}
		case 1:
			snprintf(a.asked_by, sizeof(a.asked_by), "CARRIER-B");
			break;
		case 2:
			snprintf(a.asked_by, sizeof(a.asked_by), "CARRIER-A");
			break;
		case 3:
			snprintf(a.calls[0].upstream, sizeof(a.calls[0].upstream), "CARRIER-D");
			break;
		case 4:
			a.window_time_ms += 1;
			break;
		case 5:
			snprintf(a.upstream, sizeof(a.upstream), "CARRIER-Y");
			break;
		default:
			a.hop = 3;
		}
		uint8_t *saved = ans[slot], *e;
		size_t saved_len = lens[slot], el;
		sign_variant(&a, av[slot].signer, &e, &el);
		ans[slot] = e;
		lens[slot] = el;
		pack_bundle(1, req, req_len, TR_CALLING, TR_CALLED, ans, lens, 4, exported, 0, &b,
			    &blen);
		add_bundle_rej(br, trust, ch[k].name, ch[k].what, b, blen, ch[k].want, ch[k].at);
		free(b);
		free(e);
		ans[slot] = saved;
		lens[slot] = saved_len;
	}
	{
		ans[4] = av[1].env;
		lens[4] = av[1].env_len;
		pack_bundle(1, req, req_len, TR_CALLING, TR_CALLED, ans, lens, 5, exported, 0, &b,
			    &blen);
		add_bundle_rej(br, trust, "duplicate_answer", "Answer 1 (CARRIER-B) twice.", b,
			       blen, HT_E_MALFORMED, 4);
		free(b);
	}
	{
		struct party C_other;
		uint8_t cs[32], cn[32];
		fill(cs, 32, 0x0c);
		fill(cn, 32, 0x1c);
		party_init(&C_other, "CARRIER-C", cs, cn, 1003, 0, &other);
		uint8_t *saved = ans[3], *e;
		size_t saved_len = lens[3], el;
		sign_variant(&av[3].info, &C_other, &e, &el);
		ans[3] = e;
		lens[3] = el;
		pack_bundle(1, req, req_len, TR_CALLING, TR_CALLED, ans, lens, 4, exported, 0, &b,
			    &blen);
		add_bundle_rej(br, trust, "answer_cert_untrusted",
			       "Answer 3 (CARRIER-C) signed under a certificate from the "
			       "untrusted anchor.",
			       b, blen, HT_E_UNKNOWN_ANCHOR, 3);
		free(b);
		free(e);
		ans[3] = saved;
		lens[3] = saved_len;
		free(C_other.cert);
		ht_keys_wipe(&C_other.k);
	}
	{
		/* Backdated: B's FOUND answer re-signed 300,001 ms before the request. */
		ht_answer_info a = av[1].info;
		a.answered_ms = TR_CREATED - HT_CLOCK_SKEW_MS - 1;
		uint8_t *saved = ans[1], *e;
		size_t saved_len = lens[1], el;
		sign_variant(&a, &B, &e, &el);
		ans[1] = e;
		lens[1] = el;
		pack_bundle(1, req, req_len, TR_CALLING, TR_CALLED, ans, lens, 4, exported, 0, &b,
			    &blen);
		add_bundle_rej(br, trust, "answer_bad_time",
			       "Answer 1 (CARRIER-B) re-signed with answered_ms = created_ms - "
			       "300,001: dated before the request existed.",
			       b, blen, HT_E_BAD_TIME, 1);
		free(b);
		/* B12 for every answer before B13 for any: answer 1 breaks the chain
		 * (its window is 1 ms off), answer 3's signature is flipped. */
		free(e);
		a = av[1].info;
		a.window_time_ms += 1;
		sign_variant(&a, &B, &e, &el);
		ans[1] = e;
		lens[1] = el;
		uint8_t *saved3 = ans[3];
		ans[3] = dup_bytes(saved3, lens[3]);
		ans[3][lens[3] - 1] ^= 0x01;
		pack_bundle(1, req, req_len, TR_CALLING, TR_CALLED, ans, lens, 4, exported, 0, &b,
			    &blen);
		add_bundle_rej(
			br, trust, "b12_before_b13",
			"Answer 1 (CARRIER-B) breaks the chain (window_time_ms 1 ms off) and "
			"answer 3 (CARRIER-C) has its last signature octet XOR 0x01: every "
			"answer goes through B12 before any goes through B13, so the error "
			"is answer 3's.",
			b, blen, HT_E_BAD_SIGNATURE, 3);
		free(b);
		free(e);
		free(ans[3]);
		ans[3] = saved3;
		ans[1] = saved;
		lens[1] = saved_len;
	}
	pack_bundle(1, req, req_len, TR_CALLING, TR_CALLED, ans, lens, 4, 0, 0, &b, &blen);
	add_bundle_rej(br, trust, "no_export_time",
		       "The chain bundle without exported_ms: what a bundle cut short after its "
		       "last answer looks like (B5a).",
		       b, blen, HT_E_MALFORMED, -1);
	free(b);
	set(bj, "rejections", br);
	write_json(dir, "evidence-bundle.json", bj);

	free(chain);
	for (int k = 0; k < 6; k++) {
		free(av[k].env);
		free(av[k].sealed);
	}
	free(req);
	free(A.cert);
	free(B.cert);
	free(C.cert);
	free(A_other.cert);
	ht_keys_wipe(&B.k);
	ht_keys_wipe(&C.k);
	ht_keys_wipe(&A_other.k);
	ht_keys_wipe(&other);
	ht_trust_free(trust);
	ht_trust_free(trust_crl);
}

/* ---- decoding.json: the decoding rules of spec section 2.6 ---- */

/*
 * Drops the unknown fields of `m` and of every message inside it, so that
 * packing gives the canonical encoding (spec 2.7, rule 5). `m` comes from
 * protobuf-c's default allocator, which is malloc.
 */
static void strip_unknown(ProtobufCMessage *m)
{
	for (unsigned i = 0; i < m->n_unknown_fields; i++)
		free(m->unknown_fields[i].data);
	free(m->unknown_fields);
	m->unknown_fields = NULL;
	m->n_unknown_fields = 0;
	const ProtobufCMessageDescriptor *d = m->descriptor;
	char *base = (char *)m;
	for (unsigned f = 0; f < d->n_fields; f++) {
		const ProtobufCFieldDescriptor *fd = &d->fields[f];
		if (fd->type != PROTOBUF_C_TYPE_MESSAGE)
			continue;
		if (fd->label == PROTOBUF_C_LABEL_REPEATED) {
			size_t n = *(size_t *)(base + fd->quantifier_offset);
			ProtobufCMessage **arr = *(ProtobufCMessage ***)(base + fd->offset);
			for (size_t k = 0; k < n; k++)
				strip_unknown(arr[k]);
			continue;
		}
		if ((fd->flags & PROTOBUF_C_FIELD_FLAG_ONEOF) &&
		    *(uint32_t *)(base + fd->quantifier_offset) != fd->id)
			continue;
		ProtobufCMessage *sub = *(ProtobufCMessage **)(base + fd->offset);
		if (sub)
			strip_unknown(sub);
	}
}

static const ProtobufCMessageDescriptor *const decoding_types[] = {
	&hoptrace__v1__signed_envelope__descriptor,
	&hoptrace__v1__certificate__descriptor,
	&hoptrace__v1__ping__descriptor,
	&hoptrace__v1__error__descriptor,
	&hoptrace__v1__peer_message__descriptor,
	&hoptrace__v1__trace_forward__descriptor,
	&hoptrace__v1__matched_call__descriptor,
};

/*
 * The cases: a message type, the input, and what section 2.6 makes of it:
 * "malformed", the canonical encoding of what it decodes to (hex; "" for an
 * empty message), or "ok" when it decodes and the value is not compared.
 */
static const struct dcase {
	const char *name, *rule, *type, *in, *want, *what;
} dcases[] = {
	{"empty", "D1", "SignedEnvelope", "", "", "An empty input: every field at its default."},
	{"length_past_end", "D1", "SignedEnvelope", "1205aa", "malformed",
	 "A length of 5 with one octet left."},
	{"cut_in_tag", "D1", "Ping", "88", "malformed", "A tag cut short."},
	{"cut_in_varint", "D1", "Ping", "0880", "malformed", "A varint value cut short."},
	{"cut_in_fixed64", "D1", "Ping", "1101020304", "malformed",
	 "An unknown 64-bit record with 4 of its 8 octets."},
	{"field_0", "D2", "Ping", "0001", "malformed", "Tag 00: field number 0."},
	{"field_0_long_tag", "D2", "Ping", "800001", "malformed",
	 "Tag 80 00: field number 0 in a tag of two octets."},
	{"tag_6_octets", "D2", "Ping", "88808080800001", "malformed", "A tag of 6 octets."},
	{"tag_not_minimal", "D2", "Ping", "888080800005", "0805",
	 "Field 1 (nonce) in a tag of 5 octets: tags need not be minimal."},
	{"tag_35_bits", "D2", "Ping", "888080801005", "",
	 "The 5-octet tag 88 80 80 80 10 is (1 << 32) | 8: field 2^29 + 1, wire type 0, an "
	 "unknown field. Read as a 32-bit value it would be field 1 (nonce)."},
	{"field_above_protobuf_max", "D2", "Ping", "f8ffffff7f05", "",
	 "Field 2^32 - 1, above the 2^29 - 1 that protobuf allows: an unknown field."},
	{"group", "D3", "Ping", "9b019c01", "malformed",
	 "A group (wire types 3 and 4) of the unknown field 19."},
	{"end_group", "D3", "Ping", "0c", "malformed", "Wire type 4 alone."},
	{"wire_type_6", "D3", "Ping", "0e", "malformed", "Wire type 6."},
	{"wire_type_7", "D3", "Ping", "0f", "malformed", "Wire type 7."},
	{"varint_not_minimal", "D4", "Ping", "088100", "0801", "81 00 is 1."},
	{"varint_10_octets", "D4", "Ping", "08ffffffffffffffffff7f", "08ffffffffffffffffff01",
	 "A varint of 10 octets: the bits past the 64th are discarded."},
	{"varint_11_octets", "D4", "Ping", "088080808080808080808000", "malformed",
	 "A varint of 11 octets."},
	{"uint32_low_bits", "D4", "TraceForward", "108180808010", "1001",
	 "hop (uint32) as 81 80 80 80 10, which is 2^32 + 1: the low 32 bits, 1."},
	{"enum_signed", "D4", "Error", "08ffffffff0f", "08ffffffffffffffffff01",
	 "reason as ff ff ff ff 0f: the low 32 bits read as a signed int32, -1."},
	{"length_5_octets", "D4", "SignedEnvelope", "128180808000aa", "1201aa",
	 "A length of 1 written in 5 octets."},
	{"length_6_octets", "D4", "SignedEnvelope", "12818080808000aa", "malformed",
	 "A length of 1 written in 6 octets: lengths have at most 5."},
	{"wrong_wire_type", "D5", "Ping", "0a0101", "malformed",
	 "nonce (uint64) as a length-delimited record."},
	{"bytes_as_varint", "D5", "SignedEnvelope", "1001", "malformed",
	 "body (bytes) as a varint."},
	{"varint_as_fixed64", "D5", "Ping", "090102030405060708", "malformed",
	 "nonce (uint64) as a 64-bit record."},
	{"packed_and_unpacked", "D5", "Certificate", "7a02010278037a0104", "7a0401020304",
	 "critical as packed [1, 2], unpacked 3, packed [4]: the list is 1, 2, 3, 4."},
	{"packed_cut", "D5", "Certificate", "7a0181", "malformed",
	 "A packed critical list whose last varint is cut."},
	{"packed_11_octets", "D5", "Certificate", "7a0b8080808080808080808000", "malformed",
	 "A packed critical list holding a varint of 11 octets."},
	{"embedded_malformed", "D5", "PeerMessage", "0a010f", "malformed",
	 "A Ping member whose contents have wire type 7."},
	{"embedded_field_0", "D5", "PeerMessage", "0a03800001", "malformed",
	 "A Ping member with the tag 80 00 (field 0) inside."},
	{"last_value", "D6", "Ping", "08010802", "0802", "nonce 1, then nonce 2: 2."},
	{"last_member", "D6", "PeerMessage", "0a02080112020802", "12020802",
	 "A Ping, then a Pong: the Pong."},
	{"unknown_skipped", "D7", "Ping", "08019a0100a80105", "0801",
	 "nonce 1 and two unknown fields (19, bytes; 21, varint)."},
	{"unknown_fixed", "D7", "Ping", "1101020304050607081501020304", "",
	 "Unknown 64-bit and 32-bit records."},
	{"present_empty_member", "D8", "PeerMessage", "0a00", "0a00",
	 "A Ping member with every field at its default: present."},
	{"no_member", "D8", "PeerMessage", "", "", "An empty PeerMessage holds no member."},
	{"bool_not_1", "2.5", "MatchedCall", "1002", "1001",
	 "originated_here (bool) as 2: true, written 1."},
	{"critical_32_bits", "D4", "Certificate", "788180808010", "7a0101",
	 "critical as the varint 81 80 80 80 10: 32 bits, so 1."},
	{"error_detail_not_utf8", "8.5.3", "Error", "1202c328", "ok",
	 "detail (string) holding c3 28, which is not UTF-8: the Error is still accepted "
	 "(section 8.5.3); the detail is for logs only."},
};

static void decoding_vectors(const char *dir)
{
	json_t *list = json_array();
	for (size_t i = 0; i < sizeof(dcases) / sizeof(dcases[0]); i++) {
		const struct dcase *c = &dcases[i];
		const ProtobufCMessageDescriptor *d = NULL;
		for (size_t k = 0; k < sizeof(decoding_types) / sizeof(decoding_types[0]); k++)
			if (strcmp(decoding_types[k]->short_name, c->type) == 0)
				d = decoding_types[k];
		if (!d)
			die("decoding vector: unknown type");
		uint8_t in[64];
		size_t n = strlen(c->in) / 2;
		if (n > sizeof(in) ||
		    sodium_hex2bin(in, sizeof(in), c->in, strlen(c->in), NULL, &n, NULL) != 0)
			die("decoding vector: bad hex");
		ProtobufCMessage *m = NULL;
		int rc = ht__unpack(d, in, n, sizeof(in), &m);
		char got[2 * 64 + 1] = "malformed";
		if (rc == HT_OK) {
			strip_unknown(m);
			uint8_t out[64];
			size_t ol = protobuf_c_message_get_packed_size(m);
			if (ol > sizeof(out))
				die("decoding vector: too long");
			protobuf_c_message_pack(m, out);
			sodium_bin2hex(got, sizeof(got), out, ol);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		bool ok_any = strcmp(c->want, "ok") == 0 && rc == HT_OK;
		if (!ok_any && strcmp(got, c->want) != 0) {
			fprintf(stderr,
				"gen_vectors: decoding vector %s: library gives %s, spec says %s\n",
				c->name, got, c->want);
			exit(1);
		}
		json_t *o = json_object();
		set(o, "name", json_string(c->name));
		set(o, "rule", json_string(c->rule));
		set(o, "description", json_string(c->what));
		char full[64];
		snprintf(full, sizeof(full), "hoptrace.v1.%s", c->type);
		set(o, "message", json_string(full));
		set(o, "input_hex", json_string(c->in));
		bool bad = strcmp(c->want, "malformed") == 0;
		set(o, "expected", json_string(bad ? "malformed" : "ok"));
		set(o, "canonical_hex",
		    bad || strcmp(c->want, "ok") == 0 ? json_null() : json_string(c->want));
		append(list, o);
	}
	json_t *j = json_object();
	set(j, "description",
	    json_string("The decoding rules of protocol.md section 2.6 (D1 to D8), and two of "
			"sections 2.5 and 8.5.3. Decode input_hex as message; expected is "
			"malformed or ok; for ok, canonical_hex (when not null) is the canonical "
			"encoding (section 2.7) of the decoded message: its known fields only, "
			"so unknown fields are gone."));
	set(j, "vectors", list);
	write_json(dir, "decoding.json", j);
}

/*
 * A certificate whose signature has R = the identity point (y = 1, small
 * order) and S = k * a mod L, a being the anchor's secret scalar: [S]B =
 * R + [k]A holds exactly, so a verifier without step 2 of spec 3.3 accepts
 * it. Only the holder of the anchor's seed can make one, which is why the
 * check matters only as defence in depth; it must still fail.
 */
static void small_order_r(json_t *rej, const uint8_t seed[32], const ht_keys *anchor,
			  const uint8_t *cert, size_t cert_len)
{
	static const char dom[] = "hoptrace/v1 certificate";
	ht_envelope *e;
	ok(ht_envelope_parse(cert, cert_len, &e), "parse cert");
	size_t body_len;
	const uint8_t *body = ht_envelope_body(e, &body_len);
	uint8_t h[64], wide[64] = {0}, a[32], k[32], S[32], R[32] = {1};
	crypto_hash_sha512(h, seed, 32);
	h[0] &= 248; /* RFC 8032 5.1.5: the secret scalar */
	h[31] &= 127;
	h[31] |= 64;
	memcpy(wide, h, 32);
	crypto_core_ed25519_scalar_reduce(a, wide);
	crypto_hash_sha512_state st;
	crypto_hash_sha512_init(&st);
	crypto_hash_sha512_update(&st, R, 32);
	crypto_hash_sha512_update(&st, anchor->sign_pk, 32);
	crypto_hash_sha512_update(&st, (const uint8_t *)dom, sizeof(dom)); /* with its 0x00 */
	crypto_hash_sha512_update(&st, body, body_len);
	crypto_hash_sha512_final(&st, h);
	crypto_core_ed25519_scalar_reduce(k, h);
	crypto_core_ed25519_scalar_mul(S, k, a);
	uint8_t sb[32], ka[32];
	if (crypto_scalarmult_ed25519_base_noclamp(sb, S) != 0 ||
	    crypto_scalarmult_ed25519_noclamp(ka, k, anchor->sign_pk) != 0 ||
	    memcmp(sb, ka, 32) != 0)
		die("small-order R: [S]B is not [k]A");
	uint8_t *b = malloc(cert_len);
	if (!b)
		die("out of memory");
	memcpy(b, cert, cert_len); /* the signature is the envelope's last 64 octets */
	memcpy(b + cert_len - 64, R, 32);
	memcpy(b + cert_len - 32, S, 32);
	add_rejection(rej, "signature_small_order_r",
		      "R is the identity point 0100...00 (small order) and S = k * a mod L "
		      "with the anchor's secret scalar a: [S]B - [k]A = R holds, and section "
		      "3.3, step 2 refuses it.",
		      b, cert_len, false, CHECK_TIME, 0, "bad_signature");
	free(b);
	ht_envelope_free(e);
}

int main(int argc, char **argv)
{
	if (argc != 2)
		die("usage: gen_vectors OUTDIR");
	const char *dir = argv[1];
	ok(ht_init(), "init");

	/* Keys. */
	uint8_t anchor_seed[32], prov_seed[32], prov_noise[32], answer_sk[32];
	ramp(anchor_seed, 32, 0x00);
	ramp(prov_seed, 32, 0x20);
	ramp(prov_noise, 32, 0x40);
	ramp(answer_sk, 32, 0xb0);
	ht_keys anchor, prov;
	ok(ht_keys_from_seeds(&anchor, HT_KEYS_ANCHOR, anchor_seed, NULL), "anchor keys");
	ok(ht_keys_from_seeds(&prov, HT_KEYS_PROVIDER, prov_seed, prov_noise), "provider keys");

	json_t *keys = json_object();
	set(keys, "description",
	    json_string("Fixed seeds and the keys and key files derived from them."));
	set(keys, "anchor", key_json(&anchor, anchor_seed, NULL));
	json_t *pj = key_json(&prov, prov_seed, prov_noise);
	set(pj, "provider_id", json_string("CARRIER-A"));
	set(keys, "provider", pj);
	write_json(dir, "keys.json", keys);

	/* Certificate. */
	ht_cert_info ci = {0};
	strcpy(ci.provider_id, "CARRIER-A");
	memcpy(ci.sign_key, prov.sign_pk, 32);
	memcpy(ci.noise_key, prov.noise_pk, 32);
	ci.not_before = T0;
	ci.not_after = T1;
	ci.serial = CERT_SERIAL;
	ci.roles = HT_ROLE_INITIATOR;
	uint8_t *cert;
	size_t cert_len;
	ok(ht_cert_issue(&ci, &anchor, &cert, &cert_len), "issue cert");
	json_t *cj = json_object();
	set(cj, "description",
	    json_string("CARRIER-A's certificate, issued by the vector anchor (keys.json)."));
	json_t *in = json_object();
	set(in, "provider_id", json_string(ci.provider_id));
	set(in, "sign_key_hex", hex(ci.sign_key, 32));
	set(in, "noise_key_hex", hex(ci.noise_key, 32));
	set(in, "not_before", json_integer(T0));
	set(in, "not_after", json_integer(T1));
	set(in, "serial", json_integer(CERT_SERIAL));
	set(in, "roles", json_pack("[s]", "initiator"));
	set(in, "issuer_hex", hex(anchor.sign_pk, 32));
	set(cj, "fields", in);
	signed_parts(cj, cert, cert_len);
	set(cj, "check_time", json_integer(CHECK_TIME));
	set(cj, "expected", json_string("valid without the revocation list, revoked with it"));
	write_json(dir, "certificate.json", cj);

	/* Revocation list revoking the certificate above among others. */
	const uint64_t serials[] = {4242, CERT_SERIAL, 7};
	uint8_t *crl;
	size_t crl_len;
	ok(ht_crl_issue(&anchor, 1, T0, serials, 3, &crl, &crl_len), "issue crl");
	json_t *lj = json_object();
	set(lj, "description",
	    json_string("Revocation list number 1 of the vector anchor; serials are given "
			"unsorted to the issuer and appear sorted in the body."));
	in = json_object();
	set(in, "issuer_hex", hex(anchor.sign_pk, 32));
	set(in, "number", json_integer(1));
	set(in, "issued_at", json_integer(T0));
	set(in, "serials_given",
	    json_pack("[I,I,I]", (json_int_t)serials[0], (json_int_t)serials[1],
		      (json_int_t)serials[2]));
	set(in, "serials",
	    json_pack("[I,I,I]", (json_int_t)7, (json_int_t)CERT_SERIAL, (json_int_t)4242));
	set(lj, "fields", in);
	signed_parts(lj, crl, crl_len);
	write_json(dir, "revocation-list.json", lj);

	/* A signed peer message: a draft TraceRequest from CARRIER-A. */
	uint8_t trace_id[16], salt[32], commitment[32], answer_pk[32];
	ramp(trace_id, 16, 0x60);
	ramp(salt, 32, 0x70);
	ramp(commitment, 32, 0x90);
	if (crypto_scalarmult_base(answer_pk, answer_sk) != 0)
		die("x25519");
	Hoptrace__V1__TraceRequest tr = HOPTRACE__V1__TRACE_REQUEST__INIT;
	tr.trace_id = (ProtobufCBinaryData){sizeof(trace_id), trace_id};
	tr.initiator_id = (ProtobufCBinaryData){9, (uint8_t *)"CARRIER-A"};
	tr.initiator_cert = (ProtobufCBinaryData){cert_len, cert};
	tr.created_ms = T0 * 1000 + 3600000;
	tr.expires_ms = tr.created_ms + 600000;
	tr.call_time_ms = T0 * 1000 + 3000000;
	tr.tolerance_ms = 5000;
	tr.hop_limit = 8;
	tr.salt = (ProtobufCBinaryData){sizeof(salt), salt};
	tr.call_commitment = (ProtobufCBinaryData){sizeof(commitment), commitment};
	tr.answer_key = (ProtobufCBinaryData){sizeof(answer_pk), answer_pk};
	size_t trl = protobuf_c_message_get_packed_size(&tr.base);
	uint8_t *trb = malloc(trl);
	if (!trb)
		die("out of memory");
	protobuf_c_message_pack(&tr.base, trb);
	uint8_t *tre;
	size_t tre_len;
	ok(ht_envelope_sign(HT_KIND_TRACE_REQUEST, trb, trl, prov.sign_sk, &tre, &tre_len),
	   "sign trace request");
	json_t *tj = json_object();
	set(tj, "description",
	    json_string("A signed message: a TraceRequest signed with CARRIER-A's key, with no "
			"hint and no label. Its commitment is 32 arbitrary octets, not computed "
			"from numbers (trace.json has one that is); it is still a well-formed "
			"request (protocol.md section 11.3.2)."));
	in = json_object();
	set(in, "trace_id_hex", hex(trace_id, 16));
	set(in, "initiator_id", json_string("CARRIER-A"));
	set(in, "initiator_cert", json_string("envelope_hex of certificate.json"));
	set(in, "created_ms", json_integer((json_int_t)tr.created_ms));
	set(in, "expires_ms", json_integer((json_int_t)tr.expires_ms));
	set(in, "call_time_ms", json_integer((json_int_t)tr.call_time_ms));
	set(in, "tolerance_ms", json_integer(tr.tolerance_ms));
	set(in, "hop_limit", json_integer(tr.hop_limit));
	set(in, "salt_hex", hex(salt, 32));
	set(in, "call_commitment_hex", hex(commitment, 32));
	set(in, "answer_secret_hex", hex(answer_sk, 32));
	set(in, "answer_key_hex", hex(answer_pk, 32));
	set(tj, "fields", in);
	set(tj, "signer_sign_key_hex", hex(prov.sign_pk, 32));
	signed_parts(tj, tre, tre_len);
	/* Verifies at its own created_ms (sections 11.3.2 and 11.3.3). */
	set(tj, "check_time_ms", json_integer((json_int_t)tr.created_ms));
	write_json(dir, "trace-request.json", tj);
	free(trb);

	/* Rejections: certificates a verifier must refuse, and why. */
	json_t *rej = json_array();
	uint8_t *b;
	size_t bl;

	add_rejection(rej, "valid", "Control case: the vector certificate verifies.", cert,
		      cert_len, false, CHECK_TIME, HT_ROLE_INITIATOR, "ok");
	add_rejection(rej, "revoked", "Serial 1001 is on revocation-list.json.", cert, cert_len,
		      true, CHECK_TIME, 0, "revoked");
	add_rejection(rej, "expired", "Checked at not_after (exclusive).", cert, cert_len, false,
		      T1, 0, "expired");
	add_rejection(rej, "not_yet_valid", "Checked one second before not_before.", cert, cert_len,
		      false, T0 - 1, 0, "not_yet_valid");

	b = malloc(cert_len);
	if (!b)
		die("out of memory");
	memcpy(b, cert, cert_len);
	b[cert_len - 1] ^= 0x01; /* last octet of the signature */
	add_rejection(rej, "signature_flipped", "Last signature octet XOR 0x01.", b, cert_len,
		      false, CHECK_TIME, 0, "bad_signature");
	memcpy(b, cert, cert_len);
	b[10] ^= 0x01; /* inside the provider ID within the body */
	add_rejection(rej, "body_flipped", "Octet 10 (inside the body) XOR 0x01.", b, cert_len,
		      false, CHECK_TIME, 0, "bad_signature");
	add_rejection(rej, "truncated", "The envelope without its last octet.", cert, cert_len - 1,
		      false, CHECK_TIME, 0, "malformed");
	free(b);

	/* Same certificate body, other anchor: unknown issuer. */
	uint8_t other_seed[32];
	ramp(other_seed, 32, 0xe0);
	ht_keys other;
	ok(ht_keys_from_seeds(&other, HT_KEYS_ANCHOR, other_seed, NULL), "other anchor");
	ok(ht_cert_issue(&ci, &other, &b, &bl), "issue other");
	add_rejection(rej, "wrong_anchor",
		      "Issued by the anchor with seed e0e1...ff, which is not trusted.", b, bl,
		      false, CHECK_TIME, 0, "unknown_anchor");
	free(b);

	ht_cert_info noroles = ci;
	noroles.roles = 0;
	ok(ht_cert_issue(&noroles, &anchor, &b, &bl), "issue noroles");
	add_rejection(rej, "missing_role", "No roles; the initiator role is required.", b, bl,
		      false, CHECK_TIME, HT_ROLE_INITIATOR, "missing_role");
	free(b);

	Hoptrace__V1__Certificate hc = HOPTRACE__V1__CERTIFICATE__INIT;
	Hoptrace__V1__Role role = HOPTRACE__V1__ROLE__ROLE_INITIATOR;
	uint32_t crit[] = {99};
	hc.provider_id = (ProtobufCBinaryData){9, (uint8_t *)"CARRIER-A"};
	hc.sign_key = (ProtobufCBinaryData){32, prov.sign_pk};
	hc.noise_key = (ProtobufCBinaryData){32, prov.noise_pk};
	hc.not_before = T0;
	hc.not_after = T1;
	hc.serial = CERT_SERIAL;
	hc.n_roles = 1;
	hc.roles = &role;
	hc.issuer = (ProtobufCBinaryData){32, anchor.sign_pk};
	hc.n_critical = 1;
	hc.critical = crit;
	sign_cert_body(&hc, &anchor, &b, &bl);
	add_rejection(rej, "unknown_critical",
		      "Lists field 99, which version 1 does not define, as critical.", b, bl, false,
		      CHECK_TIME, 0, "unsupported_critical");
	free(b);

	hc.n_critical = 0;
	hc.provider_id = (ProtobufCBinaryData){10, (uint8_t *)"CARRIER A!"};
	sign_cert_body(&hc, &anchor, &b, &bl);
	add_rejection(rej, "bad_provider_id", "Provider ID \"CARRIER A!\" has a space and '!'.", b,
		      bl, false, CHECK_TIME, 0, "bad_provider_id");
	free(b);

	hc.provider_id = (ProtobufCBinaryData){9, (uint8_t *)"CARRIER-A"};
	hc.serial = 0;
	sign_cert_body(&hc, &anchor, &b, &bl);
	add_rejection(rej, "zero_serial", "Serial 0 is not allowed.", b, bl, false, CHECK_TIME, 0,
		      "malformed");
	free(b);

	hc.serial = CERT_SERIAL;
	uint8_t zero[32] = {0}, identity[32] = {1};
	hc.noise_key = (ProtobufCBinaryData){32, zero};
	sign_cert_body(&hc, &anchor, &b, &bl);
	add_rejection(rej, "weak_noise_key",
		      "noise_key is 32 zero octets, an X25519 point of small order.", b, bl, false,
		      CHECK_TIME, 0, "weak_key");
	free(b);
	hc.noise_key = (ProtobufCBinaryData){32, prov.noise_pk};
	hc.sign_key = (ProtobufCBinaryData){32, identity};
	sign_cert_body(&hc, &anchor, &b, &bl);
	add_rejection(rej, "weak_sign_key",
		      "sign_key 0100...00 is the Ed25519 identity point (small order).", b, bl,
		      false, CHECK_TIME, 0, "weak_key");
	free(b);

	/* S + L: the same signature with a non-canonical S must not verify. */
	static const uint8_t L[32] = {0xed, 0xd3, 0xf5, 0x5c, 0x1a, 0x63, 0x12, 0x58,       0xd6,
				      0x9c, 0xf7, 0xa2, 0xde, 0xf9, 0xde, 0x14, [31] = 0x10};
	b = malloc(cert_len);
	if (!b)
		die("out of memory");
	memcpy(b, cert, cert_len);
	unsigned carry = 0;
	for (size_t i = 0; i < 32; i++) { /* S is the envelope's last 32 octets */
		unsigned v = b[cert_len - 32 + i] + L[i] + carry;
		b[cert_len - 32 + i] = (uint8_t)v;
		carry = v >> 8;
	}
	add_rejection(rej, "signature_noncanonical_s",
		      "The valid signature with L added to S (little-endian): S >= L.", b, cert_len,
		      false, CHECK_TIME, 0, "bad_signature");
	free(b);

	small_order_r(rej, anchor_seed, &anchor, cert, cert_len);

	/* sign_key y = p + 3: not canonical. (Every point whose y is below 19 lies
	 * outside the prime-order subgroup, so a decoder that reduces y mod p
	 * refuses it there instead: weak_key either way.) */
	{
		uint8_t y[32];
		memset(y, 0xff, 32);
		y[0] = 0xed + 3;
		y[31] = 0x7f;
		uint8_t y3[32] = {3};
		if (crypto_core_ed25519_is_valid_point(y) || crypto_core_ed25519_is_valid_point(y3))
			die("sign_key y = p + 3 is not what the vector says");
		hc.sign_key = (ProtobufCBinaryData){32, y};
		sign_cert_body(&hc, &anchor, &b, &bl);
		add_rejection(rej, "sign_key_noncanonical",
			      "sign_key f0ff...ff7f: y = p + 3 (sign bit clear), which is not "
			      "canonical (section 3.3, step 3).",
			      b, bl, false, CHECK_TIME, 0, "weak_key");
		free(b);
	}
	/* sign_key = the provider's key plus a point of order 8: canonical, on the
	 * curve, not of small order, outside the prime-order subgroup. */
	{
		static const uint8_t t8[32] = {0x26, 0xe8, 0x95, 0x8f, 0xc2, 0xb2, 0x27, 0xb0,
					       0x45, 0xc3, 0xf4, 0x89, 0xf2, 0xef, 0x98, 0xf0,
					       0xd5, 0xdf, 0xac, 0x05, 0xd3, 0xc6, 0x33, 0x39,
					       0xb1, 0x38, 0x02, 0x88, 0x6d, 0x53, 0xfc, 0x05};
		uint8_t mixed[32];
		if (crypto_core_ed25519_add(mixed, prov.sign_pk, t8) != 0 ||
		    crypto_core_ed25519_is_valid_point(mixed))
			die("sign_key plus a torsion point");
		hc.sign_key = (ProtobufCBinaryData){32, mixed};
		sign_cert_body(&hc, &anchor, &b, &bl);
		add_rejection(rej, "sign_key_torsion",
			      "sign_key is the provider's key plus the point of order 8 whose y "
			      "is 26e8...fc05: canonical and not of small order, but outside the "
			      "subgroup of order L (section 6.4, step 10).",
			      b, bl, false, CHECK_TIME, 0, "weak_key");
		free(b);
		hc.sign_key = (ProtobufCBinaryData){32, prov.sign_pk};
	}

	/* The revocation list's envelope presented as a certificate. */
	add_rejection(rej, "wrong_kind", "A revocation-list envelope offered as a certificate.",
		      crl, crl_len, false, CHECK_TIME, 0, "wrong_kind");

	handshake_vector(dir, &anchor, &prov, prov_seed, prov_noise, cert, cert_len);
	decoding_vectors(dir);
	trace_vectors(dir, &anchor, &prov, prov_seed, prov_noise, cert, cert_len, crl, crl_len, tre,
		      tre_len);
	free(tre);

	json_t *rj = json_object();
	set(rj, "description",
	    json_string("Certificates to verify with the anchor of keys.json as the only "
			"trusted anchor, at check_time (seconds), with revocation-list.json "
			"when with_revocation_list is true, requiring required_roles. "
			"expected_error is the error token of spec/protocol.md (\"ok\" when the "
			"certificate must verify)."));
	set(rj, "anchor_sign_key_hex", hex(anchor.sign_pk, 32));
	set(rj, "vectors", rej);
	write_json(dir, "rejections.json", rj);

	free(cert);
	free(crl);
	ht_keys_wipe(&anchor);
	ht_keys_wipe(&prov);
	return 0;
}
