/*
 * template.c - a starting point for your own connector plugin. Copy this
 * file, rename the connectors, and fill in the callbacks. It needs nothing
 * but <beck/connector.h>:
 *
 *   cc -shared -fPIC $(pkg-config --cflags beck-connector) template.c -o my.so
 *
 * then put my.so on BECK_PLUGIN_PATH (or plugin.path) and refer to its
 * connectors by name (connector=template-sink). It holds:
 *
 *   template-source  emits `count` records "hello N" (source offset N+1, so a
 *                    restart continues where the last durable batch ended)
 *   template-sink    buffers records and appends "PREFIX value" lines to
 *                    `path` on flush (the host commits offsets only after
 *                    flush returns OK; a failed flush makes the host deliver
 *                    everything since the last good flush again)
 *
 * Rules of the ABI worth knowing (the header has them all): every callback
 * of one instance is called from one thread at a time; say why with
 * host->set_error() before returning RETRY, REWIND or FATAL; records given
 * to put() and strings from the host are borrowed for the call.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <beck/connector.h>

/* ---- a source ---------------------------------------------------------------- */

typedef struct {
  const beck_connector_host_t *host;
  beck_connector_ctx_t *ctx;
  long long next, count;
} tsrc_t;

static const beck_connector_option_t tsrc_options[] = {
    {.name = "count",
     .type = BECK_CONNECTOR_OPT_INT,
     .default_value = "10",
     .min = 0,
     .max = 1e12,
     .description = "How many records to emit."},
};

static int tsrc_create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  tsrc_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    host->set_error(ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  s->host = host;
  s->ctx = ctx;
  s->count = host->config_int(ctx, "count"); /* validated by the host */
  *self = s;
  return BECK_CONNECTOR_OK;
}

static int tsrc_start(void *self) {
  tsrc_t *s = self;
  const char *off = s->host->offset_get(s->ctx, "template"); /* where the last durable batch ended */
  s->next = off ? atoll(off) : 0;
  return BECK_CONNECTOR_OK;
}

static int tsrc_poll(void *self, beck_source_batch_t *batch) {
  tsrc_t *s = self;
  if (s->next >= s->count) {
    s->host->sleep_ms(s->ctx, 100); /* nothing to do: wait a little, return */
    return BECK_CONNECTOR_OK;
  }
  while (s->next < s->count) {
    char value[64], off[32];
    beck_source_record_t r = BECK_SOURCE_RECORD_INIT;
    r.value = value;
    r.value_len = snprintf(value, sizeof value, "hello %lld", s->next);
    r.source_partition = "template";
    snprintf(off, sizeof off, "%lld", s->next + 1);
    r.source_offset = off;
    s->next++;
    int rc = beck_emit(s->host, batch, &r); /* copies the record */
    if (rc < 0)
      return rc;
    if (rc == 1) /* the batch is full */
      break;
  }
  return BECK_CONNECTOR_OK;
}

static void tsrc_destroy(void *self) { free(self); }

static const beck_connector_descriptor_t template_source = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_descriptor_t),
    .name = "template-source",
    .kind = BECK_CONNECTOR_SOURCE,
    .description = "Emits count greetings (a template).",
    .version = "1.0",
    .options = tsrc_options,
    .option_count = sizeof tsrc_options / sizeof tsrc_options[0],
    .option_size = sizeof(beck_connector_option_t),
    .create = tsrc_create,
    .start = tsrc_start,
    .poll = tsrc_poll,
    .destroy = tsrc_destroy,
};

/* ---- a sink ---------------------------------------------------------------------- */

typedef struct {
  const beck_connector_host_t *host;
  beck_connector_ctx_t *ctx;
  const char *path, *prefix;
  char *buf;
  size_t len, cap;
} tsink_t;

static const beck_connector_option_t tsink_options[] = {
    {.name = "path", .type = BECK_CONNECTOR_OPT_STRING, .required = 1, .description = "File to append to."},
    {.name = "prefix", .type = BECK_CONNECTOR_OPT_STRING, .default_value = "> ", .description = "Line prefix."},
};

static int tsink_create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  tsink_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    host->set_error(ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  s->host = host;
  s->ctx = ctx;
  s->path = host->config_string(ctx, "path");
  s->prefix = host->config_string(ctx, "prefix");
  *self = s;
  return BECK_CONNECTOR_OK;
}

static int tsink_append(tsink_t *s, const void *p, size_t n) {
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

static int tsink_put(void *self, const beck_sink_batch_t *batch) {
  tsink_t *s = self;
  for (uint32_t k = 0; k < batch->count; k++) {
    const beck_sink_record_t *r = batch->records[k];
    if (r->value == NULL) { /* e.g. refuse tombstones: the host dead-letters or fails */
      if (s->host->reject_record(s->ctx, r, "null value") != BECK_CONNECTOR_OK)
        return BECK_CONNECTOR_FATAL;
      continue;
    }
    if (tsink_append(s, s->prefix, strlen(s->prefix)) || tsink_append(s, r->value, (size_t)r->value_len) ||
        tsink_append(s, "\n", 1)) {
      s->host->set_error(s->ctx, "out of memory");
      return BECK_CONNECTOR_FATAL;
    }
  }
  return BECK_CONNECTOR_OK;
}

static int tsink_flush(void *self) {
  tsink_t *s = self;
  FILE *f = fopen(s->path, "a");
  if (f == NULL) {
    s->len = 0; /* the host re-delivers everything since the last good flush */
    s->host->set_error(s->ctx, "cannot open %s", s->path);
    return BECK_CONNECTOR_REWIND;
  }
  size_t w = fwrite(s->buf, 1, s->len, f);
  int rc = fclose(f);
  int ok = w == s->len && rc == 0;
  s->len = 0;
  if (!ok) {
    s->host->set_error(s->ctx, "cannot write %s", s->path);
    return BECK_CONNECTOR_REWIND;
  }
  return BECK_CONNECTOR_OK;
}

static void tsink_destroy(void *self) {
  tsink_t *s = self;
  if (s != NULL)
    free(s->buf);
  free(s);
}

static const beck_connector_descriptor_t template_sink = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_descriptor_t),
    .name = "template-sink",
    .kind = BECK_CONNECTOR_SINK,
    .description = "Appends prefixed values to a file on flush (a template).",
    .version = "1.0",
    .options = tsink_options,
    .option_count = sizeof tsink_options / sizeof tsink_options[0],
    .option_size = sizeof(beck_connector_option_t),
    .create = tsink_create,
    .put = tsink_put,
    .flush = tsink_flush,
    .destroy = tsink_destroy,
};

/* ---- the one exported symbol ------------------------------------------------------- */

BECK_CONNECTOR_EXPORT const beck_connector_descriptor_t *beck_connector_entry(uint32_t host_abi, uint32_t index) {
  (void)host_abi;
  static const beck_connector_descriptor_t *const all[] = {&template_source, &template_sink};
  return index < sizeof all / sizeof all[0] ? all[index] : NULL;
}
