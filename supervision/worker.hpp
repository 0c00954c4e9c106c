#pragma once

// worker_child: the child spec of a worker that is a CAF function actor.
// Include it where the actor's function is defined (it pulls in CAF's spawn
// machinery; child_spec.hpp stays light).

#include <cstdint>
#include <string>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/behavior.hpp>

#include "supervision/child_spec.hpp"
#include "supervision/messages.hpp"

namespace cafmcp::supervision {

/// A worker spec whose start spawns `fun(self, xs..., path)`: the actor gets
/// its arguments and, last, its full path in the tree (for its log lines).
/// The worker also answers mailbox_atom (for the admin shell's tree): only
/// the actor itself may measure its mailbox.
template <class Self, class... Params, class... Ts>
child_spec worker_child(std::string id, caf::behavior (*fun)(Self*, Params...), Ts... xs) {
  child_spec spec;
  spec.id = std::move(id);
  spec.answers_mailbox = true;
  spec.start = [fun, xs...](const start_context& ctx) -> caf::expected<caf::actor> {
    auto body = [fun, xs...](Self* self, std::string path) -> caf::behavior {
      auto b = fun(self, xs..., path);
      if (!b)
        return b; // it quit at start
      caf::behavior extra{
        [self](mailbox_atom) { return static_cast<uint64_t>(self->mailbox().size()); },
      };
      return b.as_behavior_impl()->or_else(extra.as_behavior_impl());
    };
    return ctx.system.spawn(body, ctx.path);
  };
  return spec;
}

} // namespace cafmcp::supervision
