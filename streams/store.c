/*
 * store.c - a task's state store: a local key-value store (memory or
 * sqlite3) plus its changelog partition.
 *
 * Write path: every put/delete goes to the local store and its latest
 * value per key is kept (a copy) in `pending`. At commit the pending
 * records are produced durably, in first-write order, to the changelog
 * ("<app>-<node>-changelog", partition = the task's partition,
 * cleanup.policy=compact: key = store key, value = store value or null for
 * a delete, timestamp = the record time). Only then is the local store
 * committed, with the changelog offset it now reflects as its checkpoint.
 * Writing only the latest value per key per commit replays to the same
 * state (a compacted topic keeps only the latest anyway).
 *
 * Invariant: the durable local state always equals the changelog replayed up
 * to its checkpoint. So a restart restores exactly:
 *
 *   local checkpoint c (sqlite)   replay changelog [c, high) on top of it
 *   no checkpoint / memory store  clear, replay [log start, high)
 *   c > high or c < log start     the local file does not belong to this
 *                                 changelog: clear, replay from log start
 *
 * Local commits may be spaced out (checkpoint_every): the changelog tail
 * then simply gets longer, never wrong.
 *
 * Exactly-once: the pending records go into the task's transaction
 * (beck__store_flush), and the task checkpoints the local store only once
 * that transaction has committed, with the offset it reports
 * (beck__store_checkpoint): the invariant holds for committed changelogs.
 */
#include "streams_int.h"

#include <errno.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>

#include "base/alloc.h"

/* Empty fetches (of up to 200 ms each) a restore tolerates below the high
 * watermark before it gives up. */
#define RESTORE_IDLE_FETCHES 150

static beck_err_t mkdirs(char *path, beck_error_t *e) {
  for (char *p = path + 1; *p; p++) {
    if (*p != '/')
      continue;
    *p = '\0';
    int r = mkdir(path, 0755);
    *p = '/';
    if (r != 0 && errno != EEXIST)
      return beck_error_set(e, beck_err_from_errno(errno), "mkdir %s: %s", path, strerror(errno));
  }
  if (mkdir(path, 0755) != 0 && errno != EEXIST)
    return beck_error_set(e, beck_err_from_errno(errno), "mkdir %s: %s", path, strerror(errno));
  return BECK_ERR_OK;
}

beck_err_t beck__store_open(beck__task_t *task, const beck_stream_t *s, beck__store_t **out, beck_error_t *e) {
  beck__store_t *st = beck_calloc(1, sizeof *st);
  if (st == NULL || (st->name = beck_strdup(s->name)) == NULL) {
    beck_free(st);
    return beck_error_set(e, BECK_ERR_NOMEM, "store %s: out of memory", s->name);
  }
  st->partition = task->partition;
  st->io = task->io;
  st->changelog_next = -1;
  st->checkpoint_every = task->cfg.checkpoint_every > 1 ? task->cfg.checkpoint_every : 1;
  beck_err_t rc = BECK_ERR_OK;
  if (!s->store.no_changelog) {
    char topic[512];
    beck__topic_name(task->topo, s, "changelog", topic, sizeof topic);
    if ((st->changelog = beck_strdup(topic)) == NULL || (st->pending = beck__logbuf_new()) == NULL)
      rc = beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  }
  if (rc == BECK_ERR_OK && s->store.kind == BECK_STORE_SQLITE) {
    if (task->cfg.state_dir == NULL) {
      rc = beck_error_set(e, BECK_ERR_INVAL, "a sqlite store needs a state directory");
    } else {
      char dir[1024], path[1200];
      snprintf(dir, sizeof dir, "%s/%s/%s", task->cfg.state_dir, task->topo->app_id, task->id);
      rc = mkdirs(dir, e);
      if (rc == BECK_ERR_OK) {
        snprintf(path, sizeof path, "%s/%s.db", dir, s->name);
        bool reset = false;
        rc = beck__kv_sqlite_open(path, &st->kv, &reset, e);
      }
    }
  } else if (rc == BECK_ERR_OK) {
    rc = beck__kv_mem_open(&st->kv, e);
  }
  if (rc != BECK_ERR_OK) {
    beck__store_close(st);
    return beck_error_wrap(e, "store %s", s->name);
  }
  *out = st;
  return BECK_ERR_OK;
}

beck_err_t beck__store_restore(beck__store_t *st, beck_error_t *e) {
  st->m_restored = 0;
  if (st->changelog == NULL)
    return BECK_ERR_OK;
  beck__io_t *io = st->io;
  int64_t start, high;
  beck_err_t rc = io->vt->watermarks(io, st->changelog, st->partition, &start, &high, e);
  if (rc != BECK_ERR_OK)
    return beck_error_wrap(e, "store %s: changelog %s-%d", st->name, st->changelog, (int)st->partition);
  int64_t cp = st->kv->vt->checkpoint(st->kv);
  int64_t from = cp;
  if (cp < 0 || cp > high || cp < start) {
    rc = st->kv->vt->clear(st->kv, e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "store %s", st->name);
    from = start;
  }
  beck_arena_t arena;
  beck_arena_init(&arena, BECK__TASK_ARENA_CHUNK);
  int idle = 0;
  while (from < high) {
    beck_srec_t *recs;
    size_t n;
    int64_t next;
    rc = io->vt->fetch(io, st->changelog, st->partition, from, 4096, 200, &arena, &recs, NULL, &n, &next, e);
    if (rc != BECK_ERR_OK)
      break;
    for (size_t i = 0; i < n && rc == BECK_ERR_OK; i++) {
      const beck_srec_t *r = &recs[i];
      if (r->key.len < 0)
        continue;
      if (r->value.len < 0)
        rc = st->kv->vt->del(st->kv, r->key.ptr, (size_t)r->key.len, e);
      else
        rc = st->kv->vt->put(st->kv, r->key.ptr, (size_t)r->key.len, r->value.ptr, (size_t)r->value.len, r->timestamp,
                             e);
      st->m_restored++;
    }
    beck_arena_reset(&arena);
    if (rc != BECK_ERR_OK)
      break;
    if (n == 0 && next <= from) {
      /* a remote log may not have the records in hand yet */
      if (++idle > RESTORE_IDLE_FETCHES) {
        rc = beck_error_set(e, BECK_ERR_TIMEOUT, "no records at offset %lld below the high watermark %lld",
                            (long long)from, (long long)high);
        break;
      }
      continue;
    }
    idle = 0;
    from = next;
  }
  beck_arena_destroy(&arena);
  if (rc == BECK_ERR_OK)
    rc = st->kv->vt->commit(st->kv, high, e);
  if (rc != BECK_ERR_OK)
    return beck_error_wrap(e, "store %s: restore from %s-%d", st->name, st->changelog, (int)st->partition);
  st->changelog_next = high;
  return BECK_ERR_OK;
}

int beck__store_get(beck__store_t *st, const uint8_t *k, size_t kl, beck_slice_t *v, int64_t *ts, beck_error_t *e) {
  return st->kv->vt->get(st->kv, k, kl, v, ts, e);
}

static beck_err_t log_write(beck__store_t *st, const uint8_t *k, size_t kl, const uint8_t *v, int64_t vl, int64_t ts) {
  if (st->changelog == NULL)
    return BECK_ERR_OK;
  return beck__logbuf_put(st->pending, k, kl, v, vl, ts);
}

beck_err_t beck__store_put(beck__store_t *st, const uint8_t *k, size_t kl, const uint8_t *v, size_t vl, int64_t ts,
                           beck_error_t *e) {
  if (kl > INT32_MAX || vl > INT32_MAX)
    return beck_error_set(e, BECK_ERR_TOOBIG, "store %s: entry too large", st->name);
  /* The changelog copy first: v may point into the stored value the put
   * replaces. (A failed put fails the task; the buffered write is never
   * produced.) */
  if (log_write(st, k, kl, v, (int64_t)vl, ts) != BECK_ERR_OK)
    return beck_error_set(e, BECK_ERR_NOMEM, "store %s: out of memory", st->name);
  return st->kv->vt->put(st->kv, k, kl, v, vl, ts, e);
}

beck_err_t beck__store_del(beck__store_t *st, const uint8_t *k, size_t kl, int64_t ts, beck_error_t *e) {
  beck_err_t rc = st->kv->vt->del(st->kv, k, kl, e);
  if (rc == BECK_ERR_OK && log_write(st, k, kl, NULL, -1, ts) != BECK_ERR_OK)
    rc = beck_error_set(e, BECK_ERR_NOMEM, "store %s: out of memory", st->name);
  return rc;
}

beck_err_t beck__store_scan(beck__store_t *st, const uint8_t *lo, size_t lol, const uint8_t *hi, size_t hil,
                            beck__kv_scan_fn fn, void *arg, beck_error_t *e) {
  return st->kv->vt->scan(st->kv, lo, lol, hi, hil, fn, arg, e);
}

beck_err_t beck__store_flush(beck__store_t *st, beck_error_t *e) {
  size_t n = st->pending ? beck__logbuf_count(st->pending) : 0;
  if (n > 0) {
    beck_srec_t *recs = beck_malloc(n * sizeof *recs);
    if (recs == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "store %s: out of memory", st->name);
    for (size_t i = 0; i < n; i++)
      beck__logbuf_get(st->pending, i, &recs[i]);
    int64_t next = -1;
    beck_err_t rc = st->io->vt->produce(st->io, st->changelog, st->partition, recs, n, &next, e);
    beck_free(recs);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "store %s: changelog %s-%d", st->name, st->changelog, (int)st->partition);
    if (next >= 0) /* a transactional io tells once it committed */
      st->changelog_next = next;
    beck__logbuf_reset(st->pending);
  }
  return BECK_ERR_OK;
}

beck_err_t beck__store_checkpoint(beck__store_t *st, bool checkpoint, beck_error_t *e) {
  if (checkpoint || ++st->commits_since_checkpoint >= st->checkpoint_every) {
    st->commits_since_checkpoint = 0;
    beck_err_t rc = st->kv->vt->commit(st->kv, st->changelog ? st->changelog_next : -1, e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "store %s", st->name);
  }
  return BECK_ERR_OK;
}

beck_err_t beck__store_commit(beck__store_t *st, bool checkpoint, beck_error_t *e) {
  beck_err_t rc = beck__store_flush(st, e);
  return rc != BECK_ERR_OK ? rc : beck__store_checkpoint(st, checkpoint, e);
}

void beck__store_close(beck__store_t *st) {
  if (st == NULL)
    return;
  if (st->kv != NULL)
    st->kv->vt->close(st->kv);
  beck__logbuf_free(st->pending);
  beck_free(st->changelog);
  beck_free(st->name);
  beck_free(st);
}
