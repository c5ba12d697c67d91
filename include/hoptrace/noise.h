/*
 * The Noise Protocol Framework (revision 34), no I/O: bytes in, bytes out.
 *
 * Protocols Noise_P_25519_ChaChaPoly_BLAKE2b for the handshake patterns P
 * below. HopTrace's peer sessions use XX; the others are here so the
 * pattern engine is checked against every public test vector of this cipher
 * suite (tests/test_noise.c).
 *
 *   DH:     X25519; a DH whose output is all zeros (the remote key is of
 *           small order) fails with HT_E_WEAK_KEY.
 *   cipher: ChaCha20-Poly1305 (IETF), nonce = 4 zero bytes || 64-bit
 *           little-endian counter n; n = 2^64 - 1 is never used.
 *   hash:   BLAKE2b, HASHLEN 64, with HMAC (RFC 2104) and Noise's HKDF.
 *
 * No PSK modes, no rekey, no fallback. Every message, handshake or
 * transport, is at most HT_NOISE_MAX_MSG bytes; longer ones are refused.
 * Input and output buffers must not overlap.
 */
#ifndef HOPTRACE_NOISE_H
#define HOPTRACE_NOISE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/err.h"
#include "hoptrace/keys.h" /* HT_NOISE_KEY_LEN: X25519 and cipher keys, 32 bytes */

#define HT_NOISE_MAX_MSG  65535 /* longest message, handshake or transport */
#define HT_NOISE_TAG_LEN  16    /* Poly1305 tag added to each encryption */
#define HT_NOISE_HASH_LEN 64    /* BLAKE2b: the handshake hash */
/* Longest transport plaintext: HT_NOISE_MAX_MSG less the tag. */
#define HT_NOISE_MAX_PLAINTEXT (HT_NOISE_MAX_MSG - HT_NOISE_TAG_LEN)
/* Longest protocol name, with its NUL ("Noise_XX_25519_ChaChaPoly_BLAKE2b"). */
#define HT_NOISE_NAME_MAX 40

typedef enum ht_noise_pattern {
	HT_NOISE_NN = 1,
	HT_NOISE_KK,
	HT_NOISE_XK,
	HT_NOISE_IK,
	HT_NOISE_XX,
} ht_noise_pattern;

/*
 * A transport CipherState: key and next nonce. A cipher whose n is 2^64 - 1
 * (UINT64_MAX) is unusable; a failed decryption puts it there for good.
 */
typedef struct ht_noise_cipher {
	uint8_t k[HT_NOISE_KEY_LEN];
	uint64_t n;
} ht_noise_cipher;

/*
 * A HandshakeState. Public only so callers can keep it inline (no
 * allocation); every field is private to lib/noise.c. Holds secrets: end
 * with ht_noise_split() or ht_noise_wipe().
 */
typedef struct ht_noise_hs {
	/* SymmetricState */
	uint8_t ck[HT_NOISE_HASH_LEN];
	uint8_t h[HT_NOISE_HASH_LEN];
	ht_noise_cipher cs;
	bool has_key;
	/* Keys: local static and ephemeral, remote static and ephemeral */
	uint8_t s_sk[HT_NOISE_KEY_LEN], s_pk[HT_NOISE_KEY_LEN];
	uint8_t e_sk[HT_NOISE_KEY_LEN], e_pk[HT_NOISE_KEY_LEN];
	uint8_t rs[HT_NOISE_KEY_LEN], re[HT_NOISE_KEY_LEN];
	bool has_s, has_e, has_rs, has_re;
	bool e_preset; /* e set by ht_noise_set_ephemeral, used by the "e" token */
	/* Progress */
	uint8_t pattern;   /* ht_noise_pattern */
	uint8_t state;     /* private: active, done, split, dead */
	uint8_t msg_index; /* next message of the pattern */
	bool initiator;
} ht_noise_hs;

/*
 * Writes "Noise_P_25519_ChaChaPoly_BLAKE2b" for `p` into `buf` (NUL
 * terminated). HT_E_INVAL for an unknown pattern or `cap` too small
 * (HT_NOISE_NAME_MAX always suffices).
 */
int ht_noise_protocol_name(ht_noise_pattern p, char *buf, size_t cap) HT_WUR;

/*
 * Initialises `hs` as the initiator or responder of `p`, with `prologue`
 * (may be NULL when `prologue_len` is 0), the local static secret key `s_sk`
 * (32 bytes) and the remote static public key `rs` known in advance (32
 * bytes). Exactly the keys the pattern needs must be given, the others NULL:
 *
 *   pattern  initiator s_sk  initiator rs  responder s_sk  responder rs
 *   NN       -               -             -               -
 *   KK       yes             yes           yes             yes
 *   XK       yes             yes           yes             -
 *   IK       yes             yes           yes             -
 *   XX       yes             -             yes             -
 *
 * HT_E_INVAL otherwise. The ephemeral key is made fresh and random when the
 * first "e" is written, unless ht_noise_set_ephemeral() set it.
 */
int ht_noise_init(ht_noise_hs *hs, ht_noise_pattern p, bool initiator, const uint8_t *prologue,
		  size_t prologue_len, const uint8_t *s_sk, const uint8_t *rs) HT_WUR;

/*
 * Fixes the ephemeral secret key, for test vectors only: a reused ephemeral
 * destroys the handshake's security. Only before the ephemeral is used
 * (HT_E_INVAL afterwards).
 */
int ht_noise_set_ephemeral(ht_noise_hs *hs, const uint8_t e_sk[HT_NOISE_KEY_LEN]) HT_WUR;

/*
 * Writes the next handshake message, carrying `payload` (`len` bytes; NULL
 * when 0), into `out` (`cap` bytes); its length goes to *out_len.
 *
 * HT_E_INVAL when it is not this side's turn, the handshake is finished or
 * dead, or `cap` is too small; HT_E_TOO_LARGE when the message would exceed
 * HT_NOISE_MAX_MSG. These leave `hs` unchanged. Any other failure (a remote
 * key of small order: HT_E_WEAK_KEY) kills the handshake.
 */
int ht_noise_write_message(ht_noise_hs *hs, const uint8_t *payload, size_t len, uint8_t *out,
			   size_t cap, size_t *out_len) HT_WUR;

/*
 * Reads the peer's next handshake message `msg` (`len` bytes) and writes its
 * payload into `payload` (`cap` bytes; NULL when 0), its length to
 * *payload_len.
 *
 * Errors: HT_E_INVAL (not the peer's turn, handshake finished or dead, `cap`
 * too small), HT_E_TOO_LARGE (over HT_NOISE_MAX_MSG), HT_E_MALFORMED (too
 * short for the pattern), HT_E_DECRYPT (a key or payload does not
 * authenticate: tampered, or the peers disagree on keys or prologue),
 * HT_E_WEAK_KEY (a remote key of small order). Any failure kills the
 * handshake: it is wiped, and every later call on it fails.
 */
int ht_noise_read_message(ht_noise_hs *hs, const uint8_t *msg, size_t len, uint8_t *payload,
			  size_t cap, size_t *payload_len) HT_WUR;

/* True when the handshake is live and the next message is this side's to write. */
bool ht_noise_is_my_turn(const ht_noise_hs *hs);

/* True once the last handshake message has been written or read. */
bool ht_noise_done(const ht_noise_hs *hs);

/* True after a failure killed the handshake. */
bool ht_noise_failed(const ht_noise_hs *hs);

/*
 * The remote static public key (32 bytes), once known (given to
 * ht_noise_init or received); NULL before. It is authenticated only when the
 * handshake is done, and still to be checked against the peer's certificate.
 */
const uint8_t *ht_noise_remote_static(const ht_noise_hs *hs);

/*
 * The handshake hash h (64 bytes), identical on both sides, for channel
 * binding. Only once the handshake is done (also after split); HT_E_INVAL
 * before.
 */
int ht_noise_handshake_hash(const ht_noise_hs *hs, uint8_t out[HT_NOISE_HASH_LEN]) HT_WUR;

/*
 * Derives the transport ciphers once the handshake is done: the initiator
 * sends with the first (c1) and receives with the second (c2), the responder
 * the reverse; this function hands each side its own `send` and `recv`.
 * Then wipes every secret in `hs`; the handshake hash and remote static key
 * stay readable. Once only: HT_E_INVAL before the handshake is done or again.
 */
int ht_noise_split(ht_noise_hs *hs, ht_noise_cipher *send, ht_noise_cipher *recv) HT_WUR;

/*
 * Encrypts `len` bytes of `pt` with associated data `ad` (may be NULL when
 * `ad_len` is 0) into `out`: len + HT_NOISE_TAG_LEN bytes. HT_E_TOO_LARGE when
 * that exceeds HT_NOISE_MAX_MSG; HT_E_INVAL when `cap` is too small or the
 * cipher is unusable (n = 2^64 - 1). Errors leave `c` unchanged.
 */
int ht_noise_encrypt(ht_noise_cipher *c, const uint8_t *ad, size_t ad_len, const uint8_t *pt,
		     size_t len, uint8_t *out, size_t cap, size_t *out_len) HT_WUR;

/*
 * Decrypts the transport message `ct` (`len` bytes) with associated data `ad`
 * into `out`: len - HT_NOISE_TAG_LEN bytes. Errors: HT_E_TOO_LARGE (over
 * HT_NOISE_MAX_MSG), HT_E_MALFORMED (shorter than a tag), HT_E_INVAL (`cap`
 * too small, or the cipher is unusable), HT_E_DECRYPT (tampered,
 * replayed, reordered or dropped messages: nonces must match). Any failure
 * makes the cipher unusable for good (key wiped, n = 2^64 - 1): a session
 * that saw one bad message is over.
 */
int ht_noise_decrypt(ht_noise_cipher *c, const uint8_t *ad, size_t ad_len, const uint8_t *ct,
		     size_t len, uint8_t *out, size_t cap, size_t *out_len) HT_WUR;

/* Overwrites every secret in `hs` and leaves it dead. NULL is ignored. */
void ht_noise_wipe(ht_noise_hs *hs);

/* Overwrites `c` and leaves it unusable. NULL is ignored. */
void ht_noise_cipher_wipe(ht_noise_cipher *c);

#endif
