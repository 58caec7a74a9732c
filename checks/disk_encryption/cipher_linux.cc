// disk_encryption on Linux: cipher confirmation. A crypt layer counts as encrypted only once its
// cipher is seen (cryptsetup status, else dmsetup table) and is not cipher_null; device-mapper
// devices without a uuid are decided by their table.
#include <set>
#include <unistd.h>

#include "disk_encryption/collect_util.h"
#include "disk_encryption/collector_linux.h"
#include "hearth/text.h"

namespace hearth::checks::disk {

// A CRYPT-* dm uuid only says cryptsetup created the device; the cipher may be cipher_null
// (no protection). So every crypt layer is confirmed: `cryptsetup --readonly status` (cipher
// line), else `dmsetup table` (the crypt target's cipher; keys are never asked for). Both need
// root (libdevmapper cannot talk to the kernel otherwise) and nothing readable without root
// shows the cipher (sysfs has no table), so an unconfirmed crypt layer is unknown with "run
// the check as root", never assumed encrypted. The agent service runs as root, so this only
// shows for a person running `hearth-agent check` by hand.
void Collector::confirmCipher(const std::string& dm_name, const disk::DmClass& cls, Layer& l) {
  auto cached = cipher_cache_.find(dm_name);
  if (cached != cipher_cache_.end()) {
    l.encrypted = cached->second.encrypted;
    l.cipher = cached->second.cipher;
    l.reason = cached->second.reason;
    l.hint = cached->second.hint;
    return;
  }
  Layer result;
  std::string cs_error;
  auto cs =
      runFirst({"/usr/sbin/cryptsetup", "/sbin/cryptsetup"}, {"--readonly", "status", dm_name});
  if (cs.ok() && cs->exit_code == 0) {
    disk::CryptStatus st = disk::parseCryptsetupStatus(cs->out);
    if (st.active && !st.cipher.empty()) {
      setCipher(result, st.cipher, cls);
    } else if (st.active && cls.opal) {
      result.encrypted = Tri::kYes;
      result.cipher = "hardware (OPAL)";
    } else {
      cs_error = st.active ? "no cipher in its output" : "device not active";
    }
  } else {
    cs_error = cs.ok() ? "exit " + std::to_string(cs->exit_code) + ": " + text::firstLine(cs->err)
                       : cs.status().message();
  }
  if (result.encrypted == Tri::kUnknown && result.reason.empty()) {
    std::string dm_error;
    auto dm = runFirst({"/usr/sbin/dmsetup", "/sbin/dmsetup"}, {"table", dm_name});
    if (dm.ok() && dm->exit_code == 0) {
      std::vector<disk::DmTableSegment> segs = disk::parseDmsetupTable(dm->out);
      bool any_crypt = false;
      bool all_linear = !segs.empty();
      for (const auto& s : segs) {
        if (s.target == "crypt") {
          any_crypt = true;
          setCipher(result, s.cipher, cls);
          if (result.encrypted == Tri::kNo) break;
        }
        if (s.target != "linear") all_linear = false;
      }
      if (!any_crypt) {
        if (cls.opal && all_linear) {
          result.encrypted = Tri::kYes;
          result.cipher = "hardware (OPAL)";
        } else {
          dm_error = "its table has no crypt target";
        }
      }
    } else {
      dm_error = dm.ok() ? "exit " + std::to_string(dm->exit_code) + ": " + text::firstLine(dm->err)
                         : dm.status().message();
    }
    if (result.encrypted == Tri::kUnknown && noRecording(cs) && noRecording(dm)) {
      setNoRecording(result, "cannot confirm the cipher of " + dm_name,
                     {commandLine("/usr/sbin/cryptsetup", {"--readonly", "status", dm_name}),
                      commandLine("/usr/sbin/dmsetup", {"table", dm_name})});
    } else if (result.encrypted == Tri::kUnknown) {
      bool not_root = !sys_.isRooted() && ::geteuid() != 0;
      result.reason = std::string(not_root ? "not running as root: " : "") +
                      "cannot confirm the cipher of " + dm_name +
                      " (cryptsetup status: " + cs_error + "; dmsetup table: " + dm_error +
                      "); run the check as root";
      result.hint = "run_as_root";
    }
  }
  cipher_cache_[dm_name] = result;
  l.encrypted = result.encrypted;
  l.cipher = result.cipher;
  l.reason = result.reason;
  l.hint = result.hint;
  l.hint_detail = result.hint_detail;
}

void Collector::setCipher(Layer& result, const std::string& cipher, const disk::DmClass& /*cls*/) {
  result.cipher = cipher;
  if (disk::isNullCipher(cipher)) {
    result.encrypted = Tri::kNo;
    result.reason = "the crypt device uses " + cipher + ", which does not encrypt";
    result.hint = "cipher_null";
  } else {
    result.encrypted = Tri::kYes;
  }
}

// A dm device without uuid: decided by its table (needs root).
void Collector::unknownDm(const std::string& dm_name, Layer& l) {
  static const std::set<std::string, std::less<>> kPass = {
      "linear",          "striped",   "mirror",    "raid",  "multipath",  "snapshot",
      "snapshot-origin", "thin",      "thin-pool", "cache", "writecache", "era",
      "delay",           "integrity", "verity"};
  auto dm = runFirst({"/usr/sbin/dmsetup", "/sbin/dmsetup"}, {"table", dm_name});
  if (noRecording(dm)) {
    setNoRecording(l, "device-mapper device " + dm_name + " has no uuid",
                   {commandLine("/usr/sbin/dmsetup", {"table", dm_name})});
    return;
  }
  if (!dm.ok() || dm->exit_code != 0) {
    l.reason = "device-mapper device " + dm_name + " has no uuid and its table cannot be read (" +
               (dm.ok() ? text::firstLine(dm->err) : dm.status().message()) + "); run as root";
    l.hint = "run_as_root";
    return;
  }
  auto segs = disk::parseDmsetupTable(dm->out);
  bool all_crypt = !segs.empty();
  bool all_pass = !segs.empty();
  for (const auto& s : segs) {
    if (s.target != "crypt") all_crypt = false;
    if (!kPass.contains(s.target)) all_pass = false;
  }
  if (all_crypt) {
    for (const auto& s : segs) {
      setCipher(l, s.cipher, disk::DmClass{});
      if (l.encrypted == Tri::kNo) break;
    }
    l.type = "crypt";
    return;
  }
  if (all_pass) {
    l.encrypted = allOf(l.lower);
    if (l.lower.empty()) l.reason = "no lower devices";
    return;
  }
  l.reason = "device-mapper device " + dm_name + " without uuid has an unknown table";
}

}  // namespace hearth::checks::disk
