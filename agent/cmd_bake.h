/*
 * cmd_bake: `mitosis bake` (docs/operations.md, "Baking a snapshot"), Packer's
 * DigitalOcean builder as one verb: a builder droplet from a base image with
 * the bake user-data, waited for until cloud-init powers it off, snapshotted,
 * deleted; the new image id printed. The builder is deleted on every failure
 * and on SIGINT or SIGTERM, so a bake leaks no droplet.
 */
#ifndef CMD_BAKE_H
#define CMD_BAKE_H

#include "cmd.h"

extern const struct cmd_entry cmd_bake_entry;

#endif
