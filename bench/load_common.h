/*
 * load_common.h - what the broker load generators share (beck-bench-kafka,
 * beck-bench-redis, beck-bench-nats; driven by bench/broker_bench.sh).
 *
 * Every generator runs the same workloads against its system and prints one
 * JSON object on stdout:
 *
 *   pc       produce --count records of --size bytes, one producer, then
 *            consume exactly those records, one consumer:
 *              {"produce": {...}, "consume": {...}}
 *   latency  one producer paced at --rate records/s for --seconds (after
 *            --warmup seconds that are not counted), one consumer reading
 *            concurrently; latency = receive time - intended send time
 *            (CLOCK_MONOTONIC, same process), so a stalled producer counts
 *            against the system, not for it (no coordinated omission):
 *              {"latency": {...}}
 *
 * Each record's first 8 bytes are its sequence number; the consumer checks
 * the count, every size, and the sum of sequence numbers, and the run fails
 * (exit 1) on any mismatch. With --pid the broker's CPU seconds
 * (/proc/PID/stat utime + stime, all threads) are sampled at the start and
 * end of each phase, with our own and the whole machine's (/proc/stat), so
 * the report can say how much else ran meanwhile.
 *
 * Everything here is static inline: each generator is one .c file plus this.
 */
#ifndef BECK_BENCH_LOAD_COMMON_H
#define BECK_BENCH_LOAD_COMMON_H

#include <dirent.h>
#include <errno.h>
#include <getopt.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <time.h>
#include <unistd.h>

#define LOAD_MAX_CONFIGS 16

typedef struct load_opts {
  const char *prog;
  const char *mode;
  char host[256];
  int port;
  bool mock;         /* kafka: librdkafka's in-process mock cluster */
  const char *topic; /* topic, stream or key */
  size_t size;       /* record value bytes (>= 16) */
  long long count;   /* records to produce (pc) */
  double seconds;    /* pc: produce time cap; latency: measured time */
  double warmup;     /* latency: seconds not counted */
  int partitions;
  double rate;       /* latency: records/s */
  int pid;           /* broker pid for CPU accounting, 0 = none */
  int linger_ms;     /* kafka: -1 = the mode's default */
  const char *configs[LOAD_MAX_CONFIGS]; /* kafka create: key=value */
  int nconfigs;
  const char *pconfigs[LOAD_MAX_CONFIGS]; /* kafka: extra producer settings */
  int npconfigs;
  const char *cconfigs[LOAD_MAX_CONFIGS]; /* kafka: extra consumer settings */
  int ncconfigs;
} load_opts_t;

static inline void load_die(const char *prog, const char *fmt, ...) __attribute__((format(printf, 2, 3), noreturn));
static inline void load_die(const char *prog, const char *fmt, ...) {
  va_list ap;
  va_start(ap, fmt);
  fprintf(stderr, "%s: ", prog);
  vfprintf(stderr, fmt, ap);
  va_end(ap);
  fputc('\n', stderr);
  exit(1);
}

static inline int64_t load_now_ns(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000000000 + ts.tv_nsec;
}

static inline void load_sleep_until(int64_t t_ns) {
  struct timespec ts = {.tv_sec = t_ns / 1000000000, .tv_nsec = t_ns % 1000000000};
  while (clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &ts, NULL) == EINTR)
    ;
}

/* CPU seconds (utime + stime) in a /proc stat file, 0 when unreadable. */
static inline double load_stat_cpu(const char *path) {
  char buf[2048];
  FILE *f = fopen(path, "r");
  if (f == NULL)
    return 0;
  size_t n = fread(buf, 1, sizeof buf - 1, f);
  fclose(f);
  buf[n] = '\0';
  char *p = strrchr(buf, ')'); /* comm may hold spaces */
  if (p == NULL)
    return 0;
  unsigned long long utime = 0, stime = 0;
  /* after ')': state(3) ... utime is field 14, stime 15 */
  if (sscanf(p + 2, "%*c %*d %*d %*d %*d %*d %*u %*u %*u %*u %*u %llu %llu", &utime, &stime) != 2)
    return 0;
  return (double)(utime + stime) / (double)sysconf(_SC_CLK_TCK);
}

/* CPU seconds of process pid (all threads), or 0 when pid is 0 or gone. */
static inline double load_proc_cpu(int pid) {
  if (pid <= 0)
    return 0;
  char path[64];
  snprintf(path, sizeof path, "/proc/%d/stat", pid);
  return load_stat_cpu(path);
}

/* CPU seconds of each of this process's threads now. */
#define LOAD_MAX_THREADS 128
typedef struct load_threads {
  int n;
  int tid[LOAD_MAX_THREADS];
  double cpu[LOAD_MAX_THREADS];
} load_threads_t;

static inline void load_threads_now(load_threads_t *t) {
  t->n = 0;
  DIR *d = opendir("/proc/self/task");
  if (d == NULL)
    return;
  struct dirent *de;
  while ((de = readdir(d)) != NULL && t->n < LOAD_MAX_THREADS) {
    int tid = atoi(de->d_name);
    if (tid <= 0)
      continue;
    char path[64];
    snprintf(path, sizeof path, "/proc/self/task/%d/stat", tid);
    t->tid[t->n] = tid;
    t->cpu[t->n++] = load_stat_cpu(path);
  }
  closedir(d);
}

/* The largest share of one CPU any client thread used between a and b
 * (threads born in between count from 0): near 1.0, that thread (a
 * client library's I/O or parsing thread, say) is what limits the run. */
static inline double load_busiest_thread(const load_threads_t *a, const load_threads_t *b, double secs) {
  double best = 0;
  for (int i = 0; i < b->n; i++) {
    double before = 0;
    for (int j = 0; j < a->n; j++)
      if (a->tid[j] == b->tid[i])
        before = a->cpu[j];
    if (b->cpu[i] - before > best)
      best = b->cpu[i] - before;
  }
  return secs > 0 ? best / secs : 0;
}

/* CPU seconds the whole machine has been busy (all CPUs, every process):
 * with the broker's and our own, what else ran during a phase. */
static inline double load_machine_cpu(void) {
  FILE *f = fopen("/proc/stat", "r");
  if (f == NULL)
    return 0;
  unsigned long long v[8] = {0};
  int n = fscanf(f, "cpu %llu %llu %llu %llu %llu %llu %llu %llu", &v[0], &v[1], &v[2], &v[3], &v[4], &v[5], &v[6],
                 &v[7]);
  fclose(f);
  if (n < 8)
    return 0;
  /* user nice system [idle iowait] irq softirq steal */
  return (double)(v[0] + v[1] + v[2] + v[5] + v[6] + v[7]) / (double)sysconf(_SC_CLK_TCK);
}

static inline double load_self_cpu(void) {
  struct rusage ru;
  getrusage(RUSAGE_SELF, &ru);
  return (double)ru.ru_utime.tv_sec + ru.ru_utime.tv_usec / 1e6 + (double)ru.ru_stime.tv_sec +
         ru.ru_stime.tv_usec / 1e6;
}

static inline void load_put_u64(uint8_t *p, uint64_t v) { memcpy(p, &v, 8); }
static inline uint64_t load_get_u64(const uint8_t *p) {
  uint64_t v;
  memcpy(&v, p, 8);
  return v;
}

/* A record body of size bytes: incompressible filler after the 16-byte header. */
static inline uint8_t *load_payload_new(size_t size) {
  uint8_t *p = malloc(size);
  if (p == NULL)
    return NULL;
  uint64_t x = 0x9e3779b97f4a7c15ull;
  for (size_t i = 0; i < size; i++) {
    x ^= x << 13;
    x ^= x >> 7;
    x ^= x << 17;
    p[i] = (uint8_t)x;
  }
  return p;
}

/* One measured phase: wall time, records, bytes, CPU of broker and client. */
typedef struct load_phase {
  int64_t t0, t1;
  double bcpu0, bcpu1, ccpu0, ccpu1, mcpu0, mcpu1;
  long long records, bytes, errors;
  load_threads_t th0;
  double busiest; /* share of a CPU of the busiest client thread */
} load_phase_t;

static inline void load_phase_start(load_phase_t *ph, int pid) {
  memset(ph, 0, sizeof *ph);
  ph->bcpu0 = load_proc_cpu(pid);
  ph->ccpu0 = load_self_cpu();
  ph->mcpu0 = load_machine_cpu();
  load_threads_now(&ph->th0);
  ph->t0 = load_now_ns();
}

static inline void load_phase_end(load_phase_t *ph, int pid) {
  ph->t1 = load_now_ns();
  ph->bcpu1 = load_proc_cpu(pid);
  ph->ccpu1 = load_self_cpu();
  ph->mcpu1 = load_machine_cpu();
  load_threads_t th1;
  load_threads_now(&th1);
  ph->busiest = load_busiest_thread(&ph->th0, &th1, (double)(ph->t1 - ph->t0) / 1e9);
}

/* "null" without a pid, else the CPU seconds; buf must hold 32 bytes. */
static inline const char *load_cpu_str(char *buf, double cpu, int pid) {
  if (pid <= 0)
    return "null";
  snprintf(buf, 32, "%.3f", cpu);
  return buf;
}

static inline void load_phase_json(FILE *out, const char *name, const load_phase_t *ph, int pid) {
  char cpu[32];
  double secs = (double)(ph->t1 - ph->t0) / 1e9;
  if (secs <= 0)
    secs = 1e-9;
  fprintf(out,
          "\"%s\": {\"records\": %lld, \"bytes\": %lld, \"errors\": %lld, \"seconds\": %.6f, "
          "\"records_per_s\": %.1f, \"mb_per_s\": %.3f, \"broker_cpu_s\": %s, \"client_cpu_s\": %.3f, \"machine_cpu_s\": %.3f, "
          "\"busiest_client_thread\": %.3f}",
          name, ph->records, ph->bytes, ph->errors, secs, (double)ph->records / secs, (double)ph->bytes / secs / 1e6,
          load_cpu_str(cpu, ph->bcpu1 - ph->bcpu0, pid), ph->ccpu1 - ph->ccpu0, ph->mcpu1 - ph->mcpu0, ph->busiest);
}

/* Consumer-side check: sizes, count and sequence sum (0 + 1 + ... + n-1). */
typedef struct load_check {
  long long n, bad_size;
  unsigned __int128 seq_sum;
} load_check_t;

static inline void load_check_record(load_check_t *c, const void *p, size_t len, size_t size) {
  c->n++;
  if (len != size || len < 8) {
    c->bad_size++;
    return;
  }
  c->seq_sum += load_get_u64(p);
}

/* Returns NULL when the consumer saw exactly records 0..n-1, else why not. */
static inline const char *load_check_verdict(const load_check_t *c, long long n) {
  static char why[160];
  unsigned __int128 want = (unsigned __int128)n * (unsigned __int128)(n - 1) / 2;
  if (c->n != n)
    snprintf(why, sizeof why, "consumed %lld records, produced %lld", c->n, n);
  else if (c->bad_size)
    snprintf(why, sizeof why, "%lld records had the wrong size", c->bad_size);
  else if (c->seq_sum != want)
    snprintf(why, sizeof why, "sequence numbers do not add up: records lost or duplicated");
  else
    return NULL;
  return why;
}

/* Latency samples in ns; one slot per expected record. */
typedef struct load_lat {
  int64_t *v;
  long long n, cap;
} load_lat_t;

static inline void load_lat_add(load_lat_t *l, int64_t ns) {
  if (l->n < l->cap)
    l->v[l->n++] = ns;
}

static inline int load_cmp_i64(const void *a, const void *b) {
  int64_t x = *(const int64_t *)a, y = *(const int64_t *)b;
  return (x > y) - (x < y);
}

static inline double load_lat_pct_us(const load_lat_t *l, double pct) {
  if (l->n == 0)
    return -1;
  long long i = (long long)(pct / 100.0 * (double)(l->n - 1) + 0.5);
  return (double)l->v[i] / 1e3;
}

/* Sorts the samples and prints the "latency" member. */
static inline void load_lat_json(FILE *out, load_lat_t *l, double rate, long long sent, long long received,
                                 double seconds, const load_phase_t *ph, int pid) {
  char cpu[32];
  qsort(l->v, (size_t)l->n, sizeof l->v[0], load_cmp_i64);
  double secs = (double)(ph->t1 - ph->t0) / 1e9;
  fprintf(out,
          "\"latency\": {\"rate\": %.0f, \"seconds\": %.3f, \"sent\": %lld, \"received\": %lld, \"samples\": %lld, "
          "\"p50_us\": %.1f, \"p99_us\": %.1f, \"p999_us\": %.1f, \"max_us\": %.1f, \"broker_cpu_s\": %s, "
          "\"client_cpu_s\": %.3f, \"machine_cpu_s\": %.3f, \"wall_s\": %.3f}",
          rate, seconds, sent, received, l->n, load_lat_pct_us(l, 50), load_lat_pct_us(l, 99),
          load_lat_pct_us(l, 99.9), l->n ? (double)l->v[l->n - 1] / 1e3 : -1.0,
          load_cpu_str(cpu, ph->bcpu1 - ph->bcpu0, pid), ph->ccpu1 - ph->ccpu0, ph->mcpu1 - ph->mcpu0, secs);
}

static inline void load_usage(FILE *out, const char *prog, const char *modes) {
  fprintf(out,
          "Usage: %s MODE [options]\n"
          "Modes: %s\n"
          "  --server HOST:PORT  the system under test (127.0.0.1 only in the bench)\n"
          "  --topic NAME        topic / stream / key (default bench)\n"
          "  --size BYTES        record value size, >= 16 (default 100)\n"
          "  --count N           records to produce and consume (pc; default 1000000)\n"
          "  --seconds S         pc: stop producing after S s; latency: measured seconds (default 10)\n"
          "  --warmup S          latency: seconds sent before measuring (default 1)\n"
          "  --rate R            latency: records per second (default 50000)\n"
          "  --partitions P      partitions (kafka; default 1)\n"
          "  --pid PID           the broker's pid, for its CPU seconds per phase\n"
          "  --mock              kafka: librdkafka's in-process mock cluster instead of --server\n"
          "  --linger MS         kafka: linger.ms (default 5 for pc, 0 for latency)\n"
          "  --config K=V        kafka create: a topic config (repeatable)\n"
          "  --producer-config K=V, --consumer-config K=V\n"
          "                      kafka: librdkafka settings over the bench's (repeatable)\n"
          "Prints one JSON object on stdout; exits 1 if a check fails.\n",
          prog, modes);
}

/* Parses argv into o; exits on a bad argument. */
static inline void load_parse(load_opts_t *o, int argc, char **argv, const char *modes) {
  memset(o, 0, sizeof *o);
  o->prog = argv[0];
  const char *slash = strrchr(o->prog, '/');
  if (slash)
    o->prog = slash + 1;
  o->topic = "bench";
  o->size = 100;
  o->count = 1000000;
  o->seconds = 10;
  o->warmup = 1;
  o->rate = 50000;
  o->partitions = 1;
  o->linger_ms = -1;
  snprintf(o->host, sizeof o->host, "127.0.0.1");
  static const struct option longopts[] = {
      {"server", required_argument, NULL, 's'}, {"topic", required_argument, NULL, 't'},
      {"size", required_argument, NULL, 'z'},   {"count", required_argument, NULL, 'n'},
      {"seconds", required_argument, NULL, 'S'}, {"warmup", required_argument, NULL, 'w'},
      {"rate", required_argument, NULL, 'r'},   {"partitions", required_argument, NULL, 'p'},
      {"pid", required_argument, NULL, 'P'},    {"mock", no_argument, NULL, 'm'},
      {"linger", required_argument, NULL, 'l'}, {"config", required_argument, NULL, 'c'},
      {"producer-config", required_argument, NULL, 'x'},
      {"consumer-config", required_argument, NULL, 'y'},
      {"help", no_argument, NULL, 'h'},         {NULL, 0, NULL, 0},
  };
  int ch;
  while ((ch = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
    switch (ch) {
    case 's': {
      const char *colon = strrchr(optarg, ':');
      if (colon == NULL || (size_t)(colon - optarg) >= sizeof o->host)
        load_die(o->prog, "--server wants HOST:PORT, got '%s'", optarg);
      memcpy(o->host, optarg, (size_t)(colon - optarg));
      o->host[colon - optarg] = '\0';
      o->port = atoi(colon + 1);
      break;
    }
    case 't': o->topic = optarg; break;
    case 'z': o->size = (size_t)strtoull(optarg, NULL, 10); break;
    case 'n': o->count = strtoll(optarg, NULL, 10); break;
    case 'S': o->seconds = strtod(optarg, NULL); break;
    case 'w': o->warmup = strtod(optarg, NULL); break;
    case 'r': o->rate = strtod(optarg, NULL); break;
    case 'p': o->partitions = atoi(optarg); break;
    case 'P': o->pid = atoi(optarg); break;
    case 'm': o->mock = true; break;
    case 'l': o->linger_ms = atoi(optarg); break;
    case 'c':
      if (o->nconfigs == LOAD_MAX_CONFIGS)
        load_die(o->prog, "at most %d --config", LOAD_MAX_CONFIGS);
      o->configs[o->nconfigs++] = optarg;
      break;
    case 'x':
      if (o->npconfigs == LOAD_MAX_CONFIGS)
        load_die(o->prog, "at most %d --producer-config", LOAD_MAX_CONFIGS);
      o->pconfigs[o->npconfigs++] = optarg;
      break;
    case 'y':
      if (o->ncconfigs == LOAD_MAX_CONFIGS)
        load_die(o->prog, "at most %d --consumer-config", LOAD_MAX_CONFIGS);
      o->cconfigs[o->ncconfigs++] = optarg;
      break;
    case 'h': load_usage(stdout, o->prog, modes); exit(0);
    default: load_usage(stderr, o->prog, modes); exit(2);
    }
  }
  if (optind != argc - 1) {
    load_usage(stderr, o->prog, modes);
    exit(2);
  }
  o->mode = argv[optind];
  if (o->size < 16)
    load_die(o->prog, "--size must be at least 16 (sequence number and timestamp)");
  if (o->count < 1 || o->partitions < 1 || o->rate <= 0 || o->seconds <= 0)
    load_die(o->prog, "--count, --partitions, --rate and --seconds must be positive");
}

#endif
