# Redis scale-out suites (see test/README.md): the connection, the shared limiter and the
# limited model against a real redis-server each test starts on loopback and stops by PID.
find_program(CONCLAVE_REDIS_SERVER redis-server REQUIRED)
add_executable(conclave_redis_tests
  redis/main.cpp
  redis/test_redis_connection.cpp
  redis/test_shared_limits.cpp
  redis/test_cli_redis.cpp
  redis/test_redis_threads.cpp
  redis/test_redis_journal.cpp
  redis/test_serve_takeover.cpp
)
target_link_libraries(conclave_redis_tests PRIVATE conclave_test_support conclave_redis conclave_openai conclave_mock)
target_compile_definitions(conclave_redis_tests PRIVATE
  CONCLAVE_REDIS_SERVER="${CONCLAVE_REDIS_SERVER}" CONCLAVE_CLI="$<TARGET_FILE:conclave>"
  CONCLAVE_MOCK="$<TARGET_FILE:conclave-mock>")
add_dependencies(conclave_redis_tests conclave conclave-mock)
conclave_warnings(conclave_redis_tests)
conclave_add_suites(conclave_redis_tests redis redis_connection redis_url shared_limiter_scripts
  shared_limit_model_suite cli_redis redis_threads redis_journal
  serve_takeover)
set_tests_properties(redis.redis_threads PROPERTIES LABELS threads)
