/* test_log.c - core/log: the partition segment log. Every test checks data:
 * exact bytes, offsets, timestamps and state after reopening. A model keeps
 * every appended batch (with its assigned offsets) to compare against. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include "base/buf.h"
#include "base/logging.h"
#include "fault_env.h"
#include "log/plog.h"
#include "record/batch.h"
#include "record/codec.h"
#include "tmpdir.h"

/* ---- helpers: files ------------------------------------------------------ */

static void seg_file(char *buf, size_t n, const char *dir, int64_t base, const char *ext) {
  char name[64];
  snprintf(name, sizeof name, "%020lld%s", (long long)base, ext);
  if ((size_t)snprintf(buf, n, "%s/%s", dir, name) >= n)
    fail_msg("path too long");
}

static int64_t file_size(const char *path) {
  struct stat st;
  return stat(path, &st) == 0 ? (int64_t)st.st_size : -1;
}

static bool file_exists(const char *path) { return file_size(path) >= 0; }

static void truncate_file(const char *path, int64_t size) { assert_int_equal(truncate(path, size), 0); }

static void flip_bit(const char *path, int64_t pos, int bit) {
  int fd = open(path, O_RDWR);
  assert_true(fd >= 0);
  uint8_t b;
  assert_int_equal(pread(fd, &b, 1, pos), 1);
  b ^= (uint8_t)(1u << bit);
  assert_int_equal(pwrite(fd, &b, 1, pos), 1);
  close(fd);
}

static void write_text(const char *path, const char *text) {
  FILE *f = fopen(path, "w");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static size_t read_whole(const char *path, uint8_t **out) {
  FILE *f = fopen(path, "rb");
  assert_non_null(f);
  fseek(f, 0, SEEK_END);
  long n = ftell(f);
  fseek(f, 0, SEEK_SET);
  *out = malloc((size_t)n + 1);
  assert_int_equal(fread(*out, 1, (size_t)n, f), (size_t)n);
  fclose(f);
  return (size_t)n;
}

static void copy_file(const char *from, const char *to) {
  uint8_t *data;
  size_t n = read_whole(from, &data);
  FILE *f = fopen(to, "wb");
  assert_non_null(f);
  assert_int_equal(fwrite(data, 1, n, f), n);
  fclose(f);
  free(data);
}

static void copy_dir(const char *from, const char *to) {
  mkdir(to, 0755);
  DIR *d = opendir(from);
  assert_non_null(d);
  struct dirent *de;
  while ((de = readdir(d)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    char a[4096], b[4096];
    snprintf(a, sizeof a, "%s/%s", from, de->d_name);
    snprintf(b, sizeof b, "%s/%s", to, de->d_name);
    copy_file(a, b);
  }
  closedir(d);
}

/* Sorted base offsets of the .log files in dir. */
static size_t list_segments(const char *dir, int64_t *bases, size_t max) {
  DIR *d = opendir(dir);
  assert_non_null(d);
  struct dirent *de;
  size_t n = 0;
  while ((de = readdir(d)) != NULL) {
    size_t len = strlen(de->d_name);
    if (len == 24 && strcmp(de->d_name + 20, ".log") == 0 && n < max)
      bases[n++] = strtoll(de->d_name, NULL, 10);
  }
  closedir(d);
  for (size_t i = 1; i < n; i++)
    for (size_t j = i; j > 0 && bases[j - 1] > bases[j]; j--) {
      int64_t t = bases[j];
      bases[j] = bases[j - 1];
      bases[j - 1] = t;
    }
  return n;
}

/* ---- helpers: batches and the model -------------------------------------- */

/* Builds one batch of nrec records: key "k<key0 + i>", value "v<tag>-<i>-"
 * padded to vlen, timestamps ts[i] (or ts0 + i). codec NONE or compressed. */
static void make_batch_ex(beck_buf_t *out, int tag, int nrec, int key0, const int64_t *ts, int64_t ts0, int vlen,
                          beck_codec_t codec) {
  beck_batch_builder_t b;
  beck_batch_builder_init(&b);
  for (int i = 0; i < nrec; i++) {
    char key[32], val[512];
    int kl = snprintf(key, sizeof key, "k%d", key0 + i);
    int vl = snprintf(val, sizeof val, "v%d-%d-", tag, i);
    for (; vl < vlen && vl < (int)sizeof val; vl++)
      val[vl] = (char)('a' + (vl + tag) % 26);
    assert_int_equal(beck_batch_builder_add(&b, ts ? ts[i] : ts0 + i, beck_nstr(key, kl), beck_nstr(val, vl), NULL, 0),
                     0);
  }
  beck_error_t e;
  if (codec == BECK_CODEC_NONE)
    assert_int_equal(beck_batch_builder_finish(&b), 0);
  else
    assert_int_equal(beck_batch_builder_finish_compressed(&b, codec, &e), 0);
  beck_buf_append(out, b.buf.data, b.buf.len);
  beck_batch_builder_free(&b);
}

static void make_batch(beck_buf_t *out, int tag, int nrec, int64_t ts0, int vlen) {
  make_batch_ex(out, tag, nrec, tag * 100, NULL, ts0, vlen, BECK_CODEC_NONE);
}

typedef struct mrec {
  int64_t offset, ts;
} mrec_t;

typedef struct model {
  beck_buf_t bytes;
  size_t n;
  int64_t base[4096], last[4096];
  size_t pos[4096], len[4096];
  mrec_t *recs;
  size_t nrecs, cap_recs;
} model_t;

static void model_add(model_t *m, const uint8_t *p, size_t len) {
  size_t at = 0;
  while (at < len) {
    beck_batch_header_t h;
    assert_int_equal(beck_batch_header_decode(p + at, len - at, &h), 0);
    size_t total = (size_t)beck_batch_total_size(&h);
    assert_true(m->n < 4096);
    m->base[m->n] = h.base_offset;
    m->last[m->n] = beck_batch_last_offset(&h);
    m->pos[m->n] = m->bytes.len;
    m->len[m->n] = total;
    m->n++;
    beck_buf_append(&m->bytes, p + at, total);
    beck_buf_t scratch = {0};
    beck_slice_t recs;
    beck_error_t e;
    assert_int_equal(beck_batch_records(p + at, total, &h, 1 << 24, &scratch, &recs, &e), 0);
    beck_record_iter_t it;
    beck_record_iter_init(&it, &h, recs.ptr, recs.len);
    beck_record_t r;
    while (beck_record_iter_next(&it, &r) == 1) {
      if (m->nrecs == m->cap_recs) {
        m->cap_recs = m->cap_recs ? m->cap_recs * 2 : 256;
        m->recs = realloc(m->recs, m->cap_recs * sizeof *m->recs);
      }
      m->recs[m->nrecs++] = (mrec_t){r.offset, r.timestamp};
    }
    beck_buf_free(&scratch);
    at += total;
  }
}

/* Keeps the batches whose last offset < offset. */
static void model_truncate(model_t *m, int64_t offset) {
  while (m->n > 0 && m->last[m->n - 1] >= offset)
    m->n--;
  m->bytes.len = m->n ? m->pos[m->n - 1] + m->len[m->n - 1] : 0;
  while (m->nrecs > 0 && m->recs[m->nrecs - 1].offset >= offset)
    m->nrecs--;
}

static int64_t model_end(const model_t *m) { return m->n ? m->last[m->n - 1] + 1 : 0; }

static size_t model_batch_of(const model_t *m, int64_t offset) {
  for (size_t i = 0; i < m->n; i++)
    if (m->last[i] >= offset)
      return i;
  return m->n;
}

static void model_free(model_t *m) {
  beck_buf_free(&m->bytes);
  free(m->recs);
}

/* ---- helpers: the log ------------------------------------------------------ */

static beck_plog_t *open_log(const char *dir, const beck_plog_config_t *cfg, beck_env_t *env) {
  beck_plog_t *log = NULL;
  beck_error_t e;
  beck_err_t err = beck_plog_open(dir, cfg, env, &log, &e);
  if (err)
    fail_msg("open %s: %s", dir, e.msg);
  return log;
}

static beck_plog_append_info_t append_ok(beck_plog_t *log, beck_buf_t *b, model_t *m) {
  beck_plog_append_info_t info;
  beck_error_t e;
  beck_err_t err = beck_plog_append(log, b->data, b->len, &info, &e);
  if (err)
    fail_msg("append: %s", e.msg);
  if (m)
    model_add(m, b->data, b->len);
  return info;
}

/* Appends a fresh batch built by make_batch. */
static beck_plog_append_info_t append_batch(beck_plog_t *log, model_t *m, int tag, int nrec, int64_t ts0, int vlen) {
  beck_buf_t b = {0};
  make_batch(&b, tag, nrec, ts0, vlen);
  beck_plog_append_info_t info = append_ok(log, &b, m);
  beck_buf_free(&b);
  return info;
}

/* Reads the whole log from its start, slice by slice. */
static void read_all(beck_plog_t *log, beck_buf_t *out) {
  out->len = 0;
  int64_t off = beck_plog_start_offset(log), end = beck_plog_end_offset(log);
  while (off < end) {
    beck_plog_slice_t s;
    beck_error_t e;
    beck_err_t err = beck_plog_read(log, off, 1 << 20, INT64_MAX, &s, &e);
    if (err)
      fail_msg("read at %lld: %s", (long long)off, e.msg);
    if (s.len == 0)
      break;
    beck_buf_reserve(out, s.len);
    assert_int_equal(pread(s.fd, out->data + out->len, s.len, s.file_pos), (ssize_t)s.len);
    out->len += s.len;
    assert_true(s.next_offset > off);
    off = s.next_offset;
    beck_plog_slice_release(log, &s);
  }
}

/* The whole log equals the model's batches from the one holding `from`. */
static void assert_log_matches(beck_plog_t *log, const model_t *m) {
  beck_buf_t got = {0};
  read_all(log, &got);
  size_t first = model_batch_of(m, beck_plog_start_offset(log));
  size_t from = first < m->n ? m->pos[first] : m->bytes.len;
  assert_int_equal(got.len, m->bytes.len - from);
  assert_memory_equal(got.data, m->bytes.data + from, got.len);
  assert_int_equal(beck_plog_end_offset(log), model_end(m));
  beck_buf_free(&got);
}

static beck_plog_config_t small_config(void) {
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.segment_bytes = 4096;
  cfg.index_interval_bytes = 256;
  return cfg;
}

/* ---- append and read --------------------------------------------------------- */

static void append_read_round_trip_exact_bytes_across_segments(void **state) {
  char *dir = beck_test_tmpdir("log-rt");
  beck_plog_config_t cfg = small_config();
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  int64_t expect = 0;
  for (int i = 0; i < 120; i++) {
    int nrec = 1 + i % 5;
    beck_plog_append_info_t info = append_batch(log, &m, i, nrec, 1000 + i * 10, 20 + (i * 37) % 200);
    assert_int_equal(info.base_offset, expect);
    assert_int_equal(info.last_offset, expect + nrec - 1);
    assert_int_equal(info.batches, 1);
    assert_int_equal(info.log_append_time, -1);
    expect += nrec;
  }
  /* a produce request with three batches is one append */
  beck_buf_t three = {0};
  make_batch(&three, 500, 2, 5000, 30);
  make_batch(&three, 501, 3, 5000, 30);
  make_batch(&three, 502, 1, 5000, 30);
  beck_plog_append_info_t info = append_ok(log, &three, &m);
  assert_int_equal(info.base_offset, expect);
  assert_int_equal(info.last_offset, expect + 5);
  assert_int_equal(info.batches, 3);
  beck_buf_free(&three);

  assert_true(beck_plog_segment_count(log) > 5);
  assert_int_equal(beck_plog_start_offset(log), 0);
  assert_log_matches(log, &m);
  /* every offset reads back its own batch, whole */
  for (int64_t o = 0; o < model_end(&m); o++) {
    size_t k = model_batch_of(&m, o);
    beck_plog_slice_t s;
    beck_error_t e;
    assert_int_equal(beck_plog_read(log, o, 1, INT64_MAX, &s, &e), 0);
    assert_int_equal(s.first_offset, m.base[k]);
    assert_int_equal(s.next_offset, m.last[k] + 1);
    assert_int_equal(s.len, m.len[k]);
    uint8_t buf[2048];
    assert_int_equal(pread(s.fd, buf, s.len, s.file_pos), (ssize_t)s.len);
    assert_memory_equal(buf, m.bytes.data + m.pos[k], s.len);
    beck_plog_slice_release(log, &s);
  }
  beck_error_t e;
  assert_int_equal(beck_plog_sync(log, &e), 0);
  assert_int_equal(beck_plog_durable_offset(log), model_end(&m));
  int32_t segs = beck_plog_segment_count(log);
  int64_t size = beck_plog_size_bytes(log);
  assert_int_equal(size, (int64_t)m.bytes.len);
  beck_plog_close(log);

  log = open_log(dir, &cfg, NULL);
  assert_int_equal(beck_plog_segment_count(log), segs);
  assert_int_equal(beck_plog_size_bytes(log), size);
  assert_int_equal(beck_plog_durable_offset(log), model_end(&m));
  assert_log_matches(log, &m);
  append_batch(log, &m, 900, 2, 9000, 10);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  model_free(&m);
  beck_test_rmdir(dir);
}

static void read_honours_byte_limit_max_offset_and_range(void **state) {
  char *dir = beck_test_tmpdir("log-read");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 3; i++)
    append_batch(log, &m, i, 10, 100, 40);
  size_t s0 = m.len[0], s1 = m.len[1], s2 = m.len[2];
  beck_plog_slice_t s;
  beck_error_t e;
  /* from the middle of a batch: that batch, whole, even past the byte limit */
  assert_int_equal(beck_plog_read(log, 15, 1, INT64_MAX, &s, &e), 0);
  assert_int_equal(s.first_offset, 10);
  assert_int_equal(s.next_offset, 20);
  assert_int_equal(s.len, s1);
  assert_int_equal(s.file_pos, (int64_t)s0);
  beck_plog_slice_release(log, &s);
  /* byte limit: whole batches only */
  assert_int_equal(beck_plog_read(log, 0, s0 + s1, INT64_MAX, &s, &e), 0);
  assert_int_equal(s.len, s0 + s1);
  assert_int_equal(s.next_offset, 20);
  beck_plog_slice_release(log, &s);
  assert_int_equal(beck_plog_read(log, 0, s0 + s1 - 1, INT64_MAX, &s, &e), 0);
  assert_int_equal(s.len, s0);
  beck_plog_slice_release(log, &s);
  assert_int_equal(beck_plog_read(log, 0, SIZE_MAX, INT64_MAX, &s, &e), 0);
  assert_int_equal(s.len, s0 + s1 + s2);
  assert_int_equal(s.next_offset, 30);
  beck_plog_slice_release(log, &s);
  /* max offset (high watermark): batches starting at or above it are not returned */
  assert_int_equal(beck_plog_read(log, 0, SIZE_MAX, 20, &s, &e), 0);
  assert_int_equal(s.len, s0 + s1);
  beck_plog_slice_release(log, &s);
  assert_int_equal(beck_plog_read(log, 0, SIZE_MAX, 10, &s, &e), 0);
  assert_int_equal(s.len, s0);
  beck_plog_slice_release(log, &s);
  assert_int_equal(beck_plog_read(log, 25, SIZE_MAX, 20, &s, &e), 0);
  assert_int_equal(s.len, 0);
  beck_plog_slice_release(log, &s);
  /* the end: empty; past it or below the start: out of range */
  assert_int_equal(beck_plog_read(log, 30, SIZE_MAX, INT64_MAX, &s, &e), 0);
  assert_int_equal(s.len, 0);
  assert_int_equal(s.first_offset, 30);
  assert_int_equal(s.next_offset, 30);
  beck_plog_slice_release(log, &s);
  assert_int_equal(beck_plog_read(log, 31, SIZE_MAX, INT64_MAX, &s, &e), BECK_ERR_RANGE);
  assert_int_equal(beck_plog_read(log, -1, SIZE_MAX, INT64_MAX, &s, &e), BECK_ERR_RANGE);
  /* read_copy appends to what the buffer holds */
  beck_buf_t out = {0};
  beck_buf_append(&out, "xy", 2);
  assert_int_equal(beck_plog_read_copy(log, 12, 1, INT64_MAX, &out, &e), 0);
  assert_int_equal(out.len, 2 + s1);
  assert_memory_equal(out.data, "xy", 2);
  assert_memory_equal(out.data + 2, m.bytes.data + m.pos[1], s1);
  beck_buf_free(&out);
  beck_plog_close(log);
  model_free(&m);
  beck_test_rmdir(dir);
}

static void append_refuses_invalid_batches_and_writes_nothing(void **state) {
  char *dir = beck_test_tmpdir("log-bad");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  beck_buf_t good = {0};
  make_batch(&good, 1, 3, 100, 30);
  size_t one = good.len;
  make_batch(&good, 2, 4, 100, 30);
  make_batch(&good, 3, 2, 100, 30);
  beck_buf_t b = {0};
  beck_error_t e;
  char seg0[4096];
  seg_file(seg0, sizeof seg0, dir, 0, ".log");

  /* a flipped bit in the second batch: nothing of the three is written */
  beck_buf_append(&b, good.data, good.len);
  b.data[one + 70] ^= 0x04;
  assert_int_equal(beck_plog_append(log, b.data, b.len, NULL, &e), BECK_ERR_CORRUPT);
  assert_non_null(strstr(e.msg, "batch 1"));
  assert_non_null(strstr(e.msg, "CRC"));
  assert_int_equal(beck_load_be64(b.data), 0); /* offsets not even assigned */
  /* bad magic */
  b.len = 0;
  beck_buf_append(&b, good.data, good.len);
  b.data[one + BECK_BATCH_OFF_MAGIC] = 1;
  assert_int_equal(beck_plog_append(log, b.data, b.len, NULL, &e), BECK_ERR_CORRUPT);
  assert_non_null(strstr(e.msg, "magic"));
  /* record count != last offset delta + 1 */
  b.len = 0;
  beck_buf_append(&b, good.data, good.len);
  beck_store_be32(b.data + BECK_BATCH_OFF_RECORDS_COUNT, 4);
  beck_batch_update_crc(b.data, one);
  assert_int_equal(beck_plog_append(log, b.data, b.len, NULL, &e), BECK_ERR_CORRUPT);
  assert_non_null(strstr(e.msg, "record count"));
  /* cut short */
  assert_int_equal(beck_plog_append(log, good.data, good.len - 5, NULL, &e), BECK_ERR_CORRUPT);
  assert_int_equal(beck_plog_append(log, good.data, 30, NULL, &e), BECK_ERR_CORRUPT);
  assert_int_equal(beck_plog_append(log, good.data, 0, NULL, &e), BECK_ERR_INVAL);
  /* above max.message.bytes */
  beck_plog_config_t small = cfg;
  small.max_batch_bytes = (int32_t)one - 1;
  beck_plog_set_config(log, &small);
  assert_int_equal(beck_plog_append(log, good.data, one, NULL, &e), BECK_ERR_TOOBIG);
  beck_plog_set_config(log, &cfg);

  assert_int_equal(beck_plog_end_offset(log), 0);
  assert_int_equal(file_size(seg0), 0);
  model_t m = {0};
  beck_plog_append_info_t info = append_ok(log, &good, &m);
  assert_int_equal(info.base_offset, 0);
  assert_int_equal(info.last_offset, 8);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  beck_buf_free(&b);
  beck_buf_free(&good);
  model_free(&m);
  beck_test_rmdir(dir);
}

static void log_append_time_stamps_batches_and_recomputes_crc(void **state) {
  char *dir = beck_test_tmpdir("log-lat");
  beck_fault_env_t *fe = beck_fault_env_new();
  beck_fault_env_set_time(fe, 1700000000123LL);
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.log_append_time = true;
  beck_plog_t *log = open_log(dir, &cfg, beck_fault_env(fe));
  beck_buf_t b = {0};
  make_batch(&b, 1, 3, 1000, 20);
  make_batch(&b, 2, 2, 2000, 20);
  model_t m = {0};
  beck_plog_append_info_t info = append_ok(log, &b, &m);
  assert_int_equal(info.log_append_time, 1700000000123LL);
  beck_buf_t got = {0};
  read_all(log, &got);
  assert_int_equal(got.len, b.len);
  assert_memory_equal(got.data, b.data, b.len); /* the caller's buffer was stamped in place */
  size_t at = 0;
  int records = 0;
  while (at < got.len) {
    beck_batch_header_t h;
    beck_error_t e;
    beck_batch_header_decode(got.data + at, got.len - at, &h);
    size_t total = (size_t)beck_batch_total_size(&h);
    assert_int_equal(beck_batch_validate(got.data + at, total, true, &h, &e), 0);
    assert_true(h.attributes & BECK_BATCH_ATTR_LOG_APPEND_TIME);
    assert_int_equal(h.max_timestamp, 1700000000123LL);
    beck_record_iter_t it;
    beck_record_iter_init(&it, &h, got.data + at + BECK_BATCH_HEADER_SIZE, total - BECK_BATCH_HEADER_SIZE);
    beck_record_t r;
    while (beck_record_iter_next(&it, &r) == 1) {
      assert_int_equal(r.timestamp, 1700000000123LL);
      records++;
    }
    at += total;
  }
  assert_int_equal(records, 5);
  int64_t off, ts;
  beck_error_t e;
  assert_int_equal(beck_plog_offset_for_time(log, 1700000000000LL, &off, &ts, &e), 0);
  assert_int_equal(off, 0);
  assert_int_equal(ts, 1700000000123LL);
  beck_plog_close(log);
  beck_buf_free(&b);
  beck_buf_free(&got);
  model_free(&m);
  beck_fault_env_free(fe);
  beck_test_rmdir(dir);
}

/* ---- offset for time ------------------------------------------------------------ */

static void check_offsets_for_time(beck_plog_t *log, const model_t *m, int64_t min_offset) {
  int64_t max_ts = 0;
  for (size_t i = 0; i < m->nrecs; i++)
    if (m->recs[i].ts > max_ts)
      max_ts = m->recs[i].ts;
  for (int64_t t = 900; t <= max_ts + 2; t += 7) {
    int64_t want = -1, want_ts = -1;
    for (size_t i = 0; i < m->nrecs; i++) {
      if (m->recs[i].offset >= min_offset && m->recs[i].ts >= t) {
        want = m->recs[i].offset;
        want_ts = m->recs[i].ts;
        break;
      }
    }
    int64_t off = -2, ts = -2;
    beck_error_t e;
    beck_err_t err = beck_plog_offset_for_time(log, t, &off, &ts, &e);
    if (want < 0) {
      assert_int_equal(err, BECK_ERR_NOTFOUND);
    } else {
      if (err)
        fail_msg("offset for time %lld: %s", (long long)t, e.msg);
      assert_int_equal(off, want);
      assert_int_equal(ts, want_ts);
    }
  }
}

static void offset_for_time_finds_first_record_at_or_after(void **state) {
  char *dir = beck_test_tmpdir("log-time");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.segment_bytes = 1024;
  cfg.index_interval_bytes = 64;
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 40; i++) {
    int64_t ts[4];
    for (int j = 0; j < 4; j++)
      ts[j] = 1000 + (int64_t)((i * 7919 + j * 104729) % 5000); /* out of order inside and across batches */
    beck_buf_t b = {0};
    beck_codec_t codec = i == 13 ? BECK_CODEC_GZIP : i == 27 ? BECK_CODEC_LZ4 : i == 33 ? BECK_CODEC_ZSTD
                                                                                      : BECK_CODEC_NONE;
    make_batch_ex(&b, i, 4, i * 10, ts, 0, 30, codec);
    append_ok(log, &b, &m);
    beck_buf_free(&b);
  }
  assert_true(beck_plog_segment_count(log) > 3);
  check_offsets_for_time(log, &m, 0);
  beck_plog_close(log);
  /* the same answers from indexes loaded from their files */
  log = open_log(dir, &cfg, NULL);
  check_offsets_for_time(log, &m, 0);
  /* nothing below the log start is an answer */
  beck_error_t e;
  assert_int_equal(beck_plog_advance_start(log, 61, &e), 0);
  check_offsets_for_time(log, &m, 61);
  beck_plog_close(log);
  model_free(&m);
  beck_test_rmdir(dir);
}

/* ---- truncate, advance start ------------------------------------------------------- */

static void truncate_cuts_at_batch_boundaries_and_appends_continue(void **state) {
  char *dir = beck_test_tmpdir("log-trunc");
  beck_plog_config_t cfg = small_config();
  cfg.segment_bytes = 2048;
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 60; i++)
    append_batch(log, &m, i, 3, 1000 + i, 50);
  int32_t segs = beck_plog_segment_count(log);
  beck_error_t e;
  /* into the middle of batch 50: batch 50 and later go */
  assert_int_equal(beck_plog_truncate(log, m.base[50] + 1, &e), 0);
  model_truncate(&m, m.base[50] + 1);
  assert_int_equal(beck_plog_end_offset(log), 150);
  assert_int_equal(beck_plog_durable_offset(log) <= 150, 1);
  assert_log_matches(log, &m);
  beck_plog_append_info_t info = append_batch(log, &m, 70, 2, 5000, 50);
  assert_int_equal(info.base_offset, 150);
  assert_log_matches(log, &m);
  /* far back, into an earlier segment: later segments are deleted */
  assert_int_equal(beck_plog_truncate(log, m.base[10] + 2, &e), 0);
  model_truncate(&m, m.base[10] + 2);
  assert_int_equal(beck_plog_end_offset(log), 30);
  assert_true(beck_plog_segment_count(log) < segs);
  int64_t bases[64];
  size_t n = list_segments(dir, bases, 64);
  assert_int_equal((int32_t)n, beck_plog_segment_count(log));
  assert_true(bases[n - 1] <= 30);
  assert_log_matches(log, &m);
  /* a no-op at or past the end */
  assert_int_equal(beck_plog_truncate(log, 30, &e), 0);
  assert_int_equal(beck_plog_truncate(log, 1000, &e), 0);
  assert_int_equal(beck_plog_end_offset(log), 30);
  append_batch(log, &m, 80, 4, 6000, 50);
  beck_plog_close(log);
  log = open_log(dir, &cfg, NULL);
  assert_log_matches(log, &m);
  /* exactly at a segment base: that segment goes, the previous one is active again */
  for (int i = 0; i < 20; i++)
    append_batch(log, &m, 100 + i, 3, 7000, 50);
  n = list_segments(dir, bases, 64);
  assert_true(n >= 3);
  int64_t cut = bases[n - 1];
  assert_int_equal(beck_plog_truncate(log, cut, &e), 0);
  model_truncate(&m, cut);
  assert_int_equal(beck_plog_end_offset(log), cut);
  assert_int_equal(beck_plog_segment_count(log), (int32_t)n - 1);
  append_batch(log, &m, 200, 1, 8000, 50);
  assert_log_matches(log, &m);
  /* below the log start: refused */
  assert_int_equal(beck_plog_advance_start(log, 5, &e), 0);
  assert_int_equal(beck_plog_truncate(log, 4, &e), BECK_ERR_RANGE);
  beck_plog_close(log);
  log = open_log(dir, &cfg, NULL);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  model_free(&m);
  beck_test_rmdir(dir);
}

static void advance_start_persists_and_deletes_whole_segments(void **state) {
  char *dir = beck_test_tmpdir("log-start");
  beck_plog_config_t cfg = small_config();
  cfg.segment_bytes = 1024;
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 40; i++)
    append_batch(log, &m, i, 2, 1000 + i, 60);
  int64_t o = m.base[25] + 1;
  beck_error_t e;
  assert_int_equal(beck_plog_advance_start(log, o, &e), 0);
  assert_int_equal(beck_plog_start_offset(log), o);
  int64_t bases[64];
  size_t n = list_segments(dir, bases, 64);
  assert_true(bases[0] <= o);
  assert_true(n == 1 || bases[1] > o); /* only segments wholly below were deleted */
  assert_int_equal((int32_t)n, beck_plog_segment_count(log));
  char path[4096];
  snprintf(path, sizeof path, "%s/log-start-offset", dir);
  uint8_t *text;
  size_t tl = read_whole(path, &text);
  char want[32];
  snprintf(want, sizeof want, "%lld\n", (long long)o);
  assert_int_equal(tl, strlen(want));
  assert_memory_equal(text, want, tl);
  free(text);
  beck_plog_slice_t s;
  assert_int_equal(beck_plog_read(log, o - 1, 1, INT64_MAX, &s, &e), BECK_ERR_RANGE);
  assert_int_equal(beck_plog_read(log, o, 1, INT64_MAX, &s, &e), 0);
  assert_int_equal(s.first_offset, m.base[25]); /* the batch holding o, whole */
  beck_plog_slice_release(log, &s);
  assert_int_equal(beck_plog_advance_start(log, o - 1, &e), 0); /* never moves back */
  assert_int_equal(beck_plog_start_offset(log), o);
  assert_int_equal(beck_plog_advance_start(log, model_end(&m) + 1, &e), BECK_ERR_RANGE);
  beck_plog_close(log);
  log = open_log(dir, &cfg, NULL);
  assert_int_equal(beck_plog_start_offset(log), o);
  assert_log_matches(log, &m);
  /* everything: the log keeps one empty segment at the end */
  int64_t end = model_end(&m);
  assert_int_equal(beck_plog_advance_start(log, end, &e), 0);
  assert_int_equal(beck_plog_segment_count(log), 1);
  assert_int_equal(beck_plog_size_bytes(log), 0);
  assert_int_equal(beck_plog_start_offset(log), end);
  n = list_segments(dir, bases, 64);
  assert_int_equal(n, 1);
  assert_int_equal(bases[0], end);
  beck_plog_close(log);
  log = open_log(dir, &cfg, NULL);
  assert_int_equal(beck_plog_start_offset(log), end);
  assert_int_equal(beck_plog_end_offset(log), end);
  beck_plog_append_info_t info = append_batch(log, NULL, 1, 1, 1, 1);
  assert_int_equal(info.base_offset, end);
  beck_plog_close(log);
  model_free(&m);
  beck_test_rmdir(dir);
}

/* ---- rolling ------------------------------------------------------------------------- */

static void segments_roll_by_size(void **state) {
  char *dir = beck_test_tmpdir("log-rollsize");
  beck_buf_t b = {0};
  make_batch(&b, 1, 4, 100, 50);
  size_t x = b.len;
  beck_buf_free(&b);
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.segment_bytes = (int64_t)(3 * x);
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 10; i++)
    append_batch(log, &m, 1, 4, 100, 50); /* same size every time */
  int64_t bases[16];
  size_t n = list_segments(dir, bases, 16);
  assert_int_equal(n, 4);
  for (size_t i = 0; i < n; i++) {
    assert_int_equal(bases[i], (int64_t)i * 12);
    char p[4096];
    seg_file(p, sizeof p, dir, bases[i], ".log");
    assert_int_equal(file_size(p), (int64_t)(i < 3 ? 3 * x : x));
  }
  assert_log_matches(log, &m);
  beck_plog_close(log);
  model_free(&m);
  beck_test_rmdir(dir);
}

static void segments_roll_by_age_on_the_env_clock(void **state) {
  char *dir = beck_test_tmpdir("log-rollage");
  beck_fault_env_t *fe = beck_fault_env_new();
  beck_fault_env_set_time(fe, 1000000);
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.segment_ms = 1000;
  beck_plog_t *log = open_log(dir, &cfg, beck_fault_env(fe));
  model_t m = {0};
  append_batch(log, &m, 1, 1, 1, 10);
  beck_fault_env_advance(fe, 999);
  append_batch(log, &m, 2, 1, 1, 10);
  assert_int_equal(beck_plog_segment_count(log), 1);
  beck_fault_env_advance(fe, 1);
  beck_plog_append_info_t info = append_batch(log, &m, 3, 1, 1, 10);
  assert_int_equal(beck_plog_segment_count(log), 2);
  int64_t bases[8];
  assert_int_equal(list_segments(dir, bases, 8), 2);
  assert_int_equal(bases[1], info.base_offset); /* the new segment starts with this append */
  beck_fault_env_advance(fe, 5000); /* time alone does not roll */
  assert_int_equal(beck_plog_segment_count(log), 2);
  append_batch(log, &m, 4, 1, 1, 10);
  assert_int_equal(beck_plog_segment_count(log), 3);
  beck_error_t e;
  assert_int_equal(beck_plog_roll(log, &e), 0); /* explicit roll */
  assert_int_equal(beck_plog_segment_count(log), 4);
  assert_int_equal(beck_plog_roll(log, &e), 0); /* an empty active segment does not roll */
  assert_int_equal(beck_plog_segment_count(log), 4);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  model_free(&m);
  beck_fault_env_free(fe);
  beck_test_rmdir(dir);
}

static void segments_roll_when_the_offset_index_is_full(void **state) {
  char *dir = beck_test_tmpdir("log-rollidx");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.segment_index_bytes = 16; /* two entries */
  cfg.index_interval_bytes = 0; /* one entry per batch */
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 6; i++)
    append_batch(log, &m, i, 2, 1, 10);
  int64_t bases[8];
  assert_int_equal(list_segments(dir, bases, 8), 3);
  assert_int_equal(bases[0], 0);
  assert_int_equal(bases[1], 4);
  assert_int_equal(bases[2], 8);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  char p[4096];
  seg_file(p, sizeof p, dir, 4, ".index");
  assert_int_equal(file_size(p), 16);
  model_free(&m);
  beck_test_rmdir(dir);
}

/* ---- retention ------------------------------------------------------------------------ */

static void retention_by_size_deletes_oldest_sealed_segments(void **state) {
  char *dir = beck_test_tmpdir("log-retsize");
  beck_buf_t b = {0};
  make_batch(&b, 1, 2, 100, 40);
  int64_t x = (int64_t)b.len;
  beck_buf_free(&b);
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.segment_bytes = 2 * x;
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 10; i++)
    append_batch(log, &m, 1, 2, 100, 40);
  assert_int_equal(beck_plog_segment_count(log), 5);
  cfg.retention_bytes = 5 * x;
  beck_plog_set_config(log, &cfg);
  int32_t n;
  beck_error_t e;
  assert_int_equal(beck_plog_enforce_retention(log, 0, &n, &e), 0);
  assert_int_equal(n, 2);
  assert_int_equal(beck_plog_segment_count(log), 3);
  assert_int_equal(beck_plog_size_bytes(log), 6 * x);
  assert_int_equal(beck_plog_start_offset(log), 8);
  char p[4096];
  seg_file(p, sizeof p, dir, 0, ".log");
  assert_false(file_exists(p));
  seg_file(p, sizeof p, dir, 4, ".index");
  assert_false(file_exists(p));
  seg_file(p, sizeof p, dir, 8, ".log");
  assert_true(file_exists(p));
  assert_log_matches(log, &m);
  /* retention.bytes = 0 deletes every sealed segment but never the active one */
  cfg.retention_bytes = 0;
  beck_plog_set_config(log, &cfg);
  assert_int_equal(beck_plog_enforce_retention(log, 0, &n, &e), 0);
  assert_int_equal(n, 2);
  assert_int_equal(beck_plog_segment_count(log), 1);
  assert_int_equal(beck_plog_start_offset(log), 16);
  assert_int_equal(beck_plog_end_offset(log), 20);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  log = open_log(dir, &cfg, NULL);
  assert_int_equal(beck_plog_start_offset(log), 16);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  model_free(&m);
  beck_test_rmdir(dir);
}

static void retention_by_time_uses_the_segment_max_timestamp(void **state) {
  char *dir = beck_test_tmpdir("log-rettime");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.retention_ms = 2500;
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  beck_error_t e;
  for (int k = 0; k < 5; k++) { /* segment k holds timestamps 1000k .. 1000k + 500 */
    append_batch(log, &m, k, 1, 1000 * k + 500, 10);
    append_batch(log, &m, k, 2, 1000 * k, 10);
    assert_int_equal(beck_plog_roll(log, &e), 0);
  }
  append_batch(log, &m, 9, 1, 0, 10); /* the active segment, very old */
  int32_t n;
  assert_int_equal(beck_plog_enforce_retention(log, 6000, &n, &e), 0);
  assert_int_equal(n, 3); /* max ts 500, 1500, 2500 are older than 6000 - 2500; 3500 is not */
  assert_int_equal(beck_plog_start_offset(log), 9);
  assert_log_matches(log, &m);
  cfg.delete_retention = false; /* cleanup.policy=compact only: no deletion */
  beck_plog_set_config(log, &cfg);
  assert_int_equal(beck_plog_enforce_retention(log, 1000000, &n, &e), 0);
  assert_int_equal(n, 0);
  cfg.delete_retention = true;
  beck_plog_set_config(log, &cfg);
  assert_int_equal(beck_plog_enforce_retention(log, 1000000, &n, &e), 0);
  assert_int_equal(n, 2);
  assert_int_equal(beck_plog_segment_count(log), 1); /* the old active segment stays */
  assert_int_equal(beck_plog_start_offset(log), 15);
  assert_int_equal(beck_plog_end_offset(log), 16);
  beck_plog_close(log);
  model_free(&m);
  beck_test_rmdir(dir);
}

static void slice_keeps_a_deleted_segment_readable(void **state) {
  char *dir = beck_test_tmpdir("log-slice");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  beck_error_t e;
  append_batch(log, &m, 1, 5, 100, 100);
  assert_int_equal(beck_plog_roll(log, &e), 0);
  append_batch(log, &m, 2, 5, 100, 100);
  beck_plog_slice_t s;
  assert_int_equal(beck_plog_read(log, 2, 1, INT64_MAX, &s, &e), 0);
  cfg.retention_bytes = 0;
  beck_plog_set_config(log, &cfg);
  int32_t n;
  assert_int_equal(beck_plog_enforce_retention(log, 0, &n, &e), 0);
  assert_int_equal(n, 1);
  char p[4096];
  seg_file(p, sizeof p, dir, 0, ".log");
  assert_false(file_exists(p));
  uint8_t buf[1024];
  assert_int_equal(pread(s.fd, buf, s.len, s.file_pos), (ssize_t)s.len);
  assert_memory_equal(buf, m.bytes.data, m.len[0]);
  beck_plog_slice_release(log, &s);
  beck_plog_close(log);
  model_free(&m);
  beck_test_rmdir(dir);
}

/* ---- compaction ------------------------------------------------------------------------- */

typedef struct crec {
  int64_t offset;
  char key[16];
  char value[16]; /* "" with null_value */
  bool null_key, null_value;
} crec_t;

/* Appends one batch of (key, value) records; NULL key / value = null. */
static void append_kv(beck_plog_t *log, int64_t ts, int n, const char *const *kv, int64_t pid) {
  beck_batch_builder_t b;
  beck_batch_builder_init(&b);
  if (pid >= 0)
    beck_batch_builder_set_producer(&b, pid, 3, 10);
  for (int i = 0; i < n; i++) {
    const char *k = kv[2 * i], *v = kv[2 * i + 1];
    beck_batch_builder_add(&b, ts + i, k ? beck_nstr(k, (int32_t)strlen(k)) : beck_nstr_null(),
                           v ? beck_nstr(v, (int32_t)strlen(v)) : beck_nstr_null(), NULL, 0);
  }
  beck_batch_builder_finish(&b);
  beck_error_t e;
  if (beck_plog_append(log, b.buf.data, b.buf.len, NULL, &e))
    fail_msg("append: %s", e.msg);
  beck_batch_builder_free(&b);
}

/* Every record of the log, with batch headers checked (CRC, offsets). */
static size_t read_records(beck_plog_t *log, crec_t *out, size_t max) {
  beck_buf_t all = {0}, scratch = {0};
  read_all(log, &all);
  size_t n = 0, at = 0;
  int64_t prev_end = -1;
  while (at < all.len) {
    beck_batch_header_t h;
    beck_error_t e;
    beck_batch_header_decode(all.data + at, all.len - at, &h);
    size_t total = (size_t)beck_batch_total_size(&h);
    assert_int_equal(beck_batch_validate(all.data + at, total, false, &h, &e), 0);
    assert_true(h.base_offset >= prev_end);
    prev_end = beck_batch_last_offset(&h) + 1;
    beck_slice_t recs;
    assert_int_equal(beck_batch_records(all.data + at, total, &h, 1 << 24, &scratch, &recs, &e), 0);
    beck_record_iter_t it;
    beck_record_iter_init(&it, &h, recs.ptr, recs.len);
    beck_record_t r;
    while (beck_record_iter_next(&it, &r) == 1 && n < max) {
      crec_t *c = &out[n++];
      memset(c, 0, sizeof *c);
      c->offset = r.offset;
      assert_true(r.offset >= h.base_offset && r.offset <= beck_batch_last_offset(&h));
      c->null_key = r.key.ptr == NULL;
      c->null_value = r.value.ptr == NULL;
      if (!c->null_key)
        memcpy(c->key, r.key.ptr, (size_t)r.key.len);
      if (!c->null_value)
        memcpy(c->value, r.value.ptr, (size_t)r.value.len);
    }
    at += total;
  }
  beck_buf_free(&all);
  beck_buf_free(&scratch);
  return n;
}

static void assert_rec(const crec_t *r, int64_t offset, const char *key, const char *value) {
  assert_int_equal(r->offset, offset);
  if (key == NULL)
    assert_true(r->null_key);
  else
    assert_string_equal(r->key, key);
  if (value == NULL)
    assert_true(r->null_value);
  else
    assert_string_equal(r->value, value);
}

static void compaction_keeps_latest_value_per_key_at_original_offsets(void **state) {
  char *dir = beck_test_tmpdir("log-compact");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.compact = true;
  cfg.delete_retention_ms = 1000;
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  beck_error_t e;
  const char *b0[] = {"a", "1", "b", "1", "c", "1"}; /* offsets 0, 1, 2 */
  const char *b1[] = {"a", "2", NULL, "x"};          /* 3, 4 */
  const char *b2[] = {"b", "2", "c", NULL};          /* 5, 6 (tombstone for c) */
  const char *b3[] = {"a", "3"};                     /* 7 */
  const char *b4[] = {"b", "3"};                     /* 8, in the active segment */
  append_kv(log, 100, 3, b0, -1);
  append_kv(log, 200, 2, b1, 77);
  assert_int_equal(beck_plog_roll(log, &e), 0);
  append_kv(log, 5000, 2, b2, -1);
  assert_int_equal(beck_plog_roll(log, &e), 0);
  append_kv(log, 300, 1, b3, -1);
  assert_int_equal(beck_plog_roll(log, &e), 0);
  append_kv(log, 400, 1, b4, -1);
  assert_int_equal(beck_plog_sync(log, &e), 0);
  assert_int_equal(beck_plog_checkpoint(log, &e), 0);
  beck_buf_t before = {0};
  read_all(log, &before);

  beck_plog_compact_stats_t st;
  assert_int_equal(beck_plog_compact(log, 5500, &st, &e), 0); /* the tombstone (ts 5001) is recent */
  assert_int_equal(st.records_read, 8);
  assert_int_equal(st.records_kept, 3);
  assert_int_equal(st.tombstones_removed, 0);
  assert_true(st.bytes_after < st.bytes_before);
  crec_t r[16];
  assert_int_equal(read_records(log, r, 16), 4);
  assert_rec(&r[0], 4, NULL, "x");
  assert_rec(&r[1], 6, "c", NULL);
  assert_rec(&r[2], 7, "a", "3");
  assert_rec(&r[3], 8, "b", "3");
  assert_int_equal(beck_plog_end_offset(log), 9);
  assert_int_equal(beck_plog_start_offset(log), 0);
  /* the rebuilt batch keeps BaseOffset, LastOffsetDelta and the producer fields */
  beck_buf_t after = {0};
  read_all(log, &after);
  beck_batch_header_t h;
  beck_batch_header_decode(after.data, after.len, &h);
  assert_int_equal(h.base_offset, 3);
  assert_int_equal(h.last_offset_delta, 1);
  assert_int_equal(h.records_count, 1);
  assert_int_equal(h.producer_id, 77);
  assert_int_equal(h.producer_epoch, 3);
  assert_int_equal(h.base_sequence, 10);
  /* an untouched batch is byte-for-byte the original (a=3 at offset 7) */
  beck_plog_slice_t s;
  assert_int_equal(beck_plog_read(log, 7, 1, INT64_MAX, &s, &e), 0);
  uint8_t buf[256];
  assert_int_equal(pread(s.fd, buf, s.len, s.file_pos), (ssize_t)s.len);
  assert_true(memmem(before.data, before.len, buf, s.len) != NULL);
  beck_plog_slice_release(log, &s);
  /* reads inside a removed range land on the next batch */
  assert_int_equal(beck_plog_read(log, 0, 1, INT64_MAX, &s, &e), 0);
  assert_int_equal(s.first_offset, 3);
  beck_plog_slice_release(log, &s);
  assert_int_equal(beck_plog_read(log, 5, 1, INT64_MAX, &s, &e), 0);
  assert_int_equal(s.first_offset, 5);
  beck_plog_slice_release(log, &s);

  /* later, the tombstone is old enough to go; its segment becomes empty */
  assert_int_equal(beck_plog_compact(log, 7000, &st, &e), 0);
  assert_int_equal(st.records_read, 3);
  assert_int_equal(st.records_kept, 2);
  assert_int_equal(st.tombstones_removed, 1);
  assert_int_equal(read_records(log, r, 16), 3);
  assert_rec(&r[0], 4, NULL, "x");
  assert_rec(&r[1], 7, "a", "3");
  assert_rec(&r[2], 8, "b", "3");
  assert_int_equal(beck_plog_read(log, 5, 1, INT64_MAX, &s, &e), 0);
  assert_int_equal(s.first_offset, 7);
  beck_plog_slice_release(log, &s);
  int64_t off, ts;
  assert_int_equal(beck_plog_offset_for_time(log, 250, &off, &ts, &e), 0);
  assert_int_equal(off, 7);
  beck_plog_close(log);
  log = open_log(dir, &cfg, NULL);
  assert_int_equal(read_records(log, r, 16), 3);
  assert_rec(&r[1], 7, "a", "3");
  assert_int_equal(beck_plog_start_offset(log), 0);
  assert_int_equal(beck_plog_end_offset(log), 9);
  assert_int_equal(beck_plog_verify(log, &e), 0);
  /* appends go on after compaction */
  const char *b5[] = {"a", "4"};
  append_kv(log, 600, 1, b5, -1);
  assert_int_equal(beck_plog_end_offset(log), 10);
  beck_plog_close(log);
  beck_buf_free(&before);
  beck_buf_free(&after);
  beck_test_rmdir(dir);
}

static void compaction_rebuilds_compressed_batches_with_their_codec(void **state) {
  char *dir = beck_test_tmpdir("log-compactz");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.compact = true;
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  beck_batch_builder_t b;
  beck_batch_builder_init(&b);
  beck_batch_builder_add(&b, 10, beck_nstr("x", 1), beck_nstr("x1", 2), NULL, 0);
  beck_batch_builder_add(&b, 11, beck_nstr("y", 1), beck_nstr("y1", 2), NULL, 0);
  beck_record_header_t hdr = {beck_slice("h", 1), beck_nstr("hv", 2)};
  beck_batch_builder_add(&b, 12, beck_nstr("x", 1), beck_nstr("x2", 2), &hdr, 1);
  beck_error_t e;
  assert_int_equal(beck_batch_builder_finish_compressed(&b, BECK_CODEC_GZIP, &e), 0);
  assert_int_equal(beck_plog_append(log, b.buf.data, b.buf.len, NULL, &e), 0);
  beck_batch_builder_free(&b);
  assert_int_equal(beck_plog_compact(log, 0, NULL, &e), 0); /* nothing sealed yet: nothing changes */
  assert_int_equal(beck_plog_roll(log, &e), 0);
  append_batch(log, NULL, 1, 1, 100, 5);
  assert_int_equal(beck_plog_sync(log, &e), 0);
  assert_int_equal(beck_plog_checkpoint(log, &e), 0);
  beck_plog_compact_stats_t st;
  assert_int_equal(beck_plog_compact(log, 0, &st, &e), 0);
  assert_int_equal(st.records_read, 3);
  assert_int_equal(st.records_kept, 2);
  beck_buf_t all = {0};
  assert_int_equal(beck_plog_read_copy(log, 0, 1, INT64_MAX, &all, &e), 0);
  beck_batch_header_t h;
  assert_int_equal(beck_batch_validate(all.data, all.len, false, &h, &e), 0);
  assert_int_equal(beck_batch_codec(&h), BECK_CODEC_GZIP);
  assert_int_equal(h.base_offset, 0);
  assert_int_equal(h.last_offset_delta, 2);
  assert_int_equal(h.records_count, 2);
  crec_t r[8];
  assert_int_equal(read_records(log, r, 8), 3);
  assert_rec(&r[0], 1, "y", "y1");
  assert_rec(&r[1], 2, "x", "x2");
  assert_rec(&r[2], 3, "k100", "v1-0-");
  beck_buf_free(&all);
  /* a topic without cleanup.policy=compact is never compacted */
  cfg.compact = false;
  beck_plog_set_config(log, &cfg);
  assert_int_equal(beck_plog_compact(log, 0, NULL, &e), BECK_ERR_STATE);
  beck_plog_close(log);
  beck_test_rmdir(dir);
}

static void compaction_leaves_an_open_slice_readable(void **state) {
  char *dir = beck_test_tmpdir("log-compacts");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.compact = true;
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  beck_error_t e;
  const char *b0[] = {"a", "1", "b", "1"};
  const char *b1[] = {"a", "2"};
  append_kv(log, 100, 2, b0, -1);
  assert_int_equal(beck_plog_roll(log, &e), 0);
  append_kv(log, 100, 1, b1, -1);
  assert_int_equal(beck_plog_sync(log, &e), 0);
  assert_int_equal(beck_plog_checkpoint(log, &e), 0);
  beck_buf_t orig = {0};
  assert_int_equal(beck_plog_read_copy(log, 0, 1, INT64_MAX, &orig, &e), 0);
  beck_plog_slice_t s;
  assert_int_equal(beck_plog_read(log, 0, 1, INT64_MAX, &s, &e), 0);
  assert_int_equal(beck_plog_compact(log, 0, NULL, &e), 0);
  uint8_t buf[512];
  assert_int_equal(pread(s.fd, buf, s.len, s.file_pos), (ssize_t)s.len); /* the old file, still whole */
  assert_int_equal(s.len, orig.len);
  assert_memory_equal(buf, orig.data, orig.len);
  beck_plog_slice_release(log, &s);
  crec_t r[8];
  assert_int_equal(read_records(log, r, 8), 2);
  assert_rec(&r[0], 1, "b", "1");
  assert_rec(&r[1], 2, "a", "2");
  beck_buf_free(&orig);
  beck_plog_close(log);
  beck_test_rmdir(dir);
}

/* ---- recovery ------------------------------------------------------------------------------ */

typedef struct crash_fixture {
  char *dir;      /* the crashed directory (kept as a template) */
  model_t m;
  int64_t ckpt_seg; /* recovery point: start of this segment */
  int64_t bases[64];
  size_t nsegs;
  beck_plog_config_t cfg;
} crash_fixture_t;

/* A log whose last two segments were not synced at the "crash": the
 * recovery point names the start of the second-to-last segment. */
static void make_crash_fixture(crash_fixture_t *f, const char *tag) {
  memset(f, 0, sizeof *f);
  f->dir = beck_test_tmpdir(tag);
  f->cfg = small_config();
  f->cfg.segment_bytes = 8192;
  beck_plog_t *log = open_log(f->dir, &f->cfg, NULL);
  for (int i = 0; i < 90; i++)
    append_batch(log, &f->m, i, 1 + i % 4, 1000 + i, 40 + (i * 53) % 300);
  beck_plog_close(log);
  f->nsegs = list_segments(f->dir, f->bases, 64);
  assert_true(f->nsegs >= 4);
  f->ckpt_seg = f->bases[f->nsegs - 2];
  char p[4096], text[96];
  snprintf(p, sizeof p, "%s/recovery-point", f->dir);
  snprintf(text, sizeof text, "%lld %lld 0\n", (long long)f->ckpt_seg, (long long)f->ckpt_seg);
  write_text(p, text);
  snprintf(p, sizeof p, "%s/clean-shutdown", f->dir);
  assert_int_equal(unlink(p), 0);
}

static void free_crash_fixture(crash_fixture_t *f) {
  model_free(&f->m);
  beck_test_rmdir(f->dir);
}

/* The model position (in the concatenated log) where a segment starts. */
static size_t model_pos_of_segment(const model_t *m, int64_t base) { return m->pos[model_batch_of(m, base)]; }

/* Opens the trial copy and checks it ends exactly after the last whole batch
 * before model position `cut_pos`, with every byte before it intact. */
static void check_recovered(const char *trial, crash_fixture_t *f, size_t cut_pos) {
  model_t m = {0};
  beck_buf_append(&m.bytes, f->m.bytes.data, f->m.bytes.len);
  m.n = f->m.n;
  memcpy(m.base, f->m.base, sizeof m.base);
  memcpy(m.last, f->m.last, sizeof m.last);
  memcpy(m.pos, f->m.pos, sizeof m.pos);
  memcpy(m.len, f->m.len, sizeof m.len);
  while (m.n > 0 && m.pos[m.n - 1] + m.len[m.n - 1] > cut_pos)
    m.n--;
  m.bytes.len = m.n ? m.pos[m.n - 1] + m.len[m.n - 1] : 0;
  beck_plog_t *log = open_log(trial, &f->cfg, NULL);
  beck_error_t why;
  if (beck_plog_fenced(log, &why))
    fail_msg("fenced: %s", why.msg);
  assert_int_equal(beck_plog_end_offset(log), model_end(&m));
  assert_int_equal(beck_plog_durable_offset(log), model_end(&m));
  assert_log_matches(log, &m);
  beck_plog_append_info_t info = append_batch(log, &m, 7777, 2, 1, 10);
  assert_int_equal(info.base_offset, model_end(&m) - 2);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  log = open_log(trial, &f->cfg, NULL);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  model_free(&m);
}

static uint64_t rng_next(uint64_t *s) {
  *s ^= *s << 13;
  *s ^= *s >> 7;
  *s ^= *s << 17;
  return *s;
}

static void recovery_cuts_a_torn_tail_at_any_position(void **state) {
  crash_fixture_t f;
  make_crash_fixture(&f, "log-torn");
  size_t from = model_pos_of_segment(&f.m, f.ckpt_seg);
  size_t span = f.m.bytes.len - from;
  uint64_t rng = 0x9e3779b97f4a7c15ull;
  char *trials = beck_test_tmpdir("log-torn-trials");
  for (int t = 0; t < 200; t++) {
    size_t cut = from + (t == 0 ? 0 : t == 1 ? span : (size_t)(rng_next(&rng) % span));
    if (t % 17 == 3) { /* land exactly on a batch boundary now and then */
      size_t kb = model_batch_of(&f.m, f.ckpt_seg + t / 4);
      cut = kb < f.m.n ? f.m.pos[kb] : f.m.bytes.len;
    }
    char trial[4096];
    snprintf(trial, sizeof trial, "%s/t%d", trials, t);
    copy_dir(f.dir, trial);
    /* cut the concatenated log at `cut`: the segment holding it is cut, later ones lose everything */
    for (size_t k = 0; k < f.nsegs; k++) {
      size_t seg_from = model_pos_of_segment(&f.m, f.bases[k]);
      size_t seg_to = k + 1 < f.nsegs ? model_pos_of_segment(&f.m, f.bases[k + 1]) : f.m.bytes.len;
      char p[4096];
      seg_file(p, sizeof p, trial, f.bases[k], ".log");
      if (seg_from >= from && cut < seg_to) /* later segment files exist but lost their bytes */
        truncate_file(p, cut > seg_from ? (int64_t)(cut - seg_from) : 0);
    }
    check_recovered(trial, &f, cut);
  }
  beck_test_rmdir(trials);
  free_crash_fixture(&f);
}

static void recovery_cuts_at_a_flipped_bit_in_the_unsynced_tail(void **state) {
  crash_fixture_t f;
  make_crash_fixture(&f, "log-flip");
  size_t from = model_pos_of_segment(&f.m, f.ckpt_seg);
  size_t span = f.m.bytes.len - from;
  uint64_t rng = 12345;
  char *trials = beck_test_tmpdir("log-flip-trials");
  for (int t = 0; t < 200; t++) {
    size_t at = from + (size_t)(rng_next(&rng) % span);
    int bit = (int)(rng_next(&rng) % 8);
    size_t k = model_batch_of(&f.m, 0);
    for (k = 0; k < f.m.n && f.m.pos[k] + f.m.len[k] <= at; k++)
      ;
    size_t in_batch = at - f.m.pos[k];
    if (in_batch >= BECK_BATCH_OFF_LEADER_EPOCH && in_batch < BECK_BATCH_OFF_MAGIC)
      continue; /* PartitionLeaderEpoch is outside the CRC and free to change */
    char trial[4096];
    snprintf(trial, sizeof trial, "%s/t%d", trials, t);
    copy_dir(f.dir, trial);
    size_t seg = 0;
    while (seg + 1 < f.nsegs && model_pos_of_segment(&f.m, f.bases[seg + 1]) <= at)
      seg++;
    char p[4096];
    seg_file(p, sizeof p, trial, f.bases[seg], ".log");
    flip_bit(p, (int64_t)(at - model_pos_of_segment(&f.m, f.bases[seg])), bit);
    check_recovered(trial, &f, f.m.pos[k]); /* ends right before the damaged batch */
  }
  beck_test_rmdir(trials);
  free_crash_fixture(&f);
}

static void write_be64_at(const char *path, int64_t pos, int64_t v) {
  uint8_t b[8];
  for (int i = 0; i < 8; i++)
    b[i] = (uint8_t)((uint64_t)v >> (56 - 8 * i));
  int fd = open(path, O_RDWR);
  assert_true(fd >= 0);
  assert_int_equal(pwrite(fd, b, 8, pos), 8);
  close(fd);
}

/* Found by fuzz_segment_recovery: BaseOffset lies outside the batch CRC and
 * recovery computed BaseOffset - segment base, which overflowed for a header
 * holding INT64_MIN (UBSan). Any BaseOffset outside the segment's 2^32
 * offsets, at either end of the int64 range, is now where recovery cuts in
 * the unsynced tail, and fences the log (with the reason) below it. */
static void recovery_stops_at_a_base_offset_outside_the_segment(void **state) {
  crash_fixture_t f;
  make_crash_fixture(&f, "log-wild-base");
  static const int64_t wild[] = {INT64_MIN, INT64_MIN + 1, -1, INT64_MAX, INT64_MAX - 1, (int64_t)1 << 40};
  char *trials = beck_test_tmpdir("log-wild-base-trials");
  int64_t last = f.bases[f.nsegs - 1];
  size_t victim = model_batch_of(&f.m, last) + 1; /* second batch of the last segment: above the recovery point */
  assert_true(victim < f.m.n);
  for (size_t w = 0; w < sizeof wild / sizeof wild[0]; w++) {
    char trial[4096], p[4096];
    snprintf(trial, sizeof trial, "%s/t%zu", trials, w);
    copy_dir(f.dir, trial);
    seg_file(p, sizeof p, trial, last, ".log");
    write_be64_at(p, (int64_t)(f.m.pos[victim] - model_pos_of_segment(&f.m, last)), wild[w]);
    check_recovered(trial, &f, f.m.pos[victim]); /* ends right before the damaged batch */
  }
  /* below the recovery point: fenced, nothing cut, the reason names the range */
  int64_t first = f.bases[1];
  size_t below = model_batch_of(&f.m, first) + 1;
  char trial[4096], p[4096];
  snprintf(trial, sizeof trial, "%s/below", trials);
  copy_dir(f.dir, trial);
  seg_file(p, sizeof p, trial, first, ".log");
  int64_t size = file_size(p);
  write_be64_at(p, (int64_t)(f.m.pos[below] - model_pos_of_segment(&f.m, first)), INT64_MIN);
  seg_file(p, sizeof p, trial, first, ".index"); /* so the scan walks over the damage */
  unlink(p);
  beck_plog_t *log = open_log(trial, &f.cfg, NULL);
  beck_error_t why;
  assert_true(beck_plog_fenced(log, &why));
  assert_non_null(strstr(why.msg, "outside the segment's offsets"));
  assert_int_equal(beck_plog_end_offset(log), f.m.base[below]);
  beck_plog_close(log);
  seg_file(p, sizeof p, trial, first, ".log");
  assert_int_equal(file_size(p), size);
  beck_test_rmdir(trials);
  free_crash_fixture(&f);
}

/* Found by fuzz_segment_recovery: a later segment file whose base lies
 * inside the previous segment (empty, or with a torn tail of its own) was
 * kept, so the log end fell below offsets already stored and appends would
 * have reused them. Such a segment is bad from its first byte. */
static void recovery_drops_a_segment_that_overlaps_the_previous_one(void **state) {
  for (int variant = 0; variant < 2; variant++) {
    char *dir = beck_test_tmpdir("log-overlap");
    beck_plog_config_t cfg;
    beck_plog_config_default(&cfg);
    cfg.segment_ms = INT64_MAX / 2;
    beck_plog_t *log = open_log(dir, &cfg, NULL);
    model_t m = {0};
    beck_error_t e;
    for (int i = 0; i < 3; i++)
      append_batch(log, &m, i, 3, 1, 40);
    beck_plog_close(log);
    char p[4096];
    snprintf(p, sizeof p, "%s/recovery-point", dir); /* never synced: every batch is checked */
    unlink(p);
    snprintf(p, sizeof p, "%s/clean-shutdown", dir);
    unlink(p);
    seg_file(p, sizeof p, dir, 4, ".log");
    beck_buf_t b = {0};
    if (variant == 1) { /* a valid batch at its base, then a torn one */
      make_batch(&b, 9, 2, 1, 30);
      beck_batch_set_base_offset(b.data, 4);
      beck_buf_append(&b, b.data, 20);
    }
    FILE *f = fopen(p, "wb");
    assert_non_null(f);
    if (b.len)
      assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
    fclose(f);
    log = open_log(dir, &cfg, NULL);
    assert_false(beck_plog_fenced(log, NULL));
    assert_int_equal(beck_plog_end_offset(log), 9);
    assert_false(file_exists(p));
    assert_log_matches(log, &m);
    beck_plog_append_info_t info = append_batch(log, &m, 7, 2, 1, 40);
    assert_int_equal(info.base_offset, 9);
    assert_int_equal(beck_plog_sync(log, &e), 0);
    assert_log_matches(log, &m);
    beck_plog_close(log);
    beck_buf_free(&b);
    model_free(&m);
    beck_test_rmdir(dir);
  }
}

static void recovery_after_a_real_crash_keeps_synced_data(void **state) {
  /* A copy of the directory taken while the log is open and not closed is
   * what a kill -9 leaves behind (page cache included). */
  char *dir = beck_test_tmpdir("log-crash");
  beck_plog_config_t cfg = small_config();
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  beck_error_t e;
  for (int i = 0; i < 40; i++) {
    append_batch(log, &m, i, 3, 1000 + i, 80);
    if (i % 10 == 9)
      assert_int_equal(beck_plog_sync(log, &e), 0);
  }
  char crashed[4096];
  snprintf(crashed, sizeof crashed, "%s-crashed", dir);
  copy_dir(dir, crashed);
  beck_plog_close(log);
  log = open_log(crashed, &cfg, NULL);
  assert_false(beck_plog_fenced(log, NULL));
  assert_log_matches(log, &m);
  assert_int_equal(beck_plog_verify(log, &e), 0);
  beck_plog_close(log);
  model_free(&m);
  beck_test_rmdir(strdup(crashed));
  beck_test_rmdir(dir);
}

static void damaged_or_missing_indexes_are_rebuilt(void **state) {
  char *dir = beck_test_tmpdir("log-index");
  beck_plog_config_t cfg = small_config();
  cfg.index_interval_bytes = 128;
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 80; i++)
    append_batch(log, &m, i, 2, 1000 + (i * 31) % 200, 60 + i % 50);
  beck_plog_close(log);
  int64_t bases[64];
  size_t n = list_segments(dir, bases, 64);
  assert_true(n >= 4);
  /* remember the index files as written */
  uint8_t *orig_idx[64], *orig_tim[64];
  size_t orig_idx_len[64], orig_tim_len[64];
  for (size_t k = 0; k < n; k++) {
    char p[4096];
    seg_file(p, sizeof p, dir, bases[k], ".index");
    orig_idx_len[k] = read_whole(p, &orig_idx[k]);
    seg_file(p, sizeof p, dir, bases[k], ".timeindex");
    orig_tim_len[k] = read_whole(p, &orig_tim[k]);
    assert_true(orig_idx_len[k] > 8);
  }
  /* every read at every offset and every timestamp lookup, exact */
  for (int scenario = 0; scenario < 3; scenario++) {
    char p[4096];
    if (scenario == 0) {
      for (size_t k = 0; k < n; k++) { /* all gone */
        seg_file(p, sizeof p, dir, bases[k], ".index");
        unlink(p);
        seg_file(p, sizeof p, dir, bases[k], ".timeindex");
        unlink(p);
      }
    } else if (scenario == 1) {
      seg_file(p, sizeof p, dir, bases[0], ".index"); /* not monotonic */
      int fd = open(p, O_RDWR);
      uint8_t ff[8] = {0xff, 0xff, 0xff, 0xff, 0, 0, 0, 1};
      assert_int_equal(pwrite(fd, ff, 8, 8), 8);
      close(fd);
      seg_file(p, sizeof p, dir, bases[1], ".index"); /* not a whole number of entries */
      truncate_file(p, (int64_t)orig_idx_len[1] - 3);
      seg_file(p, sizeof p, dir, bases[2], ".timeindex"); /* garbage */
      fd = open(p, O_RDWR);
      uint8_t junk[24];
      for (int i = 0; i < 24; i++)
        junk[i] = (uint8_t)(i * 73 + 5);
      assert_int_equal(pwrite(fd, junk, 24, 0), 24);
      close(fd);
      seg_file(p, sizeof p, dir, bases[3], ".index"); /* a position beyond the file */
      fd = open(p, O_RDWR);
      uint8_t big[4] = {0x7f, 0, 0, 0};
      assert_int_equal(pwrite(fd, big, 4, (off_t)orig_idx_len[3] - 4), 4);
      close(fd);
    } else {
      /* plausible but wrong: one entry outside the 8 sampled on open (first,
       * last, evenly spaced), still increasing, pointing one byte into its
       * batch - caught on first use */
      for (size_t k = 0; k < n; k++) {
        seg_file(p, sizeof p, dir, bases[k], ".index");
        uint8_t *d;
        size_t len = read_whole(p, &d), ne = len / 8, victim = 0;
        assert_true(ne >= 9);
        for (size_t i = 1; i + 1 < ne && victim == 0; i++) {
          bool sampled = false;
          for (size_t s = 0; s < 8; s++)
            sampled |= i == s * (ne - 1) / 7;
          if (!sampled)
            victim = i;
        }
        assert_true(victim > 0);
        beck_store_be32(d + victim * 8 + 4, beck_load_be32(d + victim * 8 + 4) + 1);
        FILE *fp = fopen(p, "wb");
        fwrite(d, 1, len, fp);
        fclose(fp);
        free(d);
      }
    }
    log = open_log(dir, &cfg, NULL);
    assert_log_matches(log, &m);
    for (int64_t o = 0; o < model_end(&m); o++) {
      size_t k = model_batch_of(&m, o);
      beck_plog_slice_t s;
      beck_error_t e;
      assert_int_equal(beck_plog_read(log, o, 1, INT64_MAX, &s, &e), 0);
      assert_int_equal(s.first_offset, m.base[k]);
      assert_int_equal(s.len, m.len[k]);
      beck_plog_slice_release(log, &s);
    }
    check_offsets_for_time(log, &m, 0);
    beck_plog_close(log);
    /* rebuilt index files are the same bytes as the originals */
    for (size_t k = 0; k < n; k++) {
      uint8_t *d;
      seg_file(p, sizeof p, dir, bases[k], ".index");
      size_t len = read_whole(p, &d);
      assert_int_equal(len, orig_idx_len[k]);
      assert_memory_equal(d, orig_idx[k], len);
      free(d);
      seg_file(p, sizeof p, dir, bases[k], ".timeindex");
      len = read_whole(p, &d);
      assert_int_equal(len, orig_tim_len[k]);
      assert_memory_equal(d, orig_tim[k], len);
      free(d);
    }
  }
  for (size_t k = 0; k < n; k++) {
    free(orig_idx[k]);
    free(orig_tim[k]);
  }
  model_free(&m);
  beck_test_rmdir(dir);
}

static void corruption_below_the_recovery_point_fences_without_cutting(void **state) {
  char *dir = beck_test_tmpdir("log-below");
  beck_plog_config_t cfg = small_config();
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 50; i++)
    append_batch(log, &m, i, 2, 1000 + i, 100);
  beck_plog_close(log);
  int64_t bases[64];
  size_t n = list_segments(dir, bases, 64);
  char backup[4096];
  snprintf(backup, sizeof backup, "%s-backup", dir);
  copy_dir(dir, backup);

  /* 1. after a clean close the last segment lost its last 10 bytes */
  char p[4096];
  seg_file(p, sizeof p, dir, bases[n - 1], ".log");
  int64_t size = file_size(p);
  truncate_file(p, size - 10);
  log = open_log(dir, &cfg, NULL);
  beck_error_t why, e;
  assert_true(beck_plog_fenced(log, &why));
  assert_non_null(strstr(why.msg, "shorter than the recovery point"));
  assert_non_null(strstr(why.msg, "read-only"));
  char name[32];
  snprintf(name, sizeof name, "%020lld.log", (long long)bases[n - 1]);
  assert_non_null(strstr(why.msg, name));
  model_t pre = {0};
  model_add(&pre, m.bytes.data, m.bytes.len - m.len[m.n - 1]); /* all but the damaged last batch */
  assert_log_matches(log, &pre);
  beck_buf_t b = {0};
  make_batch(&b, 1, 1, 1, 1);
  assert_int_equal(beck_plog_append(log, b.data, b.len, NULL, &e), BECK_ERR_FENCED);
  assert_int_equal(beck_plog_sync(log, &e), BECK_ERR_FENCED);
  assert_int_equal(beck_plog_truncate(log, 3, &e), BECK_ERR_FENCED);
  assert_int_equal(beck_plog_advance_start(log, 3, &e), BECK_ERR_FENCED);
  beck_plog_close(log);
  assert_int_equal(file_size(p), size - 10); /* never cut */

  /* 2. unclean, with a garbled header in a sealed segment below the recovery point */
  beck_test_rmdir(strdup(dir));
  copy_dir(backup, dir);
  snprintf(p, sizeof p, "%s/clean-shutdown", dir);
  unlink(p);
  size_t victim = model_batch_of(&m, bases[1]) + 1; /* second batch of segment 1 */
  seg_file(p, sizeof p, dir, bases[1], ".log");
  size = file_size(p);
  flip_bit(p, (int64_t)(m.pos[victim] - m.pos[model_batch_of(&m, bases[1])]) + BECK_BATCH_OFF_MAGIC, 3);
  seg_file(p, sizeof p, dir, bases[1], ".index"); /* so the scan walks over the damage */
  unlink(p);
  log = open_log(dir, &cfg, NULL);
  assert_true(beck_plog_fenced(log, &why));
  snprintf(name, sizeof name, "%020lld.log", (long long)bases[1]);
  assert_non_null(strstr(why.msg, name));
  char off[48];
  snprintf(off, sizeof off, "offset %lld", (long long)m.base[victim]);
  assert_non_null(strstr(why.msg, off));
  assert_int_equal(beck_plog_end_offset(log), m.base[victim]);
  beck_plog_close(log);
  seg_file(p, sizeof p, dir, bases[1], ".log");
  assert_int_equal(file_size(p), size);
  for (size_t k = 2; k < n; k++) { /* later segments are left alone */
    seg_file(p, sizeof p, dir, bases[k], ".log");
    assert_true(file_exists(p));
  }

  /* 3. a flipped bit inside a record below the recovery point: verify finds it */
  beck_test_rmdir(strdup(dir));
  copy_dir(backup, dir);
  seg_file(p, sizeof p, dir, bases[2], ".log");
  flip_bit(p, 100, 1);
  log = open_log(dir, &cfg, NULL);
  assert_false(beck_plog_fenced(log, NULL)); /* not read on open */
  assert_int_equal(beck_plog_verify(log, &e), BECK_ERR_CORRUPT);
  snprintf(name, sizeof name, "%020lld.log", (long long)bases[2]);
  assert_non_null(strstr(e.msg, name));
  assert_non_null(strstr(e.msg, "CRC"));
  snprintf(off, sizeof off, "offset %lld", (long long)bases[2]);
  assert_non_null(strstr(e.msg, off));
  assert_true(beck_plog_fenced(log, &why));
  assert_int_equal(beck_plog_append(log, b.data, b.len, NULL, &e), BECK_ERR_FENCED);
  beck_plog_close(log);

  beck_buf_free(&b);
  model_free(&m);
  model_free(&pre);
  beck_test_rmdir(strdup(backup));
  beck_test_rmdir(dir);
}

static void unparseable_recovery_point_checks_everything_and_keeps_sealed_data(void **state) {
  char *dir = beck_test_tmpdir("log-badckpt");
  beck_plog_config_t cfg = small_config();
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 40; i++)
    append_batch(log, &m, i, 2, 1000 + i, 100);
  beck_plog_close(log);
  int64_t bases[64];
  size_t n = list_segments(dir, bases, 64);
  char p[4096];
  snprintf(p, sizeof p, "%s/recovery-point", dir);
  write_text(p, "garbage\n");
  snprintf(p, sizeof p, "%s/clean-shutdown", dir);
  unlink(p);
  /* a torn tail in the active segment is still cut */
  seg_file(p, sizeof p, dir, bases[n - 1], ".log");
  truncate_file(p, file_size(p) - 7);
  log = open_log(dir, &cfg, NULL);
  assert_false(beck_plog_fenced(log, NULL));
  model_truncate(&m, m.base[m.n - 1]);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  snprintf(p, sizeof p, "%s/recovery-point", dir);
  uint8_t *text;
  size_t tl = read_whole(p, &text); /* rewritten at the recovered end */
  char want[96];
  snprintf(want, sizeof want, "%lld %lld %zu\n", (long long)model_end(&m), (long long)bases[n - 1],
           m.bytes.len - model_pos_of_segment(&m, bases[n - 1]));
  assert_int_equal(tl, strlen(want));
  assert_memory_equal(text, want, tl);
  free(text);
  /* but damage in a sealed segment is not taken for a torn tail */
  write_text(p, "x\n");
  snprintf(p, sizeof p, "%s/clean-shutdown", dir);
  unlink(p);
  seg_file(p, sizeof p, dir, bases[0], ".log");
  int64_t size0 = file_size(p);
  truncate_file(p, size0 - 7);
  log = open_log(dir, &cfg, NULL);
  assert_true(beck_plog_fenced(log, NULL));
  beck_plog_close(log);
  assert_int_equal(file_size(p), size0 - 7);
  model_free(&m);
  beck_test_rmdir(dir);
}

static void segments_below_a_persisted_start_are_deleted_later(void **state) {
  char *dir = beck_test_tmpdir("log-startcrash");
  beck_plog_config_t cfg = small_config();
  cfg.delete_retention = false;
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 30; i++)
    append_batch(log, &m, i, 2, 1000 + i, 100);
  beck_plog_close(log);
  int64_t bases[64];
  size_t n = list_segments(dir, bases, 64);
  assert_true(n >= 3);
  /* a crash after log-start-offset was persisted, before the files went */
  char p[4096], text[32];
  snprintf(p, sizeof p, "%s/log-start-offset", dir);
  snprintf(text, sizeof text, "%lld\n", (long long)bases[2] + 1);
  write_text(p, text);
  log = open_log(dir, &cfg, NULL);
  assert_int_equal(beck_plog_start_offset(log), bases[2] + 1);
  assert_int_equal(beck_plog_segment_count(log), (int32_t)n);
  int32_t deleted;
  beck_error_t e;
  assert_int_equal(beck_plog_enforce_retention(log, 0, &deleted, &e), 0);
  assert_int_equal(deleted, 2);
  assert_int_equal(list_segments(dir, bases, 64), n - 2);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  model_free(&m);
  beck_test_rmdir(dir);
}

/* ---- failures and durability ---------------------------------------------------------------- */

static void fsync_failure_fences_and_acknowledges_nothing_unsynced(void **state) {
  char *dir = beck_test_tmpdir("log-fsync");
  beck_fault_env_t *fe = beck_fault_env_new();
  beck_fault_env_set_suffix(fe, ".log");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  beck_plog_t *log = open_log(dir, &cfg, beck_fault_env(fe));
  model_t m = {0};
  beck_error_t e, why;
  append_batch(log, &m, 1, 3, 1, 10);
  assert_int_equal(beck_plog_wait_durable(log, 3, &e), 0);
  assert_int_equal(beck_plog_durable_offset(log), 3);
  beck_fault_env_fail(fe, BECK_FAULT_FDATASYNC, 1, EIO, false);
  beck_plog_append_info_t info = append_batch(log, &m, 2, 4, 1, 10);
  assert_int_equal(info.last_offset, 6);
  long before = beck_fault_env_count(fe, BECK_FAULT_FDATASYNC);
  assert_int_equal(beck_plog_sync(log, &e), BECK_ERR_FENCED);
  assert_non_null(strstr(e.msg, "fsync of segment 00000000000000000000.log failed"));
  assert_non_null(strstr(e.msg, "read-only"));
  assert_int_equal(beck_plog_durable_offset(log), 3); /* nothing past the last good sync */
  assert_true(beck_plog_fenced(log, &why));
  assert_string_equal(why.msg, e.msg);
  /* never retried: later calls fail at once without touching the disk */
  assert_int_equal(beck_plog_sync(log, &e), BECK_ERR_FENCED);
  assert_int_equal(beck_plog_wait_durable(log, 7, &e), BECK_ERR_FENCED);
  assert_int_equal(beck_plog_wait_durable(log, 3, &e), 0); /* that much is durable */
  assert_int_equal(beck_fault_env_count(fe, BECK_FAULT_FDATASYNC), before + 1);
  beck_buf_t b = {0};
  make_batch(&b, 3, 1, 1, 1);
  assert_int_equal(beck_plog_append(log, b.data, b.len, NULL, &e), BECK_ERR_FENCED);
  assert_non_null(strstr(e.msg, "fsync of segment"));
  assert_int_equal(beck_plog_end_offset(log), 7);
  assert_int_equal(beck_plog_durable_offset(log), 3);
  assert_log_matches(log, &m); /* still readable */
  beck_plog_close(log);
  char p[4096];
  snprintf(p, sizeof p, "%s/clean-shutdown", dir);
  assert_false(file_exists(p)); /* a fenced log never claims a clean shutdown */
  log = open_log(dir, &cfg, NULL);
  assert_false(beck_plog_fenced(log, NULL));
  assert_true(beck_plog_end_offset(log) >= 3);
  beck_plog_close(log);
  beck_buf_free(&b);
  model_free(&m);
  beck_fault_env_free(fe);
  beck_test_rmdir(dir);
}

static void failed_or_short_write_leaves_no_partial_batch(void **state) {
  char *dir = beck_test_tmpdir("log-short");
  beck_fault_env_t *fe = beck_fault_env_new();
  beck_fault_env_set_suffix(fe, ".log");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.segment_ms = INT64_MAX / 2; /* the batches carry 1970 timestamps: no roll by age on reopen */
  beck_plog_t *log = open_log(dir, &cfg, beck_fault_env(fe));
  model_t m = {0};
  beck_error_t e;
  append_batch(log, &m, 1, 3, 1, 50);
  assert_int_equal(beck_plog_sync(log, &e), 0);
  char p[4096];
  seg_file(p, sizeof p, dir, 0, ".log");
  int64_t good = file_size(p);
  /* 1. half the bytes land, then EIO: cut back, fenced, nothing visible */
  beck_fault_env_short_write(fe, 1, EIO);
  beck_buf_t b = {0};
  make_batch(&b, 2, 5, 1, 200);
  assert_int_equal(beck_plog_append(log, b.data, b.len, NULL, &e), BECK_ERR_FENCED);
  assert_non_null(strstr(e.msg, "write of"));
  assert_non_null(strstr(e.msg, "read-only"));
  assert_int_equal(beck_plog_end_offset(log), 3);
  assert_int_equal(file_size(p), good);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  log = open_log(dir, &cfg, NULL);
  assert_false(beck_plog_fenced(log, NULL));
  assert_log_matches(log, &m);
  beck_plog_close(log);

  /* 2. ENOSPC after a partial write and the cut back fails too: the partial
   * batch stays in the file but is never visible, and recovery removes it */
  log = open_log(dir, &cfg, beck_fault_env(fe));
  beck_fault_env_short_write(fe, 1, ENOSPC);
  beck_fault_env_fail(fe, BECK_FAULT_FTRUNCATE, 1, EIO, true);
  b.len = 0;
  make_batch(&b, 3, 5, 1, 200);
  assert_int_equal(beck_plog_append(log, b.data, b.len, NULL, &e), BECK_ERR_FENCED);
  assert_non_null(strstr(e.msg, "No space left"));
  assert_true(file_size(p) > good);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  beck_fault_env_clear(fe);
  log = open_log(dir, &cfg, NULL);
  assert_false(beck_plog_fenced(log, NULL));
  assert_log_matches(log, &m);
  assert_int_equal(file_size(p), good);
  beck_plog_close(log);

  /* 3. a full disk (half lands, then ENOSPC, or ENOSPC at once) with the
   * cut back working: only that append fails, the log stays writable, and
   * the next append (space freed) goes on at the same offset */
  log = open_log(dir, &cfg, beck_fault_env(fe));
  append_batch(log, &m, 4, 2, 1, 50);
  for (int k = 0; k < 2; k++) {
    if (k == 0)
      beck_fault_env_short_write(fe, 1, ENOSPC);
    else
      beck_fault_env_fail(fe, BECK_FAULT_PWRITE, 1, EDQUOT, false);
    int64_t end = beck_plog_end_offset(log);
    int64_t before = file_size(p);
    b.len = 0;
    make_batch(&b, 5, 5, 1, 200);
    assert_int_equal(beck_plog_append(log, b.data, b.len, NULL, &e), BECK_ERR_NOSPACE);
    assert_non_null(strstr(e.msg, "nothing stored"));
    assert_false(beck_plog_fenced(log, NULL));
    assert_int_equal(beck_plog_end_offset(log), end);
    assert_int_equal(file_size(p), before);
    assert_log_matches(log, &m);
    beck_plog_append_info_t info = append_batch(log, &m, 6 + k, 3, 1, 100);
    assert_int_equal(info.base_offset, end);
    assert_int_equal(beck_plog_sync(log, &e), 0);
    assert_int_equal(beck_plog_durable_offset(log), end + 3);
    assert_log_matches(log, &m);
  }
  beck_plog_close(log);
  log = open_log(dir, &cfg, NULL);
  assert_false(beck_plog_fenced(log, NULL));
  assert_log_matches(log, &m);
  beck_plog_close(log);
  beck_buf_free(&b);
  model_free(&m);
  beck_fault_env_free(fe);
  beck_test_rmdir(dir);
}

/* After a clean open the marker stays until the first change (so opening
 * thousands of partitions costs no directory sync each); the first append
 * removes it before writing, so a crash after that runs recovery. */
static void clean_marker_stays_until_the_first_change(void **state) {
  char *dir = beck_test_tmpdir("log-marker");
  beck_plog_config_t cfg = small_config();
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 20; i++)
    append_batch(log, &m, i, 3, 1000 + i, 100);
  beck_plog_close(log);
  char marker[4096], ckpt[4096];
  snprintf(marker, sizeof marker, "%s/clean-shutdown", dir);
  snprintf(ckpt, sizeof ckpt, "%s/recovery-point", dir);
  assert_true(file_exists(marker));
  uint8_t *ck0;
  size_t ck0_len = read_whole(ckpt, &ck0);
  /* open and close without a change: marker and recovery point untouched */
  log = open_log(dir, &cfg, NULL);
  assert_true(file_exists(marker));
  assert_log_matches(log, &m);
  beck_plog_close(log);
  assert_true(file_exists(marker));
  uint8_t *ck1;
  assert_int_equal(read_whole(ckpt, &ck1), ck0_len);
  assert_memory_equal(ck0, ck1, ck0_len);
  free(ck1);
  /* a child opens, appends (acknowledged: fsync policy always) and dies without closing */
  pid_t pid = fork();
  assert_true(pid >= 0);
  if (pid == 0) {
    beck_plog_t *cl = open_log(dir, &cfg, NULL);
    if (!file_exists(marker))
      _exit(3);
    append_batch(cl, &m, 99, 5, 5000, 100);
    _exit(file_exists(marker) ? 4 : 0);
  }
  int status = 0;
  assert_int_equal(waitpid(pid, &status, 0), pid);
  assert_true(WIFEXITED(status));
  assert_int_equal(WEXITSTATUS(status), 0);
  assert_false(file_exists(marker));
  beck_buf_t cb = {0}; /* the model learns the child's batch */
  make_batch(&cb, 99, 5, 5000, 100);
  beck_batch_set_base_offset(cb.data, model_end(&m));
  model_add(&m, cb.data, cb.len);
  beck_buf_free(&cb);
  log = open_log(dir, &cfg, NULL);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  assert_true(file_exists(marker));
  free(ck0);
  model_free(&m);
  beck_test_rmdir(dir);
}

static void clean_close_skips_the_recovery_scan(void **state) {
  char *dir = beck_test_tmpdir("log-clean");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.segment_bytes = 256 * 1024;
  beck_plog_t *log = open_log(dir, &cfg, NULL);
  model_t m = {0};
  for (int i = 0; i < 300; i++)
    append_batch(log, &m, i, 8, 1000 + i, 400);
  beck_plog_close(log);
  int64_t total = (int64_t)m.bytes.len;
  assert_true(total > 900 * 1024);
  beck_fault_env_t *fe = beck_fault_env_new();
  beck_fault_env_set_suffix(fe, ".log");
  log = open_log(dir, &cfg, beck_fault_env(fe));
  int64_t clean_read = beck_fault_env_bytes(fe, BECK_FAULT_PREAD);
  assert_true(clean_read < 100 * 1024);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  /* without the marker and the recovery point every batch is CRC-checked */
  char p[4096];
  snprintf(p, sizeof p, "%s/clean-shutdown", dir);
  assert_true(file_exists(p));
  unlink(p);
  snprintf(p, sizeof p, "%s/recovery-point", dir);
  unlink(p);
  beck_fault_env_reset_counts(fe);
  log = open_log(dir, &cfg, beck_fault_env(fe));
  assert_true(beck_fault_env_bytes(fe, BECK_FAULT_PREAD) >= total);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  /* the marker alone is not enough: a recovery point that does not match means recovery */
  snprintf(p, sizeof p, "%s/recovery-point", dir);
  write_text(p, "0 0 0\n");
  beck_fault_env_reset_counts(fe);
  log = open_log(dir, &cfg, beck_fault_env(fe));
  assert_true(beck_fault_env_bytes(fe, BECK_FAULT_PREAD) >= total);
  assert_log_matches(log, &m);
  beck_plog_close(log);
  model_free(&m);
  beck_fault_env_free(fe);
  beck_test_rmdir(dir);
}

typedef struct gc_thread {
  beck_plog_t *log;
  int id;
  int n;
  int failures;
} gc_thread_t;

static void *gc_worker(void *arg) {
  gc_thread_t *t = arg;
  for (int i = 0; i < t->n; i++) {
    beck_batch_builder_t b;
    beck_batch_builder_init(&b);
    char key[16], val[16];
    int kl = snprintf(key, sizeof key, "t%d", t->id), vl = snprintf(val, sizeof val, "%d", i);
    beck_batch_builder_add(&b, i, beck_nstr(key, kl), beck_nstr(val, vl), NULL, 0);
    beck_batch_builder_finish(&b);
    beck_plog_append_info_t info;
    beck_error_t e;
    if (beck_plog_append(t->log, b.buf.data, b.buf.len, &info, &e))
      t->failures++;
    else if ((i % 2 ? beck_plog_wait_durable(t->log, info.last_offset + 1, &e) : beck_plog_sync(t->log, &e)))
      t->failures++;
    else if (beck_plog_durable_offset(t->log) < info.last_offset + 1)
      t->failures++;
    beck_batch_builder_free(&b);
  }
  return NULL;
}

static void group_commit_shares_fsyncs_between_threads(void **state) {
  char *dir = beck_test_tmpdir("log-group");
  beck_fault_env_t *fe = beck_fault_env_new();
  beck_fault_env_set_suffix(fe, ".log");
  beck_fault_env_set_sync_delay_us(fe, 2000);
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.segment_bytes = 8192; /* rolls while syncs run */
  beck_plog_t *log = open_log(dir, &cfg, beck_fault_env(fe));
  enum { THREADS = 8, EACH = 40 };
  pthread_t th[THREADS];
  gc_thread_t ts[THREADS];
  for (int i = 0; i < THREADS; i++) {
    ts[i] = (gc_thread_t){log, i, EACH, 0};
    pthread_create(&th[i], NULL, gc_worker, &ts[i]);
  }
  for (int i = 0; i < THREADS; i++) {
    pthread_join(th[i], NULL);
    assert_int_equal(ts[i].failures, 0);
  }
  assert_int_equal(beck_plog_end_offset(log), THREADS * EACH);
  assert_int_equal(beck_plog_durable_offset(log), THREADS * EACH);
  long fsyncs = beck_fault_env_count(fe, BECK_FAULT_FDATASYNC);
  assert_true(fsyncs < THREADS * EACH); /* syncs requested: THREADS * EACH */
  crec_t *r = calloc(THREADS * EACH, sizeof *r);
  assert_int_equal(read_records(log, r, THREADS * EACH), THREADS * EACH);
  int next[THREADS] = {0};
  for (int i = 0; i < THREADS * EACH; i++) {
    assert_int_equal(r[i].offset, i);
    int id = atoi(r[i].key + 1);
    assert_int_equal(atoi(r[i].value), next[id]); /* each thread's records in its order */
    next[id]++;
  }
  for (int i = 0; i < THREADS; i++)
    assert_int_equal(next[i], EACH);
  free(r);
  beck_plog_close(log);
  log = open_log(dir, &cfg, NULL);
  assert_int_equal(beck_plog_end_offset(log), THREADS * EACH);
  beck_plog_close(log);
  beck_fault_env_free(fe);
  beck_test_rmdir(dir);
}

static void interval_and_never_policies(void **state) {
  char *dir = beck_test_tmpdir("log-policy");
  beck_fault_env_t *fe = beck_fault_env_new();
  beck_fault_env_set_suffix(fe, ".log");
  beck_fault_env_set_time(fe, 10000);
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.fsync_policy = BECK_FSYNC_INTERVAL;
  cfg.fsync_interval_ms = 1000;
  beck_plog_t *log = open_log(dir, &cfg, beck_fault_env(fe));
  beck_error_t e;
  assert_false(beck_plog_sync_due(log, 20000)); /* nothing to sync */
  append_batch(log, NULL, 1, 2, 1, 10);
  assert_false(beck_plog_sync_due(log, 10999));
  assert_true(beck_plog_sync_due(log, 11000));
  assert_int_equal(beck_plog_wait_durable(log, 2, &e), 0); /* returns at once */
  assert_int_equal(beck_plog_durable_offset(log), 0);
  assert_int_equal(beck_plog_sync(log, &e), 0);
  assert_int_equal(beck_plog_durable_offset(log), 2);
  assert_false(beck_plog_sync_due(log, 20000));
  beck_plog_close(log);

  /* NEVER: nothing synced on append or wait, but a roll syncs */
  char *dir2 = beck_test_tmpdir("log-never");
  cfg.fsync_policy = BECK_FSYNC_NEVER;
  beck_buf_t b = {0};
  make_batch(&b, 1, 2, 1, 100);
  cfg.segment_bytes = (int64_t)b.len * 2;
  beck_buf_free(&b);
  log = open_log(dir2, &cfg, beck_fault_env(fe));
  beck_fault_env_reset_counts(fe);
  append_batch(log, NULL, 1, 2, 1, 100);
  assert_int_equal(beck_plog_wait_durable(log, 2, &e), 0);
  assert_int_equal(beck_plog_durable_offset(log), 0);
  append_batch(log, NULL, 1, 2, 1, 100);
  assert_int_equal(beck_fault_env_count(fe, BECK_FAULT_FDATASYNC), 0);
  assert_false(beck_plog_sync_due(log, 1000000));
  append_batch(log, NULL, 1, 2, 1, 100); /* rolls: synced */
  assert_int_equal(beck_plog_segment_count(log), 2);
  assert_int_equal(beck_plog_durable_offset(log), 6);
  assert_true(beck_fault_env_count(fe, BECK_FAULT_FDATASYNC) >= 1);
  beck_plog_close(log);
  beck_fault_env_free(fe);
  beck_test_rmdir(dir2);
  beck_test_rmdir(dir);
}

static void open_refuses_a_bad_configuration(void **state) {
  char *dir = beck_test_tmpdir("log-cfg");
  beck_plog_config_t cfg;
  beck_plog_config_default(&cfg);
  cfg.segment_bytes = 0;
  beck_plog_t *log = NULL;
  beck_error_t e;
  assert_int_equal(beck_plog_open(dir, &cfg, NULL, &log, &e), BECK_ERR_INVAL);
  assert_null(log);
  assert_non_null(strstr(e.msg, "segment.bytes"));
  beck_plog_config_default(&cfg);
  cfg.segment_index_bytes = 4;
  assert_int_equal(beck_plog_open(dir, &cfg, NULL, &log, &e), BECK_ERR_INVAL);
  beck_test_rmdir(dir);
}

int main(void) {
  if (getenv("BECK_LOG_LEVEL") == NULL)
    beck_log_set_level(BECK_LOG_ERROR);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(append_read_round_trip_exact_bytes_across_segments),
      cmocka_unit_test(read_honours_byte_limit_max_offset_and_range),
      cmocka_unit_test(append_refuses_invalid_batches_and_writes_nothing),
      cmocka_unit_test(log_append_time_stamps_batches_and_recomputes_crc),
      cmocka_unit_test(offset_for_time_finds_first_record_at_or_after),
      cmocka_unit_test(truncate_cuts_at_batch_boundaries_and_appends_continue),
      cmocka_unit_test(advance_start_persists_and_deletes_whole_segments),
      cmocka_unit_test(segments_roll_by_size),
      cmocka_unit_test(segments_roll_by_age_on_the_env_clock),
      cmocka_unit_test(segments_roll_when_the_offset_index_is_full),
      cmocka_unit_test(retention_by_size_deletes_oldest_sealed_segments),
      cmocka_unit_test(retention_by_time_uses_the_segment_max_timestamp),
      cmocka_unit_test(slice_keeps_a_deleted_segment_readable),
      cmocka_unit_test(compaction_keeps_latest_value_per_key_at_original_offsets),
      cmocka_unit_test(compaction_rebuilds_compressed_batches_with_their_codec),
      cmocka_unit_test(compaction_leaves_an_open_slice_readable),
      cmocka_unit_test(recovery_cuts_a_torn_tail_at_any_position),
      cmocka_unit_test(recovery_cuts_at_a_flipped_bit_in_the_unsynced_tail),
      cmocka_unit_test(recovery_stops_at_a_base_offset_outside_the_segment),
      cmocka_unit_test(recovery_drops_a_segment_that_overlaps_the_previous_one),
      cmocka_unit_test(recovery_after_a_real_crash_keeps_synced_data),
      cmocka_unit_test(damaged_or_missing_indexes_are_rebuilt),
      cmocka_unit_test(corruption_below_the_recovery_point_fences_without_cutting),
      cmocka_unit_test(unparseable_recovery_point_checks_everything_and_keeps_sealed_data),
      cmocka_unit_test(segments_below_a_persisted_start_are_deleted_later),
      cmocka_unit_test(fsync_failure_fences_and_acknowledges_nothing_unsynced),
      cmocka_unit_test(failed_or_short_write_leaves_no_partial_batch),
      cmocka_unit_test(clean_close_skips_the_recovery_scan),
      cmocka_unit_test(clean_marker_stays_until_the_first_change),
      cmocka_unit_test(group_commit_shares_fsyncs_between_threads),
      cmocka_unit_test(interval_and_never_policies),
      cmocka_unit_test(open_refuses_a_bad_configuration),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
