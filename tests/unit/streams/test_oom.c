/* test_oom.c - streams/: every allocation failure is reported as an error
 * (BECK_ERR_NOMEM) with nothing leaked or corrupted: the topology builder,
 * the driver, tasks, operators, stores and the in-memory log are run with
 * the Nth allocation failing, for every N until the run needs no more. Run
 * under ASan (BECK_SANITIZE) to catch leaks and bad frees. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <string.h>

#include "base/alloc.h"
#include "beck/streams.h"
#include "streams_test.h"

static beck_err_t pair(void *ud, beck_sctx_t *ctx, const beck_srec_t *l, const beck_srec_t *r, beck_nstr_t *out) {
  *out = l->value.len >= 0 ? l->value : r->value;
  return BECK_ERR_OK;
}

/* One attempt; returns true when it ran to the end without an error. */
static bool attempt(long fail_after) {
  beck_alloc_fail_after(fail_after);
  bool ok = false;
  beck_test_driver_t *d = NULL;
  beck_topology_t *t = beck_topology_new("oom");
  if (t == NULL)
    goto out;
  beck_stream_t *in = beck_topology_stream(t, "in", "input", NULL);
  beck_stream_t *g = beck_stream_group_by_key(in, "g");
  beck_stream_to(beck_stream_to_stream(beck_stream_count(g, "count", NULL), "c-s"), "c-out", "counts", NULL);
  beck_window_spec_t w = {.kind = BECK_WINDOW_SESSION, .gap_ms = 10, .emit = BECK_EMIT_FINAL};
  beck_stream_to(beck_stream_to_stream(beck_stream_sum(beck_stream_window(g, "w", &w), "sum", NULL), "s-s"), "s-out",
                 "sums", NULL);
  beck_window_spec_t h = {.kind = BECK_WINDOW_HOPPING, .size_ms = 10, .advance_ms = 5, .emit = BECK_EMIT_FINAL};
  beck_stream_to(beck_stream_to_stream(beck_stream_count(beck_stream_window(g, "h", &h), "hops", NULL), "h-s"), "h-out",
                 "hops", NULL);
  beck_join_opts_t jo = {.kind = BECK_JOIN_OUTER, .before_ms = 5, .after_ms = 5};
  beck_stream_to(beck_stream_join(in, beck_topology_stream(t, "other", "other", NULL), "j", pair, NULL, &jo), "j-out",
                 "joined", NULL);
  if (beck_topology_error(t)->code != BECK_ERR_OK) {
    assert_int_equal(beck_topology_error(t)->code, BECK_ERR_NOMEM);
    goto out;
  }
  beck_test_driver_config_t cfg = {0};
  beck_error_t e;
  beck_error_clear(&e);
  beck_err_t rc = beck_test_driver_new(t, &cfg, &d, &e);
  if (rc == BECK_ERR_OK) {
    beck_srec_t recs[] = {R("a", "1", 1), R("b", "2", 2), R("a", "3", 30), R("a", "4", 31)};
    rc = beck_test_driver_pipe(d, "input", recs, 4, &e);
    if (rc == BECK_ERR_OK)
      rc = st_pipe(d, "other", "a", "x", 29, &e);
    if (rc == BECK_ERR_OK)
      rc = beck_test_driver_advance(d, 1000, &e);
    if (rc == BECK_ERR_OK)
      rc = beck_test_driver_restart(d, BECK_RESTART_CRASH, &e);
  }
  if (rc != BECK_ERR_OK) {
    if (rc != BECK_ERR_NOMEM)
      fail_msg("fail_after %ld: %s (%s)", fail_after, e.msg, beck_err_name(rc));
    goto out;
  }
  ok = true;
out:
  beck_alloc_fail_after(-1);
  if (ok) {
    assert_string_equal(st_drain(d, "counts"), "a:1@1\nb:1@2\na:2@30\na:3@31\n");
    assert_string_equal(st_drain_fmt(d, "sums", ST_KEY_SESSION_WINDOW), "a[1,1]:1@1\nb[2,2]:2@2\na[30,31]:7@31\n");
    assert_string_equal(st_drain_fmt(d, "hops", ST_KEY_TIME_WINDOW), "a[0]:1@1\nb[0]:1@2\na[25]:2@31\na[30]:2@31\n");
  }
  beck_test_driver_destroy(d);
  beck_topology_destroy(t);
  return ok;
}

static void every_allocation_failure_is_an_error_and_leaks_nothing(void **state) {
  long n = 0;
  while (!attempt(n))
    n++;
  printf("# succeeded once allocation %ld and later ones could succeed\n", n);
  assert_true(n > 50); /* the run does allocate; every failure point was tried */
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(every_allocation_failure_is_an_error_and_leaks_nothing),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
