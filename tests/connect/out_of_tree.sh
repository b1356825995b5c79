#!/bin/sh
# out_of_tree.sh BUILD_DIR RUNNER [GUIDE] - the SDK works out of the tree:
# install only the header, pkg-config file and template (cmake --install
# --component sdk) to a temporary prefix, build the template plugin with
# nothing but `pkg-config --cflags beck-connector`, check it references no
# Beck symbol, then run its source -> topic -> sink through a worker found
# via BECK_PLUGIN_PATH and compare the output. With GUIDE (docs/connectors.md)
# the first C example of the guide is built the same way and reads the
# topic too.
set -eu
build=$1
runner=$2
guide=${3:-}
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
configs="$tmp/source.conf $tmp/sink.conf"
if [ -n "$guide" ]; then
  awk '/^```c$/ { f = 1; next } /^```$/ { if (f) exit } f' "$guide" > "$tmp/lines.c"
  cc -std=c11 -Wall -Wextra -Werror -shared $cflags "$tmp/lines.c" -o "$tmp/plugins/lines.so"
  cat > "$tmp/lines.conf" <<CONF
name=guide
connector=lines-sink
topics=greetings
path=$tmp/lines.txt
offset.flush.interval=50ms
CONF
  configs="$configs $tmp/lines.conf"
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
# shellcheck disable=SC2086
BECK_PLUGIN_PATH="$tmp/plugins" "$runner" "$tmp/data" $configs 2> "$tmp/runner.log" &
pid=$!
i=0
while [ $i -lt 200 ]; do
  if [ -f "$tmp/out.txt" ] && [ "$(wc -l < "$tmp/out.txt")" -ge 25 ] &&
    { [ -z "$guide" ] || { [ -f "$tmp/lines.txt" ] && [ "$(wc -l < "$tmp/lines.txt")" -ge 25 ]; }; }; then break; fi
  sleep 0.05
  i=$((i + 1))
done
kill -TERM $pid
wait $pid || { cat "$tmp/runner.log"; exit 1; }
i=0
: > "$tmp/want.txt"
while [ $i -lt 25 ]; do echo ">> hello $i" >> "$tmp/want.txt"; i=$((i + 1)); done
if ! diff -u "$tmp/want.txt" "$tmp/out.txt"; then cat "$tmp/runner.log"; exit 1; fi
if [ -n "$guide" ]; then
  sed 's/^>> //' "$tmp/want.txt" > "$tmp/want_lines.txt"
  if ! diff -u "$tmp/want_lines.txt" "$tmp/lines.txt"; then cat "$tmp/runner.log"; exit 1; fi
  echo "the guide's example plugin: built from the installed SDK, 25 records through it"
fi
echo "out-of-tree plugin: built from the installed SDK, loaded, 25 records through it"
