/*
 * handle_describe_log_dirs.c - DescribeLogDirs (35): what the broker's one
 * log directory (its data dir) holds, partition by partition, and how big
 * each partition is on disk (KIP-113).
 *
 * The answer always has exactly one result, the data dir (its absolute
 * path), with ErrorCode 0. Topics null asks for every partition; otherwise
 * for the listed partitions of the listed topics, and partitions or topics
 * the broker does not have are left out, as Kafka does (no error). A topic
 * listed twice is answered once. Topics come back in name order, partitions
 * in id order; a topic with nothing to report is left out.
 *
 * Per partition:
 *   PartitionSize  bytes of its segment files (<base>.log), what Kafka
 *                  reports as a log's size: indexes and checkpoints excluded
 *                  (beck_plog_size_bytes)
 *   OffsetLag      0: one replica, whose log end is the high watermark
 *   IsFutureKey    false: no AlterReplicaLogDirs
 * v3+ top-level ErrorCode 0 (no authorization here). v4 TotalBytes and
 * UsableBytes of the data dir's volume from statvfs (f_blocks and f_bavail
 * times f_frsize, what Java's FileStore reports); -1 when statvfs fails.
 */
#include "broker/handlers.h"

#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <sys/statvfs.h>

typedef beck_proto_DescribeLogDirsRequest_DescribableLogDirTopic_t req_topic_t;
typedef beck_proto_DescribeLogDirsResponse_DescribeLogDirsTopic_t resp_topic_t;
typedef beck_proto_DescribeLogDirsResponse_DescribeLogDirsPartition_t resp_part_t;

static int cmp_nstr(beck_nstr_t a, beck_nstr_t b) {
  size_t la = a.len > 0 ? (size_t)a.len : 0, lb = b.len > 0 ? (size_t)b.len : 0;
  int c = memcmp(a.ptr ? (const void *)a.ptr : "", b.ptr ? (const void *)b.ptr : "", la < lb ? la : lb);
  return c ? c : (la > lb) - (la < lb);
}

static int cmp_req_topics(const void *a, const void *b) {
  return cmp_nstr((*(const req_topic_t *const *)a)->Topic, (*(const req_topic_t *const *)b)->Topic);
}

static int cmp_topics(const void *a, const void *b) {
  return strcmp((*(beck_topic_t *const *)a)->name, (*(beck_topic_t *const *)b)->name);
}

/* Fills tt with the partitions of t marked in want (every partition when
 * want is NULL). Returns false on OOM. */
static bool fill_topic(beck_req_t *req, beck_topic_t *t, const uint8_t *want, resp_topic_t *tt) {
  tt->Name = beck__nstr(t->name);
  tt->Partitions.items = BECK_ARENA_ARRAY(req, resp_part_t, t->npartitions);
  if (tt->Partitions.items == NULL)
    return false;
  int32_t k = 0;
  for (int32_t p = 0; p < t->npartitions; p++) {
    if (want && !want[p])
      continue;
    resp_part_t *pp = &tt->Partitions.items[k++];
    pp->PartitionIndex = p;
    pp->PartitionSize = beck_plog_size_bytes(t->partitions[p]->log);
    pp->OffsetLag = 0;
    pp->IsFutureKey = false;
  }
  tt->Partitions.count = k;
  return true;
}

void beck__handle_describe_log_dirs(beck_broker_t *b, beck_req_t *req, beck_proto_DescribeLogDirsRequest_t *msg) {
  beck_proto_DescribeLogDirsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  beck_proto_DescribeLogDirsResponse_DescribeLogDirsResult_t *res =
      BECK_ARENA_ARRAY(req, beck_proto_DescribeLogDirsResponse_DescribeLogDirsResult_t, 1);
  char *abs = beck_arena_alloc(&req->arena, PATH_MAX);
  if (res == NULL || abs == NULL)
    goto oom;
  resp.Results.items = res;
  resp.Results.count = 1;
  res->LogDir = beck__nstr(realpath(b->data_dir, abs) ? abs : b->data_dir);
  res->TotalBytes = res->UsableBytes = -1;
  struct statvfs vfs;
  if (statvfs(b->data_dir, &vfs) == 0) {
    res->TotalBytes = (int64_t)vfs.f_blocks * (int64_t)vfs.f_frsize;
    res->UsableBytes = (int64_t)vfs.f_bavail * (int64_t)vfs.f_frsize;
  }

  if (msg->Topics.count < 0) {
    int nt = beck_topics_count(b->topics);
    beck_topic_t **all = BECK_ARENA_ARRAY(req, beck_topic_t *, nt);
    res->Topics.items = BECK_ARENA_ARRAY(req, resp_topic_t, nt);
    if (all == NULL || res->Topics.items == NULL)
      goto oom;
    for (int i = 0; i < nt; i++)
      all[i] = beck_topics_at(b->topics, i);
    qsort(all, (size_t)nt, sizeof *all, cmp_topics);
    int32_t k = 0;
    for (int i = 0; i < nt; i++) {
      if (!fill_topic(req, all[i], NULL, &res->Topics.items[k]))
        goto oom;
      if (res->Topics.items[k].Partitions.count > 0)
        k++;
    }
    res->Topics.count = k;
  } else {
    /* Sort the asked-for topics by name so repeats sit side by side and
     * merge into one want[] map per topic. */
    int32_t nr = msg->Topics.count;
    req_topic_t **asked = BECK_ARENA_ARRAY(req, req_topic_t *, nr);
    res->Topics.items = BECK_ARENA_ARRAY(req, resp_topic_t, nr);
    if (asked == NULL || res->Topics.items == NULL)
      goto oom;
    for (int32_t i = 0; i < nr; i++)
      asked[i] = &msg->Topics.items[i];
    qsort(asked, (size_t)nr, sizeof *asked, cmp_req_topics);
    int32_t k = 0;
    for (int32_t i = 0; i < nr;) {
      int32_t j = i + 1;
      while (j < nr && cmp_nstr(asked[j]->Topic, asked[i]->Topic) == 0)
        j++;
      beck_nstr_t name = asked[i]->Topic;
      beck_topic_t *t = beck_topics_find(b->topics, (const char *)name.ptr, name.len > 0 ? (size_t)name.len : 0);
      if (t != NULL && t->npartitions > 0) {
        uint8_t *want = BECK_ARENA_ARRAY(req, uint8_t, t->npartitions);
        if (want == NULL)
          goto oom;
        for (int32_t r = i; r < j; r++)
          for (int32_t q = 0; q < asked[r]->Partitions.count; q++) {
            int32_t p = asked[r]->Partitions.items[q];
            if (p >= 0 && p < t->npartitions)
              want[p] = 1;
          }
        if (!fill_topic(req, t, want, &res->Topics.items[k]))
          goto oom;
        if (res->Topics.items[k].Partitions.count > 0)
          k++;
      }
      i = j;
    }
    res->Topics.count = k;
  }
  beck__respond(req, &resp);
  return;
oom:
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}
