/*
 * handle_offset_fetch.c - OffsetFetch (9): committed offsets of a group,
 * -1 where none; null topics (v2+) means every committed partition.
 */
#include "broker/handlers.h"

#include <string.h>

#include "group/group.h"

typedef beck_proto_OffsetFetchResponse_OffsetFetchResponsePartition_t rpart_t;
typedef beck_proto_OffsetFetchResponse_OffsetFetchResponseTopic_t rtopic_t;

typedef struct all_ctx {
  beck_req_t *req;
  rtopic_t *topics;
  int32_t ntopics, cap;
  int32_t *pcap;
  bool oom;
} all_ctx_t;

static int collect(void *arg, const beck_gc_offset_t *o) {
  all_ctx_t *c = arg;
  beck_req_t *req = c->req;
  rtopic_t *t = NULL;
  for (int32_t i = 0; i < c->ntopics; i++)
    if ((size_t)c->topics[i].Name.len == strlen(o->topic) && memcmp(c->topics[i].Name.ptr, o->topic, strlen(o->topic)) == 0)
      t = &c->topics[i];
  if (t == NULL) {
    if (c->ntopics == c->cap) {
      int32_t cap = c->cap ? c->cap * 2 : 8;
      rtopic_t *nt = BECK_ARENA_ARRAY(req, rtopic_t, cap);
      int32_t *np = BECK_ARENA_ARRAY(req, int32_t, cap);
      if (!nt || !np) {
        c->oom = true;
        return 1;
      }
      if (c->ntopics) {
        memcpy(nt, c->topics, sizeof *nt * (size_t)c->ntopics);
        memcpy(np, c->pcap, sizeof *np * (size_t)c->ntopics);
      }
      c->topics = nt;
      c->pcap = np;
      c->cap = cap;
    }
    t = &c->topics[c->ntopics];
    c->pcap[c->ntopics] = 0;
    c->ntopics++;
    t->Name = beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(o->topic)));
  }
  int32_t ti = (int32_t)(t - c->topics);
  if (t->Partitions.count == c->pcap[ti]) {
    int32_t cap = c->pcap[ti] ? c->pcap[ti] * 2 : 8;
    rpart_t *np = BECK_ARENA_ARRAY(req, rpart_t, cap);
    if (!np) {
      c->oom = true;
      return 1;
    }
    if (t->Partitions.count)
      memcpy(np, t->Partitions.items, sizeof *np * (size_t)t->Partitions.count);
    t->Partitions.items = np;
    c->pcap[ti] = cap;
  }
  rpart_t *p = &t->Partitions.items[t->Partitions.count++];
  p->PartitionIndex = o->partition;
  p->CommittedOffset = o->offset;
  p->CommittedLeaderEpoch = o->leader_epoch;
  p->Metadata = beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(o->metadata)));
  p->ErrorCode = 0;
  return 0;
}

void beck__handle_offset_fetch(beck_broker_t *b, beck_req_t *req, beck_proto_OffsetFetchRequest_t *msg) {
  beck_proto_OffsetFetchResponse_t resp;
  memset(&resp, 0, sizeof resp);
  char *group = beck__arena_cstr(&req->arena, msg->GroupId);
  if (group == NULL)
    goto oom;
  if (msg->Topics.count < 0) {
    all_ctx_t c = {.req = req};
    beck_gc_offsets_foreach(beck__gc(b), group, collect, &c);
    if (c.oom)
      goto oom;
    resp.Topics.items = c.topics;
    resp.Topics.count = c.ntopics;
  } else {
    int32_t nt = msg->Topics.count;
    resp.Topics.items = BECK_ARENA_ARRAY(req, rtopic_t, nt);
    if (resp.Topics.items == NULL)
      goto oom;
    resp.Topics.count = nt;
    for (int32_t i = 0; i < nt; i++) {
      beck_proto_OffsetFetchRequest_OffsetFetchRequestTopic_t *t = &msg->Topics.items[i];
      rtopic_t *rt = &resp.Topics.items[i];
      rt->Name = t->Name;
      char *tname = beck__arena_cstr(&req->arena, t->Name);
      int32_t np = t->PartitionIndexes.count > 0 ? t->PartitionIndexes.count : 0;
      rt->Partitions.items = BECK_ARENA_ARRAY(req, rpart_t, np);
      if (rt->Partitions.items == NULL || tname == NULL)
        goto oom;
      rt->Partitions.count = np;
      for (int32_t j = 0; j < np; j++) {
        rpart_t *p = &rt->Partitions.items[j];
        p->PartitionIndex = t->PartitionIndexes.items[j];
        int64_t off = -1;
        int32_t epoch = -1;
        const char *md = "";
        if (!beck_gc_offset_get(beck__gc(b), group, tname, p->PartitionIndex, &off, &epoch, &md)) {
          off = -1;
          epoch = -1;
          md = "";
        }
        p->CommittedOffset = off;
        p->CommittedLeaderEpoch = epoch;
        p->Metadata = beck__nstr(beck__arena_cstr(&req->arena, beck__nstr(md ? md : "")));
      }
    }
  }
  beck__respond(req, &resp);
  return;
oom:
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}
