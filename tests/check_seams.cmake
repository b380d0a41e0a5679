# Two rules of the probing seams, checked on the sources:
# - each method name (OPTIONS, REGISTER, INVITE) is written only in sip/ and in its own
#   prober (probes/options_prober.*, probes/register_prober.*, probes/invite_prober.*; a test
#   call's CANCEL, ACK and BYE in probes/invite_call.h and probes/exchanges_invite.cc, "non-INVITE"
#   transactions anywhere): the rest of probes/ never names it,
#   and config/ and exporter/ never use it as a string literal (their help texts may mention
#   the probe in prose);
# - only the production clock (probes/clock.*) reads the steady clock or owns an Asio timer
#   in probes/, so every state machine there runs in virtual time under test.
# Run as a test: cmake -DSOURCE_DIR=<repo> -P tests/check_seams.cmake
set(violations "")
file(GLOB probes_files "${SOURCE_DIR}/probes/*.h" "${SOURCE_DIR}/probes/*.cc")
file(GLOB upper_files "${SOURCE_DIR}/config/*.h" "${SOURCE_DIR}/config/*.cc"
     "${SOURCE_DIR}/exporter/*.h" "${SOURCE_DIR}/exporter/*.cc")
set(methods "OPTIONS;REGISTER;INVITE")
foreach(file IN LISTS probes_files upper_files)
  file(RELATIVE_PATH rel "${SOURCE_DIR}" "${file}")
  foreach(method IN LISTS methods)
    string(TOLOWER "${method}" kind)
    if(rel MATCHES "^probes/${kind}_prober\\.")
      continue()
    endif()
    if(method STREQUAL "INVITE" AND rel MATCHES "^probes/(invite_call\\.h|exchanges_invite\\.cc)$")
      continue()
    endif()
    if(rel MATCHES "^probes/")
      file(STRINGS "${file}" hits REGEX "(^|[^-])${method}")
    else()
      file(STRINGS "${file}" hits REGEX "\"${method}\"")
    endif()
    foreach(line IN LISTS hits)
      string(STRIP "${line}" line)
      string(APPEND violations "  ${rel}: names the method ${method}: ${line}\n")
    endforeach()
  endforeach()
  if(rel MATCHES "^probes/" AND NOT rel MATCHES "^probes/clock\\.")
    file(STRINGS "${file}" hits REGEX "steady_clock|SteadyClock::now|steady_timer")
    foreach(line IN LISTS hits)
      string(STRIP "${line}" line)
      string(APPEND violations "  ${rel}: reads the steady clock: ${line}\n")
    endforeach()
  endif()
endforeach()
if(violations)
  message(FATAL_ERROR "the probing seams are broken:\n${violations}")
endif()
message(STATUS "seams hold: OPTIONS, REGISTER and INVITE only in sip/ and their probers; only probes/clock.* reads time")
