// segur app — teaching view: the demo territory day by day; a patient's Mon espace santé; FHIR.
"use strict";
(() => {
  const T = JSON.parse(document.getElementById("texts").textContent);
  const LANG = document.body.dataset.lang;
  const $ = (id) => document.getElementById(id);
  const esc = (s) => String(s ?? "").replace(/[&<>"']/g, (c) => ({ "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" }[c]));
  const dateFmt = new Intl.DateTimeFormat(LANG === "fr" ? "fr-FR" : "en-GB", { day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  const dayFmt = new Intl.DateTimeFormat(LANG === "fr" ? "fr-FR" : "en-GB", { weekday: "long", day: "numeric", month: "long", year: "numeric", timeZone: "UTC" });
  const ISO = /^\d{4}-\d\d-\d\d$/;
  const when = (d, f = dateFmt) => ISO.test(String(d ?? "")) ? f.format(new Date(d + "T00:00:00Z")) : String(d ?? "");
  const COLON = LANG === "fr" ? "\u00a0: " : ": ";
  let world = null;
  let day = 0;
  let playing = null;
  let activeActor = null;

  async function loadWorld() {
    const r = await fetch(`/api/teaching/world?lang=${LANG}`);
    const w = await r.json();
    if (w.state !== "ready") {
      $("world-status").textContent = w.error ? T.failed.replace("{error}", w.error) : T.loading_world;
      if (!w.error) setTimeout(loadWorld, 500);
      return;
    }
    world = w;
    $("world-status").textContent = "";
    const n = new Intl.NumberFormat(LANG === "fr" ? "fr-FR" : "en-GB").format(w.patients_total);
    $("territory").textContent = `${w.territory} · ${n} patients · ${when(w.dates[0])} → ${when(w.dates[w.dates.length - 1])}`;
    renderActors();
    const saved = Number(sessionStorage.getItem("segur.day") || 0);
    await show(Math.min(saved, w.dates.length - 1));
    document.body.dataset.ready = "1";
  }

  function renderActors() {
    const groups = new Map();
    for (const a of world.actors) { if (!groups.has(a.sector_label)) groups.set(a.sector_label, []); groups.get(a.sector_label).push(a); }
    let html = "";
    for (const [label, list] of groups) {
      html += `<div class="actor-group"><h3>${esc(label)}</h3>` + list.map((a) =>
        `<button type="button" class="actor" data-actor="${esc(a.id)}" aria-describedby="count-${esc(a.id.replace(":", "-"))}"><span>${esc(a.name)}</span>` +
        `<span class="count" id="count-${esc(a.id.replace(":", "-"))}"></span></button>`).join("") + "</div>";
    }
    $("actors").innerHTML = html;
    for (const b of document.querySelectorAll("button.actor")) b.addEventListener("click", () => openActor(b.dataset.actor));
  }

  async function show(n) {
    const t0 = performance.now();
    const r = await fetch(`/api/teaching/day/${n}?lang=${LANG}`);
    const d = await r.json();
    day = n;
    sessionStorage.setItem("segur.day", String(n));
    $("day-label").textContent = `${T.day.replace("{n}", n + 1).replace("{total}", d.n_days)} · ${when(d.date, dayFmt)}`;
    $("day-label").dataset.day = String(n);
    $("day-summary").textContent = d.summary;
    for (const b of document.querySelectorAll("button.actor")) {
      const c = d.actors[b.dataset.actor] || {};
      const span = b.querySelector(".count");
      span.innerHTML = (c.dmp_ok ? `<span class="ok">✓${c.dmp_ok}</span> ` : "") + (c.dmp_ko ? `<span class="ko">✗${c.dmp_ko}</span> ` : "") + (c.mss ? `✉${c.mss}` : "");
    }
    const items = d.documents.map((x) => `<li class="${esc(x.outcome)}" data-doc="${esc(x.id)}">
        <strong>${esc(x.from_name)}</strong> ${esc(T.sent_dmp)} : « ${esc(x.type_label)} » — ${esc(T.patient)}
        <button type="button" class="linkish patient" data-patient="${x.patient}">${esc(x.patient_name)}</button> —
        <span class="${x.outcome === "accepted" ? "ok" : "ko"}">${esc(x.outcome_label)}</span>
        ${x.why ? `<br><span class="why">${esc(T.why)}${COLON}${esc(x.why)}</span>` : ""}
        <button type="button" class="linkish fhir" data-fhir="${esc(x.id)}">FHIR</button></li>`);
    const msgs = d.messages.map((m) => `<li class="message ${esc(m.outcome)}"><strong>${esc(m.from_name)}</strong> ${esc(T.sent_mss)} ${esc(m.to_name)} :
        « ${esc(m.type_label)} » — <button type="button" class="linkish patient" data-patient="${m.patient}">${esc(m.patient_name)}</button> — ${esc(m.outcome_label)}</li>`);
    $("events").innerHTML = items.concat(msgs).join("");
    wire($("events"));
    $("back").disabled = n <= 0;
    $("step").disabled = n >= d.n_days - 1;
    if (n >= d.n_days - 1) pause();
    document.body.dataset.stepMs = String(Math.round(performance.now() - t0));
  }

  function wire(root) {
    for (const b of root.querySelectorAll("button.patient")) b.addEventListener("click", () => openPatient(Number(b.dataset.patient)));
    for (const b of root.querySelectorAll("button.fhir")) b.addEventListener("click", () => toggleFhir(b));
    for (const b of root.querySelectorAll("button.actorlink")) b.addEventListener("click", () => openActor(b.dataset.actor));
  }

  async function toggleFhir(btn) {
    const id = btn.dataset.fhir;
    const next = btn.nextElementSibling;
    if (next && next.classList.contains("fhir")) { next.remove(); btn.setAttribute("aria-expanded", "false"); return; }
    const r = await fetch(`/api/teaching/fhir/${encodeURIComponent(id)}`);
    const pre = document.createElement("pre");
    pre.className = "fhir";
    pre.tabIndex = 0;
    pre.setAttribute("aria-label", `FHIR ${id}`);
    pre.textContent = JSON.stringify(await r.json(), null, 2);
    btn.after(pre);
    btn.setAttribute("aria-expanded", "true");
  }

  function detail(title, html) {
    $("detail-h").textContent = title;
    $("detail").innerHTML = html + `<button type="button" class="secondary" id="close-detail">${esc(T.close)}</button>`;
    $("close-detail").addEventListener("click", () => { $("detail-h").textContent = ""; $("detail").innerHTML = ""; });
    wire($("detail"));
    $("detail-h").focus();
  }

  function docItem(x, withContent) {
    return `<li data-doc="${esc(x.id)}"><div><strong>${esc(T.type)}${COLON}</strong>${esc(x.type_label)} (${esc(x.type)})</div>
      <div><strong>${esc(T.author)}${COLON}</strong>${esc(x.author || x.from_name)} — ${esc(x.from_name)}</div>
      <div><strong>${esc(T.date)}${COLON}</strong><time datetime="${esc(x.date)}">${esc(when(x.date))}</time></div>
      ${withContent && x.content ? `<div><strong>${esc(T.content)}${COLON}</strong><div class="content">${esc(x.content)}</div></div>` : ""}
      ${x.outcome !== "accepted" ? `<div class="ko refusal"><strong>${esc(x.outcome_label)}</strong>${COLON}${esc(x.why || T.no_reason)}</div>` : ""}
      <button type="button" class="linkish fhir" data-fhir="${esc(x.id)}" aria-expanded="false">${esc(T.fhir)}</button></li>`;
  }

  async function openPatient(pid) {
    const r = await fetch(`/api/teaching/patient/${pid}?day=${day}&lang=${LANG}`);
    const p = await r.json();
    const list = p.documents.length ? `<ol class="timeline" aria-label="${esc(p.title)}">${p.documents.map((x) => docItem(x, true)).join("")}</ol>` : `<p>${esc(T.timeline_empty)}</p>`;
    const mail = p.mailbox.length ? `<h3>${esc(T.mailbox)}</h3><ul>${p.mailbox.map((m) => `<li><time datetime="${esc(m.date)}">${esc(when(m.date))}</time> — ${esc(m.from_name)}${COLON}« ${esc(m.type_label)} » (${esc(m.outcome_label)})</li>`).join("")}</ul>` : "";
    const miss = p.not_shown.length ? `<h3>${esc(T.not_shown)}</h3><ol class="timeline not-shown">${p.not_shown.map((x) => docItem(x, false)).join("")}</ol>` : "";
    detail(p.title, `<p class="meta">${esc(p.sex === "female" ? T.female : T.male)} · ${esc(T.born)} ${esc(when(p.birth))} · INS ${esc(p.ins)}</p>${list}${mail}${miss}`);
  }

  async function openActor(id) {
    activeActor = id;
    for (const b of document.querySelectorAll("button.actor")) b.classList.toggle("active", b.dataset.actor === id);
    const r = await fetch(`/api/teaching/actor/${encodeURIComponent(id)}?day=${day}&lang=${LANG}`);
    const a = await r.json();
    const sent = a.sent_documents.map((x) => `<li class="${esc(x.outcome)}">${esc(when(x.date))} ${esc(T.sent_dmp)} « ${esc(x.type_label)} » —
        <button type="button" class="linkish patient" data-patient="${x.patient}">${esc(x.patient_name)}</button> — ${esc(x.outcome_label)}${x.why ? ` (${esc(x.why)})` : ""}
        <button type="button" class="linkish fhir" data-fhir="${esc(x.id)}">FHIR</button></li>`).join("");
    const sentM = a.sent_messages.map((m) => `<li class="message">${esc(when(m.date))} ${esc(T.sent_mss)} ${esc(m.to_name)} « ${esc(m.type_label)} » — ${esc(m.outcome_label)}</li>`).join("");
    const recv = a.received.map((m) => `<li class="message">${esc(when(m.date))} ← ${esc(m.from_name)} « ${esc(m.type_label)} » — ${esc(m.patient_name)} — ${esc(m.outcome_label)}</li>`).join("");
    detail(a.name, `<p class="meta">${esc(a.author)} · ${esc(a.address)} · ${esc(a.operator)}</p>
      <h3>${esc(T.sent)}</h3><ol class="events">${sent}${sentM}</ol><h3>${esc(T.received)}</h3><ol class="events">${recv}</ol>`);
  }

  function play() {
    if (playing) return;
    $("play").disabled = true; $("pause").disabled = false;
    playing = setInterval(() => { if (world && day < world.dates.length - 1) show(day + 1); else pause(); }, 1500);
  }
  function pause() {
    if (playing) clearInterval(playing);
    playing = null;
    $("play").disabled = false; $("pause").disabled = true;
  }

  $("play").addEventListener("click", play);
  $("pause").addEventListener("click", pause);
  $("step").addEventListener("click", () => { if (world && day < world.dates.length - 1) show(day + 1); });
  $("back").addEventListener("click", () => { if (world && day > 0) show(day - 1); });
  document.addEventListener("keydown", (e) => {
    if (e.target.closest("input, select, textarea")) return;
    if (e.key === "ArrowRight" && world && day < world.dates.length - 1) show(day + 1);
    if (e.key === "ArrowLeft" && world && day > 0) show(day - 1);
  });
  loadWorld();
})();
