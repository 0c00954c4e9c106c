// Tool calls routed to other cluster members: the caller's relay and the member's runner.
#include "cli/member_calls.hpp"

#include <atomic>

#include <caf/all.hpp>

#include "actors/core_sup.hpp"
#include "actors/errors.hpp"
#include "base/log.hpp"
#include "cluster/messages.hpp"
#include "protocol/versions.hpp"
#include "supervision/worker.hpp"

namespace cafmcp::cli {

using nlohmann::json;
using namespace std::chrono_literals;

namespace {

using member_tick_atom = caf::atom_constant<caf::atom("mc_tick")>;
using member_lost_atom = caf::atom_constant<caf::atom("mc_lost")>;

constexpr auto tick = 100ms; // how soon a cancellation or a lost member is noticed

// -- on the member: running the call ---------------------------------------------

/// Where a routed call's notifications and answer go: back to the caller's
/// relay. The call is never routed again here (the caller decided), and it
/// acts for the caller's subject and tenant.
class member_sink : public protocol::request_sink {
public:
  member_sink(caf::actor relay, caf::actor runner, std::string subject, std::string tenant, std::string from)
    : relay_(std::move(relay)), runner_(std::move(runner)), subject_(std::move(subject)), tenant_(std::move(tenant)),
      from_(std::move(from)) {}
  // As the runner: the relay takes answers only from it, and the runner
  // its done only from itself.
  void notify(const json& n) override { caf::send_as(runner_, relay_, member_note_atom::value, n.dump()); }
  void respond(const json& r) override {
    caf::send_as(runner_, relay_, member_done_atom::value, r.dump());
    caf::send_as(runner_, runner_, member_done_atom::value);
  }
  std::string subject() const override { return subject_; }
  std::string tenant() const override { return tenant_; }
  std::string client_address() const override { return "member " + from_; }
  bool limited() const override { return false; } // limited where it arrived
  std::optional<std::shared_ptr<const protocol::route_table>> routes() const override {
    return std::shared_ptr<const protocol::route_table>{}; // no table: run the tool named
  }

private:
  caf::actor relay_;
  caf::actor runner_;
  std::string subject_, tenant_, from_;
};

/// Whether the current message comes from `a` (peers can address any actor
/// whose handle they were given: these take messages only from their partner).
/// By address, not by handle: once a remote actor is reported down its proxy
/// is dropped, and a message it sent before (on another connection, say)
/// arrives with a new proxy of the same actor.
bool sent_by(caf::event_based_actor* self, const caf::actor& a) {
  auto s = self->current_sender();
  return s && a && s->id() == a->id() && s->node() == a->node();
}

/// One routed call on the member that runs it: ends with its answer, or
/// when the caller cancels it or goes away (its relay's node died).
caf::behavior member_runner(caf::event_based_actor* self, std::shared_ptr<const protocol::endpoint_env> env,
                            json envelope, caf::actor relay) {
  auto ep = std::make_shared<protocol::endpoint>(*env);
  auto from = envelope.value("from", "");
  // Calls routed here running now, and how they ended, by the member that sent them.
  auto& metrics = env->route_metrics;
  auto* running = metrics ? &metrics->gauge("cafmcp_member_calls_running",
                                            "Tool calls other members' routing rules run here now") : nullptr;
  if (running)
    running->add(1);
  auto ended = [metrics, running, from](const char* outcome) {
    if (!metrics)
      return;
    running->add(-1);
    metrics->counter("cafmcp_member_calls_total", "Tool calls other members' routing rules ran here, by how they ended",
                     {{"from", from}, {"outcome", outcome}}).inc();
  };
  self->monitor(relay);
  self->set_down_handler([self, ep, ended](caf::down_msg&) {
    ep->cancel_all();
    ended("caller_lost");
    self->quit();
  });
  auto sink = std::make_shared<member_sink>(relay, caf::actor_cast<caf::actor>(self), envelope.value("subject", ""),
                                            envelope.value("tenant", ""), from);
  ep->handle_value(envelope["request"], sink);
  auto me = caf::actor_cast<caf::actor>(self);
  return {
    [self, ep, ended, relay](member_cancel_atom) {
      if (!sent_by(self, relay))
        return;
      ep->cancel_all();
      ended("cancelled");
      self->quit();
    },
    [self, ended, me](member_done_atom) {
      if (!sent_by(self, me))
        return;
      ended("answered");
      self->quit();
    },
  };
}

caf::behavior member_tools(caf::event_based_actor* self, endpoint_slot slot, std::shared_ptr<cluster::cluster_view> view,
                           std::string path) {
  return {
    [self, slot, view, path](member_call_atom, const std::string& text, caf::actor& relay) -> caf::result<caf::actor> {
      // Only members reach this agent (the gateway lets members alone call
      // it, and no one else holds its handle); the relay must be one of theirs.
      if (!relay || relay.node() == self->node() || !view->trusted(relay.node()))
        return actors::make_error(actors::errc::invalid_argument, "a routed call needs a member's relay");
      auto env = std::atomic_load(slot.get());
      if (!env)
        return actors::make_error(actors::errc::not_found, "this member does not serve MCP yet (starting)");
      auto envelope = json::parse(text, nullptr, false);
      if (!envelope.is_object() || !envelope.contains("request") || !envelope["request"].is_object())
        return actors::make_error(actors::errc::invalid_argument, "a routed call needs {\"request\": {...}}");
      for (auto key : {"subject", "tenant", "from"})
        if (!envelope[key].is_string())
          return actors::make_error(actors::errc::invalid_argument, std::string{"a routed call needs \""} + key + "\" (a string)");
      auto& request = envelope["request"];
      auto method = request.contains("method") && request["method"].is_string() ? request["method"].get<std::string>() : "";
      if (method != "tools/call" && method != "prompts/get" && method != "resources/read")
        return actors::make_error(actors::errc::invalid_argument,
                                  "rules route tools/call, prompts/get and resources/read, not " + method);
      if (log::enabled(log::level::debug))
        log::debug(path, method + " routed here by " + envelope["from"].get<std::string>());
      return self->spawn(member_runner, std::move(env), std::move(envelope), std::move(relay));
    },
  };
}

// -- on the caller: relaying the call -------------------------------------------

/// What a relayed request is to whoever made it here: a tool call, or a
/// request answered once (prompts/get, resources/read).
struct relay_party {
  std::function<bool()> cancelled;            // the client gave up
  std::function<void(const json&)> note;      // a notification the member sent for it
  std::function<void(const json&)> answer;    // the member's response (result or error)
  std::function<void(const std::string&)> fail; // no answer: why (the member named)
};

struct relay_args {
  caf::actor node;
  std::string member;
  std::string envelope;
  relay_party party;
  std::chrono::milliseconds timeout;
  std::shared_ptr<cluster::cluster_view> view;
};

/// A member's notification, passed on to the call's client (progress and
/// log messages; anything else is not the call's to send).
void relay_note(protocol::tool_call& call, const json& n) {
  auto method = n.value("method", "");
  auto p = n.find("params");
  if (p == n.end() || !p->is_object())
    return;
  auto progress = p->find("progress");
  auto level = p->find("level");
  auto message = p->find("message");
  if (method == "notifications/progress" && progress != p->end() && progress->is_number()) {
    std::optional<double> total;
    if (auto t = p->find("total"); t != p->end() && t->is_number())
      total = t->get<double>();
    call.progress(progress->get<double>(), total,
                  message != p->end() && message->is_string() ? message->get<std::string>() : std::string{});
  } else if (method == "notifications/message" && level != p->end() && level->is_string()) {
    call.log(level->get<std::string>(), p->value("data", json{}));
  }
}

/// The member's error, with the member named.
protocol::rpc_error member_error(const std::string& member, const json& e) {
  auto code = e.find("code");
  auto message = e.find("message");
  return {code != e.end() && code->is_number_integer() ? code->get<int>() : protocol::rpc_code::internal_error,
          "member " + member + ": " + (message != e.end() && message->is_string() ? message->get<std::string>() : "failed"),
          e.value("data", json{})};
}

/// The member's result as its own: without what the member's era added.
json plain_result(json result) {
  for (auto key : {"resultType", "_meta", "ttlMs", "cacheScope"})
    result.erase(key);
  return result;
}

/// The member's answer, given to the call: its result, or its error with
/// the member named.
void relay_answer(protocol::tool_call& call, const std::string& member, const json& r) {
  if (auto e = r.find("error"); e != r.end() && e->is_object()) {
    auto err = member_error(member, *e);
    return call.fail(err.code, err.message, err.data);
  }
  auto res = r.find("result");
  if (res == r.end() || !res->is_object() || res->value("resultType", "complete") != "complete")
    return call.fail(protocol::rpc_code::internal_error, "member " + member + " answered with something other than a tool result",
                     json{{"member", member}});
  protocol::tool_result out;
  out.content = res->value("content", json::array());
  out.structured = res->value("structuredContent", json{});
  out.is_error = res->value("isError", false);
  call.reply(std::move(out));
}

/// Whether `member` (not this node) is up and reachable, as this node's
/// last status table says.
bool member_up(const cluster::cluster_view& view, const std::string& member) {
  for (auto& r : view.rows())
    if (r.node == member)
      return !r.self && r.state == "up" && r.side != "unreachable";
  return false;
}

caf::behavior member_relay(caf::event_based_actor* self, relay_args a) {
  // What the relay needs after the request went out; the envelope (the
  // call's arguments) goes with the request and is not kept.
  struct state {
    caf::actor runner;   // the member's, once it took the call
    bool ended = false;  // answered, failed, or cancelled by the client
    bool cancelled = false;
    relay_party party;
    std::string member;
    std::chrono::milliseconds timeout;
    std::chrono::steady_clock::time_point deadline;
    std::shared_ptr<cluster::cluster_view> view;
    // A relay that dies before it answered (a throw) still answers.
    ~state() {
      if (!ended && party.fail)
        party.fail("member " + member + ": the call's relay ended without an answer");
    }
  };
  auto st = std::make_shared<state>();
  st->party = std::move(a.party);
  st->member = a.member;
  st->timeout = a.timeout;
  st->deadline = std::chrono::steady_clock::now() + a.timeout;
  st->view = std::move(a.view);
  auto fail = [self, st](const std::string& why) {
    if (st->ended)
      return;
    st->ended = true;
    if (st->runner)
      self->send(st->runner, member_cancel_atom::value);
    st->party.fail("member " + st->member + " " + why);
    self->quit();
  };
  // Answers only from the member's runner (before it is known: from a member).
  auto from_runner = [self, st] {
    if (st->runner)
      return sent_by(self, st->runner);
    auto s = self->current_sender();
    return s && s->node() != self->node() && st->view->trusted(s->node());
  };
  auto from_self = [self] { return sent_by(self, caf::actor_cast<caf::actor>(self)); };
  self->request(a.node, 10s, cluster::call_atom::value, a.member, std::string{"member_tools"},
                caf::make_message(member_call_atom::value, std::move(a.envelope), caf::actor_cast<caf::actor>(self)))
    .then(
      [self, st](caf::actor& runner) {
        if (st->cancelled) { // the client gave up while the member was taking it
          self->send(runner, member_cancel_atom::value);
          return self->quit();
        }
        if (st->ended)
          return;
        st->runner = runner;
        self->monitor(runner);
      },
      [self, st, fail](caf::error& err) {
        if (st->cancelled)
          return self->quit();
        fail("did not take the call: " + self->system().render(err));
      });
  self->set_down_handler([self, st](caf::down_msg& m) {
    if (!st->ended) // its answer may still be on its way: wait a moment for it
      self->delayed_send(self, 1s, member_lost_atom::value, self->system().render(m.reason));
  });
  self->delayed_send(self, tick, member_tick_atom::value);
  return {
    [self, st, fail, from_self](member_tick_atom) {
      if (st->ended || !from_self())
        return;
      if (st->party.cancelled && st->party.cancelled()) {
        st->ended = st->cancelled = true;
        if (st->runner) {
          self->send(st->runner, member_cancel_atom::value);
          self->quit();
        }
        return; // else once the member says it took the call
      }
      if (!member_up(*st->view, st->member))
        return fail("left this node's view of the cluster during the call");
      if (std::chrono::steady_clock::now() >= st->deadline)
        return fail("did not answer within " + std::to_string(st->timeout.count())
                    + " ms (cluster.member_call_timeout_ms); the call was cancelled there");
      self->delayed_send(self, tick, member_tick_atom::value);
    },
    [fail, from_self](member_lost_atom, const std::string& why) {
      if (from_self())
        fail("ended the call without an answer (" + why + ")");
    },
    [st, from_runner](member_note_atom, const std::string& text) {
      if (st->ended || !st->party.note || !from_runner())
        return;
      auto n = json::parse(text, nullptr, false);
      if (n.is_object())
        st->party.note(n);
    },
    [self, st, from_runner](member_done_atom, const std::string& text) {
      if (st->ended || !from_runner())
        return;
      st->ended = true;
      auto r = json::parse(text, nullptr, false);
      try {
        if (!r.is_object())
          throw std::invalid_argument("not a JSON object");
        st->party.answer(r);
      } catch (const std::exception& e) {
        st->party.fail("member " + st->member + " answered with something unusable: " + e.what());
      }
      self->quit();
    },
  };
}

class cluster_member_calls : public protocol::member_calls {
public:
  cluster_member_calls(std::shared_ptr<actors::name_table> names, std::shared_ptr<cluster::cluster_view> view,
                       std::string me, std::chrono::milliseconds timeout)
    : names_(std::move(names)), view_(std::move(view)), me_(std::move(me)), timeout_(timeout) {}

  std::string me() const override { return me_; }

  bool reachable(const std::string& member) const override { return member_up(*view_, member); }

  void call(const std::string& member, const std::string& tool, const json& arguments,
            std::shared_ptr<protocol::tool_call> call) override {
    // No client capabilities (a tool that asks the client for input fails
    // there with -32021), every log level (the call here passes on what
    // its client asked for), its progress token.
    json meta{{protocol::meta_key::log_level, "debug"}};
    if (call->meta().is_object())
      if (auto t = call->meta().find("progressToken"); t != call->meta().end())
        meta["progressToken"] = *t;
    relay_party party;
    party.cancelled = [call] { return call->cancelled(); };
    party.note = [call](const json& n) { relay_note(*call, n); };
    party.answer = [call, member](const json& r) { relay_answer(*call, member, r); };
    party.fail = [call, member](const std::string& why) {
      call->fail(protocol::rpc_code::internal_error, why, json{{"member", member}});
    };
    send(member, "tools/call", json{{"name", tool}, {"arguments", arguments}}, std::move(meta), call->subject(),
         call->tenant(), std::move(party));
  }

  void relay(const std::string& member, const std::string& method, const json& params, const std::string& subject,
             const std::string& tenant, protocol::relay_reply done) override {
    relay_party party;
    party.answer = [done, member](const json& r) {
      if (auto e = r.find("error"); e != r.end() && e->is_object())
        return done(std::nullopt, member_error(member, *e));
      if (auto res = r.find("result"); res != r.end() && res->is_object())
        return done(plain_result(*res), std::nullopt);
      done(std::nullopt, protocol::rpc_error{protocol::rpc_code::internal_error,
                                             "member " + member + " answered with neither a result nor an error",
                                             json{{"member", member}}});
    };
    party.fail = [done, member](const std::string& why) {
      done(std::nullopt, protocol::rpc_error{protocol::rpc_code::internal_error, why, json{{"member", member}}});
    };
    send(member, method, params, json::object(), subject, tenant, std::move(party));
  }

private:
  /// Sends `method` with `params` to `member` as a stateless request for
  /// `subject` and `tenant`, through a relay that tells `party` how it went.
  void send(const std::string& member, const std::string& method, json params, json meta, const std::string& subject,
            const std::string& tenant, relay_party party) const {
    auto node = names_->lookup("node");
    if (!node)
      return party.fail("member " + member + " cannot be reached: this node is not in a cluster right now");
    meta[protocol::meta_key::protocol_version] = protocol::modern_versions().back();
    meta[protocol::meta_key::client_capabilities] = json::object();
    params["_meta"] = std::move(meta);
    json request{{"jsonrpc", "2.0"}, {"id", 1}, {"method", method}, {"params", std::move(params)}};
    json envelope{{"subject", subject}, {"tenant", tenant}, {"from", me_}, {"request", std::move(request)}};
    relay_args a{node, member, envelope.dump(), std::move(party), timeout_, view_};
    node->home_system().spawn(member_relay, std::move(a));
  }

  std::shared_ptr<actors::name_table> names_;
  std::shared_ptr<cluster::cluster_view> view_;
  std::string me_;
  std::chrono::milliseconds timeout_;
};

} // namespace

supervision::child_spec member_tools_spec(endpoint_slot env, std::shared_ptr<cluster::cluster_view> view,
                                          std::shared_ptr<actors::name_table> names) {
  return actors::registered(supervision::worker_child("member_tools", member_tools, std::move(env), std::move(view)),
                            std::move(names));
}

void serve_member_calls(protocol::endpoint_env& env, std::shared_ptr<actors::name_table> names,
                        std::shared_ptr<cluster::cluster_view> view, std::string me,
                        std::chrono::milliseconds timeout, const endpoint_slot& slot) {
  env.members = std::make_shared<cluster_member_calls>(std::move(names), std::move(view), std::move(me), timeout);
  std::atomic_store(slot.get(), std::make_shared<const protocol::endpoint_env>(env));
}

} // namespace cafmcp::cli
