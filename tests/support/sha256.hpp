// SHA-256 over a stream of bytes (OpenSSL's libcrypto), for tests that compare what went in with
// what came out without keeping either.
#pragma once

#include <memory>
#include <string>
#include <string_view>

struct evp_md_ctx_st;

namespace resin::test {

class Sha256 {
  public:
    Sha256();
    Sha256(const Sha256&) = delete;
    Sha256& operator=(const Sha256&) = delete;
    ~Sha256();

    void update(std::string_view bytes);
    // The digest in lower-case hex. Call once.
    std::string hex_digest();

  private:
    evp_md_ctx_st* context_;
};

}  // namespace resin::test
