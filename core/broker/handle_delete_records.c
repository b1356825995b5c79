/*
 * handle_delete_records.c - DeleteRecords (21): raises a partition's log
 * start offset; -1 means the high watermark. Whole segments below it are
 * deleted; the new start offset is durable before the answer.
 */
#include "broker/handlers.h"

#include <string.h>

void beck__handle_delete_records(beck_broker_t *b, beck_req_t *req, beck_proto_DeleteRecordsRequest_t *msg) {
  beck_proto_DeleteRecordsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  int32_t nt = msg->Topics.count > 0 ? msg->Topics.count : 0;
  resp.Topics.items = BECK_ARENA_ARRAY(req, beck_proto_DeleteRecordsResponse_DeleteRecordsTopicResult_t, nt);
  if (resp.Topics.items == NULL)
    goto oom;
  resp.Topics.count = nt;
  for (int32_t i = 0; i < nt; i++) {
    beck_proto_DeleteRecordsRequest_DeleteRecordsTopic_t *rt = &msg->Topics.items[i];
    beck_proto_DeleteRecordsResponse_DeleteRecordsTopicResult_t *tt = &resp.Topics.items[i];
    tt->Name = rt->Name;
    int32_t np = rt->Partitions.count > 0 ? rt->Partitions.count : 0;
    tt->Partitions.items = BECK_ARENA_ARRAY(req, beck_proto_DeleteRecordsResponse_DeleteRecordsPartitionResult_t, np);
    if (tt->Partitions.items == NULL)
      goto oom;
    tt->Partitions.count = np;
    beck_topic_t *t = beck_topics_find(b->topics, (const char *)rt->Name.ptr, rt->Name.len > 0 ? (size_t)rt->Name.len : 0);
    for (int32_t j = 0; j < np; j++) {
      beck_proto_DeleteRecordsRequest_DeleteRecordsPartition_t *rp = &rt->Partitions.items[j];
      beck_proto_DeleteRecordsResponse_DeleteRecordsPartitionResult_t *pp = &tt->Partitions.items[j];
      pp->PartitionIndex = rp->PartitionIndex;
      pp->LowWatermark = -1;
      if (t == NULL || rp->PartitionIndex < 0 || rp->PartitionIndex >= t->npartitions) {
        pp->ErrorCode = BECK_KERR_UNKNOWN_TOPIC_OR_PARTITION;
        continue;
      }
      beck_partition_t *p = t->partitions[rp->PartitionIndex];
      int64_t hw = beck__high_watermark(p);
      int64_t target = rp->Offset == -1 ? hw : rp->Offset;
      if (target < 0 || target > hw) {
        pp->ErrorCode = BECK_KERR_OFFSET_OUT_OF_RANGE;
        continue;
      }
      beck_error_t e;
      beck_err_t err = BECK_ERR_OK;
      if (target > beck_plog_start_offset(p->log))
        err = beck_plog_advance_start(p->log, target, &e);
      pp->ErrorCode = beck__kerr_from_err(err);
      pp->LowWatermark = beck_plog_start_offset(p->log);
    }
  }
  beck__respond(req, &resp);
  return;
oom:
  beck__conn_close(req->conn, "out of memory");
  beck__req_complete(req);
}
