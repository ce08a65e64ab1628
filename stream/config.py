"""The pipeline's configuration: one typed :class:`Config` of sections, read from TOML and CLI flags.

Each section is a frozen dataclass that validates itself. :func:`load_config` reads a TOML file
(unknown sections or keys are errors, never silently ignored) and :func:`with_overrides` applies
``section.key=value`` overrides from the command line. Every default works: ``Config()`` is a valid
configuration. deploy/nanolive.toml documents every key.
"""

from __future__ import annotations

import dataclasses
import tomllib
import types
import typing
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any, Literal

from nanolive.engines.base import EngineConfig
from nanolive.trackers import TrackerConfig

from .framequeue import POLICIES
from .integrate import IntegrationConfig
from .protocol import Limits


@dataclass(frozen=True)
class IngestConfig:
    """The frame input (``[ingest]``).

    endpoint: ZeroMQ endpoint of the PULL socket ("tcp://*:5555" binds every interface).
    bind: bind the endpoint (True) or connect to a sender that binds (False).
    queue_size: frames held between the socket and the engine.
    policy: when the queue is full: "block" (backpressure to the sender) or "drop_oldest" (counted).
    rcvhwm: ZeroMQ receive high-water mark (messages buffered by the socket itself).
    max_rows, max_cols: largest accepted frame (px); max_frame_bytes: largest pixel payload (bytes).
    series_timeout_s: a series with no frame and no end message for this long is closed as
        "sender_vanished" (s).
    log_interval_s: at most one log line per bad-message reason in this interval (s).
    """

    endpoint: str = "tcp://*:5555"
    bind: bool = True
    queue_size: int = 64
    policy: Literal["block", "drop_oldest"] = "block"
    rcvhwm: int = 16
    max_rows: int = 8192
    max_cols: int = 8192
    max_frame_bytes: int = 256 * 1024 * 1024
    series_timeout_s: float = 10.0
    log_interval_s: float = 5.0

    def __post_init__(self) -> None:
        if self.policy not in POLICIES:
            raise ValueError(f"ingest.policy must be one of {POLICIES}, not {self.policy!r}")
        if self.queue_size < 1:
            raise ValueError(f"ingest.queue_size must be >= 1, not {self.queue_size}")
        if self.rcvhwm < 1:
            raise ValueError(f"ingest.rcvhwm must be >= 1, not {self.rcvhwm}")
        if not self.series_timeout_s > 0:
            raise ValueError(f"ingest.series_timeout_s must be > 0, not {self.series_timeout_s}")
        if self.log_interval_s < 0:
            raise ValueError(f"ingest.log_interval_s must be >= 0, not {self.log_interval_s}")
        Limits(self.max_rows, self.max_cols, self.max_frame_bytes)  # validates the size limits

    @property
    def limits(self) -> Limits:
        """The frame size limits."""
        return Limits(self.max_rows, self.max_cols, self.max_frame_bytes)


@dataclass(frozen=True)
class BatchingConfig:
    """The dynamic batcher (``[batching]``): a batch closes at ``max_batch`` frames or after
    ``max_wait_ms`` (ms) from its first frame, or when the next frame has another shape."""

    max_batch: int = 4
    max_wait_ms: float = 10.0

    def __post_init__(self) -> None:
        if self.max_batch < 1:
            raise ValueError(f"batching.max_batch must be >= 1, not {self.max_batch}")
        if self.max_wait_ms < 0:
            raise ValueError(f"batching.max_wait_ms must be >= 0, not {self.max_wait_ms}")


@dataclass(frozen=True)
class PublishConfig:
    """The result publisher (``[publish]``).

    endpoint: ZeroMQ endpoint of the PUB socket; bind: bind (True) or connect (False).
    sndhwm: messages buffered per subscriber before a slow one loses messages.
    particles: publish the per-frame particle tables (topic ``particles``).
    status_interval_s: period of the ``status`` messages (s).
    """

    endpoint: str = "tcp://*:5556"
    bind: bool = True
    sndhwm: int = 1000
    particles: bool = True
    status_interval_s: float = 1.0

    def __post_init__(self) -> None:
        if self.sndhwm < 1:
            raise ValueError(f"publish.sndhwm must be >= 1, not {self.sndhwm}")
        if not self.status_interval_s > 0:
            raise ValueError(f"publish.status_interval_s must be > 0, not {self.status_interval_s}")


@dataclass(frozen=True)
class RecordConfig:
    """The session recording (``[record]``).

    enabled: write results to disk; folder: parent folder of the session folders (one per run, named
    by start time); save_labels: also write labels/<series>.tif; save_raw: also raw/<series>.tif.
    """

    enabled: bool = True
    folder: str = "sessions"
    save_labels: bool = False
    save_raw: bool = False

    def __post_init__(self) -> None:
        if self.enabled and not self.folder:
            raise ValueError("record.folder must not be empty when recording is enabled")


@dataclass(frozen=True)
class MetricsConfig:
    """The Prometheus endpoint (``[metrics]``): http://host:port/metrics; port 0 = any free port."""

    enabled: bool = True
    host: str = "0.0.0.0"
    port: int = 8000

    def __post_init__(self) -> None:
        if not 0 <= self.port <= 65535:
            raise ValueError(f"metrics.port must be in 0..65535, not {self.port}")


@dataclass(frozen=True)
class Config:
    """The whole pipeline configuration, one field per TOML table."""

    ingest: IngestConfig = field(default_factory=IngestConfig)
    batching: BatchingConfig = field(default_factory=BatchingConfig)
    engine: EngineConfig = field(default_factory=EngineConfig)
    integration: IntegrationConfig = field(default_factory=IntegrationConfig)
    tracker: TrackerConfig = field(default_factory=TrackerConfig)
    publish: PublishConfig = field(default_factory=PublishConfig)
    record: RecordConfig = field(default_factory=RecordConfig)
    metrics: MetricsConfig = field(default_factory=MetricsConfig)


SECTIONS: tuple[str, ...] = tuple(f.name for f in dataclasses.fields(Config))


def load_config(path: str | Path | None) -> Config:
    """Return the configuration in the TOML file ``path`` (defaults when None)."""
    if path is None:
        return Config()
    with Path(path).open("rb") as fh:
        try:
            data = tomllib.load(fh)
        except tomllib.TOMLDecodeError as exc:
            raise ValueError(f"{path}: not valid TOML: {exc}") from None
    return config_from_mapping(data)


def config_from_mapping(data: dict[str, Any]) -> Config:
    """Return the configuration described by nested ``data`` (the TOML tables)."""
    unknown = set(data) - set(SECTIONS)
    if unknown:
        raise ValueError(f"unknown config section(s) {sorted(unknown)}; known: {list(SECTIONS)}")
    sections = {}
    for f in dataclasses.fields(Config):
        table = data.get(f.name, {})
        if not isinstance(table, dict):
            raise ValueError(f"config [{f.name}] must be a table")
        section_cls = section_type(f.name)
        sections[f.name] = section_from_mapping(section_cls, table, f.name)
    return Config(**sections)


def section_type(name: str) -> type:
    """Return the dataclass of config section ``name``."""
    return typing.get_type_hints(Config)[name]


def section_from_mapping(cls: type, table: dict[str, Any], section: str) -> Any:
    """Return ``cls(**table)`` after rejecting unknown keys and checking/converting value types."""
    hints = typing.get_type_hints(cls)
    names = [f.name for f in dataclasses.fields(cls)]
    unknown = set(table) - set(names)
    if unknown:
        raise ValueError(f"unknown key(s) {sorted(unknown)} in [{section}]; known: {names}")
    values = {k: coerce(v, hints[k], f"{section}.{k}") for k, v in table.items()}
    return cls(**values)


def coerce(value: Any, hint: Any, where: str) -> Any:
    """Return ``value`` converted to the type ``hint``; raise ValueError naming ``where``."""
    origin = typing.get_origin(hint)
    args = typing.get_args(hint)
    if origin in (typing.Union, types.UnionType):
        if value is None and type(None) in args:
            return None
        errors = []
        for arg in args:
            if arg is type(None):
                continue
            try:
                return coerce(value, arg, where)
            except ValueError as exc:
                errors.append(str(exc))
        raise ValueError(errors[0] if errors else f"{where}: bad value {value!r}")
    if origin is Literal:
        if value not in args:
            raise ValueError(f"{where} must be one of {list(args)}, not {value!r}")
        return value
    if origin is tuple:
        if not isinstance(value, list | tuple):
            raise ValueError(f"{where} must be an array, not {value!r}")
        if len(args) == 2 and args[1] is Ellipsis:
            return tuple(coerce(v, args[0], where) for v in value)
        if len(value) != len(args):
            raise ValueError(f"{where} must have {len(args)} items, not {len(value)}")
        return tuple(coerce(v, a, where) for v, a in zip(value, args, strict=True))
    if hint is bool:
        if not isinstance(value, bool):
            raise ValueError(f"{where} must be true or false, not {value!r}")
        return value
    if hint is int:
        if isinstance(value, bool) or not isinstance(value, int):
            raise ValueError(f"{where} must be an integer, not {value!r}")
        return value
    if hint is float:
        if isinstance(value, bool) or not isinstance(value, int | float):
            raise ValueError(f"{where} must be a number, not {value!r}")
        return float(value)
    if hint is str:
        if not isinstance(value, str):
            raise ValueError(f"{where} must be a string, not {value!r}")
        return value
    return value


def parse_override(text: str) -> tuple[str, str, Any]:
    """Return (section, key, value) of ``section.key=value``; the value is read as TOML, else text."""
    if "=" not in text or "." not in text.split("=", 1)[0]:
        raise ValueError(f"override {text!r} must look like section.key=value")
    dotted, raw = text.split("=", 1)
    section, key = dotted.strip().split(".", 1)
    try:
        value = tomllib.loads(f"v = {raw.strip()}")["v"]
    except tomllib.TOMLDecodeError:
        value = raw.strip()
    return section, key, value


def with_overrides(config: Config, overrides: dict[str, dict[str, Any]]) -> Config:
    """Return ``config`` with ``{section: {key: value}}`` replaced (validated like the TOML)."""
    changed = {}
    for section, values in overrides.items():
        if section not in SECTIONS:
            raise ValueError(f"unknown config section {section!r}; known: {list(SECTIONS)}")
        current = dataclasses.asdict(getattr(config, section))
        current.update(values)
        changed[section] = section_from_mapping(section_type(section), current, section)
    return dataclasses.replace(config, **changed)


def config_as_dict(config: Config) -> dict[str, dict[str, Any]]:
    """Return ``config`` as nested plain data (for the session folder's config record)."""
    return {name: dataclasses.asdict(getattr(config, name)) for name in SECTIONS}
