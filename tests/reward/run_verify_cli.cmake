# Runs `r1 --threads N verify verify_input.jsonl` in the data folder and compares
# its stdout with verify_expected.jsonl (outputs checked by hand: see the issue 5 note).
# -DR1=<path to r1> -DDATA_DIR=<tests/reward/data>
foreach(threads 1 2)
  execute_process(COMMAND ${R1} --threads ${threads} verify verify_input.jsonl
                  WORKING_DIRECTORY ${DATA_DIR} OUTPUT_VARIABLE actual ERROR_VARIABLE errors RESULT_VARIABLE status)
  if(NOT status EQUAL 0)
    message(FATAL_ERROR "r1 verify exited with ${status}: ${errors}")
  endif()
  file(READ ${DATA_DIR}/verify_expected.jsonl expected)
  if(NOT actual STREQUAL expected)
    message(FATAL_ERROR "r1 verify at ${threads} threads differs from verify_expected.jsonl:\n${actual}")
  endif()
endforeach()
