# Sourced by run_sanitized.sh and run_emulated.sh. build_package OPTION... builds pycnn's extensions with these
# CMake options into $build (set by the caller, as are $root and $python) and makes $pkg = $build/pkg, a copy of
# the Python sources without extensions, for the caller to copy the ones it wants beside and run pytest in.
build_package() {
  local version generator=()
  version=$(sed -n 's/^__version__ = "\(.*\)"/\1/p' "$root/pycnn/_version.py")
  if command -v ninja > /dev/null; then generator=(-G Ninja); fi
  cmake -S "$root" -B "$build" "${generator[@]}" -DCMAKE_BUILD_TYPE=Release "$@" \
        -Dpybind11_DIR="$("$python" -m pybind11 --cmakedir)" -DSKBUILD_PROJECT_VERSION="$version" > /dev/null
  cmake --build "$build" --parallel

  pkg=$build/pkg
  rm -rf "$pkg"
  mkdir -p "$pkg"
  cp -r "$root/pycnn" "$pkg/"
  find "$pkg" \( -name '*.so' -o -name __pycache__ \) -prune -exec rm -rf {} +
}
