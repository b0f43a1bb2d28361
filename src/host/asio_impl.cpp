// Boost.Asio's non-template implementation, compiled once (BOOST_ASIO_SEPARATE_COMPILATION) and
// without -Werror: g++ 12 reports a false -Wnull-dereference inside Asio's scheduler when it is
// inlined into project code.
#include <boost/asio/impl/src.hpp>
