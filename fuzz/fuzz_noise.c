/*
 * Noise_XX handshake and transport messages from the network
 * (ht_noise_read_message, ht_noise_decrypt), with fixed keys and ephemerals:
 *
 *   1. a fresh responder reads the input as message 1; if it takes it, it
 *      must be able to answer with message 2 (or refuse a small-order key);
 *   2. an initiator that has sent message 1 reads the input as message 2; if
 *      it takes it, it must finish the handshake with message 3 and split;
 *   3. the initiator of a complete fixed run decrypts the input as the
 *      responder's first transport message.
 *
 * Any failure must leave the handshake or cipher dead. The seeds are the
 * fixed run's messages (fuzz_noise_run below); fuzz/corpus/fuzz_noise/ holds
 * them as written by a one-off program calling it.
 */
#include "fuzz.h"

#include <stdbool.h>
#include <string.h>

#include "hoptrace/noise.h"

#define PROLOGUE   "hoptrace fuzz"
#define M1_PAYLOAD "m1"
#define M2_PAYLOAD "m2 payload"
#define M3_PAYLOAD "m3 payload"
#define T1_PAYLOAD "first transport message"

static void pattern_key(uint8_t k[32], uint8_t start)
{
	for (size_t i = 0; i < 32; i++)
		k[i] = (uint8_t)(start + i);
}

static void make_side(ht_noise_hs *hs, bool initiator)
{
	uint8_t s[32], e[32];
	pattern_key(s, initiator ? 0x11 : 0x44);
	pattern_key(e, initiator ? 0x77 : 0xaa);
	if (ht_noise_init(hs, HT_NOISE_XX, initiator, (const uint8_t *)PROLOGUE, strlen(PROLOGUE),
			  s, NULL) != HT_OK ||
	    ht_noise_set_ephemeral(hs, e) != HT_OK)
		fuzz_fail("fuzz_noise: init failed");
}

static void must_write(ht_noise_hs *hs, const char *payload, uint8_t *out, size_t cap, size_t *len)
{
	if (ht_noise_write_message(hs, (const uint8_t *)payload, strlen(payload), out, cap, len) !=
	    HT_OK)
		fuzz_fail("fuzz_noise: write failed");
}

static void must_read(ht_noise_hs *hs, const uint8_t *msg, size_t len)
{
	static uint8_t payload[HT_NOISE_MAX_MSG];
	size_t got;
	if (ht_noise_read_message(hs, msg, len, payload, sizeof(payload), &got) != HT_OK)
		fuzz_fail("fuzz_noise: read failed");
}

/* The fixed run, computed once. */
static struct {
	bool ready;
	ht_noise_hs i_after_m1; /* the initiator waiting for message 2 */
	ht_noise_cipher i_recv; /* the initiator's receiving cipher */
	uint8_t m[4][256];      /* messages 1, 2, 3, then transport 1 */
	size_t m_len[4];
} run;

/*
 * Runs the fixed-key handshake and one transport message from the
 * responder: the seeds. Also used by the one-off seed writer.
 */
static void fuzz_noise_run(void)
{
	if (run.ready)
		return;
	fuzz_init();
	ht_noise_hs i, r;
	ht_noise_cipher i_send, r_send, r_recv;
	make_side(&i, true);
	make_side(&r, false);
	must_write(&i, M1_PAYLOAD, run.m[0], sizeof(run.m[0]), &run.m_len[0]);
	run.i_after_m1 = i;
	must_read(&r, run.m[0], run.m_len[0]);
	must_write(&r, M2_PAYLOAD, run.m[1], sizeof(run.m[1]), &run.m_len[1]);
	must_read(&i, run.m[1], run.m_len[1]);
	must_write(&i, M3_PAYLOAD, run.m[2], sizeof(run.m[2]), &run.m_len[2]);
	must_read(&r, run.m[2], run.m_len[2]);
	if (ht_noise_split(&i, &i_send, &run.i_recv) != HT_OK ||
	    ht_noise_split(&r, &r_send, &r_recv) != HT_OK)
		fuzz_fail("fuzz_noise: split failed");
	if (ht_noise_encrypt(&r_send, NULL, 0, (const uint8_t *)T1_PAYLOAD, strlen(T1_PAYLOAD),
			     run.m[3], sizeof(run.m[3]), &run.m_len[3]) != HT_OK)
		fuzz_fail("fuzz_noise: encrypt failed");
	ht_noise_wipe(&i);
	ht_noise_wipe(&r);
	run.ready = true;
}

static uint8_t out[HT_NOISE_MAX_MSG];
static uint8_t payload[HT_NOISE_MAX_MSG];

static void as_message_1(const uint8_t *data, size_t size)
{
	ht_noise_hs r;
	size_t got, len;
	make_side(&r, false);
	int rc = ht_noise_read_message(&r, data, size, payload, sizeof(payload), &got);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE);
		FUZZ_CHECK(size < 32 || size > HT_NOISE_MAX_MSG);
		FUZZ_CHECK(ht_noise_failed(&r));
		return;
	}
	/* e, then the payload in the clear. */
	FUZZ_CHECK(size >= 32 && got == size - 32);
	FUZZ_CHECK(memcmp(payload, data + 32, got) == 0);
	FUZZ_CHECK(ht_noise_is_my_turn(&r));
	rc = ht_noise_write_message(&r, (const uint8_t *)M2_PAYLOAD, strlen(M2_PAYLOAD), out,
				    sizeof(out), &len);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_WEAK_KEY);
		FUZZ_CHECK(ht_noise_failed(&r));
		return;
	}
	FUZZ_CHECK(len == 32 + 48 + strlen(M2_PAYLOAD) + 16);
	FUZZ_CHECK(!ht_noise_is_my_turn(&r) && !ht_noise_done(&r));
	ht_noise_wipe(&r);
}

static void as_message_2(const uint8_t *data, size_t size)
{
	ht_noise_hs i = run.i_after_m1;
	size_t got, len;
	int rc = ht_noise_read_message(&i, data, size, payload, sizeof(payload), &got);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE || rc == HT_E_DECRYPT ||
			   rc == HT_E_WEAK_KEY);
		FUZZ_CHECK(ht_noise_failed(&i));
		FUZZ_CHECK(ht_noise_remote_static(&i) == NULL);
		/* Dead for good: the genuine message 2 is refused now. */
		FUZZ_CHECK(ht_noise_read_message(&i, run.m[1], run.m_len[1], payload,
						 sizeof(payload), &got) == HT_E_INVAL);
		return;
	}
	/* e, encrypted s, encrypted payload. */
	FUZZ_CHECK(size >= 96 && got == size - 96);
	FUZZ_CHECK(ht_noise_remote_static(&i) != NULL);
	FUZZ_CHECK(ht_noise_is_my_turn(&i));
	if (ht_noise_write_message(&i, (const uint8_t *)M3_PAYLOAD, strlen(M3_PAYLOAD), out,
				   sizeof(out), &len) != HT_OK)
		fuzz_fail("fuzz_noise: message 3 after an accepted message 2");
	FUZZ_CHECK(ht_noise_done(&i));
	ht_noise_cipher send, recv;
	uint8_t h[HT_NOISE_HASH_LEN];
	FUZZ_CHECK(ht_noise_handshake_hash(&i, h) == HT_OK);
	FUZZ_CHECK(ht_noise_split(&i, &send, &recv) == HT_OK);
	ht_noise_cipher_wipe(&send);
	ht_noise_cipher_wipe(&recv);
	ht_noise_wipe(&i);
}

static void as_transport(const uint8_t *data, size_t size)
{
	ht_noise_cipher c = run.i_recv;
	size_t got;
	int rc = ht_noise_decrypt(&c, NULL, 0, data, size, payload, sizeof(payload), &got);
	if (rc != HT_OK) {
		FUZZ_CHECK(rc == HT_E_MALFORMED || rc == HT_E_TOO_LARGE || rc == HT_E_DECRYPT);
		FUZZ_CHECK(c.n == UINT64_MAX);
		return;
	}
	FUZZ_CHECK(size >= 16 && got == size - 16 && c.n == 1);
	/* Only the genuine message authenticates. */
	FUZZ_CHECK(size == run.m_len[3] && memcmp(data, run.m[3], size) == 0);
	FUZZ_CHECK(got == strlen(T1_PAYLOAD) && memcmp(payload, T1_PAYLOAD, got) == 0);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	fuzz_noise_run();
	as_message_1(data, size);
	as_message_2(data, size);
	as_transport(data, size);
	return 0;
}
