/*
 * retry.c - exponential backoff for retriable failures.
 *
 * The n-th retry (n = 0, 1, ...) waits initial * 2^n, capped at max, plus up
 * to 20% jitter so tasks failing together do not retry in lockstep; retrying
 * stops once timeout has passed since the first failure of the current run
 * of failures (a success resets it: beck__retry_reset). timeout 0 means no
 * retries at all, as errors.retry.timeout=0 does in Kafka Connect.
 */
#include "worker_int.h"

void beck__retry_reset(beck__retry_t *r) {
  r->first_ms = 0;
  r->attempts = 0;
}

int64_t beck__retry_next(beck__retry_t *r, const beck__retry_policy_t *p, int64_t now_ms) {
  if (r->first_ms == 0)
    r->first_ms = now_ms ? now_ms : 1;
  if (p->timeout_ms <= 0)
    return -1;
  int64_t deadline = r->first_ms + p->timeout_ms;
  if (now_ms >= deadline)
    return -1;
  int64_t d = p->initial_ms > 0 ? p->initial_ms : 1;
  for (uint32_t k = 0; k < r->attempts && d < p->max_ms; k++)
    d *= 2;
  if (d > p->max_ms)
    d = p->max_ms;
  /* xorshift jitter, seeded per retry object */
  if (r->rng == 0)
    r->rng = (uint64_t)now_ms * 0x9e3779b97f4a7c15ull + (uint64_t)(uintptr_t)r;
  r->rng ^= r->rng << 13;
  r->rng ^= r->rng >> 7;
  r->rng ^= r->rng << 17;
  d += (int64_t)(r->rng % (uint64_t)(d / 5 + 1));
  if (now_ms + d > deadline)
    d = deadline - now_ms;
  r->attempts++;
  return d;
}
