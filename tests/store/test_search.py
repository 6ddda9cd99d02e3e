"""The search query is words only, and snippets mark what matched (store/search.py)."""

from __future__ import annotations

from store.search import HIT_END, HIT_START, postgres_tsquery, snippet, sqlite_match, terms


def test_terms_keep_only_words() -> None:
    assert terms('"alpha" OR beta* NEAR(x, y) content:z ^q -w :* & !') == [
        "alpha",
        "or",
        "beta",
        "near",
        "x",
        "y",
        "content",
        "z",
        "q",
        "w",
    ]
    assert terms("!!! ??? ***") == []
    assert terms("snake_case Ünïcode 42") == ["snake", "case", "ünïcode", "42"]
    assert len(terms("w " * 100)) == 12


def test_each_word_becomes_a_quoted_prefix_term() -> None:
    assert sqlite_match(["alpha", "or"]) == '"alpha"* "or"*'
    assert postgres_tsquery(["alpha", "or"]) == "alpha:* & or:*"


def test_snippet_marks_the_words_that_start_with_a_query_word() -> None:
    marked = snippet("The Pricing page; price list and prize", ["pric"])
    assert (
        marked == f"The {HIT_START}Pricing{HIT_END} page; {HIT_START}price{HIT_END} list and prize"
    )
    assert snippet("un café crème", ["cafe"]) == f"un {HIT_START}café{HIT_END} crème"


def test_snippet_is_a_window_around_the_first_match() -> None:
    words = [f"w{i}" for i in range(100)]
    words[50] = "needle"
    found = snippet(" ".join(words), ["needle"], width=8)
    assert found.startswith("…w48") and found.endswith("w55…")
    assert f"{HIT_START}needle{HIT_END}" in found


def test_a_message_cannot_fake_a_mark() -> None:
    found = snippet(f"{HIT_START}fake{HIT_END} real", ["real"])
    assert found == f"fake {HIT_START}real{HIT_END}"
