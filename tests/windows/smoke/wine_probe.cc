// What does Wine implement of the Windows APIs the Windows agent will need (issue 17)?
// Not a test of Hearth: each subcommand calls one API the way the agent would and prints what
// came back, so tests/windows/smoke/wine-probes can record the facts in docs/windows-build.md.
// Nothing here sends a packet: route lookups only ask the routing table.
#define INITGUID
// Windows headers in the order they need (winsock2.h before windows.h), which sorting breaks.
// clang-format off
#include <winsock2.h>
#include <ws2tcpip.h>
#include <windows.h>
#include <aclapi.h>
#include <iphlpapi.h>
#include <knownfolders.h>
#include <netioapi.h>
#include <powrprof.h>
#include <psapi.h>
#include <roapi.h>
#include <sddl.h>
#include <shlobj.h>
#include <wbemcli.h>
#include <winstring.h>
#include <wtsapi32.h>
#include <wuapi.h>
// clang-format on

#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <cwchar>
#include <string>
#include <vector>

namespace {

std::wstring Widen(const char* text) {
  const int size = MultiByteToWideChar(CP_UTF8, 0, text, -1, nullptr, 0);
  std::wstring out(static_cast<size_t>(size > 0 ? size : 1), L'\0');
  MultiByteToWideChar(CP_UTF8, 0, text, -1, out.data(), size);
  out.resize(wcslen(out.c_str()));
  return out;
}

std::string Narrow(const wchar_t* text) {
  const int size = WideCharToMultiByte(CP_UTF8, 0, text, -1, nullptr, 0, nullptr, nullptr);
  std::string out(static_cast<size_t>(size > 0 ? size : 1), '\0');
  WideCharToMultiByte(CP_UTF8, 0, text, -1, out.data(), size, nullptr, nullptr);
  out.resize(std::strlen(out.c_str()));
  return out;
}

std::string TokenUserSid(HANDLE token) {
  unsigned char buffer[256];
  DWORD size = 0;
  if (!GetTokenInformation(token, TokenUser, buffer, sizeof buffer, &size)) return "?";
  LPWSTR sid = nullptr;
  if (!ConvertSidToStringSidW(reinterpret_cast<TOKEN_USER*>(buffer)->User.Sid, &sid)) return "?";
  std::string out = Narrow(sid);
  LocalFree(sid);
  return out;
}

std::string SelfSid() {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return "?";
  std::string sid = TokenUserSid(token);
  CloseHandle(token);
  return sid;
}

int Token() {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY | TOKEN_DUPLICATE | TOKEN_ASSIGN_PRIMARY,
                        &token)) {
    return 1;
  }
  TOKEN_ELEVATION elevation{};
  DWORD size = 0;
  GetTokenInformation(token, TokenElevation, &elevation, sizeof elevation, &size);
  std::printf("token: user %s elevated %lu\n", TokenUserSid(token).c_str(),
              static_cast<unsigned long>(elevation.TokenIsElevated));
  HANDLE restricted = nullptr;
  const BOOL ok = CreateRestrictedToken(token, DISABLE_MAX_PRIVILEGE | LUA_TOKEN, 0, nullptr, 0,
                                        nullptr, 0, nullptr, &restricted);
  std::printf("restricted-token: CreateRestrictedToken %s (error %lu)\n", ok ? "ok" : "failed",
              ok ? 0ul : static_cast<unsigned long>(GetLastError()));
  if (ok) {
    // A child under the restricted token: what does it see of itself?
    wchar_t self[MAX_PATH];
    GetModuleFileNameW(nullptr, self, MAX_PATH);
    std::wstring command = L"\"" + std::wstring(self) + L"\" token-child";
    STARTUPINFOW startup{};
    startup.cb = sizeof startup;
    PROCESS_INFORMATION child{};
    const BOOL started = CreateProcessAsUserW(restricted, nullptr, command.data(), nullptr, nullptr,
                                              FALSE, 0, nullptr, nullptr, &startup, &child);
    std::printf("restricted-token: CreateProcessAsUser %s (error %lu)\n", started ? "ok" : "failed",
                started ? 0ul : static_cast<unsigned long>(GetLastError()));
    if (started) {
      WaitForSingleObject(child.hProcess, 10000);
      CloseHandle(child.hThread);
      CloseHandle(child.hProcess);
    }
    CloseHandle(restricted);
  }
  CloseHandle(token);
  return 0;
}

int TokenChild() {
  HANDLE token = nullptr;
  if (!OpenProcessToken(GetCurrentProcess(), TOKEN_QUERY, &token)) return 1;
  TOKEN_ELEVATION elevation{};
  DWORD size = 0;
  GetTokenInformation(token, TokenElevation, &elevation, sizeof elevation, &size);
  // Can the restricted child still write where only administrators should?
  HANDLE file = CreateFileW(L"C:\\windows\\hearth-restricted-probe.txt", GENERIC_WRITE, 0, nullptr,
                            CREATE_ALWAYS, FILE_FLAG_DELETE_ON_CLOSE, nullptr);
  std::printf("restricted-token: child user %s elevated %lu, write to C:\\windows %s\n",
              TokenUserSid(token).c_str(), static_cast<unsigned long>(elevation.TokenIsElevated),
              file != INVALID_HANDLE_VALUE ? "ALLOWED" : "denied");
  if (file != INVALID_HANDLE_VALUE) CloseHandle(file);
  CloseHandle(token);
  return 0;
}

DWORD DwordAt(const void* data) {
  DWORD value = 0;
  std::memcpy(&value, data, sizeof value);
  return value;
}

int RegRead(const char* key, const char* value) {
  wchar_t data[512];
  DWORD size = sizeof data;
  DWORD type = 0;
  const LSTATUS status = RegGetValueW(HKEY_CURRENT_USER, Widen(key).c_str(), Widen(value).c_str(),
                                      RRF_RT_REG_SZ | RRF_RT_REG_DWORD, &type, data, &size);
  if (status != ERROR_SUCCESS) {
    std::printf("regread: HKCU\\%s %s: error %ld\n", key, value, static_cast<long>(status));
    return 1;
  }
  if (type == REG_DWORD) {
    std::printf("regread: HKCU\\%s %s = dword %lu\n", key, value,
                static_cast<unsigned long>(DwordAt(data)));
  } else {
    std::printf("regread: HKCU\\%s %s = \"%s\"\n", key, value, Narrow(data).c_str());
  }
  return 0;
}

int Users() {
  const std::string sid = SelfSid();
  HKEY key = nullptr;
  const std::wstring path = Widen(sid.c_str()) + L"\\Control Panel\\Desktop";
  LSTATUS status = RegOpenKeyExW(HKEY_USERS, path.c_str(), 0, KEY_READ, &key);
  std::printf("hku: HKEY_USERS\\%s\\Control Panel\\Desktop: %s (%ld)\n", sid.c_str(),
              status == ERROR_SUCCESS ? "opens" : "error", static_cast<long>(status));
  if (key != nullptr) RegCloseKey(key);
  status = RegOpenKeyExW(HKEY_LOCAL_MACHINE,
                         L"SOFTWARE\\Microsoft\\Windows NT\\CurrentVersion\\ProfileList", 0,
                         KEY_READ, &key);
  if (status != ERROR_SUCCESS) {
    std::printf("profilelist: error %ld\n", static_cast<long>(status));
    return 0;
  }
  wchar_t name[256];
  for (DWORD i = 0;; ++i) {
    DWORD size = 256;
    if (RegEnumKeyExW(key, i, name, &size, nullptr, nullptr, nullptr, nullptr) != ERROR_SUCCESS) {
      if (i == 0) std::printf("profilelist: no subkeys\n");
      break;
    }
    std::printf("profilelist: %s\n", Narrow(name).c_str());
  }
  RegCloseKey(key);
  return 0;
}

int Wmi(const char* ns, const char* query) {
  HRESULT hr = CoInitializeEx(nullptr, COINIT_MULTITHREADED);
  if (FAILED(hr)) return 1;
  CoInitializeSecurity(nullptr, -1, nullptr, nullptr, RPC_C_AUTHN_LEVEL_DEFAULT,
                       RPC_C_IMP_LEVEL_IMPERSONATE, nullptr, EOAC_NONE, nullptr);
  IWbemLocator* locator = nullptr;
  hr = CoCreateInstance(CLSID_WbemLocator, nullptr, CLSCTX_INPROC_SERVER, IID_IWbemLocator,
                        reinterpret_cast<void**>(&locator));
  if (FAILED(hr)) {
    std::printf("wmi: CoCreateInstance(WbemLocator) hr 0x%08lx\n", static_cast<unsigned long>(hr));
    return 1;
  }
  IWbemServices* services = nullptr;
  BSTR bns = SysAllocString(Widen(ns).c_str());
  hr = locator->ConnectServer(bns, nullptr, nullptr, nullptr, 0, nullptr, nullptr, &services);
  SysFreeString(bns);
  if (FAILED(hr)) {
    std::printf("wmi: ConnectServer(%s) hr 0x%08lx\n", ns, static_cast<unsigned long>(hr));
    locator->Release();
    return 1;
  }
  IEnumWbemClassObject* rows = nullptr;
  BSTR language = SysAllocString(L"WQL");
  BSTR bquery = SysAllocString(Widen(query).c_str());
  hr = services->ExecQuery(language, bquery, WBEM_FLAG_FORWARD_ONLY, nullptr, &rows);
  SysFreeString(language);
  SysFreeString(bquery);
  if (FAILED(hr)) {
    std::printf("wmi: %s: ExecQuery(%s) hr 0x%08lx\n", ns, query, static_cast<unsigned long>(hr));
  } else {
    int count = 0;
    IWbemClassObject* row = nullptr;
    ULONG got = 0;
    std::string first;
    while (rows->Next(5000, 1, &row, &got) == S_OK && got == 1) {
      if (count == 0) {
        VARIANT v;
        VariantInit(&v);
        if (SUCCEEDED(row->Get(L"Caption", 0, &v, nullptr, nullptr)) && v.vt == VT_BSTR) {
          first = Narrow(v.bstrVal);
        }
        VariantClear(&v);
      }
      ++count;
      row->Release();
    }
    std::printf("wmi: %s: %s: %d rows%s%s\n", ns, query, count, first.empty() ? "" : ", Caption ",
                first.c_str());
    rows->Release();
  }
  services->Release();
  locator->Release();
  CoUninitialize();
  return 0;
}

int Route(const char* address) {
  SOCKADDR_INET destination{};
  if (InetPtonA(AF_INET, address, &destination.Ipv4.sin_addr) == 1) {
    destination.si_family = AF_INET;
  } else if (InetPtonA(AF_INET6, address, &destination.Ipv6.sin6_addr) == 1) {
    destination.si_family = AF_INET6;
  } else {
    return 2;
  }
  MIB_IPFORWARD_ROW2 route{};
  SOCKADDR_INET source{};
  const NETIO_STATUS status = GetBestRoute2(nullptr, 0, nullptr, &destination, 0, &route, &source);
  if (status != NO_ERROR) {
    std::printf("route: GetBestRoute2(%s) error %lu\n", address,
                static_cast<unsigned long>(status));
    return 1;
  }
  MIB_IF_ROW2 row{};
  row.InterfaceLuid = route.InterfaceLuid;
  const NETIO_STATUS if_status = GetIfEntry2(&row);
  std::printf("route: GetBestRoute2(%s) -> ifindex %lu; GetIfEntry2 %lu: type %lu oper %d \"%s\"\n",
              address, static_cast<unsigned long>(route.InterfaceIndex),
              static_cast<unsigned long>(if_status), static_cast<unsigned long>(row.Type),
              static_cast<int>(row.OperStatus), Narrow(row.Description).c_str());
  return 0;
}

// The older and lower-level routing APIs, for when GetBestRoute2 is not there.
int RouteFallbacks(const char* address) {
  IN_ADDR v4{};
  if (InetPtonA(AF_INET, address, &v4) == 1) {
    MIB_IPFORWARDROW row{};
    const DWORD best = GetBestRoute(v4.S_un.S_addr, 0, &row);
    std::printf("route: GetBestRoute(%s) %lu -> ifindex %lu\n", address,
                static_cast<unsigned long>(best), static_cast<unsigned long>(row.dwForwardIfIndex));
    sockaddr_in destination{};
    destination.sin_family = AF_INET;
    destination.sin_addr = v4;
    DWORD index = 0;
    const DWORD iface = GetBestInterfaceEx(reinterpret_cast<sockaddr*>(&destination), &index);
    std::printf("route: GetBestInterfaceEx(%s) %lu -> ifindex %lu\n", address,
                static_cast<unsigned long>(iface), static_cast<unsigned long>(index));
  }
  MIB_IPFORWARD_TABLE2* table = nullptr;
  const NETIO_STATUS status = GetIpForwardTable2(AF_UNSPEC, &table);
  std::printf("route: GetIpForwardTable2 %lu, %lu rows\n", static_cast<unsigned long>(status),
              table != nullptr ? static_cast<unsigned long>(table->NumEntries) : 0ul);
  if (table != nullptr) FreeMibTable(table);
  ULONG size = 16384;
  std::string buffer(size, '\0');
  auto* adapters = reinterpret_cast<IP_ADAPTER_ADDRESSES*>(buffer.data());
  const ULONG got =
      GetAdaptersAddresses(AF_UNSPEC, GAA_FLAG_INCLUDE_GATEWAYS, nullptr, adapters, &size);
  std::printf("route: GetAdaptersAddresses %lu\n", static_cast<unsigned long>(got));
  for (auto* a = adapters; got == NO_ERROR && a != nullptr; a = a->Next) {
    std::printf("route:   adapter ifindex %lu type %lu oper %d \"%s\"\n",
                static_cast<unsigned long>(a->IfIndex), static_cast<unsigned long>(a->IfType),
                static_cast<int>(a->OperStatus), Narrow(a->Description).c_str());
  }
  return 0;
}

bool Spawn(const std::wstring& arguments, DWORD flags, PROCESS_INFORMATION* process) {
  wchar_t self[MAX_PATH];
  GetModuleFileNameW(nullptr, self, MAX_PATH);
  std::wstring command = L"\"" + std::wstring(self) + L"\" " + arguments;
  STARTUPINFOW startup{};
  startup.cb = sizeof startup;
  return CreateProcessW(nullptr, command.data(), nullptr, nullptr, FALSE, flags, nullptr, nullptr,
                        &startup, process) != 0;
}

int Job() {
  HANDLE job = CreateJobObjectW(nullptr, nullptr);
  JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits{};
  limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
  const BOOL set =
      SetInformationJobObject(job, JobObjectExtendedLimitInformation, &limits, sizeof limits);
  PROCESS_INFORMATION child{};
  if (!Spawn(L"sleep 30000", CREATE_SUSPENDED, &child)) return 1;
  const BOOL assigned = AssignProcessToJobObject(job, child.hProcess);
  ResumeThread(child.hThread);
  // A grandchild, started by the child after it joined the job, must die with the job too.
  CloseHandle(job);
  const DWORD waited = WaitForSingleObject(child.hProcess, 5000);
  std::printf(
      "job: SetInformationJobObject(KILL_ON_JOB_CLOSE) %s, AssignProcessToJobObject %s, "
      "child %s after closing the job\n",
      set ? "ok" : "failed", assigned ? "ok" : "failed",
      waited == WAIT_OBJECT_0 ? "ended" : "STILL RUNNING");
  if (waited != WAIT_OBJECT_0) TerminateProcess(child.hProcess, 1);
  CloseHandle(child.hThread);
  CloseHandle(child.hProcess);
  return 0;
}

// The server end of a named pipe whose DACL admits only SDDL's principals; a child process of
// the same user tries to open it.
int Pipe(const char* sddl) {
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  if (!ConvertStringSecurityDescriptorToSecurityDescriptorA(sddl, SDDL_REVISION_1, &descriptor,
                                                            nullptr)) {
    return 2;
  }
  SECURITY_ATTRIBUTES attributes{sizeof(SECURITY_ATTRIBUTES), descriptor, FALSE};
  const wchar_t* name = L"\\\\.\\pipe\\hearth-probe";
  HANDLE pipe =
      CreateNamedPipeW(name, PIPE_ACCESS_DUPLEX | FILE_FLAG_FIRST_PIPE_INSTANCE,
                       PIPE_TYPE_BYTE | PIPE_REJECT_REMOTE_CLIENTS, 1, 4096, 4096, 0, &attributes);
  LocalFree(descriptor);
  if (pipe == INVALID_HANDLE_VALUE) {
    std::printf("pipe: CreateNamedPipe error %lu\n", static_cast<unsigned long>(GetLastError()));
    return 1;
  }
  PROCESS_INFORMATION child{};
  if (!Spawn(L"pipe-client", 0, &child)) return 1;
  OVERLAPPED unused{};
  (void)unused;
  const DWORD waited = WaitForSingleObject(child.hProcess, 10000);
  DWORD code = 0;
  GetExitCodeProcess(child.hProcess, &code);
  std::printf("pipe: DACL %s: client of the same user %s (client exit %lu)\n", sddl,
              code == 0 ? "CONNECTED" : "was refused", static_cast<unsigned long>(code));
  if (waited != WAIT_OBJECT_0) TerminateProcess(child.hProcess, 1);
  CloseHandle(child.hThread);
  CloseHandle(child.hProcess);
  CloseHandle(pipe);
  return 0;
}

int PipeClient() {
  HANDLE pipe = CreateFileW(L"\\\\.\\pipe\\hearth-probe", GENERIC_READ | GENERIC_WRITE, 0, nullptr,
                            OPEN_EXISTING, 0, nullptr);
  if (pipe == INVALID_HANDLE_VALUE) return static_cast<int>(GetLastError());
  CloseHandle(pipe);
  return 0;
}

int FileAcl(const char* path) {
  const std::wstring wpath = Widen(path);
  HANDLE file = CreateFileW(wpath.c_str(), GENERIC_WRITE, 0, nullptr, CREATE_ALWAYS, 0, nullptr);
  if (file == INVALID_HANDLE_VALUE) return 1;
  CloseHandle(file);
  // Protected DACL with a single entry: SYSTEM full access. The current user is not SYSTEM.
  PSECURITY_DESCRIPTOR descriptor = nullptr;
  ConvertStringSecurityDescriptorToSecurityDescriptorW(L"D:P(A;;FA;;;SY)", SDDL_REVISION_1,
                                                       &descriptor, nullptr);
  BOOL present = FALSE;
  BOOL defaulted = FALSE;
  PACL dacl = nullptr;
  GetSecurityDescriptorDacl(descriptor, &present, &dacl, &defaulted);
  const DWORD set =
      SetNamedSecurityInfoW(const_cast<wchar_t*>(wpath.c_str()), SE_FILE_OBJECT,
                            DACL_SECURITY_INFORMATION | PROTECTED_DACL_SECURITY_INFORMATION,
                            nullptr, nullptr, dacl, nullptr);
  LocalFree(descriptor);
  PSECURITY_DESCRIPTOR read_back = nullptr;
  const DWORD got = GetNamedSecurityInfoW(wpath.c_str(), SE_FILE_OBJECT, DACL_SECURITY_INFORMATION,
                                          nullptr, nullptr, nullptr, nullptr, &read_back);
  LPWSTR text = nullptr;
  if (got == ERROR_SUCCESS) {
    ConvertSecurityDescriptorToStringSecurityDescriptorW(read_back, SDDL_REVISION_1,
                                                         DACL_SECURITY_INFORMATION, &text, nullptr);
  }
  HANDLE reopened = CreateFileW(wpath.c_str(), GENERIC_READ, 0, nullptr, OPEN_EXISTING, 0, nullptr);
  const DWORD open_error = reopened == INVALID_HANDLE_VALUE ? GetLastError() : 0;
  std::printf(
      "acl: SetNamedSecurityInfo %lu, read back \"%s\", open for read as non-SYSTEM: %s "
      "(%lu)\n",
      static_cast<unsigned long>(set), text != nullptr ? Narrow(text).c_str() : "?",
      reopened == INVALID_HANDLE_VALUE ? "DENIED" : "ALLOWED",
      static_cast<unsigned long>(open_error));
  if (reopened != INVALID_HANDLE_VALUE) CloseHandle(reopened);
  if (text != nullptr) LocalFree(text);
  if (read_back != nullptr) LocalFree(read_back);
  return 0;
}

int Toast() {
  HRESULT hr = RoInitialize(RO_INIT_MULTITHREADED);
  std::printf("toast: RoInitialize hr 0x%08lx\n", static_cast<unsigned long>(hr));
  HSTRING name = nullptr;
  const wchar_t* klass = L"Windows.UI.Notifications.ToastNotificationManager";
  WindowsCreateString(klass, static_cast<UINT32>(wcslen(klass)), &name);
  IActivationFactory* factory = nullptr;
  hr = RoGetActivationFactory(name, IID_IActivationFactory, reinterpret_cast<void**>(&factory));
  std::printf("toast: RoGetActivationFactory(%s) hr 0x%08lx\n", Narrow(klass).c_str(),
              static_cast<unsigned long>(hr));
  if (factory != nullptr) factory->Release();
  WindowsDeleteString(name);
  RoUninitialize();
  return 0;
}

int Wts() {
  WTS_SESSION_INFOW* sessions = nullptr;
  DWORD count = 0;
  if (!WTSEnumerateSessionsW(WTS_CURRENT_SERVER_HANDLE, 0, 1, &sessions, &count)) {
    std::printf("wts: WTSEnumerateSessions error %lu\n",
                static_cast<unsigned long>(GetLastError()));
    return 1;
  }
  for (DWORD i = 0; i < count; ++i) {
    std::printf("wts: session %lu state %d \"%s\"\n",
                static_cast<unsigned long>(sessions[i].SessionId),
                static_cast<int>(sessions[i].State), Narrow(sessions[i].pWinStationName).c_str());
  }
  WTSFreeMemory(sessions);
  HANDLE token = nullptr;
  const BOOL ok = WTSQueryUserToken(WTSGetActiveConsoleSessionId(), &token);
  std::printf("wts: active console session %lu, WTSQueryUserToken %s (%lu)\n",
              static_cast<unsigned long>(WTSGetActiveConsoleSessionId()), ok ? "ok" : "failed",
              ok ? 0ul : static_cast<unsigned long>(GetLastError()));
  if (ok) CloseHandle(token);
  return 0;
}

int Wua() {
  CoInitializeEx(nullptr, COINIT_MULTITHREADED);
  IUpdateSession* session = nullptr;
  HRESULT hr = CoCreateInstance(CLSID_UpdateSession, nullptr, CLSCTX_INPROC_SERVER,
                                IID_IUpdateSession, reinterpret_cast<void**>(&session));
  std::printf("wua: CoCreateInstance(UpdateSession) hr 0x%08lx\n", static_cast<unsigned long>(hr));
  if (SUCCEEDED(hr)) {
    IUpdateSearcher* searcher = nullptr;
    hr = session->CreateUpdateSearcher(&searcher);
    std::printf("wua: CreateUpdateSearcher hr 0x%08lx\n", static_cast<unsigned long>(hr));
    if (SUCCEEDED(hr)) {
      searcher->put_Online(VARIANT_FALSE);
      ISearchResult* result = nullptr;
      BSTR criteria = SysAllocString(L"IsInstalled=0");
      hr = searcher->Search(criteria, &result);
      SysFreeString(criteria);
      std::printf("wua: Search(IsInstalled=0, offline) hr 0x%08lx\n",
                  static_cast<unsigned long>(hr));
      if (result != nullptr) result->Release();
      searcher->Release();
    }
    session->Release();
  }
  CoUninitialize();
  return 0;
}

int Folders() {
  PWSTR path = nullptr;
  const HRESULT hr = SHGetKnownFolderPath(FOLDERID_ProgramData, 0, nullptr, &path);
  std::printf("folders: ProgramData hr 0x%08lx \"%s\"\n", static_cast<unsigned long>(hr),
              path != nullptr ? Narrow(path).c_str() : "");
  CoTaskMemFree(path);
  return 0;
}

int Power() {
  GUID* scheme = nullptr;
  const DWORD active = PowerGetActiveScheme(nullptr, &scheme);
  DWORD seconds = 0;
  DWORD read = ERROR_INVALID_FUNCTION;
  if (active == ERROR_SUCCESS) {
    read = PowerReadACValueIndex(nullptr, scheme, &GUID_VIDEO_SUBGROUP,
                                 &GUID_VIDEO_POWERDOWN_TIMEOUT, &seconds);
    LocalFree(scheme);
  }
  std::printf("power: PowerGetActiveScheme %lu, PowerReadACValueIndex(display off) %lu -> %lu s\n",
              static_cast<unsigned long>(active), static_cast<unsigned long>(read),
              static_cast<unsigned long>(seconds));
  return 0;
}

int Memory() {
  PROCESS_MEMORY_COUNTERS_EX counters{};
  counters.cb = sizeof counters;
  GetProcessMemoryInfo(GetCurrentProcess(), reinterpret_cast<PROCESS_MEMORY_COUNTERS*>(&counters),
                       sizeof counters);
  std::printf("memory: working set %zu KiB, private %zu KiB\n", counters.WorkingSetSize / 1024,
              counters.PrivateUsage / 1024);
  return 0;
}

// --- service mode: what Wine's service manager does with a service executable ---------------
SERVICE_STATUS_HANDLE g_status_handle = nullptr;
HANDLE g_stop = nullptr;
std::wstring g_log;

void Report(DWORD state) {
  SERVICE_STATUS status{};
  status.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
  status.dwCurrentState = state;
  status.dwControlsAccepted =
      state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
  SetServiceStatus(g_status_handle, &status);
}

void Log(const std::string& line) {
  HANDLE file = CreateFileW(g_log.c_str(), FILE_APPEND_DATA, FILE_SHARE_READ, nullptr, OPEN_ALWAYS,
                            0, nullptr);
  if (file == INVALID_HANDLE_VALUE) return;
  DWORD written = 0;
  const std::string text = line + "\n";
  WriteFile(file, text.data(), static_cast<DWORD>(text.size()), &written, nullptr);
  CloseHandle(file);
}

DWORD WINAPI Handler(DWORD control, DWORD, void*, void*) {
  if (control == SERVICE_CONTROL_STOP || control == SERVICE_CONTROL_SHUTDOWN) {
    Log("control stop");
    Report(SERVICE_STOP_PENDING);
    SetEvent(g_stop);
  }
  return NO_ERROR;
}

void WINAPI ServiceMain(DWORD, LPWSTR*) {
  g_status_handle = RegisterServiceCtrlHandlerExW(L"HearthProbe", Handler, nullptr);
  g_stop = CreateEventW(nullptr, TRUE, FALSE, nullptr);
  Report(SERVICE_RUNNING);
  Log("running pid " + std::to_string(GetCurrentProcessId()) + " user " + SelfSid());
  WaitForSingleObject(g_stop, INFINITE);
  Log("stopped");
  Report(SERVICE_STOPPED);
}

int Service(const char* log) {
  g_log = Widen(log);
  wchar_t name[] = L"HearthProbe";
  SERVICE_TABLE_ENTRYW table[] = {{name, ServiceMain}, {nullptr, nullptr}};
  if (!StartServiceCtrlDispatcherW(table)) {
    std::printf("service: StartServiceCtrlDispatcher error %lu\n",
                static_cast<unsigned long>(GetLastError()));
    return 1;
  }
  return 0;
}

// Tests' helper (not a probe): sends PAUSE or CONTINUE to service `name` (Wine's sc.exe has no
// pause/continue) and prints the state it reports afterwards.
int Control(const char* name, const std::string& what) {
  SC_HANDLE manager = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT);
  std::wstring wname(name, name + std::strlen(name));
  SC_HANDLE service =
      manager ? OpenServiceW(manager, wname.c_str(), SERVICE_PAUSE_CONTINUE | SERVICE_QUERY_STATUS)
              : nullptr;
  if (service == nullptr) {
    std::printf("control: OpenService error %lu\n", static_cast<unsigned long>(GetLastError()));
    return 1;
  }
  SERVICE_STATUS status{};
  const DWORD control = what == "pause" ? SERVICE_CONTROL_PAUSE : SERVICE_CONTROL_CONTINUE;
  const BOOL ok = ControlService(service, control, &status);
  std::printf("control: %s %s, state %lu\n", what.c_str(), ok ? "ok" : "failed",
              static_cast<unsigned long>(status.dwCurrentState));
  CloseServiceHandle(service);
  CloseServiceHandle(manager);
  return ok ? 0 : 1;
}

// Tests' helper: the failure actions stored for service `name`, one line.
int FailureActions(const char* name) {
  SC_HANDLE manager = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT);
  std::wstring wname(name, name + std::strlen(name));
  SC_HANDLE service =
      manager ? OpenServiceW(manager, wname.c_str(), SERVICE_QUERY_CONFIG) : nullptr;
  if (service == nullptr) {
    std::printf("failure-actions: OpenService error %lu\n",
                static_cast<unsigned long>(GetLastError()));
    return 1;
  }
  std::vector<unsigned char> buf(8192);
  DWORD needed = 0;
  const BOOL ok = QueryServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS, buf.data(),
                                       static_cast<DWORD>(buf.size()), &needed);
  if (!ok) {
    std::printf("failure-actions: QueryServiceConfig2 error %lu\n",
                static_cast<unsigned long>(GetLastError()));
  } else {
    const auto* f = reinterpret_cast<const SERVICE_FAILURE_ACTIONSW*>(buf.data());
    std::printf("failure-actions: reset %lu s", static_cast<unsigned long>(f->dwResetPeriod));
    for (DWORD i = 0; i < f->cActions; ++i) {
      std::printf(", %s after %lu ms",
                  f->lpsaActions[i].Type == SC_ACTION_RESTART ? "restart" : "other",
                  static_cast<unsigned long>(f->lpsaActions[i].Delay));
    }
    std::printf("\n");
  }
  CloseServiceHandle(service);
  CloseServiceHandle(manager);
  return ok ? 0 : 1;
}

int ServiceRecovery() {
  SC_HANDLE manager = OpenSCManagerW(nullptr, nullptr, SC_MANAGER_ALL_ACCESS);
  SC_HANDLE service = manager ? OpenServiceW(manager, L"HearthProbe", SERVICE_ALL_ACCESS) : nullptr;
  if (service == nullptr) {
    std::printf("recovery: OpenService error %lu\n", static_cast<unsigned long>(GetLastError()));
    return 1;
  }
  SC_ACTION actions[1] = {{SC_ACTION_RESTART, 1000}};
  SERVICE_FAILURE_ACTIONSW failure{};
  failure.dwResetPeriod = 86400;
  failure.cActions = 1;
  failure.lpsaActions = actions;
  const BOOL set = ChangeServiceConfig2W(service, SERVICE_CONFIG_FAILURE_ACTIONS, &failure);
  const DWORD set_error = set ? 0 : GetLastError();
  SERVICE_DELAYED_AUTO_START_INFO delayed{TRUE};
  const BOOL delayed_set =
      ChangeServiceConfig2W(service, SERVICE_CONFIG_DELAYED_AUTO_START_INFO, &delayed);
  const DWORD delayed_error = delayed_set ? 0 : GetLastError();
  SERVICE_SID_INFO sid_info{SERVICE_SID_TYPE_RESTRICTED};
  const BOOL sid_set = ChangeServiceConfig2W(service, SERVICE_CONFIG_SERVICE_SID_INFO, &sid_info);
  const DWORD sid_error = sid_set ? 0 : GetLastError();
  std::printf(
      "recovery: FAILURE_ACTIONS %s (%lu), DELAYED_AUTO_START %s (%lu), SERVICE_SID_INFO "
      "%s (%lu)\n",
      set ? "ok" : "failed", static_cast<unsigned long>(set_error), delayed_set ? "ok" : "failed",
      static_cast<unsigned long>(delayed_error), sid_set ? "ok" : "failed",
      static_cast<unsigned long>(sid_error));
  CloseServiceHandle(service);
  CloseServiceHandle(manager);
  return 0;
}

}  // namespace

int main(int argc, char** argv) {
  const std::string command = argc > 1 ? argv[1] : "";
  if (command == "token") return Token();
  if (command == "token-child") return TokenChild();
  if (command == "power") return Power();
  if (command == "regread" && argc == 4) return RegRead(argv[2], argv[3]);
  if (command == "users") return Users();
  if (command == "wmi" && argc == 4) return Wmi(argv[2], argv[3]);
  if (command == "route" && argc == 3) return Route(argv[2]);
  if (command == "route-fallbacks" && argc == 3) return RouteFallbacks(argv[2]);
  if (command == "job") return Job();
  if (command == "pipe" && argc == 3) return Pipe(argv[2]);
  if (command == "pipe-client") return PipeClient();
  if (command == "acl" && argc == 3) return FileAcl(argv[2]);
  if (command == "toast") return Toast();
  if (command == "wts") return Wts();
  if (command == "wua") return Wua();
  if (command == "folders") return Folders();
  if (command == "memory") return Memory();
  if (command == "service" && argc == 3) return Service(argv[2]);
  if (command == "recovery") return ServiceRecovery();
  if (command == "control" && argc == 4) return Control(argv[2], argv[3]);
  if (command == "failure-actions" && argc == 3) return FailureActions(argv[2]);
  if (command == "sleep" && argc == 3) {
    Sleep(static_cast<DWORD>(std::strtoul(argv[2], nullptr, 10)));
    return 0;
  }
  std::fprintf(stderr,
               "usage: wine_probe token|power|regread KEY VALUE|users|wmi NS QUERY|route "
               "ADDR|route-fallbacks ADDR|job|"
               "pipe SDDL|acl FILE|toast|wts|wua|folders|memory|service LOG|recovery\n");
  return 2;
}
