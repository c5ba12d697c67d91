/*
 * Checks the committed vectors in spec/vectors/ against the library, the way
 * another implementation would use them: derive keys from the seeds, verify
 * signatures over the given signing inputs, recompute message identities,
 * and reject every rejection vector with its expected error. (The
 * vectors_regenerate test separately requires the generator to reproduce
 * the files byte for byte.) handshake.json is replayed from its seeds: the
 * Noise handshake through the Noise core, the session checks through two
 * session cores fed the recorded frames, and the transport frames decrypted
 * by the other side. The traceback vectors are rebuilt from their fields
 * with a canonical protobuf encoder written from the spec, the commitment,
 * hint and seals recomputed step by step with libsodium's primitives, and
 * the rejection vectors run through the library's parsers and verifiers.
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
#include "hoptrace/trace.h"
#include "hoptrace/trust.h"
#include "hoptrace/v1/cert.pb-c.h"
#include "hoptrace/v1/envelope.pb-c.h"
#include "hoptrace/v1/peer.pb-c.h"
#include "hoptrace/v1/trace.pb-c.h"

#include "../lib/wire.h" /* ht__unpack: where every decoder of the library starts */

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
	/* The issuer's input, unsorted, gives the same signed list. */
	json_t *given = json_object_get(json_object_get(v, "fields"), "serials_given");
	uint64_t in[8];
	assert_true(json_array_size(given) <= 8);
	for (size_t k = 0; k < json_array_size(given); k++)
		in[k] = (uint64_t)json_integer_value(json_array_get(given, k));
	json_t *kj = load("keys.json");
	uint8_t seed[32];
	unhex32(json_object_get(kj, "anchor"), "sign_seed_hex", seed);
	ht_keys ak;
	assert_int_equal(ht_keys_from_seeds(&ak, HT_KEYS_ANCHOR, seed, NULL), HT_OK);
	uint8_t *again;
	size_t again_len;
	assert_int_equal(ht_crl_issue(&ak, i->number, i->issued_at, in, json_array_size(given),
				      &again, &again_len),
			 HT_OK);
	assert_int_equal(again_len, len);
	assert_memory_equal(again, env, len);
	free(again);
	ht_keys_wipe(&ak);
	json_decref(kj);
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

/* The certificate fields a party's vector gives: serial, roles and validity. */
static void cert_fields_match(json_t *o, const ht_cert_info *ci)
{
	assert_int_equal(ci->serial, json_integer_value(json_object_get(o, "serial")));
	assert_int_equal(ci->not_before, json_integer_value(json_object_get(o, "not_before")));
	assert_int_equal(ci->not_after, json_integer_value(json_object_get(o, "not_after")));
	uint32_t roles = 0;
	size_t i;
	json_t *r;
	json_array_foreach(json_object_get(o, "roles"), i, r) roles |=
		ht_role_parse(json_string_value(r));
	assert_int_equal(ci->roles, roles);
}

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
	cert_fields_match(p, ci);
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

/*
 * The failures of spec 8.4.5 in handshake.json: new sessions replay the
 * recorded handshake up to `message`, whose reader gets `message_hex`
 * instead; the first error, reading it or writing the next message, is
 * `expected_error`, and the failed side has nothing more to send.
 */
static void hs_failures(json_t *v, struct hs_party *a, struct hs_party *b)
{
	uint64_t now = (uint64_t)json_integer_value(json_object_get(v, "check_time"));
	json_t *hs = json_object_get(v, "handshake"), *f;
	size_t i;
	assert_true(json_array_size(json_object_get(v, "failures")) >= 10);
	json_array_foreach(json_object_get(v, "failures"), i, f)
	{
		ht_session_config ca = {.initiator = true,
					.keys = &a->keys,
					.cert = a->cert,
					.cert_len = a->cert_len,
					.trust = a->trust,
					.now = now,
					.expected_peer = "CARRIER-B",
					.ephemeral_sk = a->eph};
		ht_session_config cb = {.initiator = false,
					.keys = &b->keys,
					.cert = b->cert,
					.cert_len = b->cert_len,
					.trust = b->trust,
					.now = now,
					.allowed = allow_carrier_a,
					.ephemeral_sk = b->eph};
		ht_session *s[2];
		assert_int_equal(ht_session_new(&s[0], &ca), HT_OK);
		assert_int_equal(ht_session_new(&s[1], &cb), HT_OK);
		int m = (int)json_integer_value(json_object_get(f, "message"));
		assert_true(m >= 1 && m <= 3);
		assert_string_equal(str(f, "reader"), m == 2 ? "initiator" : "responder");
		size_t len;
		uint8_t *bad = unhex(f, "message_hex", &len), *mine;
		int rc = HT_OK;
		for (int k = 1; k <= m && rc == HT_OK; k++) {
			ht_session *from = s[(k - 1) % 2], *to = s[k % 2];
			size_t fl, rl;
			const uint8_t *rec, *pt;
			uint8_t *fr = frame_of(json_array_get(hs, (size_t)k - 1), &rec, &rl);
			assert_int_equal(ht_session_pending(from, &mine, &fl), HT_OK);
			assert_non_null(mine);
			free(mine);
			ht_session_event ev;
			size_t ptl;
			rc = k < m ? ht_session_recv(to, rec, rl, &ev, &pt, &ptl)
				   : ht_session_recv(to, bad, len, &ev, &pt, &ptl);
			if (rc == HT_OK && k == m && m < 3) {
				mine = NULL;
				rc = ht_session_pending(to, &mine, &fl);
				free(mine);
			}
			free(fr);
		}
		if (strcmp(ht_errname(rc), str(f, "expected_error")) != 0)
			fail_msg("handshake failure %s: got %s, want %s", str(f, "name"),
				 ht_errname(rc), str(f, "expected_error"));
		ht_session *reader = s[m % 2];
		assert_int_not_equal(ht_session_pending(reader, &mine, &len), HT_OK);
		assert_false(ht_session_established(reader));
		free(bad);
		ht_session_free(s[0]);
		ht_session_free(s[1]);
	}
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
	hs_failures(v, &a, &b);

	hs_party_free(&a);
	hs_party_free(&b);
	json_decref(v);
}

/* ---- Traceback: trace.json, trace-rejections.json, evidence-bundle.json ---- */

/* A canonical protobuf encoder (spec section 2.7), written from the spec alone. */
struct pb {
	uint8_t *b;
	size_t n, cap;
};

static void pb_raw(struct pb *p, const void *d, size_t n)
{
	if (p->n + n > p->cap) {
		p->cap = (p->n + n) * 2 + 64;
		p->b = realloc(p->b, p->cap);
		assert_non_null(p->b);
	}
	if (n)
		memcpy(p->b + p->n, d, n);
	p->n += n;
}

static void pb_varint(struct pb *p, uint64_t v)
{
	uint8_t o[10];
	size_t k = 0;
	do {
		o[k++] = (uint8_t)((v & 0x7f) | (v > 0x7f ? 0x80 : 0));
		v >>= 7;
	} while (v);
	pb_raw(p, o, k);
}

/* A singular integer: left out at 0. */
static void pb_uint(struct pb *p, uint32_t field, uint64_t v)
{
	if (!v)
		return;
	pb_varint(p, (uint64_t)field << 3);
	pb_varint(p, v);
}

/* A length-delimited value that is always written (repeated element, oneof member). */
static void pb_len(struct pb *p, uint32_t field, const void *d, size_t n)
{
	pb_varint(p, (uint64_t)field << 3 | 2);
	pb_varint(p, n);
	pb_raw(p, d, n);
}

/* A singular bytes field: left out when empty. */
static void pb_bytes(struct pb *p, uint32_t field, const void *d, size_t n)
{
	if (n)
		pb_len(p, field, d, n);
}

static void pb_hexfield(struct pb *p, uint32_t field, json_t *o, const char *key)
{
	size_t n;
	uint8_t *b = unhex(o, key, &n);
	pb_bytes(p, field, b, n);
	free(b);
}

static uint64_t num(json_t *o, const char *key)
{
	json_t *v = json_object_get(o, key);
	assert_non_null(v);
	assert_true(json_is_integer(v));
	return (uint64_t)json_integer_value(v);
}

static void assert_hex_equal(json_t *o, const char *key, const uint8_t *b, size_t n)
{
	size_t wl;
	uint8_t *w = unhex(o, key, &wl);
	if (wl != n || memcmp(w, b, n) != 0)
		fail_msg("%s differs from what the spec's rule gives", key);
	free(w);
}

struct tparty {
	ht_keys k;
	uint8_t *cert;
	size_t cert_len;
};

static void tparty(json_t *tj, const char *id, struct tparty *p)
{
	json_t *o = json_object_get(json_object_get(tj, "parties"), id);
	assert_non_null(o);
	uint8_t seed[32], nsk[32], k[32];
	unhex32(o, "sign_seed_hex", seed);
	unhex32(o, "noise_secret_hex", nsk);
	assert_int_equal(ht_keys_from_seeds(&p->k, HT_KEYS_PROVIDER, seed, nsk), HT_OK);
	unhex32(o, "sign_key_hex", k);
	assert_memory_equal(k, p->k.sign_pk, 32);
	unhex32(o, "noise_key_hex", k);
	assert_memory_equal(k, p->k.noise_pk, 32);
	p->cert = unhex(o, "certificate_hex", &p->cert_len);
	ht_cert *c;
	assert_int_equal(ht_cert_parse(p->cert, p->cert_len, &c), HT_OK);
	const ht_cert_info *ci = ht_cert_get_info(c);
	assert_string_equal(ci->provider_id, id);
	assert_memory_equal(ci->sign_key, p->k.sign_pk, 32);
	assert_memory_equal(ci->noise_key, p->k.noise_pk, 32);
	cert_fields_match(o, ci);
	ht_cert_free(c);
}

static void tparty_free(struct tparty *p)
{
	ht_keys_wipe(&p->k);
	free(p->cert);
}

static ht_trust *trust_of(json_t *o, bool with_crl)
{
	uint8_t apk[32];
	unhex32(o, "anchor_sign_key_hex", apk);
	ht_trust *t;
	assert_int_equal(ht_trust_new(&t), HT_OK);
	assert_int_equal(ht_trust_add_anchor(t, apk), HT_OK);
	if (with_crl) {
		json_t *lj = load("revocation-list.json");
		size_t len;
		uint8_t *e = unhex(lj, "envelope_hex", &len);
		ht_crl *l;
		assert_int_equal(ht_crl_parse(e, len, &l), HT_OK);
		assert_int_equal(ht_trust_add_crl(t, l), HT_OK);
		free(e);
		json_decref(lj);
	}
	return t;
}

/* "hoptrace/v1 ..." || 0x00 || calling || 0x00 || called. */
static size_t pair_input(const char *dom, const char *calling, const char *called, uint8_t *out)
{
	size_t n = 0;
	const char *parts[3] = {dom, calling, called};
	for (int k = 0; k < 3; k++) {
		if (k)
			out[n++] = 0;
		memcpy(out + n, parts[k], strlen(parts[k]));
		n += strlen(parts[k]);
	}
	return n;
}

static void test_trace_blinded_call(void **state)
{
	(void)state;
	json_t *tj = load("trace.json");
	json_t *bc = json_object_get(tj, "blinded_call");
	const char *calling = str(bc, "calling"), *called = str(bc, "called");
	assert_true(ht_e164_digits_valid(calling, strlen(calling)));
	assert_true(ht_e164_digits_valid(called, strlen(called)));
	uint8_t salt[32], in[128], h[32];
	unhex32(bc, "salt_hex", salt);

	size_t n = pair_input("hoptrace/v1 call", calling, called, in);
	assert_hex_equal(bc, "commitment_input_hex", in, n);
	crypto_generichash(h, 32, in, n, salt, 32); /* BLAKE2b's keyed mode */
	assert_hex_equal(bc, "commitment_hex", h, 32);
	uint8_t lib[32];
	assert_int_equal(ht_call_commitment(salt, calling, called, lib), HT_OK);
	assert_memory_equal(lib, h, 32);
	/* Not HMAC, not a prefix of BLAKE2b-512: those give other octets. */
	uint8_t h64[64];
	crypto_generichash(h64, 64, in, n, salt, 32);
	assert_memory_not_equal(h64, h, 32);

	n = pair_input("hoptrace/v1 number-hint", calling, called, in);
	assert_hex_equal(bc, "hint_input_hex", in, n);
	crypto_generichash(h, 32, in, n, NULL, 0);
	assert_hex_equal(bc, "hint_digest_hex", h, 32);
	uint32_t full = (uint32_t)h[0] << 8 | h[1];
	assert_int_equal(full, num(bc, "hint_16"));
	assert_int_equal(full, ht_call_hint(calling, called));
	uint32_t bits = (uint32_t)num(bc, "hint_bits");
	uint32_t mask = bits ? (0xffffu << (16 - bits)) & 0xffffu : 0;
	assert_int_equal(full & mask, num(bc, "hint"));

	json_t *f = json_object_get(json_object_get(tj, "request"), "fields");
	assert_string_equal(str(f, "call_commitment_hex"), str(bc, "commitment_hex"));
	assert_string_equal(str(f, "salt_hex"), str(bc, "salt_hex"));
	assert_int_equal(num(f, "hint"), num(bc, "hint"));
	assert_int_equal(num(f, "hint_bits"), bits);
	json_decref(tj);
}

/* The request of trace.json, encoded from its fields (spec 11.3.1). */
static void request_body(json_t *f, const uint8_t *cert, size_t cert_len, struct pb *p)
{
	const char *id = str(f, "initiator_id"), *label = str(f, "label");
	pb_hexfield(p, 1, f, "trace_id_hex");
	pb_bytes(p, 2, id, strlen(id));
	pb_bytes(p, 3, cert, cert_len);
	pb_uint(p, 4, num(f, "created_ms"));
	pb_uint(p, 5, num(f, "expires_ms"));
	pb_uint(p, 6, num(f, "call_time_ms"));
	pb_uint(p, 7, num(f, "tolerance_ms"));
	pb_uint(p, 8, num(f, "hop_limit"));
	pb_hexfield(p, 9, f, "salt_hex");
	pb_hexfield(p, 10, f, "call_commitment_hex");
	pb_hexfield(p, 11, f, "answer_key_hex");
	pb_uint(p, 12, num(f, "hint"));
	pb_uint(p, 13, num(f, "hint_bits"));
	pb_bytes(p, 14, label, strlen(label));
}

static void test_trace_request_json(void **state)
{
	(void)state;
	json_t *tj = load("trace.json"), *cj = load("certificate.json"),
	       *hj = load("handshake.json");
	json_t *rq = json_object_get(tj, "request"), *f = json_object_get(rq, "fields");
	struct tparty a, b, c;
	tparty(tj, "CARRIER-A", &a);
	tparty(tj, "CARRIER-B", &b);
	tparty(tj, "CARRIER-C", &c);
	/* A is certificate.json's provider, B handshake.json's responder. */
	assert_string_equal(str(json_object_get(json_object_get(tj, "parties"), "CARRIER-A"),
				"certificate_hex"),
			    str(cj, "envelope_hex"));
	assert_string_equal(str(json_object_get(json_object_get(tj, "parties"), "CARRIER-B"),
				"certificate_hex"),
			    str(json_object_get(hj, "responder"), "certificate_hex"));

	uint8_t ask[32], apk[32];
	unhex32(rq, "answer_secret_hex", ask);
	assert_int_equal(crypto_scalarmult_base(apk, ask), 0);
	assert_hex_equal(f, "answer_key_hex", apk, 32);

	/* The body from the fields, then the signature. */
	struct pb p = {0};
	request_body(f, a.cert, a.cert_len, &p);
	assert_hex_equal(rq, "body_hex", p.b, p.n);
	free(p.b);
	check_signed(rq, a.k.sign_pk, HT_KIND_TRACE_REQUEST);

	/* The library builds the same octets from the same choices. */
	uint8_t tid[16], salt[32];
	size_t n;
	uint8_t *x = unhex(f, "trace_id_hex", &n);
	assert_int_equal(n, 16);
	memcpy(tid, x, 16);
	free(x);
	unhex32(f, "salt_hex", salt);
	json_t *bc = json_object_get(tj, "blinded_call");
	ht_request_params rp = {
		.calling = str(bc, "calling"),
		.called = str(bc, "called"),
		.created_ms = num(f, "created_ms"),
		.expires_ms = num(f, "expires_ms"),
		.call_time_ms = num(f, "call_time_ms"),
		.tolerance_ms = (uint32_t)num(f, "tolerance_ms"),
		.hop_limit = (uint32_t)num(f, "hop_limit"),
		.hint_bits = (uint32_t)num(f, "hint_bits"),
		.label = str(f, "label"),
		.answer_pk = apk,
		.trace_id = tid,
		.salt = salt,
	};
	uint8_t *env;
	size_t env_len;
	assert_int_equal(ht_request_build(&rp, &a.k, a.cert, a.cert_len, &env, &env_len), HT_OK);
	assert_hex_equal(rq, "envelope_hex", env, env_len);

	/* A hop accepts it at check_time_ms, and the committed call matches. */
	ht_trust *t = trust_of(tj, false);
	ht_request *r;
	ht_reason why;
	assert_int_equal(ht_request_parse(env, env_len, &r), HT_OK);
	assert_int_equal(ht_request_verify(r, t, num(rq, "check_time_ms"), &why), HT_OK);
	assert_int_equal(why, HT_REASON_UNSPECIFIED);
	const ht_request_info *ri = ht_request_get(r);
	assert_memory_equal(ri->trace_id, tid, 16);
	assert_string_equal(ri->initiator_id, "CARRIER-A");
	assert_int_equal(ri->hint, num(f, "hint"));
	assert_string_equal(ri->label, str(f, "label"));
	assert_hex_equal(rq, "message_id_hex", ht_request_id(r), 32);
	assert_true(ht_request_matches(r, rp.calling, rp.called));
	assert_false(ht_request_matches(r, rp.called, rp.calling));
	assert_false(ht_request_matches(r, "12025550144", rp.called));
	ht_request_free(r);
	ht_trust_free(t);
	free(env);
	tparty_free(&a);
	tparty_free(&b);
	tparty_free(&c);
	json_decref(tj);
	json_decref(cj);
	json_decref(hj);
}

/* A HopAnswer body from the fields of a vector (spec 11.7.1, 11.7.2). */
static void answer_body(json_t *f, const uint8_t *cert, size_t cert_len, struct pb *p)
{
	const char *pid = str(f, "provider_id"), *asked = str(f, "asked_by"),
		   *up = str(f, "upstream");
	pb_hexfield(p, 1, f, "request_hash_hex");
	pb_bytes(p, 2, pid, strlen(pid));
	pb_bytes(p, 3, asked, strlen(asked));
	pb_uint(p, 4, num(f, "status"));
	pb_uint(p, 8, num(f, "reason"));
	pb_uint(p, 9, num(f, "answered_ms"));
	pb_uint(p, 10, num(f, "hop"));
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(f, "calls"), i, c)
	{
		struct pb m = {0};
		const char *u = str(c, "upstream"), *ref = str(c, "customer_ref");
		pb_bytes(&m, 1, u, strlen(u));
		pb_uint(&m, 2, json_is_true(json_object_get(c, "originated_here")));
		pb_bytes(&m, 3, ref, strlen(ref));
		pb_uint(&m, 4, num(c, "record_time_ms"));
		pb_uint(&m, 5, num(c, "attestation"));
		pb_hexfield(&m, 6, c, "origid_hex");
		pb_len(p, 11, m.b, m.n);
		free(m.b);
	}
	pb_bytes(p, 12, up, strlen(up));
	pb_bytes(p, 13, cert, cert_len);
	pb_uint(p, 14, num(f, "window_time_ms"));
}

static ht_answer_info answer_info(json_t *f)
{
	ht_answer_info a;
	memset(&a, 0, sizeof(a));
	size_t n;
	uint8_t *rh = unhex(f, "request_hash_hex", &n);
	assert_int_equal(n, HT_MSG_ID_LEN);
	memcpy(a.request_hash, rh, n);
	free(rh);
	snprintf(a.provider_id, sizeof(a.provider_id), "%s", str(f, "provider_id"));
	snprintf(a.asked_by, sizeof(a.asked_by), "%s", str(f, "asked_by"));
	snprintf(a.upstream, sizeof(a.upstream), "%s", str(f, "upstream"));
	a.status = (uint32_t)num(f, "status");
	a.reason = (uint32_t)num(f, "reason");
	a.answered_ms = num(f, "answered_ms");
	a.hop = (uint32_t)num(f, "hop");
	a.window_time_ms = num(f, "window_time_ms");
	size_t i;
	json_t *c;
	json_array_foreach(json_object_get(f, "calls"), i, c)
	{
		ht_matched_call *m = &a.calls[a.n_calls++];
		snprintf(m->upstream, sizeof(m->upstream), "%s", str(c, "upstream"));
		snprintf(m->customer_ref, sizeof(m->customer_ref), "%s", str(c, "customer_ref"));
		m->originated_here = json_is_true(json_object_get(c, "originated_here"));
		m->record_time_ms = num(c, "record_time_ms");
		m->attestation = (uint8_t)num(c, "attestation");
		uint8_t *o = unhex(c, "origid_hex", &n);
		m->has_origid = n == HT_ORIGID_LEN;
		if (n)
			memcpy(m->origid, o, n);
		free(o);
	}
	return a;
}

/* The seal of `env` to `pk` with ephemeral secret `eph`, by the steps of spec 11.8. */
static void seal_by_hand(const uint8_t *env, size_t len, const uint8_t pk[32],
			 const uint8_t eph[32], uint8_t **out, size_t *out_len, uint8_t nonce[24])
{
	uint8_t epk[32], s[32], k[32], k2[32], zero[16] = {0};
	assert_int_equal(crypto_scalarmult_base(epk, eph), 0);
	uint8_t nin[64];
	memcpy(nin, epk, 32);
	memcpy(nin + 32, pk, 32);
	crypto_generichash(nonce, 24, nin, 64, NULL, 0);
	assert_int_equal(crypto_scalarmult(s, eph, pk), 0);
	crypto_core_hsalsa20(k, zero, s, NULL);
	crypto_core_hsalsa20(k2, nonce, k, NULL);
	/* Salsa20 under k2 with the last 8 nonce octets: 32 octets of Poly1305 key, then the pad.
	 */
	uint8_t *stream = malloc(len + 32);
	assert_non_null(stream);
	crypto_stream_salsa20(stream, len + 32, nonce + 16, k2);
	uint8_t *b = malloc(len + 48);
	assert_non_null(b);
	memcpy(b, epk, 32);
	for (size_t i = 0; i < len; i++)
		b[48 + i] = env[i] ^ stream[32 + i];
	crypto_onetimeauth_poly1305(b + 32, b + 48, len, stream);
	free(stream);
	*out = b;
	*out_len = len + 48;
}

static void test_trace_answers(void **state)
{
	(void)state;
	json_t *tj = load("trace.json");
	json_t *rq = json_object_get(tj, "request");
	uint8_t ask[32], apk[32];
	unhex32(rq, "answer_secret_hex", ask);
	unhex32(json_object_get(rq, "fields"), "answer_key_hex", apk);
	ht_trust *t = trust_of(tj, false);
	size_t idl;
	uint8_t *req_id = unhex(rq, "message_id_hex", &idl);

	json_t *answers = json_object_get(tj, "answers");
	assert_int_equal(json_array_size(answers), 6);
	size_t i;
	json_t *v;
	json_array_foreach(answers, i, v)
	{
		json_t *f = json_object_get(v, "fields");
		struct tparty s;
		tparty(tj, str(v, "signer"), &s);
		assert_string_equal(str(v, "signer"), str(f, "provider_id"));
		assert_string_equal(str(f, "request_hash_hex"), str(rq, "message_id_hex"));
		struct pb p = {0};
		answer_body(f, s.cert, s.cert_len, &p);
		assert_hex_equal(v, "body_hex", p.b, p.n);
		free(p.b);
		check_signed(v, s.k.sign_pk, HT_KIND_HOP_ANSWER);

		size_t env_len;
		uint8_t *env = unhex(v, "envelope_hex", &env_len), *mine;
		size_t mine_len;
		ht_answer_info ai = answer_info(f);
		assert_int_equal(ht_answer_sign(&ai, &s.k, s.cert, s.cert_len, &mine, &mine_len),
				 HT_OK);
		assert_int_equal(mine_len, env_len);
		assert_memory_equal(mine, env, env_len);
		free(mine);

		ht_answer *a;
		assert_int_equal(ht_answer_parse(env, env_len, &a), HT_OK);
		assert_int_equal(ht_answer_verify(a, t, req_id), HT_OK);
		const ht_answer_info *got = ht_answer_get(a);
		assert_int_equal(got->status, ai.status);
		assert_int_equal(got->n_calls, ai.n_calls);
		assert_string_equal(got->asked_by, ai.asked_by);
		assert_string_equal(ht_answer_status_name(got->status), str(f, "status_name"));
		ht_answer_free(a);

		/* The seal: by the spec's steps, by the library, and opened again. */
		json_t *sj = json_object_get(v, "seal");
		uint8_t eph[32], nonce[24], *box, *lbox, *opened;
		size_t box_len, lbox_len, opened_len;
		unhex32(sj, "ephemeral_secret_hex", eph);
		seal_by_hand(env, env_len, apk, eph, &box, &box_len, nonce);
		assert_hex_equal(sj, "ephemeral_key_hex", box, 32);
		assert_hex_equal(sj, "nonce_hex", nonce, 24);
		assert_hex_equal(sj, "sealed_hex", box, box_len);
		assert_int_equal(ht_seal(env, env_len, apk, eph, &lbox, &lbox_len), HT_OK);
		assert_int_equal(lbox_len, box_len);
		assert_memory_equal(lbox, box, box_len);
		assert_int_equal(ht_unseal(box, box_len, apk, ask, &opened, &opened_len), HT_OK);
		assert_int_equal(opened_len, env_len);
		assert_memory_equal(opened, env, env_len);
		free(opened);
		/* libsodium's own sealed-box opener agrees. */
		opened = malloc(env_len);
		assert_non_null(opened);
		assert_int_equal(crypto_box_seal_open(opened, box, box_len, apk, ask), 0);
		assert_memory_equal(opened, env, env_len);
		free(opened);
		free(box);
		free(lbox);

		json_t *cr = json_object_get(v, "opaque_customer_ref");
		if (cr) {
			/* K = BLAKE2b-256(key = seed, domain); ref = hex of 16 octets. */
			json_t *po =
				json_object_get(json_object_get(tj, "parties"), str(v, "signer"));
			uint8_t seed[32], k[32], d[32];
			char hx[33];
			unhex32(po, "sign_seed_hex", seed);
			const char *dom = str(cr, "domain"), *ref = str(cr, "stored_reference");
			assert_string_equal(dom, "hoptrace/v1 customer-ref");
			crypto_generichash(k, 32, (const uint8_t *)dom, strlen(dom), seed, 32);
			assert_hex_equal(cr, "key_hex", k, 32);
			crypto_generichash(d, 32, (const uint8_t *)ref, strlen(ref), k, 32);
			assert_hex_equal(cr, "digest_hex", d, 32);
			sodium_bin2hex(hx, sizeof(hx), d, 16);
			assert_string_equal(hx, str(cr, "customer_ref"));
			json_t *c0 = json_array_get(json_object_get(f, "calls"), 0);
			assert_true(json_is_true(json_object_get(c0, "originated_here")));
			assert_string_equal(str(c0, "customer_ref"), hx);
		}
		free(env);
		tparty_free(&s);
	}
	free(req_id);
	ht_trust_free(t);
	json_decref(tj);
}

static void test_trace_sealed_box(void **state)
{
	(void)state;
	json_t *tj = load("trace.json");
	json_t *sb = json_object_get(tj, "sealed_box");
	json_t *ans = json_array_get(json_object_get(tj, "answers"), 3);
	assert_string_equal(str(sb, "answer"), str(ans, "name"));
	assert_string_equal(str(sb, "plaintext_hex"), str(ans, "envelope_hex"));
	uint8_t pk[32], sk[32], eph[32], epk[32], s[32], k[32], zero[16] = {0};
	unhex32(sb, "recipient_key_hex", pk);
	unhex32(sb, "recipient_secret_hex", sk);
	unhex32(sb, "ephemeral_secret_hex", eph);
	assert_int_equal(crypto_scalarmult_base(epk, sk), 0);
	assert_memory_equal(epk, pk, 32);
	assert_int_equal(crypto_scalarmult_base(epk, eph), 0);
	assert_hex_equal(sb, "ephemeral_key_hex", epk, 32);
	uint8_t nin[64], nonce[24];
	memcpy(nin, epk, 32);
	memcpy(nin + 32, pk, 32);
	assert_hex_equal(sb, "nonce_input_hex", nin, 64);
	crypto_generichash(nonce, 24, nin, 64, NULL, 0);
	assert_hex_equal(sb, "nonce_hex", nonce, 24);
	assert_int_equal(crypto_scalarmult(s, eph, pk), 0);
	assert_hex_equal(sb, "shared_secret_hex", s, 32);
	crypto_core_hsalsa20(k, zero, s, NULL);
	assert_hex_equal(sb, "box_key_hex", k, 32);
	/* The recipient derives the same key from its side. */
	uint8_t s2[32];
	assert_int_equal(crypto_scalarmult(s2, sk, epk), 0);
	assert_memory_equal(s2, s, 32);

	size_t m_len;
	uint8_t *m = unhex(ans, "envelope_hex", &m_len);
	uint8_t *c = malloc(m_len), tag[16];
	assert_non_null(c);
	assert_int_equal(crypto_secretbox_detached(c, tag, m, m_len, nonce, k), 0);
	assert_hex_equal(sb, "tag_hex", tag, 16);
	assert_hex_equal(sb, "ciphertext_hex", c, m_len);
	size_t sl;
	uint8_t *sealed = unhex(sb, "sealed_hex", &sl);
	assert_int_equal(sl, m_len + 48);
	assert_memory_equal(sealed, epk, 32);
	assert_memory_equal(sealed + 32, tag, 16);
	assert_memory_equal(sealed + 48, c, m_len);
	assert_string_equal(str(sb, "sealed_hex"), str(json_object_get(ans, "seal"), "sealed_hex"));
	free(sealed);
	free(c);
	free(m);
	json_decref(tj);
}

static void test_trace_peer_messages(void **state)
{
	(void)state;
	json_t *tj = load("trace.json");
	json_t *list = json_object_get(tj, "peer_messages");
	assert_int_equal(json_array_size(list), 4);
	size_t reql, boxl;
	uint8_t *req = unhex(json_object_get(tj, "request"), "envelope_hex", &reql);
	uint8_t *box =
		unhex(json_object_get(json_array_get(json_object_get(tj, "answers"), 3), "seal"),
		      "sealed_hex", &boxl);
	static const char *const names[4] = {"trace_forward", "trace_answer", "trace_complete",
					     "error"};
	static const ht_pmsg_type types[4] = {HT_PMSG_TRACE_FORWARD, HT_PMSG_TRACE_ANSWER,
					      HT_PMSG_TRACE_COMPLETE, HT_PMSG_ERROR};
	for (size_t k = 0; k < 4; k++) {
		json_t *o = json_array_get(list, k), *m = json_object_get(o, "message");
		assert_string_equal(str(o, "name"), names[k]);
		struct pb inner = {0}, outer = {0};
		ht_pmsg pm = {.type = types[k]};
		uint8_t *tid = NULL;
		size_t tl = 0;
		if (k) {
			tid = unhex(m, "trace_id_hex", &tl);
			assert_int_equal(tl, 16);
			memcpy(pm.trace_id, tid, 16);
			pm.has_trace_id = true;
		}
		switch (k) {
		case 0: /* TraceForward {request, hop, window_time_ms, budget_ms}: member 6 */
			assert_hex_equal(m, "request_hex", req, reql);
			pb_bytes(&inner, 1, req, reql);
			pb_uint(&inner, 2, num(m, "hop"));
			pb_uint(&inner, 3, num(m, "window_time_ms"));
			pb_uint(&inner, 4, num(m, "budget_ms"));
			pm.data = req;
			pm.data_len = reql;
			pm.hop = (uint32_t)num(m, "hop");
			pm.window_time_ms = num(m, "window_time_ms");
			pm.budget_ms = (uint32_t)num(m, "budget_ms");
			break;
		case 1: /* TraceAnswer {trace_id, sealed_answer}: member 7 */
			assert_hex_equal(m, "sealed_answer_hex", box, boxl);
			pb_bytes(&inner, 1, tid, tl);
			pb_bytes(&inner, 2, box, boxl);
			pm.data = box;
			pm.data_len = boxl;
			break;
		case 2: /* TraceComplete {trace_id}: member 8 */
			pb_bytes(&inner, 1, tid, tl);
			break;
		default: /* Error {reason, detail, trace_id}: member 5 */
			pb_uint(&inner, 1, num(m, "reason"));
			pb_bytes(&inner, 2, str(m, "detail"), strlen(str(m, "detail")));
			pb_bytes(&inner, 3, tid, tl);
			pm.reason = (uint32_t)num(m, "reason");
			snprintf(pm.detail, sizeof(pm.detail), "%s", str(m, "detail"));
		}
		static const uint32_t member[4] = {6, 7, 8, 5};
		pb_len(&outer, member[k], inner.b, inner.n);
		assert_hex_equal(o, "plaintext_hex", outer.b, outer.n);

		uint8_t *enc;
		size_t el;
		assert_int_equal(ht_pmsg_encode(&pm, &enc, &el), HT_OK);
		assert_int_equal(el, outer.n);
		assert_memory_equal(enc, outer.b, el);
		ht_pmsg back;
		assert_int_equal(ht_pmsg_decode(enc, el, &back), HT_OK);
		assert_int_equal(back.type, types[k]);
		assert_int_equal(back.has_trace_id, k != 0);
		if (k)
			assert_memory_equal(back.trace_id, tid, 16);
		if (k == 0) {
			assert_int_equal(back.data_len, reql);
			assert_int_equal(back.hop, 1);
		}
		ht_pmsg_clear(&back);
		free(enc);
		free(inner.b);
		free(outer.b);
		free(tid);
	}
	/* The budget of the forward follows spec 11.10 from the request's expiry. */
	json_t *fwd = json_object_get(json_array_get(list, 0), "message");
	json_t *f = json_object_get(json_object_get(tj, "request"), "fields");
	uint64_t now = num(f, "created_ms") + 5, left = num(f, "expires_ms") - now;
	assert_int_equal(num(fwd, "budget_ms"), left * 7 / 8 - 50);
	free(req);
	free(box);
	json_decref(tj);
}

/* Steps 6 to 11 of spec 11.5 for a verified request (no capacity limit). */
static ht_reason hop_reason(const ht_request *r, const ht_trust *t, json_t *v)
{
	ht_reason why;
	if (ht_request_verify(r, t, num(v, "check_time_ms"), &why) != HT_OK)
		return why;
	const ht_request_info *ri = ht_request_get(r);
	uint32_t hop = (uint32_t)num(v, "hop");
	const char *asker = str(v, "asking_peer");
	if (hop >= ri->hop_limit)
		return HT_REASON_HOP_LIMIT;
	if (hop == 0 && strcmp(asker, ri->initiator_id) != 0)
		return HT_REASON_POLICY_REFUSED;
	if (json_is_true(json_object_get(v, "trace_id_seen_before")))
		return HT_REASON_DUPLICATE;
	json_t *pol = json_object_get(v, "initiators_policy");
	if (json_array_size(pol)) {
		size_t i;
		json_t *p;
		json_array_foreach(pol, i, p) if (strcmp(json_string_value(p), ri->initiator_id) ==
						  0) return HT_REASON_UNSPECIFIED;
		return HT_REASON_POLICY_REFUSED;
	}
	return HT_REASON_UNSPECIFIED;
}

static void test_trace_rejections(void **state)
{
	(void)state;
	json_t *v = load("trace-rejections.json"), *tj = load("trace.json");
	ht_trust *t = trust_of(v, false), *tc = trust_of(v, true);
	assert_string_equal(str(v, "anchor_sign_key_hex"), str(tj, "anchor_sign_key_hex"));
	assert_string_equal(str(v, "request_id_hex"),
			    str(json_object_get(tj, "request"), "message_id_hex"));
	size_t i;
	json_t *r;

	json_t *reqs = json_object_get(v, "requests");
	assert_true(json_array_size(reqs) >= 30);
	json_array_foreach(reqs, i, r)
	{
		size_t len;
		uint8_t *b = unhex(r, "request_hex", &len);
		ht_request *q;
		int rc = ht_request_parse(b, len, &q);
		ht_reason why = ht_reason_from_err(rc);
		if (rc == HT_OK) {
			bool crl = json_is_true(json_object_get(r, "with_revocation_list"));
			if (ht_request_verify(q, crl ? tc : t, num(r, "check_time_ms"), &why) ==
			    HT_OK)
				why = HT_REASON_UNSPECIFIED;
		}
		if (why != num(r, "expected_reason"))
			fail_msg("request vector %s: reason %u, want %u", str(r, "name"), why,
				 (unsigned)num(r, "expected_reason"));
		if ((q != NULL) != json_is_true(json_object_get(r, "answer_key_usable")))
			fail_msg("request vector %s: answer key usable %d", str(r, "name"),
				 q != NULL);
		/* The name is the enum name of the code (spec 10.2). */
		char want[64];
		snprintf(want, sizeof(want), "REASON_%s", ht_reason_name(why));
		for (char *c = want; *c; c++)
			*c = (char)(*c >= 'a' && *c <= 'z' ? *c - 32 : *c);
		assert_string_equal(want, str(r, "expected_reason_name"));
		ht_request_free(q);
		free(b);
	}

	size_t rl;
	uint8_t *req = unhex(json_object_get(tj, "request"), "envelope_hex", &rl);
	ht_request *q;
	assert_int_equal(ht_request_parse(req, rl, &q), HT_OK);
	json_array_foreach(json_object_get(v, "hop_checks"), i, r)
	{
		ht_reason why = hop_reason(q, t, r);
		if (why != num(r, "expected_reason"))
			fail_msg("hop check %s: reason %u, want %u", str(r, "name"), why,
				 (unsigned)num(r, "expected_reason"));
	}

	size_t idl;
	uint8_t *req_id = unhex(v, "request_id_hex", &idl);
	json_t *ans = json_object_get(v, "answers");
	assert_true(json_array_size(ans) >= 25);
	json_array_foreach(ans, i, r)
	{
		size_t len;
		uint8_t *b = unhex(r, "answer_hex", &len);
		ht_answer *a;
		int rc = ht_answer_parse(b, len, &a);
		if (rc == HT_OK) {
			/* Steps 12 to 14, then 15 against trace.json's request. */
			rc = ht_answer_verify(a, t, req_id);
			if (rc == HT_OK)
				rc = ht_answer_check_time(ht_answer_get(a), ht_request_get(q));
			ht_answer_free(a);
		}
		if (strcmp(ht_errname(rc), str(r, "expected_error")) != 0)
			fail_msg("answer vector %s: got %s, want %s", str(r, "name"),
				 ht_errname(rc), str(r, "expected_error"));
		free(b);
	}
	free(req_id);
	ht_request_free(q);
	free(req);

	uint8_t ask[32], apk[32];
	json_t *rq = json_object_get(tj, "request");
	unhex32(rq, "answer_secret_hex", ask);
	unhex32(json_object_get(rq, "fields"), "answer_key_hex", apk);
	size_t want_len;
	uint8_t *want =
		unhex(json_array_get(json_object_get(tj, "answers"), 1), "envelope_hex", &want_len);
	json_array_foreach(json_object_get(v, "sealed"), i, r)
	{
		size_t len, ml;
		uint8_t *b = unhex(r, "sealed_hex", &len), *m;
		int rc = ht_unseal(b, len, apk, ask, &m, &ml);
		if (strcmp(ht_errname(rc), str(r, "expected_error")) != 0)
			fail_msg("sealed vector %s: got %s", str(r, "name"), ht_errname(rc));
		if (rc == HT_OK) {
			assert_int_equal(ml, want_len);
			assert_memory_equal(m, want, ml);
			free(m);
		}
		free(b);
	}
	free(want);
	ht_trust_free(t);
	ht_trust_free(tc);
	json_decref(v);
	json_decref(tj);
}

static void test_trace_request_draft_parses(void **state)
{
	(void)state;
	/* trace-request.json predates section 11 and is still a well-formed request. */
	json_t *v = load("trace-request.json"), *kj = load("keys.json");
	size_t len;
	uint8_t *b = unhex(v, "envelope_hex", &len);
	ht_request *r;
	assert_int_equal(ht_request_parse(b, len, &r), HT_OK);
	ht_trust *t;
	uint8_t apk[32];
	unhex32(json_object_get(kj, "anchor"), "sign_key_hex", apk);
	assert_int_equal(ht_trust_new(&t), HT_OK);
	assert_int_equal(ht_trust_add_anchor(t, apk), HT_OK);
	json_t *f = json_object_get(v, "fields");
	assert_int_equal(num(v, "check_time_ms"), num(f, "created_ms"));
	assert_int_equal(ht_request_verify(r, t, num(v, "check_time_ms"), NULL), HT_OK);
	assert_int_equal(ht_request_get(r)->hint_bits, 0);
	assert_hex_equal(v, "message_id_hex", ht_request_id(r), 32);
	ht_request_free(r);
	ht_trust_free(t);
	free(b);
	json_decref(v);
	json_decref(kj);
}

static void test_evidence_bundle(void **state)
{
	(void)state;
	json_t *v = load("evidence-bundle.json"), *tj = load("trace.json");
	ht_trust *t = trust_of(v, false);
	json_t *answers = json_object_get(tj, "answers");
	size_t rl;
	uint8_t *req = unhex(json_object_get(tj, "request"), "envelope_hex", &rl);
	size_t i;
	json_t *b;
	json_array_foreach(json_object_get(v, "bundles"), i, b)
	{
		json_t *f = json_object_get(b, "fields");
		/* The bundle from its fields: version, request, opening, answers, time. */
		struct pb p = {0};
		pb_uint(&p, 1, num(f, "version"));
		assert_hex_equal(f, "request_hex", req, rl);
		pb_bytes(&p, 2, req, rl);
		pb_bytes(&p, 3, str(f, "calling"), strlen(str(f, "calling")));
		pb_bytes(&p, 4, str(f, "called"), strlen(str(f, "called")));
		size_t k, n = json_array_size(json_object_get(f, "answer_indexes"));
		const uint8_t *ap[8];
		size_t al[8];
		uint8_t *own[8];
		assert_true(n <= 8);
		json_t *nm;
		json_array_foreach(json_object_get(f, "answer_indexes"), k, nm)
		{
			/* An index into trace.json's answers, whose name is given too. */
			assert_true(json_is_integer(nm));
			json_t *src = json_array_get(answers, (size_t)json_integer_value(nm));
			assert_non_null(src);
			assert_string_equal(str(src, "name"),
					    json_string_value(json_array_get(
						    json_object_get(f, "answer_names"), k)));
			own[k] = unhex(src, "envelope_hex", &al[k]);
			ap[k] = own[k];
			pb_len(&p, 5, own[k], al[k]);
		}
		pb_uint(&p, 6, num(f, "exported_ms"));
		assert_hex_equal(b, "bundle_hex", p.b, p.n);
		uint8_t *enc;
		size_t el;
		assert_int_equal(ht_bundle_encode(req, rl, str(f, "calling"), str(f, "called"), ap,
						  al, n, num(f, "exported_ms"), &enc, &el),
				 HT_OK);
		assert_int_equal(el, p.n);
		assert_memory_equal(enc, p.b, el);
		free(enc);

		json_t *ex = json_object_get(b, "expected");
		ht_bundle_report rep;
		int rc = ht_bundle_verify(p.b, p.n, t, &rep);
		if (strcmp(ht_errname(rc), str(ex, "error")) != 0)
			fail_msg("bundle %s: %s (%s)", str(b, "name"), ht_errname(rc), rep.why);
		assert_int_equal(rep.origin_found,
				 json_is_true(json_object_get(ex, "origin_found")));
		assert_int_equal(rep.n_open, num(ex, "open_branches"));
		json_t *nodes = json_object_get(ex, "nodes");
		assert_int_equal(rep.n_nodes, json_array_size(nodes));
		for (size_t j = 0; j < rep.n_nodes; j++) {
			json_t *nd = json_array_get(nodes, j);
			assert_int_equal(rep.nodes[j].answer, num(nd, "answer"));
			assert_string_equal(rep.nodes[j].info.provider_id, str(nd, "provider_id"));
			assert_int_equal(rep.nodes[j].info.hop, num(nd, "hop"));
			assert_string_equal(ht_answer_status_name(rep.nodes[j].info.status),
					    str(nd, "status"));
			assert_int_equal(rep.nodes[j].parent,
					 json_integer_value(json_object_get(nd, "parent")));
		}
		ht_bundle_report_free(&rep);
		for (k = 0; k < n; k++)
			free(own[k]);
		free(p.b);
	}

	json_t *rej = json_object_get(v, "rejections");
	assert_true(json_array_size(rej) >= 22);
	json_array_foreach(rej, i, b)
	{
		size_t len;
		uint8_t *bb = unhex(b, "bundle_hex", &len);
		ht_bundle_report rep;
		int rc = ht_bundle_verify(bb, len, t, &rep);
		if (strcmp(ht_errname(rc), str(b, "expected_error")) != 0 ||
		    rep.failed_answer != json_integer_value(json_object_get(b, "failed_answer")))
			fail_msg(
				"bundle rejection %s: got %s at %zd (%s), want %s at %lld",
				str(b, "name"), ht_errname(rc), rep.failed_answer, rep.why,
				str(b, "expected_error"),
				(long long)json_integer_value(json_object_get(b, "failed_answer")));
		assert_int_equal(rep.n_nodes, 0);
		ht_bundle_report_free(&rep);
		free(bb);
	}
	free(req);
	ht_trust_free(t);
	json_decref(v);
	json_decref(tj);
}

/* ---- decoding.json ---- */

/* Drops the unknown fields of `m` and of the messages inside it (spec 2.7, rule 5). */
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

static void test_decoding(void **state)
{
	(void)state;
	static const ProtobufCMessageDescriptor *const types[] = {
		&hoptrace__v1__signed_envelope__descriptor,
		&hoptrace__v1__certificate__descriptor,
		&hoptrace__v1__revocation_list__descriptor,
		&hoptrace__v1__handshake_payload__descriptor,
		&hoptrace__v1__ping__descriptor,
		&hoptrace__v1__pong__descriptor,
		&hoptrace__v1__error__descriptor,
		&hoptrace__v1__peer_message__descriptor,
		&hoptrace__v1__trace_request__descriptor,
		&hoptrace__v1__matched_call__descriptor,
		&hoptrace__v1__hop_answer__descriptor,
		&hoptrace__v1__evidence_bundle__descriptor,
		&hoptrace__v1__trace_forward__descriptor,
		&hoptrace__v1__trace_answer__descriptor,
		&hoptrace__v1__trace_complete__descriptor,
	};
	json_t *v = load("decoding.json");
	size_t i;
	json_t *c;
	assert_true(json_array_size(json_object_get(v, "vectors")) >= 35);
	json_array_foreach(json_object_get(v, "vectors"), i, c)
	{
		const ProtobufCMessageDescriptor *d = NULL;
		for (size_t k = 0; k < sizeof(types) / sizeof(types[0]); k++)
			if (strcmp(types[k]->name, str(c, "message")) == 0)
				d = types[k];
		if (!d)
			fail_msg("decoding vector %s: unknown message %s", str(c, "name"),
				 str(c, "message"));
		size_t len;
		uint8_t *in = unhex(c, "input_hex", &len);
		ProtobufCMessage *m = NULL;
		int rc = ht__unpack(d, in, len, HT_ENVELOPE_MAX, &m);
		const char *want = str(c, "expected");
		if (strcmp(rc == HT_OK ? "ok" : ht_errname(rc), want) != 0)
			fail_msg("decoding vector %s: got %s, want %s", str(c, "name"),
				 ht_errname(rc), want);
		if (rc == HT_OK) {
			json_t *canon = json_object_get(c, "canonical_hex");
			strip_unknown(m);
			size_t n = protobuf_c_message_get_packed_size(m);
			uint8_t *out = malloc(n ? n : 1);
			assert_non_null(out);
			protobuf_c_message_pack(m, out);
			if (json_is_string(canon))
				assert_hex_equal(c, "canonical_hex", out, n);
			else
				assert_true(json_is_null(canon));
			free(out);
			protobuf_c_message_free_unpacked(m, NULL);
		}
		free(in);
	}
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
		cmocka_unit_test(test_trace_request_draft_parses),
		cmocka_unit_test(test_trace_blinded_call),
		cmocka_unit_test(test_trace_request_json),
		cmocka_unit_test(test_trace_answers),
		cmocka_unit_test(test_trace_sealed_box),
		cmocka_unit_test(test_trace_peer_messages),
		cmocka_unit_test(test_trace_rejections),
		cmocka_unit_test(test_evidence_bundle),
		cmocka_unit_test(test_decoding),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
