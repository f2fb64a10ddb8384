"""DistributedDataParallel plumbing: who am I, and the few collectives the loop needs.

Under ``torchrun`` (WORLD_SIZE > 1 in the environment) the process group is initialised from
the environment: gloo on CPU, nccl on CUDA. :func:`init` does the same for a caller that starts
the processes itself (``torch.multiprocessing`` with a ``file://`` or ``tcp://`` address).
Rank 0 alone writes the run directory; the others wait at barriers.
"""

from __future__ import annotations

import os
import sys
from dataclasses import dataclass
from typing import Any

from ganedge.errors import BadInputError, GanEdgeError


@dataclass(frozen=True)
class DistContext:
    rank: int = 0
    world_size: int = 1
    local_rank: int = 0
    local_world_size: int = 1

    @property
    def enabled(self) -> bool:
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        return self.rank == 0

    def barrier(self) -> None:
        if self.enabled:
            import torch.distributed as dist

            dist.barrier()

    def any_true(self, flag: bool) -> bool:
        """True on every rank if ``flag`` is true on any (e.g. 'time is up', 'SIGTERM arrived')."""
        if not self.enabled:
            return flag
        import torch
        import torch.distributed as dist

        tensor = torch.tensor([1 if flag else 0], dtype=torch.int32, device=_collective_device())
        dist.all_reduce(tensor, op=dist.ReduceOp.MAX)
        return bool(tensor.item())

    def broadcast(self, value: Any) -> Any:
        """Rank 0's ``value`` (any JSON-like object), on every rank."""
        if not self.enabled:
            return value
        import torch.distributed as dist

        box = [value if self.is_main else None]
        dist.broadcast_object_list(box, src=0)
        return box[0]

    def gather(self, value: Any) -> list[Any]:
        """Every rank's ``value``, in rank order, on every rank."""
        if not self.enabled:
            return [value]
        import torch.distributed as dist

        out: list[Any] = [None] * self.world_size
        dist.all_gather_object(out, value)
        return out

    def raise_if_any_failed(self, error: GanEdgeError | None) -> None:
        """Collective error check: if any rank hit a user error, every rank raises it (none hangs)."""
        messages = self.gather(None if error is None else [type(error).__name__, str(error), error.exit_code])
        if error is not None:
            raise error
        for item in messages:
            if item is not None:
                failure = GanEdgeError(f"{item[1]} (reported by another rank)")
                failure.exit_code = item[2]
                raise failure


def _collective_device() -> str:
    import torch.distributed as dist

    return "cuda" if dist.get_backend() == "nccl" else "cpu"


def from_environment(device_type: str) -> DistContext:
    """A DistContext for this process: single-process unless launched by torchrun with WORLD_SIZE > 1."""
    world_size = int(os.environ.get("WORLD_SIZE", "1"))
    if world_size <= 1:
        return DistContext()
    rank = int(os.environ["RANK"])
    local_rank = int(os.environ.get("LOCAL_RANK", rank))
    local_world = int(os.environ.get("LOCAL_WORLD_SIZE", world_size))
    return init(rank, world_size, "env://", device_type, local_rank, local_world)


def init(rank: int, world_size: int, init_method: str, device_type: str = "cpu", local_rank: int | None = None,
         local_world_size: int | None = None) -> DistContext:
    import torch.distributed as dist

    if not dist.is_available():
        raise BadInputError("this torch build has no torch.distributed; run without torchrun")
    local_rank = rank if local_rank is None else local_rank
    if device_type == "cuda":
        import torch

        torch.cuda.set_device(local_rank)
    if not dist.is_initialized():
        dist.init_process_group("nccl" if device_type == "cuda" else "gloo", init_method=init_method,
                                rank=rank, world_size=world_size)
    return DistContext(rank, world_size, local_rank, local_world_size or world_size)


def shutdown(ctx: DistContext) -> None:
    if ctx.enabled:
        import torch.distributed as dist

        if dist.is_initialized():
            # On a clean exit every rank leaves together: a rank tearing gloo down while its peer's last
            # collective is still in flight aborts the peer ("terminate called without an active exception",
            # seen under load). Not while an error propagates: the failed peer may never reach the barrier.
            try:
                if sys.exc_info()[0] is None:
                    dist.barrier()
            finally:
                dist.destroy_process_group()
