// segur app — planner view: levers, runs (queue, progress, cancel on close), results, pin & compare.
"use strict";
(() => {
  const T = JSON.parse(document.getElementById("texts").textContent);
  const LANG = document.body.dataset.lang;
  const $ = (id) => document.getElementById(id);
  const store = window.sessionStorage;
  let levers = [];
  let job = null;        // the job this page is waiting for
  let timer = null;
  let current = store.getItem("segur.current");
  let pinned = store.getItem("segur.pinned");
  const COLON = LANG === "fr" ? "\u00a0: " : ": ";
  const valFmt = new Intl.NumberFormat(LANG === "fr" ? "fr-FR" : "en-GB", { maximumFractionDigits: 4 });
  const numFmt = new Intl.NumberFormat(LANG === "fr" ? "fr-FR" : "en-GB", { maximumFractionDigits: 1 });
  const big = (x) => x === null || x === undefined ? "—" : (Math.abs(x) >= 1e6 ? numFmt.format(x / 1e6) + " M" : numFmt.format(x));
  const pct = (x) => x === null || x === undefined ? "—" : numFmt.format(Math.round(x * 100)) + (LANG === "fr" ? "\u00a0%" : "%");
  const pct1 = new Intl.NumberFormat(LANG === "fr" ? "fr-FR" : "en-GB", { maximumFractionDigits: 1 });
  const signed = (x) => {  // +1,5 % / −24 % (one decimal under 10 %; 0 % without a sign)
    if (x === null || x === undefined || Number.isNaN(x)) return "—";
    const v = Math.abs(x) * 100;
    const r = v < 10 ? Math.round(v * 10) / 10 : Math.round(v);
    return (r === 0 ? "" : x > 0 ? "+" : "\u2212") + pct1.format(r) + (LANG === "fr" ? "\u00a0%" : "%");
  };
  const rms = new Intl.NumberFormat(LANG === "fr" ? "fr-FR" : "en-GB", { minimumFractionDigits: 2, maximumFractionDigits: 2 });
  const plain = (x) => LANG === "fr" ? String(x).replace(".", ",") : String(x);
  const monthFmt = new Intl.DateTimeFormat(LANG === "fr" ? "fr-FR" : "en-GB", { month: "long", year: "numeric", timeZone: "UTC" });
  const month = (m) => m ? monthFmt.format(new Date(Date.UTC(Number(m.slice(0, 4)), Number(m.slice(5, 7)) - 1, 1))) : "";
  const dateFmt = new Intl.DateTimeFormat(LANG === "fr" ? "fr-FR" : "en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  const day = (d) => d && /^\d{4}-\d\d-\d\d$/.test(d) ? dateFmt.format(new Date(d + "T00:00:00Z")) : String(d ?? "");
  const fmt = (key, vals) => Object.entries(vals).reduce((t, [k, v]) => t.split("{" + k + "}").join(v), T[key] || key);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  function groupTitle(group, first) {
    if (group === "rules") return T.group_rules;
    if (group === "services") return T.group_services;
    const i = first.label.lastIndexOf("— ");
    return i >= 0 ? first.label.slice(i + 2) : group;
  }

  function leverValue(lv, v) {
    if (lv.kind === "date") return day(v);
    if (lv.kind === "factor") return "×" + valFmt.format(Number(v));
    return valFmt.format(Number(v));
  }

  function effectText(lv, e) {
    if (!e) return "";
    return fmt("effect_line", { low: leverValue(lv, e.low), high: leverValue(lv, e.high), clow: signed(e.change_low), chigh: signed(e.change_high) });
  }

  function renderEffects(data) {
    const box = $("lever-effects");
    if (!data.effects) { box.innerHTML = `<p class="help">${esc(T.effects_none)}</p>`; return; }
    const ranked = data.levers.filter((lv) => data.effects[lv.id])
      .map((lv) => ({ lv, e: data.effects[lv.id], size: Math.max(Math.abs(data.effects[lv.id].change_low), Math.abs(data.effects[lv.id].change_high)) }))
      .sort((a, b) => b.size - a.size);
    const noise = Number(data.effects_meta.noise || 0);
    const items = ranked.slice(0, 6).map(({ lv, e }) => `<li data-lever="${esc(lv.id)}"><span class="lever-name">${esc(lv.label)}</span> <span class="effect">${esc(signed(e.change_low))} / ${esc(signed(e.change_high))}</span></li>`).join("");
    box.innerHTML = `<h3>${esc(T.effects_title)}</h3><p class="help">${esc(fmt("effects_intro", { ref: big(Number(data.effects_meta.reference)), noise: pct(noise) }))}</p>
      <ol class="effects">${items}</ol>
      <p class="meta">${esc(fmt("effects_source", { date: day(data.effects_meta.date) }))} <code>${esc(data.effects_meta.command)}</code></p>`;
  }

  function renderLevers(data, values) {
    levers = data.levers;
    renderEffects(data);
    const groups = new Map();
    for (const lv of levers) { if (!groups.has(lv.group)) groups.set(lv.group, []); groups.get(lv.group).push(lv); }
    const box = $("levers");
    box.innerHTML = "";
    let first = true;
    for (const [g, list] of groups) {
      const d = document.createElement("details");
      if (first) d.open = true;
      first = false;
      d.innerHTML = `<summary>${esc(groupTitle(g, list[0]))}</summary>`;
      for (const lv of list) {
        const id = "lv-" + lv.id.replace(/\./g, "-");
        const v = values && lv.id in values ? values[lv.id] : lv.default;
        const type = lv.kind === "date" ? "date" : "number";
        const attrs = [lv.min !== null && lv.min !== undefined ? `min="${esc(lv.min)}"` : "",
                       lv.max !== null && lv.max !== undefined ? `max="${esc(lv.max)}"` : "",
                       lv.step ? `step="${lv.step}"` : (type === "number" ? 'step="any"' : "")].join(" ");
        const f = document.createElement("div");
        f.className = "field";
        f.innerHTML = `<label for="${id}">${esc(lv.label)}</label>
          <input id="${id}" name="${esc(lv.id)}" data-lever="${esc(lv.id)}" type="${type}" ${attrs} value="${esc(v)}" aria-describedby="meta-${id} error-${id}">
          <p class="meta" id="meta-${id}">${esc(T.unit)}${COLON}${esc(lv.unit)}${lv.source ? " · " + esc(T.source) + COLON + (lv.source_translated ? esc(lv.source) : `<span lang="en">${esc(lv.source)}</span>`) : ""}</p>
          ${data.effects && data.effects[lv.id] ? `<p class="meta effect-line" id="effect-${id}">${esc(effectText(lv, data.effects[lv.id]))}</p>` : ""}
          <p class="error" id="error-${id}" role="alert"></p>`;
        d.appendChild(f);
      }
      box.appendChild(d);
    }
    $("replications").max = data.limits.replications_max;
    $("scale").max = data.limits.scale_max;
  }

  async function loadScenario(name, values) {
    const sel = $("scenario");
    sel.value = name;
    $("scenario-description").textContent = sel.selectedOptions[0] ? sel.selectedOptions[0].title : "";
    const r = await fetch(`/api/scenarios/${encodeURIComponent(name)}/levers?lang=${LANG}`);
    renderLevers(await r.json(), values);
  }

  function formValues() {
    const out = {};
    for (const inp of document.querySelectorAll("[data-lever]")) {
      const lv = levers.find((l) => l.id === inp.dataset.lever);
      out[inp.dataset.lever] = lv && lv.kind !== "date" && inp.value !== "" && !isNaN(Number(inp.value)) ? Number(inp.value) : inp.value;
    }
    return out;
  }

  function clearErrors() {
    for (const e of document.querySelectorAll(".error")) e.textContent = "";
    for (const i of document.querySelectorAll("[aria-invalid]")) i.removeAttribute("aria-invalid");
    $("form-message").textContent = "";
  }

  function showErrors(body) {
    let firstBad = null;
    for (const [field, msg] of Object.entries(body.errors || {})) {
      const id = ["scenario", "seed", "scale", "replications", "levers"].includes(field) ? field : "lv-" + field.replace(/\./g, "-");
      const err = $("error-" + id);
      if (err) err.textContent = msg; else $("error-levers").textContent += `${field}: ${msg} `;
      const inp = $(id);
      if (inp) { inp.setAttribute("aria-invalid", "true"); firstBad = firstBad || inp; const d = inp.closest("details"); if (d) d.open = true; }
    }
    $("form-message").textContent = body.message || "";
    if (firstBad) firstBad.focus();
  }

  function num(id) { const v = $(id).value; return v === "" || isNaN(Number(v)) ? v : Number(v); }

  async function submit(ev) {
    ev.preventDefault();
    clearErrors();
    if (job) await cancelJob();
    const body = { scenario: $("scenario").value, seed: num("seed"), scale: num("scale"), replications: num("replications"),
                   levers: formValues(), lang: LANG };
    store.setItem("segur.form", JSON.stringify(body));
    const r = await fetch(`/api/runs?lang=${LANG}`, { method: "POST", headers: { "Content-Type": "application/json" }, body: JSON.stringify(body) });
    const data = await r.json();
    if (r.status === 422) { showErrors(data); return; }
    if (!r.ok) { $("status-text").textContent = T.failed.replace("{error}", data.error || r.status); return; }
    follow(data);
  }

  function follow(st) {
    job = st;
    $("progress").hidden = false;
    $("run").disabled = false;
    show(st);
    if (st.state === "done") { finished(st); return; }
    timer = setInterval(poll, 300);
  }

  async function poll() {
    if (!job) return;
    const r = await fetch(`/api/jobs/${job.id}`);
    if (!r.ok) { stopPolling(); return; }
    const st = await r.json();
    job = st;
    show(st);
    if (st.state === "running" && st.table_ready && current !== st.key) {  // the table before the figures
      current = st.key;
      store.setItem("segur.current", current);
      await renderPanes();
    }
    if (st.state === "done") { finished(st); }
    else if (st.state === "failed" || st.state === "cancelled") { stopPolling(); job = null; }
  }

  function stopPolling() { if (timer) clearInterval(timer); timer = null; }

  function show(st) {
    const p = $("progress");
    p.value = st.progress || 0;
    const text = { queued: T.queued.replace("{pos}", st.position ?? "?"), running: T.running.replace("{pct}", Math.round((st.progress || 0) * 100)),
                   done: st.cached ? T.cached : T.done, failed: T.failed.replace("{error}", st.error), cancelled: T.cancelled }[st.state];
    $("status-text").textContent = text || st.state;
    $("status-text").dataset.state = st.state;
  }

  async function finished(st) {
    current = st.key;
    store.setItem("segur.current", current);
    await renderPanes();
    if (!st.files_ready || !summaries.has(st.key)) {  // keep asking until the figures are drawn and the folder written
      let drawn = summaries.has(st.key);
      const again = async () => {
        const r = await fetch(`/api/jobs/${st.id}`);
        const s2 = r.ok ? await r.json() : null;
        if (!drawn && await summary(st.key) && summaries.has(st.key)) { drawn = true; await renderPanes(); }
        if (s2 && s2.files_ready && drawn) { stopPolling(); job = null; await renderPanes(); } else if (!s2) { stopPolling(); job = null; }
      };
      stopPolling();
      timer = setInterval(again, 500);
    } else { stopPolling(); job = null; }
  }

  async function cancelJob() {
    stopPolling();
    if (job && (job.state === "queued" || job.state === "running")) await fetch(`/api/jobs/${job.id}/cancel`, { method: "POST" });
    job = null;
  }

  const summaries = new Map();
  async function summary(key) {
    if (!summaries.has(key)) {
      const r = await fetch(`/api/runs/${key}/summary`);
      if (!r.ok) return null;
      const s = await r.json();
      if (!s.figures[LANG]) return s;  // this language's figures are still being drawn: ask again later
      summaries.set(key, s);
    }
    return summaries.get(key);
  }

  function leverDiff(s) {
    const changed = [];
    for (const lv of levers) {
      if (s.scenario === $("scenario").value && lv.id in s.levers && String(s.levers[lv.id]) !== String(lv.default)) changed.push(`${lv.label}${COLON}${leverValue(lv, s.levers[lv.id])}`);
    }
    return changed;
  }

  function lastYear(s) { return s.months[1].slice(0, 4); }

  function reachedCell(r, s) {
    if (!r.target) return "—";
    if (r.band) {
      const [lo, mid, hi] = r.band.reached.map((m) => m ? month(m) : fmt("not_by", { year: lastYear(s) }));
      return lo === mid && mid === hi ? mid : `${mid} [${lo} – ${hi}]`;
    }
    return r.reached ? month(r.reached) : fmt("not_by", { year: lastYear(s) });
  }

  function shareReachedCell(r) {
    if (!r.target) return "—";
    if (r.band) return `${pct(r.band.share_reached)} (${fmt("of_n", { n: r.band.n })})`;
    return r.reached ? pct(1) : pct(0);
  }

  function modelAlone(r, s) {  // the band without the structural discrepancy, under the one shown
    if (!r.target || !r.band || !r.band.with_discrepancy) return "";
    const alone = { target: r.target, band: { ...r.band, ...r.band.model_alone } };
    return `<span class="model-alone">${esc(fmt("model_alone", { band: reachedCell(alone, s), share: pct(r.band.model_alone.share_reached) }))}</span>`;
  }

  function bandParts(s) {  // which part of the band is parameters, seeds and the structural discrepancy
    const d = s.discrepancy;
    if (!d || !d.parts || d.parts.discrepancy === null || d.parts.discrepancy === undefined) return "";
    const p = d.parts;
    const key = p.split === "seeds only" ? "parts_seeds" : p.split === "draws repeat" ? "parts_split" : "parts_together";
    return `<p class="help disc-note">${esc(fmt("disc_note", { file: d.file, cutoff: day(d.data_cutoff) }))}</p>
      <p class="help band-parts">${esc(fmt(key, { param: pct(p.parameter), seed: pct(p.seed), disc: pct(p.discrepancy), ps: pct(p.parameters_and_seeds) }))}</p>`;
  }

  function inSample(s) {  // how far the calibrated model was from the published figures it was fitted to
    const m = s.in_sample;
    if (!m) return "";
    const groups = m.groups.map((g) => `${(g.label && g.label[LANG]) || g.group} ${signed(g.model_vs_observed)} (${g.rows})`).join(", ");
    return `<p class="in-sample"><strong>${esc(T.in_sample_title)}</strong> ${esc(fmt("in_sample", { n: m.rows, posterior: m.posterior, cutoff: day(m.data_cutoff),
      mae: pct(m.median_abs_error), rms: rms.format(m.rms_log), groups }))}</p>`;
  }

  function targetTable(s) {
    const rows = s.table.map((r) => `<tr data-row="${esc(r.row)}"><td>${esc(r.label[LANG])}${r.assumption ? ` <span class="tag">${esc(T.assumption)}</span>` : ""}</td>
      <td>${big(r.target)}</td><td class="achieved">${big(r.achieved)}</td><td>${pct(r.share)}</td><td class="reached"><span class="band">${esc(reachedCell(r, s))}</span>${modelAlone(r, s)}</td><td class="reached-share">${esc(shareReachedCell(r))}</td></tr>`).join("");
    const at = s.table.length ? month(s.table[0].at) : "";
    const head = s.replications > 1 ? T.reached_band : T.reached;
    return `<h4>${esc(T.targets)}</h4>
      <div class="table-wrap"><table class="targets"><thead><tr><th scope="col">${esc(T.row)}</th><th scope="col">${esc(T.target)}</th><th scope="col">${esc(T.achieved.replace("{at}", at))}</th><th scope="col">${esc(T.share)}</th><th scope="col">${esc(head)}</th><th scope="col">${esc(T.reached_share)}</th></tr></thead><tbody>${rows}</tbody></table></div>
      ${s.replications > 1 ? `<p class="help">${esc(fmt("band_note", { n: s.replications }))}</p>` : ""}
      ${bandParts(s)}`;
  }

  const GAP_FIGURE = { annualised: "documents", profiles: "profiles" };  // the figures that draw the published points
  function gapText(s, fig) {
    const group = GAP_FIGURE[fig];
    const g = group && s.observed_gap ? s.observed_gap[group] : null;
    if (!g) return "";
    const rows = g.rows.map((r) => `<tr><td>${esc(r.date.length === 7 ? month(r.date) : r.date)}</td><td>${esc(T["metric_" + r.metric] || r.metric)}${r.bound ? " (" + esc(T["bound_" + r.bound] || r.bound) + ")" : ""}</td><td>${esc(r.sector === "all" ? T.all_sectors : r.sector)}</td><td>${big(r.observed)}</td><td>${big(r.simulated)}</td><td>${signed(r.gap)}</td></tr>`).join("");
    const text = fmt("gap_" + group, { n: g.n, first: g.first.length === 7 ? month(g.first) : g.first, last: g.last.length === 7 ? month(g.last) : g.last,
      median: signed(g.median), rn: g.recent_n, rmedian: signed(g.recent_median), from: g.recent_from });
    return `<div class="gap" data-group="${group}"><p><strong>${esc(T.gap_title)}</strong> ${esc(text)}</p>
      <details><summary>${esc(fmt("gap_rows", { n: g.n }))}</summary><div class="table-wrap"><table class="gap-rows"><thead><tr><th scope="col">${esc(T.date)}</th><th scope="col">${esc(T.figure)}</th><th scope="col">${esc(T.sector)}</th><th scope="col">${esc(T.observed)}</th><th scope="col">${esc(T.simulated)}</th><th scope="col">${esc(T.gap)}</th></tr></thead><tbody>${rows}</tbody></table></div></details></div>`;
  }

  async function pane(key, slot) {
    const s = await summary(key);
    if (!s) return "";
    const shown = new Set();
    const figs = (s.figures[LANG] || []).map((f) => {
      const gap = GAP_FIGURE[f.key] && !shown.has(GAP_FIGURE[f.key]) ? gapText(s, f.key) : "";
      if (gap) shown.add(GAP_FIGURE[f.key]);
      const fit = f.key === "annualised" ? inSample(s) : "";  // beside the figure that draws the published points
      return `<figure data-key="${f.key}"><figcaption>${esc(f.title)}</figcaption>${fit}${gap}${f.svg}</figure>`;
    }).join("") || `<p class="help figures-pending">${esc(T.figures_pending)}</p>`;
    const rej = s.rejections.map((r) => `<tr><td>${esc(r.label[LANG])}</td><td>${big(r.documents)}</td></tr>`).join("");
    const changed = leverDiff(s);
    let downloads = `<p class="help">${esc(T.files_pending)}</p>`;
    const tr = await (await fetch(`/api/runs/${key}/tables`)).json();
    if (tr.ready) {
      const tables = tr.tables;
      downloads = `<a href="/api/runs/${key}/results.zip" download>${esc(T.zip)}</a><a href="/api/runs/${key}/report.html?lang=${LANG}">${esc(T.report)}</a> CSV${COLON}` +
        tables.map((n) => `<a href="/api/runs/${key}/tables/${n}.csv" download>${esc(n)}</a>`).join(" ");
    }
    const isPinned = slot === "pinned";
    return `<article class="pane ${slot}" data-key="${key}" data-slot="${slot}" aria-label="${esc(isPinned ? T.pinned : T.current)}">
      <h3>${esc(isPinned ? T.pinned : T.current)}${COLON}${esc(s.scenario)} · ${esc(T.seed).toLowerCase()} ${s.seed} · ${esc(T.scale).toLowerCase()} ${esc(plain(s.scale))}${s.replications > 1 ? ` · ${s.replications} ${esc(T.replications_short)}` : ""}</h3>
      <p class="meta">${changed.length ? esc(changed.join(" · ")) : ""}</p>
      <button type="button" class="secondary pin" data-key="${key}">${esc(isPinned ? T.unpin : T.pin)}</button>
      ${s.bands ? "" : `<p class="help">${esc(T.bands_none)}</p>`}
      ${targetTable(s)}
      ${figs}
      ${rej ? `<table class="rejections"><caption>${esc(T.rejections)}</caption><thead><tr><th scope="col">${esc(T.reason)}</th><th scope="col">${esc(T.documents)}</th></tr></thead><tbody>${rej}</tbody></table>` : ""}
      <p class="downloads"><strong>${esc(T.downloads)}${COLON}</strong> ${downloads}</p>
    </article>`;
  }

  // -- compare: a difference table and the two runs' curves on one chart ------------------
  function monthsBetween(a, b) { return (Number(b.slice(0, 4)) - Number(a.slice(0, 4))) * 12 + Number(b.slice(5, 7)) - Number(a.slice(5, 7)); }

  function compareTable(a, b) {
    const rowsB = new Map(b.table.map((r) => [r.row, r]));
    const mid = (r) => r.band ? r.band.reached[1] : r.reached;
    const body = a.table.filter((r) => rowsB.has(r.row)).map((ra) => {
      const rb = rowsB.get(ra.row);
      const diff = ra.achieved ? (rb.achieved - ra.achieved) / ra.achieved : null;
      const ma = mid(ra), mb = mid(rb);
      let dm = "—";
      if (ra.target && ma && mb) { const n = monthsBetween(ma, mb); dm = n === 0 ? T.same_month : fmt(n > 0 ? "months_later" : "months_earlier", { n: Math.abs(n) }); }
      else if (ra.target && ma !== mb) dm = mb ? fmt("now_reached", { m: month(mb) }) : T.no_longer_reached;
      return `<tr data-row="${esc(ra.row)}"><td>${esc(ra.label[LANG])}</td><td>${big(ra.achieved)}</td><td>${big(rb.achieved)}</td><td class="diff">${esc(signed(diff))}</td>
        <td>${esc(reachedCell(ra, a))}</td><td>${esc(reachedCell(rb, b))}</td><td class="diff-month">${esc(dm)}</td></tr>`;
    }).join("");
    const at = a.table.length ? month(a.table[0].at) : "";
    return `<div class="table-wrap"><table class="compare-table"><caption>${esc(fmt("compare_caption", { at }))}</caption><thead><tr><th scope="col">${esc(T.row)}</th><th scope="col">${esc(T.pinned)}</th><th scope="col">${esc(T.current)}</th><th scope="col">${esc(T.difference)}</th>
      <th scope="col">${esc(T.reached)} (${esc(T.pinned).toLowerCase()})</th><th scope="col">${esc(T.reached)} (${esc(T.current).toLowerCase()})</th><th scope="col">${esc(T.difference)}</th></tr></thead><tbody>${body}</tbody></table></div>`;
  }

  function overlay(a, b, row) {
    const W = 760, H = 300, L = 70, R = 12, Tp = 12, B = 36;
    const sa = a.series, sb = b.series;
    if (!sa || !sb || !sa.rows[row] || !sb.rows[row]) return "";
    const months = sa.months.length >= sb.months.length ? sa.months : sb.months;
    const idx = new Map(months.map((m, i) => [m, i]));
    const target = (a.table.find((r) => r.row === row) || {}).target;
    const ymax = Math.max(...sa.rows[row], ...sb.rows[row], target || 0) * 1.05 || 1;
    const x = (i) => L + (W - L - R) * i / Math.max(1, months.length - 1);
    const y = (v) => Tp + (H - Tp - B) * (1 - v / ymax);
    const path = (ser, ms) => ser.map((v, i) => `${i ? "L" : "M"}${x(idx.get(ms[i])).toFixed(1)},${y(v).toFixed(1)}`).join("");
    const ticks = [0, 0.25, 0.5, 0.75, 1].map((f) => `<g><line x1="${L}" x2="${W - R}" y1="${y(f * ymax)}" y2="${y(f * ymax)}" stroke="#ddd"/><text x="${L - 6}" y="${y(f * ymax) + 4}" text-anchor="end" font-size="11">${esc(big(f * ymax))}</text></g>`).join("");
    const years = months.map((m, i) => [m, i]).filter(([m]) => m.endsWith("-01")).map(([m, i]) => `<text x="${x(i)}" y="${H - B + 16}" text-anchor="middle" font-size="11">${m.slice(0, 4)}</text>`).join("");
    const tline = target ? `<line class="target" x1="${L}" x2="${W - R}" y1="${y(target)}" y2="${y(target)}" stroke="#555" stroke-dasharray="2 3"/><text x="${W - R}" y="${y(target) - 4}" text-anchor="end" font-size="11">${esc(T.target_line)}</text>` : "";
    return `<svg class="overlay" viewBox="0 0 ${W} ${H}" role="img" aria-label="${esc(T.overlay_title)}">
      ${ticks}${years}${tline}
      <path class="pinned-line" d="${path(sa.rows[row], sa.months)}" fill="none" stroke="#e69f00" stroke-width="2.5" stroke-dasharray="7 4"/>
      <path class="current-line" d="${path(sb.rows[row], sb.months)}" fill="none" stroke="#0072b2" stroke-width="2"/>
      <g font-size="12"><line x1="${L + 10}" x2="${L + 40}" y1="${Tp + 10}" y2="${Tp + 10}" stroke="#e69f00" stroke-width="2.5" stroke-dasharray="7 4"/><text x="${L + 46}" y="${Tp + 14}">${esc(T.pinned)}</text>
      <line x1="${L + 130}" x2="${L + 160}" y1="${Tp + 10}" y2="${Tp + 10}" stroke="#0072b2" stroke-width="2"/><text x="${L + 166}" y="${Tp + 14}">${esc(T.current)}</text></g></svg>`;
  }

  let overlayRow = "all";
  async function renderCompare() {
    const box = $("compare");
    const a = pinned && current && current !== pinned ? await summary(pinned) : null;
    const b = a ? await summary(current) : null;
    if (!a || !b) { box.innerHTML = ""; box.hidden = true; return; }
    box.hidden = false;
    const names = [["all", T.all_sectors], ...a.table.filter((r) => b.series && b.series.rows[r.row]).map((r) => [r.row, r.label[LANG]])];
    if (!names.some(([k]) => k === overlayRow)) overlayRow = "all";
    const opts = names.map(([k, l]) => `<option value="${esc(k)}"${k === overlayRow ? " selected" : ""}>${esc(l)}</option>`).join("");
    box.innerHTML = `<h3>${esc(T.compare)}</h3>${compareTable(a, b)}
      <figure data-key="overlay"><figcaption>${esc(T.overlay_title)}</figcaption>
      <label for="overlay-row">${esc(T.overlay_row)}</label> <select id="overlay-row">${opts}</select>
      <div id="overlay-chart">${overlay(a, b, overlayRow)}</div></figure>`;
    $("overlay-row").addEventListener("change", (ev) => { overlayRow = ev.target.value; $("overlay-chart").innerHTML = overlay(a, b, overlayRow); });
  }

  async function renderPanes() {
    const parts = [];
    if (pinned) parts.push(await pane(pinned, "pinned"));
    if (current && current !== pinned) parts.push(await pane(current, "current"));
    $("panes").innerHTML = parts.join("");
    $("panes").classList.toggle("two", parts.filter((p) => p).length === 2);
    $("no-run").hidden = parts.some((p) => p);
    await renderCompare();
    for (const b of document.querySelectorAll("button.pin")) b.addEventListener("click", () => togglePin(b.dataset.key));
  }

  async function togglePin(key) {
    pinned = pinned === key ? null : key;
    if (pinned) store.setItem("segur.pinned", pinned); else store.removeItem("segur.pinned");
    await renderPanes();
  }

  $("run-form").addEventListener("submit", submit);
  $("scenario").addEventListener("change", () => { store.setItem("segur.scenario", $("scenario").value); loadScenario($("scenario").value); });
  $("reset").addEventListener("click", () => { clearErrors(); loadScenario($("scenario").value); });
  window.addEventListener("pagehide", () => {
    if (job && (job.state === "queued" || job.state === "running")) navigator.sendBeacon(`/api/jobs/${job.id}/cancel`);
  });

  (async () => {
    const saved = JSON.parse(store.getItem("segur.form") || "null");
    if (saved) { $("seed").value = saved.seed; $("scale").value = saved.scale; $("replications").value = saved.replications; }
    const picked = store.getItem("segur.scenario");  // kept across the language switch
    const same = saved && (!picked || picked === saved.scenario);
    await loadScenario(same ? saved.scenario : (picked || $("scenario").value), same ? saved.levers : null);
    await renderPanes();
    document.body.dataset.ready = "1";
  })();
})();
