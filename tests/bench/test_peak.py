"""Which measured peak a configuration is compared with."""

from ganedge.bench.peak import peak_gflops

PEAK = {"cpu": {"fp32_gflops": 100.0, "bf16_gflops": 2.0, "int8_gflops": 180.0},
        "gpu": {"fp32_gflops": 5e4, "tf32_gflops": 2e5, "fp16_gflops": 7e5, "int8_gflops": 1.4e6}}


def test_rows_use_the_peak_of_their_precision():
    assert peak_gflops(PEAK, "cpu", "fp32") == (100.0, "fp32_gflops")
    assert peak_gflops(PEAK, "cpu", "bf16") == (2.0, "bf16_gflops")
    assert peak_gflops(PEAK, "cpu", "int8") == (180.0, "int8_gflops")
    assert peak_gflops(PEAK, "cuda:0", "fp16") == (7e5, "fp16_gflops")
    assert peak_gflops(PEAK, "cuda:0", "int8") == (1.4e6, "int8_gflops")


def test_unprobed_precisions_fall_back_to_fp32():
    assert peak_gflops(PEAK, "cpu", "fp16") == (100.0, "fp32_gflops")  # CPUs compute fp16 models in fp32
    assert peak_gflops({"cpu": {"fp32_gflops": 50.0}}, "cpu", "int8") == (50.0, "fp32_gflops")
    assert peak_gflops(PEAK, "cuda:0", "bf16") == (5e4, "fp32_gflops")


def test_no_peak_no_ceiling():
    assert peak_gflops(None, "cpu", "fp32") == (None, None)
    assert peak_gflops({"cpu": PEAK["cpu"]}, "cuda", "fp16") == (None, None)
