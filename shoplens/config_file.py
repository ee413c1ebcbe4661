"""Per-store configuration: `STORE/shoplens.toml` over the defaults in `config.py`.

Precedence, highest first: the command line, then values given in code (a field of an
`EngineConfig`/`BuildConfig`/`EvaluateConfig` passed in counts as given when it differs from
the default), then the store's file, then the defaults. Every value's source is kept, so
`shoplens info` can say where the effective configuration came from.

    # STORE/shoplens.toml
    lexicon = "my_terms.toml"        # shop terms, relative to the store
    [search]
    candidates = 300
    [search.weights]
    image_to_text = 0                # switch a component off
    [index]
    keep_generations = 3

Tables: [encoders], [index], [search] (with [search.weights], [search.predicted_attribute_floors]),
[recommend] (with [recommend.weights], [recommend.action_weights]), [quality], [ranker], [build], [evaluate],
[server]. A table such as [search.weights] is merged over the default table, so it names only what changes.
Unknown keys, wrong types and out-of-range values are `ConfigError`s naming the key.

A setting whose field names an environment variable (`metadata["env"]`, the [server] table) takes
it, when `environ` is given, over the file and under code and the command line.
"""

from __future__ import annotations

import dataclasses
import difflib
import fnmatch
import hashlib
import json
import tomllib
import types
import typing
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from .config import (
    ENV_ADMIN_TOKEN,
    ENV_ADMIN_TOKEN_FILE,
    BuildConfig,
    EncoderConfig,
    EngineConfig,
    EvaluateConfig,
    IndexConfig,
    QualityConfig,
    RankerSettings,
    RecommendConfig,
    SearchConfig,
    ServerConfig,
)
from .errors import ConfigError

FILE_NAME = "shoplens.toml"

DEFAULT, STORE_FILE, CODE, COMMAND_LINE = "default", "store file", "code", "command line"
ENVIRONMENT = "environment"

# table name -> dataclass; "encoders"/"index"/"search" live in EngineConfig, the rest beside it
SECTIONS: dict[str, type] = {
    "encoders": EncoderConfig,
    "index": IndexConfig,
    "search": SearchConfig,
    "recommend": RecommendConfig,
    "quality": QualityConfig,
    "ranker": RankerSettings,
    "build": BuildConfig,
    "evaluate": EvaluateConfig,
    "server": ServerConfig,
}
TOP_LEVEL = ("lexicon",)
# Per-invocation switches, not store settings: a file may not set them.
NOT_IN_FILE = {"build.rebuild", "build.delete_missing", "build.progress"}
# Secrets stay out of a file that is copied and committed with the store's settings.
SECRETS = ("server.admin_token", "server.admin_token_file")


@dataclass(frozen=True)
class Settings:
    """The effective configuration of one store and where each value came from."""

    engine: EngineConfig
    build: BuildConfig
    evaluate: EvaluateConfig
    sources: dict[str, str]  # dotted key -> default | store file | environment $VAR | code | command line
    file: Path | None  # the store file read, if any
    server: ServerConfig = dataclasses.field(default_factory=ServerConfig)

    def effective(self) -> dict[str, dict[str, Any]]:
        """Dotted key -> {"value", "source"}, one entry per setting (dict settings per entry)."""
        out = {}
        for key, value in _flatten(self._sections()).items():
            out[key] = {"value": _plain(value), "source": self.sources.get(key, DEFAULT)}
        return out

    def _sections(self) -> dict[str, Any]:
        return {
            "encoders": self.engine.encoders,
            "index": self.engine.index,
            "search": self.engine.search,
            "recommend": self.engine.recommend,
            "quality": self.engine.quality,
            "ranker": self.engine.ranker,
            "build": self.build,
            "evaluate": self.evaluate,
            "server": self.server,
            "lexicon": self.engine.lexicon,
        }


def _plain(v: Any) -> Any:
    if isinstance(v, Path):
        return str(v)
    if isinstance(v, tuple):
        return list(v)
    return v


def _hints(cls: type) -> dict[str, Any]:
    return typing.get_type_hints(cls)


def _flatten(sections: Mapping[str, Any]) -> dict[str, Any]:
    """Dotted key -> value; dict-valued settings contribute one key per entry."""
    out: dict[str, Any] = {}
    for name, obj in sections.items():
        if not dataclasses.is_dataclass(obj):
            out[name] = obj
            continue
        for f in dataclasses.fields(obj):
            v = getattr(obj, f.name)
            if isinstance(v, dict):
                for k, x in v.items():
                    out[f"{name}.{f.name}.{k}"] = x
            else:
                out[f"{name}.{f.name}"] = v
    return out


def known_keys() -> list[str]:
    keys = list(TOP_LEVEL)
    for name, cls in SECTIONS.items():
        keys.append(name)
        for f in dataclasses.fields(cls):
            keys.append(f"{name}.{f.name}")
            for k in f.metadata.get("keys", ()):
                if "*" not in k:
                    keys.append(f"{name}.{f.name}.{k}")
    return keys


def _unknown(key: str, where: str) -> ConfigError:
    near = difflib.get_close_matches(key, known_keys(), n=1, cutoff=0.6)
    hint = f"; did you mean '{near[0]}'?" if near else f"; known tables: {', '.join(SECTIONS)}, and 'lexicon'"
    return ConfigError(f"{where}: unknown key '{key}'{hint}")


def _type_name(tp: Any) -> str:
    origin = typing.get_origin(tp)
    if tp is bool:
        return "true or false"
    if tp is int:
        return "an integer"
    if tp is float:
        return "a number"
    if tp is str:
        return "a string"
    if origin is tuple:
        return f"a list of {_type_name(typing.get_args(tp)[0]).removeprefix('a ').removeprefix('an ')}s"
    if origin is dict:
        return "a table"
    return str(tp)


def _check_range(key: str, v: float, meta: Mapping[str, Any], where: str) -> None:
    lo, hi = meta.get("min"), meta.get("max")
    if lo is not None and v < lo:
        raise ConfigError(f"{where}: '{key}' must be >= {lo}, got {v}")
    if hi is not None and v > hi:
        raise ConfigError(f"{where}: '{key}' must be <= {hi}, got {v}")


def _coerce(key: str, v: Any, tp: Any, meta: Mapping[str, Any], where: str, base: Path | None) -> Any:
    """`v` as type `tp`, or a ConfigError naming `key` and what it should be."""
    origin = typing.get_origin(tp)
    if origin in (types.UnionType, typing.Union):  # Path | None
        inner = [a for a in typing.get_args(tp) if a is not type(None)][0]
        return None if v is None else _coerce(key, v, inner, meta, where, base)
    bad = ConfigError(f"{where}: '{key}' must be {_type_name(tp)}, not {type(v).__name__} ({v!r})")
    if tp is bool:
        if not isinstance(v, bool):
            raise bad
        return v
    if tp is int:
        if isinstance(v, bool) or not isinstance(v, int):
            raise bad
        _check_range(key, v, meta, where)
        return v
    if tp is float:
        if isinstance(v, bool) or not isinstance(v, (int, float)):
            raise bad
        _check_range(key, float(v), meta, where)
        return float(v)
    if tp is str:
        if not isinstance(v, str):
            raise bad
        if "choices" in meta and v not in meta["choices"]:
            raise ConfigError(f"{where}: '{key}' must be one of {', '.join(meta['choices'])}, not {v!r}")
        return v
    if tp is Path:
        if not isinstance(v, (str, Path)):
            raise ConfigError(f"{where}: '{key}' must be a path (a string), not {type(v).__name__} ({v!r})")
        p = Path(v).expanduser()
        return p if p.is_absolute() or base is None else base / p
    if origin is tuple:
        if not isinstance(v, (list, tuple)):
            raise bad
        item = typing.get_args(tp)[0]
        items = tuple(_coerce(f"{key}[{i}]", x, item, meta, where, base) for i, x in enumerate(v))
        if "length" in meta and len(items) != meta["length"]:
            raise ConfigError(f"{where}: '{key}' must have {meta['length']} values, got {len(items)}")
        return items
    if origin is dict:
        if not isinstance(v, Mapping):
            raise bad
        _, item = typing.get_args(tp)
        allowed = meta.get("keys")
        out: dict[str, Any] = {}
        for k, x in v.items():
            sub = f"{key}.{k}"
            if allowed and not any(fnmatch.fnmatchcase(k, pat) for pat in allowed):
                raise _unknown(sub, where)
            out[k] = _coerce(sub, x, item, meta, where, base)
        return out
    raise TypeError(f"config field {key} has a type the file reader does not know: {tp}")


def _read_file(path: Path) -> dict[str, Any]:
    try:
        return tomllib.loads(path.read_text(encoding="utf-8"))
    except OSError as e:
        raise ConfigError(f"{path}: cannot read it ({e.strerror or e})") from None
    except UnicodeDecodeError:
        raise ConfigError(f"{path}: not UTF-8 text") from None
    except tomllib.TOMLDecodeError as e:
        raise ConfigError(f"{path}: not valid TOML ({e}); see docs/configuration.md") from None


class _Layers:
    """Values per section, each with its source, applied in order of precedence."""

    def __init__(self) -> None:
        self.values: dict[str, dict[str, Any]] = {name: {} for name in SECTIONS}
        self.top: dict[str, Any] = {}
        self.sources: dict[str, str] = {}

    def set(self, key: str, value: Any, source: str, where: str, base: Path | None, merge: bool = True) -> None:
        if source == STORE_FILE and key in SECRETS:
            raise ConfigError(
                f"{where}: '{key}' is a secret and does not belong in {FILE_NAME}; set ${ENV_ADMIN_TOKEN} "
                f"or name a file with `shoplens serve --admin-token-file FILE` (or ${ENV_ADMIN_TOKEN_FILE})"
            )
        section, _, name = key.partition(".")
        if section in TOP_LEVEL and not name:
            p = _coerce(key, value, Path, {}, where, base)
            if source == STORE_FILE and not p.is_file():
                raise ConfigError(f"{where}: '{key}' names {p}, which is not a file (paths are relative to the store)")
            self.top[key] = p
            self.sources[key] = source
            return
        cls = SECTIONS.get(section)
        if cls is None:
            raise _unknown(key, where)
        fields = {f.name: f for f in dataclasses.fields(cls)}
        name, _, entry = name.partition(".")
        f = fields.get(name)
        if f is None:
            raise _unknown(key, where)
        if source == STORE_FILE and key in NOT_IN_FILE:
            raise ConfigError(f"{where}: '{key}' is chosen per command (a flag of `shoplens index`), not per store")
        tp = _hints(cls)[name]
        meta = f.metadata
        if entry:  # one entry of a dict setting ("search.weights.bm25")
            value = {entry: value}
        v = _coerce(f"{section}.{name}", value, tp, meta, where, base)
        if isinstance(v, dict):
            cur = self.values[section].get(name)
            if cur is None:
                cur = dict(getattr(cls(), name))
            self.values[section][name] = {**cur, **v} if merge else v
            for k in v:
                self.sources[f"{section}.{name}.{k}"] = source
        else:
            self.values[section][name] = v
            self.sources[f"{section}.{name}"] = source

    def apply_file(self, data: Mapping[str, Any], path: Path) -> None:
        for key, value in data.items():
            if key in SECTIONS:
                if not isinstance(value, Mapping):
                    raise ConfigError(f"{path}: '{key}' must be a table ([{key}])")
                for name, v in value.items():
                    self.set(f"{key}.{name}", v, STORE_FILE, str(path), path.parent)
            elif key in TOP_LEVEL:
                self.set(key, value, STORE_FILE, str(path), path.parent)
            else:
                raise _unknown(key, str(path))

    def apply_environ(self, environ: Mapping[str, str]) -> None:
        """Settings that name an environment variable, from `environ`; a value is read as a TOML
        value (`30`, `0.5`), else as a string, then checked like the file's."""
        for section, cls in SECTIONS.items():
            for f in dataclasses.fields(cls):
                var = f.metadata.get("env")
                raw = environ.get(var, "").strip() if var else ""
                if not raw:
                    continue
                try:
                    value = tomllib.loads(f"v = {raw}")["v"]
                except tomllib.TOMLDecodeError:
                    value = raw
                self.set(f"{section}.{f.name}", value, f"{ENVIRONMENT} ${var}", f"${var}", Path.cwd())

    def apply_given(self, section: str, obj: Any, source: str) -> None:
        """Fields of a config object passed in code that differ from the defaults."""
        default = type(obj)()
        for f in dataclasses.fields(obj):
            v, d = getattr(obj, f.name), getattr(default, f.name)
            if isinstance(v, dict):
                changed = {k: x for k, x in v.items() if d.get(k) != x}
                if changed or set(v) != set(d):
                    # a dict passed in code replaces the default one
                    cur = self.values[section].get(f.name, dict(d))
                    self.values[section][f.name] = {**cur, **v}
                    for k in changed:
                        self.sources[f"{section}.{f.name}.{k}"] = source
            elif v != d:
                self.values[section][f.name] = v
                self.sources[f"{section}.{f.name}"] = source

    def build(self) -> tuple[EngineConfig, BuildConfig, EvaluateConfig, ServerConfig]:
        made = {name: cls(**self.values[name]) for name, cls in SECTIONS.items()}
        engine = EngineConfig(
            encoders=made["encoders"],
            index=made["index"],
            search=made["search"],
            recommend=made["recommend"],
            quality=made["quality"],
            ranker=made["ranker"],
            lexicon=self.top.get("lexicon"),
        )
        return engine, made["build"], made["evaluate"], made["server"]


def load_settings(
    store: str | Path | None,
    *,
    engine: EngineConfig | None = None,
    build: BuildConfig | None = None,
    evaluate: EvaluateConfig | None = None,
    overrides: Mapping[str, Any] | None = None,
    environ: Mapping[str, str] | None = None,
) -> Settings:
    """The effective configuration for `store` (its shoplens.toml, if any, over the defaults),
    then the variables of `environ` that settings name (`shoplens serve`/`info` pass os.environ),
    with `engine`/`build`/`evaluate` from code and `overrides` (dotted keys, e.g. from CLI flags) on top."""
    layers = _Layers()
    path = Path(store) / FILE_NAME if store is not None else None
    if path is not None and path.is_file():
        layers.apply_file(_read_file(path), path)
    else:
        path = None
    if environ is not None:
        layers.apply_environ(environ)
    if engine is not None:
        for name in ("encoders", "index", "search", "recommend", "quality", "ranker"):
            layers.apply_given(name, getattr(engine, name), CODE)
        if engine.lexicon is not None:
            layers.set("lexicon", engine.lexicon, CODE, "code", None)
    if build is not None:
        layers.apply_given("build", build, CODE)
    if evaluate is not None:
        layers.apply_given("evaluate", evaluate, CODE)
    for key, value in (overrides or {}).items():
        if value is not None:
            layers.set(key, value, COMMAND_LINE, "command line", Path.cwd())
    e, b, v, server = layers.build()
    _check_image_parts(e, layers.sources, path)
    return Settings(engine=e, build=b, evaluate=v, sources=layers.sources, file=path, server=server)


def _check_image_parts(engine: EngineConfig, sources: Mapping[str, str], path: Path | None) -> None:
    """A weight set for a part no configured image encoder makes is a typo, not a no-op."""
    parts = engine.encoders.image
    for name in engine.index.image_part_weights:
        key = f"index.image_part_weights.{name}"
        if sources.get(key, DEFAULT) != DEFAULT and name not in parts:
            near = difflib.get_close_matches(name, parts, n=1)
            hint = (
                f"did you mean 'index.image_part_weights.{near[0]}'?"
                if near
                else f"the image encoders are {', '.join(parts)}"
            )
            raise ConfigError(f"{path or sources[key]}: unknown key '{key}'; {hint}")


def build_fingerprint(config: EngineConfig, lexicon_fingerprint: str) -> str:
    """Hash of the settings that shape what a build writes (encoders, image part weights, index
    kind, lexicon); a store whose manifest records another one was built with other settings."""
    doc = {
        "text": list(config.encoders.text),
        "image": list(config.encoders.image),
        "image_part_weights": dict(sorted(config.index.image_part_weights.items())),
        "exact_threshold": config.index.exact_threshold,
        "hnsw_m": config.index.hnsw_m,
        "lexicon": lexicon_fingerprint,
    }
    if config.encoders.int8:  # only when on: stores built before the option keep their fingerprint
        doc["int8_encoders"] = True
    if config.index.vector_codec != "f32" or config.index.large_index != "hnsw":  # older fingerprints stay valid
        doc |= {"vector_codec": config.index.vector_codec, "large_index": config.index.large_index}
    return hashlib.sha256(json.dumps(doc, sort_keys=True).encode()).hexdigest()[:16]
