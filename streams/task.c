/*
 * task.c - a task: one sub-topology over one partition of its inputs (all
 * of a sub-topology's input topics are co-partitioned, so partition p of
 * each belongs to task "<sub>_<p>", like Kafka Streams' task ids).
 *
 * Lifecycle:
 *
 *   new      instantiate nodes -> open stores -> restore stores from their
 *            changelogs -> open operators (they rebuild in-memory indexes
 *            from the restored stores) -> resume inputs at the committed
 *            offsets of group <app_id>
 *   poll     fetch a batch per input; push their records through the
 *            sub-topology in timestamp order across inputs, one run at a
 *            time; reset the task arena after each run
 *   advance  push a watermark through every operator (node order)
 *   commit   operators flush -> sinks produce (durable) -> stores produce
 *            their changelogs (durable) and checkpoint -> input offsets are
 *            committed. Input is thus committed only after the outputs and
 *            state it produced are durable: at-least-once. A crash between
 *            the steps replays input whose effects may already be in the
 *            outputs or changelogs (duplicates, never loss).
 *            Exactly-once (the task's io is transactional): sinks,
 *            changelogs and input offsets all go into the io's transaction,
 *            which commits them at once; only then are the local stores
 *            checkpointed (at the changelog offsets the commit reports). A
 *            crash anywhere leaves the last commit: outputs, changelogs and
 *            offsets that agree. After a failed poll, advance or commit
 *            the task's state is ahead of its last commit, so it refuses
 *            to commit again (restart the runtime to go on).
 *   close    stores close without committing (a clean shutdown commits
 *            first)
 *
 * A task runs on one thread at a time; nothing in it is shared with other
 * tasks except the io and the (immutable) topology.
 */
#include "streams_int.h"

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"

/* How long an input that is known to hold records may keep the other
 * inputs of its task waiting (see refill). */
#define TASK_IDLE_WAIT_MS 2000

static const beck__op_vt_t *vt_for(beck__op_t op) {
  switch (op) {
  case BECK__OP_SOURCE:
    return &beck__op_source_vt;
  case BECK__OP_TABLE_SOURCE:
    return &beck__op_table_source_vt;
  case BECK__OP_FILTER:
    return &beck__op_filter_vt;
  case BECK__OP_MAP:
    return &beck__op_map_vt;
  case BECK__OP_MAP_VALUES:
    return &beck__op_map_values_vt;
  case BECK__OP_SELECT_KEY:
    return &beck__op_select_key_vt;
  case BECK__OP_FLAT_MAP:
    return &beck__op_flat_map_vt;
  case BECK__OP_PEEK:
    return &beck__op_peek_vt;
  case BECK__OP_PROCESS:
    return &beck__op_process_vt;
  case BECK__OP_BRANCH:
    return &beck__op_branch_vt;
  case BECK__OP_PASS:
    return &beck__op_pass_vt;
  case BECK__OP_SINK:
    return &beck__op_sink_vt;
  case BECK__OP_AGGREGATE:
    return &beck__op_aggregate_vt;
  case BECK__OP_WINDOW_AGGREGATE:
    return &beck__op_window_aggregate_vt;
  case BECK__OP_JOIN_SS:
    return &beck__op_join_ss_vt;
  case BECK__OP_JOIN_ST:
    return &beck__op_join_st_vt;
  case BECK__OP_JOIN_TT:
    return &beck__op_join_tt_vt;
  }
  return NULL;
}

beck__nrt_t *beck__task_node(beck__task_t *task, const beck_stream_t *s) {
  for (int i = 0; i < task->sub->nnodes; i++)
    if (task->nodes[i].def == s)
      return &task->nodes[i];
  return NULL;
}

/* Wires children[] and child_port[] of every instance. */
static beck_err_t wire(beck__task_t *task, beck_error_t *e) {
  for (int i = 0; i < task->sub->nnodes; i++) {
    beck__nrt_t *n = &task->nodes[i];
    const beck_stream_t *d = n->def;
    if (d->nchildren == 0)
      continue;
    n->children = beck_calloc((size_t)d->nchildren, sizeof *n->children);
    n->child_port = beck_calloc((size_t)d->nchildren, sizeof *n->child_port);
    if (n->children == NULL || n->child_port == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
    for (int j = 0; j < d->nchildren; j++) {
      const beck_stream_t *c = d->children[j];
      /* The k-th edge d->c is the k-th occurrence of d among c's parents
       * (a self-join lists the same parent twice). */
      int k = 0;
      for (int jj = 0; jj < j; jj++)
        k += d->children[jj] == c;
      int port = -1;
      for (int p = 0; p < c->nparents; p++)
        if (c->parents[p] == d && k-- == 0) {
          port = p;
          break;
        }
      n->children[j] = beck__task_node(task, c);
      n->child_port[j] = port;
      if (n->children[j] == NULL || port < 0)
        return beck_error_set(e, BECK_ERR_STATE, "node '%s': child '%s' is not in sub-topology %d", d->name, c->name,
                              task->sub->id);
    }
    n->nchildren = d->nchildren;
  }
  return BECK_ERR_OK;
}

beck_err_t beck__task_new(beck_topology_t *t, const beck__subtopo_t *sub, int32_t partition, beck__io_t *io,
                          const beck__task_config_t *cfg, beck__task_t **out, beck_error_t *e) {
  beck__task_t *task = beck_calloc(1, sizeof *task);
  if (task == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  task->topo = t;
  task->sub = sub;
  task->partition = partition;
  task->io = io;
  task->cfg = *cfg;
  if (task->cfg.max_batch == 0)
    task->cfg.max_batch = 1024;
  task->stream_time = INT64_MIN;
  task->watermark = INT64_MIN;
  snprintf(task->id, sizeof task->id, "%d_%d", sub->id, (int)partition);
  beck_arena_init(&task->arena, BECK__TASK_ARENA_CHUNK);
  beck_err_t rc = BECK_ERR_NOMEM;
  task->nodes = beck_calloc((size_t)sub->nnodes, sizeof *task->nodes);
  task->stores = beck_calloc((size_t)sub->nnodes, sizeof *task->stores);
  task->sources = beck_calloc((size_t)sub->nnodes, sizeof *task->sources);
  if (task->nodes == NULL || task->stores == NULL || task->sources == NULL) {
    beck_error_set(e, rc, "out of memory");
    goto fail;
  }
  for (int i = 0; i < sub->nnodes; i++) {
    task->nodes[i].def = sub->nodes[i];
    task->nodes[i].task = task;
    task->nodes[i].vt = vt_for(sub->nodes[i]->op);
  }
  if ((rc = wire(task, e)) != BECK_ERR_OK)
    goto fail;
  for (int i = 0; i < sub->nnodes; i++) {
    beck__nrt_t *n = &task->nodes[i];
    if (!n->def->has_store)
      continue;
    if ((rc = beck__store_open(task, n->def, &n->store, e)) != BECK_ERR_OK)
      goto fail;
    task->stores[task->nstores++] = n->store;
    if ((rc = beck__store_restore(n->store, e)) != BECK_ERR_OK)
      goto fail;
  }
  for (int i = 0; i < sub->nnodes; i++) {
    beck__nrt_t *n = &task->nodes[i];
    if (n->vt->open != NULL && (rc = n->vt->open(n, e)) != BECK_ERR_OK)
      goto fail;
  }
  for (int i = 0; i < sub->nnodes; i++) {
    beck__nrt_t *n = &task->nodes[i];
    if (n->def->op != BECK__OP_SOURCE && n->def->op != BECK__OP_TABLE_SOURCE)
      continue;
    beck__task_source_t *s = &task->sources[task->nsources++];
    s->node = n;
    s->topic = n->def->topic;
    if ((rc = io->vt->committed(io, t->app_id, s->topic, partition, &s->committed, e)) != BECK_ERR_OK)
      goto fail;
    s->next = s->committed >= 0 ? s->committed : 0;
    s->fetch = s->next;
    if (s->committed < 0)
      s->committed = 0;
    beck_arena_init(&s->arena, BECK__TASK_ARENA_CHUNK);
  }
  beck_arena_reset(&task->arena);
  *out = task;
  return BECK_ERR_OK;
fail:
  beck_error_wrap(e, "task %s", task->id);
  beck__task_close(task);
  return rc;
}

/* Fetches the next batch of s when everything fetched was processed. */
static beck_err_t refill(beck__task_t *task, beck__task_source_t *s, beck_error_t *e) {
  if (s->pos < s->nbuf || s->drained)
    return BECK_ERR_OK;
  beck_arena_reset(&s->arena);
  s->buf = NULL;
  s->off = NULL;
  s->nbuf = s->pos = 0;
  int64_t next;
  beck_err_t rc = task->io->vt->fetch(task->io, s->topic, task->partition, s->fetch, task->cfg.max_batch, 0, &s->arena,
                                      &s->buf, &s->off, &s->nbuf, &next, e);
  if (rc == BECK_ERR_OK && s->nbuf == 0 && next <= s->fetch && task->nsources > 1) {
    /* Nothing in hand. When the partition does hold more (a remote fetch
     * still on its way), wait a little for it rather than let the other
     * inputs run ahead of it in time (Kafka's max.task.idle.ms). */
    int64_t start, high;
    rc = task->io->vt->watermarks(task->io, s->topic, task->partition, &start, &high, e);
    for (int waited = 0; rc == BECK_ERR_OK && s->fetch < high && s->nbuf == 0 && next <= s->fetch &&
                         waited < TASK_IDLE_WAIT_MS;
         waited += 50)
      rc = task->io->vt->fetch(task->io, s->topic, task->partition, s->fetch, task->cfg.max_batch, 50, &s->arena,
                               &s->buf, &s->off, &s->nbuf, &next, e);
  }
  if (rc != BECK_ERR_OK)
    return beck_error_wrap(e, "task %s: fetch %s-%d at %lld", task->id, s->topic, (int)task->partition,
                           (long long)s->fetch);
  s->fetch = next;
  if (s->nbuf == 0) {
    s->drained = true;
    s->next = next; /* gaps (compaction, control records) need no processing */
  }
  return BECK_ERR_OK;
}

/*
 * Input order: a task with several inputs (the two topics of a join, a
 * table and a stream, merged topics) processes their records in timestamp
 * order, like Kafka's partition group. The input whose next record is the
 * oldest goes first, as one batch holding its records up to the next
 * record of every other input (ties go to the input created first). An
 * input with nothing to read is not waited for.
 */
static beck_err_t poll_inputs(beck__task_t *task, size_t *did, beck_error_t *e);

beck_err_t beck__task_poll(beck__task_t *task, size_t *did, beck_error_t *e) {
  beck_err_t rc = poll_inputs(task, did, e);
  if (rc != BECK_ERR_OK)
    task->failed = true;
  return rc;
}

static beck_err_t poll_inputs(beck__task_t *task, size_t *did, beck_error_t *e) {
  *did = 0;
  for (int i = 0; i < task->nsources; i++)
    task->sources[i].drained = false;
  size_t budget = task->cfg.max_batch * (size_t)(task->nsources > 0 ? task->nsources : 1);
  while (*did < budget) {
    beck__task_source_t *best = NULL;
    for (int i = 0; i < task->nsources; i++) {
      beck__task_source_t *s = &task->sources[i];
      beck_err_t rc = refill(task, s, e);
      if (rc != BECK_ERR_OK)
        return rc;
      if (s->pos < s->nbuf && (best == NULL || s->buf[s->pos].timestamp < best->buf[best->pos].timestamp))
        best = s;
    }
    if (best == NULL)
      break;
    /* The run ends before the first record that another input's next
     * record precedes (on a tie, the input created first precedes). */
    int64_t limit = INT64_MAX;
    bool tie_ok = true;
    for (int i = 0; i < task->nsources; i++) {
      beck__task_source_t *s = &task->sources[i];
      if (s == best || s->pos >= s->nbuf)
        continue;
      int64_t h = s->buf[s->pos].timestamp;
      if (h < limit || (h == limit && s < best)) {
        limit = h;
        tie_ok = best < s;
      }
    }
    size_t end = best->pos + 1;
    while (end < best->nbuf && (best->buf[end].timestamp < limit || (best->buf[end].timestamp == limit && tie_ok)))
      end++;
    beck_sbatch_t b = {best->buf + best->pos, end - best->pos};
    beck_err_t rc = best->node->vt->process(best->node, 0, &b, e);
    beck_arena_reset(&task->arena);
    if (rc != BECK_ERR_OK) {
      beck_error_wrap(e, "topic %s partition %d offsets %lld..%lld", best->topic, (int)task->partition,
                      (long long)best->off[best->pos], (long long)best->off[end - 1]);
      return beck_error_wrap(e, "task %s", task->id);
    }
    *did += b.n;
    best->pos = end;
    best->next = end < best->nbuf ? best->off[end] : best->fetch;
    task->dirty = true;
  }
  return BECK_ERR_OK;
}

beck_err_t beck__task_behind(beck__task_t *task, bool *behind, beck_error_t *e) {
  *behind = false;
  for (int i = 0; i < task->nsources; i++) {
    beck__task_source_t *s = &task->sources[i];
    if (s->pos < s->nbuf) {
      *behind = true;
      return BECK_ERR_OK;
    }
    int64_t start, high;
    beck_err_t rc = task->io->vt->watermarks(task->io, s->topic, task->partition, &start, &high, e);
    if (rc != BECK_ERR_OK)
      return beck_error_wrap(e, "task %s: %s-%d", task->id, s->topic, (int)task->partition);
    if (s->fetch < high) {
      *behind = true;
      return BECK_ERR_OK;
    }
  }
  return BECK_ERR_OK;
}

beck_err_t beck__task_advance(beck__task_t *task, int64_t t, beck_error_t *e) {
  if (t > task->stream_time)
    task->stream_time = t;
  if (t > task->watermark)
    task->watermark = t;
  for (int i = 0; i < task->sub->nnodes; i++) {
    beck__nrt_t *n = &task->nodes[i];
    if (n->vt->advance == NULL)
      continue;
    beck_err_t rc = n->vt->advance(n, t, e);
    if (rc != BECK_ERR_OK) {
      task->failed = true;
      beck_arena_reset(&task->arena);
      return beck_error_wrap(e, "task %s: advance to %lld", task->id, (long long)t);
    }
  }
  beck_arena_reset(&task->arena);
  task->dirty = true;
  return BECK_ERR_OK;
}

/* Exactly-once: changelogs and offsets into the transaction (the sinks
 * have flushed into it), commit, then checkpoint the local stores. */
static beck_err_t commit_txn(beck__task_t *task, bool checkpoint, beck_error_t *e) {
  beck__io_t *io = task->io;
  beck_err_t rc = BECK_ERR_OK;
  for (int i = 0; i < task->nstores && rc == BECK_ERR_OK; i++)
    rc = beck__store_flush(task->stores[i], e);
  for (int i = 0; i < task->nsources && rc == BECK_ERR_OK; i++) {
    beck__task_source_t *s = &task->sources[i];
    if (s->next != s->committed)
      rc = io->vt->commit(io, task->topo->app_id, s->topic, task->partition, s->next, e);
  }
  if (rc == BECK_ERR_OK)
    rc = io->txn->commit(io, e);
  if (rc != BECK_ERR_OK)
    return rc;
  for (int i = 0; i < task->nsources; i++)
    task->sources[i].committed = task->sources[i].next;
  for (int i = 0; i < task->nstores && rc == BECK_ERR_OK; i++) {
    beck__store_t *st = task->stores[i];
    int64_t next = st->changelog ? io->txn->next_offset(io, st->changelog, st->partition) : -1;
    if (next >= 0)
      st->changelog_next = next;
    rc = beck__store_checkpoint(st, checkpoint, e);
  }
  return rc;
}

beck_err_t beck__task_commit(beck__task_t *task, bool checkpoint, beck_error_t *e) {
  beck_err_t rc = BECK_ERR_OK;
  if (task->failed && task->io->txn != NULL)
    return beck_error_set(e, BECK_ERR_STATE,
                          "task %s: not committing: an earlier error left its state ahead of its last commit",
                          task->id);
  for (int i = 0; i < task->sub->nnodes && rc == BECK_ERR_OK; i++) {
    beck__nrt_t *n = &task->nodes[i];
    if (n->vt->flush != NULL)
      rc = n->vt->flush(n, e);
  }
  if (task->io->txn != NULL) {
    if (rc == BECK_ERR_OK)
      rc = commit_txn(task, checkpoint, e);
  } else {
    for (int i = 0; i < task->nstores && rc == BECK_ERR_OK; i++)
      rc = beck__store_commit(task->stores[i], checkpoint, e);
    for (int i = 0; i < task->nsources && rc == BECK_ERR_OK; i++) {
      beck__task_source_t *s = &task->sources[i];
      if (s->next == s->committed)
        continue;
      rc = task->io->vt->commit(task->io, task->topo->app_id, s->topic, task->partition, s->next, e);
      if (rc == BECK_ERR_OK)
        s->committed = s->next;
    }
  }
  beck_arena_reset(&task->arena);
  if (rc != BECK_ERR_OK) {
    task->failed = true;
    return beck_error_wrap(e, "task %s: commit", task->id);
  }
  task->dirty = false;
  return BECK_ERR_OK;
}

void beck__task_close(beck__task_t *task) {
  if (task == NULL)
    return;
  if (task->nodes != NULL) {
    for (int i = 0; i < task->sub->nnodes; i++) {
      beck__nrt_t *n = &task->nodes[i];
      if (n->vt != NULL && n->vt->close != NULL)
        n->vt->close(n);
      beck_free(n->children);
      beck_free(n->child_port);
    }
  }
  for (int i = 0; i < task->nstores; i++)
    beck__store_close(task->stores[i]);
  for (int i = 0; i < task->nsources; i++)
    beck_arena_destroy(&task->sources[i].arena);
  beck_free(task->stores);
  beck_free(task->sources);
  beck_free(task->nodes);
  beck_arena_destroy(&task->arena);
  beck_free(task);
}

int64_t beck__tasks_metric(beck_topology_t *t, beck__task_t **tasks, int ntasks, const char *node, const char *metric) {
  beck_stream_t *s = beck_topology_node(t, node);
  if (s == NULL)
    return -1;
  int64_t total = 0;
  for (int i = 0; i < ntasks; i++) {
    beck__nrt_t *n = beck__task_node(tasks[i], s);
    if (n == NULL)
      continue;
    if (strcmp(metric, "late") == 0)
      total += n->m_late;
    else if (strcmp(metric, "skipped") == 0)
      total += n->m_skipped;
    else if (strcmp(metric, "processed") == 0)
      total += n->m_processed;
    else if (strcmp(metric, "restored") == 0)
      total += n->store ? n->store->m_restored : 0;
    else
      return -1;
  }
  return total;
}
