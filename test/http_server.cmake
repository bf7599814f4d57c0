# http_server tests (see test/README.md): the server layer with raw hostile clients, and its
# router without sockets.
target_sources(conclave_integration_tests PRIVATE
               ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_http_server.cpp)
target_sources(conclave_unit_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_http_router.cpp)
conclave_add_suites(conclave_integration_tests integration http_server)
conclave_add_suites(conclave_unit_tests unit http_router)
