# Read by ctest after the discovered tests (TEST_INCLUDE_FILES): the fault-injection tests
# (hearth_fault_TESTS, from gtest_discover_tests in CMakeLists.txt) get the labels integration
# and fault.
foreach(test IN LISTS hearth_fault_TESTS)
  set_tests_properties("${test}" PROPERTIES LABELS "integration;fault")
endforeach()
