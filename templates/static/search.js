/* digest search page: lunr shards loaded as scripts (so file:// works), newest month first.
 * Results are built with createElement/textContent only: paper text never becomes markup. */
(function () {
  "use strict";

  var PAGE = 50;
  var DEBOUNCE_MS = 120;
  var MERGE_PUSH_MS = 1000;
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];

  var state = {
    manifest: null,
    shards: [],          // loaded: {name, index, docs}
    loading: false,
    failed: false,
    next: 0,             // manifest.shards[next] is the next to load
    query: "",
    filters: [],         // theme slugs
    limit: PAGE,
    cache: {query: null, perShard: []},
    hits: [],
    lastPush: 0,
    timer: null
  };
  var el = {};
  var themeNames = {};

  window.digestSearch = {
    manifest: function (data) {
      state.manifest = data;
      start();
    },
    shard: function (data) {
      state.shards.push({name: data.name, index: lunr.Index.load(data.index), docs: data.docs});
    },
    firstResultsAt: null
  };

  function start() {
    el.results = document.getElementById("search-results");
    if (!el.results || typeof lunr === "undefined") { return; }
    el.input = document.getElementById("search-page-q");
    el.header = document.getElementById("site-search");
    el.form = document.getElementById("search-form");
    el.status = document.getElementById("search-status");
    el.filters = document.getElementById("search-filters");
    el.suggest = document.getElementById("search-suggest");
    el.more = document.getElementById("search-more");
    state.base = el.results.getAttribute("data-index");
    state.root = state.base.replace(/assets\/search$/, "");
    state.manifest.themes.forEach(function (t) { themeNames[t.slug] = t.name; });
    wire();
    readUrl();
    loadNext();
    update();
  }

  function wire() {
    [el.input, el.header].forEach(function (box) {
      if (!box) { return; }
      box.addEventListener("input", function () {
        syncBoxes(box.value, box);
        clearTimeout(state.timer);
        state.timer = setTimeout(function () { setQuery(box.value, true); }, DEBOUNCE_MS);
      });
      if (box.form) { box.form.addEventListener("submit", onSubmit); }
    });
    el.more.addEventListener("click", function () { state.limit += PAGE; render(); });
    window.addEventListener("popstate", function () { readUrl(); update(); });
    if (el.input && !state.query) { el.input.focus(); }
  }

  function syncBoxes(value, from) {
    [el.input, el.header].forEach(function (box) {
      if (box && box !== from && box.value !== value) { box.value = value; }
    });
  }

  function onSubmit(event) {
    event.preventDefault();
    clearTimeout(state.timer);
    var box = event.target.querySelector("input[name=q]");
    setQuery(box ? box.value : state.query, false);
    var first = el.results.querySelector("a.result-link");
    if (first) { window.location.href = first.href; }
  }

  function readUrl() {
    var params = new URLSearchParams(window.location.search);
    state.query = (params.get("q") || "").trim();
    state.filters = params.getAll("theme");
    state.limit = PAGE;
    syncBoxes(params.get("q") || "", null);
  }

  function setQuery(raw, typing) {
    var query = raw.trim();
    if (query === state.query) { return; }
    state.query = query;
    state.limit = PAGE;
    writeUrl(typing);
    update();
  }

  function writeUrl(typing) {
    var params = new URLSearchParams();
    if (state.query) { params.set("q", state.query); }
    state.filters.forEach(function (slug) { params.append("theme", slug); });
    var search = params.toString() ? "?" + params.toString() : "";
    if (search === window.location.search) { return; }
    var now = Date.now();
    var url = window.location.pathname + search;
    try {
      if (typing && now - state.lastPush < MERGE_PUSH_MS) {
        history.replaceState(null, "", url);
      } else {
        history.pushState(null, "", url);
      }
    } catch (err) {
      /* some browsers refuse history changes on file:// pages: searching still works */
    }
    state.lastPush = typing ? now : 0;
  }

  function loadNext() {
    var shards = state.manifest.shards;
    if (state.loading || state.failed || state.next >= shards.length) { return; }
    if (state.next > 0 && !state.query) { return; }  // older months load only while searching
    var info = shards[state.next];
    var script = document.createElement("script");
    state.loading = true;
    script.src = state.base + "/" + info.file + "?v=" + info.v;
    script.onload = function () {
      state.loading = false;
      state.next += 1;
      update();
      setTimeout(loadNext, 0);
    };
    script.onerror = function () {
      state.loading = false;
      state.failed = true;
      update();
    };
    document.head.appendChild(script);
  }

  /* Search every loaded shard (each only once per query) and render. */
  function update() {
    if (state.cache.query !== state.query) { state.cache = {query: state.query, perShard: []}; }
    var error = null;
    if (state.query) {
      for (var i = state.cache.perShard.length; i < state.shards.length; i++) {
        var found = searchShard(state.shards[i], state.query);
        if (found.error) { error = found.error; break; }
        state.cache.perShard.push(found.hits);
      }
    }
    state.error = error;
    state.hits = error ? [] : [].concat.apply([], state.cache.perShard);
    state.hits.sort(function (a, b) {
      return b.score - a.score || (a.doc.d < b.doc.d ? 1 : a.doc.d > b.doc.d ? -1 : 0);
    });
    render();
    if (state.query && !error) { loadNext(); }
  }

  function searchShard(shard, query) {
    var results;
    try {
      results = shard.index.search(query);
    } catch (err) {
      return {error: err};
    }
    return {hits: results.map(function (r) {
      return {doc: shard.docs[r.ref], score: r.score, terms: Object.keys(r.matchData.metadata)};
    })};
  }

  function render() {
    var total = state.manifest.papers;
    var shown = filtered(state.hits);
    renderFilters();
    clear(el.results);
    clear(el.suggest);
    el.suggest.hidden = true;
    el.more.hidden = true;
    if (state.failed) {
      setStatus("The search index could not be loaded; browse the archive or the themes instead.");
      return;
    }
    if (!state.query) {
      setStatus("Type to search " + count(total, "paper") + ".");
      return;
    }
    if (state.error) {
      setStatus(friendly(state.error));
      return;
    }
    var searched = searchedPapers();
    var status = count(shown.length, "paper") + (shown.length === 1 ? " matches " : " match ") +
      quoted(state.query);
    if (shown.length !== state.hits.length) { status += " in the chosen themes (" + state.hits.length + " in all)"; }
    if (searched < total) { status += "; searched the newest " + searched + " of " + total + " papers, loading older ones…"; }
    setStatus(status + (searched < total ? "" : "."));
    shown.slice(0, state.limit).forEach(function (hit) { el.results.appendChild(resultItem(hit)); });
    el.more.hidden = shown.length <= state.limit;
    if (!shown.length && searched >= total) { suggest(); }
    if (shown.length && window.digestSearch.firstResultsAt === null) {
      window.digestSearch.firstResultsAt = performance.now();
      window.digestSearch.firstResultsShards = state.shards.length;
    }
  }

  function searchedPapers() {
    var n = 0;
    for (var i = 0; i < state.shards.length; i++) { n += state.manifest.shards[i].papers; }
    return n;
  }

  function filtered(hits) {
    if (!state.filters.length) { return hits; }
    return hits.filter(function (hit) {
      var slugs = hit.doc.h.length ? hit.doc.h : ["other"];
      return slugs.some(function (s) { return state.filters.indexOf(s) !== -1; });
    });
  }

  function renderFilters() {
    var counts = {};
    state.hits.forEach(function (hit) {
      (hit.doc.h.length ? hit.doc.h : ["other"]).forEach(function (s) { counts[s] = (counts[s] || 0) + 1; });
    });
    var legend = el.filters.querySelector("legend");
    clear(el.filters);
    el.filters.appendChild(legend);
    state.manifest.themes.forEach(function (theme) {
      var label = document.createElement("label");
      var box = document.createElement("input");
      box.type = "checkbox";
      box.value = theme.slug;
      box.checked = state.filters.indexOf(theme.slug) !== -1;
      box.addEventListener("change", onFilter);
      label.appendChild(box);
      label.appendChild(document.createTextNode(" " + theme.name + " "));
      var n = document.createElement("span");
      n.className = "count";
      n.textContent = String(counts[theme.slug] || 0);
      label.appendChild(n);
      el.filters.appendChild(label);
    });
    el.filters.hidden = !state.query;
  }

  function onFilter(event) {
    var slug = event.target.value;
    state.filters = state.filters.filter(function (s) { return s !== slug; });
    if (event.target.checked) { state.filters.push(slug); }
    state.limit = PAGE;
    writeUrl(false);
    render();
  }

  function resultItem(hit) {
    var doc = hit.doc;
    var terms = stems(hit.terms);
    var li = document.createElement("li");
    li.className = "search-result";
    var heading = document.createElement("h2");
    heading.className = "paper-title";
    var link = document.createElement("a");
    link.className = "result-link";
    link.href = state.root + doc.p;
    highlight(link, doc.t, terms);
    heading.appendChild(link);
    li.appendChild(heading);
    var meta = document.createElement("p");
    meta.className = "meta";
    var time = document.createElement("time");
    time.dateTime = doc.d;
    time.textContent = shortDate(doc.d);
    meta.appendChild(time);
    li.appendChild(meta);
    li.appendChild(badges(doc.h));
    var snippet = document.createElement("p");
    snippet.className = "snippet";
    highlight(snippet, doc.s, terms);
    li.appendChild(snippet);
    return li;
  }

  function badges(slugs) {
    var ul = document.createElement("ul");
    ul.className = "badges";
    (slugs.length ? slugs : ["other"]).forEach(function (slug) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.className = "badge badge-" + slug;
      a.href = state.root + "themes/" + encodeURIComponent(slug) + ".html";
      a.textContent = themeNames[slug] || slug;
      li.appendChild(a);
      ul.appendChild(li);
    });
    return ul;
  }

  function stems(terms) {
    var set = {};
    terms.forEach(function (t) { set[t] = true; });
    return set;
  }

  /* Append text to parent, wrapping words whose lunr stem matched in <mark>. */
  function highlight(parent, text, terms) {
    var word = /[^\s\-]+/g;
    var last = 0;
    var match;
    while ((match = word.exec(text)) !== null) {
      var core = /\w(?:[\s\S]*\w)?/.exec(match[0]);
      if (!core) { continue; }
      var stem = lunr.stemmer(new lunr.Token(core[0].toLowerCase())).toString();
      if (!terms[stem] && !terms[core[0].toLowerCase()]) { continue; }
      var start = match.index + core.index;
      parent.appendChild(document.createTextNode(text.slice(last, start)));
      var mark = document.createElement("mark");
      mark.textContent = core[0];
      parent.appendChild(mark);
      last = start + core[0].length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function suggest() {
    el.suggest.hidden = false;
    var p = document.createElement("p");
    p.appendChild(document.createTextNode("Try fewer or shorter words, a prefix such as "));
    p.appendChild(code("quant*"));
    p.appendChild(document.createTextNode(", or drop a "));
    p.appendChild(code("+"));
    p.appendChild(document.createTextNode(" requirement."));
    el.suggest.appendChild(p);
    var fuzzy = null;
    var n = 0;
    alternatives(state.query).some(function (candidate) {
      n = countHits(candidate);
      fuzzy = candidate;
      return n > 0;
    });
    if (n) {
      var q = document.createElement("p");
      q.appendChild(document.createTextNode("A looser search finds " + count(n, "paper") + ": "));
      var a = document.createElement("a");
      a.href = "?q=" + encodeURIComponent(fuzzy);
      a.textContent = fuzzy;
      a.addEventListener("click", function (event) {
        event.preventDefault();
        syncBoxes(fuzzy, null);
        setQuery(fuzzy, false);
      });
      q.appendChild(a);
      el.suggest.appendChild(q);
    }
    el.suggest.appendChild(themeLinks());
  }

  /* Looser versions of a plain-word query: close spellings, then shorter prefixes. */
  function alternatives(query) {
    var words = query.split(/\s+/).filter(function (w) { return /^\w{3,}$/.test(w); });
    if (!words.length) { return []; }
    var prefix = function (w) { return w.slice(0, Math.max(3, Math.ceil(w.length * 0.6))) + "*"; };
    return [
      words.map(function (w) { return w + "~1"; }).join(" "),
      words.map(prefix).join(" ")
    ];
  }

  function countHits(query) {
    var n = 0;
    state.shards.forEach(function (shard) {
      var found = searchShard(shard, query);
      n += found.hits ? found.hits.length : 0;
    });
    return n;
  }

  function themeLinks() {
    var p = document.createElement("p");
    p.appendChild(document.createTextNode("Or browse a theme: "));
    state.manifest.themes.forEach(function (theme, i) {
      if (i) { p.appendChild(document.createTextNode(" · ")); }
      var a = document.createElement("a");
      a.href = state.root + "themes/" + encodeURIComponent(theme.slug) + ".html";
      a.textContent = theme.name;
      p.appendChild(a);
    });
    return p;
  }

  function friendly(err) {
    var detail = err && err.message ? " (" + err.message + ")" : "";
    if (typeof lunr !== "undefined" && err instanceof lunr.QueryParseError) {
      return "That query could not be read" + detail + ". Put a word after \u201c+\u201d, \u201c-\u201d " +
        "or a field such as \u201ctitle:\u201d; fields are title, abstract, themes and author.";
    }
    return "That query could not be run" + detail + ". Try plain words.";
  }

  function setStatus(text) { el.status.textContent = text; }

  function clear(node) { while (node.firstChild) { node.removeChild(node.firstChild); } }

  function code(text) {
    var c = document.createElement("code");
    c.textContent = text;
    return c;
  }

  function count(n, noun) { return n + " " + noun + (n === 1 ? "" : "s"); }

  function quoted(text) { return "\u201c" + text + "\u201d"; }

  function shortDate(iso) {
    var parts = iso.split("-");
    return Number(parts[2]) + " " + MONTHS[Number(parts[1]) - 1] + " " + parts[0];
  }
})();
