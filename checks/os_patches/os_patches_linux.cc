// os_patches on Linux: collects through SystemView (apt or dnf, the reboot signals) and judges
// with the pure functions of os_patches.cc.
//
// apt: the authority is apt's own simulation, `apt-get -s -o Debug::NoLocking=1 dist-upgrade`
// (unprivileged, LC_ALL=C from SystemView, TMPDIR in a private scratch dir), plus one batched
// `apt-cache policy` for the packages whose Inst line shows no -security origin (on Ubuntu the
// Inst origin is a lower bound: a security fix also in -updates shows only -updates).
//
// Why a subprocess and not libapt-pkg in-process (measured on the Debian 12 test VM, 110 pending,
// no host pkgcache because of docker-clean): the simulation costs 2.1-2.3 s and 84 MB RSS, almost
// all of it building apt's cache and resolving; libapt-pkg would pay the same inside the agent,
// keep that memory in the daemon, and tie the agent to the libapt-pkg ABI. The one thing the
// subprocess route costs extra is the second apt process: `apt-cache policy` rebuilds the cache
// (0.56 s). We give both processes a private cache file in the scratch dir
// (-o Dir::Cache::pkgcache=SCRATCH/pkgcache.bin -o Dir::Cache::srcpkgcache=): the simulation writes
// it at no measurable cost and `apt-cache policy` maps it in 20-30 ms, so a cold check is
// ≈ 1.02 × the simulation alone. The host's /var/cache/apt is never written.
//
// Warm runs: the answer of the two apt calls is cached in STATE_DIR/os_patches.json, keyed on the
// stat identity (type, size, mtime ns, device) of the dpkg status file, every file in the lists dir
// (plus the content of each Release/InRelease file, which changes with every repository update),
// sources.list(.d), preferences(.d), apt.conf(.d), and the whole `apt-config dump` output (which
// also covers APT_CONFIG). A warm run costs one `apt-config dump` (≈ 9 ms; without dpkg, see
// kDumpArchitectures) and some stats; ages, list freshness and the reboot state are judged again on
// every run.
#include <cstdlib>
#include <fcntl.h>
#include <filesystem>
#include <set>
#include <sys/stat.h>
#include <unistd.h>

#include "hearth/text.h"
#include "os_patches/os_patches.h"

namespace hearth::checks {

namespace os_patches {

namespace {

constexpr const char* kAptGet = "/usr/bin/apt-get";
constexpr const char* kAptCache = "/usr/bin/apt-cache";
constexpr const char* kAptConfig = "/usr/bin/apt-config";
constexpr const char* kCacheFormat = "os_patches-apt-cache-v2";
// `apt-config dump` lists the architectures too, and to find the foreign ones it runs
// `dpkg --print-foreign-architectures`: a second process, half of a warm run's time (measured:
// 88-105 ms against 50-60 ms for the dump alone on a loaded machine). The dump serves only for
// apt's paths and periodic settings here, so the list is set to a fixed placeholder, which apt
// accepts without asking dpkg; dpkg's own list (its `arch` file) enters the cache key by its stat.
constexpr const char* kDumpArchitectures = "APT::Architectures::=unused-by-hearth";

struct Fnv64 {
  uint64_t h = 1469598103934665603ULL;
  void add(std::string_view s) {
    for (unsigned char c : s) {
      h ^= c;
      h *= 1099511628211ULL;
    }
    h ^= 0xff;  // field separator
    h *= 1099511628211ULL;
  }
  std::string hex() const {
    static const char* kDigits = "0123456789abcdef";
    std::string out(16, '0');
    for (int i = 0; i < 16; ++i) out[static_cast<size_t>(15 - i)] = kDigits[(h >> (4 * i)) & 0xf];
    return out;
  }
};

int64_t nanos(TimePoint t) {
  return std::chrono::duration_cast<std::chrono::nanoseconds>(t.time_since_epoch()).count();
}

// A private scratch directory (mode 0700) for TMPDIR and apt's cache file, removed at the end.
class ScratchDir {
 public:
  ScratchDir() {
    const char* base = std::getenv("TMPDIR");
    std::string tmpl =
        std::string(base != nullptr && *base == '/' ? base : "/tmp") + "/hearth-apt-XXXXXX";
    if (::mkdtemp(tmpl.data()) != nullptr) path_ = tmpl;
  }
  ~ScratchDir() {
    if (path_.empty()) return;
    std::error_code ec;
    std::filesystem::remove_all(path_, ec);
  }
  ScratchDir(const ScratchDir&) = delete;
  ScratchDir& operator=(const ScratchDir&) = delete;
  const std::string& path() const { return path_; }

 private:
  std::string path_;
};

std::string describeFailure(const std::string& what, const CommandResult& r) {
  std::string msg =
      what + (r.term_signal != 0 ? " was killed by signal " + std::to_string(r.term_signal)
                                 : " exited with " + std::to_string(r.exit_code));
  std::string err = text::trim(r.err);
  if (err.size() > 600) err = err.substr(0, 600) + "...";
  if (!err.empty()) msg += ": " + err;
  return msg;
}

std::optional<std::string> readTrimmed(const SystemView& sys, const std::string& path) {
  auto r = sys.readFile(path, 64 * 1024, true);
  if (!r.ok()) return std::nullopt;
  return text::trim(*r);
}

// ---- reboot -----------------------------------------------------------------------------------

struct KernelFacts {
  bool checked = false;  // running kernel and at least one installed kernel were found
  std::string running;
  std::optional<std::string> newer;
  std::string note;
};

KernelFacts collectKernels(const SystemView& sys) {
  KernelFacts k;
  auto running = readTrimmed(sys, "/proc/sys/kernel/osrelease");
  if (!running || running->empty()) {
    k.note = "running kernel unknown (/proc/sys/kernel/osrelease unreadable)";
    return k;
  }
  k.running = *running;
  auto entries = sys.listDir("/boot");
  std::vector<std::string> installed;
  if (entries.ok()) {
    for (const auto& e : *entries) {
      auto rel = kernelReleaseFromBootEntry(e);
      if (!rel) continue;
      auto info = sys.stat("/boot/" + e, false);
      if (!info.ok() || info->type != FileType::kRegular) continue;
      installed.push_back(*rel);
    }
  }
  if (installed.empty()) {
    k.note = "no kernel images in /boot to compare with the running kernel";
    return k;
  }
  k.checked = true;
  k.newer = newerKernel(k.running, installed);
  return k;
}

// The reboot state from the reboot-required flag and the kernel comparison; `tool` adds a verdict
// from dnf's needs-restarting (nullopt: not asked; kUnknown: could not tell).
RebootFacts collectReboot(const SystemView& sys, PatchState& state, TimePoint now,
                          std::optional<RebootNeed> tool, const std::string& tool_detail,
                          const std::vector<std::string>& tool_reasons) {
  RebootFacts rf;
  json::Value ev = json::Value::object();
  json::Value reasons = json::Value::array();
  std::optional<TimePoint> since;
  bool needed = false;

  for (const char* flag : {"/run/reboot-required", "/var/run/reboot-required"}) {
    auto info = sys.stat(flag, true);
    if (!info.ok()) continue;
    needed = true;
    since = info->mtime;
    reasons.push(std::string(flag) + " exists");
    ev.set("flag", flag);
    auto pkgs = sys.readFile(std::string(flag) + ".pkgs", 64 * 1024, true);
    if (pkgs.ok()) {
      json::Value names = json::Value::array();
      std::set<std::string> uniq;
      for (const auto& l : text::splitLines(*pkgs)) {
        std::string n = text::trim(l);
        if (!n.empty() && uniq.insert(n).second) names.push(n);
      }
      ev.set("packages", std::move(names));
    }
    break;
  }

  KernelFacts k = collectKernels(sys);
  if (!k.running.empty()) ev.set("running_kernel", k.running);
  if (!k.note.empty()) ev.set("kernel_note", k.note);
  if (k.newer) {
    needed = true;
    std::string reason = "kernel " + *k.newer + " is installed but " + k.running + " is running";
    reasons.push(reason);
    ev.set("newest_kernel", *k.newer);
    TimePoint ksince = now;
    if (state.reboot_reason == reason && state.reboot_since)
      ksince = std::min(*state.reboot_since, now);
    // dpkg writes the package's file list when it installs it: the kernel's install time.
    for (const std::string& list :
         {"/var/lib/dpkg/info/linux-image-" + *k.newer + ".list",
          "/var/lib/dpkg/info/linux-image-unsigned-" + *k.newer + ".list"}) {
      if (auto li = sys.stat(list, true); li.ok() && li->mtime < ksince) ksince = li->mtime;
    }
    state.reboot_reason = reason;
    state.reboot_since = ksince;
    since = since ? std::min(*since, ksince) : ksince;
  } else {
    state.reboot_reason.reset();
    state.reboot_since.reset();
  }

  if (tool) {
    ev.set("needs_restarting", tool_detail);
    if (*tool == RebootNeed::kYes) {
      needed = true;
      for (const auto& r : tool_reasons) reasons.push(r);
      if (tool_reasons.empty()) reasons.push("needs-restarting says a reboot is required");
      if (!since) {
        TimePoint t = now;
        const std::string reason = "needs-restarting";
        if (state.reboot_reason == reason && state.reboot_since) t = *state.reboot_since;
        if (!k.newer) {
          state.reboot_reason = reason;
          state.reboot_since = t;
        }
        since = t;
      }
    } else if (*tool == RebootNeed::kUnknown && !needed && !k.checked) {
      rf.need = RebootNeed::kUnknown;
      rf.unknown_reason = tool_detail + (k.note.empty() ? "" : "; " + k.note);
    }
  }
  if (rf.need != RebootNeed::kUnknown) rf.need = needed ? RebootNeed::kYes : RebootNeed::kNo;
  rf.since = since;
  ev.set("reasons", std::move(reasons));
  rf.evidence = std::move(ev);
  return rf;
}

// ---- apt --------------------------------------------------------------------------------------

struct AptPaths {
  std::string status, lists, sourcelist, sourceparts, preferences, preferencesparts, main, parts,
      periodic_stamp;
};

AptPaths aptPaths(const std::map<std::string, std::string>& cfg) {
  AptPaths p;
  p.status = aptConfigPath(cfg, "Dir::State::status", "/var/lib/dpkg/status", false);
  p.lists = aptConfigPath(cfg, "Dir::State::lists", "/var/lib/apt/lists/", true);
  p.sourcelist = aptConfigPath(cfg, "Dir::Etc::sourcelist", "/etc/apt/sources.list", false);
  p.sourceparts = aptConfigPath(cfg, "Dir::Etc::sourceparts", "/etc/apt/sources.list.d/", true);
  p.preferences = aptConfigPath(cfg, "Dir::Etc::preferences", "/etc/apt/preferences", false);
  p.preferencesparts =
      aptConfigPath(cfg, "Dir::Etc::preferencesparts", "/etc/apt/preferences.d/", true);
  p.main = aptConfigPath(cfg, "Dir::Etc::main", "/etc/apt/apt.conf", false);
  p.parts = aptConfigPath(cfg, "Dir::Etc::parts", "/etc/apt/apt.conf.d/", true);
  p.periodic_stamp =
      aptConfigPath(cfg, "Dir::State", "/var/lib/apt/", true) + "periodic/update-success-stamp";
  return p;
}

void addStat(const SystemView& sys, const std::string& path, Fnv64& key) {
  key.add(path);
  auto info = sys.stat(path, true);
  if (!info.ok()) {
    key.add(std::string("missing:") + std::string(statusCodeName(info.status().code())));
    return;
  }
  key.add(std::to_string(static_cast<int>(info->type)) + " " + std::to_string(info->size) + " " +
          std::to_string(nanos(info->mtime)) + " " + std::to_string(info->dev));
}

void addDir(const SystemView& sys, const std::string& dir, Fnv64& key) {
  key.add("dir:" + dir);
  auto entries = sys.listDir(dir);
  if (!entries.ok()) {
    key.add(std::string("missing:") + std::string(statusCodeName(entries.status().code())));
    return;
  }
  for (const auto& e : *entries) addStat(sys, dir + e, key);
}

struct ListsFacts {
  std::optional<TimePoint> fresh_at;
  std::string source;
  int release_files = 0;
};

// Hashes the lists dir into `key` and finds the freshest metadata date.
ListsFacts scanLists(const SystemView& sys, const AptPaths& paths, TimePoint now, Fnv64& key) {
  ListsFacts lf;
  key.add("lists:" + paths.lists);
  auto entries = sys.listDir(paths.lists);
  if (!entries.ok()) {
    key.add("missing");
    return lf;
  }
  std::optional<TimePoint> newest_date, newest_mtime;
  for (const auto& e : *entries) {
    if (e == "lock" || e == "partial" || e == "auxfiles") continue;
    std::string path = paths.lists + e;
    auto info = sys.stat(path, true);
    if (!info.ok() || info->type != FileType::kRegular) continue;
    key.add(path + " " + std::to_string(info->size) + " " + std::to_string(nanos(info->mtime)) +
            " " + std::to_string(info->dev));
    bool release = e.ends_with("_InRelease") || e.ends_with("_Release");
    if (!release && e.find("_Packages") == std::string::npos) continue;
    if (!newest_mtime || info->mtime > *newest_mtime) newest_mtime = info->mtime;
    if (!release) continue;
    ++lf.release_files;
    auto content = sys.readFile(path, 32 * 1024 * 1024, false);
    if (!content.ok()) continue;
    key.add(*content);
    // InRelease is clear-signed: the Release paragraph follows the PGP header and a blank line.
    std::string_view body = *content;
    if (body.starts_with("-----BEGIN PGP SIGNED MESSAGE-----")) {
      size_t blank = body.find("\n\n");
      body = blank == std::string_view::npos ? std::string_view() : body.substr(blank + 2);
    }
    if (auto d = parseReleaseDate(body); d && (!newest_date || *d > *newest_date)) newest_date = d;
  }
  if (newest_date) {
    lf.fresh_at = std::min(*newest_date, now);
    lf.source = "newest Date: of the Release files in " + paths.lists;
  } else if (newest_mtime) {
    lf.fresh_at = std::min(*newest_mtime, now);
    lf.source = "newest modification time of the index files in " + paths.lists;
  }
  if (auto stamp = sys.stat(paths.periodic_stamp, true); stamp.ok()) {
    if (!lf.fresh_at || stamp->mtime > *lf.fresh_at) {
      lf.fresh_at = std::min(stamp->mtime, now);
      lf.source = paths.periodic_stamp;
    }
  }
  return lf;
}

// Runs the simulation and the batched apt-cache policy. `scratch` (if not empty) becomes TMPDIR;
// with `private_cache` it also holds the package cache the two apt processes share.
StatusOr<AptCache> runApt(const SystemView& sys, const std::string& scratch, bool private_cache) {
  std::vector<std::string> cache_opts;
  std::map<std::string, std::string> env;
  if (!scratch.empty()) env["TMPDIR"] = scratch;
  if (!scratch.empty() && private_cache) {
    cache_opts = {"-o", "Dir::Cache::pkgcache=" + scratch + "/pkgcache.bin", "-o",
                  "Dir::Cache::srcpkgcache="};
  }
  Command sim;
  sim.argv = {kAptGet, "-s", "-o", "Debug::NoLocking=1"};
  sim.argv.insert(sim.argv.end(), cache_opts.begin(), cache_opts.end());
  sim.argv.push_back("dist-upgrade");
  sim.env = env;
  sim.timeout = std::chrono::minutes(5);
  HEARTH_ASSIGN_OR_RETURN(CommandResult sr, sys.run(sim));
  if (sr.exit_code != 0 || sr.term_signal != 0) {
    return UnavailableError(describeFailure("apt-get -s dist-upgrade", sr));
  }
  if (sr.out_truncated) return ResourceExhaustedError("apt-get -s dist-upgrade: output too large");
  HEARTH_ASSIGN_OR_RETURN(AptSimulation parsed, parseAptSimulation(sr.out));

  AptCache cache;
  cache.removals = parsed.removals;
  cache.kept_back = parsed.kept_back;
  cache.phasing_deferred = parsed.phasing_deferred;

  Command pol;
  pol.argv = {kAptCache};
  pol.argv.insert(pol.argv.end(), cache_opts.begin(), cache_opts.end());
  pol.argv.push_back("policy");
  std::vector<std::string> asked;
  for (const auto& i : parsed.installs) {
    if (!i.security_origin) asked.push_back(i.name);
  }
  for (const auto& n : asked) pol.argv.push_back(n);
  pol.argv.push_back("unattended-upgrades");
  pol.env = env;
  pol.timeout = std::chrono::minutes(2);
  HEARTH_ASSIGN_OR_RETURN(CommandResult pr, sys.run(pol));
  if (pr.exit_code != 0 || pr.term_signal != 0) {
    return UnavailableError(describeFailure("apt-cache policy", pr));
  }
  if (pr.out_truncated) return ResourceExhaustedError("apt-cache policy: output too large");
  auto policy = parseAptCachePolicy(pr.out);
  if (auto uu = policy.find("unattended-upgrades"); uu != policy.end()) {
    cache.unattended_upgrades_installed = !uu->second.installed.empty();
  }
  for (const auto& i : parsed.installs) {
    AptCache::Package p{i.name, i.installed, i.candidate, i.security_origin};
    if (!p.security) {
      auto it = policy.find(i.name);
      if (it == policy.end()) {
        // Never undercount silently: a package we asked about must be in the answer.
        return InternalError("apt-cache policy printed nothing for " + i.name);
      }
      p.security = hasSecurityVersion(it->second, i.installed, i.candidate);
    }
    cache.packages.push_back(std::move(p));
  }
  return cache;
}

json::Value stringArray(const std::vector<std::string>& v) {
  json::Value a = json::Value::array();
  for (const auto& s : v) a.push(s);
  return a;
}

StatusOr<PatchFacts> collectApt(const SystemView& sys, const CheckOptions& options,
                                PatchState& state, TimePoint now) {
  PatchFacts facts;
  facts.manager = "apt";
  json::Value extra = json::Value::object();

  Command dump;
  dump.argv = {kAptConfig, "-o", kDumpArchitectures, "dump"};
  std::string dump_text;
  auto dr = sys.run(dump);
  if (dr.ok() && dr->exit_code == 0) {
    dump_text = dr->out;
  } else if (sys.isRooted() && !dr.ok() && dr.status().code() == StatusCode::kUnavailable) {
    extra.set("apt_config", "not recorded: Debian default paths assumed");
  } else if (!dr.ok()) {
    return dr.status().withContext("apt-config dump");
  } else {
    return UnavailableError(describeFailure("apt-config dump", *dr));
  }
  auto cfg = parseAptConfigDump(dump_text);
  AptPaths paths = aptPaths(cfg);

  Fnv64 key;
  key.add(kCacheFormat);
  key.add(dump_text);
  addStat(sys, paths.status, key);
  // dpkg's foreign architectures (dpkg --add-architecture), beside its status file.
  addStat(sys, paths.status.substr(0, paths.status.rfind('/') + 1) + "arch", key);
  addStat(sys, paths.sourcelist, key);
  addDir(sys, paths.sourceparts, key);
  addStat(sys, paths.preferences, key);
  addDir(sys, paths.preferencesparts, key);
  addStat(sys, paths.main, key);
  addDir(sys, paths.parts, key);
  ListsFacts lists = scanLists(sys, paths, now, key);
  facts.lists_fresh_at = lists.fresh_at;
  facts.lists_source = lists.source;

  AptCache cache;
  if (state.apt_cache && state.apt_cache->key == key.hex()) {
    cache = *state.apt_cache;
    facts.from_cache = true;
  } else {
    // Live: a private TMPDIR always. apt's own package cache is used when apt has one we may
    // write (a stock system: the simulation then maps /var/cache/apt/pkgcache.bin as plain
    // `apt-get -s` would); otherwise (caches disabled as in container images, or not root) the
    // two apt processes share a private one in the scratch dir.
    bool live = options.private_apt_cache.value_or(!sys.isRooted());
    bool private_cache = live;
    if (live && !options.private_apt_cache.has_value()) {
      std::string host_cache =
          cfg.count("Dir::Cache::pkgcache") != 0 && !cfg.at("Dir::Cache::pkgcache").empty()
              ? aptConfigPath(cfg, "Dir::Cache::pkgcache", "", false)
              : std::string();
      if (!host_cache.empty()) {
        std::string dir = host_cache.substr(0, host_cache.rfind('/') + 1);
        if (!dir.empty() && ::access(dir.c_str(), W_OK) == 0) private_cache = false;
      }
    }
    std::optional<ScratchDir> scratch;
    if (live) {
      scratch.emplace();
      if (scratch->path().empty()) {
        return InternalError("cannot create a scratch directory for apt");
      }
    }
    HEARTH_ASSIGN_OR_RETURN(cache,
                            runApt(sys, scratch ? scratch->path() : std::string(), private_cache));
    cache.key = key.hex();
    state.apt_cache = cache;
  }

  for (const auto& p : cache.packages) {
    PendingUpdate u;
    u.name = p.name;
    u.installed = p.installed;
    u.candidate = p.candidate;
    u.security = p.security;
    facts.pending.push_back(std::move(u));
  }
  if (!cache.removals.empty()) extra.set("removals", stringArray(cache.removals));
  if (!cache.kept_back.empty()) extra.set("kept_back", stringArray(cache.kept_back));
  if (!cache.phasing_deferred.empty()) {
    extra.set("phasing_deferred", stringArray(cache.phasing_deferred));
    extra.set("phasing_note",
              "phased updates that apt holds back on this machine are not counted as pending");
  }
  json::Value au = json::Value::object();
  auto cfgValue = [&](const char* k) {
    auto it = cfg.find(k);
    return it == cfg.end() ? std::string() : it->second;
  };
  std::string uu = cfgValue("APT::Periodic::Unattended-Upgrade");
  std::string upl = cfgValue("APT::Periodic::Update-Package-Lists");
  bool periodic_on = !uu.empty() && uu != "0";
  bool timer =
      sys.stat("/etc/systemd/system/timers.target.wants/apt-daily-upgrade.timer", true).ok();
  au.set("enabled", cache.unattended_upgrades_installed && periodic_on);
  au.set("unattended_upgrades_installed", cache.unattended_upgrades_installed);
  au.set("periodic_unattended_upgrade", uu.empty() ? json::Value() : json::Value(uu));
  au.set("periodic_update_package_lists", upl.empty() ? json::Value() : json::Value(upl));
  au.set("apt_daily_upgrade_timer_enabled", timer);
  facts.automatic_updates = std::move(au);
  facts.reboot = collectReboot(sys, state, now, std::nullopt, "", {});
  facts.extra = std::move(extra);
  return facts;
}

// ---- dnf --------------------------------------------------------------------------------------

StatusOr<PatchFacts> collectDnf(const SystemView& sys, PatchState& state, TimePoint now) {
  PatchFacts facts;
  facts.manager = "dnf";
  json::Value extra = json::Value::object();
  bool dnf5 = sys.stat("/usr/bin/dnf5", true).ok();
  std::string bin = dnf5 ? "/usr/bin/dnf5" : "/usr/bin/dnf";
  extra.set("dnf", dnf5 ? "dnf5" : "dnf4");

  Command cu;
  cu.argv = {bin, "-C", "check-update"};
  cu.timeout = std::chrono::minutes(3);
  HEARTH_ASSIGN_OR_RETURN(CommandResult cr, sys.run(cu));
  if (cr.term_signal != 0 || (cr.exit_code != 0 && cr.exit_code != 100)) {
    return UnavailableError(describeFailure("dnf check-update", cr));
  }
  std::vector<DnfUpdate> updates;
  if (cr.exit_code == 100) updates = parseDnfCheckUpdate(cr.out);
  if (cr.exit_code == 100 && updates.empty()) {
    return InternalError("dnf check-update reported updates (exit 100) but none could be parsed");
  }

  Command sec;
  if (dnf5) {
    sec.argv = {bin, "-C", "advisory", "list", "--security", "--json"};
  } else {
    sec.argv = {bin, "-C", "-q", "updateinfo", "list", "--security"};
  }
  sec.timeout = std::chrono::minutes(3);
  std::vector<DnfAdvisoryPackage> advisories;
  if (!updates.empty()) {
    HEARTH_ASSIGN_OR_RETURN(CommandResult sr, sys.run(sec));
    if (sr.term_signal != 0 || sr.exit_code != 0) {
      return UnavailableError(describeFailure(text::join(sec.argv, " "), sr));
    }
    if (dnf5) {
      HEARTH_ASSIGN_OR_RETURN(advisories, parseDnf5AdvisoryJson(sr.out));
    } else {
      advisories = parseDnf4UpdateinfoSecurity(sr.out);
    }
  }
  for (const auto& u : updates) {
    PendingUpdate p;
    p.name = u.name + "." + u.arch;
    p.candidate = u.version;
    for (const auto& a : advisories) {
      if (a.name == u.name && (a.arch == u.arch || a.arch == "noarch" || u.arch == "noarch")) {
        p.security = true;
      }
    }
    facts.pending.push_back(std::move(p));
  }

  // Metadata freshness: dnf's own "Last metadata expiration check", else repomd.xml mtimes.
  if (auto age = parseDnfMetadataAge(cr.out + "\n" + cr.err)) {
    facts.lists_fresh_at = now - *age;
    facts.lists_source = "dnf check-update: Last metadata expiration check";
  } else {
    for (const char* cache_dir : {"/var/cache/libdnf5", "/var/cache/dnf"}) {
      auto repos = sys.listDir(cache_dir);
      if (!repos.ok()) continue;
      for (const auto& r : *repos) {
        auto info = sys.stat(std::string(cache_dir) + "/" + r + "/repodata/repomd.xml", true);
        if (info.ok() && (!facts.lists_fresh_at || info->mtime > *facts.lists_fresh_at)) {
          facts.lists_fresh_at = std::min(info->mtime, now);
          facts.lists_source = std::string("newest repodata/repomd.xml in ") + cache_dir;
        }
      }
    }
  }

  // Reboot: needs-restarting (dnf4: -r; dnf5: the default behaves like -r).
  Command nr;
  nr.argv = dnf5 ? std::vector<std::string>{bin, "needs-restarting"}
                 : std::vector<std::string>{bin, "needs-restarting", "-r"};
  nr.timeout = std::chrono::minutes(2);
  RebootNeed tool = RebootNeed::kUnknown;
  std::string detail;
  std::vector<std::string> tool_reasons;
  auto nrr = sys.run(nr);
  if (!nrr.ok()) {
    detail = "needs-restarting could not run: " + nrr.status().message();
  } else if (nrr->exit_code == 0 && nrr->term_signal == 0) {
    tool = RebootNeed::kNo;
    detail = "needs-restarting: no reboot needed";
  } else if (nrr->exit_code == 1 && nrr->out.find("Reboot is required") != std::string::npos) {
    tool = RebootNeed::kYes;
    detail = "needs-restarting: reboot required";
    for (const auto& l : text::splitLines(nrr->out)) {
      std::string t = text::trim(l);
      if (t.starts_with("* ")) tool_reasons.push_back("updated since boot: " + t.substr(2));
    }
  } else {
    detail = "needs-restarting is not available (" + describeFailure("it", *nrr) + ")";
  }
  facts.reboot = collectReboot(sys, state, now, tool, detail, tool_reasons);

  json::Value au = json::Value::object();
  bool timer = false;
  for (const char* t : {"dnf-automatic.timer", "dnf-automatic-install.timer",
                        "dnf5-automatic.timer", "dnf-automatic-download.timer"}) {
    if (sys.stat(std::string("/etc/systemd/system/timers.target.wants/") + t, true).ok()) {
      au.set("timer", t);
      timer = true;
      break;
    }
  }
  std::string apply;
  for (const char* conf : {"/etc/dnf/automatic.conf", "/etc/dnf/dnf5-plugins/automatic.conf"}) {
    auto c = sys.readFile(conf, 256 * 1024, true);
    if (!c.ok()) continue;
    for (const auto& l : text::splitLines(*c)) {
      std::string t = text::trim(l);
      if (!t.starts_with("apply_updates")) continue;
      size_t eq = t.find('=');
      if (eq != std::string::npos) apply = text::trim(t.substr(eq + 1));
    }
  }
  bool timer_installs =
      au.find("timer") != nullptr && au.find("timer")->asString() == "dnf-automatic-install.timer";
  au.set("enabled", timer && (timer_installs || apply == "yes" || apply == "True" ||
                              apply == "true" || apply == "1"));
  au.set("apply_updates", apply.empty() ? json::Value() : json::Value(apply));
  facts.automatic_updates = std::move(au);
  facts.extra = std::move(extra);
  return facts;
}

// ---- detection ---------------------------------------------------------------------------------

StatusOr<std::string> detectManager(const SystemView& sys) {
  auto osr = sys.readFile("/etc/os-release", 64 * 1024, true);
  if (!osr.ok()) osr = sys.readFile("/usr/lib/os-release", 64 * 1024, true);
  if (osr.ok()) {
    auto kv = text::parseOsRelease(*osr);
    std::string ids = kv["ID"] + " " + kv["ID_LIKE"];
    for (const auto& id : text::splitWhitespace(ids)) {
      if (id == "debian" || id == "ubuntu") return std::string("apt");
      if (id == "fedora" || id == "rhel" || id == "centos" || id == "rocky" || id == "almalinux") {
        return std::string("dnf");
      }
    }
  }
  if (sys.stat(kAptGet, true).ok()) return std::string("apt");
  if (sys.stat("/usr/bin/dnf", true).ok() || sys.stat("/usr/bin/dnf5", true).ok()) {
    return std::string("dnf");
  }
  return FailedPreconditionError(
      "no supported package manager: this check knows apt (Debian, Ubuntu) and dnf (Fedora, RHEL)");
}

class OsPatchesCheck final : public Check {
 public:
  explicit OsPatchesCheck(CheckOptions options) : options_(options) {}

  std::string_view id() const override { return kOsPatchesCheckId; }

  StatusOr<CheckResult> run(const SystemView& sys, const CheckParams& params) const override {
    return runWithState(sys, params, [&](PatchState& state, TimePoint now) -> StatusOr<PatchFacts> {
      HEARTH_ASSIGN_OR_RETURN(std::string manager, detectManager(sys));
      StatusOr<PatchFacts> facts =
          manager == "apt" ? collectApt(sys, options_, state, now) : collectDnf(sys, state, now);
      if (facts.ok()) facts->desktop = DetectDesktopEnv(sys, {}, false);  // the update tool
      return facts;
    });
  }

 private:
  CheckOptions options_;
};

}  // namespace

std::unique_ptr<Check> NewOsPatchesCheck(CheckOptions options) {
  return std::make_unique<OsPatchesCheck>(options);
}

}  // namespace os_patches

std::unique_ptr<Check> NewOsPatchesCheck() { return os_patches::NewOsPatchesCheck({}); }

}  // namespace hearth::checks
