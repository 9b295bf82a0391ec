# Fails when a source file includes a header of a layer above its own.
#   cmake -DSRC=<source dir> -P cmake/check_layers.cmake
# Run by ctest as `layers`. The layers, lowest first, and what each may include
# (docs/architecture.md draws the same picture; CMakeLists.txt links the same
# graph, one library per layer):
#
#   core       error, fs, clock, samples, histograms, units, workload contract
#   counters   perf_event + libpfm4                        core
#   workloads  the workload table                          core
#   agent      the agent protocol and /init                core counters workloads
#   drivers    bare, container, kvm                        ... agent
#   model      results, statistics, host facts             core
#   analysis   summaries, comparisons, change-point math   core model
#   store      history (SQLite, PostgreSQL), trends        core model analysis
#   reports    rendering only                              core counters model analysis store
#   harness    suites, scheduler, progress                 core counters workloads agent drivers model analysis
#   cli        the vbench command                          everything
#
# Tests and benchmarks may include anything.
cmake_minimum_required(VERSION 3.25)
if(NOT SRC)
  get_filename_component(SRC "${CMAKE_CURRENT_LIST_DIR}/.." ABSOLUTE)
endif()

set(allowed_core core)
set(allowed_counters core counters)
set(allowed_workloads core workloads)
set(allowed_agent core counters workloads agent)
set(allowed_drivers core counters workloads agent drivers)
set(allowed_model core model)
set(allowed_analysis core model analysis)
set(allowed_store core model analysis store)
set(allowed_reports core counters model analysis store reports)
set(allowed_harness core counters workloads agent drivers model analysis harness)
set(allowed_cli core counters workloads agent drivers model analysis store reports harness cli)
set(layers core counters workloads agent drivers model analysis store reports harness cli)

set(violations "")
set(checked 0)
foreach(layer IN LISTS layers)
  file(GLOB_RECURSE files RELATIVE ${SRC} ${SRC}/${layer}/*.cpp ${SRC}/${layer}/*.hpp)
  foreach(f IN LISTS files)
    math(EXPR checked "${checked} + 1")
    file(STRINGS ${SRC}/${f} lines REGEX "^[ \t]*#[ \t]*include[ \t]*\"")
    foreach(line IN LISTS lines)
      string(REGEX REPLACE "^[ \t]*#[ \t]*include[ \t]*\"([^\"]*)\".*" "\\1" inc "${line}")
      if(NOT inc MATCHES "/")
        continue()  # a file next to this one
      endif()
      string(REGEX REPLACE "/.*" "" target "${inc}")
      if(NOT target IN_LIST layers)
        list(APPEND violations "${f}: includes \"${inc}\", which is in no layer")
      elseif(NOT target IN_LIST allowed_${layer})
        list(APPEND violations "${f}: ${layer} may not include ${target} (\"${inc}\")")
      endif()
    endforeach()
  endforeach()
endforeach()

if(checked EQUAL 0)
  message(FATAL_ERROR "check_layers: no sources under ${SRC}")
endif()
if(violations)
  list(JOIN violations "\n  " text)
  message(FATAL_ERROR "include crosses layers upward (see docs/architecture.md):\n  ${text}")
endif()
message(STATUS "check_layers: ${checked} files, no include crosses a layer upward")
