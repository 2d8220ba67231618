/* Every page: reading tools, all in this browser (localStorage), none needed to read the site.
 *
 * - "/" focuses the search box; j/k move between papers, o opens the current one's abstract in
 *   place, s stars it.
 * - Seen and new: a paper whose card was on screen during an earlier visit (a visit ends after
 *   30 minutes without a page load) is marked seen; on later visits the others are marked new,
 *   and "New since last visit" shows only those.
 * - Stars: a button on every paper; starred.html lists them and exports BibTeX and JSON.
 * - Order: "most upvoted" or "as listed" within each list of cards; "Expand all".
 *
 * Marks are colours and absolutely placed signs, so nothing on the page moves when they appear.
 * Text from pages is only ever set with textContent. Typing in the header box loads search
 * (lunr.js, search.js, the manifest) and shows live results.
 */
(function () {
  "use strict";

  var VISIT_GAP = 30 * 60 * 1000;
  var KEYS = { visit: "digest:visit", seen: "digest:seen", stars: "digest:stars" };
  var script = document.currentScript;
  var root = script ? new URL("../", script.src) : new URL("./", location.href);

  // --- storage: JSON values; a browser that refuses storage gets a page without marks -------

  var store = (function () {
    try {
      var probe = "digest:probe";
      window.localStorage.setItem(probe, "1");
      window.localStorage.removeItem(probe);
      return window.localStorage;
    } catch (e) {
      return null;
    }
  })();

  function load(key, fallback) {
    if (!store) { return fallback; }
    try {
      var value = JSON.parse(store.getItem(key));  // an array is not what we wrote: start again
      return value && typeof value === "object" && !Array.isArray(value) ? value : fallback;
    } catch (e) {
      return fallback;
    }
  }

  function save(key, value) {
    if (!store) { return; }
    try { store.setItem(key, JSON.stringify(value)); } catch (e) { /* full: keep going */ }
  }

  // --- visits and seen papers ------------------------------------------------------------------

  function startVisit() {
    var now = Date.now();
    var visit = load(KEYS.visit, null);
    if (!visit || typeof visit.n !== "number") {
      visit = { n: 1, last: now };
    } else if (now - visit.last > VISIT_GAP) {
      visit = { n: visit.n + 1, last: now };
    } else {
      visit.last = now;
    }
    save(KEYS.visit, visit);
    return visit.n;
  }

  var visit = store ? startVisit() : 0;
  var seen = load(KEYS.seen, {});
  var pendingSave = 0;

  function markSeen(id) {
    if (seen[id]) { return; }
    seen[id] = visit;
    if (!pendingSave) { pendingSave = window.setTimeout(flushSeen, 400); }
  }

  function flushSeen() {
    pendingSave = 0;
    var fresh = load(KEYS.seen, {}); // another tab may have added some
    Object.keys(seen).forEach(function (id) {
      if (!fresh[id] || fresh[id] > seen[id]) { fresh[id] = seen[id]; }
    });
    seen = fresh;
    save(KEYS.seen, seen);
  }

  function papers() {
    return Array.prototype.slice.call(document.querySelectorAll("article[data-id]"));
  }

  function hiddenText(text) {
    var span = document.createElement("span");
    span.className = "visually-hidden";
    span.textContent = text;
    return span;
  }

  function markCards() {
    var earlier = visit > 1;
    var fresh = 0;
    papers().forEach(function (card) {
      if (!card.classList.contains("card")) { return; }
      var when = seen[card.dataset.id];
      var title = card.querySelector(".paper-title");
      if (when && when < visit) {
        card.classList.add("is-seen");
        if (title) { title.appendChild(hiddenText(" (seen before)")); }
      } else if (earlier) {
        card.classList.add("is-new");
        if (title) { title.appendChild(hiddenText(" (new)")); }
        fresh += 1;
      }
    });
    Array.prototype.forEach.call(document.querySelectorAll(".theme-group"), function (group) {
      if (!group.querySelector(".card.is-new")) { group.classList.add("no-new"); }
    });
    return earlier ? fresh : -1;
  }

  function watchSeen() {
    var all = papers();
    if (!store || !all.length) { return; }
    if (!("IntersectionObserver" in window)) {
      all.forEach(function (card) { markSeen(card.dataset.id); });
      return;
    }
    var observer = new IntersectionObserver(function (entries) {
      entries.forEach(function (entry) {
        // Half of it on screen, or half a screen of it (an open card can be taller than two).
        var enough = entry.intersectionRatio >= 0.5 ||
          entry.intersectionRect.height >= window.innerHeight / 2;
        if (entry.isIntersecting && enough) {
          markSeen(entry.target.dataset.id);
          observer.unobserve(entry.target);
        }
      });
    }, { threshold: [0, 0.25, 0.5] });
    all.forEach(function (card) { observer.observe(card); });
    window.addEventListener("pagehide", function () { if (pendingSave) { flushSeen(); } });
  }

  // --- stars -----------------------------------------------------------------------------------

  function paperOf(card) {
    var title = card.querySelector(".paper-title a") || card.querySelector(".paper-title");
    var authors = [];
    try { authors = JSON.parse(card.dataset.authors || "[]"); } catch (e) { authors = []; }
    return {
      id: card.dataset.id,
      arxiv: card.dataset.arxiv || "",
      title: title ? title.textContent.trim() : "",
      authors: Array.isArray(authors) ? authors.map(String) : [],
      path: sitePath(card),
      date: card.dataset.date || (card.closest("[data-date]") || card).dataset.date || ""
    };
  }

  function sitePath(card) {
    var link = card.querySelector(".paper-title a");
    var href = link ? link.href : location.href.split("#")[0];
    return href.indexOf(root.href) === 0 ? href.slice(root.href.length) : href;
  }

  function stars() { return load(KEYS.stars, {}); }

  function setStar(button, on) {
    button.setAttribute("aria-pressed", on ? "true" : "false");
    button.textContent = on ? "★" : "☆";
    button.title = on ? "Starred: press to unstar" : "Star this paper";
  }

  function toggleStar(card) {
    if (!card.querySelector(".star")) { return; }
    var all = stars();
    var id = card.dataset.id;
    if (all[id]) {
      delete all[id];
    } else {
      all[id] = paperOf(card);
      all[id].starred = Date.now();
    }
    save(KEYS.stars, all);
    showStars(all);
  }

  /* Every star button as storage says: a paper can have two cards (the home page lists it
   * under each of its themes), and another tab may have starred it. */
  function showStars(all) {
    papers().forEach(function (card) {
      var button = card.querySelector(".star");
      if (button) { setStar(button, Boolean(all[card.dataset.id])); }
    });
    updateStarCount();
  }

  function addStars() {
    if (!store) { return; }
    var all = stars();
    papers().forEach(function (card) {
      var button = document.createElement("button");
      button.type = "button";
      button.className = "star";
      var title = card.querySelector(".paper-title");
      button.setAttribute("aria-label", "Star: " + (title ? title.textContent.trim() : card.dataset.id));
      setStar(button, Boolean(all[card.dataset.id]));
      button.addEventListener("click", function () { toggleStar(card); });
      if (title) {
        title.insertAdjacentElement("afterend", button); // next in the tab order
      } else {
        card.appendChild(button);
      }
    });
  }

  function updateStarCount() {
    var count = Object.keys(stars()).length;
    setCount("starred", count ? String(count) : "");
  }

  function setCount(name, text) {
    Array.prototype.forEach.call(
      document.querySelectorAll('[data-count="' + name + '"]'),
      function (node) { node.textContent = text; }
    );
  }

  // --- the starred page and its exports --------------------------------------------------------

  function clean(id, paper) {
    // What storage holds is only trusted as text: another tab or version may have written it.
    var text = function (value) { return typeof value === "string" ? value : ""; };
    paper = paper && typeof paper === "object" ? paper : {};
    return {
      id: id, arxiv: text(paper.arxiv), title: text(paper.title) || id,
      authors: Array.isArray(paper.authors) ? paper.authors.map(String) : [],
      path: text(paper.path), date: text(paper.date),
      starred: typeof paper.starred === "number" ? paper.starred : 0
    };
  }

  function siteUrl(path) {
    var url;
    try { url = new URL(path, root); } catch (e) { return root.href; }  // storage is only text
    return /^(https?|file):$/.test(url.protocol) ? url.href : root.href;
  }

  function starredList() {
    var all = stars();
    var list = Object.keys(all).map(function (id) { return clean(id, all[id]); });
    return list.sort(function (a, b) {
      return b.starred - a.starred || (a.id < b.id ? -1 : 1);
    });
  }

  function paperUrl(paper) {
    return paper.arxiv ? "https://arxiv.org/abs/" + encodeURIComponent(paper.arxiv)
      : siteUrl(paper.path);
  }

  function renderStarred() {
    var list = document.getElementById("starred-list");
    if (!list) { return; }
    var status = document.getElementById("starred-status");
    var papersStarred = starredList();
    list.textContent = "";
    papersStarred.forEach(function (paper) {
      var item = document.createElement("li");
      item.dataset.id = paper.id;
      var link = document.createElement("a");
      link.href = siteUrl(paper.path);
      link.textContent = paper.title;
      item.appendChild(link);
      var by = document.createElement("span");
      by.className = "reason";
      by.textContent = [
        paper.authors.slice(0, 3).join(", ") + (paper.authors.length > 3 ? " et al." : ""),
        paper.arxiv ? "arXiv " + paper.arxiv : "",
        paper.date
      ].filter(Boolean).join(" · ");
      item.appendChild(by);
      var unstar = document.createElement("button");
      unstar.type = "button";
      unstar.className = "tool";
      unstar.textContent = "Unstar";
      unstar.addEventListener("click", function () {
        var all = stars();
        delete all[paper.id];
        save(KEYS.stars, all);
        renderStarred();
      });
      item.appendChild(unstar);
      list.appendChild(item);
    });
    if (status) {
      status.textContent = !store ? "This browser keeps no stars (storage is off)."
        : papersStarred.length ? papersStarred.length + " starred paper" +
          (papersStarred.length === 1 ? "" : "s") + ", kept in this browser only."
        : "No starred papers yet: star papers with ☆ (or the s key) on any page.";
    }
    Array.prototype.forEach.call(document.querySelectorAll("[data-export]"), function (b) {
      b.disabled = !papersStarred.length;
    });
  }

  /* Text as BibTeX reads it. Braces become commands, not \{ \}: BibTeX counts an escaped
   * brace too, so one unbalanced brace in a title would end the field early. */
  var BIB = { "\\": "\\textbackslash{}", "^": "\\^{}", "~": "\\~{}",
              "{": "\\textbraceleft{}", "}": "\\textbraceright{}" };
  function bibEscape(text) {
    return String(text).replace(/[\\{}%&$#_^~]/g, function (c) { return BIB[c] || "\\" + c; });
  }

  function bibAuthor(name) {
    var escaped = bibEscape(name);
    return /(^|\s)and(\s|$)/i.test(name) || name.indexOf(",") >= 0 ? "{" + escaped + "}" : escaped;
  }

  function bibYear(paper) {
    var m = /^(\d{2})(\d{2})\./.exec(paper.arxiv);
    return m ? "20" + m[1] : paper.date.slice(0, 4);
  }

  function bibtex(list) {
    return list.map(function (paper) {
      var key = (paper.arxiv ? "arxiv-" + paper.arxiv : "digest-" + paper.id)
        .replace(/[^A-Za-z0-9.:_-]/g, "-");
      var fields = [["title", "{" + bibEscape(paper.title) + "}"]];
      if (paper.authors.length) {
        fields.push(["author", paper.authors.map(bibAuthor).join(" and ")]);
      }
      fields.push(["year", bibYear(paper)]);
      if (paper.arxiv) {
        fields.push(["eprint", paper.arxiv], ["archivePrefix", "arXiv"]);
      }
      fields.push(["url", paperUrl(paper)]);
      return "@misc{" + key + ",\n" + fields.map(function (f) {
        return "  " + f[0] + " = {" + f[1] + "}";
      }).join(",\n") + "\n}\n";
    }).join("\n");
  }

  function exportJson(list) {
    return JSON.stringify(list.map(function (paper) {
      return {
        id: paper.id, arxiv_id: paper.arxiv || null, title: paper.title,
        authors: paper.authors, url: paperUrl(paper), date: paper.date
      };
    }), null, 2) + "\n";
  }

  function download(name, type, text) {
    var link = document.createElement("a");
    link.href = URL.createObjectURL(new Blob([text], { type: type }));
    link.download = name;
    document.body.appendChild(link);
    link.click();
    window.setTimeout(function () { URL.revokeObjectURL(link.href); link.remove(); }, 1000);
  }

  function wireExports() {
    Array.prototype.forEach.call(document.querySelectorAll("[data-export]"), function (button) {
      button.addEventListener("click", function () {
        var list = starredList();
        if (button.dataset.export === "bibtex") {
          download("starred-papers.bib", "application/x-bibtex", bibtex(list));
        } else {
          download("starred-papers.json", "application/json", exportJson(list));
        }
      });
    });
  }

  // --- order, expand, new only -----------------------------------------------------------------

  function sortCards(order) {
    Array.prototype.forEach.call(document.querySelectorAll(".cards"), function (box) {
      var cards = Array.prototype.slice.call(box.children).filter(function (c) {
        return c.matches("article.card");
      });
      cards.forEach(function (c, i) { if (!c.dataset.shown) { c.dataset.shown = String(i); } });
      cards.sort(function (a, b) {
        if (order === "upvotes") {
          var ua = a.dataset.upvotes, ub = b.dataset.upvotes;
          if ((ua === undefined) !== (ub === undefined)) { return ua === undefined ? 1 : -1; }
          if (ua !== undefined && Number(ua) !== Number(ub)) { return Number(ub) - Number(ua); }
        }
        return (Number(a.dataset.position || 0) - Number(b.dataset.position || 0)) ||
          (Number(a.dataset.shown) - Number(b.dataset.shown));
      });
      cards.forEach(function (c) { box.appendChild(c); });
    });
  }

  function abstracts() {
    return Array.prototype.filter.call(document.querySelectorAll("details.more"), function (d) {
      var group = d.parentElement && d.parentElement.closest("details.group");
      return !group || group.open;
    });
  }

  function wireToolbar(fresh) {
    Array.prototype.forEach.call(document.querySelectorAll("[data-tool]"), function (tool) {
      var kind = tool.dataset.tool;
      if (kind === "sort") {
        tool.addEventListener("change", function () { sortCards(tool.value); tool.blur(); });
        var restored = function () {  // Back or reload may restore the select, not the order
          var listed = tool.querySelector("option[selected]");
          if (listed && tool.value !== listed.value) { sortCards(tool.value); }
        };
        restored();
        window.addEventListener("pageshow", restored);
      } else if (kind === "expand") {
        tool.addEventListener("click", function () {
          var open = tool.getAttribute("aria-pressed") !== "true";
          abstracts().forEach(function (d) { d.open = open; });
          tool.setAttribute("aria-pressed", open ? "true" : "false");
        });
      } else if (kind === "new") {
        if (fresh < 0) {
          tool.disabled = true;
          tool.title = store ? "This is your first visit: nothing to compare with yet." :
            "This browser keeps no reading state for this site (storage is off).";
        }
        tool.addEventListener("click", function () {
          showOnlyNew(tool.getAttribute("aria-pressed") !== "true");
        });
      }
    });
    setCount("new", fresh < 0 ? "" : String(fresh));
  }

  function showOnlyNew(on) {
    document.body.classList.toggle("only-new", on);
    Array.prototype.forEach.call(document.querySelectorAll('[data-tool="new"]'), function (t) {
      t.setAttribute("aria-pressed", on ? "true" : "false");
    });
  }

  // --- fragments: a link to a paper in a folded part opens it ----------------------------------

  function openTarget() {
    var id = decodeURIComponent(location.hash.slice(1));
    if (id === "new") { showOnlyNew(true); return; }
    var target = id && document.getElementById(id);
    if (!target) { return; }
    var changed = false;
    for (var node = target.parentElement; node; node = node.parentElement) {
      if (node.tagName === "DETAILS" && !node.open) { node.open = true; changed = true; }
    }
    if (changed) { target.scrollIntoView(); }
  }

  // --- keyboard --------------------------------------------------------------------------------

  function typingIn(target) {
    if (!target || !target.tagName) { return false; }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function visibleCards() {
    return Array.prototype.filter.call(document.querySelectorAll("article.card"), function (c) {
      return c.offsetParent !== null;
    });
  }

  var current = null;

  function currentCard() {
    var focused = document.activeElement && document.activeElement.closest &&
      document.activeElement.closest("article.card");
    return focused || (current && current.offsetParent !== null ? current : null) ||
      document.querySelector("article.paper-page[data-id]");  // a paper's own page: that paper
  }

  function move(step) {
    var cards = visibleCards();
    if (!cards.length) { return; }
    var at = cards.indexOf(currentCard());
    var next;
    if (at < 0) {
      next = cards.filter(function (c) { return c.getBoundingClientRect().top >= 0; })[0] ||
        cards[cards.length - 1];
      if (step < 0) { next = cards[Math.max(0, cards.indexOf(next) - 1)]; }
    } else {
      next = cards[Math.min(cards.length - 1, Math.max(0, at + step))];
    }
    focusCard(next);
  }

  function focusCard(card) {
    if (current) { current.classList.remove("is-current"); }
    current = card;
    card.classList.add("is-current");
    var link = card.querySelector(".paper-title a");
    if (link) { link.focus({ preventScroll: true }); }
    card.scrollIntoView({ block: "nearest" });
  }

  document.addEventListener("keydown", function (event) {
    if (event.ctrlKey || event.metaKey || event.altKey || typingIn(event.target)) { return; }
    var key = event.key;
    if (key === "/") {
      var box = document.getElementById("search-page-q") || document.getElementById("site-search");
      if (!box) { return; }
      event.preventDefault();
      box.focus();
      box.select();
    } else if (key === "j" || key === "k") {
      event.preventDefault();
      move(key === "j" ? 1 : -1);
    } else if (key === "o" || key === "s") {
      var card = currentCard();
      if (!card) { return; }
      event.preventDefault();
      if (key === "s") { toggleStar(card); return; }
      var more = card.querySelector("details.more");
      if (more) { more.open = !more.open; }
    }
  });

  // --- the header box's live results ------------------------------------------------------

  /* Scripts in order, each after the one before (search.js needs lunr, the manifest search.js). */
  function loadAll(urls) {
    if (!urls.length) { return; }
    var script = document.createElement("script");
    script.src = urls[0];
    script.onload = function () { loadAll(urls.slice(1)); };
    script.onerror = function () {  // the searches waiting for the manifest end, with a message
      if (window.digestSearch && window.digestSearch.manifestFailed) { window.digestSearch.manifestFailed(); }
    };
    document.head.appendChild(script);
  }

  /* Typing in the header box loads search (lunr.js, search.js, the manifest): not before. */
  function wireHeaderSearch() {
    var box = document.getElementById("site-search");
    if (!box || document.getElementById("search-results")) { return; }  // the search page's own
    var assets = box.form ? box.form.getAttribute("data-assets") : null;
    if (assets === null) { return; }  // a header template of a project's own, without results
    var started = false;
    function start() {
      if (started) { return; }
      started = true;
      loadAll([assets + "/vendor/lunr.js", assets + "/search.js", assets + "/search/manifest.js"]);
    }
    box.addEventListener("focus", start);
    box.addEventListener("input", start);
  }

  // --- start -----------------------------------------------------------------------------------

  var fresh = store ? markCards() : -1;
  addStars();
  updateStarCount();
  wireToolbar(fresh);
  wireExports();
  renderStarred();
  openTarget();
  window.addEventListener("hashchange", openTarget);
  watchSeen();
  wireHeaderSearch();
  if (store) {
    window.addEventListener("storage", function (event) {  // starred in another tab
      if (event.key === KEYS.stars) { showStars(stars()); }
    });
  }
})();
