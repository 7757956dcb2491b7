"""The adaptive seeds' confidence sequence (results/sequential.h) against an independent
computation with scipy.

Run from CTest (python.sequential) or by hand:

    AIM_STATS_PROBE=build/tests/aim_stats_probe /usr/bin/python3 -m unittest -v tests/python/test_sequential.py

Independent of the closed form in results/sequential.cpp: the Bayes factor is computed here
as the ratio of the t-statistic's densities, the noncentral t (noncentrality delta*sqrt(n))
averaged over the prior delta ~ N(0, g), over the central t, by numerical integration over
the t-statistic's chi-distributed denominator (scipy.integrate.quad); the
threshold t*_n is found by root finding on it, and the sequence is mean +- t*_n sd/sqrt(n).
"""
import functools
import math
import os
import sys
import unittest

import numpy as np

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))  # stats_probe.py beside this file
from stats_probe import probe

try:
    import scipy.stats as st
    from scipy import integrate, optimize
except ImportError:  # reported as not run, never as passed
    st = None


def bayes_factor(t, n, scale):
    """BF_n(t) = E_{delta ~ N(0, g)} nct.pdf(t; n-1, delta sqrt(n)) / t.pdf(t; n-1), g = scale^2.

    The noncentral t is T = (Z + delta sqrt(n)) / S with S = sqrt(V / nu), V ~ chi2(nu): given
    S = s, T is normal with mean delta sqrt(n) / s and sd 1 / s, and averaged over the prior
    Z + delta sqrt(n) ~ N(0, 1 + n g). So the numerator is the integral over s of
    s * norm.pdf(t s; 0, sqrt(1 + n g)) * f_S(s), done here numerically.
    """
    nu = n - 1
    g = scale * scale
    sd = math.sqrt(1 + n * g)

    def integrand(s):
        f_s = 2 * nu * s * st.chi2.pdf(nu * s * s, nu)  # density of S = sqrt(V / nu)
        return s * st.norm.pdf(t * s, 0, sd) * f_s

    val, _ = integrate.quad(integrand, 0, np.inf, epsabs=0, epsrel=1e-12, limit=400)
    return val / st.t.pdf(t, nu)


@functools.lru_cache(maxsize=None)
def threshold(n, alpha, scale):
    """|t| where BF_n reaches 1/alpha, by root finding; inf when its supremum stays below."""
    g = scale * scale
    sup = (1 + n * g) ** ((n - 1) / 2)  # BF_n as |t| -> inf
    if sup <= 1 / alpha:
        return math.inf
    f = lambda t: math.log(bayes_factor(t, n, scale)) + math.log(alpha)
    hi = 1.0
    while f(hi) < 0:
        hi *= 2
    return optimize.brentq(f, 0.0, hi, xtol=1e-15, rtol=1e-15, maxiter=500)


@unittest.skipIf(st is None, "NOT RUN: scipy is not installed (apt-get install python3-scipy)")
class ConfidenceSequence(unittest.TestCase):
    def test_bayes_factor_equals_the_integral(self):
        cases = [(0.0, 2, 3.0), (1.5, 3, 3.0), (-2.5, 5, 1.0), (4.0, 10, 3.0), (0.3, 7, 0.5), (6.0, 4, 10.0)]
        lines = probe([f"bf {t!r} {n} {s!r}" for t, n, s in cases])
        for (t, n, s), line in zip(cases, lines):
            ours, ref = float(line), bayes_factor(t, n, s)
            self.assertAlmostEqual(ours / ref, 1.0, delta=1e-9, msg=f"t={t} n={n} scale={s}")

    def check_sequence(self, d, alpha, scale, margin, min_n):
        out = probe([f"cs {alpha!r} {scale!r} {margin!r} {min_n} " + " ".join(repr(float(x)) for x in d)])
        rows = [l.split() for l in out if not l.startswith("decision")]
        expected_state, expected_n = "open", len(d)
        for row in rows:
            n, lo, hi = int(row[0]), float(row[1]), float(row[2])
            x = np.asarray(d[:n], dtype=float)
            mean, sd = x.mean(), x.std(ddof=1)
            ts = threshold(n, alpha, scale)
            half = ts * sd / math.sqrt(n) if not math.isinf(ts) else math.inf
            if math.isinf(ts):
                self.assertTrue(math.isinf(lo) and math.isinf(hi), f"n={n}: {lo} {hi}")
            else:
                scale_of = max(1.0, abs(mean), half)
                self.assertLessEqual(abs(lo - (mean - half)), 1e-9 * scale_of, f"n={n} lo {lo} vs {mean - half}")
                self.assertLessEqual(abs(hi - (mean + half)), 1e-9 * scale_of, f"n={n} hi {hi} vs {mean + half}")
            if expected_state == "open" and n >= max(min_n, 2):
                if mean - half > 0 or mean + half < 0:
                    expected_state, expected_n = "different", n
                elif -margin < mean - half and mean + half < margin:
                    expected_state, expected_n = "equivalent", n
        decision = [l for l in out if l.startswith("decision")][0].split()
        self.assertEqual(decision[1:], [expected_state, str(expected_n)], f"d={d}")
        return expected_state

    def test_bounds_match_on_fixed_and_random_inputs(self):
        fixed = [
            ([3.1, 2.5, 4.0, 3.3, 2.9, 3.6, 3.0, 2.8, 3.4, 3.2], 0.05, 3.0, 1.0, 3),   # a clear effect
            ([0.1, -0.2, 0.05, 0.0, -0.1, 0.15, 0.02, -0.05, 0.08, -0.03], 0.05, 3.0, 1.0, 3),  # equivalent
            ([1.0, -3.0, 2.5, -0.5, 4.0, -2.0], 0.05, 3.0, 1.0, 3),  # open
            ([5.0, 6.0], 0.05, 3.0, 1.0, 2),  # n = 2: no finite bound with scale 3
            ([5.0, 6.0, 5.5], 0.01, 10.0, 0.5, 2),
        ]
        states = {self.check_sequence(*case) for case in fixed}
        self.assertEqual(states, {"different", "equivalent", "open"})
        rng = np.random.default_rng(35)
        for _ in range(12):
            n = int(rng.integers(3, 11))
            d = rng.normal(rng.normal(0, 3), 10 ** rng.uniform(-2, 1), size=n)
            self.check_sequence(list(d), float(rng.choice([0.05, 0.1, 0.01])), float(rng.choice([1.0, 3.0, 5.0])),
                                1.0, 3)


if __name__ == "__main__":
    unittest.main()
