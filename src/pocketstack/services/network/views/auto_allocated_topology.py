"""An auto-allocated topology as Neutron answers it: the id of its network, and its
project (project_id, and tenant_id as every resource here shows it)."""

from __future__ import annotations

from typing import Any

DRY_RUN_PASSED = "dry-run=pass"  # the "id" of a dry run whose requirements are met


def topology(network_id: str, project_id: str) -> dict[str, Any]:
    return {"id": network_id, "tenant_id": project_id, "project_id": project_id}
