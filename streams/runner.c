/*
 * runner.c - the runtime: a topology's tasks over the log client, run on
 * the calling thread (run_until_idle, advance) or on a thread pool
 * (start/stop).
 *
 * Threads: task i belongs to thread i % threads for the life of the
 * runtime (static assignment; no rebalancing inside one process). A thread
 * loops over its tasks:
 *
 *   poll every task (one batch per input) --> anything read?
 *     yes: commit the dirty tasks when commit_interval_ms has passed
 *     no:  commit the dirty tasks now (outputs flow without waiting for the
 *          interval), then sleep with backoff (1 ms doubling to 16 ms)
 *   on stop: commit every task (stores checkpointed), exit
 *   on a task error: record it (first one wins), tell every thread to stop
 *
 * Tasks share nothing but the log client (thread-safe) and the immutable
 * topology, so threads need no locks beyond the error slot.
 *
 * Guarantees: at-least-once tasks share one io over the client; under
 * BECK_EXACTLY_ONCE (embedded client only) every task gets its own
 * transactional io (one client transaction per task), and each task
 * commit is one transaction (task.c).
 *
 * Where later work plugs in:
 *   - remote mode: only the client differs (beck_client_open_remote);
 *     test_runtime.c runs against the built broker and librdkafka's mock
 *     cluster; exactly-once there needs Kafka transactions (a
 *     transactional producer in io_client.c and a broker that has them);
 *   - consumer-group rebalancing across processes: tasks are created per
 *     (sub-topology, partition) by beck_streams_new; assigning a subset of
 *     them per process is where a group protocol would decide.
 */
#include "streams_int.h"

#include <pthread.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "client/client.h"

struct beck_streams {
  beck_topology_t *topo;
  beck__io_t *io;
  beck__io_t **tios; /* exactly-once: one transactional io per task, else NULL */
  beck__task_config_t tcfg;
  int threads;
  int64_t commit_ms;
  beck__task_t **tasks;
  int ntasks;
  pthread_t *tids;
  int nstarted;
  volatile int stopping;
  pthread_mutex_t mu;
  beck_error_t err; /* first task failure */
};

typedef struct worker {
  beck_streams_t *s;
  int index;
} worker_t;

static int64_t mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

static void record_error(beck_streams_t *s, const beck_error_t *e) {
  pthread_mutex_lock(&s->mu);
  if (s->err.code == BECK_ERR_OK)
    s->err = *e;
  s->stopping = 1;
  pthread_mutex_unlock(&s->mu);
  beck_log("streams", BECK_LOG_ERROR, "%s: %s", s->topo->app_id, e->msg);
}

static beck_err_t commit_dirty(beck_streams_t *s, int index, bool all, bool checkpoint, beck_error_t *e) {
  for (int i = index; i < s->ntasks; i += s->threads) {
    beck__task_t *t = s->tasks[i];
    if (!all && !t->dirty)
      continue;
    beck_err_t rc = beck__task_commit(t, checkpoint, e);
    if (rc != BECK_ERR_OK)
      return rc;
  }
  return BECK_ERR_OK;
}

static void *worker_main(void *arg) {
  worker_t *w = arg;
  beck_streams_t *s = w->s;
  int index = w->index;
  beck_free(w);
  beck_error_t e;
  beck_error_clear(&e);
  int64_t last_commit = mono_ms();
  int backoff = 1;
  while (!__atomic_load_n(&s->stopping, __ATOMIC_ACQUIRE)) {
    size_t total = 0;
    beck_err_t rc = BECK_ERR_OK;
    for (int i = index; i < s->ntasks && rc == BECK_ERR_OK; i += s->threads) {
      size_t did = 0;
      rc = beck__task_poll(s->tasks[i], &did, &e);
      total += did;
    }
    int64_t now = mono_ms();
    if (rc == BECK_ERR_OK && (total == 0 || now - last_commit >= s->commit_ms)) {
      rc = commit_dirty(s, index, false, false, &e);
      last_commit = now;
    }
    if (rc != BECK_ERR_OK) {
      record_error(s, &e);
      return NULL;
    }
    if (total > 0) {
      backoff = 1;
    } else {
      struct timespec ts = {0, (long)backoff * 1000000L};
      nanosleep(&ts, NULL);
      if (backoff < 16)
        backoff *= 2;
    }
  }
  if (commit_dirty(s, index, true, true, &e) != BECK_ERR_OK)
    record_error(s, &e);
  return NULL;
}

beck_err_t beck_streams_new(beck_topology_t *t, struct beck_client *client, const beck_streams_config_t *cfg,
                            beck_streams_t **out, beck_error_t *e) {
  beck_err_t rc = beck__topology_compile(t, e);
  if (rc != BECK_ERR_OK)
    return rc;
  beck_streams_t *s = beck_calloc(1, sizeof *s);
  if (s == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  pthread_mutex_init(&s->mu, NULL);
  beck_error_clear(&s->err);
  s->topo = t;
  s->threads = cfg && cfg->threads > 0 ? cfg->threads : 2;
  s->commit_ms = cfg && cfg->commit_interval_ms > 0 ? cfg->commit_interval_ms : 1000;
  s->tcfg.state_dir = cfg ? cfg->state_dir : NULL;
  s->tcfg.checkpoint_every = cfg && cfg->store_checkpoint_every > 0 ? cfg->store_checkpoint_every : 1;
  s->tcfg.max_batch = cfg && cfg->max_batch > 0 ? cfg->max_batch : 1024;
  bool eos = cfg && cfg->guarantee == BECK_EXACTLY_ONCE;
  if (cfg && cfg->guarantee != BECK_AT_LEAST_ONCE && !eos)
    rc = beck_error_set(e, BECK_ERR_INVAL, "unknown processing guarantee %d", (int)cfg->guarantee);
  else
    rc = beck__io_client_new(client, &s->io, e);
  if (rc == BECK_ERR_OK)
    rc = beck__topics_setup(t, s->io, 0, e);
  int n = 0;
  for (int c = 0; rc == BECK_ERR_OK && c < t->nsubs; c++)
    n += t->subs[c].partitions;
  if (rc == BECK_ERR_OK && (s->tasks = beck_calloc((size_t)n, sizeof *s->tasks)) == NULL)
    rc = beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  if (rc == BECK_ERR_OK && eos && (s->tios = beck_calloc((size_t)n, sizeof *s->tios)) == NULL)
    rc = beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  for (int c = 0; rc == BECK_ERR_OK && c < t->nsubs; c++)
    for (int32_t p = 0; rc == BECK_ERR_OK && p < t->subs[c].partitions; p++) {
      beck__io_t *io = s->io;
      if (eos) {
        rc = beck__io_client_txn_new(client, &s->tios[s->ntasks], e);
        if (rc == BECK_ERR_UNSUPPORTED)
          beck_error_wrap(e, "exactly-once needs the embedded log (a %s client has no transactions)",
                          beck_client_kind(client));
        if (rc != BECK_ERR_OK)
          break;
        io = s->tios[s->ntasks];
      }
      rc = beck__task_new(t, &t->subs[c], p, io, &s->tcfg, &s->tasks[s->ntasks], e);
      if (rc == BECK_ERR_OK)
        s->ntasks++;
      else if (eos) {
        s->tios[s->ntasks]->vt->destroy(s->tios[s->ntasks]);
        s->tios[s->ntasks] = NULL;
      }
    }
  if (rc != BECK_ERR_OK) {
    beck_error_wrap(e, "streams %s", t->app_id);
    beck_streams_destroy(s);
    return rc;
  }
  if (s->threads > s->ntasks)
    s->threads = s->ntasks > 0 ? s->ntasks : 1;
  *out = s;
  return BECK_ERR_OK;
}

beck_err_t beck_streams_run_until_idle(beck_streams_t *s, beck_error_t *e) {
  if (s->nstarted > 0)
    return beck_error_set(e, BECK_ERR_STATE, "streams %s: running on threads", s->topo->app_id);
  for (;;) {
    bool any = false;
    for (int i = 0; i < s->ntasks; i++) {
      size_t did;
      beck_err_t rc = beck__task_poll(s->tasks[i], &did, e);
      if (rc == BECK_ERR_OK && did > 0)
        rc = beck__task_commit(s->tasks[i], false, e);
      if (rc != BECK_ERR_OK)
        return rc;
      any |= did > 0;
    }
    if (any)
      continue;
    bool behind = false;
    for (int i = 0; i < s->ntasks && !behind; i++) {
      beck_err_t rc = beck__task_behind(s->tasks[i], &behind, e);
      if (rc != BECK_ERR_OK)
        return rc;
    }
    if (!behind)
      return BECK_ERR_OK;
    struct timespec ts = {0, 1000000L}; /* a remote fetch is on its way */
    nanosleep(&ts, NULL);
  }
}

beck_err_t beck_streams_advance(beck_streams_t *s, int64_t t, beck_error_t *e) {
  if (s->nstarted > 0)
    return beck_error_set(e, BECK_ERR_STATE, "streams %s: running on threads", s->topo->app_id);
  for (int c = 0; c < s->topo->nsubs; c++) {
    beck_err_t rc = beck_streams_run_until_idle(s, e);
    for (int i = 0; i < s->ntasks && rc == BECK_ERR_OK; i++) {
      if (s->tasks[i]->sub->id != c)
        continue;
      rc = beck__task_advance(s->tasks[i], t, e);
      if (rc == BECK_ERR_OK)
        rc = beck__task_commit(s->tasks[i], false, e);
    }
    if (rc != BECK_ERR_OK)
      return rc;
  }
  return beck_streams_run_until_idle(s, e);
}

beck_err_t beck_streams_start(beck_streams_t *s, beck_error_t *e) {
  if (s->nstarted > 0)
    return beck_error_set(e, BECK_ERR_STATE, "streams %s: already started", s->topo->app_id);
  s->tids = beck_calloc((size_t)s->threads, sizeof *s->tids);
  if (s->tids == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  s->stopping = 0;
  for (int i = 0; i < s->threads; i++) {
    worker_t *w = beck_malloc(sizeof *w);
    if (w != NULL) {
      w->s = s;
      w->index = i;
    }
    if (w == NULL || pthread_create(&s->tids[i], NULL, worker_main, w) != 0) {
      beck_free(w);
      beck_error_t ignored;
      beck_streams_stop(s, &ignored);
      return beck_error_set(e, BECK_ERR_NOMEM, "streams %s: cannot start thread %d", s->topo->app_id, i);
    }
    s->nstarted++;
  }
  return BECK_ERR_OK;
}

beck_err_t beck_streams_stop(beck_streams_t *s, beck_error_t *e) {
  __atomic_store_n(&s->stopping, 1, __ATOMIC_RELEASE);
  for (int i = 0; i < s->nstarted; i++)
    pthread_join(s->tids[i], NULL);
  s->nstarted = 0;
  beck_free(s->tids);
  s->tids = NULL;
  if (s->err.code != BECK_ERR_OK) {
    *e = s->err;
    return s->err.code;
  }
  return BECK_ERR_OK;
}

void beck_streams_destroy(beck_streams_t *s) {
  if (s == NULL)
    return;
  if (s->nstarted > 0) {
    beck_error_t ignored;
    beck_streams_stop(s, &ignored);
  }
  for (int i = 0; i < s->ntasks; i++)
    beck__task_close(s->tasks[i]);
  for (int i = 0; s->tios != NULL && i < s->ntasks; i++)
    s->tios[i]->vt->destroy(s->tios[i]);
  beck_free(s->tios);
  beck_free(s->tasks);
  if (s->io != NULL)
    s->io->vt->destroy(s->io);
  pthread_mutex_destroy(&s->mu);
  beck_free(s);
}

bool beck_streams_failed(beck_streams_t *s, beck_error_t *e) {
  pthread_mutex_lock(&s->mu);
  bool failed = s->err.code != BECK_ERR_OK;
  if (failed && e != NULL)
    *e = s->err;
  pthread_mutex_unlock(&s->mu);
  return failed;
}

int64_t beck_streams_metric(beck_streams_t *s, const char *node, const char *metric) {
  return beck__tasks_metric(s->topo, s->tasks, s->ntasks, node, metric);
}
