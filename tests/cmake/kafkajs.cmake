# kafkajs: kafkajs 2.2.4 (npm, pinned in tests/integration/kafkajs/package-lock.json)
# against the built broker, run with node's built-in test runner. The file
# starts its own broker on a free port and a temporary data dir.
#
# integration_kafkajs_setup installs kafkajs with `npm ci` only when
# node_modules is missing or stale (setup.sh; scripts/deps.sh calls it too),
# so a fresh clone works with `ctest -R integration`; CTest runs it before
# integration_kafkajs (fixture), also when only the latter is selected.
find_program(BECK_NODE node)
if(NOT BECK_NODE)
  message(WARNING "node not found: integration_kafkajs will fail (node and npm are expected on PATH)")
  set(BECK_NODE node)
endif()

set(BECK_KAFKAJS_DIR ${CMAKE_CURRENT_SOURCE_DIR}/integration/kafkajs)

add_test(NAME integration_kafkajs_setup COMMAND ${BECK_KAFKAJS_DIR}/setup.sh)
set_tests_properties(integration_kafkajs_setup PROPERTIES TIMEOUT 120 FIXTURES_SETUP kafkajs_deps
                                                          LABELS integration)

add_test(NAME integration_kafkajs COMMAND ${BECK_NODE} --test ${BECK_KAFKAJS_DIR}/test_kafkajs.mjs
         WORKING_DIRECTORY ${BECK_KAFKAJS_DIR})
set_tests_properties(integration_kafkajs PROPERTIES TIMEOUT 120 ENVIRONMENT "BECK_BIN=$<TARGET_FILE:beck>"
                                                    FIXTURES_REQUIRED kafkajs_deps LABELS integration)
