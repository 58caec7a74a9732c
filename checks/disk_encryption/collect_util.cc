// disk_encryption: pure helpers of the Linux collector (collect_util.h). No I/O here.
#include "disk_encryption/collect_util.h"

#include <algorithm>

#include "hearth/text.h"

namespace hearth::checks::disk {

const std::set<std::string, std::less<>>& virtualTypes() {
  static const std::set<std::string, std::less<>> k = {
      "proc",       "sysfs",         "tmpfs",          "devtmpfs",
      "devpts",     "cgroup",        "cgroup2",        "securityfs",
      "debugfs",    "tracefs",       "pstore",         "bpf",
      "mqueue",     "hugetlbfs",     "configfs",       "fusectl",
      "autofs",     "binfmt_misc",   "efivarfs",       "ramfs",
      "rpc_pipefs", "nsfs",          "selinuxfs",      "overlay",
      "aufs",       "rootfs",        "nfsd",           "functionfs",
      "fuse",       "devfs",         "usbfs",          "ipathfs",
      "xenfs",      "zonefs",        "fuse.portal",    "fuse.gvfsd-fuse",
      "fuse.lxcfs", "fuse.snapfuse", "fuse-overlayfs", "fuse.fuse-overlayfs"};
  return k;
}

const std::set<std::string, std::less<>>& networkTypes() {
  static const std::set<std::string, std::less<>> k = {
      "nfs",         "nfs4",     "cifs", "smb3",  "smbfs",      "ceph",          "glusterfs",
      "9p",          "virtiofs", "afs",  "ncpfs", "fuse.sshfs", "fuse.rclone",   "davfs",
      "fuse.davfs2", "lustre",   "gfs2", "ocfs2", "fuse.s3fs",  "fuse.glusterfs"};
  return k;
}

const std::set<std::string, std::less<>>& readOnlyImageTypes() {
  static const std::set<std::string, std::less<>> k = {"squashfs", "erofs", "iso9660", "cramfs",
                                                       "romfs"};
  return k;
}

// Stacked encrypting filesystems: noted, never judged (they sit on top of another filesystem).
const std::set<std::string, std::less<>>& encryptedOverlayTypes() {
  static const std::set<std::string, std::less<>> k = {"ecryptfs", "fuse.gocryptfs", "fuse.encfs",
                                                       "fuse.cryfs", "fuse.securefs"};
  return k;
}

std::string basenameOf(const std::string& p) {
  size_t slash = p.find_last_of('/');
  return slash == std::string::npos ? p : p.substr(slash + 1);
}

std::string dirnameOf(const std::string& p) {
  size_t slash = p.find_last_of('/');
  if (slash == std::string::npos) return ".";
  if (slash == 0) return "/";
  return p.substr(0, slash);
}

// Lexical normalisation of an absolute path ("." and ".." removed).
std::string normalize(const std::string& path) {
  std::vector<std::string> parts;
  for (const std::string& c : text::split(path, '/')) {
    if (c.empty() || c == ".") continue;
    if (c == "..") {
      if (!parts.empty()) parts.pop_back();
      continue;
    }
    parts.push_back(c);
  }
  return "/" + text::join(parts, "/");
}

bool isUnder(const std::string& path, const std::string& dir) {
  if (dir == "/") return true;
  return path == dir || path.starts_with(dir + "/");
}

// "vgubuntu-root" -> "vgubuntu/root"; LVM doubles '-' inside names ("my--vg-lv" -> "my-vg/lv").
std::string lvmDisplayName(const std::string& dm_name) {
  for (size_t i = 0; i < dm_name.size(); ++i) {
    if (dm_name[i] != '-') continue;
    if (i + 1 < dm_name.size() && dm_name[i + 1] == '-') {
      ++i;
      continue;
    }
    auto undouble = [](std::string s) {
      std::string out;
      for (size_t k = 0; k < s.size(); ++k) {
        out += s[k];
        if (s[k] == '-' && k + 1 < s.size() && s[k + 1] == '-') ++k;
      }
      return out;
    };
    return undouble(dm_name.substr(0, i)) + "/" + undouble(dm_name.substr(i + 1));
  }
  return dm_name;
}

Tri allOf(const std::vector<Layer>& lower) {
  if (lower.empty()) return Tri::kUnknown;
  bool unknown = false;
  for (const auto& l : lower) {
    if (l.encrypted == Tri::kNo) return Tri::kNo;
    if (l.encrypted == Tri::kUnknown) unknown = true;
  }
  return unknown ? Tri::kUnknown : Tri::kYes;
}

// The layer whose own fact decided a kNo/kUnknown verdict (deepest along the deciding path).
const Layer& decidingLayer(const Layer& l) {
  for (const auto& c : l.lower) {
    if (c.encrypted == l.encrypted && l.encrypted != Tri::kYes && l.type != "crypt") {
      return decidingLayer(c);
    }
  }
  return l;
}

void plainDevices(const Layer& l, std::vector<std::string>& out) {
  if (l.encrypted != Tri::kNo) return;
  if (l.type == "crypt") {  // cipher_null: the crypt layer itself is what is wrong
    out.push_back(l.device);
    return;
  }
  bool child = false;
  for (const auto& c : l.lower) {
    if (c.encrypted == Tri::kNo) {
      plainDevices(c, out);
      child = true;
    }
  }
  if (!child && std::find(out.begin(), out.end(), l.device) == out.end()) out.push_back(l.device);
}

void leaves(const Layer& l, std::vector<const Layer*>& out) {
  if (l.lower.empty()) {
    out.push_back(&l);
    return;
  }
  for (const auto& c : l.lower) leaves(c, out);
}

Layer unknownLayer(std::string device, std::string type, std::string reason) {
  Layer l;
  l.device = std::move(device);
  l.type = std::move(type);
  l.encrypted = Tri::kUnknown;
  l.reason = std::move(reason);
  return l;
}

std::string sysfsProblem(const std::string& path, const Status& st) {
  if (st.code() == StatusCode::kNotFound) {
    return "no " + path + " entry (sysfs not available or incomplete)";
  }
  return "sysfs unreadable: " + st.message();
}

}  // namespace hearth::checks::disk
