/*
 * cmd_control: the subcommands that ask a running agent over its control
 * socket, `mitosis members` and `mitosis status` (docs/load.md), and the
 * code they share (cmd_control.c). Their lines in the command table live in
 * main.c; the prototypes live here.
 */
#ifndef CMD_CONTROL_H
#define CMD_CONTROL_H

#include <stdio.h>

/* Exit code when no agent listens on the socket (docs/cli.md). */
#define EXIT_NO_AGENT 3

int cmd_members_main(int argc, char **argv);
void cmd_members_help(FILE *out);
int cmd_status_main(int argc, char **argv);
void cmd_status_help(FILE *out);

/*
 * Runs `mitosis NAME [--json] [-s PATH]`: sends "NAME" or "NAME json" to the
 * agent and prints its reply on stdout. Returns the exit code: 0, 1 (the
 * agent refused or failed, permission denied, timeout), EXIT_USAGE, or
 * EXIT_NO_AGENT.
 */
int cmd_control_run(const char *name, int argc, char **argv);

/* The options and exit codes both commands share, for their help. */
void cmd_control_help_options(FILE *out);

#endif
