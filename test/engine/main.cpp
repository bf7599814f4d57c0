#define BOOST_TEST_MODULE conclave engine tests
#include <boost/test/unit_test.hpp>
