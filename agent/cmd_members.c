/*
 * cmd_members: `mitosis members [--json] [-s PATH]` lists the members the
 * local agent knows, with address, state, incarnation, load and the age of
 * their last update. The agent renders the table (common/report.c); this
 * command only asks for it (cmd_control.c).
 */
#include <stdio.h>

#include "cmd_control.h"

void
cmd_members_help(FILE *out)
{
	cmd_control_help_options(out);
	fprintf(out,
		"\nColumns: ID (* marks this node), NAME, ADDRESS, STATE (alive, suspect, dead,\n"
		"left), INC (incarnation), CPU (utilisation, averaged over load_window), LOAD1\n"
		"(1-minute load average per CPU), MEM (memory in use), CUSTOM (the custom "
		"metric),\n"
		"AGE (since anything about the member last changed). '-' is a value not known\n"
		"yet. Member names come from peers and are printed escaped.\n");
}

int
cmd_members_main(int argc, char **argv)
{
	return cmd_control_run("members", argc, argv);
}
