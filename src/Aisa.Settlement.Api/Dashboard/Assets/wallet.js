// The wallet's live part: while a deposit on the page is still open, its state and confirmations (k/N) and the balance
// follow the wallet's JSON every two seconds, until every deposit shown has ended.
"use strict";

const ended = new Set(["credited", "expired", "failed", "unattributed"]);

function open(rows) {
  return rows.some((row) => !ended.has(row.querySelector(".state").textContent));
}

async function follow() {
  const table = document.getElementById("deposits");
  if (!table) return;
  const rows = Array.from(table.querySelectorAll("tbody tr[data-deposit]"));
  if (!open(rows)) return;
  try {
    const response = await fetch("/agent/live", { headers: { Accept: "application/json" }, credentials: "same-origin" });
    if (response.status === 401) {
      // The session ended (a logout elsewhere, its expiry): the page itself now leads to the login.
      window.location.reload();
      return;
    }
    if (response.ok) {
      const live = await response.json();
      const balance = document.getElementById("balance");
      if (balance) balance.textContent = live.balance;
      for (const deposit of live.deposits) {
        const row = table.querySelector('tr[data-deposit="' + deposit.id + '"]');
        if (!row) continue;
        row.querySelector(".state").textContent = deposit.state;
        row.querySelector(".confirmations").textContent = deposit.confirmations + "/" + deposit.confirmationsRequired;
      }
    }
  } catch (error) {
    // The network hiccupped: the next round asks again.
  }
  setTimeout(follow, 2000);
}

document.addEventListener("DOMContentLoaded", follow);
