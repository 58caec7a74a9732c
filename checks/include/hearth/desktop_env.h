// Which desktop (and its version) and which distribution the person at the PC uses, so advice
// names the menus and the update tool they actually have (GNOME 42-45 vs 46+, Plasma 5 vs 6,
// Ubuntu's Software Updater vs GNOME Software vs Discover). Read through SystemView only, from
// the files a desktop and a distribution install (tests/fixtures/desktops/README.md).
#pragma once

#include <string>
#include <string_view>
#include <vector>

#include "hearth/system_view.h"

namespace hearth::checks {

enum class DesktopKind { kUnknown, kGnome, kKde, kXfce, kCinnamon };

struct DesktopEnv {
  DesktopKind kind = DesktopKind::kUnknown;
  int major = 0;       // GNOME 45, 46; Plasma 5, 6; 0 when the version could not be read
  std::string distro;  // os-release ID: "ubuntu", "debian", "fedora", ...
  std::vector<std::string> distro_like;  // os-release ID_LIKE
  std::string distro_version;            // os-release VERSION_ID
  // The graphical update tools installed.
  bool software_updater = false;  // Ubuntu's "Software Updater" (update-manager)
  bool gnome_software = false;    // "Software" (gnome-software)
  bool discover = false;          // KDE's "Discover" (plasma-discover)
  bool mint_update = false;       // Linux Mint's "Update Manager" (mintupdate)

  bool isLike(std::string_view id) const;  // distro or one of distro_like
  // "gnome-46", "gnome-42" (GNOME 42 to 45 share menus), "plasma-6", "plasma-5", "xfce",
  // "cinnamon", "unknown".
  std::string label() const;
};

// The files that tell, as read (empty when absent); parseDesktopEnv is pure.
struct DesktopFiles {
  std::string os_release;
  std::string gnome_version_xml;       // /usr/share/gnome/gnome-version.xml
  std::string dpkg_status;             // /var/lib/dpkg/status (only the versions it names are used)
  std::vector<std::string> xsessions;  // file names in /usr/share/xsessions
  std::vector<std::string> wayland_sessions;  // file names in /usr/share/wayland-sessions
  std::vector<std::string> binaries;          // which of kDesktopBinaries exist (full paths)
  // The session the person uses, when known (XDG_CURRENT_DESKTOP or logind's Desktop:
  // "ubuntu:GNOME", "KDE", "XFCE", "X-Cinnamon"); empty: judged from what is installed.
  std::string session_desktop;
};

// The programs whose presence DetectDesktopEnv looks at.
extern const std::vector<std::string> kDesktopBinaries;

DesktopEnv parseDesktopEnv(const DesktopFiles& files);
// GNOME's platform version from gnome-version.xml (46; 3 for 3.38), 0 when unreadable.
int parseGnomeVersionXml(std::string_view xml);
// The major version of `package` in a dpkg status file, when it is installed; 0 otherwise.
int dpkgMajorVersion(std::string_view status, std::string_view package);

// Reads the files through `system` (under --root, the tree's) and judges them. Without
// `with_version` the version is not looked for beyond the small files (never dpkg's database).
DesktopEnv DetectDesktopEnv(const SystemView& system, std::string_view session_desktop = {},
                            bool with_version = true);

}  // namespace hearth::checks
