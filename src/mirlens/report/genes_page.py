"""Style and script of the gene report page (:mod:`mirlens.report.genes`), inlined into the HTML.

The script is plain JavaScript (no library, no network): it reads the page's data (a JSON block, columnar arrays,
see :func:`mirlens.report.genes.page_data`), keeps the rows of the chosen miRNA that pass the filters, sorts them,
and draws one page of rows at a time; a click on a row draws that gene's panel (the UTR to scale with its sites,
then per site with details the duplex and the attributions). Every string from the data goes into the page as
text (``textContent``), never as markup.
"""

CSS = r"""
:root{--fg:#222;--muted:#666;--line:#ddd;--accent:#0b5cab}
*{box-sizing:border-box}
body{font-family:system-ui,-apple-system,"Segoe UI",Helvetica,Arial,sans-serif;margin:0 auto;max-width:1320px;
padding:.8em 1.6em 3em;color:var(--fg);line-height:1.4;font-size:15px}
h1{font-size:1.5em;margin:.2em 0}h2{font-size:1.15em;margin:1.2em 0 .4em;border-bottom:2px solid var(--line);
padding-bottom:.2em}h3{font-size:1em;margin:.6em 0 .2em}
.meta{color:#444;font-size:.88em}.muted{color:var(--muted)}
pre{background:#f6f8fa;padding:.5em .7em;overflow-x:auto;font-size:.82em;margin:.3em 0}
pre.cmd{white-space:pre-wrap;word-break:break-all}
header .grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(300px,1fr));gap:.2em 2em}
header ul{margin:.2em 0;padding-left:1.2em}
.howto{background:#f3f7fc;border-left:4px solid var(--accent);padding:.5em .9em;font-size:.9em;margin:.8em 0}
.controls{display:flex;flex-wrap:wrap;gap:.6em 1.2em;align-items:center;margin:.6em 0;font-size:.92em}
.controls input[type=search]{width:16em;padding:.25em .4em}
.controls button{padding:.2em .7em}
#status{color:#444}
table.genes{border-collapse:collapse;width:100%;font-size:.86em}
table.genes th,table.genes td{border-bottom:1px solid #e3e3e3;padding:3px 6px;text-align:right;white-space:nowrap}
table.genes th{background:#f3f3f3;cursor:pointer;user-select:none}
table.genes th.text,table.genes td.text{text-align:left}
table.genes th[aria-sort=ascending]::after{content:" \25B2";font-size:.75em}
table.genes th[aria-sort=descending]::after{content:" \25BC";font-size:.75em}
table.genes tbody tr{cursor:pointer}table.genes tbody tr:hover{background:#f5f9ff}
table.genes tbody tr.selected{background:#e3efff}
td.num{font-variant-numeric:tabular-nums}
.gid{color:var(--muted);font-size:.85em;margin-left:.4em}
.yes{color:#1a7f37;font-weight:600}
#panel{margin-top:1em;border-top:3px solid var(--accent);padding-top:.3em}
.facts{font-size:.9em;color:#333}.facts span{margin-right:1.2em}
.legend{display:flex;flex-wrap:wrap;gap:.3em 1.1em;font-size:.82em;color:#333;margin:.2em 0 .4em}
.legend i{display:inline-block;width:.8em;height:.8em;border-radius:50%;margin-right:.3em;vertical-align:-.05em}
svg text{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace}
svg.utr{width:100%;height:auto;max-width:1100px;display:block}
.site{cursor:default}
.sites{display:grid;grid-template-columns:repeat(auto-fill,minmax(580px,1fr));gap:1em}
.card{border:1px solid #e1e4e8;border-radius:6px;padding:.4em .7em;min-width:0;overflow-x:auto}
.card h3{font-size:.92em}.card .meta{margin:.1em 0 .3em}
pre.duplex{font-family:ui-monospace,SFMono-Regular,Menlo,Consolas,monospace;font-size:.85em;line-height:1.25}
.note{font-size:.86em;color:#7a4b00;background:#fff8e5;padding:.3em .6em;border-radius:4px;display:inline-block}
"""

JS = r"""
(function () {
  "use strict";
  var D = JSON.parse(document.getElementById("mirlens-data").textContent);
  var G = D.genes, S = D.sites, TYPES = D.types, COLORS = D.colors;
  var N = G.mirna.length;
  // per site: start / end from the anchor (the nucleotides facing miRNA positions 8..1), gene, details
  var NS = S.anchor.length;
  S.start = new Array(NS); S.end = new Array(NS); S.detail = new Array(NS);
  G.site_first = new Array(N); G.site_hidden = new Array(N);
  for (var gi = 0, at = 0; gi < N; gi++) {
    G.site_first[gi] = at;
    var total = 0;
    for (var tk = 0; tk < G.counts.length; tk++) total += G.counts[tk][gi];
    G.site_hidden[gi] = Math.max(0, total - G.site_count[gi]);
    for (var sk = at; sk < at + G.site_count[gi]; sk++) {
      S.start[sk] = Math.max(S.anchor[sk] - 7, 0) + 1;
      S.end[sk] = Math.min(S.anchor[sk] + 1, G.utr_length[gi]);
      S.detail[sk] = -1;
    }
    at += G.site_count[gi];
  }
  D.details.forEach(function (d, k) {
    S.detail[d.site] = k;
    var f = d.scale / D.info.attribution_steps;
    d.mirna_attribution = d.mirna_attribution.map(function (q) { return q * f; });
    d.target_attribution = d.target_attribution.map(function (q) { return q * f; });
  });
  var SVGNS = "http://www.w3.org/2000/svg";
  var state = {mirna: D.default_mirna, filter: "", targetsOnly: false, sortKey: "probability", sortDir: -1,
               page: 0, pageSize: 50, selected: -1};
  var rows = [];

  function el(tag, attrs, text) {
    var e = document.createElement(tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function sv(tag, attrs, text) {
    var e = document.createElementNS(SVGNS, tag);
    if (attrs) for (var k in attrs) e.setAttribute(k, attrs[k]);
    if (text !== undefined && text !== null) e.textContent = String(text);
    return e;
  }
  function fmt(v, nd) {
    if (v === null || v === undefined || (typeof v === "number" && isNaN(v))) return "NA";
    return Number(v).toFixed(nd);
  }
  function grp(n) { return Number(n).toLocaleString("en-US"); }
  function geneLabel(i) {
    return (G.gene_name && G.gene_name[i]) || (G.gene_id && G.gene_id[i]) || G.target_id[i];
  }
  function geneIds(i) {
    var ids = [];
    if (G.gene_name && G.gene_name[i] && G.gene_id && G.gene_id[i]) ids.push(G.gene_id[i]);
    if (G.target_id[i] !== geneLabel(i) && ids.indexOf(G.target_id[i]) < 0) ids.push(G.target_id[i]);
    if (G.transcript_id && G.transcript_id[i] && ids.indexOf(G.transcript_id[i]) < 0 &&
        G.transcript_id[i] !== geneLabel(i)) ids.push(G.transcript_id[i]);
    return ids.join(" ");
  }
  var search = new Array(N);
  for (var i = 0; i < N; i++) search[i] = (geneLabel(i) + " " + geneIds(i)).toLowerCase();

  var COLUMNS = [
    {key: "rank", label: "rank", get: function (i) { return G.rank[i]; }, num: true, dir: 1},
    {key: "gene", label: "gene", get: function (i) { return geneLabel(i).toLowerCase(); }, text: true, dir: 1,
     cell: function (td, i) {
       td.appendChild(el("b", null, geneLabel(i)));
       var ids = geneIds(i);
       if (ids) td.appendChild(el("span", {"class": "gid"}, ids));
     }},
    {key: "mirna", label: "miRNA", get: function (i) { return D.mirnas[G.mirna[i]]; }, text: true, dir: 1},
    {key: "ranking_score", label: "ranking score", get: function (i) { return G.ranking_score[i]; }, num: true,
     dir: -1, show: function (i) { return fmt(G.ranking_score[i], 3); }},
    {key: "probability", label: "probability", get: function (i) { return G.probability[i]; }, num: true, dir: -1,
     show: function (i) { return fmt(G.probability[i], 3); }},
    {key: "is_target", label: "target", get: function (i) { return G.is_target[i]; }, num: true, dir: -1,
     cell: function (td, i) { if (G.is_target[i]) { td.className += " yes"; td.textContent = "yes"; } }}
  ];
  TYPES.forEach(function (t, k) {
    COLUMNS.push({key: "n" + k, label: t === "noncanonical" ? "non-can." : t,
                  get: function (i) { return G.counts[k][i]; }, num: true, dir: -1});
  });
  COLUMNS.push({key: "utr_length", label: "UTR nt", get: function (i) { return G.utr_length[i]; }, num: true,
                dir: -1, show: function (i) { return grp(G.utr_length[i]); }});
  COLUMNS.push({key: "best_site_logit", label: "best logit", get: function (i) {
    var v = G.best_site_logit[i]; return v === null ? -Infinity : v; }, num: true, dir: -1,
    show: function (i) { return fmt(G.best_site_logit[i], 2); }});
  if (G.label) COLUMNS.push({key: "label", label: "label", get: function (i) {
    var v = G.label[i]; return v === null ? -Infinity : v; }, num: true, dir: -1,
    show: function (i) { return G.label[i] === null ? "" : G.label[i]; }});
  var byKey = {};
  COLUMNS.forEach(function (c) { byKey[c.key] = c; });

  function compute() {
    var f = state.filter.trim().toLowerCase(), m = state.mirna, only = state.targetsOnly;
    var out = [];
    for (var i = 0; i < N; i++) {
      if (m >= 0 && G.mirna[i] !== m) continue;
      if (only && !G.is_target[i]) continue;
      if (f && search[i].indexOf(f) < 0) continue;
      out.push(i);
    }
    var col = byKey[state.sortKey], dir = state.sortDir, get = col.get;
    var score = G.ranking_score, rank = G.rank;
    out.sort(function (a, b) {
      var x = get(a), y = get(b);
      if (x < y) return -dir;
      if (x > y) return dir;
      if (score[a] !== score[b]) return score[b] - score[a];
      return rank[a] - rank[b] || a - b;
    });
    rows = out;
    var pages = Math.max(1, Math.ceil(rows.length / state.pageSize));
    if (state.page >= pages) state.page = pages - 1;
  }

  var thead = document.querySelector("#genes thead tr"), tbody = document.querySelector("#genes tbody");
  COLUMNS.forEach(function (c) {
    var th = el("th", {"data-key": c.key, "class": c.text ? "text" : "", title: "sort by " + c.label}, c.label);
    th.addEventListener("click", function () {
      if (state.sortKey === c.key) state.sortDir = -state.sortDir;
      else { state.sortKey = c.key; state.sortDir = c.dir; }
      state.page = 0; update();
    });
    thead.appendChild(th);
  });

  function draw() {
    var ths = thead.children;
    for (var k = 0; k < ths.length; k++) {
      var key = ths[k].getAttribute("data-key");
      if (key === state.sortKey) ths[k].setAttribute("aria-sort", state.sortDir > 0 ? "ascending" : "descending");
      else ths[k].removeAttribute("aria-sort");
    }
    var from = state.page * state.pageSize, to = Math.min(rows.length, from + state.pageSize);
    var frag = document.createDocumentFragment();
    for (var r = from; r < to; r++) {
      var i = rows[r], tr = el("tr", {"data-row": i, tabindex: "0"});
      if (i === state.selected) tr.className = "selected";
      COLUMNS.forEach(function (c) {
        var td = el("td", {"class": (c.text ? "text" : "num")});
        if (c.cell) c.cell(td, i);
        else td.textContent = c.show ? c.show(i) : String(c.get(i));
        tr.appendChild(td);
      });
      frag.appendChild(tr);
    }
    tbody.textContent = "";
    tbody.appendChild(frag);
    var pages = Math.max(1, Math.ceil(rows.length / state.pageSize));
    document.getElementById("status").textContent = rows.length ?
      "genes " + grp(from + 1) + "\u2013" + grp(to) + " of " + grp(rows.length) + " (page " + (state.page + 1) +
      " of " + grp(pages) + ")" : "no gene matches";
    document.getElementById("prev").disabled = state.page === 0;
    document.getElementById("next").disabled = state.page >= pages - 1;
  }
  function update() { compute(); draw(); }

  tbody.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter" && ev.target.closest("tr")) ev.target.closest("tr").click();
  });
  tbody.addEventListener("click", function (ev) {
    var tr = ev.target.closest("tr");
    if (!tr) return;
    state.selected = Number(tr.getAttribute("data-row"));
    var old = tbody.querySelector("tr.selected");
    if (old) old.className = "";
    tr.className = "selected";
    showGene(state.selected);
  });

  var sel = document.getElementById("mirna");
  if (D.mirnas.length > 1) sel.appendChild(el("option", {value: "-1"}, "all miRNAs (" + grp(N) + " rows)"));
  var perMirna = D.mirnas.map(function () { return 0; });
  for (var j = 0; j < N; j++) perMirna[G.mirna[j]]++;
  D.mirnas.forEach(function (m, k) {
    sel.appendChild(el("option", {value: String(k)}, m + " (" + grp(perMirna[k]) + " genes)"));
  });
  sel.value = String(state.mirna);
  sel.addEventListener("change", function () { state.mirna = Number(sel.value); state.page = 0; update(); });
  var box = document.getElementById("filter"), timer = null;
  box.addEventListener("input", function () {
    clearTimeout(timer);
    timer = setTimeout(function () { state.filter = box.value; state.page = 0; update(); }, 120);
  });
  box.addEventListener("keydown", function (ev) {
    if (ev.key === "Enter") { clearTimeout(timer); state.filter = box.value; state.page = 0; update(); }
  });
  var only = document.getElementById("targets-only");
  only.addEventListener("change", function () { state.targetsOnly = only.checked; state.page = 0; update(); });
  var size = document.getElementById("page-size");
  size.addEventListener("change", function () { state.pageSize = Number(size.value); state.page = 0; update(); });
  document.getElementById("prev").addEventListener("click", function () { state.page--; draw(); });
  document.getElementById("next").addEventListener("click", function () { state.page++; draw(); });

  // ---- one gene
  function ticks(len) {
    var raw = len / 8, p = Math.pow(10, Math.floor(Math.log10(Math.max(raw, 1))));
    var step = [1, 2, 5, 10].map(function (m) { return m * p; }).filter(function (s) { return s >= raw; })[0] || p;
    var out = [];
    for (var t = step; t < len; t += step) out.push(t);
    return out;
  }
  function siteList(i) {
    var out = [];
    for (var k = G.site_first[i]; k < G.site_first[i] + G.site_count[i]; k++) out.push(k);
    return out;
  }
  function siteTitle(k) {
    return TYPES[S.type[k]] + " at " + S.start[k] + "\u2013" + S.end[k] + " \u00b7 logit " + fmt(S.logit[k], 2) +
      " \u00b7 contribution " + fmt(S.contribution[k], 3) + (S.called[k] ? " \u00b7 called" : " \u00b7 not called");
  }
  function utrSvg(i, sites) {
    var W = 1000, L = Math.max(G.utr_length[i], 1), x0 = 40, x1 = W - 40, y = 78;
    var sx = function (p) { return x0 + (x1 - x0) * p / L; };
    var svg = sv("svg", {"class": "utr", viewBox: "0 0 " + W + " 112", role: "img",
                          "aria-label": "3'UTR of " + geneLabel(i) + " with " + sites.length + " sites"});
    svg.appendChild(sv("text", {x: x0 - 6, y: y + 4, "text-anchor": "end", "font-size": 12}, "5'"));
    svg.appendChild(sv("text", {x: x1 + 6, y: y + 4, "font-size": 12}, "3'"));
    svg.appendChild(sv("line", {x1: x0, y1: y, x2: x1, y2: y, stroke: "#555", "stroke-width": 3}));
    ticks(L).forEach(function (t) {
      svg.appendChild(sv("line", {x1: sx(t), y1: y + 2, x2: sx(t), y2: y + 8, stroke: "#888"}));
      svg.appendChild(sv("text", {x: sx(t), y: y + 21, "text-anchor": "middle", "font-size": 11, fill: "#666"},
                         grp(t)));
    });
    svg.appendChild(sv("text", {x: x1, y: y + 34, "text-anchor": "end", "font-size": 11, fill: "#666"},
                       grp(L) + " nt"));
    var order = sites.slice().sort(function (a, b) { return S.contribution[b] - S.contribution[a]; });
    order.forEach(function (k) {
      var c = COLORS[S.type[k]], cx = (sx(S.start[k] - 1) + sx(S.end[k])) / 2;
      var r = 3 + 13 * Math.sqrt(Math.max(S.contribution[k], 0) / D.max_contribution);
      var g = sv("g", {"class": "site", "data-type": TYPES[S.type[k]], "data-start": S.start[k],
                       "data-called": S.called[k] ? "1" : "0"});
      g.appendChild(sv("title", null, siteTitle(k)));
      var w = Math.max(sx(S.end[k]) - sx(S.start[k] - 1), 2);
      g.appendChild(sv("rect", {x: cx - w / 2, y: y - 6, width: w, height: 12, fill: c}));
      g.appendChild(sv("line", {x1: cx, y1: y - 6, x2: cx, y2: y - 16 - r + 2, stroke: c}));
      g.appendChild(sv("circle", {cx: cx, cy: y - 18 - r, r: r, fill: S.called[k] ? c : "#fff", stroke: c,
                                  "stroke-width": 2, "fill-opacity": S.called[k] ? 0.85 : 1}));
      if (S.detail[k] >= 0) g.addEventListener("click", function () {
        var card = document.getElementById("site-" + k);
        if (card) card.scrollIntoView({behavior: "smooth", block: "nearest"});
      });
      svg.appendChild(g);
    });
    return svg;
  }
  function legend() {
    var div = el("div", {"class": "legend"});
    TYPES.forEach(function (t, k) {
      var s = el("span");
      var dot = el("i"); dot.style.background = COLORS[k];
      s.appendChild(dot); s.appendChild(document.createTextNode(t)); div.appendChild(s);
    });
    div.appendChild(el("span", {"class": "muted"}, "filled: called by the site model; hollow: not called; " +
                       "size: contribution to the ranking score; hover a mark for its numbers"));
    return div;
  }
  function attrSvg(det, attrMax) {
    // columns of the duplex: miRNA letters with their attribution above, target letters with theirs below
    var m = det.mirna, x = det.match, t = det.target, n = m.length, cw = 13, H = 34;
    var W = n * cw + 100, top = 8, ym = top + H + 14, yx = ym + 15, yt = yx + 15, yb = yt + 5;
    var svg = sv("svg", {"class": "attr", width: W, height: yb + H + 8, viewBox: "0 0 " + W + " " + (yb + H + 8),
                          role: "img", "aria-label": "attributions along the duplex"});
    var ml = det.mirna_len, mpos = ml, upos = det.t0;
    svg.appendChild(sv("text", {x: 2, y: ym, "font-size": 11, fill: "#666"}, "3'"));
    svg.appendChild(sv("text", {x: 2, y: yt, "font-size": 11, fill: "#666"}, "5'"));
    function bar(cx, v, base, up) {
      var h = Math.min(H, H * Math.abs(v) / attrMax), pos = v >= 0;
      var yy = up ? base - h : base;
      svg.appendChild(sv("rect", {x: cx - cw / 2 + 1.5, y: yy, width: cw - 3, height: Math.max(h, 0.5),
                                  fill: pos ? "#c0392b" : "#2c7fb8"}));
    }
    for (var c = 0; c < n; c++) {
      var cx = 24 + c * cw + cw / 2;
      if (m[c] !== " " && m[c] !== "-") {
        var va = det.mirna_attribution[mpos - 1];
        bar(cx, va, top + H, true);
        var tt = sv("text", {x: cx, y: ym, "text-anchor": "middle", "font-size": 12}, m[c]);
        tt.appendChild(sv("title", null, "L" + mpos + " " + m[c] + ": " + fmt(va, 3)));
        svg.appendChild(tt);
        mpos--;
      }
      if (x[c] !== " ") svg.appendChild(sv("text", {x: cx, y: yx - 2, "text-anchor": "middle", "font-size": 12,
                                                    fill: "#555"}, x[c]));
      if (t[c] !== " " && t[c] !== "-") {
        var wi = upos - 1 - det.window_start, vt = (wi >= 0 && wi < det.target_attribution.length) ?
          det.target_attribution[wi] : null;
        var tx = sv("text", {x: cx, y: yt, "text-anchor": "middle", "font-size": 12}, t[c]);
        tx.appendChild(sv("title", null, "UTR " + upos + " " + t[c] + ": " +
                          (vt === null ? "outside the model window" : fmt(vt, 3))));
        svg.appendChild(tx);
        if (vt !== null) bar(cx, vt, yb, false);
        upos++;
      }
    }
    svg.appendChild(sv("text", {x: 24 + n * cw + 4, y: ym, "font-size": 11, fill: "#666"}, "5' miRNA"));
    svg.appendChild(sv("text", {x: 24 + n * cw + 4, y: yt, "font-size": 11, fill: "#666"}, "3' target"));
    return svg;
  }
  function siteCard(k) {
    var det = D.details[S.detail[k]];
    var card = el("div", {"class": "card", id: "site-" + k, "data-type": TYPES[S.type[k]]});
    card.appendChild(el("h3", null, TYPES[S.type[k]] + " at UTR " + S.start[k] + "\u2013" + S.end[k]));
    var energy = det.backend === "ungapped" ? "no " + D.info.duplex_backend + " duplex at this site: seed " +
      "alignment without gaps" : det.backend + " duplex, " + fmt(det.energy, 1) + " kcal/mol";
    card.appendChild(el("div", {"class": "meta"}, "site logit " + fmt(S.logit[k], 2) + " \u00b7 contribution " +
      fmt(S.contribution[k], 3) + (S.called[k] ? " \u00b7 called" : " \u00b7 not called") + " \u00b7 " + energy));
    var lastT = det.t0 - 1;
    for (var c = 0; c < det.target.length; c++) if (det.target[c] !== " " && det.target[c] !== "-") lastT++;
    var text = "miRNA   3' " + det.mirna + " 5'\n           " + det.match + "\ntarget  5' " + det.target +
      " 3'   (UTR " + det.t0 + "\u2013" + lastT + ")";
    card.appendChild(el("pre", {"class": "duplex"}, text));
    var amax = 1e-9;
    det.mirna_attribution.forEach(function (v) { amax = Math.max(amax, Math.abs(v)); });
    det.target_attribution.forEach(function (v) { amax = Math.max(amax, Math.abs(v)); });
    card.appendChild(attrSvg(det, amax));
    var sum = det.attribution_sum;
    card.appendChild(el("div", {"class": "meta"}, D.info.method + " (" + D.info.model + ", reference " +
      D.info.reference + "): the site's 50-nt window on its own (N beyond it; the site logit above reads the " +
      "UTR's flanks too) has logit " + fmt(det.window_logit, 2) + " = reference " +
      fmt(det.reference_logit, 2) + " + attributions " + fmt(sum, 2) + "; red raises the logit, blue lowers " +
      "it (largest bar " + fmt(amax, 3) + "; exact values in the details table)"));
    return card;
  }
  function showGene(i) {
    var panel = document.getElementById("panel");
    panel.textContent = "";
    panel.hidden = false;
    var h = el("h2", null, geneLabel(i) + " \u00d7 " + D.mirnas[G.mirna[i]]);
    var ids = geneIds(i);
    if (ids) h.appendChild(el("span", {"class": "gid"}, ids));
    panel.appendChild(h);
    var facts = el("div", {"class": "facts"});
    [["rank", G.rank[i]], ["ranking score", fmt(G.ranking_score[i], 3)],
     ["probability", fmt(G.probability[i], 3)], ["target", G.is_target[i] ? "yes" : "no"],
     ["3'UTR", grp(G.utr_length[i]) + " nt"]].forEach(function (f) {
      facts.appendChild(el("span", null, f[0] + ": " + f[1]));
    });
    panel.appendChild(facts);
    var sites = siteList(i);
    panel.appendChild(legend());
    panel.appendChild(utrSvg(i, sites));
    if (G.site_hidden[i] > 0) panel.appendChild(el("div", {"class": "note"}, grp(G.site_hidden[i]) +
      " more non-canonical candidate sites (not called; no or small contribution) are not drawn on this page; every " +
      "site is in the sites table (" + D.info.sites_file + ")."));
    var withDetails = sites.filter(function (k) { return S.detail[k] >= 0; });
    var head = el("h3", null, "Sites: duplex and attributions");
    panel.appendChild(head);
    if (!D.info.has_details) {
      panel.appendChild(el("div", {"class": "note"}, "This page was made without the details table: no " +
        "duplexes or attributions."));
    } else if (!D.details.length) {
      panel.appendChild(el("div", {"class": "note"}, "No details: the details table holds no site (made with " +
        "--details-top " + D.info.top + ")."));
    } else if (!withDetails.length) {
      panel.appendChild(el("div", {"class": "note"}, "No details for this gene: duplexes and attributions were " +
        "computed for the genes ranked " + D.info.top + " or better for their miRNA (at most " +
        D.info.sites_per_gene + " sites each)."));
    } else {
      if (withDetails.length < sites.length + G.site_hidden[i]) panel.appendChild(el("div", {"class": "meta"},
        "Details for " + withDetails.length + " of " + grp(sites.length + G.site_hidden[i]) + " sites (at most " +
        D.info.sites_per_gene + " per gene: called sites first, then by contribution)."));
      var box = el("div", {"class": "sites"});
      withDetails.sort(function (a, b) {
        return (S.called[b] - S.called[a]) || (S.contribution[b] - S.contribution[a]) || (S.start[a] - S.start[b]);
      });
      withDetails.forEach(function (k) { box.appendChild(siteCard(k)); });
      panel.appendChild(box);
    }
    panel.scrollIntoView({block: "start"});
  }

  update();
  document.documentElement.setAttribute("data-ready", "1");
  window.mirlensReadyMs = performance.now();
})();
"""
