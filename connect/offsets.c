/*
 * offsets.c - where a source task's offsets live, and how a restarted task
 * finds them. The decision, in short: the offsets travel with the records.
 *
 * Each batch a source task produces gets a sequence number (seq). The task
 * chooses each record's partition itself (explicit, murmur2 of the key, or
 * one sticky partition per batch for null keys), groups the batch by
 * (topic, partition), and puts a marker header on the LAST record of every
 * group:
 *
 *   beck.connect.source = {"c":"NAME/0","s":SEQ,"n":GROUPS,"o":{SPART:SOFF,...}}
 *
 * "o" holds the batch's newest offset per source partition. A partition's
 * records of one produce call are appended in order, so if a group's marker
 * is in the log, so is the whole group; a batch is complete when markers
 * from all GROUPS distinct partitions are present.
 *
 * Checkpoints in the compacted offsets topic (key "NAME/0") bound how far a
 * restart scans:
 *
 *   {"s":SEQ,"o":{SPART:SOFF,...},"p":{TOPIC:{"PART":NEXT,...},...}}
 *
 * with the offsets as of batch SEQ and, per partition, an offset at or
 * before which every later marker lies. The task writes one at start (after
 * recovery, positions = the high watermarks), before a batch touches a
 * partition it has no position for, and every offset.flush.interval.
 *
 * Recovery (beck__soffsets_recover): take the newest checkpoint (SEQ), scan
 * every partition it names from its position to the high watermark
 * collecting this task's markers with s > SEQ, then apply batches SEQ+1,
 * SEQ+2, ... while each is complete. The result's seq is the largest s seen
 * at all (complete or not), so new batches never reuse the number of a
 * partially written one; the caller checkpoints it before producing again.
 *
 * Guarantee: no loss (a batch counts only when all of it is in the log); no
 * duplicates, except the complete groups of a batch cut short by a crash,
 * which are produced again.
 */
#include "worker_int.h"

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jansson.h>

#include "base/alloc.h"

/* ---- the maps ------------------------------------------------------------ */

void beck__soffsets_free(beck__soffsets_t *o) {
  for (size_t k = 0; k < o->n; k++) {
    beck_free(o->sparts[k]);
    beck_free(o->soffs[k]);
  }
  for (size_t k = 0; k < o->npos; k++)
    beck_free(o->pos[k].topic);
  beck_free(o->sparts);
  beck_free(o->soffs);
  beck_free(o->pos);
  memset(o, 0, sizeof *o);
}

const char *beck__soffsets_get(const beck__soffsets_t *o, const char *spart) {
  for (size_t k = 0; k < o->n; k++)
    if (strcmp(o->sparts[k], spart) == 0)
      return o->soffs[k];
  return NULL;
}

beck_err_t beck__soffsets_set(beck__soffsets_t *o, const char *spart, const char *soff) {
  char *v = beck_strdup(soff);
  if (v == NULL)
    return BECK_ERR_NOMEM;
  for (size_t k = 0; k < o->n; k++)
    if (strcmp(o->sparts[k], spart) == 0) {
      beck_free(o->soffs[k]);
      o->soffs[k] = v;
      return BECK_ERR_OK;
    }
  if (o->n == o->cap) {
    size_t cap = o->cap ? o->cap * 2 : 4;
    char **a = beck_realloc(o->sparts, cap * sizeof *a);
    if (a == NULL) {
      beck_free(v);
      return BECK_ERR_NOMEM;
    }
    o->sparts = a;
    char **b = beck_realloc(o->soffs, cap * sizeof *b);
    if (b == NULL) {
      beck_free(v);
      return BECK_ERR_NOMEM;
    }
    o->soffs = b;
    o->cap = cap;
  }
  char *k2 = beck_strdup(spart);
  if (k2 == NULL) {
    beck_free(v);
    return BECK_ERR_NOMEM;
  }
  o->sparts[o->n] = k2;
  o->soffs[o->n] = v;
  o->n++;
  return BECK_ERR_OK;
}

int64_t beck__soffsets_pos(const beck__soffsets_t *o, const char *topic, int32_t partition) {
  for (size_t k = 0; k < o->npos; k++)
    if (o->pos[k].partition == partition && strcmp(o->pos[k].topic, topic) == 0)
      return o->pos[k].next;
  return -1;
}

beck_err_t beck__soffsets_set_pos(beck__soffsets_t *o, const char *topic, int32_t partition, int64_t next) {
  for (size_t k = 0; k < o->npos; k++)
    if (o->pos[k].partition == partition && strcmp(o->pos[k].topic, topic) == 0) {
      o->pos[k].next = next;
      return BECK_ERR_OK;
    }
  if (o->npos == o->cappos) {
    size_t cap = o->cappos ? o->cappos * 2 : 4;
    struct beck__spos *p = beck_realloc(o->pos, cap * sizeof *p);
    if (p == NULL)
      return BECK_ERR_NOMEM;
    o->pos = p;
    o->cappos = cap;
  }
  char *t = beck_strdup(topic);
  if (t == NULL)
    return BECK_ERR_NOMEM;
  o->pos[o->npos++] = (struct beck__spos){.topic = t, .partition = partition, .next = next};
  return BECK_ERR_OK;
}

/* ---- JSON ------------------------------------------------------------------- */

static json_t *offsets_json(const beck__soffsets_t *o) {
  json_t *m = json_object();
  for (size_t k = 0; m != NULL && k < o->n; k++)
    if (json_object_set_new(m, o->sparts[k], json_string(o->soffs[k])) != 0) {
      json_decref(m);
      return NULL;
    }
  return m;
}

char *beck__marker_encode(const char *id, uint64_t seq, int ngroups, const beck__soffsets_t *batch_offsets) {
  json_t *o = offsets_json(batch_offsets);
  if (o == NULL)
    return NULL;
  json_t *root = json_pack("{s:s, s:I, s:i, s:o}", "c", id, "s", (json_int_t)seq, "n", ngroups, "o", o);
  if (root == NULL)
    return NULL;
  char *s = json_dumps(root, JSON_COMPACT);
  json_decref(root);
  return s;
}

beck_err_t beck__checkpoint_write(beck_client_t *c, const char *offsets_topic, const char *id,
                                  const beck__soffsets_t *o, beck_error_t *e) {
  json_t *offs = offsets_json(o);
  json_t *pos = json_object();
  json_t *root = NULL;
  char *text = NULL;
  beck_err_t rc = BECK_ERR_NOMEM;
  if (offs == NULL || pos == NULL)
    goto out;
  for (size_t k = 0; k < o->npos; k++) {
    json_t *t = json_object_get(pos, o->pos[k].topic);
    if (t == NULL) {
      t = json_object();
      if (t == NULL || json_object_set_new(pos, o->pos[k].topic, t) != 0)
        goto out;
    }
    char part[16];
    snprintf(part, sizeof part, "%d", o->pos[k].partition);
    if (json_object_set_new(t, part, json_integer(o->pos[k].next)) != 0)
      goto out;
  }
  root = json_pack("{s:I, s:O, s:O}", "s", (json_int_t)o->seq, "o", offs, "p", pos);
  if (root == NULL || (text = json_dumps(root, JSON_COMPACT)) == NULL)
    goto out;
  beck_client_record_t r = {.partition = 0,
                            .timestamp = -1,
                            .key = beck_nstr(id, (int32_t)strlen(id)),
                            .value = beck_nstr(text, (int32_t)strlen(text))};
  rc = beck_client_produce(c, offsets_topic, &r, 1, NULL, NULL, e);
  if (rc != BECK_ERR_OK)
    beck_error_wrap(e, "source offsets checkpoint for %s", id);
out:
  if (rc == BECK_ERR_NOMEM)
    beck_error_set(e, rc, "source offsets checkpoint for %s: out of memory", id);
  json_decref(offs);
  json_decref(pos);
  json_decref(root);
  free(text);
  return rc;
}

/* ---- recovery ------------------------------------------------------------ */

typedef struct found_batch {
  uint64_t seq;
  int ngroups;
  int seen;
  char (*groups)[160]; /* "topic/partition" seen, ngroups max */
  json_t *offsets;
} found_batch_t;

typedef struct scan {
  const char *id;
  size_t idlen;
  /* checkpoint read */
  json_t *checkpoint;
  /* markers found */
  found_batch_t *found;
  size_t nfound;
  uint64_t after_seq, max_seq;
  beck_err_t err;
} scan_t;

static int checkpoint_cb(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  scan_t *s = arg;
  if (r->key.len != (int32_t)s->idlen || memcmp(r->key.ptr, s->id, s->idlen) != 0)
    return 0;
  json_decref(s->checkpoint);
  s->checkpoint = NULL;
  if (r->value.len < 0)
    return 0; /* a tombstone: forget */
  json_error_t je;
  s->checkpoint = json_loadb((const char *)r->value.ptr, (size_t)r->value.len, 0, &je);
  return 0;
}

static found_batch_t *find_batch(scan_t *s, uint64_t seq) {
  for (size_t k = 0; k < s->nfound; k++)
    if (s->found[k].seq == seq)
      return &s->found[k];
  return NULL;
}

static void note_marker(scan_t *s, const char *topic, int32_t partition, const uint8_t *p, int32_t len) {
  json_error_t je;
  json_t *m = json_loadb((const char *)p, (size_t)len, 0, &je);
  if (m == NULL)
    return;
  const char *c = json_string_value(json_object_get(m, "c"));
  json_t *sj = json_object_get(m, "s");
  json_t *nj = json_object_get(m, "n");
  json_t *oj = json_object_get(m, "o");
  if (c == NULL || strcmp(c, s->id) != 0 || !json_is_integer(sj) || !json_is_integer(nj) || !json_is_object(oj) ||
      json_integer_value(sj) < 0 || json_integer_value(nj) < 1 || json_integer_value(nj) > 100000) {
    json_decref(m);
    return;
  }
  uint64_t seq = (uint64_t)json_integer_value(sj);
  if (seq <= s->after_seq) {
    json_decref(m);
    return;
  }
  if (seq > s->max_seq)
    s->max_seq = seq;
  found_batch_t *b = find_batch(s, seq);
  if (b == NULL) {
    found_batch_t *nf = beck_realloc(s->found, (s->nfound + 1) * sizeof *nf);
    if (nf == NULL) {
      s->err = BECK_ERR_NOMEM;
      json_decref(m);
      return;
    }
    s->found = nf;
    b = &s->found[s->nfound];
    memset(b, 0, sizeof *b);
    b->seq = seq;
    b->ngroups = (int)json_integer_value(nj);
    b->groups = beck_calloc((size_t)b->ngroups, sizeof *b->groups);
    if (b->groups == NULL) {
      s->err = BECK_ERR_NOMEM;
      json_decref(m);
      return;
    }
    b->offsets = json_incref(oj);
    s->nfound++;
  }
  char g[160];
  snprintf(g, sizeof g, "%s/%d", topic, partition);
  for (int k = 0; k < b->seen; k++)
    if (strcmp(b->groups[k], g) == 0) {
      json_decref(m);
      return; /* the same group again (a retried produce) */
    }
  if (b->seen < b->ngroups)
    memcpy(b->groups[b->seen++], g, sizeof g);
  json_decref(m);
}

static int marker_cb(void *arg, const char *topic, int32_t partition, const beck_record_t *r) {
  scan_t *s = arg;
  if (r->headers_count <= 0)
    return 0;
  beck_slice_t cur = r->headers;
  beck_record_header_t h;
  static const char name[] = BECK_CONNECT_SOURCE_HEADER;
  while (beck_record_header_next(&cur, &h) == 1)
    if (h.key.len == sizeof name - 1 && memcmp(h.key.ptr, name, sizeof name - 1) == 0 && h.value.len > 0)
      note_marker(s, topic, partition, h.value.ptr, h.value.len);
  return 0;
}

/* Reads partition [from, high watermark) of topic through cb. */
static beck_err_t scan_partition(beck_client_t *c, const char *topic, int32_t partition, int64_t from,
                                 beck_client_record_cb cb, void *arg, beck_error_t *e) {
  int64_t start, high;
  beck_err_t rc = beck_client_watermarks(c, topic, partition, &start, &high, e);
  if (rc != BECK_ERR_OK)
    return rc;
  int64_t pos = from < start ? start : from;
  while (pos < high) {
    int64_t next = pos;
    /* data is there up to high: the wait only matters for a remote client
     * whose first fetch of a partition can come back empty */
    rc = beck_client_fetch(c, topic, partition, pos, 1 << 20, 2000, cb, arg, &next, e);
    if (rc != BECK_ERR_OK)
      return rc;
    if (next <= pos)
      break;
    pos = next;
  }
  return BECK_ERR_OK;
}

static beck_err_t apply_offsets(beck__soffsets_t *o, json_t *offs) {
  const char *k;
  json_t *v;
  json_object_foreach(offs, k, v) {
    if (json_is_string(v) && beck__soffsets_set(o, k, json_string_value(v)) != BECK_ERR_OK)
      return BECK_ERR_NOMEM;
  }
  return BECK_ERR_OK;
}

beck_err_t beck__soffsets_recover(beck_client_t *c, const char *offsets_topic, const char *id, beck__soffsets_t *o,
                                  beck_error_t *e) {
  scan_t s = {.id = id, .idlen = strlen(id)};
  beck_err_t rc;
  int32_t nparts = 0;
  rc = beck_client_partitions(c, offsets_topic, &nparts, e);
  for (int32_t p = 0; rc == BECK_ERR_OK && p < nparts; p++)
    rc = scan_partition(c, offsets_topic, p, 0, checkpoint_cb, &s, e);
  if (rc != BECK_ERR_OK) {
    beck_error_wrap(e, "reading source offsets of %s from %s", id, offsets_topic);
    goto out;
  }
  if (s.checkpoint != NULL) {
    json_t *sj = json_object_get(s.checkpoint, "s");
    json_t *oj = json_object_get(s.checkpoint, "o");
    json_t *pj = json_object_get(s.checkpoint, "p");
    if (!json_is_integer(sj) || !json_is_object(oj) || !json_is_object(pj)) {
      rc = beck_error_set(e, BECK_ERR_CORRUPT, "source offsets of %s in %s: malformed checkpoint", id, offsets_topic);
      goto out;
    }
    o->seq = s.after_seq = s.max_seq = (uint64_t)json_integer_value(sj);
    if ((rc = apply_offsets(o, oj)) != BECK_ERR_OK)
      goto oom;
    const char *topic;
    json_t *parts;
    json_object_foreach(pj, topic, parts) {
      const char *pk;
      json_t *pv;
      json_object_foreach(parts, pk, pv) {
        if (!json_is_integer(pv))
          continue;
        int32_t part = (int32_t)strtol(pk, NULL, 10);
        if ((rc = beck__soffsets_set_pos(o, topic, part, (int64_t)json_integer_value(pv))) != BECK_ERR_OK)
          goto oom;
      }
    }
  }
  /* scan the data partitions for markers after the checkpoint */
  for (size_t k = 0; k < o->npos; k++) {
    rc = scan_partition(c, o->pos[k].topic, o->pos[k].partition, o->pos[k].next, marker_cb, &s, e);
    if (rc == BECK_ERR_NOTFOUND) {
      rc = BECK_ERR_OK; /* the topic is gone: nothing to find there */
      continue;
    }
    if (rc != BECK_ERR_OK) {
      beck_error_wrap(e, "recovering source offsets of %s", id);
      goto out;
    }
    if (s.err != BECK_ERR_OK) {
      rc = s.err;
      goto oom;
    }
  }
  for (uint64_t seq = s.after_seq + 1;; seq++) {
    found_batch_t *b = find_batch(&s, seq);
    if (b == NULL || b->seen < b->ngroups)
      break;
    if ((rc = apply_offsets(o, b->offsets)) != BECK_ERR_OK)
      goto oom;
  }
  o->seq = s.max_seq;
  rc = BECK_ERR_OK;
  goto out;
oom:
  rc = beck_error_set(e, BECK_ERR_NOMEM, "recovering source offsets of %s: out of memory", id);
out:
  for (size_t k = 0; k < s.nfound; k++) {
    beck_free(s.found[k].groups);
    json_decref(s.found[k].offsets);
  }
  beck_free(s.found);
  json_decref(s.checkpoint);
  return rc;
}
