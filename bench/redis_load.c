/*
 * redis_load.c - beck-bench-redis: the Redis Streams load generator
 * (hiredis), the same workloads as beck-bench-kafka (see load_common.h).
 *
 * Batching, as close to librdkafka's as Redis allows (Redis has no batch
 * append: one XADD per record):
 *   produce  XADD key * v <record>, pipelined in batches of ~1 MB of records
 *            (1,000,000 / size XADDs, at most 10,000), two batches in flight:
 *            batch k+1 is sent before batch k's replies are read. Redis
 *            answers after the AOF write (appendfsync everysec) or after
 *            the AOF fsync (appendfsync always), as Beck answers acks=all.
 *   consume  XRANGE key (last-id + COUNT <same batch>: ~1 MB per round trip,
 *            like librdkafka's max.partition.fetch.bytes.
 *   latency  the producer sends each XADD as it is due and reads replies
 *            as they come; the consumer blocks in XREAD BLOCK 100 COUNT 1000.
 * --partitions is ignored: a stream is one ordered log.
 */
#include <hiredis/hiredis.h>
#include <poll.h>
#include <pthread.h>
#include <stdatomic.h>

#include "load_common.h"

static load_opts_t O;

static redisContext *connect_redis(void) {
  struct timeval tv = {.tv_sec = 10};
  redisContext *c = redisConnectWithTimeout(O.host, O.port, tv);
  if (c == NULL || c->err)
    load_die(O.prog, "connect %s:%d: %s", O.host, O.port, c ? c->errstr : "out of memory");
  struct timeval rtv = {.tv_sec = 120};
  redisSetTimeout(c, rtv);
  return c;
}

static redisReply *command(redisContext *c, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  redisReply *r = redisvCommand(c, fmt, ap);
  va_end(ap);
  if (r == NULL)
    load_die(O.prog, "redis: %s", c->errstr);
  if (r->type == REDIS_REPLY_ERROR)
    load_die(O.prog, "redis: %s", r->str);
  return r;
}

static long long batch_records(void) {
  long long b = 1000000 / (long long)O.size;
  return b < 1 ? 1 : b > 10000 ? 10000 : b;
}

static void append_xadd(redisContext *c, const uint8_t *buf) {
  const char *argv[5] = {"XADD", O.topic, "*", "v", (const char *)buf};
  size_t lens[5] = {4, strlen(O.topic), 1, 1, O.size};
  if (redisAppendCommandArgv(c, 5, argv, lens) != REDIS_OK)
    load_die(O.prog, "redis: %s", c->errstr);
}

/* Reads one XADD reply (blocking); returns 1 on an error reply. */
static int read_xadd_reply(redisContext *c) {
  void *rv;
  if (redisGetReply(c, &rv) != REDIS_OK)
    load_die(O.prog, "redis: %s", c->errstr);
  redisReply *r = rv;
  int bad = r->type != REDIS_REPLY_STRING;
  if (bad && r->type == REDIS_REPLY_ERROR)
    fprintf(stderr, "%s: XADD: %s\n", O.prog, r->str);
  freeReplyObject(r);
  return bad;
}

static long long produce_phase(redisContext *c, load_phase_t *ph) {
  uint8_t *buf = load_payload_new(O.size);
  long long b = batch_records(), i = 0, inflight_prev = 0, errors = 0;
  load_phase_start(ph, O.pid);
  int64_t deadline = ph->t0 + (int64_t)(O.seconds * 1e9);
  while (i < O.count) {
    long long k;
    for (k = 0; k < b && i < O.count; k++, i++) {
      load_put_u64(buf, (uint64_t)i);
      append_xadd(c, buf);
    }
    for (long long j = 0; j < inflight_prev; j++) /* the first read sends this batch */
      errors += read_xadd_reply(c);
    inflight_prev = k;
    if (load_now_ns() > deadline)
      break;
  }
  for (long long j = 0; j < inflight_prev; j++)
    errors += read_xadd_reply(c);
  load_phase_end(ph, O.pid);
  ph->errors = errors;
  ph->records = i - errors;
  ph->bytes = ph->records * (long long)O.size;
  free(buf);
  if (errors)
    load_die(O.prog, "%lld XADDs failed", errors);
  return i;
}

/* Feeds the entries of an XRANGE/XREAD entry array to fn; returns the count
 * and copies the last id into last (64 bytes). */
static long long for_entries(const redisReply *arr, char *last, void (*fn)(void *, const char *, size_t), void *arg) {
  if (arr->type != REDIS_REPLY_ARRAY)
    load_die(O.prog, "unexpected reply type %d", arr->type);
  for (size_t i = 0; i < arr->elements; i++) {
    const redisReply *e = arr->element[i];
    if (e->type != REDIS_REPLY_ARRAY || e->elements != 2 || e->element[1]->type != REDIS_REPLY_ARRAY ||
        e->element[1]->elements != 2)
      load_die(O.prog, "unexpected stream entry shape");
    const redisReply *v = e->element[1]->element[1];
    fn(arg, v->str, v->len);
    snprintf(last, 64, "%s", e->element[0]->str);
  }
  return (long long)arr->elements;
}

static void check_fn(void *arg, const char *p, size_t len) { load_check_record(arg, p, len, O.size); }

static void consume_phase(redisContext *c, long long n, load_phase_t *ph) {
  load_check_t chk = {0};
  char last[64] = "-", from[70];
  long long b = batch_records();
  load_phase_start(ph, O.pid);
  while (chk.n < n) {
    if (strcmp(last, "-") == 0)
      snprintf(from, sizeof from, "-");
    else
      snprintf(from, sizeof from, "(%s", last);
    redisReply *r = command(c, "XRANGE %s %s + COUNT %lld", O.topic, from, b);
    long long got = for_entries(r, last, check_fn, &chk);
    freeReplyObject(r);
    if (got == 0)
      break;
  }
  load_phase_end(ph, O.pid);
  ph->records = chk.n;
  ph->bytes = chk.n * (long long)O.size;
  const char *why = load_check_verdict(&chk, n);
  if (why)
    load_die(O.prog, "consume check failed: %s", why);
}

static void mode_pc(void) {
  redisContext *c = connect_redis();
  freeReplyObject(command(c, "DEL %s", O.topic));
  load_phase_t pp, cp;
  long long n = produce_phase(c, &pp);
  consume_phase(c, n, &cp);
  printf("{");
  load_phase_json(stdout, "produce", &pp, O.pid);
  printf(", ");
  load_phase_json(stdout, "consume", &cp, O.pid);
  printf("}\n");
  freeReplyObject(command(c, "DEL %s", O.topic)); /* Redis keeps streams in memory: free it for the next run */
  redisFree(c);
}

/* ---- latency ---- */

typedef struct lat_consumer {
  redisContext *c;
  long long expect, warm, received;
  int64_t give_up_ns;
  load_lat_t lat;
  int64_t now; /* receive time of the reply being walked */
} lat_consumer_t;

static void lat_fn(void *arg, const char *p, size_t len) {
  lat_consumer_t *lc = arg;
  if (len != O.size)
    return;
  lc->received++;
  if ((long long)load_get_u64((const uint8_t *)p) >= lc->warm)
    load_lat_add(&lc->lat, lc->now - (int64_t)load_get_u64((const uint8_t *)p + 8));
}

static void *lat_consume(void *arg) {
  lat_consumer_t *lc = arg;
  char last[64] = "0-0";
  while (lc->received < lc->expect && load_now_ns() < lc->give_up_ns) {
    redisReply *r = command(lc->c, "XREAD BLOCK 100 COUNT 1000 STREAMS %s %s", O.topic, last);
    lc->now = load_now_ns();
    if (r->type == REDIS_REPLY_ARRAY) /* nil on timeout */
      for (size_t i = 0; i < r->elements; i++)
        if (r->element[i]->type == REDIS_REPLY_ARRAY && r->element[i]->elements == 2)
          for_entries(r->element[i]->element[1], last, lat_fn, lc);
    freeReplyObject(r);
  }
  return NULL;
}

/* Takes every reply already buffered or readable without blocking. */
static long long drain_replies(redisContext *c, long long *errors) {
  long long n = 0;
  struct pollfd pfd = {.fd = c->fd, .events = POLLIN};
  if (poll(&pfd, 1, 0) > 0 && redisBufferRead(c) != REDIS_OK)
    load_die(O.prog, "redis: %s", c->errstr);
  void *rv;
  for (;;) {
    if (redisGetReplyFromReader(c, &rv) != REDIS_OK)
      load_die(O.prog, "redis: %s", c->errstr);
    if (rv == NULL)
      break;
    if (((redisReply *)rv)->type != REDIS_REPLY_STRING)
      (*errors)++;
    freeReplyObject(rv);
    n++;
  }
  return n;
}

static void mode_latency(void) {
  redisContext *c = connect_redis();
  freeReplyObject(command(c, "DEL %s", O.topic));
  lat_consumer_t lc = {0};
  lc.c = connect_redis();
  lc.warm = (long long)(O.warmup * O.rate);
  lc.expect = lc.warm + (long long)(O.seconds * O.rate);
  lc.lat.cap = lc.expect;
  lc.lat.v = malloc((size_t)lc.expect * sizeof *lc.lat.v);
  lc.give_up_ns = load_now_ns() + (int64_t)((O.warmup + O.seconds + 30) * 1e9);
  pthread_t th;
  pthread_create(&th, NULL, lat_consume, &lc);
  usleep(200000);

  uint8_t *buf = load_payload_new(O.size);
  load_phase_t ph;
  load_phase_start(&ph, O.pid);
  double gap = 1e9 / O.rate;
  long long i = 0, replies = 0, errors = 0;
  while (i < lc.expect) {
    int64_t now = load_now_ns();
    bool sent = false;
    while (i < lc.expect && ph.t0 + (int64_t)((double)i * gap) <= now) {
      load_put_u64(buf, (uint64_t)i);
      load_put_u64(buf + 8, (uint64_t)(ph.t0 + (int64_t)((double)i * gap)));
      append_xadd(c, buf);
      i++;
      sent = true;
    }
    if (sent) {
      int done = 0;
      while (!done)
        if (redisBufferWrite(c, &done) != REDIS_OK)
          load_die(O.prog, "redis: %s", c->errstr);
    }
    replies += drain_replies(c, &errors);
    if (i < lc.expect)
      load_sleep_until(ph.t0 + (int64_t)((double)i * gap));
  }
  for (; replies < i; replies++)
    errors += read_xadd_reply(c);
  pthread_join(th, NULL);
  load_phase_end(&ph, O.pid);
  if (errors)
    load_die(O.prog, "%lld XADDs failed", errors);
  printf("{");
  load_lat_json(stdout, &lc.lat, O.rate, i, lc.received, O.seconds, &ph, O.pid);
  printf("}\n");
  if (lc.received < lc.expect)
    load_die(O.prog, "latency: received %lld of %lld records", lc.received, lc.expect);
  redisFree(lc.c);
  redisFree(c);
  free(lc.lat.v);
  free(buf);
}

int main(int argc, char **argv) {
  load_parse(&O, argc, argv, "pc | latency");
  if (O.port == 0)
    load_die(O.prog, "give --server HOST:PORT");
  if (strcmp(O.mode, "pc") == 0)
    mode_pc();
  else if (strcmp(O.mode, "latency") == 0)
    mode_latency();
  else
    load_die(O.prog, "unknown mode '%s' (pc | latency)", O.mode);
  return 0;
}
