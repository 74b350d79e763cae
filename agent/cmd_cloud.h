/*
 * cmd_cloud: the cloud verbs of the CLI (docs/cloud.md): `cloud ls`,
 * `clone [--count N]`, `snapshot [NAME]` and `resize SIZE`. Each reads the
 * agent's configuration, runs its own loop until the operation ends, and
 * prints a table or --json; --dry-run prints the mutating calls instead of
 * sending them (GETs still run).
 */
#ifndef CMD_CLOUD_H
#define CMD_CLOUD_H

#include <stdio.h>

int cmd_cloud_main(int argc, char **argv);
void cmd_cloud_help(FILE *out);
int cmd_clone_main(int argc, char **argv);
void cmd_clone_help(FILE *out);
int cmd_snapshot_main(int argc, char **argv);
void cmd_snapshot_help(FILE *out);
int cmd_resize_main(int argc, char **argv);
void cmd_resize_help(FILE *out);

#endif
