// The node's three-tier supervision tree as data.
#include "cli/node_tree.hpp"

#include <caf/actor_system_config.hpp>
#include <caf/atom.hpp>
#include <caf/io/middleman.hpp>

#include "actors/messages.hpp"
#include "cli/member_calls.hpp"
#include "cluster/client.hpp"
#include "cluster/messages.hpp"
#include "cluster/replica_disk.hpp"
#include "cluster/replicator.hpp"
#include "cluster/route_sync.hpp"
#include "observability/health.hpp"
#include "protocol/jwks_fetcher.hpp"
#include "protocol/protocol_sup.hpp"
#include "protocol/tool_runner.hpp"
#include "protocol/upstream.hpp"
#include "supervision/admin.hpp"
#include "supervision/messages.hpp"
#include "supervision/supervisor.hpp"

namespace cafmcp::cli {

using namespace supervision;

std::vector<child_spec> node_tree(const node_config& cfg, std::shared_ptr<actors::name_table> names,
                                  std::shared_ptr<cluster::cluster_view> view, registry_slot tasks,
                                  std::shared_ptr<metrics::metrics_registry> metrics) {
  auto tier = [&](strategy how) {
    auto f = cfg.tier_flags;
    f.how = how;
    return f;
  };
  if (!metrics)
    metrics = std::make_shared<metrics::metrics_registry>();
  std::vector<child_spec> protocol_extra;
  if (auto& jwks = cfg.http_limits.auth.jwt.source; jwks && cfg.http_enabled) {
    protocol_extra.push_back(protocol::jwks_fetcher_spec(jwks, metrics));
    protocol_extra.back().backoff = cfg.restart_backoff; // an identity provider that is down is retried, not escalated
    protocol_extra.back().optional = true;               // the last key set stays in use without it
  }
  if (!cfg.upstreams.empty() || cfg.cluster.enabled)
    // Started empty: each upstream joins it once the catalog exists
    // (node_command), or when the cluster's routing version names it.
    protocol_extra.push_back(actors::registered(protocol::upstream_supervisor(cfg.tier_flags), names));
  auto protocol = protocol::protocol_supervisor(cfg.tier_flags, cfg.tool_workers, names, std::move(protocol_extra),
                                               cfg.restart_backoff);
  std::vector<child_spec> members;
  if (cfg.cluster.enabled) {
    if (!view)
      view = std::make_shared<cluster::cluster_view>();
    members.push_back(cluster::node_actor_spec(cfg.cluster, view, names));
    // MCP state across members (on disk too); restarted with the node actor
    // (rest_for_one), and the replicator with its disk.
    members.push_back(cluster::replica_disk_spec(cfg.data_dir, names));
    // A disk actor that keeps dying is retried after a pause; meanwhile the
    // replicator finds no disk and refuses writes that need it (durability
    // fsync), as for a failing disk, and nothing spins.
    members.back().backoff = cfg.restart_backoff;
    members.push_back(cluster::replicator_spec(cfg.replication, cfg.name, view, names));
    members.push_back(task_agent_spec(tasks ? tasks : std::make_shared<std::shared_ptr<protocol::task_registry>>(),
                                      names));
    // Runs tools/calls other members' routing rules send here.
    members.push_back(member_tools_spec(cfg.member_endpoint, view, names));
    // The remote supervision API (cafmcp shell), reached through the node actor.
    supervision::admin_config admin;
    admin.root = [names] { return names->lookup("root"); };
    admin.audit_log = cfg.audit_log;
    admin.audit_key = cfg.audit_key;
    members.push_back(actors::registered(supervision::admin_child(admin), names));
    // The routing rules every member applies alike (cafmcp routes add|remove).
    cluster::route_sync_config routing;
    routing.live = cfg.live_routes;
    routing.config_routes = cfg.effective.contains("routes") ? cfg.effective["routes"] : nlohmann::json::object();
    routing.poll = cfg.routes_poll;
    routing.config_upstreams = cfg.effective.contains("upstreams") ? cfg.effective["upstreams"] : nlohmann::json::object();
    routing.run_time_programs = cfg.run_time_programs;
    if (auto fleet = cfg.upstream_fleet)
      routing.run_upstreams = [fleet](const nlohmann::json& wanted) { fleet->run(wanted); };
    routing.config_tenants = cfg.effective.contains("tenants") ? cfg.effective["tenants"] : nlohmann::json::object();
    routing.tenants = cfg.tenants;
    routing.timeout = cfg.replication.write_timeout * 2;
    members.push_back(cluster::route_sync_spec(std::move(routing), names));
  }
  auto cluster = supervisor_child("cluster_sup", tier(strategy::rest_for_one), std::move(members));
  std::vector<child_spec> tier3;
  if (cfg.web.enabled)
    // Registered as "web": the node asks it for its bound port (ready line).
    tier3.push_back(actors::registered(
      observability::web_endpoint_spec(cfg.web, names, cfg.cluster.enabled ? view : nullptr, metrics), names));
  if (cfg.tracing.enabled)
    tier3.push_back(observability::otlp_exporter_spec(cfg.tracing, metrics));
  if (cfg.backup.enabled && cfg.cluster.enabled)
    tier3.push_back(observability::backup_schedule_spec(cfg.backup, names, view, cfg.backup_status, metrics));
  for (auto& c : tier3) {
    c.backoff = cfg.restart_backoff; // they talk to the outside: a crash loop there waits, never escalates
    c.optional = true;               // MCP is served without them (degraded)
  }
  auto observability = observability::observability_supervisor(cfg.health, names, std::move(tier3), cfg.restart_backoff);
  observability.optional = true; // tier 3 never takes the node down
  return {
    actors::core_supervisor(cfg.core, names),
    protocol,
    cluster,
    observability,
    // Beside tier 3, not in it: a kill experiment there must not end itself.
    actors::registered(observability::chaos_spec(cfg.chaos, cfg.faults, names, metrics), names),
  };
}

void configure_actor_system(caf::actor_system_config& sys_cfg, const node_config& cfg) {
  supervision::register_types(sys_cfg);
  actors::register_types(sys_cfg);
  observability::register_types(sys_cfg);
  cluster::register_types(sys_cfg);
  protocol::register_actor_types(sys_cfg);
  if (cfg.cluster.enabled) {
    cluster::configure_transport(sys_cfg, cfg.cluster_tls);
    // BASP's own heartbeat finds frozen peers (SIGSTOP) and dropped links;
    // every node derives it from the same config, as CAF requires.
    // (Not with TLS: caf_openssl connections then drop every few seconds;
    // cafmcp's own heartbeats find frozen peers there.)
    if (!cfg.cluster_tls.enabled()) {
      sys_cfg.set("middleman.heartbeat-interval", caf::timespan{cfg.cluster.heartbeat});
      sys_cfg.set("middleman.connection-timeout",
                  caf::timespan{cfg.cluster.heartbeat * (cfg.cluster.unhealthy_after + 2)});
    }
  }
  sys_cfg.set("scheduler.policy",
              cfg.scheduler_policy == "sharing" ? caf::atom("sharing") : caf::atom("stealing"));
  sys_cfg.set("scheduler.max-threads", cfg.scheduler_max_threads);
}

} // namespace cafmcp::cli
