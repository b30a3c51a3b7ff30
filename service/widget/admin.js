/* govrag admin page: the report library (GET /api/admin/reports, uploads with a progress bar per
 * job, delete, re-index, failed jobs) and the question log (GET /api/admin/questions), with the admin
 * key typed in (kept in sessionStorage only). No dependencies; every text from the service is only
 * ever inserted as text nodes. */
(function () {
  "use strict";

  var STORE = "govrag:admin-key";
  var $ = function (id) { return document.getElementById(id); };
  var SECTIONS = [
    { kind: "top", columns: [["question", "问题"], ["count", "次数", "num"], ["refused", "未能回答", "num"], ["down", "没有帮助", "num"], ["up", "有帮助", "num"], ["last_asked_at", "最近一次", "when"]] },
    { kind: "refused", columns: [["asked_at", "时间", "when"], ["question", "问题"], ["standalone_question", "改写后的问题"], ["reason", "原因"]] },
    { kind: "down", columns: [["rated_at", "评价时间", "when"], ["question", "问题"], ["comment", "意见"], ["answer", "回答", "answer"], ["figures", "数字", "figures"], ["mode", "方式"], ["confidence", "置信度", "num"]] },
    { kind: "slow", columns: [["total_ms", "用时（秒）", "num"], ["question", "问题"], ["mode", "方式"], ["asked_at", "时间", "when"]] },
    { kind: "all", columns: [["asked_at", "时间", "when"], ["question", "问题"], ["answer", "回答", "answer"], ["figures", "数字", "figures"], ["mode", "方式"], ["confidence", "置信度", "num"]] },
  ];
  // what kind of figure an answer states (rag/answering/figures.py: actual, target, estimate)
  var FIGURE_KINDS = { actual: "实际", target: "目标", estimate: "预计" };

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

  // an answer's figures (the log's ``figures``): one line each — value and unit, what it measures, place, year, kind
  function figureList(figures) {
    var list = el("ul", null, "figures");
    figures.forEach(function (f) {
      var parts = [(f.value || "") + (f.unit || "") + (f.qualifier || ""), f.measures, f.place, f.year ? f.year + "年" : null,
        FIGURE_KINDS[f.kind] || f.kind];
      var li = el("li", parts.filter(function (p) { return p != null && p !== ""; }).join(" · "));
      li.setAttribute("data-kind", f.kind || "");
      list.appendChild(li);
    });
    return list;
  }

  function cell(row, column) {
    var value = row[column[0]];
    if (column[2] === "figures") return Array.isArray(value) && value.length ? figureList(value) : "";
    if (column[0] === "confidence" && typeof value === "number") return value.toFixed(2);
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
      columns.forEach(function (c) {
        var value = cell(row, c);
        var td = el("td", typeof value === "object" ? null : value, c[0] + (c[2] ? " " + c[2] : ""));
        if (typeof value === "object") td.appendChild(value);
        tr.appendChild(td);
      });
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

  function api(method, url) {
    return fetch(url, { method: method, headers: { Authorization: "Bearer " + key() }, cache: "no-store" })
      .then(function (response) {
        return response.json().catch(function () { return null; }).then(function (json) {
          if (!response.ok) throw { shown: fail(response, json), status: response.status, message: message(json, response) };
          return json;
        });
      });
  }

  function message(json, response) {
    return json && json.error && json.error.message ? json.error.message : response.statusText || String(response.status);
  }

  function fetchKind(kind) {
    var params = new URLSearchParams({ kind: kind, limit: "50" });
    if ($("since").value) params.set("since", $("since").value);
    return api("GET", "/api/admin/questions?" + params);
  }

  function loadQuestions() {
    return Promise.all(SECTIONS.map(function (s) { return fetchKind(s.kind); })).then(function (results) {
      results.forEach(function (result, i) {
        var holder = $(SECTIONS[i].kind);
        holder.textContent = "";
        holder.appendChild(table(result.questions, SECTIONS[i].columns, SECTIONS[i].kind));
      });
      $("report").hidden = false;
    }, function (err) {
      if (!err || err.status !== 503) throw err;
      $("report").hidden = true; // the question log is off: the library still works
    });
  }

  function load() {
    if (!key()) return;
    $("status").textContent = "读取中…";
    showError("");
    Promise.all([loadLibrary(), loadQuestions()]).then(function () {
      $("library").hidden = false;
      $("controls").hidden = false;
      $("login").hidden = true;
      $("status").textContent = "已更新：" + new Date().toLocaleString();
    }).catch(function (err) {
      $("status").textContent = "";
      $("report").hidden = true;
      $("library").hidden = true;
      showError(err && err.shown ? err.shown : "无法连接到服务。");
      if (err && (err.status === 401 || err.status === 403)) {
        setKey("");
        $("login").hidden = false;
        $("controls").hidden = true;
        $("key").focus();
      }
    });
  }

  // --- the report library ------------------------------------------------------------------------

  var REPORT_COLUMNS = [
    ["place", "地区", "sort"], ["level", "级别"], ["parent", "上级"], ["year", "年份", "sort num"], ["years", "涉及年份"],
    ["name", "文件"], ["format", "格式"], ["chunks", "段落", "sort num"], ["size", "大小", "num"], ["added_at", "添加时间", "sort when"],
  ];
  var KINDS = { upload: "上传", "delete": "删除", reindex: "重新索引" };
  var STATES = { queued: "排队中", parsing: "解析中", embedding: "建立索引中", done: "完成", failed: "失败" };
  var library = { reports: [], sort: "place", dir: 1, followed: {} };

  function loadLibrary() {
    return Promise.all([
      api("GET", "/api/admin/reports"), api("GET", "/api/jobs?status=failed&limit=20"), api("GET", "/api/jobs?status=running"),
    ]).then(function (got) {
      library.reports = got[0].reports;
      $("library-summary").textContent = "共 " + got[0].count + " 份报告、" + got[0].chunks + " 个段落；索引版本 " + got[0].generation;
      renderReports();
      renderFailed(got[1].jobs);
      got[2].jobs.slice().reverse().forEach(function (job) { // started elsewhere, or before a reload: followed here too
        if (library.followed[job.job]) return;
        var names = job.documents.map(function (d) { return d.name; }).join("、");
        follow(job, jobLine(names || "全部报告", job.kind));
      });
    });
  }

  function localTime(date) {
    var two = function (n) { return (n < 10 ? "0" : "") + n; };
    return date.getFullYear() + "-" + two(date.getMonth() + 1) + "-" + two(date.getDate()) + " " +
      two(date.getHours()) + ":" + two(date.getMinutes()) + ":" + two(date.getSeconds());
  }

  function size(bytes) {
    if (typeof bytes !== "number") return "";
    if (bytes < 1024) return bytes + " B";
    if (bytes < 1024 * 1024) return (bytes / 1024).toFixed(1) + " KB";
    return (bytes / 1024 / 1024).toFixed(1) + " MB";
  }

  function reportCell(report, column) {
    var value = report[column[0]];
    if (column[0] === "size") return size(value);
    if (column[0] === "years") return (value || []).join("、");
    if (column[0] === "name" && report.title && report.title !== value) return value + "（" + report.title + "）";
    if (column[0] === "added_at") return value ? localTime(new Date(value)) : (report.origin === "seed" ? "初始报告" : "");
    return value == null ? "" : value;
  }

  function compare(a, b) {
    var x = a[library.sort], y = b[library.sort];
    if (x == null || y == null) return x == null ? (y == null ? 0 : 1) : -1; // unknown last
    if (typeof x === "number") return (x - y) * library.dir;
    return String(x).localeCompare(String(y), "zh-CN") * library.dir;
  }

  function renderReports() {
    var holder = $("reports");
    var focused = holder.contains(document.activeElement) ? document.activeElement.getAttribute("aria-label") : null;
    holder.textContent = "";
    if (!library.reports.length) { holder.appendChild(el("p", "报告库是空的", "muted")); return; }
    var t = el("table");
    t.setAttribute("data-kind", "reports");
    t.appendChild(el("caption", "按表头排序；删除和重新索引在后台进行，进度显示在上方。"));
    var head = el("tr");
    REPORT_COLUMNS.forEach(function (c) {
      var th = el("th");
      th.scope = "col";
      if (c[2] && c[2].indexOf("sort") === 0) {
        var button = el("button", c[1], "sort");
        button.type = "button";
        button.addEventListener("click", function () {
          library.dir = library.sort === c[0] ? -library.dir : 1;
          library.sort = c[0];
          renderReports();
          $("reports").querySelector("th[aria-sort]:not([aria-sort='none']) button").focus();
        });
        th.appendChild(button);
        th.setAttribute("aria-sort", library.sort === c[0] ? (library.dir > 0 ? "ascending" : "descending") : "none");
      } else {
        th.textContent = c[1];
      }
      head.appendChild(th);
    });
    head.appendChild(el("th", "操作")).scope = "col";
    t.appendChild(el("thead")).appendChild(head);
    var body = t.appendChild(el("tbody"));
    library.reports.slice().sort(compare).forEach(function (report) {
      var tr = el("tr");
      tr.setAttribute("data-id", report.id);
      REPORT_COLUMNS.forEach(function (c) {
        var classes = c[0] + (c[2] && c[2].indexOf("num") >= 0 ? " num" : "") + (c[2] && c[2].indexOf("when") >= 0 ? " when" : "");
        tr.appendChild(el("td", reportCell(report, c), classes));
      });
      var actions = tr.appendChild(el("td", null, "actions"));
      var again = actions.appendChild(el("button", "重新索引"));
      again.type = "button";
      again.setAttribute("aria-label", "重新索引 " + report.name);
      again.disabled = !report.reindexable;
      again.addEventListener("click", function () { reindex(report); });
      var remove = actions.appendChild(el("button", "删除", "danger"));
      remove.type = "button";
      remove.setAttribute("aria-label", "删除 " + report.name);
      remove.addEventListener("click", function () { removeReport(report); });
      body.appendChild(tr);
    });
    holder.appendChild(t);
    if (focused) { // the same button again, else (its report is gone) the table, not the page's top
      var again = Array.prototype.filter.call(holder.querySelectorAll("button[aria-label]"), function (b) {
        return b.getAttribute("aria-label") === focused;
      })[0];
      if (again) again.focus(); else { t.tabIndex = -1; t.focus(); }
    }
  }

  function renderFailed(jobs) {
    var holder = $("failed");
    holder.textContent = "";
    if (!jobs.length) { holder.appendChild(el("p", "暂无失败的任务", "muted")); return; }
    var t = el("table");
    t.setAttribute("data-kind", "failed");
    var head = el("tr");
    ["时间", "任务", "文件", "原因"].forEach(function (name) { var th = el("th", name); th.scope = "col"; head.appendChild(th); });
    t.appendChild(el("thead")).appendChild(head);
    var body = t.appendChild(el("tbody"));
    jobs.forEach(function (job) {
      var tr = el("tr");
      tr.setAttribute("data-job", job.job);
      tr.appendChild(el("td", localTime(new Date(job.updated_at * 1000)), "when"));
      tr.appendChild(el("td", KINDS[job.kind] || job.kind, "kind"));
      tr.appendChild(el("td", job.documents.map(function (d) { return d.name; }).join("、") || "全部报告", "name"));
      tr.appendChild(el("td", job.reason || "", "reason"));
      body.appendChild(tr);
    });
    holder.appendChild(t);
  }

  // one line per job started here: a progress bar (the upload's bytes, then the job's progress) and its state
  function jobLine(name, kind) {
    var li = el("li", null, "running");
    li.appendChild(el("span", (KINDS[kind] || kind) + "：" + name, "name"));
    var bar = li.appendChild(el("progress"));
    bar.max = 100;
    bar.value = 0;
    bar.setAttribute("aria-label", (KINDS[kind] || kind) + " " + name + " 的进度");
    var state = li.appendChild(el("span", "等待中", "state"));
    $("h-progress").hidden = false;
    $("progress").insertBefore(li, $("progress").firstChild);
    return {
      item: li,
      bar: bar,
      say: function (text) { if (state.textContent !== text) state.textContent = text; },
      end: function (ok, text) {
        li.className = ok ? "done" : "failed";
        bar.value = ok ? 100 : bar.value;
        state.textContent = text;
        if (!ok) state.setAttribute("role", "alert");
      },
    };
  }

  function follow(job, line) {
    if (library.followed[job.job]) { line.item.remove(); return; } // a reload of the list found it first
    library.followed[job.job] = true;
    line.item.setAttribute("data-job", job.job);
    var pause = 500;
    function step(current) {
      line.bar.value = Math.round(current.progress * 100);
      if (current.status === "done") {
        line.end(true, current.unchanged ? "完成（内容已在库中，未改动）" : "完成");
        loadLibrary().catch(reportError);
        return;
      }
      if (current.status === "failed") {
        line.end(false, "失败：" + (current.reason || "原因不明"));
        loadLibrary().catch(reportError);
        return;
      }
      line.say(STATES[current.status] || current.status);
      setTimeout(function () { api("GET", "/api/jobs/" + encodeURIComponent(job.job)).then(step, function (err) {
        line.end(false, "无法读取任务状态：" + (err && err.message ? err.message : "连接中断"));
      }); }, pause);
    }
    step(job);
  }

  function reportError(err) { showError(err && err.shown ? err.shown : "无法连接到服务。"); }

  function upload(file) {
    var line = jobLine(file.name, "upload");
    var form = new FormData();
    form.append("files", file, file.name);
    form.append("replace", $("replace").checked ? "true" : "false");
    var xhr = new XMLHttpRequest();
    xhr.open("POST", "/api/documents");
    xhr.setRequestHeader("Authorization", "Bearer " + key());
    xhr.responseType = "json";
    xhr.upload.addEventListener("progress", function (event) {
      if (!event.lengthComputable) return;
      var percent = Math.round((100 * event.loaded) / event.total);
      line.bar.value = percent;
      line.say("上传中 " + percent + "%");
    });
    xhr.addEventListener("load", function () {
      var json = xhr.response;
      if (xhr.status === 202 && json && json.job) { follow(json, line); return; }
      var reason = json && json.error && json.error.message ? json.error.message : xhr.statusText;
      line.end(false, "未接受（" + xhr.status + "）：" + reason);
    });
    xhr.addEventListener("error", function () { line.end(false, "上传中断：无法连接到服务"); });
    xhr.send(form);
  }

  function uploadAll(files) {
    Array.prototype.forEach.call(files, upload); // one request, one job, one progress bar per file
  }

  function start(method, url, name, kind) {
    var line = jobLine(name, kind);
    api(method, url).then(function (job) { follow(job, line); }, function (err) {
      line.end(false, "未执行：" + (err && err.message ? err.message : "无法连接到服务"));
    });
  }

  function reindex(report) {
    start("POST", "/api/documents/" + encodeURIComponent(report.id) + "/reindex", report.name, "reindex");
  }

  function removeReport(report) {
    var what = report.name + (report.place ? "（" + report.place + (report.year ? " " + report.year + " 年" : "") + "）" : "");
    if (!window.confirm("从报告库删除「" + what + "」？\n删除后它不再用于回答问题。")) return;
    start("DELETE", "/api/documents/" + encodeURIComponent(report.id), report.name, "delete");
  }

  $("files").addEventListener("change", function () {
    if ($("files").files.length) uploadAll($("files").files);
    $("files").value = "";
  });
  var drop = $("drop");
  drop.addEventListener("dragover", function (event) { event.preventDefault(); drop.classList.add("over"); });
  drop.addEventListener("dragleave", function () { drop.classList.remove("over"); });
  drop.addEventListener("drop", function (event) {
    event.preventDefault();
    drop.classList.remove("over");
    if (event.dataTransfer && event.dataTransfer.files.length) uploadAll(event.dataTransfer.files);
  });
  $("reindex-all").addEventListener("click", function () {
    if (!window.confirm("重新读取全部报告并重建索引？报告多时需要一些时间，期间照常回答问题。")) return;
    start("POST", "/api/reindex", "全部报告", "reindex");
  });

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
    $("library").hidden = true;
    $("controls").hidden = true;
    $("login").hidden = false;
    $("status").textContent = "";
    $("key").focus();
  });
  load();
})();
