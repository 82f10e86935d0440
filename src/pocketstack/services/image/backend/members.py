"""Image members: an owner shares a `shared` image with other projects, and each
member project accepts or rejects it (only accepted images join its default list)."""

from __future__ import annotations

from sqlalchemy import select
from sqlalchemy.orm import Session

from pocketstack.core.context import RequestContext
from pocketstack.core.faults import BadRequest, Conflict, Forbidden, NotFound, PayloadTooLarge

from ..models import Image, ImageMember
from .common import now

MAX_MEMBERS = 128  # Glance's image_member_quota
MEMBER_STATUSES = ("pending", "accepted", "rejected")


def _require_shared(image: Image) -> None:
    if image.visibility != "shared":
        raise Forbidden(f"Only shared images have members; image {image.id} is {image.visibility}.")


def _is_owner(ctx: RequestContext, image: Image) -> bool:
    return ctx.is_admin or (ctx.project_id is not None and ctx.project_id == image.owner)


def add_member(db: Session, ctx: RequestContext, image: Image, member_id: object) -> ImageMember:
    _require_shared(image)
    if not isinstance(member_id, str) or not member_id or len(member_id) > 255:
        raise BadRequest("Invalid input: 'member' must be a project id (a string of 1 to 255 characters).")
    if db.get(ImageMember, (image.id, member_id)) is not None:
        raise Conflict(f"Member {member_id} already exists for image {image.id}.")
    count = len(db.scalars(select(ImageMember.member).where(ImageMember.image_id == image.id)).all())
    if count >= MAX_MEMBERS:
        raise PayloadTooLarge(f"Maximum number of members exceeded: an image may have at most {MAX_MEMBERS} members.")
    stamp = now()
    member = ImageMember(image_id=image.id, member=member_id, status="pending", created_at=stamp, updated_at=stamp)
    db.add(member)
    db.flush()
    return member


def list_members(db: Session, ctx: RequestContext, image: Image) -> list[ImageMember]:
    _require_shared(image)
    stmt = select(ImageMember).where(ImageMember.image_id == image.id).order_by(ImageMember.created_at, ImageMember.member)
    if not _is_owner(ctx, image):
        # a member project sees its own membership only
        stmt = stmt.where(ImageMember.member == ctx.project_id)
    return list(db.scalars(stmt))


def get_member(db: Session, ctx: RequestContext, image: Image, member_id: str) -> ImageMember:
    member = db.get(ImageMember, (image.id, member_id))
    if member is None or not (_is_owner(ctx, image) or member_id == ctx.project_id):
        raise NotFound(f"Member {member_id} not found for image {image.id}.")
    return member


def update_member(db: Session, ctx: RequestContext, image: Image, member_id: str, status: object) -> ImageMember:
    member = get_member(db, ctx, image, member_id)
    if member_id != ctx.project_id and not ctx.is_admin:
        raise Forbidden("Only the member project itself may accept or reject an image shared with it.")
    if status not in MEMBER_STATUSES:
        raise BadRequest(f"Invalid status {str(status)[:40]!r}: use one of {', '.join(MEMBER_STATUSES)}.")
    member.status = str(status)
    member.updated_at = now()
    return member


def delete_member(db: Session, ctx: RequestContext, image: Image, member_id: str) -> None:
    member = get_member(db, ctx, image, member_id)
    if not _is_owner(ctx, image):
        raise Forbidden("Only the image owner may remove a member.")
    db.delete(member)
