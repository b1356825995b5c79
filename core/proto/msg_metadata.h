/*
 * msg_metadata.h - Metadata (3) and ApiVersions (18) field lists.
 *
 * Spec: apache/kafka MetadataRequest/Response.json (rack/controller v1,
 * cluster id v2, KIP-361 AllowAutoTopicCreation v4, offline replicas v5,
 * KIP-320 leader epoch v7, KIP-430 authorized operations v8, KIP-482
 * flexible v9, KIP-516 topic ids v10/v12, KIP-700 v11) and
 * ApiVersionsRequest/Response.json (KIP-511 client software v3, KIP-584
 * feature tags v3). An ApiVersions response always uses response header v0,
 * whatever its version (header.c). Columns are explained in messages.h.
 * Not described: Metadata v13 (top-level ErrorCode).
 */
#ifndef BECK_PROTO_MSG_METADATA_H
#define BECK_PROTO_MSG_METADATA_H

/* ---- Metadata ----------------------------------------------------------- */
/* clang-format off */
#define BECK_MSG_MetadataRequest_MetadataRequestTopic(X, T) \
  X(T, UUID,    TopicId,                            10, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     Name,                               0,  INF, 10, INF, NO, 0, _)

#define BECK_MSG_MetadataRequest(X, T) \
  X(T, ARR,     Topics,                             0,  INF, 1,  INF, NO, 0, MetadataRequest_MetadataRequestTopic) \
  X(T, BOOL,    AllowAutoTopicCreation,             4,  INF, NO, NO,  NO, 1, _) \
  X(T, BOOL,    IncludeClusterAuthorizedOperations, 8,  10,  NO, NO,  NO, 0, _) \
  X(T, BOOL,    IncludeTopicAuthorizedOperations,   8,  INF, NO, NO,  NO, 0, _)

#define BECK_MSG_MetadataResponse_MetadataResponseBroker(X, T) \
  X(T, I32,     NodeId,                      0,  INF, NO, NO,  NO, 0, _) \
  X(T, STR,     Host,                        0,  INF, NO, NO,  NO, 0, _) \
  X(T, I32,     Port,                        0,  INF, NO, NO,  NO, 0, _) \
  X(T, STR,     Rack,                        1,  INF, 1,  INF, NO, -1, _)

#define BECK_MSG_MetadataResponse_MetadataResponsePartition(X, T) \
  X(T, I16,     ErrorCode,                   0,  INF, NO, NO,  NO, 0, _) \
  X(T, I32,     PartitionIndex,              0,  INF, NO, NO,  NO, 0, _) \
  X(T, I32,     LeaderId,                    0,  INF, NO, NO,  NO, 0, _) \
  X(T, I32,     LeaderEpoch,                 7,  INF, NO, NO,  NO, -1, _) \
  X(T, ARR_I32, ReplicaNodes,                0,  INF, NO, NO,  NO, 0, _) \
  X(T, ARR_I32, IsrNodes,                    0,  INF, NO, NO,  NO, 0, _) \
  X(T, ARR_I32, OfflineReplicas,             5,  INF, NO, NO,  NO, 0, _)

#define BECK_MSG_MetadataResponse_MetadataResponseTopic(X, T) \
  X(T, I16,     ErrorCode,                   0,  INF, NO, NO,  NO, 0, _) \
  X(T, STR,     Name,                        0,  INF, 12, INF, NO, 0, _) \
  X(T, UUID,    TopicId,                     10, INF, NO, NO,  NO, 0, _) \
  X(T, BOOL,    IsInternal,                  1,  INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Partitions,                  0,  INF, NO, NO,  NO, 0, MetadataResponse_MetadataResponsePartition) \
  X(T, I32,     TopicAuthorizedOperations,   8,  INF, NO, NO,  NO, INT32_MIN, _)

#define BECK_MSG_MetadataResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,              3,  INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Brokers,                     0,  INF, NO, NO,  NO, 0, MetadataResponse_MetadataResponseBroker) \
  X(T, STR,     ClusterId,                   2,  INF, 2,  INF, NO, -1, _) \
  X(T, I32,     ControllerId,                1,  INF, NO, NO,  NO, -1, _) \
  X(T, ARR,     Topics,                      0,  INF, NO, NO,  NO, 0, MetadataResponse_MetadataResponseTopic) \
  X(T, I32,     ClusterAuthorizedOperations, 8,  10,  NO, NO,  NO, INT32_MIN, _)

/* ---- ApiVersions -------------------------------------------------------- */
#define BECK_MSG_ApiVersionsRequest(X, T) \
  X(T, STR,     ClientSoftwareName,          3,  INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ClientSoftwareVersion,       3,  INF, NO, NO,  NO, 0, _)

#define BECK_MSG_ApiVersionsResponse_ApiVersion(X, T) \
  X(T, I16,     ApiKey,                      0,  INF, NO, NO,  NO, 0, _) \
  X(T, I16,     MinVersion,                  0,  INF, NO, NO,  NO, 0, _) \
  X(T, I16,     MaxVersion,                  0,  INF, NO, NO,  NO, 0, _)

#define BECK_MSG_ApiVersionsResponse_SupportedFeatureKey(X, T) \
  X(T, STR,     Name,                        3,  INF, NO, NO,  NO, 0, _) \
  X(T, I16,     MinVersion,                  3,  INF, NO, NO,  NO, 0, _) \
  X(T, I16,     MaxVersion,                  3,  INF, NO, NO,  NO, 0, _)

#define BECK_MSG_ApiVersionsResponse_FinalizedFeatureKey(X, T) \
  X(T, STR,     Name,                        3,  INF, NO, NO,  NO, 0, _) \
  X(T, I16,     MaxVersionLevel,             3,  INF, NO, NO,  NO, 0, _) \
  X(T, I16,     MinVersionLevel,             3,  INF, NO, NO,  NO, 0, _)

#define BECK_MSG_ApiVersionsResponse(X, T) \
  X(T, I16,     ErrorCode,                   0,  INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     ApiKeys,                     0,  INF, NO, NO,  NO, 0, ApiVersionsResponse_ApiVersion) \
  X(T, I32,     ThrottleTimeMs,              1,  INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     SupportedFeatures,           3,  INF, NO, NO,  0,  0, ApiVersionsResponse_SupportedFeatureKey) \
  X(T, I64,     FinalizedFeaturesEpoch,      3,  INF, NO, NO,  1,  -1, _) \
  X(T, ARR,     FinalizedFeatures,           3,  INF, NO, NO,  2,  0, ApiVersionsResponse_FinalizedFeatureKey) \
  X(T, BOOL,    ZkMigrationReady,            3,  INF, NO, NO,  3,  0, _)

#define BECK_PROTO_STRUCTS_METADATA(S)               \
  S(MetadataRequest_MetadataRequestTopic)            \
  S(MetadataRequest)                                 \
  S(MetadataResponse_MetadataResponseBroker)         \
  S(MetadataResponse_MetadataResponsePartition)      \
  S(MetadataResponse_MetadataResponseTopic)          \
  S(MetadataResponse)                                \
  S(ApiVersionsRequest)                              \
  S(ApiVersionsResponse_ApiVersion)                  \
  S(ApiVersionsResponse_SupportedFeatureKey)         \
  S(ApiVersionsResponse_FinalizedFeatureKey)         \
  S(ApiVersionsResponse)

/* clang-format on */
#endif
