#include "support/sysfs_builder.h"

#include <filesystem>
#include <fstream>
#include <stdexcept>

#include "hearth/json.h"

namespace hearth::testing {

namespace fs = std::filesystem;

SysfsBuilder::SysfsBuilder(std::string root) : root_(std::move(root)) {}

void SysfsBuilder::write(const std::string& rel, const std::string& content) const {
  fs::path p = fs::path(root_) / rel;
  fs::create_directories(p.parent_path());
  std::ofstream f(p, std::ios::binary | std::ios::trunc);
  f << content;
}

void SysfsBuilder::link(const std::string& rel, const std::string& target_rel) const {
  fs::path p = fs::path(root_) / rel;
  fs::create_directories(p.parent_path());
  fs::path target = fs::path(root_) / target_rel;
  fs::create_symlink(target.lexically_relative(p.parent_path()), p);
}

std::string SysfsBuilder::dirOf(const std::string& name) const {
  for (const auto& d : devices_) {
    if (d.first == name) return d.second;
  }
  throw std::invalid_argument("SysfsBuilder: unknown device " + name);
}

void SysfsBuilder::device(const std::string& name, const std::string& devnum,
                          const std::string& dir) {
  devices_.emplace_back(name, dir);
  write(dir + "/dev", devnum + "\n");
  link("sys/dev/block/" + devnum, dir);
}

SysfsBuilder& SysfsBuilder::disk(const std::string& name, const std::string& devnum, bool removable,
                                 const std::string& bus) {
  std::string dir = "sys/devices/" + bus + "/" + name;
  device(name, devnum, dir);
  write(dir + "/removable", removable ? "1\n" : "0\n");
  return *this;
}

SysfsBuilder& SysfsBuilder::part(const std::string& disk, const std::string& name,
                                 const std::string& devnum, int number) {
  std::string dir = dirOf(disk) + "/" + name;
  device(name, devnum, dir);
  write(dir + "/partition", std::to_string(number) + "\n");
  return *this;
}

SysfsBuilder& SysfsBuilder::dm(const std::string& name, const std::string& devnum,
                               const std::string& dm_name, const std::string& uuid,
                               const std::vector<std::string>& slaves) {
  std::string dir = "sys/devices/virtual/block/" + name;
  device(name, devnum, dir);
  write(dir + "/removable", "0\n");
  write(dir + "/dm/name", dm_name + "\n");
  write(dir + "/dm/uuid", uuid.empty() ? "" : uuid + "\n");
  for (const auto& s : slaves) link(dir + "/slaves/" + s, dirOf(s));
  return *this;
}

SysfsBuilder& SysfsBuilder::md(const std::string& name, const std::string& devnum,
                               const std::string& level, const std::vector<std::string>& slaves) {
  std::string dir = "sys/devices/virtual/block/" + name;
  device(name, devnum, dir);
  write(dir + "/md/level", level + "\n");
  for (const auto& s : slaves) link(dir + "/slaves/" + s, dirOf(s));
  return *this;
}

SysfsBuilder& SysfsBuilder::loop(const std::string& name, const std::string& devnum,
                                 const std::string& backing_file) {
  std::string dir = "sys/devices/virtual/block/" + name;
  device(name, devnum, dir);
  write(dir + "/loop/backing_file", backing_file + "\n");
  return *this;
}

SysfsBuilder& SysfsBuilder::btrfs(const std::string& fsid,
                                  const std::vector<std::string>& members) {
  for (const auto& m : members) link("sys/fs/btrfs/" + fsid + "/devices/" + m, dirOf(m));
  return *this;
}

SysfsBuilder& SysfsBuilder::mount(const std::string& devnum, const std::string& mount_point,
                                  const std::string& fstype, const std::string& source,
                                  const std::string& fs_root) {
  int id = next_mount_id_++;
  mountinfo_.push_back(std::to_string(id) + " " + (mount_point == "/" ? "1" : "22") + " " + devnum +
                       " " + fs_root + " " + mount_point + " rw,relatime shared:1 - " + fstype +
                       " " + source + " rw");
  return *this;
}

SysfsBuilder& SysfsBuilder::swap(const std::string& filename, const std::string& type) {
  swaps_.push_back(filename + "\t" + type + "\t8388604\t0\t-2");
  return *this;
}

SysfsBuilder& SysfsBuilder::command(const std::vector<std::string>& argv, const std::string& out,
                                    int exit_code, const std::string& err) {
  json::Value c = json::Value::object();
  json::Value a = json::Value::array();
  for (const auto& s : argv) a.push(s);
  c.set("argv", std::move(a));
  c.set("exit", exit_code);
  c.set("stdout", out);
  c.set("stderr", err);
  commands_ += (commands_.empty() ? "" : ",\n") + json::write(c);
  return *this;
}

SysfsBuilder& SysfsBuilder::luksStatus(const std::string& dm_name, const std::string& cipher) {
  return command({"/usr/sbin/cryptsetup", "--readonly", "status", dm_name},
                 "/dev/mapper/" + dm_name + " is active and is in use.\n  type:    LUKS2\n" +
                     "  cipher:  " + cipher + "\n  keysize: 512 bits\n  key location: keyring\n");
}

void SysfsBuilder::finish() {
  std::string mi;
  for (const auto& l : mountinfo_) mi += l + "\n";
  write("proc/self/mountinfo", mi);
  std::string sw = "Filename\t\t\t\tType\t\tSize\t\tUsed\t\tPriority\n";
  for (const auto& l : swaps_) sw += l + "\n";
  write("proc/swaps", sw);
  write(".hearth/commands.json", "{\"commands\": [\n" + commands_ + "\n]}\n");
}

}  // namespace hearth::testing
