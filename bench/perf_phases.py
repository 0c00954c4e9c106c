#!/usr/bin/env python3
# Reads `perf script` output (with call graphs) and attributes each sample to the innermost
# matching phase (per-request breakdown of the MCP path).
import sys, re, collections
phases = [  # (name, regex on a frame's symbol), innermost match wins
  ("schema validation", r"validate_schema|json_schema"),
  ("disk load: SHA-256 of the snapshot and WAL lines", r"sha256|SHA256"),
  ("disk load: replica lines to records", r"read_snapshot|read_wal|decode_snapshot_record|decode_wal_line|from_json"),
  ("disk load: the file read", r"load_replicas|read_file"),
  ("disk load: merging into the store", r"cafmcp::cluster::absorb|cafmcp::cluster::merge|replica_store::merge|load_from_disk"),
  ("after the load (finish_load, repair marks)", r"finish_load"),
  ("JSON parse (a request body, a replica line)", r"cafmcp::protocol::parse\b|nlohmann.*detail::parser<|nlohmann.*detail::lexer<"),
  ("JSON dump (response)", r"cafmcp::protocol::dump\b|nlohmann.*detail::serializer<"),
  ("correlation id (UUIDv4)", r"correlation_for"),
  ("tracing", r"cafmcp::trace::"),
  ("tool handler", r"inline_handler|builtin|run_inline"),
  ("kernel: send", r"__libc_sendmsg|sendmsg|__send\b|writev"),
  ("kernel: receive", r"recvmsg|__libc_recv|readv"),
  ("epoll / wakeups", r"epoll_wait|epoll_ctl|futex|__lll_lock_wait|pthread_cond"),
  ("read deadlines (timers)", r"read_deadline|timer_queue|deadline_timer_service|basic_waitable_timer"),
  ("call_tool (limits, breaker, job)", r"endpoint::call_tool"),
  ("endpoint dispatch (method, meta)", r"endpoint::handle|endpoint::handle_value|handle_modern|handle_common"),
  ("HTTP response (Beast serialize)", r"beast::http::serializer|beast::http::detail::write|connection::send|on_event"),
  ("HTTP request (Beast parse)", r"beast::http::basic_parser|beast::http::detail::read|parse_fields"),
  ("header checks (Accept, Origin, Host)", r"connection::handle|on_post|post_modern|header_mismatch|connection::dispatch"),
  ("TLS between nodes (OpenSSL)", r"libssl|libcrypto|SSL_|EVP_|ssl3_|tls1"),
  ("BASP: serializing, the network layer", r"caf::io::|caf::detail::stream_serializer|caf::serializer|caf::deserializer|caf::binary_"),
  ("replicator (store, merge, quorum)", r"cafmcp::cluster::"),
  ("state tools (session manager API)", r"cafmcp::actors::"),
  ("actor hops (CAF mailbox, scheduler)", r"caf::"),
]
comp = [(n, re.compile(r)) for n, r in phases]
counts = collections.Counter(); leaf = collections.Counter(); total = 0
stack = []
def flush():
    global total
    if not stack: return
    total += 1
    name = "other (asio's loop, thread start)"
    for frame in stack:  # innermost first
        for n, r in comp:
            if r.search(frame):
                name = n; break
        else:
            continue
        break
    counts[name] += 1
    top = stack[0]
    if re.search(r"malloc|_int_free|cfree|operator new|operator delete|free\b", top): leaf["malloc/free (leaf)"] += 1
    elif top.endswith("[k]") or "kernel" in top: leaf["kernel (leaf)"] += 1
for line in sys.stdin:
    line = line.rstrip("\n")
    if not line.strip():
        flush(); stack = []; continue
    if line.startswith((" ", "\t")):
        parts = line.strip().split(None, 1)
        if len(parts) == 2:
            stack.append(parts[1])
flush()
for n, c in counts.most_common():
    print(f"{100.0*c/total:5.1f} %  {n}")
print(f"(samples: {total}; malloc/free at the leaf: {100.0*leaf['malloc/free (leaf)']/max(total,1):.1f} %)")
