"""The facade applications hold: seeds in, uint8 images out, on any backend.

The Generator owns everything that must be identical across backends — seeds, latents,
truncation, labels, batching, NaN/Inf checks and the float -> uint8 conversion — and asks its
Runner only to map a float32 latent batch to float32 images (or, for a runner that
``converts_on_device``, to uint8 ones converted where the images are). Hence ``sample(1, seed=5)[0] == sample(10, seed=0)[5]`` and any
``batch_size`` gives the same images, as long as the backend's arithmetic does not depend on the
batch size (true for onnxruntime and torch on CPU; see the tests).

Thread safety: a Generator may be used from many threads at once. What is shared is the
runner (an onnxruntime session, a torch module, a TensorRT engine), which is thread-safe or
guards itself; every call builds its own latents and output. ``close()`` refuses new calls,
waits for running ones, then releases the runner.
"""

from __future__ import annotations

import contextlib
import math
import numbers
import threading
from typing import Any, Iterator

import numpy as np

from ganedge.errors import BadInputError, ClosedError, NumericalError
from ganedge.images import to_uint8_nhwc
from ganedge.latents import check_seed_range, check_seeds, latents
from ganedge.limits import check_allocatable
from ganedge.artifacts.manifest import Manifest
from ganedge.sdk.backends.base import NonFiniteOutputError, Runner, check_finite
from ganedge.sdk.labels import check_label_source, check_labels, check_weights, label_batch

__all__ = ["DEFAULT_BATCH", "Generator", "check_labels", "check_truncation"]

DEFAULT_BATCH = 64  # images per runner call when the caller does not say; per-image cost is flat above ~8 on CPU
_SEEDS_HINT = ("render the seeds in parts (sample_seeds(seeds[i:j])), or consecutive seeds in bounded batches with "
               "Generator.stream(n, seed=..., batch_size=...)")


def check_truncation(truncation: Any) -> float:
    if isinstance(truncation, (bool, np.bool_)) or not isinstance(truncation, numbers.Real) \
            or not math.isfinite(float(truncation)):
        raise BadInputError(f"truncation must be a finite number (1.0 = off), got {truncation!r}")
    return float(truncation)


def _checked_range(seeds: range) -> range:
    """A range of seeds validated from its ends (nothing is allocated)."""
    if len(seeds):
        check_seeds([seeds[0], seeds[-1]])
    return seeds


def _seed_batch(seeds: range | np.ndarray, start: int, stop: int) -> np.ndarray:
    """uint64 seeds ``start:stop`` of a validated range (made now) or array (a view)."""
    return seeds[start:stop] if isinstance(seeds, np.ndarray) else check_seeds(seeds[start:stop])


def _check_count(n: Any) -> int:
    if isinstance(n, (bool, np.bool_)) or not isinstance(n, numbers.Integral):
        raise BadInputError(f"n must be a non-negative integer, got {n!r}")
    if n < 0:
        raise BadInputError(f"n must be >= 0, got {n}")
    return int(n)


class Generator:
    """A loaded generator. Build one with :func:`ganedge.sdk.load`."""

    def __init__(self, runner: Runner, source: str | None = None, selection: str | None = None,
                 selection_details: dict[str, Any] | None = None):
        self._runner = runner
        self.manifest: Manifest = runner.manifest
        self.source = source
        self._selection = selection  # how load() chose the backend, for backend_info
        self._selection_details = selection_details  # backend="auto": candidates and measured figures
        self._state = threading.Condition()
        self._active = 0
        self._closed = False

    # --- what runs ---------------------------------------------------------------------------

    @property
    def runner(self) -> Runner:
        """The backend's Runner (for tools such as bench that time it directly)."""
        return self._runner

    @property
    def backend(self) -> str:
        return self._runner.name

    @property
    def device(self) -> str:
        return self._runner.device

    @property
    def precision(self) -> str:
        return self._runner.precision

    @property
    def backend_info(self) -> dict[str, Any]:
        """The runner's own report (backend, device, precision, providers/threads, ...) plus the artifact."""
        info = dict(self._runner.describe())
        info["artifact"] = self.source
        if self._selection:
            info["selected"] = self._selection
        if self._selection_details:
            info["auto"] = dict(self._selection_details)
        return info

    def describe(self) -> dict[str, Any]:
        return {**self.backend_info, "manifest": self.manifest.to_dict()}

    def __repr__(self) -> str:
        c, h, w = self.manifest.image_shape
        return (f"Generator({self.manifest.arch} {c}x{h}x{w}, backend={self.backend}, device={self.device}, "
                f"precision={self.precision}{', closed' if self._closed else ''})")

    # --- public API ----------------------------------------------------------------------------

    def latents(self, seeds) -> np.ndarray:
        """float32 (len(seeds), latent_dim): the latents ``sample`` feeds this model for these seeds."""
        return latents(seeds, self.manifest.latent_dim)

    def sample(self, n: int, seed: int = 0, batch_size: int | None = None, truncation: float = 1.0,
               labels=None) -> np.ndarray:
        """uint8 (n, H, W, C) images for seeds ``seed .. seed+n-1``.

        ``truncation`` psi scales each latent toward the mean of the prior: ``z' = psi * z``
        (the mean latent of a standard-normal prior is 0, so no mean needs estimating; psi < 1
        trades variety for typicality, psi = 0 gives every seed the same image). ``labels``:
        an int or n ints, required for conditional models and refused for unconditional ones.
        A result that cannot fit in memory is refused before anything is allocated
        (``BadInputError`` with the size in bytes; :meth:`stream` has no such limit).
        """
        return self._sample(check_seed_range(seed, _check_count(n)), batch_size, truncation, labels,
                            what=f"sample(n={n})")

    def sample_seeds(self, seeds, batch_size: int | None = None, truncation: float = 1.0, labels=None) -> np.ndarray:
        """Like :meth:`sample` for any list of seeds (e.g. ``1,2,5-10``): image i comes from ``seeds[i]``.
        A ``range`` stays lazy: its seeds are made per batch."""
        if isinstance(seeds, range):
            seeds = _checked_range(seeds)
        else:
            if hasattr(seeds, "__len__") and not isinstance(seeds, np.ndarray):  # before a list becomes an array
                n = len(seeds)
                self._check_fits(n, self._batch_size(batch_size, n), f"sample_seeds(<{n:,} seeds>)", _SEEDS_HINT)
            seeds = check_seeds(seeds)
        return self._sample(seeds, batch_size, truncation, labels, what=f"sample_seeds(<{len(seeds):,} seeds>)",
                            hint=_SEEDS_HINT)

    def _sample(self, seeds: range | np.ndarray, batch_size, truncation, labels, what: str,
                hint: str | None = None) -> np.ndarray:
        """``seeds``: a validated range (lazy) or uint64 (n,) array."""
        n = len(seeds)
        psi = check_truncation(truncation)
        step = self._batch_size(batch_size, n)
        self._check_fits(n, step, what, hint)
        labels = check_label_source(self.manifest, labels, n)
        c, h, w = self.manifest.image_shape
        if n == 0:
            self._raise_if_closed()
            return np.empty((0, h, w, c), dtype=np.uint8)
        if n <= step:  # one runner call: its array is the result, no copy
            with self._call():
                return self._render(_seed_batch(seeds, 0, n), psi, label_batch(labels, 0, n))
        out = np.empty((n, h, w, c), dtype=np.uint8)
        with self._call():
            for i in range(0, n, step):
                j = min(n, i + step)
                out[i:j] = self._render(_seed_batch(seeds, i, j), psi, label_batch(labels, i, j))
        return out

    def stream(self, n: int, seed: int = 0, batch_size: int = DEFAULT_BATCH, truncation: float = 1.0,
               labels=None) -> Iterator[np.ndarray]:
        """Yield uint8 batches (at most ``batch_size`` images each) for seeds ``seed .. seed+n-1``.

        Memory stays bounded by one batch whatever n is (10**15 included): seeds, latents and
        labels are made per batch, so the first batch comes as fast as ``sample(batch_size)``.
        Arguments are checked now, not at the first ``next()``. ``labels``: an int, or n ints as
        an array or sequence (an array is sliced per batch, so an ``np.memmap`` works for a huge
        n; a Python list of n labels is itself n objects: for a huge n pass an int).
        """
        seeds = check_seed_range(seed, _check_count(n))
        psi = check_truncation(truncation)
        step = self._batch_size(batch_size, n)
        self._check_fits(min(n, step), step, f"stream(n={n}, batch_size={step})", hint="pass a smaller batch_size")
        labels = check_label_source(self.manifest, labels, n)
        self._raise_if_closed()

        def batches() -> Iterator[np.ndarray]:
            for i in range(0, n, step):
                j = min(n, i + step)
                with self._call():  # per batch, so a paused consumer never blocks close()
                    batch = self._render(_seed_batch(seeds, i, j), psi, label_batch(labels, i, j))
                yield batch

        return batches()

    def generate(self, z: np.ndarray, labels=None) -> np.ndarray:
        """float32 (n, C, H, W) in the manifest's output_range for your own latents z: float32 (n, latent_dim).

        ``labels``: as for :meth:`sample`, or float32 (n, num_classes) class weights for a model whose graph
        takes them (``runner.label_input == "onehot"``)."""
        dim = self.manifest.latent_dim
        if not isinstance(z, np.ndarray):
            raise BadInputError(f"z must be a numpy float32 array of shape (n, {dim}), got {type(z).__name__}")
        if z.dtype != np.float32:
            raise BadInputError(f"z must be float32, got {z.dtype}; convert with z.astype(np.float32)")
        if z.ndim != 2 or z.shape[1] != dim:
            raise BadInputError(f"z must have shape (n, {dim}), got {z.shape}")
        n = z.shape[0]
        check_allocatable(n, self.manifest.image_shape, f"generate(z of {n:,} rows)", itemsize=4,
                          hint="pass z in parts (generate(z[i:j]))")
        labels = self._labels_or_weights(labels, n)
        if n == 0:
            self._raise_if_closed()
            return np.empty((0, *self.manifest.image_shape), dtype=np.float32)
        step = self._runner.max_batch or n
        out = None if n <= step else np.empty((n, *self.manifest.image_shape), dtype=np.float32)
        with self._call():
            for i in range(0, n, step):
                j = min(n, i + step)
                part = None if labels is None else labels[i:j]
                x = np.ascontiguousarray(self._runner.run(np.ascontiguousarray(z[i:j]), part))
                self._check_finite(x, offset=i, seeds=None)  # x: (m, C, H, W)
                if out is None:
                    return x
                out[i:j] = x
        return out

    def interpolate(self, a, b, steps: int, mode: str = "slerp", truncation: float = 1.0, labels=None,
                    batch_size: int | None = None) -> np.ndarray:
        """uint8 (steps, H, W, C): ``steps`` frames from ``a`` to ``b`` (seeds, or float32 latents (latent_dim,)).

        The first and last frames are exactly ``sample_seeds([a])`` and ``sample_seeds([b])`` (same
        truncation and label); the frames between follow ``mode`` ("slerp" or "lerp", defined in
        :mod:`ganedge.sdk.navigate`). ``labels``: one class for every frame, or a pair (class a, class b)
        to blend between them (models whose graph takes class weights only).
        """
        from ganedge.sdk import navigate

        return navigate.interpolate(self, a, b, steps, mode, truncation, labels, batch_size)

    def walk(self, seeds, frames_per_step: int, mode: str = "slerp", loop: bool = False, truncation: float = 1.0,
             labels=None, batch_size: int | None = None, batcher=None) -> Iterator[np.ndarray]:
        """Yield uint8 batches of a walk through ``seeds`` (ints, or float32 latents (k, latent_dim)).

        ``frames_per_step`` frames per seed-to-seed step; without ``loop`` the walk ends on the last seed's
        own image ((k - 1) * frames_per_step + 1 frames), with ``loop`` it returns toward the first
        (k * frames_per_step frames; the frame after the last would be the first). Every frame is a pure
        function of this description: the same at any ``batch_size`` and through a ``batcher``
        (:class:`~ganedge.sdk.Batcher`, whose micro-batching then serves the frames). Memory stays bounded
        by one batch. ``labels``: one class for all frames or one per seed (neighbours that differ blend).
        Arguments are checked now, not at the first ``next()``.
        """
        from ganedge.sdk import navigate

        return navigate.walk(self, seeds, frames_per_step, mode, loop, truncation, labels, batch_size, batcher)

    def close(self) -> None:
        """Refuse new calls, wait for running ones, release the backend. Idempotent."""
        with self._state:
            if self._closed:
                return
            self._closed = True
            while self._active:
                self._state.wait()
        self._runner.close()

    def __enter__(self) -> "Generator":
        return self

    def __exit__(self, *exc) -> None:
        self.close()

    # --- internals ---------------------------------------------------------------------------

    def _batch_size(self, batch_size: Any, n: int) -> int:
        if batch_size is None:
            return max(1, min(n, self._runner.max_batch or DEFAULT_BATCH))
        if isinstance(batch_size, (bool, np.bool_)) or not isinstance(batch_size, numbers.Integral) or batch_size < 1:
            raise BadInputError(f"batch_size must be a positive integer, got {batch_size!r}")
        return int(batch_size)

    def _check_fits(self, n: int, step: int, what: str, hint: str | None = None) -> None:
        """BadInputError before allocating when n uint8 images plus one batch's float32 images and latents
        (what the runner hands back before the conversion) do not fit in memory."""
        c, h, w = self.manifest.image_shape
        batch = min(n, step)
        work = batch * 4 * (c * h * w + self.manifest.latent_dim)
        extra = {} if hint is None else {"hint": hint}
        check_allocatable(n, (h, w, c), what, extra_nbytes=work, **extra)

    def _raise_if_closed(self) -> None:
        if self._closed:
            raise ClosedError(f"{self!r} was closed; load the model again")

    @contextlib.contextmanager
    def _call(self) -> Iterator[None]:
        with self._state:
            self._raise_if_closed()
            self._active += 1
        try:
            yield
        finally:
            with self._state:
                self._active -= 1
                if not self._active:
                    self._state.notify_all()

    def _render(self, seeds: np.ndarray, psi: float | np.ndarray, labels: np.ndarray | None) -> np.ndarray:
        """uint8 (m, H, W, C) for m seeds in one runner call (or several, above the runner's max_batch).
        ``psi``: a float or one per seed (m,)."""
        return self._render_latents(self._seed_latents(seeds, psi), labels, seeds)

    def _seed_latents(self, seeds: np.ndarray, psi: float | np.ndarray) -> np.ndarray:
        """float32 (m, latent_dim): the latents of ``seeds`` scaled by truncation ``psi`` (a float or (m,))."""
        z = latents(seeds, self.manifest.latent_dim)  # fresh: scaled in place
        if isinstance(psi, np.ndarray):
            z *= psi.astype(np.float32)[:, None]
        elif psi != 1.0:
            z *= np.float32(psi)
        return z

    def _render_latents(self, z: np.ndarray, labels: np.ndarray | None, seeds: np.ndarray | None = None) -> np.ndarray:
        """uint8 (m, H, W, C) for float32 latents z (m, latent_dim): the one float -> uint8 path of every image.

        ``labels``: int64 (m,), float32 (m, K) class weights, or None; ``seeds`` (m,) only name the
        culprits of a NaN/Inf error. Splits above the runner's max_batch; callers hold ``_call()``."""
        limit = self._runner.max_batch
        if limit and z.shape[0] > limit:  # e.g. a Batcher batch bigger than a TensorRT profile
            parts = [self._render_latents(z[i:i + limit], None if labels is None else labels[i:i + limit],
                                          None if seeds is None else seeds[i:i + limit])
                     for i in range(0, z.shape[0], limit)]
            return np.concatenate(parts)
        z = np.ascontiguousarray(z, dtype=np.float32)
        if self._runner.converts_on_device:
            try:
                return self._runner.run_uint8(z, labels)
            except NonFiniteOutputError as exc:
                self._raise_numerical(exc.rows, 0, seeds)
        x = self._runner.run(z, labels)  # (m, C, H, W), ours to overwrite
        self._check_finite(x, offset=0, seeds=seeds)
        return to_uint8_nhwc(x, inplace=True, output_range=self.manifest.output_range)

    def _labels_or_weights(self, labels: Any, n: int) -> np.ndarray | None:
        """check_labels, or float class weights (n, K) where the graph takes them."""
        if isinstance(labels, np.ndarray) and labels.dtype.kind == "f" and labels.ndim == 2 and self.manifest.conditional:
            return check_weights(self.manifest, labels, n, self._runner.label_input)
        return check_labels(self.manifest, labels, n)

    def _check_finite(self, x: np.ndarray, offset: int, seeds: np.ndarray | None) -> None:
        try:
            check_finite(x)
        except NonFiniteOutputError as exc:
            self._raise_numerical(exc.rows, offset, seeds)

    def _raise_numerical(self, rows: list[int], offset: int, seeds: np.ndarray | None) -> None:
        shown = [int(seeds[r]) for r in rows[:5]] if seeds is not None else [offset + r for r in rows[:5]]
        what = "seeds" if seeds is not None else "rows of z"
        more = f" and {len(rows) - 5} more" if len(rows) > 5 else ""
        raise NumericalError(
            f"{self.source or 'the model'} produced NaN/Inf for {what} {shown}{more} "
            f"({self.backend}, {self.precision}); the model or this precision variant is broken: "
            "check it with `ganedge verify` against the fp32 export") from None
