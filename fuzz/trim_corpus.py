#!/usr/bin/env python3
"""Trims a minimised corpus to at most N files, keeping the most edges.

`cargo fuzz cmin` keeps every file that adds a feature, which for some
targets is over a hundred files each adding one or two edges. This keeps the
named seeds (`seed-*`, rewritten by the seed generator afterwards) and picks
the other files greedily, most new edges first, until the budget is spent.

Usage, from the repository root:

    cargo +nightly fuzz cmin TARGET -- -use_counters=0 -merge_control_file=/tmp/ctl-TARGET
    python3 fuzz/trim_corpus.py TARGET /tmp/ctl-TARGET [MAX_FILES=40]

The control file lists every input of the merge with the coverage edges it
reaches (`COV <index> <edge>...`); cmin's output is the set of candidates.
"""

import os
import sys


def main() -> None:
    target, control = sys.argv[1], sys.argv[2]
    budget = int(sys.argv[3]) if len(sys.argv) > 3 else 40
    corpus = os.path.join("fuzz", "corpus", target)

    lines = open(control).read().splitlines()
    count = int(lines[0])
    paths = lines[2 : 2 + count]
    edges = {}
    for line in lines[2 + count :]:
        if line.startswith("COV "):
            fields = line.split()
            edges[paths[int(fields[1])]] = set(map(int, fields[2:]))

    seeds = [p for p in edges if os.path.basename(p).startswith("seed-")]
    candidates = [
        os.path.join(corpus, name)
        for name in sorted(os.listdir(corpus))
        if not name.startswith("seed-")
    ]
    by_name = {os.path.basename(p): e for p, e in edges.items()}
    everything = set().union(*edges.values()) if edges else set()

    covered = set().union(*(edges[p] for p in seeds)) if seeds else set()
    kept = []
    remaining = {p: by_name.get(os.path.basename(p), set()) for p in candidates}
    while len(seeds) + len(kept) < budget and remaining:
        best = max(remaining, key=lambda p: (len(remaining[p] - covered), -os.path.getsize(p)))
        if not remaining[best] - covered:
            break
        covered |= remaining.pop(best)
        kept.append(best)
    for path in remaining:
        os.remove(path)
    print(
        f"{target}: {len(seeds)} seeds + {len(kept)} files kept, {len(remaining)} removed; "
        f"{len(covered)} of {len(everything)} edges"
    )


if __name__ == "__main__":
    main()
