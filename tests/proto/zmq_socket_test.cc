#include "skynet/zmq_socket.h"

#include <gtest/gtest.h>

#include <zmq.hpp>

namespace skynet::protocol {
namespace {

TEST(SocketOptionsTest, AppliesLimitsAndLeavesDefaultsAlone) {
  zmq::context_t context(1);
  zmq::socket_t socket(context, zmq::socket_type::dealer);
  ASSERT_TRUE(
      ApplySocketOptions(
          socket,
          {.linger_ms = 250, .max_message_bytes = 4096, .send_hwm = 7, .send_timeout_ms = 30})
          .ok());
  EXPECT_EQ(socket.get(zmq::sockopt::linger), 250);
  EXPECT_EQ(socket.get(zmq::sockopt::maxmsgsize), 4096);
  EXPECT_EQ(socket.get(zmq::sockopt::sndhwm), 7);
  EXPECT_EQ(socket.get(zmq::sockopt::rcvhwm), 1000);  // -1: ZeroMQ's default kept
  EXPECT_EQ(socket.get(zmq::sockopt::sndtimeo), 30);
  EXPECT_TRUE(ApplyCurveClient(socket, {}).ok());  // plaintext: nothing to set
  EXPECT_EQ(socket.get(zmq::sockopt::mechanism), ZMQ_NULL);
}

}  // namespace
}  // namespace skynet::protocol
