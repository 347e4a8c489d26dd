"""MCP server: the inbox tools for LLM agents, over streamable HTTP (`/mcp`) and stdio.

- `tools.py` the tools, written once against a backend;
- `backends.py` the two backends: the services in this process, or a running server's REST API;
- `present.py` how mail is shaped for a model;
- `http.py` the `/mcp` endpoint of the API server (bearer auth, stateless);
- `stdio.py` `inboxkit mcp` for desktop clients (`--url` or `--embedded`).
"""
