// The state directory (see state_dir.h).
#include "hearth/agent/state_dir.h"

#include <cerrno>
#include <chrono>
#include <cstring>
#include <sys/stat.h>
#include <unistd.h>

#include "hearth/files.h"
#include "hearth/json.h"
#include "hearth/protocol/crypto.h"  // Sha256Hex, RandomHex: encoding.cc, no OpenSSL
#include "hearth/system_view.h"
#include "hearth/text.h"
#include "hearth/time.h"

namespace hearth::agent {

Status WriteRetiredMark(const std::string& state_dir, const std::string& why) {
  json::Value o = json::Value::object();
  o.set("retired_at", formatRfc3339(std::chrono::system_clock::now()));
  o.set("reason", why);
  return WriteFileDurably(state_dir + "/retired", json::write(o) + "\n", 0644);
}

Status ClearRetiredMark(const std::string& state_dir) {
  if (::unlink((state_dir + "/retired").c_str()) != 0 && errno != ENOENT) {
    return InternalError("cannot remove " + state_dir + "/retired: " + std::strerror(errno));
  }
  return OkStatus();
}

bool HasRetiredMark(const std::string& state_dir) {
  struct stat st {};
  return ::stat((state_dir + "/retired").c_str(), &st) == 0;
}

std::string MachineIdHash(const SystemView& system, const std::string& state_dir) {
  // Hashed with a context string: the raw machine id never leaves the PC. The server flags two
  // devices reporting the same value (a cloned disk), so a PC without a machine id must not
  // send a value shared by every such PC: it gets a random one of its own, kept in the state
  // directory (a cloned state directory still shows up as a clone).
  std::string id;
  // Windows: the GUID Setup gives each installation. Only where there is no registry (Unavailable)
  // the Linux files: on Windows "/etc/machine-id" is C:\etc\machine-id, a folder any user may
  // create (and under Wine, the Linux host's file).
  auto guid = system.readRegistry(RegistryRoot::kLocalMachine, "SOFTWARE\\Microsoft\\Cryptography",
                                  "MachineGuid");
  if (guid.ok() && guid->type == RegistryValue::Type::kText) {
    id = text::trim(guid->text);
  } else if (!guid.ok() && guid.status().code() == StatusCode::kUnavailable) {
    for (const char* path : {"/etc/machine-id", "/var/lib/dbus/machine-id"}) {
      if (auto t = system.readFile(path, 256); t.ok() && !text::trim(*t).empty()) {
        id = text::trim(*t);
        break;
      }
    }
  }
  if (id.empty()) {
    const std::string own = state_dir + "/machine-id";
    if (auto t = ReadFileBounded(own, 256); t.ok() && !text::trim(*t).empty()) {
      id = "local:" + text::trim(*t);
    } else if (auto fresh = protocol::RandomHex(16);
               fresh.ok() && WriteFileDurably(own, *fresh + "\n", 0600).ok()) {
      id = "local:" + *fresh;
    }
  }
  return protocol::Sha256Hex("hearth-machine-id:" + id);
}

std::string MachineIdHash(const std::string& state_dir) {
  return MachineIdHash(*NewLiveSystemView(), state_dir);
}

}  // namespace hearth::agent
