"""The price table: shipped prices, snapshots, overrides from settings, unknown models."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from runtime.pricing import PriceTable, PriceTableError
from runtime.settings import Settings


def test_a_shipped_model_is_priced_per_million_tokens_with_cached_input_cheaper() -> None:
    table = PriceTable.from_settings(Settings())
    # gpt-4o-mini: 0.15 input, 0.075 cached input, 0.60 output (USD per million tokens).
    cost = table.cost("openai:gpt-4o-mini", 1_000_000, 1_000_000, cached_tokens=400_000)
    assert cost.priced
    assert cost.cost == pytest.approx(600_000 * 0.15 / 1e6 + 400_000 * 0.075 / 1e6 + 0.60)


def test_a_dated_snapshot_takes_its_model_price_but_a_variant_does_not() -> None:
    table = PriceTable.from_settings(Settings())
    assert table.find("openai:gpt-4o-2024-08-06") == table.find("openai:gpt-4o")
    assert table.find("openai:gpt-4o-audio-preview") is None


def test_unknown_models_cost_nothing_and_say_so_while_offline_is_free() -> None:
    table = PriceTable.from_settings(Settings())
    assert table.cost("openai:my-finetune", 1000, 1000) == table.cost("vllm:llama", 5, 5)
    unknown = table.cost("openai:my-finetune", 1000, 1000)
    assert (unknown.cost, unknown.priced) == (0.0, False)
    offline = table.cost("offline:default", 1000, 1000)
    assert (offline.cost, offline.priced) == (0.0, True)


def test_cached_tokens_beyond_the_input_are_not_billed_twice() -> None:
    table = PriceTable.from_settings(Settings())
    capped = table.cost("openai:gpt-4o", 100, 0, cached_tokens=500)
    assert capped.cost == table.cost("openai:gpt-4o", 100, 0, cached_tokens=100).cost


def test_settings_override_a_price_and_add_a_model_as_json(tmp_path: Path) -> None:
    override = {
        "openai:gpt-4o": {"input": 1, "output": 2},
        "vllm:llama-3": {"input": 0.5, "output": 0.5},
    }
    table = PriceTable.from_settings(Settings(model_prices=json.dumps(override)))
    assert table.cost("openai:gpt-4o", 1_000_000, 0).cost == 1.0
    # Without a cached price, cached input costs what input costs.
    assert table.cost("openai:gpt-4o", 1_000_000, 0, cached_tokens=1_000_000).cost == 1.0
    assert table.cost("vllm:llama-3", 2_000_000, 0).priced
    assert table.cost("openai:gpt-4o-mini", 1_000_000, 0).cost == 0.15


def test_settings_name_a_yaml_file(tmp_path: Path) -> None:
    path = tmp_path / "prices.yaml"
    path.write_text("models:\n  'ollama:*': {input: 0, output: 0}\n")
    table = PriceTable.from_settings(Settings(model_prices=str(path)))
    assert table.cost("ollama:qwen", 10, 10).priced


@pytest.mark.parametrize(
    ("value", "named"),
    [
        ('{"openai:x": {"input": -1, "output": 1}}', "'openai:x'"),
        ('{"openai:x": {"input": "cheap", "output": 1}}', "'input'"),
        ('{"gpt-9": {"input": 1, "output": 1}}', "provider:model"),
        ("{not json", "not valid JSON"),
        ("/no/such/prices.yaml", "not a file"),
    ],
)
def test_a_bad_override_is_refused_naming_what_is_wrong(value: str, named: str) -> None:
    with pytest.raises(PriceTableError, match=named):
        PriceTable.from_settings(Settings(model_prices=value))
