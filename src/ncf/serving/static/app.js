// The page of `ncf serve`: pick a user, see their history beside their top-k; click an
// item for similar items; or build a new user from a few items. Plain DOM, no build step.
"use strict";

const $ = (selector) => document.querySelector(selector);

async function api(path, options) {
  const response = await fetch(path, options);
  const body = await response.json().catch(() => ({}));
  if (!response.ok) {
    const detail = typeof body.detail === "string" ? body.detail : response.statusText;
    throw new Error(detail);
  }
  return body;
}

function cell(text, className) {
  const td = document.createElement("td");
  td.textContent = text == null ? "" : String(text);
  if (className) td.className = className;
  return td;
}

function label(item) {
  return item.title || `item ${item.item}`;
}

function genres(item) {
  return (item.genres || "").split("|").join(", ");
}

function debounce(fn, ms) {
  let timer;
  return (...args) => {
    clearTimeout(timer);
    timer = setTimeout(() => fn(...args), ms);
  };
}

function k() {
  const value = parseInt($("#k").value, 10);
  return Number.isFinite(value) && value > 0 ? Math.min(value, 100) : 10;
}

// rows of items; a click opens the similar items of the row's item
function fillItems(table, items, columns) {
  const body = table.querySelector("tbody");
  body.replaceChildren();
  for (const item of items) {
    const tr = document.createElement("tr");
    tr.dataset.item = item.item;
    for (const column of columns) tr.append(column(item));
    tr.addEventListener("click", () => showSimilar(item.item));
    body.append(tr);
  }
}

const RANKED = [
  (item) => cell(item.rank, "num"),
  (item) => cell(label(item), "title"),
  (item) => cell(genres(item), "genres"),
  (item) => cell(item.score.toFixed(3), "num"),
];

// a search box with a list of options below it
function picker(input, list, search, render, choose) {
  const update = debounce(async () => {
    const query = input.value.trim();
    let options = [];
    try {
      options = await search(query);
    } catch (error) {
      options = [];
    }
    list.replaceChildren();
    for (const option of options) {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      render(li, option);
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        list.hidden = true;
        choose(option);
      });
      list.append(li);
    }
    list.hidden = options.length === 0 || document.activeElement !== input;
  }, 120);
  input.addEventListener("input", update);
  input.addEventListener("focus", update);
  input.addEventListener("blur", () => { list.hidden = true; });
  input.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && list.firstChild) {
      event.preventDefault();
      list.firstChild.dispatchEvent(new MouseEvent("mousedown"));
    }
    if (event.key === "Escape") list.hidden = true;
  });
}

// ---------------------------------------------------------------- the model in a corner

async function showModel() {
  try {
    const model = await api("/v1/model");
    $("#model-name").textContent =
      `${model.model} · ${model.users.toLocaleString()} users · ${model.items.toLocaleString()} items`;
    const test = (model.metrics && model.metrics.test) || {};
    const shown = Object.entries(test).filter(([, value]) => typeof value === "number").slice(0, 3);
    const corner = $("#metrics");
    corner.replaceChildren();
    if (shown.length) {
      const line = document.createElement("div");
      line.append("test ");
      shown.forEach(([name, value], index) => {
        if (index) line.append(" · ");
        line.append(`${name} `);
        const b = document.createElement("b");
        b.textContent = value.toFixed(4);
        line.append(b);
      });
      corner.append(line);
    }
    const about = document.createElement("div");
    const data = model.data && model.data.includes("/")  // a path: its last two parts
      ? `…/${model.data.split("/").filter(Boolean).slice(-2).join("/")}` : model.data;
    about.title = model.data || "";
    about.textContent = [model.protocol && `protocol ${model.protocol}`, data, model.retrieval]
      .filter(Boolean).join(" · ");
    corner.append(about);
  } catch (error) {
    $("#model-name").textContent = `model unavailable: ${error.message}`;
  }
}

// ---------------------------------------------------------------- a known user

let currentUser = null;

async function showUser(user) {
  currentUser = user;
  $("#user-search").value = String(user);
  $("#user-status").textContent = `Loading user ${user}…`;
  const seen = $("#exclude-seen").checked;
  try {
    const [history, recs] = await Promise.all([
      api(`/v1/users/${encodeURIComponent(user)}?limit=100`),
      api(`/v1/users/${encodeURIComponent(user)}/recommendations?k=${k()}&exclude_seen=${seen}`),
    ]);
    const shown = history.items.length;
    $("#history-count").textContent =
      shown < history.total ? `(latest ${shown} of ${history.total})` : `(${history.total})`;
    const rated = history.items.some((item) => item.rating != null);
    $("#history thead th:last-child").hidden = !rated;  // implicit data: no ratings
    const columns = [(item) => cell(label(item), "title"), (item) => cell(genres(item), "genres")];
    if (rated) columns.push((item) => cell(item.rating, "num"));
    fillItems($("#history"), history.items, columns);
    $("#rec-path").textContent = `(top ${recs.items.length}, ${recs.retrieval})`;
    fillItems($("#recommendations"), recs.items, RANKED);
    $("#user-status").textContent = `User ${recs.user}. Click any item for similar ones.`;
  } catch (error) {
    $("#user-status").textContent = error.message;
  }
}

// ---------------------------------------------------------------- a new user

const picked = new Map(); // item id -> item

async function showNewUser() {
  const chips = $("#picked");
  chips.replaceChildren();
  for (const [id, item] of picked) {
    const li = document.createElement("li");
    li.append(label(item));
    const remove = document.createElement("button");
    remove.type = "button";
    remove.textContent = "×";
    remove.setAttribute("aria-label", `remove ${label(item)}`);
    remove.addEventListener("click", () => { picked.delete(id); showNewUser(); });
    li.append(remove);
    chips.append(li);
  }
  try {
    const recs = await api("/v1/recommendations", {
      method: "POST",
      headers: { "content-type": "application/json" },
      body: JSON.stringify({ items: [...picked.keys()], k: k() }),
    });
    $("#new-path").textContent = `(scored by ${recs.path})`;
    fillItems($("#new-recommendations"), recs.items, RANKED);
    $("#new-status").textContent = picked.size
      ? `${picked.size} item${picked.size > 1 ? "s" : ""} picked.`
      : "With no items, the most popular ones are shown.";
  } catch (error) {
    $("#new-status").textContent = error.message;
  }
}

// ---------------------------------------------------------------- similar items

async function showSimilar(item) {
  const drawer = $("#similar");
  drawer.hidden = false;
  $("#similar-title").textContent = `item ${item}`;
  try {
    const answer = await api(`/v1/items/${encodeURIComponent(item)}/similar?k=${k()}`);
    $("#similar-title").textContent = label(answer.item);
    $("#similar-path").textContent = `by ${answer.path}`;
    fillItems($("#similar-items"), answer.items, [
      (row) => cell(row.rank, "num"),
      (row) => cell(label(row), "title"),
      (row) => cell(row.score.toFixed(3), "num"),
    ]);
  } catch (error) {
    $("#similar-path").textContent = error.message;
    $("#similar-items tbody").replaceChildren();
  }
}

// ---------------------------------------------------------------- wiring

function setMode(mode) {
  for (const tab of document.querySelectorAll("nav button")) {
    tab.setAttribute("aria-selected", String(tab.dataset.mode === mode));
  }
  $("#mode-user").hidden = mode !== "user";
  $("#mode-new").hidden = mode !== "new";
  if (mode === "new") showNewUser();
}

document.addEventListener("DOMContentLoaded", () => {
  showModel();
  for (const tab of document.querySelectorAll("nav button")) {
    tab.addEventListener("click", () => setMode(tab.dataset.mode));
  }
  picker(
    $("#user-search"),
    $("#user-options"),
    (query) => api(`/v1/users?query=${encodeURIComponent(query)}&limit=12`),
    (li, match) => {
      li.append(`user ${match.user}`);
      const hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent = `${match.items} items`;
      li.append(hint);
    },
    (match) => showUser(match.user),
  );
  picker(
    $("#new-search"),
    $("#item-options"),
    (query) => (query ? api(`/v1/items?query=${encodeURIComponent(query)}&limit=12`) : []),
    (li, item) => {
      li.append(label(item));
      const hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent = genres(item);
      li.append(hint);
    },
    (item) => {
      picked.set(item.item, item);
      $("#new-search").value = "";
      showNewUser();
    },
  );
  $("#clear-picked").addEventListener("click", () => { picked.clear(); showNewUser(); });
  $("#similar-close").addEventListener("click", () => { $("#similar").hidden = true; });
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") $("#similar").hidden = true;
  });
  const refresh = () => {
    if (!$("#mode-user").hidden && currentUser != null) showUser(currentUser);
    if (!$("#mode-new").hidden) showNewUser();
  };
  $("#k").addEventListener("change", refresh);
  $("#exclude-seen").addEventListener("change", refresh);
});
