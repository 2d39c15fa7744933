"""Queries of the API, one module per subject (kept out of the routers)."""
