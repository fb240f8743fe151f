# latchkey_add_provider(NAME SOURCES src... [LIBS lib...] [OUTPUT_DIRECTORY dir] [NO_INSTALL]
#                       [INSTALL_DESTINATION dir])
#
# Builds the provider plugin `latchkey-<NAME>.so` (a MODULE library; CMake target
# `latchkey_provider_<NAME>`) the way every latchkey plugin must be built:
#  - only `lk_provider_entry` is exported: hidden visibility plus a generated linker version
#    script, so no libstdc++/libsodium/... symbols leak and interpose;
#  - `-Wl,-z,defs` (every library the plugin uses must be linked explicitly, e.g. LIBS
#    PkgConfig::SODIUM), `-z,now`, `-z,relro`, `-fstack-protector-strong`, and
#    `-D_FORTIFY_SOURCE=2` in optimised configurations;
#  - links the SDK (`LatchkeySDK::sdk`: latchkey/provider.h, provider.hpp, status.h).
# Inside the latchkey tree the plugin lands in ${PROJECT_BINARY_DIR}/lib/latchkey/providers
# (where bin/latchkey finds it); out of tree in the current binary directory. Both install to
# lib/latchkey/providers unless NO_INSTALL or INSTALL_DESTINATION says otherwise.
include_guard(GLOBAL)

function(latchkey_add_provider name)
  cmake_parse_arguments(P "NO_INSTALL" "OUTPUT_DIRECTORY;INSTALL_DESTINATION" "SOURCES;LIBS"
                        ${ARGN})
  if(NOT name MATCHES "^[a-z0-9-]+$")
    message(FATAL_ERROR "latchkey_add_provider: name \"${name}\" must match [a-z0-9-]+")
  endif()
  if(NOT P_SOURCES)
    message(FATAL_ERROR "latchkey_add_provider(${name}): SOURCES is required")
  endif()
  set(target latchkey_provider_${name})
  add_library(${target} MODULE ${P_SOURCES})

  set(map ${CMAKE_CURRENT_BINARY_DIR}/latchkey-${name}.map)
  file(CONFIGURE OUTPUT ${map} CONTENT "{\n  global: lk_provider_entry;\n  local: *;\n};\n")

  set_target_properties(${target} PROPERTIES
    PREFIX ""
    OUTPUT_NAME latchkey-${name}
    SUFFIX ".so"
    C_VISIBILITY_PRESET hidden
    CXX_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    POSITION_INDEPENDENT_CODE ON
    LINK_DEPENDS ${map})
  target_compile_options(${target} PRIVATE
    -fstack-protector-strong
    $<$<CONFIG:Release,RelWithDebInfo,MinSizeRel>:-D_FORTIFY_SOURCE=2>)
  target_link_options(${target} PRIVATE
    -Wl,--version-script=${map} -Wl,-z,now -Wl,-z,relro)
  if(NOT LATCHKEY_SANITIZE)
    # Sanitizer runtimes resolve at load time from the executable, which -z defs rejects.
    target_link_options(${target} PRIVATE -Wl,-z,defs)
  endif()
  target_link_libraries(${target} PRIVATE LatchkeySDK::sdk ${P_LIBS})
  if(COMMAND latchkey_warnings)
    latchkey_warnings(${target})
  endif()

  if(P_OUTPUT_DIRECTORY)
    set_target_properties(${target} PROPERTIES LIBRARY_OUTPUT_DIRECTORY ${P_OUTPUT_DIRECTORY})
  elseif(LATCHKEY_SDK_IN_TREE)
    set_target_properties(${target} PROPERTIES
      LIBRARY_OUTPUT_DIRECTORY ${PROJECT_BINARY_DIR}/lib/latchkey/providers)
  endif()
  if(NOT P_NO_INSTALL)
    if(NOT P_INSTALL_DESTINATION)
      set(P_INSTALL_DESTINATION lib/latchkey/providers)
    endif()
    install(TARGETS ${target} LIBRARY DESTINATION ${P_INSTALL_DESTINATION})
  endif()
endfunction()
