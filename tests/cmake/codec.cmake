# codec: core/record/codec.c (compression codecs, compressed batches) and the
# record batch fuzz target. Included by tests/CMakeLists.txt.

beck_unit_test(test_codec unit/core/test_codec.c 120 beck_record ${SNAPPY_LIB})
# The seed test checks (and with BECK_WRITE_FUZZ_SEEDS=1 rewrites) the corpus.
target_compile_definitions(test_codec PRIVATE
  BECK_FUZZ_SEED_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/record_batch")

if(BECK_FUZZ)
  # Run: fuzz_record_batch -max_total_time=60 <scratch dir> tests/fuzz/corpus/record_batch
  add_executable(fuzz_record_batch fuzz/fuzz_record_batch.c)
  target_compile_options(fuzz_record_batch PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_record_batch PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_record_batch PRIVATE beck_record)
endif()
