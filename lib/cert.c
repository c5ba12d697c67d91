#include "hoptrace/cert.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hoptrace/envelope.h"
#include "hoptrace/v1/cert.pb-c.h"
#include "wire.h"

struct ht_cert {
	ht_cert_info info;
	ht_envelope *env;
	uint8_t *raw;
	size_t raw_len;
	unsigned refs; /* ht_cert_free drops one; a cache shares parses */
	/*
	 * The last signature check: whether the anchor's signature verifies
	 * under `sig_pk`. A fact about these bytes and that key, which nothing
	 * changes later, so asking again gives the same answer for free.
	 */
	bool sig_known;
	int sig_rc;
	uint8_t sig_pk[HT_SIGN_PK_LEN];
};

static const struct {
	uint32_t bit;
	const char *name;
	Hoptrace__V1__Role wire;
} roles[] = {
	{HT_ROLE_INITIATOR, "initiator", HOPTRACE__V1__ROLE__ROLE_INITIATOR},
};
#define NROLES (sizeof(roles) / sizeof(roles[0]))

const char *ht_role_name(uint32_t role_bit)
{
	for (size_t i = 0; i < NROLES; i++)
		if (roles[i].bit == role_bit)
			return roles[i].name;
	return NULL;
}

uint32_t ht_role_parse(const char *name)
{
	for (size_t i = 0; i < NROLES; i++)
		if (strcmp(roles[i].name, name) == 0)
			return roles[i].bit;
	return 0;
}

static bool alnum(char c)
{
	return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9');
}

bool ht_provider_id_valid(const char *id, size_t len)
{
	if (len == 0 || len > HT_PROVIDER_ID_MAX || !alnum(id[0]))
		return false;
	for (size_t i = 1; i < len; i++)
		if (!alnum(id[i]) && id[i] != '.' && id[i] != '_' && id[i] != '-')
			return false;
	return true;
}

/*
 * Keys a certificate may bind: an Ed25519 key that is a canonical point of
 * the prime-order subgroup, and an X25519 key that is not of small order
 * (a small-order key would make every Diffie-Hellman result predictable).
 */
static bool usable_keys(const ht_cert_info *info)
{
	static const uint8_t probe[32] = {1};
	uint8_t out[32];
	if (!crypto_core_ed25519_is_valid_point(info->sign_key))
		return false;
	return crypto_scalarmult(out, probe, info->noise_key) == 0;
}

/* The structural rules shared by issuing and parsing. */
static int check_info(const ht_cert_info *info)
{
	if (!ht_provider_id_valid(info->provider_id,
				  strnlen(info->provider_id, HT_PROVIDER_ID_MAX + 1)))
		return HT_E_BAD_PROVIDER_ID;
	if (info->serial == 0 || info->not_before >= info->not_after)
		return HT_E_MALFORMED;
	if (!usable_keys(info))
		return HT_E_WEAK_KEY;
	return HT_OK;
}

int ht_cert_issue(const ht_cert_info *info, const ht_keys *anchor, uint8_t **out, size_t *out_len)
{
	if (!anchor->has_secret || anchor->role != HT_KEYS_ANCHOR)
		return HT_E_INVAL;
	int rc = check_info(info);
	if (rc != HT_OK)
		return rc == HT_E_MALFORMED ? HT_E_INVAL : rc;

	Hoptrace__V1__Role wire_roles[NROLES];
	size_t nr = 0;
	for (size_t i = 0; i < NROLES; i++)
		if (info->roles & roles[i].bit)
			wire_roles[nr++] = roles[i].wire;
	if (info->roles & ~HT_ROLES_KNOWN)
		return HT_E_INVAL;

	Hoptrace__V1__Certificate c = HOPTRACE__V1__CERTIFICATE__INIT;
	c.provider_id.data = (uint8_t *)info->provider_id;
	c.provider_id.len = strlen(info->provider_id);
	c.sign_key.data = (uint8_t *)info->sign_key;
	c.sign_key.len = HT_SIGN_PK_LEN;
	c.noise_key.data = (uint8_t *)info->noise_key;
	c.noise_key.len = HT_NOISE_KEY_LEN;
	c.not_before = info->not_before;
	c.not_after = info->not_after;
	c.serial = info->serial;
	c.n_roles = nr;
	c.roles = wire_roles;
	c.issuer.data = (uint8_t *)anchor->sign_pk;
	c.issuer.len = HT_SIGN_PK_LEN;

	uint8_t *body;
	size_t body_len;
	if ((rc = ht__pack(&c.base, &body, &body_len)) != HT_OK)
		return rc;
	rc = ht_envelope_sign(HT_KIND_CERTIFICATE, body, body_len, anchor->sign_sk, out, out_len);
	free(body);
	if (rc == HT_OK && *out_len > HT_CERT_MAX) {
		free(*out);
		rc = HT_E_TOO_LARGE;
	}
	return rc;
}

int ht_cert_parse(const uint8_t *buf, size_t len, ht_cert **out)
{
	ht_envelope *env;
	ProtobufCMessage *m;
	int rc = ht__open_signed(buf, len, HT_CERT_MAX, HT_KIND_CERTIFICATE,
				 &hoptrace__v1__certificate__descriptor, &env, &m);
	if (rc != HT_OK)
		return rc;
	Hoptrace__V1__Certificate *c = (Hoptrace__V1__Certificate *)m;
	ht_cert *cert = calloc(1, sizeof(*cert));
	if (!cert) {
		rc = HT_E_NOMEM;
		goto fail;
	}

	rc = ht__check_critical(m->descriptor, c->critical, c->n_critical);
	if (rc != HT_OK)
		goto fail;
	size_t idlen = c->provider_id.len;
	if (!ht_provider_id_valid((const char *)c->provider_id.data, idlen)) {
		rc = HT_E_BAD_PROVIDER_ID;
		goto fail;
	}
	if (c->sign_key.len != HT_SIGN_PK_LEN || c->noise_key.len != HT_NOISE_KEY_LEN ||
	    c->issuer.len != HT_SIGN_PK_LEN) {
		rc = HT_E_MALFORMED;
		goto fail;
	}
	ht_cert_info *i = &cert->info;
	memcpy(i->provider_id, c->provider_id.data, idlen);
	i->provider_id[idlen] = 0;
	memcpy(i->sign_key, c->sign_key.data, HT_SIGN_PK_LEN);
	memcpy(i->noise_key, c->noise_key.data, HT_NOISE_KEY_LEN);
	memcpy(i->issuer, c->issuer.data, HT_SIGN_PK_LEN);
	i->not_before = c->not_before;
	i->not_after = c->not_after;
	i->serial = c->serial;
	for (size_t r = 0; r < c->n_roles; r++)
		for (size_t k = 0; k < NROLES; k++)
			if ((int)c->roles[r] == (int)roles[k].wire)
				i->roles |= roles[k].bit;
	if ((rc = check_info(i)) != HT_OK)
		goto fail;

	cert->raw = malloc(len);
	if (!cert->raw) {
		rc = HT_E_NOMEM;
		goto fail;
	}
	memcpy(cert->raw, buf, len);
	cert->raw_len = len;
	cert->env = env;
	cert->refs = 1;
	protobuf_c_message_free_unpacked(m, NULL);
	*out = cert;
	return HT_OK;
fail:
	free(cert);
	protobuf_c_message_free_unpacked(m, NULL);
	ht_envelope_free(env);
	return rc;
}

const ht_cert_info *ht_cert_get_info(const ht_cert *c)
{
	return &c->info;
}

const uint8_t *ht_cert_encoded(const ht_cert *c, size_t *len)
{
	*len = c->raw_len;
	return c->raw;
}

int ht_cert_check_signature(const ht_cert *c, const uint8_t anchor_pk[HT_SIGN_PK_LEN])
{
	/* The memo is not part of what the certificate says: it may change under const. */
	ht_cert *m = (ht_cert *)c;
	if (m->sig_known && memcmp(m->sig_pk, anchor_pk, HT_SIGN_PK_LEN) == 0)
		return m->sig_rc;
	int rc = ht_envelope_verify(c->env, HT_KIND_CERTIFICATE, anchor_pk);
	if (rc == HT_OK || rc == HT_E_BAD_SIGNATURE) { /* not HT_E_NOMEM: that may pass */
		m->sig_known = true;
		m->sig_rc = rc;
		memcpy(m->sig_pk, anchor_pk, HT_SIGN_PK_LEN);
	}
	return rc;
}

void ht_cert_free(ht_cert *c)
{
	if (!c || --c->refs > 0)
		return;
	ht_envelope_free(c->env);
	free(c->raw);
	free(c);
}

/* ---- cache of parsed certificates ---- */

struct cache_slot {
	uint8_t hash[crypto_generichash_BYTES];
	ht_cert *cert; /* NULL: free */
	uint64_t used; /* the cache's clock at the last hit */
};

struct ht_cert_cache {
	struct cache_slot *slots;
	size_t max;
	uint64_t clock, hits, misses;
};

int ht_cert_cache_new(ht_cert_cache **out, size_t max)
{
	if (!out || max == 0)
		return HT_E_INVAL;
	ht_cert_cache *cc = calloc(1, sizeof(*cc));
	if (cc)
		cc->slots = calloc(max, sizeof(*cc->slots));
	if (!cc || !cc->slots) {
		free(cc);
		return HT_E_NOMEM;
	}
	cc->max = max;
	*out = cc;
	return HT_OK;
}

void ht_cert_cache_clear(ht_cert_cache *cc)
{
	if (!cc)
		return;
	for (size_t i = 0; i < cc->max; i++) {
		ht_cert_free(cc->slots[i].cert);
		cc->slots[i].cert = NULL;
	}
}

void ht_cert_cache_free(ht_cert_cache *cc)
{
	if (!cc)
		return;
	ht_cert_cache_clear(cc);
	free(cc->slots);
	free(cc);
}

int ht_cert_cache_parse(ht_cert_cache *cc, const uint8_t *buf, size_t len, ht_cert **out)
{
	if (!cc)
		return ht_cert_parse(buf, len, out);
	if (len > HT_CERT_MAX) /* the parse's own first check, before hashing anything */
		return HT_E_TOO_LARGE;
	uint8_t h[crypto_generichash_BYTES];
	crypto_generichash(h, sizeof(h), buf, len, NULL, 0);
	struct cache_slot *victim = &cc->slots[0];
	cc->clock++;
	for (size_t i = 0; i < cc->max; i++) {
		struct cache_slot *s = &cc->slots[i];
		if (!s->cert) {
			if (victim->cert)
				victim = s;
			continue;
		}
		/* The hash finds the entry; the bytes themselves decide. */
		if (memcmp(s->hash, h, sizeof(h)) == 0 && s->cert->raw_len == len &&
		    memcmp(s->cert->raw, buf, len) == 0) {
			s->used = cc->clock;
			s->cert->refs++;
			cc->hits++;
			*out = s->cert;
			return HT_OK;
		}
		if (victim->cert && s->used < victim->used)
			victim = s;
	}
	cc->misses++;
	/* Only what parses is kept: a failure is parsed again, and fails the same way. */
	int rc = ht_cert_parse(buf, len, out);
	if (rc != HT_OK)
		return rc;
	ht_cert_free(victim->cert); /* the least recently used, when full */
	memcpy(victim->hash, h, sizeof(h));
	victim->cert = *out;
	victim->used = cc->clock;
	(*out)->refs++;
	return HT_OK;
}

void ht_cert_cache_stats(const ht_cert_cache *cc, size_t *entries, uint64_t *hits, uint64_t *misses)
{
	size_t n = 0;
	for (size_t i = 0; i < cc->max; i++)
		n += cc->slots[i].cert != NULL;
	*entries = n;
	*hits = cc->hits;
	*misses = cc->misses;
}
