# Driven by ctest (see CMakeLists.txt). Fails with a message at the first
# step that does not behave as a user would expect.
cmake_minimum_required(VERSION 3.25)

function(step)
  execute_process(COMMAND ${ARGN} RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    string(REPLACE ";" " " cmd "${ARGN}")
    message(FATAL_ERROR "step failed (${rc}): ${cmd}\n--- stdout\n${out}\n--- stderr\n${err}")
  endif()
  set(step_output "${out}" PARENT_SCOPE)
endfunction()

set(prefix ${WORK_DIR}/prefix)
set(example_build ${WORK_DIR}/example-build)
set(plugin_prefix ${WORK_DIR}/plugin-prefix)
set(plugin_dir ${plugin_prefix}/${INSTALL_LIBDIR}/voidbox/plugins)
set(voidbox ${prefix}/bin/voidbox)
file(REMOVE_RECURSE ${WORK_DIR})

# 1. Install the runtime and the SDK.
step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --component core)
step(${CMAKE_COMMAND} --install ${BUILD_DIR} --prefix ${prefix} --component dev)
foreach(file bin/voidbox include/voidbox/plugin_abi.h include/voidbox/sdk/plugin.hpp
        ${INSTALL_LIBDIR}/cmake/VoidboxSDK/VoidboxSDKConfig.cmake
        ${INSTALL_LIBDIR}/cmake/VoidboxSDK/VoidboxSDKConfigVersion.cmake)
  if(NOT EXISTS ${prefix}/${file})
    message(FATAL_ERROR "install is missing ${file}")
  endif()
endforeach()

# 2. Build the example out of tree against the installed SDK only, and
#    install it into its own prefix (what voidbox_sdk_add_plugin sets up).
step(${CMAKE_COMMAND} -S ${EXAMPLE_DIR} -B ${example_build} -G ${GENERATOR}
     -DCMAKE_BUILD_TYPE=RelWithDebInfo -DCMAKE_PREFIX_PATH=${prefix}
     -DCMAKE_INSTALL_PREFIX=${plugin_prefix} -DCMAKE_INSTALL_LIBDIR=${INSTALL_LIBDIR})
step(${CMAKE_COMMAND} --build ${example_build})
step(${CMAKE_COMMAND} --install ${example_build})
if(NOT EXISTS ${plugin_dir}/libexporter-jsonl.so)
  message(FATAL_ERROR "example did not install to ${plugin_dir}")
endif()

# 3. The installed voidbox finds it through VOIDBOX_PLUGIN_PATH.
step(${CMAKE_COMMAND} -E env VOIDBOX_PLUGIN_PATH=${plugin_dir} ${voidbox} plugins list)
set(listing "${step_output}")
message(STATUS "voidbox plugins list:\n${listing}")
if(NOT SDK_ABI MATCHES "^[0-9]+\\.[0-9]+$")
  message(FATAL_ERROR "SDK_ABI '${SDK_ABI}' is not MAJOR.MINOR")
endif()
string(REPLACE "." "\\." abi_re "${SDK_ABI}")
if(NOT listing MATCHES "exporter +jsonl +exporter-jsonl +1\\.0\\.0 +${abi_re} +[^\n]*/libexporter-jsonl\\.so")
  message(FATAL_ERROR "the example plugin is not listed:\n${listing}")
endif()
# Proves the installed libvoidbox (not the build tree's) did the search.
if(NOT listing MATCHES "${prefix}/${INSTALL_LIBDIR}/voidbox/plugins \\(install\\)")
  message(FATAL_ERROR "the installed voidbox did not search its own plugin dir:\n${listing}")
endif()
if(listing MATCHES "libexporter-jsonl\\.so: ")
  message(FATAL_ERROR "the example plugin failed to load:\n${listing}")
endif()

# 4. And it works: a record goes through the factory into the file.
set(out_file ${WORK_DIR}/telemetry.jsonl)
step(${CMAKE_COMMAND} -E env VOIDBOX_PLUGIN_PATH=${plugin_dir}
     ${voidbox} plugins test-exporter jsonl --config "{\"path\": \"${out_file}\"}"
     --kind span --record "{\"name\":\"boot\",\"ms\":12}" --record "{\"name\":\"exec\"}")
file(READ ${out_file} written)
set(expected "{\"kind\":\"span\",\"record\":{\"name\":\"boot\",\"ms\":12}}\n{\"kind\":\"span\",\"record\":{\"name\":\"exec\"}}\n")
if(NOT written STREQUAL expected)
  message(FATAL_ERROR "unexpected exporter output:\n${written}\nexpected:\n${expected}")
endif()

# 5. Its errors reach the user intact.
execute_process(COMMAND ${CMAKE_COMMAND} -E env VOIDBOX_PLUGIN_PATH=${plugin_dir}
                ${voidbox} plugins test-exporter jsonl --config "{}" --record "{}"
                RESULT_VARIABLE rc ERROR_VARIABLE err OUTPUT_QUIET)
if(rc EQUAL 0 OR NOT err MATCHES "config needs a \"path\" string")
  message(FATAL_ERROR "bad config was not reported (rc ${rc}):\n${err}")
endif()
message(STATUS "SDK example built against the installed SDK, loaded and used")
