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
#include "hoptrace/v1/cert.pb-c.h"
#include "hoptrace/v1/envelope.pb-c.h"
#include "hoptrace/v1/peer.pb-c.h"

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
		 "serial 1002, no roles, not_before 1767225600, not_after 1798761600"},
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
	    json_string("A signed message: a DRAFT TraceRequest (fields may change before the "
			"traceback section is final) signed with CARRIER-A's key. The commitment "
			"is an opaque placeholder here, not computed from numbers."));
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
	write_json(dir, "trace-request.json", tj);
	free(trb);
	free(tre);

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

	/* The revocation list's envelope presented as a certificate. */
	add_rejection(rej, "wrong_kind", "A revocation-list envelope offered as a certificate.",
		      crl, crl_len, false, CHECK_TIME, 0, "wrong_kind");

	handshake_vector(dir, &anchor, &prov, prov_seed, prov_noise, cert, cert_len);

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
