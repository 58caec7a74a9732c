// Windows only: how the agent confines its network side (hearth-upload.exe, also started as
// hearth-verify) and the channel to it (child_process_windows.cc uses these; docs/windows-build.md,
// "The network side's token and channel").
//
// The token. A restricted copy of the agent's own primary token (LocalSystem as the service):
// every privilege removed but SeChangeNotifyPrivilege (DISABLE_MAX_PRIVILEGE); the agent's user
// SID, LocalSystem and BUILTIN\Administrators deny-only (they can deny, never grant); restricting
// SIDs: a SID made for this one child, Everyone, Authenticated Users and BUILTIN\Users (every
// access must also be granted to one of these: what any signed-in person could do, never what
// only SYSTEM or Administrators can); Low integrity (no write to anything not labelled Low:
// the state directory, Program Files, HKLM); a default DACL for the objects it makes that admits
// only its own SID and the agent's user. It reads nothing of the agent's: the device key,
// certificate, CA and enrolment secret reach it through the channel (uploader_protocol.h).
//
// The channel. One instance of a named pipe with a random name, FILE_FLAG_FIRST_PIPE_INSTANCE
// (the name must be new: no squatter's server), PIPE_REJECT_REMOTE_CLIENTS, at most one instance,
// a protected DACL with two entries: the agent's user full control, the child's SID read and
// write. The agent opens the client end itself at once, checks with GetNamedPipeClientProcessId
// that the connected client is itself, and hands that end to the child as its inherited standard
// input: the instance is connected before the child exists, so no other process can connect to it
// (ERROR_PIPE_BUSY) and the child needs no access by name (its token could not pass the DACL's
// check by name anyway: its user SID is deny-only).
#pragma once

#include <windows.h>

#include <string>
#include <vector>

#include "hearth/status.h"

namespace hearth::agent {

// A HANDLE closed when this goes away.
class WinHandle {
 public:
  WinHandle() = default;
  explicit WinHandle(HANDLE h) : h_(h) {}
  ~WinHandle() { reset(); }
  WinHandle(WinHandle&& o) noexcept : h_(o.release()) {}
  WinHandle& operator=(WinHandle&& o) noexcept {
    if (this != &o) {
      reset();
      h_ = o.release();
    }
    return *this;
  }
  WinHandle(const WinHandle&) = delete;
  WinHandle& operator=(const WinHandle&) = delete;
  HANDLE get() const { return h_; }
  HANDLE release() {
    HANDLE h = h_;
    h_ = nullptr;
    return h;
  }
  void reset() {
    if (h_ != nullptr && h_ != INVALID_HANDLE_VALUE) ::CloseHandle(h_);
    h_ = nullptr;
  }

 private:
  HANDLE h_ = nullptr;
};

// A SID made for one child, "S-1-5-21-R1-R2-R3-R4" with 128 random bits (BCryptGenRandom): the
// form of a machine or domain account, which no real account shares.
StatusOr<std::string> NewChildSid();

// The user SID of this process's token ("S-1-5-18" for the service), as text.
StatusOr<std::string> CurrentUserSid();

// The channel's security descriptor as SDDL: owner the agent's user, a protected DACL with the
// agent's user full control and `child_sid` read and write (not FILE_CREATE_PIPE_INSTANCE).
std::string ChannelSddl(const std::string& agent_sid, const std::string& child_sid);

// What the agent asks of the child's token, as SID strings (see above).
struct ChildTokenPlan {
  std::vector<std::string> deny_only;    // the agent's user, S-1-5-18, S-1-5-32-544
  std::vector<std::string> restricting;  // the child's SID, S-1-1-0, S-1-5-11, S-1-5-32-545
  std::string integrity;                 // S-1-16-4096 (Low)
  std::string default_dacl;              // SDDL: the child's SID and the agent's user
  std::string kept_privilege;            // SeChangeNotifyPrivilege; every other one deleted
};
ChildTokenPlan PlanChildToken(const std::string& agent_sid, const std::string& child_sid);

// The restricted primary token for a child whose own SID is `child_sid`, made by the plan: the
// agent's token through CreateRestrictedToken (DISABLE_MAX_PRIVILEGE and, by name, every
// privilege but the kept one), then its integrity level and default DACL set.
StatusOr<WinHandle> RestrictedChildToken(const std::string& child_sid);

struct PipeChannel {
  std::wstring name;  // \\.\pipe\hearth-...
  WinHandle server;   // the agent's end (overlapped)
  WinHandle client;   // the child's end, inheritable, connected
};

// A new channel for the child whose SID is `child_sid`. PermissionDenied when the client
// connected to the new instance is not this process (someone else took it first).
StatusOr<PipeChannel> OpenChildChannel(const std::string& child_sid);

// OK when the client connected to the server end `server` is process `expected_pid`;
// PermissionDenied naming the other process otherwise.
Status CheckChannelClient(HANDLE server, DWORD expected_pid);

}  // namespace hearth::agent
