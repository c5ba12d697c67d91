/*
 * hoptrace: the operator's command-line tool. Each command is one function
 * behind the table below; exit codes are in cli.h.
 */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "hoptrace/keys.h"

static const struct cmd cmds[] = {
	{"keygen", cmd_keygen, "-o PREFIX [--force]",
	 "create a provider's signing and Noise keys: PREFIX.key (0600), PREFIX.pub"},
	{"ca init", cmd_ca_init, "-o PREFIX [--force]",
	 "create a trust anchor's key pair: PREFIX.key (0600), PREFIX.pub"},
	{"ca sign", cmd_ca_sign,
	 "--ca PREFIX --id PROVIDER --pub PREFIX.pub --days N [--role initiator]\n"
	 "          [--serial N] [--not-before TIME] [--force] -o FILE",
	 "issue a provider certificate signed by the anchor"},
	{"ca revoke", cmd_ca_revoke,
	 "--ca PREFIX --serial N [--serial N...] [--crl EXISTING] [--force] -o CRLFILE",
	 "issue a revocation list adding serials to an existing one"},
	{"cert show", cmd_cert_show, "[--json] FILE", "print a certificate's fields"},
	{"cert verify", cmd_cert_verify,
	 "--anchor CA.pub [--anchor CA2.pub...] [--crl CRLFILE] [--at TIME]\n"
	 "          [--role initiator] FILE",
	 "verify a certificate: anchor, signature, dates, revocation, role"},
	{"crl show", cmd_crl_show, "[--json] FILE", "print a revocation list"},
	{"status", cmd_status, "[-s SOCKET] [--json]",
	 "show the running daemon's state and counters (from hoptraced)"},
	{"peers", cmd_peers, "[-s SOCKET] [--json]",
	 "list the daemon's peers and their sessions (from hoptraced)"},
	{"cdr import", cmd_cdr_import, "FILE|- [-s SOCKET] [--json] [--quiet]",
	 "import call records from a CSV file into the daemon's store"},
	{"cdr stats", cmd_cdr_stats, "[-s SOCKET] [--json]",
	 "show what the call-record store holds: records, span, size, per-peer counts"},
	{"cdr lookup", cmd_cdr_lookup,
	 "--calling NUMBER --called NUMBER --time TIME [--tolerance SECONDS]\n"
	 "          [-s SOCKET] [--json]",
	 "list the stored records of one call (exit 1 if there are none)"},
	{"audit", cmd_audit,
	 "[--since TIME] [--until TIME] [--peer ID] [--trace HEX] [--limit N]\n"
	 "          [-s SOCKET] [--json]",
	 "list the audit log of traceback requests the daemon answered or refused"},
	{"trace start", cmd_trace_start,
	 "--calling NUMBER --called NUMBER --time TIME [--tolerance SECONDS]\n"
	 "          [--to PEER] [--label TEXT] [--watch] [-s SOCKET] [--json]",
	 "start a traceback from this carrier and print its ID (--watch: follow it)"},
	{"trace show", cmd_trace_show, "ID [-s SOCKET] [--json]",
	 "show a trace started here: each hop, its status and the time it took"},
	{"trace list", cmd_trace_list, "[--limit N] [-s SOCKET] [--json]",
	 "list the traces started here, newest first"},
	{"trace export", cmd_trace_export, "ID -o FILE [--force] [-s SOCKET] [--json]",
	 "write a trace's evidence bundle (for 'hoptrace verify')"},
	{"verify", cmd_verify,
	 "FILE --anchor CA.pub [--anchor CA2.pub...] [--crl CRLFILE] [--json]\n"
	 "          [--dot OUT.dot]",
	 "verify a trace's evidence bundle offline and print the path (no daemon needed)"},
};
#define NCMDS (sizeof(cmds) / sizeof(cmds[0]))

const struct cmd *current_cmd;

static void usage(FILE *f)
{
	fprintf(f, "usage: hoptrace COMMAND [OPTIONS]\n\ncommands:\n");
	for (size_t i = 0; i < NCMDS; i++)
		fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].help);
	fprintf(f, "\nTIME is RFC 3339 (2026-11-29T12:00:00Z) or seconds since the epoch\n"
		   "(cdr lookup, audit and trace start also take milliseconds since the epoch:\n"
		   "13 digits).\n"
		   "Exit codes: 0 ok, 1 verification failed (cdr import: rows rejected; cdr\n"
		   "lookup: no record; trace start --watch: no origin reached), 2 usage error,\n"
		   "3 other error.\n"
		   "'hoptrace COMMAND --help' shows a command's options.\n");
}

/* Number of argv words `name` matches, or 0. */
static int match(const char *name, int argc, char **argv)
{
	int words = 0;
	const char *p = name;
	while (*p) {
		const char *sp = strchr(p, ' ');
		size_t n = sp ? (size_t)(sp - p) : strlen(p);
		if (words >= argc || strlen(argv[words]) != n || strncmp(argv[words], p, n) != 0)
			return 0;
		words++;
		p += n + (sp ? 1 : 0);
	}
	return words;
}

int main(int argc, char **argv)
{
	if (argc < 2)
		return usage(stderr), EXIT_USAGE;
	if (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help") || !strcmp(argv[1], "help"))
		return usage(stdout), EXIT_OK;
	if (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version") ||
	    !strcmp(argv[1], "version")) {
		printf("hoptrace %s\n", ht_version());
		return EXIT_OK;
	}
	if (ht_init() != HT_OK)
		return fail(EXIT_ERROR, "cannot initialise the crypto library");

	for (size_t i = 0; i < NCMDS; i++) {
		int w = match(cmds[i].name, argc - 1, argv + 1);
		if (!w)
			continue;
		current_cmd = &cmds[i];
		char **sub = argv + w;
		int subc = argc - w;
		for (int k = 1; k < subc; k++) {
			if (!strcmp(sub[k], "--"))
				break;
			if (!strcmp(sub[k], "-h") || !strcmp(sub[k], "--help")) {
				printf("usage: hoptrace %s %s\n\n%s\n", cmds[i].name, cmds[i].usage,
				       cmds[i].help);
				return EXIT_OK;
			}
		}
		return cmds[i].fn(subc, sub);
	}
	/* A group word alone ("hoptrace trace", "hoptrace cdr --help"): its commands. */
	bool help = argc > 2 && (!strcmp(argv[2], "-h") || !strcmp(argv[2], "--help"));
	FILE *f = help ? stdout : stderr;
	size_t n1 = strlen(argv[1]), shown = 0;
	for (size_t i = 0; i < NCMDS; i++) {
		if (strncmp(cmds[i].name, argv[1], n1) != 0 || cmds[i].name[n1] != ' ')
			continue;
		if (!shown++)
			fprintf(f, "usage: hoptrace %s SUBCOMMAND [OPTIONS]\n\n", argv[1]);
		fprintf(f, "  %-12s %s\n", cmds[i].name, cmds[i].help);
	}
	if (shown) {
		fprintf(f, "\n'hoptrace %s SUBCOMMAND --help' shows its options.\n", argv[1]);
		return help ? EXIT_OK : EXIT_USAGE;
	}
	fprintf(stderr, "hoptrace: unknown command '%s'\n", argv[1]);
	usage(stderr);
	return EXIT_USAGE;
}
