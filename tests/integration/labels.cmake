# Read by ctest after the discovered tests (TEST_INCLUDE_FILES): a discovered test's LABELS can
# hold only one value, so the second labels are added here.
# - The tests of hearth_integration_tests (hearth_integration_TESTS): integration and programs.
#   `ctest -L programs` selects them: the sanitizer pass runs them against the sanitized build's
#   programs (scripts/test, support/programs.h).
# - The fault-injection tests (hearth_fault_TESTS): integration and fault (`ctest -L fault`).
# - The cluster test (issue 18: two servers on PostgreSQL behind HAProxy): integration and
#   cluster (`ctest -L cluster`), not programs (it needs PostgreSQL and HAProxy, and kills a server).
#   `hearth-server join` (ClusterJoinTest: two servers on PostgreSQL, no HAProxy): cluster and
#   programs too (the sanitizer pass runs it against the sanitized server); so are the rotations
#   with two servers (ClusterRotationTest: PostgreSQL, real agents, no HAProxy).
foreach(test IN LISTS hearth_integration_TESTS)
  if(test MATCHES "ClusterJoinTest|ClusterRotationTest")
    set_tests_properties("${test}" PROPERTIES LABELS "integration;cluster;programs")
  elseif(test MATCHES "ClusterTest")
    set_tests_properties("${test}" PROPERTIES LABELS "integration;cluster")
  else()
    set_tests_properties("${test}" PROPERTIES LABELS "integration;programs")
  endif()
endforeach()
foreach(test IN LISTS hearth_fault_TESTS)
  set_tests_properties("${test}" PROPERTIES LABELS "integration;fault")
endforeach()
