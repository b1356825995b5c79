/* test_file_connectors.c - connectors/file, stdout, datagen driven through
 * the host services (no topics): exact lines and offsets, restart resumes
 * after the last delivered line, rotation and truncation, JSON lines with
 * errors, file sink contents, datagen sequence, rate and Nexmark events (equal
 * to the shared generator's and to `beck bench nexmark --generate-only`). */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "generator.h"
#include "harness.h"
#include "tmpdir.h"

static void append_file(const char *path, const char *text) {
  FILE *f = fopen(path, "a");
  assert_non_null(f);
  fputs(text, f);
  fclose(f);
}

static char *read_file(const char *path) {
  FILE *f = fopen(path, "r");
  assert_non_null(f);
  static char buf[1 << 16];
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  buf[n] = '\0';
  fclose(f);
  return buf;
}

static unsigned long long inode_of(const char *path) {
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  return (unsigned long long)st.st_ino;
}

static void file_source_emits_complete_lines_and_resumes_after_last_delivered(void **state) {
  char *dir = beck_test_tmpdir("file-src");
  char path[512];
  snprintf(path, sizeof path, "%s/in.txt", dir);
  append_file(path, "alpha\nbeta\r\ngamma\npart");
  harness_offsets_t offs = {0};
  const char *kv[] = {"file.path", path, "poll.interval", "5ms", NULL};
  harness_t *h = harness_open("file-source", kv, &offs);
  assert_int_equal(harness_poll(h, 2), BECK_CONNECTOR_OK); /* a batch of two */
  assert_int_equal(h->nrecs, 2);
  assert_string_equal(h->recs[0].value, "alpha");
  assert_string_equal(h->recs[1].value, "beta"); /* CR dropped */
  assert_null(h->recs[0].key);
  char want[64];
  snprintf(want, sizeof want, "%llu:12", inode_of(path));
  assert_int_equal(offs.n, 1);
  assert_string_equal(offs.spart[0], path);
  assert_string_equal(offs.soff[0], want);
  harness_close(h); /* "crash" after delivering two lines */

  h = harness_open("file-source", kv, &offs);
  harness_poll_until(h, 1, 1000);
  assert_int_equal(h->nrecs, 1);
  assert_string_equal(h->recs[0].value, "gamma");
  /* the partial line waits for its newline */
  assert_int_equal(harness_poll(h, 100), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrecs, 1);
  append_file(path, "ial\nomega\n");
  harness_poll_until(h, 3, 1000);
  assert_int_equal(h->nrecs, 3);
  assert_string_equal(h->recs[1].value, "partial");
  assert_string_equal(h->recs[2].value, "omega");
  snprintf(want, sizeof want, "%llu:32", inode_of(path));
  assert_string_equal(offs.soff[0], want);
  harness_close(h);

  /* nothing new: a restart emits nothing */
  h = harness_open("file-source", kv, &offs);
  assert_int_equal(harness_poll(h, 100), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrecs, 0);
  harness_close(h);
  beck_test_rmdir(dir);
}

static void file_source_follows_rotation_and_truncation(void **state) {
  char *dir = beck_test_tmpdir("file-rot");
  char path[512], old[520];
  snprintf(path, sizeof path, "%s/app.log", dir);
  snprintf(old, sizeof old, "%s.1", path);
  append_file(path, "one\ntwo\n");
  harness_offsets_t offs = {0};
  const char *kv[] = {"file.path", path, "poll.interval", "5ms", NULL};
  harness_t *h = harness_open("file-source", kv, &offs);
  harness_poll_until(h, 2, 1000);
  /* the writer appends, then the file is rotated and the writer's last
   * unterminated line stays in the old file; a new file appears */
  append_file(path, "three\nfour-unterminated");
  assert_int_equal(rename(path, old), 0);
  append_file(path, "five\nsix\n");
  harness_poll_until(h, 6, 2000);
  assert_int_equal(h->nrecs, 6);
  const char *want[] = {"one", "two", "three", "four-unterminated", "five", "six"};
  for (int k = 0; k < 6; k++)
    assert_string_equal(h->recs[k].value, want[k]);
  char off[64];
  snprintf(off, sizeof off, "%llu:9", inode_of(path));
  assert_string_equal(offs.soff[0], off);

  /* copytruncate: same inode, shorter: read from the start */
  assert_int_equal(truncate(path, 0), 0);
  append_file(path, "seven\n");
  harness_poll_until(h, 7, 2000);
  assert_int_equal(h->nrecs, 7);
  assert_string_equal(h->recs[6].value, "seven");
  harness_close(h);
  beck_test_rmdir(dir);
}

static void file_source_waits_for_a_missing_file(void **state) {
  char *dir = beck_test_tmpdir("file-wait");
  char path[512];
  snprintf(path, sizeof path, "%s/later.txt", dir);
  const char *kv[] = {"file.path", path, "poll.interval", "5ms", NULL};
  harness_offsets_t offs = {0};
  harness_t *h = harness_open("file-source", kv, &offs);
  assert_int_equal(harness_poll(h, 10), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrecs, 0);
  append_file(path, "hello\n");
  harness_poll_until(h, 1, 1000);
  assert_string_equal(h->recs[0].value, "hello");
  harness_close(h);
  beck_test_rmdir(dir);
}

static void file_source_json_lines_report_bad_lines_and_take_keys(void **state) {
  char *dir = beck_test_tmpdir("file-json");
  char path[512];
  snprintf(path, sizeof path, "%s/in.jsonl", dir);
  append_file(path, "{\"id\":1,\"name\":\"a\"}\n\n{not json}\n{\"id\":\"x7\",\"name\":\"b\"}\n[1,2]\n");
  const char *kv[] = {"file.path", path, "format", "json", "key.field", "id", NULL};
  harness_offsets_t offs = {0};
  harness_t *h = harness_open("file-source", kv, &offs);
  harness_poll_until(h, 4, 1000);
  assert_int_equal(h->nrecs, 4);
  assert_string_equal(h->recs[0].key, "1");
  assert_string_equal(h->recs[0].value, "{\"id\":1,\"name\":\"a\"}");
  assert_null(h->recs[0].error);
  assert_string_equal(h->recs[1].value, "{not json}");
  assert_non_null(h->recs[1].error);
  assert_non_null(strstr(h->recs[1].error, "not JSON"));
  assert_string_equal(h->recs[2].key, "x7");
  assert_null(h->recs[3].key);
  assert_string_equal(h->recs[3].value, "[1,2]");
  harness_close(h);

  char msg[512];
  const char *bad[] = {"file.path", path, "key.field", "id", NULL};
  assert_null(harness_open_err("file-source", bad, NULL, msg, sizeof msg));
  assert_non_null(strstr(msg, "key.field needs format=json"));
  beck_test_rmdir(dir);
}

static void file_source_skips_overlong_lines_as_errors(void **state) {
  char *dir = beck_test_tmpdir("file-long");
  char path[512];
  snprintf(path, sizeof path, "%s/in.txt", dir);
  char big[200];
  memset(big, 'x', sizeof big - 1);
  big[sizeof big - 1] = '\0';
  append_file(path, "short\n");
  append_file(path, big);
  append_file(path, "\nafter\n");
  const char *kv[] = {"file.path", path, "line.max.bytes", "32", NULL};
  harness_offsets_t offs = {0};
  harness_t *h = harness_open("file-source", kv, &offs);
  harness_poll_until(h, 3, 1000);
  assert_int_equal(h->nrecs, 3);
  assert_string_equal(h->recs[0].value, "short");
  assert_int_equal(h->recs[1].value_len, 32);
  assert_non_null(h->recs[1].error);
  assert_string_equal(h->recs[2].value, "after");
  harness_close(h);
  beck_test_rmdir(dir);
}

static void file_sink_appends_values_and_json_on_flush(void **state) {
  char *dir = beck_test_tmpdir("file-sink");
  char path[512], jpath[512];
  snprintf(path, sizeof path, "%s/out.txt", dir);
  snprintf(jpath, sizeof jpath, "%s/out.jsonl", dir);
  const char *kv[] = {"file.path", path, NULL};
  harness_t *h = harness_open("file-sink", kv, NULL);
  const char *v1[] = {"a", "b", NULL};
  assert_int_equal(harness_put_values(h, "t", 0, v1), BECK_CONNECTOR_OK);
  struct stat st;
  assert_int_equal(stat(path, &st), 0);
  assert_int_equal(st.st_size, 0); /* buffered until flush */
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  const char *v2[] = {"c", NULL};
  assert_int_equal(harness_put_values(h, "t", 2, v2), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(read_file(path), "a\nb\nc\n");
  harness_close(h);

  const char *kj[] = {"file.path", jpath, "format", "json", "fsync", "false", NULL};
  h = harness_open("file-sink", kj, NULL);
  const char *v3[] = {"say \"hi\"\n", NULL};
  assert_int_equal(harness_put_values(h, "orders", 41, v3), BECK_CONNECTOR_OK);
  harness_close(h); /* stop without flush: nothing written */
  assert_int_equal(stat(jpath, &st), 0);
  assert_int_equal(st.st_size, 0);
  h = harness_open("file-sink", kj, NULL);
  assert_int_equal(harness_put_values(h, "orders", 41, v3), BECK_CONNECTOR_OK);
  assert_int_equal(harness_flush(h), BECK_CONNECTOR_OK);
  assert_string_equal(read_file(jpath),
                      "{\"partition\":0,\"offset\":41,\"timestamp\":1700000000041,\"topic\":\"orders\","
                      "\"key\":\"k41\",\"value\":\"say \\\"hi\\\"\\n\"}\n");
  harness_close(h);
  beck_test_rmdir(dir);
}

static void stdout_sink_prints_key_and_value(void **state) {
  char *dir = beck_test_tmpdir("stdout-sink");
  char path[512];
  snprintf(path, sizeof path, "%s/stdout.txt", dir);
  fflush(stdout);
  int saved = dup(1);
  int fd = open(path, O_WRONLY | O_CREAT | O_TRUNC, 0644);
  assert_true(fd >= 0);
  dup2(fd, 1);
  close(fd);
  const char *kv[] = {"format", "kv", "prefix", "> ", NULL};
  harness_t *h = harness_open("stdout-sink", kv, NULL);
  const char *v[] = {"x", "y", NULL};
  int put = harness_put_values(h, "t", 7, v);
  int flush = harness_flush(h);
  harness_close(h);
  fflush(stdout);
  dup2(saved, 1);
  close(saved);
  assert_int_equal(put, BECK_CONNECTOR_OK);
  assert_int_equal(flush, BECK_CONNECTOR_OK);
  assert_string_equal(read_file(path), "> k7\tx\n> k8\ty\n");
  beck_test_rmdir(dir);
}

static void datagen_counter_is_exact_and_resumes(void **state) {
  harness_offsets_t offs = {0};
  const char *kv[] = {"count", "25", "rate", "0", NULL};
  harness_t *h = harness_open("datagen-source", kv, &offs);
  assert_int_equal(harness_poll(h, 10), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrecs, 10);
  harness_close(h);
  h = harness_open("datagen-source", kv, &offs);
  harness_poll_until(h, 15, 1000);
  assert_int_equal(harness_poll(h, 100), BECK_CONNECTOR_OK); /* done: idles */
  assert_int_equal(h->nrecs, 15);
  for (int k = 0; k < 15; k++) {
    char want[16];
    snprintf(want, sizeof want, "%d", k + 10);
    assert_string_equal(h->recs[k].value, want);
    assert_string_equal(h->recs[k].key, want);
  }
  assert_string_equal(offs.soff[0], "25");
  harness_close(h);
}

static void datagen_random_is_rate_limited_json(void **state) {
  const char *kv[] = {"generator", "random", "rate", "500", "keys.cardinality", "3", NULL};
  harness_t *h = harness_open("datagen-source", kv, NULL);
  int64_t t0 = beck__mono_ms();
  harness_poll_until(h, 100, 5000);
  int64_t took = beck__mono_ms() - t0;
  assert_true(h->nrecs >= 100);
  assert_true(took >= 150); /* 100 records at 500/s: ~200 ms */
  assert_non_null(strstr(h->recs[5].value, "{\"id\":5,\"user\":\"user-"));
  assert_true(strcmp(h->recs[5].key, "user-0") == 0 || strcmp(h->recs[5].key, "user-1") == 0 ||
              strcmp(h->recs[5].key, "user-2") == 0);
  harness_close(h);
}

/* generator=nexmark emits, for record n, beck_nexmark_json() of the shared
 * generator's event n (same seed, same event-time rate) with its dateTime as
 * the timestamp, and resumes the sequence after a restart. */
static void datagen_nexmark_equals_the_generator(void **state) {
  harness_offsets_t offs = {0};
  const char *kv[] = {"generator", "nexmark", "seed", "7", "rate", "0", "count", "600", "nexmark.rate", "5000", NULL};
  static harness_rec_t got[600];
  harness_t *h = harness_open("datagen-source", kv, &offs);
  assert_int_equal(harness_poll(h, 250), BECK_CONNECTOR_OK);
  assert_int_equal(h->nrecs, 250);
  for (int n = 0; n < 250; n++) {
    got[n] = h->recs[n];
    got[n].value = h->recs[n].value ? strdup(h->recs[n].value) : NULL;
    got[n].key = NULL;
    assert_null(h->recs[n].key);
  }
  harness_close(h); /* a restart continues at event 250 */
  h = harness_open("datagen-source", kv, &offs);
  harness_poll_until(h, 350, 5000);
  assert_int_equal(h->nrecs, 350);
  for (int n = 0; n < 350; n++) {
    got[250 + n] = h->recs[n];
    got[250 + n].value = h->recs[n].value ? strdup(h->recs[n].value) : NULL;
    got[250 + n].key = NULL;
    assert_null(h->recs[n].key);
  }
  harness_close(h);
  beck_nexmark_config_t c;
  beck_nexmark_config_init(&c);
  c.seed = 7;
  c.events_per_second = 5000;
  int types[3] = {0};
  for (int n = 0; n < 600; n++) {
    const harness_rec_t *r = &got[n];
    char strings[BECK_NEXMARK_EVENT_MAX], want[4 * BECK_NEXMARK_EVENT_MAX];
    beck_nexmark_event_t ev;
    assert_int_equal(beck_nexmark_generate(&c, (uint64_t)n, &ev, strings, sizeof strings), 0);
    assert_true(beck_nexmark_json(&ev, want, sizeof want) < sizeof want);
    if (r->value == NULL || strcmp(r->value, want) != 0)
      fail_msg("event %d:\n datagen   %s\n generator %s", n, r->value ? r->value : "(null)", want);
    assert_int_equal(r->value_len, (int32_t)strlen(want));
    assert_int_equal(r->timestamp, beck_nexmark_event_time(&c, (uint64_t)n));
    types[ev.type]++;
    free(got[n].value);
  }
  assert_true(types[BECK_NEXMARK_PERSON] > 0 && types[BECK_NEXMARK_AUCTION] > 0 && types[BECK_NEXMARK_BID] > 0);
  assert_string_equal(offs.soff[0], "600");
}

#ifdef BECK_BIN
/* With its defaults (and the same seed) datagen's nexmark lines are the
 * lines `beck bench nexmark --generate-only` writes. */
static void datagen_nexmark_equals_beck_bench_generate_only(void **state) {
  const char *kv[] = {"generator", "nexmark", "seed", "3", "rate", "0", "count", "300", NULL};
  harness_t *h = harness_open("datagen-source", kv, NULL);
  harness_poll_until(h, 300, 5000);
  assert_int_equal(h->nrecs, 300);
  FILE *p = popen(BECK_BIN " bench nexmark --generate-only --events 300 --seed 3 --emit -", "r");
  assert_non_null(p);
  static char line[1 << 16];
  int n = 0;
  while (fgets(line, sizeof line, p) != NULL) {
    line[strcspn(line, "\n")] = '\0';
    assert_true(n < 300);
    if (strcmp(h->recs[n].value, line) != 0)
      fail_msg("event %d:\n datagen %s\n bench   %s", n, h->recs[n].value, line);
    n++;
  }
  assert_int_equal(pclose(p), 0);
  assert_int_equal(n, 300);
  harness_close(h);
}
#endif

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(file_source_emits_complete_lines_and_resumes_after_last_delivered),
      cmocka_unit_test(file_source_follows_rotation_and_truncation),
      cmocka_unit_test(file_source_waits_for_a_missing_file),
      cmocka_unit_test(file_source_json_lines_report_bad_lines_and_take_keys),
      cmocka_unit_test(file_source_skips_overlong_lines_as_errors),
      cmocka_unit_test(file_sink_appends_values_and_json_on_flush),
      cmocka_unit_test(stdout_sink_prints_key_and_value),
      cmocka_unit_test(datagen_counter_is_exact_and_resumes),
      cmocka_unit_test(datagen_random_is_rate_limited_json),
      cmocka_unit_test(datagen_nexmark_equals_the_generator),
#ifdef BECK_BIN
      cmocka_unit_test(datagen_nexmark_equals_beck_bench_generate_only),
#endif
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
