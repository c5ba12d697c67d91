/*
 * Traceback messages (spec/protocol.md section 11): the initiator's signed
 * TraceRequest with its blinded call (a keyed BLAKE2b commitment over the
 * number pair, and an optional short hint), the hops' signed HopAnswers
 * sealed to the request's answer key, and the evidence bundle that
 * `hoptrace verify` checks offline. No I/O and no clock: callers pass the
 * time.
 */
#ifndef HOPTRACE_TRACE_H
#define HOPTRACE_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <sys/types.h>

#include "hoptrace/cert.h"
#include "hoptrace/e164.h"
#include "hoptrace/envelope.h"
#include "hoptrace/err.h"
#include "hoptrace/keys.h"
#include "hoptrace/trust.h"

#define HT_TRACE_ID_LEN       16
#define HT_SALT_LEN           32
#define HT_COMMITMENT_LEN     32
#define HT_ANSWER_PK_LEN      32 /* X25519 */
#define HT_ANSWER_SK_LEN      32
#define HT_SEAL_OVERHEAD      48 /* crypto_box_SEALBYTES */
#define HT_ORIGID_LEN         16
#define HT_LABEL_MAX          128
#define HT_CUSTOMER_REF_MAX   64
#define HT_HINT_BITS_MAX      16
#define HT_HOP_LIMIT_MAX      32
#define HT_TOLERANCE_MAX_MS   300000u  /* 5 minutes */
#define HT_LIFETIME_MAX_MS    3600000u /* expires_ms - created_ms, at most */
#define HT_CLOCK_SKEW_MS      300000u  /* created_ms may be this far in the future */
#define HT_ANSWER_CALLS_MAX   16       /* matched calls in one answer */
#define HT_BUNDLE_MAX         (4u << 20)
#define HT_BUNDLE_ANSWERS_MAX 1024

/* Reason codes (reason.proto, spec/protocol.md section 10.2). */
typedef enum ht_reason {
	HT_REASON_UNSPECIFIED = 0,
	HT_REASON_MALFORMED = 1,
	HT_REASON_BAD_SIGNATURE = 2,
	HT_REASON_UNKNOWN_ANCHOR = 3,
	HT_REASON_CERT_NOT_YET_VALID = 4,
	HT_REASON_CERT_EXPIRED = 5,
	HT_REASON_CERT_REVOKED = 6,
	HT_REASON_MISSING_ROLE = 7, /* "not an initiator" for requests */
	HT_REASON_UNSUPPORTED_CRITICAL = 8,
	HT_REASON_EXPIRED = 9,
	HT_REASON_HOP_LIMIT = 10,
	HT_REASON_DUPLICATE = 11,
	HT_REASON_RATE_LIMITED = 12,
	HT_REASON_NOT_A_PEER = 13,
	HT_REASON_UNSUPPORTED_VERSION = 14,
	HT_REASON_INTERNAL = 15,
	HT_REASON_POLICY_REFUSED = 16,
	HT_REASON_UPSTREAM_NOT_PARTICIPANT = 17,
	HT_REASON_UPSTREAM_UNREACHABLE = 18,
	HT_REASON_UPSTREAM_TIMED_OUT = 19,
} ht_reason;

/* A short lower-case token for a reason code ("bad_signature"), or "unknown". */
const char *ht_reason_name(uint32_t reason);

/* The reason code a receiver sends for an ht_err (spec section 10.3). */
ht_reason ht_reason_from_err(int err);

typedef enum ht_answer_status {
	HT_ANSWER_FOUND = 1,
	HT_ANSWER_NOT_FOUND = 2,
	HT_ANSWER_REFUSED = 3,
	HT_ANSWER_DEAD_END = 4,
} ht_answer_status;

/* "found", "not_found", "refused", "dead_end", or "unknown". */
const char *ht_answer_status_name(uint32_t status);

/* ---- The blinded call --------------------------------------------------- */

/*
 * The commitment: BLAKE2b-256 with key `salt` (32 octets) over
 * "hoptrace/v1 call" || 0x00 || calling || 0x00 || called, the numbers as
 * E.164 digits (spec/numbers.md). HT_E_INVAL if a number is not E.164 digits.
 */
int ht_call_commitment(const uint8_t salt[HT_SALT_LEN], const char *calling, const char *called,
		       uint8_t out[HT_COMMITMENT_LEN]) HT_WUR;

/*
 * The unsalted number-pair hint: the first two octets, big-endian, of
 * BLAKE2b-256("hoptrace/v1 number-hint" || 0x00 || calling || 0x00 || called).
 * The store keys records by it (docs/store.md says what it reveals).
 */
uint16_t ht_call_hint(const char *calling, const char *called);

/* ---- TraceRequest -------------------------------------------------------- */

typedef struct ht_request_info {
	uint8_t trace_id[HT_TRACE_ID_LEN];
	char initiator_id[HT_PROVIDER_ID_MAX + 1];
	uint64_t created_ms, expires_ms;
	uint64_t call_time_ms;
	uint32_t tolerance_ms;
	uint32_t hop_limit;
	uint8_t salt[HT_SALT_LEN];
	uint8_t commitment[HT_COMMITMENT_LEN];
	uint8_t answer_pk[HT_ANSWER_PK_LEN];
	uint16_t hint;      /* bits below hint_bits are zero */
	uint32_t hint_bits; /* 0..16 */
	char label[HT_LABEL_MAX + 1];
} ht_request_info;

/* What the initiator chooses; the rest is derived or random. */
typedef struct ht_request_params {
	const char *calling, *called; /* E.164 digits */
	uint64_t created_ms, expires_ms, call_time_ms;
	uint32_t tolerance_ms, hop_limit, hint_bits;
	const char *label;        /* NULL or text */
	const uint8_t *answer_pk; /* 32 octets */
	const uint8_t *trace_id;  /* NULL: random (vectors pass fixed values) */
	const uint8_t *salt;      /* NULL: random */
} ht_request_params;

/*
 * Builds and signs a TraceRequest envelope with the initiator's keys and
 * encoded certificate `cert` (whose provider ID becomes initiator_id; its
 * sign_key must be the initiator's). Checks every bound of section 11
 * (HT_E_INVAL otherwise; HT_E_WEAK_KEY for a small-order answer_pk; the
 * certificate's own parse error if it does not parse).
 */
int ht_request_build(const ht_request_params *p, const ht_keys *initiator, const uint8_t *cert,
		     size_t cert_len, uint8_t **out, size_t *out_len) HT_WUR;

typedef struct ht_request ht_request;

/*
 * Parses a TraceRequest envelope: envelope, kind, body, every field's bound,
 * critical fields; the initiator certificate parses and names initiator_id.
 * Does not check signatures, trust or time (ht_request_verify). When the
 * request parsed far enough to carry a usable answer key, *out is set even
 * on failure (so the refusal can be sealed to it) and the caller frees it.
 * Errors: the envelope's (HT_E_TOO_LARGE, HT_E_MALFORMED, HT_E_WRONG_KIND),
 * HT_E_WEAK_KEY (answer key of small order; *out stays NULL),
 * HT_E_UNSUPPORTED_CRITICAL, and HT_E_MALFORMED for any other bound,
 * including an initiator certificate that does not parse.
 * On such a partial object only ht_request_get's answer_pk (and trace_id,
 * when it was 16 octets: otherwise zeros), ht_request_id and
 * ht_request_encoded are meaningful; ht_request_cert may be NULL;
 * ht_request_verify returns HT_E_MALFORMED and ht_request_matches false.
 */
int ht_request_parse(const uint8_t *buf, size_t len, ht_request **out) HT_WUR;

/*
 * ht_request_parse, taking the initiator certificate's parse from `certs`
 * (NULL: none) when the same bytes were parsed before. Same results; with
 * ht_request_verify, a stream of requests from one initiator then costs one
 * signature check each, the request's: the certificate's verdict is kept
 * with the cached parse (see ht_cert_cache in hoptrace/cert.h).
 */
int ht_request_parse_cached(const uint8_t *buf, size_t len, ht_cert_cache *certs,
			    ht_request **out) HT_WUR;

/*
 * Best effort, for an Error about a request that does not parse: the
 * trace_id of a TraceRequest envelope whose body decodes and whose trace_id
 * is 16 octets. False otherwise. No other check.
 */
bool ht_request_peek_trace_id(const uint8_t *buf, size_t len, uint8_t out[HT_TRACE_ID_LEN]);

/*
 * Verifies a parsed request at `now_ms`: the initiator certificate against
 * `trust` at now_ms / 1000 (anchor, dates, revocation), its initiator role
 * (missing_role), the envelope signature, and the request's own times
 * (HT_E_EXPIRED when now_ms > expires_ms, or created_ms > now_ms +
 * HT_CLOCK_SKEW_MS). Certificate expiry is HT_E_EXPIRED too; *reason tells
 * them apart (HT_REASON_CERT_EXPIRED vs HT_REASON_EXPIRED). In that order:
 * the first failure is returned. `reason` may be NULL; it is set to
 * HT_REASON_UNSPECIFIED on success.
 */
int ht_request_verify(const ht_request *r, const ht_trust *trust, uint64_t now_ms,
		      ht_reason *reason) HT_WUR;

const ht_request_info *ht_request_get(const ht_request *r);
/* The message identity (section 5.5) that answers bind to. */
const uint8_t *ht_request_id(const ht_request *r);
/* The exact envelope bytes. */
const uint8_t *ht_request_encoded(const ht_request *r, size_t *len);
/* The parsed initiator certificate (NULL on a partial parse). */
const ht_cert *ht_request_cert(const ht_request *r);
/* Whether a record's number pair is the committed one. */
bool ht_request_matches(const ht_request *r, const char *calling, const char *called);
void ht_request_free(ht_request *r);

/* ---- HopAnswer ---------------------------------------------------------- */

typedef struct ht_matched_call {
	char upstream[HT_PROVIDER_ID_MAX + 1]; /* "" when originated here */
	bool originated_here;
	char customer_ref[HT_CUSTOMER_REF_MAX + 1];
	uint64_t record_time_ms;
	uint8_t attestation; /* 0 unknown, 1 A, 2 B, 3 C */
	bool has_origid;
	uint8_t origid[HT_ORIGID_LEN];
} ht_matched_call;

typedef struct ht_answer_info {
	uint8_t request_hash[HT_MSG_ID_LEN];
	char provider_id[HT_PROVIDER_ID_MAX + 1];
	char asked_by[HT_PROVIDER_ID_MAX + 1];
	uint32_t status; /* ht_answer_status */
	uint32_t reason; /* ht_reason, REFUSED and DEAD_END */
	uint64_t answered_ms;
	uint32_t hop;
	uint64_t window_time_ms;
	char upstream[HT_PROVIDER_ID_MAX + 1]; /* DEAD_END */
	size_t n_calls;
	ht_matched_call calls[HT_ANSWER_CALLS_MAX];
} ht_answer_info;

/*
 * Signs `a` as a HopAnswer envelope with the hop's keys and encoded
 * certificate (whose provider ID must be a->provider_id and sign key the
 * hop's: HT_E_INVAL otherwise). The certificate is only decoded, not
 * checked as ht_cert_parse does: it is the hop's own, checked at load.
 */
int ht_answer_sign(const ht_answer_info *a, const ht_keys *hop, const uint8_t *cert,
		   size_t cert_len, uint8_t **out, size_t *out_len) HT_WUR;

/*
 * ht_answer_sign with the hop's certificate already parsed (once, when the
 * hop loads it), so that nothing about it is decoded again per answer. The
 * same octets as ht_answer_sign with the certificate's encoding.
 */
int ht_answer_sign_cert(const ht_answer_info *a, const ht_keys *hop, const ht_cert *cert,
			uint8_t **out, size_t *out_len) HT_WUR;

/*
 * Whether `a` keeps the structural rules that ht_answer_sign checks (and
 * ht_answer_parse): so a caller can tell before it signs, elsewhere, that
 * the answer can be signed.
 */
bool ht_answer_info_valid(const ht_answer_info *a);

typedef struct ht_answer ht_answer;

/*
 * Parses a HopAnswer envelope (structure and bounds; no signature check):
 * provider IDs, status 1..4 with its fields (FOUND: 1..HT_ANSWER_CALLS_MAX
 * calls, no reason, no upstream; NOT_FOUND: nothing; REFUSED: a reason;
 * DEAD_END: an upstream and a reason), each call exactly one of upstream /
 * originated_here (customer_ref only with originated_here, at most 64
 * printable ASCII octets), attestation 0..3, origid 16 octets or none,
 * hop < HT_HOP_LIMIT_MAX, and the certificate parses and names provider_id.
 * HT_E_MALFORMED for any of these; HT_E_UNSUPPORTED_CRITICAL; the
 * envelope's errors. ht_answer_sign refuses the same with HT_E_INVAL.
 */
int ht_answer_parse(const uint8_t *buf, size_t len, ht_answer **out) HT_WUR;

/*
 * Verifies an answer: its certificate against `trust` at the answer's own
 * answered_ms (so evidence stays verifiable after the certificate expires),
 * provider_id is the certificate's, the signature, and request_hash is
 * `request_id` (HT_E_WRONG_REQUEST otherwise), in that order.
 */
int ht_answer_verify(const ht_answer *a, const ht_trust *trust,
		     const uint8_t request_id[HT_MSG_ID_LEN]) HT_WUR;

/*
 * Step 15 of spec 11.7.4: the answer is dated within its request's
 * lifetime, widened by the clock skew on both sides: created_ms -
 * HT_CLOCK_SKEW_MS <= answered_ms <= expires_ms + HT_CLOCK_SKEW_MS.
 * HT_E_BAD_TIME otherwise (a backdated or postdated answer).
 */
int ht_answer_check_time(const ht_answer_info *a, const ht_request_info *req) HT_WUR;

const ht_answer_info *ht_answer_get(const ht_answer *a);
const uint8_t *ht_answer_encoded(const ht_answer *a, size_t *len);
/* The parsed certificate of the answering hop. */
const ht_cert *ht_answer_cert(const ht_answer *a);
void ht_answer_free(ht_answer *a);

/* ---- Sealing (libsodium's sealed box, spec section 11) ------------------- */

/*
 * Seals `msg` to `pk`: epk || crypto_box(msg) with nonce BLAKE2b-192(epk || pk).
 * `eph_sk` NULL draws a fresh ephemeral key; test vectors pass one.
 */
int ht_seal(const uint8_t *msg, size_t len, const uint8_t pk[HT_ANSWER_PK_LEN],
	    const uint8_t *eph_sk, uint8_t **out, size_t *out_len) HT_WUR;

/*
 * Opens a sealed box; HT_E_DECRYPT if it does not authenticate (or is
 * shorter than HT_SEAL_OVERHEAD). ht_seal: HT_E_WEAK_KEY for a small-order
 * `pk`. Byte-compatible with crypto_box_seal / crypto_box_seal_open.
 */
int ht_unseal(const uint8_t *box, size_t len, const uint8_t pk[HT_ANSWER_PK_LEN],
	      const uint8_t sk[HT_ANSWER_SK_LEN], uint8_t **out, size_t *out_len) HT_WUR;

/* ---- Evidence bundle ---------------------------------------------------- */

/*
 * Encodes a bundle (version 1): the request envelope, the opening (E.164
 * digits, HT_E_INVAL otherwise), the answer envelopes as signed (unsealed),
 * and exported_ms (non-zero; written last, so that a bundle cut short shows).
 * HT_E_TOO_LARGE past HT_BUNDLE_ANSWERS_MAX answers or HT_BUNDLE_MAX octets.
 */
int ht_bundle_encode(const uint8_t *request, size_t request_len, const char *calling,
		     const char *called, const uint8_t *const *answers, const size_t *answer_lens,
		     size_t n_answers, uint64_t exported_ms, uint8_t **out, size_t *out_len) HT_WUR;

/* One node of a verified trace tree: an answer and where it hangs. */
typedef struct ht_bundle_node {
	ht_answer_info info;
	size_t answer; /* the answer's index in the bundle */
	/*
	 * Index in `nodes` of the FOUND answer it hangs from: the asker's, one
	 * hop below; for a dead end, its own provider's at the same hop. -1 at
	 * hop 0 (and for the initiator's own dead end at hop 0).
	 */
	ssize_t parent;
} ht_bundle_node;

typedef struct ht_bundle_report {
	ht_request_info request; /* set once the request parsed */
	char calling[HT_E164_BUF], called[HT_E164_BUF];
	size_t n_nodes;
	ht_bundle_node *nodes; /* malloc'd; by hop, then bundle order; NULL on failure */
	/* FOUND upstreams with neither an answer from above nor a dead end. */
	size_t n_open;
	bool origin_found; /* some path reaches a call originated here */
	/* On failure: the error, which answer (-1: the request or bundle), and
	 * a sentence naming what is wrong ("answer 3 (CARRIER-C, hop 2): signature
	 * does not verify"). Answers are counted from 0, in bundle order. */
	int error;
	ssize_t failed_answer;
	char why[256];
} ht_bundle_report;

/*
 * Verifies a bundle offline: its size and count bounds, version 1,
 * critical fields and a non-zero exported_ms; the request (initiator certificate and role at
 * created_ms, signature); the opening against the commitment and the
 * hint's top hint_bits; each answer (ht_answer_verify: certificate at
 * answered_ms, signature, binding to this request; then
 * ht_answer_check_time), every answer before the chain; and the chain: hop 0
 * was asked by the initiator; every other answer's asker has a FOUND answer
 * one hop lower that names it as an upstream, and its window time is that
 * call's record time; a dead end names an upstream of its provider's FOUND
 * answer at the same hop (or is the initiator's own at hop 0, naming the
 * hop-0 provider); no statement twice (same provider, hop and status; per
 * asker for refusals, per upstream for dead ends). Returns HT_OK or the
 * first failure, described in `rep`: the request's and opening's, then the
 * answers' in bundle order, then the chain's. Opening mismatches are
 * HT_E_BAD_SIGNATURE, chain failures HT_E_MALFORMED. `rep` is filled either
 * way; free it with ht_bundle_report_free.
 */
int ht_bundle_verify(const uint8_t *buf, size_t len, const ht_trust *trust,
		     ht_bundle_report *rep) HT_WUR;

/* Frees the report's nodes. */
void ht_bundle_report_free(ht_bundle_report *rep);

#endif
