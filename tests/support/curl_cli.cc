#include "support/curl_cli.h"

#include <sstream>
#include <sys/stat.h>

#include <gtest/gtest.h>

#include "support/files.h"
#include "support/temp_dir.h"

namespace hearth::testing {

CurlAnswer Curl(const std::string& url, const CurlOptions& options) {
  TempDir dir;
  std::vector<std::string> argv = options.prefix;
  argv.insert(argv.end(),
              {kCurlProgram, "-sS", "--max-time", std::to_string(options.max_time_seconds),
               "--cacert", options.ca_file, "-o", dir.path() + "/body", "-D",
               dir.path() + "/headers", "-w", "%{http_code} %{time_total}"});
  if (!options.cert_pem.empty()) {
    std::string cert = dir.write("cert.pem", options.cert_pem);
    std::string key = dir.write("key.pem", options.key_pem);
    ::chmod(key.c_str(), 0600);
    argv.insert(argv.end(), {"--cert", cert, "--key", key});
  }
  if (options.json_body) {
    std::string data = dir.write("data.json", *options.json_body);
    argv.insert(argv.end(), {"-H", "Content-Type: application/json", "--data-binary", "@" + data});
  }
  argv.insert(argv.end(), options.extra.begin(), options.extra.end());
  argv.push_back(url);
  ProcessOutput r = RunProcess(argv);
  CurlAnswer a;
  a.exit_code = r.exit_code;
  a.err = r.err;
  std::istringstream in(r.out);
  in >> a.status >> a.seconds;
  a.body = ReadFile(dir.path() + "/body");
  a.headers = ReadFile(dir.path() + "/headers");
  return a;
}

CurlAnswer CurlAs(const std::string& url, const std::string& ca_file, const std::string& cert_pem,
                  const std::string& key_pem, const std::string* json_body) {
  CurlOptions options{.ca_file = ca_file, .cert_pem = cert_pem, .key_pem = key_pem};
  if (json_body != nullptr) options.json_body = *json_body;
  return Curl(url, options);
}

json::Value CurlAdminJson(const std::string& admin_address, const std::string& ca_file,
                          const std::string& token, const std::string& path,
                          const std::vector<std::string>& extra,
                          const std::vector<std::string>& prefix) {
  CurlOptions options{.ca_file = ca_file, .extra = {"-H", "Authorization: Bearer " + token}};
  options.extra.insert(options.extra.end(), extra.begin(), extra.end());
  options.prefix = prefix;
  CurlAnswer a = Curl("https://" + admin_address + path, options);
  auto v = json::parse(a.body);
  EXPECT_TRUE(v.ok()) << a.status << " " << a.body << a.err;
  return v.ok() ? std::move(v).value() : json::Value();
}

}  // namespace hearth::testing
