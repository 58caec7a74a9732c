// Both listeners of a real hearth-server offer, in TLS 1.2, only ECDHE with AES-GCM or
// ChaCha20-Poly1305 (issue 12, defect 8): real `openssl s_client` handshakes on loopback with a
// CBC suite, an ARIA and a Camellia suite and CCM_8 are refused; ECDHE-ECDSA-AES128-GCM-SHA256
// (the server's key is P-256) and TLS 1.3 succeed.
#include <string>
#include <vector>

#include <gtest/gtest.h>

#include "support/running_server_test.h"

namespace hearth {
namespace {

using testing::RunProcess;

class TlsCiphersTest : public testing::RunningServerTest {
 protected:
  // The cipher a TLS 1.2 (or 1.3) handshake with `address` agreed on offering only `cipher`, or
  // "" when the server refused it.
  std::string handshake(const std::string& address, const std::string& version,
                        const std::string& cipher) {
    std::vector<std::string> argv = {
        "/usr/bin/openssl", "s_client",        "-connect", address, version,
        "-CAfile",          state_ + "/ca.pem"};
    if (!cipher.empty()) argv.insert(argv.end(), {"-cipher", cipher});
    auto r = RunProcess(argv);
    const std::string marker = ", Cipher is ";
    size_t at = r.out.find(marker);
    if (r.exit_code != 0 || at == std::string::npos) return "";
    std::string agreed = r.out.substr(at + marker.size());
    agreed = agreed.substr(0, agreed.find('\n'));
    return agreed == "(NONE)" ? "" : agreed;
  }

  void expectOnlyAeadSuites(const std::string& address) {
    for (const char* refused :
         {"ECDHE-ECDSA-AES128-SHA", "ECDHE-ECDSA-AES256-SHA384", "ECDHE-ECDSA-ARIA128-GCM-SHA256",
          "ECDHE-ECDSA-CAMELLIA128-SHA256", "ECDHE-ECDSA-AES128-CCM8", "ECDHE-ECDSA-AES128-CCM"}) {
      EXPECT_EQ(handshake(address, "-tls1_2", refused), "") << address << " accepted " << refused;
    }
    for (const char* accepted : {"ECDHE-ECDSA-AES128-GCM-SHA256", "ECDHE-ECDSA-AES256-GCM-SHA384",
                                 "ECDHE-ECDSA-CHACHA20-POLY1305"}) {
      EXPECT_EQ(handshake(address, "-tls1_2", accepted), accepted) << address;
    }
    EXPECT_NE(handshake(address, "-tls1_3", ""), "") << address << ": TLS 1.3 must still work";
  }
};

TEST_F(TlsCiphersTest, DeviceListenerOffersOnlyEcdheWithAeadInTls12) {
  expectOnlyAeadSuites(server_->address("devices"));
}

TEST_F(TlsCiphersTest, AdminListenerOffersOnlyEcdheWithAeadInTls12) {
  expectOnlyAeadSuites(server_->address("admin"));
}

}  // namespace
}  // namespace hearth
