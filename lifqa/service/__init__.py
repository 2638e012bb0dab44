"""lifqa as a service: the HTTP API (``lifqa serve``), the MCP server (``lifqa mcp``) and uploads into a served corpus.

Importing this package imports nothing else; FastAPI, uvicorn and the MCP SDK are
needed only by the modules that serve (``pip install 'lifqa[serve]'``).
"""
