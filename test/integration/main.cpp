#define BOOST_TEST_MODULE conclave integration tests
#include <boost/test/unit_test.hpp>
