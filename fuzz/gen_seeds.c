/*
 * Writes the seed corpora under OUTDIR/<target>/ (usually fuzz/corpus):
 * valid inputs made with the fixed keys of fuzz_common.c, a few hand-built
 * edge cases, and invalid ones (truncated, flipped byte, empty). Deterministic:
 * running it again gives the same bytes. Not run by the tests; after changing
 * it, run `fuzz_gen_seeds fuzz/corpus` from the repository root and commit.
 *
 *   usage: fuzz_gen_seeds OUTDIR
 */
#include "bundle_fixture.h"
#include "fuzz.h"
#include "fuzz_trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hoptrace/cert.h"
#include "hoptrace/crl.h"
#include "hoptrace/envelope.h"
#include "hoptrace/peermsg.h"
#include "hoptrace/trace.h"
#include "hoptrace/v1/cert.pb-c.h"
#include "hoptrace/v1/envelope.pb-c.h"
#include "hoptrace/v1/trace.pb-c.h"

static const char *outdir;
static int nwritten;

_Noreturn static void die(const char *what)
{
	fprintf(stderr, "fuzz_gen_seeds: %s\n", what);
	exit(1);
}

static void mkdir_p(const char *path)
{
	if (mkdir(path, 0755) != 0 && errno != EEXIST) {
		perror(path);
		exit(1);
	}
}

static void put(const char *target, const char *name, const void *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", outdir, target);
	mkdir_p(path);
	snprintf(path, sizeof(path), "%s/%s/%s", outdir, target, name);
	FILE *f = fopen(path, "wb");
	if (!f || (len && fwrite(data, 1, len, f) != len) || fclose(f) != 0) {
		perror(path);
		exit(1);
	}
	nwritten++;
}

static void put_str(const char *target, const char *name, const char *s)
{
	put(target, name, s, strlen(s));
}

/* BASE_truncated (first half), BASE_flipped_middle, BASE_flipped_last (one bit each). */
static void put_damaged(const char *target, const char *base, const uint8_t *buf, size_t len)
{
	char name[256];
	uint8_t *b = malloc(len);
	if (!b)
		die("out of memory");
	snprintf(name, sizeof(name), "%s_truncated", base);
	put(target, name, buf, len / 2);
	memcpy(b, buf, len);
	b[len / 3] ^= 0x01;
	snprintf(name, sizeof(name), "%s_flipped_middle", base);
	put(target, name, b, len);
	memcpy(b, buf, len);
	b[len - 1] ^= 0x80;
	snprintf(name, sizeof(name), "%s_flipped_last", base);
	put(target, name, b, len);
	free(b);
}

static void check(int rc, const char *what)
{
	if (rc != HT_OK) {
		fprintf(stderr, "fuzz_gen_seeds: %s: %s\n", what, ht_strerror(rc));
		exit(1);
	}
}

static ht_keys anchor, other, provider;

/* A packed message in a malloc'd buffer. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *b = malloc(*len ? *len : 1);
	if (!b)
		die("out of memory");
	protobuf_c_message_pack(m, b);
	return b;
}

/* `body` (+ `extra` raw bytes appended) signed as `kind` by `k`. */
static uint8_t *sign_body(ht_kind kind, const uint8_t *body, size_t body_len, const uint8_t *extra,
			  size_t extra_len, const ht_keys *k, size_t *out_len)
{
	uint8_t *b = malloc(body_len + extra_len + 1), *out;
	if (!b)
		die("out of memory");
	if (body_len)
		memcpy(b, body, body_len);
	if (extra_len)
		memcpy(b + body_len, extra, extra_len);
	check(ht_envelope_sign(kind, b, body_len + extra_len, k->sign_sk, &out, out_len),
	      "ht_envelope_sign");
	free(b);
	return out;
}

/* ---- certificates ---- */

static ht_cert_info cert_info(const char *id, uint64_t serial, uint32_t roles)
{
	ht_cert_info i;
	memset(&i, 0, sizeof(i));
	snprintf(i.provider_id, sizeof(i.provider_id), "%s", id);
	memcpy(i.sign_key, provider.sign_pk, HT_SIGN_PK_LEN);
	memcpy(i.noise_key, provider.noise_pk, HT_NOISE_KEY_LEN);
	i.not_before = 1764000000; /* 2025-11-24 */
	i.not_after = i.not_before + 365 * 86400;
	i.serial = serial;
	i.roles = roles;
	return i;
}

static uint8_t *issue(const ht_cert_info *i, const ht_keys *k, size_t *len)
{
	uint8_t *out;
	check(ht_cert_issue(i, k, &out, len), "ht_cert_issue");
	return out;
}

/* A Certificate body filled like cert_info(), for hand-built variants. */
static Hoptrace__V1__Certificate raw_cert(const ht_cert_info *i, const ht_keys *issuer)
{
	Hoptrace__V1__Certificate c = HOPTRACE__V1__CERTIFICATE__INIT;
	c.provider_id.data = (uint8_t *)i->provider_id;
	c.provider_id.len = strlen(i->provider_id);
	c.sign_key.data = (uint8_t *)i->sign_key;
	c.sign_key.len = HT_SIGN_PK_LEN;
	c.noise_key.data = (uint8_t *)i->noise_key;
	c.noise_key.len = HT_NOISE_KEY_LEN;
	c.not_before = i->not_before;
	c.not_after = i->not_after;
	c.serial = i->serial;
	c.issuer.data = (uint8_t *)issuer->sign_pk;
	c.issuer.len = HT_SIGN_PK_LEN;
	return c;
}

static void put_raw_cert(const char *name, const Hoptrace__V1__Certificate *c, const uint8_t *extra,
			 size_t extra_len)
{
	size_t body_len, len;
	uint8_t *body = pack(&c->base, &body_len);
	uint8_t *env =
		sign_body(HT_KIND_CERTIFICATE, body, body_len, extra, extra_len, &anchor, &len);
	put("fuzz_cert", name, env, len);
	free(env);
	free(body);
}

static void gen_certs(void)
{
	size_t len;
	uint8_t *b;
	ht_cert_info i = cert_info("carrier-a.example", 42, HT_ROLE_INITIATOR);

	b = issue(&i, &anchor, &len);
	put("fuzz_cert", "initiator", b, len);
	put("fuzz_envelope", "cert_initiator", b, len);
	put_damaged("fuzz_cert", "initiator", b, len);
	free(b);

	i = cert_info("Carrier_B", 7, 0);
	b = issue(&i, &anchor, &len);
	put("fuzz_cert", "no_roles", b, len);
	free(b);

	i = cert_info("revoked-carrier", FUZZ_REVOKED_SERIAL_1, HT_ROLE_INITIATOR);
	b = issue(&i, &anchor, &len);
	put("fuzz_cert", "revoked_serial", b, len);
	free(b);

	i = cert_info("0123456789abcdefghijklmnopqrstuv", 43, HT_ROLE_INITIATOR);
	b = issue(&i, &anchor, &len);
	put("fuzz_cert", "id_32_chars", b, len);
	free(b);

	i = cert_info("forever.example", UINT64_MAX, HT_ROLE_INITIATOR);
	i.not_before = 0;
	i.not_after = UINT64_MAX;
	b = issue(&i, &anchor, &len);
	put("fuzz_cert", "widest_validity", b, len);
	free(b);

	i = cert_info("carrier-a.example", 44, HT_ROLE_INITIATOR);
	b = issue(&i, &other, &len);
	put("fuzz_cert", "untrusted_anchor", b, len);
	free(b);

	/* Hand-built bodies, signed by the fixed anchor. */
	i = cert_info("carrier-c", 45, 0);
	Hoptrace__V1__Certificate c = raw_cert(&i, &anchor);
	Hoptrace__V1__Role roles[] = {HOPTRACE__V1__ROLE__ROLE_INITIATOR, (Hoptrace__V1__Role)7};
	c.roles = roles;
	c.n_roles = 2;
	put_raw_cert("unknown_role_ignored", &c, NULL, 0);

	c = raw_cert(&i, &anchor);
	uint32_t crit_known[] = {1, 7};
	c.critical = crit_known;
	c.n_critical = 2;
	put_raw_cert("critical_known", &c, NULL, 0);

	uint32_t crit_unknown[] = {9};
	c.critical = crit_unknown;
	c.n_critical = 1;
	put_raw_cert("critical_unknown", &c, NULL, 0);

	/* An extension field (9, varint 1) a verifier may ignore. */
	c = raw_cert(&i, &anchor);
	static const uint8_t ext[] = {0x48, 0x01};
	put_raw_cert("unknown_field_ignored", &c, ext, sizeof(ext));

	c = raw_cert(&i, &anchor);
	c.provider_id.data = (uint8_t *)"-leading-dash";
	c.provider_id.len = strlen("-leading-dash");
	put_raw_cert("bad_provider_id", &c, NULL, 0);

	c = raw_cert(&i, &anchor);
	c.provider_id.data = (uint8_t *)"0123456789abcdefghijklmnopqrstuvw";
	c.provider_id.len = 33;
	put_raw_cert("provider_id_33_chars", &c, NULL, 0);

	c = raw_cert(&i, &anchor);
	c.sign_key.len = 31;
	put_raw_cert("short_sign_key", &c, NULL, 0);

	c = raw_cert(&i, &anchor);
	c.serial = 0;
	put_raw_cert("serial_zero", &c, NULL, 0);

	c = raw_cert(&i, &anchor);
	c.not_before = c.not_after;
	put_raw_cert("empty_validity", &c, NULL, 0);

	c = raw_cert(&i, &anchor);
	c.issuer.len = 0;
	put_raw_cert("no_issuer", &c, NULL, 0);

	/* Weak keys: an X25519 key of small order (zero), Ed25519 keys not usable. */
	static const uint8_t zero32[32];
	uint8_t off_curve[32];
	memset(off_curve, 0xff, sizeof(off_curve)); /* not canonical: y >= p */
	c = raw_cert(&i, &anchor);
	c.noise_key.data = (uint8_t *)zero32;
	put_raw_cert("weak_noise_key_zero", &c, NULL, 0);
	c = raw_cert(&i, &anchor);
	c.sign_key.data = (uint8_t *)zero32; /* y = 0: a point of small order */
	put_raw_cert("weak_sign_key_small_order", &c, NULL, 0);
	c = raw_cert(&i, &anchor);
	c.sign_key.data = off_curve;
	put_raw_cert("weak_sign_key_not_canonical", &c, NULL, 0);

	put("fuzz_cert", "empty", "", 0);
}

/* ---- revocation lists ---- */

static uint8_t *crl(const ht_keys *k, uint64_t number, const uint64_t *s, size_t n, size_t *len)
{
	uint8_t *out;
	check(ht_crl_issue(k, number, 1764000000, s, n, &out, len), "ht_crl_issue");
	return out;
}

static void put_raw_crl(const char *name, const Hoptrace__V1__RevocationList *l)
{
	size_t body_len, len;
	uint8_t *body = pack(&l->base, &body_len);
	uint8_t *env = sign_body(HT_KIND_REVOCATION_LIST, body, body_len, NULL, 0, &anchor, &len);
	put("fuzz_crl", name, env, len);
	free(env);
	free(body);
}

static void gen_crls(void)
{
	size_t len;
	uint8_t *b;

	b = crl(&anchor, 1, NULL, 0, &len);
	put("fuzz_crl", "no_serials", b, len);
	free(b);

	const uint64_t one[] = {42};
	b = crl(&anchor, 2, one, 1, &len);
	put("fuzz_crl", "one_serial", b, len);
	free(b);

	const uint64_t several[] = {1002, 1, 123456789, 1000, 2, 1000};
	b = crl(&anchor, 3, several, sizeof(several) / sizeof(several[0]), &len);
	put("fuzz_crl", "several_serials", b, len);
	put("fuzz_envelope", "crl_several", b, len);
	put_damaged("fuzz_crl", "several", b, len);
	free(b);

	const uint64_t extremes[] = {UINT64_MAX, 1, UINT64_MAX - 1, (uint64_t)1 << 63};
	b = crl(&anchor, UINT64_MAX, extremes, sizeof(extremes) / sizeof(extremes[0]), &len);
	put("fuzz_crl", "extreme_values", b, len);
	free(b);

	uint64_t many[500];
	for (size_t i = 0; i < 500; i++)
		many[i] = 1 + i * i * 7919;
	b = crl(&anchor, 4, many, 500, &len);
	put("fuzz_crl", "many_serials", b, len);
	free(b);

	b = crl(&other, 1, one, 1, &len);
	put("fuzz_crl", "untrusted_anchor", b, len);
	free(b);

	/* Hand-built bodies, signed by the fixed anchor. */
	Hoptrace__V1__RevocationList l = HOPTRACE__V1__REVOCATION_LIST__INIT;
	l.issuer.data = anchor.sign_pk;
	l.issuer.len = HT_SIGN_PK_LEN;
	l.number = 5;
	l.issued_at = 1764000000;

	uint64_t unsorted[] = {5, 3, 9};
	l.serials = unsorted;
	l.n_serials = 3;
	put_raw_crl("unsorted", &l);

	uint64_t dup[] = {3, 5, 5};
	l.serials = dup;
	put_raw_crl("duplicate", &l);

	uint64_t zero[] = {0, 5, 9};
	l.serials = zero;
	put_raw_crl("zero_serial", &l);

	uint64_t ok[] = {3, 5, 9};
	l.serials = ok;
	l.number = 0;
	put_raw_crl("number_zero", &l);
	l.number = 5;

	uint32_t crit_unknown[] = {5};
	l.critical = crit_unknown;
	l.n_critical = 1;
	put_raw_crl("critical_unknown", &l);
	uint32_t crit_known[] = {4};
	l.critical = crit_known;
	put_raw_crl("critical_known", &l);
	l.critical = NULL;
	l.n_critical = 0;

	l.issuer.len = 16;
	put_raw_crl("short_issuer", &l);
	l.issuer.len = HT_SIGN_PK_LEN;

	/* Serials not packed (one tag each), which decoders must also accept. */
	uint8_t body[64];
	size_t n = 0;
	body[n++] = 0x0a; /* issuer */
	body[n++] = HT_SIGN_PK_LEN;
	memcpy(body + n, anchor.sign_pk, HT_SIGN_PK_LEN);
	n += HT_SIGN_PK_LEN;
	body[n++] = 0x10; /* number 6 */
	body[n++] = 6;
	static const uint8_t serials[] = {0x20, 3, 0x20, 5, 0x20, 0x80, 0x01}; /* 3, 5, 128 */
	memcpy(body + n, serials, sizeof(serials));
	n += sizeof(serials);
	b = sign_body(HT_KIND_REVOCATION_LIST, body, n, NULL, 0, &anchor, &len);
	put("fuzz_crl", "unpacked_serials", b, len);
	free(b);

	/* A certificate where a list is expected. */
	ht_cert_info i = cert_info("carrier-a.example", 42, HT_ROLE_INITIATOR);
	b = issue(&i, &anchor, &len);
	put("fuzz_crl", "certificate_kind", b, len);
	free(b);
	b = crl(&anchor, 1, one, 1, &len);
	put("fuzz_cert", "revocation_list_kind", b, len);
	free(b);

	put("fuzz_crl", "empty", "", 0);
}

/* ---- envelopes ---- */

static void put_raw_env(const char *name, uint32_t kind, const uint8_t *body, size_t body_len,
			const uint8_t *sig, size_t sig_len)
{
	Hoptrace__V1__SignedEnvelope e = HOPTRACE__V1__SIGNED_ENVELOPE__INIT;
	e.kind = (Hoptrace__V1__MessageKind)kind;
	e.body.data = (uint8_t *)body;
	e.body.len = body_len;
	e.signature.data = (uint8_t *)sig;
	e.signature.len = sig_len;
	size_t len;
	uint8_t *b = pack(&e.base, &len);
	put("fuzz_envelope", name, b, len);
	free(b);
}

static void gen_envelopes(void)
{
	size_t len;
	uint8_t *b;
	static const uint8_t body[] = "draft trace request body: opaque to the envelope layer";

	b = sign_body(HT_KIND_TRACE_REQUEST, body, sizeof(body) - 1, NULL, 0, &anchor, &len);
	put("fuzz_envelope", "trace_request", b, len);
	put_damaged("fuzz_envelope", "trace_request", b, len);
	free(b);

	b = sign_body(HT_KIND_HOP_ANSWER, body, sizeof(body) - 1, NULL, 0, &anchor, &len);
	put("fuzz_envelope", "hop_answer", b, len);
	free(b);

	b = sign_body(HT_KIND_HOP_ANSWER, NULL, 0, NULL, 0, &anchor, &len);
	put("fuzz_envelope", "hop_answer_empty_body", b, len);
	free(b);

	b = sign_body(HT_KIND_TRACE_REQUEST, body, sizeof(body) - 1, NULL, 0, &other, &len);
	put("fuzz_envelope", "trace_request_other_key", b, len);
	free(b);

	uint8_t sig[HT_SIG_LEN + 1];
	memset(sig, 0x5a, sizeof(sig));
	put_raw_env("unknown_kind", 99, body, sizeof(body) - 1, sig, HT_SIG_LEN);
	put_raw_env("kind_zero", 0, body, sizeof(body) - 1, sig, HT_SIG_LEN);
	put_raw_env("kind_negative", 0xffffffffu, body, sizeof(body) - 1, sig, HT_SIG_LEN);
	put_raw_env("signature_63_bytes", HT_KIND_TRACE_REQUEST, body, sizeof(body) - 1, sig,
		    HT_SIG_LEN - 1);
	put_raw_env("signature_65_bytes", HT_KIND_TRACE_REQUEST, body, sizeof(body) - 1, sig,
		    HT_SIG_LEN + 1);
	put_raw_env("no_signature", HT_KIND_TRACE_REQUEST, body, sizeof(body) - 1, NULL, 0);

	/* A valid envelope followed by an unknown field (4, varint 1). */
	b = sign_body(HT_KIND_TRACE_REQUEST, body, sizeof(body) - 1, NULL, 0, &anchor, &len);
	uint8_t *ext = malloc(len + 2);
	if (!ext)
		die("out of memory");
	memcpy(ext, b, len);
	ext[len] = 0x20;
	ext[len + 1] = 0x01;
	put("fuzz_envelope", "unknown_field_ignored", ext, len + 2);
	free(ext);
	free(b);

	static const uint8_t junk[] = {0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff};
	put("fuzz_envelope", "bad_varint", junk, sizeof(junk));
	put("fuzz_envelope", "empty", "", 0);
}

/* ---- key files ---- */

static char *format(const ht_keys *k, bool secret)
{
	char *s;
	check(ht_keys_format(k, secret, &s), "ht_keys_format");
	return s;
}

/* `s` with every "\n" replaced by "\r\n". */
static char *crlf(const char *s)
{
	char *o = malloc(2 * strlen(s) + 1), *p = o;
	if (!o)
		die("out of memory");
	for (; *s; s++) {
		if (*s == '\n')
			*p++ = '\r';
		*p++ = *s;
	}
	*p = 0;
	return o;
}

static void gen_keyfiles(void)
{
	char *s, *t;

	s = format(&provider, true);
	put_str("fuzz_keyfile", "provider.key", s);
	t = crlf(s);
	put_str("fuzz_keyfile", "provider_crlf.key", t);
	free(t);
	put_damaged("fuzz_keyfile", "provider.key", (const uint8_t *)s, strlen(s));
	/* Without its trailing newline. */
	put("fuzz_keyfile", "provider_no_final_newline.key", s, strlen(s) - 1);
	free(s);

	s = format(&provider, false);
	put_str("fuzz_keyfile", "provider.pub", s);
	free(s);
	s = format(&anchor, true);
	put_str("fuzz_keyfile", "anchor.key", s);
	free(s);
	s = format(&anchor, false);
	put_str("fuzz_keyfile", "anchor.pub", s);
	free(s);

	/* Hand-written variants of the vocabulary (spec/protocol.md, "Key files"). */
	static const char hex[] = "000102030405060708090a0b0c0d0e0f"
				  "101112131415161718191a1b1c1d1e1f";
	static const char HEX[] = "000102030405060708090A0B0C0D0E0F"
				  "101112131415161718191A1B1C1D1E1F";
	char buf[1024];
	snprintf(buf, sizeof(buf), "hoptrace-key v1 anchor-public\nsign-key %s\n", hex);
	put_str("fuzz_keyfile", "anchor_minimal.pub", buf);
	snprintf(buf, sizeof(buf), "\n# comment\n\nhoptrace-key v1 anchor-public\n# c\nsign-key %s",
		 HEX);
	put_str("fuzz_keyfile", "anchor_upper_hex_comments.pub", buf);
	snprintf(buf, sizeof(buf), "hoptrace-key v1 anchor-public\nsign-key %s\nsign-key %s\n", hex,
		 hex);
	put_str("fuzz_keyfile", "duplicate_field.pub", buf);
	snprintf(buf, sizeof(buf), "hoptrace-key v1 provider-public\nsign-key %s\n", hex);
	put_str("fuzz_keyfile", "provider_missing_noise.pub", buf);
	snprintf(buf, sizeof(buf), "hoptrace-key v1 anchor-secret\nsign-seed %s\nnoise-secret %s\n",
		 hex, hex);
	put_str("fuzz_keyfile", "anchor_extra_noise.key", buf);
	snprintf(buf, sizeof(buf),
		 "hoptrace-key v1 provider-secret\nsign-seed %s\nnoise-secret %s\nsign-key %s\n",
		 hex, hex, hex);
	put_str("fuzz_keyfile", "secret_with_public_field.key", buf);
	snprintf(buf, sizeof(buf), "hoptrace-key v1 anchor-public\nsign-key %.62s\n", hex);
	put_str("fuzz_keyfile", "short_hex.pub", buf);
	snprintf(buf, sizeof(buf), "hoptrace-key v1 anchor-public\nsign-key  %s\n", hex);
	put_str("fuzz_keyfile", "two_spaces.pub", buf);
	snprintf(buf, sizeof(buf), "hoptrace-key v2 anchor-public\nsign-key %s\n", hex);
	put_str("fuzz_keyfile", "wrong_version.pub", buf);
	snprintf(buf, sizeof(buf), "sign-key %s\nhoptrace-key v1 anchor-public\n", hex);
	put_str("fuzz_keyfile", "field_before_header.pub", buf);
	static const char nul[] = "hoptrace-key v1 anchor-public\nsign-key 00\0000";
	put("fuzz_keyfile", "nul_byte.pub", nul, sizeof(nul) - 1);
	put("fuzz_keyfile", "empty", "", 0);
}

/* ---- times ---- */

static void gen_times(void)
{
	static const struct {
		const char *name, *text;
	} t[] = {
		{"utc", "2026-11-29T05:23:38Z"},
		{"epoch", "1970-01-01T00:00:00Z"},
		{"millis", "2026-11-29T05:23:38.123Z"},
		{"micros_truncated", "2026-11-29T05:23:38.123456789Z"},
		{"one_digit_fraction", "2026-11-29T05:23:38.5Z"},
		{"lowercase", "2026-11-29t05:23:38z"},
		{"space_separator", "2026-11-29 05:23:38Z"},
		{"offset_plus", "2026-11-29T10:53:38+05:30"},
		{"offset_minus", "2026-11-28T21:23:38-08:00"},
		{"leap_second", "2016-12-31T23:59:60Z"},
		{"leap_second_fraction", "2016-12-31T23:59:60.5Z"},
		{"leap_day", "2024-02-29T12:00:00Z"},
		{"leap_day_2000", "2000-02-29T00:00:00Z"},
		{"not_leap_1900", "1900-02-29T00:00:00Z"},
		{"not_leap_2023", "2023-02-29T00:00:00Z"},
		{"before_epoch", "1969-12-31T23:59:59Z"},
		{"epoch_by_offset", "1970-01-01T01:00:00+01:00"},
		{"before_epoch_by_offset", "1970-01-01T00:30:00+01:00"},
		{"last_second_9999", "9999-12-31T23:59:59Z"},
		{"last_leap_second_9999", "9999-12-31T23:59:60.999Z"},
		{"five_digit_year", "10000-01-01T00:00:00+00:01"},
		/* Broke the fuzz_time round trip until lib/timefmt.c bounded years at 9999. */
		{"year_10000_by_offset", "9999-12-31T23:59:59-00:01"},
		{"year_10000_by_offset_max", "9999-12-31T23:59:59-23:59"},
		{"month_13", "2026-13-01T00:00:00Z"},
		{"hour_24", "2026-11-29T24:00:00Z"},
		{"second_61", "2026-11-29T23:59:61Z"},
		{"no_zone", "2026-11-29T05:23:38"},
		{"empty_fraction", "2026-11-29T05:23:38.Z"},
		{"bad_offset", "2026-11-29T05:23:38+24:00"},
		{"trailing_junk", "2026-11-29T05:23:38Zx"},
		{"date_only", "2026-11-29"},
		{"seconds_integer", "1764393818"},
		{"seconds_13_digits", "1764393818000"},
		{"empty", ""},
	};
	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		put_str("fuzz_time", t[i].name, t[i].text);
	static const char nul[] = "2026-11-29T05:23:38Z\0junk";
	put("fuzz_time", "nul_inside", nul, sizeof(nul) - 1);
}

/* ---- traceback: requests, answers, sealed boxes, peer messages ---- */

static const char trace_calling[] = "12025550143", trace_called[] = "12025550199";

/* A request by the fixed provider under `cert`, with the fixed answer key. */
static uint8_t *trace_request(const uint8_t *cert, size_t cert_len, uint32_t hint_bits,
			      const char *label, size_t *len)
{
	static const uint8_t tid[HT_TRACE_ID_LEN] = {0xf0, 0xf1, 0xf2, 0xf3, 0xf4, 0xf5,
						     0xf6, 0xf7, 0xf8, 0xf9, 0xfa, 0xfb,
						     0xfc, 0xfd, 0xfe, 0xff};
	uint8_t salt[HT_SALT_LEN], apk[32], ask[32];
	for (size_t i = 0; i < sizeof(salt); i++)
		salt[i] = (uint8_t)(0xc0 + i);
	fuzz_answer_keypair(apk, ask);
	ht_request_params p = {
		.calling = trace_calling,
		.called = trace_called,
		.created_ms = FUZZ_TRACE_NOW_MS,
		.expires_ms = FUZZ_TRACE_NOW_MS + 60000,
		.call_time_ms = FUZZ_TRACE_NOW_MS - 30000,
		.tolerance_ms = 5000,
		.hop_limit = 16,
		.hint_bits = hint_bits,
		.label = label,
		.answer_pk = apk,
		.trace_id = tid,
		.salt = salt,
	};
	uint8_t *out;
	check(ht_request_build(&p, &provider, cert, cert_len, &out, len), "ht_request_build");
	return out;
}

/* Hand-built TraceRequest bodies, from a valid one. */
struct req_parts {
	uint8_t tid[16], salt[32], com[32], apk[32], ask[32];
	Hoptrace__V1__TraceRequest q;
};

static void raw_request(struct req_parts *r, const uint8_t *cert, size_t cert_len)
{
	memset(r->tid, 0x77, sizeof(r->tid));
	memset(r->salt, 0x88, sizeof(r->salt));
	check(ht_call_commitment(r->salt, trace_calling, trace_called, r->com),
	      "ht_call_commitment");
	fuzz_answer_keypair(r->apk, r->ask);
	Hoptrace__V1__TraceRequest q = HOPTRACE__V1__TRACE_REQUEST__INIT;
	q.trace_id.data = r->tid;
	q.trace_id.len = 16;
	q.initiator_id.data = (uint8_t *)"carrier-a.example";
	q.initiator_id.len = strlen("carrier-a.example");
	q.initiator_cert.data = (uint8_t *)cert;
	q.initiator_cert.len = cert_len;
	q.created_ms = FUZZ_TRACE_NOW_MS;
	q.expires_ms = FUZZ_TRACE_NOW_MS + 60000;
	q.call_time_ms = FUZZ_TRACE_NOW_MS - 30000;
	q.tolerance_ms = 5000;
	q.hop_limit = 4;
	q.salt.data = r->salt;
	q.salt.len = 32;
	q.call_commitment.data = r->com;
	q.call_commitment.len = 32;
	q.answer_key.data = r->apk;
	q.answer_key.len = 32;
	q.hint = ht_call_hint(trace_calling, trace_called) & 0xff00;
	q.hint_bits = 8;
	q.label.data = (uint8_t *)"campaign";
	q.label.len = 8;
	r->q = q;
}

static void put_signed(const char *target, const char *name, ht_kind kind,
		       const ProtobufCMessage *m)
{
	size_t body_len, len;
	uint8_t *body = pack(m, &body_len);
	uint8_t *env = sign_body(kind, body, body_len, NULL, 0, &provider, &len);
	put(target, name, env, len);
	free(env);
	free(body);
}

static void gen_trace_requests(const uint8_t *cert, size_t cert_len)
{
	size_t len, cl;
	uint8_t *b, *c;

	b = trace_request(cert, cert_len, 12, "robocall campaign 7", &len);
	put("fuzz_trace_request", "request", b, len);
	put_damaged("fuzz_trace_request", "request", b, len);
	free(b);
	b = trace_request(cert, cert_len, 16, "Caf\xc3\xa9 \xe2\x98\x8e", &len);
	put("fuzz_trace_request", "hint_16_label_utf8", b, len);
	free(b);
	b = trace_request(cert, cert_len, 0, NULL, &len);
	put("fuzz_trace_request", "no_hint_no_label", b, len);
	free(b);

	ht_cert_info i = cert_info("Carrier_B", 7, 0);
	c = issue(&i, &anchor, &cl);
	b = trace_request(c, cl, 12, NULL, &len);
	put("fuzz_trace_request", "no_initiator_role", b, len);
	free(b);
	free(c);
	i = cert_info("revoked-carrier", FUZZ_REVOKED_SERIAL_1, HT_ROLE_INITIATOR);
	c = issue(&i, &anchor, &cl);
	b = trace_request(c, cl, 12, NULL, &len);
	put("fuzz_trace_request", "revoked_initiator", b, len);
	free(b);
	free(c);
	i = cert_info("carrier-a.example", 44, HT_ROLE_INITIATOR);
	c = issue(&i, &other, &cl);
	b = trace_request(c, cl, 12, NULL, &len);
	put("fuzz_trace_request", "untrusted_anchor", b, len);
	free(b);
	free(c);

	struct req_parts r;
	static uint32_t crit_known[] = {1, 15}, crit_unknown[] = {16};
	raw_request(&r, cert, cert_len);
	put_signed("fuzz_trace_request", "raw_valid", HT_KIND_TRACE_REQUEST, &r.q.base);
	r.q.critical = crit_known;
	r.q.n_critical = 2;
	put_signed("fuzz_trace_request", "critical_known", HT_KIND_TRACE_REQUEST, &r.q.base);
	r.q.critical = crit_unknown;
	r.q.n_critical = 1;
	put_signed("fuzz_trace_request", "critical_unknown", HT_KIND_TRACE_REQUEST, &r.q.base);
	raw_request(&r, cert, cert_len);
	memset(r.apk, 0, 32);
	put_signed("fuzz_trace_request", "answer_key_zero", HT_KIND_TRACE_REQUEST, &r.q.base);
	raw_request(&r, cert, cert_len);
	r.q.answer_key.len = 31;
	put_signed("fuzz_trace_request", "answer_key_short", HT_KIND_TRACE_REQUEST, &r.q.base);
	raw_request(&r, cert, cert_len);
	r.q.hint |= 1;
	put_signed("fuzz_trace_request", "hint_low_bits", HT_KIND_TRACE_REQUEST, &r.q.base);
	raw_request(&r, cert, cert_len);
	r.q.label.data = (uint8_t *)"bell\a";
	r.q.label.len = 5;
	put_signed("fuzz_trace_request", "label_control", HT_KIND_TRACE_REQUEST, &r.q.base);
	raw_request(&r, cert, cert_len);
	r.q.expires_ms = r.q.created_ms + HT_LIFETIME_MAX_MS + 1;
	put_signed("fuzz_trace_request", "lifetime_too_long", HT_KIND_TRACE_REQUEST, &r.q.base);
	raw_request(&r, cert, cert_len);
	r.q.hop_limit = 0;
	put_signed("fuzz_trace_request", "hop_limit_zero", HT_KIND_TRACE_REQUEST, &r.q.base);
	raw_request(&r, cert, cert_len);
	r.q.initiator_id.data = (uint8_t *)"carrier-b.example";
	put_signed("fuzz_trace_request", "initiator_id_not_cert", HT_KIND_TRACE_REQUEST, &r.q.base);
	raw_request(&r, cert, cert_len);
	r.q.initiator_cert.len = 10;
	put_signed("fuzz_trace_request", "initiator_cert_cut", HT_KIND_TRACE_REQUEST, &r.q.base);
	raw_request(&r, cert, cert_len);
	put_signed("fuzz_trace_request", "hop_answer_kind", HT_KIND_HOP_ANSWER, &r.q.base);
	put("fuzz_trace_request", "empty", "", 0);
}

static ht_answer_info answer_base(uint32_t status, const uint8_t *rid)
{
	ht_answer_info a;
	memset(&a, 0, sizeof(a));
	memcpy(a.request_hash, rid, HT_MSG_ID_LEN);
	snprintf(a.provider_id, sizeof(a.provider_id), "Carrier_B");
	snprintf(a.asked_by, sizeof(a.asked_by), "carrier-a.example");
	a.status = status;
	a.answered_ms = FUZZ_TRACE_NOW_MS + 1000;
	a.window_time_ms = FUZZ_TRACE_NOW_MS - 30000;
	a.hop = 1;
	return a;
}

static uint8_t *answer(const ht_answer_info *a, const uint8_t *cert, size_t cert_len, size_t *len)
{
	uint8_t *out;
	check(ht_answer_sign(a, &provider, cert, cert_len, &out, len), "ht_answer_sign");
	return out;
}

static uint8_t *seal(const uint8_t *m, size_t n, size_t *len)
{
	uint8_t apk[32], ask[32], esk[32], *out;
	fuzz_answer_keypair(apk, ask);
	fuzz_seal_ephemeral(esk);
	check(ht_seal(m, n, apk, esk, &out, len), "ht_seal");
	return out;
}

static void put_pmsg(const char *name, const ht_pmsg *m)
{
	uint8_t *b;
	size_t len;
	check(ht_pmsg_encode(m, &b, &len), "ht_pmsg_encode");
	put("fuzz_peermsg", name, b, len);
	free(b);
}

static void gen_trace(void)
{
	size_t cl, bl, rl, len, sl;
	ht_cert_info i = cert_info("carrier-a.example", 42, HT_ROLE_INITIATOR);
	uint8_t *cert = issue(&i, &anchor, &cl);
	gen_trace_requests(cert, cl);

	/* The answers bind to the seed request. */
	uint8_t *req = trace_request(cert, cl, 12, "robocall campaign 7", &rl);
	ht_request *r;
	check(ht_request_parse(req, rl, &r), "ht_request_parse");
	uint8_t rid[HT_MSG_ID_LEN];
	memcpy(rid, ht_request_id(r), sizeof(rid));
	ht_request_free(r);

	i = cert_info("Carrier_B", 7, 0);
	uint8_t *hop = issue(&i, &anchor, &bl);
	uint8_t *b, *s;

	ht_answer_info a = answer_base(HT_ANSWER_FOUND, rid);
	a.n_calls = 2;
	snprintf(a.calls[0].upstream, sizeof(a.calls[0].upstream), "carrier-c");
	a.calls[0].record_time_ms = FUZZ_TRACE_NOW_MS - 30100;
	a.calls[0].attestation = 2;
	a.calls[1].originated_here = true;
	snprintf(a.calls[1].customer_ref, sizeof(a.calls[1].customer_ref), "0123456789abcdef");
	a.calls[1].record_time_ms = FUZZ_TRACE_NOW_MS - 29900;
	a.calls[1].attestation = 1;
	a.calls[1].has_origid = true;
	memset(a.calls[1].origid, 0x5e, HT_ORIGID_LEN);
	b = answer(&a, hop, bl, &len);
	put("fuzz_answer", "found", b, len);
	put_damaged("fuzz_answer", "found", b, len);
	s = seal(b, len, &sl);
	put("fuzz_answer", "sealed_found", s, sl);
	put_damaged("fuzz_answer", "sealed_found", s, sl);
	ht_pmsg pm = {.type = HT_PMSG_TRACE_ANSWER, .data = s, .data_len = sl};
	memset(pm.trace_id, 0xf0, sizeof(pm.trace_id));
	put_pmsg("trace_answer", &pm);
	free(s);
	free(b);

	a.n_calls = HT_ANSWER_CALLS_MAX;
	for (size_t k = 2; k < HT_ANSWER_CALLS_MAX; k++)
		a.calls[k] = a.calls[k % 2];
	b = answer(&a, hop, bl, &len);
	put("fuzz_answer", "found_16_calls", b, len);
	free(b);

	a = answer_base(HT_ANSWER_NOT_FOUND, rid);
	b = answer(&a, hop, bl, &len);
	put("fuzz_answer", "not_found", b, len);
	s = seal(b, len, &sl);
	put("fuzz_answer", "sealed_not_found", s, sl);
	free(s);
	free(b);

	a = answer_base(HT_ANSWER_REFUSED, rid);
	a.reason = HT_REASON_DUPLICATE;
	b = answer(&a, hop, bl, &len);
	put("fuzz_answer", "refused", b, len);
	free(b);

	a = answer_base(HT_ANSWER_DEAD_END, rid);
	a.reason = HT_REASON_UPSTREAM_TIMED_OUT;
	snprintf(a.upstream, sizeof(a.upstream), "carrier-d");
	b = answer(&a, hop, bl, &len);
	put("fuzz_answer", "dead_end", b, len);
	free(b);

	/* Hand-built bodies that break one rule each. */
	static uint8_t rh[32], origid[15];
	memcpy(rh, rid, sizeof(rh));
	Hoptrace__V1__MatchedCall mc = HOPTRACE__V1__MATCHED_CALL__INIT, *mcp = &mc;
	mc.upstream.data = (uint8_t *)"carrier-c";
	mc.upstream.len = 9;
	mc.record_time_ms = FUZZ_TRACE_NOW_MS - 30000;
	Hoptrace__V1__HopAnswer h = HOPTRACE__V1__HOP_ANSWER__INIT;
	h.request_hash.data = rh;
	h.request_hash.len = 32;
	h.provider_id.data = (uint8_t *)"Carrier_B";
	h.provider_id.len = 9;
	h.asked_by.data = (uint8_t *)"carrier-a.example";
	h.asked_by.len = strlen("carrier-a.example");
	h.status = HOPTRACE__V1__ANSWER_STATUS__ANSWER_STATUS_FOUND;
	h.answered_ms = FUZZ_TRACE_NOW_MS + 1000;
	h.hop = 0;
	h.n_calls = 1;
	h.calls = &mcp;
	h.certificate.data = hop;
	h.certificate.len = bl;
	h.window_time_ms = FUZZ_TRACE_NOW_MS - 30000;
	put_signed("fuzz_answer", "raw_found", HT_KIND_HOP_ANSWER, &h.base);
	mc.originated_here = true;
	put_signed("fuzz_answer", "call_upstream_and_origin", HT_KIND_HOP_ANSWER, &h.base);
	mc.upstream.len = 0;
	mc.customer_ref.data = (uint8_t *)"ref\x01";
	mc.customer_ref.len = 4;
	put_signed("fuzz_answer", "customer_ref_control", HT_KIND_HOP_ANSWER, &h.base);
	mc.customer_ref.len = 3;
	mc.origid.data = origid;
	mc.origid.len = sizeof(origid);
	put_signed("fuzz_answer", "origid_15", HT_KIND_HOP_ANSWER, &h.base);
	mc.origid.len = 0;
	mc.attestation = (Hoptrace__V1__Attestation)4;
	put_signed("fuzz_answer", "attestation_4", HT_KIND_HOP_ANSWER, &h.base);
	mc.attestation = HOPTRACE__V1__ATTESTATION__ATTESTATION_A;
	h.provider_id.data = (uint8_t *)"Carrier_Z";
	put_signed("fuzz_answer", "provider_not_cert", HT_KIND_HOP_ANSWER, &h.base);
	h.provider_id.data = (uint8_t *)"Carrier_B";
	h.n_calls = 0;
	put_signed("fuzz_answer", "found_no_calls", HT_KIND_HOP_ANSWER, &h.base);
	h.status = HOPTRACE__V1__ANSWER_STATUS__ANSWER_STATUS_DEAD_END;
	h.reason = HOPTRACE__V1__REASON__REASON_HOP_LIMIT;
	put_signed("fuzz_answer", "dead_end_no_upstream", HT_KIND_HOP_ANSWER, &h.base);
	h.status = (Hoptrace__V1__AnswerStatus)9;
	put_signed("fuzz_answer", "status_unknown", HT_KIND_HOP_ANSWER, &h.base);
	h.status = HOPTRACE__V1__ANSWER_STATUS__ANSWER_STATUS_REFUSED;
	static uint32_t crit_unknown[] = {5};
	h.critical = crit_unknown;
	h.n_critical = 1;
	put_signed("fuzz_answer", "critical_reserved", HT_KIND_HOP_ANSWER, &h.base);
	put("fuzz_answer", "empty", "", 0);

	/* Peer messages carrying them. */
	pm = (ht_pmsg){.type = HT_PMSG_TRACE_FORWARD,
		       .data = req,
		       .data_len = rl,
		       .hop = 2,
		       .window_time_ms = FUZZ_TRACE_NOW_MS - 30000,
		       .budget_ms = 5000};
	put_pmsg("trace_forward", &pm);
	pm = (ht_pmsg){.type = HT_PMSG_TRACE_COMPLETE};
	memset(pm.trace_id, 0xf0, sizeof(pm.trace_id));
	put_pmsg("trace_complete", &pm);
	pm = (ht_pmsg){
		.type = HT_PMSG_ERROR, .reason = HT_REASON_RATE_LIMITED, .has_trace_id = true};
	snprintf(pm.detail, sizeof(pm.detail), "rate limited");
	memset(pm.trace_id, 0xf0, sizeof(pm.trace_id));
	put_pmsg("error_trace_id", &pm);
	/* Lengths the decoder refuses: a 15-octet trace ID, an empty request. */
	static const uint8_t complete_short[] = {0x42, 0x11, 0x0a, 0x0f, 1,  2,  3,  4,  5, 6,
						 7,    8,    9,    10,   11, 12, 13, 14, 15};
	put("fuzz_peermsg", "trace_complete_short_id", complete_short, sizeof(complete_short));
	static const uint8_t forward_empty[] = {0x32, 0x04, 0x0a, 0x00, 0x10, 0x01};
	put("fuzz_peermsg", "trace_forward_empty_request", forward_empty, sizeof(forward_empty));
	static const uint8_t answer_short[] = {0x3a, 0x16, 0x0a, 0x10, 0,    0,    0,    0,
					       0,    0,    0,    0,    0,    0,    0,    0,
					       0,    0,    0,    0,    0x12, 0x02, 0xaa, 0xbb};
	put("fuzz_peermsg", "trace_answer_short_box", answer_short, sizeof(answer_short));

	free(req);
	free(hop);
	free(cert);
}

/* ---- evidence bundles (fuzz_bundle: the trace of tests/bundle_fixture.h) ---- */

static void put_fx_bundle(const char *name, const struct fx *f)
{
	size_t len;
	uint8_t *b = fx_bundle(f, &len);
	put("fuzz_bundle", name, b, len);
	free(b);
}

/* The fixture's bundle written field by field: another version, a critical list. */
static void put_raw_bundle(const char *name, const struct fx *f, uint32_t version,
			   const uint32_t *crit, size_t ncrit)
{
	ProtobufCBinaryData ans[FX_MAX_ANSWERS];
	for (size_t i = 0; i < f->n; i++) {
		ans[i].data = f->ans[i];
		ans[i].len = f->ans_len[i];
	}
	Hoptrace__V1__EvidenceBundle b = HOPTRACE__V1__EVIDENCE_BUNDLE__INIT;
	b.version = version;
	b.request.data = f->req;
	b.request.len = f->req_len;
	b.calling.data = (uint8_t *)f->calling;
	b.calling.len = strlen(f->calling);
	b.called.data = (uint8_t *)f->called;
	b.called.len = strlen(f->called);
	b.answers = ans;
	b.n_answers = f->n;
	b.exported_ms = f->created_ms + 5000;
	b.critical = (uint32_t *)crit;
	b.n_critical = ncrit;
	size_t len;
	uint8_t *out = pack(&b.base, &len);
	put("fuzz_bundle", name, out, len);
	free(out);
}

static void gen_bundles(void)
{
	struct fx f, g;
	fx_init(&f);
	size_t len;
	uint8_t *b = fx_bundle(&f, &len);
	put("fuzz_bundle", "good", b, len);
	put_damaged("fuzz_bundle", "good", b, len);
	free(b);

	g = f; /* shallow: fewer answers */
	g.n = 5;
	put_fx_bundle("open_branch", &g);
	g.n = 0;
	put_fx_bundle("request_only", &g);
	g = f;
	g.ans[1] = f.ans[2];
	g.ans_len[1] = f.ans_len[2];
	g.n = 2;
	put_fx_bundle("orphan", &g);
	g = f;
	g.ans[f.n] = f.ans[4];
	g.ans_len[f.n] = f.ans_len[4];
	g.n = f.n + 1;
	put_fx_bundle("duplicate", &g);
	g = f;
	g.calling[3] = '9';
	put_fx_bundle("opening_wrong", &g);

	const uint32_t unknown[] = {9}, known[] = {5, 15};
	put_raw_bundle("version_2", &f, 2, NULL, 0);
	put_raw_bundle("critical_unknown", &f, 1, unknown, 1);
	put_raw_bundle("critical_known", &f, 1, known, 2);

	/* The consortium initiator's own dead end: its terminating carrier was down. */
	ht_answer_info d;
	memset(&d, 0, sizeof(d));
	memcpy(d.request_hash, f.req_id, HT_MSG_ID_LEN);
	snprintf(d.provider_id, sizeof(d.provider_id), "%s", fx_ids[FX_I]);
	snprintf(d.asked_by, sizeof(d.asked_by), "%s", fx_ids[FX_I]);
	snprintf(d.upstream, sizeof(d.upstream), "%s", fx_ids[FX_T]);
	d.status = HT_ANSWER_DEAD_END;
	d.reason = HT_REASON_UPSTREAM_UNREACHABLE;
	d.answered_ms = f.created_ms + 3000;
	fx_add(&f, &d, FX_I);
	put_fx_bundle("initiator_dead_end_after_answers", &f);
	g = f;
	g.ans[0] = f.ans[f.n - 1];
	g.ans_len[0] = f.ans_len[f.n - 1];
	g.n = 1;
	put_fx_bundle("initiator_dead_end", &g);
	fx_free(&f);
	put("fuzz_bundle", "empty", "", 0);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s OUTDIR\n", argv[0]);
		return 2;
	}
	outdir = argv[1];
	mkdir_p(outdir);
	fuzz_init();
	fuzz_anchor_keys(&anchor);
	fuzz_other_anchor_keys(&other);
	fuzz_provider_keys(&provider);

	gen_certs();
	gen_crls();
	gen_envelopes();
	gen_keyfiles();
	gen_times();
	gen_trace();
	gen_bundles();
	ht_keys_wipe(&anchor);
	ht_keys_wipe(&other);
	ht_keys_wipe(&provider);
	printf("fuzz_gen_seeds: wrote %d files under %s\n", nwritten, outdir);
	return 0;
}
