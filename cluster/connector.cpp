// The connector: one attempt to reach a node actor at host:port, off the node actor (remote_actor blocks).
#include "cluster/connector.hpp"

#include <caf/all.hpp>
#include <caf/io/all.hpp>
#include <caf/openssl/all.hpp>

#include "cluster/messages.hpp"
#include "cluster/tcp_probe.hpp"

namespace cafmcp::cluster {

void connector(caf::event_based_actor* self, caf::actor parent, std::string host, uint16_t port,
               std::chrono::milliseconds probe_timeout, bool tls) {
  caf::actor handle;
  std::string why;
  if (!tcp_probe(host, port, probe_timeout)) {
    why = "no answer from " + host + ":" + std::to_string(port);
  } else {
    auto r = tls ? caf::openssl::remote_actor(self->system(), host, port)
                 : self->system().middleman().remote_actor(host, port);
    if (r)
      handle = *r;
    else
      why = self->system().render(r.error());
  }
  self->send(parent, connected_atom::value, host, port, handle, why);
  self->quit();
}

} // namespace cafmcp::cluster
