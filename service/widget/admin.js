/* govrag admin page: reads GET /api/admin/questions with the admin key typed in (kept in
 * sessionStorage only). No dependencies; logged text is only ever inserted as text nodes. */
(function () {
  "use strict";

  var STORE = "govrag:admin-key";
  var $ = function (id) { return document.getElementById(id); };
  var SECTIONS = [
    { kind: "top", columns: [["question", "问题"], ["count", "次数", "num"], ["refused", "未能回答", "num"], ["down", "👎", "num"], ["up", "👍", "num"], ["last_asked_at", "最近一次", "when"]] },
    { kind: "refused", columns: [["asked_at", "时间", "when"], ["question", "问题"], ["standalone_question", "改写后的问题"], ["reason", "原因"]] },
    { kind: "down", columns: [["rated_at", "评价时间", "when"], ["question", "问题"], ["comment", "意见"], ["answer", "回答", "answer"], ["mode", "方式"]] },
    { kind: "slow", columns: [["total_ms", "用时（秒）", "num"], ["question", "问题"], ["mode", "方式"], ["asked_at", "时间", "when"]] },
  ];

  function key() { try { return sessionStorage.getItem(STORE) || ""; } catch (e) { return ""; } }
  function setKey(value) {
    try { if (value) sessionStorage.setItem(STORE, value); else sessionStorage.removeItem(STORE); } catch (e) { /* private mode */ }
  }

  function el(tag, text, cls) {
    var node = document.createElement(tag);
    if (text != null) node.textContent = String(text);
    if (cls) node.className = cls;
    return node;
  }

  function cell(row, column) {
    var value = row[column[0]];
    if (column[0] === "total_ms" && typeof value === "number") return (value / 1000).toFixed(2);
    if (column[2] === "when" && typeof value === "string") return value.replace("T", " ").replace("Z", "");
    return value == null ? "" : value;
  }

  function table(rows, columns, kind) {
    if (!rows.length) return el("p", "暂无记录", "muted");
    var t = el("table");
    t.setAttribute("data-kind", kind);
    var head = el("tr");
    columns.forEach(function (c) { var th = el("th", c[1]); th.scope = "col"; head.appendChild(th); });
    t.appendChild(el("thead")).appendChild(head);
    var body = t.appendChild(el("tbody"));
    rows.forEach(function (row) {
      var tr = el("tr");
      if (row.id) tr.setAttribute("data-id", row.id);
      columns.forEach(function (c) { tr.appendChild(el("td", cell(row, c), c[0] + (c[2] ? " " + c[2] : ""))); });
      body.appendChild(tr);
    });
    return t;
  }

  function showError(message) {
    $("error").textContent = message;
    $("error").hidden = !message;
  }

  function fail(response, json) {
    var detail = json && json.error && json.error.message ? json.error.message : response.statusText;
    if (response.status === 401) return "需要有效的管理员密钥（401）：" + detail;
    if (response.status === 403) return "没有管理权限（403）：" + detail;
    if (response.status === 429) return "尝试过于频繁（429），请 " + (response.headers.get("Retry-After") || "60") + " 秒后再试。";
    return "读取失败（" + response.status + "）：" + detail;
  }

  function fetchKind(kind) {
    var params = new URLSearchParams({ kind: kind, limit: "50" });
    if ($("since").value) params.set("since", $("since").value);
    return fetch("/api/admin/questions?" + params, { headers: { Authorization: "Bearer " + key() }, cache: "no-store" })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (json) {
          if (!response.ok) throw { shown: fail(response, json), status: response.status };
          return json;
        });
      });
  }

  function load() {
    if (!key()) return;
    $("status").textContent = "读取中…";
    showError("");
    Promise.all(SECTIONS.map(function (s) { return fetchKind(s.kind); })).then(function (results) {
      results.forEach(function (result, i) {
        var holder = $(SECTIONS[i].kind);
        holder.textContent = "";
        holder.appendChild(table(result.questions, SECTIONS[i].columns, SECTIONS[i].kind));
      });
      $("report").hidden = false;
      $("controls").hidden = false;
      $("login").hidden = true;
      $("status").textContent = "已更新：" + new Date().toLocaleString();
    }).catch(function (err) {
      $("status").textContent = "";
      $("report").hidden = true;
      showError(err && err.shown ? err.shown : "无法连接到服务。");
      if (err && (err.status === 401 || err.status === 403)) {
        setKey("");
        $("login").hidden = false;
        $("controls").hidden = true;
        $("key").focus();
      }
    });
  }

  $("login").addEventListener("submit", function (event) {
    event.preventDefault();
    setKey($("key").value.trim());
    $("key").value = "";
    load();
  });
  $("refresh").addEventListener("click", load);
  $("since").addEventListener("change", load);
  $("logout").addEventListener("click", function () {
    setKey("");
    $("report").hidden = true;
    $("controls").hidden = true;
    $("login").hidden = false;
    $("status").textContent = "";
    $("key").focus();
  });
  load();
})();
