// Who may read the observability port when it has a token.

#include <doctest/doctest.h>

#include "observability/web_server.hpp"

using cafmcp::observability::web_authorized;

TEST_CASE("with a token, metrics and the dashboard need it in the Authorization header or the query - probes do not") {
  const std::string token = "s3cret";
  CHECK_FALSE(web_authorized("/metrics", "", token));
  CHECK(web_authorized("/metrics", "Bearer s3cret", token));
  CHECK_FALSE(web_authorized("/metrics", "Bearer s3cre", token));
  CHECK_FALSE(web_authorized("/metrics", "Bearer s3cretX", token));
  CHECK_FALSE(web_authorized("/metrics", "Basic s3cret", token));
  CHECK(web_authorized("/dashboard?token=s3cret", "", token));
  CHECK(web_authorized("/events?x=1&token=s3cret", "", token));
  CHECK_FALSE(web_authorized("/events?token=", "", token));
  CHECK_FALSE(web_authorized("/events?notoken=s3cret", "", token));
  for (auto probe : {"/health", "/ready", "/live", "/health?verbose=1"})
    CHECK(web_authorized(probe, "", token));
  // No token configured: everything is open, as before.
  CHECK(web_authorized("/metrics", "", ""));
}
