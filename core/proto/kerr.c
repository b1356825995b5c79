/* kerr.c - names and messages of Kafka's wire error codes (see kerr.h). */
#include "proto/kerr.h"

const char *beck_kerr_name(int code) {
  switch (code) {
#define BECK_KERR_NAME(name, value, msg)                                                                               \
  case value:                                                                                                          \
    return #name;
    BECK_KERR_MAP(BECK_KERR_NAME)
#undef BECK_KERR_NAME
  }
  return "UNKNOWN";
}

const char *beck_kerr_message(int code) {
  switch (code) {
#define BECK_KERR_MSG(name, value, msg)                                                                                \
  case value:                                                                                                          \
    return msg;
    BECK_KERR_MAP(BECK_KERR_MSG)
#undef BECK_KERR_MSG
  }
  return "unknown Kafka error code";
}

int beck_kerr_known(int code) {
  switch (code) {
#define BECK_KERR_CASE(name, value, msg) case value:
    BECK_KERR_MAP(BECK_KERR_CASE)
#undef BECK_KERR_CASE
    return 1;
  }
  return 0;
}
