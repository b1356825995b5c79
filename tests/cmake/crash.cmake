# Crash tests: kill -9 during acknowledged writes, then check nothing acked
# is missing. Included from tests/CMakeLists.txt (paths relative to tests/).
# Longer runs: BECK_CRASH_CYCLES=1000 ./build/bin/log_crash [--mode relaxed]
if(TARGET beck_log)
  add_executable(log_crash ${CMAKE_CURRENT_SOURCE_DIR}/crash/log_crash.c)
  target_link_libraries(log_crash PRIVATE beck_testlib beck_log beck_record beck_base Threads::Threads m)
  # kill -9 while appends with fsync ALWAYS are acknowledged (group commit
  # from up to 16 threads), plus simulated power cuts past the synced point
  add_test(NAME log_crash_acked_appends_survive_kill COMMAND log_crash --mode always)
  # INTERVAL / NEVER: the log reopens to a clean, dense, CRC-valid prefix
  add_test(NAME log_crash_unsynced_log_reopens_to_clean_prefix COMMAND log_crash --mode relaxed)
  set_tests_properties(log_crash_acked_appends_survive_kill log_crash_unsynced_log_reopens_to_clean_prefix
    PROPERTIES TIMEOUT 180 LABELS crash)
endif()
