// Every organization the caller may see, from the admin API, each linking into its dashboard.
"use strict";

const pct = (v) => (v === null || v === undefined ? "n/a" : `${(v * 100).toFixed(0)}%`);

async function start() {
  const response = await fetch("/api/admin/analytics/overview", { credentials: "same-origin" });
  if (response.status === 401) {
    window.location.assign("/login");
    return;
  }
  const body = await response.json();
  if (!response.ok) throw new Error(body.error || `HTTP ${response.status}`);
  const rows = body.organizations.map((o) => {
    const row = document.createElement("tr");
    const link = document.createElement("a");
    link.href = o.dashboard;
    link.textContent = o.name || o.organization_id;
    link.title = o.organization_id;
    const values = [
      link, o.active_learners_7d, o.active_learners_30d, o.enrolled_learners, o.completed_learners,
      pct(o.completion_rate), `${o.at_risk_learners} (${o.high_risk_learners})`,
      o.data_fresh_as_of ? new Date(o.data_fresh_as_of).toLocaleString() : "no data yet",
    ];
    for (const value of values) {
      const cell = document.createElement("td");
      if (value instanceof Node) cell.append(value);
      else cell.textContent = value;
      row.append(cell);
    }
    row.dataset.org = o.organization_id;
    return row;
  });
  document.querySelector("#overview-table tbody").replaceChildren(...rows);
  document.getElementById("overview-count").textContent = `${rows.length} organizations`;
  document.body.dataset.loaded = "overview";
}

start().catch((error) => {
  const box = document.getElementById("error");
  box.textContent = `Could not load the organizations: ${error.message}`;
  box.hidden = false;
});
