/* Every page: "/" focuses the search box (the search page's own box there, else the header's). */
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
})();
