/*
 * hoptraced: the HopTrace peer daemon. Holds authenticated, encrypted
 * sessions with the carrier's configured interconnect peers and serves the
 * local control socket.
 *
 *   hoptraced -c FILE        run (in the foreground; systemd supervises)
 *   hoptraced -n -c FILE     check the configuration and identity, print it
 *                            normalised, exit
 */
#include <errno.h>
#include <getopt.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <sodium.h>

#include "hoptrace/fileio.h"
#include "hoptrace/timefmt.h"
#include "hoptraced.h"
#include "initiator.h"
#include "log.h"
#include "trace.h"

static void usage(FILE *f)
{
	fprintf(f, "usage: hoptraced [-n] -c FILE\n"
		   "  -c FILE   configuration file\n"
		   "  -n        check the configuration and identity, print it normalised, exit\n"
		   "  -V        print the version\n");
}

/* Loads a file's bytes or explains why not. */
static int load_bytes(const char *what, const char *path, size_t max, uint8_t **buf, size_t *len,
		      char *err, size_t errlen)
{
	int rc = ht_file_read(path, max, false, buf, len);
	if (rc != HT_OK) {
		snprintf(err, errlen, "%s %s: %s", what, path,
			 rc == HT_E_IO ? strerror(errno) : ht_strerror(rc));
		return -1;
	}
	return 0;
}

/* Builds a trust store from the configured anchors and revocation list. */
static int load_trust(const struct hd_config *cfg, ht_trust **out, char *err, size_t errlen)
{
	ht_trust *t;
	if (ht_trust_new(&t) != HT_OK) {
		snprintf(err, errlen, "out of memory");
		return -1;
	}
	for (size_t i = 0; i < cfg->n_anchors; i++) {
		ht_keys a;
		int rc = ht_keys_load_public(cfg->anchors[i], HT_KEYS_ANCHOR, &a);
		if (rc == HT_OK)
			rc = ht_trust_add_anchor(t, a.sign_pk);
		if (rc != HT_OK) {
			snprintf(err, errlen, "anchor %s: %s", cfg->anchors[i],
				 rc == HT_E_IO ? strerror(errno) : ht_strerror(rc));
			goto fail;
		}
	}
	if (cfg->crl_path) {
		uint8_t *buf;
		size_t len;
		ht_crl *crl = NULL;
		if (load_bytes("revocation list", cfg->crl_path, HT_CRL_MAX, &buf, &len, err,
			       errlen) != 0)
			goto fail;
		int rc = ht_crl_parse(buf, len, &crl);
		free(buf);
		if (rc == HT_OK)
			rc = ht_trust_add_crl(t, crl);
		if (rc != HT_OK) {
			ht_crl_free(crl);
			snprintf(err, errlen, "revocation list %s: %s", cfg->crl_path,
				 ht_strerror(rc));
			goto fail;
		}
	}
	*out = t;
	return 0;
fail:
	ht_trust_free(t);
	return -1;
}

int hd_identity_load(struct hd_daemon *d, const struct hd_config *cfg, char *err, size_t errlen)
{
	int rc = ht_keys_load_secret(cfg->key_path, HT_KEYS_PROVIDER, &d->keys);
	if (rc != HT_OK) {
		snprintf(err, errlen, "key %s: %s", cfg->key_path,
			 rc == HT_E_IO ? strerror(errno) : ht_strerror(rc));
		return -1;
	}
	if (load_trust(cfg, &d->trust, err, errlen) != 0)
		return -1;
	if (load_bytes("certificate", cfg->cert_path, HT_CERT_MAX, &d->cert, &d->cert_len, err,
		       errlen) != 0)
		return -1;
	rc = ht_cert_parse(d->cert, d->cert_len, &d->my_cert);
	if (rc == HT_OK)
		rc = ht_trust_verify_cert(d->trust, d->my_cert, ht_time_now(), 0);
	if (rc != HT_OK) {
		snprintf(err, errlen, "certificate %s: %s", cfg->cert_path, ht_strerror(rc));
		return -1;
	}
	const ht_cert_info *ci = ht_cert_get_info(d->my_cert);
	if (strcmp(ci->provider_id, cfg->provider_id) != 0) {
		snprintf(err, errlen, "certificate %s is for '%s', not provider_id '%s'",
			 cfg->cert_path, ci->provider_id, cfg->provider_id);
		return -1;
	}
	if (memcmp(ci->sign_key, d->keys.sign_pk, HT_SIGN_PK_LEN) != 0 ||
	    memcmp(ci->noise_key, d->keys.noise_pk, HT_NOISE_KEY_LEN) != 0) {
		snprintf(err, errlen, "certificate %s does not match key %s", cfg->cert_path,
			 cfg->key_path);
		return -1;
	}
	return 0;
}

static void identity_free(struct hd_daemon *d)
{
	ht_keys_wipe(&d->keys);
	ht_cert_free(d->my_cert);
	free(d->cert);
	ht_trust_free(d->trust);
	d->my_cert = NULL;
	d->cert = NULL;
	d->trust = NULL;
}

static void reload(struct hd_daemon *d)
{
	char err[512];
	struct hd_config nc;
	if (hd_config_load(d->cfg.path, &nc, err, sizeof(err)) != 0) {
		log_error("reload refused, keeping the running configuration: %s", err);
		return;
	}
	ht_trust *nt;
	if (load_trust(&nc, &nt, err, sizeof(err)) != 0) {
		log_error("reload refused, keeping the running configuration: %s", err);
		hd_config_free(&nc);
		return;
	}
	if (ht_trust_check_rollback(d->trust, nt) != HT_OK) {
		log_error("reload refused, keeping the running configuration: the revocation list "
			  "is older than the one in force (or gone): it would un-revoke "
			  "certificates");
		ht_trust_free(nt);
		hd_config_free(&nc);
		return;
	}
	if (strcmp(nc.provider_id, d->cfg.provider_id) || strcmp(nc.key_path, d->cfg.key_path) ||
	    strcmp(nc.cert_path, d->cfg.cert_path))
		log_warn("reload: identity changes take effect at the next restart");
	/* Keep what only a restart changes: identity, listeners, socket. */
	struct hd_config old = d->cfg;
	memcpy(nc.provider_id, old.provider_id, sizeof(nc.provider_id));
	char *keep_key = nc.key_path, *keep_cert = nc.cert_path, *keep_sock = nc.control_socket;
	nc.key_path = old.key_path;
	nc.cert_path = old.cert_path;
	nc.control_socket = old.control_socket;
	memcpy(nc.listen, old.listen, sizeof(nc.listen));
	nc.n_listen = old.n_listen;
	old.key_path = keep_key;
	old.cert_path = keep_cert;
	old.control_socket = keep_sock;
	d->cfg = nc;
	hd_config_free(&old);
	ht_trust_swap(d->trust, nt);
	ht_trust_free(nt);
	hd_log_set_level(d->cfg.log_level);
	hd_net_apply_peers(d);
	hd_net_recheck_sessions(d);
	log_info("configuration reloaded: %zu peers", d->n_peers);
}

/* Opens the call-record store and the audit log under the state folder. */
static int open_state(struct hd_daemon *d)
{
	const char *dir = d->cfg.state_dir;
	if (mkdir(dir, 0750) != 0 && errno != EEXIST) {
		log_error("state directory %s: %s", dir, strerror(errno));
		return -1;
	}
	size_t n = strlen(dir) + 8;
	char *cdr = malloc(n);
	if (!cdr)
		return -1;
	snprintf(cdr, n, "%s/cdr", dir);
	hd_store_opts so = {.dir = cdr, .retention_days = d->cfg.retention_days};
	int rc = hd_store_open(&d->store, &so);
	free(cdr);
	if (rc != HT_OK) {
		log_error("call-record store in %s: %s", dir, ht_strerror(rc));
		return -1;
	}
	if ((rc = hd_audit_open(&d->audit, dir, false)) != HT_OK) {
		log_error("audit log in %s: %s", dir, ht_strerror(rc));
		return -1;
	}
	return 0;
}

static void compact_next(struct hd_daemon *d);

static void compact_work(uv_work_t *w)
{
	struct hd_daemon *d = w->data;
	d->compact_result = hd_store_compact_run(d->compact_job);
}

static void compact_done(uv_work_t *w, int status)
{
	struct hd_daemon *d = w->data;
	int rc = hd_store_compact_finish(d->store, d->compact_job,
					 status == 0 ? d->compact_result : HT_E_IO);
	d->compact_job = NULL;
	if (rc == HT_OK && !d->stopping)
		compact_next(d); /* one after the other, on the worker thread */
}

/*
 * Days that are over (before yesterday: late records of yesterday still
 * arrive) are rewritten with full pages, on a worker thread, so lookups and
 * imports go on meanwhile.
 */
static void compact_next(struct hd_daemon *d)
{
	uint32_t *days;
	size_t n;
	if (d->compact_job || d->stopping)
		return;
	uint32_t before = (uint32_t)(hd_now_ms() / HD_STORE_DAY_MS) - 1;
	if (hd_store_compactable(d->store, before, &days, &n) != HT_OK)
		return;
	if (n && hd_store_compact_begin(d->store, days[0], &d->compact_job) == HT_OK) {
		d->compact_work.data = d;
		if (uv_queue_work(d->loop, &d->compact_work, compact_work, compact_done) != 0) {
			if (hd_store_compact_finish(d->store, d->compact_job, HT_E_IO) != HT_OK)
				log_warn("store: cannot start a compaction");
			d->compact_job = NULL;
		}
	}
	free(days);
}

static void on_expire(uv_timer_t *t)
{
	struct hd_daemon *d = t->data;
	size_t dropped;
	if (hd_store_expire(d->store, hd_now_ms(), &dropped) == HT_OK && dropped)
		log_info("store: %zu partitions past %u days of retention dropped", dropped,
			 d->cfg.retention_days);
	compact_next(d);
}

static void on_signal(uv_signal_t *s, int signum)
{
	struct hd_daemon *d = s->data;
	if (signum == SIGHUP) {
		log_info("SIGHUP: reloading %s", d->cfg.path);
		reload(d);
		return;
	}
	if (d->stopping)
		return;
	log_info("%s: stopping", signum == SIGTERM ? "SIGTERM" : "SIGINT");
	d->stopping = true;
	hd_ctl_stop(d);
	hd_initiator_fini(d);
	hd_trace_fini(d);
	hd_net_stop(d);
	uv_close((uv_handle_t *)&d->expire_timer, NULL);
	uv_close((uv_handle_t *)&d->sig_hup, NULL);
	uv_close((uv_handle_t *)&d->sig_term, NULL);
	uv_close((uv_handle_t *)&d->sig_int, NULL);
}

int main(int argc, char **argv)
{
	const char *conf = NULL;
	bool check = false;
	int c;
	while ((c = getopt(argc, argv, "c:nVh")) != -1) {
		switch (c) {
		case 'c':
			conf = optarg;
			break;
		case 'n':
			check = true;
			break;
		case 'V':
			printf("hoptraced %s\n", ht_version());
			return 0;
		case 'h':
			usage(stdout);
			return 0;
		default:
			usage(stderr);
			return 2;
		}
	}
	if (!conf || optind != argc) {
		usage(stderr);
		return 2;
	}
	if (ht_init() != HT_OK) {
		fprintf(stderr, "hoptraced: cannot initialise libsodium\n");
		return 1;
	}

	static struct hd_daemon d;
	char err[512];
	if (hd_config_load(conf, &d.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "hoptraced: %s\n", err);
		return 1;
	}
	hd_log_set_level(d.cfg.log_level);
	if (hd_identity_load(&d, &d.cfg, err, sizeof(err)) != 0) {
		fprintf(stderr, "hoptraced: %s: %s\n", d.cfg.path, err);
		identity_free(&d);
		hd_config_free(&d.cfg);
		return 1;
	}
	if (check) {
		hd_config_print(&d.cfg, stdout);
		identity_free(&d);
		hd_config_free(&d.cfg);
		return 0;
	}

	signal(SIGPIPE, SIG_IGN);
	d.loop = uv_default_loop();
	d.started_ms = hd_now_ms();
	uv_signal_init(d.loop, &d.sig_hup);
	uv_signal_init(d.loop, &d.sig_term);
	uv_signal_init(d.loop, &d.sig_int);
	d.sig_hup.data = d.sig_term.data = d.sig_int.data = &d;
	uv_signal_start(&d.sig_hup, on_signal, SIGHUP);
	uv_signal_start(&d.sig_term, on_signal, SIGTERM);
	uv_signal_start(&d.sig_int, on_signal, SIGINT);

	log_info("hoptraced %s starting as %s (%zu peers)", ht_version(), d.cfg.provider_id,
		 d.cfg.n_peers);
	uv_timer_init(d.loop, &d.expire_timer);
	d.expire_timer.data = &d;
	int rc = 0;
	if (open_state(&d) != 0 || hd_trace_init(&d) != HT_OK || hd_initiator_init(&d) != HT_OK ||
	    hd_ctl_start(&d) != 0 || hd_net_start(&d) != 0) {
		rc = 1;
		d.stopping = true;
		hd_ctl_stop(&d);
		hd_initiator_fini(&d);
		hd_trace_fini(&d);
		hd_net_stop(&d);
		uv_close((uv_handle_t *)&d.expire_timer, NULL);
		uv_close((uv_handle_t *)&d.sig_hup, NULL);
		uv_close((uv_handle_t *)&d.sig_term, NULL);
		uv_close((uv_handle_t *)&d.sig_int, NULL);
	}
	if (!rc)
		uv_timer_start(&d.expire_timer, on_expire, 0, 3600 * 1000);
	uv_run(d.loop, UV_RUN_DEFAULT);
	hd_store_close(d.store);
	hd_audit_close(d.audit);
	if (uv_loop_close(d.loop) != 0)
		log_warn("event loop closed with handles still open");
	identity_free(&d);
	hd_config_free(&d.cfg);
	log_info("stopped");
	return rc;
}
