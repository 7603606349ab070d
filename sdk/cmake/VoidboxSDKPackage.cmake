# Installs the SDK as a CMake package (component dev): headers, the exported
# Voidbox::sdk target, VoidboxSDKConfig.cmake and its version file.
include(CMakePackageConfigHelpers)

set(voidbox_sdk_cmake_dir ${CMAKE_INSTALL_LIBDIR}/cmake/VoidboxSDK)

file(STRINGS ${CMAKE_CURRENT_SOURCE_DIR}/include/voidbox/plugin_abi.h abi_lines
     REGEX "^#define VOIDBOX_ABI_(MAJOR|MINOR) ")
foreach(line IN LISTS abi_lines)
  if(line MATCHES "VOIDBOX_ABI_(MAJOR|MINOR) ([0-9]+)")
    set(VOIDBOX_ABI_${CMAKE_MATCH_1} ${CMAKE_MATCH_2})
  endif()
endforeach()

install(TARGETS voidbox_sdk EXPORT VoidboxSDKTargets COMPONENT dev)
install(EXPORT VoidboxSDKTargets NAMESPACE Voidbox:: DESTINATION ${voidbox_sdk_cmake_dir}
        COMPONENT dev)

configure_package_config_file(
  ${CMAKE_CURRENT_SOURCE_DIR}/cmake/VoidboxSDKConfig.cmake.in
  ${CMAKE_CURRENT_BINARY_DIR}/VoidboxSDKConfig.cmake
  INSTALL_DESTINATION ${voidbox_sdk_cmake_dir}
  PATH_VARS CMAKE_INSTALL_INCLUDEDIR VOIDBOX_PLUGIN_INSTALL_DIR)
# Plugins built against 0.x only promise to load into the same 0.x release
# line; the ABI check at load time is the real gate.
write_basic_package_version_file(
  ${CMAKE_CURRENT_BINARY_DIR}/VoidboxSDKConfigVersion.cmake
  VERSION ${PROJECT_VERSION}
  COMPATIBILITY SameMinorVersion
  ARCH_INDEPENDENT)
install(FILES ${CMAKE_CURRENT_BINARY_DIR}/VoidboxSDKConfig.cmake
              ${CMAKE_CURRENT_BINARY_DIR}/VoidboxSDKConfigVersion.cmake
        DESTINATION ${voidbox_sdk_cmake_dir} COMPONENT dev)
