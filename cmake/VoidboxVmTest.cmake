# VM tests: real boots of a stock Linux kernel on KVM.
#
# The CI machines' /dev/kvm is PVM, which cannot boot stock kernels, so every
# VM test runs through the nested harness scripts/vmtest.sh: each test boots
# its own L1 (a few seconds under TCG), so a test that wedges its L1 costs
# only its own timeout and is reported under its own name. On a host with
# hardware KVM scripts/vmtest.sh runs the test directly.
#
#   ctest -L '^vm$'              every VM test
#   ctest -R '^vm\.kvm-boot$'    one of them
include_guard(GLOBAL)

set(VOIDBOX_VM_DEFAULT_TIMEOUT 300 CACHE STRING "Default TIMEOUT of one VM test, seconds")
set(VOIDBOX_VM_L1_RETRIES 1 CACHE STRING
    "Fresh L1 boots a VM test may get when L1 itself fails (boot failure or emulation stall)")
set(VOIDBOX_VM_L1_SMP 1 CACHE STRING
    "vCPUs of each test's L1; one vCPU per L1 lets two VM tests run side by side on two cores")

# voidbox_add_vm_test(NAME <name> COMMAND <cmd> [<arg>...]
#                     [TIMEOUT <seconds>] [WORKING_DIRECTORY <dir>]
#                     [ENVIRONMENT <VAR=value>...] [LABELS <label>...]
#                     [DEPENDS <test>...] [SERIAL])
#
# Registers CTest test "vm.<name>" (label vm, plus LABELS): COMMAND runs
# through scripts/vmtest.sh as root with a /dev/kvm that boots stock kernels,
# the host's files at the same paths (writable: the repository, the build
# tree, the VoidBox cache and $TMPDIR). COMMAND may use generator expressions
# ($<TARGET_FILE:...>). There is no skip status: a VM test that cannot run
# fails. TIMEOUT covers the L1 boot; under the harness one L2 boot of a stock
# kernel costs 10-60 s, so budget generously. Each L1 has
# VOIDBOX_VM_L1_SMP vCPUs and claims as many processors from `ctest -j`, so
# VM tests run side by side; SERIAL runs the test alone (benchmarks, whose
# figures suffer from a neighbour).
function(voidbox_add_vm_test)
  cmake_parse_arguments(V "SERIAL" "NAME;TIMEOUT;WORKING_DIRECTORY"
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
  # vmtest.sh passes VOIDBOX_* through to L1; other variables need --env.
  set(env_args)
  foreach(assignment IN LISTS V_ENVIRONMENT)
    string(REGEX MATCH "^[A-Za-z_][A-Za-z0-9_]*" var "${assignment}")
    if(NOT var MATCHES "^VOIDBOX_")
      list(APPEND env_args --env ${var})
    endif()
  endforeach()
  # Paths from this file's location: include_guard(GLOBAL) means variables
  # set at include time exist only in the first includer's directory scope.
  cmake_path(SET vmtest NORMALIZE "${CMAKE_CURRENT_FUNCTION_LIST_DIR}/../scripts/vmtest.sh")
  set(test vm.${V_NAME})
  add_test(NAME ${test}
           COMMAND ${vmtest} --timeout ${V_TIMEOUT} --retries ${VOIDBOX_VM_L1_RETRIES}
                   --smp ${VOIDBOX_VM_L1_SMP}
                   --share ${CMAKE_BINARY_DIR} ${env_args} -- ${V_COMMAND}
           WORKING_DIRECTORY ${V_WORKING_DIRECTORY})
  # CTest's own timeout sits above vmtest.sh's (which may retry once) so
  # that the harness reports first.
  math(EXPR ctest_timeout "${V_TIMEOUT} * (${VOIDBOX_VM_L1_RETRIES} + 1) + 60")
  set_tests_properties(${test} PROPERTIES
    LABELS "vm;${V_LABELS}"
    PROCESSORS ${VOIDBOX_VM_L1_SMP}
    RUN_SERIAL ${V_SERIAL}
    TIMEOUT ${ctest_timeout}
    # Longest first (CTest starts higher costs first), so that on two cores a
    # long VM test does not start last and run alone at the end.
    COST ${V_TIMEOUT}
    ENVIRONMENT "VOIDBOX_BUILD_DIR=${CMAKE_BINARY_DIR};VOIDBOX_SOURCE_DIR=${CMAKE_SOURCE_DIR};${V_ENVIRONMENT}")
  if(V_DEPENDS)
    set_tests_properties(${test} PROPERTIES DEPENDS "${V_DEPENDS}")
  endif()
endfunction()
