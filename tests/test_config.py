"""The configuration schema: every key documented with a default, unknown keys rejected by name."""
import pytest
import yaml

from repro.config import ConfigError, load_config, load_schema, validate_config
from repro.cli import main


def _leaves(schema, prefix=""):
    for key, sub in schema.get("properties", {}).items():
        name = f"{prefix}{key}"
        if sub.get("type") == "object":
            yield from _leaves(sub, name + ".")
        else:
            yield name, sub


def test_every_key_has_description_and_default():
    leaves = list(_leaves(load_schema()))
    assert len(leaves) > 40
    for name, sub in leaves:
        assert sub.get("description"), name
        assert "default" in sub, name


@pytest.mark.parametrize("path", ["config/config.yaml", "config/report.yaml"])
def test_shipped_configs_validate(path):
    cfg = load_config(path)
    assert cfg["train"]["datasets"] == ["day", "ms", "l2"]
    assert cfg["data"]["source"] in ("synthetic", "parquet")


def test_report_profile_holds_the_report_settings():
    cfg = load_config("config/report.yaml")
    t = cfg["train"]
    assert (t["hidden"], t["patience"], t["clip_value"], t["train_years"]) == (64, 20, 3.0, 10)
    assert t["test_years"] == list(range(2017, 2024))
    assert cfg["features"]["preprocess_cutoff"] == "2016-01-01"
    assert cfg["features"]["mad_k"] == 7.0
    assert cfg["evaluate"]["trading_rules"] is False  # the report's layered test is frictionless
    assert load_config("config/config.yaml")["evaluate"]["trading_rules"] is True  # docs/method.md §6


def test_defaults_fill_missing_sections():
    cfg = validate_config({"data": {"source": "parquet", "path": "x"}})
    assert cfg["train"]["ortho_lambda"] == 20.0
    assert cfg["evaluate"]["lags"] == [0, 5, 10, 15, 20]
    assert cfg["data"]["path"] == "x"


@pytest.mark.parametrize(
    "cfg, needle",
    [
        ({"trian": {}}, "unknown key 'trian'"),
        ({"train": {"hiden": 3}}, "unknown key 'train.hiden'"),
        ({"train": {"lr": "fast"}}, "key 'train.lr'"),
        ({"data": {"source": "wind"}}, "key 'data.source'"),
        ({"features": {"preprocess_cutoff": "2016-13-45"}}, "key 'features.preprocess_cutoff'"),
        ({"train": {"datasets": ["day", "tick"]}}, "key 'train.datasets.1'"),
    ],
)
def test_bad_keys_are_named(cfg, needle):
    with pytest.raises(ConfigError) as err:
        validate_config(cfg)
    assert needle in str(err.value)


def test_cli_reports_bad_config(tmp_path, capsys):
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump({"data": {"sorce": "parquet"}}))
    assert main(["check-data", "--config", str(bad)]) == 2
    assert "unknown key 'data.sorce'" in capsys.readouterr().err


def test_enhance_schema_defaults_are_the_dataclass_defaults():
    # The schema documents every number of the enhancement stage; the dataclasses hold the same.
    from repro.enhance.config import EnhanceConfig
    from repro.risk import RiskConfig

    enhance = validate_config({})["enhance"]
    assert EnhanceConfig.from_dict(enhance["optimizer"]) == EnhanceConfig()
    assert RiskConfig.from_dict(enhance["risk"]) == RiskConfig()
    assert enhance["optimizer"]["te_annual"] == {"csi300": 0.04, "csi500": 0.05, "csi1000": 0.05}
