// libFuzzer target: bytes -> ControlServer::Handle(), what the control socket does with each
// request payload (bounded parse, ValidateRequest, role check, handler). Must never crash; every
// input gets a Response. Run: make fuzz (seeds in tests/fuzz/corpus/control, make_corpus.sh).
#include <cstddef>
#include <cstdint>
#include <memory>

#include "daemon/control_server.h"

namespace {

using skynet::daemon::ControlServer;

// Answers like a daemon would, touching every field the validated request carries.
skynet::v1::Response Handler(const skynet::v1::Request& request) {
  skynet::v1::Response response;
  response.set_ok(true);
  const std::string command = skynet::daemon::CommandName(request);
  if (command == "status") {
    response.mutable_status();
  } else if (command == "list_cameras") {
    response.mutable_list_cameras();
  } else if (request.has_add_camera()) {
    response.mutable_camera_change()->set_camera_id(request.add_camera().id());
  } else if (request.has_reload()) {
    response.mutable_reload();
  } else {
    response.set_ok(false);
    response.set_error("unsupported: " + command);
  }
  return response;
}

ControlServer& Server() {
  // One server for the whole run, on inproc:// (no files, no ports); its thread stays idle.
  static std::unique_ptr<ControlServer> server = [] {
    skynet::daemon::ControlServerOptions options;
    options.endpoint = "inproc://fuzz-control";
    auto created = ControlServer::Create(options, Handler);
    if (!created.ok()) __builtin_trap();
    return std::move(created).value();
  }();
  return *server;
}

}  // namespace

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  ControlServer& server = Server();
  for (skynet::daemon::Role role : {skynet::daemon::Role::kAdmin, skynet::daemon::Role::kRead}) {
    skynet::v1::Response response = server.Handle(data, size, {"fuzz", role});
    if (!response.ok() && response.error().empty()) __builtin_trap();  // refusals say why
  }
  return 0;
}
