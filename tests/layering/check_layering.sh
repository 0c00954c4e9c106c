#!/usr/bin/env bash
# The layering rule (docs/ARCHITECTURE.md): a folder includes only from the
# folders before it in base -> supervision -> actors -> protocol -> cluster ->
# observability -> cli. Prints every include that breaks it; exits 1 if any.
set -euo pipefail
root=${1:-$(cd "$(dirname "$0")/../.." && pwd)}
order=(base supervision actors protocol cluster observability cli)
rank() { local i; for i in "${!order[@]}"; do [[ ${order[$i]} == "$1" ]] && { echo "$i"; return; }; done; echo -1; }
bad=0
for dir in "${order[@]}"; do
  mine=$(rank "$dir")
  while IFS=: read -r file line text; do
    target=$(sed -E 's/.*#include "([a-z_]+)\/.*/\1/' <<<"$text")
    theirs=$(rank "$target")
    [[ $theirs -lt 0 ]] && continue   # not one of ours (e.g. a system header)
    if (( theirs > mine )); then
      echo "$file:$line: $dir/ includes $target/ (only folders before it are allowed): $text"
      bad=1
    fi
  done < <(grep -rnE '^#include "[a-z_]+/' "$root/$dir" --include='*.hpp' --include='*.cpp' | sed "s#^$root/##")
done
if (( bad )); then exit 1; fi
echo "layering: every include runs from a folder to one before it"
