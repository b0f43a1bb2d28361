// The error value every sandbox step returns: what failed, why, and where (errno, JSON pointer).
#pragma once

#include <boost/outcome/basic_result.hpp>
#include <boost/outcome/policy/terminate.hpp>
#include <string>

namespace resin::sandbox {

enum class ErrorKind {
    invalid_config,        // the config does not validate
    unsupported_config,    // valid, but this host cannot enforce it: refused (fail closed)
    executable_not_found,  // the command does not exist inside the sandbox
    permission_denied,     // the command exists but may not be executed
    spawn_failed,          // building the sandbox or starting the process failed
    internal,              // resin itself failed
};

struct Error {
    ErrorKind kind = ErrorKind::internal;
    std::string message;  // one line: what failed and why
    std::string pointer;  // the JSON pointer of the config field at fault, if any
    int sys_errno = 0;    // the errno behind it, if any
};

// Builds an error for a failed system call: "<what>: <strerror(errno)>".
Error system_error(ErrorKind kind, const std::string& what, int err);

template <typename T>
using Result =
    BOOST_OUTCOME_V2_NAMESPACE::basic_result<T, Error,
                                             BOOST_OUTCOME_V2_NAMESPACE::policy::terminate>;

inline auto success() {
    return BOOST_OUTCOME_V2_NAMESPACE::success();
}

}  // namespace resin::sandbox

// Evaluates `expr` (a Result); returns its error from the enclosing function, else binds its value
// to `var`. The Boost in Debian 12 predates BOOST_OUTCOME_TRY's declaration syntax, hence our own.
#define RESIN_CONCAT_INNER(a, b) a##b
#define RESIN_CONCAT(a, b) RESIN_CONCAT_INNER(a, b)
#define RESIN_TRY_IMPL(tmp, var, expr) \
    auto tmp = (expr);                 \
    if (!tmp) {                        \
        return std::move(tmp).error(); \
    }                                  \
    var = std::move(tmp).value()
#define RESIN_TRY(var, expr) RESIN_TRY_IMPL(RESIN_CONCAT(resin_try_, __LINE__), var, expr)
#define RESIN_TRYV(expr)                             \
    do {                                             \
        if (auto resin_tryv = (expr); !resin_tryv) { \
            return std::move(resin_tryv).error();    \
        }                                            \
    } while (false)
