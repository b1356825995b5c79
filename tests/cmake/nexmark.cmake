# bench/nexmark: the Nexmark generator and queries. Each query runs over the
# embedded streams runtime and its rows must equal the same query in SQL,
# run by sqlite3 over the same generated events.
if(BECK_BENCH)
  beck_unit_test(test_nexmark unit/bench/test_nexmark.c 600 beck_nexmark PkgConfig::SQLITE3)
endif()
