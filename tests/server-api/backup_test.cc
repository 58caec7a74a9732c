// The encrypted backup container (HEARTHBK1) and backup/restore of a server's state directory,
// without a running server: round trips, a wrong passphrase, every byte altered, every
// truncation, reordered chunks, an empty passphrase, a large input streamed in bounded memory,
// and a restore that fails leaves nothing behind.
#include "hearth/server/backup.h"

#include <fcntl.h>
#include <fstream>
#include <sstream>
#include <sys/resource.h>
#include <sys/stat.h>
#include <unistd.h>

#include <gtest/gtest.h>

#include "hearth/result.h"
#include "hearth/server/state.h"
#include "support/files.h"
#include "support/sanitizers.h"
#include "support/store_backend.h"
#include "support/temp_dir.h"

namespace hearth::server {
namespace {

// Cheap scrypt for tests (the format carries the parameters; the default is 2^16).
constexpr KdfParams kFastKdf{10, 8, 1};

using testing::ReadFile;
using testing::WriteFile;

class ContainerTest : public ::testing::Test {
 protected:
  // Seals `plain` with `chunk` bytes per chunk; returns the file's bytes.
  std::string seal(const std::string& plain, const std::string& pass = "correct horse",
                   size_t chunk = 64) {
    std::string path = dir_.path() + "/sealed";
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    EXPECT_GE(fd, 0);
    auto w = BackupWriter::create(fd, pass, kFastKdf, chunk);
    EXPECT_TRUE(w.ok()) << w.status().toString();
    // Written in odd pieces, so chunk boundaries fall inside writes.
    for (size_t at = 0; at < plain.size(); at += 37) {
      EXPECT_TRUE((*w)->write(std::string_view(plain).substr(at, 37)).ok());
    }
    EXPECT_TRUE((*w)->finish().ok());
    ::close(fd);
    return ReadFile(path);
  }

  // Opens and reads everything; the status of the first failure, or the plaintext.
  StatusOr<std::string> unseal(const std::string& file, const std::string& pass = "correct horse") {
    std::string path = dir_.path() + "/to-open";
    WriteFile(path, file);
    int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
    auto r = BackupReader::open(fd, pass);
    if (!r.ok()) {
      ::close(fd);
      return r.status();
    }
    std::string out;
    char buf[100];
    while (true) {
      auto n = (*r)->read(buf, sizeof buf);
      if (!n.ok()) {
        ::close(fd);
        return n.status();
      }
      if (*n == 0) break;
      out.append(buf, *n);
    }
    ::close(fd);
    return out;
  }

  testing::TempDir dir_;
};

TEST_F(ContainerTest, RoundTripsAnySizeAcrossChunkBoundaries) {
  for (size_t size : {0, 1, 63, 64, 65, 128, 1000}) {
    std::string plain;
    for (size_t i = 0; i < size; ++i) plain += static_cast<char>(i * 7 + 3);
    std::string file = seal(plain);
    EXPECT_EQ(file.compare(0, 9, "HEARTHBK1"), 0);
    // (Only 16 bytes or more say anything: a shorter run turns up in random bytes by chance.)
    if (size >= 16) {
      EXPECT_EQ(file.find(plain.substr(0, 16)), std::string::npos) << "plaintext visible";
    }
    auto back = unseal(file);
    ASSERT_TRUE(back.ok()) << size << ": " << back.status().toString();
    EXPECT_EQ(*back, plain) << size;
  }
}

TEST_F(ContainerTest, TwoBackupsOfTheSameDataDiffer) {
  EXPECT_NE(seal("same data"), seal("same data"));  // random salt and nonce prefix
}

TEST_F(ContainerTest, WrongPassphraseIsRefusedBeforeAnyData) {
  std::string file = seal(std::string(500, 'x'));
  auto r = unseal(file, "correct hors");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kPermissionDenied);
  EXPECT_NE(r.status().message().find("wrong passphrase"), std::string::npos);
}

TEST_F(ContainerTest, EmptyPassphraseIsRefused) {
  std::string path = dir_.path() + "/x";
  int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
  auto w = BackupWriter::create(fd, "", kFastKdf);
  ::close(fd);
  ASSERT_FALSE(w.ok());
  EXPECT_EQ(w.status().code(), StatusCode::kInvalidArgument);
  auto r = unseal(seal("data"), "");
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(r.status().code(), StatusCode::kInvalidArgument);

  std::string empty = dir_.write("empty-pass", "\n");
  auto p = ReadPassphraseFile(empty);
  ASSERT_FALSE(p.ok());
  EXPECT_NE(p.status().message().find("empty"), std::string::npos);
  auto ok = ReadPassphraseFile(dir_.write("pass", "s3cret phrase\n"));
  ASSERT_TRUE(ok.ok());
  EXPECT_EQ(*ok, "s3cret phrase");  // one trailing newline is not part of it
}

// Every single byte of the file altered (header, flags, lengths, ciphertext, tags): never
// accepted, and never any plaintext handed out from the altered chunk.
TEST_F(ContainerTest, EveryAlteredByteIsDetected) {
  std::string plain(150, 'p');  // three chunks: 64, 64, 22 (final)
  std::string file = seal(plain);
  ASSERT_EQ(file.size(), 53u + 3 * (5 + 16) + 150);
  for (size_t i = 0; i < file.size(); ++i) {
    std::string bad = file;
    bad[i] = static_cast<char>(bad[i] ^ 0x01);
    auto r = unseal(bad);
    ASSERT_FALSE(r.ok()) << "byte " << i << " altered, still accepted";
    StatusCode c = r.status().code();
    if (i < 9) {
      EXPECT_EQ(c, StatusCode::kInvalidArgument) << i;  // not a Hearth backup
    } else if (i < 53) {
      // The header: parameters, salt, nonce prefix, chunk size, key check.
      EXPECT_TRUE(c == StatusCode::kPermissionDenied || c == StatusCode::kInvalidArgument) << i;
    } else {
      EXPECT_EQ(c, StatusCode::kDataLoss) << i << ": " << r.status().toString();
    }
  }
}

TEST_F(ContainerTest, EveryTruncationIsDetected) {
  std::string file = seal(std::string(150, 'q'));
  for (size_t len = 0; len < file.size(); ++len) {
    auto r = unseal(file.substr(0, len));
    ASSERT_FALSE(r.ok()) << "truncated to " << len << " bytes, still accepted";
    if (len >= 53) {
      EXPECT_EQ(r.status().code(), StatusCode::kDataLoss) << len;
    }
  }
  auto extra = unseal(file + "x");
  ASSERT_FALSE(extra.ok());
  EXPECT_EQ(extra.status().code(), StatusCode::kDataLoss);
}

TEST_F(ContainerTest, ReorderedOrDroppedChunksAreDetected) {
  std::string file = seal(std::string(64, 'a') + std::string(64, 'b') + std::string(10, 'c'));
  const size_t header = 53, full = 5 + 64 + 16;
  std::string c0 = file.substr(header, full), c1 = file.substr(header + full, full);
  std::string rest = file.substr(header + 2 * full);
  auto swapped = unseal(file.substr(0, header) + c1 + c0 + rest);
  ASSERT_FALSE(swapped.ok());
  EXPECT_EQ(swapped.status().code(), StatusCode::kDataLoss);
  auto dropped = unseal(file.substr(0, header) + c0 + rest);
  ASSERT_FALSE(dropped.ok());
  EXPECT_EQ(dropped.status().code(), StatusCode::kDataLoss);
  // A chunk of another backup made with the same passphrase does not fit either.
  std::string other = seal(std::string(64, 'a') + std::string(64, 'b') + std::string(10, 'c'));
  auto spliced = unseal(file.substr(0, header) + other.substr(header));
  ASSERT_FALSE(spliced.ok());
  EXPECT_EQ(spliced.status().code(), StatusCode::kDataLoss);
}

TEST_F(ContainerTest, LargeInputIsStreamedInBoundedMemory) {
  std::string path = dir_.path() + "/large";
  if (testing::UnderSanitizers()) {
    GTEST_SKIP() << "peak RSS means nothing under ASan (quarantine, shadow memory; "
                    "support/sanitizers.h); this runs in the plain build";
  }
  const size_t total = 128u << 20;  // 128 MiB through 1 MiB chunks
  struct rusage before {};
  ::getrusage(RUSAGE_SELF, &before);
  {
    int fd = ::open(path.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, 0600);
    auto w = BackupWriter::create(fd, "pass", kFastKdf);
    ASSERT_TRUE(w.ok());
    std::string block(1 << 16, '\0');
    for (size_t i = 0; i < block.size(); ++i) block[i] = static_cast<char>(i);
    for (size_t done = 0; done < total; done += block.size()) ASSERT_TRUE((*w)->write(block).ok());
    ASSERT_TRUE((*w)->finish().ok());
    ::close(fd);
  }
  struct stat st {};
  ASSERT_EQ(::stat(path.c_str(), &st), 0);
  // 128 chunks (the last full one is the final one), 21 bytes of framing and tag each.
  EXPECT_EQ(static_cast<size_t>(st.st_size), 53 + total + (total >> 20) * 21);
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  auto r = BackupReader::open(fd, "pass");
  ASSERT_TRUE(r.ok());
  std::string buf(1 << 16, '\0');
  size_t got = 0;
  while (true) {
    auto n = (*r)->read(buf.data(), buf.size());
    ASSERT_TRUE(n.ok()) << n.status().toString();
    if (*n == 0) break;
    ASSERT_EQ(static_cast<unsigned char>(buf[0]), (got % (1 << 16)) & 0xff);
    got += *n;
  }
  ::close(fd);
  EXPECT_EQ(got, total);
  struct rusage after {};
  ::getrusage(RUSAGE_SELF, &after);
  EXPECT_LT(after.ru_maxrss - before.ru_maxrss, 32 * 1024) << "KiB more at peak";
}

// --- backup and restore of a state directory (no server running) ----------------------------

class BackupRestoreTest : public ::testing::Test {
 protected:
  void SetUp() override {
    state_ = dir_.path() + "/state";
    InitOptions init;
    init.state_dir = state_;
    init.policy_text = ExamplePolicy();
    init.policy_source = "example";
    init.now = std::chrono::system_clock::now();
    auto r = InitServerState(init);
    ASSERT_TRUE(r.ok()) << r.status().toString();
    auto store = OpenStore(PathsFor(state_).sqlite_db);
    ASSERT_TRUE(store.ok());
    TokenRecord t;
    t.name = "later";
    t.scope = "read";
    t.created_at = init.now;
    ASSERT_TRUE((*store)->createToken("hash-of-later", t).ok());
    config_ = dir_.write("server.conf", "listen = 0.0.0.0:9443\n");
  }

  StatusOr<BackupSummary> backup(const std::string& out, const std::string& pass = "pass") {
    BackupOptions o;
    o.state_dir = state_;
    o.config = config_;
    o.out = out;
    o.passphrase = pass;
    o.kdf = kFastKdf;
    return CreateBackup(o);
  }

  StatusOr<RestoreSummary> restore(const std::string& in, const std::string& target,
                                   const std::string& pass = "pass") {
    RestoreOptions o;
    o.in = in;
    o.state_dir = target;
    o.passphrase = pass;
    return RestoreBackup(o);
  }

  // Names in `dir` (hidden ones too).
  std::vector<std::string> listing(const std::string& dir) {
    auto r = testing::RunProcess({"/bin/ls", "-A", dir});
    std::vector<std::string> out;
    std::istringstream in(r.out);
    for (std::string l; std::getline(in, l);) out.push_back(l);
    return out;
  }

  testing::TempDir dir_;
  std::string state_, config_;
};

// The plain copy of the database that the backup encrypts is the whole fleet's data: private
// from the moment it exists, whatever the umask (it used to be left to SQLite: 0644).
TEST_F(BackupRestoreTest, ThePlainSnapshotIsPrivateWhileItExists) {
  mode_t old_umask = ::umask(022);
  BackupOptions o;
  o.state_dir = state_;
  o.config = config_;
  o.out = dir_.path() + "/private.hbk";
  o.passphrase = "pass";
  o.kdf = kFastKdf;
  mode_t seen = 0;
  bool called = false;
  o.after_snapshot = [&](const std::string& path) {
    struct stat st {};
    called = ::stat(path.c_str(), &st) == 0;
    seen = st.st_mode & 0777;
  };
  auto r = CreateBackup(o);
  ::umask(old_umask);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  ASSERT_TRUE(called);
  EXPECT_EQ(seen, 0600u);
}

TEST_F(BackupRestoreTest, RestoreBringsBackKeysDatabaseAndConfig) {
  std::string out = dir_.path() + "/b.hbk";
  auto b = backup(out);
  ASSERT_TRUE(b.ok()) << b.status().toString();
  EXPECT_EQ(b->database_kind, "sqlite");
  EXPECT_EQ(b->schema_version, testing::kNewestSchema);
  EXPECT_TRUE(b->config_included);
  struct stat st {};
  ASSERT_EQ(::stat(out.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  // No scratch copy of the database is left beside the backup.
  EXPECT_EQ(listing(dir_.path()), (std::vector<std::string>{"b.hbk", "server.conf", "state"}));
  EXPECT_EQ(listing(state_).size(), 11u);  // nothing added to the server's own directory

  std::string target = dir_.path() + "/deeper/new";  // parents are made
  auto r = restore(out, target);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  for (const char* f :
       {"device-ca.pem", "device-ca.key", "ca.pem", "tls-ca.key", "server.pem", "server.key",
        "policy-signing.key", "policy-signing.pub", "admin-token", "enroll-secret"}) {
    EXPECT_EQ(ReadFile(target + "/" + f), ReadFile(state_ + "/" + f)) << f;
  }
  ASSERT_EQ(::stat((target + "/device-ca.key").c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0600u);
  ASSERT_EQ(::stat(target.c_str(), &st), 0);
  EXPECT_EQ(st.st_mode & 0777, 0700u);
  EXPECT_EQ(ReadFile(target + "/server.conf.from-backup"), "listen = 0.0.0.0:9443\n");
  auto store = OpenStore(target + "/hearth.db");
  ASSERT_TRUE(store.ok());
  auto tokens = (*store)->listTokens();
  ASSERT_TRUE(tokens.ok());
  ASSERT_EQ(tokens->size(), 2u);
  EXPECT_EQ((*tokens)[1].name, "later");
  EXPECT_TRUE((*store)->latestPolicy("standard").ok());
  store->reset();

  // The restored server backed up and restored again (its server.conf.from-backup is not a
  // state file: the configuration travels apart).
  state_ = target;
  std::string again = dir_.path() + "/again.hbk";
  ASSERT_TRUE(backup(again).ok());
  auto second = restore(again, dir_.path() + "/third");
  ASSERT_TRUE(second.ok()) << second.status().toString();
  EXPECT_EQ(ReadFile(dir_.path() + "/third/device-ca.key"), ReadFile(target + "/device-ca.key"));
}

TEST_F(BackupRestoreTest, WrongPassphraseOrDamageWritesNothing) {
  std::string out = dir_.path() + "/b.hbk";
  ASSERT_TRUE(backup(out).ok());
  std::string target = dir_.path() + "/new";
  auto wrong = restore(out, target, "Pass");
  ASSERT_FALSE(wrong.ok());
  EXPECT_EQ(wrong.status().code(), StatusCode::kPermissionDenied);
  // Altered near the end (inside the database): found only after much was decrypted.
  std::string data = ReadFile(out);
  data[data.size() - 30] = static_cast<char>(data[data.size() - 30] ^ 0x40);
  std::string damaged = dir_.write("damaged.hbk", data);
  auto bad = restore(damaged, target);
  ASSERT_FALSE(bad.ok());
  EXPECT_EQ(bad.status().code(), StatusCode::kDataLoss);
  std::string truncated =
      dir_.write("short.hbk", ReadFile(out).substr(0, ReadFile(out).size() / 2));
  EXPECT_EQ(restore(truncated, target).status().code(), StatusCode::kDataLoss);
  // Neither the target nor a staging directory exists.
  EXPECT_EQ(::access(target.c_str(), F_OK), -1);
  for (const auto& name : listing(dir_.path()))
    EXPECT_EQ(name.find(".new.restore"), std::string::npos);
}

TEST_F(BackupRestoreTest, RestoreRefusesANonEmptyTargetButTakesAnEmptyOne) {
  std::string out = dir_.path() + "/b.hbk";
  ASSERT_TRUE(backup(out).ok());
  auto busy = restore(out, state_);
  ASSERT_FALSE(busy.ok());
  EXPECT_EQ(busy.status().code(), StatusCode::kFailedPrecondition);
  EXPECT_NE(busy.status().message().find("not empty"), std::string::npos);
  std::string empty = dir_.mkdir("empty");
  auto r = restore(out, empty);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  EXPECT_EQ(::access((empty + "/hearth.db").c_str(), F_OK), 0);
}

TEST_F(BackupRestoreTest, AnEmptyTargetKeepsItsOwnerForTheServiceUser) {
  if (::geteuid() != 0) GTEST_SKIP() << "needs root to hand files to another user";
  std::string out = dir_.path() + "/b.hbk";
  ASSERT_TRUE(backup(out).ok());
  std::string target = dir_.mkdir("service-dir");
  ASSERT_EQ(::chown(target.c_str(), 65534, 65534), 0);  // as a package makes it for its user
  auto r = restore(out, target);
  ASSERT_TRUE(r.ok()) << r.status().toString();
  for (const char* f : {"", "/device-ca.key", "/hearth.db", "/server.conf.from-backup"}) {
    struct stat st {};
    ASSERT_EQ(::stat((target + f).c_str(), &st), 0) << f;
    EXPECT_EQ(st.st_uid, 65534u) << f;
    EXPECT_EQ(st.st_gid, 65534u) << f;
  }
}

TEST_F(BackupRestoreTest, BackupOfSomethingThatIsNoServerFails) {
  BackupOptions o;
  o.state_dir = dir_.mkdir("nothing");
  o.out = dir_.path() + "/b.hbk";
  o.passphrase = "p";
  auto r = CreateBackup(o);
  ASSERT_FALSE(r.ok());
  EXPECT_EQ(::access(o.out.c_str(), F_OK), -1);
}

}  // namespace
}  // namespace hearth::server
