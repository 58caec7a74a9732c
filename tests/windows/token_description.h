// Windows tests: a token and a pipe handle described as JSON, as someone inspecting the process
// (Process Explorer, AccessChk) would see them. Used in the test program and in the child it
// starts.
#pragma once

#include <windows.h>

#include <string>

#include "hearth/json.h"

namespace hearth::testing {

// {"restricted": IsTokenRestricted, "user": {"sid","deny_only"},
//  "groups": [{"sid","enabled","deny_only"}], "privileges": [{"name","enabled"}],
//  "restricting": ["SID", ...], "integrity_rid": RID (0 when not reported)}
json::Value DescribeToken(HANDLE token);

// The security descriptor (owner and DACL) of a kernel object as SDDL, or "error N".
std::string SddlOf(HANDLE object);

// The DACL of a kernel object as [{"type":"allow"|"deny"|..., "sid", "mask"}], in order, and
// "protected" (SE_DACL_PROTECTED) beside it: {"protected": bool, "aces": [...]}.
json::Value DaclOf(HANDLE object);

}  // namespace hearth::testing
