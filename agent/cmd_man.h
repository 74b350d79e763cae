/*
 * cmd_man: the manual pages mitosis(8) and mitosis.conf(5), generated from
 * the tables the program itself runs on: the verb table with each verb's
 * usage, summary and help text (mitosis(8)), and the configuration key table
 * cfg_keys() with each key's type, default, range and help (mitosis.conf(5),
 * and the key-flags of mitosis(8)). So the pages cannot list a flag or a key
 * the program lacks, nor miss one it has. `make man` runs the hidden verb
 * `mitosis _man 8|5`; the package and `make install` install the result.
 */
#ifndef CMD_MAN_H
#define CMD_MAN_H

#include <stdio.h>

#include "cmd.h"

/*
 * Writes the page of `section` ("8": mitosis(8) from `table`, the
 * NULL-terminated verb table, hidden verbs, those named "_...", left out;
 * "5": mitosis.conf(5)) to out as roff (man(7) macros). Returns 0, or
 * -EINVAL for another section.
 */
int cmd_man_page(const struct cmd_entry *const *table, const char *section, FILE *out);

#endif
