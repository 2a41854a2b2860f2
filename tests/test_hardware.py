import pytest

from tco import CATALOG, UnknownNameError, get_device
from tco.hardware import usd_per_flop

PRIMER = {  # bf16 TFLOPS, fp8, int8, memory GB, TB/s, TDP W (primer section 5)
    "A100 40GB": (312, None, 624, 40, 1.555, 400),
    "A100 80GB": (312, None, 624, 80, 2.039, 400),
    "H100 SXM": (989.4, 1978.9, 1978.9, 80, 3.35, 700),
    "H200 SXM": (989.4, 1978.9, 1978.9, 141, 4.8, 700),
    "B200": (2250, 4500, 4500, 180, 8.0, 1000),
    "MI300X": (1307.4, 2614.9, 2614.9, 192, 5.3, 750),
    "TPU v5e": (197, None, 394, 16, 0.819, None),
    "TPU v5p": (459, None, 918, 95, 2.765, None),
}


@pytest.mark.parametrize("name", PRIMER)
def test_catalog_matches_the_primer(name):
    bf16, fp8, int8, mem, tbs, tdp = PRIMER[name]
    d = CATALOG[name]
    assert d.peak_flops["bf16"] == pytest.approx(bf16 * 1e12)
    assert d.peak_flops.get("fp8") == (None if fp8 is None else pytest.approx(fp8 * 1e12))
    assert d.peak_flops["int8"] == pytest.approx(int8 * 1e12)
    assert (d.memory_gb, d.bandwidth_gb_per_s / 1000, d.tdp_w) == (mem, pytest.approx(tbs), tdp)
    assert d.source


def test_default_prices_are_the_sardana_anchors():
    assert CATALOG["A100 40GB"].price_usd_per_hour == 1.10
    assert CATALOG["A100 80GB"].price_usd_per_hour == 1.50
    assert CATALOG["H100 SXM"].price_usd_per_hour == 2.00
    assert all("Sardana" in CATALOG[n].price_source for n in ("A100 40GB", "A100 80GB", "H100 SXM"))
    assert CATALOG["H200 SXM"].price_usd_per_hour is None  # no sourced default: the user must give one


def test_names_match_loosely_and_unknown_names_list_the_catalog():
    assert get_device("h100-sxm").name == "H100 SXM"
    assert get_device("A100 40GB SXM").name == "A100 40GB"
    with pytest.raises(UnknownNameError, match="H100 SXM"):
        get_device("H900")


def test_dtype_lookup_lists_supported_dtypes():
    with pytest.raises(ValueError, match="bf16"):
        CATALOG["A100 80GB"].peak_for("fp8")


def test_usd_per_flop():
    assert usd_per_flop(3.6, 1e12, 0.5) == pytest.approx(3.6 / (3600 * 1e12 * 0.5))
