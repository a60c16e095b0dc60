// The org dashboard: reads the admin API with the session cookie and draws its figures.
"use strict";

const API = "/api/admin/analytics";
const charts = {};
const state = { org: null, course: "", from: "", to: "", data: null };
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
  const titles = Object.fromEntries(d.courses.map((c) => [c.course_id, c.title || c.course_id]));
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
      labels: steps.map((s) => `Lesson ${s.lesson_position}`),
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

function renderDownloads() {
  for (const link of document.querySelectorAll("a.download")) {
    link.href = `${API}/export?${query({ dataset: link.dataset.dataset })}`;
    link.setAttribute("download", "");
  }
}

async function load() {
  document.body.dataset.loading = "true";
  try {
    const d = await getJson(`${API}?${query()}`);
    state.data = d;
    $("org-badge").textContent = d.organization_name || d.organization_id;
    $("summary").textContent = d.summary;
    if (!state.course) {
      fillSelect($("course-select"), [["", "All courses"], ...d.courses.map((c) => [c.course_id, c.title || c.course_id])], "");
    }
    renderFreshness(d);
    renderCourses(d);
    renderActivity(d);
    renderSurveys(d);
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
  $("org-select").addEventListener("change", (e) => {
    Object.assign(state, { org: e.target.value, course: "" });
    load();
  });
  $("course-select").addEventListener("change", (e) => { state.course = e.target.value; load(); });
  $("date-from").addEventListener("change", (e) => { state.from = e.target.value; load(); });
  $("date-to").addEventListener("change", (e) => { state.to = e.target.value; load(); });
  $("funnel-course").addEventListener("change", renderFunnel);
  $("filters").addEventListener("submit", (e) => e.preventDefault());
  await load();
}

start().catch((error) => showError(error.message));
