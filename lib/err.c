#include "hoptrace/err.h"

#include <stddef.h>

struct errdesc {
	const char *name;
	const char *text;
};

/* Indexed by -err. */
static const struct errdesc errs[] = {
	[0] = {"ok", "success"},
	[-HT_E_NOMEM] = {"nomem", "out of memory"},
	[-HT_E_INVAL] = {"invalid", "invalid argument"},
	[-HT_E_IO] = {"io", "input/output error"},
	[-HT_E_MALFORMED] = {"malformed", "malformed data"},
	[-HT_E_TOO_LARGE] = {"too_large", "data exceeds the protocol's size limit"},
	[-HT_E_BAD_SIGNATURE] = {"bad_signature",
				 "signature does not verify (tampered or wrong key)"},
	[-HT_E_UNKNOWN_ANCHOR] = {"unknown_anchor", "issued by a key that is not a trusted anchor"},
	[-HT_E_NOT_YET_VALID] = {"not_yet_valid", "certificate is not yet valid"},
	[-HT_E_EXPIRED] = {"expired", "certificate has expired"},
	[-HT_E_REVOKED] = {"revoked", "certificate has been revoked"},
	[-HT_E_MISSING_ROLE] = {"missing_role", "certificate lacks a required role"},
	[-HT_E_BAD_PROVIDER_ID] = {"bad_provider_id",
				   "invalid provider ID (1-32 chars of A-Z a-z 0-9 . _ -, "
				   "starting with a letter or digit)"},
	[-HT_E_KEY_PERMS] = {"key_permissions", "secret key file is accessible by group or others, "
						"or owned by another user (chmod 600 it)"},
	[-HT_E_WRONG_KIND] = {"wrong_kind", "signed message is of another kind"},
	[-HT_E_UNSUPPORTED_CRITICAL] = {"unsupported_critical",
					"message marks a field critical that this "
					"implementation does not support"},
	[-HT_E_EXISTS] = {"exists", "file exists (refusing to overwrite)"},
	[-HT_E_STALE] = {"stale", "older than the one already held"},
	[-HT_E_CRYPTO] = {"crypto", "cryptographic library failure"},
	[-HT_E_WRONG_KEY_TYPE] = {"wrong_key_type", "key file is of another type"},
	[-HT_E_WEAK_KEY] = {"weak_key", "public key is invalid or of small order"},
	[-HT_E_DECRYPT] = {"decrypt_failed",
			   "message does not decrypt (tampered, replayed or wrong key)"},
	[-HT_E_UNSUPPORTED_VERSION] = {"unsupported_version",
				       "the peer speaks another protocol version"},
	[-HT_E_NOT_A_PEER] = {"not_a_peer", "the provider is not a configured peer"},
	[-HT_E_KEY_MISMATCH] = {"key_mismatch",
				"the peer's Noise static key is not the one in its certificate"},
	[-HT_E_WRONG_PEER] = {"wrong_peer",
			      "the peer authenticated as another provider than the one dialled"},
	/* A HopAnswer whose request_hash is not the identity of the request it
	 * is checked against: swapped or replayed from another trace. */
	[-HT_E_WRONG_REQUEST] = {"wrong_request", "answer is bound to another request"},
	[-HT_E_BAD_TIME] = {"bad_time", "answer is dated outside its request's lifetime"},
};

static const struct errdesc *lookup(int err)
{
	if (err > 0 || err < HT_E_LAST)
		return NULL;
	return &errs[-err];
}

const char *ht_strerror(int err)
{
	const struct errdesc *d = lookup(err);
	return d ? d->text : "unknown error";
}

const char *ht_errname(int err)
{
	const struct errdesc *d = lookup(err);
	return d ? d->name : "unknown";
}
