# pipeline: the expression language (streams/expr) and the YAML pipeline
# loader (connect/pipeline), their unit tests and fuzz targets. Included by
# tests/CMakeLists.txt.

beck_unit_test(test_expr unit/streams/test_expr.c 60 beck_expr)

beck_unit_test(test_pipeline_loader unit/connect/test_pipeline_loader.c 120 beck_pipeline)
target_compile_definitions(test_pipeline_loader PRIVATE
  BECK_FIXTURE_DIR="${CMAKE_CURRENT_SOURCE_DIR}/unit/connect/fixtures"
  BECK_DOCS_FILE="${PROJECT_SOURCE_DIR}/docs/pipelines.md")

if(BECK_FUZZ)
  # Run: fuzz_expr -max_total_time=60 <scratch dir> tests/fuzz/corpus/expr
  add_executable(fuzz_expr fuzz/fuzz_expr.c)
  target_compile_options(fuzz_expr PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_expr PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_expr PRIVATE beck_expr)

  # Run: fuzz_pipeline_yaml -max_total_time=60 <scratch dir> tests/fuzz/corpus/pipeline_yaml
  add_executable(fuzz_pipeline_yaml fuzz/fuzz_pipeline_yaml.c)
  target_compile_options(fuzz_pipeline_yaml PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_pipeline_yaml PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_pipeline_yaml PRIVATE beck_pipeline)
endif()
