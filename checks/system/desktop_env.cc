// Which desktop and distribution this PC has (desktop_env.h): the session files, the version
// files and the update tools a real install leaves, read through SystemView.
#include "hearth/desktop_env.h"

#include <algorithm>
#include <cstdlib>

#include "hearth/text.h"

namespace hearth::checks {

const std::vector<std::string> kDesktopBinaries = {
    "/usr/bin/gnome-shell",     "/usr/bin/plasmashell",    "/usr/bin/xfce4-session",
    "/usr/bin/cinnamon",        "/usr/bin/update-manager", "/usr/bin/gnome-software",
    "/usr/bin/plasma-discover", "/usr/bin/mintupdate",
};

namespace {

bool has(const std::vector<std::string>& list, std::string_view item) {
  return std::find(list.begin(), list.end(), item) != list.end();
}

// The leading number of a version ("46.0-0ubuntu6" → 46, "1:5.27.5-2" → 5).
int leadingNumber(std::string_view v) {
  if (size_t colon = v.find(':'); colon != std::string_view::npos && colon < v.find('.')) {
    v = v.substr(colon + 1);
  }
  int n = 0;
  size_t i = 0;
  for (; i < v.size() && v[i] >= '0' && v[i] <= '9' && n < 100000; ++i) n = n * 10 + (v[i] - '0');
  return i == 0 ? 0 : n;
}

// The desktop named by a session's XDG_CURRENT_DESKTOP or logind Desktop value.
DesktopKind kindOfSession(std::string_view session) {
  std::string s = text::toLower(session);
  for (const auto& part : text::split(s, ':')) {
    if (part == "gnome" || part == "ubuntu" || part == "gnome-classic") return DesktopKind::kGnome;
    if (part == "kde" || part == "plasma" || part == "plasmawayland") return DesktopKind::kKde;
    if (part == "xfce") return DesktopKind::kXfce;
    if (part == "x-cinnamon" || part == "cinnamon") return DesktopKind::kCinnamon;
  }
  return DesktopKind::kUnknown;
}

bool hasSession(const DesktopFiles& f, std::string_view name) {
  return has(f.xsessions, name) || has(f.wayland_sessions, name);
}

}  // namespace

bool DesktopEnv::isLike(std::string_view id) const { return distro == id || has(distro_like, id); }

std::string DesktopEnv::label() const {
  switch (kind) {
    case DesktopKind::kGnome:
      return major >= 46 ? "gnome-46" : "gnome-42";
    case DesktopKind::kKde:
      return major >= 6 ? "plasma-6" : "plasma-5";
    case DesktopKind::kXfce:
      return "xfce";
    case DesktopKind::kCinnamon:
      return "cinnamon";
    case DesktopKind::kUnknown:
      break;
  }
  return "unknown";
}

int parseGnomeVersionXml(std::string_view xml) {
  size_t open = xml.find("<platform>");
  if (open == std::string_view::npos) return 0;
  return leadingNumber(text::trim(xml.substr(open + 10, 8)));
}

int dpkgMajorVersion(std::string_view status, std::string_view package) {
  // Paragraphs separated by blank lines; "Package:", "Status: install ok installed", "Version:".
  size_t pos = 0;
  while (pos < status.size()) {
    size_t end = status.find("\n\n", pos);
    if (end == std::string_view::npos) end = status.size();
    std::string_view para = status.substr(pos, end - pos);
    pos = end + 2;
    bool named = false, installed = false;
    int version = 0;
    for (const auto& line : text::splitLines(para)) {
      if (line.starts_with("Package: ")) named = text::trim(line.substr(9)) == package;
      if (line.starts_with("Status: ")) installed = line.ends_with(" installed");
      if (line.starts_with("Version: ")) version = leadingNumber(text::trim(line.substr(9)));
    }
    if (named && installed) return version;
  }
  return 0;
}

DesktopEnv parseDesktopEnv(const DesktopFiles& f) {
  DesktopEnv env;
  auto os = text::parseOsRelease(f.os_release);
  if (auto it = os.find("ID"); it != os.end()) env.distro = text::toLower(it->second);
  if (auto it = os.find("ID_LIKE"); it != os.end()) {
    env.distro_like = text::splitWhitespace(text::toLower(it->second));
  }
  if (auto it = os.find("VERSION_ID"); it != os.end()) env.distro_version = it->second;
  env.software_updater = has(f.binaries, "/usr/bin/update-manager");
  env.gnome_software = has(f.binaries, "/usr/bin/gnome-software");
  env.discover = has(f.binaries, "/usr/bin/plasma-discover");
  env.mint_update = has(f.binaries, "/usr/bin/mintupdate");

  // The person's session decides; else what is installed, in the order of how often a
  // company PC has it.
  env.kind = kindOfSession(f.session_desktop);
  if (env.kind == DesktopKind::kUnknown) {
    if (hasSession(f, "gnome.desktop") || hasSession(f, "ubuntu.desktop") ||
        hasSession(f, "gnome-wayland.desktop") || has(f.binaries, "/usr/bin/gnome-shell")) {
      env.kind = DesktopKind::kGnome;
    } else if (hasSession(f, "plasma.desktop") || hasSession(f, "plasmawayland.desktop") ||
               hasSession(f, "plasmax11.desktop") || has(f.binaries, "/usr/bin/plasmashell")) {
      env.kind = DesktopKind::kKde;
    } else if (hasSession(f, "cinnamon.desktop") || has(f.binaries, "/usr/bin/cinnamon")) {
      env.kind = DesktopKind::kCinnamon;
    } else if (hasSession(f, "xfce.desktop") || has(f.binaries, "/usr/bin/xfce4-session")) {
      env.kind = DesktopKind::kXfce;
    }
  }

  switch (env.kind) {
    case DesktopKind::kGnome: {
      env.major = parseGnomeVersionXml(f.gnome_version_xml);
      if (env.major == 0) env.major = dpkgMajorVersion(f.dpkg_status, "gnome-shell");
      if (env.major == 0) {
        // The release's own GNOME, when nothing on disk says: Ubuntu 24.04 and Fedora 40
        // brought GNOME 46, Debian 13 GNOME 48.
        int v = leadingNumber(env.distro_version);
        if ((env.distro == "ubuntu" && v >= 24) || (env.distro == "fedora" && v >= 40) ||
            (env.distro == "debian" && v >= 13)) {
          env.major = 46;
        }
      }
      break;
    }
    case DesktopKind::kKde:
      // Plasma 6 renamed its sessions: wayland-sessions/plasma.desktop (Plasma 5 had
      // plasmawayland.desktop) and xsessions/plasmax11.desktop (Plasma 5: plasma.desktop).
      if (has(f.wayland_sessions, "plasma.desktop") || has(f.xsessions, "plasmax11.desktop")) {
        env.major = 6;
      } else if (has(f.wayland_sessions, "plasmawayland.desktop") ||
                 has(f.xsessions, "plasma.desktop")) {
        env.major = 5;
      } else {
        env.major = dpkgMajorVersion(f.dpkg_status, "plasma-workspace");
      }
      break;
    default:
      break;
  }
  return env;
}

DesktopEnv DetectDesktopEnv(const SystemView& system, std::string_view session_desktop,
                            bool with_version) {
  DesktopFiles f;
  f.session_desktop = std::string(session_desktop);
  if (auto os = system.readFile("/etc/os-release", 64 * 1024); os.ok()) {
    f.os_release = *os;
  } else if (auto usr = system.readFile("/usr/lib/os-release", 64 * 1024); usr.ok()) {
    f.os_release = *usr;
  }
  if (auto xml = system.readFile("/usr/share/gnome/gnome-version.xml", 64 * 1024); xml.ok()) {
    f.gnome_version_xml = *xml;
  }
  if (auto x = system.listDir("/usr/share/xsessions"); x.ok()) f.xsessions = *x;
  if (auto w = system.listDir("/usr/share/wayland-sessions"); w.ok()) f.wayland_sessions = *w;
  for (const auto& bin : kDesktopBinaries) {
    if (system.stat(bin, true).ok()) f.binaries.push_back(bin);
  }
  DesktopEnv env = parseDesktopEnv(f);
  if (with_version && env.major == 0 &&
      (env.kind == DesktopKind::kGnome || env.kind == DesktopKind::kKde)) {
    // Only then the (large) dpkg database, for the installed version of the shell.
    if (auto st = system.readFile("/var/lib/dpkg/status", 64 << 20); st.ok()) {
      f.dpkg_status = std::move(st).value();
      env = parseDesktopEnv(f);
    }
  }
  return env;
}

}  // namespace hearth::checks
