// The fault-injecting file layer (see fault_file_layer.h).
#include "fakes/fault_file_layer.h"

#include <algorithm>
#include <cerrno>
#include <fcntl.h>
#include <filesystem>
#include <random>
#include <sys/stat.h>
#include <unistd.h>
#include <utility>

namespace hearth::testing {

namespace {

constexpr const char* kOpNames[FaultFileLayer::kOpKinds] = {
    "create", "write",  "fsync", "close", "rename", "fsync directory",
    "mkdir",  "unlink", "list",  "read",  "stat"};

bool isMutating(FaultFileLayer::Op op) {
  return static_cast<int>(op) < static_cast<int>(FaultFileLayer::Op::kListDir);
}

size_t depthOf(const std::string& path) {
  return static_cast<size_t>(std::count(path.begin(), path.end(), '/'));
}

Status writeRealFile(const std::string& path, const std::string& content, mode_t mode) {
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return ErrnoToStatus(errno, "crash(): create " + path);
  std::string_view rest = content;
  while (!rest.empty()) {
    ssize_t n = ::write(fd, rest.data(), rest.size());
    if (n < 0) {
      if (errno == EINTR) continue;
      int err = errno;
      ::close(fd);
      return ErrnoToStatus(err, "crash(): write " + path);
    }
    rest.remove_prefix(static_cast<size_t>(n));
  }
  ::fchmod(fd, mode);
  ::close(fd);
  return OkStatus();
}

}  // namespace

class FaultFileLayer::File : public WritableFile {
 public:
  File(FaultFileLayer* layer, std::unique_ptr<WritableFile> target, NodePtr node, std::string path)
      : layer_(layer),
        target_(std::move(target)),
        node_(std::move(node)),
        path_(std::move(path)),
        generation_(layer->generation_) {}

  Status append(std::string_view data) override {
    std::lock_guard<std::mutex> lock(layer_->mu_);
    HEARTH_RETURN_IF_ERROR(stale());
    Status g = layer_->gate(Op::kWrite, path_);
    if (!g.ok()) {
      if (!layer_->power_cut_) {
        // An injected error after a short write, as a filling disk does.
        std::string_view half = data.substr(0, data.size() / 2);
        if (target_->append(half).ok()) node_->data.append(half);
      }
      return g;
    }
    Status s = target_->append(data);
    if (s.ok()) node_->data.append(data);
    return s;
  }

  Status sync() override {
    std::lock_guard<std::mutex> lock(layer_->mu_);
    HEARTH_RETURN_IF_ERROR(stale());
    HEARTH_RETURN_IF_ERROR(layer_->gate(Op::kSyncFile, path_));
    HEARTH_RETURN_IF_ERROR(target_->sync());
    node_->synced = node_->data;
    return OkStatus();
  }

  Status close() override {
    std::lock_guard<std::mutex> lock(layer_->mu_);
    HEARTH_RETURN_IF_ERROR(stale());
    HEARTH_RETURN_IF_ERROR(layer_->gate(Op::kClose, path_));
    return target_->close();
  }

 private:
  Status stale() const {
    if (generation_ == layer_->generation_) return OkStatus();
    return FileErrorStatus(EIO, path_ + " was open before the simulated power cut");
  }

  FaultFileLayer* layer_;
  std::unique_ptr<WritableFile> target_;
  NodePtr node_;
  std::string path_;
  uint64_t generation_;
};

FaultFileLayer::FaultFileLayer(std::string root, FileLayer& target)
    : root_(std::move(root)), target_(target) {
  while (root_.size() > 1 && root_.back() == '/') root_.pop_back();
  loadTree();
}

FaultFileLayer::~FaultFileLayer() = default;

void FaultFileLayer::loadTree() {
  live_.clear();
  std::error_code ec;
  for (auto it = std::filesystem::recursive_directory_iterator(root_, ec);
       !ec && it != std::filesystem::recursive_directory_iterator(); it.increment(ec)) {
    auto node = std::make_shared<Node>();
    auto st = it->symlink_status(ec);
    if (ec) break;
    node->mode = static_cast<mode_t>(st.permissions()) & 07777;
    if (st.type() == std::filesystem::file_type::directory) {
      node->dir = true;
    } else if (st.type() == std::filesystem::file_type::regular) {
      auto text = target_.readFile(it->path().string(), size_t{64} << 20);
      node->data = text.ok() ? *text : std::string();
      node->synced = node->data;
    } else {
      continue;  // symlinks and devices are not modelled
    }
    live_[it->path().string()] = node;
  }
  base_ = live_;
  log_.clear();
}

std::string FaultFileLayer::parentOf(const std::string& path) const {
  size_t slash = path.rfind('/');
  return slash == std::string::npos || slash == 0 ? "/" : path.substr(0, slash);
}

Status FaultFileLayer::checkPath(const std::string& path) const {
  bool inside = path == root_ || path.starts_with(root_ + "/");
  if (!inside || path.find("/../") != std::string::npos || path.find("/./") != std::string::npos ||
      path.find("//") != std::string::npos || path.back() == '/') {
    return InvalidArgumentError("FaultFileLayer: " + path + " is not a plain path under " + root_);
  }
  return OkStatus();
}

Status FaultFileLayer::gate(Op op, const std::string& path) {
  auto index = static_cast<size_t>(op);
  ++counts_[index];
  std::string what = std::string(kOpNames[index]) + " " + path;
  if (power_cut_) return FileErrorStatus(EIO, what + " (simulated power cut)");
  if (isMutating(op)) {
    ++mutating_;
    if (power_budget_ == 0) {
      power_cut_ = true;
      return FileErrorStatus(EIO, what + " (simulated power cut)");
    }
    if (power_budget_ > 0) --power_budget_;
  }
  for (auto it = faults_.begin(); it != faults_.end(); ++it) {
    if (it->op != op) continue;
    int err = it->err;
    if (it->remaining >= 0) {
      if (--it->remaining > 0) continue;
      faults_.erase(it);  // a one-shot fault has fired
    }
    return FileErrorStatus(err, what + " (injected)");
  }
  return OkStatus();
}

void FaultFileLayer::failNth(Op op, int nth, int err) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(Fault{op, std::max(nth, 1), err});
}

void FaultFileLayer::failAll(Op op, int err) {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.push_back(Fault{op, -1, err});
}

void FaultFileLayer::clearFaults() {
  std::lock_guard<std::mutex> lock(mu_);
  faults_.clear();
}

void FaultFileLayer::cutPowerAfter(int n) {
  std::lock_guard<std::mutex> lock(mu_);
  power_budget_ = std::max(n, 0);
}

bool FaultFileLayer::powerIsCut() const {
  std::lock_guard<std::mutex> lock(mu_);
  return power_cut_;
}

int FaultFileLayer::count(Op op) const {
  std::lock_guard<std::mutex> lock(mu_);
  return counts_[static_cast<size_t>(op)];
}

int FaultFileLayer::mutatingOps() const {
  std::lock_guard<std::mutex> lock(mu_);
  return mutating_;
}

StatusOr<std::unique_ptr<WritableFile>> FaultFileLayer::createFile(const std::string& path,
                                                                   mode_t mode) {
  std::lock_guard<std::mutex> lock(mu_);
  HEARTH_RETURN_IF_ERROR(checkPath(path));
  HEARTH_RETURN_IF_ERROR(gate(Op::kCreate, path));
  auto target = target_.createFile(path, mode);
  if (!target.ok()) return target.status();
  NodePtr node;
  if (auto it = live_.find(path); it != live_.end() && !it->second->dir) {
    node = it->second;  // O_TRUNC of the same file: its durable data stays what it was
    node->data.clear();
  } else {
    node = std::make_shared<Node>();
    live_[path] = node;
    log_.push_back(NameOp{NameOp::kLink, path, "", node});
  }
  node->mode = mode;
  return std::unique_ptr<WritableFile>(
      std::make_unique<File>(this, std::move(target).value(), node, path));
}

Status FaultFileLayer::rename(const std::string& from, const std::string& to) {
  std::lock_guard<std::mutex> lock(mu_);
  HEARTH_RETURN_IF_ERROR(checkPath(from));
  HEARTH_RETURN_IF_ERROR(checkPath(to));
  if (parentOf(from) != parentOf(to)) {
    return InvalidArgumentError("FaultFileLayer: rename across directories: " + from + " " + to);
  }
  auto it = live_.find(from);
  if (it != live_.end() && it->second->dir) {
    return InvalidArgumentError("FaultFileLayer: directories cannot be renamed: " + from);
  }
  HEARTH_RETURN_IF_ERROR(gate(Op::kRename, from));
  HEARTH_RETURN_IF_ERROR(target_.rename(from, to));
  if (it == live_.end()) return InternalError("FaultFileLayer: " + from + " is not modelled");
  NodePtr node = it->second;
  live_.erase(it);
  live_[to] = node;
  log_.push_back(NameOp{NameOp::kRename, from, to, node});
  return OkStatus();
}

Status FaultFileLayer::syncDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  HEARTH_RETURN_IF_ERROR(checkPath(dir));
  HEARTH_RETURN_IF_ERROR(gate(Op::kSyncDir, dir));
  HEARTH_RETURN_IF_ERROR(target_.syncDir(dir));
  for (auto& op : log_) {
    if (parentOf(op.path) == dir || (op.kind == NameOp::kRename && parentOf(op.to) == dir)) {
      op.durable = true;
    }
  }
  return OkStatus();
}

Status FaultFileLayer::createDir(const std::string& dir, mode_t mode) {
  std::lock_guard<std::mutex> lock(mu_);
  if (dir == root_) return OkStatus();  // exists by contract
  HEARTH_RETURN_IF_ERROR(checkPath(dir));
  HEARTH_RETURN_IF_ERROR(gate(Op::kCreateDir, dir));
  HEARTH_RETURN_IF_ERROR(target_.createDir(dir, mode));
  if (live_.count(dir) == 0) {
    auto node = std::make_shared<Node>();
    node->dir = true;
    node->mode = mode;
    live_[dir] = node;
    log_.push_back(NameOp{NameOp::kLink, dir, "", node});
  }
  return OkStatus();
}

StatusOr<std::vector<std::string>> FaultFileLayer::listDir(const std::string& dir) {
  std::lock_guard<std::mutex> lock(mu_);
  HEARTH_RETURN_IF_ERROR(checkPath(dir));
  HEARTH_RETURN_IF_ERROR(gate(Op::kListDir, dir));
  return target_.listDir(dir);
}

StatusOr<std::string> FaultFileLayer::readFile(const std::string& path, size_t limit) {
  std::lock_guard<std::mutex> lock(mu_);
  HEARTH_RETURN_IF_ERROR(checkPath(path));
  HEARTH_RETURN_IF_ERROR(gate(Op::kRead, path));
  return target_.readFile(path, limit);
}

StatusOr<uint64_t> FaultFileLayer::fileSize(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  HEARTH_RETURN_IF_ERROR(checkPath(path));
  HEARTH_RETURN_IF_ERROR(gate(Op::kStat, path));
  return target_.fileSize(path);
}

Status FaultFileLayer::unlink(const std::string& path) {
  std::lock_guard<std::mutex> lock(mu_);
  HEARTH_RETURN_IF_ERROR(checkPath(path));
  auto it = live_.find(path);
  if (it != live_.end() && it->second->dir) {
    return InvalidArgumentError("FaultFileLayer: directories cannot be unlinked: " + path);
  }
  HEARTH_RETURN_IF_ERROR(gate(Op::kUnlink, path));
  HEARTH_RETURN_IF_ERROR(target_.unlink(path));
  if (it != live_.end()) {
    log_.push_back(NameOp{NameOp::kUnlink, path, "", it->second});
    live_.erase(it);
  }
  return OkStatus();
}

Status FaultFileLayer::crash(CrashMode mode, uint32_t seed) {
  std::lock_guard<std::mutex> lock(mu_);
  std::mt19937 rng(seed);
  auto uniform = [&](size_t lo, size_t hi) {  // [lo, hi]
    return std::uniform_int_distribution<size_t>(lo, hi)(rng);
  };

  // 1. The names that survive: the durable ones at boot, then the name operations made durable
  //    since (and, in kRandom, every operation before a random point of the log).
  std::map<std::string, NodePtr> state = base_;
  // The random point falls among the operations not yet durable (the durable ones survive
  // anyway), so every one of them has a fair chance of being the last to reach the disk.
  size_t first_pending = 0;
  while (first_pending < log_.size() && log_[first_pending].durable) ++first_pending;
  size_t cut = mode == CrashMode::kRandom ? uniform(first_pending, log_.size()) : 0;
  for (size_t i = 0; i < log_.size(); ++i) {
    const NameOp& op = log_[i];
    if (!op.durable && i >= cut) continue;
    switch (op.kind) {
      case NameOp::kLink:
        state[op.path] = op.node;
        break;
      case NameOp::kRename:
        if (auto it = state.find(op.path); it != state.end() && it->second == op.node) {
          state.erase(it);
        }
        state[op.to] = op.node;
        break;
      case NameOp::kUnlink:
        if (auto it = state.find(op.path); it != state.end() && it->second == op.node) {
          state.erase(it);
        }
        break;
    }
  }
  // A name whose directory did not survive goes with it.
  std::vector<std::string> paths;
  for (const auto& [path, node] : state) paths.push_back(path);
  std::sort(paths.begin(), paths.end(), [](const std::string& a, const std::string& b) {
    return depthOf(a) != depthOf(b) ? depthOf(a) < depthOf(b) : a < b;
  });
  std::vector<std::pair<std::string, NodePtr>> survivors;
  std::map<std::string, bool> is_dir{{root_, true}};
  for (const auto& path : paths) {
    auto parent = is_dir.find(parentOf(path));
    if (parent == is_dir.end() || !parent->second) continue;
    is_dir[path] = state[path]->dir;
    survivors.emplace_back(path, state[path]);
  }

  // 2. Their contents: the synced data, or (kRandom) a torn version of the unsynced data.
  std::map<std::string, NodePtr> rebooted;
  for (const auto& [path, node] : survivors) {
    auto fresh = std::make_shared<Node>();
    fresh->dir = node->dir;
    fresh->mode = node->mode;
    if (!node->dir) {
      std::string content = node->synced;
      if (mode == CrashMode::kRandom && node->data != node->synced) {
        if (node->data.compare(0, node->synced.size(), node->synced) == 0) {
          content = node->data.substr(0, uniform(node->synced.size(), node->data.size()));
        } else if (uniform(0, 1) == 1) {
          content = node->data.substr(0, uniform(0, node->data.size()));
        }
      }
      fresh->data = fresh->synced = content;
    }
    rebooted[path] = fresh;
  }

  // 3. Rewrite the real tree and reboot the model.
  std::error_code ec;
  for (const auto& entry : std::filesystem::directory_iterator(root_, ec)) {
    std::filesystem::remove_all(entry.path(), ec);
    if (ec) return InternalError("crash(): remove " + entry.path().string() + ": " + ec.message());
  }
  if (ec) return InternalError("crash(): list " + root_ + ": " + ec.message());
  for (const auto& [path, node] : survivors) {
    const NodePtr& fresh = rebooted[path];
    if (fresh->dir) {
      if (::mkdir(path.c_str(), fresh->mode) != 0) return ErrnoToStatus(errno, "crash(): " + path);
      ::chmod(path.c_str(), fresh->mode);
    } else {
      HEARTH_RETURN_IF_ERROR(writeRealFile(path, fresh->data, fresh->mode));
    }
  }
  live_ = rebooted;
  base_ = rebooted;
  log_.clear();
  faults_.clear();
  power_cut_ = false;
  power_budget_ = -1;
  mutating_ = 0;
  ++generation_;
  return OkStatus();
}

}  // namespace hearth::testing
