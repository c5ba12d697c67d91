/*
 * Checks the committed vectors in spec/vectors/ against the library, the way
 * another implementation would use them: derive keys from the seeds, verify
 * signatures over the given signing inputs, recompute message identities,
 * and reject every rejection vector with its expected error. (The
 * vectors_regenerate test separately requires the generator to reproduce
 * the files byte for byte.) handshake.json is replayed from its seeds: the
 * Noise handshake through the Noise core, the session checks through two
 * session cores fed the recorded frames, and the transport frames decrypted
 * by the other side.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <jansson.h>
#include <sodium.h>

#include "hoptrace/cert.h"
#include "hoptrace/crl.h"
#include "hoptrace/envelope.h"
#include "hoptrace/keys.h"
#include "hoptrace/noise.h"
#include "hoptrace/peermsg.h"
#include "hoptrace/session.h"
#include "hoptrace/trust.h"

static json_t *load(const char *name)
{
	char path[1024];
	snprintf(path, sizeof(path), "%s/spec/vectors/%s", HT_SOURCE_DIR, name);
	json_error_t err;
	json_t *j = json_load_file(path, 0, &err);
	if (!j)
		fail_msg("%s: %s (line %d)", path, err.text, err.line);
	return j;
}

static const char *str(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_non_null(v);
	assert_true(json_is_string(v));
	return json_string_value(v);
}

/* Decodes the hex string at `key` into a malloc'd buffer. */
static uint8_t *unhex(json_t *o, const char *key, size_t *len)
{
	const char *h = str(o, key);
	size_t n = strlen(h) / 2;
	uint8_t *b = malloc(n ? n : 1);
	assert_non_null(b);
	size_t got;
	assert_int_equal(sodium_hex2bin(b, n, h, strlen(h), NULL, &got, NULL), 0);
	assert_int_equal(got, n);
	*len = n;
	return b;
}

static void unhex32(json_t *o, const char *key, uint8_t out[32])
{
	size_t n;
	uint8_t *b = unhex(o, key, &n);
	assert_int_equal(n, 32);
	memcpy(out, b, 32);
	free(b);
}

static void test_keys(void **state)
{
	(void)state;
	json_t *j = load("keys.json");
	const char *who[] = {"anchor", "provider"};
	for (int i = 0; i < 2; i++) {
		json_t *o = json_object_get(j, who[i]);
		uint8_t seed[32], pk[32], nsk[32], npk[32];
		unhex32(o, "sign_seed_hex", seed);
		unhex32(o, "sign_key_hex", pk);
		ht_keys k, parsed;
		bool prov = i == 1;
		if (prov) {
			unhex32(o, "noise_secret_hex", nsk);
			unhex32(o, "noise_key_hex", npk);
		}
		assert_int_equal(ht_keys_from_seeds(&k, prov ? HT_KEYS_PROVIDER : HT_KEYS_ANCHOR,
						    seed, prov ? nsk : NULL),
				 HT_OK);
		assert_memory_equal(k.sign_pk, pk, 32);
		if (prov)
			assert_memory_equal(k.noise_pk, npk, 32);

		/* The key files parse back to the same keys. */
		const char *sec = str(o, "secret_file"), *pub = str(o, "public_file");
		assert_int_equal(ht_keys_parse(sec, strlen(sec), &parsed), HT_OK);
		assert_true(parsed.has_secret);
		assert_memory_equal(parsed.sign_sk, k.sign_sk, HT_SIGN_SK_LEN);
		assert_int_equal(ht_keys_parse(pub, strlen(pub), &parsed), HT_OK);
		assert_false(parsed.has_secret);
		assert_memory_equal(parsed.sign_pk, pk, 32);
		if (prov)
			assert_memory_equal(parsed.noise_pk, npk, 32);
	}
	json_decref(j);
}

/* Checks signing input, signature and identity of one envelope vector. */
static void check_signed(json_t *v, const uint8_t signer[32], ht_kind kind)
{
	size_t env_len, body_len, si_len, sig_len, id_len;
	uint8_t *env = unhex(v, "envelope_hex", &env_len);
	uint8_t *body = unhex(v, "body_hex", &body_len);
	uint8_t *si = unhex(v, "signing_input_hex", &si_len);
	uint8_t *sig = unhex(v, "signature_hex", &sig_len);
	uint8_t *id = unhex(v, "message_id_hex", &id_len);

	/* Signing input = domain || 0x00 || body, from the spec's rule alone. */
	const char *domain = str(v, "domain");
	size_t dl = strlen(domain);
	assert_int_equal(si_len, dl + 1 + body_len);
	assert_memory_equal(si, domain, dl);
	assert_int_equal(si[dl], 0);
	assert_memory_equal(si + dl + 1, body, body_len);
	assert_string_equal(ht_kind_domain(kind), domain);
	assert_int_equal(sig_len, HT_SIG_LEN);
	assert_int_equal(crypto_sign_verify_detached(sig, si, si_len, signer), 0);
	uint8_t h[32];
	crypto_generichash(h, sizeof(h), si, si_len, NULL, 0);
	assert_int_equal(id_len, 32);
	assert_memory_equal(h, id, 32);

	/* And the library agrees on the envelope. */
	ht_envelope *e;
	assert_int_equal(ht_envelope_parse(env, env_len, &e), HT_OK);
	assert_int_equal(ht_envelope_kind(e), kind);
	size_t bl;
	const uint8_t *b = ht_envelope_body(e, &bl);
	assert_int_equal(bl, body_len);
	assert_memory_equal(b, body, body_len);
	assert_int_equal(ht_envelope_verify(e, kind, signer), HT_OK);
	uint8_t lid[32];
	assert_int_equal(ht_envelope_id(e, lid), HT_OK);
	assert_memory_equal(lid, id, 32);
	ht_envelope_free(e);
	free(env);
	free(body);
	free(si);
	free(sig);
	free(id);
}

static void anchor_key(uint8_t pk[32])
{
	json_t *k = load("keys.json");
	unhex32(json_object_get(k, "anchor"), "sign_key_hex", pk);
	json_decref(k);
}

static void test_certificate(void **state)
{
	(void)state;
	uint8_t apk[32];
	anchor_key(apk);
	json_t *v = load("certificate.json");
	check_signed(v, apk, HT_KIND_CERTIFICATE);

	size_t len;
	uint8_t *env = unhex(v, "envelope_hex", &len);
	ht_cert *c;
	assert_int_equal(ht_cert_parse(env, len, &c), HT_OK);
	json_t *f = json_object_get(v, "fields");
	const ht_cert_info *i = ht_cert_get_info(c);
	assert_string_equal(i->provider_id, str(f, "provider_id"));
	assert_int_equal(i->serial, json_integer_value(json_object_get(f, "serial")));
	assert_int_equal(i->not_before, json_integer_value(json_object_get(f, "not_before")));
	assert_int_equal(i->not_after, json_integer_value(json_object_get(f, "not_after")));
	assert_int_equal(i->roles, HT_ROLE_INITIATOR);
	uint8_t k[32];
	unhex32(f, "sign_key_hex", k);
	assert_memory_equal(i->sign_key, k, 32);
	unhex32(f, "noise_key_hex", k);
	assert_memory_equal(i->noise_key, k, 32);
	assert_memory_equal(i->issuer, apk, 32);
	ht_cert_free(c);
	free(env);
	json_decref(v);
}

static void test_revocation_list(void **state)
{
	(void)state;
	uint8_t apk[32];
	anchor_key(apk);
	json_t *v = load("revocation-list.json");
	check_signed(v, apk, HT_KIND_REVOCATION_LIST);
	size_t len;
	uint8_t *env = unhex(v, "envelope_hex", &len);
	ht_crl *crl;
	assert_int_equal(ht_crl_parse(env, len, &crl), HT_OK);
	const ht_crl_info *i = ht_crl_get_info(crl);
	json_t *serials = json_object_get(json_object_get(v, "fields"), "serials");
	assert_int_equal(i->n_serials, json_array_size(serials));
	for (size_t k = 0; k < i->n_serials; k++)
		assert_int_equal(i->serials[k], json_integer_value(json_array_get(serials, k)));
	assert_int_equal(i->number, 1);
	ht_crl_free(crl);
	free(env);
	json_decref(v);
}

static void test_trace_request(void **state)
{
	(void)state;
	json_t *v = load("trace-request.json");
	uint8_t pk[32];
	unhex32(v, "signer_sign_key_hex", pk);
	check_signed(v, pk, HT_KIND_TRACE_REQUEST);

	/* The signer is the certified provider. */
	json_t *c = load("certificate.json");
	uint8_t ck[32];
	unhex32(json_object_get(c, "fields"), "sign_key_hex", ck);
	assert_memory_equal(ck, pk, 32);
	json_decref(c);
	json_decref(v);
}

static void test_rejections(void **state)
{
	(void)state;
	json_t *v = load("rejections.json");
	json_t *lj = load("revocation-list.json");
	uint8_t apk[32];
	unhex32(v, "anchor_sign_key_hex", apk);
	size_t crl_len;
	uint8_t *crl_bytes = unhex(lj, "envelope_hex", &crl_len);

	json_t *list = json_object_get(v, "vectors");
	assert_true(json_array_size(list) >= 10);
	size_t idx;
	json_t *r;
	json_array_foreach(list, idx, r)
	{
		ht_trust *t;
		assert_int_equal(ht_trust_new(&t), HT_OK);
		assert_int_equal(ht_trust_add_anchor(t, apk), HT_OK);
		if (json_is_true(json_object_get(r, "with_revocation_list"))) {
			ht_crl *crl;
			assert_int_equal(ht_crl_parse(crl_bytes, crl_len, &crl), HT_OK);
			assert_int_equal(ht_trust_add_crl(t, crl), HT_OK);
		}
		uint32_t roles = 0;
		size_t ri;
		json_t *role;
		json_array_foreach(json_object_get(r, "required_roles"), ri, role) roles |=
			ht_role_parse(json_string_value(role));

		size_t len;
		uint8_t *b = unhex(r, "certificate_hex", &len);
		ht_cert *c = NULL;
		int rc = ht_cert_parse(b, len, &c);
		if (rc == HT_OK)
			rc = ht_trust_verify_cert(
				t, c,
				(uint64_t)json_integer_value(json_object_get(r, "check_time")),
				roles);
		const char *want = str(r, "expected_error");
		if (strcmp(ht_errname(rc), want) != 0)
			fail_msg("rejection vector %s: got %s, want %s", str(r, "name"),
				 ht_errname(rc), want);
		ht_cert_free(c);
		ht_trust_free(t);
		free(b);
	}
	free(crl_bytes);
	json_decref(lj);
	json_decref(v);
}

/* ---- handshake.json ---- */

/* HandshakePayload {certificate = cert}, encoded by hand: 0a, varint length, cert. */
static size_t hand_payload(const uint8_t *cert, size_t len, uint8_t *out)
{
	size_t n = 0;
	out[n++] = 0x0a; /* field 1, wire type 2 */
	size_t v = len;
	do {
		out[n++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	memcpy(out + n, cert, len);
	return n + len;
}

/* A recorded frame: checks its 2-octet big-endian length; *msg is the Noise message. */
static uint8_t *frame_of(json_t *o, const uint8_t **msg, size_t *msg_len)
{
	size_t n;
	uint8_t *f = unhex(o, "frame_hex", &n);
	assert_true(n > 2);
	assert_int_equal((size_t)(f[0] << 8 | f[1]), n - 2);
	json_t *l = json_object_get(o, "length");
	if (l)
		assert_int_equal(json_integer_value(l), n - 2);
	*msg = f + 2;
	*msg_len = n - 2;
	return f;
}

struct hs_party {
	ht_keys keys;
	uint8_t eph[32];
	uint8_t *cert;
	size_t cert_len;
	ht_trust *trust;
};

/* Keys from the seeds, the certificate checked as section 6.4 would. */
static void hs_party(json_t *p, const uint8_t anchor[32], uint64_t now, struct hs_party *x)
{
	uint8_t seed[32], nsk[32], k[32], epk[32];
	unhex32(p, "sign_seed_hex", seed);
	unhex32(p, "noise_secret_hex", nsk);
	assert_int_equal(ht_keys_from_seeds(&x->keys, HT_KEYS_PROVIDER, seed, nsk), HT_OK);
	unhex32(p, "sign_key_hex", k);
	assert_memory_equal(x->keys.sign_pk, k, 32);
	unhex32(p, "noise_key_hex", k);
	assert_memory_equal(x->keys.noise_pk, k, 32);
	unhex32(p, "ephemeral_secret_hex", x->eph);
	unhex32(p, "ephemeral_key_hex", k);
	assert_int_equal(crypto_scalarmult_base(epk, x->eph), 0);
	assert_memory_equal(epk, k, 32);

	x->cert = unhex(p, "certificate_hex", &x->cert_len);
	ht_cert *c;
	assert_int_equal(ht_cert_parse(x->cert, x->cert_len, &c), HT_OK);
	assert_int_equal(ht_trust_new(&x->trust), HT_OK);
	assert_int_equal(ht_trust_add_anchor(x->trust, anchor), HT_OK);
	assert_int_equal(ht_trust_verify_cert(x->trust, c, now, 0), HT_OK);
	const ht_cert_info *ci = ht_cert_get_info(c);
	assert_string_equal(ci->provider_id, str(p, "provider_id"));
	assert_memory_equal(ci->noise_key, x->keys.noise_pk, 32);
	assert_memory_equal(ci->sign_key, x->keys.sign_pk, 32);
	ht_cert_free(c);

	/* The payload of its handshake message, and its preamble. */
	size_t plen;
	uint8_t *payload = unhex(p, "handshake_payload_hex", &plen);
	uint8_t *mine = malloc(x->cert_len + 8);
	assert_non_null(mine);
	assert_int_equal(hand_payload(x->cert, x->cert_len, mine), plen);
	assert_memory_equal(mine, payload, plen);
	free(mine);
	free(payload);
	static const uint8_t pre[HT_PREAMBLE_LEN] = {'H', 'O', 'P', 'T', 'R', 'C', 0x00, 0x01};
	uint8_t *ph = unhex(p, "preamble_hex", &plen);
	assert_int_equal(plen, HT_PREAMBLE_LEN);
	assert_memory_equal(ph, pre, HT_PREAMBLE_LEN);
	uint16_t version = 0;
	assert_int_equal(ht_preamble_check(ph, &version), HT_OK);
	assert_int_equal(version, 1);
	free(ph);
}

static void hs_party_free(struct hs_party *x)
{
	ht_keys_wipe(&x->keys);
	free(x->cert);
	ht_trust_free(x->trust);
}

static int allow_carrier_a(void *ud, const char *id)
{
	(void)ud;
	return strcmp(id, "CARRIER-A") == 0 ? HT_OK : HT_E_NOT_A_PEER;
}

/* The Noise handshake from the seeds, as another implementation would run it. */
static void hs_noise(json_t *v, struct hs_party *a, struct hs_party *b)
{
	static uint8_t msg[HT_NOISE_MAX_MSG], pl[HT_NOISE_MAX_MSG];
	const char *prologue = str(v, "prologue");
	size_t n, m;
	uint8_t *pro = unhex(v, "prologue_hex", &n);
	assert_int_equal(n, strlen(prologue));
	assert_memory_equal(pro, prologue, n);
	char name[HT_NOISE_NAME_MAX];
	assert_int_equal(ht_noise_protocol_name(HT_NOISE_XX, name, sizeof(name)), HT_OK);
	assert_string_equal(name, str(v, "protocol_name"));

	ht_noise_hs i, r;
	assert_int_equal(ht_noise_init(&i, HT_NOISE_XX, true, pro, n, a->keys.noise_sk, NULL),
			 HT_OK);
	assert_int_equal(ht_noise_init(&r, HT_NOISE_XX, false, pro, n, b->keys.noise_sk, NULL),
			 HT_OK);
	assert_int_equal(ht_noise_set_ephemeral(&i, a->eph), HT_OK);
	assert_int_equal(ht_noise_set_ephemeral(&r, b->eph), HT_OK);
	free(pro);

	/* Message 1: no payload. Messages 2 and 3: the sender's HandshakePayload. */
	uint8_t *pb = malloc(b->cert_len + 8), *pa = malloc(a->cert_len + 8);
	assert_non_null(pb);
	assert_non_null(pa);
	size_t pb_len = hand_payload(b->cert, b->cert_len, pb);
	size_t pa_len = hand_payload(a->cert, a->cert_len, pa);
	struct {
		ht_noise_hs *from, *to;
		const char *sender;
		const uint8_t *payload;
		size_t len;
		const uint8_t *static_key; /* what the reader learns */
	} steps[3] = {
		{&i, &r, "initiator", NULL, 0, NULL},
		{&r, &i, "responder", pb, pb_len, b->keys.noise_pk},
		{&i, &r, "initiator", pa, pa_len, a->keys.noise_pk},
	};
	json_t *hs = json_object_get(v, "handshake");
	assert_int_equal(json_array_size(hs), 3);
	for (size_t k = 0; k < 3; k++) {
		json_t *o = json_array_get(hs, k);
		assert_int_equal(json_integer_value(json_object_get(o, "message")), k + 1);
		assert_string_equal(str(o, "sender"), steps[k].sender);
		const uint8_t *rec;
		size_t rec_len;
		uint8_t *f = frame_of(o, &rec, &rec_len);
		assert_int_equal(ht_noise_write_message(steps[k].from, steps[k].payload,
							steps[k].len, msg, sizeof(msg), &n),
				 HT_OK);
		assert_int_equal(n, rec_len);
		assert_memory_equal(msg, rec, n);
		assert_int_equal(
			ht_noise_read_message(steps[k].to, rec, rec_len, pl, sizeof(pl), &m),
			HT_OK);
		assert_int_equal(m, steps[k].len);
		if (m)
			assert_memory_equal(pl, steps[k].payload, m);
		if (steps[k].static_key)
			assert_memory_equal(ht_noise_remote_static(steps[k].to),
					    steps[k].static_key, 32);
		free(f);
	}
	free(pa);
	free(pb);

	uint8_t hi[HT_NOISE_HASH_LEN], hr[HT_NOISE_HASH_LEN], want[HT_NOISE_HASH_LEN];
	assert_int_equal(ht_noise_handshake_hash(&i, hi), HT_OK);
	assert_int_equal(ht_noise_handshake_hash(&r, hr), HT_OK);
	const char *who[2] = {"initiator", "responder"};
	for (int k = 0; k < 2; k++) {
		uint8_t *h = unhex(json_object_get(v, who[k]), "handshake_hash_hex", &n);
		assert_int_equal(n, HT_NOISE_HASH_LEN);
		memcpy(want, h, n);
		free(h);
		assert_memory_equal(k ? hr : hi, want, HT_NOISE_HASH_LEN);
	}

	/* Split: the initiator sends with the first key. */
	ht_noise_cipher i_tx, i_rx, r_tx, r_rx;
	assert_int_equal(ht_noise_split(&i, &i_tx, &i_rx), HT_OK);
	assert_int_equal(ht_noise_split(&r, &r_tx, &r_rx), HT_OK);
	uint8_t k_ab[32], k_ba[32];
	json_t *tk = json_object_get(v, "transport_keys");
	unhex32(tk, "initiator_to_responder_hex", k_ab);
	unhex32(tk, "responder_to_initiator_hex", k_ba);
	assert_memory_equal(i_tx.k, k_ab, 32);
	assert_memory_equal(r_rx.k, k_ab, 32);
	assert_memory_equal(r_tx.k, k_ba, 32);
	assert_memory_equal(i_rx.k, k_ba, 32);

	/* Transport: Ping(1) from the initiator, Pong(1) back; empty AD, nonces from 0. */
	json_t *tr = json_object_get(v, "transport");
	assert_int_equal(json_array_size(tr), 2);
	const ht_pmsg want_msg[2] = {{.type = HT_PMSG_PING, .nonce = 1},
				     {.type = HT_PMSG_PONG, .nonce = 1}};
	static const uint8_t want_pt[2][4] = {{0x0a, 0x02, 0x08, 0x01}, {0x12, 0x02, 0x08, 0x01}};
	for (size_t k = 0; k < 2; k++) {
		json_t *o = json_array_get(tr, k);
		assert_string_equal(str(o, "sender"), who[k]);
		assert_int_equal(json_integer_value(json_object_get(o, "cipher_nonce")), 0);
		size_t ptl, el;
		uint8_t *pt = unhex(o, "plaintext_hex", &ptl), *enc;
		assert_int_equal(ptl, 4);
		assert_memory_equal(pt, want_pt[k], 4);
		assert_int_equal(ht_pmsg_encode(&want_msg[k], &enc, &el), HT_OK);
		assert_int_equal(el, ptl);
		assert_memory_equal(enc, pt, ptl);
		free(enc);
		const uint8_t *rec;
		size_t rec_len;
		uint8_t *f = frame_of(o, &rec, &rec_len);
		assert_int_equal(
			ht_noise_encrypt(k ? &r_tx : &i_tx, NULL, 0, pt, ptl, msg, sizeof(msg), &n),
			HT_OK);
		assert_int_equal(n, rec_len);
		assert_memory_equal(msg, rec, n);
		assert_int_equal(ht_noise_decrypt(k ? &i_rx : &r_rx, NULL, 0, rec, rec_len, pl,
						  sizeof(pl), &m),
				 HT_OK);
		ht_pmsg got;
		assert_int_equal(ht_pmsg_decode(pl, m, &got), HT_OK);
		assert_int_equal(got.type, want_msg[k].type);
		assert_int_equal(got.nonce, 1);
		free(f);
		free(pt);
	}
}

/*
 * Two session cores, each fed the other's recorded frames: every frame a
 * session makes equals the recorded one, and every recorded frame passes
 * its checks. With `crl` the responder holds revocation-list.json, and with
 * `expect` the initiator dialled someone else: then the handshake must stop
 * with `want` at the side that checks (after message 2 or 3).
 */
static void hs_sessions(json_t *v, struct hs_party *a, struct hs_party *b, bool crl,
			const char *expect, int want)
{
	uint64_t now = (uint64_t)json_integer_value(json_object_get(v, "check_time"));
	ht_trust *tb = b->trust;
	if (crl) {
		json_t *lj = load("revocation-list.json");
		size_t len;
		uint8_t *e = unhex(lj, "envelope_hex", &len);
		ht_crl *l;
		uint8_t apk[32];
		unhex32(v, "anchor_sign_key_hex", apk);
		assert_int_equal(ht_trust_new(&tb), HT_OK);
		assert_int_equal(ht_trust_add_anchor(tb, apk), HT_OK);
		assert_int_equal(ht_crl_parse(e, len, &l), HT_OK);
		assert_int_equal(ht_trust_add_crl(tb, l), HT_OK);
		free(e);
		json_decref(lj);
	}
	ht_session_config ca = {
		.initiator = true,
		.keys = &a->keys,
		.cert = a->cert,
		.cert_len = a->cert_len,
		.trust = a->trust,
		.now = now,
		.expected_peer = expect,
		.ephemeral_sk = a->eph,
	};
	ht_session_config cb = {
		.initiator = false,
		.keys = &b->keys,
		.cert = b->cert,
		.cert_len = b->cert_len,
		.trust = tb,
		.now = now,
		.allowed = allow_carrier_a,
		.ephemeral_sk = b->eph,
	};
	ht_session *s[2];
	assert_int_equal(ht_session_new(&s[0], &ca), HT_OK);
	assert_int_equal(ht_session_new(&s[1], &cb), HT_OK);

	json_t *hs = json_object_get(v, "handshake");
	int rc = HT_OK;
	for (size_t k = 0; k < 3 && rc == HT_OK; k++) {
		ht_session *from = s[k % 2], *to = s[(k + 1) % 2];
		const uint8_t *rec, *pt;
		size_t rec_len, flen, ptl;
		uint8_t *f = frame_of(json_array_get(hs, k), &rec, &rec_len), *mine;
		assert_int_equal(ht_session_pending(from, &mine, &flen), HT_OK);
		assert_non_null(mine);
		assert_int_equal(flen, rec_len + 2);
		assert_memory_equal(mine, f, flen);
		free(mine);
		ht_session_event ev;
		rc = ht_session_recv(to, rec, rec_len, &ev, &pt, &ptl);
		if (rc == HT_OK)
			assert_int_equal(ev, k == 2 ? HT_SESSION_ESTABLISHED : HT_SESSION_NONE);
		else /* the checker refuses before it sends anything more */
			assert_int_equal(ht_session_pending(to, &mine, &flen), HT_E_INVAL);
		free(f);
	}
	if (rc != HT_OK || want != HT_OK) {
		if (strcmp(ht_errname(rc), ht_errname(want)) != 0)
			fail_msg("handshake.json with %s: got %s, want %s",
				 crl ? "the revocation list" : expect, ht_errname(rc),
				 ht_errname(want));
		goto out;
	}

	assert_true(ht_session_established(s[0]));
	assert_true(ht_session_established(s[1]));
	assert_string_equal(ht_session_peer(s[0])->provider_id, "CARRIER-B");
	assert_string_equal(ht_session_peer(s[1])->provider_id, "CARRIER-A");
	size_t n;
	uint8_t *h = unhex(json_object_get(v, "initiator"), "handshake_hash_hex", &n);
	assert_memory_equal(ht_session_handshake_hash(s[0]), h, HT_NOISE_HASH_LEN);
	assert_memory_equal(ht_session_handshake_hash(s[1]), h, HT_NOISE_HASH_LEN);
	free(h);

	json_t *tr = json_object_get(v, "transport");
	for (size_t k = 0; k < 2; k++) {
		json_t *o = json_array_get(tr, k);
		size_t ptl, flen, gl;
		uint8_t *pt = unhex(o, "plaintext_hex", &ptl), *mine;
		const uint8_t *rec, *got;
		size_t rec_len;
		uint8_t *f = frame_of(o, &rec, &rec_len);
		assert_int_equal(ht_session_send(s[k], pt, ptl, &mine, &flen), HT_OK);
		assert_int_equal(flen, rec_len + 2);
		assert_memory_equal(mine, f, flen);
		free(mine);
		ht_session_event ev;
		assert_int_equal(ht_session_recv(s[1 - k], rec, rec_len, &ev, &got, &gl), HT_OK);
		assert_int_equal(ev, HT_SESSION_MESSAGE);
		assert_int_equal(gl, ptl);
		assert_memory_equal(got, pt, ptl);
		free(f);
		free(pt);
	}
out:
	ht_session_free(s[0]);
	ht_session_free(s[1]);
	if (tb != b->trust)
		ht_trust_free(tb);
}

static void test_handshake(void **state)
{
	(void)state;
	json_t *v = load("handshake.json");
	uint8_t apk[32], want[32];
	anchor_key(apk);
	unhex32(v, "anchor_sign_key_hex", want);
	assert_memory_equal(apk, want, 32);
	uint64_t now = (uint64_t)json_integer_value(json_object_get(v, "check_time"));

	struct hs_party a, b;
	json_t *I = json_object_get(v, "initiator"), *R = json_object_get(v, "responder");
	hs_party(I, apk, now, &a);
	hs_party(R, apk, now, &b);
	assert_string_equal(str(I, "provider_id"), "CARRIER-A");
	assert_string_equal(str(R, "provider_id"), "CARRIER-B");

	/* The initiator is the provider of keys.json, with certificate.json. */
	json_t *kj = load("keys.json"), *cj = load("certificate.json");
	json_t *kp = json_object_get(kj, "provider");
	assert_string_equal(str(kp, "sign_seed_hex"), str(I, "sign_seed_hex"));
	assert_string_equal(str(kp, "noise_secret_hex"), str(I, "noise_secret_hex"));
	assert_string_equal(str(cj, "envelope_hex"), str(I, "certificate_hex"));
	json_decref(kj);
	json_decref(cj);

	/* The prologue is exactly the spec's text, without a terminator. */
	assert_string_equal(str(v, "prologue"), "hoptrace/v1 session");
	assert_string_equal(HT_SESSION_PROLOGUE, "hoptrace/v1 session");
	uint8_t pre[HT_PREAMBLE_LEN];
	ht_preamble(pre);
	assert_memory_equal(pre, "HOPTRC\x00\x01", HT_PREAMBLE_LEN);

	hs_noise(v, &a, &b);
	hs_sessions(v, &a, &b, false, "CARRIER-B", HT_OK);
	/* Who checks what, and when: the responder after message 3, ... */
	hs_sessions(v, &a, &b, true, "CARRIER-B", HT_E_REVOKED);
	/* ... the initiator after message 2, before it sends message 3. */
	hs_sessions(v, &a, &b, false, "CARRIER-C", HT_E_WRONG_PEER);

	hs_party_free(&a);
	hs_party_free(&b);
	json_decref(v);
}

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_keys),
		cmocka_unit_test(test_certificate),
		cmocka_unit_test(test_revocation_list),
		cmocka_unit_test(test_trace_request),
		cmocka_unit_test(test_rejections),
		cmocka_unit_test(test_handshake),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
