/*
 * msg_fetch.h - Fetch (1) and ListOffsets (2) field lists.
 *
 * Spec: apache/kafka FetchRequest.json / FetchResponse.json (KIP-74 MaxBytes
 * v3, KIP-98 isolation v4, KIP-227 fetch sessions v7, KIP-320 leader epoch
 * v9, KIP-392 rack v11, KIP-595 flexible + tagged fields v12, KIP-516 topic
 * ids v13), ListOffsetsRequest/Response.json (KIP-79 v1, KIP-320 v4, v6
 * flexible). Columns are explained in messages.h.
 * Not described: Fetch v14+ (ReplicaState, KIP-903), ListOffsets v8+.
 */
#ifndef BECK_PROTO_MSG_FETCH_H
#define BECK_PROTO_MSG_FETCH_H

/* ---- Fetch request ------------------------------------------------------ */
/* clang-format off */
#define BECK_MSG_FetchRequest_FetchPartition(X, T) \
  X(T, I32,     Partition,          0,  INF, NO, NO, NO, 0, _) \
  X(T, I32,     CurrentLeaderEpoch, 9,  INF, NO, NO, NO, -1, _) \
  X(T, I64,     FetchOffset,        0,  INF, NO, NO, NO, 0, _) \
  X(T, I32,     LastFetchedEpoch,   12, INF, NO, NO, NO, -1, _) \
  X(T, I64,     LogStartOffset,     5,  INF, NO, NO, NO, -1, _) \
  X(T, I32,     PartitionMaxBytes,  0,  INF, NO, NO, NO, 0, _)

#define BECK_MSG_FetchRequest_FetchTopic(X, T) \
  X(T, STR,     Topic,              0,  12,  NO, NO, NO, 0, _) \
  X(T, UUID,    TopicId,            13, INF, NO, NO, NO, 0, _) \
  X(T, ARR,     Partitions,         0,  INF, NO, NO, NO, 0, FetchRequest_FetchPartition)

#define BECK_MSG_FetchRequest_ForgottenTopic(X, T) \
  X(T, STR,     Topic,              7,  12,  NO, NO, NO, 0, _) \
  X(T, UUID,    TopicId,            13, INF, NO, NO, NO, 0, _) \
  X(T, ARR_I32, Partitions,         7,  INF, NO, NO, NO, 0, _)

#define BECK_MSG_FetchRequest(X, T) \
  X(T, STR,     ClusterId,           12, INF, 12, INF, 0,  -1, _) \
  X(T, I32,     ReplicaId,           0,  14,  NO, NO,  NO, 0, _) \
  X(T, I32,     MaxWaitMs,           0,  INF, NO, NO,  NO, 0, _) \
  X(T, I32,     MinBytes,            0,  INF, NO, NO,  NO, 0, _) \
  X(T, I32,     MaxBytes,            3,  INF, NO, NO,  NO, 0x7fffffff, _) \
  X(T, I8,      IsolationLevel,      4,  INF, NO, NO,  NO, 0, _) \
  X(T, I32,     SessionId,           7,  INF, NO, NO,  NO, 0, _) \
  X(T, I32,     SessionEpoch,        7,  INF, NO, NO,  NO, -1, _) \
  X(T, ARR,     Topics,              0,  INF, NO, NO,  NO, 0, FetchRequest_FetchTopic) \
  X(T, ARR,     ForgottenTopicsData, 7,  INF, NO, NO,  NO, 0, FetchRequest_ForgottenTopic) \
  X(T, STR,     RackId,              11, INF, NO, NO,  NO, 0, _)

/* ---- Fetch response ----------------------------------------------------- */
#define BECK_MSG_FetchResponse_EpochEndOffset(X, T) \
  X(T, I32,     Epoch,              12, INF, NO, NO, NO, -1, _) \
  X(T, I64,     EndOffset,          12, INF, NO, NO, NO, -1, _)

#define BECK_MSG_FetchResponse_LeaderIdAndEpoch(X, T) \
  X(T, I32,     LeaderId,           12, INF, NO, NO, NO, -1, _) \
  X(T, I32,     LeaderEpoch,        12, INF, NO, NO, NO, -1, _)

#define BECK_MSG_FetchResponse_SnapshotId(X, T) \
  X(T, I64,     EndOffset,          0,  INF, NO, NO, NO, -1, _) \
  X(T, I32,     Epoch,              0,  INF, NO, NO, NO, -1, _)

#define BECK_MSG_FetchResponse_AbortedTransaction(X, T) \
  X(T, I64,     ProducerId,         4,  INF, NO, NO, NO, 0, _) \
  X(T, I64,     FirstOffset,        4,  INF, NO, NO, NO, 0, _)

#define BECK_MSG_FetchResponse_PartitionData(X, T) \
  X(T, I32,     PartitionIndex,       0,  INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0,  INF, NO, NO,  NO, 0, _) \
  X(T, I64,     HighWatermark,        0,  INF, NO, NO,  NO, 0, _) \
  X(T, I64,     LastStableOffset,     4,  INF, NO, NO,  NO, -1, _) \
  X(T, I64,     LogStartOffset,       5,  INF, NO, NO,  NO, -1, _) \
  X(T, STRUCT,  DivergingEpoch,       12, INF, NO, NO,  0,  0, FetchResponse_EpochEndOffset) \
  X(T, STRUCT,  CurrentLeader,        12, INF, NO, NO,  1,  0, FetchResponse_LeaderIdAndEpoch) \
  X(T, STRUCT,  SnapshotId,           12, INF, NO, NO,  2,  0, FetchResponse_SnapshotId) \
  X(T, ARR,     AbortedTransactions,  4,  INF, 4,  INF, NO, 0,  FetchResponse_AbortedTransaction) \
  X(T, I32,     PreferredReadReplica, 11, INF, NO, NO,  NO, -1, _) \
  X(T, RECORDS, Records,              0,  INF, 0,  INF, NO, 0, _)

#define BECK_MSG_FetchResponse_FetchableTopicResponse(X, T) \
  X(T, STR,     Topic,              0,  12,  NO, NO, NO, 0, _) \
  X(T, UUID,    TopicId,            13, INF, NO, NO, NO, 0, _) \
  X(T, ARR,     Partitions,         0,  INF, NO, NO, NO, 0, FetchResponse_PartitionData)

#define BECK_MSG_FetchResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,     1,  INF, NO, NO, NO, 0, _) \
  X(T, I16,     ErrorCode,          7,  INF, NO, NO, NO, 0, _) \
  X(T, I32,     SessionId,          7,  INF, NO, NO, NO, 0, _) \
  X(T, ARR,     Responses,          0,  INF, NO, NO, NO, 0, FetchResponse_FetchableTopicResponse)

/* ---- ListOffsets -------------------------------------------------------- */
#define BECK_MSG_ListOffsetsRequest_ListOffsetsPartition(X, T) \
  X(T, I32,     PartitionIndex,     0,  INF, NO, NO, NO, 0, _) \
  X(T, I32,     CurrentLeaderEpoch, 4,  INF, NO, NO, NO, -1, _) \
  X(T, I64,     Timestamp,          0,  INF, NO, NO, NO, 0, _) \
  X(T, I32,     MaxNumOffsets,      0,  0,   NO, NO, NO, 1, _)

#define BECK_MSG_ListOffsetsRequest_ListOffsetsTopic(X, T) \
  X(T, STR,     Name,               0,  INF, NO, NO, NO, 0, _) \
  X(T, ARR,     Partitions,         0,  INF, NO, NO, NO, 0, ListOffsetsRequest_ListOffsetsPartition)

#define BECK_MSG_ListOffsetsRequest(X, T) \
  X(T, I32,     ReplicaId,          0,  INF, NO, NO, NO, 0, _) \
  X(T, I8,      IsolationLevel,     2,  INF, NO, NO, NO, 0, _) \
  X(T, ARR,     Topics,             0,  INF, NO, NO, NO, 0, ListOffsetsRequest_ListOffsetsTopic)

#define BECK_MSG_ListOffsetsResponse_ListOffsetsPartitionResponse(X, T) \
  X(T, I32,     PartitionIndex,     0,  INF, NO, NO, NO, 0, _) \
  X(T, I16,     ErrorCode,          0,  INF, NO, NO, NO, 0, _) \
  X(T, ARR_I64, OldStyleOffsets,    0,  0,   NO, NO, NO, 0, _) \
  X(T, I64,     Timestamp,          1,  INF, NO, NO, NO, -1, _) \
  X(T, I64,     Offset,             1,  INF, NO, NO, NO, -1, _) \
  X(T, I32,     LeaderEpoch,        4,  INF, NO, NO, NO, -1, _)

#define BECK_MSG_ListOffsetsResponse_ListOffsetsTopicResponse(X, T) \
  X(T, STR,     Name,               0,  INF, NO, NO, NO, 0, _) \
  X(T, ARR,     Partitions,         0,  INF, NO, NO, NO, 0, ListOffsetsResponse_ListOffsetsPartitionResponse)

#define BECK_MSG_ListOffsetsResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,     2,  INF, NO, NO, NO, 0, _) \
  X(T, ARR,     Topics,             0,  INF, NO, NO, NO, 0, ListOffsetsResponse_ListOffsetsTopicResponse)

#define BECK_PROTO_STRUCTS_FETCH(S)                         \
  S(FetchRequest_FetchPartition)                            \
  S(FetchRequest_FetchTopic)                                \
  S(FetchRequest_ForgottenTopic)                            \
  S(FetchRequest)                                           \
  S(FetchResponse_EpochEndOffset)                           \
  S(FetchResponse_LeaderIdAndEpoch)                         \
  S(FetchResponse_SnapshotId)                               \
  S(FetchResponse_AbortedTransaction)                       \
  S(FetchResponse_PartitionData)                            \
  S(FetchResponse_FetchableTopicResponse)                   \
  S(FetchResponse)                                          \
  S(ListOffsetsRequest_ListOffsetsPartition)                \
  S(ListOffsetsRequest_ListOffsetsTopic)                    \
  S(ListOffsetsRequest)                                     \
  S(ListOffsetsResponse_ListOffsetsPartitionResponse)       \
  S(ListOffsetsResponse_ListOffsetsTopicResponse)           \
  S(ListOffsetsResponse)

/* clang-format on */
#endif
