// skynet-chaosproxy: a misbehaving TCP proxy on loopback, until SIGINT/SIGTERM.
//
// stdout: "listen 127.0.0.1:PORT", then "control 127.0.0.1:PORT" with --control-port, then
// "ready"; logs go to stderr. The control port takes one mode per line (pass, delay MS,
// blackhole, reset, corrupt RATE, refuse; or "stats") and answers "ok ..." or "error: ...".
// Exit codes: 0 after a signal, 2 for bad arguments, 1 otherwise.
//
//   skynet-chaosproxy --target 127.0.0.1:8554 --listen 9554 --control-port 9555
//   echo "blackhole" | nc -q1 127.0.0.1 9555
#include <csignal>
#include <iostream>
#include <string>

#include <CLI/CLI.hpp>

#include "pipeline/core/logging.h"
#include "tools/chaosproxy/chaosproxy.h"

int main(int argc, char** argv) {
  sigset_t stop_signals;
  sigemptyset(&stop_signals);
  sigaddset(&stop_signals, SIGINT);
  sigaddset(&stop_signals, SIGTERM);
  pthread_sigmask(SIG_BLOCK, &stop_signals, nullptr);

  CLI::App app{"skynet-chaosproxy: a TCP proxy on loopback that can pass, delay, blackhole, "
               "reset, corrupt or refuse"};
  skynet::chaos::ProxyOptions options;
  std::string target, mode = "pass", log_level = "info";
  app.add_option("--target", target, "HOST:PORT to forward to")->required();
  app.add_option("--listen", options.listen_port, "port on 127.0.0.1; 0 picks a free one")
      ->capture_default_str()
      ->check(CLI::Range(0, 65535));
  app.add_option("--control-port", options.control_port,
                 "line-protocol control on 127.0.0.1 (0 picks a free one)")
      ->check(CLI::Range(0, 65535));
  app.add_option("--mode", mode, "initial mode, as on the control port")->capture_default_str();
  app.add_option("--log-level", log_level, "trace|debug|info|warn|error|off")
      ->capture_default_str();
  try {
    app.parse(argc, argv);
  } catch (const CLI::CallForHelp& e) {
    return app.exit(e);
  } catch (const CLI::ParseError& e) {
    std::cerr << "skynet-chaosproxy: " << e.what() << "\n";
    return 2;
  }
  if (!skynet::SetLogLevel(log_level)) {
    std::cerr << "skynet-chaosproxy: --log-level: unknown level '" << log_level << "'\n";
    return 2;
  }
  skynet::InitLogging(log_level);
  const size_t colon = target.rfind(':');
  try {
    if (colon == std::string::npos) throw std::invalid_argument("no port");
    options.target_host = target.substr(0, colon);
    options.target_port = std::stoi(target.substr(colon + 1));
  } catch (const std::exception&) {
    std::cerr << "skynet-chaosproxy: --target: expected HOST:PORT, got '" << target << "'\n";
    return 2;
  }
  auto parsed = skynet::chaos::ParseMode(mode);
  if (!parsed) {
    std::cerr << "skynet-chaosproxy: --mode: " << parsed.status().message() << "\n";
    return 2;
  }
  options.mode = *parsed;
  auto proxy = skynet::chaos::Proxy::Start(options);
  if (!proxy) {
    std::cerr << "skynet-chaosproxy: " << proxy.status().ToString() << "\n";
    return proxy.status().code() == skynet::StatusCode::kInvalidArgument ? 2 : 1;
  }
  std::cout << "listen 127.0.0.1:" << (*proxy)->port() << "\n";
  if (options.control_port >= 0) std::cout << "control 127.0.0.1:" << (*proxy)->control_port() << "\n";
  std::cout << "ready" << std::endl;
  int sig = 0;
  sigwait(&stop_signals, &sig);
  skynet::GetLogger("chaos")->info("signal {}: stopping", sig);
  return 0;
}
