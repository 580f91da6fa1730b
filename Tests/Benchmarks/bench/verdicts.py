"""Statistics of the runs and the verdicts against the targets: medians, paired ratios of unwrapd's run i to the
other daemon's run i, and the sign test's interval that decides whether the runs settle a target."""

import math
import statistics


def stats(values):
    """Median, min, max and count of the values that are not None; None if there are none."""
    values = [v for v in values if v is not None]
    if not values:
        return None
    return {"median": statistics.median(values), "min": min(values), "max": max(values), "n": len(values),
            "values": values}


# The targets on the ratio unwrapd/hitch (the others are on unwrapd's own values).
RATIO_TARGETS = ("ge", "le")


def judge(target, ratio, u_stats, requested=None):
    """(the target as the table prints it, met or not) for one row; ("", None) for a row without a target."""
    if target is None:
        return "", None
    kind, value = target
    if kind == "ge":
        return f"≥{value:.2f}×", (ratio is not None and ratio >= value)
    if kind == "le":
        return f"≤{value:.2f}×", (ratio is not None and ratio <= value)
    if kind == "abs_le":
        return f"≤{value:g} (abs.)", (u_stats is not None and u_stats["median"] <= value)
    if kind == "max_le":
        return f"≤{value:g} each", (u_stats is not None and u_stats["max"] <= value)
    if kind == "all":
        return f"all {requested}", (u_stats is not None and u_stats["min"] == requested)
    return "", None


def paired_ratios(first_runs, second_runs, key):
    """The first daemon's run i over the second's run i (the two ran one after the other) for every i both have a
    value for, with the sign test's interval for their median ("low", "high", "coverage")."""
    second = {r["run"]: r["metrics"].get(key) for r in second_runs}
    pairs = stats([r["metrics"].get(key) / second[r["run"]] for r in first_runs
                   if r["metrics"].get(key) is not None and second.get(r["run"])])
    if pairs:
        pairs.update(zip(("low", "high", "coverage"), sign_test_interval(pairs["values"])))
    return pairs


# The coverage the whole range of 5 pairs has (1 - 2^-4); more pairs keep at least this much.
SIGN_TEST_COVERAGE = 15 / 16


def sign_test_coverage(n, k):
    """How often the k-th lowest and k-th highest of n paired ratios enclose their true median: 1 - 2 P(B < k),
    with B ~ Binomial(n, 1/2) the number of ratios below the median."""
    return 1 - 2 * sum(math.comb(n, i) for i in range(k)) / 2 ** n


def sign_test_interval(values):
    """(low, high, coverage): the k-th lowest and k-th highest of `values`, with the largest k whose coverage is
    still SIGN_TEST_COVERAGE or more. Distribution-free. For 5 pairs that is [min, max] (94 %); for 10, the 2nd
    lowest to the 2nd highest (98 %); for 15, the 4th to the 12th (96 %): more runs narrow it instead of widening
    it. Fewer than 5 pairs get [min, max] with less coverage."""
    ordered, n, k = sorted(values), len(values), 1
    while k < n // 2 and sign_test_coverage(n, k + 1) >= SIGN_TEST_COVERAGE:
        k += 1
    return ordered[k - 1], ordered[n - k], sign_test_coverage(n, k)


def within_noise(target, pairs):
    """True when a ratio target lies inside the sign test's interval of the paired ratios: the runs do not decide
    it."""
    if target is None or target[0] not in RATIO_TARGETS or not pairs or pairs["n"] < 2:
        return None
    return pairs["low"] < target[1] < pairs["high"]
