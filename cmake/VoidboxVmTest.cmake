# VM tests: real boots of a stock Linux kernel on KVM.
#
# The CI machines' /dev/kvm is PVM, which cannot boot stock kernels, so VM
# tests run inside the nested harness scripts/vmtest.sh. Booting its L1 VM
# costs seconds, so all VM tests share one L1: each is registered as an
# "inner" test (label vm-inner) and one outer test, vm-suite (label vm),
# runs `ctest -L ^vm-inner$` inside scripts/vmtest.sh. On a host with
# hardware KVM scripts/vmtest.sh runs that ctest directly.
#
#   ctest -L '^vm$'                       all VM tests, the way CI runs them
#   scripts/vmtest.sh -- ctest --test-dir build -L '^vm-inner$' -R NAME
#                                         one VM test, by hand
#
# An inner test started outside scripts/vmtest.sh reports Skipped (see
# tests/vm/lib/inner-guard.sh) instead of hanging on PVM or running twice.
include_guard(GLOBAL)

set(VOIDBOX_VM_SUITE_TIMEOUT 3000 CACHE STRING
    "Seconds the whole VM suite (one L1 boot + every inner VM test) may take")
set(VOIDBOX_VM_SUITE_PARALLEL 1 CACHE STRING
    "Inner VM tests run at once inside L1 (it has 2 vCPUs; timings are only comparable at 1)")
set(VOIDBOX_VM_DEFAULT_TIMEOUT 300 CACHE STRING "Default TIMEOUT of one inner VM test, seconds")


# voidbox_add_vm_test(NAME <name> COMMAND <cmd> [<arg>...]
#                     [TIMEOUT <seconds>] [WORKING_DIRECTORY <dir>]
#                     [ENVIRONMENT <VAR=value>...] [LABELS <label>...]
#                     [DEPENDS <test>...])
#
# Registers CTest test "vm.<name>", labelled vm-inner (plus LABELS), run by
# vm-suite inside the harness with /dev/kvm able to boot stock kernels, as
# root, with the repository, the build tree and the VoidBox cache writable.
# COMMAND may use generator expressions ($<TARGET_FILE:...>). Exit status 77
# means skipped. Keep TIMEOUT realistic: an L2 boot of a stock kernel costs
# about 10 s under the harness, so budget tens of seconds per boot.
function(voidbox_add_vm_test)
  cmake_parse_arguments(V "" "NAME;TIMEOUT;WORKING_DIRECTORY"
                        "COMMAND;ENVIRONMENT;LABELS;DEPENDS" ${ARGN})
  if(NOT V_NAME OR NOT V_COMMAND)
    message(FATAL_ERROR "voidbox_add_vm_test needs NAME and COMMAND")
  endif()
  if(V_UNPARSED_ARGUMENTS)
    message(FATAL_ERROR "voidbox_add_vm_test(${V_NAME}): unknown arguments ${V_UNPARSED_ARGUMENTS}")
  endif()
  if(NOT V_TIMEOUT)
    set(V_TIMEOUT ${VOIDBOX_VM_DEFAULT_TIMEOUT})
  endif()
  if(NOT V_WORKING_DIRECTORY)
    set(V_WORKING_DIRECTORY ${CMAKE_CURRENT_BINARY_DIR})
  endif()
  # Paths from this file's location: include_guard(GLOBAL) means variables
  # set at include time exist only in the first includer's directory scope.
  cmake_path(SET guard NORMALIZE "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../tests/vm/lib/inner-guard.sh")
  set(test vm.${V_NAME})
  add_test(NAME ${test} COMMAND ${guard} ${V_COMMAND}
           WORKING_DIRECTORY ${V_WORKING_DIRECTORY})
  set_tests_properties(${test} PROPERTIES
    LABELS "vm-inner;${V_LABELS}"
    TIMEOUT ${V_TIMEOUT}
    SKIP_RETURN_CODE 77
    ENVIRONMENT "VOIDBOX_BUILD_DIR=${CMAKE_BINARY_DIR};VOIDBOX_SOURCE_DIR=${CMAKE_SOURCE_DIR};${V_ENVIRONMENT}")
  if(V_DEPENDS)
    set_tests_properties(${test} PROPERTIES DEPENDS "${V_DEPENDS}")
  endif()
  set_property(GLOBAL APPEND PROPERTY VOIDBOX_VM_TESTS "${test}")
  set_property(GLOBAL APPEND PROPERTY VOIDBOX_VM_TIMEOUTS "${V_TIMEOUT}")
endfunction()

# voidbox_add_vm_suite()
# The outer test, vm-suite: boots one L1 and runs every vm-inner test in it.
# Call once (tests/vm/CMakeLists.txt does).
function(voidbox_add_vm_suite)
  get_property(done GLOBAL PROPERTY VOIDBOX_VM_SUITE_DEFINED)
  if(done)
    return()
  endif()
  set_property(GLOBAL PROPERTY VOIDBOX_VM_SUITE_DEFINED TRUE)
  cmake_path(SET vmtest NORMALIZE "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../scripts/vmtest.sh")
  add_test(NAME vm-suite
    COMMAND ${vmtest} --timeout ${VOIDBOX_VM_SUITE_TIMEOUT}
            --share ${CMAKE_BINARY_DIR}
            -- ${CMAKE_CTEST_COMMAND} --test-dir ${CMAKE_BINARY_DIR}
               -L "^vm-inner$" --output-on-failure --no-tests=error
               --parallel ${VOIDBOX_VM_SUITE_PARALLEL})
  # The L1 VM keeps both cores busy: nothing else may run beside it. CTest's
  # own timeout sits above vmtest.sh's so that the harness reports first.
  math(EXPR ctest_timeout "${VOIDBOX_VM_SUITE_TIMEOUT} + 120")
  set_tests_properties(vm-suite PROPERTIES
    LABELS vm
    RUN_SERIAL TRUE
    TIMEOUT ${ctest_timeout})
  # Once every directory has registered its inner tests, check they fit.
  cmake_language(DEFER DIRECTORY ${CMAKE_SOURCE_DIR} CALL _voidbox_vm_suite_check)
endfunction()

function(_voidbox_vm_suite_check)
  get_property(tests GLOBAL PROPERTY VOIDBOX_VM_TESTS)
  get_property(timeouts GLOBAL PROPERTY VOIDBOX_VM_TIMEOUTS)
  list(LENGTH tests n)
  set(sum 0)
  foreach(t IN LISTS timeouts)
    math(EXPR sum "${sum} + ${t}")
  endforeach()
  message(STATUS "VM suite: ${n} inner VM tests, worst case ${sum}s of "
                 "${VOIDBOX_VM_SUITE_TIMEOUT}s (VOIDBOX_VM_SUITE_TIMEOUT)")
  # TIMEOUTs are worst cases, so exceeding the suite's budget is normal; say
  # so once rather than warn on every configure.
  if(sum GREATER VOIDBOX_VM_SUITE_TIMEOUT)
    message(STATUS "VM suite: if every inner test ran to its TIMEOUT, vm-suite's own timeout "
                   "would end the run first")
  endif()
endfunction()
