// The fifth check's tests run with its entry in Checks(), as the test-only agent and server do.
#include <gtest/gtest.h>

#include "test_marker.h"

namespace {

int runTests(int argc, char** argv) {
  ::testing::InitGoogleTest(&argc, argv);
  return RUN_ALL_TESTS();
}

}  // namespace

int main(int argc, char** argv) { return hearth::testing::RunWithTestMarker(runTests, argc, argv); }
