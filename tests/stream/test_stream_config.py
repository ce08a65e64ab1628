"""Configuration: TOML loading, unknown keys rejected, CLI overrides, the documented example."""

from __future__ import annotations

import dataclasses
from pathlib import Path

import pytest
from nanolive.stream.config import (
    Config,
    config_from_mapping,
    load_config,
    parse_override,
    with_overrides,
)

DEPLOY = Path(__file__).resolve().parents[2] / "deploy" / "nanolive.toml"


def test_documented_example_loads_and_matches_the_defaults():
    config = load_config(DEPLOY)
    assert config == Config()


def test_example_documents_every_key_of_the_pipeline_sections():
    text = DEPLOY.read_text()
    config = Config()
    for section in ("ingest", "batching", "engine", "publish", "record", "metrics"):
        assert f"[{section}]" in text
        for field in dataclasses.fields(getattr(config, section)):
            assert f"{field.name} =" in text, f"{section}.{field.name} undocumented"


def test_toml_values_are_read_and_typed(tmp_path):
    path = tmp_path / "c.toml"
    path.write_text(
        '[ingest]\npolicy = "drop_oldest"\nqueue_size = 3\nseries_timeout_s = 2\n'
        "[batching]\nmax_batch = 2\n[tracker]\nmax_distance_px = 5\n"
    )
    config = load_config(path)
    assert config.ingest.policy == "drop_oldest" and config.ingest.queue_size == 3
    assert config.ingest.series_timeout_s == 2.0 and isinstance(
        config.ingest.series_timeout_s, float
    )
    assert config.batching.max_batch == 2
    assert config.tracker.max_distance_px == 5.0


@pytest.mark.parametrize(
    ("data", "message"),
    [
        ({"ingets": {}}, "unknown config section"),
        ({"ingest": {"queue_sise": 3}}, "unknown key"),
        ({"ingest": {"queue_size": "3"}}, "must be an integer"),
        ({"ingest": {"queue_size": 0}}, "queue_size must be >= 1"),
        ({"ingest": {"policy": "newest"}}, "must be one of"),
        ({"metrics": {"enabled": "yes"}}, "true or false"),
        ({"engine": {"contrast": "purple"}}, "contrast"),
        ({"tracker": {"no_such_key": 1}}, "unknown key"),
    ],
)
def test_bad_configuration_is_rejected_clearly(data, message):
    with pytest.raises(ValueError, match=message):
        config_from_mapping(data)


def test_bad_toml_names_the_file(tmp_path):
    path = tmp_path / "bad.toml"
    path.write_text("[ingest\n")
    with pytest.raises(ValueError, match="bad.toml"):
        load_config(path)


def test_overrides_parse_toml_values_and_validate():
    assert parse_override("ingest.queue_size=5") == ("ingest", "queue_size", 5)
    assert parse_override('engine.name="onnx"') == ("engine", "name", "onnx")
    assert parse_override("engine.name=classical") == ("engine", "name", "classical")
    config = with_overrides(Config(), {"ingest": {"queue_size": 5}, "engine": {"name": "onnx"}})
    assert config.ingest.queue_size == 5 and config.engine.name == "onnx"
    assert config.batching == Config().batching
    with pytest.raises(ValueError, match="unknown key"):
        with_overrides(Config(), {"ingest": {"nope": 1}})
    with pytest.raises(ValueError, match="section.key=value"):
        parse_override("queue_size=5")
