/*
 * cli.h - the subcommand table of the `beck` executable.
 *
 * Each subcommand is one function `int cmd_NAME(int argc, char **argv)` that
 * parses its own arguments (argv[0] is the subcommand name) and calls into the
 * modules; it returns the process exit status.
 */
#ifndef BECK_CLI_H
#define BECK_CLI_H

typedef struct beck_cli_command {
  const char *name;
  const char *summary;
  int (*run)(int argc, char **argv);
} beck_cli_command_t;

#endif
