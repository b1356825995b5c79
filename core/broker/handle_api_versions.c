/*
 * handle_api_versions.c - ApiVersions (18): the versions this broker speaks:
 * every API of the codec's table that the dispatch table has a handler for,
 * with the codec's range. v3 replies use response header v0 (KIP-511; the
 * codec's header rule does that).
 *
 * One exception: Produce is advertised from v0 although only v3+ is served
 * (a v0-2 request closes the connection, as any unsupported version does).
 * librdkafka up to 2.11.0 (Debian's 2.0.2 included) enables gzip, snappy and
 * lz4 only if the Produce range contains v0 and otherwise sends those
 * batches uncompressed without a word. Kafka 4.0 does the same
 * (KAFKA-18659, librdkafka #4956). Clients pick the highest common version,
 * so none sends v0-2 to us.
 */
#include "broker/handlers.h"

#include <string.h>

void beck__handle_api_versions(beck_broker_t *b, beck_req_t *req, beck_proto_ApiVersionsRequest_t *msg) {
  beck_proto_ApiVersionsResponse_t resp;
  memset(&resp, 0, sizeof resp);
  size_t n = beck_proto_api_count;
  resp.ApiKeys.items = BECK_ARENA_ARRAY(req, beck_proto_ApiVersionsResponse_ApiVersion_t, n);
  if (resp.ApiKeys.items == NULL) {
    beck__conn_close(req->conn, "out of memory");
    beck__req_complete(req);
    return;
  }
  int32_t k = 0;
  for (size_t i = 0; i < n; i++) {
    const beck_proto_api_info_t *a = &beck_proto_api_table[i];
    if (!beck__api_served(a->api_key))
      continue;
    resp.ApiKeys.items[k].ApiKey = a->api_key;
    resp.ApiKeys.items[k].MinVersion = a->api_key == BECK_API_Produce ? 0 : a->min_version;
    resp.ApiKeys.items[k].MaxVersion = a->advertise_max;
    k++;
  }
  resp.ApiKeys.count = k;
  resp.FinalizedFeaturesEpoch = -1;
  beck__respond(req, &resp);
}
