"""The Elevate runtime: compiles stored agents into LangGraph graphs and runs group turns."""
