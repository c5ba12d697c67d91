/*
 * A peer session's protocol core, with no I/O: frames in, frames and events
 * out (spec/protocol.md, "Transport"). The daemon owns sockets and timers
 * and feeds this module; tests drive two sessions against each other in
 * memory.
 *
 * On the wire a connection is: each side's 8-octet preamble (magic and
 * protocol version), then frames of a 2-octet big-endian length and a Noise
 * message. The handshake is Noise_XX_25519_ChaChaPoly_BLAKE2b with the
 * prologue HT_SESSION_PROLOGUE; the two messages that carry a static key
 * carry the sender's certificate as their payload. After it, every frame is
 * one encrypted PeerMessage.
 */
#ifndef HOPTRACE_SESSION_H
#define HOPTRACE_SESSION_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hoptrace/cert.h"
#include "hoptrace/err.h"
#include "hoptrace/keys.h"
#include "hoptrace/trust.h"

#define HT_PROTOCOL_VERSION 1
#define HT_PREAMBLE_LEN     8
#define HT_SESSION_PROLOGUE "hoptrace/v1 session"
#define HT_FRAME_MAX        65535 /* Noise message octets in one frame */
#define HT_PAYLOAD_MAX      (HT_FRAME_MAX - 16)

/* This side's preamble: "HOPTRC", then the version as 2 octets big-endian. */
void ht_preamble(uint8_t out[HT_PREAMBLE_LEN]);

/*
 * Checks the peer's preamble. Returns HT_OK, HT_E_MALFORMED when the magic
 * is wrong (not a HopTrace peer), or HT_E_UNSUPPORTED_VERSION with the
 * peer's version in *version.
 */
int ht_preamble_check(const uint8_t in[HT_PREAMBLE_LEN], uint16_t *version) HT_WUR;

/*
 * Accumulates stream bytes into frames. Never holds more than one frame;
 * a frame is at most 2 + HT_FRAME_MAX octets, and a zero length is refused.
 */
typedef struct ht_frame_reader {
	uint8_t buf[2 + HT_FRAME_MAX];
	size_t have;
} ht_frame_reader;

/*
 * Consumes bytes from `data` (at most `len`; *used says how many). When a
 * frame is complete returns 1 with *msg and *msg_len pointing at its Noise
 * message inside the reader (valid until the next call); 0 when more bytes
 * are needed; HT_E_MALFORMED for a zero-length frame.
 */
int ht_frame_reader_push(ht_frame_reader *r, const uint8_t *data, size_t len, size_t *used,
			 const uint8_t **msg, size_t *msg_len) HT_WUR;

typedef struct ht_session ht_session;

/* Is `provider_id` a configured peer? Return HT_OK or HT_E_NOT_A_PEER. */
typedef int (*ht_peer_allowed_fn)(void *ud, const char *provider_id);

typedef struct ht_session_config {
	bool initiator;
	const ht_keys *keys; /* this provider's keys, with secrets */
	const uint8_t *cert; /* this provider's encoded certificate */
	size_t cert_len;
	const ht_trust *trust;      /* anchors and revocation lists */
	uint64_t now;               /* seconds, for certificate validity */
	const char *expected_peer;  /* initiator: the provider we dialled */
	ht_peer_allowed_fn allowed; /* responder: may this provider connect? */
	void *allowed_ud;
	const uint8_t *ephemeral_sk; /* test vectors only: a fixed ephemeral key */
} ht_session_config;

typedef enum ht_session_event {
	HT_SESSION_NONE = 0,        /* frame consumed, nothing to report */
	HT_SESSION_ESTABLISHED = 1, /* handshake done; the peer is authenticated */
	HT_SESSION_MESSAGE = 2,     /* a decrypted transport payload */
} ht_session_event;

/* Creates a session. The configuration's pointers must outlive it. */
int ht_session_new(ht_session **out, const ht_session_config *cfg) HT_WUR;

void ht_session_free(ht_session *s);

/*
 * The next frame this side must send during the handshake (2-octet length
 * included), or *frame = NULL when it is the peer's turn or the handshake is
 * over. Call after creating the session and after every received frame.
 */
int ht_session_pending(ht_session *s, uint8_t **frame, size_t *frame_len) HT_WUR;

/*
 * Processes one received Noise message (the frame without its length).
 * Handshake failures return the reason: HT_E_DECRYPT for bytes that do not
 * authenticate, certificate errors (HT_E_EXPIRED, HT_E_REVOKED...),
 * HT_E_KEY_MISMATCH when the Noise static key is not the certificate's,
 * HT_E_NOT_A_PEER, HT_E_WRONG_PEER. After any error the session is dead.
 * HT_SESSION_MESSAGE sets *payload (valid until the next call).
 */
int ht_session_recv(ht_session *s, const uint8_t *msg, size_t len, ht_session_event *ev,
		    const uint8_t **payload, size_t *payload_len) HT_WUR;

/* Encrypts one transport payload (at most HT_PAYLOAD_MAX) into a frame. */
int ht_session_send(ht_session *s, const uint8_t *payload, size_t len, uint8_t **frame,
		    size_t *frame_len) HT_WUR;

bool ht_session_established(const ht_session *s);

/* The authenticated peer's certificate fields, once established (else NULL). */
const ht_cert_info *ht_session_peer(const ht_session *s);

/*
 * Re-verifies the peer's certificate against `trust` at `now`, for a daemon
 * whose anchors or revocation list changed. HT_E_INVAL before establishment.
 */
int ht_session_recheck(const ht_session *s, const ht_trust *trust, uint64_t now) HT_WUR;

/* The handshake hash (64 octets), once established; for logs and binding. */
const uint8_t *ht_session_handshake_hash(const ht_session *s);

#endif
