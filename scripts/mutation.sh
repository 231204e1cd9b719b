#!/usr/bin/env bash
# Mutation testing of the ROS-free core with mutmut (docs/testing.md: scores, run times, equivalent mutants).
#
#   bash scripts/mutation.sh                      # every core module, one after the other (slow: hours)
#   bash scripts/mutation.sh fusion/tracking.py   # one module (paths relative to orpose_ros/)
#   bash scripts/mutation.sh fusion/tracking.py test/test_tracking.py test/test_pipeline.py  # own tests
#
# For each module it copies orpose_ros/, test/ and pytest.ini into a scratch folder under the cache
# (~/.cache/orpose_ros/mutation-work/<module>; mutmut writes its mutants/ there, not in the repository),
# mutates only that module and runs the module's fast, ROS-free tests (the table below) with the
# project's venv, one worker at a time and niced: the machines it runs on are shared. Mutants that mutmut
# reports as timeouts (for the FRESH modules: all it does not report killed) are run again in fresh processes
# (fresh_verdicts). It prints those verdicts, the survivors and a line `SCORE <module> detected/total (percent)`
# (killed by mutmut or in a fresh process); `mutmut show <name>` run inside the scratch folder (with the same
# PYTHONPATH) shows a mutant's diff.
# mutmut and its own dependencies live in ~/.cache/orpose_ros/mutation-<hash of requirements/mutation.txt>
# (installed on first use, ~20 s); override the cache folder with ORPOSE_CACHE_DIR, the worker count with
# MUTMUT_CHILDREN, and the limit of each fresh process with MUTATION_FRESH_TIMEOUT_S (default 600 s; a mutant
# that hangs costs all of it: 60 suits the modules whose tests take seconds, e.g. grouping's four hanging
# mutants). Not part of CI: too slow (see docs/testing.md).
set -euo pipefail

repo=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cache=${ORPOSE_CACHE_DIR:-${XDG_CACHE_HOME:-$HOME/.cache}/orpose_ros}
python=$repo/.venv/bin/python
log() { printf '[mutation] %s\n' "$*"; }
[ -x "$python" ] || { log "no .venv yet: run scripts/setup.sh first"; exit 1; }

# The core modules and the fast, ROS-free tests that should catch their mutants.
declare -A TESTS=(
    [fusion/tracking.py]="test/test_tracking.py"
    [fusion/smoothing.py]="test/test_smoothing.py"
    [fusion/association.py]="test/test_association.py"
    [fusion/robust.py]="test/test_robust.py test/test_association.py test/test_detections.py"
    [fusion/grouping.py]="test/test_grouping.py test/test_grouping_rules.py"
    [camera_people.py]="test/test_camera_people.py"
    [fusion/detections.py]="test/test_detections.py"
    [geometry/triangulation.py]="test/test_triangulation.py"
    [geometry/camera.py]="test/test_camera.py test/test_triangulation.py"
    [geometry/placement.py]="test/test_placement.py test/test_placement_batch.py test/test_placement_fit.py"
    [geometry/transforms.py]="test/test_transforms.py test/test_camera.py"
    [privacy.py]="test/test_privacy.py"
    [model/resample.py]="test/test_resample.py"
    [model/lifting.py]="test/test_lifting.py"
    [geometry/body_frame.py]="test/test_body_frame.py"
    [fusion/support.py]="test/test_support.py"
    [fusion/joint_output.py]="test/test_joint_output.py"
    [fusion/clocks.py]="test/test_clocks.py test/test_grouping.py"
    [geometry/body_model.py]="test/test_body_model.py test/test_placement.py"
    [ros/pose_messages.py]="test/test_message_builders.py"
    [ros/tf_messages.py]="test/test_tf_messages.py"
    [ros/zone_messages.py]="test/test_zone_messages.py"
    [zones.py]="test/test_zones.py"
    [fusion/motion.py]="test/test_stream_motion.py test/test_camera_people.py"
    [fusion/stream.py]="test/test_stream.py test/test_stream_motion.py test/test_support.py test/test_joint_output.py test/test_fusion_floor.py"
    [fusion/pipeline.py]="test/test_pipeline.py test/test_rays_through_people.py test/test_stream.py test/test_stream_motion.py test/test_fusion_floor.py test/test_support.py test/test_joint_output.py"
    [camera_pipeline.py]="test/test_camera_pipeline.py"
)
# Modules whose every mutant that mutmut does not report killed is run again in a fresh process (fresh_verdicts):
# their tests run torch, whose verdicts under mutmut's forked runner this script does not take on trust.
declare -A FRESH=(
    [model/lifting.py]=1
    [model/resample.py]=1
)
# Marker expression of each module's tests (default: not ros). The message builders' tests build ROS messages
# (no DDS, no processes): run them in a shell where `. scripts/env.sh` put orpose_msgs on the path.
declare -A MARKS=(
    [ros/pose_messages.py]="ros"
    [ros/tf_messages.py]="ros"
    [ros/zone_messages.py]="ros"
)
CORE=(fusion/tracking.py fusion/smoothing.py geometry/triangulation.py fusion/association.py geometry/camera.py
    geometry/placement.py fusion/grouping.py fusion/robust.py camera_people.py fusion/detections.py
    geometry/transforms.py privacy.py model/resample.py model/lifting.py geometry/body_frame.py fusion/support.py
    fusion/joint_output.py fusion/clocks.py geometry/body_model.py zones.py fusion/motion.py fusion/stream.py
    fusion/pipeline.py camera_pipeline.py)

tools=$cache/mutation-$(sha256sum "$repo/requirements/mutation.txt" | cut -c1-12)
if [ ! -f "$tools/.complete" ]; then
    log "installing mutmut into $tools"
    rm -rf "$tools"
    # --no-deps: pytest, click and coverage must stay the venv's (a second pytest would shadow it).
    "$python" -m pip install -q --no-deps --target "$tools" -r "$repo/requirements/mutation.txt" 2>&1 |
        grep -v 'is ignored: it is neither a file nor a directory' || true
    touch "$tools/.complete"
fi
# The ROS wheels' bootstrapper re-executes Python with this set; the tests here need no ROS.
unset _ROS_WHEELS_BOOTSTRAP_COMPLETE
export ORPOSE_SHARED_DIR=${ORPOSE_SHARED_DIR:-$(cd "$repo/.." && pwd)/shared}
# Keep the message packages that `. scripts/env.sh` put on PYTHONPATH (the message builders' tests import them),
# but no installed or built copy of orpose_ros: the tests must import the mutated one.
message_paths=
IFS=: read -r -a entries <<< "${PYTHONPATH:-}"
for entry in "${entries[@]}"; do
    [ -n "$entry" ] && [ ! -e "$entry/orpose_ros" ] && [ "$(basename "$entry")" != orpose_ros ] &&
        message_paths=$message_paths:$entry
done
export PYTHONPATH=$tools$message_paths
# numba's compiled functions run as plain Python, which mutmut can mutate (geometry/triangulation.py).
export NUMBA_DISABLE_JIT=1
mutmut() { nice -n 10 "$python" -c 'import sys; from mutmut.__main__ import cli; sys.exit(cli())' "$@"; }

# A pytest plugin that the tests of every mutant load (-p mutmut_fork_threads). mutmut runs each mutant in a
# process forked from one that has already run the tests, and torch's OpenMP thread pool does not survive a
# fork: the first parallel torch operation in the child waits forever for threads that only the parent has
# (test_lifting.py and test_resample.py ask for 2 threads, so OMP_NUM_THREADS does not help), and mutmut
# reports a timeout whatever the mutant. One torch thread in the child runs without the pool.
write_fork_threads_plugin() {  # FILE
    cat > "$1" <<'PLUGIN'
"""pytest plugin of scripts/mutation.sh: one torch thread in each process forked from this one."""

import os
import sys


def _one_torch_thread() -> None:
    torch = sys.modules.get("torch")
    if torch is not None:
        torch.set_num_threads(1)


os.register_at_fork(after_in_child=_one_torch_thread)
PLUGIN
}

# Run again, each in a fresh Python process with MUTANT_UNDER_TEST set, every mutant that mutmut reported as a
# timeout and, for the modules of FRESH, every mutant that mutmut did not report killed: a verdict that comes
# from a fork of mutmut's process (a timeout above all) is not taken as evidence for them. In results.txt the
# status becomes fresh-killed (pytest failed: exit code 1), fresh-timeout (`timeout` stopped a real hang),
# fresh-survived (passed) or fresh-error-<exit code> (not counted as detected); each verdict is printed.
fresh_verdicts() {  # WORK MODULE TEST...
    local work=$1 module=$2
    shift 2
    local name status rc limit=${MUTATION_FRESH_TIMEOUT_S:-600} statuses='timeout' names
    [ -n "${FRESH[$module]:-}" ] && statuses='[a-z ]+'
    mapfile -t names < <(grep -E "^ *[^ ]+: ($statuses)\$" "$work/results.txt" | grep -v ': killed$' |
        sed 's/^ *//; s/: .*//')
    fresh_pytest() {  # MUTANT_NAME: exit code of the module's tests in a fresh process with that mutant active
        (cd "$work/mutants" && MUTANT_UNDER_TEST=$1 timeout "$limit" nice -n 10 "$python" -m pytest -x -q \
            -p no:cacheprovider -p mutmut_fork_threads -m "${MARKS[$module]:-not ros}" "${tests[@]}" \
            > "$work/fresh.$1.log" 2>&1)
    }
    local tests=("$@")
    [ ${#names[@]} -gt 0 ] || return 0
    # The mechanism itself: with a mutant name that does not exist (the clean code) the tests must pass.
    fresh_pytest no-such-mutant || { log "the clean code fails in a fresh process: see $work/fresh.no-such-mutant.log"
        return 1; }
    for name in "${names[@]}"; do
        rc=0
        fresh_pytest "$name" || rc=$?
        case $rc in
            0) status=fresh-survived ;;
            1) status=fresh-killed ;;
            124) status=fresh-timeout ;;
            *) status=fresh-error-$rc ;;
        esac
        log "fresh process: $name: $status (mutmut: $(grep -F "$name:" "$work/results.txt" | sed 's/.*: //'))"
        sed -i "s/^\( *\)$name: .*/\1$name: $status/" "$work/results.txt"
    done
}

run_module() {  # MODULE [TEST...]
    local module=$1 work
    shift
    local tests=("$@")
    [ ${#tests[@]} -gt 0 ] || read -r -a tests <<< "${TESTS[$module]:-}"
    [ ${#tests[@]} -gt 0 ] || { log "no tests known for $module: name them"; return 2; }
    [ -f "$repo/orpose_ros/$module" ] || { log "no module orpose_ros/$module"; return 2; }
    work=$cache/mutation-work/${module//\//.}
    rm -rf "$work" && mkdir -p "$work"
    cp -r "$repo/orpose_ros" "$repo/test" "$repo/pytest.ini" "$repo/package.xml" "$repo/config" "$work/"  # tests read these
    find "$work" -name __pycache__ -prune -exec rm -rf {} +
    {
        echo "[mutmut]"
        echo "source_paths = orpose_ros"
        echo "only_mutate = orpose_ros/$module"
        printf 'also_copy =\n    pytest.ini\n    package.xml\n    config\n    mutmut_fork_threads.py\n'
        echo "pytest_add_cli_args_test_selection ="
        printf '    %s\n' "${tests[@]}"
        printf 'pytest_add_cli_args =\n    -m\n    %s\n    -p\n    no:cacheprovider\n    -p\n    mutmut_fork_threads\n' \
            "${MARKS[$module]:-not ros}"
        echo "max_stack_depth = -1"
        echo "use_git_change_detection = false"
    } > "$work/setup.cfg"
    write_fork_threads_plugin "$work/mutmut_fork_threads.py"
    log "$module against ${tests[*]} (in $work)"
    local start=$SECONDS
    (cd "$work" && mutmut run --max-children "${MUTMUT_CHILDREN:-1}" > run.log 2>&1) || {
        tail -30 "$work/run.log"; log "mutmut failed on $module"; return 1; }
    (cd "$work" && mutmut results --all true > results.txt)
    fresh_verdicts "$work" "$module" "${tests[@]}"
    grep -v ': killed$' "$work/results.txt" | grep ': ' || true
    # Detected: killed by mutmut, or failed in a fresh process (fresh-killed; fresh-timeout: a real hang that
    # `timeout` stopped). A timeout of mutmut's own is not counted: fresh_verdicts replaced each of them.
    local total detected
    total=$(grep -c ': ' "$work/results.txt" || true)
    detected=$(grep -cE ': (killed|fresh-killed|fresh-timeout)$' "$work/results.txt" || true)
    echo "SCORE orpose_ros/$module $detected/$total ($(( total ? 100 * detected / total : 0 )) %) detected" \
        "in $(( SECONDS - start )) s"
}

if [ $# -eq 0 ]; then
    for module in "${CORE[@]}"; do run_module "$module"; done
else
    run_module "$@"
fi
