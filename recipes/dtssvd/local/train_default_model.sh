#!/usr/bin/env bash
# Trains the bundled default model (jrsv/pretrained/default, JRSV-f-d) and the baselines it is compared
# with (direct recognition and the cascade), on the generated `large` corpora, with the tiny configs
# and longer budgets than `make recipe-mini`; then scores them on the held-out test set (stage 5-6),
# packages JRSV-f-d with its model card and calibrates its confidence gate.
#
#   local/train_default_model.sh [--preset large] [--data data_large] [--exp exp_large]
#                                [--mtass-from DIR] [--asr-minutes M] [--jrsv-minutes M]
#                                [--notes FILE] [--out ../../jrsv/pretrained/default]
#
# Budgets: steps (ASR-multi 2400, MTASS + L_dis + L_cst 750, JRSV-f and JRSV-f-d 400 each) and,
# when given, wall-clock minutes per run (train.max_minutes; a rerun resumes and gets a new budget).
# --mtass-from takes a separator trained elsewhere (the session-6 default: `conf/mtass_small.yaml`
# on a GPU lease, see its model card) instead of training the tiny one. JRSV-f/-f-d are
# warm-started from ASR-multi (model.asr_init; the 513-dim input layer is new). Every step is
# resumable: re-running continues where a killed run stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=large          # natural-text corpora with 350 voices (dtssvd/synth/config.py)
data=data_large
exp=exp_large
asr_steps=2400        # ASR-multi (clean fbank) step budget
mtass_steps=750       # MTASS + L_dis + L_cst
jrsv_steps=400        # JRSV-f and JRSV-f-d each
asr_minutes=0         # wall-clock budget of one ASR-multi run (0 = none)
jrsv_minutes=0        # wall-clock budget of one JRSV run (0 = none)
mtass_from=""         # a trained separator model dir (with final/) to use instead of stage 3
notes=""              # markdown for the model card's "How it was trained"
out=../../jrsv/pretrained/default
python=${PYTHON:-python}
. ./utils/parse_options.sh

run() { PYTHON=$python ./run.sh --config tiny --corpus generated --preset "$preset" \
  --data "$data" --exp "$exp" "$@"; }
run --stage 0 --stop-stage 1
run --stage 2 --stop-stage 2 --only asr_multi \
  --override "train.max_steps=$asr_steps train.max_minutes=$asr_minutes"
if [ -n "$mtass_from" ]; then
  [ -d "$mtass_from/final" ] || { echo "train_default_model.sh: $mtass_from/final: no trained separator there" >&2; exit 2; }
  [ -e "$exp/mtass_dis_cst" ] || cp -r "$mtass_from" "$exp/mtass_dis_cst"
else
  run --stage 3 --stop-stage 3 --only mtass_dis_cst --override "train.max_steps=$mtass_steps"
fi
run --stage 4 --stop-stage 4 --only "jrsv_f jrsv_fd" \
  --override "train.max_steps=$jrsv_steps train.max_minutes=$jrsv_minutes model.asr_init=$exp/asr_multi data.preload=false"
run --stage 5 --stop-stage 6 --beam-size 10
$python local/package_model.py --exp "$exp" --data "$data" --system jrsv_fd --out "$out" --half \
  --made-by "cd recipes/dtssvd && local/train_default_model.sh" ${notes:+--notes "$notes"}
# the decoder's confidence gate, chosen on a dev-split stream (written into $out/config.yaml)
$python -m jrsv.bin.main calibrate --model "$out" --corpora "$data/corpora" --write --out "$exp/calibrate"
