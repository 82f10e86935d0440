"""DELETE /v2/stores/{store_id}/{image_id}: drop one store's copy of an image."""

from __future__ import annotations

from pocketstack.core.api import ApiRouter, Call
from pocketstack.core.faults import Conflict, NotFound, glance_fault

from ..backend.common import get_image, now, policy_target
from ..models import ACTIVE

api = ApiRouter(glance_fault)


@api.route("DELETE", "/v2/stores/{store_id}/{image_id}", status=204)
def delete_from_store(call: Call) -> None:
    store_id = call.params["store_id"]
    image = get_image(call.db, call.ctx, call.params["image_id"], for_update=True)
    call.authorize("image:delete_image_location", policy_target(image))
    store = call.cloud.image.stores.get(store_id)
    if store is None:
        raise NotFound(f"Unknown store {store_id}.")
    if image.status != ACTIVE:
        raise Conflict(f"Image {image.id} is {image.status}; only active images can be removed from a store.")
    if store_id not in image.stores:
        raise NotFound(f"Image {image.id} is not in store {store_id}.")
    if len(image.stores) == 1:
        raise Conflict(f"Store {store_id} holds the last copy of image {image.id}; delete the image instead.")
    image.stores = [s for s in image.stores if s != store_id]
    image.updated_at = now()
    image_id = image.id
    call.after_commit(lambda: store.delete(image_id))
