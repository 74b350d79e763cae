/*
 * cmd_cloud: the cloud verbs of the CLI (cmd_cloud.c, docs/cloud.md): `cloud
 * ls`, `clone [--count N]`, `snapshot [NAME]` and `resize SIZE`. Each reads
 * the agent's configuration and flags, runs its own loop until the operation
 * ends, and prints a table or --json; --dry-run prints the mutating calls
 * instead of sending them (GETs still run). Exit 0, 1 or EXIT_USAGE.
 */
#ifndef CMD_CLOUD_H
#define CMD_CLOUD_H

#include "cmd.h"

extern const struct cmd_entry cmd_cloud_entry, cmd_clone_entry, cmd_snapshot_entry,
	cmd_resize_entry;

#endif
