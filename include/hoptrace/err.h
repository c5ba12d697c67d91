/* Error codes shared by every HopTrace module. */
#ifndef HOPTRACE_ERR_H
#define HOPTRACE_ERR_H

#if defined(__GNUC__) || defined(__clang__)
#define HT_WUR __attribute__((warn_unused_result))
#else
#define HT_WUR
#endif

/*
 * Every fallible function returns HT_OK (0) or one of these negative codes.
 * Numbers are stable within a release; names are what logs and JSON show.
 */
typedef enum ht_err {
	HT_OK = 0,
	HT_E_NOMEM = -1,                 /* out of memory */
	HT_E_INVAL = -2,                 /* invalid argument */
	HT_E_IO = -3,                    /* file or system error (see errno) */
	HT_E_MALFORMED = -4,             /* bytes or text do not parse */
	HT_E_TOO_LARGE = -5,             /* input exceeds a protocol bound */
	HT_E_BAD_SIGNATURE = -6,         /* signature does not verify */
	HT_E_UNKNOWN_ANCHOR = -7,        /* issuer is not a trusted anchor */
	HT_E_NOT_YET_VALID = -8,         /* certificate validity starts later */
	HT_E_EXPIRED = -9,               /* certificate validity has ended */
	HT_E_REVOKED = -10,              /* certificate serial is revoked */
	HT_E_MISSING_ROLE = -11,         /* certificate lacks a required role */
	HT_E_BAD_PROVIDER_ID = -12,      /* provider ID charset or length */
	HT_E_KEY_PERMS = -13,            /* secret key file readable by others */
	HT_E_WRONG_KIND = -14,           /* signed message of another kind */
	HT_E_UNSUPPORTED_CRITICAL = -15, /* critical field we do not know */
	HT_E_EXISTS = -16,               /* refusing to overwrite a file */
	HT_E_STALE = -17,                /* older than what we already hold */
	HT_E_CRYPTO = -18,               /* crypto library failure */
	HT_E_WRONG_KEY_TYPE = -19,       /* key file of another type */
	HT_E_WEAK_KEY = -20,             /* public key of small order or off the curve */
	HT_E_DECRYPT = -21,              /* ciphertext does not authenticate */
	HT_E_UNSUPPORTED_VERSION = -22,  /* the peer speaks another protocol version */
	HT_E_NOT_A_PEER = -23,           /* provider is not a configured peer */
	HT_E_KEY_MISMATCH = -24,         /* Noise static key is not the certificate's */
	HT_E_WRONG_PEER = -25,           /* authenticated as another provider than dialled */
	HT_E_WRONG_REQUEST = -26,        /* answer is bound to another request */
	HT_E_BAD_TIME = -27,             /* answer signed outside its request's lifetime */
} ht_err;

/* Longest code in the enum; tests iterate up to it. */
#define HT_E_LAST HT_E_BAD_TIME

/*
 * A sentence describing `err`, for people. Never NULL; unknown codes get a
 * generic sentence.
 */
const char *ht_strerror(int err);

/*
 * A short stable token for `err` ("expired", "revoked"...), for JSON output
 * and scripts. Never NULL.
 */
const char *ht_errname(int err);

#endif
