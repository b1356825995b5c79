# reliability_pipeline: a whole YAML pipeline killed with SIGKILL (issue 8,
# "Connect and pipelines"). Included by tests/CMakeLists.txt (paths relative
# to tests/). The long variant is `tests/reliability_long.sh pipeline`;
# figures in docs/reliability.md.
#
#   reliability_pipeline_kill  `beck run` of a file source -> copy, windowed
#                              aggregate, dead letters -> sqlite sinks, killed
#                              8 times at random (half of them in a burst of
#                              input) while its input file grows, once more
#                              while it closes its windows, then run to its
#                              end; exactly-once and at-least-once: every
#                              record, window and dead letter checked against
#                              the input and an uninterrupted run

if(TARGET beck)
  add_test(NAME reliability_pipeline_kill
           COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_pipeline_kill.py --cycles 8)
  set_tests_properties(reliability_pipeline_kill PROPERTIES TIMEOUT 240 LABELS "reliability;crash"
                       ENVIRONMENT "BECK_BIN=$<TARGET_FILE:beck>;PYTHONDONTWRITEBYTECODE=1")
endif()
