/*
 * pstate.h - idempotent-producer state of one partition (KIP-98; reference §3.5).
 *
 * For each ProducerId seen on the partition: the current epoch and the
 * metadata of its last five batches (first/last sequence, first/last offset).
 * Checked before an append, updated after it:
 *
 *   same epoch, (first, last) seq equal a retained batch -> duplicate: append
 *       nothing, answer with the original base offset
 *   epoch < current                                      -> INVALID_PRODUCER_EPOCH (47)
 *   epoch > current (bump) or unknown producer           -> accepted at seq 0; an
 *       unknown producer (no retained state) is accepted at any sequence
 *   same epoch                                           -> first seq must be last+1
 *       (wrapping INT32_MAX -> 0), else OUT_OF_ORDER_SEQUENCE_NUMBER (45)
 *
 * After a restart the state is rebuilt from the batch headers in the log
 * tail (beck_pstate_observe for each batch in offset order).
 */
#ifndef BECK_TOPIC_PSTATE_H
#define BECK_TOPIC_PSTATE_H

#include <stdint.h>

#include "record/batch.h"

typedef struct beck_pstate beck_pstate_t;

#define BECK_PSTATE_BATCHES 5

typedef enum {
  BECK_PSTATE_OK = 0,             /* append it */
  BECK_PSTATE_DUPLICATE = 1,      /* already appended: *dup_base_offset says where */
  BECK_PSTATE_OUT_OF_ORDER = 45,  /* Kafka OUT_OF_ORDER_SEQUENCE_NUMBER */
  BECK_PSTATE_INVALID_EPOCH = 47, /* Kafka INVALID_PRODUCER_EPOCH */
} beck_pstate_verdict_t;

beck_pstate_t *beck_pstate_new(void);
void beck_pstate_destroy(beck_pstate_t *ps);

/* Checks an incoming batch (header as sent, before offsets are assigned).
 * Non-idempotent batches (ProducerId < 0) are always OK. */
beck_pstate_verdict_t beck_pstate_check(const beck_pstate_t *ps, const beck_batch_header_t *h,
                                        int64_t *dup_base_offset);

/* Records an appended batch (header with its assigned base offset). Also used
 * to rebuild the state from the log. Returns BECK_ERR_NOMEM on OOM. */
int beck_pstate_observe(beck_pstate_t *ps, const beck_batch_header_t *h);

/* Number of producers tracked (tests, metrics). */
int beck_pstate_count(const beck_pstate_t *ps);

#endif
