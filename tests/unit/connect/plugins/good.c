/*
 * good.c - a well-formed test plugin with a source and a sink, used by the
 * loader, host and worker tests. Built against <beck/connector.h> alone.
 *
 * test-source emits records key-N / value-N (N from the stored offset on),
 * source partition "test", source offset "N+1"; options make it fail polls
 * or emit conversion errors. test-sink buffers accepted records and appends
 * them to out.path on flush ("topic/partition/offset value\n"), rejects
 * values containing reject.match, and can fail put/flush a few times.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <beck/connector.h>

/* ---- test-source --------------------------------------------------------- */

typedef struct {
  const beck_connector_host_t *host;
  beck_connector_ctx_t *ctx;
  long long next, count, per_poll, bad_every, fail_polls;
} src_t;

static const beck_connector_option_t src_options[] = {
    {.name = "count", .type = BECK_CONNECTOR_OPT_INT, .default_value = "100", .description = "Records in total."},
    {.name = "per.poll",
     .type = BECK_CONNECTOR_OPT_INT,
     .default_value = "10",
     .min = 1,
     .max = 100000,
     .description = "Records per poll."},
    {.name = "bad.every",
     .type = BECK_CONNECTOR_OPT_INT,
     .default_value = "0",
     .description = "Every Nth record is a conversion error (0: none)."},
    {.name = "fail.poll.times",
     .type = BECK_CONNECTOR_OPT_INT,
     .default_value = "0",
     .description = "The first N polls fail retriably."},
    {.name = "mode",
     .type = BECK_CONNECTOR_OPT_ENUM,
     .default_value = "plain",
     .choices = "plain|fancy",
     .description = "An enum for the config tests."},
    {.name = "wait",
     .type = BECK_CONNECTOR_OPT_DURATION,
     .default_value = "50ms",
     .description = "Idle wait when done."},
};

static int src_create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  src_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    host->set_error(ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  s->host = host;
  s->ctx = ctx;
  s->count = host->config_int(ctx, "count");
  s->per_poll = host->config_int(ctx, "per.poll");
  s->bad_every = host->config_int(ctx, "bad.every");
  s->fail_polls = host->config_int(ctx, "fail.poll.times");
  *self = s;
  return BECK_CONNECTOR_OK;
}

static int src_start(void *self) {
  src_t *s = self;
  const char *off = s->host->offset_get(s->ctx, "test");
  s->next = off ? atoll(off) : 0;
  s->host->log(s->ctx, BECK_CONNECTOR_LOG_INFO, "starting at %lld", s->next);
  return BECK_CONNECTOR_OK;
}

static int src_poll(void *self, beck_source_batch_t *batch) {
  src_t *s = self;
  if (s->fail_polls > 0) {
    s->fail_polls--;
    s->host->set_error(s->ctx, "simulated transient failure");
    return BECK_CONNECTOR_RETRY;
  }
  if (s->next >= s->count) {
    s->host->sleep_ms(s->ctx, s->host->config_int(s->ctx, "wait"));
    return BECK_CONNECTOR_OK;
  }
  for (long long k = 0; k < s->per_poll && s->next < s->count; k++) {
    char key[32], val[32], off[32];
    beck_source_record_t r = BECK_SOURCE_RECORD_INIT;
    r.key = key;
    r.key_len = snprintf(key, sizeof key, "key-%lld", s->next);
    r.value = val;
    r.value_len = snprintf(val, sizeof val, "value-%lld", s->next);
    beck_connector_header_t h = {.key = "n", .key_len = 1, .value = val + 6, .value_len = r.value_len - 6};
    r.headers = &h;
    r.header_count = 1;
    r.source_partition = "test";
    snprintf(off, sizeof off, "%lld", s->next + 1);
    r.source_offset = off;
    s->next++;
    int rc;
    if (s->bad_every > 0 && s->next % s->bad_every == 0)
      rc = beck_emit_error(s->host, batch, &r, "cannot convert");
    else
      rc = beck_emit(s->host, batch, &r);
    if (rc < 0)
      return rc;
    if (rc == 1)
      break;
  }
  return BECK_CONNECTOR_OK;
}

static void src_destroy(void *self) { free(self); }

static const beck_connector_descriptor_t test_source = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_descriptor_t),
    .name = "test-source",
    .kind = BECK_CONNECTOR_SOURCE,
    .description = "Counts records for tests.",
    .version = "1",
    .options = src_options,
    .option_count = sizeof src_options / sizeof src_options[0],
    .option_size = sizeof(beck_connector_option_t),
    .create = src_create,
    .start = src_start,
    .poll = src_poll,
    .destroy = src_destroy,
};

/* ---- test-sink --------------------------------------------------------------- */

typedef struct {
  const beck_connector_host_t *host;
  beck_connector_ctx_t *ctx;
  const char *path, *reject;
  long long fail_puts, fail_flushes;
  char *buf;
  size_t len, cap;
} sink_t;

static const beck_connector_option_t sink_options[] = {
    {.name = "out.path",
     .type = BECK_CONNECTOR_OPT_STRING,
     .required = 1,
     .description = "File the flushed records are appended to."},
    {.name = "reject.match",
     .type = BECK_CONNECTOR_OPT_STRING,
     .description = "Reject records whose value contains this."},
    {.name = "fail.put.times",
     .type = BECK_CONNECTOR_OPT_INT,
     .default_value = "0",
     .description = "The first N puts fail retriably."},
    {.name = "fail.flush.times",
     .type = BECK_CONNECTOR_OPT_INT,
     .default_value = "0",
     .description = "The first N flushes fail retriably."},
    {.name = "seek", .type = BECK_CONNECTOR_OPT_STRING, .description = "topic:partition:offset to seek in start."},
};

static int sink_create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  sink_t *s = calloc(1, sizeof *s);
  if (s == NULL)
    return BECK_CONNECTOR_FATAL;
  s->host = host;
  s->ctx = ctx;
  s->path = host->config_string(ctx, "out.path");
  s->reject = host->config_string(ctx, "reject.match");
  s->fail_puts = host->config_int(ctx, "fail.put.times");
  s->fail_flushes = host->config_int(ctx, "fail.flush.times");
  *self = s;
  return BECK_CONNECTOR_OK;
}

static int sink_start(void *self) {
  sink_t *s = self;
  const char *seek = s->host->config_string(s->ctx, "seek");
  if (seek != NULL) {
    char topic[128];
    int part;
    long long off;
    if (sscanf(seek, "%127[^:]:%d:%lld", topic, &part, &off) != 3) {
      s->host->set_error(s->ctx, "bad seek '%s'", seek);
      return BECK_CONNECTOR_FATAL;
    }
    return s->host->sink_seek(s->ctx, topic, part, off);
  }
  return BECK_CONNECTOR_OK;
}

static int append(sink_t *s, const char *p, size_t n) {
  if (s->len + n > s->cap) {
    size_t cap = s->cap ? s->cap * 2 : 4096;
    while (cap < s->len + n)
      cap *= 2;
    char *nb = realloc(s->buf, cap);
    if (nb == NULL)
      return -1;
    s->buf = nb;
    s->cap = cap;
  }
  memcpy(s->buf + s->len, p, n);
  s->len += n;
  return 0;
}

static int sink_put(void *self, const beck_sink_batch_t *batch) {
  sink_t *s = self;
  if (s->fail_puts > 0) {
    s->fail_puts--;
    s->host->set_error(s->ctx, "simulated transient put failure");
    return BECK_CONNECTOR_RETRY;
  }
  for (uint32_t k = 0; k < batch->count; k++) {
    const beck_sink_record_t *r = batch->records[k];
    char val[256];
    int vl = r->value_len < 0 ? 0 : r->value_len > 255 ? 255 : r->value_len;
    memcpy(val, r->value ? r->value : "", (size_t)vl);
    val[vl] = '\0';
    if (s->reject != NULL && strstr(val, s->reject) != NULL) {
      if (s->host->reject_record(s->ctx, r, "value '%s' matches '%s'", val, s->reject) != BECK_CONNECTOR_OK)
        return BECK_CONNECTOR_FATAL;
      continue;
    }
    char line[512];
    int n = snprintf(line, sizeof line, "%s/%d/%lld %s\n", r->topic, r->partition, (long long)r->offset, val);
    if (append(s, line, (size_t)n) != 0) {
      s->host->set_error(s->ctx, "out of memory");
      return BECK_CONNECTOR_FATAL;
    }
  }
  return BECK_CONNECTOR_OK;
}

static int sink_flush(void *self) {
  sink_t *s = self;
  if (s->fail_flushes > 0) {
    s->fail_flushes--;
    s->len = 0; /* the contract: drop what was buffered */
    s->host->set_error(s->ctx, "simulated transient flush failure");
    return BECK_CONNECTOR_RETRY;
  }
  if (s->len == 0)
    return BECK_CONNECTOR_OK;
  FILE *f = fopen(s->path, "a");
  if (f == NULL) {
    s->host->set_error(s->ctx, "cannot open %s", s->path);
    return BECK_CONNECTOR_FATAL;
  }
  size_t w = fwrite(s->buf, 1, s->len, f);
  int rc = fclose(f);
  if (w != s->len || rc != 0) {
    s->host->set_error(s->ctx, "cannot write %s", s->path);
    return BECK_CONNECTOR_FATAL;
  }
  s->len = 0;
  return BECK_CONNECTOR_OK;
}

static void sink_destroy(void *self) {
  sink_t *s = self;
  if (s != NULL)
    free(s->buf);
  free(s);
}

static const beck_connector_descriptor_t test_sink = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_descriptor_t),
    .name = "test-sink",
    .kind = BECK_CONNECTOR_SINK,
    .description = "Appends records to a file for tests.",
    .version = "1",
    .options = sink_options,
    .option_count = sizeof sink_options / sizeof sink_options[0],
    .option_size = sizeof(beck_connector_option_t),
    .create = sink_create,
    .start = sink_start,
    .put = sink_put,
    .flush = sink_flush,
    .destroy = sink_destroy,
};

BECK_CONNECTOR_EXPORT const beck_connector_descriptor_t *beck_connector_entry(uint32_t host_abi, uint32_t index) {
  (void)host_abi;
  static const beck_connector_descriptor_t *const all[] = {&test_source, &test_sink};
  return index < sizeof all / sizeof all[0] ? all[index] : NULL;
}
