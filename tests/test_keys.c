/* Keys and key files: generation, derivation, text format, permissions. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

#include "hoptrace/keys.h"

/* Fixed key material; any 32 bytes are valid Ed25519 seeds and X25519 keys. */
#define SEED_HEX  "000102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f"
#define NOISE_HEX "202122232425262728292a2b2c2d2e2f303132333435363738393a3b3c3d3e3f"
#define PSEC      "hoptrace-key v1 provider-secret\n"
#define ASEC      "hoptrace-key v1 anchor-secret\n"
#define PPUB      "hoptrace-key v1 provider-public\n"
#define GOOD_PSEC PSEC "sign-seed " SEED_HEX "\nnoise-secret " NOISE_HEX "\n"

static void seeds(uint8_t sign[32], uint8_t noise[32])
{
	for (int i = 0; i < 32; i++) {
		sign[i] = (uint8_t)i;
		noise[i] = (uint8_t)(0x20 + i);
	}
}

static void assert_keys_equal(const ht_keys *a, const ht_keys *b)
{
	assert_int_equal(a->role, b->role);
	assert_int_equal(a->has_secret, b->has_secret);
	assert_memory_equal(a->sign_pk, b->sign_pk, HT_SIGN_PK_LEN);
	assert_memory_equal(a->sign_sk, b->sign_sk, HT_SIGN_SK_LEN);
	assert_memory_equal(a->noise_pk, b->noise_pk, HT_NOISE_KEY_LEN);
	assert_memory_equal(a->noise_sk, b->noise_sk, HT_NOISE_KEY_LEN);
}

static bool all_zero(const uint8_t *p, size_t n)
{
	for (size_t i = 0; i < n; i++)
		if (p[i])
			return false;
	return true;
}

static int setup_dir(void **state)
{
	*state = tu_mkdtemp();
	return 0;
}

static int teardown_dir(void **state)
{
	tu_rmtree(*state);
	free(*state);
	return 0;
}

/* Formats `k` (secret or public) and parses it back. */
static void reparse(const ht_keys *k, bool secret, ht_keys *out, const char *header)
{
	char *text = NULL;
	assert_int_equal(ht_keys_format(k, secret, &text), HT_OK);
	assert_non_null(strstr(text, header));
	memset(out, 0xee, sizeof(*out));
	assert_int_equal(ht_keys_parse(text, strlen(text), out), HT_OK);
	free(text);
}

static void test_roundtrip_provider_secret(void **state)
{
	(void)state;
	ht_keys k, p;
	assert_int_equal(ht_keys_generate(&k, HT_KEYS_PROVIDER), HT_OK);
	assert_true(k.has_secret);
	reparse(&k, true, &p, "hoptrace-key v1 provider-secret\n");
	assert_keys_equal(&k, &p);
}

static void test_roundtrip_provider_public(void **state)
{
	(void)state;
	ht_keys k, p;
	assert_int_equal(ht_keys_generate(&k, HT_KEYS_PROVIDER), HT_OK);
	reparse(&k, false, &p, "hoptrace-key v1 provider-public\n");
	assert_int_equal(p.role, HT_KEYS_PROVIDER);
	assert_false(p.has_secret);
	assert_memory_equal(p.sign_pk, k.sign_pk, HT_SIGN_PK_LEN);
	assert_memory_equal(p.noise_pk, k.noise_pk, HT_NOISE_KEY_LEN);
	assert_true(all_zero(p.sign_sk, HT_SIGN_SK_LEN));
	assert_true(all_zero(p.noise_sk, HT_NOISE_KEY_LEN));
}

static void test_roundtrip_anchor_secret(void **state)
{
	(void)state;
	ht_keys k, p;
	assert_int_equal(ht_keys_generate(&k, HT_KEYS_ANCHOR), HT_OK);
	reparse(&k, true, &p, "hoptrace-key v1 anchor-secret\n");
	assert_keys_equal(&k, &p);
	/* An anchor has no Noise key at all. */
	assert_true(all_zero(p.noise_pk, HT_NOISE_KEY_LEN));
}

static void test_roundtrip_anchor_public(void **state)
{
	(void)state;
	ht_keys k, p;
	assert_int_equal(ht_keys_generate(&k, HT_KEYS_ANCHOR), HT_OK);
	char *text = NULL;
	assert_int_equal(ht_keys_format(&k, false, &text), HT_OK);
	assert_null(strstr(text, "noise"));
	free(text);
	reparse(&k, false, &p, "hoptrace-key v1 anchor-public\n");
	assert_int_equal(p.role, HT_KEYS_ANCHOR);
	assert_false(p.has_secret);
	assert_memory_equal(p.sign_pk, k.sign_pk, HT_SIGN_PK_LEN);
	assert_true(all_zero(p.sign_sk, HT_SIGN_SK_LEN));
}

static void test_generate_is_random(void **state)
{
	(void)state;
	ht_keys a, b;
	assert_int_equal(ht_keys_generate(&a, HT_KEYS_PROVIDER), HT_OK);
	assert_int_equal(ht_keys_generate(&b, HT_KEYS_PROVIDER), HT_OK);
	assert_memory_not_equal(a.sign_pk, b.sign_pk, HT_SIGN_PK_LEN);
	assert_memory_not_equal(a.noise_pk, b.noise_pk, HT_NOISE_KEY_LEN);
	assert_int_equal(ht_keys_generate(&a, 0), HT_E_INVAL);
}

static void test_format_public_has_no_secret(void **state)
{
	(void)state;
	ht_keys k;
	tu_provider_keys(&k, 7);
	ht_keys pub = ht_keys_public(&k);
	assert_false(pub.has_secret);
	assert_true(all_zero(pub.sign_sk, HT_SIGN_SK_LEN));
	assert_true(all_zero(pub.noise_sk, HT_NOISE_KEY_LEN));
	assert_memory_equal(pub.sign_pk, k.sign_pk, HT_SIGN_PK_LEN);
	assert_memory_equal(pub.noise_pk, k.noise_pk, HT_NOISE_KEY_LEN);
	/* Without secrets there is no secret file to write. */
	char *text = NULL;
	assert_int_equal(ht_keys_format(&pub, true, &text), HT_E_INVAL);
	assert_int_equal(ht_keys_format(&pub, false, &text), HT_OK);
	/* The public text must not leak the seed. */
	char seed_hex[2 * HT_SIGN_SEED_LEN + 1];
	sodium_bin2hex(seed_hex, sizeof(seed_hex), k.sign_sk, HT_SIGN_SEED_LEN);
	assert_null(strstr(text, seed_hex));
	free(text);

	ht_keys_wipe(&k);
	assert_false(k.has_secret);
	assert_true(all_zero(k.sign_sk, HT_SIGN_SK_LEN));
	assert_true(all_zero(k.noise_sk, HT_NOISE_KEY_LEN));
}

static void test_from_seeds_deterministic(void **state)
{
	(void)state;
	uint8_t s[32], n[32], pk[32], sk[64], xpk[32];
	seeds(s, n);
	ht_keys a, b;
	assert_int_equal(ht_keys_from_seeds(&a, HT_KEYS_PROVIDER, s, n), HT_OK);
	assert_int_equal(ht_keys_from_seeds(&b, HT_KEYS_PROVIDER, s, n), HT_OK);
	assert_keys_equal(&a, &b);

	/* Independently: Ed25519 from the seed, X25519 public from the secret. */
	assert_int_equal(crypto_sign_seed_keypair(pk, sk, s), 0);
	assert_memory_equal(a.sign_pk, pk, 32);
	assert_memory_equal(a.sign_sk, sk, 64);
	assert_int_equal(crypto_scalarmult_base(xpk, n), 0);
	assert_memory_equal(a.noise_pk, xpk, 32);
	assert_memory_equal(a.noise_sk, n, 32);

	/* A different seed gives a different key. */
	s[0] ^= 1;
	assert_int_equal(ht_keys_from_seeds(&b, HT_KEYS_PROVIDER, s, n), HT_OK);
	assert_memory_not_equal(a.sign_pk, b.sign_pk, 32);
	assert_memory_equal(a.noise_pk, b.noise_pk, 32);

	/* An anchor takes no Noise key; a provider needs one. */
	ht_keys c;
	assert_int_equal(ht_keys_from_seeds(&c, HT_KEYS_ANCHOR, s, NULL), HT_OK);
	assert_int_equal(c.role, HT_KEYS_ANCHOR);
	assert_true(all_zero(c.noise_pk, 32));
	assert_int_equal(ht_keys_from_seeds(&c, HT_KEYS_ANCHOR, s, n), HT_E_INVAL);
	assert_int_equal(ht_keys_from_seeds(&c, HT_KEYS_PROVIDER, s, NULL), HT_E_INVAL);
}

static void test_parse_known_text(void **state)
{
	(void)state;
	uint8_t s[32], n[32];
	seeds(s, n);
	ht_keys want, got;
	assert_int_equal(ht_keys_from_seeds(&want, HT_KEYS_PROVIDER, s, n), HT_OK);
	assert_int_equal(ht_keys_parse(GOOD_PSEC, strlen(GOOD_PSEC), &got), HT_OK);
	assert_keys_equal(&want, &got);
}

/* Comments, blank lines, CRLF and a missing final newline are all fine. */
static void test_comments_and_crlf(void **state)
{
	(void)state;
	static const char text[] = "# HopTrace provider secret key.\r\n"
				   "\r\n"
				   "hoptrace-key v1 provider-secret\r\n"
				   "# between fields\r\n"
				   "noise-secret " NOISE_HEX "\r\n"
				   "\r\n"
				   "sign-seed " SEED_HEX;
	uint8_t s[32], n[32];
	seeds(s, n);
	ht_keys want, got;
	assert_int_equal(ht_keys_from_seeds(&want, HT_KEYS_PROVIDER, s, n), HT_OK);
	assert_int_equal(ht_keys_parse(text, sizeof(text) - 1, &got), HT_OK);
	assert_keys_equal(&want, &got);
}

/* Pads GOOD_PSEC with comment lines to exactly `total` bytes. */
static char *padded_keyfile(size_t total)
{
	size_t base = strlen(GOOD_PSEC);
	assert_true(total > base + 2);
	char *t = malloc(total + 1);
	assert_non_null(t);
	memcpy(t, GOOD_PSEC, base);
	t[base] = '#';
	memset(t + base + 1, 'c', total - base - 2);
	t[total - 1] = '\n';
	t[total] = 0;
	return t;
}

static void test_parse_size_bound(void **state)
{
	(void)state;
	ht_keys k;
	char *t = padded_keyfile(HT_KEYFILE_MAX);
	assert_int_equal(ht_keys_parse(t, HT_KEYFILE_MAX, &k), HT_OK);
	free(t);
	t = padded_keyfile(HT_KEYFILE_MAX + 1);
	assert_int_equal(ht_keys_parse(t, HT_KEYFILE_MAX + 1, &k), HT_E_TOO_LARGE);
	free(t);
}

static void test_load_size_bound(void **state)
{
	char *path = tu_path(*state, "big.key");
	ht_keys k;
	char *t = padded_keyfile(HT_KEYFILE_MAX);
	tu_write_file(path, t, HT_KEYFILE_MAX, 0600);
	assert_int_equal(ht_keys_load_secret(path, HT_KEYS_PROVIDER, &k), HT_OK);
	free(t);
	t = padded_keyfile(HT_KEYFILE_MAX + 1);
	tu_write_file(path, t, HT_KEYFILE_MAX + 1, 0600);
	assert_int_equal(ht_keys_load_secret(path, HT_KEYS_PROVIDER, &k), HT_E_TOO_LARGE);
	free(t);
	free(path);
}

/* One malformed key file: the parser must say HT_E_MALFORMED. */
struct bad_text {
	const char *name;
	const char *text;
	size_t len;
};
#define BAD(name, lit)                                                                             \
	{                                                                                          \
		"malformed key file: " name, lit, sizeof(lit) - 1                                  \
	}
static const struct bad_text bad_texts[] = {
	BAD("empty", ""),
	BAD("only comments", "# a comment\n\n# another\n"),
	BAD("missing header", "sign-seed " SEED_HEX "\nnoise-secret " NOISE_HEX "\n"),
	BAD("unknown type", "hoptrace-key v1 provider-private\nsign-seed " SEED_HEX
			    "\nnoise-secret " NOISE_HEX "\n"),
	BAD("other version", "hoptrace-key v2 provider-secret\nsign-seed " SEED_HEX
			     "\nnoise-secret " NOISE_HEX "\n"),
	BAD("header with trailing space", "hoptrace-key v1 provider-secret \nsign-seed " SEED_HEX
					  "\nnoise-secret " NOISE_HEX "\n"),
	BAD("header twice", PSEC PSEC "sign-seed " SEED_HEX "\nnoise-secret " NOISE_HEX "\n"),
	BAD("bad hex digit",
	    PSEC "sign-seed 0g0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
		 "noise-secret " NOISE_HEX "\n"),
	BAD("short hex",
	    PSEC "sign-seed 0102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
		 "noise-secret " NOISE_HEX "\n"),
	BAD("odd-length hex",
	    PSEC "sign-seed 00102030405060708090a0b0c0d0e0f101112131415161718191a1b1c1d1e1f\n"
		 "noise-secret " NOISE_HEX "\n"),
	BAD("long hex", PSEC "sign-seed " SEED_HEX "00\nnoise-secret " NOISE_HEX "\n"),
	BAD("two spaces before value",
	    PSEC "sign-seed  " SEED_HEX "\nnoise-secret " NOISE_HEX "\n"),
	BAD("field without value", PSEC "sign-seed\nnoise-secret " NOISE_HEX "\n"),
	BAD("indented field", PSEC " sign-seed " SEED_HEX "\nnoise-secret " NOISE_HEX "\n"),
	BAD("duplicate field", GOOD_PSEC "sign-seed " SEED_HEX "\n"),
	BAD("missing field", PSEC "sign-seed " SEED_HEX "\n"),
	BAD("no fields", PSEC),
	BAD("extra unknown field", GOOD_PSEC "expires " SEED_HEX "\n"),
	BAD("noise-secret in an anchor file",
	    ASEC "sign-seed " SEED_HEX "\nnoise-secret " NOISE_HEX "\n"),
	BAD("public field in a secret file", GOOD_PSEC "sign-key " SEED_HEX "\n"),
	BAD("secret field in a public file",
	    PPUB "sign-key " SEED_HEX "\nnoise-key " NOISE_HEX "\nsign-seed " SEED_HEX "\n"),
	BAD("embedded NUL in a comment", GOOD_PSEC "# a\0b\n"),
	BAD("embedded NUL after a value",
	    PSEC "sign-seed " SEED_HEX "\0\nnoise-secret " NOISE_HEX "\n"),
	BAD("embedded NUL in the header", "hoptrace-key v1 provider-secret\0\nsign-seed " SEED_HEX
					  "\nnoise-secret " NOISE_HEX "\n"),
};
#define N_BAD (sizeof(bad_texts) / sizeof(bad_texts[0]))

static void test_malformed(void **state)
{
	const struct bad_text *b = *state;
	ht_keys k;
	int rc = ht_keys_parse(b->text, b->len, &k);
	if (rc != HT_E_MALFORMED)
		fail_msg("%s: got %s, want malformed", b->name, ht_errname(rc));
}

/* The well-formed text the table is derived from does parse. */
static void test_malformed_table_control(void **state)
{
	(void)state;
	ht_keys k;
	assert_int_equal(ht_keys_parse(GOOD_PSEC, strlen(GOOD_PSEC), &k), HT_OK);
	static const char anchor[] = ASEC "sign-seed " SEED_HEX "\n";
	assert_int_equal(ht_keys_parse(anchor, strlen(anchor), &k), HT_OK);
	static const char pub[] = PPUB "sign-key " SEED_HEX "\nnoise-key " NOISE_HEX "\n";
	assert_int_equal(ht_keys_parse(pub, strlen(pub), &k), HT_OK);
}

static void test_write_modes_and_load(void **state)
{
	char *prefix = tu_path(*state, "prov");
	char *kpath = tu_path(*state, "prov.key"), *ppath = tu_path(*state, "prov.pub");
	ht_keys k, got;
	tu_provider_keys(&k, 3);
	/* The modes must not depend on the caller's umask. */
	mode_t old = umask(077);
	int rc = ht_keys_write(&k, prefix, false);
	umask(old);
	assert_int_equal(rc, HT_OK);
	assert_int_equal(tu_file_mode(kpath), 0600);
	assert_int_equal(tu_file_mode(ppath), 0644);
	assert_int_equal(tu_count_entries(*state), 2);

	assert_int_equal(ht_keys_load_secret(kpath, HT_KEYS_PROVIDER, &got), HT_OK);
	assert_keys_equal(&k, &got);
	assert_int_equal(ht_keys_load_public(ppath, HT_KEYS_PROVIDER, &got), HT_OK);
	ht_keys pub = ht_keys_public(&k);
	assert_keys_equal(&pub, &got);
	free(prefix);
	free(kpath);
	free(ppath);
}

static void test_write_refuses_overwrite(void **state)
{
	char *prefix = tu_path(*state, "ca");
	char *kpath = tu_path(*state, "ca.key"), *ppath = tu_path(*state, "ca.pub");
	ht_keys k1, k2, got;
	tu_anchor_keys(&k1, 1);
	tu_anchor_keys(&k2, 2);
	assert_int_equal(ht_keys_write(&k1, prefix, false), HT_OK);
	assert_int_equal(ht_keys_write(&k2, prefix, false), HT_E_EXISTS);
	assert_int_equal(ht_keys_load_secret(kpath, HT_KEYS_ANCHOR, &got), HT_OK);
	assert_keys_equal(&k1, &got);

	/* Either file existing is enough to refuse, and nothing is written. */
	assert_int_equal(unlink(kpath), 0);
	assert_int_equal(ht_keys_write(&k2, prefix, false), HT_E_EXISTS);
	assert_int_equal(access(kpath, F_OK), -1);
	assert_int_equal(tu_count_entries(*state), 1);

	assert_int_equal(ht_keys_write(&k2, prefix, true), HT_OK);
	assert_int_equal(ht_keys_load_secret(kpath, HT_KEYS_ANCHOR, &got), HT_OK);
	assert_keys_equal(&k2, &got);
	assert_int_equal(ht_keys_load_public(ppath, HT_KEYS_ANCHOR, &got), HT_OK);
	assert_memory_equal(got.sign_pk, k2.sign_pk, HT_SIGN_PK_LEN);
	assert_int_equal(tu_count_entries(*state), 2);
	free(prefix);
	free(kpath);
	free(ppath);
}

static void test_load_secret_permissions(void **state)
{
	char *prefix = tu_path(*state, "ca"), *kpath = tu_path(*state, "ca.key");
	ht_keys k, got;
	tu_anchor_keys(&k, 4);
	assert_int_equal(ht_keys_write(&k, prefix, false), HT_OK);
	static const mode_t refused[] = {0640, 0604, 0644, 0620, 0602, 0610, 0601, 0666};
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++) {
		assert_int_equal(chmod(kpath, refused[i]), 0);
		int rc = ht_keys_load_secret(kpath, HT_KEYS_ANCHOR, &got);
		if (rc != HT_E_KEY_PERMS)
			fail_msg("mode %04o: got %s, want key_permissions", (unsigned)refused[i],
				 ht_errname(rc));
	}
	static const mode_t accepted[] = {0600, 0400};
	for (size_t i = 0; i < sizeof(accepted) / sizeof(accepted[0]); i++) {
		assert_int_equal(chmod(kpath, accepted[i]), 0);
		memset(&got, 0, sizeof(got));
		assert_int_equal(ht_keys_load_secret(kpath, HT_KEYS_ANCHOR, &got), HT_OK);
		assert_keys_equal(&k, &got);
	}
	free(prefix);
	free(kpath);
}

static void test_load_not_a_file(void **state)
{
	ht_keys k;
	char *missing = tu_path(*state, "missing.key");
	assert_int_equal(ht_keys_load_secret(*state, HT_KEYS_PROVIDER, &k), HT_E_IO);
	assert_int_equal(ht_keys_load_secret(missing, HT_KEYS_PROVIDER, &k), HT_E_IO);
	assert_int_equal(ht_keys_load_public(*state, HT_KEYS_PROVIDER, &k), HT_E_IO);
	assert_int_equal(ht_keys_load_public(missing, HT_KEYS_PROVIDER, &k), HT_E_IO);
	free(missing);
}

static void test_load_malformed_file(void **state)
{
	char *path = tu_path(*state, "bad.key");
	static const char text[] = "hoptrace-key v1 provider-secret\nsign-seed 00\n";
	tu_write_file(path, text, sizeof(text) - 1, 0600);
	ht_keys k;
	assert_int_equal(ht_keys_load_secret(path, HT_KEYS_PROVIDER, &k), HT_E_MALFORMED);
	assert_int_equal(ht_keys_load_public(path, HT_KEYS_PROVIDER, &k), HT_E_MALFORMED);
	free(path);
}

static void test_load_wrong_key_type(void **state)
{
	char *pp = tu_path(*state, "prov"), *pk = tu_path(*state, "prov.key"),
	     *ppub = tu_path(*state, "prov.pub");
	char *ap = tu_path(*state, "ca"), *ak = tu_path(*state, "ca.key"),
	     *apub = tu_path(*state, "ca.pub");
	ht_keys prov, anchor, k;
	tu_provider_keys(&prov, 5);
	tu_anchor_keys(&anchor, 6);
	assert_int_equal(ht_keys_write(&prov, pp, false), HT_OK);
	assert_int_equal(ht_keys_write(&anchor, ap, false), HT_OK);

	/* A secret file where a public one is expected, and the reverse. */
	assert_int_equal(ht_keys_load_public(pk, HT_KEYS_PROVIDER, &k), HT_E_WRONG_KEY_TYPE);
	assert_int_equal(ht_keys_load_public(ak, HT_KEYS_ANCHOR, &k), HT_E_WRONG_KEY_TYPE);
	assert_int_equal(chmod(ppub, 0600), 0); /* so permissions are not what fails */
	assert_int_equal(ht_keys_load_secret(ppub, HT_KEYS_PROVIDER, &k), HT_E_WRONG_KEY_TYPE);

	/* An anchor's files are not a provider's, and the reverse. */
	assert_int_equal(ht_keys_load_secret(ak, HT_KEYS_PROVIDER, &k), HT_E_WRONG_KEY_TYPE);
	assert_int_equal(ht_keys_load_public(apub, HT_KEYS_PROVIDER, &k), HT_E_WRONG_KEY_TYPE);
	assert_int_equal(ht_keys_load_secret(pk, HT_KEYS_ANCHOR, &k), HT_E_WRONG_KEY_TYPE);
	assert_int_equal(chmod(ppub, 0644), 0);
	assert_int_equal(ht_keys_load_public(ppub, HT_KEYS_ANCHOR, &k), HT_E_WRONG_KEY_TYPE);
	free(pp);
	free(pk);
	free(ppub);
	free(ap);
	free(ak);
	free(apub);
}

static const struct CMUnitTest fixed_tests[] = {
	cmocka_unit_test(test_roundtrip_provider_secret),
	cmocka_unit_test(test_roundtrip_provider_public),
	cmocka_unit_test(test_roundtrip_anchor_secret),
	cmocka_unit_test(test_roundtrip_anchor_public),
	cmocka_unit_test(test_generate_is_random),
	cmocka_unit_test(test_format_public_has_no_secret),
	cmocka_unit_test(test_from_seeds_deterministic),
	cmocka_unit_test(test_parse_known_text),
	cmocka_unit_test(test_comments_and_crlf),
	cmocka_unit_test(test_parse_size_bound),
	cmocka_unit_test(test_malformed_table_control),
	cmocka_unit_test_setup_teardown(test_load_size_bound, setup_dir, teardown_dir),
	cmocka_unit_test_setup_teardown(test_write_modes_and_load, setup_dir, teardown_dir),
	cmocka_unit_test_setup_teardown(test_write_refuses_overwrite, setup_dir, teardown_dir),
	cmocka_unit_test_setup_teardown(test_load_secret_permissions, setup_dir, teardown_dir),
	cmocka_unit_test_setup_teardown(test_load_not_a_file, setup_dir, teardown_dir),
	cmocka_unit_test_setup_teardown(test_load_malformed_file, setup_dir, teardown_dir),
	cmocka_unit_test_setup_teardown(test_load_wrong_key_type, setup_dir, teardown_dir),
};
#define N_FIXED (sizeof(fixed_tests) / sizeof(fixed_tests[0]))

int main(void)
{
	if (ht_init() != HT_OK)
		return 1;
	/* One named case per malformed text, so a failure says which. */
	struct CMUnitTest tests[N_FIXED + N_BAD];
	memcpy(tests, fixed_tests, sizeof(fixed_tests));
	for (size_t i = 0; i < N_BAD; i++) {
		tests[N_FIXED + i] = (struct CMUnitTest){
			.name = bad_texts[i].name,
			.test_func = test_malformed,
			.initial_state = (void *)&bad_texts[i],
		};
	}
	return cmocka_run_group_tests(tests, NULL, NULL);
}
