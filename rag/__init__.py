"""govrag: question answering over Chinese government work reports (政府工作报告)."""

from __future__ import annotations

__version__ = "0.1.0"
