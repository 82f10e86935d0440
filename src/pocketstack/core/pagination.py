"""limit/marker pagination with `links`, as Nova, Neutron, Cinder and Glance page lists.

    request = page_request(call.query, max_limit=1000)          # 400 on a bad limit
    page = paginate_select(call.db, select(Server).where(...), Server.id, request)
    return {"servers": [view(s) for s in page.items],
            "servers_links": page.links(call.url("/v2.1/servers"), call.query)}

`limit` is a non-negative integer (0 or absent: as many as allowed), capped at
`max_limit`; `marker` is the id of the last item of the previous page (400 if no such
item, as Nova answers); `page_reverse=true` walks backwards from the marker (Neutron's
"previous" link). A page knows whether there is more on either side, so a `next` link
appears only when another page really exists (one extra row is read to find out).

Identity lists follow Keystone, which does not paginate: this is for later services.
"""

from __future__ import annotations

import re
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar
from urllib.parse import urlencode

from sqlalchemy import Select, and_, or_, select
from sqlalchemy.orm import Session

from .faults import BadRequest

T = TypeVar("T")

DEFAULT_MAX_LIMIT = 1000  # Nova's osapi_max_limit, Neutron's usual pagination_max_limit


@dataclass(frozen=True)
class PageRequest:
    limit: int
    marker: str | None = None
    page_reverse: bool = False


def page_request(query: Mapping[str, str], *, max_limit: int = DEFAULT_MAX_LIMIT, default_limit: int | None = None) -> PageRequest:
    """Read limit, marker and page_reverse from the query string (no limit given: the
    default page size, or as many as allowed)."""
    raw = query.get("limit")
    limit = default_limit or max_limit
    if raw is not None:
        if not re.fullmatch(r"\s*[0-9]+\s*", raw):
            raise BadRequest(f"Invalid input for field 'limit': {raw[:40]!r} is not a non-negative integer.")
        digits = raw.strip()
        # a limit past the cap is the cap (also spares int() a thousand-digit string)
        limit = (min(int(digits), max_limit) if len(digits) <= 18 else max_limit) or max_limit
    marker = query.get("marker") or None
    reverse = str(query.get("page_reverse", "")).lower() in ("1", "true", "yes", "on")
    return PageRequest(limit=limit, marker=marker, page_reverse=reverse)


@dataclass
class Page(Generic[T]):
    items: list[T]
    request: PageRequest
    has_next: bool
    has_previous: bool
    key: Callable[[T], str] = field(repr=False, default=lambda item: item["id"])  # type: ignore[index]

    def links(self, url: str, query: Mapping[str, str] | None = None) -> list[dict[str, str]]:
        """[{"rel": "next", "href": ...}, {"rel": "previous", "href": ...}] as apply.
        Other query parameters (filters, sort) are kept in the hrefs."""
        if not self.items:
            return []
        kept = {k: v for k, v in (query or {}).items() if k not in ("limit", "marker", "page_reverse")}
        kept["limit"] = str(self.request.limit)
        out = []
        if self.has_next:
            out.append({"rel": "next", "href": _href(url, {**kept, "marker": self.key(self.items[-1])})})
        if self.has_previous:
            back = {**kept, "marker": self.key(self.items[0]), "page_reverse": "True"}
            out.append({"rel": "previous", "href": _href(url, back)})
        return out


def _href(url: str, params: Mapping[str, str]) -> str:
    return f"{url}?{urlencode(params)}" if params else url


def paginate(items: Sequence[T], request: PageRequest, key: Callable[[T], str] = lambda item: item["id"]) -> Page[T]:  # type: ignore[index]
    """One page of an already sorted in-memory list."""
    start, stop = 0, len(items)
    if request.marker is not None:
        index = next((i for i, item in enumerate(items) if key(item) == request.marker), None)
        if index is None:
            raise _marker_not_found(request.marker)
        if request.page_reverse:
            stop = index
        else:
            start = index + 1
    if request.page_reverse:
        first = max(start, stop - request.limit)
        chosen = list(items[first:stop])
        return Page(chosen, request, has_next=request.marker is not None, has_previous=first > start, key=key)
    chosen = list(items[start : start + request.limit])
    return Page(chosen, request, has_next=start + request.limit < stop, has_previous=request.marker is not None, key=key)


def paginate_select(
    db: Session,
    stmt: Select[Any],
    id_column: Any,
    request: PageRequest,
    sort_column: Any | None = None,
    *,
    descending: bool = False,
) -> Page[Any]:
    """One page of `stmt` (a select of one entity), ordered by (sort_column, id)."""
    order = [(sort_column, descending)] if sort_column is not None else []
    return paginate_ordered(db, stmt, id_column, request, [*order, (id_column, descending)])


def paginate_ordered(db: Session, stmt: Select[Any], id_column: Any, request: PageRequest, order: list[tuple[Any, bool]]) -> Page[Any]:
    """One page of `stmt` ordered by several (column, descending) keys; the last key
    must make the order total (the id). The marker row is looked up by id to learn its
    sort values; rows strictly after it (or before, with page_reverse) form the page.
    Sort columns must not be NULL (wrap nullable ones in coalesce)."""
    columns = [c for c, _ in order]
    # the direction each column is read in: page_reverse walks every key backwards
    backwards = [desc != request.page_reverse for _, desc in order]
    if request.marker is not None:
        marker_values = db.execute(select(*columns).where(id_column == request.marker)).first()
        if marker_values is None:
            raise _marker_not_found(request.marker)
        stmt = stmt.where(_beyond(columns, tuple(marker_values), backwards))
    ordered = stmt.order_by(*[c.desc() if back else c.asc() for c, back in zip(columns, backwards)])
    rows = list(db.scalars(ordered.limit(request.limit + 1)))
    more = len(rows) > request.limit
    rows = rows[: request.limit]
    key = _attribute_key(id_column)
    if request.page_reverse:
        rows.reverse()  # a page always reads in the list's own order
        return Page(rows, request, has_next=request.marker is not None, has_previous=more, key=key)
    return Page(rows, request, has_next=more, has_previous=request.marker is not None, key=key)


def _beyond(columns: list[Any], values: tuple[Any, ...], backwards: list[bool]) -> Any:
    """(a, b) > (x, y) spelled out, which every database understands:
    a > x or (a = x and b > y), each column compared in its own direction."""
    head, head_value = columns[0], values[0]
    past = head < head_value if backwards[0] else head > head_value
    if len(columns) == 1:
        return past
    return or_(past, and_(head == head_value, _beyond(columns[1:], values[1:], backwards[1:])))


def _attribute_key(id_column: Any) -> Callable[[Any], str]:
    name = id_column.key
    return lambda row: str(getattr(row, name))


def _marker_not_found(marker: str) -> BadRequest:
    return BadRequest(f"Marker {marker[:64]!r} could not be found.")
