/*
 * hoptraced: the HopTrace peer daemon.
 *
 * Peer sessions, the control socket and the call-record store arrive with
 * their issues; until then this binary only reports its version and says
 * plainly that it cannot serve.
 */
#include <stdio.h>
#include <string.h>

#include "hoptrace/keys.h"

int main(int argc, char **argv)
{
	if (argc == 2 && (!strcmp(argv[1], "-V") || !strcmp(argv[1], "--version"))) {
		printf("hoptraced %s\n", ht_version());
		return 0;
	}
	if (argc == 2 && (!strcmp(argv[1], "-h") || !strcmp(argv[1], "--help"))) {
		printf("usage: hoptraced [-V]\n");
		return 0;
	}
	fprintf(stderr, "hoptraced: peer service not implemented in this version\n");
	return 1;
}
