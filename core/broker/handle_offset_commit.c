/*
 * handle_offset_commit.c - OffsetCommit (8): checked by the coordinator
 * (generation, member, state) and stored durably before the answer.
 * Committing for an unknown topic or partition gives
 * UNKNOWN_TOPIC_OR_PARTITION for that partition, as Kafka does.
 */
#include "broker/handlers.h"

#include <string.h>

#include "group/group.h"

void beck__handle_offset_commit(beck_broker_t *b, beck_req_t *req, beck_proto_OffsetCommitRequest_t *msg) {
  beck_proto_OffsetCommitResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int32_t nt = msg->Topics.count > 0 ? msg->Topics.count : 0, total = 0;
  for (int32_t i = 0; i < nt; i++)
    total += msg->Topics.items[i].Partitions.count > 0 ? msg->Topics.items[i].Partitions.count : 0;
  beck_gc_offset_commit_t *offs = BECK_ARENA_ARRAY(req, beck_gc_offset_commit_t, total);
  int16_t *errs = BECK_ARENA_ARRAY(req, int16_t, total);
  int32_t *map = BECK_ARENA_ARRAY(req, int32_t, total); /* response slot -> offs index or -1 */
  resp.Topics.items = BECK_ARENA_ARRAY(req, beck_proto_OffsetCommitResponse_OffsetCommitResponseTopic_t, nt);
  if (!offs || !errs || !map || !resp.Topics.items)
    goto oom;
  resp.Topics.count = nt;
  int32_t k = 0, slot = 0;
  for (int32_t i = 0; i < nt; i++) {
    beck_proto_OffsetCommitRequest_OffsetCommitRequestTopic_t *t = &msg->Topics.items[i];
    beck_proto_OffsetCommitResponse_OffsetCommitResponseTopic_t *rt = &resp.Topics.items[i];
    rt->Name = t->Name;
    int32_t np = t->Partitions.count > 0 ? t->Partitions.count : 0;
    rt->Partitions.items = BECK_ARENA_ARRAY(req, beck_proto_OffsetCommitResponse_OffsetCommitResponsePartition_t, np);
    if (rt->Partitions.items == NULL)
      goto oom;
    rt->Partitions.count = np;
    beck_topic_t *topic = beck_topics_find(b->topics, (const char *)t->Name.ptr, t->Name.len > 0 ? (size_t)t->Name.len : 0);
    char *tname = beck__arena_cstr(&req->arena, t->Name);
    for (int32_t j = 0; j < np; j++, slot++) {
      beck_proto_OffsetCommitRequest_OffsetCommitRequestPartition_t *p = &t->Partitions.items[j];
      rt->Partitions.items[j].PartitionIndex = p->PartitionIndex;
      if (topic == NULL || p->PartitionIndex < 0 || p->PartitionIndex >= topic->npartitions) {
        rt->Partitions.items[j].ErrorCode = BECK_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        map[slot] = -1;
        continue;
      }
      offs[k].topic = tname;
      offs[k].partition = p->PartitionIndex;
      offs[k].offset = p->CommittedOffset;
      offs[k].leader_epoch = p->CommittedLeaderEpoch;
      offs[k].metadata = p->CommittedMetadata.len >= 0 ? beck__arena_cstr(&req->arena, p->CommittedMetadata) : NULL;
      map[slot] = k++;
    }
  }
  int16_t top = beck_gc_commit(beck__gc(b), beck__arena_cstr(&req->arena, msg->GroupId), msg->GenerationId,
                               beck__arena_cstr(&req->arena, msg->MemberId),
                               msg->GroupInstanceId.len >= 0 ? beck__arena_cstr(&req->arena, msg->GroupInstanceId) : NULL,
                               offs, k, errs, beck__now_ms(b));
  slot = 0;
  for (int32_t i = 0; i < nt; i++)
    for (int32_t j = 0; j < resp.Topics.items[i].Partitions.count; j++, slot++)
      if (map[slot] >= 0)
        resp.Topics.items[i].Partitions.items[j].ErrorCode = top ? top : errs[map[slot]];
  beck__respond(req, &resp);
  return;
oom:
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}
