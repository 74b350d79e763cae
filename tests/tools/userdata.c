/*
 * userdata: prints the #cloud-config user-data the agent gives a clone
 * (doapi_clone_user_data, common/doapi.c) for a cluster and its seeds, so
 * that tests can validate it with cloud-init's own schema check.
 *
 *   userdata CLUSTER [SEED...]
 */
#include <stdio.h>
#include <stdlib.h>

#include "doapi.h"

int
main(int argc, char **argv)
{
	char *ud = NULL;
	int r;

	if (argc < 2) {
		fprintf(stderr, "usage: userdata CLUSTER [SEED...]\n");
		return 2;
	}
	r = doapi_clone_user_data(argv[1], (const char *const *)(argv + 2), (size_t)(argc - 2),
				  &ud);
	if (r != 0) {
		fprintf(stderr, "userdata: doapi_clone_user_data: error %d\n", r);
		return 1;
	}
	fputs(ud, stdout);
	free(ud);
	return 0;
}
