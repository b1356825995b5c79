# core/proto: the Kafka protocol codec.
beck_unit_test(test_proto unit/core/test_proto.c 60 beck_proto)
beck_unit_test(test_proto_roundtrip unit/core/test_proto_roundtrip.c 300 beck_proto)
beck_unit_test(test_proto_golden unit/core/test_proto_golden.c 60 beck_proto)
