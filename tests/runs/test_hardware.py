"""Device and precision: what `auto` means is read from the machine, never assumed."""

import pytest
import torch

from advlab.runs.hardware import autocast, cpu_flags, cpu_has_native_bf16, resolve_device, resolve_precision

CPUINFO = "processor\t: 0\nvendor_id\t: AuthenticAMD\nflags\t\t: fpu sse2 avx2 {extra}\nbogomips\t: 4000\n"


@pytest.mark.parametrize(
    "extra, native", [("avx512f avx512_bf16", True), ("amx_bf16 amx_tile", True), ("avx512f", False), ("", False)]
)
def test_auto_is_bf16_only_where_the_cpu_flags_show_native_bf16(tmp_path, extra, native):
    info = tmp_path / "cpuinfo"
    info.write_text(CPUINFO.format(extra=extra))
    flags = cpu_flags(info)
    assert "avx2" in flags and cpu_has_native_bf16(flags) == native
    assert resolve_precision("auto", torch.device("cpu"), flags) == ("bf16" if native else "fp32")
    assert (
        resolve_precision("fp32", torch.device("cpu"), flags) == "fp32"
        and resolve_precision("bf16", torch.device("cpu"), flags) == "bf16"
    )


def test_no_cpuinfo_means_no_flags(tmp_path):
    assert cpu_flags(tmp_path / "absent") == set()


def test_autocast_runs_layers_in_bf16_and_fp32_is_untouched():
    layer = torch.nn.Linear(4, 3)
    x = torch.randn(2, 4)
    with autocast("bf16", torch.device("cpu")):
        assert layer(x).dtype == torch.bfloat16
    with autocast("fp32", torch.device("cpu")):
        assert torch.equal(layer(x), layer(x)) and layer(x).dtype == torch.float32
    assert layer.weight.dtype == torch.float32  # weights stay fp32


def test_device_names():
    assert resolve_device("cpu").type == "cpu"
    assert resolve_device("auto").type == ("cuda" if torch.cuda.is_available() else "cpu")
