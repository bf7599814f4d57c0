# The serve issue's end-to-end parts: resuming a run from its recorded steps (engine).
target_sources(conclave_engine_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/engine/test_resume.cpp)
conclave_add_suites(conclave_engine_tests engine resume)

# The service end to end (see test/README.md): in-process over loopback with the mock as the
# model (task API, chat and responses, keys, hostile clients, graceful stop), and the kill -9
# proof with `conclave serve` and `conclave-mock` as child processes. The binaries' paths come
# from the CONCLAVE_CLI / CONCLAVE_MOCK definitions test/CMakeLists.txt gives this target.
target_sources(conclave_integration_tests PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_serve.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_serve_chat.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_serve_guard.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/integration/test_serve_resume.cpp)
target_link_libraries(conclave_integration_tests PRIVATE conclave_serve conclave_journal)
conclave_add_suites(conclave_integration_tests integration serve serve_resume)
set_tests_properties(integration.serve integration.serve_resume PROPERTIES TIMEOUT 300)
