/*
 * output.h - what the client commands print: aligned tables for people,
 * JSON for scripts (cli/output.c).
 *
 * Every client command builds its result once and prints it either as a
 * table (the default) or, with --output json, as one JSON document on stdout
 * (docs/cli.md documents each shape). Errors never go to stdout: they go to
 * stderr as one line "beck CMD: what failed: why (what to try)".
 *
 * Names: functions private to the `beck` executable use the `cli_` prefix
 * (like `cmd_broker`); no library links against them.
 */
#ifndef BECK_CLI_OUTPUT_H
#define BECK_CLI_OUTPUT_H

#include <jansson.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

typedef enum { CLI_OUTPUT_TABLE = 0, CLI_OUTPUT_JSON = 1 } cli_output_t;

/* ---- tables ------------------------------------------------------------ */

typedef struct cli_table cli_table_t;

/* A table with ncols columns; headers (ncols strings, borrowed for the
 * call and copied) or NULL for a header-less key/value block. Aborts on out
 * of memory (the CLI's policy: a command line tool has nothing to save). */
cli_table_t *cli_table_new(int ncols, const char *const *headers);
/* Appends one cell to the current row (printf format; the text is copied,
 * control characters become '?'). After ncols cells the row is complete. */
void cli_table_cell(cli_table_t *t, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
/* Appends one cell holding the string s, or "-" when s is NULL. */
void cli_table_str(cli_table_t *t, const char *s);
/* Appends one cell holding n, or "-" when n < 0 (an unknown offset). */
void cli_table_offset(cli_table_t *t, int64_t n);
/* Number of complete rows so far. */
int cli_table_rows(const cli_table_t *t);
/* Prints the table to out: columns separated by two spaces, every column
 * but the last padded to its widest cell (counted in characters, not bytes),
 * prefixed by indent spaces. */
void cli_table_print(const cli_table_t *t, FILE *out, int indent);
void cli_table_destroy(cli_table_t *t);

/* ---- JSON --------------------------------------------------------------- */

/* Prints j (borrowed) to stdout, indented by two, keys in insertion order,
 * followed by a newline; or compact on one line when compact is true (one
 * record per line for `beck consume`). Returns 0, or -1 when stdout failed. */
int cli_json_print(const json_t *j, bool compact);
/* A new JSON string of len bytes when they are valid UTF-8, else NULL. */
json_t *cli_json_utf8(const void *ptr, size_t len);
/* A new JSON string of s, or JSON null when s is NULL. */
json_t *cli_json_str_or_null(const char *s);
/* A new JSON integer of n, or JSON null when n < 0 (an unknown offset). */
json_t *cli_json_offset(int64_t n);
/* Standard base64 of len bytes into a new JSON string. */
json_t *cli_json_base64(const void *ptr, size_t len);

/* ---- memory --------------------------------------------------------------- */

/* beck_malloc / beck_realloc / beck_strdup that print "out of memory" and
 * exit(1) instead of returning NULL: a short-lived command has no state to
 * save, so every caller in cli/ would do exactly that. */
void *cli_xmalloc(size_t n);
void *cli_xcalloc(size_t count, size_t size);
void *cli_xrealloc(void *p, size_t n);
char *cli_xstrdup(const char *s);

/* ---- small formatting helpers -------------------------------------------- */

/* Writes n with thousands separators ("1,234,567") into buf. Returns buf. */
const char *cli_fmt_count(char *buf, size_t n, uint64_t v);
/* Writes a byte count for people into buf: "852 B" below 1 KiB, else one
 * decimal in the largest binary unit that keeps it >= 1 ("1.5 KiB",
 * "20.0 MiB", up to EiB). Returns buf. */
const char *cli_fmt_bytes(char *buf, size_t n, uint64_t v);
/* Writes ms since the epoch as "2024-05-01T12:00:00.123Z" into buf. Returns buf. */
const char *cli_fmt_time(char *buf, size_t n, int64_t ms);

#endif
