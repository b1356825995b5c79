/*
 * kerr.h - Kafka's wire error codes (apache/kafka Errors.java; reference
 * kafka-protocol.md §4).
 *
 * These travel to clients in ErrorCode fields. They are a separate space
 * from beck_err_t (local failures) and the two are never mixed: a handler
 * maps a local failure to the Kafka code the client understands.
 * Names are Kafka's; messages are short paraphrases.
 */
#ifndef BECK_PROTO_KERR_H
#define BECK_PROTO_KERR_H

#include <stdint.h>

/* X(NAME, code, message) */
#define BECK_KERR_MAP(X)                                                                                               \
  X(UNKNOWN_SERVER_ERROR, -1, "unexpected server error")                                                               \
  X(NONE, 0, "no error")                                                                                               \
  X(OFFSET_OUT_OF_RANGE, 1, "offset outside the partition's log")                                                      \
  X(CORRUPT_MESSAGE, 2, "record failed its CRC or is otherwise corrupt")                                               \
  X(UNKNOWN_TOPIC_OR_PARTITION, 3, "unknown topic or partition")                                                       \
  X(INVALID_FETCH_SIZE, 4, "invalid fetch size")                                                                       \
  X(LEADER_NOT_AVAILABLE, 5, "no leader for this partition yet")                                                       \
  X(NOT_LEADER_OR_FOLLOWER, 6, "broker is not the leader or a replica of this partition")                              \
  X(REQUEST_TIMED_OUT, 7, "request timed out")                                                                         \
  X(BROKER_NOT_AVAILABLE, 8, "broker not available")                                                                   \
  X(REPLICA_NOT_AVAILABLE, 9, "replica not available")                                                                 \
  X(MESSAGE_TOO_LARGE, 10, "batch larger than the maximum message size")                                               \
  X(STALE_CONTROLLER_EPOCH, 11, "stale controller epoch")                                                              \
  X(OFFSET_METADATA_TOO_LARGE, 12, "offset commit metadata too large")                                                 \
  X(NETWORK_EXCEPTION, 13, "server disconnected before the response")                                                  \
  X(COORDINATOR_LOAD_IN_PROGRESS, 14, "coordinator is loading")                                                        \
  X(COORDINATOR_NOT_AVAILABLE, 15, "coordinator not available")                                                        \
  X(NOT_COORDINATOR, 16, "not the coordinator for this group")                                                         \
  X(INVALID_TOPIC_EXCEPTION, 17, "invalid topic")                                                                      \
  X(RECORD_LIST_TOO_LARGE, 18, "batch larger than the segment size")                                                   \
  X(NOT_ENOUGH_REPLICAS, 19, "fewer in-sync replicas than required")                                                   \
  X(NOT_ENOUGH_REPLICAS_AFTER_APPEND, 20, "written, but to fewer in-sync replicas than required")                      \
  X(INVALID_REQUIRED_ACKS, 21, "invalid acks value")                                                                   \
  X(ILLEGAL_GENERATION, 22, "wrong group generation")                                                                  \
  X(INCONSISTENT_GROUP_PROTOCOL, 23, "no protocol in common with the group")                                           \
  X(INVALID_GROUP_ID, 24, "invalid group id")                                                                          \
  X(UNKNOWN_MEMBER_ID, 25, "unknown group member")                                                                     \
  X(INVALID_SESSION_TIMEOUT, 26, "session timeout outside the allowed range")                                          \
  X(REBALANCE_IN_PROGRESS, 27, "group is rebalancing")                                                                 \
  X(INVALID_COMMIT_OFFSET_SIZE, 28, "invalid commit offset size")                                                      \
  X(TOPIC_AUTHORIZATION_FAILED, 29, "topic authorization failed")                                                      \
  X(GROUP_AUTHORIZATION_FAILED, 30, "group authorization failed")                                                      \
  X(CLUSTER_AUTHORIZATION_FAILED, 31, "cluster authorization failed")                                                  \
  X(INVALID_TIMESTAMP, 32, "timestamp out of range")                                                                   \
  X(UNSUPPORTED_SASL_MECHANISM, 33, "unsupported SASL mechanism")                                                      \
  X(ILLEGAL_SASL_STATE, 34, "request not valid in the current SASL state")                                             \
  X(UNSUPPORTED_VERSION, 35, "unsupported API version")                                                                \
  X(TOPIC_ALREADY_EXISTS, 36, "topic already exists")                                                                  \
  X(INVALID_PARTITIONS, 37, "invalid number of partitions")                                                            \
  X(INVALID_REPLICATION_FACTOR, 38, "invalid replication factor")                                                      \
  X(INVALID_REPLICA_ASSIGNMENT, 39, "invalid replica assignment")                                                      \
  X(INVALID_CONFIG, 40, "invalid configuration")                                                                       \
  X(NOT_CONTROLLER, 41, "not the controller")                                                                          \
  X(INVALID_REQUEST, 42, "malformed request")                                                                          \
  X(UNSUPPORTED_FOR_MESSAGE_FORMAT, 43, "not supported by the message format")                                         \
  X(POLICY_VIOLATION, 44, "policy violation")                                                                          \
  X(OUT_OF_ORDER_SEQUENCE_NUMBER, 45, "out of order sequence number")                                                  \
  X(DUPLICATE_SEQUENCE_NUMBER, 46, "duplicate sequence number")                                                        \
  X(INVALID_PRODUCER_EPOCH, 47, "producer epoch is stale")                                                             \
  X(INVALID_TXN_STATE, 48, "invalid transaction state")                                                                \
  X(INVALID_PRODUCER_ID_MAPPING, 49, "producer id not assigned to this transactional id")                              \
  X(INVALID_TRANSACTION_TIMEOUT, 50, "transaction timeout too large")                                                  \
  X(CONCURRENT_TRANSACTIONS, 51, "another operation on this transaction is in progress")                               \
  X(TRANSACTION_COORDINATOR_FENCED, 52, "transaction coordinator fenced")                                              \
  X(TRANSACTIONAL_ID_AUTHORIZATION_FAILED, 53, "transactional id authorization failed")                                \
  X(SECURITY_DISABLED, 54, "security features are disabled")                                                           \
  X(OPERATION_NOT_ATTEMPTED, 55, "operation not attempted")                                                            \
  X(KAFKA_STORAGE_ERROR, 56, "disk error")                                                                             \
  X(LOG_DIR_NOT_FOUND, 57, "log directory not found")                                                                  \
  X(SASL_AUTHENTICATION_FAILED, 58, "SASL authentication failed")                                                      \
  X(UNKNOWN_PRODUCER_ID, 59, "unknown producer id")                                                                    \
  X(REASSIGNMENT_IN_PROGRESS, 60, "partition reassignment in progress")                                                \
  X(DELEGATION_TOKEN_AUTH_DISABLED, 61, "delegation tokens disabled")                                                  \
  X(DELEGATION_TOKEN_NOT_FOUND, 62, "delegation token not found")                                                      \
  X(DELEGATION_TOKEN_OWNER_MISMATCH, 63, "delegation token owner mismatch")                                            \
  X(DELEGATION_TOKEN_REQUEST_NOT_ALLOWED, 64, "delegation token request not allowed")                                  \
  X(DELEGATION_TOKEN_AUTHORIZATION_FAILED, 65, "delegation token authorization failed")                                \
  X(DELEGATION_TOKEN_EXPIRED, 66, "delegation token expired")                                                          \
  X(INVALID_PRINCIPAL_TYPE, 67, "unsupported principal type")                                                          \
  X(NON_EMPTY_GROUP, 68, "group is not empty")                                                                         \
  X(GROUP_ID_NOT_FOUND, 69, "group id not found")                                                                      \
  X(FETCH_SESSION_ID_NOT_FOUND, 70, "fetch session id not found")                                                      \
  X(INVALID_FETCH_SESSION_EPOCH, 71, "invalid fetch session epoch")                                                    \
  X(LISTENER_NOT_FOUND, 72, "listener not found")                                                                      \
  X(TOPIC_DELETION_DISABLED, 73, "topic deletion disabled")                                                            \
  X(FENCED_LEADER_EPOCH, 74, "leader epoch older than the broker's")                                                   \
  X(UNKNOWN_LEADER_EPOCH, 75, "leader epoch newer than the broker's")                                                  \
  X(UNSUPPORTED_COMPRESSION_TYPE, 76, "compression type not supported by this request version")                        \
  X(STALE_BROKER_EPOCH, 77, "stale broker epoch")                                                                      \
  X(OFFSET_NOT_AVAILABLE, 78, "offset not available yet")                                                              \
  X(MEMBER_ID_REQUIRED, 79, "member id required; rejoin with the returned id")                                         \
  X(PREFERRED_LEADER_NOT_AVAILABLE, 80, "preferred leader not available")                                              \
  X(GROUP_MAX_SIZE_REACHED, 81, "group is full")                                                                       \
  X(FENCED_INSTANCE_ID, 82, "static member replaced by another member")                                                \
  X(ELIGIBLE_LEADERS_NOT_AVAILABLE, 83, "eligible leaders not available")                                              \
  X(ELECTION_NOT_NEEDED, 84, "leader election not needed")                                                             \
  X(NO_REASSIGNMENT_IN_PROGRESS, 85, "no reassignment in progress")                                                    \
  X(GROUP_SUBSCRIBED_TO_TOPIC, 86, "group is subscribed to the topic")                                                 \
  X(INVALID_RECORD, 87, "record failed validation")                                                                    \
  X(UNSTABLE_OFFSET_COMMIT, 88, "unstable offsets pending")                                                            \
  X(THROTTLING_QUOTA_EXCEEDED, 89, "throttling quota exceeded")                                                        \
  X(PRODUCER_FENCED, 90, "a newer producer with the same transactional id exists")                                     \
  X(RESOURCE_NOT_FOUND, 91, "resource not found")                                                                      \
  X(DUPLICATE_RESOURCE, 92, "resource referenced twice")                                                               \
  X(UNACCEPTABLE_CREDENTIAL, 93, "unacceptable credential")                                                            \
  X(INCONSISTENT_VOTER_SET, 94, "inconsistent voter set")                                                              \
  X(INVALID_UPDATE_VERSION, 95, "invalid update version")                                                              \
  X(FEATURE_UPDATE_FAILED, 96, "feature update failed")                                                                \
  X(PRINCIPAL_DESERIALIZATION_FAILURE, 97, "principal deserialization failed")                                         \
  X(SNAPSHOT_NOT_FOUND, 98, "snapshot not found")                                                                      \
  X(POSITION_OUT_OF_RANGE, 99, "snapshot position out of range")                                                       \
  X(UNKNOWN_TOPIC_ID, 100, "unknown topic id")                                                                         \
  X(DUPLICATE_BROKER_REGISTRATION, 101, "broker id already in use")                                                    \
  X(BROKER_ID_NOT_REGISTERED, 102, "broker id not registered")                                                         \
  X(INCONSISTENT_TOPIC_ID, 103, "topic id does not match the log")                                                     \
  X(INCONSISTENT_CLUSTER_ID, 104, "cluster id does not match")                                                         \
  X(TRANSACTIONAL_ID_NOT_FOUND, 105, "transactional id not found")                                                     \
  X(FETCH_SESSION_TOPIC_ID_ERROR, 106, "inconsistent topic id use in the fetch session")                               \
  X(INELIGIBLE_REPLICA, 107, "ineligible replica in the ISR")                                                          \
  X(NEW_LEADER_ELECTED, 108, "a new leader was elected")                                                               \
  X(OFFSET_MOVED_TO_TIERED_STORAGE, 109, "offset moved to tiered storage")                                             \
  X(FENCED_MEMBER_EPOCH, 110, "member epoch fenced")                                                                   \
  X(UNRELEASED_INSTANCE_ID, 111, "instance id still in use")                                                           \
  X(UNSUPPORTED_ASSIGNOR, 112, "unsupported assignor")                                                                 \
  X(STALE_MEMBER_EPOCH, 113, "stale member epoch")                                                                     \
  X(MISMATCHED_ENDPOINT_TYPE, 114, "wrong endpoint type")                                                              \
  X(UNSUPPORTED_ENDPOINT_TYPE, 115, "unsupported endpoint type")                                                       \
  X(UNKNOWN_CONTROLLER_ID, 116, "unknown controller id")                                                               \
  X(UNKNOWN_SUBSCRIPTION_ID, 117, "unknown telemetry subscription id")                                                 \
  X(TELEMETRY_TOO_LARGE, 118, "telemetry push too large")                                                              \
  X(INVALID_REGISTRATION, 119, "invalid broker registration")                                                          \
  X(TRANSACTION_ABORTABLE, 120, "transaction must be aborted")

typedef enum beck_kerr {
#define BECK_KERR_ENUM(name, code, msg) BECK_KERR_##name = code,
  BECK_KERR_MAP(BECK_KERR_ENUM)
#undef BECK_KERR_ENUM
} beck_kerr_t;

/* Kafka's constant name ("NOT_COORDINATOR"), or "UNKNOWN" for a code not in
 * the table. Never NULL. */
const char *beck_kerr_name(int code);
/* A short English description, or "unknown Kafka error code". Never NULL. */
const char *beck_kerr_message(int code);
/* True when the code is in the table. */
int beck_kerr_known(int code);

#endif
