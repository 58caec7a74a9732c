// Windows tests: tokens and security descriptors as JSON (see token_description.h).
#include <windows.h>

#include <aclapi.h>
#include <sddl.h>

#include "token_description.h"

#include <vector>

#include "hearth/windows_text.h"

namespace hearth::testing {

namespace {

std::vector<unsigned char> info(HANDLE token, TOKEN_INFORMATION_CLASS what) {
  DWORD size = 0;
  ::GetTokenInformation(token, what, nullptr, 0, &size);
  std::vector<unsigned char> buf(size);
  if (size == 0 || !::GetTokenInformation(token, what, buf.data(), size, &size)) buf.clear();
  return buf;
}

std::string sidText(PSID sid) {
  wchar_t* text = nullptr;
  if (sid == nullptr || !::ConvertSidToStringSidW(sid, &text)) return "?";
  std::string out = windows::Narrow(text);
  ::LocalFree(text);
  return out;
}

json::Value groupsOf(const std::vector<unsigned char>& buf) {
  json::Value out = json::Value::array();
  if (buf.empty()) return out;
  const auto* groups = reinterpret_cast<const TOKEN_GROUPS*>(buf.data());
  for (DWORD i = 0; i < groups->GroupCount; ++i) {
    // Flexible array: index through a pointer.
    const SID_AND_ATTRIBUTES& g = (&groups->Groups[0])[i];
    json::Value v = json::Value::object();
    v.set("sid", sidText(g.Sid));
    v.set("enabled", (g.Attributes & SE_GROUP_ENABLED) != 0);
    v.set("deny_only", (g.Attributes & SE_GROUP_USE_FOR_DENY_ONLY) != 0);
    out.push(std::move(v));
  }
  return out;
}

}  // namespace

json::Value DescribeToken(HANDLE token) {
  json::Value out = json::Value::object();
  out.set("restricted", ::IsTokenRestricted(token) != FALSE);
  auto user = info(token, TokenUser);
  if (!user.empty()) {
    const auto* u = reinterpret_cast<const TOKEN_USER*>(user.data());
    json::Value v = json::Value::object();
    v.set("sid", sidText(u->User.Sid));
    v.set("deny_only", (u->User.Attributes & SE_GROUP_USE_FOR_DENY_ONLY) != 0);
    out.set("user", std::move(v));
  }
  out.set("groups", groupsOf(info(token, TokenGroups)));
  json::Value restricting = json::Value::array();
  for (const json::Value& g : groupsOf(info(token, TokenRestrictedSids)).asArray()) {
    restricting.push(g.find("sid")->asString());
  }
  out.set("restricting", std::move(restricting));
  json::Value privileges = json::Value::array();
  auto privs = info(token, TokenPrivileges);
  if (!privs.empty()) {
    const auto* p = reinterpret_cast<const TOKEN_PRIVILEGES*>(privs.data());
    for (DWORD i = 0; i < p->PrivilegeCount; ++i) {
      LUID_AND_ATTRIBUTES la = (&p->Privileges[0])[i];
      wchar_t name[128];
      DWORD n = 128;
      json::Value v = json::Value::object();
      v.set("name", ::LookupPrivilegeNameW(nullptr, &la.Luid, name, &n) ? windows::Narrow(name)
                                                                        : std::string("?"));
      v.set("enabled", (la.Attributes & SE_PRIVILEGE_ENABLED) != 0);
      privileges.push(std::move(v));
    }
  }
  out.set("privileges", std::move(privileges));
  int64_t rid = 0;
  auto label = info(token, TokenIntegrityLevel);
  if (!label.empty()) {
    PSID sid = reinterpret_cast<const TOKEN_MANDATORY_LABEL*>(label.data())->Label.Sid;
    UCHAR count = *::GetSidSubAuthorityCount(sid);
    if (count > 0) rid = *::GetSidSubAuthority(sid, count - 1U);
  }
  out.set("integrity_rid", rid);
  return out;
}

std::string SddlOf(HANDLE object) {
  PSECURITY_DESCRIPTOR sd = nullptr;
  DWORD err = ::GetSecurityInfo(object, SE_KERNEL_OBJECT,
                                OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, nullptr,
                                nullptr, nullptr, nullptr, &sd);
  if (err != ERROR_SUCCESS) return "error " + std::to_string(err);
  wchar_t* text = nullptr;
  std::string out = "?";
  if (::ConvertSecurityDescriptorToStringSecurityDescriptorW(
          sd, SDDL_REVISION_1, OWNER_SECURITY_INFORMATION | DACL_SECURITY_INFORMATION, &text,
          nullptr)) {
    out = windows::Narrow(text);
    ::LocalFree(text);
  }
  ::LocalFree(sd);
  return out;
}

json::Value DaclOf(HANDLE object) {
  json::Value out = json::Value::object();
  PSECURITY_DESCRIPTOR sd = nullptr;
  PACL dacl = nullptr;
  DWORD err = ::GetSecurityInfo(object, SE_KERNEL_OBJECT, DACL_SECURITY_INFORMATION, nullptr,
                                nullptr, &dacl, nullptr, &sd);
  if (err != ERROR_SUCCESS) {
    out.set("error", static_cast<int64_t>(err));
    return out;
  }
  SECURITY_DESCRIPTOR_CONTROL control = 0;
  DWORD revision = 0;
  ::GetSecurityDescriptorControl(sd, &control, &revision);
  out.set("protected", (control & SE_DACL_PROTECTED) != 0);
  json::Value aces = json::Value::array();
  for (DWORD i = 0; dacl != nullptr && i < dacl->AceCount; ++i) {
    void* ace = nullptr;
    if (!::GetAce(dacl, i, &ace)) break;
    const auto* head = static_cast<const ACE_HEADER*>(ace);
    json::Value v = json::Value::object();
    if (head->AceType == ACCESS_ALLOWED_ACE_TYPE) {
      const auto* a = static_cast<const ACCESS_ALLOWED_ACE*>(ace);
      v.set("type", "allow");
      v.set("mask", static_cast<int64_t>(a->Mask));
      v.set("sid", sidText(const_cast<DWORD*>(&a->SidStart)));
    } else if (head->AceType == ACCESS_DENIED_ACE_TYPE) {
      const auto* a = static_cast<const ACCESS_DENIED_ACE*>(ace);
      v.set("type", "deny");
      v.set("mask", static_cast<int64_t>(a->Mask));
      v.set("sid", sidText(const_cast<DWORD*>(&a->SidStart)));
    } else {
      v.set("type", static_cast<int64_t>(head->AceType));
    }
    aces.push(std::move(v));
  }
  out.set("aces", std::move(aces));
  ::LocalFree(sd);
  return out;
}

}  // namespace hearth::testing
