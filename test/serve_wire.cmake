# serve_wire tests (see test/README.md): the OpenAI-compatible wire of `conclave serve` (chat
# completions, models, progress lines; the Responses API), pure functions only.
target_sources(conclave_unit_tests PRIVATE
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_openai_compat.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_openai_stream.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_progress_lines.cpp
  ${CMAKE_CURRENT_SOURCE_DIR}/unit/test_responses_compat.cpp)
target_link_libraries(conclave_unit_tests PRIVATE conclave_serve)
conclave_add_suites(conclave_unit_tests unit openai_compat responses_compat)
