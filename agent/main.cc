#include "hearth/agent/main.h"

int main(int argc, char** argv) { return hearth::agent::Main(argc, argv); }
