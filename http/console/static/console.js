// wxlogin console. Plain JavaScript, no build step, no dependencies.
//
// Security: the admin token lives only in the `token` variable of this closure (never in
// web storage or a cookie) and is sent as Authorization: Bearer to /admin/v1.
// Every value that comes from the server is put into the page with textContent or as an
// attribute value set through the DOM, never parsed as HTML.
"use strict";
(function () {
  let token = "";
  const $ = (id) => document.getElementById(id);
  const SVG = "http://www.w3.org/2000/svg";
  const COLORS = ["#067a3e", "#1a56db", "#c2410c", "#7e22ce", "#0e7490", "#a16207", "#be123c", "#4d7c0f"];

  // el builds an element: attrs are properties ("text" sets textContent, "on…" adds a listener,
  // others are attributes); children are nodes or strings (as text).
  function el(tag, attrs, ...children) {
    const n = document.createElement(tag);
    for (const [k, v] of Object.entries(attrs || {})) {
      if (v === undefined || v === null || v === false) continue;
      if (k === "text") n.textContent = String(v);
      else if (k.startsWith("on")) n.addEventListener(k.slice(2), v);
      else n.setAttribute(k, v === true ? "" : String(v));
    }
    for (const c of children.flat()) {
      if (c === undefined || c === null || c === false) continue;
      n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    }
    return n;
  }
  function svg(tag, attrs, ...children) {
    const n = document.createElementNS(SVG, tag);
    for (const [k, v] of Object.entries(attrs || {})) n.setAttribute(k, String(v));
    for (const c of children) n.append(c instanceof Node ? c : document.createTextNode(String(c)));
    return n;
  }
  const fmtTime = (s) => (s ? String(s).replace("T", " ").replace(/\.\d+/, "").replace("Z", " UTC") : "");

  function status(msg, bad) {
    const s = $("status");
    s.textContent = msg || "";
    s.classList.toggle("bad", !!bad);
  }

  class APIError extends Error {
    constructor(st, code, message) { super(message); this.status = st; this.code = code; }
  }

  // api calls the admin API and returns the decoded JSON (null for 204). A 401 signs out.
  async function api(method, path) {
    const resp = await fetch("/admin/v1" + path, {
      method, headers: { Authorization: "Bearer " + token, Accept: "application/json" },
      credentials: "omit", cache: "no-store", referrerPolicy: "no-referrer",
    });
    if (resp.status === 204) return null;
    let body = null;
    try { body = await resp.json(); } catch (e) { /* not JSON */ }
    if (!resp.ok) {
      const err = (body && body.error) || {};
      if (resp.status === 401 && token) signOut("Your admin token was refused; sign in again.");
      throw new APIError(resp.status, err.code || "http_" + resp.status, err.message || "request failed (" + resp.status + ")");
    }
    return body;
  }

  // ---- sign-in

  async function signIn(ev) {
    ev.preventDefault();
    const input = $("signin-token");
    const candidate = input.value.trim();
    $("signin-error").textContent = "";
    if (!candidate) { $("signin-error").textContent = "Enter an admin token."; input.focus(); return; }
    token = candidate;
    try {
      await api("GET", "/apps");
    } catch (e) {
      token = "";
      $("signin-error").textContent = e.status === 401 ? "That admin token was refused." :
        e.status === 404 ? "The admin API is not enabled on this server (no admin token is configured)." : e.message;
      input.select();
      input.focus();
      return;
    }
    input.value = "";
    $("signin").hidden = true;
    $("app").hidden = false;
    if (!location.hash || location.hash === "#") location.hash = "#overview";
    route();
  }

  function signOut(msg) {
    token = "";
    $("page").replaceChildren();
    $("app").hidden = true;
    $("signin").hidden = false;
    $("signin-error").textContent = msg || "";
    $("signin-token").focus();
  }

  // ---- routing: #overview, #users, #users/<id>, #audit, #webhooks, #clients

  const pages = { overview: showOverview, users: showUsers, audit: showAudit, webhooks: showWebhooks, clients: showClients };

  function route() {
    if (!token) return;
    const [name, ...rest] = location.hash.replace(/^#/, "").split("/");
    const page = pages[name] ? name : "overview";
    for (const a of document.querySelectorAll("[data-nav]")) {
      if (a.dataset.nav === page) a.setAttribute("aria-current", "page");
      else a.removeAttribute("aria-current");
    }
    status("");
    const root = $("page");
    root.replaceChildren();
    root.dataset.page = page;
    const arg = rest.length ? decodeURIComponent(rest.join("/")) : "";
    Promise.resolve(pages[page](root, arg)).catch((e) => status(e.message, true));
  }

  function heading(root, text) {
    const h = el("h1", { tabindex: "-1", text });
    root.append(h);
    h.focus();
    return h;
  }

  function table(columns, rows, empty) {
    if (!rows.length) return el("div", { class: "table-wrap" }, el("p", { class: "empty", text: empty || "Nothing to show." }));
    return el("div", { class: "table-wrap" },
      el("table", {},
        el("thead", {}, el("tr", {}, columns.map((c) => el("th", { scope: "col", text: c.title })))),
        el("tbody", {}, rows.map((r) => el("tr", {}, columns.map((c) => {
          const v = c.cell(r);
          return el("td", { class: c.mono ? "mono" : "" }, v instanceof Node ? v : String(v ?? ""));
        }))))));
  }

  // ---- overview

  async function showOverview(root) {
    heading(root, "Overview");
    status("Loading…");
    const st = await api("GET", "/stats");
    status("");
    const sum = (xs, f) => xs.reduce((n, x) => n + f(x), 0);
    const inst = st.instance;
    const cards = [
      ["Logins, last 48 hours", sum(st.logins_hourly, (b) => b.total)],
      ["Logins, last 30 days", sum(st.logins_daily, (b) => b.total)],
      ["New users, last 30 days", sum(st.new_users_daily, (b) => b.count)],
      ["Active sessions", st.active_sessions],
      ["WeChat API errors (this instance)", inst ? sum(inst.wechat_errors, (x) => x.count) : "n/a"],
      ["Rate-limit rejections (this instance)", inst ? sum(inst.rate_limited, (x) => x.count) : "n/a"],
    ];
    root.append(el("section", { class: "cards", "aria-label": "Totals" },
      cards.map(([label, value]) => el("div", { class: "card stat" }, el("div", { class: "value", text: value }), el("div", { class: "label", text: label })))));
    const hour = (s) => s.slice(11, 13) + "h";
    const day = (s) => s.slice(5, 10);
    const methods = keys(st.logins_daily, "by_method");
    const apps = keys(st.logins_daily, "by_app");
    root.append(el("div", { class: "charts" },
      chart("chart-hourly-method", "Logins per hour by door", st.logins_hourly, methods, (b, k) => b.by_method[k] || 0, hour),
      chart("chart-daily-method", "Logins per day by door", st.logins_daily, methods, (b, k) => b.by_method[k] || 0, day),
      chart("chart-hourly-app", "Logins per hour by app", st.logins_hourly, apps, (b, k) => b.by_app[k] || 0, hour, appName),
      chart("chart-daily-app", "Logins per day by app", st.logins_daily, apps, (b, k) => b.by_app[k] || 0, day, appName),
      chart("chart-new-users", "New users per day", st.new_users_daily, ["new users"], (b) => b.count, day)));
    if (st.truncated) root.append(el("p", { class: "hint", text: "More logins than the overview reads at once: the oldest days are undercounted." }));
    root.append(el("h2", { text: "WeChat API errors by errcode (this instance, since it started)" }));
    root.append(inst ? table([
      { title: "errcode", cell: (x) => x.errcode, mono: true }, { title: "API", cell: (x) => x.api },
      { title: "App", cell: (x) => x.appid, mono: true }, { title: "Count", cell: (x) => x.count },
    ], inst.wechat_errors, "No WeChat API errors.") : el("p", { class: "hint", text: "Metrics are not enabled on this server." }));
    root.append(el("h2", { text: "Rate-limit rejections (this instance, since it started)" }));
    root.append(inst ? table([
      { title: "Route", cell: (x) => x.route, mono: true }, { title: "Count", cell: (x) => x.count },
    ], inst.rate_limited, "No request was rate limited.") : el("p", { class: "hint", text: "Metrics are not enabled on this server." }));
  }

  const appName = (k) => (k === "" ? "(no app)" : k);

  function keys(buckets, field) {
    const totals = new Map();
    for (const b of buckets) for (const [k, v] of Object.entries(b[field] || {})) totals.set(k, (totals.get(k) || 0) + v);
    return [...totals.entries()].sort((a, b) => b[1] - a[1]).map((e) => e[0]);
  }

  // chart returns a card with a stacked bar chart (inline SVG) of buckets: one bar per bucket, one
  // stacked segment per series key.
  function chart(id, title, buckets, series, value, label, name) {
    name = name || ((k) => k);
    const W = 640, H = 220, left = 36, bottom = 22, top = 10;
    const totals = buckets.map((b) => series.reduce((n, k) => n + value(b, k), 0));
    const max = Math.max(1, ...totals);
    const bw = (W - left - 4) / buckets.length;
    const y = (v) => top + (H - top - bottom) * (1 - v / max);
    const total = totals.reduce((a, b) => a + b, 0);
    const g = svg("svg", { viewBox: `0 0 ${W} ${H}`, role: "img", "aria-labelledby": id + "-t " + id + "-d" },
      svg("title", { id: id + "-t" }, title),
      svg("desc", { id: id + "-d" }, `${total} in total; the highest bar is ${Math.max(0, ...totals)}.`));
    for (const v of [0, max / 2, max]) {
      g.append(svg("line", { x1: left, x2: W, y1: y(v), y2: y(v), stroke: "#dcdfe5" }));
      g.append(svg("text", { x: left - 4, y: y(v) + 4, "text-anchor": "end", "font-size": 11, fill: "#5c6370" }, String(Math.round(v))));
    }
    const every = Math.ceil(buckets.length / 8);
    buckets.forEach((b, i) => {
      let acc = 0;
      series.forEach((k, si) => {
        const v = value(b, k);
        if (!v) return;
        const r = svg("rect", { x: left + i * bw + 1, y: y(acc + v), width: Math.max(1, bw - 2), height: y(acc) - y(acc + v),
          fill: COLORS[si % COLORS.length], "data-value": v, class: "bar" });
        r.append(svg("title", {}, `${label(b.start)}: ${name(k)} ${v}`));
        g.append(r);
        acc += v;
      });
      if (i % every === 0) g.append(svg("text", { x: left + i * bw + bw / 2, y: H - 6, "text-anchor": "middle", "font-size": 11, fill: "#5c6370" }, label(b.start)));
    });
    return el("section", { class: "card chart", id, "aria-labelledby": id + "-h" },
      el("h2", { id: id + "-h", text: title }), g,
      el("ul", { class: "legend", "aria-label": "Legend" },
        series.length ? series.map((k, si) => el("li", {}, el("span", { class: "sw", "data-color": si, "aria-hidden": "true" }), name(k))) : el("li", { text: "No data yet." })));
  }

  // The legend swatches get their colour from the DOM, not from an inline style attribute (which
  // the CSP forbids).
  function paintSwatches(root) {
    for (const s of root.querySelectorAll(".sw[data-color]")) s.style.backgroundColor = COLORS[Number(s.dataset.color) % COLORS.length];
  }

  // ---- users

  const searchFields = [["", "All users"], ["id", "User id"], ["username", "Username"], ["openid", "OpenID"], ["unionid", "UnionID"], ["phone", "Phone"]];

  async function showUsers(root, id) {
    if (id) return showUser(root, id);
    heading(root, "Users");
    const field = el("select", { id: "user-field", name: "field" }, searchFields.map(([v, t]) => el("option", { value: v, text: t })));
    const value = el("input", { id: "user-q", name: "q", type: "search", spellcheck: "false" });
    const results = el("div", { id: "user-results" });
    let cursor = "";
    async function load(more) {
      if (!more) cursor = "";
      const q = new URLSearchParams();
      if (field.value && value.value.trim()) q.set(field.value, value.value.trim());
      if (cursor) q.set("cursor", cursor);
      q.set("limit", "50");
      status("Searching…");
      const page = await api("GET", "/users?" + q);
      status(`${page.users.length} user(s)` + (page.next_cursor ? ", more available" : "") + ".");
      const t = table([
        { title: "Id", cell: (u) => el("a", { href: "#users/" + encodeURIComponent(u.id), class: "mono", text: u.id }) },
        { title: "Nickname", cell: (u) => u.nickname },
        { title: "Username", cell: (u) => u.username || "" },
        { title: "UnionID", cell: (u) => u.unionid || "", mono: true },
        { title: "Phone", cell: (u) => (u.phone ? "+" + u.phone_country_code + " " + u.phone : "") },
        { title: "Status", cell: (u) => badge(!u.disabled) },
        { title: "Created", cell: (u) => fmtTime(u.created_at) },
      ], page.users, "No user matches.");
      if (!more) results.replaceChildren();
      results.append(t);
      cursor = page.next_cursor;
      if (cursor) results.append(el("div", { class: "actions" }, el("button", { type: "button", class: "secondary", text: "More users", onclick: (e) => { e.target.remove(); load(true).catch((er) => status(er.message, true)); } })));
    }
    root.append(el("form", { class: "form-row", role: "search", "aria-label": "Find users", onsubmit: (e) => { e.preventDefault(); load(false).catch((er) => status(er.message, true)); } },
      el("div", { class: "field" }, el("label", { for: "user-field", text: "Search by" }), field),
      el("div", { class: "field" }, el("label", { for: "user-q", text: "Value" }), value),
      el("button", { type: "submit", text: "Search" })), results);
    await load(false);
  }

  const badge = (enabled) => el("span", { class: "badge " + (enabled ? "on" : "off"), text: enabled ? "enabled" : "disabled" });

  async function showUser(root, id) {
    root.append(el("p", {}, el("a", { href: "#users", text: "← All users" })));
    status("Loading…");
    const d = await api("GET", "/users/" + encodeURIComponent(id));
    status("");
    const u = d.user;
    heading(root, "User " + (u.nickname || u.username || u.id));
    const again = () => { root.replaceChildren(); return showUser(root, id); };
    const act = (label, cls, method, path, done) => el("button", { type: "button", class: cls, text: label, onclick: async (e) => {
      e.target.disabled = true;
      try { const r = await api(method, path); await again(); status(done(r)); } catch (er) { status(er.message, true); e.target.disabled = false; }
    } });
    root.append(el("section", { class: "card", "aria-label": "Profile" },
      el("dl", { class: "props" },
        prop("Id", u.id, true), prop("Nickname", u.nickname), prop("Username", u.username || "—"),
        prop("UnionID", u.unionid || "—", true), prop("Phone", u.phone ? "+" + u.phone_country_code + " " + u.phone : "—"),
        el("dt", { text: "Status" }), el("dd", {}, badge(!u.disabled)),
        prop("Created", fmtTime(u.created_at)), prop("Updated", fmtTime(u.updated_at))),
      el("div", { class: "actions" },
        u.disabled ? act("Enable user", "secondary", "POST", `/users/${encodeURIComponent(id)}/enable`, () => "User enabled.")
          : act("Disable user", "danger", "POST", `/users/${encodeURIComponent(id)}/disable`, () => "User disabled; their sessions were revoked."),
        act("Revoke all sessions", "danger", "DELETE", `/users/${encodeURIComponent(id)}/sessions`, (r) => `${r.revoked} session(s) revoked.`))));

    root.append(el("h2", { text: "WeChat identities" }), table([
      { title: "App", cell: (x) => x.appid, mono: true }, { title: "OpenID", cell: (x) => x.openid, mono: true },
      { title: "UnionID", cell: (x) => x.unionid || "", mono: true }, { title: "Since", cell: (x) => fmtTime(x.created_at) },
    ], d.identities, "No WeChat identity."));

    root.append(el("h2", { text: "Sessions" }), table([
      { title: "Session", cell: (x) => x.id, mono: true }, { title: "Door", cell: (x) => x.method },
      { title: "App", cell: (x) => x.appid || "", mono: true }, { title: "IP", cell: (x) => x.ip || "" },
      { title: "Last seen", cell: (x) => fmtTime(x.last_seen_at) },
      { title: "State", cell: (x) => (x.active ? "active" : x.revoked_at ? "revoked" : "expired") },
      { title: "Action", cell: (x) => (x.active ? act("Revoke", "danger", "DELETE", "/sessions/" + encodeURIComponent(x.id), () => "Session revoked.") : "") },
    ], d.sessions, "No session."));

    root.append(el("h2", { text: "Audit trail" }), auditTable(d.audit_events));
    root.append(el("h2", { text: "Webhook deliveries" }), el("p", { class: "hint", text: "No webhooks are configured on this server." }));
  }

  const prop = (k, v, mono) => [el("dt", { text: k }), el("dd", { class: mono ? "mono" : "", text: v })];

  function auditTable(events) {
    return table([
      { title: "Time", cell: (e) => fmtTime(e.time) }, { title: "Event", cell: (e) => e.type },
      { title: "Actor", cell: (e) => e.actor_id || "", mono: true },
      { title: "User", cell: (e) => (e.user_id ? el("a", { href: "#users/" + encodeURIComponent(e.user_id), class: "mono", text: e.user_id }) : "") },
      { title: "App", cell: (e) => e.appid || "", mono: true }, { title: "IP", cell: (e) => e.ip || "" },
      { title: "Detail", cell: (e) => (e.detail ? JSON.stringify(e.detail) : ""), mono: true },
    ], events, "No audit event.");
  }

  // ---- audit

  async function showAudit(root) {
    heading(root, "Audit trail");
    const inputs = {
      user: el("input", { id: "audit-user", type: "text", spellcheck: "false" }),
      type: el("input", { id: "audit-type", type: "text", list: "audit-types", spellcheck: "false", placeholder: "e.g. login.success" }),
      since: el("input", { id: "audit-since", type: "datetime-local" }),
      until: el("input", { id: "audit-until", type: "datetime-local" }),
    };
    const types = ["login.success", "login.failure", "account.create", "user.merge", "user.disable", "user.enable",
      "session.revoke", "session.revoke_all", "logout.all", "refresh.reuse", "admin.user.read", "admin.users.search", "admin.audit.read", "admin.stats.read"];
    const out = el("div", { id: "audit-results" });
    const pager = el("div", { class: "actions" });
    let stack = [""]; // cursors of the pages seen: the last is the current page's
    async function load() {
      const q = new URLSearchParams({ limit: "50" });
      if (inputs.user.value.trim()) q.set("user", inputs.user.value.trim());
      if (inputs.type.value.trim()) q.set("type", inputs.type.value.trim());
      for (const k of ["since", "until"]) if (inputs[k].value) q.set(k, new Date(inputs[k].value + "Z").toISOString());
      const cur = stack[stack.length - 1];
      if (cur) q.set("cursor", cur);
      status("Loading…");
      const page = await api("GET", "/audit?" + q);
      status(`Page ${stack.length}: ${page.events.length} event(s), newest first.`);
      out.replaceChildren(auditTable(page.events));
      pager.replaceChildren(
        el("button", { type: "button", class: "secondary", text: "Newer", disabled: stack.length === 1, onclick: () => { stack.pop(); load().catch((e) => status(e.message, true)); } }),
        el("button", { type: "button", class: "secondary", text: "Older", disabled: !page.next_cursor, onclick: () => { stack.push(page.next_cursor); load().catch((e) => status(e.message, true)); } }));
    }
    const f = (k, label) => el("div", { class: "field" }, el("label", { for: inputs[k].id, text: label }), inputs[k]);
    root.append(el("form", { class: "form-row", "aria-label": "Filter the audit trail", onsubmit: (e) => { e.preventDefault(); stack = [""]; load().catch((er) => status(er.message, true)); } },
      f("user", "User id"), f("type", "Event type"), f("since", "Since (UTC)"), f("until", "Until (UTC)"),
      el("datalist", { id: "audit-types" }, types.map((t) => el("option", { value: t }))),
      el("button", { type: "submit", text: "Filter" })), out, pager);
    await load();
  }

  // ---- webhooks

  function showWebhooks(root) {
    heading(root, "Webhooks");
    root.append(el("div", { class: "card" },
      el("p", { text: "No webhooks are configured on this server." }),
      el("p", { class: "hint", text: "This wxlogin version does not send webhooks yet; their deliveries, and redelivering them, will appear here when it does." })));
  }

  // ---- clients and apps

  async function showClients(root) {
    heading(root, "Clients and apps");
    const [apps, clients] = await Promise.all([api("GET", "/apps"), api("GET", "/clients")]);
    root.append(el("p", { class: "hint", text: "Read-only: these come from the server's configuration. Secrets are never shown." }));
    root.append(el("h2", { text: "WeChat apps" }), table([
      { title: "AppID", cell: (a) => a.appid, mono: true }, { title: "Open platform", cell: (a) => a.platform || "—" },
    ], apps.apps, "No app is configured."));
    root.append(el("h2", { text: "Introspection clients" }), table([
      { title: "Client id", cell: (c) => c.client_id, mono: true },
    ], clients.introspection_clients, "No introspection client is configured."));
    root.append(el("h2", { text: "OpenID Connect clients" }), el("p", { class: "hint", text: "This wxlogin version is not an OpenID Connect provider yet." }));
  }

  // ---- start

  document.addEventListener("DOMContentLoaded", () => {
    $("signin-form").addEventListener("submit", signIn);
    $("signout").addEventListener("click", () => signOut("Signed out."));
    window.addEventListener("hashchange", route);
    new MutationObserver(() => paintSwatches($("page"))).observe($("page"), { childList: true, subtree: true });
    $("signin-token").focus();
  });
})();
