// Status and Result<T>: how skynetd functions report failure without exceptions.
//
// A Status is ok or carries a code and a message that names what failed and where.
// Result<T> holds either a T or a non-ok Status (shaped like std::expected, which GCC 12 lacks).
//
//   Result<Config> r = LoadConfig(path);
//   if (!r) { spdlog::error("{}", r.status().ToString()); return 2; }
//   Config cfg = std::move(r).value();
//
// Thread-compatible: values, no shared state.
#pragma once

#include <cassert>
#include <optional>
#include <string>
#include <utility>
#include <variant>

namespace skynet {

enum class StatusCode {
  kOk = 0,
  kInvalidArgument,  // bad input from a user: config, CLI, control request
  kNotFound,
  kAlreadyExists,
  kUnavailable,      // a peer or resource is not reachable now; retrying may help
  kInternal,
  kIoError,
  kPermissionDenied,
  kDeadlineExceeded,
};

class [[nodiscard]] Status {
 public:
  Status() = default;
  Status(StatusCode code, std::string message) : code_(code), message_(std::move(message)) {}

  static Status Ok() { return {}; }
  static Status InvalidArgument(std::string m) { return {StatusCode::kInvalidArgument, std::move(m)}; }
  static Status NotFound(std::string m) { return {StatusCode::kNotFound, std::move(m)}; }
  static Status AlreadyExists(std::string m) { return {StatusCode::kAlreadyExists, std::move(m)}; }
  static Status Unavailable(std::string m) { return {StatusCode::kUnavailable, std::move(m)}; }
  static Status Internal(std::string m) { return {StatusCode::kInternal, std::move(m)}; }
  static Status IoError(std::string m) { return {StatusCode::kIoError, std::move(m)}; }
  static Status PermissionDenied(std::string m) { return {StatusCode::kPermissionDenied, std::move(m)}; }
  static Status DeadlineExceeded(std::string m) { return {StatusCode::kDeadlineExceeded, std::move(m)}; }

  bool ok() const { return code_ == StatusCode::kOk; }
  StatusCode code() const { return code_; }
  const std::string& message() const { return message_; }
  // "invalid argument: <message>", or "ok".
  std::string ToString() const;

 private:
  StatusCode code_ = StatusCode::kOk;
  std::string message_;
};

const char* StatusCodeName(StatusCode code);

template <typename T>
class [[nodiscard]] Result {
 public:
  Result(T value) : value_(std::move(value)) {}  // NOLINT: implicit by design
  Result(Status status) : status_(std::move(status)) { assert(!status_.ok()); }  // NOLINT

  bool ok() const { return value_.has_value(); }
  explicit operator bool() const { return ok(); }
  const Status& status() const { return status_; }

  T& value() & { assert(ok()); return *value_; }
  const T& value() const& { assert(ok()); return *value_; }
  T&& value() && { assert(ok()); return std::move(*value_); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }

 private:
  std::optional<T> value_;
  Status status_;
};

}  // namespace skynet

// Returns early from the enclosing function if `expr` yields a non-ok Status.
#define SKYNET_RETURN_IF_ERROR(expr)        \
  do {                                      \
    ::skynet::Status _st = (expr);          \
    if (!_st.ok()) return _st;              \
  } while (0)

// `lhs = std::move(value)` of a Result<T>, or returns its Status from the enclosing function:
//   SKYNET_ASSIGN_OR_RETURN(node->bus, EventBus::Create(options));
#define SKYNET_ASSIGN_OR_RETURN(lhs, expr) \
  SKYNET_ASSIGN_OR_RETURN_IMPL(SKYNET_STATUS_CONCAT(_result_, __LINE__), lhs, expr)
#define SKYNET_ASSIGN_OR_RETURN_IMPL(tmp, lhs, expr) \
  auto tmp = (expr);                                 \
  if (!tmp.ok()) return tmp.status();                \
  lhs = std::move(tmp).value()
#define SKYNET_STATUS_CONCAT(a, b) SKYNET_STATUS_CONCAT_INNER(a, b)
#define SKYNET_STATUS_CONCAT_INNER(a, b) a##b
