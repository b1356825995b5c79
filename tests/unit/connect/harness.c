/* harness.c - see harness.h. */
#include "harness.h"

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

static const char *offsets_get(void *arg, const char *spart) {
  harness_t *h = arg;
  if (h->offsets == NULL)
    return NULL;
  for (int k = 0; k < h->offsets->n; k++)
    if (strcmp(h->offsets->spart[k], spart) == 0)
      return h->offsets->soff[k];
  return NULL;
}

static void offsets_put(harness_offsets_t *o, const char *spart, const char *soff) {
  for (int k = 0; k < o->n; k++)
    if (strcmp(o->spart[k], spart) == 0) {
      snprintf(o->soff[k], sizeof o->soff[k], "%s", soff);
      return;
    }
  assert_true(o->n < HARNESS_MAX);
  snprintf(o->spart[o->n], sizeof o->spart[0], "%s", spart);
  snprintf(o->soff[o->n], sizeof o->soff[0], "%s", soff);
  o->n++;
}

static int on_reject(void *arg, const beck_sink_record_t *rec, const char *message) {
  harness_t *h = arg;
  if (h->nrejected < HARNESS_MAX)
    snprintf(h->rejected[h->nrejected++], sizeof h->rejected[0], "%lld: %s", (long long)rec->offset, message);
  return BECK_CONNECTOR_OK;
}

static int on_seek(void *arg, const char *topic, int32_t partition, int64_t offset) {
  harness_t *h = arg;
  if (h->nseeks < HARNESS_MAX) {
    snprintf(h->seek_topic[h->nseeks], sizeof h->seek_topic[0], "%s", topic);
    h->seek_partition[h->nseeks] = partition;
    h->seek_offset[h->nseeks] = offset;
    h->nseeks++;
  }
  return BECK_CONNECTOR_OK;
}

static const beck__ctx_hooks_t hooks = {.reject = on_reject, .offset_get = offsets_get, .sink_seek = on_seek};

harness_t *harness_open_err(const char *connector, const char *const *kv, harness_offsets_t *offsets, char *msg,
                            size_t msglen) {
  harness_t *h = calloc(1, sizeof *h);
  assert_non_null(h);
  h->offsets = offsets;
  assert_int_equal(beck_plugin_set_discover(NULL, 0, &h->plugins, &h->err), BECK_ERR_OK);
  const beck_connector_info_t *info = beck_plugin_set_find(h->plugins, connector);
  if (info == NULL)
    fail_msg("connector %s not found in %s", connector, beck_plugin_builtin_dir());
  const char *keys[64], *vals[64];
  int n = 0;
  for (; kv != NULL && kv[2 * n] != NULL; n++) {
    keys[n] = kv[2 * n];
    vals[n] = kv[2 * n + 1];
  }
  beck__source_batch_init(&h->batch, 100, 1 << 20);
  beck_err_t rc = beck__ctx_new(info, "test", 0, keys, vals, n, &hooks, h, &h->ctx, &h->err);
  int st = BECK_CONNECTOR_FATAL;
  if (rc == BECK_ERR_OK) {
    st = beck__ctx_create(h->ctx, &h->err);
    if (st == BECK_CONNECTOR_OK)
      st = beck__ctx_start(h->ctx, &h->err);
  }
  if (st != BECK_CONNECTOR_OK) {
    if (msg == NULL)
      fail_msg("%s: %s", connector, h->err.msg);
    snprintf(msg, msglen, "%s", h->err.msg);
    harness_close(h);
    return NULL;
  }
  h->started = 1;
  return h;
}

harness_t *harness_open(const char *connector, const char *const *kv, harness_offsets_t *offsets) {
  return harness_open_err(connector, kv, offsets, NULL, 0);
}

static char *dup_bytes(const void *p, int32_t len) {
  if (len < 0)
    return NULL;
  char *c = malloc((size_t)len + 1);
  assert_non_null(c);
  memcpy(c, p, (size_t)len);
  c[len] = '\0';
  return c;
}

int harness_poll(harness_t *h, size_t max_records) {
  beck__source_batch_reset(&h->batch);
  h->batch.max_records = max_records;
  int st = beck__ctx_poll(h->ctx, &h->batch, &h->err);
  for (size_t k = 0; k < h->batch.n; k++) {
    const beck__srec_t *r = &h->batch.recs[k];
    if (h->nrecs == h->caprecs) {
      h->caprecs = h->caprecs ? h->caprecs * 2 : 64;
      h->recs = realloc(h->recs, (size_t)h->caprecs * sizeof *h->recs);
      assert_non_null(h->recs);
    }
    harness_rec_t *o = &h->recs[h->nrecs++];
    o->key = dup_bytes(beck__srec_ptr(&h->batch, r->key), r->key_len);
    o->key_len = r->key_len;
    o->value = dup_bytes(beck__srec_ptr(&h->batch, r->value), r->value_len);
    o->value_len = r->value_len;
    o->timestamp = r->timestamp;
    const char *err = beck__srec_str(&h->batch, r->error);
    o->error = err ? strdup(err) : NULL;
    const char *t = beck__srec_str(&h->batch, r->topic);
    o->topic = t ? strdup(t) : NULL;
    const char *soff = beck__srec_str(&h->batch, r->soff);
    if (h->offsets != NULL && soff != NULL)
      offsets_put(h->offsets, beck__srec_str(&h->batch, r->spart), soff);
  }
  return st;
}

void harness_poll_until(harness_t *h, int n, int timeout_ms) {
  int64_t end = beck__mono_ms() + timeout_ms;
  while (h->nrecs < n && beck__mono_ms() < end) {
    int st = harness_poll(h, 100);
    if (st != BECK_CONNECTOR_OK)
      fail_msg("poll: %s", h->err.msg);
  }
}

int harness_put_values(harness_t *h, const char *topic, int64_t first_offset, const char *const *values) {
  beck_sink_record_t recs[256];
  const beck_sink_record_t *ptrs[256];
  char keys[256][32];
  uint32_t n = 0;
  for (; values[n] != NULL; n++) {
    assert_true(n < 256);
    beck_sink_record_t *r = &recs[n];
    memset(r, 0, sizeof *r);
    r->topic = topic;
    r->partition = 0;
    r->offset = first_offset + n;
    r->timestamp = 1700000000000LL + r->offset;
    r->key_len = snprintf(keys[n], sizeof keys[n], "k%lld", (long long)r->offset);
    r->key = keys[n];
    r->value = values[n];
    r->value_len = (int32_t)strlen(values[n]);
    ptrs[n] = r;
  }
  beck_sink_batch_t b = {.records = ptrs, .count = n};
  return beck__ctx_put(h->ctx, &b, &h->err);
}

int harness_flush(harness_t *h) { return beck__ctx_flush(h->ctx, &h->err); }

void harness_close(harness_t *h) {
  if (h == NULL)
    return;
  if (h->ctx != NULL && h->started) {
    beck_error_t e;
    beck__ctx_stop(h->ctx, &e);
  }
  beck__ctx_free(h->ctx);
  beck__source_batch_free(&h->batch);
  for (int k = 0; k < h->nrecs; k++) {
    free(h->recs[k].key);
    free(h->recs[k].value);
    free(h->recs[k].error);
    free(h->recs[k].topic);
  }
  free(h->recs);
  beck_plugin_set_free(h->plugins);
  free(h);
}
