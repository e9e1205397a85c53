"""The HTTP service: the FastAPI app, its routers and authentication."""
