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
# project's venv, one worker at a time and niced: the machines it runs on are shared. It prints the
# survivors and a line `SCORE <module> detected/total (percent)` (killed or timed out); `mutmut show
# <name>` run inside the scratch folder (with the same PYTHONPATH) shows a mutant's diff.
# mutmut and its own dependencies live in ~/.cache/orpose_ros/mutation-<hash of requirements/mutation.txt>
# (installed on first use, ~20 s); override the cache folder with ORPOSE_CACHE_DIR, the worker count with
# MUTMUT_CHILDREN. Not part of CI: too slow (see docs/testing.md).
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
    [fusion/robust.py]="test/test_association.py test/test_triangulation.py"
    [fusion/grouping.py]="test/test_grouping.py test/test_grouping_rules.py"
    [camera_people.py]="test/test_camera_people.py"
    [fusion/detections.py]="test/test_detections.py"
    [geometry/triangulation.py]="test/test_triangulation.py"
    [geometry/camera.py]="test/test_camera.py test/test_triangulation.py"
    [geometry/placement.py]="test/test_placement.py"
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
    [fusion/pipeline.py]="test/test_pipeline.py test/test_stream.py test/test_stream_motion.py test/test_fusion_floor.py test/test_support.py test/test_joint_output.py"
    [camera_pipeline.py]="test/test_camera_pipeline.py"
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
mutmut() { nice -n 10 "$python" -c 'import sys; from mutmut.__main__ import cli; sys.exit(cli())' "$@"; }

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
        printf 'also_copy =\n    pytest.ini\n    package.xml\n    config\n'
        echo "pytest_add_cli_args_test_selection ="
        printf '    %s\n' "${tests[@]}"
        printf 'pytest_add_cli_args =\n    -m\n    %s\n    -p\n    no:cacheprovider\n' "${MARKS[$module]:-not ros}"
        echo "max_stack_depth = -1"
        echo "use_git_change_detection = false"
    } > "$work/setup.cfg"
    log "$module against ${tests[*]} (in $work)"
    local start=$SECONDS
    (cd "$work" && mutmut run --max-children "${MUTMUT_CHILDREN:-1}" > run.log 2>&1) || {
        tail -30 "$work/run.log"; log "mutmut failed on $module"; return 1; }
    (cd "$work" && mutmut results --all true > results.txt)
    grep -v ': killed$' "$work/results.txt" | grep ': ' || true
    # A mutant that makes a test hang (timeout) is detected too: the suite's pytest-timeout fails it.
    local total detected
    total=$(grep -c ': ' "$work/results.txt" || true)
    detected=$(grep -cE ': (killed|timeout)$' "$work/results.txt" || true)
    echo "SCORE orpose_ros/$module $detected/$total ($(( total ? 100 * detected / total : 0 )) %) detected" \
        "in $(( SECONDS - start )) s"
}

if [ $# -eq 0 ]; then
    for module in "${CORE[@]}"; do run_module "$module"; done
else
    run_module "$@"
fi
