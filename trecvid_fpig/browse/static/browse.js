/* fpig-trecvid browse: sorting the index, drawing a topic's grids from data/topic-ID.js,
   filters, keyboard moves and the enlarged preview. Plain DOM, no framework, no network:
   the data comes from <script> files beside the pages (browsers refuse fetch() on file://). */
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
    if (delta >= 0) sortBy(delta, "descending", true);
    else sortBy(0, "ascending", false);
  }

  /* ---------------- topic page: grids, filters, keys, preview ---------------- */

  function initTopic() {
    const topic = window.FPIG_TOPIC;
    const depth = site.depth;
    const preview = document.getElementById("preview");
    let pinned = null, shownFor = null;

    function inTop(ranks, j) { return ranks[j] !== null && ranks[j] <= depth; }

    function card(entry, run) {
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
      figure.setAttribute("aria-label", [entry.shot, rankText,
        entry.score !== undefined ? "score " + formatScore(entry.score) : null,
        NAME[entry.class]].concat(spoken).filter(Boolean).join(", "));
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
      if (counted) header.append(stats);
      const shown = el("p", "shown");
      shown.setAttribute("aria-live", "polite");
      header.append(shown);
      section.append(header);
      const grid = el("ol", "grid");
      grid.setAttribute("aria-label", site.runs[run].label + ": " + title);
      entries.forEach(function (entry) { grid.append(card(entry, run)); });
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
    alignHeaders();
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
      }
    }

    document.addEventListener("keydown", function (event) {
      if (typing(event) || event.altKey || event.ctrlKey || event.metaKey) return;
      if (event.key === "Escape") hidePreview(true);
      const link = document.querySelector('a[data-key="' + event.key + '"]');
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
      if (figure) { moveTo(figure); pin(figure); }
      else if (!preview.contains(event.target)) hidePreview(true);
    });
    window.addEventListener("scroll", function () {
      if (!preview.hidden && shownFor) place(shownFor);
    }, {passive: true});
    applyFilters();
  }

  if (document.body.dataset.page === "index") initIndex();
  else initTopic();
})();
