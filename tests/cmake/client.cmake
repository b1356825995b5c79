# core/client: the log client. The same scenarios run embedded, against the
# built `beck broker` (started by the test on a free port) and against
# librdkafka's mock cluster with 3 brokers; the outputs must be identical.
beck_unit_test(test_client unit/core/test_client.c 60 beck_client beck_topic PkgConfig::RDKAFKA)
add_dependencies(test_client beck)
add_test(NAME test_client_broker COMMAND test_client broker)
add_test(NAME test_client_mock COMMAND test_client mock)
set_tests_properties(test_client_broker test_client_mock PROPERTIES TIMEOUT 60 ENVIRONMENT "BECK_BIN=$<TARGET_FILE:beck>")
# core/client: transactions of the embedded client (txn.c), including
# recovery after a process died at each stage of a commit.
beck_unit_test(test_client_txn unit/core/test_client_txn.c 60 beck_client beck_topic)
