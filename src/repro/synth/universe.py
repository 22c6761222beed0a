"""Who is in the synthetic market: stock codes and boards, listings, industries, index members.

SPEC §1: main board (600xxx.SH, 000xxx.SZ), ChiNext (300xxx.SZ) and STAR (688xxx.SH, which
opened 2019-07-22); staggered listings (most listed before the sample, some IPO during it, a
few delisted); about 30 level-1 industries, mostly static with a few reclassifications; and
csi300 / csi500 / csi1000 constituents by total-market-cap rank.
"""
from __future__ import annotations

from dataclasses import dataclass

import numpy as np

STAR_OPEN = np.datetime64("2019-07-22")
# Board shares (main, chinext, star) of stocks listed before the sample and of IPOs (SPEC §1).
BOARDS = np.array(["main", "chinext", "star"])
PRE_LISTED_BOARDS, IPO_BOARDS = (0.75, 0.20, 0.05), (0.45, 0.25, 0.30)
IPO_PER_YEAR, MAX_IPO_SHARE = 0.07, 0.35  # share of the stocks that IPO inside the sample
DELISTED, RECLASSIFIED = 0.03, 0.04  # shares of stocks
# Plausible level-1 sector names (Shenwan-like); beyond these, "ind30", "ind31", ...
SECTORS = (
    "Agriculture", "Mining", "Chemicals", "Steel", "NonferrousMetals", "Electronics",
    "HomeAppliances", "FoodBeverage", "Textiles", "LightIndustry", "Pharmaceuticals",
    "Utilities", "Transportation", "RealEstate", "Commerce", "SocialServices", "Banks",
    "NonbankFinance", "Conglomerates", "BuildingMaterials", "Construction", "ElectricalEquipment",
    "Machinery", "Defense", "Automobiles", "Computers", "Media", "Telecom", "Environment",
    "Coal", "Petroleum", "Beauty",
)
# Index sizes scale with the universe: csi300 is the top 300 of about 5,000 listed stocks.
INDEX_SIZES = {"csi300": 300, "csi500": 500, "csi1000": 1000}
INDEX_FULL_MARKET, INDEX_MIN_MEMBERS = 5000, 25


@dataclass
class Universe:
    codes: np.ndarray  # str [N], sorted
    board: np.ndarray  # str [N]
    list_date: np.ndarray  # datetime64[D] [N]
    delist_date: np.ndarray  # datetime64[D] [N], NaT while listed
    listed: np.ndarray  # bool [D, N]
    industry: np.ndarray  # int16 [D, N], index into industry_names
    industry_names: list[str]
    industry_rows: dict  # columns of industry.parquet


def make_universe(rng: np.random.Generator, dates: np.ndarray, n_stocks: int, n_industries: int) -> Universe:
    """Draw codes, boards, listing / delisting days and point-in-time industries."""
    n_days = len(dates)
    start = dates[0]
    star_days = int((start - STAR_OPEN).astype(int))  # days STAR had been open at the start

    # IPOs during the sample (never on its first day, and leaving each some history);
    # STAR stocks exist only from 2019-07-22.
    ipo = rng.random(n_stocks) < min(MAX_IPO_SHARE, IPO_PER_YEAR * n_days / 244)
    ipo_idx = rng.integers(1, max(2, int(n_days * 0.9)), n_stocks) if n_days > 1 else np.zeros(n_stocks, int)
    star_open = dates[np.minimum(ipo_idx, n_days - 1)] >= STAR_OPEN
    u = rng.random(n_stocks)
    pre_boards = _pick(u, PRE_LISTED_BOARDS if star_days > 180 else PRE_LISTED_BOARDS[:2])
    ipo_boards = np.where(star_open, _pick(u, IPO_BOARDS), _pick(u, IPO_BOARDS[:2]))
    ipo &= n_days > 1
    boards = np.where(ipo, ipo_boards, pre_boards)
    oldest = np.where(boards == "star", max(star_days, 31), 15 * 365)
    pre_day = start - rng.integers(30, oldest, n_stocks).astype("timedelta64[D]")
    pre_day = np.busday_offset(pre_day, 0, roll="forward")
    list_date = np.where(ipo, dates[np.minimum(ipo_idx, n_days - 1)], pre_day).astype("datetime64[D]")

    # A few pre-listed stocks delist in the second half of the sample.
    delist = ~ipo & (rng.random(n_stocks) < DELISTED)
    delist_idx = rng.integers(n_days // 2, n_days, n_stocks)
    delist_date = np.where(delist, dates[delist_idx], np.datetime64("NaT")).astype("datetime64[D]")

    codes = _codes(rng, boards)
    order = np.argsort(codes)
    codes, boards, list_date, delist_date = codes[order], boards[order], list_date[order], delist_date[order]

    d = dates[:, None]
    listed = (d >= list_date[None, :]) & ~(d > delist_date[None, :])  # NaT compares False

    names = [SECTORS[k] if k < len(SECTORS) else f"ind{k:02d}" for k in range(n_industries)]
    first = rng.integers(0, n_industries, n_stocks).astype(np.int16)
    industry = np.repeat(first[None, :], n_days, axis=0)
    moved = (rng.random(n_stocks) < RECLASSIFIED) & (n_industries > 1)
    rows = {"code": [], "start_date": [], "end_date": [], "industry": []}
    change_idx = rng.integers(n_days // 4, max(n_days // 4 + 1, n_days - 1), n_stocks)
    new_ind = ((first + rng.integers(1, max(2, n_industries), n_stocks)) % n_industries).astype(np.int16)
    for i in range(n_stocks):  # one or two rows per stock
        rows["code"].append(codes[i])
        rows["start_date"].append(list_date[i])
        rows["industry"].append(names[first[i]])
        if moved[i] and dates[change_idx[i]] > list_date[i]:
            t = change_idx[i]
            industry[t:, i] = new_ind[i]
            rows["end_date"].append(dates[t - 1])
            rows["code"].append(codes[i])
            rows["start_date"].append(dates[t])
            rows["industry"].append(names[new_ind[i]])
        rows["end_date"].append(np.datetime64("NaT"))
    return Universe(codes, boards, list_date, delist_date, listed, industry, names, rows)


def _pick(u: np.ndarray, shares) -> np.ndarray:
    """Board names for uniform draws u, with the given (main, chinext[, star]) shares."""
    cum = np.cumsum(shares) / np.sum(shares)
    return BOARDS[np.minimum(np.searchsorted(cum, u, side="right"), len(shares) - 1)]


def _codes(rng: np.random.Generator, boards: np.ndarray) -> np.ndarray:
    """Unique exchange codes by board: 600/601/603/605.SH or 000/001/002/003.SZ (main),
    300/301.SZ (ChiNext), 688/689.SH (STAR)."""
    out = np.empty(len(boards), dtype=object)
    pools = {"main": ("600", "601", "603", "605", "000", "001", "002", "003"), "chinext": ("300", "301"),
             "star": ("688", "689")}
    for board, prefixes in pools.items():
        idx = np.flatnonzero(boards == board)
        pool = np.array([p + f"{k:03d}" for p in prefixes for k in range(1000)])
        picked = np.sort(rng.choice(pool, size=len(idx), replace=False))
        out[idx] = [c + (".SH" if c[0] == "6" else ".SZ") for c in picked]
    return out.astype(str)


def index_weights(dates: np.ndarray, listed: np.ndarray, is_st: np.ndarray, mcap: np.ndarray,
                  list_date: np.ndarray, codes: np.ndarray) -> dict:
    """csi300 / csi500 / csi1000 constituents and weights (columns of index_weights.parquet).

    Rebalanced on the first trading day of the sample and of every June and December. Eligible:
    listed, not ST, listed at least 90 calendar days. Ranked by total market cap at the previous
    close (the first day's own close at the sample start), non-overlapping: csi300 takes the top,
    csi500 the next, csi1000 the next; sizes round(n_listed × size / 5000), at least 25 each.
    Weights are proportional to total market cap and sum to 1 per (date, index).
    """
    month = dates.astype("datetime64[M]")
    first_of_month = np.r_[True, month[1:] != month[:-1]]
    month_no = (month.astype(int) % 12) + 1
    rebalance = np.flatnonzero(first_of_month & np.isin(month_no, (6, 12)))
    rebalance = np.unique(np.r_[0, rebalance])
    cols = {"date": [], "index": [], "code": [], "weight": []}
    for t in rebalance:
        ref = max(t - 1, 0)
        cap = np.where(listed[ref] & ~is_st[ref] & (list_date <= dates[t] - 90) & listed[t], mcap[ref], np.nan)
        eligible = np.flatnonzero(np.isfinite(cap))
        ranked = eligible[np.argsort(-cap[eligible], kind="stable")]
        n_listed = int(listed[t].sum())
        pos = 0
        for name, size in INDEX_SIZES.items():
            k = max(INDEX_MIN_MEMBERS, int(round(n_listed * size / INDEX_FULL_MARKET)))
            members = np.sort(ranked[pos:pos + k])
            pos += k
            if len(members) == 0:
                continue
            w = cap[members] / cap[members].sum()
            cols["date"] += [dates[t]] * len(members)
            cols["index"] += [name] * len(members)
            cols["code"] += list(codes[members])
            cols["weight"] += list(w)
    return cols
