"""The ``helm_real`` tier's pieces: a stand-in ai-gateway chart and a chart repository on loopback.

The chart is written from the values contract the wizard documents (README, "values the wizard
sets"): ``image.repository/tag``, ``gitlab.url/apiUrl``, ``ingress.*``, ``authBypassExternal``,
``extraEnvironmentVariables``, ``volumes``/``volumeMounts``. Its pods carry
``app.kubernetes.io/name: ai-gateway`` and ``app.kubernetes.io/instance: <release>`` like the
real chart's. ``ready=False`` builds a chart whose pods never become Ready in the fake cluster
(the pod-template annotation ``fakekube.test/ready: "false"``), for failed upgrades.
"""

from __future__ import annotations

import functools
import os
import subprocess
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import yaml

from tests.fakekube.server import NOT_READY_ANNOTATION

CHART_NAME = "ai-gateway"
APP_VERSION = "v1.0.0"

VALUES: dict[str, Any] = {
    "image": {
        "repository": "registry.gitlab.com/gitlab-org/modelops/applied-ml/code-suggestions/"
        "ai-assist/model-gateway",
        "tag": "latest",
    },
    "gitlab": {"url": "", "apiUrl": ""},
    "ingress": {"enabled": False, "className": "", "hosts": [], "tls": []},
    "authBypassExternal": False,
    "extraEnvironmentVariables": [],
    "volumes": [],
    "volumeMounts": [],
}

DEPLOYMENT = """\
apiVersion: apps/v1
kind: Deployment
metadata:
  name: {{ .Release.Name }}-ai-gateway
  labels:
    app.kubernetes.io/name: ai-gateway
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  replicas: 1
  selector:
    matchLabels:
      app.kubernetes.io/name: ai-gateway
      app.kubernetes.io/instance: {{ .Release.Name }}
  template:
    metadata:
      labels:
        app.kubernetes.io/name: ai-gateway
        app.kubernetes.io/instance: {{ .Release.Name }}
      ANNOTATIONS
    spec:
      containers:
        - name: ai-gateway
          image: "{{ .Values.image.repository }}:{{ .Values.image.tag }}"
          ports:
            - name: http
              containerPort: 5052
          env:
            - name: AIGW_GITLAB_URL
              value: {{ .Values.gitlab.url | quote }}
            - name: AIGW_GITLAB_API_URL
              value: {{ .Values.gitlab.apiUrl | quote }}
            - name: AIGW_AUTH__BYPASS_EXTERNAL
              value: {{ .Values.authBypassExternal | quote }}
            {{- with .Values.extraEnvironmentVariables }}
            {{- toYaml . | nindent 12 }}
            {{- end }}
          {{- with .Values.volumeMounts }}
          volumeMounts:
            {{- toYaml . | nindent 12 }}
          {{- end }}
      {{- with .Values.volumes }}
      volumes:
        {{- toYaml . | nindent 8 }}
      {{- end }}
"""

SERVICE = """\
apiVersion: v1
kind: Service
metadata:
  name: {{ .Release.Name }}-ai-gateway
  labels:
    app.kubernetes.io/name: ai-gateway
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  selector:
    app.kubernetes.io/name: ai-gateway
    app.kubernetes.io/instance: {{ .Release.Name }}
  ports:
    - name: http
      port: 5052
      targetPort: http
"""

INGRESS = """\
{{- if .Values.ingress.enabled }}
apiVersion: networking.k8s.io/v1
kind: Ingress
metadata:
  name: {{ .Release.Name }}-ai-gateway
  labels:
    app.kubernetes.io/name: ai-gateway
    app.kubernetes.io/instance: {{ .Release.Name }}
spec:
  {{- with .Values.ingress.className }}
  ingressClassName: {{ . }}
  {{- end }}
  {{- with .Values.ingress.tls }}
  tls:
    {{- range . }}
    - secretName: {{ .secretName }}
      hosts:
        {{- toYaml .hosts | nindent 8 }}
    {{- end }}
  {{- end }}
  rules:
    {{- range .Values.ingress.hosts }}
    - host: {{ .host | quote }}
      http:
        paths:
          {{- range .paths }}
          - path: {{ .path }}
            pathType: {{ .pathType }}
            backend:
              service:
                name: {{ $.Release.Name }}-ai-gateway
                port:
                  name: http
          {{- end }}
    {{- end }}
{{- end }}
"""


def write_chart(folder: Path, version: str = "0.8.1", *, ready: bool = True) -> Path:
    """The stand-in chart as a directory ``folder/ai-gateway``; returns that directory."""
    chart = folder / CHART_NAME
    (chart / "templates").mkdir(parents=True, exist_ok=True)
    meta = {
        "apiVersion": "v2",
        "name": CHART_NAME,
        "description": "Stand-in for GitLab's ai-gateway chart (tests only)",
        "version": version,
        "appVersion": APP_VERSION,
    }
    (chart / "Chart.yaml").write_text(yaml.safe_dump(meta, sort_keys=False))
    (chart / "values.yaml").write_text(yaml.safe_dump(VALUES, sort_keys=False))
    annotations = "" if ready else f'annotations:\n        {NOT_READY_ANNOTATION}: "false"'
    (chart / "templates" / "deployment.yaml").write_text(
        DEPLOYMENT.replace("ANNOTATIONS", annotations)
    )
    (chart / "templates" / "service.yaml").write_text(SERVICE)
    (chart / "templates" / "ingress.yaml").write_text(INGRESS)
    return chart


def helm_run(helm: Path, *args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run real helm with the test's environment (KUBECONFIG, HELM_*_HOME)."""
    return subprocess.run(
        [str(helm), *args],
        env=dict(os.environ),
        stdin=subprocess.DEVNULL,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )


def package_chart(helm: Path, chart_dir: Path, destination: Path) -> Path:
    """``helm package`` the chart directory into ``destination``; returns the .tgz."""
    destination.mkdir(parents=True, exist_ok=True)
    done = helm_run(helm, "package", str(chart_dir), "--destination", str(destination))
    assert done.returncode == 0, done.stderr
    meta = yaml.safe_load((chart_dir / "Chart.yaml").read_text())
    return destination / f"{meta['name']}-{meta['version']}.tgz"


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        """No per-request lines in the test output."""


class ChartRepo:
    """A Helm chart repository (index.yaml + .tgz files) served over HTTP on 127.0.0.1."""

    def __init__(self, helm: Path, folder: Path) -> None:
        self.helm = helm
        self.folder = folder
        folder.mkdir(parents=True, exist_ok=True)
        handler = functools.partial(_QuietHandler, directory=str(folder))
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), handler)
        self.url = f"http://127.0.0.1:{self._httpd.server_address[1]}"
        self._thread = threading.Thread(target=self._httpd.serve_forever, args=(0.05,), daemon=True)

    def publish(self, chart_dir: Path) -> Path:
        """Package a chart into the repository and re-index it; returns the .tgz."""
        tgz = package_chart(self.helm, chart_dir, self.folder)
        done = helm_run(self.helm, "repo", "index", str(self.folder), "--url", self.url)
        assert done.returncode == 0, done.stderr
        return tgz

    def __enter__(self) -> ChartRepo:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()
        self._thread.join(timeout=5)


@contextmanager
def chart_repo(helm: Path, folder: Path) -> Iterator[ChartRepo]:
    with ChartRepo(helm, folder) as repo:
        yield repo
