/*
 * fuzz_segment_recovery.c - libFuzzer target for opening a partition
 * directory whose files came from outside: the bytes of segment files,
 * their offset and time indexes, the recovery point, the log start offset
 * and the clean-shutdown marker (core/log/recover.c, segment.c, index.c,
 * checkpoint.c). Recovery may cut a torn tail or open the log fenced; it
 * must never crash, leak, read out of bounds or serve a broken batch.
 *
 * Input: a sequence of records { u8 kind; u16 BE length; length bytes }
 * (a length past the end takes what is left):
 *
 *   kind % 6   file written into the partition directory
 *   0          <base>.log; the first 8 bytes are the base offset (BE,
 *              masked to 48 bits), the rest the segment's bytes
 *   1          <base>.index of the last .log record
 *   2          <base>.timeindex of the last .log record
 *   3          recovery-point (text as given)
 *   4          log-start-offset (text as given)
 *   5          clean-shutdown (empty)
 *
 * At most 4 segments. Then: open (fsync and the directory sync are no-ops,
 * the clock is fixed), read every batch from the log start to the end,
 * look up a few timestamps, run the full verification, and when the log is
 * not fenced append a batch, close cleanly, reopen and read it all again.
 *
 * Checked (abort() on violation, so libFuzzer reports it):
 *   - start <= durable <= end; reads (bounded by the end, as the broker
 *     bounds them by its high watermark) return whole batches with magic 2
 *     and increasing offsets, and an unfenced log none reaching past its end;
 *   - with no recovery-point file every batch served passed its CRC-32C at
 *     open; after a successful beck_plog_verify() every batch passes it, and
 *     a failed verify leaves the log fenced;
 *   - an unfenced log accepts an append at its end offset, and a clean
 *     close + reopen gives back the same offsets and the same bytes.
 *
 * Seeds: tests/fuzz/corpus/segment_recovery, packed from partition
 * directories written by the real broker (tests/fuzz/pack_partition.py).
 * Run: tests/fuzz/run_fuzzers.sh, or
 *   fuzz_segment_recovery -max_total_time=60 <scratch dir> tests/fuzz/corpus/segment_recovery
 * Files go to /dev/shm (else $TMPDIR, /tmp) under beck-fuzz-seg-<pid>.
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/crc32c.h"
#include "base/env.h"
#include "base/logging.h"
#include "log/plog.h"
#include "record/batch.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);
int LLVMFuzzerInitialize(int *argc, char ***argv);

#define MAX_SEGMENTS 4
#define FIXED_NOW_MS 1700000000000LL
#define READ_CHUNK ((size_t)64 << 10)

static char root[512];
static char part[600];
static beck_env_t fuzz_env;
static bool verbose; /* BECK_FUZZ_VERBOSE: the log's own lines and why a read stopped */

static int no_sync(beck_env_t *env, int fd) { return 0; }
static int no_sync_dir(beck_env_t *env, const char *path) { return 0; }
static int64_t fixed_now(beck_env_t *env) { return FIXED_NOW_MS; }

static void clear_dir(const char *dir) {
  DIR *d = opendir(dir);
  if (d == NULL)
    return;
  struct dirent *de;
  char p[1200];
  while ((de = readdir(d)) != NULL) {
    if (strcmp(de->d_name, ".") == 0 || strcmp(de->d_name, "..") == 0)
      continue;
    snprintf(p, sizeof p, "%s/%s", dir, de->d_name);
    unlink(p);
  }
  closedir(d);
}

static void remove_root(void) {
  clear_dir(part);
  rmdir(part);
  rmdir(root);
}

int LLVMFuzzerInitialize(int *argc, char ***argv) {
  const char *base = access("/dev/shm", W_OK) == 0 ? "/dev/shm" : getenv("TMPDIR") ? getenv("TMPDIR") : "/tmp";
  snprintf(root, sizeof root, "%s/beck-fuzz-seg-%d", base, (int)getpid());
  snprintf(part, sizeof part, "%s/p-0", root);
  mkdir(root, 0755);
  atexit(remove_root);
  fuzz_env = *beck_env_default();
  fuzz_env.fdatasync = no_sync;
  fuzz_env.sync_dir = no_sync_dir;
  fuzz_env.now_ms = fixed_now;
  verbose = getenv("BECK_FUZZ_VERBOSE") != NULL;
  if (!verbose)
    beck_log_set_level(BECK_LOG_ERROR); /* recovery logs every cut at WARN: too slow to print */
  return 0;
}

static void write_file(const char *name, const uint8_t *p, size_t n) {
  char path[1200];
  snprintf(path, sizeof path, "%s/%s", part, name);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  if (fd < 0)
    abort(); /* the harness itself failed: say so loudly */
  while (n > 0) {
    ssize_t w = write(fd, p, n);
    if (w <= 0)
      abort();
    p += w;
    n -= (size_t)w;
  }
  close(fd);
}

/* Unpacks the input into the partition directory; returns whether a
 * recovery-point file was written. */
static bool unpack(const uint8_t *data, size_t size) {
  clear_dir(part);
  mkdir(part, 0755);
  bool have_ckpt = false;
  int nsegs = 0;
  int64_t last_base = -1;
  char name[64];
  size_t at = 0;
  while (at + 3 <= size) {
    int kind = data[at] % 6;
    size_t len = (size_t)data[at + 1] << 8 | data[at + 2];
    at += 3;
    if (len > size - at)
      len = size - at;
    const uint8_t *p = data + at;
    at += len;
    switch (kind) {
    case 0: {
      if (nsegs == MAX_SEGMENTS)
        break;
      uint64_t base = 0;
      size_t hl = len < 8 ? len : 8;
      for (size_t i = 0; i < hl; i++)
        base = base << 8 | p[i];
      base &= (1ULL << 48) - 1;
      snprintf(name, sizeof name, "%020llu.log", (unsigned long long)base);
      write_file(name, p + hl, len - hl);
      last_base = (int64_t)base;
      nsegs++;
      break;
    }
    case 1:
    case 2:
      if (last_base < 0)
        break;
      snprintf(name, sizeof name, "%020lld%s", (long long)last_base, kind == 1 ? ".index" : ".timeindex");
      write_file(name, p, len);
      break;
    case 3:
      write_file("recovery-point", p, len);
      have_ckpt = true;
      break;
    case 4:
      write_file("log-start-offset", p, len);
      break;
    case 5:
      write_file("clean-shutdown", p, 0);
      break;
    }
  }
  return have_ckpt;
}

typedef struct read_result {
  uint32_t crc; /* over every byte served */
  int64_t batches, bytes, bad_crc;
  bool stopped; /* stopped before the end: a read failed or served a broken batch */
} read_result_t;

/* A broken slice: abort() when strict, else note it and stop reading. */
static void broken(read_result_t *r, bool strict, const char *why, int64_t off, size_t at) {
  if (verbose || strict)
    fprintf(stderr, "fuzz_segment_recovery: read at offset %lld, byte %zu of the slice: %s\n", (long long)off, at, why);
  if (strict)
    abort();
  r->stopped = true;
}

/* Reads the log from its start to its end and checks the slice contract.
 * strict: the bytes are known to be whole, CRC-checked batches (no recovery
 * point on open, or after a successful verify), so any broken slice is a
 * bug. Otherwise (data below a recovery point is trusted on open: its CRCs
 * are only checked by beck_plog_verify), a broken slice just ends the read. */
static read_result_t read_all(beck_plog_t *log, bool strict) {
  read_result_t r = {0};
  int64_t start = beck_plog_start_offset(log), end = beck_plog_end_offset(log);
  int64_t durable = beck_plog_durable_offset(log);
  bool fenced = beck_plog_fenced(log, NULL);
  if (start > end || durable > end || durable < start)
    abort();
  beck_buf_t buf = {0};
  int64_t off = start, prev_last = -1;
  while (off < end && !r.stopped) {
    beck_error_t e;
    buf.len = 0;
    /* max_offset = the end, as the broker passes its high watermark (<= end) */
    if (beck_plog_read_copy(log, off, READ_CHUNK, end, &buf, &e) != BECK_ERR_OK || buf.len == 0) {
      r.stopped = true; /* corruption found on the way, or nothing at or after off */
      break;
    }
    size_t at = 0;
    int64_t last = -1;
    while (at < buf.len) {
      beck_batch_header_t h;
      if (buf.len - at < BECK_BATCH_HEADER_SIZE || beck_batch_header_decode(buf.data + at, buf.len - at, &h) ||
          h.magic != 2 || h.batch_length < 49 || (uint64_t)beck_batch_total_size(&h) > buf.len - at) {
        broken(&r, strict, "not a whole batch", off, at);
        break;
      }
      int64_t total = beck_batch_total_size(&h);
      if (h.base_offset <= prev_last || beck_batch_last_offset(&h) < h.base_offset) {
        broken(&r, strict, "offsets do not grow", off, at);
        break;
      }
      if (at == 0 && beck_batch_last_offset(&h) < off) {
        broken(&r, strict, "the first batch ends before the offset asked for", off, at);
        break;
      }
      if (beck_batch_last_offset(&h) >= end) {
        /* a fenced log (damage below its recovery point) serves what lies before the damage as it is */
        char why[128];
        snprintf(why, sizeof why, "a batch with offsets %lld..%lld is served but the log ends at %lld",
                 (long long)h.base_offset, (long long)beck_batch_last_offset(&h), (long long)end);
        broken(&r, strict && !fenced, why, off, at);
        break;
      }
      if (beck_crc32c(0, buf.data + at + BECK_BATCH_CRC_START, (size_t)total - BECK_BATCH_CRC_START) != h.crc)
        r.bad_crc++;
      prev_last = last = beck_batch_last_offset(&h);
      at += (size_t)total;
      r.batches++;
    }
    r.crc = beck_crc32c(r.crc, buf.data, buf.len);
    r.bytes += (int64_t)buf.len;
    off = last + 1;
  }
  beck_buf_free(&buf);
  return r;
}

/* One uncompressed batch of one record with CreateTime FIXED_NOW_MS. */
static size_t make_batch(uint8_t *b, size_t cap) {
  static const uint8_t rec[] = {
      0x14,                     /* record length 10 (zigzag) */
      0x00,                     /* attributes */
      0x00,                     /* timestamp delta 0 */
      0x00,                     /* offset delta 0 */
      0x01,                     /* key length -1 */
      0x08, 'f', 'u', 'z', 'z', /* value length 4, "fuzz" */
      0x00,                     /* no headers */
  };
  size_t n = BECK_BATCH_HEADER_SIZE + sizeof rec;
  if (cap < n)
    abort();
  memset(b, 0, BECK_BATCH_HEADER_SIZE);
  uint32_t blen = (uint32_t)(n - 12);
  b[8] = (uint8_t)(blen >> 24), b[9] = (uint8_t)(blen >> 16), b[10] = (uint8_t)(blen >> 8), b[11] = (uint8_t)blen;
  b[16] = 2;                  /* magic */
  for (int k = 0; k < 2; k++) /* BaseTimestamp, MaxTimestamp */
    for (int i = 0; i < 8; i++)
      b[27 + 8 * k + i] = (uint8_t)((uint64_t)FIXED_NOW_MS >> (56 - 8 * i));
  memset(b + 43, 0xff, 8 + 2 + 4); /* ProducerId -1, ProducerEpoch -1, BaseSequence -1 */
  b[60] = 1;                       /* RecordsCount 1 */
  memcpy(b + BECK_BATCH_HEADER_SIZE, rec, sizeof rec);
  beck_batch_update_crc(b, n);
  return n;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
  bool have_ckpt = unpack(data, size);
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.index_interval_bytes = 128; /* dense indexes: more entries to distrust */
  cfg.segment_index_bytes = 4096; /* 512 entries: a full index rolls */
  cfg.segment_bytes = 1 << 20;
  beck_plog_t *log = NULL;
  beck_error_t e;
  if (beck_plog_open(part, &cfg, &fuzz_env, &log, &e) != BECK_ERR_OK)
    return 0;

  /* without a recovery point every batch is CRC-checked on open */
  read_result_t r1 = read_all(log, !have_ckpt);
  if (!have_ckpt && r1.bad_crc > 0)
    abort();

  /* the time index and record decoding: must not crash; results are not
   * checked (records below a recovery point are not CRC-checked on open) */
  int64_t ts[] = {-1, 0, FIXED_NOW_MS, INT64_MAX};
  for (size_t i = 0; i < sizeof ts / sizeof ts[0]; i++) {
    int64_t off, found;
    beck_plog_offset_for_time(log, ts[i], &off, &found, &e);
  }

  bool verified = false;
  if (beck_plog_verify(log, &e) == BECK_ERR_OK) {
    read_result_t r2 = read_all(log, true);
    if (r2.bad_crc > 0)
      abort(); /* verify passed a batch that fails its CRC */
    verified = !r2.stopped;
  } else if (e.code == BECK_ERR_CORRUPT && !beck_plog_fenced(log, NULL)) {
    abort(); /* damage found must fence */
  }

  if (verified && !beck_plog_fenced(log, NULL)) {
    uint8_t b[128];
    size_t n = make_batch(b, sizeof b);
    int64_t end = beck_plog_end_offset(log);
    beck_plog_append_info_t info;
    if (beck_plog_append(log, b, n, &info, &e) != BECK_ERR_OK || info.base_offset != end ||
        beck_plog_sync(log, &e) != BECK_ERR_OK)
      abort();
    read_result_t before = read_all(log, true);
    int64_t start = beck_plog_start_offset(log);
    end = beck_plog_end_offset(log);
    beck_plog_close(log);
    log = NULL;
    if (beck_plog_open(part, &cfg, &fuzz_env, &log, &e) != BECK_ERR_OK)
      abort(); /* a cleanly closed log must open */
    read_result_t after = read_all(log, true);
    if (beck_plog_fenced(log, NULL) || beck_plog_start_offset(log) != start || beck_plog_end_offset(log) != end ||
        after.bytes != before.bytes || after.crc != before.crc)
      abort();
  }
  beck_plog_close(log);
  return 0;
}
