"""The status page's inline style and script (static text: the page's CSP allows them by hash)."""

STYLE = """
:root{--bg:#f6f7f9;--card:#fff;--ink:#1d2330;--muted:#667085;--line:#e3e6eb;--accent:#2f6fde;
--good:#1a7f37;--bad:#c62828;--warn:#b26b00}
@media (prefers-color-scheme:dark){:root{--bg:#14171c;--card:#1d2128;--ink:#e6e8eb;
--muted:#98a2b3;--line:#2c323b;--accent:#6ea1ff;--good:#4cc06a;--bad:#ff6b6b;--warn:#f0a33a}}
*{box-sizing:border-box}
body{margin:0;padding:16px 20px;background:var(--bg);color:var(--ink);
font:14px/1.45 system-ui,-apple-system,"Segoe UI",Roboto,sans-serif}
header{display:flex;align-items:baseline;gap:14px;flex-wrap:wrap;margin-bottom:12px}
h1{font-size:20px;margin:0}h2{font-size:15px;margin:0 0 8px}h3{font-size:13px;margin:12px 0 4px;
color:var(--muted);font-weight:600}
main{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:12px}
.card{background:var(--card);border:1px solid var(--line);border-radius:8px;padding:12px 14px;
min-width:0}
.wide{grid-column:1/-1}
dl{display:grid;grid-template-columns:max-content 1fr;gap:4px 12px;margin:0}
dt{color:var(--muted)}dd{margin:0;overflow-wrap:anywhere}
.muted{color:var(--muted)}
#notice{margin:0;font-weight:600}#notice.bad{color:var(--bad)}#notice.good{color:var(--good)}
.pill{display:inline-block;padding:0 8px;border-radius:10px;font-size:12px;font-weight:600;
border:1px solid currentColor}
.pill.good{color:var(--good)}.pill.bad{color:var(--bad)}.pill.unknown{color:var(--muted)}
.numbers{display:flex;gap:28px;flex-wrap:wrap}
.numbers div{display:flex;flex-direction:column}.numbers b{font-size:24px}
.numbers span{color:var(--muted);font-size:12px}
svg.chart{width:100%;height:auto;max-height:220px;display:block}
.axis,.grid{stroke:var(--line);stroke-width:1}
.tick,.empty{fill:var(--muted);font-size:11px}
.bar{fill:var(--accent)}.bar-error{fill:var(--bad)}
.line-p50,.line-p95{fill:none;stroke-width:1.5}
.line-p50{stroke:var(--accent)}.line-p95{stroke:var(--warn)}
.dot-p50{fill:var(--accent)}.dot-p95{fill:var(--warn)}
.key{font-weight:600}.key.p50{color:var(--accent)}.key.p95{color:var(--warn)}
table{border-collapse:collapse;width:100%;font-size:13px}
th,td{text-align:left;padding:4px 8px;border-bottom:1px solid var(--line);vertical-align:top}
th{color:var(--muted);font-weight:600}
td.msg{overflow-wrap:anywhere;min-width:260px}
.scroll{overflow:auto;max-height:520px}
td.nowrap{white-space:nowrap}
.src{font-weight:600}.src.upstream,.src.network{color:var(--bad)}.src.client{color:var(--warn)}
.src.proxy,.src.tool{color:var(--accent)}
code{font:12px ui-monospace,SFMono-Regular,Menlo,monospace}
button{font:inherit;margin-top:10px;padding:5px 12px;border-radius:6px;cursor:pointer;
border:1px solid var(--accent);background:var(--accent);color:#fff}
button[disabled]{opacity:.6;cursor:progress}
footer{margin-top:14px;font-size:12px}
"""

# Re-fetches this page (with the key the page was opened with, if any) every
# data-refresh seconds and swaps in its #live part; the button POSTs /refresh.
SCRIPT = """
(function () {
  "use strict";
  var key = new URLSearchParams(location.search).get("key");
  var every = (parseInt(document.body.getAttribute("data-refresh"), 10) || 5) * 1000;
  function headers(extra) {
    var h = extra || {};
    if (key) { h["Authorization"] = "Bearer " + key; }
    return h;
  }
  function say(id, text, kind) {
    var el = document.getElementById(id);
    el.textContent = text;
    el.className = kind || "";
  }
  function reload() {
    return fetch(location.pathname, {headers: headers({"Accept": "text/html"}), cache: "no-store"})
      .then(function (r) {
        if (!r.ok) { throw new Error("HTTP " + r.status); }
        return r.text();
      })
      .then(function (html) {
        var fresh = new DOMParser().parseFromString(html, "text/html").getElementById("live");
        if (!fresh) { throw new Error("the answer had no status"); }
        document.getElementById("live").replaceWith(document.adoptNode(fresh));
        say("stamp", "updated " + new Date().toLocaleTimeString(), "muted");
      })
      .catch(function (err) { say("stamp", "could not update: " + err.message, "bad"); });
  }
  function refreshModels(button) {
    button.disabled = true;
    say("notice", "Refreshing the model list\\u2026");
    fetch("/refresh", {method: "POST", headers: headers(), cache: "no-store"})
      .then(function (r) {
        return r.json().then(function (body) { return {ok: r.ok, body: body}; });
      })
      .then(function (res) {
        if (res.ok) {
          say("notice", "Model list refreshed: " + res.body.models_after + " models.", "good");
        } else {
          say("notice", (res.body.error && res.body.error.message) || "Refresh failed.", "bad");
        }
      })
      .catch(function (err) { say("notice", "Refresh failed: " + err.message, "bad"); })
      .then(reload);
  }
  document.addEventListener("click", function (ev) {
    var button = ev.target.closest ? ev.target.closest("#refresh-models") : null;
    if (button && !button.disabled) { refreshModels(button); }
  });
  say("stamp", "updated " + new Date().toLocaleTimeString(), "muted");
  setInterval(reload, every);
})();
"""
