/* fpig-trecvid browse: sorting the index, drawing a topic's grids from data/topic-ID.js,
   filters, keyboard moves, the enlarged preview, and judging the shots NIST never pooled.
   Plain DOM, no framework, no network: the data comes from <script> files beside the pages
   (browsers refuse fetch() on file://); judgments stay in localStorage until downloaded. */
"use strict";
(function () {
  const site = window.FPIG_SITE;
  const LETTER = {}, NAME = {};
  site.classes.forEach(function (c) {     /* in the legend's order: R, N, P, U */
    LETTER[c.class] = c.letter;
    NAME[c.class] = c.name;
  });

  function el(tag, className, text) {
    const node = document.createElement(tag);
    if (className) node.className = className;
    if (text !== undefined) node.textContent = text;
    return node;
  }

  function typing(event) {
    const t = event.target;
    return t && (t.tagName === "INPUT" || t.tagName === "TEXTAREA" || t.isContentEditable);
  }

  function chipText(run) {
    return run.label === run.key ? run.key : run.key + " · " + run.label;
  }

  function fixed4(v) { return v === null || v === undefined ? "—" : v.toFixed(4); }

  function formatScore(v) {
    return Number.isInteger(v) ? String(v) : String(Number(v.toPrecision(4)));
  }

  /* ---------------- judgments: yours, of the shots NIST never pooled ----------------
     Each topic's marks live in localStorage under the qrels' sha256 and the topic, so a mark
     is only ever read back against the qrels it was made on: {marks: {shot: 0|1}, undo:
     [[shot, the mark before, or null]]}. The files of `browse --extra-qrels` come with the
     site (site.judged_by_you); a mark made in the page wins over the file's, and undo goes
     back to what was there before, the file's judgment included. */

  const judgments = (function () {
    const prefix = "fpig-trecvid-browse/judgments/v1/" + site.qrels_sha256 + "/";
    const files = site.judged_by_you;
    const memory = {};                   /* where localStorage is refused: this page only */
    let read = {};                       /* each topic's entry parsed once, until it changes */
    let store = null;
    try {
      store = window.localStorage;
      store.getItem(prefix);
    } catch (error) {
      store = null;
    }

    /* an entry that is not ours (edited by hand, another version) reads as no marks rather
       than stopping the page */
    function load(topic) {
      if (Object.prototype.hasOwnProperty.call(read, topic)) return read[topic];
      const text = store ? store.getItem(prefix + topic) : memory[topic];
      let state = null;
      try {
        state = text ? JSON.parse(text) : null;
      } catch (error) { /* not ours: no marks */ }
      if (!(state && state.marks && typeof state.marks === "object" && Array.isArray(state.undo))) {
        state = {marks: {}, undo: []};
      }
      read[topic] = state;
      return state;
    }

    function save(topic, state) {
      const text = JSON.stringify(state);
      if (store) store.setItem(prefix + topic, text);
      else memory[topic] = text;
      read[topic] = state;
    }

    /* another tab changed the marks */
    function forget() { read = {}; }

    /* {value: 0|1, from: "page"|"file"}, or null when you have not judged the shot */
    function of(topic, shot) {
      const marks = load(topic).marks;
      if (Object.prototype.hasOwnProperty.call(marks, shot)) return {value: marks[shot], from: "page"};
      const file = files[topic];
      if (file && Object.prototype.hasOwnProperty.call(file, shot)) return {value: file[shot], from: "file"};
      return null;
    }

    function mark(topic, shot, value) {
      const state = load(topic);
      const before = Object.prototype.hasOwnProperty.call(state.marks, shot) ? state.marks[shot] : null;
      state.undo.push([shot, before]);
      state.marks[shot] = value;
      save(topic, state);
    }

    /* the shot whose mark was undone, or null when there is nothing to undo */
    function undo(topic) {
      const state = load(topic);
      const last = state.undo.pop();
      if (!last) return null;
      if (last[1] === null) delete state.marks[last[0]];
      else state.marks[last[0]] = last[1];
      save(topic, state);
      return last[0];
    }

    function progress(row) {
      const judged = row.unpooled.filter(function (shot) { return of(row.topic, shot) !== null; });
      return {judged: judged.length, total: row.unpooled.length};
    }

    function storedTopics() {
      if (!store) return Object.keys(memory);
      const topics = [];
      for (let i = 0; i < store.length; i += 1) {
        const key = store.key(i);
        if (key && key.indexOf(prefix) === 0) topics.push(key.slice(prefix.length));
      }
      return topics;
    }

    function shotKey(shot) {
      const m = /^shot(\d+)_(\d+)$/.exec(shot);
      return m ? [Number(m[1]), Number(m[2])] : [Infinity, Infinity];
    }

    function byShot(a, b) {
      const x = shotKey(a), y = shotKey(b);
      return x[0] - y[0] || x[1] - y[1] || (a < b ? -1 : a > b ? 1 : 0);
    }

    /* every judgment of yours for these qrels, by topic (numeric), then shot id (video, then
       shot number): the file `score --extra-qrels` and `qrels merge` read */
    function lines() {
      const topics = new Set(Object.keys(files).concat(storedTopics()));
      const out = [];
      Array.from(topics).sort(function (a, b) { return Number(a) - Number(b); }).forEach(function (topic) {
        const shots = new Set(Object.keys(files[topic] || {}).concat(Object.keys(load(topic).marks)));
        Array.from(shots).sort(byShot).forEach(function (shot) {
          const j = of(topic, shot);
          if (j) out.push(topic + " " + shot + " " + j.value);
        });
      });
      return out;
    }

    function fileText() {
      const head = [
        "# fpig-trecvid browse: your judgments of shots NIST never pooled",
        "# qrels: " + site.qrels_name + " (sha256 " + site.qrels_sha256 + ")"];
      site.extra_qrels.forEach(function (e) {
        head.push("# with the judgments of " + e.path + " (sha256 " + e.sha256 + ")");
      });
      head.push("# topic shot judgment (1 relevant, 0 not relevant), by topic, then shot id");
      return head.concat(lines()).join("\n") + "\n";
    }

    function download() {
      const url = URL.createObjectURL(new Blob([fileText()], {type: "text/plain"}));
      const link = el("a");
      link.href = url;
      link.download = "judgments.txt";
      document.body.append(link);
      link.click();
      link.remove();
      setTimeout(function () { URL.revokeObjectURL(url); }, 1000);
    }

    return {of: of, mark: mark, undo: undo, progress: progress, lines: lines,
            download: download, forget: forget, persistent: store !== null};
  })();

  function initJudging(onChange) {
    const overall = document.getElementById("yours-progress");
    const button = document.getElementById("download");

    function refresh() {
      let judged = 0, total = 0;
      site.topics.forEach(function (row) {
        const p = judgments.progress(row);
        judged += p.judged;
        total += p.total;
        document.querySelectorAll('[data-progress="' + row.topic + '"]').forEach(function (cell) {
          cell.textContent = p.total ? p.judged + " / " + p.total : "—";
          cell.dataset.value = p.total ? String(p.judged / p.total) : "";
          cell.classList.toggle("done", p.total > 0 && p.judged === p.total);
        });
      });
      overall.textContent = "judged by you: " + judged + " of " + total +
        " unpooled shots shown" + (judgments.persistent ? "" :
        " (this browser keeps no marks for pages on disk: download before leaving the page)");
      const count = judgments.lines().length;
      button.disabled = count === 0;
      button.title = count ? "Save your " + count + " judgment" + (count > 1 ? "s" : "") +
        " as a file for score --extra-qrels and qrels merge" : "Nothing judged yet";
    }

    button.addEventListener("click", judgments.download);
    window.addEventListener("storage", function () {
      judgments.forget();
      refresh();
      if (onChange) onChange();
    });
    refresh();
    return refresh;
  }

  /* ---------------- index: a sortable table ---------------- */

  function initIndex() {
    const table = document.getElementById("topics");
    const body = table.tBodies[0];
    const headers = Array.from(table.tHead.rows[0].cells);
    const state = document.getElementById("sort-state");
    let current = null;

    function key(row, index, type, absolute) {
      const raw = row.cells[index].dataset.value;
      if (type === "text") return raw.toLowerCase();
      if (raw === "") return null;
      return absolute ? Math.abs(Number(raw)) : Number(raw);
    }

    function sortBy(index, direction, absolute) {
      const type = headers[index].dataset.type;
      const rows = Array.from(body.rows);
      rows.sort(function (a, b) {
        const x = key(a, index, type, absolute), y = key(b, index, type, absolute);
        const byTopic = Number(a.dataset.topic) - Number(b.dataset.topic);
        if (x === null || y === null) return (x === null) - (y === null) || byTopic;
        const order = x < y ? -1 : x > y ? 1 : 0;
        return (direction === "ascending" ? order : -order) || byTopic;
      });
      body.append(...rows);
      headers.forEach(function (h) { h.removeAttribute("aria-sort"); });
      headers[index].setAttribute("aria-sort", direction);
      current = {index: index, direction: direction, absolute: absolute};
      const name = headers[index].textContent.replace(/\s+/g, " ").trim();
      state.textContent = absolute
        ? "Sorted by " + name + ", largest difference first (either sign). Click a heading to sort by it."
        : "Sorted by " + name + ", " + direction + ".";
    }

    headers.forEach(function (header, index) {
      header.querySelector("button").addEventListener("click", function () {
        const first = header.dataset.type === "text" || header.dataset.key === "topic"
          ? "ascending" : "descending";
        const again = current && current.index === index && !current.absolute;
        const direction = again ? (current.direction === "ascending" ? "descending" : "ascending")
          : first;
        sortBy(index, direction, false);
      });
    });
    const delta = headers.findIndex(function (h) { return h.dataset.key === "delta"; });
    initJudging();
    if (delta >= 0) sortBy(delta, "descending", true);
    else sortBy(0, "ascending", false);
  }

  /* ---------------- topic page: grids, filters, keys, preview ---------------- */

  function initTopic() {
    const topic = window.FPIG_TOPIC;
    const depth = site.depth;
    const preview = document.getElementById("preview");
    let pinned = null, shownFor = null;
    const status = document.getElementById("judge-status");
    const POOLED_WHY = {
      "relevant": "NIST judged this shot: only shots NIST never pooled are yours to judge " +
        "(they form a stratum of their own)",
      "not-relevant": "NIST judged this shot: only shots NIST never pooled are yours to judge " +
        "(they form a stratum of their own)",
      "unsampled": "In NIST's pool but not sampled for judging (−1): judging it would bias " +
        "the random sample of NIST's stratum; only shots NIST never pooled are yours to judge"};
    const YOURS = {1: "judged relevant by you", 0: "judged not relevant by you"};

    function inTop(ranks, j) { return ranks[j] !== null && ranks[j] <= depth; }

    function judgeRow(entry) {
      const row = el("div", "judge");
      if (entry.class !== "unpooled") {
        row.classList.add("locked");
        row.textContent = "in NIST's pool";
        row.title = POOLED_WHY[entry.class];
        return row;
      }
      [[1, "✓ 1", "relevant"], [0, "✗ 0", "not relevant"]].forEach(function (b) {
        const button = el("button", "yours-" + b[0], b[1]);
        button.type = "button";
        button.tabIndex = -1;              /* the keys 1 and 0 judge the focused shot */
        button.dataset.value = String(b[0]);
        button.title = "Judge it " + b[2] + " (key " + b[0] + ")";
        button.setAttribute("aria-label", b[2]);
        row.append(button);
      });
      return row;
    }

    /* a card's look after your judgment of its shot changes */
    function showJudgment(figure) {
      const j = judgments.of(topic.topic, figure.dataset.shot);
      if (j) {
        figure.dataset.yours = String(j.value);
        figure.dataset.yoursFrom = j.from;
      } else {
        delete figure.dataset.yours;
        delete figure.dataset.yoursFrom;
      }
      let badge = figure.querySelector(".yours");
      if (j && !badge) {
        badge = el("span", "yours");
        badge.setAttribute("aria-hidden", "true");
        figure.append(badge);
      } else if (!j && badge) {
        badge.remove();
      }
      if (j) {
        badge.textContent = j.value ? "✓" : "✗";
        badge.title = YOURS[j.value] + (j.from === "file" ? " (from --extra-qrels)" : "");
      }
      figure.querySelectorAll(".judge button").forEach(function (button) {
        button.setAttribute("aria-pressed", String(j !== null && Number(button.dataset.value) === j.value));
      });
      figure.setAttribute("aria-label", figure.dataset.label + (j ? ", " + YOURS[j.value] : ""));
    }

    function showJudgments(shot) {
      const selector = shot ? 'figure.shot[data-shot="' + CSS.escape(shot) + '"]' : "figure.shot";
      document.querySelectorAll("#runs " + selector).forEach(showJudgment);
      countYours();
    }

    /* per run: how many of its unpooled shots you judged relevant and not relevant */
    function countYours() {
      document.querySelectorAll("#runs .run").forEach(function (section) {
        const count = section.querySelector(".yours-count");
        if (!count) return;
        const mine = [1, 0].map(function (v) {
          return section.querySelectorAll('figure[data-yours="' + v + '"]').length;
        });
        count.hidden = mine[0] + mine[1] === 0;
        count.textContent = "by you: ✓ " + mine[0] + " relevant, ✗ " + mine[1] + " not";
      });
      alignHeaders();
    }

    function card(entry, run, top) {
      const figure = el("figure", "shot c-" + entry.class);
      const disagree = entry.ranks.some(function (_, j) {
        return j !== run && inTop(entry.ranks, j) !== inTop(entry.ranks, run);
      });
      figure.tabIndex = -1;
      figure.dataset.topic = topic.topic;
      figure.dataset.shot = entry.shot;
      figure.dataset.class = entry.class;
      figure.dataset.run = String(run);
      figure.dataset.disagree = String(disagree);
      const file = topic.thumbs[entry.shot];
      if (file) {
        const img = el("img");
        img.src = file;
        img.alt = "";
        img.decoding = "async";
        img.loading = "lazy";
        figure.append(img);
      } else {
        figure.append(el("div", "placeholder", "no " + (site.videos ? "video" : "keyframe")));
      }
      const badge = el("span", "badge", LETTER[entry.class]);
      badge.setAttribute("aria-hidden", "true");
      figure.append(badge);
      const own = entry.ranks[run];
      const caption = el("figcaption");
      const rankText = own === null ? "not retrieved" : (own <= depth ? "#" : "rank ") + own;
      caption.append(el("span", "rank", rankText));
      if (entry.score !== undefined) caption.append(el("span", "score", formatScore(entry.score)));
      figure.append(caption);
      const marks = el("div", "marks");
      const spoken = [];
      entry.ranks.forEach(function (rank, j) {
        if (j === run || rank === null) return;
        const mark = el("span", "mark run-" + j, site.runs[j].key + " " + rank);
        mark.title = site.runs[j].label + " ranks it " + rank;
        marks.append(mark);
        spoken.push(site.runs[j].label + " ranks it " + rank);
      });
      if (marks.childNodes.length) figure.append(marks);
      figure.dataset.label = [entry.shot, rankText,
        entry.score !== undefined ? "score " + formatScore(entry.score) : null,
        NAME[entry.class]].concat(spoken).filter(Boolean).join(", ");
      figure.setAttribute("aria-label", figure.dataset.label);
      if (top) {
        figure.dataset.judgeable = String(entry.class === "unpooled");
        figure.append(judgeRow(entry));
        showJudgment(figure);
      }
      const item = el("li");
      item.append(figure);
      return item;
    }

    function column(run, entries, title, note, counted) {
      const section = el("section", "run");
      section.dataset.run = String(run);
      const header = el("header");
      const heading = el("h2");
      heading.append(el("span", "chip run-" + run, chipText(site.runs[run])), " ");
      heading.append(el("span", "title", title));
      header.append(heading);
      const counts = {};
      entries.forEach(function (e) { counts[e.class] = (counts[e.class] || 0) + 1; });
      const stats = el("p", "stats");
      Object.keys(LETTER).forEach(function (cls) {
        if (!counts[cls]) return;
        const part = el("span", "count c-" + cls);
        part.append(el("span", "badge", LETTER[cls]), " " + counts[cls] + " " + NAME[cls]);
        stats.append(part);
      });
      if (counted && counts.unpooled) stats.append(el("span", "count yours-count"));
      if (counted) header.append(stats);
      const shown = el("p", "shown");
      shown.setAttribute("aria-live", "polite");
      header.append(shown);
      section.append(header);
      const grid = el("ol", "grid");
      grid.setAttribute("aria-label", site.runs[run].label + ": " + title);
      entries.forEach(function (entry) { grid.append(card(entry, run, counted)); });
      section.append(grid);
      if (note) section.append(el("p", "note", note));
      return section;
    }

    const runs = document.getElementById("runs");
    const missed = document.getElementById("missed");
    topic.runs.forEach(function (data, i) {
      const title = data.answered
        ? "top " + data.shots.length + " · infAP " + fixed4(data.infAP)
        : "no shots for this topic";
      runs.append(column(i, data.shots, title, null, true));
      const more = data.missed_total - data.missed.length;
      missed.append(column(i, data.missed, "missed " + data.missed_total + " relevant",
        more > 0 ? "and " + more + " more not shown: first come those another run has in " +
          "its top " + depth + ", then those this run ranks nearest to its top" : null, false));
    });

    /* the grids of all runs start at one height, whatever their headers' wrapping */
    function alignHeaders() {
      [runs, missed].forEach(function (row) {
        const headers = Array.from(row.querySelectorAll(".run > header"));
        headers.forEach(function (h) { h.style.minHeight = ""; });
        if (getComputedStyle(row).gridTemplateColumns.split(" ").length < 2) return;
        const tallest = Math.max.apply(null, headers.map(function (h) { return h.offsetHeight; }));
        headers.forEach(function (h) { h.style.minHeight = tallest + "px"; });
      });
    }
    countYours();
    window.addEventListener("resize", alignHeaders);

    const grids = Array.from(document.querySelectorAll("ol.grid"));
    grids.forEach(function (grid) {
      const first = grid.querySelector("figure");
      if (first) first.tabIndex = 0;
      grid.addEventListener("keydown", onGridKey);
    });

    /* filters */
    const form = document.getElementById("filters");
    function applyFilters() {
      const show = form.elements.show.value;
      const disagree = form.elements.disagree.checked;
      grids.forEach(function (grid) {
        let visible = 0, total = 0;
        grid.querySelectorAll("figure").forEach(function (figure) {
          const keep = (show === "all" || figure.dataset.class === show) &&
            (!disagree || figure.dataset.disagree === "true");
          figure.parentNode.hidden = !keep;
          total += 1;
          visible += keep ? 1 : 0;
        });
        const shown = grid.parentNode.querySelector(".shown");
        shown.textContent = visible === total ? "" : "showing " + visible + " of " + total;
        const tabbable = grid.querySelector('figure[tabindex="0"]');
        if (tabbable && tabbable.parentNode.hidden) {
          tabbable.tabIndex = -1;
          const next = visibleFigures(grid)[0];
          if (next) next.tabIndex = 0;
        }
      });
      hidePreview(true);
    }
    form.addEventListener("change", applyFilters);
    form.addEventListener("submit", function (event) { event.preventDefault(); });

    /* keyboard: a roving tabindex in each grid */
    function visibleFigures(grid) {
      return Array.from(grid.querySelectorAll("li:not([hidden]) > figure"));
    }

    function columnsOf(grid) {
      return getComputedStyle(grid).gridTemplateColumns.split(" ").filter(Boolean).length || 1;
    }

    function moveTo(figure) {
      const grid = figure.closest("ol.grid");
      grid.querySelectorAll('figure[tabindex="0"]').forEach(function (f) { f.tabIndex = -1; });
      figure.tabIndex = 0;
      figure.focus();
      figure.scrollIntoView({block: "nearest"});
    }

    function onGridKey(event) {
      const figure = event.target.closest("figure.shot");
      if (!figure || event.altKey || event.ctrlKey || event.metaKey) return;
      const grid = event.currentTarget;
      const items = visibleFigures(grid);
      const at = items.indexOf(figure);
      const across = columnsOf(grid);
      const step = {"ArrowRight": 1, "ArrowLeft": -1, "j": 1, "k": -1,
                    "ArrowDown": across, "ArrowUp": -across}[event.key];
      if (step !== undefined) {
        const target = items[Math.min(items.length - 1, Math.max(0, at + step))];
        if (target) moveTo(target);
        event.preventDefault();
      } else if (event.key === "Home" || event.key === "End") {
        moveTo(items[event.key === "Home" ? 0 : items.length - 1]);
        event.preventDefault();
      } else if (event.key === "Enter" || event.key === " ") {
        pin(figure);
        event.preventDefault();
      } else if (event.key === "Escape") {
        hidePreview(true);
      } else if (event.key === "1" || event.key === "0") {
        judge(figure, Number(event.key));
        event.preventDefault();
      }
    }

    function say(text) { status.textContent = text; }

    /* 1 or 0 on an unpooled shot: your judgment, then on to the next unpooled shot of the grid
       you have not judged yet; on a pooled shot, nothing but the reason */
    function judge(figure, value) {
      const shot = figure.dataset.shot;
      if (figure.dataset.judgeable !== "true") {
        say(shot + ": not judgeable. " + (POOLED_WHY[figure.dataset.class] ||
          "Judge the shots in the runs' tops above, not the missed ones") + ".");
        return;
      }
      judgments.mark(topic.topic, shot, value);
      showJudgments(shot);
      refreshCounts();
      say(shot + " " + YOURS[value] + ". u undoes it.");
      const items = visibleFigures(figure.closest("ol.grid"));
      const next = items.slice(items.indexOf(figure) + 1).find(function (f) {
        return f.dataset.judgeable === "true" && f.dataset.yours === undefined;
      });
      if (next) moveTo(next);
      else if (shownFor === figure) showPreview(figure, false);
    }

    function undo() {
      const shot = judgments.undo(topic.topic);
      if (shot === null) {
        say("Nothing to undo on this topic.");
        return;
      }
      showJudgments(shot);
      refreshCounts();
      const j = judgments.of(topic.topic, shot);
      say("Undone: " + shot + (j ? " is " + YOURS[j.value] + (j.from === "file" ?
        " (from --extra-qrels)" : "") : " is not judged") + ".");
      const here = document.activeElement && document.activeElement.closest &&
        document.activeElement.closest("ol.grid");
      const cards = Array.from(document.querySelectorAll('#runs li:not([hidden]) > figure[data-shot="' +
        CSS.escape(shot) + '"]'));
      const target = cards.find(function (f) { return f.closest("ol.grid") === here; }) || cards[0];
      if (target) moveTo(target);
    }

    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key === "Escape") hidePreview(true);
      if (event.key === "u") { undo(); event.preventDefault(); return; }
      const link = document.querySelector('a[data-key="' + CSS.escape(event.key) + '"]');
      if (link) window.location.href = link.href;
    });

    /* the enlarged preview: on hover or focus; Enter or a click pins it (and plays the shot) */
    function showPreview(figure, play) {
      const shot = figure.dataset.shot;
      const run = Number(figure.dataset.run);
      const entry = topic.runs[run];
      const data = entry.shots.concat(entry.missed).find(function (e) { return e.shot === shot; });
      preview.replaceChildren();
      preview.className = "preview c-" + data.class;
      const clip = topic.clips[shot];
      if (play && clip) {
        const video = el("video");
        video.controls = true;
        video.autoplay = true;
        video.muted = true;
        video.src = clip[0] + "#t=" + clip[1] + "," + clip[2];
        preview.append(video);
      } else if (topic.thumbs[shot]) {
        const img = el("img");
        img.src = topic.thumbs[shot];
        img.alt = "keyframe of " + shot;
        preview.append(img);
      } else {
        preview.append(el("div", "placeholder", "no " + (site.videos ? "video" : "keyframe")));
      }
      const text = el("div", "about");
      text.append(el("strong", "shot-id", shot));
      const cls = el("span", "cls");
      cls.append(el("span", "badge", LETTER[data.class]), " " + NAME[data.class]);
      text.append(cls);
      const ranks = el("span", "ranks", data.ranks.map(function (rank, j) {
        return site.runs[j].key + " " + (rank === null ? "—" : "#" + rank);
      }).join(" · "));
      text.append(ranks);
      if (figure.dataset.judgeable === "true") {
        const j = judgments.of(topic.topic, shot);
        text.append(el("span", "judged", j ? YOURS[j.value] + (j.from === "file" ?
          " (from --extra-qrels)" : "") + ": 1, 0 or u changes it" :
          "not judged yet: 1 relevant, 0 not relevant"));
      } else if (POOLED_WHY[data.class]) {
        text.append(el("span", "aside", "Not yours to judge. " + POOLED_WHY[data.class] + "."));
      }
      if (clip && !play) text.append(el("span", "aside", "Enter or click plays the shot"));
      preview.append(text);
      const thumb = figure.querySelector("img");
      preview.style.width = Math.max(260, Math.min(480, (thumb ? thumb.naturalWidth : 0) + 12)) + "px";
      preview.hidden = false;
      shownFor = figure;
      place(figure);
    }

    function place(figure) {
      const box = figure.getBoundingClientRect();
      const width = preview.offsetWidth, height = preview.offsetHeight;
      const room = window.innerWidth - box.right;
      let left = room > width + 12 ? box.right + 8 : box.left - width - 8;
      left = Math.max(4, Math.min(left, window.innerWidth - width - 4));
      let top = Math.max(4, Math.min(box.top, window.innerHeight - height - 4));
      preview.style.left = left + "px";
      preview.style.top = top + "px";
    }

    function pin(figure) {
      pinned = figure;
      showPreview(figure, true);
    }

    function hidePreview(evenPinned) {
      if (pinned && !evenPinned) return;
      pinned = shownFor = null;
      preview.hidden = true;
      preview.replaceChildren();
    }

    document.addEventListener("focusin", function (event) {
      if (preview.contains(event.target)) return;         /* the video's own controls */
      const figure = event.target.closest && event.target.closest("figure.shot");
      if (figure && figure !== pinned) { pinned = null; showPreview(figure, false); }
      else if (!figure) hidePreview(true);
    });
    document.addEventListener("mouseover", function (event) {
      const figure = event.target.closest && event.target.closest("figure.shot");
      if (figure && !pinned) showPreview(figure, false);
      else if (!figure && !pinned && !preview.contains(event.target) &&
               !(document.activeElement && document.activeElement.closest &&
                 document.activeElement.closest("figure.shot"))) hidePreview(false);
    });
    document.addEventListener("click", function (event) {
      const figure = event.target.closest && event.target.closest("figure.shot");
      const button = event.target.closest && event.target.closest(".judge button");
      if (button && figure) { moveTo(figure); judge(figure, Number(button.dataset.value)); }
      else if (figure) { moveTo(figure); pin(figure); }
      else if (!preview.contains(event.target)) hidePreview(true);
    });
    window.addEventListener("scroll", function () {
      if (!preview.hidden && shownFor) place(shownFor);
    }, {passive: true});
    const refreshCounts = initJudging(function () { showJudgments(null); });
    applyFilters();
  }

  if (document.body.dataset.page === "index") initIndex();
  else initTopic();
})();
