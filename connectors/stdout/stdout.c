/*
 * stdout.c - stdout-sink: prints each record as one line on standard output
 * (the value, key<TAB>value, or a JSON envelope). For trying pipelines and
 * for debugging; output is written per put and flushed (fflush) on flush.
 * Not durable: nothing to commit beyond "written to the stream".
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <beck/connector.h>

typedef struct {
  const beck_connector_host_t *host;
  beck_connector_ctx_t *ctx;
  int format; /* 0 value, 1 kv, 2 json */
  const char *prefix;
} out_t;

static const beck_connector_option_t out_options[] = {
    {.name = "format",
     .type = BECK_CONNECTOR_OPT_ENUM,
     .default_value = "value",
     .choices = "value|kv|json",
     .description = "value: the value; kv: key<TAB>value; json: {topic,partition,offset,timestamp,key,value}."},
    {.name = "prefix", .type = BECK_CONNECTOR_OPT_STRING, .description = "Text printed before every line."},
};

static int out_create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  out_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    host->set_error(ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  s->host = host;
  s->ctx = ctx;
  const char *f = host->config_string(ctx, "format");
  s->format = strcmp(f, "kv") == 0 ? 1 : strcmp(f, "json") == 0 ? 2 : 0;
  s->prefix = host->config_string(ctx, "prefix");
  *self = s;
  return BECK_CONNECTOR_OK;
}

static void json_str(FILE *f, const void *p, int32_t n) {
  if (p == NULL || n < 0) {
    fputs("null", f);
    return;
  }
  const unsigned char *c = p;
  fputc('"', f);
  for (int32_t k = 0; k < n; k++) {
    if (c[k] == '"' || c[k] == '\\')
      fprintf(f, "\\%c", c[k]);
    else if (c[k] == '\n')
      fputs("\\n", f);
    else if (c[k] < 0x20)
      fprintf(f, "\\u%04x", c[k]);
    else
      fputc(c[k], f);
  }
  fputc('"', f);
}

static int out_put(void *self, const beck_sink_batch_t *batch) {
  out_t *s = self;
  for (uint32_t k = 0; k < batch->count; k++) {
    const beck_sink_record_t *r = batch->records[k];
    if (s->prefix != NULL)
      fputs(s->prefix, stdout);
    if (s->format == 2) {
      fprintf(stdout, "{\"topic\":");
      json_str(stdout, r->topic, (int32_t)strlen(r->topic));
      fprintf(stdout, ",\"partition\":%d,\"offset\":%lld,\"timestamp\":%lld,\"key\":", r->partition,
              (long long)r->offset, (long long)r->timestamp);
      json_str(stdout, r->key, r->key_len);
      fputs(",\"value\":", stdout);
      json_str(stdout, r->value, r->value_len);
      fputc('}', stdout);
    } else {
      if (s->format == 1) {
        if (r->key_len > 0)
          fwrite(r->key, 1, (size_t)r->key_len, stdout);
        fputc('\t', stdout);
      }
      if (r->value_len > 0)
        fwrite(r->value, 1, (size_t)r->value_len, stdout);
    }
    fputc('\n', stdout);
  }
  if (ferror(stdout)) {
    s->host->set_error(s->ctx, "cannot write to standard output");
    clearerr(stdout);
    return BECK_CONNECTOR_FATAL;
  }
  return BECK_CONNECTOR_OK;
}

static int out_flush(void *self) {
  out_t *s = self;
  if (fflush(stdout) != 0) {
    s->host->set_error(s->ctx, "cannot flush standard output");
    return BECK_CONNECTOR_FATAL;
  }
  return BECK_CONNECTOR_OK;
}

static void out_destroy(void *self) { free(self); }

static const beck_connector_descriptor_t stdout_sink = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_descriptor_t),
    .name = "stdout-sink",
    .kind = BECK_CONNECTOR_SINK,
    .description = "Prints records to standard output, one per line.",
    .version = "1.0",
    .options = out_options,
    .option_count = sizeof out_options / sizeof out_options[0],
    .option_size = sizeof(beck_connector_option_t),
    .create = out_create,
    .put = out_put,
    .flush = out_flush,
    .destroy = out_destroy,
};

BECK_CONNECTOR_EXPORT const beck_connector_descriptor_t *beck_connector_entry(uint32_t host_abi, uint32_t index) {
  (void)host_abi;
  return index == 0 ? &stdout_sink : NULL;
}
