// What goes into a backup and how it comes back: a small archive (entries of name, mode, size,
// bytes; the manifest first) inside the encrypted container of backup_container.cc.
//
//   MANIFEST.json          what the backup holds, when the snapshot was taken, by which version
//   state/NAME             every regular file of the state directory but the SQLite database
//   config/server.conf     the server configuration, when there was one
//   database/hearth.db     SQLite: the online-backup snapshot
//   database/hearth.pgdump PostgreSQL: pg_dump --format=custom
#include "hearth/server/backup.h"

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <dirent.h>
#include <fcntl.h>
#include <filesystem>
#include <map>
#include <sqlite3.h>
#include <sys/stat.h>
#include <unistd.h>

#include "hearth/file_layer.h"
#include "hearth/files.h"
#include "hearth/json.h"
#include "hearth/process.h"
#include "hearth/server/state.h"
#include "hearth/time.h"

namespace hearth::server {

namespace {

constexpr size_t kIo = 1 << 20;
constexpr const char* kManifest = "MANIFEST.json";
constexpr const char* kSqliteEntry = "database/hearth.db";
constexpr const char* kPgEntry = "database/hearth.pgdump";
constexpr const char* kConfigEntry = "config/server.conf";
// Where restore puts the backed-up configuration (for the operator to review and install).
constexpr const char* kRestoredConfig = "server.conf.from-backup";

bool isPostgres(const std::string& uri) {
  return uri.starts_with("postgresql:") || uri.starts_with("postgres:");
}

std::string dirOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? "." : (slash == 0 ? "/" : path.substr(0, slash));
}

std::string baseOf(const std::string& path) {
  size_t slash = path.rfind('/');
  return slash == std::string::npos ? path : path.substr(slash + 1);
}

// RFC 3339 with milliseconds (a snapshot is compared with acknowledgements).
std::string formatMillis(TimePoint t) {
  std::string s = formatRfc3339(t);  // ...:SSZ
  auto ms = std::chrono::duration_cast<std::chrono::milliseconds>(t.time_since_epoch()).count();
  char frac[8];
  std::snprintf(frac, sizeof frac, ".%03lld", static_cast<long long>(ms % 1000));
  if (!s.empty() && s.back() == 'Z') s.insert(s.size() - 1, frac);
  return s;
}

// Files named by the archive must be plain names: no directories, no "..", nothing hidden.
bool safeName(const std::string& name) {
  if (name.empty() || name.size() > 200 || name[0] == '.') return false;
  return std::all_of(name.begin(), name.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '.' ||
           c == '-' || c == '_';
  });
}

// Removes a directory tree this code created (flat: files, at most one level).
void removeTree(const std::string& dir) {
  if (DIR* d = ::opendir(dir.c_str())) {
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n == "." || n == "..") continue;
      ::unlink((dir + "/" + n).c_str());
    }
    ::closedir(d);
  }
  ::rmdir(dir.c_str());
}

// --- archive writing ----------------------------------------------------------------------------

void putBe(std::string& out, uint64_t v, int bytes) {
  for (int i = bytes - 1; i >= 0; --i) out += static_cast<char>((v >> (8 * i)) & 0xff);
}

Status entryHead(BackupWriter& w, const std::string& name, uint32_t mode, uint64_t size) {
  std::string h;
  putBe(h, name.size(), 2);
  h += name;
  putBe(h, mode, 4);
  putBe(h, size, 8);
  return w.write(h);
}

Status addBytes(BackupWriter& w, const std::string& name, uint32_t mode, std::string_view data) {
  HEARTH_RETURN_IF_ERROR(entryHead(w, name, mode, data.size()));
  return w.write(data);
}

// Streams the file at `path` into the archive; returns its size.
StatusOr<uint64_t> addFile(BackupWriter& w, const std::string& name, const std::string& path) {
  int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC | O_NOFOLLOW);
  if (fd < 0) return ErrnoToStatus(errno, "open " + path);
  struct stat st {};
  if (::fstat(fd, &st) != 0 || !S_ISREG(st.st_mode)) {
    ::close(fd);
    return FailedPreconditionError(path + " is not a regular file");
  }
  auto size = static_cast<uint64_t>(st.st_size);
  Status s = entryHead(w, name, st.st_mode & 0777, size);
  std::string buf(kIo, '\0');
  uint64_t left = size;
  while (s.ok() && left > 0) {
    ssize_t r = ::read(fd, buf.data(), std::min<uint64_t>(left, buf.size()));
    if (r < 0 && errno == EINTR) continue;
    if (r <= 0) {
      s = r < 0 ? ErrnoToStatus(errno, "read " + path)
                : DataLossError(path + " shrank while it was being backed up");
      break;
    }
    s = w.write(std::string_view(buf.data(), static_cast<size_t>(r)));
    left -= static_cast<uint64_t>(r);
  }
  ::close(fd);
  if (!s.ok()) return s;
  return size;
}

// --- SQLite online backup -----------------------------------------------------------------------

struct SqliteSnapshot {
  TimePoint at;
  int schema_version = 0;
};

Status sqliteError(sqlite3* db, const std::string& what) {
  return UnavailableError(what + ": " + (db != nullptr ? sqlite3_errmsg(db) : "out of memory"));
}

// Copies the database at `src_path` to `dest_path` (a new file) through the online backup API.
// A read transaction is opened on the source first and the whole copy is made inside it
// (one step), so the copy is exactly the database as committed at `at`; in WAL mode this does not
// block the server's writers, and the copy never restarts because of them.
StatusOr<SqliteSnapshot> snapshotSqlite(const std::string& src_path, const std::string& dest_path) {
  sqlite3* src = nullptr;
  sqlite3* dest = nullptr;
  auto close = [&] {
    if (dest != nullptr) sqlite3_close(dest);
    if (src != nullptr) sqlite3_close(src);
  };
  if (sqlite3_open_v2(src_path.c_str(), &src, SQLITE_OPEN_READWRITE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    Status s = sqliteError(src, "open the database " + src_path);
    close();
    return s;
  }
  sqlite3_busy_timeout(src, 10000);
  SqliteSnapshot snap;
  // Taken before the read transaction starts: everything committed before this moment is in the
  // snapshot (an acknowledgement that arrived before it was committed before it).
  snap.at = std::chrono::system_clock::now();
  char* msg = nullptr;
  // BEGIN is deferred: the read transaction (the snapshot) starts at the first read.
  if (sqlite3_exec(src, "BEGIN; SELECT COUNT(*) FROM sqlite_master;", nullptr, nullptr, &msg) !=
      SQLITE_OK) {
    std::string m = msg != nullptr ? msg : "";
    sqlite3_free(msg);
    close();
    return UnavailableError("start a read transaction on " + src_path + ": " + m);
  }
  sqlite3_stmt* st = nullptr;
  if (sqlite3_prepare_v2(src, "SELECT COALESCE(MAX(version), 0) FROM schema_migrations", -1, &st,
                         nullptr) == SQLITE_OK &&
      sqlite3_step(st) == SQLITE_ROW) {
    snap.schema_version = sqlite3_column_int(st, 0);
  }
  sqlite3_finalize(st);
  if (sqlite3_open_v2(dest_path.c_str(), &dest,
                      SQLITE_OPEN_READWRITE | SQLITE_OPEN_CREATE | SQLITE_OPEN_NOMUTEX,
                      nullptr) != SQLITE_OK) {
    Status s = sqliteError(dest, "create the snapshot " + dest_path);
    close();
    return s;
  }
  // A scratch copy: no journal, no fsync (the backup file itself is fsynced).
  sqlite3_exec(dest, "PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;", nullptr, nullptr, nullptr);
  sqlite3_backup* b = sqlite3_backup_init(dest, "main", src, "main");
  if (b == nullptr) {
    Status s = sqliteError(dest, "start the online backup");
    close();
    return s;
  }
  int rc = sqlite3_backup_step(b, -1);
  sqlite3_backup_finish(b);
  if (rc != SQLITE_DONE) {
    Status s =
        UnavailableError(std::string("online backup of ") + src_path + ": " + sqlite3_errstr(rc));
    close();
    return s;
  }
  sqlite3_exec(src, "COMMIT", nullptr, nullptr, nullptr);
  if (sqlite3_close(dest) != SQLITE_OK) {
    dest = nullptr;
    close();
    return UnavailableError("close the snapshot " + dest_path);
  }
  dest = nullptr;
  close();
  return snap;
}

// --- PostgreSQL ---------------------------------------------------------------------------------

// libpq's environment for `uri`: the password goes in PGPASSWORD, never on a command line (where
// every local user could read it in /proc). Returns the URI without its password.
std::string pgUriWithoutPassword(const std::string& uri, std::map<std::string, std::string>& env) {
  size_t scheme = uri.find("://");
  if (scheme == std::string::npos) return uri;
  size_t at = uri.find('@', scheme + 3);
  size_t slash = uri.find('/', scheme + 3);
  if (at == std::string::npos || (slash != std::string::npos && slash < at)) return uri;
  size_t colon = uri.find(':', scheme + 3);
  if (colon == std::string::npos || colon > at) return uri;
  std::string pw = uri.substr(colon + 1, at - colon - 1);
  // Percent-decoding: PostgresUriToConninfo knows how; reuse it through a one-key URI.
  auto info = PostgresUriToConninfo("postgresql://u:" + pw + "@h/d");
  if (info.ok()) {
    size_t p = info->find("password='");
    if (p != std::string::npos) {
      std::string v;
      for (size_t i = p + 10; i < info->size() && (*info)[i] != '\''; ++i) {
        if ((*info)[i] == '\\' && i + 1 < info->size()) ++i;
        v += (*info)[i];
      }
      env["PGPASSWORD"] = v;
    }
  }
  return uri.substr(0, colon) + uri.substr(at);
}

Status runTool(const std::vector<std::string>& argv, const std::string& uri,
               const std::string& what) {
  Command c;
  std::map<std::string, std::string> env;
  std::string safe_uri = pgUriWithoutPassword(uri, env);
  c.argv = argv;
  c.argv.push_back("--dbname=" + safe_uri);
  c.env = env;
  c.timeout = std::chrono::hours(24);
  auto r = RunCommand(c);
  if (!r.ok()) return r.status().withContext(what);
  if (r->exit_code != 0 || r->term_signal != 0) {
    std::string err = r->err;
    while (!err.empty() && (err.back() == '\n' || err.back() == ' ')) err.pop_back();
    return UnavailableError(what + " failed (exit " + std::to_string(r->exit_code) + "): " + err);
  }
  return OkStatus();
}

// --- passphrase ---------------------------------------------------------------------------------

}  // namespace

StatusOr<std::string> ReadPassphraseFile(const std::string& path) {
  std::string text;
  if (path == "-") {
    HEARTH_ASSIGN_OR_RETURN(
        text, ReadFdBounded(STDIN_FILENO, 64 * 1024, "the passphrase from standard input",
                            {.truncate = true, .regular_only = false}));
  } else {
    auto r = ReadFileBounded(path, 64 * 1024);
    if (!r.ok()) return r.status().withContext("--passphrase-file");
    text = std::move(r).value();
  }
  if (!text.empty() && text.back() == '\n') text.pop_back();
  if (!text.empty() && text.back() == '\r') text.pop_back();
  if (text.empty()) {
    return InvalidArgumentError("--passphrase-file " + path +
                                ": the passphrase is empty (a backup needs one)");
  }
  return text;
}

StatusOr<BackupSummary> CreateBackup(const BackupOptions& o) {
  if (o.passphrase.empty()) return InvalidArgumentError("the passphrase is empty");
  if (o.out.empty()) return InvalidArgumentError("backup needs --out FILE");
  ServerPaths paths = PathsFor(o.state_dir);
  // The state directory must be a server's (its keys are what make a restore useful).
  HEARTH_RETURN_IF_ERROR(LoadServerKeys(o.state_dir).status());

  BackupSummary summary;
  const bool pg = isPostgres(o.database);
  summary.database_kind = pg ? "postgresql" : "sqlite";
  std::string db_uri = DatabaseUri(o.state_dir, o.database);

  // The files of the state directory, but the database and what belongs to it.
  std::vector<std::string> names;
  DIR* d = ::opendir(o.state_dir.c_str());
  if (d == nullptr) return ErrnoToStatus(errno, "open the state directory " + o.state_dir);
  while (dirent* e = ::readdir(d)) {
    std::string n = e->d_name;
    if (n == "." || n == "..") continue;
    if (n.starts_with("hearth.db")) continue;            // hearth.db, -wal, -shm, -journal
    if (n.find(".tmp-") != std::string::npos) continue;  // a write in progress
    if (n == kRestoredConfig) continue;  // a restore's leftover: the configuration goes apart
    struct stat st {};
    if (::lstat((o.state_dir + "/" + n).c_str(), &st) != 0 || !S_ISREG(st.st_mode)) continue;
    if (!safeName(n)) continue;
    names.push_back(n);
  }
  ::closedir(d);
  std::sort(names.begin(), names.end());

  std::string out_dir = dirOf(o.out);
  // The backup goes to a temporary file beside --out, put in place only when whole.
  auto out = DurableFileWriter::Create(PosixFileLayer(), o.out, 0600);
  if (!out.ok()) return out.status().withContext("beside --out");
  // The plain database copy lives only while the backup is written, beside it, mode 0600.
  std::string scratch = out_dir + "/." + baseOf(o.out) + ".db-XXXXXX";
  int sfd = ::mkostemp(scratch.data(), O_CLOEXEC);
  if (sfd < 0) return ErrnoToStatus(errno, "create a scratch file beside --out");
  ::close(sfd);
  auto cleanup = [&] {
    ::unlink(scratch.c_str());
    ::unlink((scratch + "-journal").c_str());
  };

  Status s = [&]() -> Status {
    if (pg) {
      summary.snapshot_at = std::chrono::system_clock::now();
      HEARTH_RETURN_IF_ERROR(runTool(
          {o.pg_dump, "--format=custom", "--no-owner", "--no-privileges", "--file=" + scratch},
          db_uri, "pg_dump"));
    } else {
      if (::access(db_uri.c_str(), F_OK) != 0) {
        return NotFoundError(db_uri + " does not exist: is --state-dir right?");
      }
      // An empty 0600 file for SQLite to fill: were it left to SQLite to create, the plain copy of
      // the database would be made with the umask's mode (0644), readable by every local user
      // while the backup runs (and after, if it were killed). SQLite gives its journal the
      // database file's mode.
      int scratch_fd =
          ::open(scratch.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (scratch_fd < 0) {
        return InternalError("create " + scratch + ": " + std::strerror(errno));
      }
      ::fchmod(scratch_fd, 0600);
      ::close(scratch_fd);
      HEARTH_ASSIGN_OR_RETURN(SqliteSnapshot snap, snapshotSqlite(db_uri, scratch));
      summary.snapshot_at = snap.at;
      summary.schema_version = snap.schema_version;
      if (o.after_snapshot) o.after_snapshot(scratch);
    }
    HEARTH_ASSIGN_OR_RETURN(
        auto w, BackupWriter::create([&](std::string_view bytes) { return (*out)->append(bytes); },
                                     o.passphrase, o.kdf));
    json::Value manifest = json::Value::object();
    manifest.set("format", "hearth-backup");
    manifest.set("version", 1);
    manifest.set("created_by", std::string("hearth-server ") + HEARTH_VERSION);
    manifest.set("created_at", formatMillis(std::chrono::system_clock::now()));
    manifest.set("snapshot_at", formatMillis(summary.snapshot_at));
    manifest.set("database", summary.database_kind);
    manifest.set("schema_version", summary.schema_version);
    json::Value files = json::Value::array();
    for (const auto& n : names) files.push(n);
    manifest.set("files", files);
    bool have_config = !o.config.empty() && ::access(o.config.c_str(), F_OK) == 0;
    manifest.set("config", have_config);
    HEARTH_RETURN_IF_ERROR(addBytes(*w, kManifest, 0600, json::write(manifest)));
    for (const auto& n : names) {
      HEARTH_RETURN_IF_ERROR(addFile(*w, "state/" + n, o.state_dir + "/" + n).status());
      summary.files.push_back(n);
    }
    if (have_config) {
      HEARTH_RETURN_IF_ERROR(addFile(*w, kConfigEntry, o.config).status());
      summary.config_included = true;
    }
    HEARTH_ASSIGN_OR_RETURN(summary.database_bytes,
                            addFile(*w, pg ? kPgEntry : kSqliteEntry, scratch));
    HEARTH_RETURN_IF_ERROR(entryHead(*w, "", 0, 0));  // the end of the archive
    HEARTH_RETURN_IF_ERROR(w->finish());
    summary.bytes = w->bytesWritten();
    return OkStatus();
  }();
  cleanup();
  HEARTH_RETURN_IF_ERROR(s);  // (the temporary file goes with `out`)
  HEARTH_RETURN_IF_ERROR((*out)->commit());
  return summary;
}

namespace {

// Reads one archive entry's head. Returns false at the end marker.
StatusOr<bool> readEntryHead(BackupReader& r, std::string& name, uint32_t& mode, uint64_t& size) {
  unsigned char len[2];
  HEARTH_RETURN_IF_ERROR(r.readExact(reinterpret_cast<char*>(len), 2, "an entry name"));
  size_t n = (size_t{len[0]} << 8) | len[1];
  name.assign(n, '\0');
  if (n > 0) HEARTH_RETURN_IF_ERROR(r.readExact(name.data(), n, "an entry name"));
  unsigned char rest[12];
  HEARTH_RETURN_IF_ERROR(r.readExact(reinterpret_cast<char*>(rest), 12, "an entry head"));
  mode = 0;
  for (int i = 0; i < 4; ++i) mode = (mode << 8) | rest[i];
  size = 0;
  for (int i = 4; i < 12; ++i) size = (size << 8) | rest[i];
  return n > 0;
}

// The backup's first entry, its manifest: a JSON object whose "database" names the store's kind
// ("sqlite" or "postgresql"). DataLoss when it is missing, too large or unreadable.
StatusOr<json::Value> readManifest(BackupReader& r) {
  std::string name;
  uint32_t mode = 0;
  uint64_t size = 0;
  HEARTH_ASSIGN_OR_RETURN(bool more, readEntryHead(r, name, mode, size));
  if (!more || name != kManifest || size > (1 << 20)) {
    return DataLossError("the backup has no manifest");
  }
  std::string text(size, '\0');
  HEARTH_RETURN_IF_ERROR(r.readExact(text.data(), size, "the manifest"));
  auto manifest = json::parse(text);
  const json::Value* kind = manifest.ok() ? manifest->find("database") : nullptr;
  if (kind == nullptr || !kind->isString()) {
    return DataLossError("the backup's manifest is unreadable");
  }
  return std::move(manifest).value();
}

// Copies `size` bytes of the current entry to a new file `path` (mode `mode`), fsynced. The
// staging directory is new and private: a name already there means the backup holds it twice.
Status extract(BackupReader& r, const std::string& path, mode_t mode, uint64_t size) {
  FileLayer& files = PosixFileLayer();
  if (files.fileSize(path).status().code() != StatusCode::kNotFound) {
    return DataLossError("the backup holds " + baseOf(path) + " twice");
  }
  HEARTH_ASSIGN_OR_RETURN(std::unique_ptr<WritableFile> file, files.createFile(path, mode));
  std::string buf(kIo, '\0');
  while (size > 0) {
    HEARTH_ASSIGN_OR_RETURN(size_t n, r.read(buf.data(), std::min<uint64_t>(size, buf.size())));
    if (n == 0) return DataLossError("the backup ends inside " + baseOf(path));
    HEARTH_RETURN_IF_ERROR(file->append(std::string_view(buf.data(), n)));
    size -= n;
  }
  HEARTH_RETURN_IF_ERROR(file->sync());
  return file->close();
}

}  // namespace

StatusOr<RestoreSummary> RestoreBackup(const RestoreOptions& o) {
  if (o.state_dir.empty()) return InvalidArgumentError("restore needs --state-dir DIR");
  std::string target = o.state_dir;
  while (target.size() > 1 && target.back() == '/') target.pop_back();
  // The target: absent, or an empty directory.
  bool target_exists = false;
  uid_t target_uid = ::geteuid();
  gid_t target_gid = ::getegid();
  struct stat st {};
  if (::stat(target.c_str(), &st) == 0) {
    if (!S_ISDIR(st.st_mode)) return InvalidArgumentError(target + " is not a directory");
    DIR* d = ::opendir(target.c_str());
    if (d == nullptr) return ErrnoToStatus(errno, "open " + target);
    bool empty = true;
    while (dirent* e = ::readdir(d)) {
      std::string n = e->d_name;
      if (n != "." && n != "..") empty = false;
    }
    ::closedir(d);
    if (!empty) {
      return FailedPreconditionError(target +
                                     " is not empty: restore only into a new or empty state "
                                     "directory (nothing is overwritten)");
    }
    target_exists = true;
    target_uid = st.st_uid;
    target_gid = st.st_gid;
  }
  const bool pg_target = isPostgres(o.database);
  if (!o.database.empty() && !pg_target) {
    return InvalidArgumentError("--database: expected a postgresql:// URI (or none for SQLite)");
  }

  int fd = ::open(o.in.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, "open --in " + o.in);
  auto reader = BackupReader::open(fd, o.passphrase);
  if (!reader.ok()) {
    ::close(fd);
    return reader.status().withContext(o.in);
  }
  BackupReader& r = **reader;

  // Staging: a private directory beside the target, renamed to it only at the very end.
  std::string parent = dirOf(target);
  std::error_code ec;
  std::filesystem::create_directories(parent, ec);  // parents as usual (0755), as init does
  std::string staging = parent + "/." + baseOf(target) + ".restore-XXXXXX";
  if (::mkdtemp(staging.data()) == nullptr) {
    int err = errno;
    ::close(fd);
    return ErrnoToStatus(err, "create a staging directory in " + parent);
  }
  ::chmod(staging.c_str(), 0700);

  RestoreSummary summary;
  std::string pg_dump_file;
  Status s = [&]() -> Status {
    std::string name;
    uint32_t mode = 0;
    uint64_t size = 0;
    bool more = false;
    HEARTH_ASSIGN_OR_RETURN(json::Value manifest_value, readManifest(r));
    const json::Value* manifest = &manifest_value;
    summary.database_kind = manifest->find("database")->asString();
    if (const auto* v = manifest->find("snapshot_at"); v != nullptr && v->isString()) {
      summary.snapshot_at = v->asString();
    }
    if (const auto* v = manifest->find("created_by"); v != nullptr && v->isString()) {
      summary.created_by = v->asString();
    }
    if (summary.database_kind == "sqlite" && pg_target) {
      return InvalidArgumentError(
          "this backup holds an SQLite database: restore it without --database");
    }
    if (summary.database_kind == "postgresql" && !pg_target) {
      return InvalidArgumentError(
          "this backup holds a PostgreSQL database: restore it with --database "
          "postgresql://... naming a new, empty database");
    }
    bool have_db = false;
    while (true) {
      HEARTH_ASSIGN_OR_RETURN(more, readEntryHead(r, name, mode, size));
      if (!more) break;
      std::string path;
      mode_t file_mode = (mode & 0644) != 0 ? (mode & 0644) : 0600;
      if (name.starts_with("state/") && safeName(name.substr(6)) &&
          !name.substr(6).starts_with("hearth.db")) {
        path = staging + "/" + name.substr(6);
        summary.files.push_back(name.substr(6));
      } else if (name == kConfigEntry) {
        path = staging + "/" + kRestoredConfig;
        file_mode = 0600;
        summary.config_path = target + "/" + kRestoredConfig;
      } else if (name == kSqliteEntry && summary.database_kind == "sqlite" && !have_db) {
        path = PathsFor(staging).sqlite_db;
        file_mode = 0600;
        have_db = true;
      } else if (name == kPgEntry && summary.database_kind == "postgresql" && !have_db) {
        path = staging + "/restore.pgdump";
        pg_dump_file = path;
        file_mode = 0600;
        have_db = true;
      } else {
        return DataLossError("the backup holds an unexpected entry \"" + name + "\"");
      }
      HEARTH_RETURN_IF_ERROR(extract(r, path, file_mode, size));
    }
    // The end marker must be the end of the authenticated stream.
    char extra;
    HEARTH_ASSIGN_OR_RETURN(size_t n, r.read(&extra, 1));
    if (n != 0) return DataLossError("the backup has data after its end marker");
    if (!have_db) return DataLossError("the backup holds no database");
    // Everything authenticated. Now the database.
    if (!pg_dump_file.empty()) {
      HEARTH_RETURN_IF_ERROR(runTool({o.pg_restore, "--no-owner", "--no-privileges",
                                      "--exit-on-error", "--single-transaction", pg_dump_file},
                                     o.database, "pg_restore"));
      ::unlink(pg_dump_file.c_str());
    }
    HEARTH_ASSIGN_OR_RETURN(auto store,
                            OpenStore(pg_target ? o.database : PathsFor(staging).sqlite_db));
    HEARTH_ASSIGN_OR_RETURN(std::string integrity, store->checkIntegrity());
    if (integrity != "ok") {
      return DataLossError("the restored database fails its integrity check: " + integrity);
    }
    HEARTH_ASSIGN_OR_RETURN(summary.schema_version, store->schemaVersion());
    // The keys must load as `serve` will load them.
    HEARTH_RETURN_IF_ERROR(LoadServerKeys(staging).status().withContext("the restored state"));
    return OkStatus();
  }();
  ::close(fd);
  // An existing empty target (say, made by the package for its service user) keeps its owner.
  if (s.ok() && (target_uid != ::geteuid() || target_gid != ::getegid())) {
    std::vector<std::string> all = summary.files;
    all.push_back(kRestoredConfig);
    all.push_back(baseOf(PathsFor(staging).sqlite_db));
    for (const auto& n : all) {
      std::string path = staging + "/" + n;
      if (::lchown(path.c_str(), target_uid, target_gid) != 0 && errno != ENOENT) {
        s = ErrnoToStatus(errno, "hand " + n + " to the owner of " + target);
        break;
      }
    }
    if (s.ok() && ::chown(staging.c_str(), target_uid, target_gid) != 0) {
      s = ErrnoToStatus(errno, "hand " + staging + " to the owner of " + target);
    }
  }
  if (s.ok() && target_exists && ::rmdir(target.c_str()) != 0) {
    s = ErrnoToStatus(errno, "replace the empty directory " + target);
  }
  if (s.ok() && ::rename(staging.c_str(), target.c_str()) != 0) {
    s = ErrnoToStatus(errno, "rename " + staging + " to " + target);
    if (target_exists) ::mkdir(target.c_str(), 0700);
  }
  if (!s.ok()) {
    removeTree(staging);
    return s;
  }
  HEARTH_RETURN_IF_ERROR(PosixFileLayer().syncDir(parent));
  return summary;
}

StatusOr<std::vector<std::string>> ExtractBackupStateFiles(const std::string& in,
                                                           std::string_view passphrase,
                                                           const std::string& dir) {
  int fd = ::open(in.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return ErrnoToStatus(errno, "open the backup " + in);
  std::vector<std::string> files;
  Status s = [&]() -> Status {
    HEARTH_ASSIGN_OR_RETURN(auto reader, BackupReader::open(fd, passphrase));
    BackupReader& r = *reader;
    std::string name;
    uint32_t mode = 0;
    uint64_t size = 0;
    bool more = false;
    HEARTH_ASSIGN_OR_RETURN(json::Value manifest, readManifest(r));
    const json::Value* kind = manifest.find("database");
    if (kind->asString() != "postgresql") {
      return InvalidArgumentError(
          "it is a backup of a server on " +
          (kind->asString() == "sqlite" ? std::string("SQLite") : kind->asString()) +
          ", not of a server of a cluster on PostgreSQL: its keys are not the cluster's");
    }
    std::string buf(kIo, '\0');
    while (true) {
      HEARTH_ASSIGN_OR_RETURN(more, readEntryHead(r, name, mode, size));
      if (!more) break;
      if (name.starts_with("state/") && safeName(name.substr(6)) &&
          !name.substr(6).starts_with("hearth.db")) {
        mode_t file_mode = (mode & 0644) != 0 ? (mode & 0644) : 0600;
        HEARTH_RETURN_IF_ERROR(extract(r, dir + "/" + name.substr(6), file_mode, size));
        files.push_back(name.substr(6));
        continue;
      }
      // The database and the configuration: read (authenticated) and let go.
      while (size > 0) {
        HEARTH_ASSIGN_OR_RETURN(size_t n, r.read(buf.data(), std::min<uint64_t>(size, buf.size())));
        if (n == 0) return DataLossError("the backup ends inside " + name);
        size -= n;
      }
    }
    char extra;
    HEARTH_ASSIGN_OR_RETURN(size_t n, r.read(&extra, 1));
    if (n != 0) return DataLossError("the backup has data after its end marker");
    if (files.empty()) return DataLossError("the backup holds no state directory files");
    return OkStatus();
  }();
  ::close(fd);
  if (!s.ok()) return s.withContext("the backup " + in);
  return files;
}

}  // namespace hearth::server
