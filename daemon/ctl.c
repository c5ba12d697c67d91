/*
 * The control socket server (spec/control.md): a Unix stream socket, mode
 * 0660, speaking the length-prefixed protobuf codec of lib/control.c. A slow
 * or stuck client is bounded by an idle timer and a cap on queued output, so
 * it can never stall the daemon.
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <unistd.h>

#include "hoptrace/control.h"
#include "hoptraced.h"
#include "log.h"

#define CTL_MAX_CLIENTS 64
#define CTL_IDLE_MS     30000
#define CTL_MAX_QUEUED  (4u << 20)

struct ctl_server {
	uv_pipe_t pipe;
	struct hd_daemon *d;
	size_t n_clients;
	struct ctl_client *clients;
	bool bound, pipe_closed;
};

struct ctl_client {
	uv_pipe_t pipe;
	uv_timer_t idle;
	struct ctl_server *srv;
	ht_ctl_reader rd;
	bool hello_done, closing, close_after_write;
	size_t queued;
	int handles_open;
	struct ctl_client *next;
};

/* The server lives until its pipe and every client have closed. */
static void server_maybe_free(struct ctl_server *srv)
{
	if (srv->pipe_closed && srv->n_clients == 0)
		free(srv);
}

static void on_client_closed(uv_handle_t *h)
{
	struct ctl_client *c = h->data;
	if (--c->handles_open > 0)
		return;
	struct ctl_server *srv = c->srv;
	for (struct ctl_client **pp = &srv->clients; *pp; pp = &(*pp)->next) {
		if (*pp == c) {
			*pp = c->next;
			break;
		}
	}
	srv->n_clients--;
	ht_ctl_reader_free(&c->rd);
	free(c);
	server_maybe_free(srv);
}

static void client_close(struct ctl_client *c)
{
	if (c->closing)
		return;
	c->closing = true;
	uv_close((uv_handle_t *)&c->idle, on_client_closed);
	uv_close((uv_handle_t *)&c->pipe, on_client_closed);
}

struct ctl_write {
	uv_write_t req;
	struct ctl_client *c;
	uint8_t *buf;
	size_t len;
};

static void on_write(uv_write_t *req, int status)
{
	struct ctl_write *w = (struct ctl_write *)req;
	struct ctl_client *c = w->c;
	c->queued -= w->len;
	free(w->buf);
	free(w);
	if (status < 0 || (c->close_after_write && c->queued == 0))
		client_close(c);
}

static void client_send(struct ctl_client *c, const ht_ctl_response *resp)
{
	uint8_t *body, *frame;
	size_t blen, flen;
	if (ht_ctl_encode_response(resp, &body, &blen) != HT_OK) {
		log_error("control: cannot encode a response");
		client_close(c);
		return;
	}
	int rc = ht_ctl_frame(body, blen, &frame, &flen);
	free(body);
	if (rc != HT_OK || c->queued + flen > CTL_MAX_QUEUED) {
		if (rc == HT_OK)
			log_warn("control: client is not reading its responses; dropping it");
		free(rc == HT_OK ? frame : NULL);
		client_close(c);
		return;
	}
	struct ctl_write *w = malloc(sizeof(*w));
	if (!w) {
		free(frame);
		client_close(c);
		return;
	}
	w->c = c;
	w->buf = frame;
	w->len = flen;
	uv_buf_t b = uv_buf_init((char *)frame, (unsigned)flen);
	if (uv_write(&w->req, (uv_stream_t *)&c->pipe, &b, 1, on_write) < 0) {
		free(frame);
		free(w);
		client_close(c);
		return;
	}
	c->queued += flen;
}

static void fill_status(struct hd_daemon *d, ht_ctl_status *s)
{
	snprintf(s->daemon_version, sizeof(s->daemon_version), "%s", ht_version());
	snprintf(s->provider_id, sizeof(s->provider_id), "%s", d->cfg.provider_id);
	s->uptime_s = (hd_now_ms() - d->started_ms) / 1000;
	s->peers_total = (uint32_t)d->n_peers;
	for (size_t i = 0; i < d->n_peers; i++)
		if (d->peers[i]->state == HD_ESTABLISHED)
			s->peers_up++;
	s->msgs_in = d->counters.msgs_in;
	s->msgs_out = d->counters.msgs_out;
	s->bytes_in = d->counters.bytes_in;
	s->bytes_out = d->counters.bytes_out;
	s->handshakes_ok = d->counters.handshakes_ok;
	s->handshakes_failed = d->counters.handshakes_failed;
	s->conns_refused = d->counters.conns_refused;
}

static ht_ctl_peer *fill_peers(struct hd_daemon *d, size_t *n)
{
	ht_ctl_peer *ps = calloc(d->n_peers ? d->n_peers : 1, sizeof(*ps));
	if (!ps)
		return NULL;
	for (size_t i = 0; i < d->n_peers; i++) {
		const struct hd_peer *p = d->peers[i];
		ht_ctl_peer *o = &ps[i];
		snprintf(o->provider_id, sizeof(o->provider_id), "%s", p->cfg.id);
		snprintf(o->address, sizeof(o->address), "%s", p->cfg.address);
		snprintf(o->state, sizeof(o->state), "%s", hd_state_name(p->state));
		o->since_ms = p->since_ms;
		o->last_seen_ms = p->last_seen_ms;
		o->rtt_us = p->rtt_us;
		o->msgs_in = p->msgs_in;
		o->msgs_out = p->msgs_out;
		o->bytes_in = p->bytes_in;
		o->bytes_out = p->bytes_out;
		ht_ctl_text_clean(o->last_error, sizeof(o->last_error), p->last_error,
				  strlen(p->last_error));
	}
	*n = d->n_peers;
	return ps;
}

static void handle(struct ctl_client *c, const uint8_t *body, size_t len)
{
	struct hd_daemon *d = c->srv->d;
	ht_ctl_request req;
	ht_ctl_response resp;
	int32_t r = ht_ctl_admit(body, len, c->hello_done, &req, &resp);
	if (r == HT_CTL_RESULT_OK) {
		if (req.type == HT_CTL_HELLO)
			c->hello_done = true;
		else if (req.type == HT_CTL_STATUS)
			fill_status(d, &resp.status);
		else if (req.type == HT_CTL_PEERS && d->n_peers > HT_CTL_MAX_PEERS)
			ht_ctl_response_set(&resp, HT_CTL_RESULT_ERROR,
					    "more peers than one response can carry");
		else if (req.type == HT_CTL_PEERS && !(resp.peers = fill_peers(d, &resp.n_peers)))
			ht_ctl_response_set(&resp, HT_CTL_RESULT_ERROR, "out of memory");
	} else {
		log_warn("control: request refused: %s%s%s", ht_ctl_result_name(r),
			 resp.detail[0] ? ": " : "", resp.detail);
	}
	if (ht_ctl_result_closes(resp.result))
		c->close_after_write = true;
	client_send(c, &resp);
	free(resp.peers);
}

static void on_alloc(uv_handle_t *h, size_t suggested, uv_buf_t *buf)
{
	(void)h;
	(void)suggested;
	static char slab[16384];
	*buf = uv_buf_init(slab, sizeof(slab));
}

static void on_read(uv_stream_t *s, ssize_t n, const uv_buf_t *buf)
{
	struct ctl_client *c = s->data;
	if (n < 0) {
		client_close(c);
		return;
	}
	uv_timer_again(&c->idle);
	const uint8_t *p = (const uint8_t *)buf->base;
	size_t len = (size_t)n;
	while (len > 0 && !c->closing && !c->close_after_write) {
		size_t used;
		if (ht_ctl_reader_feed(&c->rd, p, len, &used) != HT_OK) {
			log_warn("control: oversized or broken frame; dropping the client");
			client_close(c);
			return;
		}
		p += used;
		len -= used;
		const uint8_t *body;
		size_t blen;
		if (ht_ctl_reader_frame(&c->rd, &body, &blen))
			handle(c, body, blen);
	}
}

static void on_idle(uv_timer_t *t)
{
	client_close(t->data);
}

static void on_connection(uv_stream_t *server, int status)
{
	struct ctl_server *srv = server->data;
	if (status < 0)
		return;
	struct ctl_client *c = calloc(1, sizeof(*c));
	if (!c)
		return;
	c->srv = srv;
	srv->n_clients++;
	c->next = srv->clients;
	srv->clients = c;
	uv_pipe_init(srv->d->loop, &c->pipe, 0);
	uv_timer_init(srv->d->loop, &c->idle);
	c->pipe.data = c->idle.data = c;
	c->handles_open = 2;
	ht_ctl_reader_init(&c->rd);
	if (uv_accept(server, (uv_stream_t *)&c->pipe) != 0 || srv->n_clients > CTL_MAX_CLIENTS) {
		if (srv->n_clients > CTL_MAX_CLIENTS)
			log_warn("control: more than %d clients; refusing one", CTL_MAX_CLIENTS);
		client_close(c);
		return;
	}
	uv_timer_start(&c->idle, on_idle, CTL_IDLE_MS, CTL_IDLE_MS);
	uv_read_start((uv_stream_t *)&c->pipe, on_alloc, on_read);
}

/* A socket file left by a daemon that died: remove it, unless one answers. */
static int clear_stale(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return 0;
	if (!S_ISSOCK(st.st_mode)) {
		log_error("control socket %s exists and is not a socket", path);
		return -1;
	}
	int fd = socket(AF_UNIX, SOCK_STREAM, 0);
	struct sockaddr_un sa = {.sun_family = AF_UNIX};
	snprintf(sa.sun_path, sizeof(sa.sun_path), "%s", path);
	int live = fd >= 0 && connect(fd, (struct sockaddr *)&sa, sizeof(sa)) == 0;
	if (fd >= 0)
		close(fd);
	if (live) {
		log_error("control socket %s is in use: is another hoptraced running?", path);
		return -1;
	}
	return unlink(path);
}

int hd_ctl_start(struct hd_daemon *d)
{
	struct ctl_server *srv = calloc(1, sizeof(*srv));
	if (!srv)
		return -1;
	srv->d = d;
	d->ctl = srv;
	uv_pipe_init(d->loop, &srv->pipe, 0);
	srv->pipe.data = srv;
	const char *path = d->cfg.control_socket;
	if (strlen(path) >= sizeof(((struct sockaddr_un *)0)->sun_path)) {
		log_error("control socket path too long: %s", path);
		return -1;
	}
	if (clear_stale(path) != 0)
		return -1;
	/* Never more open than 0660, not even between bind and chmod. */
	mode_t old = umask(0117);
	int rc = uv_pipe_bind(&srv->pipe, path);
	umask(old);
	if (rc == 0) {
		srv->bound = true;
		if (chmod(path, HT_CTL_SOCKET_MODE) != 0)
			rc = -errno;
	}
	if (rc == 0)
		rc = uv_listen((uv_stream_t *)&srv->pipe, 16, on_connection);
	if (rc < 0) {
		log_error("control socket %s: %s", path, uv_strerror(rc));
		return -1;
	}
	log_info("control socket %s", path);
	return 0;
}

static void on_server_closed(uv_handle_t *h)
{
	struct ctl_server *srv = h->data;
	srv->pipe_closed = true;
	server_maybe_free(srv);
}

void hd_ctl_stop(struct hd_daemon *d)
{
	struct ctl_server *srv = d->ctl;
	if (!srv)
		return;
	d->ctl = NULL;
	if (srv->bound)
		unlink(d->cfg.control_socket);
	for (struct ctl_client *c = srv->clients; c; c = c->next)
		client_close(c);
	uv_close((uv_handle_t *)&srv->pipe, on_server_closed);
}
