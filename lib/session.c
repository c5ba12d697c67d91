#include "hoptrace/session.h"

#include <stdlib.h>
#include <string.h>

#include <sodium.h>

#include "hoptrace/noise.h"
#include "hoptrace/v1/peer.pb-c.h"
#include "wire.h"

static const uint8_t magic[6] = {'H', 'O', 'P', 'T', 'R', 'C'};

void ht_preamble(uint8_t out[HT_PREAMBLE_LEN])
{
	memcpy(out, magic, sizeof(magic));
	out[6] = (uint8_t)(HT_PROTOCOL_VERSION >> 8);
	out[7] = (uint8_t)HT_PROTOCOL_VERSION;
}

int ht_preamble_check(const uint8_t in[HT_PREAMBLE_LEN], uint16_t *version)
{
	if (memcmp(in, magic, sizeof(magic)) != 0)
		return HT_E_MALFORMED;
	*version = (uint16_t)(in[6] << 8 | in[7]);
	return *version == HT_PROTOCOL_VERSION ? HT_OK : HT_E_UNSUPPORTED_VERSION;
}

int ht_frame_reader_push(ht_frame_reader *r, const uint8_t *data, size_t len, size_t *used,
			 const uint8_t **msg, size_t *msg_len)
{
	size_t take = 0;
	/* A complete frame from the previous call has been handed out: drop it. */
	if (r->have >= 2 && r->have == 2 + (size_t)(r->buf[0] << 8 | r->buf[1]))
		r->have = 0;
	if (r->have < 2) {
		take = 2 - r->have < len ? 2 - r->have : len;
		memcpy(r->buf + r->have, data, take);
		r->have += take;
		if (r->have < 2) {
			*used = take;
			return 0;
		}
		if ((r->buf[0] << 8 | r->buf[1]) == 0) {
			*used = take;
			return HT_E_MALFORMED;
		}
	}
	size_t want = 2 + (size_t)(r->buf[0] << 8 | r->buf[1]) - r->have;
	size_t more = want < len - take ? want : len - take;
	memcpy(r->buf + r->have, data + take, more);
	r->have += more;
	*used = take + more;
	if (more < want)
		return 0;
	*msg = r->buf + 2;
	*msg_len = r->have - 2;
	return 1;
}

struct ht_session {
	ht_session_config cfg;
	ht_noise_hs hs;
	ht_noise_cipher tx, rx;
	bool established, dead;
	ht_cert *peer_cert;
	uint8_t hash[64];
	uint8_t buf[HT_FRAME_MAX]; /* plaintext of the last received message */
};

int ht_session_new(ht_session **out, const ht_session_config *cfg)
{
	if (!cfg->keys || !cfg->keys->has_secret || cfg->keys->role != HT_KEYS_PROVIDER ||
	    !cfg->cert || !cfg->trust || (cfg->initiator && !cfg->expected_peer) ||
	    (!cfg->initiator && !cfg->allowed))
		return HT_E_INVAL;
	ht_session *s = calloc(1, sizeof(*s));
	if (!s)
		return HT_E_NOMEM;
	s->cfg = *cfg;
	int rc = ht_noise_init(&s->hs, HT_NOISE_XX, cfg->initiator,
			       (const uint8_t *)HT_SESSION_PROLOGUE, strlen(HT_SESSION_PROLOGUE),
			       cfg->keys->noise_sk, NULL);
	if (rc == HT_OK && cfg->ephemeral_sk)
		rc = ht_noise_set_ephemeral(&s->hs, cfg->ephemeral_sk);
	if (rc != HT_OK) {
		ht_session_free(s);
		return rc;
	}
	*out = s;
	return HT_OK;
}

void ht_session_free(ht_session *s)
{
	if (!s)
		return;
	ht_noise_wipe(&s->hs);
	ht_cert_free(s->peer_cert);
	sodium_memzero(s, sizeof(*s));
	free(s);
}

/* Adds the 2-octet length to a Noise message written at out + 2. */
static int frame_of(const uint8_t *msg, size_t len, uint8_t **frame, size_t *frame_len)
{
	uint8_t *f = malloc(len + 2);
	if (!f)
		return HT_E_NOMEM;
	f[0] = (uint8_t)(len >> 8);
	f[1] = (uint8_t)len;
	memcpy(f + 2, msg, len);
	*frame = f;
	*frame_len = len + 2;
	return HT_OK;
}

static int fail(ht_session *s, int rc)
{
	s->dead = true;
	ht_noise_wipe(&s->hs);
	return rc;
}

static int finish(ht_session *s)
{
	int rc = ht_noise_handshake_hash(&s->hs, s->hash);
	if (rc == HT_OK)
		rc = ht_noise_split(&s->hs, &s->tx, &s->rx);
	if (rc != HT_OK)
		return fail(s, rc);
	s->established = true;
	return HT_OK;
}

int ht_session_pending(ht_session *s, uint8_t **frame, size_t *frame_len)
{
	*frame = NULL;
	*frame_len = 0;
	if (s->dead)
		return HT_E_INVAL;
	if (s->established || ht_noise_done(&s->hs) || !ht_noise_is_my_turn(&s->hs))
		return HT_OK;

	/*
	 * XX: message 1 (initiator) carries no static key, so no certificate;
	 * messages 2 and 3 carry the sender's static key and its certificate.
	 */
	bool with_cert = !s->cfg.initiator || ht_noise_remote_static(&s->hs) != NULL;
	uint8_t *payload = NULL;
	size_t plen = 0;
	int rc;
	if (with_cert) {
		Hoptrace__V1__HandshakePayload hp = HOPTRACE__V1__HANDSHAKE_PAYLOAD__INIT;
		hp.certificate.data = (uint8_t *)s->cfg.cert;
		hp.certificate.len = s->cfg.cert_len;
		if ((rc = ht__pack(&hp.base, &payload, &plen)) != HT_OK)
			return fail(s, rc);
	}
	size_t n;
	rc = ht_noise_write_message(&s->hs, payload, plen, s->buf, sizeof(s->buf), &n);
	free(payload);
	if (rc != HT_OK)
		return fail(s, rc);
	if ((rc = frame_of(s->buf, n, frame, frame_len)) != HT_OK)
		return fail(s, rc);
	if (ht_noise_done(&s->hs) && (rc = finish(s)) != HT_OK) {
		free(*frame);
		*frame = NULL;
		return rc;
	}
	return HT_OK;
}

/* Checks the certificate in a handshake payload against the Noise key. */
static int check_peer(ht_session *s, const uint8_t *payload, size_t len)
{
	ProtobufCMessage *m;
	int rc = ht__unpack(&hoptrace__v1__handshake_payload__descriptor, payload, len,
			    HT_FRAME_MAX, &m);
	if (rc != HT_OK)
		return rc;
	Hoptrace__V1__HandshakePayload *hp = (Hoptrace__V1__HandshakePayload *)m;
	ht_cert *c = NULL;
	rc = ht_cert_parse(hp->certificate.data, hp->certificate.len, &c);
	protobuf_c_message_free_unpacked(m, NULL);
	if (rc != HT_OK)
		return rc;
	const ht_cert_info *ci = ht_cert_get_info(c);
	const uint8_t *rs = ht_noise_remote_static(&s->hs);
	if ((rc = ht_trust_verify_cert(s->cfg.trust, c, s->cfg.now, 0)) != HT_OK)
		goto out;
	if (!rs || sodium_memcmp(rs, ci->noise_key, HT_NOISE_KEY_LEN) != 0) {
		rc = HT_E_KEY_MISMATCH;
		goto out;
	}
	if (s->cfg.initiator) {
		if (strcmp(ci->provider_id, s->cfg.expected_peer) != 0)
			rc = HT_E_WRONG_PEER;
	} else {
		rc = s->cfg.allowed(s->cfg.allowed_ud, ci->provider_id);
	}
out:
	if (rc == HT_OK)
		s->peer_cert = c;
	else
		ht_cert_free(c);
	return rc;
}

int ht_session_recv(ht_session *s, const uint8_t *msg, size_t len, ht_session_event *ev,
		    const uint8_t **payload, size_t *payload_len)
{
	*ev = HT_SESSION_NONE;
	if (s->dead)
		return HT_E_INVAL;
	size_t n;
	int rc;
	if (s->established) {
		rc = ht_noise_decrypt(&s->rx, NULL, 0, msg, len, s->buf, sizeof(s->buf), &n);
		if (rc != HT_OK)
			return fail(s, rc);
		*ev = HT_SESSION_MESSAGE;
		*payload = s->buf;
		*payload_len = n;
		return HT_OK;
	}
	bool had_rs = ht_noise_remote_static(&s->hs) != NULL;
	rc = ht_noise_read_message(&s->hs, msg, len, s->buf, sizeof(s->buf), &n);
	if (rc != HT_OK)
		return fail(s, rc);
	if (!had_rs && ht_noise_remote_static(&s->hs)) {
		if ((rc = check_peer(s, s->buf, n)) != HT_OK)
			return fail(s, rc);
	} else if (n != 0) {
		return fail(s, HT_E_MALFORMED); /* message 1 has no payload */
	}
	if (ht_noise_done(&s->hs)) {
		if ((rc = finish(s)) != HT_OK)
			return rc;
		*ev = HT_SESSION_ESTABLISHED;
	}
	return HT_OK;
}

int ht_session_send(ht_session *s, const uint8_t *payload, size_t len, uint8_t **frame,
		    size_t *frame_len)
{
	if (s->dead || !s->established)
		return HT_E_INVAL;
	if (len > HT_PAYLOAD_MAX)
		return HT_E_TOO_LARGE;
	uint8_t *f = malloc(len + 16 + 2);
	if (!f)
		return HT_E_NOMEM;
	size_t n;
	int rc = ht_noise_encrypt(&s->tx, NULL, 0, payload, len, f + 2, len + 16, &n);
	if (rc != HT_OK) {
		free(f);
		return fail(s, rc);
	}
	f[0] = (uint8_t)(n >> 8);
	f[1] = (uint8_t)n;
	*frame = f;
	*frame_len = n + 2;
	return HT_OK;
}

bool ht_session_established(const ht_session *s)
{
	return s->established && !s->dead;
}

const ht_cert_info *ht_session_peer(const ht_session *s)
{
	return s->established && s->peer_cert ? ht_cert_get_info(s->peer_cert) : NULL;
}

int ht_session_recheck(const ht_session *s, const ht_trust *trust, uint64_t now)
{
	if (!s->established || !s->peer_cert)
		return HT_E_INVAL;
	return ht_trust_verify_cert(trust, s->peer_cert, now, 0);
}

const uint8_t *ht_session_handshake_hash(const ht_session *s)
{
	return s->established ? s->hash : NULL;
}
