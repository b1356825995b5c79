# reliability: faults and hostile input for the broker (issue 8), the CI-sized
# variants. Included by tests/CMakeLists.txt (paths relative to tests/).
# The long runs are tests/reliability_long.sh; figures in docs/reliability.md.
#
#   reliability_kill_loop      kill -9 the broker under an idempotent acks=all
#                              producer, 30 cycles; every acknowledged record
#                              exactly once, dense offsets, CRCs
#   reliability_disk_full      data dir on an 8 MiB tmpfs (loop ext4 fallback):
#                              KAFKA_STORAGE_ERROR promptly, nothing partial,
#                              produce works again once space is freed
#   reliability_connections    10,000 idle connections while a producer and a
#                              consumer keep working
# Hostile clients (with RSS) are in integration_robustness (broker.cmake).

if(TARGET beck)
  set(_beck_py_env "BECK_BIN=$<TARGET_FILE:beck>;PYTHONDONTWRITEBYTECODE=1")
  add_test(NAME reliability_kill_loop
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/crash/broker_kill_loop.py --cycles 30)
  add_test(NAME reliability_disk_full
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_disk_full.py)
  add_test(NAME reliability_connections
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_many_connections.py)
  set_tests_properties(reliability_kill_loop PROPERTIES TIMEOUT 240 LABELS "reliability;crash"
                       ENVIRONMENT "${_beck_py_env}")
  set_tests_properties(reliability_disk_full PROPERTIES TIMEOUT 180 LABELS "reliability;integration"
                       ENVIRONMENT "${_beck_py_env}")
  # 10,000 sockets on each side: not alongside other tests
  set_tests_properties(reliability_connections PROPERTIES TIMEOUT 240 LABELS "reliability;integration"
                       ENVIRONMENT "${_beck_py_env}" RUN_SERIAL TRUE)
endif()

if(BECK_FUZZ)
  # tests/fuzz/run_fuzzers.sh builds and runs every fuzz target; by hand:
  #   fuzz_segment_recovery -max_total_time=60 <scratch dir> tests/fuzz/corpus/segment_recovery
  add_executable(fuzz_segment_recovery fuzz/fuzz_segment_recovery.c)
  target_compile_options(fuzz_segment_recovery PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_segment_recovery PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_segment_recovery PRIVATE beck_log beck_record beck_base)
endif()

if(BECK_FUZZ AND TARGET beck_connect)
  #   fuzz_connector_config -max_total_time=60 <scratch dir> tests/fuzz/corpus/connector_config
  add_executable(fuzz_connector_config fuzz/fuzz_connector_config.c)
  target_compile_options(fuzz_connector_config PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_options(fuzz_connector_config PRIVATE -fsanitize=fuzzer,address,undefined)
  target_link_libraries(fuzz_connector_config PRIVATE beck_connect)
endif()
