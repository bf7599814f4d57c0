# cli_resume tests (see test/README.md): `conclave ask` journals its run, `conclave resume`
# takes a killed one up again (replaying finished agents), refuses changed options.
target_sources(conclave_integration_tests
               PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_cli_resume.cpp)
target_link_libraries(conclave_integration_tests PRIVATE conclave_journal)
conclave_add_suites(conclave_integration_tests integration cli_resume)
