// Runs the skynetctl binary, as an operator would.
#include <gtest/gtest.h>
#include <stdlib.h>
#include <sys/wait.h>

#include <chrono>
#include <filesystem>
#include <fstream>
#include <future>
#include <sstream>
#include <string>
#include <zmq.hpp>
#include <zmq_addon.hpp>

#include "skynet/v1/events.pb.h"
#include "tests/testing/temp_dir.h"

namespace {

namespace fs = std::filesystem;

struct RunResult {
  int exit_code = -1;
  std::string out;
  std::string err;
};

std::string Skynetctl() {
  const char* build_dir = std::getenv("SKYNET_BUILD_DIR");
  if (build_dir == nullptr) build_dir = SKYNET_DEFAULT_BUILD_DIR;
  return (fs::path(build_dir) / "tools/skynetctl/skynetctl").string();
}

// Runs skynetctl with `args` (shell words). SKYNET_CONTROL and SKYNET_FEED are unset, then
// `env` ("NAME=value ...") is applied.
RunResult RunSkynetctl(const std::string& args, const std::string& env = "") {
  std::string tmpl = (fs::temp_directory_path() / "skynetctl-cli.XXXXXX").string();
  fs::path dir = mkdtemp(tmpl.data());
  std::string cmd = "env -u SKYNET_CONTROL -u SKYNET_FEED " + env + " '" + Skynetctl() + "' " +
                    args + " >" + (dir / "out").string() + " 2>" + (dir / "err").string() +
                    " </dev/null";
  int status = std::system(cmd.c_str());
  RunResult r;
  r.exit_code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
  r.out = skynet::testing::ReadFile((dir / "out").string());
  r.err = skynet::testing::ReadFile((dir / "err").string());
  fs::remove_all(dir);
  return r;
}

TEST(SkynetctlCliTest, UnreachableDaemonExits3NamingTheEndpoint) {
  std::string endpoint = "ipc:///tmp/skynetctl-test-nobody-" + std::to_string(getpid()) + ".sock";
  RunResult r = RunSkynetctl("--control " + endpoint + " --timeout 200 status");
  EXPECT_EQ(r.exit_code, 3) << r.err;
  EXPECT_EQ(r.err, "skynetctl: cannot reach skynetd at " + endpoint +
                       ": no answer within 200 ms (is it running?)\n");
  EXPECT_EQ(r.out, "");
}

TEST(SkynetctlCliTest, ControlEndpointComesFromTheEnvironment) {
  std::string endpoint = "ipc:///tmp/skynetctl-test-env-" + std::to_string(getpid()) + ".sock";
  RunResult r = RunSkynetctl("--timeout 100 cameras", "SKYNET_CONTROL=" + endpoint);
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_NE(r.err.find("at " + endpoint + ":"), std::string::npos) << r.err;
  // The flag wins over the variable.
  r = RunSkynetctl("--control ipc:///tmp/skynetctl-flag.sock --timeout 100 cameras",
                   "SKYNET_CONTROL=" + endpoint);
  EXPECT_NE(r.err.find("at ipc:///tmp/skynetctl-flag.sock:"), std::string::npos) << r.err;
}

TEST(SkynetctlCliTest, GlobalOptionsMayFollowTheSubcommand) {
  RunResult r = RunSkynetctl("status --timeout 100");
  EXPECT_EQ(r.exit_code, 3);
  EXPECT_EQ(r.err,
            "skynetctl: cannot reach skynetd at ipc:///tmp/skynetd/control.sock: no "
            "answer within 100 ms (is it running?)\n");
}

TEST(SkynetctlCliTest, BadUsageExits2) {
  RunResult r = RunSkynetctl("");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err,
            "skynetctl: a command is required: cameras, status, camera, reload, tail, top, keygen, "
            "search, quality, accept-view, clip, snapshot, follow, export\n"
            "Run with --help for more information.\n");
  r = RunSkynetctl("frobnicate");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_NE(r.err.find("skynetctl: "), std::string::npos) << r.err;
  EXPECT_NE(r.err.find("frobnicate"), std::string::npos) << r.err;
  EXPECT_EQ(RunSkynetctl("status --timeout soon").exit_code, 2);
  EXPECT_EQ(RunSkynetctl("status cam1 cam2").exit_code, 2);
  EXPECT_EQ(RunSkynetctl("tail --type sideways").exit_code, 2);
  EXPECT_EQ(RunSkynetctl("tail --count 0").exit_code, 2);
  r = RunSkynetctl("--control not-an-endpoint status");
  EXPECT_EQ(r.exit_code, 2);
  EXPECT_EQ(r.err, "skynetctl: invalid control endpoint 'not-an-endpoint': Invalid argument\n");
}

TEST(SkynetctlCliTest, HelpExits0) {
  RunResult r = RunSkynetctl("--help");
  EXPECT_EQ(r.exit_code, 0);
  EXPECT_NE(r.out.find("status"), std::string::npos);
  EXPECT_NE(r.out.find("tail"), std::string::npos);
}

TEST(SkynetctlCliTest, TailForEndsOnTimeWithoutADaemon) {
  RunResult r = RunSkynetctl("--feed ipc:///tmp/skynetctl-test-nofeed.sock tail --for 0.3");
  EXPECT_EQ(r.exit_code, 0) << r.err;
  EXPECT_EQ(r.out, "");
}

TEST(SkynetctlCliTest, TailPrintsOnlyTheChosenCameraAndStopsAtCount) {
  std::string tmpl = (fs::temp_directory_path() / "skynetctl-feed.XXXXXX").string();
  fs::path dir = mkdtemp(tmpl.data());
  const std::string endpoint = "ipc://" + (dir / "feed.sock").string();
  zmq::context_t context;
  zmq::socket_t pub(context, zmq::socket_type::pub);
  pub.set(zmq::sockopt::linger, 0);
  pub.bind(endpoint);

  auto tail = std::async(std::launch::async, [&] {
    return RunSkynetctl("--feed " + endpoint + " tail --camera cam1 --count 2 --for 20");
  });
  auto publish = [&](const std::string& camera, uint64_t id) {
    skynet::v1::Event e;
    e.set_camera_id(camera);
    e.set_capture_time_us(1'795'888'862'123'000);
    e.mutable_motion_ended()->set_motion_id(id);
    e.mutable_motion_ended()->set_duration_ms(1500);
    std::string topic = "motion/" + camera, bytes = e.SerializeAsString();
    std::array<zmq::const_buffer, 2> frames = {zmq::buffer(topic), zmq::buffer(bytes)};
    zmq::send_multipart(pub, frames);
  };
  // The subscriber joins at some point (slow joiner): keep publishing until skynetctl exits.
  uint64_t id = 0;
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(20);
  while (tail.wait_for(std::chrono::milliseconds(20)) != std::future_status::ready &&
         std::chrono::steady_clock::now() < deadline) {
    publish("cam10", ++id);  // matches the topic prefix "motion/cam1", must be filtered out
    publish("cam1", ++id);
  }
  RunResult r = tail.get();
  fs::remove_all(dir);
  EXPECT_EQ(r.exit_code, 0) << r.err;
  std::istringstream lines(r.out);
  std::string line;
  int count = 0;
  while (std::getline(lines, line)) {
    ++count;
    EXPECT_NE(line.find(" cam1 motion-ended #"), std::string::npos) << line;
    EXPECT_NE(line.find("duration=1.5s"), std::string::npos) << line;
  }
  EXPECT_EQ(count, 2) << r.out;
}

}  // namespace
