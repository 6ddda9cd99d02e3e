"""The built-in tools. Importing this package registers them into the default registry and
does nothing else (it is the `elevate_builtin` entry point of the `elevate.tools` group)."""

from tools.builtin import course, kpis, memory

__all__ = ["course", "kpis", "memory"]
