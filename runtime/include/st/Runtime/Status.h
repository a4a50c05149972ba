//===- Status.h - Success-or-message results for the runtime ----*- C++ -*-===//
//
// The runtime is built with -fno-exceptions, so every operation that can fail
// returns a Status (success, or a one-line message for the user) or an
// Expected<T> (a value, or the Status saying why there is none). Messages are
// single lines meant to be printed as-is and name the file involved, e.g.
// "ckpt.safetensors: checksum mismatch: file is corrupted".
//
//===----------------------------------------------------------------------===//

#ifndef ST_RUNTIME_STATUS_H
#define ST_RUNTIME_STATUS_H

#include <cassert>
#include <optional>
#include <string>
#include <utility>

namespace st {
namespace rt {

/// Success, or failure with a one-line message. Marked [[nodiscard]] so that
/// a dropped error is a compiler warning.
class [[nodiscard]] Status {
public:
  /// Success.
  Status() = default;

  static Status success() { return Status(); }

  /// Failure. `message` must be non-empty and contain no newline.
  static Status error(std::string message) {
    assert(!message.empty() && "an error needs a message");
    Status result;
    result.failed = true;
    result.text = std::move(message);
    return result;
  }

  bool isOk() const { return !failed; }
  bool isError() const { return failed; }

  /// The message; empty on success.
  const std::string &message() const { return text; }

private:
  bool failed = false;
  std::string text;
};

/// A value of type T, or the error Status that explains why there is none.
/// Converts implicitly from both, so a function returning Expected<T> can
/// `return value;` or `return Status::error("...");`.
template <typename T> class [[nodiscard]] Expected {
public:
  Expected(T value) : storage(std::move(value)) {}

  /// `status` must be an error: an Expected without a value needs a reason.
  Expected(Status status) : failure(std::move(status)) {
    assert(failure.isError() && "Expected built from a success Status");
  }

  bool isOk() const { return storage.has_value(); }
  explicit operator bool() const { return isOk(); }

  /// The error; a success Status when a value is present.
  const Status &status() const { return failure; }

  /// Shorthand for status().message().
  const std::string &message() const { return failure.message(); }

  /// Access to the value; only valid when isOk().
  T &operator*() {
    assert(isOk() && "no value in an error Expected");
    return *storage;
  }
  const T &operator*() const {
    assert(isOk() && "no value in an error Expected");
    return *storage;
  }
  T *operator->() { return &**this; }
  const T *operator->() const { return &**this; }

  /// Moves the value out; only valid when isOk().
  T take() { return std::move(**this); }

private:
  std::optional<T> storage;
  Status failure;
};

} // namespace rt
} // namespace st

#endif // ST_RUNTIME_STATUS_H
