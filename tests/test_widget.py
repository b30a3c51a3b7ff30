"""The chat widget in a real headless Chromium (Debian's, driven by Playwright), against the real
service on a uvicorn loopback port.

Host pages other than the demo are served by a second loopback server on an origin of their own
(``http://localhost:<port>``), so the widget talks to the service cross-origin, through CORS, as it
does when an internal site embeds it. Model traffic replays a cassette recorded against the real
bundled model (``make record`` records it live). A screenshot of every scenario is saved in the
test's tmp dir.
"""

from __future__ import annotations

import json
import os
import shutil
import threading
from collections.abc import Iterator
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import httpx
import pytest
from pydantic import SecretStr

from rag.llm.clients import OpenAIClient, free_port
from service.app import create_app
from service.engine import Engine

pytest.importorskip("playwright.sync_api", reason="pip install playwright (the dev extra)")
from playwright.sync_api import Browser, Page, expect, sync_playwright  # noqa: E402

CHROMIUM = os.environ.get("CHROMIUM", "/usr/bin/chromium")
#: What the machine's closed network needs: no sandbox as root, no background connections.
CHROMIUM_ARGS = [
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-default-apps",
]
QUESTION = "2023年太仓市一般公共预算收入是多少？"
FOLLOWUP = "那税收收入呢？"  # needs the previous turn: 2023, 太仓市
KEY = "sk-widget-test"
OPEN = "打开问答助手"
#: ``RAG_SCREENSHOTS=docs`` saves the series and the quoted answers' screenshots as docs/widget-series.png, docs/widget-quote.png.
SCREENSHOTS = os.environ.get("RAG_SCREENSHOTS")


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    if not (shutil.which(CHROMIUM) or Path(CHROMIUM).exists()):
        pytest.fail(f"{CHROMIUM} is missing: run `make browser` (Debian's chromium package)")
    with sync_playwright() as playwright:
        browser = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


@pytest.fixture
def page(browser: Browser, tmp_path: Path, request: pytest.FixtureRequest) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 800}, locale="zh-CN")
    page = context.new_page()
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    yield page
    page.screenshot(path=str(tmp_path / f"{request.node.name}.png"))
    context.close()
    assert not errors, f"JavaScript errors on the page: {errors}"


class HostSite:
    """Another site on the intranet (loopback, another origin) whose pages embed the widget."""

    def __init__(self) -> None:
        self.html = ""
        site = self

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:  # noqa: N802
                body = site.html.encode()
                self.send_response(200)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args: object) -> None:
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.origin = f"http://localhost:{self.server.server_address[1]}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


@pytest.fixture
def site() -> Iterator[HostSite]:
    site = HostSite()
    yield site
    site.close()


def serve(serve_app, retriever, llm=None, site: HostSite | None = None, **overrides: object) -> str:
    values: dict[str, object] = {"rate_limit": "", "warm_up": False, "cors_origins": [site.origin] if site else []}
    values.update(overrides)
    settings = retriever.settings.model_copy(update=values)
    return serve_app(create_app(settings, engine=Engine(settings, retriever, llm)))


def model(url: str, timeout: float = 120) -> OpenAIClient:
    return OpenAIClient(base_url=url, api_key="sk-test-secret", model="local", timeout=timeout, max_retries=0)


def host_page(page: Page, site: HostSite, api: str, body: str = "", head: str = "", **options: str) -> None:
    """Open a page of another site that embeds the widget with one tag."""
    attrs = "".join(f' data-{name.replace("_", "-")}="{value}"' for name, value in options.items())
    site.html = (
        f"<!doctype html><html><head><meta charset='utf-8'>{head}</head><body>{body}"
        f"<script src='{api}/widget.js' data-api='{api}'{attrs} async></script></body></html>"
    )
    page.goto(f"{site.origin}/page.html")
    expect(widget(page, ".launcher")).to_be_visible()


def widget(page: Page, selector: str):
    """A node inside the widget's (open) shadow root; Playwright's CSS engine pierces it."""
    return page.locator(f"govrag-widget {selector}")


def ask(page: Page, question: str) -> None:
    box = widget(page, "textarea")
    box.fill(question)
    box.press("Enter")


def last_answer(page: Page):
    return widget(page, ".msg.bot:not(.welcome)").last


def wait_answered(page: Page):
    answer = last_answer(page)
    expect(answer).not_to_have_class("msg bot streaming", timeout=180_000)
    expect(widget(page, "button.send")).to_be_visible(timeout=180_000)
    return answer


def record_stream(page: Page) -> None:
    """Remember every text the answer being written shows, to see it grow delta by delta."""
    page.evaluate(
        """() => {
        const root = document.querySelector('govrag-widget').shadowRoot;
        window.__seen = [];
        new MutationObserver(() => {
            const msg = [...root.querySelectorAll('.msg.bot.streaming .body')].pop();
            if (msg) window.__seen.push(msg.textContent);
        }).observe(root, {subtree: true, childList: true, characterData: true});
    }"""
    )


# --- the service's side of /api/ask played by the browser's network layer (page.route) ----------

CITATION = {"n": 1, "chunk_id": "x#1", "source": "x.txt", "region": "太仓市", "year": 2023, "section": "一、回顾",
            "text": "全年一般公共预算收入189.4亿元。", "report_title": "太仓市2024年政府工作报告"}
QUOTE_MARK = "（未经大模型生成，以下为报告原文摘录）"  # what quoted answers used to start with


def answer_object(text: str, mode: str = "model", **fields: object) -> dict[str, object]:
    """The answer object of ``/api/ask`` (and of the stream's ``done`` event)."""
    answer = {"question": QUESTION, "answer": text, "refused": mode == "refused", "citations": [CITATION],
              "unsupported_numbers": [], "backend": "openai", "degraded": mode == "degraded", "mode": mode,
              "cached": False}
    answer.update(fields)
    return answer


def stream(*events: tuple[str, object]) -> dict[str, object]:
    """A 200 ``text/event-stream`` response carrying ``events`` (all at once)."""
    body = "".join(f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n" for name, data in events)
    return {"status": 200, "body": body.encode(),
            "headers": {"Content-Type": "text/event-stream", "Access-Control-Allow-Origin": "*"}}


def busy(retry_after: int) -> dict[str, object]:
    """The 503 the service answers when the model's queue is full."""
    body = {"error": {"message": "the model is busy; try again shortly", "type": "busy", "code": 503}}
    return {"status": 503, "body": json.dumps(body).encode(), "headers": {
        "Content-Type": "application/json", "Retry-After": str(retry_after), "Access-Control-Allow-Origin": "*",
        "Access-Control-Expose-Headers": "Retry-After"}}


class FakeAsk:
    """Answers the page's POSTs to ``/api/ask`` with ``responses``, one per request, in turn."""

    def __init__(self, page: Page, api: str, *responses: dict[str, object]) -> None:
        self.responses = list(responses)
        self.calls = 0
        page.route(f"{api}/api/ask", self.handle)

    def handle(self, route) -> None:  # type: ignore[no-untyped-def]
        if route.request.method != "POST":
            route.fallback()
            return
        self.calls += 1
        if self.calls > len(self.responses):
            route.fulfill(status=500, body=b"unexpected request", headers={"Access-Control-Allow-Origin": "*"})
        else:
            route.fulfill(**self.responses[self.calls - 1])


# --- the demo page with the real model (cassette) -----------------------------------------------


@pytest.mark.vcr
def test_demo_page_streams_a_cited_answer_and_a_followup(page, serve_app, retriever, llm_url, tmp_path):
    api = serve(serve_app, retriever, model(llm_url), answer_mode="model")  # the model, not a quote: it streams
    page.goto(api + "/")
    expect(page).to_have_title("政府工作报告问答 · 演示")
    launcher = page.get_by_role("button", name=OPEN)
    expect(launcher).to_have_attribute("aria-expanded", "false")
    launcher.click()
    expect(launcher).to_have_attribute("aria-expanded", "true")
    expect(page.get_by_role("dialog", name="政府工作报告问答")).to_be_visible()
    expect(widget(page, ".welcome")).to_contain_text("您好")

    bodies: list[str] = []

    def relay(route) -> None:  # type: ignore[no-untyped-def]
        response = route.fetch()  # the real service's whole event stream, passed on unchanged
        bodies.append(response.text())
        route.fulfill(response=response)

    page.route("**/api/ask", relay)
    with page.expect_request(lambda r: r.url.endswith("/api/ask")) as sent:
        ask(page, QUESTION)
    assert json.loads(sent.value.post_data or "{}") == {"question": QUESTION, "history": [], "stream": True}
    answer = wait_answered(page)
    expect(answer).to_contain_text("189.4亿元")
    page.unroute("**/api/ask")
    # the service streamed the answer (checked sentence by sentence: one delta per sentence) and ended it
    assert bodies and bodies[0].count("event: delta") >= 1 and "event: done" in bodies[0], bodies[:1]
    assert bodies[0].index("event: sources") < bodies[0].index("event: delta") < bodies[0].index("event: done")

    # citations are buttons; one click shows the passage with its report and section
    cite = answer.locator("button.cite").first
    expect(cite).to_have_text("[1]")
    cite.click()
    passage = answer.locator(".passage")
    expect(passage).to_be_visible()
    expect(passage.locator(".meta")).to_contain_text("太仓市")
    expect(passage.locator(".meta")).to_contain_text("2024")
    expect(passage.locator(".text")).to_contain_text("189.4")
    expect(answer.locator(".sources li")).not_to_have_count(0)
    page.screenshot(path=str(tmp_path / "cited-answer.png"))

    # a follow-up carries the previous turn and is answered from it (税收收入160.3亿元)
    with page.expect_request(lambda r: r.url.endswith("/api/ask")) as sent:
        ask(page, FOLLOWUP)
    history = json.loads(sent.value.post_data or "{}")["history"]
    assert [turn["role"] for turn in history] == ["user", "assistant"] and history[0]["content"] == QUESTION
    followup = wait_answered(page)
    expect(followup).to_contain_text("160.3亿元")
    expect(followup.locator("button.cite")).not_to_have_count(0)

    # the conversation survives a reload (session storage); "new chat" clears it
    page.reload()
    page.get_by_role("button", name=OPEN).click()
    expect(widget(page, ".msg.user")).to_have_count(2)
    page.get_by_role("button", name="新对话").click()
    expect(widget(page, ".msg.user")).to_have_count(0)


# --- safety and isolation -----------------------------------------------------------------------

HOSTILE = """政府工作报告

——2024年1月8日在无害市第一届人民代表大会第一次会议上

市长 张无害

各位代表：现在，我代表无害市人民政府，向大会报告工作。

一、2023年工作回顾

全年无害市一般公共预算收入达到12.5亿元<script>window.pwned = "script"</script>，比上年增长3%。
无害市新建公园<img src=x onerror="window.pwned = 'img'">五个，绿地面积增加800亩。
"""

def test_hostile_passage_stays_inert_text(page, site, serve_app, make_settings, embedder, tmp_path):
    from rag.indexing.ingest import ingest
    from rag.retrieval.retrieve import Retriever

    report = tmp_path / "reports" / "hostile.txt"
    report.parent.mkdir()
    report.write_text(HOSTILE, encoding="utf-8")
    settings = make_settings(seeds_dir=report.parent)
    retriever = Retriever(ingest([report.parent], settings, embedder=embedder).index, embedder, settings)
    api = serve(serve_app, retriever, site=site)
    assert "<img" in httpx.post(f"{api}/api/search", json={"query": "无害市新建公园"}).text

    host_page(page, site, api, open="true")
    ask(page, "无害市新建了几个公园？")
    answer = wait_answered(page)
    answer.locator("button.cite").first.click()
    text = answer.locator(".passage .text")
    expect(text).to_contain_text("<img src=x onerror=")  # shown, literally, as text
    expect(answer.locator(".badge.unsupported")).to_have_count(0)  # quoted figures are supported
    ask(page, "无害市一般公共预算收入是多少？")
    second = wait_answered(page)
    second.locator("button.cite").first.click()
    expect(second.locator(".passage .text")).to_contain_text("<script>")
    assert page.evaluate("window.pwned") is None
    assert page.evaluate("document.querySelector('govrag-widget').shadowRoot.querySelectorAll('img, script').length") == 0


def test_hostile_model_output_renders_as_text(page, site, serve_app, retriever):
    """Whatever a model says (markup included) is text; only **bold** and known [n] become elements."""
    api = serve(serve_app, retriever, site=site)
    citation = {"n": 1, "chunk_id": "x#1", "source": "x.txt", "region": "太仓市", "year": 2023, "section": "一、回顾",
                "text": "收入12.5亿元。", "report_title": "太仓市2024年政府工作报告"}
    said = "收入**12.5亿元**<img src=x onerror=\"window.pwned='model'\">[1][7]<b>粗</b>"
    done = {"question": "q", "answer": said, "refused": False, "citations": [citation], "unsupported_numbers": [],
            "backend": "openai", "degraded": False}
    events = [("sources", [citation]), ("delta", {"text": said[:9]}), ("delta", {"text": said[9:]}), ("done", done)]
    stream = "".join(f"event: {name}\ndata: {json.dumps(data, ensure_ascii=False)}\n\n" for name, data in events)
    page.route(f"{api}/api/ask", lambda route: route.fulfill(
        status=200, body=stream.encode(), headers={"Content-Type": "text/event-stream", "Access-Control-Allow-Origin": "*"}))
    host_page(page, site, api, open="true")
    ask(page, QUESTION)
    answer = wait_answered(page)
    expect(answer.locator("strong")).to_have_text("12.5亿元")
    expect(answer.locator("button.cite")).to_have_count(1)  # [7] names no passage: left as text
    expect(answer.locator(".body")).to_contain_text("<img src=x onerror=")
    expect(answer.locator(".body")).to_contain_text("[7]<b>粗</b>")
    assert page.evaluate("window.pwned") is None
    assert answer.evaluate("n => n.querySelectorAll('img, b, script').length") == 0


AGGRESSIVE_CSS = """<style>
  * { font-size: 40px !important; color: lime !important; background: black !important;
      line-height: 3 !important; letter-spacing: 9px !important; box-sizing: content-box !important; }
  div, button, textarea { display: none !important; }
  govrag-widget, [data-version] { visibility: hidden !important; opacity: 0 !important; left: -9999px !important; }
  body { filter: none; }
</style>"""


def test_host_page_css_and_widget_css_do_not_leak(page, site, serve_app, retriever):
    api = serve(serve_app, retriever, site=site)
    host_page(page, site, api, head=AGGRESSIVE_CSS, body="<button id='host-button'>host</button>", lang="en", color="#0a5")
    launcher = page.get_by_role("button", name="Open the Q&A assistant")
    expect(launcher).to_be_visible()
    box = launcher.bounding_box()
    assert box and box["width"] == 56 and box["height"] == 56 and box["x"] > 1000
    launcher.click()
    ask(page, QUESTION)
    answer = wait_answered(page)
    expect(answer).to_contain_text("189.4亿元")
    style = answer.evaluate("n => getComputedStyle(n.querySelector('.body'))")
    assert style["fontSize"] == "14px" and style["letterSpacing"] == "normal"
    assert answer.evaluate("n => getComputedStyle(n).color") == "rgb(31, 35, 40)"
    expect(page.get_by_role("button", name="Send")).to_be_visible()
    # and nothing of the widget's stylesheet reaches the host page's own elements
    assert page.evaluate("getComputedStyle(document.getElementById('host-button')).display") == "none"
    assert page.evaluate("getComputedStyle(document.body).fontSize") == "40px"


def test_quoted_answer_is_labelled_and_loses_the_old_marker(page, site, serve_app, retriever):
    """``"mode": "quote"``: a report sentence quoted without the model gets the 「报告原文」 label."""
    api = serve(serve_app, retriever, site=site)
    quoted = QUOTE_MARK + "2023年太仓市全年一般公共预算收入189.4亿元[1]。"
    fake = FakeAsk(page, api, stream(("sources", [CITATION]), ("delta", {"text": quoted}),
                                     ("done", answer_object(quoted, mode="quote"))))
    host_page(page, site, api, open="true")
    ask(page, QUESTION)
    answer = wait_answered(page)
    expect(answer.locator(".badge.quote")).to_have_text("报告原文")
    expect(answer.locator(".body")).to_have_text("2023年太仓市全年一般公共预算收入189.4亿元[1]。")  # marker gone
    expect(answer.locator(".badge.degraded, .badge.refused")).to_have_count(0)
    answer.locator("button.cite").click()
    expect(answer.locator(".passage .text")).to_contain_text("189.4亿元")
    assert fake.calls == 1

    # the label comes back with the conversation (session storage), in the page's language
    host_page(page, site, api, open="true", lang="en")
    replayed = last_answer(page)
    expect(replayed.locator(".badge.quote")).to_have_text("Report excerpt")
    expect(replayed.locator(".body")).not_to_contain_text("未经大模型生成")


def test_the_services_own_quote_is_labelled(page, site, serve_app, retriever):
    """The real service (``quote-first``): the report states the figure, so it is quoted, no model asked."""
    api = serve(serve_app, retriever, site=site, answer_mode="quote-first")
    host_page(page, site, api, open="true")
    ask(page, QUESTION)
    answer = wait_answered(page)
    expect(answer.locator(".badge.quote")).to_have_text("报告原文")
    expect(answer.locator(".body")).to_contain_text("189.4亿元")
    expect(answer.locator(".body")).not_to_contain_text("未经大模型生成")
    expect(answer.locator(".body button.cite")).not_to_have_count(0)

def test_a_quoted_answer_opens_with_one_line_and_shows_the_reports_sentence_as_evidence(page, site, serve_app, retriever):
    """The real service (``quote-first``, no model): the first line states the figure with its year and
    place; the report's sentence follows as evidence, set apart, the figure marked in both."""
    api = serve(serve_app, retriever, site=site, answer_mode="quote-first")
    host_page(page, site, api, open="true")
    ask(page, QUESTION)
    answer = wait_answered(page)
    evidence = answer.locator(".body blockquote.evidence")
    expect(evidence).to_have_count(1)
    expect(evidence.locator(".evidence-label")).to_have_text("原文")
    expect(evidence).to_contain_text("完成一般公共预算收入189.4亿元")
    lead = answer.locator(".body").evaluate("b => [...b.childNodes].filter(n => n.nodeName !== 'BLOCKQUOTE').map(n => n.textContent).join('')")
    assert lead.startswith("2023年太仓市一般公共预算收入189.4亿元") and "原文" not in lead
    expect(answer.locator(".body > mark.fig")).to_have_text(["189.4亿元"])  # in the line
    expect(evidence.locator("mark.fig")).to_have_text(["189.4亿元"])  # and in its sentence
    expect(evidence.locator("button.cite")).not_to_have_count(0)
    if SCREENSHOTS:
        widget(page, ".panel").screenshot(path=str(Path(SCREENSHOTS) / "widget-quote.png"))


def test_replace_event_swaps_the_quote_for_the_models_wording(page, site, serve_app, retriever):
    """A quote shown at once, then ``replace`` with the model's checked wording: the text shown is replaced."""
    api = serve(serve_app, retriever, site=site)
    quoted = QUOTE_MARK + "全年一般公共预算收入189.4亿元[1]。"
    worded = "2023年太仓市一般公共预算收入为**189.4亿元**[1]。"
    FakeAsk(page, api, stream(("sources", [CITATION]), ("delta", {"text": quoted}), ("replace", {"text": worded}),
                              ("done", answer_object(worded, mode="model", cached=True))))
    host_page(page, site, api, open="true")
    record_stream(page)
    ask(page, QUESTION)
    answer = wait_answered(page)
    expect(answer.locator(".body")).to_have_text("2023年太仓市一般公共预算收入为189.4亿元[1]。")
    expect(answer.locator(".body strong")).to_have_text("189.4亿元")
    expect(answer.locator(".body button.cite")).to_have_count(1)
    expect(answer.locator(".badge")).to_have_count(0)  # the model's words: no quote label
    seen = page.evaluate("window.__seen")
    # while streaming, replace showed the new text in place of (not after) the quote
    assert "2023年太仓市一般公共预算收入为189.4亿元[1]。" in seen, seen
    assert not any("摘录" in text and "收入为" in text for text in seen), seen

# --- answers composed from report figures: marked figures, a series as a table and a chart --------

SERIES_QUESTION = "清苑区历年地区生产总值"


def test_series_answer_has_a_table_with_its_gap_and_a_chart_linked_to_the_sources(page, site, serve_app, retriever):
    """``table`` (a series): a captioned table of the years, a gap row 「报告未载」, and a line chart with
    one focusable point per stated year that opens its passage; the figures in the text are marked."""
    from tests.test_service import series_answer

    api = serve(serve_app, retriever, site=site)
    done = series_answer().to_dict()
    FakeAsk(page, api, stream(("sources", done["citations"]), ("delta", {"text": done["answer"]}), ("done", done)))
    host_page(page, site, api, open="true")
    ask(page, SERIES_QUESTION)
    answer = wait_answered(page)
    expect(answer.locator(".body")).to_have_text(done["answer"])
    expect(answer.locator(".body mark.fig")).to_have_text(["150.1亿元", "160.5亿元", "176.6亿元"])

    table = answer.get_by_role("table", name="清苑区地区生产总值")  # the caption names it
    expect(table.locator("thead th")).to_have_text(["年份", "数值", "出处"])
    rows = table.locator("tbody tr")
    expect(rows).to_have_count(4)
    expect(rows.nth(1)).to_have_text("2021年160.5亿元[2]")
    expect(rows.nth(2)).to_have_text("2022年报告未载—")  # the gap: no figure, no source
    expect(rows.nth(2)).to_have_class("gap")
    rows.nth(3).get_by_role("button", name="查看来源 3").click()
    expect(answer.locator(".passage")).to_have_attribute("data-n", "3")
    expect(answer.locator(".passage .text")).to_contain_text("176.6亿元")

    chart = answer.get_by_role("img", name="清苑区地区生产总值：2020年 150.1亿元，2021年 160.5亿元，2022年 报告未载，2023年 176.6亿元")
    expect(chart).to_be_visible()
    points = chart.locator(".pt")
    expect(points).to_have_count(3)  # one per stated year, none for the gap
    assert points.evaluate_all("ps => ps.map(p => p.querySelector('title').textContent)") == [
        "2020年 150.1亿元", "2021年 160.5亿元", "2023年 176.6亿元"]  # fmt: skip
    expect(chart.locator("path.line")).to_have_count(1)  # 2020–2021; the gap breaks the line before 2023
    expect(chart.locator("text.max")).to_have_text("176.6亿元")
    expect(chart.locator("text.min")).to_have_text("150.1亿元")
    box = points.nth(0).bounding_box()
    last = points.nth(2).bounding_box()
    assert box and last and box["x"] < last["x"] and box["y"] > last["y"]  # later and higher: drawn to scale

    # a point opens its passage by mouse and by keyboard, as the [n] markers do
    points.nth(1).click()
    expect(answer.locator(".passage")).to_have_attribute("data-n", "2")
    expect(answer.locator(".passage .text")).to_contain_text("160.5亿元")
    points.nth(0).focus()
    page.keyboard.press("Enter")
    expect(answer.locator(".passage")).to_have_attribute("data-n", "1")
    expect(answer.locator(".passage")).to_be_focused()
    if SCREENSHOTS:
        answer.locator(".passage").get_by_role("button", name="收起原文").click()
        expect(answer.locator(".passage")).to_have_count(0)
        page.set_viewport_size({"width": 440, "height": 1000})  # a tall phone: the panel fills it, all in view
        expect(answer.locator("svg.chart")).to_be_in_viewport()
        widget(page, ".panel").screenshot(path=str(Path(SCREENSHOTS) / "widget-series.png"))

    # the table and chart come back with the conversation (session storage)
    host_page(page, site, api, open="true")
    replayed = last_answer(page)
    expect(replayed.get_by_role("table", name="清苑区地区生产总值").locator("tbody tr")).to_have_count(4)
    expect(replayed.locator("svg.chart .pt")).to_have_count(3)


def test_a_comparison_marks_its_figures_and_has_no_table(page, site, serve_app, retriever):
    text = "2023年地区生产总值176.6亿元[1]，2022年地区生产总值166.2亿元[2]；2023年比2022年多10.4亿元。"
    figure = {"value": "176.6", "unit": "亿元", "text": "176.6亿元", "measures": "地区生产总值", "place": "清苑区",
              "level": "区", "year": 2023, "kind": "actual", "qualifier": "", "span": False, "citation": 1,
              "sentence": "全区地区生产总值176.6亿元。", "source": "x.txt"}  # fmt: skip
    earlier = dict(figure, value="166.2", text="166.2亿元", year=2022, citation=2)
    second = dict(CITATION, n=2, chunk_id="x#2", year=2022)
    done = answer_object(text, mode="quote", citations=[CITATION, second], figures=[figure, earlier], table=None)
    api = serve(serve_app, retriever, site=site)
    FakeAsk(page, api, stream(("sources", [CITATION, second]), ("delta", {"text": text}), ("done", done)))
    host_page(page, site, api, open="true")
    ask(page, "清苑区2023年地区生产总值比2022年多多少？")
    answer = wait_answered(page)
    expect(answer.locator(".body")).to_have_text(text)  # the text unchanged, the figures marked in it
    expect(answer.locator(".body mark")).to_have_text(["176.6亿元", "166.2亿元"])  # not the computed difference
    expect(answer.locator(".body button.cite")).to_have_count(2)
    expect(answer.locator(".series, table, svg.chart")).to_have_count(0)


def test_a_low_confidence_answer_shows_its_passages_as_possibly_related(page, site, serve_app, retriever):
    """``low_confidence`` (the confidence under ``answer_confidence_low``): the cited passages are shown as
    「可能相关的原文」, not the text as an answer; a confident answer is shown as an answer."""
    api = serve(serve_app, retriever, site=site)
    unsure = "2023年太仓市税收收入189.4亿元[1]。"
    sure = "2023年太仓市一般公共预算收入189.4亿元[1]。"
    FakeAsk(
        page, api,
        stream(("sources", [CITATION]), ("delta", {"text": unsure}),
               ("done", answer_object(unsure, confidence=0.31, low_confidence=True))),
        stream(("sources", [CITATION]), ("delta", {"text": sure}),
               ("done", answer_object(sure, mode="quote", confidence=0.93, low_confidence=False))),
    )  # fmt: skip
    host_page(page, site, api, open="true")
    ask(page, "2023年太仓市税收收入是多少？")
    related = wait_answered(page)
    expect(related.locator(".badge.related")).to_have_text("可能相关的原文")
    expect(related.locator(".body .related-passage .text")).to_have_text(CITATION["text"])
    expect(related.locator(".body .related-passage .meta")).to_contain_text("太仓市2024年政府工作报告")
    expect(related.locator(".body")).not_to_contain_text("税收收入189.4亿元")  # the text is not given as an answer
    expect(related.locator(".badge.quote, .body mark, .body button.cite")).to_have_count(0)
    ask(page, QUESTION)
    answer = wait_answered(page)
    expect(answer.locator(".badge.quote")).to_have_text("报告原文")
    expect(answer.locator(".body")).to_have_text(sure)
    expect(answer.locator(".badge.related, .related-passage")).to_have_count(0)


def test_feedback_buttons_are_drawn_icons_with_a_label(page, site, serve_app, retriever):
    """No emoji font needed: each rating button is an SVG thumb and a visible word."""
    api = serve(serve_app, retriever, site=site)
    worded = "2023年太仓市一般公共预算收入189.4亿元[1]。"
    FakeAsk(page, api, stream(("sources", [CITATION]), ("delta", {"text": worded}),
                              ("done", answer_object(worded, id="a" * 32))))  # fmt: skip
    host_page(page, site, api, open="true")
    ask(page, QUESTION)
    answer = wait_answered(page)
    for name in ("有帮助", "没有帮助"):
        button = answer.get_by_role("button", name=name, exact=True)
        expect(button).to_be_visible()
        expect(button.locator("svg")).to_have_count(1)
        expect(button.locator("svg")).to_have_attribute("aria-hidden", "true")
        icon = button.locator("svg").bounding_box()
        assert icon and icon["width"] >= 12 and icon["height"] >= 12
        expect(button.locator("span")).to_have_text(name)
        expect(button.locator("span")).to_be_visible()
        assert "👍" not in button.inner_text() and "👎" not in button.inner_text()


# --- what the user sees when things go wrong, or are not in the reports --------------------------


def test_refusal_and_degraded_answers_are_marked(page, site, serve_app, retriever, tmp_path):
    closed = f"http://127.0.0.1:{free_port()}/v1"  # nothing listens: the model is down
    api = serve(serve_app, retriever, model(closed, timeout=5), site=site, answer_mode="model")
    host_page(page, site, api, open="true")
    ask(page, QUESTION)
    degraded = wait_answered(page)
    expect(degraded.locator(".badge.degraded")).to_contain_text("语言模型暂不可用")
    expect(degraded).to_contain_text("189.4亿元")
    ask(page, "2023年北京市地区生产总值是多少？")
    refused = wait_answered(page)
    expect(refused.locator(".badge.refused")).to_have_text("报告中未提及")
    page.screenshot(path=str(tmp_path / "marked.png"))


def test_missing_key_rate_limit_and_network_errors_are_readable(page, site, serve_app, retriever):
    api = serve(serve_app, retriever, site=site, api_keys=[SecretStr(KEY)], rate_limit="1/minute")
    host_page(page, site, api, open="true")
    ask(page, QUESTION)
    error = widget(page, ".msg.error")
    expect(error).to_contain_text("API 密钥")
    expect(error).to_have_attribute("role", "alert")
    expect(error.get_by_role("button", name="重试")).to_be_visible()

    host_page(page, site, api, open="true", api_key=KEY)
    ask(page, QUESTION)
    expect(wait_answered(page)).to_contain_text("189.4亿元")
    ask(page, QUESTION)  # the second request in a minute for this key
    expect(widget(page, ".msg.error")).to_contain_text("请求过于频繁（429）")
    expect(widget(page, ".msg.error")).to_contain_text("秒后重试")

    # the network fails once the page has loaded the widget
    host_page(page, site, api, open="true", api_key=KEY)
    page.route(f"{api}/api/**", lambda route: route.abort("connectionrefused"))
    ask(page, QUESTION)
    error = widget(page, ".msg.error")
    expect(error).to_contain_text("无法连接到问答服务")
    error.get_by_role("button", name="重试").click()  # retried, and still down: still readable
    expect(widget(page, ".msg.error")).to_have_count(1)
    expect(widget(page, ".msg.error")).to_contain_text("无法连接到问答服务")


def test_busy_service_is_retried_once_by_the_widget(page, site, serve_app, retriever):
    """A 503 (the model's queue is full) is retried after Retry-After, with a note, without a click."""
    api = serve(serve_app, retriever, site=site)
    worded = "2023年太仓市一般公共预算收入189.4亿元[1]。"
    fake = FakeAsk(page, api, busy(1), stream(("sources", [CITATION]), ("delta", {"text": worded}),
                                              ("done", answer_object(worded))))
    host_page(page, site, api, open="true")
    record_stream(page)
    ask(page, QUESTION)
    answer = wait_answered(page)
    expect(answer.locator(".body")).to_have_text(worded)
    expect(widget(page, ".msg.error")).to_have_count(0)
    assert fake.calls == 2
    assert "排队中，稍后自动重试…" in page.evaluate("window.__seen")


def test_an_answer_the_busy_model_could_not_take_says_so(page, site, serve_app, retriever):
    """A question answered from the report because the model was busy (``RAG_BUSY_ANSWER=excerpt``)
    is labelled as such, not as a model failure."""
    from rag.answering.answer import BUSY_REASON

    api = serve(serve_app, retriever, site=site)
    excerpt = QUOTE_MARK + "全年一般公共预算收入189.4亿元[1]。"
    FakeAsk(page, api, stream(("sources", [CITATION]), ("delta", {"text": excerpt}),
                              ("done", answer_object(excerpt, mode="degraded", reason=BUSY_REASON))))  # fmt: skip
    host_page(page, site, api, open="true")
    ask(page, QUESTION)
    answer = wait_answered(page)
    expect(answer.locator(".badge.degraded")).to_contain_text("语言模型正忙")
    expect(answer).to_contain_text("189.4亿元")


def test_busy_twice_shows_the_readable_error(page, site, serve_app, retriever):
    api = serve(serve_app, retriever, site=site)
    worded = "2023年太仓市一般公共预算收入189.4亿元[1]。"
    fake = FakeAsk(page, api, busy(1), busy(1), stream(("delta", {"text": worded}), ("done", answer_object(worded))))
    host_page(page, site, api, open="true")
    ask(page, QUESTION)
    error = widget(page, ".msg.error")
    expect(error).to_contain_text("服务繁忙（503），请 1 秒后重试。", timeout=30_000)
    expect(error).to_have_attribute("role", "alert")
    assert fake.calls == 2
    error.get_by_role("button", name="重试").click()  # the user's own retry: this time it is answered
    expect(wait_answered(page).locator(".body")).to_have_text(worded)
    expect(widget(page, ".msg.error")).to_have_count(0)
    assert fake.calls == 3


def test_stop_cancels_the_pending_retry(page, site, serve_app, retriever):
    api = serve(serve_app, retriever, site=site)
    worded = "第二个问题的回答。"
    fake = FakeAsk(page, api, busy(120), stream(("delta", {"text": worded}), ("done", answer_object(worded))))
    page.clock.install()  # the page's timers, under the test's control
    host_page(page, site, api, open="true")
    ask(page, QUESTION)
    waiting = widget(page, ".msg.bot:not(.welcome)").first  # (locators are lazy: not .last)
    expect(waiting.locator(".body")).to_have_text("排队中，稍后自动重试…")
    page.get_by_role("button", name="停止").click()
    expect(waiting.locator(".body")).to_have_text("（已停止）")
    expect(page.get_by_role("button", name="发送")).to_be_visible()
    page.clock.run_for(60_000)  # past the (capped at 30 s) wait: a retry still pending would be sent now
    ask(page, FOLLOWUP)
    expect(wait_answered(page).locator(".body")).to_have_text(worded)  # the next question got the next response
    expect(waiting.locator(".body")).to_have_text("（已停止）")
    assert fake.calls == 2

def test_stop_button_ends_a_slow_answer(page, site, serve_app, retriever, silent_server):
    api = serve(serve_app, retriever, model(silent_server, timeout=60), site=site, answer_mode="model")
    host_page(page, site, api, open="true")
    ask(page, QUESTION)
    stop = page.get_by_role("button", name="停止")
    expect(stop).to_be_visible()
    stop.click()
    expect(last_answer(page)).to_contain_text("（已停止）")
    expect(page.get_by_role("button", name="发送")).to_be_visible()
    expect(page.get_by_role("textbox", name="问题")).to_be_editable()


# --- keyboard, screen readers, phones -----------------------------------------------------------


def focused(page: Page) -> str:
    """What has focus inside the widget (its class), or what has it outside."""
    return page.evaluate(
        """() => {
        const host = document.querySelector('govrag-widget');
        if (document.activeElement !== host) return 'outside:' + document.activeElement.tagName;
        const el = host.shadowRoot.activeElement;
        return el ? (el.className || el.tagName.toLowerCase()) : 'none';
    }"""
    )


def test_keyboard_only_use_on_a_phone(browser, site, serve_app, retriever, tmp_path):
    api = serve(serve_app, retriever, site=site)
    context = browser.new_context(viewport={"width": 375, "height": 667}, is_mobile=True, has_touch=True)
    page = context.new_page()
    try:
        viewport = "<meta name='viewport' content='width=device-width, initial-scale=1'>"  # a mobile-ready site
        host_page(page, site, api, head=viewport, body="<a href='#'>host link</a>")
        page.keyboard.press("Tab")  # the host page's link
        page.keyboard.press("Tab")
        assert focused(page) == "launcher"
        page.keyboard.press("Enter")
        assert focused(page) == "textarea"
        panel = page.get_by_role("dialog")
        expect(panel).to_have_attribute("aria-modal", "true")
        box = panel.bounding_box()
        assert box and box["width"] <= 375 and box["x"] >= 0
        expect(widget(page, "[role=log]")).to_have_attribute("aria-live", "polite")

        # Tab never leaves the open panel
        seen = set()
        for _ in range(8):
            page.keyboard.press("Tab")
            seen.add(focused(page))
        assert not any(name.startswith("outside") for name in seen), seen
        assert {"new", "close", "textarea"} <= seen

        for _ in range(6):  # on round to the input box
            if focused(page) == "textarea":
                break
            page.keyboard.press("Tab")
        page.keyboard.type(QUESTION)
        page.keyboard.press("Enter")
        expect(widget(page, ".msg.user")).to_have_text(f"我：{QUESTION}")
        expect(wait_answered(page)).to_contain_text("189.4亿元")
        page.screenshot(path=str(tmp_path / "phone.png"))

        page.keyboard.press("Escape")
        expect(panel).to_be_hidden()
        assert focused(page) == "launcher"
    finally:
        context.close()


# --- how the script is served -------------------------------------------------------------------


def test_widget_script_is_versioned_and_cacheable(serve_app, retriever):
    api = serve(serve_app, retriever)
    demo = httpx.get(api + "/")
    assert "default-src 'self'" in demo.headers["content-security-policy"]
    version = demo.text.split("/widget.js?v=")[1].split('"')[0]
    script = httpx.get(f"{api}/widget.js")
    assert script.headers["content-type"].startswith("application/javascript")
    assert script.headers["etag"] == f'"{version}"' and "max-age=3600" in script.headers["cache-control"]
    assert f'VERSION = "{version}"' in script.text and "__VERSION__" not in script.text
    assert httpx.get(f"{api}/widget.js", headers={"If-None-Match": script.headers["etag"]}).status_code == 304
    assert httpx.head(f"{api}/widget.js").headers["etag"] == script.headers["etag"]
    assert "immutable" in httpx.get(f"{api}/widget.js?v={version}").headers["cache-control"]
    assert "innerHTML" not in script.text  # text nodes only; see test_hostile_passage_stays_inert_text
