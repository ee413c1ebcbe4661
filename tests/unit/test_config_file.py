"""Per-store configuration: STORE/shoplens.toml over config.py's defaults, validated, with provenance."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from shoplens.config import BuildConfig, EncoderConfig, EngineConfig, EvaluateConfig, SearchConfig
from shoplens.config_file import COMMAND_LINE, DEFAULT, FILE_NAME, STORE_FILE, build_fingerprint, load_settings
from shoplens.errors import ConfigError
from shoplens.preprocess.lexicon import lexicon_for


def store_with(tmp_path: Path, text: str) -> Path:
    (tmp_path / FILE_NAME).write_text(text, encoding="utf-8")
    return tmp_path


def test_no_file_gives_the_defaults(tmp_path):
    s = load_settings(tmp_path)
    assert s.engine == EngineConfig() and s.build == BuildConfig() and s.evaluate == EvaluateConfig()
    assert s.file is None
    assert {v["source"] for v in s.effective().values()} == {DEFAULT}


def test_file_overrides_and_tables_merge_over_defaults(tmp_path):
    store = store_with(
        tmp_path,
        """
lexicon = "terms.toml"
[encoders]
text = ["e5"]
batch_size = 8
[index]
keep_generations = 3
exact_subset = 500
[index.image_part_weights]
colour = 0
[search]
candidates = 300
predicted_attribute_weight = 1      # an integer where a float is expected is fine
[search.weights]
image_to_text = 0
"text_dense:e5" = 2.5
[build]
auto_align_min_pairs = 10
[evaluate]
max_share = 0.5
click_thresholds = { pbm = [0.1, 0.2] }
""",
    )
    (tmp_path / "terms.toml").write_text("[colour]\nMint = { en = ['mint'] }\n", encoding="utf-8")
    s = load_settings(store)
    e = s.engine
    assert e.encoders.text == ("e5",) and e.encoders.batch_size == 8
    assert e.index.keep_generations == 3 and e.index.exact_subset == 500
    assert e.index.image_part_weights == {"mobilenet_v2": 1.0, "efficientnet_lite0": 1.0, "colour": 0.0}
    assert e.search.candidates == 300 and e.search.predicted_attribute_weight == 1.0
    weights = SearchConfig().weights
    assert e.search.weights == {**weights, "image_to_text": 0.0, "text_dense:e5": 2.5}
    assert s.build.auto_align_min_pairs == 10 and s.build.auto_align is True
    assert s.evaluate.max_share == 0.5 and s.evaluate.click_thresholds["pbm"] == (0.1, 0.2)
    assert s.evaluate.click_thresholds["ctr"] == EvaluateConfig().click_thresholds["ctr"]
    assert e.lexicon == tmp_path / "terms.toml"  # relative to the store
    eff = s.effective()
    assert eff["search.weights.image_to_text"] == {"value": 0.0, "source": STORE_FILE}
    assert eff["search.weights.bm25"] == {"value": 1.0, "source": DEFAULT}
    assert eff["encoders.text"] == {"value": ["e5"], "source": STORE_FILE}
    assert eff["lexicon"]["source"] == STORE_FILE and s.file == tmp_path / FILE_NAME


def test_precedence_command_line_over_code_over_file(tmp_path):
    store = store_with(tmp_path, "[encoders]\nbatch_size = 8\nthreads = 3\n[search]\nrrf_k = 10\ncandidates = 50\n")
    code = EngineConfig(encoders=EncoderConfig(threads=1), search=SearchConfig(rrf_k=20))
    s = load_settings(store, engine=code, overrides={"encoders.batch_size": 4})
    assert s.engine.encoders.batch_size == 4 and s.sources["encoders.batch_size"] == COMMAND_LINE
    assert s.engine.encoders.threads == 1 and s.sources["encoders.threads"] == "code"
    assert s.engine.search.rrf_k == 20 and s.sources["search.rrf_k"] == "code"
    # a value the code left at its default does not hide the file's
    assert s.engine.search.candidates == 50 and s.sources["search.candidates"] == STORE_FILE


@pytest.mark.parametrize(
    "text, key, says",
    [
        ("[search]\nwieghts = {}", "search.wieghts", "did you mean 'search.weights'?"),
        ("[serch]\nrrf_k = 1", "serch", "did you mean 'search'?"),
        ("[search.weights]\nbm52 = 1", "search.weights.bm52", "did you mean 'search.weights.bm25'?"),
        ("[index]\nexact_treshold = 5", "index.exact_treshold", "did you mean 'index.exact_threshold'?"),
        ("[search]\nrrf_k = '60'", "search.rrf_k", "must be an integer"),
        ("[search]\nrrf_k = 1.5", "search.rrf_k", "must be an integer"),
        ("[build]\nauto_align = 1", "build.auto_align", "must be true or false"),
        ("[encoders]\ntext = 'e5'", "encoders.text", "must be a list of strings"),
        ("[search]\nweights = 1", "search.weights", "must be a table"),
        ("[search.weights]\nbm25 = -1", "search.weights.bm25", "must be >= 0"),
        ("[search]\ncandidates = 0", "search.candidates", "must be >= 1"),
        ("[evaluate]\nmax_share = 2", "evaluate.max_share", "must be <= 1"),
        ("[evaluate]\npbm_prior = [1]", "evaluate.pbm_prior", "must have 2 values"),
        ("lexicon = 'missing.toml'", "lexicon", "not a file"),
        ("[build]\nrebuild = true", "build.rebuild", "per command"),
        ("search = 3", "search", "must be a table"),
        ("[ranker]\nhidden = 64", "ranker.hidden", "must be a list of integers"),
        ("[ranker]\nval_fraction = 0.9", "ranker.val_fraction", "must be <= 0.5"),
        ("[ranker]\nmin_click = 5", "ranker.min_click", "did you mean 'ranker.min_clicks'?"),
        (
            "[index.image_part_weights]\ncolur = 0",
            "index.image_part_weights.colur",
            "did you mean 'index.image_part_weights.colour'?",
        ),
    ],
)
def test_every_error_names_the_key(tmp_path, text, key, says):
    store = store_with(tmp_path, text)
    with pytest.raises(ConfigError) as e:
        load_settings(store)
    msg = str(e.value)
    assert f"'{key}'" in msg and says in msg and FILE_NAME in msg


def test_broken_toml_names_the_file(tmp_path):
    with pytest.raises(ConfigError, match=r"shoplens\.toml: not valid TOML"):
        load_settings(store_with(tmp_path, "[search\n"))


def test_command_line_values_are_validated_too(tmp_path):
    with pytest.raises(ConfigError, match=r"'encoders\.threads' must be >= 1"):
        load_settings(tmp_path, overrides={"encoders.threads": 0})


def test_build_fingerprint_follows_what_shapes_stored_data(tmp_path):
    base = EngineConfig()
    same = load_settings(store_with(tmp_path, "[search]\ncandidates = 7\n[encoders]\nthreads = 1\n")).engine
    other = load_settings(store_with(tmp_path, "[index.image_part_weights]\ncolour = 0.25\n")).engine
    assert build_fingerprint(base, "lex") == build_fingerprint(same, "lex")  # search-time settings only
    assert build_fingerprint(base, "lex") != build_fingerprint(other, "lex")
    assert build_fingerprint(base, "lex") != build_fingerprint(base, "other lexicon")


def test_the_documented_examples_are_valid(tmp_path):
    docs = Path(__file__).resolve().parents[2] / "docs"
    text = (docs / "shoplens.example.toml").read_text(encoding="utf-8")
    shutil.copy(docs / "my_terms.example.toml", tmp_path / "my_terms.toml")
    s = load_settings(store_with(tmp_path, text.replace('# lexicon = "my_terms.toml"', 'lexicon = "my_terms.toml"')))
    assert s.engine.index.keep_generations == 3 and s.sources["index.keep_generations"] == STORE_FILE
    assert lexicon_for(s.engine.lexicon).lookup("material", "linen") is not None


def test_ranker_table_reaches_the_trainer(tmp_path):
    from shoplens.config import RankerSettings
    from shoplens.rank.context import from_saved, profile_config, saved

    s = load_settings(store_with(tmp_path, "[ranker]\nmin_clicks = 7\nhidden = [16]\nprofile_half_life_days = 3\n"))
    cfg = s.engine.ranker  # what train-ranker trains with, as it is
    assert cfg.min_clicks == 7 and cfg.hidden == (16,) and profile_config(cfg).half_life_days == 3.0
    assert cfg.min_searches == RankerSettings().min_searches and cfg.lr == RankerSettings().lr
    # what a stored ranker keeps of them comes back for serving and --incremental updates
    back = from_saved(saved(cfg))
    assert back.hidden == (16,) and back.profile_half_life_days == 3.0 and back.depth == cfg.depth
    assert from_saved({"half_life_days": 5.0}).profile_half_life_days == 5.0  # meta.json of older rankers
    cli = load_settings(tmp_path, overrides={"ranker.min_clicks": 9})
    assert cli.engine.ranker.min_clicks == 9 and cli.sources["ranker.min_clicks"] == COMMAND_LINE
