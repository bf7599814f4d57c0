// Beast and Asio's SSL layer compiled once (BOOST_BEAST_SEPARATE_COMPILATION).
#include <boost/asio/ssl/impl/src.hpp>
#include <boost/beast/src.hpp>
