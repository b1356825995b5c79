/*
 * msg_produce.h - Produce (0) and InitProducerId (22) field lists.
 *
 * Spec: apache/kafka ProduceRequest.json / ProduceResponse.json (KIP-98
 * transactional id v3, KIP-110 zstd v7, KIP-467 record errors v8, KIP-482
 * flexible v9), InitProducerIdRequest/Response.json (KIP-98, KIP-360 v3).
 * Columns are explained in messages.h. Records are borrowed, never copied.
 * Not described: Produce v10+ (tagged CurrentLeader / NodeEndpoints, KIP-951).
 */
#ifndef BECK_PROTO_MSG_PRODUCE_H
#define BECK_PROTO_MSG_PRODUCE_H

/* ---- Produce request ---------------------------------------------------- */
/* clang-format off */
#define BECK_MSG_ProduceRequest_PartitionProduceData(X, T) \
  X(T, I32,     Index,           0, INF, NO, NO,  NO, 0, _) \
  X(T, RECORDS, Records,         0, INF, 0,  INF, NO, 0, _)

#define BECK_MSG_ProduceRequest_TopicProduceData(X, T) \
  X(T, STR,     Name,            0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     PartitionData,   0, INF, NO, NO,  NO, 0, ProduceRequest_PartitionProduceData)

#define BECK_MSG_ProduceRequest(X, T) \
  X(T, STR,     TransactionalId, 3, INF, 3,  INF, NO, -1, _) \
  X(T, I16,     Acks,            0, INF, NO, NO,  NO, 0, _) \
  X(T, I32,     TimeoutMs,       0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     TopicData,       0, INF, NO, NO,  NO, 0, ProduceRequest_TopicProduceData)

/* ---- Produce response --------------------------------------------------- */
#define BECK_MSG_ProduceResponse_BatchIndexAndErrorMessage(X, T) \
  X(T, I32,     BatchIndex,             8, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     BatchIndexErrorMessage, 8, INF, 8,  INF, NO, -1, _)

#define BECK_MSG_ProduceResponse_PartitionProduceResponse(X, T) \
  X(T, I32,     Index,           0, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,       0, INF, NO, NO,  NO, 0, _) \
  X(T, I64,     BaseOffset,      0, INF, NO, NO,  NO, 0, _) \
  X(T, I64,     LogAppendTimeMs, 2, INF, NO, NO,  NO, -1, _) \
  X(T, I64,     LogStartOffset,  5, INF, NO, NO,  NO, -1, _) \
  X(T, ARR,     RecordErrors,    8, INF, NO, NO,  NO, 0, ProduceResponse_BatchIndexAndErrorMessage) \
  X(T, STR,     ErrorMessage,    8, INF, 8,  INF, NO, -1, _)

#define BECK_MSG_ProduceResponse_TopicProduceResponse(X, T) \
  X(T, STR,     Name,               0, INF, NO, NO, NO, 0, _) \
  X(T, ARR,     PartitionResponses, 0, INF, NO, NO, NO, 0, ProduceResponse_PartitionProduceResponse)

#define BECK_MSG_ProduceResponse(X, T) \
  X(T, ARR,     Responses,       0, INF, NO, NO,  NO, 0, ProduceResponse_TopicProduceResponse) \
  X(T, I32,     ThrottleTimeMs,  1, INF, NO, NO,  NO, 0, _)

/* ---- InitProducerId ----------------------------------------------------- */
#define BECK_MSG_InitProducerIdRequest(X, T) \
  X(T, STR,     TransactionalId,      0, INF, 0,  INF, NO, -1, _) \
  X(T, I32,     TransactionTimeoutMs, 0, INF, NO, NO,  NO, 0, _) \
  X(T, I64,     ProducerId,           3, INF, NO, NO,  NO, -1, _) \
  X(T, I16,     ProducerEpoch,        3, INF, NO, NO,  NO, -1, _)

#define BECK_MSG_InitProducerIdResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,  0, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,       0, INF, NO, NO,  NO, 0, _) \
  X(T, I64,     ProducerId,      0, INF, NO, NO,  NO, -1, _) \
  X(T, I16,     ProducerEpoch,   0, INF, NO, NO,  NO, 0, _)

#define BECK_PROTO_STRUCTS_PRODUCE(S)              \
  S(ProduceRequest_PartitionProduceData)           \
  S(ProduceRequest_TopicProduceData)               \
  S(ProduceRequest)                                \
  S(ProduceResponse_BatchIndexAndErrorMessage)     \
  S(ProduceResponse_PartitionProduceResponse)      \
  S(ProduceResponse_TopicProduceResponse)          \
  S(ProduceResponse)                               \
  S(InitProducerIdRequest)                         \
  S(InitProducerIdResponse)

/* clang-format on */
#endif
