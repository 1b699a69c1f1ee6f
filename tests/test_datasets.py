"""Data access: verified mirror reads, verified downloads, and the error for each failure."""

import dataclasses
import functools
import http.server
import os
import shutil
import threading
from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from smallest_loss import datasets
from smallest_loss.datasets import (
    CACHE_ENV,
    MIRROR_ENV,
    REGISTRY,
    DataIntegrityError,
    DatasetUnavailableError,
)

ROOT = Path(__file__).resolve().parents[1]
MIRROR = Path(__file__).resolve().parents[2] / "shared" / "data" / "external"
needs_mirror = pytest.mark.skipif(
    not (os.environ.get(MIRROR_ENV) or MIRROR.is_dir()), reason="offline data mirror not present"
)
KEY = "chinchilla_epoch/svg_extracted_data.csv"


@pytest.fixture
def mirror_path():
    return Path(os.environ.get(MIRROR_ENV) or MIRROR)


@pytest.fixture
def no_mirror(monkeypatch, tmp_path):
    monkeypatch.delenv(MIRROR_ENV, raising=False)
    monkeypatch.setenv(CACHE_ENV, str(tmp_path / "cache"))
    return tmp_path / "cache"


@pytest.fixture
def http_root(tmp_path):
    """A file server on 127.0.0.1 serving tmp_path/www; yields (root folder, base URL)."""
    root = tmp_path / "www"
    root.mkdir()
    handler = functools.partial(QuietHandler, directory=str(root))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield root, f"http://127.0.0.1:{server.server_address[1]}/"
    server.shutdown()
    server.server_close()


class QuietHandler(http.server.SimpleHTTPRequestHandler):
    def log_message(self, *args):
        pass


def test_registry_entries_are_pinned_and_cited():
    assert len(REGISTRY) >= 7
    for entry in REGISTRY.values():
        assert len(entry.sha256) == 64 and entry.url.startswith("https://raw.githubusercontent.com/")
        assert entry.license and entry.citation


@needs_mirror
def test_every_registry_entry_matches_the_mirror_manifest(mirror_path):
    """URL and sha256 of each entry are those of the mirror's MANIFEST.tsv (dataset, file, url, sha256),
    or, for files the manifest does not list, the hash of the mirrored file."""
    rows = [line.split("\t") for line in (mirror_path / "MANIFEST.tsv").read_text().splitlines()[1:]]
    manifest = {f"{r[0]}/{r[1]}": (r[2], r[3]) for r in rows if len(r) >= 4}
    for key, entry in REGISTRY.items():
        if key in manifest:
            assert (entry.url, entry.sha256) == manifest[key], key
        else:  # files mirrored before MANIFEST.tsv existed: the mirrored bytes carry the pinned hash
            assert datasets.sha256_of(mirror_path / key) == entry.sha256, key
    assert sum(key.split("/")[0] in ("steplaw", "multipowerlaw", "critical_batch") for key in REGISTRY) == 31
    assert REGISTRY["steplaw/dense_lr_bs_loss.csv"].license.startswith("no licence")  # run time only


def test_unknown_dataset_name():
    with pytest.raises(ValueError, match=r"unknown dataset file 'nope/x.csv'; known files: "):
        datasets.fetch("nope/x.csv")


@needs_mirror
def test_fetch_from_mirror_checks_hash(mirror_path, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, str(mirror_path))
    for key, entry in REGISTRY.items():
        path = datasets.fetch(key)
        assert datasets.sha256_of(path) == entry.sha256


def test_mirror_hash_mismatch_names_file_and_both_hashes(tmp_path, monkeypatch):
    bad = tmp_path / KEY
    bad.parent.mkdir(parents=True)
    bad.write_text("x,y\n1,2\n")
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    with pytest.raises(DataIntegrityError) as err:
        datasets.fetch(KEY)
    msg = str(err.value)
    assert KEY in msg and REGISTRY[KEY].sha256 in msg and datasets.sha256_of(bad) in msg
    assert "\n" not in msg


def test_missing_from_mirror(tmp_path, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, str(tmp_path))
    with pytest.raises(DatasetUnavailableError, match=r"not found in the mirror"):
        datasets.fetch(KEY)


def test_no_network_and_no_mirror_says_how_to_set_the_mirror(no_mirror, monkeypatch):
    entry = dataclasses.replace(REGISTRY[KEY], url="http://127.0.0.1:9/closed.csv")
    monkeypatch.setitem(REGISTRY, KEY, entry)
    with pytest.raises(DatasetUnavailableError) as err:
        datasets.fetch(KEY)
    msg = str(err.value)
    assert f"set {MIRROR_ENV}" in msg and "../shared/data/external" in msg and "\n" not in msg
    assert not (no_mirror / KEY).exists()


def test_download_with_wrong_bytes_is_rejected_and_not_cached(no_mirror, http_root, monkeypatch):
    root, base = http_root
    (root / "data.csv").write_text("tampered\n")
    entry = dataclasses.replace(REGISTRY[KEY], url=base + "data.csv")
    monkeypatch.setitem(REGISTRY, KEY, entry)
    with pytest.raises(DataIntegrityError, match=r"sha256 mismatch") as err:
        datasets.fetch(KEY)
    assert REGISTRY[KEY].sha256 in str(err.value)
    assert not (no_mirror / KEY).exists()


@needs_mirror
def test_download_verifies_caches_and_reuses(no_mirror, http_root, monkeypatch, mirror_path):
    root, base = http_root
    shutil.copy(mirror_path / KEY, root / "data.csv")
    entry = dataclasses.replace(REGISTRY[KEY], url=base + "data.csv")
    monkeypatch.setitem(REGISTRY, KEY, entry)
    path = datasets.fetch(KEY)
    assert path == no_mirror / KEY and datasets.sha256_of(path) == entry.sha256
    (root / "data.csv").unlink()  # the server no longer has it: the cache must be used
    assert datasets.fetch(KEY) == path


@needs_mirror
def test_load_chinchilla_columns_and_units(mirror_path, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, str(mirror_path))
    df = datasets.load_chinchilla()
    assert list(df.columns) == ["params", "tokens", "flops", "loss", "besiroglu_excluded"]
    assert len(df) == 245 and df.besiroglu_excluded.sum() == 5
    np.testing.assert_allclose(df.flops, 6 * df.params * df.tokens, rtol=1e-12)
    kept = df[~df.besiroglu_excluded]
    assert kept.loss.max() < df[df.besiroglu_excluded].loss.min()
    # The digitized sizes are the model sizes of Hoffmann et al. Table A9 (to the printed million).
    a9 = set(pd.read_csv(ROOT / "data" / "chinchilla_table_a9.csv").params_millions)
    sizes = set(np.round(df.params / 1e6).astype(int))
    assert len(sizes) == 43 and sizes <= a9


@needs_mirror
def test_load_porian(mirror_path, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, str(mirror_path))
    df = datasets.load_porian()
    assert df.config.nunique() == 15
    assert set(df.dataset) == {"rw", "owt2"}
    assert df[["flops", "params", "tokens", "loss"]].notna().all().all()
    np.testing.assert_allclose(df.flops, 6 * df.params * df.tokens, rtol=0.02)
    fits = datasets.load_porian_fits()
    by_config = fits.set_index("config")
    # Unweighted stored fit, and the weighted fit the paper prints (Porian et al. 2024, Fig. 1 and
    # Table 1: OWT2 step (a) 0.864 (0.82, 0.90); RW step (b) 0.706 (0.69, 0.72)).
    assert by_config.loc["rw/base/long/kaplan/kaplan/train", "n_exponent"] == pytest.approx(0.834, abs=5e-4)
    owt2_a = by_config.loc["owt2/base/long/kaplan/kaplan/train"]
    rw_b = by_config.loc["rw/base/long/kaplan/standard/val"]
    assert round(owt2_a.n_exponent_printed, 3) == 0.864 and round(owt2_a.n_exponent, 3) == 0.870
    assert (round(owt2_a.n_exponent_printed_lo, 2), round(owt2_a.n_exponent_printed_hi, 2)) == (0.82, 0.90)
    assert abs(rw_b.n_exponent_printed - 0.706) < 6e-4 and round(rw_b.n_exponent, 3) == 0.701
    assert (round(rw_b.n_exponent_printed_lo, 2), round(rw_b.n_exponent_printed_hi, 2)) == (0.69, 0.72)
    # Their optima and weights give back the printed exponent exactly.
    from smallest_loss import reconcile as rc
    optima = datasets.load_porian_optima()
    assert set(optima.config) == set(fits.config)
    assert (optima.params_opt > 0).all() and (optima.params_opt_log_sd > 0).all()
    for config, part in optima.groupby("config"):
        a, _ = rc.compute_optimal_exponent(part.flops, part.params_opt, part.params_opt_log_sd)
        assert a == pytest.approx(by_config.loc[config, "n_exponent_printed"], abs=1e-9)


@needs_mirror
def test_load_datablations_recomputes_flops(mirror_path, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, str(mirror_path))
    df = datasets.load_datablations()
    assert len(df) == 9261
    assert set(df.params) == {2.8e9, 4.2e9, 8.7e9}
    np.testing.assert_allclose(df.flops, 6 * df.params * df.tokens)
    assert df.groupby("run").tokens.apply(lambda t: t.is_monotonic_increasing).all()


@pytest.mark.parametrize("text, value", [("2.8B", 2.8e9), ("125M", 125e6), (" 7b ", 7e9), ("10K", 1e4)])
def test_parse_param_count(text, value):
    assert datasets.parse_param_count(text) == pytest.approx(value)


def test_parse_param_count_bad():
    with pytest.raises(ValueError, match=r"num_params = '2\.8G' is not a size like '2\.8B'"):
        datasets.parse_param_count("2.8G")


# --- Part III datasets (chapter 6) -------------------------------------------------------------


@needs_mirror
def test_part3_loaders(mirror_path, monkeypatch):
    monkeypatch.setenv(MIRROR_ENV, str(mirror_path))
    steplaw = datasets.load_steplaw()
    assert len(steplaw) == 1911 and steplaw.groupby(["params", "tokens"]).ngroups == 17
    assert (steplaw.batch == steplaw.batch_seqs * 2048).all()
    assert steplaw.lr_grid.nunique() == 14 and np.allclose(steplaw.lr_grid / steplaw.lr, 1, atol=6e-3)
    assert len(datasets.load_steplaw_moe()) == 708
    fits = datasets.load_steplaw_fits()
    assert len(fits) == 1000 and np.exp(fits.lr_intercept.mean()) == pytest.approx(1.797, abs=1e-3)
    curves = datasets.load_multipowerlaw()
    assert curves.groupby(["size", "schedule"]).ngroups == 27
    last = curves.sort_values("step").groupby(["size", "schedule"]).last()
    assert last.loc[("400M", "cosine_24000"), "loss"] == pytest.approx(2.7396)
    steps, authors = datasets.load_critical_batch()
    assert len(steps) == 45 and list(authors.model) == ["85M", "151M", "302M", "604M", "1.2B"]
    assert steps.loc[0, "steps"] == 46000 and authors.cbs_seqs[0] == pytest.approx(745.3201, abs=1e-3)
