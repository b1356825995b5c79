/*
 * handle_list_offsets.c - ListOffsets (2): earliest (-2), latest (-1, the
 * high watermark), or the first offset whose record timestamp is >= the
 * target, looked up record by record (reference §7.1 item 20).
 */
#include "broker/handlers.h"

#include <string.h>

void beck__handle_list_offsets(beck_broker_t *b, beck_req_t *req, beck_proto_ListOffsetsRequest_t *msg) {
  beck_proto_ListOffsetsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int32_t nt = msg->Topics.count > 0 ? msg->Topics.count : 0;
  resp.Topics.items = BECK_ARENA_ARRAY(req, beck_proto_ListOffsetsResponse_ListOffsetsTopicResponse_t, nt);
  if (resp.Topics.items == NULL)
    goto oom;
  resp.Topics.count = nt;
  for (int32_t i = 0; i < nt; i++) {
    beck_proto_ListOffsetsRequest_ListOffsetsTopic_t *rt = &msg->Topics.items[i];
    beck_proto_ListOffsetsResponse_ListOffsetsTopicResponse_t *tt = &resp.Topics.items[i];
    tt->Name = rt->Name;
    int32_t np = rt->Partitions.count > 0 ? rt->Partitions.count : 0;
    tt->Partitions.items = BECK_ARENA_ARRAY(req, beck_proto_ListOffsetsResponse_ListOffsetsPartitionResponse_t, np);
    if (tt->Partitions.items == NULL)
      goto oom;
    tt->Partitions.count = np;
    beck_topic_t *t = beck_topics_find(b->topics, (const char *)rt->Name.ptr, rt->Name.len > 0 ? (size_t)rt->Name.len : 0);
    for (int32_t j = 0; j < np; j++) {
      beck_proto_ListOffsetsRequest_ListOffsetsPartition_t *rp = &rt->Partitions.items[j];
      beck_proto_ListOffsetsResponse_ListOffsetsPartitionResponse_t *pp = &tt->Partitions.items[j];
      pp->PartitionIndex = rp->PartitionIndex;
      pp->Timestamp = -1;
      pp->Offset = -1;
      pp->LeaderEpoch = -1;
      if (t == NULL || rp->PartitionIndex < 0 || rp->PartitionIndex >= t->npartitions) {
        pp->ErrorCode = BECK_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        continue;
      }
      beck_partition_t *p = t->partitions[rp->PartitionIndex];
      int64_t hw = beck__high_watermark(p);
      pp->LeaderEpoch = 0;
      if (rp->Timestamp == -2) {
        pp->Offset = beck_plog_start_offset(p->log);
      } else if (rp->Timestamp == -1) {
        pp->Offset = hw;
      } else if (rp->Timestamp < 0) {
        pp->ErrorCode = BECK_KERR_UNSUPPORTED_VERSION;
      } else {
        int64_t off, ts;
        beck_error_t e;
        beck_err_t err = beck_plog_offset_for_time(p->log, rp->Timestamp, &off, &ts, &e);
        if (err == BECK_ERR_OK && off < hw) {
          pp->Offset = off;
          pp->Timestamp = ts;
        } else if (err != BECK_ERR_OK && err != BECK_ERR_NOTFOUND) {
          pp->ErrorCode = beck__kerr_from_err(err);
        }
      }
    }
  }
  beck__respond(req, &resp);
  return;
oom:
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}
