/*
 * The floor the traceback benchmarks (bench/bench_trace.sh) are measured
 * against, on this machine, in the same run: what one hop cannot avoid.
 *
 *   sign    Ed25519 signature of a HopAnswer-sized message (libsodium)
 *   verify  Ed25519 verification of it
 *   rtt     TCP round trip on loopback between two processes, both on
 *           libuv, 64-octet messages ping-ponged, TCP_NODELAY
 *
 * Each figure is the median of many single measurements. Then
 *   latency floor    = 6 x (rtt + verify + sign) + 6 x verify
 *                      (six hops, and the initiator verifying six answers)
 *   throughput floor = 1 / (verify + sign)
 *
 * usage: trace_floor [--samples N]   (default 5000)
 * Prints one line: "floor sign_us=S verify_us=V rtt_us=R latency_ms=L
 * throughput=T x25519_us=X point_check_us=P seal_us=B" (T in answers/s; the
 * last three are not part of the floor, see measure_extras). Exit 1 if a
 * measurement fails.
 */
#include <netinet/in.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>
#include <uv.h>

#define MSG_LEN  64
#define BODY_LEN 600 /* a HopAnswer envelope's signing input, certificate included */

static uint64_t now_ns(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
	uint64_t x = *(const uint64_t *)a, y = *(const uint64_t *)b;
	return x < y ? -1 : x > y;
}

static double median_us(uint64_t *ns, size_t n)
{
	qsort(ns, n, sizeof(*ns), cmp_u64);
	return n % 2 ? (double)ns[n / 2] / 1e3 : (double)(ns[n / 2 - 1] + ns[n / 2]) / 2e3;
}

/* ---- Ed25519 ---- */

static int measure_sign_verify(size_t n, double *sign_us, double *verify_us)
{
	uint8_t pk[crypto_sign_PUBLICKEYBYTES], sk[crypto_sign_SECRETKEYBYTES];
	uint8_t body[BODY_LEN], sig[crypto_sign_BYTES];
	uint64_t *ts = calloc(n, sizeof(*ts)), *tv = calloc(n, sizeof(*tv));
	if (!ts || !tv)
		return -1;
	crypto_sign_keypair(pk, sk);
	int bad = 0;
	for (size_t i = 0; i < n + n / 10; i++) {
		/* A different message each time, as every answer is. */
		randombytes_buf(body, sizeof(body));
		uint64_t t0 = now_ns();
		crypto_sign_detached(sig, NULL, body, sizeof(body), sk);
		uint64_t t1 = now_ns();
		int v = crypto_sign_verify_detached(sig, body, sizeof(body), pk);
		uint64_t t2 = now_ns();
		bad |= v != 0;
		if (i >= n / 10) { /* the first tenth warms caches and clocks */
			ts[i - n / 10] = t1 - t0;
			tv[i - n / 10] = t2 - t1;
		}
	}
	*sign_us = median_us(ts, n);
	*verify_us = median_us(tv, n);
	free(ts);
	free(tv);
	return bad ? -1 : 0;
}

/*
 * Not part of the floor, for reading the results: what else a hop of this
 * design pays per answer. X25519 (a certificate's Noise key is checked with
 * one), the Ed25519 point check a certificate's signing key gets, and the
 * sealed box each answer is put in (two X25519 operations).
 */
static int measure_extras(size_t n, double *x25519_us, double *point_us, double *seal_us)
{
	uint8_t sk[32], pk[32], q[32], out[32], box[BODY_LEN + crypto_box_SEALBYTES];
	uint8_t body[BODY_LEN], epk[crypto_sign_PUBLICKEYBYTES], esk[crypto_sign_SECRETKEYBYTES];
	uint64_t *tx = calloc(n, sizeof(*tx)), *tp = calloc(n, sizeof(*tp)),
		 *tb = calloc(n, sizeof(*tb));
	if (!tx || !tp || !tb)
		return -1;
	int bad = 0;
	for (size_t i = 0; i < n; i++) {
		crypto_box_keypair(pk, sk);
		randombytes_buf(q, sizeof(q));
		crypto_sign_keypair(epk, esk);
		randombytes_buf(body, sizeof(body));
		uint64_t t0 = now_ns();
		int r = crypto_scalarmult(out, sk, pk);
		uint64_t t1 = now_ns();
		int v = crypto_core_ed25519_is_valid_point(epk);
		uint64_t t2 = now_ns();
		int b = crypto_box_seal(box, body, sizeof(body), pk);
		uint64_t t3 = now_ns();
		bad |= r != 0 || v != 1 || b != 0;
		tx[i] = t1 - t0;
		tp[i] = t2 - t1;
		tb[i] = t3 - t2;
	}
	*x25519_us = median_us(tx, n);
	*point_us = median_us(tp, n);
	*seal_us = median_us(tb, n);
	free(tx);
	free(tp);
	free(tb);
	return bad ? -1 : 0;
}

/* ---- loopback round trip (libuv both sides) ---- */

struct echo {
	uv_loop_t *loop;
	uv_tcp_t srv, conn;
	uint8_t buf[4096];
	/* client */
	uv_connect_t creq;
	size_t have, sent, n, warm;
	uint64_t t0;
	uint64_t *rtt;
	uint8_t msg[MSG_LEN];
	int failed;
};

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *b)
{
	(void)suggested;
	struct echo *e = h->data;
	*b = uv_buf_init((char *)e->buf, sizeof(e->buf));
}

static void on_written(uv_write_t *w, int status)
{
	struct echo *e = w->data;
	if (status < 0)
		e->failed = 1;
	free(w);
}

static void write_bytes(struct echo *e, uv_stream_t *s, const uint8_t *b, size_t n)
{
	uv_write_t *w = malloc(sizeof(*w) + n);
	if (!w) {
		e->failed = 1;
		return;
	}
	memcpy(w + 1, b, n);
	w->data = e;
	uv_buf_t ub = uv_buf_init((char *)(w + 1), (unsigned)n);
	if (uv_write(w, s, &ub, 1, on_written) < 0) {
		free(w);
		e->failed = 1;
	}
}

/* Server: echo back whatever arrives, until the client hangs up. */
static void srv_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	struct echo *e = s->data;
	if (n < 0) {
		uv_close((uv_handle_t *)s, NULL);
		uv_close((uv_handle_t *)&e->srv, NULL);
		return;
	}
	if (n > 0)
		write_bytes(e, s, (const uint8_t *)b->base, (size_t)n);
}

static void srv_accept(uv_stream_t *l, int status)
{
	struct echo *e = l->data;
	if (status < 0 || uv_tcp_init(e->loop, &e->conn) != 0 ||
	    uv_accept(l, (uv_stream_t *)&e->conn) != 0) {
		e->failed = 1;
		uv_stop(e->loop);
		return;
	}
	e->conn.data = e;
	uv_tcp_nodelay(&e->conn, 1);
	uv_read_start((uv_stream_t *)&e->conn, on_alloc, srv_read);
}

static int run_server(int port_pipe)
{
	struct echo e = {.loop = uv_default_loop()};
	struct sockaddr_in sa;
	struct sockaddr_storage bound;
	int len = sizeof(bound);
	uv_ip4_addr("127.0.0.1", 0, &sa);
	e.srv.data = &e;
	if (uv_tcp_init(e.loop, &e.srv) != 0 ||
	    uv_tcp_bind(&e.srv, (const struct sockaddr *)&sa, 0) != 0 ||
	    uv_listen((uv_stream_t *)&e.srv, 1, srv_accept) != 0 ||
	    uv_tcp_getsockname(&e.srv, (struct sockaddr *)&bound, &len) != 0)
		return 1;
	uint16_t port = ntohs(((struct sockaddr_in *)&bound)->sin_port);
	if (write(port_pipe, &port, sizeof(port)) != sizeof(port))
		return 1;
	close(port_pipe);
	uv_run(e.loop, UV_RUN_DEFAULT);
	return e.failed;
}

/* Client: one 64-octet message in flight; time each echo. */
static void cli_read(uv_stream_t *s, ssize_t n, const uv_buf_t *b)
{
	(void)b;
	struct echo *e = s->data;
	if (n < 0) {
		e->failed = 1;
		uv_close((uv_handle_t *)s, NULL);
		return;
	}
	e->have += (size_t)n;
	if (e->have < MSG_LEN)
		return;
	e->have -= MSG_LEN;
	uint64_t t = now_ns();
	if (e->sent > e->warm)
		e->rtt[e->sent - e->warm - 1] = t - e->t0;
	if (e->sent == e->n + e->warm) {
		uv_close((uv_handle_t *)s, NULL);
		return;
	}
	e->sent++;
	e->msg[0] = (uint8_t)e->sent;
	e->t0 = now_ns();
	write_bytes(e, s, e->msg, MSG_LEN);
}

static void cli_connected(uv_connect_t *req, int status)
{
	struct echo *e = req->data;
	if (status < 0) {
		e->failed = 1;
		uv_close((uv_handle_t *)&e->conn, NULL);
		return;
	}
	uv_tcp_nodelay(&e->conn, 1);
	uv_read_start((uv_stream_t *)&e->conn, on_alloc, cli_read);
	e->sent = 1;
	e->t0 = now_ns();
	write_bytes(e, (uv_stream_t *)&e->conn, e->msg, MSG_LEN);
}

static int measure_rtt(size_t n, double *rtt_us)
{
	int p[2];
	if (pipe(p) != 0)
		return -1;
	pid_t pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		close(p[0]);
		_exit(run_server(p[1]));
	}
	close(p[1]);
	uint16_t port;
	ssize_t r = read(p[0], &port, sizeof(port));
	close(p[0]);
	int rc = -1;
	struct echo e = {.loop = uv_default_loop(), .n = n, .warm = n / 10};
	e.rtt = calloc(n, sizeof(*e.rtt));
	if (r == sizeof(port) && e.rtt) {
		struct sockaddr_in sa;
		uv_ip4_addr("127.0.0.1", port, &sa);
		e.conn.data = &e;
		e.creq.data = &e;
		randombytes_buf(e.msg, sizeof(e.msg));
		if (uv_tcp_init(e.loop, &e.conn) == 0 &&
		    uv_tcp_connect(&e.creq, &e.conn, (const struct sockaddr *)&sa, cli_connected) ==
			    0) {
			uv_run(e.loop, UV_RUN_DEFAULT);
			if (!e.failed && e.sent == n + e.warm) {
				*rtt_us = median_us(e.rtt, n);
				rc = 0;
			}
		}
	}
	int st;
	if (rc != 0)
		kill(pid, SIGKILL);
	if (waitpid(pid, &st, 0) != pid || !WIFEXITED(st) || WEXITSTATUS(st) != 0)
		rc = -1;
	free(e.rtt);
	uv_loop_close(e.loop);
	return rc;
}

int main(int argc, char **argv)
{
	size_t n = 5000;
	if (argc == 3 && strcmp(argv[1], "--samples") == 0 && atol(argv[2]) >= 10) {
		n = (size_t)atol(argv[2]);
	} else if (argc != 1) {
		fprintf(stderr, "usage: trace_floor [--samples N]   (N >= 10, default 5000)\n");
		return 2;
	}
	if (sodium_init() < 0)
		return 1;
	double sign_us, verify_us, rtt_us, x25519_us, point_us, seal_us;
	if (measure_sign_verify(n, &sign_us, &verify_us) != 0 ||
	    measure_extras(n / 4 + 10, &x25519_us, &point_us, &seal_us) != 0) {
		fprintf(stderr, "trace_floor: a signature did not verify or a key did not work\n");
		return 1;
	}
	if (measure_rtt(n, &rtt_us) != 0) {
		fprintf(stderr, "trace_floor: the loopback round trip failed\n");
		return 1;
	}
	double latency_ms = (6 * (rtt_us + verify_us + sign_us) + 6 * verify_us) / 1e3;
	double throughput = 1e6 / (verify_us + sign_us);
	printf("floor sign_us=%.1f verify_us=%.1f rtt_us=%.1f latency_ms=%.3f throughput=%.0f "
	       "x25519_us=%.1f point_check_us=%.1f seal_us=%.1f\n",
	       sign_us, verify_us, rtt_us, latency_ms, throughput, x25519_us, point_us, seal_us);
	return 0;
}
