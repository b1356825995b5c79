beck_unit_test(test_meta unit/core/test_meta.c 60 beck_meta)
