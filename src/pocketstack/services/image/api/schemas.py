"""/v2/schemas/{image,images,member,members,task,tasks}: the JSON-schema documents of
images, members and tasks (schema_docs.py builds them).

Any authenticated caller may read them (Glance has no policy rule for schemas).
They need no database, so the handlers run without a transaction.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import glance_fault

from .. import schema_docs

api = ApiRouter(glance_fault)

DOCUMENTS: dict[str, Callable[[], dict[str, Any]]] = {
    "image": schema_docs.image_schema,
    "images": schema_docs.images_schema,
    "member": schema_docs.member_schema,
    "members": schema_docs.members_schema,
    "task": schema_docs.task_schema,
    "tasks": schema_docs.tasks_schema,
}


def _show(build: Callable[[], dict[str, Any]]) -> Callable[[Call], dict[str, Any]]:
    def show_schema(call: Call) -> dict[str, Any]:
        call.require_auth()
        return build()

    return show_schema


for _name, _build in DOCUMENTS.items():
    api.route("GET", f"/v2/schemas/{_name}", tx="none")(_show(_build))
