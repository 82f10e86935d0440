"""GET on a Neutron collection: filters, tags filters, sorting, paging and `fields=`.

    NETWORKS = Collection("networks", Network, [Attribute("name", Network.name), ...])
    query = ListQuery.parse(call, NETWORKS)
    page = query.run(call.db, select(Network).where(visible))
    return query.respond(call, [view(row) for row in page.rows], page)

Neutron's rules (neutron/api/api_common.py):
- any attribute marked as a filter filters; a key repeated is OR (name=a&name=b), different
  keys are AND; an unknown key is refused: "['x'] is invalid attribute for filtering"
  (the filter-validation extension); an empty value matches the empty string;
- tags=a,b (all of them), tags-any=a,b, not-tags=a,b (not all of them), not-tags-any=a,b;
- sort_key/sort_dir pairs, several allowed, id breaks ties;
- limit/marker/page_reverse paging, with "<collection>_links" next/previous when paging;
- fields=a&fields=b returns only those attributes.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlencode

from sqlalchemy import and_, exists, not_, or_, select
from sqlalchemy.orm import Session

from pocketstack.core.api import Call
from pocketstack.core.faults import BadRequest
from pocketstack.core.pagination import Page, PageRequest, paginate_ordered

from ..faults import InvalidInput
from ..models import Tag
from .attributes import to_boolean, to_integer

PAGING_KEYS = frozenset({"limit", "marker", "page_reverse"})
CONTROL_KEYS = PAGING_KEYS | {"fields", "sort_key", "sort_dir"}
TAG_FILTERS = ("tags", "tags-any", "not-tags", "not-tags-any")


def as_boolean(raw: str) -> bool:
    try:
        return to_boolean(raw)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


def as_integer(raw: str) -> int:
    try:
        return to_integer(raw)
    except ValueError as exc:
        raise InvalidInput(str(exc)) from None


@dataclass(frozen=True)
class Attribute:
    """One attribute of a collection as a list request may use it.

    `column` filters (value IN (...)) and sorts; `clause` builds a custom filter from the
    converted values instead; `sort` overrides the sort expression (wrap nullable columns
    in coalesce: paging compares sort values); `policy` names the rule a caller must pass
    to see the attribute, and so to filter on it."""

    name: str
    column: Any = None
    convert: Callable[[str], Any] = str
    clause: Callable[[list[Any]], Any] | None = None
    sort: Any = None
    sortable: bool = True
    policy: str | None = None

    @property
    def sort_expression(self) -> Any:
        return self.sort if self.sort is not None else self.column


@dataclass(frozen=True)
class Collection:
    name: str  # "networks": the body key, and "<name>_links"
    model: Any
    attributes: Sequence[Attribute]
    tagged: bool = True

    def attribute(self, name: str) -> Attribute | None:
        return next((a for a in self.attributes if a.name == name), None)


@dataclass
class Result:
    rows: list[Any]
    page: Page[Any] | None = None  # None: no paging asked for


@dataclass
class ListQuery:
    collection: Collection
    filters: list[Any] = field(default_factory=list)  # SQL clauses
    order: list[tuple[Any, bool]] = field(default_factory=list)  # (expression, descending)
    page: PageRequest | None = None
    fields: list[str] | None = None

    @classmethod
    def parse(cls, call: Call, collection: Collection, *, skip: Sequence[str] = ()) -> ListQuery:
        query = cls(collection)

        def may_see(attribute: Attribute) -> bool:
            return attribute.policy is None or call.allowed(attribute.policy, {"project_id": call.ctx.project_id})

        invalid = []
        for key in call.query.keys():
            if key in CONTROL_KEYS or key in skip:
                continue
            values = call.query.getlist(key)
            if key in TAG_FILTERS and collection.tagged:
                query.filters.append(_tag_clause(collection, key, values))
                continue
            if key == "changed_since":
                query.filters.append(collection.model.updated_at >= _moment(values[-1]))
                continue
            attribute = collection.attribute(key)
            if attribute is None or (attribute.column is None and attribute.clause is None):
                invalid.append(key)
                continue
            if not may_see(attribute):
                continue  # an attribute the caller cannot see filters nothing (and tells nothing)
            converted = [attribute.convert(value) for value in values]
            query.filters.append(attribute.clause(converted) if attribute.clause else attribute.column.in_(converted))
        if invalid:
            raise BadRequest(f"{invalid} is invalid attribute for filtering")
        query.order = _sorts(call, collection)
        query.page = _paging(call)
        query.fields = fields_of(call)
        return query

    def run(self, db: Session, stmt: Any) -> Result:
        stmt = stmt.where(*self.filters) if self.filters else stmt
        id_column = self.collection.model.id
        order = [*self.order, (id_column, self.order[-1][1] if self.order else False)]
        if self.page is None:
            ordered = stmt.order_by(*[expr.desc() if desc else expr.asc() for expr, desc in order])
            return Result(list(db.scalars(ordered)))
        page = paginate_ordered(db, stmt, id_column, self.page, order)
        return Result(page.items, page)

    def select_fields(self, item: dict[str, Any]) -> dict[str, Any]:
        return only(self.fields, item)

    def respond(self, call: Call, items: list[dict[str, Any]], result: Result, path: str | None = None) -> dict[str, Any]:
        body: dict[str, Any] = {self.collection.name: [self.select_fields(item) for item in items]}
        if result.page is not None:
            links = page_links(call, result.page, path or f"/v2.0/{self.collection.name}")
            if links:
                body[f"{self.collection.name}_links"] = links
        return body


def page_links(call: Call, page: Page[Any], path: str) -> list[dict[str, str]]:
    """next/previous links that keep every other query parameter, repeated ones
    (fields=a&fields=b, name=x&name=y) included."""
    if not page.items:
        return []
    kept = [(key, value) for key, value in call.query.multi_items() if key not in PAGING_KEYS]
    kept.append(("limit", str(page.request.limit)))
    url = call.url(path)
    links = []
    if page.has_next:
        links.append({"rel": "next", "href": f"{url}?{urlencode([*kept, ('marker', page.key(page.items[-1]))])}"})
    if page.has_previous:
        back = [*kept, ("marker", page.key(page.items[0])), ("page_reverse", "True")]
        links.append({"rel": "previous", "href": f"{url}?{urlencode(back)}"})
    return links


def fields_of(call: Call) -> list[str] | None:
    """The attributes `fields=a&fields=b` (or fields=a,b) asks for; None: all of them."""
    fields = [name for raw in call.query.getlist("fields") for name in raw.split(",") if name]
    return fields or None


def only(fields: list[str] | None, item: dict[str, Any]) -> dict[str, Any]:
    if fields is None:
        return item
    return {key: value for key, value in item.items() if key in fields}


def _moment(raw: str) -> dt.datetime:
    """changed_since (the standard-attr-timestamp filter): updated at or after this moment."""
    try:
        moment = dt.datetime.strptime(raw.strip().removesuffix("Z"), "%Y-%m-%dT%H:%M:%S")
    except ValueError:
        raise BadRequest("The input changed_since must be in the following format: YYYY-MM-DDTHH:MM:SS") from None
    return moment.replace(tzinfo=dt.timezone.utc)


def _tag_clause(collection: Collection, key: str, values: list[str]) -> Any:
    tags = [tag for value in values for tag in value.split(",") if tag]
    model = collection.model
    has = [exists().where(Tag.resource_id == model.id, Tag.tag == tag) for tag in tags]
    if not has:
        return and_()
    if key == "tags":
        return and_(*has)
    if key == "tags-any":
        return or_(*has)
    if key == "not-tags":
        return not_(and_(*has))
    return not_(or_(*has))


def _sorts(call: Call, collection: Collection) -> list[tuple[Any, bool]]:
    keys = [key for key in call.query.getlist("sort_key") if key]
    dirs = [direction for direction in call.query.getlist("sort_dir") if direction]
    if dirs and len(keys) != len(dirs):
        raise BadRequest("The number of sort_keys and sort_dirs must be same")
    dirs = dirs or ["asc"] * len(keys)
    unknown = [key for key in keys if (a := collection.attribute(key)) is None or not a.sortable or a.sort_expression is None]
    if unknown:
        raise BadRequest(f"{unknown} is invalid attribute for sort_keys")
    wrong = [direction for direction in dirs if direction not in ("asc", "desc")]
    if wrong:
        raise BadRequest(f"{wrong} is invalid value for sort_dirs, valid value is 'asc' and 'desc'")
    order = []
    for key, direction in zip(keys, dirs):
        attribute = collection.attribute(key)
        assert attribute is not None
        order.append((attribute.sort_expression, direction == "desc"))
    return order


def _paging(call: Call) -> PageRequest | None:
    """Neutron pages only when a positive limit is given (no server-side cap by default)."""
    raw = call.query.get("limit")
    if raw is None:
        return None
    try:
        limit = int(raw)
    except ValueError:
        limit = -1
    if limit < 0:
        raise BadRequest(f"Bad limit request: Limit must be an integer 0 or greater and not '{raw}'.")
    if limit == 0:
        return None
    reverse = call.query.get("page_reverse", "false").lower() == "true"
    return PageRequest(limit=limit, marker=call.query.get("marker") or None, page_reverse=reverse)


def in_subquery(column: Any, subquery_column: Any, where: Callable[[list[Any]], Any]) -> Callable[[list[Any]], Any]:
    """A filter on a related table: rows whose `column` is among `subquery_column` where ..."""
    return lambda values: column.in_(select(subquery_column).where(where(values)))
