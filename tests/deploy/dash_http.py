"""Drive a running Dash app over HTTP the way its page does, background callbacks included.

The renderer loads ``/``, reads the signed ``end_id`` from the ``_dash-config`` script,
fetches ``/_dash-dependencies`` and POSTs each callback to ``/_dash-update-component`` with
``?endId=``. A background callback first answers ``{cacheKey, job}``; the page then POSTs
again with ``cacheKey`` and ``job`` (inputs blanked) until the answer carries ``response``
(progress arrives under ``progress`` meanwhile) or is 204 (no update).
"""

from __future__ import annotations

import json
import re
import time
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import quote

import requests

_CONFIG = re.compile(r'<script id="_dash-config" type="application/json">(.*?)</script>', re.S)


class CallbackFailed(AssertionError):
    """The server answered a callback with an error status."""


@dataclass
class CallbackResult:
    """What a callback returned: props by component id, progress seen, and HTTP round trips."""

    status: int
    props: dict[str, dict[str, Any]]
    progress: list[dict[str, Any]] = field(default_factory=list)
    polls: int = 0
    seconds: float = 0.0


class DashSession:
    """One page load's worth of state: its ``end_id``, callbacks and a kept-alive connection."""

    def __init__(self, base_url: str, *, timeout: float = 30.0) -> None:
        self.base_url = base_url.rstrip("/")
        self.timeout = timeout
        self.http = requests.Session()
        self.end_id: str | None = None
        self.callbacks: list[dict[str, Any]] = []

    def close(self) -> None:
        self.http.close()

    def load_page(self) -> str:
        """GET ``/`` and ``/_dash-dependencies``, as the browser does; returns the HTML."""
        page = self.http.get(self.base_url + "/", timeout=self.timeout)
        page.raise_for_status()
        match = _CONFIG.search(page.text)
        if not match:
            raise AssertionError("no _dash-config in the page")
        self.end_id = json.loads(match.group(1)).get("end_id")
        for path in ("/_dash-layout", "/_dash-dependencies"):
            answer = self.http.get(self.base_url + path, timeout=self.timeout)
            answer.raise_for_status()
        self.callbacks = answer.json()
        return page.text

    def initial_values(self) -> dict[str, Any]:
        """``"id.prop" -> value`` for every prop of every component with a string id."""
        answer = self.http.get(self.base_url + "/_dash-layout", timeout=self.timeout)
        answer.raise_for_status()
        values: dict[str, Any] = {}
        stack = [answer.json()]
        while stack:
            node = stack.pop()
            if isinstance(node, list):
                stack.extend(node)
            elif isinstance(node, dict) and "props" in node:
                props = node["props"]
                if isinstance(props.get("id"), str):
                    for prop, value in props.items():
                        values[f"{props['id']}.{prop}"] = value
                stack.extend(v for v in props.values() if isinstance(v, list | dict))
        return values

    def find(self, output: str) -> dict[str, Any]:
        """The callback whose outputs include ``output`` (``"component-id.prop"``)."""
        for spec in self.callbacks:
            if output in _plain(spec):
                return spec
        raise AssertionError(f"no callback outputs {output}")

    def resolve(
        self, spec: dict[str, Any], values: dict[str, Any], *, depth: int = 3
    ) -> dict[str, Any]:
        """``values`` plus the inputs and state of ``spec`` that other callbacks produce.

        The page fills such props (a store, a checklist's options) by running the callbacks
        that output them when it loads; this runs those callbacks the same way, recursively.
        """
        values = dict(values)
        for dep in [*spec["inputs"], *spec.get("state", [])]:
            key = f"{dep['id']}.{dep['property']}"
            if values.get(key) is not None or depth == 0:
                continue
            producer = next((c for c in self.callbacks if key in _plain(c)), None)
            if (
                producer is None
                or producer is spec
                or not producer["inputs"]
                or producer.get("clientside_function")
            ):
                continue
            values = self.resolve(producer, values, depth=depth - 1)
            first = producer["inputs"][0]
            result = self.call(producer, values, changed=[f"{first['id']}.{first['property']}"])
            for component, props in result.props.items():
                for prop, value in props.items():
                    values[f"{component}.{prop.split('@')[0]}"] = value
        return values

    def call(
        self,
        spec: dict[str, Any],
        values: dict[str, Any],
        *,
        changed: list[str],
        poll_interval: float = 0.1,
        deadline_s: float = 60.0,
    ) -> CallbackResult:
        """Run one callback as the page would, polling a background one to its end.

        Args:
            spec: an entry of ``/_dash-dependencies`` (see :meth:`find`).
            values: ``"id.prop" -> value`` for its inputs and state (missing ones are None).
            changed: the ``"id.prop"`` that triggered it.
            poll_interval: seconds between polls of a background callback.
            deadline_s: give up (AssertionError) after this long.
        """
        outputs = [_split(o) for o in _outputs(spec["output"])]
        multi = spec["output"].startswith("..")
        payload = {
            "output": spec["output"],
            "outputs": outputs if multi else outputs[0],
            "inputs": [_with_value(d, values) for d in spec["inputs"]],
            "state": [_with_value(d, values) for d in spec.get("state", [])],
            "changedPropIds": changed,
        }
        start = time.perf_counter()
        url = self._url()
        answer = self._post(url, payload)
        result = CallbackResult(status=answer.status_code, props={})
        if answer.status_code == 204:
            result.seconds = time.perf_counter() - start
            return result
        data = answer.json()
        if "cacheKey" in data and "response" not in data:
            blank = dict(payload)
            blank["inputs"] = [{**d, "value": None} for d in payload["inputs"]]
            blank["state"] = [{**d, "value": None} for d in payload["state"]]
            poll_url = self._url(cacheKey=data["cacheKey"], job=data["job"])
            while "response" not in data:
                if time.perf_counter() - start > deadline_s:
                    raise AssertionError(f"background callback still running after {deadline_s}s")
                time.sleep(poll_interval)
                answer = self._post(poll_url, blank)
                result.polls += 1
                if answer.status_code == 204:
                    result.status = 204
                    result.seconds = time.perf_counter() - start
                    return result
                data = answer.json()
                if data.get("progress"):
                    result.progress.append(data["progress"])
        result.status = answer.status_code
        result.props = data["response"]
        if not multi and "props" in result.props:  # single output: {"props": {...}}
            component = spec["output"].rsplit(".", 1)[0]
            result.props = {component: result.props["props"]}
        result.seconds = time.perf_counter() - start
        return result

    def _url(self, **handles: str) -> str:
        url = self.base_url + "/_dash-update-component"
        args = {"endId": self.end_id, **handles} if self.end_id else handles
        if args:
            url += "?" + "&".join(f"{k}={quote(str(v), safe='~')}" for k, v in args.items())
        return url

    def post_raw(self, body: Any) -> requests.Response:
        """POST ``body`` (any JSON, NaN included) to ``/_dash-update-component`` as it is."""
        return self.http.post(
            self._url(),
            data=json.dumps(body),
            headers={"Content-Type": "application/json"},
            timeout=self.timeout,
        )

    def _post(self, url: str, payload: dict[str, Any]) -> requests.Response:
        # json.dumps, not requests' json=: a forged value may be NaN or Infinity, which
        # requests refuses to send and Python's JSON (on the server) accepts
        answer = self.http.post(
            url,
            data=json.dumps(payload),
            headers={"Content-Type": "application/json"},
            timeout=self.timeout,
        )
        if answer.status_code not in (200, 204):
            raise CallbackFailed(f"{answer.status_code} from {url}: {answer.text[:500]}")
        return answer


def _outputs(output: str) -> list[str]:
    """``..a.b...c.d..`` -> ``["a.b", "c.d"]``; ``a.b`` -> ``["a.b"]``."""
    if output.startswith(".."):
        return [o for o in output[2:-2].split("...") if o]
    return [output]


def _plain(spec: dict[str, Any]) -> list[str]:
    """A callback's outputs without the ``@hash`` that ``allow_duplicate`` appends."""
    return [o.split("@")[0] for o in _outputs(spec["output"])]


def _split(output: str) -> dict[str, str]:
    component, prop = output.rsplit(".", 1)
    return {"id": component, "property": prop}


def _with_value(dependency: dict[str, Any], values: dict[str, Any]) -> dict[str, Any]:
    key = f"{dependency['id']}.{dependency['property']}"
    return {"id": dependency["id"], "property": dependency["property"], "value": values.get(key)}
