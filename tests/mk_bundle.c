/*
 * Writes the files of the `hoptrace verify` test (verify_cli_test.sh) into
 * OUTDIR, from the fixture trace (bundle_fixture.h):
 *
 *   anchor.pub, other.pub   the fixture's anchor and an unrelated one
 *   good.bundle             the whole trace: verified, origin CARRIER-D
 *   open.bundle             without CARRIER-E's refusal: one open branch
 *   empty.bundle            the request alone: verified, nothing found
 *   quote.bundle            a customer reference with '"' and '\' in it
 *   sig.bundle              CARRIER-D's signature damaged (answer 4)
 *   orphan.bundle           CARRIER-B's answer removed (answer 1 orphaned)
 *   opening.bundle          a calling number one digit off
 *   truncated.bundle        good.bundle less its last octet
 *   revoked-d.crl           revokes CARRIER-D's certificate (serial 104)
 *
 *   usage: mk_bundle OUTDIR
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "bundle_fixture.h"
#include "hoptrace/crl.h"
#include "hoptrace/fileio.h"

static const char *outdir;

static void put(const char *name, const uint8_t *data, size_t len)
{
	char path[4096];
	snprintf(path, sizeof(path), "%s/%s", outdir, name);
	if (ht_file_write(path, data, len, 0644, true) != HT_OK) {
		fprintf(stderr, "mk_bundle: cannot write %s\n", path);
		exit(1);
	}
}

static void put_bundle(const char *name, const struct fx *f)
{
	size_t len;
	uint8_t *b = fx_bundle(f, &len);
	put(name, b, len);
	free(b);
}

static void put_keys(const char *name, const ht_keys *k)
{
	char prefix[4096];
	snprintf(prefix, sizeof(prefix), "%s/%s", outdir, name);
	ht_keys pub = ht_keys_public(k);
	char *text;
	if (ht_keys_format(&pub, false, &text) != HT_OK) {
		fprintf(stderr, "mk_bundle: cannot format %s\n", name);
		exit(1);
	}
	strncat(prefix, ".pub", sizeof(prefix) - strlen(prefix) - 1);
	if (ht_file_write(prefix, text, strlen(text), 0644, true) != HT_OK) {
		fprintf(stderr, "mk_bundle: cannot write %s\n", prefix);
		exit(1);
	}
	free(text);
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: mk_bundle OUTDIR\n");
		return 2;
	}
	outdir = argv[1];
	struct fx f;
	fx_init(&f);
	put_keys("anchor", &f.anchor);
	put_keys("other", &f.other_anchor);
	put_bundle("good.bundle", &f);

	size_t len;
	uint8_t *b = fx_bundle(&f, &len);
	put("truncated.bundle", b, len - 1);
	free(b);

	struct fx g = f; /* shallow copies, for bundles with fewer answers */
	g.n = 5;
	put_bundle("open.bundle", &g);
	g.n = 0;
	put_bundle("empty.bundle", &g);
	g = f;
	for (size_t i = 1; i + 1 < f.n; i++) {
		g.ans[i] = f.ans[i + 1];
		g.ans_len[i] = f.ans_len[i + 1];
	}
	g.n = f.n - 1;
	put_bundle("orphan.bundle", &g);
	g = f;
	g.calling[4] = g.calling[4] == '9' ? '8' : (char)(g.calling[4] + 1);
	put_bundle("opening.bundle", &g);

	uint64_t serial = 104;
	uint8_t *crl;
	if (ht_crl_issue(&f.anchor, 1, 1780000000, &serial, 1, &crl, &len) != HT_OK)
		return 1;
	put("revoked-d.crl", crl, len);
	free(crl);

	/* The last octet of CARRIER-D's answer is the last of its signature. */
	uint8_t *d = malloc(f.ans_len[4]);
	if (!d)
		return 1;
	memcpy(d, f.ans[4], f.ans_len[4]);
	d[f.ans_len[4] - 1] ^= 0x01;
	uint8_t *saved = f.ans[4];
	f.ans[4] = d;
	put_bundle("sig.bundle", &f);
	f.ans[4] = saved;
	free(d);

	ht_answer_info a = f.info[4];
	snprintf(a.calls[0].customer_ref, sizeof(a.calls[0].customer_ref), "cust \"7f\\3a9b\"");
	fx_put(&f, 4, &a, FX_D);
	put_bundle("quote.bundle", &f);

	fx_free(&f);
	return 0;
}
