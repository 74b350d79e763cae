/*
 * cmd_rotation: the rotation verbs of the CLI (docs/registrars.md):
 *   mitosis register   [-c FILE] [--json] [--dry-run] [--node ID --ip IP [--name NAME]]
 *   mitosis deregister [-c FILE] [--json] [--dry-run] [--node ID --ip IP [--name NAME]]
 *   mitosis retire NODE [-c FILE] [--json] [--dry-run] [--no-wait]
 *   mitosis haproxy-config [-c FILE] [--json] [--nodes FILE | -s PATH] [--backend NAME] [--port N]
 * Each returns the exit code: 0 success, 1 failure, 2 usage error.
 */
#ifndef CMD_ROTATION_H
#define CMD_ROTATION_H

#include <stdio.h>

int cmd_register_main(int argc, char **argv);
void cmd_register_help(FILE *out);
int cmd_deregister_main(int argc, char **argv);
void cmd_deregister_help(FILE *out);
int cmd_retire_main(int argc, char **argv);
void cmd_retire_help(FILE *out);
int cmd_haproxy_config_main(int argc, char **argv);
void cmd_haproxy_config_help(FILE *out);

#endif
