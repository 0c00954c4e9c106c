#pragma once

// The cafmcp command line as a library: `cafmcp` itself is run(argc, argv),
// and a server author's binary is the same with its own tools added:
//
//   int main(int argc, char** argv) {
//     return cafmcp::cli::run(argc, argv, [](cafmcp::protocol::catalog& cat) {
//       cat.add_tool(...);
//     });
//   }
//
// Exit codes: 0 success, 1 operation failed, 2 bad usage or bad config.

#include <functional>

#include "protocol/catalog.hpp"

namespace cafmcp::cli {

int run(int argc, char** argv, std::function<void(protocol::catalog&)> extend = {});

} // namespace cafmcp::cli
