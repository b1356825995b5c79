#!/bin/sh
# out_of_tree.sh BUILD_DIR RUNNER - the SDK works out of the tree: install
# only the header, pkg-config file and template (cmake --install --component
# sdk) to a temporary prefix, build the template plugin with nothing but
# `pkg-config --cflags beck-connector`, check it references no Beck symbol,
# then run its source -> topic -> sink through a worker found via
# BECK_PLUGIN_PATH and compare the output.
set -eu
build=$1
runner=$2
tmp=$(mktemp -d "${TMPDIR:-/tmp}/beck-oot-XXXXXX")
trap 'rm -rf "$tmp"' EXIT
cmake --install "$build" --prefix "$tmp/prefix" --component sdk > /dev/null
pcdir=$(dirname "$(find "$tmp/prefix" -name beck-connector.pc)")
template=$(find "$tmp/prefix" -name template.c)
mkdir "$tmp/plugins"
cflags=$(PKG_CONFIG_PATH="$pcdir" pkg-config --cflags beck-connector)
case "$cflags" in *"$tmp/prefix"*) ;; *) echo "pkg-config points outside the install: $cflags"; exit 1 ;; esac
cc -std=c11 -Wall -Wextra -Werror -shared $cflags "$template" -o "$tmp/plugins/greetings.so"
if nm -D --undefined-only "$tmp/plugins/greetings.so" | grep -q beck; then
  echo "the plugin references Beck symbols:"; nm -D --undefined-only "$tmp/plugins/greetings.so"; exit 1
fi
cat > "$tmp/source.conf" <<CONF
name=greet
connector=template-source
topic=greetings
count=25
CONF
cat > "$tmp/sink.conf" <<CONF
name=print
connector=template-sink
topics=greetings
path=$tmp/out.txt
prefix=>> 
offset.flush.interval=50ms
CONF
BECK_PLUGIN_PATH="$tmp/plugins" "$runner" "$tmp/data" "$tmp/source.conf" "$tmp/sink.conf" 2> "$tmp/runner.log" &
pid=$!
i=0
while [ $i -lt 200 ]; do
  if [ -f "$tmp/out.txt" ] && [ "$(wc -l < "$tmp/out.txt")" -ge 25 ]; then break; fi
  sleep 0.05
  i=$((i + 1))
done
kill -TERM $pid
wait $pid || { cat "$tmp/runner.log"; exit 1; }
i=0
: > "$tmp/want.txt"
while [ $i -lt 25 ]; do echo ">> hello $i" >> "$tmp/want.txt"; i=$((i + 1)); done
if ! diff -u "$tmp/want.txt" "$tmp/out.txt"; then cat "$tmp/runner.log"; exit 1; fi
echo "out-of-tree plugin: built from the installed SDK, loaded, 25 records through it"
