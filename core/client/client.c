/*
 * client.c - what both log clients share: argument checks, the partitioner,
 * and dispatch to the embedded or remote operations table.
 *
 * Partitioning is done here, not by the log or by librdkafka, so that a key
 * lands on the same partition whichever way the log is reached:
 *   - explicit partition: used as given (checked against the count);
 *   - non-null key: Kafka's Java default, toPositive(murmur2(key)) % n
 *     (org.apache.kafka.common.utils.Utils.murmur2, seed 0x9747b28c; the
 *     same as librdkafka's "murmur2" partitioner);
 *   - null key: one partition for every null-key record of the call (sticky,
 *     like KIP-480), moving round-robin from call to call.
 */
#include "client/client_int.h"

#include <time.h>

#include "base/alloc.h"

void beck__client_init(beck_client_t *c, const beck_client_ops_t *ops) {
  c->ops = ops;
  atomic_init(&c->sticky, 0);
}

beck_nstr_t beck__client_nstr(beck_nstr_t s) {
  if (s.len < 0)
    return beck_nstr_null();
  if (s.ptr == NULL)
    return beck_nstr("", 0);
  return s;
}

int64_t beck__client_mono_ms(void) {
  struct timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Kafka's Utils.murmur2 (MurmurHash2, 32-bit, seed 0x9747b28c), in unsigned
 * arithmetic so overflow is defined; Java's >>> is the unsigned shift. */
static uint32_t murmur2(const uint8_t *data, size_t len) {
  const uint32_t m = 0x5bd1e995;
  const int r = 24;
  uint32_t h = 0x9747b28cu ^ (uint32_t)len;
  size_t n4 = len / 4;
  for (size_t i = 0; i < n4; i++) {
    const uint8_t *p = data + i * 4;
    uint32_t k = (uint32_t)p[0] | ((uint32_t)p[1] << 8) | ((uint32_t)p[2] << 16) | ((uint32_t)p[3] << 24);
    k *= m;
    k ^= k >> r;
    k *= m;
    h *= m;
    h ^= k;
  }
  const uint8_t *tail = data + (len & ~(size_t)3);
  switch (len & 3) {
  case 3:
    h ^= (uint32_t)tail[2] << 16;
    /* fall through */
  case 2:
    h ^= (uint32_t)tail[1] << 8;
    /* fall through */
  case 1:
    h ^= tail[0];
    h *= m;
  }
  h ^= h >> 13;
  h *= m;
  h ^= h >> 15;
  return h;
}

int32_t beck_client_partition_for_key(const void *key, size_t len, int32_t npartitions) {
  if (npartitions <= 0)
    return -1;
  uint32_t h = murmur2(len ? key : (const void *)"", len);
  return (int32_t)((h & 0x7fffffffu) % (uint32_t)npartitions);
}

void beck_client_close(beck_client_t *c) {
  if (c)
    c->ops->close(c);
}

const char *beck_client_kind(const beck_client_t *c) { return c->ops->kind; }

static beck_err_t check_topic(const char *topic, beck_error_t *e) {
  if (topic == NULL || topic[0] == '\0')
    return beck_error_set(e, BECK_ERR_INVAL, "topic name is empty");
  return BECK_ERR_OK;
}

beck_err_t beck_client_create_topic(beck_client_t *c, const char *topic, int32_t partitions,
                                    const char *const *config_keys, const char *const *config_values, int n,
                                    bool exist_ok, beck_error_t *e) {
  beck_err_t err = check_topic(topic, e);
  if (err)
    return err;
  if (n < 0 || (n > 0 && (config_keys == NULL || config_values == NULL)))
    return beck_error_set(e, BECK_ERR_INVAL, "topic '%s': bad config list", topic);
  for (int i = 0; i < n; i++)
    if (config_keys[i] == NULL || config_values[i] == NULL)
      return beck_error_set(e, BECK_ERR_INVAL, "topic '%s': config %d has a NULL key or value", topic, i);
  return c->ops->create_topic(c, topic, partitions, config_keys, config_values, n, exist_ok, e);
}

beck_err_t beck_client_partitions(beck_client_t *c, const char *topic, int32_t *out, beck_error_t *e) {
  beck_err_t err = check_topic(topic, e);
  if (err)
    return err;
  return c->ops->partitions(c, topic, true, out, e);
}

beck_err_t beck_client_watermarks(beck_client_t *c, const char *topic, int32_t partition, int64_t *start, int64_t *high,
                                  beck_error_t *e) {
  beck_err_t err = check_topic(topic, e);
  if (err)
    return err;
  if (partition < 0)
    return beck_error_set(e, BECK_ERR_INVAL, "topic '%s': partition %d is negative", topic, partition);
  int64_t s = -1, h = -1;
  err = c->ops->watermarks(c, topic, partition, &s, &h, e);
  if (!err) {
    if (start)
      *start = s;
    if (high)
      *high = h;
  }
  return err;
}

/* Checks n records for topic and resolves each one's partition into
 * parts[i] (see the file comment). */
static beck_err_t resolve_partitions(beck_client_t *c, const char *topic, const beck_client_record_t *recs, int n,
                                     int32_t *parts, beck_error_t *e) {
  int32_t np = 0, max_explicit = -1;
  for (int i = 0; i < n; i++)
    if (recs[i].partition > max_explicit)
      max_explicit = recs[i].partition;
  /* a cached count may be stale when a record names a partition beyond it */
  beck_err_t err;
  if ((err = c->ops->partitions(c, topic, false, &np, e)) ||
      (max_explicit >= np && (err = c->ops->partitions(c, topic, true, &np, e))))
    return beck_error_wrap(e, "produce to '%s'", topic);
  int32_t sticky = -1;
  for (int i = 0; i < n && !err; i++) {
    const beck_client_record_t *r = &recs[i];
    if (r->nheaders < 0 || (r->nheaders > 0 && r->headers == NULL))
      err = beck_error_set(e, BECK_ERR_INVAL, "produce to '%s': record %d has a bad header list", topic, i);
    else if (r->timestamp < -1)
      err = beck_error_set(e, BECK_ERR_INVAL, "produce to '%s': record %d has timestamp %lld", topic, i,
                           (long long)r->timestamp);
    else if (r->partition >= 0) {
      if (r->partition >= np)
        err = beck_error_set(e, BECK_ERR_NOTFOUND, "produce to '%s': partition %d does not exist (%d partitions)",
                             topic, r->partition, np);
      parts[i] = r->partition;
    } else if (r->partition != BECK_CLIENT_PARTITION_ANY) {
      err = beck_error_set(e, BECK_ERR_INVAL, "produce to '%s': record %d has partition %d", topic, i, r->partition);
    } else if (r->key.len >= 0) {
      parts[i] = beck_client_partition_for_key(r->key.ptr, (size_t)r->key.len, np);
    } else {
      if (sticky < 0)
        sticky = (int32_t)(atomic_fetch_add(&c->sticky, 1) % (unsigned)np);
      parts[i] = sticky;
    }
  }
  return err;
}

beck_err_t beck_client_produce(beck_client_t *c, const char *topic, const beck_client_record_t *recs, int n,
                               int64_t *offsets, int32_t *partitions, beck_error_t *e) {
  beck_err_t err = check_topic(topic, e);
  if (err)
    return err;
  if (n < 0 || (n > 0 && recs == NULL))
    return beck_error_set(e, BECK_ERR_INVAL, "produce to '%s': bad record list", topic);
  if (n == 0)
    return BECK_ERR_OK;
  int32_t stack_parts[64];
  int32_t *parts = partitions;
  if (parts == NULL)
    parts = n <= 64 ? stack_parts : beck_malloc(sizeof *parts * (size_t)n);
  if (parts == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "produce to '%s': out of memory", topic);
  err = resolve_partitions(c, topic, recs, n, parts, e);
  if (!err)
    err = c->ops->produce(c, topic, recs, n, parts, offsets, e);
  if (parts != partitions && parts != stack_parts)
    beck_free(parts);
  return err;
}

beck_err_t beck_client_fetch(beck_client_t *c, const char *topic, int32_t partition, int64_t offset, size_t max_bytes,
                             int timeout_ms, beck_client_record_cb cb, void *arg, int64_t *next_offset,
                             beck_error_t *e) {
  beck_err_t err = check_topic(topic, e);
  if (err)
    return err;
  if (partition < 0 || offset < 0 || cb == NULL)
    return beck_error_set(e, BECK_ERR_INVAL, "fetch %s-%d at %lld: bad arguments", topic, partition, (long long)offset);
  if (timeout_ms < 0)
    timeout_ms = 0;
  if (max_bytes == 0)
    max_bytes = 1;
  int64_t next = offset;
  err = c->ops->fetch(c, topic, partition, offset, max_bytes, timeout_ms, cb, arg, &next, e);
  if (next_offset)
    *next_offset = next;
  return err;
}

static beck_err_t check_group(const char *group, const char *topic, int32_t partition, beck_error_t *e) {
  if (group == NULL || group[0] == '\0')
    return beck_error_set(e, BECK_ERR_INVAL, "group id is empty");
  beck_err_t err = check_topic(topic, e);
  if (err)
    return err;
  if (partition < 0)
    return beck_error_set(e, BECK_ERR_INVAL, "group '%s': partition %d is negative", group, partition);
  return BECK_ERR_OK;
}

beck_err_t beck_client_commit(beck_client_t *c, const char *group, const char *topic, int32_t partition, int64_t offset,
                              beck_error_t *e) {
  beck_err_t err = check_group(group, topic, partition, e);
  if (err)
    return err;
  if (offset < 0)
    return beck_error_set(e, BECK_ERR_INVAL, "group '%s': commit of %s-%d at negative offset %lld", group, topic,
                          partition, (long long)offset);
  return c->ops->commit(c, group, topic, partition, offset, e);
}

beck_err_t beck_client_committed(beck_client_t *c, const char *group, const char *topic, int32_t partition,
                                 int64_t *offset, beck_error_t *e) {
  beck_err_t err = check_group(group, topic, partition, e);
  if (err)
    return err;
  int64_t off = -1;
  err = c->ops->committed(c, group, topic, partition, &off, e);
  if (!err && offset)
    *offset = off;
  return err;
}

/* ---- transactions -------------------------------------------------------- */

beck_err_t beck_client_txn_new(beck_client_t *c, beck_client_txn_t **out, beck_error_t *e) {
  *out = NULL;
  if (c->ops->txn_new == NULL)
    return beck_error_set(e, BECK_ERR_UNSUPPORTED, "%s client: transactions are not supported", c->ops->kind);
  return c->ops->txn_new(c, out, e);
}

void beck_client_txn_destroy(beck_client_txn_t *tx) {
  if (tx)
    tx->c->ops->txn_destroy(tx);
}

beck_err_t beck_client_txn_produce(beck_client_txn_t *tx, const char *topic, const beck_client_record_t *recs, int n,
                                   int32_t *partitions, beck_error_t *e) {
  beck_client_t *c = tx->c;
  beck_err_t err = check_topic(topic, e);
  if (err)
    return err;
  if (n < 0 || (n > 0 && recs == NULL))
    return beck_error_set(e, BECK_ERR_INVAL, "produce to '%s': bad record list", topic);
  if (n == 0)
    return BECK_ERR_OK;
  int32_t stack_parts[64];
  int32_t *parts = partitions;
  if (parts == NULL)
    parts = n <= 64 ? stack_parts : beck_malloc(sizeof *parts * (size_t)n);
  if (parts == NULL)
    return beck_error_set(e, BECK_ERR_NOMEM, "produce to '%s': out of memory", topic);
  err = resolve_partitions(c, topic, recs, n, parts, e);
  if (!err)
    err = c->ops->txn_produce(tx, topic, recs, n, parts, e);
  if (parts != partitions && parts != stack_parts)
    beck_free(parts);
  return err;
}

beck_err_t beck_client_txn_commit_offset(beck_client_txn_t *tx, const char *group, const char *topic, int32_t partition,
                                         int64_t offset, beck_error_t *e) {
  beck_err_t err = check_group(group, topic, partition, e);
  if (err)
    return err;
  if (offset < 0)
    return beck_error_set(e, BECK_ERR_INVAL, "group '%s': commit of %s-%d at negative offset %lld", group, topic,
                          partition, (long long)offset);
  return tx->c->ops->txn_commit_offset(tx, group, topic, partition, offset, e);
}

beck_err_t beck_client_txn_commit(beck_client_txn_t *tx, beck_error_t *e) { return tx->c->ops->txn_commit(tx, e); }

void beck_client_txn_abort(beck_client_txn_t *tx) { tx->c->ops->txn_abort(tx); }

int64_t beck_client_txn_next_offset(const beck_client_txn_t *tx, const char *topic, int32_t partition) {
  if (topic == NULL)
    return -1;
  return tx->c->ops->txn_next_offset(tx, topic, partition);
}
