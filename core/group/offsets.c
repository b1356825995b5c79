/*
 * offsets.c - committed offsets: OffsetCommit (Kafka's handleCommitOffsets
 * and validateOffsetCommit), OffsetFetch, topic deletion and retention.
 *
 * Each group keeps its offsets in memory, topics sorted by name and
 * partitions sorted by number, mirroring the metadata store. A commit
 * prepares every allocation first, writes the store, and only then changes
 * memory, so memory never holds an offset the store does not.
 */
#include <string.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "group/group_int.h"

static int topic_index(const gc_group_t *g, const char *name, bool *found) {
  int lo = 0, hi = g->ntopics;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    int c = strcmp(g->topics[mid].name, name);
    if (c == 0) {
      *found = true;
      return mid;
    }
    if (c < 0)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = false;
  return lo;
}

static gc_topic_t *topic_find(const gc_group_t *g, const char *name) {
  bool found;
  int i = topic_index(g, name, &found);
  return found ? &g->topics[i] : NULL;
}

/* Finds or adds (empty) a topic. The pointer is valid until the next add. */
static gc_topic_t *topic_get(gc_group_t *g, const char *name) {
  bool found;
  int i = topic_index(g, name, &found);
  if (found)
    return &g->topics[i];
  if (g->ntopics == g->captopics) {
    int cap = g->captopics ? g->captopics * 2 : 4;
    gc_topic_t *n = beck_realloc(g->topics, (size_t)cap * sizeof *n);
    if (n == NULL)
      return NULL;
    g->topics = n;
    g->captopics = cap;
  }
  char *copy = beck_strdup(name);
  if (copy == NULL)
    return NULL;
  memmove(g->topics + i + 1, g->topics + i, (size_t)(g->ntopics - i) * sizeof *g->topics);
  g->topics[i] = (gc_topic_t){.name = copy};
  g->ntopics++;
  return &g->topics[i];
}

static void topic_free(gc_topic_t *t) {
  for (int i = 0; i < t->n; i++)
    beck_free(t->parts[i].metadata);
  beck_free(t->parts);
  beck_free(t->name);
}

static void topic_remove(gc_group_t *g, int i) {
  topic_free(&g->topics[i]);
  memmove(g->topics + i, g->topics + i + 1, (size_t)(g->ntopics - i - 1) * sizeof *g->topics);
  g->ntopics--;
}

/* Drops topics left empty by a commit that failed. */
static void remove_empty_topics(gc_group_t *g) {
  for (int i = g->ntopics - 1; i >= 0; i--) {
    g->topics[i].reserve = 0;
    if (g->topics[i].n == 0)
      topic_remove(g, i);
  }
}

static int part_index(const gc_topic_t *t, int32_t partition, bool *found) {
  int lo = 0, hi = t->n;
  while (lo < hi) {
    int mid = lo + (hi - lo) / 2;
    if (t->parts[mid].partition == partition) {
      *found = true;
      return mid;
    }
    if (t->parts[mid].partition < partition)
      lo = mid + 1;
    else
      hi = mid;
  }
  *found = false;
  return lo;
}

static beck_err_t topic_reserve(gc_topic_t *t, int need) {
  if (need <= t->cap)
    return BECK_ERR_OK;
  int cap = t->cap ? t->cap : 4;
  while (cap < need)
    cap *= 2;
  gc_offset_t *n = beck_realloc(t->parts, (size_t)cap * sizeof *n);
  if (n == NULL)
    return BECK_ERR_NOMEM;
  t->parts = n;
  t->cap = cap;
  return BECK_ERR_OK;
}

/* Sets an offset; the capacity is reserved and metadata is handed over. */
static void topic_put(gc_topic_t *t, int32_t partition, int64_t offset, int32_t epoch, char *metadata,
                      int64_t commit_ms) {
  bool found;
  int i = part_index(t, partition, &found);
  if (found) {
    beck_free(t->parts[i].metadata);
  } else {
    memmove(t->parts + i + 1, t->parts + i, (size_t)(t->n - i) * sizeof *t->parts);
    t->n++;
  }
  t->parts[i] = (gc_offset_t){partition, epoch, offset, commit_ms, metadata};
}

void beck__gc_offsets_free(gc_group_t *g) {
  for (int i = 0; i < g->ntopics; i++)
    topic_free(&g->topics[i]);
  beck_free(g->topics);
  g->topics = NULL;
  g->ntopics = g->captopics = 0;
}

beck_err_t beck__gc_offset_load(gc_group_t *g, const beck_meta_offset_t *o) {
  char *md = beck_strdup(o->metadata ? o->metadata : "");
  gc_topic_t *t = md ? topic_get(g, o->topic) : NULL;
  if (t == NULL || topic_reserve(t, t->n + 1)) {
    beck_free(md);
    if (t && t->n == 0)
      remove_empty_topics(g);
    return BECK_ERR_NOMEM;
  }
  topic_put(t, o->partition, o->offset, o->leader_epoch, md, o->commit_ms);
  return BECK_ERR_OK;
}

/* ---- OffsetCommit ---- */

static int16_t validate_commit(const gc_group_t *g, int32_t generation_id, const char *member_id,
                               const char *instance_id) {
  if (generation_id >= 0 || *member_id || instance_id) {
    int16_t err = beck__gc_validate_member(g, member_id, instance_id);
    if (err)
      return err;
    return generation_id == g->generation ? BECK_KERR_NONE : BECK_KERR_ILLEGAL_GENERATION;
  }
  /* A simple commit (-1, ""): only when nobody manages the group. */
  return g->state == GC_EMPTY ? BECK_KERR_NONE : BECK_KERR_UNKNOWN_MEMBER_ID;
}

/* Writes the offsets that passed validation (errors[i] == 0); a failure
 * marks them 15 and leaves memory as it was. */
static void store_offsets(beck_gc_t *gc, gc_group_t *g, const beck_gc_offset_commit_t *offs, int n, int16_t *errors) {
  int valid = 0;
  for (int i = 0; i < n; i++)
    if (!errors[i])
      valid++;
  if (valid == 0)
    return;
  char **md = beck_calloc((size_t)n, sizeof *md);
  beck_meta_offset_t *rows = beck_calloc((size_t)valid, sizeof *rows);
  bool ok = md && rows;
  for (int i = 0; ok && i < n; i++) {
    if (errors[i])
      continue;
    gc_topic_t *t = NULL;
    if ((md[i] = beck_strdup(offs[i].metadata ? offs[i].metadata : "")) == NULL ||
        (t = topic_get(g, offs[i].topic)) == NULL)
      ok = false;
    else
      t->reserve++;
  }
  for (int i = 0; ok && i < g->ntopics; i++) {
    gc_topic_t *t = &g->topics[i];
    if (t->reserve && topic_reserve(t, t->n + t->reserve))
      ok = false;
    t->reserve = 0;
  }
  int64_t wall = beck__gc_wall_ms(gc);
  beck_error_t e;
  bool stored = false;
  if (ok) {
    int r = 0;
    for (int i = 0; i < n; i++) {
      if (errors[i])
        continue;
      rows[r++] = (beck_meta_offset_t){
          .group_id = g->id,
          .topic = offs[i].topic,
          .partition = offs[i].partition,
          .offset = offs[i].offset,
          .leader_epoch = offs[i].leader_epoch,
          .metadata = md[i],
          .commit_ms = wall,
      };
    }
    if (beck_meta_offsets_commit(gc->meta, rows, valid, &e) == BECK_ERR_OK)
      stored = true;
    else
      beck__gc_log(g, BECK_LOG_ERROR, "committing %d offsets: %s", valid, e.msg);
  } else {
    beck__gc_log(g, BECK_LOG_ERROR, "committing %d offsets: out of memory", valid);
  }
  for (int i = 0; i < n; i++) {
    if (errors[i])
      continue;
    if (stored) {
      topic_put(topic_find(g, offs[i].topic), offs[i].partition, offs[i].offset, offs[i].leader_epoch, md[i], wall);
      md[i] = NULL;
    } else {
      errors[i] = BECK_KERR_COORDINATOR_NOT_AVAILABLE;
    }
  }
  if (!stored)
    remove_empty_topics(g);
  for (int i = 0; md && i < n; i++)
    beck_free(md[i]);
  beck_free(md);
  beck_free(rows);
}

int16_t beck_gc_commit(beck_gc_t *gc, const char *group_id, int32_t generation_id, const char *member_id,
                       const char *group_instance_id, const beck_gc_offset_commit_t *offsets, int n, int16_t *errors,
                       int64_t now_ms) {
  if (group_id == NULL)
    group_id = "";
  if (member_id == NULL)
    member_id = "";
  beck__gc_enter(gc);
  int16_t top = BECK_KERR_NONE;
  gc_group_t *g = beck__gc_find(gc, group_id);
  if (g == NULL) {
    if (generation_id >= 0)
      top = BECK_KERR_ILLEGAL_GENERATION; /* a commit from a generation this coordinator never had */
    else if (*member_id || group_instance_id)
      top = BECK_KERR_UNKNOWN_MEMBER_ID;
    else if ((g = beck__gc_create(gc, group_id)) == NULL)
      top = BECK_KERR_COORDINATOR_NOT_AVAILABLE;
  }
  if (!top)
    top = validate_commit(g, generation_id, member_id, group_instance_id);
  if (!top && g->state == GC_COMPLETING_REBALANCE)
    top = BECK_KERR_REBALANCE_IN_PROGRESS;
  if (!top && (g->state == GC_STABLE || g->state == GC_PREPARING_REBALANCE)) {
    gc_member_t *m = beck__gc_member(g, member_id);
    if (m)
      beck__gc_touch(m, now_ms);
  }
  for (int i = 0; i < n; i++) {
    if (top)
      errors[i] = top;
    else if (offsets[i].metadata && (int64_t)strlen(offsets[i].metadata) > gc->cfg.offset_metadata_max_bytes)
      errors[i] = BECK_KERR_OFFSET_METADATA_TOO_LARGE;
    else
      errors[i] = BECK_KERR_NONE;
  }
  if (!top)
    store_offsets(gc, g, offsets, n, errors);
  if (g)
    beck__gc_drop_if_unused(gc, g);
  beck__gc_leave(gc);
  return top;
}

/* ---- OffsetFetch ---- */

bool beck_gc_offset_get(beck_gc_t *gc, const char *group_id, const char *topic, int32_t partition, int64_t *offset,
                        int32_t *leader_epoch, const char **metadata) {
  gc_group_t *g = group_id ? beck__gc_find(gc, group_id) : NULL;
  gc_topic_t *t = g && topic ? topic_find(g, topic) : NULL;
  const gc_offset_t *o = NULL;
  if (t) {
    bool found;
    int i = part_index(t, partition, &found);
    if (found)
      o = &t->parts[i];
  }
  if (offset)
    *offset = o ? o->offset : -1;
  if (leader_epoch)
    *leader_epoch = o ? o->leader_epoch : -1;
  if (metadata)
    *metadata = o ? o->metadata : "";
  return o != NULL;
}

void beck_gc_offsets_foreach(beck_gc_t *gc, const char *group_id, int (*cb)(void *arg, const beck_gc_offset_t *o),
                             void *arg) {
  gc_group_t *g = group_id ? beck__gc_find(gc, group_id) : NULL;
  for (int i = 0; g && i < g->ntopics; i++) {
    const gc_topic_t *t = &g->topics[i];
    for (int j = 0; j < t->n; j++) {
      const gc_offset_t *p = &t->parts[j];
      beck_gc_offset_t o = {t->name, p->partition, p->offset, p->leader_epoch, p->metadata, p->commit_ms};
      if (cb(arg, &o))
        return;
    }
  }
}

void beck_gc_delete_topic_offsets(beck_gc_t *gc, const char *topic) {
  for (int i = 0; i < gc->ngroups; i++) {
    gc_group_t *g = gc->groups[i];
    bool found;
    int k = topic_index(g, topic, &found);
    if (found)
      topic_remove(g, k);
  }
}

/* ---- retention ---- */

void beck__gc_retention(beck_gc_t *gc) {
  int64_t wall = beck__gc_wall_ms(gc);
  for (int i = 0; i < gc->ngroups;) {
    gc_group_t *g = gc->groups[i];
    if (g->state != GC_EMPTY) {
      i++;
      continue;
    }
    if (g->ntopics) {
      /* A consumer group's offsets expire retention after it emptied; a
       * group nobody ever joined counts from its newest commit. */
      int64_t base = g->empty_since_wall;
      if (g->protocol_type == NULL) {
        base = 0;
        for (int t = 0; t < g->ntopics; t++)
          for (int p = 0; p < g->topics[t].n; p++)
            if (g->topics[t].parts[p].commit_ms > base)
              base = g->topics[t].parts[p].commit_ms;
      }
      beck_error_t e;
      if (wall - base >= gc->cfg.offsets_retention_ms) {
        if (beck_meta_offsets_delete_group(gc->meta, g->id, &e) == BECK_ERR_OK) {
          beck__gc_log(g, BECK_LOG_INFO, "expired the offsets of %d topics", g->ntopics);
          beck__gc_offsets_free(g);
        } else {
          beck__gc_log(g, BECK_LOG_WARN, "expiring offsets: %s", e.msg);
        }
      }
    }
    if (g->ntopics == 0 && g->npending == 0) {
      beck_error_t e;
      if (beck_meta_group_delete(gc->meta, g->id, &e) == BECK_ERR_OK) {
        beck__gc_log(g, BECK_LOG_INFO, "removing empty group without offsets");
        beck__gc_remove_group(gc, g);
        continue;
      }
      beck__gc_log(g, BECK_LOG_WARN, "removing empty group: %s", e.msg);
    }
    i++;
  }
}
