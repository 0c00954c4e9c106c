#pragma once

// One CAF error category per part of cafmcp (supervise, core, cluster): the
// codes of an enum, an optional context string, rendered as
// "prefix:code_name (context)". Each part keeps its enum and to_string;
// these hold what is the same for all of them.

#include <cstdint>
#include <string>

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/error.hpp>
#include <caf/message.hpp>

namespace cafmcp::errors {

template <class Enum>
caf::error category_error(caf::atom_value category, Enum code, std::string context = {}) {
  if (context.empty())
    return caf::error{static_cast<uint8_t>(code), category};
  return caf::error{static_cast<uint8_t>(code), category, caf::make_message(std::move(context))};
}

template <class Enum>
bool is_category_error(const caf::error& e, caf::atom_value category, Enum code) {
  return e.category() == category && e.code() == static_cast<uint8_t>(code);
}

/// Registers the renderer of `category`; `to_string(Enum)` is found by ADL.
template <class Enum>
void add_error_category(caf::actor_system_config& cfg, caf::atom_value category, std::string prefix) {
  cfg.add_error_category(category, [prefix](uint8_t code, caf::atom_value, const caf::message& ctx) {
    auto out = prefix + ":" + to_string(static_cast<Enum>(code));
    if (ctx.match_elements<std::string>())
      out += " (" + ctx.get_as<std::string>(0) + ")";
    return out;
  });
}

} // namespace cafmcp::errors
