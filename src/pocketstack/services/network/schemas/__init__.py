"""Request bodies of the networking API, one module per resource (pydantic models built
from the Neutron value types in common/attributes.py)."""
