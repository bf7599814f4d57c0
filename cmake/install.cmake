# Installs the libraries and headers with an exported package, so a host can
# find_package(conclave) and link conclave::engine / conclave::adapters.
include(GNUInstallDirs)
include(CMakePackageConfigHelpers)

# Exported as conclave::engine, conclave::adapters, conclave::http...
foreach(part asio engine beast http provider openai anthropic mock tools mcp adapters)
  set_target_properties(conclave_${part} PROPERTIES EXPORT_NAME ${part})
endforeach()

install(TARGETS conclave_asio conclave_engine conclave_beast conclave_http conclave_provider
                conclave_openai conclave_anthropic conclave_mock conclave_tools conclave_mcp
                conclave_adapters
        EXPORT conclave-targets
        ARCHIVE DESTINATION ${CMAKE_INSTALL_LIBDIR}
        LIBRARY DESTINATION ${CMAKE_INSTALL_LIBDIR}
        RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
install(DIRECTORY engine/include/ adapters/http/include/ adapters/common/include/
                  adapters/openai/include/ adapters/anthropic/include/ adapters/mock/include/
                  adapters/tools/include/ adapters/mcp/include/
        DESTINATION ${CMAKE_INSTALL_INCLUDEDIR})
install(EXPORT conclave-targets NAMESPACE conclave::
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/conclave)
configure_package_config_file(cmake/conclaveConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/conclaveConfig.cmake
  INSTALL_DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/conclave)
write_basic_package_version_file(${CMAKE_CURRENT_BINARY_DIR}/conclaveConfigVersion.cmake
  COMPATIBILITY SameMinorVersion)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/conclaveConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/conclaveConfigVersion.cmake
        DESTINATION ${CMAKE_INSTALL_LIBDIR}/cmake/conclave)
if(CONCLAVE_BUILD_APPS)
  install(TARGETS conclave conclave-mock RUNTIME DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()
