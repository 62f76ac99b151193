# Runs abort_on_error on 2 ranks: the job must end (not hang), with a non-zero exit and rank 1's message.
execute_process(COMMAND ${MPIRUN} --allow-run-as-root --oversubscribe -np 2 ${PROGRAM}
                RESULT_VARIABLE status OUTPUT_VARIABLE out ERROR_VARIABLE err TIMEOUT 60)
if(status EQUAL 0)
  message(FATAL_ERROR "the job exited 0; expected a failure\n${out}${err}")
endif()
if(NOT "${out}${err}" MATCHES "rank 1 of 2\\): data.jsonl: line 3: field 'prompt' is missing")
  message(FATAL_ERROR "rank 1's message is missing from the output\n${out}${err}")
endif()
if("${out}${err}" MATCHES "did not end")
  message(FATAL_ERROR "rank 0 passed the barrier\n${out}${err}")
endif()
message(STATUS "the job ended with status '${status}' and rank 1's message")
