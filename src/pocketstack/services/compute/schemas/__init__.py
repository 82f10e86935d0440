"""Request bodies of the compute API (pydantic models, one module per resource)."""
