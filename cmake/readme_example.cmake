# The README's "## Library" code block, compiled and run by the tests, so the README and the
# code cannot drift: conclave_readme_example(TARGET README OUTPUT) reads README at configure
# time, takes the first ```cpp block of that section, writes it to OUTPUT (rewritten only when
# it changed) and adds TARGET, an executable built from it against conclave::engine and
# conclave::adapters. Editing the README reconfigures.
function(conclave_readme_example target readme output)
  set_property(DIRECTORY APPEND PROPERTY CMAKE_CONFIGURE_DEPENDS ${readme})
  file(READ ${readme} text)
  set(heading "\n## Library\n")
  string(FIND "${text}" "${heading}" at)
  if(at EQUAL -1)
    message(FATAL_ERROR "${readme}: no '## Library' section")
  endif()
  string(LENGTH "${heading}" skip)
  math(EXPR at "${at} + ${skip}")
  string(SUBSTRING "${text}" ${at} -1 section)
  string(FIND "${section}" "\n## " next)  # the section ends at the next heading
  if(NOT next EQUAL -1)
    string(SUBSTRING "${section}" 0 ${next} section)
  endif()
  set(fence "```cpp\n")
  string(FIND "${section}" "${fence}" open)
  if(open EQUAL -1)
    message(FATAL_ERROR "${readme}: the '## Library' section has no ```cpp block")
  endif()
  string(LENGTH "${fence}" skip)
  math(EXPR open "${open} + ${skip}")
  string(SUBSTRING "${section}" ${open} -1 code)
  string(FIND "${code}" "\n```" close)
  if(close EQUAL -1)
    message(FATAL_ERROR "${readme}: the '## Library' section's ```cpp block is not closed")
  endif()
  math(EXPR close "${close} + 1")  # keep the last line's newline
  string(SUBSTRING "${code}" 0 ${close} code)

  file(WRITE ${output}.new "${code}")
  file(COPY_FILE ${output}.new ${output} ONLY_IF_DIFFERENT)
  file(REMOVE ${output}.new)

  add_executable(${target} ${output})
  target_link_libraries(${target} PRIVATE conclave::engine conclave::adapters)
  conclave_warnings(${target})
endfunction()
