# core/client: the log client. The same scenarios run embedded, against the
# built `beck broker` and against librdkafka's mock cluster (3 brokers).
beck_unit_test(test_client unit/core/test_client.c 60 beck_client beck_topic PkgConfig::RDKAFKA)
