"""Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored."""

from tests.support import assert_japanese_4xx, bearer


def test_promoting_the_active_version_is_a_conflict(desk):
    r = desk["client"].post("/api/models/cold-start-v1/promote", headers=bearer(desk["client"], "admin@example.jp"))
    assert_japanese_4xx(r, 409)
