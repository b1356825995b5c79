/*
 * worker.c - the Connect worker: the list of connectors, their
 * configuration, and the public start / pause / resume / stop / status API.
 * The tasks themselves run in task_source.c and task_sink.c.
 *
 * Invariants:
 *   - connector names are unique within a worker;
 *   - a task's plugin instance exists (create() succeeded) from add until
 *     remove or free; its threads exist between start and stop;
 *   - w->mu serialises API calls; it is never held while joining a task's
 *     threads except inside stop/remove/free, which no task thread waits for.
 */
#include "worker_int.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "base/alloc.h"
#include "base/logging.h"

struct beck_connect_worker {
  beck_client_t *client;
  beck_plugin_set_t *plugins;
  bool own_plugins;
  char *offsets_topic;
  pthread_mutex_t mu;
  beck__task_t **tasks;
  int ntasks;
};

beck_err_t beck_connect_worker_new(const beck_connect_worker_config_t *cfg, beck_connect_worker_t **out,
                                   beck_error_t *e) {
  *out = NULL;
  if (cfg == NULL || cfg->client == NULL)
    return beck_error_set(e, BECK_ERR_INVAL, "connect worker: no log client");
  beck_connect_worker_t *w = beck_calloc(1, sizeof *w);
  if (w == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "connect worker: out of memory");
  w->client = cfg->client;
  pthread_mutex_init(&w->mu, NULL);
  w->offsets_topic = beck_strdup(cfg->offsets_topic ? cfg->offsets_topic : BECK_CONNECT_OFFSETS_TOPIC);
  beck_err_t rc = w->offsets_topic ? BECK_ERR_OK : beck_error_set(e, BECK_ERR_NOMEM, "connect worker: out of memory");
  if (rc == BECK_ERR_OK) {
    if (cfg->plugins != NULL) {
      w->plugins = cfg->plugins;
    } else {
      rc = beck_plugin_set_discover(cfg->plugin_path, 0, &w->plugins, e);
      w->own_plugins = rc == BECK_ERR_OK;
      for (size_t k = 0; rc == BECK_ERR_OK && k < beck_plugin_set_problem_count(w->plugins); k++)
        beck_log("connect", BECK_LOG_WARN, "%s", beck_plugin_set_problem(w->plugins, k));
    }
  }
  if (rc == BECK_ERR_OK) {
    static const char *const keys[] = {"cleanup.policy"};
    static const char *const vals[] = {"compact"};
    rc = beck_client_create_topic(w->client, w->offsets_topic, 1, keys, vals, 1, true, e);
    if (rc != BECK_ERR_OK)
      beck_error_wrap(e, "connect worker: offsets topic %s", w->offsets_topic);
  }
  if (rc != BECK_ERR_OK) {
    beck_connect_worker_free(w);
    return rc;
  }
  *out = w;
  return BECK_ERR_OK;
}

static beck__task_t *find_task(beck_connect_worker_t *w, const char *name, int *idx) {
  for (int k = 0; k < w->ntasks; k++)
    if (strcmp(w->tasks[k]->name, name) == 0) {
      if (idx)
        *idx = k;
      return w->tasks[k];
    }
  return NULL;
}

static void task_free(beck__task_t *t) {
  if (t == NULL)
    return;
  beck__ctx_free(t->ctx);
  if (t->kind == BECK_CONNECTOR_SOURCE)
    beck__source_free(t);
  else
    beck__sink_free(t);
  beck__config_free(&t->wcfg);
  beck__queue_destroy(&t->queue);
  beck__queue_destroy(&t->free);
  beck_free(t->dlq.topic);
  pthread_cond_destroy(&t->cv);
  pthread_mutex_destroy(&t->mu);
  beck_plugin_set_free(t->own_plugins); /* after the instance is gone */
  beck_free(t->name);
  beck_free(t);
}

/* Stops the task's threads gracefully; the task keeps its instance. */
static void task_stop(beck__task_t *t) {
  pthread_mutex_lock(&t->mu);
  bool running = t->threads_started;
  t->stopping = true;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
  if (!running)
    return;
  beck__ctx_interrupt(t->ctx, true);
  if (t->kind == BECK_CONNECTOR_SOURCE)
    beck__source_join(t);
  else
    beck__sink_join(t);
  beck__task_set_state(t, BECK_CONNECT_STOPPED);
  beck_log(t->ctx->log_ctx, BECK_LOG_INFO, "stopped");
}

static const char *config_get(const char *const *keys, const char *const *values, int n, const char *name) {
  const char *v = NULL;
  for (int k = 0; k < n; k++)
    if (keys[k] != NULL && strcmp(keys[k], name) == 0)
      v = values[k];
  return v;
}

beck_err_t beck_connect_worker_add(beck_connect_worker_t *w, const char *const *keys, const char *const *values, int n,
                                   beck_error_t *e) {
  const char *name = config_get(keys, values, n, "name");
  const char *cname = config_get(keys, values, n, "connector");
  if (name == NULL || *name == '\0')
    return beck_error_set(e, BECK_ERR_INVAL, "connector configuration has no 'name'");
  if (cname == NULL || *cname == '\0')
    return beck_error_set(e, BECK_ERR_INVAL, "connector %s: no 'connector' (the plugin to run, e.g. file-source)",
                          name);
  if (strchr(name, '/') != NULL)
    return beck_error_set(e, BECK_ERR_INVAL, "connector name '%s' may not contain '/'", name);
  pthread_mutex_lock(&w->mu);
  beck_err_t rc = BECK_ERR_OK;
  beck__task_t *t = NULL;
  if (find_task(w, name, NULL) != NULL) {
    rc = beck_error_set(e, BECK_ERR_EXISTS, "connector %s already exists", name);
    goto out;
  }
  /* plugin.path of this connector first, then the worker's plugins */
  beck_plugin_set_t *own = NULL;
  const beck_connector_info_t *info = NULL;
  const char *ppath = config_get(keys, values, n, "plugin.path");
  if (ppath != NULL && *ppath != '\0') {
    rc = beck_plugin_set_discover(ppath, 1, &own, e);
    if (rc != BECK_ERR_OK)
      goto out;
    for (size_t k = 0; k < beck_plugin_set_problem_count(own); k++)
      beck_log("connect", BECK_LOG_WARN, "connector %s: %s", name, beck_plugin_set_problem(own, k));
    info = beck_plugin_set_find(own, cname);
  }
  if (info == NULL)
    info = beck_plugin_set_find(w->plugins, cname);
  if (info == NULL) {
    beck_plugin_set_free(own);
    rc = beck_error_set(e, BECK_ERR_NOTFOUND, "connector %s: no plugin provides connector '%s' (searched %s%s%s%s)",
                        name, cname, ppath ? "plugin.path, " : "",
                        getenv("BECK_PLUGIN_PATH") ? "BECK_PLUGIN_PATH, " : "", beck_plugin_builtin_dir(),
                        beck_plugin_set_problem_count(w->plugins) ? "; some plugins failed to load" : "");
    goto out;
  }
  t = beck_calloc(1, sizeof *t);
  if (t == NULL || (t->name = beck_strdup(name)) == NULL) {
    beck_free(t);
    beck_plugin_set_free(own);
    t = NULL;
    rc = beck_error_set(e, BECK_ERR_NOMEM, "connector %s: out of memory", name);
    goto out;
  }
  t->own_plugins = own;
  pthread_mutex_init(&t->mu, NULL);
  pthread_condattr_t ca;
  pthread_condattr_init(&ca);
  pthread_condattr_setclock(&ca, CLOCK_MONOTONIC);
  pthread_cond_init(&t->cv, &ca);
  pthread_condattr_destroy(&ca);
  t->info = info;
  t->kind = info->kind;
  t->client = w->client;
  t->offsets_topic = w->offsets_topic;
  t->state = BECK_CONNECT_CREATED;
  atomic_init(&t->counters.lag, -1);
  snprintf(t->id, sizeof t->id, "%s/0", name);

  uint32_t nw = 0;
  const beck_connector_option_t *wopts = beck_connect_worker_options(info->kind, &nw);
  rc = beck__config_bind(&t->wcfg, wopts, nw, info->options, info->option_count, keys, values, n, e);
  if (rc != BECK_ERR_OK) {
    beck_error_wrap(e, "connector %s (%s)", name, cname);
    goto out;
  }
  t->retry.timeout_ms = beck__config_int(&t->wcfg, "errors.retry.timeout");
  t->retry.initial_ms = beck__config_int(&t->wcfg, "errors.retry.delay.initial");
  t->retry.max_ms = beck__config_int(&t->wcfg, "errors.retry.delay.max");
  t->tolerate_all = strcmp(beck__config_string(&t->wcfg, "errors.tolerance"), "all") == 0;
  t->log_errors = beck__config_int(&t->wcfg, "errors.log.enable") != 0;
  t->batch_max_records = (size_t)beck__config_int(&t->wcfg, "batch.max.records");
  t->batch_max_bytes = (size_t)beck__config_int(&t->wcfg, "batch.max.bytes");
  t->queue_max = (size_t)beck__config_int(&t->wcfg, "queue.max.batches");
  t->flush_interval_ms = beck__config_int(&t->wcfg, "offset.flush.interval");
  const char *dlq = beck__config_string(&t->wcfg, "errors.deadletterqueue.topic.name");
  t->dlq.client = w->client;
  t->dlq.context_headers = beck__config_int(&t->wcfg, "errors.deadletterqueue.context.headers.enable") != 0;
  t->dlq.connector_name = t->name;
  t->dlq.class_name = info->name;
  t->dlq.task_id = 0;
  if (dlq != NULL && *dlq != '\0' && (t->dlq.topic = beck_strdup(dlq)) == NULL) {
    rc = beck_error_set(e, BECK_ERR_NOMEM, "connector %s: out of memory", name);
    goto out;
  }
  if (t->dlq.topic != NULL && !t->tolerate_all)
    beck_log("connect", BECK_LOG_WARN,
             "connector %s: errors.deadletterqueue.topic.name is set but errors.tolerance=none: the first record "
             "error fails the task",
             name);
  if (beck__queue_init(&t->queue, t->queue_max) != BECK_ERR_OK ||
      beck__queue_init(&t->free, t->queue_max + 1) != BECK_ERR_OK) {
    rc = beck_error_set(e, BECK_ERR_NOMEM, "connector %s: out of memory", name);
    goto out;
  }
  const beck__ctx_hooks_t *hooks = info->kind == BECK_CONNECTOR_SOURCE ? &beck__source_hooks : &beck__sink_hooks;
  rc = beck__ctx_new(info, name, 0, keys, values, n, hooks, t, &t->ctx, e);
  if (rc != BECK_ERR_OK)
    goto out;
  if (beck__ctx_create(t->ctx, e) != BECK_CONNECTOR_OK) {
    rc = e->code ? e->code : BECK_ERR_INVAL;
    goto out;
  }
  beck__task_t **nt = beck_realloc(w->tasks, (size_t)(w->ntasks + 1) * sizeof *nt);
  if (nt == NULL) {
    rc = beck_error_set(e, BECK_ERR_NOMEM, "connector %s: out of memory", name);
    goto out;
  }
  w->tasks = nt;
  w->tasks[w->ntasks++] = t;
  t = NULL;
out:
  task_free(t);
  pthread_mutex_unlock(&w->mu);
  return rc;
}

beck_err_t beck_connect_worker_start(beck_connect_worker_t *w, const char *name, beck_error_t *e) {
  pthread_mutex_lock(&w->mu);
  beck__task_t *t = find_task(w, name, NULL);
  beck_err_t rc = BECK_ERR_OK;
  if (t == NULL) {
    rc = beck_error_set(e, BECK_ERR_NOTFOUND, "no connector %s", name);
  } else if (t->threads_started) {
    rc = BECK_ERR_OK;
  } else {
    pthread_mutex_lock(&t->mu);
    t->stopping = false;
    t->paused = false;
    t->state = BECK_CONNECT_RUNNING;
    t->error[0] = '\0';
    pthread_mutex_unlock(&t->mu);
    beck__ctx_interrupt(t->ctx, false);
    beck__queue_reopen(&t->queue);
    beck__queue_reopen(&t->free);
    rc = t->kind == BECK_CONNECTOR_SOURCE ? beck__source_start(t, e) : beck__sink_start(t, e);
    if (rc != BECK_ERR_OK) {
      beck__task_fail(t, e);
    } else {
      beck_log(t->ctx->log_ctx, BECK_LOG_INFO, "started");
    }
  }
  pthread_mutex_unlock(&w->mu);
  return rc;
}

static beck_err_t set_paused(beck_connect_worker_t *w, const char *name, bool paused, beck_error_t *e) {
  pthread_mutex_lock(&w->mu);
  beck__task_t *t = find_task(w, name, NULL);
  if (t == NULL) {
    pthread_mutex_unlock(&w->mu);
    return beck_error_set(e, BECK_ERR_NOTFOUND, "no connector %s", name);
  }
  pthread_mutex_lock(&t->mu);
  t->paused = paused;
  if (!paused && t->state == BECK_CONNECT_PAUSED)
    t->state = BECK_CONNECT_RUNNING;
  pthread_cond_broadcast(&t->cv);
  pthread_mutex_unlock(&t->mu);
  beck__ctx_interrupt(t->ctx, paused);
  pthread_mutex_unlock(&w->mu);
  return BECK_ERR_OK;
}

beck_err_t beck_connect_worker_pause(beck_connect_worker_t *w, const char *name, beck_error_t *e) {
  return set_paused(w, name, true, e);
}

beck_err_t beck_connect_worker_resume(beck_connect_worker_t *w, const char *name, beck_error_t *e) {
  return set_paused(w, name, false, e);
}

beck_err_t beck_connect_worker_stop(beck_connect_worker_t *w, const char *name, beck_error_t *e) {
  pthread_mutex_lock(&w->mu);
  beck__task_t *t = find_task(w, name, NULL);
  if (t == NULL) {
    pthread_mutex_unlock(&w->mu);
    return beck_error_set(e, BECK_ERR_NOTFOUND, "no connector %s", name);
  }
  task_stop(t);
  pthread_mutex_unlock(&w->mu);
  return BECK_ERR_OK;
}

beck_err_t beck_connect_worker_remove(beck_connect_worker_t *w, const char *name, beck_error_t *e) {
  pthread_mutex_lock(&w->mu);
  int idx = -1;
  beck__task_t *t = find_task(w, name, &idx);
  if (t == NULL) {
    pthread_mutex_unlock(&w->mu);
    return beck_error_set(e, BECK_ERR_NOTFOUND, "no connector %s", name);
  }
  task_stop(t);
  memmove(&w->tasks[idx], &w->tasks[idx + 1], (size_t)(w->ntasks - idx - 1) * sizeof *w->tasks);
  w->ntasks--;
  pthread_mutex_unlock(&w->mu);
  task_free(t);
  return BECK_ERR_OK;
}

beck_err_t beck_connect_worker_status(beck_connect_worker_t *w, const char *name, beck_connect_status_t *out,
                                      beck_error_t *e) {
  pthread_mutex_lock(&w->mu);
  beck__task_t *t = find_task(w, name, NULL);
  if (t != NULL)
    beck__task_snapshot(t, out);
  pthread_mutex_unlock(&w->mu);
  return t ? BECK_ERR_OK : beck_error_set(e, BECK_ERR_NOTFOUND, "no connector %s", name);
}

int beck_connect_worker_count(beck_connect_worker_t *w) {
  pthread_mutex_lock(&w->mu);
  int n = w->ntasks;
  pthread_mutex_unlock(&w->mu);
  return n;
}

beck_err_t beck_connect_worker_status_at(beck_connect_worker_t *w, int i, beck_connect_status_t *out) {
  pthread_mutex_lock(&w->mu);
  beck_err_t rc = BECK_ERR_NOTFOUND;
  if (i >= 0 && i < w->ntasks) {
    beck__task_snapshot(w->tasks[i], out);
    rc = BECK_ERR_OK;
  }
  pthread_mutex_unlock(&w->mu);
  return rc;
}

beck_connect_state_t beck_connect_worker_wait(beck_connect_worker_t *w, const char *name, beck_connect_state_t state,
                                              int timeout_ms) {
  pthread_mutex_lock(&w->mu);
  beck__task_t *t = find_task(w, name, NULL);
  pthread_mutex_unlock(&w->mu);
  if (t == NULL)
    return BECK_CONNECT_STOPPED;
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  ts.tv_sec += timeout_ms / 1000;
  ts.tv_nsec += (long)(timeout_ms % 1000) * 1000000;
  if (ts.tv_nsec >= 1000000000) {
    ts.tv_sec++;
    ts.tv_nsec -= 1000000000;
  }
  pthread_mutex_lock(&t->mu);
  while (t->state != state && t->state != BECK_CONNECT_FAILED && t->state != BECK_CONNECT_STOPPED)
    if (pthread_cond_timedwait(&t->cv, &t->mu, &ts) != 0)
      break;
  beck_connect_state_t s = t->state;
  pthread_mutex_unlock(&t->mu);
  return s;
}

void beck_connect_worker_free(beck_connect_worker_t *w) {
  if (w == NULL)
    return;
  for (int k = 0; k < w->ntasks; k++)
    task_stop(w->tasks[k]);
  for (int k = 0; k < w->ntasks; k++)
    task_free(w->tasks[k]);
  beck_free(w->tasks);
  if (w->own_plugins)
    beck_plugin_set_free(w->plugins);
  beck_free(w->offsets_topic);
  pthread_mutex_destroy(&w->mu);
  beck_free(w);
}
