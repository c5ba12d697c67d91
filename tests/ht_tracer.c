/*
 * A traceback test peer built on the library alone (no daemon code): it holds
 * a provider key, certificate and anchor, connects to a daemon as one of its
 * configured peers (dials it, or listens and accepts the daemon's dial),
 * completes the session, and then plays one part:
 *
 *   ask     sends TraceRequests (built here, or saved bytes replayed) and
 *           prints every answer, opened and verified, one line each;
 *   relay   sits between two daemons as a middle hop, honest or not
 *           (--tamper), and reports what it could see (P2, P3);
 *   stream  keeps W pre-built requests outstanding and measures answers/s.
 *
 * Output is one line per event, `key=value` separated by spaces, for scripts.
 * Exit 0 when every request sent was completed; 1 on a timeout or a failed
 * check; 2 for usage or local errors. `ht_tracer --help` lists the options.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <sodium.h>

#include "hoptrace/fileio.h"
#include "hoptrace/peermsg.h"
#include "hoptrace/session.h"
#include "hoptrace/timefmt.h"
#include "hoptrace/trace.h"
#include "hoptrace/v1/trace.pb-c.h"

#define OUT_HIGH_WATER (1u << 20) /* stop queueing requests past this many unsent bytes */

__attribute__((format(printf, 1, 2), noreturn)) static void die(const char *fmt, ...)
{
	va_list ap;
	va_start(ap, fmt);
	fprintf(stderr, "ht_tracer: ");
	vfprintf(stderr, fmt, ap);
	fprintf(stderr, "\n");
	va_end(ap);
	exit(2);
}

static uint64_t mono_us(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (uint64_t)ts.tv_sec * 1000000u + (uint64_t)ts.tv_nsec / 1000u;
}

static uint64_t now_ms(void)
{
	struct timespec ts;
	clock_gettime(CLOCK_REALTIME, &ts);
	return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static void hex(const uint8_t *b, size_t n, char *out)
{
	static const char d[] = "0123456789abcdef";
	for (size_t i = 0; i < n; i++) {
		out[2 * i] = d[b[i] >> 4];
		out[2 * i + 1] = d[b[i] & 15];
	}
	out[2 * n] = 0;
}

/* Text made safe for one `key=value` token: anything unusual as %XX. */
static void token(const char *s, char *out, size_t cap)
{
	size_t o = 0;
	for (; *s && o + 4 < cap; s++) {
		unsigned char ch = (unsigned char)*s;
		if ((ch >= '0' && ch <= '9') || (ch >= 'A' && ch <= 'Z') ||
		    (ch >= 'a' && ch <= 'z') || strchr("._-+:/", ch))
			out[o++] = (char)ch;
		else
			o += (size_t)snprintf(out + o, cap - o, "%%%02X", ch);
	}
	out[o] = 0;
	if (!o)
		snprintf(out, cap, "-");
}

static uint64_t parse_u64(const char *opt, const char *s)
{
	char *end;
	errno = 0;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || !*s || *end || *s == '-')
		die("%s: '%s' is not a non-negative integer", opt, s);
	return v;
}

/* An absolute time in ms (13 digits, or RFC 3339), or +N / -N ms from now. */
static uint64_t parse_time(const char *opt, const char *s)
{
	if (s[0] == '+' || s[0] == '-') {
		uint64_t d = parse_u64(opt, s + 1), now = now_ms();
		if (s[0] == '+')
			return now + d;
		if (d > now)
			die("%s: %s is before the epoch", opt, s);
		return now - d;
	}
	uint64_t ms;
	if (strchr(s, 'T') && ht_time_parse_rfc3339(s, strlen(s), &ms) == HT_OK)
		return ms;
	return parse_u64(opt, s);
}

/* ---- Identity ----------------------------------------------------------- */

struct ident {
	ht_keys keys;
	uint8_t *cert;
	size_t cert_len;
	char id[HT_PROVIDER_ID_MAX + 1];
};

static void ident_load(struct ident *me, const char *key, const char *cert)
{
	ht_cert *c;
	if (ht_keys_load_secret(key, HT_KEYS_PROVIDER, &me->keys) != HT_OK)
		die("cannot load the key %s", key);
	if (ht_file_read(cert, HT_CERT_MAX, false, &me->cert, &me->cert_len) != HT_OK ||
	    ht_cert_parse(me->cert, me->cert_len, &c) != HT_OK)
		die("cannot load the certificate %s", cert);
	snprintf(me->id, sizeof(me->id), "%s", ht_cert_get_info(c)->provider_id);
	ht_cert_free(c);
}

/* ---- P2: phone numbers in received bytes -------------------------------- */

#define P2_FORMS_MAX 64
#define P2_FORM_LEN  40

struct p2 {
	bool on;
	size_t n;
	uint8_t form[P2_FORMS_MAX][P2_FORM_LEN];
	size_t len[P2_FORMS_MAX];
	char name[P2_FORMS_MAX][24];
	uint64_t bytes, messages;
	int found; /* index of the first form seen, or -1 */
};
static struct p2 p2 = {.found = -1};

static void p2_add(const char *name, const void *b, size_t n)
{
	if (p2.n == P2_FORMS_MAX || n == 0 || n > P2_FORM_LEN)
		return;
	memcpy(p2.form[p2.n], b, n);
	p2.len[p2.n] = n;
	snprintf(p2.name[p2.n], sizeof(p2.name[0]), "%s", name);
	p2.n++;
}

/* Packed decimal, two digits an octet; `swapped` is TBCD (low nibble first). */
static void p2_add_bcd(const char *name, const char *d, bool swapped)
{
	uint8_t b[P2_FORM_LEN];
	size_t n = strlen(d) / 2;
	for (size_t i = 0; i < n; i++) {
		uint8_t hi = (uint8_t)(d[2 * i] - '0'), lo = (uint8_t)(d[2 * i + 1] - '0');
		b[i] = swapped ? (uint8_t)(lo << 4 | hi) : (uint8_t)(hi << 4 | lo);
	}
	p2_add(name, b, n);
}

static void p2_add_int(const char *name, const char *d)
{
	uint64_t v = strtoull(d, NULL, 10);
	uint8_t le[8], be[8], vi[10];
	size_t nv = 0;
	for (int i = 0; i < 8; i++) {
		le[i] = (uint8_t)(v >> (8 * i));
		be[7 - i] = le[i];
	}
	char nm[24];
	snprintf(nm, sizeof(nm), "%s-u64le", name);
	p2_add(nm, le, 6); /* the high octets are zero for any phone number */
	snprintf(nm, sizeof(nm), "%s-u64be", name);
	p2_add(nm, be + 2, 6);
	for (uint64_t x = v; nv < sizeof(vi); x >>= 7) {
		vi[nv++] = (uint8_t)((x & 0x7f) | (x >= 0x80 ? 0x80 : 0));
		if (x < 0x80)
			break;
	}
	snprintf(nm, sizeof(nm), "%s-varint", name);
	p2_add(nm, vi, nv);
}

/* Every form of one number, E.164 digits (country code 1 also gets NANP forms). */
static void p2_number(const char *tag, const char *e164)
{
	char nat[HT_E164_BUF], buf[P2_FORM_LEN], nm[24];
	size_t n = strlen(e164);
	snprintf(nat, sizeof(nat), "%s", e164[0] == '1' && n == 11 ? e164 + 1 : e164);
	snprintf(nm, sizeof(nm), "%s-e164", tag);
	p2_add(nm, e164, n);
	snprintf(nm, sizeof(nm), "%s-national", tag);
	p2_add(nm, nat, strlen(nat));
	snprintf(nm, sizeof(nm), "%s-last7", tag);
	p2_add(nm, e164 + n - 7, 7);
	if (strlen(nat) == 10) {
		for (int i = 0; i < 5; i++) {
			const char *a = nat, *b = nat + 3, *c = nat + 6;
			if (i == 0)
				snprintf(buf, sizeof(buf), "%.3s-%.3s-%.4s", a, b, c);
			else if (i == 1)
				snprintf(buf, sizeof(buf), "%.3s.%.3s.%.4s", a, b, c);
			else if (i == 2)
				snprintf(buf, sizeof(buf), "%.3s %.3s %.4s", a, b, c);
			else if (i == 3)
				snprintf(buf, sizeof(buf), "(%.3s) %.3s-%.4s", a, b, c);
			else
				snprintf(buf, sizeof(buf), "(%.3s)%.3s-%.4s", a, b, c);
			snprintf(nm, sizeof(nm), "%s-fmt%d", tag, i);
			p2_add(nm, buf, strlen(buf));
		}
		snprintf(buf, sizeof(buf), "%.3s-%.4s", nat + 3, nat + 6);
		snprintf(nm, sizeof(nm), "%s-local", tag);
		p2_add(nm, buf, strlen(buf));
	}
	uint8_t u16[2 * HT_E164_BUF];
	for (size_t i = 0; i < strlen(nat); i++) {
		u16[2 * i] = (uint8_t)nat[i];
		u16[2 * i + 1] = 0;
	}
	snprintf(nm, sizeof(nm), "%s-utf16le", tag);
	p2_add(nm, u16, 2 * strlen(nat));
	snprintf(nm, sizeof(nm), "%s-utf16be", tag);
	p2_add(nm, u16 + 1, 2 * strlen(nat) - 1);
	snprintf(nm, sizeof(nm), "%s-bcd", tag);
	p2_add_bcd(nm, e164, false);
	snprintf(nm, sizeof(nm), "%s-tbcd", tag);
	p2_add_bcd(nm, e164, true);
	snprintf(nm, sizeof(nm), "%s-natbcd", tag);
	p2_add_bcd(nm, nat, false);
	snprintf(nm, sizeof(nm), "%s-nattbcd", tag);
	p2_add_bcd(nm, nat, true);
	p2_add_int(tag, e164);
	snprintf(nm, sizeof(nm), "%s-nat", tag);
	p2_add_int(nm, nat);
}

static int p2_match(const uint8_t *b, size_t n)
{
	for (size_t f = 0; f < p2.n; f++)
		for (size_t i = 0; i + p2.len[f] <= n; i++)
			if (b[i] == p2.form[f][0] && memcmp(b + i, p2.form[f], p2.len[f]) == 0)
				return (int)f;
	return -1;
}

static void p2_scan(const uint8_t *b, size_t n)
{
	if (!p2.on)
		return;
	p2.bytes += n;
	p2.messages++;
	int f = p2_match(b, n);
	if (f >= 0 && p2.found < 0)
		p2.found = f;
}

/* The detector must find each form, or its "no" would mean nothing. */
static void p2_setup(const char *calling, const char *called)
{
	p2_number("calling", calling);
	p2_number("called", called);
	uint8_t buf[512];
	for (size_t f = 0; f < p2.n; f++) {
		randombytes_buf(buf, sizeof(buf));
		size_t at = randombytes_uniform((uint32_t)(sizeof(buf) - p2.len[f]));
		memcpy(buf + at, p2.form[f], p2.len[f]);
		if (p2_match(buf, sizeof(buf)) < 0)
			die("P2 detector does not find form %s", p2.name[f]);
	}
	p2.on = true;
}

/* ---- Connections -------------------------------------------------------- */

struct conn {
	const char *name; /* "daemon", "down", "up" */
	char expect[HT_PROVIDER_ID_MAX + 1];
	char addr[80];
	bool listen;
	int fd;
	ht_session *s;
	ht_session_config sc;
	ht_frame_reader *rd;
	uint8_t pre[HT_PREAMBLE_LEN];
	size_t pre_have;
	uint8_t *out;
	size_t out_len, out_off, out_cap;
	bool established, closed;
	char why[160];
};

typedef void (*msg_fn)(struct conn *c, const ht_pmsg *m);

static struct ident me;
static ht_trust *trust;

/* "dial:ID@HOST:PORT", "listen:ID@HOST:PORT", or "ID@HOST:PORT" (dial). */
static void conn_spec(struct conn *c, const char *name, const char *spec)
{
	memset(c, 0, sizeof(*c));
	c->name = name;
	c->fd = -1;
	if (strncmp(spec, "listen:", 7) == 0) {
		c->listen = true;
		spec += 7;
	} else if (strncmp(spec, "dial:", 5) == 0) {
		spec += 5;
	}
	const char *at = strchr(spec, '@');
	if (!at || at == spec || (size_t)(at - spec) > HT_PROVIDER_ID_MAX ||
	    strlen(at + 1) >= sizeof(c->addr) || !strrchr(at + 1, ':'))
		die("--%s: '%s' is not [dial:|listen:]ID@HOST:PORT", name, spec);
	memcpy(c->expect, spec, (size_t)(at - spec));
	snprintf(c->addr, sizeof(c->addr), "%s", at + 1);
}

__attribute__((format(printf, 2, 3))) static void conn_fail(struct conn *c, const char *fmt, ...)
{
	if (c->closed)
		return;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(c->why, sizeof(c->why), fmt, ap);
	va_end(ap);
	c->closed = true;
	if (c->fd >= 0)
		close(c->fd);
	c->fd = -1;
}

static void conn_flush(struct conn *c)
{
	while (!c->closed && c->out_off < c->out_len) {
		ssize_t w = write(c->fd, c->out + c->out_off, c->out_len - c->out_off);
		if (w < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
			break;
		if (w <= 0) {
			conn_fail(c, "write: %s", strerror(errno));
			return;
		}
		c->out_off += (size_t)w;
	}
	if (c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
}

static void conn_queue(struct conn *c, const uint8_t *b, size_t n)
{
	if (c->closed)
		return;
	if (c->out_off && c->out_off == c->out_len)
		c->out_off = c->out_len = 0;
	if (c->out_off > c->out_cap / 2) {
		memmove(c->out, c->out + c->out_off, c->out_len - c->out_off);
		c->out_len -= c->out_off;
		c->out_off = 0;
	}
	if (c->out_len + n > c->out_cap) {
		size_t cap = c->out_cap ? c->out_cap : 65536;
		while (cap < c->out_len + n)
			cap *= 2;
		uint8_t *p = realloc(c->out, cap);
		if (!p)
			die("out of memory");
		c->out = p;
		c->out_cap = cap;
	}
	memcpy(c->out + c->out_len, b, n);
	c->out_len += n;
}

static size_t conn_unsent(const struct conn *c)
{
	return c->out_len - c->out_off;
}

static void conn_send(struct conn *c, const ht_pmsg *m)
{
	uint8_t *pt, *frame;
	size_t plen, flen;
	if (c->closed)
		return;
	if (ht_pmsg_encode(m, &pt, &plen) != HT_OK)
		die("cannot encode a peer message of type %d", (int)m->type);
	int rc = ht_session_send(c->s, pt, plen, &frame, &flen);
	free(pt);
	if (rc != HT_OK)
		die("cannot encrypt a message to %s: %s", c->name, ht_strerror(rc));
	conn_queue(c, frame, flen);
	free(frame);
	conn_flush(c);
}

static int peer_allowed(void *ud, const char *id)
{
	const struct conn *c = ud;
	return strcmp(c->expect, id) == 0 ? HT_OK : HT_E_NOT_A_PEER;
}

static void conn_pending(struct conn *c)
{
	uint8_t *frame;
	size_t flen;
	if (ht_session_pending(c->s, &frame, &flen) != HT_OK) {
		conn_fail(c, "handshake state error");
		return;
	}
	if (frame) {
		conn_queue(c, frame, flen);
		free(frame);
	}
}

static void conn_input(struct conn *c, const uint8_t *buf, size_t n, msg_fn fn)
{
	size_t off = 0;
	while (c->pre_have < HT_PREAMBLE_LEN && off < n) {
		c->pre[c->pre_have++] = buf[off++];
		uint16_t v;
		if (c->pre_have == HT_PREAMBLE_LEN && ht_preamble_check(c->pre, &v) != HT_OK) {
			conn_fail(c, "bad preamble from the daemon");
			return;
		}
	}
	while (off < n && !c->closed) {
		size_t used, mlen;
		const uint8_t *msg;
		int rc = ht_frame_reader_push(c->rd, buf + off, n - off, &used, &msg, &mlen);
		off += used;
		if (rc < 0) {
			conn_fail(c, "malformed frame");
			return;
		}
		if (rc == 0)
			continue;
		ht_session_event ev;
		const uint8_t *pt;
		size_t plen;
		rc = ht_session_recv(c->s, msg, mlen, &ev, &pt, &plen);
		if (rc != HT_OK) {
			conn_fail(c, "session: %s", ht_strerror(rc));
			return;
		}
		if (!c->established) {
			conn_pending(c);
			if (ht_session_established(c->s))
				c->established = true;
		}
		if (ev != HT_SESSION_MESSAGE)
			continue;
		p2_scan(pt, plen);
		ht_pmsg m;
		if (ht_pmsg_decode(pt, plen, &m) != HT_OK) {
			printf("bad_message from=%s\n", c->name);
			continue;
		}
		if (m.type == HT_PMSG_PING) {
			ht_pmsg pong = {.type = HT_PMSG_PONG, .nonce = m.nonce};
			conn_send(c, &pong);
		} else if (m.type != HT_PMSG_PONG && fn) {
			fn(c, &m);
		}
		ht_pmsg_clear(&m);
	}
}

/* One round of I/O on every open connection, waiting at most `wait_ms`. */
static void pump(struct conn **cs, size_t n, int wait_ms, msg_fn fn)
{
	struct pollfd p[4];
	for (size_t i = 0; i < n; i++) {
		p[i].fd = cs[i]->closed ? -1 : cs[i]->fd;
		p[i].events = (short)(POLLIN | (conn_unsent(cs[i]) ? POLLOUT : 0));
		p[i].revents = 0;
	}
	if (poll(p, (nfds_t)n, wait_ms) < 0 && errno != EINTR)
		die("poll: %s", strerror(errno));
	static uint8_t buf[1 << 16];
	for (size_t i = 0; i < n; i++) {
		struct conn *c = cs[i];
		if (c->closed)
			continue;
		if (p[i].revents & POLLOUT)
			conn_flush(c);
		if (p[i].revents & (POLLIN | POLLHUP | POLLERR)) {
			/* Read what is there now, a bounded amount, then serve the others. */
			for (int k = 0; k < 16 && !c->closed; k++) {
				ssize_t r = read(c->fd, buf, sizeof(buf));
				if (r < 0 && (errno == EAGAIN || errno == EWOULDBLOCK))
					break;
				if (r < 0 && errno == EINTR)
					continue;
				if (r <= 0) {
					if (r == 0)
						conn_fail(c, "the daemon closed the connection");
					else
						conn_fail(c, "read: %s", strerror(errno));
					break;
				}
				conn_input(c, buf, (size_t)r, fn);
			}
		}
		if (!c->closed && conn_unsent(c))
			conn_flush(c);
	}
}

static int parse_addr(const char *addr, struct sockaddr_in *sa)
{
	char host[64];
	const char *colon = strrchr(addr, ':');
	if (!colon || (size_t)(colon - addr) >= sizeof(host))
		return -1;
	memcpy(host, addr, (size_t)(colon - addr));
	host[colon - addr] = 0;
	memset(sa, 0, sizeof(*sa));
	sa->sin_family = AF_INET;
	sa->sin_port = htons((uint16_t)atoi(colon + 1));
	return inet_pton(AF_INET, host, &sa->sin_addr) == 1 ? 0 : -1;
}

/* Connects (or accepts) and completes the handshake, serving `others` meanwhile. */
static void conn_open(struct conn *c, struct conn **others, size_t n_others, uint64_t deadline_us,
		      msg_fn fn)
{
	struct sockaddr_in sa;
	if (parse_addr(c->addr, &sa) != 0)
		die("--%s: '%s' is not IPv4:port", c->name, c->addr);
	if (c->listen) {
		int ls = socket(AF_INET, SOCK_STREAM, 0), one = 1;
		if (ls < 0 || setsockopt(ls, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one)) != 0 ||
		    bind(ls, (struct sockaddr *)&sa, sizeof(sa)) != 0 || listen(ls, 4) != 0)
			die("--%s: cannot listen on %s: %s", c->name, c->addr, strerror(errno));
		while (c->fd < 0) {
			if (mono_us() > deadline_us)
				die("--%s: the daemon did not dial %s in time", c->name, c->addr);
			struct pollfd p = {.fd = ls, .events = POLLIN};
			if (n_others)
				pump(others, n_others, 0, fn);
			if (poll(&p, 1, 50) > 0)
				c->fd = accept(ls, NULL, NULL);
		}
		close(ls);
	} else {
		for (;;) {
			c->fd = socket(AF_INET, SOCK_STREAM, 0);
			if (c->fd < 0)
				die("socket: %s", strerror(errno));
			if (connect(c->fd, (struct sockaddr *)&sa, sizeof(sa)) == 0)
				break;
			int e = errno;
			close(c->fd);
			c->fd = -1;
			if (mono_us() > deadline_us)
				die("--%s: cannot connect to %s: %s", c->name, c->addr,
				    strerror(e));
			if (n_others)
				pump(others, n_others, 50, fn);
			else
				poll(NULL, 0, 50);
		}
	}
	int one = 1;
	setsockopt(c->fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	fcntl(c->fd, F_SETFL, fcntl(c->fd, F_GETFL) | O_NONBLOCK);

	c->sc = (ht_session_config){
		.initiator = !c->listen,
		.keys = &me.keys,
		.cert = me.cert,
		.cert_len = me.cert_len,
		.trust = trust,
		.now = ht_time_now(),
		.expected_peer = c->listen ? NULL : c->expect,
		.allowed = peer_allowed,
		.allowed_ud = c,
	};
	c->rd = calloc(1, sizeof(*c->rd));
	if (!c->rd || ht_session_new(&c->s, &c->sc) != HT_OK)
		die("cannot create a session");
	uint8_t pre[HT_PREAMBLE_LEN];
	ht_preamble(pre);
	conn_queue(c, pre, sizeof(pre));
	conn_pending(c);
	conn_flush(c);
	struct conn *all[4];
	for (size_t i = 0; i < n_others; i++)
		all[i] = others[i];
	all[n_others] = c;
	while (!c->established && !c->closed && mono_us() < deadline_us)
		pump(all, n_others + 1, 50, fn);
	if (!c->established)
		die("--%s: no session with %s: %s", c->name, c->expect,
		    c->closed ? c->why : "timed out");
	/* The daemon decides after our message 3: give a refusal a moment to arrive. */
	if (!c->listen) {
		uint64_t until = mono_us() + 100000;
		while (!c->closed && mono_us() < until && mono_us() < deadline_us)
			pump(all, n_others + 1, 20, fn);
		if (c->closed)
			die("--%s: the daemon closed the session: %s", c->name, c->why);
	}
	const ht_cert_info *pi = ht_session_peer(c->s);
	if (!pi || strcmp(pi->provider_id, c->expect) != 0)
		die("--%s: the session is with %s, not %s", c->name, pi ? pi->provider_id : "?",
		    c->expect);
	printf("session %s peer=%s\n", c->name, c->expect);
	fflush(stdout);
}

/* Opens the daemon's session once the work is ready; returns the deadline. */
static uint64_t daemon_open(struct conn *d, uint64_t timeout_ms, msg_fn fn)
{
	uint64_t deadline = mono_us() + timeout_ms * 1000;
	conn_open(d, NULL, 0, deadline, fn);
	return deadline;
}

/* ---- Requests and answers ----------------------------------------------- */

struct trace {
	uint8_t id[HT_TRACE_ID_LEN];
	uint8_t req_id[HT_MSG_ID_LEN];
	bool have_req_id, have_sk;
	uint8_t pk[HT_ANSWER_PK_LEN], sk[HT_ANSWER_SK_LEN];
	uint8_t *req;
	size_t req_len;
	uint64_t sent_us;
	unsigned answers, completes, errors;
};

static int trace_cmp(const void *a, const void *b)
{
	return memcmp(((const struct trace *)a)->id, ((const struct trace *)b)->id,
		      HT_TRACE_ID_LEN);
}

/* Traces sorted by ID; with replays several may share one. */
static struct trace *trace_find(struct trace *t, size_t n, const uint8_t id[HT_TRACE_ID_LEN])
{
	struct trace key;
	memcpy(key.id, id, HT_TRACE_ID_LEN);
	struct trace *f = bsearch(&key, t, n, sizeof(*t), trace_cmp);
	while (f && f > t && memcmp(f[-1].id, id, HT_TRACE_ID_LEN) == 0)
		f--;
	return f;
}

struct req_opts {
	const char *ikey, *icert;
	char calling[HT_E164_BUF], called[HT_E164_BUF];
	bool have_call, have_time;
	uint64_t call_time, created, expires;
	bool have_created, have_expires;
	uint32_t tolerance, hop_limit, hint_bits, lifetime_s;
	const char *label;
};

static void number_arg(const char *opt, const char *s, char out[HT_E164_BUF])
{
	if (ht_e164_normalize(s, strlen(s), "1", out) != HT_OK)
		die("%s: '%s' is not a phone number", opt, s);
}

/* Builds and signs one request with a fresh answer key pair into `t`. */
static void build_request(const struct req_opts *o, const struct ident *ini, struct trace *t,
			  const uint8_t *shared_pk, const uint8_t *shared_sk)
{
	if (shared_pk) {
		memcpy(t->pk, shared_pk, HT_ANSWER_PK_LEN);
		memcpy(t->sk, shared_sk, HT_ANSWER_SK_LEN);
	} else {
		crypto_box_keypair(t->pk, t->sk);
	}
	t->have_sk = true;
	uint64_t created = o->have_created ? o->created : now_ms();
	uint64_t expires = o->have_expires ? o->expires : created + (uint64_t)o->lifetime_s * 1000;
	ht_request_params p = {
		.calling = o->calling,
		.called = o->called,
		.created_ms = created,
		.expires_ms = expires,
		.call_time_ms = o->call_time,
		.tolerance_ms = o->tolerance,
		.hop_limit = o->hop_limit,
		.hint_bits = o->hint_bits,
		.label = o->label,
		.answer_pk = t->pk,
		.trace_id = t->id,
	};
	randombytes_buf(t->id, HT_TRACE_ID_LEN);
	int rc = ht_request_build(&p, &ini->keys, ini->cert, ini->cert_len, &t->req, &t->req_len);
	if (rc != HT_OK)
		die("cannot build the request: %s", ht_strerror(rc));
	/* The identity answers bind to; a full parse would cost more than the signing. */
	ht_envelope *e;
	if (ht_envelope_parse(t->req, t->req_len, &e) != HT_OK ||
	    ht_envelope_id(e, t->req_id) != HT_OK)
		die("the request built does not parse back");
	ht_envelope_free(e);
	t->have_req_id = true;
}

/* Replayed bytes: whatever parses of them, for matching answers. */
static void load_request(const char *path, struct trace *t)
{
	if (ht_file_read(path, HT_ENVELOPE_MAX, false, &t->req, &t->req_len) != HT_OK)
		die("cannot read the request %s", path);
	ht_request *r = NULL;
	int rc = ht_request_parse(t->req, t->req_len, &r);
	if (r) {
		memcpy(t->id, ht_request_get(r)->trace_id, HT_TRACE_ID_LEN);
		memcpy(t->req_id, ht_request_id(r), HT_MSG_ID_LEN);
		t->have_req_id = true;
		if (!t->have_sk)
			memcpy(t->pk, ht_request_get(r)->answer_pk, HT_ANSWER_PK_LEN);
		ht_request_free(r);
	} else if (!ht_request_peek_trace_id(t->req, t->req_len, t->id)) {
		memset(t->id, 0, HT_TRACE_ID_LEN);
	}
	if (rc != HT_OK)
		printf("note request_parses=no error=%s\n", ht_errname(rc));
}

static const char *attest_name(uint8_t a)
{
	return a == 1 ? "A" : a == 2 ? "B" : a == 3 ? "C" : "-";
}

static void calls_text(const ht_answer_info *ai, char *out, size_t cap)
{
	size_t o = 0;
	out[0] = 0;
	for (size_t k = 0; k < ai->n_calls && o + 1 < cap; k++) {
		const ht_matched_call *mc = &ai->calls[k];
		char ref[3 * HT_CUSTOMER_REF_MAX + 4];
		token(mc->customer_ref, ref, sizeof(ref));
		o += (size_t)snprintf(out + o, cap - o, "%s%s:%s@%llu/%s", k ? ";" : "",
				      mc->originated_here ? "origin" : "up",
				      mc->originated_here ? ref : mc->upstream,
				      (unsigned long long)mc->record_time_ms,
				      attest_name(mc->attestation));
	}
	if (!ai->n_calls)
		snprintf(out, cap, "-");
}

struct verdict {
	bool opened, parsed, verified;
	int err;
	uint32_t status, reason;
};

/* Opens, parses and verifies one sealed answer; prints it unless `quiet`. */
static struct verdict answer_check(const struct trace *t, const uint8_t *sealed, size_t len,
				   bool quiet)
{
	struct verdict v = {0};
	char tid[2 * HT_TRACE_ID_LEN + 1];
	hex(t->id, HT_TRACE_ID_LEN, tid);
	uint64_t ms = (mono_us() - t->sent_us) / 1000;
	uint8_t *env;
	size_t env_len;
	if (!t->have_sk) {
		if (!quiet)
			printf("answer trace=%s opened=no error=no_answer_secret ms=%llu\n", tid,
			       (unsigned long long)ms);
		return v;
	}
	v.err = ht_unseal(sealed, len, t->pk, t->sk, &env, &env_len);
	if (v.err != HT_OK) {
		if (!quiet)
			printf("answer trace=%s opened=no verified=no error=%s ms=%llu\n", tid,
			       ht_errname(v.err), (unsigned long long)ms);
		return v;
	}
	v.opened = true;
	ht_answer *a;
	v.err = ht_answer_parse(env, env_len, &a);
	free(env);
	if (v.err != HT_OK) {
		if (!quiet)
			printf("answer trace=%s opened=yes parsed=no verified=no error=%s "
			       "ms=%llu\n",
			       tid, ht_errname(v.err), (unsigned long long)ms);
		return v;
	}
	v.parsed = true;
	const ht_answer_info *ai = ht_answer_get(a);
	v.status = ai->status;
	v.reason = ai->reason;
	v.err = t->have_req_id ? ht_answer_verify(a, trust, t->req_id) : HT_E_WRONG_REQUEST;
	v.verified = v.err == HT_OK;
	if (!quiet) {
		char calls[HT_ANSWER_CALLS_MAX * 120];
		calls_text(ai, calls, sizeof(calls));
		printf("answer trace=%s hop=%u provider=%s asked_by=%s status=%s reason=%s "
		       "upstream=%s window=%llu calls=%s verified=%s%s%s ms=%llu\n",
		       tid, ai->hop, ai->provider_id, ai->asked_by,
		       ht_answer_status_name(ai->status),
		       ai->reason ? ht_reason_name(ai->reason) : "-",
		       ai->upstream[0] ? ai->upstream : "-", (unsigned long long)ai->window_time_ms,
		       calls, v.verified ? "yes" : "no",
		       v.verified ? "" : " error=", v.verified ? "" : ht_errname(v.err),
		       (unsigned long long)ms);
	}
	ht_answer_free(a);
	return v;
}

static void print_error(const char *from, const ht_pmsg *m)
{
	char tid[2 * HT_TRACE_ID_LEN + 1] = "-", detail[3 * sizeof(m->detail)];
	if (m->has_trace_id)
		hex(m->trace_id, HT_TRACE_ID_LEN, tid);
	token(m->detail, detail, sizeof(detail));
	printf("error from=%s trace=%s reason=%s detail=%s\n", from, tid, ht_reason_name(m->reason),
	       detail);
}

/* ---- ask ---------------------------------------------------------------- */

static struct {
	struct trace *t;
	size_t n;
	unsigned answers, good, bad, completes, errors, unknown;
	bool fresh;
} ask;

static void ask_msg(struct conn *c, const ht_pmsg *m)
{
	(void)c;
	struct trace *t = NULL;
	if (m->type == HT_PMSG_TRACE_ANSWER || m->type == HT_PMSG_TRACE_COMPLETE ||
	    (m->type == HT_PMSG_ERROR && m->has_trace_id))
		t = trace_find(ask.t, ask.n, m->trace_id);
	char tid[2 * HT_TRACE_ID_LEN + 1];
	switch (m->type) {
	case HT_PMSG_TRACE_ANSWER: {
		ask.answers++;
		if (!t) {
			hex(m->trace_id, HT_TRACE_ID_LEN, tid);
			printf("answer trace=%s unknown_trace=yes\n", tid);
			ask.unknown++;
			break;
		}
		t->answers++;
		struct verdict v = answer_check(t, m->data, m->data_len, false);
		if (v.verified)
			ask.good++;
		else
			ask.bad++;
		break;
	}
	case HT_PMSG_TRACE_COMPLETE:
		hex(m->trace_id, HT_TRACE_ID_LEN, tid);
		if (!t) {
			printf("complete trace=%s unknown_trace=yes\n", tid);
			ask.unknown++;
			break;
		}
		/* Replays share an ID: credit the first one still open. */
		for (struct trace *u = t;
		     u < ask.t + ask.n && !memcmp(u->id, t->id, HT_TRACE_ID_LEN); u++)
			if (!u->completes && !u->errors) {
				t = u;
				break;
			}
		t->completes++;
		ask.completes++;
		printf("complete trace=%s ms=%llu\n", tid,
		       (unsigned long long)((mono_us() - t->sent_us) / 1000));
		break;
	case HT_PMSG_ERROR:
		print_error(c->name, m);
		ask.errors++;
		if (t)
			t->errors++;
		break;
	default:
		printf("message type=%d from=%s ignored=yes\n", (int)m->type, c->name);
	}
	fflush(stdout);
}

static int cmd_ask(int argc, char **argv, struct conn *d, uint64_t timeout_ms, struct req_opts *ro)
{
	const char *save = NULL, *replay = NULL, *secret = NULL;
	uint32_t hop = 0, budget = 0;
	uint64_t window = 0, repeat = 1;
	static const struct option opts[] = {
		{"save-request", required_argument, NULL, 'S'},
		{"request", required_argument, NULL, 'R'},
		{"answer-secret", required_argument, NULL, 'A'},
		{"hop", required_argument, NULL, 'h'},
		{"window", required_argument, NULL, 'w'},
		{"budget", required_argument, NULL, 'b'},
		{"repeat", required_argument, NULL, 'n'},
		{"fresh", no_argument, NULL, 'f'},
		{0},
	};
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'S':
			save = optarg;
			break;
		case 'R':
			replay = optarg;
			break;
		case 'A':
			secret = optarg;
			break;
		case 'h':
			hop = (uint32_t)parse_u64("--hop", optarg);
			break;
		case 'w':
			window = parse_time("--window", optarg);
			break;
		case 'b':
			budget = (uint32_t)parse_u64("--budget", optarg);
			break;
		case 'n':
			repeat = parse_u64("--repeat", optarg);
			break;
		case 'f':
			ask.fresh = true;
			break;
		default:
			die("ask: unknown option %s", argv[optind - 1]);
		}
	}
	if (repeat < 1 || repeat > 1000000)
		die("--repeat: 1 to 1000000");
	if (replay && ask.fresh)
		die("--fresh builds new requests; it cannot go with --request");
	if (!replay && (!ro->have_call || !ro->have_time))
		die("ask: --calling, --called and --time are required (or --request FILE)");

	struct ident ini = me;
	if (ro->ikey || ro->icert)
		ident_load(&ini, ro->ikey, ro->icert);
	ask.n = repeat;
	ask.t = calloc(repeat, sizeof(*ask.t));
	if (!ask.t)
		die("out of memory");
	if (replay) {
		if (secret) {
			uint8_t *sk;
			size_t len;
			if (ht_file_read(secret, 64, true, &sk, &len) != HT_OK ||
			    len != HT_ANSWER_SK_LEN)
				die("cannot read the answer secret %s (32 octets)", secret);
			memcpy(ask.t[0].sk, sk, HT_ANSWER_SK_LEN);
			crypto_scalarmult_base(ask.t[0].pk, ask.t[0].sk);
			ask.t[0].have_sk = true;
			sodium_memzero(sk, len);
			free(sk);
		}
		load_request(replay, &ask.t[0]);
	} else {
		build_request(ro, &ini, &ask.t[0], NULL, NULL);
	}
	for (size_t i = 1; i < repeat; i++) {
		if (ask.fresh) {
			build_request(ro, &ini, &ask.t[i], NULL, NULL);
		} else {
			ask.t[i] = ask.t[0];
			ask.t[i].req = malloc(ask.t[0].req_len);
			if (!ask.t[i].req)
				die("out of memory");
			memcpy(ask.t[i].req, ask.t[0].req, ask.t[0].req_len);
		}
	}
	if (save) {
		if (ht_file_write(save, ask.t[0].req, ask.t[0].req_len, 0644, true) != HT_OK)
			die("cannot write %s", save);
		if (secret && !replay &&
		    ht_file_write(secret, ask.t[0].sk, HT_ANSWER_SK_LEN, 0600, true) != HT_OK)
			die("cannot write %s", secret);
	}
	char tid[2 * HT_TRACE_ID_LEN + 1];
	hex(ask.t[0].id, HT_TRACE_ID_LEN, tid);
	printf("request trace=%s bytes=%zu count=%llu\n", tid, ask.t[0].req_len,
	       (unsigned long long)repeat);

	/* Sorted by ID for look-ups; replays and fresh requests go out in that order. */
	qsort(ask.t, ask.n, sizeof(*ask.t), trace_cmp);
	uint64_t deadline = daemon_open(d, timeout_ms, ask_msg), start = mono_us();
	for (size_t i = 0; i < ask.n; i++) {
		ht_pmsg f = {.type = HT_PMSG_TRACE_FORWARD,
			     .data = ask.t[i].req,
			     .data_len = ask.t[i].req_len,
			     .hop = hop,
			     .window_time_ms = window,
			     .budget_ms = budget};
		ask.t[i].sent_us = mono_us();
		conn_send(d, &f);
		while (conn_unsent(d) > OUT_HIGH_WATER && !d->closed)
			pump(&d, 1, 50, ask_msg);
	}
	while (ask.completes + ask.errors < ask.n && !d->closed && mono_us() < deadline)
		pump(&d, 1, 50, ask_msg);
	bool done = ask.completes + ask.errors >= ask.n;
	if (!done)
		printf("timeout closed=%s%s%s\n", d->closed ? "yes" : "no",
		       d->closed ? " why=" : "", d->closed ? d->why : "");
	printf("summary sent=%zu answers=%u verified=%u bad=%u completes=%u errors=%u unknown=%u "
	       "elapsed_ms=%llu\n",
	       ask.n, ask.answers, ask.good, ask.bad, ask.completes, ask.errors, ask.unknown,
	       (unsigned long long)((mono_us() - start) / 1000));
	for (size_t i = 0; i < ask.n; i++)
		free(ask.t[i].req);
	free(ask.t);
	if (ini.cert != me.cert)
		free(ini.cert);
	return ask.completes >= ask.n ? 0 : 1;
}

/* ---- relay -------------------------------------------------------------- */

enum tamper { T_NONE, T_FLIP, T_SWAP, T_FORGE, T_DROP };
static const char *const tamper_names[] = {"none", "flip", "swap", "forge", "drop"};

struct rtrace {
	uint8_t id[HT_TRACE_ID_LEN];
	uint8_t req_id[HT_MSG_ID_LEN];
	uint8_t answer_pk[HT_ANSWER_PK_LEN];
	uint32_t hop;
	uint64_t window;
	unsigned relayed;
	bool done;
};

#define RELAY_TRACES_MAX 256
#define SAVED_MAX        64

static struct {
	struct conn *down, *up;
	enum tamper tamper;
	uint8_t *forge_cert;
	size_t forge_cert_len;
	char forge_id[HT_PROVIDER_ID_MAX + 1];
	struct rtrace t[RELAY_TRACES_MAX];
	size_t n, done;
	/* sealed answers relayed earlier, for --tamper swap */
	uint8_t *saved[SAVED_MAX];
	size_t saved_len[SAVED_MAX], n_saved;
	uint8_t saved_from[SAVED_MAX][HT_TRACE_ID_LEN];
	const char *save_file;
	uint64_t p3_tries, p3_opened;
	uint8_t curve_pk[32], curve_sk[32];
} rl;

static struct rtrace *rtrace_find(const uint8_t id[HT_TRACE_ID_LEN])
{
	for (size_t i = 0; i < rl.n; i++)
		if (memcmp(rl.t[i].id, id, HT_TRACE_ID_LEN) == 0)
			return &rl.t[i];
	return NULL;
}

static void send_sealed(struct conn *c, const uint8_t id[HT_TRACE_ID_LEN], const uint8_t *box,
			size_t len)
{
	ht_pmsg a = {.type = HT_PMSG_TRACE_ANSWER, .has_trace_id = true};
	memcpy(a.trace_id, id, HT_TRACE_ID_LEN);
	a.data = (uint8_t *)box;
	a.data_len = len;
	conn_send(c, &a);
}

/* The relay's own answer: FOUND, the call handed over by the upstream. */
static void relay_own_answer(const struct rtrace *t)
{
	ht_answer_info ai = {0};
	memcpy(ai.request_hash, t->req_id, HT_MSG_ID_LEN);
	snprintf(ai.provider_id, sizeof(ai.provider_id), "%s", me.id);
	snprintf(ai.asked_by, sizeof(ai.asked_by), "%s", rl.down->expect);
	ai.status = HT_ANSWER_FOUND;
	ai.answered_ms = now_ms();
	ai.hop = t->hop;
	ai.window_time_ms = t->window;
	ai.n_calls = 1;
	snprintf(ai.calls[0].upstream, sizeof(ai.calls[0].upstream), "%s", rl.up->expect);
	ai.calls[0].record_time_ms = t->window;
	uint8_t *env, *box;
	size_t env_len, box_len;
	int rc = ht_answer_sign(&ai, &me.keys, me.cert, me.cert_len, &env, &env_len);
	if (rc != HT_OK || ht_seal(env, env_len, t->answer_pk, NULL, &box, &box_len) != HT_OK)
		die("cannot sign or seal the relay's own answer: %s", ht_strerror(rc));
	send_sealed(rl.down, t->id, box, box_len);
	free(env);
	free(box);
}

/*
 * A forged answer in the upstream's name: its certificate (public) when
 * --forge-cert gave it, signed with the relay's own key, claiming the call
 * originated there. Built from the schema directly, since the library will
 * not sign for a certificate that is not the signer's.
 */
static void relay_forge(const struct rtrace *t)
{
	Hoptrace__V1__MatchedCall mc = HOPTRACE__V1__MATCHED_CALL__INIT;
	mc.originated_here = true;
	mc.customer_ref.data = (uint8_t *)"FORGED-1";
	mc.customer_ref.len = 8;
	mc.record_time_ms = t->window;
	mc.attestation = HOPTRACE__V1__ATTESTATION__ATTESTATION_A;
	Hoptrace__V1__MatchedCall *mcp = &mc;
	Hoptrace__V1__HopAnswer h = HOPTRACE__V1__HOP_ANSWER__INIT;
	h.request_hash.data = (uint8_t *)t->req_id;
	h.request_hash.len = HT_MSG_ID_LEN;
	h.provider_id.data = (uint8_t *)rl.forge_id;
	h.provider_id.len = strlen(rl.forge_id);
	h.asked_by.data = (uint8_t *)me.id;
	h.asked_by.len = strlen(me.id);
	h.status = HOPTRACE__V1__ANSWER_STATUS__ANSWER_STATUS_FOUND;
	h.answered_ms = now_ms();
	h.hop = t->hop + 1;
	h.n_calls = 1;
	h.calls = &mcp;
	h.certificate.data = rl.forge_cert;
	h.certificate.len = rl.forge_cert_len;
	h.window_time_ms = t->window;
	size_t blen = hoptrace__v1__hop_answer__get_packed_size(&h);
	uint8_t *body = malloc(blen ? blen : 1), *env, *box;
	size_t env_len, box_len;
	if (!body)
		die("out of memory");
	hoptrace__v1__hop_answer__pack(&h, body);
	if (ht_envelope_sign(HT_KIND_HOP_ANSWER, body, blen, me.keys.sign_sk, &env, &env_len) !=
		    HT_OK ||
	    ht_seal(env, env_len, t->answer_pk, NULL, &box, &box_len) != HT_OK)
		die("cannot build the forged answer");
	send_sealed(rl.down, t->id, box, box_len);
	free(body);
	free(env);
	free(box);
}

/* P3: can the relay open what it relays, with any key it holds? */
static void relay_p3(const uint8_t *box, size_t len)
{
	const uint8_t *pks[2] = {me.keys.noise_pk, rl.curve_pk};
	const uint8_t *sks[2] = {me.keys.noise_sk, rl.curve_sk};
	for (int k = 0; k < 2; k++) {
		uint8_t *pt;
		size_t pl;
		rl.p3_tries++;
		if (ht_unseal(box, len, pks[k], sks[k], &pt, &pl) == HT_OK) {
			rl.p3_opened++;
			free(pt);
		}
	}
}

static void relay_save(const uint8_t id[HT_TRACE_ID_LEN], const uint8_t *box, size_t len)
{
	if (rl.n_saved < SAVED_MAX) {
		rl.saved[rl.n_saved] = malloc(len);
		if (!rl.saved[rl.n_saved])
			die("out of memory");
		memcpy(rl.saved[rl.n_saved], box, len);
		rl.saved_len[rl.n_saved] = len;
		memcpy(rl.saved_from[rl.n_saved], id, HT_TRACE_ID_LEN);
		rl.n_saved++;
	}
	if (rl.save_file) {
		FILE *f = fopen(rl.save_file, "a");
		if (!f)
			die("cannot append to %s", rl.save_file);
		char *h = malloc(2 * len + 1), tid[2 * HT_TRACE_ID_LEN + 1];
		if (!h)
			die("out of memory");
		hex(box, len, h);
		hex(id, HT_TRACE_ID_LEN, tid);
		fprintf(f, "%s %s\n", tid, h);
		free(h);
		fclose(f);
	}
}

static void relay_load(const char *path)
{
	FILE *f = fopen(path, "r");
	if (!f)
		die("cannot read %s", path);
	char *line = NULL;
	size_t cap = 0;
	while (getline(&line, &cap, f) > 0 && rl.n_saved < SAVED_MAX) {
		char *sp = strchr(line, ' ');
		if (!sp)
			continue;
		size_t hl = strcspn(sp + 1, "\n"), bl;
		uint8_t *b = malloc(hl / 2 + 1), id[HT_TRACE_ID_LEN];
		if (!b)
			die("out of memory");
		if (sodium_hex2bin(b, hl / 2 + 1, sp + 1, hl, NULL, &bl, NULL) != 0 ||
		    sodium_hex2bin(id, sizeof(id), line, (size_t)(sp - line), NULL, NULL, NULL) !=
			    0)
			die("%s: not a saved answer line", path);
		rl.saved[rl.n_saved] = b;
		rl.saved_len[rl.n_saved] = bl;
		memcpy(rl.saved_from[rl.n_saved], id, HT_TRACE_ID_LEN);
		rl.n_saved++;
	}
	free(line);
	fclose(f);
}

static void relay_upstream_answer(struct rtrace *t, const ht_pmsg *m)
{
	char tid[2 * HT_TRACE_ID_LEN + 1];
	hex(t->id, HT_TRACE_ID_LEN, tid);
	relay_p3(m->data, m->data_len);
	unsigned n = ++t->relayed;
	const char *action = "forwarded";
	bool first = n == 1;
	switch (rl.tamper) {
	case T_NONE:
		send_sealed(rl.down, t->id, m->data, m->data_len);
		break;
	case T_FLIP:
		if (first) {
			uint8_t *b = malloc(m->data_len);
			if (!b)
				die("out of memory");
			memcpy(b, m->data, m->data_len);
			b[m->data_len / 2] ^= 0x01;
			send_sealed(rl.down, t->id, b, m->data_len);
			free(b);
			action = "flipped";
		} else {
			send_sealed(rl.down, t->id, m->data, m->data_len);
		}
		break;
	case T_SWAP: {
		/* Replace the first answer with one relayed for another trace. */
		ssize_t pick = -1;
		for (size_t i = 0; i < rl.n_saved && first; i++)
			if (memcmp(rl.saved_from[i], t->id, HT_TRACE_ID_LEN) != 0) {
				pick = (ssize_t)i;
				break;
			}
		if (pick >= 0) {
			send_sealed(rl.down, t->id, rl.saved[pick], rl.saved_len[pick]);
			action = "replayed";
		} else {
			send_sealed(rl.down, t->id, m->data, m->data_len);
			action = "forwarded_nothing_to_swap";
		}
		break;
	}
	case T_FORGE:
		if (first) {
			relay_forge(t);
			action = "forged";
		} else {
			send_sealed(rl.down, t->id, m->data, m->data_len);
		}
		break;
	case T_DROP:
		action = "dropped";
		break;
	}
	relay_save(t->id, m->data, m->data_len);
	printf("relay trace=%s answer=%u bytes=%zu action=%s\n", tid, n, m->data_len, action);
}

static void relay_msg(struct conn *c, const ht_pmsg *m)
{
	char tid[2 * HT_TRACE_ID_LEN + 1];
	if (c == rl.down) {
		if (m->type != HT_PMSG_TRACE_FORWARD) {
			if (m->type == HT_PMSG_ERROR)
				print_error("down", m);
			else
				printf("message from=down type=%d ignored=yes\n", (int)m->type);
			fflush(stdout);
			return;
		}
		ht_request *r = NULL;
		int rc = ht_request_parse(m->data, m->data_len, &r);
		if (rc != HT_OK || rl.n == RELAY_TRACES_MAX) {
			printf("forward from=down parses=no error=%s\n", ht_errname(rc));
			ht_request_free(r);
			fflush(stdout);
			return;
		}
		const ht_request_info *ri = ht_request_get(r);
		struct rtrace *t = &rl.t[rl.n++];
		memcpy(t->id, ri->trace_id, HT_TRACE_ID_LEN);
		memcpy(t->req_id, ht_request_id(r), HT_MSG_ID_LEN);
		memcpy(t->answer_pk, ri->answer_pk, HT_ANSWER_PK_LEN);
		t->hop = m->hop;
		t->window = m->hop > 0 && m->window_time_ms ? m->window_time_ms : ri->call_time_ms;
		ht_reason why;
		rc = ht_request_verify(r, trust, now_ms(), &why);
		hex(t->id, HT_TRACE_ID_LEN, tid);
		printf("forward from=down trace=%s hop=%u window=%llu budget=%u verifies=%s\n", tid,
		       m->hop, (unsigned long long)t->window, m->budget_ms,
		       rc == HT_OK ? "yes" : ht_reason_name(why));
		ht_request_free(r);
		relay_own_answer(t);
		uint32_t budget = m->budget_ms ? m->budget_ms * 7 / 8 : 0;
		ht_pmsg f = {.type = HT_PMSG_TRACE_FORWARD,
			     .data = m->data,
			     .data_len = m->data_len,
			     .hop = m->hop + 1,
			     .window_time_ms = t->window,
			     .budget_ms = budget > 50 ? budget - 50 : budget};
		conn_send(rl.up, &f);
	} else {
		struct rtrace *t = m->has_trace_id || m->type != HT_PMSG_ERROR
					   ? rtrace_find(m->trace_id)
					   : NULL;
		if (m->type == HT_PMSG_ERROR)
			print_error("up", m);
		if (!t) {
			hex(m->trace_id, HT_TRACE_ID_LEN, tid);
			if (m->type != HT_PMSG_ERROR)
				printf("message from=up type=%d trace=%s unknown_trace=yes\n",
				       (int)m->type, tid);
			fflush(stdout);
			return;
		}
		hex(t->id, HT_TRACE_ID_LEN, tid);
		if (m->type == HT_PMSG_TRACE_ANSWER) {
			relay_upstream_answer(t, m);
		} else if ((m->type == HT_PMSG_TRACE_COMPLETE || m->type == HT_PMSG_ERROR) &&
			   !t->done) {
			ht_pmsg done = {.type = HT_PMSG_TRACE_COMPLETE, .has_trace_id = true};
			memcpy(done.trace_id, t->id, HT_TRACE_ID_LEN);
			conn_send(rl.down, &done);
			t->done = true;
			rl.done++;
			printf("complete trace=%s relayed=%u\n", tid, t->relayed);
		}
	}
	fflush(stdout);
}

static int cmd_relay(int argc, char **argv, uint64_t timeout_ms, const struct req_opts *ro,
		     const char *down_spec, const char *up_spec)
{
	uint64_t traces = 1;
	const char *replay = NULL;
	static const struct option opts[] = {
		{"tamper", required_argument, NULL, 't'},
		{"forge-cert", required_argument, NULL, 'F'},
		{"traces", required_argument, NULL, 'n'},
		{"save-answers", required_argument, NULL, 'S'},
		{"replay-answers", required_argument, NULL, 'R'},
		{0},
	};
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 't': {
			size_t i = 0;
			while (i < 5 && strcmp(optarg, tamper_names[i]) != 0)
				i++;
			if (i == 5)
				die("--tamper: none, flip, swap, forge or drop");
			rl.tamper = (enum tamper)i;
			break;
		}
		case 'F': {
			ht_cert *c;
			if (ht_file_read(optarg, HT_CERT_MAX, false, &rl.forge_cert,
					 &rl.forge_cert_len) != HT_OK ||
			    ht_cert_parse(rl.forge_cert, rl.forge_cert_len, &c) != HT_OK)
				die("cannot load the certificate %s", optarg);
			snprintf(rl.forge_id, sizeof(rl.forge_id), "%s",
				 ht_cert_get_info(c)->provider_id);
			ht_cert_free(c);
			break;
		}
		case 'n':
			traces = parse_u64("--traces", optarg);
			break;
		case 'S':
			rl.save_file = optarg;
			break;
		case 'R':
			replay = optarg;
			break;
		default:
			die("relay: unknown option %s", argv[optind - 1]);
		}
	}
	if (!down_spec || !up_spec)
		die("relay: --down and --up are required");
	if (!ro->have_call)
		die("relay: --calling and --called are required (for the P2 check)");
	if (traces < 1 || traces > RELAY_TRACES_MAX)
		die("--traces: 1 to %d", RELAY_TRACES_MAX);
	if (replay)
		relay_load(replay);
	p2_setup(ro->calling, ro->called);
	/* P3's check must be able to say yes: a box sealed to our key opens. */
	if (crypto_sign_ed25519_pk_to_curve25519(rl.curve_pk, me.keys.sign_pk) != 0 ||
	    crypto_sign_ed25519_sk_to_curve25519(rl.curve_sk, me.keys.sign_sk) != 0)
		die("cannot derive an X25519 key from the signing key");
	for (int k = 0; k < 2; k++) {
		const uint8_t *pk = k ? rl.curve_pk : me.keys.noise_pk;
		const uint8_t *sk = k ? rl.curve_sk : me.keys.noise_sk;
		uint8_t *box, *pt;
		size_t bl, pl;
		if (ht_seal((const uint8_t *)"x", 1, pk, NULL, &box, &bl) != HT_OK ||
		    ht_unseal(box, bl, pk, sk, &pt, &pl) != HT_OK)
			die("P3 self-check: cannot open a box sealed to our own key");
		free(box);
		free(pt);
	}
	if (!rl.forge_cert) {
		/* No upstream certificate given: the relay's own, under the upstream's name. */
		rl.forge_cert = me.cert;
		rl.forge_cert_len = me.cert_len;
	}

	static struct conn down, up;
	conn_spec(&down, "down", down_spec);
	conn_spec(&up, "up", up_spec);
	if (!rl.forge_id[0])
		snprintf(rl.forge_id, sizeof(rl.forge_id), "%s", up.expect);
	rl.down = &down;
	rl.up = &up;
	uint64_t deadline = mono_us() + timeout_ms * 1000;
	struct conn *both[2] = {&down, &up};
	conn_open(&down, NULL, 0, deadline, relay_msg);
	conn_open(&up, both, 1, deadline, relay_msg);
	printf("ready tamper=%s\n", tamper_names[rl.tamper]);
	fflush(stdout);
	while (rl.done < traces && !down.closed && !up.closed && mono_us() < deadline)
		pump(both, 2, 50, relay_msg);
	/* Let the last messages leave. */
	uint64_t until = mono_us() + 200000;
	while (!down.closed && (conn_unsent(&down) || mono_us() < until))
		pump(both, 2, 20, relay_msg);
	bool ok = rl.done >= traces;
	if (!ok)
		printf("timeout traces_done=%zu down=%s up=%s\n", rl.done,
		       down.closed ? down.why : "open", up.closed ? up.why : "open");
	if (p2.found >= 0)
		printf("p2 numbers_in_clear=yes form=%s messages=%llu bytes=%llu\n",
		       p2.name[p2.found], (unsigned long long)p2.messages,
		       (unsigned long long)p2.bytes);
	else
		printf("p2 numbers_in_clear=no forms=%zu messages=%llu bytes=%llu\n", p2.n,
		       (unsigned long long)p2.messages, (unsigned long long)p2.bytes);
	printf("p3 readable=%s tried=%llu opened=%llu\n", rl.p3_opened ? "yes" : "no",
	       (unsigned long long)rl.p3_tries, (unsigned long long)rl.p3_opened);
	for (size_t i = 0; i < rl.n_saved; i++)
		free(rl.saved[i]);
	if (rl.forge_cert != me.cert)
		free(rl.forge_cert);
	return ok ? 0 : 1;
}

/* ---- stream ------------------------------------------------------------- */

static struct {
	struct trace *t; /* sorted by ID */
	size_t n;
	uint64_t answers, completes, errors, unknown;
	uint64_t verify_every;
	/* sampled sealed answers, checked after the timed part */
	uint8_t **sample;
	size_t *sample_len;
	size_t *sample_trace;
	size_t n_sample, cap_sample;
	uint64_t last_us, last_rx_us;
} st;

static void stream_msg(struct conn *c, const ht_pmsg *m)
{
	(void)c;
	st.last_rx_us = mono_us();
	switch (m->type) {
	case HT_PMSG_TRACE_ANSWER:
		st.answers++;
		if (st.verify_every && st.answers % st.verify_every == 0) {
			struct trace *t = trace_find(st.t, st.n, m->trace_id);
			if (!t) {
				st.unknown++;
				break;
			}
			if (st.n_sample == st.cap_sample) {
				st.cap_sample = st.cap_sample ? 2 * st.cap_sample : 1024;
				st.sample = realloc(st.sample, st.cap_sample * sizeof(*st.sample));
				st.sample_len = realloc(st.sample_len,
							st.cap_sample * sizeof(*st.sample_len));
				st.sample_trace = realloc(st.sample_trace,
							  st.cap_sample * sizeof(*st.sample_trace));
				if (!st.sample || !st.sample_len || !st.sample_trace)
					die("out of memory");
			}
			uint8_t *b = malloc(m->data_len);
			if (!b)
				die("out of memory");
			memcpy(b, m->data, m->data_len);
			st.sample[st.n_sample] = b;
			st.sample_len[st.n_sample] = m->data_len;
			st.sample_trace[st.n_sample] = (size_t)(t - st.t);
			st.n_sample++;
		}
		break;
	case HT_PMSG_TRACE_COMPLETE:
		st.completes++;
		st.last_us = mono_us();
		break;
	case HT_PMSG_ERROR:
		st.errors++;
		st.last_us = mono_us();
		if (st.errors <= 5)
			print_error("daemon", m);
		break;
	default:
		break;
	}
}

static int cmd_stream(int argc, char **argv, struct conn *d, uint64_t timeout_ms,
		      struct req_opts *ro)
{
	uint64_t count = 1000, outstanding = 64, window = 0, idle_ms = 0;
	uint32_t hop = 0, budget = 0;
	st.verify_every = 1;
	static const struct option opts[] = {
		{"count", required_argument, NULL, 'n'},
		{"outstanding", required_argument, NULL, 'W'},
		{"verify-every", required_argument, NULL, 'v'},
		{"hop", required_argument, NULL, 'h'},
		{"window", required_argument, NULL, 'w'},
		{"budget", required_argument, NULL, 'b'},
		{"idle", required_argument, NULL, 'i'},
		{0},
	};
	int o;
	optind = 1;
	opterr = 0;
	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'i':
			idle_ms = parse_u64("--idle", optarg);
			break;
		case 'n':
			count = parse_u64("--count", optarg);
			break;
		case 'W':
			outstanding = parse_u64("--outstanding", optarg);
			break;
		case 'v':
			st.verify_every = parse_u64("--verify-every", optarg);
			break;
		case 'h':
			hop = (uint32_t)parse_u64("--hop", optarg);
			break;
		case 'w':
			window = parse_time("--window", optarg);
			break;
		case 'b':
			budget = (uint32_t)parse_u64("--budget", optarg);
			break;
		default:
			die("stream: unknown option %s", argv[optind - 1]);
		}
	}
	if (count < 1 || count > 10000000)
		die("--count: 1 to 10000000");
	if (!outstanding || outstanding > count)
		outstanding = count;
	if (!ro->have_call || !ro->have_time)
		die("stream: --calling, --called and --time are required");
	struct ident ini = me;
	if (ro->ikey || ro->icert)
		ident_load(&ini, ro->ikey, ro->icert);

	/* Pre-build, untimed: distinct IDs, one answer key for all. */
	uint8_t pk[HT_ANSWER_PK_LEN], sk[HT_ANSWER_SK_LEN];
	crypto_box_keypair(pk, sk);
	st.n = count;
	st.t = calloc(count, sizeof(*st.t));
	struct trace **order = calloc(count, sizeof(*order));
	if (!st.t || !order)
		die("out of memory");
	uint64_t b0 = mono_us();
	for (size_t i = 0; i < count; i++)
		build_request(ro, &ini, &st.t[i], pk, sk);
	qsort(st.t, count, sizeof(*st.t), trace_cmp);
	for (size_t i = 1; i < count; i++)
		if (!memcmp(st.t[i].id, st.t[i - 1].id, HT_TRACE_ID_LEN))
			die("two pre-built requests share a trace ID");
	/* Send in a random order that does not follow the IDs. */
	for (size_t i = 0; i < count; i++)
		order[i] = &st.t[i];
	for (size_t i = count - 1; i > 0; i--) {
		size_t j = randombytes_uniform((uint32_t)(i + 1));
		struct trace *x = order[i];
		order[i] = order[j];
		order[j] = x;
	}
	printf("prebuilt requests=%llu bytes=%zu seconds=%.3f\n", (unsigned long long)count,
	       st.t[0].req_len, (double)(mono_us() - b0) / 1e6);
	fflush(stdout);

	size_t sent = 0, max_out = 0;
	uint64_t deadline = daemon_open(d, timeout_ms, stream_msg), start = mono_us();
	st.last_us = st.last_rx_us = start;
	bool idle = false;
	while ((sent < count || st.completes + st.errors < sent) && !d->closed &&
	       mono_us() < deadline) {
		/* Everything sent and nothing heard for a while: what is missing was dropped. */
		if (idle_ms && sent == count && mono_us() - st.last_rx_us > idle_ms * 1000) {
			idle = true;
			break;
		}
		while (sent < count && sent - (st.completes + st.errors) < outstanding &&
		       conn_unsent(d) < OUT_HIGH_WATER && !d->closed) {
			ht_pmsg f = {.type = HT_PMSG_TRACE_FORWARD,
				     .data = order[sent]->req,
				     .data_len = order[sent]->req_len,
				     .hop = hop,
				     .window_time_ms = window,
				     .budget_ms = budget};
			order[sent]->sent_us = mono_us();
			conn_send(d, &f);
			sent++;
		}
		size_t out = sent - (st.completes + st.errors);
		if (out > max_out)
			max_out = out;
		pump(&d, 1, 50, stream_msg);
	}
	double secs = (double)(st.last_us - start) / 1e6;
	bool done = sent == count && st.completes + st.errors >= count;
	if (!done)
		printf("%s sent=%zu completes=%llu closed=%s\n", idle ? "idle" : "timeout", sent,
		       (unsigned long long)st.completes, d->closed ? d->why : "no");
	printf("answers %llu seconds %.3f rate %.1f\n", (unsigned long long)st.answers, secs,
	       secs > 0 ? (double)st.answers / secs : 0.0);
	printf("stream sent=%zu completes=%llu errors=%llu unknown=%llu max_outstanding=%zu\n",
	       sent, (unsigned long long)st.completes, (unsigned long long)st.errors,
	       (unsigned long long)st.unknown, max_out);

	/* The sample, opened and verified after the clock stopped. */
	uint64_t bad = 0, by_status[5] = {0}, by_reason[32] = {0};
	for (size_t i = 0; i < st.n_sample; i++) {
		struct verdict v = answer_check(&st.t[st.sample_trace[i]], st.sample[i],
						st.sample_len[i], true);
		if (!v.verified)
			bad++;
		if (v.parsed && v.status < 5)
			by_status[v.status]++;
		if (v.parsed && v.reason < 32)
			by_reason[v.reason]++;
		free(st.sample[i]);
	}
	printf("verified sample=%zu bad=%llu found=%llu not_found=%llu refused=%llu dead_end=%llu",
	       st.n_sample, (unsigned long long)bad, (unsigned long long)by_status[1],
	       (unsigned long long)by_status[2], (unsigned long long)by_status[3],
	       (unsigned long long)by_status[4]);
	for (int r = 1; r < 32; r++)
		if (by_reason[r])
			printf(" %s=%llu", ht_reason_name((uint32_t)r),
			       (unsigned long long)by_reason[r]);
	printf("\n");
	for (size_t i = 0; i < count; i++)
		free(st.t[i].req);
	free(st.t);
	free(order);
	free(st.sample);
	free(st.sample_len);
	free(st.sample_trace);
	if (ini.cert != me.cert)
		free(ini.cert);
	sodium_memzero(sk, sizeof(sk));
	return done && !bad && !st.unknown ? 0 : 1;
}

/* ---- main --------------------------------------------------------------- */

static void usage(FILE *f)
{
	fprintf(f,
		"usage: ht_tracer ask|relay|stream --key K --cert C --anchor A.pub [options]\n"
		"connections ([dial:|listen:]ID@HOST:PORT; dial is the default):\n"
		"  --daemon SPEC            ask, stream: the daemon to ask\n"
		"  --down SPEC --up SPEC    relay: the daemon below (it forwards to us) and above\n"
		"common:\n"
		"  --timeout MS             overall bound (default 10000)\n"
		"  --calling N --called N --time T   the call (T: ms, RFC 3339, or +/-ms from "
		"now)\n"
		"request (ask, stream):\n"
		"  --initiator-key K --initiator-cert C   sign as this initiator (default: "
		"--key/--cert)\n"
		"  --tolerance MS (5000) --hop-limit N (16) --lifetime S (60) --hint-bits N (12)\n"
		"  --created T --expires T  override the request's times (ms, or +/-ms from now)\n"
		"  --label TEXT\n"
		"ask:    --hop N --window MS --budget MS --repeat N [--fresh]\n"
		"        --save-request F [--answer-secret F]; --request F [--answer-secret F]\n"
		"relay:  --tamper none|flip|swap|forge|drop [--forge-cert UPSTREAM.cert]\n"
		"        --traces N --save-answers F --replay-answers F\n"
		"stream: --count N --outstanding W (0: all) --verify-every K (0: none) --idle MS\n"
		"        --hop N --window MS --budget MS\n");
}

int main(int argc, char **argv)
{
	if (argc < 2 || !strcmp(argv[1], "--help") || !strcmp(argv[1], "-h")) {
		usage(argc < 2 ? stderr : stdout);
		return argc < 2 ? 2 : 0;
	}
	const char *mode = argv[1];
	if (strcmp(mode, "ask") && strcmp(mode, "relay") && strcmp(mode, "stream")) {
		usage(stderr);
		return 2;
	}
	if (ht_init() != HT_OK)
		die("cannot initialise the library");
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	/* Common options first; the rest go to the mode's own parser. */
	const char *key = NULL, *cert = NULL, *anchor = NULL, *daemon_spec = NULL,
		   *down_spec = NULL, *up_spec = NULL;
	uint64_t timeout_ms = 10000;
	struct req_opts ro = {
		.tolerance = 5000, .hop_limit = 16, .hint_bits = 12, .lifetime_s = 60};
	char **rest = calloc((size_t)argc + 1, sizeof(*rest));
	int nrest = 0;
	if (!rest)
		die("out of memory");
	rest[nrest++] = argv[0];
	bool have_calling = false, have_called = false;
	static const char *const common[] = {
		"--key",       "--cert",      "--anchor",        "--daemon",
		"--down",      "--up",        "--timeout",       "--calling",
		"--called",    "--time",      "--initiator-key", "--initiator-cert",
		"--tolerance", "--hop-limit", "--lifetime",      "--hint-bits",
		"--created",   "--expires",   "--label",         NULL};
	for (int i = 2; i < argc; i++) {
		const char *a = argv[i];
		size_t k = 0;
		while (common[k] && strcmp(a, common[k]) != 0)
			k++;
		if (!common[k]) {
			rest[nrest++] = argv[i];
			continue;
		}
		if (i + 1 >= argc)
			die("%s needs a value", a);
		const char *v = argv[++i];
		if (!strcmp(a, "--key"))
			key = v;
		else if (!strcmp(a, "--cert"))
			cert = v;
		else if (!strcmp(a, "--anchor"))
			anchor = v;
		else if (!strcmp(a, "--daemon"))
			daemon_spec = v;
		else if (!strcmp(a, "--down"))
			down_spec = v;
		else if (!strcmp(a, "--up"))
			up_spec = v;
		else if (!strcmp(a, "--timeout"))
			timeout_ms = parse_u64(a, v);
		else if (!strcmp(a, "--calling")) {
			number_arg(a, v, ro.calling);
			have_calling = true;
		} else if (!strcmp(a, "--called")) {
			number_arg(a, v, ro.called);
			have_called = true;
		} else if (!strcmp(a, "--time")) {
			ro.call_time = parse_time(a, v);
			ro.have_time = true;
		} else if (!strcmp(a, "--initiator-key"))
			ro.ikey = v;
		else if (!strcmp(a, "--initiator-cert"))
			ro.icert = v;
		else if (!strcmp(a, "--tolerance"))
			ro.tolerance = (uint32_t)parse_u64(a, v);
		else if (!strcmp(a, "--hop-limit"))
			ro.hop_limit = (uint32_t)parse_u64(a, v);
		else if (!strcmp(a, "--lifetime"))
			ro.lifetime_s = (uint32_t)parse_u64(a, v);
		else if (!strcmp(a, "--hint-bits"))
			ro.hint_bits = (uint32_t)parse_u64(a, v);
		else if (!strcmp(a, "--created")) {
			ro.created = parse_time(a, v);
			ro.have_created = true;
		} else if (!strcmp(a, "--expires")) {
			ro.expires = parse_time(a, v);
			ro.have_expires = true;
		} else {
			ro.label = v;
		}
	}
	ro.have_call = have_calling && have_called;
	if (!key || !cert || !anchor)
		die("--key, --cert and --anchor are required");
	if ((ro.ikey != NULL) != (ro.icert != NULL))
		die("--initiator-key and --initiator-cert go together");
	ident_load(&me, key, cert);
	ht_keys an;
	if (ht_keys_load_public(anchor, HT_KEYS_ANCHOR, &an) != HT_OK ||
	    ht_trust_new(&trust) != HT_OK || ht_trust_add_anchor(trust, an.sign_pk) != HT_OK)
		die("cannot load the anchor %s", anchor);

	int rc;
	if (!strcmp(mode, "relay")) {
		rc = cmd_relay(nrest, rest, timeout_ms, &ro, down_spec, up_spec);
	} else {
		if (!daemon_spec)
			die("%s: --daemon is required", mode);
		static struct conn d;
		conn_spec(&d, "daemon", daemon_spec);
		/* Each mode parses and builds first, then connects. */
		rc = !strcmp(mode, "ask") ? cmd_ask(nrest, rest, &d, timeout_ms, &ro)
					  : cmd_stream(nrest, rest, &d, timeout_ms, &ro);
		if (d.fd >= 0)
			close(d.fd);
		ht_session_free(d.s);
		free(d.rd);
		free(d.out);
	}
	free(rest);
	free(me.cert);
	ht_keys_wipe(&me.keys);
	ht_trust_free(trust);
	return rc;
}
