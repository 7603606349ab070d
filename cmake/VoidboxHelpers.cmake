# Shared build conventions: warnings, plugin targets, unit tests.

# voidbox_find_package(<Package> DEBIAN <debian-package> [find_package args...])
# find_package() that fails configuration naming the Debian package to
# install, so nothing is ever silently left out of the build.
macro(voidbox_find_package vfp_name)
  cmake_parse_arguments(VFP "" "DEBIAN" "" ${ARGN})
  find_package(${vfp_name} ${VFP_UNPARSED_ARGUMENTS} QUIET)
  if(NOT ${vfp_name}_FOUND)
    message(FATAL_ERROR "${vfp_name} not found: apt-get install ${VFP_DEBIAN}")
  endif()
endmacro()

# voidbox_pkg_check(<prefix> <module> DEBIAN <debian-package>)
# pkg_check_modules() with an IMPORTED_TARGET, failing like voidbox_find_package.
macro(voidbox_pkg_check vpc_prefix vpc_module)
  cmake_parse_arguments(VPC "" "DEBIAN" "" ${ARGN})
  pkg_check_modules(${vpc_prefix} QUIET IMPORTED_TARGET ${vpc_module})
  if(NOT ${vpc_prefix}_FOUND)
    message(FATAL_ERROR "${vpc_module} not found: apt-get install ${VPC_DEBIAN}")
  endif()
endmacro()

function(voidbox_set_warnings target)
  target_compile_options(${target} PRIVATE -Wall -Wextra -Wpedantic -Wshadow
    -Wcast-align -Wnull-dereference -Wimplicit-fallthrough
    $<$<COMPILE_LANGUAGE:CXX>:-Wnon-virtual-dtor>)
  if(VOIDBOX_WARNINGS_AS_ERRORS)
    target_compile_options(${target} PRIVATE -Werror)
  endif()
endfunction()

# voidbox_add_plugin(<name> SOURCES ... [LIBS ...])
# Builds lib<name>.so into the plugin directory with hidden visibility, so the
# only exported symbol is voidbox_plugin_entry.
function(voidbox_add_plugin name)
  cmake_parse_arguments(P "" "" "SOURCES;LIBS" ${ARGN})
  add_library(${name} MODULE ${P_SOURCES})
  set_target_properties(${name} PROPERTIES
    PREFIX "lib"
    CXX_VISIBILITY_PRESET hidden
    C_VISIBILITY_PRESET hidden
    VISIBILITY_INLINES_HIDDEN ON
    LIBRARY_OUTPUT_DIRECTORY ${VOIDBOX_PLUGIN_BUILD_DIR})
  target_link_libraries(${name} PRIVATE voidbox_sdk ${P_LIBS})
  target_link_options(${name} PRIVATE -Wl,--no-undefined -Wl,-z,defs)
  voidbox_set_warnings(${name})
  string(TOUPPER "${name}" upper)
  string(REPLACE "-" "_" upper "${upper}")
  install(TARGETS ${name} LIBRARY DESTINATION ${VOIDBOX_PLUGIN_INSTALL_DIR}
          COMPONENT ${name})
endfunction()

# voidbox_add_test(<name> SOURCES ... [LIBS ...] [LABELS ...])
# One GoogleTest executable, each test case registered with CTest.
function(voidbox_add_test name)
  cmake_parse_arguments(T "" "" "SOURCES;LIBS;LABELS" ${ARGN})
  add_executable(${name} ${T_SOURCES})
  target_link_libraries(${name} PRIVATE GTest::gtest_main GTest::gmock ${T_LIBS})
  set_target_properties(${name} PROPERTIES RUNTIME_OUTPUT_DIRECTORY ${CMAKE_BINARY_DIR}/tests)
  voidbox_set_warnings(${name})
  if(NOT T_LABELS)
    set(T_LABELS unit)
  endif()
  gtest_discover_tests(${name}
    PROPERTIES LABELS "${T_LABELS}"
    ENVIRONMENT "VOIDBOX_BUILD_DIR=${CMAKE_BINARY_DIR};VOIDBOX_SOURCE_DIR=${CMAKE_SOURCE_DIR}"
    DISCOVERY_TIMEOUT 60)
endfunction()

include(GoogleTest)

# Adds every immediate subfolder that has a CMakeLists.txt, in name order.
# The glob is re-checked at build time, so a new folder needs no edit here.
function(voidbox_add_subdirectories)
  file(GLOB parts CONFIGURE_DEPENDS RELATIVE ${CMAKE_CURRENT_SOURCE_DIR} */CMakeLists.txt)
  list(SORT parts)
  foreach(part IN LISTS parts)
    get_filename_component(dir ${part} DIRECTORY)
    add_subdirectory(${dir})
  endforeach()
endfunction()
