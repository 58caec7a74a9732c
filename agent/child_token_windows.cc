// The network side's restricted token and its channel on Windows (see child_token_windows.h).
#include <windows.h>

#include <bcrypt.h>
#include <sddl.h>

#include "hearth/agent/child_token_windows.h"

#include <atomic>
#include <cstdio>
#include <memory>
#include <vector>

#include "hearth/windows_text.h"

namespace hearth::agent {

namespace {

// LocalAlloc'ed memory (SIDs and descriptors from the SDDL conversions).
struct LocalDeleter {
  void operator()(void* p) const { ::LocalFree(p); }
};
using LocalPtr = std::unique_ptr<void, LocalDeleter>;

StatusOr<LocalPtr> sidFromString(const std::string& text) {
  PSID sid = nullptr;
  if (!::ConvertStringSidToSidW(windows::Widen(text).c_str(), &sid)) {
    return windows::Win32ErrorStatus(::GetLastError(), "the SID " + text);
  }
  return LocalPtr(sid);
}

// GetTokenInformation into a buffer of the size it asks for.
StatusOr<std::vector<unsigned char>> tokenInfo(HANDLE token, TOKEN_INFORMATION_CLASS what) {
  DWORD size = 0;
  ::GetTokenInformation(token, what, nullptr, 0, &size);
  if (size == 0) return windows::Win32ErrorStatus(::GetLastError(), "GetTokenInformation");
  std::vector<unsigned char> buf(size);
  if (!::GetTokenInformation(token, what, buf.data(), size, &size)) {
    return windows::Win32ErrorStatus(::GetLastError(), "GetTokenInformation");
  }
  return buf;
}

StatusOr<std::string> sidText(PSID sid) {
  wchar_t* text = nullptr;
  if (!::ConvertSidToStringSidW(sid, &text)) {
    return windows::Win32ErrorStatus(::GetLastError(), "ConvertSidToStringSid");
  }
  std::string out = windows::Narrow(text);
  ::LocalFree(text);
  return out;
}

// Read and write on the pipe, not FILE_CREATE_PIPE_INSTANCE (0x4, the same bit as
// FILE_APPEND_DATA, which FILE_GENERIC_WRITE includes).
constexpr DWORD kChildPipeAccess = (FILE_GENERIC_READ | FILE_GENERIC_WRITE) & ~0x4UL;

}  // namespace

StatusOr<std::string> NewChildSid() {
  uint32_t r[4] = {};
  if (!BCRYPT_SUCCESS(::BCryptGenRandom(nullptr, reinterpret_cast<PUCHAR>(r), sizeof r,
                                        BCRYPT_USE_SYSTEM_PREFERRED_RNG))) {
    return InternalError("no random numbers for the network side's SID");
  }
  return "S-1-5-21-" + std::to_string(r[0]) + "-" + std::to_string(r[1]) + "-" +
         std::to_string(r[2]) + "-" + std::to_string(r[3]);
}

StatusOr<std::string> CurrentUserSid() {
  HANDLE raw = nullptr;
  if (!::OpenProcessToken(::GetCurrentProcess(), TOKEN_QUERY, &raw)) {
    return windows::Win32ErrorStatus(::GetLastError(), "OpenProcessToken");
  }
  WinHandle token(raw);
  HEARTH_ASSIGN_OR_RETURN(auto buf, tokenInfo(token.get(), TokenUser));
  return sidText(reinterpret_cast<TOKEN_USER*>(buf.data())->User.Sid);
}

std::string ChannelSddl(const std::string& agent_sid, const std::string& child_sid) {
  char mask[16];
  std::snprintf(mask, sizeof mask, "0x%lx", static_cast<unsigned long>(kChildPipeAccess));
  return "O:" + agent_sid + "D:P(A;;FA;;;" + agent_sid + ")(A;;" + mask + ";;;" + child_sid + ")";
}

ChildTokenPlan PlanChildToken(const std::string& agent_sid, const std::string& child_sid) {
  ChildTokenPlan plan;
  plan.deny_only = {agent_sid};
  for (const char* s : {"S-1-5-18", "S-1-5-32-544"}) {
    if (agent_sid != s) plan.deny_only.emplace_back(s);
  }
  plan.restricting = {child_sid, "S-1-1-0", "S-1-5-11", "S-1-5-32-545"};
  plan.integrity = "S-1-16-4096";
  plan.default_dacl = "D:(A;;GA;;;" + child_sid + ")(A;;GA;;;" + agent_sid + ")";
  plan.kept_privilege = "SeChangeNotifyPrivilege";
  return plan;
}

StatusOr<WinHandle> RestrictedChildToken(const std::string& child_sid) {
  HANDLE raw = nullptr;
  if (!::OpenProcessToken(
          ::GetCurrentProcess(),
          TOKEN_DUPLICATE | TOKEN_QUERY | TOKEN_ASSIGN_PRIMARY | TOKEN_ADJUST_DEFAULT, &raw)) {
    return windows::Win32ErrorStatus(::GetLastError(), "OpenProcessToken");
  }
  WinHandle own(raw);
  HEARTH_ASSIGN_OR_RETURN(std::string user, CurrentUserSid());
  const ChildTokenPlan plan = PlanChildToken(user, child_sid);
  std::vector<LocalPtr> keep;
  auto sids =
      [&keep](const std::vector<std::string>& texts) -> StatusOr<std::vector<SID_AND_ATTRIBUTES>> {
    std::vector<SID_AND_ATTRIBUTES> out;
    for (const std::string& s : texts) {
      HEARTH_ASSIGN_OR_RETURN(LocalPtr sid, sidFromString(s));
      out.push_back({sid.get(), 0});
      keep.push_back(std::move(sid));
    }
    return out;
  };
  HEARTH_ASSIGN_OR_RETURN(auto deny_sids, sids(plan.deny_only));
  HEARTH_ASSIGN_OR_RETURN(auto restrict_sids, sids(plan.restricting));
  // Every privilege but the kept one, by name too (DISABLE_MAX_PRIVILEGE alone is not honoured
  // everywhere: Wine ignores it).
  HEARTH_ASSIGN_OR_RETURN(auto privs_buf, tokenInfo(own.get(), TokenPrivileges));
  const auto* privs = reinterpret_cast<const TOKEN_PRIVILEGES*>(privs_buf.data());
  LUID kept{};
  ::LookupPrivilegeValueW(nullptr, windows::Widen(plan.kept_privilege).c_str(), &kept);
  std::vector<LUID_AND_ATTRIBUTES> drop;
  for (DWORD i = 0; i < privs->PrivilegeCount; ++i) {
    const LUID_AND_ATTRIBUTES& p = (&privs->Privileges[0])[i];  // a flexible array
    if (p.Luid.LowPart != kept.LowPart || p.Luid.HighPart != kept.HighPart) {
      drop.push_back({p.Luid, 0});
    }
  }
  HANDLE restricted = nullptr;
  if (!::CreateRestrictedToken(
          own.get(), DISABLE_MAX_PRIVILEGE, static_cast<DWORD>(deny_sids.size()), deny_sids.data(),
          static_cast<DWORD>(drop.size()), drop.data(), static_cast<DWORD>(restrict_sids.size()),
          restrict_sids.data(), &restricted)) {
    return windows::Win32ErrorStatus(::GetLastError(), "CreateRestrictedToken");
  }
  WinHandle token(restricted);
  HEARTH_ASSIGN_OR_RETURN(LocalPtr low, sidFromString(plan.integrity));
  TOKEN_MANDATORY_LABEL label{};
  label.Label.Sid = low.get();
  label.Label.Attributes = SE_GROUP_INTEGRITY;
  if (!::SetTokenInformation(token.get(), TokenIntegrityLevel, &label,
                             static_cast<DWORD>(sizeof label + ::GetLengthSid(low.get())))) {
    return windows::Win32ErrorStatus(::GetLastError(), "the network side's integrity level");
  }
  PSECURITY_DESCRIPTOR sd = nullptr;
  if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(
          windows::Widen(plan.default_dacl).c_str(), SDDL_REVISION_1, &sd, nullptr)) {
    return windows::Win32ErrorStatus(::GetLastError(), "the network side's default DACL");
  }
  LocalPtr sd_owner(sd);
  BOOL present = FALSE;
  BOOL defaulted = FALSE;
  PACL dacl = nullptr;
  if (!::GetSecurityDescriptorDacl(sd, &present, &dacl, &defaulted) || !present) {
    return InternalError("the network side's default DACL");
  }
  TOKEN_DEFAULT_DACL dd{dacl};
  if (!::SetTokenInformation(token.get(), TokenDefaultDacl, &dd, sizeof dd)) {
    return windows::Win32ErrorStatus(::GetLastError(), "the network side's default DACL");
  }
  return token;
}

Status CheckChannelClient(HANDLE server, DWORD expected_pid) {
  ULONG pid = 0;
  if (!::GetNamedPipeClientProcessId(server, &pid)) {
    return windows::Win32ErrorStatus(::GetLastError(), "who is connected to the channel");
  }
  if (pid != expected_pid) {
    return PermissionDeniedError("the channel's client is process " + std::to_string(pid) +
                                 ", not " + std::to_string(expected_pid));
  }
  return OkStatus();
}

StatusOr<PipeChannel> OpenChildChannel(const std::string& child_sid) {
  static std::atomic<unsigned> counter{0};
  HEARTH_ASSIGN_OR_RETURN(std::string agent_sid, CurrentUserSid());
  HEARTH_ASSIGN_OR_RETURN(std::string random, NewChildSid());  // 128 random bits, as text
  PipeChannel ch;
  ch.name = L"\\\\.\\pipe\\hearth-" + std::to_wstring(::GetCurrentProcessId()) + L"-" +
            std::to_wstring(counter++) + L"-" +
            windows::Widen(random.substr(random.find('-', 9) + 1));
  PSECURITY_DESCRIPTOR sd = nullptr;
  const std::wstring sddl = windows::Widen(ChannelSddl(agent_sid, child_sid));
  if (!::ConvertStringSecurityDescriptorToSecurityDescriptorW(sddl.c_str(), SDDL_REVISION_1, &sd,
                                                              nullptr)) {
    return windows::Win32ErrorStatus(::GetLastError(), "the channel's ACL");
  }
  LocalPtr sd_owner(sd);
  SECURITY_ATTRIBUTES server_sa{sizeof(SECURITY_ATTRIBUTES), sd, FALSE};
  ch.server = WinHandle(::CreateNamedPipeW(
      ch.name.c_str(), PIPE_ACCESS_DUPLEX | FILE_FLAG_OVERLAPPED | FILE_FLAG_FIRST_PIPE_INSTANCE,
      PIPE_TYPE_BYTE | PIPE_READMODE_BYTE | PIPE_WAIT | PIPE_REJECT_REMOTE_CLIENTS, 1, 1 << 16,
      1 << 16, 0, &server_sa));
  if (ch.server.get() == INVALID_HANDLE_VALUE) {
    ch.server.release();
    return windows::Win32ErrorStatus(::GetLastError(), "CreateNamedPipe");
  }
  SECURITY_ATTRIBUTES client_sa{sizeof(SECURITY_ATTRIBUTES), nullptr, TRUE};  // inherited
  ch.client = WinHandle(::CreateFileW(ch.name.c_str(), GENERIC_READ | GENERIC_WRITE, 0, &client_sa,
                                      OPEN_EXISTING,
                                      SECURITY_SQOS_PRESENT | SECURITY_IDENTIFICATION, nullptr));
  if (ch.client.get() == INVALID_HANDLE_VALUE) {
    ch.client.release();
    return windows::Win32ErrorStatus(::GetLastError(), "opening the channel");
  }
  HEARTH_RETURN_IF_ERROR(CheckChannelClient(ch.server.get(), ::GetCurrentProcessId()));
  return ch;
}

}  // namespace hearth::agent
