"""Feedback from the widget to the question log, and what the admin sees of it: ``GET
/api/admin/questions`` (admin keys only) and the ``/admin`` page, in Debian's headless Chromium like
tests/test_widget.py (whose browser fixtures and helpers are reused), against the real service
answering without a model (quotes and refusals: milliseconds)."""

from __future__ import annotations

from pathlib import Path

import httpx
import pytest
from fastapi.testclient import TestClient
from pydantic import SecretStr

from service.app import create_app
from service.engine import Engine
from service.questionlog import QuestionLog
from tests.conftest import wait_until
from tests.test_widget import browser, host_page, page, site, wait_answered, widget  # noqa: F401 (fixtures)
from tests.test_widget import ask as ask_widget

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
from playwright.sync_api import Page, expect  # noqa: E402

ADMIN_KEY = "sk-admin-log-test"
API_KEY = "sk-reader-test"
QUESTION = "2023年太仓市一般公共预算收入是多少？"
REFUSED = "2023年南京市一般公共预算收入是多少？"
COMMENT = "想知道的是税收收入，不是总收入"


def settings_for(retriever, tmp_path: Path, **overrides: object):
    values: dict[str, object] = {
        "rate_limit": "", "warm_up": False, "answer_mode": "quote-first", "log_path": tmp_path / "questions.sqlite",
        "admin_keys": [SecretStr(ADMIN_KEY)],
    }  # fmt: skip
    values.update(overrides)
    return retriever.settings.model_copy(update=values)


def start(serve_app, retriever, tmp_path: Path, site=None, **overrides: object) -> tuple[str, QuestionLog]:  # noqa: F811
    if site is not None:
        overrides.setdefault("cors_origins", [site.origin])
    settings = settings_for(retriever, tmp_path, **overrides)
    app = create_app(settings, engine=Engine(settings, retriever, None))
    return serve_app(app), app.state.question_log


def entries(log: QuestionLog, kind: str = "all") -> list[dict]:
    log.flush()
    return log.questions(kind)


# --- the admin route ------------------------------------------------------------------------------------


def test_the_admin_route_needs_an_admin_key(retriever, tmp_path):
    settings = settings_for(retriever, tmp_path, api_keys=[SecretStr(API_KEY)])
    client = TestClient(create_app(settings, engine=Engine(settings, retriever, None)))
    missing = client.get("/api/admin/questions")
    assert missing.status_code == 401 and missing.json()["error"]["type"] == "authentication_error"
    assert missing.headers["www-authenticate"] == "Bearer"
    assert client.get("/api/admin/questions", headers={"Authorization": "Bearer made-up"}).status_code == 401
    reader = client.get("/api/admin/questions", headers={"Authorization": f"Bearer {API_KEY}"})
    assert reader.status_code == 403 and reader.json()["error"]["type"] == "permission_error"
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    assert client.get("/api/admin/questions", headers=admin).json() == {"kind": "all", "since": None, "count": 0, "questions": []}

    off = settings.model_copy(update={"admin_keys": []})
    disabled = TestClient(create_app(off, engine=Engine(off, retriever, None))).get("/api/admin/questions", headers=admin)
    assert disabled.status_code == 403 and "RAG_ADMIN_KEYS" in disabled.json()["error"]["message"]

    unlogged = settings.model_copy(update={"log_questions": False})
    no_log = TestClient(create_app(unlogged, engine=Engine(unlogged, retriever, None))).get("/api/admin/questions", headers=admin)
    assert no_log.status_code == 503 and "RAG_LOG_QUESTIONS" in no_log.json()["error"]["message"]


def test_the_admin_route_lists_each_kind_since_a_time(retriever, tmp_path):
    settings = settings_for(retriever, tmp_path)
    client = TestClient(create_app(settings, engine=Engine(settings, retriever, None)))
    admin = {"Authorization": f"Bearer {ADMIN_KEY}"}
    answered = [client.post("/api/ask", json={"question": QUESTION}).json() for _ in range(2)]
    refused = client.post("/api/ask", json={"question": REFUSED}).json()
    client.post("/api/feedback", json={"answer_id": answered[0]["id"], "rating": "down", "comment": COMMENT})

    def listed(**params: str) -> dict:
        response = client.get("/api/admin/questions", params=params, headers=admin)
        assert response.status_code == 200, response.text
        return response.json()

    assert [q["id"] for q in listed()["questions"]] == [refused["id"], answered[1]["id"], answered[0]["id"]]
    assert [q["id"] for q in listed(kind="refused")["questions"]] == [refused["id"]]
    down = listed(kind="down")["questions"]
    assert [(q["id"], q["comment"]) for q in down] == [(answered[0]["id"], COMMENT)]
    top = listed(kind="top")["questions"]
    assert (top[0]["question"], top[0]["count"], top[0]["down"]) == (QUESTION, 2, 1)
    assert len(listed(kind="slow", limit="1")["questions"]) == 1
    assert listed(since="1d")["count"] == 3 and listed(since="2999-01-01")["count"] == 0
    for bad in ({"kind": "best"}, {"since": "someday"}, {"limit": "0"}):
        response = client.get("/api/admin/questions", params=bad, headers=admin)
        assert response.status_code == 422 and response.json()["error"]["type"] == "invalid_request_error"
    page = client.get("/admin")
    assert page.status_code == 200 and "script-src 'self'" in page.headers["content-security-policy"]
    assert page.headers["cache-control"] == "no-store" and ADMIN_KEY not in page.text
    assert client.get("/admin.js").headers["content-type"].startswith("application/javascript")


# --- in the browser: 👍/👎 in the widget, the admin page ---------------------------------------------------


def shadow_focus(page: Page) -> str | None:
    """The aria-label (else class) of what has focus inside the widget."""
    return page.evaluate(
        "() => { const el = document.querySelector('govrag-widget').shadowRoot.activeElement;"
        " return el ? (el.getAttribute('aria-label') || el.className) : null; }"
    )


def test_widget_feedback_reaches_the_log(page, site, serve_app, retriever, tmp_path):  # noqa: F811
    api, log = start(serve_app, retriever, tmp_path, site=site)
    host_page(page, site, api, open="true")
    ask_widget(page, QUESTION)
    answer = wait_answered(page)
    expect(answer.locator(".body")).to_contain_text("189.4亿元")
    up, down = answer.get_by_role("button", name="有帮助", exact=True), answer.get_by_role("button", name="没有帮助")
    expect(up).to_have_attribute("aria-pressed", "false")
    [logged] = entries(log)
    assert logged["question"] == QUESTION and logged["rating"] is None

    with page.expect_response(lambda r: r.url.endswith("/api/feedback")) as sent:
        up.click()
    assert sent.value.status == 200 and sent.value.request.post_data_json == {"answer_id": logged["id"], "rating": "up"}
    expect(up).to_have_attribute("aria-pressed", "true")
    expect(answer.locator(".feedback .note")).to_have_text("谢谢反馈！")
    wait_until(lambda: entries(log)[0]["rating"] == "up", what="👍 in the log")

    # the keyboard alone: 👎, then a short comment, Enter sends it
    down.focus()
    page.keyboard.press("Enter")
    expect(down).to_have_attribute("aria-pressed", "true")
    expect(up).to_have_attribute("aria-pressed", "false")
    comment = answer.get_by_role("textbox", name="哪里不对？（可选）")
    expect(comment).to_be_focused()
    assert shadow_focus(page) == "哪里不对？（可选）"
    page.keyboard.type(COMMENT)
    page.keyboard.press("Enter")
    expect(answer.locator(".feedback .note")).to_have_text("谢谢，已收到您的意见。")
    expect(comment).to_have_count(0)
    assert shadow_focus(page) == "没有帮助"
    wait_until(lambda: (entries(log)[0]["rating"], entries(log)[0]["comment"]) == ("down", COMMENT), what="👎 in the log")
    assert [e["id"] for e in entries(log, "down")] == [logged["id"]]

    # Esc closes a comment box (not the panel); the rating stays, and is shown again after a reload
    down.click()
    expect(comment).to_be_focused()
    page.keyboard.press("Escape")
    expect(comment).to_have_count(0)
    expect(page.get_by_role("dialog")).to_be_visible()
    host_page(page, site, api, open="true")
    replayed = widget(page, ".msg.bot:not(.welcome)").last
    expect(replayed.get_by_role("button", name="没有帮助")).to_have_attribute("aria-pressed", "true")

    # an unknown answer (say, deleted by retention) gets a readable note, not a silent failure
    def gone(route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method != "POST":
            route.fallback()  # the CORS preflight goes to the service
            return
        route.fulfill(status=404, content_type="application/json", headers={"Access-Control-Allow-Origin": "*"},
                      body='{"error": {"message": "no answer in the question log", "type": "not_found_error", "code": 404}}')  # fmt: skip

    page.route(f"{api}/api/feedback", gone)
    replayed.get_by_role("button", name="有帮助", exact=True).click()
    expect(replayed.locator(".feedback .note")).to_contain_text("反馈未能提交")
    page.unroute(f"{api}/api/feedback")

    # data-feedback="false": no buttons, the answer otherwise the same
    host_page(page, site, api, open="true", feedback="false")
    ask_widget(page, QUESTION)
    plain = wait_answered(page)
    expect(plain.locator(".body")).to_contain_text("189.4亿元")
    expect(widget(page, ".feedback")).to_have_count(0)


def test_admin_page_shows_feedback_only_with_the_admin_key(page, serve_app, retriever, tmp_path):  # noqa: F811
    api, log = start(serve_app, retriever, tmp_path, api_keys=[SecretStr(API_KEY)])
    reader = {"Authorization": f"Bearer {API_KEY}"}
    answered = [httpx.post(f"{api}/api/ask", json={"question": QUESTION}, headers=reader).json() for _ in range(3)]
    httpx.post(f"{api}/api/ask", json={"question": REFUSED}, headers=reader)
    rated = httpx.post(f"{api}/api/feedback", json={"answer_id": answered[1]["id"], "rating": "down", "comment": COMMENT},
                       headers=reader)  # fmt: skip
    assert rated.status_code == 200

    page.goto(f"{api}/admin")
    expect(page).to_have_title("问答助手 · 管理")
    expect(page.locator("#report")).to_be_hidden()  # nothing without a key
    key = page.get_by_label("管理员密钥")
    key.fill("made-up")
    key.press("Enter")
    expect(page.get_by_role("alert")).to_contain_text("401")
    expect(page.locator("#report")).to_be_hidden()
    key.fill(API_KEY)  # a reader's key is no admin key
    page.get_by_role("button", name="查看").click()
    expect(page.get_by_role("alert")).to_contain_text("403")
    expect(page.locator("#report")).to_be_hidden()
    expect(key).to_be_focused()

    key.fill(ADMIN_KEY)
    key.press("Enter")
    expect(page.locator("#report")).to_be_visible()
    expect(page.get_by_role("alert")).to_be_hidden()
    down = page.locator("#down table tbody tr")
    expect(down).to_have_count(1)
    expect(down).to_have_attribute("data-id", answered[1]["id"])
    expect(down.locator("td.comment")).to_have_text(COMMENT)
    expect(down.locator("td.question")).to_have_text(QUESTION)
    expect(page.locator("#refused table tbody tr td.question")).to_have_text(REFUSED)
    top = page.locator("#top table tbody tr").first
    expect(top.locator("td.question")).to_have_text(QUESTION)
    expect(top.locator("td.count")).to_have_text("3")
    expect(page.locator("#slow table tbody tr")).to_have_count(4)
    assert ADMIN_KEY not in page.content()

    # a rating given meanwhile shows after 刷新; 退出 forgets the key
    httpx.post(f"{api}/api/feedback", json={"answer_id": answered[2]["id"], "rating": "down"}, headers=reader)
    page.get_by_role("button", name="刷新").click()
    expect(page.locator("#down table tbody tr")).to_have_count(2)
    page.get_by_role("button", name="退出").click()
    expect(page.locator("#report")).to_be_hidden()
    page.reload()
    expect(page.get_by_label("管理员密钥")).to_be_visible()
    expect(page.locator("#report")).to_be_hidden()


def test_admin_page_shows_an_answers_figures_and_confidence(page, serve_app, retriever, tmp_path):  # noqa: F811
    """The log keeps what each figure of an answer measures (schema 3) and the answer's confidence
    (schema 4): the page lists them with the answer — value and unit, what, where, which year, what kind."""
    from service.questionlog import LoggedAnswer

    api, log = start(serve_app, retriever, tmp_path)
    figure = {"value": "189.4", "unit": "亿元", "text": "189.4亿元", "measures": "一般公共预算收入", "place": "太仓市",
              "level": "县级市", "year": 2023, "kind": "actual", "citation": 1}  # fmt: skip
    target = dict(figure, value="5", unit="%", text="5%", measures="增长", year=2024, kind="target", qualifier="左右")
    log.record(LoggedAnswer(id="f" * 32, question=QUESTION, answer="189.4亿元[1]，2024年预期增长5%左右[1]。",
                            mode="quote", figures=[figure, target], confidence=0.912))  # fmt: skip
    log.record(LoggedAnswer(id="e" * 32, question=REFUSED, answer="报告中未提及", mode="refused", refused=True,
                            confidence=0.876))  # fmt: skip
    assert log.flush()
    assert log.rate("f" * 32, "down")
    assert log.flush()

    page.goto(f"{api}/admin")
    key = page.get_by_label("管理员密钥")
    key.fill(ADMIN_KEY)
    key.press("Enter")
    expect(page.locator("#report")).to_be_visible()
    answered = page.locator("#all table tbody tr[data-id='" + "f" * 32 + "']")
    expect(answered.locator("td.figures li")).to_have_text(
        ["189.4亿元 · 一般公共预算收入 · 太仓市 · 2023年 · 实际", "5%左右 · 增长 · 太仓市 · 2024年 · 目标"]
    )
    expect(answered.locator("td.figures li").nth(1)).to_have_attribute("data-kind", "target")
    expect(answered.locator("td.confidence")).to_have_text("0.91")
    refused = page.locator("#all table tbody tr[data-id='" + "e" * 32 + "']")
    expect(refused.locator("td.figures li")).to_have_count(0)
    expect(refused.locator("td.confidence")).to_have_text("0.88")
    down = page.locator("#down table tbody tr")
    expect(down.locator("td.figures li")).to_have_count(2)  # a rated-down answer shows its figures too
