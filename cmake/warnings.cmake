# Warnings every conclave target compiles with; apply with conclave_warnings(target).
function(conclave_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wno-missing-field-initializers)
  if(CMAKE_CXX_COMPILER_ID STREQUAL "GNU")
    # GCC 12 false positives: Asio's awaitable frame operator new/delete pair, and
    # std::string copies at -O2 (GCC bug 105329).
    target_compile_options(${target} PRIVATE -Wno-mismatched-new-delete -Wno-restrict)
  endif()
endfunction()
