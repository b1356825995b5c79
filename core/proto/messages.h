/*
 * messages.h - every Kafka message the codec speaks, described once.
 *
 * Each struct of each message (the body and every nested struct) is one
 * X-macro field list in msg_*.h. The same list generates the C struct below
 * and the descriptor table the interpreter in codec.c walks (desc.c), so the
 * two cannot drift. Field names, struct names and version ranges follow the
 * apache/kafka message specs (clients/src/main/resources/common/message/
 * *.json, Kafka 3.9 spelling), so code can be checked against them.
 *
 * Field list columns:
 *
 *   X(T, kind, Name, vmin, vmax, nmin, nmax, tag, dflt, Sub)
 *
 *   T       the C struct type; passed through, used for offsetof()
 *   kind    wire type, one of
 *             BOOL I8 I16 I32 I64 U16 U32 F64 UUID UVARINT VARINT VARLONG
 *             STR     STRING (compact in flexible versions)     beck_nstr_t
 *             BYTES   BYTES (compact in flexible versions)      beck_nstr_t
 *             RECORDS record batches, like nullable BYTES       beck_nstr_t
 *             ARR_I32 ARR_I64 ARR_STR ARR_UUID  arrays of primitives
 *             ARR     array of the nested struct Sub
 *             STRUCT  one nested struct Sub (only used as a tagged field)
 *   Name    Kafka's field name, also the C member name
 *   vmin..vmax   versions the field exists in ("3+" is 3, INF)
 *   nmin..nmax   versions in which it may be null (NO, NO = never)
 *   tag     tag number when the field is a tagged field (KIP-482), else NO;
 *           a tagged field is tagged in all versions it exists in
 *   dflt    default: what decode stores when the field is absent from the
 *           version (or an absent tag), and what makes a tagged field be
 *           omitted on encode. Numbers as is (BOOL 0/1); for STR/BYTES and
 *           arrays 0 = empty, -1 = null.
 *   Sub     nested struct name for ARR / STRUCT, else _
 *
 * INF and NO are only given meaning where descriptors are generated
 * (desc.c); elsewhere those columns are never expanded.
 *
 * C representation (all borrowed from the decoded buffer or the arena):
 *   strings, bytes, records  beck_nstr_t {ptr, len}; len -1 = null
 *   arrays                   {items, count}; count -1 = null, items NULL
 *                            when count <= 0
 *   uuid                     beck_uuid_t (16 raw bytes)
 */
#ifndef BECK_PROTO_MESSAGES_H
#define BECK_PROTO_MESSAGES_H

#include <stdbool.h>
#include <stdint.h>

#include "base/buf.h"

/* A Kafka UUID (topic id etc.); all zero = "no id". */
typedef struct beck_uuid {
  uint8_t bytes[16];
} beck_uuid_t;

/* Arrays of primitives. count -1 = null. */
typedef struct beck_proto_i32s {
  int32_t *items;
  int32_t count;
} beck_proto_i32s_t;
typedef struct beck_proto_i64s {
  int64_t *items;
  int32_t count;
} beck_proto_i64s_t;
typedef struct beck_proto_strs {
  beck_nstr_t *items;
  int32_t count;
} beck_proto_strs_t;
typedef struct beck_proto_uuids {
  beck_uuid_t *items;
  int32_t count;
} beck_proto_uuids_t;

#include "proto/msg_admin.h"
#include "proto/msg_fetch.h"
#include "proto/msg_group.h"
#include "proto/msg_metadata.h"
#include "proto/msg_produce.h"

/*
 * The supported APIs.
 *   A(api_key, Name, min, max, flexible_from, advertise_max)
 * min..max is what the codec encodes and decodes (both directions, request
 * Name##Request and response Name##Response). flexible_from is the first
 * flexible version in the Kafka spec, also where it exceeds max: it decides
 * the request header version of any version a client may send.
 * advertise_max is the highest version a broker should advertise for today's
 * clients (kafka-protocol.md §0 item 2): non-flexible except ApiVersions 3,
 * IncrementalAlterConfigs 1 (asked for by the project) and DescribeLogDirs 4
 * (none of the reference clients sends it; the clients that do speak its
 * flexible versions, and only v4 carries the volume's total and usable
 * bytes).
 */
#define BECK_PROTO_APIS(A)                                                                                             \
  A(0, Produce, 3, 9, 9, 7)                                                                                            \
  A(1, Fetch, 4, 13, 12, 11)                                                                                           \
  A(2, ListOffsets, 1, 7, 6, 3)                                                                                        \
  A(3, Metadata, 0, 12, 9, 6)                                                                                          \
  A(8, OffsetCommit, 2, 8, 8, 7)                                                                                       \
  A(9, OffsetFetch, 1, 7, 6, 5)                                                                                        \
  A(10, FindCoordinator, 0, 4, 3, 2)                                                                                   \
  A(11, JoinGroup, 0, 7, 6, 5)                                                                                         \
  A(12, Heartbeat, 0, 4, 4, 3)                                                                                         \
  A(13, LeaveGroup, 0, 4, 4, 3)                                                                                        \
  A(14, SyncGroup, 0, 5, 4, 3)                                                                                         \
  A(15, DescribeGroups, 0, 5, 5, 4)                                                                                    \
  A(16, ListGroups, 0, 4, 3, 2)                                                                                        \
  A(18, ApiVersions, 0, 4, 3, 3)                                                                                       \
  A(19, CreateTopics, 0, 5, 5, 4)                                                                                      \
  A(20, DeleteTopics, 0, 4, 4, 3)                                                                                      \
  A(21, DeleteRecords, 0, 2, 2, 1)                                                                                     \
  A(22, InitProducerId, 0, 4, 2, 1)                                                                                    \
  A(32, DescribeConfigs, 0, 2, 4, 2)                                                                                   \
  A(33, AlterConfigs, 0, 2, 2, 1)                                                                                      \
  A(35, DescribeLogDirs, 1, 4, 2, 4)                                                                                   \
  A(37, CreatePartitions, 0, 3, 2, 1)                                                                                  \
  A(42, DeleteGroups, 0, 2, 2, 1)                                                                                      \
  A(44, IncrementalAlterConfigs, 0, 1, 1, 1)

/* Every struct, nested ones before the structs that contain them. */
#define BECK_PROTO_STRUCTS(S)                                                                                          \
  BECK_PROTO_STRUCTS_PRODUCE(S)                                                                                        \
  BECK_PROTO_STRUCTS_FETCH(S)                                                                                          \
  BECK_PROTO_STRUCTS_METADATA(S)                                                                                       \
  BECK_PROTO_STRUCTS_GROUP(S)                                                                                          \
  BECK_PROTO_STRUCTS_ADMIN(S)

/* ---- C types generated from the field lists ---------------------------- */

#define BECK_PT_CT_BOOL(S) bool
#define BECK_PT_CT_I8(S) int8_t
#define BECK_PT_CT_I16(S) int16_t
#define BECK_PT_CT_I32(S) int32_t
#define BECK_PT_CT_I64(S) int64_t
#define BECK_PT_CT_U16(S) uint16_t
#define BECK_PT_CT_U32(S) uint32_t
#define BECK_PT_CT_F64(S) double
#define BECK_PT_CT_UUID(S) beck_uuid_t
#define BECK_PT_CT_UVARINT(S) uint32_t
#define BECK_PT_CT_VARINT(S) int32_t
#define BECK_PT_CT_VARLONG(S) int64_t
#define BECK_PT_CT_STR(S) beck_nstr_t
#define BECK_PT_CT_BYTES(S) beck_nstr_t
#define BECK_PT_CT_RECORDS(S) beck_nstr_t
#define BECK_PT_CT_ARR_I32(S) beck_proto_i32s_t
#define BECK_PT_CT_ARR_I64(S) beck_proto_i64s_t
#define BECK_PT_CT_ARR_STR(S) beck_proto_strs_t
#define BECK_PT_CT_ARR_UUID(S) beck_proto_uuids_t
#define BECK_PT_CT_ARR(S)                                                                                              \
  struct {                                                                                                             \
    struct beck_proto_##S *items;                                                                                      \
    int32_t count;                                                                                                     \
  }
#define BECK_PT_CT_STRUCT(S) struct beck_proto_##S

#define BECK_PROTO_DECL_FIELD(T, kind, name, vmin, vmax, nmin, nmax, tag, dflt, sub) BECK_PT_CT_##kind(sub) name;

/* typedef struct beck_proto_<Name> {...} beck_proto_<Name>_t; */
#define BECK_PROTO_DECL_STRUCT(Name)                                                                                   \
  typedef struct beck_proto_##Name {                                                                                   \
    BECK_MSG_##Name(BECK_PROTO_DECL_FIELD, struct beck_proto_##Name)                                                   \
  } beck_proto_##Name##_t;

BECK_PROTO_STRUCTS(BECK_PROTO_DECL_STRUCT)

/* A union big enough for any request (or any response), so a dispatcher can
 * decode into one object and hand &req.Produce to the Produce handler. */
#define BECK_PROTO_REQ_MEMBER(key, Name, min, max, flex, adv) beck_proto_##Name##Request_t Name;
#define BECK_PROTO_RESP_MEMBER(key, Name, min, max, flex, adv) beck_proto_##Name##Response_t Name;
typedef union beck_proto_request {
  BECK_PROTO_APIS(BECK_PROTO_REQ_MEMBER)
} beck_proto_request_t;
typedef union beck_proto_response {
  BECK_PROTO_APIS(BECK_PROTO_RESP_MEMBER)
} beck_proto_response_t;
#undef BECK_PROTO_REQ_MEMBER
#undef BECK_PROTO_RESP_MEMBER

/* BECK_API_PRODUCE = 0, ... named by Kafka's API names. */
#define BECK_PROTO_API_ENUM(key, Name, min, max, flex, adv) BECK_API_##Name = key,
typedef enum beck_proto_api_key { BECK_PROTO_APIS(BECK_PROTO_API_ENUM) } beck_proto_api_key_t;
#undef BECK_PROTO_API_ENUM

#endif
