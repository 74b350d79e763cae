/*
 * cmd_bootstrap: `mitosis cloud bootstrap` (docs/operations.md, "From a
 * laptop to a running cluster"): the first N droplets of a new cluster,
 * started from the snapshot with the cluster tag and the user-data that
 * founds the cluster (bootstrap_expect), then waited for until the leader
 * they elect has put them all into rotation (with a do-dns or do-lb
 * registrar: the only sign of a leader visible from outside the VPC).
 * `mitosis cloud bootstrap` reaches it through cmd_cloud.c's `cloud` verb.
 */
#ifndef CMD_BOOTSTRAP_H
#define CMD_BOOTSTRAP_H

#include "cmd.h"

extern const struct cmd_entry cmd_bootstrap_entry;

/* `cloud bootstrap ARGS`: argv[0] is "bootstrap". */
int cmd_bootstrap_main(int argc, char **argv);

#endif
