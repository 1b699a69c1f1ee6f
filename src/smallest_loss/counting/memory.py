"""Training memory: bytes per parameter of model state, its sharding and offloading, and the
activations of a decoder block.

**Model state** (weights, gradients, optimizer state) per parameter, in bytes:

=================  =====================  ===========================================================
precision          weights + gradients    optimizer side
=================  =====================  ===========================================================
``fp32``           4 + 4                  the optimizer's moments in fp32
``bf16-mixed``     2 + 2                  an fp32 master copy of the weights (4) + the moments
=================  =====================  ===========================================================

Mixed precision keeps a 32-bit master copy of the weights, updated by the optimizer, and runs the
forward and backward passes on a 16-bit copy (Micikevicius et al. 2018); ``fp16-mixed`` has the
same byte counts as ``bf16-mixed``. Moments per parameter: AdamW keeps two (first and second
moment, 4 + 4 bytes); SGD with momentum one (4); Adafactor without momentum keeps only the row and
column sums of the second moment of each weight matrix, ``4 (r + c)`` bytes for an ``r x c`` matrix
instead of ``4 r c`` (Shazeer & Stern 2018); 8-bit AdamW stores each moment in one byte plus one
fp32 normalisation constant (the block's absolute maximum) per block of ``block_size`` values
(Dettmers et al. 2022, who use blocks of 2,048), i.e. ``2 + 2 * 4 / block_size`` bytes.

With AdamW in mixed precision this is ``2 + 2 + 12 = 16`` bytes per parameter: Rajbhandari et al.
(2020, ZeRO) write it ``2 Psi + 2 Psi + K Psi`` with ``K = 12`` for a model of ``Psi`` parameters.

**ZeRO** (Rajbhandari et al. 2020) shards model state across the ``G`` data-parallel GPUs: stage 1
the optimizer state (master weights and moments), stage 2 the gradients as well, stage 3 the
16-bit weights too. Per GPU: stage 0 ``(w + g + K) Psi``; stage 1 ``(w + g) Psi + K Psi / G``;
stage 2 ``w Psi + (g + K) Psi / G``; stage 3 ``(w + g + K) Psi / G``.

**CPU offload.** ``offload="optimizer"`` (as ZeRO-Offload, Ren et al. 2021) keeps the 16-bit
weights on the GPU and moves the gradients, the master weights and the moments to host memory,
where the optimizer step runs; ``offload="all"`` moves the weights as well, streaming them to the
GPU layer by layer (as Colossal-AI's Gemini and ZeRO-Infinity do). Streaming buffers are not
counted.

**Activations** of one decoder block, for sequence length ``s``, micro-batch ``b``, width ``h`` and
``a`` attention heads, with 16-bit activations and no tensor or sequence parallelism (Korthikanti
et al. 2022, Eq. 1): ``s b h (34 + 5 a s / h)`` bytes. Their selective recomputation keeps only the
``34 s b h`` term (the attention scores and softmax are recomputed); full recomputation
(checkpointing each block) keeps the block's 16-bit input, ``2 s b h`` bytes, and rebuilds one
block's activations at a time during the backward pass.

All sizes are in bytes (1 GB = 1e9 bytes).
"""

from __future__ import annotations

import math
import numbers
from dataclasses import dataclass

__all__ = [
    "OPTIMIZERS",
    "PRECISIONS",
    "OFFLOADS",
    "RECOMPUTE",
    "ADAM_8BIT_BLOCK_SIZE",
    "ADAFACTOR_DEFAULT_MATRIX",
    "BytesPerParam",
    "MemoryPlan",
    "bytes_per_param",
    "model_state_bytes",
    "memory_plan",
    "activation_bytes_per_layer",
    "activation_bytes",
    "largest_trainable_params",
    "ACTIVATION_BYTES_PER_SBH",
    "ATTENTION_BYTES_PER_AS2B",
    "attention_equals_rest_seq_len",
    "pcie_bandwidth",
    "dram_bandwidth",
    "cpu_optimizer_bytes_per_param",
    "OffloadThroughput",
    "offload_throughput",
]

OPTIMIZERS = ("adamw", "adamw-8bit", "sgd-momentum", "adafactor")
PRECISIONS = ("fp32", "bf16-mixed", "fp16-mixed")
OFFLOADS = ("none", "optimizer", "all")
RECOMPUTE = ("none", "selective", "full")

ADAM_8BIT_BLOCK_SIZE = 2048
"""Values per quantization block of 8-bit Adam (Dettmers et al. 2022); one fp32 absolute maximum
is stored per block and per moment."""

ACTIVATION_BYTES_PER_SBH = 34.0
"""Bytes per ``s b h`` of one decoder block's activations outside the attention scores
(Korthikanti et al. 2022, Eq. 1; 16-bit activations, 1-byte dropout masks)."""

ATTENTION_BYTES_PER_AS2B = 5.0
"""Bytes per ``a s^2 b`` of one decoder block's attention scores, their softmax and its dropout
mask (Korthikanti et al. 2022, Eq. 1)."""

ADAFACTOR_DEFAULT_MATRIX = (4096, 4096)
"""Weight-matrix shape assumed for Adafactor's factored second moment when none is given."""


def _choice(name: str, value: object, choices: tuple[str, ...]) -> str:
    if not isinstance(value, str) or value not in choices:
        raise ValueError(f"{name} = {value!r} is not one of {', '.join(choices)}")
    return value


def _positive_int(name: str, value: object) -> int:
    if isinstance(value, bool) or not isinstance(value, numbers.Integral) or int(value) < 1:
        raise ValueError(f"{name} = {value!r} is not a positive integer")
    return int(value)


def _positive_real(name: str, value: object) -> float:
    if isinstance(value, bool) or not isinstance(value, numbers.Real) or not math.isfinite(float(value)) \
            or float(value) <= 0:
        raise ValueError(f"{name} = {value!r} is not a finite positive number")
    return float(value)


@dataclass(frozen=True)
class BytesPerParam:
    """Bytes of model state per parameter, by kind.

    ``weights``: the copy used in the forward and backward passes; ``gradients``; ``master``: the
    fp32 master weights of mixed precision (0 in fp32); ``moments``: the optimizer's moments,
    quantization constants included; ``quantization_constants``: the part of ``moments`` that is
    8-bit Adam's per-block constants.
    """

    weights: float
    gradients: float
    master: float
    moments: float
    quantization_constants: float = 0.0

    @property
    def optimizer(self) -> float:
        """Optimizer state, ZeRO's ``K``: master weights + moments."""
        return self.master + self.moments

    @property
    def total(self) -> float:
        return self.weights + self.gradients + self.master + self.moments


def bytes_per_param(optimizer: str = "adamw", precision: str = "bf16-mixed", *,
                    block_size: int = ADAM_8BIT_BLOCK_SIZE,
                    matrix_shape: tuple[int, int] = ADAFACTOR_DEFAULT_MATRIX) -> BytesPerParam:
    """Bytes of weights, gradients, master weights and optimizer moments per parameter.

    ``optimizer``: one of ``OPTIMIZERS``; ``precision``: one of ``PRECISIONS``;
    ``block_size``: values per block of 8-bit Adam; ``matrix_shape``: (rows, columns) of the
    weight matrices whose second moment Adafactor factors.

    >>> bytes_per_param("adamw", "bf16-mixed").total
    16.0
    """
    optimizer = _choice("optimizer", optimizer, OPTIMIZERS)
    precision = _choice("precision", precision, PRECISIONS)
    block = _positive_int("block_size", block_size)
    if not isinstance(matrix_shape, (tuple, list)) or len(matrix_shape) != 2:
        raise ValueError(f"matrix_shape = {matrix_shape!r} is not a (rows, columns) pair")
    rows = _positive_int("matrix_shape[0]", matrix_shape[0])
    cols = _positive_int("matrix_shape[1]", matrix_shape[1])
    mixed = precision != "fp32"
    weights = gradients = 2.0 if mixed else 4.0
    master = 4.0 if mixed else 0.0
    constants = 0.0
    if optimizer == "adamw":
        moments = 8.0
    elif optimizer == "sgd-momentum":
        moments = 4.0
    elif optimizer == "adafactor":
        moments = 4.0 * (rows + cols) / (rows * cols)
    else:  # adamw-8bit: two 1-byte moments + one fp32 constant per block and moment
        constants = 2 * 4.0 / block
        moments = 2.0 + constants
    return BytesPerParam(weights, gradients, master, moments, constants)


def model_state_bytes(params: float, optimizer: str = "adamw", precision: str = "bf16-mixed",
                      **kwargs) -> float:
    """Bytes of weights + gradients + optimizer state of a model of ``params`` parameters (one
    copy, no activations)."""
    n = _positive_real("params", params)
    return n * bytes_per_param(optimizer, precision, **kwargs).total


@dataclass(frozen=True)
class MemoryPlan:
    """Where the model state of one training setting lives.

    ``total_bytes``: weights + gradients + optimizer state of one copy of the model;
    ``per_gpu_bytes``: model state held on each GPU (after ZeRO sharding and offload);
    ``host_bytes_per_gpu``: model state each GPU's process keeps in host memory;
    ``gpu_bytes_per_param`` / ``host_bytes_per_param``: the same per model parameter;
    ``pcie_bytes_per_step``: bytes crossing the host link per optimizer step on each GPU
    (``offload="optimizer"``: gradients out, updated weights back; ``offload="all"``: weights
    streamed in once for the forward and once for the backward pass, gradients out; with gradient
    accumulation the ``"all"`` traffic recurs for every micro-batch);
    ``activation_bytes``: activations per GPU when a shape is given, else ``None``.
    """

    params: float
    optimizer: str
    precision: str
    zero_stage: int
    gpus: int
    offload: str
    bytes_per_param: BytesPerParam
    total_bytes: float
    per_gpu_bytes: float
    host_bytes_per_gpu: float
    gpu_bytes_per_param: float
    host_bytes_per_param: float
    pcie_bytes_per_step: float
    activation_bytes: float | None = None

    @property
    def per_gpu_bytes_with_activations(self) -> float:
        return self.per_gpu_bytes + (self.activation_bytes or 0.0)


def _split(bpp: BytesPerParam, zero_stage: int, gpus: int, offload: str) -> tuple[float, float, float]:
    """GPU bytes per parameter, host bytes per parameter (both per GPU process) and PCIe bytes per
    parameter and step."""
    w, g, k = bpp.weights, bpp.gradients, bpp.optimizer
    shard_k = k / gpus if zero_stage >= 1 else k
    shard_g = g / gpus if zero_stage >= 2 else g
    shard_w = w / gpus if zero_stage >= 3 else w
    if offload == "none":
        return shard_w + shard_g + shard_k, 0.0, 0.0
    if offload == "optimizer":
        # gradients leave the GPU, updated 16-bit (or fp32) weights come back
        return shard_w, shard_g + shard_k, shard_g + shard_w
    # everything on the host, where the optimizer also refreshes the 16-bit weights; weights
    # streamed in for the forward and again for the backward pass, gradients out
    return 0.0, shard_w + shard_g + shard_k, 2 * shard_w + shard_g


def memory_plan(params: float, optimizer: str = "adamw", precision: str = "bf16-mixed", *,
                zero_stage: int = 0, gpus: int = 1, offload: str = "none",
                n_layer: int | None = None, d_model: int | None = None, n_heads: int | None = None,
                seq_len: int | None = None, micro_batch: int | None = None,
                recompute: str = "none", block_size: int = ADAM_8BIT_BLOCK_SIZE) -> MemoryPlan:
    """Model-state memory per GPU and in host memory for one training setting, and optionally the
    activations of a decoder stack (give ``n_layer``, ``d_model``, ``seq_len``, ``micro_batch``;
    ``n_heads`` defaults to ``d_model / 128``).

    ``zero_stage``: 0 (plain data parallelism: every GPU holds everything) to 3; ``gpus``: the
    data-parallel GPUs ZeRO shards across (``gpus > 1`` needs ``zero_stage >= 1`` to save memory);
    ``offload``: one of ``OFFLOADS``. Adafactor's matrices are taken as ``d_model x d_model``
    when ``d_model`` is given.
    """
    n = _positive_real("params", params)
    stage = zero_stage
    if isinstance(stage, bool) or not isinstance(stage, numbers.Integral) or int(stage) not in (0, 1, 2, 3):
        raise ValueError(f"zero_stage = {zero_stage!r} is not one of 0, 1, 2, 3")
    stage = int(stage)
    g = _positive_int("gpus", gpus)
    offload = _choice("offload", offload, OFFLOADS)
    shape = (n_layer, d_model, seq_len, micro_batch)
    kwargs = {"block_size": block_size}
    if d_model is not None:
        kwargs["matrix_shape"] = (_positive_int("d_model", d_model),) * 2
    bpp = bytes_per_param(optimizer, precision, **kwargs)
    gpu_pp, host_pp, pcie_pp = _split(bpp, stage, g, offload)
    act = None
    if any(v is not None for v in shape):
        if any(v is None for v in shape):
            raise ValueError("an activation estimate needs all of n_layer, d_model, seq_len, micro_batch")
        heads = n_heads if n_heads is not None else max(1, int(d_model) // 128)
        act = activation_bytes(n_layer, d_model, heads, seq_len, micro_batch, recompute=recompute,
                               bytes_per_value=2.0 if bpp.weights == 2.0 else 4.0)
    return MemoryPlan(n, optimizer, precision, stage, g, offload, bpp, n * bpp.total, n * gpu_pp,
                      n * host_pp, gpu_pp, host_pp, n * pcie_pp, act)


def activation_bytes_per_layer(d_model: int, n_heads: int, seq_len: int, micro_batch: int,
                               recompute: str = "none", bytes_per_value: float = 2.0) -> float:
    """Activation bytes one decoder block keeps for its backward pass (Korthikanti et al. 2022,
    Eq. 1 and Sec. 4, no tensor or sequence parallelism): ``s b h (34 + 5 a s / h)`` with 16-bit
    activations; ``"selective"`` keeps ``34 s b h``; ``"full"`` keeps the block's input,
    ``2 s b h``. ``bytes_per_value`` rescales from 16-bit (2) to 32-bit (4) activations; the
    1-byte dropout masks of the formula are rescaled with them, a small overcount."""
    h = _positive_int("d_model", d_model)
    a = _positive_int("n_heads", n_heads)
    s = _positive_int("seq_len", seq_len)
    b = _positive_int("micro_batch", micro_batch)
    recompute = _choice("recompute", recompute, RECOMPUTE)
    scale = _positive_real("bytes_per_value", bytes_per_value) / 2.0
    sbh = float(s) * b * h
    if recompute == "none":
        return scale * sbh * (ACTIVATION_BYTES_PER_SBH + ATTENTION_BYTES_PER_AS2B * a * s / h)
    if recompute == "selective":
        return scale * ACTIVATION_BYTES_PER_SBH * sbh
    return scale * 2.0 * sbh


def activation_bytes(n_layer: int, d_model: int, n_heads: int, seq_len: int, micro_batch: int,
                     recompute: str = "none", bytes_per_value: float = 2.0) -> float:
    """Activation bytes of ``n_layer`` decoder blocks for one micro-batch (embedding, final norm
    and output layer not counted). With ``recompute="full"`` the stored block inputs plus one
    block's activations rebuilt during the backward pass."""
    L = _positive_int("n_layer", n_layer)
    per = activation_bytes_per_layer(d_model, n_heads, seq_len, micro_batch, recompute, bytes_per_value)
    if recompute == "full":
        return L * per + activation_bytes_per_layer(d_model, n_heads, seq_len, micro_batch, "none",
                                                    bytes_per_value)
    return L * per


def largest_trainable_params(gpu_bytes: float, host_bytes: float = 0.0, optimizer: str = "adamw",
                             precision: str = "bf16-mixed", *, zero_stage: int = 0, gpus: int = 1,
                             offload: str = "none", block_size: int = ADAM_8BIT_BLOCK_SIZE) -> float:
    """Largest parameter count whose model state fits in ``gpu_bytes`` per GPU and ``host_bytes``
    of host memory per GPU, activations and buffers not counted. Without offload only the GPU
    limits it; with ``offload="all"`` only the host does (0 when ``host_bytes`` is 0)."""
    gb = _positive_real("gpu_bytes", gpu_bytes)
    if isinstance(host_bytes, bool) or not isinstance(host_bytes, numbers.Real) \
            or not math.isfinite(float(host_bytes)) or float(host_bytes) < 0:
        raise ValueError(f"host_bytes = {host_bytes!r} is not a finite non-negative number")
    plan = memory_plan(1.0, optimizer, precision, zero_stage=zero_stage, gpus=gpus, offload=offload,
                       block_size=block_size)
    limits = []
    if plan.gpu_bytes_per_param > 0:
        limits.append(gb / plan.gpu_bytes_per_param)
    if plan.host_bytes_per_param > 0:
        limits.append(float(host_bytes) / plan.host_bytes_per_param)
    return min(limits)


def attention_equals_rest_seq_len(d_model: int, n_heads: int) -> float:
    """Sequence length [tokens] at which a decoder block's attention scores (``5 a s^2 b`` bytes)
    take as many bytes as the rest of its activations (``34 s b h``): ``s = 34 h / (5 a)``
    (Korthikanti et al. 2022, Eq. 1). Beyond it the quadratic term dominates. Not rounded."""
    h = _positive_int("d_model", d_model)
    a = _positive_int("n_heads", n_heads)
    return ACTIVATION_BYTES_PER_SBH * h / (ATTENTION_BYTES_PER_AS2B * a)


def pcie_bandwidth(gigatransfers_per_s: float = 16.0, lanes: int = 16,
                   encoding: tuple[int, int] = (128, 130)) -> float:
    """Payload bandwidth of a PCIe link in one direction [bytes/s]: ``GT/s x lanes x
    (payload bits / line bits) / 8``. The defaults are PCIe 4.0 x16 (16 GT/s per lane, 128b/130b
    encoding), about 31.5e9 bytes/s; packet headers are not subtracted."""
    gt = _positive_real("gigatransfers_per_s", gigatransfers_per_s)
    n = _positive_int("lanes", lanes)
    if not isinstance(encoding, (tuple, list)) or len(encoding) != 2:
        raise ValueError(f"encoding = {encoding!r} is not a (payload bits, line bits) pair")
    payload = _positive_int("encoding[0]", encoding[0])
    line = _positive_int("encoding[1]", encoding[1])
    if payload > line:
        raise ValueError(f"encoding = {encoding!r} has more payload bits than line bits")
    return gt * 1e9 * n * payload / line / 8.0


def dram_bandwidth(channels: int = 2, megatransfers_per_s: float = 3200.0,
                   bytes_per_transfer: int = 8) -> float:
    """Peak bandwidth of host memory [bytes/s]: channels x transfers per second x bytes per
    transfer (a 64-bit DDR channel moves 8 bytes per transfer). Defaults: dual-channel DDR4-3200,
    5.12e10 bytes/s."""
    c = _positive_int("channels", channels)
    mt = _positive_real("megatransfers_per_s", megatransfers_per_s)
    b = _positive_int("bytes_per_transfer", bytes_per_transfer)
    return c * mt * 1e6 * b


def cpu_optimizer_bytes_per_param(optimizer: str = "adamw", precision: str = "bf16-mixed",
                                  **kwargs) -> float:
    """Host-memory bytes one optimizer step on the CPU reads and writes per parameter: it reads
    the master weights, the moments and the gradient, and writes the master weights, the moments
    and the 16-bit copy of the weights (in fp32, where there is no master copy, it reads and writes
    the weights themselves). Mixed-precision AdamW: (4 + 8 + 2) + (4 + 8 + 2) = 28 bytes."""
    return _cpu_step_bytes(bytes_per_param(optimizer, precision, **kwargs))


def _cpu_step_bytes(b: BytesPerParam) -> float:
    state = (b.master if b.master > 0 else b.weights) + b.moments
    written_weights = b.weights if b.master > 0 else 0.0
    return (state + b.gradients) + (state + written_weights)


@dataclass(frozen=True)
class OffloadThroughput:
    """Throughput of one offloaded training setting (see :func:`offload_throughput`).

    Times in seconds, rates in tokens per second; ``fraction_of_peak`` is achieved model FLOP/s
    (``6 N`` per token) over the peak; ``breakeven_tokens_per_micro_batch`` is the micro-batch
    size [tokens] at which computing a micro-batch takes as long as its host-link traffic."""

    compute_s_per_micro_batch: float
    transfer_s_per_micro_batch: float
    transfer_s_per_step_once: float
    cpu_step_s: float
    step_s: float
    tokens_per_second: float
    fraction_of_peak: float
    breakeven_tokens_per_micro_batch: float


def offload_throughput(plan: MemoryPlan, peak_flops: float, mfu: float, tokens_per_micro_batch: float,
                       micro_batches_per_step: int, link_bytes_per_s: float,
                       host_bytes_per_s: float) -> OffloadThroughput:
    """Tokens per second of one GPU training with its model state offloaded (``plan.offload`` is
    ``"optimizer"`` or ``"all"``), from three rates.

    Model: a micro-batch of ``T`` tokens costs ``6 N T`` FLOPs (Kaplan et al. 2020) at
    ``peak_flops x mfu`` FLOP/s; its host-link traffic overlaps with the computation, so a
    micro-batch takes ``max(compute, transfer)``. With ``offload="all"`` every micro-batch moves
    ``plan.pcie_bytes_per_step`` bytes (weights in for the forward and the backward pass, gradients
    out); with ``offload="optimizer"`` that traffic happens once per step, after the last
    micro-batch, and does not overlap. The optimizer step runs on the CPU, limited by host memory
    bandwidth (``cpu_optimizer_bytes_per_param`` bytes per parameter at ``host_bytes_per_s``),
    and overlaps with nothing. Streaming-buffer stalls, kernel launch gaps and the CPU's
    arithmetic are ignored: an upper bound.

    ``peak_flops`` [FLOP/s], ``mfu`` in (0, 1], ``tokens_per_micro_batch`` [tokens],
    ``link_bytes_per_s`` and ``host_bytes_per_s`` [bytes/s] (one direction).
    """
    if not isinstance(plan, MemoryPlan):
        raise ValueError(f"plan = {plan!r} is not a MemoryPlan")
    if plan.offload == "none":
        raise ValueError("plan.offload = 'none': nothing is offloaded")
    peak = _positive_real("peak_flops", peak_flops)
    u = _positive_real("mfu", mfu)
    if u > 1:
        raise ValueError(f"mfu = {mfu!r} is above 1")
    t = _positive_real("tokens_per_micro_batch", tokens_per_micro_batch)
    m = _positive_int("micro_batches_per_step", micro_batches_per_step)
    link = _positive_real("link_bytes_per_s", link_bytes_per_s)
    host = _positive_real("host_bytes_per_s", host_bytes_per_s)
    flops_per_token = 6.0 * plan.params
    compute = flops_per_token * t / (peak * u)
    moved = plan.pcie_bytes_per_step / link
    per_micro, once = (moved, 0.0) if plan.offload == "all" else (0.0, moved)
    cpu = plan.params * _cpu_step_bytes(plan.bytes_per_param) / host
    step = m * max(compute, per_micro) + once + cpu
    tps = t * m / step
    breakeven = (plan.pcie_bytes_per_step / link) * peak * u / flops_per_token
    return OffloadThroughput(compute, per_micro, once, cpu, step, tps, tps * flops_per_token / peak,
                             breakeven)
