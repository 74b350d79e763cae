/*
 * cmd_agent: `mitosis agent` (cmd_agent.c): reads the configuration and its
 * flags, checks the secret files, then says "configuration OK" (-n) or runs
 * the daemon in the foreground (agent.h) with SIGHUP reloading.
 */
#ifndef CMD_AGENT_H
#define CMD_AGENT_H

#include "cmd.h"

extern const struct cmd_entry cmd_agent_entry;

#endif
