# group: core/group (consumer-group coordinator) scenarios with simulated time.
beck_unit_test(test_group unit/core/test_group.c 60 beck_group beck_meta)
