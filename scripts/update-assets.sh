#!/usr/bin/env bash
# Vendor the U.S. Web Design System (USWDS) 3 into portal/static/vendor/uswds/.
#
# Usage (from anywhere; paths are resolved against the repository root):
#   scripts/update-assets.sh              # newest published 3.x release
#   USWDS_VERSION=3.14.0 scripts/update-assets.sh   # an exact 3.x release
#
# What it does:
#   1. `npm pack @uswds/uswds@<spec>` into a temporary directory (no install,
#      no lifecycle scripts, nothing written to the repository) and untars it.
#   2. Copies dist/css/uswds.min.css, dist/js/uswds.min.js and
#      dist/js/uswds-init.min.js, plus ONLY the image and font files that
#      uswds.min.css references through relative url(...) targets, keeping the
#      dist/ layout (css/, js/, img/, fonts/) so the CSS paths resolve.
#   3. Drops the trailing `sourceMappingURL` comments (the .map files are not
#      vendored, so those would be dead references), copies LICENSE.md and
#      writes README.md with the version, the tarball integrity and checksums.
#   4. Verifies that every url() in the vendored CSS resolves to a vendored
#      file, and prints the counts.
#
# Idempotent: the output depends only on the package version, so running it
# again for the same version leaves the tree byte-for-byte unchanged.
set -euo pipefail

MAJOR=3
SPEC="${USWDS_VERSION:-$MAJOR}"
case "$SPEC" in
  "$MAJOR" | "$MAJOR".*) ;;
  *)
    echo "update-assets: USWDS_VERSION must be $MAJOR or $MAJOR.x[.y] (got '$SPEC')" >&2
    exit 2
    ;;
esac

# Files under dist/ that templates reference directly from HTML (the CSS parse
# cannot see those), e.g. for the official .gov banner:
#   img/us_flag_small.png img/icon-dot-gov.svg img/icon-https.svg
# or img/sprite.svg for <svg class="usa-icon"><use href="...#name">.
# Empty until a template actually uses one.
EXTRA_ASSETS=()

REPO_ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
DEST_REL="portal/static/vendor/uswds"
DEST="$REPO_ROOT/$DEST_REL"

for tool in npm node tar; do
  command -v "$tool" >/dev/null 2>&1 || {
    echo "update-assets: '$tool' is required but not found on PATH" >&2
    exit 1
  }
done

WORK="$(mktemp -d "${TMPDIR:-/tmp}/uswds-assets.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT

echo "update-assets: fetching @uswds/uswds@$SPEC from the npm registry ..."
# --json gives us the exact file name, version and integrity of what was packed.
(cd "$WORK" && npm pack "@uswds/uswds@$SPEC" --json --ignore-scripts \
  --pack-destination "$WORK" --loglevel=error >"$WORK/pack.json")

read -r VERSION TARBALL INTEGRITY < <(node -e '
  const info = JSON.parse(require("fs").readFileSync(process.argv[1], "utf8"))[0];
  process.stdout.write([info.version, info.filename, info.integrity].join(" ") + "\n");
' "$WORK/pack.json")

case "$VERSION" in
  "$MAJOR".*) ;;
  *)
    echo "update-assets: expected a $MAJOR.x release, npm returned '$VERSION'" >&2
    exit 1
    ;;
esac

mkdir -p "$WORK/pkg"
tar -xzf "$WORK/$TARBALL" -C "$WORK/pkg"
PKG="$WORK/pkg/package"
DIST="$PKG/dist"

# Sanity-check what we got before touching the repository.
PKG_VERSION="$(node -p 'require(process.argv[1]).version' "$PKG/package.json")"
if [ "$PKG_VERSION" != "$VERSION" ]; then
  echo "update-assets: package.json says $PKG_VERSION, npm pack said $VERSION" >&2
  exit 1
fi
for f in css/uswds.min.css js/uswds.min.js js/uswds-init.min.js; do
  [ -f "$DIST/$f" ] || { echo "update-assets: $f missing from the package" >&2; exit 1; }
done
[ -f "$PKG/LICENSE.md" ] || { echo "update-assets: LICENSE.md missing from the package" >&2; exit 1; }

# Relative url() targets of a stylesheet, resolved against the stylesheet's own
# directory and printed relative to ROOT, one per line, de-duplicated and
# sorted. Skips url() with no target (USWDS uses `@supports (mask:url())`),
# data:, absolute (scheme:, //host, /path) and fragment-only (#id) targets.
# Fails if a target escapes ROOT. Prints "TOTAL <n>" (occurrences) on stderr.
list_css_urls() { # ROOT CSS_REL_PATH
  node - "$1" "$2" <<'NODE'
const fs = require("fs");
const path = require("path");
const [root, cssRel] = process.argv.slice(2);
const css = fs.readFileSync(path.join(root, cssRel), "utf8")
  .replace(/\/\*[\s\S]*?\*\//g, ""); // ignore comments
const re = /url\(\s*(?:"([^"]*)"|'([^']*)'|([^)'"]*?))\s*\)/gi;
const out = new Set();
let total = 0;
for (const m of css.matchAll(re)) {
  let target = (m[1] ?? m[2] ?? m[3] ?? "").trim();
  if (!target) continue;                               // url() in @supports
  if (/^(?:[a-z][a-z0-9+.-]*:|\/|#)/i.test(target)) continue; // data:, http:, /x, //x, #x
  target = target.split(/[?#]/)[0];                   // font ?#iefix etc.
  if (!target) continue;
  total++;
  const resolved = path.posix.normalize(
    path.posix.join(path.posix.dirname(cssRel), decodeURIComponent(target)));
  if (resolved.startsWith("../") || path.posix.isAbsolute(resolved)) {
    console.error(`update-assets: url(${target}) escapes the package dist/ tree`);
    process.exit(1);
  }
  out.add(resolved);
}
for (const p of [...out].sort()) console.log(p);
console.error(`TOTAL ${total}`);
NODE
}

# Stage the new tree next to the old one, then swap, so a failure half way
# never leaves a broken vendor directory behind.
STAGE="$WORK/uswds"
mkdir -p "$STAGE/css" "$STAGE/js"

strip_source_map() { # SRC DST  -- drop only a trailing sourceMappingURL comment line
  sed -E '/^(\/\*# sourceMappingURL=[^*]*\*\/|\/\/# sourceMappingURL=.*)$/d' "$1" >"$2"
}
strip_source_map "$DIST/css/uswds.min.css" "$STAGE/css/uswds.min.css"
strip_source_map "$DIST/js/uswds.min.js" "$STAGE/js/uswds.min.js"
strip_source_map "$DIST/js/uswds-init.min.js" "$STAGE/js/uswds-init.min.js"
cp "$PKG/LICENSE.md" "$STAGE/LICENSE.md"

list_css_urls "$DIST" css/uswds.min.css >"$WORK/assets.txt" 2>"$WORK/assets.err" || {
  cat "$WORK/assets.err" >&2
  exit 1
}
mapfile -t ASSETS <"$WORK/assets.txt"
N_IMG="$(printf '%s\n' "${ASSETS[@]}" | grep -c '^img/' || true)"
N_FONT="$(printf '%s\n' "${ASSETS[@]}" | grep -c '^fonts/' || true)"
ASSETS+=("${EXTRA_ASSETS[@]}")
for rel in "${ASSETS[@]}"; do
  case "$rel" in
    img/* | fonts/*) ;;
    *) echo "update-assets: unexpected asset location '$rel'" >&2; exit 1 ;;
  esac
  [ -f "$DIST/$rel" ] || { echo "update-assets: $rel is not in the package" >&2; exit 1; }
  mkdir -p "$STAGE/$(dirname "$rel")"
  cp "$DIST/$rel" "$STAGE/$rel"
done

# Checksums of everything vendored (stable order), recorded in the README.
CHECKSUMS="$(cd "$STAGE" && find . -type f ! -name README.md -print | LC_ALL=C sort | sed 's|^\./||' |
  xargs sha256sum)"
EXTRA_NOTE=""
if [ "${#EXTRA_ASSETS[@]}" -gt 0 ]; then
  EXTRA_NOTE=", plus the HTML-referenced file(s) listed in EXTRA_ASSETS in the script: ${EXTRA_ASSETS[*]}"
fi

cat >"$STAGE/README.md" <<EOF
# Vendored U.S. Web Design System (USWDS)

- Package: \`@uswds/uswds\` **$VERSION** (major version $MAJOR pinned)
- Source: the npm registry, \`npm pack @uswds/uswds@$SPEC\` (tarball \`$TARBALL\`)
- Tarball integrity: \`$INTEGRITY\`
- Licence: see [LICENSE.md](LICENSE.md) (copied unchanged from the package)

**Do not edit these files by hand.** Refresh them with \`make assets\`, which
runs \`scripts/update-assets.sh\` from the repository root (set
\`USWDS_VERSION=3.x.y\` to pin an exact 3.x release; the default is the newest
3.x). The script replaces this whole folder.

## What is here

Taken from the package's \`dist/\` folder, keeping its layout so the relative
\`url(...)\` paths in the stylesheet resolve:

- \`css/uswds.min.css\`
- \`js/uswds-init.min.js\` (load in \`<head>\`) and \`js/uswds.min.js\` (load at the end of \`<body>\`)
- only the $N_IMG image(s) under \`img/\` and $N_FONT font(s) under \`fonts/\` that
  \`uswds.min.css\` references through \`url(...)\`$EXTRA_NOTE; nothing else
  from the package.

The one change from upstream: the trailing \`sourceMappingURL\` comment is removed
from the three CSS/JS files, because the \`.map\` files are not vendored.

## SHA-256

\`\`\`
$CHECKSUMS
\`\`\`
EOF

# Verify the staged tree: every url() in the vendored CSS must resolve to a
# vendored file, and no vendored img/font may be unreferenced.
VERIFY_ERR="$WORK/verify.err"
list_css_urls "$STAGE" css/uswds.min.css >"$WORK/refs.txt" 2>"$VERIFY_ERR" || {
  cat "$VERIFY_ERR" >&2
  exit 1
}
mapfile -t REFS <"$WORK/refs.txt"
TOTAL_REFS="$(sed -n 's/^TOTAL //p' "$VERIFY_ERR")"
missing=0
for rel in "${REFS[@]}"; do
  if [ ! -f "$STAGE/$rel" ]; then
    echo "update-assets: MISSING $rel" >&2
    missing=$((missing + 1))
  fi
done
unused="$(comm -13 <(printf '%s\n' "${REFS[@]}" "${EXTRA_ASSETS[@]}" | LC_ALL=C sort -u) \
  <(cd "$STAGE" && find img fonts -type f 2>/dev/null | LC_ALL=C sort))"
if [ "$missing" -ne 0 ] || [ -n "$unused" ]; then
  [ -z "$unused" ] || printf 'update-assets: UNUSED %s\n' $unused >&2
  echo "update-assets: verification failed" >&2
  exit 1
fi

# Swap into place.
mkdir -p "$(dirname "$DEST")"
rm -rf "$DEST"
cp -R "$STAGE" "$DEST"

echo "update-assets: vendored @uswds/uswds $VERSION into $DEST_REL/"
echo "update-assets: $N_IMG image(s), $N_FONT font file(s) copied"
echo "update-assets: checked $TOTAL_REFS url() reference(s) ($((${#REFS[@]})) distinct file(s)) in css/uswds.min.css: all resolve"
