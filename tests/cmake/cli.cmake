# cli: the `beck` client commands (topic, produce, consume, group, cluster)
# against the built broker, each effect checked with confluent-kafka and
# kcat. Uses beck_integration_test() from broker.cmake (included first).
beck_integration_test(integration_cli test_cli.py 300)
