# pipelines: the pipeline runtime (connect/pipeline: compile.c, run.c,
# ptest.c) and the example pipelines in pipelines/. Included by
# tests/CMakeLists.txt.
#
#   test_pipeline_runtime    every step kind's exact output on the test
#                            driver; the examples and the docs' examples
#                            valid against the built plugins; diffs and
#                            runtime errors as users see them
#   integration_pipelines    each example run end to end with `beck run`
#                            (embedded, --bootstrap against `beck broker`,
#                            --listen, a real PostgreSQL) with exact outputs

beck_unit_test(test_pipeline_runtime unit/connect/test_pipeline_runtime.c 120 beck_pipeline_run)
target_compile_definitions(test_pipeline_runtime PRIVATE
  BECK_FIXTURE_DIR="${CMAKE_CURRENT_SOURCE_DIR}/unit/connect/fixtures"
  BECK_PIPELINES_DIR="${PROJECT_SOURCE_DIR}/pipelines"
  BECK_DOCS_FILE="${PROJECT_SOURCE_DIR}/docs/pipelines.md"
  BECK_PLUGIN_DIR="${CMAKE_BINARY_DIR}/lib/beck/connectors")
add_dependencies(test_pipeline_runtime beck_connector_file beck_connector_stdout beck_connector_datagen
  beck_connector_sqlite beck_connector_postgres)
set_tests_properties(test_pipeline_runtime PROPERTIES ENVIRONMENT "BECK_PLUGIN_KEEP_LOADED=1")

if(TARGET beck)
  add_test(NAME integration_pipelines
    COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_pipelines.py
    WORKING_DIRECTORY ${PROJECT_SOURCE_DIR})
  set_tests_properties(integration_pipelines PROPERTIES TIMEOUT 600 LABELS integration
    ENVIRONMENT "BECK_BIN=$<TARGET_FILE:beck>;PYTHONDONTWRITEBYTECODE=1")
endif()
