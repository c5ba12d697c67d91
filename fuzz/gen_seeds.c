/*
 * Writes the seed corpora under OUTDIR/<target>/ (usually fuzz/corpus):
 * valid inputs made with the fixed keys of fuzz_common.c, a few hand-built
 * edge cases, and invalid ones (truncated, flipped byte, empty). Deterministic:
 * running it again gives the same bytes. Not run by the tests; after changing
 * it, run `fuzz_gen_seeds fuzz/corpus` from the repository root and commit.
 *
 *   usage: fuzz_gen_seeds OUTDIR
 */
#include "fuzz.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hoptrace/cert.h"
#include "hoptrace/crl.h"
#include "hoptrace/envelope.h"
#include "hoptrace/v1/cert.pb-c.h"
#include "hoptrace/v1/envelope.pb-c.h"

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
	ht_keys_wipe(&anchor);
	ht_keys_wipe(&other);
	ht_keys_wipe(&provider);
	printf("fuzz_gen_seeds: wrote %d files under %s\n", nwritten, outdir);
	return 0;
}
