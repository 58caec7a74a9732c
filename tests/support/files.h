// File helpers for tests: read a file as it is, write one, whether one exists; wait for a
// condition.
#pragma once

#include <chrono>
#include <functional>
#include <string>

namespace hearth::testing {

// The whole content of `path` (binary), or "" when it cannot be read.
std::string ReadFile(const std::string& path);

// Replaces `path` with `content` (binary), creating its parent directories; false when it cannot be
// written.
bool WriteFile(const std::string& path, const std::string& content);

// Whether `path` exists (following symbolic links).
bool Exists(const std::string& path);

// `s` without trailing newlines and spaces (a token or secret file's content).
std::string Trimmed(std::string s);

// Calls `done` until it returns true or `timeout` has passed, sleeping `interval` in between;
// whether it returned true. `done` is called at least once, and once more at the deadline.
bool PollUntil(const std::function<bool()>& done, std::chrono::milliseconds timeout,
               std::chrono::milliseconds interval = std::chrono::milliseconds(20));

}  // namespace hearth::testing
