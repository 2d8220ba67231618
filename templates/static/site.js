/* Every page: "/" focuses the search box (the search page's own box there, else the header's);
 * typing in the header box loads search (lunr.js, search.js, the manifest) and shows live results. */
(function () {
  "use strict";

  function typingIn(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  document.addEventListener("keydown", function (event) {
    if (event.key !== "/" || event.ctrlKey || event.metaKey || event.altKey) { return; }
    if (typingIn(event.target)) { return; }
    var box = document.getElementById("search-page-q") || document.getElementById("site-search");
    if (!box) { return; }
    event.preventDefault();
    box.focus();
    box.select();
  });

  /* Scripts in order, each after the one before (search.js needs lunr, the manifest search.js). */
  function loadAll(urls) {
    if (!urls.length) { return; }
    var script = document.createElement("script");
    script.src = urls[0];
    script.onload = function () { loadAll(urls.slice(1)); };
    document.head.appendChild(script);
  }

  var box = document.getElementById("site-search");
  if (!box || document.getElementById("search-results")) { return; }  // the search page has its own
  var assets = box.form ? box.form.getAttribute("data-assets") : null;
  if (assets === null) { return; }  // a header template of a project's own, without live results
  var started = false;
  function start() {
    if (started) { return; }
    started = true;
    loadAll([assets + "/vendor/lunr.js", assets + "/search.js", assets + "/search/manifest.js"]);
  }
  box.addEventListener("focus", start);
  box.addEventListener("input", start);
})();
