"""Password strength: common, trivial and personal passwords are refused with `weak_password`.

zxcvbn estimates how many guesses a password needs, against dictionaries of common passwords,
names and words, keyboard patterns, repeats and sequences, and the account's own email and name.
A password it scores below `MIN_SCORE` (0 to 4; 2 means "somewhat guessable", about 10^8
guesses) is refused with its feedback as the message, which the sign-up page shows.
"""

from __future__ import annotations

from zxcvbn import zxcvbn

from server.errors import ApiError

MIN_SCORE = 2
# zxcvbn's matching grows quickly with length; the first characters decide whether it is weak.
SCORED_CHARS = 100


def password_problem(password: str, *, email: str = "", name: str = "") -> str | None:
    """Why `password` is too weak for this account, or None when it is acceptable."""
    personal = [part for part in (email, email.split("@")[0], name, "elevate") if part]
    result = zxcvbn(password[:SCORED_CHARS], user_inputs=personal)
    if result["score"] >= MIN_SCORE:
        return None
    feedback = result.get("feedback") or {}
    reason = feedback.get("warning") or "This password is easy to guess."
    hint = " ".join(feedback.get("suggestions") or ["Use a few uncommon words together."])
    return f"{reason.rstrip('.')}. {hint}"


def check_password(password: str, *, email: str = "", name: str = "") -> None:
    """Raise 422 `weak_password` (naming the field) unless `password` is strong enough."""
    problem = password_problem(password, email=email, name=name)
    if problem is not None:
        raise ApiError(
            422,
            "weak_password",
            problem,
            details=[{"loc": ["body", "password"], "msg": problem, "type": "weak_password"}],
        )
