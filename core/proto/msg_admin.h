/*
 * msg_admin.h - admin APIs: CreateTopics (19), DeleteTopics (20),
 * DeleteRecords (21), DescribeConfigs (32), AlterConfigs (33),
 * DescribeLogDirs (35), CreatePartitions (37), IncrementalAlterConfigs (44).
 *
 * Spec: the matching apache/kafka *Request/Response.json files. KIP-4
 * (CreateTopics/DeleteTopics), KIP-107 (DeleteRecords), KIP-133 and KIP-226
 * (Describe/AlterConfigs, synonyms v1), KIP-195 (CreatePartitions), KIP-339
 * (IncrementalAlterConfigs), KIP-464 (CreateTopics v4 defaults), KIP-525
 * (CreateTopics v5 returns configs), KIP-113 (DescribeLogDirs), KIP-482
 * flexible versions (DescribeLogDirs v2+), KIP-784 (DescribeLogDirs v3
 * top-level ErrorCode), KIP-827 (DescribeLogDirs v4 TotalBytes and
 * UsableBytes of each directory's volume). Columns are
 * explained in messages.h. JSON spellings are kept even where they break the
 * pattern (CreateTopics timeoutMs / validateOnly).
 * Not described: CreateTopics v6+ (v7 TopicId is listed for layout),
 * DeleteTopics v5+, DescribeConfigs v3+, AlterConfigs v3+, DescribeLogDirs
 * v0 (identical to v1; removed in Kafka 4.0, KIP-896).
 */
#ifndef BECK_PROTO_MSG_ADMIN_H
#define BECK_PROTO_MSG_ADMIN_H

/* ---- CreateTopics ------------------------------------------------------- */
/* clang-format off */
#define BECK_MSG_CreateTopicsRequest_CreatableReplicaAssignment(X, T) \
  X(T, I32,     PartitionIndex,       0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR_I32, BrokerIds,            0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_CreateTopicsRequest_CreatableTopicConfig(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     Value,                0, INF, 0,  INF, NO, 0, _)

#define BECK_MSG_CreateTopicsRequest_CreatableTopic(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, I32,     NumPartitions,        0, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ReplicationFactor,    0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Assignments,          0, INF, NO, NO,  NO, 0, CreateTopicsRequest_CreatableReplicaAssignment) \
  X(T, ARR,     Configs,              0, INF, NO, NO,  NO, 0, CreateTopicsRequest_CreatableTopicConfig)

#define BECK_MSG_CreateTopicsRequest(X, T) \
  X(T, ARR,     Topics,               0, INF, NO, NO,  NO, 0, CreateTopicsRequest_CreatableTopic) \
  X(T, I32,     timeoutMs,            0, INF, NO, NO,  NO, 60000, _) \
  X(T, BOOL,    validateOnly,         1, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_CreateTopicsResponse_CreatableTopicConfigs(X, T) \
  X(T, STR,     Name,                 5, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     Value,                5, INF, 5,  INF, NO, 0, _) \
  X(T, BOOL,    ReadOnly,             5, INF, NO, NO,  NO, 0, _) \
  X(T, I8,      ConfigSource,         5, INF, NO, NO,  NO, -1, _) \
  X(T, BOOL,    IsSensitive,          5, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_CreateTopicsResponse_CreatableTopicResult(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, UUID,    TopicId,              7, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ErrorMessage,         1, INF, 0,  INF, NO, 0, _) \
  X(T, I16,     TopicConfigErrorCode, 5, INF, NO, NO,  0,  0, _) \
  X(T, I32,     NumPartitions,        5, INF, NO, NO,  NO, -1, _) \
  X(T, I16,     ReplicationFactor,    5, INF, NO, NO,  NO, -1, _) \
  X(T, ARR,     Configs,              5, INF, 5,  INF, NO, 0, CreateTopicsResponse_CreatableTopicConfigs)

#define BECK_MSG_CreateTopicsResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       2, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Topics,               0, INF, NO, NO,  NO, 0, CreateTopicsResponse_CreatableTopicResult)

/* ---- DeleteTopics ------------------------------------------------------- */
#define BECK_MSG_DeleteTopicsRequest(X, T) \
  X(T, ARR_STR, TopicNames,           0, 5,   NO, NO,  NO, 0, _) \
  X(T, I32,     TimeoutMs,            0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DeleteTopicsResponse_DeletableTopicResult(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DeleteTopicsResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       1, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Responses,            0, INF, NO, NO,  NO, 0, DeleteTopicsResponse_DeletableTopicResult)

/* ---- DeleteRecords ------------------------------------------------------ */
#define BECK_MSG_DeleteRecordsRequest_DeleteRecordsPartition(X, T) \
  X(T, I32,     PartitionIndex,       0, INF, NO, NO,  NO, 0, _) \
  X(T, I64,     Offset,               0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DeleteRecordsRequest_DeleteRecordsTopic(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Partitions,           0, INF, NO, NO,  NO, 0, DeleteRecordsRequest_DeleteRecordsPartition)

#define BECK_MSG_DeleteRecordsRequest(X, T) \
  X(T, ARR,     Topics,               0, INF, NO, NO,  NO, 0, DeleteRecordsRequest_DeleteRecordsTopic) \
  X(T, I32,     TimeoutMs,            0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DeleteRecordsResponse_DeleteRecordsPartitionResult(X, T) \
  X(T, I32,     PartitionIndex,       0, INF, NO, NO,  NO, 0, _) \
  X(T, I64,     LowWatermark,         0, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DeleteRecordsResponse_DeleteRecordsTopicResult(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Partitions,           0, INF, NO, NO,  NO, 0, DeleteRecordsResponse_DeleteRecordsPartitionResult)

#define BECK_MSG_DeleteRecordsResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Topics,               0, INF, NO, NO,  NO, 0, DeleteRecordsResponse_DeleteRecordsTopicResult)

/* ---- DescribeConfigs ---------------------------------------------------- */
#define BECK_MSG_DescribeConfigsRequest_DescribeConfigsResource(X, T) \
  X(T, I8,      ResourceType,         0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ResourceName,         0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR_STR, ConfigurationKeys,    0, INF, 0,  INF, NO, 0, _)

#define BECK_MSG_DescribeConfigsRequest(X, T) \
  X(T, ARR,     Resources,            0, INF, NO, NO,  NO, 0, DescribeConfigsRequest_DescribeConfigsResource) \
  X(T, BOOL,    IncludeSynonyms,      1, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DescribeConfigsResponse_DescribeConfigsSynonym(X, T) \
  X(T, STR,     Name,                 1, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     Value,                1, INF, 0,  INF, NO, 0, _) \
  X(T, I8,      Source,               1, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DescribeConfigsResponse_DescribeConfigsResourceResult(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     Value,                0, INF, 0,  INF, NO, 0, _) \
  X(T, BOOL,    ReadOnly,             0, INF, NO, NO,  NO, 0, _) \
  X(T, BOOL,    IsDefault,            0, 0,   NO, NO,  NO, 0, _) \
  X(T, I8,      ConfigSource,         1, INF, NO, NO,  NO, -1, _) \
  X(T, BOOL,    IsSensitive,          0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Synonyms,             1, INF, NO, NO,  NO, 0, DescribeConfigsResponse_DescribeConfigsSynonym)

#define BECK_MSG_DescribeConfigsResponse_DescribeConfigsResult(X, T) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ErrorMessage,         0, INF, 0,  INF, NO, 0, _) \
  X(T, I8,      ResourceType,         0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ResourceName,         0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Configs,              0, INF, NO, NO,  NO, 0, DescribeConfigsResponse_DescribeConfigsResourceResult)

#define BECK_MSG_DescribeConfigsResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Results,              0, INF, NO, NO,  NO, 0, DescribeConfigsResponse_DescribeConfigsResult)

/* ---- AlterConfigs ------------------------------------------------------- */
#define BECK_MSG_AlterConfigsRequest_AlterableConfig(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     Value,                0, INF, 0,  INF, NO, 0, _)

#define BECK_MSG_AlterConfigsRequest_AlterConfigsResource(X, T) \
  X(T, I8,      ResourceType,         0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ResourceName,         0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Configs,              0, INF, NO, NO,  NO, 0, AlterConfigsRequest_AlterableConfig)

#define BECK_MSG_AlterConfigsRequest(X, T) \
  X(T, ARR,     Resources,            0, INF, NO, NO,  NO, 0, AlterConfigsRequest_AlterConfigsResource) \
  X(T, BOOL,    ValidateOnly,         0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_AlterConfigsResponse_AlterConfigsResourceResponse(X, T) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ErrorMessage,         0, INF, 0,  INF, NO, 0, _) \
  X(T, I8,      ResourceType,         0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ResourceName,         0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_AlterConfigsResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Responses,            0, INF, NO, NO,  NO, 0, AlterConfigsResponse_AlterConfigsResourceResponse)

/* ---- IncrementalAlterConfigs -------------------------------------------- */
#define BECK_MSG_IncrementalAlterConfigsRequest_AlterableConfig(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, I8,      ConfigOperation,      0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     Value,                0, INF, 0,  INF, NO, 0, _)

#define BECK_MSG_IncrementalAlterConfigsRequest_AlterConfigsResource(X, T) \
  X(T, I8,      ResourceType,         0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ResourceName,         0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Configs,              0, INF, NO, NO,  NO, 0, IncrementalAlterConfigsRequest_AlterableConfig)

#define BECK_MSG_IncrementalAlterConfigsRequest(X, T) \
  X(T, ARR,     Resources,            0, INF, NO, NO,  NO, 0, IncrementalAlterConfigsRequest_AlterConfigsResource) \
  X(T, BOOL,    ValidateOnly,         0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_IncrementalAlterConfigsResponse_AlterConfigsResourceResponse(X, T) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ErrorMessage,         0, INF, 0,  INF, NO, 0, _) \
  X(T, I8,      ResourceType,         0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ResourceName,         0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_IncrementalAlterConfigsResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Responses,            0, INF, NO, NO,  NO, 0, IncrementalAlterConfigsResponse_AlterConfigsResourceResponse)

/* ---- DescribeLogDirs ---------------------------------------------------- */
/* Request Topics null = every partition the broker holds. */
#define BECK_MSG_DescribeLogDirsRequest_DescribableLogDirTopic(X, T) \
  X(T, STR,     Topic,                0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR_I32, Partitions,           0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DescribeLogDirsRequest(X, T) \
  X(T, ARR,     Topics,               0, INF, 0,  INF, NO, 0, DescribeLogDirsRequest_DescribableLogDirTopic)

#define BECK_MSG_DescribeLogDirsResponse_DescribeLogDirsPartition(X, T) \
  X(T, I32,     PartitionIndex,       0, INF, NO, NO,  NO, 0, _) \
  X(T, I64,     PartitionSize,        0, INF, NO, NO,  NO, 0, _) \
  X(T, I64,     OffsetLag,            0, INF, NO, NO,  NO, 0, _) \
  X(T, BOOL,    IsFutureKey,          0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DescribeLogDirsResponse_DescribeLogDirsTopic(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Partitions,           0, INF, NO, NO,  NO, 0, DescribeLogDirsResponse_DescribeLogDirsPartition)

#define BECK_MSG_DescribeLogDirsResponse_DescribeLogDirsResult(X, T) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     LogDir,               0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Topics,               0, INF, NO, NO,  NO, 0, DescribeLogDirsResponse_DescribeLogDirsTopic) \
  X(T, I64,     TotalBytes,           4, INF, NO, NO,  NO, -1, _) \
  X(T, I64,     UsableBytes,          4, INF, NO, NO,  NO, -1, _)

#define BECK_MSG_DescribeLogDirsResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       0, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            3, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Results,              0, INF, NO, NO,  NO, 0, DescribeLogDirsResponse_DescribeLogDirsResult)

/* ---- CreatePartitions --------------------------------------------------- */
#define BECK_MSG_CreatePartitionsRequest_CreatePartitionsAssignment(X, T) \
  X(T, ARR_I32, BrokerIds,            0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_CreatePartitionsRequest_CreatePartitionsTopic(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, I32,     Count,                0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Assignments,          0, INF, 0,  INF, NO, 0, CreatePartitionsRequest_CreatePartitionsAssignment)

#define BECK_MSG_CreatePartitionsRequest(X, T) \
  X(T, ARR,     Topics,               0, INF, NO, NO,  NO, 0, CreatePartitionsRequest_CreatePartitionsTopic) \
  X(T, I32,     TimeoutMs,            0, INF, NO, NO,  NO, 0, _) \
  X(T, BOOL,    ValidateOnly,         0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_CreatePartitionsResponse_CreatePartitionsTopicResult(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ErrorMessage,         0, INF, 0,  INF, NO, -1, _)

#define BECK_MSG_CreatePartitionsResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Results,              0, INF, NO, NO,  NO, 0, CreatePartitionsResponse_CreatePartitionsTopicResult)

#define BECK_PROTO_STRUCTS_ADMIN(S)                                        \
  S(CreateTopicsRequest_CreatableReplicaAssignment)                        \
  S(CreateTopicsRequest_CreatableTopicConfig)                              \
  S(CreateTopicsRequest_CreatableTopic)                                    \
  S(CreateTopicsRequest)                                                   \
  S(CreateTopicsResponse_CreatableTopicConfigs)                            \
  S(CreateTopicsResponse_CreatableTopicResult)                             \
  S(CreateTopicsResponse)                                                  \
  S(DeleteTopicsRequest)                                                   \
  S(DeleteTopicsResponse_DeletableTopicResult)                             \
  S(DeleteTopicsResponse)                                                  \
  S(DeleteRecordsRequest_DeleteRecordsPartition)                           \
  S(DeleteRecordsRequest_DeleteRecordsTopic)                               \
  S(DeleteRecordsRequest)                                                  \
  S(DeleteRecordsResponse_DeleteRecordsPartitionResult)                    \
  S(DeleteRecordsResponse_DeleteRecordsTopicResult)                        \
  S(DeleteRecordsResponse)                                                 \
  S(DescribeConfigsRequest_DescribeConfigsResource)                        \
  S(DescribeConfigsRequest)                                                \
  S(DescribeConfigsResponse_DescribeConfigsSynonym)                        \
  S(DescribeConfigsResponse_DescribeConfigsResourceResult)                 \
  S(DescribeConfigsResponse_DescribeConfigsResult)                         \
  S(DescribeConfigsResponse)                                               \
  S(AlterConfigsRequest_AlterableConfig)                                   \
  S(AlterConfigsRequest_AlterConfigsResource)                              \
  S(AlterConfigsRequest)                                                   \
  S(AlterConfigsResponse_AlterConfigsResourceResponse)                     \
  S(AlterConfigsResponse)                                                  \
  S(IncrementalAlterConfigsRequest_AlterableConfig)                        \
  S(IncrementalAlterConfigsRequest_AlterConfigsResource)                   \
  S(IncrementalAlterConfigsRequest)                                        \
  S(IncrementalAlterConfigsResponse_AlterConfigsResourceResponse)          \
  S(IncrementalAlterConfigsResponse)                                       \
  S(DescribeLogDirsRequest_DescribableLogDirTopic)                         \
  S(DescribeLogDirsRequest)                                                \
  S(DescribeLogDirsResponse_DescribeLogDirsPartition)                      \
  S(DescribeLogDirsResponse_DescribeLogDirsTopic)                          \
  S(DescribeLogDirsResponse_DescribeLogDirsResult)                         \
  S(DescribeLogDirsResponse)                                               \
  S(CreatePartitionsRequest_CreatePartitionsAssignment)                    \
  S(CreatePartitionsRequest_CreatePartitionsTopic)                         \
  S(CreatePartitionsRequest)                                               \
  S(CreatePartitionsResponse_CreatePartitionsTopicResult)                  \
  S(CreatePartitionsResponse)

/* clang-format on */
#endif
