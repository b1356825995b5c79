/*
 * desc.c - descriptor tables generated from the X-macro field lists in
 * msg_*.h (see messages.h for the columns), and the API table built from
 * BECK_PROTO_APIS. Nothing here is written by hand per message: adding a
 * field to a list adds it to the C struct and to its descriptor at once.
 */
#include "proto/proto_int.h"

#include <stddef.h>

#define INF 0x7fff
#define NO (-1)

#define BECK_PT_KIND_BOOL BECK_PK_BOOL
#define BECK_PT_KIND_I8 BECK_PK_I8
#define BECK_PT_KIND_I16 BECK_PK_I16
#define BECK_PT_KIND_I32 BECK_PK_I32
#define BECK_PT_KIND_I64 BECK_PK_I64
#define BECK_PT_KIND_U16 BECK_PK_U16
#define BECK_PT_KIND_U32 BECK_PK_U32
#define BECK_PT_KIND_F64 BECK_PK_F64
#define BECK_PT_KIND_UUID BECK_PK_UUID
#define BECK_PT_KIND_UVARINT BECK_PK_UVARINT
#define BECK_PT_KIND_VARINT BECK_PK_VARINT
#define BECK_PT_KIND_VARLONG BECK_PK_VARLONG
#define BECK_PT_KIND_STR BECK_PK_STR
#define BECK_PT_KIND_BYTES BECK_PK_BYTES
#define BECK_PT_KIND_RECORDS BECK_PK_RECORDS
#define BECK_PT_KIND_ARR_I32 BECK_PK_ARRAY
#define BECK_PT_KIND_ARR_I64 BECK_PK_ARRAY
#define BECK_PT_KIND_ARR_STR BECK_PK_ARRAY
#define BECK_PT_KIND_ARR_UUID BECK_PK_ARRAY
#define BECK_PT_KIND_ARR BECK_PK_ARRAY
#define BECK_PT_KIND_STRUCT BECK_PK_STRUCT

#define BECK_PT_ELEM_ARR_I32 BECK_PK_I32
#define BECK_PT_ELEM_ARR_I64 BECK_PK_I64
#define BECK_PT_ELEM_ARR_STR BECK_PK_STR
#define BECK_PT_ELEM_ARR_UUID BECK_PK_UUID
#define BECK_PT_ELEM_ARR BECK_PK_STRUCT

#define BECK_PT_SUB_ARR(S) &desc_##S
#define BECK_PT_SUB_STRUCT(S) &desc_##S

/* kind-specific pieces with a default for everything that is not an array
 * or a struct: the _Generic-free way is one macro per kind. */
#define BECK_PT_ELEM_BOOL BECK_PK_NONE
#define BECK_PT_ELEM_I8 BECK_PK_NONE
#define BECK_PT_ELEM_I16 BECK_PK_NONE
#define BECK_PT_ELEM_I32 BECK_PK_NONE
#define BECK_PT_ELEM_I64 BECK_PK_NONE
#define BECK_PT_ELEM_U16 BECK_PK_NONE
#define BECK_PT_ELEM_U32 BECK_PK_NONE
#define BECK_PT_ELEM_F64 BECK_PK_NONE
#define BECK_PT_ELEM_UUID BECK_PK_NONE
#define BECK_PT_ELEM_UVARINT BECK_PK_NONE
#define BECK_PT_ELEM_VARINT BECK_PK_NONE
#define BECK_PT_ELEM_VARLONG BECK_PK_NONE
#define BECK_PT_ELEM_STR BECK_PK_NONE
#define BECK_PT_ELEM_BYTES BECK_PK_NONE
#define BECK_PT_ELEM_RECORDS BECK_PK_NONE
#define BECK_PT_ELEM_STRUCT BECK_PK_NONE

#define BECK_PT_SUB_BOOL(S) NULL
#define BECK_PT_SUB_I8(S) NULL
#define BECK_PT_SUB_I16(S) NULL
#define BECK_PT_SUB_I32(S) NULL
#define BECK_PT_SUB_I64(S) NULL
#define BECK_PT_SUB_U16(S) NULL
#define BECK_PT_SUB_U32(S) NULL
#define BECK_PT_SUB_F64(S) NULL
#define BECK_PT_SUB_UUID(S) NULL
#define BECK_PT_SUB_UVARINT(S) NULL
#define BECK_PT_SUB_VARINT(S) NULL
#define BECK_PT_SUB_VARLONG(S) NULL
#define BECK_PT_SUB_STR(S) NULL
#define BECK_PT_SUB_BYTES(S) NULL
#define BECK_PT_SUB_RECORDS(S) NULL
#define BECK_PT_SUB_ARR_I32(S) NULL
#define BECK_PT_SUB_ARR_I64(S) NULL
#define BECK_PT_SUB_ARR_STR(S) NULL
#define BECK_PT_SUB_ARR_UUID(S) NULL

#define DESC_FIELD(T_, kind_, name_, vmin_, vmax_, nmin_, nmax_, tag_, dflt_, sub_)                                    \
  {.name = #name_,                                                                                                     \
   .sub = BECK_PT_SUB_##kind_(sub_),                                                                                   \
   .dflt = (int64_t)(dflt_),                                                                                           \
   .offset = (uint32_t)offsetof(T_, name_),                                                                            \
   .kind = BECK_PT_KIND_##kind_,                                                                                       \
   .elem = BECK_PT_ELEM_##kind_,                                                                                       \
   .vmin = (vmin_),                                                                                                    \
   .vmax = (vmax_),                                                                                                    \
   .nmin = (nmin_),                                                                                                    \
   .nmax = (nmax_),                                                                                                    \
   .tag = (tag_)},

#define DESC_STRUCT(Name)                                                                                              \
  static const beck__proto_field_t fields_##Name[] = {BECK_MSG_##Name(DESC_FIELD, beck_proto_##Name##_t)};             \
  static const beck__proto_struct_t desc_##Name = {#Name, sizeof(beck_proto_##Name##_t), fields_##Name,                \
                                                   sizeof fields_##Name / sizeof fields_##Name[0]};

BECK_PROTO_STRUCTS(DESC_STRUCT)

#define DESC_API(key, Name, min, max, flex, adv)                                                                       \
  {key, min, max, flex, adv, #Name, &desc_##Name##Request, &desc_##Name##Response},

const beck__proto_api_t beck__proto_apis[] = {BECK_PROTO_APIS(DESC_API)};
const size_t beck__proto_apis_count = sizeof beck__proto_apis / sizeof beck__proto_apis[0];

const beck__proto_api_t *beck__proto_api(int16_t api_key) {
  for (size_t i = 0; i < beck__proto_apis_count; i++)
    if (beck__proto_apis[i].api_key == api_key)
      return &beck__proto_apis[i];
  return NULL;
}

/* The array layout the interpreter relies on: {items pointer, int32 count}. */
_Static_assert(offsetof(beck_proto_i32s_t, count) == sizeof(void *), "array layout");
_Static_assert(offsetof(beck_proto_strs_t, count) == sizeof(void *), "array layout");
_Static_assert(sizeof(beck_proto_uuids_t) == sizeof(beck_proto_i64s_t), "array layout");
