"""mcpwall: a security firewall for the Model Context Protocol.

It relays MCP messages between clients and servers, inspects every message in both
directions, and records every verdict in a tamper-evident audit log.
"""

__version__ = "0.1.0"
