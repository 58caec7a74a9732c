// SysfsBuilder: writes a small machine tree (proc/self/mountinfo, proc/swaps, sysfs block devices
// with relative symlinks as in real sysfs, /sys/fs/btrfs, .hearth/commands.json) into a directory,
// for generated disk layouts run through RootedSystemView. The committed fixture trees under
// tests/fixtures/linux/disk_encryption have the same shape.
#pragma once

#include <string>
#include <vector>

namespace hearth::testing {

class SysfsBuilder {
 public:
  // `root`: an existing directory (a TempDir) the tree is written into.
  explicit SysfsBuilder(std::string root);

  // A whole disk at /sys/devices/<bus>/<name> (the default bus is a SATA port).
  SysfsBuilder& disk(
      const std::string& name, const std::string& devnum, bool removable = false,
      const std::string& bus = "pci0000:00/0000:00:17.0/ata1/host0/target0:0:0/0:0:0:0/block");
  SysfsBuilder& part(const std::string& disk, const std::string& name, const std::string& devnum,
                     int number);
  SysfsBuilder& dm(const std::string& name, const std::string& devnum, const std::string& dm_name,
                   const std::string& uuid, const std::vector<std::string>& slaves);
  SysfsBuilder& md(const std::string& name, const std::string& devnum, const std::string& level,
                   const std::vector<std::string>& slaves);
  SysfsBuilder& loop(const std::string& name, const std::string& devnum,
                     const std::string& backing_file);
  SysfsBuilder& btrfs(const std::string& fsid, const std::vector<std::string>& members);
  SysfsBuilder& mount(const std::string& devnum, const std::string& mount_point,
                      const std::string& fstype, const std::string& source,
                      const std::string& fs_root = "/");
  SysfsBuilder& swap(const std::string& filename, const std::string& type = "partition");
  SysfsBuilder& command(const std::vector<std::string>& argv, const std::string& out,
                        int exit_code = 0, const std::string& err = "");
  // Records `cryptsetup --readonly status NAME` printing an active LUKS2 device with `cipher`.
  SysfsBuilder& luksStatus(const std::string& dm_name,
                           const std::string& cipher = "aes-xts-plain64");
  // Writes proc/self/mountinfo, proc/swaps and .hearth/commands.json. Call once, last.
  void finish();

  const std::string& root() const { return root_; }

 private:
  void write(const std::string& rel, const std::string& content) const;
  void link(const std::string& rel, const std::string& target_rel) const;
  void device(const std::string& name, const std::string& devnum, const std::string& dir);
  std::string dirOf(const std::string& name) const;

  std::string root_;
  std::vector<std::pair<std::string, std::string>> devices_;  // name -> dir relative to root
  std::vector<std::string> mountinfo_;
  std::vector<std::string> swaps_;
  std::string commands_;
  int next_mount_id_ = 22;
};

}  // namespace hearth::testing
