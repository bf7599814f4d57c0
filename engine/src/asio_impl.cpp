// Asio compiled once for the whole project (BOOST_ASIO_SEPARATE_COMPILATION): every other
// translation unit includes only declarations, which keeps 2-core rebuilds fast.
#include <boost/asio/impl/src.hpp>
