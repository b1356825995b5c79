/* test_proto_roundtrip.c - core/proto: every API, every version the codec
 * supports, request and response, in several fillings (nulls and empties,
 * fully populated with nested arrays, random mixes): encode, decode, compare
 * field by field, re-encode and compare bytes; then truncate the encoding at
 * every offset and check that decoding fails cleanly.
 *
 * The filler and comparator walk the codec's own descriptors, so these tests
 * prove the interpreter is symmetric and total for every message, not that
 * the descriptors match Kafka: the golden-byte tests in test_proto.c and the
 * kafka-python vectors in test_proto_golden.c do that. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <cmocka.h>

#include <dirent.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "base/arena.h"
#include "base/buf.h"
#include "proto/proto.h"
#include "proto/proto_int.h"

enum fill_mode { FILL_NULLS, FILL_FULL, FILL_RANDOM, FILL_MODES };

typedef struct gen {
  uint64_t rng;
  enum fill_mode mode;
  int16_t version;
  beck_arena_t *arena;
} gen_t;

static uint32_t rnd(gen_t *g) {
  g->rng = g->rng * 6364136223846793005ull + 1442695040888963407ull;
  return (uint32_t)(g->rng >> 33);
}

static bool nullable_in(const beck__proto_field_t *f, int16_t v) { return beck__proto_in(v, f->nmin, f->nmax); }
static bool in_version(const beck__proto_field_t *f, int16_t v) { return beck__proto_in(v, f->vmin, f->vmax); }

static beck_nstr_t gen_bytes(gen_t *g, bool nullable, int32_t max_len) {
  beck_nstr_t s = {NULL, 0};
  int choice = g->mode == FILL_NULLS ? 0 : g->mode == FILL_FULL ? 2 : (int)(rnd(g) % 3);
  if (choice == 0 && nullable) {
    s.len = -1;
    return s;
  }
  if (choice <= 1)
    return s; /* empty */
  int32_t n = 1 + (int32_t)(rnd(g) % (uint32_t)max_len);
  uint8_t *p = beck_arena_alloc(g->arena, (size_t)n);
  for (int32_t i = 0; i < n; i++)
    p[i] = (uint8_t)('a' + rnd(g) % 26);
  s.ptr = p;
  s.len = n;
  return s;
}

static void fill_struct(gen_t *g, const beck__proto_struct_t *d, void *dst, int depth);

static size_t elem_size(uint8_t elem, const beck__proto_struct_t *sub) {
  switch (elem) {
  case BECK_PK_I32:
    return 4;
  case BECK_PK_I64:
    return 8;
  case BECK_PK_STR:
    return sizeof(beck_nstr_t);
  case BECK_PK_UUID:
    return sizeof(beck_uuid_t);
  case BECK_PK_STRUCT:
    return sub->size;
  default:
    fail();
    return 0;
  }
}

static void fill_value(gen_t *g, uint8_t kind, uint8_t elem, const beck__proto_struct_t *sub, bool nullable, void *p,
                       int depth) {
  bool extreme = g->mode == FILL_NULLS;
  uint32_t r = rnd(g);
  switch (kind) {
  case BECK_PK_BOOL:
    *(bool *)p = g->mode == FILL_FULL ? true : (r & 1);
    break;
  case BECK_PK_I8:
    *(int8_t *)p = extreme ? INT8_MIN : (int8_t)r;
    break;
  case BECK_PK_I16:
    *(int16_t *)p = extreme ? INT16_MIN : (int16_t)r;
    break;
  case BECK_PK_I32:
    *(int32_t *)p = extreme ? INT32_MIN : (int32_t)r;
    break;
  case BECK_PK_I64:
    *(int64_t *)p = extreme ? INT64_MIN : (int64_t)(((uint64_t)r << 32) | rnd(g));
    break;
  case BECK_PK_U16:
    *(uint16_t *)p = (uint16_t)r;
    break;
  case BECK_PK_U32:
  case BECK_PK_UVARINT:
    *(uint32_t *)p = extreme ? UINT32_MAX : r;
    break;
  case BECK_PK_VARINT:
    *(int32_t *)p = extreme ? INT32_MIN : (int32_t)r;
    break;
  case BECK_PK_VARLONG:
    *(int64_t *)p = extreme ? INT64_MIN : (int64_t)(((uint64_t)r << 32) | rnd(g));
    break;
  case BECK_PK_F64:
    *(double *)p = (double)(int32_t)r / 7.0;
    break;
  case BECK_PK_UUID:
    for (int i = 0; i < 16; i++)
      ((beck_uuid_t *)p)->bytes[i] = (uint8_t)rnd(g);
    break;
  case BECK_PK_STR:
    *(beck_nstr_t *)p = gen_bytes(g, nullable, 20);
    break;
  case BECK_PK_BYTES:
    *(beck_nstr_t *)p = gen_bytes(g, nullable, 40);
    break;
  case BECK_PK_RECORDS:
    *(beck_nstr_t *)p = gen_bytes(g, nullable, 200);
    break;
  case BECK_PK_STRUCT:
    fill_struct(g, sub, p, depth + 1);
    break;
  case BECK_PK_ARRAY: {
    int32_t n;
    if (g->mode == FILL_NULLS)
      n = nullable ? -1 : 0;
    else if (g->mode == FILL_FULL)
      n = depth < 3 ? 2 : 1;
    else
      n = (int32_t)(rnd(g) % 4) - (nullable ? 1 : 0);
    void *items = NULL;
    if (n > 0) {
      size_t esz = elem_size(elem, sub);
      items = beck_arena_calloc(g->arena, (size_t)n, esz);
      for (int32_t i = 0; i < n; i++)
        fill_value(g, elem, BECK_PK_NONE, sub, false, (char *)items + (size_t)i * esz, depth + 1);
    }
    memcpy(p, &items, sizeof items);
    memcpy((char *)p + sizeof(void *), &n, sizeof n);
    break;
  }
  default:
    fail();
  }
}

/* Fills every field, also ones absent from the version: the encoder must
 * ignore those, and decode must hand back their defaults. */
static void fill_struct(gen_t *g, const beck__proto_struct_t *d, void *dst, int depth) {
  for (size_t i = 0; i < d->nfields; i++) {
    const beck__proto_field_t *f = &d->fields[i];
    fill_value(g, f->kind, f->elem, f->sub, nullable_in(f, g->version), (char *)dst + f->offset, depth);
  }
}

/* ---- comparison ----------------------------------------------------------- */

typedef struct cmp {
  int16_t version;
  char path[512];
} cmp_t;

static void cmp_fail(cmp_t *c, const char *what) {
  print_error("mismatch at %s: %s\n", c->path, what);
  fail();
}

static void cmp_struct(cmp_t *c, const beck__proto_struct_t *d, const void *a, const void *b);

static void cmp_value(cmp_t *c, uint8_t kind, uint8_t elem, const beck__proto_struct_t *sub, const void *a,
                      const void *b) {
  switch (kind) {
  case BECK_PK_BOOL:
    if (*(const bool *)a != *(const bool *)b)
      cmp_fail(c, "bool");
    break;
  case BECK_PK_I8:
    if (*(const int8_t *)a != *(const int8_t *)b)
      cmp_fail(c, "int8");
    break;
  case BECK_PK_I16:
  case BECK_PK_U16:
    if (memcmp(a, b, 2))
      cmp_fail(c, "int16");
    break;
  case BECK_PK_I32:
  case BECK_PK_U32:
  case BECK_PK_UVARINT:
  case BECK_PK_VARINT:
    if (memcmp(a, b, 4))
      cmp_fail(c, "int32");
    break;
  case BECK_PK_I64:
  case BECK_PK_VARLONG:
  case BECK_PK_F64:
    if (memcmp(a, b, 8))
      cmp_fail(c, "int64");
    break;
  case BECK_PK_UUID:
    if (memcmp(a, b, 16))
      cmp_fail(c, "uuid");
    break;
  case BECK_PK_STR:
  case BECK_PK_BYTES:
  case BECK_PK_RECORDS: {
    const beck_nstr_t *x = a, *y = b;
    if (x->len < 0 || y->len < 0) {
      if (!(x->len < 0 && y->len < 0))
        cmp_fail(c, "null vs non-null");
    } else if (x->len != y->len || (x->len && memcmp(x->ptr, y->ptr, (size_t)x->len))) {
      cmp_fail(c, "bytes");
    }
    break;
  }
  case BECK_PK_STRUCT:
    cmp_struct(c, sub, a, b);
    break;
  case BECK_PK_ARRAY: {
    void *ia, *ib;
    int32_t na, nb;
    memcpy(&ia, a, sizeof ia);
    memcpy(&na, (const char *)a + sizeof(void *), sizeof na);
    memcpy(&ib, b, sizeof ib);
    memcpy(&nb, (const char *)b + sizeof(void *), sizeof nb);
    if (na != nb)
      cmp_fail(c, "array count");
    size_t esz = elem_size(elem, sub);
    size_t plen = strlen(c->path);
    for (int32_t i = 0; i < na; i++) {
      snprintf(c->path + plen, sizeof c->path - plen, "[%d]", (int)i);
      cmp_value(c, elem, BECK_PK_NONE, sub, (char *)ia + (size_t)i * esz, (char *)ib + (size_t)i * esz);
    }
    c->path[plen] = '\0';
    break;
  }
  default:
    fail();
  }
}

/* Decoded default of a field absent from the version. */
static void check_default(cmp_t *c, const beck__proto_field_t *f, const void *p) {
  switch (f->kind) {
  case BECK_PK_BOOL:
    if (*(const bool *)p != (f->dflt != 0))
      cmp_fail(c, "default bool");
    break;
  case BECK_PK_I8:
    if (*(const int8_t *)p != (int8_t)f->dflt)
      cmp_fail(c, "default int8");
    break;
  case BECK_PK_I16:
    if (*(const int16_t *)p != (int16_t)f->dflt)
      cmp_fail(c, "default int16");
    break;
  case BECK_PK_I32:
    if (*(const int32_t *)p != (int32_t)f->dflt)
      cmp_fail(c, "default int32");
    break;
  case BECK_PK_I64:
    if (*(const int64_t *)p != f->dflt)
      cmp_fail(c, "default int64");
    break;
  case BECK_PK_UUID: {
    static const beck_uuid_t zero;
    if (memcmp(p, &zero, 16))
      cmp_fail(c, "default uuid");
    break;
  }
  case BECK_PK_STR:
  case BECK_PK_BYTES:
  case BECK_PK_RECORDS:
    if (((const beck_nstr_t *)p)->len != (f->dflt < 0 ? -1 : 0))
      cmp_fail(c, "default string");
    break;
  case BECK_PK_ARRAY: {
    int32_t n;
    memcpy(&n, (const char *)p + sizeof(void *), sizeof n);
    if (n != (f->dflt < 0 ? -1 : 0))
      cmp_fail(c, "default array");
    break;
  }
  default:
    break;
  }
}

static void cmp_struct(cmp_t *c, const beck__proto_struct_t *d, const void *a, const void *b) {
  size_t plen = strlen(c->path);
  for (size_t i = 0; i < d->nfields; i++) {
    const beck__proto_field_t *f = &d->fields[i];
    snprintf(c->path + plen, sizeof c->path - plen, ".%s", f->name);
    const char *pa = (const char *)a + f->offset, *pb = (const char *)b + f->offset;
    if (in_version(f, c->version))
      cmp_value(c, f->kind, f->elem, f->sub, pa, pb);
    else
      check_default(c, f, pb);
  }
  c->path[plen] = '\0';
}

/* ---- the sweep ------------------------------------------------------------- */

static int roundtrips_run, truncations_run;

static void roundtrip_one(const beck__proto_api_t *api, int16_t v, bool is_request, enum fill_mode mode,
                          uint64_t seed) {
  const beck__proto_struct_t *d = is_request ? api->request : api->response;
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  gen_t g = {.rng = seed, .mode = mode, .version = v, .arena = &arena};
  void *msg = beck_arena_zalloc(&arena, d->size);
  fill_struct(&g, d, msg, 0);

  beck_buf_t enc = {0}, enc2 = {0};
  beck_error_t e;
  beck_error_clear(&e);
  beck_err_t rc = beck_proto_encode(api->api_key, v, is_request, msg, &enc, &e);
  if (rc)
    print_error("%s v%d %s mode %d: encode: %s\n", api->name, v, is_request ? "req" : "resp", mode, e.msg);
  assert_int_equal(rc, BECK_ERR_OK);

  void *dec = beck_arena_zalloc(&arena, d->size);
  rc = beck_proto_decode(api->api_key, v, is_request, enc.data, enc.len, &arena, dec, &e);
  if (rc)
    print_error("%s v%d %s mode %d: decode: %s\n", api->name, v, is_request ? "req" : "resp", mode, e.msg);
  assert_int_equal(rc, BECK_ERR_OK);

  cmp_t c = {.version = v};
  snprintf(c.path, sizeof c.path, "%s v%d mode %d", d->name, v, mode);
  cmp_struct(&c, d, msg, dec);

  assert_int_equal(beck_proto_encode(api->api_key, v, is_request, dec, &enc2, &e), BECK_ERR_OK);
  assert_int_equal(enc.len, enc2.len);
  assert_memory_equal(enc.data, enc2.data, enc.len);
  roundtrips_run++;

  /* Every strict prefix is incomplete: decoding it must fail, never crash or
   * read past the end (ASan checks that with an exact-size copy). */
  if (mode != FILL_NULLS) {
    for (size_t cut = 0; cut < enc.len; cut++) {
      uint8_t *copy = malloc(cut ? cut : 1);
      memcpy(copy, enc.data, cut);
      void *t = beck_arena_zalloc(&arena, d->size);
      beck_error_t te;
      beck_err_t trc = beck_proto_decode(api->api_key, v, is_request, copy, cut, &arena, t, &te);
      if (trc == BECK_ERR_OK)
        print_error("%s v%d: prefix of %zu/%zu bytes decoded\n", d->name, v, cut, enc.len);
      assert_int_equal(trc, BECK_ERR_PARSE);
      free(copy);
      truncations_run++;
    }
  }
  beck_buf_free(&enc);
  beck_buf_free(&enc2);
  beck_arena_destroy(&arena);
}

static void every_api_every_version_round_trips(void **state) {
  for (size_t i = 0; i < beck__proto_apis_count; i++) {
    const beck__proto_api_t *api = &beck__proto_apis[i];
    for (int16_t v = api->min_version; v <= api->max_version; v++) {
      for (int dir = 0; dir < 2; dir++) {
        for (int mode = 0; mode < FILL_MODES; mode++) {
          int reps = mode == FILL_RANDOM ? 6 : 1;
          for (int rep = 0; rep < reps; rep++)
            roundtrip_one(api, v, dir == 0, (enum fill_mode)mode,
                          0x9e3779b97f4a7c15ull * (uint64_t)(i * 1000 + (size_t)v * 10 + (size_t)rep + 1) +
                              (uint64_t)dir);
        }
      }
    }
  }
  print_message("round trips: %d, truncated decodes: %d\n", roundtrips_run, truncations_run);
}

/* Descriptor sanity: versions inside the API range make sense, tags ascend,
 * nested structs exist exactly where the kind needs them. */
static void check_struct_desc(const beck__proto_struct_t *d) {
  int32_t last_tag = -1;
  for (size_t i = 0; i < d->nfields; i++) {
    const beck__proto_field_t *f = &d->fields[i];
    assert_true(f->vmin >= 0 && f->vmin <= f->vmax);
    if (f->nmin >= 0)
      assert_true(f->nmin <= f->nmax);
    if (f->tag >= 0) {
      assert_true(f->tag > last_tag);
      last_tag = f->tag;
    }
    bool needs_sub = f->kind == BECK_PK_STRUCT || (f->kind == BECK_PK_ARRAY && f->elem == BECK_PK_STRUCT);
    assert_true(needs_sub == (f->sub != NULL));
    if (f->kind == BECK_PK_STRUCT)
      assert_true(f->tag >= 0); /* by-value structs only appear as tagged fields */
    if (f->sub)
      check_struct_desc(f->sub);
    assert_true(f->offset < d->size);
  }
}

static void descriptors_are_consistent(void **state) {
  int16_t last_key = -1;
  for (size_t i = 0; i < beck__proto_apis_count; i++) {
    const beck__proto_api_t *api = &beck__proto_apis[i];
    assert_true(api->api_key > last_key);
    last_key = api->api_key;
    assert_true(api->min_version <= api->advertise_max && api->advertise_max <= api->max_version);
    check_struct_desc(api->request);
    check_struct_desc(api->response);
    /* The public table mirrors the private one. */
    const beck_proto_api_info_t *pub = beck_proto_api_lookup(api->api_key);
    assert_non_null(pub);
    assert_string_equal(pub->name, api->name);
    assert_int_equal(pub->max_version, api->max_version);
  }
  assert_int_equal(beck_proto_api_count, beck__proto_apis_count);
}

/* ---- fuzz seeds ------------------------------------------------------------ */

/* Seeds for tests/fuzz/fuzz_proto_request.c: one framed request (header +
 * body, no Size) per supported api and version, and one response framed the
 * same way with an odd CorrelationId (the target then decodes the body as a
 * response). With BECK_WRITE_FUZZ_SEEDS=1 the corpus is rewritten; otherwise
 * every seed must still parse, so the corpus cannot rot. */
static void build_seed(const beck__proto_api_t *api, int16_t v, bool is_request, beck_buf_t *out, beck_arena_t *arena) {
  const beck__proto_struct_t *d = is_request ? api->request : api->response;
  gen_t g = {.rng = 0x5eed0000u + (uint64_t)api->api_key * 64 + (uint64_t)v,
             .mode = FILL_RANDOM,
             .version = v,
             .arena = arena};
  void *msg = beck_arena_zalloc(arena, d->size);
  fill_struct(&g, d, msg, 0);
  beck_proto_request_header_t h = {.RequestApiKey = api->api_key,
                                   .RequestApiVersion = v,
                                   .CorrelationId = is_request ? 2 * v : 2 * v + 1,
                                   .ClientId = {(const uint8_t *)"fuzz", 4}};
  assert_int_equal(beck_proto_request_header_encode(&h, out), BECK_ERR_OK);
  assert_int_equal(beck_proto_encode(api->api_key, v, is_request, msg, out, NULL), BECK_ERR_OK);
}

static void fuzz_seed_corpus_parses(void **state) {
  const char *dir = BECK_PROTO_SEED_DIR;
  const char *write = getenv("BECK_WRITE_FUZZ_SEEDS");
  beck_arena_t arena;
  beck_arena_init(&arena, 0);
  if (write != NULL && strcmp(write, "1") == 0) {
    for (size_t i = 0; i < beck__proto_apis_count; i++) {
      const beck__proto_api_t *api = &beck__proto_apis[i];
      for (int16_t v = api->min_version; v <= api->max_version; v++) {
        for (int dir_i = 0; dir_i < 2; dir_i++) {
          beck_buf_t b = {0};
          build_seed(api, v, dir_i == 0, &b, &arena);
          char path[512];
          snprintf(path, sizeof path, "%s/%s%s_v%d", dir, api->name, dir_i == 0 ? "Request" : "Response", v);
          FILE *f = fopen(path, "wb");
          assert_non_null(f);
          assert_int_equal(fwrite(b.data, 1, b.len, f), b.len);
          fclose(f);
          beck_buf_free(&b);
        }
      }
    }
  }
  DIR *dp = opendir(dir);
  assert_non_null(dp);
  int seeds = 0;
  struct dirent *de;
  while ((de = readdir(dp)) != NULL) {
    if (de->d_name[0] == '.')
      continue;
    char path[512];
    snprintf(path, sizeof path, "%s/%s", dir, de->d_name);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    static uint8_t buf[1 << 16];
    size_t n = fread(buf, 1, sizeof buf, f);
    fclose(f);
    beck_proto_request_header_t h;
    beck_error_t e;
    assert_int_equal(beck_proto_request_header_decode(buf, n, &h, &e), BECK_ERR_OK);
    bool is_request = (h.CorrelationId & 1) == 0;
    union {
      beck_proto_request_t req;
      beck_proto_response_t resp;
    } m;
    beck_err_t rc =
        beck_proto_decode(h.RequestApiKey, h.RequestApiVersion, is_request, buf + h.size, n - h.size, &arena, &m, &e);
    if (rc)
      print_error("seed %s: %s\n", de->d_name, e.msg);
    assert_int_equal(rc, BECK_ERR_OK);
    seeds++;
    beck_arena_reset(&arena);
  }
  closedir(dp);
  assert_true(seeds >= 2 * 24);
  beck_arena_destroy(&arena);
}

/* DescribeLogDirs (35), each of v1-v4, through the typed structs a broker
 * handler and the CLI use: a request for everything (Topics null) and one
 * for chosen partitions; a response with two directories, one failed. What
 * a version carries comes back; what it lacks comes back as the spec's
 * default (top-level ErrorCode 0 before v3, TotalBytes and UsableBytes -1
 * before v4). The descriptor sweep above covers the same API with random
 * fillings and truncations. */
static void describe_log_dirs_round_trips_in_every_version(void **state) {
  const beck__proto_api_t *api = beck__proto_api(BECK_API_DescribeLogDirs);
  assert_non_null(api);
  assert_int_equal(api->min_version, 1);
  assert_int_equal(api->max_version, 4);
  assert_int_equal(api->flexible_from, 2);

  int32_t pidx[] = {2, 0, 7};
  beck_proto_DescribeLogDirsRequest_DescribableLogDirTopic_t rts[] = {
      {.Topic = {(const uint8_t *)"orders", 6}, .Partitions = {pidx, 3}},
      {.Topic = {(const uint8_t *)"empty", 5}, .Partitions = {NULL, 0}},
  };
  beck_proto_DescribeLogDirsResponse_DescribeLogDirsPartition_t ps[] = {
      {.PartitionIndex = 0, .PartitionSize = 0, .OffsetLag = 0, .IsFutureKey = false},
      {.PartitionIndex = 2, .PartitionSize = INT64_MAX, .OffsetLag = 17, .IsFutureKey = true},
  };
  beck_proto_DescribeLogDirsResponse_DescribeLogDirsTopic_t ts[] = {
      {.Name = {(const uint8_t *)"orders", 6}, .Partitions = {ps, 2}}};
  beck_proto_DescribeLogDirsResponse_DescribeLogDirsResult_t rs[] = {
      {.ErrorCode = 0,
       .LogDir = {(const uint8_t *)"/var/lib/beck", 13},
       .Topics = {ts, 1},
       .TotalBytes = INT64_C(500107862016),
       .UsableBytes = 0},
      {.ErrorCode = BECK_KERR_KAFKA_STORAGE_ERROR,
       .LogDir = {(const uint8_t *)"/mnt/gone", 9},
       .Topics = {NULL, 0},
       .TotalBytes = -1,
       .UsableBytes = -1},
  };
  beck_proto_DescribeLogDirsResponse_t resp = {
      .ThrottleTimeMs = 5, .ErrorCode = BECK_KERR_CLUSTER_AUTHORIZATION_FAILED, .Results = {rs, 2}};

  for (int16_t v = api->min_version; v <= api->max_version; v++) {
    beck_arena_t arena;
    beck_arena_init(&arena, 0);
    beck_buf_t b = {0};
    beck_error_t e;

    for (int all = 0; all < 2; all++) {
      beck_proto_DescribeLogDirsRequest_t req = {.Topics = {all ? NULL : rts, all ? -1 : 2}};
      beck_buf_reset(&b);
      assert_int_equal(beck_proto_encode(BECK_API_DescribeLogDirs, v, true, &req, &b, &e), BECK_ERR_OK);
      beck_proto_DescribeLogDirsRequest_t dr;
      assert_int_equal(beck_proto_decode(BECK_API_DescribeLogDirs, v, true, b.data, b.len, &arena, &dr, &e),
                       BECK_ERR_OK);
      if (all) {
        assert_int_equal(dr.Topics.count, -1);
        continue;
      }
      assert_int_equal(dr.Topics.count, 2);
      assert_int_equal(dr.Topics.items[0].Topic.len, 6);
      assert_memory_equal(dr.Topics.items[0].Topic.ptr, "orders", 6);
      assert_int_equal(dr.Topics.items[0].Partitions.count, 3);
      assert_int_equal(dr.Topics.items[0].Partitions.items[0], 2);
      assert_int_equal(dr.Topics.items[0].Partitions.items[2], 7);
      assert_int_equal(dr.Topics.items[1].Partitions.count, 0);
    }

    beck_buf_reset(&b);
    assert_int_equal(beck_proto_encode(BECK_API_DescribeLogDirs, v, false, &resp, &b, &e), BECK_ERR_OK);
    beck_proto_DescribeLogDirsResponse_t d;
    assert_int_equal(beck_proto_decode(BECK_API_DescribeLogDirs, v, false, b.data, b.len, &arena, &d, &e), BECK_ERR_OK);
    assert_int_equal(d.ThrottleTimeMs, 5);
    assert_int_equal(d.ErrorCode, v >= 3 ? BECK_KERR_CLUSTER_AUTHORIZATION_FAILED : 0);
    assert_int_equal(d.Results.count, 2);
    const beck_proto_DescribeLogDirsResponse_DescribeLogDirsResult_t *r0 = &d.Results.items[0],
                                                                     *r1 = &d.Results.items[1];
    assert_int_equal(r0->ErrorCode, 0);
    assert_int_equal(r0->LogDir.len, 13);
    assert_memory_equal(r0->LogDir.ptr, "/var/lib/beck", 13);
    assert_int_equal(r0->TotalBytes, v >= 4 ? INT64_C(500107862016) : -1);
    assert_int_equal(r0->UsableBytes, v >= 4 ? 0 : -1);
    assert_int_equal(r0->Topics.count, 1);
    assert_int_equal(r0->Topics.items[0].Partitions.count, 2);
    const beck_proto_DescribeLogDirsResponse_DescribeLogDirsPartition_t *p1 = &r0->Topics.items[0].Partitions.items[1];
    assert_int_equal(p1->PartitionIndex, 2);
    assert_true(p1->PartitionSize == INT64_MAX);
    assert_int_equal(p1->OffsetLag, 17);
    assert_true(p1->IsFutureKey);
    assert_int_equal(r1->ErrorCode, BECK_KERR_KAFKA_STORAGE_ERROR);
    assert_int_equal(r1->Topics.count, 0);
    assert_int_equal(r1->TotalBytes, -1);

    /* decoded values encode to the same bytes */
    beck_buf_t again = {0};
    assert_int_equal(beck_proto_encode(BECK_API_DescribeLogDirs, v, false, &d, &again, &e), BECK_ERR_OK);
    assert_int_equal(again.len, b.len);
    assert_memory_equal(again.data, b.data, b.len);
    beck_buf_free(&again);
    beck_buf_free(&b);
    beck_arena_destroy(&arena);
  }
}

int main(void) {
  const struct CMUnitTest tests[] = {
      cmocka_unit_test(descriptors_are_consistent),
      cmocka_unit_test(every_api_every_version_round_trips),
      cmocka_unit_test(describe_log_dirs_round_trips_in_every_version),
      cmocka_unit_test(fuzz_seed_corpus_parses),
  };
  return cmocka_run_group_tests(tests, NULL, NULL);
}
