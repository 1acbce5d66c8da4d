"""Find two encodings that some instruction word matches, without comparing every pair.

Two encodings overlap when no bit is fixed in both with different values
(see :func:`vverify.spec.encoding.overlap`; encodings of different lengths
are compared on the low bits of the shorter, and since an encoding's fixed
mask holds no bit above its width, that needs no special case here).  An
encoding that excludes field values is given as the disjoint patterns of the
words it really has (:meth:`vverify.spec.encoding.Encoding.patterns`), so the
same search is exact for it too: the loader maps a clash of patterns back to
their instructions.
Checking every pair is quadratic: 20,000 instructions is 200 million pairs.

Real instruction sets are decoded by a tree on fixed bits (the opcode, then
a function field, ...), and that is what this search builds: the bits that
every encoding of a group fixes, and on which they differ, split the group
into buckets that cannot overlap each other, and each bucket is split again
on its own such bits.  Only encodings that end up together are compared.
The result is exact (a split only ever separates encodings that differ on a
bit both fix).  A large group that no such bit splits is compared a whole
row at a time, against one bitset per fixed bit, with numpy: its work is
the group's fixed bits times its size over 64, and the fixed bits are
bounded by the spec's bytes, so even patterns built to defeat the tree cost
seconds, not hours, at the instruction limit
(:data:`vverify.spec.limits.MAX_INSTRUCTIONS`).
"""

from __future__ import annotations

from collections import defaultdict

_SMALL = 24  # below this a group is compared pair by pair in Python


def first_overlap(encodings) -> tuple | None:
    """``(j, i)`` with ``i < j`` for the first pair of ``encodings`` that overlap, or None.

    "First" is the order of a pairwise check in declaration order: the
    smallest ``j``, then the smallest ``i``, so the loader reports the same
    pair it always did.
    """
    items = [(k, e.fixed_mask, e.fixed_value & e.fixed_mask) for k, e in enumerate(encodings)]
    best = None
    work = [items]
    while work:
        group = work.pop()
        if best is not None:  # only a smaller j can still improve on best
            group = [it for it in group if it[0] <= best[0]]
        if len(group) < 2:
            continue
        found = _search(group, work)
        if found is not None and (best is None or found < best):
            best = found
    return best


def _search(group, work):
    """Split ``group`` onto ``work``, or settle it: return its first overlapping pair (or None)."""
    all_fixed, ones, zeros, ones_all = -1, 0, 0, -1
    for _, m, v in group:
        all_fixed &= m
        ones |= v
        zeros |= m & ~v
        ones_all &= v
    # bits every encoding fixes, some to 0 and some to 1: a perfect split
    split = all_fixed & ones & ~ones_all
    if split:
        buckets = defaultdict(list)
        for it in group:
            buckets[it[2] & split].append(it)
        work.extend(b for b in buckets.values() if len(b) > 1)
        return None
    telling = ones & zeros  # bits that tell at least two encodings apart
    if not telling:  # nothing tells any two apart: every pair overlaps
        return group[1][0], group[0][0]
    if len(group) <= _SMALL:
        return _pairwise(group)
    return _pairwise_bitsets(group, telling)


def _pairwise(group):
    for b in range(1, len(group)):
        jb, mb, vb = group[b]
        for a in range(b):
            ia, ma, va = group[a]
            if not (va ^ vb) & ma & mb:
                return jb, ia
    return None


def _pairwise_bitsets(group, telling):
    """Each encoding against all before it at once, with one bitset of encodings per fixed bit.

    For every telling bit and value, a bitset (over the group) holds the
    encodings that fix that bit to that value; an encoding clashes with the
    union of the bitsets of the opposite values of the bits it fixes, and
    overlaps any earlier encoding outside that union.  The work is the number
    of fixed bits in the group times the group's size over 64, and the number
    of fixed bits is bounded by the spec's size in bytes.
    """
    import numpy as np

    n = len(group)
    column: dict = {}  # telling bit position -> its pair of bitset rows
    own_rows, own_cols, clashes = [], [], []
    for k, (_, m, v) in enumerate(group):
        rows = []
        bits = m & telling
        while bits:
            low = bits & -bits
            c = column.setdefault(low.bit_length() - 1, len(column))
            one = 1 if v & low else 0
            own_rows.append(2 * c + one)
            own_cols.append(k)
            rows.append(2 * c + 1 - one)  # the encodings fixing this bit the other way
            bits ^= low
        clashes.append(np.array(rows, dtype=np.intp))
    words = (n + 63) // 64
    table = np.zeros((2 * len(column), words), dtype=np.uint64)
    cols = np.array(own_cols, dtype=np.uint64)
    np.bitwise_or.at(table, (np.array(own_rows, dtype=np.intp), (cols >> np.uint64(6)).astype(np.intp)),
                     np.left_shift(np.uint64(1), cols & np.uint64(63)))
    for j in range(1, n):
        below = (j >> 6) + 1  # the words holding encodings 0 .. j-1
        if clashes[j].size:
            free = ~np.bitwise_or.reduce(table[clashes[j], :below], axis=0)
        else:
            free = np.full(below, ~np.uint64(0), dtype=np.uint64)
        free[-1] &= np.uint64((1 << (j & 63)) - 1)
        hits = np.flatnonzero(free)
        if hits.size:
            w = int(hits[0])
            word = int(free[w])
            return group[j][0], group[w * 64 + (word & -word).bit_length() - 1][0]
    return None
