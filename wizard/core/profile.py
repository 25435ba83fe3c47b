"""The profile: everything needed to install one AI gateway, as one hand-editable TOML file.

A profile may be incomplete (the TUI saves it screen by screen): empty strings mean
"not set yet". Loading checks the form of every value that is set; `problems()` says
what is still missing or inconsistent before the profile can be applied.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import Annotated, Any, Literal

from pydantic import (
    AfterValidator,
    BaseModel,
    ConfigDict,
    Field,
    PrivateAttr,
    ValidationError,
    field_validator,
    model_validator,
)

from wizard.core import release as releases
from wizard.core import validators
from wizard.core.paths import expand_user

SCHEMA_VERSION = 1
DEFAULT_IMAGE = releases.DEFAULT_IMAGE
DEFAULT_HELM_REPO_URL = "https://gitlab.com/api/v4/projects/gitlab-org%2fcharts%2fai-gateway-helm-chart/packages/helm/devel"
GATEWAY_CONTAINER_PORT = releases.GATEWAY_PORT
AGENT_PLATFORM_CONTAINER_PORT = releases.AGENT_PLATFORM_PORT
Target = Literal["docker", "helm"]


def _unless_empty(check: Callable[[str], str]) -> AfterValidator:
    """Run `check` on set values only: an empty string means "not filled in yet"."""
    return AfterValidator(lambda value: check(value) if value.strip() else "")


Text = Annotated[str, AfterValidator(validators.plain_text)]
Url = Annotated[str, _unless_empty(validators.http_url)]
GitLabUrl = Annotated[str, _unless_empty(validators.gitlab_url)]
ApiUrl = Annotated[str, _unless_empty(validators.api_url)]
GitLabVersion = Annotated[str, _unless_empty(validators.gitlab_version)]
GatewayHost = Annotated[str, _unless_empty(validators.hostname)]
ImageRepository = Annotated[str, _unless_empty(validators.image_repository)]
ImageTag = Annotated[str, _unless_empty(validators.image_tag)]
FilePath = Annotated[str, _unless_empty(validators.file_path)]
DockerName = Annotated[str, _unless_empty(validators.docker_name)]
Namespace = Annotated[str, _unless_empty(validators.dns_label)]
ReleaseName = Annotated[str, _unless_empty(validators.helm_release)]
ObjectName = Annotated[str, _unless_empty(validators.dns_subdomain)]
ChartRef = Annotated[str, _unless_empty(validators.chart_reference)]
SemVer = Annotated[str, _unless_empty(validators.semver)]
Duration = Annotated[str, _unless_empty(validators.duration)]


class Section(BaseModel):
    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)


class GitLab(Section):
    """The GitLab instance the gateway serves."""

    url: GitLabUrl = ""
    """Base URL of GitLab, e.g. https://gitlab.example.com (becomes AIGW_GITLAB_URL); a pasted
    API root (…/api/v4) is cut back to the base URL."""
    api_url: ApiUrl = ""
    """REST API root (AIGW_GITLAB_API_URL); derived from `url` when empty."""
    version: GitLabVersion = ""
    """GitLab's version, X.Y.Z: picks the newest image tag self-hosted-vX.Y.*-ee."""
    offline_license: bool = False
    """An offline (air-gapped) licence: the gateway asks GitLab, not customers.gitlab.com."""

    @property
    def effective_api_url(self) -> str:
        if self.api_url:
            return self.api_url
        return f"{self.url}/api/v4/" if self.url else ""


class Gateway(Section):
    """The AI gateway itself: where GitLab reaches it and which image runs it."""

    hostname: GatewayHost = ""
    """Name or address GitLab uses to reach the gateway; never localhost or loopback."""
    port: int = Field(default=GATEWAY_CONTAINER_PORT, ge=1, le=65535)
    """Host port published to the gateway's port 5052 (Docker)."""
    agent_platform_port: int = Field(default=AGENT_PLATFORM_CONTAINER_PORT, ge=1, le=65535)
    """Host port published to the Duo Agent Platform's gRPC port 50052 (Docker, releases 18.0+)."""
    image: ImageRepository = DEFAULT_IMAGE
    """Image repository without tag; a private registry mirror is just another value here."""
    variant: Literal["", "fips"] = ""
    """"fips" runs the FIPS image (`<image>/self-hosted-fips`, amd64 only); "" the standard one."""
    tag: ImageTag = ""
    """Image tag; empty means the newest self-hosted-vX.Y.*-ee for gitlab.version X.Y."""
    image_archive: FilePath = ""
    """A `docker save` tarball to load instead of pulling (air-gapped hosts)."""
    ca_bundle: FilePath = ""
    """PEM bundle with the CA that signed GitLab's certificate; mounted read-only."""
    auth_bypass: bool = False
    """AIGW_AUTH__BYPASS_EXTERNAL=true: troubleshooting only, never leave it on."""
    extra_env: dict[str, Text] = Field(default_factory=dict)
    """Further AIGW_* variables for the gateway (no secrets)."""

    @field_validator("extra_env")
    @classmethod
    def _env_names(cls, value: dict[str, str]) -> dict[str, str]:
        for key in value:
            validators.env_name(key)
        return value


class TLS(Section):
    """The gateway's certificate: paths only, never the contents."""

    cert: FilePath = ""
    """PEM certificate (chain) for gateway.hostname."""
    key: FilePath = ""
    """PEM private key for `cert`, unencrypted; read only at install time."""


class Docker(Section):
    """How the container runs (target = "docker")."""

    container_name: DockerName = "gitlab-aigw"
    """Name of the gateway container."""
    restart_policy: Literal["no", "always", "unless-stopped", "on-failure"] = "unless-stopped"
    """Docker restart policy."""
    extra_hosts: dict[str, str] = Field(default_factory=dict)
    """Names the container cannot resolve itself: `{ "gitlab.corp" = "10.0.0.5" }` (`--add-host`)."""

    @field_validator("extra_hosts")
    @classmethod
    def _host_entries(cls, value: dict[str, str]) -> dict[str, str]:
        return {validators.extra_host_name(name): validators.extra_host_address(address) for name, address in value.items()}


class Helm(Section):
    """How the chart is installed (target = "helm")."""

    namespace: Namespace = "ai-gateway"
    """Kubernetes namespace; created (and labelled as ours) when absent."""
    release: ReleaseName = "ai-gateway"
    """Helm release name."""
    chart: ChartRef = "ai-gateway/ai-gateway"
    """`repo/chart`, `oci://…`, or a local chart .tgz (air-gapped hosts)."""
    chart_version: SemVer = ""
    """Chart version (`--version`); ignored for a local .tgz. Left empty, the release's default
    chart is written in as soon as the gateway's version is known (0.1.1 for 17.x)."""
    repo_url: Url = DEFAULT_HELM_REPO_URL
    """Helm repository added as the chart's repo name; never used for a local .tgz."""
    kube_context: Text = ""
    """kubeconfig context; empty means the current context."""
    ingress_class: ObjectName = "nginx"
    """IngressClass that serves gateway.hostname."""
    tls_secret: ObjectName = "ai-gateway-tls"
    """Secret of type kubernetes.io/tls made from tls.cert and tls.key."""
    timeout: Duration = "300s"
    """How long Helm waits for the release to become ready."""

    @property
    def local_chart(self) -> bool:
        return validators.is_local_chart(self.chart)

    @property
    def repo_name(self) -> str:
        """The repository alias of a `repo/chart` reference, or "" for local and OCI charts."""
        if self.local_chart or self.chart.startswith("oci://"):
            return ""
        return self.chart.split("/", 1)[0]


class Profile(BaseModel):
    """One saved installation of the AI gateway."""

    model_config = ConfigDict(extra="forbid", validate_assignment=True, strict=True)

    schema_version: Literal[1] = SCHEMA_VERSION
    """Format version of this file; newer versions are refused, older ones migrated."""
    target: Target | None = None
    """"docker" or "helm"; unset until chosen."""
    gitlab: GitLab = Field(default_factory=GitLab)
    gateway: Gateway = Field(default_factory=Gateway)
    tls: TLS = Field(default_factory=TLS)
    docker: Docker = Field(default_factory=Docker)
    helm: Helm = Field(default_factory=Helm)
    _base_dir: Path | None = PrivateAttr(default=None)
    _source: Path | None = PrivateAttr(default=None)
    """The file this profile was loaded from (as named, a symlink stays a symlink)."""

    @model_validator(mode="before")
    @classmethod
    def _chart_from_release(cls, data: Any) -> Any:
        """An empty or absent helm.chart_version takes the release's default chart."""
        if not isinstance(data, dict):
            return data
        helm = data.get("helm", {})
        if not isinstance(helm, dict) or helm.get("chart_version"):
            return data
        gitlab, gateway = data.get("gitlab", {}), data.get("gateway", {})
        version = gitlab.get("version", "") if isinstance(gitlab, dict) else ""
        tag = gateway.get("tag", "") if isinstance(gateway, dict) else ""
        if not (isinstance(version, str) and isinstance(tag, str)):
            return data
        try:
            version = validators.gitlab_version(version) if version.strip() else ""
        except ValueError:
            return data  # the field's own validation reports it
        chart = releases.default_chart_version(tag.strip(), version)
        return {**data, "helm": {**helm, "chart_version": chart}} if chart else data

    @property
    def release(self) -> releases.Release | None:
        """What the gateway this profile runs needs (None until a version or tag is known).

        From the pinned tag, else from gitlab.version: an automatically resolved newer patch of
        the same X.Y line behaves the same way.
        """
        return releases.release_of(self.gateway.tag, self.gitlab.version)

    @property
    def image_tag(self) -> str:
        """The pinned tag, or the exact `self-hosted-vX.Y.Z-ee` (before tag resolution)."""
        if self.gateway.tag:
            return self.gateway.tag
        return releases.tag_for(self.gitlab.version) if self.gitlab.version else ""

    @property
    def image_repository(self) -> str:
        """gateway.image, or its FIPS sub-repository for variant "fips"."""
        return releases.image_repository(self.gateway.variant, self.gateway.image)

    @property
    def image_ref(self) -> str:
        return f"{self.image_repository}:{self.image_tag}"

    @property
    def chart_version(self) -> str:
        """helm.chart_version, or the release's default chart while it is still empty."""
        if self.helm.chart_version:
            return self.helm.chart_version
        release = self.release
        return release.chart_version if release else ""

    @property
    def serves_tls(self) -> bool:
        """Docker: the gateway serves HTTPS itself (native TLS release and tls.cert/key set)."""
        release = self.release
        return bool(
            self.target == "docker" and release and release.native_tls and self.tls.cert and self.tls.key
        )

    @property
    def url_host(self) -> str:
        host = self.gateway.hostname
        return f"[{host}]" if ":" in host else host  # an IPv6 address needs brackets

    @property
    def gateway_url(self) -> str:
        """The URL to set in GitLab: the published port for Docker, HTTPS on the ingress for Helm."""
        if self.target == "helm":
            return f"https://{self.url_host}"
        scheme = "https" if self.serves_tls else "http"
        return f"{scheme}://{self.url_host}:{self.gateway.port}"

    def to_toml_data(self) -> dict[str, Any]:
        return self.model_dump(exclude_none=True)

    def resolve(self, value: str) -> Path:
        """A path from the profile made absolute: `~` expanded, relative to the profile's folder."""
        path = expand_user(value)
        if not path.is_absolute():
            path = (self._base_dir or Path.cwd()) / path
        return path


@dataclass(frozen=True)
class FieldProblem:
    """One thing wrong with a profile, named by its dotted field path."""

    field: str
    message: str

    def __str__(self) -> str:
        return f"{self.field}: {self.message}"


def problems_from_validation_error(error: ValidationError) -> list[FieldProblem]:
    return [
        FieldProblem(".".join(str(part) for part in item["loc"]) or "(profile)", _plain_message(item))
        for item in error.errors()
    ]


def _plain_message(item: Any) -> str:
    kind = item["type"]
    if kind == "extra_forbidden":
        return "is not a setting aigw-wizard knows (misspelt?)"
    if kind == "missing":
        return "is required"
    if kind.endswith("_type") or kind in {"literal_error", "model_type", "dict_type"}:
        expected = item["msg"].replace("Input should be", "must be")
        return f"{expected} (got {_describe(item.get('input'))})"
    if kind in {"less_than_equal", "greater_than_equal"}:
        bound = item.get("ctx", {}).get("le", item.get("ctx", {}).get("ge"))
        return f"must be {'at most' if kind == 'less_than_equal' else 'at least'} {bound}"
    message: str = item["msg"]
    return message.removeprefix("Value error, ")


def _describe(value: Any) -> str:
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return f"the text {value[:40]!r}"
    if isinstance(value, dict):
        return "a table"
    if isinstance(value, list):
        return "a list"
    return type(value).__name__


def validate_field(profile: Profile, field: str, value: Any) -> tuple[Profile | None, str | None]:
    """Set one dotted field on a copy of `profile` using the model's own validation.

    Returns the updated copy, or None and the plain-words error; the TUI calls this
    as the user types.
    """
    data = profile.model_dump()
    section, _, name = field.partition(".")
    if field in ("gitlab.version", "gateway.tag"):
        # A chart the release chose follows the release: cleared here, chosen again on validation.
        chosen = releases.default_chart_version(profile.gateway.tag, profile.gitlab.version)
        if chosen and data["helm"]["chart_version"] == chosen:
            data["helm"]["chart_version"] = ""
    if name:
        data[section][name] = value
    else:
        data[section] = value
    try:
        updated = Profile.model_validate(data)
    except ValidationError as error:
        for problem in problems_from_validation_error(error):
            if problem.field == field or problem.field.startswith(field + "."):
                return None, problem.message
        return None, str(problems_from_validation_error(error)[0])
    updated._base_dir = profile._base_dir
    updated._source = profile._source
    return updated, None


def problems(profile: Profile) -> list[FieldProblem]:
    """Everything missing or inconsistent before `profile` can be applied (empty = ready)."""
    found: list[FieldProblem] = []

    def need(field: str, value: object, message: str = "is required") -> None:
        if not value:
            found.append(FieldProblem(field, message))

    need("target", profile.target, 'is required: "docker" or "helm"')
    need("gitlab.url", profile.gitlab.url)
    if not profile.gateway.tag:
        need(
            "gitlab.version",
            profile.gitlab.version,
            "is required (it picks the image tag), unless gateway.tag is set",
        )
    need("gateway.hostname", profile.gateway.hostname)
    if profile.tls.cert and not profile.tls.key:
        found.append(FieldProblem("tls.key", "is required when tls.cert is set"))
    if profile.tls.key and not profile.tls.cert:
        found.append(FieldProblem("tls.cert", "is required when tls.key is set"))
    if profile.target == "helm":
        need("tls.cert", profile.tls.cert, "is required for Helm (the ingress serves HTTPS)")
        need("tls.key", profile.tls.key, "is required for Helm (the ingress serves HTTPS)")
        helm = profile.helm
        need("helm.namespace", helm.namespace)
        need("helm.release", helm.release)
        need("helm.chart", helm.chart)
        need("helm.ingress_class", helm.ingress_class)
        need("helm.tls_secret", helm.tls_secret)
        need("helm.timeout", helm.timeout)
        if not helm.local_chart:
            need("helm.chart_version", helm.chart_version, "is required for a chart from a repository")
        if helm.repo_name:
            need("helm.repo_url", helm.repo_url, f"is required to add the {helm.repo_name!r} repository")
    return found



def collect_problems(data: dict[str, Any]) -> tuple[Profile | None, list[FieldProblem]]:
    """Every problem of a parsed profile file: each invalid value, then each missing one.

    Pydantic reports every invalid value at once; to say what is *missing* as well, the
    invalid values are set aside (as if not written) and the rest is validated again. Returns
    the profile when there was nothing invalid (it may still be incomplete).
    """
    invalid: list[FieldProblem] = []
    remaining: Any = data
    for _attempt in range(8):
        try:
            profile = Profile.model_validate(remaining)
        except ValidationError as error:
            found = problems_from_validation_error(error)
            known = {(problem.field, problem.message) for problem in invalid}
            invalid += [problem for problem in found if (problem.field, problem.message) not in known]
            pruned = _without(remaining, [tuple(item["loc"]) for item in error.errors()])
            if pruned == remaining:
                return None, invalid
            remaining = pruned
            continue
        if not invalid:
            return profile, problems(profile)
        named = {problem.field for problem in invalid}
        missing = [
            problem for problem in problems(profile)
            if not any(problem.field == field or problem.field.startswith(field + ".") for field in named)
        ]
        return None, invalid + missing
    return None, invalid


def _without(data: Any, locations: list[tuple[Any, ...]]) -> Any:
    """A copy of `data` with the value at each location removed (a whole entry for a bad key)."""
    if not isinstance(data, dict):
        return {}
    copy = _deep_copy(data)
    for location in locations:
        table: Any = copy
        for part in location[:-1]:
            if not isinstance(table, dict) or part not in table or not isinstance(table[part], dict):
                break
            table = table[part]
        else:
            if location and isinstance(table, dict):
                table.pop(location[-1], None)
            continue
        # The location runs through something that is not a table: drop its first non-table.
        table = copy
        for part in location:
            if not isinstance(table, dict) or part not in table:
                break
            if not isinstance(table[part], dict):
                del table[part]
                break
            table = table[part]
    return copy


def _deep_copy(data: dict[str, Any]) -> dict[str, Any]:
    return {key: _deep_copy(value) if isinstance(value, dict) else value for key, value in data.items()}
