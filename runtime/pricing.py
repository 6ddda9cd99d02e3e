"""Model prices: what a model call costs, computed on the server from the tokens it reported.

Prices are USD per million tokens for input, cached input (input the provider served from its
prompt cache, billed lower) and output. The shipped table (`runtime/data/model_prices.json`)
covers common OpenAI models and the free offline model; `settings.model_prices` (a JSON object,
or a path to a JSON or YAML file of the same shape) lays entries over it. A key is a full
`provider:model` name, or `provider:*` for every model of a provider. A dated snapshot
(`openai:gpt-4o-2024-08-06`) takes its model's price. Anything else costs 0 and is reported
`priced: false`, so an operator sees what to add instead of a guessed figure.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import yaml

from runtime.settings import Settings

SHIPPED = Path(__file__).parent / "data" / "model_prices.json"
PER = 1_000_000
SNAPSHOT = re.compile(r"-(\d{4}-\d{2}-\d{2}|\d{4})$")


class PriceTableError(ValueError):
    """`model_prices` cannot be read, or an entry is not a price (names the model)."""


@dataclass(frozen=True)
class Price:
    """USD per million tokens."""

    input: float
    output: float
    cached_input: float

    def cost(self, input_tokens: int, output_tokens: int, cached_tokens: int = 0) -> float:
        cached = min(max(cached_tokens, 0), input_tokens)
        total = (
            (input_tokens - cached) * self.input
            + cached * self.cached_input
            + output_tokens * self.output
        )
        return round(total / PER, 8)


@dataclass(frozen=True)
class Cost:
    cost: float
    priced: bool


class PriceTable:
    """Looks a model up and prices its tokens."""

    def __init__(self, prices: dict[str, Price]) -> None:
        self.prices = prices

    @classmethod
    def from_settings(cls, settings: Settings) -> PriceTable:
        entries = _entries(json.loads(SHIPPED.read_text()), str(SHIPPED))
        if settings.model_prices.strip():
            entries.update(_entries(_read_override(settings.model_prices), "model_prices"))
        return cls(entries)

    def find(self, model: str | None) -> Price | None:
        name = (model or "").strip()
        if name in self.prices:
            return self.prices[name]
        bare = SNAPSHOT.sub("", name)
        if bare != name and bare in self.prices:
            return self.prices[bare]
        provider = name.partition(":")[0]
        return self.prices.get(f"{provider}:*")

    def cost(
        self, model: str | None, input_tokens: int, output_tokens: int, cached_tokens: int = 0
    ) -> Cost:
        price = self.find(model)
        if price is None:
            return Cost(0.0, False)
        return Cost(price.cost(input_tokens, output_tokens, cached_tokens), True)


def _read_override(value: str) -> Any:
    text = value.strip()
    if text.startswith("{"):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            raise PriceTableError(f"model_prices is not valid JSON: {exc}") from exc
    path = Path(text)
    if not path.is_file():
        raise PriceTableError(f"model_prices names {text!r}, which is not a file")
    try:
        return yaml.safe_load(path.read_text())
    except yaml.YAMLError as exc:
        raise PriceTableError(f"model_prices file {text!r} does not parse: {exc}") from exc


def _entries(document: Any, where: str) -> dict[str, Price]:
    """`{"models": {name: {input, output, cached_input?}}}`, or the bare mapping of models."""
    if isinstance(document, dict) and isinstance(document.get("models"), dict):
        document = document["models"]
    if not isinstance(document, dict):
        raise PriceTableError(f"{where}: expected an object of models, got {type(document)}")
    return {str(name): _price(str(name), entry, where) for name, entry in document.items()}


def _price(name: str, entry: Any, where: str) -> Price:
    if ":" not in name:
        raise PriceTableError(f"{where}: model {name!r} must be provider:model (openai:{name})")
    if not isinstance(entry, dict):
        raise PriceTableError(f"{where}: the price of {name!r} must be an object")
    values: dict[str, float] = {}
    for key in ("input", "output", "cached_input"):
        raw = entry.get(key, entry.get("input") if key == "cached_input" else None)
        if isinstance(raw, bool) or not isinstance(raw, int | float) or raw < 0:
            raise PriceTableError(
                f"{where}: {name!r} needs {key!r} as a number >= 0 (USD per million tokens), "
                f"got {raw!r}"
            )
        values[key] = float(raw)
    return Price(**values)
