// A file layer for tests that fails operations on command and simulates power cuts, to prove the
// fsync ordering of code built on FileLayer (LevelDB's FaultInjectionTestEnv is the model).
//
// It passes every operation through to a real layer (the files are real, under `root`) and keeps
// a model of what is durable:
//   - a file's data is durable as of its last WritableFile::sync();
//   - creating, renaming onto and unlinking a name is durable once syncDir() ran on its directory
//     (and all earlier name operations in that directory with it);
//   - everything present under `root` when the layer is made (or after crash()) is durable.
// crash() then rewrites the real tree under `root` to what a power cut would leave, and the layer
// starts again as after a reboot: every file is durable, nothing is pending.
//
// Only paths under `root` may be used (others are refused with InvalidArgument), renames must stay
// in one directory, and directories cannot be renamed or unlinked. Thread-safe.
#pragma once

#include <cstdint>
#include <map>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include "hearth/file_layer.h"

namespace hearth::testing {

class FaultFileLayer : public FileLayer {
 public:
  enum class Op {
    kCreate,     // createFile
    kWrite,      // WritableFile::append
    kSyncFile,   // WritableFile::sync
    kClose,      // WritableFile::close
    kRename,     // rename
    kSyncDir,    // syncDir
    kCreateDir,  // createDir
    kUnlink,     // unlink
    kListDir,    // listDir
    kRead,       // readFile
    kStat,       // fileSize
  };
  static constexpr int kOpKinds = 11;

  enum class CrashMode {
    // LevelDB's model: everything not made durable is lost; a file whose data was never synced
    // comes back empty (ext4's "zero-length file after rename" case).
    kDropUnsynced,
    // A harsher, realistic one (seeded): name operations not yet made durable survive up to a
    // random point of their order (a journal commits in order), and a file's unsynced data
    // survives up to a random length (torn writes).
    kRandom,
  };

  explicit FaultFileLayer(std::string root, FileLayer& target = PosixFileLayer());
  ~FaultFileLayer() override;

  // (a) Injected errors. The `nth` next operation of kind `op` (1 = the very next) fails with
  // errno `err`; those before and after it succeed. A failing kWrite writes half its data first
  // (a short write, as on a full disk); a failing kSyncFile leaves the data unsynced.
  void failNth(Op op, int nth, int err);
  // Every operation of kind `op` fails with `err` until clearFaults().
  void failAll(Op op, int err);
  void clearFaults();

  // (b) Power cuts. After `n` more mutating operations (every kind above kListDir), every
  // operation fails with EIO ("simulated power cut") until crash(): nothing more reaches the disk.
  void cutPowerAfter(int n);
  bool powerIsCut() const;
  // Rewrites the files under root to what survives a power cut now (see CrashMode), and reboots
  // the model: faults and the planned cut are cleared, open WritableFiles fail from then on.
  // Errors only if the real tree cannot be rewritten.
  Status crash(CrashMode mode = CrashMode::kDropUnsynced, uint32_t seed = 0);

  // Operations of kind `op` attempted since the layer was made (including failed ones).
  int count(Op op) const;
  // Mutating operations attempted since the last crash() (the points cutPowerAfter can hit).
  int mutatingOps() const;

  // Interface
  StatusOr<std::unique_ptr<WritableFile>> createFile(const std::string& path, mode_t mode) override;
  Status rename(const std::string& from, const std::string& to) override;
  Status syncDir(const std::string& dir) override;
  Status createDir(const std::string& dir, mode_t mode) override;
  StatusOr<std::vector<std::string>> listDir(const std::string& dir) override;
  StatusOr<std::string> readFile(const std::string& path, size_t limit) override;
  StatusOr<uint64_t> fileSize(const std::string& path) override;
  Status unlink(const std::string& path) override;

 private:
  class File;
  struct Node {
    bool dir = false;
    mode_t mode = 0;
    std::string data;    // current contents
    std::string synced;  // contents as of the last sync
  };
  using NodePtr = std::shared_ptr<Node>;
  struct NameOp {
    enum Kind { kLink, kRename, kUnlink } kind;
    std::string path, to;
    NodePtr node;
    bool durable = false;
  };
  struct Fault {
    Op op;
    int remaining;  // operations until it fires; -1: every time
    int err;
  };

  // Counts the operation and returns the error to inject, if any. REQUIRES: mu_ held.
  Status gate(Op op, const std::string& path);
  Status checkPath(const std::string& path) const;
  void loadTree();
  std::string parentOf(const std::string& path) const;

  std::string root_;
  FileLayer& target_;
  mutable std::mutex mu_;
  std::map<std::string, NodePtr> live_;  // every name under root_ now (root_ itself excluded)
  std::map<std::string, NodePtr> base_;  // the durable names at the last boot
  std::vector<NameOp> log_;              // name operations since the last boot, in order
  std::vector<Fault> faults_;
  int counts_[kOpKinds] = {};
  int mutating_ = 0;
  int power_budget_ = -1;  // mutating operations left before the cut; -1: no cut planned
  bool power_cut_ = false;
  uint64_t generation_ = 0;  // bumped by crash(): invalidates older WritableFiles
};

}  // namespace hearth::testing
