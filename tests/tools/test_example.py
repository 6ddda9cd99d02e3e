"""The custom-tool example works end to end: load, sync, grant with a config, call."""

from __future__ import annotations

from examples.custom_tool.grant_weather import main


async def test_example_grants_and_calls_the_weather_tool(database_url: str) -> None:
    result = await main(database_url)
    [schema] = result["schemas"]
    parameters = schema["function"]["parameters"]
    # `units` is fixed by the grant: hidden from the model, with its now unused enum type.
    assert set(parameters["properties"]) == {"city", "days"}
    assert "$defs" not in parameters
    outcome = result["outcome"]
    assert outcome["status"] == "ok"
    assert [f["units"] for f in outcome["result"]] == ["metric", "metric"]
    assert {f["source"] for f in outcome["result"]} == {"example-station"}
