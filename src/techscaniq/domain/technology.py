"""A detected technology and the evidence that shows why it was detected."""

from __future__ import annotations

from pydantic import BaseModel, Field


class Evidence(BaseModel):
    """One pattern that matched: where (`source`: headers, cookies, html, scriptSrc, ...), which key
    (header or cookie name), the pattern and the text it matched."""

    source: str
    key: str | None = None
    pattern: str
    matched: str
    version: str | None = None
    confidence: int = 100


class Detection(BaseModel):
    name: str
    version: str | None = None
    confidence: int = Field(default=100, ge=0, le=100)
    categories: list[str] = Field(default_factory=list)
    groups: list[str] = Field(default_factory=list)
    website: str | None = None
    cpe: str | None = None
    implied_by: list[str] = Field(default_factory=list)
    evidence: list[Evidence] = Field(default_factory=list)
