# Runs cpack -G DEB on the build tree into a scratch directory and checks the
# split: the runtime package holds the CLI, library and unit; -dev holds the
# SDK; every plugin package holds its plugin in the plugin directory.
cmake_minimum_required(VERSION 3.25)

file(REMOVE_RECURSE ${WORK_DIR})
execute_process(COMMAND ${CPACK} -G DEB -B ${WORK_DIR} --config ${BUILD_DIR}/CPackConfig.cmake
                WORKING_DIRECTORY ${BUILD_DIR}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "cpack failed (${rc}):\n${out}\n${err}")
endif()

function(deb_contents deb out)
  execute_process(COMMAND dpkg-deb -c ${deb} OUTPUT_VARIABLE listing RESULT_VARIABLE rc)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "dpkg-deb -c ${deb} failed")
  endif()
  set(${out} "${listing}" PARENT_SCOPE)
endfunction()

function(expect_file deb pattern)
  deb_contents(${deb} listing)
  if(NOT listing MATCHES "${pattern}")
    message(FATAL_ERROR "${deb} lacks ${pattern}:\n${listing}")
  endif()
endfunction()

file(GLOB runtime ${WORK_DIR}/voidbox_*.deb)
file(GLOB dev ${WORK_DIR}/voidbox-dev_*.deb)
if(NOT runtime OR NOT dev)
  file(GLOB all ${WORK_DIR}/*.deb)
  message(FATAL_ERROR "expected voidbox and voidbox-dev packages, got: ${all}")
endif()
expect_file(${runtime} "\\./usr/bin/voidbox\n")
expect_file(${runtime} "\\./usr/lib[^ \n]*/libvoidbox\\.so\\.0")
expect_file(${runtime} "\\./usr/lib/systemd/system/voidbox\\.service")
expect_file(${dev} "\\./usr/include/voidbox/plugin_abi\\.h")
expect_file(${dev} "\\./usr/include/voidbox/sdk/plugin\\.hpp")
expect_file(${dev} "/cmake/VoidboxSDK/VoidboxSDKConfig\\.cmake")
expect_file(${dev} "\\./usr/lib[^ \n]*/libvoidbox\\.so ")
deb_contents(${runtime} listing)
if(listing MATCHES "/include/|/voidbox/plugins/lib")
  message(FATAL_ERROR "runtime package carries SDK headers or plugins:\n${listing}")
endif()

# Each plugin package depends on the runtime and ships its .so in the plugin dir.
file(GLOB plugin_debs ${WORK_DIR}/voidbox-*.deb)
list(REMOVE_ITEM plugin_debs ${dev})
foreach(deb IN LISTS plugin_debs)
  expect_file(${deb} "\\./usr/lib[^ \n]*/voidbox/plugins/lib[^ \n]*\\.so")
  execute_process(COMMAND dpkg-deb -f ${deb} Depends OUTPUT_VARIABLE depends)
  if(NOT depends MATCHES "voidbox \\(= ")
    message(FATAL_ERROR "${deb} does not depend on the runtime: ${depends}")
  endif()
  get_filename_component(name ${deb} NAME)
  message(STATUS "plugin package ${name}")
endforeach()
message(STATUS "DEB split ok")
