/*
 * io_mem.c - an in-memory log behind the task io interface: topics of
 * partitions of records with offsets 0, 1, 2, ..., committed offsets per
 * (group, topic, partition). The test driver runs tasks over it, so tests
 * exercise the same produce / fetch / commit / restore paths as a real log.
 *
 * Records are copied on produce into the partition's arena and never freed
 * before the io is destroyed, so a record's bytes stay valid for the life of
 * the log (the driver hands them out as borrowed). Compaction is not
 * modelled: a compacted topic keeps every record, which replays to the same
 * state. Single-threaded, like the driver.
 */
#include "streams_int.h"

#include <string.h>

#include "base/alloc.h"

typedef struct mpart {
  beck_srec_t *recs;
  int64_t n, cap;
  beck_arena_t arena;
} mpart_t;

typedef struct mtopic {
  char *name;
  int32_t nparts;
  mpart_t *parts;
  bool compact;
} mtopic_t;

typedef struct mcommit {
  char *group, *topic;
  int32_t partition;
  int64_t offset;
} mcommit_t;

typedef struct io_mem {
  beck__io_t base;
  mtopic_t *topics;
  int ntopics, tcap;
  mcommit_t *commits;
  int ncommits, ccap;
} io_mem_t;

static mtopic_t *find_topic(io_mem_t *m, const char *name) {
  for (int i = 0; i < m->ntopics; i++)
    if (strcmp(m->topics[i].name, name) == 0)
      return &m->topics[i];
  return NULL;
}

static beck_err_t get_part(io_mem_t *m, const char *topic, int32_t p, mpart_t **out, beck_error_t *e) {
  mtopic_t *t = find_topic(m, topic);
  if (t == NULL)
    return beck_error_set(e, BECK_ERR_NOTFOUND, "topic %s does not exist", topic);
  if (p < 0 || p >= t->nparts)
    return beck_error_set(e, BECK_ERR_NOTFOUND, "topic %s has no partition %d", topic, (int)p);
  *out = &t->parts[p];
  return BECK_ERR_OK;
}

static beck_err_t mem_create_topic(beck__io_t *io, const char *topic, int32_t partitions, bool compact,
                                   beck_error_t *e) {
  io_mem_t *m = (io_mem_t *)io;
  if (find_topic(m, topic) != NULL)
    return BECK_ERR_OK;
  if (partitions < 1)
    return beck_error_set(e, BECK_ERR_INVAL, "topic %s: %d partitions", topic, (int)partitions);
  if (m->ntopics == m->tcap) {
    int nc = m->tcap ? m->tcap * 2 : 8;
    mtopic_t *a = beck_realloc(m->topics, (size_t)nc * sizeof *a);
    if (a == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
    m->topics = a;
    m->tcap = nc;
  }
  mtopic_t t = {.nparts = partitions, .compact = compact};
  t.name = beck_strdup(topic);
  t.parts = beck_calloc((size_t)partitions, sizeof *t.parts);
  if (t.name == NULL || t.parts == NULL) {
    beck_free(t.name);
    beck_free(t.parts);
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  }
  for (int32_t i = 0; i < partitions; i++)
    beck_arena_init(&t.parts[i].arena, BECK__TASK_ARENA_CHUNK);
  m->topics[m->ntopics++] = t;
  return BECK_ERR_OK;
}

static beck_err_t mem_partitions(beck__io_t *io, const char *topic, int32_t *out, beck_error_t *e) {
  mtopic_t *t = find_topic((io_mem_t *)io, topic);
  if (t == NULL)
    return beck_error_set(e, BECK_ERR_NOTFOUND, "topic %s does not exist", topic);
  *out = t->nparts;
  return BECK_ERR_OK;
}

static beck_err_t mem_produce(beck__io_t *io, const char *topic, int32_t partition, const beck_srec_t *recs, size_t n,
                              int64_t *next, beck_error_t *e) {
  mpart_t *p;
  beck_err_t rc = get_part((io_mem_t *)io, topic, partition, &p, e);
  if (rc != BECK_ERR_OK)
    return rc;
  if (p->n + (int64_t)n > p->cap) {
    int64_t nc = p->cap ? p->cap : 64;
    while (nc < p->n + (int64_t)n)
      nc *= 2;
    beck_srec_t *a = beck_realloc(p->recs, (size_t)nc * sizeof *a);
    if (a == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
    p->recs = a;
    p->cap = nc;
  }
  for (size_t i = 0; i < n; i++) {
    if (beck__rec_copy(&p->arena, &recs[i], &p->recs[p->n]) != BECK_ERR_OK)
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
    /* the log keeps key, value, timestamp and headers; window bounds travel in the key */
    p->recs[p->n].windowed = false;
    p->recs[p->n].window_start = p->recs[p->n].window_end = 0;
    p->n++;
  }
  if (next != NULL)
    *next = p->n;
  return BECK_ERR_OK;
}

static beck_err_t mem_fetch(beck__io_t *io, const char *topic, int32_t partition, int64_t offset, size_t max,
                            int wait_ms, beck_arena_t *arena, beck_srec_t **recs, int64_t **offsets, size_t *n,
                            int64_t *next, beck_error_t *e) {
  mpart_t *p;
  beck_err_t rc = get_part((io_mem_t *)io, topic, partition, &p, e);
  if (rc != BECK_ERR_OK)
    return rc;
  if (offset < 0 || offset > p->n)
    return beck_error_set(e, BECK_ERR_RANGE, "topic %s partition %d: offset %lld out of range [0, %lld]", topic,
                          (int)partition, (long long)offset, (long long)p->n);
  size_t k = (size_t)(p->n - offset);
  if (k > max)
    k = max;
  *recs = NULL;
  if (k > 0) {
    *recs = beck_arena_alloc(arena, k * sizeof **recs);
    if (*recs == NULL)
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
    memcpy(*recs, p->recs + offset, k * sizeof **recs);
    if (offsets != NULL) {
      *offsets = beck_arena_alloc(arena, k * sizeof **offsets);
      if (*offsets == NULL)
        return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
      for (size_t i = 0; i < k; i++)
        (*offsets)[i] = offset + (int64_t)i;
    }
  }
  *n = k;
  *next = offset + (int64_t)k;
  return BECK_ERR_OK;
}

static beck_err_t mem_watermarks(beck__io_t *io, const char *topic, int32_t partition, int64_t *start, int64_t *high,
                                 beck_error_t *e) {
  mpart_t *p;
  beck_err_t rc = get_part((io_mem_t *)io, topic, partition, &p, e);
  if (rc != BECK_ERR_OK)
    return rc;
  *start = 0;
  *high = p->n;
  return BECK_ERR_OK;
}

static mcommit_t *find_commit(io_mem_t *m, const char *group, const char *topic, int32_t partition) {
  for (int i = 0; i < m->ncommits; i++) {
    mcommit_t *c = &m->commits[i];
    if (c->partition == partition && strcmp(c->group, group) == 0 && strcmp(c->topic, topic) == 0)
      return c;
  }
  return NULL;
}

static beck_err_t mem_commit(beck__io_t *io, const char *group, const char *topic, int32_t partition, int64_t offset,
                             beck_error_t *e) {
  io_mem_t *m = (io_mem_t *)io;
  mcommit_t *c = find_commit(m, group, topic, partition);
  if (c == NULL) {
    if (m->ncommits == m->ccap) {
      int nc = m->ccap ? m->ccap * 2 : 8;
      mcommit_t *a = beck_realloc(m->commits, (size_t)nc * sizeof *a);
      if (a == NULL)
        return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
      m->commits = a;
      m->ccap = nc;
    }
    c = &m->commits[m->ncommits];
    c->group = beck_strdup(group);
    c->topic = beck_strdup(topic);
    if (c->group == NULL || c->topic == NULL) {
      beck_free(c->group);
      beck_free(c->topic);
      return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
    }
    c->partition = partition;
    m->ncommits++;
  }
  c->offset = offset;
  return BECK_ERR_OK;
}

static beck_err_t mem_committed(beck__io_t *io, const char *group, const char *topic, int32_t partition,
                                int64_t *offset, beck_error_t *e) {
  mcommit_t *c = find_commit((io_mem_t *)io, group, topic, partition);
  *offset = c ? c->offset : -1;
  return BECK_ERR_OK;
}

static void mem_destroy(beck__io_t *io) {
  io_mem_t *m = (io_mem_t *)io;
  for (int i = 0; i < m->ntopics; i++) {
    mtopic_t *t = &m->topics[i];
    for (int32_t p = 0; p < t->nparts; p++) {
      beck_free(t->parts[p].recs);
      beck_arena_destroy(&t->parts[p].arena);
    }
    beck_free(t->parts);
    beck_free(t->name);
  }
  for (int i = 0; i < m->ncommits; i++) {
    beck_free(m->commits[i].group);
    beck_free(m->commits[i].topic);
  }
  beck_free(m->commits);
  beck_free(m->topics);
  beck_free(m);
}

static const beck__io_vt_t mem_vt = {mem_create_topic, mem_partitions, mem_produce,   mem_fetch,
                                     mem_watermarks,   mem_commit,     mem_committed, mem_destroy};

beck_err_t beck__io_mem_new(beck__io_t **out, beck_error_t *e) {
  io_mem_t *m = beck_calloc(1, sizeof *m);
  if (m == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "out of memory");
  m->base.vt = &mem_vt;
  *out = &m->base;
  return BECK_ERR_OK;
}

const beck_srec_t *beck__io_mem_record(beck__io_t *io, const char *topic, int32_t partition, int64_t offset) {
  mtopic_t *t = find_topic((io_mem_t *)io, topic);
  if (t == NULL || partition < 0 || partition >= t->nparts || offset < 0 || offset >= t->parts[partition].n)
    return NULL;
  return &t->parts[partition].recs[offset];
}
