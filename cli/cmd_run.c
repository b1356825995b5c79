/*
 * cmd_run.c - `beck run PIPELINE.yaml`: runs a pipeline until Ctrl-C (or
 * until its `run:` settings end it) on an embedded log by default.
 *
 * What the user sees:
 *   - on a terminal, a status block at the bottom of the screen, redrawn
 *     twice a second: sources, streams with their steps, sinks, with state,
 *     records and rates. Whatever the pipeline prints (a stdout sink) and
 *     log lines scroll above it: stdout and stderr are captured through a
 *     pipe and copied out by the display thread, which erases the block,
 *     writes the lines and draws the block again, so the two never mix.
 *   - in a pipe, a few plain lines on stderr: what runs, progress every
 *     10 seconds, how it ended. Sink output on stdout is untouched.
 *   - with --quiet, nothing on stderr but a failure (and the hint when an
 *     earlier run already processed all the input).
 *
 * Stopping: the first Ctrl-C or SIGTERM stops cleanly (sources, streams,
 * sinks, each committing); a second one exits at once (the next run then
 * resumes from the last commits).
 *
 * Exit statuses: 0 stopped or ended cleanly, 1 the file is invalid or
 * something failed, 2 bad usage.
 */
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <time.h>
#include <unistd.h>

#include "base/alloc.h"
#include "base/buf.h"
#include "base/logging.h"
#include "cli.h"
#include "connect/pipeline/runtime.h"
#include "pipeline_cli.h"

#define EXIT_OK 0
#define EXIT_FAIL 1
#define EXIT_USAGE 2
#define DRAIN_TIMEOUT_MS 60000

enum {
  OPT_DATA_DIR = 1000,
  OPT_BOOTSTRAP,
  OPT_LISTEN,
  OPT_PLUGIN_PATH,
  OPT_STOP_IDLE,
  OPT_STOP_AFTER,
  OPT_THREADS,
  OPT_EXACTLY_ONCE,
  OPT_QUIET,
};

static void run_usage(FILE *out) {
  fprintf(out, "Usage: beck run PIPELINE.yaml [--data-dir DIR] [--bootstrap HOST:PORT | --listen HOST:PORT] [options]\n"
               "\n"
               "Runs a pipeline: its sources, streams and sinks. By default on an embedded log in\n"
               "--data-dir (no server needed). Stops cleanly on Ctrl-C or SIGTERM, or by itself when\n"
               "the file's run: section says so; a second run resumes where the first stopped.\n"
               "\n"
               "Options:\n"
               "  --data-dir DIR         topics and state of the embedded log (default: data); with\n"
               "                         --bootstrap only the local state stores live here\n"
               "  --bootstrap HOST:PORT  run against a Kafka-protocol cluster (a `beck broker`, Kafka,\n"
               "                         Redpanda) instead of the embedded log\n"
               "  --listen HOST:PORT     also serve the pipeline's topics to Kafka clients on HOST:PORT\n"
               "                         (an in-process broker over --data-dir)\n"
               "  --stop-when-idle D     end the input when nothing has moved for D (e.g. 2s): close\n"
               "                         open windows, let the sinks drain, stop (run.stop_when_idle;\n"
               "                         0: never, whatever the file says)\n"
               "  --stop-after D         stop cleanly after D (e.g. 1m) (run.stop_after; 0: never)\n"
               "  --exactly-once         streams commit outputs, state and offsets atomically\n"
               "                         (embedded log only)\n"
               "  --threads N            stream task threads (default 2)\n"
               "  --plugin-path DIRS     more connector plugin directories or .so files\n"
               "  -q, --quiet            no status display and no progress lines; only failures on stderr\n"
               "  -h, --help             show this help\n"
               "\n"
               "Examples:\n"
               "  beck run pipelines/quickstart.yaml\n"
               "  beck run orders.yaml --bootstrap 127.0.0.1:9092\n"
               "  beck run orders.yaml --listen 127.0.0.1:9092   # then: kcat -b 127.0.0.1:9092 -L\n");
}

/* ---- signals ----------------------------------------------------------------------- */

static volatile sig_atomic_t g_stop;
static int g_tty_fd = -1; /* where a second signal's message goes */

static void on_signal(int sig) {
  if (g_stop) {
    static const char msg[] = "\nbeck run: stopping at once; the next run resumes from the last commit\n";
    if (g_tty_fd >= 0 && write(g_tty_fd, msg, sizeof msg - 1) < 0) {
    }
    _exit(130);
  }
  g_stop = sig;
}

/* ---- formatting --------------------------------------------------------------------- */

static const char *fmt_count(char *buf, size_t n, uint64_t v) {
  char t[32];
  int len = snprintf(t, sizeof t, "%llu", (unsigned long long)v);
  size_t o = 0;
  for (int i = 0; i < len && o + 2 < n; i++) {
    if (i > 0 && (len - i) % 3 == 0)
      buf[o++] = ',';
    buf[o++] = t[i];
  }
  buf[o] = '\0';
  return buf;
}

static const char *fmt_rate(char *buf, size_t n, double r) {
  if (r < 0.5)
    snprintf(buf, n, "-");
  else if (r < 10000)
    snprintf(buf, n, "%.0f/s", r);
  else if (r < 10e6)
    snprintf(buf, n, "%.1fk/s", r / 1000);
  else
    snprintf(buf, n, "%.1fM/s", r / 1e6);
  return buf;
}

static const char *fmt_elapsed(char *buf, size_t n, int64_t ms) {
  if (ms < 60000)
    snprintf(buf, n, "%.1fs", (double)ms / 1000);
  else if (ms < 3600000)
    snprintf(buf, n, "%lldm%02llds", (long long)(ms / 60000), (long long)(ms % 60000 / 1000));
  else
    snprintf(buf, n, "%lldh%02lldm", (long long)(ms / 3600000), (long long)(ms % 3600000 / 60000));
  return buf;
}

/* Characters (code points) of s. */
static size_t width(const char *s) {
  size_t w = 0;
  for (; *s; s++)
    w += ((unsigned char)*s & 0xc0) != 0x80;
  return w;
}

/* Appends s cut to at most w characters, padded with spaces to w when pad. */
static void put_cell(beck_buf_t *b, const char *s, size_t w, bool pad) {
  size_t n = 0;
  const char *p = s;
  while (*p && n < w) {
    const char *q = p + 1;
    while (((unsigned char)*q & 0xc0) == 0x80)
      q++;
    if (n + 1 == w && *q != '\0') {
      beck_buf_printf(b, "~");
      n++;
      p = q;
      while (*p)
        p++;
      break;
    }
    beck_buf_append(b, p, (size_t)(q - p));
    n++;
    p = q;
  }
  while (pad && n < w) {
    beck_buf_append(b, " ", 1);
    n++;
  }
}

typedef struct view {
  const beck_pipeline_t *p;
  const char *where;
  bool color;
  int cols;
  int rows; /* the block stays below this many lines (it must fit to be erased) */
} view_t;

static const char *state_color(const view_t *v, const char *state) {
  if (!v->color)
    return "";
  if (strcmp(state, "RUNNING") == 0)
    return "\033[32m";
  if (strcmp(state, "FAILED") == 0)
    return "\033[1;31m";
  return "\033[33m";
}

/* The status block: a title, a dim line saying where and how long, then
 * one line per source, stream, step and sink. Each line fits in v->cols
 * characters (no wrapping, so the block can be erased by counting lines). */
static void render(const view_t *v, const beck_pipeline_status_t *st, const char *title, const char *sub, bool final,
                   beck_buf_t *b) {
  const char *dim = v->color ? "\033[2m" : "", *bold = v->color ? "\033[1m" : "", *off = v->color ? "\033[0m" : "";
  char t1[32], t2[32], t3[32];
  size_t cols = v->cols > 40 ? (size_t)v->cols - 1 : 79;
  size_t namew = 4, whatw = 4;
  for (size_t i = 0; i < st->n; i++) {
    const beck_pipeline_item_t *it = &st->items[i];
    size_t nw = width(it->name) + (it->kind == BECK_PIPELINE_ITEM_STEP ? 2 : 0);
    if (nw > namew)
      namew = nw;
    if (width(it->what) > whatw)
      whatw = width(it->what);
  }
  if (namew > 24)
    namew = 24;
  /* indent 4, name, what, state (8), records (12), rate (9), extra (12) */
  size_t fixed = 4 + namew + 2 + 2 + 8 + 2 + 12 + 2 + 9 + 2 + 12;
  if (whatw > 48)
    whatw = 48;
  if (cols < fixed + whatw)
    whatw = cols > fixed + 10 ? cols - fixed : 10;
  beck_buf_printf(b, "%s", bold);
  put_cell(b, title, cols, false);
  beck_buf_printf(b, "%s\n%s", off, dim);
  put_cell(b, sub, cols, false);
  beck_buf_printf(b, "%s\n", off);
  static const char *const sections[] = {"sources", "streams", "", "sinks"};
  /* a block taller than the terminal could not be erased: leave out the
   * steps first, then cut */
  int budget = v->rows > 6 ? v->rows - 2 : 4, lines = 2 + 3; /* title, sub, section heads */
  bool steps = true;
  for (size_t i = 0; i < st->n; i++)
    lines++;
  if (lines > budget) {
    steps = false;
    lines = 5;
    for (size_t i = 0; i < st->n; i++)
      lines += st->items[i].kind != BECK_PIPELINE_ITEM_STEP;
  }
  int shown = 2, left = 0;
  int last = -1;
  for (size_t i = 0; i < st->n; i++) {
    const beck_pipeline_item_t *it = &st->items[i];
    if (it->kind == BECK_PIPELINE_ITEM_STEP && !steps)
      continue;
    if (shown >= budget - 1) {
      left++;
      continue;
    }
    shown++;
    int sec = it->kind == BECK_PIPELINE_ITEM_STEP ? BECK_PIPELINE_ITEM_STREAM : (int)it->kind;
    if (sec != last) {
      shown++;
      beck_buf_printf(b, "%s  ", dim);
      if (last < 0) {
        put_cell(b, sections[sec], namew + 2 + whatw + 2, true);
        beck_buf_printf(b, "  %-8s  %12s  %9s", "state", "records", "rate");
      } else {
        beck_buf_printf(b, "%s", sections[sec]);
      }
      beck_buf_printf(b, "%s\n", off);
      last = sec;
    }
    if (it->kind == BECK_PIPELINE_ITEM_STEP) {
      beck_buf_printf(b, "%s      ", dim);
      put_cell(b, it->name, namew - 2, true);
      beck_buf_printf(b, "  ");
      put_cell(b, it->what, whatw, true);
      beck_buf_printf(b, "  %8s  %12s%s\n", "", fmt_count(t1, sizeof t1, it->records), off);
      continue;
    }
    beck_buf_printf(b, "    ");
    put_cell(b, it->name, namew, true);
    beck_buf_printf(b, "  ");
    put_cell(b, it->what, whatw, true);
    beck_buf_printf(b, "  %s%-8.8s%s  %12s  %9s", state_color(v, it->state), it->state, off,
                    fmt_count(t1, sizeof t1, it->records), final ? "" : fmt_rate(t2, sizeof t2, it->rate));
    if (it->kind == BECK_PIPELINE_ITEM_STREAM)
      beck_buf_printf(b, "  %s out", fmt_count(t3, sizeof t3, it->records_out));
    else if (it->kind == BECK_PIPELINE_ITEM_SINK && it->lag > 0)
      beck_buf_printf(b, "  lag %s", fmt_count(t3, sizeof t3, (uint64_t)it->lag));
    beck_buf_printf(b, "\n");
    if (it->error[0] && (strcmp(it->state, "RUNNING") != 0 || it->rate < 0.5) && shown < budget - 1) {
      shown++;
      beck_buf_printf(b, "      %s", v->color ? "\033[31m" : "");
      put_cell(b, it->error, cols - 6, false);
      beck_buf_printf(b, "%s\n", off);
    }
  }
  if (left > 0)
    beck_buf_printf(b, "%s  ... %d more (a taller terminal shows them)%s\n", dim, left, off);
}

/* One plain line: "orders 6,000 (1,000/s); per-status 6,000 in, 50 out; console 50". */
static void plain_progress(const beck_pipeline_status_t *st, bool final, beck_buf_t *b) {
  char t1[32], t2[32], t3[32];
  bool first = true;
  for (size_t i = 0; i < st->n; i++) {
    const beck_pipeline_item_t *it = &st->items[i];
    if (it->kind == BECK_PIPELINE_ITEM_STEP)
      continue;
    beck_buf_printf(b, "%s%s %s", first ? "" : "; ", it->name, fmt_count(t1, sizeof t1, it->records));
    if (it->kind == BECK_PIPELINE_ITEM_STREAM)
      beck_buf_printf(b, " in, %s out", fmt_count(t3, sizeof t3, it->records_out));
    if (it->rate >= 0.5 && !final)
      beck_buf_printf(b, " (%s)", fmt_rate(t2, sizeof t2, it->rate));
    if (strcmp(it->state, "FAILED") == 0 || strcmp(it->state, "PAUSED") == 0)
      beck_buf_printf(b, " %s", it->state);
    first = false;
  }
}

/* ---- the live display ------------------------------------------------------------ */

typedef struct display {
  bool live;
  int out_fd;       /* the terminal (a dup of the original stderr) */
  int saved_stdout; /* to restore; -1 when stdout was not captured */
  int saved_stderr;
  int pipe_rd;
  pthread_t tid;
  bool thread;
  pthread_mutex_t mu;
  beck_buf_t block; /* what is on screen */
  int drawn;        /* lines of the block on screen */
  beck_buf_t partial;
  volatile int quit;
} display_t;

static void write_all(int fd, const void *p, size_t n) {
  const char *c = p;
  while (n > 0) {
    ssize_t w = write(fd, c, n);
    if (w < 0 && errno == EINTR)
      continue;
    if (w <= 0)
      return;
    c += w;
    n -= (size_t)w;
  }
}

static void erase_block(display_t *d) {
  if (d->drawn > 0) {
    char esc[32];
    int n = snprintf(esc, sizeof esc, "\r\033[%dA\033[J", d->drawn);
    write_all(d->out_fd, esc, (size_t)n);
    d->drawn = 0;
  }
}

static void draw_block(display_t *d) {
  write_all(d->out_fd, d->block.data, d->block.len);
  int lines = 0;
  for (size_t i = 0; i < d->block.len; i++)
    lines += d->block.data[i] == '\n';
  d->drawn = lines;
}

/* Copies complete lines of captured output above the block (all of it when
 * flush_partial). Called with d->mu held. */
static void emit_output(display_t *d, bool flush_partial) {
  size_t end = 0;
  for (size_t i = d->partial.len; i-- > 0;)
    if (d->partial.data[i] == '\n') {
      end = i + 1;
      break;
    }
  if (flush_partial)
    end = d->partial.len;
  if (end == 0)
    return;
  erase_block(d);
  write_all(d->out_fd, d->partial.data, end);
  if (flush_partial && d->partial.data[end - 1] != '\n')
    write_all(d->out_fd, "\n", 1);
  memmove(d->partial.data, d->partial.data + end, d->partial.len - end);
  d->partial.len -= end;
  draw_block(d);
}

static void *display_main(void *arg) {
  display_t *d = arg;
  char buf[8192];
  int quiet_polls = 0;
  for (;;) {
    struct pollfd pf = {.fd = d->pipe_rd, .events = POLLIN};
    int n = poll(&pf, 1, 100);
    if (n > 0) {
      ssize_t r = read(d->pipe_rd, buf, sizeof buf);
      if (r > 0) {
        pthread_mutex_lock(&d->mu);
        beck_buf_append(&d->partial, buf, (size_t)r);
        emit_output(d, d->partial.len > 65536);
        pthread_mutex_unlock(&d->mu);
        quiet_polls = 0;
        continue;
      }
      if (r == 0)
        break; /* every writer closed */
    } else if (d->partial.len > 0 && ++quiet_polls >= 3) {
      pthread_mutex_lock(&d->mu);
      emit_output(d, true); /* a line without its newline for 300 ms: show it */
      pthread_mutex_unlock(&d->mu);
    }
    if (d->quit && n == 0)
      break;
  }
  return NULL;
}

static int term_cols(int fd) {
  struct winsize ws;
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_col > 0)
    return ws.ws_col;
  return 80;
}

static int term_rows(int fd) {
  struct winsize ws;
  if (ioctl(fd, TIOCGWINSZ, &ws) == 0 && ws.ws_row > 0)
    return ws.ws_row;
  return 24;
}

/* Live when stderr is a terminal: capture stderr (log lines), and stdout
 * too when it is the terminal as well. */
static void display_open(display_t *d, bool quiet) {
  memset(d, 0, sizeof *d);
  d->out_fd = d->saved_stdout = d->saved_stderr = d->pipe_rd = -1;
  pthread_mutex_init(&d->mu, NULL);
  const char *term = getenv("TERM");
  if (quiet || !isatty(2) || (term != NULL && strcmp(term, "dumb") == 0))
    return;
  int fds[2];
  if (pipe(fds) != 0)
    return;
  fflush(stdout);
  fflush(stderr);
  d->out_fd = dup(2);
  d->saved_stderr = dup(2);
  bool cap_out = isatty(1);
  if (cap_out) {
    d->saved_stdout = dup(1);
    setvbuf(stdout, NULL, _IOLBF, 0);
    dup2(fds[1], 1);
  }
  dup2(fds[1], 2);
  close(fds[1]);
  fcntl(fds[0], F_SETFD, FD_CLOEXEC);
  fcntl(d->out_fd, F_SETFD, FD_CLOEXEC);
  d->pipe_rd = fds[0];
  d->live = true;
  g_tty_fd = d->out_fd;
  d->thread = pthread_create(&d->tid, NULL, display_main, d) == 0;
}

static void display_set(display_t *d, const beck_buf_t *block) {
  if (!d->live)
    return;
  pthread_mutex_lock(&d->mu);
  erase_block(d);
  beck_buf_reset(&d->block);
  beck_buf_append(&d->block, block->data, block->len);
  draw_block(d);
  pthread_mutex_unlock(&d->mu);
}

/* Stops capturing: the last output is copied out, the block stays on
 * screen as the final status, stdout and stderr are restored. */
static void display_close(display_t *d) {
  if (!d->live)
    return;
  fflush(stdout);
  fflush(stderr);
  /* restore the real fds: the pipe's last writers close, the thread drains */
  if (d->saved_stdout >= 0) {
    dup2(d->saved_stdout, 1);
    close(d->saved_stdout);
  }
  dup2(d->saved_stderr, 2);
  close(d->saved_stderr);
  d->quit = 1;
  if (d->thread)
    pthread_join(d->tid, NULL);
  pthread_mutex_lock(&d->mu);
  emit_output(d, true);
  pthread_mutex_unlock(&d->mu);
  close(d->pipe_rd);
  g_tty_fd = -1;
  close(d->out_fd);
  beck_buf_free(&d->block);
  beck_buf_free(&d->partial);
  d->live = false;
}

static int64_t now_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* ---- the command ------------------------------------------------------------------- */

/* A duration flag; 0 turns the file's setting off (stored as -1). */
static int parse_duration_arg(const char *opt, const char *v, int64_t *ms) {
  if (strcmp(v, "0") == 0) {
    *ms = -1;
    return 0;
  }
  if (beck_parse_duration(v, strlen(v), ms) != 0 || *ms < 0) {
    fprintf(stderr, "beck run: %s '%s': expected a duration such as 2s, 30s or 5m (0: never)\n", opt, v);
    return -1;
  }
  if (*ms == 0)
    *ms = -1;
  return 0;
}

/* "beck run NAME - description" */
static void title_of(char *buf, size_t n, const beck_pipeline_t *p) {
  snprintf(buf, n, "beck run %s%s%s", p->name, p->description ? " - " : "", p->description ? p->description : "");
  for (char *c = buf; *c; c++)
    if (*c == '\n')
      *c = ' ';
}

int cmd_run(int argc, char **argv) {
  static const struct option longopts[] = {
      {"data-dir", required_argument, NULL, OPT_DATA_DIR},
      {"bootstrap", required_argument, NULL, OPT_BOOTSTRAP},
      {"listen", required_argument, NULL, OPT_LISTEN},
      {"plugin-path", required_argument, NULL, OPT_PLUGIN_PATH},
      {"stop-when-idle", required_argument, NULL, OPT_STOP_IDLE},
      {"stop-after", required_argument, NULL, OPT_STOP_AFTER},
      {"threads", required_argument, NULL, OPT_THREADS},
      {"exactly-once", no_argument, NULL, OPT_EXACTLY_ONCE},
      {"quiet", no_argument, NULL, 'q'},
      {"help", no_argument, NULL, 'h'},
      {NULL, 0, NULL, 0},
  };
  beck_pipeline_run_config_t cfg = {.data_dir = "data"};
  const char *plugin_path = NULL;
  bool quiet = false;
  int ch;
  optind = 1;
  while ((ch = getopt_long(argc, argv, "qh", longopts, NULL)) != -1) {
    switch (ch) {
    case OPT_DATA_DIR:
      cfg.data_dir = optarg;
      break;
    case OPT_BOOTSTRAP:
      cfg.bootstrap = optarg;
      break;
    case OPT_LISTEN:
      cfg.listen = optarg;
      break;
    case OPT_PLUGIN_PATH:
      plugin_path = optarg;
      break;
    case OPT_STOP_IDLE:
      if (parse_duration_arg("--stop-when-idle", optarg, &cfg.stop_when_idle_ms) < 0)
        return EXIT_USAGE;
      break;
    case OPT_STOP_AFTER:
      if (parse_duration_arg("--stop-after", optarg, &cfg.stop_after_ms) < 0)
        return EXIT_USAGE;
      break;
    case OPT_THREADS: {
      char *end;
      long n = strtol(optarg, &end, 10);
      if (*end != '\0' || n < 1 || n > 256) {
        fprintf(stderr, "beck run: --threads '%s': expected 1 to 256\n", optarg);
        return EXIT_USAGE;
      }
      cfg.threads = (int)n;
      break;
    }
    case OPT_EXACTLY_ONCE:
      cfg.exactly_once = true;
      break;
    case 'q':
      quiet = true;
      break;
    case 'h':
      run_usage(stdout);
      return EXIT_OK;
    default:
      run_usage(stderr);
      return EXIT_USAGE;
    }
  }
  if (optind >= argc) {
    fprintf(stderr, "beck run: which pipeline? (beck run PIPELINE.yaml)\n");
    run_usage(stderr);
    return EXIT_USAGE;
  }
  if (optind + 1 < argc) {
    fprintf(stderr, "beck run: unexpected argument '%s'\n", argv[optind + 1]);
    return EXIT_USAGE;
  }
  if (cfg.bootstrap != NULL && cfg.listen != NULL) {
    fprintf(stderr, "beck run: --bootstrap and --listen exclude each other (--listen serves the embedded log)\n");
    return EXIT_USAGE;
  }
  const char *file = argv[optind];
  if (getenv("BECK_LOG_LEVEL") == NULL)
    beck_log_set_level(BECK_LOG_WARN); /* the status display says what runs */

  beck_plugin_set_t *plugins;
  beck_pipeline_t *p;
  int rc = cli_pipeline_load("run", file, plugin_path, true, &plugins, &p);
  if (rc != EXIT_OK)
    return rc;
  cfg.plugins = plugins;
  beck_error_t e;
  beck_error_clear(&e);
  beck_pipeline_runner_t *r = NULL;
  if (beck_pipeline_runner_new(p, &cfg, &r, &e) != BECK_ERR_OK) {
    fprintf(stderr, "beck run: %s\n", e.msg);
    beck_pipeline_free(p);
    beck_plugin_set_free(plugins);
    return EXIT_FAIL;
  }

  struct sigaction sa;
  memset(&sa, 0, sizeof sa);
  sa.sa_handler = on_signal;
  sigemptyset(&sa.sa_mask);
  sigaction(SIGINT, &sa, NULL);
  sigaction(SIGTERM, &sa, NULL);

  display_t d;
  display_open(&d, quiet);
  view_t v = {.rows = d.live ? term_rows(d.out_fd) : 24,
              .p = p,
              .where = beck_pipeline_runner_describe(r),
              .color = d.live && cli_use_color(d.out_fd),
              .cols = d.live ? term_cols(d.out_fd) : 80};
  if (!d.live && !quiet)
    fprintf(stderr, "beck run: pipeline %s on %s; Ctrl-C stops it\n", p->name, v.where);

  beck_pipeline_status_t st;
  beck_pipeline_run_state_t state = BECK_PIPELINE_RUNNING;
  beck_buf_t block = {0};
  char title[400], sub[600];
  title_of(title, sizeof title, p);
  if (beck_pipeline_runner_start(r, &e) != BECK_ERR_OK) {
    display_close(&d);
    fprintf(stderr, "beck run: %s\n", e.msg);
    beck_pipeline_runner_free(r);
    beck_pipeline_free(p);
    beck_plugin_set_free(plugins);
    return EXIT_FAIL;
  }
  int64_t last_plain = 0;
  while (!g_stop) {
    state = beck_pipeline_runner_poll(r, &st);
    if (d.live) {
      v.cols = term_cols(d.out_fd);
      v.rows = term_rows(d.out_fd);
      char t[32];
      snprintf(sub, sizeof sub, "  %s on %s - Ctrl-C stops it, the next run resumes",
               fmt_elapsed(t, sizeof t, st.elapsed_ms), v.where);
      beck_buf_reset(&block);
      render(&v, &st, title, sub, false, &block);
      display_set(&d, &block);
    } else if (st.elapsed_ms - last_plain >= 10000) {
      last_plain = st.elapsed_ms;
      char t[32];
      beck_buf_reset(&block);
      beck_buf_printf(&block, "beck run: %s: ", fmt_elapsed(t, sizeof t, st.elapsed_ms));
      plain_progress(&st, false, &block);
      if (!quiet)
        fprintf(stderr, "%.*s\n", (int)block.len, (const char *)block.data);
    }
    if (state != BECK_PIPELINE_RUNNING)
      break;
    for (int i = 0; i < 5 && !g_stop; i++) {
      struct timespec ts = {0, 100 * 1000000L};
      nanosleep(&ts, NULL);
    }
  }

  const char *why = g_stop                               ? (g_stop == SIGTERM ? "SIGTERM" : "Ctrl-C")
                    : state == BECK_PIPELINE_INPUT_ENDED ? "the input ended"
                    : state == BECK_PIPELINE_TIME_UP     ? "stop_after"
                    : state == BECK_PIPELINE_FAILED      ? "a failure"
                                                         : "?";
  char failure[BECK_ERROR_MSG_MAX] = "";
  if (state == BECK_PIPELINE_FAILED)
    snprintf(failure, sizeof failure, "%s", st.error);
  bool live = d.live;
  if (live) {
    snprintf(sub, sizeof sub, "  stopping (%s)%s", why,
             state == BECK_PIPELINE_INPUT_ENDED ? ": closing windows, draining sinks" : "");
    beck_buf_reset(&block);
    render(&v, &st, title, sub, false, &block);
    display_set(&d, &block);
  } else if (!quiet) {
    fprintf(stderr, "beck run: stopping (%s)%s\n", why,
            state == BECK_PIPELINE_INPUT_ENDED ? ": closing windows, draining sinks" : "");
  }
  rc = EXIT_OK;
  if (state == BECK_PIPELINE_INPUT_ENDED && !g_stop) {
    /* a finite input: close the windows, then let the sinks write
     * everything (the status keeps showing how far they are) */
    if (beck_pipeline_runner_end_input(r, &e) != BECK_ERR_OK) {
      snprintf(failure, sizeof failure, "%s", e.msg);
    } else {
      int64_t t0 = now_ms();
      bool drained = false;
      while (!g_stop && !(drained = beck_pipeline_runner_drained(r)) && now_ms() - t0 < DRAIN_TIMEOUT_MS) {
        beck_pipeline_runner_poll(r, &st);
        if (live) {
          char t[32];
          snprintf(sub, sizeof sub, "  the input ended: the sinks are writing what is left (%s)",
                   fmt_elapsed(t, sizeof t, now_ms() - t0));
          beck_buf_reset(&block);
          render(&v, &st, title, sub, false, &block);
          display_set(&d, &block);
        }
        struct timespec ts = {0, 200 * 1000000L};
        nanosleep(&ts, NULL);
      }
      if (!drained && !g_stop) {
        beck_buf_t w = {0};
        beck_pipeline_runner_poll(r, &st);
        for (size_t i = 0; i < st.n; i++) {
          const beck_pipeline_item_t *it = &st.items[i];
          if (it->kind != BECK_PIPELINE_ITEM_SINK || (it->lag == 0 && it->error[0] == '\0'))
            continue;
          beck_buf_printf(&w, "%ssink '%s'", w.len ? "; " : "", it->name);
          if (it->lag > 0)
            beck_buf_printf(&w, " is %lld records behind", (long long)it->lag);
          if (it->error[0])
            beck_buf_printf(&w, " (last error: %s)", it->error);
        }
        snprintf(failure, sizeof failure,
                 "the sinks did not write everything within %d s%s%.*s; the next run takes "
                 "it up",
                 DRAIN_TIMEOUT_MS / 1000, w.len ? ": " : "", (int)w.len, w.data ? (const char *)w.data : "");
        beck_buf_free(&w);
      }
    }
  }
  if (beck_pipeline_runner_stop(r, &e) != BECK_ERR_OK && failure[0] == '\0')
    snprintf(failure, sizeof failure, "%s", e.msg);
  beck_pipeline_runner_poll(r, &st);
  for (size_t i = 0; i < st.n && failure[0] == '\0'; i++)
    if (strcmp(st.items[i].state, "FAILED") == 0)
      snprintf(failure, sizeof failure, "%s '%s' failed: %s",
               st.items[i].kind == BECK_PIPELINE_ITEM_SOURCE ? "source"
               : st.items[i].kind == BECK_PIPELINE_ITEM_SINK ? "sink"
                                                             : "stream",
               st.items[i].name, st.items[i].error);
  if (failure[0] != '\0')
    rc = EXIT_FAIL;
  char t[32];
  if (live) {
    snprintf(sub, sizeof sub, "  %s after %s (%s) on %s", rc == EXIT_OK ? "stopped" : "FAILED",
             fmt_elapsed(t, sizeof t, st.elapsed_ms), why, v.where);
    beck_buf_reset(&block);
    render(&v, &st, title, sub, true, &block);
    display_set(&d, &block);
  }
  display_close(&d);
  if (!live) {
    beck_buf_reset(&block);
    plain_progress(&st, true, &block);
    if (!quiet || rc != EXIT_OK)
      fprintf(stderr, "beck run: %s after %s (%s): %.*s\n", rc == EXIT_OK ? "stopped" : "FAILED",
              fmt_elapsed(t, sizeof t, st.elapsed_ms), why, (int)block.len, (const char *)block.data);
  }
  bool nothing = true;
  for (size_t i = 0; i < st.n; i++)
    nothing &= st.items[i].kind == BECK_PIPELINE_ITEM_STEP || st.items[i].records == 0;
  if (rc != EXIT_OK)
    fprintf(stderr, "beck run: %s\n", failure);
  else if (nothing && state == BECK_PIPELINE_INPUT_ENDED && !g_stop)
    fprintf(stderr,
            "beck run: nothing new to process: the input had already been processed by an earlier run "
            "over %s (use another --data-dir to start over)\n",
            cfg.bootstrap ? cfg.bootstrap : cfg.data_dir);
  else if (!quiet)
    fprintf(stderr, "beck run: offsets and state are stored (%s): the next run resumes from here\n",
            cfg.bootstrap ? "in the cluster and the local state directory" : cfg.data_dir);
  beck_buf_free(&block);
  beck_pipeline_runner_free(r);
  beck_pipeline_free(p);
  beck_plugin_set_free(plugins);
  return rc;
}
