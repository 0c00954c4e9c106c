#pragma once

// worker_child: the child spec of a worker that is a CAF function actor.
// Include it where the actor's function is defined (it pulls in CAF's spawn
// machinery; child_spec.hpp stays light).

#include <string>
#include <utility>

#include <caf/actor_system.hpp>

#include "supervision/child_spec.hpp"

namespace cafmcp::supervision {

/// A worker spec whose start spawns `fun(self, xs..., path)`: the actor gets
/// its arguments and, last, its full path in the tree (for its log lines).
template <class F, class... Ts>
child_spec worker_child(std::string id, F fun, Ts... xs) {
  child_spec spec;
  spec.id = std::move(id);
  spec.start = [fun, xs...](const start_context& ctx) -> caf::expected<caf::actor> {
    return ctx.system.spawn(fun, xs..., ctx.path);
  };
  return spec;
}

} // namespace cafmcp::supervision
