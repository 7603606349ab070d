# Runs `systemd-analyze verify` on the daemon's unit (the copy whose
# ExecStart names the build tree's binary) and fails on any error or on any
# complaint about the unit's own lines; checks that the installed unit
# starts `voidbox serve`.
# Usage: cmake -DANALYZE=... -DUNIT=... -DINSTALLED_UNIT=... -P check_systemd_unit.cmake
foreach(var ANALYZE UNIT INSTALLED_UNIT)
  if(NOT DEFINED ${var})
    message(FATAL_ERROR "${var} is not set")
  endif()
endforeach()

file(READ ${INSTALLED_UNIT} installed)
if(NOT installed MATCHES "\nExecStart=/[^\n]*/voidbox [^\n]*serve")
  message(FATAL_ERROR "${INSTALLED_UNIT}: ExecStart does not run `voidbox ... serve`")
endif()
file(READ ${UNIT} unit)
string(REGEX MATCH "\nExecStart=([^ \n]+)" _ "${unit}")
if(NOT EXISTS "${CMAKE_MATCH_1}")
  message(FATAL_ERROR "the unit's ExecStart binary ${CMAKE_MATCH_1} is not built")
endif()

# --man=no: no voidbox(1) page ships yet, so the Documentation= man link
# cannot resolve; everything else is checked.
execute_process(COMMAND ${ANALYZE} verify --man=no ${UNIT}
  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
message(STATUS "systemd-analyze verify: exit ${rc}\n${out}${err}")
if(NOT rc EQUAL 0)
  message(FATAL_ERROR "systemd-analyze verify failed (exit ${rc})")
endif()
if("${out}${err}" MATCHES "voidbox\\.service:[0-9]+:")
  message(FATAL_ERROR "systemd-analyze complains about lines of the unit")
endif()
