/*
 * api.c - the public table of supported APIs and version predicates, built
 * from BECK_PROTO_APIS (messages.h), the same list desc.c uses.
 */
#include "proto/proto.h"

#include "proto/proto_int.h"

#define API_INFO(key, Name, min, max, flex, adv) {key, #Name, min, max, flex, adv},

const beck_proto_api_info_t beck_proto_api_table[] = {BECK_PROTO_APIS(API_INFO)};
const size_t beck_proto_api_count = sizeof beck_proto_api_table / sizeof beck_proto_api_table[0];

const beck_proto_api_info_t *beck_proto_api_lookup(int16_t api_key) {
  for (size_t i = 0; i < beck_proto_api_count; i++)
    if (beck_proto_api_table[i].api_key == api_key)
      return &beck_proto_api_table[i];
  return NULL;
}

bool beck_proto_version_supported(int16_t api_key, int16_t version) {
  const beck_proto_api_info_t *a = beck_proto_api_lookup(api_key);
  return a != NULL && version >= a->min_version && version <= a->max_version;
}

bool beck_proto_is_flexible(int16_t api_key, int16_t version) {
  const beck_proto_api_info_t *a = beck_proto_api_lookup(api_key);
  return a != NULL && version >= a->flexible_from;
}

const char *beck_proto_api_name(int16_t api_key) {
  const beck_proto_api_info_t *a = beck_proto_api_lookup(api_key);
  return a ? a->name : "Unknown";
}
