# broker: integration tests that drive the built `beck broker` with real Kafka
# clients from Debian packages (confluent-kafka/librdkafka, kafka-python, kcat).
# Each file starts its own broker on a free port and a temporary data dir.
# Debian's python on purpose: a pyenv python first on PATH does not see the
# client packages (scripts/deps.sh installs them).

# beck_integration_test(NAME FILE TIMEOUT)
function(beck_integration_test name file timeout)
  add_test(NAME ${name} COMMAND /usr/bin/python3 ${CMAKE_CURRENT_SOURCE_DIR}/integration/${file})
  set_tests_properties(${name} PROPERTIES TIMEOUT ${timeout} ENVIRONMENT "BECK_BIN=$<TARGET_FILE:beck>;PYTHONDONTWRITEBYTECODE=1"
                                          LABELS integration)
endfunction()

beck_integration_test(integration_admin test_admin.py 60)
beck_integration_test(integration_produce_consume test_produce_consume.py 90)
beck_integration_test(integration_compression test_compression.py 90)
beck_integration_test(integration_idempotence test_idempotence.py 60)
beck_integration_test(integration_offsets test_offsets.py 60)
beck_integration_test(integration_groups test_groups.py 120)
beck_integration_test(integration_restart test_restart.py 120)
beck_integration_test(integration_robustness test_robustness.py 90)
