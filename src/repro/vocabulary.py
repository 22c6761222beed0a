"""The names the whole package speaks: datasets, model heads, universes, indices, and the
index-enhancement constraint sets. Every other module, the workflow and the tests import these;
none keeps a copy of its own. No imports here, so anything may import this module."""

DATASETS = ("day", "ms", "l2")  # daily bars, 1-minute-bar features, Level-2 features (SPEC §1)
INTRADAY_DATASETS = ("ms", "l2")  # built from intraday files, one raw panel per year
MODELS = ("uni", "multi")  # univariate head, multivariate head with K factor units (SPEC §4)
INDICES = ("csi300", "csi500", "csi1000")  # benchmarks with point-in-time constituent weights
UNIVERSES = ("all",) + INDICES  # `all` = every listed A-share
CONSTRAINTS = ("free", "member80")  # index enhancement: no / ≥ 80% constituent weight (SPEC §7)
COMPOSITE = "avg"  # the equal-weight composite of the datasets' factors (SPEC §6)
