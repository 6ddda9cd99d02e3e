// Profile: one's name, avatar, contact details and how to be reached; the password; and the
// devices signed in, each revocable (revoking one closes its open sockets at once).

import { request, session, ApiError } from "../api.js";
import { h, clear, announce, field, errorBox, showError } from "../dom.js";
import { showImage } from "../attachments.js";

const CHANNELS = [["email", "Email"], ["sms", "SMS"], ["phone", "Phone"], ["in_app", "In the app"]];

async function putAvatar(file) {
  const body = new FormData();
  body.append("file", file, file.name);
  const response = await fetch("/api/me/avatar", {
    method: "PUT",
    headers: { Authorization: `Bearer ${session.token}`, Accept: "application/json" },
    body,
  });
  const data = await response.json().catch(() => null);
  if (!response.ok) throw new ApiError(response.status, data?.code || "upload_failed", data?.message || "Upload failed");
  return data;
}

function describeSession(s) {
  const agent = s.user_agent || "Unknown device";
  const since = new Date(s.created_at).toLocaleString();
  return `${agent.length > 80 ? `${agent.slice(0, 80)}…` : agent} · signed in ${since}`;
}

export async function mountProfile(main, { onUserChanged }) {
  let profile = await request("GET", "/me/profile");
  const heading = h("h1", { tabindex: "-1" }, "Your profile");

  // ---- details ---------------------------------------------------------------------------
  const inputs = {
    name: h("input", { type: "text", name: "name", required: true, maxlength: "200", value: profile.name || "" }),
    phone: h("input", { name: "phone", type: "tel", maxlength: "64", value: profile.phone || "" }),
    address: h("textarea", { name: "address", rows: "2", maxlength: "1000" }),
    company: h("input", { type: "text", name: "company", maxlength: "200", value: profile.company || "" }),
    preferred_channel: h("select", { name: "preferred_channel" },
      h("option", { value: "" }, "No preference"),
      CHANNELS.map(([value, label]) => h("option", { value, selected: profile.preferred_channel === value }, label))),
    marketing_consent: h("input", { type: "checkbox", name: "marketing_consent", checked: !!profile.marketing_consent }),
  };
  inputs.address.value = profile.address || "";
  const prefs = profile.communication_preferences || {};
  const prefBoxes = CHANNELS.map(([value, label]) => {
    const box = h("input", { type: "checkbox", name: `pref-${value}`, checked: !!prefs[value] });
    return [value, box, h("label", { class: "check" }, box, ` ${label}`)];
  });
  const detailsError = errorBox();
  const details = h("form", { class: "card", "aria-labelledby": "profile-details" },
    h("h2", { id: "profile-details" }, "Details"),
    field("Name", inputs.name, "Shown to the people in your conversations."),
    field("Phone", inputs.phone),
    field("Address", inputs.address),
    field("Company", inputs.company),
    field("Preferred channel", inputs.preferred_channel),
    h("fieldset", {}, h("legend", {}, "You may contact me by"), prefBoxes.map(([, , label]) => label)),
    h("label", { class: "check consent" }, inputs.marketing_consent, " I agree to receive news and offers"),
    detailsError,
    h("button", { type: "submit" }, "Save details"),
  );
  details.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    const text = (v) => (v.trim() ? v.trim() : null);
    const body = {
      name: inputs.name.value.trim(),
      phone: text(inputs.phone.value),
      address: text(inputs.address.value),
      company: text(inputs.company.value),
      preferred_channel: inputs.preferred_channel.value || null,
      marketing_consent: inputs.marketing_consent.checked,
      communication_preferences: Object.fromEntries(prefBoxes.map(([v, box]) => [v, box.checked])),
    };
    try {
      profile = await request("PATCH", "/me/profile", body);
      showError(detailsError, null);
      onUserChanged(profile);
      announce("Details saved");
    } catch (err) {
      showError(detailsError, err);
    }
  });

  // ---- avatar ----------------------------------------------------------------------------
  const avatarImg = h("img", { class: "avatar", alt: "Your avatar", hidden: !profile.image });
  const avatarInput = h("input", { type: "file", accept: "image/png,image/jpeg,image/gif,image/webp", name: "avatar" });
  const removeAvatar = h("button", { type: "button", class: "secondary", hidden: !profile.image }, "Remove avatar");
  const avatarError = errorBox();
  const showAvatar = () => {
    avatarImg.hidden = removeAvatar.hidden = !profile.image;
    if (profile.image) showImage(avatarImg, profile.image).catch(() => {});
  };
  avatarInput.addEventListener("change", async () => {
    const [file] = avatarInput.files;
    avatarInput.value = "";
    if (!file) return;
    try {
      profile = await putAvatar(file);
      showError(avatarError, null);
      showAvatar();
      onUserChanged(profile);
      announce("Avatar updated");
    } catch (err) {
      showError(avatarError, err);
    }
  });
  removeAvatar.addEventListener("click", async () => {
    profile = await request("DELETE", "/me/avatar");
    avatarImg.removeAttribute("src");
    showAvatar();
    onUserChanged(profile);
  });
  const avatar = h("section", { class: "card", "aria-labelledby": "profile-avatar" },
    h("h2", { id: "profile-avatar" }, "Avatar"), avatarImg,
    field("Choose an image", avatarInput, "PNG, JPEG, GIF or WebP, up to 2 MB."), removeAvatar, avatarError);

  // ---- password --------------------------------------------------------------------------
  const current = h("input", { type: "password", name: "current_password", autocomplete: "current-password", required: true });
  const fresh = h("input", { type: "password", name: "new_password", autocomplete: "new-password", required: true, minlength: "8" });
  const passwordError = errorBox();
  const password = h("form", { class: "card", "aria-labelledby": "profile-password" },
    h("h2", { id: "profile-password" }, "Password"),
    field("Current password", current), field("New password", fresh, "At least 8 characters and hard to guess."),
    passwordError, h("button", { type: "submit" }, "Change password"));
  password.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    try {
      const done = await request("POST", "/me/password", { current_password: current.value, new_password: fresh.value });
      current.value = fresh.value = "";
      showError(passwordError, null);
      announce(`Password changed; ${done.revoked_sessions} other session(s) signed out`);
      await loadSessions();
    } catch (err) {
      showError(passwordError, err);
    }
  });

  // ---- sessions --------------------------------------------------------------------------
  const sessionList = h("ul", { class: "sessions", "aria-label": "Signed-in sessions" });
  async function loadSessions() {
    const sessions = await request("GET", "/me/sessions");
    clear(sessionList);
    for (const s of sessions) {
      const revoke = h("button", { type: "button", class: "secondary", dataset: { sessionId: s.id } }, s.current ? "Sign out here" : "Revoke");
      revoke.addEventListener("click", async () => {
        await request("DELETE", `/me/sessions/${encodeURIComponent(s.id)}`);
        announce("Session revoked");
        if (s.current) location.reload();
        else await loadSessions();
      });
      sessionList.append(h("li", { dataset: { sessionId: s.id } },
        h("span", {}, describeSession(s), s.current ? h("strong", {}, " (this device)") : null), revoke));
    }
  }
  await loadSessions();
  const sessions = h("section", { class: "card", "aria-labelledby": "profile-sessions" },
    h("h2", { id: "profile-sessions" }, "Where you are signed in"), sessionList);

  clear(main).append(h("section", { class: "page profile" }, heading, avatar, details, password, sessions));
  showAvatar();
  heading.focus();
}
