/*
 * remote.c - the remote log client over librdkafka (not yet implemented).
 */
#include "client/client_int.h"

beck_err_t beck_client_open_remote(const char *bootstrap, const char *const *conf_keys,
                                   const char *const *conf_values, int n, beck_client_t **out, beck_error_t *e) {
  *out = NULL;
  return beck_error_set(e, BECK_ERR_UNSUPPORTED, "remote client: not implemented yet");
}
