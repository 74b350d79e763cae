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

/* `leader [transfer [NODE] | step-down | force-recover [--yes]] [--json] [-s PATH | -c FILE]`:
 * the same exits; a refusal by the agent (not the leader, no voter caught up,
 * a live leader for force-recover) is 1, and so is force-recover unconfirmed. */
extern const struct cmd_entry cmd_leader_entry;

/* `history [--json] [-n N] [-s PATH | -c FILE]`: the same exits. The hidden
 * `_history-append TEXT` is for tests only (docs/cli.md). */
extern const struct cmd_entry cmd_history_entry, cmd_history_append_entry;
/* `policy [--dry-run | --act] [--json] [-s PATH | -c FILE]`: the effective
 * scaling policy; --dry-run / --act switch the agent's dry run. */
extern const struct cmd_entry cmd_policy_entry;

#endif
