# journal tests (see test/README.md): the SQLite run journal and its observer
# (adapters/journal), on files in a temp directory.
find_package(SQLite3 REQUIRED)  # the tests also write a newer schema_version by hand
target_sources(conclave_unit_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_journal.cpp
                                          ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_journal_observer.cpp)
target_link_libraries(conclave_unit_tests PRIVATE conclave_journal SQLite::SQLite3)
conclave_add_suites(conclave_unit_tests unit journal)
