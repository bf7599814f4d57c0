# The serve issue's end-to-end parts: resuming a run from its recorded steps (engine).
target_sources(conclave_engine_tests PRIVATE ${CMAKE_CURRENT_SOURCE_DIR}/engine/test_resume.cpp)
conclave_add_suites(conclave_engine_tests engine resume)
