// disk_encryption: pure helpers of the Linux collector (no I/O here): which filesystem types are
// virtual, network, read-only images or stacked encryption; lexical path helpers; LVM names; and
// the small operations on Layer trees (all of, deciding layer, plain devices, leaves).
#pragma once

#include <functional>
#include <set>
#include <string>
#include <vector>

#include "disk_encryption/disk_encryption.h"
#include "hearth/status.h"

namespace hearth::checks::disk {

// Filesystem types never judged (proc, tmpfs, overlay, FUSE helpers, ...).
const std::set<std::string, std::less<>>& virtualTypes();
// Network filesystems: listed as excluded, never followed to a disk.
const std::set<std::string, std::less<>>& networkTypes();
// Read-only images (squashfs, erofs, iso9660, ...): counted in a note, not judged.
const std::set<std::string, std::less<>>& readOnlyImageTypes();
// Stacked encrypting filesystems: noted, never judged (they sit on top of another filesystem).
const std::set<std::string, std::less<>>& encryptedOverlayTypes();

// The last path component ("/sys/block/sda" -> "sda"); the whole string without a '/'.
std::string basenameOf(const std::string& p);
// Everything before the last '/' ("/" for "/x", "." without a '/').
std::string dirnameOf(const std::string& p);
// Lexical normalisation of an absolute path ("." and ".." removed).
std::string normalize(const std::string& path);
// Whether `path` is `dir` or below it (every path is under "/").
bool isUnder(const std::string& path, const std::string& dir);
// "vgubuntu-root" -> "vgubuntu/root"; LVM doubles '-' inside names ("my--vg-lv" -> "my-vg/lv").
std::string lvmDisplayName(const std::string& dm_name);
// The reason a sysfs entry could not be looked at: missing, or unreadable.
std::string sysfsProblem(const std::string& path, const Status& st);

// kNo if any lower layer is kNo, else kUnknown if any is unknown (or there are none), else kYes.
Tri allOf(const std::vector<Layer>& lower);
// The layer whose own fact decided a kNo/kUnknown verdict (deepest along the deciding path).
const Layer& decidingLayer(const Layer& l);
// The unencrypted devices under a kNo layer (a cipher_null crypt layer is itself the device).
void plainDevices(const Layer& l, std::vector<std::string>& out);
// The bottom layers of the tree, left to right.
void leaves(const Layer& l, std::vector<const Layer*>& out);
// A layer that could not be decided, with the reason.
Layer unknownLayer(std::string device, std::string type, std::string reason);

}  // namespace hearth::checks::disk
