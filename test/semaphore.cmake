# The shared waiter list (pure logic) and the async semaphore built on it (on an io_context,
# one suite on four threads for TSan).
target_sources(conclave_unit_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_waiter_list.cpp)
conclave_add_suites(conclave_unit_tests unit waiter_list)

target_sources(conclave_engine_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/engine/test_semaphore.cpp
                                             ${CMAKE_CURRENT_SOURCE_DIR}/engine/test_upkeep.cpp)
conclave_add_suites(conclave_engine_tests engine semaphore semaphore_threads upkeep)
set_tests_properties(engine.semaphore_threads PROPERTIES LABELS threads)

# The HTTP client's upkeep (idle eviction, forgetting origins) on loopback.
target_sources(conclave_integration_tests PRIVATE
               ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_pool_upkeep.cpp)
conclave_add_suites(conclave_integration_tests integration pool_upkeep)
