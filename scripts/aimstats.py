"""The statistics of `aimrun report` in Python (docs/report.md): t-tests with 95% intervals,
filters and the paired comparison of each method with a baseline, on the DataFrame of
aimresults.load. Used through aimresults (aimresults.compare, aimresults.where,
aimresults.summarize_groups).

scipy.stats computes the tests where it is installed (Debian: python3-scipy); otherwise a
small incomplete-beta implementation (the same algorithm as results/statistics.cpp) does.
Zero spread (all differences equal) is defined as in the report: the interval is the mean
itself, p = 1 when the mean is 0 and 0 otherwise.
"""
import math

import numpy as np
import pandas as pd

try:
    import scipy.stats as _scipy_stats
except ImportError:  # pragma: no cover - exercised where scipy is missing
    _scipy_stats = None

LEVEL = 0.95
GROUP_KEYS = ("dataset.name", "method.name", "model.backbone")


# --------------------------------------------------------------------------- t distribution

def _beta_fraction(a, b, x):
    tiny, c, d = 1e-300, 1.0, 1.0 - (a + b) * x / (a + 1)
    d = 1.0 / (d if abs(d) > tiny else tiny)
    h = d
    for m in range(1, 100000):
        for aa in (m * (b - m) * x / ((a + 2 * m - 1) * (a + 2 * m)),
                   -(a + m) * (a + b + m) * x / ((a + 2 * m) * (a + 2 * m + 1))):
            d = 1 + aa * d
            c = 1 + aa / c
            d = 1.0 / (d if abs(d) > tiny else tiny)
            c = c if abs(c) > tiny else tiny
            h *= d * c
        if abs(d * c - 1) < 1e-16:
            break
    return h


def _t_two_sided_p(t, df):
    if math.isinf(t):
        return 0.0
    t2 = t * t
    x, y = df / (df + t2), t2 / (df + t2)
    a, b = df / 2, 0.5
    front = math.lgamma(a + b) - math.lgamma(a) - math.lgamma(b) + a * math.log(x) + b * math.log(y) \
        if x > 0 and y > 0 else None
    if front is None:
        return 0.0 if x <= 0 else 1.0
    if x < (a + 1) / (a + b + 2):
        return math.exp(front) * _beta_fraction(a, b, x) / a
    return 1 - math.exp(front) * _beta_fraction(b, a, y) / b


def t_two_sided_p(t, df):
    """P(|T| >= |t|), T ~ Student-t(df)."""
    if _scipy_stats is not None:
        return float(2 * _scipy_stats.t.sf(abs(t), df))
    return _t_two_sided_p(t, df)


def t_quantile(q, df):
    """scipy.stats.t.ppf(q, df)."""
    if _scipy_stats is not None:
        return float(_scipy_stats.t.ppf(q, df))
    tail, lo, hi = 2 * min(q, 1 - q), 0.0, 1.0
    while _t_two_sided_p(hi, df) > tail:
        lo, hi = hi, hi * 2
    for _ in range(200):
        mid = (lo + hi) / 2
        lo, hi = (mid, hi) if _t_two_sided_p(mid, df) > tail else (lo, mid)
    return (lo + hi) / 2 if q > 0.5 else -(lo + hi) / 2


def _finish(mean, se, df, **extra):
    out = dict(difference=mean, ci_low=mean, ci_high=mean, p=1.0 if mean == 0 else 0.0, df=df, **extra)
    if se > 0:
        half = t_quantile(0.5 + LEVEL / 2, df) * se
        out.update(ci_low=mean - half, ci_high=mean + half, p=t_two_sided_p(mean / se, df))
    return out


def paired_test(a, b):
    """Paired t-test of a - b (scipy.stats.ttest_rel) with the 95% interval of the mean."""
    d = np.asarray(a, float) - np.asarray(b, float)
    n = len(d)
    if n < 2:
        return dict(difference=float(d.mean()) if n else math.nan, ci_low=math.nan, ci_high=math.nan,
                    p=math.nan, df=math.nan, n=n, n_baseline=n, test="paired")
    out = _finish(float(d.mean()), float(d.std(ddof=1)) / math.sqrt(n), n - 1, n=n, n_baseline=n,
                  test="paired")
    if _scipy_stats is not None and d.std(ddof=1) > 0:
        out["p"] = float(_scipy_stats.ttest_rel(a, b).pvalue)
    return out


def welch_test(a, b):
    """Welch's t-test (scipy.stats.ttest_ind(equal_var=False)) with the Welch-Satterthwaite
    interval of mean(a) - mean(b)."""
    a, b = np.asarray(a, float), np.asarray(b, float)
    na, nb = len(a), len(b)
    mean = float(a.mean() - b.mean()) if na and nb else math.nan
    if na < 2 or nb < 2:
        return dict(difference=mean, ci_low=math.nan, ci_high=math.nan, p=math.nan, df=math.nan,
                    n=na, n_baseline=nb, test="welch")
    va, vb = a.var(ddof=1) / na, b.var(ddof=1) / nb
    s = va + vb
    df = 1 / ((va / s) ** 2 / (na - 1) + (vb / s) ** 2 / (nb - 1)) if s > 0 else na + nb - 2
    out = _finish(mean, math.sqrt(s), df, n=na, n_baseline=nb, test="welch")
    if _scipy_stats is not None and s > 0:
        out["p"] = float(_scipy_stats.ttest_ind(a, b, equal_var=False).pvalue)
    return out


# --------------------------------------------------------------------------- run tables

def _equal(value, want):
    try:
        return abs(float(value) - float(want)) <= 1e-9 * max(1.0, abs(float(want)))
    except (TypeError, ValueError):
        text = {True: "true", False: "false", None: "~"}.get(value, value) if not isinstance(value, float) \
            else value
        return str(text) == str(want)


def where(df, conditions):
    """The rows whose config has every key=value of `conditions` (a dict, or strings
    "key=value" as `aimrun report --where` takes them); numbers compare as numbers.
    A key no row has raises KeyError naming it."""
    if isinstance(conditions, dict):
        pairs = list(conditions.items())
    else:
        pairs = []
        for c in conditions:
            if "=" not in c or c.startswith("="):
                raise ValueError(f"--where {c}: expected key=value, e.g. method.name=aim")
            k, v = c.split("=", 1)
            pairs.append((k.strip(), v.strip()))
    keep = pd.Series(True, index=df.index)
    for key, want in pairs:
        if key not in df.columns:
            raise KeyError(f"--where {key}: no run has this config key")
        keep &= df[key].apply(lambda v, want=want: _equal(v, want))
    return df[keep]


def _group_values(df, keys):
    """Per row, the value of each grouping key, None where the key is not part of the run's
    identity (a masking setting of a vanilla run), as `aimrun report` groups."""
    ids = df["identity_keys"].fillna("").str.split() if "identity_keys" in df else None
    out = pd.DataFrame(index=df.index)
    for k in keys:
        col = df[k] if k in df.columns else pd.Series(None, index=df.index)
        if ids is not None and k not in ("dataset.name", "method.name", "model.backbone"):
            col = col.where(ids.apply(lambda ks, k=k: k in ks), None)
        out[k] = col.astype(object).where(col.notna(), None).map(lambda v: None if v is None else str(v))
    return out


def group_keys(df, group_by=None, varying=()):
    if group_by:
        missing = [k for k in group_by if k not in df.columns]
        if missing:
            raise KeyError(f"--group-by {missing[0]}: no run has this config key")
        return list(group_by)
    return list(GROUP_KEYS) + [k for k in varying if k not in GROUP_KEYS]


def metric_columns(df):
    """The report's metrics in the DataFrame: accuracies, EPG per attribution (and per
    worst group), mask areas."""
    cols = [c for c in ("accuracy", "worst_group_accuracy") if c in df.columns]
    cols += sorted(c for c in df.columns if c.startswith("epg.") and not c.startswith("epg.mask_stage"))
    cols += sorted(c for c in df.columns if c.startswith("worst_group_epg") and "mask_stage" not in c)
    cols += [c for c in df.columns if c == "mask_area" or c.startswith("mask_area_stage_")]
    return cols


def _test(method, baseline):
    """Paired by seed when every seed of both sides pairs (each once), Welch otherwise."""
    ms, bs = method["seed"].tolist(), baseline["seed"].tolist()
    if len(ms) and len(set(ms)) == len(ms) and len(set(bs)) == len(bs) and set(ms) == set(bs):
        m = method.set_index("seed").sort_index()["value"]
        b = baseline.set_index("seed").sort_index()["value"]
        return paired_test(m.values, b.values)
    return welch_test(method["value"].values, baseline["value"].values)


def compare(df, baseline="vanilla", metrics=None, group_by=None, varying=(), split="test"):
    """Each method's groups against the baseline method's group with the same other
    settings, per metric, in points: difference, ci_low, ci_high (95%), p, n, n_baseline,
    test (paired | welch), df; one row per group and metric."""
    df = df[df.split == split] if "split" in df.columns else df
    keys = group_keys(df, group_by, varying)
    if "method.name" not in keys:
        raise ValueError("compare: method.name must be a grouping key")
    metrics = metric_columns(df) if metrics is None else list(metrics)
    labels = _group_values(df, keys)
    labels["_key"] = labels.apply(lambda r: tuple(r[k] for k in keys), axis=1)
    groups = {k: df.loc[idx] for k, idx in labels.groupby("_key").groups.items()}
    mi = keys.index("method.name")
    rows = []
    for key, runs in sorted(groups.items(), key=lambda kv: tuple(str(x) for x in kv[0])):
        if key[mi] == baseline:
            continue
        fits = []
        for bkey in groups:
            if bkey[mi] != baseline:
                continue
            shared = [(x, y) for i, (x, y) in enumerate(zip(key, bkey)) if i != mi and x is not None and y is not None]
            if all(x == y for x, y in shared):
                fits.append((len(shared), bkey))
        fits.sort(key=lambda f: -f[0])
        if not fits or (len(fits) > 1 and fits[0][0] == fits[1][0]):
            continue
        base = groups[fits[0][1]]
        for m in metrics:
            if m not in df.columns:
                continue
            a = pd.DataFrame({"seed": runs["seed"], "value": 100 * runs[m].astype(float)}).dropna()
            b = pd.DataFrame({"seed": base["seed"], "value": 100 * base[m].astype(float)}).dropna()
            if a.empty or b.empty:
                continue
            row = {k: key[i] for i, k in enumerate(keys) if i != mi}
            row.update({"method": key[mi], "baseline": baseline, "metric": m})
            row.update(_test(a, b))
            rows.append(row)
    return pd.DataFrame(rows)
