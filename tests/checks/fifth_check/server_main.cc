// hearth-server with the test-only fifth check: its policy part added (so policies may name it;
// the server links none of its code), then the real server program.
#include "hearth/server/main.h"
#include "test_marker.h"

int main(int argc, char** argv) {
  return hearth::testing::RunWithTestMarkerPolicy(hearth::server::Main, argc, argv);
}
