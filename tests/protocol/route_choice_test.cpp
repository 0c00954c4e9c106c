// protocol/route_choice: what a node adds to a routing decision (here, the metrics' target label).
#include <doctest/doctest.h>

#include <string>

#include "protocol/route_choice.hpp"

using namespace cafmcp::protocol;

TEST_CASE("routing metrics name at most 1000 distinct targets - a client's names past that read other") {
  // The names may come from the client (a rule over "*" or a URI glob):
  // sent without end, they must not make series without end.
  auto label = [](int i) { return target_label(route_decision{"r", "cafmcp://echo/" + std::to_string(i), false, 1, "n2"}); };
  for (int i = 0; i < 1100; ++i)
    label(i);
  CHECK(label(0) == "cafmcp://echo/0@n2"); // the first ones keep their names
  CHECK(label(999) == "cafmcp://echo/999@n2");
  CHECK(label(1000) == "other");
  CHECK(label(5000) == "other");
}
