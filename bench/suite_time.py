#!/usr/bin/python3
"""Where the full suite's time goes, from ctest's per-test times (docs/architecture.md, "Tests").

    bench/suite_time.py build/Testing/Temporary/CTestCostData.txt [NAME=SECONDS ...]

CTestCostData.txt has one line per test: its name (parameterised names contain spaces), the
number of runs, the seconds of the last. The tests that share the Slurm cluster (one
RESOURCE_LOCK, tests/CMakeLists.txt) run one after another; the rest share ctest's slots.
With -j2 the suite takes at least the larger of the Slurm chain and half the sum of all
tests (at 5baec04: 1314 s of bound for 1353 s measured). NAME=SECONDS replaces a test's
time, to see what a change to it would give.
"""
import sys

# The suites of the binaries with RESOURCE_LOCK slurm (tests/CMakeLists.txt): test_slurm,
# test_slurm_stages, test_hostile_slurm, test_submission_records and test_multinode. A ctest
# entry is a suite (`Slurm`) or, in runs before one entry per suite, a test (`Slurm.Name`).
SLURM_CHAIN = {'Slurm', 'SlurmStages', 'SlurmSplit', 'SlurmSplitPlan', 'SlurmSplitStandIn', 'SlurmRounds',
               'SlurmRoundsScript', 'SlurmSearch', 'SlurmSearchInput', 'SlurmSearchScript', 'HostileSlurm',
               'Values/HostileSlurmPath', 'TwoNodes', 'ReadOnly', 'SubmissionRecord', 'SubmissionRecordCli',
               'SubmissionRecordSlurm'}


def in_chain(name):
    return name.split('.')[0] in SLURM_CHAIN


def read_costs(path):
    costs = {}
    with open(path) as f:
        for line in f:
            if line.startswith('---'):  # the failed tests follow
                break
            parts = line.rstrip('\n').rsplit(None, 2)
            if len(parts) == 3:
                costs[parts[0]] = float(parts[2])
    return costs


def summary(costs, slots=2):
    chain = sum(s for name, s in costs.items() if in_chain(name))
    total = sum(costs.values())
    return {'tests': len(costs), 'total': total, 'chain': chain, 'bound': max(chain, total / slots)}


def main(argv):
    if len(argv) < 2:
        sys.exit(__doc__)
    costs = read_costs(argv[1])
    changed = dict(costs)
    for arg in argv[2:]:
        name, _, seconds = arg.rpartition('=')
        if name not in costs:
            sys.exit(f'suite_time: no test {name!r} in {argv[1]}')
        changed[name] = float(seconds)
    rows = [('as measured', summary(costs))] + ([('with the changes', summary(changed))] if argv[2:] else [])
    for label, s in rows:
        print(f"{label}: {s['tests']} tests, {s['total']:.0f} s in all, Slurm chain {s['chain']:.0f} s, "
              f"at least {s['bound']:.0f} s with -j2")
    print('slowest:')
    for name, s in sorted(changed.items(), key=lambda kv: -kv[1])[:10]:
        print(f'  {s:7.1f} s  {name[:100]}')


if __name__ == '__main__':
    main(sys.argv)
