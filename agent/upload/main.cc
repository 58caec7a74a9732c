#include "hearth/agent/network_side.h"

int main(int argc, char** argv) { return hearth::agent::UploaderMain(argc, argv); }
