/*
 * Noise Protocol Framework, revision 34 (https://noiseprotocol.org/noise.html):
 * CipherState (section 5.1), SymmetricState (5.2) and HandshakeState (5.3)
 * for the 25519 / ChaChaPoly / BLAKE2b suite, with a pattern engine driven by
 * the token table below. Section numbers in comments are the spec's.
 */
#include "hoptrace/noise.h"

#include <stdio.h>
#include <string.h>

#include <sodium.h>

#define DHLEN     32
#define HASHLEN   HT_NOISE_HASH_LEN
#define BLOCKLEN  128 /* BLAKE2b */
#define KEYLEN    HT_NOISE_KEY_LEN
#define TAGLEN    HT_NOISE_TAG_LEN
#define NONCE_MAX UINT64_MAX /* reserved: never used as a nonce */

enum hs_state {
	HS_UNSET = 0, /* zeroed memory: not initialised */
	HS_ACTIVE,    /* messages left */
	HS_DONE,      /* all messages processed; split pending */
	HS_SPLIT,     /* split done, secrets wiped */
	HS_DEAD,      /* failed or wiped */
};

/* Message tokens (section 7.1). T_END ends a message's list. */
enum token { T_END = 0, T_E, T_S, T_EE, T_ES, T_SE, T_SS };

#define MAX_MSGS   3
#define MAX_TOKENS 4

struct pattern {
	const char *name;
	bool pre_s_init; /* pre-message "-> s" */
	bool pre_s_resp; /* pre-message "<- s" */
	uint8_t n_msgs;  /* messages alternate, the initiator's first */
	uint8_t msgs[MAX_MSGS][MAX_TOKENS + 1];
};

/* Section 7.4, the fundamental interactive patterns. */
static const struct pattern patterns[] = {
	[HT_NOISE_NN] = {"NN", false, false, 2, {{T_E}, {T_E, T_EE}}},
	[HT_NOISE_KK] = {"KK", true, true, 2, {{T_E, T_ES, T_SS}, {T_E, T_EE, T_SE}}},
	[HT_NOISE_XK] = {"XK", false, true, 3, {{T_E, T_ES}, {T_E, T_EE}, {T_S, T_SE}}},
	[HT_NOISE_IK] = {"IK", false, true, 2, {{T_E, T_ES, T_S, T_SS}, {T_E, T_EE, T_SE}}},
	[HT_NOISE_XX] = {"XX", false, false, 3, {{T_E}, {T_E, T_EE, T_S, T_ES}, {T_S, T_SE}}},
};

static const struct pattern *pattern_of(int p)
{
	if (p < HT_NOISE_NN || p > HT_NOISE_XX)
		return NULL;
	return &patterns[p];
}

/* ---- HASH, HMAC-HASH, HKDF (section 4.3) -------------------------------- */

/* HASH(a || b): BLAKE2b with a 64-byte output. `b` may be NULL when empty. */
static void hash2(uint8_t out[HASHLEN], const uint8_t *a, size_t a_len, const uint8_t *b,
		  size_t b_len)
{
	crypto_generichash_blake2b_state st;
	crypto_generichash_blake2b_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_blake2b_update(&st, a, a_len);
	if (b_len)
		crypto_generichash_blake2b_update(&st, b, b_len);
	crypto_generichash_blake2b_final(&st, out, HASHLEN);
	sodium_memzero(&st, sizeof(st));
}

/*
 * HMAC-BLAKE2b (RFC 2104) of `d1 || d2` under a HASHLEN-byte key: the key is
 * shorter than BLOCKLEN, so it is zero-padded to a block, not hashed.
 * libsodium's keyed BLAKE2b is a different MAC and would not interoperate.
 */
static void hmac(uint8_t out[HASHLEN], const uint8_t key[HASHLEN], const uint8_t *d1, size_t l1,
		 const uint8_t *d2, size_t l2)
{
	uint8_t pad[BLOCKLEN], inner[HASHLEN];
	crypto_generichash_blake2b_state st;

	memset(pad, 0x36, sizeof(pad));
	for (size_t i = 0; i < HASHLEN; i++)
		pad[i] ^= key[i];
	crypto_generichash_blake2b_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_blake2b_update(&st, pad, sizeof(pad));
	if (l1)
		crypto_generichash_blake2b_update(&st, d1, l1);
	if (l2)
		crypto_generichash_blake2b_update(&st, d2, l2);
	crypto_generichash_blake2b_final(&st, inner, HASHLEN);

	memset(pad, 0x5c, sizeof(pad));
	for (size_t i = 0; i < HASHLEN; i++)
		pad[i] ^= key[i];
	crypto_generichash_blake2b_init(&st, NULL, 0, HASHLEN);
	crypto_generichash_blake2b_update(&st, pad, sizeof(pad));
	crypto_generichash_blake2b_update(&st, inner, sizeof(inner));
	crypto_generichash_blake2b_final(&st, out, HASHLEN);

	sodium_memzero(pad, sizeof(pad));
	sodium_memzero(inner, sizeof(inner));
	sodium_memzero(&st, sizeof(st));
}

/*
 * HKDF(chaining_key, input_key_material, 2):
 *   temp_key = HMAC-HASH(chaining_key, input_key_material)
 *   output1  = HMAC-HASH(temp_key, 0x01)
 *   output2  = HMAC-HASH(temp_key, output1 || 0x02)
 * `out1` may alias `ck`.
 */
static void hkdf2(const uint8_t ck[HASHLEN], const uint8_t *ikm, size_t ikm_len,
		  uint8_t out1[HASHLEN], uint8_t out2[HASHLEN])
{
	static const uint8_t one = 0x01, two = 0x02;
	uint8_t temp[HASHLEN], o1[HASHLEN];
	hmac(temp, ck, ikm, ikm_len, NULL, 0);
	hmac(o1, temp, &one, 1, NULL, 0);
	hmac(out2, temp, o1, sizeof(o1), &two, 1);
	memcpy(out1, o1, HASHLEN);
	sodium_memzero(temp, sizeof(temp));
	sodium_memzero(o1, sizeof(o1));
}

/* ---- DH (section 12.1) --------------------------------------------------- */

static int dh_public(uint8_t pk[DHLEN], const uint8_t sk[DHLEN])
{
	return crypto_scalarmult_base(pk, sk) == 0 ? HT_OK : HT_E_CRYPTO;
}

/* X25519; an all-zero output (remote key of small order) is refused. */
static int dh(uint8_t out[DHLEN], const uint8_t sk[DHLEN], const uint8_t pk[DHLEN])
{
	if (crypto_scalarmult(out, sk, pk) != 0) {
		sodium_memzero(out, DHLEN);
		return HT_E_WEAK_KEY;
	}
	return HT_OK;
}

/* ---- CipherState (section 5.1) -------------------------------------------- */

/* 4 zero bytes || little-endian n (section 12.3, ChaChaPoly). */
static void nonce_of(uint8_t out[crypto_aead_chacha20poly1305_IETF_NPUBBYTES], uint64_t n)
{
	memset(out, 0, 4);
	for (int i = 0; i < 8; i++)
		out[4 + i] = (uint8_t)(n >> (8 * i));
}

/* ENCRYPT(k, n++, ad, pt) into `out` (len + TAGLEN bytes). */
static int cs_encrypt(ht_noise_cipher *c, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
		      size_t len, uint8_t *out)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	if (c->n == NONCE_MAX)
		return HT_E_INVAL;
	nonce_of(nonce, c->n);
	crypto_aead_chacha20poly1305_ietf_encrypt(out, NULL, pt, len, ad, ad_len, NULL, nonce,
						  c->k);
	c->n++;
	return HT_OK;
}

/* DECRYPT(k, n++, ad, ct) into `out` (len - TAGLEN bytes); len >= TAGLEN. */
static int cs_decrypt(ht_noise_cipher *c, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
		      size_t len, uint8_t *out)
{
	uint8_t nonce[crypto_aead_chacha20poly1305_IETF_NPUBBYTES];
	if (c->n == NONCE_MAX)
		return HT_E_INVAL;
	nonce_of(nonce, c->n);
	if (crypto_aead_chacha20poly1305_ietf_decrypt(out, NULL, NULL, ct, len, ad, ad_len, nonce,
						      c->k) != 0)
		return HT_E_DECRYPT;
	c->n++;
	return HT_OK;
}

void ht_noise_cipher_wipe(ht_noise_cipher *c)
{
	if (!c)
		return;
	sodium_memzero(c->k, sizeof(c->k));
	c->n = NONCE_MAX;
}

int ht_noise_encrypt(ht_noise_cipher *c, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
		     size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	if (!c || !out || !out_len || (!pt && len) || (!ad && ad_len))
		return HT_E_INVAL;
	if (len > HT_NOISE_MAX_PLAINTEXT)
		return HT_E_TOO_LARGE;
	if (cap < len + TAGLEN)
		return HT_E_INVAL;
	int rc = cs_encrypt(c, ad, ad_len, pt, len, out);
	if (rc != HT_OK)
		return rc;
	*out_len = len + TAGLEN;
	return HT_OK;
}

int ht_noise_decrypt(ht_noise_cipher *c, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
		     size_t len, uint8_t *out, size_t cap, size_t *out_len)
{
	if (!c)
		return HT_E_INVAL;
	int rc;
	if (!out_len || (!ct && len) || (!ad && ad_len) || (!out && cap))
		rc = HT_E_INVAL;
	else if (len > HT_NOISE_MAX_MSG)
		rc = HT_E_TOO_LARGE;
	else if (len < TAGLEN)
		rc = HT_E_MALFORMED;
	else if (cap < len - TAGLEN)
		rc = HT_E_INVAL;
	else
		rc = cs_decrypt(c, ad, ad_len, ct, len, out);
	if (rc != HT_OK) {
		ht_noise_cipher_wipe(c);
		return rc;
	}
	*out_len = len - TAGLEN;
	return HT_OK;
}

/* ---- SymmetricState (section 5.2) ----------------------------------------- */

static void mix_hash(ht_noise_hs *hs, const uint8_t *data, size_t len)
{
	hash2(hs->h, hs->h, HASHLEN, data, len);
}

/* MixKey: ck, temp_k = HKDF(ck, ikm, 2); InitializeKey(temp_k[0..32]). */
static void mix_key(ht_noise_hs *hs, const uint8_t *ikm, size_t len)
{
	uint8_t temp_k[HASHLEN];
	hkdf2(hs->ck, ikm, len, hs->ck, temp_k);
	memcpy(hs->cs.k, temp_k, KEYLEN);
	hs->cs.n = 0;
	hs->has_key = true;
	sodium_memzero(temp_k, sizeof(temp_k));
}

/* EncryptAndHash into `out`: len (+ TAGLEN once there is a key) bytes. */
static int encrypt_and_hash(ht_noise_hs *hs, const uint8_t *pt, size_t len, uint8_t *out,
			    size_t *out_len)
{
	if (!hs->has_key) {
		if (len)
			memcpy(out, pt, len);
		*out_len = len;
	} else {
		int rc = cs_encrypt(&hs->cs, hs->h, HASHLEN, pt, len, out);
		if (rc != HT_OK)
			return rc;
		*out_len = len + TAGLEN;
	}
	mix_hash(hs, out, *out_len);
	return HT_OK;
}

/* DecryptAndHash of `len` bytes (>= TAGLEN once there is a key) into `out`. */
static int decrypt_and_hash(ht_noise_hs *hs, const uint8_t *ct, size_t len, uint8_t *out)
{
	if (!hs->has_key) {
		if (len)
			memcpy(out, ct, len);
	} else {
		int rc = cs_decrypt(&hs->cs, hs->h, HASHLEN, ct, len, out);
		if (rc != HT_OK)
			return rc;
	}
	mix_hash(hs, ct, len);
	return HT_OK;
}

/* ---- HandshakeState (section 5.3) ------------------------------------------ */

int ht_noise_protocol_name(ht_noise_pattern p, char *buf, size_t cap)
{
	const struct pattern *pat = pattern_of(p);
	if (!pat || !buf)
		return HT_E_INVAL;
	int n = snprintf(buf, cap, "Noise_%s_25519_ChaChaPoly_BLAKE2b", pat->name);
	if (n < 0 || (size_t)n >= cap) {
		if (cap)
			buf[0] = 0;
		return HT_E_INVAL;
	}
	return HT_OK;
}

/* Does this side send "s" in any of its messages? */
static bool sends_s(const struct pattern *pat, bool initiator)
{
	for (unsigned m = initiator ? 0 : 1; m < pat->n_msgs; m += 2)
		for (const uint8_t *t = pat->msgs[m]; *t != T_END; t++)
			if (*t == T_S)
				return true;
	return false;
}

/* A failure: wipe everything, refuse every later call. */
static void hs_fail(ht_noise_hs *hs)
{
	ht_noise_wipe(hs);
}

void ht_noise_wipe(ht_noise_hs *hs)
{
	if (!hs)
		return;
	sodium_memzero(hs, sizeof(*hs));
	hs->cs.n = NONCE_MAX;
	hs->state = HS_DEAD;
}

int ht_noise_init(ht_noise_hs *hs, ht_noise_pattern p, bool initiator, const uint8_t *prologue,
		  size_t prologue_len, const uint8_t *s_sk, const uint8_t *rs)
{
	if (!hs)
		return HT_E_INVAL;
	sodium_memzero(hs, sizeof(*hs));
	hs->state = HS_DEAD;
	const struct pattern *pat = pattern_of(p);
	if (!pat || (!prologue && prologue_len))
		return HT_E_INVAL;

	/* Exactly the keys the pattern uses. */
	bool pre_s_local = initiator ? pat->pre_s_init : pat->pre_s_resp;
	bool pre_s_remote = initiator ? pat->pre_s_resp : pat->pre_s_init;
	bool need_s = pre_s_local || sends_s(pat, initiator);
	if ((s_sk != NULL) != need_s || (rs != NULL) != pre_s_remote)
		return HT_E_INVAL;

	hs->pattern = (uint8_t)p;
	hs->initiator = initiator;
	if (s_sk) {
		memcpy(hs->s_sk, s_sk, KEYLEN);
		if (dh_public(hs->s_pk, hs->s_sk) != HT_OK) {
			hs_fail(hs);
			return HT_E_CRYPTO;
		}
		hs->has_s = true;
	}
	if (rs) {
		memcpy(hs->rs, rs, KEYLEN);
		hs->has_rs = true;
	}

	/* InitializeSymmetric: the name fits in HASHLEN, so h = name || zeros. */
	char name[HT_NOISE_NAME_MAX];
	if (ht_noise_protocol_name(p, name, sizeof(name)) != HT_OK) {
		hs_fail(hs);
		return HT_E_INVAL;
	}
	memcpy(hs->h, name, strlen(name));
	memcpy(hs->ck, hs->h, HASHLEN);
	hs->has_key = false;
	hs->cs.n = 0;

	mix_hash(hs, prologue, prologue_len);
	/* Pre-messages: the initiator's keys, then the responder's. */
	if (pat->pre_s_init)
		mix_hash(hs, initiator ? hs->s_pk : hs->rs, KEYLEN);
	if (pat->pre_s_resp)
		mix_hash(hs, initiator ? hs->rs : hs->s_pk, KEYLEN);

	hs->state = HS_ACTIVE;
	return HT_OK;
}

int ht_noise_set_ephemeral(ht_noise_hs *hs, const uint8_t e_sk[HT_NOISE_KEY_LEN])
{
	if (!hs || !e_sk || hs->state != HS_ACTIVE || hs->has_e)
		return HT_E_INVAL;
	memcpy(hs->e_sk, e_sk, KEYLEN);
	if (dh_public(hs->e_pk, hs->e_sk) != HT_OK) {
		sodium_memzero(hs->e_sk, KEYLEN);
		return HT_E_CRYPTO;
	}
	hs->e_preset = true;
	return HT_OK;
}

bool ht_noise_is_my_turn(const ht_noise_hs *hs)
{
	return hs && hs->state == HS_ACTIVE && ((hs->msg_index % 2) == 0) == hs->initiator;
}

bool ht_noise_done(const ht_noise_hs *hs)
{
	return hs && (hs->state == HS_DONE || hs->state == HS_SPLIT);
}

bool ht_noise_failed(const ht_noise_hs *hs)
{
	return hs && hs->state == HS_DEAD;
}

const uint8_t *ht_noise_remote_static(const ht_noise_hs *hs)
{
	if (!hs || hs->state == HS_DEAD || hs->state == HS_UNSET || !hs->has_rs)
		return NULL;
	return hs->rs;
}

/*
 * Bytes the current message takes besides its payload: walks the tokens,
 * tracking when a key appears (then "s" and the payload carry a tag).
 */
static size_t message_overhead(const ht_noise_hs *hs, const uint8_t *tokens)
{
	bool has_key = hs->has_key;
	size_t n = 0;
	for (const uint8_t *t = tokens; *t != T_END; t++) {
		switch (*t) {
		case T_E:
			n += DHLEN;
			break;
		case T_S:
			n += DHLEN + (has_key ? TAGLEN : 0);
			break;
		default: /* ee, es, se, ss: MixKey */
			has_key = true;
			break;
		}
	}
	return n + (has_key ? TAGLEN : 0);
}

/* The DH a "ee", "es", "se" or "ss" token calls for, mixed into the key. */
static int mix_dh(ht_noise_hs *hs, uint8_t token)
{
	/* Which local and remote key: the initiator's first letter is its own. */
	bool local_e, remote_e;
	switch (token) {
	case T_EE:
		local_e = remote_e = true;
		break;
	case T_ES:
		local_e = hs->initiator;
		remote_e = !hs->initiator;
		break;
	case T_SE:
		local_e = !hs->initiator;
		remote_e = hs->initiator;
		break;
	default: /* T_SS */
		local_e = remote_e = false;
		break;
	}
	if (local_e ? !hs->has_e : !hs->has_s)
		return HT_E_INVAL;
	if (remote_e ? !hs->has_re : !hs->has_rs)
		return HT_E_INVAL;
	uint8_t out[DHLEN];
	int rc = dh(out, local_e ? hs->e_sk : hs->s_sk, remote_e ? hs->re : hs->rs);
	if (rc == HT_OK)
		mix_key(hs, out, sizeof(out));
	sodium_memzero(out, sizeof(out));
	return rc;
}

/* After the last message: no more turns, split may be called. */
static void advance(ht_noise_hs *hs, const struct pattern *pat)
{
	hs->msg_index++;
	if (hs->msg_index == pat->n_msgs)
		hs->state = HS_DONE;
}

static int write_tokens(ht_noise_hs *hs, const uint8_t *tokens, uint8_t *out, size_t *pos)
{
	int rc;
	size_t n;
	for (const uint8_t *t = tokens; *t != T_END; t++) {
		switch (*t) {
		case T_E:
			if (hs->has_e)
				return HT_E_INVAL;
			if (!hs->e_preset) {
				randombytes_buf(hs->e_sk, KEYLEN);
				if ((rc = dh_public(hs->e_pk, hs->e_sk)) != HT_OK)
					return rc;
			}
			hs->has_e = true;
			memcpy(out + *pos, hs->e_pk, DHLEN);
			*pos += DHLEN;
			mix_hash(hs, hs->e_pk, DHLEN);
			break;
		case T_S:
			if (!hs->has_s)
				return HT_E_INVAL;
			if ((rc = encrypt_and_hash(hs, hs->s_pk, DHLEN, out + *pos, &n)) != HT_OK)
				return rc;
			*pos += n;
			break;
		default:
			if ((rc = mix_dh(hs, *t)) != HT_OK)
				return rc;
			break;
		}
	}
	return HT_OK;
}

int ht_noise_write_message(ht_noise_hs *hs, const uint8_t *payload, size_t len, uint8_t *out,
			   size_t cap, size_t *out_len)
{
	if (!hs || !out || !out_len || (!payload && len) || !ht_noise_is_my_turn(hs))
		return HT_E_INVAL;
	const struct pattern *pat = pattern_of(hs->pattern);
	if (!pat)
		return HT_E_INVAL;
	const uint8_t *tokens = pat->msgs[hs->msg_index];
	size_t overhead = message_overhead(hs, tokens);
	if (len > HT_NOISE_MAX_MSG || overhead + len > HT_NOISE_MAX_MSG)
		return HT_E_TOO_LARGE;
	if (cap < overhead + len)
		return HT_E_INVAL;

	size_t pos = 0, n;
	int rc = write_tokens(hs, tokens, out, &pos);
	if (rc == HT_OK)
		rc = encrypt_and_hash(hs, payload, len, out + pos, &n);
	if (rc != HT_OK) {
		hs_fail(hs);
		return rc;
	}
	*out_len = pos + n;
	advance(hs, pat);
	return HT_OK;
}

static int read_tokens(ht_noise_hs *hs, const uint8_t *tokens, const uint8_t *msg, size_t *pos)
{
	int rc;
	for (const uint8_t *t = tokens; *t != T_END; t++) {
		switch (*t) {
		case T_E:
			if (hs->has_re)
				return HT_E_INVAL;
			memcpy(hs->re, msg + *pos, DHLEN);
			hs->has_re = true;
			*pos += DHLEN;
			mix_hash(hs, hs->re, DHLEN);
			break;
		case T_S: {
			if (hs->has_rs)
				return HT_E_INVAL;
			size_t n = DHLEN + (hs->has_key ? TAGLEN : 0);
			if ((rc = decrypt_and_hash(hs, msg + *pos, n, hs->rs)) != HT_OK)
				return rc;
			hs->has_rs = true;
			*pos += n;
			break;
		}
		default:
			if ((rc = mix_dh(hs, *t)) != HT_OK)
				return rc;
			break;
		}
	}
	return HT_OK;
}

int ht_noise_read_message(ht_noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
			  size_t cap, size_t *payload_len)
{
	if (!hs)
		return HT_E_INVAL;
	const struct pattern *pat = pattern_of(hs->pattern);
	int rc = HT_OK;
	if (!pat || !payload_len || (!msg && len) || (!payload && cap) || hs->state != HS_ACTIVE ||
	    ht_noise_is_my_turn(hs)) {
		rc = HT_E_INVAL;
		goto fail;
	}
	if (len > HT_NOISE_MAX_MSG) {
		rc = HT_E_TOO_LARGE;
		goto fail;
	}
	const uint8_t *tokens = pat->msgs[hs->msg_index];
	size_t overhead = message_overhead(hs, tokens);
	if (len < overhead) {
		rc = HT_E_MALFORMED;
		goto fail;
	}
	size_t plen = len - overhead;
	if (cap < plen) {
		rc = HT_E_INVAL;
		goto fail;
	}

	size_t pos = 0;
	if ((rc = read_tokens(hs, tokens, msg, &pos)) != HT_OK)
		goto fail;
	/* pos + payload (+ tag) == len, by message_overhead. */
	if ((rc = decrypt_and_hash(hs, msg + pos, len - pos, payload)) != HT_OK)
		goto fail;
	*payload_len = plen;
	advance(hs, pat);
	return HT_OK;

fail:
	hs_fail(hs);
	return rc;
}

int ht_noise_handshake_hash(const ht_noise_hs *hs, uint8_t out[HT_NOISE_HASH_LEN])
{
	if (!hs || !out || !ht_noise_done(hs))
		return HT_E_INVAL;
	memcpy(out, hs->h, HASHLEN);
	return HT_OK;
}

int ht_noise_split(ht_noise_hs *hs, ht_noise_cipher *send, ht_noise_cipher *recv)
{
	if (!hs || !send || !recv || send == recv || hs->state != HS_DONE)
		return HT_E_INVAL;
	uint8_t k1[HASHLEN], k2[HASHLEN];
	hkdf2(hs->ck, NULL, 0, k1, k2);
	ht_noise_cipher *c1 = hs->initiator ? send : recv;
	ht_noise_cipher *c2 = hs->initiator ? recv : send;
	memcpy(c1->k, k1, KEYLEN);
	c1->n = 0;
	memcpy(c2->k, k2, KEYLEN);
	c2->n = 0;
	sodium_memzero(k1, sizeof(k1));
	sodium_memzero(k2, sizeof(k2));

	/* Keep what is public: h, the remote static key, who we were. */
	sodium_memzero(hs->ck, sizeof(hs->ck));
	ht_noise_cipher_wipe(&hs->cs);
	hs->has_key = false;
	sodium_memzero(hs->s_sk, sizeof(hs->s_sk));
	sodium_memzero(hs->e_sk, sizeof(hs->e_sk));
	hs->state = HS_SPLIT;
	return HT_OK;
}
