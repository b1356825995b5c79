# group: core/group (consumer-group coordinator) scenarios with simulated time.
# sqlite3 directly only to break the store behind the coordinator's back.
beck_unit_test(test_group unit/core/test_group.c 60 beck_group beck_meta PkgConfig::SQLITE3)
