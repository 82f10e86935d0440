"""POST /v2/images/{image_id}/import, and the tasks that record imports."""

from __future__ import annotations

from typing import Any

from sqlalchemy import select

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import NotFound, glance_fault

from ..backend import imports as backend
from ..backend import locations
from ..backend.common import get_image, policy_target
from ..models import Task
from ..views import tasks as views

api = ApiRouter(glance_fault)


@api.route("POST", "/v2/images/{image_id}/import", status=202)
def import_image(call: Call) -> None:
    service = call.cloud.image
    image = get_image(call.db, call.ctx, call.params["image_id"], for_update=True)
    request = backend.parse_request(call.json(), image, service.stores, service.options, call.request.headers.get("x-image-meta-store"))
    task = backend.start_import(call.db, call.ctx, call.authorize, image, request, call.cloud.settings.region)
    task_id = task.id
    call.after_commit(lambda: service.run_import(task_id))
    return None


@api.route("GET", "/v2/images/{image_id}/tasks")
def list_image_tasks(call: Call) -> dict[str, Any]:
    image = get_image(call.db, call.ctx, call.params["image_id"])
    call.authorize("image:get_image_tasks", policy_target(image))
    rows = call.db.scalars(select(Task).where(Task.image_id == image.id).order_by(Task.created_at.desc(), Task.id))
    return {"tasks": [views.task(t) for t in rows]}


@api.route("GET", "/v2/tasks")
def list_tasks(call: Call) -> dict[str, Any]:
    call.authorize("image:get_tasks")
    stmt = select(Task).order_by(Task.created_at.desc(), Task.id)
    for name in ("status", "type"):
        if name in call.query:
            stmt = stmt.where(getattr(Task, name) == call.query[name])
    return {"tasks": [views.task(t, detail=False) for t in call.db.scalars(stmt)], "first": "/v2/tasks", "schema": "/v2/schemas/tasks"}


@api.route("GET", "/v2/tasks/{task_id}")
def show_task(call: Call) -> dict[str, Any]:
    call.authorize("image:get_task")
    task = call.db.get(Task, call.params["task_id"])
    if task is None:
        raise NotFound(f"Task with the given id {call.params['task_id']} was not found")
    return views.task(task)


@api.route("POST", "/v2/tasks", status=201)
def create_task(call: Call) -> dict[str, Any]:
    call.authorize("image:add_task")
    service = call.cloud.image
    task = backend.create_task(call.db, call.ctx, call.json(), service.stores, service.options)
    task_id = task.id
    call.after_commit(lambda: service.run_import(task_id))
    return views.task(task)


@api.route("POST", "/v2/images/{image_id}/locations", status=202)
def add_location(call: Call) -> None:
    service = call.cloud.image
    image = get_image(call.db, call.ctx, call.params["image_id"], for_update=True)
    call.authorize("image:add_image_location", policy_target(image))
    task = locations.start_location_import(call.db, call.ctx, image, call.json(), service.options)
    task_id = task.id
    call.after_commit(lambda: service.run_location_import(task_id))
