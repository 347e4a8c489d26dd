"""HTTP surfaces: REST routes, WebSocket and SSE streams. Thin: each route calls the services."""
