// An Erlang/OTP supervisor on CAF.
#include "supervision/supervisor.hpp"

#include "base/error_category.hpp"

#include <deque>
#include <map>
#include <memory>
#include <random>
#include <unordered_map>
#include <unordered_set>

#include <caf/all.hpp>

#include "supervision/errors.hpp"
#include "base/log.hpp"
#include "supervision/messages.hpp"
#include "supervision/restart_backoff.hpp"
#include "base/audit_log.hpp"
#include "base/trace.hpp"
#include "supervision/tree.hpp"

namespace cafmcp::supervision {

namespace {

using kill_timer_atom = caf::atom_constant<caf::atom("sv_killtmr")>;
using retry_atom = caf::atom_constant<caf::atom("sv_retry")>;
using clock_type = std::chrono::steady_clock;

/// One child (or, under simple_one_for_one, one running instance).
struct child {
  child_spec spec;
  caf::message extra;        // simple_one_for_one: start_child's extra args
  caf::actor handle;         // set while running
  uint64_t incarnation = 0;  // bumped on every start
  uint64_t restarts = 0;     // restarts of this child (by the supervisor or restart_child)
  bool restart_pending = false;
  bool parked = false;                       // optional, past the intensity: waiting to be retried
  std::deque<clock_type::time_point> recent; // optional: its own restart window
  restart_backoff backoff;
  clock_type::time_point started_at;
};

using done_fn = std::function<void()>;
using error_fn = std::function<void(caf::error)>;

class supervisor_actor : public caf::event_based_actor {
public:
  supervisor_actor(caf::actor_config& cfg, std::string path, supervisor_flags flags,
                   std::vector<child_spec> specs)
    : caf::event_based_actor(cfg),
      path_(std::move(path)),
      flags_(flags),
      initial_specs_(std::move(specs)) {
  }

  const char* name() const override {
    return "supervisor";
  }

  caf::behavior make_behavior() override {
    set_exit_handler([this](caf::exit_msg& m) { on_exit(m); });
    set_down_handler([this](caf::down_msg& m) { on_down(m); });
    // Messages for children that are gone (e.g. a restart retry) are dropped.
    set_default_handler(caf::drop);
    add_job([this] { init(); });
    return {
      [this](ready_atom) {
        auto rp = make_response_promise();
        if (started_)
          rp.deliver(caf::ok_atom::value);
        else
          ready_waiters_.push_back(rp);
        return rp;
      },
      [this](info_atom) { return info(); },
      [this](which_children_atom) { return which_children(); },
      [this](count_children_atom) { return count_children(); },
      [this](mailbox_atom) { return static_cast<uint64_t>(mailbox().size()); },
      [this](start_child_atom, child_spec& spec) {
        return api([this, spec](error_or_actor_fn k) mutable { start_new(std::move(spec), {}, k); });
      },
      [this](start_child_atom, child_spec_desc& desc) {
        auto spec = from_desc(desc);
        return api([this, spec](error_or_actor_fn k) mutable {
          if (!spec)
            return k(spec.error());
          start_new(std::move(*spec), {}, k);
        });
      },
      [this](start_child_atom, caf::message& extra) {
        return api([this, extra](error_or_actor_fn k) {
          if (flags_.how != strategy::simple_one_for_one)
            return k(make_error(errc::bad_spec, "start_child with arguments needs a "
                                                "simple_one_for_one supervisor; give a child spec"));
          start_new(template_, extra, k);
        });
      },
      [this](restart_child_atom, std::string& id) {
        return api([this, id](error_or_actor_fn k) { restart_child(id, k); });
      },
      [this](terminate_child_atom, std::string& id) {
        return api([this, id](error_or_actor_fn k) { terminate_child(id, k); });
      },
      [this](delete_child_atom, std::string& id) {
        return api([this, id](error_or_actor_fn k) { delete_child(id, k); });
      },
      [this](kill_timer_atom, caf::actor_id aid) { on_kill_timer(aid); },
      [this](retry_atom, uint64_t key) {
        add_job([this, key] { retry_restart(key); });
      },
    };
  }

private:
  using error_or_actor_fn = std::function<void(caf::expected<caf::actor>)>;

  // -- the job queue --------------------------------------------------------
  // Operations that stop or start children wait for exits and handshakes.
  // They run one at a time, in arrival order, like OTP's sequential
  // supervisor; each calls done() when finished.

  struct job {
    std::function<void()> run;
    std::function<void()> cancel; // answers a waiting caller when we stop first
  };

  void add_job(std::function<void()> run, std::function<void()> cancel = {}) {
    jobs_.push_back(job{std::move(run), std::move(cancel)});
    pump();
  }

  void cancel_jobs() {
    auto pending = std::move(jobs_);
    jobs_.clear();
    for (auto& j : pending)
      if (j.cancel)
        j.cancel();
  }

  void pump() {
    if (pumping_)
      return;
    pumping_ = true;
    while (!busy_ && !jobs_.empty() && !shutting_down_) {
      auto next = std::move(jobs_.front());
      jobs_.pop_front();
      busy_ = true;
      next.run();
    }
    pumping_ = false;
  }

  void done() {
    busy_ = false;
    pump();
  }

  /// Wraps an API operation into a job answering a response promise.
  caf::response_promise api(std::function<void(error_or_actor_fn)> op) {
    auto rp = make_response_promise();
    if (shutting_down_) {
      rp.deliver(make_error(errc::shutting_down, path_));
      return rp;
    }
    add_job(
      [this, rp, op]() mutable {
        op([this, rp](caf::expected<caf::actor> r) mutable {
          if (r)
            rp.deliver(std::move(*r));
          else
            rp.deliver(std::move(r.error()));
          done();
        });
      },
      [this, rp]() mutable { rp.deliver(make_error(errc::shutting_down, path_)); });
    return rp;
  }

  // -- helpers --------------------------------------------------------------

  std::string child_path(const child& c) const {
    return path_ + "/" + c.spec.id;
  }

  std::string display_id(uint64_t key) const {
    auto& c = children_.at(key);
    if (flags_.how == strategy::simple_one_for_one)
      return c.handle ? std::to_string(c.handle.id()) : c.spec.id;
    return c.spec.id;
  }

  child* find(uint64_t key) {
    auto i = children_.find(key);
    return i == children_.end() ? nullptr : &i->second;
  }

  /// Finds a child by id; under simple_one_for_one the id is an actor id.
  std::optional<uint64_t> find_id(const std::string& id) const {
    if (flags_.how == strategy::simple_one_for_one) {
      char* end = nullptr;
      auto aid = std::strtoull(id.c_str(), &end, 10);
      if (id.empty() || *end != '\0')
        return std::nullopt;
      auto i = by_actor_.find(aid);
      if (i == by_actor_.end())
        return std::nullopt;
      return i->second;
    }
    for (auto& [key, c] : children_)
      if (c.spec.id == id)
        return key;
    return std::nullopt;
  }

  std::vector<uint64_t> keys_from(uint64_t first) const {
    std::vector<uint64_t> out;
    for (auto i = children_.lower_bound(first); i != children_.end(); ++i)
      out.push_back(i->first);
    return out;
  }

  std::string render(const caf::error& e) {
    return e ? system().render(e) : std::string{"normal"};
  }

  static bool is_shutdown_reason(const caf::error& e) {
    return e == caf::exit_reason::user_shutdown;
  }

  // -- starting -------------------------------------------------------------

  void init() {
    if (flags_.how == strategy::simple_one_for_one) {
      if (initial_specs_.size() != 1)
        return fail_init(make_error(errc::bad_spec, path_ + ": simple_one_for_one needs exactly one "
                                                            "child spec, got "
                                                            + std::to_string(initial_specs_.size())));
      template_ = std::move(initial_specs_.front());
      initial_specs_.clear();
      return init_done();
    }
    std::vector<uint64_t> keys;
    std::unordered_set<std::string> ids;
    for (auto& spec : initial_specs_) {
      if (!ids.insert(spec.id).second)
        return fail_init(make_error(errc::bad_spec, path_ + ": duplicate child id " + spec.id));
      auto key = next_key_++;
      children_[key].spec = std::move(spec);
      keys.push_back(key);
    }
    initial_specs_.clear();
    start_sequence(keys, 0, [this, keys](caf::error err, size_t failed_at) {
      if (!err)
        return init_done();
      // Unwind: stop the children that did start, in reverse order.
      std::vector<uint64_t> started(keys.begin(), keys.begin() + failed_at);
      std::reverse(started.begin(), started.end());
      stop_sequence(started, [this, err] { fail_init(err); });
    });
  }

  void init_done() {
    started_ = true;
    for (auto& rp : ready_waiters_)
      rp.deliver(caf::ok_atom::value);
    ready_waiters_.clear();
    log::debug(path_, "started (" + std::string{to_string(flags_.how)} + ", "
                        + std::to_string(children_.size()) + " children)");
    done();
  }

  void fail_init(caf::error err) {
    log::error(path_, "start failed: " + render(err));
    for (auto& rp : ready_waiters_)
      rp.deliver(err);
    ready_waiters_.clear();
    shutting_down_ = true;
    cancel_jobs();
    quit(std::move(err));
  }

  /// Starts `keys[i..]` in order; reports the first failure and its index.
  void start_sequence(std::vector<uint64_t> keys, size_t i,
                      std::function<void(caf::error, size_t)> k) {
    if (i == keys.size())
      return k(caf::error{}, i);
    start_one(keys[i], [this, keys, i, k](caf::error err) {
      if (err)
        return k(std::move(err), i);
      start_sequence(keys, i + 1, k);
    });
  }

  /// Runs the start function of child `key`; links to and records the child.
  void start_one(uint64_t key, error_fn k) {
    if (shutting_down_)
      return k(make_error(errc::shutting_down, path_));
    auto* c = find(key);
    if (!c)
      return k(make_error(errc::not_found));
    c->restart_pending = false;
    caf::expected<caf::actor> res{caf::actor{}};
    try {
      res = c->spec.start(start_context{system(), child_path(*c), c->spec.args + c->extra});
    } catch (const std::exception& e) {
      res = caf::make_error(caf::sec::runtime_error, std::string{e.what()});
    }
    if (!res) {
      auto err = res.error();
      log::error(path_, "child " + c->spec.id + " failed to start: " + render(err));
      return k(make_error(errc::start_failed, c->spec.id + ": " + render(err)));
    }
    auto h = std::move(*res);
    if (!h) {
      log::info(path_, "child " + c->spec.id + " ignored its start");
      return k(caf::error{});
    }
    // Monitor, not link: in CAF a linked peer's death by `kill` is fatal
    // even to an actor that traps exits, and an actor unlinks whoever sends
    // it an exit request. Our children die with us through on_exit().
    monitor(h);
    c->handle = h;
    c->incarnation += 1;
    c->started_at = clock_type::now();
    by_actor_[h.id()] = key;
    if (c->parked) {
      c->parked = false;
      log::info(path_, "unparked " + c->spec.id + ": it started again");
    }
    if (c->spec.type == child_type::worker) {
      log::info(path_, "started " + c->spec.id + " (actor " + std::to_string(h.id()) + ")");
      return k(caf::error{});
    }
    // A supervisor child has started once all its own children have.
    auto aid = h.id();
    starting_[aid] = k;
    request(h, caf::infinite, ready_atom::value)
      .then(
        [this, aid, key](caf::ok_atom) {
          auto i = starting_.find(aid);
          if (i == starting_.end())
            return;
          auto k = std::move(i->second);
          starting_.erase(i);
          if (auto* c = find(key))
            log::info(path_, "started " + c->spec.id + " (supervisor, actor " + std::to_string(aid)
                               + ")");
          k(caf::error{});
        },
        [this, aid, key](caf::error& err) {
          if (err == caf::sec::request_receiver_down)
            return; // the down message tells why
          auto i = starting_.find(aid);
          if (i == starting_.end())
            return;
          auto k = std::move(i->second);
          starting_.erase(i);
          if (auto* c = find(key); c && c->handle)
            send_exit(c->handle, caf::exit_reason::kill);
          auto id = display_id(key);
          forget_child_actor(key, aid);
          k(make_error(errc::start_failed, id + ": " + render(err)));
        });
  }

  void forget_child_actor(uint64_t key, caf::actor_id aid) {
    by_actor_.erase(aid);
    if (auto* c = find(key))
      if (c->handle && c->handle.id() == aid)
        c->handle = nullptr;
  }

  // -- stopping -------------------------------------------------------------

  struct stopping_entry {
    caf::actor handle;
    done_fn k;
  };

  /// Stops child `key` according to its shutdown spec; `k` runs once it has
  /// exited. The spec stays (callers erase it where OTP does).
  void stop_one(uint64_t key, done_fn k) {
    auto* c = find(key);
    if (!c || !c->handle)
      return k();
    auto h = c->handle;
    auto aid = h.id();
    forget_child_actor(key, aid);
    if (auto i = starting_.find(aid); i != starting_.end()) {
      auto sk = std::move(i->second);
      starting_.erase(i);
      sk(make_error(errc::shutting_down, path_));
    }
    auto id = c->spec.id;
    stopping_[aid] = stopping_entry{h, [this, id, k] {
                                      log::info(path_, "stopped " + id);
                                      k();
                                    }};
    auto sd = c->spec.effective_shutdown();
    switch (sd.how) {
      case shutdown_spec::kind::brutal_kill:
        send_exit(h, caf::exit_reason::kill);
        break;
      case shutdown_spec::kind::timeout:
        send_exit(h, caf::exit_reason::user_shutdown);
        delayed_send(this, sd.timeout, kill_timer_atom::value, aid);
        break;
      case shutdown_spec::kind::infinity:
        send_exit(h, caf::exit_reason::user_shutdown);
        break;
    }
  }

  void on_kill_timer(caf::actor_id aid) {
    auto i = stopping_.find(aid);
    if (i == stopping_.end())
      return;
    log::warning(path_, "actor " + std::to_string(aid)
                          + " did not stop within its shutdown timeout; killing it");
    send_exit(i->second.handle, caf::exit_reason::kill);
  }

  /// Stops `keys` one after the other, in the given order.
  void stop_sequence(std::vector<uint64_t> keys, done_fn k) {
    if (keys.empty())
      return k();
    auto first = keys.front();
    keys.erase(keys.begin());
    stop_one(first, [this, keys, k] { stop_sequence(keys, k); });
  }

  /// Stops `keys` all at once (simple_one_for_one: no defined order).
  void stop_parallel(const std::vector<uint64_t>& keys, done_fn k) {
    auto left = std::make_shared<size_t>(keys.size() + 1);
    auto one_done = [left, k] {
      if (--*left == 0)
        k();
    };
    for (auto key : keys)
      stop_one(key, one_done);
    one_done();
  }

  // -- exits ----------------------------------------------------------------

  /// Completes the deliberate stop of `aid`, if one is under way.
  bool stop_completed(caf::actor_id aid) {
    auto i = stopping_.find(aid);
    if (i == stopping_.end())
      return false;
    auto k = std::move(i->second.k);
    stopping_.erase(i);
    k();
    check_shutdown_complete();
    return true;
  }

  void on_down(caf::down_msg& m) {
    if (!m.source)
      return;
    auto aid = m.source.id();
    if (stop_completed(aid))
      return;
    if (auto i = starting_.find(aid); i != starting_.end()) {
      // A supervisor child died before it finished starting.
      auto k = std::move(i->second);
      starting_.erase(i);
      auto key = by_actor_.count(aid) ? by_actor_[aid] : 0;
      auto id = key ? display_id(key) : std::to_string(aid);
      forget_child_actor(key, aid);
      k(make_error(errc::start_failed, id + ": " + render(m.reason)));
      check_shutdown_complete();
      return;
    }
    if (auto i = by_actor_.find(aid); i != by_actor_.end())
      child_exited(i->second, aid, std::move(m.reason));
    // Anything else is stale (a child we already gave up on).
  }

  /// Exits reach a supervisor only as requests (it links to nobody): from
  /// its parent, an operator or the node on shutdown.
  void on_exit(caf::exit_msg& m) {
    shutdown(std::move(m.reason), "exit request: " + render(m.reason));
  }

  /// Runs when this actor terminates. After an orderly shutdown no child
  /// runs; after a crash or a kill, the remaining children must not outlive
  /// their supervisor (OTP gets this from links).
  void on_exit() override {
    for (auto& [key, c] : children_)
      if (c.handle)
        send_exit(c.handle, caf::exit_reason::kill);
    children_.clear();
  }

  void child_exited(uint64_t key, caf::actor_id aid, caf::error reason) {
    auto& c = children_.at(key);
    auto id = display_id(key);
    forget_child_actor(key, aid);
    if (shutting_down_) {
      check_shutdown_complete();
      return;
    }
    log::write(reason ? log::level::warning : log::level::info, path_,
               "child " + id + " exited: " + render(reason));
    auto inc = c.incarnation;
    add_job([this, key, inc, reason] { handle_exit(key, inc, reason); });
  }

  static bool wants_restart(restart_type r, const caf::error& reason) {
    switch (r) {
      case restart_type::permanent: return true;
      case restart_type::temporary: return false;
      case restart_type::transient: return reason && !is_shutdown_reason(reason);
    }
    return false;
  }

  /// OTP's restart intensity over `times` (the supervisor's window, or an
  /// optional child's own): records a restart at `now`; true while the
  /// limit holds.
  bool add_restart(std::deque<clock_type::time_point>& times, clock_type::time_point now) const {
    times.push_back(now);
    while (!times.empty() && times.front() + flags_.period < now)
      times.pop_front();
    return static_cast<int>(times.size()) <= flags_.intensity;
  }

  bool add_restart() { return add_restart(restart_times_, clock_type::now()); }

  void handle_exit(uint64_t key, uint64_t incarnation, caf::error reason) {
    auto* c = find(key);
    // Already restarted or removed by something that ran in between.
    if (!c || c->incarnation != incarnation || c->handle || c->restart_pending)
      return done();
    if (!wants_restart(c->spec.restart, reason)) {
      if (c->spec.restart == restart_type::temporary || flags_.how == strategy::simple_one_for_one)
        children_.erase(key);
      return done();
    }
    if (c->spec.optional) {
      auto now = clock_type::now();
      if (!add_restart(c->recent, now)) {
        park(*c, key, now);
        return done();
      }
    }
    if (c->spec.backoff.enabled()) {
      auto delay = c->backoff.next(c->spec.backoff, c->started_at, clock_type::now(),
                                   std::uniform_real_distribution<double>{0, 1}(rng_));
      c->restart_pending = true;
      log::info(path_, "restarting " + c->spec.id + " in " + std::to_string(delay.count()) + " ms (backoff)");
      delayed_send(this, delay, retry_atom::value, key);
      return done();
    }
    if (c->spec.optional)
      return restart_by_strategy(key); // counted in its own window above
    if (!add_restart()) {
      log::error(path_, "reached max restart intensity (" + std::to_string(flags_.intensity)
                          + " in " + std::to_string(flags_.period.count())
                          + " ms); shutting down");
      return shutdown(caf::exit_reason::user_shutdown, "max restart intensity reached");
    }
    restart_by_strategy(key);
  }

  void retry_restart(uint64_t key) {
    auto* c = find(key);
    if (!c || c->handle)
      return done();
    if (c->restart_pending && (c->spec.backoff.enabled() || c->spec.optional))
      return restart_by_strategy(key); // backoff restarts and optional children's are not counted
    if (!add_restart()) {
      log::error(path_, "reached max restart intensity while retrying " + c->spec.id
                          + "; shutting down");
      return shutdown(caf::exit_reason::user_shutdown, "max restart intensity reached");
    }
    restart_by_strategy(key);
  }

  /// An optional child past the intensity: not escalated, retried later.
  void park(child& c, uint64_t key, clock_type::time_point now) {
    auto policy = c.spec.backoff.enabled() ? c.spec.backoff : default_park_backoff();
    auto delay = c.backoff.next(policy, c.started_at, now, std::uniform_real_distribution<double>{0, 1}(rng_));
    if (!c.parked)
      log::warning(path_, "parked " + c.spec.id + ": " + std::to_string(c.recent.size()) + " restarts in "
                            + std::to_string(flags_.period.count()) + " ms exceed the intensity ("
                            + std::to_string(flags_.intensity) + "); it is optional, so the node runs on without it "
                            "(degraded) and retries it in " + std::to_string(delay.count()) + " ms");
    else
      log::info(path_, "retrying parked " + c.spec.id + " in " + std::to_string(delay.count()) + " ms");
    c.parked = true;
    c.restart_pending = true;
    delayed_send(this, delay, retry_atom::value, key);
  }

  /// Restarts `key` (and, by strategy, its siblings). On a failed start the
  /// restart is retried through the mailbox, counting towards intensity.
  void restart_by_strategy(uint64_t key) {
    auto finish = [this, key](caf::error err) {
      if (err) {
        if (auto* c = find(key)) {
          c->restart_pending = true;
          if (c->spec.optional)
            park(*c, key, clock_type::now()); // a start that fails waits its backoff, not a busy loop
          else
            send(this, retry_atom::value, key);
        }
      }
      done();
    };
    auto& c = children_.at(key);
    c.restarts += 1;
    switch (flags_.how) {
      case strategy::one_for_one:
      case strategy::simple_one_for_one:
        log::info(path_, "restarting " + c.spec.id);
        start_one(key, finish);
        return;
      case strategy::one_for_all:
      case strategy::rest_for_one: {
        auto affected = flags_.how == strategy::one_for_all ? keys_from(0) : keys_from(key);
        log::info(path_, "restarting " + c.spec.id + " and " + std::to_string(affected.size() - 1)
                           + " sibling(s) (" + std::string{to_string(flags_.how)} + ")");
        std::vector<uint64_t> to_stop(affected.rbegin(), affected.rend());
        stop_sequence(to_stop, [this, affected, key, finish] {
          // Temporary siblings are not restarted; their specs go.
          std::vector<uint64_t> to_start;
          for (auto k : affected) {
            auto* s = find(k);
            if (!s)
              continue;
            if (k != key && s->spec.restart == restart_type::temporary) {
              children_.erase(k);
              continue;
            }
            if (k != key)
              s->restarts += 1;
            to_start.push_back(k);
          }
          start_sequence(to_start, 0, [finish](caf::error err, size_t) { finish(std::move(err)); });
        });
        return;
      }
    }
  }

  // -- runtime API ----------------------------------------------------------

  void start_new(child_spec spec, caf::message extra, const error_or_actor_fn& k) {
    if (!spec.start)
      return k(make_error(errc::bad_spec, "child spec " + spec.id + " has no start function"));
    if (flags_.how != strategy::simple_one_for_one) {
      if (extra.size() > 0)
        return k(make_error(errc::bad_spec));
      if (auto existing = find_id(spec.id)) {
        auto& c = children_.at(*existing);
        return k(make_error(c.handle ? errc::already_started : errc::already_present, spec.id));
      }
    }
    auto key = next_key_++;
    auto& c = children_[key];
    c.spec = std::move(spec);
    c.extra = std::move(extra);
    start_one(key, [this, key, k](caf::error err) {
      auto* c = find(key);
      if (err) {
        children_.erase(key);
        return k(std::move(err));
      }
      if (!c)
        return k(make_error(errc::not_found));
      if (!c->handle && flags_.how == strategy::simple_one_for_one)
        children_.erase(key); // ignored: nothing to keep
      k(c && c->handle ? c->handle : caf::actor{});
    });
  }

  /// OTP's checks for restart_child and delete_child: the key of a child
  /// that is neither running nor restarting, or the error for `k`.
  std::optional<uint64_t> stopped_child(const std::string& id, const error_or_actor_fn& k) {
    if (flags_.how == strategy::simple_one_for_one) {
      k(make_error(errc::simple_one_for_one));
      return std::nullopt;
    }
    auto key = find_id(id);
    if (!key) {
      k(make_error(errc::not_found, id));
      return std::nullopt;
    }
    auto& c = children_.at(*key);
    if (c.handle || c.restart_pending) {
      k(make_error(c.handle ? errc::running : errc::restarting, id));
      return std::nullopt;
    }
    return key;
  }

  void restart_child(const std::string& id, const error_or_actor_fn& k) {
    auto key = stopped_child(id, k);
    if (!key)
      return;
    start_one(*key, [this, key = *key, k](caf::error err) {
      if (err)
        return k(std::move(err));
      auto* c = find(key);
      if (c)
        c->restarts += 1; // an operator's restart counts too (not towards intensity)
      k(c ? c->handle : caf::actor{});
    });
  }

  void terminate_child(const std::string& id, const error_or_actor_fn& k) {
    auto key = find_id(id);
    if (!key)
      return k(make_error(errc::not_found, id));
    stop_one(*key, [this, key = *key, k] {
      auto* c = find(key);
      if (c && (c->spec.restart == restart_type::temporary
                || flags_.how == strategy::simple_one_for_one))
        children_.erase(key);
      else if (c)
        c->restart_pending = false;
      k(caf::actor{});
    });
  }

  void delete_child(const std::string& id, const error_or_actor_fn& k) {
    auto key = stopped_child(id, k);
    if (!key)
      return;
    children_.erase(*key);
    k(caf::actor{});
  }

  std::vector<child_info> which_children() const {
    std::vector<child_info> out;
    out.reserve(children_.size());
    for (auto& [key, c] : children_) {
      child_info row;
      row.id = display_id(key);
      row.handle = c.handle;
      row.state = c.handle ? "running" : c.parked ? "parked" : c.restart_pending ? "restarting" : "undefined";
      row.type = std::string{to_string(c.spec.type)};
      row.restart = std::string{to_string(c.spec.restart)};
      row.restarts = c.restarts;
      row.answers_mailbox = c.spec.answers_mailbox;
      out.push_back(std::move(row));
    }
    return out;
  }

  child_counts count_children() const {
    child_counts out;
    out.specs = flags_.how == strategy::simple_one_for_one ? 1 : children_.size();
    for (auto& [key, c] : children_) {
      if (c.handle)
        out.active += 1;
      if (c.spec.type == child_type::supervisor)
        out.supervisors += 1;
      else
        out.workers += 1;
    }
    return out;
  }

  supervisor_info info() const {
    supervisor_info out;
    out.path = path_;
    out.strategy = std::string{to_string(flags_.how)};
    out.intensity = flags_.intensity;
    out.period_ms = flags_.period.count();
    uint64_t total = 0;
    for (auto& [key, c] : children_)
      total += c.restarts;
    out.restarts = total;
    return out;
  }

  // -- shutdown -------------------------------------------------------------

  /// Stops all children (reverse start order; simple_one_for_one all at
  /// once), then exits with `reason`.
  void shutdown(caf::error reason, const std::string& why) {
    if (shutting_down_)
      return;
    shutting_down_ = true;
    exit_reason_ = std::move(reason);
    log::info(path_, "shutting down (" + why + ")");
    for (auto& rp : ready_waiters_)
      rp.deliver(make_error(errc::shutting_down, path_));
    ready_waiters_.clear();
    cancel_jobs(); // queued API calls will not run: answer their callers
    std::vector<uint64_t> running;
    for (auto i = children_.rbegin(); i != children_.rend(); ++i)
      if (i->second.handle)
        running.push_back(i->first);
    auto finish = [this] {
      stop_sequence_done_ = true;
      check_shutdown_complete();
    };
    if (flags_.how == strategy::simple_one_for_one)
      stop_parallel(running, finish);
    else
      stop_sequence(running, finish);
  }

  void check_shutdown_complete() {
    if (!shutting_down_ || quitting_ || !stop_sequence_done_ || !stopping_.empty()
        || !starting_.empty())
      return;
    for (auto& [key, c] : children_)
      if (c.handle)
        return;
    quitting_ = true;
    log::info(path_, "stopped");
    quit(exit_reason_);
  }

  std::string path_;
  supervisor_flags flags_;
  std::mt19937 rng_{std::random_device{}()}; // restart jitter
  std::vector<child_spec> initial_specs_;
  child_spec template_; // simple_one_for_one

  std::map<uint64_t, child> children_; // key order = start order
  uint64_t next_key_ = 1;
  std::unordered_map<caf::actor_id, uint64_t> by_actor_;
  std::unordered_map<caf::actor_id, stopping_entry> stopping_;
  std::unordered_map<caf::actor_id, error_fn> starting_;
  std::deque<clock_type::time_point> restart_times_;

  std::deque<job> jobs_;
  bool busy_ = false;
  bool pumping_ = false;
  bool started_ = false;
  bool shutting_down_ = false;
  bool stop_sequence_done_ = false;
  bool quitting_ = false;
  caf::error exit_reason_;
  std::vector<caf::response_promise> ready_waiters_;
};

} // namespace

caf::actor spawn_supervisor(caf::actor_system& sys, std::string path, supervisor_flags flags,
                            std::vector<child_spec> children) {
  return sys.spawn<supervisor_actor>(std::move(path), flags, std::move(children));
}

child_spec supervisor_child(std::string id, supervisor_flags flags,
                            std::vector<child_spec> children, restart_type restart) {
  child_spec spec;
  spec.id = std::move(id);
  spec.type = child_type::supervisor;
  spec.answers_mailbox = true;
  spec.restart = restart;
  spec.start = [flags, children](const start_context& ctx) -> caf::expected<caf::actor> {
    return ctx.system.spawn<supervisor_actor>(ctx.path, flags, children);
  };
  return spec;
}

child_spec function_child_template(std::string id, restart_type restart) {
  child_spec spec;
  spec.id = std::move(id);
  spec.restart = restart;
  spec.start = [](const start_context& ctx) -> caf::expected<caf::actor> {
    if (!ctx.args.match_elements<start_function>())
      return make_error(errc::bad_spec, "start_child needs a start function as its argument");
    auto fn = ctx.args.get_as<start_function>(0);
    return fn(start_context{ctx.system, ctx.path, caf::message{}});
  };
  return spec;
}

caf::expected<child_spec> from_desc(const child_spec_desc& desc) {
  child_spec spec;
  if (desc.id.empty())
    return make_error(errc::bad_spec, "child spec without id");
  if (desc.actor_type.empty())
    return make_error(errc::bad_spec, desc.id + ": no actor type");
  spec.id = desc.id;
  if (!parse(desc.restart, spec.restart))
    return make_error(errc::bad_spec, desc.id + ": restart must be permanent, transient or "
                                                "temporary, got " + desc.restart);
  if (!parse(desc.type, spec.type))
    return make_error(errc::bad_spec, desc.id + ": type must be worker or supervisor, got "
                                                + desc.type);
  if (desc.shutdown_ms < -1)
    return make_error(errc::bad_spec, desc.id + ": shutdown_ms must be -1, 0 or positive");
  spec.shutdown = desc.shutdown_ms < 0    ? shutdown_spec::infinity()
                  : desc.shutdown_ms == 0 ? shutdown_spec::brutal_kill()
                                          : shutdown_spec::after(std::chrono::milliseconds{desc.shutdown_ms});
  spec.args = desc.args;
  auto type_name = desc.actor_type;
  spec.start = [type_name](const start_context& ctx) -> caf::expected<caf::actor> {
    return ctx.system.spawn<caf::actor>(type_name, ctx.args);
  };
  return spec;
}

caf::error await_started(caf::actor_system& sys, const caf::actor& sup,
                         std::chrono::milliseconds timeout) {
  caf::scoped_actor self{sys};
  self->monitor(sup);
  caf::error result;
  self->request(sup, timeout, ready_atom::value)
    .receive([](caf::ok_atom) {}, [&](caf::error& err) { result = std::move(err); });
  if (result == caf::sec::request_receiver_down) {
    // It stopped before it could answer: its exit reason says why.
    self->receive([&](caf::down_msg& d) { result = d.reason; },
                  caf::after(timeout) >> [] {});
  }
  return result;
}

// -- enum names and errors ----------------------------------------------------

std::string_view to_string(strategy x) {
  switch (x) {
    case strategy::one_for_one: return "one_for_one";
    case strategy::one_for_all: return "one_for_all";
    case strategy::rest_for_one: return "rest_for_one";
    case strategy::simple_one_for_one: return "simple_one_for_one";
  }
  return "?";
}

std::string_view to_string(restart_type x) {
  switch (x) {
    case restart_type::permanent: return "permanent";
    case restart_type::transient: return "transient";
    case restart_type::temporary: return "temporary";
  }
  return "?";
}

std::string_view to_string(child_type x) {
  return x == child_type::worker ? "worker" : "supervisor";
}

namespace {

/// Finds the value among `all` whose name is `name`.
template <class E>
bool parse_enum(std::string_view name, std::initializer_list<E> all, E& out) {
  for (auto x : all)
    if (to_string(x) == name) {
      out = x;
      return true;
    }
  return false;
}

} // namespace

bool parse(std::string_view name, strategy& out) {
  return parse_enum(name,
                    {strategy::one_for_one, strategy::one_for_all, strategy::rest_for_one,
                     strategy::simple_one_for_one},
                    out);
}

bool parse(std::string_view name, restart_type& out) {
  return parse_enum(name, {restart_type::permanent, restart_type::transient, restart_type::temporary},
                    out);
}

bool parse(std::string_view name, child_type& out) {
  return parse_enum(name, {child_type::worker, child_type::supervisor}, out);
}

std::string to_string(errc x) {
  switch (x) {
    case errc::already_present: return "already_present";
    case errc::already_started: return "already_started";
    case errc::running: return "running";
    case errc::restarting: return "restarting";
    case errc::not_found: return "not_found";
    case errc::simple_one_for_one: return "simple_one_for_one";
    case errc::start_failed: return "start_failed";
    case errc::bad_spec: return "bad_spec";
    case errc::shutting_down: return "shutting_down";
    case errc::audit_failed: return "audit_failed";
  }
  return "unknown";
}

caf::error make_error(errc x) {
  return errors::category_error(error_category, x);
}

caf::error make_error(errc x, std::string context) {
  return errors::category_error(error_category, x, std::move(context));
}

bool is(const caf::error& e, errc x) {
  return errors::is_category_error(e, error_category, x);
}

void register_types(caf::actor_system_config& cfg) {
  cfg.add_message_type<child_info>("cafmcp.child_info");
  cfg.add_message_type<std::vector<child_info>>("cafmcp.child_info_list");
  cfg.add_message_type<child_counts>("cafmcp.child_counts");
  cfg.add_message_type<supervisor_info>("cafmcp.supervisor_info");
  cfg.add_message_type<child_spec_desc>("cafmcp.child_spec_desc");
  cfg.add_message_type<tree_node>("cafmcp.tree_node");
  cfg.add_message_type<std::vector<tree_node>>("cafmcp.tree_node_list");
  cfg.add_message_type<audit::audit_record>("cafmcp.audit_record");
  cfg.add_message_type<trace::context>("cafmcp.trace_context");
  errors::add_error_category<errc>(cfg, error_category, "supervision");
}

} // namespace cafmcp::supervision
