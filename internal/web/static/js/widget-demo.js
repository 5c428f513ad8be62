// The demo host page embeds the widget for the project named in its
// address, exactly as the one-line embed does.
(function () {
  var project = new URLSearchParams(location.search).get("project");
  if (!project) {
    document.addEventListener("DOMContentLoaded", function () {
      document.getElementById("demo-error").textContent = "Add ?project=PROJECT_UUID to the address.";
    });
    return;
  }
  var s = document.createElement("script");
  s.src = "/widget.js";
  s.setAttribute("data-project", project);
  // ?lang= stands for the host page's language (the embed's data-lang).
  var lang = new URLSearchParams(location.search).get("lang");
  if (lang) s.setAttribute("data-lang", lang);
  document.head.appendChild(s);
})();
