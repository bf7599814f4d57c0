# Warnings every conclave target compiles with; apply with conclave_warnings(target).
function(conclave_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
                                           -Wno-missing-field-initializers)
endfunction()
