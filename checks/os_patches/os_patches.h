// The os_patches check: what updates are pending, which of them are security updates, for how long,
// whether the package lists are fresh enough to tell, and whether a restart is pending.
//
//   os_patches.cc        pure parsers (apt, dnf, Release files, kernels) and the decision
//   state.cc             the persistent state (first-seen dates, the cached apt answer)
//   os_patches_linux.cc  collection through SystemView and the Check itself (Linux)
//   windows_facts.cc     collection on Windows through SystemView (built everywhere, tested on
//                        a fake); os_patches_windows.cc the Check on Windows
//
// Everything in namespace os_patches is exposed for tests.
#pragma once

#include <chrono>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/check.h"
#include "hearth/check_registry.h"
#include "hearth/desktop_env.h"
#include "hearth/json.h"
#include "hearth/policy.h"
#include "hearth/result.h"
#include "hearth/status.h"

namespace hearth::checks {

inline constexpr char kOsPatchesCheckId[] = "os_patches";

// The policy's `checks.os_patches` settings (besides `required`).
struct OsPatchesSettings : CheckSettings {
  int max_security_update_age_days = 7;
  int max_update_age_days = 30;
  int max_package_list_age_days = 7;
  int reboot_grace_days = 3;
  // A pending update whose age nobody can know: already pending when this PC was first checked,
  // and no other device of the fleet reported it earlier. kGrace counts it from this PC's first
  // sight (as before); kFail fails a security update at once.
  enum class UnknownAge { kGrace, kFail };
  UnknownAge unknown_age = UnknownAge::kGrace;
};

std::unique_ptr<Check> NewOsPatchesCheck();
// Its policy part (os_patches_spec.cc: settings, names) and its agent's entry (os_patches_entry.cc:
// factory and the privacy filter: counts, ages and the names and candidate versions of pending
// security updates only).
CheckSpec OsPatchesCheckEntry(PolicyPart);
CheckEntry OsPatchesCheckEntry(AgentPart);

namespace os_patches {

using TimePoint = std::chrono::system_clock::time_point;

struct CheckOptions {
  // Give apt a private package cache (Dir::Cache::pkgcache) in a scratch directory so that the
  // `apt-cache policy` call after the simulation maps it instead of rebuilding it (2 s → 20 ms).
  // Default: on for a live view, off under --root (recordings are matched by exact argv).
  std::optional<bool> private_apt_cache;
};
std::unique_ptr<Check> NewOsPatchesCheck(CheckOptions options);

// ---- versions -------------------------------------------------------------------------------

// dpkg's version ordering (epoch:upstream-revision, '~' sorts before everything): <0, 0, >0.
int compareDebianVersions(std::string_view a, std::string_view b);

// ---- apt ------------------------------------------------------------------------------------

struct AptInstall {
  std::string name;       // as printed: "libc6" or "libc6:i386" for a foreign architecture
  std::string installed;  // empty for a new install
  std::string candidate;
  std::vector<std::string> suites;  // archive of each origin: "oldstable-security", "noble-updates"
  bool security_origin = false;     // one of the suites ends in "-security"
};

struct AptSimulation {
  std::vector<AptInstall> installs;           // Inst lines
  std::vector<std::string> removals;          // Remv lines (package names)
  std::vector<std::string> kept_back;         // "have been kept back:"
  std::vector<std::string> phasing_deferred;  // "deferred due to phasing:"
};

// Parses `apt-get -s dist-upgrade` output (LC_ALL=C). InvalidArgument on a malformed Inst line
// (an undercount must never look like good news).
StatusOr<AptSimulation> parseAptSimulation(std::string_view input);

// True when `suite` (an archive name or "dist/component") is a security suite ("-security" suffix).
bool isSecuritySuite(std::string_view suite);

struct AptPolicyVersion {
  std::string version;
  std::vector<std::string> dists;  // "bookworm-security" (from "bookworm-security/main"), "./"
};
struct AptPolicyPackage {
  std::string installed;  // "" for "(none)"
  std::string candidate;
  std::vector<AptPolicyVersion> versions;
};
// Parses `apt-cache policy PKG...`: package name (as printed, without the final ':') → entry.
std::map<std::string, AptPolicyPackage> parseAptCachePolicy(std::string_view input);

// True when a version newer than `installed` (any, if empty) and not newer than `candidate` is
// published in a -security suite according to `policy`.
bool hasSecurityVersion(const AptPolicyPackage& policy, std::string_view installed,
                        std::string_view candidate);

// `apt-config dump` as key → value ("Dir::State::lists" → "lists/"). List items keep their "::"
// keys; only the last value of a repeated key is kept.
std::map<std::string, std::string> parseAptConfigDump(std::string_view input);
// apt's Configuration::FindFile/FindDir over a dump: relative values are resolved through the
// parent keys (Dir::State::lists → Dir::State → Dir) and RootDir. `dir` adds a trailing '/'.
std::string aptConfigPath(const std::map<std::string, std::string>& config, const std::string& key,
                          const std::string& fallback, bool dir);

// The `Date:` field of a Release/InRelease file (RFC 2822 form, UTC).
std::optional<TimePoint> parseReleaseDate(std::string_view release_text);

// ---- dnf ------------------------------------------------------------------------------------

struct DnfUpdate {
  std::string name;  // without the architecture
  std::string arch;
  std::string version;  // [epoch:]version-release
  std::string repo;
};
// `dnf check-update` stdout (dnf4 and dnf5): the available updates; the "Obsoleting Packages"
// section is ignored. Long names that dnf wrapped onto two lines are joined.
std::vector<DnfUpdate> parseDnfCheckUpdate(std::string_view input);
// "Last metadata expiration check: 2 days, 1:02:03 ago on ..." → that age, if present.
std::optional<std::chrono::seconds> parseDnfMetadataAge(std::string_view input);

struct DnfAdvisoryPackage {
  std::string advisory;
  std::string severity;  // "Important", "Moderate", ... or "" (old "security" form)
  std::string name;
  std::string arch;
  std::string version;  // version-release
};
// dnf4 `dnf -q updateinfo list --security`: "FEDORA-2025-x Important/Sec. nevra" and the old
// "FEDORA-2025-x security nevra". Non-security lines are skipped.
std::vector<DnfAdvisoryPackage> parseDnf4UpdateinfoSecurity(std::string_view input);
// dnf5 `dnf advisory list --security --json`. Debuginfo/debugsource packages are skipped.
StatusOr<std::vector<DnfAdvisoryPackage>> parseDnf5AdvisoryJson(std::string_view input);
// "name-[epoch:]version-release.arch" → name, version-release, arch. False if malformed.
bool splitNevra(std::string_view nevra, std::string* name, std::string* version, std::string* arch);

// ---- reboot ---------------------------------------------------------------------------------

// The kernel release encoded in a /boot entry name ("vmlinuz-6.1.0-28-amd64" → "6.1.0-28-amd64");
// nullopt for entries that are not a versioned kernel image (rescue images, vmlinuz-linux, backups,
// .old, symlink-style names without a digit).
std::optional<std::string> kernelReleaseFromBootEntry(std::string_view name);
// The newest kernel among `installed` that should replace `running` (same flavour when one of the
// same flavour exists), or nullopt when `running` is the newest.
std::optional<std::string> newerKernel(std::string_view running,
                                       const std::vector<std::string>& installed);

// ---- decision -------------------------------------------------------------------------------

// Where a pending update's age counts from (the evidence's "age_counts_from" says which date).
enum class AgeSource {
  kThisPc,   // first seen on this PC, which was already watching before (the age is known)
  kFleet,    // first seen pending on another device of the fleet, earlier (applyFleetFirstSeen)
  kUnknown,  // already pending at this PC's first sight and nobody saw it earlier
};

struct PendingUpdate {
  std::string name;
  std::string installed;
  std::string candidate;
  bool security = false;
  TimePoint first_seen{};                   // an update of this package has been pending since
  std::optional<TimePoint> security_since;  // a security update has been pending since
  // Set by applyFleetFirstSeen when the fleet saw this (name, candidate) pending before this PC
  // did: both ages count from it.
  std::optional<TimePoint> fleet_first_seen;
  AgeSource age_source = AgeSource::kThisPc;
};

enum class RebootNeed { kNo, kYes, kUnknown };

struct RebootFacts {
  RebootNeed need = RebootNeed::kNo;
  std::optional<TimePoint> since;  // when known
  json::Value evidence = json::Value::object();
  std::string unknown_reason;  // when kUnknown
};

struct PatchFacts {
  std::string manager;  // "apt" or "dnf"
  std::vector<PendingUpdate> pending;
  // When the package metadata was last known fresh (newest Release Date:, dnf expiration check).
  std::optional<TimePoint> lists_fresh_at;
  std::string lists_source;  // how lists_fresh_at was found
  RebootFacts reboot;
  json::Value automatic_updates = json::Value::object();
  json::Value extra = json::Value::object();  // manager-specific evidence (kept back, removals)
  bool ages_from_now = false;                 // no state dir: ages count from this run
  bool from_cache = false;
  DesktopEnv desktop;  // which update tool and menus the advice names
};

// What to do, in the person's update tool (facts.desktop): install the pending updates
// ("install"), refresh the package lists ("refresh"), restart ("restart").
Advice updateAdvice(const PatchFacts& facts, std::string_view action);

// The verdict, summary, evidence and remediation for `facts` under `settings` at `now`.
CheckResult judgePatches(const PatchFacts& facts, const OsPatchesSettings& settings, TimePoint now);

// ---- persistent state (state.cc) -------------------------------------------------------------

struct SeenEntry {
  std::string name;
  std::string installed;
  std::string candidate;
  TimePoint first_seen{};
  std::optional<TimePoint> security_since;
};

// The cached result of the expensive apt part, valid while `key` is unchanged.
struct AptCache {
  std::string key;
  struct Package {
    std::string name, installed, candidate;
    bool security = false;
  };
  std::vector<Package> packages;
  std::vector<std::string> removals, kept_back, phasing_deferred;
  bool unattended_upgrades_installed = false;
};

struct PatchState {
  std::vector<SeenEntry> seen;               // pending updates, keyed by name + candidate
  std::optional<std::string> reboot_reason;  // e.g. "kernel 6.1.0-28-amd64 installed"
  std::optional<TimePoint> reboot_since;
  std::optional<AptCache> apt_cache;
  // When this PC was first checked (the first run that kept state): an update first seen then
  // was already pending, for an unknown time. Epoch for a state written before the field
  // existed (its updates count as seen while watching); absent in a new state.
  std::optional<TimePoint> watching_since;
};

inline constexpr const char* kStateFileName = "os_patches.json";

json::Value stateToJson(const PatchState& state);
// Malformed state is DataLoss; callers start afresh (and say so in the evidence).
StatusOr<PatchState> stateFromJson(const json::Value& doc);
// Reads `dir`/os_patches.json. A missing file is an empty state.
StatusOr<PatchState> loadState(const std::string& dir);
// Writes durably (temp file, fsync, rename, fsync of the directory), mode 0644.
Status saveState(const std::string& dir, const PatchState& state);

// Sets first_seen/security_since of each pending update from `seen` (a new candidate of a package
// whose installed version did not change keeps the older date: the update has been pending since
// then) or to `now`, and returns the new seen list (exactly the pending updates).
std::vector<SeenEntry> applyFirstSeen(const std::vector<SeenEntry>& seen,
                                      std::vector<PendingUpdate>& pending, TimePoint now);

// ---- the fleet's first-seen dates (fleet.cc) ---------------------------------------------------

// (name, candidate) → the earliest time any device of the fleet reported it pending, as the
// server answered the PC's latest report (the agent keeps it in STATE_DIR/fleet.json under
// "os_patches", see docs/policy.md "Updates already pending at first sight").
using FleetFirstSeen = std::map<std::pair<std::string, std::string>, TimePoint>;

inline constexpr const char* kFleetFileName = "fleet.json";

// The os_patches part of a fleet document ({"os_patches": {"first_seen": [{"name","candidate",
// "first_seen"}]}}); malformed entries are skipped (the dates only ever make ages older).
FleetFirstSeen fleetFromJson(const json::Value& doc);
// Reads `dir`/fleet.json. A missing or unreadable file is an empty map (ages then count from this
// PC's own first sight, as without a server).
FleetFirstSeen loadFleetFirstSeen(const std::string& dir);

// For each pending update: the fleet's date when it is older than this PC's first sight by more
// than an hour (both ages then count from it; source kFleet); else kUnknown when this PC first saw
// it at its first check (`watching_since`), kThisPc otherwise. Without a state (nullopt: ages
// count from now, e.g. `hearth-agent check` run without root) nothing is kUnknown: such a run
// must not fail what the daemon, which remembers, passes.
void applyFleetFirstSeen(std::vector<PendingUpdate>& pending, const FleetFirstSeen& fleet,
                         std::optional<TimePoint> watching_since);

// ---- the check's run (state.cc) ----------------------------------------------------------------

// What a platform's collector does: the facts of this machine, with `state` (the restart's first
// sight, the apt cache) read and updated.
using Collector = std::function<StatusOr<PatchFacts>(PatchState& state, TimePoint now)>;

// The check around a collector, on every platform: the state loaded from params.state_dir (a
// damaged one is started afresh and said so), first-seen dates, the fleet's dates, the decision,
// and the state saved when it changed (not with state_read_only).
StatusOr<CheckResult> runWithState(const SystemView& sys, const CheckParams& params,
                                   const Collector& collect);

// ---- Windows (windows_facts.cc; built everywhere, so the Linux unit run tests it)
// ----------------

inline constexpr char kWindowsUpdateManager[] = "windows_update";

// A security update: it has an MSRC severity, or is in the Security Updates or Critical Updates
// category.
bool isWindowsSecurityUpdate(const WindowsUpdate& u);

// The line an update belongs to, from its title: the month prefix, the KB number and a version
// in brackets removed ("2026-01 Cumulative Update for Windows 11 Version 23H2 for x64-based
// Systems (KB5034123)" → "Cumulative Update for Windows 11 Version 23H2 for x64-based Systems").
// This is the pending update's name, its KB number the candidate: next month's cumulative update
// replaces this one on a PC that never installed it, and the age keeps counting from the first.
std::string windowsUpdateLine(std::string_view title);

// The facts through SystemView: the Windows Update Agent's offline search (an error when it
// fails: the check is unknown with the reason), its last successful search as the freshness of
// what it found, a pending restart (RebootRequired, RebootPending, PendingFileRenameOperations;
// since the first check that saw it, kept in `state`), the automatic-update policy.
StatusOr<PatchFacts> collectWindowsPatches(const SystemView& sys, PatchState& state, TimePoint now);

}  // namespace os_patches
}  // namespace hearth::checks
