// LiveSystemView on Windows: this machine, as the calling process (the service: LocalSystem; a
// person running `check`: themselves). Files through the W APIs (paths in UTF-8, either slash),
// the registry (RegGetValueW; HKCU is the caller's own hive), WMI and the Windows Update Agent
// through COM (an offline search of the local cache), the active power scheme, GetBestRoute2.
// What Windows (or Wine) does not implement comes back as an error with the code, never as an
// empty answer: "0 volumes" or "no route" must not be read as facts (docs/windows-build.md).
#define INITGUID
#include <winsock2.h>
#include <ws2tcpip.h>

#include <windows.h>

#include <iphlpapi.h>
#include <netioapi.h>
#include <oleauto.h>
#include <powrprof.h>
#include <wbemcli.h>
#include <wuapi.h>

#include <algorithm>
#include <chrono>
#include <cstring>
#include <mutex>

// objbase.h (through wbemcli.h and wuapi.h) defines `interface` as `struct`, and RouteInfo has a
// member of that name.
#undef interface

#include "hearth/files.h"
#include "hearth/system_view.h"
#include "hearth/windows_text.h"

namespace hearth {

namespace {

using windows::HresultStatus;
using windows::Narrow;
using windows::Widen;
using windows::Win32ErrorStatus;

// Releases a COM interface pointer when it goes out of scope.
template <typename T>
class ComPtr {
 public:
  ComPtr() = default;
  ~ComPtr() {
    if (p_ != nullptr) p_->Release();
  }
  ComPtr(const ComPtr&) = delete;
  ComPtr& operator=(const ComPtr&) = delete;
  T* operator->() const { return p_; }
  T* get() const { return p_; }
  T** out() { return &p_; }
  void** outVoid() { return reinterpret_cast<void**>(&p_); }

 private:
  T* p_ = nullptr;
};

class Bstr {
 public:
  explicit Bstr(const std::string& s) : b_(::SysAllocString(Widen(s).c_str())) {}
  Bstr() = default;
  ~Bstr() { ::SysFreeString(b_); }
  Bstr(const Bstr&) = delete;
  Bstr& operator=(const Bstr&) = delete;
  BSTR get() const { return b_; }
  BSTR* out() { return &b_; }
  std::string text() const { return b_ == nullptr ? "" : Narrow(std::wstring_view(b_)); }

 private:
  BSTR b_ = nullptr;
};

// COM for the calling thread, for the lifetime of the object.
class ComScope {
 public:
  ComScope() {
    hr_ = ::CoInitializeEx(nullptr, COINIT_MULTITHREADED);
    static std::once_flag security;
    std::call_once(security, [] {
      // Fails harmlessly (RPC_E_TOO_LATE) when the process set it already.
      ::CoInitializeSecurity(nullptr, -1, nullptr, nullptr, RPC_C_AUTHN_LEVEL_DEFAULT,
                             RPC_C_IMP_LEVEL_IMPERSONATE, nullptr, EOAC_NONE, nullptr);
    });
  }
  ~ComScope() {
    if (SUCCEEDED(hr_)) ::CoUninitialize();
  }
  ComScope(const ComScope&) = delete;
  ComScope& operator=(const ComScope&) = delete;
  // RPC_E_CHANGED_MODE: the thread has COM already (apartment threaded), usable as it is.
  bool ok() const { return SUCCEEDED(hr_) || hr_ == RPC_E_CHANGED_MODE; }
  HRESULT hr() const { return hr_; }

 private:
  HRESULT hr_;
};

std::string variantText(VARIANT& v) {
  if (v.vt == VT_NULL || v.vt == VT_EMPTY) return "";
  if (v.vt == VT_BOOL) return v.boolVal == VARIANT_FALSE ? "false" : "true";
  if (v.vt == VT_BSTR) return v.bstrVal == nullptr ? "" : Narrow(std::wstring_view(v.bstrVal));
  VARIANT text;
  ::VariantInit(&text);
  std::string out;
  if (SUCCEEDED(::VariantChangeType(&text, &v, 0, VT_BSTR)) && text.bstrVal != nullptr) {
    out = Narrow(std::wstring_view(text.bstrVal));
  }
  ::VariantClear(&text);
  return out;
}

// Reads property `name` of `object` through IDispatch into `out` (which the caller clears).
HRESULT getProperty(IDispatch* object, const wchar_t* name, VARIANT* out) {
  DISPID id = 0;
  LPOLESTR names[] = {const_cast<LPOLESTR>(name)};
  const IID reserved{};  // IID_NULL, which IDispatch requires here
  HRESULT hr = object->GetIDsOfNames(reserved, names, 1, LOCALE_USER_DEFAULT, &id);
  if (FAILED(hr)) return hr;
  DISPPARAMS none{nullptr, nullptr, 0, 0};
  return object->Invoke(id, reserved, LOCALE_USER_DEFAULT, DISPATCH_PROPERTYGET, &none, out,
                        nullptr, nullptr);
}

HKEY rootKey(RegistryRoot root) {
  switch (root) {
    case RegistryRoot::kLocalMachine:
      return HKEY_LOCAL_MACHINE;
    case RegistryRoot::kUsers:
      return HKEY_USERS;
    case RegistryRoot::kCurrentUser:
      return HKEY_CURRENT_USER;
  }
  return HKEY_LOCAL_MACHINE;
}

std::chrono::system_clock::time_point fromFileTime(const FILETIME& ft) {
  // 100 ns ticks since 1601-01-01.
  const uint64_t ticks = (static_cast<uint64_t>(ft.dwHighDateTime) << 32) | ft.dwLowDateTime;
  const int64_t unix_100ns = static_cast<int64_t>(ticks) - 116444736000000000LL;
  return std::chrono::system_clock::time_point(
      std::chrono::duration_cast<std::chrono::system_clock::duration>(
          std::chrono::nanoseconds(unix_100ns * 100)));
}

class LiveSystemView final : public SystemView {
 public:
  explicit LiveSystemView(LiveOptions options) : options_(std::move(options)) {}

  StatusOr<std::string> readFile(const std::string& path, size_t limit,
                                 bool truncate_ok) const override {
    return ReadFileBounded(path, limit, {.truncate = truncate_ok});
  }

  // No other identities on Windows: the caller's own rights.
  StatusOr<std::string> readFileAs(const UserIdentity& /*user*/, const std::string& path,
                                   size_t limit) const override {
    return readFile(path, limit, false);
  }

  StatusOr<std::vector<std::string>> listDir(const std::string& path) const override {
    WIN32_FIND_DATAW data{};
    HANDLE h = ::FindFirstFileW(Widen(path + "/*").c_str(), &data);
    if (h == INVALID_HANDLE_VALUE) {
      return Win32ErrorStatus(::GetLastError(), "open directory " + path);
    }
    std::vector<std::string> names;
    do {
      std::string n = Narrow(data.cFileName);
      if (n != "." && n != "..") names.push_back(std::move(n));
    } while (::FindNextFileW(h, &data));
    ::FindClose(h);
    std::sort(names.begin(), names.end());
    return names;
  }

  StatusOr<std::string> readLink(const std::string& path) const override {
    return UnavailableError("readlink " + path + ": links are not read on Windows");
  }

  StatusOr<FileInfo> stat(const std::string& path, bool /*follow*/) const override {
    WIN32_FILE_ATTRIBUTE_DATA data{};
    if (!::GetFileAttributesExW(Widen(path).c_str(), GetFileExInfoStandard, &data)) {
      return Win32ErrorStatus(::GetLastError(), "stat " + path);
    }
    FileInfo info;
    if ((data.dwFileAttributes & FILE_ATTRIBUTE_REPARSE_POINT) != 0) {
      info.type = FileType::kSymlink;
    } else if ((data.dwFileAttributes & FILE_ATTRIBUTE_DIRECTORY) != 0) {
      info.type = FileType::kDirectory;
    } else {
      info.type = FileType::kRegular;
    }
    info.size = (static_cast<uint64_t>(data.nFileSizeHigh) << 32) | data.nFileSizeLow;
    info.mtime = fromFileTime(data.ftLastWriteTime);
    info.encryption_attr_known = true;
    info.encrypted = (data.dwFileAttributes & FILE_ATTRIBUTE_ENCRYPTED) != 0;
    return info;
  }

  StatusOr<CommandResult> run(const Command& command) const override {
    if (options_.command_env.empty()) return RunCommand(command);
    Command c = command;
    for (const auto& [k, v] : options_.command_env) c.env.emplace(k, v);
    return RunCommand(c);
  }

  // GetBestRoute2 and the chosen interface (GetIfEntry2). Wine 8 answers ERROR_NOT_SUPPORTED:
  // that is an error here, never a guess from the older APIs (whose table Wine makes up).
  StatusOr<RouteInfo> routeTo(const IpAddress& destination) const override {
    SOCKADDR_INET dest{};
    if (destination.family == AF_INET) {
      dest.si_family = AF_INET;
      std::memcpy(&dest.Ipv4.sin_addr, destination.bytes.data(), 4);
    } else if (destination.family == AF_INET6) {
      dest.si_family = AF_INET6;
      std::memcpy(&dest.Ipv6.sin6_addr, destination.bytes.data(), 16);
    } else {
      return InvalidArgumentError("route lookup: not an IP address");
    }
    MIB_IPFORWARD_ROW2 row{};
    SOCKADDR_INET source{};
    const std::string what = "GetBestRoute2(" + destination.toString() + ")";
    NETIO_STATUS rc = ::GetBestRoute2(nullptr, 0, nullptr, &dest, 0, &row, &source);
    if (rc != NO_ERROR) return Win32ErrorStatus(rc, what);
    RouteInfo info;
    info.destination = destination.toString();
    info.type = "unicast";
    info.interface_index = static_cast<int>(row.InterfaceIndex);
    char buf[INET6_ADDRSTRLEN] = {};
    const SOCKADDR_INET& hop = row.NextHop;
    if (hop.si_family == AF_INET && hop.Ipv4.sin_addr.s_addr != 0) {
      ::inet_ntop(AF_INET, &hop.Ipv4.sin_addr, buf, sizeof buf);
      info.gateway = buf;
    } else if (hop.si_family == AF_INET6 && !IN6_IS_ADDR_UNSPECIFIED(&hop.Ipv6.sin6_addr)) {
      ::inet_ntop(AF_INET6, &hop.Ipv6.sin6_addr, buf, sizeof buf);
      info.gateway = buf;
    }
    const IP_ADDRESS_PREFIX& prefix = row.DestinationPrefix;
    if (prefix.PrefixLength == 0) {
      info.matched_prefix = "default";
    } else if (prefix.Prefix.si_family == AF_INET) {
      ::inet_ntop(AF_INET, &prefix.Prefix.Ipv4.sin_addr, buf, sizeof buf);
      info.matched_prefix = std::string(buf) + "/" + std::to_string(prefix.PrefixLength);
    } else {
      ::inet_ntop(AF_INET6, &prefix.Prefix.Ipv6.sin6_addr, buf, sizeof buf);
      info.matched_prefix = std::string(buf) + "/" + std::to_string(prefix.PrefixLength);
    }
    MIB_IF_ROW2 ifrow{};
    ifrow.InterfaceLuid = row.InterfaceLuid;
    rc = ::GetIfEntry2(&ifrow);
    if (rc != NO_ERROR) return Win32ErrorStatus(rc, "GetIfEntry2 for " + what);
    info.interface = Narrow(ifrow.Alias);
    info.interface_description = Narrow(ifrow.Description);
    info.interface_type = static_cast<uint32_t>(ifrow.Type);
    info.interface_up = ifrow.OperStatus == IfOperStatusUp;
    return info;
  }

  std::chrono::system_clock::time_point now() const override {
    return std::chrono::system_clock::now();
  }

  StatusOr<RegistryValue> readRegistry(RegistryRoot root, const std::string& key,
                                       const std::string& name) const override {
    const std::string what = std::string(registryRootName(root)) + "\\" + key + " " + name;
    const std::wstring wkey = Widen(key), wname = Widen(name);
    DWORD type = 0, size = 0;
    LSTATUS rc = ::RegGetValueW(rootKey(root), wkey.c_str(), wname.c_str(),
                                RRF_RT_ANY | RRF_NOEXPAND, &type, nullptr, &size);
    if (rc != ERROR_SUCCESS) return Win32ErrorStatus(static_cast<unsigned long>(rc), what);
    if (size > 64 * 1024) return ResourceExhaustedError(what + ": value larger than 64 KiB");
    std::string data(size + 2, '\0');
    rc = ::RegGetValueW(rootKey(root), wkey.c_str(), wname.c_str(), RRF_RT_ANY | RRF_NOEXPAND,
                        &type, data.data(), &size);
    if (rc != ERROR_SUCCESS) return Win32ErrorStatus(static_cast<unsigned long>(rc), what);
    RegistryValue v;
    if (type == REG_DWORD && size >= 4) {
      uint32_t n = 0;
      std::memcpy(&n, data.data(), 4);
      v.type = RegistryValue::Type::kNumber;
      v.number = n;
    } else if (type == REG_QWORD && size >= 8) {
      std::memcpy(&v.number, data.data(), 8);
      v.type = RegistryValue::Type::kNumber;
    } else if (type == REG_SZ || type == REG_EXPAND_SZ) {
      std::wstring w(size / sizeof(wchar_t), L'\0');
      std::memcpy(w.data(), data.data(), w.size() * sizeof(wchar_t));
      while (!w.empty() && w.back() == L'\0') w.pop_back();
      v.type = RegistryValue::Type::kText;
      v.text = Narrow(w);
    }
    return v;
  }

  StatusOr<std::vector<std::string>> listRegistrySubkeys(RegistryRoot root,
                                                         const std::string& key) const override {
    const std::string what = std::string(registryRootName(root)) + "\\" + key;
    HKEY h = nullptr;
    LSTATUS rc = ::RegOpenKeyExW(rootKey(root), Widen(key).c_str(), 0, KEY_ENUMERATE_SUB_KEYS, &h);
    if (rc != ERROR_SUCCESS) return Win32ErrorStatus(static_cast<unsigned long>(rc), what);
    std::vector<std::string> names;
    Status failed;
    for (DWORD i = 0;; ++i) {
      wchar_t name[256];  // a key name is at most 255 characters
      DWORD len = 256;
      rc = ::RegEnumKeyExW(h, i, name, &len, nullptr, nullptr, nullptr, nullptr);
      if (rc == ERROR_NO_MORE_ITEMS) break;
      if (rc != ERROR_SUCCESS) {
        failed = Win32ErrorStatus(static_cast<unsigned long>(rc), what + " (listing subkeys)");
        break;
      }
      if (names.size() >= 10000) {
        failed = ResourceExhaustedError(what + ": more than 10000 subkeys");
        break;
      }
      names.push_back(Narrow(std::wstring_view(name, len)));
    }
    ::RegCloseKey(h);
    if (!failed.ok()) return failed;
    std::sort(names.begin(), names.end());
    return names;
  }

  // IAutomaticUpdates2::Results through IDispatch (by name): mingw's wuapi.h does not declare
  // IAutomaticUpdates2 or IAutomaticUpdatesResults, and late binding needs neither.
  StatusOr<WindowsUpdateHistory> windowsUpdateHistory() const override {
    ComScope com;
    if (!com.ok()) return HresultStatus(com.hr(), "COM");
    ComPtr<IDispatch> au;
    HRESULT hr = ::CoCreateInstance(CLSID_AutomaticUpdates, nullptr, CLSCTX_INPROC_SERVER,
                                    IID_IDispatch, au.outVoid());
    if (FAILED(hr)) return HresultStatus(hr, "Windows Update automatic updates object");
    VARIANT results;
    ::VariantInit(&results);
    hr = getProperty(au.get(), L"Results", &results);
    if (FAILED(hr)) return HresultStatus(hr, "Windows Update results (IAutomaticUpdates2)");
    if (results.vt != VT_DISPATCH || results.pdispVal == nullptr) {
      ::VariantClear(&results);
      return UnavailableError("Windows Update gave no results object");
    }
    WindowsUpdateHistory history;
    const std::pair<const wchar_t*, std::optional<std::chrono::system_clock::time_point>*>
        fields[] = {{L"LastSearchSuccessDate", &history.last_search_success},
                    {L"LastInstallationSuccessDate", &history.last_installation_success}};
    for (const auto& [name, out] : fields) {
      VARIANT v;
      ::VariantInit(&v);
      hr = getProperty(results.pdispVal, name, &v);
      if (FAILED(hr)) {
        ::VariantClear(&results);
        return HresultStatus(hr, "Windows Update results: " + Narrow(std::wstring_view(name)));
      }
      SYSTEMTIME st{};
      FILETIME ft{};
      // VT_EMPTY: never (the documented answer when there was no such success).
      if (v.vt == VT_DATE && ::VariantTimeToSystemTime(v.date, &st) &&
          ::SystemTimeToFileTime(&st, &ft)) {
        *out = fromFileTime(ft);
      }
      ::VariantClear(&v);
    }
    ::VariantClear(&results);
    return history;
  }

  StatusOr<std::vector<WmiRow>> queryWmi(
      const std::string& wmi_namespace, const std::string& query,
      const std::vector<std::string>& properties) const override {
    ComScope com;
    if (!com.ok()) return HresultStatus(com.hr(), "COM");
    ComPtr<IWbemLocator> locator;
    HRESULT hr = ::CoCreateInstance(CLSID_WbemLocator, nullptr, CLSCTX_INPROC_SERVER,
                                    IID_IWbemLocator, locator.outVoid());
    if (FAILED(hr)) return HresultStatus(hr, "WMI locator");
    ComPtr<IWbemServices> services;
    Bstr ns(wmi_namespace);
    hr = locator->ConnectServer(ns.get(), nullptr, nullptr, nullptr, 0, nullptr, nullptr,
                                services.out());
    if (FAILED(hr)) return HresultStatus(hr, "WMI namespace " + wmi_namespace);
    ComPtr<IEnumWbemClassObject> rows;
    Bstr language("WQL"), wql(query);
    hr = services->ExecQuery(language.get(), wql.get(),
                             WBEM_FLAG_FORWARD_ONLY | WBEM_FLAG_RETURN_IMMEDIATELY, nullptr,
                             rows.out());
    if (FAILED(hr)) return HresultStatus(hr, "WMI query " + query);
    std::vector<WmiRow> out;
    while (true) {
      ComPtr<IWbemClassObject> row;
      ULONG got = 0;
      hr = rows->Next(30000, 1, row.out(), &got);
      if (hr == WBEM_S_TIMEDOUT) return DeadlineExceededError("WMI query " + query + " timed out");
      if (FAILED(hr)) return HresultStatus(hr, "WMI query " + query);
      if (got == 0) break;
      WmiRow r;
      for (const auto& p : properties) {
        VARIANT v;
        ::VariantInit(&v);
        if (SUCCEEDED(row->Get(Widen(p).c_str(), 0, &v, nullptr, nullptr))) r[p] = variantText(v);
        ::VariantClear(&v);
      }
      out.push_back(std::move(r));
      if (out.size() > 4096)
        return ResourceExhaustedError("WMI query " + query + ": too many rows");
    }
    return out;
  }

  StatusOr<std::vector<WindowsUpdate>> searchWindowsUpdates(
      const std::string& criteria) const override {
    ComScope com;
    if (!com.ok()) return HresultStatus(com.hr(), "COM");
    ComPtr<IUpdateSession> session;
    HRESULT hr = ::CoCreateInstance(CLSID_UpdateSession, nullptr, CLSCTX_INPROC_SERVER,
                                    IID_IUpdateSession, session.outVoid());
    if (FAILED(hr)) return HresultStatus(hr, "Windows Update session");
    ComPtr<IUpdateSearcher> searcher;
    hr = session->CreateUpdateSearcher(searcher.out());
    if (FAILED(hr)) return HresultStatus(hr, "Windows Update searcher");
    searcher->put_Online(VARIANT_FALSE);  // the local cache only: no download, no network
    ComPtr<ISearchResult> result;
    Bstr bcriteria(criteria);
    hr = searcher->Search(bcriteria.get(), result.out());
    if (FAILED(hr)) return HresultStatus(hr, "Windows Update search (" + criteria + ")");
    ComPtr<IUpdateCollection> updates;
    hr = result->get_Updates(updates.out());
    if (FAILED(hr)) return HresultStatus(hr, "Windows Update results");
    LONG count = 0;
    updates->get_Count(&count);
    std::vector<WindowsUpdate> out;
    for (LONG i = 0; i < count; ++i) {
      ComPtr<IUpdate> u;
      if (FAILED(updates->get_Item(i, u.out()))) continue;
      WindowsUpdate w;
      Bstr title, severity;
      if (SUCCEEDED(u->get_Title(title.out()))) w.title = title.text();
      if (SUCCEEDED(u->get_MsrcSeverity(severity.out()))) w.msrc_severity = severity.text();
      ComPtr<IUpdateIdentity> identity;
      if (SUCCEEDED(u->get_Identity(identity.out()))) {
        Bstr id;
        if (SUCCEEDED(identity->get_UpdateID(id.out()))) w.update_id = id.text();
      }
      ComPtr<IStringCollection> kbs;
      if (SUCCEEDED(u->get_KBArticleIDs(kbs.out()))) {
        LONG n = 0;
        kbs->get_Count(&n);
        for (LONG k = 0; k < n; ++k) {
          Bstr kb;
          if (SUCCEEDED(kbs->get_Item(k, kb.out()))) w.kb_ids.push_back(kb.text());
        }
      }
      ComPtr<ICategoryCollection> categories;
      if (SUCCEEDED(u->get_Categories(categories.out()))) {
        LONG n = 0;
        categories->get_Count(&n);
        for (LONG k = 0; k < n; ++k) {
          ComPtr<ICategory> c;
          Bstr name;
          if (SUCCEEDED(categories->get_Item(k, c.out())) && SUCCEEDED(c->get_Name(name.out()))) {
            w.categories.push_back(name.text());
          }
        }
      }
      DATE changed = 0;
      SYSTEMTIME st{};
      FILETIME ft{};
      if (SUCCEEDED(u->get_LastDeploymentChangeTime(&changed)) &&
          ::VariantTimeToSystemTime(changed, &st) && ::SystemTimeToFileTime(&st, &ft)) {
        w.last_deployment_change = fromFileTime(ft);
      }
      out.push_back(std::move(w));
    }
    return out;
  }

  // Wine 8: PowerGetActiveScheme is ERROR_CALL_NOT_IMPLEMENTED (an error here).
  StatusOr<PowerSettings> powerSettings() const override {
    GUID* scheme = nullptr;
    DWORD rc = ::PowerGetActiveScheme(nullptr, &scheme);
    if (rc != ERROR_SUCCESS) return Win32ErrorStatus(rc, "PowerGetActiveScheme");
    PowerSettings p;
    DWORD value = 0;
    if (::PowerReadACValueIndex(nullptr, scheme, &GUID_VIDEO_SUBGROUP,
                                &GUID_VIDEO_POWERDOWN_TIMEOUT, &value) == ERROR_SUCCESS) {
      p.display_off_ac_seconds = value;
    }
    if (::PowerReadDCValueIndex(nullptr, scheme, &GUID_VIDEO_SUBGROUP,
                                &GUID_VIDEO_POWERDOWN_TIMEOUT, &value) == ERROR_SUCCESS) {
      p.display_off_dc_seconds = value;
    }
    if (::PowerReadACValueIndex(nullptr, scheme, &NO_SUBGROUP_GUID, &GUID_LOCK_CONSOLE_ON_WAKE,
                                &value) == ERROR_SUCCESS) {
      p.lock_on_wake_ac = value != 0;
    }
    if (::PowerReadDCValueIndex(nullptr, scheme, &NO_SUBGROUP_GUID, &GUID_LOCK_CONSOLE_ON_WAKE,
                                &value) == ERROR_SUCCESS) {
      p.lock_on_wake_dc = value != 0;
    }
    ::LocalFree(scheme);
    return p;
  }

 private:
  LiveOptions options_;
};

}  // namespace

std::unique_ptr<SystemView> NewLiveSystemView(LiveOptions options) {
  return std::make_unique<LiveSystemView>(std::move(options));
}

StatusOr<std::unique_ptr<SystemView>> NewRootedSystemView(
    const std::string& /*root*/, std::optional<std::chrono::system_clock::time_point> /*now*/) {
  return UnavailableError("--root is not available on Windows yet");
}

}  // namespace hearth
