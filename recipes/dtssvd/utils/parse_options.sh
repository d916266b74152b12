#!/usr/bin/env bash
# Kaldi-style option parsing: --name value sets the shell variable $name (dashes -> underscores),
# but only for variables the calling script has already defined. --help prints the script header.
while [ $# -gt 0 ]; do
  case "$1" in
    --help|-h)
      sed -n '2,/^set -euo/p' "$0" | sed '$d' | sed 's/^# \{0,1\}//'
      exit 0 ;;
    --*=*)
      name=${1%%=*}; name=${name#--}; name=${name//-/_}; value=${1#*=}; shift ;;
    --*)
      name=${1#--}; name=${name//-/_}
      if [ $# -lt 2 ]; then echo "$0: option --${name//_/-} needs a value" >&2; exit 1; fi
      value=$2; shift 2 ;;
    *) echo "$0: unexpected argument '$1' (options are --name value)" >&2; exit 1 ;;
  esac
  if [ -z "${!name+set}" ]; then
    echo "$0: unknown option --${name//_/-}" >&2; exit 1
  fi
  printf -v "$name" '%s' "$value"
done
