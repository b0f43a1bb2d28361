// How many more bytes of child output the client allows resin to send (stdout and stderr together).
#pragma once

#include <cstdint>
#include <limits>

namespace resin::host {

class OutputCredit {
  public:
    void grant(std::uint32_t bytes) {
        const std::uint64_t room = std::numeric_limits<std::uint64_t>::max() - available_;
        available_ += bytes < room ? bytes : room;
    }
    void spend(std::uint64_t bytes) { available_ -= bytes; }
    std::uint64_t available() const { return available_; }

  private:
    std::uint64_t available_ = 0;
};

}  // namespace resin::host
