/*
 * pipeline_cli.h - what `beck run` and `beck pipeline` share: loading a
 * pipeline file with its connectors checked against the plugins, and
 * printing the loader's diagnostics with the offending line and a caret
 * (cli/cmd_pipeline.c).
 */
#ifndef BECK_CLI_PIPELINE_CLI_H
#define BECK_CLI_PIPELINE_CLI_H

#include <stdbool.h>

#include "connect/pipeline/pipeline.h"
#include "connect/plugin.h"

/* Discovers the plugins (plugin_path, then $BECK_PLUGIN_PATH, then the
 * built-in directory) and loads path with connector names and options
 * checked against them (unless check_connectors is false). On success
 * returns 0 with *out (free with beck_pipeline_free) and *plugins (free
 * with beck_plugin_set_free after the pipeline's runtime is gone). On
 * failure prints every problem on stderr, prefixed by cmd, and returns 1. */
int cli_pipeline_load(const char *cmd, const char *path, const char *plugin_path, bool check_connectors,
                      beck_plugin_set_t **plugins, beck_pipeline_t **out);

/* True when file descriptor fd is a terminal that takes colours (and NO_COLOR is unset). */
bool cli_use_color(int fd);

#endif
