# bash completion for `beck`.
#
# Install: source this file from ~/.bashrc, or copy it to
# /usr/share/bash-completion/completions/beck (or
# ~/.local/share/bash-completion/completions/beck).
#
# Completes commands, subcommands and options, option values with a fixed
# set (--output, --compression, --acks, --from, --to), file names, and topic
# and group names, which it asks the cluster for (`beck topic list -q`,
# `beck group list -q`) with the --bootstrap given on the line, else
# $BECK_BOOTSTRAP, else 127.0.0.1:9092; a cluster that does not answer
# within 2 s completes nothing. Connector names come from
# `beck connector list -q`. Needs nothing but bash.

_beck_common_opts="--bootstrap -b --output --json --timeout --property -X --help -h"

# The options of "COMMAND SUBCOMMAND" (or "COMMAND").
_beck_opts_for() {
  case "$1" in
  "broker") echo "--config --data-dir --listen --advertise --help -h" ;;
  "topic create") echo "--partitions -p --replicas -r --config -c --dry-run" ;;
  "topic list") echo "--quiet -q --all -a" ;;
  "topic describe") echo "--summary --configs --partitions" ;;
  "topic alter") echo "--config -c --set --delete --dry-run" ;;
  "topic delete") echo "" ;;
  "topic add-partitions") echo "--to --add -n --dry-run" ;;
  "produce") echo "--file -f --key -k --key-separator -K --header -H --partition -p --compression -z --acks --quiet -q" ;;
  "consume") echo "--group -g --from -o --offset --count -n --format -f --partition -p --exit-at-end -e" ;;
  "group list") echo "--quiet -q" ;;
  "group describe") echo "--topic -t" ;;
  "group reset") echo "--topic -t --all-topics --partition -p --to --dry-run" ;;
  "group delete") echo "" ;;
  "cluster info") echo "--api-versions" ;;
  "connector list") echo "--quiet -q --plugin-path --output --json --help -h" ;;
  "connector describe") echo "--no-worker-options --plugin-path --output --json --help -h" ;;
  esac
}

# The --bootstrap / -b value on the command line, as arguments for beck.
_beck_bootstrap_args() {
  local i
  for ((i = 1; i < ${#COMP_WORDS[@]} - 1; i++)); do
    case "${COMP_WORDS[i]}" in
    -b | --bootstrap) echo "--bootstrap ${COMP_WORDS[i + 1]}"; return ;;
    --bootstrap=*) echo "${COMP_WORDS[i]}"; return ;;
    esac
  done
}

_beck_topics() {
  # shellcheck disable=SC2046
  "${COMP_WORDS[0]}" topic list -q $(_beck_bootstrap_args) --timeout 2s 2>/dev/null
}

_beck_groups() {
  # shellcheck disable=SC2046
  "${COMP_WORDS[0]}" group list -q $(_beck_bootstrap_args) --timeout 2s 2>/dev/null
}

# COMPREPLY = the words of $1 that start with $cur (one per line, so no
# globbing or word splitting of the candidates).
_beck_reply() {
  mapfile -t COMPREPLY < <(compgen -W "$1" -- "$cur")
}

_beck_files() {
  compopt -o filenames 2>/dev/null
  mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

_beck() {
  local cur="${COMP_WORDS[COMP_CWORD]}"
  local prev="${COMP_WORDS[COMP_CWORD - 1]}"
  local cmd="${COMP_WORDS[1]}" sub="" key
  COMPREPLY=()

  if ((COMP_CWORD == 1)); then
    _beck_reply "broker topic produce consume group cluster connector help --help --version"
    return
  fi
  case "$cmd" in
  topic | group | cluster | connector)
    sub="${COMP_WORDS[2]}"
    if ((COMP_CWORD == 2)); then
      case "$cmd" in
      topic) _beck_reply "create list describe alter delete add-partitions" ;;
      group) _beck_reply "list describe reset delete" ;;
      cluster) _beck_reply "info" ;;
      connector) _beck_reply "list describe" ;;
      esac
      return
    fi
    key="$cmd $sub"
    ;;
  *) key="$cmd" ;;
  esac

  # the value of the option before the cursor
  case "$prev" in
  --output) _beck_reply "table json"; return ;;
  -z | --compression) _beck_reply "none gzip snappy lz4 zstd"; return ;;
  --acks) _beck_reply "all 1 0"; return ;;
  -o | --from | --offset) _beck_reply "beginning end"; return ;;
  --to)
    [[ "$key" == "group reset" ]] && _beck_reply "earliest latest"
    return
    ;;
  --plugin-path)
    _beck_files
    return
    ;;
  --config | --data-dir)
    if [[ "$key" == "broker" ]]; then
      _beck_files
    fi
    return
    ;;
  -f | --file)
    [[ "$key" == "produce" ]] && _beck_files
    return
    ;;
  -t | --topic) _beck_reply "$(_beck_topics)"; return ;;
  -g | --group) _beck_reply "$(_beck_groups)"; return ;;
  -b | --bootstrap | --timeout | -X | --property | -p | --partitions | -r | --replicas | -c | --set | \
    --delete | -n | --add | --count | -k | --key | -K | --key-separator | -H | --header | --partition | \
    --format | --listen | --advertise)
    return
    ;;
  esac

  if [[ "$cur" == -* ]]; then
    local opts
    opts="$(_beck_opts_for "$key")"
    [[ "$key" != "broker" && "$cmd" != "connector" ]] && opts="$opts $_beck_common_opts"
    _beck_reply "$opts"
    return
  fi

  # positional arguments
  case "$key" in
  "topic describe" | "topic alter" | "topic delete" | "topic add-partitions" | produce | consume)
    _beck_reply "$(_beck_topics)"
    ;;
  "group describe" | "group reset" | "group delete")
    _beck_reply "$(_beck_groups)"
    ;;
  "connector describe")
    _beck_reply "$("${COMP_WORDS[0]}" connector list -q 2>/dev/null)"
    ;;
  esac
}

complete -F _beck beck
