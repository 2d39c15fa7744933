"""``repositories.among`` (``column IN ids``) finds exactly the ids asked for on each engine —
on PostgreSQL the ids go as one text parameter split by the server, or as an array when an id
holds the separator or is empty."""

from __future__ import annotations

import pytest
from sqlalchemy import Engine, column, select, table, text
from sqlalchemy.orm import Session

from triage.storage.repositories import among

STORED = ["a", "b,c", "d e", "x\x1fy", "", "q", "zz", "ÆØÅ", "{x}", 'q"uote']


@pytest.mark.parametrize(
    "wanted",
    [
        {"a", "b,c"},
        {"x\x1fy", "q"},  # holds the separator: an array
        {"", "a"},
        {""},  # alone, an empty id would split into no id at all: an array
        {"a"},
        set(),
        {"nope", "zz"},
        {"{x}", 'q"uote', "ÆØÅ"},
        set(STORED),
    ],
)
def test_among_finds_exactly_the_ids(engine: Engine, wanted: set[str]) -> None:
    with Session(engine) as session:
        session.execute(text("CREATE TEMPORARY TABLE ids_here (v varchar(64))"))
        session.execute(text("INSERT INTO ids_here (v) VALUES (:v)"), [{"v": v} for v in STORED])
        ids_here = table("ids_here", column("v"))
        found = session.execute(select(ids_here.c.v).where(among(session, ids_here.c.v, wanted)))
        assert sorted(found.scalars()) == sorted(wanted & set(STORED))
        session.rollback()
