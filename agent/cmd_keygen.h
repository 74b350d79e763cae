/*
 * cmd_keygen: `mitosis keygen -o FILE [-f]` (cmd_keygen.c): a new cluster
 * keyring, mode 0600, replaced atomically with -f.
 */
#ifndef CMD_KEYGEN_H
#define CMD_KEYGEN_H

#include "cmd.h"

extern const struct cmd_entry cmd_keygen_entry;

#endif
