/*
 * bad.c - deliberately broken plugins, one per BAD_* define, for the loader
 * tests: each must be refused with a message naming the file and reason.
 */
#include <stddef.h>
#include <stdlib.h>

#include <beck/connector.h>

static int create(const beck_connector_host_t *host, beck_connector_ctx_t *ctx, void **self) {
  *self = NULL;
  return BECK_CONNECTOR_OK;
}
__attribute__((unused)) static int poll_(void *self, beck_source_batch_t *b) { return BECK_CONNECTOR_OK; }
static void destroy(void *self) {}

#if defined(BAD_OPTION)
static const beck_connector_option_t opts[] = {
    {.name = "level", .type = BECK_CONNECTOR_OPT_INT, .default_value = "lots", .description = "Bad default."},
};
#endif

#if defined(BAD_UNDEFINED)
extern int beck_test_symbol_that_does_not_exist(void);
#endif

static const beck_connector_descriptor_t desc = {
#if defined(BAD_MAJOR)
    .abi_version = ((uint32_t)(BECK_CONNECTOR_ABI_MAJOR + 1) << 16),
#else
    .abi_version = BECK_CONNECTOR_ABI_VERSION,
#endif
#if defined(BAD_SIZE)
    .struct_size = 24,
#else
    .struct_size = sizeof(beck_connector_descriptor_t),
#endif
    .name = "bad-plugin",
    .kind = BECK_CONNECTOR_SOURCE,
    .create = create,
#if !defined(BAD_NO_POLL)
    .poll = poll_,
#endif
    .destroy = destroy,
#if defined(BAD_OPTION)
    .options = opts,
    .option_count = 1,
    .option_size = sizeof(beck_connector_option_t),
#endif
};

#if !defined(BAD_NO_ENTRY)
BECK_CONNECTOR_EXPORT const beck_connector_descriptor_t *beck_connector_entry(uint32_t host_abi, uint32_t index) {
#if defined(BAD_UNDEFINED)
  if (index == 99)
    beck_test_symbol_that_does_not_exist();
#endif
#if defined(BAD_EMPTY)
  return index == 1000 ? &desc : NULL;
#else
  return index == 0 ? &desc : NULL;
#endif
}
#else
/* exports something else, so the .so is otherwise valid */
BECK_CONNECTOR_EXPORT int not_the_entry(void) { return desc.kind == BECK_CONNECTOR_SOURCE; }
#endif
