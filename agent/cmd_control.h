/*
 * cmd_control: `mitosis members` and `mitosis status` (cmd_control.c), which
 * ask a running agent over its control socket (docs/load.md).
 */
#ifndef CMD_CONTROL_H
#define CMD_CONTROL_H

#include "cmd.h"

/* Exit code when no agent listens on the socket (docs/cli.md). */
#define EXIT_NO_AGENT 3

/* `members [--json] [-s PATH | -c FILE]` and `status [...]`: exit 0, 1 (the
 * agent refused or failed, permission denied, timeout, a bad configuration),
 * EXIT_USAGE or EXIT_NO_AGENT. */
extern const struct cmd_entry cmd_members_entry, cmd_status_entry;

#endif
