#pragma once

// The dashboard's one page (HTML, CSS and script in one string: no build
// step, no CDN). It opens /events (server-sent events) and redraws from
// each snapshot: members and their health, the supervision tree with
// restart counts, sessions per member, request rate and p95 latency
// charts, active alerts.

namespace cafmcp::observability {

const char* dashboard_page();

} // namespace cafmcp::observability
