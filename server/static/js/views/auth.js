// Sign in and sign up: one form, two modes.

import { api, session } from "../api.js";
import { h, clear, field, errorBox, showError } from "../dom.js";

export function mountAuth(main, { mode, onSignedIn }) {
  const signUp = mode === "register";
  const name = h("input", { type: "text", name: "name", autocomplete: "name", required: true, maxlength: "200" });
  const email = h("input", { type: "email", name: "email", autocomplete: "email", required: true });
  const password = h("input", {
    type: "password",
    name: "password",
    autocomplete: signUp ? "new-password" : "current-password",
    required: true,
    minlength: signUp ? "8" : null,
  });
  const error = errorBox();
  const submit = h("button", { type: "submit" }, signUp ? "Create account" : "Sign in");
  const heading = h("h1", { tabindex: "-1" }, signUp ? "Create your account" : "Sign in to Elevate");
  const form = h(
    "form",
    { class: "card auth", "aria-labelledby": "auth-heading", novalidate: false },
    heading,
    signUp ? field("Name", name) : null,
    field("Email", email),
    field(
      "Password",
      password,
      signUp ? "At least 8 characters, hard to guess: not a common password, not your email." : null,
    ),
    error,
    submit,
    h("p", { class: "switch" },
      signUp ? "Already have an account? " : "New here? ",
      h("a", { href: signUp ? "#/login" : "#/register" }, signUp ? "Sign in" : "Create an account"),
    ),
  );
  heading.id = "auth-heading";
  form.addEventListener("submit", async (ev) => {
    ev.preventDefault();
    showError(error, null);
    submit.disabled = true;
    try {
      const result = signUp
        ? await api.register(email.value.trim(), password.value, name.value.trim())
        : await api.login(email.value.trim(), password.value);
      session.save(result.user, result.token);
      onSignedIn(result.user);
    } catch (err) {
      const badEmail = signUp && (err.fields?.includes("email") || err.code === "registration_failed");
      showError(error, badEmail && err.code === "invalid_request"
        ? { message: "Enter a valid email address, such as name@example.com." }
        : err);
      (badEmail ? email : password).focus();
    } finally {
      submit.disabled = false;
    }
  });
  clear(main).append(h("div", { class: "centered" }, form));
  (signUp ? name : email).focus();
}
