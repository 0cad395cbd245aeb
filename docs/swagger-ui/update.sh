#!/usr/bin/env bash
# Vendors Swagger UI for the /docs page from the npm registry:
#
#   docs/swagger-ui/update.sh 5.35.0
#
# The binary must serve the page with no request to a CDN, so the two files
# the page needs are committed here, gzip-compressed (about a third of their
# size, which is what they add to the binary; browsers get them as is, with
# Content-Encoding: gzip). The source-map comments are dropped: the maps are
# not shipped, and a browser's developer tools would ask for them.
# npm checks the package against the registry's integrity hash.
set -euo pipefail

version=${1:?usage: $0 VERSION (see: npm view swagger-ui-dist version)}
here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

(cd "$tmp" && npm pack --silent "swagger-ui-dist@$version" >/dev/null && tar xzf "swagger-ui-dist-$version.tgz")
pkg="$tmp/package"

for f in swagger-ui-bundle.js swagger-ui.css; do
	# -n: no file name or time stamp in the header, so the output is reproducible.
	grep -v -E '^(//# sourceMappingURL=|/\*# sourceMappingURL=)' "$pkg/$f" | gzip -9 -n >"$here/$f.gz"
done
cp "$pkg/LICENSE" "$here/LICENSE"
cp "$pkg/NOTICE" "$here/NOTICE"
cp "$pkg/swagger-ui-bundle.js.LICENSE.txt" "$here/swagger-ui-bundle.js.LICENSE.txt"
echo "$version" >"$here/VERSION"
ls -l "$here"
