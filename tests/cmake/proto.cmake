# core/proto: the Kafka protocol codec. Included by tests/CMakeLists.txt.

beck_unit_test(test_proto unit/core/test_proto.c 60 beck_proto)
beck_unit_test(test_proto_roundtrip unit/core/test_proto_roundtrip.c 300 beck_proto)
# The seed test checks (and with BECK_WRITE_FUZZ_SEEDS=1 rewrites) the corpus.
target_compile_definitions(test_proto_roundtrip PRIVATE
  BECK_PROTO_SEED_DIR="${CMAKE_CURRENT_SOURCE_DIR}/fuzz/corpus/proto_request")
beck_unit_test(test_proto_golden unit/core/test_proto_golden.c 60 beck_proto)

if(BECK_FUZZ)
  # Run: fuzz_proto_request -max_total_time=60 <scratch dir> tests/fuzz/corpus/proto_request
  # The codec itself gets coverage instrumentation so libFuzzer can see inside it.
  target_compile_options(beck_proto PRIVATE -fsanitize=fuzzer-no-link)
  add_executable(fuzz_proto_request fuzz/fuzz_proto_request.c)
  target_compile_options(fuzz_proto_request PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_proto_request PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_proto_request PRIVATE beck_proto)
endif()
