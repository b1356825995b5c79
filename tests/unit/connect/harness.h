/*
 * harness.h - drives one connector instance the way the worker does, without
 * topics: for connector tests. A source's emitted records are collected and
 * their source offsets applied to an offset store that outlives the
 * instance (so a test can "restart" the source); a sink receives records the
 * test builds, and its rejects and seeks are collected.
 */
#ifndef BECK_TESTS_CONNECT_HARNESS_H
#define BECK_TESTS_CONNECT_HARNESS_H

#include <stdint.h>

#include "connect/connect_int.h"

#define HARNESS_MAX 64

typedef struct harness_offsets {
  char spart[HARNESS_MAX][256];
  char soff[HARNESS_MAX][256];
  int n;
} harness_offsets_t;

typedef struct harness_rec {
  char *key, *value, *error, *topic; /* malloc'd copies; NULL = null */
  int32_t key_len, value_len;
  int64_t timestamp; /* as emitted; -1: now */
} harness_rec_t;

typedef struct harness {
  beck_plugin_set_t *plugins;
  beck_connector_ctx_t *ctx;
  harness_offsets_t *offsets;
  beck_source_batch_t batch;
  /* sources: every record polled so far */
  harness_rec_t *recs;
  int nrecs, caprecs;
  /* sinks */
  char rejected[HARNESS_MAX][512];
  int nrejected;
  char seek_topic[HARNESS_MAX][128];
  int32_t seek_partition[HARNESS_MAX];
  int64_t seek_offset[HARNESS_MAX];
  int nseeks;
  beck_error_t err;
  int started;
} harness_t;

/* Opens connector `connector` (from the built-in plugin dir) with key/value
 * pairs kv (NULL-terminated list: k1, v1, k2, v2, ..., NULL), creates and
 * starts it; fails the test on error unless expect_fail (then returns NULL
 * and puts the message into *msg). offsets may be NULL. */
harness_t *harness_open(const char *connector, const char *const *kv, harness_offsets_t *offsets);
harness_t *harness_open_err(const char *connector, const char *const *kv, harness_offsets_t *offsets, char *msg,
                            size_t msglen);
/* Polls once (batch up to max_records); appends records to h->recs and
 * applies their source offsets. Returns the status. */
int harness_poll(harness_t *h, size_t max_records);
/* Polls until at least n records were collected in total or timeout_ms passed. */
void harness_poll_until(harness_t *h, int n, int timeout_ms);
/* Puts records with the given values (NULL-terminated) to a sink, at topic
 * t, partition 0, offsets from first_offset on; keys are "k<offset>". */
int harness_put_values(harness_t *h, const char *topic, int64_t first_offset, const char *const *values);
int harness_flush(harness_t *h);
void harness_close(harness_t *h);

#endif
