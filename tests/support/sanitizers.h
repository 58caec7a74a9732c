// Whether this test program runs under the sanitizers (the `asan` preset: ASan + UBSan), found at
// run time from the ASan runtime's own symbol, so that no build flag is needed.
//
// A few tests measure or starve what the sanitizers' runtime itself uses, and skip in that build
// (they run in the plain one, which CI runs too): peak RSS (ASan keeps freed memory in a
// quarantine and maps shadow memory), and "no file descriptor left" (UBSan's vptr check opens a
// pipe to probe memory, and reports a false "invalid vptr" without one). Tests whose timing
// windows are sized for the plain build widen them by SanitizerSlowdown().
#pragma once

#include <cstdlib>

extern "C" void __asan_init() __attribute__((weak));

namespace hearth::testing {

inline bool UnderSanitizers() { return &__asan_init != nullptr; }

// Whether the programs this test starts (server, agent, helpers) run under the sanitizers: this
// program does (its build's programs do too), or it runs another build's programs
// (HEARTH_TEST_PROGRAMS_FROM, support/programs.h: only the sanitizer pass does that).
inline bool ProgramsUnderSanitizers() {
  const char* other = std::getenv("HEARTH_TEST_PROGRAMS_FROM");
  return UnderSanitizers() || (other != nullptr && *other != '\0');
}

// How much slower the programs this test starts run, roughly (ASan at -O1: 2-3x).
inline int SanitizerSlowdown() { return ProgramsUnderSanitizers() ? 3 : 1; }

}  // namespace hearth::testing
