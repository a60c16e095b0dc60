// The org dashboard: reads the admin API with the session cookie and draws its figures.
"use strict";

const API = "/api/admin/analytics";
const charts = {};
const state = { org: null, course: "", from: "", to: "", data: null, learning: null, titles: {}, sort: { key: "risk", ascending: true } };
const RISK_RANK = { high: 0, medium: 1, low: 2 };
const REASON_LABELS = {
  inactive: "inactive", overdue: "overdue", behind_pace: "behind pace",
  failing_quizzes: "failing quizzes", never_started: "never started",
};
const $ = (id) => document.getElementById(id);
const pct = (v) => (v === null || v === undefined ? "n/a" : `${(v * 100).toFixed(0)}%`);
const minutes = (s) => `${Math.round(s / 60)} min`;

function query(extra = {}) {
  const params = new URLSearchParams({ organization_id: state.org, ...extra });
  if (state.course) params.set("course_id", state.course);
  if (state.from) params.set("from", state.from);
  if (state.to) params.set("to", state.to);
  return params.toString();
}

async function getJson(url) {
  const response = await fetch(url, { credentials: "same-origin", headers: { Accept: "application/json" } });
  if (response.status === 401) {
    window.location.assign("/login");
    throw new Error("signed out");
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  return body;
}

function showError(message) {
  const box = $("error");
  box.textContent = message;
  box.hidden = !message;
}

function draw(id, config) {
  if (charts[id]) charts[id].destroy();
  charts[id] = new Chart($(id), { ...config, options: { responsive: true, maintainAspectRatio: false, ...config.options } });
}

function fillSelect(select, options, selected) {
  select.replaceChildren(...options.map(([value, label]) => {
    const option = document.createElement("option");
    option.value = value;
    option.textContent = label;
    option.selected = value === selected;
    return option;
  }));
}

function renderFreshness(d) {
  const banner = $("freshness");
  let level = "ok";
  let text = d.data_fresh_as_of
    ? `Figures fresh as of ${new Date(d.data_fresh_as_of).toLocaleString()} (${minutes(d.data_age_seconds)} ago).`
    : "No figures have been built yet.";
  if (d.ingest_lagging) {
    level = "red";
    text = `Ingestion is lagging: the oldest waiting batch landed ${minutes(d.ingest_lag_seconds)} ago ` +
      `(SLA ${minutes(d.sla.ingest_lag_seconds)}, ${d.pending_files} file(s) waiting). ` + text;
  } else if (d.stale) {
    level = "yellow";
    text = `Figures are ${minutes(d.data_age_seconds)} old, past the ${minutes(d.sla.mart_freshness_seconds)} ` +
      "freshness target, and newer data is waiting to be processed.";
  }
  banner.className = `banner ${level}`;
  banner.dataset.level = level;
  banner.textContent = text;
}

function renderCourses(d) {
  const { titles } = state;
  draw("completion-chart", {
    type: "bar",
    data: {
      labels: d.courses.map((c) => titles[c.course_id]),
      datasets: [{ label: "Completion rate (%)", data: d.courses.map((c) => (c.completion_rate ?? 0) * 100), backgroundColor: "#1f5fa8" }],
    },
    options: { indexAxis: "y", scales: { x: { min: 0, max: 100, title: { display: true, text: "% of enrolled learners" } } } },
  });
  $("course-table").tBodies[0].replaceChildren(...d.courses.map((c) => {
    const row = document.createElement("tr");
    for (const value of [titles[c.course_id], c.enrolled_learners, c.completed_learners, pct(c.completion_rate)]) {
      const cell = document.createElement("td");
      cell.textContent = value;
      row.append(cell);
    }
    return row;
  }));
  const funnelCourses = [...new Set(d.dropoff.map((r) => r.course_id))];
  const current = funnelCourses.includes($("funnel-course").value) ? $("funnel-course").value : funnelCourses[0];
  fillSelect($("funnel-course"), funnelCourses.map((c) => [c, titles[c] || c]), current);
  renderFunnel();
}

function renderFunnel() {
  const course = $("funnel-course").value;
  const steps = state.data.dropoff.filter((r) => r.course_id === course);
  draw("dropoff-chart", {
    type: "bar",
    data: {
      labels: steps.map((s) => `${s.lesson_position}. ${s.lesson_title || s.lesson_id}`),
      datasets: [
        { label: "Started", data: steps.map((s) => s.learners_started), backgroundColor: "#1f5fa8" },
        { label: "Continued", data: steps.map((s) => s.learners_continued), backgroundColor: "#8fb3dc" },
      ],
    },
    options: {
      plugins: { tooltip: { callbacks: { afterBody: (items) => `Drop-off: ${pct(steps[items[0].dataIndex].dropoff_rate)}` } } },
      scales: { y: { beginAtZero: true, title: { display: true, text: "learners" } } },
    },
  });
}

function renderActivity(d) {
  draw("activity-chart", {
    type: "line",
    data: {
      labels: d.engagement.map((r) => r.activity_date),
      datasets: [
        { label: "Active learners", data: d.engagement.map((r) => r.active_learners), borderColor: "#1f5fa8", yAxisID: "learners" },
        { label: "Events", data: d.engagement.map((r) => r.events), borderColor: "#b45309", yAxisID: "events" },
      ],
    },
    options: {
      scales: {
        learners: { position: "left", beginAtZero: true, title: { display: true, text: "learners" } },
        events: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false }, title: { display: true, text: "events" } },
      },
    },
  });
}

function renderSurveys(d) {
  const s = d.surveys;
  $("survey-average").textContent = s.responses
    ? `Average ${s.average_rating.toFixed(2)} / 5 over ${s.responses} responses.`
    : "No survey responses yet.";
  draw("survey-chart", {
    type: "bar",
    data: {
      labels: ["1", "2", "3", "4", "5"],
      datasets: [{ label: "Responses", data: [1, 2, 3, 4, 5].map((k) => s.ratings[k]), backgroundColor: "#15803d" }],
    },
    options: { scales: { y: { beginAtZero: true, ticks: { precision: 0 } }, x: { title: { display: true, text: "rating" } } } },
  });
}

// Each cell names its column (data-label), for the stacked rows of a phone-width table.
function labelCells(table) {
  const names = [...table.tHead.querySelectorAll("th")].map((th) => (th.classList.contains("select-col") ? "" : th.textContent.trim()));
  for (const row of table.tBodies[0].rows) {
    [...row.cells].forEach((cell, i) => { if (names[i]) cell.dataset.label = names[i]; });
  }
}

function cells(row, values) {
  for (const value of values) {
    const cell = document.createElement("td");
    if (value instanceof Node) cell.append(value);
    else cell.textContent = value;
    row.append(cell);
  }
  return row;
}

// Codes, ids and ISO timestamps compare as plain strings, the same in every locale.
const compare = (x, y) => (x < y ? -1 : x > y ? 1 : 0);
const RISK_SORTS = {
  risk: (a, b) => RISK_RANK[a.risk_level] - RISK_RANK[b.risk_level] || b.reasons.length - a.reasons.length,
  reasons: (a, b) => compare(a.reasons.join(","), b.reasons.join(",")) || RISK_RANK[a.risk_level] - RISK_RANK[b.risk_level],
  course: (a, b) => compare(a.course_id, b.course_id),
  last: (a, b) => compare(a.last_activity_at || "", b.last_activity_at || ""),
  due: (a, b) => (a.days_to_due ?? Infinity) - (b.days_to_due ?? Infinity),
};

function renderRisk() {
  const rows = state.learning.at_risk.filter((r) => r.risk_level !== "low");
  const { key, ascending } = state.sort;
  rows.sort((a, b) => (ascending ? 1 : -1) * RISK_SORTS[key](a, b));
  const high = rows.filter((r) => r.risk_level === "high").length;
  $("risk-count").textContent = `${rows.length} at risk, ${high} high`;
  for (const header of $("risk-table").tHead.querySelectorAll("th")) {
    const button = header.querySelector("button.sort");
    if (button && button.dataset.key === key) header.setAttribute("aria-sort", ascending ? "ascending" : "descending");
    else header.removeAttribute("aria-sort");
  }
  // An org admin sees learners by name (the API names them for org admins only).
  const named = rows.some((r) => r.learner_name || r.learner_email);
  $("risk-table").classList.toggle("named", named);
  $("risk-contact").hidden = !named;
  $("select-all").checked = false;
  $("risk-table").tBodies[0].replaceChildren(...rows.map((r) => {
    const level = document.createElement("span");
    level.className = `risk-${r.risk_level}`;
    level.textContent = r.risk_level;
    const pick = document.createElement("label");
    const box = document.createElement("input");
    box.type = "checkbox";
    box.className = "pick";
    box.dataset.email = r.learner_email || "";
    const text = document.createElement("span");
    text.className = "sr-only";
    text.textContent = `Select ${r.learner_name || r.learner_email || "this learner"}`;
    pick.append(box, text);
    const row = cells(document.createElement("tr"), [
      pick, level, r.reasons.map((c) => REASON_LABELS[c] || c).join(", "), courseCell(r.course_id), learnerCell(r),
      r.last_activity_at ? new Date(r.last_activity_at).toLocaleDateString() : "never",
      `${r.lessons_completed} / ${r.lessons_total}`, r.days_to_due ?? "",
    ]);
    row.dataset.risk = r.risk_level;
    row.cells[0].className = "select-col";
    return row;
  }));
  labelCells($("risk-table"));
}

// A course or lesson by its title, its id in the tooltip for whoever needs the id.
function titled(title, id) {
  const span = document.createElement("span");
  span.textContent = title || id;
  span.title = id;
  return span;
}

const courseCell = (courseId) => titled(state.titles[courseId], courseId);

// A learner by name and e-mail (a mailto: link) where the API names them, else by token.
function learnerCell(r) {
  const cell = document.createElement("span");
  if (!r.learner_name && !r.learner_email) {
    cell.textContent = r.user_token.slice(0, 12);
    cell.title = r.user_token;
    return cell;
  }
  cell.textContent = r.learner_name || "";
  if (r.learner_email) {
    const link = document.createElement("a");
    link.className = "email";
    link.href = `mailto:${r.learner_email}`;
    link.textContent = r.learner_email;
    cell.append(link);
  }
  return cell;
}

async function contactSelected() {
  const emails = [...new Set([...document.querySelectorAll("#risk-table tbody input.pick:checked")]
    .map((box) => box.dataset.email).filter(Boolean))];
  const list = $("contact-list");
  list.value = emails.join(", ");
  list.parentElement.hidden = emails.length === 0;
  if (emails.length === 0) {
    $("contact-status").textContent = "Select learners first.";
    return;
  }
  try {
    await navigator.clipboard.writeText(list.value);
    $("contact-status").textContent = `Copied ${emails.length} e-mail address${emails.length === 1 ? "" : "es"}.`;
  } catch {
    list.select();
    $("contact-status").textContent = `${emails.length} e-mail address${emails.length === 1 ? "" : "es"} below: copy them.`;
  }
}

function renderVideo() {
  const lesson = $("video-select").value;
  const segments = state.learning.video.filter((r) => `${r.course_id}|${r.lesson_id}` === lesson);
  draw("video-chart", {
    type: "line",
    data: {
      labels: segments.map((s) => `${Math.round(s.segment_start_seconds)}–${Math.round(s.segment_end_seconds)} s`),
      datasets: [{ label: "Players who watched (%)", data: segments.map((s) => (s.reach_rate ?? 0) * 100), borderColor: "#1f5fa8", fill: false }],
    },
    options: {
      plugins: { tooltip: { callbacks: { afterBody: (items) => `${segments[items[0].dataIndex].viewers} of ${segments[items[0].dataIndex].learners_played} players, ${segments[items[0].dataIndex].views} views` } } },
      scales: { y: { min: 0, max: 100, title: { display: true, text: "% of players" } }, x: { title: { display: true, text: "segment of the video" } } },
    },
  });
}

function renderLearning() {
  renderRisk();
  const videos = [...new Map(state.learning.video.map((r) => [`${r.course_id}|${r.lesson_id}`, `${state.titles[r.course_id] || r.course_id}: ${r.lesson_title || `lesson ${r.lesson_position ?? r.lesson_id}`}`])).entries()];
  const current = videos.some(([v]) => v === $("video-select").value) ? $("video-select").value : videos[0]?.[0];
  fillSelect($("video-select"), videos, current);
  renderVideo();
  const flagged = state.learning.quiz_items.filter((q) => q.flag);
  $("quiz-none").hidden = flagged.length > 0;
  $("quiz-table").tBodies[0].replaceChildren(...flagged.map((q) => {
    const flag = document.createElement("span");
    flag.textContent = q.flag === "too_hard" ? "too hard" : "too easy";
    if (q.flag === "too_hard") flag.title = "too hard, or keyed wrong";
    return cells(document.createElement("tr"), [
      q.question_id, courseCell(q.course_id), titled(q.lesson_title, q.lesson_id), pct(q.first_attempt_correct_rate), pct(q.eventual_correct_rate),
      Number(q.attempts_per_learner).toFixed(2), flag,
    ]);
  }));
  labelCells($("quiz-table"));
}

function renderDownloads() {
  for (const link of document.querySelectorAll("a.download")) {
    link.href = `${API}/export?${query({ dataset: link.dataset.dataset })}`;
    link.setAttribute("download", "");
  }
}

async function load() {
  document.body.dataset.loading = "true";
  try {
    const [d, learning] = await Promise.all([getJson(`${API}?${query()}`), getJson(`${API}/learning?${query()}`)]);
    state.data = d;
    state.learning = learning;
    state.titles = Object.fromEntries(d.courses.map((c) => [c.course_id, c.title || c.course_id]));
    $("org-badge").textContent = d.organization_name || d.organization_id;
    $("summary").textContent = d.summary;
    if (!state.course) {
      fillSelect($("course-select"), [["", "All courses"], ...d.courses.map((c) => [c.course_id, c.title || c.course_id])], "");
    }
    renderFreshness(d);
    renderCourses(d);
    renderActivity(d);
    renderSurveys(d);
    renderLearning();
    renderDownloads();
    showError("");
    document.body.dataset.loaded = `${d.organization_id}|${d.course_id || ""}`;
  } catch (error) {
    showError(`Could not load the figures: ${error.message}`);
  } finally {
    document.body.dataset.loading = "false";
  }
}

async function start() {
  const { organizations } = await getJson(`${API}/organizations`);
  if (!organizations.length) {
    showError("Your token has no organization granted yet.");
    return;
  }
  const wanted = new URLSearchParams(window.location.search).get("organization_id");
  state.org = organizations.some((o) => o.organization_id === wanted) ? wanted : organizations[0].organization_id;
  fillSelect($("org-select"), organizations.map((o) => [o.organization_id, o.name || o.organization_id]), state.org);
  $("overview-link").hidden = organizations.length < 2;
  $("org-select").addEventListener("change", (e) => {
    Object.assign(state, { org: e.target.value, course: "" });
    load();
  });
  $("course-select").addEventListener("change", (e) => { state.course = e.target.value; load(); });
  $("date-from").addEventListener("change", (e) => { state.from = e.target.value; load(); });
  $("date-to").addEventListener("change", (e) => { state.to = e.target.value; load(); });
  $("funnel-course").addEventListener("change", renderFunnel);
  $("video-select").addEventListener("change", renderVideo);
  for (const button of document.querySelectorAll("button.sort")) {
    button.addEventListener("click", () => {
      const { key, ascending } = state.sort;
      state.sort = { key: button.dataset.key, ascending: key === button.dataset.key ? !ascending : true };
      renderRisk();
    });
  }
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  $("contact-selected").addEventListener("click", contactSelected);
  $("select-all").addEventListener("change", (e) => {
    for (const box of document.querySelectorAll("#risk-table tbody input.pick")) box.checked = e.target.checked;
  });
  await load();
}

start().catch((error) => showError(error.message));
