// Interoperability with the openssl command-line tool: certificates we issue verify with
// `openssl verify`, and a CSR made by `openssl req` is accepted by our CA code.
#include <gtest/gtest.h>

#include "hearth/protocol/crypto.h"
#include "support/temp_dir.h"

namespace hearth::protocol {
namespace {

using std::chrono::hours;
using std::chrono::system_clock;
using testing::RunProcess;

TEST(OpensslInteropTest, CsrFromOpensslIsIssuedAndVerifiesWithOpenssl) {
  testing::TempDir dir;
  auto gen = RunProcess({"/usr/bin/openssl", "req", "-new", "-newkey", "ec", "-pkeyopt",
                         "ec_paramgen_curve:P-256", "-nodes", "-keyout", dir.path() + "/dev.key",
                         "-out", dir.path() + "/dev.csr", "-subj", "/CN=laptop"});
  ASSERT_EQ(gen.exit_code, 0) << gen.err;
  auto csr = RunProcess({"/bin/cat", dir.path() + "/dev.csr"});
  auto info = VerifyCsr(csr.out);
  ASSERT_TRUE(info.ok()) << info.status().toString();

  auto ca_key = Key::generateP256();
  CertificateRequest ca_req;
  ca_req.common_name = "Hearth device CA";
  ca_req.is_ca = true;
  ca_req.not_before = system_clock::now() - hours(1);
  ca_req.not_after = system_clock::now() + hours(24 * 3650);
  auto ca = IssueCertificate(ca_req, *ca_key->publicPem(), *ca_key, "");
  ASSERT_TRUE(ca.ok());
  CertificateRequest req;
  req.common_name = "device-1";
  req.client_auth = true;
  req.not_before = system_clock::now() - hours(1);
  req.not_after = system_clock::now() + hours(24 * 365);
  auto cert = IssueCertificate(req, info->public_key_pem, *ca_key, *ca);
  ASSERT_TRUE(cert.ok());
  std::string ca_path = dir.write("ca.pem", *ca);
  std::string cert_path = dir.write("dev.pem", *cert);
  auto verify = RunProcess(
      {"/usr/bin/openssl", "verify", "-purpose", "sslclient", "-CAfile", ca_path, cert_path});
  EXPECT_EQ(verify.exit_code, 0) << verify.out << verify.err;
  // Client-auth only: not usable as a TLS server certificate.
  auto server = RunProcess(
      {"/usr/bin/openssl", "verify", "-purpose", "sslserver", "-CAfile", ca_path, cert_path});
  EXPECT_NE(server.exit_code, 0) << server.out;
}

}  // namespace
}  // namespace hearth::protocol
