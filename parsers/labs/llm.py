"""The LLM reader for what the rules could not read, and the grounding check on everything it returns.

Any OpenAI-compatible endpoint works (`OPENAI_BASE_URL`, `OPENAI_API_KEY`, `VITALIS_LLM_MODEL`; a local
model server too). Each page chunk is sent with personal identifiers masked and a JSON schema for the
answer. Transport failures and timeouts are retried by the client; an answer that is not the promised
JSON is asked again, a bounded number of times, then fails with a clear `LlmError`.

Nothing the model says is believed on its own: every name, value and unit it returns must be found in
that page's own text (whitespace and line breaks tolerated). Anything not found is rejected and
counted, never stored.
"""

from __future__ import annotations

import json
import os
import re
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from parsers.labs.extract import Page
from parsers.labs.pii import mask_identifiers
from parsers.labs.rules import ParsedReport, Source, marker_from_text
from parsers.vocabulary.dictionary import BiomarkerDictionary, load_dictionary

SCHEMA: dict[str, Any] = {
    "type": "object",
    "additionalProperties": False,
    "required": ["results"],
    "properties": {
        "results": {
            "type": "array",
            "items": {
                "type": "object",
                "additionalProperties": False,
                "required": ["name", "value", "unit", "reference_range", "flag"],
                "properties": {
                    "name": {"type": "string"},
                    "value": {"type": "string"},
                    "unit": {"type": ["string", "null"]},
                    "reference_range": {"type": ["string", "null"]},
                    "flag": {"type": ["string", "null"]},
                },
            },
        }
    },
}

INSTRUCTIONS = (
    "You read laboratory reports. From the page text, list each current test result exactly as printed: "
    "the test name, the value (with any < or > sign), the unit, the reference range and the flag. Copy "
    "text verbatim; do not convert, correct or infer anything. Leave out previous results, historical "
    "tables, interpretive tables and comments. Answer with JSON that matches the schema."
)


class LlmError(RuntimeError):
    """The model could not be asked or did not answer usably; the message never quotes report text."""


@dataclass(frozen=True, slots=True)
class LlmSettings:
    base_url: str | None
    api_key: str
    model: str
    timeout: float = 60.0
    attempts: int = 3  # answers that are not valid JSON are asked again this many times in all
    transport_retries: int = 2

    @classmethod
    def from_env(cls) -> LlmSettings | None:
        """None when no endpoint is configured: the LLM path is optional."""
        base_url = os.environ.get("OPENAI_BASE_URL") or None
        api_key = os.environ.get("OPENAI_API_KEY") or ""
        if base_url is None and not api_key:
            return None
        return cls(
            base_url=base_url,
            api_key=api_key or "not-needed",  # local servers accept any key; the client insists on one
            model=os.environ.get("VITALIS_LLM_MODEL", "gpt-4o-mini"),
            timeout=float(os.environ.get("VITALIS_LLM_TIMEOUT_SECONDS", "60")),
        )


@dataclass(frozen=True, slots=True)
class LlmResult:
    name: str
    value: str
    unit: str | None
    reference_range: str | None
    flag: str | None


@dataclass
class PageAnswer:
    accepted: list[tuple[LlmResult, int]] = field(default_factory=list)  # with the line it was found on
    rejected: int = 0


class LlmReader:
    def __init__(self, settings: LlmSettings) -> None:
        from openai import OpenAI

        self.settings = settings
        self.client = OpenAI(
            base_url=settings.base_url,
            api_key=settings.api_key,
            timeout=settings.timeout,
            max_retries=settings.transport_retries,
        )
        self.calls = 0

    def read(self, page_text: str, lines: list[str] | None = None) -> list[LlmResult]:
        """Ask for the results on one page chunk (masked first); raises LlmError after bounded attempts."""
        import openai

        prompt = mask_identifiers("\n".join(lines) if lines else page_text)
        last_problem = "no answer"
        for _ in range(self.settings.attempts):
            self.calls += 1
            try:
                response = self.client.chat.completions.create(
                    model=self.settings.model,
                    messages=[{"role": "system", "content": INSTRUCTIONS}, {"role": "user", "content": prompt}],
                    response_format={
                        "type": "json_schema",
                        "json_schema": {"name": "lab_results", "strict": True, "schema": SCHEMA},
                    },
                    temperature=0,
                )
            except openai.APITimeoutError:
                raise LlmError(f"the model did not answer within {self.settings.timeout:g} s") from None
            except openai.APIConnectionError:
                raise LlmError("the model endpoint could not be reached") from None
            except openai.APIStatusError as exc:
                raise LlmError(f"the model endpoint refused the request (HTTP {exc.status_code})") from None
            content = response.choices[0].message.content if response.choices else None
            try:
                return _results(json.loads(content or ""))
            except (ValueError, TypeError, KeyError) as exc:
                last_problem = type(exc).__name__
        raise LlmError(f"the model answered {self.settings.attempts} times without valid JSON ({last_problem})")


def _results(data: dict[str, Any]) -> list[LlmResult]:
    out = []
    for item in data["results"]:
        if (
            not isinstance(item, dict)
            or not isinstance(item.get("name"), str)
            or not isinstance(item.get("value"), str)
        ):
            raise ValueError("a result without a name or value")
        out.append(
            LlmResult(
                name=item["name"].strip(),
                value=item["value"].strip(),
                unit=(item.get("unit") or "").strip() or None,
                reference_range=(item.get("reference_range") or "").strip() or None,
                flag=(item.get("flag") or "").strip() or None,
            )
        )
    return out


def _squash(text: str) -> str:
    return re.sub(r"\s+", "", text).casefold()


def ground(results: list[LlmResult], lines: list[str]) -> PageAnswer:
    """Keep the results whose name, value and unit all appear on the page; count the rest as rejected.

    Name, value and unit must be found on one line, or on a line and the next (a name that wraps):
    a unit or a number found elsewhere on the page proves nothing about this result. A value must stand
    as a whole number there ("4" is not found in "45" or "4.5").
    """
    answer = PageAnswer()
    # Single lines first, so a result is placed on its own line; then each line with the next.
    spans = [(i, lines[i]) for i in range(len(lines))] + [
        (i, f"{lines[i]} {lines[i + 1]}") for i in range(len(lines) - 1)
    ]
    windows = [" ".join(text.split()).casefold() for _, text in spans]
    squashed = [_squash(w) for w in windows]
    for result in results:
        name = _squash(result.name)
        value = re.compile(rf"(?<![\d.,]){re.escape(' '.join(result.value.split()).casefold())}(?![\d.,]*\d)")
        unit = _squash(result.unit) if result.unit else ""
        found = next(
            (
                i
                for i in range(len(windows))
                if name and name in squashed[i] and value.search(windows[i]) and unit in squashed[i]
            ),
            None,
        )
        if found is None:
            answer.rejected += 1
        else:
            answer.accepted.append((result, spans[found][0] + 1))
    return answer


LLM_CONFIDENCE_FACTOR = Decimal("0.7")


def pages_to_ask(report: ParsedReport, pages: list[Page]) -> dict[int, list[str] | None]:
    """Page number -> the lines to send (None: the whole page). Only what the rules left unread."""
    if not report.markers:
        return {page.number: None for page in pages if page.lines}
    ask: dict[int, list[str] | None] = {}
    for item in report.unresolved:
        ask.setdefault(item.source.page, []).append(item.source.text)
    return ask


def ask(reader: LlmReader, report: ParsedReport, pages: list[Page]) -> dict[int, list[LlmResult]]:
    by_number = {page.number: page for page in pages}
    return {number: reader.read(by_number[number].text, lines) for number, lines in pages_to_ask(report, pages).items()}


def add_answers(
    report: ParsedReport,
    pages: list[Page],
    answers: dict[int, list[LlmResult]],
    vocabulary: BiomarkerDictionary | None = None,
) -> ParsedReport:
    """Ground each page's answers in that page's text and add the new ones; the rules' markers win."""
    vocabulary = vocabulary or load_dictionary()
    seen = {_marker_key(m.result.slug, m.result.raw_name) for m in report.markers}
    by_number = {page.number: page for page in pages}
    for number, results in answers.items():
        page = by_number[number]
        lines = [line.text for line in page.lines]
        grounded = ground(results, lines)
        report.llm_rejected += grounded.rejected
        for result, line in grounded.accepted:
            source = Source(number, line, lines[line - 1], None, page.source == "ocr")
            marker = marker_from_text(
                vocabulary,
                report.decimal_comma,
                source,
                name=result.name,
                value=result.value,
                unit=result.unit,
                reference=result.reference_range,
                flag=result.flag,
                how="llm",
                confidence_factor=LLM_CONFIDENCE_FACTOR,
            )
            if marker is None:
                report.llm_rejected += 1
                continue
            key = _marker_key(marker.result.slug, marker.result.raw_name)
            if key not in seen:
                seen.add(key)
                report.markers.append(marker)
    return report


def _marker_key(slug: str | None, name: str) -> str:
    return slug or " ".join(name.casefold().split())
