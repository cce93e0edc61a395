# SPDX-License-Identifier: Apache-2.0
# Builds and runs a small downstream project that uses recsys in one of three ways:
#   MODE=find_package      install recsys into a temporary prefix, then find_package(recsys)
#   MODE=add_subdirectory  add_subdirectory(<recsys source>)
#   MODE=fetchcontent      FetchContent from a tarball of this source tree (no network)
# Each builds the same program twice, header-only (recsys::recsys) and compiled (recsys::compiled),
# and runs both. Inputs: MODE SOURCE_DIR WORK_DIR CXX_COMPILER GENERATOR, and for find_package
# INSTALL_FROM (optional): a built recsys build folder to install instead of building one.
cmake_minimum_required(VERSION 3.20)
foreach(v MODE SOURCE_DIR WORK_DIR CXX_COMPILER GENERATOR)
  if(NOT DEFINED ${v})
    message(FATAL_ERROR "run_consumer.cmake: ${v} is required")
  endif()
endforeach()
# The consumers test the wiring, not speed; the compiled library is built from source by the
# add_subdirectory and FetchContent consumers, so without optimisation or debug information (an
# empty build type).
set(BUILD_TYPE "")
file(REMOVE_RECURSE "${WORK_DIR}")
file(MAKE_DIRECTORY "${WORK_DIR}")
set(common -G "${GENERATOR}" -DCMAKE_CXX_COMPILER=${CXX_COMPILER} -DCMAKE_BUILD_TYPE=${BUILD_TYPE})
set(consumer_args "")

if(MODE STREQUAL "find_package")
  if(INSTALL_FROM)
    # the calling build: its compiled library is built, and installing copies it
    set(recsys_build "${INSTALL_FROM}")
  else()
    set(recsys_build "${WORK_DIR}/recsys-build")
    execute_process(COMMAND ${CMAKE_COMMAND} -S "${SOURCE_DIR}" -B "${recsys_build}" ${common}
                      -DRECSYS_BUILD_TESTS=OFF -DRECSYS_BUILD_EXAMPLES=OFF -DRECSYS_BUILD_BENCH=OFF
                      -DRECSYS_INSTALL=ON
                    COMMAND_ERROR_IS_FATAL ANY)
    execute_process(COMMAND ${CMAKE_COMMAND} --build "${recsys_build}" --parallel 2 COMMAND_ERROR_IS_FATAL ANY)
  endif()
  execute_process(COMMAND ${CMAKE_COMMAND} --install "${recsys_build}" --prefix "${WORK_DIR}/prefix"
                  COMMAND_ERROR_IS_FATAL ANY)
  list(APPEND consumer_args -DCMAKE_PREFIX_PATH=${WORK_DIR}/prefix)
elseif(MODE STREQUAL "add_subdirectory")
  list(APPEND consumer_args -DRECSYS_SOURCE_DIR=${SOURCE_DIR})
elseif(MODE STREQUAL "fetchcontent")
  # As a unity build (what CMAKE_UNITY_BUILD gives a user; ~35% less CPU at -O0); the
  # add_subdirectory consumer compiles every src/ file on its own.
  list(APPEND consumer_args -DCMAKE_UNITY_BUILD=ON)
  # What a release tarball holds: the headers and the CMake files.
  execute_process(COMMAND ${CMAKE_COMMAND} -E tar czf "${WORK_DIR}/recsys-src.tar.gz"
                    CMakeLists.txt LICENSE cmake include src
                  WORKING_DIRECTORY "${SOURCE_DIR}" COMMAND_ERROR_IS_FATAL ANY)
  list(APPEND consumer_args -DRECSYS_TARBALL=${WORK_DIR}/recsys-src.tar.gz)
else()
  message(FATAL_ERROR "run_consumer.cmake: unknown MODE '${MODE}'")
endif()

execute_process(COMMAND ${CMAKE_COMMAND} -S "${CMAKE_CURRENT_LIST_DIR}/${MODE}" -B "${WORK_DIR}/consumer"
                  ${common} ${consumer_args}
                COMMAND_ERROR_IS_FATAL ANY)
execute_process(COMMAND ${CMAKE_COMMAND} --build "${WORK_DIR}/consumer" --parallel 2 COMMAND_ERROR_IS_FATAL ANY)
foreach(mode header-only compiled)
  string(REPLACE "-" "_" exe "consumer_${mode}")
  execute_process(COMMAND "${WORK_DIR}/consumer/${exe}" OUTPUT_VARIABLE out COMMAND_ERROR_IS_FATAL ANY)
  message(STATUS "${exe} printed: ${out}")
  if(NOT out MATCHES "recsys [0-9]+\\.[0-9]+\\.[0-9]+ ${mode} ok")
    message(FATAL_ERROR "the ${MODE} consumer (${mode}) did not print the expected line")
  endif()
endforeach()
# Nothing of recsys's own test machinery may leak into a consumer's build.
if(EXISTS "${WORK_DIR}/consumer/_deps/recsys-build/tests" OR EXISTS "${WORK_DIR}/consumer/recsys/tests")
  message(FATAL_ERROR "recsys built its tests inside a consumer project")
endif()
