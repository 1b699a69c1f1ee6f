"""External datasets: a pinned registry, verified downloads, and tidy loaders.

None of these files is part of the repository. Each is downloaded from its upstream URL, pinned to a
commit, into the user's cache; its sha256 is checked before a single byte is parsed (the Porian et
al. files are pickles, and unpickling runs code, so this check is a safety requirement as well as a
reproducibility one). Set the environment variable ``SMALLEST_LOSS_DATA_MIRROR`` to a folder laid
out as ``<dataset>/<file>`` (for example ``../shared/data/external``) to read verified copies from
there instead of the network. ``SMALLEST_LOSS_CACHE`` overrides the cache folder.
"""

from __future__ import annotations

import hashlib
import os
import re
from dataclasses import dataclass
from pathlib import Path

import numpy as np
import pandas as pd

from ..counting import training_flops, training_tokens

__all__ = [
    "MIRROR_ENV",
    "CACHE_ENV",
    "ExternalFile",
    "REGISTRY",
    "DatasetUnavailableError",
    "DataIntegrityError",
    "sha256_of",
    "fetch",
    "load_chinchilla",
    "load_porian",
    "load_porian_fits",
    "load_porian_optima",
    "load_datablations",
    "parse_param_count",
]

MIRROR_ENV = "SMALLEST_LOSS_DATA_MIRROR"
CACHE_ENV = "SMALLEST_LOSS_CACHE"


class DatasetUnavailableError(RuntimeError):
    """The file could be neither read from the mirror nor downloaded."""


class DataIntegrityError(ValueError):
    """A file's sha256 differs from the pinned one: it is not used."""


@dataclass(frozen=True)
class ExternalFile:
    """One pinned external file: where it lives upstream, its hash, license and citation."""

    key: str  # "<dataset>/<file>", also its path below the mirror and the cache
    url: str
    sha256: str
    license: str
    citation: str


_EPOCH = "https://raw.githubusercontent.com/epoch-research/analyzing-chinchilla/92258837425e1b5f2851d624287f0120583a3d0e/data/"
_PORIAN = "https://raw.githubusercontent.com/formll/resolving-scaling-law-discrepancies/0dc60d91b8a525858a3067fc9e4a46ff5374cc6f/data/"
_COLPRET = "https://raw.githubusercontent.com/IBM/ColPret/16f23bbe054277ddc4afd07a972dd7cfbe3f48c3/aggregated_eval/"
_PORIAN_CITE = (
    "Porian et al. 2024, 'Resolving Discrepancies in Compute-Optimal Scaling of Language Models', "
    "arXiv:2406.19146"
)

REGISTRY: dict[str, ExternalFile] = {
    f.key: f
    for f in [
        ExternalFile(
            "chinchilla_epoch/svg_extracted_data.csv",
            _EPOCH + "svg_extracted_data.csv",
            "193478df4e90f040016431996c45682659306840ecdadf83cfb9cd5ca0aa1b30",
            "no license file upstream: downloaded at run time, never redistributed",
            "Besiroglu et al. 2024, 'Chinchilla Scaling: A replication attempt', arXiv:2404.10102 "
            "(digitized from Hoffmann et al. 2022, Fig. 4)",
        ),
        ExternalFile(
            "porian2024/summary_df.pickle.xz",
            _PORIAN + "summary_df.pickle.xz",
            "afbf07ec92d23182f56a44dd43599f2a7e9716fd70492fbc0a35f6093272b74f",
            "MIT",
            _PORIAN_CITE,
        ),
        ExternalFile(
            "porian2024/summary_df_att.pickle.xz",
            _PORIAN + "summary_df_att.pickle.xz",
            "40218b8320817bf3c34f82c57aaa28c53ccb5feb9bb3928ee6fc70868ac22af7",
            "MIT",
            _PORIAN_CITE,
        ),
        ExternalFile(
            "porian2024/summary_df_kaplan_tuned_hparams.pickle.xz",
            _PORIAN + "summary_df_kaplan_tuned_hparams.pickle.xz",
            "09b6b91c9c6fa0e4c2684dcbed82475ee62d6c4fc60db5ca2ce5653b08f0ae55",
            "MIT",
            _PORIAN_CITE,
        ),
        ExternalFile(
            "porian2024/summary_df_owt2.pickle.xz",
            _PORIAN + "summary_df_owt2.pickle.xz",
            "7aed67d1ad9bc1d7b0518e3814cee1129216b423b4538d4b724873dd670cff30",
            "MIT",
            _PORIAN_CITE,
        ),
        ExternalFile(
            "datablations/datablations_losses.csv",
            _COLPRET + "datablations_losses.csv",
            "b3c448c2cd1a17128e06ee3120a9c377c4e2bf649e09b2446db59f98ef957b48",
            "MIT (IBM/ColPret)",
            "Muennighoff et al. 2023, 'Scaling Data-Constrained Language Models', arXiv:2305.16264",
        ),
        ExternalFile(
            "tinyshakespeare/input.txt",
            "https://raw.githubusercontent.com/karpathy/char-rnn/6f9487a6fe5b420b7ca9afb0d7c078e37c1d1b4e/"
            "data/tinyshakespeare/input.txt",
            "86c4e6aa9db7c042ec79f339dcb96d42b0075e16b8fc2e86bf0ca57e2dc565ed",
            "MIT (karpathy/char-rnn README); the text is public domain",
            "Karpathy 2015, char-rnn (tinyshakespeare: 1,115,394 bytes of Shakespeare)",
        ),
    ]
}


def sha256_of(path: str | os.PathLike[str]) -> str:
    """Hex sha256 digest of a file, read in 1 MiB blocks."""
    digest = hashlib.sha256()
    with open(path, "rb") as fh:
        for block in iter(lambda: fh.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def _entry(key: str) -> ExternalFile:
    try:
        return REGISTRY[key]
    except KeyError:
        known = ", ".join(sorted(REGISTRY))
        raise ValueError(f"unknown dataset file {key!r}; known files: {known}") from None


def _cache_dir() -> Path:
    env = os.environ.get(CACHE_ENV)
    if env:
        return Path(env).expanduser()
    import pooch

    return Path(pooch.os_cache("smallest-loss"))


def _verify(entry: ExternalFile, path: Path) -> Path:
    actual = sha256_of(path)
    if actual != entry.sha256:
        raise DataIntegrityError(
            f"{entry.key}: sha256 mismatch for {path} (expected {entry.sha256}, got {actual}); "
            "the file was not used"
        )
    return path


def fetch(key: str) -> Path:
    """Local path of the verified external file ``key`` (``"<dataset>/<file>"``, see ``REGISTRY``).

    With ``SMALLEST_LOSS_DATA_MIRROR`` set, the file is read from ``$MIRROR/<key>`` and its sha256
    checked; otherwise it is downloaded once (pooch) into the cache and checked there. A file whose
    hash differs is never returned: a bad download is deleted from the cache, a bad mirror file is
    reported and left alone. Raises ``ValueError`` for an unknown key, ``DataIntegrityError`` (a
    ``ValueError``) for a hash mismatch and ``DatasetUnavailableError`` when neither the mirror nor
    the network has the file.
    """
    entry = _entry(key)
    mirror = os.environ.get(MIRROR_ENV)
    if mirror:
        path = Path(mirror).expanduser() / entry.key
        if not path.is_file():
            raise DatasetUnavailableError(
                f"{entry.key}: not found in the mirror {MIRROR_ENV}={mirror} (looked for {path})"
            )
        return _verify(entry, path)

    import pooch

    cache = _cache_dir() / Path(entry.key).parent
    target = cache / Path(entry.key).name
    try:
        fetched = pooch.retrieve(
            url=entry.url,
            known_hash=f"sha256:{entry.sha256}",
            fname=target.name,
            path=cache,
            progressbar=False,
        )
    except ValueError as exc:  # pooch: downloaded bytes do not match the hash
        target.unlink(missing_ok=True)
        raise DataIntegrityError(
            f"{entry.key}: sha256 mismatch for the download from {entry.url} ({exc}); "
            "the file was not used and not kept in the cache"
        ) from None
    except Exception as exc:  # network errors of every kind
        target.unlink(missing_ok=True)
        raise DatasetUnavailableError(
            f"{entry.key}: cannot download {entry.url} ({type(exc).__name__}); without network, set "
            f"{MIRROR_ENV} to a folder holding the offline mirror, e.g. "
            f"export {MIRROR_ENV}=../shared/data/external"
        ) from None
    return _verify(entry, Path(fetched))


# --- Tidy loaders ------------------------------------------------------------------------------

CHINCHILLA_KEY = "chinchilla_epoch/svg_extracted_data.csv"


def load_chinchilla() -> pd.DataFrame:
    """The 245 (N, C, L) points digitized by Epoch AI from Hoffmann et al. 2022, Figure 4 (left).

    Source: Besiroglu et al. 2024 (arXiv:2404.10102). Columns:
    ``params`` N, total parameters including embeddings [parameters];
    ``flops`` C, training compute [FLOP];
    ``tokens`` D = C / (6 N) [tokens] (not stored upstream);
    ``loss`` final training loss [nats/token], read from the figure's colour bar;
    ``besiroglu_excluded`` True for the 5 highest-loss points that Besiroglu et al. drop before
    fitting (they fit the other 240).
    Rows are sorted by (flops, params). Loss and FLOPs carry digitization error.
    """
    raw = pd.read_csv(fetch(CHINCHILLA_KEY))
    df = pd.DataFrame(
        {
            "params": raw["Model Size"].astype(float),
            "flops": raw["Training FLOP"].astype(float),
            "loss": raw["loss"].astype(float),
        }
    )
    df["tokens"] = training_tokens(df["params"], df["flops"])
    df["besiroglu_excluded"] = False
    df.loc[df["loss"].nlargest(5).index, "besiroglu_excluded"] = True
    df = df.sort_values(["flops", "params"], kind="stable").reset_index(drop=True)
    return df[["params", "tokens", "flops", "loss", "besiroglu_excluded"]]


PORIAN_KEYS = (
    "porian2024/summary_df.pickle.xz",
    "porian2024/summary_df_owt2.pickle.xz",
    "porian2024/summary_df_att.pickle.xz",
    "porian2024/summary_df_kaplan_tuned_hparams.pickle.xz",
)
PORIAN_CONFIG = ["dataset", "hparams", "warmup", "decay", "param_count", "val"]


def _porian_frames() -> list[tuple[str, pd.DataFrame]]:
    frames = []
    for key in PORIAN_KEYS:
        path = fetch(key)  # hash verified before unpickling
        frames.append((key, pd.read_pickle(path)))
    return frames


def _config_id(row: pd.Series) -> str:
    return "/".join(str(row[c]) for c in PORIAN_CONFIG)


def load_porian() -> pd.DataFrame:
    """IsoFLOP observations of every analysis configuration of Porian et al. 2024, one row a run.

    Configuration columns (see the paper's Figure 1 and ``../shared/data/external/README.md``):
    ``config`` (the six below joined by '/'), ``dataset`` (``rw`` RefinedWeb, ``owt2``
    OpenWebText2), ``hparams`` (``base``/``tuned``), ``warmup`` (``long``/``short``), ``decay``
    (``kaplan``/``chinchilla``/``const``), ``param_count`` (``kaplan`` non-embedding,
    ``standard`` incl. the output layer, ``attention`` incl. attention FLOPs), ``val``
    (``train``/``val`` loss), ``source_file``. Observation columns: ``flops`` budget C [FLOP],
    ``params`` N in the configuration's counting [parameters], ``tokens`` D [tokens] (C = 6 N D in
    that counting), ``loss`` [nats/token]. Budgets stored without observations and runs with a
    missing value are left out.
    """
    rows = []
    for key, frame in _porian_frames():
        for _, cfg in frame.iterrows():
            data = cfg["data"]
            for _, budget in data.iterrows():
                if not hasattr(budget["orig_n"], "__len__"):
                    continue  # a budget stored without observations (NaN placeholder)
                n = np.asarray(budget["orig_n"], dtype=float)
                t = np.asarray(budget["orig_t"], dtype=float)
                loss = np.asarray(budget["orig_loss"], dtype=float)
                part = pd.DataFrame({"params": n, "tokens": t, "loss": loss}).dropna()
                part["flops"] = float(budget["flops"])
                for c in PORIAN_CONFIG:
                    part[c] = cfg[c]
                part["config"] = _config_id(cfg)
                part["source_file"] = key.split("/")[-1]
                rows.append(part)
    df = pd.concat(rows, ignore_index=True)
    cols = ["config", *PORIAN_CONFIG, "source_file", "flops", "params", "tokens", "loss"]
    return df[cols]


def load_porian_fits() -> pd.DataFrame:
    """The power-law fits Porian et al. 2024 stored with each configuration (for comparison only).

    One row per configuration: the configuration columns, ``n_exponent`` (a in N* ∝ C^a, their
    'basic' fit: unweighted least squares through their optima), ``n_exponent_weighted``,
    ``n_exponent_bs_median``, ``n_exponent_printed`` with ``n_exponent_printed_lo`` and
    ``n_exponent_printed_hi`` (the 'bs_median_weighted' fit and the 2.5% and 97.5% quantiles of its
    'bootstrap_weighted' replicates: what the paper's Figure 1 and Table 1 print, selected as in their
    ``paper_tables.py``), ``t_exponent`` (b in D* ∝ C^b), ``n_coef`` and ``source_file``.
    """
    rows = []
    for key, frame in _porian_frames():
        for _, cfg in frame.iterrows():
            fits = cfg["fit_results"]
            row = {c: cfg[c] for c in PORIAN_CONFIG}
            row["config"] = _config_id(cfg)
            row["source_file"] = key.split("/")[-1]
            row["n_exponent"] = float(fits["basic"]["n_exponent"])
            row["n_exponent_weighted"] = float(fits["weighted"]["n_exponent"])
            row["n_exponent_bs_median"] = float(fits["bs_median"]["n_exponent"])
            row["n_exponent_printed"] = float(fits["bs_median_weighted"]["n_exponent"])
            replicates = [f["n_exponent"] for f in fits["bootstrap_weighted"] if "n_coef" in f]
            row["n_exponent_printed_lo"], row["n_exponent_printed_hi"] = (
                float(q) for q in np.quantile(replicates, [0.025, 0.975]))
            row["t_exponent"] = float(fits["basic"]["t_exponent"])
            row["n_coef"] = float(fits["basic"]["n_coef"])
            rows.append(row)
    return pd.DataFrame(rows)[["config", *PORIAN_CONFIG, "source_file", "n_exponent",
                               "n_exponent_weighted", "n_exponent_bs_median", "n_exponent_printed",
                               "n_exponent_printed_lo", "n_exponent_printed_hi", "t_exponent", "n_coef"]]


def load_porian_optima() -> pd.DataFrame:
    """The isoFLOP optima Porian et al. 2024 stored with each configuration, one row a budget.

    Columns: the configuration columns (as in :func:`load_porian`), ``flops`` [FLOP], ``params_opt``
    (their N* for the budget [parameters]) and ``params_opt_log_sd`` (the spread of ln N* over their
    noise bootstrap, whose inverse square weights their printed power-law fit). Budgets without an
    optimum are left out.
    """
    rows = []
    for key, frame in _porian_frames():
        for _, cfg in frame.iterrows():
            pairs = cfg["optimal_pairs"][["flops", "n", "n_star_std"]].dropna()
            part = pd.DataFrame({"flops": pairs["flops"].to_numpy(float),
                                 "params_opt": pairs["n"].to_numpy(float),
                                 "params_opt_log_sd": pairs["n_star_std"].to_numpy(float)})
            for c in PORIAN_CONFIG:
                part[c] = cfg[c]
            part["config"] = _config_id(cfg)
            part["source_file"] = key.split("/")[-1]
            rows.append(part)
    df = pd.concat(rows, ignore_index=True)
    return df[["config", *PORIAN_CONFIG, "source_file", "flops", "params_opt", "params_opt_log_sd"]]


DATABLATIONS_KEY = "datablations/datablations_losses.csv"
_SIZE = re.compile(r"^\s*([0-9]*\.?[0-9]+)\s*([KMB])\s*$", re.IGNORECASE)
_SCALE = {"K": 1e3, "M": 1e6, "B": 1e9}


def parse_param_count(text: str) -> float:
    """'2.8B' -> 2.8e9 parameters ('K', 'M', 'B' suffixes); ValueError naming the text otherwise."""
    m = _SIZE.match(str(text))
    if not m:
        raise ValueError(f"num_params = {text!r} is not a size like '2.8B'")
    return float(m.group(1)) * _SCALE[m.group(2).upper()]


def load_datablations() -> pd.DataFrame:
    """Training-loss curves of the data-constrained runs of Muennighoff et al. 2023.

    Columns: ``data`` (``c4``/``oscar``), ``epochs`` (planned epochs over the unique data),
    ``params`` N [parameters] parsed from ``num_params``, ``tokens`` D seen so far [tokens],
    ``unique_tokens`` (tokens per epoch) [tokens], ``flops`` C = 6 N D recomputed [FLOP] (the
    upstream ``flops`` column is not used), ``loss`` [nats/token], ``run`` (one id per curve),
    ``checkpoint`` (upstream model URL).
    """
    raw = pd.read_csv(fetch(DATABLATIONS_KEY))
    params = raw["num_params"].map(parse_param_count).astype(float)
    df = pd.DataFrame(
        {
            "data": raw["data"].astype(str),
            "epochs": raw["epochs"].astype(float),
            "params": params,
            "tokens": raw["token_num"].astype(float),
            "unique_tokens": raw["tokens_per_epoch"].astype(float),
            "loss": raw["loss"].astype(float),
            "checkpoint": raw["checkpoint"].astype(str),
        }
    )
    df["flops"] = training_flops(df["params"], df["tokens"])
    df["run"] = (
        df["data"] + "/" + raw["num_params"].astype(str) + "/"
        + df["unique_tokens"].map(lambda v: f"{v:.4g}") + "/" + df["epochs"].map(lambda v: f"{v:g}")
    )
    df = df.sort_values(["run", "tokens"], kind="stable").reset_index(drop=True)
    return df[["run", "data", "epochs", "params", "tokens", "unique_tokens", "flops", "loss", "checkpoint"]]
