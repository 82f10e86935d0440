"""What every image backend module shares: finding an image the caller may see."""

from __future__ import annotations

import datetime as dt
import uuid

from sqlalchemy import and_, exists, false, or_, select, true
from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.faults import NotFound

from ..models import Image, ImageMember, ImageProperty


def now() -> dt.datetime:
    """Glance keeps times to the second: what a list filter compares is what a view shows."""
    return dt.datetime.now(dt.timezone.utc).replace(microsecond=0)


def new_id() -> str:
    return str(uuid.uuid4())


def is_member_of(image_id_column: object, project_id: str | None, statuses: tuple[str, ...] | None = None) -> object:
    """SQL: the project is a member of the image (in one of `statuses`, if given)."""
    if project_id is None:
        return false()
    cond = [ImageMember.image_id == image_id_column, ImageMember.member == project_id]
    if statuses is not None:
        cond.append(ImageMember.status.in_(statuses))
    return exists().where(*cond)


def can_see(ctx: RequestContext) -> object:
    """SQL: images this caller may show by id. Admins see all; others see their own,
    public and community images, and shared images they are a member of (accepted or
    not: a member must see an image to accept it)."""
    if ctx.is_admin:
        return true()
    return or_(
        Image.owner == ctx.project_id,
        Image.visibility.in_(("public", "community")),
        and_(Image.visibility == "shared", is_member_of(Image.id, ctx.project_id)),
    )


def get_image(db: Session, ctx: RequestContext, image_id: str, *, for_update: bool = False) -> Image:
    stmt = select(Image).where(Image.id == image_id, can_see(ctx))
    if for_update:
        stmt = stmt.with_for_update()
    image = db.scalars(stmt).first()
    if image is None:
        raise NotFound(f"No image found with ID {image_id}")
    return image


def policy_target(image: Image) -> dict[str, object]:
    return {"owner": image.owner, "visibility": image.visibility, "id": image.id, "protected": image.protected}


def set_property(image: Image, name: str, value: str) -> None:
    """Set a custom property the service itself manages (os_glance_*, stage host)."""
    for prop in image.properties:
        if prop.name == name:
            prop.value = value
            return
    image.properties.append(ImageProperty(name=name, value=value))


def drop_property(image: Image, name: str) -> None:
    image.properties = [p for p in image.properties if p.name != name]
