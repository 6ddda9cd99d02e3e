"""REST routes under /api, one module per resource; each route is thin over store/runtime."""
