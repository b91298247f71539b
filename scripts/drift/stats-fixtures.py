"""Reference values for the drift statistics (packages/core/test/fixtures/drift-stats.json).

Run once with Debian's SciPy and statsmodels, and commit the output; the tests only read the JSON:

    apt-get install -y python3-scipy python3-statsmodels   # SciPy 1.10.1, statsmodels 0.13.5 (bookworm)
    /usr/bin/python3 scripts/drift/stats-fixtures.py > packages/core/test/fixtures/drift-stats.json
    npx prettier --write packages/core/test/fixtures/drift-stats.json

Inputs are drawn from a seeded generator and written beside the expected values, so the TypeScript side
computes the same statistics on the same numbers. Each block names the SciPy/statsmodels call it copies.
Agresti-Min, the sign-test interval and the McKean-Schrader medians have no library call: they are the
published formulas, written here with SciPy's distributions.
"""
import json
import sys

import numpy as np
import scipy
import statsmodels
from scipy import stats
from scipy.spatial.distance import jensenshannon
from scipy.special import kolmogorov
from statsmodels.stats.contingency_tables import mcnemar
from statsmodels.stats.multitest import multipletests
from statsmodels.stats.proportion import confint_proportions_2indep, proportions_ztest

rng = np.random.default_rng(20240622)
out = {"generator": {"scipy": scipy.__version__, "statsmodels": statsmodels.__version__,
                     "script": "scripts/drift/stats-fixtures.py"}}


def floats(values, digits=3):
    return [round(float(v), digits) for v in values]


# Normal and binomial distributions.
out["normal"] = [{"z": z, "sf": float(stats.norm.sf(z)), "cdf": float(stats.norm.cdf(z))}
                 for z in [-8.0, -3.2, -1.959963984540054, -0.5, 0.0, 0.3, 1.0, 2.5, 6.0, 9.0]]
out["normalQuantile"] = [{"p": p, "z": float(stats.norm.ppf(p))}
                         for p in [1e-10, 0.0005, 0.025, 0.1, 0.5, 0.8, 0.975, 0.999]]
out["binomialCdf"] = [{"k": k, "n": n, "p": p, "cdf": float(stats.binom.cdf(k, n, p))}
                      for (k, n, p) in [(0, 20, 0.5), (3, 12, 0.5), (7, 40, 0.5), (10, 20, 0.5),
                                        (230, 500, 0.5), (4, 30, 0.2), (4880, 10000, 0.5)]]

# McNemar: statsmodels mcnemar, exact binomial below 25 discordant pairs, else chi-square with
# Edwards' continuity correction.
mc = []
for (a, b, c, d) in [(10, 3, 9, 18), (0, 20, 0, 0), (7, 5, 5, 3), (4, 1, 0, 5), (12, 0, 0, 8),
                     (50, 30, 12, 8), (200, 100, 130, 70), (5, 25, 50, 20), (10, 12, 12, 6)]:
    exact = b + c < 25
    r = mcnemar([[a, b], [c, d]], exact=exact, correction=True)
    mc.append({"table": [a, b, c, d], "exact": exact, "statistic": float(r.statistic), "p": float(r.pvalue)})
out["mcnemar"] = mc

# Wilcoxon signed-rank: scipy.stats.wilcoxon(x, y, zero_method='wilcox', correction=True, method=...).
wx = []
# Hollander and Wolfe (1973), p. 29: depression scale before and after (the SciPy docs' example).
hw_x = [1.83, 0.50, 1.62, 2.48, 1.68, 1.88, 1.55, 3.06, 1.30]
hw_y = [0.878, 0.647, 0.598, 2.05, 1.06, 1.29, 1.06, 3.14, 1.29]
sets = [("hollander-wolfe", hw_x, hw_y, "exact")]
x = floats(rng.normal(10, 2, 15)); y = floats(np.array(x) + rng.normal(0.8, 1.5, 15))
sets.append(("exact-15", x, y, "exact"))
x = floats(rng.normal(10, 2, 40)); y = floats(np.array(x) + rng.normal(-0.3, 1.5, 40))
sets.append(("exact-40", x, y, "exact"))
x = [float(v) for v in rng.integers(20, 40, 30)]; y = [float(v) for v in rng.integers(22, 42, 30)]
sets.append(("ties-zeros-30", x, y, "approx"))
x = floats(rng.normal(100, 15, 120), 0); y = floats(np.array(x) + rng.normal(2, 10, 120), 0)
sets.append(("ties-120", x, y, "approx"))
x = floats(rng.normal(5, 1, 70)); y = floats(np.array(x) + rng.normal(0, 1, 70))
sets.append(("no-shift-70", x, y, "approx"))
for (name, x, y, method) in sets:
    r = stats.wilcoxon(x, y, zero_method="wilcox", correction=True, method=method)
    wx.append({"name": name, "a": x, "b": y, "method": method, "statistic": float(r.statistic), "p": float(r.pvalue)})
out["wilcoxon"] = wx

# Mann-Whitney U: scipy.stats.mannwhitneyu(a, b, use_continuity=True, method=...); the statistic is U of a.
mw = []
sets = [("exact-7-9", floats(rng.normal(0, 1, 7)), floats(rng.normal(0.9, 1, 9)), "exact"),
        ("exact-20-25", floats(rng.normal(0, 1, 20)), floats(rng.normal(0.3, 1, 25)), "exact"),
        ("ties-40-35", [float(v) for v in rng.integers(0, 12, 40)], [float(v) for v in rng.integers(1, 13, 35)],
         "asymptotic"),
        ("large-300-250", floats(rng.exponential(3, 300), 1), floats(rng.exponential(3.3, 250), 1), "asymptotic")]
for (name, a, b, method) in sets:
    r = stats.mannwhitneyu(a, b, use_continuity=True, alternative="two-sided", method=method)
    mw.append({"name": name, "a": a, "b": b, "method": method, "statistic": float(r.statistic), "p": float(r.pvalue)})
out["mannWhitney"] = mw

# Two-sample Kolmogorov-Smirnov: scipy.stats.ks_2samp(method='exact') for small samples; for large ones
# the limiting distribution, scipy.special.kolmogorov(sqrt(n m / (n + m)) D).
ks = []
sets = [("exact-12-15", floats(rng.normal(0, 1, 12)), floats(rng.normal(0.8, 1, 15))),
        ("exact-50-60", floats(rng.normal(0, 1, 50)), floats(rng.normal(0.2, 1.3, 60))),
        ("exact-ties-30-30", [float(v) for v in rng.integers(0, 8, 30)], [float(v) for v in rng.integers(1, 9, 30)]),
        ("asymptotic-300-250", floats(rng.normal(0, 1, 300)), floats(rng.normal(0.1, 1, 250)))]
for (name, a, b) in sets:
    n, m = len(a), len(b)
    if n * m <= 10000:
        r = stats.ks_2samp(a, b, alternative="two-sided", method="exact")
        ks.append({"name": name, "a": a, "b": b, "method": "exact", "statistic": float(r.statistic), "p": float(r.pvalue)})
    else:
        d = float(stats.ks_2samp(a, b, method="asymp").statistic)
        p = float(kolmogorov(np.sqrt(n * m / (n + m)) * d))
        ks.append({"name": name, "a": a, "b": b, "method": "asymptotic", "statistic": d, "p": p})
out["ks"] = ks

# Two-proportion z (pooled variance, no continuity correction): statsmodels proportions_ztest; the
# statistic is for B - A. The interval is Agresti-Caffo's (statsmodels confint_proportions_2indep), clipped
# to [-1, 1].
tp = []
for (ea, na, eb, nb) in [(25, 40, 15, 40), (120, 1000, 150, 1000), (20, 20, 0, 20), (3, 12, 5, 11), (0, 30, 0, 30)]:
    if ea + eb in (0, na + nb):
        z, p = 0.0, 1.0
    else:
        z, p = proportions_ztest([eb, ea], [nb, na])
    lo, hi = confint_proportions_2indep(eb, nb, ea, na, method="agresti-caffo", compare="diff", alpha=0.05)
    tp.append({"a": [ea, na], "b": [eb, nb], "z": float(z), "p": float(p), "lower": max(-1.0, float(lo)), "upper": min(1.0, float(hi))})
out["twoProportion"] = tp

# Chi-square test of independence without continuity correction: scipy.stats.chi2_contingency(correction=False).
ch = []
for table in [[[10, 20, 30], [15, 15, 30]], [[5, 0, 12, 3], [2, 8, 9, 1]], [[30, 10, 5], [20, 20, 8], [10, 25, 12]],
              [[25, 15], [15, 25]]]:
    chi2, p, dof, _ = stats.chi2_contingency(table, correction=False)
    ch.append({"table": table, "statistic": float(chi2), "df": int(dof), "p": float(p)})
out["chiSquare"] = ch

# Jensen-Shannon distance, base 2: scipy.spatial.distance.jensenshannon(p, q, base=2) (inputs are normalized).
out["jensenShannon"] = [{"p": p, "q": q, "distance": float(jensenshannon(p, q, base=2))}
                        for (p, q) in [([1, 0], [0, 1]), ([0.5, 0.5], [0.5, 0.5]), ([10, 20, 30], [30, 20, 10]),
                                       ([0.1, 0.4, 0.5, 0], [0.2, 0.2, 0.3, 0.3]), ([40, 0, 0], [38, 1, 1])]]

# Holm and Benjamini-Hochberg: statsmodels multipletests(method='holm' | 'fdr_bh').
adj = []
for ps in [[0.01, 0.04, 0.03, 0.005], [0.2, 0.001, 0.04, 0.04, 0.9, 0.03], [0.5], [0.049, 0.049, 0.049]]:
    adj.append({"p": ps, "holm": [float(v) for v in multipletests(ps, method="holm")[1]],
                "bh": [float(v) for v in multipletests(ps, method="fdr_bh")[1]]})
out["adjust"] = adj

# Paired difference of proportions (B - A) with Agresti and Min's (2005) interval: add 1/2 to each cell
# of the 2x2 table, then Wald. Cells: a both yes, b A only, c B only, d neither.
z975 = float(stats.norm.ppf(0.975))
pm = []
for (a, b, c, d) in [(10, 3, 9, 18), (0, 20, 0, 0), (20, 0, 0, 0), (50, 30, 12, 8), (4, 1, 0, 5)]:
    n = a + b + c + d
    n2 = n + 2
    pb, pc = (b + 0.5) / n2, (c + 0.5) / n2
    center = pc - pb
    se = np.sqrt((pb + pc - (pc - pb) ** 2) / n2)
    pm.append({"table": [a, b, c, d], "estimate": (c - b) / n,
               "lower": float(max(-1, center - z975 * se)), "upper": float(min(1, center + z975 * se))})
out["pairedProportion"] = pm

# Median of paired differences (B - A) with the sign-test interval: [d(k), d(n-k+1)], k the largest with
# 2 P(Bin(n, 1/2) <= k - 1) <= alpha (distribution-free; coverage at least 95 %).
md = []
for w in wx:
    diffs = sorted(float(b) - float(a) for a, b in zip(w["a"], w["b"]))
    n = len(diffs)
    k = 0
    while 2 * stats.binom.cdf(k, n, 0.5) <= 0.05:
        k += 1
    entry = {"name": w["name"], "estimate": float(np.median(diffs))}
    if k >= 1:
        entry.update({"lower": diffs[k - 1], "upper": diffs[n - k]})
    md.append(entry)
out["pairedMedian"] = md

# Difference of medians (B - A), unpaired, with McKean and Schrader's (1984) standard error of a median:
# (x(n-c+1) - x(c)) / (2 z), c = round((n + 1) / 2 - z sqrt(n / 4)), z = z(0.975); interval diff +- z SE.
def ms_se(values):
    s = sorted(values)
    n = len(s)
    c = int(np.floor((n + 1) / 2 - z975 * np.sqrt(n / 4) + 0.5))
    c = max(1, c)
    return (s[n - c] - s[c - 1]) / (2 * z975)
um = []
for w in mw:
    est = float(np.median(w["b"]) - np.median(w["a"]))
    se = float(np.sqrt(ms_se(w["a"]) ** 2 + ms_se(w["b"]) ** 2))
    um.append({"name": w["name"], "estimate": est, "lower": est - z975 * se, "upper": est + z975 * se})
out["unpairedMedian"] = um

json.dump(out, sys.stdout, indent=1)
sys.stdout.write("\n")
