#include "hearth/agent/notify_session.h"

int main(int argc, char** argv) { return hearth::agent::NotifySessionMain(argc, argv); }
