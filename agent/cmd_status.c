/*
 * cmd_status: `mitosis status [--json] [-s PATH]` shows the local agent's
 * view: who it is, members by state, the mean load of the alive members,
 * datagrams in and out with drops by reason, and the membership protocol's
 * counters. The agent renders it (common/report.c); this command only asks
 * (cmd_control.c).
 */
#include <stdio.h>

#include "cmd_control.h"

void
cmd_status_help(FILE *out)
{
	cmd_control_help_options(out);
	fprintf(out,
		"\nThe mean load is over the alive members that have sent a sample; the custom\n"
		"metric's mean is over those that report one. docs/load.md describes every\n"
		"field of the JSON document.\n");
}

int
cmd_status_main(int argc, char **argv)
{
	return cmd_control_run("status", argc, argv);
}
