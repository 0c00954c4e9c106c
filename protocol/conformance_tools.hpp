#pragma once

// The tools the official MCP conformance suite (npm
// @modelcontextprotocol/conformance, `conformance server --url …`) calls:
// test_simple_text, test_image_content, test_audio_content,
// test_embedded_resource, test_multiple_content_types,
// test_tool_with_logging, test_tool_with_progress, test_error_handling,
// test_sampling and test_elicitation. Served only when the config asks
// (mcp.conformance_tools), so a production node does not list them.

#include "protocol/catalog.hpp"

namespace cafmcp::protocol {

void add_conformance_tools(catalog& cat);

} // namespace cafmcp::protocol
