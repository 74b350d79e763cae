/*
 * cmd_rotation: the rotation verbs of the CLI (cmd_rotation.c,
 * docs/registrars.md): `register`, `deregister`, `retire NODE` and
 * `haproxy-config`. Exit 0, 1 or EXIT_USAGE.
 */
#ifndef CMD_ROTATION_H
#define CMD_ROTATION_H

#include "cmd.h"

extern const struct cmd_entry cmd_register_entry, cmd_deregister_entry, cmd_retire_entry,
	cmd_haproxy_config_entry;

#endif
