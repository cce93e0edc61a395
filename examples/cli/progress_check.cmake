# SPDX-License-Identifier: Apache-2.0
# The progress display on a terminal (run under `script`, which gives the tool a pseudo-terminal):
# one line per fit that advances in place, with the iteration, the metric and the time left, for
# every iterative recipe.
#   -DCLI=<recsys binary> -DSAMPLE=<interactions CSV> -DSCRIPT=<path of script(1)>
cmake_minimum_required(VERSION 3.20)
foreach(case "als|als: fit|loss|--set;iterations=6;--set;compute_loss=true"
             "bpr|bpr: fit|auc|--set;epochs=8"
             "warp|warp: fit|auc|--set;epochs=8"
             "gru4rec|session_gru: fit|loss|--set;epochs=2")
  string(REPLACE "|" ";" case "${case}")
  list(GET case 0 recipe)
  list(GET case 1 stage)
  list(GET case 2 metric)
  list(SUBLIST case 3 -1 sets)
  string(REPLACE ";" " " sets "${sets}")
  execute_process(COMMAND "${SCRIPT}" -qec "'${CLI}' train --data '${SAMPLE}' --recipe ${recipe} ${sets}" /dev/null
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(NOT rc EQUAL 0)
    message(FATAL_ERROR "recsys train --recipe ${recipe} exited with ${rc}:\n${out}${err}")
  endif()
  string(REPLACE "\r\n" "\n" out "${out}")
  string(REGEX MATCHALL "[^\n]*${stage}[^\n]*" lines "${out}")
  list(LENGTH lines n)
  if(NOT n EQUAL 1)
    message(FATAL_ERROR "${recipe}: ${n} lines of '${stage}' progress, expected one line per fit:\n${out}")
  endif()
  if(NOT lines MATCHES "${stage} ([0-9]+)/([0-9]+) \\[=+\\] 100.0%.* ${metric} [0-9]")
    message(FATAL_ERROR "${recipe}: the progress line does not end complete with the ${metric}:\n${lines}")
  endif()
  # It advanced in place (carriage returns), iteration by iteration, with a time left.
  if(NOT lines MATCHES "\r${stage} 2/" OR NOT lines MATCHES "ETA [0-9.]+s")
    message(FATAL_ERROR "${recipe}: the progress line did not advance per iteration with a time left:\n${lines}")
  endif()
  message(STATUS "${recipe}: one progress line")
endforeach()
