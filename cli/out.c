#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "cli.h"
#include "hoptrace/err.h"
#include "hoptrace/fileio.h"
#include "hoptrace/keys.h"
#include "hoptrace/timefmt.h"
#include "hoptrace/trust.h"

extern const struct cmd *current_cmd;

int fail(int code, const char *fmt, ...)
{
	va_list ap;
	fputs("hoptrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	return code;
}

int usage_error(const char *fmt, ...)
{
	va_list ap;
	fputs("hoptrace: ", stderr);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	if (current_cmd)
		fprintf(stderr, "usage: hoptrace %s %s\n", current_cmd->name, current_cmd->usage);
	return EXIT_USAGE;
}

int read_input(const char *path, size_t max, uint8_t **buf, size_t *len)
{
	int rc = ht_file_read(path, max, false, buf, len);
	if (rc == HT_E_IO)
		return fail(EXIT_ERROR, "%s: %s", path, strerror(errno));
	if (rc == HT_E_TOO_LARGE)
		return fail(EXIT_REJECTED, "%s: %s (more than %zu bytes)", path, ht_strerror(rc),
			    max);
	if (rc != HT_OK)
		return fail(EXIT_ERROR, "%s: %s", path, ht_strerror(rc));
	return EXIT_OK;
}

int write_output(const char *path, const uint8_t *data, size_t len, bool force)
{
	int rc = ht_file_write(path, data, len, 0644, force);
	if (rc == HT_E_EXISTS)
		return fail(EXIT_ERROR, "%s: %s (use --force)", path, ht_strerror(rc));
	if (rc == HT_E_IO)
		return fail(EXIT_ERROR, "%s: %s", path, strerror(errno));
	if (rc != HT_OK)
		return fail(EXIT_ERROR, "%s: %s", path, ht_strerror(rc));
	return EXIT_OK;
}

bool parse_u64(const char *s, uint64_t *out)
{
	if (!*s || *s == '-' || *s == '+')
		return false;
	errno = 0;
	char *end;
	unsigned long long v = strtoull(s, &end, 10);
	if (errno || *end)
		return false;
	*out = v;
	return true;
}

struct out {
	bool json;
	json_t *obj;
	struct out *children; /* out_append's objects, freed with this one */
	struct out *next;
};

struct out *out_new(bool json)
{
	struct out *o = calloc(1, sizeof(*o));
	if (!o)
		abort();
	o->json = json;
	if (json && !(o->obj = json_object()))
		abort();
	return o;
}

static void human(const char *key, const char *val)
{
	printf("%-12s %s\n", key, val);
}

static void put(struct out *o, const char *key, json_t *v)
{
	if (!v || json_object_set_new(o->obj, key, v) != 0)
		abort(); /* jansson fails only on allocation */
}

void out_str(struct out *o, const char *key, const char *val)
{
	if (o->json)
		put(o, key, json_string(val));
	else
		human(key, val);
}

/* JSON numbers are exact only up to 2^53 - 1 in most readers. */
#define JSON_SAFE_MAX 9007199254740991ULL

static json_t *json_u64(uint64_t v)
{
	if (v <= JSON_SAFE_MAX)
		return json_integer((json_int_t)v);
	char buf[24];
	snprintf(buf, sizeof(buf), "%llu", (unsigned long long)v);
	return json_string(buf);
}

void out_u64(struct out *o, const char *key, uint64_t val)
{
	if (o->json) {
		put(o, key, json_u64(val));
	} else {
		char buf[24];
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)val);
		human(key, buf);
	}
}

void out_bool(struct out *o, const char *key, bool val)
{
	if (o->json)
		put(o, key, json_boolean(val));
	else
		human(key, val ? "yes" : "no");
}

void out_hex(struct out *o, const char *key, const uint8_t *b, size_t len)
{
	char *hex = malloc(2 * len + 1);
	if (!hex)
		abort();
	for (size_t i = 0; i < len; i++)
		sprintf(hex + 2 * i, "%02x", b[i]);
	hex[2 * len] = 0;
	out_str(o, key, hex);
	free(hex);
}

void out_time(struct out *o, const char *key, uint64_t secs)
{
	char buf[HT_TIME_STR_MAX];
	ht_time_format(secs, buf);
	if (o->json) {
		put(o, key, json_string(buf));
		char k2[64];
		snprintf(k2, sizeof(k2), "%s_unix", key);
		put(o, k2, json_u64(secs));
	} else {
		char line[HT_TIME_STR_MAX + 32];
		snprintf(line, sizeof(line), "%s (%llu)", buf, (unsigned long long)secs);
		human(key, line);
	}
}

void out_list(struct out *o, const char *key, const char *const *vals, size_t n)
{
	if (o->json) {
		json_t *a = json_array();
		if (!a)
			abort();
		for (size_t i = 0; i < n; i++)
			if (json_array_append_new(a, json_string(vals[i])) != 0)
				abort();
		put(o, key, a);
		return;
	}
	size_t cap = 1;
	for (size_t i = 0; i < n; i++)
		cap += strlen(vals[i]) + 2;
	char *s = calloc(1, cap + 8);
	if (!s)
		abort();
	for (size_t i = 0; i < n; i++) {
		if (i)
			strcat(s, ", ");
		strcat(s, vals[i]);
	}
	human(key, n ? s : "(none)");
	free(s);
}

void out_u64_list(struct out *o, const char *key, const uint64_t *vals, size_t n)
{
	if (o->json) {
		json_t *a = json_array();
		if (!a)
			abort();
		for (size_t i = 0; i < n; i++)
			if (json_array_append_new(a, json_u64(vals[i])) != 0)
				abort();
		put(o, key, a);
		return;
	}
	if (n == 0) {
		human(key, "(none)");
		return;
	}
	for (size_t i = 0; i < n; i++) {
		char buf[24];
		snprintf(buf, sizeof(buf), "%llu", (unsigned long long)vals[i]);
		human(i == 0 ? key : "", buf);
	}
}

void out_null(struct out *o, const char *key)
{
	if (o->json)
		put(o, key, json_null());
	else
		human(key, "-");
}

static json_t *array_at(struct out *o, const char *key)
{
	json_t *a = json_object_get(o->obj, key);
	if (!a) {
		a = json_array();
		put(o, key, a);
	}
	return a;
}

void out_array(struct out *o, const char *key)
{
	if (o->json)
		array_at(o, key);
}

struct out *out_append(struct out *o, const char *key)
{
	if (!o->json)
		abort(); /* JSON only: people get a table */
	struct out *c = out_new(true);
	if (json_array_append(array_at(o, key), c->obj) != 0)
		abort();
	c->next = o->children;
	o->children = c;
	return c;
}

/* Frees the objects out_append made under `o`, at any depth (the JSON stays in o's). */
static void free_children(struct out *o)
{
	while (o->children) {
		struct out *c = o->children;
		o->children = c->next;
		free_children(c);
		json_decref(c->obj);
		free(c);
	}
}

int out_finish(struct out *o)
{
	int rc = EXIT_OK;
	free_children(o);
	if (o->json) {
		if (json_dumpf(o->obj, stdout, JSON_INDENT(2)) != 0)
			rc = EXIT_ERROR;
		putchar('\n');
		json_decref(o->obj);
	}
	if (fflush(stdout) != 0)
		rc = EXIT_ERROR;
	free(o);
	return rc;
}

struct table {
	size_t ncols, nrows, cap;
	char **cells; /* nrows * ncols, row-major; row 0 is the headers */
};

static char *xstrdup(const char *s)
{
	size_t n = strlen(s) + 1;
	char *d = malloc(n);
	if (!d)
		abort();
	return memcpy(d, s, n);
}

struct table *table_new(const char *const *headers, size_t ncols)
{
	struct table *t = calloc(1, sizeof(*t));
	if (!t)
		abort();
	t->ncols = ncols;
	table_row(t, headers);
	return t;
}

void table_row(struct table *t, const char *const *cells)
{
	if (t->nrows == t->cap) {
		size_t nc = t->cap ? t->cap * 2 : 8;
		char **n = realloc(t->cells, nc * t->ncols * sizeof(*n));
		if (!n)
			abort();
		t->cells = n;
		t->cap = nc;
	}
	for (size_t c = 0; c < t->ncols; c++)
		t->cells[t->nrows * t->ncols + c] = xstrdup(cells[c]);
	t->nrows++;
}

/* Characters on screen: UTF-8 continuation octets take no column. */
static size_t width(const char *s)
{
	size_t w = 0;
	for (; *s; s++)
		if (((unsigned char)*s & 0xc0) != 0x80)
			w++;
	return w;
}

int table_finish(struct table *t)
{
	size_t *wid = calloc(t->ncols, sizeof(*wid));
	if (!wid)
		abort();
	for (size_t r = 0; r < t->nrows; r++)
		for (size_t c = 0; c < t->ncols; c++) {
			size_t w = width(t->cells[r * t->ncols + c]);
			if (w > wid[c])
				wid[c] = w;
		}
	for (size_t r = 0; r < t->nrows; r++) {
		for (size_t c = 0; c < t->ncols; c++) {
			const char *cell = t->cells[r * t->ncols + c];
			fputs(cell, stdout);
			if (c + 1 < t->ncols)
				printf("%*s", (int)(wid[c] - width(cell) + 2), "");
			free(t->cells[r * t->ncols + c]);
		}
		putchar('\n');
	}
	free(wid);
	free(t->cells);
	free(t);
	return fflush(stdout) == 0 ? EXIT_OK : EXIT_ERROR;
}

void human_bytes(uint64_t b, char *buf, size_t n)
{
	static const char units[] = "KMGTPE";
	if (b < 1024) {
		snprintf(buf, n, "%lluB", (unsigned long long)b);
		return;
	}
	double v = (double)b / 1024;
	size_t u = 0;
	while (v >= 1024 && u + 1 < sizeof(units) - 1) {
		v /= 1024;
		u++;
	}
	snprintf(buf, n, "%.1f%c", v, units[u]);
}

void human_time_ms(uint64_t ms, char buf[TIME_MS_STR_MAX])
{
	char s[HT_TIME_STR_MAX];
	ht_time_format(ms / 1000, s);
	size_t n = strlen(s);
	if (n > 0 && s[n - 1] == 'Z')
		snprintf(buf, TIME_MS_STR_MAX, "%.*s.%03uZ", (int)(n - 1), s,
			 (unsigned)(ms % 1000));
	else
		snprintf(buf, TIME_MS_STR_MAX, "%s", s);
}

bool parse_time_ms(const char *s, uint64_t *ms)
{
	size_t len = strlen(s), digits = strspn(s, "0123456789");
	if (len == 13 && digits == 13) {
		uint64_t v;
		if (!parse_u64(s, &v))
			return false;
		*ms = v;
		return true;
	}
	if (len > 0 && digits == len) {
		uint64_t secs;
		if (ht_time_parse_arg(s, &secs) != HT_OK)
			return false;
		*ms = secs * 1000;
		return true;
	}
	return ht_time_parse_rfc3339(s, len, ms) == HT_OK;
}

/* Seconds with up to 3 decimals ("5", "0.25") as ms, at most `max`. */
bool parse_seconds_ms(const char *s, uint32_t max, uint32_t *ms)
{
	uint64_t whole = 0, frac = 0;
	size_t i = 0, fd = 0;
	if (!(s[0] >= '0' && s[0] <= '9'))
		return false;
	for (; s[i] >= '0' && s[i] <= '9'; i++) {
		whole = whole * 10 + (uint64_t)(s[i] - '0');
		if (whole > max / 1000)
			return false;
	}
	if (s[i] == '.') {
		for (i++; s[i] >= '0' && s[i] <= '9'; i++, fd++)
			if (fd < 3)
				frac = frac * 10 + (uint64_t)(s[i] - '0');
			else if (s[i] != '0')
				return false; /* finer than a millisecond */
		if (fd == 0)
			return false;
		for (; fd < 3; fd++)
			frac *= 10;
	}
	if (s[i] != 0 || whole * 1000 + frac > max)
		return false;
	*ms = (uint32_t)(whole * 1000 + frac);
	return true;
}

int trust_add_anchor_file(ht_trust *trust, const char *path)
{
	ht_keys a;
	int rc = ht_keys_load_public(path, HT_KEYS_ANCHOR, &a);
	if (rc == HT_OK)
		rc = ht_trust_add_anchor(trust, a.sign_pk);
	if (rc != HT_OK)
		return fail(EXIT_ERROR, "%s: %s", path,
			    rc == HT_E_IO ? strerror(errno) : ht_strerror(rc));
	return EXIT_OK;
}

int trust_add_crl_file(ht_trust *trust, const char *path)
{
	uint8_t *buf;
	size_t len;
	ht_crl *crl = NULL;
	int ret = read_input(path, HT_CRL_MAX, &buf, &len);
	if (ret != EXIT_OK)
		return ret;
	int rc = ht_crl_parse(buf, len, &crl);
	free(buf);
	if (rc == HT_OK)
		rc = ht_trust_add_crl(trust, crl);
	if (rc != HT_OK) {
		ht_crl_free(crl);
		return fail(EXIT_ERROR, "%s: revocation list not usable: %s", path,
			    ht_strerror(rc));
	}
	return EXIT_OK;
}
