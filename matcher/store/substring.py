"""The one substring condition the desk's searches use (directory, organisations, needs).

LIKE '%word%' on every engine; on PostgreSQL also "the column's character bigrams contain the
word's", which the GIN indexes of migration 0011 answer, so the LIKE only rechecks the rows the
index found instead of scanning the table. A one-character word has no bigram and stays a scan.
"""

from __future__ import annotations

from sqlalchemy import Integer, Select, Text, and_, any_, func, literal, select
from sqlalchemy.dialects.postgresql import ARRAY
from sqlalchemy.sql.elements import ColumnElement


def bigrams(word: str) -> list[str]:
    """Distinct character bigrams, as ``matcher_bigrams`` computes them in the database."""
    return sorted({word[i : i + 2] for i in range(len(word) - 1)})


def contains(column, word: str, dialect: str) -> ColumnElement[bool]:
    like = column.contains(word, autoescape=True)
    grams = bigrams(word)
    if dialect != "postgresql" or not grams:
        return like
    return and_(func.matcher_bigrams(column).op("@>")(literal(grams, ARRAY(Text))), like)


def containing(key: tuple, columns, word: str, dialect: str, where: tuple = ()) -> list[Select]:
    """One ``SELECT *key WHERE *where`` per column containing the word, for the caller to UNION:
    each is an index scan on PostgreSQL, where an OR over the columns rechecks every bigram set
    it touches."""
    return [select(*key).where(*where, contains(column, word, dialect)) for column in columns]


def among(column, ids: list[int], dialect: str) -> ColumnElement[bool]:
    """``column IN ids``; on PostgreSQL as one array parameter, since the thousand ids a ranked
    directory page reads cost more to render and parse as a thousand parameters than the
    query takes to run."""
    if dialect != "postgresql":
        return column.in_(ids)
    return column == any_(literal(ids, ARRAY(Integer)))
