/*
 * handle_init_producer_id.c - InitProducerId (22): a new producer id for an
 * idempotent producer, from a durable counter so ids are never reused after
 * a restart. Transactions are not implemented: a transactional id is
 * refused with TRANSACTIONAL_ID_AUTHORIZATION_FAILED (53) rather than
 * pretending to support them.
 */
#include "broker/handlers.h"

#include <string.h>

#include "base/logging.h"

void beck__handle_init_producer_id(beck_broker_t *b, beck_req_t *req, beck_proto_InitProducerIdRequest_t *msg) {
  beck_proto_InitProducerIdResponse_t resp;
  memset(&resp, 0, sizeof resp);
  resp.ProducerId = -1;
  resp.ProducerEpoch = -1;
  if (msg->TransactionalId.len >= 0) {
    resp.ErrorCode = BECK_KERR_TRANSACTIONAL_ID_AUTHORIZATION_FAILED;
  } else {
    int64_t id;
    beck_error_t e;
    if (beck_meta_counter_next(beck_topics_meta(b->topics), "producer_id", &id, &e) != BECK_ERR_OK) {
      beck_log("broker", BECK_LOG_ERROR, "allocating a producer id: %s", e.msg);
      resp.ErrorCode = BECK_KERR_KAFKA_STORAGE_ERROR;
    } else {
      resp.ProducerId = id;
      resp.ProducerEpoch = 0;
    }
  }
  beck__respond(req, &resp);
}
