"""/v2/info: import methods, stores, and the caller's quota usage."""

from __future__ import annotations

from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import glance_fault

from ..backend import quotas

api = ApiRouter(glance_fault)


@api.route("GET", "/v2/info/import", tx="none")
def import_info(call: Call) -> dict[str, Any]:
    call.require_auth()
    methods = call.cloud.image.options.import_methods
    return {"import-methods": {"description": "Import methods available.", "type": "array", "value": list(methods)}}


@api.route("GET", "/v2/info/stores", tx="none")
def stores_info(call: Call) -> dict[str, Any]:
    call.require_auth()
    stores = call.cloud.image.stores
    listed = []
    for store in stores.by_id.values():
        entry = _store(store, store is stores.default)
        if stores.settings.store_weights:
            entry["weight"] = stores.weight(store.id)
        listed.append(entry)
    if stores.settings.http_store:
        # read-only: images added by location live there, nothing is ever written to it
        listed.append({"id": stores.settings.http_store_id, "description": "Images at http(s) locations", "read-only": "true"})
    return {"stores": listed}


@api.route("GET", "/v2/info/stores/detail", tx="none")
def stores_detail(call: Call) -> dict[str, Any]:
    call.authorize("image:stores_info_detail")
    stores = call.cloud.image.stores
    detailed = []
    for store in stores.by_id.values():
        entry = _store(store, store is stores.default)
        entry.update(type="file", weight=stores.weight(store.id), properties={"data_dir": str(store.root), "chunk_size": 65536, "thin_provisioning": False})
        detailed.append(entry)
    return {"stores": detailed}


def _store(store: Any, default: bool) -> dict[str, Any]:
    entry: dict[str, Any] = {"id": store.id, "description": store.description}
    if default:
        entry["default"] = "true"  # a string, as Glance writes it
    return entry


@api.route("GET", "/v2/info/usage")
def usage_info(call: Call) -> dict[str, Any]:
    call.require_auth()
    return {"usage": quotas.report(call.db, call.ctx.project_id)}
