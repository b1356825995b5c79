# streams/: the streams runtime. One executable per area of the runtime; all
# drive topologies through the deterministic test driver.
beck_unit_test(test_streams_stateless unit/streams/test_stateless.c 60 beck_streams PkgConfig::RDKAFKA)
beck_unit_test(test_streams_aggregate unit/streams/test_aggregate.c 60 beck_streams)
beck_unit_test(test_streams_window unit/streams/test_window.c 60 beck_streams)
beck_unit_test(test_streams_store unit/streams/test_store.c 120 beck_streams)
beck_unit_test(test_streams_join unit/streams/test_join.c 60 beck_streams)
# The runtime over the embedded log, and (same scenarios, same outputs) over
# the remote client against the built `beck broker` (started by the test on
# a free port) and against librdkafka's 3-broker mock cluster.
beck_unit_test(test_streams_runtime unit/streams/test_runtime.c 120 beck_streams PkgConfig::RDKAFKA)
add_dependencies(test_streams_runtime beck)
add_test(NAME test_streams_runtime_eos COMMAND test_streams_runtime eos)
set_tests_properties(test_streams_runtime_eos PROPERTIES TIMEOUT 120)
add_test(NAME test_streams_runtime_broker COMMAND test_streams_runtime broker)
add_test(NAME test_streams_runtime_mock COMMAND test_streams_runtime mock)
set_tests_properties(test_streams_runtime_broker test_streams_runtime_mock PROPERTIES TIMEOUT 180
                     ENVIRONMENT "BECK_BIN=$<TARGET_FILE:beck>")
# Exactly-once: a child process dies at each stage of a transaction commit;
# after a restart every output update is there exactly once.
beck_unit_test(test_streams_eos unit/streams/test_eos.c 120 beck_streams)
beck_unit_test(test_streams_oom unit/streams/test_oom.c 300 beck_streams)
# SIGKILL integration test: a windowed aggregation over 300,000 records,
# killed several times part-way and restarted, against an uninterrupted
# run: exactly equal under exactly-once, no loss and only the duplicates
# at-least-once allows otherwise (tests/streams/kill_test.py).
add_executable(kill_driver ${CMAKE_CURRENT_SOURCE_DIR}/streams/kill_driver.c)
target_link_libraries(kill_driver PRIVATE beck_streams)
add_test(NAME test_streams_kill
         COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/streams/kill_test.py --driver $<TARGET_FILE:kill_driver>
                 --records 300000 --kills 6)
set_tests_properties(test_streams_kill PROPERTIES TIMEOUT 150 LABELS crash)
