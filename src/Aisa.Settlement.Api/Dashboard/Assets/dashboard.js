// Live parts of the dashboard: the deposits table follows its JSON every second, the overview's chart every five.
"use strict";

function text(tag, value, className) {
  const element = document.createElement(tag);
  element.textContent = value == null ? "" : String(value);
  if (className) element.className = className;
  return element;
}

function confirmationBar(deposit) {
  const cell = document.createElement("td");
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
  row.appendChild(text("td", deposit.evidence, "mono"));
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

document.querySelectorAll("table[data-live='deposits']").forEach(followDeposits);
document.querySelectorAll("svg[data-live='charges']").forEach(followChart);
