#define BOOST_TEST_MODULE conclave redis tests
#include <boost/test/unit_test.hpp>
