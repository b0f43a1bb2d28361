// Linked only into the static resin (src/host/CMakeLists.txt). resin resolves no host names, but
// Asio's resolver is compiled in with the rest of Asio and refers to getaddrinfo; static glibc's
// getaddrinfo would load NSS modules from the host's shared libraries at run time, the one thing a
// static resin must never do. These definitions keep glibc's out of the executable (and its link
// warning out of the build): a call fails instead.
#include <netdb.h>

extern "C" int getaddrinfo(const char*, const char*, const addrinfo*, addrinfo** result) {
    *result = nullptr;
    return EAI_FAIL;
}

extern "C" void freeaddrinfo(addrinfo*) {}
