#include "testutil.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include <sodium.h>

char *tu_mkdtemp(void)
{
	const char *base = getenv("TMPDIR");
	if (!base || !*base)
		base = "/tmp";
	char *p = tu_path(base, "hoptrace-test.XXXXXX");
	assert_non_null(mkdtemp(p));
	return p;
}

void tu_rmtree(const char *path)
{
	struct stat st;
	if (lstat(path, &st) != 0)
		return;
	if (S_ISDIR(st.st_mode)) {
		DIR *d = opendir(path);
		assert_non_null(d);
		struct dirent *e;
		while ((e = readdir(d)) != NULL) {
			if (!strcmp(e->d_name, ".") || !strcmp(e->d_name, ".."))
				continue;
			char *sub = tu_path(path, e->d_name);
			tu_rmtree(sub);
			free(sub);
		}
		closedir(d);
		assert_int_equal(rmdir(path), 0);
	} else {
		assert_int_equal(unlink(path), 0);
	}
}

char *tu_path(const char *dir, const char *name)
{
	size_t dl = strlen(dir), nl = strlen(name);
	char *p = malloc(dl + nl + 2);
	assert_non_null(p);
	memcpy(p, dir, dl);
	p[dl] = '/';
	memcpy(p + dl + 1, name, nl + 1);
	return p;
}

uint8_t *tu_read_file(const char *path, size_t *len)
{
	FILE *f = fopen(path, "rb");
	assert_non_null(f);
	size_t cap = 4096, n = 0;
	uint8_t *b = malloc(cap + 1);
	assert_non_null(b);
	for (;;) {
		n += fread(b + n, 1, cap - n, f);
		if (n < cap)
			break;
		cap *= 2;
		b = realloc(b, cap + 1);
		assert_non_null(b);
	}
	assert_int_equal(ferror(f), 0);
	fclose(f);
	b[n] = 0;
	*len = n;
	return b;
}

void tu_write_file(const char *path, const void *data, size_t len, mode_t mode)
{
	int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
	assert_true(fd >= 0);
	const uint8_t *p = data;
	while (len > 0) {
		ssize_t w = write(fd, p, len);
		assert_true(w > 0);
		p += w;
		len -= (size_t)w;
	}
	/* fchmod, not the open mode, so the umask cannot change the result. */
	assert_int_equal(fchmod(fd, mode), 0);
	assert_int_equal(close(fd), 0);
}

size_t tu_count_entries(const char *dir)
{
	DIR *d = opendir(dir);
	assert_non_null(d);
	size_t n = 0;
	struct dirent *e;
	while ((e = readdir(d)) != NULL)
		if (strcmp(e->d_name, ".") && strcmp(e->d_name, ".."))
			n++;
	closedir(d);
	return n;
}

mode_t tu_file_mode(const char *path)
{
	struct stat st;
	assert_int_equal(stat(path, &st), 0);
	return st.st_mode & 07777;
}

void tu_anchor_keys(ht_keys *k, uint8_t seed)
{
	uint8_t s[HT_SIGN_SEED_LEN];
	memset(s, seed, sizeof(s));
	assert_int_equal(ht_keys_from_seeds(k, HT_KEYS_ANCHOR, s, NULL), HT_OK);
}

void tu_provider_keys(ht_keys *k, uint8_t seed)
{
	uint8_t s[HT_SIGN_SEED_LEN], n[HT_NOISE_KEY_LEN];
	memset(s, seed, sizeof(s));
	memset(n, seed ^ 0x5a, sizeof(n));
	assert_int_equal(ht_keys_from_seeds(k, HT_KEYS_PROVIDER, s, n), HT_OK);
}

void tu_cert_info(ht_cert_info *info, const ht_keys *provider, const char *id, uint64_t serial,
		  uint32_t roles)
{
	memset(info, 0, sizeof(*info));
	assert_true(strlen(id) <= HT_PROVIDER_ID_MAX);
	strcpy(info->provider_id, id);
	memcpy(info->sign_key, provider->sign_pk, HT_SIGN_PK_LEN);
	memcpy(info->noise_key, provider->noise_pk, HT_NOISE_KEY_LEN);
	info->not_before = TU_NOT_BEFORE;
	info->not_after = TU_NOT_AFTER;
	info->serial = serial;
	info->roles = roles;
}

uint8_t *tu_issue(const ht_cert_info *info, const ht_keys *anchor, size_t *len)
{
	uint8_t *out = NULL;
	assert_int_equal(ht_cert_issue(info, anchor, &out, len), HT_OK);
	assert_non_null(out);
	return out;
}

ht_cert *tu_issue_parsed(const ht_cert_info *info, const ht_keys *anchor)
{
	size_t len;
	uint8_t *buf = tu_issue(info, anchor, &len);
	ht_cert *c = NULL;
	assert_int_equal(ht_cert_parse(buf, len, &c), HT_OK);
	free(buf);
	return c;
}

void tu_cert_msg(Hoptrace__V1__Certificate *c, const ht_cert_info *info,
		 const uint8_t issuer_pk[HT_SIGN_PK_LEN])
{
	/* One static role array is enough: the tests sign before the next call. */
	static Hoptrace__V1__Role roles[] = {HOPTRACE__V1__ROLE__ROLE_INITIATOR};
	hoptrace__v1__certificate__init(c);
	c->provider_id.data = (uint8_t *)info->provider_id;
	c->provider_id.len = strlen(info->provider_id);
	c->sign_key.data = (uint8_t *)info->sign_key;
	c->sign_key.len = HT_SIGN_PK_LEN;
	c->noise_key.data = (uint8_t *)info->noise_key;
	c->noise_key.len = HT_NOISE_KEY_LEN;
	c->not_before = info->not_before;
	c->not_after = info->not_after;
	c->serial = info->serial;
	if (info->roles & HT_ROLE_INITIATOR) {
		c->n_roles = 1;
		c->roles = roles;
	}
	c->issuer.data = (uint8_t *)issuer_pk;
	c->issuer.len = HT_SIGN_PK_LEN;
}

uint8_t *tu_sign_msg(ht_kind kind, const ProtobufCMessage *body, const uint8_t *extra,
		     size_t extra_len, const ht_keys *signer, size_t *len)
{
	size_t n = protobuf_c_message_get_packed_size(body);
	uint8_t *b = malloc(n + extra_len + 1);
	assert_non_null(b);
	assert_int_equal(protobuf_c_message_pack(body, b), n);
	if (extra_len)
		memcpy(b + n, extra, extra_len);
	uint8_t *out = NULL;
	assert_int_equal(ht_envelope_sign(kind, b, n + extra_len, signer->sign_sk, &out, len),
			 HT_OK);
	free(b);
	return out;
}

/* Every list in the tests is issued at the same instant. */
#define TU_CRL_TIME 1770000000ULL

uint8_t *tu_crl_issue(const ht_keys *anchor, uint64_t number, const uint64_t *serials, size_t n,
		      size_t *len)
{
	uint8_t *out = NULL;
	assert_int_equal(ht_crl_issue(anchor, number, TU_CRL_TIME, serials, n, &out, len), HT_OK);
	assert_non_null(out);
	return out;
}

ht_crl *tu_crl_parsed(const ht_keys *anchor, uint64_t number, const uint64_t *serials, size_t n)
{
	size_t len;
	uint8_t *buf = tu_crl_issue(anchor, number, serials, n, &len);
	ht_crl *crl = NULL;
	assert_int_equal(ht_crl_parse(buf, len, &crl), HT_OK);
	free(buf);
	return crl;
}

static size_t varint_size(size_t v)
{
	size_t n = 1;
	while (v >= 0x80) {
		v >>= 7;
		n++;
	}
	return n;
}

uint8_t *tu_pad_to(const uint8_t *buf, size_t len, size_t target)
{
	assert_true(target >= len + 2);
	/* The length prefix's own size depends on the length: search for a fit. */
	size_t dl = target - len - 2;
	while (dl > 0 && len + 1 + varint_size(dl) + dl > target)
		dl--;
	if (len + 1 + varint_size(dl) + dl != target) {
		/*
		 * No single field fits (the prefix grows by a byte just there):
		 * add an empty field first and fit the rest.
		 */
		uint8_t *tmp = malloc(len + 2);
		assert_non_null(tmp);
		memcpy(tmp, buf, len);
		tmp[len] = (9 << 3) | 2;
		tmp[len + 1] = 0;
		uint8_t *out = tu_pad_to(tmp, len + 2, target);
		free(tmp);
		return out;
	}
	uint8_t *out = malloc(target);
	assert_non_null(out);
	memcpy(out, buf, len);
	size_t p = len;
	out[p++] = (9 << 3) | 2;
	size_t v = dl;
	while (v >= 0x80) {
		out[p++] = (uint8_t)((v & 0x7f) | 0x80);
		v >>= 7;
	}
	out[p++] = (uint8_t)v;
	memset(out + p, 'x', dl);
	assert_int_equal(p + dl, target);
	return out;
}

uint8_t *tu_dup(const void *buf, size_t len)
{
	uint8_t *p = malloc(len ? len : 1);
	assert_non_null(p);
	if (len)
		memcpy(p, buf, len);
	return p;
}
