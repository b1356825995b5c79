/*
 * log_crash.c - kill -9 crash test of the partition log (core/log/plog.h).
 *
 * The parent runs cycles on one log directory. Each cycle it forks a child
 * that opens the log and appends batches from 1..16 threads until the parent
 * SIGKILLs it after a random delay (microseconds to tens of ms). The child
 * writes a report to a pipe for every batch: in mode "always" (fsync policy
 * ALWAYS) once the batch is durable (beck_plog_wait_durable or
 * beck_plog_sync), in mode "relaxed" (INTERVAL or NEVER) once appended.
 *
 * A SIGKILL ends the process but not the page cache, so a kill alone cannot
 * show a missing fsync. In a share of the cycles the parent therefore adds a
 * simulated power cut on top: it cuts the last segment at a random byte past
 * everything that is known to be synced (the reported-durable batches, what
 * the parent verified and closed before, and the recovery-point file) and
 * leaves nothing, zeros, random bytes or a torn batch there.
 *
 * Then the parent reopens the log itself and checks:
 *   - the log opens, is not fenced, and beck_plog_verify() passes;
 *   - offsets are dense from 0: each batch's base = previous last + 1, and
 *     the scan ends exactly at beck_plog_end_offset();
 *   - every batch passes beck_batch_validate() (CRC-32C, counts) and is
 *     byte-identical to the batch the child built: records are generated
 *     from (seed, cycle, thread, batch number) and every record's value
 *     carries that identity and its own index, so any batch can be rebuilt
 *     and compared (keys, values, headers, timestamps, all header fields);
 *   - per appender thread the batch numbers appear in order, with no hole
 *     and no duplicate: the log is a prefix of what each thread appended;
 *   - mode always: every reported batch is at its reported offsets with the
 *     reported hash, hence end >= last reported offset + 1;
 *   - mode relaxed, when only the process died (no simulated power cut):
 *     every reported batch is there too. beck_plog_append() hands the bytes
 *     to the kernel before it returns (one pwrite), and the page cache
 *     outlives the process; after a power cut unsynced batches may be lost;
 *   - everything verified in an earlier cycle is still there, unchanged
 *     (the parent closed the log cleanly, which syncs);
 *   - the next child opens the log at the end offset the parent verified.
 *
 * The next child appends to the same recovered log, so recovery runs on
 * logs that were recovered, rolled (segment sizes change per cycle) and cut
 * before. Sometimes the parent removes clean-shutdown after its close, so
 * the child's open runs recovery too. Children also roll and checkpoint at
 * random, and a single-threaded child may close and reopen the log every few
 * appends, so kills land inside close and inside the open after it.
 *
 * Usage: log_crash [--mode always|relaxed] [--cycles N] [--seed S|random]
 *                  [--dir DIR] [--no-cut] [-v]
 * Env:   BECK_CRASH_CYCLES, BECK_CRASH_SEED (overridden by the options).
 * Exit:  0 when every check held; 1 with "cycle C offset O: expected X,
 *        found Y" on the first violation (the directory is kept).
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <math.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/env.h"
#include "base/err.h"
#include "base/logging.h"
#include "log/plog.h"
#include "record/batch.h"
#include "tmpdir.h"

#define DEFAULT_SEED 20240611u
#define DEFAULT_CYCLES_ALWAYS 200
#define DEFAULT_CYCLES_RELAXED 100
#define MAX_THREADS 16
#define ID_MAGIC 0x42434b31u /* "BCK1" */
#define ID_SIZE 24           /* magic, cycle, thread, batch, record, count: BE u32 each */
#define VALUE_MAX (ID_SIZE + 160 * 1024)
#define READ_CHUNK (1024 * 1024)
#define OPEN_TIMEOUT_S 30.0

typedef enum { MODE_ALWAYS, MODE_RELAXED } crash_mode_t;

/* ---- deterministic randomness ------------------------------------------ */

static uint64_t splitmix64(uint64_t *s) {
  uint64_t z = (*s += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

static uint32_t rnd(uint64_t *s, uint32_t n) { return n == 0 ? 0 : (uint32_t)(splitmix64(s) % n); }

/* Fingerprint of a whole batch as stored (BaseOffset and header included). */
static uint64_t batch_hash(const uint8_t *p, size_t n) {
  return ((uint64_t)beck_crc32c(0, p, n) << 32) | (uint32_t)n;
}

/* ---- the batches: a pure function of (seed, cycle, thread, batch no) ---- */

typedef struct batch_id {
  uint32_t cycle, thread, bno;
} batch_id_t;

static uint64_t batch_seed(uint64_t seed, batch_id_t id) {
  uint64_t s = seed;
  s ^= splitmix64(&s) + id.cycle;
  s ^= splitmix64(&s) + id.thread;
  s ^= splitmix64(&s) + id.bno;
  splitmix64(&s);
  return s;
}

/* Builds batch `id` into b (initialised here; caller frees). scratch holds
 * VALUE_MAX bytes. Shapes: mostly small batches of small records, some wide
 * batches, a few with records of tens of KiB so a batch spans many pages and
 * a kill can tear it. */
static beck_err_t gen_batch(uint64_t seed, batch_id_t id, uint8_t *scratch, beck_batch_builder_t *b) {
  uint64_t s = batch_seed(seed, id);
  uint32_t shape = rnd(&s, 100), nrec, vmax;
  if (shape < 60) {
    nrec = 1 + rnd(&s, 16);
    vmax = 200;
  } else if (shape < 90) {
    nrec = 1 + rnd(&s, 200);
    vmax = 400;
  } else if (shape < 98) {
    nrec = 1 + rnd(&s, 8);
    vmax = 16384;
  } else {
    nrec = 1 + rnd(&s, 4);
    vmax = VALUE_MAX - ID_SIZE;
  }
  beck_batch_builder_init(b);
  int64_t ts0 = 1700000000000LL + (int64_t)id.cycle * 1000000 + (int64_t)id.bno * 100;
  for (uint32_t r = 0; r < nrec; r++) {
    uint32_t vlen = ID_SIZE + rnd(&s, vmax);
    beck_store_be32(scratch + 0, ID_MAGIC);
    beck_store_be32(scratch + 4, id.cycle);
    beck_store_be32(scratch + 8, id.thread);
    beck_store_be32(scratch + 12, id.bno);
    beck_store_be32(scratch + 16, r);
    beck_store_be32(scratch + 20, nrec);
    uint64_t ps = splitmix64(&s);
    for (uint32_t i = ID_SIZE; i < vlen; i += 8) {
      uint64_t x = splitmix64(&ps);
      uint32_t n = vlen - i < 8 ? vlen - i : 8;
      memcpy(scratch + i, &x, n);
    }
    char key[64];
    beck_nstr_t k = beck_nstr_null();
    if (rnd(&s, 8) != 0) {
      int kl = snprintf(key, sizeof key, "key-%u-%u-%u-%u", id.cycle, id.thread, id.bno, r);
      k = beck_nstr(key, kl);
    }
    beck_record_header_t hdrs[2];
    uint8_t hval[2][32];
    int nh = (int)rnd(&s, 3);
    for (int h = 0; h < nh; h++) {
      hdrs[h].key = beck_slice(h == 0 ? "trace" : "h1", h == 0 ? 5 : 2);
      if (rnd(&s, 5) == 0) {
        hdrs[h].value = beck_nstr_null();
      } else {
        uint32_t hl = rnd(&s, 33);
        for (uint32_t i = 0; i < hl; i++)
          hval[h][i] = (uint8_t)('a' + rnd(&s, 26));
        hdrs[h].value = beck_nstr(hval[h], (int32_t)hl);
      }
    }
    int64_t ts = ts0 + (int64_t)rnd(&s, 60) - 10;
    beck_err_t err = beck_batch_builder_add(b, ts, k, beck_nstr(scratch, (int32_t)vlen), hdrs, nh);
    if (err)
      return err;
  }
  return beck_batch_builder_finish(b);
}

/* ---- child -> parent reports -------------------------------------------- */

enum { REP_OPENED = 1, REP_BATCH = 2 };

/* One fixed-size record per write(2): below PIPE_BUF, so atomic even with
 * several threads writing. */
typedef struct report {
  uint32_t kind;
  uint32_t cycle, thread, bno;
  int64_t base, last; /* REP_OPENED: start and end offset after open */
  uint64_t hash;      /* fnv1a64 over the whole batch as appended */
  uint32_t len, nrec;
} report_t;

typedef struct child {
  beck_plog_t *log;
  int wfd;
  uint64_t seed;
  uint32_t cycle;
  beck_fsync_policy_t policy;
  const char *dir;
  beck_plog_config_t cfg;
  uint32_t reopen_every; /* one thread only: close and reopen every N calls, 0 never */
} child_t;


typedef struct appender {
  child_t *c;
  uint32_t thread;
} appender_t;

static void child_die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void child_die(const char *fmt, ...) {
  char msg[1024];
  va_list ap;
  va_start(ap, fmt);
  vsnprintf(msg, sizeof msg, fmt, ap);
  va_end(ap);
  fprintf(stderr, "log_crash child: %s\n", msg);
  _exit(3);
}

/* Clean close and reopen from the appending thread (the only one), so kills
 * also land inside close (sync, indexes, checkpoint, marker) and the open
 * that follows a clean close. Nothing may change across it. */
static void child_reopen(child_t *c) {
  int64_t end = beck_plog_end_offset(c->log);
  beck_plog_close(c->log);
  c->log = NULL;
  beck_error_t e;
  beck_error_clear(&e);
  if (beck_plog_open(c->dir, &c->cfg, NULL, &c->log, &e))
    child_die("reopen after a clean close failed: %s", e.msg);
  if (beck_plog_end_offset(c->log) != end || beck_plog_fenced(c->log, NULL))
    child_die("reopen after a clean close: end offset %" PRId64 ", expected %" PRId64 "%s",
              beck_plog_end_offset(c->log), end, beck_plog_fenced(c->log, NULL) ? " (fenced)" : "");
}

static void send_report(int fd, const report_t *r) {
  for (;;) {
    ssize_t n = write(fd, r, sizeof *r);
    if (n == (ssize_t)sizeof *r)
      return;
    if (n < 0 && errno == EINTR)
      continue;
    _exit(4); /* parent gone */
  }
}

static void *appender_main(void *arg) {
  appender_t *a = arg;
  child_t *c = a->c;
  uint8_t *scratch = malloc(VALUE_MAX);
  beck_buf_t call = {0};
  if (scratch == NULL)
    child_die("out of memory");
  uint64_t s = c->seed ^ ((uint64_t)c->cycle << 20) ^ a->thread;
  splitmix64(&s);
  uint32_t calls = 0;
  for (uint32_t bno = 0;;) {
    /* one call carries 1..4 batches, as a produce request may */
    uint32_t k = rnd(&s, 4) == 0 ? 2 + rnd(&s, 3) : 1;
    call.len = 0;
    for (uint32_t i = 0; i < k; i++) {
      beck_batch_builder_t b;
      batch_id_t id = {c->cycle, a->thread, bno + i};
      if (gen_batch(c->seed, id, scratch, &b) || beck_buf_append(&call, b.buf.data, b.buf.len))
        child_die("building batch %u/%u/%u failed", id.cycle, id.thread, id.bno);
      beck_batch_builder_free(&b);
    }
    beck_plog_append_info_t info;
    beck_error_t e;
    beck_error_clear(&e);
    if (beck_plog_append(c->log, call.data, call.len, &info, &e))
      child_die("thread %u: append of %u batches failed: %s", a->thread, k, e.msg);
    if (c->policy == BECK_FSYNC_ALWAYS) {
      beck_err_t err = rnd(&s, 3) == 0 ? beck_plog_sync(c->log, &e)
                                       : beck_plog_wait_durable(c->log, info.last_offset + 1, &e);
      if (err)
        child_die("thread %u: sync after offset %" PRId64 " failed: %s", a->thread, info.last_offset, e.msg);
      int64_t d = beck_plog_durable_offset(c->log);
      if (d <= info.last_offset)
        child_die("thread %u: synced through %" PRId64 " but durable offset is %" PRId64, a->thread,
                  info.last_offset, d);
    } else if (c->policy == BECK_FSYNC_INTERVAL) {
      if (beck_plog_sync_due(c->log, beck_env_default()->now_ms(beck_env_default())) && beck_plog_sync(c->log, &e))
        child_die("thread %u: interval sync failed: %s", a->thread, e.msg);
    }
    /* the log wrote the base offsets into our buffer: report each batch */
    size_t pos = 0;
    int64_t expect = info.base_offset;
    for (uint32_t i = 0; i < k; i++) {
      uint8_t *p = call.data + pos;
      beck_batch_header_t h;
      beck_batch_header_decode(p, call.len - pos, &h);
      size_t len = (size_t)beck_batch_total_size(&h);
      if (h.base_offset != expect)
        child_die("thread %u: batch %u of the call got base offset %" PRId64 ", expected %" PRId64
                  " (call base %" PRId64 ")",
                  a->thread, i, h.base_offset, expect, info.base_offset);
      report_t r = {REP_BATCH, c->cycle, a->thread, bno + i, h.base_offset, beck_batch_last_offset(&h),
                    batch_hash(p, len), (uint32_t)len, (uint32_t)h.records_count};
      send_report(c->wfd, &r);
      expect = beck_batch_last_offset(&h) + 1;
      pos += len;
    }
    if (expect - 1 != info.last_offset || info.batches != (int32_t)k)
      child_die("thread %u: append info says last %" PRId64 " / %d batches, batches say %" PRId64 " / %u",
                a->thread, info.last_offset, info.batches, expect - 1, k);
    bno += k;
    /* metadata work racing the appends: rolls and checkpoints */
    uint32_t extra = rnd(&s, 64);
    if (extra == 0 && beck_plog_roll(c->log, &e))
      child_die("thread %u: roll failed: %s", a->thread, e.msg);
    if (extra == 1 && beck_plog_checkpoint(c->log, &e))
      child_die("thread %u: checkpoint failed: %s", a->thread, e.msg);
    if (c->reopen_every > 0 && ++calls % c->reopen_every == 0)
      child_reopen(c);
  }
  return NULL;
}

static void child_main(const char *dir, child_t *c, int nthreads, int64_t segment_bytes, pid_t parent) {
  prctl(PR_SET_PDEATHSIG, SIGKILL);
  if (getppid() != parent)
    _exit(5); /* the parent died before prctl */
  beck_plog_config_t *cfg = &c->cfg;
  beck_plog_config_default(cfg);
  cfg->fsync_policy = c->policy;
  cfg->fsync_interval_ms = 5;
  cfg->segment_bytes = segment_bytes;
  cfg->retention_ms = -1; /* record timestamps are fixed, in 2023 */
  c->dir = dir;
  if (nthreads > 1)
    c->reopen_every = 0;
  beck_error_t e;
  beck_error_clear(&e);
  if (beck_plog_open(dir, cfg, NULL, &c->log, &e))
    child_die("open %s failed: %s", dir, e.msg);
  if (beck_plog_fenced(c->log, &e))
    child_die("log opened fenced: %s", e.msg);
  report_t r = {REP_OPENED, c->cycle, 0, 0, beck_plog_start_offset(c->log), beck_plog_end_offset(c->log), 0, 0, 0};
  send_report(c->wfd, &r);
  pthread_t th[MAX_THREADS];
  appender_t ap[MAX_THREADS];
  for (int i = 0; i < nthreads; i++) {
    ap[i].c = c;
    ap[i].thread = (uint32_t)i;
    if (pthread_create(&th[i], NULL, appender_main, &ap[i]))
      child_die("pthread_create failed");
  }
  for (int i = 0; i < nthreads; i++)
    pthread_join(th[i], NULL);
  _exit(0);
}

/* ---- parent ------------------------------------------------------------- */

typedef struct scanned {
  int64_t base, last;
  uint64_t hash;
} scanned_t;

typedef struct vec {
  void *data;
  size_t n, cap, elem;
} vec_t;

static void *vec_push(vec_t *v) {
  if (v->n == v->cap) {
    v->cap = v->cap ? v->cap * 2 : 1024;
    v->data = realloc(v->data, v->cap * v->elem);
    if (v->data == NULL) {
      fprintf(stderr, "log_crash: out of memory\n");
      exit(2);
    }
  }
  return (char *)v->data + v->elem * v->n++;
}

typedef struct run {
  crash_mode_t mode;
  const char *dir;
  uint64_t seed;
  uint32_t cycles;
  bool cuts;
  bool verbose;
  uint8_t *scratch;
  /* state carried across cycles */
  vec_t reports;  /* report_t: every batch ever reported durable (always) or appended (relaxed) */
  vec_t prev;     /* scanned_t: the batches the previous verification found */
  vec_t cur;      /* scanned_t: this verification */
  int64_t verified_end;
  uint32_t *next_bno; /* [cycle * MAX_THREADS + thread] during one scan */
  /* totals */
  uint64_t batches_reported, records_reported, lost_unsynced, cuts_done, killed_before_open;
  uint64_t records_in_log, recoveries;
  double max_open_ms;
  uint32_t cycle;
  int max_threads_used;
} run_t;

static int fail(run_t *r, const char *fmt, ...) __attribute__((format(printf, 2, 3)));
static int fail(run_t *r, const char *fmt, ...) {
  va_list ap;
  fprintf(stderr, "log_crash: FAIL cycle %u (seed %" PRIu64 "): ", r->cycle, r->seed);
  va_start(ap, fmt);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fprintf(stderr, "\n");
  return -1;
}

static double now_s(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* Identity of a batch: from its first record's value. */
static int batch_identity(const uint8_t *p, size_t len, const beck_batch_header_t *h, batch_id_t *id, uint32_t *nrec) {
  beck_record_iter_t it;
  beck_record_t rec;
  beck_record_iter_init(&it, h, p + BECK_BATCH_HEADER_SIZE, len - BECK_BATCH_HEADER_SIZE);
  if (beck_record_iter_next(&it, &rec) != 1 || rec.value.len < ID_SIZE ||
      beck_load_be32(rec.value.ptr) != ID_MAGIC || beck_load_be32(rec.value.ptr + 16) != 0)
    return -1;
  id->cycle = beck_load_be32(rec.value.ptr + 4);
  id->thread = beck_load_be32(rec.value.ptr + 8);
  id->bno = beck_load_be32(rec.value.ptr + 12);
  *nrec = beck_load_be32(rec.value.ptr + 20);
  return 0;
}

/* Checks one batch read back from the log at expected offset `next`. With
 * `rebuild` it is also rebuilt from its identity and compared byte for byte
 * (batches verified in an earlier cycle are compared by hash instead). */
static int check_batch(run_t *r, const uint8_t *p, size_t len, int64_t next, bool rebuild, beck_batch_header_t *h) {
  beck_error_t e;
  beck_error_clear(&e);
  if (beck_batch_validate(p, len, true, h, &e))
    return fail(r, "offset %" PRId64 ": batch fails validation: %s", next, e.msg);
  if (h->base_offset != next)
    return fail(r, "offset %" PRId64 ": expected the next batch to start here, found base offset %" PRId64
                   " (last %" PRId64 ")",
                next, h->base_offset, beck_batch_last_offset(h));
  batch_id_t id;
  uint32_t nrec;
  if (batch_identity(p, len, h, &id, &nrec))
    return fail(r, "offset %" PRId64 ": first record does not carry a batch identity", next);
  if (id.cycle > r->cycle || id.thread >= MAX_THREADS)
    return fail(r, "offset %" PRId64 ": batch claims cycle %u thread %u", next, id.cycle, id.thread);
  uint32_t *nb = &r->next_bno[(size_t)id.cycle * MAX_THREADS + id.thread];
  if (id.bno != *nb)
    return fail(r, "offset %" PRId64 ": cycle %u thread %u: expected its batch %u next, found batch %u (%s)", next,
                id.cycle, id.thread, *nb, id.bno, id.bno < *nb ? "duplicate or reordered" : "hole: batches lost");
  *nb = id.bno + 1;
  if (!rebuild)
    return 0;
  beck_batch_builder_t b;
  if (gen_batch(r->seed, id, r->scratch, &b))
    return fail(r, "cannot rebuild batch %u/%u/%u", id.cycle, id.thread, id.bno);
  beck_batch_set_base_offset(b.buf.data, next);
  int rc = 0;
  if (b.buf.len != len || memcmp(b.buf.data, p, len) != 0) {
    size_t i = 0;
    while (i < len && i < b.buf.len && b.buf.data[i] == p[i])
      i++;
    rc = fail(r, "offset %" PRId64 ": batch %u/%u/%u differs from what was appended: %zu bytes, expected %zu; "
                 "first difference at byte %zu",
              next, id.cycle, id.thread, id.bno, len, b.buf.len, i);
  }
  beck_batch_builder_free(&b);
  if (rc == 0 && nrec != (uint32_t)h->records_count)
    rc = fail(r, "offset %" PRId64 ": batch says %d records, its records say %u", next, h->records_count, nrec);
  return rc;
}

static const scanned_t *find_scanned(const vec_t *v, int64_t base) {
  const scanned_t *s = v->data;
  size_t lo = 0, hi = v->n;
  while (lo < hi) {
    size_t mid = lo + (hi - lo) / 2;
    if (s[mid].base < base)
      lo = mid + 1;
    else
      hi = mid;
  }
  return lo < v->n && s[lo].base == base ? &s[lo] : NULL;
}

/* Reopens the log and runs every check. new_reports: index of this cycle's
 * first report. */
static int verify(run_t *r, size_t new_reports, bool was_cut, bool drop_marker) {
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.retention_ms = -1;
  beck_plog_t *log = NULL;
  beck_error_t e;
  beck_error_clear(&e);
  double t0 = now_s();
  if (beck_plog_open(r->dir, &cfg, NULL, &log, &e))
    return fail(r, "reopen failed: %s", e.msg);
  double ms = (now_s() - t0) * 1e3;
  if (ms > r->max_open_ms)
    r->max_open_ms = ms;
  r->recoveries++;
  int rc = 0;
  if (beck_plog_fenced(log, &e)) {
    rc = fail(r, "log reopened fenced: %s", e.msg);
    goto out;
  }
  if (beck_plog_start_offset(log) != 0) {
    rc = fail(r, "log start offset is %" PRId64 ", expected 0 (nothing was deleted)", beck_plog_start_offset(log));
    goto out;
  }
  int64_t end = beck_plog_end_offset(log);
  memset(r->next_bno, 0, (size_t)(r->cycle + 1) * MAX_THREADS * sizeof *r->next_bno);
  r->cur.n = 0;
  r->records_in_log = 0;
  beck_buf_t buf = {0};
  int64_t next = 0;
  while (next < end && rc == 0) {
    buf.len = 0;
    beck_err_t err = beck_plog_read_copy(log, next, READ_CHUNK, INT64_MAX, &buf, &e);
    if (err) {
      rc = fail(r, "offset %" PRId64 ": read failed below end %" PRId64 ": %s", next, end, e.msg);
      break;
    }
    if (buf.len == 0) {
      rc = fail(r, "offset %" PRId64 ": read returned nothing below end offset %" PRId64, next, end);
      break;
    }
    size_t pos = 0;
    while (pos < buf.len && rc == 0) {
      if (buf.len - pos < BECK_BATCH_HEADER_SIZE) {
        rc = fail(r, "offset %" PRId64 ": read returned a partial batch header (%zu bytes)", next, buf.len - pos);
        break;
      }
      beck_batch_header_t h;
      beck_batch_header_decode(buf.data + pos, buf.len - pos, &h);
      int64_t total = beck_batch_total_size(&h);
      if (total < BECK_BATCH_HEADER_SIZE || (size_t)total > buf.len - pos) {
        rc = fail(r, "offset %" PRId64 ": read returned a partial batch (%" PRId64 " of %zu bytes)", next, total,
                  buf.len - pos);
        break;
      }
      bool known = r->cur.n < r->prev.n;
      if ((rc = check_batch(r, buf.data + pos, (size_t)total, next, !known, &h)))
        break;
      scanned_t *s = vec_push(&r->cur);
      s->base = h.base_offset;
      s->last = beck_batch_last_offset(&h);
      s->hash = batch_hash(buf.data + pos, (size_t)total);
      const scanned_t *old = known ? (const scanned_t *)r->prev.data + r->cur.n - 1 : NULL;
      if (old != NULL && (old->base != s->base || old->last != s->last || old->hash != s->hash)) {
        rc = fail(r, "offset %" PRId64 ": expected the batch verified earlier (%" PRId64 "..%" PRId64
                     "), found %" PRId64 "..%" PRId64 " with %s bytes",
                  old->base, old->base, old->last, s->base, s->last, old->hash == s->hash ? "the same" : "different");
        break;
      }
      r->records_in_log += (uint64_t)h.records_count;
      next = s->last + 1;
      pos += (size_t)total;
    }
  }
  beck_buf_free(&buf);
  if (rc)
    goto out;
  if (next != end) {
    rc = fail(r, "batches end at offset %" PRId64 " but the log's end offset is %" PRId64, next, end);
    goto out;
  }
  /* everything verified before is still there (compared during the scan) */
  if (r->cur.n < r->prev.n) {
    const scanned_t *gone = (const scanned_t *)r->prev.data + r->cur.n;
    rc = fail(r, "offset %" PRId64 ": batch verified and closed in an earlier cycle is gone (log ends at %" PRId64 ")",
              gone->base, end);
    goto out;
  }
  /* this cycle's reports */
  report_t *rep = r->reports.data;
  for (size_t i = new_reports; i < r->reports.n; i++) {
    const scanned_t *s = find_scanned(&r->cur, rep[i].base);
    bool ok = s != NULL && s->last == rep[i].last && s->hash == rep[i].hash;
    if (ok)
      continue;
    if (r->mode == MODE_RELAXED && was_cut) {
      r->lost_unsynced++;
      continue;
    }
    if (r->mode == MODE_RELAXED) {
      rc = fail(r, "offset %" PRId64 ": appended batch %u/%u/%u (%" PRId64 "..%" PRId64 ") is lost although only the "
                   "process was killed (the page cache outlives it); log ends at %" PRId64 "%s",
                rep[i].base, rep[i].cycle, rep[i].thread, rep[i].bno, rep[i].base, rep[i].last, end,
                s == NULL ? "" : ", another batch is there now");
      goto out;
    }
    if (s == NULL)
      rc = fail(r, "offset %" PRId64 ": durable batch %u/%u/%u (%" PRId64 "..%" PRId64 ") is lost: log ends at %" PRId64
                   " and no batch starts there",
                rep[i].base, rep[i].cycle, rep[i].thread, rep[i].bno, rep[i].base, rep[i].last, end);
    else
      rc = fail(r, "offset %" PRId64 ": expected durable batch %u/%u/%u (%" PRId64 "..%" PRId64 ", hash %016" PRIx64
                   "), found %" PRId64 "..%" PRId64 " hash %016" PRIx64,
                rep[i].base, rep[i].cycle, rep[i].thread, rep[i].bno, rep[i].base, rep[i].last, rep[i].hash,
                s->base, s->last, s->hash);
    goto out;
  }
  if (r->mode == MODE_RELAXED) {
    /* lost unsynced batches are allowed; keep only what survived */
    size_t w = new_reports;
    for (size_t i = new_reports; i < r->reports.n; i++) {
      const scanned_t *s = find_scanned(&r->cur, rep[i].base);
      if (s != NULL && s->hash == rep[i].hash)
        rep[w++] = rep[i];
    }
    r->reports.n = w;
  }
  if (beck_plog_verify(log, &e)) {
    rc = fail(r, "beck_plog_verify: %s", e.msg);
    goto out;
  }
  r->verified_end = end;
  vec_t t = r->prev;
  r->prev = r->cur;
  r->cur = t;
out:
  beck_plog_close(log);
  if (rc == 0 && drop_marker) {
    char path[4096];
    snprintf(path, sizeof path, "%s/clean-shutdown", r->dir);
    unlink(path);
  }
  return rc;
}

/* ---- simulated power cut ------------------------------------------------ */

static int newest_segment(const char *dir, int64_t *base) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return -1;
  struct dirent *de;
  int found = 0;
  while ((de = readdir(d)) != NULL) {
    size_t n = strlen(de->d_name);
    if (n != 24 || strcmp(de->d_name + 20, ".log") != 0)
      continue;
    char *endp;
    long long v = strtoll(de->d_name, &endp, 10);
    if (endp != de->d_name + 20)
      continue;
    if (!found || v > *base)
      *base = v;
    found = 1;
  }
  closedir(d);
  return found ? 0 : -1;
}

/* Cuts the newest segment at a random byte past everything known synced and
 * leaves a random tail. durable_last: the highest offset that must survive
 * (-1 if none). Returns 1 when it cut, 0 when it skipped, -1 on violation. */
static int power_cut(run_t *r, int64_t durable_last, uint64_t *s, char *what, size_t what_len) {
  int64_t seg = 0;
  if (newest_segment(r->dir, &seg))
    return 0;
  /* the recovery point: "OFFSET SEGMENT_BASE POSITION" */
  int64_t rp_off = 0, rp_seg = 0, rp_pos = 0;
  char path[4096];
  snprintf(path, sizeof path, "%s/recovery-point", r->dir);
  FILE *f = fopen(path, "r");
  if (f != NULL) {
    int n = fscanf(f, "%" SCNd64 " %" SCNd64 " %" SCNd64, &rp_off, &rp_seg, &rp_pos);
    fclose(f);
    if (n != 3) {
      snprintf(what, what_len, "skipped: recovery-point unreadable");
      return 0;
    }
  }
  int64_t min_pos = 0;
  if (rp_seg == seg)
    min_pos = rp_pos;
  else if (rp_seg > seg)
    return 0;
  snprintf(path, sizeof path, "%s/%020" PRId64 ".log", r->dir, seg);
  int fd = open(path, O_RDWR);
  if (fd < 0)
    return 0;
  struct stat st;
  fstat(fd, &st);
  int64_t size = st.st_size;
  /* walk the segment to find where the last must-survive batch ends */
  if (durable_last >= seg) {
    int64_t pos = 0;
    bool found = false;
    uint8_t h[27];
    while (pos + (int64_t)sizeof h <= size && pread(fd, h, sizeof h, pos) == (ssize_t)sizeof h) {
      int64_t base = (int64_t)beck_load_be64(h);
      int64_t total = (int64_t)beck_load_be32(h + 8) + BECK_BATCH_LOG_OVERHEAD;
      int64_t last = base + (int32_t)beck_load_be32(h + 23);
      if (total < BECK_BATCH_HEADER_SIZE || pos + total > size)
        break;
      pos += total;
      if (base <= durable_last && durable_last <= last) {
        found = true;
        break;
      }
    }
    if (!found) {
      close(fd);
      return fail(r, "offset %" PRId64 ": durable offset not found in segment %020" PRId64
                     ".log (%" PRId64 " bytes) after the kill",
                  durable_last, seg, size);
    }
    if (pos > min_pos)
      min_pos = pos;
  }
  if (min_pos > size)
    min_pos = size;
  int64_t cut = min_pos + (int64_t)(splitmix64(s) % (uint64_t)(size - min_pos + 1));
  uint32_t kind = rnd(s, 4);
  uint32_t tail = kind == 0 ? 0 : 1 + rnd(s, 64 * 1024);
  static const char *kinds[] = {"nothing", "zeros", "random bytes", "a torn batch"};
  if (ftruncate(fd, cut) != 0) {
    close(fd);
    return fail(r, "ftruncate %s: %s", path, strerror(errno));
  }
  if (tail > 0) {
    uint8_t *t = calloc(1, tail);
    if (kind == 2) {
      for (uint32_t i = 0; i < tail; i++)
        t[i] = (uint8_t)splitmix64(s);
    } else if (kind == 3 && tail >= BECK_BATCH_HEADER_SIZE) {
      /* a plausible header claiming more bytes than follow, or a wrong CRC */
      for (uint32_t i = 0; i < tail; i++)
        t[i] = (uint8_t)splitmix64(s);
      beck_store_be64(t, (uint64_t)(durable_last + 1));
      beck_store_be32(t + 8, (uint32_t)(tail - 12 + rnd(s, 2) * rnd(s, 4096)));
      beck_store_be32(t + 12, 0);
      t[16] = 2;
      beck_store_be16(t + 21, 0);
      beck_store_be32(t + 23, rnd(s, 10));
    }
    if (pwrite(fd, t, tail, cut) != (ssize_t)tail) {
      free(t);
      close(fd);
      return fail(r, "pwrite %s: %s", path, strerror(errno));
    }
    free(t);
  }
  close(fd);
  snprintf(what, what_len, "cut %020" PRId64 ".log at %" PRId64 " of %" PRId64 " (synced floor %" PRId64
           ") + %u bytes of %s",
           seg, cut, size, min_pos, tail, kinds[kind]);
  return 1;
}

/* ---- one cycle ------------------------------------------------------------ */

static int drain(run_t *r, int fd, uint8_t *stage, size_t *staged, bool block, int64_t *opened_end) {
  for (;;) {
    ssize_t n = read(fd, stage + *staged, 64 * 1024 - *staged);
    if (n < 0 && errno == EINTR)
      continue;
    if (n < 0 && errno == EAGAIN && !block)
      return 0;
    if (n < 0)
      return fail(r, "reading reports: %s", strerror(errno));
    if (n == 0)
      return 1; /* EOF */
    *staged += (size_t)n;
    size_t off = 0;
    for (; *staged - off >= sizeof(report_t); off += sizeof(report_t)) {
      report_t rep;
      memcpy(&rep, stage + off, sizeof rep);
      if (rep.cycle != r->cycle)
        return fail(r, "report from cycle %u", rep.cycle);
      if (rep.kind == REP_OPENED) {
        *opened_end = rep.last;
        if (rep.base != 0 || rep.last != r->verified_end)
          return fail(r, "child opened the log at [%" PRId64 ", %" PRId64 "), expected [0, %" PRId64
                         ") as verified and closed last cycle",
                      rep.base, rep.last, r->verified_end);
      } else {
        *(report_t *)vec_push(&r->reports) = rep;
        r->batches_reported++;
        r->records_reported += rep.nrec;
      }
    }
    memmove(stage, stage + off, *staged - off);
    *staged -= off;
  }
}

/* Reads reports until `deadline`, or until the child's open report when
 * until_open. Returns 0, 1 at EOF (the child is gone), < 0 on a violation. */
static int pump(run_t *r, int fd, uint8_t *stage, size_t *staged, double deadline, bool until_open,
                int64_t *opened_end) {
  for (;;) {
    if (until_open && *opened_end >= 0)
      return 0;
    double left = deadline - now_s();
    if (left <= 0)
      return 0;
    struct pollfd pfd = {fd, POLLIN, 0};
    struct timespec ts = {(time_t)left, (long)((left - (double)(time_t)left) * 1e9)};
    int n = ppoll(&pfd, 1, &ts, NULL);
    if (n > 0) {
      int rc = drain(r, fd, stage, staged, false, opened_end);
      if (rc != 0)
        return rc;
    }
  }
}

static double log_uniform(uint64_t *s, double lo, double hi) {
  double u = (double)rnd(s, 1000000) / 1e6;
  return exp(log(lo) + u * (log(hi) - log(lo)));
}

static int run_cycle(run_t *r, uint64_t *s) {
  beck_fsync_policy_t policy = BECK_FSYNC_ALWAYS;
  if (r->mode == MODE_RELAXED)
    policy = rnd(s, 2) ? BECK_FSYNC_INTERVAL : BECK_FSYNC_NEVER;
  static const int thread_choices[] = {1, 1, 1, 2, 3, 4, 8, 16};
  int nthreads = thread_choices[rnd(s, 8)];
  static const int64_t seg_choices[] = {64 * 1024, 256 * 1024, 1024 * 1024, 1024 * 1024 * 1024};
  int64_t seg_bytes = seg_choices[rnd(s, 4)];
  /* one kill in five lands anywhere from fork through open and recovery;
   * the others after the child opened, while it appends */
  bool kill_in_open = rnd(s, 5) == 0;
  double delay_us = kill_in_open ? log_uniform(s, 5, 3000) : log_uniform(s, 20, 60000);
  bool cut = r->cuts && rnd(s, 3) == 0;
  bool drop_marker = rnd(s, 4) == 0;
  uint32_t reopen_every = nthreads == 1 && rnd(s, 3) == 0 ? 1 + rnd(s, 8) : 0;
  if (nthreads > r->max_threads_used)
    r->max_threads_used = nthreads;

  int p[2];
  if (pipe(p) != 0)
    return fail(r, "pipe: %s", strerror(errno));
  fflush(NULL);
  pid_t parent = getpid();
  pid_t pid = fork();
  if (pid < 0)
    return fail(r, "fork: %s", strerror(errno));
  if (pid == 0) {
    close(p[0]);
    child_t c = {NULL, p[1], r->seed, r->cycle, policy, NULL, {0}, reopen_every};
    child_main(r->dir, &c, nthreads, seg_bytes, parent);
  }
  close(p[1]);
  fcntl(p[0], F_SETFL, O_NONBLOCK);
  size_t first_report = r->reports.n;
  uint8_t stage[64 * 1024];
  size_t staged = 0;
  int64_t opened_end = -1;
  int rc = 0;
  if (!kill_in_open) {
    rc = pump(r, p[0], stage, &staged, now_s() + OPEN_TIMEOUT_S, true, &opened_end);
    if (rc == 0 && opened_end < 0)
      rc = fail(r, "the child did not open the log within %.0f s", OPEN_TIMEOUT_S);
  }
  if (rc == 0)
    rc = pump(r, p[0], stage, &staged, now_s() + delay_us / 1e6, false, &opened_end);
  kill(pid, SIGKILL);
  int status;
  while (waitpid(pid, &status, 0) < 0 && errno == EINTR) {
  }
  if (rc < 0) {
    close(p[0]);
    return rc;
  }
  fcntl(p[0], F_SETFL, 0);
  rc = drain(r, p[0], stage, &staged, true, &opened_end);
  close(p[0]);
  if (rc < 0)
    return rc;
  if (!WIFSIGNALED(status) || WTERMSIG(status) != SIGKILL)
    return fail(r, "child ended on its own before the kill (status %d%s); see its message above",
                WIFEXITED(status) ? WEXITSTATUS(status) : -WTERMSIG(status), WIFEXITED(status) ? "" : " signal");
  if (opened_end < 0)
    r->killed_before_open++;
  rc = 0;

  /* what must survive: the highest reported-durable offset, and everything
   * verified and closed before */
  int64_t durable_last = r->verified_end - 1;
  if (r->mode == MODE_ALWAYS) {
    const report_t *rep = r->reports.data;
    for (size_t i = first_report; i < r->reports.n; i++)
      if (rep[i].last > durable_last)
        durable_last = rep[i].last;
  }
  char what[256] = "";
  uint64_t cuts_before = r->cuts_done;
  if (cut) {
    int c = power_cut(r, durable_last, s, what, sizeof what);
    if (c < 0)
      return c;
    r->cuts_done += (uint64_t)c;
  }
  int64_t before = r->verified_end;
  if ((rc = verify(r, first_report, r->cuts_done > cuts_before, drop_marker)) != 0)
    return rc;
  if (r->verbose)
    printf("cycle %4u: %s %2d thr seg %8" PRId64 " kill %8.0f us %s: %5zu batches reported, log %" PRId64 " -> %" PRId64
           "%s%s%s%s\n",
           r->cycle, policy == BECK_FSYNC_ALWAYS ? "always  " : policy == BECK_FSYNC_INTERVAL ? "interval" : "never   ",
           nthreads, seg_bytes, delay_us, kill_in_open ? "from fork" : "from open", r->reports.n - first_report, before, r->verified_end, what[0] ? "; " : "",
           what, drop_marker ? "; marker dropped" : "", reopen_every ? "; child reopens" : "");
  return 0;
}

static uint64_t parse_u64(const char *s, const char *what) {
  char *end;
  errno = 0;
  unsigned long long v = strtoull(s, &end, 0);
  if (errno || *end || end == s) {
    fprintf(stderr, "log_crash: bad %s '%s'\n", what, s);
    exit(2);
  }
  return v;
}

int main(int argc, char **argv) {
  run_t r;
  memset(&r, 0, sizeof r);
  r.mode = MODE_ALWAYS;
  r.seed = DEFAULT_SEED;
  r.cuts = true;
  const char *cycles_s = getenv("BECK_CRASH_CYCLES");
  const char *seed_s = getenv("BECK_CRASH_SEED");
  const char *dir_opt = NULL;
  for (int i = 1; i < argc; i++) {
    if (strcmp(argv[i], "--mode") == 0 && i + 1 < argc) {
      const char *m = argv[++i];
      if (strcmp(m, "always") == 0)
        r.mode = MODE_ALWAYS;
      else if (strcmp(m, "relaxed") == 0)
        r.mode = MODE_RELAXED;
      else {
        fprintf(stderr, "log_crash: --mode is always or relaxed\n");
        return 2;
      }
    } else if (strcmp(argv[i], "--cycles") == 0 && i + 1 < argc) {
      cycles_s = argv[++i];
    } else if (strcmp(argv[i], "--seed") == 0 && i + 1 < argc) {
      seed_s = argv[++i];
    } else if (strcmp(argv[i], "--dir") == 0 && i + 1 < argc) {
      dir_opt = argv[++i];
    } else if (strcmp(argv[i], "--no-cut") == 0) {
      r.cuts = false;
    } else if (strcmp(argv[i], "-v") == 0) {
      r.verbose = true;
    } else {
      fprintf(stderr,
              "usage: log_crash [--mode always|relaxed] [--cycles N] [--seed S|random] [--dir DIR] [--no-cut] [-v]\n"
              "env: BECK_CRASH_CYCLES, BECK_CRASH_SEED\n");
      return 2;
    }
  }
  r.cycles = r.mode == MODE_ALWAYS ? DEFAULT_CYCLES_ALWAYS : DEFAULT_CYCLES_RELAXED;
  if (cycles_s != NULL && *cycles_s)
    r.cycles = (uint32_t)parse_u64(cycles_s, "cycle count");
  if (seed_s != NULL && strcmp(seed_s, "random") == 0)
    r.seed = (uint64_t)time(NULL) ^ ((uint64_t)getpid() << 32);
  else if (seed_s != NULL && *seed_s)
    r.seed = parse_u64(seed_s, "seed");
  const char *mode_name = r.mode == MODE_ALWAYS ? "always" : "relaxed";

  char *tmp = NULL;
  if (dir_opt != NULL) {
    r.dir = dir_opt;
  } else {
    tmp = beck_test_tmpdir("log-crash");
    r.dir = tmp;
  }
  printf("log_crash[%s]: seed %" PRIu64 " (rerun with BECK_CRASH_SEED=%" PRIu64 "), %u cycles, dir %s\n", mode_name,
         r.seed, r.seed, r.cycles, r.dir);
  r.reports.elem = sizeof(report_t);
  r.prev.elem = r.cur.elem = sizeof(scanned_t);
  r.scratch = malloc(VALUE_MAX);
  r.next_bno = calloc((size_t)r.cycles + 1, MAX_THREADS * sizeof *r.next_bno);
  if (r.scratch == NULL || r.next_bno == NULL) {
    fprintf(stderr, "log_crash: out of memory\n");
    return 2;
  }
  signal(SIGPIPE, SIG_IGN);
  /* the log's WARNs about cut tails are expected here; -v shows them */
  beck_log_set_level(r.verbose ? BECK_LOG_INFO : BECK_LOG_ERROR);
  uint64_t s = r.seed;
  double t0 = now_s();
  int rc = 0;
  for (r.cycle = 0; r.cycle < r.cycles; r.cycle++) {
    if ((rc = run_cycle(&r, &s)) != 0)
      break;
    if (!r.verbose && r.cycles >= 500 && (r.cycle + 1) % (r.cycles / 10) == 0)
      printf("log_crash[%s]: %u/%u cycles, log %" PRId64 " records, %.0f s\n", mode_name, r.cycle + 1, r.cycles,
             r.verified_end, now_s() - t0);
  }
  double secs = now_s() - t0;
  if (rc != 0) {
    fprintf(stderr, "log_crash[%s]: FAILED; log kept in %s\n", mode_name, r.dir);
    return 1;
  }
  if (r.mode == MODE_ALWAYS)
    printf("log_crash[always]: %u cycles, %" PRIu64 " batches / %" PRIu64 " records reported durable and verified, 0 lost",
           r.cycles, r.batches_reported, r.records_reported);
  else
    printf("log_crash[relaxed]: %u cycles, %" PRIu64 " batches / %" PRIu64 " records reported appended, %" PRIu64
           " verified, %" PRIu64 " unsynced lost to simulated power cuts (allowed)",
           r.cycles, r.batches_reported, r.records_reported, r.batches_reported - r.lost_unsynced, r.lost_unsynced);
  printf("; %" PRIu64 " power cuts, %" PRIu64 " kills before open finished, up to %d threads; final log %zu batches / %" PRIu64
         " records; slowest reopen %.1f ms; %.1f s\n",
         r.cuts_done, r.killed_before_open, r.max_threads_used, r.prev.n, r.records_in_log, r.max_open_ms, secs);
  if (tmp != NULL)
    beck_test_rmdir(tmp);
  free(r.scratch);
  free(r.next_bno);
  free(r.reports.data);
  free(r.prev.data);
  free(r.cur.data);
  return 0;
}
