/*
 * proto.h - the Kafka protocol codec: the public API of core/proto.
 *
 * What it owns: framing, request/response headers, and the bodies of every
 * supported request and response, in both directions, for every version in
 * the codec's range. It knows nothing of what a request means; handlers in
 * core/broker receive decoded structs, never raw bytes.
 *
 * References: reference/kafka-protocol.md (§1 framing and primitive types,
 * §2 versions and layouts, §4 errors), the apache/kafka message specs
 * clients/src/main/resources/common/message/<Api>Request.json and
 * <Api>Response.json, KIP-482 (flexible versions, tagged fields), KIP-511
 * (ApiVersions v3 and its v0 response header).
 *
 * ---- Messages ------------------------------------------------------------
 *
 * Every message is described once in msg_*.h (see messages.h for the
 * columns). From that one description come
 *   - the C types, named after Kafka's JSON:
 *       beck_proto_<Api>Request_t, beck_proto_<Api>Response_t
 *       beck_proto_<Message>_<NestedStruct>_t   e.g.
 *       beck_proto_ProduceRequest_TopicProduceData_t
 *     with members named exactly like the spec's fields (TopicData, Acks,
 *     PartitionData, Index, Records, ...);
 *   - the descriptor tables one table-driven interpreter (codec.c) walks.
 * Also generated: BECK_API_<Api> constants (BECK_API_Produce = 0, ...) and
 * the unions beck_proto_request_t / beck_proto_response_t with one member
 * per API (req.Produce, req.Fetch, ...), big enough for any message.
 *
 * C representation of field types:
 *   bool, int8..int64, uint16/32, double    as is
 *   uuid                                    beck_uuid_t
 *   string, bytes                           beck_nstr_t {ptr, len}, len -1 = null
 *   records                                 beck_nstr_t: the record batches,
 *                                           borrowed, never copied or parsed
 *                                           (core/record does that)
 *   [T] array                               {T *items; int32_t count;}
 *                                           count -1 = null (where the spec
 *                                           allows it), items NULL when <= 0;
 *                                           [int32] etc. use beck_proto_i32s_t,
 *                                           beck_proto_i64s_t, beck_proto_strs_t
 *   tagged struct                           the nested struct, by value
 *
 * Building a response: zero the struct, fill fields, point arrays at memory
 * that lives until the encode call (the request arena is the natural place):
 *   beck_proto_MetadataResponse_t r = {0};
 *   r.Brokers.items = beck_arena_calloc(arena, 1, sizeof *r.Brokers.items);
 *   r.Brokers.count = 1;
 *   r.Brokers.items[0] = (beck_proto_MetadataResponse_MetadataResponseBroker_t)
 *       {.NodeId = 1, .Host = {host, host_len}, .Port = 9092, .Rack = {NULL, -1}};
 * A zeroed nstr is the empty string, a zeroed array is empty; null must be
 * asked for (len -1 / count -1) and is refused where the version forbids it.
 * Tagged fields are written only when they differ from their default, so
 * set defaults (e.g. ApiVersions FinalizedFeaturesEpoch = -1) to omit them.
 *
 * Fields that do not exist in a version are ignored by encode and set to
 * their spec default by decode (e.g. Fetch v4 CurrentLeaderEpoch = -1,
 * Metadata v0-3 AllowAutoTopicCreation = true), so a handler can read every
 * field without version checks and fill every field without caring which
 * version the client speaks (KAFKA-14422: a <v5 JoinGroup response never
 * carries GroupInstanceId because the encoder does not write it).
 *
 * ---- Ownership -------------------------------------------------------------
 *
 * Decode borrows: every string, bytes and records field points into the
 * input buffer, which must outlive the decoded struct. Arrays are allocated
 * from the caller's arena (base/arena.h) and live until it is reset. Nothing
 * is ever freed field by field.
 * Encode copies into the caller's beck_buf_t (except with
 * beck_proto_encode_sg, which leaves records out for zero-copy sending).
 *
 * ---- Hostile input ---------------------------------------------------------
 *
 * Every length and count from the wire is checked against the bytes left in
 * the frame before anything is allocated: an array claiming 2^31-1 elements
 * in a 1 KiB frame fails at once. The reader is sticky: after the first error
 * nothing more is read. Decode reports the path of the bad field
 * ("ProduceRequest v7: TopicData[0].PartitionData[3].Records: length exceeds
 * the bytes left (offset 57)"). Decoding also fails on bytes left over after
 * the body.
 *
 * ---- A broker's request path -----------------------------------------------
 *
 *   frame = the bytes after the 4-byte Size (Size <= BECK_PROTO_MAX_FRAME)
 *   beck_proto_request_header_decode(frame, n, &hdr, &e)
 *     BECK_ERR_UNSUPPORTED: unknown api key -> close the connection
 *   if (!beck_proto_version_supported(hdr.RequestApiKey, hdr.RequestApiVersion))
 *     ApiVersions: answer ErrorCode 35 with a v0 body; others: close
 *   beck_proto_request_t req;
 *   beck_proto_decode(key, ver, true, frame + hdr.size, n - hdr.size, arena,
 *                     &req, &e);          -> handler gets &req.Produce etc.
 *   mark = beck_proto_frame_begin(&out);
 *   beck_proto_response_header_encode(key, ver, hdr.CorrelationId, &out);
 *   beck_proto_encode(key, ver, false, &resp, &out, &e);
 *   beck_proto_frame_end(&out, mark, 0);
 *   beck_arena_reset(arena) once the response is written.
 *
 * Thread-safety: all functions are reentrant; the tables are constant.
 */
#ifndef BECK_PROTO_PROTO_H
#define BECK_PROTO_PROTO_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "base/arena.h"
#include "base/buf.h"
#include "base/err.h"
#include "proto/kerr.h"
#include "proto/messages.h"

/* Kafka's socket.request.max.bytes default: a bigger frame closes the
 * connection (reference §1.1). */
#define BECK_PROTO_MAX_FRAME (100 * 1024 * 1024)

/* ---- The API table ---------------------------------------------------------- */

/* What the codec supports for one API. The broker derives its ApiVersions
 * response from this table (advertising [min_version, advertise_max]). */
typedef struct beck_proto_api_info {
  int16_t api_key;
  const char *name;      /* "Produce", Kafka's API name */
  int16_t min_version;   /* lowest version the codec encodes and decodes */
  int16_t max_version;   /* highest */
  int16_t flexible_from; /* first flexible version in the Kafka spec (may be > max_version) */
  int16_t advertise_max; /* highest version to advertise to today's clients (reference §0) */
} beck_proto_api_info_t;

/* All supported APIs, in api-key order; beck_proto_api_count entries. */
extern const beck_proto_api_info_t beck_proto_api_table[];
extern const size_t beck_proto_api_count;

/* The entry for api_key, or NULL when the codec does not know the API. */
const beck_proto_api_info_t *beck_proto_api_lookup(int16_t api_key);
/* True when the codec can decode and encode (api_key, version). */
bool beck_proto_version_supported(int16_t api_key, int16_t version);
/* True when (api_key, version) is a flexible version (KIP-482). False for
 * unknown APIs. */
bool beck_proto_is_flexible(int16_t api_key, int16_t version);
/* "Produce", or "Unknown". */
const char *beck_proto_api_name(int16_t api_key);

/* ---- Headers and framing (header.c) ---------------------------------------- */

/* Request header version a client uses for (api_key, version): 2 when the
 * version is flexible, else 1 (reference §1.2); -1 when the API is unknown.
 * Defined for every version >= 0 of a known API, also ones the codec does
 * not support (so an ApiVersions v5 probe can still be parsed). */
int beck_proto_request_header_version(int16_t api_key, int16_t api_version);
/* Response header version: 1 when flexible, else 0, and always 0 for
 * ApiVersions (KIP-511; reference §1.3). -1 when the API is unknown. */
int beck_proto_response_header_version(int16_t api_key, int16_t api_version);

/* RequestHeader (v0-2). ClientId stays the INT16-length nullable string in
 * v2; v2 adds a tag buffer (skipped: no tags are defined). */
typedef struct beck_proto_request_header {
  int16_t RequestApiKey;
  int16_t RequestApiVersion;
  int32_t CorrelationId;
  beck_nstr_t ClientId;  /* borrowed from the frame; null when absent */
  int8_t header_version; /* 1 or 2; -1 when the API is unknown */
  size_t size;           /* header bytes; the body starts at frame + size */
} beck_proto_request_header_t;

/* Decodes the request header at the start of `frame` (the bytes after the
 * Size prefix). Borrows frame. Returns
 *   BECK_ERR_OK           all fields set
 *   BECK_ERR_UNSUPPORTED  unknown api key: only the first 8 bytes (key,
 *                         version, correlation id) are set, size = 8
 *   BECK_ERR_PARSE        truncated or malformed (err says where)
 * The body version is not checked here: see beck_proto_version_supported. */
beck_err_t beck_proto_request_header_decode(const uint8_t *frame, size_t len, beck_proto_request_header_t *out,
                                            beck_error_t *err);
/* Appends a request header in the version the (key, version) needs; copies.
 * header_version and size in h are ignored. BECK_ERR_UNSUPPORTED for an
 * unknown API. */
beck_err_t beck_proto_request_header_encode(const beck_proto_request_header_t *h, beck_buf_t *out);

/* Appends the response header for (api_key, api_version): CorrelationId,
 * plus an empty tag buffer in header v1. */
beck_err_t beck_proto_response_header_encode(int16_t api_key, int16_t api_version, int32_t correlation_id,
                                             beck_buf_t *out);
/* Reads a response header (client side / tests); sets *size to its length. */
beck_err_t beck_proto_response_header_decode(int16_t api_key, int16_t api_version, const uint8_t *frame, size_t len,
                                             int32_t *correlation_id, size_t *size, beck_error_t *err);

/* Appends a 4-byte Size placeholder; returns its offset (the mark). */
size_t beck_proto_frame_begin(beck_buf_t *out);
/* Patches the Size at `mark` to cover every byte appended after it plus
 * `extra` bytes sent separately (the spliced records of
 * beck_proto_encode_sg; 0 otherwise). BECK_ERR_TOOBIG over INT32_MAX,
 * BECK_ERR_NOMEM if beck_proto_frame_begin could not append. */
beck_err_t beck_proto_frame_end(beck_buf_t *out, size_t mark, size_t extra);

/* ---- Bodies (codec.c) ------------------------------------------------------ */

/* Decodes the body of a request (is_request) or response of api_key at
 * `version` from bytes[0..len) into *out, which must point to the matching
 * struct (beck_proto_<Api>Request_t / ..Response_t, or a
 * beck_proto_request_t / beck_proto_response_t union). *out is overwritten.
 * Borrows bytes; allocates arrays from arena. Returns BECK_ERR_OK,
 * BECK_ERR_UNSUPPORTED (unknown api or version out of range), BECK_ERR_PARSE
 * (malformed, truncated, or trailing bytes; err has the field path) or
 * BECK_ERR_NOMEM (arena). err may be NULL. */
beck_err_t beck_proto_decode(int16_t api_key, int16_t version, bool is_request, const uint8_t *bytes, size_t len,
                             beck_arena_t *arena, void *out, beck_error_t *err);

/* Appends the encoded body of *msg (the matching struct) to out; copies.
 * Fields absent from `version` are skipped. Returns BECK_ERR_OK,
 * BECK_ERR_UNSUPPORTED, BECK_ERR_INVAL (a null where the version does not
 * allow one, a STRING over 32767 bytes, a negative count other than -1, or
 * count > 0 with items NULL; err names the field) or BECK_ERR_NOMEM. On
 * error out is left as it was. err may be NULL. */
beck_err_t beck_proto_encode(int16_t api_key, int16_t version, bool is_request, const void *msg, beck_buf_t *out,
                             beck_error_t *err);

/* A records payload left out of the encoded bytes: it belongs at offset `at`
 * of the output (after its length prefix, which is written). */
typedef struct beck_proto_splice {
  size_t at;
  beck_slice_t data; /* borrowed from the message being encoded */
} beck_proto_splice_t;

/* Like beck_proto_encode, but every non-empty RECORDS field is not copied:
 * its length prefix is written and {offset, bytes} is appended to *splices
 * (an array allocated from arena; *nsplices entries, in order). Send
 * out[0..s0.at), s0.data, out[s0.at..s1.at), s1.data, ... out[last..len)
 * with writev/sendfile. Offsets are into out, counted from its start. */
beck_err_t beck_proto_encode_sg(int16_t api_key, int16_t version, bool is_request, const void *msg, beck_buf_t *out,
                                beck_arena_t *arena, beck_proto_splice_t **splices, size_t *nsplices,
                                beck_error_t *err);

#endif
