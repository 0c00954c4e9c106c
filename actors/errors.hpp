#pragma once

// Error codes of the tier-1 core actors.

#include <cstdint>
#include <string>

#include <caf/atom.hpp>
#include <caf/error.hpp>

namespace cafmcp::actors {

enum class errc : uint8_t {
  not_found = 1,      // no such name, session or key
  already_registered, // the name belongs to a live actor
  invalid_argument,   // a request with a value out of range
};

constexpr caf::atom_value error_category = caf::atom("core");

std::string to_string(errc x);
caf::error make_error(errc x, std::string context = {});
bool is(const caf::error& e, errc x);

} // namespace cafmcp::actors
