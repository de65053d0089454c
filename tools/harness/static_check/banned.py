"""The banned ops of a problem, expanded to every spelling that reaches the same ATen op."""

from __future__ import annotations

_MATMUL_FAMILY = {"mm", "matmul", "bmm"}
_MATMUL_EXTRA_QUALS = {
    "torch.addmm",
    "torch.baddbmm",
    "torch.addbmm",
    "torch.chain_matmul",
    "torch.linalg.matmul",
    "torch.linalg.multi_dot",
    "torch.ops.aten.mm",
    "torch.ops.aten.matmul",
    "torch.ops.aten.bmm",
    "torch.ops.aten.addmm",
    "torch.ops.aten.baddbmm",
}
_MATMUL_METHODS = {
    "mm",
    "matmul",
    "bmm",
    "addmm",
    "addmm_",
    "baddbmm",
    "baddbmm_",
    "addbmm",
    "addbmm_",
    "matmul_",
    "__matmul__",
    "__rmatmul__",
}


def _canonical(op: str) -> str:
    op = op.strip()
    if op.startswith("F."):
        return "torch.nn.functional." + op[2:]
    if op.startswith("nn."):
        return "torch." + op
    return op


class Banned:
    """The banned ops expanded to every spelling that reaches the same ATen op."""

    def __init__(self, ops: list[str]):
        self.matmul_operator = "@" in ops
        self.quals: dict[str, str] = {}
        self.methods: set[str] = set()
        self.linear = False
        self.any = bool(ops)
        for raw in ops:
            if raw.strip() == "@":
                continue
            op = _canonical(raw)
            self.quals[op] = raw
            name = op.rsplit(".", 1)[-1]
            if op.startswith("torch.") and op.count(".") == 1:
                for q in (
                    f"torch.Tensor.{name}",
                    f"torch.ops.aten.{name}",
                    f"torch.functional.{name}",
                    f"torch._C._VariableFunctions.{name}",
                ):
                    self.quals[q] = raw
            if name in _MATMUL_FAMILY:
                self.quals.update({q: raw for q in _MATMUL_EXTRA_QUALS})
                self.methods |= _MATMUL_METHODS
            if op == "torch.nn.functional.linear":
                self.linear = True
                self.quals.update({"torch._C._nn.linear": raw, "torch.ops.aten.linear": raw})
