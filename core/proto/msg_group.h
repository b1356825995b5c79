/*
 * msg_group.h - consumer group APIs: OffsetCommit (8), OffsetFetch (9),
 * FindCoordinator (10), JoinGroup (11), Heartbeat (12), LeaveGroup (13),
 * SyncGroup (14), DescribeGroups (15), ListGroups (16), DeleteGroups (42).
 *
 * Spec: the matching apache/kafka *Request/Response.json files. KIP-345
 * static membership (GroupInstanceId: JoinGroup v5, SyncGroup/Heartbeat v3,
 * OffsetCommit v7, LeaveGroup v3 batch leave, DescribeGroups v4), KIP-394
 * member id required (JoinGroup v4), KIP-430 authorized operations
 * (DescribeGroups v3), KIP-447 RequireStable (OffsetFetch v7), KIP-518 state
 * filter (ListGroups v4), KIP-559 protocol type/name (JoinGroup v7, SyncGroup
 * v5), KIP-699 batched FindCoordinator (v4), KIP-482 flexible versions.
 * Columns are explained in messages.h.
 * Not described: OffsetCommit v9+, OffsetFetch v8+ (multi-group), JoinGroup
 * v8+, LeaveGroup v5+, ListGroups v5+, FindCoordinator v5+.
 */
#ifndef BECK_PROTO_MSG_GROUP_H
#define BECK_PROTO_MSG_GROUP_H

/* ---- OffsetCommit ------------------------------------------------------- */
/* clang-format off */
#define BECK_MSG_OffsetCommitRequest_OffsetCommitRequestPartition(X, T) \
  X(T, I32,     PartitionIndex,       0, INF, NO, NO,  NO, 0, _) \
  X(T, I64,     CommittedOffset,      0, INF, NO, NO,  NO, 0, _) \
  X(T, I32,     CommittedLeaderEpoch, 6, INF, NO, NO,  NO, -1, _) \
  X(T, I64,     CommitTimestamp,      1, 1,   NO, NO,  NO, -1, _) \
  X(T, STR,     CommittedMetadata,    0, INF, 0,  INF, NO, 0, _)

#define BECK_MSG_OffsetCommitRequest_OffsetCommitRequestTopic(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Partitions,           0, INF, NO, NO,  NO, 0, OffsetCommitRequest_OffsetCommitRequestPartition)

#define BECK_MSG_OffsetCommitRequest(X, T) \
  X(T, STR,     GroupId,              0, INF, NO, NO,  NO, 0, _) \
  X(T, I32,     GenerationId,         1, INF, NO, NO,  NO, -1, _) \
  X(T, STR,     MemberId,             1, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     GroupInstanceId,      7, INF, 7,  INF, NO, -1, _) \
  X(T, I64,     RetentionTimeMs,      2, 4,   NO, NO,  NO, -1, _) \
  X(T, ARR,     Topics,               0, INF, NO, NO,  NO, 0, OffsetCommitRequest_OffsetCommitRequestTopic)

#define BECK_MSG_OffsetCommitResponse_OffsetCommitResponsePartition(X, T) \
  X(T, I32,     PartitionIndex,       0, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_OffsetCommitResponse_OffsetCommitResponseTopic(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Partitions,           0, INF, NO, NO,  NO, 0, OffsetCommitResponse_OffsetCommitResponsePartition)

#define BECK_MSG_OffsetCommitResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       3, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Topics,               0, INF, NO, NO,  NO, 0, OffsetCommitResponse_OffsetCommitResponseTopic)

/* ---- OffsetFetch -------------------------------------------------------- */
#define BECK_MSG_OffsetFetchRequest_OffsetFetchRequestTopic(X, T) \
  X(T, STR,     Name,                 0, 7,   NO, NO,  NO, 0, _) \
  X(T, ARR_I32, PartitionIndexes,     0, 7,   NO, NO,  NO, 0, _)

#define BECK_MSG_OffsetFetchRequest(X, T) \
  X(T, STR,     GroupId,              0, 7,   NO, NO,  NO, 0, _) \
  X(T, ARR,     Topics,               0, 7,   2,  7,   NO, 0, OffsetFetchRequest_OffsetFetchRequestTopic) \
  X(T, BOOL,    RequireStable,        7, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_OffsetFetchResponse_OffsetFetchResponsePartition(X, T) \
  X(T, I32,     PartitionIndex,       0, 7,   NO, NO,  NO, 0, _) \
  X(T, I64,     CommittedOffset,      0, 7,   NO, NO,  NO, 0, _) \
  X(T, I32,     CommittedLeaderEpoch, 5, 7,   NO, NO,  NO, -1, _) \
  X(T, STR,     Metadata,             0, 7,   0,  7,   NO, 0, _) \
  X(T, I16,     ErrorCode,            0, 7,   NO, NO,  NO, 0, _)

#define BECK_MSG_OffsetFetchResponse_OffsetFetchResponseTopic(X, T) \
  X(T, STR,     Name,                 0, 7,   NO, NO,  NO, 0, _) \
  X(T, ARR,     Partitions,           0, 7,   NO, NO,  NO, 0, OffsetFetchResponse_OffsetFetchResponsePartition)

#define BECK_MSG_OffsetFetchResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       3, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Topics,               0, 7,   NO, NO,  NO, 0, OffsetFetchResponse_OffsetFetchResponseTopic) \
  X(T, I16,     ErrorCode,            2, 7,   NO, NO,  NO, 0, _)

/* ---- FindCoordinator ---------------------------------------------------- */
#define BECK_MSG_FindCoordinatorRequest(X, T) \
  X(T, STR,     Key,                  0, 3,   NO, NO,  NO, 0, _) \
  X(T, I8,      KeyType,              1, INF, NO, NO,  NO, 0, _) \
  X(T, ARR_STR, CoordinatorKeys,      4, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_FindCoordinatorResponse_Coordinator(X, T) \
  X(T, STR,     Key,                  4, INF, NO, NO,  NO, 0, _) \
  X(T, I32,     NodeId,               4, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     Host,                 4, INF, NO, NO,  NO, 0, _) \
  X(T, I32,     Port,                 4, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            4, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ErrorMessage,         4, INF, 4,  INF, NO, 0, _)

#define BECK_MSG_FindCoordinatorResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       1, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0, 3,   NO, NO,  NO, 0, _) \
  X(T, STR,     ErrorMessage,         1, 3,   1,  3,   NO, 0, _) \
  X(T, I32,     NodeId,               0, 3,   NO, NO,  NO, 0, _) \
  X(T, STR,     Host,                 0, 3,   NO, NO,  NO, 0, _) \
  X(T, I32,     Port,                 0, 3,   NO, NO,  NO, 0, _) \
  X(T, ARR,     Coordinators,         4, INF, NO, NO,  NO, 0, FindCoordinatorResponse_Coordinator)

/* ---- JoinGroup ---------------------------------------------------------- */
#define BECK_MSG_JoinGroupRequest_JoinGroupRequestProtocol(X, T) \
  X(T, STR,     Name,                 0, INF, NO, NO,  NO, 0, _) \
  X(T, BYTES,   Metadata,             0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_JoinGroupRequest(X, T) \
  X(T, STR,     GroupId,              0, INF, NO, NO,  NO, 0, _) \
  X(T, I32,     SessionTimeoutMs,     0, INF, NO, NO,  NO, 0, _) \
  X(T, I32,     RebalanceTimeoutMs,   1, INF, NO, NO,  NO, -1, _) \
  X(T, STR,     MemberId,             0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     GroupInstanceId,      5, INF, 5,  INF, NO, -1, _) \
  X(T, STR,     ProtocolType,         0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Protocols,            0, INF, NO, NO,  NO, 0, JoinGroupRequest_JoinGroupRequestProtocol)

#define BECK_MSG_JoinGroupResponse_JoinGroupResponseMember(X, T) \
  X(T, STR,     MemberId,             0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     GroupInstanceId,      5, INF, 5,  INF, NO, -1, _) \
  X(T, BYTES,   Metadata,             0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_JoinGroupResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       2, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _) \
  X(T, I32,     GenerationId,         0, INF, NO, NO,  NO, -1, _) \
  X(T, STR,     ProtocolType,         7, INF, 7,  INF, NO, -1, _) \
  X(T, STR,     ProtocolName,         0, INF, 7,  INF, NO, 0, _) \
  X(T, STR,     Leader,               0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     MemberId,             0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Members,              0, INF, NO, NO,  NO, 0, JoinGroupResponse_JoinGroupResponseMember)

/* ---- Heartbeat ---------------------------------------------------------- */
#define BECK_MSG_HeartbeatRequest(X, T) \
  X(T, STR,     GroupId,              0, INF, NO, NO,  NO, 0, _) \
  X(T, I32,     GenerationId,         0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     MemberId,             0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     GroupInstanceId,      3, INF, 3,  INF, NO, -1, _)

#define BECK_MSG_HeartbeatResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       1, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _)

/* ---- LeaveGroup --------------------------------------------------------- */
#define BECK_MSG_LeaveGroupRequest_MemberIdentity(X, T) \
  X(T, STR,     MemberId,             3, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     GroupInstanceId,      3, INF, 3,  INF, NO, -1, _)

#define BECK_MSG_LeaveGroupRequest(X, T) \
  X(T, STR,     GroupId,              0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     MemberId,             0, 2,   NO, NO,  NO, 0, _) \
  X(T, ARR,     Members,              3, INF, NO, NO,  NO, 0, LeaveGroupRequest_MemberIdentity)

#define BECK_MSG_LeaveGroupResponse_MemberResponse(X, T) \
  X(T, STR,     MemberId,             3, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     GroupInstanceId,      3, INF, 3,  INF, NO, 0, _) \
  X(T, I16,     ErrorCode,            3, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_LeaveGroupResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       1, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Members,              3, INF, NO, NO,  NO, 0, LeaveGroupResponse_MemberResponse)

/* ---- SyncGroup ---------------------------------------------------------- */
#define BECK_MSG_SyncGroupRequest_SyncGroupRequestAssignment(X, T) \
  X(T, STR,     MemberId,             0, INF, NO, NO,  NO, 0, _) \
  X(T, BYTES,   Assignment,           0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_SyncGroupRequest(X, T) \
  X(T, STR,     GroupId,              0, INF, NO, NO,  NO, 0, _) \
  X(T, I32,     GenerationId,         0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     MemberId,             0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     GroupInstanceId,      3, INF, 3,  INF, NO, -1, _) \
  X(T, STR,     ProtocolType,         5, INF, 5,  INF, NO, -1, _) \
  X(T, STR,     ProtocolName,         5, INF, 5,  INF, NO, -1, _) \
  X(T, ARR,     Assignments,          0, INF, NO, NO,  NO, 0, SyncGroupRequest_SyncGroupRequestAssignment)

#define BECK_MSG_SyncGroupResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       1, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ProtocolType,         5, INF, 5,  INF, NO, -1, _) \
  X(T, STR,     ProtocolName,         5, INF, 5,  INF, NO, -1, _) \
  X(T, BYTES,   Assignment,           0, INF, NO, NO,  NO, 0, _)

/* ---- DescribeGroups ----------------------------------------------------- */
#define BECK_MSG_DescribeGroupsRequest(X, T) \
  X(T, ARR_STR, Groups,                      0, INF, NO, NO,  NO, 0, _) \
  X(T, BOOL,    IncludeAuthorizedOperations, 3, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DescribeGroupsResponse_DescribedGroupMember(X, T) \
  X(T, STR,     MemberId,             0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     GroupInstanceId,      4, INF, 4,  INF, NO, -1, _) \
  X(T, STR,     ClientId,             0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ClientHost,           0, INF, NO, NO,  NO, 0, _) \
  X(T, BYTES,   MemberMetadata,       0, INF, NO, NO,  NO, 0, _) \
  X(T, BYTES,   MemberAssignment,     0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DescribeGroupsResponse_DescribedGroup(X, T) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     GroupId,              0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     GroupState,           0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ProtocolType,         0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ProtocolData,         0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Members,              0, INF, NO, NO,  NO, 0, DescribeGroupsResponse_DescribedGroupMember) \
  X(T, I32,     AuthorizedOperations, 3, INF, NO, NO,  NO, INT32_MIN, _)

#define BECK_MSG_DescribeGroupsResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       1, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Groups,               0, INF, NO, NO,  NO, 0, DescribeGroupsResponse_DescribedGroup)

/* ---- ListGroups --------------------------------------------------------- */
#define BECK_MSG_ListGroupsRequest(X, T) \
  X(T, ARR_STR, StatesFilter,         4, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_ListGroupsResponse_ListedGroup(X, T) \
  X(T, STR,     GroupId,              0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     ProtocolType,         0, INF, NO, NO,  NO, 0, _) \
  X(T, STR,     GroupState,           4, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_ListGroupsResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       1, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Groups,               0, INF, NO, NO,  NO, 0, ListGroupsResponse_ListedGroup)

/* ---- DeleteGroups ------------------------------------------------------- */
#define BECK_MSG_DeleteGroupsRequest(X, T) \
  X(T, ARR_STR, GroupsNames,          0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DeleteGroupsResponse_DeletableGroupResult(X, T) \
  X(T, STR,     GroupId,              0, INF, NO, NO,  NO, 0, _) \
  X(T, I16,     ErrorCode,            0, INF, NO, NO,  NO, 0, _)

#define BECK_MSG_DeleteGroupsResponse(X, T) \
  X(T, I32,     ThrottleTimeMs,       0, INF, NO, NO,  NO, 0, _) \
  X(T, ARR,     Results,              0, INF, NO, NO,  NO, 0, DeleteGroupsResponse_DeletableGroupResult)

#define BECK_PROTO_STRUCTS_GROUP(S)                              \
  S(OffsetCommitRequest_OffsetCommitRequestPartition)            \
  S(OffsetCommitRequest_OffsetCommitRequestTopic)                \
  S(OffsetCommitRequest)                                         \
  S(OffsetCommitResponse_OffsetCommitResponsePartition)          \
  S(OffsetCommitResponse_OffsetCommitResponseTopic)              \
  S(OffsetCommitResponse)                                        \
  S(OffsetFetchRequest_OffsetFetchRequestTopic)                  \
  S(OffsetFetchRequest)                                          \
  S(OffsetFetchResponse_OffsetFetchResponsePartition)            \
  S(OffsetFetchResponse_OffsetFetchResponseTopic)                \
  S(OffsetFetchResponse)                                         \
  S(FindCoordinatorRequest)                                      \
  S(FindCoordinatorResponse_Coordinator)                         \
  S(FindCoordinatorResponse)                                     \
  S(JoinGroupRequest_JoinGroupRequestProtocol)                   \
  S(JoinGroupRequest)                                            \
  S(JoinGroupResponse_JoinGroupResponseMember)                   \
  S(JoinGroupResponse)                                           \
  S(HeartbeatRequest)                                            \
  S(HeartbeatResponse)                                           \
  S(LeaveGroupRequest_MemberIdentity)                            \
  S(LeaveGroupRequest)                                           \
  S(LeaveGroupResponse_MemberResponse)                           \
  S(LeaveGroupResponse)                                          \
  S(SyncGroupRequest_SyncGroupRequestAssignment)                 \
  S(SyncGroupRequest)                                            \
  S(SyncGroupResponse)                                           \
  S(DescribeGroupsRequest)                                       \
  S(DescribeGroupsResponse_DescribedGroupMember)                 \
  S(DescribeGroupsResponse_DescribedGroup)                       \
  S(DescribeGroupsResponse)                                      \
  S(ListGroupsRequest)                                           \
  S(ListGroupsResponse_ListedGroup)                              \
  S(ListGroupsResponse)                                          \
  S(DeleteGroupsRequest)                                         \
  S(DeleteGroupsResponse_DeletableGroupResult)                   \
  S(DeleteGroupsResponse)

/* clang-format on */
#endif
