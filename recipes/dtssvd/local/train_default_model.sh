#!/usr/bin/env bash
# Trains the bundled default model (jrsv/pretrained/default, JRSV-f-d) and the baselines it is compared
# with (direct recognition and the cascade), on the generated `base` corpora (4x the sentences
# and voices of `mini`), with the tiny configs and longer step budgets than `make recipe-mini`;
# then scores them on the held-out test set (stage 5-6) and packages JRSV-f-d with its model card.
#
#   local/train_default_model.sh [--preset base] [--data data_base] [--exp exp_base]
#                                [--out ../../jrsv/pretrained/default]
#
# Budgets (2 CPU cores, about 80 min in all): ASR-multi 2400 steps, MTASS (+L_dis+L_cst) 750
# steps, JRSV-f and JRSV-f-d 400 steps each, warm-started from ASR-multi (model.asr_init; the
# 513-dim input layer is new). Every step is resumable: re-running continues where a killed run
# stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=large          # natural-text corpora with 350 voices (dtssvd/synth/config.py)
data=data_large
exp=exp_large
asr_steps=2400        # ASR-multi (clean fbank) step budget
mtass_steps=750       # MTASS + L_dis + L_cst
jrsv_steps=400        # JRSV-f and JRSV-f-d each
out=../../jrsv/pretrained/default
python=${PYTHON:-python}
. ./utils/parse_options.sh

run() { PYTHON=$python ./run.sh --config tiny --corpus generated --preset "$preset" \
  --data "$data" --exp "$exp" "$@"; }
run --stage 0 --stop-stage 1
run --stage 2 --stop-stage 2 --only asr_multi --override "train.max_steps=$asr_steps"
run --stage 3 --stop-stage 3 --only mtass_dis_cst --override "train.max_steps=$mtass_steps"
run --stage 4 --stop-stage 4 --only "jrsv_f jrsv_fd" \
  --override "train.max_steps=$jrsv_steps model.asr_init=$exp/asr_multi"
run --stage 5 --stop-stage 6 --beam-size 10
$python local/package_model.py --exp "$exp" --data "$data" --system jrsv_fd --out "$out" --half \
  --made-by "cd recipes/dtssvd && local/train_default_model.sh"
# the decoder's confidence gate, chosen on a dev-split stream (written into $out/config.yaml)
$python -m jrsv.bin.main calibrate --model "$out" --corpora "$data/corpora" --write --out "$exp/calibrate"
