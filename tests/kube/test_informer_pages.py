"""A paged LIST: the next page is asked for while this one is decoded, every item lands once, and
the continue token is read without building the page's items."""

from __future__ import annotations

import json
import threading
from typing import Any

from hypothesis import given
from hypothesis import strategies as st

from ironlb.kube.informer import Informer, continue_token

PAGES = 4
PER_PAGE = 3


class Response:
    def __init__(self, data: bytes) -> None:
        self.data = data


def page(i: int) -> bytes:
    meta: dict[str, Any] = {"resourceVersion": "40"}
    if i + 1 < PAGES:
        meta["continue"] = f"page-{i + 1}"
    items = [{"metadata": {"name": f"s{i}-{k}", "namespace": "default"}} for k in range(PER_PAGE)]
    return json.dumps({"metadata": meta, "items": items}).encode()


class PagedServer:
    """Answers a paged LIST; records which pages were asked for, and when page ``i + 1`` was."""

    def __init__(self) -> None:
        self.asked: list[int] = []
        self.asked_event = [threading.Event() for _ in range(PAGES)]

    def list_fn(self, **kwargs: Any) -> Response:
        if kwargs.get("watch"):
            raise SystemExit  # the test ends at the LIST
        token = kwargs.get("_continue")
        i = int(token.removeprefix("page-")) if token else 0
        self.asked.append(i)
        self.asked_event[i].set()
        return Response(page(i))


def test_the_next_page_is_asked_for_while_this_one_is_decoded() -> None:
    server = PagedServer()
    overlapped: list[bool] = []

    def decode(data: bytes) -> tuple[list[Any], dict[str, Any]]:
        body = json.loads(data)
        token = body["metadata"].get("continue")
        if token:  # pipelined: the next page is asked for while this one is still being decoded
            overlapped.append(server.asked_event[int(token.removeprefix("page-"))].wait(10.0))
        return [{"kind": "Service", **o} for o in body["items"]], body["metadata"]

    informer = Informer("services", server.list_fn, kind="Service", api_version="v1", page_decoder=decode)
    informer._list()  # one LIST, in this thread
    assert overlapped == [True] * (PAGES - 1)
    assert server.asked == list(range(PAGES))  # each page once, in order
    assert sorted(o["metadata"]["name"] for o in informer.items()) == sorted(
        f"s{i}-{k}" for i in range(PAGES) for k in range(PER_PAGE)
    )
    assert informer.resource_version == "40" and informer.synced


def test_a_page_whose_token_cannot_be_read_early_is_still_followed() -> None:
    """A token the early read misses (here: the page is not JSON msgspec accepts as a list's
    metadata) is taken from the full decoding, and the next page fetched then."""
    server = PagedServer()

    def decode(data: bytes) -> tuple[list[Any], dict[str, Any]]:
        body = json.loads(data)
        return [{"kind": "Service", **o} for o in body["items"]], body["metadata"]

    def odd_list_fn(**kwargs: Any) -> Response:
        resp = server.list_fn(**kwargs)
        return Response(resp.data.replace(b'{"metadata": {', b'{"metadata": {"x": 1, ', 1) + b" trailing")

    def lenient(data: bytes) -> tuple[list[Any], dict[str, Any]]:
        return decode(data.removesuffix(b" trailing"))

    informer = Informer("services", odd_list_fn, kind="Service", api_version="v1", page_decoder=lenient)
    informer._list()
    assert server.asked == list(range(PAGES))
    assert len(informer.items()) == PAGES * PER_PAGE


@given(
    st.dictionaries(
        st.sampled_from(["resourceVersion", "continue", "remainingItemCount"]), st.text() | st.integers()
    ),
    st.lists(
        st.dictionaries(st.text(max_size=4), st.text(max_size=4) | st.integers(), max_size=3), max_size=4
    ),
)
def test_the_continue_token_read_early_is_the_lists_own(meta: dict[str, Any], items: list[Any]) -> None:
    data = json.dumps({"kind": "ServiceList", "metadata": meta, "items": items}).encode()
    token = meta.get("continue")
    assert continue_token(data) == (token if isinstance(token, str) and token else None)


def test_no_token_is_read_from_what_is_not_a_list() -> None:
    for data in (b"", b"not json", b"[1, 2]", b'{"metadata": []}', b'{"metadata": {"continue": 7}}'):
        assert continue_token(data) is None
