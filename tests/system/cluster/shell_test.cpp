// `cafmcp shell` against a real 3-node cluster: one command at a time (-c),
// as scripts use it, and interactively in tmux, as an operator does.

#include <fstream>
#include <sstream>

#include <unistd.h>

#include "tests/support/cluster_fixture.hpp"
#include "tests/support/http_client.hpp"
#include "tests/support/mcp_call.hpp"

using namespace cafmcp::test;

namespace {

/// `cafmcp shell -c CMD` against node `n` (with --json when asked).
run_result shell(const three_nodes& c, const cluster_node& n, const std::string& cmd, bool json = false) {
  std::vector<std::string> argv{binary, "shell", "--node", n.address(), "--cookie-file", c.cookie, "--certs-dir", certs_of(c.dir), "-c", cmd};
  if (json)
    argv.push_back("--json");
  return run(argv, 30s);
}

json shell_json(const three_nodes& c, const cluster_node& n, const std::string& cmd) {
  auto r = shell(c, n, cmd, true);
  INFO("shell -c " << cmd << " → " << r.code << ": " << r.err);
  REQUIRE(r.code == 0);
  auto j = json::parse(r.out, nullptr, false);
  REQUIRE_FALSE(j.is_discarded());
  return j;
}

/// The child `id` in a which_children --json answer.
json child(const json& kids, const std::string& id) {
  for (auto& k : kids)
    if (k["id"] == id)
      return k;
  return nullptr;
}

/// Polls which_children until `pred(child)` holds (bounded).
bool wait_child(const three_nodes& c, const cluster_node& via, const std::string& sup, const std::string& id,
                const std::function<bool(const json&)>& pred) {
  for (int i = 0; i < 50; ++i) { // bounded: 10 s
    auto r = shell(c, via, "which_children " + sup, true);
    if (r.code == 0) {
      auto kid = child(json::parse(r.out, nullptr, false), id);
      if (!kid.is_null() && pred(kid))
        return true;
    }
    std::this_thread::sleep_for(200ms);
  }
  return false;
}

/// A stateless MCP tools/call to node `n`; returns the result's structuredContent.
json call_tool(const cluster_node& n, const std::string& tool, const json& args) {
  auto r = mcp_tool_call(n.http_port, tool, args);
  REQUIRE_MESSAGE(r.status == 200, r.body.dump());
  return r.body["result"]["structuredContent"];
}

std::vector<json> audit_lines(const three_nodes& c, const std::string& node) {
  std::ifstream in{c.dir.path() + "/" + node + ".audit.jsonl"};
  std::vector<json> out;
  std::string line;
  while (std::getline(in, line))
    out.push_back(json::parse(line, nullptr, false));
  return out;
}

} // namespace

TEST_CASE("shell -c shows another node's tree, children and sessions - and explains a wrong path, node, command and cookie") {
  three_nodes c;
  auto tree = shell(c, *c.n1, "tree n2");
  REQUIRE_MESSAGE(tree.code == 0, tree.err);
  CHECK(tree.out.rfind("n2:/root\n", 0) == 0);
  CHECK(tree.out.find("core_sup (one_for_all)  running") != std::string::npos);
  CHECK(tree.out.find("│   ├── registry  running  actor ") != std::string::npos);
  CHECK(tree.out.find("admin  running") != std::string::npos);

  auto t = shell_json(c, *c.n1, "tree n3:/root/protocol_sup");
  CHECK(t["node"] == "n3");
  CHECK(t["path"] == "/root/protocol_sup");
  CHECK(t["strategy"] == "one_for_one");
  REQUIRE(t["children"].size() == 4); // upstream_sup too: cafmcp upstreams add may start one at run time
  CHECK(t["children"][2]["id"] == "tool_sup");
  CHECK(t["children"][3]["id"] == "upstream_sup");
  CHECK(t["children"][2]["children"].size() == 4);
  CHECK(t["children"][2]["children"][0]["mailbox"] == 0); // workers measure their own mailbox

  auto kids = shell_json(c, *c.n2, "which_children /root/core_sup"); // the attached node's own
  REQUIRE(kids.size() == 4);
  CHECK(kids[1]["id"] == "session_manager");
  CHECK(kids[1]["state"] == "running");
  CHECK(kids[1]["restart"] == "permanent");
  CHECK(kids[1]["actor_id"].get<uint64_t>() > 0);

  auto counts = shell_json(c, *c.n1, "count_children n2:/root");
  CHECK(counts["specs"] == 5); // the three tiers, cluster_sup and chaos
  CHECK(counts["supervisors"] == 4);
  CHECK(counts["workers"] == 1);

  auto wrong_path = shell(c, *c.n1, "which_children n2:/root/core_sup/nope");
  CHECK(wrong_path.code == 1);
  CHECK(wrong_path.err.find("no child nope under /root/core_sup; its children: registry, session_manager, "
                            "circuit_breakers, rate_limiter")
        != std::string::npos);
  auto not_a_sup = shell(c, *c.n1, "which_children n2:/root/core_sup/registry");
  CHECK(not_a_sup.code == 1);
  CHECK(not_a_sup.err.find("is a worker") != std::string::npos);
  auto wrong_node = shell(c, *c.n1, "tree n9");
  CHECK(wrong_node.code == 1);
  CHECK(wrong_node.err.find("no member named n9; members: n1, n2, n3") != std::string::npos);
  auto typo = shell(c, *c.n1, "whichchildren /root");
  CHECK(typo.code == 2);
  CHECK(typo.err.find("did you mean which_children?") != std::string::npos);
  auto usage = shell(c, *c.n1, "restart_child /root/core_sup");
  CHECK(usage.code == 2);
  CHECK(usage.err.find("usage: restart_child [NODE:]PATH ID") != std::string::npos);
  auto bad_spec = shell(c, *c.n1, R"(start_child /root/protocol_sup/tool_sup {"id": "x", "colour": "red"})");
  CHECK(bad_spec.code == 2);
  CHECK(bad_spec.err.find("unknown key \"colour\"") != std::string::npos);
  auto root = shell(c, *c.n1, "kill n2:/root");
  CHECK(root.code == 1);
  CHECK(root.err.find("refusing to kill /root") != std::string::npos);

  // Sessions and handles, wherever they live.
  auto handle = call_tool(*c.n2, "session_open", json::object())["handle"].get<std::string>();
  call_tool(*c.n2, "session_set", {{"handle", handle}, {"key", "colour"}, {"value", "teal"}});
  // Listed once, by its primary (placement decides which member that is).
  auto all = shell_json(c, *c.n1, "sessions");
  REQUIRE(all.size() == 1);
  auto primary = all[0]["node"].get<std::string>();
  CHECK(all[0]["id"] == handle);
  auto other = primary == "n3" ? "n1" : "n3";
  CHECK(shell_json(c, *c.n1, std::string{"sessions "} + other).empty());
  auto one = shell(c, *c.n3, "session " + handle);
  REQUIRE_MESSAGE(one.code == 0, one.err);
  CHECK(one.out.find("session " + handle + " on " + primary) != std::string::npos);
  CHECK(one.out.find("colour = teal") != std::string::npos);
  auto missing = shell(c, *c.n1, "session no-such-session");
  CHECK(missing.code == 1);
  CHECK(missing.err.find("no member holds a session no-such-session") != std::string::npos);

  auto other_cookie = write_cookie(c.dir, "other", "not-the-cluster-cookie");
  auto refused = run({binary, "shell", "--node", c.n1->address(), "--cookie-file", other_cookie, "--certs-dir", certs_of(c.dir), "-c", "nodes"}, 30s);
  CHECK(refused.code == 1);
  CHECK(refused.err.find("cookie") != std::string::npos);
}

TEST_CASE("the shell supervises another node - kill, terminate, restart, start and delete children, each audited") {
  three_nodes c;
  const std::string tool_sup = "n3:/root/protocol_sup/tool_sup";
  auto before = child(shell_json(c, *c.n1, "which_children " + tool_sup), "tool_worker_2");
  REQUIRE(before["restarts"] == 0);
  auto first_id = before["actor_id"].get<uint64_t>();

  // let it crash: the supervisor on n3 restarts the killed worker.
  auto killed = shell_json(c, *c.n1, "kill " + tool_sup + "/tool_worker_2");
  CHECK(killed["killed_actor_id"] == first_id);
  CHECK(wait_child(c, *c.n1, tool_sup, "tool_worker_2", [&](const json& k) {
    return k["restarts"] == 1 && k["state"] == "running" && k["actor_id"] != first_id;
  }));

  // terminate: the spec stays, nothing runs; restart_child starts it again.
  auto stopped_id = child(shell_json(c, *c.n1, "which_children " + tool_sup), "tool_worker_1")["actor_id"];
  auto term = shell(c, *c.n1, "terminate_child " + tool_sup + " tool_worker_1");
  REQUIRE_MESSAGE(term.code == 0, term.err);
  auto stopped = child(shell_json(c, *c.n1, "which_children " + tool_sup), "tool_worker_1");
  CHECK(stopped["state"] == "undefined");
  CHECK(stopped["actor_id"] == 0);
  auto again = shell_json(c, *c.n1, "restart_child " + tool_sup + " tool_worker_1");
  CHECK(again["actor_id"].get<uint64_t>() > 0);
  auto restarted = child(shell_json(c, *c.n1, "which_children " + tool_sup), "tool_worker_1");
  CHECK(restarted["actor_id"] == again["actor_id"]);
  CHECK(restarted["actor_id"] != stopped_id);
  CHECK(restarted["restarts"] == 1); // an operator's restart counts
  auto running = shell(c, *c.n1, "restart_child " + tool_sup + " tool_worker_1");
  CHECK(running.code == 1); // OTP: a running child cannot be restarted
  CHECK(running.err.find("supervision:running") != std::string::npos);

  // start a new child by actor type, then stop and forget it.
  auto started = shell_json(c, *c.n1,
                            "start_child " + tool_sup + R"( {"id": "spare", "actor_type": "tool_worker", "restart": "transient"})");
  CHECK(started["actor_id"].get<uint64_t>() > 0);
  auto spare = child(shell_json(c, *c.n1, "which_children " + tool_sup), "spare");
  CHECK(spare["restart"] == "transient");
  CHECK(spare["state"] == "running");
  CHECK(shell(c, *c.n1, "terminate_child " + tool_sup + " spare").code == 0);
  CHECK(shell(c, *c.n1, "delete_child " + tool_sup + " spare").code == 0);
  CHECK(child(shell_json(c, *c.n1, "which_children " + tool_sup), "spare").is_null());
  auto unknown_type = shell(c, *c.n1, "start_child " + tool_sup + R"( {"id": "x", "actor_type": "no_such_type"})");
  CHECK(unknown_type.code == 1);

  // Every change is on n3's audit log, in order, with who and the result,
  // its intent ("requested") before it was made; reads (tree,
  // which_children) are not.
  auto lines = audit_lines(c, "n3");
  std::vector<std::string> ops;
  for (auto& l : lines)
    ops.push_back(l["op"].get<std::string>() + " " + l["result"].get<std::string>().substr(0, 2));
  CHECK(ops == std::vector<std::string>{"kill re", "kill ok", "terminate_child re", "terminate_child ok",
                                        "restart_child re", "restart_child ok", "restart_child re",
                                        "restart_child su", "start_child re", "start_child ok",
                                        "terminate_child re", "terminate_child ok", "delete_child re",
                                        "delete_child ok", "start_child re", "start_child su"});
  REQUIRE_FALSE(lines.empty());
  CHECK(lines[0]["target"] == "/root/protocol_sup/tool_sup/tool_worker_2");
  CHECK(lines[0]["who"] == "CN=admin,OU=admin"); // the client certificate's subject, never what the shell says
  CHECK(lines[0]["time"].get<std::string>().size() == 24); // 2026-11-24T01:02:03.456Z
  auto log = c.dir.path() + "/n3.audit.jsonl";
  auto intact = run({binary, "audit", "verify", log}); // its key beside it: n3.audit.jsonl.key
  CHECK_MESSAGE(intact.code == 0, intact.err);
  CHECK(intact.out.find("16 record(s), chain intact") != std::string::npos);
  std::ifstream raw{log};
  std::string tampered, line;
  while (std::getline(raw, line))
    tampered += line + "\n";
  auto first_ok = tampered.find("\"ok\"");
  tampered.replace(first_ok, 4, "\"no\"");
  auto broken = run({binary, "audit", "verify", c.dir.write("tampered.jsonl", tampered), "--key", log + ".key"});
  CHECK(broken.code == 1);
  CHECK(broken.err.find("the chain breaks at line 2") != std::string::npos);
  auto tail = shell_json(c, *c.n2, "audit n3 2");
  REQUIRE(tail.size() == 2);
  CHECK(tail[0]["op"] == "start_child"); // the last change: its intent, then its failure
  CHECK(tail[0]["result"] == "requested");
  CHECK(audit_lines(c, "n1").empty());
}

TEST_CASE("the shell on a cluster that loses nodes - says which is gone, serves the rest, reports a lost attachment") {
  three_nodes c;
  REQUIRE(shell(c, *c.n1, "tree n3").code == 0);
  c.n3->proc->signal(SIGKILL);
  c.n3->proc->wait_exit(10s);
  // n1 notices within a few heartbeats; until then a call may time out.
  bool reported = false;
  auto deadline = std::chrono::steady_clock::now() + 30s;
  while (!reported && std::chrono::steady_clock::now() < deadline) {
    auto r = shell(c, *c.n1, "tree n3");
    reported = r.code == 1 && r.err.find("n3") != std::string::npos;
    if (!reported)
      std::this_thread::sleep_for(300ms);
  }
  CHECK(reported);
  auto alive = shell(c, *c.n1, "tree n2");
  CHECK(alive.code == 0);

  // The attached node dies while the interactive session runs: the next
  // command says the connection is lost and the reconnect failed.
  process sh{{binary, "shell", "--node", c.n2->address(), "--cookie-file", c.cookie, "--certs-dir", certs_of(c.dir)}, c.dir.path(), true};
  sh.write_stdin("nodes\n");
  REQUIRE(sh.wait_for_stdout_lines(2, 20s));
  c.n2->proc->signal(SIGKILL);
  c.n2->proc->wait_exit(10s);
  sh.write_stdin("tree\n");
  bool lost = false;
  for (int i = 0; i < 100 && !lost; ++i) { // bounded: 20 s
    std::this_thread::sleep_for(200ms);
    lost = sh.err().find("lost the connection to " + c.n2->address()) != std::string::npos
           && sh.err().find("failed") != std::string::npos;
  }
  CHECK_MESSAGE(lost, sh.err());
  sh.close_stdin();
  CHECK(sh.wait_exit(20s).has_value());
}

TEST_CASE("the interactive shell in a terminal - tab completes commands and paths, recalls history, shows help") {
  three_nodes c;
  REQUIRE_MESSAGE(run({"/usr/bin/env", "tmux", "-V"}).code == 0, "tmux is needed (bash deploy/install-deps.sh)");
  // A tmux server of our own (its socket in our temp dir), stopped at the end.
  auto socket = c.dir.path() + "/tmux.sock";
  auto tmux = [&](std::vector<std::string> args) {
    args.insert(args.begin(), {"/usr/bin/env", "tmux", "-S", socket});
    return run(args, 10s);
  };
  auto screen = [&] { return tmux({"capture-pane", "-p", "-t", "sh"}).out; };
  // (tmux trims trailing blanks from each line.)
  auto last_line = [&] {
    auto s = screen();
    while (!s.empty() && (s.back() == '\n' || s.back() == ' '))
      s.pop_back();
    return s.substr(s.rfind('\n') + 1);
  };
  auto wait_for = [&](const std::function<bool()>& pred) {
    for (int i = 0; i < 100; ++i) { // bounded: 10 s
      if (pred())
        return true;
      std::this_thread::sleep_for(100ms);
    }
    return false;
  };
  auto wait_screen = [&](const std::string& needle) {
    return wait_for([&] { return screen().find(needle) != std::string::npos; });
  };
  auto wait_prompt = [&](const std::string& typed) {
    return wait_for([&] { return last_line() == (typed.empty() ? "cafmcp>" : "cafmcp> " + typed); });
  };
  struct stopper {
    std::function<void()> fn;
    ~stopper() { fn(); }
  } stop_tmux{[&] { tmux({"kill-server"}); }};
  auto history = c.dir.path() + "/history";
  auto cmd = binary + " shell --node " + c.n1->address() + " --cookie-file " + c.cookie + " --certs-dir " + certs_of(c.dir) +
             " --history-file " + history;
  REQUIRE(tmux({"new-session", "-d", "-s", "sh", "-x", "200", "-y", "50", "env HOME=" + c.dir.path() + " " + cmd})
            .code
          == 0);
  REQUIRE_MESSAGE(wait_screen("cafmcp>"), screen());

  // A command by its prefix: "whi" + Tab → "which_children ".
  tmux({"send-keys", "-t", "sh", "whi", "Tab"});
  REQUIRE_MESSAGE(wait_prompt("which_children"), screen());
  // A path on another node: "n2:/root/core" + Tab → "n2:/root/core_sup".
  tmux({"send-keys", "-t", "sh", "n2:/root/core", "Tab"});
  REQUIRE_MESSAGE(wait_prompt("which_children n2:/root/core_sup"), screen());
  tmux({"send-keys", "-t", "sh", "Enter"});
  REQUIRE_MESSAGE(wait_screen("session_manager   worker  permanent  running"), screen());

  tmux({"send-keys", "-t", "sh", "help", "Enter"});
  REQUIRE_MESSAGE(wait_screen("which_children [NODE:]PATH"), screen());
  tmux({"send-keys", "-t", "sh", "clear-history-marker", "Enter"}); // an unknown command: suggests, then history
  REQUIRE_MESSAGE(wait_screen("unknown command clear-history-marker"), screen());

  // watch status refreshes until a key is pressed, then the prompt is back.
  tmux({"send-keys", "-t", "sh", "watch status", "Enter"});
  REQUIRE_MESSAGE(wait_screen("(press a key to stop)"), screen());
  REQUIRE_MESSAGE(wait_screen("n3    127.0.0.1:"), screen());
  tmux({"send-keys", "-t", "sh", "q"});
  REQUIRE_MESSAGE(wait_prompt(""), screen());

  // History: Up four times recalls the which_children line.
  tmux({"send-keys", "-t", "sh", "Up", "Up", "Up", "Up"});
  REQUIRE_MESSAGE(wait_prompt("which_children n2:/root/core_sup"), screen());
  tmux({"send-keys", "-t", "sh", "C-u", "quit", "Enter"});
  // Persistent history: the file holds what was typed.
  bool saved = false;
  for (int i = 0; i < 50 && !saved; ++i) { // bounded: 5 s
    std::ifstream in{history};
    std::stringstream buf;
    buf << in.rdbuf();
    saved = buf.str().find("n2:/root/core_sup") != std::string::npos; // (libedit escapes blanks)
    if (!saved)
      std::this_thread::sleep_for(100ms);
  }
  CHECK(saved);
}

TEST_CASE("the shell lists breakers and sets a rate limit at run time on every member - refused when malformed, audited") {
  three_nodes c;
  REQUIRE(mcp_tool_call(c.n2->http_port, "echo", {{"text", "x"}}).status == 200);
  bool seen = false;
  for (auto& b : shell_json(c, *c.n1, "breakers n2"))
    seen = seen || (b["breaker"] == "tool:echo" && b["state"] == "closed" && b["node"] == "n2");
  CHECK(seen);

  auto before = shell_json(c, *c.n1, "limits");
  CHECK(before.size() == 3); // each member's client limit, off by default
  for (auto& l : before)
    CHECK((l["limit"] == "client" && l["on"] == false));
  auto set = shell(c, *c.n1, "limits set tool:add 1/0.01");
  REQUIRE_MESSAGE(set.code == 0, set.err);
  CHECK(set.out.find("n3: tool:add limited to bursts of 1, 0.01 per second") != std::string::npos);
  // Every member limits it now: the second call within 100 s is refused.
  CHECK(mcp_tool_call(c.n3->http_port, "add", {{"a", 1}, {"b", 2}}).status == 200);
  auto over = mcp_tool_call(c.n3->http_port, "add", {{"a", 1}, {"b", 2}});
  CHECK(over.status == 429);
  CHECK(over.body["error"]["data"]["limit"] == "tool:add");
  bool counted = false;
  for (auto& l : shell_json(c, *c.n1, "limits n3"))
    counted = counted || (l["limit"] == "tool:add" && l["refused"] == 1 && l["capacity"] == 1);
  CHECK(counted);

  auto bad_number = shell(c, *c.n1, "limits set tool:add 0/1");
  CHECK(bad_number.code == 2);
  CHECK(bad_number.err.find("the limit must be CAPACITY/PER_SECOND (e.g. 20/5) or off") != std::string::npos);
  auto bad_scope = shell(c, *c.n1, "limits set clients 5/1 n2");
  CHECK(bad_scope.code == 1);
  INFO(bad_scope.err);
  CHECK(bad_scope.err.rfind("n2: ", 0) == 0);
  CHECK(bad_scope.err.find("unknown limit 'clients': the scopes are client and tool:NAME") != std::string::npos);
  CHECK(shell(c, *c.n1, "limits set tool:add off").code == 0);
  CHECK(mcp_tool_call(c.n3->http_port, "add", {{"a", 1}, {"b", 2}}).status == 200);

  std::vector<std::string> ops;
  for (auto& l : audit_lines(c, "n2"))
    ops.push_back(l["op"].get<std::string>() + " " + l["result"].get<std::string>());
  CHECK(ops == std::vector<std::string>{"set_limit requested", "set_limit requested", "set_limit requested"});
}
