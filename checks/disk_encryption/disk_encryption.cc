// disk_encryption: pure parsers, dm uuid classification and the decision (no I/O here).
#include "disk_encryption/disk_encryption.h"

#include <algorithm>
#include <cctype>
#include <set>

#include "hearth/text.h"

namespace hearth::checks::disk {

StatusOr<std::vector<MountEntry>> parseMountInfo(std::string_view text) {
  std::vector<MountEntry> out;
  int line_no = 0;
  for (const std::string& line : text::splitLines(text)) {
    ++line_no;
    if (text::trim(line).empty()) continue;
    std::vector<std::string> f = text::splitWhitespace(line);
    auto bad = [&](const std::string& what) {
      return InvalidArgumentError("mountinfo line " + std::to_string(line_no) + ": " + what);
    };
    if (f.size() < 10) return bad("expected at least 10 fields");
    MountEntry m;
    auto id = text::parseInt(f[0]);
    auto parent = text::parseInt(f[1]);
    if (!id || !parent) return bad("bad mount id");
    m.mount_id = *id;
    m.parent_id = *parent;
    size_t colon = f[2].find(':');
    if (colon == std::string::npos) return bad("bad major:minor '" + f[2] + "'");
    auto major = text::parseU32(std::string_view(f[2]).substr(0, colon));
    auto minor = text::parseU32(std::string_view(f[2]).substr(colon + 1));
    if (!major || !minor) return bad("bad major:minor '" + f[2] + "'");
    m.major = *major;
    m.minor = *minor;
    m.root = text::unescapeOctal(f[3]);
    m.mount_point = text::unescapeOctal(f[4]);
    m.options = f[5];
    size_t dash = 6;
    while (dash < f.size() && f[dash] != "-") ++dash;
    if (dash + 2 >= f.size()) return bad("missing '-' separator, type or source");
    m.fstype = text::unescapeOctal(f[dash + 1]);
    m.source = text::unescapeOctal(f[dash + 2]);
    if (dash + 3 < f.size()) m.super_options = f[dash + 3];
    out.push_back(std::move(m));
  }
  return out;
}

std::vector<MountEntry> visibleMounts(const std::vector<MountEntry>& entries) {
  std::vector<MountEntry> out;
  for (size_t i = 0; i < entries.size(); ++i) {
    bool later = false;
    for (size_t j = i + 1; j < entries.size(); ++j) {
      if (entries[j].mount_point == entries[i].mount_point) {
        later = true;
        break;
      }
    }
    if (!later) out.push_back(entries[i]);
  }
  return out;
}

std::vector<SwapEntry> parseProcSwaps(std::string_view text) {
  std::vector<SwapEntry> out;
  for (const std::string& line : text::splitLines(text)) {
    std::vector<std::string> f = text::splitWhitespace(line);
    if (f.size() < 2 || f[0] == "Filename") continue;
    SwapEntry s;
    s.filename = text::unescapeOctal(f[0]);
    s.type = f[1];
    out.push_back(std::move(s));
  }
  return out;
}

CryptStatus parseCryptsetupStatus(std::string_view text) {
  CryptStatus st;
  for (const std::string& line : text::splitLines(text)) {
    std::string t = text::trim(line);
    if (t.find(" is active") != std::string::npos) st.active = true;
    size_t colon = t.find(':');
    if (colon == std::string::npos) continue;
    std::string key = text::trim(std::string_view(t).substr(0, colon));
    std::string value = text::trim(std::string_view(t).substr(colon + 1));
    if (key == "type") st.type = value;
    if (key == "cipher") st.cipher = value;
  }
  return st;
}

std::vector<DmTableSegment> parseDmsetupTable(std::string_view text) {
  // "<start> <length> <target> <args...>"; crypt args start with the cipher.
  std::vector<DmTableSegment> out;
  for (const std::string& line : text::splitLines(text)) {
    std::vector<std::string> f = text::splitWhitespace(line);
    if (f.size() < 3 || !text::parseInt(f[0]) || !text::parseInt(f[1])) continue;
    DmTableSegment seg;
    seg.target = f[2];
    if (seg.target == "crypt" && f.size() > 3) seg.cipher = f[3];
    out.push_back(std::move(seg));
  }
  return out;
}

bool isNullCipher(std::string_view cipher) {
  std::string c = text::toLower(cipher);
  return c.find("cipher_null") != std::string::npos || c == "null" || c.starts_with("null-");
}

ZfsEncryption parseZfsGet(std::string_view text) {
  ZfsEncryption z;
  for (const std::string& line : text::splitLines(text)) {
    std::vector<std::string> f = text::split(line, '\t');
    if (f.size() < 3) f = text::splitWhitespace(line);
    if (f.size() < 3) continue;
    if (z.dataset.empty()) z.dataset = f[0];
    if (f[1] == "encryption") z.encryption = f[2];
    if (f[1] == "keystatus") z.keystatus = f[2];
    if (f[1] == "encryptionroot") z.encryption_root = f[2];
  }
  return z;
}

std::vector<std::string> parseZpoolDevices(std::string_view text) {
  std::vector<std::string> out;
  for (const std::string& line : text::splitLines(text)) {
    std::vector<std::string> f = text::splitWhitespace(line);
    if (f.empty() || f[0].empty() || f[0][0] != '/') continue;
    if (std::find(out.begin(), out.end(), f[0]) == out.end()) out.push_back(f[0]);
  }
  return out;
}

DmClass classifyDmUuid(std::string_view uuid) {
  struct Prefix {
    std::string_view prefix;
    DmRole role;
    std::string_view label;
    bool opal;
  };
  // Longest first where prefixes nest (CRYPT-LUKS2-OPAL- before CRYPT-LUKS2-).
  static constexpr Prefix kPrefixes[] = {
      {"CRYPT-LUKS2-OPAL-", DmRole::kEncryption, "LUKS2 OPAL", true},
      {"CRYPT-LUKS1-", DmRole::kEncryption, "LUKS1", false},
      {"CRYPT-LUKS2-", DmRole::kEncryption, "LUKS2", false},
      {"CRYPT-PLAIN-", DmRole::kEncryption, "plain dm-crypt", false},
      {"CRYPT-BITLK-", DmRole::kEncryption, "BitLocker", false},
      {"CRYPT-TCRYPT-", DmRole::kEncryption, "TrueCrypt/VeraCrypt", false},
      {"CRYPT-LOOPAES-", DmRole::kEncryption, "loop-AES", false},
      {"CRYPT-FVAULT2-", DmRole::kEncryption, "FileVault2", false},
      {"CRYPT-VERITY-", DmRole::kPassThrough, "verity", false},
      {"CRYPT-INTEGRITY-", DmRole::kPassThrough, "integrity", false},
      {"CRYPT-SUBDEV-", DmRole::kPassThrough, "crypt sub-device", false},
      {"LVM-", DmRole::kPassThrough, "LVM", false},
      {"mpath-", DmRole::kPassThrough, "multipath", false},
  };
  DmClass c;
  std::string u = text::trim(uuid);
  if (u.empty()) {
    c.label = "no dm uuid";
    return c;
  }
  for (const auto& p : kPrefixes) {
    if (u.starts_with(p.prefix)) {
      c.role = p.role;
      c.label = std::string(p.label);
      c.opal = p.opal;
      return c;
    }
  }
  // kpartx: "part<N>-<uuid of the whole device>".
  if (u.starts_with("part") && u.size() > 5) {
    size_t i = 4;
    while (i < u.size() && std::isdigit(static_cast<unsigned char>(u[i])) != 0) ++i;
    if (i > 4 && i < u.size() && u[i] == '-') {
      c.role = DmRole::kPassThrough;
      c.label = "partition mapping";
      return c;
    }
  }
  c.label = "dm uuid " + u.substr(0, u.find('-'));
  return c;
}

namespace {

std::string layerLabel(const Layer& l) {
  return l.detail.empty() ? l.device : l.device + " (" + l.detail + ")";
}

const char* triJsonName(Tri t) {
  switch (t) {
    case Tri::kYes:
      return "yes";
    case Tri::kNo:
      return "no";
    case Tri::kUnknown:
      break;
  }
  return "unknown";
}

json::Value triValue(Tri t) {
  if (t == Tri::kYes) return json::Value(true);
  if (t == Tri::kNo) return json::Value(false);
  return json::Value(nullptr);
}

void flattenLayers(const Layer& l, json::Array& out, std::set<std::string>& seen) {
  if (!seen.insert(l.device + "\x1f" + l.type).second) return;
  json::Value o = json::Value::object();
  o.set("device", l.device);
  o.set("type", l.type);
  if (!l.detail.empty()) o.set("detail", l.detail);
  o.set("encrypted", triValue(l.encrypted));
  if (!l.cipher.empty()) o.set("cipher", l.cipher);
  if (!l.reason.empty()) o.set("reason", l.reason);
  if (l.removable) o.set("removable", true);
  json::Value lower_names = json::Value::array();
  for (const auto& c : l.lower) lower_names.push(c.device);
  o.set("lower", std::move(lower_names));
  out.push_back(std::move(o));
  for (const auto& c : l.lower) flattenLayers(c, out, seen);
}

const char* kindName(TargetKind k) {
  switch (k) {
    case TargetKind::kRoot:
      return "root";
    case TargetKind::kMount:
      return "mount";
    case TargetKind::kSwap:
      return "swap";
  }
  return "mount";
}

i18n::Message targetPhrase(const Target& t) {
  using i18n::Lit;
  using i18n::Msg;
  switch (t.kind) {
    case TargetKind::kRoot:
      return Msg("Root filesystem {1}", {Lit(t.name)});
    case TargetKind::kMount:
      return Msg("Filesystem {1}", {Lit(t.name)});
    case TargetKind::kSwap:
      return t.fstype == "file" ? Msg("Swap file {1}", {Lit(t.name)})
                                : Msg("Swap {1}", {Lit(t.name)});
  }
  return Lit(t.name);
}

std::string targetChain(const Target& t) {
  if (!t.chain) return t.name;
  return t.name + " \u2190 " + chainString(*t.chain);
}

Advice remediationFor(const Target& t) {
  using i18n::Lit;
  using i18n::Msg;
  Advice a;
  auto step = [&](i18n::Message m) { a.steps.push_back(std::move(m)); };
  const i18n::Message dev = t.plain_device.empty() ? Lit("") : Lit(" (" + t.plain_device + ")");
  if (t.encrypted == Tri::kUnknown) {
    if (t.remediation_hint == "no_recording") {
      a.code = "disk_encryption.record_command";
      a.heading =
          Msg("The tree given with --root has no recording of {1} in "
              ".hearth/commands.json.",
              {Lit(t.remediation_detail)});
      step(Msg("Run that command as root on the machine the tree was taken from."));
      step(Msg("Add its argv, exit code and output to .hearth/commands.json in the tree."));
      step(Msg("Check the tree again."));
      return a;
    }
    if (t.remediation_hint == "run_as_root") {
      a.code = "disk_encryption.run_as_root";
      step(Msg("Run the check as root, as the Hearth service does: sudo hearth-agent check"));
      step(Msg("Then it can confirm the encryption of {1}.", {Lit(t.name)}));
      return a;
    }
    if (t.remediation_hint == "container") {
      a.code = "disk_encryption.run_on_the_computer";
      step(
          Msg("Run hearth-agent on the computer itself, not inside a container or a live/USB "
              "session: from there it cannot see the disks."));
      return a;
    }
    if (t.remediation_hint == "zfs_tool") {
      a.code = "disk_encryption.install_zfs_tools";
      step(Msg("Install the ZFS tools: sudo apt install zfsutils-linux"));
      step(
          Msg("Then the check can read the encryption of {1}. Otherwise contact your IT "
              "support.",
              {Lit(t.name)}));
      return a;
    }
    a.code = "disk_encryption.cannot_see";
    step(
        Msg("The check could not see how {1} is stored: run it as root on the computer itself "
            "(sudo hearth-agent check).",
            {Lit(t.name)}));
    step(Msg("If this persists, send the evidence to your IT support."));
    return a;
  }
  if (t.remediation_hint == "cipher_null") {
    a.code = "disk_encryption.replace_cipher_null";
    a.heading =
        Msg("{1} is on a LUKS volume{2} that uses cipher_null, which does not encrypt "
            "anything.",
            {Lit(t.name), dev});
    step(Msg("Contact your IT support before you start."));
    step(Msg("Back up your files."));
    step(
        Msg("Have the volume re-encrypted with a real cipher (cryptsetup reencrypt), or "
            "reinstall with encryption turned on."));
    return a;
  }
  switch (t.kind) {
    case TargetKind::kRoot:
      a.code = "disk_encryption.reinstall_encrypted";
      a.heading =
          Msg("Your computer's system disk{1} is not encrypted, so anyone who takes the "
              "computer or the disk can read your files. Encryption can only be turned "
              "on by reinstalling:",
              {dev});
      step(Msg("Contact your IT support if you are unsure or need help."));
      step(Msg("Back up your files (external disk or cloud)."));
      step(
          Msg("Reinstall and choose full-disk encryption (Ubuntu: \"Advanced features\" > "
              "\"Use LVM and encryption\"; Fedora: \"Encrypt my data\"; Debian: \"Guided - "
              "use entire disk and set up encrypted LVM\")."));
      step(Msg("Pick a strong passphrase."));
      step(Msg("Restore your files."));
      return a;
    case TargetKind::kMount:
      a.code = "disk_encryption.encrypt_disk";
      a.heading = Msg("The disk mounted at {1}{2} is not encrypted.", {Lit(t.name), dev});
      step(Msg("Back up its files."));
      step(
          Msg("Re-create it as an encrypted (LUKS) volume, e.g. in the Disks app: Format "
              "Partition > \"Internal disk for use with Linux systems only\" > \"Password "
              "protect volume (LUKS)\", and add it to /etc/crypttab."));
      step(Msg("Restore the files; or move the data onto your encrypted system disk instead."));
      step(Msg("Contact your IT support if you are unsure."));
      return a;
    case TargetKind::kSwap:
      if (t.fstype == "file") {
        a.code = "disk_encryption.swap_file";
        a.heading =
            Msg("The swap file {1} lies on a filesystem that is not encrypted.", {Lit(t.name)});
        step(Msg("Encrypt that filesystem (see the advice for it)."));
        step(
            Msg("Or turn the swap file off: sudo swapoff {1}, and remove its line from "
                "/etc/fstab.",
                {Lit(t.name)}));
        return a;
      }
      a.code = "disk_encryption.swap";
      a.heading =
          Msg("Swap on {1}{2} is not encrypted, so parts of memory (documents, "
              "passwords) are written to the disk readable by anyone.",
              {Lit(t.name), dev});
      step(Msg("Either turn it off: sudo swapoff {1}, and remove its line from /etc/fstab;",
               {Lit(t.name)}));
      step(
          Msg("Or encrypt it: add a line to /etc/crypttab such as \"cryptswap {1} /dev/urandom "
              "swap,cipher=aes-xts-plain64,size=512\" (use a stable /dev/disk/by-id name), use "
              "/dev/mapper/cryptswap in /etc/fstab, then restart. A random-key swap cannot be "
              "used for hibernation.",
              {Lit(t.name)}));
      step(Msg("Contact your IT support if you are unsure."));
      return a;
  }
  return a;
}

}  // namespace

std::string chainString(const Layer& top) {
  std::string s = layerLabel(top);
  if (top.lower.size() == 1) {
    s += " \u2190 " + chainString(top.lower[0]);
  } else if (top.lower.size() > 1) {
    std::vector<std::string> parts;
    for (const auto& l : top.lower) parts.push_back(chainString(l));
    s += " \u2190 [" + text::join(parts, " | ") + "]";
  }
  return s;
}

json::Value layerJson(const Layer& layer) {
  json::Array arr;
  std::set<std::string> seen;
  flattenLayers(layer, arr, seen);
  return json::Value(std::move(arr));
}

CheckResult decide(const Facts& facts) {
  CheckResult r;
  r.id = kDiskEncryptionCheckId;

  json::Value targets = json::Value::array();
  for (const Target& t : facts.targets) {
    json::Value o = json::Value::object();
    o.set("target", t.name);
    o.set("kind", kindName(t.kind));
    if (t.kind != TargetKind::kSwap) o.set("mount_point", t.name);
    o.set("fstype", t.fstype);
    o.set("source", t.source);
    if (!t.device_number.empty()) o.set("device_number", t.device_number);
    o.set("encrypted", triValue(t.encrypted));
    o.set("status", triJsonName(t.encrypted));
    o.set("chain", targetChain(t));
    if (!t.via.empty()) o.set("via", t.via);
    if (!t.plain_device.empty()) o.set("unencrypted_device", t.plain_device);
    if (!t.reason.empty()) o.set("reason", t.reason);
    o.set("layers", t.chain ? layerJson(*t.chain) : json::Value::array());
    targets.push(std::move(o));
  }
  auto excludedJson = [](const std::vector<Excluded>& list) {
    json::Value a = json::Value::array();
    for (const auto& e : list) {
      json::Value o = json::Value::object();
      o.set("target", e.name);
      o.set("fstype", e.fstype);
      o.set("source", e.source);
      o.set("why", e.why);
      a.push(std::move(o));
    }
    return a;
  };
  json::Value homes = json::Value::array();
  for (const auto& h : facts.encrypted_homes) {
    json::Value o = json::Value::object();
    o.set("path", h.path);
    o.set("kind", h.kind);
    homes.push(std::move(o));
  }
  json::Value notes = json::Value::array();
  for (const auto& n : facts.notes) notes.push(n);

  r.evidence.set("targets", std::move(targets));
  r.evidence.set("not_judged", excludedJson(facts.excluded));
  r.evidence.set("removable_media", excludedJson(facts.removable_media));
  r.evidence.set("encrypted_homes", std::move(homes));
  if (!facts.notes.empty()) r.evidence.set("notes", std::move(notes));

  std::vector<const Target*> failing;
  std::vector<const Target*> unknown;
  for (const Target& t : facts.targets) {
    if (t.encrypted == Tri::kNo) failing.push_back(&t);
    if (t.encrypted == Tri::kUnknown) unknown.push_back(&t);
  }

  using i18n::Lit;
  using i18n::Msg;
  if (facts.targets.empty()) {
    r.verdict = Verdict::kUnknown;
    r.setSummary(Msg("Could not find the root filesystem to judge"));
    Advice a;
    a.code = "disk_encryption.run_as_root";
    a.steps.push_back(Msg("Run the check on the computer itself, as root."));
    r.addAdvice(std::move(a));
    return r;
  }

  std::vector<Advice> advice;
  auto addAdvice = [&](Advice a) {
    if (a.code.empty()) return;
    for (const auto& b : advice) {
      if (b.code == a.code && b.heading.english() == a.heading.english() &&
          b.steps.size() == a.steps.size() &&
          (b.steps.empty() || b.steps.back().english() == a.steps.back().english())) {
        return;
      }
    }
    advice.push_back(std::move(a));
  };

  if (!failing.empty()) {
    r.verdict = Verdict::kFail;
    const Target& t = *failing.front();
    std::vector<i18n::Message> parts;
    i18n::Message first = t.plain_device.empty() ? Msg("{1} is not encrypted", {targetPhrase(t)})
                                                 : Msg("{1} on {2} is not encrypted",
                                                       {targetPhrase(t), Lit(t.plain_device)});
    if (t.remediation_hint == "cipher_null") {
      first = i18n::Joined({first, Msg("(its LUKS volume uses cipher_null)")}, " ");
    }
    parts.push_back(first);
    if (failing.size() > 1) {
      std::vector<std::string> others;
      for (size_t i = 1; i < failing.size(); ++i) others.push_back(failing[i]->name);
      parts.push_back(Msg("also not encrypted: {1}", {Lit(text::join(others, ", "))}));
    }
    if (t.kind == TargetKind::kRoot && !facts.encrypted_homes.empty()) {
      std::vector<std::string> h;
      for (const auto& e : facts.encrypted_homes) h.push_back(e.path + " (" + e.kind + ")");
      parts.push_back(Msg("only {1} is encrypted", {Lit(text::join(h, ", "))}));
    }
    r.setSummary(i18n::Joined(parts, "; "));
    for (const Target* f : failing) addAdvice(remediationFor(*f));
    if (t.kind == TargetKind::kRoot && !facts.encrypted_homes.empty()) {
      Advice a;
      a.code = "disk_encryption.home_only";
      a.steps.push_back(
          Msg("An encrypted home directory is not enough: the rest of the system disk (swap, "
              "temporary files, other users' data, system logs) stays readable."));
      addAdvice(std::move(a));
    }
  } else if (!unknown.empty()) {
    r.verdict = Verdict::kUnknown;
    const Target& t = *unknown.front();
    r.setSummary(
        t.kind == TargetKind::kRoot
            ? Msg("Could not tell whether the root filesystem {1} is encrypted: {2}",
                  {Lit(t.name), Lit(t.reason)})
            : Msg("Could not tell whether {1} is encrypted: {2}", {Lit(t.name), Lit(t.reason)}));
    for (const Target* u : unknown) addAdvice(remediationFor(*u));
  } else {
    r.verdict = Verdict::kPass;
    std::vector<i18n::Message> names;
    for (const Target& t : facts.targets) {
      if (names.size() == 4) {
        names.push_back(Msg("and {1} more", {Lit(std::to_string(facts.targets.size() - 4))}));
        break;
      }
      names.push_back(t.kind == TargetKind::kSwap ? Msg("swap {1}", {Lit(t.name)}) : Lit(t.name));
    }
    r.setSummary(Msg("Encrypted: {1}", {i18n::Joined(names, ", ")}));
  }
  for (auto& a : advice) r.addAdvice(std::move(a));
  return r;
}

}  // namespace hearth::checks::disk
