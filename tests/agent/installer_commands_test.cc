// hearth-agent preseed-write, as the MSI's custom actions run it (agent/installer_commands.cc).
#include <fstream>
#include <sstream>
#include <string>

#include <gtest/gtest.h>

#include "hearth/agent/cli.h"
#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

// A self-signed CA made with `openssl req -x509 -newkey ec` and its DER in base64
// (`openssl x509 -outform der | base64 -w0`): what make-company-package puts in CACERT.
constexpr char kCaPem[] =
    "-----BEGIN CERTIFICATE-----\n"
    "MIIBhjCCAS2gAwIBAgIUVuv2ql66q1EsL9DWh/DxuWHqWvEwCgYIKoZIzj0EAwIw\n"
    "GTEXMBUGA1UEAwwOaGVhcnRoLXRlc3QtY2EwHhcNMjYxMjA4MDA0MzAxWhcNMzYx\n"
    "MjA1MDA0MzAxWjAZMRcwFQYDVQQDDA5oZWFydGgtdGVzdC1jYTBZMBMGByqGSM49\n"
    "AgEGCCqGSM49AwEHA0IABHpeNC5DVStHJYRfzbiO+b3QTr28wX8cqy+EYPbA1/xl\n"
    "l4+P1f2eUI9p2GOa8/+1Y7rO+NFQXIBEGzSn4QHmnICjUzBRMB0GA1UdDgQWBBSc\n"
    "FgxbY0L5zw0fhyig7jmyv2U8+zAfBgNVHSMEGDAWgBScFgxbY0L5zw0fhyig7jmy\n"
    "v2U8+zAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIFxcEmBFRx/c\n"
    "HJOiM9M/BvAc/jFlRGkIWBKWxfiFpC7RAiBo9lWUGxu+5UtXY9Ic0RKLBP6kGgBf\n"
    "5iASWnZGHxKxtQ==\n"
    "-----END CERTIFICATE-----\n";
constexpr char kCaDerBase64[] =
    "MIIBhjCCAS2gAwIBAgIUVuv2ql66q1EsL9DWh/DxuWHqWvEwCgYIKoZIzj0EAwIwGTEXMBUGA1UEAwwOaGVhcnRoLXRlc3"
    "QtY2EwHhcNMjYxMjA4MDA0MzAxWhcNMzYxMjA1MDA0MzAxWjAZMRcwFQYDVQQDDA5oZWFydGgtdGVzdC1jYTBZMBMGByqG"
    "SM49AgEGCCqGSM49AwEHA0IABHpeNC5DVStHJYRfzbiO+b3QTr28wX8cqy+EYPbA1/xll4+P1f2eUI9p2GOa8/+1Y7rO+N"
    "FQXIBEGzSn4QHmnICjUzBRMB0GA1UdDgQWBBScFgxbY0L5zw0fhyig7jmyv2U8+zAfBgNVHSMEGDAWgBScFgxbY0L5zw0f"
    "hyig7jmyv2U8+zAPBgNVHRMBAf8EBTADAQH/MAoGCCqGSM49BAMCA0cAMEQCIFxcEmBFRx/cHJOiM9M/BvAc/jFlRGkIWB"
    "KWxfiFpC7RAiBo9lWUGxu+5UtXY9Ic0RKLBP6kGgBf5iASWnZGHxKxtQ==";

struct PreseedRun {
  int rc;
  std::string out, err;
};

PreseedRun preseedWrite(const std::string& out_file, std::vector<std::string> trust) {
  std::vector<std::string> args = {"preseed-write", "--out", out_file, "--server",
                                   "https://hearth.example.test:8443"};
  args.insert(args.end(), trust.begin(), trust.end());
  args.insert(args.end(), {"--secret", "hes_test"});
  std::ostringstream out, err;
  CliEnvironment env{out, err};
  int rc = RunAgentCli(args, env);
  return {rc, out.str(), err.str()};
}

std::string slurp(const std::string& path) {
  std::ifstream f(path);
  std::stringstream s;
  s << f.rdbuf();
  return s.str();
}

// The company MSI carries the CA as a property (no file on the PC): the same PEM lands beside
// enroll.conf as --ca-file would have copied.
TEST(PreseedWriteTest, CaCertBecomesTheSamePemBesideEnrollConf) {
  testing::TempDir dir;
  const std::string conf = dir.path() + "/Hearth/enroll.conf";
  PreseedRun r = preseedWrite(conf, {"--ca-cert", kCaDerBase64});
  ASSERT_EQ(r.rc, 0) << r.err;
  EXPECT_EQ(slurp(dir.path() + "/Hearth/enroll-ca.pem"), kCaPem);
  const std::string text = slurp(conf);
  EXPECT_NE(text.find("\nca_file = enroll-ca.pem\n"), std::string::npos) << text;
  EXPECT_NE(text.find("\nsecret = hes_test\n"), std::string::npos) << text;
}

TEST(PreseedWriteTest, BadOrDoubleTrustIsAUsageErrorAndWritesNothing) {
  testing::TempDir dir;
  const std::string conf = dir.path() + "/enroll.conf";
  PreseedRun bad = preseedWrite(conf, {"--ca-cert", "-----BEGIN CERTIFICATE-----"});
  EXPECT_EQ(bad.rc, kExitUsage);
  EXPECT_NE(bad.err.find("--ca-cert: expected the certificate's DER"), std::string::npos)
      << bad.err;
  PreseedRun both = preseedWrite(conf, {"--ca-cert", kCaDerBase64, "--pin",
                                        "sha256//AAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAAA="});
  EXPECT_EQ(both.rc, kExitUsage);
  EXPECT_NE(both.err.find("exactly one of --ca-file, --ca-cert, --pin"), std::string::npos)
      << both.err;
  EXPECT_TRUE(slurp(conf).empty()) << "nothing written";
}

}  // namespace
}  // namespace hearth::agent
