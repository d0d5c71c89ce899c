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
  const numFmt = new Intl.NumberFormat(LANG === "fr" ? "fr-FR" : "en-GB", { maximumFractionDigits: 1 });
  const big = (x) => x === null || x === undefined ? "—" : (Math.abs(x) >= 1e6 ? numFmt.format(x / 1e6) + " M" : numFmt.format(x));
  const pct = (x) => x === null || x === undefined ? "—" : Math.round(x * 100) + " %";
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));

  function groupTitle(group, first) {
    if (group === "rules") return T.group_rules;
    if (group === "services") return T.group_services;
    const i = first.label.lastIndexOf("— ");
    return i >= 0 ? first.label.slice(i + 2) : group;
  }

  function renderLevers(data, values) {
    levers = data.levers;
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
          <p class="meta" id="meta-${id}">${esc(T.unit)}: ${esc(lv.unit)}${lv.source ? " · " + esc(T.source) + ": " + esc(lv.source) : ""}</p>
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
    if (!st.files_ready) {       // keep asking until the results folder is written
      const again = async () => {
        const r = await fetch(`/api/jobs/${st.id}`);
        const s2 = r.ok ? await r.json() : null;
        if (s2 && s2.files_ready) { stopPolling(); job = null; await renderPanes(); } else if (!s2) { stopPolling(); job = null; }
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
      if (s.scenario === $("scenario").value && lv.id in s.levers && String(s.levers[lv.id]) !== String(lv.default)) changed.push(`${lv.label}: ${s.levers[lv.id]}`);
    }
    return changed;
  }

  async function pane(key, slot) {
    const s = await summary(key);
    if (!s) return "";
    const figs = (s.figures[LANG] || []).map((f) => `<figure data-key="${f.key}">${f.svg}<figcaption>${esc(f.title)}</figcaption></figure>`).join("");
    const rows = s.table.map((r) => `<tr data-row="${esc(r.row)}"><td>${esc(r.label[LANG])}${r.assumption ? ` <span class="tag">${esc(T.assumption)}</span>` : ""}</td>
      <td>${big(r.target)}</td><td class="achieved">${big(r.achieved)}</td><td>${pct(r.share)}</td><td class="reached">${r.target ? esc(r.reached || T.not_reached) : "—"}</td></tr>`).join("");
    const at = s.table.length ? s.table[0].at : "";
    const rej = s.rejections.map((r) => `<tr><td>${esc(r.label[LANG])}</td><td>${big(r.documents)}</td></tr>`).join("");
    const changed = leverDiff(s);
    let downloads = `<p class="help">${esc(T.files_pending)}</p>`;
    const tr = await (await fetch(`/api/runs/${key}/tables`)).json();
    if (tr.ready) {
      const tables = tr.tables;
      downloads = `<a href="/api/runs/${key}/results.zip" download>${esc(T.zip)}</a><a href="/api/runs/${key}/report.html?lang=${LANG}">${esc(T.report)}</a> CSV: ` +
        tables.map((n) => `<a href="/api/runs/${key}/tables/${n}.csv" download>${esc(n)}</a>`).join(" ");
    }
    const isPinned = slot === "pinned";
    return `<article class="pane ${slot}" data-key="${key}" data-slot="${slot}" aria-label="${esc(isPinned ? T.pinned : T.current)}">
      <h3>${esc(isPinned ? T.pinned : T.current)}: ${esc(s.scenario)} · ${esc(T.seed).toLowerCase()} ${s.seed} · ${esc(T.scale).toLowerCase()} ${s.scale}${s.replications > 1 ? ` · ${s.replications}×` : ""}</h3>
      <p class="meta">${changed.length ? esc(changed.join(" · ")) : ""}</p>
      <button type="button" class="secondary pin" data-key="${key}">${esc(isPinned ? T.unpin : T.pin)}</button>
      ${s.bands ? "" : `<p class="help">${esc(T.bands_none)}</p>`}
      <h4>${esc(T.targets)}</h4>
      <table class="targets"><thead><tr><th scope="col">${esc(T.row)}</th><th scope="col">${esc(T.target)}</th><th scope="col">${esc(T.achieved.replace("{at}", at))}</th><th scope="col">${esc(T.share)}</th><th scope="col">${esc(T.reached)}</th></tr></thead><tbody>${rows}</tbody></table>
      ${figs}
      ${rej ? `<table class="rejections"><caption>${esc(T.rejections)}</caption><thead><tr><th scope="col">${esc(T.reason)}</th><th scope="col">${esc(T.documents)}</th></tr></thead><tbody>${rej}</tbody></table>` : ""}
      <p class="downloads"><strong>${esc(T.downloads)}:</strong> ${downloads}</p>
    </article>`;
  }

  async function renderPanes() {
    const parts = [];
    if (pinned) parts.push(await pane(pinned, "pinned"));
    if (current && current !== pinned) parts.push(await pane(current, "current"));
    $("panes").innerHTML = parts.join("");
    $("no-run").hidden = parts.some((p) => p);
    for (const b of document.querySelectorAll("button.pin")) b.addEventListener("click", () => togglePin(b.dataset.key));
  }

  async function togglePin(key) {
    pinned = pinned === key ? null : key;
    if (pinned) store.setItem("segur.pinned", pinned); else store.removeItem("segur.pinned");
    await renderPanes();
  }

  $("run-form").addEventListener("submit", submit);
  $("scenario").addEventListener("change", () => loadScenario($("scenario").value));
  $("reset").addEventListener("click", () => { clearErrors(); loadScenario($("scenario").value); });
  window.addEventListener("pagehide", () => {
    if (job && (job.state === "queued" || job.state === "running")) navigator.sendBeacon(`/api/jobs/${job.id}/cancel`);
  });

  (async () => {
    const saved = JSON.parse(store.getItem("segur.form") || "null");
    if (saved) { $("seed").value = saved.seed; $("scale").value = saved.scale; $("replications").value = saved.replications; }
    await loadScenario(saved ? saved.scenario : $("scenario").value, saved ? saved.levers : null);
    await renderPanes();
    document.body.dataset.ready = "1";
  })();
})();
