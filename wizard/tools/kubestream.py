"""Watches and followed logs that another thread can stop at any moment.

`Stream.stop()` shuts the socket down, which wakes a reader blocked on it; iteration then
ends quietly instead of raising. Requests go through `kube.Cluster.call`, so failures are
the same `KubeError`s as everywhere else.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING, Any

from wizard.tools.kube import ApiFailure, Cluster

if TYPE_CHECKING:
    from urllib3 import HTTPResponse

#: A watch is renewed this often (server-side timeout); `Stream.stop()` ends it at once anyway.
WATCH_WINDOW_S = 60
#: A followed log may stay quiet for long; `Stream.stop()` is what normally ends it.
LOG_QUIET_S = 3600


class Stream:
    """A watch or a followed log that another thread can stop at any moment.

    `stop()` shuts the socket down, which wakes a reader blocked on it; iteration then
    ends quietly instead of raising.
    """

    def __init__(self) -> None:
        self._stopped = threading.Event()
        self._lock = threading.Lock()
        self._response: HTTPResponse | None = None

    @property
    def stopped(self) -> bool:
        return self._stopped.is_set()

    def stop(self) -> None:
        with self._lock:
            self._stopped.set()
            if self._response is not None:
                self._response.shutdown()

    def _open(self, response: HTTPResponse) -> bool:
        with self._lock:
            if self._stopped.is_set():
                response.close()
                return False
            self._response = response
            return True

    def _lines(self, cluster: Cluster, response: HTTPResponse) -> Iterator[str]:
        from kubernetes.watch.watch import iter_resp_lines
        from urllib3.exceptions import HTTPError

        if not self._open(response):
            return
        try:
            yield from iter_resp_lines(response)
        except (HTTPError, OSError) as error:
            if not self.stopped:
                raise cluster.unreachable(error) from None
        finally:
            with self._lock:
                self._response = None
            response.release_conn()

    def watch(
        self,
        cluster: Cluster,
        resource: str,
        namespace: str | None,
        method: Callable[..., Any],
        *args: Any,
        resource_version: str = "",
        **kwargs: Any,
    ) -> Iterator[dict[str, Any]]:
        """Watch events as dicts (`type`, `object`), renewed from the last resourceVersion until stopped.

        Without `resource_version` it starts with an ADDED event per existing object.
        """
        while not self.stopped:
            response = cluster.call(
                "watch",
                resource,
                namespace,
                method,
                *args,
                watch=True,
                resource_version=resource_version or None,
                timeout_seconds=WATCH_WINDOW_S,
                _preload_content=False,
                _request_timeout=(cluster.timeout[0], WATCH_WINDOW_S + cluster.timeout[1]),
                **kwargs,
            )
            for line in self._lines(cluster, response):
                event = json.loads(line)
                obj = event.get("object") or {}
                if event.get("type") == "ERROR":
                    if obj.get("code") == 410:  # our resourceVersion is too old: start afresh
                        resource_version = ""
                        break
                    raise ApiFailure(f"watching {resource}: {obj.get('message', obj)}")
                resource_version = obj.get("metadata", {}).get("resourceVersion", resource_version)
                yield event

    def follow_log(
        self, cluster: Cluster, namespace: str, pod: str, container: str, **kwargs: Any
    ) -> Iterator[str]:
        """A container's log lines as they are written, until the container ends or `stop()`."""
        response = cluster.call(
            "get",
            "pods/log",
            namespace,
            cluster.core.read_namespaced_pod_log,
            pod,
            namespace,
            container=container,
            follow=True,
            _preload_content=False,
            _request_timeout=(cluster.timeout[0], LOG_QUIET_S),
            **kwargs,
        )
        yield from self._lines(cluster, response)
