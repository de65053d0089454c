"""Poisoning the blocks torch's caching allocator holds free (CUDA and HIP alike), in place: each free
block is taken by asking for exactly its size, largest first (the allocator's best fit then hands back
that very block), filled, and given back."""

from __future__ import annotations

SMALL_REQUEST = 1 << 20  # requests up to this size come from the small pool's 2 MB segments
ROUNDS = 3  # small-pool blocks above SMALL_REQUEST are taken in pieces, so another look may be needed


def free_blocks() -> tuple[list[int], list[int], bool]:
    """(large-pool free block sizes, small-pool ones, whether any free memory is out of reach here: held
    for another stream, or freed with uses still pending)."""
    import torch

    stream = torch.cuda.current_stream().cuda_stream
    large, small, elsewhere = [], [], False
    for seg in torch.cuda.memory_snapshot():
        for block in seg["blocks"]:
            if block["state"] == "active_awaiting_free":
                elsewhere = True
            elif block["state"] == "inactive":
                if seg.get("stream", stream) != stream or tuple(seg.get("segment_pool_id", (0, 0))) != (0, 0):
                    elsewhere = True
                (small if seg.get("segment_type") == "small" else large).append(int(block["size"]))
    return large, small, elsewhere


def _pieces(size: int) -> list[int]:
    return [SMALL_REQUEST] * (size // SMALL_REQUEST) + ([size % SMALL_REQUEST] if size % SMALL_REQUEST else [])


def poison_cached_blocks(reserve: int, byte: int, budget: int) -> bool:
    """Fill every free cached block with `byte`, after making sure one of at least `reserve` bytes exists
    (fresh memory, within `budget`). False, with nothing done, where some free memory cannot be reached
    from this stream."""
    import torch

    large, small, elsewhere = free_blocks()
    if elsewhere:
        return False
    held = []
    if reserve > 0 and max(large, default=0) < reserve and reserve <= budget:
        held.append(torch.empty(reserve, dtype=torch.uint8, device="cuda"))
    for size in sorted(large, reverse=True):
        held.append(torch.empty(size, dtype=torch.uint8, device="cuda"))
    for _ in range(ROUNDS):
        for size in sorted((p for s in small for p in _pieces(s)), reverse=True):
            held.append(torch.empty(size, dtype=torch.uint8, device="cuda"))
        small = free_blocks()[1]
        if not small:
            break
    for t in held:
        fill(t, byte)
    torch.cuda.synchronize()
    held.clear()
    return True


def fill(t, byte: int) -> None:
    """Every byte of a uint8 tensor set to `byte`, in 8-byte words where its size allows (the allocator's
    blocks are multiples of 512 bytes): a byte-wide fill writes a fraction of the memory's bandwidth."""
    import torch

    if t.numel() % 8 == 0 and t.data_ptr() % 8 == 0:
        t.view(torch.int64).fill_(int.from_bytes(bytes([byte]) * 8, "little", signed=True))
    else:
        t.fill_(byte)
