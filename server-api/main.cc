#include "hearth/server/main.h"

int main(int argc, char** argv) { return hearth::server::Main(argc, argv); }
