#define DOCTEST_CONFIG_IMPLEMENT
#include <doctest/doctest.h>

#include <cstdlib>

#include "base/log.hpp"

int main(int argc, char** argv) {
  // Tests check behaviour, not log lines; keep their output readable.
  cafmcp::log::configure(getenv("CAFMCP_TEST_LOG") ? cafmcp::log::level::debug : cafmcp::log::level::error, cafmcp::log::format::text, "test");
  doctest::Context ctx;
  ctx.applyCommandLine(argc, argv);
  return ctx.run();
}
