"""The timed pass's stop rule: a distribution-free confidence interval of the median, and "settled" once
it lies within 1% of the median on either side."""

from __future__ import annotations

import random

from tools.harness.timing import median_interval, settled


def test_the_interval_is_the_whole_range_for_ten_samples_and_narrows_with_more():
    assert median_interval(list(range(10))) == (0, 9)
    assert median_interval(list(range(20))) == (4, 15)
    lo, hi = median_interval(list(range(100)))
    assert (lo, hi) == (39, 60)


def test_the_interval_covers_the_true_median_about_95_percent_of_the_time():
    rng = random.Random(7)
    covered = 0
    for _ in range(2000):
        xs = [rng.expovariate(1.0) for _ in range(25)]
        lo, hi = median_interval(xs)
        covered += lo <= 0.6931471805599453 <= hi
    assert 0.93 <= covered / 2000 <= 0.995


def test_steady_samples_settle_and_noisy_or_few_ones_do_not():
    rng = random.Random(3)
    steady = [1.0 + rng.gauss(0, 0.002) for _ in range(12)]
    noisy = [1.0 + rng.gauss(0, 0.05) for _ in range(12)]
    assert settled(steady)
    assert not settled(noisy)
    assert not settled([1.0])
    # one outlier among ten: the interval is then the whole range, so it does not settle at ten
    assert not settled([1.0] * 9 + [1.5])
    assert settled([1.0] * 19 + [1.5])
