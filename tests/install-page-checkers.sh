#!/usr/bin/env bash
# Installs the two page checkers the accessibility browser test drives, from the npm
# registry, into .tools/ (git-ignored): axe-core (WCAG rules, run inside Chromium) and
# vnu-jar (the Nu Html Checker, run with Java). Exact versions, pinned here only. Once they
# are in place the script touches no network, so later runs work offline.
set -euo pipefail
cd "$(dirname "$0")/.."

AXE_CORE_VERSION=4.14.1
VNU_JAR_VERSION=26.9.27
TOOLS=.tools
MODULES="$TOOLS/node_modules"
STAMP="$TOOLS/installed-axe-core-$AXE_CORE_VERSION-vnu-jar-$VNU_JAR_VERSION"

# Two test processes may ask at once (the page walk and the header menus' axe check under
# xdist): the second waits for the first instead of swapping the folder under it.
exec 9>"$TOOLS.lock"
flock 9

if [ -f "$STAMP" ] && [ -f "$MODULES/axe-core/axe.min.js" ] \
    && [ -f "$MODULES/vnu-jar/build/dist/vnu.jar" ]; then
  exit 0
fi

echo "Installing axe-core $AXE_CORE_VERSION and vnu-jar $VNU_JAR_VERSION into $TOOLS/ (npm registry)..."
# Into a fresh folder beside the old one, swapped in only when complete: a failed download
# (offline, say) leaves the previous install as it was.
NEW="$TOOLS.new"
rm -rf "$NEW"
mkdir -p "$NEW/node_modules"
if command -v npm >/dev/null 2>&1; then
  # --ignore-scripts: neither package needs an install script, and vnu-jar's would look
  # for a Java download of its own; Java comes from the machine.
  npm install --prefix "$NEW" --no-audit --no-fund --no-save --no-package-lock \
    --ignore-scripts --loglevel=error \
    "axe-core@$AXE_CORE_VERSION" "vnu-jar@$VNU_JAR_VERSION" >/dev/null
else
  # Without npm, the same tarballs straight from the registry.
  registry="$(printf '%s' "${NPM_CONFIG_REGISTRY:-https://registry.npmjs.org}" | sed 's:/*$::')"
  for package in "axe-core@$AXE_CORE_VERSION" "vnu-jar@$VNU_JAR_VERSION"; do
    name="${package%@*}" version="${package#*@}"
    mkdir -p "$NEW/node_modules/$name"
    curl --fail --silent --show-error --location \
      "$registry/$name/-/$name-$version.tgz" \
      | tar -xz -C "$NEW/node_modules/$name" --strip-components=1
  done
fi

for needed in axe-core/axe.min.js vnu-jar/build/dist/vnu.jar; do
  if [ ! -f "$NEW/node_modules/$needed" ]; then
    echo "FAILED: $needed is missing after the install" >&2
    exit 1
  fi
done
touch "$NEW/$(basename "$STAMP")"
rm -rf "$TOOLS"
mv "$NEW" "$TOOLS"
