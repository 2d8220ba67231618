/* digest search: one lunr index over every paper, loaded in pieces (digest/site/search.py).
 *
 * A query loads the pieces that hold its terms (as scripts, never fetch, so file:// works),
 * builds a lunr.Index of just those terms and runs the query on it with unmodified lunr.js
 * 2.3.9. Every entry of that index is computed here from the raw counts in the pieces (term
 * frequency, field length, document frequency) with lunr's own float operations, so results
 * and scores are those of one lunr index over every paper.
 *
 *   digestSearch.lunr(queryString, options) -> Promise of [{ref, title, url, score, ...}]
 *       exactly lunr's results for a lunr query string, ranked
 *   digestSearch.query(text, options) -> Promise of the same, as the search box ranks them:
 *       papers holding every word first (a phrase in the title before them), then the others
 *   options.details: how many results get their details (title, url, abstract...), default all
 *   options.first: only the first k results; with many results they come sooner, as lunr then
 *       ranks candidates first (papers that may be among the first k, found with its formula)
 *
 * Results are built with createElement/textContent only: paper text never becomes markup. */
(function () {
  "use strict";

  var K1 = 1.2;
  var B = 0.75;
  var RANK = 1048576;       // a term's lunr number: (its first paper) * RANK + (its rank there)
  var DIGITS = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  var VALUE = [];
  for (var d = 0; d < DIGITS.length; d++) { VALUE[DIGITS.charCodeAt(d)] = d; }
  var EMPTY = {};
  var TRIM = /^[^\p{L}\p{N}_]*?([\p{L}\p{N}_]+)[^\p{L}\p{N}_]*?$/u;  // lunr.py's trimmer
  var SYNTAX = /(^|\s)[+\-]|[:*~^\\]/;

  var manifest = null;
  var base = "";
  var waiting = [];          // [resolve, reject] of those waiting for the manifest
  var manifestError = null;
  /* Maps keyed by words and query text have no prototype: "constructor" or "__proto__" is a
   * word like any other, not an inherited property. */
  function dict() { return Object.create(null); }
  var pieces = dict();       // name -> Promise of its data
  var arrived = dict();      // name -> resolve
  var postingsCache = dict();  // term -> Promise of its postings
  var preparedCache = dict();  // query string -> Promise of its prepared form
  var detailsCache = dict();   // paper number -> Promise of its details

  var api = window.digestSearch = window.digestSearch || {};
  api.firstResultsAt = null;
  api.completeResultsAt = null;

  api.manifest = function (data) {
    var script = document.currentScript;
    base = script && script.src ? script.src.replace(/manifest\.js(\?.*)?$/, "") : "";
    manifest = data;
    manifest.fieldNames = data.fields.map(function (f) { return f[0]; });
    manifest.dayTable = dayTable(data.days);
    waiting.splice(0).forEach(function (calls) { calls[0](); });
  };

  /* The manifest's script tag calls this when it fails to load: searches end with a message
   * instead of waiting for ever. */
  api.manifestFailed = function () {
    manifestError = new Error("the search index could not be loaded (manifest)");
    waiting.splice(0).forEach(function (calls) { calls[1](manifestError); });
  };

  api.piece = function (name, data) {
    if (data.terms && typeof data.terms[0] !== "string") {
      data.byTerm = dict();
      data.terms.forEach(function (entry) { data.byTerm[entry[0]] = entry; });
    }
    if (arrived[name]) { arrived[name](data); delete arrived[name]; }
  };
  api.doc = api.piece;

  /* --- loading pieces ---------------------------------------------------------------- */

  function ready() {
    return new Promise(function (resolve, reject) {
      if (typeof lunr === "undefined") { reject(new Error("lunr.js did not load")); return; }
      if (manifest) { resolve(); } else if (manifestError) { reject(manifestError); } else {
        waiting.push([resolve, reject]);
      }
    });
  }

  function load(name, version) {
    if (!pieces[name]) {
      pieces[name] = new Promise(function (resolve, reject) {
        arrived[name] = resolve;
        var script = document.createElement("script");
        script.src = base + name + ".js" + (version ? "?v=" + version : "");
        script.onload = function () {
          script.remove();
          if (arrived[name]) {
            delete arrived[name];
            delete pieces[name];
            reject(new Error("bad piece " + name));
          }
        };
        script.onerror = function () {
          script.remove();
          delete pieces[name];
          reject(new Error("the search index could not be loaded (" + name + ")"));
        };
        document.head.appendChild(script);
      });
    }
    return pieces[name];
  }

  /* The last table row whose first term is <= term (tables start with ""). */
  function row(table, term) {
    var lo = 0;
    var hi = table.length - 1;
    while (lo < hi) {
      var mid = (lo + hi + 1) >> 1;
      if (table[mid][0] <= term) { lo = mid; } else { hi = mid - 1; }
    }
    return table[lo];
  }

  /* Rows whose ranges overlap [from, to] (to === null: to the end). */
  function rows(table, from, to) {
    var found = [];
    for (var i = 0; i < table.length; i++) {
      var next = i + 1 < table.length ? table[i + 1][0] : null;
      if ((next === null || next > from) && (to === null || table[i][0] <= to)) { found.push(table[i]); }
    }
    return found;
  }

  /* Base chunk pieces holding terms in [from, to], and the tail pieces. */
  function piecesFor(from, to) {
    return Promise.all(rows(manifest.groups, from, to).map(function (group) {
      return load(group[1]);
    })).then(function (directories) {
      var names = [];
      directories.forEach(function (directory) {
        rows(directory.chunks, from, to).forEach(function (chunk) { names = names.concat(chunk[1]); });
      });
      rows(manifest.tails, from, to).forEach(function (tail) { names.push(tail[1]); });
      return Promise.all(names.map(function (name) { return load(name); }));
    });
  }

  /* --- postings ---------------------------------------------------------------------- */

  function decodeField(text, positional, into) {
    var i = 0;
    var doc = -1;
    var n = text.length;
    function next() {
      var value = 0;
      var scale = 1;
      for (;;) {
        var digit = VALUE[text.charCodeAt(i++)];
        value += (digit & 31) * scale;
        if (!(digit & 32)) { return value; }
        scale *= 32;
      }
    }
    while (i < n) {
      var head = next();
      doc += 1 + Math.floor(head / 2);
      var tf = head % 2 ? next() + 2 : 1;
      var positions = null;
      if (positional) {
        positions = [];
        var at = -1;
        for (var k = 0; k < tf; k++) { at += next() + 1; positions.push(at); }
      }
      into.docs.push(doc);
      into.tfs.push(tf);
      into.positions.push(positions);
    }
  }

  /* A term's postings from the pieces (base chunks in order, then its tail piece). */
  function termPostings(term, loaded) {
    var fields = manifest.fields.map(function () {
      return {docs: [], tfs: [], lengths: null, positions: []};
    });
    var key = null;
    loaded.forEach(function (piece) {
      var entry = piece.byTerm && piece.byTerm[term];
      if (!entry) { return; }
      var first = Infinity;
      fields.forEach(function (field, f) {
        var before = field.docs.length;
        decodeField(entry[2 + f], manifest.fields[f][2], field);
        if (field.docs.length > before) { first = Math.min(first, field.docs[before]); }
      });
      if (key === null && first !== Infinity) { key = first * RANK + entry[1]; }
    });
    if (key === null) { return null; }
    var df = 0;
    fields.forEach(function (field) { df += field.docs.length; });
    return {term: term, key: key, df: df, fields: fields};
  }

  function postings(term) {
    if (!postingsCache[term]) {
      postingsCache[term] = piecesFor(term, term).then(function (loaded) {
        return termPostings(term, loaded);
      });
      postingsCache[term].catch(function () { delete postingsCache[term]; });  // try again later
    }
    return postingsCache[term];
  }

  /* --- the exact lunr engine --------------------------------------------------------- */

  /* Python's round(x, 3), which lunr.py rounds every entry with: the exact decimal value
   * rounded half to even (Math.round(x * 1000) / 1000 differs on ties and near them). */
  function round3(x) {
    var y = x * 1000;
    var n = Math.floor(y);
    var f = y - n;
    if (Math.abs(f - 0.5) > 1e-6) { return (f < 0.5 ? n : n + 1) / 1000; }
    var r = Number(x.toFixed(3));
    if ((x * 16) % 2 === 1) {  // an exact tie: toFixed rounded up, Python to even
      var m = Math.round(r * 1000);
      if (m % 2) { r = (m - 1) / 1000; }
    }
    return r;
  }

  api.round3 = round3;  // for tests: it must round as Python does

  function idf(df) {
    var x = (manifest.n - df + 0.5) / (df + 0.5);
    return Math.log(1 + Math.abs(x));
  }

  /* lunr's BM25 entry, with lunr.Builder's operations in its order, then lunr.py's rounding. */
  function score(weight, tf, length, f) {
    var s = weight * ((K1 + 1) * tf) / (K1 * (1 - B + B * (length / manifest.avg[f])) + tf);
    s *= manifest.fields[f][1];
    return round3(s);
  }

  function parse(text) {
    var query = new lunr.Query(manifest.fieldNames);
    new lunr.QueryParser(text, query).parse();
    return query;
  }

  /* What each clause's terms need: [{clause, like, from, to}] (to === null: every term). */
  function wants(query) {
    var pipeline = lunr.Pipeline.load(["stemmer"]);
    var found = [];
    query.clauses.forEach(function (clause) {
      var terms = clause.usePipeline ? pipeline.runString(clause.term, {fields: clause.fields}) : [clause.term];
      terms.forEach(function (term) {
        var star = term.indexOf("*");
        var like = {term: term};
        if ("editDistance" in clause) { like.editDistance = clause.editDistance; }
        if ("editDistance" in clause || star === 0) {
          found.push({clause: clause, like: like, from: "", to: null});
        } else if (star > 0) {
          var prefix = term.slice(0, star);
          found.push({clause: clause, like: like, from: prefix, to: prefix + "\uffff"});
        } else {
          found.push({clause: clause, like: like, from: term, to: term});
        }
      });
    });
    return found;
  }

  /* The terms of the index a clause matches, found as lunr would (TokenSet intersection). */
  function expand(want) {
    if (want.from === want.to) { return Promise.resolve([want.from]); }
    var loading = want.to === null ?
      Promise.all(manifest.groups.map(function (g) { return load(g[2]); }).concat(
        manifest.tails.map(function (t) { return load(t[1]); }))) :
      piecesFor(want.from, want.to);
    return loading.then(function (loaded) {
      var seen = dict();
      var candidates = [];
      loaded.forEach(function (piece) {
        piece.terms.forEach(function (entry) {
          var term = typeof entry === "string" ? entry : entry[0];
          if (!seen[term] && term >= want.from && (want.to === null || term <= want.to)) {
            seen[term] = true;
            candidates.push(term);
          }
        });
      });
      candidates.sort();
      var set = lunr.TokenSet.fromArray(candidates);
      return set.intersect(lunr.TokenSet.fromClause(want.like)).toArray();
    });
  }

  /* A query made ready to run: the postings of every term it matches, in lunr's order. */
  function prepare(text) {
    if (!preparedCache[text]) {
      preparedCache[text] = ready().then(function () {
        var query = parse(text);
        var needs = wants(query);
        return Promise.all(needs.map(expand)).then(function (lists) {
          var unique = dict();
          lists.forEach(function (list) { list.forEach(function (term) { unique[term] = true; }); });
          return Promise.all(Object.keys(unique).map(postings)).then(withLengths).then(function (found) {
            var byTerm = dict();
            found.forEach(function (t) { if (t) { byTerm[t.term] = t; } });
            needs.forEach(function (want, i) {
              want.terms = lists[i].filter(function (term) { return byTerm[term]; });
            });
            var terms = Object.keys(byTerm).map(function (t) { return byTerm[t]; });
            terms.sort(function (a, b) { return a.key - b.key; });
            var volume = 0;
            terms.forEach(function (t) { volume += t.df; });
            return {text: text, query: query, needs: needs, byTerm: byTerm, terms: terms,
                    volume: volume, negated: query.isNegated(), all: null};
          });
        });
      });
      preparedCache[text].catch(function () { delete preparedCache[text]; });
    }
    return preparedCache[text];
  }

  /* Fill in each posting's field length (the rest of lunr's BM25 entry), from the position
   * pieces of the papers the terms' postings name: a length is stored once a paper there,
   * not in each posting. Resolves to the terms given. */
  function withLengths(found) {
    var step = positionSize();
    var wanted = {};
    found.forEach(function (t) {
      if (!t) { return; }
      t.fields.forEach(function (field) {
        if (field.lengths) { return; }
        for (var i = 0; i < field.docs.length; i++) { wanted[Math.floor(field.docs[i] / step)] = true; }
      });
    });
    return positionPieces(wanted).then(function (loaded) {
      var sizes = {};
      loaded.forEach(function (pair) {
        var piece = pair[1];
        if (!piece.sizes) { piece.sizes = piece.lengths.map(function (text) { return Int32Array.from(unvlqs(text)); }); }
        sizes[pair[0]] = piece.sizes;
      });
      found.forEach(function (t) {
        if (!t) { return; }
        t.fields.forEach(function (field, f) {
          if (field.lengths) { return; }
          var out = new Int32Array(field.docs.length);
          for (var i = 0; i < out.length; i++) {
            var doc = field.docs[i];
            out[i] = sizes[Math.floor(doc / step)][f][doc % step];
          }
          field.lengths = out;
        });
      });
      return found;
    });
  }

  /* A term's lunr entries, field by field (computed once). */
  function entries(t) {
    if (!t.entries) {
      var weight = idf(t.df);
      t.entries = t.fields.map(function (field, f) {
        var out = new Float64Array(field.docs.length);
        for (var i = 0; i < out.length; i++) { out[i] = score(weight, field.tfs[i], field.lengths[i], f); }
        return out;
      });
    }
    return t.entries;
  }

  /* Build a lunr.Index of a prepared query's terms, every entry as lunr would have it, over
   * every paper or only those marked in ``only``. Terms go in lunr's number order, so every
   * vector's elements come out sorted. */
  function buildIndex(p, only) {
    var names = manifest.fieldNames;
    var inverted = Object.create(null);
    var elements = names.map(function () { return {}; });
    p.terms.forEach(function (t) {
      var posting = {_index: t.key};
      var values = entries(t);
      t.fields.forEach(function (field, f) {
        var docs = {};
        var byDoc = elements[f];
        var value = values[f];
        for (var i = 0; i < field.docs.length; i++) {
          var doc = field.docs[i];
          if (only && !only[doc]) { continue; }
          docs[doc] = EMPTY;
          (byDoc[doc] || (byDoc[doc] = [])).push(t.key, value[i]);
        }
        posting[names[f]] = docs;
      });
      inverted[t.term] = posting;
    });
    var vectors = {};
    if (p.negated && !only) {  // lunr then scores every paper: all their vectors, paper by paper
      for (var doc = 0; doc < manifest.n; doc++) {
        for (var f = 0; f < names.length; f++) {
          vectors[names[f] + "/" + doc] = new lunr.Vector(elements[f][doc] || []);
        }
      }
    } else {
      elements.forEach(function (byDoc, f) {
        Object.keys(byDoc).forEach(function (doc) {
          vectors[names[f] + "/" + doc] = new lunr.Vector(byDoc[doc]);
        });
      });
    }
    return new lunr.Index({
      invertedIndex: inverted,
      fieldVectors: vectors,
      tokenSet: lunr.TokenSet.fromArray(p.terms.map(function (t) { return t.term; }).sort()),
      fields: names,
      pipeline: lunr.Pipeline.load(["stemmer"])
    });
  }

  /* Run the query with lunr.js: ranked [{doc, score, terms}]. */
  function run(p, only) {
    return buildIndex(p, only).search(p.text).map(function (result) {
      return {doc: Number(result.ref), score: result.score, terms: Object.keys(result.matchData.metadata)};
    });
  }

  function complete(p) {
    p.all = p.all || run(p, null);
    return p.all;
  }

  /* Papers that may rank among the first k, found with lunr's scoring formula here (the sum
   * over fields of the query vector's dot product with the paper's, over its magnitude) and
   * lunr's required and prohibited clauses. lunr then ranks just these: the same scores, in
   * the same relative order, so its first k are those of the complete run. Returns {only,
   * valid} (valid: every paper the query matches at all). */
  function candidates(p, k, extra) {
    var names = manifest.fieldNames;
    var n = manifest.n;
    var boosts = names.map(function () { return {}; });
    var groups = [];
    var prohibited = [];
    p.needs.forEach(function (want) {
      var clause = want.clause;
      if (clause.presence === lunr.Query.presence.PROHIBITED) { prohibited.push(want); return; }
      if (clause.presence === lunr.Query.presence.REQUIRED) {
        var group = groups.filter(function (g) { return g.clause === clause; })[0];
        if (!group) { groups.push(group = {clause: clause, wants: []}); }
        group.wants.push(want);
      }
      want.terms.forEach(function (term) {
        var key = p.byTerm[term].key;
        clause.fields.forEach(function (name) {
          var q = boosts[names.indexOf(name)];
          q[key] = (q[key] || 0) + clause.boost;
        });
      });
    });
    var magnitudes = boosts.map(function (q) {
      var sum = 0;
      Object.keys(q).forEach(function (key) { sum += q[key] * q[key]; });
      return Math.sqrt(sum);
    });
    var estimate = new Float64Array(n);
    var seen = new Uint8Array(n);
    var found = [];
    p.terms.forEach(function (t) {
      var values = entries(t);
      t.fields.forEach(function (field, f) {
        var boost = boosts[f][t.key];
        for (var i = 0; i < field.docs.length; i++) {
          var doc = field.docs[i];
          if (boost !== undefined) {
            if (!seen[doc]) { seen[doc] = 1; found.push(doc); }
            estimate[doc] += boost * values[f][i] / magnitudes[f];
          }
        }
      });
    });
    function marks(list) {
      var mark = new Uint8Array(n);
      list.forEach(function (want) {
        want.terms.forEach(function (term) {
          var t = p.byTerm[term];
          want.clause.fields.forEach(function (name) {
            t.fields[names.indexOf(name)].docs.forEach(function (doc) { mark[doc] = 1; });
          });
        });
      });
      return mark;
    }
    var required = groups.map(function (g) { return marks(g.wants); });
    var banned = marks(prohibited);
    var valid = found.filter(function (doc) {
      return !banned[doc] && required.every(function (mark) { return mark[doc]; });
    });
    var only = new Uint8Array(n);
    var floor = -Infinity;
    if (valid.length > k) {
      var sorted = Float64Array.from(valid, function (doc) { return estimate[doc]; }).sort();
      floor = sorted[sorted.length - k];
    }
    floor -= Math.abs(floor) * 1e-6 + 1e-9;  // lunr sums in another order: keep every near tie
    valid.forEach(function (doc) { if (estimate[doc] >= floor) { only[doc] = 1; } });
    (extra || []).forEach(function (doc) { only[doc] = 1; });
    return {only: only, valid: valid};
  }

  /* Postings from which first results come from candidates first (tests set it to 0). */
  api.fastFrom = 4000;

  /* The first k of a query's ranked results, sooner than all of them when there are many. */
  function firstRun(p, k) {
    if (p.negated || p.all || p.volume < api.fastFrom) { return complete(p).slice(0, k); }
    return run(p, candidates(p, k).only).slice(0, k);
  }

  /* Run one lunr query string: Promise of {hits: ranked [{doc, score, terms}], postings}. */
  function hits(text) {
    return prepare(text).then(function (p) { return {hits: complete(p), postings: p.byTerm}; });
  }

  /* --- details ----------------------------------------------------------------------- */

  /* The numbers a VLQ string holds (see digest/site/lunr.py). */
  function unvlqs(text) {
    var values = [];
    var value = 0;
    var scale = 1;
    for (var i = 0; i < text.length; i++) {
      var digit = VALUE[text.charCodeAt(i)];
      value += (digit & 31) * scale;
      if (digit & 32) {
        scale *= 32;
      } else {
        values.push(value);
        value = 0;
        scale = 1;
      }
    }
    return values;
  }

  /* The manifest's days: [paper number of each day's first paper, its date], oldest first. */
  function dayTable(days) {
    var table = [];
    if (!days.first) { return table; }
    var parts = days.first.split("-");
    var time = Date.UTC(Number(parts[0]), Number(parts[1]) - 1, Number(parts[2]));
    var values = unvlqs(days.days);
    var start = 0;
    for (var k = 0; k < values.length; k += 2) {
      time += values[k] * 86400000;
      table.push([start, new Date(time).toISOString().slice(0, 10)]);
      start += values[k + 1];
    }
    return table;
  }

  function positionSize() {
    return manifest.positionDocs;
  }

  /* A paper's details are in the file of its day and its rank that day over the papers a
   * file holds (one file serves the results among them), fetched with the version of its
   * block (so that a browser fetches it again once it changed). */
  function details(doc) {
    if (!detailsCache[doc]) {
      var day = row(manifest.dayTable, doc);
      var version = row(manifest.versions, doc)[1];
      var rank = doc - day[0];
      var size = manifest.detailsDocs;
      var name = "d/" + day[1] + "-" + Math.floor(rank / size);
      detailsCache[doc] = load(name, version).then(function (group) {
        var data = group[rank % size];
        return {ref: data[0], title: data[1], abstract: data[2], themes: data[3], authors: data[4],
                date: day[1], url: root() + "papers/" + data[0] + ".html"};
      });
      detailsCache[doc].catch(function () { delete detailsCache[doc]; });
    }
    return detailsCache[doc];
  }

  /* The site's root, relative to this page (links in results stay relative, as on the site):
   * the header form names the assets folder; without it, from where the pieces load. */
  function root() {
    var form = document.querySelector("form[data-assets]");
    var assets = form ? form.getAttribute("data-assets") : null;
    return assets !== null ? assets.replace(/assets$/, "") : base.replace(/assets\/search\/$/, "");
  }

  /* The position pieces numbered by the keys of ``wanted``, as [number, piece] pairs. */
  function positionPieces(wanted) {
    return Promise.all(Object.keys(wanted).map(function (k) {
      return load(manifest.positions[k]).then(function (piece) { return [Number(k), piece]; });
    }));
  }

  /* Theme slugs of papers, from the position pieces ("other" for papers with none). */
  function themesOf(docs) {
    var step = positionSize();
    var wanted = {};
    docs.forEach(function (doc) { wanted[Math.floor(doc / step)] = true; });
    return positionPieces(wanted).then(function (loaded) {
      var members = {};
      loaded.forEach(function (pair) {
        var offset = pair[0] * step;
        Object.keys(pair[1].themes).forEach(function (slug) {
          var at = -1;
          unvlqs(pair[1].themes[slug]).forEach(function (gap) {
            at += gap + 1;
            (members[offset + at] || (members[offset + at] = [])).push(slug);
          });
        });
      });
      var found = {};
      docs.forEach(function (doc) { found[doc] = members[doc] || ["other"]; });
      return found;
    });
  }

  /* Complete ranked results, with details for the first options.details of them. */
  function withDetails(ranked, options) {
    var count = options && options.details !== undefined ? options.details : ranked.length;
    var shown = ranked.slice(0, count);
    return Promise.all(shown.map(function (hit) { return details(hit.doc); })).then(function (found) {
      return ranked.map(function (hit, i) {
        var result = {doc: hit.doc, score: hit.score, terms: hit.terms, group: hit.group};
        var info = found[i];
        if (info) {
          Object.keys(info).forEach(function (k) { result[k] = info[k]; });
        }
        return result;
      });
    });
  }

  api.lunr = function (text, options) {
    var k = options && options.first;
    return prepare(text).then(function (p) {
      return withDetails(k ? firstRun(p, k) : complete(p), options);
    });
  };

  /* --- the search box: every word first, a phrase in the title before them ---------- */

  /* The plain words of a query ({word, at, term, stop}), or null if it uses lunr syntax. */
  function plainWords(text) {
    if (SYNTAX.test(text)) { return null; }
    var found = [];
    var stem = lunr.Pipeline.load(["stemmer"]);
    text.toLowerCase().split(/[\s\-]+/).filter(Boolean).forEach(function (token, at) {
      var match = TRIM.exec(token);
      var word = match ? match[1] : token;
      if (!word) { return; }
      var stop = !lunr.stopWordFilter(new lunr.Token(word));
      found.push({word: word, at: at, term: stem.runString(word)[0], stop: stop});
    });
    return found;
  }

  /* Title positions of a term by paper (computed once). */
  function titleAt(t) {
    if (!t.titleAt) {
      t.titleAt = {};
      var title = t.fields[0];
      for (var i = 0; i < title.docs.length; i++) { t.titleAt[title.docs[i]] = title.positions[i]; }
    }
    return t.titleAt;
  }

  function phraseInTitle(doc, words, byTerm) {
    var first = byTerm[words[0].term];
    var starts = first && titleAt(first)[doc];
    if (!starts) { return false; }
    return starts.some(function (p) {
      return words.every(function (w) {
        var t = byTerm[w.term];
        var at = t && titleAt(t)[doc];
        return at && at.indexOf(p + w.at - words[0].at) !== -1;
      });
    });
  }

  /* How the search box asks: null for a query in lunr's syntax or of one word, else the
   * query for papers with every word, the words (for phrases), and the query as typed. */
  function plan(text) {
    var words = plainWords(text);
    var content = words ? words.filter(function (w) { return !w.stop; }) : [];
    if (!words || content.length < 2) { return null; }
    return {every: content.map(function (w) { return "+" + w.word; }).join(" "), words: content, text: text};
  }

  function grouped(all, some, words) {
    var seen = {};
    var phrase = [];
    var rest = [];
    all.hits.forEach(function (hit) {
      seen[hit.doc] = true;
      var inTitle = phraseInTitle(hit.doc, words, all.byTerm);
      (inTitle ? phrase : rest).push({doc: hit.doc, score: hit.score, terms: hit.terms, group: inTitle ? "phrase" : "all"});
    });
    var others = some.hits.filter(function (hit) { return !seen[hit.doc]; }).map(function (hit) {
      return {doc: hit.doc, score: hit.score, terms: hit.terms, group: "some"};
    });
    return phrase.concat(rest, others);
  }

  /* Words as the index holds them: a query in plain words loses the punctuation around them
   * ("quantization," or "(NeRF)" finds what quantization and nerf find), as lunr.py's trimmer
   * took it off the indexed text; a query in lunr's syntax runs as written. */
  function plainText(text) {
    var words = plainWords(text);
    return words && words.length ? words.map(function (w) { return w.word; }).join(" ") : text;
  }

  /* Every result, ranked as the search box ranks them. */
  function ranked(text) {
    text = plainText(text);
    var asked = plan(text);
    if (!asked) { return hits(text).then(function (found) { return found.hits; }); }
    return Promise.all([prepare(asked.every), prepare(text)]).then(function (both) {
      return grouped({hits: complete(both[0]), byTerm: both[0].byTerm}, {hits: complete(both[1])}, asked.words);
    });
  }

  /* The first k of those, sooner: lunr ranks candidates first (see candidates()). The papers
   * with the phrase in their title all are candidates, and so are the first k of the others. */
  function rankedFirst(text, k) {
    text = plainText(text);
    var asked = plan(text);
    if (!asked) { return prepare(text).then(function (p) { return firstRun(p, k); }); }
    return Promise.all([prepare(asked.every), prepare(text)]).then(function (both) {
      var every = both[0];
      var some = both[1];
      if (every.all || every.volume + some.volume < api.fastFrom) { return null; }
      var chosen = candidates(every, k);
      var phrase = chosen.valid.filter(function (doc) { return phraseInTitle(doc, asked.words, every.byTerm); });
      phrase.forEach(function (doc) { chosen.only[doc] = 1; });
      var all = {hits: run(every, chosen.only), byTerm: every.byTerm};
      var first = grouped(all, {hits: []}, asked.words);
      if (chosen.valid.length < k) {
        var inAll = {};
        chosen.valid.forEach(function (doc) { inAll[doc] = true; });
        var others = run(some, candidates(some, k).only).filter(function (hit) { return !inAll[hit.doc]; });
        first = grouped(all, {hits: others}, asked.words);
      }
      return first.slice(0, k);
    }).then(function (first) {
      return first || ranked(text).then(function (found) { return found.slice(0, k); });
    });
  }

  api.query = function (text, options) {
    var k = options && options.first;
    return ready().then(function () { return k ? rankedFirst(text, k) : ranked(text); }).then(function (found) {
      return withDetails(found, options);
    });
  };

  /* --- snippets and highlighting --------------------------------------------------- */

  var SNIPPET = 220;

  function stemOf(word) {
    var core = /[\p{L}\p{N}_](?:[\s\S]*[\p{L}\p{N}_])?/u.exec(word);
    if (!core) { return null; }
    return {core: core[0], index: core.index, stem: lunr.stemmer(new lunr.Token(core[0].toLowerCase())).toString()};
  }

  function matches(word, terms) {
    var found = stemOf(word);
    return found && (terms[found.stem] || terms[found.core.toLowerCase()]) ? found : null;
  }

  /* The part of an abstract around its first matched word, cut at word boundaries. */
  function snippet(text, terms) {
    text = text.replace(/\s+/g, " ").trim();
    if (text.length <= SNIPPET) { return text; }
    var word = /[^\s\-]+/g;
    var match;
    var at = -1;
    while ((match = word.exec(text)) !== null) {
      if (matches(match[0], terms)) { at = match.index; break; }
    }
    var start = at < 0 ? 0 : Math.max(0, at - Math.floor(SNIPPET / 3));
    if (start > 0) {
      var space = text.indexOf(" ", start);
      start = space < 0 || space > at ? start : space + 1;
    }
    var end = Math.min(text.length, start + SNIPPET);
    if (end < text.length) {
      var cut = text.lastIndexOf(" ", end);
      end = cut > start ? cut : end;
    }
    return (start > 0 ? "\u2026" : "") + text.slice(start, end) + (end < text.length ? "\u2026" : "");
  }

  /* Append text to parent, wrapping words whose lunr stem matched in <mark>. */
  function highlight(parent, text, terms) {
    var word = /[^\s\-]+/g;
    var last = 0;
    var match;
    while ((match = word.exec(text)) !== null) {
      var found = matches(match[0], terms);
      if (!found) { continue; }
      var start = match.index + found.index;
      parent.appendChild(document.createTextNode(text.slice(last, start)));
      var mark = document.createElement("mark");
      mark.textContent = found.core;
      parent.appendChild(mark);
      last = start + found.core.length;
    }
    parent.appendChild(document.createTextNode(text.slice(last)));
  }

  function termSet(result) {
    var set = dict();
    (result.terms || []).forEach(function (t) { set[t] = true; });
    return set;
  }


  /* --- the search page ------------------------------------------------------------- */

  var PAGE = 50;
  var FIRST = 10;
  var DEBOUNCE_MS = 120;
  var MERGE_PUSH_MS = 1000;
  var MONTHS = ["Jan", "Feb", "Mar", "Apr", "May", "Jun", "Jul", "Aug", "Sep", "Oct", "Nov", "Dec"];
  var el = {};
  var state = {query: "", filters: [], limit: PAGE, results: [], themes: {}, error: null, failed: false,
               lastPush: 0, timer: null, run: 0, done: false};
  var themeNames = {};

  function startPage() {
    el.results = document.getElementById("search-results");
    if (!el.results) { startHeader(); return; }
    el.input = document.getElementById("search-page-q");
    el.header = document.getElementById("site-search");
    el.status = document.getElementById("search-status");
    el.filters = document.getElementById("search-filters");
    el.suggest = document.getElementById("search-suggest");
    el.more = document.getElementById("search-more");
    ready().then(function () {
      manifest.themes.forEach(function (t) { themeNames[t.slug] = t.name; });
      var typed = el.input ? el.input.value.trim() : "";  // before the index arrived
      wire();
      readUrl();
      if (typed && typed !== state.query) {
        syncBoxes(typed, null);
        setQuery(typed, false);  // what was typed wins over the address it was typed on
        return;
      }
      update();
    }, function () { state.failed = true; render(); });
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
    el.more.addEventListener("click", function () { state.limit += PAGE; update(); });
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
    var value = (box ? box.value : state.query).trim();
    if (value !== state.query) {
      setQuery(value, false);
      state.openFirst = true;
      return;
    }
    openFirst();
  }

  function openFirst() {
    state.openFirst = false;
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
    state.openFirst = false;  // Enter opens the first result of what it was pressed for
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

  /* Search, then render: the first results as soon as lunr ranked candidates (when there are
   * many results) and their details are in, then every result and the page; theme counts once
   * the theme pieces are in (first, when a filter needs them to pick what to show). */
  function update() {
    var run = ++state.run;
    /* The same query again (Show more, a filter, Back): the list stays until the new one is
     * complete, rather than shrinking to the first ten and growing again. */
    var again = state.query === state.shownQuery && state.results.length > 0;
    state.done = false;
    state.error = null;
    state.failed = false;  // a piece that failed to load is tried again
    state.themes = {};
    if (!again) { state.results = []; }
    if (!state.query) { state.done = true; render(); return; }
    if (tooBroad(state.query)) {
      state.done = true;
      state.error = new Error("a lone * matches every paper; add a letter or two");
      state.results = [];
      render();
      return;
    }
    render();
    var current = function () { return run === state.run; };
    var first = state.filters.length || again ? Promise.resolve() :
      Promise.resolve().then(function () {
        return rankedFirst(state.query, Math.min(FIRST, state.limit));
      }).then(function (found) {
        return current() && withDetails(found, {details: found.length});
      }).then(function (shown) {
        if (shown && current() && !state.done) { state.results = shown; render(); }
      });
    first.then(nextFrame).then(function () {
      return current() ? ranked(state.query) : null;
    }).then(function (found) {
      if (!found || !current()) { return null; }
      state.total = found.length;
      var themes = null;
      function loadThemes() {
        themes = themes || themesOf(found.map(function (h) { return h.doc; })).then(function (t) {
          if (current()) { state.themes = t; }
          return t;
        });
        return themes;
      }
      var shown = state.filters.length ? loadThemes().then(function () { return filtered(found); }) : found;
      return Promise.resolve(shown).then(function (list) {
        return Promise.all([withDetails(list, {details: state.limit}), loadThemes()]);
      });
    }).then(function (both) {
      if (!both || !current()) { return; }
      state.results = both[0];
      state.shownQuery = state.query;
      state.done = true;
      render();
      if (state.openFirst) { openFirst(); }
    }, function (err) {
      if (!current()) { return; }
      if (err instanceof lunr.QueryParseError) { state.error = err; } else { state.failed = true; state.error = err; }
      state.results = [];
      state.shownQuery = null;
      state.done = true;
      render();
    });
  }

  /* Let the browser paint (first results) before a long run of lunr. */
  function nextFrame() {
    return new Promise(function (resolve) {
      var done = false;
      var go = function () { if (!done) { done = true; setTimeout(resolve, 0); } };
      requestAnimationFrame(go);
      setTimeout(go, 100);  // no frames in a hidden tab
    });
  }

  function filtered(found) {
    if (!state.filters.length) { return found; }
    return found.filter(function (hit) {
      return (state.themes[hit.doc] || []).some(function (s) { return state.filters.indexOf(s) !== -1; });
    });
  }

  function render() {
    var total = manifest ? manifest.n : 0;
    clear(el.suggest);
    el.suggest.hidden = true;
    el.more.hidden = true;
    el.filters.style.display = state.failed ? "none" : "";  // they cannot work without the index
    if (state.failed) {
      clear(el.results);
      setStatus("The search index could not be loaded; browse the archive or the themes instead.");
      return;
    }
    if (!state.query) {
      clear(el.results);
      renderFilters([]);
      setStatus("Type to search " + count(total, "paper") + ".");
      return;
    }
    if (state.error) {
      clear(el.results);
      renderFilters([]);
      setStatus(friendly(state.error));
      return;
    }
    if (!state.results.length && !state.done) { setStatus("Searching\u2026"); return; }
    var shown = state.results;
    renderFilters(Object.keys(state.themes).map(Number));
    clear(el.results);
    if (state.done) {
      var status = count(shown.length, "paper") + (shown.length === 1 ? " matches " : " match ") + quoted(state.query);
      if (state.filters.length) { status += " in the chosen themes (" + state.total + " in all)"; }
      setStatus(status + ".");
    } else {
      setStatus("First results for " + quoted(state.query) + "; loading the rest\u2026");
    }
    shown.slice(0, state.limit).forEach(function (hit) {
      if (hit.title !== undefined) { el.results.appendChild(resultItem(hit)); }
    });
    el.more.hidden = !state.done || shown.length <= state.limit;
    if (!shown.length && state.done) { suggest(); }
    if (shown.length && api.firstResultsAt === null) { api.firstResultsAt = performance.now(); }
    if (state.done && api.completeResultsAt === null) { api.completeResultsAt = performance.now(); }
  }

  function renderFilters(docs) {
    var counts = {};
    docs.forEach(function (doc) {
      (state.themes[doc] || []).forEach(function (s) { counts[s] = (counts[s] || 0) + 1; });
    });
    var legend = el.filters.querySelector("legend");
    clear(el.filters);
    el.filters.appendChild(legend);
    manifest.themes.forEach(function (theme) {
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
      n.textContent = state.query ? String(counts[theme.slug] || 0) : "";
      label.appendChild(n);
      el.filters.appendChild(label);
    });
  }

  function onFilter(event) {
    var slug = event.target.value;
    state.filters = state.filters.filter(function (s) { return s !== slug; });
    if (event.target.checked) { state.filters.push(slug); }
    state.limit = PAGE;
    writeUrl(false);
    update();
  }

  function resultItem(hit) {
    var terms = termSet(hit);
    var li = document.createElement("li");
    li.className = "search-result";
    var heading = document.createElement("h2");
    heading.className = "paper-title";
    var link = document.createElement("a");
    link.className = "result-link";
    link.href = hit.url;
    highlight(link, hit.title, terms);
    heading.appendChild(link);
    li.appendChild(heading);
    var meta = document.createElement("p");
    meta.className = "meta";
    var time = document.createElement("time");
    time.dateTime = hit.date;
    time.textContent = shortDate(hit.date);
    meta.appendChild(time);
    if (hit.authors) { meta.appendChild(document.createTextNode(" \u00b7 " + hit.authors)); }
    li.appendChild(meta);
    li.appendChild(badges(hit.themes));
    var text = document.createElement("p");
    text.className = "snippet";
    highlight(text, snippet(hit.abstract, terms), terms);
    li.appendChild(text);
    return li;
  }

  function badges(slugs) {
    var ul = document.createElement("ul");
    ul.className = "badges";
    (slugs.length ? slugs : ["other"]).forEach(function (slug) {
      var li = document.createElement("li");
      var a = document.createElement("a");
      a.className = "badge badge-" + slug;
      a.href = root() + "themes/" + encodeURIComponent(slug) + ".html";
      a.textContent = themeNames[slug] || slug;
      li.appendChild(a);
      ul.appendChild(li);
    });
    return ul;
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
    el.suggest.appendChild(themeLinks());
    var run = state.run;
    var candidates = alternatives(state.query);
    (function next(i) {
      if (i >= candidates.length || run !== state.run) { return; }
      hits(candidates[i]).then(function (found) {
        if (run !== state.run) { return; }
        if (!found.hits.length) { next(i + 1); return; }
        offer(candidates[i], found.hits.length);
      }, function () { next(i + 1); });
    })(0);
  }

  function offer(query, n) {
    var q = document.createElement("p");
    q.appendChild(document.createTextNode("A looser search finds " + count(n, "paper") + ": "));
    var a = document.createElement("a");
    a.href = "?q=" + encodeURIComponent(query);
    a.textContent = query;
    a.addEventListener("click", function (event) {
      event.preventDefault();
      syncBoxes(query, null);
      setQuery(query, false);
    });
    q.appendChild(a);
    el.suggest.insertBefore(q, el.suggest.lastChild);
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

  function themeLinks() {
    var p = document.createElement("p");
    p.appendChild(document.createTextNode("Or browse a theme: "));
    manifest.themes.forEach(function (theme, i) {
      if (i) { p.appendChild(document.createTextNode(" \u00b7 ")); }
      var a = document.createElement("a");
      a.href = root() + "themes/" + encodeURIComponent(theme.slug) + ".html";
      a.textContent = theme.name;
      p.appendChild(a);
    });
    return p;
  }

  /* A wildcard with no letter or digit ("*", "+*", "title:*") matches every term, so the whole
   * index would download. The search boxes ask for a word instead; digestSearch.query and
   * digestSearch.lunr still run it as asked. */
  function tooBroad(text) {
    return text.indexOf("*") !== -1 && !/[\p{L}\p{N}]/u.test(text.replace(/[\p{L}\p{N}_]+:/gu, ""));
  }

  function friendly(err) {
    var detail = err && err.message ? " (" + err.message + ")" : "";
    if (typeof lunr !== "undefined" && err instanceof lunr.QueryParseError) {
      return "That query could not be read" + detail + ". Put a word after \u201c+\u201d, \u201c-\u201d " +
        "or a field such as \u201ctitle:\u201d; fields are " + manifest.fieldNames.join(", ") + ".";
    }
    return "That query could not be run" + detail + ". Try plain words.";
  }

  /* --- the header box on every other page: live results under it ------------------ */

  var HEADER_RESULTS = 8;

  function startHeader() {
    var box = document.getElementById("site-search");
    if (!box) { return; }
    var list = document.getElementById("site-search-results");
    if (!list) { return; }
    var timer = null;
    var run = 0;
    box.addEventListener("input", function () {
      clearTimeout(timer);
      timer = setTimeout(show, DEBOUNCE_MS);
    });
    box.addEventListener("keydown", function (event) {
      if (event.key === "ArrowDown" && list.firstChild) {
        event.preventDefault();
        list.querySelector("a").focus();
      } else if (event.key === "Escape") {
        list.hidden = true;
      }
    });
    list.addEventListener("keydown", function (event) {
      var links = Array.prototype.slice.call(list.querySelectorAll("a"));
      var i = links.indexOf(document.activeElement);
      if (event.key === "ArrowDown" && i < links.length - 1) { event.preventDefault(); links[i + 1].focus(); }
      if (event.key === "ArrowUp") { event.preventDefault(); (i > 0 ? links[i - 1] : box).focus(); }
      if (event.key === "Escape") { list.hidden = true; box.focus(); }
    });
    if (box.value.trim()) { show(); }  // typed before this script arrived
    function show() {
      var text = box.value.trim();
      var mine = ++run;
      if (!text || tooBroad(text)) { clear(list); list.hidden = true; return; }
      api.query(text, {details: HEADER_RESULTS}).then(function (found) {
        if (mine !== run) { return; }
        clear(list);
        found.slice(0, HEADER_RESULTS).forEach(function (hit) { list.appendChild(headerItem(hit)); });
        var all = document.createElement("li");
        all.className = "search-all";
        var a = document.createElement("a");
        a.href = box.form.getAttribute("action") + "?q=" + encodeURIComponent(text);
        a.textContent = found.length ? "All " + count(found.length, "result") + " \u2192" : "No paper matches " + quoted(text);
        all.appendChild(a);
        list.appendChild(all);
        list.hidden = false;
        if (api.firstResultsAt === null && found.length) { api.firstResultsAt = performance.now(); }
      }, function (err) {
        if (mine !== run) { return; }
        clear(list);
        var li = document.createElement("li");
        li.className = "search-all";
        li.textContent = err instanceof lunr.QueryParseError ? "That query could not be read." : "Search is unavailable.";
        list.appendChild(li);
        list.hidden = false;
      });
    }
  }

  function headerItem(hit) {
    var li = document.createElement("li");
    var a = document.createElement("a");
    a.href = hit.url;
    highlight(a, hit.title, termSet(hit));
    var time = document.createElement("time");
    time.dateTime = hit.date;
    time.textContent = shortDate(hit.date);
    a.appendChild(document.createTextNode(" "));
    a.appendChild(time);
    li.appendChild(a);
    return li;
  }

  /* --- small helpers ---------------------------------------------------------------- */

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

  if (document.readyState === "loading") {
    document.addEventListener("DOMContentLoaded", startPage);
  } else {
    startPage();
  }
})();
