/*
 * nats_load.c - beck-bench-nats: the NATS JetStream load generator (the
 * NATS C client, libnats), the same workloads as beck-bench-kafka (see
 * load_common.h).
 *
 * The stream (--topic names both the stream and its one subject) is file
 * storage, one replica, limits retention, recreated empty by every run.
 * Batching, as close to librdkafka's as JetStream allows (it has no batch
 * publish: each message is stored and acknowledged on its own):
 *   produce  js_PublishAsync per record with up to W acks outstanding,
 *            W = max(4000 (the client's default), 2 MB of records), then
 *            js_PublishAsyncComplete; the client coalesces the writes.
 *   consume  an ordered push consumer (no acks, flow control, from the
 *            stream's start): the fastest way JetStream reads a stream
 *            here, ~1.3-1.4x a pull consumer fetching ~1 MB per request.
 *   latency  SendAsap publisher (like linger.ms=0); an ordered push
 *            consumer delivers each message as it is stored.
 * --partitions is ignored: one stream, one subject.
 */
#include <nats/nats.h>
#include <pthread.h>
#include <stdatomic.h>

#include "load_common.h"

static load_opts_t O;
static atomic_llong g_pub_errors;

static void check(natsStatus s, const char *what) {
  if (s != NATS_OK)
    load_die(O.prog, "%s: %s (%s)", what, natsStatus_GetText(s), nats_GetLastError(NULL));
}

static void pub_err(jsCtx *js, jsPubAckErr *pae, void *closure) {
  if (atomic_fetch_add(&g_pub_errors, 1) == 0)
    fprintf(stderr, "%s: publish: %s %s\n", O.prog, natsStatus_GetText(pae->Err), pae->ErrText ? pae->ErrText : "");
}

static long long window(void) {
  long long w = 2000000 / (long long)O.size;
  return w < 4000 ? 4000 : w;
}

typedef struct nats_target {
  natsConnection *nc;
  jsCtx *js;
} nats_target_t;

static void target_open(nats_target_t *t, bool send_asap) {
  natsOptions *opts;
  char url[300];
  snprintf(url, sizeof url, "nats://%s:%d", O.host, O.port);
  check(natsOptions_Create(&opts), "options");
  check(natsOptions_SetURL(opts, url), "url");
  check(natsOptions_SetSendAsap(opts, send_asap), "send asap");
  check(natsOptions_SetMaxPendingMsgs(opts, 10000000), "max pending");
  check(natsConnection_Connect(&t->nc, opts), url);
  natsOptions_Destroy(opts);
  jsOptions jo;
  jsOptions_Init(&jo);
  jo.Wait = 60000;
  jo.PublishAsync.MaxPending = window();
  jo.PublishAsync.ErrHandler = pub_err;
  check(natsConnection_JetStream(&t->js, t->nc, &jo), "jetstream context");
  /* a fresh, empty stream */
  js_DeleteStream(t->js, O.topic, NULL, NULL);
  jsStreamConfig sc;
  jsStreamConfig_Init(&sc);
  const char *subjects[1] = {O.topic};
  sc.Name = O.topic;
  sc.Subjects = subjects;
  sc.SubjectsLen = 1;
  sc.Storage = js_FileStorage;
  sc.Retention = js_LimitsPolicy;
  sc.Replicas = 1;
  jsErrCode jerr = 0;
  check(js_AddStream(NULL, t->js, &sc, NULL, &jerr), "create stream");
}

static void target_close(nats_target_t *t) {
  jsCtx_Destroy(t->js);
  natsConnection_Destroy(t->nc);
}

static long long produce_phase(nats_target_t *t, load_phase_t *ph) {
  uint8_t *buf = load_payload_new(O.size);
  load_phase_start(ph, O.pid);
  int64_t deadline = ph->t0 + (int64_t)(O.seconds * 1e9);
  long long i;
  for (i = 0; i < O.count; i++) {
    load_put_u64(buf, (uint64_t)i);
    check(js_PublishAsync(t->js, O.topic, buf, (int)O.size, NULL), "publish");
    if ((i & 1023) == 1023 && load_now_ns() > deadline) {
      i++;
      break;
    }
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 300000;
  check(js_PublishAsyncComplete(t->js, &po), "publish complete");
  load_phase_end(ph, O.pid);
  ph->errors = atomic_load(&g_pub_errors);
  ph->records = i - ph->errors;
  ph->bytes = ph->records * (long long)O.size;
  free(buf);
  if (ph->errors)
    load_die(O.prog, "%lld publishes failed", ph->errors);
  return i;
}

/* The ordered push consumer's callback (one thread per subscription). */
typedef struct push_state {
  load_check_t chk;
  atomic_llong n;
} push_state_t;

static void on_push(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
  push_state_t *ps = closure;
  load_check_record(&ps->chk, natsMsg_GetData(msg), (size_t)natsMsg_GetDataLength(msg), O.size);
  atomic_fetch_add(&ps->n, 1); /* publishes chk to the waiting thread */
  natsMsg_Destroy(msg);
}

static void consume_phase(nats_target_t *t, long long n, load_phase_t *ph) {
  static push_state_t ps;
  natsSubscription *sub = NULL;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = O.topic;
  so.Ordered = true;
  jsErrCode jerr = 0;
  load_phase_start(ph, O.pid);
  check(js_Subscribe(&sub, t->js, O.topic, on_push, &ps, NULL, &so, &jerr), "subscribe");
  check(natsSubscription_SetPendingLimits(sub, -1, -1), "pending limits");
  int64_t last_progress = load_now_ns();
  long long seen = 0;
  while (atomic_load(&ps.n) < n) {
    usleep(100);
    long long now_n = atomic_load(&ps.n);
    if (now_n != seen) {
      seen = now_n;
      last_progress = load_now_ns();
    } else if (load_now_ns() - last_progress > 30 * 1000000000LL) {
      load_die(O.prog, "consume: nothing for 30 s after %lld of %lld records", seen, n);
    }
  }
  load_phase_end(ph, O.pid);
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  ph->records = ps.chk.n;
  ph->bytes = ps.chk.n * (long long)O.size;
  const char *why = load_check_verdict(&ps.chk, n);
  if (why)
    load_die(O.prog, "consume check failed: %s", why);
}

static void mode_pc(void) {
  nats_target_t t;
  target_open(&t, false);
  load_phase_t pp, cp;
  long long n = produce_phase(&t, &pp);
  consume_phase(&t, n, &cp);
  printf("{");
  load_phase_json(stdout, "produce", &pp, O.pid);
  printf(", ");
  load_phase_json(stdout, "consume", &cp, O.pid);
  printf("}\n");
  js_DeleteStream(t.js, O.topic, NULL, NULL); /* its files are not needed again */
  target_close(&t);
}

/* ---- latency ---- */

typedef struct lat_consumer {
  long long warm;
  atomic_llong received;
  load_lat_t lat;
} lat_consumer_t;

static void on_msg(natsConnection *nc, natsSubscription *sub, natsMsg *msg, void *closure) {
  lat_consumer_t *lc = closure;
  int64_t now = load_now_ns();
  const uint8_t *p = (const uint8_t *)natsMsg_GetData(msg);
  if ((size_t)natsMsg_GetDataLength(msg) == O.size) {
    if ((long long)load_get_u64(p) >= lc->warm)
      load_lat_add(&lc->lat, now - (int64_t)load_get_u64(p + 8));
    atomic_fetch_add(&lc->received, 1);
  }
  natsMsg_Destroy(msg);
}

static void mode_latency(void) {
  nats_target_t t;
  target_open(&t, true);
  lat_consumer_t lc = {0};
  lc.warm = (long long)(O.warmup * O.rate);
  long long expect = lc.warm + (long long)(O.seconds * O.rate);
  lc.lat.cap = expect;
  lc.lat.v = malloc((size_t)expect * sizeof *lc.lat.v);
  natsSubscription *sub = NULL;
  jsSubOptions so;
  jsSubOptions_Init(&so);
  so.Stream = O.topic;
  so.Ordered = true;
  jsErrCode jerr = 0;
  check(js_Subscribe(&sub, t.js, O.topic, on_msg, &lc, NULL, &so, &jerr), "subscribe");
  check(natsSubscription_SetPendingLimits(sub, -1, -1), "pending limits");
  usleep(200000);

  uint8_t *buf = load_payload_new(O.size);
  load_phase_t ph;
  load_phase_start(&ph, O.pid);
  double gap = 1e9 / O.rate;
  long long i = 0;
  while (i < expect) {
    int64_t now = load_now_ns();
    while (i < expect && ph.t0 + (int64_t)((double)i * gap) <= now) {
      load_put_u64(buf, (uint64_t)i);
      load_put_u64(buf + 8, (uint64_t)(ph.t0 + (int64_t)((double)i * gap)));
      check(js_PublishAsync(t.js, O.topic, buf, (int)O.size, NULL), "publish");
      i++;
    }
    if (i < expect)
      load_sleep_until(ph.t0 + (int64_t)((double)i * gap));
  }
  jsPubOptions po;
  jsPubOptions_Init(&po);
  po.MaxWait = 60000;
  check(js_PublishAsyncComplete(t.js, &po), "publish complete");
  int64_t give_up = load_now_ns() + 30 * 1000000000LL;
  while (atomic_load(&lc.received) < expect && load_now_ns() < give_up)
    usleep(1000);
  load_phase_end(&ph, O.pid);
  natsSubscription_Unsubscribe(sub);
  natsSubscription_Destroy(sub);
  long long received = atomic_load(&lc.received);
  if (atomic_load(&g_pub_errors))
    load_die(O.prog, "%lld publishes failed", (long long)atomic_load(&g_pub_errors));
  printf("{");
  load_lat_json(stdout, &lc.lat, O.rate, i, received, O.seconds, &ph, O.pid);
  printf("}\n");
  if (received < expect)
    load_die(O.prog, "latency: received %lld of %lld records", received, expect);
  target_close(&t);
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
  nats_Close();
  return 0;
}
