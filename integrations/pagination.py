"""Pagination as small strategy objects, and the one loop that drives every endpoint with them.

A paginator starts a request (`init_request`), reads each response (`update_state`), moves the request
to the next page (`update_request`) and says whether there is one (`has_next_page`). The loop in
`pages` is the only `while` over pages in the code base; a provider declares which paginator its
endpoints use and never writes a loop of its own.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any, Protocol

from integrations.errors import MalformedResponse
from integrations.provider import Endpoint

# A sanity bound: a provider that keeps handing back the same cursor would otherwise loop forever.
MAX_PAGES = 10_000


class Paginator(Protocol):
    def init_request(self, params: dict[str, Any]) -> None: ...
    def update_state(self, body: Any) -> None: ...
    def update_request(self, params: dict[str, Any]) -> None: ...
    @property
    def has_next_page(self) -> bool: ...


class NextTokenPaginator:
    """Repeat the query with the response's cursor until the cursor is null (Oura's `next_token`)."""

    def __init__(self, cursor_param: str, cursor_key: str) -> None:
        self.cursor_param = cursor_param
        self.cursor_key = cursor_key
        self.cursor: str | None = None
        self.seen: set[str] = set()

    def init_request(self, params: dict[str, Any]) -> None:
        params.pop(self.cursor_param, None)

    def update_state(self, body: Any) -> None:
        cursor = body.get(self.cursor_key) if isinstance(body, Mapping) else None
        if cursor is not None and not isinstance(cursor, str):
            raise MalformedResponse(f"{self.cursor_key} is not a string")
        if cursor in self.seen:
            raise MalformedResponse(f"the provider repeated the {self.cursor_key} it gave before")
        self.cursor = cursor or None
        if self.cursor:
            self.seen.add(self.cursor)

    def update_request(self, params: dict[str, Any]) -> None:
        params[self.cursor_param] = self.cursor

    @property
    def has_next_page(self) -> bool:
        return self.cursor is not None


class SinglePage:
    """One document, or one list, with no cursor."""

    def init_request(self, params: dict[str, Any]) -> None:
        pass

    def update_state(self, body: Any) -> None:
        pass

    def update_request(self, params: dict[str, Any]) -> None:
        pass

    @property
    def has_next_page(self) -> bool:
        return False


def paginator_for(endpoint: Endpoint) -> Paginator:
    if endpoint.pagination == "next_token":
        return NextTokenPaginator(endpoint.cursor_param, endpoint.cursor_key)
    if endpoint.pagination == "single":
        return SinglePage()
    raise ValueError(f"{endpoint.name}: unknown pagination style {endpoint.pagination!r}")


def items_of(endpoint: Endpoint, body: Any) -> list[Mapping[str, Any]]:
    """The documents of one response body, checked against the declared envelope."""
    if endpoint.data_key is None:
        if not isinstance(body, Mapping):
            raise MalformedResponse(f"{endpoint.name}: expected one JSON object")
        return [body]
    data = body.get(endpoint.data_key) if isinstance(body, Mapping) else None
    if not isinstance(data, list) or not all(isinstance(item, Mapping) for item in data):
        raise MalformedResponse(f"{endpoint.name}: expected a list of objects under {endpoint.data_key!r}")
    return data


@dataclass(frozen=True, slots=True)
class Page:
    items: list[Mapping[str, Any]]
    last: bool  # no page follows: the caller can commit its cursor with this one


def pages(get: Callable[[dict[str, Any]], Any], endpoint: Endpoint, params: Mapping[str, Any]) -> Iterator[Page]:
    """Every page of `endpoint` for `params`; `get(params)` fetches one body."""
    paginator = paginator_for(endpoint)
    request = dict(params)
    paginator.init_request(request)
    for _ in range(MAX_PAGES):
        body = get(request)
        try:
            paginator.update_state(body)
        except MalformedResponse as exc:
            raise MalformedResponse(f"{endpoint.name}: {exc}") from None
        yield Page(items_of(endpoint, body), last=not paginator.has_next_page)
        if not paginator.has_next_page:
            return
        paginator.update_request(request)
    raise MalformedResponse(f"{endpoint.name}: more than {MAX_PAGES} pages; the cursor never ends")
