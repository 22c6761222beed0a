"""Load and validate a workflow configuration against `schema.yaml` (config/schema.yaml).

Defaults from the schema are filled in; an unknown or mistyped key raises `ConfigError`
naming the key path. The Snakefile and every CLI command go through `validate_config`.
"""
from __future__ import annotations

from pathlib import Path

import jsonschema
import yaml

SCHEMA_PATH = Path(__file__).with_name("schema.yaml")


class ConfigError(ValueError):
    pass


def load_schema() -> dict:
    return yaml.safe_load(SCHEMA_PATH.read_text())


def _fill_defaults(schema: dict, cfg: dict) -> dict:
    for key, sub in schema.get("properties", {}).items():
        if key not in cfg and "default" in sub:
            cfg[key] = yaml.safe_load(yaml.safe_dump(sub["default"]))  # deep copy
        if sub.get("type") == "object" and isinstance(cfg.get(key), dict):
            _fill_defaults(sub, cfg[key])
    return cfg


def validate_config(cfg: dict | None, source: str = "config") -> dict:
    """Validate `cfg` in place (filling defaults) and return it."""
    cfg = {} if cfg is None else cfg
    schema = load_schema()
    validator = jsonschema.Draft202012Validator(
        schema, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )
    errors = sorted(validator.iter_errors(cfg), key=lambda e: list(e.absolute_path))
    if errors:
        lines = []
        for e in errors:
            where = ".".join(str(p) for p in e.absolute_path) or "<top level>"
            if e.validator == "additionalProperties":
                allowed = sorted(e.schema.get("properties", {}))
                extra = sorted(set(e.instance) - set(allowed))
                for key in extra:
                    name = f"{where}.{key}" if where != "<top level>" else key
                    lines.append(f"unknown key '{name}' (allowed here: {', '.join(allowed)})")
            else:
                lines.append(f"key '{where}': {e.message}")
        raise ConfigError(f"{source}: invalid configuration:\n  " + "\n  ".join(lines))
    return _fill_defaults(schema, cfg)


def load_config(path: str | Path) -> dict:
    path = Path(path)
    try:
        cfg = yaml.safe_load(path.read_text())
    except FileNotFoundError:
        raise ConfigError(f"{path}: configuration file not found") from None
    return validate_config(cfg, source=str(path))
