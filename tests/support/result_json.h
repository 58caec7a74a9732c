// Reading a result's JSON in tests: one check's entry by id.
#pragma once

#include <string>

#include <gtest/gtest.h>

#include "hearth/json.h"

namespace hearth::testing {

// The entry of `result`'s "checks" with this id; a failure (and an empty value) when there is none.
inline const json::Value& CheckById(const json::Value& result, const std::string& id) {
  for (const auto& c : result.find("checks")->asArray()) {
    if (c.find("id")->asString() == id) return c;
  }
  static json::Value none;
  ADD_FAILURE() << "no check " << id << " in " << json::write(result);
  return none;
}

}  // namespace hearth::testing
