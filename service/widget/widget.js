/*! govrag chat widget — embed with
 *  <script src="https://HOST/widget.js" data-api="https://HOST" data-title="政府工作报告问答" async></script>
 * No dependencies, no external requests but to data-api. Everything lives in a Shadow DOM; model and
 * report text is only ever inserted as text nodes, never parsed as HTML.
 */
(function () {
  "use strict";

  var VERSION = "__VERSION__";
  var script = document.currentScript || document.querySelector("script[src*='widget.js']");
  if (!script || script.__govragMounted) return;
  script.__govragMounted = true;

  var TEXT = {
    zh: {
      title: "政府工作报告问答",
      welcome: "您好！可以问我政府工作报告里的数字、目标和政策，例如「2023年太仓市一般公共预算收入是多少？」",
      placeholder: "输入问题，Enter 发送，Shift+Enter 换行",
      open: "打开问答助手", close: "关闭", send: "发送", stop: "停止", newChat: "新对话",
      you: "我", bot: "助手", sources: "来源", thinking: "正在检索报告…", stopped: "（已停止）",
      related: "可能相关的原文", relatedNote: "把握不大，未作为回答给出；以下原文可能与问题相关：",
      refused: "报告中未提及", degraded: "摘录回答：语言模型暂不可用，以下为报告原文摘录", quote: "报告原文",
      busy: "摘录回答：语言模型正忙，以下为报告原文摘录（未经模型判断），可稍后再问",
      unsupported: "未能在来源中核实的数字：", retry: "重试", passage: "原文", closePassage: "收起原文",
      citation: "查看来源", section: "章节",
      e401: "需要有效的 API 密钥（401）。请联系网站管理员。",
      e429: "请求过于频繁（429），请 {s} 秒后重试。",
      e503: "服务繁忙（503），请 {s} 秒后重试。", queued: "排队中，稍后自动重试…",
      e4xx: "请求无效：{m}", e5xx: "服务出错（{c}），请稍后重试。",
      network: "无法连接到问答服务，请检查网络后重试。", broken: "回答中断：{m}",
      dialog: "问答对话", log: "对话记录", input: "问题",
      rate: "这个回答有帮助吗？", up: "有帮助", down: "没有帮助", thanks: "谢谢反馈！",
      commentLabel: "哪里不对？（可选）", commentSend: "提交", commentSkip: "跳过", commentThanks: "谢谢，已收到您的意见。",
      feedbackFailed: "反馈未能提交：{m}",
      year: "年份", value: "数值", source: "出处", gap: "报告未载", yearSuffix: "年", colon: "：", comma: "，",
      evidence: "原文",
    },
    en: {
      title: "Government work report Q&A",
      welcome: "Hello! Ask me about figures, targets and policies in the government work reports.",
      placeholder: "Ask a question — Enter to send, Shift+Enter for a new line",
      open: "Open the Q&A assistant", close: "Close", send: "Send", stop: "Stop", newChat: "New chat",
      you: "You", bot: "Assistant", sources: "Sources", thinking: "Searching the reports…", stopped: "(stopped)",
      related: "Possibly relevant passages", relatedNote: "Not sure enough to answer; these passages may be relevant:",
      refused: "Not in the reports", degraded: "Extractive answer: the language model is unavailable; quoting the reports",
      busy: "Extractive answer: the language model is busy; quoting the reports unchecked — ask again later",
      quote: "Report excerpt",
      unsupported: "Figures not found in the sources: ", retry: "Retry", passage: "Passage", closePassage: "Hide passage",
      citation: "Show source", section: "Section",
      e401: "A valid API key is required (401). Please contact the site administrator.",
      e429: "Too many requests (429). Please retry in {s} seconds.",
      e503: "The service is busy (503). Please retry in {s} seconds.", queued: "Busy, retrying shortly…",
      e4xx: "Invalid request: {m}", e5xx: "Service error ({c}). Please retry later.",
      network: "Cannot reach the Q&A service. Check the connection and retry.", broken: "The answer broke off: {m}",
      dialog: "Q&A conversation", log: "Conversation", input: "Question",
      rate: "Was this answer helpful?", up: "Helpful", down: "Not helpful", thanks: "Thanks for the feedback!",
      commentLabel: "What was wrong? (optional)", commentSend: "Send", commentSkip: "Skip", commentThanks: "Thanks, your comment was received.",
      feedbackFailed: "Feedback not sent: {m}",
      year: "Year", value: "Figure", source: "Source", gap: "Not in the reports", yearSuffix: "", colon: ": ", comma: ", ",
      evidence: "Report",
    },
  };

  var data = script.dataset || {};
  var lang = data.lang === "en" ? "en" : "zh";
  var t = TEXT[lang];
  var cfg = {
    api: (data.api || new URL(script.src, location.href).origin).replace(/\/+$/, ""),
    title: data.title || t.title,
    welcome: data.welcome || t.welcome,
    placeholder: data.placeholder || t.placeholder,
    color: /^#[0-9a-fA-F]{3,8}$|^[a-zA-Z]+$|^rgb\(/.test(data.color || "") ? data.color : "#c0392b",
    position: data.position === "left" ? "left" : "right",
    open: data.open === "true" || data.open === "",
    apiKey: data.apiKey || "",
    feedback: data.feedback !== "false", // 👍/👎 (drawn as SVG thumbs with a label) under each answer
  };
  var MAX_TURNS = 20; // the service accepts at most 20 history turns
  var MAX_COMMENT = 1000; // the service's limit for a comment on an answer
  var MAX_RETRY_WAIT = 30; // seconds: the longest Retry-After the widget waits out by itself on a 503
  // what the service put before a quoted report sentence before answers carried "mode": "quote"
  var QUOTE_MARK = "（未经大模型生成，以下为报告原文摘录）";
  // a quoted answer's composed first line is followed by the report's sentences as its evidence
  var EVIDENCE_MARK = "\n原文：";
  var storeKey = "govrag:" + cfg.api;

  function fmt(s, values) {
    return s.replace(/\{(\w)\}/g, function (_, k) { return values[k] == null ? "" : String(values[k]); });
  }

  function el(tag, attrs, children) {
    var node = document.createElement(tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else if (k === "class") node.className = attrs[k];
      else if (k.slice(0, 2) === "on") node.addEventListener(k.slice(2), attrs[k]);
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(typeof c === "string" ? document.createTextNode(c) : c); });
    return node;
  }

  var SVG = "http://www.w3.org/2000/svg";

  function svgEl(tag, attrs, children) {
    var node = document.createElementNS(SVG, tag);
    Object.keys(attrs || {}).forEach(function (k) {
      if (k === "text") node.textContent = attrs[k];
      else node.setAttribute(k, attrs[k]);
    });
    (children || []).forEach(function (c) { if (c) node.appendChild(c); });
    return node;
  }

  var CSS = [
    // !important in the shadow tree beats the host page's !important rules on our host element
    ":host{all:initial!important;display:block!important;visibility:visible!important;opacity:1!important;",
    "position:fixed!important;z-index:2147483000!important;bottom:20px!important;" + cfg.position + ":20px!important;",
    "font:14px/1.6 system-ui,-apple-system,'PingFang SC','Microsoft YaHei','Noto Sans CJK SC',sans-serif!important;color:#1f2328!important;--c:" + cfg.color + "}",
    "*{box-sizing:border-box;font:inherit;color:inherit;margin:0}",
    "button{cursor:pointer;border:0;background:none;padding:0}",
    "button:focus-visible,textarea:focus-visible{outline:2px solid var(--c);outline-offset:2px}",
    ".launcher{width:56px;height:56px;border-radius:50%;background:var(--c);color:#fff;box-shadow:0 4px 14px rgba(0,0,0,.25);display:flex;align-items:center;justify-content:center}",
    ".launcher svg{width:28px;height:28px;fill:#fff}",
    ".panel{position:absolute;bottom:68px;" + cfg.position + ":0;width:380px;height:560px;max-height:calc(100vh - 100px);background:#fff;border-radius:12px;box-shadow:0 8px 30px rgba(0,0,0,.25);display:flex;flex-direction:column;overflow:hidden}",
    ".panel[hidden]{display:none}",
    "header{display:flex;align-items:center;gap:8px;padding:10px 12px;background:var(--c);color:#fff}",
    "strong{font-weight:700}",
    "header h2{flex:1;font-size:15px;font-weight:600;white-space:nowrap;overflow:hidden;text-overflow:ellipsis}",
    "header button{color:#fff;padding:4px 8px;border-radius:6px;font-size:13px}",
    "header button:hover{background:rgba(255,255,255,.18)}",
    ".log{flex:1;overflow-y:auto;padding:12px;display:flex;flex-direction:column;gap:10px;background:#f6f7f9}",
    ".msg{max-width:92%;padding:8px 11px;border-radius:10px;white-space:pre-wrap;word-break:break-word}",
    ".user{align-self:flex-end;background:var(--c);color:#fff}",
    ".bot{align-self:flex-start;background:#fff;border:1px solid #e3e5e8}",
    ".msg.streaming .body::after{content:'▍';animation:b 1s steps(2) infinite}",
    "@keyframes b{50%{opacity:0}}",
    ".badge{display:inline-block;font-size:12px;padding:1px 7px;border-radius:9px;margin-bottom:4px}",
    ".badge.refused{background:#eef1f5;color:#4a5568}",
    ".badge.degraded{background:#fff4d6;color:#7a5200}",
    ".badge.quote{background:#e6f4ea;color:#1e6b34}",
    ".badge.related{background:#f3eefc;color:#553c9a}",
    ".related-passage{margin:6px 0;padding:4px 8px;border-left:3px solid #b7a6e0;background:#faf8ff}",
    ".related-passage .meta{font-size:12px;color:#555}",
    ".badge.unsupported{background:#fde8e8;color:#9b1c1c;display:block}",
    ".cite{display:inline;color:var(--c);font-weight:600;padding:0 1px;border-radius:3px;text-decoration:underline}",
    ".sources{margin-top:6px;border-top:1px dashed #d0d4da;padding-top:4px;font-size:12px;color:#57606a;white-space:normal}",
    ".sources ol{list-style:none;padding-left:0}",
    ".sources button{text-align:left;color:#57606a;text-decoration:underline}",
    ".passage{margin-top:6px;padding:8px;background:#f6f7f9;border-left:3px solid var(--c);border-radius:4px;font-size:13px;white-space:pre-wrap}",
    ".passage .meta{font-weight:600;margin-bottom:4px;white-space:normal}",
    ".passage .close{float:right;font-size:12px;color:#57606a;text-decoration:underline}",
    ".error{align-self:stretch;background:#fde8e8;color:#9b1c1c;border:1px solid #f5c2c2}",
    ".error button{margin-left:8px;text-decoration:underline;color:#9b1c1c;font-weight:600}",
    ".feedback{margin-top:6px;display:flex;flex-wrap:wrap;align-items:center;gap:6px;font-size:12px;color:#57606a;white-space:normal}",
    ".feedback .rate{display:inline-flex;align-items:center;gap:4px;padding:1px 8px;border:1px solid #d0d4da;border-radius:12px;font-size:12px;line-height:1.6}",
    ".feedback .rate svg{width:14px;height:14px;fill:currentColor;flex:none}",
    ".feedback .rate[aria-pressed=true]{border-color:var(--c);background:#f6f7f9}",
    ".feedback .note{flex-basis:100%}",
    ".feedback .comment{flex-basis:100%;display:flex;flex-direction:column;gap:4px}",
    ".feedback .comment textarea{height:52px;flex:none;font-size:13px}",
    ".feedback .comment div{display:flex;gap:8px}",
    ".feedback .comment button{padding:2px 10px;border-radius:6px;border:1px solid #d0d4da}",
    ".feedback .comment .send-comment{background:var(--c);color:#fff;border-color:var(--c)}",
    "mark.fig{background:#fff1b8;color:inherit;padding:0 1px;border-radius:2px}",
    ".evidence{margin:6px 0 0;padding:4px 8px;border-left:3px solid #c8ccd2;color:#3c4043;font-size:13px;white-space:normal}",
    ".evidence-label{display:inline-block;margin-right:6px;color:#5f6368;font-size:12px}",
    ".series{margin-top:8px;white-space:normal}",
    ".series table{border-collapse:collapse;width:100%;font-size:13px}",
    ".series caption{text-align:left;font-weight:600;padding-bottom:2px}",
    ".series th,.series td{border-bottom:1px solid #e3e5e8;padding:2px 6px;text-align:left;font-weight:400}",
    ".series thead th{font-weight:600;color:#57606a}",
    ".series td.value{font-variant-numeric:tabular-nums}",
    ".series tr.gap td{color:#8c959f;font-style:italic}",
    ".chart{display:block;width:100%;height:auto;margin-top:6px;overflow:visible}",
    ".chart .axis{stroke:#d0d4da;stroke-width:1}",
    ".chart .line{fill:none;stroke:var(--c);stroke-width:2}",
    ".chart .pt{cursor:pointer;outline:none}",
    ".chart .pt circle{fill:#fff;stroke:var(--c);stroke-width:2}",
    ".chart .pt:hover circle,.chart .pt:focus-visible circle{fill:var(--c);r:6px}",
    ".chart .pt:focus-visible circle{stroke:#1f2328}",
    ".chart text{font-size:10px;fill:#57606a}",
    "form{display:flex;gap:8px;padding:10px;border-top:1px solid #e3e5e8;background:#fff}",
    "textarea{flex:1;resize:none;height:44px;padding:8px;border:1px solid #d0d4da;border-radius:8px;background:#fff}",
    ".send,.stop{padding:0 14px;border-radius:8px;background:var(--c);color:#fff;font-weight:600}",
    ".stop{background:#57606a}",
    "[hidden]{display:none!important}",
    ".sr{position:absolute;width:1px;height:1px;overflow:hidden;clip:rect(0 0 0 0)}",
    "@media (max-width:480px){:host{bottom:12px!important;" + cfg.position + ":12px!important}",
    ".panel{position:fixed;inset:0;width:100vw;height:100%;max-height:none;border-radius:0}}",
  ].join("\n");

  var host = el("govrag-widget", { "data-version": VERSION });
  var root = host.attachShadow({ mode: "open" });
  root.appendChild(el("style", { text: CSS }));

  var panelId = "govrag-panel";
  var launcher = el("button", { class: "launcher", type: "button", "aria-label": t.open, "aria-expanded": "false", "aria-controls": panelId });
  var icon = document.createElementNS(SVG, "svg"), path = document.createElementNS(SVG, "path");
  icon.setAttribute("viewBox", "0 0 24 24");
  icon.setAttribute("aria-hidden", "true");
  path.setAttribute("d", "M4 4h16a2 2 0 0 1 2 2v10a2 2 0 0 1-2 2H9l-5 4v-4H4a2 2 0 0 1-2-2V6a2 2 0 0 1 2-2z");
  icon.appendChild(path);
  launcher.appendChild(icon);

  var titleEl = el("h2", { id: "govrag-title", text: cfg.title });
  var newBtn = el("button", { type: "button", class: "new", text: t.newChat, "aria-label": t.newChat });
  var closeBtn = el("button", { type: "button", class: "close", text: "✕", "aria-label": t.close });
  var log = el("div", { class: "log", role: "log", "aria-live": "polite", "aria-label": t.log, tabindex: "0" });
  var input = el("textarea", { "aria-label": t.input, placeholder: cfg.placeholder, maxlength: "2000", rows: "2" });
  var sendBtn = el("button", { type: "submit", class: "send", text: t.send });
  var stopBtn = el("button", { type: "button", class: "stop", text: t.stop, hidden: "" });
  var form = el("form", {}, [input, sendBtn, stopBtn]);
  var panel = el("div", { class: "panel", id: panelId, role: "dialog", "aria-modal": "true", "aria-labelledby": "govrag-title", hidden: "" }, [
    el("header", {}, [titleEl, newBtn, closeBtn]), log, form,
  ]);
  root.appendChild(panel);
  root.appendChild(launcher);

  var history = load();
  var controller = null;

  function load() {
    try { return JSON.parse(sessionStorage.getItem(storeKey) || "[]").slice(-MAX_TURNS); } catch (e) { return []; }
  }
  function save() {
    try { sessionStorage.setItem(storeKey, JSON.stringify(history.slice(-MAX_TURNS))); } catch (e) { /* private mode */ }
  }

  function scroll() { log.scrollTop = log.scrollHeight; }

  function addMessage(kind, text) {
    var node = el("div", { class: "msg " + kind }, [el("span", { class: "sr", text: (kind === "user" ? t.you : t.bot) + "：" }), el("div", { class: "body", text: text })]);
    log.appendChild(node);
    scroll();
    return node;
  }

  function reset() {
    if (controller) controller.abort();
    history = [];
    save();
    replay();
  }

  function replay() {
    log.textContent = "";
    addMessage("bot welcome", cfg.welcome);
    history.forEach(function (turn) {
      if (turn.role === "user") addMessage("user", turn.content);
      else renderAnswer(addMessage("bot", ""), turn.answer || { answer: turn.content, citations: [] });
    });
  }

  // --- rendering answers: text nodes only ----------------------------------------------------

  function citationByN(citations, n) {
    for (var i = 0; i < citations.length; i++) if (citations[i].n === n) return citations[i];
    return null;
  }

  function describe(c) {
    var parts = [c.region, c.year ? c.year + (lang === "zh" ? "年" : "") : null, c.report_title].filter(Boolean);
    return "[" + c.n + "] " + parts.join(" · ") + (c.section ? "｜" + t.section + "：" + c.section : "");
  }

  function showPassage(msg, c) {
    var old = msg.querySelector(".passage");
    if (old && old.getAttribute("data-n") === String(c.n)) { old.remove(); return; }
    if (old) old.remove();
    var close = el("button", { type: "button", class: "close", text: t.closePassage });
    var box = el("div", { class: "passage", "data-n": String(c.n), role: "region", "aria-label": t.passage + " " + c.n, tabindex: "-1" }, [
      close, el("div", { class: "meta", text: describe(c) }), el("div", { class: "text", text: c.text || "" }),
    ]);
    close.addEventListener("click", function () { box.remove(); });
    msg.appendChild(box);
    box.focus();
  }

  function citeButton(msg, c) {
    return el("button", {
      type: "button", class: "cite", text: "[" + c.n + "]", "data-n": String(c.n),
      "aria-label": t.citation + " " + c.n, title: describe(c),
      onclick: function () { showPassage(msg, c); },
    });
  }

  // "…**189.4亿元**[1][2]。" → text nodes, <strong> for **bold** (the one Markdown mark models use
  // here) and citation buttons; unknown [n] and everything else stay plain text
  function fillText(msg, body, text, citations) {
    body.textContent = "";
    var re = /\*\*([^*\n]{1,200})\*\*|\[(\d{1,2})\]/g, last = 0, m, node;
    while ((m = re.exec(text))) {
      if (m[1] !== undefined) node = el("strong", { text: m[1] });
      else {
        var c = citationByN(citations, Number(m[2]));
        if (!c) continue;
        node = citeButton(msg, c);
      }
      if (m.index > last) body.appendChild(document.createTextNode(text.slice(last, m.index)));
      body.appendChild(node);
      last = re.lastIndex;
    }
    if (last < text.length) body.appendChild(document.createTextNode(text.slice(last)));
  }

  // --- answers composed from report figures: the figures marked, a series as a table and a chart --

  // each figure's text (「176.6亿元」) where the answer states it, in a <mark>; not inside a citation
  // button, nor as the tail of a longer number (「5亿元」 in 「15亿元」)
  function markFigures(body, figures) {
    var texts = [];
    figures.forEach(function (f) {
      if (f && typeof f.text === "string" && f.text && texts.indexOf(f.text) < 0) texts.push(f.text);
    });
    if (!texts.length) return;
    texts.sort(function (a, b) { return b.length - a.length; }); // the longest first
    var nodes = [], walker = document.createTreeWalker(body, NodeFilter.SHOW_TEXT), node;
    while ((node = walker.nextNode())) if (!node.parentNode.closest("button,mark")) nodes.push(node);
    nodes.forEach(function (textNode) {
      var s = textNode.nodeValue, parts = document.createDocumentFragment(), last = 0, i = 0;
      while (i < s.length) {
        var hit = null;
        for (var k = 0; k < texts.length && !hit; k++) {
          var f = texts[k], end = i + f.length;
          if (s.slice(i, end) !== f || (i > 0 && /[\d.]/.test(s.charAt(i - 1)))) continue;
          if (/\d$/.test(f) && /[\d.]/.test(s.charAt(end))) continue;
          hit = f;
        }
        if (!hit) { i++; continue; }
        if (i > last) parts.appendChild(document.createTextNode(s.slice(last, i)));
        parts.appendChild(el("mark", { class: "fig", text: hit }));
        i += hit.length;
        last = i;
      }
      if (!last) return;
      if (last < s.length) parts.appendChild(document.createTextNode(s.slice(last)));
      textNode.parentNode.replaceChild(parts, textNode);
    });
  }

  var MULTIPLIERS = [["万亿", 1e12], ["亿", 1e8], ["万", 1e4], ["千", 1e3], ["百", 1e2]];

  // 「1.2万亿元」 → [1e12, "元"]: what one of the unit is worth in its base unit
  function unitScale(unit) {
    unit = unit || "";
    for (var i = 0; i < MULTIPLIERS.length; i++) {
      if (unit.indexOf(MULTIPLIERS[i][0]) === 0) return [MULTIPLIERS[i][1], unit.slice(MULTIPLIERS[i][0].length)];
    }
    return [1, unit];
  }

  function yearLabel(year) { return year + t.yearSuffix; }

  function rowText(row) { return row.value == null ? t.gap : row.text || row.value + (row.unit || ""); }

  function seriesView(msg, answer, citations) {
    var rows = answer.table.filter(function (r) { return r && typeof r.year === "number"; });
    var stated = rows.filter(function (r) { return r.value != null; });
    var first = stated[0] || {}, figures = answer.figures || [], place = "";
    figures.forEach(function (f) { if (!place && f && f.place && f.citation === first.citation) place = f.place; });
    figures.forEach(function (f) { if (!place && f && f.place) place = f.place; });
    var measures = first.measures || "";
    var caption = place && measures.indexOf(place) !== 0 ? place + measures : measures;
    var head = el("tr", {}, [t.year, t.value, t.source].map(function (name) { return el("th", { scope: "col", text: name }); }));
    var tbody = el("tbody");
    rows.forEach(function (r) {
      var c = r.value != null && r.citation != null ? citationByN(citations, r.citation) : null;
      tbody.appendChild(el("tr", r.value == null ? { class: "gap" } : {}, [
        el("th", { scope: "row", text: yearLabel(r.year) }),
        el("td", { class: "value", text: rowText(r) }),
        el("td", { class: "source" }, [c ? citeButton(msg, c) : r.value != null && r.citation != null ? "[" + r.citation + "]" : "—"]),
      ]));
    });
    var table = el("table", {}, [el("caption", { text: caption }), el("thead", {}, [head]), tbody]);
    var summary = caption + t.colon + rows.map(function (r) { return yearLabel(r.year) + " " + rowText(r); }).join(t.comma);
    return el("div", { class: "series" }, [table, seriesChart(msg, rows, citations, summary)]);
  }

  // a line over the years (gaps break it), the highest and lowest value labelled; each point is
  // focusable, titled 「2021年 160.5亿元」, and opens its passage like the citation markers do
  function seriesChart(msg, rows, citations, summary) {
    var W = 340, H = 150, L = 62, R = 14, T = 12, B = 24;
    var display = null;
    rows.forEach(function (r) { if (!display && r.value != null) display = unitScale(r.unit); });
    var points = rows.map(function (r) {
      var v = r.value == null ? NaN : Number(r.value), scale = unitScale(r.unit);
      if (display && scale[1] === display[1]) v = (v * scale[0]) / display[0];
      else v = NaN;
      return { row: r, v: v };
    });
    var values = points.filter(function (p) { return isFinite(p.v); }).map(function (p) { return p.v; });
    var svg = svgEl("svg", { class: "chart", viewBox: "0 0 " + W + " " + H, role: "img", "aria-label": summary });
    if (!values.length) return svg;
    var min = Math.min.apply(null, values), max = Math.max.apply(null, values);
    var lo = min === max ? min - 1 : min, hi = min === max ? max + 1 : max;
    var y0 = rows[0].year, y1 = rows[rows.length - 1].year;
    function x(year) { return y1 === y0 ? (L + W - R) / 2 : L + ((year - y0) / (y1 - y0)) * (W - L - R); }
    function y(v) { return T + ((hi - v) / (hi - lo)) * (H - T - B); }
    function round(v) { return String(Math.round(v * 100) / 100); }
    var unitName = display ? (rows.filter(function (r) { return r.value != null; })[0].unit || "") : "";
    svg.appendChild(svgEl("line", { class: "axis", x1: L, y1: H - B, x2: W - R, y2: H - B }));
    svg.appendChild(svgEl("line", { class: "axis", x1: L, y1: T, x2: L, y2: H - B }));
    svg.appendChild(svgEl("text", { class: "max", x: L - 6, y: y(max) + 3, "text-anchor": "end", text: round(max) + unitName }));
    if (min !== max) svg.appendChild(svgEl("text", { class: "min", x: L - 6, y: y(min) + 3, "text-anchor": "end", text: round(min) + unitName }));
    var every = rows.length <= 8 ? 1 : Math.ceil(rows.length / 6);
    rows.forEach(function (r, i) {
      if (i % every === 0 || i === rows.length - 1) {
        svg.appendChild(svgEl("text", { class: "year", x: x(r.year), y: H - 8, "text-anchor": "middle", text: String(r.year) }));
      }
    });
    var run = [];
    function flush() {
      if (run.length > 1) svg.appendChild(svgEl("path", { class: "line", d: "M" + run.join("L") }));
      run = [];
    }
    points.forEach(function (p) {
      if (isFinite(p.v)) run.push(x(p.row.year).toFixed(1) + " " + y(p.v).toFixed(1));
      else flush(); // a gap (or a figure in another unit) breaks the line
    });
    flush();
    points.forEach(function (p) {
      if (!isFinite(p.v)) return;
      var r = p.row, c = r.citation != null ? citationByN(citations, r.citation) : null;
      var label = yearLabel(r.year) + " " + rowText(r);
      var point = svgEl("g", { class: "pt", tabindex: "0", "data-year": String(r.year) }, [
        svgEl("title", { text: label }),
        svgEl("circle", { cx: x(r.year).toFixed(1), cy: y(p.v).toFixed(1), r: "4" }),
      ]);
      if (c) {
        point.setAttribute("role", "link");
        point.setAttribute("data-n", String(c.n));
        point.setAttribute("aria-label", label + " " + t.citation + " " + c.n);
        point.addEventListener("click", function () { showPassage(msg, c); });
        point.addEventListener("keydown", function (event) {
          if (event.key === "Enter" || event.key === " ") { event.preventDefault(); showPassage(msg, c); }
        });
      } else point.setAttribute("aria-label", label);
      svg.appendChild(point);
    });
    return svg;
  }

  function renderAnswer(msg, answer) {
    msg.classList.remove("streaming");
    Array.prototype.forEach.call(msg.querySelectorAll(".badge,.sources,.series"), function (n) { n.remove(); });
    var body = msg.querySelector(".body");
    var citations = answer.citations || [];
    // "mode": quote | model | refused | degraded | about; older answers only carry the two flags
    var degraded = !!answer.degraded || answer.mode === "degraded";
    var refused = !!answer.refused || answer.mode === "refused";
    var quote = answer.mode === "quote" && !degraded && !refused;
    // not sure enough (answer.confidence below the service's answer_confidence_low): the cited passages are
    // shown as 「可能相关的原文」, not the text as an answer
    var related = !!answer.low_confidence && !refused && citations.length > 0;
    var text = typeof answer.answer === "string" ? answer.answer : "";
    // a question the model was too busy to take says so (the service's reason names it)
    var busy = degraded && /busy/.test(answer.reason || "");
    if (degraded) msg.insertBefore(el("div", { class: "badge degraded", text: busy ? t.busy : t.degraded }), body);
    else if (refused) msg.insertBefore(el("div", { class: "badge refused", text: t.refused }), body);
    if (related) msg.insertBefore(el("div", { class: "badge related", text: t.related }), body);
    else if (quote) {
      msg.insertBefore(el("div", { class: "badge quote", text: t.quote }), body);
      if (text.indexOf(QUOTE_MARK) === 0) text = text.slice(QUOTE_MARK.length).replace(/^\s+/, ""); // the label says it
    }
    msg.classList.toggle("refused", refused);
    msg.classList.toggle("degraded", degraded);
    msg.classList.toggle("quote", quote && !related);
    msg.classList.toggle("related", related);
    if (related) {
      body.textContent = "";
      body.appendChild(el("div", { class: "note", text: t.relatedNote }));
      citations.forEach(function (c) {
        body.appendChild(el("div", { class: "related-passage", "data-n": String(c.n) }, [
          el("div", { class: "meta", text: describe(c) }), el("div", { class: "text", text: c.text || "" })]));
      });
    } else {
      var cut = refused ? -1 : text.indexOf(EVIDENCE_MARK);
      var evidence = cut >= 0 ? text.slice(cut + EVIDENCE_MARK.length) : "";
      fillText(msg, body, cut >= 0 ? text.slice(0, cut) : text, citations);
      if (evidence) { // the report's own sentence under the line, its figure marked below
        var said = el("span", {});
        fillText(msg, said, evidence, citations);
        body.appendChild(el("blockquote", { class: "evidence" }, [el("span", { class: "evidence-label", text: t.evidence }), said]));
      }
    }
    if (!refused && !related && Array.isArray(answer.figures) && answer.figures.length) markFigures(body, answer.figures);
    if (!refused && !related && Array.isArray(answer.table) && answer.table.length) msg.appendChild(seriesView(msg, answer, citations));
    if (answer.unsupported_numbers && answer.unsupported_numbers.length) {
      msg.appendChild(el("div", { class: "badge unsupported", text: t.unsupported + answer.unsupported_numbers.join("、") }));
    }
    if (citations.length && !refused) {
      var list = el("ol");
      citations.forEach(function (c) {
        list.appendChild(el("li", {}, [el("button", { type: "button", text: describe(c), onclick: function () { showPassage(msg, c); } })]));
      });
      msg.appendChild(el("div", { class: "sources" }, [el("div", { text: t.sources }), list]));
    }
    if (cfg.feedback && typeof answer.id === "string" && answer.id) msg.appendChild(feedbackBar(answer));
    scroll();
  }

  // --- 👍/👎 (drawn thumbs) under an answer: POST /api/feedback; 👎 opens an optional short comment -----

  function headersJSON() {
    var headers = { "Content-Type": "application/json" };
    if (cfg.apiKey) headers.Authorization = "Bearer " + cfg.apiKey;
    return headers;
  }

  function sendFeedback(answerId, rating, comment) {
    var body = { answer_id: answerId, rating: rating };
    if (comment) body.comment = comment;
    return fetch(cfg.api + "/api/feedback", { method: "POST", headers: headersJSON(), body: JSON.stringify(body) })
      .then(function (response) {
        if (response.ok) return;
        return response.json().catch(function () { return null; }).then(function (json) {
          throw { shown: response.status === 404 ? fmt(t.feedbackFailed, { m: json && json.error ? json.error.message : "404" }) : httpMessage(response, json) };
        });
      }, function () { throw { shown: t.network }; });
  }

  // remembers the rating with the conversation, so it is shown again after a reload
  function remember(answerId, rating) {
    history.forEach(function (turn) { if (turn.answer && turn.answer.id === answerId) turn.rating = rating; });
    save();
  }

  function ratingOf(answerId) {
    for (var i = 0; i < history.length; i++) if (history[i].answer && history[i].answer.id === answerId) return history[i].rating || null;
    return null;
  }

  // a thumb drawn, not an emoji: a machine without an emoji font shows 👍 as an empty box
  function thumb(down) {
    var path = svgEl("path", {
      d: "M2 21h4V9H2v12zm20-11c0-1.1-.9-2-2-2h-6.3l1-4.6v-.3c0-.4-.2-.8-.4-1.1L13.2 1 7.6 6.6C7.2 7 7 7.5 7 8v11c0 1.1.9 2 2 2h9c.8 0 1.5-.5 1.8-1.2l3-7c.1-.3.2-.5.2-.8v-2z",
    });
    if (down) path.setAttribute("transform", "rotate(180 12 12)");
    return svgEl("svg", { class: "thumb", viewBox: "0 0 24 24", "aria-hidden": "true", focusable: "false" }, [path]);
  }

  function feedbackBar(answer) {
    var bar = el("div", { class: "feedback", role: "group", "aria-label": t.rate });
    var note = el("div", { class: "note", role: "status", "aria-live": "polite" });
    var up = el("button", { type: "button", class: "rate up", "data-rating": "up", "aria-label": t.up, title: t.up, "aria-pressed": "false" }, [thumb(false), el("span", { text: t.up })]);
    var down = el("button", { type: "button", class: "rate down", "data-rating": "down", "aria-label": t.down, title: t.down, "aria-pressed": "false" }, [thumb(true), el("span", { text: t.down })]);
    var form = null;

    function pressed(rating) {
      up.setAttribute("aria-pressed", rating === "up" ? "true" : "false");
      down.setAttribute("aria-pressed", rating === "down" ? "true" : "false");
    }

    function closeComment() { if (form) { form.remove(); form = null; } }

    function failed(err) { note.textContent = err && err.shown ? err.shown : t.network; }

    function openComment() {
      closeComment();
      var box = el("textarea", { "aria-label": t.commentLabel, placeholder: t.commentLabel, maxlength: String(MAX_COMMENT), rows: "2" });
      var send = el("button", { type: "button", class: "send-comment", text: t.commentSend });
      var skip = el("button", { type: "button", class: "skip-comment", text: t.commentSkip });
      form = el("div", { class: "comment" }, [box, el("div", {}, [send, skip])]);
      function submitComment() {
        var comment = box.value.trim().slice(0, MAX_COMMENT);
        if (!comment) { closeComment(); down.focus(); return; }
        send.disabled = true;
        sendFeedback(answer.id, "down", comment).then(function () {
          closeComment();
          note.textContent = t.commentThanks;
          down.focus();
        }, function (err) { send.disabled = false; failed(err); });
      }
      send.addEventListener("click", submitComment);
      skip.addEventListener("click", function () { closeComment(); down.focus(); });
      box.addEventListener("keydown", function (event) {
        if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); submitComment(); }
        else if (event.key === "Escape") { event.preventDefault(); event.stopPropagation(); closeComment(); down.focus(); }
      });
      bar.insertBefore(form, note);
      box.focus();
      scroll();
    }

    function rate(rating) {
      note.textContent = "";
      sendFeedback(answer.id, rating).then(function () {
        pressed(rating);
        remember(answer.id, rating);
        note.textContent = t.thanks;
        if (rating === "down") openComment();
        else closeComment();
      }, failed);
    }

    up.addEventListener("click", function () { rate("up"); });
    down.addEventListener("click", function () { rate("down"); });
    pressed(ratingOf(answer.id));
    bar.appendChild(el("span", { class: "label", text: t.rate }));
    bar.appendChild(up);
    bar.appendChild(down);
    bar.appendChild(note);
    return bar;
  }

  function showError(message, retry) {
    var box = el("div", { class: "msg error", role: "alert" }, [message]);
    if (retry) {
      box.appendChild(el("button", { type: "button", class: "retry", text: t.retry, onclick: function () { box.remove(); retry(); } }));
    }
    log.appendChild(box);
    scroll();
  }

  // --- talking to /api/ask (SSE over fetch: EventSource cannot POST) --------------------------

  function httpMessage(response, body) {
    var wait = response.headers.get("Retry-After") || "60";
    var detail = body && body.error && body.error.message ? body.error.message : response.statusText;
    if (response.status === 401 || response.status === 403) return t.e401;
    if (response.status === 429) return fmt(t.e429, { s: wait });
    if (response.status === 503) return fmt(t.e503, { s: wait });
    if (response.status < 500) return fmt(t.e4xx, { m: detail });
    return fmt(t.e5xx, { c: response.status });
  }

  // seconds to wait before retrying a 503 by itself: Retry-After (seconds or an HTTP date), capped
  function retryDelay(response) {
    var value = (response.headers.get("Retry-After") || "").trim(), seconds = Number(value);
    if (!value || !isFinite(seconds)) {
      var when = Date.parse(value);
      seconds = isNaN(when) ? 5 : (when - Date.now()) / 1000;
    }
    return Math.min(Math.max(seconds, 0), MAX_RETRY_WAIT);
  }

  // resolves after `seconds`, or rejects like an aborted fetch as soon as `signal` aborts (Stop)
  function wait(seconds, signal) {
    return new Promise(function (resolve, reject) {
      var aborted = function () { clearTimeout(timer); reject(new DOMException("stopped", "AbortError")); };
      var timer = setTimeout(function () { signal.removeEventListener("abort", aborted); resolve(); }, seconds * 1000);
      if (signal.aborted) aborted();
      else signal.addEventListener("abort", aborted, { once: true });
    });
  }

  function parseSSE(buffer, onEvent) {
    var blocks = buffer.split(/\r?\n\r?\n/);
    var rest = blocks.pop();
    blocks.forEach(function (block) {
      var name = "message", lines = [];
      block.split(/\r?\n/).forEach(function (line) {
        if (line.indexOf("event:") === 0) name = line.slice(6).trim();
        else if (line.indexOf("data:") === 0) lines.push(line.slice(5).replace(/^ /, ""));
      });
      if (lines.length) onEvent(name, lines.join("\n"));
    });
    return rest;
  }

  function setBusy(busy) {
    sendBtn.hidden = busy;
    stopBtn.hidden = !busy;
    input.readOnly = busy;
    panel.setAttribute("aria-busy", busy ? "true" : "false");
  }

  function ask(question) {
    var msg = addMessage("bot streaming", "");
    var body = msg.querySelector(".body");
    body.textContent = t.thinking;
    var text = "", sources = [], done = null, failed = null;
    var priorHistory = history.slice(-MAX_TURNS).map(function (turn) { return { role: turn.role, content: turn.content }; });
    var headers = headersJSON();
    headers.Accept = "text/event-stream";
    var signal = (controller = new AbortController()).signal;
    setBusy(true);
    var retry = function () { msg.remove(); ask(question); };

    function onEvent(name, payload) {
      var value;
      try { value = JSON.parse(payload); } catch (e) { return; }
      var said = value && typeof value.text === "string" ? value.text : "";
      if (name === "sources") { sources = value || []; }
      else if (name === "delta") { text += said; fillText(msg, body, text, sources); scroll(); }
      else if (name === "replace") { text = said; fillText(msg, body, text, sources); scroll(); } // the whole text so far
      else if (name === "done") { done = value; }
      else if (name === "error") { failed = value && value.message ? value.message : "error"; }
    }

    // a 503 (the model's queue is full) is retried once, after Retry-After; a second one is shown
    function send(retried) {
      return fetch(cfg.api + "/api/ask", {
        method: "POST", headers: headers, signal: signal,
        body: JSON.stringify({ question: question, history: priorHistory, stream: true }),
      }).then(function (response) {
        if (response.ok) return response;
        return response.json().catch(function () { return null; }).then(function (json) {
          if (response.status !== 503 || retried) throw { shown: httpMessage(response, json) };
          body.textContent = t.queued;
          return wait(retryDelay(response), signal).then(function () {
            body.textContent = t.thinking;
            return send(true);
          });
        });
      });
    }

    send(false).then(function (response) {
      var reader = response.body.getReader(), decoder = new TextDecoder(), buffer = "";
      function pump() {
        return reader.read().then(function (chunk) {
          if (chunk.done) { parseSSE(buffer + "\n\n", onEvent); return; }
          buffer = parseSSE(buffer + decoder.decode(chunk.value, { stream: true }), onEvent);
          return pump();
        });
      }
      return pump();
    }).then(function () {
      if (failed || !done) throw { shown: fmt(t.broken, { m: failed || "—" }) };
      history.push({ role: "user", content: question });
      history.push({ role: "assistant", content: done.answer, answer: done });
      save();
      renderAnswer(msg, done);
    }).catch(function (err) {
      if (err && err.name === "AbortError") {
        msg.classList.remove("streaming");
        if (body.textContent === t.queued) body.textContent = ""; // stopped while waiting to retry
        body.appendChild(document.createTextNode((body.textContent ? " " : "") + t.stopped));
        return;
      }
      msg.remove();
      showError(err && err.shown ? err.shown : t.network, retry);
    }).then(function () {
      controller = null;
      setBusy(false);
      input.focus();
    });
  }

  function submit(event) {
    if (event) event.preventDefault();
    var question = input.value.trim();
    if (!question || controller) return;
    input.value = "";
    addMessage("user", question);
    ask(question);
  }

  // --- opening, closing, keyboard -----------------------------------------------------------

  function setOpen(open) {
    panel.hidden = !open;
    launcher.setAttribute("aria-expanded", open ? "true" : "false");
    if (open) input.focus();
    else launcher.focus();
  }

  function focusables() {
    return Array.prototype.filter.call(
      panel.querySelectorAll("button, textarea, [tabindex]:not([tabindex='-1'])"),
      function (n) { return !n.hidden && !n.disabled && n.offsetParent !== null; }
    );
  }

  panel.addEventListener("keydown", function (event) {
    if (event.key === "Escape") { event.preventDefault(); setOpen(false); return; }
    if (event.key !== "Tab") return;
    var items = focusables();
    if (!items.length) return;
    var first = items[0], last = items[items.length - 1], active = root.activeElement;
    if (event.shiftKey && (active === first || !panel.contains(active))) { event.preventDefault(); last.focus(); }
    else if (!event.shiftKey && (active === last || !panel.contains(active))) { event.preventDefault(); first.focus(); }
  });
  input.addEventListener("keydown", function (event) {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) submit(event);
  });
  form.addEventListener("submit", submit);
  stopBtn.addEventListener("click", function () { if (controller) controller.abort(); });
  launcher.addEventListener("click", function () { setOpen(panel.hidden); });
  closeBtn.addEventListener("click", function () { setOpen(false); });
  newBtn.addEventListener("click", function () { reset(); input.focus(); });

  replay();
  function mount() {
    document.body.appendChild(host);
    if (cfg.open) { panel.hidden = false; launcher.setAttribute("aria-expanded", "true"); }
  }
  if (document.body) mount();
  else document.addEventListener("DOMContentLoaded", mount);

  window.govrag = { version: VERSION, open: function () { setOpen(true); }, close: function () { setOpen(false); }, reset: reset };
})();
