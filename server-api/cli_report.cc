// `hearth-server report compliance --from --to [--format csv|json] [--output FILE [--force]]`:
// the period report for auditors (hearth/server/report.h), the same bytes as GET
// /api/v1/compliance-report with an admin token.
//
// The report names devices and their owners: FILE is created readable by its owner only
// (mode 0600 from the start, whatever the umask), never through a symbolic link, and never over
// an existing path unless --force is given; then the report is written to a new file beside it
// and renamed over the path (which replaces a link, never what it points to).
#include <array>
#include <cerrno>
#include <chrono>
#include <cstring>
#include <fcntl.h>
#include <optional>
#include <ostream>
#include <streambuf>
#include <string>
#include <unistd.h>

#include "cli_commands.h"
#include "hearth/file_layer.h"
#include "hearth/files.h"
#include "hearth/server/report.h"

namespace hearth::server::cli {

namespace {

// A buffered output stream over a file descriptor it owns; bad() once a write fails.
class FdStreamBuf final : public std::streambuf {
 public:
  explicit FdStreamBuf(int fd) : fd_(fd) { setp(buf_.data(), buf_.data() + buf_.size()); }
  ~FdStreamBuf() override {
    if (fd_ >= 0) ::close(fd_);
  }
  FdStreamBuf(const FdStreamBuf&) = delete;
  FdStreamBuf& operator=(const FdStreamBuf&) = delete;

  // Flushes, syncs and closes: false when any write failed.
  bool finish() {
    bool ok = sync() == 0 && ::fsync(fd_) == 0;
    ok = ::close(fd_) == 0 && ok;
    fd_ = -1;
    return ok;
  }

 protected:
  int_type overflow(int_type ch) override {
    if (sync() != 0) return traits_type::eof();
    if (!traits_type::eq_int_type(ch, traits_type::eof())) {
      *pptr() = traits_type::to_char_type(ch);
      pbump(1);
    }
    return traits_type::not_eof(ch);
  }

  int sync() override {
    const char* p = pbase();
    while (p < pptr()) {
      ssize_t n = ::write(fd_, p, static_cast<size_t>(pptr() - p));
      if (n < 0 && errno == EINTR) continue;
      if (n <= 0) return -1;
      p += n;
    }
    setp(buf_.data(), buf_.data() + buf_.size());
    return 0;
  }

 private:
  int fd_;
  std::array<char, 1 << 16> buf_{};
};

// The file the report goes to: `path` itself (created, never replaced) or, with `force`, a new
// file beside it renamed over it once the report is whole.
class ReportFile {
 public:
  ReportFile(std::string path, bool force) : path_(std::move(path)), force_(force) {}
  ~ReportFile() {
    if (!written_.empty()) ::unlink(written_.c_str());  // not finished: nothing half-written stays
  }
  ReportFile(const ReportFile&) = delete;
  ReportFile& operator=(const ReportFile&) = delete;

  Status open() {
    int fd = -1;
    if (force_) {
      std::string temp = path_ + ".tmp-XXXXXX";
      fd = ::mkostemp(temp.data(), O_CLOEXEC);  // mode 0600, O_EXCL
      if (fd >= 0) written_ = temp;
    } else {
      fd = ::open(path_.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600);
      if (fd < 0 && errno == EEXIST) {
        return FailedPreconditionError(path_ +
                                       " already exists (give --force to replace it; a link "
                                       "there is replaced, not followed)");
      }
      if (fd >= 0) written_ = path_;
    }
    if (fd < 0) return UnavailableError("cannot create " + path_ + ": " + std::strerror(errno));
    buf_.emplace(fd);
    out_.rdbuf(&*buf_);
    return OkStatus();
  }

  std::ostream& stream() { return out_; }

  Status finish() {
    bool ok = out_.flush() && buf_->finish();
    if (ok && force_ && ::rename(written_.c_str(), path_.c_str()) != 0) ok = false;
    if (!ok) return UnavailableError("cannot write " + path_ + ": " + std::strerror(errno));
    written_.clear();
    // The file's name (created, or renamed over the old one) is durable only once its directory
    // is: without it a crash could leave the old report, or none, under the path.
    if (Status s = PosixFileLayer().syncDir(ParentDir(path_)); !s.ok()) {
      return UnavailableError("cannot make " + path_ + " durable: " + s.message());
    }
    return OkStatus();
  }

 private:
  std::string path_;
  bool force_;
  std::string written_;  // created by us and not finished yet
  std::optional<FdStreamBuf> buf_;
  std::ostream out_{nullptr};
};

}  // namespace

int CmdReport(const ParsedFlags& a, const ServerCliEnvironment& env, Store& store) {
  std::string sub = a.positional().size() > 1 ? a.positional()[1] : "";
  if (sub != "compliance" || a.positional().size() > 2) {
    env.err << "hearth-server: report needs \"compliance --from DATE --to DATE\" (see "
               "hearth-server --help)\n";
    return kExitUsage;
  }
  auto format = ParseReportFormat(a.get("--format", "csv"));
  if (!format.ok()) return Fail(env.err, format.status());
  auto period = ParseReportPeriod(a.get("--from"), a.get("--to"), std::chrono::system_clock::now());
  if (!period.ok()) return Fail(env.err, period.status());
  std::string path = a.get("--output");
  if (path.empty() && a.has("--force")) {
    env.err << "hearth-server: --force goes with --output FILE\n";
    return kExitUsage;
  }
  std::optional<ReportFile> file;
  if (!path.empty()) file.emplace(path, a.has("--force"));
  Status opened = OkStatus();
  ReportOptions options;
  options.admin_actions = true;  // the command line runs as the server's own user
  Status s = WriteComplianceReport(
      store, *period, *format,
      [&]() -> std::ostream& {
        if (!file) return env.out;
        opened = file->open();
        return file->stream();
      },
      nullptr, options);
  if (!opened.ok()) return Fail(env.err, opened);
  if (s.ok() && file) s = file->finish();
  if (!s.ok()) return Fail(env.err, s);
  if (file) env.err << "compliance report written to " << path << "\n";
  return kExitOk;
}

}  // namespace hearth::server::cli
