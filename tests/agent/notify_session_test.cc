// hearth-notify (agent/notify/notify_session.cc) without a bus: its flags, the actions it offers
// and how a body is escaped for markup services. The D-Bus conversation itself runs against a
// real session bus in tests/integration/agent_notify_dbus_test.cc.
#include "hearth/agent/notify_session.h"

#include <gtest/gtest.h>

namespace hearth::agent {
namespace {

const std::vector<std::string> kFull = {"--address=unix:path=/run/user/1000/bus",
                                        "--title=Hearth: Screen lock needs attention",
                                        "--body=-x 1. Open Settings",
                                        "--urgency=2",
                                        "--wait=60",
                                        "--check-again=Tjek igen",
                                        "--control-socket=/run/hearth/agent.sock",
                                        "--details=Vis detaljer",
                                        "--details-title=Hearth: details",
                                        "--details-body=all checks"};

TEST(NotifySessionTest, FlagsGiveTheNotificationAndItsActions) {
  auto n = ParseSessionNotification(kFull);
  ASSERT_TRUE(n.ok()) << n.status().toString();
  EXPECT_EQ(n->address, "unix:path=/run/user/1000/bus");
  EXPECT_EQ(n->body, "-x 1. Open Settings");  // a body starting with "-" stays text
  EXPECT_EQ(n->urgency, 2);
  EXPECT_EQ(n->wait, std::chrono::seconds(60));
  EXPECT_EQ(n->timeout, std::chrono::seconds(5));
  EXPECT_EQ(NotificationActions(*n, true, false),
            (std::vector<std::string>{"check-again", "Tjek igen", "details", "Vis detaljer"}));
  // Once the details are shown, only "Check again" is left on them.
  EXPECT_EQ(NotificationActions(*n, true, true),
            (std::vector<std::string>{"check-again", "Tjek igen"}));
  // A service without the "actions" capability gets none.
  EXPECT_TRUE(NotificationActions(*n, false, false).empty());
}

TEST(NotifySessionTest, WrongFlagsAreRefused) {
  EXPECT_FALSE(ParseSessionNotification({"--title=x"}).ok());  // no address
  EXPECT_FALSE(ParseSessionNotification({"--address=a", "--title=x", "--urgency=3"}).ok());
  EXPECT_FALSE(ParseSessionNotification({"--address=a", "--title=x", "--wait=-1"}).ok());
  EXPECT_FALSE(ParseSessionNotification({"--address=a", "--title=x", "--bogus=1"}).ok());
  // "Check again" needs somewhere to ask.
  EXPECT_FALSE(ParseSessionNotification({"--address=a", "--title=x", "--check-again=Again"}).ok());
}

TEST(NotifySessionTest, MarkupIsEscapedSoItIsShownNotParsed) {
  EXPECT_EQ(EscapeBodyMarkup("sudo apt update && sudo apt upgrade <now>"),
            "sudo apt update &amp;&amp; sudo apt upgrade &lt;now&gt;");
  EXPECT_EQ(EscapeBodyMarkup("Skærmlås \"x\""), "Skærmlås \"x\"");
}

}  // namespace
}  // namespace hearth::agent
