/*
 * datagen.c - datagen-source: generates records at a fixed rate, for demos,
 * tests and benchmarks.
 *
 * Record n (0, 1, 2, ...) is a pure function of (generator, seed, n), so a
 * restarted task continues the same sequence: the source offset is n+1
 * under source partition "datagen".
 *
 * Generators (a table of {name, make}; add one by adding a row):
 *   counter  key "n", value "n"
 *   random   key "user-K", value {"id":n,"user":"user-K","amount":12.34,
 *            "status":"...","ts":MS} with K < keys.cardinality
 *   nexmark  the Nexmark person/auction/bid events of the streams benchmark:
 *            bench/nexmark/generator.c (libc only) is compiled into this .so
 *            when BECK_DATAGEN_NEXMARK is defined (connectors/datagen/
 *            CMakeLists.txt does). Event n is beck_nexmark_generate(n) with
 *            the generator's defaults, `seed` and `nexmark.rate`; the value
 *            is beck_nexmark_json() of it (the lines of `beck bench nexmark
 *            --generate-only`), the timestamp its dateTime, the key null.
 *            Without the define the value is refused at create.
 *
 * Event time: by default each record's timestamp is the time it is made.
 * With timestamp.start, record n gets start + n * timestamp.step instead
 * (and the random generator's "ts" field says the same), so windows over a
 * generated stream give the same results however fast it runs. (Nexmark
 * events keep their own dateTime.)
 *
 * Rate limiting: a token bucket at `rate` records/s (0: as fast as the
 * worker takes them) with a burst of one poll's worth; waits use
 * host->sleep_ms so stop and pause are prompt.
 */
#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <beck/connector.h>

#ifdef BECK_DATAGEN_NEXMARK
#include "generator.h"
#endif

typedef struct dg dg_t;

/* One record being made: key and value (lengths -1 for null) and the
 * timestamp (-1: now). */
typedef struct dg_rec {
  char key[128];
  int klen;
  char val[8192];
  int vlen;
  int64_t ts;
} dg_rec_t;

/* Makes record n into *r (klen, vlen and ts preset to -1). Returns 0, or -1
 * when it does not fit the buffers. */
typedef int (*dg_make_fn)(const dg_t *s, uint64_t n, dg_rec_t *r);

typedef struct {
  const char *name;
  dg_make_fn make; /* NULL: known but not built in */
} dg_generator_t;

struct dg {
  const beck_connector_host_t *host;
  beck_connector_ctx_t *ctx;
  const dg_generator_t *gen;
  uint64_t seed, next, count, keys;
  double rate;
  int64_t ts_start; /* -1: the wall clock */
  int64_t ts_step;
  int64_t t0;
  uint64_t since_t0;
  int64_t idle_ms;
  dg_rec_t rec; /* the record being made (8 KiB: not on the stack) */
#ifdef BECK_DATAGEN_NEXMARK
  beck_nexmark_config_t nexmark;
#endif
};

static uint64_t splitmix64(uint64_t x) {
  x += 0x9e3779b97f4a7c15ull;
  x = (x ^ (x >> 30)) * 0xbf58476d1ce4e5b9ull;
  x = (x ^ (x >> 27)) * 0x94d049bb133111ebull;
  return x ^ (x >> 31);
}

/* Event time of record n. */
static int64_t record_time(const dg_t *s, uint64_t n) {
  return s->ts_start >= 0 ? s->ts_start + (int64_t)n * s->ts_step : s->host->wall_ms(s->ctx);
}

/* "2024-01-01T00:00:00Z" (optionally with .fff) or ms since the epoch. -1 if neither. */
static int64_t parse_start(const char *v) {
  char *end;
  long long ms = strtoll(v, &end, 10);
  if (*v != '\0' && *end == '\0')
    return ms >= 0 ? ms : -1;
  int y, mo, d, h, mi, sec, used = 0;
  if (sscanf(v, "%4d-%2d-%2dT%2d:%2d:%2d%n", &y, &mo, &d, &h, &mi, &sec, &used) != 6 || y < 1970 || mo < 1 ||
      mo > 12 || d < 1 || d > 31 || h > 23 || mi > 59 || sec > 60)
    return -1;
  const char *p = v + used;
  int64_t frac = 0;
  if (*p == '.') {
    int digits = 0;
    for (p++; *p >= '0' && *p <= '9'; p++, digits++)
      if (digits < 3)
        frac = frac * 10 + (*p - '0');
    for (; digits < 3; digits++)
      frac *= 10;
  }
  if (strcmp(p, "Z") != 0 && strcmp(p, "z") != 0)
    return -1;
  /* days from the civil date (Howard Hinnant's algorithm) */
  int yy = mo <= 2 ? y - 1 : y;
  int era = yy / 400;
  int yoe = yy - era * 400;
  int doy = (153 * (mo + (mo > 2 ? -3 : 9)) + 2) / 5 + d - 1;
  int doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
  int64_t days = (int64_t)era * 146097 + doe - 719468;
  return ((days * 24 + h) * 60 + mi) * 60000 + (int64_t)sec * 1000 + frac;
}

static int make_counter(const dg_t *s, uint64_t n, dg_rec_t *r) {
  r->klen = snprintf(r->key, sizeof r->key, "%llu", (unsigned long long)n);
  r->vlen = snprintf(r->val, sizeof r->val, "%llu", (unsigned long long)n);
  return (size_t)r->klen < sizeof r->key && (size_t)r->vlen < sizeof r->val ? 0 : -1;
}

static int make_random(const dg_t *s, uint64_t n, dg_rec_t *r) {
  static const char *const statuses[] = {"new", "paid", "shipped", "delivered", "returned"};
  uint64_t r1 = splitmix64(s->seed ^ (n * 0x2545f4914f6cdd1dull));
  uint64_t r2 = splitmix64(r1);
  uint64_t user = r1 % s->keys;
  int64_t ts = record_time(s, n);
  r->klen = snprintf(r->key, sizeof r->key, "user-%llu", (unsigned long long)user);
  r->vlen = snprintf(r->val, sizeof r->val,
                     "{\"id\":%llu,\"user\":\"user-%llu\",\"amount\":%llu.%02llu,\"status\":\"%s\",\"ts\":%lld}",
                     (unsigned long long)n, (unsigned long long)user, (unsigned long long)((r2 >> 8) % 1000),
                     (unsigned long long)(r2 % 100), statuses[(r2 >> 32) % 5], (long long)ts);
  return (size_t)r->klen < sizeof r->key && (size_t)r->vlen < sizeof r->val ? 0 : -1;
}

#ifdef BECK_DATAGEN_NEXMARK
static int make_nexmark(const dg_t *s, uint64_t n, dg_rec_t *r) {
  char strings[BECK_NEXMARK_EVENT_MAX];
  beck_nexmark_event_t ev;
  if (beck_nexmark_generate(&s->nexmark, n, &ev, strings, sizeof strings) != 0)
    return -1;
  size_t len = beck_nexmark_json(&ev, r->val, sizeof r->val);
  if (len >= sizeof r->val)
    return -1;
  r->vlen = (int)len;
  r->ts = beck_nexmark_event_time(&s->nexmark, n);
  return 0;
}
#define NEXMARK_MAKE make_nexmark
#else
#define NEXMARK_MAKE NULL
#endif

static const dg_generator_t generators[] = {
    {"counter", make_counter},
    {"random", make_random},
    {"nexmark", NEXMARK_MAKE},
};

static const beck_connector_option_t dg_options[] = {
    {.name = "generator",
     .type = BECK_CONNECTOR_OPT_ENUM,
     .default_value = "counter",
     .choices = "counter|random|nexmark",
     .description = "What to generate (see the connector docs for the record shapes)."},
    {.name = "rate",
     .type = BECK_CONNECTOR_OPT_DOUBLE,
     .default_value = "1000",
     .min = 0,
     .max = 1e9,
     .description = "Records per second; 0: unlimited."},
    {.name = "count",
     .type = BECK_CONNECTOR_OPT_INT,
     .default_value = "0",
     .min = 0,
     .max = 9.2e18,
     .description = "Records in total, then idle; 0: unlimited."},
    {.name = "seed", .type = BECK_CONNECTOR_OPT_INT, .default_value = "42", .description = "Random seed."},
    {.name = "timestamp.start",
     .type = BECK_CONNECTOR_OPT_STRING,
     .description = "Event time of record 0, RFC 3339 UTC (2024-01-01T00:00:00Z) or ms since the epoch; record n "
                    "then gets start + n * timestamp.step. Unset: the time each record is made."},
    {.name = "timestamp.step",
     .type = BECK_CONNECTOR_OPT_DURATION,
     .default_value = "1s",
     .min = 0,
     .max = 8.64e10,
     .description = "Event time between consecutive records, with timestamp.start."},
    {.name = "keys.cardinality",
     .type = BECK_CONNECTOR_OPT_INT,
     .default_value = "1000",
     .min = 1,
     .max = 1e12,
     .description = "random: number of distinct users (keys)."},
    {.name = "nexmark.rate",
     .type = BECK_CONNECTOR_OPT_INT,
     .default_value = "10000000",
     .min = 1,
     .max = 1e9,
     .description = "nexmark: events per second of event time (dateTime steps), as `beck bench nexmark --rate`."},
};

static int dg_create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  dg_t *s = calloc(1, sizeof *s);
  if (s == NULL) {
    host->set_error(ctx, "out of memory");
    return BECK_CONNECTOR_FATAL;
  }
  *self = s;
  s->host = host;
  s->ctx = ctx;
  const char *g = host->config_string(ctx, "generator");
  for (size_t k = 0; k < sizeof generators / sizeof generators[0]; k++)
    if (strcmp(generators[k].name, g) == 0)
      s->gen = &generators[k];
  if (s->gen == NULL || s->gen->make == NULL) {
    host->set_error(ctx,
                    "generator %s is not built into this datagen (build it with bench/nexmark/generator.c and "
                    "BECK_DATAGEN_NEXMARK)",
                    g);
    return BECK_CONNECTOR_FATAL;
  }
  s->rate = host->config_double(ctx, "rate");
  s->count = (uint64_t)host->config_int(ctx, "count");
  s->seed = (uint64_t)host->config_int(ctx, "seed");
  s->keys = (uint64_t)host->config_int(ctx, "keys.cardinality");
  const char *start = host->config_string(ctx, "timestamp.start");
  s->ts_start = -1;
  s->ts_step = host->config_int(ctx, "timestamp.step");
  if (start != NULL && (s->ts_start = parse_start(start)) < 0) {
    host->set_error(ctx, "timestamp.start '%s' is not an RFC 3339 UTC time (2024-01-01T00:00:00Z) or ms", start);
    return BECK_CONNECTOR_FATAL;
  }
#ifdef BECK_DATAGEN_NEXMARK
  beck_nexmark_config_init(&s->nexmark);
  s->nexmark.seed = s->seed;
  s->nexmark.events_per_second = host->config_int(ctx, "nexmark.rate");
  const char *why = NULL;
  if (beck_nexmark_config_check(&s->nexmark, &why) != 0) {
    host->set_error(ctx, "nexmark: %s", why);
    return BECK_CONNECTOR_FATAL;
  }
#endif
  return BECK_CONNECTOR_OK;
}

static int dg_start(void *self) {
  dg_t *s = self;
  const char *off = s->host->offset_get(s->ctx, "datagen");
  s->next = off ? strtoull(off, NULL, 10) : 0;
  s->t0 = s->host->mono_ms(s->ctx);
  s->since_t0 = 0;
  return BECK_CONNECTOR_OK;
}

static int dg_poll(void *self, beck_source_batch_t *batch) {
  dg_t *s = self;
  if (s->count > 0 && s->next >= s->count) {
    s->host->sleep_ms(s->ctx, 200);
    return BECK_CONNECTOR_OK;
  }
  uint64_t allowed = UINT64_MAX;
  if (s->rate > 0) {
    int64_t now = s->host->mono_ms(s->ctx);
    double due = (double)(now - s->t0) * s->rate / 1000.0 + 1;
    allowed = due > (double)s->since_t0 ? (uint64_t)(due - (double)s->since_t0) : 0;
    if (allowed == 0) {
      double wait = 1000.0 / s->rate;
      s->host->sleep_ms(s->ctx, wait < 1 ? 1 : wait > 100 ? 100 : (int64_t)ceil(wait));
      return BECK_CONNECTOR_OK;
    }
  }
  dg_rec_t *rec = &s->rec;
  char off[32];
  for (uint64_t k = 0; k < allowed && (s->count == 0 || s->next < s->count); k++) {
    beck_source_record_t r = BECK_SOURCE_RECORD_INIT;
    rec->klen = rec->vlen = -1;
    rec->ts = -1;
    if (s->gen->make(s, s->next, rec) != 0) {
      s->host->set_error(s->ctx, "record %llu does not fit its buffer", (unsigned long long)s->next);
      return BECK_CONNECTOR_FATAL;
    }
    r.key = rec->klen >= 0 ? rec->key : NULL;
    r.key_len = rec->klen;
    r.value = rec->vlen >= 0 ? rec->val : NULL;
    r.value_len = rec->vlen;
    r.timestamp = rec->ts >= 0 ? rec->ts : s->ts_start >= 0 ? record_time(s, s->next) : -1;
    r.source_partition = "datagen";
    snprintf(off, sizeof off, "%llu", (unsigned long long)(s->next + 1));
    r.source_offset = off;
    s->next++;
    s->since_t0++;
    int rc = beck_emit(s->host, batch, &r);
    if (rc < 0)
      return rc;
    if (rc == 1)
      break;
  }
  return BECK_CONNECTOR_OK;
}

static void dg_destroy(void *self) { free(self); }

static const beck_connector_descriptor_t datagen_source = {
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
    .struct_size = sizeof(beck_connector_descriptor_t),
    .name = "datagen-source",
    .kind = BECK_CONNECTOR_SOURCE,
    .description = "Generates counter, random or Nexmark (person/auction/bid JSON) records at a fixed rate.",
    .version = "1.0",
    .options = dg_options,
    .option_count = sizeof dg_options / sizeof dg_options[0],
    .option_size = sizeof(beck_connector_option_t),
    .create = dg_create,
    .start = dg_start,
    .poll = dg_poll,
    .destroy = dg_destroy,
};

BECK_CONNECTOR_EXPORT const beck_connector_descriptor_t *beck_connector_entry(uint32_t host_abi, uint32_t index) {
  (void)host_abi;
  return index == 0 ? &datagen_source : NULL;
}
