#include "hoptrace/crl.h"

#include <stdlib.h>
#include <string.h>

#include "hoptrace/v1/cert.pb-c.h"
#include "wire.h"

struct ht_crl {
	ht_crl_info info;
	uint64_t *serials;
	ht_envelope *env;
};

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return (x > y) - (x < y);
}

int ht_crl_issue(const ht_keys *anchor, uint64_t number, uint64_t issued_at,
		 const uint64_t *serials, size_t n, uint8_t **out, size_t *out_len)
{
	if (!anchor->has_secret || anchor->role != HT_KEYS_ANCHOR || number == 0)
		return HT_E_INVAL;
	/* Each serial takes at least one octet: more can never fit. */
	if (n > HT_CRL_MAX)
		return HT_E_TOO_LARGE;
	uint64_t *s = malloc((n ? n : 1) * sizeof(*s));
	if (!s)
		return HT_E_NOMEM;
	if (n)
		memcpy(s, serials, n * sizeof(*s));
	qsort(s, n, sizeof(*s), cmp_u64);
	size_t m = 0;
	for (size_t i = 0; i < n; i++) {
		if (s[i] == 0) {
			free(s);
			return HT_E_INVAL;
		}
		if (m == 0 || s[m - 1] != s[i])
			s[m++] = s[i];
	}

	Hoptrace__V1__RevocationList l = HOPTRACE__V1__REVOCATION_LIST__INIT;
	l.issuer.data = (uint8_t *)anchor->sign_pk;
	l.issuer.len = HT_SIGN_PK_LEN;
	l.number = number;
	l.issued_at = issued_at;
	l.n_serials = m;
	l.serials = s;
	uint8_t *body;
	size_t body_len;
	int rc = ht__pack(&l.base, &body, &body_len);
	free(s);
	if (rc != HT_OK)
		return rc;
	rc = ht_envelope_sign(HT_KIND_REVOCATION_LIST, body, body_len, anchor->sign_sk, out,
			      out_len);
	free(body);
	return rc;
}

int ht_crl_parse(const uint8_t *buf, size_t len, ht_crl **out)
{
	ht_envelope *env;
	ProtobufCMessage *m;
	int rc = ht__open_signed(buf, len, HT_CRL_MAX, HT_KIND_REVOCATION_LIST,
				 &hoptrace__v1__revocation_list__descriptor, &env, &m);
	if (rc != HT_OK)
		return rc;
	Hoptrace__V1__RevocationList *l = (Hoptrace__V1__RevocationList *)m;
	ht_crl *crl = calloc(1, sizeof(*crl));
	if (!crl) {
		rc = HT_E_NOMEM;
		goto fail;
	}
	if ((rc = ht__check_critical(m->descriptor, l->critical, l->n_critical)) != HT_OK)
		goto fail;
	rc = HT_E_MALFORMED;
	if (l->issuer.len != HT_SIGN_PK_LEN || l->number == 0)
		goto fail;
	for (size_t i = 0; i < l->n_serials; i++)
		if (l->serials[i] == 0 || (i > 0 && l->serials[i] <= l->serials[i - 1]))
			goto fail;
	crl->serials = malloc((l->n_serials ? l->n_serials : 1) * sizeof(uint64_t));
	if (!crl->serials) {
		rc = HT_E_NOMEM;
		goto fail;
	}
	if (l->n_serials)
		memcpy(crl->serials, l->serials, l->n_serials * sizeof(uint64_t));
	memcpy(crl->info.issuer, l->issuer.data, HT_SIGN_PK_LEN);
	crl->info.number = l->number;
	crl->info.issued_at = l->issued_at;
	crl->info.n_serials = l->n_serials;
	crl->info.serials = crl->serials;
	crl->env = env;
	protobuf_c_message_free_unpacked(m, NULL);
	*out = crl;
	return HT_OK;
fail:
	if (crl)
		free(crl->serials);
	free(crl);
	protobuf_c_message_free_unpacked(m, NULL);
	ht_envelope_free(env);
	return rc;
}

const ht_crl_info *ht_crl_get_info(const ht_crl *crl)
{
	return &crl->info;
}

bool ht_crl_contains(const ht_crl *crl, uint64_t serial)
{
	return bsearch(&serial, crl->serials, crl->info.n_serials, sizeof(uint64_t), cmp_u64) !=
	       NULL;
}

int ht_crl_check_signature(const ht_crl *crl, const uint8_t anchor_pk[HT_SIGN_PK_LEN])
{
	return ht_envelope_verify(crl->env, HT_KIND_REVOCATION_LIST, anchor_pk);
}

void ht_crl_free(ht_crl *crl)
{
	if (!crl)
		return;
	ht_envelope_free(crl->env);
	free(crl->serials);
	free(crl);
}
