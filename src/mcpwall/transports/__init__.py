"""Transport adapters: bytes and framing in, wire messages out, for each way MCP travels."""
