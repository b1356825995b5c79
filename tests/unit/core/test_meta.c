/* test_meta.c - core/meta: topics, configs, offsets, groups and counters
 * survive closing and reopening the store. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "meta/meta.h"
#include "tmpdir.h"

typedef struct {
  char text[2048];
  int n;
} collect_t;

static int collect_topic(void *arg, const beck_meta_topic_t *t) {
  collect_t *c = arg;
  size_t l = strlen(c->text);
  snprintf(c->text + l, sizeof c->text - l, "%s:%d:%02x;", t->name, t->partitions, t->topic_id[0]);
  c->n++;
  return 0;
}

static int collect_config(void *arg, const char *k, const char *v) {
  collect_t *c = arg;
  size_t l = strlen(c->text);
  snprintf(c->text + l, sizeof c->text - l, "%s=%s;", k, v);
  c->n++;
  return 0;
}

static int collect_offset(void *arg, const beck_meta_offset_t *o) {
  collect_t *c = arg;
  size_t l = strlen(c->text);
  snprintf(c->text + l, sizeof c->text - l, "%s/%s/%d=%lld:%d:%s;", o->group_id, o->topic, o->partition,
           (long long)o->offset, o->leader_epoch, o->metadata ? o->metadata : "(null)");
  c->n++;
  return 0;
}

static int collect_group(void *arg, const beck_meta_group_t *g) {
  collect_t *c = arg;
  size_t l = strlen(c->text);
  snprintf(c->text + l, sizeof c->text - l, "%s:%s:%d:%s:%s;", g->group_id, g->protocol_type, g->generation,
           g->protocol ? g->protocol : "", g->state);
  c->n++;
  return 0;
}

static beck_meta_t *reopen(beck_meta_t *m, const char *path) {
  beck_meta_close(m);
  beck_error_t e;
  beck_meta_t *n = NULL;
  assert_int_equal(beck_meta_open(path, &n, &e), 0);
  return n;
}

static void meta_state_survives_reopen(void **state) {
  char *dir = beck_test_tmpdir("meta");
  char path[512];
  snprintf(path, sizeof path, "%s/meta.db", dir);
  beck_error_t e;
  beck_meta_t *m = NULL;
  assert_int_equal(beck_meta_open(path, &m, &e), 0);

  beck_meta_topic_t t = {.name = "orders", .partitions = 3, .created_ms = 1000};
  t.topic_id[0] = 0xab;
  const char *keys[] = {"retention.ms", "cleanup.policy"};
  const char *vals[] = {"60000", "compact"};
  assert_int_equal(beck_meta_topic_create(m, &t, keys, vals, 2, &e), 0);
  assert_int_equal(beck_meta_topic_create(m, &t, NULL, NULL, 0, &e), BECK_ERR_EXISTS);
  beck_meta_topic_t t2 = {.name = "clicks", .partitions = 1, .created_ms = 2000};
  t2.topic_id[0] = 0x01;
  assert_int_equal(beck_meta_topic_create(m, &t2, NULL, NULL, 0, &e), 0);
  assert_int_equal(beck_meta_topic_set_partitions(m, "orders", 6, &e), 0);
  assert_int_equal(beck_meta_config_set(m, "orders", "retention.ms", "120000", &e), 0);

  beck_meta_offset_t offs[] = {
      {"g1", "orders", 0, 42, -1, NULL, 5},
      {"g1", "orders", 1, 7, 3, "meta", 5},
      {"g2", "clicks", 0, 100, -1, "", 6},
  };
  assert_int_equal(beck_meta_offsets_commit(m, offs, 3, &e), 0);
  offs[0].offset = 43;
  assert_int_equal(beck_meta_offsets_commit(m, offs, 1, &e), 0);
  beck_meta_group_t g = {"g1", "consumer", 5, "range", "Stable"};
  assert_int_equal(beck_meta_group_save(m, &g, &e), 0);
  int64_t pid = -1;
  assert_int_equal(beck_meta_counter_next(m, "producer_id", &pid, &e), 0);
  assert_int_equal(pid, 0);
  assert_int_equal(beck_meta_counter_next(m, "producer_id", &pid, &e), 0);
  assert_int_equal(pid, 1);

  m = reopen(m, path);
  collect_t c = {{0}, 0};
  assert_int_equal(beck_meta_topic_foreach(m, collect_topic, &c, &e), 0);
  assert_string_equal(c.text, "clicks:1:01;orders:6:ab;");
  memset(&c, 0, sizeof c);
  assert_int_equal(beck_meta_config_foreach(m, "orders", collect_config, &c, &e), 0);
  assert_string_equal(c.text, "cleanup.policy=compact;retention.ms=120000;");
  memset(&c, 0, sizeof c);
  assert_int_equal(beck_meta_offsets_foreach(m, "g1", collect_offset, &c, &e), 0);
  assert_string_equal(c.text, "g1/orders/0=43:-1:(null);g1/orders/1=7:3:meta;");
  memset(&c, 0, sizeof c);
  assert_int_equal(beck_meta_group_foreach(m, collect_group, &c, &e), 0);
  assert_string_equal(c.text, "g1:consumer:5:range:Stable;");
  assert_int_equal(beck_meta_counter_next(m, "producer_id", &pid, &e), 0);
  assert_int_equal(pid, 2);

  /* deleting a topic removes its configs and its committed offsets */
  assert_int_equal(beck_meta_topic_delete(m, "orders", &e), 0);
  memset(&c, 0, sizeof c);
  assert_int_equal(beck_meta_offsets_foreach(m, NULL, collect_offset, &c, &e), 0);
  assert_string_equal(c.text, "g2/clicks/0=100:-1:;");
  memset(&c, 0, sizeof c);
  beck_meta_config_foreach(m, "orders", collect_config, &c, &e);
  assert_int_equal(c.n, 0);
  assert_int_equal(beck_meta_group_delete(m, "g2", &e), 0);
  memset(&c, 0, sizeof c);
  beck_meta_offsets_foreach(m, NULL, collect_offset, &c, &e);
  assert_int_equal(c.n, 0);
  beck_meta_close(m);
  beck_test_rmdir(dir);
}

static void meta_open_reports_path_on_failure(void **state) {
  beck_error_t e;
  beck_meta_t *m = NULL;
  assert_int_not_equal(beck_meta_open("/nonexistent-dir/x/meta.db", &m, &e), 0);
  assert_non_null(strstr(e.msg, "/nonexistent-dir/x/meta.db"));
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(meta_state_survives_reopen),
      cmocka_unit_test(meta_open_reports_path_on_failure),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
