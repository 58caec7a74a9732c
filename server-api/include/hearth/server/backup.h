// `hearth-server backup` and `restore`: one encrypted file that holds a consistent snapshot of
// the database (taken online, while `serve` keeps writing) with every file of the state
// directory and the server configuration, and the way back from it to a working server.
//
// The file ("HEARTHBK1") is a chunked AEAD stream: AES-256-GCM under a key derived from a
// passphrase with scrypt (random salt), every chunk authenticated with its index and a
// final-chunk flag, so a wrong passphrase, any altered byte, reordered or missing chunks and a
// truncated file are all detected. Memory stays bounded whatever the size of the database.
#pragma once

#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "hearth/server/store.h"
#include "hearth/status.h"

namespace hearth::server {

// scrypt cost. The defaults take about 64 MiB and a fraction of a second; the reader refuses
// parameters above log2_n 22, r 32, p 16 (a forged header must not make it allocate gigabytes).
struct KdfParams {
  uint8_t log2_n = 16;
  uint8_t r = 8;
  uint8_t p = 1;
};

// Writes the encrypted container to a file descriptor it does not own. Not thread-safe.
class BackupWriter {
 public:
  static constexpr size_t kDefaultChunk = 1 << 20;
  // Derives the key and writes the header. InvalidArgument for an empty passphrase.
  static StatusOr<std::unique_ptr<BackupWriter>> create(int fd, std::string_view passphrase,
                                                        KdfParams kdf = {},
                                                        size_t chunk_size = kDefaultChunk);
  // The same, writing through `sink` (a DurableFileWriter's append, say).
  using Sink = std::function<Status(std::string_view)>;
  static StatusOr<std::unique_ptr<BackupWriter>> create(Sink sink, std::string_view passphrase,
                                                        KdfParams kdf = {},
                                                        size_t chunk_size = kDefaultChunk);
  ~BackupWriter();
  BackupWriter(const BackupWriter&) = delete;
  BackupWriter& operator=(const BackupWriter&) = delete;

  Status write(std::string_view data);
  // Writes the last (final-flagged) chunk. Nothing may be written after it.
  Status finish();
  uint64_t bytesWritten() const { return written_; }

 private:
  BackupWriter() = default;
  Status emit(bool final);

  Sink sink_;
  std::string header_;
  unsigned char key_[32] = {};
  unsigned char nonce_prefix_[4] = {};
  size_t chunk_size_ = kDefaultChunk;
  std::string buffer_;
  uint64_t index_ = 0;
  uint64_t written_ = 0;
  bool finished_ = false;
};

// Reads and authenticates the container. Every byte returned has been authenticated; the end
// (read() returning 0) is reported only after the final chunk verified and nothing follows it.
// Errors: InvalidArgument (not a Hearth backup, unsupported version or parameters),
// PermissionDenied (wrong passphrase, or the header was altered), DataLoss (a chunk was altered,
// reordered or dropped, the file is truncated, or bytes follow the end).
class BackupReader {
 public:
  static StatusOr<std::unique_ptr<BackupReader>> open(int fd, std::string_view passphrase);
  ~BackupReader();
  BackupReader(const BackupReader&) = delete;
  BackupReader& operator=(const BackupReader&) = delete;

  // Up to `n` bytes into `out`; 0 at the verified end.
  StatusOr<size_t> read(char* out, size_t n);
  // Exactly `n` bytes, or DataLoss naming `what`.
  Status readExact(char* out, size_t n, const std::string& what);

 private:
  BackupReader() = default;
  Status nextChunk();

  int fd_ = -1;
  std::string header_;
  unsigned char key_[32] = {};
  unsigned char nonce_prefix_[4] = {};
  size_t chunk_size_ = 0;
  std::string plain_;
  size_t pos_ = 0;
  uint64_t index_ = 0;
  bool final_seen_ = false;
};

// The passphrase in `path` ("-" = standard input), without one trailing newline. Refuses an
// empty one (InvalidArgument) and a file that others may read is accepted (the operator's call).
StatusOr<std::string> ReadPassphraseFile(const std::string& path);

struct BackupOptions {
  std::string state_dir;
  std::string database;  // "" = SQLite in the state dir
  std::string config;    // the server.conf to include; "" or a missing file = none
  std::string out;       // written atomically, mode 0600
  std::string passphrase;
  KdfParams kdf;
  std::string pg_dump = "/usr/bin/pg_dump";  // PostgreSQL only
  // Tests only: called with the path of the plain database snapshot once it is written, before
  // it is encrypted and removed.
  std::function<void(const std::string& snapshot_path)> after_snapshot;
};

struct BackupSummary {
  std::string database_kind;       // "sqlite" or "postgresql"
  TimePoint snapshot_at;           // the database is as it was at this moment
  int schema_version = 0;          // 0 when not known (PostgreSQL)
  std::vector<std::string> files;  // state directory files included
  bool config_included = false;
  uint64_t database_bytes = 0;
  uint64_t bytes = 0;  // size of the backup file
};

// Writes the backup. The database snapshot is consistent: one read transaction (SQLite's
// online backup API in WAL mode, which does not block `serve`'s writers) or one pg_dump
// snapshot. Every report acknowledged before `snapshot_at` is in it.
StatusOr<BackupSummary> CreateBackup(const BackupOptions& options);

struct RestoreOptions {
  std::string in;
  std::string state_dir;  // must not exist, or be empty
  std::string database;   // "" = SQLite in the state dir; a PostgreSQL backup needs an empty one
  std::string passphrase;
  std::string pg_restore = "/usr/bin/pg_restore";
};

struct RestoreSummary {
  std::string database_kind;
  std::string snapshot_at;  // as recorded in the backup
  std::string created_by;   // hearth-server version that wrote it
  std::vector<std::string> files;
  std::string config_path;  // where the backed-up server.conf was put ("" = none in the backup)
  int schema_version = 0;   // after restore (migrated forward if the backup was older)
};

// Restores into a new state directory. Everything is decrypted and authenticated into a private
// staging directory beside the target first; only when the whole file verified, the database
// was restored and its integrity check says ok is the staging directory renamed to the target.
// On any error nothing is left at the target.
StatusOr<RestoreSummary> RestoreBackup(const RestoreOptions& options);

// `join --from BACKUP` (issue 18): the state directory files of a backup (keys, certificates,
// the rotation state, the first secrets; not its database nor its server.conf), decrypted and
// authenticated into the existing, empty, private directory `dir`. The whole backup is read and
// verified, the database skipped. Returns the file names. Errors name the backup: not a Hearth
// backup or a backup of a server on SQLite (InvalidArgument), a wrong passphrase
// (PermissionDenied), a damaged or truncated file (DataLoss).
StatusOr<std::vector<std::string>> ExtractBackupStateFiles(const std::string& in,
                                                           std::string_view passphrase,
                                                           const std::string& dir);

}  // namespace hearth::server
