# task_queue tests (see test/README.md): serve's task queue and the POST /v1/tasks body, pure logic.
target_sources(conclave_unit_tests PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_task_queue.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_task_events.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_task_request.cpp)
target_link_libraries(conclave_unit_tests PRIVATE conclave_serve)
conclave_add_suites(conclave_unit_tests unit task_queue task_request)
