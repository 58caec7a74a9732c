// Opening a Store: which backend a database URI names, and a PostgreSQL URI turned into the
// libpq keyword string that Poco's connector takes.
#include <cerrno>
#include <memory>
#include <mutex>
#include <string>
#include <string_view>
#include <sys/stat.h>

#include <Poco/Data/PostgreSQL/Connector.h>
#include <Poco/Data/SQLite/Connector.h>

#include "hearth/server/store.h"
#include "sql_store.h"

namespace hearth::server {

namespace {

std::once_flag g_register;

StatusOr<std::string> percentDecode(std::string_view s) {
  std::string out;
  for (size_t i = 0; i < s.size(); ++i) {
    if (s[i] != '%') {
      out += s[i];
      continue;
    }
    auto hex = [](char c) -> int {
      if (c >= '0' && c <= '9') return c - '0';
      if (c >= 'a' && c <= 'f') return c - 'a' + 10;
      if (c >= 'A' && c <= 'F') return c - 'A' + 10;
      return -1;
    };
    if (i + 2 >= s.size() || hex(s[i + 1]) < 0 || hex(s[i + 2]) < 0) {
      return InvalidArgumentError("bad percent-encoding in database URI");
    }
    out += static_cast<char>(hex(s[i + 1]) * 16 + hex(s[i + 2]));
    i += 2;
  }
  return out;
}

void addKeyword(std::string& out, const std::string& key, const std::string& value) {
  if (!out.empty()) out += ' ';
  out += key + "='";
  for (char c : value) {
    if (c == '\\' || c == '\'') out += '\\';
    out += c;
  }
  out += '\'';
}

// `path` as an SQLite URI that opens it read-only.
std::string readOnlyUri(const std::string& path) {
  std::string out = "file:";
  for (char c : path) {
    if (c == '%' || c == '?' || c == '#') {
      static constexpr char kHex[] = "0123456789ABCDEF";
      out += '%';
      out += kHex[(static_cast<unsigned char>(c) >> 4) & 0xF];
      out += kHex[static_cast<unsigned char>(c) & 0xF];
    } else {
      out += c;
    }
  }
  return out + "?mode=ro";
}

}  // namespace

StatusOr<std::string> PostgresUriToConninfo(const std::string& uri) {
  size_t scheme = uri.find("://");
  if (scheme == std::string::npos) {
    size_t colon = uri.find(':');
    return colon == std::string::npos ? uri : uri.substr(colon + 1);
  }
  std::string_view rest(uri);
  rest.remove_prefix(scheme + 3);
  std::string out;
  std::string_view query;
  if (size_t q = rest.find('?'); q != std::string_view::npos) {
    query = rest.substr(q + 1);
    rest = rest.substr(0, q);
  }
  std::string_view dbname;
  if (size_t slash = rest.find('/'); slash != std::string_view::npos) {
    dbname = rest.substr(slash + 1);
    rest = rest.substr(0, slash);
  }
  if (size_t at = rest.rfind('@'); at != std::string_view::npos) {
    std::string_view userinfo = rest.substr(0, at);
    rest = rest.substr(at + 1);
    std::string_view password;
    if (size_t c = userinfo.find(':'); c != std::string_view::npos) {
      password = userinfo.substr(c + 1);
      userinfo = userinfo.substr(0, c);
    }
    HEARTH_ASSIGN_OR_RETURN(std::string user, percentDecode(userinfo));
    if (!user.empty()) addKeyword(out, "user", user);
    if (!password.empty()) {
      HEARTH_ASSIGN_OR_RETURN(std::string pw, percentDecode(password));
      addKeyword(out, "password", pw);
    }
  }
  // One host or a list for libpq to try in turn (`db1:5432,db2:5432`, the primary and its
  // standbys with target_session_attrs=read-write): host and port as libpq's comma lists, an
  // empty port being the default one.
  std::string hosts, ports;
  bool any_port = false;
  size_t count = 0;
  while (true) {
    size_t comma = rest.find(',');
    std::string_view host = rest.substr(0, comma), port;
    if (!host.empty() && host.front() == '[') {  // [::1]:5432
      size_t close = host.find(']');
      if (close == std::string_view::npos) return InvalidArgumentError("bad IPv6 host in URI");
      if (close + 1 < host.size() && host[close + 1] != ':') {
        return InvalidArgumentError("bad IPv6 host in URI: expected [ADDRESS] or [ADDRESS]:PORT");
      }
      port = close + 1 < host.size() ? host.substr(close + 2) : "";
      host = host.substr(1, close - 1);
    } else if (size_t c = host.rfind(':'); c != std::string_view::npos) {
      port = host.substr(c + 1);
      host = host.substr(0, c);
    }
    for (char ch : port) {
      if (ch < '0' || ch > '9') return InvalidArgumentError("bad port in database URI");
    }
    HEARTH_ASSIGN_OR_RETURN(std::string h, percentDecode(host));
    if (h.find(',') != std::string::npos) return InvalidArgumentError("bad host in database URI");
    if (h.empty() && (count > 0 || comma != std::string_view::npos)) {
      return InvalidArgumentError("empty host in the database URI's host list");
    }
    hosts += (count == 0 ? "" : ",") + h;
    ports += (count == 0 ? "" : ",") + std::string(port);
    any_port = any_port || !port.empty();
    ++count;
    if (comma == std::string_view::npos) break;
    rest.remove_prefix(comma + 1);
  }
  if (!hosts.empty()) addKeyword(out, "host", hosts);
  if (any_port) addKeyword(out, "port", ports);
  if (!dbname.empty()) {
    HEARTH_ASSIGN_OR_RETURN(std::string db, percentDecode(dbname));
    addKeyword(out, "dbname", db);
  }
  while (!query.empty()) {
    size_t amp = query.find('&');
    std::string_view kv = query.substr(0, amp);
    query = amp == std::string_view::npos ? std::string_view() : query.substr(amp + 1);
    size_t eq = kv.find('=');
    if (eq == std::string_view::npos) return InvalidArgumentError("bad query parameter in URI");
    HEARTH_ASSIGN_OR_RETURN(std::string k, percentDecode(kv.substr(0, eq)));
    HEARTH_ASSIGN_OR_RETURN(std::string v, percentDecode(kv.substr(eq + 1)));
    addKeyword(out, k, v);
  }
  if (out.find("connect_timeout=") == std::string::npos) addKeyword(out, "connect_timeout", "10");
  return out;
}

Status CheckDatabaseFile(const std::string& path) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) {
    if (errno != ENOENT) return ErrnoToStatus(errno, "database " + path);
    return FailedPreconditionError(
        "the database " + path +
        " does not exist: is --state-dir right? Create a server with `hearth-server init`, or "
        "restore one from a backup with `hearth-server restore`");
  }
  if (S_ISREG(st.st_mode) && st.st_size == 0) {
    return FailedPreconditionError(
        "the database " + path +
        " is empty (0 bytes) and holds no Hearth data (a failed copy? a full disk?): restore it "
        "from a backup with `hearth-server restore`, or create a new server with "
        "`hearth-server init` (after moving this file away)");
  }
  return OkStatus();
}

StatusOr<std::unique_ptr<Store>> OpenStore(const std::string& uri, OpenMode mode) {
  std::call_once(g_register, [] {
    Poco::Data::SQLite::Connector::registerConnector();
    Poco::Data::PostgreSQL::Connector::registerConnector();
  });
  std::unique_ptr<sql::SqlStore> store;
  if (uri.starts_with("postgresql:") || uri.starts_with("postgres:")) {
    HEARTH_ASSIGN_OR_RETURN(std::string conninfo, PostgresUriToConninfo(uri));
    store = std::make_unique<sql::SqlStore>(sql::Dialect::kPostgres, "PostgreSQL", conninfo);
  } else {
    if (uri.empty()) return InvalidArgumentError("empty database path");
    if (mode != OpenMode::kCreate) HEARTH_RETURN_IF_ERROR(CheckDatabaseFile(uri));
    store = std::make_unique<sql::SqlStore>(sql::Dialect::kSqlite, "SQLite",
                                            mode == OpenMode::kReadOnly ? readOnlyUri(uri) : uri);
  }
  HEARTH_RETURN_IF_ERROR(mode == OpenMode::kReadOnly ? store->openReadOnly() : store->open());
  return std::unique_ptr<Store>(std::move(store));
}

}  // namespace hearth::server
