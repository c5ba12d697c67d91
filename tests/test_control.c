/* The control protocol: codec, text rules, server checks, framing, reader. */
#include "testutil.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "hoptrace/control.h"
#include "hoptrace/v1/control.pb-c.h"

/* Encodes `r` and decodes it again into `out`, asserting both succeed. */
static void response_round_trip(const ht_ctl_response *r, ht_ctl_response *out)
{
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_response(r, &buf, &len), HT_OK);
	assert_true(len <= HT_CTL_MAX_FRAME);
	assert_int_equal(ht_ctl_decode_response(buf, len, out), HT_OK);
	free(buf);
}

static void assert_status_equal(const ht_ctl_status *a, const ht_ctl_status *b)
{
	assert_string_equal(a->daemon_version, b->daemon_version);
	assert_string_equal(a->provider_id, b->provider_id);
	assert_true(a->uptime_s == b->uptime_s && a->peers_up == b->peers_up &&
		    a->peers_total == b->peers_total && a->msgs_in == b->msgs_in &&
		    a->msgs_out == b->msgs_out && a->bytes_in == b->bytes_in &&
		    a->bytes_out == b->bytes_out && a->handshakes_ok == b->handshakes_ok &&
		    a->handshakes_failed == b->handshakes_failed &&
		    a->conns_refused == b->conns_refused);
}

static void assert_peer_equal(const ht_ctl_peer *a, const ht_ctl_peer *b)
{
	assert_string_equal(a->provider_id, b->provider_id);
	assert_string_equal(a->address, b->address);
	assert_string_equal(a->state, b->state);
	assert_string_equal(a->last_error, b->last_error);
	assert_true(a->since_ms == b->since_ms && a->last_seen_ms == b->last_seen_ms &&
		    a->rtt_us == b->rtt_us && a->msgs_in == b->msgs_in &&
		    a->msgs_out == b->msgs_out && a->bytes_in == b->bytes_in &&
		    a->bytes_out == b->bytes_out);
}

/* `c` repeated `n` times, NUL-terminated, into `dst`. */
static void fill(char *dst, char c, size_t n)
{
	memset(dst, c, n);
	dst[n] = 0;
}

/* A peer with every field at its longest and every number at its largest. */
static void widest_peer(ht_ctl_peer *p)
{
	memset(p, 0, sizeof(*p));
	fill(p->provider_id, 'p', HT_PROVIDER_ID_MAX);
	fill(p->address, 'a', HT_CTL_ADDRESS_MAX);
	fill(p->state, 's', HT_CTL_STATE_MAX);
	fill(p->last_error, 'e', HT_CTL_DETAIL_MAX);
	p->since_ms = p->last_seen_ms = p->rtt_us = UINT64_MAX;
	p->msgs_in = p->msgs_out = p->bytes_in = p->bytes_out = UINT64_MAX;
}

/* Packs a generated message into a malloc'd buffer. */
static uint8_t *pack(const ProtobufCMessage *m, size_t *len)
{
	*len = protobuf_c_message_get_packed_size(m);
	uint8_t *buf = malloc(*len ? *len : 1);
	assert_non_null(buf);
	assert_int_equal(protobuf_c_message_pack(m, buf), *len);
	return buf;
}

static void test_request_round_trip(void **state)
{
	(void)state;
	static const ht_ctl_type types[] = {HT_CTL_NONE, HT_CTL_HELLO, HT_CTL_STATUS, HT_CTL_PEERS};
	static const uint32_t versions[] = {HT_CTL_VERSION, 0, 2, UINT32_MAX};
	for (size_t t = 0; t < 4; t++)
		for (size_t v = 0; v < 4; v++) {
			ht_ctl_request req = {.version = versions[v], .type = types[t]}, out;
			uint8_t *buf;
			size_t len;
			assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
			assert_int_equal(ht_ctl_decode_request(buf, len, &out), HT_OK);
			assert_int_equal(out.version, versions[v]);
			assert_int_equal(out.type, types[t]);
			free(buf);
		}

	/* The hello of version 1, byte for byte: version 1, empty field 8. */
	ht_ctl_request hello = {.version = 1, .type = HT_CTL_HELLO};
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_request(&hello, &buf, &len), HT_OK);
	static const uint8_t want[] = {0x08, 0x01, 0x42, 0x00};
	assert_int_equal(len, sizeof(want));
	assert_memory_equal(buf, want, sizeof(want));
	free(buf);

	/* An empty body is a request of version 0 with no command. */
	ht_ctl_request out;
	assert_int_equal(ht_ctl_decode_request(NULL, 0, &out), HT_OK);
	assert_int_equal(out.version, 0);
	assert_int_equal(out.type, HT_CTL_NONE);

	ht_ctl_request bad = {.version = 1, .type = (ht_ctl_type)11};
	assert_int_equal(ht_ctl_encode_request(&bad, &buf, &len), HT_E_INVAL);
}

static void test_response_round_trip_hello_and_errors(void **state)
{
	(void)state;
	static const int32_t results[] = {
		HT_CTL_RESULT_OK,
		HT_CTL_RESULT_ERROR,
		HT_CTL_RESULT_UNSUPPORTED_VERSION,
		HT_CTL_RESULT_UNKNOWN_REQUEST,
		HT_CTL_RESULT_MALFORMED,
		HT_CTL_RESULT_HELLO_REQUIRED,
		42, /* a newer server's code */
		-1,
	};
	for (size_t i = 0; i < sizeof(results) / sizeof(results[0]); i++) {
		ht_ctl_response r, out;
		ht_ctl_response_set(&r, results[i],
				    i ? "caf\xc3\xa9 \xf0\x9f\x93\x9e failed" : NULL);
		r.type = i == 0 ? HT_CTL_HELLO : HT_CTL_NONE;
		response_round_trip(&r, &out);
		assert_int_equal(out.version, HT_CTL_VERSION);
		assert_int_equal(out.result, results[i]);
		assert_string_equal(out.detail, r.detail);
		assert_int_equal(out.type, r.type);
		assert_int_equal(out.n_peers, 0);
		assert_null(out.peers);
		ht_ctl_response_clear(&out);
	}

	/* An empty body: version 0, OK, no command. */
	ht_ctl_response out;
	assert_int_equal(ht_ctl_decode_response((const uint8_t *)"", 0, &out), HT_OK);
	assert_int_equal(out.version, 0);
	assert_int_equal(out.result, HT_CTL_RESULT_OK);
	assert_int_equal(out.type, HT_CTL_NONE);
}

static void test_status_round_trip(void **state)
{
	(void)state;
	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_STATUS;
	snprintf(r.status.daemon_version, sizeof(r.status.daemon_version), "0.1.0");
	snprintf(r.status.provider_id, sizeof(r.status.provider_id), "carrier-a");
	r.status.uptime_s = 7380;
	r.status.peers_up = 2;
	r.status.peers_total = 3;
	r.status.msgs_in = 1;
	r.status.msgs_out = 2;
	r.status.bytes_in = 3;
	r.status.bytes_out = 4;
	r.status.handshakes_ok = 5;
	r.status.handshakes_failed = 6;
	r.status.conns_refused = 7;
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_STATUS);
	assert_status_equal(&out.status, &r.status);
	ht_ctl_response_clear(&out);

	/* Longest strings, largest numbers, and the empty provider ID. */
	fill(r.status.daemon_version, 'v', HT_CTL_DAEMON_VERSION_MAX);
	fill(r.status.provider_id, 'x', HT_PROVIDER_ID_MAX);
	r.status.uptime_s = r.status.msgs_in = r.status.msgs_out = UINT64_MAX;
	r.status.bytes_in = r.status.bytes_out = r.status.conns_refused = UINT64_MAX;
	r.status.handshakes_ok = r.status.handshakes_failed = UINT64_MAX;
	r.status.peers_up = r.status.peers_total = UINT32_MAX;
	response_round_trip(&r, &out);
	assert_status_equal(&out.status, &r.status);
	ht_ctl_response_clear(&out);
	r.status.provider_id[0] = 0;
	response_round_trip(&r, &out);
	assert_status_equal(&out.status, &r.status);
	ht_ctl_response_clear(&out);
}

static void test_peers_round_trip(void **state)
{
	(void)state;
	ht_ctl_peer peers[3];
	memset(peers, 0, sizeof(peers));
	snprintf(peers[0].provider_id, sizeof(peers[0].provider_id), "carrier-b");
	snprintf(peers[0].address, sizeof(peers[0].address), "192.0.2.1:7443");
	snprintf(peers[0].state, sizeof(peers[0].state), HT_CTL_STATE_ESTABLISHED);
	peers[0].since_ms = 1767225600123;
	peers[0].last_seen_ms = 1767225660000;
	peers[0].rtt_us = 850;
	peers[0].msgs_in = 10;
	peers[0].msgs_out = 20;
	peers[0].bytes_in = 300;
	peers[0].bytes_out = 400;
	snprintf(peers[1].address, sizeof(peers[1].address), "[2001:db8::1]:7443");
	snprintf(peers[1].state, sizeof(peers[1].state), HT_CTL_STATE_BACKOFF);
	snprintf(peers[1].last_error, sizeof(peers[1].last_error),
		 "handshake: certificate expired \xe2\x80\x94 renew it");
	widest_peer(&peers[2]);

	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_PEERS;
	r.peers = peers;
	r.n_peers = 3;
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_PEERS);
	assert_int_equal(out.n_peers, 3);
	for (size_t i = 0; i < 3; i++)
		assert_peer_equal(&out.peers[i], &peers[i]);
	ht_ctl_response_clear(&out);
	assert_null(out.peers);

	/* No peers: an empty list, nothing allocated. */
	r.n_peers = 0;
	r.peers = NULL;
	response_round_trip(&r, &out);
	assert_int_equal(out.type, HT_CTL_PEERS);
	assert_int_equal(out.n_peers, 0);
	assert_null(out.peers);

	/* Peers announced but missing. */
	uint8_t *buf;
	size_t len;
	r.n_peers = 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
}

/*
 * HT_CTL_MAX_PEERS of the widest peers, with the longest detail and the
 * widest result, still fit one frame; one more peer is refused both ways.
 */
static void test_peers_limit(void **state)
{
	(void)state;
	ht_ctl_peer *peers = calloc(HT_CTL_MAX_PEERS + 1, sizeof(*peers));
	assert_non_null(peers);
	for (size_t i = 0; i <= HT_CTL_MAX_PEERS; i++)
		widest_peer(&peers[i]);
	ht_ctl_response r, out;
	ht_ctl_response_set(&r, -1, NULL); /* a negative enum takes 10 octets */
	fill(r.detail, 'd', HT_CTL_DETAIL_MAX);
	r.version = UINT32_MAX;
	r.type = HT_CTL_PEERS;
	r.peers = peers;
	r.n_peers = HT_CTL_MAX_PEERS;
	response_round_trip(&r, &out);
	assert_int_equal(out.n_peers, HT_CTL_MAX_PEERS);
	assert_peer_equal(&out.peers[HT_CTL_MAX_PEERS - 1], &peers[0]);
	ht_ctl_response_clear(&out);

	uint8_t *buf;
	size_t len;
	r.n_peers = HT_CTL_MAX_PEERS + 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_TOO_LARGE);

	/* Hand-built: small peers, one too many. */
	Hoptrace__V1__PeerInfo info = HOPTRACE__V1__PEER_INFO__INIT;
	Hoptrace__V1__PeerInfo **ptrs = calloc(HT_CTL_MAX_PEERS + 1, sizeof(*ptrs));
	assert_non_null(ptrs);
	for (size_t i = 0; i <= HT_CTL_MAX_PEERS; i++)
		ptrs[i] = &info;
	Hoptrace__V1__PeersResponse pr = HOPTRACE__V1__PEERS_RESPONSE__INIT;
	pr.peers = ptrs;
	pr.n_peers = HT_CTL_MAX_PEERS + 1;
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	m.version = 1;
	m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_PEERS;
	m.peers = &pr;
	buf = pack(&m.base, &len);
	assert_int_equal(ht_ctl_decode_response(buf, len, &out), HT_E_TOO_LARGE);
	assert_null(out.peers);
	free(buf);
	pr.n_peers = HT_CTL_MAX_PEERS;
	buf = pack(&m.base, &len);
	assert_int_equal(ht_ctl_decode_response(buf, len, &out), HT_OK);
	assert_int_equal(out.n_peers, HT_CTL_MAX_PEERS);
	ht_ctl_response_clear(&out);
	free(buf);
	free(ptrs);
	free(peers);
}

/* A stream of frames: three responses, an empty frame, a request. */
static uint8_t *make_stream(size_t *len, uint8_t **bodies, size_t *body_lens, size_t *n)
{
	ht_ctl_peer p;
	widest_peer(&p);
	ht_ctl_response r;
	ht_ctl_request q = {.version = 1, .type = HT_CTL_PEERS};
	uint8_t *stream = NULL;
	*len = 0;
	*n = 0;
	for (int i = 0; i < 5; i++) {
		uint8_t *body;
		size_t blen;
		if (i == 3) {
			body = malloc(1);
			assert_non_null(body);
			blen = 0;
		} else if (i == 4) {
			assert_int_equal(ht_ctl_encode_request(&q, &body, &blen), HT_OK);
		} else {
			ht_ctl_response_set(&r, HT_CTL_RESULT_OK, i == 1 ? "second" : NULL);
			r.type = HT_CTL_PEERS;
			r.peers = &p;
			r.n_peers = i == 2 ? 1 : 0;
			assert_int_equal(ht_ctl_encode_response(&r, &body, &blen), HT_OK);
		}
		uint8_t *frame;
		size_t flen;
		assert_int_equal(ht_ctl_frame(body, blen, &frame, &flen), HT_OK);
		assert_int_equal(flen, blen + HT_CTL_PREFIX_LEN);
		stream = realloc(stream, *len + flen);
		assert_non_null(stream);
		memcpy(stream + *len, frame, flen);
		*len += flen;
		free(frame);
		bodies[*n] = body;
		body_lens[*n] = blen;
		(*n)++;
	}
	return stream;
}

/* Feeds `stream` in chunks of `chunk` octets and checks every frame. */
static void read_stream(const uint8_t *stream, size_t len, size_t chunk, uint8_t **bodies,
			const size_t *body_lens, size_t n)
{
	ht_ctl_reader r;
	size_t got = 0, off = 0;
	ht_ctl_reader_init(&r);
	assert_false(ht_ctl_reader_partial(&r));
	while (off < len) {
		size_t c = len - off < chunk ? len - off : chunk;
		const uint8_t *p = stream + off;
		while (c > 0) {
			const uint8_t *body;
			size_t blen, used;
			assert_int_equal(ht_ctl_reader_feed(&r, p, c, &used), HT_OK);
			assert_true(used <= c);
			p += used;
			c -= used;
			off += used;
			if (ht_ctl_reader_frame(&r, &body, &blen)) {
				assert_true(got < n);
				assert_non_null(body);
				assert_int_equal(blen, body_lens[got]);
				if (blen)
					assert_memory_equal(body, bodies[got], blen);
				got++;
				assert_false(ht_ctl_reader_partial(&r));
			} else {
				assert_int_equal(c, 0);
				assert_true(ht_ctl_reader_partial(&r));
			}
		}
	}
	assert_int_equal(got, n);
	ht_ctl_reader_free(&r);
}

static void test_reader_one_byte_at_a_time(void **state)
{
	(void)state;
	uint8_t *bodies[5];
	size_t lens[5], n, len;
	uint8_t *stream = make_stream(&len, bodies, lens, &n);
	read_stream(stream, len, 1, bodies, lens, n);
	for (size_t i = 0; i < n; i++)
		free(bodies[i]);
	free(stream);
}

static void test_reader_chunks(void **state)
{
	(void)state;
	uint8_t *bodies[5];
	size_t lens[5], n, len;
	uint8_t *stream = make_stream(&len, bodies, lens, &n);
	static const size_t chunks[] = {2, 3, 5, 7, 100, 4096, 1 << 20};
	for (size_t i = 0; i < sizeof(chunks) / sizeof(chunks[0]); i++)
		read_stream(stream, len, chunks[i], bodies, lens, n);
	for (size_t i = 0; i < n; i++)
		free(bodies[i]);
	free(stream);
}

static void test_reader_oversize(void **state)
{
	(void)state;
	static const uint8_t over[] = {0x00, 0x10, 0x00, 0x01, 0xaa}; /* 1 MiB + 1 */
	static const uint8_t huge[] = {0xff, 0xff, 0xff, 0xff};
	ht_ctl_reader r;
	size_t used;
	const uint8_t *body;
	size_t blen;

	ht_ctl_reader_init(&r);
	assert_int_equal(ht_ctl_reader_feed(&r, over, sizeof(over), &used), HT_E_TOO_LARGE);
	assert_int_equal(used, 4);
	assert_null(r.buf); /* nothing allocated for it */
	assert_false(ht_ctl_reader_frame(&r, &body, &blen));
	/* Sticky: the stream cannot be resynchronised. */
	assert_int_equal(ht_ctl_reader_feed(&r, over + 4, 1, &used), HT_E_TOO_LARGE);
	assert_int_equal(used, 0);
	ht_ctl_reader_free(&r);

	/* The same one octet at a time. */
	ht_ctl_reader_init(&r);
	for (int i = 0; i < 3; i++) {
		assert_int_equal(ht_ctl_reader_feed(&r, &huge[i], 1, &used), HT_OK);
		assert_int_equal(used, 1);
	}
	assert_int_equal(ht_ctl_reader_feed(&r, &huge[3], 1, &used), HT_E_TOO_LARGE);
	assert_null(r.buf);
	ht_ctl_reader_free(&r);

	/* Exactly the limit is accepted. */
	static const uint8_t max[] = {0x00, 0x10, 0x00, 0x00};
	uint8_t *big = calloc(1, HT_CTL_MAX_FRAME);
	assert_non_null(big);
	ht_ctl_reader_init(&r);
	assert_int_equal(ht_ctl_reader_feed(&r, max, 4, &used), HT_OK);
	assert_int_equal(ht_ctl_reader_feed(&r, big, HT_CTL_MAX_FRAME, &used), HT_OK);
	assert_int_equal(used, HT_CTL_MAX_FRAME);
	assert_true(ht_ctl_reader_frame(&r, &body, &blen));
	assert_int_equal(blen, HT_CTL_MAX_FRAME);
	/* After a large frame the buffer is released. */
	assert_int_equal(ht_ctl_reader_feed(&r, max, 1, &used), HT_OK);
	assert_null(r.buf);
	ht_ctl_reader_free(&r);
	free(big);

	/* The frame writer and the decoders have the same limit. */
	uint8_t *out;
	size_t out_len;
	ht_ctl_request q;
	ht_ctl_response resp;
	uint8_t *zeros = calloc(1, HT_CTL_MAX_FRAME + 1);
	assert_non_null(zeros);
	assert_int_equal(ht_ctl_frame(zeros, HT_CTL_MAX_FRAME + 1, &out, &out_len), HT_E_TOO_LARGE);
	assert_int_equal(ht_ctl_decode_request(zeros, HT_CTL_MAX_FRAME + 1, &q), HT_E_TOO_LARGE);
	assert_int_equal(ht_ctl_decode_response(zeros, HT_CTL_MAX_FRAME + 1, &resp),
			 HT_E_TOO_LARGE);
	free(zeros);
}

static void test_frame(void **state)
{
	(void)state;
	uint8_t body[300];
	uint8_t *out;
	size_t len;
	memset(body, 0x5a, sizeof(body));
	assert_int_equal(ht_ctl_frame(body, sizeof(body), &out, &len), HT_OK);
	assert_int_equal(len, 304);
	static const uint8_t prefix[] = {0x00, 0x00, 0x01, 0x2c};
	assert_memory_equal(out, prefix, 4);
	assert_memory_equal(out + 4, body, sizeof(body));
	free(out);
	assert_int_equal(ht_ctl_frame(NULL, 0, &out, &len), HT_OK);
	assert_int_equal(len, 4);
	static const uint8_t zero[] = {0, 0, 0, 0};
	assert_memory_equal(out, zero, 4);
	free(out);
	assert_int_equal(ht_ctl_frame(NULL, 1, &out, &len), HT_E_INVAL);
}

static void test_truncated_and_garbage(void **state)
{
	(void)state;
	ht_ctl_peer p;
	widest_peer(&p);
	ht_ctl_response r, out;
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, "some detail");
	r.type = HT_CTL_PEERS;
	r.peers = &p;
	r.n_peers = 1;
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_OK);
	/* Every proper prefix cuts a record short (the peers record is last). */
	size_t malformed = 0;
	for (size_t cut = 0; cut < len; cut++) {
		int rc = ht_ctl_decode_response(buf, cut, &out);
		assert_true(rc == HT_OK || rc == HT_E_MALFORMED);
		if (rc == HT_OK)
			assert_int_not_equal(out.type, HT_CTL_PEERS);
		else
			assert_null(out.peers);
		malformed += rc == HT_E_MALFORMED;
		ht_ctl_response_clear(&out);
	}
	assert_true(malformed >= len - 3); /* only cuts between records decode */
	free(buf);

	static const uint8_t garbage[][6] = {
		{0xff, 0xff, 0xff, 0xff, 0xff, 0xff}, /* a varint tag that does not end */
		{0x0b, 0x00, 0x00, 0x00, 0x00, 0x00}, /* wire type 3 (group start) */
		{0x00, 0x01, 0x02, 0x03, 0x04, 0x05}, /* field number 0 */
		{0x1a, 0x7f, 0x41, 0x41, 0x41, 0x41}, /* length past the end */
		{0x08, 0x01, 0x42, 0x05, 0x00, 0x00}, /* hello body runs past the end */
	};
	for (size_t i = 0; i < sizeof(garbage) / sizeof(garbage[0]); i++) {
		ht_ctl_request q;
		assert_int_equal(ht_ctl_decode_response(garbage[i], 6, &out), HT_E_MALFORMED);
		assert_int_equal(ht_ctl_decode_request(garbage[i], 6, &q), HT_E_MALFORMED);
	}
	/* A known field with the wrong wire type: version as bytes. */
	static const uint8_t wrong_type[] = {0x0a, 0x01, 0x01};
	ht_ctl_request q;
	assert_int_equal(ht_ctl_decode_request(wrong_type, sizeof(wrong_type), &q), HT_E_MALFORMED);
}

/* Decodes a hand-built response with one text field set to `len` octets of `s`. */
static int decode_with(int which, const char *s, size_t len)
{
	Hoptrace__V1__PeerInfo info = HOPTRACE__V1__PEER_INFO__INIT;
	Hoptrace__V1__PeerInfo *ptrs[1] = {&info};
	Hoptrace__V1__PeersResponse pr = HOPTRACE__V1__PEERS_RESPONSE__INIT;
	Hoptrace__V1__StatusResponse st = HOPTRACE__V1__STATUS_RESPONSE__INIT;
	Hoptrace__V1__ControlResponse m = HOPTRACE__V1__CONTROL_RESPONSE__INIT;
	ProtobufCBinaryData b = {len, (uint8_t *)s};
	m.version = 1;
	pr.peers = ptrs;
	pr.n_peers = 1;
	switch (which) {
	case 0:
		m.detail = b;
		break;
	case 1:
	case 2:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_STATUS;
		m.status = &st;
		if (which == 1)
			st.daemon_version = b;
		else
			st.provider_id = b;
		break;
	default:
		m.resp_case = HOPTRACE__V1__CONTROL_RESPONSE__RESP_PEERS;
		m.peers = &pr;
		if (which == 3)
			info.provider_id = b;
		else if (which == 4)
			info.address = b;
		else if (which == 5)
			info.state = b;
		else
			info.last_error = b;
	}
	size_t n;
	uint8_t *buf = pack(&m.base, &n);
	ht_ctl_response out;
	int rc = ht_ctl_decode_response(buf, n, &out);
	if (rc == HT_OK) {
		/* What decoded is exactly what was sent. */
		const char *got = which == 0   ? out.detail
				  : which == 1 ? out.status.daemon_version
				  : which == 2 ? out.status.provider_id
				  : which == 3 ? out.peers[0].provider_id
				  : which == 4 ? out.peers[0].address
				  : which == 5 ? out.peers[0].state
					       : out.peers[0].last_error;
		assert_int_equal(strlen(got), len);
		assert_memory_equal(got, s, len);
	} else {
		assert_null(out.peers);
	}
	ht_ctl_response_clear(&out);
	free(buf);
	return rc;
}

static void test_overlong_strings(void **state)
{
	(void)state;
	static const size_t max[] = {
		HT_CTL_DETAIL_MAX,  HT_CTL_DAEMON_VERSION_MAX, HT_PROVIDER_ID_MAX,
		HT_PROVIDER_ID_MAX, HT_CTL_ADDRESS_MAX,        HT_CTL_STATE_MAX,
		HT_CTL_DETAIL_MAX,
	};
	char s[HT_CTL_DETAIL_MAX + 2];
	memset(s, 'a', sizeof(s));
	for (int w = 0; w < 7; w++) {
		assert_int_equal(decode_with(w, s, 0), HT_OK);
		assert_int_equal(decode_with(w, s, max[w]), HT_OK);
		assert_int_equal(decode_with(w, s, max[w] + 1), HT_E_MALFORMED);
		/* A NUL, an escape, invalid UTF-8: never reach a terminal. */
		assert_int_equal(decode_with(w, "a\0b", 3), HT_E_MALFORMED);
		assert_int_equal(decode_with(w, "a\x1b[2J", 5), HT_E_MALFORMED);
		assert_int_equal(decode_with(w, "a\xff", 2), HT_E_MALFORMED);
	}
	/* Provider IDs are empty or valid provider IDs. */
	assert_int_equal(decode_with(2, "carrier-1", 9), HT_OK);
	assert_int_equal(decode_with(3, "carrier-1", 9), HT_OK);
	assert_int_equal(decode_with(2, "bad id", 6), HT_E_MALFORMED);
	assert_int_equal(decode_with(3, "-leading", 8), HT_E_MALFORMED);
	/* Other text may be any allowed UTF-8. */
	static const char utf8[] = "caf\xc3\xa9 \xe2\x80\x94 \xf0\x9f\x93\x9e";
	assert_int_equal(decode_with(6, utf8, sizeof(utf8) - 1), HT_OK);
	assert_int_equal(decode_with(5, "r\xc3\xa9tabli", 8), HT_OK);
}

static void test_encode_refusals(void **state)
{
	(void)state;
	ht_ctl_response r;
	uint8_t *buf;
	size_t len;

	/* Not NUL-terminated within the array. */
	ht_ctl_response_set(&r, HT_CTL_RESULT_ERROR, NULL);
	memset(r.detail, 'x', sizeof(r.detail));
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);

	/* Not valid text. */
	ht_ctl_response_set(&r, HT_CTL_RESULT_ERROR, NULL);
	snprintf(r.detail, sizeof(r.detail), "line\nbreak");
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);

	/* A bad provider ID in status and in a peer. */
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_STATUS;
	snprintf(r.status.provider_id, sizeof(r.status.provider_id), "no spaces");
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	ht_ctl_peer p;
	memset(&p, 0, sizeof(p));
	snprintf(p.provider_id, sizeof(p.provider_id), ".dot");
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = HT_CTL_PEERS;
	r.peers = &p;
	r.n_peers = 1;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
	p.provider_id[0] = 0;
	fill(p.state, 's', HT_CTL_STATE_MAX);
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_OK);
	free(buf);
	memset(p.state, 's', sizeof(p.state)); /* unterminated */
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);

	/* A type that is not a command. */
	ht_ctl_response_set(&r, HT_CTL_RESULT_OK, NULL);
	r.type = (ht_ctl_type)7;
	assert_int_equal(ht_ctl_encode_response(&r, &buf, &len), HT_E_INVAL);
}

static void test_version_mismatch(void **state)
{
	(void)state;
	ht_ctl_request req = {.version = 2, .type = HT_CTL_HELLO}, got;
	ht_ctl_response resp, out;
	uint8_t *buf;
	size_t len;

	/* A client of version 2 says hello to a server of version 1. */
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
	assert_int_equal(ht_ctl_admit(buf, len, false, &got, &resp),
			 HT_CTL_RESULT_UNSUPPORTED_VERSION);
	free(buf);
	assert_int_equal(got.version, 2);
	assert_int_equal(got.type, HT_CTL_HELLO);
	assert_int_equal(resp.version, HT_CTL_VERSION);
	assert_int_equal(resp.type, HT_CTL_NONE);
	assert_non_null(strstr(resp.detail, "client speaks version 2"));
	assert_non_null(strstr(resp.detail, "server speaks version 1"));
	assert_true(ht_ctl_result_closes(resp.result));
	response_round_trip(&resp, &out);
	assert_int_equal(out.result, HT_CTL_RESULT_UNSUPPORTED_VERSION);
	assert_string_equal(out.detail, resp.detail);

	/* Also after a good hello, and for version 0 (an empty request). */
	req.version = 0;
	req.type = HT_CTL_STATUS;
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
	assert_int_equal(len, 2);
	assert_int_equal(ht_ctl_admit(buf, len, true, &got, &resp),
			 HT_CTL_RESULT_UNSUPPORTED_VERSION);
	free(buf);
	assert_int_equal(ht_ctl_admit(NULL, 0, true, &got, &resp),
			 HT_CTL_RESULT_UNSUPPORTED_VERSION);

	/* A server of version 2 answers a client of version 1. */
	ht_ctl_response_set(&resp, HT_CTL_RESULT_UNSUPPORTED_VERSION,
			    "the client speaks version 1, this server speaks version 2");
	resp.version = 2;
	response_round_trip(&resp, &out);
	assert_int_equal(out.version, 2);
	assert_int_equal(out.result, HT_CTL_RESULT_UNSUPPORTED_VERSION);
}

static int32_t admit(ht_ctl_type type, bool hello_done, ht_ctl_response *resp)
{
	ht_ctl_request req = {.version = HT_CTL_VERSION, .type = type}, got;
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_request(&req, &buf, &len), HT_OK);
	int32_t res = ht_ctl_admit(buf, len, hello_done, &got, resp);
	free(buf);
	assert_int_equal(res, resp->result);
	assert_int_equal(resp->version, HT_CTL_VERSION);
	return res;
}

static void test_admit(void **state)
{
	(void)state;
	ht_ctl_response resp;
	ht_ctl_request got;

	/* Hello first. */
	assert_int_equal(admit(HT_CTL_STATUS, false, &resp), HT_CTL_RESULT_HELLO_REQUIRED);
	assert_true(ht_ctl_result_closes(resp.result));
	assert_int_equal(admit(HT_CTL_NONE, false, &resp), HT_CTL_RESULT_HELLO_REQUIRED);
	assert_int_equal(admit(HT_CTL_HELLO, false, &resp), HT_CTL_RESULT_OK);
	assert_int_equal(resp.type, HT_CTL_HELLO);
	assert_string_equal(resp.detail, "");

	/* Then the commands; a second hello is harmless. */
	assert_int_equal(admit(HT_CTL_HELLO, true, &resp), HT_CTL_RESULT_OK);
	assert_int_equal(admit(HT_CTL_STATUS, true, &resp), HT_CTL_RESULT_OK);
	assert_int_equal(resp.type, HT_CTL_STATUS);
	assert_int_equal(admit(HT_CTL_PEERS, true, &resp), HT_CTL_RESULT_OK);
	assert_int_equal(resp.type, HT_CTL_PEERS);
	assert_int_equal(admit(HT_CTL_NONE, true, &resp), HT_CTL_RESULT_UNKNOWN_REQUEST);
	assert_false(ht_ctl_result_closes(resp.result));
	assert_int_equal(resp.type, HT_CTL_NONE);

	/* A command of a newer version (field 11) is unknown, not malformed. */
	static const uint8_t newer[] = {0x08, 0x01, 0x5a, 0x00};
	assert_int_equal(ht_ctl_admit(newer, sizeof(newer), true, &got, &resp),
			 HT_CTL_RESULT_UNKNOWN_REQUEST);
	assert_int_equal(got.type, HT_CTL_NONE);

	/* Bytes that do not decode. */
	static const uint8_t junk[] = {0x08};
	assert_int_equal(ht_ctl_admit(junk, sizeof(junk), true, &got, &resp),
			 HT_CTL_RESULT_MALFORMED);
	assert_true(ht_ctl_result_closes(resp.result));
	assert_int_equal(got.version, 0);
	assert_non_null(strstr(resp.detail, "does not decode"));

	/* Every response admit makes encodes. */
	uint8_t *buf;
	size_t len;
	assert_int_equal(ht_ctl_encode_response(&resp, &buf, &len), HT_OK);
	free(buf);
}

static void test_unknown_response_parts(void **state)
{
	(void)state;
	/* A newer server's command 11 and result 9, with a detail. */
	static const uint8_t newer[] = {0x08, 0x01, 0x10, 0x09, 0x1a, 0x01, 0x78, 0x5a, 0x00};
	ht_ctl_response out;
	assert_int_equal(ht_ctl_decode_response(newer, sizeof(newer), &out), HT_OK);
	assert_int_equal(out.type, HT_CTL_NONE);
	assert_int_equal(out.result, 9);
	assert_string_equal(out.detail, "x");
	assert_string_equal(ht_ctl_result_name(out.result), "unknown result");
	assert_false(ht_ctl_result_closes(out.result));

	assert_string_equal(ht_ctl_result_name(HT_CTL_RESULT_OK), "ok");
	assert_string_equal(ht_ctl_result_name(HT_CTL_RESULT_UNSUPPORTED_VERSION),
			    "unsupported version");
	assert_string_equal(ht_ctl_result_name(HT_CTL_RESULT_HELLO_REQUIRED), "hello required");
}

static void test_text_rules(void **state)
{
	(void)state;
	static const char *const good[] = {
		"",
		"plain ASCII ~",
		"caf\xc3\xa9",
		"\xc2\xa0",         /* U+00A0, just past the C1 controls */
		"\xe2\x80\x94",     /* U+2014 */
		"\xef\xbf\xbd",     /* U+FFFD */
		"\xf0\x9f\x93\x9e", /* U+1F4DE */
		"\xf4\x8f\xbf\xbf", /* U+10FFFF */
	};
	static const char *const bad[] = {
		"\t",
		"\n",
		"\x1b",
		"\x7f",
		"\xc2\x85",         /* U+0085, a C1 control */
		"\xc2\x9b",         /* U+009B, CSI */
		"\xc0\x80",         /* overlong NUL */
		"\xe0\x80\xaf",     /* overlong '/' */
		"\xed\xa0\x80",     /* a surrogate */
		"\xf4\x90\x80\x80", /* above U+10FFFF */
		"\xf8\x88\x80\x80\x80",
		"\x80",
		"\xc3",
		"\xe2\x80",
		"\xff",
	};
	for (size_t i = 0; i < sizeof(good) / sizeof(good[0]); i++)
		assert_true(ht_ctl_text_valid(good[i], strlen(good[i])));
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++)
		assert_false(ht_ctl_text_valid(bad[i], strlen(bad[i])));
	assert_false(ht_ctl_text_valid("a\0b", 3));

	char out[16];
	ht_ctl_text_clean(out, sizeof(out),
			  "a\nb\xff"
			  "c\xc2\x85"
			  "d",
			  8);
	assert_string_equal(out, "a?b?c?d");
	assert_true(ht_ctl_text_valid(out, strlen(out)));
	/* Truncation keeps whole characters only. */
	ht_ctl_text_clean(out, 5, "ab\xe2\x80\x94", 5);
	assert_string_equal(out, "ab");
	ht_ctl_text_clean(out, 6, "ab\xe2\x80\x94", 5);
	assert_string_equal(out, "ab\xe2\x80\x94");
	ht_ctl_text_clean(out, 1, "abc", 3);
	assert_string_equal(out, "");

	/* ht_ctl_response_set cleans and truncates the detail. */
	char longer[600];
	memset(longer, 'z', sizeof(longer) - 1);
	longer[sizeof(longer) - 1] = 0;
	longer[3] = '\r';
	ht_ctl_response r;
	ht_ctl_response_set(&r, HT_CTL_RESULT_ERROR, longer);
	assert_int_equal(strlen(r.detail), HT_CTL_DETAIL_MAX);
	assert_int_equal(r.detail[3], '?');
	assert_true(ht_ctl_text_valid(r.detail, strlen(r.detail)));
}

int main(void)
{
	const struct CMUnitTest tests[] = {
		cmocka_unit_test(test_request_round_trip),
		cmocka_unit_test(test_response_round_trip_hello_and_errors),
		cmocka_unit_test(test_status_round_trip),
		cmocka_unit_test(test_peers_round_trip),
		cmocka_unit_test(test_peers_limit),
		cmocka_unit_test(test_reader_one_byte_at_a_time),
		cmocka_unit_test(test_reader_chunks),
		cmocka_unit_test(test_reader_oversize),
		cmocka_unit_test(test_frame),
		cmocka_unit_test(test_truncated_and_garbage),
		cmocka_unit_test(test_overlong_strings),
		cmocka_unit_test(test_encode_refusals),
		cmocka_unit_test(test_version_mismatch),
		cmocka_unit_test(test_admit),
		cmocka_unit_test(test_unknown_response_parts),
		cmocka_unit_test(test_text_rules),
	};
	return cmocka_run_group_tests(tests, NULL, NULL);
}
