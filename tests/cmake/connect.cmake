# connect/ and connectors/: plugin ABI, loader, host, worker, built-in
# connectors. Included from tests/CMakeLists.txt (paths relative to tests/).
set(BECK_TEST_PLUGIN_DIR ${CMAKE_BINARY_DIR}/tests/connect-plugins)

# Test plugins: one good plugin (a source and a sink) and deliberately bad
# ones, each built from the public header alone.
function(beck_test_plugin name source)
  add_library(${name} MODULE ${source})
  set_target_properties(${name} PROPERTIES PREFIX "" LIBRARY_OUTPUT_DIRECTORY ${BECK_TEST_PLUGIN_DIR})
  target_link_libraries(${name} PRIVATE beck_connector_abi)
  target_compile_definitions(${name} PRIVATE ${ARGN})
endfunction()
beck_test_plugin(good_plugin unit/connect/plugins/good.c)
beck_test_plugin(bad_major unit/connect/plugins/bad.c BAD_MAJOR)
beck_test_plugin(bad_size unit/connect/plugins/bad.c BAD_SIZE)
beck_test_plugin(bad_no_entry unit/connect/plugins/bad.c BAD_NO_ENTRY)
beck_test_plugin(bad_no_poll unit/connect/plugins/bad.c BAD_NO_POLL)
beck_test_plugin(bad_option unit/connect/plugins/bad.c BAD_OPTION)
beck_test_plugin(bad_empty unit/connect/plugins/bad.c BAD_EMPTY)
beck_test_plugin(bad_undefined unit/connect/plugins/bad.c BAD_UNDEFINED)
set(BECK_TEST_PLUGINS good_plugin bad_major bad_size bad_no_entry bad_no_poll bad_option bad_empty bad_undefined)

beck_unit_test(test_connect_loader unit/connect/test_loader.c 60 beck_connect)
target_compile_definitions(test_connect_loader PRIVATE BECK_TEST_PLUGIN_DIR="${BECK_TEST_PLUGIN_DIR}")
add_dependencies(test_connect_loader ${BECK_TEST_PLUGINS})

# Schemas of the built-in connectors as JSON and as the option reference of
# docs/connectors.md (BECK_WRITE_DOCS=1 test_connect_describe rewrites it).
beck_unit_test(test_connect_describe unit/connect/test_describe.c 60 beck_connect PkgConfig::JANSSON)
target_compile_definitions(test_connect_describe PRIVATE
  BECK_TEST_CONNECTORS_DIR="${CMAKE_BINARY_DIR}/lib/beck/connectors"
  BECK_DOCS_FILE="${PROJECT_SOURCE_DIR}/docs/connectors.md")
add_dependencies(test_connect_describe beck_connector_file beck_connector_stdout beck_connector_datagen
  beck_connector_sqlite beck_connector_postgres)

# The SQL sinks' JSON-to-row mapping (connectors/common/rowmap.h), against
# jansson on mutated documents too.
beck_unit_test(test_connect_rowmap unit/connect/test_rowmap.c 120 beck_connector_abi PkgConfig::JANSSON m)

# Connectors driven through the host services (no topics).
add_library(beck_connect_harness STATIC unit/connect/harness.c)
target_link_libraries(beck_connect_harness PUBLIC beck_connect beck_testlib)
set(BECK_CONNECTORS beck_connector_file beck_connector_stdout beck_connector_datagen)
beck_unit_test(test_connect_file unit/connect/test_file_connectors.c 120 beck_connect_harness)
add_dependencies(test_connect_file ${BECK_CONNECTORS})
# datagen's Nexmark events against the generator itself (compiled in here
# too) and against `beck bench nexmark --generate-only`
target_sources(test_connect_file PRIVATE ${PROJECT_SOURCE_DIR}/bench/nexmark/generator.c)
target_include_directories(test_connect_file PRIVATE ${PROJECT_SOURCE_DIR}/bench/nexmark)
if(TARGET beck AND BECK_BENCH)
  target_compile_definitions(test_connect_file PRIVATE BECK_BIN="$<TARGET_FILE:beck>")
  add_dependencies(test_connect_file beck)
endif()

# The worker over an embedded log client, with the test plugin.
beck_unit_test(test_connect_worker unit/connect/test_worker.c 180 beck_connect beck_client)
target_compile_definitions(test_connect_worker PRIVATE BECK_TEST_PLUGIN_DIR="${BECK_TEST_PLUGIN_DIR}"
  BECK_TEST_EXAMPLES_DIR="${CMAKE_BINARY_DIR}/lib/beck/examples")
add_dependencies(test_connect_worker good_plugin beck_connector_template)
# the same worker tests with the remote client (librdkafka) against `beck broker`
if(TARGET beck)
  add_dependencies(test_connect_worker beck)
  add_test(NAME test_connect_worker_remote COMMAND test_connect_worker remote)
  set_tests_properties(test_connect_worker_remote PROPERTIES TIMEOUT 300
    ENVIRONMENT "BECK_BIN=$<TARGET_FILE:beck>;BECK_PLUGIN_KEEP_LOADED=1")
endif()

beck_unit_test(test_connect_sqlite unit/connect/test_sqlite_connectors.c 120 beck_connect_harness PkgConfig::SQLITE3)
add_dependencies(test_connect_sqlite beck_connector_sqlite)

# Runs a worker over a data directory until SIGTERM (for kill -9 tests).
add_executable(connect_runner connect/connect_runner.c)
target_link_libraries(connect_runner PRIVATE beck_connect beck_client)

# Built-in connectors against a real PostgreSQL started by the test (as the
# postgres user), plus the worker round trips and kill -9 runs.
set(BECK_CONNECTORS ${BECK_CONNECTORS} beck_connector_sqlite beck_connector_postgres)
beck_unit_test(test_connect_postgres unit/connect/test_postgres_connectors.c 900 beck_connect_harness beck_client)
target_sources(test_connect_postgres PRIVATE unit/connect/pgfixture.c)
target_compile_definitions(test_connect_postgres PRIVATE BECK_CONNECT_RUNNER="$<TARGET_FILE:connect_runner>")
add_dependencies(test_connect_postgres ${BECK_CONNECTORS} connect_runner)

# The SDK out of the tree: install the header + pkg-config file, build the
# template plugin with them alone, run data through it.
add_test(NAME connect_out_of_tree_plugin
  COMMAND sh ${CMAKE_CURRENT_SOURCE_DIR}/connect/out_of_tree.sh ${CMAKE_BINARY_DIR} $<TARGET_FILE:connect_runner>
          ${PROJECT_SOURCE_DIR}/docs/connectors.md)
set_tests_properties(connect_out_of_tree_plugin PROPERTIES TIMEOUT 120)

# Plugins stay mapped until exit so sanitizer reports can name their code
# (and libraries they pull in, like libpq's, are not reported as leaked when
# unloaded).
set_tests_properties(test_connect_loader test_connect_describe test_connect_file test_connect_worker test_connect_sqlite
  test_connect_postgres connect_out_of_tree_plugin PROPERTIES ENVIRONMENT "BECK_PLUGIN_KEEP_LOADED=1")

# `beck connector list|describe` against the built-in plugins (read with
# ctypes for the expected values) and plugins compiled by the test.
if(TARGET beck)
  beck_integration_test(integration_connector_cli test_connector_cli.py 120)
endif()

# Under sanitizers the test loads instrumented plugins into Python with
# ctypes: ASan's runtime must come first in the process (LD_PRELOAD), and
# Python's own allocations are not ours to leak-check.
if(BECK_SANITIZE AND TEST integration_connector_cli)
  execute_process(COMMAND ${CMAKE_C_COMPILER} -print-file-name=libasan.so OUTPUT_VARIABLE BECK_ASAN_LIB
                  OUTPUT_STRIP_TRAILING_WHITESPACE)
  set_property(TEST integration_connector_cli APPEND PROPERTY ENVIRONMENT
               "LD_PRELOAD=${BECK_ASAN_LIB}" "ASAN_OPTIONS=detect_leaks=0:verify_asan_link_order=0")
endif()
