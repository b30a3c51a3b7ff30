"""The report library of the admin: ``GET /api/admin/reports``, ``GET /api/jobs``, the re-index routes
(``POST /api/documents/{id}/reindex``, ``POST /api/reindex``) and the ``/admin`` page's 报告库 panel in
Debian's headless Chromium (the fixtures of tests/test_widget.py), over the one-report corpus of
tests/test_upload.py: its made-up 江阴市 seed, and its made-up 宜兴市 report uploaded. TEST FIXTURES
both: real place names (so the gazetteer knows them), invented speakers and figures."""

from __future__ import annotations

import pytest

from rag.text.gazetteer import division
from tests.test_upload import ADMIN, UPLOAD, engine, finished, settings  # noqa: F401 (fixtures)
from tests.test_upload import API as READER
from tests.test_upload import serve as serve_upload

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")


#: Accepted as a PDF by its first bytes, unreadable by the PDF reader: its job fails with the reason.
BROKEN_PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> broken\n"


def test_a_place_gets_its_division_level_and_parent_from_the_gazetteer():
    def where(name: str, parent: str | None = None) -> tuple[str, str | None] | None:
        found = division(name, parent)
        return (found.level, found.parent) if found else None

    assert where("太仓市") == ("县级市", "苏州市") and where("苏州市") == ("地级市", "江苏省")
    assert where("江苏省") == ("省", None) and where("北京市") == ("直辖市", None) and where("海淀区") == ("区", "北京市")
    assert (
        where("相城区") == ("区", "苏州市")
        and where("忠县") == ("县", "重庆市")
        and where("锡林郭勒盟") == ("盟", "内蒙古自治区")
    )
    assert where("鼓楼区") == ("区", None)  # several cities have one: the report's parent tells which
    assert where("鼓楼区", "南京市") == ("区", "南京市")
    assert where("玉山镇", "昆山市") == ("镇", "昆山市")  # a town is no division of the gazetteer: by its suffix
    assert where("不存在市") is None and division(None) is None


def test_the_library_routes_list_reports_and_jobs_and_reindex(engine, settings):  # noqa: F811 (fixtures)
    with serve_upload(engine) as client:
        for method, path in [("GET", "/api/admin/reports"), ("GET", "/api/jobs"), ("POST", "/api/reindex"),
                             ("POST", "/api/documents/jiangyin_2024/reindex")]:  # fmt: skip
            missing = client.request(method, path)
            assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error", path
            reader = client.request(method, path, headers=READER)
            assert reader.status_code == 403 and reader.json()["error"]["type"] == "permission_error", path

        library = client.get("/api/admin/reports", headers=ADMIN).json()
        [seed] = library["reports"]
        assert (library["count"], library["chunks"], library["generation"]) == (1, seed["chunks"], engine.generation)
        assert {k: seed[k] for k in ("id", "name", "place", "level", "parent", "year", "format", "origin")} == {
            "id": "jiangyin_2024", "name": "jiangyin_2024.txt", "place": "江阴市", "level": "县级市", "parent": "无锡市",
            "year": 2024, "format": "text", "origin": "seed",
        }  # fmt: skip
        assert 2023 in seed["years"] and seed["chunks"] > 0 and seed["reindexable"]
        assert seed["size"] == (settings.seeds_dir / "jiangyin_2024.txt").stat().st_size and seed["added_at"] is None

        good = client.post("/api/documents", files=[("files", ("宜兴.txt", UPLOAD.encode()))], headers=ADMIN).json()
        bad = client.post("/api/documents", files=[("files", ("损坏.pdf", BROKEN_PDF))], headers=ADMIN).json()
        assert finished(client, good["job"])["status"] == "done"
        assert finished(client, bad["job"])["status"] == "failed"
        added = [r for r in client.get("/api/admin/reports", headers=ADMIN).json()["reports"] if r["origin"] == "upload"]
        assert [(r["name"], r["place"], r["level"], r["size"]) for r in added] == [
            ("宜兴.txt", "宜兴市", "县级市", len(UPLOAD.encode()))
        ]
        assert added[0]["added_at"].endswith("Z") and added[0]["id"] == good["documents"][0]["id"]

        jobs = client.get("/api/jobs", headers=ADMIN).json()
        assert [j["job"] for j in jobs["jobs"]] == [bad["job"], good["job"]] and jobs["count"] == 2
        [failed] = client.get("/api/jobs", params={"status": "failed"}, headers=ADMIN).json()["jobs"]
        assert failed["job"] == bad["job"] and "损坏.pdf" in failed["reason"] and "PDF" in failed["reason"]
        assert str(settings.uploads_dir) not in failed["reason"]
        [done] = client.get("/api/jobs", params={"status": "done", "limit": "5"}, headers=ADMIN).json()["jobs"]
        assert done["documents"][0]["region"] == "宜兴市"
        assert client.get("/api/jobs", params={"status": "running"}, headers=ADMIN).json()["jobs"] == []

        # one report read again: its passages replaced, the other kept; then the whole library
        before = engine.generation
        one = client.post("/api/documents/jiangyin_2024/reindex", headers=ADMIN)
        assert one.status_code == 202 and one.json()["kind"] == "reindex"
        assert one.json()["documents"][0]["id"] == "jiangyin_2024"
        assert finished(client, one.json()["job"])["status"] == "done" and engine.generation != before
        after = client.get("/api/admin/reports", headers=ADMIN).json()
        assert (
            sorted(r["place"] for r in after["reports"]) == ["宜兴市", "江阴市"]
            and after["chunks"] == engine.index_info()["chunks"]
        )
        whole = client.post("/api/reindex", headers=ADMIN)
        assert whole.status_code == 202 and whole.json()["documents"] == []
        assert finished(client, whole.json()["job"])["status"] == "done"
        assert client.get("/api/admin/reports", headers=ADMIN).json()["count"] == 2

        # bad ids and filters: JSON 4xx in the error envelope
        for response, status in [
            (client.post("/api/documents/no-such-report/reindex", headers=ADMIN), 404),
            (client.post("/api/documents/-bad/reindex", headers=ADMIN), 422),
            (client.get("/api/jobs", params={"status": "lost"}, headers=ADMIN), 422),
            (client.get("/api/jobs", params={"limit": "0"}, headers=ADMIN), 422),
        ]:
            assert response.status_code == status and response.json()["error"]["code"] == status, response.text

        # a seed whose file went away: listed as not re-indexable; re-reading it fails with the reason
        (settings.seeds_dir / "jiangyin_2024.txt").unlink()
        gone = next(r for r in client.get("/api/admin/reports", headers=ADMIN).json()["reports"] if r["id"] == "jiangyin_2024")
        assert not gone["reindexable"] and gone["size"] is None
        lost = finished(client, client.post("/api/documents/jiangyin_2024/reindex", headers=ADMIN).json()["job"])
        assert lost["status"] == "failed" and "stored original is gone" in lost["reason"]
