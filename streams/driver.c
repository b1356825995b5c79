/*
 * driver.c - the deterministic test driver: a topology's tasks over an
 * in-memory log (io_mem.c), driven by explicit calls.
 *
 * Every pipe / advance call runs to quiescence before returning:
 *
 *   pipe(topic, recs)  append recs to the input topic (by key, or into one
 *                      partition), then run
 *   run                repeat { for each task in sub-topology order: poll
 *                      one batch per input; when it read anything, commit
 *                      it (so its repartition and sink output becomes
 *                      visible) } until no task reads anything
 *   advance(t)         for each sub-topology in order: run, then push the
 *                      watermark t through its tasks and commit them; then
 *                      run (upstream results reach downstream operators
 *                      before those see the watermark)
 *
 * Tasks, batching and commits are exactly those of the runtime; only the
 * log is in memory and the schedule is fixed. Single-threaded.
 */
#include "streams_int.h"

#include <ftw.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

typedef struct cursor {
  char *topic;
  int32_t nparts;
  int64_t *offsets; /* next unread offset per partition */
} cursor_t;

struct beck_test_driver {
  beck_topology_t *topo;
  beck__io_t *io;
  int32_t partitions;
  char *state_dir;
  int checkpoint_every;
  beck__task_t **tasks;
  int ntasks;
  cursor_t *cursors;
  int ncursors;
};

static void close_tasks(beck_test_driver_t *d) {
  for (int i = 0; i < d->ntasks; i++)
    beck__task_close(d->tasks[i]);
  beck_free(d->tasks);
  d->tasks = NULL;
  d->ntasks = 0;
}

static beck_err_t open_tasks(beck_test_driver_t *d, beck_error_t *e) {
  beck_topology_t *t = d->topo;
  int n = 0;
  for (int c = 0; c < t->nsubs; c++)
    n += t->subs[c].partitions;
  d->tasks = beck_calloc((size_t)n, sizeof *d->tasks);
  if (d->tasks == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  beck__task_config_t cfg = {.state_dir = d->state_dir, .checkpoint_every = d->checkpoint_every};
  for (int c = 0; c < t->nsubs; c++)
    for (int32_t p = 0; p < t->subs[c].partitions; p++) {
      beck_err_t rc = beck__task_new(t, &t->subs[c], p, d->io, &cfg, &d->tasks[d->ntasks], e);
      if (rc != BECK_ERR_OK)
        return rc;
      d->ntasks++;
    }
  return BECK_ERR_OK;
}

static beck_err_t run(beck_test_driver_t *d, beck_error_t *e) {
  if (d->tasks == NULL)
    return beck_error_set(e, BECK_ERR_STATE, "test driver: stopped");
  for (;;) {
    bool any = false;
    for (int i = 0; i < d->ntasks; i++) {
      size_t did;
      beck_err_t rc = beck__task_poll(d->tasks[i], &did, e);
      if (rc == BECK_ERR_OK && did > 0)
        rc = beck__task_commit(d->tasks[i], false, e);
      if (rc != BECK_ERR_OK)
        return rc;
      any |= did > 0;
    }
    if (!any)
      return BECK_ERR_OK;
  }
}

beck_err_t beck_test_driver_new(beck_topology_t *t, const beck_test_driver_config_t *cfg, beck_test_driver_t **out,
                                beck_error_t *e) {
  beck_err_t rc = beck__topology_compile(t, e);
  if (rc != BECK_ERR_OK)
    return rc;
  beck_test_driver_t *d = beck_calloc(1, sizeof *d);
  if (d == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  d->topo = t;
  d->partitions = cfg && cfg->partitions > 0 ? cfg->partitions : 1;
  d->checkpoint_every = cfg && cfg->store_checkpoint_every > 0 ? cfg->store_checkpoint_every : 1;
  if (cfg && cfg->state_dir && (d->state_dir = beck_strdup(cfg->state_dir)) == NULL)
    rc = beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  if (rc == BECK_ERR_OK)
    rc = beck__io_mem_new(&d->io, e);
  if (rc == BECK_ERR_OK)
    rc = beck__topics_setup(t, d->io, d->partitions, e);
  if (rc == BECK_ERR_OK)
    rc = open_tasks(d, e);
  if (rc != BECK_ERR_OK) {
    beck_error_wrap(e, "test driver");
    beck_test_driver_destroy(d);
    return rc;
  }
  *out = d;
  return BECK_ERR_OK;
}

void beck_test_driver_destroy(beck_test_driver_t *d) {
  if (d == NULL)
    return;
  close_tasks(d);
  if (d->io != NULL)
    d->io->vt->destroy(d->io);
  for (int i = 0; i < d->ncursors; i++) {
    beck_free(d->cursors[i].topic);
    beck_free(d->cursors[i].offsets);
  }
  beck_free(d->cursors);
  beck_free(d->state_dir);
  beck_free(d);
}

static beck_err_t pipe_into(beck_test_driver_t *d, const char *topic, int32_t partition, const beck_srec_t *recs,
                            size_t n, beck_error_t *e) {
  int32_t nparts;
  beck_err_t rc = d->io->vt->partitions(d->io, topic, &nparts, e);
  if (rc != BECK_ERR_OK)
    return beck_error_wrap(e, "test driver: pipe");
  if (partition >= nparts)
    return beck_error_set(e, BECK_ERR_INVAL, "test driver: pipe: topic %s has no partition %d", topic, (int)partition);
  /* One produce per partition, keeping the records' order within each. */
  beck_srec_t *buf = beck_calloc(n ? n : 1, sizeof *buf);
  if (buf == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  for (int32_t p = 0; p < nparts && rc == BECK_ERR_OK; p++) {
    size_t k = 0;
    for (size_t i = 0; i < n; i++) {
      int32_t rp = partition >= 0        ? partition
                   : recs[i].key.len < 0 ? 0
                                         : beck__partition_for_key(recs[i].key.ptr, (size_t)recs[i].key.len, nparts);
      if (rp == p)
        buf[k++] = recs[i];
    }
    if (k > 0)
      rc = d->io->vt->produce(d->io, topic, p, buf, k, NULL, e);
  }
  beck_free(buf);
  if (rc == BECK_ERR_OK)
    rc = run(d, e);
  return rc;
}

beck_err_t beck_test_driver_pipe(beck_test_driver_t *d, const char *topic, const beck_srec_t *recs, size_t n,
                                 beck_error_t *e) {
  return pipe_into(d, topic, -1, recs, n, e);
}

beck_err_t beck_test_driver_pipe_partition(beck_test_driver_t *d, const char *topic, int32_t partition,
                                           const beck_srec_t *recs, size_t n, beck_error_t *e) {
  if (partition < 0)
    return beck_error_set(e, BECK_ERR_INVAL, "test driver: pipe: partition %d", (int)partition);
  return pipe_into(d, topic, partition, recs, n, e);
}

beck_err_t beck_test_driver_advance(beck_test_driver_t *d, int64_t t, beck_error_t *e) {
  for (int c = 0; c < d->topo->nsubs; c++) {
    beck_err_t rc = run(d, e);
    for (int i = 0; i < d->ntasks && rc == BECK_ERR_OK; i++) {
      if (d->tasks[i]->sub->id != c)
        continue;
      rc = beck__task_advance(d->tasks[i], t, e);
      if (rc == BECK_ERR_OK)
        rc = beck__task_commit(d->tasks[i], false, e);
    }
    if (rc != BECK_ERR_OK)
      return rc;
  }
  return run(d, e);
}

static cursor_t *cursor_for(beck_test_driver_t *d, const char *topic, int32_t nparts) {
  for (int i = 0; i < d->ncursors; i++)
    if (strcmp(d->cursors[i].topic, topic) == 0)
      return &d->cursors[i];
  cursor_t *a = beck_realloc(d->cursors, (size_t)(d->ncursors + 1) * sizeof *a);
  if (a == NULL)
    return NULL;
  d->cursors = a;
  cursor_t *c = &a[d->ncursors];
  c->topic = beck_strdup(topic);
  c->offsets = beck_calloc((size_t)nparts, sizeof *c->offsets);
  c->nparts = nparts;
  if (c->topic == NULL || c->offsets == NULL) {
    beck_free(c->topic);
    beck_free(c->offsets);
    return NULL;
  }
  d->ncursors++;
  return c;
}

int beck_test_driver_read(beck_test_driver_t *d, const char *topic, beck_srec_t *out, int32_t *partition) {
  beck_error_t e;
  int32_t nparts;
  if (d->io->vt->partitions(d->io, topic, &nparts, &e) != BECK_ERR_OK)
    return BECK_ERR_NOTFOUND;
  cursor_t *c = cursor_for(d, topic, nparts);
  if (c == NULL)
    return BECK_ERR_NOMEM;
  for (int32_t p = 0; p < c->nparts; p++) {
    const beck_srec_t *r = beck__io_mem_record(d->io, topic, p, c->offsets[p]);
    if (r != NULL) {
      *out = *r;
      if (partition != NULL)
        *partition = p;
      c->offsets[p]++;
      return 1;
    }
  }
  return 0;
}

int64_t beck_test_driver_topic_size(beck_test_driver_t *d, const char *topic) {
  beck_error_t e;
  int32_t nparts;
  if (d->io->vt->partitions(d->io, topic, &nparts, &e) != BECK_ERR_OK)
    return -1;
  int64_t total = 0;
  for (int32_t p = 0; p < nparts; p++) {
    int64_t start, high;
    if (d->io->vt->watermarks(d->io, topic, p, &start, &high, &e) == BECK_ERR_OK)
      total += high - start;
  }
  return total;
}

int64_t beck_test_driver_metric(beck_test_driver_t *d, const char *node, const char *metric) {
  return beck__tasks_metric(d->topo, d->tasks, d->ntasks, node, metric);
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) { return remove(p); }

beck_err_t beck_test_driver_stop(beck_test_driver_t *d, beck_restart_mode_t mode, beck_error_t *e) {
  if (d->tasks == NULL)
    return beck_error_set(e, BECK_ERR_STATE, "test driver: already stopped");
  if (mode == BECK_RESTART_CLEAN) {
    for (int i = 0; i < d->ntasks; i++) {
      beck_err_t rc = beck__task_commit(d->tasks[i], true, e);
      if (rc != BECK_ERR_OK)
        return beck_error_wrap(e, "test driver: stop");
    }
  }
  close_tasks(d);
  if (mode == BECK_RESTART_WIPE && d->state_dir != NULL) {
    char dir[1024];
    snprintf(dir, sizeof dir, "%s/%s", d->state_dir, d->topo->app_id);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
  return BECK_ERR_OK;
}

beck_err_t beck_test_driver_start(beck_test_driver_t *d, beck_error_t *e) {
  if (d->tasks != NULL)
    return beck_error_set(e, BECK_ERR_STATE, "test driver: already started");
  beck_err_t rc = open_tasks(d, e);
  if (rc == BECK_ERR_OK)
    rc = run(d, e);
  if (rc != BECK_ERR_OK) {
    close_tasks(d);
    return beck_error_wrap(e, "test driver: start");
  }
  return BECK_ERR_OK;
}

beck_err_t beck_test_driver_restart(beck_test_driver_t *d, beck_restart_mode_t mode, beck_error_t *e) {
  beck_err_t rc = beck_test_driver_stop(d, mode, e);
  return rc != BECK_ERR_OK ? rc : beck_test_driver_start(d, e);
}
