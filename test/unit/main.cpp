#define BOOST_TEST_MODULE conclave unit tests
#include <boost/test/unit_test.hpp>
