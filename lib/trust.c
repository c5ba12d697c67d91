#include "hoptrace/trust.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

struct anchor {
	uint8_t pk[HT_SIGN_PK_LEN];
	ht_crl *crl; /* newest verified list from this anchor, or NULL */
};

struct ht_trust {
	struct anchor anchors[HT_TRUST_MAX_ANCHORS];
	size_t n;
};

int ht_trust_new(ht_trust **out)
{
	ht_trust *t = calloc(1, sizeof(*t));
	if (!t)
		return HT_E_NOMEM;
	*out = t;
	return HT_OK;
}

void ht_trust_free(ht_trust *t)
{
	if (!t)
		return;
	for (size_t i = 0; i < t->n; i++)
		ht_crl_free(t->anchors[i].crl);
	free(t);
}

void ht_trust_swap(ht_trust *a, ht_trust *b)
{
	ht_trust tmp = *a;
	*a = *b;
	*b = tmp;
}

static struct anchor *find(const ht_trust *t, const uint8_t pk[HT_SIGN_PK_LEN])
{
	for (size_t i = 0; i < t->n; i++)
		if (sodium_memcmp(t->anchors[i].pk, pk, HT_SIGN_PK_LEN) == 0)
			return (struct anchor *)&t->anchors[i];
	return NULL;
}

int ht_trust_check_rollback(const ht_trust *prev, const ht_trust *next)
{
	for (size_t i = 0; i < prev->n; i++) {
		const struct anchor *a = &prev->anchors[i], *b = find(next, a->pk);
		if (!a->crl || !b)
			continue;
		if (!b->crl || ht_crl_get_info(b->crl)->number < ht_crl_get_info(a->crl)->number)
			return HT_E_STALE;
	}
	return HT_OK;
}

int ht_trust_add_anchor(ht_trust *t, const uint8_t anchor_pk[HT_SIGN_PK_LEN])
{
	if (find(t, anchor_pk))
		return HT_OK;
	if (t->n == HT_TRUST_MAX_ANCHORS)
		return HT_E_TOO_LARGE;
	memcpy(t->anchors[t->n].pk, anchor_pk, HT_SIGN_PK_LEN);
	t->anchors[t->n].crl = NULL;
	t->n++;
	return HT_OK;
}

int ht_trust_add_crl(ht_trust *t, ht_crl *crl)
{
	const ht_crl_info *ci = ht_crl_get_info(crl);
	struct anchor *a = find(t, ci->issuer);
	if (!a)
		return HT_E_UNKNOWN_ANCHOR;
	int rc = ht_crl_check_signature(crl, a->pk);
	if (rc != HT_OK)
		return rc;
	if (a->crl && ht_crl_get_info(a->crl)->number >= ci->number)
		return HT_E_STALE;
	ht_crl_free(a->crl);
	a->crl = crl;
	return HT_OK;
}

int ht_trust_verify_cert(const ht_trust *t, const ht_cert *c, uint64_t now, uint32_t required_roles)
{
	const ht_cert_info *ci = ht_cert_get_info(c);
	const struct anchor *a = find(t, ci->issuer);
	if (!a)
		return HT_E_UNKNOWN_ANCHOR;
	int rc = ht_cert_check_signature(c, a->pk);
	if (rc != HT_OK)
		return rc;
	if (now < ci->not_before)
		return HT_E_NOT_YET_VALID;
	if (now >= ci->not_after)
		return HT_E_EXPIRED;
	if (a->crl && ht_crl_contains(a->crl, ci->serial))
		return HT_E_REVOKED;
	if ((ci->roles & required_roles) != required_roles)
		return HT_E_MISSING_ROLE;
	return HT_OK;
}
