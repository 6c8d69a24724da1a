// ulo Admin Console: the few behaviours htmx does not cover. No inline script anywhere (the
// Content-Security-Policy allows scripts from ulo only).
(function () {
  "use strict";
  // Buttons with data-copy="ID" copy the text of element ID.
  document.addEventListener("click", function (e) {
    var b = e.target.closest("[data-copy]");
    if (!b) return;
    var el = document.getElementById(b.getAttribute("data-copy"));
    if (!el || !navigator.clipboard) return;
    navigator.clipboard.writeText(el.textContent.trim()).then(function () {
      var was = b.textContent;
      b.textContent = "Copied";
      setTimeout(function () { b.textContent = was; }, 1500);
    });
  });
  // Elements with data-close closes the dialog (empties #dialog); so does Escape.
  function closeDialog() {
    var d = document.getElementById("dialog");
    if (d) d.innerHTML = "";
  }
  document.addEventListener("click", function (e) {
    if (e.target.closest("[data-close]") || e.target.classList.contains("overlay")) {
      e.preventDefault();
      closeDialog();
    }
  });
  document.addEventListener("keydown", function (e) {
    if (e.key === "Escape") closeDialog();
    // Close an open menu (details.menu) with Escape too.
    if (e.key === "Escape") {
      document.querySelectorAll("details.menu[open]").forEach(function (m) { m.removeAttribute("open"); });
    }
  });
  // A dialog loaded into #dialog takes focus at its first field or button.
  document.addEventListener("htmx:afterSwap", function (e) {
    if (e.target.id !== "dialog") return;
    var f = e.target.querySelector("[autofocus], input, button, select, textarea, a[href]");
    if (f) f.focus();
  });
  // A live stream (htmx sse extension) says whether it is connected: data-sse="open" or
  // "error" on its element, which the page's styles (and tests) read.
  document.addEventListener("htmx:sseOpen", function (e) {
    var el = e.detail && e.detail.elt ? e.detail.elt : e.target;
    el.setAttribute("data-sse", "open");
  });
  document.addEventListener("htmx:sseError", function (e) {
    var el = e.detail && e.detail.elt ? e.detail.elt : e.target;
    el.setAttribute("data-sse", "error");
  });
  // Choosing a menu entry closes its menu (the dialog it opens goes on top).
  document.addEventListener("click", function (e) { var a = e.target.closest(".menu-items a, .menu-items button"), m = a && a.closest("details.menu"); if (m) m.removeAttribute("open"); });
  // A click outside an open menu closes it.
  document.addEventListener("click", function (e) {
    document.querySelectorAll("details.menu[open]").forEach(function (m) {
      if (!m.contains(e.target)) m.removeAttribute("open");
    });
  });
})();
