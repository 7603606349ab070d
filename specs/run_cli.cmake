# Runs the voidbox CLI once and checks what it did; used by the spec tests.
#   -DVOIDBOX=<exe> -DARGS="validate|--file|x.yaml" (| separates arguments)
#   -DEXPECT_RC=<n>
#   [-DSTDERR_FILE=<file>]  stderr must equal this file's contents exactly
#   [-DSTDOUT_REGEX=<re>]   stdout must match
#   [-DSTDERR_REGEX=<re>]   stderr must match
string(REPLACE "|" ";" args "${ARGS}")
execute_process(COMMAND ${VOIDBOX} ${args}
                RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
set(report "command: voidbox ${args}\nexit: ${rc}\n--- stdout\n${out}--- stderr\n${err}---")
if(NOT rc STREQUAL EXPECT_RC)
  message(FATAL_ERROR "expected exit code ${EXPECT_RC}\n${report}")
endif()
if(DEFINED STDERR_FILE)
  if(NOT EXISTS ${STDERR_FILE})
    message(FATAL_ERROR "missing expectation file ${STDERR_FILE}\n${report}")
  endif()
  file(READ ${STDERR_FILE} expected)
  if(NOT err STREQUAL expected)
    message(FATAL_ERROR "stderr differs from ${STDERR_FILE}\n--- expected\n${expected}${report}")
  endif()
endif()
if(DEFINED STDOUT_REGEX AND NOT out MATCHES "${STDOUT_REGEX}")
  message(FATAL_ERROR "stdout does not match '${STDOUT_REGEX}'\n${report}")
endif()
if(DEFINED STDERR_REGEX AND NOT err MATCHES "${STDERR_REGEX}")
  message(FATAL_ERROR "stderr does not match '${STDERR_REGEX}'\n${report}")
endif()
