// The page of `ncf serve`: pick a user, see their history beside their top-k; click an
// item for similar items; or build a new user from a few items. Plain DOM, no build step.
"use strict";

const $ = (selector) => document.querySelector(selector);

// a service started with a token answers 401 / 403 without it: the page asks once, keeps
// it for this browser tab (sessionStorage), and sends it with every request
const TOKEN_KEY = "ncf-serve-token";
let asking = null; // the pending question, shared by requests that fail together

function askToken(wrong) {
  if (!asking) {
    asking = new Promise((resolve) => {
      const form = $("#token-form");
      $("#token-note").textContent = wrong
        ? "That token was refused. Token:" : "This service needs its token:";
      form.hidden = false;
      if (!modelShown) $("#model-name").textContent = "waiting for the token…";
      $("#token").focus();
      form.onsubmit = (event) => {
        event.preventDefault();
        sessionStorage.setItem(TOKEN_KEY, $("#token").value.trim());
        $("#token").value = "";
        form.hidden = true;
        asking = null;
        resolve();
      };
    });
  }
  return asking;
}

async function api(path, options) {
  for (;;) {
    const token = sessionStorage.getItem(TOKEN_KEY);
    const headers = { ...((options && options.headers) || {}) };
    if (token) headers.Authorization = `Bearer ${token}`;
    const response = await fetch(path, { ...options, headers });
    if (response.status === 401 || response.status === 403) {
      await askToken(Boolean(token));
      continue;
    }
    return answer(response);
  }
}

async function answer(response) {
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

let maxK = 100; // the service's cap, from /v1/model
let history = true; // whether the service shows users' histories (not with --no-history)
let modelShown = false; // /v1/model has answered

// the list length asked for, clamped to 1 .. maxK (and shown so in its box)
function k() {
  const box = $("#k");
  const value = parseInt(box.value, 10);
  const clamped = Number.isFinite(value) ? Math.max(1, Math.min(value, maxK)) : 10;
  box.value = String(clamped);
  return clamped;
}

// what each answer's path means, in words
const PATHS = {
  "known user": "scored by the model",
  "exact": "exact top-k",
  "hnsw": "approximate top-k (HNSW index)",
  "ivf": "approximate top-k (IVF index)",
  "sequence": "scored from the picked items in order",
  "row": "scored from the picked items' row",
  "least squares": "user vector fitted to the picked items by least squares",
  "gradient": "user vector fitted to the picked items by gradient steps",
  "popularity": "most popular items: pick some to personalise",
  "neighbours": "by the model's item neighbours",
  "embeddings": "by cosine of the model's item vectors",
  "co-occurrence": "by how often users have both (cosine)",
};
const said = (path) => PATHS[path] || path;

const PROTOCOLS = { full: "ranked against every item", rating: "rating error" };
function protocolText(protocol) {
  const sampled = /^sampled:(\d+)$/.exec(protocol || "");
  if (sampled) return `ranked against ${sampled[1]} sampled items`;
  return PROTOCOLS[protocol] || protocol;
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

function titleCell(item) {
  const td = cell(label(item), "title");
  if (item.seen) {
    const badge = document.createElement("span");
    badge.className = "badge";
    badge.textContent = "seen";
    badge.title = "already in the user's history";
    td.append(badge);
  }
  return td;
}

// ranked rows; the popularity path's scores are interaction counts
function fillRanked(table, answer) {
  const counts = answer.path === "popularity";
  const head = table.querySelector("th.score");
  head.textContent = counts ? "Interactions" : "Score";
  head.title = counts ? "How many users have the item" : "The model's score: higher is better";
  fillItems(table, answer.items, [
    (item) => cell(item.rank, "num"),
    titleCell,
    (item) => cell(genres(item), "genres"),
    (item) => cell(counts ? Math.round(item.score).toLocaleString() : item.score.toFixed(3), "num"),
  ]);
}

// a search box with a list of options below it; Enter picks the first option, or, when
// there is none, hands the typed text to `typed` (if given)
// a search box with suggestions; Enter takes the first suggestion only when the list was
// made for what is typed now (else the typed text itself), and a choice closes the list
// until the text changes. `search` returning null means no suggestions at all.
function picker(input, list, search, render, choose, typed) {
  let committed = null; // the text of the last choice: no suggestions for it
  const commit = (text) => {
    committed = text;
    list.hidden = true;
  };
  const update = debounce(async () => {
    const query = input.value.trim();
    if (query === committed) return;
    let options = [];
    try {
      options = await search(query);
    } catch (error) {
      options = [];
    }
    if (input.value.trim() !== query || query === committed) return; // out of date
    if (options === null) {
      list.hidden = true;
      return;
    }
    list.replaceChildren();
    list.dataset.query = query;
    if (!options.length && query) {
      const li = document.createElement("li");
      li.className = "empty";
      li.textContent = `no matches for “${query}”`;
      list.append(li);
    }
    for (const option of options) {
      const li = document.createElement("li");
      li.setAttribute("role", "option");
      render(li, option);
      li.addEventListener("mousedown", (event) => {
        event.preventDefault();
        choose(option);
        commit(input.value.trim());
      });
      list.append(li);
    }
    list.hidden = !list.firstChild || document.activeElement !== input;
  }, 120);
  input.addEventListener("input", () => {
    committed = null;
    update();
  });
  input.addEventListener("focus", update);
  input.addEventListener("blur", () => { list.hidden = true; });
  input.addEventListener("keydown", (event) => {
    if (event.key !== "Enter") return;
    event.preventDefault();
    const text = input.value.trim();
    const current = !list.hidden && list.dataset.query === text;
    const first = current ? list.querySelector("li[role=option]") : null;
    if (first) first.dispatchEvent(new MouseEvent("mousedown"));
    else if (typed && text) {
      typed(text);
      commit(text);
    }
  });
  input.addEventListener("keyup", (event) => {
    if (event.key === "Escape") list.hidden = true;
  });
}

// ---------------------------------------------------------------- the model in a corner

async function showModel() {
  try {
    const model = await api("/v1/model");
    modelShown = true;
    maxK = model.max_k || maxK;
    $("#k").max = String(maxK);
    history = model.history !== false;
    if (!history) {  // a service that only recommends: no history, no user search
      $("#history").closest(".panel").hidden = true;
      $("#exclude-seen").closest("label").hidden = true;
      $("#user-search").placeholder = "type a user id and press Enter";
    }
    $("#model-name").textContent =
      `${model.model} · ${model.users.toLocaleString()} users · ${model.items.toLocaleString()} items`;
    const test = (model.metrics && model.metrics.test) || {};
    // up to three metrics; one equal to a metric shown (recall@10 = hr@10 when one item is
    // held out per user) is left out
    const shown = [];
    for (const [name, value] of Object.entries(test)) {
      if (typeof value !== "number" || shown.some(([, v]) => v === value)) continue;
      if (shown.length < 3) shown.push([name, value]);
    }
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
    const data = model.data;  // its registry or file name (never a path of the server)
    about.title = data || "";
    about.textContent = [protocolText(model.protocol), data, said(model.retrieval)]
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
    const path = `/v1/users/${encodeURIComponent(user)}`;
    const [had, recs] = await Promise.all([
      history ? api(`${path}?limit=100`) : null,
      api(`${path}/recommendations?k=${k()}&exclude_seen=${seen}`),
    ]);
    if (had) {
      const shown = had.items.length;
      $("#history-count").textContent =
        shown < had.total ? `(${shown} of ${had.total}, latest first)`
          : `(${had.total}, latest first)`;
      const rated = had.items.some((item) => item.rating != null);
      $("#history thead th:last-child").hidden = !rated;  // implicit data: no ratings
      const columns = [(item) => cell(label(item), "title"), (item) => cell(genres(item), "genres")];
      if (rated) columns.push((item) => cell(item.rating, "num"));
      fillItems($("#history"), had.items, columns);
    }
    $("#rec-path").textContent = `(top ${recs.items.length}, ${said(recs.retrieval)})`;
    fillRanked($("#recommendations"), recs);
    $("#user-status").textContent = `User ${recs.user}. Click any item for similar ones.`;
  } catch (error) {
    currentUser = null;
    $("#user-status").textContent = `${error.message}.`;
    for (const id of ["#history", "#recommendations"]) $(`${id} tbody`).replaceChildren();
    $("#history-count").textContent = "";
    $("#rec-path").textContent = "";
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
    $("#new-path").textContent = `(${said(recs.path)})`;
    fillRanked($("#new-recommendations"), recs);
    $("#new-status").textContent = picked.size
      ? `${picked.size} item${picked.size > 1 ? "s" : ""} picked.`
      : "With no items, the most popular ones are shown.";
  } catch (error) {
    $("#new-status").textContent = error.message;
  }
}

// ---------------------------------------------------------------- similar items

function closeSimilar() {
  $("#similar").hidden = true;
  $("#backdrop").hidden = true;
}

async function showSimilar(item) {
  const drawer = $("#similar");
  drawer.hidden = false;
  $("#backdrop").hidden = false;
  $("#similar-title").textContent = `item ${item}`;
  try {
    const answer = await api(`/v1/items/${encodeURIComponent(item)}/similar?k=${k()}`);
    $("#similar-title").textContent = label(answer.item);
    $("#similar-path").textContent = said(answer.path);
    fillItems($("#similar-items"), answer.items, [
      (row) => cell(row.rank, "num"),
      (row) => cell(label(row), "title"),
      (row) => cell(genres(row), "genres"),
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
    (query) => (history ? api(`/v1/users?query=${encodeURIComponent(query)}&limit=12`) : null),
    (li, match) => {
      const main = document.createElement("span");
      main.className = "main";
      main.textContent = `user ${match.user}`;
      li.append(main);
      const hint = document.createElement("span");
      hint.className = "hint";
      hint.textContent = `${match.items} items`;
      li.append(hint);
    },
    (match) => showUser(match.user),
    (typed) => showUser(typed), // an id with no match: the service names it unknown
  );
  picker(
    $("#new-search"),
    $("#item-options"),
    (query) => (query ? api(`/v1/items?query=${encodeURIComponent(query)}&limit=12`) : []),
    (li, item) => {
      const main = document.createElement("span");
      main.className = "main";
      main.textContent = label(item);
      li.append(main);
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
  $("#similar-close").addEventListener("click", closeSimilar);
  $("#backdrop").addEventListener("click", closeSimilar);
  document.addEventListener("keydown", (event) => {
    if (event.key === "Escape") closeSimilar();
  });
  const refresh = () => {
    if (!$("#mode-user").hidden && currentUser != null) showUser(currentUser);
    if (!$("#mode-new").hidden) showNewUser();
  };
  $("#k").addEventListener("change", refresh);
  $("#exclude-seen").addEventListener("change", refresh);
});
