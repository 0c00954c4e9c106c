// The relay: a call forwarded to another member, sent as this node, its answer handed back to the node actor.
#include "cluster/relay.hpp"

#include <caf/all.hpp>

#include "cluster/errors.hpp"

namespace cafmcp::cluster {

caf::behavior relay(caf::event_based_actor* self, caf::actor parent, uint64_t number, caf::actor member,
                    caf::message call, std::string what) {
  self->send(member, std::move(call));
  auto done = [self, parent, number](caf::message answer) {
    self->send(parent, relayed_atom::value, number, std::move(answer));
    self->quit();
  };
  self->set_error_handler([done](caf::error& err) { done(caf::make_message(std::move(err))); });
  self->monitor(member); // a member that dies answers nothing: say so at once
  self->set_down_handler([done, what](caf::down_msg&) {
    done(caf::make_message(make_error(errc::unreachable, what + ": the member went away")));
  });
  self->set_default_handler([done](caf::scheduled_actor*, caf::message_view& x) -> caf::result<caf::message> {
    done(x.copy_content_to_message());
    return caf::message{};
  });
  return {
    caf::after(relay_limit) >> [done, what] {
      done(caf::make_message(make_error(errc::timeout, what + ": no answer within "
                                                         + std::to_string(relay_limit.count()) + " ms")));
    },
  };
}

} // namespace cafmcp::cluster
