# SPDX-License-Identifier: Apache-2.0
# `train --save DIR` and `recommend --model DIR` with every spelling of a directory: trailing
# slash, ./x, absolute, a symlinked parent; saving twice replaces; nothing is left behind (no
# temporary or moved-aside folder); a file or a folder that holds no model is never replaced.
#   -DCLI=<recsys binary> -DSAMPLE=<interactions CSV> -DWORK_DIR=<scratch folder>
cmake_minimum_required(VERSION 3.20)
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}/real")
file(CREATE_LINK "${WORK_DIR}/real" "${WORK_DIR}/link" SYMBOLIC)

function(run expect regex)
  execute_process(COMMAND "${CLI}" ${ARGN} WORKING_DIRECTORY "${WORK_DIR}"
                  RESULT_VARIABLE rc OUTPUT_VARIABLE out ERROR_VARIABLE err)
  if(expect STREQUAL "ok" AND NOT rc EQUAL 0)
    message(FATAL_ERROR "recsys ${ARGN} exited with ${rc}:\n${out}${err}")
  endif()
  if(expect STREQUAL "fail" AND (rc EQUAL 0 OR NOT rc MATCHES "^[0-9]+$"))
    message(FATAL_ERROR "recsys ${ARGN} should have failed with a message, got ${rc}:\n${out}${err}")
  endif()
  if(NOT "${out}${err}" MATCHES "${regex}")
    message(FATAL_ERROR "recsys ${ARGN}: output does not match '${regex}':\n${out}${err}")
  endif()
endfunction()

set(train train --data "${SAMPLE}" --recipe popularity --quiet --save)
set(rec recommend --user u7 -k 3 --quiet --model)
# (save as, load as): each saved twice, the second save replacing the first.
foreach(pair "m/|m" "m|./m/" "./m2|m2/" "${WORK_DIR}/m3/|${WORK_DIR}/m3" "link/m4/|real/m4" "link/m5|link/m5/"
             "new/deep/m6/|new/deep/m6")
  string(REPLACE "|" ";" pair "${pair}")
  list(GET pair 0 save_as)
  list(GET pair 1 load_as)
  message(STATUS "--save ${save_as}, --model ${load_as}")
  run(ok "saved to" ${train} "${save_as}")
  run(ok "saved to" ${train} "${save_as}")
  run(ok " 1  i[0-9]+" ${rec} "${load_as}")
endforeach()
if(IS_SYMLINK "${WORK_DIR}/link" AND EXISTS "${WORK_DIR}/real/m4/manifest.json")
else()
  message(FATAL_ERROR "saving through link/ must write into real/ and keep the link")
endif()
file(GLOB_RECURSE leftovers LIST_DIRECTORIES true "${WORK_DIR}/*")
list(FILTER leftovers INCLUDE REGEX "[.](tmp|old)-[^/]*$")
if(leftovers)
  message(FATAL_ERROR "temporary or moved-aside folders left behind: ${leftovers}")
endif()

# Never replace what is not a model; fail before training, leave everything as it was.
file(WRITE "${WORK_DIR}/data.txt" "precious\n")
file(MAKE_DIRECTORY "${WORK_DIR}/photos")
file(WRITE "${WORK_DIR}/photos/cat.jpg" "meow")
run(fail "data.txt: exists and is not a directory; refusing to replace it" ${train} data.txt)
run(fail "photos: exists, is not empty and holds no model" ${train} photos/)
run(fail "cannot be created: .*data.txt is not a directory" ${train} data.txt/model)
file(READ "${WORK_DIR}/data.txt" kept)
if(NOT kept STREQUAL "precious\n" OR NOT EXISTS "${WORK_DIR}/photos/cat.jpg")
  message(FATAL_ERROR "a refused --save changed what was there")
endif()
