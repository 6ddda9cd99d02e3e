"""A custom tool living outside the product's code: a (toy, offline) weather forecast.

Nothing in Elevate imports this module by path. A process loads it because its operator says
so: `ELEVATE_TOOL_MODULES=examples.custom_tool.weather`, or an `elevate.tools` entry point in
the package that ships it. Importing it registers `weather_forecast` into the default registry.
"""

from __future__ import annotations

import hashlib
from enum import StrEnum
from typing import Annotated

from pydantic import BaseModel, Field

from tools import ToolContext, ToolError, tool


class Units(StrEnum):
    METRIC = "metric"
    IMPERIAL = "imperial"


class Forecast(BaseModel):
    city: str
    day: int
    summary: str
    high: float
    low: float
    units: Units
    source: str


SKIES = ("sunny", "cloudy", "light rain", "windy", "foggy")


@tool
async def weather_forecast(
    city: str,
    days: Annotated[int, Field(ge=1, le=7)] = 1,
    units: Units = Units.METRIC,
    *,
    ctx: ToolContext,
) -> list[Forecast]:
    """Forecast the weather in a city for the next few days.

    Args:
        city: City name, e.g. "Lyon".
        days: How many days, today included (1 to 7).
        units: "metric" (°C) or "imperial" (°F).
    """
    if not city.strip():
        raise ToolError("give a city name")
    # Per-grant settings reach the tool through the injected context.
    source = str(ctx.settings.get("source", "toy-forecast"))
    forecasts = []
    for day in range(days):
        seed = int(hashlib.sha256(f"{city.lower()}:{day}".encode()).hexdigest()[:8], 16)
        high_c = 8 + seed % 20
        low_c = high_c - 4 - seed % 5
        convert = (lambda c: c) if units is Units.METRIC else (lambda c: round(c * 9 / 5 + 32))
        forecasts.append(
            Forecast(
                city=city,
                day=day,
                summary=SKIES[seed % len(SKIES)],
                high=convert(high_c),
                low=convert(low_c),
                units=units,
                source=source,
            )
        )
    return forecasts
