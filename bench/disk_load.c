/*
 * disk_load.c - beck-bench-disk: the disk's own floor for the latency of an
 * acknowledgement that waits for fsync, measured with the same workload as
 * the systems' latency runs (see load_common.h), so broker_bench.sh can put
 * it in the same table.
 *
 *   latency  records of --size bytes arrive at --rate per second (paced as
 *            the load generators pace their producers); one thread appends
 *            whatever has arrived to a file with one pwrite and calls
 *            fdatasync, again and again (a group commit with one sync in
 *            flight and nothing else: no network, no broker, no consumer).
 *            A record's latency is from its scheduled send time to the end
 *            of the fdatasync that covered it.
 *
 * --topic names the file (a path; created, truncated, removed at the end).
 * The file grows like a segment does, so each fdatasync also commits the
 * new size, as the broker's do. Prints the same "latency" JSON as the
 * other load generators.
 */
#include <fcntl.h>
#include <pthread.h>

#include "load_common.h"

static load_opts_t O;

typedef struct disk_log {
  pthread_mutex_t mu;
  pthread_cond_t cv;
  uint8_t *pending; /* records arrived, not yet written; swapped with the syncer's buffer */
  size_t pending_len, cap;
  long long arrived;  /* records handed over so far */
  long long total;    /* records in the run */
  int64_t t0;         /* schedule origin: record i is due at t0 + i * gap */
  double gap;
  long long warm;     /* the first warm records are not measured */
  load_lat_t lat;
  long long synced;
  int fd;
} disk_log_t;

static void *syncer(void *arg) {
  disk_log_t *d = arg;
  uint8_t *buf = malloc(d->cap);
  off_t at = 0;
  if (buf == NULL)
    load_die(O.prog, "out of memory");
  while (d->synced < d->total) {
    pthread_mutex_lock(&d->mu);
    while (d->arrived == d->synced)
      pthread_cond_wait(&d->cv, &d->mu);
    size_t len = d->pending_len;
    long long hi = d->arrived;
    uint8_t *full = d->pending;
    d->pending = buf;
    buf = full;
    d->pending_len = 0;
    pthread_mutex_unlock(&d->mu);
    for (size_t done = 0; done < len;) {
      ssize_t w = pwrite(d->fd, buf + done, len - done, at + (off_t)done);
      if (w < 0)
        load_die(O.prog, "write %s: %s", O.topic, strerror(errno));
      done += (size_t)w;
    }
    if (fdatasync(d->fd) != 0)
      load_die(O.prog, "fdatasync %s: %s", O.topic, strerror(errno));
    at += (off_t)len;
    int64_t now = load_now_ns();
    for (long long i = d->synced; i < hi; i++)
      if (i >= d->warm)
        load_lat_add(&d->lat, now - (d->t0 + (int64_t)((double)i * d->gap)));
    d->synced = hi;
  }
  free(buf);
  return NULL;
}

static void mode_latency(void) {
  disk_log_t d = {.mu = PTHREAD_MUTEX_INITIALIZER, .cv = PTHREAD_COND_INITIALIZER};
  d.fd = open(O.topic, O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0644);
  if (d.fd < 0)
    load_die(O.prog, "open %s: %s (--topic names the file to write)", O.topic, strerror(errno));
  d.warm = (long long)(O.warmup * O.rate);
  d.total = d.warm + (long long)(O.seconds * O.rate);
  d.gap = 1e9 / O.rate;
  /* a sync stalled for up to 2 s leaves that many records pending */
  d.cap = (size_t)(O.rate * 2 + 1024) * O.size;
  d.pending = malloc(d.cap);
  d.lat.cap = d.total;
  d.lat.v = malloc((size_t)d.total * sizeof *d.lat.v);
  if (d.pending == NULL || d.lat.v == NULL)
    load_die(O.prog, "out of memory");
  uint8_t *rec = load_payload_new(O.size);

  load_phase_t ph;
  load_phase_start(&ph, 0);
  d.t0 = ph.t0;
  pthread_t th;
  pthread_create(&th, NULL, syncer, &d);
  long long i = 0;
  while (i < d.total) {
    int64_t now = load_now_ns();
    pthread_mutex_lock(&d.mu);
    while (i < d.total && d.t0 + (int64_t)((double)i * d.gap) <= now) {
      if (d.pending_len + O.size > d.cap)
        load_die(O.prog, "a sync took longer than 2 s: %lld records waiting", i - d.synced);
      load_put_u64(rec, (uint64_t)i);
      memcpy(d.pending + d.pending_len, rec, O.size);
      d.pending_len += O.size;
      d.arrived = ++i;
    }
    pthread_cond_signal(&d.cv);
    pthread_mutex_unlock(&d.mu);
    if (i < d.total)
      load_sleep_until(d.t0 + (int64_t)((double)i * d.gap));
  }
  pthread_join(th, NULL);
  load_phase_end(&ph, 0);
  printf("{");
  load_lat_json(stdout, &d.lat, O.rate, d.total, d.synced, O.seconds, &ph, 0);
  printf("}\n");
  close(d.fd);
  unlink(O.topic);
  free(d.pending);
  free(d.lat.v);
  free(rec);
}

int main(int argc, char **argv) {
  load_parse(&O, argc, argv, "latency");
  if (O.size < 16)
    load_die(O.prog, "--size must be at least 16");
  if (strcmp(O.mode, "latency") != 0)
    load_die(O.prog, "unknown mode '%s' (latency)", O.mode);
  mode_latency();
  return 0;
}
