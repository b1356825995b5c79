# core/log: the partition segment log.
beck_unit_test(test_log unit/core/test_log.c 300 beck_log)
