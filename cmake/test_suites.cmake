# aim_discover_suites(target [EACH_TEST] [PROPERTIES PROPERTY VALUE ...]), used by
# tests/CMakeLists.txt; needs AIM_SKIP_LOG (the file tests/skipped_summary.py reads).
get_filename_component(AIM_SUITE_SCRIPTS ${CMAKE_CURRENT_LIST_DIR}/../tests ABSOLUTE)

# One ctest entry per GoogleTest suite of a test binary (not one per test: each start of a
# binary loads libtorch, about 0.5 s), listed after each link as gtest_discover_tests does,
# so a new test or suite needs no CMake edit. Each entry runs tests/run_suite.py, which names
# the failed tests, shows a suite whose tests were all skipped as not run (exit 77), and
# records the skipped tests of the others for skipped.summary. PROPERTIES come in
# PROPERTY VALUE pairs. EACH_TEST: one entry per test, for binaries whose tests change the
# process itself. One test alone: build/tests/<binary> --gtest_filter=Suite.Test.
function(aim_discover_suites target)
  cmake_parse_arguments(D "EACH_TEST" "" "PROPERTIES" ${ARGN})
  set(each_test)
  if(D_EACH_TEST)
    set(each_test --each-test)
  endif()
  set(tests_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_suites.cmake)
  set(include_file ${CMAKE_CURRENT_BINARY_DIR}/${target}_suites_include.cmake)
  add_custom_command(TARGET ${target} POST_BUILD
    BYPRODUCTS ${tests_file}
    COMMAND /usr/bin/python3 ${AIM_SUITE_SCRIPTS}/discover_suites.py
            --binary $<TARGET_FILE:${target}> --out ${tests_file}
            --runner ${AIM_SUITE_SCRIPTS}/run_suite.py --skip-log ${AIM_SKIP_LOG}
            --workdir ${CMAKE_CURRENT_BINARY_DIR} ${each_test} -- ${D_PROPERTIES}
    VERBATIM)
  file(WRITE ${include_file}
    "if(EXISTS \"${tests_file}\")\n  include(\"${tests_file}\")\n"
    "else()\n  add_test(${target}_NOT_BUILT ${target}_NOT_BUILT)\nendif()\n")
  set_property(DIRECTORY APPEND PROPERTY TEST_INCLUDE_FILES ${include_file})
endfunction()
