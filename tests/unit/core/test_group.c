/* test_group.c - core/group: scripted consumer-group scenarios with simulated
 * time (now_ms passed in, a fake wall clock and random source), checked
 * against Kafka's classic GroupCoordinator semantics. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <sqlite3.h>

#include "base/alloc.h"
#include "base/logging.h"
#include "group/group.h"
#include "meta/meta.h"
#include "tmpdir.h"

/* ---- fixture: a metadata store in a temp dir, a fake env ---- */

static int64_t fake_wall = 1700000000000LL;
static uint64_t fake_seed = 42;

static int64_t fake_now_ms(beck_env_t *env) {
  (void)env;
  return fake_wall;
}

static uint64_t fake_random(beck_env_t *env) { /* splitmix64 */
  (void)env;
  uint64_t z = (fake_seed += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

static beck_env_t fake_env;

typedef struct {
  char *dir;
  char path[600];
  beck_meta_t *meta;
  beck_gc_t *gc;
  beck_gc_config_t cfg;
} fx_t;

static void fx_open_gc(fx_t *f, int64_t now) {
  beck_error_t e;
  assert_int_equal(beck_gc_new(f->meta, &f->cfg, now, &f->gc, &e), 0);
}

static int setup(void **state) {
  fx_t *f = calloc(1, sizeof *f);
  fake_env = *beck_env_default();
  fake_env.now_ms = fake_now_ms;
  fake_env.random = fake_random;
  fake_wall = 1700000000000LL;
  f->dir = beck_test_tmpdir("group");
  snprintf(f->path, sizeof f->path, "%s/meta.db", f->dir);
  beck_error_t e;
  assert_int_equal(beck_meta_open(f->path, &f->meta, &e), 0);
  beck_gc_config_init(&f->cfg);
  f->cfg.env = &fake_env;
  fx_open_gc(f, 0);
  *state = f;
  return 0;
}

static int teardown(void **state) {
  fx_t *f = *state;
  beck_gc_destroy(f->gc);
  beck_meta_close(f->meta);
  beck_test_rmdir(f->dir);
  free(f);
  return 0;
}

/* Simulates a broker restart: coordinator and store closed and reopened. */
static void fx_restart(fx_t *f, int64_t now) {
  beck_gc_destroy(f->gc);
  beck_meta_close(f->meta);
  beck_error_t e;
  assert_int_equal(beck_meta_open(f->path, &f->meta, &e), 0);
  fx_open_gc(f, now);
}

/* ---- JoinGroup / SyncGroup helpers ---- */

typedef struct {
  int calls;
  int16_t error;
  int32_t gen;
  char member_id[128], leader[128], proto[64], ptype[64];
  int nmembers;
  char mid[8][128];
  char inst[8][64];
  int inst_null[8];
  char meta[8][64];
} jout_t;

static void copy_str(char *dst, size_t cap, const char *s) { snprintf(dst, cap, "%s", s ? s : "(null)"); }

static void on_join(void *arg, const beck_gc_join_result_t *r) {
  jout_t *o = arg;
  o->calls++;
  o->error = r->error;
  o->gen = r->generation_id;
  copy_str(o->member_id, sizeof o->member_id, r->member_id);
  copy_str(o->leader, sizeof o->leader, r->leader_id);
  copy_str(o->proto, sizeof o->proto, r->protocol_name);
  copy_str(o->ptype, sizeof o->ptype, r->protocol_type);
  o->nmembers = r->nmembers;
  assert_true(r->nmembers <= 8);
  assert_true((r->members == NULL) == (r->nmembers == 0));
  for (int i = 0; i < r->nmembers; i++) {
    copy_str(o->mid[i], sizeof o->mid[i], r->members[i].member_id);
    o->inst_null[i] = r->members[i].group_instance_id == NULL;
    copy_str(o->inst[i], sizeof o->inst[i], r->members[i].group_instance_id);
    snprintf(o->meta[i], sizeof o->meta[i], "%.*s", (int)r->members[i].metadata.len,
             (const char *)r->members[i].metadata.ptr);
  }
}

typedef struct {
  const char *group, *member, *instance, *client, *ptype;
  int16_t version;
  int32_t session, rebalance;
  const char *pnames[3];
  const char *pmeta[3];
  int np;
} jargs_t;

static jargs_t ja(const char *group, const char *member, int16_t version, const char *meta) {
  jargs_t a;
  memset(&a, 0, sizeof a);
  a.group = group;
  a.member = member;
  a.client = "cli";
  a.ptype = "consumer";
  a.version = version;
  a.session = 10000;
  a.rebalance = 30000;
  a.pnames[0] = "range";
  a.pmeta[0] = meta;
  a.np = 1;
  return a;
}

static void do_join(fx_t *f, jargs_t a, int64_t now, jout_t *o) {
  beck_gc_protocol_t p[3];
  for (int i = 0; i < a.np; i++) {
    p[i].name = a.pnames[i];
    p[i].metadata = beck_slice_cstr(a.pmeta[i] ? a.pmeta[i] : "");
  }
  beck_gc_join_req_t req = {
      .group_id = a.group,
      .member_id = a.member,
      .group_instance_id = a.instance,
      .client_id = a.client,
      .client_host = "/127.0.0.1",
      .session_timeout_ms = a.session,
      .rebalance_timeout_ms = a.rebalance,
      .protocol_type = a.ptype,
      .protocols = p,
      .nprotocols = a.np,
      .api_version = a.version,
  };
  memset(o, 0, sizeof *o);
  beck_gc_join(f->gc, &req, now, on_join, o);
}

typedef struct {
  int calls;
  int16_t error;
  char assignment[128];
  uint8_t raw[128];
  size_t len;
  char pname[64];
} sout_t;

static void on_sync(void *arg, const beck_gc_sync_result_t *r) {
  sout_t *o = arg;
  o->calls++;
  o->error = r->error;
  snprintf(o->assignment, sizeof o->assignment, "%.*s", (int)r->assignment.len, (const char *)r->assignment.ptr);
  assert_true(r->assignment.len <= sizeof o->raw);
  o->len = r->assignment.len;
  if (o->len)
    memcpy(o->raw, r->assignment.ptr, o->len);
  copy_str(o->pname, sizeof o->pname, r->protocol_name);
}

/* SyncGroup; ids/bytes are n parallel (member id, assignment) pairs. */
static void do_sync(fx_t *f, const char *group, int32_t gen, const char *member, const char *const *ids,
                    const char *const *bytes, int n, int64_t now, sout_t *o) {
  beck_gc_assignment_t as[8];
  for (int i = 0; i < n; i++) {
    as[i].member_id = ids[i];
    as[i].assignment = beck_slice_cstr(bytes[i]);
  }
  beck_gc_sync_req_t req = {
      .group_id = group, .generation_id = gen, .member_id = member, .assignments = as, .nassignments = n};
  memset(o, 0, sizeof *o);
  beck_gc_sync(f->gc, &req, now, on_sync, o);
}

static int16_t hb(fx_t *f, const char *group, int32_t gen, const char *member, int64_t now) {
  return beck_gc_heartbeat(f->gc, group, gen, member, NULL, now);
}

static int16_t leave1(fx_t *f, const char *group, const char *member, int64_t now) {
  beck_gc_member_id_t m = {member, NULL};
  int16_t err = -1;
  assert_int_equal(beck_gc_leave(f->gc, group, &m, 1, &err, now), 0);
  return err;
}

static const char *state(fx_t *f, const char *group) { return beck_gc_group_state(f->gc, group); }

/* A Stable two-member group: A and B join (v2) at t0, the initial delay is
 * extended once because B arrived during it, so the join completes at t0+6000;
 * both sync with assignments "pa" / "pb". */
static void stable2(fx_t *f, const char *group, int32_t session, int32_t rebalance, int64_t t0, char *a_id,
                    char *b_id) {
  jout_t a, b;
  jargs_t ra = ja(group, "", 2, "subA"), rb = ja(group, "", 2, "subB");
  ra.session = rb.session = session;
  ra.rebalance = rb.rebalance = rebalance;
  do_join(f, ra, t0, &a);
  do_join(f, rb, t0, &b);
  beck_gc_tick(f->gc, t0 + 5999);
  assert_int_equal(a.calls + b.calls, 0);
  beck_gc_tick(f->gc, t0 + 6000);
  assert_int_equal(a.calls, 1);
  assert_int_equal(b.calls, 1);
  assert_int_equal(a.error, 0);
  assert_int_equal(a.gen, 1);
  assert_string_equal(a.leader, a.member_id);
  strcpy(a_id, a.member_id);
  strcpy(b_id, b.member_id);
  sout_t sa, sb;
  do_sync(f, group, 1, b_id, NULL, NULL, 0, t0 + 6000, &sb);
  const char *ids[] = {a_id, b_id};
  const char *bytes[] = {"pa", "pb"};
  do_sync(f, group, 1, a_id, ids, bytes, 2, t0 + 6000, &sa);
  assert_int_equal(sa.calls, 1);
  assert_int_equal(sb.calls, 1);
  assert_string_equal(sa.assignment, "pa");
  assert_string_equal(sb.assignment, "pb");
  assert_string_equal(state(f, group), "Stable");
}

/* ---- JoinGroup ---- */

static void join_v5_new_member_gets_member_id_required_then_generation_1(void **state_) {
  fx_t *f = *state_;
  jout_t o;
  do_join(f, ja("g", "", 5, "subA"), 0, &o);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.error, BECK_KERR_MEMBER_ID_REQUIRED);
  assert_int_equal(o.gen, -1);
  /* "<client_id>-<uuid4>" */
  assert_int_equal(strlen(o.member_id), strlen("cli-") + 36);
  assert_memory_equal(o.member_id, "cli-", 4);
  assert_int_equal(o.member_id[4 + 8], '-');
  assert_int_equal(o.member_id[4 + 14], '4');
  assert_string_equal(state(f, "g"), "Empty");

  char id[128];
  strcpy(id, o.member_id);
  do_join(f, ja("g", id, 5, "subA"), 10, &o);
  assert_int_equal(o.calls, 0);
  assert_string_equal(state(f, "g"), "PreparingRebalance");
  beck_gc_tick(f->gc, 3009); /* initial rebalance delay: 3000 ms after the first member */
  assert_int_equal(o.calls, 0);
  beck_gc_tick(f->gc, 3010);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.error, 0);
  assert_int_equal(o.gen, 1);
  assert_string_equal(o.member_id, id);
  assert_string_equal(o.leader, id);
  assert_string_equal(o.proto, "range");
  assert_string_equal(o.ptype, "consumer");
  assert_int_equal(o.nmembers, 1);
  assert_string_equal(o.mid[0], id);
  assert_true(o.inst_null[0]);
  assert_string_equal(o.meta[0], "subA");
  assert_string_equal(state(f, "g"), "CompletingRebalance");

  sout_t s;
  const char *ids[] = {id};
  const char *bytes[] = {"asgA"};
  do_sync(f, "g", 1, id, ids, bytes, 1, 3100, &s);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.error, 0);
  assert_string_equal(s.assignment, "asgA");
  assert_string_equal(s.pname, "range");
  assert_string_equal(state(f, "g"), "Stable");
  assert_int_equal(hb(f, "g", 1, id, 3200), 0);
}

static void join_v2_new_member_is_added_at_once_with_generated_id(void **state_) {
  fx_t *f = *state_;
  jout_t o;
  do_join(f, ja("g", "", 2, "subA"), 0, &o);
  assert_int_equal(o.calls, 0); /* no MEMBER_ID_REQUIRED below v4 */
  beck_gc_tick(f->gc, 2999);
  assert_int_equal(o.calls, 0);
  beck_gc_tick(f->gc, 3000);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.error, 0);
  assert_int_equal(o.gen, 1);
  assert_memory_equal(o.member_id, "cli-", 4); /* the generated id, not "" */
  assert_string_equal(o.leader, o.member_id);
}

static void two_members_join_leader_gets_both_and_sync_hands_out_exact_bytes(void **state_) {
  fx_t *f = *state_;
  jout_t a, b;
  do_join(f, ja("g", "", 2, "subA"), 0, &a);
  do_join(f, ja("g", "", 2, "subB"), 1000, &b);
  /* B arrived during the initial delay: it is extended once by 3000 ms. */
  beck_gc_tick(f->gc, 3000);
  beck_gc_tick(f->gc, 5999);
  assert_int_equal(a.calls + b.calls, 0);
  beck_gc_tick(f->gc, 6000);
  assert_int_equal(a.calls, 1);
  assert_int_equal(b.calls, 1);
  assert_int_equal(a.gen, 1);
  assert_int_equal(b.gen, 1);
  assert_string_equal(a.leader, a.member_id);
  assert_string_equal(b.leader, a.member_id);
  assert_int_equal(a.nmembers, 2);
  assert_string_equal(a.mid[0], a.member_id);
  assert_string_equal(a.meta[0], "subA");
  assert_string_equal(a.mid[1], b.member_id);
  assert_string_equal(a.meta[1], "subB");
  assert_int_equal(b.nmembers, 0);

  sout_t sa, sb;
  do_sync(f, "g", 1, b.member_id, NULL, NULL, 0, 6100, &sb);
  assert_int_equal(sb.calls, 0); /* waits for the leader */
  assert_int_equal(hb(f, "g", 1, b.member_id, 6150), 0);
  /* Assignments are opaque bytes (NULs included); entries for strangers are ignored. */
  beck_gc_assignment_t as[3] = {{b.member_id, beck_slice("\x00\x01pb", 4)},
                                {"stranger", beck_slice("junk", 4)},
                                {a.member_id, beck_slice("pa-bytes", 8)}};
  beck_gc_sync_req_t req = {
      .group_id = "g", .generation_id = 1, .member_id = a.member_id, .assignments = as, .nassignments = 3};
  memset(&sa, 0, sizeof sa);
  beck_gc_sync(f->gc, &req, 6200, on_sync, &sa);
  assert_int_equal(sa.calls, 1);
  assert_int_equal(sb.calls, 1);
  assert_int_equal(sa.error, 0);
  assert_int_equal(sb.error, 0);
  assert_string_equal(sa.assignment, "pa-bytes");
  assert_int_equal(sb.len, 4);
  assert_memory_equal(sb.raw, "\x00\x01pb", 4);
  assert_string_equal(state(f, "g"), "Stable");
}

static void sync_assignment_bytes_are_exact_and_missing_members_get_empty(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  jout_t ja_, jb;
  do_join(f, ja("g", "", 2, "subA"), 0, &ja_);
  do_join(f, ja("g", "", 2, "subB"), 0, &jb);
  beck_gc_tick(f->gc, 6000);
  strcpy(a, ja_.member_id);
  strcpy(b, jb.member_id);
  sout_t sa, sb;
  do_sync(f, "g", 1, b, NULL, NULL, 0, 6000, &sb);
  const char *ids[] = {a};
  const char *bytes[] = {"only-a"};
  do_sync(f, "g", 1, a, ids, bytes, 1, 6000, &sa);
  assert_string_equal(sa.assignment, "only-a");
  assert_int_equal(sb.calls, 1);
  assert_int_equal(sb.error, 0);
  assert_string_equal(sb.assignment, "");
}

static void third_member_joining_stable_group_rebalances_to_generation_2(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  jout_t c, ra, rb;
  do_join(f, ja("g", "", 2, "subC"), 6100, &c);
  assert_int_equal(c.calls, 0);
  assert_string_equal(state(f, "g"), "PreparingRebalance");
  assert_int_equal(hb(f, "g", 1, a, 6200), BECK_KERR_REBALANCE_IN_PROGRESS);
  assert_int_equal(hb(f, "g", 1, b, 6200), BECK_KERR_REBALANCE_IN_PROGRESS);
  do_join(f, ja("g", a, 5, "subA"), 6300, &ra);
  assert_int_equal(ra.calls, 0);
  do_join(f, ja("g", b, 5, "subB"), 6400, &rb); /* the last one completes the phase */
  assert_int_equal(ra.calls, 1);
  assert_int_equal(rb.calls, 1);
  assert_int_equal(c.calls, 1);
  assert_int_equal(ra.gen, 2);
  assert_int_equal(rb.gen, 2);
  assert_int_equal(c.gen, 2);
  assert_string_equal(ra.leader, a); /* the leader rejoined, so it stays */
  assert_string_equal(c.leader, a);
  assert_int_equal(ra.nmembers, 3);
  assert_string_equal(ra.mid[0], a);
  assert_string_equal(ra.mid[1], b);
  assert_string_equal(ra.mid[2], c.member_id);
  assert_string_equal(ra.meta[2], "subC");
  assert_int_equal(rb.nmembers, 0);
  assert_int_equal(c.nmembers, 0);
  assert_string_equal(state(f, "g"), "CompletingRebalance");
  assert_int_equal(hb(f, "g", 1, a, 6500), BECK_KERR_ILLEGAL_GENERATION);
  assert_int_equal(hb(f, "g", 2, a, 6500), 0);
}

static void follower_rejoining_stable_with_same_metadata_keeps_generation(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  jout_t o;
  do_join(f, ja("g", b, 5, "subB"), 7000, &o);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.error, 0);
  assert_int_equal(o.gen, 1);
  assert_string_equal(o.leader, a);
  assert_int_equal(o.nmembers, 0);
  assert_string_equal(state(f, "g"), "Stable");
  sout_t s;
  do_sync(f, "g", 1, b, NULL, NULL, 0, 7000, &s);
  assert_int_equal(s.calls, 1);
  assert_string_equal(s.assignment, "pb");

  /* Changed metadata rebalances; so does the leader rejoining. */
  do_join(f, ja("g", b, 5, "subB2"), 7100, &o);
  assert_int_equal(o.calls, 0);
  assert_string_equal(state(f, "g"), "PreparingRebalance");

  char a2[128], b2[128];
  stable2(f, "h", 10000, 30000, 0, a2, b2);
  do_join(f, ja("h", a2, 5, "subA"), 7000, &o);
  assert_int_equal(o.calls, 0);
  assert_string_equal(state(f, "h"), "PreparingRebalance");
}

static void superseded_parked_join_is_answered_rebalance_in_progress(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  jout_t o1, o2, ob;
  do_join(f, ja("g", a, 5, "subA"), 7000, &o1);
  assert_int_equal(o1.calls, 0);
  do_join(f, ja("g", a, 5, "subA"), 7100, &o2);
  assert_int_equal(o1.calls, 1);
  assert_int_equal(o1.error, BECK_KERR_REBALANCE_IN_PROGRESS);
  assert_int_equal(o2.calls, 0);
  do_join(f, ja("g", b, 5, "subB"), 7200, &ob);
  assert_int_equal(o1.calls, 1);
  assert_int_equal(o2.calls, 1);
  assert_int_equal(o2.gen, 2);
  assert_int_equal(ob.gen, 2);
}

static void leave_triggers_rebalance_and_batch_leave_reports_per_member(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  assert_int_equal(leave1(f, "g", b, 7000), 0);
  assert_string_equal(state(f, "g"), "PreparingRebalance");
  assert_int_equal(hb(f, "g", 1, a, 7100), BECK_KERR_REBALANCE_IN_PROGRESS);
  assert_int_equal(hb(f, "g", 1, b, 7100), BECK_KERR_UNKNOWN_MEMBER_ID);
  jout_t o;
  do_join(f, ja("g", a, 5, "subA"), 7200, &o);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.gen, 2);
  assert_int_equal(o.nmembers, 1);
  assert_string_equal(o.mid[0], a);

  beck_gc_member_id_t ms[2] = {{a, NULL}, {"nobody", NULL}};
  int16_t errs[2] = {-1, -1};
  assert_int_equal(beck_gc_leave(f->gc, "g", ms, 2, errs, 7300), 0);
  assert_int_equal(errs[0], 0);
  assert_int_equal(errs[1], BECK_KERR_UNKNOWN_MEMBER_ID);
  /* Nobody left: the join phase ends at once with an empty group. */
  assert_string_equal(state(f, "g"), "Empty");
  assert_int_equal(leave1(f, "nosuchgroup", a, 7400), BECK_KERR_UNKNOWN_MEMBER_ID);
  beck_gc_member_id_t m = {a, NULL};
  int16_t err;
  assert_int_equal(beck_gc_leave(f->gc, "", &m, 1, &err, 7400), BECK_KERR_INVALID_GROUP_ID);

  /* The generation went up for the empty join phase: the next one is 4. */
  do_join(f, ja("g", "", 2, "subA"), 8000, &o);
  beck_gc_tick(f->gc, 11000);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.gen, 4);
}

static void session_expiry_removes_member_and_rebalances(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b); /* both sessions run from 6000 */
  assert_int_equal(hb(f, "g", 1, a, 11000), 0);
  beck_gc_tick(f->gc, 15999);
  assert_string_equal(state(f, "g"), "Stable");
  beck_gc_tick(f->gc, 16000);
  assert_string_equal(state(f, "g"), "PreparingRebalance");
  assert_int_equal(hb(f, "g", 1, b, 16050), BECK_KERR_UNKNOWN_MEMBER_ID);
  assert_int_equal(hb(f, "g", 1, a, 16100), BECK_KERR_REBALANCE_IN_PROGRESS);
  jout_t o;
  do_join(f, ja("g", a, 5, "subA"), 16200, &o);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.gen, 2);
  assert_int_equal(o.nmembers, 1);
  assert_string_equal(o.mid[0], a);
}

static void rebalance_timeout_removes_member_that_does_not_rejoin(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 30000, 20000, 0, a, b);
  jout_t c, ra;
  jargs_t rc = ja("g", "", 2, "subC");
  rc.session = 30000;
  rc.rebalance = 20000;
  do_join(f, rc, 7000, &c); /* join phase deadline: 7000 + 20000 */
  jargs_t r = ja("g", a, 5, "subA");
  r.session = 30000;
  r.rebalance = 20000;
  do_join(f, r, 7100, &ra);
  assert_int_equal(hb(f, "g", 1, b, 10000), BECK_KERR_REBALANCE_IN_PROGRESS); /* B keeps its session, never rejoins */
  beck_gc_tick(f->gc, 26999);
  assert_int_equal(ra.calls + c.calls, 0);
  beck_gc_tick(f->gc, 27000);
  assert_int_equal(ra.calls, 1);
  assert_int_equal(c.calls, 1);
  assert_int_equal(ra.gen, 2);
  assert_string_equal(ra.leader, a);
  assert_int_equal(ra.nmembers, 2);
  assert_string_equal(ra.mid[0], a);
  assert_string_equal(ra.mid[1], c.member_id);
  assert_int_equal(hb(f, "g", 1, b, 27100), BECK_KERR_UNKNOWN_MEMBER_ID);
}

static void join_v0_uses_session_timeout_as_rebalance_timeout(void **state_) {
  fx_t *f = *state_;
  jout_t a, b, c, ra;
  jargs_t r = ja("g", "", 0, "subA");
  r.session = 6000;
  r.rebalance = -1;
  do_join(f, r, 0, &a);
  r.pmeta[0] = "subB";
  do_join(f, r, 0, &b);
  /* initial delay 3000 ms, extended once (remaining 6000-3000 = 3000): 6000 */
  beck_gc_tick(f->gc, 6000);
  assert_int_equal(a.gen, 1);
  sout_t sa, sb;
  do_sync(f, "g", 1, b.member_id, NULL, NULL, 0, 6000, &sb);
  const char *ids[] = {a.member_id};
  const char *bytes[] = {"x"};
  do_sync(f, "g", 1, a.member_id, ids, bytes, 1, 6000, &sa);
  assert_string_equal(state(f, "g"), "Stable");
  r.pmeta[0] = "subC";
  do_join(f, r, 7000, &c); /* rebalance deadline 7000 + 6000 */
  jargs_t rr = ja("g", a.member_id, 0, "subA");
  rr.session = 6000;
  rr.rebalance = -1;
  do_join(f, rr, 7100, &ra);
  assert_int_equal(hb(f, "g", 1, b.member_id, 9000), BECK_KERR_REBALANCE_IN_PROGRESS);
  beck_gc_tick(f->gc, 12999);
  assert_int_equal(ra.calls, 0);
  beck_gc_tick(f->gc, 13000);
  assert_int_equal(ra.calls, 1);
  assert_int_equal(ra.gen, 2);
  assert_int_equal(ra.nmembers, 2);
}

static void inconsistent_protocol_is_rejected(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  jout_t o;
  jargs_t r = ja("g", "", 2, "x");
  r.pnames[0] = "roundrobin";
  do_join(f, r, 7000, &o);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.error, BECK_KERR_INCONSISTENT_GROUP_PROTOCOL);
  assert_int_equal(o.gen, -1);
  r = ja("g", "", 2, "x");
  r.ptype = "connect";
  do_join(f, r, 7000, &o);
  assert_int_equal(o.error, BECK_KERR_INCONSISTENT_GROUP_PROTOCOL);
  /* A known member switching to an unsupported protocol too. */
  r = ja("g", b, 5, "x");
  r.pnames[0] = "roundrobin";
  do_join(f, r, 7000, &o);
  assert_int_equal(o.error, BECK_KERR_INCONSISTENT_GROUP_PROTOCOL);
  assert_string_equal(state(f, "g"), "Stable");
  /* One protocol in common is enough. */
  r = ja("g", "", 2, "x");
  r.pnames[0] = "roundrobin";
  r.pnames[1] = "range";
  r.np = 2;
  do_join(f, r, 7000, &o);
  assert_int_equal(o.calls, 0);
  assert_string_equal(state(f, "g"), "PreparingRebalance");
  /* A new group needs a protocol type and at least one protocol; the
   * failed request leaves no group behind. */
  r = ja("new", "", 2, "x");
  r.ptype = "";
  do_join(f, r, 7000, &o);
  assert_int_equal(o.error, BECK_KERR_INCONSISTENT_GROUP_PROTOCOL);
  r = ja("new", "", 2, "x");
  r.np = 0;
  do_join(f, r, 7000, &o);
  assert_int_equal(o.error, BECK_KERR_INCONSISTENT_GROUP_PROTOCOL);
  assert_string_equal(state(f, "new"), "Dead");
}

static void protocol_is_chosen_by_majority_of_first_choices(void **state_) {
  fx_t *f = *state_;
  jout_t o[3];
  const char *first[3] = {"roundrobin", "range", "range"};
  const char *second[3] = {"range", "roundrobin", "roundrobin"};
  for (int i = 0; i < 3; i++) {
    jargs_t r = ja("g", "", 2, "m");
    r.pnames[0] = first[i];
    r.pnames[1] = second[i];
    r.pmeta[1] = "m2";
    r.np = 2;
    do_join(f, r, 0, &o[i]);
  }
  beck_gc_tick(f->gc, 9000);
  assert_int_equal(o[0].calls, 1);
  assert_string_equal(o[0].proto, "range");
  assert_string_equal(o[0].meta[0], "m2"); /* the leader sees each member's metadata for "range" */
  assert_string_equal(o[0].meta[1], "m");

  /* A tie goes to the leader's preference. */
  for (int i = 0; i < 2; i++) {
    jargs_t r = ja("h", "", 2, "m");
    r.pnames[0] = first[i];
    r.pnames[1] = second[i];
    r.np = 2;
    do_join(f, r, 10000, &o[i]);
  }
  beck_gc_tick(f->gc, 19000);
  assert_string_equal(o[0].proto, "roundrobin");
  assert_string_equal(o[1].proto, "roundrobin");
}

static void session_timeout_outside_bounds_is_rejected(void **state_) {
  fx_t *f = *state_;
  jout_t o;
  jargs_t r = ja("g", "", 5, "x");
  r.session = 5999;
  do_join(f, r, 0, &o);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.error, BECK_KERR_INVALID_SESSION_TIMEOUT);
  r.session = 1800001;
  do_join(f, r, 0, &o);
  assert_int_equal(o.error, BECK_KERR_INVALID_SESSION_TIMEOUT);
  r.session = 6000;
  do_join(f, r, 0, &o);
  assert_int_equal(o.error, BECK_KERR_MEMBER_ID_REQUIRED);
  r = ja("", "", 5, "x");
  do_join(f, r, 0, &o);
  assert_int_equal(o.error, BECK_KERR_INVALID_GROUP_ID);
}

static void wrong_generation_and_unknown_member_are_rejected(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  assert_int_equal(hb(f, "g", 7, a, 7000), BECK_KERR_ILLEGAL_GENERATION);
  assert_int_equal(hb(f, "g", 1, "stranger", 7000), BECK_KERR_UNKNOWN_MEMBER_ID);
  assert_int_equal(hb(f, "nosuch", 1, a, 7000), BECK_KERR_UNKNOWN_MEMBER_ID);
  assert_int_equal(hb(f, "", 1, a, 7000), BECK_KERR_INVALID_GROUP_ID);
  sout_t s;
  do_sync(f, "g", 2, a, NULL, NULL, 0, 7000, &s);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.error, BECK_KERR_ILLEGAL_GENERATION);
  assert_string_equal(s.assignment, "");
  do_sync(f, "g", 1, "stranger", NULL, NULL, 0, 7000, &s);
  assert_int_equal(s.error, BECK_KERR_UNKNOWN_MEMBER_ID);
  do_sync(f, "nosuch", 1, a, NULL, NULL, 0, 7000, &s);
  assert_int_equal(s.error, BECK_KERR_UNKNOWN_MEMBER_ID);
  beck_gc_sync_req_t req = {.group_id = "g", .generation_id = 1, .member_id = a, .protocol_name = "roundrobin"};
  memset(&s, 0, sizeof s);
  beck_gc_sync(f->gc, &req, 7000, on_sync, &s);
  assert_int_equal(s.error, BECK_KERR_INCONSISTENT_GROUP_PROTOCOL);
  jout_t o;
  do_join(f, ja("g", "stranger", 5, "subA"), 7000, &o);
  assert_int_equal(o.error, BECK_KERR_UNKNOWN_MEMBER_ID);
  assert_string_equal(o.member_id, "stranger");
  do_join(f, ja("nosuch", "stranger", 5, "subA"), 7000, &o);
  assert_int_equal(o.error, BECK_KERR_UNKNOWN_MEMBER_ID);
  assert_string_equal(state(f, "nosuch"), "Dead");
  beck_gc_offset_commit_t c = {"t", 0, 5, -1, NULL};
  int16_t err;
  assert_int_equal(beck_gc_commit(f->gc, "g", 2, a, NULL, &c, 1, &err, 7000), BECK_KERR_ILLEGAL_GENERATION);
  assert_int_equal(err, BECK_KERR_ILLEGAL_GENERATION);
  assert_int_equal(beck_gc_commit(f->gc, "g", 1, "stranger", NULL, &c, 1, &err, 7000), BECK_KERR_UNKNOWN_MEMBER_ID);
  assert_string_equal(state(f, "g"), "Stable");
}

static void sync_during_preparing_rebalance_gets_rebalance_in_progress(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  jout_t o;
  do_join(f, ja("g", a, 5, "subA"), 7000, &o);
  sout_t s;
  do_sync(f, "g", 1, b, NULL, NULL, 0, 7100, &s);
  assert_int_equal(s.calls, 1);
  assert_int_equal(s.error, BECK_KERR_REBALANCE_IN_PROGRESS);
}

/* ---- offsets ---- */

typedef struct {
  char text[1024];
} collect_t;

static int collect_offset(void *arg, const beck_gc_offset_t *o) {
  collect_t *c = arg;
  size_t l = strlen(c->text);
  snprintf(c->text + l, sizeof c->text - l, "%s/%d=%lld:%d:%s;", o->topic, o->partition, (long long)o->offset,
           o->leader_epoch, o->metadata);
  return 0;
}

static void commit_then_fetch_round_trips_offset_epoch_and_metadata(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  char big[4098];
  memset(big, 'x', 4097);
  big[4097] = '\0';
  beck_gc_offset_commit_t cs[3] = {{"t1", 0, 10, 3, "m0"}, {"t1", 1, 11, -1, NULL}, {"t0", 5, 7, -1, big}};
  int16_t errs[3] = {-1, -1, -1};
  assert_int_equal(beck_gc_commit(f->gc, "g", 1, a, NULL, cs, 3, errs, 7000), 0);
  assert_int_equal(errs[0], 0);
  assert_int_equal(errs[1], 0);
  assert_int_equal(errs[2], BECK_KERR_OFFSET_METADATA_TOO_LARGE);
  int64_t off;
  int32_t epoch;
  const char *md;
  assert_true(beck_gc_offset_get(f->gc, "g", "t1", 0, &off, &epoch, &md));
  assert_int_equal(off, 10);
  assert_int_equal(epoch, 3);
  assert_string_equal(md, "m0");
  assert_true(beck_gc_offset_get(f->gc, "g", "t1", 1, &off, &epoch, &md));
  assert_int_equal(off, 11);
  assert_int_equal(epoch, -1);
  assert_string_equal(md, "");
  assert_false(beck_gc_offset_get(f->gc, "g", "t0", 5, &off, &epoch, &md));
  assert_int_equal(off, -1);
  assert_int_equal(epoch, -1);
  assert_string_equal(md, "");
  assert_false(beck_gc_offset_get(f->gc, "nosuch", "t1", 0, &off, NULL, NULL));
  assert_int_equal(off, -1);

  beck_gc_offset_commit_t more[2] = {{"t0", 2, 100, 1, "z"}, {"t1", 0, 20, 4, "m0b"}};
  int16_t e2[2];
  assert_int_equal(beck_gc_commit(f->gc, "g", 1, b, NULL, more, 2, e2, 7100), 0);
  collect_t c = {{0}};
  beck_gc_offsets_foreach(f->gc, "g", collect_offset, &c);
  assert_string_equal(c.text, "t0/2=100:1:z;t1/0=20:4:m0b;t1/1=11:-1:;");
}

static void simple_commit_creates_empty_group_and_is_refused_by_managed_group(void **state_) {
  fx_t *f = *state_;
  beck_gc_offset_commit_t c = {"t", 3, 42, -1, "tool"};
  int16_t err = -1;
  assert_int_equal(beck_gc_commit(f->gc, "tool", -1, "", NULL, &c, 1, &err, 0), 0);
  assert_int_equal(err, 0);
  assert_string_equal(state(f, "tool"), "Empty");
  int64_t off;
  assert_true(beck_gc_offset_get(f->gc, "tool", "t", 3, &off, NULL, NULL));
  assert_int_equal(off, 42);
  /* Again on the now existing Empty group. */
  c.offset = 43;
  assert_int_equal(beck_gc_commit(f->gc, "tool", -1, "", NULL, &c, 1, &err, 0), 0);
  assert_true(beck_gc_offset_get(f->gc, "tool", "t", 3, &off, NULL, NULL));
  assert_int_equal(off, 43);
  /* Not a simple commit: no group is created. */
  assert_int_equal(beck_gc_commit(f->gc, "x1", -1, "someone", NULL, &c, 1, &err, 0), BECK_KERR_UNKNOWN_MEMBER_ID);
  assert_int_equal(beck_gc_commit(f->gc, "x2", 3, "", NULL, &c, 1, &err, 0), BECK_KERR_ILLEGAL_GENERATION);
  assert_string_equal(state(f, "x1"), "Dead");
  assert_string_equal(state(f, "x2"), "Dead");
  /* A managed group refuses simple commits. */
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  assert_int_equal(beck_gc_commit(f->gc, "g", -1, "", NULL, &c, 1, &err, 7000), BECK_KERR_UNKNOWN_MEMBER_ID);
  assert_int_equal(err, BECK_KERR_UNKNOWN_MEMBER_ID);
}

static void commit_during_completing_rebalance_gets_27_and_preparing_is_allowed(void **state_) {
  fx_t *f = *state_;
  jout_t a, b;
  do_join(f, ja("g", "", 2, "subA"), 0, &a);
  do_join(f, ja("g", "", 2, "subB"), 0, &b);
  beck_gc_tick(f->gc, 6000);
  assert_string_equal(state(f, "g"), "CompletingRebalance");
  beck_gc_offset_commit_t cs[2] = {{"t", 0, 5, -1, NULL}, {"t", 1, 6, -1, NULL}};
  int16_t errs[2];
  assert_int_equal(beck_gc_commit(f->gc, "g", 1, a.member_id, NULL, cs, 2, errs, 6100),
                   BECK_KERR_REBALANCE_IN_PROGRESS);
  assert_int_equal(errs[0], BECK_KERR_REBALANCE_IN_PROGRESS);
  assert_int_equal(errs[1], BECK_KERR_REBALANCE_IN_PROGRESS);
  int64_t off;
  assert_false(beck_gc_offset_get(f->gc, "g", "t", 0, &off, NULL, NULL));

  sout_t sa, sb;
  do_sync(f, "g", 1, b.member_id, NULL, NULL, 0, 6200, &sb);
  const char *ids[] = {a.member_id, b.member_id};
  const char *bytes[] = {"pa", "pb"};
  do_sync(f, "g", 1, a.member_id, ids, bytes, 2, 6200, &sa);
  jout_t c;
  do_join(f, ja("g", "", 2, "subC"), 6300, &c);
  assert_string_equal(state(f, "g"), "PreparingRebalance");
  assert_int_equal(beck_gc_commit(f->gc, "g", 1, b.member_id, NULL, cs, 2, errs, 6400), 0);
  assert_true(beck_gc_offset_get(f->gc, "g", "t", 1, &off, NULL, NULL));
  assert_int_equal(off, 6);
}

/* The store refuses the write (its table is dropped behind its back): the
 * commit answers 15 and memory keeps the last stored offset. */
static void commit_store_failure_answers_15_and_changes_nothing(void **state_) {
  fx_t *f = *state_;
  beck_gc_offset_commit_t c = {"t", 0, 5, -1, NULL};
  int16_t err;
  assert_int_equal(beck_gc_commit(f->gc, "tool", -1, "", NULL, &c, 1, &err, 0), 0);
  sqlite3 *db;
  assert_int_equal(sqlite3_open(f->path, &db), SQLITE_OK);
  assert_int_equal(sqlite3_exec(db, "DROP TABLE group_offsets", NULL, NULL, NULL), SQLITE_OK);
  sqlite3_close(db);
  beck_gc_offset_commit_t cs[2] = {{"t", 0, 6, -1, NULL}, {"new", 0, 1, -1, NULL}};
  int16_t errs[2];
  assert_int_equal(beck_gc_commit(f->gc, "tool", -1, "", NULL, cs, 2, errs, 100), 0);
  assert_int_equal(errs[0], BECK_KERR_COORDINATOR_NOT_AVAILABLE);
  assert_int_equal(errs[1], BECK_KERR_COORDINATOR_NOT_AVAILABLE);
  int64_t off;
  assert_true(beck_gc_offset_get(f->gc, "tool", "t", 0, &off, NULL, NULL));
  assert_int_equal(off, 5);
  assert_false(beck_gc_offset_get(f->gc, "tool", "new", 0, &off, NULL, NULL));
  collect_t l = {{0}};
  beck_gc_offsets_foreach(f->gc, "tool", collect_offset, &l);
  assert_string_equal(l.text, "t/0=5:-1:;");
  /* A new group whose first commit fails leaves nothing behind. */
  assert_int_equal(beck_gc_commit(f->gc, "other", -1, "", NULL, cs, 1, errs, 100), 0);
  assert_int_equal(errs[0], BECK_KERR_COORDINATOR_NOT_AVAILABLE);
  assert_string_equal(state(f, "other"), "Dead");
}

static int collect_group(void *arg, const beck_gc_group_info_t *g) {
  collect_t *c = arg;
  size_t l = strlen(c->text);
  snprintf(c->text + l, sizeof c->text - l, "%s:%s:%s;", g->group_id, g->protocol_type, g->state);
  return 0;
}

static void offsets_and_generation_survive_restart(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  beck_gc_offset_commit_t cs[2] = {{"t1", 0, 10, 3, "m0"}, {"t2", 4, 99, -1, NULL}};
  int16_t errs[2];
  assert_int_equal(beck_gc_commit(f->gc, "g", 1, a, NULL, cs, 2, errs, 7000), 0);
  beck_gc_offset_commit_t s = {"t1", 1, 5, -1, "s"};
  assert_int_equal(beck_gc_commit(f->gc, "simple", -1, "", NULL, &s, 1, errs, 7000), 0);

  fx_restart(f, 100000);
  int64_t off;
  int32_t epoch;
  const char *md;
  assert_true(beck_gc_offset_get(f->gc, "g", "t1", 0, &off, &epoch, &md));
  assert_int_equal(off, 10);
  assert_int_equal(epoch, 3);
  assert_string_equal(md, "m0");
  assert_true(beck_gc_offset_get(f->gc, "g", "t2", 4, &off, &epoch, &md));
  assert_int_equal(off, 99);
  assert_string_equal(md, "");
  assert_true(beck_gc_offset_get(f->gc, "simple", "t1", 1, &off, NULL, &md));
  assert_int_equal(off, 5);
  assert_string_equal(md, "s");
  collect_t c = {{0}};
  beck_gc_list(f->gc, collect_group, &c);
  assert_string_equal(c.text, "g:consumer:Empty;simple::Empty;");
  /* Members are not persisted: old ids are unknown and rejoin as new. */
  assert_int_equal(hb(f, "g", 1, a, 100100), BECK_KERR_UNKNOWN_MEMBER_ID);
  jout_t o;
  do_join(f, ja("g", "", 2, "subA"), 100200, &o);
  beck_gc_tick(f->gc, 103200);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.gen, 2); /* continues from the stored generation */
}

static void delete_group_only_when_empty_and_removes_offsets(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  beck_gc_offset_commit_t c = {"t", 0, 5, -1, NULL};
  int16_t err;
  assert_int_equal(beck_gc_commit(f->gc, "g", 1, a, NULL, &c, 1, &err, 7000), 0);
  assert_int_equal(beck_gc_delete_group(f->gc, "g", 7000), BECK_KERR_NON_EMPTY_GROUP);
  assert_int_equal(beck_gc_delete_group(f->gc, "nosuch", 7000), BECK_KERR_GROUP_ID_NOT_FOUND);
  assert_int_equal(leave1(f, "g", a, 7100), 0);
  assert_string_equal(state(f, "g"), "PreparingRebalance");
  assert_int_equal(beck_gc_delete_group(f->gc, "g", 7100), BECK_KERR_NON_EMPTY_GROUP);
  assert_int_equal(leave1(f, "g", b, 7200), 0);
  assert_string_equal(state(f, "g"), "Empty");
  assert_int_equal(beck_gc_delete_group(f->gc, "g", 7300), 0);
  assert_string_equal(state(f, "g"), "Dead");
  int64_t off;
  assert_false(beck_gc_offset_get(f->gc, "g", "t", 0, &off, NULL, NULL));
  assert_int_equal(beck_gc_delete_group(f->gc, "g", 7300), BECK_KERR_GROUP_ID_NOT_FOUND);
  fx_restart(f, 8000);
  assert_false(beck_gc_offset_get(f->gc, "g", "t", 0, &off, NULL, NULL));
  assert_string_equal(state(f, "g"), "Dead");
}

static void delete_topic_offsets_forgets_that_topic_only(void **state_) {
  fx_t *f = *state_;
  beck_gc_offset_commit_t cs[3] = {{"a", 0, 1, -1, NULL}, {"b", 0, 2, -1, NULL}, {"c", 0, 3, -1, NULL}};
  int16_t errs[3];
  assert_int_equal(beck_gc_commit(f->gc, "g1", -1, "", NULL, cs, 3, errs, 0), 0);
  assert_int_equal(beck_gc_commit(f->gc, "g2", -1, "", NULL, cs + 1, 1, errs, 0), 0);
  beck_gc_delete_topic_offsets(f->gc, "b");
  collect_t c = {{0}};
  beck_gc_offsets_foreach(f->gc, "g1", collect_offset, &c);
  assert_string_equal(c.text, "a/0=1:-1:;c/0=3:-1:;");
  int64_t off;
  assert_false(beck_gc_offset_get(f->gc, "g2", "b", 0, &off, NULL, NULL));
}

static void offsets_expire_after_retention_once_group_is_empty(void **state_) {
  fx_t *f = *state_;
  beck_gc_destroy(f->gc);
  f->cfg.offsets_retention_ms = 10000;
  f->cfg.offsets_retention_check_ms = 1000;
  fx_open_gc(f, 0);
  int64_t w0 = fake_wall;
  /* A simple group: retention counts from its newest commit. */
  beck_gc_offset_commit_t c = {"t", 0, 1, -1, NULL};
  int16_t err;
  assert_int_equal(beck_gc_commit(f->gc, "simple", -1, "", NULL, &c, 1, &err, 0), 0);
  /* A consumer group: offsets are kept while it has members. */
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  assert_int_equal(beck_gc_commit(f->gc, "g", 1, a, NULL, &c, 1, &err, 6000), 0);
  fake_wall = w0 + 9999;
  beck_gc_tick(f->gc, 6000 + 1000);
  assert_true(beck_gc_offset_get(f->gc, "simple", "t", 0, NULL, NULL, NULL));
  fake_wall = w0 + 10000;
  assert_int_equal(hb(f, "g", 1, a, 7900), 0);
  assert_int_equal(hb(f, "g", 1, b, 7900), 0);
  beck_gc_tick(f->gc, 8000);
  assert_false(beck_gc_offset_get(f->gc, "simple", "t", 0, NULL, NULL, NULL));
  assert_string_equal(state(f, "simple"), "Dead"); /* an Empty group without offsets is forgotten */
  assert_true(beck_gc_offset_get(f->gc, "g", "t", 0, NULL, NULL, NULL));

  /* Both members leave at wall w0+20000; the offsets go 10 s later. */
  fake_wall = w0 + 20000;
  assert_int_equal(leave1(f, "g", a, 9000), 0);
  assert_int_equal(leave1(f, "g", b, 9000), 0);
  assert_string_equal(state(f, "g"), "Empty");
  fake_wall = w0 + 29999;
  beck_gc_tick(f->gc, 10000);
  assert_true(beck_gc_offset_get(f->gc, "g", "t", 0, NULL, NULL, NULL));
  fake_wall = w0 + 30000;
  beck_gc_tick(f->gc, 11000);
  assert_false(beck_gc_offset_get(f->gc, "g", "t", 0, NULL, NULL, NULL));
  assert_string_equal(state(f, "g"), "Dead");
  fx_restart(f, 12000);
  assert_false(beck_gc_offset_get(f->gc, "g", "t", 0, NULL, NULL, NULL));
  assert_string_equal(state(f, "g"), "Dead");
}

/* ---- timers and cancellation ---- */

static void initial_rebalance_delay_with_one_member_is_3000_ms(void **state_) {
  fx_t *f = *state_;
  jout_t o;
  do_join(f, ja("g", "", 2, "subA"), 500, &o);
  for (int64_t t = 600; t < 3500; t += 100) {
    beck_gc_tick(f->gc, t);
    assert_int_equal(o.calls, 0);
  }
  beck_gc_tick(f->gc, 3500);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.gen, 1);
}

static void initial_rebalance_delay_is_extended_but_capped_by_rebalance_timeout(void **state_) {
  fx_t *f = *state_;
  jout_t o[3];
  jargs_t r = ja("g", "", 2, "m");
  r.rebalance = 5000;
  do_join(f, r, 0, &o[0]);
  do_join(f, r, 1000, &o[1]);
  beck_gc_tick(f->gc, 3000); /* extended by min(3000, 5000 - 3000) = 2000 */
  do_join(f, r, 4000, &o[2]);
  beck_gc_tick(f->gc, 4999);
  assert_int_equal(o[0].calls, 0);
  beck_gc_tick(f->gc, 5000); /* nothing remains of the rebalance timeout */
  for (int i = 0; i < 3; i++) {
    assert_int_equal(o[i].calls, 1);
    assert_int_equal(o[i].gen, 1);
  }
  assert_int_equal(o[0].nmembers, 3);
}

static void cancel_removes_parked_callbacks_and_member_then_times_out(void **state_) {
  fx_t *f = *state_;
  jout_t o;
  do_join(f, ja("g", "", 2, "subA"), 0, &o);
  assert_int_equal(beck_gc_cancel(f->gc, &o), 1);
  assert_int_equal(beck_gc_cancel(f->gc, &o), 0);
  beck_gc_tick(f->gc, 3000);
  assert_int_equal(o.calls, 0);
  assert_string_equal(state(f, "g"), "CompletingRebalance"); /* the member completed the phase */
  beck_gc_tick(f->gc, 12999);
  assert_string_equal(state(f, "g"), "CompletingRebalance");
  beck_gc_tick(f->gc, 13000); /* no heartbeat for a session timeout */
  assert_string_equal(state(f, "g"), "Empty");
  assert_int_equal(o.calls, 0);

  /* A parked SyncGroup. */
  char a[128], b[128];
  jout_t ja_, jb;
  do_join(f, ja("h", "", 2, "subA"), 20000, &ja_);
  do_join(f, ja("h", "", 2, "subB"), 20000, &jb);
  beck_gc_tick(f->gc, 26000);
  strcpy(a, ja_.member_id);
  strcpy(b, jb.member_id);
  sout_t sb, sa;
  do_sync(f, "h", 1, b, NULL, NULL, 0, 26000, &sb);
  assert_int_equal(beck_gc_cancel(f->gc, &sb), 1);
  const char *ids[] = {a, b};
  const char *bytes[] = {"pa", "pb"};
  do_sync(f, "h", 1, a, ids, bytes, 2, 26100, &sa);
  assert_int_equal(sa.calls, 1);
  assert_int_equal(sb.calls, 0);
  assert_string_equal(state(f, "h"), "Stable");
}

static void leader_that_never_syncs_is_removed_at_rebalance_timeout(void **state_) {
  fx_t *f = *state_;
  jout_t a, b;
  do_join(f, ja("g", "", 2, "subA"), 0, &a);
  do_join(f, ja("g", "", 2, "subB"), 0, &b);
  beck_gc_tick(f->gc, 6000);
  sout_t sb;
  do_sync(f, "g", 1, b.member_id, NULL, NULL, 0, 6100, &sb);
  /* The leader heartbeats but never syncs; the sync deadline is 6000 + 30000. */
  for (int64_t t = 10000; t < 36000; t += 5000)
    assert_int_equal(hb(f, "g", 1, a.member_id, t), 0);
  beck_gc_tick(f->gc, 35999);
  assert_int_equal(sb.calls, 0);
  beck_gc_tick(f->gc, 36000);
  assert_int_equal(sb.calls, 1);
  assert_int_equal(sb.error, BECK_KERR_REBALANCE_IN_PROGRESS);
  assert_string_equal(state(f, "g"), "PreparingRebalance");
  assert_int_equal(hb(f, "g", 1, a.member_id, 36100), BECK_KERR_UNKNOWN_MEMBER_ID);
  jout_t rb;
  do_join(f, ja("g", b.member_id, 5, "subB"), 36200, &rb);
  assert_int_equal(rb.calls, 1);
  assert_int_equal(rb.gen, 2);
  assert_string_equal(rb.leader, b.member_id);
}

static void pending_member_holds_join_phase_until_it_expires(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  jout_t e, ra, rb;
  do_join(f, ja("g", "", 5, "subE"), 7000, &e);
  assert_int_equal(e.error, BECK_KERR_MEMBER_ID_REQUIRED);
  assert_string_equal(state(f, "g"), "Stable"); /* a pending member does not rebalance */
  do_join(f, ja("g", a, 5, "subA"), 7100, &ra);
  do_join(f, ja("g", b, 5, "subB"), 7200, &rb);
  beck_gc_tick(f->gc, 16999);
  assert_int_equal(ra.calls + rb.calls, 0);
  beck_gc_tick(f->gc, 17000); /* the pending id expires after its session timeout */
  assert_int_equal(ra.calls, 1);
  assert_int_equal(rb.calls, 1);
  assert_int_equal(ra.gen, 2);
  assert_int_equal(ra.nmembers, 2);
  jout_t late;
  do_join(f, ja("g", e.member_id, 5, "subE"), 17100, &late);
  assert_int_equal(late.error, BECK_KERR_UNKNOWN_MEMBER_ID);
}

static void static_member_restart_replaces_old_id_without_rebalance(void **state_) {
  fx_t *f = *state_;
  jout_t o;
  jargs_t r = ja("g", "", 5, "subS");
  r.instance = "i1";
  do_join(f, r, 0, &o);
  assert_int_equal(o.calls, 0); /* static members skip KIP-394 */
  beck_gc_tick(f->gc, 3000);
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.gen, 1);
  assert_memory_equal(o.member_id, "i1-", 3);
  assert_false(o.inst_null[0]);
  assert_string_equal(o.inst[0], "i1");
  char old[128];
  strcpy(old, o.member_id);
  sout_t s;
  const char *ids[] = {old};
  const char *bytes[] = {"ps"};
  do_sync(f, "g", 1, old, ids, bytes, 1, 3000, &s);
  assert_string_equal(state(f, "g"), "Stable");

  do_join(f, r, 4000, &o); /* restarted with the same instance id */
  assert_int_equal(o.calls, 1);
  assert_int_equal(o.error, 0);
  assert_int_equal(o.gen, 1);
  assert_string_not_equal(o.member_id, old);
  assert_string_equal(o.leader, o.member_id);
  assert_string_equal(state(f, "g"), "Stable");
  assert_int_equal(beck_gc_heartbeat(f->gc, "g", 1, old, "i1", 4100), BECK_KERR_FENCED_INSTANCE_ID);
  assert_int_equal(beck_gc_heartbeat(f->gc, "g", 1, o.member_id, "i1", 4100), 0);
  assert_int_equal(beck_gc_heartbeat(f->gc, "g", 1, o.member_id, "i2", 4100), BECK_KERR_UNKNOWN_MEMBER_ID);
  do_sync(f, "g", 1, o.member_id, NULL, NULL, 0, 4200, &s);
  assert_string_equal(s.assignment, "ps");
  beck_gc_member_id_t m = {"", "i1"};
  int16_t err;
  assert_int_equal(beck_gc_leave(f->gc, "g", &m, 1, &err, 4300), 0);
  assert_int_equal(err, 0);
  assert_string_equal(state(f, "g"), "Empty");
}

typedef struct {
  fx_t *f;
  jout_t out;
  sout_t sync;
} reenter_t;

static void on_join_then_sync(void *arg, const beck_gc_join_result_t *r) {
  reenter_t *x = arg;
  on_join(&x->out, r);
  /* The coordinator is consistent inside a callback: sync right away. */
  const char *ids[] = {r->member_id};
  const char *bytes[] = {"self"};
  do_sync(x->f, "g", r->generation_id, r->member_id, ids, bytes, 1, 3000, &x->sync);
}

static void callbacks_may_call_back_into_the_coordinator(void **state_) {
  fx_t *f = *state_;
  reenter_t x = {.f = f};
  beck_gc_protocol_t p = {"range", beck_slice_cstr("m")};
  beck_gc_join_req_t req = {.group_id = "g",
                            .member_id = "",
                            .client_id = "c",
                            .client_host = "h",
                            .session_timeout_ms = 10000,
                            .rebalance_timeout_ms = 30000,
                            .protocol_type = "consumer",
                            .protocols = &p,
                            .nprotocols = 1,
                            .api_version = 3};
  beck_gc_join(f->gc, &req, 0, on_join_then_sync, &x);
  beck_gc_tick(f->gc, 3000);
  assert_int_equal(x.out.calls, 1);
  assert_int_equal(x.sync.calls, 1);
  assert_string_equal(x.sync.assignment, "self");
  assert_string_equal(state(f, "g"), "Stable");
}

typedef struct {
  char text[2048];
} desc_out_t;

static void on_describe(void *arg, const beck_gc_group_desc_t *d) {
  desc_out_t *o = arg;
  int l = snprintf(o->text, sizeof o->text, "%d|%s|%s|%s|%s|", d->error, d->group_id, d->state, d->protocol_type,
                   d->protocol);
  for (int i = 0; i < d->nmembers; i++)
    l += snprintf(o->text + l, sizeof o->text - (size_t)l, "%s,%s,%s,%.*s,%.*s;", d->members[i].client_id,
                  d->members[i].client_host, d->members[i].group_instance_id ? d->members[i].group_instance_id : "-",
                  (int)d->members[i].metadata.len, (const char *)d->members[i].metadata.ptr,
                  (int)d->members[i].assignment.len, (const char *)d->members[i].assignment.ptr);
}

static void describe_and_list_report_state_protocol_and_members(void **state_) {
  fx_t *f = *state_;
  char a[128], b[128];
  stable2(f, "g", 10000, 30000, 0, a, b);
  desc_out_t d;
  assert_int_equal(beck_gc_describe(f->gc, "g", on_describe, &d), 0);
  assert_string_equal(d.text, "0|g|Stable|consumer|range|cli,/127.0.0.1,-,subA,pa;cli,/127.0.0.1,-,subB,pb;");
  jout_t o;
  do_join(f, ja("g", a, 5, "subA"), 7000, &o);
  beck_gc_describe(f->gc, "g", on_describe, &d);
  assert_string_equal(d.text, "0|g|PreparingRebalance|consumer||cli,/127.0.0.1,-,,;cli,/127.0.0.1,-,,;");
  beck_gc_describe(f->gc, "nosuch", on_describe, &d);
  assert_string_equal(d.text, "0|nosuch|Dead|||");
  assert_int_equal(beck_gc_describe(f->gc, "", on_describe, &d), BECK_KERR_INVALID_GROUP_ID);
  beck_gc_offset_commit_t c = {"t", 0, 1, -1, NULL};
  int16_t err;
  assert_int_equal(beck_gc_commit(f->gc, "a-simple", -1, "", NULL, &c, 1, &err, 7000), 0);
  collect_t l = {{0}};
  beck_gc_list(f->gc, collect_group, &l);
  assert_string_equal(l.text, "a-simple::Empty;g:consumer:PreparingRebalance;");
}

/* ---- out of memory ---- */

/* Runs a scenario with the Nth allocation onward failing, for every N until
 * the scenario runs clean: nothing may crash, leak (ASan) or call a callback
 * twice, and the coordinator must work again once memory is back. */
static void out_of_memory_anywhere_fails_cleanly(void **state_) {
  fx_t *f = *state_;
  for (long n = 0; n < 400; n++) {
    beck_gc_t *gc = f->gc;
    jout_t a, b;
    sout_t sa, sb;
    memset(&sa, 0, sizeof sa);
    memset(&sb, 0, sizeof sb);
    char g[32];
    snprintf(g, sizeof g, "oom%ld", n);
    beck_alloc_fail_after(n);
    do_join(f, ja(g, "", 2, "subA"), 0, &a);
    do_join(f, ja(g, "", 2, "subB"), 0, &b);
    beck_gc_tick(gc, 6000);
    if (a.calls && a.error == 0 && b.calls && b.error == 0) {
      do_sync(f, g, 1, b.member_id, NULL, NULL, 0, 6000, &sb);
      const char *ids[] = {a.member_id, b.member_id};
      const char *bytes[] = {"pa", "pb"};
      do_sync(f, g, 1, a.member_id, ids, bytes, 2, 6000, &sa);
      beck_gc_offset_commit_t cs[2] = {{"t", 0, 1, -1, "x"}, {"u", 0, 2, -1, NULL}};
      int16_t errs[2];
      beck_gc_commit(gc, g, 1, a.member_id, NULL, cs, 2, errs, 6100);
      desc_out_t d;
      beck_gc_describe(gc, g, on_describe, &d);
      leave1(f, g, b.member_id, 6200);
    }
    beck_alloc_fail_after(-1);
    assert_true(a.calls <= 1 && b.calls <= 1 && sa.calls <= 1 && sb.calls <= 1);
    beck_gc_tick(gc, 100000); /* expires whatever is left */
    assert_true(a.calls <= 1 && b.calls <= 1);
    beck_gc_cancel(gc, &a);
    beck_gc_cancel(gc, &b);
    beck_gc_cancel(gc, &sa);
    beck_gc_cancel(gc, &sb);
  }
  /* Still fully working. */
  char a[128], b[128];
  stable2(f, "after", 10000, 30000, 200000, a, b);
}

int main(void) {
  beck_log_set_level(getenv("BECK_LOG_LEVEL") ? BECK_LOG_DEBUG : BECK_LOG_WARN);
  const struct CMUnitTest tests[] = {
      cmocka_unit_test_setup_teardown(join_v5_new_member_gets_member_id_required_then_generation_1, setup, teardown),
      cmocka_unit_test_setup_teardown(join_v2_new_member_is_added_at_once_with_generated_id, setup, teardown),
      cmocka_unit_test_setup_teardown(two_members_join_leader_gets_both_and_sync_hands_out_exact_bytes, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(sync_assignment_bytes_are_exact_and_missing_members_get_empty, setup, teardown),
      cmocka_unit_test_setup_teardown(third_member_joining_stable_group_rebalances_to_generation_2, setup, teardown),
      cmocka_unit_test_setup_teardown(follower_rejoining_stable_with_same_metadata_keeps_generation, setup, teardown),
      cmocka_unit_test_setup_teardown(superseded_parked_join_is_answered_rebalance_in_progress, setup, teardown),
      cmocka_unit_test_setup_teardown(leave_triggers_rebalance_and_batch_leave_reports_per_member, setup, teardown),
      cmocka_unit_test_setup_teardown(session_expiry_removes_member_and_rebalances, setup, teardown),
      cmocka_unit_test_setup_teardown(rebalance_timeout_removes_member_that_does_not_rejoin, setup, teardown),
      cmocka_unit_test_setup_teardown(join_v0_uses_session_timeout_as_rebalance_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(inconsistent_protocol_is_rejected, setup, teardown),
      cmocka_unit_test_setup_teardown(protocol_is_chosen_by_majority_of_first_choices, setup, teardown),
      cmocka_unit_test_setup_teardown(session_timeout_outside_bounds_is_rejected, setup, teardown),
      cmocka_unit_test_setup_teardown(wrong_generation_and_unknown_member_are_rejected, setup, teardown),
      cmocka_unit_test_setup_teardown(sync_during_preparing_rebalance_gets_rebalance_in_progress, setup, teardown),
      cmocka_unit_test_setup_teardown(commit_then_fetch_round_trips_offset_epoch_and_metadata, setup, teardown),
      cmocka_unit_test_setup_teardown(simple_commit_creates_empty_group_and_is_refused_by_managed_group, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(commit_during_completing_rebalance_gets_27_and_preparing_is_allowed, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(commit_store_failure_answers_15_and_changes_nothing, setup, teardown),
      cmocka_unit_test_setup_teardown(offsets_and_generation_survive_restart, setup, teardown),
      cmocka_unit_test_setup_teardown(delete_group_only_when_empty_and_removes_offsets, setup, teardown),
      cmocka_unit_test_setup_teardown(delete_topic_offsets_forgets_that_topic_only, setup, teardown),
      cmocka_unit_test_setup_teardown(offsets_expire_after_retention_once_group_is_empty, setup, teardown),
      cmocka_unit_test_setup_teardown(initial_rebalance_delay_with_one_member_is_3000_ms, setup, teardown),
      cmocka_unit_test_setup_teardown(initial_rebalance_delay_is_extended_but_capped_by_rebalance_timeout, setup,
                                      teardown),
      cmocka_unit_test_setup_teardown(cancel_removes_parked_callbacks_and_member_then_times_out, setup, teardown),
      cmocka_unit_test_setup_teardown(leader_that_never_syncs_is_removed_at_rebalance_timeout, setup, teardown),
      cmocka_unit_test_setup_teardown(pending_member_holds_join_phase_until_it_expires, setup, teardown),
      cmocka_unit_test_setup_teardown(static_member_restart_replaces_old_id_without_rebalance, setup, teardown),
      cmocka_unit_test_setup_teardown(callbacks_may_call_back_into_the_coordinator, setup, teardown),
      cmocka_unit_test_setup_teardown(describe_and_list_report_state_protocol_and_members, setup, teardown),
      cmocka_unit_test_setup_teardown(out_of_memory_anywhere_fails_cleanly, setup, teardown),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
