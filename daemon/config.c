#include "config.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include <arpa/inet.h>
#include <ini.h>

#include "hoptrace/e164.h"
#include "hoptrace/fileio.h"
#include "hoptrace/trace.h"

static int cmp_trunk(const void *a, const void *b);

struct parse {
	struct hd_config *c;
	const char *path;
	char *dir; /* folder of path, for relative names */
	char *err;
	size_t errlen;
	bool failed;
	/* Singular keys seen, so a repeat is an error, not a silent override. */
	char seen[32][48];
	size_t n_seen;
};

static void failf(struct parse *p, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static void failf(struct parse *p, const char *fmt, ...)
{
	if (p->failed)
		return;
	p->failed = true;
	va_list ap;
	va_start(ap, fmt);
	vsnprintf(p->err, p->errlen, fmt, ap);
	va_end(ap);
}

static char *xstrdup(const char *s)
{
	char *d = strdup(s);
	if (!d)
		abort();
	return d;
}

/*
 * A file name from the config, made absolute against the config's folder;
 * NULL (with the error set) when it would be too long to print back.
 */
static char *path_value(struct parse *p, const char *v)
{
	size_t n = strlen(p->dir) + strlen(v) + 2;
	char *s = malloc(n);
	if (!s)
		abort();
	if (v[0] == '/')
		snprintf(s, n, "%s", v);
	else
		snprintf(s, n, "%s/%s", p->dir, v);
	if (strlen(s) > HD_CONFIG_MAX_PATH || !v[0]) {
		failf(p, "%s: file name '%.40s%s' is %s", p->path, s, strlen(s) > 40 ? "..." : "",
		      v[0] ? "too long once made absolute (at most " HD_STR(
				     HD_CONFIG_MAX_PATH) " characters)"
			   : "empty");
		free(s);
		return NULL;
	}
	return s;
}

int hd_addr_split(const char *addr, char *host, uint16_t *port)
{
	const char *colon;
	size_t hl;
	if (addr[0] == '[') {
		const char *rb = strchr(addr, ']');
		if (!rb || rb[1] != ':')
			return -1;
		hl = (size_t)(rb - addr - 1);
		memcpy(host, addr + 1, hl < HD_ADDR_MAX ? hl : 0);
		colon = rb + 1;
	} else {
		colon = strrchr(addr, ':');
		if (!colon || memchr(addr, ':', (size_t)(colon - addr)))
			return -1; /* bare IPv6 needs brackets */
		hl = (size_t)(colon - addr);
		memcpy(host, addr, hl < HD_ADDR_MAX ? hl : 0);
	}
	if (hl == 0 || hl >= HD_ADDR_MAX)
		return -1;
	host[hl] = 0;
	const char *ps = colon + 1;
	if (!*ps || strlen(ps) > 5)
		return -1;
	unsigned long v = 0;
	for (const char *q = ps; *q; q++) {
		if (*q < '0' || *q > '9')
			return -1;
		v = v * 10 + (unsigned long)(*q - '0');
	}
	if (v == 0 || v > 65535)
		return -1;
	*port = (uint16_t)v;
	return 0;
}

static bool addr_value(struct parse *p, const char *v, char out[HD_ADDR_MAX])
{
	char host[HD_ADDR_MAX];
	uint16_t port;
	uint8_t bin[16];
	if (strlen(v) >= HD_ADDR_MAX || hd_addr_split(v, host, &port) != 0 ||
	    (inet_pton(AF_INET, host, bin) != 1 && inet_pton(AF_INET6, host, bin) != 1)) {
		failf(p, "%s: '%s' is not an address (IPv4:port or [IPv6]:port)", p->path, v);
		return false;
	}
	strcpy(out, v);
	return true;
}

static bool u32_value(struct parse *p, const char *name, const char *v, uint32_t min, uint32_t max,
		      uint32_t *out)
{
	char *end;
	errno = 0;
	unsigned long long x = strtoull(v, &end, 10);
	if (!*v || *end || errno || v[0] == '-' || x < min || x > max) {
		failf(p, "%s: %s must be an integer from %u to %u", p->path, name, min, max);
		return false;
	}
	*out = (uint32_t)x;
	return true;
}

/* Singular keys: refuse a second occurrence. */
static bool once(struct parse *p, const char *section, const char *name)
{
	char key[48];
	snprintf(key, sizeof(key), "%.15s/%.30s", section, name);
	for (size_t i = 0; i < p->n_seen; i++) {
		if (strcmp(p->seen[i], key) == 0) {
			failf(p, "%s: [%s] %s given twice", p->path, section, name);
			return false;
		}
	}
	if (p->n_seen < sizeof(p->seen) / sizeof(p->seen[0]))
		strcpy(p->seen[p->n_seen++], key);
	return true;
}

/* A trunk-group name: what CDR exports write, without spaces or commas. */
static bool trunk_name_valid(const char *s)
{
	size_t n = strlen(s);
	if (n == 0 || n > HD_TRUNK_NAME_MAX)
		return false;
	for (size_t i = 0; i < n; i++)
		if (!(s[i] >= 'A' && s[i] <= 'Z') && !(s[i] >= 'a' && s[i] <= 'z') &&
		    !(s[i] >= '0' && s[i] <= '9') && !strchr("._-/+@", s[i]))
			return false;
	return true;
}

/* [trunks] NAME = PROVIDER-ID, or NAME = local (this carrier's customers). */
static int trunk_value(struct parse *p, const char *name, const char *value)
{
	struct hd_config *c = p->c;
	if (!trunk_name_valid(name)) {
		failf(p, "%s: trunk group '%.64s': 1-64 of A-Z a-z 0-9 . _ - / + @", p->path, name);
		return 0;
	}
	bool local = strcmp(value, "local") == 0;
	if (!local && !ht_provider_id_valid(value, strlen(value))) {
		failf(p, "%s: trunk group '%s': '%s' is neither 'local' nor a provider ID", p->path,
		      name, value);
		return 0;
	}
	if (c->n_trunks == HD_MAX_TRUNKS) {
		failf(p, "%s: more than %d trunk groups", p->path, HD_MAX_TRUNKS);
		return 0;
	}
	struct hd_trunk_cfg *nt = realloc(c->trunks, (c->n_trunks + 1) * sizeof(*nt));
	if (!nt)
		abort();
	c->trunks = nt;
	struct hd_trunk_cfg *t = &c->trunks[c->n_trunks++];
	memset(t, 0, sizeof(*t));
	strcpy(t->name, name);
	t->local = local;
	if (!local)
		strcpy(t->provider_id, value);
	return 1;
}

static const struct {
	const char *name;
	size_t off;
	uint32_t min, max;
} policy_keys[] = {
	{"handshake_timeout_ms", offsetof(struct hd_policy, handshake_timeout_ms), 100, 600000},
	{"keepalive_ms", offsetof(struct hd_policy, keepalive_ms), 100, 3600000},
	{"dead_peer_ms", offsetof(struct hd_policy, dead_peer_ms), 200, 7200000},
	{"backoff_min_ms", offsetof(struct hd_policy, backoff_min_ms), 10, 600000},
	{"backoff_max_ms", offsetof(struct hd_policy, backoff_max_ms), 10, 3600000},
	{"send_queue_max", offsetof(struct hd_policy, send_queue_max), 1, 1000000},
	{"requests_per_second", offsetof(struct hd_policy, requests_per_second), 1, 1000000},
	{"burst", offsetof(struct hd_policy, burst), 1, 1000000},
};
#define NPOLICY (sizeof(policy_keys) / sizeof(policy_keys[0]))

static const struct {
	const char *name;
	size_t off;
	uint32_t min, max;
} trace_keys[] = {
	{"hop_limit", offsetof(struct hd_trace_cfg, hop_limit), 1, HT_HOP_LIMIT_MAX},
	{"lifetime_s", offsetof(struct hd_trace_cfg, lifetime_s), 1, HT_LIFETIME_MAX_MS / 1000},
	{"tolerance_ms", offsetof(struct hd_trace_cfg, tolerance_ms), 0, HT_TOLERANCE_MAX_MS},
	{"hint_bits", offsetof(struct hd_trace_cfg, hint_bits), 0, HT_HINT_BITS_MAX},
};
#define NTRACE (sizeof(trace_keys) / sizeof(trace_keys[0]))

static const char *const disclose_names[] = {"opaque", "reference", "none"};

const char *hd_disclose_name(enum hd_disclose v)
{
	return (size_t)v < sizeof(disclose_names) / sizeof(disclose_names[0]) ? disclose_names[v]
									      : "?";
}

/* [policy] initiators = ID ID ...: space-separated provider IDs, each once. */
static int initiators_value(struct parse *p, const char *value)
{
	struct hd_policy *pol = &p->c->policy;
	const char *s = value;
	while (*s) {
		while (*s == ' ' || *s == '\t')
			s++;
		if (!*s)
			break;
		size_t n = strcspn(s, " \t");
		if (!ht_provider_id_valid(s, n)) {
			failf(p, "%s: initiators: '%.*s' is not a provider ID", p->path,
			      (int)(n > 40 ? 40 : n), s);
			return 0;
		}
		for (size_t i = 0; i < pol->n_initiators; i++) {
			if (strlen(pol->initiators[i]) == n &&
			    memcmp(pol->initiators[i], s, n) == 0) {
				failf(p, "%s: initiators: '%.*s' given twice", p->path, (int)n, s);
				return 0;
			}
		}
		if (pol->n_initiators == HD_MAX_INITIATORS) {
			failf(p, "%s: initiators: more than %d", p->path, HD_MAX_INITIATORS);
			return 0;
		}
		char(*ni)[HT_PROVIDER_ID_MAX + 1] =
			realloc(pol->initiators, (pol->n_initiators + 1) * sizeof(*ni));
		if (!ni)
			abort();
		pol->initiators = ni;
		memcpy(ni[pol->n_initiators], s, n);
		ni[pol->n_initiators][n] = 0;
		pol->n_initiators++;
		s += n;
	}
	return 1;
}

static int handler(void *user, const char *section, const char *name, const char *value)
{
	struct parse *p = user;
	struct hd_config *c = p->c;
	if (p->failed)
		return 0;
#define IS(s, n) (strcmp(section, s) == 0 && strcmp(name, n) == 0)
	if (IS("identity", "provider_id")) {
		if (!once(p, section, name))
			return 0;
		if (!ht_provider_id_valid(value, strlen(value))) {
			failf(p, "%s: provider_id '%s': %s", p->path, value,
			      ht_strerror(HT_E_BAD_PROVIDER_ID));
			return 0;
		}
		strcpy(c->provider_id, value);
	} else if (IS("identity", "key")) {
		if (!once(p, section, name))
			return 0;
		if (!(c->key_path = path_value(p, value)))
			return 0;
	} else if (IS("identity", "certificate")) {
		if (!once(p, section, name))
			return 0;
		if (!(c->cert_path = path_value(p, value)))
			return 0;
	} else if (IS("trust", "anchor")) {
		if (c->n_anchors == HD_MAX_ANCHORS) {
			failf(p, "%s: more than %d anchors", p->path, HD_MAX_ANCHORS);
			return 0;
		}
		if (!(c->anchors[c->n_anchors] = path_value(p, value)))
			return 0;
		c->n_anchors++;
	} else if (IS("trust", "revocation_list")) {
		if (!once(p, section, name))
			return 0;
		if (!(c->crl_path = path_value(p, value)))
			return 0;
	} else if (IS("listen", "address")) {
		if (c->n_listen == HD_MAX_LISTEN) {
			failf(p, "%s: more than %d listen addresses", p->path, HD_MAX_LISTEN);
			return 0;
		}
		if (!addr_value(p, value, c->listen[c->n_listen]))
			return 0;
		c->n_listen++;
	} else if (IS("control", "socket")) {
		if (!once(p, section, name))
			return 0;
		free(c->control_socket);
		if (!(c->control_socket = path_value(p, value)))
			return 0;
	} else if (IS("state", "directory")) {
		if (!once(p, section, name))
			return 0;
		free(c->state_dir);
		if (!(c->state_dir = path_value(p, value)))
			return 0;
	} else if (IS("log", "level")) {
		if (!once(p, section, name))
			return 0;
		if (strcmp(value, "error") && strcmp(value, "warn") && strcmp(value, "info") &&
		    strcmp(value, "debug")) {
			failf(p, "%s: log level must be error, warn, info or debug", p->path);
			return 0;
		}
		free(c->log_level);
		c->log_level = xstrdup(value);
	} else if (IS("store", "retention_days")) {
		if (!once(p, section, name))
			return 0;
		return u32_value(p, name, value, 1, 36500, &c->retention_days);
	} else if (IS("store", "country_code")) {
		if (!once(p, section, name))
			return 0;
		/* Only plans spec/numbers.md defines: national numbers must map alike everywhere.
		 */
		if (!value[0] || strlen(value) >= sizeof(c->country_code) ||
		    !ht_e164_cc_valid(value)) {
			failf(p,
			      "%s: country_code '%s' is not supported (spec/numbers.md defines 1, "
			      "the North American Numbering Plan; leave it out for international "
			      "forms only)",
			      p->path, value);
			return 0;
		}
		strcpy(c->country_code, value);
	} else if (strcmp(section, "trunks") == 0) {
		return trunk_value(p, name, value);
	} else if (IS("policy", "initiators")) {
		if (!once(p, section, name))
			return 0;
		return initiators_value(p, value);
	} else if (IS("policy", "disclose_customer")) {
		if (!once(p, section, name))
			return 0;
		for (size_t i = 0; i < sizeof(disclose_names) / sizeof(disclose_names[0]); i++) {
			if (strcmp(value, disclose_names[i]) == 0) {
				c->policy.disclose_customer = (enum hd_disclose)i;
				return 1;
			}
		}
		failf(p, "%s: disclose_customer must be opaque, reference or none", p->path);
		return 0;
	} else if (strcmp(section, "trace") == 0) {
		for (size_t i = 0; i < NTRACE; i++) {
			if (strcmp(name, trace_keys[i].name) == 0) {
				if (!once(p, section, name))
					return 0;
				return u32_value(
					p, name, value, trace_keys[i].min, trace_keys[i].max,
					(uint32_t *)((char *)&c->trace + trace_keys[i].off));
			}
		}
		failf(p, "%s: unknown key '%s' in [trace]", p->path, name);
		return 0;
	} else if (strcmp(section, "policy") == 0) {
		for (size_t i = 0; i < NPOLICY; i++) {
			if (strcmp(name, policy_keys[i].name) == 0) {
				if (!once(p, section, name))
					return 0;
				return u32_value(
					p, name, value, policy_keys[i].min, policy_keys[i].max,
					(uint32_t *)((char *)&c->policy + policy_keys[i].off));
			}
		}
		failf(p, "%s: unknown key '%s' in [policy]", p->path, name);
		return 0;
	} else if (strncmp(section, "peer ", 5) == 0) {
		const char *id = section + 5;
		if (!ht_provider_id_valid(id, strlen(id))) {
			failf(p, "%s: [peer %s]: %s", p->path, id,
			      ht_strerror(HT_E_BAD_PROVIDER_ID));
			return 0;
		}
		if (strcmp(name, "address") != 0) {
			failf(p, "%s: unknown key '%s' in [peer %s]", p->path, name, id);
			return 0;
		}
		if (hd_config_peer(c, id)) {
			failf(p, "%s: [peer %s] given twice", p->path, id);
			return 0;
		}
		if (strcmp(id, c->provider_id) == 0 && c->provider_id[0]) {
			failf(p, "%s: [peer %s] is this daemon's own provider ID", p->path, id);
			return 0;
		}
		if (c->n_peers == HD_MAX_PEERS) {
			failf(p, "%s: more than %d peers", p->path, HD_MAX_PEERS);
			return 0;
		}
		struct hd_peer_cfg *np = realloc(c->peers, (c->n_peers + 1) * sizeof(*np));
		if (!np)
			abort();
		c->peers = np;
		struct hd_peer_cfg *peer = &c->peers[c->n_peers];
		memset(peer, 0, sizeof(*peer));
		strcpy(peer->id, id);
		if (value[0] && !addr_value(p, value, peer->address))
			return 0;
		c->n_peers++;
	} else {
		failf(p, "%s: unknown key '%s' in [%s]", p->path, name, section);
		return 0;
	}
#undef IS
	return 1;
}

static void defaults(struct hd_config *c)
{
	memset(c, 0, sizeof(*c));
	c->control_socket = xstrdup(HD_DEFAULT_SOCKET);
	c->state_dir = xstrdup(HD_DEFAULT_STATE_DIR);
	c->log_level = xstrdup("info");
	c->retention_days = 90;
	c->policy = (struct hd_policy){
		.handshake_timeout_ms = 5000,
		.keepalive_ms = 10000,
		.dead_peer_ms = 30000,
		.backoff_min_ms = 250,
		.backoff_max_ms = 30000,
		.send_queue_max = 1024,
		.requests_per_second = 50,
		.burst = 100,
		.disclose_customer = HD_DISCLOSE_OPAQUE,
	};
	c->trace = (struct hd_trace_cfg){
		.hop_limit = 16,
		.lifetime_s = 60,
		.tolerance_ms = 5000,
		.hint_bits = 12,
	};
}

int hd_config_parse(const char *path, const char *text, size_t len, struct hd_config *out,
		    char *err, size_t errlen)
{
	defaults(out);
	out->path = xstrdup(path);
	struct parse p = {.c = out, .path = path, .err = err, .errlen = errlen};
	const char *slash = strrchr(path, '/');
	if (slash) {
		p.dir = strndup(path, (size_t)(slash - path) + (slash == path));
		if (!p.dir)
			abort();
	} else {
		p.dir = xstrdup(".");
	}

	/* Checks libinih cannot make: NUL bytes, and lines it would split. */
	size_t line = 1, col = 0;
	for (size_t i = 0; i < len; i++) {
		if (text[i] == '\0') {
			snprintf(err, errlen, "%s:%zu: NUL byte in the file", path, line);
			goto fail;
		}
		if (text[i] == '\n') {
			line++;
			col = 0;
		} else if (++col > HD_CONFIG_MAX_LINE) {
			snprintf(err, errlen, "%s:%zu: line longer than %d characters", path, line,
				 HD_CONFIG_MAX_LINE);
			goto fail;
		}
	}
	char *copy = strndup(text, len);
	if (!copy)
		abort();
	/*
	 * No continuation lines (an indented line would silently join the
	 * previous value), and stop at the first error so its line is the one
	 * reported.
	 */
	ini_allow_multiline = false;
	ini_stop_on_first_error = true;
	int at = ini_parse_string(copy, handler, &p);
	free(copy);
	if (at != 0) {
		if (p.failed) {
			/* Prefix the line: "path: x" becomes "path:N: x". */
			size_t pl = strlen(path);
			char tmp[512];
			snprintf(tmp, sizeof(tmp), "%s:%d:%s", path, at,
				 strncmp(err, path, pl) == 0 && err[pl] == ':' ? err + pl + 1
									       : err);
			snprintf(err, errlen, "%s", tmp);
		} else {
			snprintf(err, errlen,
				 "%s:%d: syntax error (expected [section] or key = value)", path,
				 at);
		}
		goto fail;
	}

	/* Whole-file rules. */
	const char *missing = !out->provider_id[0] ? "[identity] provider_id"
			      : !out->key_path     ? "[identity] key"
			      : !out->cert_path    ? "[identity] certificate"
			      : !out->n_anchors    ? "[trust] anchor"
						   : NULL;
	if (missing) {
		snprintf(err, errlen, "%s: %s is required", path, missing);
		goto fail;
	}
	for (size_t i = 0; i < out->n_peers; i++) {
		if (strcmp(out->peers[i].id, out->provider_id) == 0) {
			snprintf(err, errlen, "%s: [peer %s] is this daemon's own provider ID",
				 path, out->peers[i].id);
			goto fail;
		}
	}
	if (out->n_trunks)
		qsort(out->trunks, out->n_trunks, sizeof(*out->trunks), cmp_trunk);
	for (size_t i = 1; i < out->n_trunks; i++) {
		if (strcmp(out->trunks[i - 1].name, out->trunks[i].name) == 0) {
			snprintf(err, errlen, "%s: [trunks] %s given twice", path,
				 out->trunks[i].name);
			goto fail;
		}
	}
	if (out->policy.backoff_min_ms > out->policy.backoff_max_ms) {
		snprintf(err, errlen, "%s: [policy] backoff_min_ms exceeds backoff_max_ms", path);
		goto fail;
	}
	if (out->policy.dead_peer_ms <= out->policy.keepalive_ms) {
		snprintf(err, errlen, "%s: [policy] dead_peer_ms must exceed keepalive_ms", path);
		goto fail;
	}
	free(p.dir);
	return 0;
fail:
	free(p.dir);
	hd_config_free(out);
	return -1;
}

int hd_config_load(const char *path, struct hd_config *out, char *err, size_t errlen)
{
	uint8_t *buf;
	size_t len;
	int rc = ht_file_read(path, HD_CONFIG_MAX_BYTES, false, &buf, &len);
	if (rc != HT_OK) {
		snprintf(err, errlen, "%s: %s", path,
			 rc == HT_E_IO ? strerror(errno) : ht_strerror(rc));
		return -1;
	}
	int r = hd_config_parse(path, (const char *)buf, len, out, err, errlen);
	free(buf);
	return r;
}

void hd_config_print(const struct hd_config *c, FILE *f)
{
	fprintf(f,
		"# %.150s, normalised\n\n[identity]\nprovider_id = %s\nkey = %s\ncertificate = "
		"%s\n",
		c->path, c->provider_id, c->key_path, c->cert_path);
	fprintf(f, "\n[trust]\n");
	for (size_t i = 0; i < c->n_anchors; i++)
		fprintf(f, "anchor = %s\n", c->anchors[i]);
	if (c->crl_path)
		fprintf(f, "revocation_list = %s\n", c->crl_path);
	fprintf(f, "\n[listen]\n");
	for (size_t i = 0; i < c->n_listen; i++)
		fprintf(f, "address = %s\n", c->listen[i]);
	fprintf(f, "\n[control]\nsocket = %s\n\n[state]\ndirectory = %s\n\n[log]\nlevel = %s\n",
		c->control_socket, c->state_dir, c->log_level);
	fprintf(f, "\n[policy]\n");
	for (size_t i = 0; i < NPOLICY; i++)
		fprintf(f, "%s = %u\n", policy_keys[i].name,
			*(const uint32_t *)((const char *)&c->policy + policy_keys[i].off));
	fprintf(f, "initiators =");
	for (size_t i = 0; i < c->policy.n_initiators; i++)
		fprintf(f, " %s", c->policy.initiators[i]);
	fprintf(f, "\ndisclose_customer = %s\n", hd_disclose_name(c->policy.disclose_customer));
	fprintf(f, "\n[trace]\n");
	for (size_t i = 0; i < NTRACE; i++)
		fprintf(f, "%s = %u\n", trace_keys[i].name,
			*(const uint32_t *)((const char *)&c->trace + trace_keys[i].off));
	fprintf(f, "\n[store]\nretention_days = %u\n", c->retention_days);
	if (c->country_code[0])
		fprintf(f, "country_code = %s\n", c->country_code);
	if (c->n_trunks)
		fprintf(f, "\n[trunks]\n");
	for (size_t i = 0; i < c->n_trunks; i++)
		fprintf(f, "%s = %s\n", c->trunks[i].name,
			c->trunks[i].local ? "local" : c->trunks[i].provider_id);
	for (size_t i = 0; i < c->n_peers; i++)
		fprintf(f, "\n[peer %s]\naddress = %s\n", c->peers[i].id, c->peers[i].address);
}

static int cmp_trunk(const void *a, const void *b)
{
	return strcmp(((const struct hd_trunk_cfg *)a)->name,
		      ((const struct hd_trunk_cfg *)b)->name);
}

/* Trunks are sorted once parsed: a CDR import looks up two per row. */
const struct hd_trunk_cfg *hd_config_trunk(const struct hd_config *c, const char *name, size_t len)
{
	size_t lo = 0, hi = c->n_trunks;
	while (lo < hi) {
		size_t mid = lo + (hi - lo) / 2;
		const char *m = c->trunks[mid].name;
		size_t ml = strlen(m);
		int r = memcmp(m, name, ml < len ? ml : len);
		if (r == 0)
			r = (ml > len) - (ml < len);
		if (r == 0)
			return &c->trunks[mid];
		if (r < 0)
			lo = mid + 1;
		else
			hi = mid;
	}
	return NULL;
}

bool hd_config_initiator_allowed(const struct hd_config *c, const char *id)
{
	if (!c->policy.n_initiators)
		return true;
	for (size_t i = 0; i < c->policy.n_initiators; i++)
		if (strcmp(c->policy.initiators[i], id) == 0)
			return true;
	return false;
}

const struct hd_peer_cfg *hd_config_peer(const struct hd_config *c, const char *id)
{
	for (size_t i = 0; i < c->n_peers; i++)
		if (strcmp(c->peers[i].id, id) == 0)
			return &c->peers[i];
	return NULL;
}

void hd_config_free(struct hd_config *c)
{
	free(c->path);
	free(c->key_path);
	free(c->cert_path);
	for (size_t i = 0; i < c->n_anchors; i++)
		free(c->anchors[i]);
	free(c->crl_path);
	free(c->control_socket);
	free(c->state_dir);
	free(c->log_level);
	free(c->peers);
	free(c->trunks);
	free(c->policy.initiators);
	memset(c, 0, sizeof(*c));
}
