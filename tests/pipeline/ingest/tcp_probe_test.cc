// TCP probing against real sockets on 127.0.0.1 that the test opens (no GStreamer).
#include "pipeline/ingest/tcp_probe.h"

#include <gtest/gtest.h>

#include "tests/pipeline/ingest/loopback_sockets.h"

namespace skynet::ingest {
namespace {

std::string Url(int port) { return "rtsp://u:pw@127.0.0.1:" + std::to_string(port) + "/cam"; }

TEST(SplitHostPortTest, TakesHostAndPortAfterTheCredentials) {
  const auto hp = SplitHostPort("rtsp://user:p@ss@cam.local:8554/stream1");
  ASSERT_TRUE(hp.has_value());
  EXPECT_EQ(hp->host, "cam.local");
  EXPECT_EQ(hp->port, "8554");
}

TEST(SplitHostPortTest, DefaultsToTheSchemesPort) {
  EXPECT_EQ(SplitHostPort("rtsp://10.0.0.5/stream1")->port, "554");
  EXPECT_EQ(SplitHostPort("rtsps://10.0.0.5/stream1")->port, "322");
  EXPECT_EQ(SplitHostPort("rtsp://10.0.0.5")->host, "10.0.0.5");
}

TEST(SplitHostPortTest, ReadsBracketedIpv6) {
  const auto with_port = SplitHostPort("rtsp://[fe80::1]:8554/x");
  ASSERT_TRUE(with_port.has_value());
  EXPECT_EQ(with_port->host, "fe80::1");
  EXPECT_EQ(with_port->port, "8554");
  const auto without = SplitHostPort("rtsp://[::1]/x");
  ASSERT_TRUE(without.has_value());
  EXPECT_EQ(without->host, "::1");
  EXPECT_EQ(without->port, "554");
}

TEST(SplitHostPortTest, RejectsAUrlWithoutScheme) {
  EXPECT_FALSE(SplitHostPort("127.0.0.1:554/cam").has_value());
}

TEST(ProbeTcpTest, ListeningPortAccepts) {
  testing::SilentServer server;
  EXPECT_TRUE(ProbeTcp(Url(server.port()), 1000));
}

TEST(ProbeTcpTest, ClosedPortDoesNot) {
  testing::ClosedPort closed;
  EXPECT_FALSE(ProbeTcp(Url(closed.port()), 1000));
  EXPECT_FALSE(ProbeTcp("not a url", 1000));
}

TEST(DiagnoseConnectTest, ClosedPortIsRefused) {
  std::string detail;
  testing::ClosedPort closed;
  const int port = closed.port();
  EXPECT_EQ(DiagnoseConnect(Url(port), 1000, &detail), StateReason::kRefused);
  EXPECT_EQ(detail, "connection refused by 127.0.0.1:" + std::to_string(port));
}

TEST(DiagnoseConnectTest, AcceptedConnectionMeansRtspFailed) {
  testing::SilentServer server;
  std::string detail;
  EXPECT_EQ(DiagnoseConnect(Url(server.port()), 1000, &detail), StateReason::kError);
  EXPECT_EQ(detail, "connected to 127.0.0.1:" + std::to_string(server.port()) + " but rtsp failed");
}

TEST(DiagnoseConnectTest, UrlWithoutSchemeIsAnErrorWithoutDetail) {
  std::string detail = "unchanged";
  EXPECT_EQ(DiagnoseConnect("127.0.0.1:554", 1000, &detail), StateReason::kError);
  EXPECT_EQ(detail, "unchanged");
}

}  // namespace
}  // namespace skynet::ingest
