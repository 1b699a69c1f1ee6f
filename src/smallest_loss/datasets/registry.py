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
    "load_steplaw",
    "load_steplaw_moe",
    "load_steplaw_fits",
    "load_multipowerlaw",
    "MULTIPOWERLAW_SCHEDULES",
    "load_critical_batch",
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

# --- Part III: optimisation hyperparameters (chapter 6) -------------------------------------------

_STEPLAW = "https://raw.githubusercontent.com/step-law/steplaw/32a8f4cc50247695fb56cc6c9117abdf67c97763/data/"
_STEPLAW_CITE = (
    "Li et al. 2025, 'Predictable Scale: Part I -- Optimal Hyperparameter Scaling Law in Large "
    "Language Model Pretraining' (Step Law), arXiv:2503.04715"
)
_MPL = ("https://raw.githubusercontent.com/thu-yao-01-luo/MultiPowerLaw/"
        "8da9f1902602f3391b971a811e3cc51604541769/loss_curve_repo/")
_MPL_CITE = ("Luo et al. 2025, 'A Multi-Power Law for Loss Curve Prediction Across Learning Rate "
             "Schedules', arXiv:2503.12811")
_MPL_FILES = (
    ("csv_25/constant_24000.csv", "5a7c0b440751e258e7199eeefe9f0ae58520a2f2d64c5f81524d8d375f75f0ce"),
    ("csv_25/constant_72000.csv", "99ee51a9be7b7fb71511d0af28edd6bc6221350d2ad26a66c615467cb5c83247"),
    ("csv_25/cosine_24000.csv", "554e35f9efbe28a614c9ae1121b3bf55490df6b72a5898957f68a52770038e3a"),
    ("csv_25/cosine_72000.csv", "af3b25a485966a0f7fc34824774cf8ec85af14848a6dc7b64d6a8d3d044befa5"),
    ("csv_25/wsd_20000_24000.csv", "8649b7de4b4b31db5c35f4ff0458af9472a50168177de6372c3ceb37ace9fc62"),
    ("csv_25/wsdld_20000_24000.csv", "8e3a9ae33ed586e5040a114fad215f4f245c6a2ff7d96f61cba02ccd8b74b3e7"),
    ("csv_25/wsdcon_3.csv", "3d37fcf82c237e5c1ba2ee34c4b9e606ecba781536d4fea9a7dde5463207fc3d"),
    ("csv_25/wsdcon_9.csv", "b7579f38b5e175d9e9dc9b9598b409efdf2cba0a68819857ba28649c242c2bd8"),
    ("csv_25/wsdcon_18.csv", "9b9bd40f519d20ecbf540d4c9451f6a01b7b379b1d335407ba4651025cc5926f"),
    ("csv_100/constant_24000.csv", "034a75e2415373a9be1097e9d406f98524344f4718d200d3a188dcbd5115103b"),
    ("csv_100/constant_72000.csv", "52b5752009e1e4c396f15016e98897238fccb3816f58576ea944f03fe529dbc3"),
    ("csv_100/cosine_24000.csv", "dd544dc61a11fa138c98ac0b673d5512287062d2d2d2e9c2867976abc8c46e69"),
    ("csv_100/cosine_72000.csv", "2e637203b48b3e3a84063f49035cde2f6a40c69ecd15d95b6551774b9a279f44"),
    ("csv_100/wsd_20000_24000.csv", "e66df98c85dba705ebc85512c6a09a8ebec5675878a20d4d783c0bf80d031002"),
    ("csv_100/wsdld_20000_24000.csv", "0ef6b02e260ff5efa51a5885655ead8cf126a7e9c4ea3034d403e11852c06fe2"),
    ("csv_100/wsdcon_3.csv", "a1cbb8c730ae0628d69bb1d7aefadbad5cda5f6a92272f85203cd33d7b8f4912"),
    ("csv_100/wsdcon_9.csv", "510256497a0ea9d4270919fb37c56140e1b4d07e50b96b46334891ba316f144e"),
    ("csv_100/wsdcon_18.csv", "33cfea673dc0efde9e4fd74cc47d8daabdebfdc6d5a2659835bd780347f6e651"),
    ("csv_400/constant_24000.csv", "5d91536675592acdc40ea56f71ca24ee9026243e51a0a791ac25b631381c45ee"),
    ("csv_400/constant_72000.csv", "a453ef82f549470cc8250723917668801436dd835fd17bbf71e1fd77d00a3b6c"),
    ("csv_400/cosine_24000.csv", "aa18c9dbad66610d2037249bbcbf08fdce0983aa486b876ba95c2e3fb6fc0dce"),
    ("csv_400/cosine_72000.csv", "347acbdc80042cb7cfe0dcb28580a2780718ccbad23443d4de76821f0a1ab41e"),
    ("csv_400/wsd_20000_24000.csv", "8a56dbd8f6b553b42ca8b3f4be9822cf5b7458a6c1b7ae0ddc6ac57b2893dea7"),
    ("csv_400/wsdld_20000_24000.csv", "7c5d5141d917955491732606e8817e7fdbd4bc2036e508e1610ab8bd252267dc"),
    ("csv_400/wsdcon_3.csv", "e1a896755ea1e1a6a4648a503be6a19eb62fc7ef12fbab3440a66f7a94197ac6"),
    ("csv_400/wsdcon_9.csv", "497aa4a60df8f520e11e212a990dcf70e8bfd89e814f295dc5476af630aac768"),
    ("csv_400/wsdcon_18.csv", "998aaf3fd14de43fe754c7250885d7f72e20e7a210b1ea205a8af37ea8b22951"),
)

REGISTRY.update({
    f.key: f
    for f in [
        *[
            ExternalFile(
                f"steplaw/{name}", _STEPLAW + name, digest,
                "no licence upstream: downloaded at run time, never redistributed", _STEPLAW_CITE,
            )
            for name, digest in (
                ("dense_lr_bs_loss.csv",
                 "9e46181076c04d450294d75dfe6f72adc416e231e154a07b337e378f9410002c"),
                ("moe_lr_bs_loss.csv",
                 "653d585244a7b227423007e8b796bc16d76f6d24eb87b1919b8f048a91897b92"),
                ("1004_fitted_lr_bs_scaling_model_parameters.csv",
                 "2252afbba5530e6ba6167e8101bd2b9082a018a58cb5922cc8672891a7f4336c"),
            )
        ],
        *[ExternalFile(f"multipowerlaw/{name}", _MPL + name, digest, "MIT", _MPL_CITE)
          for name, digest in _MPL_FILES],
        ExternalFile(
            "critical_batch/chinchilla.ipynb",
            "https://raw.githubusercontent.com/hlzhang109/critical-batch-size/"
            "c5b509d8cf276bb40388172a08f9d6f644cf44dc/plots/chinchilla.ipynb",
            "bd0284c0431f2c35e1b06d438f6d1b0c6bdc348f545044ae9604fb17a75b7c91",
            "MIT",
            "Zhang et al. 2025, 'How Does Critical Batch Size Scale in Pre-training?', "
            "arXiv:2410.21676 (ICLR 2025); the authors' analysis notebook, parsed as JSON, never executed",
        ),
    ]
})


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


def _with_config(part: pd.DataFrame, cfg: pd.Series, key: str) -> pd.DataFrame:
    """``part`` with the configuration columns of ``cfg`` and the file it came from."""
    for c in PORIAN_CONFIG:
        part[c] = cfg[c]
    part["config"] = _config_id(cfg)
    part["source_file"] = key.split("/")[-1]
    return part


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
                rows.append(_with_config(part, cfg, key))
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
            rows.append(_with_config(part, cfg, key))
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


# --- Part III loaders ----------------------------------------------------------------------------

STEPLAW_SEQ_LEN = 2048
"""Sequence length of every Step Law run [tokens]: ``bs`` (sequences) times this is the batch in tokens."""


def _lr_grid(lr: pd.Series) -> pd.Series:
    """Step Law's learning rates lie on a grid of powers of sqrt(2) (2^-12 ... 2^-5.5) but are stored
    rounded to 3-4 digits, some twice (0.000345 and 0.0003453); this snaps each to its grid value."""
    return 2.0 ** (np.round(np.log2(lr.astype(float)) * 2.0) / 2.0)


def _steplaw_columns(raw: pd.DataFrame) -> dict[str, pd.Series]:
    """The columns Li et al.'s dense and MoE files share, with units: ``params`` N, ``tokens`` D,
    ``lr``, ``lr_grid``, ``batch_seqs``, ``batch`` [tokens], ``loss``, ``smooth_loss``."""
    return {
        "params": raw["N"].astype(float),
        "tokens": raw["D"].astype(float),
        "lr": raw["lr"].astype(float),
        "lr_grid": _lr_grid(raw["lr"]),
        "batch_seqs": raw["bs"].astype(int),
        "batch": raw["bs"].astype(float) * STEPLAW_SEQ_LEN,
        "loss": raw["loss"].astype(float),
        "smooth_loss": raw["smooth loss"].astype(float),
    }


def load_steplaw() -> pd.DataFrame:
    """The 1,911 dense runs of Li et al. 2025 (Step Law) on a learning-rate x batch grid in 17 (N, D) cells.

    Columns: ``params`` N, non-embedding parameters [parameters]; ``tokens`` D [tokens];
    ``lr`` peak learning rate as stored; ``lr_grid`` the same snapped to its grid of powers of
    sqrt(2); ``batch_seqs`` batch [sequences of 2,048 tokens]; ``batch`` batch [tokens];
    ``steps`` optimizer steps; ``loss`` final training loss [nats/token]; ``smooth_loss`` the
    smoothed final training loss the authors fit [nats/token]; ``d_model``, ``d_ff``, ``n_heads``,
    ``n_layers`` the shape. Runs that diverged are kept (their loss is about 6 to 11).
    """
    raw = pd.read_csv(fetch("steplaw/dense_lr_bs_loss.csv"))
    df = pd.DataFrame({
        **_steplaw_columns(raw),
        "steps": raw["ti"].astype(int),
        "d_model": raw["h"].astype(int),
        "d_ff": raw["ffnh"].astype(int),
        "n_heads": raw["numh"].astype(int),
        "n_layers": raw["numl"].astype(int),
    })
    return df.sort_values(["params", "tokens", "lr_grid", "batch"], kind="stable").reset_index(drop=True)


def load_steplaw_moe() -> pd.DataFrame:
    """The 708 mixture-of-experts runs of Li et al. 2025: ``params`` total N [parameters],
    ``active_params`` Na [parameters], ``tokens`` D, ``lr``, ``lr_grid``, ``batch_seqs``,
    ``batch`` [tokens], ``loss``, ``smooth_loss`` [nats/token], ``top_k``, ``n_experts``."""
    raw = pd.read_csv(fetch("steplaw/moe_lr_bs_loss.csv"))
    df = pd.DataFrame({
        **_steplaw_columns(raw),
        "active_params": raw["Na"].astype(float),
        "top_k": raw["topk"].astype(int),
        "n_experts": raw["nume"].astype(int),
    })
    return df.reset_index(drop=True)


def load_steplaw_fits() -> pd.DataFrame:
    """The authors' 1,000 bootstrap fits of ln lr* = lr_intercept + lr_coefN ln N + lr_coefD ln D
    and ln B* = bs_intercept + bs_coefD ln D (B* in tokens; natural logarithms), as stored."""
    return pd.read_csv(fetch("steplaw/1004_fitted_lr_bs_scaling_model_parameters.csv")).astype(float)


MULTIPOWERLAW_SCHEDULES = (
    "constant_24000", "cosine_24000", "wsd_20000_24000", "wsdld_20000_24000",
    "wsdcon_3", "wsdcon_9", "wsdcon_18", "constant_72000", "cosine_72000",
)
"""The nine learning-rate schedules of Luo et al. 2025's released curves, per model size."""

MULTIPOWERLAW_SIZES = {"25M": "csv_25", "100M": "csv_100", "400M": "csv_400"}


def load_multipowerlaw() -> pd.DataFrame:
    """Training-loss curves of Luo et al. 2025: 25M, 100M and 400M models under nine schedules.

    Columns: ``size`` (``25M``/``100M``/``400M``), ``schedule`` (see ``MULTIPOWERLAW_SCHEDULES``),
    ``step`` (optimizer step, every 128 after the 2,160-step warmup), ``lr`` learning rate at that
    step, ``loss`` training loss [nats/token].
    """
    parts = []
    for size, folder in MULTIPOWERLAW_SIZES.items():
        for schedule in MULTIPOWERLAW_SCHEDULES:
            raw = pd.read_csv(fetch(f"multipowerlaw/{folder}/{schedule}.csv"))
            parts.append(pd.DataFrame({"size": size, "schedule": schedule,
                                       "step": raw["step"].astype(int), "lr": raw["lr"].astype(float),
                                       "loss": raw["loss"].astype(float)}))
    return pd.concat(parts, ignore_index=True)


def _notebook_assignment(source: str, name: str):
    """The literal assigned to ``name`` on one line of ``source`` (a dict or list), via ast."""
    import ast

    for line in source.splitlines():
        if line.startswith(f"{name} = "):
            return ast.literal_eval(line.split("=", 1)[1].strip())
    raise ValueError(f"critical_batch notebook: no line assigning {name!r}")


CRITICAL_BATCH_SEQ_LEN = 512
"""Sequence length of every run of Zhang et al. 2025's critical-batch study [tokens]: their
notebook filters runs on ``config.model.max_sequence_length == 512``."""


def load_critical_batch() -> tuple[pd.DataFrame, pd.DataFrame]:
    """Steps to a target loss against batch size, from Zhang et al.'s analysis notebook (parsed, not run).

    Returns ``(steps, authors)``. ``steps`` has one row per (model, batch): ``model`` (``85M`` ...
    ``1.2B``), ``params`` [parameters, from the model's name], ``batch_seqs`` [sequences of 512
    tokens], ``batch`` [tokens], ``steps`` optimizer steps to reach the model's target C4
    validation loss ``target_loss`` [nats/token], as in the notebook's fitted ``results``.
    ``authors`` has one row per model with their own critical batch ``cbs_seqs`` [sequences] (the
    stored output of their fit) and ``cbs`` [tokens].
    """
    import json

    nb = json.loads(Path(fetch("critical_batch/chinchilla.ipynb")).read_text(encoding="utf-8"))
    cells = ["".join(c.get("source", [])) for c in nb["cells"]]
    setup = next(c for c in cells if c.startswith("batch_sizes = "))
    fitted = next(c for c in cells if c.startswith("results = {"))
    goal = _notebook_assignment(setup, "goal_losses")
    results = _notebook_assignment(fitted, "results")
    names = _notebook_assignment(fitted, "model_size_names")
    batches = [2 ** i for i in range(6, 15)]
    if "batch_sizes = [2**i for i in range(6, 15)]" not in fitted:
        raise ValueError("critical_batch notebook: batch sizes are not 2^6..2^14 as expected")
    cbs_cell = next(c for c in nb["cells"] if "".join(c.get("source", [])).strip() == "cbs_list")
    cbs_text = "".join(cbs_cell["outputs"][0]["data"]["text/plain"])
    import ast

    cbs = ast.literal_eval(cbs_text)
    seq = CRITICAL_BATCH_SEQ_LEN
    rows = []
    for name in names:
        for b, s in zip(batches, results[name], strict=True):
            rows.append({"model": name.replace("-ablation", ""), "params": parse_param_count(
                name.replace("-ablation", "")), "batch_seqs": b, "batch": float(b * seq),
                "steps": float(s), "target_loss": float(goal[name])})
    authors = pd.DataFrame({"model": [n.replace("-ablation", "") for n in names],
                            "cbs_seqs": [float(c) for c in cbs]})
    authors["cbs"] = authors["cbs_seqs"] * seq
    return pd.DataFrame(rows), authors
