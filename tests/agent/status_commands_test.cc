// `hearth-agent show-report --pretty` (agent/status_commands.cc): the last report sent, as a
// person reads it, beside the byte-exact show-report.
#include "hearth/agent/status_commands.h"

#include <sstream>

#include <gtest/gtest.h>

#include "support/temp_dir.h"

namespace hearth::agent {
namespace {

constexpr char kEnvelope[] =
    R"({"report_id":"0b0e7f5e-3d7a-4c1e-9a51-1f1d2b3c4d5e","sequence":17,)"
    R"("sent_at":"2026-12-11T16:00:00Z","agent_version":"0.1.0","machine_id":"9ab1c2",)"
    R"("result":{"compliant":false,"level":"standard","policy_version":3,)"
    R"("evaluated_at":"2026-12-11T15:59:58Z",)"
    R"x("host":{"hostname":"pc-7","os":"Debian GNU/Linux 12 (bookworm)","kernel":"6.1.0-18"},)x"
    R"("checks":[{"id":"disk_encryption","verdict":"fail","required":true,)"
    R"("summary":"Root filesystem / on vda is not encrypted",)"
    R"("evidence":{"root":{"device":"/dev/vda1","encrypted":false},"swap":[]},)"
    R"("remediation":"1. Back up.","advice":[{"code":"disk_encryption.reinstall_encrypted",)"
    R"("steps":["Back up."]}],"duration_ms":3},)"
    R"({"id":"vpn","verdict":"pass","required":false,"summary":"Routed through wg0",)"
    R"("evidence":{},"remediation":"","duration_ms":1}]}})";

TEST(ShowReportPrettyTest, EachFieldIsNamedAndExplainedWithTheValueAsSent) {
  std::string o = FormatReportPretty(kEnvelope);
  EXPECT_NE(o.find("  Number: 17\n      reports are numbered, so the company notices one that "
                   "went missing\n"),
            std::string::npos)
      << o;
  EXPECT_NE(o.find("  Sent: Friday 11 December 2026, 16:00 UTC\n"), std::string::npos) << o;
  EXPECT_NE(o.find("  PC identity: 9ab1c2\n      this PC's machine id, scrambled (hashed)"),
            std::string::npos)
      << o;
  EXPECT_NE(o.find("  Meets the agreed level: no\n"), std::string::npos) << o;
  EXPECT_NE(o.find("  Security level: standard (policy version 3)\n"), std::string::npos) << o;
  EXPECT_NE(o.find("  System: Debian GNU/Linux 12 (bookworm), 6.1.0-18\n"), std::string::npos) << o;
  EXPECT_NE(o.find("  Disk encryption: FAIL\n      Root filesystem / on vda is not encrypted\n"
                   "      Facts sent:\n        root.device: /dev/vda1\n"
                   "        root.encrypted: false\n        swap: []\n"
                   "      Advice given (its code): disk_encryption.reinstall_encrypted\n"),
            std::string::npos)
      << o;
  EXPECT_NE(o.find("  VPN: PASS (informational: not required)\n      Routed through wg0\n"),
            std::string::npos)
      << o;
}

TEST(ShowReportPrettyTest, ReadsTheLastReportAndSaysWhenThereIsNone) {
  hearth::testing::TempDir dir;
  std::ostringstream out, err;
  EXPECT_EQ(PrintLastReportPretty(dir.path(), out, err), 1);
  EXPECT_NE(err.str().find("no report has been delivered yet"), std::string::npos) << err.str();
  dir.write("last-report.json", kEnvelope);
  std::ostringstream out2, err2;
  EXPECT_EQ(PrintLastReportPretty(dir.path(), out2, err2), 0) << err2.str();
  EXPECT_EQ(out2.str(), FormatReportPretty(kEnvelope));
  // Device text never drives the terminal; a damaged file says so.
  EXPECT_EQ(FormatReportPretty(R"({"sequence":1,"result":{"host":{"hostname":"a\u001b[31mb"}}})")
                .find('\x1b'),
            std::string::npos);
  EXPECT_NE(FormatReportPretty("{oops").find("The last report is unreadable"), std::string::npos);
}

}  // namespace
}  // namespace hearth::agent
