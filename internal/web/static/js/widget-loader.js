// Parley's chat widget loader, embedded by a company's site with one line:
//   <script src="https://parley.example/widget.js" data-project="PROJECT_UUID"></script>
// It adds a launcher button and, when opened, an iframe with the widget
// (served by Parley, so the host page's styles and scripts cannot reach
// it). Styles are set through the DOM, never inline markup, so host pages
// with a strict CSP can embed it.
(function () {
  var me = document.currentScript || document.querySelector("script[data-project][src$='widget.js']");
  if (!me || window.__parleyWidget) return;
  window.__parleyWidget = true;
  var project = me.getAttribute("data-project") || "";
  var origin = new URL(me.src, location.href).origin;
  var KEY = "parley.widget.open." + project;

  // WORDS are the loader's strings from the pages' catalogues (js/i18n/*.js;
  // TestI18nScripts keeps them equal): the loader runs on the company's
  // page, outside Parley's modules, so it carries its two strings itself.
  var WORDS = {"en": {"loader.open": "Chat with us", "loader.close": "Close chat"}, "ru": {"loader.open": "Напишите нам", "loader.close": "Закрыть чат"}};
  // The language is the embed's data-lang, else the host page's, else the
  // browser's; the widget in the frame is told the same.
  var want = (me.getAttribute("data-lang") || document.documentElement.lang || navigator.language || "en").toLowerCase().slice(0, 2);
  var lang = WORDS[want] ? want : "en";
  function tx(key) { return WORDS[lang][key]; }

  function style(node, s) { for (var k in s) node.style[k] = s[k]; }

  function start() {
    var button = document.createElement("button");
    button.type = "button";
    button.id = "parley-launcher";
    button.textContent = tx("loader.open");
    button.setAttribute("aria-expanded", "false");
    button.setAttribute("aria-controls", "parley-frame");
    style(button, { position: "fixed", right: "16px", bottom: "16px", zIndex: "2147483000", padding: "12px 18px",
      borderRadius: "999px", border: "0", background: "#2457c5", color: "#fff", font: "600 15px system-ui, sans-serif",
      boxShadow: "0 4px 14px rgba(0,0,0,.25)", cursor: "pointer" });

    var frame = null;
    function place() {
      if (!frame) return;
      var narrow = window.innerWidth < 480;
      style(frame, narrow ? { right: "0", bottom: "0", width: "100vw", height: "100%", borderRadius: "0" }
        : { right: "16px", bottom: "76px", width: "380px", height: "min(600px, calc(100vh - 100px))", borderRadius: "12px" });
      style(button, { display: narrow && frame.style.display !== "none" ? "none" : "block" });
    }
    function open(focus) {
      if (!frame) {
        frame = document.createElement("iframe");
        frame.id = "parley-frame";
        frame.title = tx("loader.open");
        frame.src = origin + "/widget/?project=" + encodeURIComponent(project) + "&lang=" + lang;
        frame.setAttribute("allow", "clipboard-write");
        style(frame, { position: "fixed", zIndex: "2147483001", border: "1px solid #dde2e8", background: "#fff",
          boxShadow: "0 8px 30px rgba(0,0,0,.25)" });
        document.body.appendChild(frame);
        if (focus) frame.addEventListener("load", function () { frame.focus(); });
      }
      frame.style.display = "block";
      button.setAttribute("aria-expanded", "true");
      button.textContent = tx("loader.close");
      place();
      if (focus) frame.focus();
      try { sessionStorage.setItem(KEY, "1"); } catch (e) {}
    }
    function close() {
      if (frame) frame.style.display = "none";
      button.setAttribute("aria-expanded", "false");
      button.textContent = tx("loader.open");
      place();
      button.focus();
      try { sessionStorage.removeItem(KEY); } catch (e) {}
    }
    button.addEventListener("click", function () {
      if (frame && frame.style.display !== "none") close(); else open(true);
    });
    window.addEventListener("message", function (e) {
      if (e.origin === origin && e.data && e.data.parley === "close") close();
    });
    window.addEventListener("resize", place);
    document.body.appendChild(button);
    var reopen = false;
    try { reopen = sessionStorage.getItem(KEY) === "1"; } catch (e) {}
    if (reopen) open(false);
  }
  if (document.body) start(); else document.addEventListener("DOMContentLoaded", start);
})();
