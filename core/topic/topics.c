/*
 * topics.c - the topic/partition registry (see topics.h).
 *
 * Topics live in an array (for iteration) and an open-addressing hash on the
 * name (for lookup per request). Partition directories are "<topic>-<n>".
 */
#include "topic/topics.h"

#include <errno.h>
#include <fcntl.h>
#include <ftw.h>
#include <pthread.h>
#include <stdatomic.h>
#include <sys/file.h>
#include <unistd.h>
#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "base/crc32c.h"

struct beck_topics {
  char *data_dir;
  int lock_fd; /* flock'ed DATA/.lock: one process per data directory */
  beck_topics_options_t opts;
  beck_meta_t *meta;
  beck_topic_t **topics;
  int ntopics, cap;
  beck_topic_t **hash; /* size hcap, NULL = empty */
  size_t hcap;
};

void beck_topics_options_default(beck_topics_options_t *o) {
  memset(o, 0, sizeof *o);
  o->default_partitions = 1;
  o->auto_create = true;
  o->pstate_window_ms = 15 * 60 * 1000;
}

const beck_topics_options_t *beck_topics_options(const beck_topics_t *ts) { return &ts->opts; }
beck_meta_t *beck_topics_meta(beck_topics_t *ts) { return ts->meta; }
const char *beck_topics_data_dir(const beck_topics_t *ts) { return ts->data_dir; }
int beck_topics_count(const beck_topics_t *ts) { return ts->ntopics; }
beck_topic_t *beck_topics_at(beck_topics_t *ts, int i) { return i >= 0 && i < ts->ntopics ? ts->topics[i] : NULL; }

static size_t name_hash(const char *s, size_t len) {
  size_t h = 1469598103934665603ull;
  for (size_t i = 0; i < len; i++)
    h = (h ^ (uint8_t)s[i]) * 1099511628211ull;
  return h;
}

static beck_err_t rehash(beck_topics_t *ts, size_t cap) {
  beck_topic_t **h = beck_calloc(cap, sizeof *h);
  if (h == NULL)
    return BECK_ERR_NOMEM;
  for (int i = 0; i < ts->ntopics; i++) {
    beck_topic_t *t = ts->topics[i];
    size_t j = name_hash(t->name, strlen(t->name)) & (cap - 1);
    while (h[j])
      j = (j + 1) & (cap - 1);
    h[j] = t;
  }
  beck_free(ts->hash);
  ts->hash = h;
  ts->hcap = cap;
  return BECK_ERR_OK;
}

beck_topic_t *beck_topics_find(beck_topics_t *ts, const char *name, size_t len) {
  if (ts->hcap == 0)
    return NULL;
  for (size_t j = name_hash(name, len) & (ts->hcap - 1); ts->hash[j]; j = (j + 1) & (ts->hcap - 1)) {
    beck_topic_t *t = ts->hash[j];
    if (strlen(t->name) == len && memcmp(t->name, name, len) == 0)
      return t;
  }
  return NULL;
}

beck_partition_t *beck_topics_partition(beck_topics_t *ts, const char *name, size_t len, int32_t partition) {
  beck_topic_t *t = beck_topics_find(ts, name, len);
  if (t == NULL || partition < 0 || partition >= t->npartitions)
    return NULL;
  return t->partitions[partition];
}

static beck_err_t add_to_index(beck_topics_t *ts, beck_topic_t *t) {
  if (ts->ntopics == ts->cap) {
    int cap = ts->cap ? ts->cap * 2 : 16;
    beck_topic_t **a = beck_realloc(ts->topics, (size_t)cap * sizeof *a);
    if (a == NULL)
      return BECK_ERR_NOMEM;
    ts->topics = a;
    ts->cap = cap;
  }
  ts->topics[ts->ntopics++] = t;
  size_t need = 16;
  while (need < (size_t)ts->ntopics * 2)
    need *= 2;
  if (need != ts->hcap)
    return rehash(ts, need);
  size_t j = name_hash(t->name, strlen(t->name)) & (ts->hcap - 1);
  while (ts->hash[j])
    j = (j + 1) & (ts->hcap - 1);
  ts->hash[j] = t;
  return BECK_ERR_OK;
}

static void remove_from_index(beck_topics_t *ts, beck_topic_t *t) {
  for (int i = 0; i < ts->ntopics; i++)
    if (ts->topics[i] == t) {
      ts->topics[i] = ts->topics[--ts->ntopics];
      break;
    }
  rehash(ts, ts->hcap ? ts->hcap : 16);
}

static void partition_dir(const beck_topics_t *ts, const char *topic, int32_t p, char *out, size_t n) {
  snprintf(out, n, "%s/%s-%d", ts->data_dir, topic, p);
}

/* Rebuilds idempotent-producer state from the recent tail of the log. */
static void pstate_rebuild(beck_topics_t *ts, beck_partition_t *p) {
  beck_env_t *env = ts->opts.env;
  int64_t from = beck_plog_end_offset(p->log);
  int64_t found_ts;
  beck_error_t e;
  if (beck_plog_offset_for_time(p->log, env->now_ms(env) - ts->opts.pstate_window_ms, &from, &found_ts, &e) != 0)
    from = beck_plog_end_offset(p->log);
  beck_buf_t buf = {0};
  int64_t end = beck_plog_end_offset(p->log);
  while (from < end) {
    beck_buf_reset(&buf);
    if (beck_plog_read_copy(p->log, from, 1 << 20, INT64_MAX, &buf, &e) != 0 || buf.len == 0)
      break;
    size_t pos = 0;
    int64_t next = from;
    while (pos + BECK_BATCH_HEADER_SIZE <= buf.len) {
      beck_batch_header_t h;
      beck_batch_header_decode(buf.data + pos, buf.len - pos, &h);
      if (h.batch_length <= 0 || pos + (size_t)beck_batch_total_size(&h) > buf.len)
        break;
      beck_pstate_observe(p->pstate, &h);
      next = beck_batch_last_offset(&h) + 1;
      pos += (size_t)beck_batch_total_size(&h);
    }
    if (next <= from)
      break;
    from = next;
  }
  beck_buf_free(&buf);
}

static beck_err_t partition_open(beck_topics_t *ts, beck_topic_t *t, int32_t id, beck_partition_t **out,
                                 beck_error_t *e) {
  char dir[4096];
  partition_dir(ts, t->name, id, dir, sizeof dir);
  beck_partition_t *p = beck_calloc(1, sizeof *p);
  if (p == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "partition %s-%d: out of memory", t->name, id);
  p->topic = t;
  p->id = id;
  p->pstate = beck_pstate_new();
  beck_err_t err = p->pstate ? beck_plog_open(dir, &t->cfg.log, ts->opts.env, &p->log, e) : BECK_ERR_NOMEM;
  if (err) {
    beck_pstate_destroy(p->pstate);
    beck_free(p);
    return beck_error_wrap(e, "partition %s-%d", t->name, id);
  }
  if (beck_plog_fenced(p->log, NULL)) {
    beck_error_t why;
    beck_plog_fenced(p->log, &why);
    beck_log("topics", BECK_LOG_ERROR, "partition %s-%d is fenced (read-only): %s", t->name, id, why.msg);
  }
  pstate_rebuild(ts, p);
  *out = p;
  return BECK_ERR_OK;
}

static void partition_close(beck_partition_t *p) {
  if (p == NULL)
    return;
  beck_plog_close(p->log);
  beck_pstate_destroy(p->pstate);
  beck_free(p);
}

/* ---- opening and closing many partitions at once ------------------------ */

/* Opening and closing a partition waits on the disk (directory and file
 * syncs, inode allocation), so thousands of them go through a few threads:
 * the file system merges their journal commits. */
#define PAR_THREADS 8
#define PAR_MIN 16 /* fewer than this: no threads */

typedef struct par_job {
  atomic_int next;
  int n;
  void (*fn)(void *arg, int i);
  void *arg;
} par_job_t;

static void *par_worker(void *arg) {
  par_job_t *job = arg;
  for (int i; (i = atomic_fetch_add(&job->next, 1)) < job->n;)
    job->fn(job->arg, i);
  return NULL;
}

static void par_for(int n, void (*fn)(void *arg, int i), void *arg) {
  par_job_t job = {.n = n, .fn = fn, .arg = arg};
  atomic_init(&job.next, 0);
  pthread_t th[PAR_THREADS];
  int nth = 0;
  if (n >= PAR_MIN)
    for (; nth < PAR_THREADS && pthread_create(&th[nth], NULL, par_worker, &job) == 0; nth++)
      ;
  par_worker(&job); /* the caller works too (and alone when no thread started) */
  for (int k = 0; k < nth; k++)
    pthread_join(th[k], NULL);
}

static void close_one(void *arg, int i) {
  beck_partition_t **ps = arg;
  partition_close(ps[i]);
  ps[i] = NULL;
}

static void topic_free(beck_topic_t *t) {
  if (t == NULL)
    return;
  par_for(t->npartitions, close_one, t->partitions);
  beck_free(t->partitions);
  for (int i = 0; i < t->noverrides; i++) {
    beck_free(t->overrides[i].key);
    beck_free(t->overrides[i].value);
  }
  beck_free(t->overrides);
  beck_free(t->name);
  beck_free(t);
}

static void apply_config(beck_topic_t *t) {
  const char *keys[64], *values[64];
  int n = t->noverrides < 64 ? t->noverrides : 64;
  for (int i = 0; i < n; i++) {
    keys[i] = t->overrides[i].key;
    values[i] = t->overrides[i].value;
  }
  beck_topic_config_build(&t->cfg, keys, values, n);
  for (int32_t i = 0; i < t->npartitions; i++)
    if (t->partitions[i])
      beck_plog_set_config(t->partitions[i]->log, &t->cfg.log);
}

static beck_err_t set_overrides(beck_topic_t *t, const char *const *keys, const char *const *values, int n) {
  beck_tcfg_entry_t *o = n ? beck_calloc((size_t)n, sizeof *o) : NULL;
  if (n && o == NULL)
    return BECK_ERR_NOMEM;
  for (int i = 0; i < n; i++) {
    o[i].key = beck_strdup(keys[i]);
    o[i].value = beck_strdup(values[i]);
    if (!o[i].key || !o[i].value) {
      for (int j = 0; j <= i; j++) {
        beck_free(o[j].key);
        beck_free(o[j].value);
      }
      beck_free(o);
      return BECK_ERR_NOMEM;
    }
  }
  for (int i = 0; i < t->noverrides; i++) {
    beck_free(t->overrides[i].key);
    beck_free(t->overrides[i].value);
  }
  beck_free(t->overrides);
  t->overrides = o;
  t->noverrides = n;
  return BECK_ERR_OK;
}

typedef struct open_job {
  beck_topics_t *ts;
  beck_topic_t *t;
  int32_t from;
  pthread_mutex_t mu;
  beck_err_t err; /* the first failure, under mu */
  beck_error_t *e;
} open_job_t;

static void open_one(void *arg, int i) {
  open_job_t *job = arg;
  int32_t id = job->from + i;
  beck_error_t oe;
  job->t->partitions[id] = NULL;
  beck_err_t err = partition_open(job->ts, job->t, id, &job->t->partitions[id], &oe);
  if (err) {
    pthread_mutex_lock(&job->mu);
    if (job->err == BECK_ERR_OK) {
      job->err = err;
      if (job->e)
        *job->e = oe;
    }
    pthread_mutex_unlock(&job->mu);
  }
}

/* Opens partitions [from, to); on a failure closes the ones it opened and
 * leaves the topic with `from` partitions. */
static beck_err_t topic_open_partitions(beck_topics_t *ts, beck_topic_t *t, int32_t from, int32_t to,
                                        beck_error_t *e) {
  beck_partition_t **ps = beck_realloc(t->partitions, (size_t)to * sizeof *ps);
  if (ps == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "topic %s: out of memory", t->name);
  t->partitions = ps;
  open_job_t job = {.ts = ts, .t = t, .from = from, .e = e};
  pthread_mutex_init(&job.mu, NULL);
  par_for(to - from, open_one, &job);
  pthread_mutex_destroy(&job.mu);
  if (job.err) {
    par_for(to - from, close_one, t->partitions + from);
    t->npartitions = from;
    return job.err;
  }
  t->npartitions = to;
  return BECK_ERR_OK;
}

typedef struct load_ctx {
  beck_topics_t *ts;
  beck_error_t *e;
  beck_err_t err;
  beck_topic_t *cur;
  const char *keys[64];
  const char *values[64];
  int n;
} load_ctx_t;

static int load_config(void *arg, const char *key, const char *value) {
  load_ctx_t *c = arg;
  if (c->n < 64) {
    c->keys[c->n] = beck_strdup(key);
    c->values[c->n] = beck_strdup(value);
    c->n++;
  }
  return 0;
}

static int load_topic(void *arg, const beck_meta_topic_t *mt) {
  load_ctx_t *c = arg;
  beck_topic_t *t = beck_calloc(1, sizeof *t);
  if (t == NULL || (t->name = beck_strdup(mt->name)) == NULL) {
    beck_free(t);
    c->err = beck_error_set(c->e, BECK_ERR_NOMEM, "loading topics: out of memory");
    return 1;
  }
  memcpy(t->id, mt->topic_id, 16);
  c->n = 0;
  beck_meta_config_foreach(c->ts->meta, t->name, load_config, c, NULL);
  set_overrides(t, c->keys, c->values, c->n);
  for (int i = 0; i < c->n; i++) {
    beck_free((void *)c->keys[i]);
    beck_free((void *)c->values[i]);
  }
  apply_config(t);
  beck_err_t err = topic_open_partitions(c->ts, t, 0, mt->partitions, c->e);
  if (!err)
    err = add_to_index(c->ts, t);
  if (err) {
    topic_free(t);
    c->err = err;
    return 1;
  }
  return 0;
}

beck_err_t beck_topics_open(const char *data_dir, const beck_topics_options_t *opts, beck_topics_t **out,
                            beck_error_t *e) {
  beck_topics_t *ts = beck_calloc(1, sizeof *ts);
  if (ts)
    ts->lock_fd = -1;
  if (ts == NULL || (ts->data_dir = beck_strdup(data_dir)) == NULL) {
    beck_free(ts);
    return beck_error_set(e, BECK_ERR_NOMEM, "data dir %s: out of memory", data_dir);
  }
  if (opts)
    ts->opts = *opts;
  else
    beck_topics_options_default(&ts->opts);
  if (ts->opts.env == NULL)
    ts->opts.env = beck_env_default();
  if (ts->opts.default_partitions <= 0)
    ts->opts.default_partitions = 1;
  int rc = beck_env_mkdirs(ts->opts.env, data_dir);
  if (rc < 0) {
    beck_topics_close(ts);
    return beck_error_set(e, beck_err_from_errno(-rc), "data dir %s: cannot create it: %s", data_dir, strerror(-rc));
  }
  char path[4096];
  snprintf(path, sizeof path, "%s/.lock", data_dir);
  ts->lock_fd = open(path, O_RDWR | O_CREAT | O_CLOEXEC, 0644);
  if (ts->lock_fd < 0 || flock(ts->lock_fd, LOCK_EX | LOCK_NB) < 0) {
    int errnum = errno;
    beck_topics_close(ts);
    return beck_error_set(e, BECK_ERR_STATE,
                          errnum == EWOULDBLOCK
                              ? "data dir %s is in use by another Beck process; stop it or use another --data-dir"
                              : "data dir %s: cannot lock it: %s",
                          data_dir, strerror(errnum));
  }
  snprintf(path, sizeof path, "%s/meta.db", data_dir);
  beck_err_t err = beck_meta_open(path, &ts->meta, e);
  if (err) {
    beck_topics_close(ts);
    return err;
  }
  load_ctx_t c = {.ts = ts, .e = e};
  err = beck_meta_topic_foreach(ts->meta, load_topic, &c, e);
  if (!err)
    err = c.err;
  if (err) {
    beck_topics_close(ts);
    return beck_error_wrap(e, "data dir %s", data_dir);
  }
  *out = ts;
  return BECK_ERR_OK;
}

void beck_topics_close(beck_topics_t *ts) {
  if (ts == NULL)
    return;
  size_t total = 0; /* every partition of every topic closes in one parallel pass */
  for (int i = 0; i < ts->ntopics; i++)
    total += (size_t)ts->topics[i]->npartitions;
  beck_partition_t **all = total > 1 && total <= INT32_MAX ? beck_malloc(total * sizeof *all) : NULL;
  if (all) {
    size_t k = 0;
    for (int i = 0; i < ts->ntopics; i++) {
      beck_topic_t *t = ts->topics[i];
      for (int32_t j = 0; j < t->npartitions; j++) {
        all[k++] = t->partitions[j];
        t->partitions[j] = NULL;
      }
    }
    par_for((int)total, close_one, all);
    beck_free(all);
  }
  for (int i = 0; i < ts->ntopics; i++)
    topic_free(ts->topics[i]);
  beck_free(ts->topics);
  beck_free(ts->hash);
  beck_meta_close(ts->meta);
  if (ts->lock_fd >= 0)
    close(ts->lock_fd); /* releases the flock */
  beck_free(ts->data_dir);
  beck_free(ts);
}

beck_err_t beck_topic_name_validate(const char *name, size_t len, beck_error_t *e) {
  if (len == 0)
    return beck_error_set(e, BECK_ERR_INVAL, "topic name is empty");
  if (len > 249)
    return beck_error_set(e, BECK_ERR_INVAL, "topic name is %zu characters; the limit is 249", len);
  if ((len == 1 && name[0] == '.') || (len == 2 && name[0] == '.' && name[1] == '.'))
    return beck_error_set(e, BECK_ERR_INVAL, "topic name cannot be '.' or '..'");
  for (size_t i = 0; i < len; i++) {
    char ch = name[i];
    if (!((ch >= 'a' && ch <= 'z') || (ch >= 'A' && ch <= 'Z') || (ch >= '0' && ch <= '9') || ch == '.' ||
          ch == '_' || ch == '-'))
      return beck_error_set(e, BECK_ERR_INVAL,
                            "topic name '%.*s' has the character '%c' at position %zu; use letters, digits, '.', "
                            "'_' and '-'",
                            (int)len, name, ch, i);
  }
  return BECK_ERR_OK;
}

beck_err_t beck_topics_create(beck_topics_t *ts, const char *name, int32_t partitions, const char *const *keys,
                              const char *const *values, int n, bool validate_only, beck_topic_t **out,
                              beck_error_t *e) {
  size_t len = strlen(name);
  beck_err_t err = beck_topic_name_validate(name, len, e);
  if (err)
    return err;
  if (beck_topics_find(ts, name, len))
    return beck_error_set(e, BECK_ERR_EXISTS, "topic '%s' already exists", name);
  if (partitions <= 0)
    partitions = ts->opts.default_partitions;
  if (partitions > 100000)
    return beck_error_set(e, BECK_ERR_INVAL, "topic '%s': %d partitions is more than the limit of 100000", name,
                          partitions);
  if (n > 64)
    return beck_error_set(e, BECK_ERR_INVAL, "topic '%s': too many configs (%d)", name, n);
  for (int i = 0; i < n; i++)
    if ((err = beck_topic_config_validate(keys[i], values[i], e)))
      return beck_error_wrap(e, "topic '%s'", name);
  if (validate_only)
    return BECK_ERR_OK;

  beck_topic_t *t = beck_calloc(1, sizeof *t);
  if (t == NULL || (t->name = beck_strdup(name)) == NULL) {
    beck_free(t);
    return beck_error_set(e, BECK_ERR_NOMEM, "topic '%s': out of memory", name);
  }
  beck_env_t *env = ts->opts.env;
  uint64_t r1 = env->random(env), r2 = env->random(env);
  memcpy(t->id, &r1, 8);
  memcpy(t->id + 8, &r2, 8);
  if (set_overrides(t, keys, values, n)) {
    topic_free(t);
    return beck_error_set(e, BECK_ERR_NOMEM, "topic '%s': out of memory", name);
  }
  apply_config(t);
  beck_meta_topic_t mt = {.name = name, .partitions = partitions, .created_ms = env->now_ms(env)};
  memcpy(mt.topic_id, t->id, 16);
  err = beck_meta_topic_create(ts->meta, &mt, keys, values, n, e);
  if (!err)
    err = topic_open_partitions(ts, t, 0, partitions, e);
  if (!err)
    err = add_to_index(ts, t);
  if (err) {
    topic_free(t);
    beck_meta_topic_delete(ts->meta, name, NULL);
    return beck_error_wrap(e, "creating topic '%s'", name);
  }
  beck_log("topics", BECK_LOG_INFO, "created topic %s with %d partition%s", name, partitions,
           partitions == 1 ? "" : "s");
  if (out)
    *out = t;
  return BECK_ERR_OK;
}

static int rm_entry(const char *p, const struct stat *sb, int flag, struct FTW *ftw) { return remove(p); }

beck_err_t beck_topics_delete(beck_topics_t *ts, const char *name, beck_error_t *e) {
  beck_topic_t *t = beck_topics_find(ts, name, strlen(name));
  if (t == NULL)
    return beck_error_set(e, BECK_ERR_NOTFOUND, "topic '%s' does not exist", name);
  beck_err_t err = beck_meta_topic_delete(ts->meta, name, e);
  if (err)
    return err;
  remove_from_index(ts, t);
  int32_t np = t->npartitions;
  char *tname = beck_strdup(t->name);
  topic_free(t);
  for (int32_t i = 0; tname && i < np; i++) {
    char dir[4096];
    partition_dir(ts, tname, i, dir, sizeof dir);
    nftw(dir, rm_entry, 16, FTW_DEPTH | FTW_PHYS);
  }
  beck_log("topics", BECK_LOG_INFO, "deleted topic %s", name);
  beck_free(tname);
  return BECK_ERR_OK;
}

beck_err_t beck_topics_add_partitions(beck_topics_t *ts, const char *name, int32_t total, bool validate_only,
                                      beck_error_t *e) {
  beck_topic_t *t = beck_topics_find(ts, name, strlen(name));
  if (t == NULL)
    return beck_error_set(e, BECK_ERR_NOTFOUND, "topic '%s' does not exist", name);
  if (total <= t->npartitions)
    return beck_error_set(e, BECK_ERR_INVAL, "topic '%s' has %d partitions; the new count %d must be larger", name,
                          t->npartitions, total);
  if (total > 100000)
    return beck_error_set(e, BECK_ERR_INVAL, "topic '%s': %d partitions is more than the limit of 100000", name,
                          total);
  if (validate_only)
    return BECK_ERR_OK;
  beck_err_t err = beck_meta_topic_set_partitions(ts->meta, name, total, e);
  if (!err)
    err = topic_open_partitions(ts, t, t->npartitions, total, e);
  return err;
}

beck_err_t beck_topics_alter_configs(beck_topics_t *ts, const char *name, bool replace, const beck_tcfg_op_t *ops,
                                     const char *const *keys, const char *const *values, int n, bool validate_only,
                                     beck_error_t *e) {
  beck_topic_t *t = beck_topics_find(ts, name, strlen(name));
  if (t == NULL)
    return beck_error_set(e, BECK_ERR_NOTFOUND, "topic '%s' does not exist", name);
  beck_err_t err;
  for (int i = 0; i < n; i++) {
    if (ops && ops[i] == BECK_TCFG_OP_DELETE) {
      if (!beck_topic_config_find(keys[i]))
        return beck_error_set(e, BECK_ERR_INVAL, "topic '%s': unknown topic config '%s'", name, keys[i]);
      continue;
    }
    if ((err = beck_topic_config_validate(keys[i], values[i], e)))
      return beck_error_wrap(e, "topic '%s'", name);
  }
  /* compute the new override set */
  const char *nk[128], *nv[128];
  int nn = 0;
  if (!replace)
    for (int i = 0; i < t->noverrides && nn < 64; i++) {
      nk[nn] = t->overrides[i].key;
      nv[nn] = t->overrides[i].value;
      nn++;
    }
  for (int i = 0; i < n && nn < 128; i++) {
    int j;
    for (j = 0; j < nn; j++)
      if (strcmp(nk[j], keys[i]) == 0)
        break;
    bool del = ops && ops[i] == BECK_TCFG_OP_DELETE;
    if (del) {
      if (j < nn) {
        nk[j] = nk[nn - 1];
        nv[j] = nv[nn - 1];
        nn--;
      }
      continue;
    }
    nk[j] = keys[i];
    nv[j] = values[i];
    if (j == nn)
      nn++;
  }
  if (nn > 64)
    return beck_error_set(e, BECK_ERR_INVAL, "topic '%s': too many configs", name);
  if (validate_only)
    return BECK_ERR_OK;
  err = beck_meta_config_replace(ts->meta, name, nk, nv, nn, e);
  if (err)
    return err;
  /* copy before set_overrides frees the strings nk/nv may point into */
  beck_tcfg_entry_t *old = t->overrides;
  int nold = t->noverrides;
  t->overrides = NULL;
  t->noverrides = 0;
  err = set_overrides(t, nk, nv, nn) ? beck_error_set(e, BECK_ERR_NOMEM, "topic '%s': out of memory", name)
                                     : BECK_ERR_OK;
  for (int i = 0; i < nold; i++) {
    beck_free(old[i].key);
    beck_free(old[i].value);
  }
  beck_free(old);
  apply_config(t);
  return err;
}

const char *beck_topic_config_value(const beck_topic_t *t, const char *key, bool *is_default) {
  for (int i = 0; i < t->noverrides; i++)
    if (strcmp(t->overrides[i].key, key) == 0) {
      if (is_default)
        *is_default = false;
      return t->overrides[i].value;
    }
  if (is_default)
    *is_default = true;
  const beck_tcfg_def_t *d = beck_topic_config_find(key);
  return d ? d->default_value : NULL;
}
