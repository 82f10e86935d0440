"""core.pagination: limit/marker paging of lists and SQL selects, with next/previous links."""

from __future__ import annotations

from collections.abc import Iterator
from urllib.parse import parse_qs, urlsplit

import pytest
from sqlalchemy import Integer, String, create_engine, select
from sqlalchemy.orm import DeclarativeBase, Mapped, Session, mapped_column

from pocketstack.core.faults import BadRequest
from pocketstack.core.pagination import PageRequest, page_request, paginate, paginate_select

ITEMS = [{"id": f"id-{n:02d}", "name": f"n{n}"} for n in range(10)]
URL = "http://cloud/compute/v2.1/servers"


def query_of(href: str) -> dict[str, str]:
    return {k: v[0] for k, v in parse_qs(urlsplit(href).query).items()}


@pytest.mark.parametrize("raw", ["-1", "abc", "1.5", "", " ", "0x10", "١٢"])
def test_limit_must_be_a_non_negative_integer(raw: str) -> None:
    with pytest.raises(BadRequest) as err:
        page_request({"limit": raw})
    assert "limit" in err.value.message


@pytest.mark.parametrize(("raw", "expected"), [("5", 5), ("0", 50), ("51", 50), ("9" * 5000, 50), (None, 50)])
def test_limit_is_capped(raw: str | None, expected: int) -> None:
    query = {} if raw is None else {"limit": raw}
    assert page_request(query, max_limit=50).limit == expected


def test_pages_walk_forward_with_next_links() -> None:
    seen: list[str] = []
    query: dict[str, str] = {"limit": "4", "status": "ACTIVE"}
    for _ in range(5):
        page = paginate(ITEMS, page_request(query))
        seen += [i["id"] for i in page.items]
        nxt = [link for link in page.links(URL, query) if link["rel"] == "next"]
        if not nxt:
            break
        query = query_of(nxt[0]["href"])
        assert query["status"] == "ACTIVE" and query["limit"] == "4"  # filters are kept
    assert seen == [i["id"] for i in ITEMS]


def test_first_page_has_no_previous_and_last_page_has_no_next() -> None:
    first = paginate(ITEMS, PageRequest(limit=5))
    assert [link["rel"] for link in first.links(URL)] == ["next"]
    last = paginate(ITEMS, PageRequest(limit=5, marker="id-04"))
    assert [i["id"] for i in last.items] == [f"id-{n:02d}" for n in range(5, 10)]
    assert [link["rel"] for link in last.links(URL)] == ["previous"]


def test_exactly_full_last_page_has_no_next() -> None:
    page = paginate(ITEMS, PageRequest(limit=10))
    assert len(page.items) == 10 and not page.has_next


def test_previous_link_walks_backwards() -> None:
    page = paginate(ITEMS, PageRequest(limit=3, marker="id-05"))
    previous = next(link for link in page.links(URL) if link["rel"] == "previous")
    back = paginate(ITEMS, page_request(query_of(previous["href"])))
    assert [i["id"] for i in back.items] == ["id-03", "id-04", "id-05"]
    assert back.has_next and back.has_previous


def test_unknown_marker_is_400() -> None:
    with pytest.raises(BadRequest) as err:
        paginate(ITEMS, PageRequest(limit=3, marker="nope"))
    assert "nope" in err.value.message


def test_empty_list_has_no_links() -> None:
    assert paginate([], PageRequest(limit=3)).links(URL) == []


class Base(DeclarativeBase):
    pass


class Thing(Base):
    __tablename__ = "thing"
    id: Mapped[str] = mapped_column(String(8), primary_key=True)
    size: Mapped[int] = mapped_column(Integer)


@pytest.fixture
def db() -> Iterator[Session]:
    engine = create_engine("sqlite://")
    Base.metadata.create_all(engine)
    with Session(engine) as session:
        # sizes repeat, so the id must break ties for a stable order
        session.add_all(Thing(id=f"t{n}", size=n // 3) for n in range(10))
        session.commit()
        yield session


def walk(db: Session, sort_column: object, descending: bool = False) -> list[str]:
    seen: list[str] = []
    request = PageRequest(limit=3)
    while True:
        page = paginate_select(db, select(Thing), Thing.id, request, sort_column, descending=descending)
        seen += [t.id for t in page.items]
        if not page.has_next:
            return seen
        request = page_request(query_of(page.links(URL)[0]["href"]))


def test_select_pages_by_id(db: Session) -> None:
    assert walk(db, None) == sorted(f"t{n}" for n in range(10))


def test_select_pages_by_sort_key_with_ties(db: Session) -> None:
    everything = db.scalars(select(Thing).order_by(Thing.size, Thing.id)).all()
    assert walk(db, Thing.size) == [t.id for t in everything]
    assert walk(db, Thing.size, descending=True) == [t.id for t in reversed(everything)]


def test_select_reverse_page_and_bad_marker(db: Session) -> None:
    page = paginate_select(db, select(Thing), Thing.id, PageRequest(limit=2, marker="t5", page_reverse=True))
    assert [t.id for t in page.items] == ["t3", "t4"]
    assert page.has_previous and page.has_next
    with pytest.raises(BadRequest):
        paginate_select(db, select(Thing), Thing.id, PageRequest(limit=2, marker="zzz"))
