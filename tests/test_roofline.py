"""labkit.measure.roofline: peak arithmetic from /proc/cpuinfo text, and a measured matmul."""

import pytest

from labkit.measure.roofline import cpu_features, measure_matmul, peak_gflops

ZEN4_LIKE = ("processor\t: 0\nmodel name\t: AMD EPYC 9R14\ncpu MHz\t\t: 2600.000\n"
             "flags\t\t: fpu sse2 avx fma avx2 avx512f avx512_vnni\n\nprocessor\t: 1\nmodel name\t: other\n")
ARM_LIKE = "processor\t: 0\nBogoMIPS\t: 50.00\nFeatures\t: fp asimd evtstrm aes asimddp\n"
OLD_X86 = "model name\t: Old\ncpu MHz\t\t: 1000\nflags\t\t: fpu sse sse2\n"


def test_cpu_features_from_cpuinfo_text():
    zen = cpu_features(ZEN4_LIKE, cores=2)
    assert (zen.model, zen.cores, zen.mhz, zen.simd_bits, zen.fma, zen.vnni) == ("AMD EPYC 9R14", 2, 2600.0, 512, True, True)
    arm = cpu_features(ARM_LIKE, cores=4)
    assert (arm.simd_bits, arm.fma, arm.vnni, arm.mhz) == (128, True, True, 0.0)
    old = cpu_features(OLD_X86, cores=1)
    assert (old.simd_bits, old.fma, old.vnni) == (128, False, False)


def test_peak_arithmetic():
    assert peak_gflops(2, 512, 2, 2.6) == pytest.approx(2 * 16 * 2 * 2 * 2.6)  # 332.8 fp32
    assert peak_gflops(2, 512, 2, 2.6, element_bits=8) == pytest.approx(4 * peak_gflops(2, 512, 2, 2.6))
    with pytest.raises(ValueError, match="positive"):
        peak_gflops(0, 256, 2, 3.0)


def test_matmul_measurement_is_plausible():
    speed = measure_matmul(256, threads=1, min_run_time=0.2)
    assert speed.n == 256 and speed.threads == 1 and speed.median_ms > 0
    assert speed.gflops == pytest.approx(2 * 256**3 / (speed.median_ms / 1e3) / 1e9)
    assert 0.5 < speed.gflops < 2000  # a CPU core does between a GFLOP/s and a few hundred
