"""The report library of the admin: ``GET /api/admin/reports``, ``GET /api/jobs``, the re-index routes
(``POST /api/documents/{id}/reindex``, ``POST /api/reindex``) and the ``/admin`` page's 报告库 panel in
Debian's headless Chromium (the fixtures of tests/test_widget.py), over the one-report corpus of
tests/test_upload.py: its made-up 江阴市 seed, and its made-up 宜兴市 report uploaded. TEST FIXTURES
both: real place names (so the gazetteer knows them), invented speakers and figures."""

from __future__ import annotations

import os
import threading
from pathlib import Path

import httpx
import pytest

from rag.text.gazetteer import division
from service.app import create_app
from tests.test_upload import ADMIN, ADMIN_KEY, SEED, UPLOAD, engine, finished, settings  # noqa: F401 (fixtures)
from tests.test_upload import API as READER
from tests.test_upload import serve as serve_upload
from tests.test_widget import browser, page  # noqa: F401 (fixtures)

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
from playwright.sync_api import Dialog, Page, expect  # noqa: E402

#: ``RAG_SCREENSHOTS=docs`` saves the browser test's screenshot as docs/admin-library.png.
SCREENSHOTS = os.environ.get("RAG_SCREENSHOTS")


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


# --- the 报告库 panel in the browser ------------------------------------------------------------------------


def test_the_admin_page_manages_the_report_library(page: Page, serve_app, engine, settings, tmp_path):  # noqa: F811
    api = serve_app(create_app(engine.settings, engine=engine))
    good, broken = tmp_path / "宜兴市2024年政府工作报告.txt", tmp_path / "损坏的报告.pdf"
    good.write_text(UPLOAD, encoding="utf-8")
    broken.write_bytes(BROKEN_PDF)

    page.goto(f"{api}/admin")
    expect(page.locator("#library")).to_be_hidden()  # nothing without the key
    key = page.get_by_label("管理员密钥")
    key.fill(ADMIN_KEY)
    key.press("Enter")
    library = page.locator("#library")
    expect(library).to_be_visible()
    expect(page.get_by_role("heading", name="报告库")).to_be_visible()
    rows = page.locator("#reports tbody tr")
    expect(rows).to_have_count(1)
    seed = page.locator('#reports tbody tr[data-id="jiangyin_2024"]')
    for column, text in [("place", "江阴市"), ("level", "县级市"), ("parent", "无锡市"), ("year", "2024"), ("format", "text"),
                         ("size", f"{len(SEED.encode())} B"), ("added_at", "初始报告")]:  # fmt: skip
        expect(seed.locator(f"td.{column}")).to_have_text(text)
    expect(page.locator("#library-summary")).to_contain_text("共 1 份报告")
    expect(page.locator("#failed")).to_have_text("暂无失败的任务")

    # two files at once: one job, one progress bar each; the good one joins the table, the broken one fails with its reason
    page.get_by_label("上传报告").set_input_files([good, broken])
    progress = page.locator("#progress li")
    expect(progress).to_have_count(2)
    expect(page.locator("#progress")).to_have_attribute("aria-live", "polite")
    done = page.locator("#progress li.done")
    expect(done).to_have_count(1, timeout=180_000)
    expect(done.locator(".name")).to_have_text(f"上传：{good.name}")
    expect(done.locator(".state")).to_have_text("完成")
    expect(done.get_by_role("progressbar", name=f"上传 {good.name} 的进度")).to_have_attribute("value", "100")
    failed_line = page.locator("#progress li.failed")
    expect(failed_line).to_have_count(1, timeout=180_000)
    expect(failed_line.locator(".state")).to_contain_text(f"失败：{broken.name}: corrupt PDF")
    expect(rows).to_have_count(2)
    added = rows.filter(has=page.locator("td.place", has_text="宜兴市"))
    expect(added.locator("td.name")).to_contain_text(good.name)
    expect(added.locator("td.level")).to_have_text("县级市")
    expect(added.locator("td.added_at")).not_to_have_text("初始报告")
    failed = page.locator("#failed tbody tr")
    expect(failed).to_have_count(1)
    expect(failed.locator("td.name")).to_have_text(broken.name)
    expect(failed.locator("td.reason")).to_contain_text("corrupt PDF")
    expect(page.locator("#library-summary")).to_contain_text("共 2 份报告")

    # sorted by place (pinyin: 江阴 before 宜兴); the header again, by keyboard, reverses it
    expect(rows.first.locator("td.place")).to_have_text("江阴市")
    by_place = page.get_by_role("button", name="地区")
    by_place.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#reports th", has=by_place)).to_have_attribute("aria-sort", "descending")
    expect(rows.first.locator("td.place")).to_have_text("宜兴市")
    expect(page.get_by_role("button", name="地区")).to_be_focused()

    # one report read again from its stored original
    page.get_by_role("button", name=f"重新索引 {good.name}").click()
    reindexed = page.locator("#progress li", has_text=f"重新索引：{good.name}")
    expect(reindexed).to_have_class("done", timeout=180_000)
    if SCREENSHOTS:
        page.screenshot(path=str(Path(SCREENSHOTS) / "admin-library.png"), full_page=True)

    # delete asks first: cancelled, nothing happens; confirmed, the report leaves the table
    asked: list[str] = []

    def answer(accept: bool):  # type: ignore[no-untyped-def]
        def handle(dialog: Dialog) -> None:
            asked.append(dialog.message)
            dialog.accept() if accept else dialog.dismiss()

        return handle

    remove = page.get_by_role("button", name="删除 jiangyin_2024.txt")
    page.once("dialog", answer(False))
    remove.click()
    assert asked and "jiangyin_2024.txt" in asked[0] and "江阴市" in asked[0]
    expect(progress).to_have_count(3)  # no delete job was started
    page.once("dialog", answer(True))
    remove.focus()  # by keyboard this time: the focus stays in the table once the row is gone
    page.keyboard.press("Enter")
    deleting = page.locator("#progress li", has_text="删除：jiangyin_2024.txt")
    expect(deleting).to_have_class("done", timeout=180_000)
    expect(rows).to_have_count(1)
    expect(page.locator("#reports table")).to_be_focused()
    expect(page.locator('#reports tbody tr[data-id="jiangyin_2024"]')).to_have_count(0)
    expect(page.locator("#library-summary")).to_contain_text("共 1 份报告")
    assert [d["region"] for d in engine.documents()] == ["宜兴市"]


def test_files_dropped_on_the_panel_upload_and_a_refused_one_says_why_even_with_the_question_log_off(
    page: Page,  # noqa: F811
    serve_app,
    engine,  # noqa: F811
):
    quiet = engine.settings.model_copy(update={"log_questions": False})
    api = serve_app(create_app(quiet, engine=engine))
    page.goto(f"{api}/admin")
    page.get_by_label("管理员密钥").fill(ADMIN_KEY)
    page.get_by_role("button", name="查看").click()
    expect(page.locator("#library")).to_be_visible()
    expect(page.locator("#report")).to_be_hidden()  # no question log: only the library
    expect(page.get_by_role("alert")).to_be_hidden()

    # what a drag from the file manager delivers: a drop event whose DataTransfer holds the files
    page.locator("#drop").evaluate(
        """(zone, texts) => {
            const files = new DataTransfer();
            files.items.add(new File([texts.report], "宜兴.txt", { type: "text/plain" }));
            files.items.add(new File([new Uint8Array([0, 1, 2, 255, 0, 7, 9, 0])], "图片.bin"));
            zone.dispatchEvent(new DragEvent("dragover", { dataTransfer: files, bubbles: true, cancelable: true }));
            zone.dispatchEvent(new DragEvent("drop", { dataTransfer: files, bubbles: true, cancelable: true }));
        }""",
        {"report": UPLOAD},
    )
    refused = page.locator("#progress li.failed")
    expect(refused.locator(".state")).to_contain_text("未接受（415）：图片.bin")
    expect(refused.locator(".state")).to_have_attribute("role", "alert")
    expect(page.locator("#progress li.done .name")).to_have_text("上传：宜兴.txt", timeout=180_000)
    expect(page.locator("#reports tbody tr")).to_have_count(2)
    expect(page.locator("#drop")).not_to_have_class("drop over")


def test_a_job_running_when_the_page_opens_is_followed_to_its_end(page: Page, serve_app, engine, monkeypatch):  # noqa: F811
    import rag.indexing.ingest

    release, indexing = threading.Event(), rag.indexing.ingest.ingest

    def held(*args, **kwargs):  # type: ignore[no-untyped-def]
        release.wait(120)  # the job waits in its parsing step until the page has seen it
        return indexing(*args, **kwargs)

    monkeypatch.setattr(rag.indexing.ingest, "ingest", held)
    api = serve_app(create_app(engine.settings, engine=engine))
    started = httpx.post(f"{api}/api/documents", files=[("files", ("宜兴.txt", UPLOAD.encode()))], headers=ADMIN)
    assert started.status_code == 202
    page.goto(f"{api}/admin")
    page.get_by_label("管理员密钥").fill(ADMIN_KEY)
    page.get_by_role("button", name="查看").click()
    line = page.locator(f'#progress li[data-job="{started.json()["job"]}"]')
    expect(line.locator(".name")).to_have_text("上传：宜兴.txt")
    expect(line.locator(".state")).to_have_text("解析中")
    expect(page.locator("#reports tbody tr")).to_have_count(1)
    release.set()
    expect(line).to_have_class("done", timeout=180_000)
    expect(page.locator("#reports tbody tr")).to_have_count(2)
    expect(page.locator("#progress li")).to_have_count(1)  # followed once, though the list was read again
