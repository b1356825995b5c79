/*
 * main.c - entry point of `beck`: dispatches to subcommands.
 */
#include <stdio.h>
#include <string.h>

#include "cli.h"

int cmd_broker(int argc, char **argv);
int cmd_topic(int argc, char **argv);
int cmd_produce(int argc, char **argv);
int cmd_consume(int argc, char **argv);
int cmd_group(int argc, char **argv);
int cmd_cluster(int argc, char **argv);
int cmd_connector(int argc, char **argv);
int cmd_bench(int argc, char **argv);
int cmd_run(int argc, char **argv);
int cmd_pipeline(int argc, char **argv);

static const beck_cli_command_t commands[] = {
    {"run", "run a YAML pipeline: sources, streams, sinks (no server needed)", cmd_run},
    {"pipeline", "validate a pipeline file, run its tests, describe its topology", cmd_pipeline},
    {"broker", "run a Kafka-protocol broker", cmd_broker},
    {"topic", "create, list, describe, alter and delete topics", cmd_topic},
    {"produce", "send records to a topic, one per input line", cmd_produce},
    {"consume", "print records from topics as they arrive", cmd_consume},
    {"group", "list, describe (with lag), reset and delete consumer groups", cmd_group},
    {"cluster", "brokers, controller and API versions of a cluster", cmd_cluster},
    {"connector", "list connector plugins and describe their options", cmd_connector},
    {"bench", "built-in benchmarks (Nexmark on the streams runtime)", cmd_bench},
    {NULL, NULL, NULL},
};

static void usage(FILE *out) {
  fprintf(out,
          "beck %s - a Kafka-compatible streaming platform in one binary\n"
          "\n"
          "Usage: beck COMMAND [ARGS...]\n"
          "\n"
          "Commands:\n",
          BECK_VERSION);
  for (const beck_cli_command_t *c = commands; c->name; c++)
    fprintf(out, "  %-12s %s\n", c->name, c->summary);
  fprintf(out,
          "\n"
          "Options:\n"
          "  -h, --help     show this help\n"
          "  -V, --version  show the version\n"
          "\n"
          "Run `beck COMMAND --help` for a command's options.\n");
}

int main(int argc, char **argv) {
  if (argc < 2) {
    usage(stderr);
    return 2;
  }
  const char *cmd = argv[1];
  if (strcmp(cmd, "-h") == 0 || strcmp(cmd, "--help") == 0 || strcmp(cmd, "help") == 0) {
    usage(stdout);
    return 0;
  }
  if (strcmp(cmd, "-V") == 0 || strcmp(cmd, "--version") == 0 || strcmp(cmd, "version") == 0) {
    printf("beck %s\n", BECK_VERSION);
    return 0;
  }
  for (const beck_cli_command_t *c = commands; c->name; c++)
    if (strcmp(c->name, cmd) == 0)
      return c->run(argc - 1, argv + 1);
  fprintf(stderr, "beck: unknown command '%s'\nRun `beck --help` for the list of commands.\n", cmd);
  return 2;
}
