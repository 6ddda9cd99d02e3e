// Elevate chat: the page shell. Hash routes keep it a single static file the server serves at `/`.

import { api, session, onUnauthorized } from "./js/api.js";
import { h, clear, announce } from "./js/dom.js";
import { Socket } from "./js/socket.js";
import { mountAuth } from "./js/views/auth.js";
import { mountNewConversation } from "./js/views/conversations.js";
import { mountConversationList } from "./js/views/inbox.js";
import { Attention } from "./js/attention.js";
import { mountGroupList, mountGroup } from "./js/views/groups.js";
import { mountRoom } from "./js/views/room.js";
import { mountAgentList, mountAgentEditor } from "./js/views/agents.js";
import { mountCourse } from "./js/views/course.js";
import { mountDashboard } from "./js/views/dashboard.js";
import { mountCourseOwner } from "./js/views/dashboard_owner.js";
import { mountUsage } from "./js/views/usage.js";
import { mountProfile } from "./js/views/profile.js";
import { mountSearch, searchBox } from "./js/views/search.js";

const main = document.getElementById("main");
const nav = document.getElementById("nav");
const banner = document.getElementById("offline-banner");

const app = {
  me: session.user,
  socket: null,
  status: null,
  cleanup: null,
  routeToken: 0,
  attention: new Attention(),
};
window.elevate = app;

function navigate(hash) {
  if (location.hash === hash) route();
  else location.hash = hash;
}

async function loadStatus() {
  try {
    app.status = await api.status();
  } catch {
    app.status = null;
  }
  banner.hidden = !app.status?.offline;
}

function startSocket() {
  if (app.socket || !session.token) return;
  app.socket = new Socket(session.token);
  app.socket.on("auth-failed", async () => {
    try {
      await api.me();
    } catch (err) {
      if (err.status === 401) signedOut("Your session has ended. Please sign in again.");
    }
  });
  app.socket.connect();
  app.attention.start(app.socket);
}

function stopSocket() {
  app.attention.stop();
  app.socket?.close();
  app.socket = null;
}

function signedOut(message) {
  session.clear();
  app.me = null;
  stopSocket();
  renderNav();
  navigate("#/login");
  if (message) announce(message);
}

onUnauthorized(() => signedOut("Your session has ended. Please sign in again."));

function renderNav() {
  clear(nav);
  if (!app.me) return;
  const current = location.hash || "#/";
  const link = (href, label, match) =>
    h("a", { href, "aria-current": match(current) ? "page" : null }, label);
  nav.append(
    link("#/", "Conversations", (c) => c === "#/" || c.startsWith("#/c/")),
    app.attention.unreadBadge,
    link("#/new", "New", (c) => c.startsWith("#/new")),
    link("#/agents", "Agents", (c) => c.startsWith("#/agents")),
    link("#/groups", "Groups", (c) => c.startsWith("#/groups")),
    link("#/course", "Course", (c) => /^#\/(course|foundation|assets)(\/|$)/.test(c)),
    link("#/kpis", "KPIs", (c) => c.startsWith("#/kpis")),
    link("#/usage", "Usage", (c) => c.startsWith("#/usage")),
    ...(app.me.is_staff ? [link("#/course-analytics", "Course analytics", (c) => c.startsWith("#/course-analytics"))] : []),
    link("#/profile", "Profile", (c) => c.startsWith("#/profile")),
    searchBox(navigate),
    app.attention.bell,
    h("span", { class: "whoami" }, app.me.name),
    h("button", { type: "button", class: "link", onclick: signOut }, "Sign out"),
  );
}

async function signOut() {
  try {
    await api.logout();
  } catch {
    // The token is dropped locally either way.
  }
  signedOut("Signed out");
}

function parse(hash) {
  const parts = hash.replace(/^#\/?/, "").split("/").filter(Boolean).map(decodeURIComponent);
  return parts;
}

async function route() {
  const token = ++app.routeToken;
  app.cleanup?.();
  app.cleanup = null;
  const [section, id] = parse(location.hash);
  renderNav();
  if (!session.token) {
    if (section !== "register" && section !== "login") {
      navigate("#/login");
      return;
    }
    mountAuth(main, {
      mode: section,
      onSignedIn: (user) => {
        app.me = user;
        startSocket();
        navigate("#/");
      },
    });
    return;
  }
  if (section === "login" || section === "register") {
    navigate("#/");
    return;
  }
  startSocket();
  try {
    let cleanup = null;
    if (section === "c" && id) {
      cleanup = await mountRoom(main, { id, socket: app.socket, me: app.me });
    } else if (section === "new") {
      await mountNewConversation(main, { me: app.me, navigate, groupId: id });
    } else if (section === "groups" && id) {
      await mountGroup(main, { id, me: app.me });
    } else if (section === "groups") {
      await mountGroupList(main);
    } else if (section === "agents" && id) {
      await mountAgentEditor(main, { id, navigate });
    } else if (section === "agents") {
      await mountAgentList(main);
    } else if (["course", "foundation", "assets"].includes(section)) {
      cleanup = await mountCourse(main, { section, id, me: app.me, socket: app.socket, navigate });
    } else if (section === "kpis") {
      cleanup = await mountDashboard(main);
    } else if (section === "search") {
      await mountSearch(main, { query: id || "", navigate });
    } else if (section === "course-analytics") {
      cleanup = await mountCourseOwner(main);
    } else if (section === "usage") {
      cleanup = await mountUsage(main, { me: app.me });
    } else if (section === "profile") {
      await mountProfile(main, {
        me: app.me,
        onUserChanged: (user) => {
          app.me = { ...app.me, name: user.name, image: user.image };
          session.save(app.me);
          renderNav();
        },
      });
    } else {
      cleanup = await mountConversationList(main, { socket: app.socket });
    }
    // A newer navigation won while this view was loading: undo what this one set up.
    if (token !== app.routeToken) cleanup?.();
    else app.cleanup = cleanup;
  } catch (err) {
    if (token !== app.routeToken) return;
    const heading = h("h1", { tabindex: "-1" }, err.status === 404 || err.status === 403 ? "Not found" : "Something went wrong");
    clear(main).append(
      h("section", { class: "page card" }, heading, h("p", { role: "alert" }, err.message), h("a", { href: "#/" }, "Back to conversations")),
    );
    heading.focus();
  }
}

async function boot() {
  await loadStatus();
  if (session.token) {
    try {
      app.me = await api.me();
      session.save(app.me);
    } catch (err) {
      if (err.status === 401) session.clear();
    }
  }
  window.addEventListener("hashchange", route);
  await route();
  document.body.dataset.ready = "true";
}

boot();
