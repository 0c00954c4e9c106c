#pragma once

// The client side of the fault tests: writer threads that write unique values
// to state handles through MCP tools/call and record every operation in a
// history::checker, and the final reads through every node that the checker
// judges. How a call reaches node i is the test's (127.0.0.1 ports, or curl
// inside a network namespace). Every loop is bounded in count and time.

#include <atomic>
#include <chrono>
#include <cstdlib>
#include <functional>
#include <iostream>
#include <random>
#include <set>
#include <string>
#include <thread>
#include <vector>

#include <doctest/doctest.h>
#include <nlohmann/json.hpp>

#include "tests/support/history.hpp"
#include "tests/support/mcp_call.hpp"

namespace cafmcp::test {

/// A tools/call of `tool` with `args` on node `node`: the JSON-RPC reply
/// (null or a string when there was none).
using node_call = std::function<nlohmann::json(size_t node, const std::string& tool, const nlohmann::json& args)>;

/// Calls on 127.0.0.1: node i at port_of(i) (0: the node is down, the call fails at once).
inline node_call loopback_call(std::function<uint16_t(size_t)> port_of,
                               std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
  return [port_of = std::move(port_of), timeout](size_t node, const std::string& tool, const nlohmann::json& args) {
    auto port = port_of(node);
    if (port == 0)
      return nlohmann::json("node down");
    return mcp_tool_call(port, tool, args, timeout).body;
  };
}

/// The fault suite's knobs (bench/fault_suite.sh), defaulting to the short CI values:
/// CAFMCP_FAULT_SECONDS, how long each nemesis runs; CAFMCP_FAULT_NODES, the cluster size.
inline int fault_env(const char* name, int fallback) {
  auto v = std::getenv(name);
  if (!v || !*v)
    return fallback;
  int n = std::atoi(v);
  return n > 0 ? n : fallback;
}

inline bool tool_ok(const nlohmann::json& reply) {
  return reply.is_object() && reply.contains("result") && !reply["result"].value("isError", false);
}

/// What a failed call said: the tool's error text, the JSON-RPC error, or "no answer".
inline std::string tool_error(const nlohmann::json& reply) {
  if (reply.is_object() && reply.contains("result") && reply["result"]["content"].is_array()
      && !reply["result"]["content"].empty())
    return reply["result"]["content"][0].value("text", "");
  if (reply.is_object() && reply.contains("error"))
    return "rpc error " + std::to_string(reply["error"].value("code", 0)) + ": " + reply["error"].value("message", "");
  if (reply.is_string() && !reply.get<std::string>().empty())
    return "not JSON-RPC: " + reply.get<std::string>().substr(0, 120);
  return "no answer";
}

/// A session_get reply as a history::read (without node and times).
inline history::read classify_read(const std::string& handle, const std::string& key, const nlohmann::json& reply) {
  history::read r;
  r.handle = handle;
  r.key = key;
  if (tool_ok(reply)) {
    r.result = history::read::outcome::value;
    r.value = reply["result"]["structuredContent"].value("value", "");
    return r;
  }
  auto why = tool_error(reply);
  if (why.find("no value stored under") != std::string::npos)
    r.result = history::read::outcome::no_value;
  else if (why.find("unknown or expired handle") != std::string::npos)
    r.result = history::read::outcome::gone;
  else {
    r.result = history::read::outcome::error;
    r.error = why;
  }
  return r;
}

struct workload_options {
  size_t writers = 2;
  /// The nodes writer w sends to (one picked at random per write; all of them when empty).
  std::function<std::vector<size_t>(size_t writer)> targets;
  size_t nodes = 3;
  /// Every Nth acknowledged write is read back through the same node (0: never).
  size_t own_read_every = 4;
  /// After a failed call the writer waits this long (a node that is down answers at once).
  std::chrono::milliseconds pause_after_error{20};
  /// A writer stops by itself after this long even if never stopped.
  std::chrono::seconds limit{120};
  /// The first sequence number and epoch (later rounds of a test continue where the last stopped).
  long first_seq = 1;
  int first_epoch = 0;
  unsigned seed = 17;
};

/// Writer threads: writer w writes key "w<w>e<epoch>" of the handles in turn
/// (so it alone writes those keys, one write at a time), value
/// history::value_of(handle, key, w, seq), seq increasing, at the default
/// consistency; each write and its answer go into the checker. The test moves
/// to the next epoch right before and right after each fault (next_epoch), so
/// that no write after a fault supersedes one acknowledged before it: a write
/// lost at the fault stays visible to the final reads.
class workload {
public:
  workload(history::checker& h, std::vector<std::string> handles, node_call call, workload_options opt)
    : h_(h), handles_(std::move(handles)), call_(std::move(call)), opt_(std::move(opt)), epoch_(opt_.first_epoch) {
    h_.start(history::clock::now());
    for (size_t w = 0; w < opt_.writers; ++w)
      threads_.emplace_back([this, w] { run(w); });
  }

  workload(const workload&) = delete;
  workload& operator=(const workload&) = delete;

  void finish() {
    stop_ = true;
    for (auto& t : threads_)
      t.join();
    threads_.clear();
  }

  ~workload() { finish(); }

  /// From now on, writers write new keys (call it at each fault).
  void next_epoch() { ++epoch_; }
  int epoch() const { return epoch_; }

  /// The highest sequence number used so far (a next round starts above it).
  long last_seq() const { return last_seq_; }
  size_t attempted() const { return attempted_; }

private:
  void run(size_t w) {
    std::mt19937 rng{opt_.seed + static_cast<unsigned>(w) * 7919u};
    std::vector<size_t> targets = opt_.targets ? opt_.targets(w) : std::vector<size_t>{};
    if (targets.empty())
      for (size_t n = 0; n < opt_.nodes; ++n)
        targets.push_back(n);
    auto deadline = history::clock::now() + opt_.limit;
    long seq = opt_.first_seq;
    size_t acked = 0;
    for (size_t i = w; !stop_ && history::clock::now() < deadline; ++i, ++seq) {
      auto& handle = handles_[i % handles_.size()];
      auto key = "w" + std::to_string(w) + "e" + std::to_string(epoch_.load());
      auto node = targets[std::uniform_int_distribution<size_t>{0, targets.size() - 1}(rng)];
      auto value = history::value_of(handle, key, static_cast<int>(w), seq);
      auto invoked = history::clock::now();
      auto reply = call_(node, "session_set", {{"handle", handle}, {"key", key}, {"value", value}});
      auto completed = history::clock::now();
      bool ok = tool_ok(reply);
      h_.write(handle, key, static_cast<int>(w), seq, value, invoked, completed, ok, ok ? std::string{} : tool_error(reply));
      ++attempted_;
      bump(seq);
      if (!ok) {
        std::this_thread::sleep_for(opt_.pause_after_error);
        continue;
      }
      if (opt_.own_read_every != 0 && ++acked % opt_.own_read_every == 0) {
        auto sent = history::clock::now();
        auto got = call_(node, "session_get", {{"handle", handle}, {"key", key}});
        auto r = classify_read(handle, key, got);
        r.node = "n" + std::to_string(node + 1);
        r.invoked = sent;
        r.completed = history::clock::now();
        h_.own_read(static_cast<int>(w), r);
      }
    }
  }

  void bump(long seq) {
    long prev = last_seq_.load();
    while (seq > prev && !last_seq_.compare_exchange_weak(prev, seq)) {
    }
  }

  history::checker& h_;
  std::vector<std::string> handles_;
  node_call call_;
  workload_options opt_;
  std::atomic<int> epoch_;
  std::atomic<bool> stop_{false};
  std::atomic<long> last_seq_{0};
  std::atomic<size_t> attempted_{0};
  std::vector<std::thread> threads_;
};

/// Every node's read of every key with an acknowledged write and of every
/// deleted handle (its key "w0"; node i is named n<i+1>).
inline std::vector<history::read> read_everything(const history::checker& h, const node_call& call,
                                                  const std::vector<size_t>& nodes) {
  std::vector<history::read> out;
  auto acked = h.keys();
  std::set<std::pair<std::string, std::string>> keys{acked.begin(), acked.end()};
  for (auto& handle : h.deleted())
    keys.emplace(handle, "w0");
  for (auto n : nodes)
    for (auto& [handle, key] : keys) {
      auto invoked = history::clock::now();
      auto reply = call(n, "session_get", {{"handle", handle}, {"key", key}});
      auto r = classify_read(handle, key, reply);
      r.node = "n" + std::to_string(n + 1);
      r.invoked = invoked;
      r.completed = history::clock::now();
      out.push_back(std::move(r));
    }
  return out;
}

/// Reads everything through `nodes` until the checker finds the reads valid
/// or `limit` has passed (then the last report, with what is wrong); the
/// report's converge time runs from h.healed(…) to the valid reads.
inline history::report converge(const history::checker& h, const node_call& call, const std::vector<size_t>& nodes,
                                std::chrono::seconds limit = std::chrono::seconds(15)) {
  auto deadline = history::clock::now() + limit;
  history::report r;
  for (int attempt = 0; attempt < 200; ++attempt) {
    r = h.check(read_everything(h, call, nodes));
    if (r.valid() || history::clock::now() >= deadline)
      break;
    std::this_thread::sleep_for(std::chrono::milliseconds(200));
  }
  if (!r.valid())
    r.converge.reset(); // it did not converge
  return r;
}

/// Prints the report line (stdout, for bench/fault_suite.sh) and its
/// details, then checks what every history must pass: nothing acknowledged
/// lost, nothing deleted back, no value never written, own writes read.
/// `own_reads_promised` false: a nemesis under which docs/CLUSTER.md does not
/// promise read-your-writes (a bridge: two primaries for a moment); the
/// stale reads are reported, not failed.
inline void judge(const history::report& r, const std::string& nemesis, size_t nodes, bool own_reads_promised = true) {
  std::cout << r.line(nemesis, nodes) << std::endl;
  MESSAGE(r.line(nemesis, nodes) << "\n" << r.details());
  CHECK(r.lost.empty());
  CHECK(r.resurrected == 0);
  CHECK(r.unexpected == 0);
  if (own_reads_promised)
    CHECK(r.stale_own_reads == 0);
  CHECK(r.unread == 0);
  CHECK(r.acknowledged > 0);
}

} // namespace cafmcp::test
