# pipeline: the expression language (streams/expr) and the YAML pipeline
# loader (connect/pipeline), their unit tests and fuzz targets. Included by
# tests/CMakeLists.txt.

beck_unit_test(test_expr unit/streams/test_expr.c 60 beck_expr)

beck_unit_test(test_pipeline_loader unit/connect/test_pipeline_loader.c 120 beck_pipeline)
target_compile_definitions(test_pipeline_loader PRIVATE
  BECK_FIXTURE_DIR="${CMAKE_CURRENT_SOURCE_DIR}/unit/connect/fixtures"
  BECK_DOCS_FILE="${PROJECT_SOURCE_DIR}/docs/pipelines.md")
