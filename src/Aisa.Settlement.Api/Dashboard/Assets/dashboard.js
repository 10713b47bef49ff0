// Live parts of the dashboard: the deposits tables (the console's and the Confirmations page's) follow their JSON every
// second, the overview's chart every five.
"use strict";

function text(tag, value, className) {
  const element = document.createElement(tag);
  element.textContent = value == null ? "" : String(value);
  if (className) element.className = className;
  return element;
}

function confirmationBar(deposit) {
  const cell = document.createElement("td");
  if (deposit.finality && deposit.finality !== "depth") {
    // A rail final at a commitment level or when settled: no blocks to count.
    const done = deposit.state === "credited";
    cell.appendChild(text("span", done ? "final (" + deposit.finality + ")" : "waits until final " + deposit.finality, "confirmations"));
    return cell;
  }
  const required = Math.max(deposit.confirmationsRequired, 1);
  const done = deposit.state === "credited";
  const bar = document.createElement("span");
  bar.className = "bar" + (done ? " done" : "");
  bar.setAttribute("role", "progressbar");
  bar.setAttribute("aria-valuemin", "0");
  bar.setAttribute("aria-valuemax", String(required));
  bar.setAttribute("aria-valuenow", String(deposit.confirmations));
  const fill = document.createElement("span");
  fill.style.width = Math.min(100, (100 * deposit.confirmations) / required) + "%";
  bar.appendChild(fill);
  cell.appendChild(bar);
  cell.appendChild(text("span", " " + deposit.confirmations + "/" + deposit.confirmationsRequired, "confirmations"));
  return cell;
}

// What was last learned about a deposit (its latest transition's evidence), as name=value pairs; long hashes shortened.
function evidenceLine(evidence) {
  if (!evidence || typeof evidence !== "object") return "";
  return Object.entries(evidence)
    .filter(([, value]) => value !== null && value !== "" && typeof value !== "object")
    .map(([name, value]) => {
      const text = String(value);
      return name + "=" + (text.length > 24 ? text.slice(0, 10) + "…" + text.slice(-6) : text);
    })
    .join(" · ");
}

function depositRow(deposit) {
  const row = document.createElement("tr");
  row.dataset.depositId = deposit.id;
  if (deposit.state === "reorged" || deposit.state === "unattributed") row.className = "highlight";
  if (deposit.state === "failed") row.className = "failed";
  const link = document.createElement("a");
  link.href = "/dashboard/deposits/" + deposit.id;
  link.textContent = "#" + deposit.id;
  const idCell = document.createElement("td");
  idCell.appendChild(link);
  row.appendChild(idCell);
  row.appendChild(text("td", deposit.rail));
  row.appendChild(text("td", deposit.state, "state"));
  row.appendChild(confirmationBar(deposit));
  row.appendChild(text("td", deposit.amount, "num"));
  row.appendChild(text("td", deposit.agentId));
  const evidence = text("td", deposit.evidence, "mono");
  const latest = evidenceLine(deposit.latestEvidence);
  if (latest) {
    const detail = text("div", latest, "evidence-latest");
    detail.title = JSON.stringify(deposit.latestEvidence, null, 2);
    evidence.appendChild(detail);
  }
  row.appendChild(evidence);
  row.appendChild(text("td", deposit.updatedAt));
  return row;
}

async function followDeposits(table) {
  const source = table.dataset.source;
  try {
    const response = await fetch(source, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) { window.location.href = "/dashboard/login"; return; }
    if (response.ok) {
      const body = await response.json();
      const tbody = table.tBodies[0];
      tbody.replaceChildren(...body.deposits.map(depositRow));
      table.dataset.updated = new Date().toISOString();
    }
  } finally {
    setTimeout(() => followDeposits(table), 1000);
  }
}

async function followChart(svg) {
  try {
    const response = await fetch(svg.dataset.source, { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.ok) {
      const body = await response.json();
      const minutes = body.chargesPerMinute;
      const width = 600, height = 120, slot = width / Math.max(minutes.length, 1);
      const peak = Math.max(1, ...minutes.map(m => m.charges));
      svg.replaceChildren(...minutes.map((m, i) => {
        const bar = document.createElementNS("http://www.w3.org/2000/svg", "rect");
        const h = (height - 10) * m.charges / peak;
        bar.setAttribute("x", String(i * slot + 1));
        bar.setAttribute("y", String(height - h));
        bar.setAttribute("width", String(Math.max(slot - 2, 1)));
        bar.setAttribute("height", String(h));
        const title = document.createElementNS("http://www.w3.org/2000/svg", "title");
        title.textContent = m.minute + ": " + m.charges + " charges";
        bar.appendChild(title);
        return bar;
      }));
      const total = document.getElementById("charges-last-hour");
      if (total) total.textContent = String(minutes.reduce((sum, m) => sum + m.charges, 0));
    }
  } finally {
    setTimeout(() => followChart(svg), 5000);
  }
}

function ago(at) {
  if (!at) return "never";
  const seconds = Math.max(0, (Date.now() - Date.parse(at)) / 1000);
  return seconds < 90 ? Math.round(seconds) + " s ago" : seconds < 5400 ? Math.round(seconds / 60) + " min ago" : (seconds / 3600).toFixed(1) + " h ago";
}

// A control of Hangfire's own kind: its script posts to data-ajax with the antiforgery header and reloads the page.
function control(base, watcher, action, label) {
  const button = text("button", label, "btn btn-xs " + (action === "run" ? "btn-primary" : "btn-default"));
  button.type = "button";
  button.dataset.ajax = base + "/" + action + "/" + encodeURIComponent(watcher.job);
  button.dataset.action = action;
  button.dataset.job = watcher.job;
  return button;
}

function watcherRow(base, watcher) {
  const row = document.createElement("tr");
  row.dataset.job = watcher.job;
  if (watcher.lastOutcome === "failed") row.className = "failed";
  const name = text("td", watcher.job);
  name.appendChild(text("div", watcher.purpose, "text-muted"));
  row.appendChild(name);
  row.appendChild(text("td", watcher.schedule, "mono"));
  const last = text("td", watcher.lastOutcome ? watcher.lastOutcome + ", " + ago(watcher.lastEndedAt || watcher.lastStartedAt) : "no pass yet", "last-pass");
  if (watcher.lastError) last.appendChild(text("div", watcher.lastError, "mono last-error"));
  if (watcher.lastInstance) last.appendChild(text("div", "on " + watcher.lastInstance, "text-muted mono"));
  row.appendChild(last);
  row.appendChild(text("td", watcher.lagSeconds == null ? "never" : watcher.lagSeconds + " s", watcher.current ? "text-success" : "text-danger"));
  row.appendChild(text("td", watcher.head));
  const figures = watcher.summary ? Object.entries(watcher.summary).map(([name, value]) => name + " " + value).join(", ") : "";
  row.appendChild(text("td", figures, "mono"));
  row.appendChild(text("td", watcher.paused ? "paused" : "active", watcher.paused ? "text-warning state" : "state"));
  const actions = document.createElement("td");
  actions.appendChild(control(base, watcher, "run", watcher.lastOutcome === "failed" ? "Retry now" : "Run now"));
  actions.appendChild(document.createTextNode(" "));
  actions.appendChild(watcher.paused ? control(base, watcher, "resume", "Resume") : control(base, watcher, "pause", "Pause"));
  row.appendChild(actions);
  return row;
}

async function followConfirmations(watchers, deposits) {
  try {
    const response = await fetch("/dashboard/api/confirmations", { credentials: "same-origin", headers: { Accept: "application/json" } });
    if (response.status === 401) { window.location.href = "/dashboard/login"; return; }
    if (response.ok) {
      const body = await response.json();
      watchers.tBodies[0].replaceChildren(...body.watchers.map(w => watcherRow(watchers.dataset.controls, w)));
      deposits.tBodies[0].replaceChildren(...body.deposits.map(depositRow));
      deposits.dataset.updated = new Date().toISOString();
    }
  } finally {
    setTimeout(() => followConfirmations(watchers, deposits), 1000);
  }
}

document.querySelectorAll("table[data-live='deposits']").forEach(followDeposits);
const confirmationWatchers = document.getElementById("watchers"), confirmationDeposits = document.getElementById("confirmations");
if (confirmationWatchers && confirmationDeposits) followConfirmations(confirmationWatchers, confirmationDeposits);
document.querySelectorAll("svg[data-live='charges']").forEach(followChart);
