/*
 * log_bench.c - beck-bench-log: the partition log (core/log/plog.h) against
 * the disk's own limits, measured in the same run with the same bytes.
 *
 * For 100-byte and 1 KiB records in ~16 KiB and ~1 MiB batches (built once
 * up front, so the log is measured, not batch building):
 *
 *   measure          beck                                raw (the limit)
 *   append always    beck_plog_append + wait_durable     pwrite + fdatasync per batch
 *   append interval  append; a thread syncs when due     pwrite, no sync
 *                    (fsync_interval_ms = 10)
 *   append never     append                              pwrite, no sync
 *   read             beck_plog_read_copy, 1 MiB reads    pread of the segment, 1 MiB
 *   recovery scan    beck_plog_open without the          pread + CRC-32C of every batch
 *                    clean-shutdown and recovery-point
 *
 * and group commit: K threads each appending 4 x 1 KiB-record batches with
 * wait_durable, appends/s against fdatasyncs/s (counted through a wrapping
 * beck_env_t), next to one thread's raw pwrite + fdatasync rate.
 *
 * Raw and beck appends take turns in small chunks (~2 MiB unsynced, ~256 KiB
 * synced) on files in the same directory, so load from elsewhere falls on
 * both alike; their figures are bytes over time summed over all turns.
 * Reads and recovery scans alternate whole runs and report the median.
 * Unsynced figures and reads are page-cache speed; synced ones are the
 * disk's flush speed. Goals (design.md, Performance):
 * durable appends >= 0.8x raw fdatasync at the same batch size, unsynced
 * appends >= 0.8x raw write, recovery scan >= 500 MB/s.
 *
 * Usage: beck-bench-log [--quick] [--dir DIR] [--output table|json]
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdatomic.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/env.h"
#include "base/err.h"
#include "base/logging.h"
#include "log/plog.h"
#include "record/batch.h"

#ifndef BECK_BENCH_DEFAULT_DIR
#define BECK_BENCH_DEFAULT_DIR "."
#endif

#define MB 1e6 /* figures are in MB/s (10^6 bytes), like the goals */
#define READ_CHUNK (1024 * 1024)
#define MAX_REPS 5
#define GC_RECORDS 4

typedef struct opts {
  bool quick, json;
  const char *dir;
  int reps;
  size_t unsynced_bytes; /* per rep, per unsynced run */
  size_t synced_bytes;   /* cap per rep, per synced run */
  double synced_secs;    /* cap per rep, per synced run */
  double gc_secs;
} opts_t;

static opts_t O;
static char g_dir[4096];
static uint64_t g_bytes_written;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "beck-bench-log: ");
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  exit(1);
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static int cmp_double(const void *a, const void *b) {
  double x = *(const double *)a, y = *(const double *)b;
  return x < y ? -1 : x > y;
}

static double median(double *v, int n) {
  qsort(v, (size_t)n, sizeof *v, cmp_double);
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/* ---- an env that counts fdatasyncs -------------------------------------- */

static beck_env_t g_env;
static atomic_uint_fast64_t g_fsyncs;

static int counting_fdatasync(beck_env_t *env, int fd) {
  atomic_fetch_add(&g_fsyncs, 1);
  beck_env_t *base = env->ctx;
  return base->fdatasync(base, fd);
}

static void env_init(void) {
  g_env = *beck_env_default();
  g_env.ctx = beck_env_default();
  g_env.fdatasync = counting_fdatasync;
}

/* ---- files and logs ------------------------------------------------------ */

static int rm_tree(const char *path) {
  DIR *d = opendir(path);
  if (d == NULL)
    return unlink(path) == 0 || errno == ENOENT ? 0 : -1;
  struct dirent *de;
  char p[4096 + 256];
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    snprintf(p, sizeof p, "%s/%s", path, de->d_name);
    rm_tree(p);
  }
  closedir(d);
  return rmdir(path);
}

static void path_in(char *out, size_t n, const char *name) { snprintf(out, n, "%s/%s", g_dir, name); }

#define BENCH_INTERVAL_MS 10 /* INTERVAL runs last tens of ms: sync a few times in each */

static beck_plog_t *log_open(const char *name, beck_fsync_policy_t policy, bool fresh) {
  char p[4096 + 64];
  path_in(p, sizeof p, name);
  if (fresh)
    rm_tree(p);
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.fsync_policy = policy;
  cfg.max_batch_bytes = 2 * 1024 * 1024;
  cfg.retention_ms = -1;
  cfg.fsync_interval_ms = BENCH_INTERVAL_MS;
  beck_plog_t *log;
  beck_error_t e;
  beck_error_clear(&e);
  if (beck_plog_open(p, &cfg, &g_env, &log, &e))
    die("open %s: %s", p, e.msg);
  return log;
}

/* Sum of the sizes of the *.log files in a log directory. */
static int64_t segment_bytes(const char *name) {
  char p[4096 + 64], f[4096 + 384];
  path_in(p, sizeof p, name);
  DIR *d = opendir(p);
  if (d == NULL)
    return 0;
  int64_t total = 0;
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    size_t n = strlen(de->d_name);
    if (n > 4 && strcmp(de->d_name + n - 4, ".log") == 0) {
      struct stat st;
      snprintf(f, sizeof f, "%s/%s", p, de->d_name);
      if (stat(f, &st) == 0)
        total += st.st_size;
    }
  }
  closedir(d);
  return total;
}

/* ---- batches ------------------------------------------------------------ */

typedef struct batch {
  uint8_t *data; /* one batch; the log rewrites BaseOffset in place */
  size_t len;
  int32_t records;
} batch_t;

static batch_t make_batch(size_t record_bytes, size_t target_bytes, int max_records, uint64_t salt) {
  beck_batch_builder_t b;
  beck_batch_builder_init(&b);
  uint8_t *val = malloc(record_bytes);
  uint64_t s = 0x9E3779B97F4A7C15ull ^ salt;
  int n = 0;
  int64_t ts = 1700000000000LL;
  for (;;) {
    for (size_t i = 0; i < record_bytes; i++) {
      s = s * 6364136223846793005ull + 1442695040888963407ull;
      val[i] = (uint8_t)('a' + (s >> 59) % 26);
    }
    /* stop before the next record would pass the target */
    if (n > 0 && (b.buf.len + record_bytes + 16 > target_bytes || n == max_records))
      break;
    char key[24];
    int kl = snprintf(key, sizeof key, "k%07d", n);
    if (beck_batch_builder_add(&b, ts + n, beck_nstr(key, kl), beck_nstr(val, (int32_t)record_bytes), NULL, 0))
      die("batch builder failed");
    n++;
  }
  if (beck_batch_builder_finish(&b))
    die("batch builder failed");
  free(val);
  batch_t out = {b.buf.data, b.buf.len, n};
  return out; /* takes b's buffer */
}

/* ---- results ------------------------------------------------------------ */

typedef struct row {
  const char *records, *batch, *measure;
  double mbps, recps;    /* beck */
  const char *raw_name;  /* what the raw figure is */
  double raw_mbps;       /* raw */
  double ratio;          /* beck / raw */
  const char *goal;      /* "" when none */
  int status;            /* -1 no goal, 0 MISS, 1 PASS */
  double extra;          /* fsyncs per append for append always, else 0 */
} row_t;

static row_t g_rows[64];
static int g_nrows;

static row_t *add_row(const char *records, const char *batch, const char *measure) {
  row_t *r = &g_rows[g_nrows++];
  memset(r, 0, sizeof *r);
  r->records = records;
  r->batch = batch;
  r->measure = measure;
  r->goal = "";
  r->status = -1;
  return r;
}

typedef struct gc_row {
  int threads;
  size_t batch_bytes;
  double appends_per_s, fsyncs_per_s, mbps;
  double raw_fsyncs_per_s;
} gc_row_t;

static gc_row_t g_gc[8];
static int g_ngc;

/* ---- raw runs ------------------------------------------------------------ */

static int raw_open(const char *name) {
  char p[4096 + 64];
  path_in(p, sizeof p, name);
  int fd = open(p, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    die("open %s: %s", p, strerror(errno));
  return fd;
}

static void raw_remove(int fd, const char *name) {
  char p[4096 + 64];
  path_in(p, sizeof p, name);
  close(fd);
  unlink(p);
}

/* Writes `bytes` of copies of b at *off; with sync, fdatasync per batch and
 * stop at `secs`. Returns seconds; adds the bytes written to *done. */
static double raw_write(int fd, int64_t *off, const batch_t *b, size_t bytes, bool sync, double secs, size_t *done) {
  size_t n = 0;
  double t0 = now_s(), t = t0;
  while (n < bytes) {
    if (pwrite(fd, b->data, b->len, *off) != (ssize_t)b->len)
      die("pwrite: %s", strerror(errno));
    if (sync && fdatasync(fd) != 0)
      die("fdatasync: %s", strerror(errno));
    *off += (int64_t)b->len;
    n += b->len;
    if (sync && (t = now_s()) - t0 >= secs)
      break;
  }
  if (!sync)
    t = now_s();
  *done += n;
  g_bytes_written += n;
  return t - t0;
}

/* ---- beck runs ----------------------------------------------------------- */

/* Time and bytes one contender accumulated over its turns. */
typedef struct turn {
  double secs;
  size_t bytes;
  uint64_t appends;
} turn_t;

static double turn_rate(const turn_t *t) { return t->secs > 0 ? (double)t->bytes / t->secs / MB : 0; }

/* Bytes of whole copies of b closest to `target` (at least one batch). */
static size_t chunk_bytes(const batch_t *b, size_t target) {
  size_t n = target / b->len;
  return (n ? n : 1) * b->len;
}

/* Appends copies of b until `bytes`; with durable, wait_durable after each.
 * Returns seconds; adds bytes and appends to *t. */
static double log_append(beck_plog_t *log, batch_t *b, size_t bytes, bool durable, turn_t *t) {
  size_t n = 0;
  beck_error_t e;
  beck_error_clear(&e);
  double t0 = now_s();
  while (n < bytes) {
    beck_plog_append_info_t info;
    if (beck_plog_append(log, b->data, b->len, &info, &e))
      die("append: %s", e.msg);
    if (durable && beck_plog_wait_durable(log, info.last_offset + 1, &e))
      die("wait_durable: %s", e.msg);
    n += b->len;
    t->appends++;
  }
  double secs = now_s() - t0;
  t->bytes += n;
  g_bytes_written += n;
  return secs;
}

/* INTERVAL policy: what a broker does, a thread that syncs when due. */
typedef struct syncer {
  beck_plog_t *log;
  atomic_bool stop;
  pthread_t th;
} syncer_t;

static void *syncer_main(void *arg) {
  syncer_t *s = arg;
  beck_error_t e;
  while (!atomic_load(&s->stop)) {
    if (beck_plog_sync_due(s->log, g_env.now_ms(&g_env)) && beck_plog_sync(s->log, &e))
      die("interval sync: %s", e.msg);
    usleep(2000);
  }
  return NULL;
}

/* Fills the page cache's free lists and the CPU caches once, so that the
 * first case is not measured cold. */
static void warm_up(void) {
  batch_t b = make_batch(1024, 1024 * 1024, 1 << 30, 1);
  int fd = raw_open("warm.dat");
  int64_t off = 0;
  size_t done = 0;
  raw_write(fd, &off, &b, O.unsynced_bytes, false, 0, &done);
  raw_remove(fd, "warm.dat");
  g_bytes_written -= done;
  free(b.data);
}

/* ---- one record size / batch size case --------------------------------- */

static void bench_case(size_t record_bytes, size_t batch_target, const char *rec_name, const char *batch_name) {
  batch_t b = make_batch(record_bytes, batch_target, 1 << 30, record_bytes * 31 + batch_target);
  double recs_per_byte = (double)b.records / (double)b.len;
  int R = O.reps;
  turn_t raw = {0}, raw2 = {0}, nev = {0}, itv = {0}, rsync = {0}, alw = {0};

  /* Unsynced appends: raw pwrite and NEVER take turns in chunks of ~2 MiB,
   * so that whatever else the machine does meanwhile (other processes'
   * fsyncs stall ext4's block allocation for a while) falls on both alike;
   * then raw pwrite and INTERVAL, with its sync thread running. */
  size_t chunk = chunk_bytes(&b, 2u << 20);
  size_t rounds = (size_t)R * O.unsynced_bytes / chunk;
  if (rounds < 2)
    rounds = 2;
  int raw_fd = raw_open("raw.dat");
  int64_t raw_off = 0;
  beck_plog_t *never = log_open("never", BECK_FSYNC_NEVER, true);
  for (size_t i = 0; i < rounds; i++) {
    if (i % 2 == 0)
      raw.secs += raw_write(raw_fd, &raw_off, &b, chunk, false, 0, &raw.bytes);
    nev.secs += log_append(never, &b, chunk, false, &nev);
    if (i % 2 == 1)
      raw.secs += raw_write(raw_fd, &raw_off, &b, chunk, false, 0, &raw.bytes);
  }
  raw_remove(raw_fd, "raw.dat");
  raw_fd = raw_open("raw.dat");
  raw_off = 0;
  beck_plog_t *inter = log_open("interval", BECK_FSYNC_INTERVAL, true);
  syncer_t sy = {inter, false, 0};
  pthread_create(&sy.th, NULL, syncer_main, &sy);
  for (size_t i = 0; i < rounds; i++) {
    if (i % 2 == 0)
      raw2.secs += raw_write(raw_fd, &raw_off, &b, chunk, false, 0, &raw2.bytes);
    itv.secs += log_append(inter, &b, chunk, false, &itv);
    if (i % 2 == 1)
      raw2.secs += raw_write(raw_fd, &raw_off, &b, chunk, false, 0, &raw2.bytes);
  }
  atomic_store(&sy.stop, true);
  pthread_join(sy.th, NULL);
  beck_plog_close(inter);
  raw_remove(raw_fd, "raw.dat");
  char p[4096 + 64];
  path_in(p, sizeof p, "interval");
  rm_tree(p);

  /* reads of the NEVER log, against pread of its segment file(s) */
  double r_log[MAX_REPS], r_raw[MAX_REPS];
  int64_t log_bytes = segment_bytes("never");
  int64_t end = beck_plog_end_offset(never);
  beck_buf_t buf = {0};
  if (beck_buf_reserve(&buf, 2 * READ_CHUNK + b.len))
    die("out of memory");
  for (int r = 0; r < R; r++) {
    beck_error_t e;
    double t0 = now_s();
    int64_t off = beck_plog_start_offset(never);
    size_t got = 0;
    while (off < end) {
      buf.len = 0;
      if (beck_plog_read_copy(never, off, READ_CHUNK, INT64_MAX, &buf, &e))
        die("read_copy at %" PRId64 ": %s", off, e.msg);
      if (buf.len < BECK_BATCH_HEADER_SIZE)
        die("read_copy at %" PRId64 " returned %zu bytes below end %" PRId64, off, buf.len, end);
      /* next offset: the last batch's last offset + 1 */
      size_t pos = 0;
      beck_batch_header_t h;
      while (pos < buf.len) {
        beck_batch_header_decode(buf.data + pos, buf.len - pos, &h);
        pos += (size_t)beck_batch_total_size(&h);
      }
      off = beck_batch_last_offset(&h) + 1;
      got += buf.len;
    }
    r_log[r] = (double)got / (now_s() - t0);
    /* raw: the segment files, 1 MiB preads */
    char d[4096 + 64];
    path_in(d, sizeof d, "never");
    t0 = now_s();
    size_t rgot = 0;
    DIR *dd = opendir(d);
    struct dirent *de;
    while (dd != NULL && (de = readdir(dd)) != NULL) {
      size_t n = strlen(de->d_name);
      if (n <= 4 || strcmp(de->d_name + n - 4, ".log") != 0)
        continue;
      char f[4096 + 384];
      snprintf(f, sizeof f, "%s/%s", d, de->d_name);
      int fd = open(f, O_RDONLY);
      ssize_t k;
      int64_t at = 0;
      while ((k = pread(fd, buf.data, READ_CHUNK, at)) > 0) {
        at += k;
        rgot += (size_t)k;
      }
      close(fd);
    }
    if (dd)
      closedir(dd);
    r_raw[r] = (double)rgot / (now_s() - t0);
  }
  beck_plog_close(never);

  /* recovery scan: open without clean-shutdown and recovery-point */
  double rec_log[MAX_REPS], rec_raw[MAX_REPS];
  char d[4096 + 64], f[4096 + 128];
  path_in(d, sizeof d, "never");
  for (int r = 0; r < R; r++) {
    snprintf(f, sizeof f, "%s/clean-shutdown", d);
    unlink(f);
    snprintf(f, sizeof f, "%s/recovery-point", d);
    unlink(f);
    double t0 = now_s();
    beck_plog_t *log = log_open("never", BECK_FSYNC_NEVER, false);
    double secs = now_s() - t0;
    if (beck_plog_end_offset(log) != end)
      die("recovery scan: reopened log ends at %" PRId64 ", expected %" PRId64, beck_plog_end_offset(log), end);
    beck_plog_close(log);
    rec_log[r] = (double)log_bytes / secs;
    /* raw: read + CRC-32C of every batch, the least a scan must do */
    t0 = now_s();
    DIR *dd = opendir(d);
    struct dirent *de;
    size_t scanned = 0;
    while (dd != NULL && (de = readdir(dd)) != NULL) {
      size_t n = strlen(de->d_name);
      if (n <= 4 || strcmp(de->d_name + n - 4, ".log") != 0)
        continue;
      char g[4096 + 384];
      snprintf(g, sizeof g, "%s/%s", d, de->d_name);
      int fd = open(g, O_RDONLY);
      int64_t at = 0;
      ssize_t k;
      while ((k = pread(fd, buf.data, READ_CHUNK + b.len, at)) > 0) {
        size_t pos = 0;
        while (pos + BECK_BATCH_HEADER_SIZE <= (size_t)k) {
          size_t total = (size_t)beck_load_be32(buf.data + pos + 8) + BECK_BATCH_LOG_OVERHEAD;
          if (pos + total > (size_t)k)
            break;
          uint32_t crc = beck_crc32c(0, buf.data + pos + BECK_BATCH_CRC_START, total - BECK_BATCH_CRC_START);
          if (crc != beck_load_be32(buf.data + pos + BECK_BATCH_OFF_CRC))
            die("raw scan: CRC mismatch at %" PRId64, at + (int64_t)pos);
          pos += total;
        }
        if (pos == 0)
          break;
        at += (int64_t)pos;
        scanned += pos;
      }
      close(fd);
    }
    if (dd)
      closedir(dd);
    rec_raw[r] = (double)scanned / (now_s() - t0);
  }
  rm_tree(d);

  /* Durable appends: pwrite + fdatasync per batch against append +
   * wait_durable, taking turns in chunks of ~256 KiB (at least one batch)
   * until both reach the byte cap or together the time cap. */
  raw_fd = raw_open("raw-sync.dat");
  raw_off = 0;
  beck_plog_t *always = log_open("always", BECK_FSYNC_ALWAYS, true);
  chunk = chunk_bytes(&b, 256u << 10);
  uint64_t f0 = atomic_load(&g_fsyncs);
  double deadline = now_s() + 2 * R * O.synced_secs;
  for (size_t i = 0; rsync.bytes < (size_t)R * O.synced_bytes && now_s() < deadline; i++) {
    if (i % 2 == 0) {
      rsync.secs += raw_write(raw_fd, &raw_off, &b, chunk, true, 1e9, &rsync.bytes);
      alw.secs += log_append(always, &b, chunk, true, &alw);
    } else {
      alw.secs += log_append(always, &b, chunk, true, &alw);
      rsync.secs += raw_write(raw_fd, &raw_off, &b, chunk, true, 1e9, &rsync.bytes);
    }
  }
  double fs_per_append = (double)(atomic_load(&g_fsyncs) - f0) / (double)alw.appends;
  beck_plog_close(always);
  raw_remove(raw_fd, "raw-sync.dat");
  path_in(p, sizeof p, "always");
  rm_tree(p);

  row_t *w;
  w = add_row(rec_name, batch_name, "append always");
  w->mbps = turn_rate(&alw);
  w->raw_name = "pwrite+fdatasync";
  w->raw_mbps = turn_rate(&rsync);
  w->goal = ">= 0.80x";
  w->ratio = w->mbps / w->raw_mbps;
  w->status = w->ratio >= 0.8;
  w->extra = fs_per_append;
  w = add_row(rec_name, batch_name, "append interval");
  w->mbps = turn_rate(&itv);
  w->raw_name = "pwrite";
  w->raw_mbps = turn_rate(&raw2);
  w->ratio = w->mbps / w->raw_mbps;
  w = add_row(rec_name, batch_name, "append never");
  w->mbps = turn_rate(&nev);
  w->raw_name = "pwrite";
  w->raw_mbps = turn_rate(&raw);
  w->goal = ">= 0.80x";
  w->ratio = w->mbps / w->raw_mbps;
  w->status = w->ratio >= 0.8;
  w = add_row(rec_name, batch_name, "read");
  w->mbps = median(r_log, R) / MB;
  w->raw_name = "pread";
  w->raw_mbps = median(r_raw, R) / MB;
  w->ratio = w->mbps / w->raw_mbps;
  w = add_row(rec_name, batch_name, "recovery scan");
  w->mbps = median(rec_log, R) / MB;
  w->raw_name = "pread+crc32c";
  w->raw_mbps = median(rec_raw, R) / MB;
  w->ratio = w->mbps / w->raw_mbps;
  w->goal = ">= 500 MB/s";
  w->status = w->mbps >= 500;
  for (int i = g_nrows - 5; i < g_nrows; i++)
    g_rows[i].recps = g_rows[i].mbps * MB * recs_per_byte;
  beck_buf_free(&buf);
  free(b.data);
}

/* ---- group commit --------------------------------------------------------- */

typedef struct gc_thread {
  beck_plog_t *log;
  batch_t b;
  double deadline;
  size_t cap;
  uint64_t appends;
  pthread_t th;
} gc_thread_t;

static void *gc_main(void *arg) {
  gc_thread_t *g = arg;
  beck_error_t e;
  size_t n = 0;
  while (n < g->cap && now_s() < g->deadline) {
    beck_plog_append_info_t info;
    if (beck_plog_append(g->log, g->b.data, g->b.len, &info, &e))
      die("append: %s", e.msg);
    if (beck_plog_wait_durable(g->log, info.last_offset + 1, &e))
      die("wait_durable: %s", e.msg);
    n += g->b.len;
    g->appends++;
  }
  return NULL;
}

static void bench_group_commit(void) {
  batch_t proto = make_batch(1024, 64 * 1024, GC_RECORDS, 7);
  /* the raw limit: one writer, pwrite + fdatasync per batch */
  int fd = raw_open("raw-gc.dat");
  int64_t off = 0;
  size_t done = 0;
  double s = raw_write(fd, &off, &proto, O.synced_bytes * 4, true, O.gc_secs, &done);
  double raw_fs = (double)(done / proto.len) / s;
  raw_remove(fd, "raw-gc.dat");
  static const int threads[] = {1, 4, 16};
  for (size_t ti = 0; ti < sizeof threads / sizeof threads[0]; ti++) {
    int k = threads[ti];
    beck_plog_t *log = log_open("gc", BECK_FSYNC_ALWAYS, true);
    gc_thread_t g[16];
    uint64_t f0 = atomic_load(&g_fsyncs);
    double t0 = now_s();
    for (int i = 0; i < k; i++) {
      g[i].log = log;
      g[i].b.len = proto.len;
      g[i].b.records = proto.records;
      g[i].b.data = malloc(proto.len);
      memcpy(g[i].b.data, proto.data, proto.len);
      g[i].deadline = t0 + O.gc_secs;
      g[i].cap = O.synced_bytes * 4 / (size_t)k;
      g[i].appends = 0;
      pthread_create(&g[i].th, NULL, gc_main, &g[i]);
    }
    uint64_t appends = 0;
    for (int i = 0; i < k; i++) {
      pthread_join(g[i].th, NULL);
      appends += g[i].appends;
      free(g[i].b.data);
    }
    double secs = now_s() - t0;
    uint64_t fsyncs = atomic_load(&g_fsyncs) - f0;
    beck_plog_close(log);
    char p[4096 + 64];
    path_in(p, sizeof p, "gc");
    rm_tree(p);
    g_bytes_written += appends * proto.len;
    gc_row_t *r = &g_gc[g_ngc++];
    r->threads = k;
    r->batch_bytes = proto.len;
    r->appends_per_s = (double)appends / secs;
    r->fsyncs_per_s = (double)fsyncs / secs;
    r->mbps = (double)(appends * proto.len) / secs / MB;
    r->raw_fsyncs_per_s = raw_fs;
  }
  free(proto.data);
}

/* ---- output --------------------------------------------------------------- */

static const char *status_name(int s) { return s < 0 ? "" : s ? "PASS" : "MISS"; }

static void fmt_rate(char *out, size_t n, double recps) {
  if (recps >= 1e6)
    snprintf(out, n, "%.2fM rec/s", recps / 1e6);
  else
    snprintf(out, n, "%.0fk rec/s", recps / 1e3);
}

static void print_table(double secs) {
  printf("%-7s %-6s %-16s %12s %13s   %-17s %12s  %6s  %-12s %s\n", "records", "batch", "measure", "beck", "",
         "raw (same bytes)", "", "ratio", "goal", "");
  for (int i = 0; i < g_nrows; i++) {
    row_t *r = &g_rows[i];
    char rate[32];
    fmt_rate(rate, sizeof rate, r->recps);
    printf("%-7s %-6s %-16s %7.1f MB/s %13s   %-17s %6.1f MB/s  %5.2fx  %-12s %s\n", r->records, r->batch,
           r->measure, r->mbps, rate, r->raw_name, r->raw_mbps, r->ratio, r->goal, status_name(r->status));
  }
  printf("\n");
  for (int i = 0; i < g_nrows; i++)
    if (g_rows[i].extra > 0)
      printf("append always %s/%s: %.2f fdatasyncs per append\n", g_rows[i].records, g_rows[i].batch,
             g_rows[i].extra);
  printf("\ngroup commit: threads appending %d x 1 KiB-record batches (%zu bytes) with wait_durable\n", GC_RECORDS,
         g_ngc ? g_gc[0].batch_bytes : (size_t)0);
  printf("%-8s %12s %12s %16s %10s %22s\n", "threads", "appends/s", "fsyncs/s", "appends/fsync", "MB/s",
         "vs raw fdatasync/s");
  for (int i = 0; i < g_ngc; i++) {
    gc_row_t *g = &g_gc[i];
    char per[32] = "n/a";
    if (g->fsyncs_per_s > 0)
      snprintf(per, sizeof per, "%.2f", g->appends_per_s / g->fsyncs_per_s);
    printf("%-8d %12.0f %12.0f %16s %10.1f %13.0f = %5.2fx\n", g->threads, g->appends_per_s, g->fsyncs_per_s, per,
           g->mbps, g->raw_fsyncs_per_s, g->appends_per_s / g->raw_fsyncs_per_s);
  }
  int miss = 0;
  for (int i = 0; i < g_nrows; i++)
    miss += g_rows[i].status == 0;
  printf("\n%d goals missed; %.0f MB written in total (at most ~%.0f MB on disk at once); %.1f s\n", miss,
         (double)g_bytes_written / MB, 2.0 * O.reps * (double)O.unsynced_bytes / MB, secs);
}

static void print_json(double secs) {
  printf("{\"bench\":\"log\",\"dir\":\"%s\",\"crc32c\":\"%s\",\"cores\":%ld,\"reps\":%d,"
         "\"unsynced_bytes_per_rep\":%zu,\"synced_bytes_cap_per_rep\":%zu,\"synced_secs_cap_per_rep\":%.2f,"
         "\"bytes_written\":%" PRIu64 ",\"seconds\":%.2f,\"results\":[",
         g_dir, beck_crc32c_impl(), sysconf(_SC_NPROCESSORS_ONLN), O.reps, O.unsynced_bytes, O.synced_bytes,
         O.synced_secs, g_bytes_written, secs);
  for (int i = 0; i < g_nrows; i++) {
    row_t *r = &g_rows[i];
    printf("%s{\"records\":\"%s\",\"batch\":\"%s\",\"measure\":\"%s\",\"mb_per_s\":%.2f,\"records_per_s\":%.0f,"
           "\"raw\":\"%s\",\"raw_mb_per_s\":%.2f,\"ratio\":%.3f,\"goal\":\"%s\",\"status\":\"%s\"",
           i ? "," : "", r->records, r->batch, r->measure, r->mbps, r->recps, r->raw_name, r->raw_mbps, r->ratio,
           r->goal, r->status < 0 ? "none" : status_name(r->status));
    if (r->extra > 0)
      printf(",\"fsyncs_per_append\":%.3f", r->extra);
    printf("}");
  }
  printf("],\"group_commit\":[");
  for (int i = 0; i < g_ngc; i++) {
    gc_row_t *g = &g_gc[i];
    printf("%s{\"threads\":%d,\"batch_bytes\":%zu,\"appends_per_s\":%.0f,\"fsyncs_per_s\":%.0f,"
           "\"appends_per_fsync\":%.2f,\"mb_per_s\":%.2f,\"raw_fdatasync_per_s\":%.0f}",
           i ? "," : "", g->threads, g->batch_bytes, g->appends_per_s, g->fsyncs_per_s,
           g->fsyncs_per_s > 0 ? g->appends_per_s / g->fsyncs_per_s : 0, g->mbps, g->raw_fsyncs_per_s);
  }
  printf("]}\n");
}

static void usage(void) {
  fprintf(stderr, "usage: beck-bench-log [--quick] [--dir DIR] [--output table|json]\n"
                  "  --quick   a small run (seconds)\n"
                  "  --dir     where to put the logs (default %s)\n",
          BECK_BENCH_DEFAULT_DIR);
  exit(2);
}

int main(int argc, char **argv) {
  const char *base = BECK_BENCH_DEFAULT_DIR;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--quick") == 0)
      O.quick = true;
    else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc)
      base = argv[++i];
    else if (strcmp(argv[i], "--output") == 0 && i + 1 < argc) {
      const char *o = argv[++i];
      if (strcmp(o, "json") == 0)
        O.json = true;
      else if (strcmp(o, "table") != 0)
        usage();
    } else
      usage();
  }
  if (O.quick) {
    O.reps = 1;
    O.unsynced_bytes = 8u << 20;
    O.synced_bytes = 4u << 20;
    O.synced_secs = 0.15;
    O.gc_secs = 0.2;
  } else {
    O.reps = 3;
    O.unsynced_bytes = 32u << 20;
    O.synced_bytes = 16u << 20;
    O.synced_secs = 0.5;
    O.gc_secs = 1.0;
  }
  if (beck_env_mkdirs(beck_env_default(), base) != 0)
    die("cannot create %s", base);
  snprintf(g_dir, sizeof g_dir, "%s/beck-bench-log-XXXXXX", base);
  if (mkdtemp(g_dir) == NULL)
    die("mkdtemp %s: %s", g_dir, strerror(errno));
  env_init();
  beck_log_set_level(BECK_LOG_WARN); /* not the INFO lines of every recovery */
  if (!O.json)
    printf("beck-bench-log: dir %s, %ld cores, crc32c %s; unsynced appends %d x %zu MiB each, synced <= %d x %zu "
           "MiB each or %.1f s, in turns; reads and recovery median of %d\n\n",
           g_dir, sysconf(_SC_NPROCESSORS_ONLN), beck_crc32c_impl(), O.reps, O.unsynced_bytes >> 20, O.reps,
           O.synced_bytes >> 20, 2 * O.reps * O.synced_secs, O.reps);
  double t0 = now_s();
  warm_up();
  bench_case(100, 16 * 1024, "100 B", "16 KiB");
  bench_case(100, 1024 * 1024, "100 B", "1 MiB");
  bench_case(1024, 16 * 1024, "1 KiB", "16 KiB");
  bench_case(1024, 1024 * 1024, "1 KiB", "1 MiB");
  bench_group_commit();
  double secs = now_s() - t0;
  rm_tree(g_dir);
  if (O.json)
    print_json(secs);
  else
    print_table(secs);
  return 0;
}
