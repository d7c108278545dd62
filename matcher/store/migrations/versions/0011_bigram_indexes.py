"""an (name, id) index for paging the directory; on PostgreSQL, bigram GIN indexes for the
desk's substring searches (directory, organisations, needs) so they stay index scans at scale

Japanese search words are mostly two characters (切削, 溶接, 板金), which pg_trgm cannot index
(a two-character LIKE pattern has no trigram and degrades to a full index scan). Every substring
of two or more characters contains all of its character bigrams, so ``bigrams(col) @> bigrams(word)``
is a necessary condition an ordinary GIN array index answers, and the LIKE that follows keeps the
result exact. The function lives in the schema the tables live in.

Revision ID: 0011
Revises: 0010
Create Date: 2026-12-03 07:00:00
"""
from alembic import op

revision = '0011'
down_revision = '0010'
branch_labels = None
depends_on = None

# The organisation documents whose text is not already a column (an organisation's processes
# and equipment documents repeat its columns): the directory searches these, with this very
# predicate written as a constant so that a prepared statement's generic plan can use the index.
PROSE_DOCUMENTS = "owner_type = 'organization' AND kind NOT IN ('processes', 'equipment')"

# (index, table, column, partial predicate)
INDEXES = (
    ("ix_organization_name_bigrams", "organization", "name", None),
    ("ix_organization_processes_bigrams", "organization", "processes", None),
    ("ix_organization_equipment_bigrams", "organization", "equipment", None),
    ("ix_organization_certifications_bigrams", "organization", "certifications", None),
    ("ix_organization_city_bigrams", "organization", "city", None),
    ("ix_document_prose_bigrams", "document", "text", PROSE_DOCUMENTS),
    ("ix_need_title_bigrams", "need", "title", None),
    ("ix_need_text_bigrams", "need", "text", None),
    ("ix_need_required_processes_bigrams", "need", "required_processes", None),
)

# Every character bigram of t (and a stray single character or two, which no query asks for):
# the pairs at even offsets, then those at odd offsets, cut apart by the unit separator. One
# SELECT of built-in functions and not STRICT, so PostgreSQL inlines it into the index expression
# and into queries (a per-row SQL function call was most of an import's index upkeep).
FUNCTION = r"""
CREATE OR REPLACE FUNCTION matcher_bigrams(t text) RETURNS text[]
LANGUAGE sql IMMUTABLE PARALLEL SAFE AS
$$ SELECT array_remove(string_to_array(
       regexp_replace(t, '(..)', '\1' || chr(31), 'g') || chr(31) || regexp_replace(substr(t, 2), '(..)', '\1' || chr(31), 'g'),
       chr(31)), '') $$
"""


def upgrade() -> None:
    # The directory without words pages through published organisations by name.
    op.create_index("ix_organization_name_id", "organization", ["name", "id"])
    if op.get_bind().dialect.name != "postgresql":
        return
    op.execute(FUNCTION)
    for name, table, column, where in INDEXES:
        op.execute(f'CREATE INDEX IF NOT EXISTS {name} ON "{table}" USING gin (matcher_bigrams("{column}"))'
                   + (f" WHERE {where}" if where else ""))


def downgrade() -> None:
    op.drop_index("ix_organization_name_id", "organization")
    if op.get_bind().dialect.name != "postgresql":
        return
    for name, *_ in INDEXES:
        op.execute(f"DROP INDEX IF EXISTS {name}")
    op.execute("DROP FUNCTION IF EXISTS matcher_bigrams(text)")
