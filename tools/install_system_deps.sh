#!/usr/bin/env bash
# Install the Debian packages that the data generators and tests need.
#   espeak-ng            Mandarin speech synthesis (voice cmn-latn-pinyin)
#   gcin-voice           real recorded Mandarin syllables (two speakers, Ogg)
#   fluidsynth           MIDI -> audio for the music stems
#   timgm6mb-soundfont   the General MIDI soundfont fluidsynth renders with
#   libsndfile1          soundfile's backend
#   fortunes-zh manpages-zh
#                        natural Chinese text (sayings, Tang/Song poems, man pages) for the generated
#                        corpora (dtssvd/synth/natural_text.py)
#   drascula-music hyperrogue-music singularity-music warzone2100-music
#                        real recorded game soundtracks (Ogg Vorbis/Opus, ~237 MB download) for the
#                        MUSDB-like corpus (dtssvd/synth/recorded_music.py, MUSIC_SOURCES.md there);
#                        never the wesnoth music packages (reserved for an independent evaluation)
#   chromium             the headless browser of the `jrsv serve` page test (Playwright)
#   fonts-wqy-microhei   a CJK font, so that the browser draws Chinese captions
set -euo pipefail
pkgs=(espeak-ng gcin-voice fluidsynth timgm6mb-soundfont libsndfile1 fortunes-zh manpages-zh
      drascula-music hyperrogue-music singularity-music warzone2100-music chromium fonts-wqy-microhei)
missing=()
for p in "${pkgs[@]}"; do
  dpkg -s "$p" >/dev/null 2>&1 || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0
if [ "$(id -u)" -ne 0 ]; then
  echo "error: missing Debian packages: ${missing[*]}; run as root or: sudo apt-get install ${missing[*]}" >&2
  exit 1
fi
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
